package rollout

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// migrate runs the new task definition once with the migration command, in the
// service's subnets and security groups, and fails unless the container exits 0.
func (ro *Rollout) migrate(ctx context.Context, req Request) error {
	assign := ecstypes.AssignPublicIpDisabled
	if req.AssignPublicIP {
		assign = ecstypes.AssignPublicIpEnabled
	}
	in := &ecs.RunTaskInput{
		Cluster:        aws.String(req.Cluster),
		TaskDefinition: aws.String(req.TaskDefinition),
		Count:          aws.Int32(1),
		StartedBy:      aws.String("pulumi-migrate"),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: req.Subnets, SecurityGroups: req.SecurityGroups, AssignPublicIp: assign,
		}},
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
			Name: aws.String(req.MigrationContainer), Command: req.MigrationCommand,
		}}},
	}
	if req.CapacityProvider != "" {
		in.CapacityProviderStrategy = []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String(req.CapacityProvider), Weight: 1}}
	} else {
		in.LaunchType = ecstypes.LaunchTypeFargate
	}
	if req.PlatformVersion != "" {
		in.PlatformVersion = aws.String(req.PlatformVersion)
	}
	ro.Log.Info(fmt.Sprintf("running migration task: %s", strings.Join(req.MigrationCommand, " ")))
	out, err := ro.ECS.RunTask(ctx, in)
	if err != nil {
		return fmt.Errorf("failed to run migration task: %w", err)
	}
	if len(out.Failures) > 0 {
		f := out.Failures[0]
		return fmt.Errorf("failed to run migration task: %s %s", aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	if len(out.Tasks) == 0 {
		return fmt.Errorf("failed to run migration task: ECS started no task")
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	for {
		d, err := ro.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(req.Cluster), Tasks: []string{arn}})
		if err != nil {
			return fmt.Errorf("failed to describe migration task %s: %w", arn, err)
		}
		if len(d.Tasks) == 0 || aws.ToString(d.Tasks[0].LastStatus) != "STOPPED" {
			if err := ro.sleep(ctx); err != nil {
				return fmt.Errorf("migration task %s did not finish: %w", arn, err)
			}
			continue
		}
		task := d.Tasks[0]
		for _, c := range task.Containers {
			if aws.ToString(c.Name) != req.MigrationContainer {
				continue
			}
			if c.ExitCode == nil {
				return fmt.Errorf("migration task %s stopped without an exit code: %s %s", arn, aws.ToString(task.StoppedReason), aws.ToString(c.Reason))
			}
			if *c.ExitCode != 0 {
				return fmt.Errorf("migration task %s exited with code %d (%s); nothing was deployed", arn, *c.ExitCode, aws.ToString(task.StoppedReason))
			}
			ro.Log.Info(fmt.Sprintf("migration task %s exited 0", arn))
			return nil
		}
		return fmt.Errorf("migration task %s has no container %s", arn, req.MigrationContainer)
	}
}
