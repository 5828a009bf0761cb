package rollout

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// progress reports a deployment's status, lifecycle events and traffic split,
// each only when it changes, so `pulumi up` shows a readable story, not a poll log.
type progress struct {
	ro       *Rollout
	id       string
	status   cdtypes.DeploymentStatus
	targetID string
	events   map[string]cdtypes.LifecycleEventStatus
	traffic  string
	// last is the deployment target as last read (nil before any).
	last *cdtypes.ECSTarget
}

// report shows what changed and returns the ECS target's status ("" when it could
// not be read): the target, not the deployment, tells the termination wait.
func (p *progress) report(ctx context.Context, info *cdtypes.DeploymentInfo) cdtypes.TargetStatus {
	if info.Status != p.status {
		p.status = info.Status
		p.ro.Log.Info(fmt.Sprintf("deployment %s: %s", p.id, info.Status))
		if info.Status == cdtypes.DeploymentStatusReady {
			p.ro.Log.Info(fmt.Sprintf("deployment %s waits for a manual reroute: aws deploy continue-deployment --deployment-id %s (or stop it)", p.id, p.id))
		}
	}
	if !Active(info.Status) || info.Status == cdtypes.DeploymentStatusCreated || info.Status == cdtypes.DeploymentStatusQueued {
		return ""
	}
	t := p.target(ctx)
	if t == nil {
		return ""
	}
	if p.events == nil {
		p.events = map[string]cdtypes.LifecycleEventStatus{}
	}
	for _, e := range t.LifecycleEvents {
		name := aws.ToString(e.LifecycleEventName)
		if e.Status != p.events[name] && e.Status != cdtypes.LifecycleEventStatusPending {
			p.events[name] = e.Status
			p.ro.Log.Info(fmt.Sprintf("deployment %s: %s %s", p.id, name, e.Status))
		}
	}
	var split []string
	for _, ts := range t.TaskSetsInfo {
		split = append(split, fmt.Sprintf("%s %.0f%%", strings.ToLower(string(ts.TaskSetLabel)), ts.TrafficWeight))
	}
	if s := strings.Join(split, " / "); s != "" && s != p.traffic {
		p.traffic = s
		p.ro.Log.Info(fmt.Sprintf("deployment %s: traffic %s", p.id, s))
	}
	return t.Status
}

// target reads the deployment's ECS target. Lookups here are best effort: a failed
// one does not fail the rollout, it only leaves the termination wait unseen for a poll.
func (p *progress) target(ctx context.Context) *cdtypes.ECSTarget {
	if p.targetID == "" {
		out, err := p.ro.CodeDeploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(p.id)})
		if err != nil || len(out.TargetIds) == 0 {
			return nil
		}
		p.targetID = out.TargetIds[0]
	}
	out, err := p.ro.CodeDeploy.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(p.id), TargetId: aws.String(p.targetID)})
	if err != nil || out.DeploymentTarget == nil || out.DeploymentTarget.EcsTarget == nil {
		return nil
	}
	p.last = out.DeploymentTarget.EcsTarget
	return p.last
}

// targetStatus is a target's status, "" for none.
func targetStatus(t *cdtypes.ECSTarget) cdtypes.TargetStatus {
	if t == nil {
		return ""
	}
	return t.Status
}
