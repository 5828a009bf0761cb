package rules

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"ecs-bluegreen/infra/secrets"
)

// Resource types the rules look at.
const (
	tSG         = "aws:ec2/securityGroup:SecurityGroup"
	tVpcX       = "awsx:ec2:Vpc"
	tVpc        = "aws:ec2/vpc:Vpc"
	tFlowLog    = "aws:ec2/flowLog:FlowLog"
	tLB         = "aws:lb/loadBalancer:LoadBalancer"
	tListener   = "aws:lb/listener:Listener"
	tTaskDef    = "aws:ecs/taskDefinition:TaskDefinition"
	tService    = "aws:ecs/service:Service"
	tRepo       = "aws:ecr/repository:Repository"
	tLifecycle  = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
	tRole       = "aws:iam/role:Role"
	tRolePolicy = "aws:iam/rolePolicy:RolePolicy"
	tPolicy     = "aws:iam/policy:Policy"
	tAttachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	tLogGroup   = "aws:cloudwatch/logGroup:LogGroup"
	tCDGroup    = "aws:codedeploy/deploymentGroup:DeploymentGroup"
	tParam      = "aws:ssm/parameter:Parameter"
)

// Rule is one guardrail: a check of each resource of some types, or of the whole
// stack (references between resources). Covers names the well-known checks it
// implements (AWS Foundational Security Best Practices, checkov).
type Rule struct {
	Name, Description, Covers string
	Types                     []string                                                   // for Resource; nil: every type
	Resource                  func(r Resource) []string                                  // messages
	Stack                     func(rs []Resource, byURN map[string]Resource) []Violation // violations
}

