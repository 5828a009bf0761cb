package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The worker verdict: a worker is an ECS service with the rolling (ECS) deployment
// controller and the deployment circuit breaker with rollback. Pulumi's
// UpdateService starts the rolling deployment; this follows it to its verdict and
// fails `pulumi up`, naming the worker, when it fails. What AWS reports, and where
// it surprises:
//   - DescribeServices lists the service's deployments: the PRIMARY one (the most
//     recent) and ACTIVE ones still running tasks; rolloutState IN_PROGRESS, then
//     COMPLETED at steady state, or FAILED when the circuit breaker trips, with
//     rolloutStateReason saying why (Deployment, ECS API reference).
//   - The breaker trips at 0.5 × the desired count failed tasks, at least 3 and at
//     most 200 (ServiceDeploymentCircuitBreaker.threshold, ECS API reference). With
//     rollback it rolls back to the most recent COMPLETED deployment; without
//     one the deployment stalls ("How the Amazon ECS deployment circuit breaker
//     detects failures", ECS developer guide). The rollback is a new deployment
//     of that configuration, PRIMARY, with a new id and createdAt, which launches
//     tasks of its own ("If a new deployment is started because a previous
//     deployment failed and a rollback occurred, the reason field … indicates
//     … rollback", same guide; aws/copilot-cli#4838).
//   - failedTasks counts tasks that cannot launch, never reach RUNNING or fail
//     their health checks; "once a service deployment has one or more successfully
//     running tasks, the failed task count resets to zero and stops being
//     evaluated" (Deployment.failedTasks) — with the breaker's default,
//     resetOnHealthyTask true (DeploymentCircuitBreaker, ECS API reference; the
//     provider, pulumi-aws 6.83.4, cannot set it). A revision whose tasks start and
//     then exit never trips the breaker (also aws/containers-roadmap#1206): the
//     deployment stays IN_PROGRESS while ECS replaces crashed tasks for ever. The
//     verdict counts stopped tasks of the revision itself, as the first web
//     revision's judgement does.
//   - The rolling deployment keeps the old tasks until the new ones are healthy
//     (minimumHealthyPercent 100). A failed worker revision leaves the previous
//     one working only while its rollback can start the previous revision's
//     tasks: when that no longer starts (a secret removed, an image expired),
//     the rollback fails too, and nothing replaces the old tasks that stop.
//   - A deployment is a configuration, not a revision: ECS starts one for every
//     UpdateService with forceNewDeployment (the workers set it) or that changes
//     the network or capacity provider, and the breaker rolls back to "the last
//     successfully deployed service revision" (task definition, capacity
//     provider strategy, network configuration: "Amazon ECS service revisions",
//     ECS developer guide). A change of subnets, Spot or assignPublicIp alone is
//     a deployment of the same task definition, and so is its rollback: the
//     verdict judges the deployment this run started (created at or after the
//     run's start, WorkerRelease.Since), never just "a deployment of the
//     declared revision" (aws-actions/amazon-ecs-deploy-task-definition #860
//     fixed the same confusion by comparing deployment ids). The rollback
//     deployment's rolloutStateReason starts "ECS deployment circuit breaker:
//     rolling back to deploymentId" while it is under way (a real account's
//     DescribeServices in a public write-up, 2022; AWS's copilot-cli fixtures).
//   - The rollback can fail too (the old revision no longer starts, its tasks
//     stopped first): the rollback deployment is PRIMARY and FAILED, the
//     service deployment ROLLBACK_FAILED ("View service history using Amazon
//     ECS service deployments", ECS developer guide).
//   - After a rollback Pulumi's state still holds the declared revision; the next
//     `pulumi up` of the same code changes nothing, so the verdict compares what
//     runs with what is declared every time, and says so.

// WorkerRelease is a worker service and the release it is declared to run: its
// revision and its configuration.
type WorkerRelease struct {
	Worker         string // the name in the stack's config
	Cluster        string
	Service        string
	TaskDefinition string
	WorkerConfig
	Timeout time.Duration
	// Since is when this run began, before Pulumi's UpdateService: a
	// deployment of the declared revision created at or after it is the one
	// this run started. Zero: no such knowledge (the revision decides).
	Since time.Time
}

