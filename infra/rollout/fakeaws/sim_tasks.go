package fakeaws

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Tasks, their logs and their targets: what the day-N commands and the failure
// report read.

// SetTargetGroups records the deployment group's two target groups.
func (s *Sim) SetTargetGroups(blue, green string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blue, s.green = blue, green
}

// otherTargetGroup is the target group a new task set goes behind.
func (s *Sim) otherTargetGroup(tg string) string {
	switch {
	case s.green == "":
		return tg + "-shifted"
	case tg == s.green:
		return s.blue
	}
	return s.green
}

// Alarm sets a CloudWatch alarm's state, as its metric would.
func (s *Sim) Alarm(name, state, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alarms[name] = alarmState{state, reason}
}

// Logs returns a log stream's events.
func (s *Sim) Logs(group, stream string) []LogEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logs[group+"\x00"+stream])
}

// LogLate adds an event to a stream now, written at `at`: awslogs publishes in
// batches, so an event may arrive after later ones of other streams.
func (s *Sim) LogLate(group, stream, message string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := group + "\x00" + stream
	s.logs[key] = append(s.logs[key], LogEvent{At: at, Message: message})
	slices.SortStableFunc(s.logs[key], func(a, b LogEvent) int { return a.At.Compare(b.At) })
}

// RunningTasks returns the service's running tasks (ARNs).
func (s *Sim) RunningTasks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, arn := range s.taskOrder {
		if t := s.tasks[arn]; !t.stopped && strings.HasPrefix(t.startedBy, "ecs-svc/") {
			out = append(out, arn)
		}
	}
	return out
}

// RunningOf counts the service's running tasks of a revision.
func (s *Sim) RunningOf(td string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, arn := range s.taskOrder {
		if t := s.tasks[arn]; !t.stopped && t.td == td && strings.HasPrefix(t.startedBy, "ecs-svc/") {
			n++
		}
	}
	return n
}

func (s *Sim) newTask(td, startedBy string) *simTask {
	s.ip++
	id := s.next("")
	arn := fmt.Sprintf("arn:aws:ecs:ap-northeast-2:123456789012:task/%s/%s", s.clusterName(), strings.Repeat("0", 26)+id)
	t := &simTask{arn: arn, td: td, startedBy: startedBy, startedAt: time.Now(), ip: fmt.Sprintf("10.0.%d.%d", s.ip/250, 10+s.ip%250)}
	s.tasks[arn] = t
	s.taskOrder = append(s.taskOrder, arn)
	return t
}

func (s *Sim) clusterName() string {
	if s.svc == nil {
		return "cluster"
	}
	return s.svc.cluster[strings.LastIndex(s.svc.cluster, "/")+1:]
}

// crashTask adds a stopped task of a broken revision. With HealthCheckCodes it
// ran, both containers logged, and ECS stopped it for failing the checks;
// otherwise the app logged its last lines and exited, and nginx never started:
// it waits for the app to be HEALTHY (dependsOn), so it has no log stream.
func (s *Sim) crashTask(ts *simTaskSet, c Crash) *simTask {
	if c.HealthCheckCodes != "" {
		t := s.runFailingTask(ts, c)
		t.stopped, t.stoppedAt = true, time.Now()
		t.reason, t.stopCode = "Task failed ELB health checks in (target-group "+ts.targetGroup+")", "ServiceSchedulerInitiated"
		return t
	}
	t := s.newTask(ts.td, ts.id)
	for _, line := range c.Logs {
		s.log(t, "app", line)
	}
	t.crash = &c
	t.stopped = true
	t.reason, t.stopCode, t.exit, t.stoppedAt = c.Reason, "EssentialContainerExited", c.ExitCode, time.Now()
	return t
}

// runFailingTask adds a running task of a revision whose target fails the load
// balancer's health checks.
func (s *Sim) runFailingTask(ts *simTaskSet, c Crash) *simTask {
	t := s.newTask(ts.td, ts.id)
	s.log(t, "nginx", "start worker processes")
	for _, line := range c.Logs {
		s.log(t, "app", line)
	}
	t.crash = &c
	return t
}

