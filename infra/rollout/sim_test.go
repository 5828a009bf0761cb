package rollout_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

// These tests run the rollout against fakeaws.Sim, which keeps state as AWS does:
// they pass only when the rollout does what a live service needs.

const tgBlue = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/web-blue/0123"

// simFixture is a fixture whose AWS is a Sim with the service already created:
// on td, made by deployedBy ("" for a service just created by Pulumi).
func simFixture(t *testing.T, td, deployedBy string) (*fixture, *fakeaws.Sim) {
	t.Helper()
	f := newFixture(t)
	sim := fakeaws.NewSim(f.aws)
	sim.EnsureService(fakeaws.ServiceSpec{
		Name: "web-svc", Cluster: "web-cluster", TaskDefinition: td,
		Subnets: subnets, SecurityGroups: groups, AssignPublicIP: true,
		TargetGroup: tgBlue, ContainerName: "nginx", ContainerPort: 80, DesiredCount: 2, DeployedBy: deployedBy,
	})
	return f, sim
}

const stateParam = "/ecs-bluegreen/dev/web/rollout"

func simRequest() rollout.Request {
	r := request()
	r.TargetGroup = tgBlue
	r.StateParameter = stateParam
	r.DesiredCount = 2
	return r
}

func statuses(sim *fakeaws.Sim) []string {
	var out []string
	for _, d := range sim.Deployments() {
		out = append(out, d.Creator+":"+d.Status)
	}
	return out
}

