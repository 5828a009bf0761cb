package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/offline"
	"ecs-bluegreen/infra/ops"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

// The calls AWS makes as each role. Sources, by key:
//   [SAR]   Service Authorization Reference (iameval's catalog): action names, the
//           resource each action authorizes on, and its condition keys.
//   [TF]    Terraform AWS provider v5 (behind pulumi-aws v6), internal/service/<svc>/
//           <resource>.go: the API calls of each resource's Create, Read (after
//           create), Update and Delete; read at github.com/hashicorp/terraform-provider-aws.
//   [CD]    Amazon ECS developer guide, "Amazon ECS CodeDeploy IAM Role" (iam:PassRole
//           of the execution and task roles as an inline policy) and the managed
//           policy AWSCodeDeployRoleForECSLimited v3 (what CodeDeploy calls).
//   [ECS]   Amazon ECS developer guide, "Task execution IAM role" (ECR pulls, awslogs,
//           secrets from SSM / Secrets Manager, kms:Decrypt with a customer key);
//           "Tagging authorization" (ecs:TagResource on create when tags are given).
//   [EC2]   Amazon EC2 user guide: tags on create need ec2:CreateTags (ec2:CreateAction);
//           "IAM role for publishing flow logs to CloudWatch Logs" (the role's calls;
//           iam:PassRole of it for ec2:CreateFlowLogs).
//   [ELB]   Elastic Load Balancing user guide: tags on create need
//           elasticloadbalancing:AddTags (elasticloadbalancing:CreateAction).
//   [AAS]   Application Auto Scaling user guide, "Identity-based policy examples":
//           RegisterScalableTarget of an ECS service checks ecs:DescribeServices and
//           ecs:UpdateService; target tracking checks cloudwatch:PutMetricAlarm,
//           DescribeAlarms and DeleteAlarms on the alarms it creates.
//   [ECR]   Amazon ECR user guide, "Pushing an image" (the push's actions).
//   [DEPLOY] CodeDeploy user guide, "CodeDeploy permissions reference": CreateDeployment
//           also checks GetDeploymentConfig on the config and Register/GetApplicationRevision
//           on the application.
//   [ROLL]  this program's rollout (infra/rollout): the calls it makes.
//   [PULUMI] Pulumi's file (S3) backend, pkg/backend/diy: state and lock objects.

// codeDeployCalls: what CodeDeploy does as its service role for an ECS blue/green
// deployment [CD].
func codeDeployCalls(f stackFacts) []call {
	tags := onExisting(f.tags)
	ts := f.arn("ecs", "task-set/"+f.cluster+"/"+f.service+"/ecs-svc/1234567890")
	cs := []call{
		{"ecs:DescribeServices", f.serviceARN, tags, "CD: reads the service"},
		{"ecs:CreateTaskSet", ts, creating(f.tags), "CD: the replacement (green) task set"},
		{"ecs:UpdateServicePrimaryTaskSet", f.serviceARN, tags, "CD: green becomes primary"},
		{"ecs:DeleteTaskSet", ts, nil, "CD: blue goes after the termination wait"},
		{"elasticloadbalancing:DescribeTargetGroups", "*", nil, "CD"},
		{"elasticloadbalancing:DescribeListeners", "*", nil, "CD"},
		{"elasticloadbalancing:DescribeRules", "*", nil, "CD"},
		{"cloudwatch:DescribeAlarms", f.arn("cloudwatch", "alarm:"+str(f.g.t, f.g.all(tAlarm)[0], "out:name")), nil, "CD: the deployment group's alarms"},
		// CreateTaskSet hands ECS the task definition's roles: pitfall 21.
		{"iam:PassRole", str(f.g.t, f.execRole, "out:arn"), map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}, "CD: the execution role, in CreateTaskSet"},
		{"iam:PassRole", str(f.g.t, f.taskRole, "out:arn"), map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}, "CD: the task role, in CreateTaskSet"},
	}
	for _, l := range f.g.all(tListener) {
		if strings.HasSuffix(l.Name, "-prod") || strings.HasSuffix(l.Name, "-test") {
			cs = append(cs, call{"elasticloadbalancing:ModifyListener", str(f.g.t, l, "out:arn"), tags, "CD: shifts traffic"})
		}
	}
	for _, h := range f.hooks {
		cs = append(cs, call{"lambda:InvokeFunction", h, nil, "CD: the lifecycle hook"})
	}
	return cs
}

// executionCalls: what ECS does as the task execution role when it starts a task [ECS].
func executionCalls(f stackFacts) []call {
	cs := []call{{"ecr:GetAuthorizationToken", "*", nil, "ECS: registry login"}}
	for _, r := range f.g.all(tRepo) {
		for _, a := range []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"} {
			cs = append(cs, call{a, str(f.g.t, r, "out:arn"), onExisting(f.tags), "ECS: pulls " + r.Name})
		}
	}
	for _, c := range []string{"nginx", "app"} {
		stream := fmt.Sprintf("%s:log-stream:%s/%s/0123456789abcdef", f.logGroupARN, c, c)
		cs = append(cs,
			call{"logs:CreateLogStream", stream, nil, "ECS: awslogs, " + c},
			call{"logs:PutLogEvents", stream, nil, "ECS: awslogs, " + c})
	}
	cs = append(cs, call{"ssm:GetParameters", str(f.g.t, f.g.one(tParam, "-secret-key"), "out:arn"), onExisting(f.tags), "ECS: the generated secret key"})
	cs = append(cs, call{"ssm:GetParameters", secretARNs["API_TOKEN"], nil, "ECS: an appSecrets parameter"})
	cs = append(cs, call{"secretsmanager:GetSecretValue", secretARNs["DB_PASSWORD"], nil, "ECS: an appSecrets secret by partial ARN with a JSON key"})
	cs = append(cs, call{"kms:Decrypt", "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", nil, "ECS: the secrets' customer-managed key"})
	return cs
}

