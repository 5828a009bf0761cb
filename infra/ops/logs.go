package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
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
// streams <prefix>/<container>/<task id> of the revision's task definition, read
// by name or by prefix (readEvents). With Follow, each poll reads the last
// lateLines again, for lines awslogs delivers late.
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
	// The serving revision's tasks are most of the streams under a container's
	// prefix: read by prefix. A deployment's or one task's are a few among many:
	// read by name, so as not to page through the whole fleet's lines.
	byName := r.Deployment != "" || r.Task != ""
	var reads []logRead
	for _, c := range sortedKeys(streams) {
		s := streams[c]
		read := logRead{group: s.Group(), prefix: s.Stream(""), byName: byName, names: map[string]LogLine{}}
		for _, t := range tasks {
			if id := rollout.TaskID(aws.ToString(t.TaskArn)); !(byName && neverRan(t, c)) {
				read.names[s.Stream(id)] = LogLine{Container: c, Task: id}
			}
		}
		reads = append(reads, read)
	}
	from := time.Now().Add(-r.Since)
	if r.Since <= 0 {
		from = time.Now().Add(-time.Hour)
	}
	end := time.Time{}
	if r.Follow && r.For > 0 {
		end = time.Now().Add(r.For)
	}
	seen := map[string]time.Time{} // events printed -> their time
	since := from
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
		}
		if !r.Follow || (!end.IsZero() && time.Now().After(end)) {
			return nil
		}
		// awslogs publishes a container's lines in batches, up to 5 s after they
		// were written (moby daemon/logger/awslogs, batchPublishFrequency), and each
		// event keeps the time it was written: read the last lateLines again each
		// poll, and print each event once.
		since = time.Now().Add(-lateLines)
		if since.Before(from) {
			since = from
		}
		maps.DeleteFunc(seen, func(_ string, at time.Time) bool { return at.Before(since.Add(-time.Second)) })
		if err := o.sleep(ctx); err != nil {
			return nil // Ctrl-C ends following: not a failure
		}
	}
}

// lateLines is how far back each poll of -follow reads again.
const lateLines = 30 * time.Second

// logRead is one container's streams of the chosen tasks (names): read by name,
// or all those under prefix in group, kept to names.
type logRead struct {
	group, prefix string
	byName        bool
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

// readEvents reads the events of a container's streams from since on, skipping
// those already seen and those of other tasks.
func (o *Ops) readEvents(ctx context.Context, read logRead, since time.Time, seen map[string]time.Time) ([]LogLine, error) {
	var events []logstypes.FilteredLogEvent
	var err error
	if read.byName {
		events, err = o.filterByName(ctx, read.group, sortedKeys(read.names), since)
	} else {
		events, err = o.filter(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(read.group), LogStreamNamePrefix: aws.String(read.prefix), StartTime: aws.Int64(since.UnixMilli())})
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the logs of %s: %w", read.group, err)
	}
	var lines []LogLine
	for _, e := range events {
		l, ok := read.names[aws.ToString(e.LogStreamName)]
		key := aws.ToString(e.LogStreamName) + "\x00" + aws.ToString(e.EventId) + fmt.Sprint(aws.ToInt64(e.Timestamp)) + aws.ToString(e.Message)
		if _, printed := seen[key]; !ok || printed {
			continue
		}
		l.At, l.Message = time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(), strings.TrimRight(aws.ToString(e.Message), "\n")
		seen[key] = l.At
		lines = append(lines, l)
	}
	return lines, nil
}

// filter reads every page of a FilterLogEvents request (a page may be empty while
// a nextToken says more follow: API reference).
func (o *Ops) filter(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput) ([]logstypes.FilteredLogEvent, error) {
	var events []logstypes.FilteredLogEvent
	for {
		out, err := o.Rollout.Logs.FilterLogEvents(ctx, in)
		if err != nil {
			return nil, err
		}
		events = append(events, out.Events...)
		if out.NextToken == nil {
			return events, nil
		}
		in.NextToken = out.NextToken
	}
}

// filterByName reads the named streams (at most 100 a request). A request that
// names a stream which does not exist fails whole, with the same
// ResourceNotFoundException as a missing log group (percona/rds_exporter#81,
// jorgebastida/awslogs#144): the group is then checked alone, and the names
// halved until the missing ones are left out. Containers that never ran are not
// named at all (neverRan), so halving is for the streams of tasks that have not
// logged yet.
func (o *Ops) filterByName(ctx context.Context, group string, names []string, since time.Time) ([]logstypes.FilteredLogEvent, error) {
	var all []logstypes.FilteredLogEvent
	for len(names) > 0 {
		batch := names[:min(len(names), 100)]
		names = names[len(batch):]
		events, err := o.filter(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: batch, StartTime: aws.Int64(since.UnixMilli())})
		var missing *logstypes.ResourceNotFoundException
		if errors.As(err, &missing) {
			if _, gerr := o.Rollout.Logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), Limit: aws.Int32(1)}); gerr != nil {
				return nil, gerr // the group itself
			}
			events, err = o.halve(ctx, group, batch, since)
		}
		if err != nil {
			return nil, err
		}
		all = append(all, events...)
	}
	return all, nil
}

// halve reads names that include a missing stream, half by half.
func (o *Ops) halve(ctx context.Context, group string, names []string, since time.Time) ([]logstypes.FilteredLogEvent, error) {
	if len(names) == 1 {
		return nil, nil // no stream: nothing logged yet
	}
	var all []logstypes.FilteredLogEvent
	for _, half := range [][]string{names[:len(names)/2], names[len(names)/2:]} {
		events, err := o.filter(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: half, StartTime: aws.Int64(since.UnixMilli())})
		var missing *logstypes.ResourceNotFoundException
		if errors.As(err, &missing) {
			events, err = o.halve(ctx, group, half, since)
		}
		if err != nil {
			return nil, err
		}
		all = append(all, events...)
	}
	return all, nil
}

// logTasks finds the revision and the tasks whose logs to print, by id.
func (o *Ops) logTasks(ctx context.Context, st Stack, r LogsRequest) (string, []ecstypes.Task, error) {
	ro := o.Rollout
	if r.Task != "" { // any task of the cluster: the service's, a one-off (ops run, migrations)
		out, err := o.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(st.Cluster), Tasks: []string{r.Task}})
		if err != nil {
			return "", nil, fmt.Errorf("failed to describe task %s: %w", r.Task, err)
		}
		if len(out.Tasks) == 0 {
			return "", nil, fmt.Errorf("no task %s in cluster %s (ECS keeps stopped tasks about an hour)", r.Task, st.Cluster)
		}
		return aws.ToString(out.Tasks[0].TaskDefinitionArn), out.Tasks[:1], nil
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
	var tasks []ecstypes.Task
	for _, status := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		all, err := ro.ServiceTasks(ctx, st.Cluster, st.Service, status)
		if err != nil {
			return "", nil, err
		}
		for _, t := range all {
			if aws.ToString(t.TaskDefinitionArn) == td {
				tasks = append(tasks, t)
			}
		}
	}
	slices.SortFunc(tasks, func(a, b ecstypes.Task) int { return strings.Compare(aws.ToString(a.TaskArn), aws.ToString(b.TaskArn)) })
	return td, tasks, nil
}

// neverRan tells whether a task's container never started: a stopped task's
// container without an exit code (nginx waiting for a HEALTHY app). It has no
// log stream.
func neverRan(t ecstypes.Task, container string) bool {
	if aws.ToString(t.LastStatus) != "STOPPED" {
		return false
	}
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == container {
			return c.ExitCode == nil
		}
	}
	return false
}
