// Command stress load-tests a stack, or a local replica of its task, with
// open-model load (vegeta), and runs the CPU-split experiment.
//
//	go run ./cmd/stress -url https://app.example.com -rate 50 -duration 1m -max-p99 500ms
//	go run ./cmd/stress -stack dev -rate 20 -duration 30s -plot latency.html -json > dev.json
//	go run ./cmd/stress step -stack dev -start 10 -step 10 -max 200 -max-p99 500ms
//	go run ./cmd/stress compare before.json after.json
//	go run ./cmd/stress local -stack dev -set nginxSharePercent=50 -rate 50 -duration 10s
//	go run ./cmd/stress split -stack dev -set taskCpu=1024 -set taskMemory=2048
//
// Exit codes: 0 passed, 1 a threshold broke, 2 the command could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/loadtest"
	"ecs-bluegreen/infra/offline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// errThreshold marks a run that worked and broke a threshold.
var errThreshold = errors.New("threshold broken")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runLoad(ctx, args, stdout, stderr, false)
	case "step":
		err = runLoad(ctx, args, stdout, stderr, true)
	case "local":
		err = runLocal(ctx, args, stdout, stderr)
	case "split":
		err = runSplit(ctx, args, stdout, stderr)
	case "compare":
		err = compare(args, stdout)
	default:
		err = fmt.Errorf("unknown command %q: run, step, local, split or compare", cmd)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errThreshold):
		fmt.Fprintln(stderr, "stress: FAILED:", strings.TrimPrefix(err.Error(), errThreshold.Error()+": "))
		return 1
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(stderr, "stress:", err)
	return 2
}

// loadFlags are the flags of every command that sends load.
type loadFlags struct {
	url, stack, profile, jsonOut, plotOut string
	testListener, asJSON                  bool
	rate, rampTo                          float64
	duration, warmUp, timeout             time.Duration
	maxP50, maxP95, maxP99                time.Duration
	minSuccess                            float64
	// step mode
	start, step, maxRate float64
}

// register adds the load flags; target adds -url and -stack (not for the
// replica, which is its own target).
func (f *loadFlags) register(fs *flag.FlagSet, step, target bool) {
	if target {
		fs.StringVar(&f.url, "url", "", "target base URL")
		fs.StringVar(&f.stack, "stack", "", "target the stack's url output (read with the Pulumi CLI)")
		fs.BoolVar(&f.testListener, "test-listener", false, "with -stack: target testUrl (the green tasks during a deployment)")
	}
	fs.StringVar(&f.profile, "profile", "", "profile file (YAML): targets with path, weight, method, headers (default: GET /)")
	fs.Float64Var(&f.rate, "rate", 10, "requests per second")
	fs.Float64Var(&f.rampTo, "ramp-to", 0, "raise the rate linearly to this over the duration")
	fs.DurationVar(&f.duration, "duration", 30*time.Second, "measured load (per step in step mode)")
	fs.DurationVar(&f.warmUp, "warmup", 0, "load before the measurement, not reported")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "per request")
	fs.DurationVar(&f.maxP50, "max-p50", 0, "threshold: p50 latency")
	fs.DurationVar(&f.maxP95, "max-p95", 0, "threshold: p95 latency")
	fs.DurationVar(&f.maxP99, "max-p99", 0, "threshold: p99 latency")
	fs.Float64Var(&f.minSuccess, "min-success", 0, "threshold: success ratio, 0 to 1 (e.g. 0.999)")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON instead of text")
	fs.StringVar(&f.jsonOut, "save", "", "also write the report as JSON to this file (for compare)")
	fs.StringVar(&f.plotOut, "plot", "", "write a latency-over-time plot (HTML) to this file")
	if step {
		fs.Float64Var(&f.start, "start", 10, "step mode: first rate")
		fs.Float64Var(&f.step, "step", 10, "step mode: rate increase per step")
		fs.Float64Var(&f.maxRate, "max", 500, "step mode: highest rate to try")
	}
}

// judged tells whether any threshold was given.
func (f *loadFlags) judged() bool {
	return f.maxP50 > 0 || f.maxP95 > 0 || f.maxP99 > 0 || f.minSuccess > 0
}

func (f *loadFlags) thresholds() loadtest.Thresholds {
	return loadtest.Thresholds{MaxP50: f.maxP50, MaxP95: f.maxP95, MaxP99: f.maxP99, MinSuccess: f.minSuccess, MinRateRatio: 0.9}
}