// flowLogCalls: what VPC Flow Logs does as its delivery role [EC2].
func flowLogCalls(f stackFacts) []call {
	group := str(f.g.t, f.g.one(tLogGroup, "-flow-logs"), "out:arn")
	stream := group + ":log-stream:eni-0123456789abcdef0-reject"
	return []call{
		{"logs:DescribeLogGroups", "*", nil, "EC2: flow log delivery"},
		{"logs:DescribeLogStreams", group, onExisting(f.tags), "EC2: flow log delivery (the group carries the stack's tags)"},
		{"logs:CreateLogStream", stream, nil, "EC2: a stream per network interface"},
		{"logs:PutLogEvents", stream, nil, "EC2: flow log records"},
	}
}

// rolloutCalls are the calls the rollout makes as the deploy role, one entry per
// call; add new calls of infra/rollout here with their source [ROLL].
func rolloutCalls(f stackFacts) []call {
	tags := onExisting(f.tags)
	group := str(f.g.t, f.group, "out:arn")
	app := str(f.g.t, f.app, "out:arn")
	task := f.arn("ecs", "task/"+f.cluster+"/0123456789abcdef0123456789abcdef")
	stream := fmt.Sprintf("%s:log-stream:app/app/0123456789abcdef", f.logGroupARN)
	alarm := str(f.g.t, f.g.all(tAlarm)[0], "out:arn")
	passTo := map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}
	return append([]call{
		{"codedeploy:ListDeployments", group, tags, "ROLL rollout.go activeDeployments"},
		{"codedeploy:GetDeployment", group, tags, "ROLL rollout.go getDeployment (SAR: authorized on the deployment group)"},
		{"codedeploy:GetApplicationRevision", app, tags, "ROLL: the AppSpec of a deployment (pitfall 22)"},
		{"codedeploy:CreateDeployment", group, tags, "ROLL rollout.go start"},
		{"codedeploy:GetDeploymentConfig", f.arn("codedeploy", "deploymentconfig:"+f.deploymentConfig), nil, "DEPLOY: checked by CreateDeployment"},
		{"codedeploy:RegisterApplicationRevision", app, tags, "DEPLOY: checked by CreateDeployment"},
		{"codedeploy:GetApplicationRevision", app, tags, "DEPLOY: checked by CreateDeployment"},
		{"codedeploy:StopDeployment", "*", nil, "ROLL rollout.go clearActive, gate, timedOut (SAR: no resource-level permission)"},
		{"codedeploy:ListDeploymentTargets", "*", nil, "ROLL progress.go"},
		{"codedeploy:GetDeploymentTarget", "*", nil, "ROLL progress.go"},
		{"ecs:DescribeServices", f.serviceARN, tags, "ROLL rollout.go serving, initial.go taskSetStatus"},
		{"ecs:RunTask", f.taskDefARN, with(tags, "ecs:cluster", f.arn("ecs", "cluster/"+f.cluster)), "ROLL migrate.go"},
		{"iam:PassRole", str(f.g.t, f.execRole, "out:arn"), passTo, "ROLL migrate.go: RunTask passes the execution role"},
		{"iam:PassRole", str(f.g.t, f.taskRole, "out:arn"), passTo, "ROLL migrate.go: RunTask passes the task role"},
		{"ecs:DescribeTasks", task, with(tags, "ecs:cluster", f.arn("ecs", "cluster/"+f.cluster)), "ROLL migrate.go, initial.go stoppedTasks"},
		{"ecs:ListTasks", f.arn("ecs", "container-instance/"+f.cluster+"/*"), with(nil, "ecs:cluster", f.arn("ecs", "cluster/"+f.cluster)), "ROLL initial.go stoppedTasks (SAR: authorized on container instances)"},
		{"ecs:UpdateService", f.serviceARN, tags, "ROLL initial.go: the first revision's desired count, once its migration ran"},
		{"ssm:GetParameter", f.rolloutParam, nil, "ROLL: the rollout's state parameter"},
		{"ssm:PutParameter", f.rolloutParam, with(nil, "ssm:Overwrite", "true"), "ROLL: the rollout's state parameter"},
		{"logs:GetLogEvents", stream, nil, "ROLL diagnose.go: a stopped task's last log lines (a stream carries no tags)"},
		{"logs:FilterLogEvents", f.logGroupARN, tags, "ROLL: the task log group (the day-N logs command)"},
		{"ecs:DescribeTaskDefinition", "*", nil, "ROLL diagnose.go: each container's awslogs group and prefix (SAR: no resource-level permission)"},
		{"elasticloadbalancing:DescribeTargetHealth", "*", nil, "ROLL diagnose.go: the target groups' unhealthy targets (SAR: no resource-level permission)"},
		{"cloudwatch:DescribeAlarms", alarm, tags, "ROLL diagnose.go: the group's alarms in ALARM"},
	}, workerRolloutCalls(f)...) // permission_jobs_test.go
}

