package infra

import (
	"encoding/json"
	"fmt"
)

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
	// NotResource, for a Deny of everything but these.
	NotResource []string `json:"NotResource,omitempty"`
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

// passRoleStatement lets a role pass exactly these roles, to exactly one service.
func passRoleStatement(sid string, roles []string, service string) policyStatement {
	return policyStatement{Sid: sid, Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: roles,
		Condition: map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {service}}}}
}

// maxRoleNamePrefix is the longest name prefix IAM's 64-character role names leave
// room for: the provider appends a 26-character unique id.
const maxRoleNamePrefix = 38

// longestRole is the longest role suffix of roleNamePrefix the program uses.
const longestRole = "codedeploy"

// roleNamePrefix names a stack's role <name>-<stack>-<role>-…, so a policy can
// scope the stack's roles by name (role/<name>-<stack>-*) apart from another
// stack's in the same account.
func roleNamePrefix(name, stack, role string) (string, error) {
	p := fmt.Sprintf("%s-%s-%s-", name, stack, role)
	if len(p) > maxRoleNamePrefix {
		return "", fmt.Errorf("role name prefix %q is %d characters; IAM allows %d before the unique suffix: use a shorter name or stack name (name %q, stack %q)", p, len(p), maxRoleNamePrefix, name, stack)
	}
	return p, nil
}
