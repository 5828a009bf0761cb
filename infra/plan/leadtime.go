package plan

import (
	"fmt"
	"time"

	"ecs-bluegreen/infra"
)

// TaskStartup is the assumed time from CodeDeploy creating the replacement task
// set to its tasks running: Fargate placement, image pull, container start.
const TaskStartup = infra.TaskStartup

// Step is one phase of a rollout.
type Step struct {
	Name     string        `json:"name"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"durationNs"`
}

// LeadTime estimates a rollout from deployment start.
type LeadTime struct {
	Steps []Step `json:"steps"`
	// ToAllTraffic ends when all traffic is on the new tasks.
	ToAllTraffic time.Duration `json:"toAllTrafficNs"`
	// ToComplete adds the termination wait and the old tasks' draining.
	ToComplete time.Duration `json:"toCompleteNs"`
}

// EstimateLeadTime derives the rollout time from the configuration.
func EstimateLeadTime(cfg *infra.Config) LeadTime {
	e, s, d := cfg.Edge, cfg.Service, cfg.Deploy
	healthChecks := time.Duration(e.HealthyThreshold*e.HealthCheckIntervalSeconds) * time.Second
	grace := time.Duration(s.HealthCheckGracePeriodSeconds) * time.Second
	healthy := max(healthChecks, grace)
	steps := []Step{
		{"start new tasks", "Fargate placement, image pull, container start (assumed)", TaskStartup},
		{"new tasks healthy", fmt.Sprintf("max(%d checks × %ds interval, %ds grace period)", e.HealthyThreshold, e.HealthCheckIntervalSeconds, s.HealthCheckGracePeriodSeconds), healthy},
		{"shift traffic", d.DeploymentConfig, infra.TrafficShift[d.DeploymentConfig]},
		{"termination wait", "old tasks kept for a fast rollback", time.Duration(d.TerminationWaitMinutes) * time.Minute},
		{"drain old tasks", "target group deregistration delay", time.Duration(e.DeregistrationDelaySeconds) * time.Second},
	}
	lt := LeadTime{Steps: steps}
	for i, st := range steps {
		if i < 3 {
			lt.ToAllTraffic += st.Duration
		}
		lt.ToComplete += st.Duration
	}
	return lt
}

// Target is a limit the plan checks the estimate against.
type Target struct {
	MonthlyUSD   float64       // at the minimum task count
	ToAllTraffic time.Duration // 0: not checked
	ToComplete   time.Duration // 0: not checked
}

// Targets per environment: what a stack should cost and how fast it should roll out.
var Targets = map[string]Target{
	"dev":  {MonthlyUSD: 45, ToAllTraffic: 4 * time.Minute},
	"prod": {MonthlyUSD: 180, ToComplete: 20 * time.Minute},
}
