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

// RollbackOptions shape a rollback.
type RollbackOptions struct {
	// Timeout bounds following the rollback deployment (0: the stack's
	// rolloutTimeoutMinutes). It is never stopped on timeout.
	Timeout time.Duration
	// Previous also takes out the serving revision when CodeDeploy has already
	// rolled a failed deployment back (without it, that rollback is recorded and
	// nothing more is deployed).
	Previous bool
}

// RollbackResult is what a rollback did.
type RollbackResult struct {
	// Stopped is the deployment under way that was stopped with rollback;
	// Followed a rollback under way that the command followed instead of deploying
	// anything (CodeDeploy's own, or an earlier command's); AlreadyRolledBack the
	// deployment CodeDeploy had already rolled back ("" when none).
	Stopped           string `json:"stopped,omitempty"`
	Followed          string `json:"followed,omitempty"`
	AlreadyRolledBack string `json:"alreadyRolledBack,omitempty"`
	// Record is what now makes `pulumi up` refuse the rolled-back revision.
	Record rollout.RollbackRecord `json:"record"`
}

func cdStatus(s string) cdtypes.DeploymentStatus { return cdtypes.DeploymentStatus(s) }

const rollbackCreator = string(cdtypes.DeploymentCreatorCodeDeployRollback)

// Rollback makes the previous revision serve again, without a rebuild:
//   - a rollback under way — CodeDeploy's own, or this command's from an earlier
//     run that was interrupted or timed out — is followed, never stopped
//     (stopping a rollback with rollback would put the rolled-back revision back);
//   - any other deployment under way is stopped with rollback, and the rollback
//     followed;
//   - a deployment CodeDeploy has already rolled back (a failed `pulumi up`) is
//     recorded, and nothing more is deployed unless opts.Previous: the previous
//     revision already serves;
//   - otherwise the revision that served before this one (the newest earlier
//     succeeded deployment of another revision, or the first revision ECS
//     started; never one a rollback took out) goes out as a CodeDeploy
//     deployment on the network the service has now, followed as `pulumi up`
//     follows its own, with the stack's rolloutTimeoutMinutes and
//     acceptTrafficShifted.
//
// The rollback is recorded in the rollout's state before anything is changed,
// as pending, and completed once it is seen to end: an interrupted command, a
// lost terminal or a timeout leave CodeDeploy carrying on and `pulumi up`
// already refusing the rolled-back revision; running the command again follows
// the rollback and completes the record. The stack is then deliberately behind
// its code until it declares another revision or the record is cleared
// (Unblock).
func (o *Ops) Rollback(ctx context.Context, st Stack, opts RollbackOptions) (*RollbackResult, error) {
	ro := o.Rollout
	history, err := ro.History(ctx, st.Application, st.DeploymentGroup, 50)
	if err != nil {
		return nil, err
	}
	state, err := rollout.ReadState(ctx, ro.State, st.StateParameter)
	if err != nil {
		return nil, err
	}
	serving, err := ro.Serving(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	for _, d := range history { // what serves, and what is under way, must be known
		if d.Unreadable != "" && (d.ID == serving.DeploymentID || rollout.Active(cdStatus(d.Status))) {
			return nil, fmt.Errorf("cannot roll back without the revision of deployment %s (%s): %s", d.ID, d.Status, d.Unreadable)
		}
	}
	r := &rollback{o: o, st: st, history: history, state: state, serving: serving, timeout: opts.Timeout}
	if r.timeout <= 0 {
		r.timeout = st.Timeout
	}
	r.adopt()
	rec := r.state.Rollback
	for _, d := range history { // newest first: at most one is active in a group
		if !rollout.Active(cdStatus(d.Status)) {
			continue
		}
		switch {
		case d.Creator == rollbackCreator:
			return r.followCodeDeploys(ctx, d)
		case rollout.IsOpsRollback(d.Description) || (rec != nil && rec.Pending && d.ID == rec.Deployment):
			return r.followOwn(ctx, d)
		}
		return r.stopUnderWay(ctx, d)
	}
	if rec != nil && rec.Pending && rec.Deployment != "" { // it ended since
		return r.completePending(ctx)
	}
	if len(history) > 0 && !opts.Previous {
		if h := history[0]; h.Creator == rollbackCreator && h.Status == string(cdtypes.DeploymentStatusSucceeded) {
			return r.alreadyRolledBack(ctx, h)
		}
	}
	return r.deployPrevious(ctx)
}

// rollback is one run of the command: what it read first.
type rollback struct {
	o       *Ops
	st      Stack
	history []rollout.Deployment
	state   rollout.State
	serving rollout.Serving
	timeout time.Duration
}

// find is a deployment of the history, read if it is older than that.
func (r *rollback) find(ctx context.Context, id string) rollout.Deployment {
	for _, d := range r.history {
		if d.ID == id {
			return d
		}
	}
	d, _ := r.o.Rollout.Describe(ctx, r.st.Application, id)
	return d
}

// adopt gives a pending record whose deployment id was never written (the
// command was killed between CreateDeployment and the write) the day-N rollback
// deployment of its To that started after it.
func (r *rollback) adopt() {
	rec := r.state.Rollback
	if rec == nil || !rec.Pending || rec.Deployment != "" {
		return
	}
	for _, d := range r.history { // newest first
		if rollout.IsOpsRollback(d.Description) && d.TaskDefinition == rec.To && d.Created != nil && !d.Created.Before(rec.At.Add(-time.Minute)) {
			adopted := *rec
			adopted.Deployment = d.ID
			r.state.Rollback = &adopted
			return
		}
	}
}

// restores is what a rollback of from makes serve: what serves now, unless from
// already took the traffic (its termination wait), then the revision before.
func (r *rollback) restores(ctx context.Context, from string) string {
	if r.serving.TaskDefinition != from {
		return r.serving.TaskDefinition
	}
	td, _, _ := r.o.previous(ctx, r.st, r.serving, r.history, r.state)
	return td
}

// newRecord is a pending record of a rollback of from to to, and to's app image.
func (r *rollback) newRecord(ctx context.Context, from, to, deployment string) (rollout.RollbackRecord, string) {
	rec := rollout.RollbackRecord{From: from, To: to, Deployment: deployment, At: time.Now().UTC(), By: r.o.caller(ctx), Pending: true}
	var toImage string
	rec.Image, toImage = r.o.images(ctx, r.st, from, to)
	return rec, toImage
}

// deployPrevious deploys the revision that served before the serving one.
func (r *rollback) deployPrevious(ctx context.Context) (*RollbackResult, error) {
	o, st, serving := r.o, r.st, r.serving
	previous, spec, err := o.previous(ctx, st, serving, r.history, r.state)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "rolling %s back from %s to %s\n", st.Service, short(serving.TaskDefinition), short(previous))
	req := rollout.Request{
		Stack: st.Name, Application: st.Application, DeploymentGroup: st.DeploymentGroup,
		Cluster: st.Cluster, Service: st.Service, TaskDefinition: previous,
		ContainerName: serving.ContainerName, ContainerPort: serving.ContainerPort,
		Subnets: serving.Subnets, SecurityGroups: serving.SecurityGroups, AssignPublicIP: serving.AssignPublicIP,
		PlatformVersion: "LATEST", CapacityProvider: serving.CapacityProvider,
		StateParameter: st.StateParameter, ActivePolicy: rollout.WaitForActive,
		Timeout: r.timeout, AcceptTrafficShifted: st.AcceptTrafficShifted, TargetGroups: serving.TargetGroups,
		Caller: rollout.OpsRollback, FollowHint: r.followHint(),
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
	rec, toImage := r.newRecord(ctx, serving.TaskDefinition, previous, "")
	req.Image = toImage
	if err := o.record(ctx, st, rec); err != nil {
		return nil, err
	}
	res, err := o.Rollout.Run(ctx, req)
	if err != nil {
		var blocked *rollout.BlockedError
		if res.DeploymentID == "" || errors.As(err, &blocked) { // nothing was deployed: the record goes
			return nil, &Failed{fmt.Errorf("rollback to %s: %w", short(previous), r.restore(ctx, err))}
		}
		rec.Deployment = res.DeploymentID
		if d := r.find(context.WithoutCancel(ctx), res.DeploymentID); d.Status == string(cdtypes.DeploymentStatusFailed) || d.Status == string(cdtypes.DeploymentStatusStopped) {
			return nil, r.failedRollback(ctx, rec, d, err)
		}
		if werr := o.record(context.WithoutCancel(ctx), st, rec); werr != nil { // the pending record names the deployment
			fmt.Fprintf(o.Out, "warning: %v\n", werr)
		}
		return nil, &Failed{fmt.Errorf("rollback to %s: %w; the record refuses %s meanwhile", short(previous), err, short(rec.From))}
	}
	rec.Deployment, rec.Pending = res.DeploymentID, false
	return &RollbackResult{Record: rec}, o.complete(ctx, st, rec)
}

// followHint is what to do about a rollback left running.
func (r *rollback) followHint() string {
	return fmt.Sprintf("run `go run ./cmd/ops rollback -stack %s` again to follow it to its end and complete the record, or see it with `go run ./cmd/ops status -stack %s`; do not stop it (that would put the rolled-back revision back)", r.st.Name, r.st.Name)
}

// restore puts the state back as it was before this run (nothing was rolled
// back), and says so beside err.
func (r *rollback) restore(ctx context.Context, err error) error {
	if werr := rollout.WriteState(context.WithoutCancel(ctx), r.o.Rollout.State, r.st.StateParameter, r.state, r.o.Rollout.Log); werr != nil {
		return fmt.Errorf("%w (and removing the pending rollback record failed: %v)", err, werr)
	}
	return err
}

// stopUnderWay stops a deployment under way with rollback and follows the rollback.
func (r *rollback) stopUnderWay(ctx context.Context, d rollout.Deployment) (*RollbackResult, error) {
	o := r.o
	rec, _ := r.newRecord(ctx, d.TaskDefinition, r.restores(ctx, d.TaskDefinition), "")
	if err := o.record(ctx, r.st, rec); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "stopping deployment %s of %s with rollback\n", d.ID, short(d.TaskDefinition))
	rb, status, err := o.Rollout.StopAndFollow(ctx, d.ID)
	var completed *rollout.CompletedError
	var refused *rollout.StopRefusedError
	switch {
	case errors.As(err, &completed): // nothing was rolled back: no record
		return nil, &Failed{r.restore(ctx, err)}
	case errors.As(err, &refused): // nothing was stopped
		return nil, r.restore(ctx, fmt.Errorf("deployment %s was not stopped (it goes on): %w", d.ID, err))
	}
	return r.followed(ctx, rec, rb, status, err, &RollbackResult{Stopped: d.ID})
}

