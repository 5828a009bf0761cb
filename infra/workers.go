package infra

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"ecs-bluegreen/infra/rollout"
)

// WorkersArgs configures NewWorkers.
type WorkersArgs struct {
	Workers map[string]WorkerConfig
	Jobs    *Jobs
	Cluster *ecs.Cluster
	// CapacityProviders must be associated with the cluster before a service uses one.
	CapacityProviders pulumi.Resource
	Subnets           pulumi.StringArrayInput
	AssignPublicIP    bool
	// Queues are the stack's queues (nil without); a worker may scale on one.
	Queues *Queues
	// Identity and Rollout: the verdict on each worker's rolling deployment acts as
	// the provider's identity, within Timeout; with Rollout false there is none.
	Identity rollout.Identity
	Rollout  bool
	Timeout  time.Duration
	Tags     pulumi.StringMap
}

// Workers are the worker services: ECS services in the stack's cluster with the
// rolling deployment controller, the circuit breaker and its rollback, each on
// its own task definition of the app image, in the task subnets and the jobs'
// security group.
type Workers struct {
	pulumi.ResourceState

	TaskDefinitions map[string]*ecs.TaskDefinition
	Services        map[string]*ecs.Service
	ScalingTargets  map[string]*appautoscaling.Target
	// Rollouts says, per worker, what runs once its rolling deployment completed
	// (the workerRollouts output); unknown in preview.
	Rollouts pulumi.StringMapOutput
}

// WorkerFamily is a worker's task definition family.
func WorkerFamily(ctx *pulumi.Context, name, worker string) string {
	return ctx.Project() + "-" + ctx.Stack() + "-" + name + "-" + worker
}

// NewWorkers creates each worker's task definition, service and autoscaling, and
// follows each service's rolling deployment to its verdict during `pulumi up`.
func NewWorkers(ctx *pulumi.Context, name string, args *WorkersArgs, opts ...pulumi.ResourceOption) (*Workers, error) {
	w := &Workers{TaskDefinitions: map[string]*ecs.TaskDefinition{}, Services: map[string]*ecs.Service{}, ScalingTargets: map[string]*appautoscaling.Target{}}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Workers", name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)
	// This run's start, before Pulumi creates or updates any worker service: the
	// verdict judges the deployment created since, not any of the revision.
	since := time.Now()
	rollouts := pulumi.StringMap{}
	for _, wn := range slices.Sorted(maps.Keys(args.Workers)) {
		c := args.Workers[wn]
		logical := name + "-" + wn
		env := pulumi.StringMap{}
		if c.Queue != "" && args.Queues != nil {
			// The queue a worker consumes, under a name its code need not know.
			env["WORKER_QUEUE_URL"] = args.Queues.Queue[c.Queue].Url
		}
		td, err := args.Jobs.TaskDefinition(ctx, logical, WorkerFamily(ctx, name, wn), JobContainer{
			Name: wn, Command: c.Command, HealthCheck: c.HealthCheck, CPU: c.CPU, Memory: c.Memory, Environment: env,
		}, w)
		if err != nil {
			return nil, err
		}
		capacity := "FARGATE"
		if c.Spot {
			capacity = "FARGATE_SPOT"
		}
		var ignore []string
		if c.Scaling != "" {
			ignore = append(ignore, "desiredCount") // autoscaling owns it
		}
		svc, err := ecs.NewService(ctx, logical, &ecs.ServiceArgs{
			Cluster:              args.Cluster.Arn,
			TaskDefinition:       td.Arn,
			DesiredCount:         pulumi.Int(c.MinCount),
			DeploymentController: &ecs.ServiceDeploymentControllerArgs{Type: pulumi.String("ECS")},
			// The breaker fails a deployment whose tasks cannot start or stay
			// healthy and rolls back to the last completed one.
			DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
			// New tasks first, the old ones stop once the new ones run: a failed
			// revision leaves the previous one working, as long as the rollback
			// can start it again (rollout/workers.go).
			DeploymentMinimumHealthyPercent: pulumi.Int(100),
			DeploymentMaximumPercent:        pulumi.Int(200),
			CapacityProviderStrategies: ecs.ServiceCapacityProviderStrategyArray{ecs.ServiceCapacityProviderStrategyArgs{
				CapacityProvider: pulumi.String(capacity), Weight: pulumi.Int(1),
			}},
			// With forceNewDeployment the provider changes the capacity provider in
			// place (a new deployment) instead of replacing the service.
			ForceNewDeployment: pulumi.Bool(true),
			NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
				Subnets:        args.Subnets,
				SecurityGroups: pulumi.StringArray{args.Jobs.SecurityGroup.ID()},
				AssignPublicIp: pulumi.Bool(args.AssignPublicIP),
			},
			PropagateTags: pulumi.String("SERVICE"),
			Tags:          args.Tags,
		}, parent, pulumi.IgnoreChanges(ignore), pulumi.DependsOn([]pulumi.Resource{args.CapacityProviders}))
		if err != nil {
			return nil, fmt.Errorf("creating worker service %s: %w", wn, err)
		}
		w.TaskDefinitions[wn], w.Services[wn] = td, svc
		if c.Scaling != "" {
			if w.ScalingTargets[wn], err = scaleWorker(ctx, logical, c, args, svc, parent); err != nil {
				return nil, err
			}
		}
		rollouts[wn] = workerVerdict(ctx, wn, args, svc, since)
	}
	w.Rollouts = rollouts.ToStringMapOutput()
	return w, ctx.RegisterResourceOutputs(w, pulumi.Map{"rollouts": w.Rollouts})
}

