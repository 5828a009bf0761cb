package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TaskSpec is a Fargate task's CPU and memory as ECS applies them: the task's CPU
// units and memory are hard limits for the whole task; each container's CPU units
// are a relative weight (Docker CPU shares; 0 means no value, the default weight
// 1024) and its memory reservation a soft limit.
type TaskSpec struct {
	CPU, MemoryMiB int
	Nginx, App     ContainerSpec
}

// ContainerSpec is one container's share of the task.
type ContainerSpec struct {
	CPU                  int // CPU units; 0: none set
	MemoryReservationMiB int // 0: none set
}

// DefaultShares is the weight of a container without CPU units (Docker's default).
const DefaultShares = 1024

// Shares is the container's CPU weight.
func (c ContainerSpec) Shares() int {
	if c.CPU <= 0 {
		return DefaultShares
	}
	return max(c.CPU, 2) // the kernel's minimum
}

// ReplicaOptions say where the sample app and the nginx template are.
type ReplicaOptions struct {
	AppDir        string // the Django project (app/django)
	NginxTemplate string // app/nginx/default.conf.template
	Workers       int    // gunicorn workers (default 2, as the image)
	// NoLimits runs without control groups (for a baseline).
	NoLimits bool
}

// Replica is the task on loopback: gunicorn with the sample app and nginx with the
// repository's template, each in its own control groups under the task's.
type Replica struct {
	URL string
	// Limited tells whether the task's limits apply; Note says why not.
	Limited bool
	Note    string

	tmp    string
	procs  []*exec.Cmd
	groups []string // cgroup directories, children first
	acct   map[string]string
}

// cgroupRoot is where the cgroup v1 controllers are mounted.
var cgroupRoot = "/sys/fs/cgroup"

// StartReplica starts the replica and waits until nginx answers the health path
// through the app (at most 30 s). Stop it with Stop, also after an error.
func StartReplica(ctx context.Context, spec TaskSpec, o ReplicaOptions) (*Replica, error) {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	tmp, err := os.MkdirTemp("", "ecs-replica-")
	if err != nil {
		return nil, err
	}
	r := &Replica{tmp: tmp, acct: map[string]string{}}
	// nginx's workers run as an unprivileged user when the replica runs as root.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return r, err
	}
	appPort, err := freePort()
	if err != nil {
		return r, err
	}
	nginxPort, err := freePort()
	if err != nil {
		return r, err
	}
	r.URL = fmt.Sprintf("http://127.0.0.1:%d", nginxPort)

	joins := map[string][]string{"app": nil, "nginx": nil}
	if o.NoLimits {
		r.Note = "NO CPU OR MEMORY LIMITS: started without control groups (-no-limits); the results are the machine's, not the task's"
	} else if joins, err = r.cgroups(spec); err != nil {
		r.Note = fmt.Sprintf("NO CPU OR MEMORY LIMITS: control groups unavailable (%v); the results are the machine's, not the task's", err)
		joins = map[string][]string{"app": nil, "nginx": nil}
	} else {
		r.Limited = true
	}

	conf, err := r.nginxConfig(o.NginxTemplate, appPort, nginxPort)
	if err != nil {
		return r, err
	}
	logFile, err := os.Create(filepath.Join(tmp, "servers.log"))
	if err != nil {
		return r, err
	}
	defer logFile.Close()
	start := func(name, dir string, env []string, argv ...string) error {
		// A shell joins the control groups, then becomes the server, so every
		// process the server forks is in them from the start.
		script := `for g in "$@"; do [ "$g" = -- ] && break; echo $$ > "$g/cgroup.procs"; shift; done; shift; exec "$@"`
		args := append([]string{"-c", script, "sh"}, joins[name]...)
		args = append(append(args, "--"), argv...)
		cmd := exec.Command("/bin/sh", args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting %s: %w", name, err)
		}
		r.procs = append(r.procs, cmd)
		return nil
	}
	if err := start("app", o.AppDir, []string{
		"DJANGO_SECRET_KEY=local-replica-only", "DJANGO_DEBUG=0", "DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost",
		"DJANGO_CPU_ENDPOINT=1", "DATABASE_PATH=" + filepath.Join(tmp, "db.sqlite3"), "PYTHONDONTWRITEBYTECODE=1",
	}, "gunicorn", "--bind", fmt.Sprintf("127.0.0.1:%d", appPort), "--workers", strconv.Itoa(o.Workers),
		"--worker-tmp-dir", tmp, "mysite.wsgi"); err != nil {
		return r, err
	}
	if err := start("nginx", tmp, nil, "nginx", "-c", conf, "-g", "daemon off;"); err != nil {
		return r, err
	}
	if err := r.waitReady(ctx, 30*time.Second); err != nil {
		log, _ := os.ReadFile(logFile.Name())
		return r, fmt.Errorf("%w\n%s", err, log)
	}
	return r, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// nginxConfig renders the template as the nginx image does (its two variables only)
