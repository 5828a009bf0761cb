// Command plan shows what `pulumi up` would create for a stack, what it will
// cost and how long a rollout takes — offline, without AWS credentials.
//
//	go run ./cmd/plan -stack dev
//	go run ./cmd/plan -stack prod -json
//	go run ./cmd/plan -stack prod -region us-east-1
//	go run ./cmd/plan -stack dev -set natGateways=onePerAz -set taskCpu=1024 -set taskMemory=2048
//	go run ./cmd/plan -stack dev -diff base-dev.json      # difference against an earlier plan's JSON
//	go run ./cmd/plan -stack dev -base ../main            # difference against another checkout's stack files
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"ecs-bluegreen/infra/plan"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "plan:", err)
		os.Exit(1)
	}
}

// run is the command; its own flag set keeps other packages' flags out of -h.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack whose Pulumi.<stack>.yaml to plan")
	dir := fs.String("dir", ".", "project directory (with Pulumi.yaml)")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	region := fs.String("region", "", "price the stack in this region instead of its aws:region")
	overrides := map[string]string{}
	fs.Func("set", "set a config key over the stack file, as `key=value` (repeatable; \"aws:region=…\" for other namespaces; lists and objects as JSON)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want key=value, got %q", s)
		}
		overrides[k] = v
		return nil
	})
	base := fs.String("base", "", "print the difference against the same stack planned from the project in this `directory` (another checkout)")
	diff := fs.String("diff", "", "print the difference against an earlier plan's JSON `file` (from -json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if *base != "" && *diff != "" {
		return errors.New("-base and -diff exclude each other")
	}
	if *region != "" {
		overrides["aws:region"] = *region
	}
	var basePlan *plan.Plan
	var err error
	switch {
	case *diff != "":
		basePlan, err = readPlan(*diff)
	case *base != "":
		basePlan, err = planIn(*base, *stack, nil)
	}
	if err != nil {
		return err
	}
	p, err := planIn(*dir, *stack, overrides)
	if err != nil {
		return err
	}
	var out []byte
	switch {
	case basePlan != nil && *asJSON:
		out, err = json.MarshalIndent(plan.Diff(basePlan, p), "", "  ")
	case basePlan != nil:
		out = []byte(plan.Diff(basePlan, p).Markdown())
	case *asJSON:
		out, err = p.JSON()
		out = append(out, '\n')
	default:
		out = []byte(p.Text())
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// planIn plans stack from the project in dir. Build contexts in the config are
// relative to the project directory, as under Pulumi, so it runs there.
func planIn(dir, stack string, overrides map[string]string) (*plan.Plan, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.Chdir(abs); err != nil {
		return nil, err
	}
	defer os.Chdir(wd)
	return plan.Build(".", stack, overrides)
}

func readPlan(file string) (*plan.Plan, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var p plan.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return &p, nil
}
