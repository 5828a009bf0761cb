package fakeaws

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rolling services: more ECS services in the sim's cluster, with the rolling (ECS)
// deployment controller and the deployment circuit breaker — the stack's workers.
// Pulumi's CreateService and UpdateService reach them through PutRollingService;
// DescribeServices, ListTasks and DescribeTasks answer for them as ECS does (each
// claim with its source):
//   - an UpdateService that changes the task definition, network configuration or
//     capacity provider, or that sets forceNewDeployment, starts a new deployment,
//     PRIMARY and IN_PROGRESS (UpdateService, ECS API reference); one that changes
//     only the desired count starts none in ECS. The workers set
//     forceNewDeployment, which the Terraform provider sends with every
//     UpdateService (internal/service/ecs/service.go, resourceServiceUpdate), so
//     every change of a worker's service starts one, and PutRollingService starts
//     one for every change it sees. The deployment before turns ACTIVE while its
//     tasks still run, and INACTIVE (gone from the list) once the new one completed
//     (Deployment.status, ECS API reference);
//   - a healthy revision reaches its desired count and COMPLETED after Steps looks;
//     with a desired count of 0 it completes at once;
//   - a revision whose tasks fail in a way the circuit breaker counts (they never
//     reach RUNNING, or fail their health checks) stops a task a look, each raising
//     failedTasks; at 0.5 × the desired count, at least 3 and at most 200
//     (ServiceDeploymentCircuitBreaker.threshold) the deployment is FAILED with
//     "ECS deployment circuit breaker: tasks failed to start."; with rollback ECS
//     rolls back to the most recent COMPLETED deployment ("How the Amazon ECS
//     deployment circuit breaker detects failures", ECS developer guide) by
//     starting a new deployment of its configuration: a new id, createdAt now,
//     no task running, rolloutStateReason "ECS deployment circuit breaker:
//     rolling back to deploymentId <old id>." ("If a new deployment is started
//     because a previous deployment failed and a rollback occurred, the reason
//     field … indicates … rollback", same guide; aws/copilot-cli#4838, 2023-05-04:
//     "a new deployment of Revision 2 rather than … the pre-existing
//     deployment"). It launches tasks of the old revision, which crash as that
//     revision's do, and completes after Steps looks, when the failed deployment
//     and the old one turn INACTIVE; with no COMPLETED deployment the failed one
//     stays PRIMARY and stalls;
//   - a revision whose tasks reach RUNNING before they exit is not counted:
//     "once a service deployment has one or more successfully running tasks, the
//     failed task count resets to zero and stops being evaluated"
//     (Deployment.failedTasks) — its deployment stays IN_PROGRESS while tasks keep
//     stopping;
//   - tasks a service starts carry the deployment's id in startedBy (RunTask's
//     startedBy, ECS API reference);
//   - a deployment is a configuration, not only a task definition: the service
//     revision it deploys records the task definition, the capacity provider
//     strategy and the network configuration, and a rollback goes back to "the
//     last successfully deployed service revision" ("Amazon ECS service
//     revisions", ECS developer guide, read 2026-05). So a forced deployment of
//     the same task definition in other subnets or on Fargate Spot can fail
//     and be rolled back to the same task definition in the old subnets or
//     capacity provider: WorkerCrash.CapacityProvider and .Subnets fail one
//     configuration of a revision and not another. The rollback deployment's
//     rolloutStateReason is "ECS deployment circuit breaker: rolling back to
//     deploymentId ecs-svc/…." (DescribeServices output of a real account in a
//     public write-up, 2022, and AWS's own copilot-cli fixtures);
//   - deploymentConfiguration: minimumHealthyPercent is the lower limit of
//     RUNNING tasks during a deployment, as a percentage of the desired count
//     rounded up, maximumPercent the upper limit rounded down
//     (DeploymentConfiguration, ECS API reference; "Rolling update", ECS
//     developer guide): below 100 ECS may stop old tasks before it starts new
//     ones, and the sim does exactly that when a deployment starts, so a
//     crashing revision leaves fewer (at 0: no) working tasks. DescribeServices
//     echoes the declared percentages;
//   - a rollback deployment whose own tasks fail too (the old revision no
//     longer starts: a secret removed, an image expired) fails like any other:
//     PRIMARY and FAILED, and is not rolled back in turn (the service
//     deployment ends ROLLBACK_FAILED, "View service history using Amazon ECS
//     service deployments", ECS developer guide). The old deployment's tasks
//     that still run are left ACTIVE here; nothing replaces them once they stop.

