package infra

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/scheduler"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SchedulesArgs configures NewSchedules.
type SchedulesArgs struct {
	Schedules      map[string]ScheduleConfig
	Jobs           *Jobs
	Cluster        *ecs.Cluster
	Subnets        pulumi.StringArrayInput
	AssignPublicIP bool
	Partition      string
	Region         string
	// Boundary is the permissions boundary of Scheduler's role (nil: none).
	Boundary *Boundary
	Tags     pulumi.StringMap
}

// Schedules are EventBridge Scheduler schedules, in the stack's own schedule
// group, each running a one-off task of its task definition's current revision —
// registered only once the web deployment succeeded, so a schedule points at the
// revision that serves — with its command as the container override. A run
// Scheduler fails to invoke (after the retries) or whose task fails lands in the
// job-failure queue, whose alarm then fires. A RunTask that answers with failures
// and starts no task (capacity) is neither: see README "Failed runs".
type Schedules struct {
	pulumi.ResourceState

	Group *scheduler.ScheduleGroup
	// Role is what Scheduler acts as: it may run exactly the schedules' task
	// definition families in this cluster, pass exactly their roles to ECS tasks,
	// and send to the job-failure queue.
	Role            *iam.Role
	RolePolicy      *iam.RolePolicy
	TaskDefinitions map[string]*ecs.TaskDefinition
	Schedules       map[string]*scheduler.Schedule
	// Failures is Scheduler's dead-letter queue and where failed runs' task state
	// changes go; FailureAlarm fires when a message arrives in it.
	Failures       *sqs.Queue
	FailureRule    *cloudwatch.EventRule
	FailureTarget  *cloudwatch.EventTarget
	FailuresPolicy *sqs.QueuePolicy
	FailureAlarm   *cloudwatch.MetricAlarm
}

// ScheduleFamily is a schedule's task definition family.
func ScheduleFamily(ctx *pulumi.Context, name, schedule string) string {
	return WorkerFamily(ctx, name, schedule)
}

// runTaskTarget is Scheduler's universal target for ECS RunTask: Input is the
// RunTask request itself, in the API model's member names, PascalCase ("Using
// universal targets", Scheduler user guide; a camelCase Input is refused with
// "missing field TaskDefinition", as a public Terraform module notes from a real
// account). The templated ECS target has no container overrides
// (hashicorp/terraform-provider-aws#34057, aws/aws-cdk#34129).
const runTaskAction = "aws-sdk:ecs:runTask"

// runTaskInput is the RunTask request a schedule sends.
type runTaskInput struct {
	Cluster                  string                 `json:"Cluster"`
	TaskDefinition           string                 `json:"TaskDefinition"`
	Count                    int                    `json:"Count"`
	CapacityProviderStrategy []capacityProviderItem `json:"CapacityProviderStrategy"`
	NetworkConfiguration     runTaskNetwork         `json:"NetworkConfiguration"`
	Overrides                runTaskOverrides       `json:"Overrides"`
	// StartedBy marks the task as this schedule's (up to 128 letters, digits, - / _).
	StartedBy string `json:"StartedBy"`
	// PropagateTags TASK_DEFINITION gives the task the task definition's tags (the
	// stack's), so cost allocation by stack counts scheduled runs; tagging on
	// RunTask needs ecs:TagResource (schedulerPolicy).
	PropagateTags string `json:"PropagateTags"`
}

type capacityProviderItem struct {
	CapacityProvider string `json:"CapacityProvider"`
	Weight           int    `json:"Weight"`
}

type runTaskNetwork struct {
	AwsvpcConfiguration struct {
		Subnets        []string `json:"Subnets"`
		SecurityGroups []string `json:"SecurityGroups"`
		AssignPublicIp string   `json:"AssignPublicIp"`
	} `json:"AwsvpcConfiguration"`
}

type runTaskOverrides struct {
	ContainerOverrides []containerOverride `json:"ContainerOverrides"`
}