// workerVerdict follows the worker's rolling deployment once Pulumi created or
// updated its service (the apply runs on the service's outputs), and fails
// `pulumi up` when it fails. A preview calls nothing.
func workerVerdict(ctx *pulumi.Context, worker string, args *WorkersArgs, svc *ecs.Service, since time.Time) pulumi.StringOutput {
	if !args.Rollout {
		return pulumi.String("rollout off").ToStringOutput()
	}
	if ctx.DryRun() {
		return pulumi.UnsafeUnknownOutput(nil).ApplyT(func(any) string { return "" }).(pulumi.StringOutput)
	}
	log := pulumiLog{ctx, svc}
	// The verdict judges the configuration as well as the revision (the
	// service's outputs, as the task definition is): a change of them alone is
	// a deployment of the same revision, and so is its rollback.
	return pulumi.All(args.Cluster.Name, svc.Name, svc.TaskDefinition, svc.CapacityProviderStrategies, svc.NetworkConfiguration).ApplyTWithContext(ctx.Context(), func(goctx context.Context, v []any) (string, error) {
		goctx, stop := rollout.Interruptible(goctx)
		defer stop()
		clients, err := rollout.NewClients(goctx, args.Identity)
		if err != nil {
			return "", err
		}
		td, _ := v[2].(*string)
		strategy, _ := v[3].([]ecs.ServiceCapacityProviderStrategy)
		network, _ := v[4].(*ecs.ServiceNetworkConfiguration)
		res, err := clients.Rollout(log).WaitForWorker(goctx, rollout.WorkerRelease{
			Worker: worker, Cluster: v[0].(string), Service: v[1].(string), TaskDefinition: derefString(td),
			WorkerConfig: declaredWorkerConfig(strategy, network), Timeout: args.Timeout, Since: since,
		})
		if err != nil {
			return "", fmt.Errorf("rollout: %w", err)
		}
		return res.Summary, nil
	}).(pulumi.StringOutput)
}

// declaredWorkerConfig is the service's capacity provider strategy and network
// as the verdict compares them with a deployment's (ECS's defaults: weight and
// base 0, no public IP).
func declaredWorkerConfig(strategy []ecs.ServiceCapacityProviderStrategy, network *ecs.ServiceNetworkConfiguration) rollout.WorkerConfig {
	c := rollout.WorkerConfig{CapacityProviders: []rollout.CapacityProvider{}}
	for _, s := range strategy {
		c.CapacityProviders = append(c.CapacityProviders, rollout.CapacityProvider{Name: s.CapacityProvider, Weight: derefInt(s.Weight), Base: derefInt(s.Base)})
	}
	if network != nil {
		c.Network = &rollout.WorkerNetwork{Subnets: network.Subnets, SecurityGroups: network.SecurityGroups, AssignPublicIP: network.AssignPublicIp != nil && *network.AssignPublicIp}
	}
	return c
}

