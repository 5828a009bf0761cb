package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// judgeInitial judges the first revision. CreateService with the CODE_DEPLOY
// controller starts the PRIMARY task set itself, on the declared revision, without
// a CodeDeploy deployment: nothing else would notice tasks that crash-loop. The
// program creates the service with no tasks when a migration is configured, so
// the migration runs before any task of the revision takes traffic; then the
// service gets its desired count. It waits until the task set is steady with its
// desired count running and healthy behind the blue target group, and records the
// judgement in the rollout's state so the next `pulumi up` does not judge (and
// migrate) again.
func (ro *Rollout) judgeInitial(parent, ctx context.Context, req Request, serving servingState, state State) (Result, error) {
	ro.Log.Info(fmt.Sprintf("service %s runs its first revision %s, started by ECS without a deployment; checking that it is healthy", req.Service, shortARN(req.TaskDefinition)))
	if req.TargetGroup != "" && !slices.Contains(serving.targetGroups, req.TargetGroup) {
		return Result{}, fmt.Errorf("first revision of service %s: its task set is behind %v, not the blue target group %s", req.Service, serving.targetGroups, req.TargetGroup)
	}
	// Only tasks that stop from now on count: ListTasks(STOPPED) also returns tasks
	// stopped up to an hour ago — an earlier attempt, Spot interruptions, scale-in.
	began := time.Now()
	if len(req.MigrationCommand) > 0 {
		if serving.desired > 0 {
			ro.Log.Info(fmt.Sprintf("service %s already runs tasks of %s (created before migrations ran first, or judged again): the migration runs beside them", req.Service, shortARN(req.TaskDefinition)))
		}
		if err := ro.migrate(ctx, req); err != nil {
			return Result{}, err
		}
	}
	if serving.desired == 0 && req.DesiredCount > 0 {
		// UpdateService may change the desired count of a CODE_DEPLOY service.
		if _, err := ro.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(req.Cluster), Service: aws.String(req.Service), DesiredCount: aws.Int32(req.DesiredCount),
		}); err != nil {
			return Result{}, fmt.Errorf("failed to start the first revision's %d tasks: %w", req.DesiredCount, err)
		}
		ro.Log.Info(fmt.Sprintf("service %s: starting %d tasks of %s", req.Service, req.DesiredCount, shortARN(req.TaskDefinition)))
	}
	last := ""
	for {
		st, err := ro.taskSetStatus(ctx, req, serving.taskSetARN)
		if err == nil && st.healthy() {
			break
		}
		if err == nil && st.line() != last {
			last = st.line()
			ro.Log.Info(fmt.Sprintf("service %s: %s", req.Service, last))
		}
		var stopped []ecstypes.Task
		if err == nil {
			stopped, err = ro.stoppedTasks(ctx, req, began)
		}
		if err == nil && len(stopped) >= failedTaskThreshold(st.desired) {
			err := fmt.Errorf("first revision %s of service %s is not healthy: %d tasks stopped (%s)", shortARN(req.TaskDefinition), req.Service, len(stopped), stopReasons(stopped))
			if report := ro.failureReport(ctx, req, req.TaskDefinition, "", began, false, nil); report != "" {
				ro.Log.Info(report)
				err = fmt.Errorf("%w\n%s", err, report)
			}
			return Result{}, err
		}
		if err == nil {
			err = ro.sleep(ctx)
		}
		if err != nil {
			if parent.Err() != nil {
				return Result{}, fmt.Errorf("rollout interrupted while checking the first revision of service %s: %w", req.Service, parent.Err())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				msg := fmt.Sprintf("first revision %s of service %s did not become steady within %s (%s)", shortARN(req.TaskDefinition), req.Service, req.Timeout, last)
				if len(stopped) > 0 {
					msg += fmt.Sprintf("; stopped tasks: %s", stopReasons(stopped))
				}
				return Result{}, errors.New(msg)
			}
			return Result{}, err
		}
	}
	ro.Log.Info(fmt.Sprintf("service %s: first revision %s is steady and healthy", req.Service, shortARN(req.TaskDefinition)))
	// The verdict is an optimisation (the next `up` would judge again, quickly):
	// failing to record it must not fail a healthy revision.
	state.Judged = &Judgement{TaskSet: serving.taskSetARN, TaskDefinition: req.TaskDefinition, At: time.Now().UTC()}
	if err := WriteState(ctx, ro.State, req.StateParameter, state, ro.Log); err != nil {
		ro.Log.Info("warning: " + err.Error() + "; the next `pulumi up` judges the first revision again")
	}
	return Result{Summary: ServingSummary(req.TaskDefinition, "")}, nil
}

