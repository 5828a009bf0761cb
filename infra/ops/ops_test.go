package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

var stack = ops.Stack{Name: "dev", Cluster: "web-cluster", Service: "web-svc", Application: "web-app", DeploymentGroup: "web", StateParameter: param,
	AppContainer: "app", Timeout: time.Minute}

// appImage is the app image of the fixture's task definition n (1-based).
func appImage(n int) string {
	return "repo/app@sha256:" + strings.Repeat("a", 63) + string(rune('0'+n))
}

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
	req := request(td, "", rollout.WaitForActive)
	req.Timeout = 5 * time.Second
	res, err := f.ops.Rollout.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("deploying %s: %v", td, err)
	}
	return res.DeploymentID
}

// deployed is a fixture whose service has served each of tds in turn, the last
// serving now.
func deployed(t *testing.T, tds ...string) *fixture {
	t.Helper()
	f := newFixture(t)
	for _, td := range tds {
		f.deploy(t, td)
	}
	return f
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
	f := deployed(t, td1, td2)
	d3 := f.deploy(t, td3)
	res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
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
	// The rollback took td3's build out: its app image is refused too.
	want := rollout.RollbackRecord{From: td3, Image: appImage(3), To: td2, Deployment: res.Record.Deployment, At: res.Record.At, By: fakeaws.CallerARN}
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
	f := deployed(t, td1, td2)
	under := f.sim.StartDeployment(td3)
	res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
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
	res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
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
	f := deployed(t, td1)
	_, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
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
		f := deployed(t, td1, td2)
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
	f := deployed(t, td1)
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
	f := deployed(t, td1)
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

// cancelOn is an io.Writer that cancels a context once a line it is looking for
// was written (a Ctrl-C at that moment).
type cancelOn struct {
	syncBuffer
	line   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	n, err := c.syncBuffer.Write(p)
	if strings.Contains(c.String(), c.line) {
		c.cancel()
	}
	return n, err
}

// TestRollbackNotSeenToEnd: a rollback that is interrupted (Ctrl-C, a lost
// terminal) or outlasts its timeout leaves CodeDeploy carrying on: it is never
// stopped (that would deploy the rolled-back revision again), and the record,
// written before the deployment was created, already refuses the rolled-back
// revision, as pending, naming the deployment.
func TestRollbackNotSeenToEnd(t *testing.T) {
	for _, c := range []string{"interrupted", "timed out"} {
		t.Run(c, func(t *testing.T) {
			f := deployed(t, td1, td2, td3)
			f.sim.Steps = 1 << 30 // the rollback deployment takes its time
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			timeout := time.Minute
			if c == "interrupted" {
				f.ops.Out = &cancelOn{line: "created deployment", cancel: cancel}
			} else {
				timeout = 50 * time.Millisecond
			}
			_, err := f.ops.Rollback(ctx, stack, ops.RollbackOptions{Timeout: timeout})
			if err == nil || ops.ExitCode(err) != 1 || !strings.Contains(err.Error(), "the record refuses web:3 meanwhile") {
				t.Fatalf("error %v", err)
			}
			if n := f.aws.Count("StopDeployment"); n != 0 {
				t.Errorf("the rollback was stopped (%d StopDeployment)", n)
			}
			// Recorded before the deployment was created: a killed command leaves it too.
			var order []string
			for _, r := range f.aws.Requests() {
				if r.Op == "PutParameter" || r.Op == "CreateDeployment" {
					order = append(order, r.Op)
				}
			}
			i := len(order) - 1
			for i >= 0 && order[i] != "CreateDeployment" {
				i--
			}
			if i < 1 || order[i-1] != "PutParameter" {
				t.Errorf("writes %v: the record was not written before the rollback deployment", order)
			}
			state, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param)
			rb := f.sim.Deployments()[len(f.sim.Deployments())-1]
			if r := state.Rollback; r == nil || !r.Pending || r.From != td3 || r.Deployment != rb.ID || r.To != td2 {
				t.Fatalf("record %+v (the rollback deployment is %s)", state.Rollback, rb.ID)
			}
			if status, err := f.ops.Status(context.Background(), stack); err != nil {
				t.Error(err)
			} else if text := status.Text(); !strings.Contains(text, "rolling back: web:3 since ") || !strings.Contains(text, "(deployment "+rb.ID+"), not seen to end") {
				t.Errorf("status:\n%s", text)
			}
			// The next `pulumi up` of the rolled-back revision is refused.
			_, err = f.ops.Rollout.Run(context.Background(), rollout.Request{Application: "web-app", DeploymentGroup: "web", Cluster: "web-cluster",
				Service: "web-svc", TaskDefinition: td3, Image: appImage(3), StateParameter: param, Timeout: time.Second})
			var blocked *rollout.BlockedError
			if !errors.As(err, &blocked) || !strings.Contains(err.Error(), "was not seen to end") {
				t.Errorf("up of the rolled-back revision: %v", err)
			}
		})
	}
}