func derefInt(i *int) int {
	if i == nil {
		return 0
	}
	return *i
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// scaleWorker registers the worker with Application Auto Scaling: target tracking
// on its CPU, or steps on its queue's backlog.
func scaleWorker(ctx *pulumi.Context, logical string, c WorkerConfig, args *WorkersArgs, svc *ecs.Service, parent pulumi.ResourceOption) (*appautoscaling.Target, error) {
	target, err := appautoscaling.NewTarget(ctx, logical, &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        pulumi.Sprintf("service/%s/%s", args.Cluster.Name, svc.Name),
		MinCapacity:       pulumi.Int(c.MinCount),
		MaxCapacity:       pulumi.Int(c.MaxCount),
		Tags:              args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating autoscaling target of %s: %w", logical, err)
	}
	if c.Scaling == "cpu" {
		_, err := appautoscaling.NewPolicy(ctx, logical+"-cpu", cpuTracking(target, c.CPUTargetPercent), parent)
		if err != nil {
			return nil, fmt.Errorf("creating CPU scaling of %s: %w", logical, err)
		}
		return target, nil
	}
	return target, scaleOnBacklog(ctx, logical, c, args, target, parent)
}

// BacklogStep is one step of queue scaling: from a backlog of Lower visible
// messages (up to Upper, 0 for no bound) the worker gets Add more tasks.
type BacklogStep struct{ Lower, Upper, Add int }

// BacklogSteps maps a queue's visible backlog to the tasks to add: one per
// messagesPerTask waiting messages, at least one while a message waits, at most
// maxCount (the scalable target caps the count there), in at most ten steps.
// Application Auto Scaling's step bounds are offsets from the alarm's threshold (1
// message), lower inclusive, upper exclusive (StepAdjustment, Application Auto
// Scaling API reference).
func BacklogSteps(messagesPerTask, maxCount int) []BacklogStep {
	k := min(maxCount, 10)
	var steps []BacklogStep
	prev := 0
	for i := 1; i <= k; i++ {
		tasks := (i*maxCount + k - 1) / k
		s := BacklogStep{Lower: prev * messagesPerTask, Upper: tasks * messagesPerTask, Add: tasks}
		if i == k {
			s.Upper = 0
		}
		steps = append(steps, s)
		prev = tasks
	}
	return steps
}

// scaleOnBacklog scales out on the queue's visible messages and in only when the
// queue is idle. SQS backlog does not fall as tasks are added the way target
// tracking assumes (AWS's guidance on scaling on SQS), hence steps; and the steps
// only ever add tasks. An Application Auto Scaling action runs again each time the
// alarm is evaluated while it stays in ALARM ("Except for Auto Scaling actions, the
// actions happen only on state transitions", CloudWatch user guide, "Alarm
// actions"), and the messages a busy task works on are in flight, not visible: a
// policy that set the count from the visible backlog alone (ExactCapacity) would
// lower it while the busy tasks drain the last visible messages, and ECS would
// stop tasks in the middle of their batches, whose messages come back after the
// visibility timeout (review of issue 16, finding 3). Scale-in is the idle
// policy's alone: nothing visible and nothing in flight for ten minutes returns
// the worker to minCount, when no task holds a message. A busy queue therefore
// keeps its high-water count until it is idle.
func scaleOnBacklog(ctx *pulumi.Context, logical string, c WorkerConfig, args *WorkersArgs, target *appautoscaling.Target, parent pulumi.ResourceOption) error {
	queue := args.Queues.Queue[c.Queue]
	var adjustments appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArray
	for _, s := range BacklogSteps(c.MessagesPerTask, c.MaxCount) {
		a := appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs{
			MetricIntervalLowerBound: pulumi.String(strconv.Itoa(s.Lower)), ScalingAdjustment: pulumi.Int(s.Add),
		}
		if s.Upper > 0 {
			a.MetricIntervalUpperBound = pulumi.String(strconv.Itoa(s.Upper))
		}
		adjustments = append(adjustments, a)
	}
	// ChangeInCapacity adds on every evaluation in ALARM once the cooldown is over
	// (during it, the tasks the last step added count towards the next: Cooldown,
	// StepScalingPolicyConfiguration, Application Auto Scaling API reference): two
	// minutes lets the added Fargate tasks start and take messages before more are
	// added for the same backlog.
	out, err := appautoscaling.NewPolicy(ctx, logical+"-backlog", &appautoscaling.PolicyArgs{
		PolicyType: pulumi.String("StepScaling"), ServiceNamespace: target.ServiceNamespace,
		ScalableDimension: target.ScalableDimension, ResourceId: target.ResourceId,
		StepScalingPolicyConfiguration: &appautoscaling.PolicyStepScalingPolicyConfigurationArgs{
			AdjustmentType: pulumi.String("ChangeInCapacity"), Cooldown: pulumi.Int(120), MetricAggregationType: pulumi.String("Maximum"),
			StepAdjustments: adjustments,
		},
	}, parent)
	if err != nil {
		return fmt.Errorf("creating backlog scaling of %s: %w", logical, err)
	}
	in, err := appautoscaling.NewPolicy(ctx, logical+"-idle", &appautoscaling.PolicyArgs{
		PolicyType: pulumi.String("StepScaling"), ServiceNamespace: target.ServiceNamespace,
		ScalableDimension: target.ScalableDimension, ResourceId: target.ResourceId,
		StepScalingPolicyConfiguration: &appautoscaling.PolicyStepScalingPolicyConfigurationArgs{
			AdjustmentType: pulumi.String("ExactCapacity"), Cooldown: pulumi.Int(300), MetricAggregationType: pulumi.String("Maximum"),
			StepAdjustments: appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArray{
				appautoscaling.PolicyStepScalingPolicyConfigurationStepAdjustmentArgs{MetricIntervalUpperBound: pulumi.String("0"), ScalingAdjustment: pulumi.Int(c.MinCount)},
			},
		},
	}, parent)
	if err != nil {
		return fmt.Errorf("creating idle scaling of %s: %w", logical, err)
	}
	dims := pulumi.StringMap{"QueueName": queue.Name}
	if _, err := cloudwatch.NewMetricAlarm(ctx, logical+"-backlog", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("Scales worker %s on the backlog of queue %s", logical, c.Queue),
		Namespace:        pulumi.String("AWS/SQS"), MetricName: pulumi.String("ApproximateNumberOfMessagesVisible"),
		Statistic: pulumi.String("Maximum"), Dimensions: dims, Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(1),
		Threshold: pulumi.Float64(1), ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
		TreatMissingData: pulumi.String("notBreaching"),
		AlarmActions:     pulumi.Array{out.Arn},
		Tags:             args.Tags,
	}, parent); err != nil {
		return fmt.Errorf("creating backlog alarm of %s: %w", logical, err)
	}
	// Idle: nothing visible and nothing in flight. SQS stops publishing metrics of
	// a queue inactive for six hours (SQS developer guide, "Available CloudWatch
	// metrics"), so missing data counts as idle.
	_, err = cloudwatch.NewMetricAlarm(ctx, logical+"-idle", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("Returns worker %s to its minimum when queue %s is idle", logical, c.Queue),
		MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
			sqsMetric("visible", "ApproximateNumberOfMessagesVisible", dims),
			sqsMetric("inflight", "ApproximateNumberOfMessagesNotVisible", dims),
			cloudwatch.MetricAlarmMetricQueryArgs{Id: pulumi.String("backlog"), Expression: pulumi.String("visible + inflight"), ReturnData: pulumi.Bool(true)},
		},
		EvaluationPeriods: pulumi.Int(10), DatapointsToAlarm: pulumi.Int(10),
		Threshold: pulumi.Float64(1), ComparisonOperator: pulumi.String("LessThanThreshold"),
		TreatMissingData: pulumi.String("breaching"),
		AlarmActions:     pulumi.Array{in.Arn},
		Tags:             args.Tags,
	}, parent)
	if err != nil {
		return fmt.Errorf("creating idle alarm of %s: %w", logical, err)
	}
	return nil
}

func sqsMetric(id, metric string, dims pulumi.StringMap) cloudwatch.MetricAlarmMetricQueryArgs {
	return cloudwatch.MetricAlarmMetricQueryArgs{
		Id: pulumi.String(id),
		Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
			Namespace: pulumi.String("AWS/SQS"), MetricName: pulumi.String(metric), Dimensions: dims,
			Period: pulumi.Int(60), Stat: pulumi.String("Maximum"),
		},
		ReturnData: pulumi.Bool(false),
	}
}
