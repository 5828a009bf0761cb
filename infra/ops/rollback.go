package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"ecs-bluegreen/infra/rollout"
)

// RollbackResult is what a rollback did.
type RollbackResult struct {
	// Stopped is the deployment under way that was stopped with rollback ("" when
	// none was); Followed is CodeDeploy's own rollback, under way when the command
	// started, that it followed instead of deploying anything.
	Stopped  string `json:"stopped,omitempty"`
	Followed string `json:"followed,omitempty"`
	// Record is what now makes `pulumi up` refuse the rolled-back revision.
	Record rollout.RollbackRecord `json:"record"`
}

func cdStatus(s string) cdtypes.DeploymentStatus { return cdtypes.DeploymentStatus(s) }

// Rollback makes the previous revision serve again, without a rebuild:
//   - a deployment under way is stopped with rollback and the rollback followed;
//   - CodeDeploy's own rollback under way is followed (it already restores the
//     previous revision: deploying another one would go a revision too far);
//   - otherwise the revision that served before this one (the newest earlier
//     succeeded deployment of another revision, or the first revision ECS
//     started; never one a rollback took out) goes out as a CodeDeploy
//     deployment on the network the service has now, followed as `pulumi up`
//     follows its own, with the stack's rolloutTimeoutMinutes (timeout, when
//     given, instead) and acceptTrafficShifted.
//
// The rollback is recorded in the rollout's state before anything is changed,
// as pending, and completed once it is seen to end: an interrupted command, a
// lost terminal or a timeout leave CodeDeploy carrying on and `pulumi up`
// already refusing the rolled-back revision. The stack is then deliberately
// behind its code until it declares another revision or the record is cleared
// (Unblock). A rollback is never stopped on timeout: that would deploy the
// rolled-back revision again.
func (o *Ops) Rollback(ctx context.Context, st Stack, timeout time.Duration) (*RollbackResult, error) {
	ro := o.Rollout
	history, err := ro.History(ctx, st.Application, st.DeploymentGroup, 50)
	if err != nil {
		return nil, err
	}
	for _, d := range history { // newest first: at most one is active in a group
		if !rollout.Active(cdStatus(d.Status)) {
			continue
		}
		if d.Creator == string(cdtypes.DeploymentCreatorCodeDeployRollback) {
			return o.followAutoRollback(ctx, st, d, history)
		}
		return o.stopUnderWay(ctx, st, d)
	}
	state, err := rollout.ReadState(ctx, ro.State, st.StateParameter)
	if err != nil {
		return nil, err
	}
	serving, err := ro.Serving(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	previous, spec, err := o.previous(ctx, st, serving, history, state)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "rolling %s back from %s to %s\n", st.Service, short(serving.TaskDefinition), short(previous))
	if timeout <= 0 {
		timeout = st.Timeout
	}
	req := rollout.Request{
		Stack: st.Name, Application: st.Application, DeploymentGroup: st.DeploymentGroup,
		Cluster: st.Cluster, Service: st.Service, TaskDefinition: previous,
		ContainerName: serving.ContainerName, ContainerPort: serving.ContainerPort,
		Subnets: serving.Subnets, SecurityGroups: serving.SecurityGroups, AssignPublicIP: serving.AssignPublicIP,
		PlatformVersion: "LATEST", CapacityProvider: serving.CapacityProvider,
		StateParameter: st.StateParameter, ActivePolicy: rollout.WaitForActive,
		Timeout: timeout, AcceptTrafficShifted: st.AcceptTrafficShifted, TargetGroups: serving.TargetGroups,
	}
	if spec != nil { // the revision as it was deployed: its nginx port and hooks
		for _, res := range spec.Resources {
			if t, ok := res["TargetService"]; ok {
				req.ContainerName, req.ContainerPort = t.Properties.LoadBalancerInfo.ContainerName, t.Properties.LoadBalancerInfo.ContainerPort
			}
		}
		req.Hooks = map[string]string{}
		for _, h := range spec.Hooks {
			for event, fn := range h {
				req.Hooks[event] = fn
			}
		}
	}
	rec := rollout.RollbackRecord{From: serving.TaskDefinition, To: previous, At: time.Now().UTC(), By: o.caller(ctx), Pending: true}
	rec.Image, req.Image = o.images(ctx, st, rec.From, previous)
	before := state
	if err := o.record(ctx, st, rec); err != nil {
		return nil, err
	}
	res, err := ro.Run(ctx, req)
	if err != nil {
		if res.DeploymentID == "" { // nothing was deployed: the record goes
			if werr := rollout.WriteState(context.WithoutCancel(ctx), ro.State, st.StateParameter, before); werr != nil {
				err = fmt.Errorf("%w (and removing the pending rollback record failed: %v)", err, werr)
			}
		} else {
			rec.Deployment = res.DeploymentID
			o.record(context.WithoutCancel(ctx), st, rec) // the pending record names the deployment
			err = fmt.Errorf("%w; the record refuses %s meanwhile", err, short(rec.From))
		}
		return nil, &Failed{fmt.Errorf("rollback to %s: %w", short(previous), err)}
	}
	rec.Deployment, rec.Pending = res.DeploymentID, false
	return &RollbackResult{Record: rec}, o.complete(ctx, st, rec)
}

