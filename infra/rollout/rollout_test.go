package rollout_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

const (
	tdOld   = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web:1"
	tdNew   = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web:2"
	tdOther = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/web:3"
)

var (
	subnets = []string{"subnet-a", "subnet-b"}
	groups  = []string{"sg-tasks"}
)

// logs records progress lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) Info(msg string) { l.mu.Lock(); l.lines = append(l.lines, msg); l.mu.Unlock() }
func (l *logs) all() []string   { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.lines) }

// fixture is a fake AWS endpoint and a Rollout using real SDK clients against it.
type fixture struct {
	aws *fakeaws.Server
	ro  *rollout.Rollout
	log *logs
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := fakeaws.New()
	t.Cleanup(srv.Close)
	cfg := srv.Config(rollout.MaxAttempts)
	l := &logs{}
	return &fixture{
		aws: srv,
		log: l,
		ro: &rollout.Rollout{
			CodeDeploy: codedeploy.NewFromConfig(cfg), ECS: ecs.NewFromConfig(cfg), State: ssm.NewFromConfig(cfg),
			Logs: cloudwatchlogs.NewFromConfig(cfg), ELB: elbv2.NewFromConfig(cfg), Alarms: cloudwatch.NewFromConfig(cfg),
			Log: l, PollInterval: time.Millisecond,
		},
	}
}

func request() rollout.Request {
	return rollout.Request{
		Stack: "dev", Application: "web-app", DeploymentGroup: "web",
		Cluster: "web-cluster", Service: "web-svc", TaskDefinition: tdNew,
		ContainerName: "nginx", ContainerPort: 80,
		Subnets: subnets, SecurityGroups: groups, AssignPublicIP: true,
		PlatformVersion: "LATEST", Image: "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/web-app@sha256:0123456789abcdef0123",
		ActivePolicy: rollout.WaitForActive, Timeout: 5 * time.Second, StopOnTimeout: true,
	}
}

// serving answers DescribeServices with a CODE_DEPLOY service whose primary task set runs td.
func serving(td string) fakeaws.Handler { return fakeaws.Static(servingResponse(td)) }

func servingResponse(td string) map[string]any {
	return map[string]any{"services": []any{map[string]any{
		"serviceName": "web-svc", "status": "ACTIVE", "taskDefinition": td,
		"taskSets": []any{map[string]any{
			"status": "PRIMARY", "taskDefinition": td, "externalId": "d-PREVIOUS", "platformVersion": "1.4.0",
			"networkConfiguration": map[string]any{"awsvpcConfiguration": map[string]any{
				"subnets": subnets, "securityGroups": groups, "assignPublicIp": "ENABLED",
			}},
		}},
	}}}
}

// appSpecOf is another deployer's AppSpec of td, and its sha256 as CodeDeploy reports it.
func appSpecOf(td string) (content, sha string) {
	spec, _ := json.Marshal(map[string]any{"version": 0.0, "Resources": []any{map[string]any{"TargetService": map[string]any{
		"Type": "AWS::ECS::Service", "Properties": map[string]any{"TaskDefinition": td},
	}}}})
	h := sha256.Sum256(spec)
	return string(spec), hex.EncodeToString(h[:])
}

// deployment is a GetDeployment answer. As AWS answers, its revision carries the
// AppSpec's sha256 and no content (GetDeployment, CodeDeploy API reference).
func deployment(id, status, td string, extra map[string]any) map[string]any {
	_, sha := appSpecOf(td)
	info := map[string]any{
		"deploymentId": id, "status": status, "applicationName": "web-app", "deploymentGroupName": "web",
		"revision": map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"sha256": sha}},
	}
	for k, v := range extra {
		info[k] = v
	}
	return map[string]any{"deploymentInfo": info}
}