// followCodeDeploys follows CodeDeploy's own rollback of a failed or stopped
// deployment and records that deployment's revision; when the rolled-back
// deployment was a day-N rollback, that rollback failed.
func (r *rollback) followCodeDeploys(ctx context.Context, d rollout.Deployment) (*RollbackResult, error) {
	failedOne := r.find(ctx, d.RollbackOf)
	if rollout.IsOpsRollback(failedOne.Description) && r.state.Rollback != nil {
		fmt.Fprintf(r.o.Out, "the rollback deployment %s (to %s) failed, and CodeDeploy is rolling it back (%s): following it\n", failedOne.ID, short(failedOne.TaskDefinition), d.ID)
		fctx, cancel := r.following(ctx)
		defer cancel()
		if _, _, err := r.o.Rollout.FollowDeployment(fctx, d.ID, false); err != nil {
			return nil, &Failed{fmt.Errorf("following %s: %w", d.ID, err)}
		}
		return nil, r.failedRollback(ctx, *r.state.Rollback, failedOne, nil)
	}
	from := failedOne.TaskDefinition
	if failedOne.Unreadable != "" { // what to record is unknown: the rollback goes on in CodeDeploy
		return nil, fmt.Errorf("CodeDeploy is rolling back deployment %s (its rollback %s goes on), whose revision could not be read (%s); run the command again", d.RollbackOf, d.ID, failedOne.Unreadable)
	}
	rec, _ := r.newRecord(ctx, from, r.restores(ctx, from), d.ID)
	fmt.Fprintf(r.o.Out, "CodeDeploy is already rolling back deployment %s (of %s): following its rollback %s\n", d.RollbackOf, short(from), d.ID)
	if err := r.o.record(ctx, r.st, rec); err != nil {
		return nil, err
	}
	fctx, cancel := r.following(ctx)
	defer cancel()
	status, _, err := r.o.Rollout.FollowDeployment(fctx, d.ID, false)
	return r.followed(ctx, rec, d.ID, status, err, &RollbackResult{Followed: d.ID})
}

