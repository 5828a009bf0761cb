package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Logs is the part of CloudWatch Logs the rollout and the day-N commands read.
type Logs interface {
	GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
	FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// TargetHealth is the part of Elastic Load Balancing the report reads.
type TargetHealth interface {
	DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Alarms is the part of CloudWatch the report reads.
type Alarms interface {
	DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// The report's bounds: a run's error stays readable.
const (
	reportTasks    = 3  // stopped tasks shown
	reportLines    = 20 // last log lines per container
	reportTargets  = 5  // unhealthy targets per target group
	reportLineSize = 300
)

// failureReport says why a revision failed, from what AWS keeps: the deployment
// target's failed lifecycle events and their diagnostics, the group's alarms in
// ALARM, the revision's tasks that stopped since `since` (stop code and reason,
// each container's exit code and reason, and each container's last log lines
// from its awslogs stream <prefix>/<container>/<task id>), and the target groups'
// unhealthy targets with their reasons. Each part is best effort: what cannot be
// read says so, and the rest still shows. "" when nothing was found.
//
// running adds the revision's running tasks: a deployment stopped on an alarm or
// by the load gate had its tasks serving, and they stop only when the rollback
// removes their task set. seen are the unhealthy targets sampled while the
// deployment ran, shown when none is unhealthy by now.
func (ro *Rollout) failureReport(ctx context.Context, req Request, td, deploymentID string, since time.Time, running bool, seen []string) string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	if deploymentID != "" {
		events, moved := ro.failedEvents(ctx, deploymentID, req.Hooks)
		for _, l := range events {
			add("%s", l)
		}
		// Failed after production traffic moved (an AfterAllowTraffic hook): its
		// tasks were serving too.
		running = running || moved
	}
	if ro.Alarms != nil && len(req.Alarms) > 0 {
		out, err := ro.Alarms.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: req.Alarms, StateValue: cwtypes.StateValueAlarm})
		switch {
		case err != nil:
			add("alarms: could not read them: %v", err)
		default:
			for _, a := range out.MetricAlarms {
				add("alarm %s is in ALARM: %s", aws.ToString(a.AlarmName), aws.ToString(a.StateReason))
			}
		}
	}
	lines = append(lines, ro.taskReport(ctx, req, td, since, running)...)
	if ro.ELB != nil {
		var now []string
		for _, tg := range req.TargetGroups {
			now = append(now, ro.targetHealthReport(ctx, tg, true)...)
		}
		lines = append(lines, now...)
		if len(now) == 0 { // deregistered by now: what was seen while it ran
			for _, l := range seen[:min(len(seen), reportTargets*max(1, len(req.TargetGroups)))] {
				lines = append(lines, l+" (while the deployment ran)")
			}
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "why it failed:\n  " + strings.Join(lines, "\n  ")
}

// failedEvents are the deployment target's failed lifecycle events, and whether
// production traffic had moved to the new tasks (AllowTraffic succeeded). A hook
// reports CodeDeploy only a status (PutLifecycleEventHookExecutionStatus), so a
// failed hook's event points at its Lambda function's log group for the reason.
func (ro *Rollout) failedEvents(ctx context.Context, id string, hooks map[string]string) (lines []string, moved bool) {
	list, err := ro.CodeDeploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
	if err != nil || len(list.TargetIds) == 0 {
		return nil, false
	}
	out, err := ro.CodeDeploy.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(id), TargetId: aws.String(list.TargetIds[0])})
	if err != nil || out.DeploymentTarget == nil || out.DeploymentTarget.EcsTarget == nil {
		return nil, false
	}
	for _, e := range out.DeploymentTarget.EcsTarget.LifecycleEvents {
		if aws.ToString(e.LifecycleEventName) == "AllowTraffic" && e.Status == cdtypes.LifecycleEventStatusSucceeded {
			moved = true
		}
		if e.Status != cdtypes.LifecycleEventStatusFailed {
			continue
		}
		l := fmt.Sprintf("lifecycle event %s failed", aws.ToString(e.LifecycleEventName))
		if d := e.Diagnostics; d != nil {
			l += fmt.Sprintf(": %s: %s", d.ErrorCode, clip(aws.ToString(d.Message)))
			if tail := strings.TrimSpace(aws.ToString(d.LogTail)); tail != "" {
				l += "\n    | " + strings.Join(lastLines(strings.Split(tail, "\n"), reportLines), "\n    | ")
			}
		}
		if fn := hooks[aws.ToString(e.LifecycleEventName)]; fn != "" {
			l += "\n    its hook's reason is in the log group /aws/lambda/" + lambdaName(fn)
		}
		lines = append(lines, l)
	}
	return lines, moved
}

// lambdaName is a Lambda function's name, from its name or ARN (with or without
// a version or alias): its log group is /aws/lambda/<name>.
func lambdaName(fn string) string {
	if _, rest, ok := strings.Cut(fn, ":function:"); ok {
		fn, _, _ = strings.Cut(rest, ":")
	}
	return fn
}