// Rules returns every rule of the pack.
func Rules() []Rule {
	return append([]Rule{
		// network
		{Name: "sg-world-ingress-listener-ports-only", Covers: "FSBP EC2.18, EC2.19; checkov CKV_AWS_24, CKV_AWS_25",
			Description: "Ingress from 0.0.0.0/0 or ::/0 only on the load balancer's listener ports (80, 443).",
			Types:       []string{tSG}, Resource: worldIngress},
		{Name: "task-ingress-from-load-balancer-only", Covers: "—",
			Description: "The tasks' security groups admit traffic only from the load balancer's security groups.",
			Stack:       taskIngress},
		{Name: "test-listener-not-public", Covers: "—",
			Description: "The CodeDeploy test listener (any listener off 80/443) is never open to the internet.",
			Stack:       testListener},
		{Name: "sg-egress-limited", Covers: "checkov CKV_AWS_382",
			Description: "No all-protocol egress to 0.0.0.0/0 or ::/0.",
			Types:       []string{tSG}, Resource: egressLimited},
		{Name: "vpc-flow-logs-prod", Covers: "FSBP EC2.6; checkov CKV2_AWS_11",
			Description: "In prod, every VPC has a flow log of rejected (or all) traffic.",
			Stack:       flowLogs},
		// load balancer
		{Name: "https-only-prod", Covers: "FSBP ELB.1; checkov CKV_AWS_2, CKV2_AWS_20",
			Description: "In prod, listeners serve HTTPS; plain HTTP only redirects to HTTPS.",
			Types:       []string{tListener}, Resource: httpsOnlyProd},
		{Name: "tls-policy-current", Covers: "FSBP ELB.17; checkov CKV_AWS_103",
			Description: "HTTPS listeners use a TLS 1.2+ security policy with forward secrecy and a certificate.",
			Types:       []string{tListener}, Resource: tlsPolicy},
		{Name: "lb-drop-invalid-headers", Covers: "FSBP ELB.4; checkov CKV_AWS_131",
			Description: "Application load balancers drop invalid HTTP header fields.",
			Types:       []string{tLB}, Resource: dropInvalidHeaders},
		{Name: "lb-deletion-protection-prod", Covers: "FSBP ELB.6; checkov CKV_AWS_150",
			Description: "In prod, load balancers have deletion protection.",
			Types:       []string{tLB}, Resource: lbDeletionProtection},
		{Name: "lb-access-logs-prod", Covers: "FSBP ELB.5; checkov CKV_AWS_91",
			Description: "In prod, load balancers write access logs.",
			Types:       []string{tLB}, Resource: lbAccessLogs},
		// tasks
		{Name: "task-awsvpc", Covers: "—", Description: "Task definitions use the awsvpc network mode (their own ENI and security group).",
			Types: []string{tTaskDef}, Resource: awsvpc},
		{Name: "no-privileged-containers", Covers: "FSBP ECS.4", Description: "No container runs privileged.",
			Types: []string{tTaskDef}, Resource: perContainer("runs privileged", func(c map[string]any) bool { p, _ := boolean(c, "privileged"); return !p })},
		{Name: "non-root-user", Covers: "—", Description: "Every container names a non-root user.",
			Types: []string{tTaskDef}, Resource: perContainer("has no non-root user", func(c map[string]any) bool {
				u := strings.TrimSpace(str(c, "user"))
				return u != "" && !slices.Contains([]string{"root", "0", "0:0", "root:root"}, u)
			})},
		{Name: "read-only-root-filesystem", Covers: "FSBP ECS.5; checkov CKV_AWS_336", Description: "Containers run with a read-only root filesystem (writable paths are volumes).",
			Types: []string{tTaskDef}, Resource: perContainer("has a writable root filesystem", func(c map[string]any) bool { ro, _ := boolean(c, "readonlyRootFilesystem"); return ro })},
		{Name: "container-logging", Covers: "FSBP ECS.9", Description: "Every container has a log configuration.",
			Types: []string{tTaskDef}, Resource: perContainer("has no log configuration", func(c map[string]any) bool { return str(c, "logConfiguration", "logDriver") != "" })},
		// A container without ports (a worker, a scheduled job) has nothing to probe:
		// its health check is optional, as its command gives one or not; ECS stops
		// the task when its essential container exits either way.
		{Name: "container-health-check", Covers: "—", Description: "Every container that listens on a port has a health check (a worker's or a job's, without ports, where its command gives one).",
			Types: []string{tTaskDef}, Resource: perContainer("listens on a port and has no health check", func(c map[string]any) bool {
				return len(list(c, "portMappings")) == 0 || len(list(c, "healthCheck", "command")) > 0
			})},
		{Name: "no-plaintext-secrets", Covers: "FSBP ECS.8", Description: "Variables named like *SECRET*, *PASSWORD*, *TOKEN*, *KEY* come through secrets, not the environment.",
			Types: []string{tTaskDef}, Resource: plaintextSecrets},
		{Name: "no-public-ip-prod", Covers: "FSBP ECS.2", Description: "In prod, tasks get no public IP (they run in private subnets behind NAT).",
			Types: []string{tService}, Resource: noPublicIPProd},
		// ECR
		{Name: "ecr-scan-on-push", Covers: "FSBP ECR.1; checkov CKV_AWS_163", Description: "Repositories scan images on push.",
			Types: []string{tRepo}, Resource: func(r Resource) []string {
				if v, ok := boolean(r.Props, "imageScanningConfiguration", "scanOnPush"); !ok || !v {
					return []string{"scan on push is off"}
				}
				return nil
			}},
		{Name: "ecr-immutable-tags", Covers: "FSBP ECR.2; checkov CKV_AWS_51", Description: "Repositories have immutable tags.",
			Types: []string{tRepo}, Resource: func(r Resource) []string {
				if m := str(r.Props, "imageTagMutability"); m != "IMMUTABLE" {
					return []string{fmt.Sprintf("image tags are %q, not IMMUTABLE", m)}
				}
				return nil
			}},
		{Name: "ecr-lifecycle-policy", Covers: "FSBP ECR.3", Description: "Every repository has a lifecycle policy.", Stack: ecrLifecycle},
		// IAM
		{Name: "iam-no-wildcards", Covers: "FSBP IAM.1, IAM.21; checkov CKV_AWS_62, CKV_AWS_63, CKV_AWS_290, CKV_AWS_355",
			Description: "No `*` action; `*` resource only for actions without resource-level permissions: " + strings.Join(noResourceLevel, ", ") + ", and read actions (" + strings.Join(readPrefixes, ", ") + ") of the stack's services. A permissions boundary (a managed policy under /ci/) grants nothing and is exempt.",
			Types:       []string{tRolePolicy, tPolicy, tRole}, Resource: iamWildcards},
		{Name: "roles-bounded", Covers: "—",
			Description: "With a permissions boundary (a managed policy under /ci/, which the bootstrap workstation creates with the CI roles), every role but the CI roles carries it, and it is attached to none as a permissions policy.",
			Stack:       rolesBounded},
		{Name: "execution-role-scoped", Covers: "—",
			Description: "A task's execution role may pull only the stack's repositories, write only the task's log groups, and read exactly the secrets its containers reference.",
			Stack:       executionRole},
		{Name: "codedeploy-role-limited", Covers: "—",
			Description: "CodeDeploy's service role has AWSCodeDeployRoleForECSLimited, an inline iam:PassRole of exactly the task's execution and task roles to ecs-tasks.amazonaws.com, and at most an inline invoke of explicitly named hook functions.",
			Stack:       codeDeployRole},
		// logs
		{Name: "log-retention", Covers: "checkov CKV_AWS_66 (FSBP CloudWatch.16 asks for a year; dev keeps 7 days)", Description: "Every log group has a retention period.",
			Types: []string{tLogGroup}, Resource: func(r Resource) []string {
				if d, ok := num(r.Props, "retentionInDays"); !ok || d <= 0 {
					return []string{"log group keeps logs forever (no retentionInDays)"}
				}
				return nil
			}},
		// CodeDeploy
		{Name: "codedeploy-blue-green", Covers: "—", Description: "Deployment groups are BLUE_GREEN with traffic control.",
			Types: []string{tCDGroup}, Resource: func(r Resource) []string {
				if t, o := str(r.Props, "deploymentStyle", "deploymentType"), str(r.Props, "deploymentStyle", "deploymentOption"); t != "BLUE_GREEN" || o != "WITH_TRAFFIC_CONTROL" {
					return []string{fmt.Sprintf("deployment style %s/%s, want BLUE_GREEN/WITH_TRAFFIC_CONTROL", t, o)}
				}
				return nil
			}},
		{Name: "codedeploy-auto-rollback", Covers: "—", Description: "Deployment groups roll back on failure, on alarm and on a stop request.",
			Types: []string{tCDGroup}, Resource: autoRollback},
		{Name: "codedeploy-alarms", Covers: "—", Description: "Deployment groups watch at least one alarm.",
			Types: []string{tCDGroup}, Resource: func(r Resource) []string {
				if e, _ := boolean(r.Props, "alarmConfiguration", "enabled"); !e || len(list(r.Props, "alarmConfiguration", "alarms")) == 0 {
					return []string{"no alarm stops and rolls back a deployment"}
				}
				return nil
			}},
		// ECS service
		{Name: "code-deploy-ignore-changes", Covers: "—",
			Description: "An ECS service with the CODE_DEPLOY controller ignores what only CodeDeploy may change, and the listeners CodeDeploy shifts ignore their default actions.",
			Stack:       codeDeployIgnores},
		// tags
		{Name: "required-tags", Covers: "FSBP ECS.13 (tagging)", Description: "Every taggable resource carries the stack's tags: " + strings.Join(requiredTags, ", ") + ".",
			Types: taggable, Resource: requiredTagsRule},
	}, jobRules()...)
}

