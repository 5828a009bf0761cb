package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"ecs-bluegreen/infra/offline"
	"ecs-bluegreen/infra/rollout"
)

// replaceOn lists, for each resource type whose replacement breaks a live stack,
// the inputs a change of which makes the provider replace it (ForceNew in the
// Terraform AWS provider v5 that pulumi-aws v6 wraps; see each resource's page in
// the pulumi-aws registry docs). The ECS service's capacityProviderStrategies
// replace it unless forceNewDeployment is set, which CODE_DEPLOY does not allow
// (the provider's aws_ecs_service docs: updating capacity_provider_strategy
// "requires force_new_deployment = true", else the service is replaced): the
// workers set it (inPlace).
var replaceOn = map[string][]string{
	tLB:       {"name", "namePrefix", "internal", "loadBalancerType", "customerOwnedIpv4Pool"},
	tTG:       {"name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId", "ipAddressType"},
	tListener: {"loadBalancerArn"},
	tService:  {"name", "cluster", "launchType", "deploymentController", "schedulingStrategy", "iamRole", "capacityProviderStrategies"},
	tCluster:  {"name"},
	tCDApp:    {"name", "computePlatform"},
	tCDGroup:  {"appName"},
	tRepo:     {"name", "encryptionConfigurations"},
	tSG:       {"name", "namePrefix", "vpcId", "description"},
	// awsx's VPC: the VPC's own CIDR and AZs, and each subnet's CIDR (a subnet is
	// replaced on cidrBlock, availabilityZone and vpcId), compared per subnet type.
	tVpc: {"cidrBlock", "numberOfAvailabilityZones", "availabilityZoneNames", "subnet:Public", "subnet:Private"},
}

// inPlace says a change of input k updates r in place after all.
func inPlace(r *offline.Resource, k string) bool {
	force := r.Inputs["forceNewDeployment"]
	return r.Type == tService && k == "capacityProviderStrategies" && force.IsBool() && force.BoolValue()
}

// subnetCIDRs returns the CIDR blocks of the VPC's subnet spec of a type, or nil.
func subnetCIDRs(r *offline.Resource, typ string) resource.PropertyValue {
	specs := r.Inputs["subnetSpecs"]
	if !specs.IsArray() {
		return resource.NewNullProperty()
	}
	for _, s := range specs.ArrayValue() {
		if s.IsObject() && s.ObjectValue()["type"].StringValue() == typ {
			return s.ObjectValue()["cidrBlocks"]
		}
	}
	return resource.NewNullProperty()
}

// replacements lists, for the resources of before that after still declares, the
// replace-on inputs that changed and are not ignored; and the resources of those
// types that after no longer declares.
func replacements(before, after []*offline.Resource) []string {
	byURN := map[string]*offline.Resource{}
	for _, r := range after {
		byURN[r.URN] = r
	}
	var out []string
	for _, a := range before {
		keys, critical := replaceOn[a.Type]
		if !critical {
			continue
		}
		b, ok := byURN[a.URN]
		if !ok {
			out = append(out, a.Name+" deleted")
			continue
		}
		for _, k := range keys {
			if slices.Contains(b.IgnoreChanges, k) || inPlace(b, k) {
				continue
			}
			va, vb := a.Inputs[resource.PropertyKey(k)], b.Inputs[resource.PropertyKey(k)]
			if typ, ok := strings.CutPrefix(k, "subnet:"); ok {
				va, vb = subnetCIDRs(a, typ), subnetCIDRs(b, typ)
				if va.IsNull() || vb.IsNull() { // subnets of this type added or dropped, not moved
					continue
				}
			}
			if !va.DeepEquals(vb) {
				out = append(out, fmt.Sprintf("%s.%s: %v -> %v", a.Name, k, va, vb))
			}
		}
	}
	return out
}

