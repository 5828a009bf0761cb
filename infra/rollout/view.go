package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// What the day-N commands read and do, on the rollout's clients: the same views of
// the service and its deployments the rollout decides by.

// Serving is what a CODE_DEPLOY service serves now: its PRIMARY task set.
type Serving struct {
	TaskDefinition string `json:"taskDefinition"`
	// DeploymentID is the deployment that made the task set ("" for the first
	// revision, which ECS started with the service).
	DeploymentID     string   `json:"deploymentId,omitempty"`
	TaskSet          string   `json:"taskSet"`
	Subnets          []string `json:"subnets"`
	SecurityGroups   []string `json:"securityGroups"`
	AssignPublicIP   bool     `json:"assignPublicIp"`
	CapacityProvider string   `json:"capacityProvider,omitempty"`
	PlatformVersion  string   `json:"platformVersion,omitempty"`
	TargetGroups     []string `json:"targetGroups"`
	ContainerName    string   `json:"containerName"`
	ContainerPort    int      `json:"containerPort"`
	Desired          int32    `json:"desired"`
	Running          int32    `json:"running"`
	Pending          int32    `json:"pending"`
	Stability        string   `json:"stability"`
	// TaskSets are all the service's task sets (a replacement one while a
	// deployment runs), Events its latest events.
	TaskSets []ecstypes.TaskSet      `json:"-"`
	Events   []ecstypes.ServiceEvent `json:"-"`
}

// Serving reads what the service serves.
func (ro *Rollout) Serving(ctx context.Context, cluster, service string) (Serving, error) {
	s, err := ro.serving(ctx, Request{Cluster: cluster, Service: service})
	if err != nil {
		return Serving{}, err
	}
	return Serving{
		TaskDefinition: s.taskDefinition, DeploymentID: s.deploymentID, TaskSet: s.taskSetARN,
		Subnets: s.subnets, SecurityGroups: s.securityGroups, AssignPublicIP: s.assignPublicIP,
		CapacityProvider: s.capacityProvider, PlatformVersion: s.platformVersion, TargetGroups: s.targetGroups,
		ContainerName: s.containerName, ContainerPort: int(s.containerPort),
		Desired: s.computed, Running: s.running, Pending: s.pending, Stability: string(s.stability),
		TaskSets: s.taskSets, Events: s.events,
	}, nil
}

// Deployment is a deployment as the day-N commands show it.
type Deployment struct {
	ID             string     `json:"id"`
	TaskDefinition string     `json:"taskDefinition,omitempty"` // "" when its AppSpec is not ours to read
	Status         string     `json:"status"`
	Creator        string     `json:"creator"`
	Description    string     `json:"description,omitempty"`
	Created        *time.Time `json:"created,omitempty"`
	Completed      *time.Time `json:"completed,omitempty"`
	Error          string     `json:"error,omitempty"`
	RollbackID     string     `json:"rollbackId,omitempty"`
	// RollbackOf is, for CodeDeploy's rollback deployment, the deployment it
	// rolls back (rollbackInfo.rollbackTriggeringDeploymentId).
	RollbackOf string `json:"rollbackOf,omitempty"`
	// Spec is its AppSpec, when it is one this package can read.
	Spec *AppSpec `json:"-"`
	// Unreadable says why its revision could not be read (TaskDefinition is ""
	// then); History keeps such a deployment rather than failing whole.
	Unreadable string `json:"unreadable,omitempty"`
}

// Describe reads a deployment and the AppSpec it deploys (GetApplicationRevision:
// GetDeployment never returns the content).
func (ro *Rollout) Describe(ctx context.Context, application, id string) (Deployment, error) {
	info, err := ro.getDeployment(ctx, id)
	if err != nil {
		return Deployment{}, err
	}
	return ro.deployment(ctx, application, info)
}