// TestRollbackDuringCodeDeploysRollback: when CodeDeploy is already rolling a
// failed deployment back, the command follows that rollback and records the
// failed deployment's revision; it deploys nothing (another deployment would go
// one revision too far).
func TestRollbackDuringCodeDeploysRollback(t *testing.T) {
	f := rollingBackWeb3(t)
	rb := f.sim.Deployments()[len(f.sim.Deployments())-1]
	if rb.Creator != "codeDeployRollback" || rb.Status != "InProgress" {
		t.Fatalf("setup: %+v", f.sim.Deployments())
	}
	res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.creates()) != 1 || f.aws.Count("StopDeployment") != 0 { // td2's, of the setup
		t.Errorf("the command deployed or stopped something: %d creates, %d stops", len(f.creates()), f.aws.Count("StopDeployment"))
	}
	if td, _ := f.sim.Serving(); td != td2 || res.Followed != rb.ID || res.Record.From != td3 || res.Record.To != td2 || res.Record.Pending {
		t.Errorf("serving %s, result %+v", td, res)
	}
}

// rollingBackWeb3 is a stack that served web:2 when a deployment of web:3,
// whose tasks crash, failed: CodeDeploy's rollback of it is under way.
func rollingBackWeb3(t *testing.T) *fixture {
	t.Helper()
	f := deployed(t, td1, td2)
	f.sim.Crashes(td3, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1})
	bad := f.sim.StartDeployment(td3)
	for i := 0; i < 10 && f.sim.Deployments()[len(f.sim.Deployments())-1].Creator != "codeDeployRollback"; i++ {
		f.sim.Advance(bad)
	}
	return f
}

// TestSecondRollbackGoesFurtherBack: a second rollback goes to the revision before
// the one serving, not back to the revision the first rollback took out.
func TestSecondRollbackGoesFurtherBack(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if td, _ := f.sim.Serving(); td != td1 || res.Record.From != td2 || res.Record.To != td1 {
		t.Errorf("serving %s, record %+v", td, res.Record)
	}
	state, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param)
	if !state.RolledBack(td3) || !state.RolledBack(td2) || state.RolledBack(td1) {
		t.Errorf("state %+v", state)
	}
}