// TestDay2Changes flips, on a live stack, each setting a user changes after the
// first `pulumi up`: the second `up` must replace none of the resources a live
// stack depends on, and a change of what the tasks run (revision, network,
// capacity provider) must go out as exactly one CodeDeploy deployment carrying it,
// while any other change writes nothing through the rollout.
func TestDay2Changes(t *testing.T) {
	cert := "arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5c4f4e-1111-2222-3333-444455556666"
	revision := func(rev int) func(*testing.T, rollout.TargetProperties) {
		return func(t *testing.T, p rollout.TargetProperties) {
			if p.TaskDefinition != tdDev(rev) {
				t.Errorf("deployed %s, want revision %d", p.TaskDefinition, rev)
			}
		}
	}
	cases := []struct {
		name         string
		stack        string
		base, change map[string]string
		// deployed checks the one deployment's AppSpec; nil: no write call at all.
		deployed func(*testing.T, rollout.TargetProperties)
		check    func(t *testing.T, before, after run)
		// removes are logical names the change deletes on purpose (a removed worker).
		removes []string
	}{
		{name: "fargateSpot on to off", base: nil, change: map[string]string{"fargateSpot": "false"},
			deployed: func(t *testing.T, p rollout.TargetProperties) {
				if !reflect.DeepEqual(p.CapacityProviderStrategy, []rollout.CapacityProviderItem{{CapacityProvider: "FARGATE", Weight: 1}}) || p.TaskDefinition != tdDev(1) {
					t.Errorf("AppSpec %+v, want FARGATE on the same revision", p)
				}
			}},
		{name: "natGateways none to single", change: map[string]string{"natGateways": "single"},
			deployed: func(t *testing.T, p rollout.TargetProperties) {
				if n := p.NetworkConfiguration.AwsvpcConfiguration; n.AssignPublicIp != "DISABLED" || n.Subnets[0] != "subnet-private-0" {
					t.Errorf("network %+v, want private subnets without public IP", n)
				}
			}},
		{name: "natGateways none to onePerAz", change: map[string]string{"natGateways": "onePerAz"},
			deployed: func(t *testing.T, p rollout.TargetProperties) {
				if p.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != "DISABLED" {
					t.Errorf("network %+v", p.NetworkConfiguration)
				}
			}},
		{name: "natGateways onePerAz to none (prod)", stack: "prod", change: map[string]string{"natGateways": "none"},
			deployed: func(t *testing.T, p rollout.TargetProperties) {
				if n := p.NetworkConfiguration.AwsvpcConfiguration; n.AssignPublicIp != "ENABLED" || n.Subnets[0] != "subnet-public-0" {
					t.Errorf("network %+v, want public subnets with a public IP", n)
				}
			}},
		{name: "nginxPort", change: map[string]string{"nginxPort": "9090"},
			deployed: func(t *testing.T, p rollout.TargetProperties) {
				revision(2)(t, p)
				if p.LoadBalancerInfo.ContainerPort != 9090 {
					t.Errorf("AppSpec container port %d, want 9090", p.LoadBalancerInfo.ContainerPort)
				}
			}},
		{name: "appPort", change: map[string]string{"appPort": "9000"}, deployed: revision(2)},
		{name: "certificateArn added", change: map[string]string{"certificateArn": cert},
			check: func(t *testing.T, _, after run) {
				prodL, redirect := after.one(tListener, "-prod"), after.one(tListener, "-http")
				eq(t, prodL, "port", num(t, prodL, "port"), 443)
				if !slices.Contains(redirect.Dependencies, prodL.URN) {
					t.Errorf("%s does not wait for %s to leave port 80 (DuplicateListener)", redirect.URN, prodL.URN)
				}
			}},
		{name: "cpuArchitecture", base: map[string]string{"fargateSpot": "false"}, change: map[string]string{"fargateSpot": "false", "cpuArchitecture": "ARM64"},
			deployed: revision(2),
			check: func(t *testing.T, before, after run) {
				for _, name := range []string{"web-app", "web-nginx"} {
					if a, b := str(t, before.one(tImage, name), "imageName"), str(t, after.one(tImage, name), "imageName"); a == b {
						t.Errorf("%s: tag %s unchanged for another platform: an immutable repository refuses the push", name, a)
					}
				}
			}},
		{name: "taskCpu and taskMemory", change: map[string]string{"taskCpu": "1024", "taskMemory": "2048"}, deployed: revision(2)},
		{name: "appEnvironment", change: map[string]string{"appEnvironment": `{"DJANGO_DEBUG": "0", "FEATURE": "on"}`}, deployed: revision(2)},
		{name: "appSecrets added", change: map[string]string{"appSecrets": `{"DB_PASSWORD": "arn:aws:ssm:ap-northeast-2:123456789012:parameter/web/db"}`}, deployed: revision(2)},
		{name: "desiredCount", change: map[string]string{"desiredCount": "2"}},
		{name: "minTasks and maxTasks", change: map[string]string{"minTasks": "2", "maxTasks": "4", "desiredCount": "2"}},
		{name: "deploymentConfig", change: map[string]string{"deploymentConfig": "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"}},
		{name: "terminationWaitMinutes", change: map[string]string{"terminationWaitMinutes": "5"}},
		{name: "healthCheckPath", change: map[string]string{"healthCheckPath": "/healthz/"}},
		{name: "allowedCidrs", change: map[string]string{"allowedCidrs": `["203.0.113.0/24"]`}},
		{name: "testListenerPort", change: map[string]string{"testListenerPort": "9090"}},
		{name: "logRetentionDays", change: map[string]string{"logRetentionDays": "30"}},
		// Workers and schedules: nothing the web service depends on is replaced, and
		// no web deployment is made (no write through the rollout at all).
		{name: "worker added", base: day2Jobs(""), change: day2Jobs(day2Worker("worker")), check: workerRuns(1)},
		{name: "worker's command changed", base: day2Jobs(day2Worker("worker")), change: day2Jobs(day2Worker("other")), check: workerRuns(2)},
		// In place only with forceNewDeployment (inPlace): the same revision, on Spot.
		{name: "worker moved to Spot", base: day2Jobs(day2Worker("worker")), change: day2Jobs(strings.Replace(day2Worker("worker"), `"count"`, `"spot": true, "count"`, 1)), check: workerRuns(1)},
		{name: "worker removed", base: day2Jobs(day2Worker("worker")), change: day2Jobs(""),
			// The last worker or schedule gone, so is the jobs' security group: the
			// provider deletes the service (and waits for its tasks to stop) first.
			removes: []string{"web-worker", "web-jobs"}, check: func(t *testing.T, _, after run) {
				if n := len(after.all(tService)); n != 1 {
					t.Errorf("%d services after the worker's removal, want the web one", n)
				}
			}},
		{name: "schedule added", base: day2Jobs(day2Worker("worker")), change: withConfig(day2Jobs(day2Worker("worker")), "schedules", day2Schedule("cron(0 3 * * ? *)")),
			check: scheduleRuns("cron(0 3 * * ? *)")},
		{name: "schedule's expression changed", base: withConfig(day2Jobs(""), "schedules", day2Schedule("cron(0 3 * * ? *)")),
			change: withConfig(day2Jobs(""), "schedules", day2Schedule("rate(6 hours)")), check: scheduleRuns("rate(6 hours)")},
		{name: "schedule removed", base: withConfig(day2Jobs(""), "schedules", day2Schedule("cron(0 3 * * ? *)")), change: day2Jobs(""),
			removes: []string{"web-jobs"}, check: func(t *testing.T, _, after run) {
				if n := len(after.all(tSchedule)); n != 0 {
					t.Errorf("%d schedules after the removal", n)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stack := c.stack
			if stack == "" {
				stack = "dev"
			}
			s := newLiveStack(t, stack)
			before := s.up(c.base)
			if before.err != nil {
				t.Fatal(before.err)
			}
			after := s.up(c.change)
			if after.err != nil {
				t.Fatal(after.err)
			}
			r := slices.DeleteFunc(replacements(before.rs, after.rs), func(s string) bool {
				name, deleted := strings.CutSuffix(s, " deleted")
				return deleted && slices.Contains(c.removes, name)
			})
			if len(r) > 0 {
				t.Errorf("replaces what a live stack depends on:\n  %v", r)
			}
			if c.deployed == nil {
				if w := after.writes(); len(w) != 0 {
					t.Errorf("writes %v, want none", w)
				}
			} else {
				if w := after.writes(); !reflect.DeepEqual(w, []string{"CreateDeployment"}) {
					t.Fatalf("writes %v, want exactly one deployment", w)
				}
				c.deployed(t, appSpecOf(t, after.last("CreateDeployment")))
			}
			// Security groups change the moment they update, before the new revision's
			// tasks exist: the load balancer must still reach the old tasks on the old
			// nginx port, and the new ones on the new port once they run.
			oldPort, newPort := num(t, before.one(tService, "web"), "loadBalancers.0.containerPort"), num(t, after.one(tService, "web"), "loadBalancers.0.containerPort")
			for _, port := range []int{oldPort, newPort} {
				if why := unreachable(t, after, port); why != "" {
					t.Errorf("after the security groups updated, the load balancer cannot reach tasks on port %d: %s", port, why)
				}
			}
			if c.check != nil {
				c.check(t, before, after)
			}
		})
	}
}

// unreachable says why the load balancer's security group rules, and the tasks',
// do not let it reach a task listening on port ("" when they do).
func unreachable(t *testing.T, g run, port int) string {
	t.Helper()
	alb, tasks := g.one(tSG, "-alb"), g.one(tSG, "-tasks")
	covers := func(rule resource.PropertyValue) bool {
		r := rule.ObjectValue()
		return r["protocol"].StringValue() == "tcp" && int(r["fromPort"].NumberValue()) <= port && port <= int(r["toPort"].NumberValue())
	}
	out := false
	for _, rule := range prop(t, alb, "egress").ArrayValue() {
		out = out || covers(rule) && slices.ContainsFunc(rule.ObjectValue()["cidrBlocks"].ArrayValue(), func(c resource.PropertyValue) bool {
			return c.StringValue() == str(t, g.one(tVpc, "-vpc"), "cidrBlock")
		})
	}
	if !out {
		return "the load balancer's group has no egress to the VPC on it"
	}
	in := false
	for _, rule := range prop(t, tasks, "ingress").ArrayValue() {
		groups := rule.ObjectValue()["securityGroups"]
		in = in || covers(rule) && groups.IsArray() && slices.ContainsFunc(groups.ArrayValue(), func(v resource.PropertyValue) bool { return v.StringValue() == alb.ID })
	}
	if !in {
		return "the tasks' group admits no traffic from the load balancer's group on it"
	}
	return ""
}

// TestReplacementsFindsReplacements proves the check above can fail: the
// replacements a user could cause through settings the table does not flip.
func TestReplacementsFindsReplacements(t *testing.T) {
	base := newLiveStack(t, "dev").up(nil)
	for _, c := range []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"VPC CIDR", map[string]string{"vpcCidr": "10.1.0.0/16"}, "web-vpc.cidrBlock"},
		{"AZ count moves the subnets", map[string]string{"availabilityZones": "3"}, "web-vpc.subnet:Public"},
	} {
		t.Run(c.name, func(t *testing.T) {
			after := newLiveStack(t, "dev").up(c.change)
			if after.err != nil {
				t.Fatal(after.err)
			}
			r := replacements(base.rs, after.rs)
			if !slices.ContainsFunc(r, func(s string) bool { return strings.HasPrefix(s, c.want) }) {
				t.Errorf("replacements %v lack %s", r, c.want)
			}
		})
	}
}