// WorkerConfig is what a worker's deployment runs on besides its revision: a
// deployment is of the declared release only if it has these too (a change of
// them alone is a deployment of the same revision, and so is its rollback).
type WorkerConfig struct {
	// CapacityProviders is the declared capacity provider strategy; nil: not
	// judged.
	CapacityProviders []CapacityProvider
	// Network is the declared awsvpc configuration; nil: not judged.
	Network *WorkerNetwork
}

// CapacityProvider is an item of a capacity provider strategy.
type CapacityProvider struct {
	Name         string
	Weight, Base int
}

// WorkerNetwork is a service's awsvpc configuration.
type WorkerNetwork struct {
	Subnets, SecurityGroups []string // sets: ECS may list them in any order
	AssignPublicIP          bool
}

// WorkerResult says what runs.
type WorkerResult struct {
	Deployment string // the ECS deployment id (ecs-svc/…)
	Summary    string
}

// WorkerState is the verdict on a worker service's deployments.
type WorkerState int

const (
	WorkerRolling        WorkerState = iota // the declared revision is rolling out
	WorkerDone                              // it runs, its deployment completed
	WorkerFailed                            // its deployment failed and nothing rolls back (stalled)
	WorkerRollingBack                       // it failed; the circuit breaker rolls back to an earlier revision
	WorkerRolledBack                        // another revision runs: rolled back (now or before)
	WorkerRollbackFailed                    // it failed, and so did the circuit breaker's rollback
)

// WorkerTarget is what EvaluateWorker judges a service's deployments against.
type WorkerTarget struct {
	TaskDefinition string
	WorkerConfig
	// Since: a deployment created at or after it (ECS's createdAt, to the
	// second) that is no rollback is one this run started (WorkerRelease.Since).
	Since time.Time
	// Deployment is the id of the deployment this run started, once a look
	// saw it; when it is no longer listed, what runs was rolled back to.
	Deployment string
}

// rollbackReason starts the rolloutStateReason of the circuit breaker's
// rollback deployment.
const rollbackReason = "ECS deployment circuit breaker: rolling back"

func isRollback(d *ecstypes.Deployment) bool {
	return strings.HasPrefix(aws.ToString(d.RolloutStateReason), rollbackReason)
}

// WorkerVerdict is EvaluateWorker's answer.
type WorkerVerdict struct {
	State WorkerState
	// Ours is the deployment of the declared revision (nil once it is gone);
	// Primary the service's most recent deployment.
	Ours, Primary *ecstypes.Deployment
	// Started says Ours is the deployment this run started.
	Started bool
}