// following bounds following a deployment with the stack's rolloutTimeoutMinutes
// (or the command's -timeout).
func (r *rollback) following(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, r.timeout)
}

// followOwn follows a day-N rollback deployment under way (an earlier run's,
// interrupted or timed out, or in its termination wait): it is never stopped.
func (r *rollback) followOwn(ctx context.Context, d rollout.Deployment) (*RollbackResult, error) {
	rec := r.state.Rollback
	if rec == nil || rec.To != d.TaskDefinition { // the record was cleared or lost: rebuild it
		restored, _ := r.newRecord(ctx, r.serving.TaskDefinition, d.TaskDefinition, d.ID)
		if r.serving.TaskDefinition == d.TaskDefinition { // traffic moved already: what it replaced is unknown here
			restored.From, restored.Image = "", ""
		}
		rec = &restored
	}
	was := *rec
	was.Deployment = d.ID
	fmt.Fprintf(r.o.Out, "the rollback to %s (deployment %s) is still under way: following it (never stopping it)\n", short(d.TaskDefinition), d.ID)
	fctx, cancel := r.following(ctx)
	defer cancel()
	status, shifted, err := r.o.Rollout.FollowDeployment(fctx, d.ID, r.st.AcceptTrafficShifted)
	if err == nil && status != cdtypes.DeploymentStatusSucceeded {
		return nil, r.failedRollback(ctx, was, r.find(ctx, d.ID), nil)
	}
	res, err := r.followed(ctx, was, d.ID, status, err, &RollbackResult{Followed: d.ID})
	switch {
	case err != nil || rec.Pending: // an earlier run's rollback, now seen to its end
		return res, err
	case shifted:
		// ContinueDeployment with TERMINATION_WAIT ("the traffic is shifted, but
		// the original target is not terminated": ContinueDeploymentInput, CodeDeploy
		// API reference) ends the wait now.
		return nil, failed("rollback %s moved all traffic to %s and waits out the old tasks' termination; a rollback further back must wait for it to end (stopping it would put %s back): end the wait now with `aws deploy continue-deployment --deployment-id %s --deployment-wait-type TERMINATION_WAIT`, then run the command again", d.ID, short(d.TaskDefinition), short(rec.From), d.ID)
	}
	fmt.Fprintf(r.o.Out, "that rollback has ended; run the command again to roll back further\n")
	return res, nil
}

