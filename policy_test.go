package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ecs-bluegreen/infra/offline"
	"ecs-bluegreen/infra/secrets"
	"ecs-bluegreen/policy/rules"
)

// analyzed is a stack's graph as the policy pack sees it after `pulumi up`:
// each resource's final properties, options and references.
func analyzed(t *testing.T, stack string, overrides map[string]string) []rules.Resource {
	t.Helper()
	var out []rules.Resource
	for _, r := range runStack(t, stack, overrides).rs {
		out = append(out, rules.Resource{
			Type: r.Type, URN: r.URN, Name: r.Name, Props: rules.Plain(r.Outputs),
			IgnoreChanges: r.IgnoreChanges, Protect: r.Protect, PropertyDependencies: r.PropertyDependencies,
		})
	}
	return out
}

// The stacks the pack must pass: both as committed, and with every optional part on.
var policyStacks = []struct {
	name, stack string
	overrides   map[string]string
}{
	{"dev", "dev", nil},
	{"prod", "prod", nil},
	{"dev with everything", "dev", map[string]string{
		"ciRepository": "acme/shop", "ciStateBucket": "acme-state",
		"rolloutHooks":      `{"AfterAllowTestTraffic": "arn:aws:lambda:ap-northeast-2:123456789012:function:smoke"}`,
		"appSecrets":        `{"DB_PASSWORD": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:db:password::", "API_TOKEN": "arn:aws:ssm:ap-northeast-2:123456789012:parameter/web/token"}`,
		"secretsKmsKeyArns": `["arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]`,
		"certificateArn":    "arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5c4f4e-1111-2222-3333-444455556666",
	}},
	{"prod with a certificate ARN and CI", "prod", map[string]string{
		"domainName": "", "hostedZoneId": "", "ciRepository": "acme/shop",
		"certificateArn": "arn:aws:acm:ap-northeast-2:123456789012:certificate/0b5c4f4e-1111-2222-3333-444455556666",
	}},
	// Workers (a health-checked Spot one on its queue's backlog, one on CPU without
	// a health check), schedules and queues: the pack applies to them by type.
	{"dev with workers and schedules", "dev", withConfig(permOverrides,
		"workers", `{"worker": {"command": ["python", "manage.py", "worker"], "minCount": 0, "maxCount": 3, "queue": "jobs", "spot": true, "healthCheck": ["CMD-SHELL", "python manage.py worker --check"]},`+
			` "indexer": {"command": ["python", "manage.py", "index"], "minCount": 1, "maxCount": 2}}`)},
	{"prod with workers and schedules", "prod", permOverrides},
}

// TestPolicyPackPasses runs every rule over every resource of the graphs.
func TestPolicyPackPasses(t *testing.T) {
	if n := len(rules.Rules()); n < 20 {
		t.Errorf("%d rules, want at least 20", n)
	}
	for _, s := range policyStacks {
		t.Run(s.name, func(t *testing.T) {
			rs := analyzed(t, s.stack, s.overrides)
			for _, v := range rules.Check(rs) {
				t.Errorf("%s: %s: %s", v.Rule, v.URN, v.Message)
			}
		})
	}
}

// TestPolicyPack: the pack Pulumi loads holds every rule, once, mandatory.
func TestPolicyPack(t *testing.T) {
	pack, err := rules.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pack.Policies() {
		names = append(names, p.Name())
		if p.EnforcementLevel() != 1 { // mandatory
			t.Errorf("%s: enforcement level %v", p.Name(), p.EnforcementLevel())
		}
	}
	if len(names) != len(rules.Rules()) || len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("pack policies %v do not match the rules one to one", names)
	}
}

// mutate edits a copy of one resource (matched by type and logical name) of a graph.
func mutate(t *testing.T, rs []rules.Resource, typ, name string, edit func(r *rules.Resource)) []rules.Resource {
	t.Helper()
	out := make([]rules.Resource, len(rs))
	found := false
	for i, r := range rs {
		out[i] = r
		if r.Type == typ && r.Name == name {
			data, _ := json.Marshal(r.Props)
			var props map[string]any
			json.Unmarshal(data, &props)
			out[i].Props = props
			out[i].IgnoreChanges = slices.Clone(r.IgnoreChanges)
			edit(&out[i])
			found = true
		}
	}
	if !found {
		t.Fatalf("no %s %s", typ, name)
	}
	return out
}