// EvaluateWorker judges a service's deployments against the declared revision
// and, once known, the deployment this run started. It is pure, so its rules are
// table-tested apart from the polling. Of the deployments of the declared
// release, ours is the one this run started (one created since t.Since that is
// no rollback: a FAILED one, else the latest), else the PRIMARY one that is no
// rollback, else any that is no rollback, else the PRIMARY one. A rollback's reason may say so only
// while it is under way, and its createdAt may be new: WaitForWorker pins the
// deployment's id (t.Deployment) from the first look, long before any rollback.
func EvaluateWorker(deployments []ecstypes.Deployment, t WorkerTarget) WorkerVerdict {
	var v WorkerVerdict
	since := t.Since.Truncate(time.Second) // ECS's createdAt may be rounded
	started := func(d *ecstypes.Deployment) bool {
		return !t.Since.IsZero() && d.CreatedAt != nil && !d.CreatedAt.Before(since) && !isRollback(d)
	}
	best := -1
	for i := range deployments {
		d := &deployments[i]
		status := aws.ToString(d.Status)
		if status == "PRIMARY" {
			v.Primary = d
		}
		if status == "INACTIVE" {
			continue
		}
		if t.Deployment != "" {
			if aws.ToString(d.Id) == t.Deployment {
				v.Ours, v.Started = d, true
			}
			continue
		}
		if !t.declares(d) {
			continue
		}
		score := 0
		switch {
		case started(d) && d.RolloutState == ecstypes.DeploymentRolloutStateFailed:
			score = 8 // nothing later in this run makes it good
		case started(d): // whether PRIMARY or not: the latest one
			score = 4
		case !isRollback(d):
			score = 2
		}
		if status == "PRIMARY" && score < 4 {
			score++
		}
		if score > best || score == best && started(d) && d.CreatedAt.After(*v.Ours.CreatedAt) {
			v.Ours, v.Started, best = d, started(d), score
		}
	}
	back := func(failed WorkerState) WorkerState { // what the rollback to the primary has come to
		switch {
		case v.Primary == nil || v.Primary == v.Ours:
			return failed
		case v.Primary.RolloutState == ecstypes.DeploymentRolloutStateCompleted:
			return WorkerRolledBack
		case v.Primary.RolloutState == ecstypes.DeploymentRolloutStateFailed:
			return WorkerRollbackFailed
		}
		return WorkerRollingBack
	}
	switch {
	case v.Ours == nil && t.Deployment != "":
		// The deployment this run started is gone: what runs was rolled back to.
		v.State = back(WorkerRollingBack)
	case v.Ours != nil && v.Ours.RolloutState == ecstypes.DeploymentRolloutStateFailed:
		v.State = back(WorkerFailed)
	case v.Ours != nil && v.Ours == v.Primary:
		done := v.Ours.RolloutState == ecstypes.DeploymentRolloutStateCompleted ||
			// Without the circuit breaker ECS reports no rollout state: steady is the
			// only deployment with its desired count running.
			(v.Ours.RolloutState == "" && len(deployments) == 1 && v.Ours.RunningCount == v.Ours.DesiredCount)
		if done {
			v.State = WorkerDone
		}
	case v.Primary != nil && !t.declares(v.Primary):
		// Our deployment is gone (INACTIVE) or never became primary: what runs was
		// rolled back to, by the circuit breaker or by hand.
		v.State = WorkerRollingBack
		if v.Primary.RolloutState == ecstypes.DeploymentRolloutStateCompleted {
			v.State = WorkerRolledBack
		}
	}
	return v
}

func (t WorkerTarget) declares(d *ecstypes.Deployment) bool {
	what, _, _ := t.Differs(d)
	return what == ""
}

// Differs says how a deployment differs from the declared release: what differs
// (the revision, capacity provider strategy, subnets, security groups or
// assignPublicIp), what the deployment has and what is declared; "" when it is a
// deployment of the declared release. Subnets and security groups compare as
// sets, assignPublicIp absent as ECS's default, DISABLED.
func (t WorkerTarget) Differs(d *ecstypes.Deployment) (what, runs, declared string) {
	if td := aws.ToString(d.TaskDefinition); td != t.TaskDefinition {
		return "revision", shortARN(td), shortARN(t.TaskDefinition)
	}
	if t.CapacityProviders != nil {
		var got []CapacityProvider
		for _, c := range d.CapacityProviderStrategy {
			got = append(got, CapacityProvider{Name: aws.ToString(c.CapacityProvider), Weight: int(c.Weight), Base: int(c.Base)})
		}
		runs, declared := strategyString(got), strategyString(t.CapacityProviders)
		if len(got) == 0 && d.LaunchType != "" {
			runs = "none (launch type " + string(d.LaunchType) + ")"
		}
		if runs != declared {
			return "capacity provider strategy", runs, declared
		}
	}
	if t.Network != nil {
		var got ecstypes.AwsVpcConfiguration
		if n := d.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
			got = *n.AwsvpcConfiguration
		}
		ip := func(enabled bool) string {
			if enabled {
				return string(ecstypes.AssignPublicIpEnabled)
			}
			return string(ecstypes.AssignPublicIpDisabled)
		}
		for _, c := range []struct{ what, runs, declared string }{
			{"subnets", setString(got.Subnets), setString(t.Network.Subnets)},
			{"security groups", setString(got.SecurityGroups), setString(t.Network.SecurityGroups)},
			{"assignPublicIp", ip(got.AssignPublicIp == ecstypes.AssignPublicIpEnabled), ip(t.Network.AssignPublicIP)},
		} {
			if c.runs != c.declared {
				return c.what, c.runs, c.declared
			}
		}
	}
	return "", "", ""
}

func strategyString(items []CapacityProvider) string {
	var parts []string
	for _, c := range items {
		p := c.Name
		if c.Weight != 1 || c.Base != 0 {
			p += fmt.Sprintf(" (weight %d, base %d)", c.Weight, c.Base)
		}
		parts = append(parts, p)
	}
	return setString(parts)
}