// taskSetState is what ECS reports of the first task set.
type taskSetState struct {
	running, pending, desired int32
	stability                 ecstypes.StabilityStatus
}

// healthy: ECS counts a task set STEADY_STATE only when its running count equals
// its computed desired count, nothing is pending, and every task passes its load
// balancer health checks.
func (s taskSetState) healthy() bool {
	return s.stability == ecstypes.StabilityStatusSteadyState && s.desired > 0 && s.running >= s.desired && s.pending == 0
}

func (s taskSetState) line() string {
	return fmt.Sprintf("%d of %d tasks running, %d pending, %s", s.running, s.desired, s.pending, s.stability)
}

func (ro *Rollout) taskSetStatus(ctx context.Context, req Request, arn string) (taskSetState, error) {
	out, err := ro.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(req.Cluster), Services: []string{req.Service}})
	if err != nil {
		return taskSetState{}, fmt.Errorf("failed to describe service %s: %w", req.Service, err)
	}
	for _, svc := range out.Services {
		for _, ts := range svc.TaskSets {
			if aws.ToString(ts.TaskSetArn) == arn {
				return taskSetState{running: ts.RunningCount, pending: ts.PendingCount, desired: ts.ComputedDesiredCount, stability: ts.StabilityStatus}, nil
			}
		}
	}
	return taskSetState{}, fmt.Errorf("service %s no longer has task set %s", req.Service, arn)
}

// stoppedTasks are the service's tasks of the declared revision that stopped
// since `since` for a reason that means the revision is broken. Every page of
// ListTasks is read: ECS keeps stopped tasks about an hour, so an earlier attempt
// may have left more than a page of them.
func (ro *Rollout) stoppedTasks(ctx context.Context, req Request, since time.Time) ([]ecstypes.Task, error) {
	all, err := ro.serviceTasks(ctx, req, ecstypes.DesiredStatusStopped)
	if err != nil {
		return nil, err
	}
	var tasks []ecstypes.Task
	for _, t := range all {
		if aws.ToString(t.TaskDefinitionArn) == req.TaskDefinition && t.StoppedAt != nil && !t.StoppedAt.Before(since) && brokenStop(t) {
			tasks = append(tasks, t)
		}
	}
	return tasks, nil
}

// brokenStop tells whether a task stopped because its revision is broken: it
// failed to start, an essential container exited, or ECS replaced it for failing
// its health checks. Spot interruptions, termination notices, scale-in and stops
// by a user say nothing about the revision (ECS stop codes, "Stopped tasks error
// codes" in the ECS developer guide).
func brokenStop(t ecstypes.Task) bool {
	switch t.StopCode {
	case ecstypes.TaskStopCodeTaskFailedToStart, ecstypes.TaskStopCodeEssentialContainerExited:
		return true
	case ecstypes.TaskStopCodeServiceSchedulerInitiated:
		return strings.Contains(strings.ToLower(aws.ToString(t.StoppedReason)), "health check")
	}
	return false
}

// failedTaskThreshold is when a crash loop is called: as ECS's deployment circuit
// breaker does, half the desired count, at least 3 and at most 200 stopped tasks.
func failedTaskThreshold(desired int32) int {
	return int(min(200, max(3, (desired+1)/2)))
}

// stopReasons summarises stopped tasks: each distinct reason with its containers'
// exit codes, and how often it occurred.
func stopReasons(tasks []ecstypes.Task) string {
	count := map[string]int{}
	var order []string
	for _, t := range tasks {
		r := aws.ToString(t.StoppedReason)
		var exits []string
		for _, c := range t.Containers {
			switch {
			case c.ExitCode != nil:
				exits = append(exits, fmt.Sprintf("%s exit %d", aws.ToString(c.Name), *c.ExitCode))
			case c.Reason != nil:
				exits = append(exits, fmt.Sprintf("%s: %s", aws.ToString(c.Name), aws.ToString(c.Reason)))
			}
		}
		if len(exits) > 0 {
			r += " [" + strings.Join(exits, ", ") + "]"
		}
		if count[r] == 0 {
			order = append(order, r)
		}
		count[r]++
	}
	parts := make([]string, len(order))
	for i, r := range order {
		parts[i] = fmt.Sprintf("%d× %s", count[r], r)
	}
	return strings.Join(parts, "; ")
}
