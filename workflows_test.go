package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflow is the part of a GitHub Actions workflow file these tests read.
type workflow struct {
	file        string
	text        string
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]*job   `yaml:"jobs"`
}

type job struct {
	If          string            `yaml:"if"`
	Needs       []string          `yaml:"needs"`
	Environment any               `yaml:"environment"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency *struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Strategy struct {
		Matrix struct {
			Include []map[string]string `yaml:"include"`
		} `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []struct {
		Uses string            `yaml:"uses"`
		Run  string            `yaml:"run"`
		With map[string]string `yaml:"with"`
	} `yaml:"steps"`
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
				for _, m := range j.Strategy.Matrix.Include {
					stacks = append(stacks, m["stack"])
				}
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

// TestActionlint runs actionlint (v1.7.12, which .ci/run installs) on every workflow.
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
	out, err := exec.Command(bin, files...).CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}
