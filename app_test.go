package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needTools skips when a local tool is missing on a developer machine, and fails
// in CI (CI=true), where .ci/run installs them.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; .ci/run installs it", tool)
			}
			pkg := map[string]string{"envsubst": "gettext-base", "node": "nodejs", "timeout": "coreutils", "base64": "coreutils"}[tool]
			if pkg == "" {
				pkg = tool
			}
			t.Skipf("%s is not installed (apt-get install %s)", tool, pkg)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSampleApp runs the sample workload as the task does: gunicorn serving the
// Django app, and nginx with its config rendered from the image's template by
// envsubst, proxying to it on localhost. The health check path answers through both.
func TestSampleApp(t *testing.T) {
	needTools(t, "nginx", "gunicorn", "envsubst")
	tmp := t.TempDir()
	appPort, nginxPort := freePort(t), freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Render the template exactly as the nginx image does at start.
	tmpl, err := os.ReadFile("app/nginx/default.conf.template")
	if err != nil {
		t.Fatal(err)
	}
	render := exec.CommandContext(ctx, "envsubst", "${APP_PORT} ${NGINX_PORT}")
	render.Stdin = strings.NewReader(string(tmpl))
	render.Env = append(os.Environ(), fmt.Sprintf("APP_PORT=%d", appPort), fmt.Sprintf("NGINX_PORT=%d", nginxPort))
	site, err := render.Output()
	if err != nil {
		t.Fatalf("envsubst: %v", err)
	}
	if strings.Contains(string(site), "${") {
		t.Fatalf("unrendered variables left in the nginx config:\n%s", site)
	}
	if !strings.Contains(string(site), "$host") {
		t.Fatalf("envsubst replaced nginx's own variables:\n%s", site)
	}
	sitePath := filepath.Join(tmp, "default.conf")
	mainConf := fmt.Sprintf("pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n access_log off;\n client_body_temp_path %s;\n proxy_temp_path %s;\n include %s;\n}\n", tmp, tmp, tmp, tmp, sitePath)
	confPath := filepath.Join(tmp, "nginx.conf")
	for p, c := range map[string]string{sitePath: string(site), confPath: mainConf} {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.CommandContext(ctx, "nginx", "-t", "-c", confPath).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects the config: %v\n%s", err, out)
	}

	gunicorn := exec.CommandContext(ctx, "gunicorn", "--bind", fmt.Sprintf("127.0.0.1:%d", appPort), "--workers", "1", "mysite.wsgi")
	gunicorn.Dir = "app/django"
	gunicorn.Env = append(os.Environ(), "DATABASE_PATH="+filepath.Join(tmp, "db.sqlite3"), "DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost",
		"DJANGO_SECRET_KEY=test-only-secret-key", "DJANGO_DEBUG=0")
	nginx := exec.CommandContext(ctx, "nginx", "-c", confPath, "-g", "daemon off;")
	logPath := filepath.Join(tmp, "servers.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	for _, c := range []*exec.Cmd{gunicorn, nginx} {
		// Own process group, so the workers stop with their master.
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		c.Stdout, c.Stderr = logFile, logFile
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer func(c *exec.Cmd) {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}(c)
	}
	defer func() {
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("gunicorn and nginx output:\n%s", out)
		}
	}()

	get := func(path string) (int, string) {
		url := fmt.Sprintf("http://127.0.0.1:%d%s", nginxPort, path)
		var lastErr error
		for i := 0; i < 100; i++ { // both servers start within a few seconds
			resp, err := http.Get(url)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadGateway {
					return resp.StatusCode, string(body)
				}
			}
			lastErr = err
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("GET %s: no answer: %v", url, lastErr)
		return 0, ""
	}
	if code, body := get("/health/"); code != 200 || body != "ok\n" {
		t.Errorf("GET /health/ through nginx = %d %q, want 200 \"ok\\n\"", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, `"app": "ecs-bluegreen sample"`) {
		t.Errorf("GET / through nginx = %d %q, want the app's JSON", code, body)
	}
	if code, _ := get("/missing/"); code != 404 {
		t.Errorf("GET /missing/ = %d, want 404 from Django", code)
	}
	if code, body := get("/nginx-health"); code != 200 || body != "ok\n" {
		t.Errorf("GET /nginx-health = %d %q, want nginx's own 200 for its container health check", code, body)
	}
}

// TestAppRefusesPlaceholderKey: with DEBUG off and no DJANGO_SECRET_KEY, the app
// does not start (gunicorn's worker fails to boot and the master exits).
func TestAppRefusesPlaceholderKey(t *testing.T) {
	needTools(t, "gunicorn")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "gunicorn", "--bind", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--workers", "1", "mysite.wsgi")
	cmd.Dir = "app/django"
	cmd.Env = append(os.Environ(), "DJANGO_DEBUG=0", "DJANGO_SECRET_KEY=", "DATABASE_PATH="+filepath.Join(t.TempDir(), "db.sqlite3"))
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("gunicorn kept running without a secret key:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "DJANGO_SECRET_KEY is not set") {
		t.Fatalf("gunicorn: err %v, output:\n%s", err, out)
	}
}
