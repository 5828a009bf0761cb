package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/iameval"
	"ecs-bluegreen/infra/offline"
	"ecs-bluegreen/infra/ops"
	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

// These tests run the whole program, `pulumi up` after `pulumi up`, against
// fakeaws.Sim: a fake AWS that keeps the service's and the deployment group's
// state between runs, as AWS does. Pulumi creating the ECS service creates it in
// the sim (offline.Options.OnResource); task definitions get a new revision for new
// content (offline.State).

// tdDev is the dev stack's task definition ARN at a revision.
func tdDev(rev int) string {
	return fmt.Sprintf("arn:aws:ecs:ap-northeast-2:%s:task-definition/ecs-bluegreen-dev-web:%d", offline.Account, rev)
}

// fakeAWS points the program's AWS clients at a fake CodeDeploy/ECS endpoint,
// with throwaway credentials and nothing read from this machine's AWS files.
func fakeAWS(t *testing.T) *fakeaws.Server {
	t.Helper()
	srv := fakeaws.New()
	t.Cleanup(srv.Close)
	srv.Environ(t)
	return srv
}

// liveStack is one stack's life: a fake AWS that remembers, and the state that
// Pulumi and AWS keep between runs.
type liveStack struct {
	t     *testing.T
	name  string
	aws   *fakeaws.Server
	sim   *fakeaws.Sim
	state *offline.State
	// iam is what AWS knows of the stack's roles: every role, inline policy and
	// attachment Pulumi created, by URN (AWS keeps them between runs).
	mu  sync.Mutex
	iam map[string]*offline.Resource
	// drop, when set, keeps a resource from AWS: as if Pulumi never created it.
	drop func(*offline.Resource) bool
	tgs  map[string]string // target group ARNs by logical name
}

func newLiveStack(t *testing.T, name string) *liveStack {
	t.Helper()
	prev := rollout.DefaultPollInterval
	rollout.DefaultPollInterval = time.Millisecond
	t.Cleanup(func() { rollout.DefaultPollInterval = prev })
	srv := fakeAWS(t)
	s := &liveStack{t: t, name: name, aws: srv, sim: fakeaws.NewSim(srv), state: &offline.State{}, iam: map[string]*offline.Resource{}, tgs: map[string]string{}}
	s.sim.Authorize = s.authorize
	return s
}

// authorize decides a call AWS makes as one of the stack's roles, by that role's
// policies as Pulumi created them (inline and the managed documents attached).
func (s *liveStack) authorize(principal, action, resource string, context map[string][]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := principal[strings.LastIndex(principal, "/")+1:]
	var policies []iameval.Policy
	var boundary *iameval.Policy
	for _, r := range s.iam {
		role, _ := r.Inputs["role"].V.(string)
		switch {
		case r.Type == tRole && r.Outputs["name"].V == name:
			if b, ok := r.Inputs["permissionsBoundary"].V.(string); ok && b != "" {
				for _, p := range s.iam {
					if p.Type == tPolicy && p.Outputs["arn"].V == b {
						doc, err := iameval.Parse(p.Name, p.Inputs["policy"].StringValue())
						if err != nil {
							return err.Error()
						}
						boundary = &doc
					}
				}
				if boundary == nil {
					return "its permissions boundary " + b + " does not exist"
				}
			}
		case r.Type == tRolePolicy && role == name:
			p, err := iameval.Parse(r.Name, r.Inputs["policy"].StringValue())
			if err != nil {
				return err.Error()
			}
			policies = append(policies, p)
		case r.Type == tAttachment && role == name:
			p, ok := iameval.Managed(r.Inputs["policyArn"].StringValue())
			if !ok {
				return "unknown managed policy " + r.Inputs["policyArn"].StringValue()
			}
			policies = append(policies, p)
		}
	}
	if d, why := iameval.EvaluateBounded(policies, boundary, iameval.Request{Action: action, Resource: resource, Context: context}); d != iameval.Allow {
		return why
	}
	return ""
}

// run is one `pulumi up` (or preview) with overrides; it returns the graph, the
// stack outputs and the requests this run made.
type run struct {
	graph
	outputs map[string]any
	ops     []fakeaws.Request
	err     error
}

func (r run) writes() []string {
	var w []string
	for _, q := range r.ops {
		if slices.Contains(fakeaws.WriteOps, q.Op) {
			w = append(w, q.Op)
		}
	}
	return w
}

func (r run) names() []string {
	var n []string
	for _, q := range r.ops {
		n = append(n, q.Op)
	}
	return n
}

