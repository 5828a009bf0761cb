package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"ecs-bluegreen/infra/ops"
	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

const (
	td1     = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web:1"
	td2     = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web:2"
	td3     = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web:3"
	tgBlue  = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/web-blue/0123"
	tgGreen = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/web-green/4567"
	param   = "/ecs-bluegreen/dev/web/rollout"
)

var stack = ops.Stack{Name: "dev", Cluster: "web-cluster", Service: "web-svc", Application: "web-app", DeploymentGroup: "web", StateParameter: param}

// syncBuffer is an io.Writer tests read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type fixture struct {
	aws *fakeaws.Server
	sim *fakeaws.Sim
	ops *ops.Ops
	out *syncBuffer
}

// newFixture is a live service on td1, created by ECS (the first revision), with
// the real SDK clients against the stateful fake.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := fakeaws.New()
	t.Cleanup(srv.Close)
	cfg := srv.Config(3)
	c := &rollout.Clients{
		CodeDeploy: codedeploy.NewFromConfig(cfg), ECS: ecs.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg),
		Logs: cloudwatchlogs.NewFromConfig(cfg), ELB: elbv2.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg),
	}
	sim := fakeaws.NewSim(srv)
	sim.SetTargetGroups(tgBlue, tgGreen)
	for i, td := range []string{td1, td2, td3} {
		sim.RegisterTaskDefinition(td, fakeaws.TaskDef{Containers: []fakeaws.Container{
			{Name: "nginx", Image: "repo/nginx@sha256:" + strings.Repeat("n", 63) + string(rune('1'+i)), LogGroup: "/ecs/web", StreamPrefix: "nginx"},
			{Name: "app", Image: "repo/app@sha256:" + strings.Repeat("a", 63) + string(rune('1'+i)), LogGroup: "/ecs/web", StreamPrefix: "app"},
		}})
	}
	sim.EnsureService(fakeaws.ServiceSpec{
		Name: "web-svc", Cluster: "web-cluster", TaskDefinition: td1, Subnets: []string{"subnet-a", "subnet-b"}, SecurityGroups: []string{"sg-tasks"},
		AssignPublicIP: true, CapacityProvider: "FARGATE_SPOT", TargetGroup: tgBlue, ContainerName: "nginx", ContainerPort: 8080, DesiredCount: 2,
	})
	out := &syncBuffer{}
	o := ops.New(c, out)
	o.Rollout.PollInterval, o.Poll = time.Millisecond, time.Millisecond
	return &fixture{aws: srv, sim: sim, ops: o, out: out}
}

// deploy brings the service to td as `pulumi up` would.
func (f *fixture) deploy(t *testing.T, td string) string {
	t.Helper()
	res, err := f.ops.Rollout.Run(context.Background(), rollout.Request{
		Stack: "dev", Application: "web-app", DeploymentGroup: "web", Cluster: "web-cluster", Service: "web-svc",
		TaskDefinition: td, ContainerName: "nginx", ContainerPort: 8080, Subnets: []string{"subnet-a", "subnet-b"},
		SecurityGroups: []string{"sg-tasks"}, AssignPublicIP: true, CapacityProvider: "FARGATE_SPOT", PlatformVersion: "LATEST",
		StateParameter: param, ActivePolicy: rollout.WaitForActive, Timeout: 5 * time.Second, StopOnTimeout: true, DesiredCount: 2,
	})
	if err != nil {
		t.Fatalf("deploying %s: %v", td, err)
	}
	return res.DeploymentID
}

func (f *fixture) creates() []rollout.AppSpec {
	var specs []rollout.AppSpec
	for _, r := range f.aws.Requests() {
		if r.Op == "CreateDeployment" {
			var spec rollout.AppSpec
			json.Unmarshal([]byte(r.Body["revision"].(map[string]any)["appSpecContent"].(map[string]any)["content"].(string)), &spec)
			specs = append(specs, spec)
		}
	}
	return specs
}

func taskDef(spec rollout.AppSpec) string {
	return spec.Resources[0]["TargetService"].Properties.TaskDefinition
}

