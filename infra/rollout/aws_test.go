package rollout_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

// These tests pin what AWS does where a fake would naturally answer otherwise
// (DESIGN.md pitfalls 21-28): each failed against the rollout before it learnt
// to cope.

func creates(f *fixture) int { return f.aws.Count("CreateDeployment") }

// TestInterruptedUpIsFollowedNotRepeated: an `up` interrupted while its deployment
// runs (Ctrl-C, a CI job that timed out) leaves it to CodeDeploy; the next `up`
// finds it by its revision (GetApplicationRevision: GetDeployment carries no
// AppSpec) and follows it to its end, never deploying the same revision again.
func TestInterruptedUpIsFollowedNotRepeated(t *testing.T) {
	for _, policy := range []string{rollout.WaitForActive, rollout.StopActive} {
		t.Run(policy, func(t *testing.T) {
			f, sim := simFixture(t, tdOld, "d-OLD")
			sim.Steps = 4
			ctx, cancel := context.WithCancel(context.Background())
			var polls atomic.Int32
			f.aws.Handle("GetDeploymentTarget", func(map[string]any) (any, *fakeaws.Error) {
				if polls.Add(1) == 1 {
					cancel() // interrupted during the first poll
				}
				return map[string]any{}, nil
			})
			_, err := f.ro.Run(ctx, simRequest())
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "continues in CodeDeploy") {
				t.Fatalf("interrupted up: %v", err)
			}
			NewSimTargets(f, sim)
			req := simRequest()
			req.ActivePolicy = policy
			res, err := f.ro.Run(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if n := creates(f); n != 1 {
				t.Errorf("%d CreateDeployment: the interrupted up's deployment was repeated", n)
			}
			if f.aws.Count("StopDeployment") != 0 {
				t.Errorf("the policy %q stopped our own revision: %v", policy, f.aws.Writes())
			}
			if td, by := sim.Serving(); td != tdNew || by != res.DeploymentID || !res.Deployed {
				t.Errorf("serving %s by %s, result %+v", td, by, res)
			}
		})
	}
	t.Run("finished in between: nothing to do", func(t *testing.T) {
		f, sim := simFixture(t, tdOld, "d-OLD")
		id := sim.StartDeployment(tdNew) // what the interrupted up created
		for range 10 {                   // it runs to its end meanwhile
			sim.Advance(id)
		}
		res, err := f.ro.Run(context.Background(), simRequest())
		if err != nil || creates(f) != 0 || res.DeploymentID != id {
			t.Errorf("result %+v, err %v, creates %d", res, err, creates(f))
		}
	})
}

// NewSimTargets puts the sim's deployment target handler back after a test replaced it.
func NewSimTargets(f *fixture, sim *fakeaws.Sim) {
	f.aws.Handle("GetDeploymentTarget", sim.TargetHandler())
}

// TestLateRollbackIsFollowed: CodeDeploy may name a failed deployment's rollback a
// poll after the status turned Failed; the run waits for it and reports how the
// rollback ended, so the next `up` does not meet it still under way.
func TestLateRollbackIsFollowed(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	sim.Crashes(tdNew, fakeaws.Crash{Reason: "Essential container in task exited", ExitCode: 1})
	_, err := f.ro.Run(context.Background(), simRequest())
	if err == nil || !strings.Contains(err.Error(), "rolled back by d-") || strings.Contains(err.Error(), "no rollback deployment was started") {
		t.Fatalf("error %v", err)
	}
	if got := statuses(sim); !reflect.DeepEqual(got, []string{"user:Failed", "codeDeployRollback:Succeeded"}) {
		t.Errorf("deployments %v: the rollback was not followed to its end", got)
	}
}

// TestBakingIsActive: Baking is in CodeDeploy's status enum; a deployment in it
// blocks a new one, so the rollout waits for it instead of racing it.
func TestBakingIsActive(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	other := sim.StartDeployment(tdOther)
	sim.SetStatus(other, "Baking")
	if _, err := f.ro.Run(context.Background(), simRequest()); err != nil {
		t.Fatal(err)
	}
	if n := creates(f); n != 1 {
		t.Errorf("%d CreateDeployment: the rollout raced the Baking deployment", n)
	}
	if body := f.aws.Last("ListDeployments"); !slices.Contains(body["includeOnlyStatuses"].([]any), any("Baking")) {
		t.Errorf("ListDeployments %v leaves Baking out", body)
	}
}