func (r run) last(op string) map[string]any {
	for i := len(r.ops) - 1; i >= 0; i-- {
		if r.ops[i].Op == op {
			return r.ops[i].Body
		}
	}
	return nil
}

func (s *liveStack) up(overrides map[string]string, opts ...func(*offline.Options)) run {
	s.t.Helper()
	before := len(s.aws.Requests())
	var mu sync.Mutex
	outputs := map[string]any{}
	o := offline.Options{Overrides: overrides, State: s.state, OnResource: s.create}
	for _, f := range opts {
		f(&o)
	}
	m, err := offline.Run(".", s.name, func(ctx *pulumi.Context) error {
		svc, err := stack(ctx)
		if err != nil {
			return err
		}
		svc.Outputs().ToMapOutput().ApplyT(func(v map[string]any) error {
			mu.Lock()
			defer mu.Unlock()
			for k, x := range v {
				outputs[k] = x
			}
			return nil
		})
		return nil
	}, o)
	var rs []*offline.Resource
	if m != nil {
		rs = m.Resources()
	}
	return run{graph: graph{s.t, rs}, outputs: outputs, ops: s.aws.Requests()[before:], err: err}
}

func preview(o *offline.Options)  { o.Preview = true }
func existing(o *offline.Options) { o.Preview, o.Existing = true, true }

// create makes in the sim what Pulumi's calls would: the service with its first
// task set on the declared revision, network and capacity provider; the task
// definitions with their roles; the deployment group's service role; the roles'
// policies.
func (s *liveStack) create(r *offline.Resource) {
	t := s.t
	if s.drop != nil && s.drop(r) {
		return
	}
	switch r.Type {
	case tRolePolicy, tAttachment, tRole, tPolicy: // what IAM keeps of the stack's roles
		s.mu.Lock()
		s.iam[r.URN] = r
		s.mu.Unlock()
	case tTaskDef:
		var defs []struct {
			Name, Image      string
			LogConfiguration struct{ Options map[string]string }
		}
		if err := json.Unmarshal([]byte(str(t, r, "containerDefinitions")), &defs); err != nil {
			t.Errorf("%s: containerDefinitions: %v", r.URN, err)
		}
		td := fakeaws.TaskDef{ExecutionRole: str(t, r, "executionRoleArn"), TaskRole: str(t, r, "taskRoleArn")}
		for _, d := range defs {
			o := d.LogConfiguration.Options
			td.Containers = append(td.Containers, fakeaws.Container{Name: d.Name, Image: d.Image, LogGroup: o["awslogs-group"], StreamPrefix: o["awslogs-stream-prefix"]})
		}
		s.sim.RegisterTaskDefinition(str(t, r, "out:arn"), td)
	case tTG:
		s.mu.Lock()
		s.tgs[r.Name] = str(t, r, "out:arn")
		if blue, green := s.tgs["web-blue"], s.tgs["web-green"]; blue != "" && green != "" {
			s.sim.SetTargetGroups(blue, green)
		}
		s.mu.Unlock()
	case tCDGroup:
		s.sim.SetServiceRole(str(t, r, "serviceRoleArn"))
	}
	if r.Type != tService {
		return
	}
	if str(t, r, "deploymentController.type") == "ECS" { // a worker (workers_test.go)
		s.createWorker(r)
		return
	}
	s.sim.EnsureService(fakeaws.ServiceSpec{
		Name: str(t, r, "out:name"), Cluster: str(t, r, "cluster"), TaskDefinition: str(t, r, "taskDefinition"),
		Subnets: strs(t, r, "networkConfiguration.subnets"), SecurityGroups: strs(t, r, "networkConfiguration.securityGroups"),
		AssignPublicIP:   boolean(t, r, "networkConfiguration.assignPublicIp"),
		CapacityProvider: str(t, r, "capacityProviderStrategies.0.capacityProvider"),
		TargetGroup:      str(t, r, "loadBalancers.0.targetGroupArn"),
		ContainerName:    str(t, r, "loadBalancers.0.containerName"), ContainerPort: num(t, r, "loadBalancers.0.containerPort"),
		DesiredCount: num(t, r, "desiredCount"),
	})
}

// appSpecOf reads the AppSpec target of a CreateDeployment request.
func appSpecOf(t *testing.T, body map[string]any) rollout.TargetProperties {
	t.Helper()
	if body == nil {
		t.Fatal("no CreateDeployment")
	}
	content := body["revision"].(map[string]any)["appSpecContent"].(map[string]any)["content"].(string)
	var spec rollout.AppSpec
	if err := json.Unmarshal([]byte(content), &spec); err != nil {
		t.Fatal(err)
	}
	return spec.Resources[0]["TargetService"].Properties
}