// opsCalls are the day-N commands' calls beyond the rollout's (infra/ops), as the
// deploy role when CI or an operator runs them with it [OPS].
func opsCalls(f stackFacts) []call {
	tags := onExisting(f.tags)
	cluster := with(tags, "ecs:cluster", f.arn("ecs", "cluster/"+f.cluster))
	task := f.arn("ecs", "task/"+f.cluster+"/0123456789abcdef0123456789abcdef")
	group := str(f.g.t, f.group, "out:arn")
	return []call{
		{"ecs:StopTask", task, cluster, "OPS run.go: Ctrl-C or -timeout stops the one-off task"},
		{"sts:GetCallerIdentity", "*", nil, "OPS rollback.go: who rolled back"},
		{"codedeploy:BatchGetDeployments", group, tags, "OPS view.go History: 25 deployments a call (SAR: authorized on the deployment group)"},
		{"logs:FilterLogEvents", f.logGroupARN, tags, "OPS logs.go"},
		{"elasticloadbalancing:DescribeTargetHealth", "*", nil, "OPS status.go"},
	}
}

// previewCalls: what `pulumi preview` of this program reads. The bridge does not
// refresh in a preview, so no resource is read: the provider's configure
// (sts:GetCallerIdentity), the invokes the program makes in preview
// (ecr:GetAuthorizationToken; awsx's getAvailabilityZones), the state, and the
// rollout's reads.
func previewCalls(f stackFacts) []call {
	state := "arn:aws:s3:::" + f.stateBucket
	return []call{
		{"sts:GetCallerIdentity", "*", nil, "TF: the provider's configure"},
		{"ecr:GetAuthorizationToken", "*", nil, "the program's getAuthorizationToken invoke (registry.go)"},
		{"ec2:DescribeAvailabilityZones", "*", nil, "awsx: getAvailabilityZones"},
		{"s3:ListBucket", state, nil, "PULUMI: lists stacks and locks"},
		{"s3:GetObject", state + "/.pulumi/meta.yaml", nil, "PULUMI: the backend's layout version"},
		{"s3:GetObject", fmt.Sprintf("%s/.pulumi/stacks/%s/%s.json", state, f.project, f.stack), nil, "PULUMI: the stack's state"},
		{"ecs:DescribeServices", f.serviceARN, onExisting(f.tags), "ROLL: what serves"},
		{"ssm:GetParameter", f.rolloutParam, nil, "ROLL: the rollout's state parameter"},
	}
}

// sharedCalls are prod's calls dev's deploy role may still make, and why AWS
// leaves no way to tell the stacks apart there (the README's "What the stacks
// share" says the same).
var sharedCalls = map[string]string{
	"sts:GetCallerIdentity":                               "no resource",
	"ec2:DescribeAvailabilityZones":                       "no resource",
	"ec2:DescribeVpcs":                                    "EC2 Describe calls have no resource-level permissions",
	"ec2:DescribeSubnets":                                 "EC2 Describe calls have no resource-level permissions",
	"ec2:DescribeRouteTables":                             "EC2 Describe calls have no resource-level permissions",
	"ec2:DescribeInternetGateways":                        "EC2 Describe calls have no resource-level permissions",
	"ec2:DescribeAddresses":                               "EC2 Describe calls have no resource-level permissions",
	"ec2:DescribeNatGateways":                             "EC2 Describe calls have no resource-level permissions",
	"ec2:DescribeSecurityGroups":                          "EC2 Describe calls have no resource-level permissions",
	"ec2:DescribeFlowLogs":                                "EC2 Describe calls have no resource-level permissions",
	"ec2:DescribeNetworkAcls":                             "EC2 Describe calls have no resource-level permissions",
	"elasticloadbalancing:DescribeLoadBalancers":          "ELB Describe calls have no resource-level permissions",
	"elasticloadbalancing:DescribeLoadBalancerAttributes": "ELB Describe calls have no resource-level permissions",
	"elasticloadbalancing:DescribeTargetGroups":           "ELB Describe calls have no resource-level permissions",
	"elasticloadbalancing:DescribeTargetGroupAttributes":  "ELB Describe calls have no resource-level permissions",
	"elasticloadbalancing:DescribeListeners":              "ELB Describe calls have no resource-level permissions",
	"elasticloadbalancing:DescribeTags":                   "ELB Describe calls have no resource-level permissions",
	"elasticloadbalancing:DescribeTargetHealth":           "ELB Describe calls have no resource-level permissions",
	"ecs:DescribeTaskDefinition":                          "no resource-level permission",
	"application-autoscaling:DescribeScalableTargets":     "no resource-level permission",
	"application-autoscaling:DescribeScalingPolicies":     "no resource-level permission",
	"logs:DescribeLogGroups":                              "no resource-level permission",
	"ssm:DescribeParameters":                              "no resource-level permission",
	"codedeploy:StopDeployment":                           "no resource-level permission: dev's role could stop (and so roll back) a prod deployment",
	"codedeploy:ListDeploymentTargets":                    "no resource-level permission",
	"codedeploy:GetDeploymentTarget":                      "no resource-level permission",
	"codedeploy:GetDeploymentConfig":                      "the built-in deployment configurations are the account's",
	"ecr:GetAuthorizationToken":                           "no resource: a token for the account's registry (pushes are scoped by the repositories' tags)",
	"iam:CreateServiceLinkedRole":                         "the service-linked roles of ECS, ELB and Application Auto Scaling are the account's, one each",
	"cloudwatch:DescribeAlarms":                           "target tracking's alarms: Application Auto Scaling creates them untagged, named after the cluster and service",
	"cloudwatch:PutMetricAlarm":                           "target tracking's alarms: Application Auto Scaling creates them untagged, named after the cluster and service",
	"cloudwatch:DeleteAlarms":                             "target tracking's alarms: Application Auto Scaling creates them untagged, named after the cluster and service",
	"ecs:ListTasks":                                       "authorized on container instances (SAR), which a Fargate cluster has none of: no tag to tell",
	"logs:GetLogEvents":                                   "log streams carry no tags of their own",
	"s3:ListBucket":                                       "the state bucket: listing it shows the other stacks' key names",
	"s3:GetObject":                                        "the state bucket's .pulumi/meta.yaml, the backend's layout version",
}

