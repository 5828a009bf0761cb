package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecs-bluegreen/infra/rollout/fakeaws"
)

const td1 = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-bluegreen-dev-web:1"

// live is a fake AWS with the dev stack's service on its first revision, and the
// stack's outputs in a file.
func live(t *testing.T) (*fakeaws.Sim, string) {
	t.Helper()
	srv := fakeaws.New()
	t.Cleanup(srv.Close)
	srv.Environ(t)
	sim := fakeaws.NewSim(srv)
	sim.RegisterTaskDefinition(td1, fakeaws.TaskDef{Containers: []fakeaws.Container{{Name: "app", Image: "repo/app@sha256:1", LogGroup: "/ecs/web", StreamPrefix: "app"}}})
	sim.EnsureService(fakeaws.ServiceSpec{Name: "web-svc", Cluster: "web-cluster", TaskDefinition: td1, Subnets: []string{"subnet-a"},
		SecurityGroups: []string{"sg-1"}, AssignPublicIP: true, ContainerName: "nginx", ContainerPort: 8080, DesiredCount: 1, TargetGroup: "tg"})
	outputs, _ := json.Marshal(map[string]string{"clusterName": "web-cluster", "serviceName": "web-svc", "codedeployApplication": "web-app",
		"codedeployDeploymentGroup": "web", "taskDefinitionArn": td1, "url": "http://example"})
	file := filepath.Join(t.TempDir(), "outputs.json")
	if err := os.WriteFile(file, outputs, 0o644); err != nil {
		t.Fatal(err)
	}
	return sim, file
}

func runOps(args ...string) (code int, stdout, stderr string) {
	var out, errs bytes.Buffer
	code = run(args, &out, &errs)
	return code, out.String(), errs.String()
}

// TestExitCodes: 0 done, 1 the operation failed, 2 the command could not run.
func TestExitCodes(t *testing.T) {
	sim, outputs := live(t)
	sim.Steps = 1
	noOutputs := filepath.Join(t.TempDir(), "empty.json")
	os.WriteFile(noOutputs, []byte(`{"url": "http://example"}`), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "usage: ops"},
		{"unknown command", []string{"deploy", "-stack", "dev"}, 2, `unknown command "deploy"`},
		{"no stack", []string{"status", "-dir", "../.."}, 2, "-stack is required"},
		{"run without a command", []string{"run", "-stack", "dev", "-dir", "../..", "-outputs", outputs}, 2, "give the command after --"},
		{"a stack without outputs", []string{"status", "-stack", "dev", "-dir", "../..", "-outputs", noOutputs}, 2,
			"stack dev has no outputs clusterName, serviceName, codedeployApplication, codedeployDeploymentGroup, taskDefinitionArn: has it been deployed"},
		{"a stack file that is not there", []string{"status", "-stack", "staging", "-dir", "../..", "-outputs", outputs}, 2, "reading the stack's config"},
		{"status", []string{"status", "-stack", "dev", "-dir", "../..", "-outputs", outputs}, 0, ""},
		{"nothing to roll back to", []string{"rollback", "-stack", "dev", "-dir", "../..", "-outputs", outputs}, 1, "nothing to roll back to"},
		{"a command that exits 0", []string{"run", "-stack", "dev", "-dir", "../..", "-outputs", outputs, "--", "true"}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runOps(c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q (stdout %q); want exit %d and %q", code, stderr, stdout, c.code, c.want)
			}
		})
	}
	if code, stdout, _ := runOps("-h"); code != 0 || !strings.Contains(stdout, "rollback  make the previous revision serve again") {
		t.Errorf("ops -h: exit %d, stdout %q; want 0 and the commands", code, stdout)
	}
	sim.MigrationExit = 3
	if code, stdout, _ := runOps("run", "-stack", "dev", "-dir", "../..", "-outputs", outputs, "--", "python", "manage.py", "check"); code != 1 || !strings.Contains(stdout, "app exited 3") {
		t.Errorf("a command that exits 3: exit %d, %s", code, stdout)
	}
}

// TestSecretStaticKeys: a static key stored as a secret cannot be decrypted here;
// ops says so (exit 2) instead of signing with a stand-in AWS refuses.
func TestSecretStaticKeys(t *testing.T) {
	_, outputs := live(t)
	dir := t.TempDir()
	project, _ := os.ReadFile("../../Pulumi.yaml")
	stack, _ := os.ReadFile("../../Pulumi.dev.yaml")
	os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), project, 0o644)
	os.WriteFile(filepath.Join(dir, "Pulumi.keyed.yaml"), append(stack, []byte("  aws:accessKey: AKIAEXAMPLE\n  aws:secretKey:\n    secure: v1:c2VjcmV0:ZW5jcnlwdGVk\n")...), 0o644)
	code, _, stderr := runOps("status", "-stack", "keyed", "-dir", dir, "-outputs", outputs)
	if code != 2 || !strings.Contains(stderr, "config aws:secretKey of stack keyed is a secret, which ops cannot decrypt") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestStatusJSON: -json prints only JSON on stdout, naming what serves.
func TestStatusJSON(t *testing.T) {
	_, outputs := live(t)
	code, stdout, stderr := runOps("status", "-stack", "dev", "-dir", "../..", "-outputs", outputs, "-json")
	var s struct {
		Serving struct {
			TaskDefinition string            `json:"taskDefinition"`
			Images         map[string]string `json:"images"`
		} `json:"serving"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &s) != nil || s.Serving.TaskDefinition != td1 || s.Serving.Images["app"] != "repo/app@sha256:1" {
		t.Errorf("exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
}

// TestUnblockJSON: -json prints an object naming what was cleared (null: nothing).
func TestUnblockJSON(t *testing.T) {
	_, outputs := live(t)
	code, stdout, stderr := runOps("unblock", "-stack", "dev", "-dir", "../..", "-outputs", outputs, "-json")
	if code != 0 || strings.TrimSpace(stdout) != "{\n  \"cleared\": null\n}" {
		t.Errorf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
}
