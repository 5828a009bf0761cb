package infra

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"ecs-bluegreen/infra/secrets"
)

// Container names: the service's load balancer entry and the AppSpec name nginx.
const (
	NginxContainer = "nginx"
	AppContainer   = "app"
)

// ServiceArgs configures NewService.
type ServiceArgs struct {
	Config     ServiceConfig
	Region     string
	Partition  string
	Architect  string // X86_64 or ARM64
	AppImage   pulumi.StringInput
	NginxImage pulumi.StringInput
	// RepositoryARNs are the repositories the execution role may pull from, and only those.
	RepositoryARNs pulumi.StringArrayInput
	SubnetIDs      pulumi.StringArrayInput
	SecurityGroup  pulumi.StringInput
	AssignPublicIP bool
	// TargetGroupARN is the blue target group the service starts behind.
	TargetGroupARN pulumi.StringInput
	// Listeners must exist before the service: ECS rejects a target group without a load balancer.
	Listeners []pulumi.Resource
	// StartEmpty creates the service with no tasks: the rollout migrates first,
	// then gives it its desired count.
	StartEmpty bool
	// ExtraEnvironment adds variables to the app container (the queue URLs); nil
	// for none.
	ExtraEnvironment pulumi.StringMapInput
	Protect          bool
	// Boundary is the permissions boundary of the roles created here (nil: none).
	Boundary *Boundary
	Tags     pulumi.StringMap
}

// Service is the cluster, the task definition and the ECS service deployed by CodeDeploy.
type Service struct {
	pulumi.ResourceState

	Cluster       *ecs.Cluster
	LogGroup      *cloudwatch.LogGroup
	ExecutionRole *iam.Role
	// ExecutionPolicy is what the execution role may do (pull, log, read secrets);
	// the task definition depends on it, so no task starts before it exists.
	ExecutionPolicy *iam.RolePolicy
	TaskRole        *iam.Role
	TaskDefinition  *ecs.TaskDefinition
	Service         *ecs.Service
	// SecretKey is the generated secret the app receives as SecretKeyName; nil
	// when none is generated.
	SecretKey     *ssm.Parameter
	ScalingTarget *appautoscaling.Target
	ScalingPolicy *appautoscaling.Policy
	// CapacityProvider is what the tasks run on: FARGATE or FARGATE_SPOT.
	CapacityProvider string
	// CapacityProviders associates FARGATE and FARGATE_SPOT with the cluster; a
	// service using one depends on it.
	CapacityProviders *ecs.ClusterCapacityProviders
}

// ServiceIgnoredInputs are the ECS service inputs Pulumi leaves to CodeDeploy and autoscaling.
var ServiceIgnoredInputs = []string{"taskDefinition", "loadBalancers", "networkConfiguration", "platformVersion", "capacityProviderStrategies", "desiredCount"}