// stoppedTaskReport describes the revision's tasks that stopped since `since`,
// newest first, with each container's last log lines.
func (ro *Rollout) stoppedTaskReport(ctx context.Context, req Request, td string, since time.Time) []string {
	return ro.taskReport(ctx, req, td, since, false)
}

// taskReport describes the revision's tasks that stopped since `since`, newest
// first, then (with running) those still running, with each container's last log
// lines; reportTasks of them at most.
func (ro *Rollout) taskReport(ctx context.Context, req Request, td string, since time.Time, running bool) []string {
	all, err := ro.serviceTasks(ctx, req, ecstypes.DesiredStatusStopped)
	if err != nil {
		return []string{fmt.Sprintf("stopped tasks: %v", err)}
	}
	var tasks []ecstypes.Task
	for _, t := range all {
		if aws.ToString(t.TaskDefinitionArn) == td && (t.StoppedAt == nil || !t.StoppedAt.Before(since)) {
			tasks = append(tasks, t)
		}
	}
	slices.SortFunc(tasks, func(a, b ecstypes.Task) int { return aws.ToTime(b.StoppedAt).Compare(aws.ToTime(a.StoppedAt)) })
	stopped := len(tasks)
	if running {
		up, err := ro.serviceTasks(ctx, req, ecstypes.DesiredStatusRunning)
		if err != nil {
			return []string{fmt.Sprintf("running tasks: %v", err)}
		}
		for _, t := range up {
			if aws.ToString(t.TaskDefinitionArn) == td {
				tasks = append(tasks, t)
			}
		}
	}
	if len(tasks) == 0 {
		return nil
	}
	streams := LogStreams(ctx, ro.ECS, td)
	var lines []string
	seen := map[string]string{} // a container's last lines -> the task that showed them
	for i, t := range tasks {
		if i == reportTasks {
			lines = append(lines, fmt.Sprintf("… and %d more tasks of %s", len(tasks)-reportTasks, shortARN(td)))
			break
		}
		id := TaskID(aws.ToString(t.TaskArn))
		l := fmt.Sprintf("task %s of %s stopped: %s: %s", id, shortARN(td), t.StopCode, aws.ToString(t.StoppedReason))
		if i >= stopped {
			l = fmt.Sprintf("task %s of %s running (%s)", id, shortARN(td), aws.ToString(t.LastStatus))
		}
		for _, c := range t.Containers {
			name := aws.ToString(c.Name)
			l += "\n    container " + name + ":"
			switch {
			case c.ExitCode != nil:
				l += fmt.Sprintf(" exit %d", *c.ExitCode)
			case i >= stopped:
				l += " " + strings.ToLower(aws.ToString(c.LastStatus))
			default:
				l += " no exit code (it did not run)" // e.g. nginx waiting for a HEALTHY app
			}
			if r := aws.ToString(c.Reason); r != "" {
				l += " (" + r + ")"
			}
			if s, ok := streams[name]; ok {
				events, err := ro.lastLogLines(ctx, s.group, s.Stream(id), t.StartedAt)
				var missing *logstypes.ResourceNotFoundException
				switch {
				case errors.As(err, &missing): // it never started (or never logged): no stream
					l += "\n      (no log lines)"
				case err != nil:
					l += fmt.Sprintf("\n      (its log %s: %v)", s.Stream(id), err)
				case len(events) > 0:
					tail := strings.Join(events, "\n      | ")
					if first, ok := seen[name+"\x00"+tail]; ok {
						l += "\n      (the same last lines as task " + first + ")"
					} else {
						seen[name+"\x00"+tail] = id
						l += "\n      | " + tail
					}
				}
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// serviceTasks lists and describes the request's service's tasks of a desired status.
func (ro *Rollout) serviceTasks(ctx context.Context, req Request, status ecstypes.DesiredStatus) ([]ecstypes.Task, error) {
	return ro.ServiceTasks(ctx, req.Cluster, req.Service, status)
}

// ServiceTasks lists and describes a service's tasks of a desired status, every
// page (ListTasks pages, DescribeTasks takes at most 100).
func (ro *Rollout) ServiceTasks(ctx context.Context, cluster, service string, status ecstypes.DesiredStatus) ([]ecstypes.Task, error) {
	api := ro.ECS
	var arns []string
	in := &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: status}
	for {
		list, err := api.ListTasks(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("failed to list the tasks of service %s: %w", service, err)
		}
		arns = append(arns, list.TaskArns...)
		if list.NextToken == nil {
			break
		}
		in.NextToken = list.NextToken
	}
	var tasks []ecstypes.Task
	for len(arns) > 0 {
		batch := arns[:min(len(arns), 100)]
		arns = arns[len(batch):]
		out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: batch})
		if err != nil {
			return nil, fmt.Errorf("failed to describe the tasks of service %s: %w", service, err)
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}

// LogStream is where a container of a task definition logs: awslogs names the
// stream <prefix>/<container>/<task id> in the group.
type LogStream struct {
	group, prefix, container string
}

// Group is the stream's log group.
func (s LogStream) Group() string { return s.group }

// Stream is the stream of one task.
func (s LogStream) Stream(taskID string) string { return s.prefix + "/" + s.container + "/" + taskID }

// LogStreams reads, for each container of a task definition that logs with
// awslogs, its log group and stream prefix; an unreadable definition gives none.
func LogStreams(ctx context.Context, api ECS, td string) map[string]LogStream {
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
	streams := map[string]LogStream{}
	if err != nil || out.TaskDefinition == nil {
		return streams
	}
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs || lc.Options["awslogs-group"] == "" {
			continue
		}
		streams[aws.ToString(c.Name)] = LogStream{group: lc.Options["awslogs-group"], prefix: lc.Options["awslogs-stream-prefix"], container: aws.ToString(c.Name)}
	}
	return streams
}

// lastLogLines reads a stream's last lines, from the task's start when known
// ("Set startTime explicitly to reduce the chances of empty pages", GetLogEvents).
func (ro *Rollout) lastLogLines(ctx context.Context, group, stream string, started *time.Time) ([]string, error) {
	if ro.Logs == nil {
		return nil, nil
	}
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), Limit: aws.Int32(reportLines), StartFromHead: aws.Bool(false),
	}
	if started != nil {
		in.StartTime = aws.Int64(started.Add(-time.Minute).UnixMilli())
	}
	// A page may be empty while older events exist (GetLogEvents, API reference):
	// step back a few pages, until the token no longer moves.
	for range 5 {
		out, err := ro.Logs.GetLogEvents(ctx, in)
		if err != nil {
			return nil, err
		}
		if len(out.Events) > 0 {
			var lines []string
			for _, e := range out.Events {
				lines = append(lines, clip(strings.TrimRight(aws.ToString(e.Message), "\n")))
			}
			return lastLines(lines, reportLines), nil
		}
		if out.NextBackwardToken == nil || aws.ToString(out.NextBackwardToken) == aws.ToString(in.NextToken) {
			break
		}
		in.NextToken = out.NextBackwardToken
	}
	return nil, nil
}