// stopTasksOf stops a task set's running tasks (its tasks are replaced).
func (s *Sim) stopTasksOf(ts *simTaskSet, code, reason string) {
	if ts == nil {
		return
	}
	for _, t := range s.tasks {
		if t.startedBy == ts.id && !t.stopped {
			t.stopped, t.stopCode, t.reason, t.stoppedAt = true, code, reason, time.Now()
		}
	}
}

// log writes a line to a task's container stream, as awslogs names it:
// <prefix>/<container>/<task id> in the task definition's log group.
func (s *Sim) log(t *simTask, container, message string) {
	for _, c := range s.taskDefs[t.td].Containers {
		if c.Name == container && c.LogGroup != "" {
			stream := c.StreamPrefix + "/" + c.Name + "/" + t.arn[strings.LastIndex(t.arn, "/")+1:]
			key := c.LogGroup + "\x00" + stream
			s.logs[key] = append(s.logs[key], LogEvent{At: time.Now(), Message: message})
		}
	}
}

func (s *Sim) listTasks(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arns := []string{}
	if rs := s.rollingFor(body["serviceName"]); rs != nil {
		if body["desiredStatus"] == "STOPPED" { // the sim keeps no running tasks of rolling services
			arns = s.rollingStopped(rs)
		}
		page, next := s.page(arns, body["nextToken"])
		out := map[string]any{"taskArns": page}
		if next != "" {
			out["nextToken"] = next
		}
		return out, nil
	}
	service, byService := body["serviceName"]
	stopped := body["desiredStatus"] == "STOPPED"
	if svc := s.serviceFor(service); svc != nil || !byService { // a service's tasks, or the cluster's
		for _, arn := range s.taskOrder {
			if t := s.tasks[arn]; t.stopped == stopped && (!byService || strings.HasPrefix(t.startedBy, "ecs-svc/")) {
				arns = append(arns, arn)
			}
		}
	}
	page, next := s.page(arns, body["nextToken"])
	out := map[string]any{"taskArns": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Sim) describeTasks(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arns, _ := body["tasks"].([]any)
	out := []any{}
	for _, a := range arns {
		t, ok := s.tasks[fmt.Sprint(a)]
		if !ok { // "A list of up to 100 task IDs or full ARN entries" (DescribeTasks)
			for _, arn := range s.taskOrder {
				if strings.HasSuffix(arn, "/"+fmt.Sprint(a)) {
					t, ok = s.tasks[arn], true
				}
			}
		}
		if !ok {
			continue
		}
		if !strings.HasPrefix(t.startedBy, "ecs-svc/") && !t.stopped { // a one-off task runs, then exits
			if t.looks++; t.looks >= s.Steps {
				t.stopped, t.reason, t.stopCode, t.stoppedAt = true, "Essential container in task exited", "EssentialContainerExited", time.Now()
				what := "one-off task"
				if t.startedBy == "pulumi-migrate" {
					what = "migration task"
				}
				for _, line := range s.OneOffLogs {
					s.log(t, "app", line)
				}
				s.event("%s exited %d", what, t.exit)
			}
		}
		task := map[string]any{"taskArn": t.arn, "taskDefinitionArn": t.td, "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
			"startedBy": t.startedBy, "startedAt": float64(t.startedAt.UnixMilli()) / 1000,
			"containers": []any{map[string]any{"name": "app", "lastStatus": "RUNNING"}, map[string]any{"name": "nginx", "lastStatus": "RUNNING"}},
		}
		if t.stopped {
			task["lastStatus"], task["desiredStatus"], task["stoppedReason"], task["stopCode"] = "STOPPED", "STOPPED", t.reason, t.stopCode
			task["stoppedAt"] = float64(t.stoppedAt.UnixMilli()) / 1000
			nginx := map[string]any{"name": "nginx", "lastStatus": "STOPPED", "exitCode": 0}
			if t.crash != nil && t.crash.HealthCheckCodes == "" {
				// nginx waited for the app to be HEALTHY and never ran: no exit code
				// (the agent reports one only for a container it started or
				// force-stopped, amazon-ecs-agent#2152 and #3218; which of the two
				// AWS shows here is unverified, so the fake gives the barer answer).
				nginx = map[string]any{"name": "nginx", "lastStatus": "STOPPED"}
			}
			task["containers"] = []any{map[string]any{"name": "app", "lastStatus": "STOPPED", "exitCode": t.exit}, nginx}
			if t.containers != nil { // a worker's task: its own containers
				var cs []any
				for _, c := range t.containers {
					// A task that never started has containers without an exit code
					// (Container.exitCode, ECS API reference), only a reason.
					if t.stopCode == "TaskFailedToStart" {
						cs = append(cs, map[string]any{"name": c, "lastStatus": "STOPPED", "reason": t.reason})
					} else {
						cs = append(cs, map[string]any{"name": c, "lastStatus": "STOPPED", "exitCode": t.exit})
					}
				}
				task["containers"] = cs
			}
		}
		out = append(out, task)
	}
	return map[string]any{"tasks": out}, nil
}

func (s *Sim) describeTaskDefinition(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := fmt.Sprint(body["taskDefinition"])
	td, ok := s.taskDefs[arn]
	if !ok {
		return nil, &Error{Status: 400, Type: "ClientException", Message: "Unable to describe task definition."}
	}
	var defs []any
	for _, c := range td.Containers {
		defs = append(defs, map[string]any{"name": c.Name, "image": c.Image, "logConfiguration": map[string]any{
			"logDriver": "awslogs", "options": map[string]any{"awslogs-group": c.LogGroup, "awslogs-stream-prefix": c.StreamPrefix, "awslogs-region": "ap-northeast-2"},
		}})
	}
	return map[string]any{"taskDefinition": map[string]any{
		"taskDefinitionArn": arn, "containerDefinitions": defs, "executionRoleArn": td.ExecutionRole, "taskRoleArn": td.TaskRole, "status": "ACTIVE",
	}}, nil
}

// getLogEvents answers one stream's events: the newest `limit` unless
// startFromHead, then on from a nextToken, which at the stream's end is the one
// given (CloudWatch Logs API reference, GetLogEvents).
func (s *Sim) getLogEvents(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprint(body["logGroupName"]) + "\x00" + fmt.Sprint(body["logStreamName"])
	events, ok := s.logs[key]
	if !ok {
		return nil, &Error{Status: 400, Type: "ResourceNotFoundException", Message: "The specified log stream does not exist."}
	}
	limit := 10000
	if l, ok := body["limit"].(float64); ok {
		limit = int(l)
	}
	from, to := 0, len(events)
	tok, _ := body["nextToken"].(string)
	switch {
	case strings.HasPrefix(tok, "f/"):
		fmt.Sscanf(tok, "f/%d", &from)
		to = min(len(events), from+limit)
	case strings.HasPrefix(tok, "b/"):
		// b/<end>/<empty pages still to answer>: every empty page's token differs
		// from the one passed, which AWS says means there may be more.
		var empty int
		fmt.Sscanf(tok, "b/%d/%d", &to, &empty)
		to = min(to, len(events))
		from = max(0, to-limit)
		if empty > 0 {
			return map[string]any{"events": []any{}, "nextForwardToken": fmt.Sprintf("f/%d", to), "nextBackwardToken": fmt.Sprintf("b/%d/%d", to, empty-1)}, nil
		}
	case body["startFromHead"] == true:
		to = min(len(events), limit)
	default:
		from = max(0, len(events)-limit)
		if s.EmptyLogPages > 0 {
			return map[string]any{"events": []any{}, "nextForwardToken": fmt.Sprintf("f/%d", len(events)), "nextBackwardToken": fmt.Sprintf("b/%d/%d", len(events), s.EmptyLogPages-1)}, nil
		}
	}
	out := []any{}
	for _, e := range events[from:to] {
		out = append(out, map[string]any{"timestamp": e.At.UnixMilli(), "message": e.Message, "ingestionTime": e.At.UnixMilli()})
	}
	return map[string]any{"events": out, "nextForwardToken": fmt.Sprintf("f/%d", to), "nextBackwardToken": fmt.Sprintf("b/%d/0", from)}, nil
}

// filterLogEvents answers events of a group's streams (named, or by prefix) from
// startTime on, oldest first.
func (s *Sim) filterLogEvents(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	group := fmt.Sprint(body["logGroupName"])
	var names []string
	if l, ok := body["logStreamNames"].([]any); ok {
		for _, n := range l {
			names = append(names, fmt.Sprint(n))
		}
	}
	prefix, _ := body["logStreamNamePrefix"].(string)
	if prefix != "" && len(names) > 0 { // both: InvalidParameterException (FilterLogEvents API reference)
		return nil, &Error{Status: 400, Type: "InvalidParameterException", Message: "Cannot specify both logStreamNames and logStreamNamePrefix"}
	}
	start, _ := body["startTime"].(float64)
	if _, ok := body["nextToken"]; !ok && s.EmptyLogPages > 0 {
		// "A returned page might only be partially full, or even empty … If the
		// results include a nextToken, there might be more log events available"
		// (FilterLogEvents API reference).
		return map[string]any{"events": []any{}, "nextToken": "page-0"}, nil
	}
	type ev struct {
		stream string
		e      LogEvent
	}
	var all []ev
	found := false
	for key, events := range s.logs {
		g, stream, _ := strings.Cut(key, "\x00")
		if g != group {
			continue
		}
		found = true
		if (len(names) > 0 && !slices.Contains(names, stream)) || !strings.HasPrefix(stream, prefix) {
			continue
		}
		for _, e := range events {
			if float64(e.At.UnixMilli()) >= start {
				all = append(all, ev{stream, e})
			}
		}
	}
	for _, td := range s.taskDefs { // Pulumi created the groups the task definitions name
		for _, c := range td.Containers {
			found = found || c.LogGroup == group
		}
	}
	if !found {
		return nil, &Error{Status: 400, Type: "ResourceNotFoundException", Message: "The specified log group does not exist."}
	}
	// A named stream that does not exist fails the whole request (the API reference
	// is silent; percona/rds_exporter bisects its batches for this, issue #81).
	for _, n := range names {
		if _, ok := s.logs[group+"\x00"+n]; !ok {
			return nil, &Error{Status: 400, Type: "ResourceNotFoundException", Message: "The specified log stream does not exist."}
		}
	}
	slices.SortStableFunc(all, func(a, b ev) int { return a.e.At.Compare(b.e.At) })
	var ids []string
	for i := range all {
		ids = append(ids, fmt.Sprint(i))
	}
	page, next := s.page(ids, body["nextToken"])
	out := []any{}
	for _, i := range page {
		var n int
		fmt.Sscanf(i, "%d", &n)
		e := all[n]
		out = append(out, map[string]any{"logStreamName": e.stream, "timestamp": e.e.At.UnixMilli(), "message": e.e.Message, "eventId": fmt.Sprint(e.e.At.UnixNano())})
	}
	res := map[string]any{"events": out}
	if next != "" {
		res["nextToken"] = next
	}
	return res, nil
}

// describeTargetHealth answers the targets of a target group: the tasks of the
// task sets behind it. A crashing revision's targets fail their checks with the
// codes nginx answers when the app behind it is gone (Elastic Load Balancing's
// TargetHealth reason codes, API reference).
func (s *Sim) describeTargetHealth(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := fmt.Sprint(body["TargetGroupArn"])
	sets := map[string]bool{}
	if s.svc != nil && s.svc.primary.targetGroup == tg {
		sets[s.svc.primary.id] = true
	}
	for _, d := range s.deps {
		if d.previous != nil && d.previous.targetGroup == tg && Active(d.status) { // old tasks wait out the termination
			sets[d.previous.id] = true
		}
	}
	out := []any{}
	for _, arn := range s.taskOrder {
		t := s.tasks[arn]
		// A broken revision's task: its target is registered as the task activates
		// (ECS task lifecycle, ACTIVATING: "registers load balancer target groups";
		// unverified for a task whose nginx never starts). While it runs it is
		// initial, then unhealthy with the codes it answers (healthy when it only
		// serves errors: Crash.Alarm); once ECS stopped it, draining while its
		// deployment or that one's rollback runs (ELB deregistration delay), then
		// gone.
		broken := t.crash != nil && s.targetGroupOf(t) == tg
		if broken && t.stopped && !(t.deployment == "" && time.Since(t.stoppedAt) < time.Minute) && !(t.deployment != "" && s.deploymentOrRollbackActive(t.deployment)) {
			continue
		}
		if !(sets[t.startedBy] && !t.stopped) && !broken {
			continue
		}
		health := map[string]any{"State": "healthy"}
		switch {
		case broken && t.stopped:
			health = map[string]any{"State": "draining", "Reason": "Target.DeregistrationInProgress", "Description": "Target deregistration is in progress"}
		case broken && t.initial:
			health = map[string]any{"State": "initial", "Reason": "Elb.InitialHealthChecking", "Description": "Initial health checks in progress"}
		case broken && t.crash.HealthCheckCodes != "":
			health = map[string]any{"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch", "Description": "Health checks failed with these codes: " + t.crash.HealthCheckCodes}
		}
		out = append(out, map[string]any{"Target": map[string]any{"Id": t.ip, "Port": s.svc.port}, "HealthCheckPort": fmt.Sprint(s.svc.port), "TargetHealth": health})
	}
	return map[string]any{"TargetHealthDescriptions": out}, nil
}

// targetGroupOf is the target group a task's task set was behind.
func (s *Sim) targetGroupOf(t *simTask) string {
	if s.svc != nil && s.svc.primary.id == t.startedBy {
		return s.svc.primary.targetGroup
	}
	// A crashed replacement task set: behind the target group the serving one is not.
	if s.svc != nil {
		return s.otherTargetGroup(s.svc.primary.targetGroup)
	}
	return ""
}

// Active tells whether a CodeDeploy status is still under way.
func Active(status string) bool { return !slices.Contains(simDone, status) }

// describeAlarms answers CloudWatch DescribeAlarms for alarm names, optionally of
// one state.
func (s *Sim) describeAlarms(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, _ := body["AlarmNames"].([]any)
	want, _ := body["StateValue"].(string)
	out := []any{}
	for _, n := range names {
		a, ok := s.alarms[fmt.Sprint(n)]
		if !ok {
			a = alarmState{"OK", "Threshold Crossed: no datapoints were received"}
		}
		if want == "" || a.value == want {
			out = append(out, map[string]any{"AlarmName": fmt.Sprint(n), "StateValue": a.value, "StateReason": a.reason})
		}
	}
	return map[string]any{"MetricAlarms": out}, nil
}

// stopTask is ECS StopTask: the task stops, its containers killed (exit 137).
func (s *Sim) stopTask(body map[string]any) (any, *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[fmt.Sprint(body["task"])]
	if !ok {
		return nil, &Error{Status: 400, Type: "InvalidParameterException", Message: "The referenced task was not found."}
	}
	if !t.stopped {
		reason, _ := body["reason"].(string)
		t.stopped, t.stopCode, t.reason, t.exit, t.stoppedAt = true, "UserInitiated", reason, 137, time.Now()
		s.event("task %s stopped by the user", t.arn)
	}
	return map[string]any{"task": map[string]any{"taskArn": t.arn, "lastStatus": "STOPPED"}}, nil
}

// deploymentOrRollbackActive tells whether a deployment, or its rollback, is still
// under way.
func (s *Sim) deploymentOrRollbackActive(id string) bool {
	for _, d := range s.deps {
		if (d.id == id || (d.rollbackOf != nil && d.rollbackOf.id == id)) && Active(d.status) {
			return true
		}
	}
	return false
}
