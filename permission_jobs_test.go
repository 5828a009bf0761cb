package main

import (
	"fmt"
	"strings"
	"testing"

	"ecs-bluegreen/infra/offline"
)

// The calls AWS makes for the workers, schedules and queues, as each role, and as
// CI's deploy role. Sources as in permission_calls_test.go, and:
//   [SQS]   Amazon SQS developer guide and API reference: "To be able to tag a queue
//           on creation, you must have the sqs:CreateQueue and sqs:TagQueue
//           permissions" (CreateQueue); a producer sends, a consumer receives,
//           deletes and changes visibility; GetQueueUrl and GetQueueAttributes find
//           and watch a queue.
//   [SCHED] EventBridge Scheduler user guide: the schedule's execution role makes
//           the target's call (the universal target aws-sdk:ecs:runTask: ecs:RunTask,
//           with iam:PassRole of the task's roles, "Using universal targets") and
//           sends to the dead-letter queue ("Configuring a schedule's dead-letter
//           queue"); creating or updating a schedule passes that role to Scheduler.
//   [EB]    Amazon EventBridge user guide: PutRule, PutTargets; an SQS target is
//           written by events.amazonaws.com through the queue's policy, no role.

// jobDeployCalls adds the deploy role's calls for the jobs' resource types [TF].
func jobDeployCalls(t *testing.T, f stackFacts, r *offline.Resource,
	add func(list *[]call, why, arn string, ctx map[string][]string, actions ...string),
	pass func(list *[]call, why, role, service string), c, u *[]call) {
	t.Helper()
	tags := map[string]string{}
	if v, ok := r.Inputs["tags"]; ok && v.IsObject() {
		for k, e := range v.ObjectValue() {
			tags[string(k)] = e.StringValue()
		}
	}
	ex, cr := onExisting(tags), creating(tags)
	why := "TF " + r.Type
	switch r.Type {
	case tQueue:
		// internal/service/sqs/queue.go: CreateQueue with attributes and tags, the
		// wait for its attributes, the read; SetQueueAttributes on a change [SQS].
		arn := str(t, r, "out:arn")
		add(c, why, arn, cr, "sqs:CreateQueue", "sqs:TagQueue")
		add(c, why+" read", arn, ex, "sqs:GetQueueAttributes", "sqs:ListQueueTags", "sqs:GetQueueUrl")
		add(u, why+" attributes", arn, ex, "sqs:SetQueueAttributes", "sqs:GetQueueAttributes")
	case tQueuePolicy:
		// internal/service/sqs/queue_policy.go: the Policy attribute.
		q := f.g.byURL(str(t, r, "queueUrl"))
		qex := onExisting(f.tags)
		for _, list := range []*[]call{c, u} {
			add(list, why, str(t, q, "out:arn"), qex, "sqs:SetQueueAttributes", "sqs:GetQueueAttributes")
		}
	case tScheduleGroup:
		// internal/service/scheduler/schedule_group.go
		arn := str(t, r, "out:arn")
		add(c, why, arn, cr, "scheduler:CreateScheduleGroup")
		add(c, why+" read", arn, ex, "scheduler:GetScheduleGroup", "scheduler:ListTagsForResource")
	case tSchedule:
		// internal/service/scheduler/schedule.go: the schedule passes Scheduler its
		// role [SCHED]; a new revision updates the schedule's input.
		arn := str(t, r, "out:arn")
		for _, list := range []*[]call{c, u} {
			add(list, why, arn, nil, map[*[]call]string{c: "scheduler:CreateSchedule", u: "scheduler:UpdateSchedule"}[list], "scheduler:GetSchedule")
			pass(list, why+": Scheduler's role", str(t, r, "target.roleArn"), "scheduler.amazonaws.com")
		}
	case tEventRule:
		// internal/service/events/rule.go
		arn := str(t, r, "out:arn")
		add(c, why, arn, cr, "events:PutRule")
		add(c, why+" read", arn, ex, "events:DescribeRule", "events:ListTagsForResource")
		add(u, why+" pattern", arn, ex, "events:PutRule", "events:DescribeRule")
	case tEventTarget:
		// internal/service/events/target.go: on the rule [EB].
		rule := f.g.byName(tEventRule, str(t, r, "rule"))
		rex := onExisting(f.tags)
		add(c, why, str(t, rule, "out:arn"), rex, "events:PutTargets", "events:ListTargetsByRule")
	}
}

