package infra

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CISessionHours is how long CI's AWS session lasts: as long as a GitHub-hosted
// job may run ("Each job in a workflow can run for up to 6 hours of execution
// time", GitHub Actions usage limits), so a job never outlives its credentials.
// deploy.yml asks for the same (role-duration-seconds), and the config refuses a
// rollout timeout that does not fit in it.
const CISessionHours = 6

// GitHub's OIDC issuer, and the audience aws-actions/configure-aws-credentials asks for.
const (
	githubOIDCHost     = "token.actions.githubusercontent.com"
	githubOIDCAudience = "sts.amazonaws.com"
)

// CIConfig says which GitHub repository's workflows may deploy and preview the stack.
type CIConfig struct {
	// Repository is the repository as GitHub's OIDC subject spells it: owner/name,
	// or owner@OWNER_ID/name@REPO_ID for a repository on immutable subject claims
	// (created, renamed or transferred after GitHub's 2026 cutover, or opted in).
	// "" creates nothing.
	Repository      string
	OIDCProviderARN string // the account's existing GitHub OIDC provider; "" creates it
	Branch          string // the branch whose pushes deploy a non-prod stack
	StateBucket     string // S3 bucket of the Pulumi state; "" for Pulumi Cloud
}

// Enabled tells whether the stack manages CI roles.
func (c CIConfig) Enabled() bool { return c.Repository != "" }

// The GitHub environments the prod roles trust, which the workflows name: a job
// gets the prod deploy role (and the environment's secrets) only inside "prod",
// and prod's preview role only inside "prod-preview", whose required reviewers
// see a pull request before its code runs with prod's preview secrets.
const (
	CIProdEnvironment        = "prod"
	CIProdPreviewEnvironment = "prod-preview"
)

// DeploySubject is the OIDC subject of the jobs that may `pulumi up` the stack:
// prod's environment, or pushes to the CI branch.
func (c CIConfig) DeploySubject(prod bool) string {
	if prod {
		return c.subject("environment:" + CIProdEnvironment)
	}
	return c.subject("ref:refs/heads/" + c.Branch)
}

// PreviewSubject is the OIDC subject of the jobs that may `pulumi preview` the
// stack: pull requests, and for prod only those a reviewer let into prod-preview.
func (c CIConfig) PreviewSubject(prod bool) string {
	if prod {
		return c.subject("environment:" + CIProdPreviewEnvironment)
	}
	return c.subject("pull_request")
}

// subject is GitHub's default sub claim, "repo:<repository>:<context>" (OpenID
// Connect reference, "Example subject claims" and "Immutable subject claims":
// https://docs.github.com/en/actions/reference/security/oidc, read 2026-09). A job
// that names an environment gets environment:<name> whatever its event.
func (c CIConfig) subject(context string) string {
	return "repo:" + c.Repository + ":" + context
}

// CIArgs configures NewCI.
type CIArgs struct {
	Config      CIConfig
	Environment string // prod deploys only from the GitHub environment "prod"
	Name        string // the stack's resource name prefix, for the roles it manages
	Project     string
	Partition   string
	Region      string
	// Account is the stack's AWS account id.
	Account pulumi.StringInput
	// Passes are the web's roles `pulumi up` hands to AWS services, each to its
	// service only. The jobs' and Scheduler's roles CI may pass by name
	// (jobRolePatterns), whether they exist yet or not.
	Passes CIPasses
	// AccessLogBucket is the ARN of the load balancer's access-log bucket; nil without.
	AccessLogBucket pulumi.StringInput
	// HostedZoneID is the Route 53 zone the stack's records are in; "" for none.
	HostedZoneID string
	// Boundary is the stack's permissions boundary: the deploy role may write the
	// stack's roles only where they carry it.
	Boundary *Boundary
	Tags     pulumi.StringMap
}

// CIPasses are the roles CI's `pulumi up` passes, by the service they go to.
type CIPasses struct {
	ECSTasks   pulumi.StringArrayInput // the web's execution and task roles: ecs-tasks.amazonaws.com
	CodeDeploy pulumi.StringInput      // the deployment group's service role
	FlowLogs   pulumi.StringInput      // the flow log delivery role; nil without flow logs
}

// CI is what GitHub Actions assumes through OIDC: a deploy role for `pulumi up` of
// this stack and a read-only role for `pulumi preview` on pull requests.
type CI struct {
	pulumi.ResourceState

	// Provider is the GitHub OIDC provider; nil when an existing one is used.
	Provider    *iam.OpenIdConnectProvider
	ProviderARN pulumi.StringOutput
	DeployRole  *iam.Role
	PreviewRole *iam.Role
}

