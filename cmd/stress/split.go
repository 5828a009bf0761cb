package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"ecs-bluegreen/infra/loadtest"
)

// splitResult is one split's runs of the experiment; the figures are of the last run.
type splitResult struct {
	name         string
	spec         loadtest.TaskSpec
	runs         []float64 // the highest rate held in each run
	held, broken float64
	p99          time.Duration
	nginx, app   time.Duration // CPU used during the highest step that held
	quota        float64       // share of the task's CPU quota used then
	limited      bool
	note         string
}

// runSplit is the team's experiment: the same task size with the stack's CPU
// split (e.g. 15:85) and with no container CPU values (both the default weight),
// each loaded step by step on the local replica until a threshold breaks.
func runSplit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f, rf := replicaFlagSet("split", stderr)
	repeat := fs.Int("repeat", 2, "runs of each split, alternating, to see the run-to-run spread")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if !set["duration"] {
		f.duration = 10 * time.Second
	}
	if !set["max"] {
		f.maxRate = 5000 // far above what a task of up to 4 vCPU holds here
	}
	if !f.judged() {
		f.maxP99, f.minSuccess = 500*time.Millisecond, 0.999
	}
	cfg, spec, err := stackTask(rf.dir, rf.stack, rf.set)
	if err != nil {
		return err
	}
	plain := spec
	plain.Nginx.CPU, plain.App.CPU = 0, 0
	splits := []*splitResult{
		{name: fmt.Sprintf("%d:%d", cfg.Service.NginxSharePercent, cfg.Service.AppSharePercent), spec: spec},
		{name: "default (no container CPU)", spec: plain},
	}
	fmt.Fprintf(stdout, "Split experiment on the local replica of stack %s: task %d CPU units, %d MiB; steps of %.0f/s from %.0f/s, %s each; thresholds p99 %s, success %.1f%%\n",
		rf.stack, spec.CPU, spec.MemoryMiB, f.step, f.start, f.duration, f.maxP99, f.minSuccess*100)
	for i := range max(*repeat, 1) {
		for _, s := range splits { // alternating, so drift of the machine hits both alike
			fmt.Fprintf(stdout, "\n%s, run %d: nginx weight %d, app weight %d\n", s.name, i+1, s.spec.Nginx.Shares(), s.spec.App.Shares())
			if err := s.run(ctx, f, rf.options(), stdout); err != nil {
				return err
			}
		}
	}
	report(stdout, spec, splits, f.step)
	return nil
}

func (s *splitResult) run(ctx context.Context, f *loadFlags, o loadtest.ReplicaOptions, stdout io.Writer) error {
	rep, err := loadtest.StartReplica(ctx, s.spec, o)
	defer rep.Stop()
	if err != nil {
		return err
	}
	s.limited, s.note = rep.Limited, rep.Note
	if !rep.Limited {
		fmt.Fprintf(stdout, "!!! %s !!!\n", rep.Note)
	}
	a, err := f.attack(rep.URL)
	if err != nil {
		return err
	}
	meter := newCPUMeter(rep)
	res, err := loadtest.Step(ctx, a, f.start, f.step, f.maxRate, f.thresholds(), func(r *loadtest.Report) {
		n, ap, _ := meter.next()
		quota := (n + ap).Seconds() / (r.Duration.Seconds() * float64(s.spec.CPU) / 1024)
		fmt.Fprintf(stdout, "  %7.1f/s  success %7.2f%%  p99 %-9s  CPU nginx %6.2fs  app %6.2fs  (%3.0f%% of the task's quota)\n",
			r.Rate, r.Success*100, r.Latency.P99.Round(100*time.Microsecond), n.Seconds(), ap.Seconds(), quota*100)
		if len(f.thresholds().Check(r)) == 0 {
			s.p99, s.nginx, s.app, s.quota = r.Latency.P99, n, ap, quota
		}
	})
	if err != nil {
		return err
	}
	s.held, s.broken = res.Held, res.Broken
	s.runs = append(s.runs, res.Held)
	return nil
}

func report(w io.Writer, spec loadtest.TaskSpec, splits []*splitResult, step float64) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "split\tweights nginx:app\thighest rate held, each run\tp99 there (last run)\tCPU nginx : app there\ttask quota used\t")
	for _, s := range splits {
		share := 0.0
		if t := s.nginx + s.app; t > 0 {
			share = s.nginx.Seconds() / t.Seconds()
		}
		var runs []string
		for _, r := range s.runs {
			runs = append(runs, fmt.Sprintf("%.0f/s", r))
		}
		fmt.Fprintf(tw, "%s\t%d:%d\t%s\t%s\t%.0f%% : %.0f%%\t%.0f%%\t\n", s.name, s.spec.Nginx.Shares(), s.spec.App.Shares(),
			strings.Join(runs, ", "), s.p99.Round(time.Millisecond), share*100, (1-share)*100, s.quota*100)
	}
	tw.Flush()
	for _, s := range splits {
		if !s.limited {
			fmt.Fprintf(w, "!!! %s: %s !!!\n", s.name, s.note)
		}
	}
	a, b := splits[0], splits[1]
	nginxShare := a.nginx.Seconds() / math.Max((a.nginx+a.app).Seconds(), 1e-9)
	weightShare := float64(a.spec.Nginx.Shares()) / float64(a.spec.Nginx.Shares()+a.spec.App.Shares())
	why := []string{fmt.Sprintf("The task's %d CPU units are one hard quota for both containers together; the weights (cpu.shares) divide CPU only at the moments when both containers are runnable at once.", spec.CPU)}
	if nginxShare > weightShare+0.02 {
		why = append(why, fmt.Sprintf("At the highest rate that held with %s, nginx used %.0f%% of the task's CPU, more than its %.0f%% weight: the weight never held it back, because nginx and the app mostly work on a request one after the other (nginx hands it on, waits for the app, returns the answer), so they seldom compete at the same instant.", a.name, nginxShare*100, weightShare*100))
	} else {
		why = append(why, fmt.Sprintf("At the highest rate that held with %s, nginx used %.0f%% of the task's CPU, within its %.0f%% weight: it never asked for more.", a.name, nginxShare*100, weightShare*100))
	}
	for _, s := range splits {
		if s.broken == 0 {
			why = append(why, fmt.Sprintf("%s broke no threshold up to %.0f/s: raise -max to find its limit.", s.name, s.held))
		}
	}
	// Two splits differ only when their ranges, widened by one step, do not meet.
	aLo, aHi, bLo, bHi := slices.Min(a.runs), slices.Max(a.runs), slices.Min(b.runs), slices.Max(b.runs)
	switch {
	case aHi+step >= bLo && bHi+step >= aLo:
		why = append(why, fmt.Sprintf("The splits held the same rate within the run-to-run spread and one step (%s: %.0f–%.0f/s, %s: %.0f–%.0f/s): the quota, not the split, limits the task.", a.name, aLo, aHi, b.name, bLo, bHi))
	default:
		better := a
		if bLo > aHi {
			better = b
		}
		why = append(why, fmt.Sprintf("The splits differ beyond the run-to-run spread (%s: %.0f–%.0f/s, %s: %.0f–%.0f/s): %s held more. At saturation both containers are runnable at the same instants, and a weight below what a container needs per request (nginx's %.0f%% weight against its ~%.0f%% of the work) makes it the one that waits.", a.name, aLo, aHi, b.name, bLo, bHi, better.name, weightShare*100, nginxShare*100))
	}
	fmt.Fprintln(w, strings.Join(why, "\n"))
}