// TestRollbackRefusesTheBuild: a rollback that took a build out refuses a later
// revision of the same app image (a change elsewhere: an environment variable,
// CPU, nginx), and accepts one of a new build.
func TestRollbackRefusesTheBuild(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if status, err := f.ops.Status(context.Background(), stack); err != nil {
		t.Error(err)
	} else if text := status.Text(); !strings.Contains(text, "`pulumi up` refuses web:3 and any revision of its app image "+appImage(3)) {
		t.Errorf("status:\n%s", text)
	}
	up := func(image string) error {
		req := request(td4, image, rollout.WaitForActive)
		req.Subnets, req.Timeout = []string{"subnet-a"}, 5*time.Second
		_, err := f.ops.Rollout.Run(context.Background(), req)
		return err
	}
	err := up(appImage(3))
	var blocked *rollout.BlockedError
	if !errors.As(err, &blocked) || !strings.Contains(err.Error(), "revision web:4 of service web-svc runs the app image sha256:aaaaaaaaaaaa of revision web:3, which was rolled back") ||
		!strings.Contains(err.Error(), "change the app (a new build makes a new image)") {
		t.Fatalf("same build: %v", err)
	}
	f.sim.RegisterTaskDefinition(td4, fakeaws.TaskDef{})
	if err := up(appImage(4)); err != nil {
		t.Fatalf("a new build: %v", err)
	}
}

// TestLogsOfACrashedRevision: the containers that never started (nginx waits for
// a HEALTHY app) have no stream; the logs of the failed deployment still show,
// over empty pages, and a one-off task's logs are found by its id.
func TestLogsOfACrashedRevision(t *testing.T) {
	f := deployed(t, td1, td2)
	f.sim.Crashes(td3, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1, Logs: []string{"ModuleNotFoundError: No module named 'psycopg'"}})
	bad := f.sim.StartDeployment(td3)
	for i := 0; i < 10 && f.sim.Deployments()[len(f.sim.Deployments())-1].Creator != "codeDeployRollback"; i++ {
		f.sim.Advance(bad)
	}
	f.sim.EmptyLogPages = 1
	f.out = &syncBuffer{}
	f.ops.Out = f.out
	if err := f.ops.Logs(context.Background(), stack, ops.LogsRequest{Deployment: bad, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var lines []ops.LogLine
	for _, l := range strings.Split(strings.TrimSpace(f.out.String()), "\n") {
		var line ops.LogLine
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("not a JSON line %q: %v", l, err)
		}
		lines = append(lines, line)
	}
	if len(lines) != 3 || lines[0].Container != "app" || lines[0].Message != "ModuleNotFoundError: No module named 'psycopg'" || lines[0].At.IsZero() {
		t.Errorf("lines %+v", lines)
	}
	// nginx never started in those tasks, so it has no stream: it is not named
	// (a missing stream fails the whole request, which then takes a look at the
	// group and halving to recover from).
	for _, r := range f.aws.Requests() {
		if r.Op != "FilterLogEvents" {
			continue
		}
		names, _ := r.Body["logStreamNames"].([]any)
		if len(names) == 0 && r.Body["logStreamNamePrefix"] == nil {
			t.Errorf("a look at the group alone: %v", r.Body)
		}
		for _, n := range names {
			if strings.HasPrefix(fmt.Sprint(n), "nginx/") {
				t.Errorf("a read names the stream %s of a container that never ran", n)
			}
		}
	}

	f.sim.OneOffLogs = []string{"Migrations applied."}
	run, err := f.ops.Run(context.Background(), stack, "app", []string{"python", "manage.py", "migrate"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	f.out = &syncBuffer{}
	f.ops.Out = f.out
	if err := f.ops.Logs(context.Background(), stack, ops.LogsRequest{Task: rollout.TaskID(run.Task)}); err != nil || !strings.Contains(f.out.String(), "app "+rollout.TaskID(run.Task)+" | Migrations applied.") {
		t.Errorf("logs of the one-off task: %v\n%s", err, f.out.String())
	}
}

// TestRollbackAgainFollowsItsOwn: run again after an interrupted rollback, the
// command follows its own rollback deployment to its end and completes the
// record; it never stops it (that would put the rolled-back revision back).
func TestRollbackAgainFollowsItsOwn(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{line: "created deployment", cancel: cancel}
	f.ops.Out = out
	if _, err := f.ops.Rollback(ctx, stack, ops.RollbackOptions{Timeout: time.Minute}); err == nil ||
		!strings.Contains(err.Error(), "run `go run ./cmd/ops rollback -stack dev` again to follow it") || strings.Contains(err.Error(), "stop-deployment") {
		t.Fatalf("interrupted: %v", err)
	}
	f.ops.Out = f.out
	res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.aws.Count("StopDeployment"); n != 0 || len(f.creates()) != 3 {
		t.Errorf("%d stops, %d creates: the second run must only follow the first's deployment", n, len(f.creates()))
	}
	if td, _ := f.sim.Serving(); td != td2 || res.Followed == "" || res.Record.From != td3 || res.Record.To != td2 || res.Record.Pending || res.Record.Image != appImage(3) {
		t.Errorf("serving %s, result %+v", td, res)
	}
	if d := f.aws.Last("CreateDeployment"); !strings.HasPrefix(fmt.Sprint(d["description"]), "ops rollback (stack dev): web:2") {
		t.Errorf("the rollback deployment's description %v", d["description"])
	}
}

// TestRollbackAfterCodeDeployRolledBack: after a failed `pulumi up`, CodeDeploy
// has already put the previous revision back: the command records the failed
// revision and deploys nothing; -previous takes the serving one out too.
func TestRollbackAfterCodeDeployRolledBack(t *testing.T) {
	f := deployed(t, td1, td2)
	f.sim.Crashes(td3, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1})
	if err := f.up(td3, appImage(3), rollout.WaitForActive); err == nil {
		t.Fatal("the crashing revision deployed")
	}
	creates := len(f.creates())
	res, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if td, _ := f.sim.Serving(); td != td2 || len(f.creates()) != creates || res.AlreadyRolledBack == "" || res.Record.From != td3 || res.Record.To != td2 || res.Record.Image != appImage(3) {
		t.Errorf("serving %s, %d creates (before %d), result %+v", td, len(f.creates()), creates, res)
	}
	if !strings.Contains(f.out.String(), "CodeDeploy already rolled back deployment "+res.AlreadyRolledBack+" (of web:3)") {
		t.Errorf("output:\n%s", f.out.String())
	}
	res, err = f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute, Previous: true})
	if err != nil {
		t.Fatal(err)
	}
	state, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param)
	if td, _ := f.sim.Serving(); td != td1 || res.Record.From != td2 || !state.RolledBack(td3) {
		t.Errorf("with -previous: serving %s, record %+v, state %+v", td, res.Record, state)
	}
}

