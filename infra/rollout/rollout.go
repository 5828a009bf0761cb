// Package rollout performs the CodeDeploy blue/green deployment of an ECS service
// during `pulumi up`: it decides whether anything needs to go out, deals with a
// deployment already under way, optionally runs a one-off task first, creates the
// deployment and follows it to the end. It is imperative code, kept apart from the
// resource graph, and talks to AWS only through the narrow interfaces below.
//
// It relies on CodeDeploy answering as AWS documents, not as one would guess:
// GetDeployment never returns the AppSpec (GetApplicationRevision does, for its
// sha256); instanceTerminationWaitTimeStarted stays false for ECS (the deployment
// target's status tells the termination wait, aws/containers-roadmap#269); a
// rollback's id can appear a poll after the status; Baking is an active status;
// StopDeployment of a just-completed deployment answers
// DeploymentAlreadyCompletedException.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// CodeDeploy is the part of the CodeDeploy API the rollout uses.
type CodeDeploy interface {
	ListDeployments(context.Context, *codedeploy.ListDeploymentsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
	GetDeployment(context.Context, *codedeploy.GetDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	BatchGetDeployments(context.Context, *codedeploy.BatchGetDeploymentsInput, ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentsOutput, error)
	GetApplicationRevision(context.Context, *codedeploy.GetApplicationRevisionInput, ...func(*codedeploy.Options)) (*codedeploy.GetApplicationRevisionOutput, error)
	CreateDeployment(context.Context, *codedeploy.CreateDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error)
	StopDeployment(context.Context, *codedeploy.StopDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error)
	ListDeploymentTargets(context.Context, *codedeploy.ListDeploymentTargetsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	GetDeploymentTarget(context.Context, *codedeploy.GetDeploymentTargetInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentTargetOutput, error)
}

// ECS is the part of the ECS API the rollout uses.
type ECS interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	RunTask(context.Context, *ecs.RunTaskInput, ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// Logger receives progress lines (ctx.Log.Info under Pulumi).
type Logger interface {
	Info(msg string)
}

// Policies for a deployment of another revision already under way in the group.
const (
	WaitForActive = "wait" // let it finish, then deploy
	StopActive    = "stop" // stop it with rollback, then deploy
)

// Request is what is declared: the revision and network the service should run.
type Request struct {
	Stack           string
	Application     string
	DeploymentGroup string
	Cluster         string
	Service         string
	TaskDefinition  string // ARN with revision
	ContainerName   string // the load balancer's container (nginx)
	ContainerPort   int
	Subnets         []string
	SecurityGroups  []string
	AssignPublicIP  bool
	PlatformVersion string // "LATEST" is not compared with what runs (ECS reports the resolved version)
	// CapacityProvider is FARGATE or FARGATE_SPOT; "" uses the FARGATE launch type.
	CapacityProvider string
	// DesiredCount is the service's task count: a service created with none (so
	// that the first revision's migration runs before any of its tasks) is given
	// this many once the migration succeeded.
	DesiredCount int32
	// Image names the build in the deployment's description.
	Image string
	// Hooks maps AppSpec lifecycle events to Lambda functions.
	Hooks map[string]string
	// MigrationCommand, when set, runs once in MigrationContainer of the new task
	// definition before the deployment is created; a non-zero exit fails the run.
	MigrationCommand   []string
	MigrationContainer string
	// StateParameter is the SSM parameter of the rollout's State ("" keeps none).
	StateParameter string
	// ClearCommand is how a user clears a rollback record (shown when refused).
	ClearCommand string
	// Caller names who deploys in the deployment's description ("pulumi up" when
	// empty); FollowHint is what to do about a deployment left running on an
	// interrupt or a timeout ("" : the aws CLI commands to follow or stop it).
	Caller, FollowHint string

	ActivePolicy string // WaitForActive or StopActive
	Timeout      time.Duration
	// StopOnTimeout stops the deployment with rollback when Timeout passes (never
	// one that is only in its termination wait: traffic is already all on it).
	StopOnTimeout bool
	// AcceptTrafficShifted counts a deployment done once all traffic is on the new
	// tasks and only the old tasks' termination wait remains.
	AcceptTrafficShifted bool
	// TargetGroup is the blue target group ARN the service was created behind: where
	// the first revision must be healthy.
	TargetGroup string
	// TargetGroups (blue, green) and Alarms (the deployment group's) are read for
	// the report of why a revision failed.
	TargetGroups []string
	Alarms       []string
	// Gate, when set, runs once all traffic is on the new tasks, while the old ones
	// wait to be terminated; a failed gate stops the deployment with rollback.
	// GateTimeout bounds it on its own clock (default 15 minutes).
	Gate        Gate
	GateTimeout time.Duration
}

// Gate judges the new tasks under production traffic: passed, and a report to show.
type Gate func(ctx context.Context) (passed bool, report string, err error)

// Result is what a rollout did.
type Result struct {
	// DeploymentID is the deployment that made the service serve the declared
	// revision: the one created or followed, or for a no-op the one that last did;
	// "" for the first revision, which ECS started without CodeDeploy.
	DeploymentID string
	// Deployed is false when what serves already matched what is declared.
	Deployed bool
	// Summary says what serves (the stack's rolloutResult output). It depends only
	// on what serves, not on what this run did, so an unchanged stack shows no
	// output change; what the run did goes to the progress lines.
	Summary string
}

// Rollout performs rollouts with the given clients.
type Rollout struct {
	CodeDeploy CodeDeploy
	ECS        ECS
	// State keeps the rollout's State; nil keeps none (every first revision is
	// judged again, and no rollback record is read).
	State StateStore
	// Logs, ELB and Alarms feed the report of why a revision failed; nil leaves
	// their part out.
	Logs   Logs
	ELB    TargetHealth
	Alarms Alarms
	Log    Logger
	// PollInterval is the time between status requests (default DefaultPollInterval).
	PollInterval time.Duration
	// RollbackWait bounds following a rollback, on its own clock: a rollback starts
	// when the rollout's own time may be nearly spent (default DefaultRollbackWait).
	RollbackWait time.Duration
}

// DefaultPollInterval and DefaultRollbackWait apply when a Rollout leaves them zero.
var (
	DefaultPollInterval = 10 * time.Second
	DefaultRollbackWait = 15 * time.Minute
)

// maxCreateAttempts bounds how often CreateDeployment is retried after another
// deployer started a deployment between our look and our create.
const maxCreateAttempts = 3

func (ro *Rollout) poll() time.Duration {
	if ro.PollInterval <= 0 {
		return DefaultPollInterval
	}
	return ro.PollInterval
}

func (ro *Rollout) rollbackWait() time.Duration {
	if ro.RollbackWait <= 0 {
		return DefaultRollbackWait
	}
	return ro.RollbackWait
}

// sleep waits one poll interval, or returns the context's error.
func (ro *Rollout) sleep(ctx context.Context) error { return Sleep(ctx, ro.poll()) }

// Sleep waits d, or returns the context's error when it ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ActiveStatuses are the statuses of a deployment that blocks a new one: every
// CodeDeploy status but Succeeded, Failed and Stopped (ListDeployments needs them
// named; Active judges any status, including ones added later).
var ActiveStatuses = []cdtypes.DeploymentStatus{
	cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
	cdtypes.DeploymentStatusBaking, cdtypes.DeploymentStatusReady,
}

// Active tells whether a deployment in this status is still under way.
func Active(s cdtypes.DeploymentStatus) bool {
	switch s {
	case cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
		return false
	}
	return true
}

// ServingSummary says what serves: the revision and the deployment that made it,
// or that ECS started it as the first revision.
func ServingSummary(taskDefinition, deploymentID string) string {
	if deploymentID == "" {
		return shortARN(taskDefinition) + " serves (the first revision, started by ECS with the service)"
	}
	return shortARN(taskDefinition) + " serves, deployed by " + deploymentID
}

// Run brings the service to the declared revision, or returns an error saying why
// it could not: that error fails `pulumi up`.
func (ro *Rollout) Run(parent context.Context, req Request) (Result, error) {
	ctx := parent
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, req.Timeout)
		defer cancel()
	}
	state, err := ReadState(ctx, ro.State, req.StateParameter)
	if err != nil {
		return Result{}, err
	}
	migrated, creates := false, 0
	for pass := 0; ; pass++ {
		if pass > 0 { // after a wait: a rollback may have been recorded meanwhile
			if state, err = ReadState(ctx, ro.State, req.StateParameter); err != nil {
				return Result{}, err
			}
		}
		serving, err := ro.serving(ctx, req)
		if err != nil {
			return Result{}, err
		}
		diff := serving.differences(req)
		if len(diff) == 0 {
			if serving.initial && !state.judged(serving.taskSetARN) {
				return ro.judgeInitial(parent, ctx, req, serving, state)
			}
			ro.Log.Info(fmt.Sprintf("service %s already runs %s; nothing to deploy", req.Service, shortARN(req.TaskDefinition)))
			return Result{DeploymentID: serving.deploymentID, Summary: ServingSummary(req.TaskDefinition, serving.deploymentID)}, nil
		}
		if rec, blocked := state.Blocks(req.TaskDefinition, req.Image); blocked {
			// Nothing was deployed: no deployment id (`pulumi up` fails here, and
			// the day-N rollback reads an id as "deployed").
			return Result{}, &BlockedError{Service: req.Service, Record: rec, Declared: req.TaskDefinition, Clear: req.ClearCommand}
		}
		ro.Log.Info(fmt.Sprintf("service %s needs a deployment: %s", req.Service, strings.Join(diff, "; ")))

		// A deployment under way: ours (an interrupted `up`'s) is followed to its end;
		// any other is waited for or stopped, and then what serves is read again.
		ours, cleared, err := ro.clearActive(parent, ctx, req)
		if err != nil || ours != "" {
			if err != nil {
				return Result{DeploymentID: ours}, err
			}
			return ro.finish(parent, ctx, req, ours, state)
		}
		if cleared {
			continue
		}
		if len(req.MigrationCommand) > 0 && !migrated {
			if err := ro.migrate(ctx, req); err != nil {
				return Result{}, err
			}
			migrated = true
		}
		creates++
		id, err := ro.create(ctx, req)
		var limit *cdtypes.DeploymentLimitExceededException
		if errors.As(err, &limit) && creates < maxCreateAttempts {
			// Another deployer started one between our look and our create.
			ro.Log.Info(fmt.Sprintf("another deployment started in %s meanwhile; applying activeDeploymentPolicy %q again (attempt %d of %d)", req.DeploymentGroup, req.ActivePolicy, creates+1, maxCreateAttempts))
			continue
		}
		if err != nil {
			return Result{}, err
		}
		return ro.finish(parent, ctx, req, id, state)
	}
}

// finish follows a deployment of the declared revision and, once it serves,
// drops a rollback record it made obsolete (not the record of the rollback this
// deployment is: the day-N rollback deploys the record's To).
func (ro *Rollout) finish(parent, ctx context.Context, req Request, id string, state State) (Result, error) {
	res, err := ro.follow(parent, ctx, req, id)
	if err == nil && (state.Rollback != nil || len(state.Earlier) > 0 || len(state.Removed) > 0) {
		// Read again: the day-N commands may have written it meanwhile (SSM has no
		// compare-and-set).
		now, rerr := ReadState(parent, ro.State, req.StateParameter)
		if rerr == nil && now.served(req.TaskDefinition) {
			rerr = WriteState(parent, ro.State, req.StateParameter, now, ro.Log)
		}
		if rerr != nil {
			ro.Log.Info("warning: " + rerr.Error())
		}
	}
	return res, err
}

// Preview says, without changing anything, what a `pulumi up` would leave serving:
// known is true when nothing would be deployed (the result is then exact); a
// declared revision that a rollback record refuses is a *BlockedError.
func (ro *Rollout) Preview(ctx context.Context, req Request) (res Result, known bool, err error) {
	state, err := ReadState(ctx, ro.State, req.StateParameter)
	if err != nil {
		return Result{}, false, err
	}
	serving, err := ro.serving(ctx, req)
	if err != nil {
		return Result{}, false, err
	}
	if len(serving.differences(req)) == 0 {
		if serving.initial && !state.judged(serving.taskSetARN) {
			return Result{}, false, nil
		}
		return Result{DeploymentID: serving.deploymentID, Summary: ServingSummary(req.TaskDefinition, serving.deploymentID)}, true, nil
	}
	if rec, blocked := state.Blocks(req.TaskDefinition, req.Image); blocked {
		return Result{}, false, &BlockedError{Service: req.Service, Record: rec, Declared: req.TaskDefinition, Clear: req.ClearCommand}
	}
	return Result{}, false, nil
}

// create creates the deployment of the declared revision.
func (ro *Rollout) create(ctx context.Context, req Request) (string, error) {
	spec, err := appSpec(req)
	if err != nil {
		return "", err
	}
	out, err := ro.CodeDeploy.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName:     aws.String(req.Application),
		DeploymentGroupName: aws.String(req.DeploymentGroup),
		Description:         aws.String(description(req)),
		Revision: &cdtypes.RevisionLocation{
			RevisionType:   cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)},
		},
	})
	if err != nil {
		return "", fmt.Errorf("failed to create deployment: %w", err)
	}
	id := aws.ToString(out.DeploymentId)
	ro.Log.Info(fmt.Sprintf("created deployment %s of %s", id, shortARN(req.TaskDefinition)))
	return id, nil
}