type containerOverride struct {
	Name    string   `json:"Name"`
	Command []string `json:"Command"`
}

// TimedCommand runs command under GNU coreutils' timeout(1) (the sample image's
// Debian): SIGTERM after the limit (exit 124, a failed run), and SIGKILL
// KillAfterSeconds later if it still runs ("-k: also send a KILL signal if
// COMMAND is still running this long after the initial signal was sent",
// coreutils manual; exit 137), since Fargate has no maximum task run time: a
// command that ignores TERM would otherwise run, and bill, for ever. BusyBox's
// applet is not claimed: older versions took the limit as -t SECS.
func TimedCommand(command []string, minutes int) []string {
	return append([]string{"timeout", "-k", strconv.Itoa(KillAfterSeconds), "-s", "TERM", strconv.Itoa(minutes * 60)}, command...)
}

// KillAfterSeconds is how long a scheduled run may take to exit after SIGTERM.
const KillAfterSeconds = 60

// NewSchedules creates the schedule group, Scheduler's role, each schedule's task
// definition and schedule, and the job-failure queue with its rule and alarm.
func NewSchedules(ctx *pulumi.Context, name string, args *SchedulesArgs, opts ...pulumi.ResourceOption) (*Schedules, error) {
	s := &Schedules{TaskDefinitions: map[string]*ecs.TaskDefinition{}, Schedules: map[string]*scheduler.Schedule{}}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Schedules", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	names := slices.Sorted(maps.Keys(args.Schedules))
	var err error

	s.Group, err = scheduler.NewScheduleGroup(ctx, name, &scheduler.ScheduleGroupArgs{
		Name: pulumi.String(ctx.Project() + "-" + ctx.Stack() + "-" + name),
		Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating schedule group: %w", err)
	}
	if err := s.failures(ctx, name, args, names, parent); err != nil {
		return nil, err
	}

	account := args.Jobs.ExecutionRole.Arn.ApplyT(accountOf).(pulumi.StringOutput)
	// Scheduler assumes the role for the stack's own schedule group only: the
	// confused-deputy guard of the Scheduler user guide ("Confused deputy
	// prevention": aws:SourceAccount, and aws:SourceArn with the schedule group's
	// ARN — a group, never a schedule or a name prefix).
	trust := pulumi.All(account, s.Group.Arn).ApplyT(func(v []any) (string, error) {
		return policy(policyStatement{
			Effect: "Allow", Principal: map[string]string{"Service": "scheduler.amazonaws.com"}, Action: []string{"sts:AssumeRole"},
			Condition: map[string]map[string][]string{
				"StringEquals": {"aws:SourceAccount": {v[0].(string)}},
				"ArnEquals":    {"aws:SourceArn": {v[1].(string)}},
			},
		}).JSON()
	}).(pulumi.StringOutput)
	prefix, err := roleNamePrefix(name, ctx.Stack(), "scheduler")
	if err != nil {
		return nil, err
	}
	s.Role, err = iam.NewRole(ctx, name+"-scheduler", &iam.RoleArgs{NamePrefix: pulumi.String(prefix), AssumeRolePolicy: trust, PermissionsBoundary: args.Boundary.ARN(), Tags: args.Tags}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating Scheduler's role: %w", err)
	}
	var families []string
	for _, sn := range names {
		families = append(families, ScheduleFamily(ctx, name, sn))
	}
	doc := pulumi.All(account, args.Cluster.Arn, args.Jobs.ExecutionRole.Arn, args.Jobs.TaskRole.Arn, s.Failures.Arn).ApplyT(func(v []any) (string, error) {
		return schedulerPolicy(args.Partition, args.Region, v[0].(string), v[1].(string), families, []string{v[2].(string), v[3].(string)}, v[4].(string))
	}).(pulumi.StringOutput)
	if s.RolePolicy, err = iam.NewRolePolicy(ctx, name+"-scheduler", &iam.RolePolicyArgs{Role: s.Role.Name, Policy: doc}, parent); err != nil {
		return nil, fmt.Errorf("creating Scheduler's policy: %w", err)
	}

	for _, sn := range names {
		c := args.Schedules[sn]
		td, err := args.Jobs.TaskDefinition(ctx, name+"-"+sn, ScheduleFamily(ctx, name, sn), JobContainer{Name: sn, CPU: c.CPU, Memory: c.Memory}, s)
		if err != nil {
			return nil, err
		}
		capacity := "FARGATE"
		if c.Spot {
			capacity = "FARGATE_SPOT"
		}
		input := pulumi.All(args.Cluster.Arn, td.Arn, args.Subnets, args.Jobs.SecurityGroup.ID()).ApplyT(func(v []any) (string, error) {
			in := runTaskInput{
				Cluster: v[0].(string), TaskDefinition: v[1].(string), Count: 1,
				CapacityProviderStrategy: []capacityProviderItem{{CapacityProvider: capacity, Weight: 1}},
				Overrides:                runTaskOverrides{ContainerOverrides: []containerOverride{{Name: AppContainer, Command: TimedCommand(c.Command, c.TimeoutMinutes)}}},
				StartedBy:                "schedule/" + sn,
				PropagateTags:            "TASK_DEFINITION",
			}
			in.NetworkConfiguration.AwsvpcConfiguration.Subnets = v[2].([]string)
			in.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups = []string{string(v[3].(pulumi.ID))}
			in.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp = map[bool]string{true: "ENABLED", false: "DISABLED"}[args.AssignPublicIP]
			b, err := json.Marshal(in)
			return string(b), err
		}).(pulumi.StringOutput)
		sched, err := scheduler.NewSchedule(ctx, name+"-"+sn, &scheduler.ScheduleArgs{
			Name:                       pulumi.String(sn),
			GroupName:                  s.Group.Name,
			Description:                pulumi.Sprintf("%s of %s (stack %s)", sn, name, ctx.Stack()),
			ScheduleExpression:         pulumi.String(c.Expression),
			ScheduleExpressionTimezone: pulumi.String(c.Timezone),
			FlexibleTimeWindow:         &scheduler.ScheduleFlexibleTimeWindowArgs{Mode: pulumi.String("OFF")},
			State:                      pulumi.String("ENABLED"),
			Target: &scheduler.ScheduleTargetArgs{
				Arn:     pulumi.Sprintf("arn:%s:scheduler:::%s", args.Partition, runTaskAction),
				RoleArn: s.Role.Arn,
				Input:   input,
				// Retries of a run whose RunTask call failed (an error answer, such
				// as throttling); an hour later the run goes to the dead-letter queue
				// instead. A RunTask answered with failures[] and no task (capacity)
				// is, as far as any AWS source says, a delivered invocation: neither
				// retried nor dead-lettered, and no task event follows
				// (aws/containers-roadmap#1705).
				RetryPolicy: &scheduler.ScheduleTargetRetryPolicyArgs{
					MaximumRetryAttempts: pulumi.Int(c.Retries), MaximumEventAgeInSeconds: pulumi.Int(3600),
				},
				DeadLetterConfig: &scheduler.ScheduleTargetDeadLetterConfigArgs{Arn: s.Failures.Arn},
			},
		}, parent, pulumi.DependsOn([]pulumi.Resource{s.RolePolicy}))
		if err != nil {
			return nil, fmt.Errorf("creating schedule %s: %w", sn, err)
		}
		s.TaskDefinitions[sn], s.Schedules[sn] = td, sched
	}
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"group": s.Group.Name, "failures": s.Failures.Url})
}