// day2Jobs is a stack with a queue, and the given workers ("" for none).
func day2Jobs(workers string) map[string]string {
	o := map[string]string{"queues": `{"jobs": {}}`}
	if workers != "" {
		o["workers"] = workers
	}
	return o
}

func day2Worker(command string) string {
	return `{"worker": {"command": ["python", "manage.py", "` + command + `"], "count": 1, "queue": "jobs"}}`
}

func day2Schedule(expr string) string {
	return `{"report": {"schedule": "` + expr + `", "command": ["python", "manage.py", "report"]}}`
}

// workerRuns checks that the worker runs its task definition's revision rev, and
// the web service still the one it served.
func workerRuns(rev int) func(*testing.T, run, run) {
	return func(t *testing.T, before, after run) {
		if td := str(t, after.one(tService, "web-worker"), "taskDefinition"); td != tdOf("worker", rev) {
			t.Errorf("worker declared on %s, want revision %d", td, rev)
		}
		eq(t, after.one(tTaskDef, "web"), "web revision", str(t, after.one(tTaskDef, "web"), "out:arn"), str(t, before.one(tTaskDef, "web"), "out:arn"))
	}
}

// scheduleRuns checks the schedule's expression and that it runs its own family.
func scheduleRuns(expr string) func(*testing.T, run, run) {
	return func(t *testing.T, before, after run) {
		s := after.one(tSchedule, "web-report")
		eq(t, s, "scheduleExpression", str(t, s, "scheduleExpression"), expr)
		if in := scheduleInput(t, s); !strings.HasPrefix(in.TaskDefinition, tdOf("report", 1)[:len(tdOf("report", 1))-1]) {
			t.Errorf("schedule runs %s", in.TaskDefinition)
		}
		eq(t, after.one(tTaskDef, "web"), "web revision", str(t, after.one(tTaskDef, "web"), "out:arn"), str(t, before.one(tTaskDef, "web"), "out:arn"))
	}
}