// NewCI creates the OIDC provider (unless given) and both roles.
func NewCI(ctx *pulumi.Context, name string, args *CIArgs, opts ...pulumi.ResourceOption) (*CI, error) {
	c := &CI{}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:CI", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	cfg := args.Config
	var err error
	if cfg.OIDCProviderARN != "" {
		c.ProviderARN = pulumi.String(cfg.OIDCProviderARN).ToStringOutput()
	} else {
		c.Provider, err = iam.NewOpenIdConnectProvider(ctx, name+"-github", &iam.OpenIdConnectProviderArgs{
			Url:           pulumi.String("https://" + githubOIDCHost),
			ClientIdLists: pulumi.StringArray{pulumi.String(githubOIDCAudience)},
			// AWS trusts GitHub's certificate through its own CA library; the
			// provider still takes thumbprints, so these are GitHub's published ones.
			ThumbprintLists: pulumi.StringArray{pulumi.String("6938fd4d98bab03faadb97b34396831e3780aea1"), pulumi.String("1c58a3a8518e8759bf075b76b750d4f2df264fcd")},
			Tags:            args.Tags,
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating GitHub OIDC provider: %w", err)
		}
		c.ProviderARN = c.Provider.Arn
	}

	trust := func(subject string) pulumi.StringOutput {
		return c.ProviderARN.ApplyT(func(provider string) (string, error) {
			return GitHubTrustPolicy(provider, subject)
		}).(pulumi.StringOutput)
	}
	prod := args.Environment == "prod"
	deploySubject, previewSubject := cfg.DeploySubject(prod), cfg.PreviewSubject(prod)
	deployPrefix, err := roleNamePrefix(name, ctx.Stack(), "deploy")
	if err != nil {
		return nil, err
	}
	previewPrefix, err := roleNamePrefix(name, ctx.Stack(), "preview")
	if err != nil {
		return nil, err
	}
	c.DeployRole, err = iam.NewRole(ctx, name+"-ci-deploy", &iam.RoleArgs{
		// Under /ci/: no deploy role's grant on its stack's roles (role/<name>-<stack>-*) covers it.
		Path:             pulumi.String(ciRolePath),
		NamePrefix:       pulumi.String(deployPrefix),
		Description:      pulumi.Sprintf("pulumi up of stack %s from GitHub Actions (%s)", ctx.Stack(), deploySubject),
		AssumeRolePolicy: trust(deploySubject),
		// `pulumi up` with a rollout can take a while.
		MaxSessionDuration: pulumi.Int(CISessionHours * 3600),
		Tags:               args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating CI deploy role: %w", err)
	}
	scope := ciScope{
		Partition: args.Partition, Region: args.Region, Project: args.Project, Stack: ctx.Stack(), Name: args.Name,
		StateBucket: cfg.StateBucket, HostedZoneID: args.HostedZoneID,
	}
	flowLogs, accessLogs := pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
	if args.Passes.FlowLogs != nil {
		flowLogs = args.Passes.FlowLogs.ToStringOutput()
	}
	if args.AccessLogBucket != nil {
		accessLogs = args.AccessLogBucket.ToStringOutput()
	}
	if args.Boundary == nil || args.Boundary.Policy == nil {
		return nil, fmt.Errorf("creating CI deploy policy: stack %s has no permissions boundary (NewBoundary)", ctx.Stack())
	}
	deployPolicy := pulumi.All(args.Account, args.Passes.ECSTasks, args.Passes.CodeDeploy, flowLogs, accessLogs, args.Boundary.Policy.Arn).ApplyT(func(v []any) (string, error) {
		s := scope
		s.Account, s.TaskRoles, s.CodeDeployRole, s.FlowLogRole, s.AccessLogBucket = v[0].(string), v[1].([]string), v[2].(string), v[3].(string), v[4].(string)
		s.Boundary = v[5].(string)
		return ciDeployPolicy(s)
	}).(pulumi.StringOutput)
	if _, err = iam.NewRolePolicy(ctx, name+"-ci-deploy", &iam.RolePolicyArgs{Role: c.DeployRole.Name, Policy: deployPolicy}, parent); err != nil {
		return nil, fmt.Errorf("creating CI deploy policy: %w", err)
	}

	c.PreviewRole, err = iam.NewRole(ctx, name+"-ci-preview", &iam.RoleArgs{
		Path:             pulumi.String(ciRolePath),
		NamePrefix:       pulumi.String(previewPrefix),
		Description:      pulumi.Sprintf("pulumi preview of stack %s from GitHub Actions (%s)", ctx.Stack(), previewSubject),
		AssumeRolePolicy: trust(previewSubject),
		Tags:             args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating CI preview role: %w", err)
	}
	previewPolicy := args.Account.ToStringOutput().ApplyT(func(account string) (string, error) {
		s := scope
		s.Account = account
		return ciPreviewPolicy(s)
	}).(pulumi.StringOutput)
	if _, err = iam.NewRolePolicy(ctx, name+"-ci-preview", &iam.RolePolicyArgs{Role: c.PreviewRole.Name, Policy: previewPolicy}, parent); err != nil {
		return nil, fmt.Errorf("creating CI preview policy: %w", err)
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"deployRoleArn":  c.DeployRole.Arn,
		"previewRoleArn": c.PreviewRole.Arn,
	})
}

// BoundaryArgs configures NewBoundary.
type BoundaryArgs struct {
	Name      string // the stack's resource name prefix: its roles are <name>-<stack>-…
	Project   string
	Partition string
	// StateBucket is the S3 bucket of the Pulumi state ("" for Pulumi Cloud), which
	// no role of the stack has any business in.
	StateBucket string
	// HostedZoneID is the stack's Route 53 zone ("" for none): the only one its
	// roles may touch.
	HostedZoneID string
	Tags         pulumi.StringMap
}

// Boundary is the permissions boundary of every role of the stack that a deploy
// role may change (IAM User Guide, "Permissions boundaries for IAM entities", and
// its "Delegating responsibility to others using permissions boundaries":
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html,
// read 2026-12). The deploy role may put any policy on such a role; the boundary
// caps what that policy can grant: nothing of another stack, of CI, of the state,
// no other role, no IAM principal without this boundary, no change to a boundary.
// Like the CI roles it lives under /ci/ and changes from the bootstrap workstation
// only.
type Boundary struct {
	pulumi.ResourceState

	Policy *iam.Policy
}

// NewBoundary creates the stack's boundary policy, <name>-<stack>-boundary under /ci/.
func NewBoundary(ctx *pulumi.Context, name string, args *BoundaryArgs, opts ...pulumi.ResourceOption) (*Boundary, error) {
	b := &Boundary{}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Boundary", name, b, opts...); err != nil {
		return nil, err
	}
	doc, err := boundaryPolicy(ciScope{
		Partition: args.Partition, Project: args.Project, Stack: ctx.Stack(), Name: args.Name,
		StateBucket: args.StateBucket, HostedZoneID: args.HostedZoneID,
	})
	if err != nil {
		return nil, fmt.Errorf("writing the permissions boundary: %w", err)
	}
	b.Policy, err = iam.NewPolicy(ctx, name+"-boundary", &iam.PolicyArgs{
		Path:        pulumi.String(ciRolePath),
		Name:        pulumi.String(boundaryName(args.Name, ctx.Stack())),
		Description: pulumi.Sprintf("Permissions boundary of the roles of stack %s (from the bootstrap workstation only)", ctx.Stack()),
		Policy:      pulumi.String(doc),
		Tags:        args.Tags,
	}, pulumi.Parent(b))
	if err != nil {
		return nil, fmt.Errorf("creating the permissions boundary: %w", err)
	}
	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{"arn": b.Policy.Arn})
}