// images reads the app images of the rolled-back revision and its replacement:
// the record refuses from's image too when the rollback takes that build out.
func (o *Ops) images(ctx context.Context, st Stack, from, to string) (blocked, toImage string) {
	if st.AppContainer == "" {
		return "", ""
	}
	fromImage, err := o.Rollout.AppImage(ctx, from, st.AppContainer)
	if err != nil {
		fmt.Fprintf(o.Out, "warning: %v: the record refuses revision %s only\n", err, short(from))
		return "", ""
	}
	toImage, err = o.Rollout.AppImage(ctx, to, st.AppContainer)
	if err != nil || toImage == fromImage {
		return "", toImage // the same build: something else was wrong, the revision is refused
	}
	return fromImage, toImage
}

// previous is the revision that served before the serving one, and the AppSpec it
// was deployed with (nil for the first revision, which no deployment made).
// Revisions a rollback took out are passed over: a second rollback goes further
// back, not to the revision the first one removed.
func (o *Ops) previous(ctx context.Context, st Stack, serving rollout.Serving, history []rollout.Deployment, state rollout.State) (string, *rollout.AppSpec, error) {
	var servedSince *time.Time
	for _, d := range history {
		if d.ID == serving.DeploymentID {
			servedSince = d.Created
		}
	}
	for _, d := range history {
		earlier := servedSince == nil || (d.Created != nil && d.Created.Before(*servedSince))
		if d.Status == string(cdtypes.DeploymentStatusSucceeded) && d.TaskDefinition != "" && d.TaskDefinition != serving.TaskDefinition && earlier && !state.RolledBack(d.TaskDefinition) {
			return d.TaskDefinition, d.Spec, nil
		}
	}
	if j := state.Judged; j != nil && j.TaskDefinition != serving.TaskDefinition && !state.RolledBack(j.TaskDefinition) {
		return j.TaskDefinition, nil, nil
	}
	return "", nil, failed("%s serves %s and no earlier revision served before it that was not rolled back (no earlier succeeded deployment, and it is not after the first revision): nothing to roll back to", st.Service, short(serving.TaskDefinition))
}

// stopUnderWay stops a deployment under way with rollback and follows the rollback.
func (o *Ops) stopUnderWay(ctx context.Context, st Stack, d rollout.Deployment) (*RollbackResult, error) {
	state, err := rollout.ReadState(ctx, o.Rollout.State, st.StateParameter)
	if err != nil {
		return nil, err
	}
	rec := rollout.RollbackRecord{From: d.TaskDefinition, At: time.Now().UTC(), By: o.caller(ctx), Pending: true}
	if err := o.record(ctx, st, rec); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "stopping deployment %s of %s with rollback\n", d.ID, short(d.TaskDefinition))
	rb, status, err := o.Rollout.StopAndFollow(ctx, d.ID)
	var completed *rollout.CompletedError
	if errors.As(err, &completed) { // nothing was rolled back: no record
		if werr := rollout.WriteState(context.WithoutCancel(ctx), o.Rollout.State, st.StateParameter, state); werr != nil {
			err = fmt.Errorf("%w (and removing the pending rollback record failed: %v)", err, werr)
		}
		return nil, &Failed{err}
	}
	return o.followed(ctx, st, rec, rb, status, err, &RollbackResult{Stopped: d.ID})
}