func setString(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(slices.Values(items)), ",")
}

// WaitForWorker follows the worker's rolling deployment of the declared revision
// until it completes, and returns an error naming the worker and saying why when
// it fails: the circuit breaker's verdict and rollback, the stopped tasks with
// their stop codes, reasons, exit codes and last log lines (ro.Logs), or a
// revision crash-looping in a way the breaker does not count. It uses ro.ECS,
// ro.Logs and ro.Log, and makes no write call.
func (ro *Rollout) WaitForWorker(parent context.Context, w WorkerRelease) (WorkerResult, error) {
	ctx := parent
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, w.Timeout)
		defer cancel()
	}
	api, log := ro.ECS, ro.Log
	// Only tasks that stop from now on count (ListTasks(STOPPED) also returns tasks
	// stopped up to an hour ago); ECS's timestamps are rounded, so from the second.
	began := time.Now().Truncate(time.Second)
	last, failedSeen := "", ""
	// ECS's API is eventually consistent: a deployment Pulumi just started may be
	// missing from the first looks. Only a declared revision absent from several
	// looks in a row means it was rolled back before this run.
	absent, missing := 0, 0
	target := WorkerTarget{TaskDefinition: w.TaskDefinition, WorkerConfig: w.WorkerConfig, Since: w.Since}
	for {
		svc, found, err := describeWorker(ctx, api, w)
		if err != nil {
			return WorkerResult{}, workerWaitError(parent, ctx, w, err, last)
		}
		if !found {
			// The service itself may be missing from the first looks after Pulumi
			// created it, for the same reason (the ECS API follows an eventual
			// consistency model: RunTask and CreateService, ECS API reference; the
			// Terraform provider retries "service doesn't exist" for it,
			// hashicorp/terraform-provider-aws#11693).
			if missing++; missing >= absentLooks {
				return WorkerResult{}, fmt.Errorf("worker %s: service %s not found in cluster %s (MISSING or INACTIVE in %d looks in a row)", w.Worker, w.Service, w.Cluster, missing)
			}
			if err := ro.sleep(ctx); err != nil {
				return WorkerResult{}, workerWaitError(parent, ctx, w, err, last)
			}
			continue
		}
		missing = 0
		v := EvaluateWorker(svc.Deployments, target)
		failed := v.Ours != nil && v.Ours.RolloutState == ecstypes.DeploymentRolloutStateFailed
		if (v.Started || failed) && target.Deployment == "" {
			// From now on, this deployment is judged: the one this run started,
			// or a failed one of the declared release (when the start was not
			// recognised, a runner's clock ahead of AWS's, say).
			target.Deployment = aws.ToString(v.Ours.Id)
		}
		if failed && failedSeen == "" {
			failedSeen = aws.ToString(v.Ours.RolloutStateReason)
		}
		line := workerLine(v)
		if line != last {
			log.Info(fmt.Sprintf("worker %s: %s", w.Worker, line))
			last = line
		}
		switch v.State {
		case WorkerDone:
			if failedSeen != "" { // never "done" after a failure (the failed deployment is pinned: not reached)
				return WorkerResult{}, ro.workerFailure(ctx, w, WorkerVerdict{}, failedSeen, began, "the circuit breaker rolled the service back: "+rolledBackTo(v.Ours, target)+" runs again")
			}
			id := aws.ToString(v.Ours.Id)
			return WorkerResult{Deployment: id, Summary: WorkerSummary(w.TaskDefinition, id)}, nil
		case WorkerFailed:
			return WorkerResult{}, ro.workerFailure(ctx, w, v, "", began, "ECS launches no more tasks of it, and no earlier completed deployment exists to roll back to: fix the revision and `pulumi up` again")
		case WorkerRollbackFailed:
			return WorkerResult{}, ro.workerFailure(ctx, w, v, failedSeen, began, fmt.Sprintf("rollback to %s failed too: %s; the worker may run no task: fix the revision (or what the previous one needs) and `pulumi up` again",
				rolledBackTo(v.Primary, target), strings.TrimSuffix(aws.ToString(v.Primary.RolloutStateReason), ".")))
		case WorkerRolledBack:
			if v.Ours == nil && failedSeen == "" && target.Deployment == "" {
				if absent++; absent < absentLooks {
					break
				}
				// Rolled back before this run: Pulumi's state holds a release that
				// does not run.
				return WorkerResult{}, rolledBackEarlier(w, v.Primary, target)
			}
			return WorkerResult{}, ro.workerFailure(ctx, w, v, failedSeen, began, "the circuit breaker rolled the service back: "+rolledBackTo(v.Primary, target)+" runs again")
		case WorkerRollingBack:
		case WorkerRolling:
			// A revision whose tasks reach RUNNING before they exit is never counted
			// by the breaker: count its stopped tasks here.
			if v.Ours != nil && v.Ours.FailedTasks == 0 {
				stopped, err := ro.stoppedTasks(ctx, w.request(), began)
				if err != nil {
					return WorkerResult{}, workerWaitError(parent, ctx, w, err, last)
				}
				if n := failedTaskThreshold(v.Ours.DesiredCount); len(stopped) >= n && v.Ours.DesiredCount > 0 {
					return WorkerResult{}, fmt.Errorf("worker %s: revision %s crash-loops: %d tasks stopped (%s); the deployment circuit breaker has not tripped, since ECS stops counting failures once a task reached RUNNING, so ECS keeps replacing them while the previous revision's tasks keep running; fix the revision and `pulumi up` again, or roll back with `aws ecs update-service --cluster %s --service %s --task-definition <previous revision>`%s",
						w.Worker, shortARN(w.TaskDefinition), len(stopped), stopReasons(stopped), w.Cluster, w.Service, ro.workerReport(ctx, w, began))
				}
			}
		}
		if err := ro.sleep(ctx); err != nil {
			return WorkerResult{}, workerWaitError(parent, ctx, w, err, last)
		}
	}
}

