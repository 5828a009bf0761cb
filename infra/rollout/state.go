package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// StateStore is the part of SSM the rollout keeps its state in.
type StateStore interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(context.Context, *ssm.PutParameterInput, ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// State is what the rollout remembers between runs, in an SSM String parameter
// that Pulumi does not manage (so neither a refresh nor an update removes it): the
// judgement of the first revision, which ECS started without a deployment, and a
// rollback made by hand that `pulumi up` must not quietly undo. ECS task sets
// cannot carry it: TagResource's API reference does not list them as taggable.
type State struct {
	// Judged is the first task set, judged healthy (its ARN).
	Judged *Judgement `json:"judged,omitempty"`
	// Rollback is set by the day-N rollback command: From no longer serves, and an
	// `up` that declares it again is refused until the declared revision changes
	// or the record is cleared.
	Rollback *RollbackRecord `json:"rollback,omitempty"`
}

// Judgement records that the first task set was judged healthy.
type Judgement struct {
	TaskSet        string    `json:"taskSet"`
	TaskDefinition string    `json:"taskDefinition"`
	At             time.Time `json:"at"`
}

// RollbackRecord records a rollback of the serving revision.
type RollbackRecord struct {
	From       string    `json:"from"`       // the rolled-back task definition
	To         string    `json:"to"`         // what serves instead
	Deployment string    `json:"deployment"` // the deployment that made To serve
	At         time.Time `json:"at"`
	By         string    `json:"by,omitempty"` // who, as AWS named the caller
}

// judged tells whether taskSet is the judged first task set.
func (s State) judged(taskSet string) bool { return s.Judged != nil && s.Judged.TaskSet == taskSet }

// Blocks tells whether the record refuses a deployment of td.
func (s State) Blocks(td string) bool { return s.Rollback != nil && s.Rollback.From == td }

// BlockedError is the refusal of a rolled-back revision.
type BlockedError struct {
	Service string
	Record  RollbackRecord
	// Clear is the command that clears the record.
	Clear string
}

func (e *BlockedError) Error() string {
	r := e.Record
	msg := fmt.Sprintf("revision %s of service %s was rolled back at %s (to %s by deployment %s)",
		shortARN(r.From), e.Service, r.At.UTC().Format(time.RFC3339), shortARN(r.To), r.Deployment)
	if r.By != "" {
		msg += " by " + r.By
	}
	msg += "; it is not deployed again: change the code (a new build makes a new revision)"
	if e.Clear != "" {
		msg += ", or clear the record with `" + e.Clear + "`"
	}
	return msg
}

// ReadState reads the state parameter; a missing parameter is the empty state.
func ReadState(ctx context.Context, store StateStore, name string) (State, error) {
	var s State
	if store == nil || name == "" {
		return s, nil
	}
	out, err := store.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var missing *ssmtypes.ParameterNotFound
	if errors.As(err, &missing) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("failed to read the rollout's state %s: %w", name, err)
	}
	if out.Parameter == nil {
		return s, nil
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Parameter.Value)), &s); err != nil {
		return s, fmt.Errorf("rollout state %s is not ours (%v): delete it to start afresh", name, err)
	}
	return s, nil
}

// WriteState replaces the state parameter.
func WriteState(ctx context.Context, store StateStore, name string, s State) error {
	if store == nil || name == "" {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = store.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(string(b)), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
		Description: aws.String("ecs-bluegreen rollout state: the judged first revision and rollbacks made by hand (written by the rollout, not by Pulumi)"),
	})
	if err != nil {
		return fmt.Errorf("failed to write the rollout's state %s: %w", name, err)
	}
	return nil
}