// ARN is what iam.RoleArgs.PermissionsBoundary takes, for every role a stack
// creates: the boundary's ARN, or nil (no boundary) on a stack without CI.
func (b *Boundary) ARN() pulumi.StringPtrInput {
	if b == nil || b.Policy == nil {
		return nil
	}
	return b.Policy.Arn
}

// boundaryName is the stable name of a stack's boundary policy.
func boundaryName(name, stack string) string { return fmt.Sprintf("%s-%s-boundary", name, stack) }

// iamWrites are IAM's write actions by their verbs: every action of the Service
// Authorization Reference's IAM page whose access level is not Read or List,
// except iam:PassRole (TestBoundaryCoversIAMWrites keeps the two in step).
var iamWrites = []string{
	"iam:Accept*", "iam:Add*", "iam:Associate*", "iam:Attach*", "iam:Change*", "iam:Create*", "iam:Deactivate*", "iam:Delete*",
	"iam:Detach*", "iam:Disable*", "iam:Enable*", "iam:Put*", "iam:Reject*", "iam:Remove*", "iam:Reset*", "iam:Resync*",
	"iam:Send*", "iam:Set*", "iam:Tag*", "iam:Untag*", "iam:Update*", "iam:Upload*",
}

// boundaryPolicy is the boundary's document: everything, except (each deny
// scoped so that what the stack's roles do — pull images, write logs, read the
// stack's secrets, pass the task's roles to ECS, deliver flow logs — stays open):
//   - any resource, or new one, tagged with another stack (otherStacks, every action);
//   - any IAM action on the CI roles, the OIDC provider and the boundaries (policy/ci/…);
//   - any IAM write on a principal without this boundary, and every IAM write that
//     cannot show one (iam:PermissionsBoundary absent: users' keys, groups,
//     managed policies and their versions, instance profiles, …) — so a role under
//     it creates or edits only roles and users under it (the delegation example's
//     CreateOrChangeOnlyWithBoundary, turned into a Deny);
//   - removing any boundary (putting another one is a write without this one);
//   - passing any role but the stack's own, and assuming any role: another role's
//     permissions are not capped by this boundary;
//   - what AWS offers no (reliable) tag condition for by default, by name: every
//     schedule, and with them every schedule group, but the stack's own, the state bucket,
//     the stacks' access-log buckets (S3 evaluates bucket tags only with
//     attribute-based access control turned on), writing the project's SSM
//     parameters (another stack's rollout state is untagged), and every Route 53
//     zone but the stack's (Route 53 has no tag conditions).
//
// Account ids are wildcards: the document is written before the account is known,
// and a boundary of this name under /ci/ exists only in this account.
func boundaryPolicy(s ciScope) (string, error) {
	iamARN := func(rest string) string { return fmt.Sprintf("arn:%s:iam::*:%s", s.Partition, rest) }
	self := iamARN("policy" + ciRolePath + boundaryName(s.Name, s.Stack))
	statements := []policyStatement{{Sid: "Everything", Effect: "Allow", Action: []string{"*"}, Resource: []string{"*"}}}
	statements = append(statements, otherStacks(s.Stack, "*")...)
	statements = append(statements,
		policyStatement{Sid: "CIFromBootstrapOnly", Effect: "Deny", Action: []string{"iam:*"},
			Resource: []string{iamARN("role" + ciRolePath + "*"), iamARN("policy" + ciRolePath + "*"), iamARN("oidc-provider/*")}},
		policyStatement{Sid: "OnlyWithThisBoundary", Effect: "Deny", Action: iamWrites, Resource: []string{"*"},
			Condition: map[string]map[string][]string{"StringNotLike": {"iam:PermissionsBoundary": {self}}}},
		policyStatement{Sid: "NoBoundaryRemoval", Effect: "Deny", Action: []string{"iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"}, Resource: []string{"*"}},
		policyStatement{Sid: "NoOtherRoles", Effect: "Deny", Action: []string{"iam:PassRole"},
			NotResource: []string{iamARN(fmt.Sprintf("role/%s-%s-*", s.Name, s.Stack))}},
		policyStatement{Sid: "NoAssumedRoles", Effect: "Deny", Action: []string{"sts:AssumeRole", "sts:AssumeRoot"}, Resource: []string{"*"}},
		policyStatement{Sid: "NoProjectParameterWrites", Effect: "Deny", Action: []string{
			"ssm:PutParameter", "ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:LabelParameterVersion", "ssm:UnlabelParameterVersion",
			"ssm:AddTagsToResource", "ssm:RemoveTagsFromResource",
		}, Resource: []string{fmt.Sprintf("arn:%s:ssm:*:*:parameter/%s/*", s.Partition, s.Project)}})
	// Schedules carry no tags of their own (only groups do). The SAR gives the
	// schedule resource type no tag condition key; it lists aws:ResourceTag only
	// as an action-level key of Create/Get/Update/DeleteSchedule, without saying
	// whose tags it holds (presumably the group's): not documented well enough for
	// otherStacks to keep a role off another stack's schedules. So only the stack's
	// own group, by name, stays open.
	group := fmt.Sprintf("%s-%s-%s", s.Project, s.Stack, s.Name)
	statements = append(statements, policyStatement{Sid: "OnlyTheStacksSchedules", Effect: "Deny", Action: []string{"scheduler:*"},
		NotResource: []string{
			fmt.Sprintf("arn:%s:scheduler:*:*:schedule-group/%s", s.Partition, group),
			fmt.Sprintf("arn:%s:scheduler:*:*:schedule/%s/*", s.Partition, group),
		}})
	buckets := []string{fmt.Sprintf("arn:%s:s3:::%s-alb-logs-*", s.Partition, s.Name)}
	if s.StateBucket != "" {
		buckets = append(buckets, fmt.Sprintf("arn:%s:s3:::%s", s.Partition, s.StateBucket))
	}
	for _, b := range slices.Clone(buckets) {
		buckets = append(buckets, b+"/*")
	}
	statements = append(statements, policyStatement{Sid: "NoStateOrLogBuckets", Effect: "Deny", Action: []string{"s3:*"}, Resource: buckets})
	if s.HostedZoneID != "" {
		statements = append(statements, policyStatement{Sid: "OnlyTheStacksZone", Effect: "Deny", Action: []string{"route53:*"},
			NotResource: []string{fmt.Sprintf("arn:%s:route53:::hostedzone/%s", s.Partition, s.HostedZoneID), fmt.Sprintf("arn:%s:route53:::change/*", s.Partition)}})
	} else {
		statements = append(statements, policyStatement{Sid: "NoZones", Effect: "Deny", Action: []string{"route53:*"}, Resource: []string{"*"}})
	}
	return policy(statements...).JSON()
}