// RollingSpec is what Pulumi's CreateService or UpdateService declares for a
// service with the ECS deployment controller.
type RollingSpec struct {
	Name, Cluster, TaskDefinition string
	DesiredCount                  int
	CircuitBreaker, Rollback      bool
	Subnets, SecurityGroups       []string
	AssignPublicIP                bool
	CapacityProvider              string
	// MinHealthyPercent and MaxPercent are deploymentConfiguration's
	// percentages; with MaxPercent 0 (not declared) ECS's defaults for the
	// rolling controller, 100 and 200 (DeploymentConfiguration).
	MinHealthyPercent, MaxPercent int
}

// percents are the deployment percentages the service runs with.
func (sp RollingSpec) percents() (minHealthy, maxPercent int) {
	if sp.MaxPercent == 0 {
		return 100, 200
	}
	return sp.MinHealthyPercent, sp.MaxPercent
}

// WorkerCrash is how a rolling revision's tasks fail.
type WorkerCrash struct {
	Reason   string // the task's stoppedReason
	StopCode string // default EssentialContainerExited
	ExitCode int    // the container's exit code
	// Uncounted: the tasks reach RUNNING before they exit, so the circuit breaker
	// never counts them.
	Uncounted bool
	// Logs are the app container's last lines, in its awslogs stream.
	Logs []string
	// CapacityProvider and Subnets, when set, fail only the deployments of the
	// revision with that capacity provider, or in exactly those subnets: one
	// configuration of a revision, not another (a subnet without a route to
	// ECR, say, whose tasks end in CannotPullContainerError).
	CapacityProvider string
	Subnets          []string
	// Times, when set, fails only that many tasks, then the revision starts
	// again: a passing cause (Fargate Spot capacity, an ECR outage).
	Times int
}

// fails says whether the crash applies to a deployment's configuration.
func (c WorkerCrash) fails(d *rollingDeployment) bool {
	return (c.CapacityProvider == "" || c.CapacityProvider == d.capacity) && (c.Subnets == nil || slices.Equal(c.Subnets, d.subnets))
}

type rollingService struct {
	spec        RollingSpec
	deployments []*rollingDeployment // newest first, as DescribeServices lists them
	updates     int
	// gap is how many looks each DescribeServices after the first since the
	// last update moves the service on (SlowPolls; 0: one).
	gap, described int
	// stale is how many more DescribeServices answers leave out the newest
	// deployment (HideNewest).
	stale int
}

// HideNewest makes the next looks DescribeServices answers of a rolling service
// leave out its newest deployment, as a read that has not caught up with the
// UpdateService before it would: "The Amazon ECS API follows an eventual
// consistency model … the result of an API command you run that affects your
// Amazon ECS resources might not be immediately visible to all subsequent
// commands you run" (Amazon ECS API reference, RunTask). That a stale read lists
// the old deployment as PRIMARY is this sim's reading of it, unverified.
func (s *Sim) HideNewest(name string, looks int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs := s.rolling[name]; rs != nil {
		rs.stale = looks
	}
}

// SlowPolls makes each DescribeServices of a rolling service after the first
// since its last update move it looks on instead of one, as when the verdict's polls are further
// apart than ECS's steps (a runner suspended, throttled retries): a poll may
// then miss a state, a FAILED deployment drained while its rollback completed.
func (s *Sim) SlowPolls(name string, looks int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs := s.rolling[name]; rs != nil {
		rs.gap = looks
	}
}

