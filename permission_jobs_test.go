package main

import (
	"fmt"
	"maps"
	"slices"
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
//   [DEL]   Terraform AWS provider v5, internal/service/<svc>/<resource>.go, each
//           resource's Delete: ecs/service.go drains (UpdateService desiredCount 0),
//           DeleteService, waits for INACTIVE (DescribeServices); iam/role.go's
//           deleteRole lists and leaves instance profiles (ListInstanceProfilesForRole),
//           then DeleteRole (inline policies are aws_iam_role_policy resources of
//           their own: DeleteRolePolicy); ec2/vpc_security_group.go looks for
//           lingering network interfaces (DescribeNetworkInterfaces), then
//           DeleteSecurityGroup and waits (DescribeSecurityGroups); sqs/queue.go
//           DeleteQueue and waits (GetQueueAttributes); sqs/queue_policy.go sets the
//           Policy attribute empty (SetQueueAttributes); scheduler/schedule.go
//           DeleteSchedule; scheduler/schedule_group.go DeleteScheduleGroup, which
//           the Service Authorization Reference's operations table also authorizes
//           as scheduler:DeleteSchedule, and waits (GetScheduleGroup); events/
//           target.go RemoveTargets, events/rule.go DeleteRule;
//           cloudwatch/metric_alarm.go DeleteAlarms; appautoscaling/target.go
//           DeregisterScalableTarget, policy.go DeleteScalingPolicy (and for target
//           tracking Application Auto Scaling deletes its alarms [AAS]). A task
//           definition with skip_destroy is left registered: no call.

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
		// PropagateTags TASK_DEFINITION: the task gets the task definition's tags,
		// which RunTask authorizes as TagResource [ECS: tagging authorization].
		{"ecs:TagResource", f.arn("ecs", "task/"+f.cluster+"/fedcba9876543210fedcba9876543210"), with(creating(f.tags), "ecs:CreateAction", "RunTask"), "ECS: the run's tags, propagated"},
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
				{"ecs:TagResource", f.serviceARN, onExisting(f.tags), "tagging the web service"},
				{"ecs:TagResource", f.arn("ecs", "task/someone-elses/fedcba9876543210fedcba9876543210"), with(creating(f.tags), "ecs:CreateAction", "RunTask"), "tagging a task of another cluster"},
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

// jobRemovalCalls are the deploy role's calls of the `up` that removes what the
// graph with jobs has and the one without lacks: every worker, schedule and queue
// [DEL].
func jobRemovalCalls(t *testing.T, f stackFacts, without graph) []call {
	t.Helper()
	kept := map[string]bool{}
	for _, r := range without.rs {
		kept[r.URN] = true
	}
	tagsOf := func(r *offline.Resource) map[string][]string {
		tags := map[string]string{}
		if v, ok := r.Inputs["tags"]; ok && v.IsObject() {
			for k, e := range v.ObjectValue() {
				tags[string(k)] = e.StringValue()
			}
		}
		return onExisting(tags)
	}
	bounded := func(role *offline.Resource) map[string][]string {
		return with(tagsOf(role), "iam:PermissionsBoundary", str(t, role, "permissionsBoundary"))
	}
	cluster := f.arn("ecs", "cluster/"+f.cluster)
	var cs []call
	add := func(why, arn string, ctx map[string][]string, actions ...string) {
		for _, a := range actions {
			cs = append(cs, call{a, arn, ctx, "DEL " + why})
		}
	}
	for _, r := range f.g.rs {
		if kept[r.URN] {
			continue
		}
		why := r.Type
		// Deleted by their own ARN, with their own tags.
		own := map[string][]string{
			tQueue:       {"sqs:DeleteQueue", "sqs:GetQueueAttributes"},
			tEventRule:   {"events:DeleteRule"},
			tAlarm:       {"cloudwatch:DeleteAlarms"},
			tScaleTarget: {"application-autoscaling:DeregisterScalableTarget"},
		}
		if actions, ok := own[r.Type]; ok {
			add(why, str(t, r, "out:arn"), tagsOf(r), actions...)
			continue
		}
		switch r.Type {
		case "ecs-bluegreen:infra:Queues", "ecs-bluegreen:infra:Jobs", "ecs-bluegreen:infra:Workers", "ecs-bluegreen:infra:Schedules":
			// components: no API calls
		case tQueuePolicy:
			q := f.g.byURL(str(t, r, "queueUrl"))
			add(why, str(t, q, "out:arn"), tagsOf(q), "sqs:SetQueueAttributes")
		case tSchedule:
			add(why, str(t, r, "out:arn"), nil, "scheduler:DeleteSchedule")
		case tScheduleGroup:
			add(why, str(t, r, "out:arn"), tagsOf(r), "scheduler:DeleteScheduleGroup", "scheduler:GetScheduleGroup")
			for _, sched := range f.g.all(tSchedule) {
				add(why+": its schedules", str(t, sched, "out:arn"), nil, "scheduler:DeleteSchedule")
			}
		case tEventTarget:
			rule := f.g.byName(tEventRule, str(t, r, "rule"))
			add(why, str(t, rule, "out:arn"), tagsOf(rule), "events:RemoveTargets")
		case tScalePolicy:
			var target *offline.Resource
			for _, st := range f.g.all(tScaleTarget) {
				if str(t, st, "resourceId") == str(t, r, "resourceId") {
					target = st
				}
			}
			add(why, str(t, target, "out:arn"), tagsOf(target), "application-autoscaling:DeleteScalingPolicy")
			if str(t, r, "policyType") == "TargetTrackingScaling" {
				service := strings.TrimPrefix(str(t, r, "resourceId"), "service/"+f.cluster+"/")
				alarm := f.arn("cloudwatch", fmt.Sprintf("alarm:TargetTracking-service/%s/%s-AlarmHigh-0123abcd", f.cluster, service))
				add(why+" [AAS: target tracking alarms]", alarm, nil, "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms")
			}
		case tService:
			svc := f.arn("ecs", "service/"+f.cluster+"/"+str(t, r, "out:name"))
			add(why, svc, tagsOf(r), "ecs:DescribeServices", "ecs:UpdateService")
			add(why, svc, with(tagsOf(r), "ecs:cluster", cluster), "ecs:DeleteService")
		case tTaskDef:
			if !boolean(t, r, "skipDestroy") {
				add(why, str(t, r, "out:arn"), tagsOf(r), "ecs:DeregisterTaskDefinition")
			}
		case tRole:
			add(why, str(t, r, "out:arn"), bounded(r), "iam:ListInstanceProfilesForRole", "iam:DeleteRole")
		case tRolePolicy:
			role := f.g.roleNamed(str(t, r, "role"))
			add(why, str(t, role, "out:arn"), bounded(role), "iam:DeleteRolePolicy")
		case tSG:
			add(why, "*", nil, "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups")
			add(why, str(t, r, "out:arn"), tagsOf(r), "ec2:DeleteSecurityGroup")
		default:
			t.Errorf("%s: no entry for %s in jobRemovalCalls: list the API calls its delete makes", r.URN, r.Type)
		}
	}
	if len(cs) == 0 {
		t.Fatal("the stack with jobs has nothing the one without lacks")
	}
	return cs
}

// withoutJobs are permOverrides less the workers, schedules and queues.
func withoutJobs() map[string]string {
	o := maps.Clone(permOverrides)
	for _, k := range []string{"workers", "schedules", "queues"} {
		delete(o, k)
	}
	return o
}

// TestDeployRoleCoversJobsComingAndGoing (review of issue 16, finding 1): a deploy
// role may never change its own policy (CIRolesFromBootstrapOnly), so the policy
// of a stack without workers, schedules and queues must already allow the first
// `up` with them — their roles passed, their schedules created, their rollout
// followed — and the policy with them the `up` that removes them. Both are the
// same document: adding or removing jobs leaves the CI roles and the boundary
// as the bootstrap workstation made them.
func TestDeployRoleCoversJobsComingAndGoing(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			jobs, plain := permissionStack(t, stack), runStack(t, stack, withoutJobs())
			doc := func(g graph, typ, suffix, prop string) string { return str(t, g.one(typ, suffix), prop) }
			for _, d := range []struct{ typ, suffix, prop string }{
				{tRolePolicy, "-ci-deploy", "policy"}, {tRolePolicy, "-ci-preview", "policy"}, {tPolicy, "-boundary", "policy"},
			} {
				if a, b := doc(plain, d.typ, d.suffix, d.prop), doc(jobs.g, d.typ, d.suffix, d.prop); a != b {
					t.Errorf("%s *%s: %s differs with jobs: a CI `up` could not write it\n without %s\n with    %s", d.typ, d.suffix, d.prop, a, b)
				}
			}
			before := rolePrincipal(t, plain, plain.one(tRole, "-ci-deploy"))
			first, later := deployCalls(t, jobs)
			mustAllow(t, "the deploy role without jobs, on the first up with them", before, slices.Concat(first, later, rolloutCalls(jobs)))
			removal := jobRemovalCalls(t, jobs, plain)
			mustAllow(t, "the deploy role with jobs, on the up that removes them", rolePrincipal(t, jobs.g, jobs.g.one(tRole, "-ci-deploy")), removal)
			mustAllow(t, "the deploy role without jobs, on the up that removes them", before, removal)
		})
	}
}

