package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/offline"
)

// Resource type tokens asserted on.
const (
	tVpc            = "awsx:ec2:Vpc"
	tSG             = "aws:ec2/securityGroup:SecurityGroup"
	tRepo           = "aws:ecr/repository:Repository"
	tLifecycle      = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
	tImage          = "docker:index/image:Image"
	tLB             = "aws:lb/loadBalancer:LoadBalancer"
	tTG             = "aws:lb/targetGroup:TargetGroup"
	tListener       = "aws:lb/listener:Listener"
	tCluster        = "aws:ecs/cluster:Cluster"
	tTaskDef        = "aws:ecs/taskDefinition:TaskDefinition"
	tService        = "aws:ecs/service:Service"
	tLogGroup       = "aws:cloudwatch/logGroup:LogGroup"
	tAlarm          = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tRole           = "aws:iam/role:Role"
	tRolePolicy     = "aws:iam/rolePolicy:RolePolicy"
	tAttachment     = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	tScaleTarget    = "aws:appautoscaling/target:Target"
	tScalePolicy    = "aws:appautoscaling/policy:Policy"
	tCDApp          = "aws:codedeploy/application:Application"
	tCDGroup        = "aws:codedeploy/deploymentGroup:DeploymentGroup"
	tParam          = "aws:ssm/parameter:Parameter"
	tCert           = "aws:acm/certificate:Certificate"
	tCertValidation = "aws:acm/certificateValidation:CertificateValidation"
	tRecord         = "aws:route53/record:Record"
	tBucket         = "aws:s3/bucketV2:BucketV2"
	tFlowLog        = "aws:ec2/flowLog:FlowLog"
)

// graph is one offline run's resources, with lookups that fail the test by name.
type graph struct {
	t  *testing.T
	rs []*offline.Resource
}

// runStack runs the program for a stack, with the rollout off: these tests are
// about the graph (rollout_test.go drives the rollout against a fake AWS).
func runStack(t *testing.T, stack string, overrides map[string]string) graph {
	t.Helper()
	o := map[string]string{"rollout": "false"}
	for k, v := range overrides {
		o[k] = v
	}
	m, err := offline.Run(".", stack, program, offline.Options{Overrides: o})
	if err != nil {
		t.Fatalf("stack %s: %v", stack, err)
	}
	return graph{t, m.Resources()}
}

func (g graph) all(typ string) []*offline.Resource { return offline.ByType(g.rs, typ) }

// one returns the only resource of typ whose logical name ends with suffix.
func (g graph) one(typ, suffix string) *offline.Resource {
	g.t.Helper()
	var found []*offline.Resource
	for _, r := range g.all(typ) {
		if strings.HasSuffix(r.Name, suffix) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		g.t.Fatalf("want exactly one %s named *%s, found %d", typ, suffix, len(found))
	}
	return found[0]
}

// prop walks a dotted path ("loadBalancers.0.targetGroupArn") through a
// resource's inputs, or its outputs when the path starts with "out:".
func prop(t *testing.T, r *offline.Resource, path string) resource.PropertyValue {
	t.Helper()
	pm := r.Inputs
	if p, ok := strings.CutPrefix(path, "out:"); ok {
		pm, path = r.Outputs, p
	}
	v := resource.NewObjectProperty(pm)
	for _, part := range strings.Split(path, ".") {
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(part)]
		case v.IsArray():
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(v.ArrayValue()) {
				t.Fatalf("%s: %s: no element %s", r.URN, path, part)
			}
			v = v.ArrayValue()[i]
		default:
			t.Fatalf("%s: %s: cannot descend into %v at %q", r.URN, path, v, part)
		}
	}
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func str(t *testing.T, r *offline.Resource, path string) string {
	t.Helper()
	v := prop(t, r, path)
	if !v.IsString() {
		t.Fatalf("%s: %s is %v, want a string", r.URN, path, v)
	}
	return v.StringValue()
}

func num(t *testing.T, r *offline.Resource, path string) int {
	t.Helper()
	v := prop(t, r, path)
	if !v.IsNumber() {
		t.Fatalf("%s: %s is %v, want a number", r.URN, path, v)
	}
	return int(v.NumberValue())
}