// GitHubTrustPolicy lets GitHub Actions assume a role through OIDC, for tokens
// issued to exactly one subject (repository and branch, environment or pull
// request), compared whole and case-sensitively: a repository on immutable subject
// claims matches only its owner@id/name@id form, one on the name form only that.
func GitHubTrustPolicy(providerARN, subject string) (string, error) {
	return policy(policyStatement{
		Effect:    "Allow",
		Principal: map[string]string{"Federated": providerARN},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string][]string{"StringEquals": {
			githubOIDCHost + ":aud": {githubOIDCAudience},
			githubOIDCHost + ":sub": {subject},
		}},
	}).JSON()
}

// ciRolePath holds the CI roles apart from the stack's roles: a deploy role may
// manage role/<name>-<stack>-*, never role/ci/*. CI roles change from the
// bootstrap workstation only.
const ciRolePath = "/ci/"

// ciScope is what the CI policies are scoped to.
type ciScope struct {
	Partition, Region, Account, Project, Stack, Name string
	StateBucket, HostedZoneID                        string   // "" for none
	TaskRoles                                        []string // the web's execution and task roles
	CodeDeployRole, FlowLogRole, AccessLogBucket     string   // "" for none
	Boundary                                         string   // the ARN of the stack's permissions boundary
}

// ciStackServices are the services whose resources this stack creates and updates
// in its region and account.
var ciStackServices = []string{"ec2", "elasticloadbalancing", "ecs", "ecr", "logs", "cloudwatch", "codedeploy", "application-autoscaling", "acm", "sqs"}

