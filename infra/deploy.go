package infra

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/codedeploy"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"ecs-bluegreen/infra/loadtest"
	"ecs-bluegreen/infra/rollout"
)

// DeployArgs configures NewDeploy.
type DeployArgs struct {
	Config       DeployConfig
	Partition    string
	ClusterName  pulumi.StringInput
	ServiceName  pulumi.StringInput
	LoadBalancer *lb.LoadBalancer
	Blue         *lb.TargetGroup
	Green        *lb.TargetGroup
	ProdListener *lb.Listener
	TestListener *lb.Listener
	// TaskRoles are the task definition's execution and task roles: CodeDeploy
	// passes them to ECS when it creates a deployment's task set.
	TaskRoles pulumi.StringArrayInput
	// Boundary is the permissions boundary of the roles created here (nil: none).
	Boundary *Boundary
	Tags     pulumi.StringMap

	// What the rollout deploys: the service's declared revision and network.
	Release Release
}

// Release is the declared state the rollout brings the service to.
type Release struct {
	// Identity is the provider's AWS identity; the rollout acts as it.
	Identity       rollout.Identity
	TaskDefinition pulumi.StringInput
	// TargetGroup is the blue target group, where the first revision must be healthy.
	TargetGroup pulumi.StringInput
	// URL is the production URL the load gate loads.
	URL              pulumi.StringInput
	ContainerName    string
	ContainerPort    int
	Subnets          pulumi.StringArrayInput
	SecurityGroup    pulumi.StringInput
	AssignPublicIP   bool
	CapacityProvider string
	// Image names the build in the deployment's description.
	Image pulumi.StringInput
	// MigrationContainer runs Rollout.MigrationCommand.
	MigrationContainer string
	// DesiredCount is the service's task count, which the first revision gets once
	// its migration succeeded (the service is created with none then).
	DesiredCount int
}

// Deploy is the CodeDeploy application and blue/green deployment group, its
// service role, and the alarms that stop and roll back a deployment.
type Deploy struct {
	pulumi.ResourceState

	Application     *codedeploy.Application
	DeploymentGroup *codedeploy.DeploymentGroup
	Role            *iam.Role
	Alarms          []*cloudwatch.MetricAlarm
	// PassRolePolicy lets CodeDeploy pass the task's roles to ECS (pitfall 21).
	PassRolePolicy *iam.RolePolicy
	// HooksPolicy lets CodeDeploy invoke the hook Lambdas; nil without hooks.
	HooksPolicy *iam.RolePolicy
	// DeploymentID is the deployment that made the service serve this revision;
	// unknown in preview, "" when rollouts are off or for the first revision.
	DeploymentID pulumi.StringOutput
	// Summary says what serves (the rolloutResult output).
	Summary pulumi.StringOutput
	// Released resolves to the declared task definition once it serves: the web
	// deployment succeeded, or nothing needed deploying (in preview at once).
	Released pulumi.StringOutput

	alarmNames pulumi.StringArrayOutput
}

