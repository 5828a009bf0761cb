package rollout_test

import (
	"context"
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

// TestEvaluateWorker: the rules over DescribeServices' deployments, apart from the polling.
func TestEvaluateWorker(t *testing.T) {
	const (
		inProgress = ecstypes.DeploymentRolloutStateInProgress
		completed  = ecstypes.DeploymentRolloutStateCompleted
		failed     = ecstypes.DeploymentRolloutStateFailed
	)
	cases := []struct {
		name string
		deps []ecstypes.Deployment
		want rollout.WorkerState
	}{
		{"new deployment rolling, old one still running", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, inProgress, 0, 2), dep("ecs-svc/1", "ACTIVE", workerOld, completed, 2, 2)}, rollout.WorkerRolling},
		{"completed", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, completed, 2, 2)}, rollout.WorkerDone},
		{"completed while the old tasks drain", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, completed, 2, 2), dep("ecs-svc/1", "ACTIVE", workerOld, completed, 1, 2)}, rollout.WorkerDone},
		// The breaker rolls back to the last COMPLETED deployment, which turns
		// IN_PROGRESS and primary again (developer guide).
		{"failed, rollback under way", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, inProgress, 1, 2), dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2)}, rollout.WorkerRollingBack},
		{"failed, rolled back", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, completed, 2, 2), dep("ecs-svc/2", "ACTIVE", workerNew, failed, 0, 2)}, rollout.WorkerRolledBack},
		{"failed, nothing to roll back to: stalled", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, failed, 0, 2)}, rollout.WorkerFailed},
		{"rolled back earlier: the failed deployment is gone", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, completed, 2, 2)}, rollout.WorkerRolledBack},
		{"another revision rolling back", []ecstypes.Deployment{dep("ecs-svc/1", "PRIMARY", workerOld, inProgress, 0, 2)}, rollout.WorkerRollingBack},
		{"without the circuit breaker: steady", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, "", 2, 2)}, rollout.WorkerDone},
		{"without the circuit breaker: still replacing", []ecstypes.Deployment{dep("ecs-svc/2", "PRIMARY", workerNew, "", 1, 2), dep("ecs-svc/1", "ACTIVE", workerOld, "", 1, 2)}, rollout.WorkerRolling},
		{"an INACTIVE deployment of the revision does not count", []ecstypes.Deployment{dep("ecs-svc/3", "PRIMARY", workerOld, inProgress, 0, 2), dep("ecs-svc/2", "INACTIVE", workerNew, completed, 0, 2)}, rollout.WorkerRollingBack},
	}
	for _, c := range cases {
		if got := rollout.EvaluateWorker(c.deps, workerNew).State; got != c.want {
			t.Errorf("%s: state %d, want %d", c.name, got, c.want)
		}
	}
}

// workerSim is a sim with one rolling worker service on workerOld, completed.
func workerSim(t *testing.T, desired int) (*fixture, *fakeaws.Sim, rollout.WorkerRelease) {
	t.Helper()
	f := newFixture(t)
	sim := fakeaws.NewSim(f.aws)
	for _, td := range []string{workerOld, workerNew} {
		sim.RegisterTaskDefinition(td, fakeaws.TaskDef{Containers: []fakeaws.Container{{Name: "app", LogGroup: "web-logs", StreamPrefix: "worker"}}})
	}
	spec := fakeaws.RollingSpec{Name: "web-worker-1a2b3c4", Cluster: "web-cluster", TaskDefinition: workerOld, DesiredCount: desired, CircuitBreaker: true, Rollback: true}
	sim.PutRollingService(spec)
	w := rollout.WorkerRelease{Worker: "worker", Cluster: "web-cluster", Service: spec.Name, TaskDefinition: workerOld, Timeout: 5 * time.Second}
	if _, err := f.ro.WaitForWorker(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	spec.TaskDefinition = workerNew
	sim.PutRollingService(spec) // Pulumi's UpdateService of the new revision
	w.TaskDefinition = workerNew
	return f, sim, w
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
