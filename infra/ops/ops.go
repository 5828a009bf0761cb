// Package ops holds the day-N operations on a live stack — what serves, rolling
// back without a rebuild, one-off commands of the serving revision, and its logs.
// It acts through the rollout's clients and views (infra/rollout), as the same
// identity as the stack's provider, so it sees and changes exactly what `pulumi
// up` would.
package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"ecs-bluegreen/infra/rollout"
)

// Stack names what the commands act on: from the stack's outputs and config.
type Stack struct {
	Name            string // the Pulumi stack
	Cluster         string
	Service         string
	Application     string
	DeploymentGroup string
	// Declared is the task definition the stack's code declares (its
	// taskDefinitionArn output).
	Declared string
	// StateParameter is the rollout's state (infra.StateParameter).
	StateParameter string
	// AppContainer is the container whose image is the build (infra.AppContainer):
	// a rollback refuses that image too.
	AppContainer string
	// Timeout and AcceptTrafficShifted follow a rollback deployment as `pulumi up`
	// follows its own (the stack's rolloutTimeoutMinutes and acceptTrafficShifted).
	Timeout              time.Duration
	AcceptTrafficShifted bool
}

// ECS is what the commands call on ECS beyond the rollout's calls.
type ECS interface {
	rollout.ECS
	StopTask(context.Context, *ecs.StopTaskInput, ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
}

// Caller tells who acts (the rollback record names them).
type Caller interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Ops performs the commands.
type Ops struct {
	// Rollout's clients and views: the commands see and follow deployments as
	// `pulumi up` does.
	Rollout *rollout.Rollout
	ECS     ECS
	STS     Caller
	// Out receives progress and log lines.
	Out io.Writer
	// Poll is the time between looks at a task or logs (default 2 s).
	Poll time.Duration
}

// New is an Ops on the rollout's clients, writing to out.
func New(c *rollout.Clients, out io.Writer) *Ops {
	o := &Ops{ECS: c.ECS, STS: c.STS, Out: out}
	o.Rollout = c.Rollout(lineLog{o})
	return o
}

// lineLog shows the rollout's progress lines on the Ops' Out.
type lineLog struct{ o *Ops }

func (l lineLog) Info(msg string) { fmt.Fprintln(l.o.Out, msg) }

func (o *Ops) poll() time.Duration {
	if o.Poll <= 0 {
		return 2 * time.Second
	}
	return o.Poll
}

func (o *Ops) sleep(ctx context.Context) error { return rollout.Sleep(ctx, o.poll()) }

// Failed is an operation that ran and failed (a rollback that did not restore the
// previous revision, a one-off command that exited non-zero): exit code 1. Any
// other error means the command could not run: exit code 2.
type Failed struct{ Err error }

func (f *Failed) Error() string { return f.Err.Error() }
func (f *Failed) Unwrap() error { return f.Err }

// ExitCode is the process exit code for an operation's error.
func ExitCode(err error) int {
	var failed *Failed
	switch {
	case err == nil:
		return 0
	case errors.As(err, &failed):
		return 1
	}
	return 2
}

func failed(format string, args ...any) error { return &Failed{fmt.Errorf(format, args...)} }

// Unblock clears the rollback records: the next `pulumi up` deploys the declared
// revision again, the rolled-back one included. The revisions rollbacks took out
// without a record left, or could not bring back, stay among those a rollback
// passes over (it says which): a successful deployment of one clears it.
func (o *Ops) Unblock(ctx context.Context, st Stack) (*rollout.RollbackRecord, error) {
	state, err := rollout.ReadState(ctx, o.Rollout.State, st.StateParameter)
	if err != nil {
		return nil, err
	}
	var cleared *rollout.RollbackRecord
	if state.Rollback != nil {
		cleared = state.Forget()
		if err := rollout.WriteState(ctx, o.Rollout.State, st.StateParameter, state, o.Rollout.Log); err != nil {
			return nil, err
		}
	}
	if len(state.Removed) > 0 { // not records: nothing refuses them, a rollback only passes over them
		fmt.Fprintf(o.Out, "a rollback still passes over %s (revisions a rollback took out or could not bring back), until a successful deployment of each\n", shortList(state.Removed))
	}
	return cleared, nil
}
