package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
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
func (ro *Rollout) failureReport(ctx context.Context, req Request, td, deploymentID string, since time.Time) string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	if deploymentID != "" {
		for _, l := range ro.failedEvents(ctx, deploymentID) {
			add("%s", l)
		}
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
	lines = append(lines, ro.stoppedTaskReport(ctx, req, td, since)...)
	if ro.ELB != nil {
		for _, tg := range req.TargetGroups {
			lines = append(lines, ro.targetHealthReport(ctx, tg)...)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "why it failed:\n  " + strings.Join(lines, "\n  ")
}

// failedEvents are the deployment target's failed lifecycle events.
func (ro *Rollout) failedEvents(ctx context.Context, id string) []string {
	list, err := ro.CodeDeploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
	if err != nil || len(list.TargetIds) == 0 {
		return nil
	}
	out, err := ro.CodeDeploy.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(id), TargetId: aws.String(list.TargetIds[0])})
	if err != nil || out.DeploymentTarget == nil || out.DeploymentTarget.EcsTarget == nil {
		return nil
	}
	var lines []string
	for _, e := range out.DeploymentTarget.EcsTarget.LifecycleEvents {
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
		lines = append(lines, l)
	}
	return lines
}

// stoppedTaskReport describes the revision's tasks that stopped since `since`,
// newest first, with each container's last log lines.
func (ro *Rollout) stoppedTaskReport(ctx context.Context, req Request, td string, since time.Time) []string {
	list, err := ro.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(req.Cluster), ServiceName: aws.String(req.Service), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil {
		return []string{fmt.Sprintf("stopped tasks: could not list them: %v", err)}
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := ro.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(req.Cluster), Tasks: list.TaskArns[:min(len(list.TaskArns), 100)]})
	if err != nil {
		return []string{fmt.Sprintf("stopped tasks: could not describe them: %v", err)}
	}
	var tasks []ecstypes.Task
	for _, t := range out.Tasks {
		if aws.ToString(t.TaskDefinitionArn) == td && (t.StoppedAt == nil || !t.StoppedAt.Before(since)) {
			tasks = append(tasks, t)
		}
	}
	slices.SortFunc(tasks, func(a, b ecstypes.Task) int { return aws.ToTime(b.StoppedAt).Compare(aws.ToTime(a.StoppedAt)) })
	streams := ro.logStreams(ctx, td)
	var lines []string
	seen := map[string]string{} // a container's last lines -> the task that showed them
	for i, t := range tasks {
		if i == reportTasks {
			lines = append(lines, fmt.Sprintf("… and %d more stopped tasks of %s", len(tasks)-reportTasks, shortARN(td)))
			break
		}
		id := TaskID(aws.ToString(t.TaskArn))
		l := fmt.Sprintf("task %s of %s stopped: %s: %s", id, shortARN(td), t.StopCode, aws.ToString(t.StoppedReason))
		for _, c := range t.Containers {
			name := aws.ToString(c.Name)
			l += "\n    container " + name + ":"
			if c.ExitCode != nil {
				l += fmt.Sprintf(" exit %d", *c.ExitCode)
			}
			if r := aws.ToString(c.Reason); r != "" {
				l += " (" + r + ")"
			}
			if s, ok := streams[name]; ok {
				events, err := ro.lastLogLines(ctx, s.group, s.stream(id))
				switch {
				case err != nil:
					l += fmt.Sprintf("\n      (its log %s: %v)", s.stream(id), err)
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

// LogStream is where a container of a task definition logs: awslogs names the
// stream <prefix>/<container>/<task id> in the group.
type LogStream struct {
	group, prefix, container string
}

func (s LogStream) stream(taskID string) string { return s.prefix + "/" + s.container + "/" + taskID }

// Group is the stream's log group.
func (s LogStream) Group() string { return s.group }

// Stream is the stream of one task.
func (s LogStream) Stream(taskID string) string { return s.stream(taskID) }

// logStreams reads each container's awslogs settings from the task definition.
func (ro *Rollout) logStreams(ctx context.Context, td string) map[string]LogStream {
	return LogStreams(ctx, ro.ECS, td)
}

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

// lastLogLines reads a stream's last lines.
func (ro *Rollout) lastLogLines(ctx context.Context, group, stream string) ([]string, error) {
	if ro.Logs == nil {
		return nil, nil
	}
	out, err := ro.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), Limit: aws.Int32(reportLines), StartFromHead: aws.Bool(false),
	})
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, e := range out.Events {
		lines = append(lines, clip(strings.TrimRight(aws.ToString(e.Message), "\n")))
	}
	return lastLines(lines, reportLines), nil
}

// targetHealthReport lists a target group's unhealthy targets with their reasons.
func (ro *Rollout) targetHealthReport(ctx context.Context, tg string) []string {
	out, err := ro.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		return []string{fmt.Sprintf("target group %s: could not read its targets' health: %v", targetGroupName(tg), err)}
	}
	var lines []string
	for _, d := range out.TargetHealthDescriptions {
		h := d.TargetHealth
		if h == nil || h.State == elbtypes.TargetHealthStateEnumHealthy {
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
