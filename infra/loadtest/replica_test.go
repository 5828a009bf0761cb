package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// cpuRequests times three CPU-bound requests through nginx, and the CPU the app
// used for each (from the replica's control groups; zero without them).
func cpuRequests(t *testing.T, r *loadtest.Replica) (wall, cpu []time.Duration) {
	t.Helper()
	for range 3 {
		before := r.CPUUsage()["app"]
		start := time.Now()
		resp, err := http.Get(r.URL + "/cpu/?rounds=400000")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /cpu/: %d", resp.StatusCode)
		}
		wall = append(wall, time.Since(start))
		cpu = append(cpu, r.CPUUsage()["app"]-before)
	}
	return wall, cpu
}

func median(ds []float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestReplicaAppliesTheTaskCPU: a CPU-bound request takes about four times longer
// under the quota of a quarter CPU (taskCpu 256) than without limits; the groups
// hold the task's and the containers' settings; Stop removes everything.
//
// "Without limits" is the CPU time the request needs, from the groups' own
// accounting: the wall time of an unlimited run grows whenever other tests share
// the machine's cores (go test runs packages in parallel), the CPU time does not.
// An unlimited run is still timed, as a second check.
func TestReplicaAppliesTheTaskCPU(t *testing.T) {
	opts := needReplica(t)
	ctx := context.Background()

	free := opts
	free.NoLimits = true
	var freeWall []time.Duration
	measureFree := func() time.Duration {
		base, err := loadtest.StartReplica(ctx, loadtest.TaskSpec{}, free)
		if err != nil {
			base.Stop()
			t.Fatal(err)
		}
		w, _ := cpuRequests(t, base)
		if err := base.Stop(); err != nil {
			t.Fatal(err)
		}
		freeWall = append(freeWall, w...)
		return slices.Min(freeWall) // the least disturbed run so far
	}
	unlimited := measureFree()

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
	wall, cpu := cpuRequests(t, r)
	usage := r.CPUUsage()
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	var ratios []float64
	for i := range wall {
		ratios = append(ratios, float64(wall[i])/float64(cpu[i]))
	}
	ratio, limited := median(ratios), time.Duration(median([]float64{float64(wall[0]), float64(wall[1]), float64(wall[2])}))
	t.Logf("CPU-bound request under 256 CPU units: %v wall for %v of CPU (%.1f×); without limits: %v wall", wall, cpu, ratio, freeWall)
	if ratio < 3.3 {
		t.Errorf("a quarter CPU made the request only %.1f× its CPU time (%v for %v), want about 4×", ratio, wall, cpu)
	}
	// A busy machine slows the unlimited runs too: measure them again (twice at
	// most) before calling the quota ineffective.
	for i := 0; i < 2 && float64(limited) < 2*float64(unlimited); i++ {
		unlimited = measureFree()
	}
	if float64(limited) < 2*float64(unlimited) {
		t.Errorf("under the quota %s, without limits %s: the quota did not slow the request", limited, unlimited)
	}
	if usage["nginx"] <= 0 || slices.Min(cpu) <= 0 {
		t.Errorf("CPU accounting %v, per request %v: both containers must show their CPU", usage, cpu)
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
		// This process's groups only: another run's may be left on a shared machine.
		own := fmt.Sprintf("ecs-replica-%d-*", os.Getpid())
		dirs, _ := filepath.Glob("/sys/fs/cgroup/" + ctrl + "/**/" + own)
		more, _ := filepath.Glob("/sys/fs/cgroup/" + ctrl + "/" + own)
		dirs = append(dirs, more...)
		if len(dirs) == 0 {
			deeper, _ := filepath.Glob("/sys/fs/cgroup/" + ctrl + "/*/*/" + own)
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