// byURL finds a queue by its URL.
func (g graph) byURL(url string) *offline.Resource {
	g.t.Helper()
	for _, r := range g.all(tQueue) {
		if str(g.t, r, "out:url") == url {
			return r
		}
	}
	g.t.Fatalf("no queue at %s", url)
	return nil
}

// queueArns are the stack's work queues (not their dead-letter queues, not the
// job-failure queue).
func queueArns(f stackFacts) []string {
	var out []string
	for _, q := range f.g.all(tQueue) {
		if !strings.HasSuffix(q.Name, "-dlq") && !strings.HasSuffix(q.Name, "-job-failures") {
			out = append(out, str(f.g.t, q, "out:arn"))
		}
	}
	return out
}

// queueCalls: what the app's code calls with its task role: web sends, the
// workers and schedules also consume [SQS].
func queueCalls(f stackFacts, consume bool) []call {
	var cs []call
	for _, arn := range queueArns(f) {
		for _, a := range []string{"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"} {
			cs = append(cs, call{a, arn, onExisting(f.tags), "SQS: the app enqueues"})
		}
		if consume {
			for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} {
				cs = append(cs, call{a, arn, onExisting(f.tags), "SQS: a worker consumes"})
			}
		}
	}
	return cs
}

// jobsExecutionCalls: what ECS does as the jobs' execution role: pull the app
// image (not nginx's), write each worker's and schedule's streams, read the app's
// secrets [ECS].
func jobsExecutionCalls(f stackFacts) []call {
	app := str(f.g.t, f.g.one(tRepo, "-app"), "out:arn")
	cs := []call{{"ecr:GetAuthorizationToken", "*", nil, "ECS: registry login"}}
	for _, a := range []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"} {
		cs = append(cs, call{a, app, onExisting(f.tags), "ECS: pulls the app image"})
	}
	for _, prefix := range []string{"worker", "indexer", "report"} {
		stream := fmt.Sprintf("%s:log-stream:%s/app/0123456789abcdef", f.logGroupARN, prefix)
		cs = append(cs, call{"logs:CreateLogStream", stream, nil, "ECS: awslogs, " + prefix}, call{"logs:PutLogEvents", stream, nil, "ECS: awslogs, " + prefix})
	}
	cs = append(cs, call{"ssm:GetParameters", str(f.g.t, f.g.one(tParam, "-secret-key"), "out:arn"), onExisting(f.tags), "ECS: the generated secret key"})
	cs = append(cs, call{"ssm:GetParameters", secretARNs["API_TOKEN"], nil, "ECS: an appSecrets parameter"})
	cs = append(cs, call{"secretsmanager:GetSecretValue", secretARNs["DB_PASSWORD"], nil, "ECS: an appSecrets secret"})
	cs = append(cs, call{"kms:Decrypt", "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", nil, "ECS: the secrets' key"})
	return cs
}

// schedulerCalls: what Scheduler does as the schedules' role when one fires: the
// universal target's RunTask of the schedule's revision in the stack's cluster,
// the roles it passes, the dead letter of a run that could not start [SCHED].
func schedulerCalls(f stackFacts) []call {
	cluster := f.arn("ecs", "cluster/"+f.cluster)
	passTo := map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}
	td := f.g.one(tTaskDef, "-report")
	return []call{
		{"ecs:RunTask", str(f.g.t, td, "out:arn"), with(onExisting(f.tags), "ecs:cluster", cluster), "SCHED: the schedule's RunTask"},
		{"iam:PassRole", str(f.g.t, f.jobsExec, "out:arn"), passTo, "SCHED: RunTask passes the execution role"},
		{"iam:PassRole", str(f.g.t, f.jobsTask, "out:arn"), passTo, "SCHED: RunTask passes the task role"},
		{"sqs:SendMessage", str(f.g.t, f.g.one(tQueue, "-job-failures"), "out:arn"), onExisting(f.tags), "SCHED: the dead letter"},
	}
}

