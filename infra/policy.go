package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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

// serviceRole is a stack's role that an AWS service principal assumes, named
// <name>-<stack>-<role>-… and bounded by the stack's permissions boundary.
func serviceRole(ctx *pulumi.Context, name, role, service string, boundary *Boundary, tags pulumi.StringMap, opts ...pulumi.ResourceOption) (*iam.Role, error) {
	prefix, err := roleNamePrefix(name, ctx.Stack(), role)
	if err != nil {
		return nil, err
	}
	r, err := iam.NewRole(ctx, name+"-"+role, &iam.RoleArgs{
		NamePrefix:          pulumi.String(prefix),
		AssumeRolePolicy:    pulumi.String(assumeRolePolicy(service)),
		PermissionsBoundary: boundary.ARN(),
		Tags:                tags,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the %s role: %w", role, err)
	}
	return r, nil
}

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
