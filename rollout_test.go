package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"ecs-bluegreen/infra/offline"
	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/rollout/fakeaws"
)

// fakeAWS points the program's AWS clients at a fake CodeDeploy/ECS endpoint,
// with throwaway credentials and nothing read from this machine's AWS files.
func fakeAWS(t *testing.T) *fakeaws.Server {
	t.Helper()
	srv := fakeaws.New()
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return srv
}

// describeServing answers DescribeServices with a service whose primary task set runs spec.
func describeServing(spec rollout.TargetProperties) fakeaws.Handler {
	return fakeaws.Static(map[string]any{"services": []any{map[string]any{
		"serviceName": "web", "status": "ACTIVE", "taskDefinition": spec.TaskDefinition,
		"taskSets": []any{map[string]any{
			"status": "PRIMARY", "taskDefinition": spec.TaskDefinition, "externalId": "d-FIRST", "platformVersion": "1.4.0",
			"capacityProviderStrategy": []any{map[string]any{"capacityProvider": "FARGATE_SPOT", "weight": 1}},
			"networkConfiguration": map[string]any{"awsvpcConfiguration": map[string]any{
				"subnets":        spec.NetworkConfiguration.AwsvpcConfiguration.Subnets,
				"securityGroups": spec.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups,
				"assignPublicIp": spec.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp,
			}},
		}},
	}}})
}

// staleService makes the service serve an older revision, with no deployment under way.
func staleService(srv *fakeaws.Server) {
	srv.Handle("DescribeServices", describeServing(rollout.TargetProperties{
		TaskDefinition:       "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-bluegreen-dev-web:0",
		NetworkConfiguration: &rollout.NetworkConfiguration{},
	}))
	srv.Handle("ListDeployments", fakeaws.Static(map[string]any{"deployments": []string{}}))
}

func deploymentInfo(id, status string, extra map[string]any) map[string]any {
	info := map[string]any{"deploymentId": id, "status": status}
	for k, v := range extra {
		info[k] = v
	}
	return map[string]any{"deploymentInfo": info}
}