// NewService creates the cluster, logs, roles, task definition and service;
// Autoscale adds the autoscaling once the first revision may run.
func NewService(ctx *pulumi.Context, name string, args *ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	s := &Service{}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Service", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	c := args.Config
	var err error

	s.Cluster, err = ecs.NewCluster(ctx, name, &ecs.ClusterArgs{
		Settings: ecs.ClusterSettingArray{ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String("disabled")}},
		Tags:     args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating cluster: %w", err)
	}
	s.CapacityProvider = "FARGATE"
	if c.FargateSpot {
		s.CapacityProvider = "FARGATE_SPOT"
	}
	providers, err := ecs.NewClusterCapacityProviders(ctx, name, &ecs.ClusterCapacityProvidersArgs{
		ClusterName:       s.Cluster.Name,
		CapacityProviders: pulumi.StringArray{pulumi.String("FARGATE"), pulumi.String("FARGATE_SPOT")},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating cluster capacity providers: %w", err)
	}
	s.CapacityProviders = providers

	s.LogGroup, err = cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(c.LogRetentionDays),
		Tags:            args.Tags,
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, fmt.Errorf("creating log group: %w", err)
	}

	secretKey := pulumi.String("").ToStringOutput()
	if _, given := c.Secrets[c.SecretKeyName]; c.SecretKeyName != "" && !given {
		if s.SecretKey, err = newSecretKey(ctx, name, args, parent); err != nil {
			return nil, err
		}
		secretKey = s.SecretKey.Arn
	}

	if err := s.roles(ctx, name, args, secretKey, parent); err != nil {
		return nil, err
	}

	extra := args.ExtraEnvironment
	if extra == nil {
		extra = pulumi.StringMap{}
	}
	containers := pulumi.All(args.AppImage, args.NginxImage, s.LogGroup.Name, secretKey, extra).ApplyT(func(v []any) (string, error) {
		cs := c
		if arn := v[3].(string); arn != "" {
			cs.Secrets = maps.Clone(c.Secrets)
			cs.Secrets[c.SecretKeyName] = arn
		}
		if env := v[4].(map[string]string); len(env) > 0 {
			cs.Environment = map[string]string{}
			maps.Copy(cs.Environment, c.Environment)
			maps.Copy(cs.Environment, env)
		}
		return containerDefinitions(cs, v[0].(string), v[1].(string), v[2].(string), args.Region)
	}).(pulumi.StringOutput)
	s.TaskDefinition, err = ecs.NewTaskDefinition(ctx, name, fargateTaskDefinition(fargateTask{
		Family: ctx.Project() + "-" + ctx.Stack() + "-" + name, CPU: c.CPU, Memory: c.Memory, Architecture: args.Architect,
		ExecutionRole: s.ExecutionRole, TaskRole: s.TaskRole, Containers: containers,
		Volumes: []string{volNginxTmp, volNginxConf, volAppTmp}, Tags: args.Tags,
	}), parent, pulumi.DependsOn([]pulumi.Resource{s.ExecutionPolicy}))
	if err != nil {
		return nil, fmt.Errorf("creating task definition: %w", err)
	}

	// With the CODE_DEPLOY controller, ECS rejects UpdateService changes to these;
	// new revisions, network and capacity-provider changes go out as CodeDeploy
	// deployments instead (the AppSpec carries them), and autoscaling owns the task
	// count. A capacity-provider change would otherwise replace the service: the
	// provider updates it in place only with forceNewDeployment, which CODE_DEPLOY
	// does not allow.
	ignored := pulumi.IgnoreChanges(ServiceIgnoredInputs)
	// With StartEmpty the first revision's tasks start only once its migration
	// ran (the rollout sets the count then); the count is ignored afterwards.
	desired := c.DesiredCount
	if args.StartEmpty {
		desired = 0
	}
	s.Service, err = ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Cluster:                       s.Cluster.Arn,
		TaskDefinition:                s.TaskDefinition.Arn,
		DesiredCount:                  pulumi.Int(desired),
		DeploymentController:          &ecs.ServiceDeploymentControllerArgs{Type: pulumi.String("CODE_DEPLOY")},
		HealthCheckGracePeriodSeconds: pulumi.Int(c.HealthCheckGracePeriodSeconds),
		PlatformVersion:               pulumi.String("LATEST"),
		CapacityProviderStrategies: ecs.ServiceCapacityProviderStrategyArray{ecs.ServiceCapacityProviderStrategyArgs{
			CapacityProvider: pulumi.String(s.CapacityProvider), Weight: pulumi.Int(1),
		}},
		LoadBalancers: ecs.ServiceLoadBalancerArray{ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: args.TargetGroupARN,
			ContainerName:  pulumi.String(NginxContainer),
			ContainerPort:  pulumi.Int(c.NginxPort),
		}},
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.SubnetIDs,
			SecurityGroups: pulumi.StringArray{args.SecurityGroup},
			AssignPublicIp: pulumi.Bool(args.AssignPublicIP),
		},
		PropagateTags: pulumi.String("SERVICE"),
		Tags:          args.Tags,
	}, parent, ignored, pulumi.DependsOn(append([]pulumi.Resource{providers}, args.Listeners...)))
	if err != nil {
		return nil, fmt.Errorf("creating ECS service: %w", err)
	}

	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"clusterName":       s.Cluster.Name,
		"serviceName":       s.Service.Name,
		"taskDefinitionArn": s.TaskDefinition.Arn,
	})
}

