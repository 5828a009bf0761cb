package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/cron"
)

// Workers, schedules and queues in the estimate. The assumptions (usage in
// prices.json): a schedule's run lasts scheduleRunMinutes (at most its timeout,
// at least the minute Fargate bills at the least), each queue carries
// sqsMessagesPerQueue messages a month at three requests each (send, receive,
// delete), and each task of a worker that consumes a queue long-polls it
// sqsPollsPerMinute times a minute (20-second waits). Runs start in the
// schedule's time zone; a year's runs from runsFrom, divided by twelve.

// runsFrom is the year the plan counts a schedule's runs in.
var runsFrom = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// RunsPerMonth is a schedule's average number of runs a month.
func RunsPerMonth(s infra.ScheduleConfig) (float64, error) {
	e, err := cron.Parse(s.Expression)
	if err != nil {
		return 0, err
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return 0, err
	}
	return e.MonthlyRuns(runsFrom.In(loc), loc), nil
}

// RunMinutes is how long the estimate assumes a schedule's run takes.
func RunMinutes(s infra.ScheduleConfig, u Usage) float64 {
	return max(1, min(u.ScheduleRunMinutes, float64(s.TimeoutMinutes)))
}

// jobSummary are the Task section's lines about workers and schedules.
func jobSummary(cfg *infra.Config, u Usage) []string {
	var out []string
	j := cfg.Jobs
	for _, wn := range slices.Sorted(maps.Keys(j.Workers)) {
		w := j.Workers[wn]
		scale := fmt.Sprintf("%d tasks", w.MinCount)
		switch w.Scaling {
		case "cpu":
			scale = fmt.Sprintf("%d-%d tasks on CPU (%d%%)", w.MinCount, w.MaxCount, w.CPUTargetPercent)
		case "queue":
			scale = fmt.Sprintf("%d-%d tasks on queue %s's backlog (%d messages a task)", w.MinCount, w.MaxCount, w.Queue, w.MessagesPerTask)
		}
		out = append(out, fmt.Sprintf("worker %s: %d CPU units, %d MiB, %s, %s: %s", wn, w.CPU, w.Memory, scale, capacityName(w.Spot), strings.Join(w.Command, " ")))
	}
	for _, sn := range slices.Sorted(maps.Keys(j.Schedules)) {
		s := j.Schedules[sn]
		runs, _ := RunsPerMonth(s)
		out = append(out, fmt.Sprintf("schedule %s: %s %s, %.1f runs a month, %d CPU units, %d MiB, timeout %d min, %d retries, %s: %s",
			sn, s.Expression, s.Timezone, runs, s.CPU, s.Memory, s.TimeoutMinutes, s.Retries, capacityName(s.Spot), strings.Join(s.Command, " ")))
	}
	for _, qn := range slices.Sorted(maps.Keys(j.Queues)) {
		q := j.Queues[qn]
		out = append(out, fmt.Sprintf("queue %s: visibility %d s, kept %d days, to its dead-letter queue after %d receives (%s)", qn, q.VisibilityTimeoutSeconds, q.RetentionDays, q.MaxReceiveCount, infra.QueueEnv(qn)))
	}
	return out
}

func capacityName(spot bool) string {
	if spot {
		return "Fargate Spot"
	}
	return "Fargate"
}