// workerRolloutCalls: the worker verdict's reads, per worker service [ROLL
// workers.go; diagnose.go's report of its stopped tasks].
func workerRolloutCalls(f stackFacts) []call {
	cluster := f.arn("ecs", "cluster/"+f.cluster)
	var cs []call
	for _, svc := range f.g.all(tService) {
		if svc.Name == "web" {
			continue
		}
		arn := f.arn("ecs", "service/"+f.cluster+"/"+str(f.g.t, svc, "out:name"))
		cs = append(cs, call{"ecs:DescribeServices", arn, onExisting(f.tags), "ROLL workers.go: the worker's deployments"})
		task := f.arn("ecs", "task/"+f.cluster+"/fedcba9876543210fedcba9876543210")
		cs = append(cs, call{"ecs:DescribeTasks", task, with(onExisting(f.tags), "ecs:cluster", cluster), "ROLL workers.go: its stopped tasks"})
		stream := fmt.Sprintf("%s:log-stream:%s/app/fedcba9876543210", f.logGroupARN, strings.TrimPrefix(svc.Name, "web-"))
		cs = append(cs, call{"logs:GetLogEvents", stream, nil, "ROLL diagnose.go: a stopped worker task's last lines"})
	}
	return cs
}

// TestJobRolesExactly: the scheduler's role may run exactly the schedules'
// families in the stack's cluster and pass exactly the jobs' roles to ECS tasks;
// the jobs' task role may not read the app's secrets; web may only send.
func TestJobRolesExactly(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			f := permissionStack(t, stack)
			other := f.arn("ecs", "cluster/someone-elses")
			passTo := map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}
			mustDeny(t, "Scheduler's role", rolePrincipal(t, f.g, f.scheduler), []call{
				{"ecs:RunTask", f.taskDefARN, with(onExisting(f.tags), "ecs:cluster", f.arn("ecs", "cluster/"+f.cluster)), "the web task definition"},
				{"ecs:RunTask", str(t, f.g.one(tTaskDef, "-worker"), "out:arn"), with(onExisting(f.tags), "ecs:cluster", f.arn("ecs", "cluster/"+f.cluster)), "a worker's task definition"},
				{"ecs:RunTask", str(t, f.g.one(tTaskDef, "-report"), "out:arn"), with(onExisting(f.tags), "ecs:cluster", other), "the schedule's family in another cluster"},
				{"iam:PassRole", str(t, f.execRole, "out:arn"), passTo, "the web's execution role"},
				{"iam:PassRole", str(t, f.jobsExec, "out:arn"), map[string][]string{"iam:PassedToService": {"lambda.amazonaws.com"}}, "the jobs' role to another service"},
				{"sqs:SendMessage", queueArns(f)[0], onExisting(f.tags), "a work queue"},
			})
			mustDeny(t, "the jobs' task role", rolePrincipal(t, f.g, f.jobsTask), secretCalls(f))
			mustDeny(t, "the web task role", rolePrincipal(t, f.g, f.taskRole), queueCalls(f, true)[3:6])
		})
	}
}

// TestNoQueuesNoTaskRolePolicy: without queues the web app calls no AWS API, and
// its task role has no policy at all.
func TestNoQueuesNoTaskRolePolicy(t *testing.T) {
	g := runStack(t, "dev", nil)
	if ps := rolePolicies(t, g, g.one(tRole, "-task")); len(ps) > 0 {
		t.Errorf("the task role has policies %v; the app calls no AWS API", ps)
	}
}
