package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/blang/semver"
	"gopkg.in/yaml.v3"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/offline"
)

// workflow is the part of a GitHub Actions workflow file these tests read.
type workflow struct {
	file        string
	text        string
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]*job   `yaml:"jobs"`
}

type job struct {
	If          string            `yaml:"if"`
	Needs       []string          `yaml:"needs"`
	Environment any               `yaml:"environment"`
	Permissions map[string]string `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Concurrency *struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Strategy struct {
		Matrix struct {
			Include []map[string]string `yaml:"include"`
		} `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []step `yaml:"steps"`
}

type step struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
	With map[string]string `yaml:"with"`
}

func (j *job) uses(prefix string) []map[string]string {
	var out []map[string]string
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, prefix) {
			out = append(out, s.With)
		}
	}
	return out
}

// index is the position of the first step that uses prefix or runs a script
// containing it, -1 if none does.
func (j *job) index(prefix string) int {
	for i, s := range j.Steps {
		if strings.HasPrefix(s.Uses, prefix) || (s.Run != "" && strings.Contains(s.Run, prefix)) {
			return i
		}
	}
	return -1
}

func readWorkflows(t *testing.T) map[string]*workflow {
	t.Helper()
	files, err := filepath.Glob(".github/workflows/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	out := map[string]*workflow{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w := &workflow{file: f, text: string(data)}
		if err := yaml.Unmarshal(data, w); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = w
	}
	return out
}