// addJobCosts adds the workers (at their minimum and maximum counts), the
// schedules' runs, Scheduler's invocations, SQS requests and the jobs' alarms.
func addJobCosts(cfg *infra.Config, p *Prices, rp RegionPrices, fp FargatePrice, c *Cost) {
	j := cfg.Jobs
	if !j.Enabled() && len(j.Queues) == 0 {
		return
	}
	h := p.HoursPerMonth
	add := func(items *[]LineItem, name, detail string, monthly float64) {
		*items = append(*items, LineItem{Name: name, Detail: detail, Monthly: round2(monthly)})
	}
	perHour := func(cpu, mem int, spot bool) float64 {
		v := float64(cpu)/1024*fp.VCPUHour + float64(mem)/1024*fp.GBHour
		if spot {
			v *= 1 - p.SpotDiscount
		}
		return v
	}
	// requests prices SQS or Scheduler requests, or says the region has no price.
	requests := func(items *[]LineItem, name, what string, n float64, price *float64) {
		if price == nil {
			service, _, _ := strings.Cut(name, " requests")
			add(items, name, fmt.Sprintf("%.0f %s; no %s price in prices.json for %s, not counted", n, what, service, cfg.Region), 0)
			return
		}
		add(items, name, fmt.Sprintf("%.0f %s × %s per million", n, what, usd(*price)), n/1e6**price)
	}

	// Schedules: runs at their expected frequency, each a one-off task.
	totalRuns, runHours, alarmMetrics := 0.0, 0.0, 0
	for _, sn := range slices.Sorted(maps.Keys(j.Schedules)) {
		s := j.Schedules[sn]
		runs, err := RunsPerMonth(s)
		if err != nil {
			continue // the config refused it already
		}
		minutes := RunMinutes(s, p.Usage)
		totalRuns += runs
		runHours += runs * minutes / 60
		add(&c.Fixed, "Schedule "+sn, fmt.Sprintf("%.1f runs × %.0f min (assumed) × %.2f vCPU, %.1f GB, %s", runs, minutes, float64(s.CPU)/1024, float64(s.Memory)/1024, capacityName(s.Spot)),
			runs*minutes/60*perHour(s.CPU, s.Memory, s.Spot))
	}
	if len(j.Schedules) > 0 {
		if cfg.Network.AssignPublicIP() {
			// Each run's task has a public IPv4 address while it runs, as the workers' do.
			add(&c.Fixed, "Public IPv4: schedule runs", fmt.Sprintf("%.1f task-hours × %s/h", runHours, usd(rp.PublicIPv4Hour)), runHours*rp.PublicIPv4Hour)
		}
		requests(&c.Fixed, "EventBridge Scheduler", "invocations", totalRuns, rp.SchedulerPerMillion)
		alarmMetrics++ // the job-failure alarm
	}
	if n := len(j.Queues); n > 0 {
		msgs := float64(n) * p.Usage.SQSMessagesPerQueue
		requests(&c.Fixed, "SQS requests: messages", fmt.Sprintf("requests (%s × %.0f messages × send, receive, delete; assumed)", plural(n, "queue"), p.Usage.SQSMessagesPerQueue), 3*msgs, rp.SQSPerMillion)
	}
	for _, w := range j.Workers {
		switch w.Scaling {
		case "queue":
			alarmMetrics += 3 // backlog (1 metric) and idle (2 metrics)
		case "cpu":
			alarmMetrics += 2 // target tracking's high and low alarms
		}
	}
	if alarmMetrics > 0 {
		add(&c.Fixed, "CloudWatch alarms: workers and jobs", fmt.Sprintf("%d alarm metrics × %s/month", alarmMetrics, usd(rp.AlarmMonth)), float64(alarmMetrics)*rp.AlarmMonth)
	}

	// Workers at their minimum and maximum counts.
	retentionMonths := float64(cfg.Service.LogRetentionDays) / (365.0 / 12)
	for _, scale := range []struct {
		items *[]LineItem
		max   bool
	}{{&c.AtMin, false}, {&c.AtMax, true}} {
		tasks, polling := 0, 0
		for _, wn := range slices.Sorted(maps.Keys(j.Workers)) {
			w := j.Workers[wn]
			n := w.MinCount
			if scale.max {
				n = w.MaxCount
			}
			tasks += n
			if w.Queue != "" {
				polling += n
			}
			add(scale.items, "Worker "+wn, fmt.Sprintf("%d × %.2f vCPU, %.1f GB, %s", n, float64(w.CPU)/1024, float64(w.Memory)/1024, capacityName(w.Spot)), float64(n)*perHour(w.CPU, w.Memory, w.Spot)*h)
		}
		if len(j.Workers) == 0 {
			continue
		}
		if cfg.Network.AssignPublicIP() {
			add(scale.items, "Public IPv4: workers", fmt.Sprintf("%d × %s/h", tasks, usd(rp.PublicIPv4Hour)), float64(tasks)*rp.PublicIPv4Hour*h)
		}
		logGB := float64(tasks) * p.Usage.LogGBPerTask
		stored := logGB * retentionMonths
		add(scale.items, "CloudWatch Logs: workers", fmt.Sprintf("%.0f GB ingested × %s + %.1f GB stored × %s", logGB, usd(rp.LogsIngestGB), stored, usd(rp.LogsStorageGBMonth)), logGB*rp.LogsIngestGB+stored*rp.LogsStorageGBMonth)
		if polling > 0 {
			polls := float64(polling) * p.Usage.SQSPollsPerMinute * 60 * h
			requests(scale.items, "SQS requests: polling", fmt.Sprintf("receives (%s × %.0f a minute, long polling)", plural(polling, "task"), p.Usage.SQSPollsPerMinute), polls, rp.SQSPerMillion)
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