// ciReads are the read actions of the stack's services, on every resource: most
// have no resource-level permissions. SSM, S3, IAM, Secrets Manager and KMS reads
// can expose data and stay scoped below.
var ciReads = []string{
	"ec2:Describe*", "elasticloadbalancing:Describe*", "ecs:Describe*", "ecs:List*", "ecr:Describe*", "ecr:List*", "ecr:Get*",
	"logs:Describe*", "logs:List*", "logs:Get*", "cloudwatch:Describe*", "cloudwatch:List*", "cloudwatch:Get*",
	"codedeploy:List*", "codedeploy:Get*", "application-autoscaling:Describe*", "acm:Describe*", "acm:List*", "acm:Get*",
}

// ciNoResourceLevel are the actions `pulumi up` and the rollout need that AWS
// offers no resource-level permission for (Service Authorization Reference).
var ciNoResourceLevel = []string{"ssm:DescribeParameters", "ecr:GetAuthorizationToken", "acm:RequestCertificate", "sts:GetCallerIdentity", "codedeploy:StopDeployment"}

// ciTagScoped are the services whose resources carry the stack tag, and IAM and
// S3: the deploy and preview roles are denied them where the request names
// another stack's tag.
var ciTagScoped = append(slices.Clone(ciStackServices), "ssm", "iam", "s3", "scheduler", "events")

// otherStacks denies a role every action (of ciTagScoped's services, or the
// actions given) on a resource, or creating one, whose stack tag names another stack — wherever the service puts the tag in the request
// (the Service Authorization Reference's aws:ResourceTag and aws:RequestTag per
// action and resource type). A resource without the tag, or an action that does
// not support the key, is not denied here: the key is absent, and Null is true.
func otherStacks(stack string, actions ...string) []policyStatement {
	if len(actions) == 0 {
		for _, svc := range ciTagScoped {
			actions = append(actions, svc+":*")
		}
	}
	deny := func(sid, key string) policyStatement {
		return policyStatement{Sid: sid, Effect: "Deny", Action: actions, Resource: []string{"*"},
			Condition: map[string]map[string][]string{"StringNotEquals": {key: {stack}}, "Null": {key: {"false"}}}}
	}
	return []policyStatement{deny("OtherStacksResources", "aws:ResourceTag/stack"), deny("OtherStacksTagsOnCreate", "aws:RequestTag/stack")}
}