// failedRollback records a day-N rollback deployment that failed (CodeDeploy
// rolls it back, so the rolled-back revision serves again): the record keeps
// refusing it, and the revision that would not come back is passed over next
// time.
func (r *rollback) failedRollback(ctx context.Context, rec rollout.RollbackRecord, d rollout.Deployment, cause error) error {
	ctx = context.WithoutCancel(ctx)
	rec.To, rec.Pending, rec.Deployment = "", false, d.ID
	state, err := rollout.ReadState(ctx, r.o.Rollout.State, r.st.StateParameter)
	if err == nil {
		state.Record(rec)
		state.Remove(d.TaskDefinition)
		err = rollout.WriteState(ctx, r.o.Rollout.State, r.st.StateParameter, state, r.o.Rollout.Log)
	}
	msg := fmt.Sprintf("the rollback to %s failed (deployment %s %s", short(d.TaskDefinition), d.ID, d.Status)
	if d.Error != "" {
		msg += ": " + d.Error
	}
	msg += fmt.Sprintf("); CodeDeploy rolls it back, so %s serves again, and `pulumi up` still refuses it; run `go run ./cmd/ops rollback -stack %s -previous` to go back to the revision before %s", short(rec.From), r.st.Name, short(d.TaskDefinition))
	if cause != nil {
		msg += "\n" + cause.Error()
	}
	if err != nil {
		msg += fmt.Sprintf(" (recording it failed: %v)", err)
	}
	return &Failed{errors.New(msg)}
}