type rollingDeployment struct {
	id, td, status, rollout, reason string
	desired, running, failed        int
	looks                           int
	created, updated                time.Time
	// capacity, subnets, securityGroups and publicIP are the deployment's
	// configuration.
	capacity                string
	subnets, securityGroups []string
	publicIP                bool
	// rollbackOf is the id of the deployment a circuit-breaker rollback
	// deploys again ("" for any other deployment).
	rollbackOf string
	// lowest is the fewest tasks it ran since a later deployment started (-1:
	// none started).
	lowest int
}

// PutRollingService is CreateService (first call) or UpdateService (later calls)
// of a rolling service. A call that changes nothing ECS deploys starts no
// deployment, as Pulumi makes no call then.
func (s *Sim) PutRollingService(spec RollingSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rolling == nil {
		s.rolling = map[string]*rollingService{}
	}
	rs, ok := s.rolling[spec.Name]
	if ok && sameRolling(rs.spec, spec) {
		return
	}
	if !ok {
		rs = &rollingService{}
		s.rolling[spec.Name] = rs
		s.event("rolling service %s created on %s with %d tasks", spec.Name, spec.TaskDefinition, spec.DesiredCount)
	} else {
		rs.updates++
		s.event("rolling service %s updated to %s with %d tasks", spec.Name, spec.TaskDefinition, spec.DesiredCount)
	}
	rs.spec, rs.described = spec, 0
	d := s.startRolling(rs, &rollingDeployment{td: spec.TaskDefinition, desired: spec.DesiredCount,
		capacity: spec.CapacityProvider, subnets: spec.Subnets, securityGroups: spec.SecurityGroups, publicIP: spec.AssignPublicIP})
	d.reason = fmt.Sprintf("ECS deployment %s in progress.", d.id)
}

// startRolling makes d the service's new PRIMARY deployment, IN_PROGRESS and
// with no task yet, the one before ACTIVE.
func (s *Sim) startRolling(rs *rollingService, d *rollingDeployment) *rollingDeployment {
	now := time.Now()
	// Below 100 % minimum healthy, ECS stops old tasks down to the minimum
	// before it starts new ones.
	minHealthy, _ := rs.spec.percents()
	keep := (rs.spec.DesiredCount*minHealthy + 99) / 100
	for _, old := range rs.deployments {
		if old.status == "PRIMARY" {
			old.status = "ACTIVE"
		}
		if old.status == "ACTIVE" {
			old.running = min(old.running, keep)
			keep -= old.running
			if old.lowest < 0 || old.running < old.lowest {
				old.lowest = old.running
			}
		}
	}
	d.id, d.status, d.rollout, d.created, d.updated, d.lowest = s.next("ecs-svc/"), "PRIMARY", "IN_PROGRESS", now, now, -1
	rs.deployments = append([]*rollingDeployment{d}, rs.deployments...)
	return d
}

func sameRolling(a, b RollingSpec) bool {
	return a.TaskDefinition == b.TaskDefinition && a.DesiredCount == b.DesiredCount && a.AssignPublicIP == b.AssignPublicIP &&
		a.CapacityProvider == b.CapacityProvider && slices.Equal(a.Subnets, b.Subnets) && slices.Equal(a.SecurityGroups, b.SecurityGroups) &&
		a.CircuitBreaker == b.CircuitBreaker && a.Rollback == b.Rollback &&
		a.MinHealthyPercent == b.MinHealthyPercent && a.MaxPercent == b.MaxPercent
}

// WorkerCrashes makes the tasks of a rolling revision fail as c says (in every
// configuration, or in the one c names).
func (s *Sim) WorkerCrashes(taskDefinition string, c WorkerCrash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.workerCrash == nil {
		s.workerCrash = map[string]WorkerCrash{}
	}
	if c.StopCode == "" {
		c.StopCode = "EssentialContainerExited"
	}
	s.workerCrash[taskDefinition] = c
}