// TestGateAndTheTerminationWait: the gate runs when the deployment target turns
// Succeeded (the deployment's own flag never does), and a gate that cannot run or
// comes too late fails the run instead of passing silently.
func TestGateAndTheTerminationWait(t *testing.T) {
	t.Run("a gate that never ran fails the run", func(t *testing.T) {
		f := newFixture(t)
		f.newRevision("d-G")
		f.aws.Handle("GetDeployment", fakeaws.Sequence(
			deployment("d-G", "InProgress", tdNew, nil), deployment("d-G", "Succeeded", tdNew, nil)))
		f.aws.Handle("ListDeploymentTargets", fakeaws.Static(&fakeaws.Error{Status: 400, Type: "ThrottlingException", Message: "slow down"}))
		req := request()
		ran := false
		req.Gate = func(context.Context) (bool, string, error) { ran = true; return true, "", nil }
		_, err := f.ro.Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "succeeded before the load gate could run") || ran {
			t.Fatalf("error %v (gate ran: %v)", err, ran)
		}
	})
	t.Run("a stop after the wait ended says the failed revision serves", func(t *testing.T) {
		f, sim := simFixture(t, tdOld, "d-OLD")
		req := simRequest()
		req.Gate = func(context.Context) (bool, string, error) {
			for _, d := range sim.Deployments() {
				sim.SetStatus(d.ID, "Succeeded") // the termination wait ends while the gate loads
			}
			return false, "success 80% below 99%", nil
		}
		_, err := f.ro.Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "the failed revision web:2 serves") || !strings.Contains(err.Error(), "success 80% below 99%") {
			t.Fatalf("error %v", err)
		}
		if f.aws.Count("StopDeployment") != 1 {
			t.Errorf("writes %v", f.aws.Writes())
		}
	})
}

// TestTimeouts: a rollout that runs out of time during the termination wait does
// not stop a deployment whose traffic is already all on the new tasks; and a stop
// that meets a deployment completed meanwhile reads its status again.
func TestTimeouts(t *testing.T) {
	t.Run("in the termination wait: not stopped", func(t *testing.T) {
		f, sim := simFixture(t, tdOld, "d-OLD")
		sim.WaitLooks = 1 << 30
		req := simRequest()
		req.Timeout = 100 * time.Millisecond
		res, err := f.ro.Run(context.Background(), req)
		if err != nil || !res.Deployed {
			t.Fatalf("result %+v, err %v", res, err)
		}
		if f.aws.Count("StopDeployment") != 0 {
			t.Errorf("a deployment in its termination wait was stopped: %v", f.aws.Writes())
		}
		if td, _ := sim.Serving(); td != tdNew {
			t.Errorf("serving %s", td)
		}
	})
	t.Run("the wait begins between the last poll and the deadline", func(t *testing.T) {
		// Every poll before the deadline sees traffic still moving; the look after
		// it sees the target Succeeded (the termination wait began): not stopped.
		f := newFixture(t)
		f.newRevision("d-W")
		f.aws.Handle("GetDeployment", fakeaws.Static(deployment("d-W", "InProgress", tdNew, nil)))
		req := request()
		req.Timeout = 60 * time.Millisecond
		began := time.Now()
		moving := target(map[string]string{"AllowTraffic": "InProgress"}, 50, 50)
		shifted := target(nil, 0, 100)
		shifted["deploymentTarget"].(map[string]any)["ecsTarget"].(map[string]any)["status"] = "Succeeded"
		f.aws.Handle("ListDeploymentTargets", fakeaws.Static(map[string]any{"targetIds": []string{"web-cluster:web-svc"}}))
		f.aws.Handle("GetDeploymentTarget", func(map[string]any) (any, *fakeaws.Error) {
			if time.Since(began) < req.Timeout {
				return moving, nil
			}
			return shifted, nil
		})
		res, err := f.ro.Run(context.Background(), req)
		if err != nil || !res.Deployed {
			t.Fatalf("result %+v, err %v", res, err)
		}
		if f.aws.Count("StopDeployment") != 0 {
			t.Errorf("a deployment whose termination wait began at the deadline was stopped: %v", f.aws.Writes())
		}
	})
	t.Run("completed before the stop", func(t *testing.T) {
		f := newFixture(t)
		f.newRevision("d-C")
		var stopped atomic.Bool
		f.aws.Handle("StopDeployment", func(map[string]any) (any, *fakeaws.Error) {
			stopped.Store(true)
			return nil, &fakeaws.Error{Status: 400, Type: "DeploymentAlreadyCompletedException", Message: "Deployment d-C has already completed"}
		})
		f.aws.Handle("GetDeployment", func(map[string]any) (any, *fakeaws.Error) {
			if stopped.Load() {
				return deployment("d-C", "Succeeded", tdNew, nil), nil
			}
			return deployment("d-C", "InProgress", tdNew, nil), nil
		})
		f.progressHandlers(target(nil, 100, 0))
		req := request()
		req.Timeout = 40 * time.Millisecond
		res, err := f.ro.Run(context.Background(), req)
		if err != nil || !res.Deployed {
			t.Fatalf("result %+v, err %v: a deployment that succeeded failed the run", res, err)
		}
	})
}

