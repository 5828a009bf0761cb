package plan_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/plan"
)

var update = flag.Bool("update", false, "rewrite the plan snapshots in infra/testdata")

// TestPlanSnapshots compares each stack's plan with its reviewed snapshot, so a
// pull request shows infrastructure, cost and rollout-time changes as a diff of
// infra/testdata/plan-<stack>.txt. Rewrite them with: go test ./infra/plan -update
func TestPlanSnapshots(t *testing.T) {
	t.Chdir("../..") // the project directory, as under Pulumi
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			p, err := plan.Build(".", stack, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkSnapshot(t, p.Text(), filepath.Join("infra", "testdata", "plan-"+stack+".txt"))
		})
	}
}

// checkSnapshot compares a plan with its reviewed snapshot, or rewrites it with -update.
func checkSnapshot(t *testing.T, got, path string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./infra/plan -update)", err)
	}
	if diff := lineDiff(string(want), got); diff != "" {
		t.Errorf("plan differs from %s (review, then go test ./infra/plan -update):\n%s", path, diff)
	}
}

// lineDiff lists the lines that differ, with their line numbers: enough to review
// a changed snapshot without a diff tool.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  - %s\n  + %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestTargets: the committed stacks meet their cost and rollout targets in both
// regions the team considers.
func TestTargets(t *testing.T) {
	t.Chdir("../..")
	for _, stack := range []string{"dev", "prod"} {
		for _, region := range []string{"ap-northeast-2", "us-east-1"} {
			p, err := plan.Build(".", stack, map[string]string{"aws:region": region})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Checks) != 2 {
				t.Fatalf("%s in %s: %d checks, want cost and lead time", stack, region, len(p.Checks))
			}
			for _, c := range p.Checks {
				if !c.OK {
					t.Errorf("%s in %s: %s is %s, target %s", stack, region, c.What, c.Value, c.Target)
				}
			}
		}
	}
}

func TestPlanJSON(t *testing.T) {
	t.Chdir("../..")
	p, err := plan.Build(".", "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Stack    string `json:"stack"`
		Cost     struct{ MinTotalUsd, MaxTotalUsd float64 }
		LeadTime struct{ ToCompleteNs int64 }
		Checks   []struct{ OK bool }
	}
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back.Stack != "prod" || back.Cost.MinTotalUsd != p.Cost.MinTotal || back.Cost.MaxTotalUsd != p.Cost.MaxTotal ||
		time.Duration(back.LeadTime.ToCompleteNs) != p.LeadTime.ToComplete || len(back.Checks) != 2 {
		t.Errorf("JSON does not carry the plan: %s", out)
	}
}

// testPrices are round numbers, so the expected figures below can be worked out by hand.
func testPrices() *plan.Prices {
	return &plan.Prices{
		HoursPerMonth: 100, SpotDiscount: 0.5,
		Usage: plan.Usage{ALBLCUs: 2, NATGBPerGateway: 10, LogGBPerTask: 1, ImageGB: 0.5},
		Regions: map[string]plan.RegionPrices{"xx-test-1": {
			NATHour: 0.1, NATGB: 0.05, PublicIPv4Hour: 0.01, ALBHour: 0.02, LCUHour: 0.01,
			Fargate:      map[string]plan.FargatePrice{"X86_64": {VCPUHour: 0.04, GBHour: 0.005}},
			LogsIngestGB: 0.5, LogsStorageGBMonth: 0.1, ECRGBMonth: 0.1, AlarmMonth: 0.1,
		}},
	}
}

func testConfig() *infra.Config {
	return &infra.Config{
		Region:  "xx-test-1",
		Network: infra.NetworkConfig{AZCount: 3, NATGateways: "onePerAz"},
		Images:  infra.ImagesConfig{Architecture: "X86_64", ImagesToKeep: 10},
		Service: infra.ServiceConfig{CPU: 1024, Memory: 2048, MinTasks: 2, MaxTasks: 4, LogRetentionDays: 30},
	}
}

