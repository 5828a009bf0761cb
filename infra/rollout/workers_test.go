package rollout_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

const (
	workerOld = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web-worker:1"
	workerNew = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web-worker:2"
)

func dep(id, status, td string, state ecstypes.DeploymentRolloutState, running, desired int32) ecstypes.Deployment {
	return ecstypes.Deployment{Id: aws.String(id), Status: aws.String(status), TaskDefinition: aws.String(td), RolloutState: state, RunningCount: running, DesiredCount: desired}
}

// at gives a deployment its createdAt and rolloutStateReason.
func at(d ecstypes.Deployment, created time.Time, reason string) ecstypes.Deployment {
	d.CreatedAt, d.RolloutStateReason = aws.Time(created), aws.String(reason)
	return d
}

// on gives a deployment its capacity provider strategy.
func on(d ecstypes.Deployment, provider string) ecstypes.Deployment {
	d.CapacityProviderStrategy = []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String(provider), Weight: 1}}
	return d
}

// TestEvaluateWorker: the rules over DescribeServices' deployments, apart from the polling.
func TestEvaluateWorker(t *testing.T) {
	const (
		inProgress = ecstypes.DeploymentRolloutStateInProgress
		completed  = ecstypes.DeploymentRolloutStateCompleted
		failed     = ecstypes.DeploymentRolloutStateFailed
	)
	// A run that began at since: ECS's createdAt of what Pulumi's UpdateService
	// started is later, and so is a rollback's (a new deployment). Rows that
	// keep the old id for the rollback show the verdict does not rely on it.
	since := time.Date(2026, 5, 1, 10, 0, 0, 400e6, time.UTC)
	before, after, later := since.Add(-time.Hour), since.Add(2*time.Second), since.Add(5*time.Minute)
	const rollingBack = "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1."
	type target = rollout.WorkerTarget
	fargate := rollout.WorkerConfig{CapacityProviders: []rollout.CapacityProvider{{Name: "FARGATE", Weight: 1}}}
	spot := rollout.WorkerConfig{CapacityProviders: []rollout.CapacityProvider{{Name: "FARGATE_SPOT", Weight: 1}}}
	cases := []struct {
		name   string
		deps   []ecstypes.Deployment
		want   rollout.WorkerState
		target target // TaskDefinition workerNew unless set
	}{
		{"new deployment rolling, old one still running", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, inProgress, 0, 2), dep("ecs-svc/1", "ACTIVE", workerOld, completed, 2, 2)}, rollout.WorkerRolling, target{}},
		{"completed", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, completed, 2, 2)}, rollout.WorkerDone, target{}},
		{"completed while the old tasks drain", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, completed, 2, 2), dep("ecs-svc/1", "ACTIVE", workerOld, completed, 1, 2)}, rollout.WorkerDone, target{}},
		// The breaker rolls back to the last COMPLETED deployment, which turns
		// IN_PROGRESS and primary again (developer guide).
		{"failed, rollback under way", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, inProgress, 1, 2), dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2)}, rollout.WorkerRollingBack, target{}},
		{"failed, rolled back", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, completed, 2, 2), dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2)}, rollout.WorkerRolledBack, target{}},
		{"failed, nothing to roll back to: stalled", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, failed, 0, 2)}, rollout.WorkerFailed, target{}},
		{"rolled back earlier: the failed deployment is gone", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, completed, 2, 2)}, rollout.WorkerRolledBack, target{}},
		{"another revision rolling back", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, inProgress, 0, 2)}, rollout.WorkerRollingBack, target{}},
		{"without the circuit breaker: steady", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, "", 2, 2)}, rollout.WorkerDone, target{}},
		{"without the circuit breaker: still replacing", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, "", 1, 2), dep("ecs-svc/1", "ACTIVE", workerOld, "", 1, 2)}, rollout.WorkerRolling, target{}},
		{"an INACTIVE deployment of the revision does not count", []ecstypes.Deployment{dep("ecs-svc/3", "PRIMARY", workerOld, inProgress, 0, 2), dep("ecs-svc/2", "INACTIVE", workerNew, completed, 0, 2)}, rollout.WorkerRollingBack, target{}},
		// ECS may also roll back under a fresh deployment id (aws/copilot-cli#4838).
		{"failed, rollback under a fresh id", []ecstypes.Deployment{at(dep("ecs-svc/3", "PRIMARY", workerOld, inProgress, 0, 2), later, rollingBack), at(dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2), after, "ECS deployment circuit breaker: tasks failed to start.")}, rollout.WorkerRollingBack, target{Since: since}},
		// A forced deployment of the same revision (new subnets, Spot, public IP)
		// that the breaker rolled back: the rollback is of the same revision too
		// (review 16b, finding 1).
		{"same revision: rolled back, by reason", []ecstypes.Deployment{at(dep("ecs-svc/1", "PRIMARY", workerNew, completed, 2, 2), before, rollingBack), dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2)}, rollout.WorkerRolledBack, target{}},
		{"same revision: rolling back, by createdAt", []ecstypes.Deployment{at(dep("ecs-svc/1", "PRIMARY", workerNew, inProgress, 2, 2), later, "ECS deployment ecs-svc/1 in progress."), at(dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2), after, "")}, rollout.WorkerRollingBack, target{Since: since}},
		{"same revision: rolled back, by the deployment id seen", []ecstypes.Deployment{at(dep("ecs-svc/3", "PRIMARY", workerNew, completed, 2, 2), later, "ECS deployment ecs-svc/3 completed."), at(dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2), after, "")}, rollout.WorkerRolledBack, target{Since: since, Deployment: "ecs-svc/2"}},
		{"same revision: ours gone, the rollback completed", []ecstypes.Deployment{at(dep("ecs-svc/1", "PRIMARY", workerNew, completed, 2, 2), later, "ECS deployment ecs-svc/1 completed.")}, rollout.WorkerRolledBack, target{Since: since, Deployment: "ecs-svc/2"}},
		{"same revision: this run's deployment rolls, the old one runs", []ecstypes.Deployment{at(dep("ecs-svc/2", "PRIMARY", workerNew, inProgress, 0, 2), after, ""), at(dep("ecs-svc/1", "ACTIVE", workerNew, completed, 2, 2), before, "")}, rollout.WorkerRolling, target{Since: since}},
		{"same revision: completed", []ecstypes.Deployment{at(dep("ecs-svc/2", "PRIMARY", workerNew, completed, 2, 2), after, ""), at(dep("ecs-svc/1", "ACTIVE", workerNew, completed, 1, 2), before, "")}, rollout.WorkerDone, target{Since: since}},
		// createdAt to the millisecond, the run's start truncated to the second.
		{"same revision: created in the run's first second", []ecstypes.Deployment{at(dep("ecs-svc/2", "PRIMARY", workerNew, completed, 2, 2), since.Truncate(time.Second), ""), at(dep("ecs-svc/1", "ACTIVE", workerNew, failed, 0, 2), before, "")}, rollout.WorkerDone, target{Since: since}},
		{"unchanged: nothing started this run", []ecstypes.Deployment{on(at(dep("ecs-svc/1", "PRIMARY", workerNew, completed, 2, 2), before, ""), "FARGATE")}, rollout.WorkerDone, target{Since: since, WorkerConfig: fargate}},
		// The same revision on another configuration is not the declared release:
		// a same-revision change rolled back before this run (review 16c, finding 1).
		{"nothing started this run, the declared configuration does not run", []ecstypes.Deployment{on(at(dep("ecs-svc/1", "PRIMARY", workerNew, completed, 2, 2), before, ""), "FARGATE")}, rollout.WorkerRolledBack, target{Since: since, WorkerConfig: spot}},
		// The rollback failed too (review 16b, finding 6).
		{"failed, and the rollback failed", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, failed, 0, 2), dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2)}, rollout.WorkerRollbackFailed, target{}},
		{"same revision: ours gone, the rollback failed", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerNew, failed, 0, 2)}, rollout.WorkerRollbackFailed, target{Since: since, Deployment: "ecs-svc/2"}},
	}
	for _, c := range cases {
		c.target.TaskDefinition = workerNew
		if got := rollout.EvaluateWorker(c.deps, c.target).State; got != c.want {
			t.Errorf("%s: state %d, want %d", c.name, got, c.want)
		}
	}
}

