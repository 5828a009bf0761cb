package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlags: -h lists this command's flags only, and bad flags are refused.
func TestFlags(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run([]string{"-h"}, &out, &errs); err == nil || !strings.Contains(errs.String(), "-set key=value") {
		t.Fatalf("-h: err %v, usage %q", err, errs.String())
	}
	for _, foreign := range []string{"-v ", "log_dir", "logtostderr", "test."} {
		if strings.Contains(errs.String(), foreign) {
			t.Errorf("usage lists another package's flag %q:\n%s", foreign, errs.String())
		}
	}
	if err := run([]string{"-set", "natGateways"}, &out, &errs); err == nil {
		t.Error("-set without = accepted")
	}
	if err := run([]string{"-base", "x", "-diff", "y"}, &out, &errs); err == nil {
		t.Error("-base with -diff accepted")
	}
}

// TestSetAndDiff: -set changes the plan as `pulumi config set` would, and -diff
// prints the difference against a saved plan.
func TestSetAndDiff(t *testing.T) {
	var base, errs bytes.Buffer
	if err := run([]string{"-dir", "../..", "-stack", "dev", "-json"}, &base, &errs); err != nil {
		t.Fatal(err, errs.String())
	}
	if !json.Valid(base.Bytes()) {
		t.Fatalf("-json printed %q", base.String())
	}
	saved := filepath.Join(t.TempDir(), "base.json")
	if err := os.WriteFile(saved, base.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-dir", "../..", "-stack", "dev", "-set", "natGateways=single", "-diff", saved}, &out, &errs); err != nil {
		t.Fatal(err, errs.String())
	}
	if !strings.Contains(out.String(), "- NAT gateways: $0.00 → $43.07 (+$43.07)\n") {
		t.Errorf("delta:\n%s", out.String())
	}
	out.Reset()
	if err := run([]string{"-dir", "../..", "-stack", "dev", "-base", "../.."}, &out, &errs); err != nil {
		t.Fatal(err, errs.String())
	}
	if !strings.Contains(out.String(), "No change in cost, rollout time or resources.") {
		t.Errorf("the same checkout differs from itself:\n%s", out.String())
	}
}