// clearActive deals with the deployments under way in the group. A deployment of
// the declared revision (not a rollback) is ours: its id is returned, to be
// followed rather than duplicated. Every other one is waited for, or stopped with
// rollback, until it ends; cleared then says the caller must look at what serves
// again, since what ended may have changed it.
func (ro *Rollout) clearActive(parent, ctx context.Context, req Request) (ours string, cleared bool, err error) {
	active, err := ro.activeDeployments(ctx, req)
	if err != nil || len(active) == 0 {
		return "", false, err
	}
	for _, d := range active {
		if !d.rollback && d.taskDefinition == req.TaskDefinition {
			ro.Log.Info(fmt.Sprintf("deployment %s of %s is already under way; following it", d.id, shortARN(req.TaskDefinition)))
			return d.id, false, nil
		}
	}
	for _, d := range active {
		switch {
		case d.rollback: // CodeDeploy's, or a day-N rollback: never stopped
			ro.Log.Info(fmt.Sprintf("waiting for rollback deployment %s to finish", d.id))
		case req.ActivePolicy == StopActive:
			ro.Log.Info(fmt.Sprintf("stopping deployment %s of another revision (with rollback)", d.id))
			if _, err := ro.CodeDeploy.StopDeployment(ctx, &codedeploy.StopDeploymentInput{
				DeploymentId: aws.String(d.id), AutoRollbackEnabled: aws.Bool(true),
			}); err != nil {
				var done *cdtypes.DeploymentAlreadyCompletedException
				if !errors.As(err, &done) {
					return "", false, fmt.Errorf("failed to stop deployment %s: %w", d.id, err)
				}
			}
		default:
			ro.Log.Info(fmt.Sprintf("waiting for deployment %s of another revision to finish", d.id))
		}
		if _, err := ro.waitTerminal(ctx, d.id); err != nil {
			return "", false, ro.interrupted(parent, ctx, d.id, fmt.Errorf("waiting for deployment %s: %w", d.id, err))
		}
	}
	// A stop or a failure starts a rollback, which blocks ours too: the caller
	// looks again.
	return "", true, nil
}