// TestDeployRoleEventBridgeRulesOnly (review of issue 16, finding 5): the deploy
// role manages EventBridge rules, the only EventBridge resource the stack has, and
// nothing else of the account's EventBridge — buses, connections, API destinations,
// archives (resource types of the Service Authorization Reference), none tagged
// with a stack, so otherStacks would not deny them. Put/RemovePermission, the
// default bus's policy, have no resource type (SAR): no ARN-scoped grant reaches
// them, which this keeps so.
func TestDeployRoleEventBridgeRulesOnly(t *testing.T) {
	f := permissionStack(t, "dev")
	deploy := rolePrincipal(t, f.g, f.g.one(tRole, "-ci-deploy"))
	mustDeny(t, "dev's deploy role", deploy, []call{
		{"events:PutPermission", "*", nil, "the default bus's policy (SAR: no resource type): opening it to other accounts"},
		{"events:RemovePermission", "*", nil, "the default bus's policy (SAR: no resource type)"},
		{"events:CreateEventBus", f.arn("events", "event-bus/elsewhere"), nil, "another bus"},
		{"events:CreateConnection", f.arn("events", "connection/elsewhere"), nil, "a connection (credentials for API destinations)"},
		{"events:CreateApiDestination", f.arn("events", "api-destination/elsewhere"), nil, "an API destination"},
		{"events:CreateArchive", f.arn("events", "archive/elsewhere"), nil, "an archive"},
	})
	rule := str(t, f.g.one(tEventRule, "-job-failures"), "out:arn")
	mustAllow(t, "dev's deploy role", deploy, []call{
		{"events:DeleteRule", rule, onExisting(f.tags), "the stack's rule"},
		{"events:RemoveTargets", rule, onExisting(f.tags), "the stack's rule's target"},
		{"events:TagResource", rule, with(creating(f.tags), "aws:ResourceTag/stack", f.stack), "the stack's rule's tags"},
	})
}

// TestPolicySizes: IAM refuses a role whose inline policies add up to more than
// 10,240 characters, and a managed policy over 6,144 (IAM User Guide, "IAM and AWS
// STS quotas": role policy size, managed policy size; whitespace does not count).
// The deploy policy grows with every grant it holds whether the stack uses it or
// not.
func TestPolicySizes(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		f := permissionStack(t, stack)
		inline := map[string]int{}
		for _, rp := range f.g.all(tRolePolicy) {
			inline[str(t, rp, "role")] += len(str(t, rp, "policy"))
		}
		for role, n := range inline {
			if n > 10240 {
				t.Errorf("%s: role %s has %d characters of inline policy; IAM allows 10,240", stack, role, n)
			}
		}
		for _, p := range f.g.all(tPolicy) {
			if n := len(str(t, p, "policy")); n > 6144 {
				t.Errorf("%s: %s is %d characters; IAM allows 6,144 for a managed policy", stack, p.URN, n)
			}
		}
		t.Logf("%s: deploy role %d characters inline", stack, inline[str(t, f.g.one(tRole, "-ci-deploy"), "out:name")])
	}
}
