package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes: a run that holds its thresholds exits 0, one that breaks them 1,
// one that cannot run 2; -save and -plot write their files; compare reads them.
func TestExitCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.yaml")
	os.WriteFile(profile, []byte("targets:\n  - path: /\n    weight: 3\n  - path: /fail\n    weight: 1\n"), 0o644)
	ctx := context.Background()
	var out, errs bytes.Buffer
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	plot := filepath.Join(dir, "latency.html")

	code := run(ctx, []string{"-url", srv.URL, "-rate", "40", "-duration", "1s", "-min-success", "0.99", "-save", a, "-plot", plot}, &out, &errs)
	if code != 0 || !strings.Contains(out.String(), "success       100.00%") {
		t.Errorf("passing run: exit %d\n%s%s", code, out.String(), errs.String())
	}
	out.Reset()
	errs.Reset()
	code = run(ctx, []string{"-url", srv.URL, "-profile", profile, "-rate", "40", "-duration", "1s", "-min-success", "0.99", "-save", b}, &out, &errs)
	if code != 1 || !strings.Contains(errs.String(), "FAILED: success 75.00% below 99.00%") {
		t.Errorf("failing run: exit %d\n%s%s", code, out.String(), errs.String())
	}
	if code := run(ctx, []string{"-rate", "10"}, &out, &errs); code != 2 {
		t.Errorf("no target: exit %d, want 2", code)
	}
	if code := run(ctx, []string{"-url", srv.URL, "-rate", "0", "-duration", "1s"}, &out, &errs); code != 2 {
		t.Errorf("rate 0: exit %d, want 2", code)
	}
	if page, err := os.ReadFile(plot); err != nil || !strings.Contains(string(page), "<html") {
		t.Errorf("plot: %v (%d bytes)", err, len(page))
	}
	out.Reset()
	if code := run(ctx, []string{"compare", a, b}, &out, &errs); code != 0 || !strings.Contains(out.String(), "! success:") {
		t.Errorf("compare: exit %d\n%s", code, out.String())
	}
}