// OpsRollback is the Caller of the day-N rollback's deployments: their
// description says so, which is how any later run tells them apart and never
// stops one (stopping a rollback with rollback puts the rolled-back revision
// back).
const OpsRollback = "ops rollback"

// IsOpsRollback tells whether a deployment's description is a day-N rollback's.
func IsOpsRollback(description string) bool {
	return strings.HasPrefix(description, OpsRollback+" (stack ")
}

// description names the stack, the revision and the image digest, kept short:
// CodeDeploy rejects long descriptions (DescriptionTooLongException).
func description(r Request) string {
	caller := r.Caller
	if caller == "" {
		caller = "pulumi up"
	}
	d := fmt.Sprintf("%s (stack %s): %s", caller, r.Stack, shortARN(r.TaskDefinition))
	if _, digest, ok := strings.Cut(r.Image, "@"); ok {
		d += " image " + digest[:min(len(digest), len("sha256:")+12)]
	}
	if len(d) > 100 {
		d = d[:100]
	}
	return d
}

// shortARN is the last path part of an ARN ("web:42" of a task definition).
func shortARN(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// servingState is what the service runs now.
type servingState struct {
	taskDefinition   string
	subnets          []string
	securityGroups   []string
	assignPublicIP   bool
	platformVersion  string
	capacityProvider string
	deploymentID     string
	desired          int32
	// initial: the PRIMARY task set was not made by a CodeDeploy deployment (ECS
	// created it with the service).
	initial      bool
	taskSetARN   string
	targetGroups []string
	// containerName and containerPort are the task set's load balancer entry.
	containerName string
	containerPort int32
	// The task set's counts, and every task set (PRIMARY and ACTIVE) as ECS says.
	running, pending, computed int32
	stability                  ecstypes.StabilityStatus
	taskSets                   []ecstypes.TaskSet
	events                     []ecstypes.ServiceEvent
}

func (ro *Rollout) serving(ctx context.Context, req Request) (servingState, error) {
	out, err := ro.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(req.Cluster), Services: []string{req.Service}})
	if err != nil {
		return servingState{}, fmt.Errorf("failed to describe service %s: %w", req.Service, err)
	}
	if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE" {
		return servingState{}, fmt.Errorf("failed to describe service %s: not found in cluster %s", req.Service, req.Cluster)
	}
	svc := out.Services[0]
	s := servingState{taskDefinition: aws.ToString(svc.TaskDefinition), platformVersion: aws.ToString(svc.PlatformVersion), desired: svc.DesiredCount,
		taskSets: svc.TaskSets, events: svc.Events}
	net := svc.NetworkConfiguration
	strategy := svc.CapacityProviderStrategy
	// With CODE_DEPLOY, what serves is the PRIMARY task set.
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			s.taskDefinition, s.platformVersion = aws.ToString(ts.TaskDefinition), aws.ToString(ts.PlatformVersion)
			net, strategy = ts.NetworkConfiguration, ts.CapacityProviderStrategy
			s.taskSetARN = aws.ToString(ts.TaskSetArn)
			if id := aws.ToString(ts.ExternalId); strings.HasPrefix(id, "d-") {
				s.deploymentID = id
			} else {
				s.initial = true
			}
			for _, l := range ts.LoadBalancers {
				s.targetGroups = append(s.targetGroups, aws.ToString(l.TargetGroupArn))
				s.containerName, s.containerPort = aws.ToString(l.ContainerName), aws.ToInt32(l.ContainerPort)
			}
			s.running, s.pending, s.computed, s.stability = ts.RunningCount, ts.PendingCount, ts.ComputedDesiredCount, ts.StabilityStatus
		}
	}
	if net != nil && net.AwsvpcConfiguration != nil {
		s.subnets, s.securityGroups = net.AwsvpcConfiguration.Subnets, net.AwsvpcConfiguration.SecurityGroups
		s.assignPublicIP = net.AwsvpcConfiguration.AssignPublicIp == ecstypes.AssignPublicIpEnabled
	}
	if len(strategy) > 0 {
		s.capacityProvider = aws.ToString(strategy[0].CapacityProvider)
	}
	return s, nil
}