func TestEstimateCost(t *testing.T) {
	t.Run("NAT per AZ, on-demand", func(t *testing.T) {
		c, err := plan.EstimateCost(testConfig(), testPrices())
		if err != nil {
			t.Fatal(err)
		}
		// By hand, 100 hours a month:
		// NAT 3×0.1×100 = 30; NAT data 30 GB×0.05 = 1.5; IPv4 (3 ALB + 3 NAT)×0.01×100 = 6;
		// ALB (0.02 + 2×0.01)×100 = 4; ECR 20 images×0.5 GB×0.1 = 1; alarms 4×0.1 = 0.4.
		want := map[string]float64{"NAT gateways": 30, "NAT data processing": 1.5, "Public IPv4: load balancer and NAT": 6,
			"Application Load Balancer": 4, "ECR storage": 1, "CloudWatch alarms": 0.4}
		checkItems(t, "fixed", c.Fixed, want)
		// A task: (1 vCPU×0.04 + 2 GB×0.005)×100 = 5. Logs at 2 tasks: 2 GB×0.5 = 1, plus
		// 2 GB × 30/(365/12) months stored × 0.1 = 0.197 → 1.20.
		checkItems(t, "at min", c.AtMin, map[string]float64{"Fargate on-demand": 10, "CloudWatch Logs": 1.20})
		checkItems(t, "at max", c.AtMax, map[string]float64{"Fargate on-demand": 20, "CloudWatch Logs": 2.39})
		if c.MinTotal != 54.10 || c.MaxTotal != 65.29 {
			t.Errorf("totals %.2f / %.2f, want 54.10 / 65.29", c.MinTotal, c.MaxTotal)
		}
		wantRows := []plan.FargateRow{
			{Capacity: "on-demand", Tasks: 2, VCPUH: 200, GBH: 400, Monthly: 10},
			{Capacity: "on-demand", Tasks: 4, VCPUH: 400, GBH: 800, Monthly: 20},
			{Capacity: "spot", Tasks: 2, VCPUH: 200, GBH: 400, Monthly: 5},
			{Capacity: "spot", Tasks: 4, VCPUH: 400, GBH: 800, Monthly: 10},
		}
		for i, r := range wantRows {
			if c.Fargate[i] != r {
				t.Errorf("Fargate row %d = %+v, want %+v", i, c.Fargate[i], r)
			}
		}
	})
	t.Run("no NAT, Spot, public task IPs", func(t *testing.T) {
		cfg := testConfig()
		cfg.Network = infra.NetworkConfig{AZCount: 2, NATGateways: "none"}
		cfg.Service.FargateSpot, cfg.Service.MinTasks, cfg.Service.MaxTasks = true, 1, 2
		c, err := plan.EstimateCost(cfg, testPrices())
		if err != nil {
			t.Fatal(err)
		}
		// IPv4 2 ALB×0.01×100 = 2; ALB 4; ECR 1; alarms 0.4 → 7.40 fixed, no NAT lines.
		checkItems(t, "fixed", c.Fixed, map[string]float64{"Public IPv4: load balancer and NAT": 2, "Application Load Balancer": 4, "ECR storage": 1, "CloudWatch alarms": 0.4})
		// Spot task 5×0.5 = 2.5; its IPv4 0.01×100 = 1; logs 0.5 + 0.0986 → 0.60.
		checkItems(t, "at min", c.AtMin, map[string]float64{"Fargate spot": 2.5, "Public IPv4: tasks": 1, "CloudWatch Logs": 0.60})
		if c.MinTotal != 11.50 {
			t.Errorf("total at minimum %.2f, want 11.50", c.MinTotal)
		}
	})
	t.Run("region without prices", func(t *testing.T) {
		cfg := testConfig()
		cfg.Region = "eu-central-1"
		_, err := plan.EstimateCost(cfg, testPrices())
		if err == nil || !strings.Contains(err.Error(), "no prices for region eu-central-1") || !strings.Contains(err.Error(), "xx-test-1") {
			t.Errorf("error %v, want one naming the region and the regions with prices", err)
		}
	})
	t.Run("the shipped table has both target regions", func(t *testing.T) {
		p, err := plan.LoadPrices()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []string{"us-east-1", "ap-northeast-2"} {
			cfg := testConfig()
			cfg.Region = r
			if _, err := plan.EstimateCost(cfg, p); err != nil {
				t.Error(err)
			}
		}
		if p.Retrieved == "" || p.Source == "" {
			t.Error("prices.json has no date or source")
		}
	})
}

func checkItems(t *testing.T, what string, items []plan.LineItem, want map[string]float64) {
	t.Helper()
	if len(items) != len(want) {
		t.Errorf("%s: %d items %+v, want %d", what, len(items), items, len(want))
	}
	for _, it := range items {
		if w, ok := want[it.Name]; !ok || it.Monthly != w {
			t.Errorf("%s: %s = %.2f, want %.2f", what, it.Name, it.Monthly, w)
		}
	}
}