func boolean(t *testing.T, r *offline.Resource, path string) bool {
	t.Helper()
	v := prop(t, r, path)
	if !v.IsBool() {
		t.Fatalf("%s: %s is %v, want a bool", r.URN, path, v)
	}
	return v.BoolValue()
}

func strs(t *testing.T, r *offline.Resource, path string) []string {
	t.Helper()
	v := prop(t, r, path)
	if !v.IsArray() {
		t.Fatalf("%s: %s is %v, want a list", r.URN, path, v)
	}
	var out []string
	for _, e := range v.ArrayValue() {
		for e.IsSecret() {
			e = e.SecretValue().Element
		}
		out = append(out, e.StringValue())
	}
	return out
}

func eq[T any](t *testing.T, r *offline.Resource, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %s = %v, want %v", r.URN, what, got, want)
	}
}

func TestStackGraph(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			g := runStack(t, stack, nil)
			counts := map[string]int{
				tVpc: 1, tSG: 2, tRepo: 2, tLifecycle: 2, tImage: 2, tLB: 1, tTG: 2, tListener: 2,
				tCluster: 1, tTaskDef: 1, tService: 1, tLogGroup: 1, tAlarm: 4, tRole: 3, tRolePolicy: 2,
				tAttachment: 1, tScaleTarget: 1, tScalePolicy: 1, tCDApp: 1, tCDGroup: 1, tParam: 1,
				tCert: 0, tCertValidation: 0, tRecord: 0, tBucket: 0, tFlowLog: 0,
				"ecs-bluegreen:index:WebService": 1, "ecs-bluegreen:infra:Network": 1, "ecs-bluegreen:infra:Registry": 1,
				"ecs-bluegreen:infra:Edge": 1, "ecs-bluegreen:infra:Service": 1, "ecs-bluegreen:infra:Deploy": 1,
			}
			if stack == "prod" {
				// HTTPS on its domain (certificate, validation and alias records, the
				// redirect listener), access logs, and flow logs with their group and role.
				counts[tCert], counts[tCertValidation], counts[tRecord], counts[tListener] = 1, 1, 2, 3
				counts[tBucket], counts[tFlowLog], counts[tLogGroup], counts[tRole], counts[tRolePolicy] = 1, 1, 2, 4, 3
			}
			for typ, want := range counts {
				if got := len(g.all(typ)); got != want {
					t.Errorf("%s: %d resources, want %d", typ, got, want)
				}
			}
			// Every resource hangs under the WebService component.
			root := g.one("ecs-bluegreen:index:WebService", "web")
			for _, r := range g.rs {
				if r != root && !strings.Contains(r.URN, "ecs-bluegreen:index:WebService$") {
					t.Errorf("%s is not parented under the WebService component", r.URN)
				}
			}

			blue, green := g.one(tTG, "-blue"), g.one(tTG, "-green")
			prodL, testL := g.one(tListener, "-prod"), g.one(tListener, "-test")
			svc, td := g.one(tService, "web"), g.one(tTaskDef, "web")
			albSG, taskSG := g.one(tSG, "-alb"), g.one(tSG, "-tasks")
			lb := g.one(tLB, "-alb")

			vpc := g.one(tVpc, "-vpc")
			eq(t, vpc, "subnetStrategy", str(t, vpc, "subnetStrategy"), "Auto")
			eq(t, vpc, "cidrBlock", str(t, vpc, "cidrBlock"), "10.0.0.0/16")
			eq(t, vpc, "numberOfAvailabilityZones", num(t, vpc, "numberOfAvailabilityZones"), 2)

			// Target groups: ip targets on nginx's port, health checked through nginx.
			for _, tg := range []*offline.Resource{blue, green} {
				eq(t, tg, "targetType", str(t, tg, "targetType"), "ip")
				eq(t, tg, "port", num(t, tg, "port"), 80)
				eq(t, tg, "healthCheck.path", str(t, tg, "healthCheck.path"), "/health/")
				if n := str(t, tg, "out:name"); len(n) > 32 {
					t.Errorf("%s: name %q is longer than AWS's 32 characters", tg.URN, n)
				}
			}

			// Listeners start on blue and ignore CodeDeploy's rewrites.
			for _, l := range []*offline.Resource{prodL, testL} {
				eq(t, l, "defaultActions.0.targetGroupArn", str(t, l, "defaultActions.0.targetGroupArn"), str(t, blue, "out:arn"))
				eq(t, l, "loadBalancerArn", str(t, l, "loadBalancerArn"), str(t, lb, "out:arn"))
				eq(t, l, "ignoreChanges", l.IgnoreChanges, []string{"defaultActions"})
			}
			// dev serves HTTP on 80; prod HTTPS on 443 (and redirects 80).
			prodPort, listenerPorts := 80, []int{80}
			if stack == "prod" {
				prodPort, listenerPorts = 443, []int{443, 80}
			}
			eq(t, prodL, "port", num(t, prodL, "port"), prodPort)
			eq(t, testL, "port", num(t, testL, "port"), 8080)

			// Security groups: ALB open on its production listener ports (the test
			// listener to no one unless testListenerCidrs: the VPC's own CIDR never
			// reaches an internet-facing ALB); tasks open to the ALB only, on the ports
			// nginx may take.
			var ports []int
			for i := range prop(t, albSG, "ingress").ArrayValue() {
				ports = append(ports, num(t, albSG, fmt.Sprintf("ingress.%d.fromPort", i)))
			}
			eq(t, albSG, "ingress ports", ports, listenerPorts)
			eq(t, albSG, "ingress.0.cidrBlocks", strs(t, albSG, "ingress.0.cidrBlocks"), []string{"0.0.0.0/0"})
			eq(t, taskSG, "ingress", len(prop(t, taskSG, "ingress").ArrayValue()), 1)
			eq(t, taskSG, "ingress.0.securityGroups", strs(t, taskSG, "ingress.0.securityGroups"), []string{albSG.ID})
			eq(t, taskSG, "ingress ports", []int{num(t, taskSG, "ingress.0.fromPort"), num(t, taskSG, "ingress.0.toPort")}, []int{1024, 65535})
			withTest := runStack(t, stack, map[string]string{"testListenerCidrs": `["198.51.100.7/32"]`}).one(tSG, "-alb")
			lastRule := fmt.Sprintf("ingress.%d", len(listenerPorts))
			eq(t, withTest, lastRule+".fromPort", num(t, withTest, lastRule+".fromPort"), 8080)
			eq(t, withTest, lastRule+".cidrBlocks", strs(t, withTest, lastRule+".cidrBlocks"), []string{"198.51.100.7/32"})
			eq(t, lb, "securityGroups", strs(t, lb, "securityGroups"), []string{albSG.ID})

			// Service: CODE_DEPLOY, behind blue, on nginx, ignoring what only CodeDeploy may change.
			eq(t, svc, "deploymentController.type", str(t, svc, "deploymentController.type"), "CODE_DEPLOY")
			eq(t, svc, "loadBalancers.0.targetGroupArn", str(t, svc, "loadBalancers.0.targetGroupArn"), str(t, blue, "out:arn"))
			eq(t, svc, "loadBalancers.0.containerName", str(t, svc, "loadBalancers.0.containerName"), "nginx")
			eq(t, svc, "loadBalancers.0.containerPort", num(t, svc, "loadBalancers.0.containerPort"), 8080)
			eq(t, svc, "taskDefinition", str(t, svc, "taskDefinition"), str(t, td, "out:arn"))
			eq(t, svc, "networkConfiguration.securityGroups", strs(t, svc, "networkConfiguration.securityGroups"), []string{taskSG.ID})
			for _, k := range []string{"taskDefinition", "loadBalancers", "networkConfiguration", "platformVersion", "desiredCount"} {
				if !slices.Contains(svc.IgnoreChanges, k) {
					t.Errorf("%s: ignoreChanges %v lacks %s", svc.URN, svc.IgnoreChanges, k)
				}
			}
			for _, l := range []*offline.Resource{prodL, testL} {
				if !slices.Contains(svc.Dependencies, l.URN) {
					t.Errorf("%s: does not depend on listener %s", svc.URN, l.URN)
				}
			}

			// Task definition: both containers by digest, shares within the task, kept on replace.
			eq(t, td, "skipDestroy", boolean(t, td, "skipDestroy"), true)
			eq(t, td, "runtimePlatform.cpuArchitecture", str(t, td, "runtimePlatform.cpuArchitecture"), "X86_64")
			var defs []infra.ContainerDefinition
			if err := json.Unmarshal([]byte(str(t, td, "containerDefinitions")), &defs); err != nil {
				t.Fatalf("%s: containerDefinitions: %v", td.URN, err)
			}
			if len(defs) != 2 || defs[0].Name != "nginx" || defs[1].Name != "app" {
				t.Fatalf("%s: containers %+v, want nginx and app", td.URN, defs)
			}
			taskCPU, _ := strconv.Atoi(str(t, td, "cpu"))
			eq(t, td, "nginx cpu", defs[0].CPU, taskCPU*15/100)
			eq(t, td, "app cpu", defs[1].CPU, taskCPU*85/100)
			if defs[0].CPU+defs[1].CPU > taskCPU {
				t.Errorf("%s: container CPU %d+%d exceeds task CPU %d", td.URN, defs[0].CPU, defs[1].CPU, taskCPU)
			}
			images := map[string]string{}
			for _, img := range g.all(tImage) {
				images[img.Name] = str(t, img, "out:repoDigest")
				eq(t, img, "build.platform", str(t, img, "build.platform"), "linux/amd64")
				eq(t, img, "registry.username", str(t, img, "registry.username"), "AWS")
				eq(t, img, "registry.password", str(t, img, "registry.password"), "mock-ecr-password")
			}
			eq(t, td, "nginx image", defs[0].Image, images["web-nginx"])
			eq(t, td, "app image", defs[1].Image, images["web-app"])
			if !strings.Contains(defs[1].Image, "@sha256:") {
				t.Errorf("%s: app image %q is not referenced by digest", td.URN, defs[1].Image)
			}

			// Execution role may pull exactly the two repositories.
			var policy struct {
				Statement []struct {
					Sid      string
					Resource []string
				}
			}
			if err := json.Unmarshal([]byte(str(t, g.one(tRolePolicy, "-exec"), "policy")), &policy); err != nil {
				t.Fatal(err)
			}
			var repoARNs []string
			for _, r := range g.all(tRepo) {
				repoARNs = append(repoARNs, str(t, r, "out:arn"))
				eq(t, r, "imageTagMutability", str(t, r, "imageTagMutability"), "IMMUTABLE")
				eq(t, r, "imageScanningConfiguration.scanOnPush", boolean(t, r, "imageScanningConfiguration.scanOnPush"), true)
			}
			for _, s := range policy.Statement {
				if s.Sid == "EcrPull" {
					slices.Sort(s.Resource)
					slices.Sort(repoARNs)
					eq(t, td, "execution role EcrPull resources", s.Resource, repoARNs)
				}
			}

			// Deployment group: wired to this service, both listeners, both target groups, the alarms.
			dg := g.one(tCDGroup, "web")
			eq(t, dg, "deploymentStyle.deploymentType", str(t, dg, "deploymentStyle.deploymentType"), "BLUE_GREEN")
			eq(t, dg, "deploymentStyle.deploymentOption", str(t, dg, "deploymentStyle.deploymentOption"), "WITH_TRAFFIC_CONTROL")
			eq(t, dg, "appName", str(t, dg, "appName"), str(t, g.one(tCDApp, "web"), "out:name"))
			eq(t, g.one(tCDApp, "web"), "computePlatform", str(t, g.one(tCDApp, "web"), "computePlatform"), "ECS")
			eq(t, dg, "ecsService.serviceName", str(t, dg, "ecsService.serviceName"), str(t, svc, "out:name"))
			eq(t, dg, "ecsService.clusterName", str(t, dg, "ecsService.clusterName"), str(t, g.one(tCluster, "web"), "out:name"))
			pair := "loadBalancerInfo.targetGroupPairInfo."
			eq(t, dg, "prodTrafficRoute", strs(t, dg, pair+"prodTrafficRoute.listenerArns"), []string{str(t, prodL, "out:arn")})
			eq(t, dg, "testTrafficRoute", strs(t, dg, pair+"testTrafficRoute.listenerArns"), []string{str(t, testL, "out:arn")})
			eq(t, dg, "targetGroups", []string{str(t, dg, pair+"targetGroups.0.name"), str(t, dg, pair+"targetGroups.1.name")},
				[]string{str(t, blue, "out:name"), str(t, green, "out:name")})
			eq(t, dg, "autoRollbackConfiguration.events", strs(t, dg, "autoRollbackConfiguration.events"),
				[]string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"})
			var alarmNames []string
			for _, a := range g.all(tAlarm) {
				alarmNames = append(alarmNames, str(t, a, "out:name"))
			}
			got := strs(t, dg, "alarmConfiguration.alarms")
			slices.Sort(got)
			slices.Sort(alarmNames)
			eq(t, dg, "alarmConfiguration.alarms", got, alarmNames)
			eq(t, dg, "serviceRoleArn", str(t, dg, "serviceRoleArn"), str(t, g.one(tRole, "-codedeploy"), "out:arn"))
			eq(t, g.one(tAttachment, "-codedeploy"), "policyArn", str(t, g.one(tAttachment, "-codedeploy"), "policyArn"),
				"arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited")

			// Alarms watch each colour's target group on this load balancer.
			for _, color := range []string{"blue", "green"} {
				tg := g.one(tTG, "-"+color)
				for _, kind := range []string{"5xx", "unhealthy"} {
					a := g.one(tAlarm, "-"+color+"-"+kind)
					eq(t, a, "dimensions.TargetGroup", str(t, a, "dimensions.TargetGroup"), str(t, tg, "out:arnSuffix"))
					eq(t, a, "dimensions.LoadBalancer", str(t, a, "dimensions.LoadBalancer"), str(t, lb, "out:arnSuffix"))
				}
			}
		})
	}
}