// rolledBackTo names the deployment a rollback went to: its revision, and when
// that is the declared one too (a change of network or capacity provider
// only), its deployment id and what differs from the declared configuration.
func rolledBackTo(primary *ecstypes.Deployment, t WorkerTarget) string {
	td := shortARN(aws.ToString(primary.TaskDefinition))
	what, runs, declared := t.Differs(primary)
	switch what {
	case "revision":
		return td
	case "":
		return td + " in its previous configuration (deployment " + aws.ToString(primary.Id) + ")"
	}
	return fmt.Sprintf("%s in its previous configuration (deployment %s: %s %s, not the declared %s)", td, aws.ToString(primary.Id), what, runs, declared)
}

// rolledBackEarlier is the error for a service whose completed PRIMARY
// deployment is not of the declared release, when no look of this run saw a
// deployment of it: an earlier run's was rolled back, and Pulumi's state
// records the declared release all the same, so `pulumi up` changes nothing.
// `pulumi up --refresh` reads the service back as the provider does
// (terraform-provider-aws resourceServiceRead: the service's own
// taskDefinition, capacityProviderStrategy and networkConfiguration, not its
// deployments'), so it rolls the declared release out again wherever the
// service's own fields read back rolled back: the task definition does (the
// service's taskDefinition is the PRIMARY deployment's); that a rollback also
// resets the service's capacity provider strategy and network configuration
// AWS does not document.
func rolledBackEarlier(w WorkerRelease, primary *ecstypes.Deployment, t WorkerTarget) error {
	what, runs, declared := t.Differs(primary)
	td := shortARN(aws.ToString(primary.TaskDefinition))
	if what == "revision" {
		return fmt.Errorf("worker %s runs %s, not the declared %s: its rolling deployment was rolled back (by the deployment circuit breaker, or by hand) and Pulumi's state still records the declared revision; fix the revision and `pulumi up`, or `pulumi up --refresh` to roll the same revision out again",
			w.Worker, runs, declared)
	}
	return fmt.Errorf("worker %s runs %s with %s %s, not the declared %s (deployment %s): its rolling deployment of that configuration was rolled back (by the deployment circuit breaker, or by hand) and Pulumi's state still records it; fix what it needs and `pulumi up --refresh`, which rolls it out again if the refresh reads the service's own %s back as rolled back (AWS does not document that a rollback resets it), else change the worker's settings, or `pulumi up --replace` its service",
		w.Worker, td, what, runs, declared, aws.ToString(primary.Id), what)
}