// schedulerPolicy: RunTask of exactly these families (any revision: a schedule
// moves to the next one while the policy stays) in this cluster (RunTask's
// ecs:cluster condition key), tagging the tasks it starts and only then (RunTask
// with tags is also authorized as ecs:TagResource, ecs:CreateAction RunTask: "Grant
// permission to tag resources on creation", ECS developer guide, and the managed
// AmazonEC2ContainerServiceEventsRole, which holds exactly that), PassRole of
// exactly the tasks' roles to ECS tasks, and the dead-letter queue, which Scheduler
// writes as this role ("Configuring a schedule's dead-letter queue", Scheduler user
// guide).
func schedulerPolicy(partition, region, account, clusterARN string, families, roles []string, dlqARN string) (string, error) {
	var tds []string
	for _, f := range families {
		tds = append(tds, fmt.Sprintf("arn:%s:ecs:%s:%s:task-definition/%s:*", partition, region, account, f))
	}
	_, clusterName, _ := strings.Cut(clusterARN, ":cluster/")
	return policy(
		policyStatement{Sid: "RunScheduledTasks", Effect: "Allow", Action: []string{"ecs:RunTask"}, Resource: tds,
			Condition: map[string]map[string][]string{"ArnEquals": {"ecs:cluster": {clusterARN}}}},
		policyStatement{Sid: "TagScheduledTasks", Effect: "Allow", Action: []string{"ecs:TagResource"},
			Resource:  []string{fmt.Sprintf("arn:%s:ecs:%s:%s:task/%s/*", partition, region, account, clusterName)},
			Condition: map[string]map[string][]string{"StringEquals": {"ecs:CreateAction": {"RunTask"}}}},
		policyStatement{Sid: "PassTaskRoles", Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: roles,
			Condition: map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}}},
		policyStatement{Sid: "DeadLetters", Effect: "Allow", Action: []string{"sqs:SendMessage"}, Resource: []string{dlqARN}},
	).JSON()
}

