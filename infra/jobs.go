package infra

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// JobsArgs configures NewJobs.
type JobsArgs struct {
	// Service is the web app's config: the environment, secrets and keys the app's
	// code needs wherever it runs.
	Service   ServiceConfig
	Region    string
	Architect string // X86_64 or ARM64
	// AppImage is the app image of this build, by digest.
	AppImage         pulumi.StringInput
	AppRepositoryARN pulumi.StringInput
	// LogGroup is the stack's; workers and schedules write their own streams in it.
	LogGroup *cloudwatch.LogGroup
	// SecretKey is the generated secret's ARN ("" when none is generated).
	SecretKey pulumi.StringOutput
	VpcID     pulumi.StringInput
	VpcCIDR   string
	// Queues, nil without queues, are granted to the task role (send and consume).
	Queues *Queues
	// Released resolves to the web task definition once the web deployment
	// succeeded (Deploy.Released); Gate is a resource of the deployment it follows.
	Released pulumi.StringOutput
	Gate     pulumi.Resource
	// Boundary is the permissions boundary of the roles created here (nil: none).
	Boundary *Boundary
	Tags     pulumi.StringMap
}

// Jobs is what workers and schedules share: their security group (no ingress),
// an execution role that may pull only the app image and read the app's secrets,
// and a task role that may use the queues. Their task definitions are registered
// only once the web deployment succeeded.
type Jobs struct {
	pulumi.ResourceState

	SecurityGroup   *ec2.SecurityGroup
	ExecutionRole   *iam.Role
	ExecutionPolicy *iam.RolePolicy
	TaskRole        *iam.Role
	// QueuePolicy lets the task role use the queues; nil without queues.
	QueuePolicy *iam.RolePolicy

	args *JobsArgs
}

