// Package rollout performs the CodeDeploy blue/green deployment of an ECS service
// during `pulumi up`: it decides whether anything needs to go out, deals with a
// deployment already under way, optionally runs a one-off task first, creates the
// deployment and follows it to the end. It is imperative code, kept apart from the
// resource graph, and talks to AWS only through the narrow interfaces below.
package rollout

import (
	"context"
	"errors"
	"fmt"
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
	CreateDeployment(context.Context, *codedeploy.CreateDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error)
	StopDeployment(context.Context, *codedeploy.StopDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error)
	ListDeploymentTargets(context.Context, *codedeploy.ListDeploymentTargetsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	GetDeploymentTarget(context.Context, *codedeploy.GetDeploymentTargetInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentTargetOutput, error)
}

// ECS is the part of the ECS API the rollout uses.
type ECS interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	RunTask(context.Context, *ecs.RunTaskInput, ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	DescribeTaskSets(context.Context, *ecs.DescribeTaskSetsInput, ...func(*ecs.Options)) (*ecs.DescribeTaskSetsOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	TagResource(context.Context, *ecs.TagResourceInput, ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
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
	// Image names the build in the deployment's description.
	Image string
	// Hooks maps AppSpec lifecycle events to Lambda functions.
	Hooks map[string]string
	// MigrationCommand, when set, runs once in MigrationContainer of the new task
	// definition before the deployment is created; a non-zero exit fails the run.
	MigrationCommand   []string
	MigrationContainer string

	ActivePolicy string // WaitForActive or StopActive
	Timeout      time.Duration
	// StopOnTimeout stops the deployment with rollback when Timeout passes.
	StopOnTimeout bool
	// AcceptTrafficShifted counts a deployment done once all traffic is on the new
	// tasks and only the old tasks' termination wait remains.
	AcceptTrafficShifted bool
	// TargetGroup is the blue target group ARN the service was created behind: where
	// the first revision must be healthy.
	TargetGroup string
	// Gate, when set, runs once all traffic is on the new tasks, while the old ones
	// wait to be terminated; a failed gate stops the deployment with rollback.
	Gate Gate
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
	// Summary says in a line what happened (the stack's rolloutResult output).
	Summary string
}

// Rollout performs rollouts with the given clients.
type Rollout struct {
	CodeDeploy CodeDeploy
	ECS        ECS
	Log        Logger
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

// JudgedTag marks the first task set once it was judged healthy, so the next
// `pulumi up` does not judge (and migrate) it again.
const JudgedTag = "ecs-bluegreen:judged"

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
func (ro *Rollout) sleep(ctx context.Context) error {
	t := time.NewTimer(ro.poll())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// activeStatuses are the statuses of a deployment that blocks a new one.
var activeStatuses = []cdtypes.DeploymentStatus{
	cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued,
	cdtypes.DeploymentStatusInProgress, cdtypes.DeploymentStatusReady,
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

	serving, err := ro.serving(ctx, req)
	if err != nil {
		return Result{}, err
	}
	diff := serving.differences(req)
	if len(diff) == 0 {
		if serving.initial && !serving.judged {
			return ro.judgeInitial(parent, ctx, req, serving)
		}
		ro.Log.Info(fmt.Sprintf("service %s already runs %s; nothing to deploy", req.Service, shortARN(req.TaskDefinition)))
		summary := "unchanged: " + shortARN(req.TaskDefinition) + " serves"
		if serving.deploymentID != "" {
			summary += " (deployed by " + serving.deploymentID + ")"
		}
		return Result{DeploymentID: serving.deploymentID, Summary: summary}, nil
	}
	ro.Log.Info(fmt.Sprintf("service %s needs a deployment: %s", req.Service, strings.Join(diff, "; ")))

	id, err := ro.start(parent, ctx, req)
	if err != nil {
		return Result{DeploymentID: id}, err
	}
	return ro.follow(parent, ctx, req, id)
}

// start clears the way (deployments under way, rollbacks included), runs the
// migration and creates the deployment; or finds one of the same revision under
// way to follow. It returns the id of the deployment to follow.
func (ro *Rollout) start(parent, ctx context.Context, req Request) (string, error) {
	if id, err := ro.clearActive(parent, ctx, req); err != nil || id != "" {
		return id, err
	}
	if len(req.MigrationCommand) > 0 {
		if err := ro.migrate(ctx, req); err != nil {
			return "", err
		}
	}
	spec, err := appSpec(req)
	if err != nil {
		return "", err
	}
	for attempt := 1; ; attempt++ {
		out, err := ro.CodeDeploy.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
			ApplicationName:     aws.String(req.Application),
			DeploymentGroupName: aws.String(req.DeploymentGroup),
			Description:         aws.String(description(req)),
			Revision: &cdtypes.RevisionLocation{
				RevisionType:   cdtypes.RevisionLocationTypeAppSpecContent,
				AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)},
			},
		})
		var limit *cdtypes.DeploymentLimitExceededException
		if errors.As(err, &limit) && attempt < maxCreateAttempts {
			// Another deployer started one between our look and our create.
			ro.Log.Info(fmt.Sprintf("another deployment started in %s meanwhile; applying activeDeploymentPolicy %q again (attempt %d of %d)", req.DeploymentGroup, req.ActivePolicy, attempt+1, maxCreateAttempts))
			if id, err := ro.clearActive(parent, ctx, req); err != nil || id != "" {
				return id, err
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("failed to create deployment: %w", err)
		}
		id := aws.ToString(out.DeploymentId)
		ro.Log.Info(fmt.Sprintf("created deployment %s of %s", id, shortARN(req.TaskDefinition)))
		return id, nil
	}
}

// clearActive waits until no deployment is active in the group, applying the
// active-deployment policy to each one of another revision and waiting for the
// rollbacks that stopping or failing starts. A deployment of the declared revision
// under way is not duplicated: its id is returned, to be followed.
func (ro *Rollout) clearActive(parent, ctx context.Context, req Request) (string, error) {
	stopped := map[string]bool{}
	for {
		active, err := ro.activeDeployments(ctx, req)
		if err != nil || len(active) == 0 {
			return "", err
		}
		for _, d := range active {
			id := aws.ToString(d.DeploymentId)
			rollback := d.Creator == cdtypes.DeploymentCreatorCodeDeployRollback
			if !rollback && d.Revision != nil && d.Revision.AppSpecContent != nil && appSpecTaskDefinition(aws.ToString(d.Revision.AppSpecContent.Content)) == req.TaskDefinition {
				ro.Log.Info(fmt.Sprintf("deployment %s of %s is already under way; following it", id, shortARN(req.TaskDefinition)))
				return id, nil
			}
			switch {
			case rollback:
				ro.Log.Info(fmt.Sprintf("waiting for rollback deployment %s to finish", id))
			case req.ActivePolicy == StopActive && !stopped[id]:
				ro.Log.Info(fmt.Sprintf("stopping deployment %s of another revision (with rollback)", id))
				if _, err := ro.CodeDeploy.StopDeployment(ctx, &codedeploy.StopDeploymentInput{
					DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true),
				}); err != nil {
					var done *cdtypes.DeploymentAlreadyCompletedException
					if !errors.As(err, &done) {
						return "", fmt.Errorf("failed to stop deployment %s: %w", id, err)
					}
				}
				stopped[id] = true
			default:
				ro.Log.Info(fmt.Sprintf("waiting for deployment %s of another revision to finish", id))
			}
			if _, err := ro.waitTerminal(ctx, id); err != nil {
				return "", ro.interrupted(parent, ctx, id, fmt.Errorf("waiting for deployment %s: %w", id, err))
			}
		}
		// Look again: a stop or a failure starts a rollback, which blocks ours too.
	}
}

// description names the stack, the revision and the image digest, kept short:
// CodeDeploy rejects long descriptions (DescriptionTooLongException).
func description(r Request) string {
	d := fmt.Sprintf("pulumi up (stack %s): %s", r.Stack, shortARN(r.TaskDefinition))
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
	// initial: the PRIMARY task set was not made by a CodeDeploy deployment (ECS
	// created it with the service); judged: it carries JudgedTag.
	initial, judged bool
	taskSetARN      string
	targetGroups    []string
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
	s := servingState{taskDefinition: aws.ToString(svc.TaskDefinition), platformVersion: aws.ToString(svc.PlatformVersion)}
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
			}
		}
	}
	if s.initial && s.taskSetARN != "" {
		out, err := ro.ECS.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{
			Cluster: aws.String(req.Cluster), Service: aws.String(req.Service),
			TaskSets: []string{s.taskSetARN}, Include: []ecstypes.TaskSetField{ecstypes.TaskSetFieldTags},
		})
		if err != nil {
			return servingState{}, fmt.Errorf("failed to describe task set %s: %w", s.taskSetARN, err)
		}
		for _, ts := range out.TaskSets {
			for _, tag := range ts.Tags {
				s.judged = s.judged || aws.ToString(tag.Key) == JudgedTag
			}
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

func (ro *Rollout) activeDeployments(ctx context.Context, req Request) ([]*cdtypes.DeploymentInfo, error) {
	var ids []string
	in := &codedeploy.ListDeploymentsInput{
		ApplicationName: aws.String(req.Application), DeploymentGroupName: aws.String(req.DeploymentGroup),
		IncludeOnlyStatuses: activeStatuses,
	}
	for {
		out, err := ro.CodeDeploy.ListDeployments(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("failed to list active deployments: %w", err)
		}
		ids = append(ids, out.Deployments...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	var infos []*cdtypes.DeploymentInfo
	for _, id := range ids {
		out, err := ro.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("failed to get deployment %s: %w", id, err)
		}
		if out.DeploymentInfo != nil {
			infos = append(infos, out.DeploymentInfo)
		}
	}
	return infos, nil
}

// Outcome is the verdict on a deployment's status.
type Outcome int

const (
	Pending   Outcome = iota // keep following
	Done                     // the service serves the new revision
	Unhealthy                // failed or stopped: report, after its rollback
)

// Evaluate judges one GetDeployment answer. It is pure, so the rules are tested
// apart from the polling loop.
func Evaluate(info *cdtypes.DeploymentInfo, acceptTrafficShifted bool) Outcome {
	switch info.Status {
	case cdtypes.DeploymentStatusSucceeded:
		return Done
	case cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
		return Unhealthy
	case cdtypes.DeploymentStatusInProgress:
		// The termination wait starts only after all traffic moved to the new tasks.
		if acceptTrafficShifted && info.InstanceTerminationWaitTimeStarted {
			return Done
		}
	}
	return Pending
}

// follow polls a deployment until Evaluate settles it. ctx carries the rollout's
// timeout; parent only the caller's cancellation.
func (ro *Rollout) follow(parent, ctx context.Context, req Request, id string) (Result, error) {
	p := &progress{ro: ro, id: id}
	gated := req.Gate == nil
	for {
		info, err := ro.getDeployment(ctx, id)
		if err != nil {
			return Result{DeploymentID: id}, ro.timedOut(parent, ctx, req, id, err)
		}
		p.report(ctx, info)
		if !gated && info.Status == cdtypes.DeploymentStatusInProgress && info.InstanceTerminationWaitTimeStarted {
			gated = true
			if err := ro.gate(parent, ctx, req, id); err != nil {
				return Result{DeploymentID: id}, err
			}
			continue
		}
		switch Evaluate(info, req.AcceptTrafficShifted) {
		case Done:
			summary := fmt.Sprintf("deployed %s by %s", shortARN(req.TaskDefinition), id)
			if info.Status == cdtypes.DeploymentStatusSucceeded {
				ro.Log.Info(fmt.Sprintf("deployment %s succeeded", id))
			} else {
				ro.Log.Info(fmt.Sprintf("deployment %s: all traffic on the new tasks; the old ones stay for the termination wait", id))
				summary += " (all traffic shifted; old tasks in their termination wait)"
			}
			return Result{DeploymentID: id, Deployed: true, Summary: summary}, nil
		case Unhealthy:
			return Result{DeploymentID: id}, ro.failure(parent, info)
		}
		if err := ro.sleep(ctx); err != nil {
			return Result{DeploymentID: id}, ro.timedOut(parent, ctx, req, id, err)
		}
	}
}

// gate runs the load gate while the old tasks wait to be terminated. When it
// fails, it stops the deployment with rollback (traffic returns to the old tasks),
// follows the rollback and returns the gate's report in the error.
func (ro *Rollout) gate(parent, ctx context.Context, req Request, id string) error {
	ro.Log.Info(fmt.Sprintf("deployment %s: all traffic on the new tasks; running the load gate", id))
	passed, report, err := req.Gate(ctx)
	if err == nil && passed {
		ro.Log.Info(fmt.Sprintf("deployment %s: load gate passed\n%s", id, report))
		return nil
	}
	why := "load gate failed"
	if err != nil {
		why = fmt.Sprintf("load gate could not run: %v", err)
	}
	ro.Log.Info(fmt.Sprintf("deployment %s: %s; stopping it with rollback\n%s", id, why, report))
	stopCtx, cancel := context.WithTimeout(parent, ro.rollbackWait())
	defer cancel()
	if _, err := ro.CodeDeploy.StopDeployment(stopCtx, &codedeploy.StopDeploymentInput{
		DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true),
	}); err != nil {
		return fmt.Errorf("deployment %s: %s, and stopping it failed: %w\n%s", id, why, err, report)
	}
	if _, err := ro.waitTerminal(stopCtx, id); err != nil {
		return fmt.Errorf("deployment %s: %s; stopped it, and it did not end: %w\n%s", id, why, err, report)
	}
	info, err := ro.getDeployment(stopCtx, id)
	if err != nil {
		return fmt.Errorf("deployment %s: %s; stopped it, and %w\n%s", id, why, err, report)
	}
	return fmt.Errorf("%s: %w\n%s", why, ro.failure(parent, info), report)
}

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
// rollout's deadline may be nearly spent when the rollback starts.
func (ro *Rollout) failure(parent context.Context, info *cdtypes.DeploymentInfo) error {
	id := aws.ToString(info.DeploymentId)
	msg := fmt.Sprintf("deployment %s %s", id, strings.ToLower(string(info.Status)))
	if e := info.ErrorInformation; e != nil {
		msg += fmt.Sprintf(": %s: %s", e.Code, aws.ToString(e.Message))
	}
	if info.RollbackInfo == nil || info.RollbackInfo.RollbackDeploymentId == nil {
		return errors.New(msg + "; no rollback deployment was started")
	}
	rb := aws.ToString(info.RollbackInfo.RollbackDeploymentId)
	ro.Log.Info(fmt.Sprintf("deployment %s %s; following rollback %s", id, strings.ToLower(string(info.Status)), rb))
	ctx, cancel := context.WithTimeout(parent, ro.rollbackWait())
	defer cancel()
	status, err := ro.waitTerminal(ctx, rb)
	switch {
	case err != nil:
		return fmt.Errorf("%s; rollback %s did not finish: %w", msg, rb, err)
	case status == cdtypes.DeploymentStatusSucceeded:
		return fmt.Errorf("%s; rolled back by %s: the previous revision serves again", msg, rb)
	default:
		return fmt.Errorf("%s; rollback %s ended %s: check the service", msg, rb, status)
	}
}

// timedOut turns an error of the follow loop into the run's error. On the
// rollout's own timeout it stops the deployment with rollback (unless configured
// not to) and waits, for a bounded time, for the rollback; on the caller's
// cancellation it leaves the deployment alone and says so.
func (ro *Rollout) timedOut(parent, ctx context.Context, req Request, id string, cause error) error {
	if parent.Err() != nil {
		return fmt.Errorf("rollout cancelled; deployment %s continues in CodeDeploy (aws deploy get-deployment --deployment-id %s): %w", id, id, parent.Err())
	}
	if ctx.Err() == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return cause
	}
	msg := fmt.Sprintf("deployment %s did not finish within %s", id, req.Timeout)
	if !req.StopOnTimeout {
		return errors.New(msg + "; left running (stopOnTimeout is false)")
	}
	// A fresh deadline: the rollout's own has passed, and the stop must still go out.
	stopCtx, cancel := context.WithTimeout(parent, ro.rollbackWait())
	defer cancel()
	if _, err := ro.CodeDeploy.StopDeployment(stopCtx, &codedeploy.StopDeploymentInput{
		DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true),
	}); err != nil {
		return fmt.Errorf("%s; failed to stop it: %w", msg, err)
	}
	ro.Log.Info(fmt.Sprintf("%s; stopped it with rollback", msg))
	info, err := ro.getDeployment(stopCtx, id)
	if err != nil {
		return fmt.Errorf("%s; stopped it, and %w", msg, err)
	}
	if Evaluate(info, false) != Unhealthy {
		status, err := ro.waitTerminal(stopCtx, id)
		if err != nil {
			return fmt.Errorf("%s; stopped it, and it did not end: %w", msg, err)
		}
		if info, err = ro.getDeployment(stopCtx, id); err != nil {
			return fmt.Errorf("%s; stopped it (%s), and %w", msg, status, err)
		}
	}
	return fmt.Errorf("%s: timed out; %w", msg, ro.failure(parent, info))
}

// interrupted explains an error while waiting for another deployment.
func (ro *Rollout) interrupted(parent, ctx context.Context, id string, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("rollout cancelled while waiting for deployment %s: %w", id, parent.Err())
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
		if !slices.Contains(activeStatuses, info.Status) {
			return info.Status, nil
		}
		if err := ro.sleep(ctx); err != nil {
			return "", err
		}
	}
}
