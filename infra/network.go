package infra

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	awsxec2 "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkArgs configures NewNetwork.
type NetworkArgs struct {
	Network NetworkConfig
	Edge    EdgeConfig
	// LogRetentionDays is how long flow logs are kept.
	LogRetentionDays int
	// Boundary is the permissions boundary of the roles created here (nil: none).
	Boundary *Boundary
	Tags     pulumi.StringMap
}

// Network is the VPC and the two security groups: the ALB's, open only on its
// listener ports, and the tasks', open only to the ALB.
type Network struct {
	pulumi.ResourceState

	Vpc              *awsxec2.Vpc
	VpcID            pulumi.StringOutput
	PublicSubnetIDs  pulumi.StringArrayOutput
	PrivateSubnetIDs pulumi.StringArrayOutput
	// TaskSubnetIDs are where tasks run: private subnets behind NAT, or public subnets
	// (with a public IP) when the stack has no NAT gateway.
	TaskSubnetIDs pulumi.StringArrayOutput
	// PublicCIDRs and PrivateCIDRs are the subnets' CIDR blocks, one per AZ.
	PublicCIDRs, PrivateCIDRs []string
	AssignPublicIP            bool
	AlbSecurityGroup          *ec2.SecurityGroup
	TaskSecurityGroup         *ec2.SecurityGroup
	// FlowLog records the VPC's rejected traffic (prod); nil otherwise.
	FlowLog *ec2.FlowLog
	// FlowLogRole is the role VPC Flow Logs delivers with; nil without flow logs.
	FlowLogRole *iam.Role
}

// TaskPorts is the port range the load balancer may reach the tasks on: every
// port nginxPort may take, not only the current one. Security-group rules change
// the moment they update, before any task of a new revision exists; with only the
// new port the load balancer could no longer reach the old tasks while a port
// change rolls out, they would turn unhealthy, and the alarm would roll back to
// tasks it still cannot reach. The tasks' group admits only the load balancer's
// group, and the load balancer sends only to the targets ECS registered (nginx's
// port of each task).
var TaskPorts = [2]int{1024, 65535}

// SubnetLayout gives each AZ's public and private subnet CIDR. The VPC is split
// into 2^ceil(log2(azs)) equal AZ blocks; each block holds its public subnet in
// the first half and its private subnet in the second. The public CIDRs depend only
// on the VPC CIDR and the AZ count, never on whether private subnets (NAT) exist.
// This is the layout awsx's Auto strategy gave a stack with public and private
// subnets, so such stacks keep their subnets.
func SubnetLayout(vpcCIDR string, azs int) (public, private []string, err error) {
	vpc, err := netip.ParsePrefix(vpcCIDR)
	if err != nil || !vpc.Addr().Is4() {
		return nil, nil, fmt.Errorf("subnet layout: %q is not an IPv4 CIDR", vpcCIDR)
	}
	azBits := vpc.Bits() + bits.Len(uint(azs-1))
	subnetBits := azBits + 1
	if azs < 1 || subnetBits > 28 {
		return nil, nil, fmt.Errorf("subnet layout: %s cannot hold %d AZs of two subnets each", vpcCIDR, azs)
	}
	base := binary.BigEndian.Uint32(vpc.Masked().Addr().AsSlice())
	block := func(bitsLen int, index uint32) string {
		a := base + index<<(32-bitsLen)
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bitsLen).String()
	}
	for i := range azs {
		public = append(public, block(subnetBits, uint32(2*i)))
		private = append(private, block(subnetBits, uint32(2*i+1)))
	}
	return public, private, nil
}