// Autoscale registers the service with Application Auto Scaling once after is
// resolved: RegisterScalableTarget moves the service's desired count into the
// target's range at once (Application Auto Scaling concepts, "Scalable target"),
// so a service created with no tasks must keep none until its first revision's
// migration ran. after takes part in no input, so a preview shows no change.
func (s *Service) Autoscale(ctx *pulumi.Context, name string, c ServiceConfig, tags pulumi.StringMap, after pulumi.StringOutput, gate pulumi.Resource) error {
	parent := pulumi.Parent(s)
	wait := pulumi.DependsOnInputs(after.ApplyT(func(string) []pulumi.Resource { return []pulumi.Resource{gate} }).(pulumi.ResourceArrayOutput))
	resourceID := pulumi.Sprintf("service/%s/%s", s.Cluster.Name, s.Service.Name)
	var err error
	s.ScalingTarget, err = appautoscaling.NewTarget(ctx, name, &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        resourceID,
		MinCapacity:       pulumi.Int(c.MinTasks),
		MaxCapacity:       pulumi.Int(c.MaxTasks),
		// The stack tag: its scaling policy's calls are scoped by it.
		Tags: tags,
	}, parent, wait)
	if err != nil {
		return fmt.Errorf("creating autoscaling target: %w", err)
	}
	s.ScalingPolicy, err = appautoscaling.NewPolicy(ctx, name+"-cpu", cpuTracking(s.ScalingTarget, c.CPUTargetPercent), parent)
	if err != nil {
		return fmt.Errorf("creating autoscaling policy: %w", err)
	}
	return nil
}

// cpuTracking is target tracking of a service's average CPU: out after a minute,
// in after five.
func cpuTracking(target *appautoscaling.Target, percent int) *appautoscaling.PolicyArgs {
	return &appautoscaling.PolicyArgs{
		PolicyType:        pulumi.String("TargetTrackingScaling"),
		ServiceNamespace:  target.ServiceNamespace,
		ScalableDimension: target.ScalableDimension,
		ResourceId:        target.ResourceId,
		TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
			PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String("ECSServiceAverageCPUUtilization"),
			},
			TargetValue:      pulumi.Float64(float64(percent)),
			ScaleOutCooldown: pulumi.Int(60),
			ScaleInCooldown:  pulumi.Int(300),
		},
	}
}

// fargateTask is what differs between the stack's task definitions.
type fargateTask struct {
	Family                  string
	CPU, Memory             int
	Architecture            string
	ExecutionRole, TaskRole *iam.Role
	Containers              pulumi.StringOutput
	// Volumes are Fargate ephemeral storage for the paths the containers write;
	// their root filesystems are read-only.
	Volumes []string
	Tags    pulumi.StringMap
}

// fargateTaskDefinition is a Fargate task definition of the stack (awsvpc,
// Linux). Old revisions stay ACTIVE: CodeDeploy and a worker's circuit breaker
// roll back to them, and a schedule's run may still start on one.
func fargateTaskDefinition(t fargateTask) *ecs.TaskDefinitionArgs {
	var volumes ecs.TaskDefinitionVolumeArray
	for _, v := range t.Volumes {
		volumes = append(volumes, ecs.TaskDefinitionVolumeArgs{Name: pulumi.String(v)})
	}
	return &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(t.Family),
		Cpu:                     pulumi.String(strconv.Itoa(t.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(t.Memory)),
		NetworkMode:             pulumi.String("awsvpc"),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			CpuArchitecture:       pulumi.String(t.Architecture),
			OperatingSystemFamily: pulumi.String("LINUX"),
		},
		ExecutionRoleArn:     t.ExecutionRole.Arn,
		TaskRoleArn:          t.TaskRole.Arn,
		ContainerDefinitions: t.Containers,
		Volumes:              volumes,
		SkipDestroy:          pulumi.Bool(true),
		Tags:                 t.Tags,
	}
}

// roles creates the execution role (pull exactly these images, write these logs,
// read exactly the configured secrets) and the app's task role.
func (s *Service) roles(ctx *pulumi.Context, name string, args *ServiceArgs, secretKey pulumi.StringOutput, parent pulumi.ResourceOption) error {
	var err error
	if s.ExecutionRole, err = serviceRole(ctx, name, "exec", "ecs-tasks.amazonaws.com", args.Boundary, args.Tags, parent); err != nil {
		return err
	}
	execPolicy := pulumi.All(args.RepositoryARNs, s.LogGroup.Arn, secretKey).ApplyT(func(v []any) (string, error) {
		refs := slices.Collect(maps.Values(args.Config.Secrets))
		if arn := v[2].(string); arn != "" {
			refs = append(refs, arn)
		}
		return executionPolicy(v[0].([]string), v[1].(string), refs, args.Config.KMSKeyARNs)
	}).(pulumi.StringOutput)
	if s.ExecutionPolicy, err = iam.NewRolePolicy(ctx, name+"-exec", &iam.RolePolicyArgs{Role: s.ExecutionRole.Name, Policy: execPolicy}, parent); err != nil {
		return fmt.Errorf("creating execution role policy: %w", err)
	}
	s.TaskRole, err = serviceRole(ctx, name, "task", "ecs-tasks.amazonaws.com", args.Boundary, args.Tags, parent)
	return err
}

