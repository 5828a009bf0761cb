package ops

import (
	"context"
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
	// none was).
	Stopped string `json:"stopped,omitempty"`
	// Record is what now makes `pulumi up` refuse the rolled-back revision.
	Record rollout.RollbackRecord `json:"record"`
}

func cdStatus(s string) cdtypes.DeploymentStatus { return cdtypes.DeploymentStatus(s) }

// Rollback makes the previous revision serve again, without a rebuild. A
// deployment under way is stopped with rollback and the rollback followed.
// Otherwise the revision that served before this one (the newest earlier
// succeeded deployment of another revision, or the first revision ECS started)
// goes out as a CodeDeploy deployment, followed to its end as `pulumi up`
// follows its own, on the network the service has now. Then the rollback is
// recorded in the rollout's state: the stack is deliberately behind its code, and
// `pulumi up` refuses the rolled-back revision until the code declares another
// one or the record is cleared (Unblock).
func (o *Ops) Rollback(ctx context.Context, st Stack, timeout time.Duration) (*RollbackResult, error) {
	ro := o.Rollout
	history, err := ro.History(ctx, st.Application, st.DeploymentGroup, 50)
	if err != nil {
		return nil, err
	}
	for _, d := range history {
		if rollout.Active(cdStatus(d.Status)) && d.Creator != string(cdtypes.DeploymentCreatorCodeDeployRollback) {
			return o.stopUnderWay(ctx, st, d)
		}
	}
	serving, err := ro.Serving(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	previous, spec, err := o.previous(ctx, st, serving, history)
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
		Timeout: timeout, StopOnTimeout: true, TargetGroups: serving.TargetGroups,
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
	res, err := ro.Run(ctx, req)
	if err != nil {
		return nil, &Failed{fmt.Errorf("rollback to %s: %w", short(previous), err)}
	}
	rec := rollout.RollbackRecord{From: serving.TaskDefinition, To: previous, Deployment: res.DeploymentID, At: time.Now().UTC(), By: o.caller(ctx)}
	return &RollbackResult{Record: rec}, o.record(ctx, st, rec)
}

// previous is the revision that served before the serving one, and the AppSpec it
// was deployed with (nil for the first revision, which no deployment made).
func (o *Ops) previous(ctx context.Context, st Stack, serving rollout.Serving, history []rollout.Deployment) (string, *rollout.AppSpec, error) {
	var servedSince *time.Time
	for _, d := range history {
		if d.ID == serving.DeploymentID {
			servedSince = d.Created
		}
	}
	for _, d := range history {
		earlier := servedSince == nil || (d.Created != nil && d.Created.Before(*servedSince))
		if d.Status == string(cdtypes.DeploymentStatusSucceeded) && d.TaskDefinition != "" && d.TaskDefinition != serving.TaskDefinition && earlier {
			return d.TaskDefinition, d.Spec, nil
		}
	}
	state, err := rollout.ReadState(ctx, o.Rollout.State, st.StateParameter)
	if err != nil {
		return "", nil, err
	}
	if j := state.Judged; j != nil && j.TaskDefinition != serving.TaskDefinition {
		return j.TaskDefinition, nil, nil
	}
	return "", nil, failed("%s serves %s and no earlier revision served before it (no earlier succeeded deployment, and it is not after the first revision): nothing to roll back to", st.Service, short(serving.TaskDefinition))
}

// stopUnderWay stops a deployment under way with rollback and follows the rollback.
func (o *Ops) stopUnderWay(ctx context.Context, st Stack, d rollout.Deployment) (*RollbackResult, error) {
	fmt.Fprintf(o.Out, "stopping deployment %s of %s with rollback\n", d.ID, short(d.TaskDefinition))
	rb, status, err := o.Rollout.StopAndFollow(ctx, d.ID)
	if err != nil {
		return nil, &Failed{err}
	}
	if status != cdtypes.DeploymentStatusSucceeded {
		return nil, failed("rollback %s of deployment %s ended %s: check the service", rb, d.ID, status)
	}
	serving, err := o.Rollout.Serving(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	rec := rollout.RollbackRecord{From: d.TaskDefinition, To: serving.TaskDefinition, Deployment: rb, At: time.Now().UTC(), By: o.caller(ctx)}
	return &RollbackResult{Stopped: d.ID, Record: rec}, o.record(ctx, st, rec)
}

// record writes the rollback into the rollout's state.
func (o *Ops) record(ctx context.Context, st Stack, rec rollout.RollbackRecord) error {
	if rec.From == "" { // a stopped deployment whose revision is not ours to read
		return nil
	}
	state, err := rollout.ReadState(ctx, o.Rollout.State, st.StateParameter)
	if err != nil {
		return err
	}
	state.Rollback = &rec
	if err := rollout.WriteState(ctx, o.Rollout.State, st.StateParameter, state); err != nil {
		return &Failed{fmt.Errorf("rolled back to %s, but recording it failed, so the next `pulumi up` would deploy %s again: %w", short(rec.To), short(rec.From), err)}
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