// TestDevAndProdDiffer checks the per-environment profile of the two stack files.
func TestDevAndProdDiffer(t *testing.T) {
	dev, prod := runStack(t, "dev", nil), runStack(t, "prod", nil)
	type profile struct {
		nat, deployConfig, subnet0                  string
		publicIP, protect, forceDelete, deletionPro bool
		minTasks, maxTasks, desired, termWait, logs int
		capacity                                    string
	}
	read := func(g graph) profile {
		svc, dg, repo := g.one(tService, "web"), g.one(tCDGroup, "web"), g.one(tRepo, "-app")
		return profile{
			nat:          str(t, g.one(tVpc, "-vpc"), "natGateways.strategy"),
			deployConfig: str(t, dg, "deploymentConfigName"),
			subnet0:      strs(t, svc, "networkConfiguration.subnets")[0],
			publicIP:     boolean(t, svc, "networkConfiguration.assignPublicIp"),
			protect:      repo.Protect && g.one(tLB, "-alb").Protect && g.one(tLogGroup, "web").Protect,
			forceDelete:  boolean(t, repo, "forceDelete"),
			deletionPro:  boolean(t, g.one(tLB, "-alb"), "enableDeletionProtection"),
			minTasks:     num(t, g.one(tScaleTarget, "web"), "minCapacity"),
			maxTasks:     num(t, g.one(tScaleTarget, "web"), "maxCapacity"),
			desired:      num(t, svc, "desiredCount"),
			termWait:     num(t, dg, "blueGreenDeploymentConfig.terminateBlueInstancesOnDeploymentSuccess.terminationWaitTimeInMinutes"),
			logs:         num(t, g.one(tLogGroup, "web"), "retentionInDays"),
			capacity:     str(t, svc, "capacityProviderStrategies.0.capacityProvider"),
		}
	}
	want := map[string]profile{
		"dev": {nat: "None", deployConfig: "CodeDeployDefault.ECSAllAtOnce", subnet0: "subnet-public-0", publicIP: true,
			protect: false, forceDelete: true, deletionPro: false, minTasks: 1, maxTasks: 2, desired: 1, termWait: 1, logs: 7, capacity: "FARGATE_SPOT"},
		"prod": {nat: "OnePerAz", deployConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", subnet0: "subnet-private-0", publicIP: false,
			protect: true, forceDelete: false, deletionPro: true, minTasks: 2, maxTasks: 6, desired: 2, termWait: 10, logs: 90, capacity: "FARGATE"},
	}
	for name, g := range map[string]graph{"dev": dev, "prod": prod} {
		if got := read(g); got != want[name] {
			t.Errorf("%s profile:\n got  %+v\n want %+v", name, got, want[name])
		}
	}
	// prod runs its tasks in as many private subnets as it has AZs.
	if n := len(strs(t, prod.one(tService, "web"), "networkConfiguration.subnets")); n < 2 {
		t.Errorf("prod service spans %d subnets, want at least 2", n)
	}
}