func createdSpec(t *testing.T, srv *fakeaws.Server) rollout.AppSpec {
	t.Helper()
	body := srv.Last("CreateDeployment")
	if body == nil {
		t.Fatalf("no CreateDeployment; requests %v", srv.Ops())
	}
	content := body["revision"].(map[string]any)["appSpecContent"].(map[string]any)["content"].(string)
	var spec rollout.AppSpec
	if err := json.Unmarshal([]byte(content), &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestPreviewMakesNoAWSCall: `pulumi preview` never talks to CodeDeploy or ECS.
func TestPreviewMakesNoAWSCall(t *testing.T) {
	srv := fakeAWS(t)
	m, err := offline.Run(".", "dev", program, offline.Options{Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if ops := srv.Ops(); len(ops) != 0 {
		t.Errorf("preview made AWS calls: %v", ops)
	}
	if len(offline.ByType(m.Resources(), tCDGroup)) != 1 {
		t.Error("preview registered no deployment group")
	}
}

// TestUpRollsOutAndSecondUpIsANoOp runs `pulumi up` twice against a fake AWS:
// the first deploys the declared revision through CodeDeploy, the second, with
// the service now serving it, makes no write call.
func TestUpRollsOutAndSecondUpIsANoOp(t *testing.T) {
	srv := fakeAWS(t)
	srv.Handle("DescribeServices", describeServing(rollout.TargetProperties{
		TaskDefinition: "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-bluegreen-dev-web:0",
		NetworkConfiguration: &rollout.NetworkConfiguration{AwsvpcConfiguration: rollout.AwsvpcConfiguration{
			Subnets: []string{"subnet-public-0", "subnet-public-1"}, SecurityGroups: []string{"sg-old"}, AssignPublicIp: "ENABLED",
		}},
	}))
	srv.Handle("ListDeployments", fakeaws.Static(map[string]any{"deployments": []string{}}))
	srv.Handle("CreateDeployment", fakeaws.Static(map[string]any{"deploymentId": "d-UP1"}))
	srv.Handle("GetDeployment", fakeaws.Static(deploymentInfo("d-UP1", "Succeeded", nil)))

	m, err := offline.Run(".", "dev", program, offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := graph{t, m.Resources()}
	td, taskSG, cdApp := g.one(tTaskDef, "web"), g.one(tSG, "-tasks"), g.one(tCDApp, "web")

	body := srv.Last("CreateDeployment")
	if body["applicationName"] != str(t, cdApp, "out:name") || body["deploymentGroupName"] != "web" {
		t.Errorf("CreateDeployment application/group = %v/%v", body["applicationName"], body["deploymentGroupName"])
	}
	if d, _ := body["description"].(string); !strings.Contains(d, "stack dev") || !strings.Contains(d, " image sha256:") || len(d) > 100 {
		t.Errorf("description %q does not name the stack and image digest", d)
	}
	spec := createdSpec(t, srv)
	props := spec.Resources[0]["TargetService"].Properties
	want := rollout.TargetProperties{
		TaskDefinition:   str(t, td, "out:arn"),
		LoadBalancerInfo: rollout.LoadBalancerInfo{ContainerName: "nginx", ContainerPort: 80},
		PlatformVersion:  "LATEST",
		NetworkConfiguration: &rollout.NetworkConfiguration{AwsvpcConfiguration: rollout.AwsvpcConfiguration{
			Subnets: []string{"subnet-public-0", "subnet-public-1"}, SecurityGroups: []string{taskSG.ID}, AssignPublicIp: "ENABLED",
		}},
		CapacityProviderStrategy: []rollout.CapacityProviderItem{{CapacityProvider: "FARGATE_SPOT", Weight: 1}},
	}
	if !reflect.DeepEqual(props, want) {
		t.Errorf("AppSpec target:\n got  %+v\n want %+v", props, want)
	}
	// The AppSpec's load balancer entry matches the service's.
	svc := g.one(tService, "web")
	if props.LoadBalancerInfo.ContainerName != str(t, svc, "loadBalancers.0.containerName") ||
		props.LoadBalancerInfo.ContainerPort != num(t, svc, "loadBalancers.0.containerPort") {
		t.Errorf("AppSpec LoadBalancerInfo %+v differs from the service's load balancer", props.LoadBalancerInfo)
	}

	// Second `pulumi up`: the service serves what the first one deployed.
	second := fakeAWS(t)
	second.Handle("DescribeServices", describeServing(props))
	if _, err := offline.Run(".", "dev", program, offline.Options{}); err != nil {
		t.Fatal(err)
	}
	if ops := second.Ops(); !reflect.DeepEqual(ops, []string{"DescribeServices"}) {
		t.Errorf("second up made %v, want only DescribeServices", ops)
	}
}

// TestFailedRolloutFailsUp: a deployment that fails fails the whole run, naming
// the deployment, the error and the rollback.
func TestFailedRolloutFailsUp(t *testing.T) {
	srv := fakeAWS(t)
	staleService(srv)
	srv.Handle("CreateDeployment", fakeaws.Static(map[string]any{"deploymentId": "d-FAIL"}))
	srv.Handle("GetDeployment", func(body map[string]any) (any, *fakeaws.Error) {
		if body["deploymentId"] == "d-RB" {
			return deploymentInfo("d-RB", "Succeeded", nil), nil
		}
		return deploymentInfo("d-FAIL", "Failed", map[string]any{
			"errorInformation": map[string]any{"code": "ECS_UPDATE_ERROR", "message": "The ECS service cannot be updated"},
			"rollbackInfo":     map[string]any{"rollbackDeploymentId": "d-RB"},
		}), nil
	})
	_, err := offline.Run(".", "dev", program, offline.Options{})
	want := "rollout: deployment d-FAIL failed: ECS_UPDATE_ERROR: The ECS service cannot be updated; rolled back by d-RB"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}
}

// TestRolloutConfig: migration command and hooks from config reach AWS.
func TestRolloutConfig(t *testing.T) {
	srv := fakeAWS(t)
	staleService(srv)
	srv.Handle("RunTask", fakeaws.Static(map[string]any{"tasks": []any{map[string]any{"taskArn": "arn:aws:ecs:ap-northeast-2:123456789012:task/web/m1"}}}))
	srv.Handle("DescribeTasks", fakeaws.Static(map[string]any{"tasks": []any{map[string]any{
		"lastStatus": "STOPPED", "containers": []any{map[string]any{"name": "app", "exitCode": 0}},
	}}}))
	srv.Handle("CreateDeployment", fakeaws.Static(map[string]any{"deploymentId": "d-CFG"}))
	srv.Handle("GetDeployment", fakeaws.Static(deploymentInfo("d-CFG", "Succeeded", nil)))
	hook := "arn:aws:lambda:ap-northeast-2:123456789012:function:smoke-test"
	m, err := offline.Run(".", "dev", program, offline.Options{Overrides: map[string]string{
		"migrationCommand": `["python", "manage.py", "migrate", "--noinput"]`,
		"rolloutHooks":     `{"AfterAllowTestTraffic": "` + hook + `"}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if w := srv.Writes(); !reflect.DeepEqual(w, []string{"RunTask", "CreateDeployment"}) {
		t.Errorf("writes %v, want the migration task before the deployment", w)
	}
	override := srv.Last("RunTask")["overrides"].(map[string]any)["containerOverrides"].([]any)[0].(map[string]any)
	if override["name"] != "app" || !reflect.DeepEqual(override["command"], []any{"python", "manage.py", "migrate", "--noinput"}) {
		t.Errorf("migration override %v", override)
	}
	if spec := createdSpec(t, srv); !reflect.DeepEqual(spec.Hooks, []map[string]string{{"AfterAllowTestTraffic": hook}}) {
		t.Errorf("AppSpec hooks %v", spec.Hooks)
	}
	g := graph{t, m.Resources()}
	var policy struct {
		Statement []struct{ Action, Resource []string }
	}
	if err := json.Unmarshal([]byte(str(t, g.one(tRolePolicy, "-hooks"), "policy")), &policy); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(policy.Statement[0].Resource, []string{hook}) || policy.Statement[0].Action[0] != "lambda:InvokeFunction" {
		t.Errorf("hook policy %+v, want lambda:InvokeFunction on %s", policy, hook)
	}
}
