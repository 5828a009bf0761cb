package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// WebServiceArgs configures NewWebService.
type WebServiceArgs struct {
	Config *Config
}

// WebService is the whole stack: network, registry and images, load balancer,
// ECS service and CodeDeploy. Its parts are fields, for tests and extensions.
type WebService struct {
	pulumi.ResourceState

	Network  *Network
	Registry *Registry
	Edge     *Edge
	Service  *Service
	Deploy   *Deploy
	// Boundary and CI are nil unless ciRepository is set.
	Boundary *Boundary
	CI       *CI
	// Queues, Jobs, Workers and Schedules are nil unless configured.
	Queues    *Queues
	Jobs      *Jobs
	Workers   *Workers
	Schedules *Schedules
}

// NewWebService builds the stack from a validated Config.
func NewWebService(ctx *pulumi.Context, name string, args *WebServiceArgs, opts ...pulumi.ResourceOption) (*WebService, error) {
	cfg := args.Config
	w := &WebService{}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:index:WebService", name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)
	tags := pulumi.StringMap{"app": pulumi.String(cfg.Name), "environment": pulumi.String(cfg.Environment), "stack": pulumi.String(ctx.Stack())}
	var err error

	// First: every role below carries it (a deploy role may change them).
	if cfg.CI.Enabled() {
		if w.Boundary, err = NewBoundary(ctx, name, &BoundaryArgs{
			Name: name, Project: ctx.Project(), Partition: cfg.Partition,
			StateBucket: cfg.CI.StateBucket, HostedZoneID: cfg.Edge.HostedZoneID, Tags: tags,
		}, parent); err != nil {
			return nil, err
		}
	}
	if w.Network, err = NewNetwork(ctx, name, &NetworkArgs{
		Network: cfg.Network, Edge: cfg.Edge,
		LogRetentionDays: cfg.Service.LogRetentionDays, Boundary: w.Boundary, Tags: tags,
	}, parent); err != nil {
		return nil, err
	}
	if w.Registry, err = NewRegistry(ctx, name, &RegistryArgs{
		Images: cfg.Images, Protect: cfg.Protect, Tags: tags,
	}, parent); err != nil {
		return nil, err
	}
	if w.Edge, err = NewEdge(ctx, name, &EdgeArgs{
		Edge:             cfg.Edge,
		Region:           cfg.Region,
		Partition:        cfg.Partition,
		LogRetentionDays: cfg.Service.LogRetentionDays,
		VpcID:            w.Network.VpcID,
		SubnetIDs:        w.Network.PublicSubnetIDs,
		SecurityGroupID:  w.Network.AlbSecurityGroup.ID(),
		Protect:          cfg.Protect,
		Tags:             tags,
	}, parent); err != nil {
		return nil, err
	}
	listeners := []pulumi.Resource{w.Edge.ProdListener, w.Edge.TestListener}
	// Queues come before the web task definition, which carries their URLs.
	var queueEnv pulumi.StringMapInput
	if len(cfg.Jobs.Queues) > 0 {
		if w.Queues, err = NewQueues(ctx, name, &QueuesArgs{Queues: cfg.Jobs.Queues, Tags: tags}, parent); err != nil {
			return nil, err
		}
		queueEnv = w.Queues.Environment
	}
	if w.Service, err = NewService(ctx, name, &ServiceArgs{
		Config:         cfg.Service,
		Region:         cfg.Region,
		Partition:      cfg.Partition,
		Architect:      cfg.Images.Architecture,
		AppImage:       w.Registry.App.Ref,
		NginxImage:     w.Registry.Nginx.Ref,
		RepositoryARNs: pulumi.StringArray{w.Registry.App.Repository.Arn, w.Registry.Nginx.Repository.Arn},
		SubnetIDs:      w.Network.TaskSubnetIDs,
		SecurityGroup:  w.Network.TaskSecurityGroup.ID(),
		AssignPublicIP: w.Network.AssignPublicIP,
		TargetGroupARN: w.Edge.Blue.Arn,
		Listeners:      listeners,
		StartEmpty:     cfg.Deploy.Rollout.Enabled && len(cfg.Deploy.Rollout.MigrationCommand) > 0,
		Protect:        cfg.Protect,
		Boundary:       w.Boundary,
		Tags:           tags,

		ExtraEnvironment: queueEnv,
	}, parent); err != nil {
		return nil, err
	}
	if w.Queues != nil {
		// Web enqueues: send only.
		if _, err := w.Queues.Grant(ctx, name+"-web-queues", w.Service.TaskRole, false); err != nil {
			return nil, err
		}
	}
	if w.Deploy, err = NewDeploy(ctx, name, &DeployArgs{
		Config:       cfg.Deploy,
		Partition:    cfg.Partition,
		ClusterName:  w.Service.Cluster.Name,
		ServiceName:  w.Service.Service.Name,
		LoadBalancer: w.Edge.LoadBalancer,
		Blue:         w.Edge.Blue,
		Green:        w.Edge.Green,
		ProdListener: w.Edge.ProdListener,
		TestListener: w.Edge.TestListener,
		TaskRoles:    pulumi.StringArray{w.Service.ExecutionRole.Arn, w.Service.TaskRole.Arn},
		Boundary:     w.Boundary,
		Tags:         tags,
		Release: Release{
			Identity:           cfg.AWS,
			TaskDefinition:     w.Service.TaskDefinition.Arn,
			TargetGroup:        w.Edge.Blue.Arn,
			URL:                w.Edge.URL,
			ContainerName:      NginxContainer,
			ContainerPort:      cfg.Service.NginxPort,
			Subnets:            w.Network.TaskSubnetIDs,
			SecurityGroup:      w.Network.TaskSecurityGroup.ID().ToStringOutput(),
			AssignPublicIP:     w.Network.AssignPublicIP,
			CapacityProvider:   w.Service.CapacityProvider,
			Image:              w.Registry.App.Ref,
			MigrationContainer: AppContainer,
			DesiredCount:       cfg.Service.DesiredCount,
		},
	}, parent); err != nil {
		return nil, err
	}
	if err := w.Service.Autoscale(ctx, name, cfg.Service, tags, w.Deploy.Released, w.Deploy.DeploymentGroup); err != nil {
		return nil, err
	}
	if err := w.jobs(ctx, name, cfg, tags, parent); err != nil {
		return nil, err
	}

	if cfg.CI.Enabled() {
		passes := CIPasses{
			ECSTasks:   pulumi.StringArray{w.Service.ExecutionRole.Arn, w.Service.TaskRole.Arn},
			CodeDeploy: w.Deploy.Role.Arn,
		}
		if w.Network.FlowLogRole != nil {
			passes.FlowLogs = w.Network.FlowLogRole.Arn
		}
		var accessLogs pulumi.StringInput
		if w.Edge.AccessLogs != nil {
			accessLogs = w.Edge.AccessLogs.Arn
		}
		if w.CI, err = NewCI(ctx, name, &CIArgs{
			Config: cfg.CI, Environment: cfg.Environment, Name: name, Project: ctx.Project(), Partition: cfg.Partition, Region: cfg.Region,
			Account:         w.Service.ExecutionRole.Arn.ApplyT(accountOf).(pulumi.StringOutput),
			Passes:          passes,
			AccessLogBucket: accessLogs,
			HostedZoneID:    cfg.Edge.HostedZoneID,
			Boundary:        w.Boundary,
			Tags:            tags,
		}, parent); err != nil {
			return nil, err
		}
	}

	return w, ctx.RegisterResourceOutputs(w, w.Outputs())
}