// differences lists what serves differently from what is declared.
func (s servingState) differences(r Request) []string {
	var d []string
	if s.taskDefinition != r.TaskDefinition {
		d = append(d, fmt.Sprintf("task definition %s -> %s", shortARN(s.taskDefinition), shortARN(r.TaskDefinition)))
	}
	if !sameSet(s.subnets, r.Subnets) {
		d = append(d, fmt.Sprintf("subnets %v -> %v", s.subnets, r.Subnets))
	}
	if !sameSet(s.securityGroups, r.SecurityGroups) {
		d = append(d, fmt.Sprintf("security groups %v -> %v", s.securityGroups, r.SecurityGroups))
	}
	if s.assignPublicIP != r.AssignPublicIP {
		d = append(d, fmt.Sprintf("public IP %v -> %v", s.assignPublicIP, r.AssignPublicIP))
	}
	if r.PlatformVersion != "" && r.PlatformVersion != "LATEST" && s.platformVersion != r.PlatformVersion {
		d = append(d, fmt.Sprintf("platform version %s -> %s", s.platformVersion, r.PlatformVersion))
	}
	if r.CapacityProvider != "" && s.capacityProvider != "" && s.capacityProvider != r.CapacityProvider {
		d = append(d, fmt.Sprintf("capacity provider %s -> %s", s.capacityProvider, r.CapacityProvider))
	}
	return d
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// activeDeployment is a deployment under way and the revision it deploys.
type activeDeployment struct {
	id             string
	rollback       bool
	taskDefinition string // "" when its AppSpec is not one this package can read
}

// activeDeployments lists the group's deployments under way, with the task
// definition each deploys. GetDeployment returns the AppSpec's sha256 but never
// its content ("always null", CodeDeploy API reference); GetApplicationRevision
// returns the content for that sha256, as ecspresso reads it.
func (ro *Rollout) activeDeployments(ctx context.Context, req Request) ([]activeDeployment, error) {
	ids, err := ro.deploymentIDs(ctx, req.Application, req.DeploymentGroup, 0, ActiveStatuses...)
	if err != nil {
		return nil, fmt.Errorf("failed to list active deployments: %w", err)
	}
	var active []activeDeployment
	for _, id := range ids {
		info, err := ro.getDeployment(ctx, id)
		if err != nil {
			return nil, err
		}
		if !Active(info.Status) { // it ended since the list
			continue
		}
		d := activeDeployment{id: id, rollback: info.Creator == cdtypes.DeploymentCreatorCodeDeployRollback || IsOpsRollback(aws.ToString(info.Description))}
		if !d.rollback {
			if d.taskDefinition, err = ro.revisionTaskDefinition(ctx, req, info.Revision); err != nil {
				return nil, err
			}
		}
		active = append(active, d)
	}
	return active, nil
}

// revisionTaskDefinition reads the task definition a deployment's revision
// deploys; "" for a revision that is not an AppSpec this package wrote.
func (ro *Rollout) revisionTaskDefinition(ctx context.Context, req Request, rev *cdtypes.RevisionLocation) (string, error) {
	content, err := ro.revisionContent(ctx, req.Application, rev)
	if err != nil || content == "" {
		return "", err
	}
	return appSpecTaskDefinition(content), nil
}

// Outcome is the verdict on a deployment's status.
type Outcome int

const (
	Pending   Outcome = iota // keep following
	Shifted                  // all traffic on the new tasks; the old ones wait to be terminated
	Done                     // the service serves the new revision
	Unhealthy                // failed or stopped: report, after its rollback
)

// Evaluate judges a deployment's status and its ECS target's status. It is pure,
// so the rules are tested apart from the polling loop. The termination wait shows
// only on the target: the deployment stays InProgress while its target is
// Succeeded (instanceTerminationWaitTimeStarted stays false for ECS,
// aws/containers-roadmap#269).
func Evaluate(status cdtypes.DeploymentStatus, target cdtypes.TargetStatus) Outcome {
	switch {
	case status == cdtypes.DeploymentStatusSucceeded:
		return Done
	case status == cdtypes.DeploymentStatusFailed, status == cdtypes.DeploymentStatusStopped:
		return Unhealthy
	case status == cdtypes.DeploymentStatusInProgress && target == cdtypes.TargetStatusSucceeded:
		return Shifted
	}
	return Pending
}

// follow polls a deployment of the declared revision until it settles. ctx carries
// the rollout's timeout; parent only the caller's cancellation.
func (ro *Rollout) follow(parent, ctx context.Context, req Request, id string) (Result, error) {
	p := &progress{ro: ro, id: id}
	gated := req.Gate == nil
	shifted := false
	unhealthy := map[string]string{} // the target groups' unhealthy targets, each as last seen while it ran
	for {
		info, err := ro.getDeployment(ctx, id)
		if err != nil {
			return ro.timedOut(parent, ctx, req, id, shifted, err)
		}
		target := p.report(ctx, info)
		if info.Status == cdtypes.DeploymentStatusInProgress && !shifted {
			ro.unhealthyTargets(ctx, req, unhealthy)
		}
		switch Evaluate(info.Status, target) {
		case Done:
			if !gated {
				return Result{DeploymentID: id}, fmt.Errorf("deployment %s succeeded before the load gate could run (the termination wait ended first); %s serves without the gate's verdict: check it, and make terminationWaitMinutes longer than the gate's load", id, shortARN(req.TaskDefinition))
			}
			ro.Log.Info(fmt.Sprintf("deployment %s succeeded", id))
			return Result{DeploymentID: id, Deployed: true, Summary: ServingSummary(req.TaskDefinition, id)}, nil
		case Unhealthy:
			return Result{DeploymentID: id}, ro.failure(parent, req, info, sortedValues(unhealthy)...)
		case Shifted:
			if !shifted {
				ro.Log.Info(fmt.Sprintf("deployment %s: all traffic on the new tasks; the old ones wait to be terminated", id))
			}
			shifted = true
			if !gated {
				gated = true
				if res, err := ro.gate(parent, ctx, req, id); err != nil {
					return res, err
				}
				continue
			}
			if req.AcceptTrafficShifted {
				ro.Log.Info(fmt.Sprintf("deployment %s: done (acceptTrafficShifted); CodeDeploy ends the termination wait on its own", id))
				return Result{DeploymentID: id, Deployed: true, Summary: ServingSummary(req.TaskDefinition, id)}, nil
			}
		}
		if err := ro.sleep(ctx); err != nil {
			return ro.timedOut(parent, ctx, req, id, shifted, err)
		}
	}
}

// gate runs the load gate while the old tasks wait to be terminated. When it
// fails, it stops the deployment with rollback (traffic returns to the old tasks),
// follows the rollback and returns the gate's report in the error. A passed gate
// returns a zero Result and no error: following goes on.
func (ro *Rollout) gate(parent, ctx context.Context, req Request, id string) (Result, error) {
	ro.Log.Info(fmt.Sprintf("deployment %s: running the load gate", id))
	// The gate's own clock, not what is left of the rollout's: a load cut short by
	// the rollout's deadline would be judged on part of its requests.
	budget := req.GateTimeout
	if budget <= 0 {
		budget = 15 * time.Minute
	}
	gateCtx, cancelGate := context.WithTimeout(parent, budget)
	passed, report, err := req.Gate(gateCtx)
	cancelGate()
	if parent.Err() != nil {
		return Result{DeploymentID: id}, fmt.Errorf("rollout interrupted during the load gate; deployment %s continues in CodeDeploy, unjudged: follow it with `aws deploy get-deployment --deployment-id %s`: %w", id, id, parent.Err())
	}
	if err == nil && passed {
		ro.Log.Info(fmt.Sprintf("deployment %s: load gate passed\n%s", id, report))
		return Result{}, nil
	}
	why := "load gate failed"
	if err != nil {
		why = fmt.Sprintf("load gate could not run: %v", err)
	}
	ro.Log.Info(fmt.Sprintf("deployment %s: %s; stopping it with rollback\n%s", id, why, report))
	stopCtx, cancel := context.WithTimeout(parent, ro.rollbackWait())
	defer cancel()
	info, err := ro.stop(stopCtx, id)
	if err != nil {
		return Result{DeploymentID: id}, fmt.Errorf("deployment %s: %s, and %w\n%s", id, why, err, report)
	}
	if info.Status == cdtypes.DeploymentStatusSucceeded {
		// The stop came after the termination wait: CodeDeploy can no longer roll back.
		return Result{DeploymentID: id}, fmt.Errorf("deployment %s: %s, and the termination wait ended before the stop reached CodeDeploy: the failed revision %s serves and the old tasks are gone; deploy the previous revision (the rollback command) now\n%s", id, why, shortARN(req.TaskDefinition), report)
	}
	return Result{DeploymentID: id}, fmt.Errorf("%s: %w\n%s", why, ro.failure(parent, req, info), report)
}

// stop stops a deployment with rollback and returns it once it ended. A
// deployment that completed meanwhile answers DeploymentAlreadyCompletedException:
// its status is read again instead of failing (it may have succeeded).
func (ro *Rollout) stop(ctx context.Context, id string) (*cdtypes.DeploymentInfo, error) {
	_, err := ro.CodeDeploy.StopDeployment(ctx, &codedeploy.StopDeploymentInput{
		DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true),
	})
	var done *cdtypes.DeploymentAlreadyCompletedException
	if err != nil && !errors.As(err, &done) {
		return nil, &StopRefusedError{ID: id, Err: err}
	}
	if _, err := ro.waitTerminal(ctx, id); err != nil {
		return nil, fmt.Errorf("it did not end after the stop: %w", err)
	}
	return ro.getDeployment(ctx, id)
}