// TestRollbackOfADeploymentUnderWayInterrupted: the pending record of a stopped
// deployment already refuses its build, before the rollback is seen to end.
func TestRollbackOfADeploymentUnderWayInterrupted(t *testing.T) {
	f := deployed(t, td1, td2)
	f.sim.StartDeployment(td3)
	f.sim.Steps = 1 << 30 // the rollback takes its time
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := f.ops.Rollback(ctx, stack, ops.RollbackOptions{}); err == nil {
		t.Fatal("an unfinished rollback succeeded")
	}
	state, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param)
	if r := state.Rollback; r == nil || !r.Pending || r.From != td3 || r.To != td2 || r.Image != appImage(3) {
		t.Errorf("record %+v", state.Rollback)
	}
}

// TestRollbackStopRefused: a StopDeployment AWS refuses stopped nothing: no
// record is left, and the command says the deployment goes on.
func TestRollbackStopRefused(t *testing.T) {
	f := deployed(t, td1, td2)
	under := f.sim.StartDeployment(td3)
	f.aws.Handle("StopDeployment", func(map[string]any) (any, *fakeaws.Error) {
		return nil, &fakeaws.Error{Status: 400, Type: "AccessDeniedException", Message: "not authorized to perform: codedeploy:StopDeployment"}
	})
	_, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute})
	if err == nil || ops.ExitCode(err) != 2 || !strings.Contains(err.Error(), "deployment "+under+" was not stopped (it goes on)") {
		t.Fatalf("error %v", err)
	}
	if state, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param); state.Rollback != nil {
		t.Errorf("record %+v left behind", state.Rollback)
	}
}