// changedApp copies the app's build context with one file changed: a new build.
func changedApp(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "django")
	if err := os.CopyFS(dir, os.DirFS("app/django")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "CHANGED"), []byte("a new build\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLifeOfAStack: the first `up` judges the revision ECS started, a second
// identical `up` writes nothing and changes no output, a changed build makes
// exactly one deployment of a new revision, and after it nothing again.
func TestLifeOfAStack(t *testing.T) {
	s := newLiveStack(t, "dev")

	first := s.up(nil)
	if first.err != nil {
		t.Fatal(first.err)
	}
	if w := first.writes(); !reflect.DeepEqual(w, []string{"PutParameter"}) {
		t.Errorf("first up wrote %v, want only the verdict in the rollout's state (ECS started the tasks)", w)
	}
	if got := first.outputs["rolloutResult"]; got != "ecs-bluegreen-dev-web:1 serves (the first revision, started by ECS with the service)" {
		t.Errorf("rolloutResult %q", got)
	}
	if got := first.outputs["deploymentId"]; got != "" {
		t.Errorf("deploymentId %q after the first up, want empty: no deployment made the first revision", got)
	}

	second := s.up(nil)
	if second.err != nil {
		t.Fatal(second.err)
	}
	if ops := second.names(); !reflect.DeepEqual(ops, []string{"GetParameter", "DescribeServices"}) {
		t.Errorf("second identical up made %v, want only the look at the state and the service", ops)
	}
	// An unchanged stack shows no output change: every output as after the first up.
	if !reflect.DeepEqual(second.outputs, first.outputs) {
		t.Errorf("outputs changed on an identical up:\n first  %v\n second %v", first.outputs, second.outputs)
	}

	app := changedApp(t)
	third := s.up(map[string]string{"appContext": app})
	if third.err != nil {
		t.Fatal(third.err)
	}
	if w := third.writes(); !reflect.DeepEqual(w, []string{"CreateDeployment"}) {
		t.Fatalf("changed build wrote %v, want exactly one deployment", w)
	}
	if td := appSpecOf(t, third.last("CreateDeployment")).TaskDefinition; td != tdDev(2) {
		t.Errorf("deployed %s, want the new revision %s", td, tdDev(2))
	}
	serving, by := s.sim.Serving()
	if serving != tdDev(2) || third.outputs["deploymentId"] != by {
		t.Errorf("serving %s by %s; deploymentId output %v", serving, by, third.outputs["deploymentId"])
	}
	if got := third.outputs["rolloutResult"]; got != "ecs-bluegreen-dev-web:2 serves, deployed by "+by {
		t.Errorf("rolloutResult %q", got)
	}

	fourth := s.up(map[string]string{"appContext": app})
	if fourth.err != nil || len(fourth.writes()) != 0 || !reflect.DeepEqual(fourth.outputs, third.outputs) {
		t.Errorf("up after the deployment: err %v, writes %v, outputs %v (want %v)", fourth.err, fourth.writes(), fourth.outputs, third.outputs)
	}
}

// TestFirstUpWithCrashingTasks: `pulumi up` fails when the revision ECS started
// never becomes healthy, with the tasks' stop reasons and exit codes.
func TestFirstUpWithCrashingTasks(t *testing.T) {
	s := newLiveStack(t, "dev")
	s.sim.Crashes(tdDev(1), fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 2})
	r := s.up(nil)
	want := "rollout: first revision ecs-bluegreen-dev-web:1 of service web-"
	if r.err == nil || !strings.Contains(r.err.Error(), want) || !strings.Contains(r.err.Error(), "3× Essential container in task exited [app exit 2]") {
		t.Fatalf("error %v", r.err)
	}
	if w := r.writes(); len(w) != 0 {
		t.Errorf("writes %v", w)
	}
}