// executionPolicy lets ECS pull exactly these images, write this log group, and
// read exactly these secrets (granted as secrets.ResourceARN says), decrypting them
// with the given customer-managed keys.
func executionPolicy(repoARNs []string, logGroupARN string, secretRefs, kmsKeys []string) (string, error) {
	doc := policy(
		// GetAuthorizationToken has no resource-level permissions.
		policyStatement{Sid: "EcrLogin", Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: []string{"*"}},
		policyStatement{Sid: "EcrPull", Effect: "Allow", Action: []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}, Resource: repoARNs},
		policyStatement{Sid: "Logs", Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"}, Resource: []string{logGroupARN, logGroupARN + ":*"}},
	)
	var ssmARNs, secretARNs []string
	for _, ref := range secretRefs {
		arn := secrets.ResourceARN(ref)
		if strings.Contains(arn, ":ssm:") {
			ssmARNs = append(ssmARNs, arn)
		} else {
			secretARNs = append(secretARNs, arn)
		}
	}
	slices.Sort(ssmARNs)
	slices.Sort(secretARNs)
	if ssmARNs = slices.Compact(ssmARNs); len(ssmARNs) > 0 {
		doc.Statement = append(doc.Statement, policyStatement{Sid: "SsmParameters", Effect: "Allow", Action: []string{"ssm:GetParameters"}, Resource: ssmARNs})
	}
	if secretARNs = slices.Compact(secretARNs); len(secretARNs) > 0 {
		doc.Statement = append(doc.Statement, policyStatement{Sid: "Secrets", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue"}, Resource: secretARNs})
	}
	if len(kmsKeys) > 0 {
		doc.Statement = append(doc.Statement, policyStatement{Sid: "DecryptSecrets", Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: kmsKeys})
	}
	return doc.JSON()
}

// newSecretKey creates the app's secret key once, as an SSM SecureString parameter
// (encrypted with the account's aws/ssm key). Its value is generated here and never
// changed afterwards: the parameter ignores later values.
func newSecretKey(ctx *pulumi.Context, name string, args *ServiceArgs, parent pulumi.ResourceOption) (*ssm.Parameter, error) {
	buf := make([]byte, 48)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("generating secret key: %w", err)
	}
	p, err := ssm.NewParameter(ctx, name+"-secret-key", &ssm.ParameterArgs{
		Name:        pulumi.Sprintf("/%s/%s/%s/%s", ctx.Project(), ctx.Stack(), name, strings.ToLower(args.Config.SecretKeyName)),
		Description: pulumi.Sprintf("%s of the %s app, generated by its stack", args.Config.SecretKeyName, name),
		Type:        pulumi.String("SecureString"),
		Value:       pulumi.ToSecret(pulumi.String(base64.RawURLEncoding.EncodeToString(buf))).(pulumi.StringOutput),
		Tags:        args.Tags,
	}, parent, pulumi.IgnoreChanges([]string{"value"}), pulumi.AdditionalSecretOutputs([]string{"value"}))
	if err != nil {
		return nil, fmt.Errorf("creating secret key parameter: %w", err)
	}
	return p, nil
}

// ContainerDefinition is the subset of the ECS container definition we set.
type ContainerDefinition struct {
	Name                   string             `json:"name"`
	Image                  string             `json:"image"`
	Essential              bool               `json:"essential"`
	Command                []string           `json:"command,omitempty"`
	CPU                    int                `json:"cpu"`
	MemoryReservation      int                `json:"memoryReservation"`
	User                   string             `json:"user"`
	ReadonlyRootFilesystem bool               `json:"readonlyRootFilesystem"`
	Privileged             bool               `json:"privileged"`
	PortMappings           []PortMapping      `json:"portMappings"`
	Environment            []KeyValue         `json:"environment"`
	Secrets                []Secret           `json:"secrets"`
	MountPoints            []MountPoint       `json:"mountPoints"`
	HealthCheck            *HealthCheck       `json:"healthCheck,omitempty"`
	DependsOn              []ContainerDepends `json:"dependsOn,omitempty"`
	LogConfiguration       LogConfiguration   `json:"logConfiguration"`
}

type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly"`
}