// StopRefusedError: StopDeployment was refused, so nothing was stopped.
type StopRefusedError struct {
	ID  string
	Err error
}

func (e *StopRefusedError) Error() string { return "stopping it failed: " + e.Err.Error() }
func (e *StopRefusedError) Unwrap() error { return e.Err }

// getDeployment is GetDeployment that treats an answer without deployment
// information as the error it is, instead of dereferencing it.
func (ro *Rollout) getDeployment(ctx context.Context, id string) (*cdtypes.DeploymentInfo, error) {
	out, err := ro.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("failed to get deployment %s: %w", id, err)
	}
	if out.DeploymentInfo == nil {
		return nil, fmt.Errorf("failed to get deployment %s: CodeDeploy answered without deployment information", id)
	}
	return out.DeploymentInfo, nil
}

// failure describes a failed or stopped deployment, after following its rollback
// on its own clock (RollbackWait from now, within parent's cancellation): the
// rollout's deadline may be nearly spent when the rollback starts. The rollback's
// id may show a poll after the status (ecspresso waits for both): until it does,
// or until nothing is active in the group any more, it keeps looking. The error
// ends with the report of why the revision failed.
func (ro *Rollout) failure(parent context.Context, req Request, info *cdtypes.DeploymentInfo, seen ...string) error {
	// The report is read first, as the deployment turns Failed or Stopped: once the
	// rollback ran, ECS has deregistered the failed tasks' targets and the alarms
	// that stopped it are usually back to OK.
	since := time.Now().Add(-time.Hour)
	if info.CreateTime != nil {
		since = *info.CreateTime
	}
	reportCtx, cancel := context.WithTimeout(parent, time.Minute)
	// Stopped (an alarm, the load gate, a timeout): its tasks were running, and
	// their lines are the evidence.
	running := info.Status == cdtypes.DeploymentStatusStopped
	report := ro.failureReport(reportCtx, req, req.TaskDefinition, aws.ToString(info.DeploymentId), since, running, seen)
	cancel()
	if report != "" {
		ro.Log.Info(report)
	}
	err := ro.followRollback(parent, info)
	if report != "" {
		return fmt.Errorf("%w\n%s", err, report)
	}
	return err
}