// TestFirstRevisionJudgedAgain: a first `up` judged again (after a failed one)
// counts only tasks that stopped since it began, for reasons that mean the
// revision is broken: ListTasks(STOPPED) keeps earlier attempts, Spot
// interruptions and scale-in for about an hour.
func TestFirstRevisionJudgedAgain(t *testing.T) {
	f, sim := simFixture(t, tdNew, "")
	sim.Steps = 4 // the task set is STABILIZING for a few looks: stopped tasks are read
	for range 3 {
		sim.StoppedEarlier(tdNew, "EssentialContainerExited", "Essential container in task exited", 1, 20*time.Minute)
	}
	sim.StoppedEarlier(tdNew, "SpotInterruption", "Your Spot Task was interrupted.", 0, 0)
	// And while it is judged: stops that say nothing of the revision, three of them
	// (the crash-loop threshold for two tasks).
	sim.StopsWhileStarting(tdNew, "SpotInterruption", "Your Spot Task was interrupted.", 3)
	sim.StopsWhileStarting(tdNew, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment ecs-svc/1)", 3)
	sim.StopsWhileStarting(tdNew, "TerminationNotice", "Task stopped due to a termination notice", 3)
	if _, err := f.ro.Run(context.Background(), simRequest()); err != nil {
		t.Fatalf("a healthy revision judged again: %v", err)
	}
	if f.aws.Count("ListTasks") == 0 {
		t.Error("the judgement never read the stopped tasks")
	}
}

// TestTaskSetsAreNotTagged: ECS cannot tag task sets; the judgement lives in the
// rollout's state parameter, and a failure to record it is a warning.
func TestTaskSetsAreNotTagged(t *testing.T) {
	f, _ := simFixture(t, tdNew, "")
	f.aws.Handle("PutParameter", fakeaws.Static(&fakeaws.Error{Status: 400, Type: "AccessDeniedException", Message: "not authorized to perform: ssm:PutParameter"}))
	res, err := f.ro.Run(context.Background(), simRequest())
	if err != nil {
		t.Fatalf("a healthy first revision failed because its verdict could not be recorded: %v", err)
	}
	if f.aws.Count("TagResource") != 0 || !slices.ContainsFunc(f.log.all(), func(s string) bool { return strings.HasPrefix(s, "warning: failed to write the rollout's state") }) {
		t.Errorf("result %+v, logs %v", res, f.log.all())
	}
}