// TestFailedRolloutFailsUp: a deployment that fails fails the whole run, after its
// rollback, and the previous revision serves again; the run's error says why: the
// crashing container's last log lines, or the target group's health reasons seen
// while the deployment ran (ECS has deregistered the targets by the end).
func TestFailedRolloutFailsUp(t *testing.T) {
	cases := []struct {
		name  string
		crash fakeaws.Crash
		want  []string
	}{
		{"the app exits", fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1,
			Logs: []string{"[ERROR] Exception in worker process", "django.db.utils.OperationalError: connection to server at \"db\" failed"}},
			[]string{"container app: exit 1\n      | [ERROR] Exception in worker process\n      | django.db.utils.OperationalError",
				"container nginx: no exit code (it did not run)"}},
		{"the health checks fail", fakeaws.Crash{HealthCheckCodes: "[400]", Logs: []string{"Invalid HTTP_HOST header: '10.0.1.20'."}},
			[]string{"stopped: ServiceSchedulerInitiated: Task failed ELB health checks in (target-group ",
				"target group web-green-", "unhealthy: Target.ResponseCodeMismatch: Health checks failed with these codes: [400] (while the deployment ran)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newLiveStack(t, "dev")
			if r := s.up(nil); r.err != nil {
				t.Fatal(r.err)
			}
			s.sim.Crashes(tdDev(2), c.crash)
			r := s.up(map[string]string{"appContext": changedApp(t)})
			if r.err == nil || !strings.Contains(r.err.Error(), "failed: HEALTH_CONSTRAINTS") || !strings.Contains(r.err.Error(), "the previous revision serves again") {
				t.Fatalf("error %v", r.err)
			}
			for _, want := range c.want {
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("the run's error lacks %q:\n%s", want, r.err)
				}
			}
			if td, _ := s.sim.Serving(); td != tdDev(1) {
				t.Errorf("serving %s after the rollback", td)
			}
			// CodeDeploy names the rollback a poll after the status: the run waited for it
			// and followed it to its end, so nothing is left under way for the next up.
			var got []string
			for _, d := range s.sim.Deployments() {
				got = append(got, d.Creator+":"+d.Status)
			}
			if want := []string{"user:Failed", "codeDeployRollback:Succeeded"}; !reflect.DeepEqual(got, want) {
				t.Errorf("deployments %v, want %v", got, want)
			}
		})
	}
}

// TestStopPolicyWaitsForTheRollback: with activeDeploymentPolicy stop, a deployment
// of another revision is stopped, its rollback is waited out, then ours goes.
func TestStopPolicyWaitsForTheRollback(t *testing.T) {
	s := newLiveStack(t, "dev")
	if r := s.up(nil); r.err != nil {
		t.Fatal(r.err)
	}
	other := s.sim.StartDeployment(tdDev(1) + "-other")
	r := s.up(map[string]string{"appContext": changedApp(t), "activeDeploymentPolicy": "stop"})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if w := r.writes(); !reflect.DeepEqual(w, []string{"StopDeployment", "CreateDeployment"}) {
		t.Errorf("writes %v", w)
	}
	if stop := r.last("StopDeployment"); stop["deploymentId"] != other {
		t.Errorf("stopped %v, want %s", stop["deploymentId"], other)
	}
	var got []string
	for _, d := range s.sim.Deployments() {
		got = append(got, d.Creator+":"+d.Status)
	}
	if want := []string{"user:Stopped", "codeDeployRollback:Succeeded", "user:Succeeded"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deployments %v, want %v", got, want)
	}
}

// TestPreview: a preview never writes. A new stack's calls nothing (its inputs
// are unknown). An existing, unchanged stack's reads what serves, so its outputs
// are exactly those of the last `up` and a pull request's preview shows no output
// change; a changed build leaves the rollout's outputs unknown.
func TestPreview(t *testing.T) {
	s := newLiveStack(t, "dev")
	fresh := s.up(nil, preview)
	if fresh.err != nil || len(fresh.ops) != 0 {
		t.Fatalf("preview of a new stack: err %v, calls %v", fresh.err, fresh.names())
	}
	last := s.up(nil)
	if last.err != nil {
		t.Fatal(last.err)
	}
	same := s.up(nil, existing)
	if same.err != nil || len(same.writes()) != 0 {
		t.Fatalf("preview of an unchanged stack: err %v, writes %v", same.err, same.writes())
	}
	if !reflect.DeepEqual(same.outputs, last.outputs) {
		t.Errorf("preview of an unchanged stack shows output changes:\n up      %v\n preview %v", last.outputs, same.outputs)
	}
	p := s.up(map[string]string{"appContext": changedApp(t)}, existing)
	if p.err != nil {
		t.Fatal(p.err)
	}
	if len(p.writes()) != 0 {
		t.Errorf("preview of an existing stack wrote: %v", p.writes())
	}
	if len(p.outputs) != 0 {
		t.Errorf("preview of a changed build knows the rollout's outputs: %v", p.outputs)
	}
	// The inputs were known: the new revision is in the task definition's outputs
	// and the service's (ignored) taskDefinition input.
	if got := str(t, p.one(tService, "web"), "taskDefinition"); got != tdDev(2) {
		t.Errorf("preview's service taskDefinition %q, want the known new revision %s", got, tdDev(2))
	}
}

