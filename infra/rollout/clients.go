package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// MaxAttempts bounds the SDK's retries of throttled and transient failures per
// call; a rollout polls for many minutes, so it allows more than the default 3.
const MaxAttempts = 8

// Identity is how the AWS provider of the stack authenticates, read from the
// stack's aws:* config. The rollout acts as the same identity, in the same account
// and region, as the provider that created the service.
type Identity struct {
	Region  string
	Profile string
	// SharedConfigFiles and SharedCredentialsFiles replace the default ~/.aws files.
	SharedConfigFiles      []string
	SharedCredentialsFiles []string
	// AccessKey, SecretKey and Token are static credentials (aws:accessKey, …).
	AccessKey, SecretKey, Token string
	// AssumeRoles are assumed in order, each with the credentials of the one before
	// (aws:assumeRole is one; aws:assumeRoles a chain).
	AssumeRoles []AssumeRole
}

// AssumeRole is one role the provider assumes (the fields of aws:assumeRole).
type AssumeRole struct {
	RoleARN           string            `json:"roleArn"`
	SessionName       string            `json:"sessionName,omitempty"`
	ExternalID        string            `json:"externalId,omitempty"`
	Duration          string            `json:"duration,omitempty"` // e.g. "1h"
	Policy            string            `json:"policy,omitempty"`
	PolicyARNs        []string          `json:"policyArns,omitempty"`
	SourceIdentity    string            `json:"sourceIdentity,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	TransitiveTagKeys []string          `json:"transitiveTagKeys,omitempty"`
}

// Clients are the AWS clients of the rollout and of the day-N commands, all acting
// as one identity.
type Clients struct {
	CodeDeploy *codedeploy.Client
	ECS        *ecs.Client
	SSM        *ssm.Client
	Logs       *cloudwatchlogs.Client
	ELB        *elbv2.Client
	CloudWatch *cloudwatch.Client
	STS        *sts.Client
}

// Rollout is a Rollout acting through these clients.
func (c *Clients) Rollout(log Logger) *Rollout {
	return &Rollout{CodeDeploy: c.CodeDeploy, ECS: c.ECS, State: c.SSM, Logs: c.Logs, ELB: c.ELB, Alarms: c.CloudWatch, Log: log}
}

// NewClients builds the clients for an identity: region, static keys or profile
// and shared files, then the usual environment, then the role chain.
func NewClients(ctx context.Context, id Identity) (*Clients, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(id.Region),
		config.WithRetryer(func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), MaxAttempts) }),
	}
	if id.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(id.Profile))
	}
	if len(id.SharedConfigFiles) > 0 {
		opts = append(opts, config.WithSharedConfigFiles(id.SharedConfigFiles))
	}
	if len(id.SharedCredentialsFiles) > 0 {
		opts = append(opts, config.WithSharedCredentialsFiles(id.SharedCredentialsFiles))
	}
	if id.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id.AccessKey, id.SecretKey, id.Token)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("failed to load AWS configuration: %w", err)
	}
	for _, role := range id.AssumeRoles {
		// Each role is assumed with the credentials obtained so far.
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role.RoleARN, role.apply)
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	return &Clients{
		CodeDeploy: codedeploy.NewFromConfig(cfg), ECS: ecs.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg),
		Logs: cloudwatchlogs.NewFromConfig(cfg), ELB: elbv2.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg),
	}, nil
}

func (r AssumeRole) apply(o *stscreds.AssumeRoleOptions) {
	o.RoleSessionName = r.SessionName
	if o.RoleSessionName == "" {
		o.RoleSessionName = "pulumi-rollout"
	}
	if r.ExternalID != "" {
		o.ExternalID = aws.String(r.ExternalID)
	}
	if d, err := time.ParseDuration(r.Duration); err == nil && d > 0 {
		o.Duration = d
	}
	if r.Policy != "" {
		o.Policy = aws.String(r.Policy)
	}
	for _, arn := range r.PolicyARNs {
		o.PolicyARNs = append(o.PolicyARNs, ststypes.PolicyDescriptorType{Arn: aws.String(arn)})
	}
	if r.SourceIdentity != "" {
		o.SourceIdentity = aws.String(r.SourceIdentity)
	}
	for k, v := range r.Tags {
		o.Tags = append(o.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	o.TransitiveTagKeys = r.TransitiveTagKeys
}