// absentLooks is how many looks in a row must miss the declared revision before
// the verdict calls it rolled back earlier.
const absentLooks = 3

// WorkerSummary says what a worker runs (the workerRollouts output): it depends on
// what runs only, so an unchanged stack shows no output change.
func WorkerSummary(taskDefinition, deployment string) string {
	return fmt.Sprintf("%s runs (deployment %s completed)", shortARN(taskDefinition), deployment)
}

// describeWorker reads the worker's service; found is false when ECS answers it
// MISSING (a failure, no service) or INACTIVE.
func describeWorker(ctx context.Context, api ECS, w WorkerRelease) (svc ecstypes.Service, found bool, err error) {
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(w.Cluster), Services: []string{w.Service}})
	if err != nil {
		return ecstypes.Service{}, false, fmt.Errorf("failed to describe worker service %s: %w", w.Service, err)
	}
	if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE" {
		return ecstypes.Service{}, false, nil
	}
	return out.Services[0], true, nil
}

func workerLine(v WorkerVerdict) string {
	d := v.Ours
	if d == nil {
		d = v.Primary
	}
	if d == nil {
		return "no deployment"
	}
	line := fmt.Sprintf("%s %s: %d of %d tasks running, %d pending", shortARN(aws.ToString(d.TaskDefinition)), strings.ToLower(string(d.RolloutState)), d.RunningCount, d.DesiredCount, d.PendingCount)
	if d.FailedTasks > 0 {
		line += fmt.Sprintf(", %d failed", d.FailedTasks)
	}
	if r := aws.ToString(d.RolloutStateReason); r != "" && d.RolloutState == ecstypes.DeploymentRolloutStateFailed {
		line += " (" + r + ")"
	}
	return line
}

// workerFailure describes a failed deployment of the declared revision: the
// circuit breaker's reason, what became of the service, and the tasks that stopped.
// reason is the breaker's reason as seen earlier, for when the failed deployment
// is no longer listed.
func (ro *Rollout) workerFailure(ctx context.Context, w WorkerRelease, v WorkerVerdict, reason string, began time.Time, then string) error {
	msg := fmt.Sprintf("worker %s: rolling deployment of %s failed", w.Worker, shortARN(w.TaskDefinition))
	if v.Ours != nil {
		reason = aws.ToString(v.Ours.RolloutStateReason)
	}
	if reason = strings.TrimSuffix(reason, "."); reason != "" {
		msg += ": " + reason
	}
	msg += "; " + then
	// The stopped tasks are the evidence; failing to list them must not hide the verdict.
	stopped, err := ro.stoppedTasks(ctx, w.request(), began)
	switch {
	case err != nil:
		msg += fmt.Sprintf(" (its stopped tasks could not be read: %v)", err)
	case len(stopped) > 0:
		msg += fmt.Sprintf("; stopped tasks: %s", stopReasons(stopped))
	}
	return errors.New(msg + ro.workerReport(ctx, w, began))
}

// request is the worker's service and revision as the web rollout's task reads
// take them.
func (w WorkerRelease) request() Request {
	return Request{Cluster: w.Cluster, Service: w.Service, TaskDefinition: w.TaskDefinition}
}

// workerReport is the failure report's part about the revision's stopped tasks:
// each one's stop code, reason and exit codes, and each container's last log
// lines from its awslogs stream (diagnose.go); "" when there is nothing to show.
func (ro *Rollout) workerReport(ctx context.Context, w WorkerRelease, began time.Time) string {
	lines := ro.stoppedTaskReport(ctx, w.request(), w.TaskDefinition, began)
	if len(lines) == 0 {
		return ""
	}
	return "\nwhy it failed:\n  " + strings.Join(lines, "\n  ")
}

func workerWaitError(parent, ctx context.Context, w WorkerRelease, err error, last string) error {
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("worker %s: interrupted while its rolling deployment of %s was under way (ECS carries on): %w", w.Worker, shortARN(w.TaskDefinition), parent.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("worker %s: rolling deployment of %s did not complete within %s (%s); ECS carries on with it", w.Worker, shortARN(w.TaskDefinition), w.Timeout, last)
	}
	return fmt.Errorf("worker %s: %w", w.Worker, err)
}