// TestWorkflows asserts the delivery invariants, so an edit that breaks one fails.
func TestWorkflows(t *testing.T) {
	wfs := readWorkflows(t)
	pr, deploy := wfs["pull-request.yml"], wfs["deploy.yml"]
	if pr == nil || deploy == nil {
		t.Fatal("want .github/workflows/pull-request.yml and deploy.yml")
	}

	t.Run("pull requests preview both stacks, with a comment, never for forks", func(t *testing.T) {
		if _, ok := pr.On["pull_request"]; !ok {
			t.Fatalf("%s does not run on pull_request: %v", pr.file, pr.On)
		}
		var stacks []string
		for name, j := range pr.Jobs {
			for _, with := range j.uses("pulumi/actions@") {
				if with["command"] != "preview" {
					t.Errorf("%s: job %s runs pulumi %s on a pull request", pr.file, name, with["command"])
					continue
				}
				if with["policyPacks"] != "policy" {
					t.Errorf("%s: job %s previews without the policy pack", pr.file, name)
				}
				if with["comment-on-pr"] != "true" || with["diff"] != "true" {
					t.Errorf("%s: job %s previews without comment-on-pr and diff: %v", pr.file, name, with)
				}
				if !strings.Contains(j.If, "github.event.pull_request.head.repo.full_name == github.repository") {
					t.Errorf("%s: job %s would run for forks (if: %q)", pr.file, name, j.If)
				}
				stacks = append(stacks, j.Env["STACK"])
			}
		}
		slices.Sort(stacks)
		if !slices.Equal(stacks, []string{"dev", "prod"}) {
			t.Errorf("%s previews stacks %v, want dev and prod", pr.file, stacks)
		}
		for _, want := range []string{"bash .ci/run", "docker buildx build", "go run ./cmd/plan -stack \"$stack\" -diff"} {
			if !strings.Contains(pr.text, want) {
				t.Errorf("%s lacks %q", pr.file, want)
			}
		}
	})

	t.Run("pushes to main deploy dev, then prod through its environment", func(t *testing.T) {
		push, _ := deploy.On["push"].(map[string]any)
		if push == nil || fmt.Sprint(push["branches"]) != "[main]" {
			t.Errorf("%s: on.push %v, want branches [main]", deploy.file, deploy.On["push"])
		}
		if _, ok := deploy.On["workflow_dispatch"]; !ok {
			t.Errorf("%s has no manual dispatch", deploy.file)
		}
		stackOf := map[string]string{}
		for name, j := range deploy.Jobs {
			for _, with := range j.uses("pulumi/actions@") {
				if with["command"] != "up" {
					t.Errorf("%s: job %s runs %s", deploy.file, name, with["command"])
				}
				if with["policyPacks"] != "policy" {
					t.Errorf("%s: job %s updates without the policy pack", deploy.file, name)
				}
				switch {
				case strings.Contains(with["stack-name"], "prod"):
					stackOf["prod"] = name
				case strings.Contains(with["stack-name"], "dev"):
					stackOf["dev"] = name
				}
			}
		}
		dev, prod := deploy.Jobs[stackOf["dev"]], deploy.Jobs[stackOf["prod"]]
		if dev == nil || prod == nil {
			t.Fatalf("%s: up jobs %v, want one for dev and one for prod", deploy.file, stackOf)
		}
		if prod.Environment != "prod" {
			t.Errorf("prod job's environment %v, want prod", prod.Environment)
		}
		if !slices.Contains(prod.Needs, stackOf["dev"]) || !strings.Contains(prod.If, "needs."+stackOf["dev"]+".result == 'success'") {
			t.Errorf("prod job (needs %v, if %q) does not wait for dev's success", prod.Needs, prod.If)
		}
		groups := map[string]bool{}
		for stack, name := range stackOf {
			j := deploy.Jobs[name]
			if j.Concurrency == nil || !strings.Contains(j.Concurrency.Group, stack) || j.Concurrency.CancelInProgress {
				t.Errorf("job %s: concurrency %+v, want a group of stack %s that never cancels", name, j.Concurrency, stack)
			} else {
				groups[j.Concurrency.Group] = true
			}
		}
		if len(groups) != 2 {
			t.Errorf("dev and prod share a concurrency group: %v", groups)
		}
	})

	pinned := regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	for _, w := range wfs {
		t.Run(w.file, func(t *testing.T) {
			for _, key := range []string{"aws-access-key-id", "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"} {
				if strings.Contains(w.text, key) {
					t.Errorf("mentions %s: AWS access goes through OIDC only", key)
				}
			}
			if regexp.MustCompile(`AKIA[0-9A-Z]{16}`).MatchString(w.text) {
				t.Error("holds an AWS access key id")
			}
			for scope, level := range w.Permissions {
				if level == "write" {
					t.Errorf("workflow-level permission %s: write; grant it per job", scope)
				}
			}
			// Each `uses:` is pinned to a commit, with the version in a comment.
			for _, line := range strings.Split(w.text, "\n") {
				_, ref, ok := strings.Cut(line, "uses: ")
				if !ok {
					continue
				}
				action, comment, _ := strings.Cut(ref, " # ")
				if !pinned.MatchString(strings.TrimSpace(action)) || !strings.HasPrefix(comment, "v") {
					t.Errorf("not pinned by SHA with a version comment: %s", strings.TrimSpace(line))
				}
			}
			for name, j := range w.Jobs {
				if j.Permissions == nil {
					t.Errorf("job %s has no permissions of its own", name)
				}
				creds := j.uses("aws-actions/configure-aws-credentials@")
				for _, with := range creds {
					if with["role-to-assume"] == "" {
						t.Errorf("job %s configures AWS without role-to-assume", name)
					}
				}
				if (j.Permissions["id-token"] == "write") != (len(creds) > 0) {
					t.Errorf("job %s: id-token %q with %d AWS credential steps: id-token: write only where AWS is assumed", name, j.Permissions["id-token"], len(creds))
				}
				comments := false
				for _, st := range j.Steps {
					comments = comments || st.With["comment-on-pr"] == "true" || strings.Contains(st.With["script"], "Comment(")
				}
				if (j.Permissions["pull-requests"] == "write") != comments {
					t.Errorf("job %s: pull-requests %q, comments %v: pull-requests: write only for the comments", name, j.Permissions["pull-requests"], comments)
				}
			}
		})
	}
}

