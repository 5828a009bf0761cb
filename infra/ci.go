package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

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
	Partition   string
	Region      string
	// Account is the stack's AWS account id.
	Account pulumi.StringInput
	// PassRoles are the roles `pulumi up` hands to ECS and CodeDeploy (task
	// execution, task, CodeDeploy service role): the only ones CI may pass.
	PassRoles pulumi.StringArrayInput
	Tags      pulumi.StringMap
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
	c.DeployRole, err = iam.NewRole(ctx, name+"-ci-deploy", &iam.RoleArgs{
		Description:      pulumi.Sprintf("pulumi up of stack %s from GitHub Actions (%s)", ctx.Stack(), deploySubject),
		AssumeRolePolicy: trust(deploySubject),
		// `pulumi up` with a rollout can take a while.
		MaxSessionDuration: pulumi.Int(2 * 3600),
		Tags:               args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating CI deploy role: %w", err)
	}
	deployPolicy := pulumi.All(args.Account, args.PassRoles, c.ProviderARN).ApplyT(func(v []any) (string, error) {
		return ciDeployPolicy(args.Partition, args.Region, v[0].(string), args.Name, v[1].([]string), v[2].(string), cfg.StateBucket)
	}).(pulumi.StringOutput)
	if _, err = iam.NewRolePolicy(ctx, name+"-ci-deploy", &iam.RolePolicyArgs{Role: c.DeployRole.Name, Policy: deployPolicy}, parent); err != nil {
		return nil, fmt.Errorf("creating CI deploy policy: %w", err)
	}

	c.PreviewRole, err = iam.NewRole(ctx, name+"-ci-preview", &iam.RoleArgs{
		Description:      pulumi.Sprintf("pulumi preview of stack %s from GitHub Actions (%s)", ctx.Stack(), previewSubject),
		AssumeRolePolicy: trust(previewSubject),
		Tags:             args.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating CI preview role: %w", err)
	}
	if _, err = iam.NewRolePolicyAttachment(ctx, name+"-ci-preview", &iam.RolePolicyAttachmentArgs{
		Role: c.PreviewRole.Name, PolicyArn: pulumi.Sprintf("arn:%s:iam::aws:policy/ReadOnlyAccess", args.Partition),
	}, parent); err != nil {
		return nil, fmt.Errorf("attaching read-only policy: %w", err)
	}
	if cfg.StateBucket != "" {
		doc, err := ciPreviewStatePolicy(args.Partition, cfg.StateBucket)
		if err != nil {
			return nil, err
		}
		if _, err = iam.NewRolePolicy(ctx, name+"-ci-preview", &iam.RolePolicyArgs{Role: c.PreviewRole.Name, Policy: pulumi.String(doc)}, parent); err != nil {
			return nil, fmt.Errorf("creating CI preview state policy: %w", err)
		}
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"deployRoleArn":  c.DeployRole.Arn,
		"previewRoleArn": c.PreviewRole.Arn,
	})
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

// ciStackServices are the services whose resources this stack creates and updates.
var ciStackServices = []string{"ec2", "elasticloadbalancing", "ecs", "ecr", "logs", "cloudwatch", "codedeploy", "application-autoscaling", "acm", "ssm"}

// ciNoResourceLevel are the actions `pulumi up` needs that AWS offers no
// resource-level permission for.
var ciNoResourceLevel = []string{"ssm:DescribeParameters", "ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "acm:RequestCertificate", "sts:GetCallerIdentity", "iam:ListRoles", "iam:GetPolicy", "iam:GetPolicyVersion"}

// ciDeployPolicy is what `pulumi up` of this stack needs: reading, and managing the
// stack's services' resources in its region and account; the IAM roles named after
// the stack (which is the power to change its own permissions); passing exactly the
// task and CodeDeploy roles; Route 53 records; and the state bucket.
func ciDeployPolicy(partition, region, account, name string, passRoles []string, providerARN, bucket string) (string, error) {
	var read, manage, scopes []string
	for _, svc := range ciStackServices {
		if svc != "ssm" { // SSM reads return parameter values; they stay scoped below
			read = append(read, svc+":Describe*", svc+":List*", svc+":Get*")
		}
		manage = append(manage, svc+":*")
		scopes = append(scopes, fmt.Sprintf("arn:%s:%s:%s:%s:*", partition, svc, region, account))
	}
	roles := fmt.Sprintf("arn:%s:iam::%s:role/%s-*", partition, account, name)
	statements := []policyStatement{
		// Describe, List and Get calls mostly have no resource-level permissions.
		{Sid: "Read", Effect: "Allow", Action: read, Resource: []string{"*"}},
		{Sid: "StackResources", Effect: "Allow", Action: manage, Resource: scopes},
		{Sid: "NoResourceLevel", Effect: "Allow", Action: ciNoResourceLevel, Resource: []string{"*"}},
		{Sid: "DNS", Effect: "Allow", Action: []string{"route53:ChangeResourceRecordSets", "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:GetChange"},
			Resource: []string{fmt.Sprintf("arn:%s:route53:::hostedzone/*", partition), fmt.Sprintf("arn:%s:route53:::change/*", partition)}},
		{Sid: "StackRoles", Effect: "Allow", Action: []string{
			"iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
			"iam:TagRole", "iam:UntagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
			"iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
		}, Resource: []string{roles}},
		{Sid: "StackRoleManagedPolicies", Effect: "Allow", Action: []string{"iam:AttachRolePolicy", "iam:DetachRolePolicy"}, Resource: []string{roles},
			Condition: map[string]map[string][]string{"ArnEquals": {"iam:PolicyARN": {
				fmt.Sprintf("arn:%s:iam::aws:policy/AWSCodeDeployRoleForECS", partition),
				fmt.Sprintf("arn:%s:iam::aws:policy/AWSCodeDeployRoleForECSLimited", partition),
				fmt.Sprintf("arn:%s:iam::aws:policy/ReadOnlyAccess", partition),
			}}}},
		{Sid: "PassTaskAndDeployRoles", Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: passRoles,
			Condition: map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"ecs-tasks.amazonaws.com", "codedeploy.amazonaws.com"}}}},
		{Sid: "GitHubProvider", Effect: "Allow", Action: []string{
			"iam:GetOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint", "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
		}, Resource: []string{providerARN}},
		{Sid: "ServiceLinkedRoles", Effect: "Allow", Action: []string{"iam:CreateServiceLinkedRole"}, Resource: []string{"*"},
			Condition: map[string]map[string][]string{"StringEquals": {"iam:AWSServiceName": {
				"ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "ecs.application-autoscaling.amazonaws.com",
			}}}},
	}
	if bucket != "" {
		statements = append(statements,
			stateBucket(partition, bucket),
			policyStatement{Sid: "StateObjects", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resource: []string{fmt.Sprintf("arn:%s:s3:::%s/*", partition, bucket)}})
	}
	return policy(statements...).JSON()
}

// stateBucket lets a role find the Pulumi state bucket.
func stateBucket(partition, bucket string) policyStatement {
	return policyStatement{Sid: "StateBucket", Effect: "Allow", Action: []string{"s3:ListBucket", "s3:GetBucketLocation"}, Resource: []string{fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)}}
}

// ciPreviewStatePolicy lets a preview read the state and take its lock.
func ciPreviewStatePolicy(partition, bucket string) (string, error) {
	return policy(
		stateBucket(partition, bucket),
		policyStatement{Sid: "StateRead", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{fmt.Sprintf("arn:%s:s3:::%s/*", partition, bucket)}},
		policyStatement{Sid: "StateLocks", Effect: "Allow", Action: []string{"s3:PutObject", "s3:DeleteObject"}, Resource: []string{fmt.Sprintf("arn:%s:s3:::%s/.pulumi/locks/*", partition, bucket)}},
	).JSON()
}

// accountOf reads the account id out of an ARN (arn:partition:service:region:account:…).
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}
