package rollout_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"ecs-bluegreen/infra/rollout/fakeaws"
)

const tgGreen = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/web-green/4567"

// broken sets up a revision whose app crashes with a traceback.
func broken(t *testing.T, alarm string, lines int) (*fixture, *fakeaws.Sim) {
	t.Helper()
	f, sim := simFixture(t, tdOld, "d-OLD")
	sim.SetTargetGroups(tgBlue, tgGreen)
	sim.RegisterTaskDefinition(tdNew, fakeaws.TaskDef{Containers: []fakeaws.Container{
		{Name: "nginx", LogGroup: "/ecs/web", StreamPrefix: "nginx"},
		{Name: "app", LogGroup: "/ecs/web", StreamPrefix: "app"},
	}})
	var logs []string
	for i := range lines {
		logs = append(logs, fmt.Sprintf("line %d", i))
	}
	logs = append(logs, "Traceback (most recent call last):", `  File "/app/mysite/settings.py", line 3, in <module>`, "ModuleNotFoundError: No module named 'psycopg'")
	sim.Crashes(tdNew, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 3, Logs: logs, Alarm: alarm})
	return f, sim
}

// TestFailureSaysWhy: a failed deployment's error carries why the revision
// failed, from what AWS keeps: the failed lifecycle event and its diagnostics,
// the stopped tasks with exit codes and each container's last log lines (the
// awslogs stream <prefix>/<container>/<task id>); bounded.
func TestFailureSaysWhy(t *testing.T) {
	f, _ := broken(t, "", 30)
	req := simRequest()
	req.TargetGroups = []string{tgBlue, tgGreen}
	_, err := f.ro.Run(context.Background(), req)
	if err == nil {
		t.Fatal("a crashing revision deployed")
	}
	msg := err.Error()
	for _, want := range []string{
		"failed: HEALTH_CONSTRAINTS", "the previous revision serves again",
		"why it failed:",
		"lifecycle event Install failed: UnknownError: The deployment failed because the replacement task set did not become healthy",
		"of web:2 stopped: EssentialContainerExited: Essential container in task exited",
		"container app: exit 3",
		"| ModuleNotFoundError: No module named 'psycopg'",
		"container nginx: no exit code (it did not run)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// Bounded: three tasks, the last 20 lines of each container.
	if n := strings.Count(msg, "of web:2 stopped:"); n != 3 {
		t.Errorf("%d tasks reported, want 3", n)
	}
	if strings.Contains(msg, "| line 12\n") || !strings.Contains(msg, "| line 13\n") {
		t.Errorf("log lines not cut to the last 20:\n%s", msg)
	}
	if n := strings.Count(msg, "ModuleNotFoundError"); n != 1 || strings.Count(msg, "(the same last lines as task ") != 2 {
		t.Errorf("tasks with the same last lines repeat them (%d times):\n%s", n, msg)
	}
	// Its tasks never ran (nginx waits for a HEALTHY app): ECS registered no
	// target, and the healthy blue ones say nothing.
	if strings.Contains(msg, "target group ") {
		t.Errorf("targets reported:\n%s", msg)
	}
}

// TestFailureNamesTheAlarm: a deployment stopped on an alarm names the alarm and
// why it went off (read before the rollback, after which it returns to OK), and
// shows the last lines of its tasks, which were running and serving the errors
// until the rollback removed them.
func TestFailureNamesTheAlarm(t *testing.T) {
	f, _ := broken(t, "web-green-unhealthy", 0)
	req := simRequest()
	req.Alarms = []string{"web-blue-5xx", "web-green-unhealthy"}
	_, err := f.ro.Run(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "stopped: ALARM_ACTIVE") ||
		!strings.Contains(err.Error(), "alarm web-green-unhealthy is in ALARM: Threshold Crossed") || strings.Contains(err.Error(), "web-blue-5xx") {
		t.Fatalf("error %v", err)
	}
	for _, want := range []string{"of web:2 running (RUNNING)", "container app: running", "| ModuleNotFoundError: No module named 'psycopg'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestFirstRevisionSaysWhy: a first revision judged unhealthy says why too.
func TestFirstRevisionSaysWhy(t *testing.T) {
	f, sim := simFixture(t, tdNew, "")
	sim.RegisterTaskDefinition(tdNew, fakeaws.TaskDef{Containers: []fakeaws.Container{{Name: "app", LogGroup: "/ecs/web", StreamPrefix: "app"}}})
	sim.Crashes(tdNew, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1, Logs: []string{"django.core.exceptions.ImproperlyConfigured: SECRET_KEY"}})
	_, err := f.ro.Run(context.Background(), simRequest())
	if err == nil || !strings.Contains(err.Error(), "| django.core.exceptions.ImproperlyConfigured: SECRET_KEY") {
		t.Fatalf("error %v", err)
	}
}

// TestFailureLogLinesBehindEmptyPages: GetLogEvents may answer empty pages while
// older events exist (API reference); the report steps back until it finds them.
func TestFailureLogLinesBehindEmptyPages(t *testing.T) {
	f, sim := broken(t, "", 0)
	sim.EmptyLogPages = 3
	_, err := f.ro.Run(context.Background(), simRequest())
	if err == nil || !strings.Contains(err.Error(), "| ModuleNotFoundError: No module named 'psycopg'") {
		t.Fatalf("error %v", err)
	}
}

// TestFailureTargetHealthWhileItRan: a revision whose app runs but answers the
// load balancer's checks with 400 (Django's ALLOWED_HOSTS) fails; by the time the
// deployment shows Failed, ECS has stopped the tasks and their targets are
// draining, so the report gives the reasons seen while the deployment ran.
func TestFailureTargetHealthWhileItRan(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	sim.SetTargetGroups(tgBlue, tgGreen)
	sim.RegisterTaskDefinition(tdNew, fakeaws.TaskDef{Containers: []fakeaws.Container{
		{Name: "nginx", LogGroup: "/ecs/web", StreamPrefix: "nginx"},
		{Name: "app", LogGroup: "/ecs/web", StreamPrefix: "app"},
	}})
	sim.Crashes(tdNew, fakeaws.Crash{HealthCheckCodes: "[400]", Logs: []string{"Invalid HTTP_HOST header: '10.0.0.13'. You may need to add '10.0.0.13' to ALLOWED_HOSTS."}})
	req := simRequest()
	req.TargetGroups = []string{tgBlue, tgGreen}
	_, err := f.ro.Run(context.Background(), req)
	if err == nil {
		t.Fatal("a revision failing its health checks deployed")
	}
	msg := err.Error()
	for _, want := range []string{
		"failed: HEALTH_CONSTRAINTS",
		"stopped: ServiceSchedulerInitiated: Task failed ELB health checks in (target-group " + tgGreen + ")",
		"container app: exit 0",
		"| Invalid HTTP_HOST header",
		"target group web-green: 10.0.",
		"unhealthy: Target.ResponseCodeMismatch: Health checks failed with these codes: [400] (while the deployment ran)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "draining") || strings.Contains(msg, "DeregistrationInProgress") {
		t.Errorf("deregistering targets reported:\n%s", msg)
	}
}

// TestFailureAfterTheTrafficMoved: an AfterAllowTraffic hook fails once
// production traffic is on the new tasks: they were serving, so the report shows
// them running, beside the failed event.
func TestFailureAfterTheTrafficMoved(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	sim.SetTargetGroups(tgBlue, tgGreen)
	sim.RegisterTaskDefinition(tdNew, fakeaws.TaskDef{Containers: []fakeaws.Container{
		{Name: "nginx", LogGroup: "/ecs/web", StreamPrefix: "nginx"},
		{Name: "app", LogGroup: "/ecs/web", StreamPrefix: "app"},
	}})
	sim.HookFailsAfterTraffic(tdNew, "The AfterAllowTraffic hook returned Failed")
	req := simRequest()
	req.Hooks = map[string]string{"AfterAllowTraffic": "arn:aws:lambda:ap-northeast-2:123456789012:function:web-smoke-test:live"}
	_, err := f.ro.Run(context.Background(), req)
	if err == nil {
		t.Fatal("a revision whose AfterAllowTraffic hook failed deployed")
	}
	for _, want := range []string{"lifecycle event AfterAllowTraffic failed: UnknownError: The AfterAllowTraffic hook returned Failed", "its hook's reason is in the log group /aws/lambda/web-smoke-test\n", "of web:2 running (RUNNING)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if td, _ := sim.Serving(); td != tdOld {
		t.Errorf("serving %s after the rollback", td)
	}
	// The original task set ran on through the hook; the replacement is gone.
	if running := sim.RunningTasks(); len(running) != sim.Desired() {
		t.Errorf("running after the rollback: %v, want the original %d", running, sim.Desired())
	}
}