// and wraps it in a main config whose writable paths are in the replica's directory.
func (r *Replica) nginxConfig(template string, appPort, nginxPort int) (string, error) {
	t, err := os.ReadFile(template)
	if err != nil {
		return "", err
	}
	site := strings.NewReplacer("${APP_PORT}", strconv.Itoa(appPort), "${NGINX_PORT}", strconv.Itoa(nginxPort)).Replace(string(t))
	sitePath := filepath.Join(r.tmp, "default.conf")
	main := fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 4096; }
http {
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/client;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  include %[2]s;
}
`, r.tmp, sitePath)
	confPath := filepath.Join(r.tmp, "nginx.conf")
	if err := os.WriteFile(sitePath, []byte(site), 0o644); err != nil {
		return "", err
	}
	return confPath, os.WriteFile(confPath, []byte(main), 0o644)
}

// waitReady polls the health path through nginx, bounded in time.
func (r *Replica) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if resp, err := client.Get(r.URL + "/health/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		for _, p := range r.procs {
			if p.ProcessState != nil {
				return fmt.Errorf("replica: a server exited")
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("replica: %s/health/ did not answer within %s", r.URL, limit)
}

// cgroups creates the task's control groups and one per container under it, in
// each of the cpu, cpuacct and memory hierarchies, beneath this process's own
// groups; it returns, per container, the directories its processes join.
func (r *Replica) cgroups(spec TaskSpec) (map[string][]string, error) {
	if spec.CPU <= 0 || spec.MemoryMiB <= 0 {
		return nil, errors.New("task CPU and memory must be set")
	}
	own, err := ownGroups()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("ecs-replica-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	joins := map[string][]string{}
	for _, ctrl := range []string{"cpu", "cpuacct", "memory"} {
		task := filepath.Join(cgroupRoot, ctrl, own[ctrl], name)
		if err := os.Mkdir(task, 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", ctrl, err)
		}
		r.groups = append([]string{task}, r.groups...)
		for _, c := range []string{"nginx", "app"} {
			dir := filepath.Join(task, c)
			if err := os.Mkdir(dir, 0o755); err != nil {
				return nil, fmt.Errorf("%s: %w", ctrl, err)
			}
			r.groups = append([]string{dir}, r.groups...)
			joins[c] = append(joins[c], dir)
			if ctrl == "cpuacct" {
				r.acct[c] = dir
			}
		}
		writes := map[string]string{}
		switch ctrl {
		case "cpu": // the task's CPU as a hard quota, each container's units as its weight
			writes["cpu.cfs_period_us"] = "100000"
			writes["cpu.cfs_quota_us"] = strconv.Itoa(spec.CPU * 100000 / 1024)
			writes["nginx/cpu.shares"] = strconv.Itoa(spec.Nginx.Shares())
			writes["app/cpu.shares"] = strconv.Itoa(spec.App.Shares())
		case "memory": // the task's memory as a hard limit, reservations as soft limits
			writes["memory.limit_in_bytes"] = strconv.Itoa(spec.MemoryMiB << 20)
			for c, cs := range map[string]ContainerSpec{"nginx": spec.Nginx, "app": spec.App} {
				if cs.MemoryReservationMiB > 0 {
					writes[c+"/memory.soft_limit_in_bytes"] = strconv.Itoa(cs.MemoryReservationMiB << 20)
				}
			}
		}
		for file, value := range writes {
			if err := os.WriteFile(filepath.Join(task, file), []byte(value), 0o644); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	return joins, nil
}

// ownGroups reads this process's cgroup v1 paths per controller.
func ownGroups() (map[string]string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	for _, c := range []string{"cpu", "cpuacct", "memory"} {
		if _, ok := out[c]; !ok {
			return nil, fmt.Errorf("no cgroup v1 %s controller", c)
		}
		if _, err := os.Stat(filepath.Join(cgroupRoot, c)); err != nil {
			return nil, fmt.Errorf("cgroup v1 %s controller not mounted at %s", c, cgroupRoot)
		}
	}
	return out, sc.Err()
}

// CPUUsage is the CPU time each container used since it started (zero without
// control groups).
func (r *Replica) CPUUsage() map[string]time.Duration {
	out := map[string]time.Duration{}
	for c, dir := range r.acct {
		data, err := os.ReadFile(filepath.Join(dir, "cpuacct.usage"))
		if err != nil {
			continue
		}
		ns, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		out[c] = time.Duration(ns)
	}
	return out
}

// Stop stops everything the replica started and removes its groups and files.
func (r *Replica) Stop() error {
	if r == nil {
		return nil
	}
	for _, p := range r.procs {
		syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() {
		for _, p := range r.procs {
			p.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		for _, p := range r.procs {
			syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		}
		<-done
	}
	var errs []error
	for _, g := range r.groups { // children first
		var err error
		for range 50 { // the kernel frees a group just after its last process
			if err = os.Remove(g); err == nil || os.IsNotExist(err) {
				err = nil
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		errs = append(errs, err)
	}
	errs = append(errs, os.RemoveAll(r.tmp))
	return errors.Join(errs...)
}