// followRollback follows a failed or stopped deployment's rollback to its end and
// says how it ended.
func (ro *Rollout) followRollback(parent context.Context, info *cdtypes.DeploymentInfo) error {
	id := aws.ToString(info.DeploymentId)
	msg := fmt.Sprintf("deployment %s %s", id, strings.ToLower(string(info.Status)))
	if e := info.ErrorInformation; e != nil {
		msg += fmt.Sprintf(": %s: %s", e.Code, aws.ToString(e.Message))
	}
	rb, status, err := ro.rollbackOf(parent, info)
	switch {
	case err != nil:
		return fmt.Errorf("%s; %w", msg, err)
	case status == cdtypes.DeploymentStatusSucceeded:
		return fmt.Errorf("%s; rolled back by %s: the previous revision serves again", msg, rb)
	default:
		return fmt.Errorf("%s; rollback %s ended %s: check the service", msg, rb, status)
	}
}

// rollbackOf waits (RollbackWait, from now) for a failed or stopped deployment's
// rollback: its id may show a poll after the status (ecspresso waits for both),
// so it keeps looking until it shows or nothing is active in the group. It then
// follows the rollback to its end.
func (ro *Rollout) rollbackOf(parent context.Context, info *cdtypes.DeploymentInfo) (string, cdtypes.DeploymentStatus, error) {
	id := aws.ToString(info.DeploymentId)
	ctx, cancel := context.WithTimeout(parent, ro.rollbackWait())
	defer cancel()
	rb := rollbackID(info)
	for rb == "" {
		active, err := ro.CodeDeploy.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
			ApplicationName: info.ApplicationName, DeploymentGroupName: info.DeploymentGroupName, IncludeOnlyStatuses: ActiveStatuses,
		})
		if err != nil {
			return "", "", fmt.Errorf("looking for its rollback failed: %w", err)
		}
		if len(active.Deployments) == 0 {
			return "", "", errors.New("no rollback deployment was started")
		}
		if err := ro.sleep(ctx); err != nil {
			return "", "", fmt.Errorf("its rollback did not show within %s: %w", ro.rollbackWait(), err)
		}
		if info, err = ro.getDeployment(ctx, id); err != nil {
			return "", "", err
		}
		rb = rollbackID(info)
	}
	ro.Log.Info(fmt.Sprintf("deployment %s %s; following rollback %s", id, strings.ToLower(string(info.Status)), rb))
	status, err := ro.waitTerminal(ctx, rb)
	if err != nil {
		return rb, "", fmt.Errorf("rollback %s did not finish: %w", rb, err)
	}
	return rb, status, nil
}

