// Package plan shows a stack offline: the resources `pulumi up` would create with
// their key settings, a monthly cost estimate and the rollout lead time. It runs
// the program under Pulumi's mocks in preview mode with the stack's real
// configuration, so it needs no AWS account, Pulumi CLI or Docker.
package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/offline"
)

// Unknown stands for a value only `pulumi up` learns.
const Unknown = "(known after apply)"

// Plan is everything the plan command prints.
type Plan struct {
	Project     string    `json:"project"`
	Stack       string    `json:"stack"`
	Region      string    `json:"region"`
	Environment string    `json:"environment"`
	Resources   []*Node   `json:"resources"`
	Task        []string  `json:"task"`
	Cost        *Cost     `json:"cost,omitempty"`
	CostError   string    `json:"costError,omitempty"`
	LeadTime    LeadTime  `json:"leadTime"`
	Checks      []Check   `json:"checks"`
	Prices      PriceInfo `json:"prices"`
}

// PriceInfo says where the prices come from.
type PriceInfo struct {
	Retrieved string `json:"retrieved"`
	Source    string `json:"source"`
	Usage     string `json:"usage"`
	Spot      string `json:"spot"`
	// Jobs says what the workers', schedules' and queues' lines assume; "" without any.
	Jobs string `json:"jobs,omitempty"`
}

// Node is a resource and its children.
type Node struct {
	Type     string    `json:"type"`
	Name     string    `json:"name"`
	Settings []Setting `json:"settings,omitempty"`
	Children []*Node   `json:"children,omitempty"`
}

// Setting is one key setting of a resource, as text.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Check compares an estimate with its target.
type Check struct {
	What   string `json:"what"`
	Value  string `json:"value"`
	Target string `json:"target"`
	OK     bool   `json:"ok"`
}

// Build runs the program for stack in the project directory dir and plans it;
// overrides set config keys over the stack files (e.g. aws:region, to price the
// stack in another region). Relative build contexts resolve against the working
// directory, as under Pulumi.
func Build(dir, stack string, overrides map[string]string) (*Plan, error) {
	var cfg *infra.Config
	program := func(ctx *pulumi.Context) error {
		var err error
		if cfg, err = infra.LoadConfig(ctx); err != nil {
			return err
		}
		_, err = infra.NewWebService(ctx, cfg.Name, &infra.WebServiceArgs{Config: cfg})
		return err
	}
	m, err := offline.Run(dir, stack, program, offline.Options{Preview: true, Overrides: overrides})
	if err != nil {
		return nil, err
	}
	prices, err := LoadPrices()
	if err != nil {
		return nil, err
	}
	p := &Plan{
		Project: cfg.Project, Stack: stack, Region: cfg.Region, Environment: cfg.Environment,
		Resources: tree(m.Resources()),
		Task:      append(taskSummary(cfg), jobSummary(cfg, prices.Usage)...),
		LeadTime:  EstimateLeadTime(cfg),
		Prices:    PriceInfo{Retrieved: prices.Retrieved, Source: prices.Source, Usage: prices.Usage.Note, Spot: prices.SpotNote},
	}
	if cfg.Jobs.Enabled() || len(cfg.Jobs.Queues) > 0 {
		p.Prices.Jobs = prices.Usage.JobsNote
	}
	if p.Cost, err = EstimateCost(cfg, prices); err != nil {
		p.CostError = err.Error()
	}
	p.Checks = checks(cfg.Environment, p.Cost, p.LeadTime)
	return p, nil
}

func taskSummary(cfg *infra.Config) []string {
	s := cfg.Service
	return []string{
		fmt.Sprintf("task: %d CPU units, %d MiB, %s, %d-%d tasks (start %d), %s", s.CPU, s.Memory, cfg.Images.Architecture, s.MinTasks, s.MaxTasks, s.DesiredCount, map[bool]string{true: "Fargate Spot", false: "Fargate"}[s.FargateSpot]),
		fmt.Sprintf("nginx: %d CPU, %d MiB reserved (%d%%), port %d", s.NginxCPU(), s.NginxMemory(), s.NginxSharePercent, s.NginxPort),
		fmt.Sprintf("app: %d CPU, %d MiB reserved (%d%%), port %d", s.AppCPU(), s.AppMemory(), s.AppSharePercent, s.AppPort),
	}
}

func checks(env string, cost *Cost, lt LeadTime) []Check {
	t, ok := Targets[env]
	if !ok {
		return nil
	}
	var cs []Check
	if cost != nil {
		cs = append(cs, Check{"monthly cost at minimum scale", fmt.Sprintf("$%.2f", cost.MinTotal), fmt.Sprintf("at most $%.0f", t.MonthlyUSD), cost.MinTotal <= t.MonthlyUSD})
	}
	if t.ToAllTraffic > 0 {
		cs = append(cs, Check{"rollout to all traffic on the new tasks", lt.ToAllTraffic.String(), "at most " + t.ToAllTraffic.String(), lt.ToAllTraffic <= t.ToAllTraffic})
	}
	if t.ToComplete > 0 {
		cs = append(cs, Check{"rollout including the termination wait", lt.ToComplete.String(), "at most " + t.ToComplete.String(), lt.ToComplete <= t.ToComplete})
	}
	return cs
}

