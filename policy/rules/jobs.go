package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Rules of the workers, schedules and queues. The task rules above apply to the
// workers' and schedules' task definitions by type; these add what is new.

const (
	tQueue    = "aws:sqs/queue:Queue"
	tSchedule = "aws:scheduler/schedule:Schedule"
	tCluster  = "aws:ecs/cluster:Cluster"
)

func jobRules() []Rule {
	return []Rule{
		{Name: "rolling-circuit-breaker", Covers: "—",
			Description: "ECS services with the rolling (ECS) deployment controller use the deployment circuit breaker with rollback, so a revision whose tasks never run is rolled back.",
			Types:       []string{tService}, Resource: rollingCircuitBreaker},
		{Name: "scheduler-role-scoped", Covers: "—",
			Description: "A schedule's role may only run the task definition families the stack's schedules run (any revision, in their cluster), tag only the tasks RunTask starts there, pass only those task definitions' roles to ecs-tasks.amazonaws.com, and send only to the schedules' dead-letter queues.",
			Stack:       schedulerRole},
		{Name: "schedule-retry-dead-letter", Covers: "—",
			Description: "Every schedule has a retry policy and a dead-letter queue: a run Scheduler fails to invoke (RunTask answers an error) is retried, then kept, not lost.",
			Types:       []string{tSchedule}, Resource: scheduleRetryDeadLetter},
		{Name: "sqs-encrypted", Covers: "FSBP SQS.1; checkov CKV_AWS_27",
			Description: "SQS queues are encrypted at rest (SSE-SQS or a KMS key).",
			Types:       []string{tQueue}, Resource: sqsEncrypted},
		{Name: "queue-dead-letter", Covers: "—",
			Description: "Every queue that is not itself a dead-letter queue has a redrive policy: a message that keeps failing moves aside instead of blocking the workers.",
			Stack:       queueDeadLetter},
	}
}

func rollingCircuitBreaker(r Resource) []string {
	if c := str(r.Props, "deploymentController", "type"); c != "" && c != "ECS" {
		return nil
	}
	enable, _ := boolean(r.Props, "deploymentCircuitBreaker", "enable")
	rollback, _ := boolean(r.Props, "deploymentCircuitBreaker", "rollback")
	if !enable || !rollback {
		return []string{fmt.Sprintf("rolling deployments without the circuit breaker's rollback (enable %v, rollback %v): a revision whose tasks crash is never rolled back", enable, rollback)}
	}
	return nil
}

func scheduleRetryDeadLetter(r Resource) []string {
	var out []string
	if get(r.Props, "target", "retryPolicy") == nil {
		out = append(out, "schedule without a retry policy")
	}
	if str(r.Props, "target", "deadLetterConfig", "arn") == "" && !unknown(get(r.Props, "target", "deadLetterConfig", "arn")) {
		out = append(out, "schedule without a dead-letter queue: a run that cannot start is lost")
	}
	return out
}

func sqsEncrypted(r Resource) []string {
	if sse, _ := boolean(r.Props, "sqsManagedSseEnabled"); sse || get(r.Props, "kmsMasterKeyId") != nil {
		return nil
	}
	return []string{"queue not encrypted at rest: set sqsManagedSseEnabled or kmsMasterKeyId"}
}

func queueDeadLetter(rs []Resource, byURN map[string]Resource) []Violation {
	dlq := map[string]bool{}
	for _, r := range rs {
		switch r.Type {
		case tQueue:
			for _, d := range deps(r, "redrivePolicy", tQueue, byURN) {
				dlq[d.URN] = true
			}
		case tSchedule:
			for _, d := range deps(r, "target", tQueue, byURN) {
				dlq[d.URN] = true
			}
		}
	}
	var out []Violation
	for _, r := range rs {
		if r.Type == tQueue && !dlq[r.URN] && get(r.Props, "redrivePolicy") == nil {
			out = append(out, Violation{URN: r.URN, Message: "queue without a redrive policy: a message that keeps failing is received again for ever"})
		}
	}
	return out
}

// familyARN matches a task definition ARN; group 1 is its family.
var familyARN = regexp.MustCompile(`^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/([A-Za-z0-9_-]+)(:[0-9*]+)?$`)

