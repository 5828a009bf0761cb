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
	}, parent); err != nil {
		return nil, err
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
	return out
}
