package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"ecs-bluegreen/infra/rollout"
)

// RunResult is a one-off task's end.
type RunResult struct {
	Task           string `json:"task"`
	TaskDefinition string `json:"taskDefinition"`
	Container      string `json:"container"`
	ExitCode       int    `json:"exitCode"`
	StopCode       string `json:"stopCode"`
	Reason         string `json:"reason"`
}

// Run runs command once in container of the serving revision — in the service's
// subnets and security groups, on its capacity provider — prints the container's
// log lines as they arrive, and returns when the task stopped. A non-zero exit is
// a Failed error. Cancelling ctx (Ctrl-C) stops the task.
func (o *Ops) Run(ctx context.Context, st Stack, container string, command []string, timeout time.Duration) (*RunResult, error) {
	serving, err := o.Rollout.Serving(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	assign := ecstypes.AssignPublicIpDisabled
	if serving.AssignPublicIP {
		assign = ecstypes.AssignPublicIpEnabled
	}
	in := &ecs.RunTaskInput{
		Cluster: aws.String(st.Cluster), TaskDefinition: aws.String(serving.TaskDefinition), Count: aws.Int32(1),
		StartedBy: aws.String("ops-run"),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: serving.Subnets, SecurityGroups: serving.SecurityGroups, AssignPublicIp: assign,
		}},
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String(container), Command: command}}},
	}
	if serving.CapacityProvider != "" {
		in.CapacityProviderStrategy = []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String(serving.CapacityProvider), Weight: 1}}
	} else {
		in.LaunchType = ecstypes.LaunchTypeFargate
	}
	out, err := o.ECS.RunTask(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("failed to run a task of %s: %w", short(serving.TaskDefinition), err)
	}
	if len(out.Failures) > 0 {
		return nil, fmt.Errorf("failed to run a task of %s: %s %s", short(serving.TaskDefinition), aws.ToString(out.Failures[0].Reason), aws.ToString(out.Failures[0].Detail))
	}
	if len(out.Tasks) == 0 {
		return nil, fmt.Errorf("failed to run a task of %s: ECS started none", short(serving.TaskDefinition))
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	fmt.Fprintf(o.Out, "task %s of %s: %s\n", rollout.TaskID(arn), short(serving.TaskDefinition), strings.Join(command, " "))
	streams := rollout.LogStreams(ctx, o.ECS, serving.TaskDefinition)
	tail := &tailer{o: o, stream: streams[container], task: rollout.TaskID(arn)}
	if timeout <= 0 {
		timeout = time.Hour
	}
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		d, err := o.ECS.DescribeTasks(waitCtx, &ecs.DescribeTasksInput{Cluster: aws.String(st.Cluster), Tasks: []string{arn}})
		if err == nil && len(d.Tasks) > 0 && aws.ToString(d.Tasks[0].LastStatus) == "STOPPED" {
			// The last lines may reach CloudWatch Logs after the task stopped: read,
			// wait a poll, read again.
			tail.read(ctx)
			if o.sleep(ctx) == nil {
				tail.read(ctx)
			}
			return o.ended(d.Tasks[0], serving.TaskDefinition, container)
		}
		if err == nil {
			tail.read(waitCtx)
			err = o.sleep(waitCtx)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				why := "interrupted"
				if ctx.Err() == nil {
					why = fmt.Sprintf("still running after %s", timeout)
				}
				if _, serr := o.ECS.StopTask(stopCtx, &ecs.StopTaskInput{Cluster: aws.String(st.Cluster), Task: aws.String(arn), Reason: aws.String("ops run " + why)}); serr != nil {
					return nil, fmt.Errorf("task %s %s, and stopping it failed (aws ecs stop-task --cluster %s --task %s): %w", arn, why, st.Cluster, arn, serr)
				}
				return nil, &Failed{fmt.Errorf("task %s %s: stopped it", arn, why)}
			}
			return nil, fmt.Errorf("failed to follow task %s, which may still run (see it with `aws ecs describe-tasks --cluster %s --tasks %s`, stop it with `aws ecs stop-task --cluster %s --task %s`): %w", arn, st.Cluster, arn, st.Cluster, arn, err)
		}
	}
}

// ended reads a stopped one-off task's verdict.
func (o *Ops) ended(t ecstypes.Task, td, container string) (*RunResult, error) {
	res := &RunResult{Task: aws.ToString(t.TaskArn), TaskDefinition: td, Container: container, StopCode: string(t.StopCode), Reason: aws.ToString(t.StoppedReason), ExitCode: -1}
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == container && c.ExitCode != nil {
			res.ExitCode = int(*c.ExitCode)
		}
	}
	switch res.ExitCode {
	case 0:
		return res, nil
	case -1:
		return res, failed("task %s stopped without an exit code of %s: %s: %s", res.Task, container, res.StopCode, res.Reason)
	}
	return res, failed("%s exited with code %d", container, res.ExitCode)
}

// tailer prints a task's container log lines once each, as they arrive.
type tailer struct {
	o      *Ops
	stream rollout.LogStream
	task   string
	token  *string
	warned bool // a read failed for another reason than a stream not there yet
}

func (t *tailer) read(ctx context.Context) {
	if t.o.Rollout.Logs == nil || t.stream.Group() == "" {
		return
	}
	// A page may be empty while more follow; the end of the stream is the forward
	// token coming back unchanged (GetLogEvents API reference). Bounded per read.
	for range 100 {
		out, err := t.o.Rollout.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(t.stream.Group()), LogStreamName: aws.String(t.stream.Stream(t.task)),
			StartFromHead: aws.Bool(true), NextToken: t.token,
		})
		if err != nil {
			// The stream appears once the container logs its first line; any other
			// refusal (AccessDenied, a throttle past retries) is said once.
			var missing *logstypes.ResourceNotFoundException
			if !errors.As(err, &missing) && ctx.Err() == nil && !t.warned {
				t.warned = true
				fmt.Fprintf(t.o.Out, "warning: this command cannot read its logs (task %s, %s %s), so its output is not shown: %v\n", t.task, t.stream.Group(), t.stream.Stream(t.task), err)
			}
			return
		}
		for _, e := range out.Events {
			fmt.Fprintln(t.o.Out, strings.TrimRight(aws.ToString(e.Message), "\n"))
		}
		same := out.NextForwardToken == nil || aws.ToString(out.NextForwardToken) == aws.ToString(t.token)
		t.token = out.NextForwardToken
		if same {
			return
		}
	}
}