// RollingDeployment is a rolling service's deployment as the sim knows it.
type RollingDeployment struct {
	ID, TaskDefinition, Status, RolloutState, Reason string
	CapacityProvider                                 string
	Subnets                                          []string
	// RollbackOf is the deployment a rollback deploys again ("": none).
	RollbackOf string
	Running    int
	// LowestRunning is the fewest tasks it ran since a later deployment
	// started; -1 when none started.
	LowestRunning int
}

// RollingService returns what a rolling service runs (the PRIMARY deployment's
// task definition), its deployments newest first, and how often it was updated;
// "" when there is no such service.
func (s *Sim) RollingService(name string) (taskDefinition string, deployments []RollingDeployment, updates int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.rolling[name]
	if rs == nil {
		return "", nil, 0
	}
	for _, d := range rs.deployments {
		if d.status == "PRIMARY" {
			taskDefinition = d.td
		}
		deployments = append(deployments, RollingDeployment{ID: d.id, TaskDefinition: d.td, Status: d.status, RolloutState: d.rollout, Reason: d.reason,
			CapacityProvider: d.capacity, Subnets: d.subnets, RollbackOf: d.rollbackOf, Running: d.running, LowestRunning: d.lowest})
	}
	return taskDefinition, deployments, rs.updates
}

// rollingFor answers for the rolling service named in a request, or nil.
func (s *Sim) rollingFor(name any) *rollingService {
	n := fmt.Sprint(name)
	for key, rs := range s.rolling {
		if n == key || strings.HasSuffix(n, "/"+key) {
			return rs
		}
	}
	return nil
}

// circuitThreshold is when the breaker trips (ServiceDeploymentCircuitBreaker).
func circuitThreshold(desired int) int { return min(200, max(3, (desired+1)/2)) }

// advanceRolling moves a rolling service's deployments one look on.
func (s *Sim) advanceRolling(rs *rollingService) {
	now := time.Now()
	var primary *rollingDeployment
	for _, d := range rs.deployments {
		if d.status == "PRIMARY" {
			primary = d
		}
	}
	if primary == nil || primary.rollout != "IN_PROGRESS" {
		s.drainRolling(rs, primary)
		return
	}
	primary.looks++
	crash, broken := s.workerCrash[primary.td]
	broken = broken && crash.fails(primary)
	switch {
	case primary.desired == 0:
		primary.rollout, primary.reason, primary.updated = "COMPLETED", fmt.Sprintf("ECS deployment %s completed.", primary.id), now
	case !broken:
		if primary.looks >= s.Steps {
			primary.running = primary.desired
			primary.rollout, primary.reason, primary.updated = "COMPLETED", fmt.Sprintf("ECS deployment %s completed.", primary.id), now
			s.event("rolling service %s: deployment %s of %s completed", rs.spec.Name, primary.id, primary.td)
		}
	default: // each look, another task of the broken revision has stopped
		t := s.newTask(primary.td, primary.id)
		for _, line := range crash.Logs {
			s.log(t, "app", line)
		}
		t.stopped, t.reason, t.stopCode, t.exit, t.stoppedAt, t.containers = true, crash.Reason, crash.StopCode, crash.ExitCode, now, []string{"app"}
		if crash.Times > 0 {
			if crash.Times--; crash.Times == 0 {
				delete(s.workerCrash, primary.td)
			} else {
				s.workerCrash[primary.td] = crash
			}
		}
		if crash.Uncounted {
			break
		}
		primary.failed++
		if primary.failed < circuitThreshold(primary.desired) || !rs.spec.CircuitBreaker {
			break
		}
		primary.rollout, primary.reason, primary.updated = "FAILED", "ECS deployment circuit breaker: tasks failed to start.", now
		s.event("rolling service %s: deployment %s of %s failed", rs.spec.Name, primary.id, primary.td)
		if !rs.spec.Rollback || primary.rollbackOf != "" { // a failed rollback is not rolled back
			break
		}
		for _, d := range rs.deployments {
			if d != primary && d.rollout == "COMPLETED" && d.status != "INACTIVE" {
				// A new deployment of the old one's configuration, which launches
				// tasks of its own (see above).
				back := s.startRolling(rs, &rollingDeployment{td: d.td, desired: primary.desired, capacity: d.capacity,
					subnets: d.subnets, securityGroups: d.securityGroups, publicIP: d.publicIP, rollbackOf: d.id})
				back.reason = fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", d.id)
				s.event("rolling service %s: rolling back to %s (%s) as %s", rs.spec.Name, d.id, d.td, back.id)
				break
			}
		}
	}
	s.drainRolling(rs, primary)
}

