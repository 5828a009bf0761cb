package rollout

import (
	"encoding/json"
	"fmt"
)

// AppSpec is the CodeDeploy application specification for an ECS deployment,
// marshalled as JSON (CodeDeploy accepts JSON or YAML).
type AppSpec struct {
	Version   json.Number         `json:"version"`
	Resources []map[string]Target `json:"Resources"`
	Hooks     []map[string]string `json:"Hooks,omitempty"`
}

// Target is the AppSpec's TargetService entry.
type Target struct {
	Type       string           `json:"Type"`
	Properties TargetProperties `json:"Properties"`
}

// TargetProperties say what the replacement task set runs and where.
type TargetProperties struct {
	TaskDefinition           string                 `json:"TaskDefinition"`
	LoadBalancerInfo         LoadBalancerInfo       `json:"LoadBalancerInfo"`
	PlatformVersion          string                 `json:"PlatformVersion,omitempty"`
	NetworkConfiguration     *NetworkConfiguration  `json:"NetworkConfiguration,omitempty"`
	CapacityProviderStrategy []CapacityProviderItem `json:"CapacityProviderStrategy,omitempty"`
}

// LoadBalancerInfo must match the service's load balancer entry (nginx and its port).
type LoadBalancerInfo struct {
	ContainerName string `json:"ContainerName"`
	ContainerPort int    `json:"ContainerPort"`
}

type NetworkConfiguration struct {
	AwsvpcConfiguration AwsvpcConfiguration `json:"AwsvpcConfiguration"`
}

type AwsvpcConfiguration struct {
	Subnets        []string `json:"Subnets"`
	SecurityGroups []string `json:"SecurityGroups"`
	AssignPublicIp string   `json:"AssignPublicIp"`
}

type CapacityProviderItem struct {
	CapacityProvider string `json:"CapacityProvider"`
	Weight           int    `json:"Weight"`
	Base             int    `json:"Base"`
}

// HookEvents are the lifecycle events of an ECS deployment that can run a Lambda.
var HookEvents = []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}

// appSpec builds the AppSpec of a request.
func appSpec(r Request) (string, error) {
	assign := "DISABLED"
	if r.AssignPublicIP {
		assign = "ENABLED"
	}
	props := TargetProperties{
		TaskDefinition:   r.TaskDefinition,
		LoadBalancerInfo: LoadBalancerInfo{ContainerName: r.ContainerName, ContainerPort: r.ContainerPort},
		PlatformVersion:  r.PlatformVersion,
		NetworkConfiguration: &NetworkConfiguration{AwsvpcConfiguration{
			Subnets: r.Subnets, SecurityGroups: r.SecurityGroups, AssignPublicIp: assign,
		}},
	}
	if r.CapacityProvider != "" {
		props.CapacityProviderStrategy = []CapacityProviderItem{{CapacityProvider: r.CapacityProvider, Weight: 1}}
	}
	spec := AppSpec{
		Version:   "0.0",
		Resources: []map[string]Target{{"TargetService": {Type: "AWS::ECS::Service", Properties: props}}},
	}
	for _, event := range HookEvents {
		if fn, ok := r.Hooks[event]; ok {
			spec.Hooks = append(spec.Hooks, map[string]string{event: fn})
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("failed to marshal AppSpec: %w", err)
	}
	return string(b), nil
}

// appSpecTaskDefinition reads the task definition back from an AppSpec this package
// wrote; "" when the content is not such an AppSpec (another tool's YAML, say).
func appSpecTaskDefinition(content string) string {
	var spec AppSpec
	if json.Unmarshal([]byte(content), &spec) != nil {
		return ""
	}
	for _, res := range spec.Resources {
		if t, ok := res["TargetService"]; ok {
			return t.Properties.TaskDefinition
		}
	}
	return ""
}