// NewJobs creates the shared security group and roles.
func NewJobs(ctx *pulumi.Context, name string, args *JobsArgs, opts ...pulumi.ResourceOption) (*Jobs, error) {
	j := &Jobs{args: args}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Jobs", name, j, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(j)

	// Nothing connects to a worker or a job: no ingress at all. Out as the web
	// tasks (TaskEgress).
	var err error
	j.SecurityGroup, err = ec2.NewSecurityGroup(ctx, name+"-jobs", &ec2.SecurityGroupArgs{
		Description: pulumi.String("Workers and scheduled jobs: no ingress; HTTPS out and TCP within the VPC"),
		VpcId:       args.VpcID,
		Ingress:     ec2.SecurityGroupIngressArray{},
		Egress:      TaskEgress(args.VpcCIDR),
		Tags:        args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating the jobs' security group: %w", err)
	}

	// Named <name>-<stack>-…, so each stack's deploy role manages its own.
	if j.ExecutionRole, err = serviceRole(ctx, name, "jobs-exec", "ecs-tasks.amazonaws.com", args.Boundary, args.Tags, parent); err != nil {
		return nil, err
	}
	c := args.Service
	execPolicy := pulumi.All(args.AppRepositoryARN, args.LogGroup.Arn, args.SecretKey).ApplyT(func(v []any) (string, error) {
		refs := slices.Collect(maps.Values(c.Secrets))
		if arn := v[2].(string); arn != "" {
			refs = append(refs, arn)
		}
		return executionPolicy([]string{v[0].(string)}, v[1].(string), refs, c.KMSKeyARNs)
	}).(pulumi.StringOutput)
	if j.ExecutionPolicy, err = iam.NewRolePolicy(ctx, name+"-jobs-exec", &iam.RolePolicyArgs{Role: j.ExecutionRole.Name, Policy: execPolicy}, parent); err != nil {
		return nil, fmt.Errorf("creating the jobs' execution policy: %w", err)
	}
	if j.TaskRole, err = serviceRole(ctx, name, "jobs-task", "ecs-tasks.amazonaws.com", args.Boundary, args.Tags, parent); err != nil {
		return nil, err
	}
	if args.Queues != nil {
		if j.QueuePolicy, err = args.Queues.Grant(ctx, name+"-jobs-queues", j.TaskRole, true); err != nil {
			return nil, err
		}
	}
	return j, ctx.RegisterResourceOutputs(j, pulumi.Map{
		"securityGroup": j.SecurityGroup.ID(),
		"executionRole": j.ExecutionRole.Arn,
		"taskRole":      j.TaskRole.Arn,
	})
}

// JobContainer is what differs between a worker's or a schedule's app container.
type JobContainer struct {
	Name        string   // the worker or schedule: its log stream prefix
	Command     []string // nil: the image's own (a schedule overrides it per run)
	HealthCheck []string // nil: none
	CPU, Memory int
	// Environment adds variables (a worker's WORKER_QUEUE_URL).
	Environment pulumi.StringMapInput
}

// TaskDefinition registers a task definition of the app image for a worker or a
// schedule, once the web deployment succeeded: the registration takes
// DependsOnInputs on Released (as Service.Autoscale does), so a failed web
// rollout never registers it and the previous revision stays in use, while in
// preview it resolves at once and the inputs stay known.
func (j *Jobs) TaskDefinition(ctx *pulumi.Context, logical, family string, c JobContainer, parent pulumi.Resource) (*ecs.TaskDefinition, error) {
	a := j.args
	gate := a.Gate
	after := pulumi.DependsOnInputs(a.Released.ApplyT(func(string) []pulumi.Resource { return []pulumi.Resource{gate} }).(pulumi.ResourceArrayOutput))
	queueEnv := pulumi.StringMap{}.ToStringMapOutput()
	if a.Queues != nil {
		queueEnv = a.Queues.Environment
	}
	own := c.Environment
	if own == nil {
		own = pulumi.StringMap{}
	}
	defs := pulumi.All(a.AppImage, a.LogGroup.Name, a.SecretKey, queueEnv, own).ApplyT(func(v []any) (string, error) {
		env := maps.Clone(a.Service.Environment)
		if env == nil {
			env = map[string]string{}
		}
		maps.Copy(env, v[3].(map[string]string))
		maps.Copy(env, v[4].(map[string]string))
		sec := maps.Clone(a.Service.Secrets)
		if sec == nil {
			sec = map[string]string{}
		}
		if arn := v[2].(string); arn != "" {
			sec[a.Service.SecretKeyName] = arn
		}
		return jobContainerDefinitions(c, env, sec, v[0].(string), v[1].(string), a.Region)
	}).(pulumi.StringOutput)
	td, err := ecs.NewTaskDefinition(ctx, logical, fargateTaskDefinition(fargateTask{
		Family: family, CPU: c.CPU, Memory: c.Memory, Architecture: a.Architect,
		ExecutionRole: j.ExecutionRole, TaskRole: j.TaskRole, Containers: defs,
		Volumes: []string{volAppTmp}, Tags: a.Tags,
	}), pulumi.Parent(parent), pulumi.DependsOn([]pulumi.Resource{j.ExecutionPolicy}), after)
	if err != nil {
		return nil, fmt.Errorf("creating task definition %s: %w", logical, err)
	}
	return td, nil
}

// jobContainerDefinitions is the one app container of a worker or a job: the web
// app's environment and secrets, non-root, a read-only root with /tmp on an
// ephemeral volume, its own log streams (<name>/app/<task id>).
func jobContainerDefinitions(c JobContainer, env, sec map[string]string, image, logGroup, region string) (string, error) {
	vars := []KeyValue{}
	for _, k := range sortedKeys(env) {
		vars = append(vars, KeyValue{Name: k, Value: env[k]})
	}
	secretList := []Secret{}
	for _, k := range sortedKeys(sec) {
		secretList = append(secretList, Secret{Name: k, ValueFrom: sec[k]})
	}
	def := ContainerDefinition{
		Name: AppContainer, Image: image, Essential: true, Command: c.Command,
		CPU: c.CPU, MemoryReservation: c.Memory,
		User: appUser, ReadonlyRootFilesystem: true,
		PortMappings: []PortMapping{},
		Environment:  vars, Secrets: secretList,
		MountPoints: []MountPoint{{SourceVolume: volAppTmp, ContainerPath: "/tmp"}},
		LogConfiguration: LogConfiguration{LogDriver: "awslogs", Options: map[string]string{
			"awslogs-group": logGroup, "awslogs-region": region, "awslogs-stream-prefix": c.Name,
		}},
	}
	if len(c.HealthCheck) > 0 {
		// A worker has no port to probe: its health check is the command its
		// config gives; a longer start period, as a worker may connect first.
		def.HealthCheck = &HealthCheck{Command: c.HealthCheck, Interval: 30, Timeout: 5, Retries: 3, StartPeriod: 60}
	}
	b, err := json.Marshal([]ContainerDefinition{def})
	return string(b), err
}