// tree arranges resources under their parents, children sorted by type and name
// so the output does not depend on registration order.
func tree(rs []*offline.Resource) []*Node {
	nodes := map[string]*Node{}
	for _, r := range rs {
		nodes[r.URN] = &Node{Type: r.Type, Name: r.Name, Settings: settings(r)}
	}
	var roots []*Node
	for _, r := range rs {
		if parent, ok := nodes[r.Parent]; ok {
			parent.Children = append(parent.Children, nodes[r.URN])
		} else {
			roots = append(roots, nodes[r.URN])
		}
	}
	var sortNodes func([]*Node)
	sortNodes = func(ns []*Node) {
		sort.Slice(ns, func(i, j int) bool {
			if ns[i].Type != ns[j].Type {
				return ns[i].Type < ns[j].Type
			}
			return ns[i].Name < ns[j].Name
		})
		for _, n := range ns {
			sortNodes(n.Children)
		}
	}
	sortNodes(roots)
	return roots
}

// keySettings are the input paths shown for each resource type.
var keySettings = map[string][]string{
	"awsx:ec2:Vpc":                                              {"cidrBlock", "numberOfAvailabilityZones", "natGateways.strategy", "subnetSpecs"},
	"aws:ec2/securityGroup:SecurityGroup":                       {"ingress", "egress"},
	"aws:ecr/repository:Repository":                             {"imageTagMutability", "imageScanningConfiguration.scanOnPush", "forceDelete"},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                   {"policy"},
	"docker:index/image:Image":                                  {"build.context", "build.dockerfile", "build.platform", "imageName"},
	"aws:lb/loadBalancer:LoadBalancer":                          {"loadBalancerType", "enableDeletionProtection", "subnets"},
	"aws:lb/targetGroup:TargetGroup":                            {"targetType", "protocol", "port", "healthCheck.path", "healthCheck.interval", "healthCheck.healthyThreshold", "deregistrationDelay"},
	"aws:lb/listener:Listener":                                  {"protocol", "port", "certificateArn", "defaultActions"},
	"aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": {"capacityProviders"},
	"aws:cloudwatch/logGroup:LogGroup":                          {"retentionInDays"},
	"aws:iam/role:Role":                                         {"assumeRolePolicy"},
	"aws:iam/rolePolicy:RolePolicy":                             {"policy"},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":         {"policyArn"},
	"aws:ecs/taskDefinition:TaskDefinition":                     {"family", "cpu", "memory", "runtimePlatform.cpuArchitecture", "skipDestroy", "containerDefinitions"},
	"aws:ecs/service:Service":                                   {"deploymentController.type", "deploymentCircuitBreaker.rollback", "desiredCount", "capacityProviderStrategies", "networkConfiguration.assignPublicIp", "healthCheckGracePeriodSeconds", "taskDefinition"},
	"aws:appautoscaling/target:Target":                          {"minCapacity", "maxCapacity"},
	"aws:appautoscaling/policy:Policy":                          {"targetTrackingScalingPolicyConfiguration.targetValue", "stepScalingPolicyConfiguration.stepAdjustments"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                    {"metricName", "statistic", "threshold", "evaluationPeriods"},
	"aws:codedeploy/application:Application":                    {"computePlatform"},
	// workers, schedules, queues
	"aws:sqs/queue:Queue":                       {"visibilityTimeoutSeconds", "messageRetentionSeconds", "receiveWaitTimeSeconds", "redrivePolicy", "sqsManagedSseEnabled"},
	"aws:sqs/queuePolicy:QueuePolicy":           {"policy"},
	"aws:scheduler/scheduleGroup:ScheduleGroup": {"name"},
	"aws:scheduler/schedule:Schedule":           {"scheduleExpression", "scheduleExpressionTimezone", "target.arn", "target.retryPolicy.maximumRetryAttempts", "target.input"},
	"aws:cloudwatch/eventRule:EventRule":        {"eventPattern"},
	"aws:cloudwatch/eventTarget:EventTarget":    {"arn"},
	"aws:codedeploy/deploymentGroup:DeploymentGroup": {"deploymentConfigName", "deploymentStyle.deploymentType",
		"blueGreenDeploymentConfig.terminateBlueInstancesOnDeploymentSuccess.terminationWaitTimeInMinutes", "autoRollbackConfiguration.events", "alarmConfiguration.alarms"},
}

func settings(r *offline.Resource) []Setting {
	var out []Setting
	for _, path := range keySettings[r.Type] {
		v, ok := lookup(r.Inputs, path)
		switch {
		case ok:
			out = append(out, Setting{Key: path, Value: summarize(r.Type, path, v)})
		case r.InputDependencies[strings.Split(path, ".")[0]]:
			// Absent because it comes from a resource not yet created.
			out = append(out, Setting{Key: path, Value: Unknown})
		}
	}
	if r.Protect {
		out = append(out, Setting{Key: "protect", Value: "true"})
	}
	if len(r.IgnoreChanges) > 0 {
		out = append(out, Setting{Key: "ignoreChanges", Value: strings.Join(r.IgnoreChanges, ",")})
	}
	return out
}

func lookup(pm resource.PropertyMap, path string) (resource.PropertyValue, bool) {
	v := resource.NewObjectProperty(pm)
	for _, part := range strings.Split(path, ".") {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			return v, v.IsComputed() || v.IsOutput()
		}
		next, ok := v.ObjectValue()[resource.PropertyKey(part)]
		if !ok {
			return resource.PropertyValue{}, false
		}
		v = next
	}
	return v, true
}