// workerSim is a sim with one rolling worker service on workerOld, completed.
func workerSim(t *testing.T, desired int) (*fixture, *fakeaws.Sim, rollout.WorkerRelease) {
	t.Helper()
	return workerSimWith(t, fakeaws.RollingSpec{DesiredCount: desired}, func(s *fakeaws.RollingSpec) { s.TaskDefinition = workerNew })
}

// workerSimWith is a sim with one rolling worker service as spec declares it
// (name, cluster, breaker and first revision filled in) on workerOld,
// completed, then updated as change says; the release is the update's, from
// just before it (this run's start).
func workerSimWith(t *testing.T, spec fakeaws.RollingSpec, change func(*fakeaws.RollingSpec)) (*fixture, *fakeaws.Sim, rollout.WorkerRelease) {
	t.Helper()
	f := newFixture(t)
	sim := fakeaws.NewSim(f.aws)
	for _, td := range []string{workerOld, workerNew} {
		sim.RegisterTaskDefinition(td, fakeaws.TaskDef{Containers: []fakeaws.Container{{Name: "app", LogGroup: "web-logs", StreamPrefix: "worker"}}})
	}
	spec.Name, spec.Cluster, spec.TaskDefinition, spec.CircuitBreaker, spec.Rollback = "web-worker-1a2b3c4", "web-cluster", workerOld, true, true
	sim.PutRollingService(spec)
	w := rollout.WorkerRelease{Worker: "worker", Cluster: "web-cluster", Service: spec.Name, TaskDefinition: workerOld, WorkerConfig: declared(spec), Timeout: 5 * time.Second}
	if _, err := f.ro.WaitForWorker(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	next := spec
	if change(&next); next.TaskDefinition == spec.TaskDefinition {
		// The run's start counts to the second: the first deployment, of the
		// same revision, must be from an earlier one.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	}
	w.Since, spec = time.Now(), next
	sim.PutRollingService(spec) // Pulumi's UpdateService
	w.TaskDefinition, w.WorkerConfig = spec.TaskDefinition, declared(spec)
	return f, sim, w
}

// declared is the configuration a spec declares, as the program passes it.
func declared(spec fakeaws.RollingSpec) rollout.WorkerConfig {
	var c rollout.WorkerConfig
	if spec.CapacityProvider != "" {
		c.CapacityProviders = []rollout.CapacityProvider{{Name: spec.CapacityProvider, Weight: 1}}
	}
	if spec.Subnets != nil {
		c.Network = &rollout.WorkerNetwork{Subnets: spec.Subnets, SecurityGroups: spec.SecurityGroups, AssignPublicIP: spec.AssignPublicIP}
	}
	return c
}

func TestWaitForWorker(t *testing.T) {
	t.Run("healthy revision completes, old deployment retired", func(t *testing.T) {
		f, sim, w := workerSim(t, 2)
		res, err := f.ro.WaitForWorker(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		td, deps, _ := sim.RollingService(w.Service)
		if td != workerNew || res.Deployment != deps[0].ID || deps[1].Status != "INACTIVE" {
			t.Errorf("runs %s, deployments %+v, result %+v", td, deps, res)
		}
		if res.Summary != "web-worker:2 runs (deployment "+deps[0].ID+" completed)" {
			t.Errorf("summary %q", res.Summary)
		}
		if w := f.aws.Writes(); len(w) != 0 {
			t.Errorf("the verdict wrote %v", w)
		}
	})
	t.Run("crashing revision: the breaker trips and rolls back", func(t *testing.T) {
		f, sim, w := workerSim(t, 2)
		sim.WorkerCrashes(workerNew, fakeaws.WorkerCrash{Reason: "Essential container in task exited", ExitCode: 3,
			Logs: []string{"Traceback (most recent call last):", "KeyError: 'WORKER_QUEUE_URL'"}})
		_, err := f.ro.WaitForWorker(context.Background(), w)
		for _, want := range []string{
			// The lead's report: each stopped task with its container's last log lines.
			"why it failed:",
			"of web-worker:2 stopped: EssentialContainerExited: Essential container in task exited\n    container app: exit 3\n      | Traceback (most recent call last):\n      | KeyError: 'WORKER_QUEUE_URL'",
			"worker worker: rolling deployment of web-worker:2 failed: ECS deployment circuit breaker: tasks failed to start; the circuit breaker",
			"the circuit breaker rolled the service back: web-worker:1 runs again",
			"3× Essential container in task exited [app exit 3]",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v\nwant %q", err, want)
			}
		}
		if td, _, _ := sim.RollingService(w.Service); td != workerOld {
			t.Errorf("runs %s after the rollback", td)
		}
		// The next `pulumi up` of the same code: Pulumi changes nothing, the verdict
		// sees the rollback and says so again.
		_, err = f.ro.WaitForWorker(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "worker worker runs web-worker:1, not the declared web-worker:2") || !strings.Contains(err.Error(), "pulumi up --refresh") {
			t.Errorf("next up: %v", err)
		}
	})
	t.Run("crashing first revision: nothing to roll back to", func(t *testing.T) {
		f := newFixture(t)
		sim := fakeaws.NewSim(f.aws)
		sim.WorkerCrashes(workerNew, fakeaws.WorkerCrash{Reason: "CannotPullContainerError: pull image manifest has been retried", StopCode: "TaskFailedToStart"})
		sim.PutRollingService(fakeaws.RollingSpec{Name: "web-worker-1a2b3c4", Cluster: "web-cluster", TaskDefinition: workerNew, DesiredCount: 1, CircuitBreaker: true, Rollback: true})
		_, err := f.ro.WaitForWorker(context.Background(), rollout.WorkerRelease{
			Worker: "worker", Cluster: "web-cluster", Service: "web-worker-1a2b3c4", TaskDefinition: workerNew, Timeout: 5 * time.Second,
		})
		if err == nil || !strings.Contains(err.Error(), "no earlier completed deployment exists to roll back to") || !strings.Contains(err.Error(), "3× CannotPullContainerError") {
			t.Errorf("error %v", err)
		}
	})
	// A change of the capacity provider alone is a forced deployment of the same
	// revision; the breaker's rollback is too (review 16b, finding 1).
	spotSpec := fakeaws.RollingSpec{DesiredCount: 2, CapacityProvider: "FARGATE", Subnets: []string{"subnet-a", "subnet-b"}, SecurityGroups: []string{"sg-jobs"}}
	toSpot := func(s *fakeaws.RollingSpec) { s.CapacityProvider = "FARGATE_SPOT" }
	spotCrash := fakeaws.WorkerCrash{Reason: "Essential container in task exited", ExitCode: 3, CapacityProvider: "FARGATE_SPOT"}
	spotRolledBack := []string{
		"worker worker: rolling deployment of web-worker:1 failed: ECS deployment circuit breaker: tasks failed to start",
		"the circuit breaker rolled the service back: web-worker:1 in its previous configuration (deployment ecs-svc/",
		": capacity provider strategy FARGATE, not the declared FARGATE_SPOT) runs again",
	}
	t.Run("same revision on Spot crashes: rolled back to on-demand", func(t *testing.T) {
		f, sim, w := workerSimWith(t, spotSpec, toSpot)
		sim.WorkerCrashes(workerOld, spotCrash)
		_, err := f.ro.WaitForWorker(context.Background(), w)
		for _, want := range spotRolledBack {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v\nwant %q", err, want)
			}
		}
		// Newest first: the rollback (a new deployment of the on-demand one), the
		// failed one, the on-demand one, which kept its tasks meanwhile.
		if _, deps, _ := sim.RollingService(w.Service); len(deps) != 3 || deps[0].CapacityProvider != "FARGATE" || deps[0].Status != "PRIMARY" || deps[0].RolloutState != "COMPLETED" ||
			deps[0].RollbackOf != deps[2].ID || deps[2].LowestRunning != 2 {
			t.Errorf("deployments %+v: on-demand must run again", deps)
		}
		// The next `pulumi up` of the same config: Pulumi changes nothing, and
		// the same revision on FARGATE is not the declared release (review 16c,
		// finding 1).
		_, err = f.ro.WaitForWorker(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "worker worker runs web-worker:1 with capacity provider strategy FARGATE, not the declared FARGATE_SPOT (deployment ecs-svc/") ||
			!strings.Contains(err.Error(), "pulumi up --refresh") {
			t.Errorf("next up: %v", err)
		}
	})
	// The first look has not caught up with Pulumi's UpdateService (review 16c,
	// finding 4): the old deployment, of the same revision, still looks PRIMARY
	// and COMPLETED; it is not the declared release (on-demand, not Spot).
	t.Run("same revision on Spot crashes, the first look stale", func(t *testing.T) {
		f, sim, w := workerSimWith(t, spotSpec, toSpot)
		sim.WorkerCrashes(workerOld, spotCrash)
		sim.HideNewest(w.Service, 1)
		if _, err := f.ro.WaitForWorker(context.Background(), w); err == nil || !strings.Contains(err.Error(), spotRolledBack[0]) {
			t.Errorf("error %v\nwant %q", err, spotRolledBack[0])
		}
	})
	t.Run("same revision on Spot, healthy, the first look stale", func(t *testing.T) {
		f, sim, w := workerSimWith(t, spotSpec, toSpot)
		sim.HideNewest(w.Service, 1)
		if res, err := f.ro.WaitForWorker(context.Background(), w); err != nil || !strings.Contains(res.Summary, "runs") {
			t.Errorf("result %+v, error %v", res, err)
		}
	})
	// A runner's clock ahead of AWS's: no deployment counts as started this
	// run; the failure the looks saw is a failure all the same (review 16c,
	// finding 2).
	t.Run("same revision on Spot crashes, the run's clock 10 minutes ahead", func(t *testing.T) {
		f, sim, w := workerSimWith(t, spotSpec, toSpot)
		sim.WorkerCrashes(workerOld, spotCrash)
		w.Since = time.Now().Add(10 * time.Minute)
		_, err := f.ro.WaitForWorker(context.Background(), w)
		for _, want := range spotRolledBack {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v\nwant %q", err, want)
			}
		}
	})
	// A forced deployment of the same revision and configuration (a count
	// change) that fails while a passing cause lasts; the rollback, of the same
	// release, completes. With the run's start not recognised, only the failure
	// the looks saw tells it from success (review 16c, finding 2).
	t.Run("same release fails, then its rollback completes, the run's clock 10 minutes ahead", func(t *testing.T) {
		f, sim, w := workerSimWith(t, spotSpec, func(s *fakeaws.RollingSpec) { s.DesiredCount = 3 })
		sim.WorkerCrashes(workerOld, fakeaws.WorkerCrash{Reason: "CannotPullContainerError: pull image manifest has been retried", StopCode: "TaskFailedToStart", Times: 3})
		w.Since = time.Now().Add(10 * time.Minute)
		_, err := f.ro.WaitForWorker(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "worker worker: rolling deployment of web-worker:1 failed: ECS deployment circuit breaker: tasks failed to start; the circuit breaker rolled the service back: web-worker:1 in its previous configuration (deployment ecs-svc/") {
			t.Errorf("error %v", err)
		}
	})
	// New subnets without a route to ECR: the same revision fails to start
	// there only (review 16b, finding 1; 16c, finding 6).
	t.Run("same revision in other subnets fails to start: rolled back to the old subnets", func(t *testing.T) {
		f, sim, w := workerSimWith(t, spotSpec, func(s *fakeaws.RollingSpec) { s.Subnets = []string{"subnet-c", "subnet-d"} })
		sim.WorkerCrashes(workerOld, fakeaws.WorkerCrash{Reason: "CannotPullContainerError: pull image manifest has been retried", StopCode: "TaskFailedToStart", Subnets: []string{"subnet-c", "subnet-d"}})
		_, err := f.ro.WaitForWorker(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), ": subnets subnet-a,subnet-b, not the declared subnet-c,subnet-d) runs again") {
			t.Errorf("error %v", err)
		}
		if _, deps, _ := sim.RollingService(w.Service); !slices.Equal(deps[0].Subnets, []string{"subnet-a", "subnet-b"}) || deps[0].RolloutState != "COMPLETED" {
			t.Errorf("deployments %+v: the old subnets must run again", deps)
		}
		// Subnets are a set: ECS may list them in another order.
		w.Network.Subnets = []string{"subnet-b", "subnet-a"}
		if _, err := f.ro.WaitForWorker(context.Background(), w); err != nil {
			t.Errorf("the old subnets declared in another order: %v", err)
		}
	})
	// Below 100 % minimum healthy ECS stops the old tasks first; when the old
	// revision then fails to start too, so does the rollback (finding 6).
	t.Run("the rollback fails too: said at once", func(t *testing.T) {
		f, sim, w := workerSimWith(t, fakeaws.RollingSpec{DesiredCount: 2, MinHealthyPercent: 0, MaxPercent: 100}, func(s *fakeaws.RollingSpec) { s.TaskDefinition = workerNew })
		for _, td := range []string{workerOld, workerNew} {
			sim.WorkerCrashes(td, fakeaws.WorkerCrash{Reason: "ResourceInitializationError: unable to pull secrets", StopCode: "TaskFailedToStart"})
		}
		w.Timeout = time.Minute
		start := time.Now()
		_, err := f.ro.WaitForWorker(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "worker worker: rolling deployment of web-worker:2 failed: ECS deployment circuit breaker: tasks failed to start; rollback to web-worker:1 failed too: ECS deployment circuit breaker: tasks failed to start; the worker may run no task") {
			t.Errorf("error %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("said after %s: a failed rollback is a verdict, not a wait for the timeout", d)
		}
		// Newest first: the rollback, the update's deployment, then the old one,
		// which ran no task once the update began (stopped first).
		if _, deps, _ := sim.RollingService(w.Service); len(deps) != 3 || deps[0].TaskDefinition != workerOld || deps[0].Status != "PRIMARY" || deps[0].RolloutState != "FAILED" ||
			deps[0].RollbackOf != deps[2].ID || deps[2].LowestRunning != 0 {
			t.Errorf("deployments %+v: the old tasks stopped first, then the rollback failed", deps)
		}
	})
	// At 100/200 too: the rollback is a new deployment that launches tasks of
	// the old revision (review 16c, finding 5); when that revision no longer
	// starts either, the rollback fails.
	t.Run("the rollback fails at 100/200 too", func(t *testing.T) {
		f, sim, w := workerSim(t, 2)
		for _, td := range []string{workerOld, workerNew} {
			sim.WorkerCrashes(td, fakeaws.WorkerCrash{Reason: "ResourceInitializationError: unable to pull secrets", StopCode: "TaskFailedToStart"})
		}
		_, err := f.ro.WaitForWorker(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "worker worker: rolling deployment of web-worker:2 failed: ECS deployment circuit breaker: tasks failed to start; rollback to web-worker:1 failed too: ECS deployment circuit breaker: tasks failed to start; the worker may run no task") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("tasks that run, then exit: the breaker never counts them", func(t *testing.T) {
		f, sim, w := workerSim(t, 2)
		sim.WorkerCrashes(workerNew, fakeaws.WorkerCrash{Reason: "Essential container in task exited", ExitCode: 1, Uncounted: true})
		_, err := f.ro.WaitForWorker(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "worker worker: revision web-worker:2 crash-loops: 3 tasks stopped (3× Essential container in task exited [app exit 1])") ||
			!strings.Contains(err.Error(), "the deployment circuit breaker has not tripped") {
			t.Errorf("error %v", err)
		}
		if _, deps, _ := sim.RollingService(w.Service); deps[0].RolloutState != "IN_PROGRESS" || deps[1].Status != "ACTIVE" {
			t.Errorf("deployments %+v: the old revision must still run", deps)
		}
	})
	t.Run("timeout says how far it got", func(t *testing.T) {
		f, sim, w := workerSim(t, 2)
		sim.Steps = 1 << 20
		w.Timeout = 50 * time.Millisecond
		_, err := f.ro.WaitForWorker(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "did not complete within 50ms (web-worker:2 in_progress: 0 of 2 tasks running, 2 pending)") {
			t.Errorf("error %v", err)
		}
	})
	// ECS's API is eventually consistent: right after CreateService, DescribeServices
	// may answer the service MISSING (a failure, no service). A few such looks are
	// waited out like a missing deployment; only then is the service not there.
	missing := map[string]any{"services": []any{}, "failures": []any{map[string]any{
		"arn": "arn:aws:ecs:ap-northeast-2:123456789012:service/web-cluster/web-worker-1a2b3c4", "reason": "MISSING"}}}
	completed := map[string]any{"services": []any{map[string]any{
		"serviceName": "web-worker-1a2b3c4", "status": "ACTIVE", "desiredCount": 1, "runningCount": 1,
		"deployments": []any{map[string]any{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": workerNew,
			"rolloutState": "COMPLETED", "desiredCount": 1, "runningCount": 1}},
	}}}
	release := rollout.WorkerRelease{Worker: "worker", Cluster: "web-cluster", Service: "web-worker-1a2b3c4", TaskDefinition: workerNew, Timeout: 5 * time.Second}
	t.Run("a service missing from the first looks", func(t *testing.T) {
		f := newFixture(t)
		f.aws.Handle("DescribeServices", fakeaws.Sequence(missing, missing, completed))
		res, err := f.ro.WaitForWorker(context.Background(), release)
		if err != nil || res.Deployment != "ecs-svc/1" {
			t.Errorf("result %+v, error %v: two MISSING answers are eventual consistency", res, err)
		}
	})
	t.Run("a service missing from every look", func(t *testing.T) {
		f := newFixture(t)
		f.aws.Handle("DescribeServices", fakeaws.Static(missing))
		_, err := f.ro.WaitForWorker(context.Background(), release)
		if err == nil || !strings.Contains(err.Error(), "worker worker: service web-worker-1a2b3c4 not found in cluster web-cluster (MISSING or INACTIVE in 3 looks in a row)") {
			t.Errorf("error %v", err)
		}
		if n := f.aws.Count("DescribeServices"); n != 3 {
			t.Errorf("%d looks, want 3", n)
		}
	})
	t.Run("no tasks: completes at once", func(t *testing.T) {
		f, _, w := workerSim(t, 0)
		if _, err := f.ro.WaitForWorker(context.Background(), w); err != nil {
			t.Error(err)
		}
	})
}
