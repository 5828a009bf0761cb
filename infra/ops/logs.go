package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"ecs-bluegreen/infra/rollout"
)

// LogsRequest says whose logs to print.
type LogsRequest struct {
	// Container is app, nginx, or "" for both.
	Container string
	// Task is one task's id; Deployment the revision a deployment deployed; with
	// neither, the serving revision's tasks.
	Task, Deployment string
	Since            time.Duration
	// Follow keeps printing new lines until ctx ends or For has passed.
	Follow bool
	For    time.Duration
}

// Logs prints the containers' log lines of the chosen tasks, oldest first, each
// as "<container> <task id> | <line>". Tasks are found in ECS (running ones, and
// those stopped within the hour ECS keeps them); their streams are the awslogs
// streams <prefix>/<container>/<task id> of the revision's task definition.
func (o *Ops) Logs(ctx context.Context, st Stack, r LogsRequest) error {
	if o.Rollout.Logs == nil {
		return errors.New("no CloudWatch Logs client")
	}
	td, tasks, err := o.logTasks(ctx, st, r)
	if err != nil {
		return err
	}
	streams := rollout.LogStreams(ctx, o.ECS, td)
	if len(streams) == 0 {
		return fmt.Errorf("%s logs to no awslogs stream (or its definition cannot be read)", short(td))
	}
	if r.Container != "" {
		s, ok := streams[r.Container]
		if !ok {
			return fmt.Errorf("container %q of %s has no awslogs stream; it has %s", r.Container, short(td), strings.Join(sortedKeys(streams), ", "))
		}
		streams = map[string]rollout.LogStream{r.Container: s}
	}
	if len(tasks) == 0 {
		return failed("no task of %s runs or stopped within the hour ECS keeps stopped tasks", short(td))
	}
	names := map[string]string{} // stream -> "<container> <task>"
	var group string
	for _, c := range sortedKeys(streams) {
		for _, t := range tasks {
			names[streams[c].Stream(t)] = c + " " + t
			group = streams[c].Group()
		}
	}
	since := time.Now().Add(-r.Since)
	if r.Since <= 0 {
		since = time.Now().Add(-time.Hour)
	}
	end := time.Time{}
	if r.Follow && r.For > 0 {
		end = time.Now().Add(r.For)
	}
	seen := map[string]bool{}
	for {
		last, err := o.printEvents(ctx, group, names, since, seen)
		if err != nil {
			return err
		}
		if !r.Follow || (!end.IsZero() && time.Now().After(end)) {
			return nil
		}
		since = last
		if err := o.sleep(ctx); err != nil {
			return nil // Ctrl-C ends following: not a failure
		}
	}
}

// printEvents prints the streams' events from since on, skipping those already
// printed, and returns the time of the newest.
func (o *Ops) printEvents(ctx context.Context, group string, names map[string]string, since time.Time, seen map[string]bool) (time.Time, error) {
	streams := sortedKeys(names)
	last := since
	for len(streams) > 0 {
		batch := streams[:min(len(streams), 100)] // FilterLogEvents takes at most 100 stream names
		streams = streams[len(batch):]
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: batch, StartTime: aws.Int64(since.UnixMilli())}
		for {
			out, err := o.Rollout.Logs.FilterLogEvents(ctx, in)
			if err != nil {
				return last, fmt.Errorf("failed to read the logs of %s: %w", group, err)
			}
			for _, e := range out.Events {
				key := aws.ToString(e.LogStreamName) + "\x00" + aws.ToString(e.EventId) + fmt.Sprint(aws.ToInt64(e.Timestamp)) + aws.ToString(e.Message)
				if seen[key] {
					continue
				}
				seen[key] = true
				fmt.Fprintf(o.Out, "%s | %s\n", names[aws.ToString(e.LogStreamName)], strings.TrimRight(aws.ToString(e.Message), "\n"))
				if t := time.UnixMilli(aws.ToInt64(e.Timestamp)); t.After(last) {
					last = t
				}
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	return last, nil
}

// logTasks finds the revision and the task ids whose logs to print.
func (o *Ops) logTasks(ctx context.Context, st Stack, r LogsRequest) (string, []string, error) {
	ro := o.Rollout
	var td string
	switch {
	case r.Deployment != "":
		d, err := ro.Describe(ctx, st.Application, r.Deployment)
		if err != nil {
			return "", nil, err
		}
		if d.TaskDefinition == "" {
			return "", nil, fmt.Errorf("deployment %s deploys no revision this program can read", r.Deployment)
		}
		td = d.TaskDefinition
	default:
		serving, err := ro.Serving(ctx, st.Cluster, st.Service)
		if err != nil {
			return "", nil, err
		}
		td = serving.TaskDefinition
	}
	var arns []string
	for _, status := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		in := &ecs.ListTasksInput{Cluster: aws.String(st.Cluster), ServiceName: aws.String(st.Service), DesiredStatus: status}
		for {
			out, err := o.ECS.ListTasks(ctx, in)
			if err != nil {
				return "", nil, fmt.Errorf("failed to list the tasks of %s: %w", st.Service, err)
			}
			arns = append(arns, out.TaskArns...)
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	var tasks []string
	for len(arns) > 0 {
		batch := arns[:min(len(arns), 100)] // DescribeTasks takes at most 100
		arns = arns[len(batch):]
		out, err := o.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(st.Cluster), Tasks: batch})
		if err != nil {
			return "", nil, fmt.Errorf("failed to describe the tasks of %s: %w", st.Service, err)
		}
		for _, t := range out.Tasks {
			id := rollout.TaskID(aws.ToString(t.TaskArn))
			switch {
			case r.Task != "" && id == r.Task:
				return aws.ToString(t.TaskDefinitionArn), []string{id}, nil
			case r.Task == "" && aws.ToString(t.TaskDefinitionArn) == td:
				tasks = append(tasks, id)
			}
		}
	}
	if r.Task != "" {
		return "", nil, fmt.Errorf("no task %s in service %s (ECS keeps stopped tasks about an hour)", r.Task, st.Service)
	}
	slices.Sort(tasks)
	return td, tasks, nil
}