func without(rs []rules.Resource, typ, name string) []rules.Resource {
	return slices.DeleteFunc(slices.Clone(rs), func(r rules.Resource) bool { return r.Type == typ && r.Name == name })
}

// editContainers changes a task definition's container definitions.
func editContainers(edit func(defs []map[string]any)) func(r *rules.Resource) {
	return func(r *rules.Resource) {
		var defs []map[string]any
		json.Unmarshal([]byte(r.Props["containerDefinitions"].(string)), &defs)
		edit(defs)
		data, _ := json.Marshal(defs)
		r.Props["containerDefinitions"] = string(data)
	}
}

func setPolicy(doc string) func(r *rules.Resource) {
	return func(r *rules.Resource) { r.Props["policy"] = doc }
}

// TestEveryRuleCanFail breaks each rule on an otherwise passing graph (both pass
// every rule, TestPolicyPackPasses) and checks that the rule reports it, with its
// message. One break may trip related rules too (an open test listener is also
// internet ingress off the listener ports).
func TestEveryRuleCanFail(t *testing.T) {
	dev, prod := analyzed(t, "dev", nil), analyzed(t, "prod", nil)
	devCI := analyzed(t, "dev", map[string]string{"ciRepository": "acme/shop"})
	// With a test listener source, so the fixtures below have its rule to break.
	devTest := analyzed(t, "dev", map[string]string{"testListenerCidrs": `["198.51.100.7/32"]`})
	obj := func(r *rules.Resource, k string) map[string]any { return r.Props[k].(map[string]any) }
	// With workers, a schedule and queues (permOverrides).
	jobs := analyzed(t, "dev", permOverrides)
	cases := []struct {
		rule, want string
		graph      func() []rules.Resource
	}{
		{"sg-world-ingress-listener-ports-only", "ingress from the internet on tcp 8080", func() []rules.Resource {
			return mutate(t, devTest, tSG, "web-alb", func(r *rules.Resource) {
				r.Props["ingress"].([]any)[1].(map[string]any)["cidrBlocks"] = []any{"0.0.0.0/0"}
			})
		}},
		{"test-listener-not-public", "test listener on port 8080 is open to the internet", func() []rules.Resource {
			return mutate(t, devTest, tSG, "web-alb", func(r *rules.Resource) {
				r.Props["ingress"].([]any)[1].(map[string]any)["cidrBlocks"] = []any{"198.51.100.7/32", "0.0.0.0/0"}
			})
		}},
		{"task-ingress-from-load-balancer-only", "task ingress from addresses", func() []rules.Resource {
			return mutate(t, dev, tSG, "web-tasks", func(r *rules.Resource) {
				r.Props["ingress"].([]any)[0].(map[string]any)["cidrBlocks"] = []any{"10.0.0.0/16"}
			})
		}},
		{"sg-egress-limited", "egress of every protocol to the internet", func() []rules.Resource {
			return mutate(t, dev, tSG, "web-tasks", func(r *rules.Resource) {
				r.Props["egress"] = []any{map[string]any{"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "cidrBlocks": []any{"0.0.0.0/0"}}}
			})
		}},
		{"vpc-flow-logs-prod", "prod VPC without a flow log", func() []rules.Resource { return without(prod, tFlowLog, "web") }},
		{"https-only-prod", "prod listener on port 443 serves HTTP", func() []rules.Resource {
			return mutate(t, prod, tListener, "web-prod", func(r *rules.Resource) { r.Props["protocol"] = "HTTP" })
		}},
		{"tls-policy-current", `TLS policy "ELBSecurityPolicy-2016-08" is not current`, func() []rules.Resource {
			return mutate(t, prod, tListener, "web-test", func(r *rules.Resource) { r.Props["sslPolicy"] = "ELBSecurityPolicy-2016-08" })
		}},
		{"lb-drop-invalid-headers", "invalid HTTP header fields are passed", func() []rules.Resource {
			return mutate(t, dev, tLB, "web-alb", func(r *rules.Resource) { r.Props["dropInvalidHeaderFields"] = false })
		}},
		{"lb-deletion-protection-prod", "prod load balancer without deletion protection", func() []rules.Resource {
			return mutate(t, prod, tLB, "web-alb", func(r *rules.Resource) { r.Props["enableDeletionProtection"] = false })
		}},
		{"lb-access-logs-prod", "prod load balancer without access logs", func() []rules.Resource {
			return mutate(t, prod, tLB, "web-alb", func(r *rules.Resource) { delete(r.Props, "accessLogs") })
		}},
		{"task-awsvpc", `network mode "bridge"`, func() []rules.Resource {
			return mutate(t, dev, tTaskDef, "web", func(r *rules.Resource) { r.Props["networkMode"] = "bridge" })
		}},
		{"no-privileged-containers", "container nginx runs privileged", func() []rules.Resource {
			return mutate(t, dev, tTaskDef, "web", editContainers(func(d []map[string]any) { d[0]["privileged"] = true }))
		}},
		{"non-root-user", "container app has no non-root user", func() []rules.Resource {
			return mutate(t, dev, tTaskDef, "web", editContainers(func(d []map[string]any) { d[1]["user"] = "0" }))
		}},
		{"read-only-root-filesystem", "container nginx has a writable root filesystem", func() []rules.Resource {
			return mutate(t, dev, tTaskDef, "web", editContainers(func(d []map[string]any) { d[0]["readonlyRootFilesystem"] = false }))
		}},
		{"container-logging", "container app has no log configuration", func() []rules.Resource {
			return mutate(t, dev, tTaskDef, "web", editContainers(func(d []map[string]any) { delete(d[1], "logConfiguration") }))
		}},
		{"container-health-check", "container nginx listens on a port and has no health check", func() []rules.Resource {
			return mutate(t, dev, tTaskDef, "web", editContainers(func(d []map[string]any) { delete(d[0], "healthCheck") }))
		}},
		{"no-plaintext-secrets", "container app has API_TOKEN in plain text", func() []rules.Resource {
			return mutate(t, dev, tTaskDef, "web", editContainers(func(d []map[string]any) {
				d[1]["environment"] = append(d[1]["environment"].([]any), map[string]any{"name": "API_TOKEN", "value": "abc"})
			}))
		}},
		{"no-public-ip-prod", "prod tasks get public IPs", func() []rules.Resource {
			return mutate(t, prod, tService, "web", func(r *rules.Resource) { obj(r, "networkConfiguration")["assignPublicIp"] = true })
		}},
		{"ecr-scan-on-push", "scan on push is off", func() []rules.Resource {
			return mutate(t, dev, tRepo, "web-app", func(r *rules.Resource) { obj(r, "imageScanningConfiguration")["scanOnPush"] = false })
		}},
		{"ecr-immutable-tags", `image tags are "MUTABLE"`, func() []rules.Resource {
			return mutate(t, dev, tRepo, "web-nginx", func(r *rules.Resource) { r.Props["imageTagMutability"] = "MUTABLE" })
		}},
		{"ecr-lifecycle-policy", "repository without a lifecycle policy", func() []rules.Resource { return without(dev, tLifecycle, "web-app") }},
		{"iam-no-wildcards", `statement "Open" allows s3:PutObject on every resource (*)`, func() []rules.Resource {
			return mutate(t, dev, tRolePolicy, "web-exec", setPolicy(`{"Version":"2012-10-17","Statement":[{"Sid":"Open","Effect":"Allow","Action":["s3:PutObject"],"Resource":"*"}]}`))
		}},
		{"iam-no-wildcards", `statement "Admin" allows *`, func() []rules.Resource {
			return mutate(t, dev, tRolePolicy, "web-exec", setPolicy(`{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::x"}]}`))
		}},
		{"iam-no-wildcards", `statement "Everything" allows *`, func() []rules.Resource {
			return mutate(t, devCI, tPolicy, "web-boundary", func(r *rules.Resource) { r.Props["path"] = "/" })
		}},
		{"roles-bounded", "role web-task does not carry the stack's permissions boundary", func() []rules.Resource {
			return mutate(t, devCI, tRole, "web-task", func(r *rules.Resource) {
				delete(r.Props, "permissionsBoundary")
				delete(r.PropertyDependencies, "permissionsBoundary")
			})
		}},
		{"roles-bounded", "attaches the permissions boundary", func() []rules.Resource {
			return mutate(t, devCI, tAttachment, "web-codedeploy", func(r *rules.Resource) {
				r.Props["policyArn"] = "arn:aws:iam::123456789012:policy/ci/web-dev-boundary"
			})
		}},
		{"execution-role-scoped", "not one of the stack's repositories", func() []rules.Resource {
			return mutate(t, dev, tRolePolicy, "web-exec", func(r *rules.Resource) {
				r.Props["policy"] = strings.Replace(r.Props["policy"].(string), `"Resource":["arn:aws:ecr:`, `"Resource":["arn:aws:ecr:ap-northeast-2:123456789012:repository/other","arn:aws:ecr:`, 1)
			})
		}},
		{"execution-role-scoped", "which the execution role web-exec may not read", func() []rules.Resource {
			return mutate(t, dev, tTaskDef, "web", editContainers(func(d []map[string]any) {
				d[1]["secrets"] = append(d[1]["secrets"].([]any), map[string]any{"name": "EXTRA", "valueFrom": "arn:aws:ssm:ap-northeast-2:123456789012:parameter/extra"})
			}))
		}},
		{"codedeploy-role-limited", "cannot pass arn:aws:iam::123456789012:role/web-dev-exec-", func() []rules.Resource {
			return without(dev, tRolePolicy, "web-codedeploy-pass")
		}},
		{"codedeploy-role-limited", "which is not an execution or task role of the service it deploys", func() []rules.Resource {
			return mutate(t, dev, tRolePolicy, "web-codedeploy-pass", func(r *rules.Resource) {
				r.Props["policy"] = strings.Replace(r.Props["policy"].(string), `"Resource":[`, `"Resource":["arn:aws:iam::123456789012:role/web-prod-exec-x",`, 1)
			})
		}},
		{"codedeploy-role-limited", "use AWSCodeDeployRoleForECSLimited", func() []rules.Resource {
			return mutate(t, dev, tAttachment, "web-codedeploy", func(r *rules.Resource) { r.Props["policyArn"] = "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS" })
		}},
		{"log-retention", "log group keeps logs forever", func() []rules.Resource {
			return mutate(t, dev, tLogGroup, "web", func(r *rules.Resource) { delete(r.Props, "retentionInDays") })
		}},
		{"codedeploy-blue-green", "deployment style IN_PLACE/WITH_TRAFFIC_CONTROL", func() []rules.Resource {
			return mutate(t, dev, tCDGroup, "web", func(r *rules.Resource) { obj(r, "deploymentStyle")["deploymentType"] = "IN_PLACE" })
		}},
		{"codedeploy-auto-rollback", "missing [DEPLOYMENT_STOP_ON_ALARM]", func() []rules.Resource {
			return mutate(t, dev, tCDGroup, "web", func(r *rules.Resource) {
				obj(r, "autoRollbackConfiguration")["events"] = []any{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"}
			})
		}},
		{"codedeploy-alarms", "no alarm stops and rolls back a deployment", func() []rules.Resource {
			return mutate(t, dev, tCDGroup, "web", func(r *rules.Resource) { obj(r, "alarmConfiguration")["enabled"] = false })
		}},
		{"code-deploy-ignore-changes", "does not ignore changes to capacityProviderStrategies", func() []rules.Resource {
			return mutate(t, dev, tService, "web", func(r *rules.Resource) {
				r.IgnoreChanges = slices.DeleteFunc(r.IgnoreChanges, func(k string) bool { return k == "capacityProviderStrategies" })
			})
		}},
		{"code-deploy-ignore-changes", "does not ignore changes to defaultActions", func() []rules.Resource {
			return mutate(t, dev, tListener, "web-test", func(r *rules.Resource) { r.IgnoreChanges = nil })
		}},
		{"required-tags", "missing tags [stack]", func() []rules.Resource {
			return mutate(t, dev, tTG, "web-green", func(r *rules.Resource) { delete(obj(r, "tags"), "stack") })
		}},
		// workers, schedules, queues
		{"container-health-check", "container app listens on a port and has no health check", func() []rules.Resource {
			return mutate(t, jobs, tTaskDef, "web-worker", editContainers(func(d []map[string]any) {
				d[0]["portMappings"] = []any{map[string]any{"containerPort": 8000.0, "protocol": "tcp"}}
			}))
		}},
		{"rolling-circuit-breaker", "without the circuit breaker's rollback (enable true, rollback false)", func() []rules.Resource {
			return mutate(t, jobs, tService, "web-worker", func(r *rules.Resource) { obj(r, "deploymentCircuitBreaker")["rollback"] = false })
		}},
		{"scheduler-role-scoped", "which is no family the stack's schedules run", func() []rules.Resource {
			return mutate(t, jobs, tRolePolicy, "web-scheduler", func(r *rules.Resource) {
				r.Props["policy"] = strings.Replace(r.Props["policy"].(string), "task-definition/ecs-bluegreen-dev-web-report:*", "task-definition/ecs-bluegreen-dev-web:*", 1)
			})
		}},
		{"scheduler-role-scoped", "limit ecs:RunTask to the schedules' cluster", func() []rules.Resource {
			return mutate(t, jobs, tRolePolicy, "web-scheduler", func(r *rules.Resource) {
				r.Props["policy"] = strings.Replace(r.Props["policy"].(string), `"ecs:cluster"`, `"ecs:capacity-provider"`, 1)
			})
		}},
		{"scheduler-role-scoped", "which is no role of the schedules' task definitions", func() []rules.Resource {
			webExec := ""
			for _, r := range jobs {
				if r.Type == tRole && r.Name == "web-exec" {
					webExec = r.Props["arn"].(string)
				}
			}
			return mutate(t, jobs, tRolePolicy, "web-scheduler", func(r *rules.Resource) {
				r.Props["policy"] = strings.Replace(r.Props["policy"].(string), `"Sid":"PassTaskRoles","Effect":"Allow","Action":["iam:PassRole"],"Resource":[`, `"Sid":"PassTaskRoles","Effect":"Allow","Action":["iam:PassRole"],"Resource":["`+webExec+`",`, 1)
			})
		}},
		{"scheduler-role-scoped", "may ecs:StopTask", func() []rules.Resource {
			return mutate(t, jobs, tRolePolicy, "web-scheduler", func(r *rules.Resource) {
				r.Props["policy"] = strings.Replace(r.Props["policy"].(string), `"Action":["sqs:SendMessage"]`, `"Action":["ecs:StopTask"]`, 1)
			})
		}},
		{"scheduler-role-scoped", "only the tasks RunTask starts (StringEquals RunTask)", func() []rules.Resource {
			return mutate(t, jobs, tRolePolicy, "web-scheduler", func(r *rules.Resource) {
				r.Props["policy"] = strings.Replace(r.Props["policy"].(string), `"ecs:CreateAction":["RunTask"]`, `"ecs:CreateAction":["RunTask","CreateService"]`, 1)
			})
		}},
		{"scheduler-role-scoped", "which is no task of the schedules' cluster", func() []rules.Resource {
			return mutate(t, jobs, tRolePolicy, "web-scheduler", func(r *rules.Resource) {
				r.Props["policy"] = strings.Replace(r.Props["policy"].(string), `:task/`, `:service/`, 1)
			})
		}},
		{"schedule-retry-dead-letter", "schedule without a dead-letter queue", func() []rules.Resource {
			return mutate(t, jobs, "aws:scheduler/schedule:Schedule", "web-report", func(r *rules.Resource) { delete(obj(r, "target"), "deadLetterConfig") })
		}},
		{"sqs-encrypted", "queue not encrypted at rest", func() []rules.Resource {
			return mutate(t, jobs, "aws:sqs/queue:Queue", "web-jobs", func(r *rules.Resource) { r.Props["sqsManagedSseEnabled"] = false })
		}},
		{"queue-dead-letter", "queue without a redrive policy", func() []rules.Resource {
			return mutate(t, jobs, "aws:sqs/queue:Queue", "web-jobs", func(r *rules.Resource) { delete(r.Props, "redrivePolicy") })
		}},
	}
	tested := map[string]bool{}
	for _, c := range cases {
		tested[c.rule] = true
		t.Run(c.rule+": "+c.want, func(t *testing.T) {
			vs := rules.Check(c.graph())
			if !slices.ContainsFunc(vs, func(v rules.Violation) bool { return v.Rule == c.rule && strings.Contains(v.Message, c.want) }) {
				t.Errorf("violations %+v lack %s: …%s…", vs, c.rule, c.want)
			}
		})
	}
	for _, r := range rules.Rules() {
		if !tested[r.Name] {
			t.Errorf("rule %s has no failing fixture", r.Name)
		}
	}
}

// TestSecretGrants: each kind of secret reference is granted as IAM needs it.
func TestSecretGrants(t *testing.T) {
	cases := map[string]string{
		"arn:aws:ssm:ap-northeast-2:123456789012:parameter/web/db":                                   "arn:aws:ssm:ap-northeast-2:123456789012:parameter/web/db",
		"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-AbCdEf":                    "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-AbCdEf",
		"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-AbCdEf:password::":         "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-AbCdEf",
		"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-AbCdEf::AWSPREVIOUS:":      "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-AbCdEf",
		"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db":                           "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-??????",
		"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db:password:AWSCURRENT:":      "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-??????",
		"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:db::;:0123abcd-01ab-23cd-45ef-01": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:db-??????",
	}
	for ref, want := range cases {
		if got := secrets.ResourceARN(ref); got != want {
			t.Errorf("ResourceARN(%s) = %s, want %s", ref, got, want)
		}
	}
	// The program grants the same, and nothing else, with the configured KMS keys.
	key := "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	g := runStack(t, "dev", map[string]string{
		"appSecrets":        `{"A": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db:password::", "B": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-AbCdEf::AWSPREVIOUS:"}`,
		"secretsKmsKeyArns": `["` + key + `"]`,
	})
	doc := readDoc(t, str(t, g.one(tRolePolicy, "-exec"), "policy"))
	got := map[string][]string{}
	for _, s := range doc.Statement {
		got[s.Sid] = s.Resource
	}
	eq(t, g.one(tRolePolicy, "-exec"), "Secrets", got["Secrets"], []string{
		"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-??????",
		"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:web/db-AbCdEf",
	})
	eq(t, g.one(tRolePolicy, "-exec"), "DecryptSecrets", got["DecryptSecrets"], []string{key})
	param := g.one(tParam, "-secret-key")
	eq(t, g.one(tRolePolicy, "-exec"), "SsmParameters (the generated key)", got["SsmParameters"], []string{str(t, param, "out:arn")})
	if !slices.Contains(param.IgnoreChanges, "value") || str(t, param, "type") != "SecureString" {
		t.Errorf("%s: the generated key must be a SecureString that later runs never change", param.URN)
	}
}

// TestSecureConfigOffline: a stack file holding `pulumi config set --secret`
// values runs offline (the plan and the tests) with a stand-in.
func TestSecureConfigOffline(t *testing.T) {
	dir := t.TempDir()
	project, err := os.ReadFile("Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	stackFile := "config:\n  aws:region: ap-northeast-2\n  aws:accessKey: AKIDEXAMPLE\n  aws:secretKey:\n    secure: v1:abcdef:ghijkl\n"
	for name, data := range map[string][]byte{"Pulumi.yaml": project, "Pulumi.dev.yaml": []byte(stackFile)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, cfg, err := offline.StackConfig(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if cfg["aws:secretKey"] != offline.SecretStandIn {
		t.Errorf("secure value read as %q, want the stand-in", cfg["aws:secretKey"])
	}
}