// drainRolling retires the deployments a completed primary replaced.
func (s *Sim) drainRolling(rs *rollingService, primary *rollingDeployment) {
	if primary == nil || primary.rollout != "COMPLETED" {
		return
	}
	for _, d := range rs.deployments {
		if d != primary && d.status == "ACTIVE" {
			d.status, d.running = "INACTIVE", 0
		}
	}
}

func (s *Sim) describeRolling(rs *rollingService) map[string]any {
	s.advanceRolling(rs)
	for i := 1; rs.described > 0 && i < rs.gap; i++ {
		s.advanceRolling(rs)
	}
	rs.described++
	deps := []any{}
	td, running := "", 0
	deployments, stale := rs.deployments, false
	if rs.stale > 0 && len(deployments) > 1 {
		rs.stale--
		deployments, stale = deployments[1:], true // newest first: the one not yet seen
	}
	for i, d := range deployments {
		if d.status == "INACTIVE" { // completely replaced: no longer listed
			continue
		}
		status := d.status
		if stale && i == 0 && status == "ACTIVE" { // as it was before the update
			status = "PRIMARY"
		}
		if status == "PRIMARY" {
			td = d.td
		}
		running += d.running
		dep := map[string]any{
			"id": d.id, "status": status, "taskDefinition": d.td,
			"desiredCount": d.desired, "runningCount": d.running, "pendingCount": max(0, d.desired-d.running), "failedTasks": d.failed,
			"rolloutState": d.rollout, "rolloutStateReason": d.reason,
			"createdAt": float64(d.created.UnixMilli()) / 1000, "updatedAt": float64(d.updated.UnixMilli()) / 1000,
		}
		// A deployment has a launch type or a capacity provider strategy, not both (Deployment).
		if d.capacity == "" {
			dep["launchType"] = "FARGATE"
		} else {
			dep["capacityProviderStrategy"] = []any{map[string]any{"capacityProvider": d.capacity, "weight": 1, "base": 0}}
		}
		// Each deployment's own network configuration (Deployment.networkConfiguration).
		if d.subnets != nil {
			ip := "DISABLED"
			if d.publicIP {
				ip = "ENABLED"
			}
			dep["networkConfiguration"] = map[string]any{"awsvpcConfiguration": map[string]any{
				"subnets": d.subnets, "securityGroups": d.securityGroups, "assignPublicIp": ip}}
		}
		deps = append(deps, dep)
	}
	minHealthy, maxPercent := rs.spec.percents()
	return map[string]any{
		"serviceName": rs.spec.Name, "clusterArn": rs.spec.Cluster, "status": "ACTIVE",
		"desiredCount": rs.spec.DesiredCount, "runningCount": running, "taskDefinition": td,
		"deploymentController": map[string]any{"type": "ECS"},
		"deploymentConfiguration": map[string]any{
			"deploymentCircuitBreaker": map[string]any{"enable": rs.spec.CircuitBreaker, "rollback": rs.spec.Rollback},
			"maximumPercent":           maxPercent, "minimumHealthyPercent": minHealthy,
		},
		"deployments": deps,
	}
}

// rollingStopped lists a rolling service's stopped tasks, oldest first.
func (s *Sim) rollingStopped(rs *rollingService) []string {
	ids := map[string]bool{}
	for _, d := range rs.deployments {
		ids[d.id] = true
	}
	arns := []string{}
	for _, arn := range s.taskOrder {
		if t := s.tasks[arn]; t.stopped && ids[t.startedBy] {
			arns = append(arns, arn)
		}
	}
	return arns
}
