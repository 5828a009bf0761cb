package ops

import (
	"context"
	"encoding/json"
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
	// JSON prints each line as a JSON object (LogLine).
	JSON bool
}

// LogLine is one printed log line, as -json prints it.
type LogLine struct {
	At        time.Time `json:"at"`
	Container string    `json:"container"`
	Task      string    `json:"task"`
	Message   string    `json:"message"`
}

// Logs prints the containers' log lines of the chosen tasks, oldest first, each
// as "<container> <task id> | <line>". Tasks are found in ECS (running ones, and
// those stopped within the hour ECS keeps them); their streams are the awslogs
// streams <prefix>/<container>/<task id> of the revision's task definition. They
// are read by stream prefix, one per container, and kept to the chosen tasks
// here: FilterLogEvents fails the whole request when one named stream does not
// exist, which is the case of every container that never started (nginx of a
// revision whose app crashes).
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
	var reads []logRead
	for _, c := range sortedKeys(streams) {
		s := streams[c]
		read := logRead{group: s.Group(), prefix: s.Stream(""), names: map[string]LogLine{}}
		if len(tasks) == 1 { // one task: its stream exactly
			read.prefix = s.Stream(tasks[0])
		}
		for _, t := range tasks {
			read.names[s.Stream(t)] = LogLine{Container: c, Task: t}
		}
		reads = append(reads, read)
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
		var lines []LogLine
		for _, read := range reads {
			got, err := o.readEvents(ctx, read, since, seen)
			if err != nil {
				return err
			}
			lines = append(lines, got...)
		}
		slices.SortStableFunc(lines, func(a, b LogLine) int { return a.At.Compare(b.At) })
		for _, l := range lines {
			o.printLine(l, r.JSON)
			if l.At.After(since) {
				since = l.At
			}
		}
		if !r.Follow || (!end.IsZero() && time.Now().After(end)) {
			return nil
		}
		if err := o.sleep(ctx); err != nil {
			return nil // Ctrl-C ends following: not a failure
		}
	}
}

// logRead is one container's streams: those under prefix in group, of the
// chosen tasks (names).
type logRead struct {
	group, prefix string
	names         map[string]LogLine // stream -> its container and task
}

func (o *Ops) printLine(l LogLine, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(l)
		fmt.Fprintln(o.Out, string(b))
		return
	}
	fmt.Fprintf(o.Out, "%s %s | %s\n", l.Container, l.Task, l.Message)
}

// readEvents reads the events of a container's streams from since on, every page
// (a page may be empty while a nextToken says more follow), skipping those already
// seen and those of other tasks.
func (o *Ops) readEvents(ctx context.Context, read logRead, since time.Time, seen map[string]bool) ([]LogLine, error) {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(read.group), LogStreamNamePrefix: aws.String(read.prefix), StartTime: aws.Int64(since.UnixMilli())}
	var lines []LogLine
	for {
		out, err := o.Rollout.Logs.FilterLogEvents(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("failed to read the logs of %s: %w", read.group, err)
		}
		for _, e := range out.Events {
			l, ok := read.names[aws.ToString(e.LogStreamName)]
			key := aws.ToString(e.LogStreamName) + "\x00" + aws.ToString(e.EventId) + fmt.Sprint(aws.ToInt64(e.Timestamp)) + aws.ToString(e.Message)
			if !ok || seen[key] {
				continue
			}
			seen[key] = true
			l.At, l.Message = time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(), strings.TrimRight(aws.ToString(e.Message), "\n")
			lines = append(lines, l)
		}
		if out.NextToken == nil {
			return lines, nil
		}
		in.NextToken = out.NextToken
	}
}

// logTasks finds the revision and the task ids whose logs to print.
func (o *Ops) logTasks(ctx context.Context, st Stack, r LogsRequest) (string, []string, error) {
	ro := o.Rollout
	if r.Task != "" { // any task of the cluster: the service's, a one-off (ops run, migrations)
		out, err := o.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(st.Cluster), Tasks: []string{r.Task}})
		if err != nil {
			return "", nil, fmt.Errorf("failed to describe task %s: %w", r.Task, err)
		}
		if len(out.Tasks) == 0 {
			return "", nil, fmt.Errorf("no task %s in cluster %s (ECS keeps stopped tasks about an hour)", r.Task, st.Cluster)
		}
		return aws.ToString(out.Tasks[0].TaskDefinitionArn), []string{rollout.TaskID(aws.ToString(out.Tasks[0].TaskArn))}, nil
	}
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
			if aws.ToString(t.TaskDefinitionArn) == td {
				tasks = append(tasks, rollout.TaskID(aws.ToString(t.TaskArn)))
			}
		}
	}
	slices.Sort(tasks)
	return td, tasks, nil
}