// TestUnblockForgetsTheRevision: once cleared, a rolled-back revision may be
// rolled back to again.
func TestUnblockForgetsTheRevision(t *testing.T) {
	f := deployed(t, td1, td2, td3)
	if _, err := f.ops.Rollback(context.Background(), stack, ops.RollbackOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ops.Unblock(context.Background(), stack); err != nil {
		t.Fatal(err)
	}
	if state, _ := rollout.ReadState(context.Background(), f.ops.Rollout.State, param); state.RolledBack(td3) || state.Rollback != nil {
		t.Errorf("state after unblock %+v", state)
	}
}

// TestLogsFollowPrintsLateLines: a line awslogs delivers after later lines of
// another task were printed is still printed, once.
func TestLogsFollowPrintsLateLines(t *testing.T) {
	f := deployed(t, td1)
	tasks := f.sim.RunningTasks()
	f.out = &syncBuffer{}
	f.ops.Out = f.out
	go func() {
		for !strings.Contains(f.out.String(), "Listening at") {
			time.Sleep(time.Millisecond)
		}
		f.sim.LogLate("/ecs/web", "app/app/"+rollout.TaskID(tasks[1]), "a late line", time.Now().Add(-3*time.Second))
	}()
	if err := f.ops.Logs(context.Background(), stack, ops.LogsRequest{Container: "app", Follow: true, For: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(f.out.String(), "a late line"); n != 1 {
		t.Errorf("the late line printed %d times:\n%s", n, f.out.String())
	}
}

// TestHistoryReadsEveryBatch: more deployments than BatchGetDeployments takes (25)
// are read in batches, newest first.
func TestHistoryReadsEveryBatch(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for range 30 {
		id := f.sim.StartDeployment(td2)
		f.sim.SetStatus(id, "Succeeded")
		ids = append(ids, id)
	}
	got, err := f.ops.Rollout.History(context.Background(), "web-app", "web", 30)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 || got[0].ID != ids[29] || got[29].ID != ids[0] || f.aws.Count("BatchGetDeployments") != 2 {
		t.Errorf("%d deployments (newest %v), %d batches", len(got), got[0].ID, f.aws.Count("BatchGetDeployments"))
	}
}

// TestRunSaysWhatItCannotRead: a log read refused for another reason than a
// stream not there yet is said once (not read as "no output"); a task that can
// no longer be followed may still run, and the command says how to stop it.
func TestRunSaysWhatItCannotRead(t *testing.T) {
	f := deployed(t, td1)
	f.sim.OneOffLogs = []string{"Superuser created successfully."}
	f.aws.Handle("GetLogEvents", func(map[string]any) (any, *fakeaws.Error) {
		return nil, &fakeaws.Error{Status: 400, Type: "AccessDeniedException", Message: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: logs:GetLogEvents"}
	})
	if _, err := f.ops.Run(context.Background(), stack, "app", []string{"python", "manage.py", "createsuperuser"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(f.out.String(), "cannot read its logs"); n != 1 || f.aws.Count("GetLogEvents") < 2 || !strings.Contains(f.out.String(), "logs:GetLogEvents") {
		t.Errorf("said %d times over %d reads:\n%s", n, f.aws.Count("GetLogEvents"), f.out.String())
	}

	f.aws.Handle("DescribeTasks", func(map[string]any) (any, *fakeaws.Error) {
		return nil, &fakeaws.Error{Status: 400, Type: "AccessDeniedException", Message: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ecs:DescribeTasks"}
	})
	_, err := f.ops.Run(context.Background(), stack, "app", []string{"sleep", "600"}, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "may still run") || ops.ExitCode(err) != 2 ||
		!strings.Contains(err.Error(), "aws ecs stop-task --cluster web-cluster --task arn:aws:ecs:ap-northeast-2:123456789012:task/web-cluster/") || f.aws.Count("StopTask") != 0 {
		t.Errorf("error %v", err)
	}
}