// failureEventPattern matches a scheduled task that stopped with a container's
// non-zero exit code, or that ECS created but could not start (stopCode
// TaskFailedToStart: an image it could not pull, a secret it could not read; a
// RunTask that created no task emits no event at all) ("ECS Task State Change" events carry
// the task's containers, stopCode and taskDefinitionArn; EventBridge content
// filtering's prefix, anything-but and $or, EventBridge user guide).
func failureEventPattern(clusterARN string, taskDefinitionPrefixes []string) (string, error) {
	var prefixes []any
	for _, p := range taskDefinitionPrefixes {
		prefixes = append(prefixes, map[string]string{"prefix": p})
	}
	b, err := json.Marshal(map[string]any{
		"source":      []string{"aws.ecs"},
		"detail-type": []string{"ECS Task State Change"},
		"detail": map[string]any{
			"clusterArn":        []string{clusterARN},
			"lastStatus":        []string{"STOPPED"},
			"taskDefinitionArn": prefixes,
			"$or": []any{
				map[string]any{"containers": map[string]any{"exitCode": []any{map[string]int{"anything-but": 0}}}},
				map[string]any{"stopCode": []string{"TaskFailedToStart"}},
			},
		},
	})
	return string(b), err
}

// failures creates the job-failure queue, the rule that sends failed runs to it
// (allowed by the queue's policy, for that rule only) and the alarm on it.
func (s *Schedules) failures(ctx *pulumi.Context, name string, args *SchedulesArgs, names []string, parent pulumi.ResourceOption) error {
	var err error
	s.Failures, err = sqs.NewQueue(ctx, name+"-job-failures", &sqs.QueueArgs{
		MessageRetentionSeconds: pulumi.Int(14 * 24 * 3600),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    args.Tags,
	}, parent)
	if err != nil {
		return fmt.Errorf("creating the job-failure queue: %w", err)
	}
	account := args.Jobs.ExecutionRole.Arn.ApplyT(accountOf).(pulumi.StringOutput)
	pattern := pulumi.All(args.Cluster.Arn, account).ApplyT(func(v []any) (string, error) {
		var prefixes []string
		for _, sn := range names {
			prefixes = append(prefixes, fmt.Sprintf("arn:%s:ecs:%s:%s:task-definition/%s:", args.Partition, args.Region, v[1].(string), ScheduleFamily(ctx, name, sn)))
		}
		return failureEventPattern(v[0].(string), prefixes)
	}).(pulumi.StringOutput)
	s.FailureRule, err = cloudwatch.NewEventRule(ctx, name+"-job-failures", &cloudwatch.EventRuleArgs{
		Description:  pulumi.Sprintf("Scheduled tasks of %s that failed", name),
		EventPattern: pattern,
		Tags:         args.Tags,
	}, parent)
	if err != nil {
		return fmt.Errorf("creating the job-failure rule: %w", err)
	}
	// EventBridge sends to SQS as its service principal, allowed by the queue's
	// resource policy ("Amazon SQS permissions", EventBridge user guide).
	queuePolicy := pulumi.All(s.Failures.Arn, s.FailureRule.Arn).ApplyT(func(v []any) (string, error) {
		return policy(policyStatement{
			Sid: "FailedRuns", Effect: "Allow", Principal: map[string]string{"Service": "events.amazonaws.com"},
			Action: []string{"sqs:SendMessage"}, Resource: []string{v[0].(string)},
			Condition: map[string]map[string][]string{"ArnEquals": {"aws:SourceArn": {v[1].(string)}}},
		}).JSON()
	}).(pulumi.StringOutput)
	if s.FailuresPolicy, err = sqs.NewQueuePolicy(ctx, name+"-job-failures", &sqs.QueuePolicyArgs{QueueUrl: s.Failures.Url, Policy: queuePolicy}, parent); err != nil {
		return fmt.Errorf("creating the job-failure queue's policy: %w", err)
	}
	if s.FailureTarget, err = cloudwatch.NewEventTarget(ctx, name+"-job-failures", &cloudwatch.EventTargetArgs{
		Rule: s.FailureRule.Name, Arn: s.Failures.Arn,
	}, parent, pulumi.DependsOn([]pulumi.Resource{s.FailuresPolicy})); err != nil {
		return fmt.Errorf("creating the job-failure rule's target: %w", err)
	}
	// The alarm counts what arrives, not what waits: nothing consumes the queue, so
	// an alarm on the visible messages would stay in ALARM from the first failure
	// until a purge and say nothing of the next ones (review of issue 16, finding 4).
	// NumberOfMessagesSent counts SendMessage — EventBridge's target and Scheduler's
	// dead letters both send — but not messages a redrive policy moves into a
	// dead-letter queue ("Using dead-letter queues", SQS developer guide: "if a
	// message is sent to a dead-letter queue as a result of a failed processing
	// attempt, it isn't captured by this metric"; no queue redrives into this one).
	// A queue idle for six hours is inactive, and its metrics arrive up to 15
	// minutes late once it is active again ("Monitoring Amazon SQS queues using
	// CloudWatch", SQS developer guide): one breaching datapoint of 5 minutes in the
	// last four still finds the late one. Each failed run so moves the alarm to
	// ALARM, and it returns to OK twenty minutes later; runs failing closer together
	// than that are one ALARM.
	s.FailureAlarm, err = cloudwatch.NewMetricAlarm(ctx, name+"-job-failures", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("A scheduled run of %s failed: its task state change or Scheduler's dead letter was sent to the job-failure queue", name),
		Namespace:        pulumi.String("AWS/SQS"), MetricName: pulumi.String("NumberOfMessagesSent"),
		Statistic: pulumi.String("Sum"), Dimensions: pulumi.StringMap{"QueueName": s.Failures.Name},
		Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(4), DatapointsToAlarm: pulumi.Int(1),
		Threshold: pulumi.Float64(1), ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
		TreatMissingData: pulumi.String("notBreaching"),
		Tags:             args.Tags,
	}, parent)
	if err != nil {
		return fmt.Errorf("creating the job-failure alarm: %w", err)
	}
	return nil
}