// TestStatus: what serves (revision, images by digest, task counts and target
// health, the task set and the deployment that made it), the deployment under way
// with its traffic split, the last deployments and the service's events.
func TestStatus(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, td1) // judges the first revision
	d2 := f.deploy(t, td2)
	under := f.sim.StartDeployment(td3)
	f.sim.Advance(under) // InProgress, traffic not moved yet
	st := stack
	st.Declared = td3
	s, err := f.ops.Status(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	sv := s.Serving
	if sv.TaskDefinition != td2 || sv.DeploymentID != d2 || !sv.Behind || sv.Images["app"] != "repo/app@sha256:"+strings.Repeat("a", 63)+"2" || sv.Running != 2 {
		t.Errorf("serving %+v", sv)
	}
	if len(sv.Targets) == 0 || sv.Targets[0].State != "healthy" {
		t.Errorf("targets %+v", sv.Targets)
	}
	if s.UnderWay == nil || s.UnderWay.ID != under || s.UnderWay.TaskDefinition != td3 || s.UnderWay.Target == nil || s.UnderWay.Target.Traffic["Blue"] != 100 {
		t.Errorf("under way %+v", s.UnderWay)
	}
	if len(s.Deployments) != 2 || s.Deployments[0].ID != under || s.Deployments[1].ID != d2 || s.Deployments[1].Status != "Succeeded" || s.Deployments[1].Created == nil {
		t.Errorf("deployments %+v", s.Deployments)
	}
	if len(s.Events) == 0 || s.Judged == nil || s.Judged.TaskDefinition != td1 {
		t.Errorf("events %v, judged %+v", s.Events, s.Judged)
	}
	text := s.Text()
	for _, want := range []string{"serving   web:2 (by " + d2 + ")", "the stack declares web:3", "  image   app: repo/app@sha256:", "  tasks   2 running, 0 pending of 2 (STEADY_STATE)",
		"under way " + under + " of web:3: InProgress, traffic blue 100% / green 0%", "deployments, newest first:", "service events, newest first:"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if b, err := json.Marshal(s); err != nil || !strings.Contains(string(b), `"underWay":{"id":"`+under) {
		t.Errorf("json %s, %v", b, err)
	}
	if w := f.aws.Writes(); len(w) != 2 {
		t.Errorf("status wrote: %v", w) // only the two deployments of the setup
	}
}

// TestRollbackOfWhatServes: no deployment under way: the revision that served
// before goes out as one CodeDeploy deployment (no rebuild), followed to its end,
// and the rollback is recorded for `pulumi up` to refuse the rolled-back revision.
func TestRollbackOfWhatServes(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, td1)
	f.deploy(t, td2)
	d3 := f.deploy(t, td3)
	res, err := f.ops.Rollback(context.Background(), stack, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	specs := f.creates()
	if len(specs) != 3 || taskDef(specs[2]) != td2 {
		t.Fatalf("deployments %d, the rollback's of %v, want one more, of %s", len(specs), specs[len(specs)-1], td2)
	}
	if p := specs[2].Resources[0]["TargetService"].Properties; p.LoadBalancerInfo.ContainerPort != 8080 || p.CapacityProviderStrategy[0].CapacityProvider != "FARGATE_SPOT" || p.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != "ENABLED" {
		t.Errorf("rollback AppSpec %+v", p)
	}
	if td, by := f.sim.Serving(); td != td2 || by != res.Record.Deployment {
		t.Errorf("serving %s by %s after the rollback", td, by)
	}
	want := rollout.RollbackRecord{From: td3, To: td2, Deployment: res.Record.Deployment, At: res.Record.At, By: fakeaws.CallerARN}
	if !reflect.DeepEqual(res.Record, want) || res.Record.Deployment == d3 {
		t.Errorf("record %+v, want %+v", res.Record, want)
	}
	state, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param)
	if state.Rollback == nil || state.Rollback.From != td3 {
		t.Errorf("state %+v", state)
	}
	if !strings.Contains(f.out.String(), "rolling web-svc back from web:3 to web:2") {
		t.Errorf("output %s", f.out.String())
	}

	// Cleared, the record no longer refuses anything.
	if cleared, err := f.ops.Unblock(context.Background(), stack); err != nil || cleared == nil || cleared.From != td3 {
		t.Errorf("unblock: %+v %v", cleared, err)
	}
	if state, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param); state.Rollback != nil {
		t.Errorf("record after unblock: %+v", state.Rollback)
	}
}

// TestRollbackWhileDeploying: a deployment under way is stopped with rollback
// and the rollback followed; the stopped revision is recorded.
func TestRollbackWhileDeploying(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, td1)
	f.deploy(t, td2)
	under := f.sim.StartDeployment(td3)
	res, err := f.ops.Rollback(context.Background(), stack, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if stop := f.aws.Last("StopDeployment"); stop["deploymentId"] != under || stop["autoRollbackEnabled"] != true {
		t.Errorf("StopDeployment %v", stop)
	}
	var statuses []string
	for _, d := range f.sim.Deployments() {
		statuses = append(statuses, d.Creator+":"+d.Status)
	}
	if got := statuses[len(statuses)-2:]; !reflect.DeepEqual(got, []string{"user:Stopped", "codeDeployRollback:Succeeded"}) {
		t.Errorf("deployments %v: the rollback was not followed to its end", statuses)
	}
	if res.Stopped != under || res.Record.From != td3 || res.Record.To != td2 {
		t.Errorf("result %+v", res)
	}
	if len(f.creates()) != 1 { // td2's, of the setup
		t.Errorf("a rollback of a deployment under way created a deployment")
	}
}

