// Command ops operates a live stack: what serves, a rollback without a rebuild,
// one-off commands of the serving revision, and its logs. It acts as the stack's
// AWS identity (aws:region, aws:profile, assumed roles from the stack file) on the
// names in the stack's outputs.
//
//	go run ./cmd/ops status   -stack dev [-json]
//	go run ./cmd/ops rollback -stack prod [-timeout 45m] [-previous]
//	go run ./cmd/ops unblock  -stack prod
//	go run ./cmd/ops run      -stack prod [-container app] -- python manage.py migrate --noinput
//	go run ./cmd/ops logs     -stack prod [-container app] [-task ID | -deployment d-…] [-since 1h] [-follow [-for 1h]]
//
// Exit codes: 0 done, 1 the operation failed (a rollback that did not restore,
// a command that exited non-zero), 2 the command could not run (usage, no stack
// outputs, AWS refused).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/offline"
	"ecs-bluegreen/infra/ops"
	"ecs-bluegreen/infra/rollout"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: ops <status|rollback|unblock|run|logs> -stack STACK [flags] [-- command]
  status    what serves, a deployment under way, the last deployments, service events
  rollback  make the previous revision serve again, without a rebuild
  unblock   clear the rollback records, so pulumi up deploys their revisions again
  run       a one-off task of the serving revision: ops run -stack dev -- python manage.py migrate
  logs      container logs of the serving revision, a deployment or a task
ops <command> -h lists the command's flags.`