func TestEstimateLeadTime(t *testing.T) {
	cases := []struct {
		name                     string
		interval, healthy, grace int
		config                   string
		wait, dereg              int
		toAllTraffic, toComplete time.Duration
	}{
		// 60 s start + max(3×10 s, 45 s) + 27 min linear = 28m45s; + 5 min wait + 2 min drain.
		{"linear, grace dominates", 10, 3, 45, "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", 5, 120,
			28*time.Minute + 45*time.Second, 35*time.Minute + 45*time.Second},
		// 60 s + max(5×30 s, 0) + 0 = 3m30s; + 0 wait + 300 s drain.
		{"all at once, health checks dominate", 30, 5, 0, "CodeDeployDefault.ECSAllAtOnce", 0, 300,
			3*time.Minute + 30*time.Second, 8*time.Minute + 30*time.Second},
		// 60 s + max(2×5 s, 10 s) + 15 min canary = 16m10s; + 10 min + 30 s.
		{"canary 15", 5, 2, 10, "CodeDeployDefault.ECSCanary10Percent15Minutes", 10, 30,
			16*time.Minute + 10*time.Second, 26*time.Minute + 40*time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &infra.Config{
				Edge:    infra.EdgeConfig{HealthCheckIntervalSeconds: c.interval, HealthyThreshold: c.healthy, DeregistrationDelaySeconds: c.dereg},
				Service: infra.ServiceConfig{HealthCheckGracePeriodSeconds: c.grace},
				Deploy:  infra.DeployConfig{DeploymentConfig: c.config, TerminationWaitMinutes: c.wait},
			}
			lt := plan.EstimateLeadTime(cfg)
			if lt.ToAllTraffic != c.toAllTraffic || lt.ToComplete != c.toComplete {
				t.Errorf("lead time %s / %s, want %s / %s", lt.ToAllTraffic, lt.ToComplete, c.toAllTraffic, c.toComplete)
			}
		})
	}
	// Every deployment config the program accepts has a schedule.
	for _, dc := range infra.DeploymentConfigs {
		cfg := &infra.Config{Deploy: infra.DeployConfig{DeploymentConfig: dc}}
		if lt := plan.EstimateLeadTime(cfg); dc != "CodeDeployDefault.ECSAllAtOnce" && lt.Steps[2].Duration == 0 {
			t.Errorf("%s has no traffic-shifting time", dc)
		}
	}
}

// TestDiff compares two real plans, dev as committed and dev with a NAT gateway
// per AZ, through the JSON an earlier run wrote (as the pull-request workflow does).
func TestDiff(t *testing.T) {
	t.Chdir("../..")
	base, err := plan.Build(".", "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	head, err := plan.Build(".", "dev", map[string]string{"natGateways": "onePerAz"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := base.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var saved plan.Plan
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	d := plan.Diff(&saved, head)
	// Two NAT gateways at ap-northeast-2's $0.059/h for 730 h, 10 GB each at
	// $0.059/GB, two more public IPv4 addresses at $0.005/h; the task loses its own.
	wantItems := []plan.DeltaRow{
		{What: "NAT data processing", Base: "$0.00", Head: "$1.18", Change: "+$1.18"},
		{What: "NAT gateways", Base: "$0.00", Head: "$86.14", Change: "+$86.14"},
		{What: "Public IPv4: load balancer and NAT", Base: "$7.30", Head: "$14.60", Change: "+$7.30"},
		{What: "Public IPv4: tasks", Base: "$3.65", Head: "$0.00", Change: "-$3.65"},
	}
	if fmt.Sprint(d.Items) != fmt.Sprint(wantItems) {
		t.Errorf("items:\n got  %v\n want %v", d.Items, wantItems)
	}
	md := d.Markdown()
	for _, line := range []string{
		"| monthly cost at minimum scale | $40.91 | $131.88 | +$90.97 |",
		"| rollout: all traffic on the new tasks | 1m30s | 1m30s | ±0 |",
		"| resources | 40 | 40 | ±0 |",
		"- NAT gateways: $0.00 → $86.14 (+$86.14)",
		"- Public IPv4: tasks: $3.65 → $0.00 (-$3.65)",
	} {
		if !strings.Contains(md, line+"\n") {
			t.Errorf("markdown lacks %q:\n%s", line, md)
		}
	}

	// A slower rollout and an added resource (a redirect listener with HTTPS).
	slow, err := plan.Build(".", "dev", map[string]string{
		"deploymentConfig": "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
		"certificateArn":   "arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5c4f4e-1111-2222-3333-444455556666",
	})
	if err != nil {
		t.Fatal(err)
	}
	md = plan.Diff(base, slow).Markdown()
	for _, line := range []string{
		"| rollout: all traffic on the new tasks | 1m30s | 10m30s | +9m0s |",
		"| resources | 40 | 41 | +1 |",
		"- `aws:lb/listener:Listener web-http`",
	} {
		if !strings.Contains(md, line+"\n") {
			t.Errorf("markdown lacks %q:\n%s", line, md)
		}
	}
	if same := plan.Diff(base, base); same.Changed() || !strings.Contains(same.Markdown(), "No change in cost, rollout time or resources.") {
		t.Errorf("a plan differs from itself:\n%s", same.Markdown())
	}
}