// reportedTargetStates are the target states that say why a revision is not
// healthy: not initial (a target just registered, still being checked), draining
// or unused (elbv2 TargetHealthStateEnum).
var reportedTargetStates = []elbtypes.TargetHealthStateEnum{
	elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthStateEnumUnhealthyDraining, elbtypes.TargetHealthStateEnumUnavailable,
}

// unhealthyTargets samples the target groups' unhealthy targets into seen
// (target -> its line), keeping each target's last reason.
func (ro *Rollout) unhealthyTargets(ctx context.Context, req Request, seen map[string]string) {
	if ro.ELB == nil {
		return
	}
	for _, tg := range req.TargetGroups {
		for _, l := range ro.targetHealthReport(ctx, tg, false) {
			if f := strings.Fields(l); len(f) >= 4 { // "target group <g>: <ip:port> <state>: …"
				seen[strings.Join(f[:4], " ")] = l
			}
		}
	}
}

// targetHealthReport lists a target group's unhealthy targets with their reasons
// (reportedTargetStates); sayErrors reports a failed read as a line.
func (ro *Rollout) targetHealthReport(ctx context.Context, tg string, sayErrors bool) []string {
	out, err := ro.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		if !sayErrors {
			return nil
		}
		return []string{fmt.Sprintf("target group %s: could not read its targets' health: %v", targetGroupName(tg), err)}
	}
	var lines []string
	for _, d := range out.TargetHealthDescriptions {
		h := d.TargetHealth
		if h == nil || !slices.Contains(reportedTargetStates, h.State) {
			continue
		}
		if len(lines) == reportTargets {
			lines = append(lines, fmt.Sprintf("target group %s: … more unhealthy targets", targetGroupName(tg)))
			break
		}
		target := ""
		if d.Target != nil {
			target = aws.ToString(d.Target.Id)
			if d.Target.Port != nil {
				target += fmt.Sprintf(":%d", *d.Target.Port)
			}
		}
		lines = append(lines, fmt.Sprintf("target group %s: %s %s: %s: %s", targetGroupName(tg), target, h.State, h.Reason, aws.ToString(h.Description)))
	}
	return lines
}

// TaskID is the id part of a task ARN (its awslogs stream ends with it).
func TaskID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// targetGroupName is the name part of a target group ARN
// (…:targetgroup/<name>/<id>).
func targetGroupName(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 3 {
		return parts[len(parts)-2]
	}
	return arn
}

func lastLines(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

func clip(s string) string {
	if len(s) > reportLineSize {
		return s[:reportLineSize] + "…"
	}
	return s
}