func (ro *Rollout) deployment(ctx context.Context, application string, info *cdtypes.DeploymentInfo) (Deployment, error) {
	d := Deployment{
		ID: aws.ToString(info.DeploymentId), Status: string(info.Status), Creator: string(info.Creator),
		Description: aws.ToString(info.Description), Created: info.CreateTime, Completed: info.CompleteTime, RollbackID: rollbackID(info),
	}
	if r := info.RollbackInfo; r != nil {
		d.RollbackOf = aws.ToString(r.RollbackTriggeringDeploymentId)
	}
	if e := info.ErrorInformation; e != nil {
		d.Error = fmt.Sprintf("%s: %s", e.Code, aws.ToString(e.Message))
	}
	if info.Creator == cdtypes.DeploymentCreatorCodeDeployRollback {
		return d, nil
	}
	content, err := ro.revisionContent(ctx, application, info.Revision)
	if err != nil || content == "" {
		return d, err
	}
	var spec AppSpec
	if json.Unmarshal([]byte(content), &spec) == nil {
		d.Spec = &spec
		d.TaskDefinition = appSpecTaskDefinition(content)
	}
	return d, nil
}

// History lists the group's deployments of the given statuses (all when none),
// newest first, at most n, each with the revision it deploys. ListDeployments
// documents no order; it answers newest first in practice (ecspresso's
// rollback.go takes Deployments[0] as the latest), so pages are read until n
// ids are known, and those are sorted by creation here.
func (ro *Rollout) History(ctx context.Context, application, group string, n int, statuses ...cdtypes.DeploymentStatus) ([]Deployment, error) {
	ids, err := ro.deploymentIDs(ctx, application, group, n, statuses...)
	if err != nil {
		return nil, fmt.Errorf("failed to list deployments: %w", err)
	}
	var infos []*cdtypes.DeploymentInfo
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 25)] // BatchGetDeployments takes at most 25
		ids = ids[len(batch):]
		got, err := ro.CodeDeploy.BatchGetDeployments(ctx, &codedeploy.BatchGetDeploymentsInput{DeploymentIds: batch})
		if err != nil {
			return nil, fmt.Errorf("failed to read deployments: %w", err)
		}
		for i := range got.DeploymentsInfo {
			infos = append(infos, &got.DeploymentsInfo[i])
		}
	}
	sortNewestFirst(infos)
	var list []Deployment
	for _, info := range infos[:min(len(infos), n)] {
		d, err := ro.deployment(ctx, application, info)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		if err != nil { // one revision (a throttle past retries, a denial) does not hide the rest
			d.Unreadable = err.Error()
			if ro.Log != nil {
				ro.Log.Info(fmt.Sprintf("warning: deployment %s is shown without its revision: %v", d.ID, err))
			}
		}
		list = append(list, d)
	}
	return list, nil
}