// jobs adds the workers and schedules, on the app image of this build. Their task
// definitions follow the web deployment's verdict (Deploy.Released): only once
// the web deployment succeeded, or nothing needed deploying, do the workers roll
// and the schedules point at the new revision.
func (w *WebService) jobs(ctx *pulumi.Context, name string, cfg *Config, tags pulumi.StringMap, parent pulumi.ResourceOption) error {
	if !cfg.Jobs.Enabled() {
		return nil
	}
	secretKey := pulumi.String("").ToStringOutput()
	if w.Service.SecretKey != nil {
		secretKey = w.Service.SecretKey.Arn
	}
	var err error
	if w.Jobs, err = NewJobs(ctx, name, &JobsArgs{
		Service: cfg.Service, Region: cfg.Region, Architect: cfg.Images.Architecture,
		AppImage: w.Registry.App.Ref, AppRepositoryARN: w.Registry.App.Repository.Arn,
		LogGroup: w.Service.LogGroup, SecretKey: secretKey,
		VpcID: w.Network.VpcID, VpcCIDR: cfg.Network.CIDR, Queues: w.Queues,
		Released: w.Deploy.Released, Gate: w.Deploy.DeploymentGroup,
		Boundary: w.Boundary, Tags: tags,
	}, parent); err != nil {
		return err
	}
	if len(cfg.Jobs.Workers) > 0 {
		if w.Workers, err = NewWorkers(ctx, name, &WorkersArgs{
			Workers: cfg.Jobs.Workers, Jobs: w.Jobs, Cluster: w.Service.Cluster, CapacityProviders: w.Service.CapacityProviders,
			Subnets: w.Network.TaskSubnetIDs, AssignPublicIP: w.Network.AssignPublicIP, Queues: w.Queues,
			Identity: cfg.AWS, Rollout: cfg.Deploy.Rollout.Enabled, Timeout: cfg.Deploy.Rollout.Timeout,
			Tags: tags,
		}, parent); err != nil {
			return err
		}
	}
	if len(cfg.Jobs.Schedules) > 0 {
		if w.Schedules, err = NewSchedules(ctx, name, &SchedulesArgs{
			Schedules: cfg.Jobs.Schedules, Jobs: w.Jobs, Cluster: w.Service.Cluster,
			Subnets: w.Network.TaskSubnetIDs, AssignPublicIP: w.Network.AssignPublicIP,
			Partition: cfg.Partition, Region: cfg.Region, Boundary: w.Boundary, Tags: tags,
		}, parent); err != nil {
			return err
		}
	}
	return nil
}

