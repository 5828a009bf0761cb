package plan

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"ecs-bluegreen/infra"
)

//go:embed prices.json
var pricesJSON []byte

// Prices is the dated price table in prices.json.
type Prices struct {
	Retrieved     string                  `json:"retrieved"`
	Source        string                  `json:"source"`
	HoursPerMonth float64                 `json:"hoursPerMonth"`
	SpotDiscount  float64                 `json:"spotDiscount"`
	SpotNote      string                  `json:"spotNote"`
	Usage         Usage                   `json:"usage"`
	Regions       map[string]RegionPrices `json:"regions"`
}

// Usage is what the estimate assumes about traffic and volumes.
type Usage struct {
	ALBLCUs         float64 `json:"albLcus"`
	NATGBPerGateway float64 `json:"natGbPerGateway"`
	LogGBPerTask    float64 `json:"logGbPerTask"`
	ImageGB         float64 `json:"imageGb"`
	FlowLogGB       float64 `json:"flowLogGb"`
	AccessLogGB     float64 `json:"accessLogGb"`
	Note            string  `json:"note"`
	// Workers, schedules and queues (jobs.go): what their lines assume.
	ScheduleRunMinutes  float64 `json:"scheduleRunMinutes"`
	SQSMessagesPerQueue float64 `json:"sqsMessagesPerQueue"`
	SQSPollsPerMinute   float64 `json:"sqsPollsPerMinute"`
	JobsNote            string  `json:"jobsNote"`
}

// RegionPrices are one region's list prices in USD.
type RegionPrices struct {
	NATHour            float64                 `json:"natHour"`
	NATGB              float64                 `json:"natGb"`
	PublicIPv4Hour     float64                 `json:"publicIpv4Hour"`
	ALBHour            float64                 `json:"albHour"`
	LCUHour            float64                 `json:"lcuHour"`
	Fargate            map[string]FargatePrice `json:"fargate"` // by CPU architecture
	LogsIngestGB       float64                 `json:"logsIngestGb"`
	LogsStorageGBMonth float64                 `json:"logsStorageGbMonth"`
	ECRGBMonth         float64                 `json:"ecrGbMonth"`
	S3GBMonth          float64                 `json:"s3GbMonth"`
	AlarmMonth         float64                 `json:"alarmMonth"`
	// SQSPerMillion (standard queue requests) and SchedulerPerMillion (invocations)
	// are nil where prices.json has no verified price: their lines then say so.
	SQSPerMillion       *float64 `json:"sqsPerMillion"`
	SchedulerPerMillion *float64 `json:"schedulerPerMillion"`
}

// FargatePrice is the on-demand price of a vCPU-hour and a GB-hour.
type FargatePrice struct {
	VCPUHour float64 `json:"vcpuHour"`
	GBHour   float64 `json:"gbHour"`
}

// LoadPrices parses the embedded price table.
func LoadPrices() (*Prices, error) {
	var p Prices
	if err := json.Unmarshal(pricesJSON, &p); err != nil {
		return nil, fmt.Errorf("parsing prices.json: %w", err)
	}
	return &p, nil
}

// LineItem is one row of the monthly estimate.
type LineItem struct {
	Name    string  `json:"name"`
	Detail  string  `json:"detail"`
	Monthly float64 `json:"monthlyUsd"`
}

// FargateRow is the compute cost of running a number of tasks for a month.
type FargateRow struct {
	Capacity string  `json:"capacity"` // on-demand or spot
	Tasks    int     `json:"tasks"`
	VCPUH    float64 `json:"vcpuHours"`
	GBH      float64 `json:"gbHours"`
	Monthly  float64 `json:"monthlyUsd"`
}

// Cost is the monthly estimate of a stack at its minimum and maximum task counts.
type Cost struct {
	Region    string       `json:"region"`
	Retrieved string       `json:"pricesRetrieved"`
	Fixed     []LineItem   `json:"fixed"`   // independent of the task count
	AtMin     []LineItem   `json:"atMin"`   // per-task items at minTasks
	AtMax     []LineItem   `json:"atMax"`   // per-task items at maxTasks
	Fargate   []FargateRow `json:"fargate"` // on-demand and Spot, at min and max
	MinTotal  float64      `json:"minTotalUsd"`
	MaxTotal  float64      `json:"maxTotalUsd"`
}