func schedulerRole(rs []Resource, byURN map[string]Resource) []Violation {
	type scope struct{ families, roles, queues, clusters map[string]bool }
	byRole := map[string]*scope{}
	roles := map[string]Resource{}
	for _, sched := range rs {
		if sched.Type != tSchedule {
			continue
		}
		for _, role := range deps(sched, "target", tRole, byURN) {
			s := byRole[role.URN]
			if s == nil {
				s = &scope{map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}}
				byRole[role.URN], roles[role.URN] = s, role
			}
			for _, td := range deps(sched, "target", tTaskDef, byURN) {
				s.families[str(td.Props, "family")] = true
				for _, k := range []string{"executionRoleArn", "taskRoleArn"} {
					if arn := str(td.Props, k); arn != "" {
						s.roles[arn] = true
					}
				}
			}
			for _, q := range deps(sched, "target", tQueue, byURN) {
				s.queues[str(q.Props, "arn")] = true
			}
			for _, c := range deps(sched, "target", tCluster, byURN) {
				s.clusters[str(c.Props, "arn")] = true
			}
		}
	}
	var out []Violation
	for _, urn := range sortedKeys(byRole) {
		s, role := byRole[urn], roles[urn]
		inline, attached := rolePolicies(role, rs)
		for _, a := range attached {
			out = append(out, Violation{URN: a.URN, Message: fmt.Sprintf("schedule role %s has the managed policy %s: grant exactly the schedules' task definitions inline", role.Name, str(a.Props, "policyArn"))})
		}
		for _, p := range inline {
			statements, ok := policyDoc(p.Props["policy"])
			if !ok {
				continue
			}
			for _, st := range statements {
				if st.Effect != "Allow" {
					continue
				}
				out = append(out, schedulerStatement(p.URN, st, s.families, s.roles, s.queues, s.clusters)...)
			}
		}
	}
	return out
}

func schedulerStatement(urn string, st statement, families, roles, queues, clusters map[string]bool) []Violation {
	bad := func(format string, args ...any) Violation {
		return Violation{URN: urn, Message: fmt.Sprintf(format, args...)}
	}
	var out []Violation
	switch {
	case slices.Equal(st.Action, []string{"ecs:RunTask"}):
		for _, res := range st.Resource {
			m := familyARN.FindStringSubmatch(res)
			if m == nil || !families[m[1]] {
				out = append(out, bad("schedule role may run %s, which is no family the stack's schedules run", res))
			}
		}
		var in []string
		for _, op := range []string{"ArnEquals", "StringEquals"} {
			in = append(in, oneOrMany(get(st.Condition, op, "ecs:cluster"))...)
		}
		if len(in) == 0 || slices.ContainsFunc(in, func(c string) bool { return !clusters[c] }) {
			out = append(out, bad("schedule role may run tasks in clusters %v: limit ecs:RunTask to the schedules' cluster (ecs:cluster)", in))
		}
	case slices.Equal(st.Action, []string{"iam:PassRole"}):
		if !passRoleTo(st, "ecs-tasks.amazonaws.com") {
			out = append(out, bad("schedule role may pass roles to any service: add iam:PassedToService ecs-tasks.amazonaws.com"))
		}
		for _, res := range st.Resource {
			if !roles[res] {
				out = append(out, bad("schedule role may pass %s, which is no role of the schedules' task definitions", res))
			}
		}
	case slices.Equal(st.Action, []string{"ecs:TagResource"}):
		// Tagging the tasks RunTask starts (tag propagation), nothing else.
		if in := oneOrMany(get(st.Condition, "StringEquals", "ecs:CreateAction")); !slices.Equal(in, []string{"RunTask"}) {
			out = append(out, bad("schedule role may tag with ecs:CreateAction %v: only the tasks RunTask starts (StringEquals RunTask)", in))
		}
		tasks := map[string]bool{} // task/<cluster name>/* of each schedule's cluster
		for c := range clusters {
			tasks[strings.Replace(c, ":cluster/", ":task/", 1)+"/*"] = true
		}
		for _, res := range st.Resource {
			if !tasks[res] {
				out = append(out, bad("schedule role may tag %s, which is no task of the schedules' cluster", res))
			}
		}
	case slices.Equal(st.Action, []string{"sqs:SendMessage"}):
		for _, res := range st.Resource {
			if !queues[res] {
				out = append(out, bad("schedule role may send to %s, which is no schedule's dead-letter queue", res))
			}
		}
	default:
		out = append(out, bad("schedule role may %s: only ecs:RunTask, ecs:TagResource of the tasks it starts, iam:PassRole of the tasks' roles and sqs:SendMessage to the dead-letter queue", strings.Join(st.Action, ", ")))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