// Outputs are the stack outputs DESIGN.md lists.
func (w *WebService) Outputs() pulumi.Map {
	out := pulumi.Map{
		"url":                       w.Edge.URL,
		"testUrl":                   w.Edge.TestURL,
		"appRepositoryUrl":          w.Registry.App.Repository.RepositoryUrl,
		"nginxRepositoryUrl":        w.Registry.Nginx.Repository.RepositoryUrl,
		"appImage":                  w.Registry.App.Ref,
		"nginxImage":                w.Registry.Nginx.Ref,
		"clusterName":               w.Service.Cluster.Name,
		"serviceName":               w.Service.Service.Name,
		"taskDefinitionArn":         w.Service.TaskDefinition.Arn,
		"codedeployApplication":     w.Deploy.Application.Name,
		"codedeployDeploymentGroup": w.Deploy.DeploymentGroup.DeploymentGroupName,
		"deploymentId":              w.Deploy.DeploymentID,
		"rolloutResult":             w.Deploy.Summary,
	}
	if w.CI != nil {
		out["ciDeployRoleArn"] = w.CI.DeployRole.Arn
		out["ciPreviewRoleArn"] = w.CI.PreviewRole.Arn
	}
	if w.Queues != nil {
		out["queueUrls"] = w.Queues.Environment
	}
	if w.Workers != nil {
		services := pulumi.StringMap{}
		for wn, svc := range w.Workers.Services {
			services[wn] = svc.Name
		}
		out["workerServices"] = services
		// A failed worker rollout fails `pulumi up` through this output.
		out["workerRollouts"] = w.Workers.Rollouts
	}
	if w.Schedules != nil {
		names := pulumi.StringMap{}
		for sn, sched := range w.Schedules.Schedules {
			names[sn] = sched.Arn
		}
		out["schedules"] = names
		out["jobFailuresQueueUrl"] = w.Schedules.Failures.Url
	}
	return out
}