// EstimateCost prices cfg's stack in its region. A region without prices is an
// error that says which regions have them, never a zero.
func EstimateCost(cfg *infra.Config, p *Prices) (*Cost, error) {
	rp, ok := p.Regions[cfg.Region]
	if !ok {
		regions := make([]string, 0, len(p.Regions))
		for r := range p.Regions {
			regions = append(regions, r)
		}
		sort.Strings(regions)
		return nil, fmt.Errorf("no prices for region %s in infra/plan/prices.json (it has %s); add the region's prices to estimate its cost", cfg.Region, strings.Join(regions, ", "))
	}
	fp, ok := rp.Fargate[cfg.Images.Architecture]
	if !ok {
		return nil, fmt.Errorf("no Fargate %s prices for region %s in infra/plan/prices.json", cfg.Images.Architecture, cfg.Region)
	}
	h := p.HoursPerMonth
	c := &Cost{Region: cfg.Region, Retrieved: p.Retrieved}
	add := func(items *[]LineItem, name, detail string, monthly float64) {
		*items = append(*items, LineItem{Name: name, Detail: detail, Monthly: round2(monthly)})
	}

	nats := natCount(cfg)
	if nats > 0 {
		add(&c.Fixed, "NAT gateways", fmt.Sprintf("%d × %s/h", nats, usd(rp.NATHour)), float64(nats)*rp.NATHour*h)
		gb := float64(nats) * p.Usage.NATGBPerGateway
		add(&c.Fixed, "NAT data processing", fmt.Sprintf("%.0f GB × %s/GB (assumed)", gb, usd(rp.NATGB)), gb*rp.NATGB)
	}
	albIPs := cfg.Network.AZCount // the ALB holds a public IPv4 address per AZ
	add(&c.Fixed, "Public IPv4: load balancer and NAT", fmt.Sprintf("%d addresses × %s/h", albIPs+nats, usd(rp.PublicIPv4Hour)), float64(albIPs+nats)*rp.PublicIPv4Hour*h)
	add(&c.Fixed, "Application Load Balancer", fmt.Sprintf("%s/h + %.1f LCU × %s/h (assumed)", usd(rp.ALBHour), p.Usage.ALBLCUs, usd(rp.LCUHour)), (rp.ALBHour+p.Usage.ALBLCUs*rp.LCUHour)*h)
	images := 2 * cfg.Images.ImagesToKeep
	add(&c.Fixed, "ECR storage", fmt.Sprintf("2 repositories × %d images × %.2f GB × %s/GB-month", cfg.Images.ImagesToKeep, p.Usage.ImageGB, usd(rp.ECRGBMonth)), float64(images)*p.Usage.ImageGB*rp.ECRGBMonth)
	add(&c.Fixed, "CloudWatch alarms", fmt.Sprintf("4 × %s/month", usd(rp.AlarmMonth)), 4*rp.AlarmMonth)
	if cfg.Network.FlowLogs {
		gb := p.Usage.FlowLogGB
		add(&c.Fixed, "VPC flow logs (rejected traffic)", fmt.Sprintf("%.0f GB ingested × %s (assumed)", gb, usd(rp.LogsIngestGB)), gb*rp.LogsIngestGB)
	}
	if cfg.Edge.AccessLogs {
		// Stored logs settle at one retention period's worth.
		gb := p.Usage.AccessLogGB * float64(cfg.Service.LogRetentionDays) / (365.0 / 12)
		add(&c.Fixed, "ALB access logs in S3", fmt.Sprintf("%.1f GB stored × %s/GB-month (assumed %.0f GB a month)", gb, usd(rp.S3GBMonth), p.Usage.AccessLogGB), gb*rp.S3GBMonth)
	}

	vcpu, gb := float64(cfg.Service.CPU)/1024, float64(cfg.Service.Memory)/1024
	perTask := func(capacity string) float64 {
		m := (vcpu*fp.VCPUHour + gb*fp.GBHour) * h
		if capacity == "spot" {
			m *= 1 - p.SpotDiscount
		}
		return m
	}
	stackCapacity := "on-demand"
	if cfg.Service.FargateSpot {
		stackCapacity = "spot"
	}
	for _, capacity := range []string{"on-demand", "spot"} {
		for _, n := range []int{cfg.Service.MinTasks, cfg.Service.MaxTasks} {
			c.Fargate = append(c.Fargate, FargateRow{
				Capacity: capacity, Tasks: n, VCPUH: round2(float64(n) * vcpu * h), GBH: round2(float64(n) * gb * h),
				Monthly: round2(float64(n) * perTask(capacity)),
			})
		}
	}
	retentionMonths := float64(cfg.Service.LogRetentionDays) / (365.0 / 12)
	for _, scale := range []struct {
		items *[]LineItem
		tasks int
	}{{&c.AtMin, cfg.Service.MinTasks}, {&c.AtMax, cfg.Service.MaxTasks}} {
		n := float64(scale.tasks)
		add(scale.items, fmt.Sprintf("Fargate %s", stackCapacity), fmt.Sprintf("%d × %.2f vCPU, %.1f GB, %s", scale.tasks, vcpu, gb, cfg.Images.Architecture), n*perTask(stackCapacity))
		if cfg.Network.AssignPublicIP() {
			add(scale.items, "Public IPv4: tasks", fmt.Sprintf("%d × %s/h", scale.tasks, usd(rp.PublicIPv4Hour)), n*rp.PublicIPv4Hour*h)
		}
		logGB := n * p.Usage.LogGBPerTask
		// Stored logs settle at one retention period's worth of ingestion.
		stored := logGB * retentionMonths
		add(scale.items, "CloudWatch Logs", fmt.Sprintf("%.0f GB ingested × %s + %.1f GB stored × %s", logGB, usd(rp.LogsIngestGB), stored, usd(rp.LogsStorageGBMonth)), logGB*rp.LogsIngestGB+stored*rp.LogsStorageGBMonth)
	}
	addJobCosts(cfg, p, rp, fp, c)
	c.MinTotal, c.MaxTotal = round2(sum(c.Fixed)+sum(c.AtMin)), round2(sum(c.Fixed)+sum(c.AtMax))
	return c, nil
}

func natCount(cfg *infra.Config) int {
	switch cfg.Network.NATGateways {
	case "single":
		return 1
	case "onePerAz":
		return cfg.Network.AZCount
	}
	return 0
}

func sum(items []LineItem) float64 {
	t := 0.0
	for _, i := range items {
		t += i.Monthly
	}
	return t
}

// round2 rounds to cents, half away from zero.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

func usd(v float64) string {
	s := fmt.Sprintf("$%.5f", v)
	s = strings.TrimRight(s, "0")
	if strings.HasSuffix(s, ".") {
		s += "00"
	} else if i := strings.Index(s, "."); len(s)-i == 2 {
		s += "0"
	}
	return s
}