// ciDeployPolicy is what `pulumi up` of this stack needs, and no more of the other
// stacks in the account than AWS leaves unscoped: reading; managing the stack's
// services' resources in its region and account except another stack's (by tag);
// its own SSM parameters, roles (by name), access-log bucket, Route 53 zone and
// state; passing exactly its roles, each to its service; never a CI role or the
// OIDC provider.
func ciDeployPolicy(s ciScope) (string, error) {
	var manage, scopes []string
	for _, svc := range ciStackServices {
		manage = append(manage, svc+":*")
		scopes = append(scopes, fmt.Sprintf("arn:%s:%s:%s:%s:*", s.Partition, svc, s.Region, s.Account))
	}
	iamARN := func(rest string) string { return fmt.Sprintf("arn:%s:iam::%s:%s", s.Partition, s.Account, rest) }
	roles := iamARN(fmt.Sprintf("role/%s-%s-*", s.Name, s.Stack))
	if s.Boundary == "" {
		return "", fmt.Errorf("the CI deploy policy of stack %s needs the stack's permissions boundary", s.Stack)
	}
	bounded := map[string]map[string][]string{"StringEquals": {"iam:PermissionsBoundary": {s.Boundary}}}
	jobs, err := jobRolePatterns(iamARN, s.Name, s.Stack)
	if err != nil {
		return "", err
	}
	statements := []policyStatement{
		{Sid: "Read", Effect: "Allow", Action: ciReads, Resource: []string{"*"}},
		{Sid: "StackResources", Effect: "Allow", Action: manage, Resource: scopes},
		{Sid: "NoResourceLevel", Effect: "Allow", Action: ciNoResourceLevel, Resource: []string{"*"}},
		// EventBridge rules (the job-failure rule), nothing else of EventBridge:
		// events:* on the account would take in its buses, connections, API
		// destinations and archives (SAR: their resource types), untagged by any stack
		// (review of issue 16, finding 5).
		{Sid: "StackRules", Effect: "Allow", Action: []string{"events:*"},
			Resource: []string{fmt.Sprintf("arn:%s:events:%s:%s:rule/*", s.Partition, s.Region, s.Account)}},
		// The generated secret key and the rollout's state: /<project>/<stack>/….
		{Sid: "StackParameters", Effect: "Allow", Action: []string{"ssm:*"},
			Resource: []string{fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s/%s/*", s.Partition, s.Region, s.Account, s.Project, s.Stack)}},
		{Sid: "StackRolesRead", Effect: "Allow", Action: []string{
			"iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:GetRolePolicy",
		}, Resource: []string{roles}},
		// Every write that can grant a role more carries the stack's boundary, in the
		// request (CreateRole) or on the role: iam:PermissionsBoundary, which the
		// Service Authorization Reference lists for each of these actions.
		{Sid: "StackRoles", Effect: "Allow", Action: []string{
			"iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
			"iam:PutRolePolicy", "iam:DeleteRolePolicy",
		}, Resource: []string{roles}, Condition: bounded},
		// TagRole and UntagRole take no iam:PermissionsBoundary (SAR); a tag grants
		// nothing here, and otherStacks denies tagging a role with another stack.
		{Sid: "StackRoleTags", Effect: "Allow", Action: []string{"iam:TagRole", "iam:UntagRole"}, Resource: []string{roles}},
		{Sid: "StackRoleManagedPolicies", Effect: "Allow", Action: []string{"iam:AttachRolePolicy", "iam:DetachRolePolicy"}, Resource: []string{roles},
			Condition: map[string]map[string][]string{
				"ArnEquals":    {"iam:PolicyARN": {fmt.Sprintf("arn:%s:iam::aws:policy/AWSCodeDeployRoleForECSLimited", s.Partition)}},
				"StringEquals": bounded["StringEquals"],
			}},
		passRoleStatement("PassTaskRoles", append(slices.Clone(s.TaskRoles), jobs.ecsTasks...), "ecs-tasks.amazonaws.com"),
		passRoleStatement("PassCodeDeployRole", []string{s.CodeDeployRole}, "codedeploy.amazonaws.com"),
		{Sid: "ServiceLinkedRoles", Effect: "Allow", Action: []string{"iam:CreateServiceLinkedRole"}, Resource: []string{iamARN("role/aws-service-role/*")},
			Condition: map[string]map[string][]string{"StringEquals": {"iam:AWSServiceName": {
				"ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "ecs.application-autoscaling.amazonaws.com",
			}}}},
	}
	if s.FlowLogRole != "" {
		// ec2:CreateFlowLogs hands the delivery role to VPC Flow Logs (pitfall 30).
		statements = append(statements, passRoleStatement("PassFlowLogRole", []string{s.FlowLogRole}, "vpc-flow-logs.amazonaws.com"))
	}
	// The stack's schedule group and its schedules, whether it has any yet, scoped
	// by the group's name: a schedule carries no tags of its own, and the
	// action-level aws:ResourceTag the SAR lists for the schedule actions is not
	// documented to be the group's (boundaryPolicy). CreateSchedule and
	// UpdateSchedule hand Scheduler its role.
	group := fmt.Sprintf("%s-%s-%s", s.Project, s.Stack, s.Name)
	statements = append(statements,
		policyStatement{Sid: "StackSchedules", Effect: "Allow", Action: []string{"scheduler:*"}, Resource: []string{
			fmt.Sprintf("arn:%s:scheduler:%s:%s:schedule-group/%s", s.Partition, s.Region, s.Account, group),
			fmt.Sprintf("arn:%s:scheduler:%s:%s:schedule/%s/*", s.Partition, s.Region, s.Account, group),
		}},
		passRoleStatement("PassSchedulerRole", jobs.scheduler, "scheduler.amazonaws.com"))
	if s.HostedZoneID != "" {
		statements = append(statements, policyStatement{Sid: "DNS", Effect: "Allow",
			Action:   []string{"route53:ChangeResourceRecordSets", "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:GetChange"},
			Resource: []string{fmt.Sprintf("arn:%s:route53:::hostedzone/%s", s.Partition, s.HostedZoneID), fmt.Sprintf("arn:%s:route53:::change/*", s.Partition)}})
	}
	if s.AccessLogBucket != "" {
		// S3 ARNs carry no region or account, so StackResources never covers a bucket
		// (pitfall 30): this bucket by name, and creating one of its names again.
		statements = append(statements,
			policyStatement{Sid: "AccessLogBucket", Effect: "Allow", Action: []string{
				"s3:ListBucket", "s3:DeleteBucket", "s3:GetBucket*", "s3:PutBucketTagging", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
				"s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration",
				"s3:GetAccelerateConfiguration", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration",
			}, Resource: []string{s.AccessLogBucket}},
			// CreateBucket with the canned ACL private is also authorized as PutBucketAcl.
			policyStatement{Sid: "AccessLogBucketCreate", Effect: "Allow", Action: []string{"s3:CreateBucket"},
				Resource: []string{fmt.Sprintf("arn:%s:s3:::%s-alb-logs-*", s.Partition, s.Name)}},
			policyStatement{Sid: "AccessLogBucketPrivate", Effect: "Allow", Action: []string{"s3:PutBucketAcl"},
				Resource:  []string{fmt.Sprintf("arn:%s:s3:::%s-alb-logs-*", s.Partition, s.Name)},
				Condition: map[string]map[string][]string{"StringEquals": {"s3:x-amz-acl": {"private"}}}})
	}
	if s.StateBucket != "" {
		statements = append(statements, stateStatements(s, true)...)
	}
	statements = append(statements, otherStacks(s.Stack)...)
	statements = append(statements,
		// The CI roles, the OIDC provider and the boundaries (policy/ci/…).
		policyStatement{Sid: "CIRolesFromBootstrapOnly", Effect: "Deny", Action: []string{"iam:*"},
			Resource: []string{iamARN("role" + ciRolePath + "*"), iamARN("policy" + ciRolePath + "*"), iamARN("oidc-provider/*")}},
		// Boundaries are put and removed from the bootstrap workstation only: CreateRole
		// sets one in the same call (its PermissionsBoundary parameter, which the
		// Terraform provider passes; iam:CreateRole with the condition is all AWS's
		// Well-Architected lab "IAM Permission Boundaries Delegating Role Creation"
		// grants for it), and no role may lose or swap it. A changed
		// permissions_boundary of an existing role is a PutRolePermissionsBoundary
		// (terraform-provider-aws v5 internal/service/iam/role.go, update): the
		// upgrade that adds the boundary runs from the workstation.
		policyStatement{Sid: "BoundariesFromBootstrapOnly", Effect: "Deny", Action: []string{
			"iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", "iam:PutUserPermissionsBoundary", "iam:DeleteUserPermissionsBoundary",
		}, Resource: []string{"*"}})
	return policy(statements...).JSON()
}

// jobRoles are the jobs' roles and Scheduler's, by name pattern.
type jobRoles struct{ ecsTasks, scheduler []string }

// jobRolePatterns names the roles the workers and schedules run with by the
// prefixes NewJobs and NewSchedules give them (roleNamePrefix), so the deploy
// policy is the same whether the stack has workers, schedules or queues: the
// deploy role cannot change its own policy (CIRolesFromBootstrapOnly), and a
// policy that named their ARNs would refuse the first worker or schedule, the
// removal of the last one, and a replaced role (review of issue 16, finding 1).
func jobRolePatterns(iamARN func(string) string, name, stack string) (jobRoles, error) {
	var out jobRoles
	for _, r := range []struct {
		role string
		to   *[]string
	}{{"jobs-exec", &out.ecsTasks}, {"jobs-task", &out.ecsTasks}, {"scheduler", &out.scheduler}} {
		prefix, err := roleNamePrefix(name, stack, r.role)
		if err != nil {
			return jobRoles{}, err
		}
		*r.to = append(*r.to, iamARN("role/"+prefix+"*"))
	}
	return out, nil
}

// stateStatements let a role read this stack's state in the S3 backend, and with
// write its lock, checkpoint, backups and history (Pulumi's file backend,
// pkg/backend/diy: .pulumi/stacks/<project>/<stack>.json, .pulumi/locks/<project>/
// <stack>/, .pulumi/history/<project>/<stack>/, .pulumi/backups/<project>/<stack>/).
func stateStatements(s ciScope, write bool) []policyStatement {
	bucket := fmt.Sprintf("arn:%s:s3:::%s", s.Partition, s.StateBucket)
	object := func(dir, rest string) string {
		return fmt.Sprintf("%s/.pulumi/%s/%s/%s%s", bucket, dir, s.Project, s.Stack, rest)
	}
	out := []policyStatement{
		{Sid: "StateBucket", Effect: "Allow", Action: []string{"s3:ListBucket", "s3:GetBucketLocation"}, Resource: []string{bucket}},
		{Sid: "StateRead", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{bucket + "/.pulumi/meta.yaml", object("stacks", ".json*")}},
	}
	if write {
		out = append(out, policyStatement{Sid: "StateWrite", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
			Resource: []string{object("stacks", ".json*"), object("locks", "/*"), object("history", "/*"), object("backups", "/*")}})
	}
	return out
}

// ciPreviewPolicy is what `pulumi preview` of this stack reads: the provider's
// identity, the registry token and availability zones the program asks for in a
// preview, the state (a file backend's preview takes no lock: pkg/backend/diy's
// Preview goes straight to apply, and only Update, Import, Refresh and Destroy
// lock), and the rollout's reads of what serves. Secrets are denied outright.
func ciPreviewPolicy(s ciScope) (string, error) {
	rolloutState := fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s/%s/%s/rollout", s.Partition, s.Region, s.Account, s.Project, s.Stack, s.Name)
	statements := []policyStatement{
		{Sid: "NoResourceLevel", Effect: "Allow", Action: []string{"sts:GetCallerIdentity", "ecr:GetAuthorizationToken", "ec2:DescribeAvailabilityZones"}, Resource: []string{"*"}},
		{Sid: "WhatServes", Effect: "Allow", Action: []string{"ecs:DescribeServices"},
			Resource: []string{fmt.Sprintf("arn:%s:ecs:%s:%s:*", s.Partition, s.Region, s.Account)}},
		{Sid: "RolloutState", Effect: "Allow", Action: []string{"ssm:GetParameter"}, Resource: []string{rolloutState}},
	}
	var stateObjects []string
	if s.StateBucket != "" {
		state := stateStatements(s, false)
		statements = append(statements, state...)
		stateObjects = state[1].Resource
	}
	statements = append(statements, otherStacks(s.Stack)...)
	statements = append(statements,
		policyStatement{Sid: "NoOtherParameters", Effect: "Deny", Action: []string{"ssm:GetParameter*"}, NotResource: []string{rolloutState}},
		policyStatement{Sid: "NoSecrets", Effect: "Deny", Action: []string{"secretsmanager:GetSecretValue", "kms:Decrypt"}, Resource: []string{"*"}})
	if len(stateObjects) > 0 {
		statements = append(statements, policyStatement{Sid: "NoObjectsButState", Effect: "Deny", Action: []string{"s3:GetObject"}, NotResource: stateObjects})
	} else {
		statements = append(statements, policyStatement{Sid: "NoObjects", Effect: "Deny", Action: []string{"s3:GetObject"}, Resource: []string{"*"}})
	}
	return policy(statements...).JSON()
}

// accountOf reads the account id out of an ARN (arn:partition:service:region:account:…).
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}