func (f *loadFlags) attack(url string) (loadtest.Attack, error) {
	profile := loadtest.DefaultProfile
	if f.profile != "" {
		var err error
		if profile, err = loadtest.ReadProfile(f.profile); err != nil {
			return loadtest.Attack{}, err
		}
	}
	return loadtest.Attack{URL: url, Profile: profile, Rate: f.rate, RampTo: f.rampTo, Duration: f.duration, WarmUp: f.warmUp, Timeout: f.timeout}, nil
}

// target resolves -url or -stack.
func (f *loadFlags) target(ctx context.Context) (string, error) {
	switch {
	case f.url != "" && f.stack != "":
		return "", errors.New("-url and -stack exclude each other")
	case f.url != "":
		return f.url, nil
	case f.stack != "":
		output := "url"
		if f.testListener {
			output = "testUrl"
		}
		out, err := exec.CommandContext(ctx, "pulumi", "stack", "output", output, "--stack", f.stack).Output()
		if err != nil {
			return "", fmt.Errorf("reading %s of stack %s with the Pulumi CLI (pulumi stack output %s --stack %s): %w", output, f.stack, output, f.stack, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	return "", errors.New("no target: -url or -stack")
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer, step bool) error {
	name := map[bool]string{false: "run", true: "step"}[step]
	fs := flag.NewFlagSet("stress "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f loadFlags
	f.register(fs, step, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, err := f.target(ctx)
	if err != nil {
		return err
	}
	a, err := f.attack(url)
	if err != nil {
		return err
	}
	if step {
		return stepLoad(ctx, a, &f, stdout, nil)
	}
	return load(ctx, a, &f, stdout, "")
}

// load runs once, prints, writes the requested files, and judges.
func load(ctx context.Context, a loadtest.Attack, f *loadFlags, stdout io.Writer, note string) error {
	var rec *loadtest.Recorder
	var sink func(*vegeta.Result)
	if f.plotOut != "" {
		rec = loadtest.NewRecorder(fmt.Sprintf("%s at %.0f/s", a.URL, a.Rate))
		sink = rec.Add
	}
	r, err := loadtest.Run(ctx, a, sink)
	if err != nil {
		return err
	}
	r.Note = note
	if err := output(r, f, stdout); err != nil {
		return err
	}
	if rec != nil {
		if err := writeFile(f.plotOut, rec.WriteHTML); err != nil {
			return err
		}
	}
	return judge(f.thresholds().Check(r))
}

func output(r *loadtest.Report, f *loadFlags, stdout io.Writer) error {
	if f.asJSON {
		if err := r.WriteJSON(stdout); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, r.Text())
	}
	if f.jsonOut != "" {
		return writeFile(f.jsonOut, r.WriteJSON)
	}
	return nil
}

func judge(why []string) error {
	if len(why) > 0 {
		return fmt.Errorf("%w: %s", errThreshold, strings.Join(why, "; "))
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(file); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// stepLoad raises the rate until a threshold breaks and reports the highest that
// held; usage, when set, reports each step's CPU per container.
func stepLoad(ctx context.Context, a loadtest.Attack, f *loadFlags, stdout io.Writer, usage func() string) error {
	if !f.judged() {
		return errors.New("step mode needs a threshold: -max-p99, -max-p95, -max-p50 or -min-success")
	}
	res, err := loadtest.Step(ctx, a, f.start, f.step, f.maxRate, f.thresholds(), func(r *loadtest.Report) {
		line := fmt.Sprintf("%8.1f/s  sent %8.1f/s  success %7.2f%%  p50 %-10s p99 %-10s", r.Rate, r.AchievedRate, r.Success*100, r.Latency.P50.Round(10*time.Microsecond), r.Latency.P99.Round(10*time.Microsecond))
		if usage != nil {
			line += "  " + usage()
		}
		fmt.Fprintln(stdout, line)
	})
	if err != nil {
		return err
	}
	switch {
	case res.Held == 0:
		return judge([]string{fmt.Sprintf("not even %.1f/s held: %s", f.start, strings.Join(res.Why, "; "))})
	case res.Broken == 0:
		fmt.Fprintf(stdout, "held every step up to %.1f/s: raise -max to find the limit\n", res.Held)
	default:
		fmt.Fprintf(stdout, "highest rate that held: %.1f/s (at %.1f/s: %s)\n", res.Held, res.Broken, strings.Join(res.Why, "; "))
	}
	return nil
}

func compare(args []string, stdout io.Writer) error {
	if len(args) != 2 {
		return errors.New("usage: stress compare A.json B.json")
	}
	a, err := loadtest.ReadReport(args[0])
	if err != nil {
		return err
	}
	b, err := loadtest.ReadReport(args[1])
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, loadtest.Compare(args[0], a, args[1], b))
	return nil
}

// stackTask reads a stack's task size and CPU split, as `pulumi up` would apply
// them, from its stack files and -set overrides.
func stackTask(dir, stack string, overrides map[string]string) (*infra.Config, loadtest.TaskSpec, error) {
	project, cfg, err := offline.StackConfig(dir, stack)
	if err != nil {
		return nil, loadtest.TaskSpec{}, err
	}
	for k, v := range overrides {
		if !strings.Contains(k, ":") {
			k = project + ":" + k
		}
		cfg[k] = v
	}
	c, err := infra.ParseConfig(project, stack, func(k string) (string, bool) { v, ok := cfg[k]; return v, ok })
	if err != nil {
		return nil, loadtest.TaskSpec{}, err
	}
	s := c.Service
	return c, loadtest.TaskSpec{
		CPU: s.CPU, MemoryMiB: s.Memory,
		Nginx: loadtest.ContainerSpec{CPU: s.NginxCPU(), MemoryReservationMiB: s.NginxMemory()},
		App:   loadtest.ContainerSpec{CPU: s.AppCPU(), MemoryReservationMiB: s.AppMemory()},
	}, nil
}

// replicaFlags are the flags of the commands that start the local replica.
type replicaFlags struct {
	stack, dir string
	set        map[string]string
	noLimits   bool
}

func (r *replicaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.stack, "stack", "dev", "stack whose task size and CPU split the replica gets")
	fs.StringVar(&r.dir, "dir", ".", "project directory (with Pulumi.yaml and app/)")
	fs.BoolVar(&r.noLimits, "no-limits", false, "run without control groups (a baseline)")
	r.set = map[string]string{}
	fs.Func("set", "override a config key, key=value (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("want key=value, got %q", s)
		}
		r.set[k] = v
		return nil
	})
}

func (r *replicaFlags) options() loadtest.ReplicaOptions {
	return loadtest.ReplicaOptions{AppDir: r.dir + "/app/django", NginxTemplate: r.dir + "/app/nginx/default.conf.template", NoLimits: r.noLimits}
}

// replicaFlagSet is the flag set of a command that loads the local replica.
func replicaFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *loadFlags, *replicaFlags) {
	fs := flag.NewFlagSet("stress "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f, rf := &loadFlags{}, &replicaFlags{}
	f.register(fs, true, false)
	rf.register(fs)
	return fs, f, rf
}

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f, rf := replicaFlagSet("local", stderr)
	stepMode := fs.Bool("step-mode", false, "raise the rate step by step (-start, -step, -max) instead of one run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, spec, err := stackTask(rf.dir, rf.stack, rf.set)
	if err != nil {
		return err
	}
	rep, err := loadtest.StartReplica(ctx, spec, rf.options())
	defer rep.Stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replica of stack %s: task %d CPU units, %d MiB; nginx weight %d, app weight %d; %s\n",
		rf.stack, spec.CPU, spec.MemoryMiB, spec.Nginx.Shares(), spec.App.Shares(), limitsLine(rep))
	a, err := f.attack(rep.URL)
	if err != nil {
		return err
	}
	meter := newCPUMeter(rep)
	if *stepMode {
		err = stepLoad(ctx, a, f, stdout, meter.line)
	} else {
		err = load(ctx, a, f, stdout, rep.Note)
		fmt.Fprintln(stdout, "CPU used:", meter.line())
	}
	return err
}

func limitsLine(r *loadtest.Replica) string {
	if r.Limited {
		return "Fargate's limits applied through control groups"
	}
	return "!!! " + r.Note + " !!!"
}

// cpuMeter reads the CPU each container of a replica used since the last reading.
type cpuMeter struct {
	r    *loadtest.Replica
	last map[string]time.Duration
}

func newCPUMeter(r *loadtest.Replica) *cpuMeter { return &cpuMeter{r: r, last: r.CPUUsage()} }

// next returns the CPU used since the last reading; known is false without control groups.
func (m *cpuMeter) next() (nginx, app time.Duration, known bool) {
	now := m.r.CPUUsage()
	nginx, app = now["nginx"]-m.last["nginx"], now["app"]-m.last["app"]
	m.last = now
	return nginx, app, len(now) > 0
}

// line is next as text.
func (m *cpuMeter) line() string {
	n, a, known := m.next()
	total := (n + a).Seconds()
	switch {
	case !known:
		return "CPU use unknown (no control groups)"
	case total == 0:
		return "nginx 0s / app 0s"
	}
	return fmt.Sprintf("nginx %.2fs (%.0f%%) / app %.2fs (%.0f%%)", n.Seconds(), 100*n.Seconds()/total, a.Seconds(), 100*a.Seconds()/total)
}
