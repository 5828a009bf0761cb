package plan_test

import (
	"path/filepath"
	"testing"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/offline"
	"ecs-bluegreen/infra/plan"
)

// TestPlanSnapshotWorkers: the plan of the README's example stack file (dev with
// a queue, a worker and two schedules), as infra/testdata/plan-dev-workers.txt.
func TestPlanSnapshotWorkers(t *testing.T) {
	t.Chdir("../..")
	dir := t.TempDir()
	if err := offline.ExampleProject(dir, ".", "dev"); err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(dir, "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, p.Text(), filepath.Join("infra", "testdata", "plan-dev-workers.txt"))
}

// TestJobCosts: workers at their minimum and maximum counts, schedule runs at
// their frequency, SQS and Scheduler requests, the jobs' alarms — worked out by
// hand with testPrices (100 hours a month, Spot at half price).
func TestJobCosts(t *testing.T) {
	sqs, sched := 0.5, 2.0
	p := testPrices()
	rp := p.Regions["xx-test-1"]
	rp.SQSPerMillion, rp.SchedulerPerMillion = &sqs, &sched
	p.Regions["xx-test-1"] = rp
	p.Usage.ScheduleRunMinutes, p.Usage.SQSMessagesPerQueue, p.Usage.SQSPollsPerMinute = 30, 1e6, 3
	cfg := testConfig()
	cfg.Network = infra.NetworkConfig{AZCount: 2, NATGateways: "none"}
	cfg.Jobs = infra.JobsConfig{
		Queues: map[string]infra.QueueConfig{"jobs": {}},
		Workers: map[string]infra.WorkerConfig{
			"worker": {CPU: 1024, Memory: 2048, MinCount: 1, MaxCount: 3, Scaling: "queue", Queue: "jobs", Spot: true},
		},
		Schedules: map[string]infra.ScheduleConfig{
			// daily: 365 runs a year, 30.42 a month; 10 min timeout caps the assumed 30.
			"report": {Expression: "cron(0 3 * * ? *)", Timezone: "UTC", CPU: 1024, Memory: 2048, TimeoutMinutes: 10},
		},
	}
	c, err := plan.EstimateCost(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	// A task-hour: 1 vCPU×0.04 + 2 GB×0.005 = 0.05. The schedule: 30.4167 runs ×
	// 10 min = 5.07 h × 0.05 = 0.25, and its public IPv4 while it runs 5.07 h × 0.01
	// = 0.05; Scheduler 30.4 invocations × 2/M ≈ 0;
	// SQS messages 3M requests × 0.5/M = 1.5; alarms: the job-failure alarm and the
	// worker's backlog (1 metric) and idle (2) alarms, 4 × 0.1 = 0.4.
	checkItems(t, "fixed", c.Fixed, map[string]float64{
		"Public IPv4: load balancer and NAT": 2, "Application Load Balancer": 4, "ECR storage": 1, "CloudWatch alarms": 0.4,
		"Schedule report": 0.25, "Public IPv4: schedule runs": 0.05, "EventBridge Scheduler": 0, "SQS requests: messages": 1.5, "CloudWatch alarms: workers and jobs": 0.4,
	})
	// At the minimum, one Spot worker task: 0.05×0.5×100 = 2.5; its IPv4 0.01×100 = 1;
	// its logs 1 GB × 0.5 + 1 GB × 30/(365/12) × 0.1 = 0.60; polling 3×60×100 =
	// 18,000 receives × 0.5/M = 0.01. The web's own items as in TestEstimateCost.
	checkItems(t, "at min", c.AtMin, map[string]float64{
		"Fargate on-demand": 10, "Public IPv4: tasks": 2, "CloudWatch Logs": 1.20,
		"Worker worker": 2.5, "Public IPv4: workers": 1, "CloudWatch Logs: workers": 0.60, "SQS requests: polling": 0.01,
	})
	// At the maximum, three: 7.5, 3, logs 1.5 + 3 × 30/(365/12) × 0.1 = 1.80, 0.03.
	checkItems(t, "at max", c.AtMax, map[string]float64{
		"Fargate on-demand": 20, "Public IPv4: tasks": 4, "CloudWatch Logs": 2.39,
		"Worker worker": 7.5, "Public IPv4: workers": 3, "CloudWatch Logs: workers": 1.80, "SQS requests: polling": 0.03,
	})

	// A region without an SQS or Scheduler price says so and counts nothing.
	rp.SQSPerMillion, rp.SchedulerPerMillion = nil, nil
	p.Regions["xx-test-1"] = rp
	c, err = plan.EstimateCost(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range c.Fixed {
		if it.Name == "SQS requests: messages" && (it.Monthly != 0 || it.Detail != "3000000 requests (1 queue × 1000000 messages × send, receive, delete; assumed); no SQS price in prices.json for xx-test-1, not counted") {
			t.Errorf("%+v", it)
		}
	}
}

// TestRunsPerMonth: a schedule's expected runs, in its time zone.
func TestRunsPerMonth(t *testing.T) {
	for expr, want := range map[string]float64{"rate(1 hour)": 730, "cron(0 3 * * ? *)": 365.0 / 12, "cron(0 9 ? * MON-FRI *)": 261.0 / 12, "rate(15 minutes)": 2920} {
		got, err := plan.RunsPerMonth(infra.ScheduleConfig{Expression: expr, Timezone: "Asia/Seoul"})
		if err != nil || got != want {
			t.Errorf("%s: %v runs a month (%v), want %v", expr, got, err, want)
		}
	}
}