// followAutoRollback follows CodeDeploy's own rollback of a failed or stopped
// deployment and records the revision that deployment brought.
func (o *Ops) followAutoRollback(ctx context.Context, st Stack, rb rollout.Deployment, history []rollout.Deployment) (*RollbackResult, error) {
	from := ""
	for _, d := range history {
		if d.ID == rb.RollbackOf {
			from = d.TaskDefinition
		}
	}
	if from == "" && rb.RollbackOf != "" {
		if d, err := o.Rollout.Describe(ctx, st.Application, rb.RollbackOf); err == nil {
			from = d.TaskDefinition
		}
	}
	rec := rollout.RollbackRecord{From: from, Deployment: rb.ID, At: time.Now().UTC(), By: o.caller(ctx), Pending: true}
	if err := o.record(ctx, st, rec); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "CodeDeploy is already rolling back deployment %s (of %s): following its rollback %s\n", rb.RollbackOf, short(from), rb.ID)
	status, err := o.Rollout.FollowDeployment(ctx, rb.ID)
	return o.followed(ctx, st, rec, rb.ID, status, err, &RollbackResult{Followed: rb.ID})
}

// followed completes the record of a rollback deployment that was followed, or
// says why it is left pending.
func (o *Ops) followed(ctx context.Context, st Stack, rec rollout.RollbackRecord, rb string, status cdtypes.DeploymentStatus, err error, res *RollbackResult) (*RollbackResult, error) {
	rec.Deployment = rb
	if err != nil {
		o.record(context.WithoutCancel(ctx), st, rec) // keep the rollback's id beside the pending record
		return nil, &Failed{fmt.Errorf("%w; CodeDeploy carries on, and the record refuses %s meanwhile", err, short(rec.From))}
	}
	if status != cdtypes.DeploymentStatusSucceeded {
		return nil, failed("rollback %s ended %s: check the service (the record refuses %s)", rb, status, short(rec.From))
	}
	serving, err := o.Rollout.Serving(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	rec.To, rec.Pending = serving.TaskDefinition, false
	if rec.From != "" {
		rec.Image, _ = o.images(ctx, st, rec.From, rec.To)
	}
	res.Record = rec
	return res, o.complete(ctx, st, rec)
}

// record writes a rollback record into the rollout's state, read afresh.
func (o *Ops) record(ctx context.Context, st Stack, rec rollout.RollbackRecord) error {
	if rec.From == "" { // a deployment whose revision is not ours to read
		return nil
	}
	state, err := rollout.ReadState(ctx, o.Rollout.State, st.StateParameter)
	if err != nil {
		return err
	}
	state.Record(rec)
	if err := rollout.WriteState(ctx, o.Rollout.State, st.StateParameter, state); err != nil {
		return fmt.Errorf("recording the rollback of %s failed: %w", short(rec.From), err)
	}
	return nil
}

// complete writes the final record once the rollback was seen to end.
func (o *Ops) complete(ctx context.Context, st Stack, rec rollout.RollbackRecord) error {
	if rec.From == "" {
		return failed("rolled back to %s, but the rolled-back revision is not one this program can read: nothing is recorded, and `pulumi up` may deploy it again", short(rec.To))
	}
	if err := o.record(context.WithoutCancel(ctx), st, rec); err != nil {
		return &Failed{fmt.Errorf("rolled back to %s; the record still says pending: %w", short(rec.To), err)}
	}
	return nil
}

// caller is who acts, as AWS names them ("" when it cannot tell).
func (o *Ops) caller(ctx context.Context) string {
	if o.STS == nil {
		return ""
	}
	out, err := o.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return ""
	}
	return aws.ToString(out.Arn)
}