// revisions answers GetApplicationRevision with the AppSpecs of these task
// definitions, looked up by sha256 as CodeDeploy does.
func revisions(tds ...string) fakeaws.Handler {
	return func(body map[string]any) (any, *fakeaws.Error) {
		want := body["revision"].(map[string]any)["appSpecContent"].(map[string]any)["sha256"]
		for _, td := range tds {
			if content, sha := appSpecOf(td); sha == want {
				return map[string]any{"applicationName": "web-app", "revision": map[string]any{
					"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"content": content, "sha256": sha}}}, nil
			}
		}
		return nil, &fakeaws.Error{Status: 400, Type: "RevisionDoesNotExistException", Message: "no such revision"}
	}
}

// byDeployment routes GetDeployment by deployment id.
func byDeployment(hs map[string]fakeaws.Handler) fakeaws.Handler {
	return func(body map[string]any) (any, *fakeaws.Error) {
		h, ok := hs[body["deploymentId"].(string)]
		if !ok {
			return nil, &fakeaws.Error{Status: 400, Type: "DeploymentDoesNotExistException", Message: "no such deployment"}
		}
		return h(body)
	}
}

func noActive() fakeaws.Handler { return fakeaws.Static(map[string]any{"deployments": []string{}}) }

func created(id string) fakeaws.Handler {
	return fakeaws.Static(map[string]any{"deploymentId": id})
}

// target answers the deployment target with lifecycle events and a traffic split.
func target(events map[string]string, blue, green float64) map[string]any {
	var evs []any
	for _, name := range []string{"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"} {
		status := "Pending"
		if s, ok := events[name]; ok {
			status = s
		}
		evs = append(evs, map[string]any{"lifecycleEventName": name, "status": status})
	}
	return map[string]any{"deploymentTarget": map[string]any{"deploymentTargetType": "ECSTarget", "ecsTarget": map[string]any{
		"targetId": "web-cluster:web-svc", "lifecycleEvents": evs,
		"taskSetsInfo": []any{
			map[string]any{"taskSetLabel": "Blue", "trafficWeight": blue},
			map[string]any{"taskSetLabel": "Green", "trafficWeight": green},
		},
	}}}
}

// newRevision is the common start: the service runs tdOld, nothing is under way,
// and CreateDeployment answers with id.
func (f *fixture) newRevision(id string) {
	f.aws.Handle("DescribeServices", serving(tdOld))
	f.aws.Handle("ListDeployments", noActive())
	f.aws.Handle("CreateDeployment", created(id))
}

func (f *fixture) progressHandlers(targets ...any) {
	f.aws.Handle("ListDeploymentTargets", fakeaws.Static(map[string]any{"targetIds": []string{"web-cluster:web-svc"}}))
	f.aws.Handle("GetDeploymentTarget", fakeaws.Sequence(targets...))
}

func wantOps(t *testing.T, f *fixture, want []string) {
	t.Helper()
	if got := f.aws.Ops(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests:\n got  %v\n want %v", got, want)
	}
}

func TestFirstRollout(t *testing.T) {
	f := newFixture(t)
	f.newRevision("d-NEW")
	f.aws.Handle("GetDeployment", fakeaws.Sequence(
		deployment("d-NEW", "Created", tdNew, nil),
		deployment("d-NEW", "InProgress", tdNew, nil),
		deployment("d-NEW", "Succeeded", tdNew, nil),
	))
	f.progressHandlers(target(map[string]string{"Install": "Succeeded"}, 100, 0))

	res, err := f.ro.Run(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if res != (rollout.Result{DeploymentID: "d-NEW", Deployed: true, Summary: "web:2 serves, deployed by d-NEW"}) {
		t.Errorf("result %+v", res)
	}
	wantOps(t, f, []string{"DescribeServices", "ListDeployments", "CreateDeployment",
		"GetDeployment", "GetDeployment", "ListDeploymentTargets", "GetDeploymentTarget", "GetDeployment"})

	// The deployment request: group, description and the AppSpec that matches the service.
	body := f.aws.Last("CreateDeployment")
	if body["applicationName"] != "web-app" || body["deploymentGroupName"] != "web" {
		t.Errorf("CreateDeployment names: %v", body)
	}
	if d := body["description"].(string); d != "pulumi up (stack dev): web:2 image sha256:0123456789ab" {
		t.Errorf("description %q does not name the stack, revision and image digest", d)
	}
	rev := body["revision"].(map[string]any)
	if rev["revisionType"] != "AppSpecContent" {
		t.Errorf("revisionType %v", rev["revisionType"])
	}
	var spec rollout.AppSpec
	if err := json.Unmarshal([]byte(rev["appSpecContent"].(map[string]any)["content"].(string)), &spec); err != nil {
		t.Fatal(err)
	}
	props := spec.Resources[0]["TargetService"].Properties
	want := rollout.TargetProperties{
		TaskDefinition:   tdNew,
		LoadBalancerInfo: rollout.LoadBalancerInfo{ContainerName: "nginx", ContainerPort: 80},
		PlatformVersion:  "LATEST",
		NetworkConfiguration: &rollout.NetworkConfiguration{AwsvpcConfiguration: rollout.AwsvpcConfiguration{
			Subnets: subnets, SecurityGroups: groups, AssignPublicIp: "ENABLED",
		}},
	}
	if !reflect.DeepEqual(props, want) || spec.Resources[0]["TargetService"].Type != "AWS::ECS::Service" || spec.Version != "0.0" {
		t.Errorf("AppSpec:\n got  %+v\n want %+v", spec, want)
	}
}

func TestNoOpMakesNoWriteCall(t *testing.T) {
	f := newFixture(t)
	f.aws.Handle("DescribeServices", serving(tdNew))
	res, err := f.ro.Run(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, f, []string{"DescribeServices"})
	if w := f.aws.Writes(); len(w) != 0 {
		t.Errorf("write calls on a no-op: %v", w)
	}
	if res != (rollout.Result{DeploymentID: "d-PREVIOUS", Summary: "web:2 serves, deployed by d-PREVIOUS"}) {
		t.Errorf("result %+v, want the deployment that made the service current", res)
	}
}

func TestNetworkChangeDeploys(t *testing.T) {
	f := newFixture(t)
	f.aws.Handle("DescribeServices", serving(tdNew))
	f.aws.Handle("ListDeployments", noActive())
	f.aws.Handle("CreateDeployment", created("d-NET"))
	f.aws.Handle("GetDeployment", fakeaws.Static(deployment("d-NET", "Succeeded", tdNew, nil)))
	req := request()
	req.Subnets = []string{"subnet-private-a", "subnet-private-b"}
	req.AssignPublicIP = false
	if _, err := f.ro.Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if f.aws.Count("CreateDeployment") != 1 {
		t.Fatalf("ops %v, want one CreateDeployment for a network change", f.aws.Ops())
	}
	if !slices.ContainsFunc(f.log.all(), func(s string) bool {
		return strings.Contains(s, "subnets") && strings.Contains(s, "public IP true -> false")
	}) {
		t.Errorf("logs do not explain the network change: %v", f.log.all())
	}
}

func TestSuccessReportsProgressOnce(t *testing.T) {
	f := newFixture(t)
	f.newRevision("d-P")
	f.aws.Handle("GetDeployment", fakeaws.Sequence(
		deployment("d-P", "InProgress", tdNew, nil),
		deployment("d-P", "InProgress", tdNew, nil),
		deployment("d-P", "InProgress", tdNew, nil),
		deployment("d-P", "InProgress", tdNew, nil),
		deployment("d-P", "Succeeded", tdNew, nil),
	))
	f.progressHandlers(
		target(map[string]string{"Install": "InProgress"}, 100, 0),
		target(map[string]string{"Install": "Succeeded", "AllowTestTraffic": "Succeeded"}, 100, 0),
		target(map[string]string{"Install": "Succeeded", "AllowTestTraffic": "Succeeded", "AllowTraffic": "InProgress"}, 90, 10),
		target(map[string]string{"Install": "Succeeded", "AllowTestTraffic": "Succeeded", "AllowTraffic": "Succeeded"}, 0, 100),
	)
	if _, err := f.ro.Run(context.Background(), request()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"service web-svc needs a deployment: task definition web:1 -> web:2",
		"created deployment d-P of web:2",
		"deployment d-P: InProgress",
		"deployment d-P: Install InProgress",
		"deployment d-P: traffic blue 100% / green 0%",
		"deployment d-P: Install Succeeded",
		"deployment d-P: AllowTestTraffic Succeeded",
		"deployment d-P: AllowTraffic InProgress",
		"deployment d-P: traffic blue 90% / green 10%",
		"deployment d-P: AllowTraffic Succeeded",
		"deployment d-P: traffic blue 0% / green 100%",
		"deployment d-P: Succeeded",
		"deployment d-P succeeded",
	}
	if got := f.log.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("progress:\n got  %q\n want %q", got, want)
	}
}

func TestFailureWaitsForRollback(t *testing.T) {
	cases := []struct {
		name, status, code, message, want string
	}{
		{"failure", "Failed", "HEALTH_CONSTRAINTS", "The overall deployment failed because too many individual instances failed deployment",
			"deployment d-BAD failed: HEALTH_CONSTRAINTS: The overall deployment failed because too many individual instances failed deployment; rolled back by d-RB: the previous revision serves again"},
		{"stop on alarm", "Stopped", "ALARM_ACTIVE", "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected",
			"deployment d-BAD stopped: ALARM_ACTIVE: One or more alarms have been activated according to the Amazon CloudWatch metrics you selected; rolled back by d-RB: the previous revision serves again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.newRevision("d-BAD")
			f.aws.Handle("GetDeployment", byDeployment(map[string]fakeaws.Handler{
				"d-BAD": fakeaws.Sequence(
					deployment("d-BAD", "InProgress", tdNew, nil),
					deployment("d-BAD", c.status, tdNew, map[string]any{
						"errorInformation": map[string]any{"code": c.code, "message": c.message},
						"rollbackInfo":     map[string]any{"rollbackDeploymentId": "d-RB"},
					})),
				"d-RB": fakeaws.Sequence(
					deployment("d-RB", "InProgress", tdOld, nil),
					deployment("d-RB", "Succeeded", tdOld, nil)),
			}))
			f.progressHandlers(target(nil, 100, 0))
			f.aws.Handle("ListTasks", fakeaws.Static(map[string]any{"taskArns": []string{}}))
			res, err := f.ro.Run(context.Background(), request())
			if err == nil || err.Error() != c.want {
				t.Fatalf("error:\n got  %v\n want %s", err, c.want)
			}
			if res.DeploymentID != "d-BAD" || res.Deployed {
				t.Errorf("result %+v", res)
			}
			// Why it failed, read before the rollback removes the evidence (nothing
			// more to say here): a stopped deployment's tasks were running, so those
			// are read too.
			report := []string{"ListDeploymentTargets", "GetDeploymentTarget", "ListTasks"}
			if c.status == "Stopped" {
				report = append(report, "ListTasks")
			}
			// The rollback was followed to its end before the run failed.
			wantOps(t, f, slices.Concat([]string{"DescribeServices", "ListDeployments", "CreateDeployment",
				"GetDeployment", "ListDeploymentTargets", "GetDeploymentTarget", // d-BAD in progress
				"GetDeployment", // d-BAD failed
			}, report, []string{
				"GetDeployment", "ListDeploymentTargets", "GetDeploymentTarget", // d-RB in progress
				"GetDeployment", // d-RB succeeded
			}))
			if w := f.aws.Writes(); !reflect.DeepEqual(w, []string{"CreateDeployment"}) {
				t.Errorf("writes %v", w)
			}
		})
	}
}

func TestActiveDeploymentOfSameRevisionIsFollowed(t *testing.T) {
	f := newFixture(t)
	f.aws.Handle("DescribeServices", serving(tdOld))
	f.aws.Handle("ListDeployments", fakeaws.Static(map[string]any{"deployments": []string{"d-SAME"}}))
	f.aws.Handle("GetDeployment", fakeaws.Sequence(
		deployment("d-SAME", "InProgress", tdNew, nil),
		deployment("d-SAME", "InProgress", tdNew, nil),
		deployment("d-SAME", "Succeeded", tdNew, nil)))
	f.aws.Handle("GetApplicationRevision", revisions(tdOld, tdNew))
	f.progressHandlers(target(nil, 0, 100))
	res, err := f.ro.Run(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if res != (rollout.Result{DeploymentID: "d-SAME", Deployed: true, Summary: "web:2 serves, deployed by d-SAME"}) {
		t.Errorf("result %+v", res)
	}
	if w := f.aws.Writes(); len(w) != 0 {
		t.Errorf("writes %v: a deployment of the same revision must be followed, not duplicated", w)
	}
	wantOps(t, f, []string{"DescribeServices", "ListDeployments", "GetDeployment", // the look at active deployments
		"GetApplicationRevision",                                        // which revision it deploys
		"GetDeployment", "ListDeploymentTargets", "GetDeploymentTarget", // following it: in progress
		"GetDeployment"}) // succeeded
}

func TestTimeout(t *testing.T) {
	t.Run("stops with rollback", func(t *testing.T) {
		f := newFixture(t)
		f.newRevision("d-SLOW")
		var stopped sync.Once
		stop := make(chan struct{})
		f.aws.Handle("StopDeployment", func(map[string]any) (any, *fakeaws.Error) {
			stopped.Do(func() { close(stop) })
			return map[string]any{"status": "Pending"}, nil
		})
		f.aws.Handle("GetDeployment", byDeployment(map[string]fakeaws.Handler{
			"d-SLOW": func(map[string]any) (any, *fakeaws.Error) {
				select {
				case <-stop:
					return deployment("d-SLOW", "Stopped", tdNew, map[string]any{
						"errorInformation": map[string]any{"code": "DEPLOYMENT_STOPPED", "message": "stopped by the user"},
						"rollbackInfo":     map[string]any{"rollbackDeploymentId": "d-RB"},
					}), nil
				default:
					return deployment("d-SLOW", "InProgress", tdNew, nil), nil
				}
			},
			"d-RB": fakeaws.Static(deployment("d-RB", "Succeeded", tdOld, nil)),
		}))
		f.progressHandlers(target(nil, 100, 0))
		req := request()
		req.Timeout = 50 * time.Millisecond
		_, err := f.ro.Run(context.Background(), req)
		if err == nil {
			t.Fatal("no error on timeout")
		}
		for _, want := range []string{"deployment d-SLOW did not finish within 50ms", "timed out", "DEPLOYMENT_STOPPED", "rolled back by d-RB"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		stopBody := f.aws.Last("StopDeployment")
		if stopBody["deploymentId"] != "d-SLOW" || stopBody["autoRollbackEnabled"] != true {
			t.Errorf("StopDeployment %v", stopBody)
		}
	})
	t.Run("left running when configured", func(t *testing.T) {
		f := newFixture(t)
		f.newRevision("d-SLOW")
		f.aws.Handle("GetDeployment", fakeaws.Static(deployment("d-SLOW", "InProgress", tdNew, nil)))
		f.progressHandlers(target(nil, 100, 0))
		req := request()
		req.Timeout, req.StopOnTimeout = 30*time.Millisecond, false
		_, err := f.ro.Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "deployment d-SLOW did not finish within 30ms; left running") {
			t.Fatalf("error %v", err)
		}
		if w := f.aws.Writes(); !reflect.DeepEqual(w, []string{"CreateDeployment"}) {
			t.Errorf("writes %v", w)
		}
	})
}

func TestThrottlingIsRetried(t *testing.T) {
	f := newFixture(t)
	f.aws.Handle("DescribeServices", fakeaws.Sequence(fakeaws.Throttling(), servingResponse(tdOld)))
	f.aws.Handle("ListDeployments", noActive())
	f.aws.Handle("CreateDeployment", created("d-T"))
	f.aws.Handle("GetDeployment", fakeaws.Sequence(fakeaws.Throttling(), fakeaws.Throttling(), deployment("d-T", "Succeeded", tdNew, nil)))
	res, err := f.ro.Run(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	if res.DeploymentID != "d-T" || !res.Deployed {
		t.Errorf("result %+v", res)
	}
	wantOps(t, f, []string{"DescribeServices", "DescribeServices", "ListDeployments", "CreateDeployment", "GetDeployment", "GetDeployment", "GetDeployment"})
}

func TestMigration(t *testing.T) {
	setup := func(t *testing.T, exit int) *fixture {
		f := newFixture(t)
		f.aws.Handle("DescribeServices", serving(tdOld))
		f.aws.Handle("ListDeployments", noActive())
		f.aws.Handle("RunTask", fakeaws.Static(map[string]any{"tasks": []any{map[string]any{"taskArn": "arn:aws:ecs:ap-northeast-2:123456789012:task/web/abc"}}}))
		f.aws.Handle("DescribeTasks", fakeaws.Sequence(
			map[string]any{"tasks": []any{map[string]any{"lastStatus": "RUNNING"}}},
			map[string]any{"tasks": []any{map[string]any{"lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited",
				"containers": []any{map[string]any{"name": "nginx", "exitCode": 0}, map[string]any{"name": "app", "exitCode": exit}}}}}))
		f.aws.Handle("CreateDeployment", created("d-M"))
		f.aws.Handle("GetDeployment", fakeaws.Static(deployment("d-M", "Succeeded", tdNew, nil)))
		return f
	}
	req := request()
	req.MigrationCommand, req.MigrationContainer = []string{"python", "manage.py", "migrate", "--noinput"}, "app"

	t.Run("exit 1 deploys nothing", func(t *testing.T) {
		f := setup(t, 1)
		_, err := f.ro.Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "migration task arn:aws:ecs:ap-northeast-2:123456789012:task/web/abc exited with code 1") {
			t.Fatalf("error %v", err)
		}
		wantOps(t, f, []string{"DescribeServices", "ListDeployments", "RunTask", "DescribeTasks", "DescribeTasks"})
		run := f.aws.Last("RunTask")
		if run["taskDefinition"] != tdNew || run["cluster"] != "web-cluster" {
			t.Errorf("RunTask %v, want the new task definition in the service's cluster", run)
		}
		override := run["overrides"].(map[string]any)["containerOverrides"].([]any)[0].(map[string]any)
		if override["name"] != "app" || !reflect.DeepEqual(override["command"], []any{"python", "manage.py", "migrate", "--noinput"}) {
			t.Errorf("container override %v", override)
		}
		vpc := run["networkConfiguration"].(map[string]any)["awsvpcConfiguration"].(map[string]any)
		if !reflect.DeepEqual(vpc["subnets"], []any{"subnet-a", "subnet-b"}) || !reflect.DeepEqual(vpc["securityGroups"], []any{"sg-tasks"}) || vpc["assignPublicIp"] != "ENABLED" {
			t.Errorf("RunTask network %v, want the service's", vpc)
		}
	})
	t.Run("exit 0 then deploys", func(t *testing.T) {
		f := setup(t, 0)
		if _, err := f.ro.Run(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if w := f.aws.Writes(); !reflect.DeepEqual(w, []string{"RunTask", "CreateDeployment"}) {
			t.Errorf("writes %v, want the migration before the deployment", w)
		}
	})
}

func TestContextCancelled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.newRevision("d-C")
	var polls atomic.Int32
	f.aws.Handle("GetDeployment", func(map[string]any) (any, *fakeaws.Error) {
		if polls.Add(1) == 2 {
			cancel() // Ctrl-C during `pulumi up`
		}
		return deployment("d-C", "InProgress", tdNew, nil), nil
	})
	f.progressHandlers(target(nil, 100, 0))
	res, err := f.ro.Run(ctx, request())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "deployment d-C continues in CodeDeploy") {
		t.Errorf("error %q does not say where the deployment is", err)
	}
	if res.DeploymentID != "d-C" {
		t.Errorf("result %+v", res)
	}
	// Polling stops at the cancellation: no request after the second GetDeployment
	// but the progress lookups its answer had already started.
	wantOps(t, f, []string{"DescribeServices", "ListDeployments", "CreateDeployment",
		"GetDeployment", "ListDeploymentTargets", "GetDeploymentTarget", "GetDeployment"})
	if w := f.aws.Writes(); !reflect.DeepEqual(w, []string{"CreateDeployment"}) {
		t.Errorf("writes %v: cancellation must not stop the deployment", w)
	}
}

func TestEvaluate(t *testing.T) {
	cases := []struct {
		status cdtypes.DeploymentStatus
		target cdtypes.TargetStatus
		want   rollout.Outcome
	}{
		{cdtypes.DeploymentStatusCreated, "", rollout.Pending},
		{cdtypes.DeploymentStatusQueued, "", rollout.Pending},
		{cdtypes.DeploymentStatusInProgress, cdtypes.TargetStatusInProgress, rollout.Pending},
		{cdtypes.DeploymentStatusInProgress, "", rollout.Pending}, // target unread this poll
		// The termination wait: the deployment stays InProgress, its target is
		// Succeeded (aws/containers-roadmap#269).
		{cdtypes.DeploymentStatusInProgress, cdtypes.TargetStatusSucceeded, rollout.Shifted},
		{cdtypes.DeploymentStatusBaking, cdtypes.TargetStatusSucceeded, rollout.Pending},
		{cdtypes.DeploymentStatusReady, cdtypes.TargetStatusReady, rollout.Pending},
		{cdtypes.DeploymentStatusSucceeded, cdtypes.TargetStatusSucceeded, rollout.Done},
		{cdtypes.DeploymentStatusFailed, cdtypes.TargetStatusFailed, rollout.Unhealthy},
		{cdtypes.DeploymentStatusStopped, cdtypes.TargetStatusSucceeded, rollout.Unhealthy},
	}
	for _, c := range cases {
		if got := rollout.Evaluate(c.status, c.target); got != c.want {
			t.Errorf("Evaluate(%s, target %q) = %v, want %v", c.status, c.target, got, c.want)
		}
	}
	for _, s := range []cdtypes.DeploymentStatus{"Created", "Queued", "InProgress", "Baking", "Ready", "SomethingNew"} {
		if !rollout.Active(s) {
			t.Errorf("%s is not active", s)
		}
	}
	for _, s := range []cdtypes.DeploymentStatus{"Succeeded", "Failed", "Stopped"} {
		if rollout.Active(s) {
			t.Errorf("%s is active", s)
		}
	}
}
