package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ecs-bluegreen/infra"
)

// The sample app's worker and scheduled command, run with Debian's python3-django
// as the task runs them: the worker against a local stand-in of SQS's JSON
// protocol, which checks each request's Signature Version 4 as SQS would, with
// credentials from a stand-in of the ECS container credentials endpoint.

// pythonWithDjango finds a python3 that imports Django (Debian's python3-django
// installs into /usr/bin/python3, which another python3 on PATH may shadow).
func pythonWithDjango(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import django").Run() == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no python3 with Django; .ci/run installs python3-django")
	}
	t.Skip("no python3 with Django (apt-get install python3-django)")
	return ""
}

// Test credentials, as the container credentials endpoint hands out a task role's.
const (
	testKey, testSecret, testToken = "ASIATESTKEY", "test-secret", "test-session-token"
	testQueueURL                   = "https://sqs.ap-northeast-2.amazonaws.com/123456789012/web-jobs"
)

// verifySigV4 checks an AWS Signature Version 4 the way AWS does: the canonical
// request from the headers the signature names, the string to sign for its scope,
// the key derived from the secret; "" when it holds.
func verifySigV4(r *http.Request, body []byte, secret, region, service string) string {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "no SigV4 Authorization header"
	}
	parts := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(auth, algo), ", ") {
		k, v, _ := strings.Cut(kv, "=")
		parts[k] = v
	}
	cred := strings.Split(parts["Credential"], "/")
	if len(cred) != 5 || cred[2] != region || cred[3] != service || cred[4] != "aws4_request" {
		return "credential scope " + parts["Credential"]
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	for _, must := range []string{"host", "x-amz-date", "x-amz-target", "content-type", "x-amz-security-token"} {
		if !slices.Contains(signed, must) {
			return "unsigned header " + must
		}
	}
	var canonHeaders strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		fmt.Fprintf(&canonHeaders, "%s:%s\n", h, strings.Join(strings.Fields(v), " "))
	}
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, canonHeaders.String(), parts["SignedHeaders"], hex.EncodeToString(payload[:])}, "\n")
	ch := sha256.Sum256([]byte(canonical))
	date := r.Header.Get("X-Amz-Date")
	scope := strings.Join(cred[1:], "/")
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", date, scope, hex.EncodeToString(ch[:])}, "\n")
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+secret), cred[1])
	for _, p := range []string{region, service, "aws4_request"} {
		k = mac(k, p)
	}
	if want := hex.EncodeToString(mac(k, toSign)); want != parts["Signature"] {
		return "signature does not match (canonical request:\n" + canonical + ")"
	}
	return ""
}

// sqsStandIn answers ReceiveMessage and DeleteMessage of SQS's JSON protocol
// (X-Amz-Target AmazonSQS.<Action>, application/x-amz-json-1.0), refusing what SQS
// would refuse: a wrong signature, a token other than the role's.
type sqsStandIn struct {
	t        *testing.T
	mu       sync.Mutex
	messages []map[string]string // handed out by the first receive
	deleted  []string
	actions  []string
	errors   []string
}