// NewDeploy creates the CodeDeploy side of the blue/green deployment.
func NewDeploy(ctx *pulumi.Context, name string, args *DeployArgs, opts ...pulumi.ResourceOption) (*Deploy, error) {
	d := &Deploy{}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Deploy", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	c := args.Config
	var err error

	if d.Role, err = serviceRole(ctx, name, "codedeploy", "codedeploy.amazonaws.com", args.Boundary, args.Tags, parent); err != nil {
		return nil, err
	}
	attachment, err := iam.NewRolePolicyAttachment(ctx, name+"-codedeploy", &iam.RolePolicyAttachmentArgs{
		Role:      d.Role.Name,
		PolicyArn: pulumi.Sprintf("arn:%s:iam::aws:policy/AWSCodeDeployRoleForECSLimited", args.Partition),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("attaching CodeDeploy policy: %w", err)
	}

	// CodeDeploy creates each deployment's task set as this role, handing ECS the
	// task definition's roles; the managed policy passes only roles named
	// ecsTaskExecutionRole or ECSTaskExecution*. The ECS developer guide's "Amazon
	// ECS CodeDeploy IAM Role" says to add iam:PassRole of exactly these.
	passDoc := args.TaskRoles.ToStringArrayOutput().ApplyT(func(roles []string) (string, error) {
		return policy(passRoleStatement("PassTaskRoles", roles, "ecs-tasks.amazonaws.com")).JSON()
	}).(pulumi.StringOutput)
	if d.PassRolePolicy, err = iam.NewRolePolicy(ctx, name+"-codedeploy-pass", &iam.RolePolicyArgs{Role: d.Role.Name, Policy: passDoc}, parent); err != nil {
		return nil, fmt.Errorf("creating CodeDeploy pass-role policy: %w", err)
	}

	if hooks := c.Rollout.Hooks; len(hooks) > 0 {
		// The managed policy may only invoke functions named CodeDeployHook_*;
		// these are exactly the configured hooks.
		var arns []string
		for _, event := range sortedKeys(hooks) {
			arns = append(arns, hooks[event])
		}
		doc, err := policy(policyStatement{
			Sid: "InvokeHooks", Effect: "Allow", Action: []string{"lambda:InvokeFunction"}, Resource: arns,
		}).JSON()
		if err != nil {
			return nil, err
		}
		if d.HooksPolicy, err = iam.NewRolePolicy(ctx, name+"-hooks", &iam.RolePolicyArgs{Role: d.Role.Name, Policy: pulumi.String(doc)}, parent); err != nil {
			return nil, fmt.Errorf("creating hook invoke policy: %w", err)
		}
	}

	alarmNames := pulumi.StringArray{}
	for _, tg := range []struct {
		color string
		group *lb.TargetGroup
	}{{"blue", args.Blue}, {"green", args.Green}} {
		dims := pulumi.StringMap{"LoadBalancer": args.LoadBalancer.ArnSuffix, "TargetGroup": tg.group.ArnSuffix}
		for _, a := range []struct {
			suffix, metric, statistic, description string
			threshold                              float64
		}{
			{"5xx", "HTTPCode_Target_5XX_Count", "Sum", "target 5xx responses on the " + tg.color + " target group", float64(c.Alarm5xxThreshold)},
			{"unhealthy", "UnHealthyHostCount", "Maximum", "unhealthy targets in the " + tg.color + " target group", 1},
		} {
			alarm, err := cloudwatch.NewMetricAlarm(ctx, fmt.Sprintf("%s-%s-%s", name, tg.color, a.suffix), &cloudwatch.MetricAlarmArgs{
				AlarmDescription:   pulumi.String("Stops and rolls back a deployment: " + a.description),
				Namespace:          pulumi.String("AWS/ApplicationELB"),
				MetricName:         pulumi.String(a.metric),
				Statistic:          pulumi.String(a.statistic),
				Dimensions:         dims,
				Period:             pulumi.Int(60),
				EvaluationPeriods:  pulumi.Int(2),
				DatapointsToAlarm:  pulumi.Int(2),
				Threshold:          pulumi.Float64(a.threshold),
				ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
				// No requests or no targets (the idle colour) is not a failure.
				TreatMissingData: pulumi.String("notBreaching"),
				Tags:             args.Tags,
			}, parent)
			if err != nil {
				return nil, fmt.Errorf("creating %s %s alarm: %w", tg.color, a.suffix, err)
			}
			d.Alarms = append(d.Alarms, alarm)
			alarmNames = append(alarmNames, alarm.Name)
		}
	}

	d.alarmNames = alarmNames.ToStringArrayOutput()

	d.Application, err = codedeploy.NewApplication(ctx, name, &codedeploy.ApplicationArgs{
		ComputePlatform: pulumi.String("ECS"),
		Tags:            args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating CodeDeploy application: %w", err)
	}
	d.DeploymentGroup, err = codedeploy.NewDeploymentGroup(ctx, name, &codedeploy.DeploymentGroupArgs{
		AppName:              d.Application.Name,
		DeploymentGroupName:  pulumi.String(name),
		ServiceRoleArn:       d.Role.Arn,
		DeploymentConfigName: pulumi.String(c.DeploymentConfig),
		DeploymentStyle: &codedeploy.DeploymentGroupDeploymentStyleArgs{
			DeploymentOption: pulumi.String("WITH_TRAFFIC_CONTROL"),
			DeploymentType:   pulumi.String("BLUE_GREEN"),
		},
		BlueGreenDeploymentConfig: &codedeploy.DeploymentGroupBlueGreenDeploymentConfigArgs{
			DeploymentReadyOption: &codedeploy.DeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOptionArgs{
				ActionOnTimeout: pulumi.String("CONTINUE_DEPLOYMENT"),
			},
			TerminateBlueInstancesOnDeploymentSuccess: &codedeploy.DeploymentGroupBlueGreenDeploymentConfigTerminateBlueInstancesOnDeploymentSuccessArgs{
				Action:                       pulumi.String("TERMINATE"),
				TerminationWaitTimeInMinutes: pulumi.Int(c.TerminationWaitMinutes),
			},
		},
		EcsService: &codedeploy.DeploymentGroupEcsServiceArgs{
			ClusterName: args.ClusterName,
			ServiceName: args.ServiceName,
		},
		LoadBalancerInfo: &codedeploy.DeploymentGroupLoadBalancerInfoArgs{
			TargetGroupPairInfo: &codedeploy.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoArgs{
				ProdTrafficRoute: &codedeploy.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRouteArgs{
					ListenerArns: pulumi.StringArray{args.ProdListener.Arn},
				},
				TestTrafficRoute: &codedeploy.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoTestTrafficRouteArgs{
					ListenerArns: pulumi.StringArray{args.TestListener.Arn},
				},
				// CodeDeploy refers to target groups by name.
				TargetGroups: codedeploy.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroupArray{
					codedeploy.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroupArgs{Name: args.Blue.Name},
					codedeploy.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroupArgs{Name: args.Green.Name},
				},
			},
		},
		AutoRollbackConfiguration: &codedeploy.DeploymentGroupAutoRollbackConfigurationArgs{
			Enabled: pulumi.Bool(true),
			Events:  pulumi.ToStringArray([]string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"}),
		},
		AlarmConfiguration: &codedeploy.DeploymentGroupAlarmConfigurationArgs{
			Enabled: pulumi.Bool(true),
			Alarms:  alarmNames,
		},
		Tags: args.Tags,
	}, parent, pulumi.DependsOn([]pulumi.Resource{attachment}))
	if err != nil {
		return nil, fmt.Errorf("creating CodeDeploy deployment group: %w", err)
	}

	d.DeploymentID, d.Summary, d.Released = d.rollout(ctx, name, args)
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{
		"application":     d.Application.Name,
		"deploymentGroup": d.DeploymentGroup.DeploymentGroupName,
		"deploymentId":    d.DeploymentID,
		"rolloutResult":   d.Summary,
	})
}

// rollout hands the declared revision to the rollout package once the task
// definition, service and deployment group exist — and the policies CodeDeploy
// needs during a deployment: passing the task's roles (to create the task set) and
// invoking the hooks. In preview it only reads what
// serves (no write), so an unchanged stack shows its outputs unchanged; what it
// cannot know stays unknown, like any value only `pulumi up` learns. released
// resolves to the declared revision once it serves (in preview at once): what
// must follow the web deployment takes it as an input.
func (d *Deploy) rollout(ctx *pulumi.Context, name string, args *DeployArgs) (id, summary, released pulumi.StringOutput) {
	r, rel := args.Config.Rollout, args.Release
	if !r.Enabled {
		return pulumi.String("").ToStringOutput(), pulumi.String("rollout off").ToStringOutput(), rel.TaskDefinition.ToStringOutput()
	}
	// Resolves once the hook policy exists ("" without hooks) and the pass-role policy.
	hooksReady := pulumi.String("").ToStringOutput()
	if d.HooksPolicy != nil {
		hooksReady = d.HooksPolicy.ID().ToStringOutput()
	}
	hooksReady = pulumi.All(hooksReady, d.PassRolePolicy.ID()).ApplyT(func(v []any) string { return fmt.Sprint(v[0]) }).(pulumi.StringOutput)
	request := func(v []any) rollout.Request {
		return rollout.Request{
			Stack:                ctx.Stack(),
			TaskDefinition:       v[0].(string),
			Application:          v[1].(string),
			DeploymentGroup:      v[2].(string),
			Cluster:              v[3].(string),
			Service:              v[4].(string),
			Subnets:              v[5].([]string),
			SecurityGroups:       []string{v[6].(string)},
			Image:                v[7].(string),
			TargetGroup:          v[8].(string),
			ContainerName:        rel.ContainerName,
			ContainerPort:        rel.ContainerPort,
			AssignPublicIP:       rel.AssignPublicIP,
			PlatformVersion:      "LATEST",
			CapacityProvider:     rel.CapacityProvider,
			DesiredCount:         int32(rel.DesiredCount),
			Hooks:                r.Hooks,
			MigrationCommand:     r.MigrationCommand,
			MigrationContainer:   rel.MigrationContainer,
			StateParameter:       StateParameter(ctx, name),
			ClearCommand:         fmt.Sprintf("go run ./cmd/ops unblock -stack %s", ctx.Stack()),
			ActivePolicy:         r.ActivePolicy,
			Timeout:              r.Timeout,
			StopOnTimeout:        r.StopOnTimeout,
			AcceptTrafficShifted: r.AcceptTrafficShifted,
			Gate:                 LoadGate(r.Check, v[10].(string)),
			GateTimeout:          gateTimeout(r.Check),
			TargetGroups:         []string{v[8].(string), v[11].(string)},
			Alarms:               v[12].([]string),
		}
	}
	inputs := pulumi.All(rel.TaskDefinition, d.Application.Name, d.DeploymentGroup.DeploymentGroupName,
		args.ClusterName, args.ServiceName, rel.Subnets, rel.SecurityGroup, rel.Image, rel.TargetGroup, hooksReady, rel.URL,
		args.Green.Arn, d.alarmNames)
	log := pulumiLog{ctx, d}
	if ctx.DryRun() {
		result := inputs.ApplyTWithContext(ctx.Context(), func(goctx context.Context, v []any) previewResult {
			clients, err := rollout.NewClients(goctx, rel.Identity)
			if err != nil {
				log.Warn("preview cannot read what serves: " + err.Error())
				return previewResult{}
			}
			ro := clients.Rollout(log)
			res, known, err := ro.Preview(goctx, request(v))
			var blocked *rollout.BlockedError
			switch {
			case errors.As(err, &blocked):
				log.Warn("pulumi up would refuse this revision: " + err.Error())
				return previewResult{}
			case err != nil: // e.g. the preview role may not read it: the outputs stay unknown
				log.Warn("preview could not read what serves, so the rollout's outputs show as unknown: " + err.Error())
				return previewResult{}
			}
			return previewResult{Result: res, known: known}
		})
		id = result.ApplyT(func(p any) pulumi.StringOutput { return p.(previewResult).value(p.(previewResult).DeploymentID) }).(pulumi.StringOutput)
		summary = result.ApplyT(func(p any) pulumi.StringOutput { return p.(previewResult).value(p.(previewResult).Summary) }).(pulumi.StringOutput)
		return id, summary, rel.TaskDefinition.ToStringOutput()
	}
	result := inputs.ApplyTWithContext(ctx.Context(), func(goctx context.Context, v []any) (rollout.Result, error) {
		// Ctrl-C and a cancelled CI job stop the following, not the deployment.
		goctx, stop := rollout.Interruptible(goctx)
		defer stop()
		clients, err := rollout.NewClients(goctx, rel.Identity)
		if err != nil {
			return rollout.Result{}, err
		}
		ro := clients.Rollout(log)
		res, err := ro.Run(goctx, request(v))
		if err != nil {
			if goctx.Err() != nil { // the engine may be gone: say it where a terminal sees it too
				fmt.Fprintln(os.Stderr, "rollout: "+err.Error())
			}
			return rollout.Result{}, fmt.Errorf("rollout: %w", err)
		}
		return res, nil
	})
	id = result.ApplyT(func(r any) string { return r.(rollout.Result).DeploymentID }).(pulumi.StringOutput)
	summary = result.ApplyT(func(r any) string { return r.(rollout.Result).Summary }).(pulumi.StringOutput)
	released = pulumi.All(result, rel.TaskDefinition).ApplyT(func(v []any) string { return v[1].(string) }).(pulumi.StringOutput)
	return id, summary, released
}

// StateParameter is the SSM parameter the rollout keeps its state in (the judged
// first revision, rollbacks made by hand); Pulumi does not manage it.
func StateParameter(ctx *pulumi.Context, name string) string {
	return StateParameterName(ctx.Project(), ctx.Stack(), name)
}

// StateParameterName is the rollout's state parameter of a project's stack (the
// day-N commands find it by this name).
func StateParameterName(project, stack, name string) string {
	return fmt.Sprintf("/%s/%s/%s/rollout", project, stack, name)
}

// previewResult is what a preview learnt of the rollout: exact when known.
type previewResult struct {
	rollout.Result
	known bool
}

// value is v when the preview knew the result, else unknown.
func (p previewResult) value(v string) pulumi.StringOutput {
	if !p.known {
		return pulumi.UnsafeUnknownOutput(nil).ApplyT(func(any) string { return "" }).(pulumi.StringOutput)
	}
	return pulumi.String(v).ToStringOutput()
}

// pulumiLog shows rollout progress in `pulumi up`, attached to the Deploy component.
type pulumiLog struct {
	ctx *pulumi.Context
	res pulumi.Resource
}

func (l pulumiLog) Info(msg string) { _ = l.ctx.Log.Info(msg, &pulumi.LogArgs{Resource: l.res}) }
func (l pulumiLog) Warn(msg string) { _ = l.ctx.Log.Warn(msg, &pulumi.LogArgs{Resource: l.res}) }

// gateTimeout bounds the load gate: its load and a minute to spare.
func gateTimeout(c *RolloutCheck) time.Duration {
	if c == nil {
		return 0
	}
	return time.Duration(c.WarmUpSeconds+c.DurationSeconds)*time.Second + time.Minute
}

// LoadGate turns the rolloutCheck config into the rollout's gate: open-model load
// on the production URL, judged by the configured thresholds.
func LoadGate(c *RolloutCheck, url string) rollout.Gate {
	if c == nil {
		return nil
	}
	return func(ctx context.Context) (bool, string, error) {
		profile := loadtest.Profile{}
		for _, p := range c.Paths {
			profile.Targets = append(profile.Targets, loadtest.Target{Path: p, Weight: 1})
		}
		report, err := loadtest.Run(ctx, loadtest.Attack{
			URL: url, Profile: profile, Rate: c.Rate,
			Duration: time.Duration(c.DurationSeconds) * time.Second, WarmUp: time.Duration(c.WarmUpSeconds) * time.Second,
		}, nil)
		if err != nil {
			return false, "", err
		}
		if err := ctx.Err(); err != nil { // cut short: a verdict on part of the load would be a guess
			return false, report.Text(), fmt.Errorf("the load was cut short after %d requests: %w", report.Requests, err)
		}
		th := loadtest.Thresholds{
			MaxP99: time.Duration(c.MaxP99Ms) * time.Millisecond, MaxP95: time.Duration(c.MaxP95Ms) * time.Millisecond,
			MinSuccess: c.MinSuccessPercent / 100,
		}
		why := th.Check(report)
		text := report.Text()
		if len(why) > 0 {
			text += "broken: " + strings.Join(why, "; ") + "\n"
		}
		return len(why) == 0, text, nil
	}
}