// HealthCheck is a container health check; ECS reports the container HEALTHY
// once the command succeeds.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    int      `json:"interval"`
	Timeout     int      `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod int      `json:"startPeriod"`
}

// Users the images run as (their Dockerfiles create them), and the ephemeral
// volumes for the paths each container writes.
const (
	nginxUser    = "101"   // nginx in nginxinc/nginx-unprivileged
	appUser      = "10001" // app in app/django/Dockerfile
	volNginxTmp  = "nginx-tmp"
	volNginxConf = "nginx-conf"
	volAppTmp    = "app-tmp"
)

func healthCheck(cmd string) *HealthCheck {
	return &HealthCheck{Command: []string{"CMD-SHELL", cmd}, Interval: 15, Timeout: 5, Retries: 3, StartPeriod: 30}
}

type PortMapping struct {
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

type KeyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

type ContainerDepends struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

type LogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

// containerDefinitions is the task's JSON: nginx in front (the load balancer's
// target) and the app behind it, CPU and memory split by the configured shares.
// Keys are sorted so equal config gives equal JSON and no spurious revision.
// healthPath is the app's health endpoint the container health check uses.
const healthPath = "/health/"

func containerDefinitions(c ServiceConfig, appImage, nginxImage, logGroup, region string) (string, error) {
	logs := func(prefix string) LogConfiguration {
		return LogConfiguration{LogDriver: "awslogs", Options: map[string]string{
			"awslogs-group": logGroup, "awslogs-region": region, "awslogs-stream-prefix": prefix,
		}}
	}
	// PORT tells gunicorn where to listen; it wins over a PORT in appEnvironment.
	env := []KeyValue{{Name: "PORT", Value: strconv.Itoa(c.AppPort)}}
	for _, k := range sortedKeys(c.Environment) {
		if k != "PORT" {
			env = append(env, KeyValue{Name: k, Value: c.Environment[k]})
		}
	}
	secrets := []Secret{}
	for _, k := range sortedKeys(c.Secrets) {
		secrets = append(secrets, Secret{Name: k, ValueFrom: c.Secrets[k]})
	}
	defs := []ContainerDefinition{
		{
			Name: NginxContainer, Image: nginxImage, Essential: true,
			CPU: c.NginxCPU(), MemoryReservation: c.NginxMemory(),
			User: nginxUser, ReadonlyRootFilesystem: true,
			PortMappings: []PortMapping{{ContainerPort: c.NginxPort, Protocol: "tcp"}},
			// The nginx image renders its config from these (envsubst templates).
			Environment: []KeyValue{{Name: "APP_PORT", Value: strconv.Itoa(c.AppPort)}, {Name: "NGINX_PORT", Value: strconv.Itoa(c.NginxPort)}},
			Secrets:     []Secret{},
			// Where nginx writes: its pid and temp files, and the config it renders.
			MountPoints: []MountPoint{{SourceVolume: volNginxTmp, ContainerPath: "/tmp"}, {SourceVolume: volNginxConf, ContainerPath: "/etc/nginx/conf.d"}},
			// nginx's own answer, independent of the app (ALB health checks cover the path through both).
			HealthCheck:      healthCheck(fmt.Sprintf("wget -q -O /dev/null http://127.0.0.1:%d/nginx-health || exit 1", c.NginxPort)),
			DependsOn:        []ContainerDepends{{ContainerName: AppContainer, Condition: "HEALTHY"}},
			LogConfiguration: logs(NginxContainer),
		},
		{
			Name: AppContainer, Image: appImage, Essential: true,
			CPU: c.AppCPU(), MemoryReservation: c.AppMemory(),
			User: appUser, ReadonlyRootFilesystem: true,
			PortMappings: []PortMapping{{ContainerPort: c.AppPort, Protocol: "tcp"}},
			Environment:  env, Secrets: secrets,
			// gunicorn's worker heartbeat files and the sample's SQLite file.
			MountPoints:      []MountPoint{{SourceVolume: volAppTmp, ContainerPath: "/tmp"}},
			HealthCheck:      healthCheck(fmt.Sprintf("python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:%d%s', timeout=4)\"", c.AppPort, healthPath)),
			LogConfiguration: logs(AppContainer),
		},
	}
	b, err := json.Marshal(defs)
	return string(b), err
}