// TestRollbackToTheFirstRevision: the revision before the first deployment is the
// first revision, which ECS started: the rollout's judgement names it.
func TestRollbackToTheFirstRevision(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, td1) // judged
	f.deploy(t, td2)
	res, err := f.ops.Rollback(context.Background(), stack, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if specs := f.creates(); len(specs) != 2 || taskDef(specs[1]) != td1 || res.Record.To != td1 {
		t.Errorf("result %+v", res)
	}
}

// TestNothingToRollBackTo: a stack on its first revision cannot roll back; the
// command says so and fails (exit code 1).
func TestNothingToRollBackTo(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, td1)
	_, err := f.ops.Rollback(context.Background(), stack, time.Minute)
	if err == nil || ops.ExitCode(err) != 1 || !strings.Contains(err.Error(), "nothing to roll back to") {
		t.Fatalf("error %v", err)
	}
	if w := f.aws.Writes(); len(w) != 1 { // the judgement's state only
		t.Errorf("writes %v", w)
	}
}

// TestRun: a one-off task of the serving revision with the command override, in
// the service's network, followed to its end, its logs printed, its exit code
// returned (non-zero: exit code 1 of the command).
func TestRun(t *testing.T) {
	for _, exit := range []int{0, 3} {
		f := newFixture(t)
		f.deploy(t, td1)
		f.deploy(t, td2)
		f.sim.MigrationExit = exit
		f.sim.OneOffLogs = []string{"Superuser created successfully.", "done"}
		res, err := f.ops.Run(context.Background(), stack, "app", []string{"python", "manage.py", "createsuperuser", "--noinput"}, time.Minute)
		if res == nil || res.ExitCode != exit || ops.ExitCode(err) != min(exit, 1) {
			t.Fatalf("exit %d: result %+v, err %v", exit, res, err)
		}
		run := f.aws.Last("RunTask")
		override := run["overrides"].(map[string]any)["containerOverrides"].([]any)[0].(map[string]any)
		vpc := run["networkConfiguration"].(map[string]any)["awsvpcConfiguration"].(map[string]any)
		if run["taskDefinition"] != td2 || override["name"] != "app" || !reflect.DeepEqual(override["command"], []any{"python", "manage.py", "createsuperuser", "--noinput"}) ||
			!reflect.DeepEqual(vpc["subnets"], []any{"subnet-a", "subnet-b"}) || run["capacityProviderStrategy"].([]any)[0].(map[string]any)["capacityProvider"] != "FARGATE_SPOT" {
			t.Errorf("RunTask %v", run)
		}
		out := f.out.String()
		if strings.Count(out, "Superuser created successfully.") != 1 || !strings.Contains(out, "running [python manage.py createsuperuser --noinput]") {
			t.Errorf("output (each line once):\n%s", out)
		}
	}
}

// TestRunInterrupted: Ctrl-C stops the one-off task.
func TestRunInterrupted(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, td1)
	f.sim.Steps = 1 << 30 // never ends on its own
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.ops.Run(ctx, stack, "app", []string{"sleep", "infinity"}, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "interrupted: stopped it") || f.aws.Count("StopTask") != 1 {
		t.Fatalf("error %v, stops %d", err, f.aws.Count("StopTask"))
	}
}

// TestLogs: the serving revision's container lines, by container; follow is
// bounded.
func TestLogs(t *testing.T) {
	f := newFixture(t)
	f.deploy(t, td1)
	d2 := f.deploy(t, td2)
	if err := f.ops.Logs(context.Background(), stack, ops.LogsRequest{Container: "app"}); err != nil {
		t.Fatal(err)
	}
	out := f.out.String()
	tasks := f.sim.RunningTasks()
	if len(tasks) != 2 || !strings.Contains(out, "app "+rollout.TaskID(tasks[0])+" | [INFO] Listening at: http://0.0.0.0:8000") || strings.Contains(out, "nginx ") {
		t.Errorf("logs of %v:\n%s", tasks, out)
	}
	f.out = &syncBuffer{}
	f.ops.Out = f.out
	start := time.Now()
	if err := f.ops.Logs(context.Background(), stack, ops.LogsRequest{Deployment: d2, Follow: true, For: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second || !strings.Contains(f.out.String(), "nginx ") || strings.Count(f.out.String(), "start worker processes") != 2 {
		t.Errorf("follow (each line once, bounded):\n%s", f.out.String())
	}
	if err := f.ops.Logs(context.Background(), stack, ops.LogsRequest{Container: "redis"}); err == nil || !strings.Contains(err.Error(), `container "redis" of web:2 has no awslogs stream; it has app, nginx`) {
		t.Errorf("unknown container: %v", err)
	}
}