func rollbackID(info *cdtypes.DeploymentInfo) string {
	if info.RollbackInfo == nil {
		return ""
	}
	return aws.ToString(info.RollbackInfo.RollbackDeploymentId)
}

// timedOut turns an error of the follow loop into the run's result. On the
// caller's cancellation (Ctrl-C) it leaves the deployment alone and says how to
// follow it. On the rollout's own timeout it stops the deployment with rollback
// (unless configured not to) — but never one already in its termination wait,
// whose traffic is all on the new tasks: that one CodeDeploy finishes on its own.
func (ro *Rollout) timedOut(parent, ctx context.Context, req Request, id string, shifted bool, cause error) (Result, error) {
	if parent.Err() != nil {
		if req.FollowHint != "" {
			return Result{DeploymentID: id}, fmt.Errorf("interrupted; deployment %s continues in CodeDeploy: %s: %w", id, req.FollowHint, parent.Err())
		}
		return Result{DeploymentID: id}, fmt.Errorf("rollout interrupted; deployment %s continues in CodeDeploy: follow it with `aws deploy get-deployment --deployment-id %s`, or stop it with `aws deploy stop-deployment --deployment-id %s --auto-rollback-enabled`: %w", id, id, id, parent.Err())
	}
	if ctx.Err() == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Result{DeploymentID: id}, cause
	}
	msg := fmt.Sprintf("deployment %s did not finish within %s", id, req.Timeout)
	if shifted {
		ro.Log.Info(fmt.Sprintf("%s, but all traffic is on the new tasks and only the old ones' termination wait remains: not stopped; CodeDeploy finishes it", msg))
		return Result{DeploymentID: id, Deployed: true, Summary: ServingSummary(req.TaskDefinition, id)}, nil
	}
	if !req.StopOnTimeout {
		if req.FollowHint != "" {
			return Result{DeploymentID: id}, errors.New(msg + "; left running: " + req.FollowHint)
		}
		return Result{DeploymentID: id}, errors.New(msg + "; left running (stopOnTimeout is false)")
	}
	// A fresh deadline: the rollout's own has passed, and the stop must still go out.
	stopCtx, cancel := context.WithTimeout(parent, ro.rollbackWait())
	defer cancel()
	// The termination wait may have begun since the last poll: look once more.
	if info, err := ro.getDeployment(stopCtx, id); err == nil && Evaluate(info.Status, targetStatus((&progress{ro: ro, id: id}).target(stopCtx))) == Shifted {
		ro.Log.Info(fmt.Sprintf("%s, but all traffic is on the new tasks and only the old ones' termination wait remains: not stopped; CodeDeploy finishes it", msg))
		return Result{DeploymentID: id, Deployed: true, Summary: ServingSummary(req.TaskDefinition, id)}, nil
	}
	ro.Log.Info(fmt.Sprintf("%s; stopping it with rollback", msg))
	info, err := ro.stop(stopCtx, id)
	if err != nil {
		return Result{DeploymentID: id}, fmt.Errorf("%s; %w", msg, err)
	}
	if info.Status == cdtypes.DeploymentStatusSucceeded {
		ro.Log.Info(fmt.Sprintf("deployment %s completed before the stop reached it", id))
		return Result{DeploymentID: id, Deployed: true, Summary: ServingSummary(req.TaskDefinition, id)}, nil
	}
	return Result{DeploymentID: id}, fmt.Errorf("%s: timed out; %w", msg, ro.failure(parent, req, info))
}

// interrupted explains an error while waiting for another deployment.
func (ro *Rollout) interrupted(parent, ctx context.Context, id string, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("rollout interrupted while waiting for deployment %s (it continues in CodeDeploy): %w", id, parent.Err())
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out waiting for deployment %s to finish; nothing was deployed: %w", id, err)
	}
	return err
}

// waitTerminal polls a deployment until it is no longer active and returns its status.
func (ro *Rollout) waitTerminal(ctx context.Context, id string) (cdtypes.DeploymentStatus, error) {
	p := &progress{ro: ro, id: id}
	for {
		info, err := ro.getDeployment(ctx, id)
		if err != nil {
			return "", err
		}
		p.report(ctx, info)
		if !Active(info.Status) {
			return info.Status, nil
		}
		if err := ro.sleep(ctx); err != nil {
			return "", err
		}
	}
}

// sortedValues are a map's values in the order of its keys.
func sortedValues(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