// TestRolledBackRevisionIsRefused: after a rollback made by hand, an `up` that
// declares the rolled-back revision is refused (preview says so too); a new
// revision is deployed and clears the record.
func TestRolledBackRevisionIsRefused(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	st := rollout.State{Rollback: &rollout.RollbackRecord{From: tdNew, To: tdOld, Deployment: "d-OLD", At: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), By: "alice"}}
	if err := rollout.WriteState(context.Background(), f.ro.State, stateParam, st, nil); err != nil {
		t.Fatal(err)
	}
	req := simRequest()
	req.ClearCommand = "go run ./cmd/ops unblock -stack dev"
	res, err := f.ro.Run(context.Background(), req)
	if res.DeploymentID != "" { // nothing was deployed: the day-N rollback reads an id as "deployed"
		t.Errorf("a refusal names deployment %s", res.DeploymentID)
	}
	var blocked *rollout.BlockedError
	if !errors.As(err, &blocked) || !strings.Contains(err.Error(), "revision web:2 of service web-svc was rolled back at 2026-11-30T09:00:00Z (to web:1 by deployment d-OLD) by alice") ||
		!strings.Contains(err.Error(), "go run ./cmd/ops unblock -stack dev") {
		t.Fatalf("error %v", err)
	}
	if creates(f) != 0 {
		t.Errorf("the rolled-back revision was deployed: %v", f.aws.Writes())
	}
	if _, known, err := f.ro.Preview(context.Background(), req); !errors.As(err, &blocked) || known {
		t.Errorf("preview: known %v, err %v", known, err)
	}
	req.TaskDefinition = tdOther
	if _, err := f.ro.Run(context.Background(), req); err != nil {
		t.Fatalf("a new revision: %v", err)
	}
	if v, _ := sim.Parameter(stateParam); strings.Contains(v, "rollback") {
		t.Errorf("state %s still holds the rollback after a new revision went out", v)
	}
}

// TestPreviewReadsOnly: a preview reads what serves, writes nothing, and knows the
// outputs exactly when nothing would be deployed.
func TestPreviewReadsOnly(t *testing.T) {
	f, _ := simFixture(t, tdNew, "d-NEW")
	res, known, err := f.ro.Preview(context.Background(), simRequest())
	if err != nil || !known || res.Summary != "web:2 serves, deployed by d-NEW" || res.DeploymentID != "d-NEW" {
		t.Errorf("unchanged: %+v known %v err %v", res, known, err)
	}
	req := simRequest()
	req.TaskDefinition = tdOther
	if _, known, err := f.ro.Preview(context.Background(), req); err != nil || known {
		t.Errorf("a change: known %v err %v, want unknown", known, err)
	}
	if w := f.aws.Writes(); len(w) != 0 {
		t.Errorf("preview wrote %v", w)
	}
}

// TestFirstRevisionMigratesBeforeItsTasks: a service created with no tasks (as
// the program creates it when a migration is configured) gets its tasks only once
// the migration exited 0, so no task of the revision serves an unmigrated schema.
func TestFirstRevisionMigratesBeforeItsTasks(t *testing.T) {
	f := newFixture(t)
	sim := fakeaws.NewSim(f.aws)
	sim.EnsureService(fakeaws.ServiceSpec{
		Name: "web-svc", Cluster: "web-cluster", TaskDefinition: tdNew, Subnets: subnets, SecurityGroups: groups,
		AssignPublicIP: true, TargetGroup: tgBlue, ContainerName: "nginx", ContainerPort: 80, DesiredCount: 0,
	})
	req := simRequest()
	req.MigrationCommand, req.MigrationContainer = []string{"python", "manage.py", "migrate"}, "app"
	if _, err := f.ro.Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range sim.Timeline() {
		order = append(order, e.What)
	}
	migrated := slices.Index(order, "migration task exited 0")
	started := slices.Index(order, "tasks of "+tdNew+" started")
	if migrated < 0 || started < migrated {
		t.Errorf("timeline %q: the revision's tasks started before its migration finished", order)
	}
	if sim.Desired() != 2 {
		t.Errorf("desired count %d, want the configured 2", sim.Desired())
	}
	if w := f.aws.Writes(); !reflect.DeepEqual(w, []string{"RunTask", "UpdateService", "PutParameter"}) {
		t.Errorf("writes %v", w)
	}
}

