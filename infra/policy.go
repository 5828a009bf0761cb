package infra

import "encoding/json"

// policyDocument is an IAM policy, marshalled with encoding/json.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string            `json:"Sid,omitempty"`
	Effect    string            `json:"Effect"`
	Principal map[string]string `json:"Principal,omitempty"`
	Action    []string          `json:"Action"`
	Resource  []string          `json:"Resource,omitempty"`
	// Condition is operator -> key -> values.
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// policy is an IAM policy document of the current language version.
func policy(statements ...policyStatement) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: statements}
}

func (d policyDocument) JSON() (string, error) {
	b, err := json.Marshal(d)
	return string(b), err
}

// assumeRolePolicy lets one AWS service principal (ecs-tasks.amazonaws.com, …) assume a role.
func assumeRolePolicy(service string) string {
	s, _ := policy(policyStatement{
		Effect: "Allow", Principal: map[string]string{"Service": service}, Action: []string{"sts:AssumeRole"},
	}).JSON()
	return s
}