// Check runs every rule over a stack's resources.
func Check(rs []Resource) []Violation {
	byURN := map[string]Resource{}
	for _, r := range rs {
		byURN[r.URN] = r
	}
	var out []Violation
	for _, rule := range Rules() {
		if rule.Stack != nil {
			for _, v := range rule.Stack(rs, byURN) {
				v.Rule = rule.Name
				out = append(out, v)
			}
			continue
		}
		for _, r := range rs {
			if rule.Types != nil && !slices.Contains(rule.Types, r.Type) {
				continue
			}
			for _, m := range rule.Resource(r) {
				out = append(out, Violation{Rule: rule.Name, URN: r.URN, Message: m})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out
}

var worldCIDRs = []string{"0.0.0.0/0", "::/0"}

func world(rule any) bool {
	for _, c := range append(strs(rule, "cidrBlocks"), strs(rule, "ipv6CidrBlocks")...) {
		if slices.Contains(worldCIDRs, c) {
			return true
		}
	}
	return false
}

func ports(rule any) (from, to float64) {
	from, _ = num(rule, "fromPort")
	to, _ = num(rule, "toPort")
	return from, to
}

func worldIngress(r Resource) []string {
	var out []string
	for _, rule := range list(r.Props, "ingress") {
		from, to := ports(rule)
		if world(rule) && (str(rule, "protocol") == "-1" || from != to || (from != 80 && from != 443)) {
			out = append(out, fmt.Sprintf("ingress from the internet on %s %s: only the load balancer's listener ports 80 and 443 may be", str(rule, "protocol"), joinPorts(from, to)))
		}
	}
	return out
}

func egressLimited(r Resource) []string {
	var out []string
	for _, rule := range list(r.Props, "egress") {
		if p := str(rule, "protocol"); (p == "-1" || p == "all") && world(rule) {
			out = append(out, "egress of every protocol to the internet: allow the ports the workload needs")
		}
	}
	return out
}

// taskSecurityGroups are the security groups the ECS services put their tasks in.
func taskSecurityGroups(rs []Resource, byURN map[string]Resource) []Resource {
	var out []Resource
	for _, svc := range rs {
		if svc.Type == tService {
			out = append(out, deps(svc, "networkConfiguration", tSG, byURN)...)
		}
	}
	return out
}

func taskIngress(rs []Resource, byURN map[string]Resource) []Violation {
	lbGroups := map[string]bool{}
	for _, lb := range rs {
		if lb.Type == tLB {
			for _, sg := range deps(lb, "securityGroups", tSG, byURN) {
				lbGroups[sg.URN] = true
			}
		}
	}
	var out []Violation
	for _, sg := range taskSecurityGroups(rs, byURN) {
		for _, rule := range list(sg.Props, "ingress") {
			if len(strs(rule, "cidrBlocks"))+len(strs(rule, "ipv6CidrBlocks"))+len(strs(rule, "prefixListIds")) > 0 || len(strs(rule, "securityGroups")) == 0 {
				out = append(out, Violation{URN: sg.URN, Message: "task ingress from addresses: tasks admit only the load balancer's security group"})
			}
		}
		for _, ref := range sg.PropertyDependencies["ingress"] {
			if !lbGroups[ref] {
				out = append(out, Violation{URN: sg.URN, Message: fmt.Sprintf("task ingress from %s, which is not a load balancer's security group", ref)})
			}
		}
	}
	return out
}

func testListener(rs []Resource, byURN map[string]Resource) []Violation {
	var out []Violation
	for _, l := range rs {
		port, ok := num(l.Props, "port")
		if l.Type != tListener || !ok || port == 80 || port == 443 {
			continue
		}
		for _, lb := range deps(l, "loadBalancerArn", tLB, byURN) {
			for _, sg := range deps(lb, "securityGroups", tSG, byURN) {
				for _, rule := range list(sg.Props, "ingress") {
					if from, to := ports(rule); world(rule) && from <= port && port <= to {
						out = append(out, Violation{URN: l.URN, Message: fmt.Sprintf("test listener on port %v is open to the internet through %s", port, sg.Name)})
					}
				}
			}
		}
	}
	return out
}

func flowLogs(rs []Resource, byURN map[string]Resource) []Violation {
	logged := map[string]bool{}
	for _, fl := range rs {
		if t := str(fl.Props, "trafficType"); fl.Type == tFlowLog && (t == "REJECT" || t == "ALL") {
			for _, urn := range fl.PropertyDependencies["vpcId"] {
				logged[urn] = true
			}
		}
	}
	var out []Violation
	for _, v := range rs {
		if (v.Type == tVpcX || v.Type == tVpc) && v.prod() && !logged[v.URN] {
			out = append(out, Violation{URN: v.URN, Message: "prod VPC without a flow log of rejected traffic"})
		}
	}
	return out
}

func httpsOnlyProd(r Resource) []string {
	if !r.prod() || str(r.Props, "protocol") == "HTTPS" {
		return nil
	}
	for _, a := range list(r.Props, "defaultActions") {
		if str(a, "type") != "redirect" || str(a, "redirect", "protocol") != "HTTPS" {
			return []string{fmt.Sprintf("prod listener on port %v serves %s: use HTTPS, or redirect to it", get(r.Props, "port"), str(r.Props, "protocol"))}
		}
	}
	return nil
}

// CurrentTLSPolicies are the ELB security policies with TLS 1.2 or 1.3 only and
// forward secrecy.
var CurrentTLSPolicies = []string{
	"ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04", "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04", "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
}

func tlsPolicy(r Resource) []string {
	if str(r.Props, "protocol") != "HTTPS" {
		return nil
	}
	var out []string
	if p := str(r.Props, "sslPolicy"); !slices.Contains(CurrentTLSPolicies, p) {
		out = append(out, fmt.Sprintf("TLS policy %q is not current (want one of %s)", p, strings.Join(CurrentTLSPolicies, ", ")))
	}
	if c := r.Props["certificateArn"]; c == nil || c == "" {
		out = append(out, "HTTPS listener without a certificate")
	}
	return out
}

func dropInvalidHeaders(r Resource) []string {
	if v, _ := boolean(r.Props, "dropInvalidHeaderFields"); !v && str(r.Props, "loadBalancerType") != "network" {
		return []string{"invalid HTTP header fields are passed to the targets (dropInvalidHeaderFields is off)"}
	}
	return nil
}

func lbDeletionProtection(r Resource) []string {
	if v, _ := boolean(r.Props, "enableDeletionProtection"); r.prod() && !v {
		return []string{"prod load balancer without deletion protection"}
	}
	return nil
}

func lbAccessLogs(r Resource) []string {
	if v, _ := boolean(r.Props, "accessLogs", "enabled"); r.prod() && (!v || get(r.Props, "accessLogs", "bucket") == nil) {
		return []string{"prod load balancer without access logs"}
	}
	return nil
}

func awsvpc(r Resource) []string {
	if m := str(r.Props, "networkMode"); m != "awsvpc" {
		return []string{fmt.Sprintf("network mode %q, want awsvpc", m)}
	}
	return nil
}

// perContainer checks each container of a task definition.
func perContainer(what string, ok func(map[string]any) bool) func(Resource) []string {
	return func(r Resource) []string {
		defs, known := containers(r)
		if !known {
			return nil
		}
		var out []string
		for _, c := range defs {
			if !ok(c) {
				out = append(out, fmt.Sprintf("container %s %s", str(c, "name"), what))
			}
		}
		return out
	}
}

func plaintextSecrets(r Resource) []string {
	defs, known := containers(r)
	if !known {
		return nil
	}
	var out []string
	for _, c := range defs {
		for _, e := range list(c, "environment") {
			if n := str(e, "name"); secrets.LikeSecretName(n) {
				out = append(out, fmt.Sprintf("container %s has %s in plain text: pass it through secrets", str(c, "name"), n))
			}
		}
	}
	return out
}

func noPublicIPProd(r Resource) []string {
	if v, _ := boolean(r.Props, "networkConfiguration", "assignPublicIp"); r.prod() && v {
		return []string{"prod tasks get public IPs"}
	}
	return nil
}

func ecrLifecycle(rs []Resource, byURN map[string]Resource) []Violation {
	covered := map[string]bool{}
	for _, p := range rs {
		if p.Type == tLifecycle {
			for _, urn := range p.PropertyDependencies["repository"] {
				covered[urn] = true
			}
		}
	}
	var out []Violation
	for _, r := range rs {
		if r.Type == tRepo && !covered[r.URN] {
			out = append(out, Violation{URN: r.URN, Message: "repository without a lifecycle policy: images pile up"})
		}
	}
	return out
}

// noResourceLevel are actions AWS offers no resource-level permissions for, so
// their statements name Resource "*".
var noResourceLevel = []string{
	"ssm:DescribeParameters", "ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition",
	"acm:RequestCertificate", "sts:GetCallerIdentity", "iam:ListRoles", "iam:GetPolicy", "iam:GetPolicyVersion",
	"iam:CreateServiceLinkedRole", "codedeploy:StopDeployment",
}

// readPrefixes are read actions; for the stack's services most have no
// resource-level permissions (ec2:Describe*, elasticloadbalancing:Describe*, …).
var readPrefixes = []string{"Describe*", "List*", "Get*"}

func allowedOnAnyResource(action string) bool {
	if slices.Contains(noResourceLevel, action) {
		return true
	}
	_, name, _ := strings.Cut(action, ":")
	read := false
	for _, p := range readPrefixes {
		read = read || strings.HasPrefix(name, strings.TrimSuffix(p, "*"))
	}
	return read && !strings.HasPrefix(action, "iam:") && !strings.HasPrefix(action, "secretsmanager:") &&
		!strings.HasPrefix(action, "ssm:") && !strings.HasPrefix(action, "s3:") && !strings.HasPrefix(action, "kms:")
}

// boundaryPath is where the program keeps its permissions boundaries, beside the
// CI roles: what lives there changes from the bootstrap workstation only.
const boundaryPath = "/ci/"

func isBoundary(r Resource) bool { return r.Type == tPolicy && str(r.Props, "path") == boundaryPath }

func iamWildcards(r Resource) []string {
	if isBoundary(r) {
		return nil // a boundary caps, it grants nothing (rolesBounded keeps it so)
	}
	var docs []any
	switch r.Type {
	case tRole:
		for _, p := range list(r.Props, "inlinePolicies") {
			docs = append(docs, get(p, "policy"))
		}
	default:
		docs = append(docs, r.Props["policy"])
	}
	var out []string
	for _, d := range docs {
		statements, ok := policyDoc(d)
		if !ok {
			continue
		}
		for _, s := range statements {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range s.Action {
				if a == "*" || a == "*:*" || a == "iam:*" || a == "sts:*" {
					out = append(out, fmt.Sprintf("statement %q allows %s", s.Sid, a))
				}
			}
			if slices.Contains(s.Resource, "*") {
				for _, a := range s.Action {
					if !allowedOnAnyResource(a) {
						out = append(out, fmt.Sprintf("statement %q allows %s on every resource (*)", s.Sid, a))
					}
				}
			}
		}
	}
	return out
}

// rolesBounded: every role outside /ci/ names the stack's boundary, and no
// attachment makes the boundary a permissions policy.
func rolesBounded(rs []Resource, byURN map[string]Resource) []Violation {
	var boundaries []Resource
	for _, r := range rs {
		if isBoundary(r) {
			boundaries = append(boundaries, r)
		}
	}
	if len(boundaries) == 0 {
		return nil
	}
	var out []Violation
	if len(boundaries) > 1 {
		out = append(out, Violation{URN: boundaries[1].URN, Message: fmt.Sprintf("%d permissions boundaries under %s; the stack has one", len(boundaries), boundaryPath)})
	}
	b := boundaries[0]
	names := func(r Resource, prop string) bool {
		if slices.Contains(r.PropertyDependencies[prop], b.URN) {
			return true
		}
		arn := str(b.Props, "arn")
		return arn != "" && str(r.Props, prop) == arn
	}
	for _, r := range rs {
		switch {
		case r.Type == tRole && str(r.Props, "path") != boundaryPath && !names(r, "permissionsBoundary"):
			out = append(out, Violation{URN: r.URN, Message: fmt.Sprintf("role %s does not carry the stack's permissions boundary %s: a deploy role could give it any permission", r.Name, b.Name)})
		case r.Type == tAttachment && names(r, "policyArn"):
			out = append(out, Violation{URN: r.URN, Message: fmt.Sprintf("attaches the permissions boundary %s as a permissions policy: it allows *", b.Name)})
		}
	}
	return out
}

// rolePolicies returns the inline policies and managed attachments of a role.
func rolePolicies(role Resource, rs []Resource) (inline, attached []Resource) {
	for _, p := range rs {
		if !slices.Contains(p.PropertyDependencies["role"], role.URN) {
			continue
		}
		switch p.Type {
		case tRolePolicy:
			inline = append(inline, p)
		case tAttachment:
			attached = append(attached, p)
		}
	}
	return inline, attached
}

var executionActions = []string{
	"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
	"logs:CreateLogStream", "logs:PutLogEvents", "ssm:GetParameters", "secretsmanager:GetSecretValue", "kms:Decrypt",
}

func executionRole(rs []Resource, byURN map[string]Resource) []Violation {
	repoARNs := map[string]bool{}
	logGroupARNs := map[string]string{} // name -> ARN
	for _, r := range rs {
		switch r.Type {
		case tRepo:
			repoARNs[str(r.Props, "arn")] = true
		case tLogGroup:
			logGroupARNs[str(r.Props, "name")] = str(r.Props, "arn")
		}
	}
	var out []Violation
	for _, td := range rs {
		defs, known := containers(td)
		if td.Type != tTaskDef || !known {
			continue
		}
		wantSecrets, wantLogs := map[string]bool{}, map[string]bool{}
		for _, c := range defs {
			for _, s := range list(c, "secrets") {
				wantSecrets[secrets.ResourceARN(str(s, "valueFrom"))] = true
			}
			if arn := logGroupARNs[str(c, "logConfiguration", "options", "awslogs-group")]; arn != "" {
				wantLogs[arn], wantLogs[arn+":*"] = true, true
			}
		}
		for _, role := range deps(td, "executionRoleArn", tRole, byURN) {
			inline, attached := rolePolicies(role, rs)
			for _, a := range attached {
				out = append(out, Violation{URN: a.URN, Message: fmt.Sprintf("execution role %s has the managed policy %s: grant exactly the stack's images, logs and secrets inline", role.Name, str(a.Props, "policyArn"))})
			}
			granted := map[string]bool{}
			for _, p := range inline {
				statements, ok := policyDoc(p.Props["policy"])
				if !ok {
					continue
				}
				for _, s := range statements {
					for _, a := range s.Action {
						if !slices.Contains(executionActions, a) {
							out = append(out, Violation{URN: p.URN, Message: fmt.Sprintf("execution role may %s, which pulling, logging and reading secrets do not need", a)})
						}
					}
					for _, res := range s.Resource {
						switch {
						case slices.Contains(s.Action, "ecr:BatchGetImage") && !repoARNs[res]:
							out = append(out, Violation{URN: p.URN, Message: fmt.Sprintf("execution role may pull from %s, not one of the stack's repositories", res)})
						case slices.Contains(s.Action, "logs:PutLogEvents") && !wantLogs[res]:
							out = append(out, Violation{URN: p.URN, Message: fmt.Sprintf("execution role may write logs to %s, not the task's log group", res)})
						case slices.Contains(s.Action, "ssm:GetParameters") || slices.Contains(s.Action, "secretsmanager:GetSecretValue"):
							granted[res] = true
							if !wantSecrets[res] {
								out = append(out, Violation{URN: p.URN, Message: fmt.Sprintf("execution role may read %s, which no container references", res)})
							}
						}
					}
				}
			}
			for _, s := range slices.Sorted(maps.Keys(wantSecrets)) {
				if !granted[s] {
					out = append(out, Violation{URN: td.URN, Message: fmt.Sprintf("a container references %s, which the execution role %s may not read", s, role.Name)})
				}
			}
		}
	}
	return out
}

var lambdaFunctionARN = regexp.MustCompile(`^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$`)

// passRoleTo reads a statement that lets a role pass roles to one service:
// iam:PassRole with iam:PassedToService as StringEquals (or StringLike) of exactly it.
func passRoleTo(s statement, service string) bool {
	if !slices.Equal(s.Action, []string{"iam:PassRole"}) {
		return false
	}
	for _, op := range []string{"StringEquals", "StringLike"} {
		if vals := oneOrMany(get(s.Condition, op, "iam:PassedToService")); slices.Equal(vals, []string{service}) {
			return true
		}
	}
	return false
}

// taskRoles are the execution and task roles of the task definitions of the ECS
// services a deployment group deploys.
func taskRoles(dg Resource, byURN map[string]Resource) map[string]bool {
	out := map[string]bool{}
	for _, svc := range deps(dg, "ecsService", tService, byURN) {
		for _, td := range deps(svc, "taskDefinition", tTaskDef, byURN) {
			for _, k := range []string{"executionRoleArn", "taskRoleArn"} {
				if arn := str(td.Props, k); arn != "" {
					out[arn] = true
				}
			}
		}
	}
	return out
}

func codeDeployRole(rs []Resource, byURN map[string]Resource) []Violation {
	var out []Violation
	for _, dg := range rs {
		if dg.Type != tCDGroup {
			continue
		}
		want := taskRoles(dg, byURN)
		for _, role := range deps(dg, "serviceRoleArn", tRole, byURN) {
			inline, attached := rolePolicies(role, rs)
			limited := false
			for _, a := range attached {
				if strings.HasSuffix(str(a.Props, "policyArn"), ":policy/AWSCodeDeployRoleForECSLimited") {
					limited = true
				} else {
					out = append(out, Violation{URN: a.URN, Message: fmt.Sprintf("CodeDeploy role %s has %s: use AWSCodeDeployRoleForECSLimited", role.Name, str(a.Props, "policyArn"))})
				}
			}
			if !limited {
				out = append(out, Violation{URN: role.URN, Message: "CodeDeploy role without AWSCodeDeployRoleForECSLimited"})
			}
			passed, known := map[string]bool{}, true
			for _, p := range inline {
				statements, ok := policyDoc(p.Props["policy"])
				if !ok {
					known = false
					continue
				}
				for _, s := range statements {
					switch {
					case passRoleTo(s, "ecs-tasks.amazonaws.com"):
						for _, res := range s.Resource {
							if !want[res] {
								out = append(out, Violation{URN: p.URN, Message: fmt.Sprintf("CodeDeploy role may pass %s, which is not an execution or task role of the service it deploys", res)})
							}
							passed[res] = true
						}
					case slices.Equal(s.Action, []string{"lambda:InvokeFunction"}):
						for _, res := range s.Resource {
							if !lambdaFunctionARN.MatchString(res) {
								out = append(out, Violation{URN: p.URN, Message: fmt.Sprintf("CodeDeploy role may invoke %s: name each hook function", res)})
							}
						}
					default:
						out = append(out, Violation{URN: p.URN, Message: fmt.Sprintf("CodeDeploy role's inline policy allows %v: only iam:PassRole of the task's roles to ecs-tasks.amazonaws.com and lambda:InvokeFunction of the hooks", s.Action)})
					}
				}
			}
			// AWSCodeDeployRoleForECSLimited passes only roles named ecsTaskExecutionRole
			// or ECSTaskExecution*: from the second deployment on, CreateTaskSet fails
			// without these (pitfall 21).
			for _, arn := range slices.Sorted(maps.Keys(want)) {
				if known && !passed[arn] {
					out = append(out, Violation{URN: role.URN, Message: fmt.Sprintf("CodeDeploy role %s cannot pass %s to ECS: add an inline iam:PassRole of the task's execution and task roles with iam:PassedToService ecs-tasks.amazonaws.com", role.Name, arn)})
				}
			}
		}
	}
	return out
}

var rollbackEvents = []string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"}

func autoRollback(r Resource) []string {
	enabled, _ := boolean(r.Props, "autoRollbackConfiguration", "enabled")
	events := strs(r.Props, "autoRollbackConfiguration", "events")
	var missing []string
	for _, e := range rollbackEvents {
		if !slices.Contains(events, e) {
			missing = append(missing, e)
		}
	}
	if !enabled || len(missing) > 0 {
		return []string{fmt.Sprintf("automatic rollback off or missing %v", missing)}
	}
	return nil
}

// CodeDeployIgnored are the ECS service inputs CodeDeploy owns.
var CodeDeployIgnored = []string{"taskDefinition", "loadBalancers", "networkConfiguration", "capacityProviderStrategies"}

func codeDeployIgnores(rs []Resource, byURN map[string]Resource) []Violation {
	var out []Violation
	for _, svc := range rs {
		if svc.Type != tService || str(svc.Props, "deploymentController", "type") != "CODE_DEPLOY" {
			continue
		}
		for _, k := range CodeDeployIgnored {
			if !slices.Contains(svc.IgnoreChanges, k) {
				out = append(out, Violation{URN: svc.URN, Message: fmt.Sprintf("CODE_DEPLOY service does not ignore changes to %s: Pulumi would fight CodeDeploy over it", k)})
			}
		}
	}
	for _, dg := range rs {
		if dg.Type != tCDGroup {
			continue
		}
		for _, l := range deps(dg, "loadBalancerInfo", tListener, byURN) {
			if !slices.Contains(l.IgnoreChanges, "defaultActions") {
				out = append(out, Violation{URN: l.URN, Message: "listener CodeDeploy shifts does not ignore changes to defaultActions: the next `pulumi up` would undo a traffic shift"})
			}
		}
	}
	return out
}

// requiredTags are the tags the program puts on every taggable resource.
var requiredTags = []string{"app", "environment", "stack"}

// taggable are the resource types of this program that take tags.
var taggable = []string{
	tSG, tFlowLog, tLB, "aws:lb/targetGroup:TargetGroup", tListener, tTaskDef, tService, "aws:ecs/cluster:Cluster",
	tRepo, tRole, tLogGroup, "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:codedeploy/application:Application", tCDGroup,
	tParam, "aws:acm/certificate:Certificate", "aws:s3/bucketV2:BucketV2", "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
	tQueue, "aws:scheduler/scheduleGroup:ScheduleGroup", "aws:cloudwatch/eventRule:EventRule",
}

func requiredTagsRule(r Resource) []string {
	if unknown(r.Props["tags"]) {
		return nil
	}
	var missing []string
	for _, k := range requiredTags {
		if r.tag(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return []string{fmt.Sprintf("missing tags %v", missing)}
	}
	return nil
}