// run is the command; it returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("ops "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	stackName := fs.String("stack", "", "the stack (its Pulumi.<stack>.yaml and outputs)")
	dir := fs.String("dir", ".", "project directory (with Pulumi.yaml)")
	outputsFile := fs.String("outputs", "", "the stack's outputs as a JSON `file` (from pulumi stack output --json); default: ask the Pulumi CLI")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	var timeout time.Duration
	var rollbackOpts ops.RollbackOptions
	var container string
	logs := ops.LogsRequest{}
	switch cmd {
	case "status", "unblock":
	case "rollback":
		fs.DurationVar(&rollbackOpts.Timeout, "timeout", 0, "how long to follow the rollback deployment (default: the stack's rolloutTimeoutMinutes); it is never stopped on timeout")
		fs.BoolVar(&rollbackOpts.Previous, "previous", false, "when CodeDeploy already rolled a failed deployment back, take the revision now serving out too")
	case "run":
		fs.StringVar(&container, "container", infra.AppContainer, "the container whose command to override")
		fs.DurationVar(&timeout, "timeout", time.Hour, "how long the task may run before it is stopped")
	case "logs":
		fs.StringVar(&logs.Container, "container", "", "only this container's lines (app, nginx)")
		fs.StringVar(&logs.Task, "task", "", "only this task (its id)")
		fs.StringVar(&logs.Deployment, "deployment", "", "the tasks of the revision this deployment deployed (default: the serving revision)")
		fs.DurationVar(&logs.Since, "since", time.Hour, "lines from this long ago")
		fs.BoolVar(&logs.Follow, "follow", false, "keep printing new lines (Ctrl-C ends)")
		fs.DurationVar(&logs.For, "for", time.Hour, "with -follow, stop after this long")
	default:
		fmt.Fprintf(stderr, "ops: unknown command %q\n%s\n", cmd, usage)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	command := fs.Args()
	switch {
	case *stackName == "":
		fmt.Fprintln(stderr, "ops: -stack is required")
		return 2
	case cmd == "run" && len(command) == 0:
		fmt.Fprintln(stderr, "ops run: give the command after --, e.g. ops run -stack dev -- python manage.py migrate")
		return 2
	case cmd != "run" && len(command) > 0:
		fmt.Fprintf(stderr, "ops %s: unexpected arguments %v\n", cmd, command)
		return 2
	}

	ctx, stop := rollout.Interruptible(context.Background())
	defer stop()
	st, id, err := loadStack(ctx, *dir, *stackName, *outputsFile)
	if err != nil {
		fmt.Fprintln(stderr, "ops:", err)
		return 2
	}
	clients, err := rollout.NewClients(ctx, id)
	if err != nil {
		fmt.Fprintln(stderr, "ops:", err)
		return 2
	}
	progress := stdout
	if *asJSON {
		progress = stderr // stdout holds only the JSON
	}
	o := ops.New(clients, progress)

	var result any
	var text string
	switch cmd {
	case "status":
		var s *ops.Status
		if s, err = o.Status(ctx, st); err == nil {
			result, text = s, s.Text()
		}
	case "rollback":
		var r *ops.RollbackResult
		if r, err = o.Rollback(ctx, st, rollbackOpts); err == nil {
			result = r
			text = fmt.Sprintf("%s serves again (deployment %s); `pulumi up` refuses %s", short(r.Record.To), r.Record.Deployment, short(r.Record.From))
			if r.Record.Image != "" {
				text += " and any revision of its app image"
			}
			text += fmt.Sprintf(" until the code declares another or `ops unblock -stack %s`\n", st.Name)
		}
	case "unblock":
		var cleared *rollout.RollbackRecord
		if cleared, err = o.Unblock(ctx, st); err == nil {
			result, text = struct {
				Cleared *rollout.RollbackRecord `json:"cleared"`
			}{cleared}, "no rollback record to clear\n"
			if cleared != nil {
				text = fmt.Sprintf("cleared the rollback of %s: the next `pulumi up` deploys what the code declares\n", short(cleared.From))
			}
		}
	case "run":
		var r *ops.RunResult
		if r, err = o.Run(ctx, st, container, command, timeout); r != nil {
			// A non-zero exit is a result too: the task ran.
			result, text = r, fmt.Sprintf("task %s: %s exited %d\n", rollout.TaskID(r.Task), r.Container, r.ExitCode)
		}
	case "logs":
		if *asJSON {
			logs.JSON, o.Out = true, stdout // one JSON object per line
		}
		err = o.Logs(ctx, st, logs)
	}
	if result != nil && *asJSON {
		b, _ := json.MarshalIndent(result, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else if text != "" {
		fmt.Fprint(stdout, text)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ops "+cmd+":", err)
	}
	return ops.ExitCode(err)
}

// outputKeys are the stack outputs the commands need.
var outputKeys = []string{"clusterName", "serviceName", "codedeployApplication", "codedeployDeploymentGroup", "taskDefinitionArn"}

// loadStack reads the stack's config (for its identity, region and name, as
// `pulumi up` reads them) and its outputs.
func loadStack(ctx context.Context, dir, stack, outputsFile string) (ops.Stack, rollout.Identity, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ops.Stack{}, rollout.Identity{}, err
	}
	project, cfg, err := offline.StackConfig(abs, stack)
	if err != nil {
		return ops.Stack{}, rollout.Identity{}, fmt.Errorf("reading the stack's config: %w", err)
	}
	// ops cannot decrypt the stack's secrets: a static key stored as one would be
	// signed with as its stand-in, and win over the environment's credentials.
	for _, k := range []string{"aws:accessKey", "aws:secretKey", "aws:token"} {
		if cfg[k] == offline.SecretStandIn {
			return ops.Stack{}, rollout.Identity{}, fmt.Errorf("config %s of stack %s is a secret, which ops cannot decrypt: keep the static keys out of the stack file for ops and use aws:profile or the environment's credentials", k, stack)
		}
	}
	// Build contexts in the config are relative to the project directory.
	wd, _ := os.Getwd()
	if err := os.Chdir(abs); err != nil {
		return ops.Stack{}, rollout.Identity{}, err
	}
	c, err := infra.ParseConfig(project, stack, func(k string) (string, bool) { v, ok := cfg[k]; return v, ok })
	os.Chdir(wd)
	if err != nil {
		return ops.Stack{}, rollout.Identity{}, err
	}
	var raw []byte
	if outputsFile != "" {
		raw, err = os.ReadFile(outputsFile)
	} else {
		cmd := exec.CommandContext(ctx, "pulumi", "stack", "output", "--json", "--stack", stack)
		cmd.Dir = abs
		cmd.Stderr = os.Stderr
		raw, err = cmd.Output()
		if err != nil {
			err = fmt.Errorf("`pulumi stack output --json --stack %s` failed (%w): run where the Pulumi CLI reaches the stack's backend, or give -outputs", stack, err)
		}
	}
	if err != nil {
		return ops.Stack{}, rollout.Identity{}, err
	}
	var outputs map[string]any
	if err := json.Unmarshal(raw, &outputs); err != nil {
		return ops.Stack{}, rollout.Identity{}, fmt.Errorf("the stack's outputs are not JSON: %w", err)
	}
	var missing []string
	get := func(k string) string {
		v, _ := outputs[k].(string)
		if v == "" {
			missing = append(missing, k)
		}
		return v
	}
	st := ops.Stack{
		Name: stack, Cluster: get("clusterName"), Service: get("serviceName"), Application: get("codedeployApplication"),
		DeploymentGroup: get("codedeployDeploymentGroup"), Declared: get("taskDefinitionArn"),
		StateParameter: infra.StateParameterName(project, stack, c.Name), AppContainer: infra.AppContainer,
		Timeout: c.Deploy.Rollout.Timeout, AcceptTrafficShifted: c.Deploy.Rollout.AcceptTrafficShifted,
	}
	if len(missing) > 0 {
		return ops.Stack{}, rollout.Identity{}, fmt.Errorf("stack %s has no outputs %s: has it been deployed (`pulumi up --stack %s`)?", stack, strings.Join(missing, ", "), stack)
	}
	return st, c.AWS, nil
}

func short(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
