package rollout

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// MaxAttempts bounds the SDK's retries of throttled and transient failures per
// call; a rollout polls for many minutes, so it allows more than the default 3.
const MaxAttempts = 8

// NewClients builds the CodeDeploy and ECS clients with the credentials the program
// runs with: the region and profile of the stack (aws:region, aws:profile), then
// the usual environment and shared files.
func NewClients(ctx context.Context, region, profile string) (*codedeploy.Client, *ecs.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithRetryer(func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), MaxAttempts) }),
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to load AWS configuration: %w", err)
	}
	return codedeploy.NewFromConfig(cfg), ecs.NewFromConfig(cfg), nil
}