// summarize renders a setting briefly; rules, policies and actions get a digest
// rather than their raw JSON.
func summarize(typ, path string, v resource.PropertyValue) string {
	if v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known) {
		return Unknown
	}
	if v.IsSecret() {
		return "[secret]"
	}
	switch {
	case path == "ingress" || path == "egress":
		var rules []string
		for _, r := range v.ArrayValue() {
			o := r.ObjectValue()
			from := append(values(o["cidrBlocks"]), values(o["securityGroups"])...)
			port := fmt.Sprintf("%s %v", o["protocol"].StringValue(), o["fromPort"].NumberValue())
			if to := o["toPort"]; to.IsNumber() && to.NumberValue() != o["fromPort"].NumberValue() {
				port += fmt.Sprintf("-%v", to.NumberValue())
			}
			if o["protocol"].StringValue() == "-1" {
				port = "all"
			}
			rules = append(rules, fmt.Sprintf("%s %s", port, strings.Join(from, ",")))
		}
		return strings.Join(rules, "; ")
	case path == "defaultActions":
		return elementField(v, "type")
	case path == "policy" && typ == "aws:ecr/lifecyclePolicy:LifecyclePolicy":
		var p struct {
			Rules []struct {
				Selection struct{ CountNumber int } `json:"selection"`
			} `json:"rules"`
		}
		if json.Unmarshal([]byte(v.StringValue()), &p) == nil && len(p.Rules) > 0 {
			return fmt.Sprintf("keep newest %d images", p.Rules[0].Selection.CountNumber)
		}
	case path == "policy" || path == "assumeRolePolicy":
		var doc struct {
			Statement []struct {
				Action    []string          `json:"Action"`
				Principal map[string]string `json:"Principal"`
			} `json:"Statement"`
		}
		if json.Unmarshal([]byte(v.StringValue()), &doc) == nil {
			var parts []string
			for _, s := range doc.Statement {
				if svc := s.Principal["Service"]; svc != "" {
					parts = append(parts, "assumed by "+svc)
				} else {
					parts = append(parts, strings.Join(s.Action, ","))
				}
			}
			return strings.Join(parts, "; ")
		}
	case path == "capacityProviderStrategies":
		return elementField(v, "capacityProvider")
	case path == "stepScalingPolicyConfiguration.stepAdjustments":
		// "threshold+0: 1, threshold+20: 2": bounds are offsets from the alarm's threshold
		var steps []string
		for _, e := range v.ArrayValue() {
			o := e.ObjectValue()
			at := "below threshold"
			if l := o["metricIntervalLowerBound"]; l.IsString() {
				at = "threshold+" + l.StringValue()
			} else if u := o["metricIntervalUpperBound"]; u.IsString() && u.StringValue() != "0" {
				at = "below threshold+" + u.StringValue()
			}
			steps = append(steps, fmt.Sprintf("%s: %v", at, o["scalingAdjustment"].NumberValue()))
		}
		return strings.Join(steps, ", ")
	case path == "target.input" && typ == "aws:scheduler/schedule:Schedule":
		var in struct {
			TaskDefinition string
			Overrides      struct{ ContainerOverrides []struct{ Command []string } }
		}
		if json.Unmarshal([]byte(v.StringValue()), &in) == nil && len(in.Overrides.ContainerOverrides) > 0 {
			return fmt.Sprintf("RunTask %s: %s", in.TaskDefinition, strings.Join(in.Overrides.ContainerOverrides[0].Command, " "))
		}
	case path == "subnetSpecs":
		return elementField(v, "type")
	}
	return text(v)
}

// elementField lists one field of each object in an array: "forward,redirect".
func elementField(v resource.PropertyValue, key resource.PropertyKey) string {
	var out []string
	for _, e := range v.ArrayValue() {
		out = append(out, e.ObjectValue()[key].StringValue())
	}
	return strings.Join(out, ",")
}

func values(v resource.PropertyValue) []string {
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		out = append(out, text(e))
	}
	return out
}

func text(v resource.PropertyValue) string {
	switch {
	case v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known):
		return Unknown
	case v.IsSecret():
		return "[secret]"
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)
	case v.IsBool():
		return fmt.Sprint(v.BoolValue())
	case v.IsArray():
		return strings.Join(values(v), ",")
	case v.IsNull():
		// In preview, unknown list elements arrive as nulls.
		return Unknown
	}
	b, _ := json.Marshal(v.Mappable())
	return string(b)
}