// TestActionlint runs actionlint (v1.7.12, which .ci/run installs) on every workflow,
// with shellcheck on their scripts when it is installed.
func TestActionlint(t *testing.T) {
	bin, err := exec.LookPath("actionlint")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "actionlint")
		if _, statErr := os.Stat(bin); statErr != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("actionlint is not installed (.ci/run installs it)")
			}
			t.Skip("actionlint not installed: go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12")
		}
	}
	files, _ := filepath.Glob(".github/workflows/*.yml")
	args := files
	shellcheck, err := exec.LookPath("shellcheck")
	if err == nil {
		// actionlint runs it on every run: script; the scripts the workflows call it does not see.
		args = append([]string{"-shellcheck=" + shellcheck}, files...)
		scripts, _ := filepath.Glob(".github/*.sh")
		if out, err := exec.Command(shellcheck, scripts...).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %v: %v\n%s", scripts, err, out)
		}
	} else {
		t.Log("shellcheck not installed (apt-get install shellcheck): run: scripts are not checked")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

// previews returns the pull-request jobs that run `pulumi preview`, by stack.
func previews(t *testing.T, pr *workflow) map[string]*job {
	t.Helper()
	out := map[string]*job{}
	for _, j := range pr.Jobs {
		if len(j.uses("pulumi/actions@")) > 0 {
			if stack := j.Env["STACK"]; stack != "" {
				out[stack] = j
			}
			for _, m := range j.Strategy.Matrix.Include { // one job for both
				out[m["stack"]] = j
			}
		}
	}
	if out["dev"] == nil || out["prod"] == nil {
		t.Fatalf("%s: preview jobs by env.STACK or matrix %v, want dev and prod", pr.file, out)
	}
	return out
}

// TestDependabotGetsNoPreviews: runs Dependabot triggers get Dependabot secrets
// only, so a preview could only fail; every other check still runs for them.
// GitHub applies the restriction by github.actor ("For workflows initiated by
// Dependabot (github.actor == 'dependabot[bot]') ... Secrets are populated from
// Dependabot secrets", also when someone else re-runs them — "Troubleshooting
// Dependabot on GitHub Actions", docs.github.com, read 2026-09). The pull request's
// author would be the wrong field: a person's push to a Dependabot branch runs with
// the repository's secrets and gets its preview.
func TestDependabotGetsNoPreviews(t *testing.T) {
	pr := readWorkflows(t)["pull-request.yml"]
	for stack, j := range previews(t, pr) {
		if !strings.Contains(j.If, "github.actor != 'dependabot[bot]'") {
			t.Errorf("%s: preview of %s runs for Dependabot (if: %q)", pr.file, stack, j.If)
		}
	}
	for _, name := range []string{"checks", "images", "plan"} {
		j := pr.Jobs[name]
		if j == nil {
			t.Fatalf("%s has no job %s", pr.file, name)
		}
		if strings.Contains(j.If, "dependabot") {
			t.Errorf("%s: job %s skips Dependabot (if: %q)", pr.file, name, j.If)
		}
	}
}

// TestNoContextInScripts: a context interpolated into a shell script (or a
// github-script) is code whoever controls the value writes — a branch name, a
// title. Every value reaches a script through env.
func TestNoContextInScripts(t *testing.T) {
	for _, w := range readWorkflows(t) {
		for name, j := range w.Jobs {
			for i, s := range j.Steps {
				for what, text := range map[string]string{"run": s.Run, "github-script": s.With["script"]} {
					if strings.Contains(text, "${{") {
						t.Errorf("%s: job %s step %d (%s): %s interpolates a context: %q", w.file, name, i, s.Name, what, text)
					}
				}
			}
		}
	}
}

// TestProdDeploysOnlyMain: a manual run deploys only main's code, and only jobs of
// the environment prod (or prod-preview for the read-only preview) reach prod's
// roles and secrets; the environments are the ones the roles trust (infra/ci.go).
func TestProdDeploysOnlyMain(t *testing.T) {
	wfs := readWorkflows(t)
	deploy := wfs["deploy.yml"]
	branch := ciBranch(t)
	for _, name := range []string{"dev", "prod"} {
		j := deploy.Jobs[name]
		if j == nil {
			t.Fatalf("%s has no job %s", deploy.file, name)
		}
		if !strings.HasPrefix(j.If, "github.ref == 'refs/heads/"+branch+"' && ") && !strings.Contains(j.If, "&& github.ref == 'refs/heads/"+branch+"' &&") {
			t.Errorf("%s: job %s runs from any ref (if: %q), want github.ref == 'refs/heads/%s' ANDed in", deploy.file, name, j.If, branch)
		}
	}
	if env := deploy.Jobs["prod"].Environment; env != infra.CIProdEnvironment {
		t.Errorf("prod deploy in environment %v, the role trusts %s", env, infra.CIProdEnvironment)
	}
	if env := previews(t, wfs["pull-request.yml"])["prod"].Environment; env != infra.CIProdPreviewEnvironment {
		t.Errorf("prod preview in environment %v, the role trusts %s", env, infra.CIProdPreviewEnvironment)
	}
	for _, w := range wfs {
		if w.Env != nil {
			for k, v := range w.Env {
				if strings.Contains(v, "secrets.") {
					t.Errorf("%s: workflow-level env %s reads a secret: every job, prod's or not, would get it", w.file, k)
				}
			}
		}
		for name, j := range w.Jobs {
			prod := j.Environment == infra.CIProdEnvironment || j.Environment == infra.CIProdPreviewEnvironment
			for _, with := range j.uses("aws-actions/configure-aws-credentials@") {
				if strings.Contains(with["role-to-assume"], "_PROD") != prod {
					t.Errorf("%s: job %s (environment %v) assumes %s", w.file, name, j.Environment, with["role-to-assume"])
				}
			}
		}
	}
}

// ciBranch is the branch dev's deploy role trusts, as the committed stack files say.
func ciBranch(t *testing.T) string {
	t.Helper()
	project, cfg, err := offline.StackConfig(".", "dev")
	if err != nil {
		t.Fatal(err)
	}
	c, err := infra.ParseConfig(project, "dev", func(k string) (string, bool) { v, ok := cfg[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return c.CI.Branch
}

// TestDeployBranchIsCIBranch: the branch whose pushes deploy is the one dev's role
// trusts; were they to drift, every push would fail at the role, or deploy from a
// branch the role was meant to refuse.
func TestDeployBranchIsCIBranch(t *testing.T) {
	deploy := readWorkflows(t)["deploy.yml"]
	push, _ := deploy.On["push"].(map[string]any)
	if got, want := fmt.Sprint(push["branches"]), "["+ciBranch(t)+"]"; got != want {
		t.Errorf("%s: on.push.branches %s, ciBranch %s", deploy.file, got, want)
	}
}

// TestDeployChecksTheStackFile: both up jobs run the stack-file check before AWS
// credentials and `pulumi up`, for their own stack.
func TestDeployChecksTheStackFile(t *testing.T) {
	deploy := readWorkflows(t)["deploy.yml"]
	for _, name := range []string{"dev", "prod"} {
		j := deploy.Jobs[name]
		check, creds, up := j.index("bash .github/check-stack-file.sh"), j.index("aws-actions/configure-aws-credentials@"), j.index("pulumi/actions@")
		if check < 0 || check > creds || check > up {
			t.Errorf("%s: job %s checks the stack file at step %d, assumes AWS at %d, runs up at %d", deploy.file, name, check, creds, up)
		}
		if j.Env["STACK"] != name {
			t.Errorf("%s: job %s has env.STACK %q", deploy.file, name, j.Env["STACK"])
		}
		// The job's own stack file, not another's.
		if check >= 0 && strings.TrimSpace(j.Steps[check].Run) != `bash .github/check-stack-file.sh "$STACK"` {
			t.Errorf("%s: job %s checks with %q, want the job's $STACK", deploy.file, name, j.Steps[check].Run)
		}
	}
}

// TestActionsOnNode24: GitHub retires the node20 runtime; each action is pinned at
// a release that runs on node24 or later (runs.using of its action.yml at the tag,
// read from the action's repository, fetched 2026-09), and each action is pinned
// to one commit across the workflows.
func TestActionsOnNode24(t *testing.T) {
	first := map[string]string{ // the first release on node24
		"actions/checkout":                      "v5.0.0",
		"actions/setup-go":                      "v6.2.0",
		"docker/setup-buildx-action":            "v4.0.0",
		"aws-actions/configure-aws-credentials": "v6.0.0",
		"pulumi/actions":                        "v7.0.0",
		"actions/upload-artifact":               "v6.0.0",
		"actions/download-artifact":             "v7.0.0",
		"actions/github-script":                 "v8.0.0",
	}
	pins := map[string]string{}
	for _, w := range readWorkflows(t) {
		for _, line := range strings.Split(w.text, "\n") {
			_, ref, ok := strings.Cut(line, "uses: ")
			if !ok {
				continue
			}
			action, comment, _ := strings.Cut(ref, " # ")
			name, sha, _ := strings.Cut(strings.TrimSpace(action), "@")
			min, known := first[name]
			if !known {
				t.Errorf("%s: %s is not in this test's table: look up the release it needs", w.file, name)
				continue
			}
			if v, err := semver.ParseTolerant(strings.TrimSpace(comment)); err != nil || v.LT(semver.MustParse(strings.TrimPrefix(min, "v"))) {
				t.Errorf("%s: %s at %q, want %s or later (node24)", w.file, name, comment, min)
			}
			pin := sha + " # " + strings.TrimSpace(comment)
			if prev, ok := pins[name]; ok && prev != pin {
				t.Errorf("%s: %s pinned as %s and as %s", w.file, name, prev, pin)
			}
			pins[name] = pin
		}
	}
}

// TestPulumiCLIMatchesSDK: the workflows install the Pulumi CLI of the SDK release
// go.mod requires; Dependabot bumps go.mod, and this fails until the CLI follows.
func TestPulumiCLIMatchesSDK(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/pulumi/pulumi/sdk/v3 v(\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/pulumi/pulumi/sdk/v3")
	}
	n := 0
	for _, w := range readWorkflows(t) {
		for name, j := range w.Jobs {
			for _, with := range j.uses("pulumi/actions@") {
				n++
				if with["pulumi-version"] != string(m[1]) {
					t.Errorf("%s: job %s installs Pulumi CLI %q, go.mod has SDK %s", w.file, name, with["pulumi-version"], m[1])
				}
			}
		}
	}
	if n == 0 {
		t.Error("no pulumi/actions steps found")
	}
}

// TestImagesPinned: each Dockerfile starts from an exact release (a digest only
// where a public record of it was read), and Dependabot watches each directory.
func TestImagesPinned(t *testing.T) {
	files, _ := filepath.Glob("app/*/Dockerfile")
	if len(files) < 2 {
		t.Fatalf("Dockerfiles %v", files)
	}
	var dependabot struct {
		Updates []struct {
			Ecosystem   string   `yaml:"package-ecosystem"`
			Directory   string   `yaml:"directory"`
			Directories []string `yaml:"directories"`
		} `yaml:"updates"`
	}
	data, err := os.ReadFile(".github/dependabot.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &dependabot); err != nil {
		t.Fatal(err)
	}
	watched := map[string]bool{}
	for _, u := range dependabot.Updates {
		if u.Ecosystem == "docker" {
			for _, d := range append(u.Directories, u.Directory) {
				watched[d] = true
			}
		}
	}
	exact := regexp.MustCompile(`^FROM [\w./-]+:\d+\.\d+\.\d+(-[\w.-]+)?(@sha256:[0-9a-f]{64})?$`)
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(text), "\n") {
			if strings.HasPrefix(line, "FROM ") && !exact.MatchString(line) {
				t.Errorf("%s: %q is not an exact release", f, line)
			}
		}
		if dir := "/" + filepath.ToSlash(filepath.Dir(f)); !watched[dir] {
			t.Errorf("Dependabot does not watch %s (docker)", dir)
		}
	}
}

// TestStackFileCheck runs .github/check-stack-file.sh, which deploy.yml runs before
// `pulumi up`, on stack files the bootstrap did or did not commit, with a stand-in
// for GitHub's OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL, a JSON {"value":
// JWT}, as actions/toolkit's core.getIDToken reads it).
func TestStackFileCheck(t *testing.T) {
	needTools(t, "bash", "yq", "jq", "curl", "base64")
	script, err := filepath.Abs(".github/check-stack-file.sh")
	if err != nil {
		t.Fatal(err)
	}
	project, err := os.ReadFile("Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var subject string // what the token endpoint issues
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer request-token" || r.URL.Query().Get("audience") != "sts.amazonaws.com" {
			http.Error(w, "bad token request", http.StatusUnauthorized)
			return
		}
		claims, _ := json.Marshal(map[string]string{"sub": subject, "aud": "sts.amazonaws.com", "iss": "https://token.actions.githubusercontent.com"})
		jwt := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
		_ = json.NewEncoder(w).Encode(map[string]string{"value": jwt})
	}))
	defer tokens.Close()

	const salt = "encryptionsalt: v1:AAAAAAAAAAA=:v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n"
	s3 := map[string]string{"PULUMI_BACKEND_URL": "s3://acme-state?region=ap-northeast-2", "PULUMI_CONFIG_PASSPHRASE": "dev-passphrase"}
	cases := []struct {
		name, stack, file, subject string
		env                        map[string]string
		want                       []string // empty: passes
	}{
		{"committed bootstrap, S3 backend", "dev", salt + "config:\n  ecs-bluegreen:ciRepository: acme/shop\n  ecs-bluegreen:ciStateBucket: acme-state\n",
			"repo:acme/shop:ref:refs/heads/main", s3, nil},
		{"bootstrap not committed", "dev", "config:\n  aws:region: ap-northeast-2\n", "repo:acme/shop:ref:refs/heads/main", s3,
			[]string{"ciRepository is not set", "delete the stack's CI roles", "ciStateBucket is ''", "encryptionsalt is missing"}},
		{"state in another bucket", "dev", salt + "config:\n  ecs-bluegreen:ciRepository: acme/shop\n  ecs-bluegreen:ciStateBucket: old-state\n",
			"repo:acme/shop:ref:refs/heads/main", s3, []string{"ciStateBucket is 'old-state'", "bucket acme-state"}},
		{"Pulumi Cloud needs no bucket or salt", "dev", "config:\n  ecs-bluegreen:ciRepository: acme/shop\n",
			"repo:acme/shop:ref:refs/heads/main", map[string]string{"PULUMI_ACCESS_TOKEN": "x"}, nil},
		{"passphrase backend without the passphrase", "dev", salt + "config:\n  ecs-bluegreen:ciRepository: acme/shop\n  ecs-bluegreen:ciStateBucket: acme-state\n",
			"repo:acme/shop:ref:refs/heads/main", map[string]string{"PULUMI_BACKEND_URL": "s3://acme-state"}, []string{"PULUMI_CONFIG_PASSPHRASE is empty"}},
		{"repository on immutable subjects, name form committed", "dev", "config:\n  ecs-bluegreen:ciRepository: acme/shop\n",
			"repo:acme@123456/shop@456789:ref:refs/heads/main", nil,
			[]string{"OIDC subject is repo:acme@123456/shop@456789:ref:refs/heads/main, the deploy role trusts repo:acme/shop:ref:refs/heads/main"}},
		{"repository on immutable subjects, ids committed", "dev", "config:\n  ecs-bluegreen:ciRepository: acme@123456/shop@456789\n",
			"repo:acme@123456/shop@456789:ref:refs/heads/main", nil, nil},
		{"another ciBranch", "dev", "config:\n  ecs-bluegreen:ciRepository: acme/shop\n  ecs-bluegreen:ciBranch: release\n",
			"repo:acme/shop:ref:refs/heads/release", nil, nil},
		{"another repository", "dev", "config:\n  ecs-bluegreen:ciRepository: acme/old-shop\n",
			"repo:acme/shop:ref:refs/heads/main", nil, []string{"ciRepository is acme/old-shop, but this workflow runs in acme/shop"}},
		{"prod with the placeholder domain", "prod", "config:\n  ecs-bluegreen:environment: prod\n  ecs-bluegreen:ciRepository: acme/shop\n  ecs-bluegreen:domainName: app.example.com\n  ecs-bluegreen:hostedZoneId: Z0123456789EXAMPLE0\n",
			"repo:acme/shop:environment:prod", nil, []string{"domainName is the placeholder app.example.com", "hostedZoneId is the placeholder"}},
		{"prod committed", "prod", "config:\n  ecs-bluegreen:environment: prod\n  ecs-bluegreen:ciRepository: acme/shop\n  ecs-bluegreen:domainName: shop.acme.com\n  ecs-bluegreen:hostedZoneId: Z1234567890ABC\n",
			"repo:acme/shop:environment:prod", nil, nil},
		{"no OIDC token", "dev", "config:\n  ecs-bluegreen:ciRepository: acme/shop\n", "repo:acme/shop:ref:refs/heads/main",
			map[string]string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "wrong"}, []string{"could not fetch this job's OIDC token"}},
		{"no stack file", "qa", "", "", nil, []string{"Pulumi.qa.yaml is not committed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), project, 0o644); err != nil {
				t.Fatal(err)
			}
			if c.file != "" {
				if err := os.WriteFile(filepath.Join(dir, "Pulumi."+c.stack+".yaml"), []byte(c.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			subject = c.subject
			cmd := exec.Command("bash", script, c.stack)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GITHUB_REPOSITORY=acme/shop",
				"ACTIONS_ID_TOKEN_REQUEST_URL=" + tokens.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=request-token"}
			for k, v := range c.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("passed, want a refusal:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// githubScriptHarness runs the github-script steps of a job in order, the way
// actions/github-script calls a script (an async function of github, context,
// core, require), against a stand-in for the REST calls plan-comment.yml makes.
// It prints the writes made and the failure, if any, as JSON. A step's env may
// name an earlier step's output (${{ steps.ID.outputs.KEY }}); a step whose `if`
// is steps.ID.outputs.KEY != ” runs only when that output is set.
const githubScriptHarness = `
const fs = require('fs');
const [steps, state] = [JSON.parse(fs.readFileSync(process.argv[2])), JSON.parse(fs.readFileSync(process.argv[3]))];
const result = { writes: [], failed: null, notices: [] };
const github = {
  paginate: async (fn, args) => fn(args),
  rest: {
    pulls: { list: async a => state.pulls.filter(p => a.state === 'open' && p.state === 'open' && p.head.repo.owner.login + ':' + p.head.ref === a.head) },
    actions: { listWorkflowRunArtifacts: async a => ({ data: { artifacts: a.run_id === state.run.id ? (state.artifacts || []).filter(x => x.name === a.name) : [] } }) },
    issues: {
      listComments: async a => state.comments.filter(c => c.issue === a.issue_number),
      updateComment: async a => { result.writes.push({ op: 'update', id: a.comment_id, body: a.body }); },
      createComment: async a => { result.writes.push({ op: 'create', issue: a.issue_number, body: a.body }); },
    },
  },
};
const context = { payload: { workflow_run: state.run }, repo: { owner: 'acme', repo: 'shop' } };
(async () => {
  const outputs = {};
  for (const step of steps) {
    const cond = /^steps\.(\w+)\.outputs\.(\w+) != ''$/.exec(step.if || '');
    if (step.if && !cond) throw new Error('harness cannot evaluate if: ' + step.if);
    if (cond && !((outputs[cond[1]] || {})[cond[2]])) continue;
    for (const [k, v] of Object.entries(step.env || {})) {
      const m = /^\$\{\{ steps\.(\w+)\.outputs\.(\w+) \}\}$/.exec(v);
      process.env[k] = m ? ((outputs[m[1]] || {})[m[2]] || '') : v;
    }
    const out = outputs[step.id || ''] = {};
    const core = { setOutput: (k, v) => { out[k] = String(v); }, setFailed: m => { result.failed = m; }, notice: m => result.notices.push(m), info() {}, warning() {} };
    try {
      await new (Object.getPrototypeOf(async function () {}).constructor)('github', 'context', 'core', 'require', step.script)(github, context, core, require);
    } catch (e) { result.failed = 'threw: ' + e.message; }
    if (result.failed) break;
  }
  console.log(JSON.stringify(result));
})();
`

type scriptWrite struct {
	Op    string `json:"op"`
	ID    int    `json:"id"`
	Issue int    `json:"issue"`
	Body  string `json:"body"`
}

// TestPlanComment drives plan-comment.yml's scripts through a fork's artifact that
// lies: the artifact is the fork's output, so the pull request must come from the
// run itself (its head repository, branch and commit; workflow_run.pull_requests
// is empty for forks: actions/runner#3444, github/docs#22501), the text must stay
// text, and only the bot's own comment may be edited.
func TestPlanComment(t *testing.T) {
	needTools(t, "node")
	w := readWorkflows(t)["plan-comment.yml"]
	j := w.Jobs["comment"]
	if j == nil {
		t.Fatalf("%s has no job comment", w.file)
	}
	for _, c := range []string{"cancelled", "skipped", "timed_out"} {
		if !strings.Contains(j.If, "github.event.workflow_run.conclusion == 'success'") || strings.Contains(j.If, c) {
			t.Errorf("%s: job if %q; want it to run for success and failure only, not %s", w.file, j.If, c)
		}
	}
	type scriptStep struct {
		ID     string            `json:"id"`
		If     string            `json:"if"`
		Env    map[string]string `json:"env"`
		Script string            `json:"script"`
	}
	var scripts []scriptStep
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "actions/github-script@") {
			scripts = append(scripts, scriptStep{s.ID, s.If, s.Env, s.With["script"]})
		}
	}
	const marker = "<!-- ecs-bluegreen plan delta -->"
	bot := map[string]string{"login": "github-actions[bot]", "type": "Bot"}
	mallory := map[string]string{"login": "mallory", "type": "User"}
	fork := map[string]any{"id": 99, "full_name": "mallory/shop", "owner": map[string]string{"login": "mallory"}}
	base := map[string]any{"id": 1, "full_name": "acme/shop", "owner": map[string]string{"login": "acme"}}
	pulls := []map[string]any{
		{"number": 7, "state": "open", "head": map[string]any{"ref": "main", "sha": "f00dfeed", "repo": fork}, "base": map[string]any{"ref": "main"}},
		{"number": 8, "state": "open", "head": map[string]any{"ref": "feature", "sha": "0badc0de", "repo": base}, "base": map[string]any{"ref": "main"}},
	}
	run := map[string]any{"id": 4242, "event": "pull_request", "head_branch": "main", "head_sha": "f00dfeed", "head_repository": fork, "pull_requests": []any{}}
	artifact := []map[string]any{{"name": "plan-comment", "expired": false}}
	comments := []map[string]any{
		{"issue": 8, "id": 800, "user": bot, "body": marker + "\nthe plan of #8"},
		{"issue": 7, "id": 700, "user": mallory, "body": marker + "\nplanted by a person"},
	}
	cases := []struct {
		name            string
		prNumber, text  string
		artifacts       []map[string]any
		comments        []map[string]any
		want            []scriptWrite // op and target; bodies checked below
		wantFailContain string
		wantNotice      string
	}{
		{"artifact names another pull request", "8", "| cost | $1 |", artifact, comments, nil, "refused", ""},
		{"honest fork, a planted marker is not the bot's", "7", "| cost | $1 |", artifact, comments, []scriptWrite{{Op: "create", Issue: 7}}, "", ""},
		{"the bot's own comment is updated", "7", "| cost | $2 |", artifact,
			append([]map[string]any{{"issue": 7, "id": 701, "user": bot, "body": marker + "\nold"}}, comments...), []scriptWrite{{Op: "update", ID: 701}}, "", ""},
		{"no artifact (the plan job never finished)", "", "", nil, comments, nil, "", "left no plan-comment artifact"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.artifacts != nil {
				if err := os.MkdirAll(filepath.Join(dir, "plan"), 0o755); err != nil {
					t.Fatal(err)
				}
				text := c.text + "\n````\nclosed?\n```\n@acme/owners ![x](https://evil.example/p.png) <img src=x>\n" + marker + "\n"
				for name, body := range map[string]string{"pr-number": c.prNumber + "\n", "comment.md": text} {
					if err := os.WriteFile(filepath.Join(dir, "plan", name), []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			state, _ := json.Marshal(map[string]any{"run": run, "pulls": pulls, "artifacts": c.artifacts, "comments": c.comments})
			stepsJSON, _ := json.Marshal(scripts)
			for name, data := range map[string][]byte{"harness.js": []byte(githubScriptHarness), "state.json": state, "steps.json": stepsJSON} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("node", "harness.js", "steps.json", "state.json")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("harness: %v\n%s", err, out)
			}
			var got struct {
				Writes  []scriptWrite `json:"writes"`
				Failed  *string       `json:"failed"`
				Notices []string      `json:"notices"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("harness output %s: %v", out, err)
			}
			if c.wantFailContain == "" && got.Failed != nil {
				t.Errorf("failed: %s", *got.Failed)
			}
			if c.wantFailContain != "" && (got.Failed == nil || !strings.Contains(*got.Failed, c.wantFailContain)) {
				t.Errorf("failure %v, want one containing %q", got.Failed, c.wantFailContain)
			}
			if c.wantNotice != "" && !strings.Contains(strings.Join(got.Notices, "\n"), c.wantNotice) {
				t.Errorf("notices %q, want one containing %q", got.Notices, c.wantNotice)
			}
			if len(got.Writes) != len(c.want) {
				t.Fatalf("writes %+v, want %+v", got.Writes, c.want)
			}
			for i, wr := range got.Writes {
				if wr.Op != c.want[i].Op || wr.ID != c.want[i].ID || wr.Issue != c.want[i].Issue {
					t.Errorf("write %d: %s id %d issue %d, want %+v", i, wr.Op, wr.ID, wr.Issue, c.want[i])
				}
				// The text sits in one code block it cannot close: a fence longer
				// than any backtick run inside, opening after the marker and the
				// header, closing as the last line.
				lines := strings.Split(wr.Body, "\n")
				if lines[0] != marker || strings.Count(wr.Body, marker) != 2 {
					t.Errorf("body does not start with the marker (and hold the text's copy only inside the block):\n%s", wr.Body)
				}
				open := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "`````") })
				if open < 0 || lines[len(lines)-1] != strings.TrimSuffix(lines[open], "text") || !strings.Contains(strings.Join(lines[open:], "\n"), c.text) {
					t.Errorf("text not fenced by a fence longer than its own backtick runs:\n%s", wr.Body)
				}
				for _, l := range lines[open+1 : len(lines)-1] {
					if strings.HasPrefix(l, strings.TrimSuffix(lines[open], "text")) {
						t.Errorf("line %q closes the block early", l)
					}
				}
			}
		})
	}
}