// TestHTTPS checks the listener layout with a certificate: HTTPS on 443, HTTP redirecting.
func TestHTTPS(t *testing.T) {
	cert := "arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5c4f4e-1111-2222-3333-444455556666"
	g := runStack(t, "dev", map[string]string{"certificateArn": cert})
	if n := len(g.all(tListener)); n != 3 {
		t.Fatalf("%d listeners, want 3 (https, http redirect, test)", n)
	}
	prodL, redirect := g.one(tListener, "-prod"), g.one(tListener, "-http")
	eq(t, prodL, "port", num(t, prodL, "port"), 443)
	eq(t, prodL, "protocol", str(t, prodL, "protocol"), "HTTPS")
	eq(t, prodL, "certificateArn", str(t, prodL, "certificateArn"), cert)
	eq(t, redirect, "defaultActions.0.redirect.protocol", str(t, redirect, "defaultActions.0.redirect.protocol"), "HTTPS")
	eq(t, redirect, "ignoreChanges", len(redirect.IgnoreChanges), 0)
	albSG := g.one(tSG, "-alb")
	eq(t, albSG, "ingress ports", []int{num(t, albSG, "ingress.0.fromPort"), num(t, albSG, "ingress.1.fromPort")}, []int{443, 80})
	dg := g.one(tCDGroup, "web")
	eq(t, dg, "prodTrafficRoute", strs(t, dg, "loadBalancerInfo.targetGroupPairInfo.prodTrafficRoute.listenerArns"), []string{str(t, prodL, "out:arn")})
}