// completePending completes the record of an earlier run's rollback that has
// ended since.
func (r *rollback) completePending(ctx context.Context) (*RollbackResult, error) {
	rec := *r.state.Rollback
	d := r.find(ctx, rec.Deployment)
	fmt.Fprintf(r.o.Out, "the rollback of %s (deployment %s) ended %s since it was started\n", short(rec.From), rec.Deployment, d.Status)
	if d.Status == string(cdtypes.DeploymentStatusFailed) || d.Status == string(cdtypes.DeploymentStatusStopped) {
		return nil, r.failedRollback(ctx, rec, d, nil)
	}
	return r.followed(ctx, rec, rec.Deployment, cdStatus(d.Status), nil, &RollbackResult{Followed: rec.Deployment})
}

// alreadyRolledBack records a deployment CodeDeploy has rolled back: the revision
// before it serves again, and `pulumi up` must not deploy the failed one anew.
func (r *rollback) alreadyRolledBack(ctx context.Context, rb rollout.Deployment) (*RollbackResult, error) {
	failedOne := r.find(ctx, rb.RollbackOf)
	if rollout.IsOpsRollback(failedOne.Description) && r.state.Rollback != nil {
		return nil, r.failedRollback(ctx, *r.state.Rollback, failedOne, nil)
	}
	from, at := failedOne.TaskDefinition, rb.Completed
	if failedOne.Unreadable != "" {
		// Not -previous: that would take the good revision out and leave the
		// failed one unrecorded, free for CI to deploy again.
		return nil, fmt.Errorf("CodeDeploy rolled back deployment %s, whose revision could not be read (%s); run the command again", rb.RollbackOf, failedOne.Unreadable)
	}
	if from == "" {
		return nil, failed("CodeDeploy rolled back deployment %s, whose revision this program cannot read; %s serves: run with -previous to take it out too", rb.RollbackOf, short(r.serving.TaskDefinition))
	}
	res := &RollbackResult{AlreadyRolledBack: failedOne.ID}
	when := ""
	if at != nil {
		when = " at " + at.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(r.o.Out, "CodeDeploy already rolled back deployment %s (of %s)%s: %s serves; recording it (run with -previous to take %s out too)\n",
		failedOne.ID, short(from), when, short(r.serving.TaskDefinition), short(r.serving.TaskDefinition))
	if rec := r.state.Rollback; rec != nil && rec.From == from && !rec.Pending {
		res.Record = *rec
		return res, nil // recorded before
	}
	rec, _ := r.newRecord(ctx, from, r.serving.TaskDefinition, rb.ID)
	rec.Pending = false
	res.Record = rec
	return res, r.o.complete(ctx, r.st, rec)
}

// followed completes the record of a rollback deployment that was followed, or
// says why it is left pending.
func (r *rollback) followed(ctx context.Context, rec rollout.RollbackRecord, rb string, status cdtypes.DeploymentStatus, err error, res *RollbackResult) (*RollbackResult, error) {
	rec.Deployment = rb
	if err != nil {
		r.o.record(context.WithoutCancel(ctx), r.st, rec) // keep the rollback's id beside the pending record
		return nil, &Failed{fmt.Errorf("%w; CodeDeploy carries on, and the record refuses %s meanwhile: %s", err, short(rec.From), r.followHint())}
	}
	if status != cdtypes.DeploymentStatusSucceeded {
		return nil, failed("rollback %s ended %s: check the service (the record refuses %s)", rb, status, short(rec.From))
	}
	serving, err := r.o.Rollout.Serving(ctx, r.st.Cluster, r.st.Service)
	if err != nil {
		return nil, err
	}
	rec.To, rec.Pending = serving.TaskDefinition, false
	if rec.From != "" {
		rec.Image, _ = r.o.images(ctx, r.st, rec.From, rec.To)
	}
	res.Record = rec
	return res, r.o.complete(ctx, r.st, rec)
}

// images reads the app images of the rolled-back revision and its replacement:
// the record refuses from's image too when the rollback takes that build out.
func (o *Ops) images(ctx context.Context, st Stack, from, to string) (blocked, toImage string) {
	if st.AppContainer == "" || from == "" {
		return "", ""
	}
	fromImage, err := o.Rollout.AppImage(ctx, from, st.AppContainer)
	if err != nil {
		fmt.Fprintf(o.Out, "warning: %v: the record refuses revision %s only\n", err, short(from))
		return "", ""
	}
	if to == "" { // what serves instead is not known yet: refuse the build
		return fromImage, ""
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
// back, not to the revision the first one removed. So are revisions that run a
// build a record refuses (a revert that reproduced a rolled-back digest):
// `pulumi up` would refuse them, and so would the rollback's deployment.
func (o *Ops) previous(ctx context.Context, st Stack, serving rollout.Serving, history []rollout.Deployment, state rollout.State) (string, *rollout.AppSpec, error) {
	var servedSince *time.Time
	for _, d := range history {
		if d.ID == serving.DeploymentID {
			servedSince = d.Created
		}
	}
	var refused *rollout.BlockedError // the first revision passed over for its build
	usable := func(td string) bool {
		if td == "" || td == serving.TaskDefinition || state.RolledBack(td) {
			return false
		}
		rec, blocked := state.Blocks(td, o.refusedImage(ctx, st, td, state))
		if !blocked {
			return true
		}
		if refused == nil {
			refused = &rollout.BlockedError{Service: st.Service, Record: rec, Declared: td, Clear: unblockCommand(st)}
		}
		fmt.Fprintf(o.Out, "passing over %s: it runs the app image %s of %s, which a rollback took out\n", short(td), rollout.ShortImage(rec.Image), short(rec.From))
		return false
	}
	for _, d := range history {
		earlier := servedSince == nil || (d.Created != nil && d.Created.Before(*servedSince))
		if d.Status == string(cdtypes.DeploymentStatusSucceeded) && earlier && d.Unreadable != "" {
			// It may be the revision that served before: going past it would roll
			// back further than asked (a throttle is the likely cause: try again).
			return "", nil, fmt.Errorf("cannot tell what served before %s: the revision of deployment %s could not be read (%s); run the command again", short(serving.TaskDefinition), d.ID, d.Unreadable)
		}
		if d.Status == string(cdtypes.DeploymentStatusSucceeded) && earlier && usable(d.TaskDefinition) {
			return d.TaskDefinition, d.Spec, nil
		}
	}
	if j := state.Judged; j != nil && usable(j.TaskDefinition) {
		return j.TaskDefinition, nil, nil
	}
	if refused != nil {
		return "", nil, &Failed{fmt.Errorf("%s serves %s, and nothing to roll back to: %w", st.Service, short(serving.TaskDefinition), refused)}
	}
	return "", nil, failed("%s serves %s and no earlier revision served before it that was not rolled back (no earlier succeeded deployment, and it is not after the first revision): nothing to roll back to", st.Service, short(serving.TaskDefinition))
}

// refusedImage is td's app image when a record refuses by image ("" when none
// does, or it cannot be read: the rollout's own check still refuses it then).
func (o *Ops) refusedImage(ctx context.Context, st Stack, td string, state rollout.State) string {
	if st.AppContainer == "" || !state.RefusesImages() {
		return ""
	}
	image, err := o.Rollout.AppImage(ctx, td, st.AppContainer)
	if err != nil {
		fmt.Fprintf(o.Out, "warning: %v: cannot tell whether a record refuses its build\n", err)
	}
	return image
}

// unblockCommand clears a stack's rollback records.
func unblockCommand(st Stack) string { return "go run ./cmd/ops unblock -stack " + st.Name }

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
	if err := rollout.WriteState(ctx, o.Rollout.State, st.StateParameter, state, o.Rollout.Log); err != nil {
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