// sharedUntagged are shared calls on resources whose type supports tag conditions
// but that carry none of the stack's tags (made by AWS, or untaggable here).
var sharedUntagged = []string{
	"codedeploy:GetDeploymentConfig", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms",
	"ecs:ListTasks", "logs:GetLogEvents", "s3:ListBucket", "s3:GetObject", "iam:CreateServiceLinkedRole",
}

// deployCalls are the calls `pulumi up` makes as the CI deploy role: first (every
// resource created) and later (every resource updated in place, a new image and
// task definition revision). Each Pulumi resource type of the graph needs an
// entry [TF]; a type without one fails the test.
func deployCalls(t *testing.T, f stackFacts) (first, later []call) {
	t.Helper()
	g := f.g
	tagsOf := func(r *offline.Resource) map[string]string {
		out := map[string]string{}
		if v, ok := r.Inputs["tags"]; ok && v.IsObject() {
			for k, e := range v.ObjectValue() {
				out[string(k)] = e.StringValue()
			}
		}
		return out
	}
	// bounded adds a role's permissions boundary (iam:PermissionsBoundary) to a context.
	bounded := func(role *offline.Resource, ctx map[string][]string) map[string][]string {
		if v, ok := role.Inputs["permissionsBoundary"]; ok && v.IsString() {
			return with(ctx, "iam:PermissionsBoundary", v.StringValue())
		}
		return ctx
	}
	var c, u []call // create (+ read after create), update
	add := func(list *[]call, why, arn string, ctx map[string][]string, actions ...string) {
		for _, a := range actions {
			*list = append(*list, call{a, arn, ctx, why})
		}
	}
	pass := func(list *[]call, why, role, service string) {
		*list = append(*list, call{"iam:PassRole", role, map[string][]string{"iam:PassedToService": {service}}, why})
	}
	slr := func(why, service, name string) {
		c = append(c, call{"iam:CreateServiceLinkedRole", fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/%s/%s", f.account, service, name),
			map[string][]string{"iam:AWSServiceName": {service}}, why})
	}
	ec2Tags := func(why, arn, createAction string, tags map[string]string) {
		c = append(c, call{"ec2:CreateTags", arn, with(creating(tags), "ec2:CreateAction", createAction), why + " [EC2: tags on create]"})
	}
	// Tags on create need elasticloadbalancing:AddTags (see uncheckedResourceTypes).
	elbTags := func(why, arn, createAction string, tags map[string]string) {
		c = append(c, call{"elasticloadbalancing:AddTags", arn, with(creating(tags), "elasticloadbalancing:CreateAction", createAction), why + " [ELB: tags on create]"})
	}
	// The provider's configure, and the program's invoke.
	add(&c, "TF: the provider's configure", "*", nil, "sts:GetCallerIdentity")
	add(&c, "registry.go: getAuthorizationToken", "*", nil, "ecr:GetAuthorizationToken")

	for _, r := range g.rs {
		tags := tagsOf(r)
		ex, cr := onExisting(tags), creating(tags)
		arn := ""
		if v, ok := r.Outputs["arn"]; ok && v.IsString() {
			arn = v.StringValue()
		}
		why := "TF " + r.Type
		switch r.Type {
		case "ecs-bluegreen:index:WebService", "ecs-bluegreen:infra:Network", "ecs-bluegreen:infra:Registry", "ecs-bluegreen:infra:Edge",
			"ecs-bluegreen:infra:Service", "ecs-bluegreen:infra:Deploy", "ecs-bluegreen:infra:CI", "ecs-bluegreen:infra:Boundary",
			"ecs-bluegreen:infra:Queues", "ecs-bluegreen:infra:Jobs", "ecs-bluegreen:infra:Workers", "ecs-bluegreen:infra:Schedules":
			// components: no API calls
		case tQueue, tQueuePolicy, tSchedule, tScheduleGroup, tEventRule, tEventTarget:
			jobDeployCalls(t, f, r, add, pass, &c, &u) // permission_jobs_test.go
		case tVpc:
			// awsx's children: the VPC, subnets, internet gateway, route tables and
			// routes, and with NAT an elastic IP and NAT gateway per AZ
			// (internal/service/ec2/vpc_.go, vpc_subnet.go, vpc_internet_gateway.go,
			// vpc_route_table.go, vpc_route.go, vpc_route_table_association.go,
			// ec2_eip.go, vpc_nat_gateway.go).
			add(&c, "awsx: getAvailabilityZones", "*", nil, "ec2:DescribeAvailabilityZones")
			vpc := f.arn("ec2", "vpc/"+f.vpcID)
			add(&c, why+" aws_vpc", vpc, cr, "ec2:CreateVpc")
			ec2Tags(why, vpc, "CreateVpc", tags)
			add(&c, why+" aws_vpc", vpc, ex, "ec2:ModifyVpcAttribute", "ec2:DescribeVpcAttribute")
			add(&c, why+" aws_vpc read", "*", nil, "ec2:DescribeVpcs", "ec2:DescribeRouteTables", "ec2:DescribeNetworkAcls", "ec2:DescribeSecurityGroups")
			igw := f.arn("ec2", "internet-gateway/igw-"+f.stack)
			add(&c, why+" aws_internet_gateway", igw, cr, "ec2:CreateInternetGateway")
			ec2Tags(why, igw, "CreateInternetGateway", tags)
			add(&c, why+" aws_internet_gateway", igw, ex, "ec2:AttachInternetGateway")
			add(&c, why+" aws_internet_gateway", vpc, ex, "ec2:AttachInternetGateway")
			add(&c, why+" aws_internet_gateway read", "*", nil, "ec2:DescribeInternetGateways")
			for i, subnet := range append(append([]string{}, f.publicSubnets...), f.privateSubnets...) {
				sn := f.arn("ec2", "subnet/"+subnet)
				rt := f.arn("ec2", fmt.Sprintf("route-table/rtb-%s-%d", f.stack, i))
				add(&c, why+" aws_subnet", sn, cr, "ec2:CreateSubnet")
				add(&c, why+" aws_subnet", vpc, ex, "ec2:CreateSubnet")
				ec2Tags(why, sn, "CreateSubnet", tags)
				add(&c, why+" aws_subnet", sn, ex, "ec2:ModifySubnetAttribute")
				add(&c, why+" aws_route_table", rt, cr, "ec2:CreateRouteTable")
				add(&c, why+" aws_route_table", vpc, ex, "ec2:CreateRouteTable")
				ec2Tags(why, rt, "CreateRouteTable", tags)
				add(&c, why+" aws_route", rt, ex, "ec2:CreateRoute")
				add(&c, why+" aws_route_table_association", rt, ex, "ec2:AssociateRouteTable")
				add(&c, why+" aws_route_table_association", sn, ex, "ec2:AssociateRouteTable")
			}
			add(&c, why+" aws_subnet, aws_route_table read", "*", nil, "ec2:DescribeSubnets", "ec2:DescribeRouteTables")
			for i, subnet := range f.privateSubnets {
				eip := f.arn("ec2", fmt.Sprintf("elastic-ip/eipalloc-%s-%d", f.stack, i))
				nat := f.arn("ec2", fmt.Sprintf("natgateway/nat-%s-%d", f.stack, i))
				add(&c, why+" aws_eip", eip, cr, "ec2:AllocateAddress")
				ec2Tags(why, eip, "AllocateAddress", tags)
				add(&c, why+" aws_nat_gateway", nat, cr, "ec2:CreateNatGateway")
				add(&c, why+" aws_nat_gateway", eip, ex, "ec2:CreateNatGateway")
				add(&c, why+" aws_nat_gateway", f.arn("ec2", "subnet/"+f.publicSubnets[i%len(f.publicSubnets)]), ex, "ec2:CreateNatGateway")
				ec2Tags(why, nat, "CreateNatGateway", tags)
				_ = subnet
			}
			if len(f.privateSubnets) > 0 {
				add(&c, why+" aws_eip, aws_nat_gateway read", "*", nil, "ec2:DescribeAddresses", "ec2:DescribeNatGateways")
			}
		case tSG:
			// internal/service/ec2/vpc_security_group.go: create, revoke the default
			// egress rule, authorize the declared rules, read.
			vpc := f.arn("ec2", "vpc/"+f.vpcID)
			add(&c, why, arn, cr, "ec2:CreateSecurityGroup")
			add(&c, why, vpc, ex, "ec2:CreateSecurityGroup")
			ec2Tags(why, arn, "CreateSecurityGroup", tags)
			add(&c, why, arn, ex, "ec2:RevokeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress")
			add(&c, why+" read", "*", nil, "ec2:DescribeSecurityGroups")
			add(&u, why+" rules changed", arn, ex, "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress")
		case tFlowLog:
			// internal/service/ec2/vpc_flow_log.go; the delivery role is passed [EC2].
			vpc := f.arn("ec2", "vpc/"+f.vpcID)
			add(&c, why, arn, cr, "ec2:CreateFlowLogs")
			add(&c, why, vpc, ex, "ec2:CreateFlowLogs")
			ec2Tags(why, arn, "CreateFlowLogs", tags)
			pass(&c, why+": the delivery role", str(t, f.flowRole, "out:arn"), "vpc-flow-logs.amazonaws.com")
			add(&c, why+" read", "*", nil, "ec2:DescribeFlowLogs")
		case tLogGroup:
			// internal/service/logs/group.go
			add(&c, why, arn, cr, "logs:CreateLogGroup", "logs:TagResource")
			add(&c, why, arn, ex, "logs:PutRetentionPolicy", "logs:ListTagsForResource")
			add(&c, why+" read", "*", nil, "logs:DescribeLogGroups")
			add(&u, why+" retention", arn, ex, "logs:PutRetentionPolicy")
		case tRole:
			if strings.Contains(r.Name, "-ci-") {
				continue // CI roles: from the bootstrap workstation only
			}
			// internal/service/iam/role.go: tags in CreateRole need iam:TagRole; the
			// boundary goes in CreateRole's PermissionsBoundary (iam:PermissionsBoundary
			// of the request), and is then the role's for every later call.
			add(&c, why, arn, bounded(r, cr), "iam:CreateRole", "iam:TagRole")
			add(&c, why+" read", arn, bounded(r, ex), "iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies")
		case tRolePolicy:
			role := g.roleNamed(str(t, r, "role"))
			if strings.Contains(role.Name, "-ci-") {
				continue
			}
			// internal/service/iam/role_policy.go
			add(&c, why, str(t, role, "out:arn"), bounded(role, onExisting(tagsOf(role))), "iam:PutRolePolicy", "iam:GetRolePolicy")
			add(&u, why+" changed", str(t, role, "out:arn"), bounded(role, onExisting(tagsOf(role))), "iam:PutRolePolicy", "iam:GetRolePolicy")
		case tAttachment:
			role := g.roleNamed(str(t, r, "role"))
			if strings.Contains(role.Name, "-ci-") {
				continue
			}
			// internal/service/iam/role_policy_attachment.go
			add(&c, why, str(t, role, "out:arn"), bounded(role, with(onExisting(tagsOf(role)), "iam:PolicyARN", str(t, r, "policyArn"))), "iam:AttachRolePolicy", "iam:ListAttachedRolePolicies")
		case tOIDC, tPolicy:
			continue // the OIDC provider and the boundary: from the bootstrap workstation only
		case tRepo:
			// internal/service/ecr/repository.go
			add(&c, why, arn, cr, "ecr:CreateRepository")
			add(&c, why+" read", arn, ex, "ecr:DescribeRepositories", "ecr:ListTagsForResource")
			add(&u, why+" settings", arn, ex, "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability")
		case tLifecycle:
			repo := g.byName(tRepo, str(t, r, "repository"))
			// internal/service/ecr/lifecycle_policy.go
			add(&c, why, str(t, repo, "out:arn"), onExisting(tagsOf(repo)), "ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy")
			add(&u, why+" imagesToKeep", str(t, repo, "out:arn"), onExisting(tagsOf(repo)), "ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy")
		case tImage:
			// docker push of a new tag, then the digest [ECR]: first and every later build.
			name := strings.SplitN(strings.SplitN(str(t, r, "imageName"), "/", 2)[1], ":", 2)[0]
			repo := g.byName(tRepo, name)
			for _, list := range []*[]call{&c, &u} {
				add(list, "ECR push of "+r.Name, str(t, repo, "out:arn"), onExisting(tagsOf(repo)),
					"ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
			}
		case tLB:
			// internal/service/elbv2/load_balancer.go
			slr(why, "elasticloadbalancing.amazonaws.com", "AWSServiceRoleForElasticLoadBalancing")
			add(&c, why, arn, cr, "elasticloadbalancing:CreateLoadBalancer")
			elbTags(why, arn, "CreateLoadBalancer", tags)
			add(&c, why, arn, ex, "elasticloadbalancing:ModifyLoadBalancerAttributes")
			add(&c, why+" read", "*", nil, "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeTags")
			add(&u, why+" attributes", arn, ex, "elasticloadbalancing:ModifyLoadBalancerAttributes")
		case tTG:
			// internal/service/elbv2/target_group.go
			add(&c, why, arn, cr, "elasticloadbalancing:CreateTargetGroup")
			elbTags(why, arn, "CreateTargetGroup", tags)
			add(&c, why, arn, ex, "elasticloadbalancing:ModifyTargetGroupAttributes")
			add(&c, why+" read", "*", nil, "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTags")
			add(&u, why+" health check, deregistration delay", arn, ex, "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes")
		case tListener:
			// internal/service/elbv2/listener.go
			add(&c, why+" (SAR: authorized on its load balancer)", str(t, r, "loadBalancerArn"), ex, "elasticloadbalancing:CreateListener")
			elbTags(why, arn, "CreateListener", tags)
			add(&c, why+" read", "*", nil, "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags")
			add(&u, why+" port, certificate, TLS policy", arn, ex, "elasticloadbalancing:ModifyListener")
		case tBucket:
			// internal/service/s3/bucket.go: create, tag, and the read of every
			// sub-configuration the v2 bucket still reports.
			// CreateBucket carries the canned ACL "private" (x-amz-acl), which S3 also
			// authorizes as s3:PutBucketAcl (CreateBucket API reference, Permissions);
			// tags follow in PutBucketTagging, not in CreateBucket (bucket.go, v5).
			add(&c, why, arn, nil, "s3:CreateBucket")
			add(&c, why+": the canned ACL", arn, with(nil, "s3:x-amz-acl", "private"), "s3:PutBucketAcl")
			add(&c, why, arn, ex, "s3:PutBucketTagging", "s3:ListBucket", "s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite",
				"s3:GetBucketVersioning", "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration",
				"s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketTagging")
			add(&u, why+" tags", arn, ex, "s3:PutBucketTagging", "s3:GetBucketTagging")
		case "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
			"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "aws:s3/bucketPolicy:BucketPolicy":
			b := g.byName(tBucket, str(t, r, "bucket"))
			actions := map[string][]string{
				"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     {"s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"},
				"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {"s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"},
				"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":                       {"s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"},
				"aws:s3/bucketPolicy:BucketPolicy":                                                           {"s3:PutBucketPolicy", "s3:GetBucketPolicy"},
			}[r.Type]
			// internal/service/s3/bucket_public_access_block.go, …_server_side_encryption_configuration.go,
			// bucket_lifecycle_configuration.go, bucket_policy.go
			add(&c, why, str(t, b, "out:arn"), onExisting(tagsOf(b)), actions...)
			add(&u, why+" changed", str(t, b, "out:arn"), onExisting(tagsOf(b)), actions...)
		case tCert:
			// internal/service/acm/certificate.go: tags in RequestCertificate need AddTagsToCertificate.
			add(&c, why, "*", cr, "acm:RequestCertificate")
			add(&c, why, str(t, r, "out:arn"), cr, "acm:AddTagsToCertificate")
			add(&c, why+" read", str(t, r, "out:arn"), ex, "acm:DescribeCertificate", "acm:ListTagsForCertificate")
		case tCertValidation:
			cert := g.one(tCert, "web")
			add(&c, why+": waits for ISSUED", str(t, cert, "out:arn"), onExisting(tagsOf(cert)), "acm:DescribeCertificate")
		case tRecord:
			// internal/service/route53/record.go: the zone, the change, its INSYNC wait, the read.
			zone := fmt.Sprintf("arn:aws:route53:::hostedzone/%s", str(t, r, "zoneId"))
			add(&c, why, zone, nil, "route53:GetHostedZone", "route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets")
			add(&c, why, "arn:aws:route53:::change/C0123456789", nil, "route53:GetChange")
			add(&u, why+" changed", zone, nil, "route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets")
			add(&u, why+" changed", "arn:aws:route53:::change/C0123456789", nil, "route53:GetChange")
		case tCluster:
			// internal/service/ecs/cluster.go; CreateCluster makes ECS's service-linked role.
			slr(why, "ecs.amazonaws.com", "AWSServiceRoleForECS")
			add(&c, why, arn, cr, "ecs:CreateCluster")
			add(&c, why+" [ECS: tagging authorization]", arn, with(cr, "ecs:CreateAction", "CreateCluster"), "ecs:TagResource")
			add(&c, why+" read", arn, ex, "ecs:DescribeClusters")
			add(&u, why+" settings", arn, ex, "ecs:UpdateCluster")
		case "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders":
			cl := g.one(tCluster, "web")
			// internal/service/ecs/cluster_capacity_providers.go
			add(&c, why, str(t, cl, "out:arn"), onExisting(tagsOf(cl)), "ecs:PutClusterCapacityProviders", "ecs:DescribeClusters")
		case tTaskDef:
			// internal/service/ecs/task_definition.go: register (tags, the roles
			// passed), read; a new revision on every new build.
			for _, list := range []*[]call{&c, &u} {
				add(list, why, arn, cr, "ecs:RegisterTaskDefinition")
				add(list, why+" [ECS: tagging authorization]", arn, with(cr, "ecs:CreateAction", "RegisterTaskDefinition"), "ecs:TagResource")
				pass(list, why+": the execution role", str(t, r, "executionRoleArn"), "ecs-tasks.amazonaws.com")
				pass(list, why+": the task role", str(t, r, "taskRoleArn"), "ecs-tasks.amazonaws.com")
				add(list, why+" read", "*", nil, "ecs:DescribeTaskDefinition")
			}
		case tService:
			// internal/service/ecs/service.go (a worker's service too: the same calls)
			svcARN := f.arn("ecs", "service/"+f.cluster+"/"+str(t, r, "out:name"))
			add(&c, why, svcARN, with(cr, "ecs:cluster", f.arn("ecs", "cluster/"+f.cluster)), "ecs:CreateService")
			add(&c, why+" [ECS: tagging authorization]", svcARN, with(cr, "ecs:CreateAction", "CreateService"), "ecs:TagResource")
			add(&c, why+" read", svcARN, ex, "ecs:DescribeServices")
			add(&u, why+" grace period and settings", svcARN, ex, "ecs:UpdateService", "ecs:DescribeServices")
		case tParam:
			// internal/service/ssm/parameter.go: tags in PutParameter need AddTagsToResource.
			add(&c, why, arn, cr, "ssm:PutParameter", "ssm:AddTagsToResource")
			add(&c, why+" read", arn, with(ex, "ssm:WithDecryption", "true"), "ssm:GetParameter", "ssm:ListTagsForResource")
			add(&c, why+" read", "*", nil, "ssm:DescribeParameters")
		case tScaleTarget:
			// internal/service/appautoscaling/target.go; its service-linked role [AAS].
			scaled := f.arn("ecs", strings.Replace(str(t, r, "resourceId"), "service/", "service/", 1))
			slr(why, "ecs.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_ECSService")
			add(&c, why, arn, cr, "application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource")
			add(&c, why+" [AAS: the service it scales]", scaled, onExisting(f.tags), "ecs:DescribeServices", "ecs:UpdateService")
			add(&c, why+" read", "*", nil, "application-autoscaling:DescribeScalableTargets")
			add(&u, why+" min, max", arn, ex, "application-autoscaling:RegisterScalableTarget")
			add(&u, why+" [AAS]", scaled, onExisting(f.tags), "ecs:DescribeServices", "ecs:UpdateService")
		case tScalePolicy:
			var target *offline.Resource
			for _, st := range g.all(tScaleTarget) {
				if str(t, st, "resourceId") == str(t, r, "resourceId") {
					target = st
				}
			}
			// internal/service/appautoscaling/policy.go; target tracking's alarms [AAS]
			// (step scaling acts on alarms of the program's own, tAlarm).
			service := strings.TrimPrefix(str(t, r, "resourceId"), "service/"+f.cluster+"/")
			alarm := f.arn("cloudwatch", fmt.Sprintf("alarm:TargetTracking-service/%s/%s-AlarmHigh-0123abcd", f.cluster, service))
			for _, list := range []*[]call{&c, &u} {
				add(list, why, str(t, target, "out:arn"), onExisting(tagsOf(target)), "application-autoscaling:PutScalingPolicy")
				if str(t, r, "policyType") == "TargetTrackingScaling" {
					add(list, why+" [AAS: target tracking alarms]", alarm, nil, "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms")
				}
				add(list, why+" read", "*", nil, "application-autoscaling:DescribeScalingPolicies")
			}
		case tAlarm:
			// internal/service/cloudwatch/metric_alarm.go: tags in PutMetricAlarm need TagResource.
			add(&c, why, arn, cr, "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource")
			add(&c, why+" read", arn, ex, "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource")
			add(&u, why+" threshold", arn, ex, "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms")
		case tCDApp:
			// internal/service/deploy/app.go
			add(&c, why, arn, cr, "codedeploy:CreateApplication", "codedeploy:TagResource")
			add(&c, why+" read", arn, ex, "codedeploy:GetApplication", "codedeploy:ListTagsForResource")
		case tCDGroup:
			// internal/service/deploy/deployment_group.go; the service role is passed.
			add(&c, why, arn, cr, "codedeploy:CreateDeploymentGroup", "codedeploy:TagResource")
			pass(&c, why+": the service role", str(t, f.deployRole, "out:arn"), "codedeploy.amazonaws.com")
			add(&c, why+" read", arn, ex, "codedeploy:GetDeploymentGroup", "codedeploy:ListTagsForResource")
			add(&u, why+" config, termination wait", arn, ex, "codedeploy:UpdateDeploymentGroup", "codedeploy:GetDeploymentGroup")
			pass(&u, why+": the service role", str(t, f.deployRole, "out:arn"), "codedeploy.amazonaws.com")
		default:
			t.Errorf("%s: no entry for %s in deployCalls: list the API calls its create, read and update make", r.URN, r.Type)
		}
	}
	// The state of this stack in the S3 backend [PULUMI]: the lock, the
	// checkpoint and its backup, the history.
	state := "arn:aws:s3:::" + f.stateBucket
	for _, list := range []*[]call{&c, &u} {
		add(list, "PULUMI", state, nil, "s3:ListBucket")
		add(list, "PULUMI", state+"/.pulumi/meta.yaml", nil, "s3:GetObject")
		for _, key := range []string{
			fmt.Sprintf(".pulumi/stacks/%s/%s.json", f.project, f.stack),
			fmt.Sprintf(".pulumi/stacks/%s/%s.json.bak", f.project, f.stack),
			fmt.Sprintf(".pulumi/locks/%s/%s/0b6c1ad0.json", f.project, f.stack),
			fmt.Sprintf(".pulumi/history/%s/%s/%s-1700000000.history.json", f.project, f.stack, f.stack),
			fmt.Sprintf(".pulumi/backups/%s/%s/%s.1700000000.json", f.project, f.stack, f.stack),
		} {
			add(list, "PULUMI", state+"/"+key, nil, "s3:GetObject", "s3:PutObject", "s3:DeleteObject")
		}
	}
	return c, u
}

// roleNamed finds a role by its physical name.
func (g graph) roleNamed(name string) *offline.Resource { return g.byName(tRole, name) }

// byName finds a resource of a type by its physical name.
func (g graph) byName(typ, name string) *offline.Resource {
	g.t.Helper()
	for _, r := range g.all(typ) {
		if v, ok := r.Outputs["name"]; ok && v.IsString() && v.StringValue() == name {
			return r
		}
		if v, ok := r.Outputs["bucket"]; ok && v.IsString() && v.StringValue() == name {
			return r
		}
	}
	g.t.Fatalf("no %s named %s", typ, name)
	return nil
}

// TestRecordedCallsAreInTheTables: every AWS call the rollout and the day-N
// commands make in whole-program runs against the stateful fake — deploy, fail
// and report, preview, status, rollback, unblock, run, logs — is in the tables the
// permission tests evaluate as the deploy and preview roles. A new call without a
// permission fails here, not on a real account.
func TestRecordedCallsAreInTheTables(t *testing.T) {
	f := permissionStack(t, "dev")
	known, preview := map[string]bool{}, map[string]bool{}
	for _, c := range slices.Concat(rolloutCalls(f), opsCalls(f), workerRolloutCalls(f)) {
		known[c.action] = true
	}
	for _, c := range previewCalls(f) {
		preview[c.action] = true
	}
	s := newLiveStack(t, "dev")
	first := s.up(nil)
	if first.err != nil {
		t.Fatal(first.err)
	}
	s.sim.Crashes(tdDev(2), fakeaws.Crash{HealthCheckCodes: "[400]", Logs: []string{"Invalid HTTP_HOST header"}})
	if r := s.up(map[string]string{"appContext": changedApp(t)}); r.err == nil {
		t.Fatal("a failing revision deployed")
	}
	deployed := s.up(map[string]string{"appContext": changedApp(t), "appEnvironment": `{"A":"1"}`})
	if deployed.err != nil {
		t.Fatal(deployed.err)
	}
	from := len(s.aws.Requests())
	s.up(nil, existing) // a preview, as the preview role
	previewed := s.aws.Requests()[from:]
	o, st := s.opsOf(deployed.outputs)
	ctx := context.Background()
	if _, err := o.Status(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Rollback(ctx, st, ops.RollbackOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Unblock(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Run(ctx, st, infra.AppContainer, []string{"true"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := o.Logs(ctx, st, ops.LogsRequest{}); err != nil {
		t.Fatal(err)
	}
	missing := map[string]int{}
	check := func(requests []fakeaws.Request, table map[string]bool, role string) {
		for _, r := range requests {
			service := r.Service
			if service == "monitoring" { // CloudWatch's signing name
				service = "cloudwatch"
			}
			if action := service + ":" + r.Op; !table[action] {
				missing[role+" "+action]++
			}
		}
	}
	all := s.aws.Requests()
	check(all[:from], known, "deploy")
	check(previewed, preview, "preview")
	check(all[from+len(previewed):], known, "deploy")
	// A release with workers whose new revision crashes: the workers' verdict and
	// its report (circuit breaker, stopped tasks, their logs).
	w := newLiveStack(t, "dev")
	cfg := jobsConfig()
	if r := w.up(cfg); r.err != nil {
		t.Fatal(r.err)
	}
	w.sim.WorkerCrashes(tdOf("worker", 2), fakeaws.WorkerCrash{Reason: "Essential container in task exited", ExitCode: 3, Logs: []string{"boom"}})
	cfg["appContext"] = changedApp(t)
	if r := w.up(cfg); r.err == nil {
		t.Fatal("a crashing worker released")
	}
	check(w.aws.Requests(), known, "deploy")
	if len(missing) > 0 {
		t.Errorf("calls made against the fake that no permission table lists: %v", missing)
	}
}