// TestCodeDeployPassesTheTaskRoles: CodeDeploy creates the replacement task set as
// the group's service role, which must be allowed to pass the task definition's
// roles; denied, the deployment fails with AWS's message.
func TestCodeDeployPassesTheTaskRoles(t *testing.T) {
	exec, task := "arn:aws:iam::123456789012:role/web-exec-1", "arn:aws:iam::123456789012:role/web-task-1"
	for _, allowed := range []bool{true, false} {
		f, sim := simFixture(t, tdOld, "d-OLD")
		sim.RegisterTaskDefinition(tdNew, fakeaws.TaskDef{ExecutionRole: exec, TaskRole: task})
		sim.SetServiceRole("arn:aws:iam::123456789012:role/web-codedeploy-1")
		var asked []string
		sim.Authorize = func(principal, action, resource string, c map[string][]string) string {
			asked = append(asked, principal+" "+action+" "+resource+" "+strings.Join(c["iam:PassedToService"], ","))
			if allowed {
				return ""
			}
			return "no identity-based policy allows the iam:PassRole action"
		}
		_, err := f.ro.Run(context.Background(), simRequest())
		want := []string{
			"arn:aws:iam::123456789012:role/web-codedeploy-1 iam:PassRole " + exec + " ecs-tasks.amazonaws.com",
			"arn:aws:iam::123456789012:role/web-codedeploy-1 iam:PassRole " + task + " ecs-tasks.amazonaws.com",
		}
		if !allowed {
			want = want[:1]
		}
		if !reflect.DeepEqual(asked, want) {
			t.Errorf("asked %q, want %q", asked, want)
		}
		switch {
		case allowed && err != nil:
			t.Errorf("allowed: %v", err)
		case !allowed && (err == nil || !strings.Contains(err.Error(), "ECS_UPDATE_ERROR") || !strings.Contains(err.Error(), "is not authorized to perform: iam:PassRole on resource: "+exec)):
			t.Errorf("denied: error %v", err)
		}
	}
}

// TestInterruptible: Ctrl-C (SIGINT) cancels the rollout's context instead of
// killing the process, so the run can say where its deployment is.
func TestInterruptible(t *testing.T) {
	ctx, stop := rollout.Interruptible(context.Background())
	defer stop()
	f := newFixture(t)
	f.newRevision("d-I")
	var polls atomic.Int32
	f.aws.Handle("GetDeployment", func(map[string]any) (any, *fakeaws.Error) {
		if polls.Add(1) == 2 {
			if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
				t.Error(err)
			}
		}
		return deployment("d-I", "InProgress", tdNew, nil), nil
	})
	f.progressHandlers(target(nil, 100, 0))
	_, err := f.ro.Run(ctx, request())
	if err == nil || !strings.Contains(err.Error(), "rollout interrupted; deployment d-I continues in CodeDeploy") || !strings.Contains(err.Error(), "aws deploy get-deployment --deployment-id d-I") {
		t.Fatalf("error %v", err)
	}
}

// TestGateHasItsOwnClock: the load gate runs on its own clock, not on what is
// left of the rollout's: a rollout whose deadline passes during the load lets the
// load finish and judges all of it.
func TestGateHasItsOwnClock(t *testing.T) {
	f, sim := simFixture(t, tdOld, "d-OLD")
	sim.WaitLooks = 1 << 30
	req := simRequest()
	req.Timeout = 60 * time.Millisecond
	req.GateTimeout = time.Second
	var ran time.Duration
	req.Gate = func(ctx context.Context) (bool, string, error) {
		start := time.Now()
		select { // a load of 200ms, longer than the rollout has left
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
		ran = time.Since(start)
		return ctx.Err() == nil, "all requests", ctx.Err()
	}
	res, err := f.ro.Run(context.Background(), req)
	if ran < 200*time.Millisecond || err != nil || !res.Deployed {
		t.Fatalf("gate ran %s, result %+v, err %v: the rollout's deadline cut the load short", ran, res, err)
	}
	if f.aws.Count("StopDeployment") != 0 {
		t.Errorf("a passed gate stopped the deployment: %v", f.aws.Writes())
	}
}