func TestFirstRevisionIsJudged(t *testing.T) {
	t.Run("healthy, then the next up is a no-op", func(t *testing.T) {
		f, sim := simFixture(t, tdNew, "")
		sim.Steps = 3
		res, err := f.ro.Run(context.Background(), simRequest())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(f.log.all(), "service web-svc: 0 of 2 tasks running, 2 pending, STABILIZING") {
			t.Errorf("progress %v does not show the wait", f.log.all())
		}
		if res.Deployed || res.DeploymentID != "" || res.Summary != "web:2 serves (the first revision, started by ECS with the service)" {
			t.Errorf("result %+v", res)
		}
		// It waited: the task set was STABILIZING at first (Steps looks), and only
		// the rollout's state, which records the verdict, was written.
		if n := f.aws.Count("DescribeServices"); n < 3 {
			t.Errorf("%d DescribeServices: the rollout did not wait for a steady task set", n)
		}
		if w := f.aws.Writes(); !reflect.DeepEqual(w, []string{"PutParameter"}) {
			t.Errorf("writes %v, want only the verdict in the rollout's state", w)
		}
		if v, _ := sim.Parameter(stateParam); !strings.Contains(v, `"judged":{"taskSet":"arn:aws:ecs:`) {
			t.Errorf("state %s does not record the judged task set", v)
		}
		if len(sim.Deployments()) != 0 {
			t.Errorf("deployments %v: the first revision needs none", statuses(sim))
		}

		second := len(f.aws.Requests())
		res, err = f.ro.Run(context.Background(), simRequest())
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, r := range f.aws.Requests()[second:] {
			ops = append(ops, r.Op)
		}
		if !reflect.DeepEqual(ops, []string{"GetParameter", "DescribeServices"}) {
			t.Errorf("second up made %v, want only the look at the state and the service", ops)
		}
		if res.Summary != "web:2 serves (the first revision, started by ECS with the service)" {
			t.Errorf("second result %+v: an unchanged stack must show the same rolloutResult", res)
		}
	})
	t.Run("crash-looping tasks fail the run with their reasons", func(t *testing.T) {
		f, sim := simFixture(t, tdNew, "")
		sim.Crashes(tdNew, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 3})
		_, err := f.ro.Run(context.Background(), simRequest())
		want := "first revision web:2 of service web-svc is not healthy: 3 tasks stopped (3× Essential container in task exited [app exit 3])\nwhy it failed:\n  task "
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("error:\n got  %v\n want %s…", err, want)
		}
		if w := f.aws.Writes(); len(w) != 0 {
			t.Errorf("writes %v: an unhealthy first revision must not be marked judged", w)
		}
	})
	t.Run("timeout names what was running", func(t *testing.T) {
		f, sim := simFixture(t, tdNew, "")
		sim.Steps = 1 << 30 // never steady, never crashing
		req := simRequest()
		req.Timeout = 40 * time.Millisecond
		_, err := f.ro.Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "first revision web:2 of service web-svc did not become steady within 40ms (0 of 2 tasks running, 2 pending, STABILIZING)") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("migration runs for the first revision", func(t *testing.T) {
		f, _ := simFixture(t, tdNew, "")
		req := simRequest()
		req.MigrationCommand, req.MigrationContainer = []string{"python", "manage.py", "migrate"}, "app"
		if _, err := f.ro.Run(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if w := f.aws.Writes(); !reflect.DeepEqual(w, []string{"RunTask", "PutParameter"}) {
			t.Errorf("writes %v, want the migration, then the verdict", w)
		}
		if f.aws.Last("RunTask")["taskDefinition"] != tdNew {
			t.Errorf("migration ran %v", f.aws.Last("RunTask")["taskDefinition"])
		}
	})
	t.Run("behind another target group is refused", func(t *testing.T) {
		f, _ := simFixture(t, tdNew, "")
		req := simRequest()
		req.TargetGroup = tgBlue + "-other"
		if _, err := f.ro.Run(context.Background(), req); err == nil || !strings.Contains(err.Error(), "not the blue target group") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestNewRevisionChangesWhatServes(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	res, err := f.ro.Run(context.Background(), simRequest())
	if err != nil {
		t.Fatal(err)
	}
	td, ext := sim.Serving()
	if td != tdNew || ext != res.DeploymentID || !res.Deployed {
		t.Errorf("serving %s by %s after result %+v", td, ext, res)
	}
	// The next up sees its own deployment serving, and writes nothing.
	before := len(f.aws.Writes())
	res, err = f.ro.Run(context.Background(), simRequest())
	if err != nil || len(f.aws.Writes()) != before || res.DeploymentID != ext {
		t.Errorf("second up: result %+v, err %v, writes %v", res, err, f.aws.Writes()[before:])
	}
}

func TestFailedDeploymentIsRolledBack(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	sim.Crashes(tdNew, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1})
	_, err := f.ro.Run(context.Background(), simRequest())
	if err == nil || !strings.Contains(err.Error(), "failed: HEALTH_CONSTRAINTS") || !strings.Contains(err.Error(), "the previous revision serves again") {
		t.Fatalf("error %v", err)
	}
	if got := statuses(sim); !reflect.DeepEqual(got, []string{"user:Failed", "codeDeployRollback:Succeeded"}) {
		t.Errorf("deployments %v, want ours failed and its rollback followed to the end", got)
	}
	if td, _ := sim.Serving(); td != tdOld {
		t.Errorf("serving %s after a rollback", td)
	}
}

func TestActiveDeploymentOfAnotherRevision(t *testing.T) {
	cases := []struct {
		name, policy string
		crash        bool // the other revision's tasks crash: it fails and rolls back
		want         []string
		writes       []string
	}{
		{"wait: it succeeds, then ours", rollout.WaitForActive, false,
			[]string{"user:Succeeded", "user:Succeeded"}, []string{"CreateDeployment"}},
		{"wait: it fails, its rollback ends, then ours", rollout.WaitForActive, true,
			[]string{"user:Failed", "codeDeployRollback:Succeeded", "user:Succeeded"}, []string{"CreateDeployment"}},
		{"stop: stopped, its rollback ends, then ours", rollout.StopActive, false,
			[]string{"user:Stopped", "codeDeployRollback:Succeeded", "user:Succeeded"}, []string{"StopDeployment", "CreateDeployment"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, sim := simFixture(t, tdOld, "d-OLD")
			if c.crash {
				sim.Crashes(tdOther, fakeaws.Crash{Reason: "OutOfMemoryError", ExitCode: 137})
			}
			other := sim.StartDeployment(tdOther)
			req := simRequest()
			req.ActivePolicy = c.policy
			res, err := f.ro.Run(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := statuses(sim); !reflect.DeepEqual(got, c.want) {
				t.Errorf("deployments %v, want %v", got, c.want)
			}
			// One create: it never raced the other deployment or its rollback.
			if w := f.aws.Writes(); !reflect.DeepEqual(w, c.writes) {
				t.Errorf("writes %v, want %v", w, c.writes)
			}
			if c.policy == rollout.StopActive {
				if stop := f.aws.Last("StopDeployment"); stop["deploymentId"] != other || stop["autoRollbackEnabled"] != true {
					t.Errorf("StopDeployment %v, want %s with rollback", stop, other)
				}
			}
			if td, ext := sim.Serving(); td != tdNew || ext != res.DeploymentID {
				t.Errorf("serving %s by %s, want %s by %s", td, ext, tdNew, res.DeploymentID)
			}
		})
	}
}

// TestStopMeetsACompletedDeployment: with activeDeploymentPolicy stop, the other
// deployment completes between ListDeployments and StopDeployment, which then
// answers DeploymentAlreadyCompletedException (CodeDeploy API reference,
// StopDeployment errors): nothing is left to stop, and ours goes out.
func TestStopMeetsACompletedDeployment(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	other := sim.StartDeployment(tdOther)
	f.aws.Handle("StopDeployment", func(map[string]any) (any, *fakeaws.Error) {
		// It finished just before the stop arrived, as time passing would finish it.
		for i := 0; i < 100 && statuses(sim)[0] != "user:Succeeded"; i++ {
			sim.Advance(other)
		}
		return nil, &fakeaws.Error{Status: 400, Type: "DeploymentAlreadyCompletedException", Message: "The deployment " + other + " has already completed."}
	})
	req := simRequest()
	req.ActivePolicy = rollout.StopActive
	res, err := f.ro.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("a stop that met a completed deployment failed the run: %v", err)
	}
	if got := statuses(sim); !reflect.DeepEqual(got, []string{"user:Succeeded", "user:Succeeded"}) {
		t.Errorf("deployments %v", got)
	}
	if td, ext := sim.Serving(); td != tdNew || ext != res.DeploymentID {
		t.Errorf("serving %s by %s, want %s by %s", td, ext, tdNew, res.DeploymentID)
	}
}

func TestAnotherDeployerRacesCreate(t *testing.T) {
	for _, policy := range []string{rollout.WaitForActive, rollout.StopActive} {
		t.Run(policy, func(t *testing.T) {
			f, sim := simFixture(t, tdOld, "d-OLD")
			sim.RaceCreates(tdOther, 1)
			req := simRequest()
			req.ActivePolicy = policy
			if _, err := f.ro.Run(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if n := f.aws.Count("CreateDeployment"); n != 2 {
				t.Errorf("%d CreateDeployment, want the refused one and the retry", n)
			}
			if td, _ := sim.Serving(); td != tdNew {
				t.Errorf("serving %s", td)
			}
			if policy == rollout.StopActive && f.aws.Count("StopDeployment") != 1 {
				t.Errorf("the racing deployment was not stopped: %v", f.aws.Writes())
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		f, sim := simFixture(t, tdOld, "d-OLD")
		sim.RaceCreates(tdOther, 100)
		_, err := f.ro.Run(context.Background(), simRequest())
		if err == nil || !strings.Contains(err.Error(), "DeploymentLimitExceededException") {
			t.Fatalf("error %v", err)
		}
		if n := f.aws.Count("CreateDeployment"); n != 3 {
			t.Errorf("%d CreateDeployment, want 3 attempts", n)
		}
	})
}

// TestRollbackHasItsOwnTime: a deployment that fails near the rollout's deadline
// still has its rollback followed to the end, on the rollback's own clock.
func TestRollbackHasItsOwnTime(t *testing.T) {
	f := newFixture(t)
	f.newRevision("d-LATE")
	start := time.Now()
	var rbStart time.Time
	f.aws.Handle("GetDeployment", byDeployment(map[string]fakeaws.Handler{
		"d-LATE": func(map[string]any) (any, *fakeaws.Error) {
			if time.Since(start) < 60*time.Millisecond {
				return deployment("d-LATE", "InProgress", tdNew, nil), nil
			}
			return deployment("d-LATE", "Failed", tdNew, map[string]any{
				"errorInformation": map[string]any{"code": "HEALTH_CONSTRAINTS", "message": "unhealthy"},
				"rollbackInfo":     map[string]any{"rollbackDeploymentId": "d-RB"},
			}), nil
		},
		"d-RB": func(map[string]any) (any, *fakeaws.Error) {
			if rbStart.IsZero() {
				rbStart = time.Now()
			}
			if time.Since(rbStart) < 100*time.Millisecond { // outlives the rollout's deadline
				return deployment("d-RB", "InProgress", tdOld, nil), nil
			}
			return deployment("d-RB", "Succeeded", tdOld, nil), nil
		},
	}))
	f.progressHandlers(target(nil, 100, 0))
	req := request()
	req.Timeout = 80 * time.Millisecond
	f.ro.RollbackWait = 5 * time.Second
	_, err := f.ro.Run(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "rolled back by d-RB: the previous revision serves again") {
		t.Fatalf("error %v, want the rollback followed to its end", err)
	}
}

func TestReadyAndMissingInfo(t *testing.T) {
	t.Run("Ready waits for a manual reroute", func(t *testing.T) {
		f := newFixture(t)
		f.newRevision("d-R")
		f.aws.Handle("GetDeployment", fakeaws.Sequence(
			deployment("d-R", "Ready", tdNew, nil), deployment("d-R", "Ready", tdNew, nil),
			deployment("d-R", "Succeeded", tdNew, nil)))
		f.progressHandlers(target(nil, 100, 0))
		if _, err := f.ro.Run(context.Background(), request()); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(f.log.all(), func(s string) bool { return strings.Contains(s, "aws deploy continue-deployment --deployment-id d-R") }) {
			t.Errorf("no hint for a Ready deployment: %v", f.log.all())
		}
	})
	t.Run("no deployment info is an error, not a crash", func(t *testing.T) {
		f := newFixture(t)
		f.newRevision("d-N")
		f.aws.Handle("GetDeployment", fakeaws.Static(map[string]any{}))
		req := request()
		req.StopOnTimeout = false
		_, err := f.ro.Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "answered without deployment information") {
			t.Fatalf("error %v", err)
		}
	})
}

// TestClientsActAsTheProvider: with aws:assumeRole(s) the rollout's calls are
// made as the last role of the chain, each role assumed with the one before.
func TestClientsActAsTheProvider(t *testing.T) {
	srv := fakeaws.New()
	t.Cleanup(srv.Close)
	srv.Handle("ListDeployments", noActive())
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDBASE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	first, second := "arn:aws:iam::111111111111:role/ci", "arn:aws:iam::222222222222:role/deploy"
	clients, err := rollout.NewClients(context.Background(), rollout.Identity{
		Region: "ap-northeast-2",
		AssumeRoles: []rollout.AssumeRole{
			{RoleARN: first, SessionName: "ci", ExternalID: "ext-1"},
			{RoleARN: second},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients.CodeDeploy.ListDeployments(context.Background(), &codedeploy.ListDeploymentsInput{ApplicationName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.Op+" as "+r.AccessKey)
	}
	want := []string{
		"AssumeRole as AKIDBASE",
		"AssumeRole as " + fakeaws.AssumedKey(first),
		"ListDeployments as " + fakeaws.AssumedKey(second),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls:\n got  %v\n want %v", got, want)
	}
	if r := srv.Requests()[0].Body; r["RoleArn"] != first || r["ExternalId"] != "ext-1" || r["RoleSessionName"] != "ci" {
		t.Errorf("first AssumeRole %v", r)
	}

	// Static keys from aws:accessKey win over the environment.
	clients, err = rollout.NewClients(context.Background(), rollout.Identity{Region: "ap-northeast-2", AccessKey: "AKIDCONFIG", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients.CodeDeploy.ListDeployments(context.Background(), &codedeploy.ListDeploymentsInput{}); err != nil {
		t.Fatal(err)
	}
	if k := srv.Requests()[len(srv.Requests())-1].AccessKey; k != "AKIDCONFIG" {
		t.Errorf("signed as %s, want the configured access key", k)
	}
}

// TestLoadGate: the gate runs once all traffic is on the new tasks, while the old
// ones wait; when it fails, the deployment is stopped with rollback, the rollback
// is followed, and the run fails with the gate's report.
func TestLoadGate(t *testing.T) {
	t.Run("passes", func(t *testing.T) {
		f, sim := simFixture(t, tdOld, "d-OLD")
		var sawNew bool
		req := simRequest()
		req.Gate = func(context.Context) (bool, string, error) {
			td, _ := sim.Serving()
			sawNew = td == tdNew // traffic is on the new revision when the gate runs
			return true, "p99 80ms, success 100%", nil
		}
		res, err := f.ro.Run(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !sawNew || !res.Deployed {
			t.Errorf("gate saw the new tasks serving: %v; result %+v", sawNew, res)
		}
		if got := statuses(sim); !reflect.DeepEqual(got, []string{"user:Succeeded"}) {
			t.Errorf("deployments %v", got)
		}
	})
	t.Run("fails: stop with rollback, follow it, report", func(t *testing.T) {
		f, sim := simFixture(t, tdOld, "d-OLD")
		calls := 0
		req := simRequest()
		req.Gate = func(context.Context) (bool, string, error) {
			calls++
			return false, "p99 2.4s above 1s", nil
		}
		_, err := f.ro.Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "load gate failed") || !strings.Contains(err.Error(), "p99 2.4s above 1s") ||
			!strings.Contains(err.Error(), "the previous revision serves again") {
			t.Fatalf("error %v", err)
		}
		if calls != 1 {
			t.Errorf("gate ran %d times", calls)
		}
		stop := f.aws.Last("StopDeployment")
		if stop["autoRollbackEnabled"] != true {
			t.Errorf("StopDeployment %v, want with rollback", stop)
		}
		if got := statuses(sim); !reflect.DeepEqual(got, []string{"user:Stopped", "codeDeployRollback:Succeeded"}) {
			t.Errorf("deployments %v", got)
		}
		if td, _ := sim.Serving(); td != tdOld {
			t.Errorf("serving %s after the gate's rollback, want %s", td, tdOld)
		}
		// The original tasks ran on through the termination wait; the
		// replacement's are gone.
		if old, repl := sim.RunningOf(tdOld), sim.RunningOf(tdNew); old != sim.Desired() || repl != 0 {
			t.Errorf("running after the rollback: %d of %s, %d of %s", old, tdOld, repl, tdNew)
		}
	})
}

// TestStateStaysWithinStandardTier: rollback after rollback with no successful
// deployment between them, as a production stack names things (task definition
// ARNs, ECR images by digest, an SSO assumed role), each read and written as the
// day-N command does. Every write fits SSM's Standard tier (the sim refuses a
// value over 4,096 characters, as AWS does). The first record — the rollback of
// what the stack last deployed, which its code still declares — and the newest
// ones keep refusing; with names long enough to need it, what is dropped is said
// and the first record still stays.
func TestStateStaysWithinStandardTier(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	ctx := context.Background()
	big := strings.Repeat("x", 4097)
	_, err := f.ro.State.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/big"), Value: &big, Type: ssmtypes.ParameterTypeString})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") || !strings.Contains(err.Error(), "maximum parameter value of 4096 characters") {
		t.Fatalf("the sim took a 4,097-character Standard parameter: %v", err)
	}
	img := func(n int) string {
		return fmt.Sprintf("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/ecs-bluegreen-production-app-a1b2c3d@sha256:%064x", n)
	}
	by := "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice.oncall@example.com"
	for _, c := range []struct {
		name, family string
		drops        bool
	}{
		{"production names", "ecs-bluegreen-production-web", false},
		// ECS allows families of 255 characters; this one makes the bound drop.
		{"a long family", "ecs-bluegreen-production-" + strings.Repeat("w", 120), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			param := stateParam + "-" + strings.ReplaceAll(c.name, " ", "-")
			log := len(f.log.all())
			td := func(n int) string {
				return fmt.Sprintf("arn:aws:ecs:ap-northeast-2:123456789012:task-definition/%s:%d", c.family, n)
			}
			judged := rollout.State{Judged: &rollout.Judgement{TaskSet: "arn:aws:ecs:ap-northeast-2:123456789012:task-set/ecs-bluegreen-production/ecs-bluegreen-production-web/ecs-svc/1234567890123456789", TaskDefinition: td(1), At: time.Now()}}
			if err := rollout.WriteState(ctx, f.ro.State, param, judged, f.log); err != nil {
				t.Fatal(err)
			}
			// A chain: the code declares web:99; each rollback goes one further back.
			const rollbacks = 14
			for i := 1; i <= rollbacks; i++ {
				s, err := rollout.ReadState(ctx, f.ro.State, param)
				if err != nil {
					t.Fatal(err)
				}
				s.Record(rollout.RollbackRecord{From: td(100 - i), Image: img(100 - i), To: td(99 - i), Deployment: "d-ABCDEFGHI", At: time.Now().UTC(), By: by})
				s.Remove(td(50 - i)) // and a revision a rollback failed to bring back
				if err := rollout.WriteState(ctx, f.ro.State, param, s, f.log); err != nil {
					t.Fatalf("rollback %d: %v", i, err)
				}
			}
			v, _ := sim.Parameter(param)
			s, err := rollout.ReadState(ctx, f.ro.State, param)
			if err != nil || len(v) > 4096 || s.Judged == nil || s.Rollback == nil || s.Rollback.By != by || s.Rollback.To != td(99-rollbacks) {
				t.Fatalf("state (%d characters): %+v, %v", len(v), s, err)
			}
			t.Logf("state: %d characters, %d earlier records, %d removed", len(v), len(s.Earlier), len(s.Removed))
			// Not the account's default tier, which may be Advanced (billed).
			if tier := f.aws.Last("PutParameter")["Tier"]; tier != "Intelligent-Tiering" {
				t.Errorf("PutParameter Tier %v, want Intelligent-Tiering", tier)
			}
			refused := []int{1} // the declared revision's rollback
			for i := rollbacks; i > rollbacks-6; i-- {
				refused = append(refused, i)
			}
			for _, i := range refused {
				if _, blocked := s.Blocks(td(100-i), ""); !blocked {
					t.Errorf("%s (rollback %d) is no longer refused", td(100-i), i)
				}
				if _, blocked := s.Blocks(td(200+i), img(100-i)); !blocked {
					t.Errorf("the build of rollback %d is no longer refused", i)
				}
			}
			// Production names lose no record (at most a remembered revision); the
			// long family loses records, and says so.
			said := slices.ContainsFunc(f.log.all()[log:], func(l string) bool {
				return strings.Contains(l, "would outgrow SSM's 4096-character limit") && strings.Contains(l, "the record of ")
			})
			if said != c.drops {
				t.Errorf("a record's drop said: %v, want %v (%v)", said, c.drops, f.log.all()[log:])
			}
		})
	}
}

// TestRecordsThatRefuseTheDeclaredStay: web:14 (deployed by up) rolled back to
// web:13; web:15, a fix, failed and was recorded; then a chain of rollbacks went
// further back, each taking out what the one before put back. Past the ten
// records kept, the chain's steps go, never web:14's or web:15's record: either
// may be what the code declares, and a CI push would deploy it again.
func TestRecordsThatRefuseTheDeclaredStay(t *testing.T) {
	f, _ := simFixture(t, tdOld, "d-OLD")
	ctx := context.Background()
	td := func(n int) string {
		return fmt.Sprintf("arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-bluegreen-production-web:%d", n)
	}
	img := func(n int) string {
		return fmt.Sprintf("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/ecs-bluegreen-production-app@sha256:%064x", n)
	}
	var s rollout.State
	record := func(from, to int) {
		s.Record(rollout.RollbackRecord{From: td(from), Image: img(from), To: td(to), Deployment: "d-X", At: time.Now().UTC(), By: "alice"})
		if err := rollout.WriteState(ctx, f.ro.State, stateParam, s, f.log); err != nil {
			t.Fatal(err)
		}
		var err error
		if s, err = rollout.ReadState(ctx, f.ro.State, stateParam); err != nil {
			t.Fatal(err)
		}
	}
	record(14, 13)
	record(15, 13) // the failed fix, CodeDeploy had put web:13 back
	for n := 13; n > 1; n-- {
		record(n, n-1)
	}
	for _, n := range []int{14, 15, 2} {
		if _, blocked := s.Blocks(td(n), ""); !blocked {
			t.Errorf("web:%d is no longer refused: %+v", n, s)
		}
	}
	if len(s.Earlier) != 10 {
		t.Errorf("%d earlier records kept, want 10", len(s.Earlier))
	}
}

// TestShortImage: a reference by digest, an earlier record's bare digest and a
// tag all print short and recognisable.
func TestShortImage(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for in, want := range map[string]string{
		"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/app@" + d: "sha256:abababababab",
		d:                "sha256:abababababab",
		"repo/app:1.2.3": "repo/app:1.2.3",
	} {
		if got := rollout.ShortImage(in); got != want {
			t.Errorf("ShortImage(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestStateOfAnAdvancedParameter: a state parameter an account's default tier
// made Advanced cannot be written as Standard again; the rollout writes it as
// Advanced and says what that costs.
func TestStateOfAnAdvancedParameter(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	sim.AdvancedParameter(stateParam, "{}")
	s := rollout.State{Removed: []string{tdOther}}
	if err := rollout.WriteState(context.Background(), f.ro.State, stateParam, s, f.log); err != nil {
		t.Fatalf("writing an advanced parameter: %v", err)
	}
	if got, _ := rollout.ReadState(context.Background(), f.ro.State, stateParam); !got.RolledBack(tdOther) {
		t.Errorf("state %+v", got)
	}
	if !slices.ContainsFunc(f.log.all(), func(l string) bool { return strings.Contains(l, "is an advanced-tier parameter (billed monthly)") }) {
		t.Errorf("nothing says the parameter is Advanced: %v", f.log.all())
	}
}