// TestRolloutWaitsForPermissions: a run that adds a hook together with a new
// revision creates the deployment only after the hook's invoke policy exists, and
// registers the task definition only after its execution policy exists.
func TestRolloutWaitsForPermissions(t *testing.T) {
	s := newLiveStack(t, "dev")
	if r := s.up(nil); r.err != nil {
		t.Fatal(r.err)
	}
	hook := "arn:aws:lambda:ap-northeast-2:123456789012:function:smoke-test"
	r := s.up(map[string]string{
		"appContext":   changedApp(t),
		"rolloutHooks": `{"AfterAllowTestTraffic": "` + hook + `"}`,
		"appSecrets":   `{"DB_PASSWORD": "arn:aws:ssm:ap-northeast-2:123456789012:parameter/web/db"}`,
	}, func(o *offline.Options) {
		o.Delay = map[string]time.Duration{tRolePolicy: 200 * time.Millisecond, "web-codedeploy-pass": time.Second}
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	hooks, exec, td := r.one(tRolePolicy, "-hooks"), r.one(tRolePolicy, "-exec"), r.one(tTaskDef, "web")
	var created time.Time
	for _, q := range r.ops {
		if q.Op == "CreateDeployment" {
			created = q.At
		}
	}
	if created.IsZero() || created.Before(hooks.Done) {
		t.Errorf("CreateDeployment at %v, before the hook invoke policy existed (%v)", created, hooks.Done)
	}
	// CodeDeploy creates the deployment's task set as its role, which must be able
	// to pass the task's roles by then (pitfall 21).
	if pass := r.one(tRolePolicy, "-codedeploy-pass"); created.Before(pass.Done) {
		t.Errorf("CreateDeployment at %v, before CodeDeploy's pass-role policy existed (%v)", created, pass.Done)
	}
	if td.Started.Before(exec.Done) {
		t.Errorf("task definition registered at %v, before its execution policy existed (%v)", td.Started, exec.Done)
	}
	var policy struct {
		Statement []struct{ Action, Resource []string }
	}
	if err := json.Unmarshal([]byte(str(t, hooks, "policy")), &policy); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(policy.Statement[0].Resource, []string{hook}) || policy.Statement[0].Action[0] != "lambda:InvokeFunction" {
		t.Errorf("hook policy %+v, want lambda:InvokeFunction on %s", policy, hook)
	}
}

// TestRolloutConfig: the migration command runs (first revision included) and
// hooks reach the AppSpec.
func TestRolloutConfig(t *testing.T) {
	s := newLiveStack(t, "dev")
	migrate := map[string]string{"migrationCommand": `["python", "manage.py", "migrate", "--noinput"]`}
	first := s.up(migrate)
	if first.err != nil {
		t.Fatal(first.err)
	}
	if w := first.writes(); !reflect.DeepEqual(w, []string{"RunTask", "UpdateService", "PutParameter"}) {
		t.Errorf("first up wrote %v, want the first revision's migration, its tasks, then the verdict", w)
	}
	// The service was created with no tasks; they start once the migration ran, and
	// autoscaling (which would move the count into its range at once) comes after.
	if n := num(t, first.one(tService, "web"), "desiredCount"); n != 0 {
		t.Errorf("service created with %d tasks, want 0 until the migration ran", n)
	}
	var order []string
	for _, e := range s.sim.Timeline() {
		order = append(order, e.What)
	}
	if m, st := slices.Index(order, "migration task exited 0"), slices.Index(order, "tasks of "+tdDev(1)+" started"); m < 0 || st < m {
		t.Errorf("timeline %q: tasks started before the migration finished", order)
	}
	var migrated time.Time
	for _, q := range first.ops {
		if q.Op == "UpdateService" {
			migrated = q.At
		}
	}
	if target := first.one(tScaleTarget, "web"); migrated.IsZero() || target.Started.Before(migrated) {
		t.Errorf("autoscaling target registered at %v, before the first tasks were started (%v)", target.Started, migrated)
	}
	override := first.last("RunTask")["overrides"].(map[string]any)["containerOverrides"].([]any)[0].(map[string]any)
	if override["name"] != "app" || !reflect.DeepEqual(override["command"], []any{"python", "manage.py", "migrate", "--noinput"}) {
		t.Errorf("migration override %v", override)
	}
	hook := "arn:aws:lambda:ap-northeast-2:123456789012:function:smoke-test"
	migrate["appContext"] = changedApp(t)
	migrate["rolloutHooks"] = `{"AfterAllowTestTraffic": "` + hook + `"}`
	second := s.up(migrate)
	if second.err != nil {
		t.Fatal(second.err)
	}
	if w := second.writes(); !reflect.DeepEqual(w, []string{"RunTask", "CreateDeployment"}) {
		t.Errorf("writes %v, want the migration task before the deployment", w)
	}
	if second.last("RunTask")["taskDefinition"] != tdDev(2) {
		t.Errorf("migration ran %v, want the new revision", second.last("RunTask")["taskDefinition"])
	}
	var spec rollout.AppSpec
	content := second.last("CreateDeployment")["revision"].(map[string]any)["appSpecContent"].(map[string]any)["content"].(string)
	if err := json.Unmarshal([]byte(content), &spec); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spec.Hooks, []map[string]string{{"AfterAllowTestTraffic": hook}}) {
		t.Errorf("AppSpec hooks %v", spec.Hooks)
	}
}

// TestRolloutActsAsTheProvider: with aws:assumeRole in the stack's config, every
// rollout call is made as that role, as the provider's calls are.
func TestRolloutActsAsTheProvider(t *testing.T) {
	s := newLiveStack(t, "dev")
	role := "arn:aws:iam::210987654321:role/deploy"
	r := s.up(map[string]string{"aws:assumeRole": `{"roleArn": "` + role + `", "sessionName": "ci"}`})
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, q := range r.ops {
		want := fakeaws.AssumedKey(role)
		if q.Op == "AssumeRole" {
			want = "AKIDTEST"
		}
		if q.AccessKey != want {
			t.Errorf("%s signed as %s, want %s", q.Op, q.AccessKey, want)
		}
	}
	if r.ops[0].Op != "AssumeRole" || r.ops[0].Body["RoleArn"] != role {
		t.Errorf("first call %v, want AssumeRole of %s", r.ops[0], role)
	}
}

// TestLoadGateFromConfig: the gate rolloutCheck configures loads the URL it is
// given at the set rate and judges the configured thresholds.
func TestLoadGateFromConfig(t *testing.T) {
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() && r.URL.Path == "/" {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	cfg, err := infra.ParseConfig("ecs-bluegreen", "dev", func(key string) (string, bool) {
		switch key {
		case "ecs-bluegreen:rolloutCheck":
			return `{"paths": ["/", "/health/"], "rate": 20, "durationSeconds": 5, "minSuccessPercent": 99}`, true
		case "ecs-bluegreen:terminationWaitMinutes":
			return "5", true
		case "aws:region":
			return "ap-northeast-2", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	gate := infra.LoadGate(cfg.Deploy.Rollout.Check, srv.URL)
	passed, report, err := gate(context.Background())
	if err != nil || !passed || !strings.Contains(report, "sent          100 requests") {
		t.Errorf("healthy target: passed %v, err %v, report:\n%s", passed, err, report)
	}
	failing.Store(true) // half the requests (the / path) now fail
	passed, report, err = gate(context.Background())
	if err != nil || passed || !strings.Contains(report, "broken: success 50.00% below 99.00%") {
		t.Errorf("failing target: passed %v, err %v, report:\n%s", passed, err, report)
	}
}

// TestInterruptedUpIsNotRepeated: Ctrl-C during `pulumi up` leaves the
// deployment to CodeDeploy and says how to follow it; the next `up` of the same
// code finds that deployment by its revision and follows it, never a second one.
func TestInterruptedUpIsNotRepeated(t *testing.T) {
	// With stop as well: the next up must know the deployment under way is its own
	// (by its AppSpec, pitfall 22), or it stops and rolls back its own revision.
	for _, policy := range []string{"wait", "stop"} {
		t.Run(policy, func(t *testing.T) {
			s := newLiveStack(t, "dev")
			cfg := map[string]string{"activeDeploymentPolicy": policy}
			if r := s.up(cfg); r.err != nil {
				t.Fatal(r.err)
			}
			var once sync.Once
			target := s.sim.TargetHandler()
			s.aws.Handle("GetDeploymentTarget", func(body map[string]any) (any, *fakeaws.Error) {
				once.Do(func() { syscall.Kill(os.Getpid(), syscall.SIGINT) }) // Ctrl-C in the terminal
				return target(body)
			})
			cfg["appContext"] = changedApp(t)
			interrupted := s.up(cfg)
			if interrupted.err == nil || !strings.Contains(interrupted.err.Error(), "rollout interrupted; deployment d-") || !strings.Contains(interrupted.err.Error(), "aws deploy get-deployment") {
				t.Fatalf("interrupted up: %v", interrupted.err)
			}
			s.aws.Handle("GetDeploymentTarget", target)
			next := s.up(cfg)
			if next.err != nil {
				t.Fatal(next.err)
			}
			if w := next.writes(); len(w) != 0 {
				t.Errorf("the up after an interrupted one wrote %v: its deployment was repeated or stopped", w)
			}
			if d := s.sim.Deployments(); len(d) != 1 || next.outputs["deploymentId"] != d[0].ID || d[0].Status != "Succeeded" {
				t.Errorf("deployments %+v, deploymentId %v", d, next.outputs["deploymentId"])
			}
		})
	}
}

// TestLoadGateFailsDuringTheTerminationWait: the gate runs while the deployment
// is InProgress with its target Succeeded (the flag AWS never sets stays false);
// against a revision that answers errors it stops the deployment with rollback,
// follows the rollback, and fails `pulumi up` with the report.
func TestLoadGateFailsDuringTheTerminationWait(t *testing.T) {
	var requests atomic.Int64
	green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "broken revision", http.StatusInternalServerError)
	}))
	defer green.Close()
	s := newLiveStack(t, "dev")
	lb := func(o *offline.Options) { o.LoadBalancerDNS = strings.TrimPrefix(green.URL, "http://") }
	if r := s.up(nil, lb); r.err != nil {
		t.Fatal(r.err)
	}
	r := s.up(map[string]string{
		"appContext":             changedApp(t),
		"terminationWaitMinutes": "3",
		"rolloutCheck":           `{"rate": 20, "durationSeconds": 5, "minSuccessPercent": 99}`,
	}, lb)
	if r.err == nil || !strings.Contains(r.err.Error(), "load gate failed") || !strings.Contains(r.err.Error(), "the previous revision serves again") ||
		!strings.Contains(r.err.Error(), "status codes  500×") {
		t.Fatalf("error %v", r.err)
	}
	if requests.Load() < 90 {
		t.Errorf("the gate sent %d requests, want the configured load (about 100)", requests.Load())
	}
	if w := r.writes(); !reflect.DeepEqual(w, []string{"CreateDeployment", "StopDeployment"}) {
		t.Errorf("writes %v", w)
	}
	var got []string
	for _, d := range s.sim.Deployments() {
		got = append(got, d.Creator+":"+d.Status)
	}
	if want := []string{"user:Stopped", "codeDeployRollback:Succeeded"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deployments %v, want %v", got, want)
	}
	if td, _ := s.sim.Serving(); td != tdDev(1) {
		t.Errorf("serving %s after the gate's rollback", td)
	}
}

// TestCodeDeployMayPassTheTaskRoles: CodeDeploy creates each later revision's task
// set as its service role, which AWS lets pass the task's roles only by the
// stack's inline grant (AWSCodeDeployRoleForECSLimited covers ecsTaskExecutionRole
// names only). With the grant the second revision goes out; without it, the
// deployment fails with AWS's denial, and the run says so.
func TestCodeDeployMayPassTheTaskRoles(t *testing.T) {
	for _, granted := range []bool{true, false} {
		s := newLiveStack(t, "dev")
		ci := map[string]string{"ciRepository": "acme/shop"} // with CI, under the stack's permissions boundary
		if !granted {
			s.drop = func(r *offline.Resource) bool {
				return r.Type == tRolePolicy && strings.HasSuffix(r.Name, "-codedeploy-pass")
			}
		}
		if r := s.up(ci); r.err != nil { // the first revision: ECS's CreateService, as the deployer
			t.Fatal(r.err)
		}
		r := s.up(map[string]string{"ciRepository": "acme/shop", "appContext": changedApp(t)})
		switch {
		case granted && r.err != nil:
			t.Errorf("with the grant: %v", r.err)
		case !granted && (r.err == nil || !strings.Contains(r.err.Error(), "ECS_UPDATE_ERROR") || !strings.Contains(r.err.Error(), "is not authorized to perform: iam:PassRole on resource: arn:aws:iam::")):
			t.Errorf("without the grant: %v", r.err)
		}
	}
}

// opsOf is the day-N commands on the stack, as `go run ./cmd/ops` acts: the
// provider's identity (here the fake's endpoint and keys) and the stack's outputs.
func (s *liveStack) opsOf(outputs map[string]any) (*ops.Ops, ops.Stack) {
	s.t.Helper()
	clients, err := rollout.NewClients(context.Background(), rollout.Identity{Region: "ap-northeast-2"})
	if err != nil {
		s.t.Fatal(err)
	}
	o := ops.New(clients, io.Discard)
	o.Poll = time.Millisecond
	o.Rollout.PollInterval = time.Millisecond
	str := func(k string) string { v, _ := outputs[k].(string); return v }
	return o, ops.Stack{Name: s.name, Cluster: str("clusterName"), Service: str("serviceName"), Application: str("codedeployApplication"),
		DeploymentGroup: str("codedeployDeploymentGroup"), Declared: str("taskDefinitionArn"), StateParameter: infra.StateParameterName("ecs-bluegreen", s.name, "web"),
		AppContainer: infra.AppContainer, Timeout: time.Minute}
}

// TestRollbackIsNotUndoneByTheNextUp: `ops rollback` makes the previous revision
// serve again without a rebuild (one deployment of it). The stack is then behind
// its code on purpose: the next `up` of the same code refuses the rolled-back
// revision (a CI push of an unrelated change would otherwise redeploy it), status
// shows the record, a preview writes nothing; an `up` of a new revision is
// accepted and clears the record.
func TestRollbackIsNotUndoneByTheNextUp(t *testing.T) {
	s := newLiveStack(t, "dev")
	if r := s.up(nil); r.err != nil {
		t.Fatal(r.err)
	}
	app := changedApp(t)
	deployed := s.up(map[string]string{"appContext": app})
	if deployed.err != nil {
		t.Fatal(deployed.err)
	}
	o, st := s.opsOf(deployed.outputs)
	res, err := o.Rollback(context.Background(), st, ops.RollbackOptions{}) // the stack's rolloutTimeoutMinutes
	if err != nil {
		t.Fatal(err)
	}
	if td, _ := s.sim.Serving(); td != tdDev(1) || res.Record.From != tdDev(2) || res.Record.To != tdDev(1) || res.Record.Image == "" {
		t.Fatalf("serving %s after the rollback, record %+v", td, res.Record)
	}
	if status, err := o.Status(context.Background(), st); err != nil || status.Rollback == nil || !status.Serving.Behind {
		t.Errorf("status: %+v, %v", status, err)
	}

	again := s.up(map[string]string{"appContext": app}) // a push of an unrelated change: the same revision
	var blocked *rollout.BlockedError
	if !errors.As(again.err, &blocked) || !strings.Contains(again.err.Error(), "revision ecs-bluegreen-dev-web:2 of service") ||
		!strings.Contains(again.err.Error(), "go run ./cmd/ops unblock -stack dev") {
		t.Fatalf("the up of the rolled-back revision: %v", again.err)
	}
	if w := again.writes(); len(w) != 0 {
		t.Errorf("the refused up wrote %v", w)
	}
	// A change elsewhere makes a new revision of the same build: refused too.
	env := s.up(map[string]string{"appContext": app, "appEnvironment": `{"FEATURE_X":"on"}`})
	if !errors.As(env.err, &blocked) || !strings.Contains(env.err.Error(), "runs the app image sha256:") ||
		!strings.Contains(env.err.Error(), "of revision ecs-bluegreen-dev-web:2, which was rolled back") {
		t.Fatalf("the up of the rolled-back build with another environment: %v", env.err)
	}
	if w := env.writes(); slices.Contains(w, "CreateDeployment") {
		t.Errorf("the refused up deployed: %v", w)
	}
	if p := s.up(map[string]string{"appContext": app}, existing); p.err != nil || len(p.writes()) != 0 || len(p.outputs) != 0 {
		t.Errorf("preview of the refused revision: err %v, writes %v, outputs %v (want unknown)", p.err, p.writes(), p.outputs)
	}

	newer := changedApp(t)
	os.WriteFile(filepath.Join(newer, "CHANGED"), []byte("a fix\n"), 0o644)
	fixed := s.up(map[string]string{"appContext": newer})
	if fixed.err != nil {
		t.Fatal(fixed.err)
	}
	if td, _ := s.sim.Serving(); td != fixed.outputs["taskDefinitionArn"] {
		t.Errorf("serving %s after a new revision %v", td, fixed.outputs["taskDefinitionArn"])
	}
	if v, _ := s.sim.Parameter("/ecs-bluegreen/dev/web/rollout"); strings.Contains(v, "rollback") {
		t.Errorf("the record outlived the new revision: %s", v)
	}
}