func (q *sqsStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	q.mu.Lock()
	defer q.mu.Unlock()
	fail := func(status int, kind, msg string) {
		q.errors = append(q.errors, kind+": "+msg)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + kind, "message": msg})
	}
	if why := verifySigV4(r, body, testSecret, "ap-northeast-2", "sqs"); why != "" {
		fail(403, "SignatureDoesNotMatch", why)
		return
	}
	if r.Header.Get("X-Amz-Security-Token") != testToken || r.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		fail(400, "InvalidClientTokenId", "token or content type")
		return
	}
	var in map[string]any
	json.Unmarshal(body, &in)
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	q.actions = append(q.actions, action)
	if in["QueueUrl"] != testQueueURL {
		fail(400, "QueueDoesNotExist", fmt.Sprint(in["QueueUrl"]))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch action {
	case "ReceiveMessage":
		msgs := q.messages
		q.messages = nil
		if len(msgs) == 0 { // a long poll that finds nothing
			if wait, _ := in["WaitTimeSeconds"].(float64); wait > 0 {
				q.mu.Unlock()
				time.Sleep(200 * time.Millisecond)
				q.mu.Lock()
			}
		}
		if len(msgs) == 0 { // SQS leaves the Messages member out of an empty receive
			w.Write([]byte("{}"))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Messages": msgs})
	case "DeleteMessage":
		q.deleted = append(q.deleted, fmt.Sprint(in["ReceiptHandle"]))
		w.Write([]byte("{}"))
	default:
		fail(400, "UnsupportedOperation", action)
	}
}

// workerEnv is the worker container's environment, with the stand-ins for SQS
// and the container credentials endpoint.
func workerEnv(t *testing.T, sqs, creds string) []string {
	dir := t.TempDir()
	return append(os.Environ(),
		"WORKER_QUEUE_URL="+testQueueURL, "AWS_ENDPOINT_URL_SQS="+sqs,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+creds, "AWS_CONTAINER_AUTHORIZATION_TOKEN=task-auth",
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_REGION=",
		"DJANGO_SECRET_KEY=test-only-secret-key", "DJANGO_DEBUG=0", "DATABASE_PATH="+filepath.Join(dir, "db.sqlite3"),
		"WORKER_HEARTBEAT="+filepath.Join(dir, "heartbeat"))
}

func credentialsStandIn(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "task-auth" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": testKey, "SecretAccessKey": testSecret, "Token": testToken,
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSampleWorker: `manage.py worker` takes the queue's jobs with the task
// role's credentials, deletes the one it ran, leaves the one that failed for a
// retry (and, after maxReceiveCount, the dead-letter queue), and keeps the
// heartbeat its health check reads.
func TestSampleWorker(t *testing.T) {
	python := pythonWithDjango(t)
	q := &sqsStandIn{t: t, messages: []map[string]string{
		{"MessageId": "m-1", "ReceiptHandle": "rh-1", "Body": `{"task": "echo", "args": {"to": "a@example.com"}}`},
		{"MessageId": "m-2", "ReceiptHandle": "rh-2", "Body": `{"task": "explode"}`},
	}}
	sqs := httptest.NewServer(q)
	defer sqs.Close()
	env := workerEnv(t, sqs.URL, credentialsStandIn(t).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "manage.py", "worker", "--once", "--wait", "0")
	cmd.Dir, cmd.Env = "app/django", env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("worker: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	q.mu.Lock()
	if len(q.errors) > 0 {
		t.Errorf("SQS refused: %v", q.errors)
	}
	if !slices.Equal(q.deleted, []string{"rh-1"}) || !slices.Equal(q.actions, []string{"ReceiveMessage", "DeleteMessage"}) {
		t.Errorf("actions %v, deleted %v; want a receive and the echo job's delete", q.actions, q.deleted)
	}
	q.mu.Unlock()
	if !strings.Contains(stdout.String(), `worker: job m-1: echo {"to": "a@example.com"}`) || !strings.Contains(stderr.String(), "worker: job m-2 failed: unknown task 'explode'") {
		t.Errorf("output:\n%s%s", stdout.String(), stderr.String())
	}

	// The health check: healthy right after a round, unhealthy when the loop stalled.
	check := func() error {
		c := exec.CommandContext(ctx, python, "manage.py", "worker", "--check")
		c.Dir, c.Env = "app/django", env
		return c.Run()
	}
	if err := check(); err != nil {
		t.Errorf("health check after a round: %v", err)
	}
	var heartbeat string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "WORKER_HEARTBEAT="); ok {
			heartbeat = v
		}
	}
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(heartbeat, old, old); err != nil {
		t.Fatal(err)
	}
	if err := check(); err == nil {
		t.Error("health check passes with a heartbeat two minutes old")
	}
}

// TestSampleWorkerStopsOnSIGTERM: ECS stops a task with SIGTERM (and kills it
// stopTimeout later): the worker finishes its round and exits 0.
func TestSampleWorkerStopsOnSIGTERM(t *testing.T) {
	python := pythonWithDjango(t)
	sqs := httptest.NewServer(&sqsStandIn{t: t})
	defer sqs.Close()
	cmd := exec.Command(python, "manage.py", "worker", "--wait", "1")
	cmd.Dir, cmd.Env = "app/django", workerEnv(t, sqs.URL, credentialsStandIn(t).URL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "worker: consuming") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // inside a long poll
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "worker: stopped") {
			t.Errorf("worker after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("worker still running 10 s after SIGTERM:\n%s", out.String())
	}
}

// TestScheduledReport: the schedule's command as the stack runs it — under
// timeout(1), from the app's image — exits 0 with its report line; a run over
// its limit exits 124, a failed run.
func TestScheduledReport(t *testing.T) {
	python := pythonWithDjango(t)
	needTools(t, "timeout")
	env := workerEnv(t, "http://127.0.0.1:1", "http://127.0.0.1:1")
	cmd := infra.TimedCommand([]string{python, "manage.py", "report"}, 1)
	run := exec.Command(cmd[0], cmd[1:]...)
	run.Dir, run.Env = "app/django", env
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, out)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out), &line); err != nil || line["report"] != "daily" || line["database"] != true {
		t.Errorf("report line %q: %v", out, err)
	}
	// The limit and the kill grace, in seconds: shortened for the test.
	shorten := func(cmd []string) []string {
		if !slices.Equal(cmd[:5], []string{"timeout", "-k", strconv.Itoa(infra.KillAfterSeconds), "-s", "TERM"}) {
			t.Fatalf("timed command %v: want timeout -k %d -s TERM <seconds> …", cmd, infra.KillAfterSeconds)
		}
		cmd[2], cmd[5] = "2", "1"
		return cmd
	}
	slow := shorten(infra.TimedCommand([]string{python, "-c", "import time; time.sleep(30)"}, 1))
	start := time.Now()
	err = exec.Command(slow[0], slow[1:]...).Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 124 || time.Since(start) > 10*time.Second {
		t.Errorf("a run over its limit: %v after %s, want exit 124 at the limit", err, time.Since(start))
	}
	// A run that ignores SIGTERM (a handler waiting for a lock, say) is killed
	// the grace later: Fargate would otherwise run it for ever.
	stubborn := shorten(infra.TimedCommand([]string{python, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(30)"}, 1))
	start = time.Now()
	err = exec.Command(stubborn[0], stubborn[1:]...).Run()
	// timeout(1) ends itself with the KILL too: a container's exit code 137.
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL || time.Since(start) > 10*time.Second {
		t.Errorf("a run that ignores SIGTERM: %v after %s, want it killed (SIGKILL) at the limit and the grace, 3 s", err, time.Since(start))
	}
}