// deploymentIDs lists a group's deployment ids of the given statuses, page after
// page, the first n (all when n is 0).
func (ro *Rollout) deploymentIDs(ctx context.Context, application, group string, n int, statuses ...cdtypes.DeploymentStatus) ([]string, error) {
	in := &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(application), DeploymentGroupName: aws.String(group), IncludeOnlyStatuses: statuses}
	var ids []string
	for n == 0 || len(ids) < n {
		out, err := ro.CodeDeploy.ListDeployments(ctx, in)
		if err != nil {
			return nil, err
		}
		ids = append(ids, out.Deployments...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if n > 0 {
		ids = ids[:min(len(ids), n)]
	}
	return ids, nil
}

// FollowDeployment follows a deployment to its end (its progress as `pulumi up`
// shows it) and returns how it ended; with untilShifted, it returns Succeeded
// and shifted as soon as all traffic is on the new tasks (acceptTrafficShifted:
// only the old tasks' termination wait remains).
func (ro *Rollout) FollowDeployment(ctx context.Context, id string, untilShifted bool) (status cdtypes.DeploymentStatus, shifted bool, err error) {
	p := &progress{ro: ro, id: id}
	for {
		info, err := ro.getDeployment(ctx, id)
		if err != nil {
			return "", false, err
		}
		target := p.report(ctx, info)
		if !Active(info.Status) {
			return info.Status, false, nil
		}
		if untilShifted && Evaluate(info.Status, target) == Shifted {
			return cdtypes.DeploymentStatusSucceeded, true, nil
		}
		if err := ro.sleep(ctx); err != nil {
			return "", false, err
		}
	}
}

// AppImage is the image of a task definition's container.
func (ro *Rollout) AppImage(ctx context.Context, td, container string) (string, error) {
	out, err := ro.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
	if err != nil {
		return "", fmt.Errorf("failed to read task definition %s: %w", shortARN(td), err)
	}
	if out.TaskDefinition != nil {
		for _, c := range out.TaskDefinition.ContainerDefinitions {
			if aws.ToString(c.Name) == container {
				return aws.ToString(c.Image), nil
			}
		}
	}
	return "", fmt.Errorf("task definition %s has no container %s", shortARN(td), container)
}

func sortNewestFirst(infos []*cdtypes.DeploymentInfo) {
	for i := 1; i < len(infos); i++ {
		for j := i; j > 0 && aws.ToTime(infos[j].CreateTime).After(aws.ToTime(infos[j-1].CreateTime)); j-- {
			infos[j], infos[j-1] = infos[j-1], infos[j]
		}
	}
}

// revisionContent reads the AppSpec content of a deployment's revision.
func (ro *Rollout) revisionContent(ctx context.Context, application string, rev *cdtypes.RevisionLocation) (string, error) {
	if rev == nil || rev.RevisionType != cdtypes.RevisionLocationTypeAppSpecContent || rev.AppSpecContent == nil {
		return "", nil
	}
	if c := aws.ToString(rev.AppSpecContent.Content); c != "" {
		return c, nil
	}
	if rev.AppSpecContent.Sha256 == nil {
		return "", nil
	}
	out, err := ro.CodeDeploy.GetApplicationRevision(ctx, &codedeploy.GetApplicationRevisionInput{
		ApplicationName: aws.String(application),
		Revision: &cdtypes.RevisionLocation{
			RevisionType:   cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Sha256: rev.AppSpecContent.Sha256},
		},
	})
	if err != nil {
		return "", fmt.Errorf("failed to read a deployment's revision: %w", err)
	}
	if out.Revision == nil || out.Revision.AppSpecContent == nil {
		return "", nil
	}
	return aws.ToString(out.Revision.AppSpecContent.Content), nil
}

// Progress is a deployment target's traffic split and lifecycle events.
type Progress struct {
	Status  string             `json:"status"`
	Traffic map[string]float64 `json:"traffic"` // task set label (blue, green) -> percent
	Events  map[string]string  `json:"events"`  // lifecycle event -> status
}

// TargetOf reads a deployment's ECS target; nil when it has none yet.
func (ro *Rollout) TargetOf(ctx context.Context, id string) *Progress {
	p := &progress{ro: ro, id: id}
	t := p.target(ctx)
	if t == nil {
		return nil
	}
	out := &Progress{Status: string(t.Status), Traffic: map[string]float64{}, Events: map[string]string{}}
	for _, ts := range t.TaskSetsInfo {
		out.Traffic[string(ts.TaskSetLabel)] = ts.TrafficWeight
	}
	for _, e := range t.LifecycleEvents {
		out.Events[aws.ToString(e.LifecycleEventName)] = string(e.Status)
	}
	return out
}

// CompletedError: the deployment succeeded before a stop reached it, so nothing
// was rolled back.
type CompletedError struct{ ID string }

func (e *CompletedError) Error() string {
	return fmt.Sprintf("deployment %s completed before the stop reached it: nothing was rolled back", e.ID)
}

// StopAndFollow stops a deployment with rollback, follows the rollback to its
// end, and returns the rollback's id and how it ended.
func (ro *Rollout) StopAndFollow(ctx context.Context, id string) (rollbackID string, status cdtypes.DeploymentStatus, err error) {
	stopCtx, cancel := context.WithTimeout(ctx, ro.rollbackWait())
	defer cancel()
	info, err := ro.stop(stopCtx, id)
	if err != nil {
		return "", "", fmt.Errorf("deployment %s: %w", id, err)
	}
	if info.Status == cdtypes.DeploymentStatusSucceeded {
		return "", info.Status, &CompletedError{ID: id}
	}
	return ro.rollbackOf(ctx, info)
}