// TestSecretsAndEnvironment checks app configuration reaches the container and
// the execution role may read exactly the configured secrets.
func TestSecretsAndEnvironment(t *testing.T) {
	ssm := "arn:aws:ssm:ap-northeast-2:123456789012:parameter/web/db-password"
	sm := "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/django-AbCdEf"
	g := runStack(t, "dev", map[string]string{
		"appSecrets":     `{"DB_PASSWORD": "` + ssm + `", "DJANGO_SECRET_KEY": "` + sm + `"}`,
		"appEnvironment": `{"DJANGO_DEBUG": "0", "WORKERS": 3}`,
	})
	td := g.one(tTaskDef, "web")
	var defs []infra.ContainerDefinition
	if err := json.Unmarshal([]byte(str(t, td, "containerDefinitions")), &defs); err != nil {
		t.Fatal(err)
	}
	app := defs[1]
	eq(t, td, "app secrets", app.Secrets, []infra.Secret{{Name: "DB_PASSWORD", ValueFrom: ssm}, {Name: "DJANGO_SECRET_KEY", ValueFrom: sm}})
	eq(t, td, "app environment", app.Environment, []infra.KeyValue{{Name: "PORT", Value: "8000"}, {Name: "DJANGO_DEBUG", Value: "0"}, {Name: "WORKERS", Value: "3"}})
	var policy struct {
		Statement []struct {
			Sid              string
			Action, Resource []string
		}
	}
	if err := json.Unmarshal([]byte(str(t, g.one(tRolePolicy, "-exec"), "policy")), &policy); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, s := range policy.Statement {
		got[s.Sid] = s.Resource
	}
	eq(t, td, "SsmParameters resources", got["SsmParameters"], []string{ssm})
	eq(t, td, "Secrets resources", got["Secrets"], []string{sm})
}

// TestUnchangedBuildChangesNothing runs the program twice: the same sources must
// give the same image references and task definition, or every `pulumi up`
// would start a deployment.
func TestUnchangedBuildChangesNothing(t *testing.T) {
	a, b := runStack(t, "dev", nil), runStack(t, "dev", nil)
	for _, name := range []string{"web-app", "web-nginx"} {
		ia, ib := a.one(tImage, name), b.one(tImage, name)
		eq(t, ia, "imageName twice", str(t, ia, "imageName"), str(t, ib, "imageName"))
	}
	eq(t, a.one(tTaskDef, "web"), "containerDefinitions twice",
		str(t, a.one(tTaskDef, "web"), "containerDefinitions"), str(t, b.one(tTaskDef, "web"), "containerDefinitions"))
}
