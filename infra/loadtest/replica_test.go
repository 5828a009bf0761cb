package loadtest_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"ecs-bluegreen/infra/loadtest"
)

// needReplica skips on a developer machine without nginx and gunicorn, and fails
// in CI (CI=true), where .ci/run installs them.
func needReplica(t *testing.T) loadtest.ReplicaOptions {
	t.Helper()
	os.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin")
	for _, tool := range []string{"nginx", "gunicorn"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; .ci/run installs it", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	return loadtest.ReplicaOptions{AppDir: "../../app/django", NginxTemplate: "../../app/nginx/default.conf.template"}
}

// cpuRequest times one CPU-bound request through nginx (median of three).
func cpuRequest(t *testing.T, url string) time.Duration {
	t.Helper()
	var times []time.Duration
	for range 3 {
		start := time.Now()
		resp, err := http.Get(url + "/cpu/?rounds=400000")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /cpu/: %d", resp.StatusCode)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[1]
}

// TestReplicaAppliesTheTaskCPU: a CPU-bound request takes about four times longer
// under the quota of a quarter CPU (taskCpu 256) than without limits; the groups
// hold the task's and the containers' settings; Stop removes everything.
func TestReplicaAppliesTheTaskCPU(t *testing.T) {
	opts := needReplica(t)
	ctx := context.Background()

	free := opts
	free.NoLimits = true
	base, err := loadtest.StartReplica(ctx, loadtest.TaskSpec{}, free)
	if err != nil {
		base.Stop()
		t.Fatal(err)
	}
	unlimited := cpuRequest(t, base.URL)
	if err := base.Stop(); err != nil {
		t.Fatal(err)
	}

	spec := loadtest.TaskSpec{CPU: 256, MemoryMiB: 512, Nginx: loadtest.ContainerSpec{CPU: 38, MemoryReservationMiB: 76}, App: loadtest.ContainerSpec{CPU: 217, MemoryReservationMiB: 435}}
	r, err := loadtest.StartReplica(ctx, spec, opts)
	if err != nil {
		r.Stop()
		t.Fatal(err)
	}
	if !r.Limited {
		r.Stop()
		if os.Getenv("CI") != "" {
			t.Fatalf("no control groups in CI: %s", r.Note)
		}
		t.Skip(r.Note)
	}
	groups := findGroups(t)
	limited := cpuRequest(t, r.URL)
	usage := r.CPUUsage()
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	ratio := float64(limited) / float64(unlimited)
	t.Logf("CPU-bound request: %s without limits, %s under 256 CPU units (%.1f×); CPU used: %v", unlimited, limited, ratio, usage)
	if ratio < 3.3 {
		t.Errorf("a quarter CPU made the request only %.1f× slower (%s vs %s), want about 4×", ratio, limited, unlimited)
	}
	if usage["app"] < 3*unlimited/2 || usage["nginx"] <= 0 {
		t.Errorf("CPU accounting %v: the app did the work of three requests", usage)
	}
	for file, want := range map[string]string{
		"cpu.cfs_quota_us": "25000", "cpu.cfs_period_us": "100000", "nginx/cpu.shares": "38", "app/cpu.shares": "217",
	} {
		if got := groups["cpu"][file]; got != want {
			t.Errorf("%s = %q, want %s", file, got, want)
		}
	}
	if groups["memory"]["memory.limit_in_bytes"] != "536870912" || groups["memory"]["app/memory.soft_limit_in_bytes"] != "456130560" {
		t.Errorf("memory groups %v", groups["memory"])
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/cpu/ecs-replica-*"); len(left) > 0 {
		t.Errorf("groups left behind: %v", left)
	}
}

// findGroups reads the replica's group settings while it runs.
func findGroups(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for ctrl, files := range map[string][]string{
		"cpu":    {"cpu.cfs_quota_us", "cpu.cfs_period_us", "nginx/cpu.shares", "app/cpu.shares"},
		"memory": {"memory.limit_in_bytes", "app/memory.soft_limit_in_bytes"},
	} {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/" + ctrl + "/**/ecs-replica-*")
		more, _ := filepath.Glob("/sys/fs/cgroup/" + ctrl + "/ecs-replica-*")
		dirs = append(dirs, more...)
		if len(dirs) == 0 {
			deeper, _ := filepath.Glob("/sys/fs/cgroup/" + ctrl + "/*/*/ecs-replica-*")
			dirs = deeper
		}
		if len(dirs) != 1 {
			t.Fatalf("%s: replica groups %v", ctrl, dirs)
		}
		out[ctrl] = map[string]string{}
		for _, f := range files {
			data, _ := os.ReadFile(filepath.Join(dirs[0], f))
			out[ctrl][f] = strings.TrimSpace(string(data))
		}
	}
	return out
}

// TestReplicaServesLoad: a few seconds of load through the replica, no errors.
func TestReplicaServesLoad(t *testing.T) {
	opts := needReplica(t)
	r, err := loadtest.StartReplica(context.Background(), loadtest.TaskSpec{CPU: 512, MemoryMiB: 1024, Nginx: loadtest.ContainerSpec{CPU: 76}, App: loadtest.ContainerSpec{CPU: 435}}, opts)
	defer r.Stop()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := loadtest.Run(context.Background(), loadtest.Attack{URL: r.URL, Profile: loadtest.DefaultProfile, Rate: 50, Duration: 3 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Success != 1 || rep.Requests != 150 {
		t.Errorf("replica under 50/s: %d requests, success %v\n%s", rep.Requests, rep.Success, rep.Text())
	}
}