// NewNetwork creates the VPC (awsx) and the security groups.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{AssignPublicIP: args.Network.AssignPublicIP()}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)

	strategy := map[string]awsxec2.NatGatewayStrategy{
		"none":     awsxec2.NatGatewayStrategyNone,
		"single":   awsxec2.NatGatewayStrategySingle,
		"onePerAz": awsxec2.NatGatewayStrategyOnePerAz,
	}[args.Network.NATGateways]
	cidr, azs := args.Network.CIDR, args.Network.AZCount
	public, private, err := SubnetLayout(cidr, azs)
	if err != nil {
		return nil, err
	}
	// Without NAT a private subnet would have no way out (and awsx refuses private
	// subnets without NAT), so the VPC gets public subnets only and the tasks run
	// there. The CIDRs are explicit, so adding or dropping the private subnets never
	// moves the public ones that hold the load balancer.
	subnets := []awsxec2.SubnetSpecArgs{
		{Type: awsxec2.SubnetTypePublic, CidrBlocks: public},
		{Type: awsxec2.SubnetTypePrivate, CidrBlocks: private},
	}
	if n.AssignPublicIP {
		subnets = subnets[:1]
	}
	layout := awsxec2.SubnetAllocationStrategyAuto
	vpc, err := awsxec2.NewVpc(ctx, name+"-vpc", &awsxec2.VpcArgs{
		CidrBlock:                 &cidr,
		NumberOfAvailabilityZones: &azs,
		NatGateways:               &awsxec2.NatGatewayConfigurationArgs{Strategy: strategy},
		SubnetSpecs:               subnets,
		SubnetStrategy:            &layout,
		EnableDnsHostnames:        pulumi.Bool(true),
		Tags:                      args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating VPC: %w", err)
	}
	n.Vpc, n.VpcID = vpc, vpc.VpcId
	n.PublicCIDRs, n.PrivateCIDRs = public, private
	n.PublicSubnetIDs, n.PrivateSubnetIDs = vpc.PublicSubnetIds, vpc.PrivateSubnetIds
	n.TaskSubnetIDs = vpc.PrivateSubnetIds
	if n.AssignPublicIP {
		n.TaskSubnetIDs = vpc.PublicSubnetIds
	}

	e := args.Edge
	ingress := ec2.SecurityGroupIngressArray{}
	ports := []int{e.ProdPort()}
	if e.HTTPS() {
		ports = append(ports, 80) // HTTP only redirects to HTTPS
	}
	for _, p := range ports {
		ingress = append(ingress, ec2.SecurityGroupIngressArgs{
			Description: pulumi.Sprintf("production listener %d", p),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(p), ToPort: pulumi.Int(p),
			CidrBlocks: pulumi.ToStringArray(e.AllowedCIDRs),
		})
	}
	// Only the configured sources reach the test listener. The VPC's own CIDR is not
	// one: an internet-facing load balancer sees clients inside the VPC (hook
	// Lambdas, tasks) by their NAT gateway's or their own public IP, never a VPC
	// address, so such a rule could never match.
	if len(e.TestListenerCIDRs) > 0 {
		ingress = append(ingress, ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("test listener"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(e.TestListenerPort), ToPort: pulumi.Int(e.TestListenerPort),
			CidrBlocks: pulumi.ToStringArray(e.TestListenerCIDRs),
		})
	}
	n.AlbSecurityGroup, err = ec2.NewSecurityGroup(ctx, name+"-alb", &ec2.SecurityGroupArgs{
		Description: pulumi.String("Load balancer: listener ports in, the tasks' nginx port out"),
		VpcId:       vpc.VpcId,
		Ingress:     ingress,
		// Egress by CIDR, not by the task group, to avoid a cycle between the two
		// groups; on the range nginx may listen on (see TaskPorts).
		Egress: ec2.SecurityGroupEgressArray{ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("to tasks"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(TaskPorts[0]), ToPort: pulumi.Int(TaskPorts[1]),
			CidrBlocks: pulumi.StringArray{pulumi.String(cidr)},
		}},
		Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating load balancer security group: %w", err)
	}

	n.TaskSecurityGroup, err = ec2.NewSecurityGroup(ctx, name+"-tasks", &ec2.SecurityGroupArgs{
		Description: pulumi.String("Tasks: nginx port from the load balancer only"),
		VpcId:       vpc.VpcId,
		Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("from the load balancer"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(TaskPorts[0]), ToPort: pulumi.Int(TaskPorts[1]),
			SecurityGroups: pulumi.StringArray{n.AlbSecurityGroup.ID()},
		}},
		Egress: TaskEgress(cidr),
		Tags:   args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating task security group: %w", err)
	}

	if args.Network.FlowLogs {
		if n.FlowLog, n.FlowLogRole, err = flowLog(ctx, name, vpc.VpcId, args, parent); err != nil {
			return nil, err
		}
	}

	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":             n.VpcID,
		"taskSubnetIds":     n.TaskSubnetIDs,
		"albSecurityGroup":  n.AlbSecurityGroup.ID(),
		"taskSecurityGroup": n.TaskSecurityGroup.ID(),
	})
}

// TaskEgress is what the tasks' groups (web, workers, jobs) let out: HTTPS (ECR,
// CloudWatch Logs, SQS, Secrets Manager and other AWS APIs, through NAT or a
// public IP) and TCP within the VPC (databases, caches). DNS to the VPC resolver
// and link-local services are not subject to security groups.
func TaskEgress(vpcCIDR string) ec2.SecurityGroupEgressArray {
	return ec2.SecurityGroupEgressArray{
		ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("HTTPS: AWS APIs, ECR, secrets"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443),
			CidrBlocks: pulumi.StringArray{pulumi.String("0.0.0.0/0")},
		},
		ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("TCP within the VPC"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(0), ToPort: pulumi.Int(65535),
			CidrBlocks: pulumi.StringArray{pulumi.String(vpcCIDR)},
		},
	}
}

// flowLog sends the VPC's rejected traffic to CloudWatch Logs, kept as long as the
// app's logs: what an investigation of a blocked connection or a probe needs.
func flowLog(ctx *pulumi.Context, name string, vpcID pulumi.StringInput, args *NetworkArgs, parent pulumi.ResourceOption) (*ec2.FlowLog, *iam.Role, error) {
	group, err := cloudwatch.NewLogGroup(ctx, name+"-flow-logs", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            args.Tags,
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("creating flow log group: %w", err)
	}
	role, err := serviceRole(ctx, name, "flow-logs", "vpc-flow-logs.amazonaws.com", args.Boundary, args.Tags, parent)
	if err != nil {
		return nil, nil, err
	}
	doc := group.Arn.ApplyT(func(arn string) (string, error) {
		return policy(
			policyStatement{
				Sid: "FlowLogs", Effect: "Allow",
				Action:   []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
				Resource: []string{arn, arn + ":*"},
			},
			// The EC2 user guide's flow-log role lists it; it has no resource-level
			// permission (Service Authorization Reference).
			policyStatement{Sid: "FindLogGroup", Effect: "Allow", Action: []string{"logs:DescribeLogGroups"}, Resource: []string{"*"}},
		).JSON()
	}).(pulumi.StringOutput)
	rolePolicy, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{Role: role.Name, Policy: doc}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("creating flow log policy: %w", err)
	}
	fl, err := ec2.NewFlowLog(ctx, name, &ec2.FlowLogArgs{
		VpcId:                  vpcID,
		TrafficType:            pulumi.String("REJECT"),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(600),
		Tags:                   args.Tags,
	}, parent, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))
	if err != nil {
		return nil, nil, fmt.Errorf("creating flow log: %w", err)
	}
	return fl, role, nil
}
