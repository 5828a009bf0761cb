package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"ecs-bluegreen/infra/iameval"
	"ecs-bluegreen/infra/offline"
)

// The permission tests run the whole program for dev and prod, then evaluate each
// role's policies (inline, and the AWS managed documents it attaches) against the
// calls AWS makes as that role, with the graph's own ARNs and tags. The calls are
// tables (permission_calls_test.go), each entry with where it comes from.

// permOverrides turn on everything that needs permissions: CI with an S3 state
// backend, a secret of each kind, a customer-managed key and a hook. Prod as
// committed adds flow logs, access logs and a domain.
var permOverrides = map[string]string{
	"ciRepository":  "acme/shop",
	"ciStateBucket": "acme-pulumi-state",
	"appSecrets": `{"DB_PASSWORD": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:shop/db:password::",` +
		` "API_TOKEN": "arn:aws:ssm:ap-northeast-2:123456789012:parameter/shop/api-token"}`,
	"secretsKmsKeyArns": `["arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]`,
	"rolloutHooks":      `{"AfterAllowTestTraffic": "arn:aws:lambda:ap-northeast-2:123456789012:function:smoke"}`,
	// Workers (one scaled on its queue's backlog, one on CPU), a schedule, queues.
	"queues": `{"jobs": {}, "mail": {}}`,
	"workers": `{"worker": {"command": ["python", "manage.py", "worker"], "minCount": 1, "maxCount": 3, "queue": "jobs"},` +
		` "indexer": {"command": ["python", "manage.py", "index"], "minCount": 1, "maxCount": 2}}`,
	"schedules": `{"report": {"schedule": "cron(0 3 * * ? *)", "command": ["python", "manage.py", "report"]}}`,
}

// secretARNs are the ARNs AWS resolves the configured references to: a partial
// Secrets Manager ARN names a secret whose ARN has a 6-character suffix.
var secretARNs = map[string]string{
	"DB_PASSWORD": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:shop/db-Xy12Ab",
	"API_TOKEN":   "arn:aws:ssm:ap-northeast-2:123456789012:parameter/shop/api-token",
}

// stackFacts is what the call tables need of one stack's graph.
type stackFacts struct {
	g                              graph
	stack, project, name           string
	region, account, partition     string
	tags                           map[string]string // the tags every resource carries
	vpcID                          string
	publicSubnets, privateSubnets  []string
	cluster, service, serviceARN   string
	taskDefARN, family             string
	logGroup, logGroupARN          string
	execRole, taskRole, deployRole *offline.Resource
	flowRole                       *offline.Resource // nil without flow logs
	// the workers' and schedules' roles, and Scheduler's
	jobsExec, jobsTask, scheduler *offline.Resource
	app, group                    *offline.Resource
	deploymentConfig              string
	hooks                         []string
	zoneID                        string
	stateBucket                   string
	rolloutParam                  string
	boundary                      string // the ARN of the stack's permissions boundary
}

// tPolicy is a customer managed policy: the stack's permissions boundary.
const tPolicy = "aws:iam/policy:Policy"

func permissionStack(t *testing.T, stack string) stackFacts {
	t.Helper()
	g := runStack(t, stack, permOverrides)
	svc, cluster := g.one(tService, "web"), g.one(tCluster, "web")
	f := stackFacts{
		g: g, stack: stack, project: "ecs-bluegreen", name: "web",
		region: "ap-northeast-2", account: offline.Account, partition: "aws",
		tags:       map[string]string{},
		cluster:    str(t, cluster, "out:name"),
		service:    str(t, svc, "out:name"),
		taskDefARN: str(t, g.one(tTaskDef, "web"), "out:arn"),
		family:     str(t, g.one(tTaskDef, "web"), "family"),
		logGroup:   str(t, g.one(tLogGroup, "web"), "out:name"),
		execRole:   g.one(tRole, "web-exec"), taskRole: g.one(tRole, "web-task"), deployRole: g.one(tRole, "-codedeploy"),
		app: g.one(tCDApp, "web"), group: g.one(tCDGroup, "web"),
		stateBucket: "acme-pulumi-state",
	}
	for k, v := range prop(t, cluster, "tags").ObjectValue() {
		f.tags[string(k)] = v.StringValue()
	}
	f.serviceARN = f.arn("ecs", "service/"+f.cluster+"/"+f.service)
	f.logGroupARN = str(t, g.one(tLogGroup, "web"), "out:arn")
	f.deploymentConfig = str(t, f.group, "deploymentConfigName")
	vpc := g.one(tVpc, "-vpc")
	f.vpcID = str(t, vpc, "out:vpcId")
	f.publicSubnets, f.privateSubnets = strs(t, vpc, "out:publicSubnetIds"), strs(t, vpc, "out:privateSubnetIds")
	if fl := g.all(tFlowLog); len(fl) > 0 {
		f.flowRole = g.one(tRole, "-flow-logs")
	}
	f.jobsExec, f.jobsTask, f.scheduler = g.one(tRole, "-jobs-exec"), g.one(tRole, "-jobs-task"), g.one(tRole, "-scheduler")
	var hooks map[string]string
	json.Unmarshal([]byte(permOverrides["rolloutHooks"]), &hooks)
	f.hooks = slices.Sorted(maps.Values(hooks))
	if recs := g.all(tRecord); len(recs) > 0 {
		f.zoneID = str(t, recs[0], "zoneId")
	}
	f.rolloutParam = f.arn("ssm", fmt.Sprintf("parameter/%s/%s/%s/rollout", f.project, stack, f.name))
	// Under /ci/ with the CI roles: from the bootstrap workstation only.
	f.boundary = fmt.Sprintf("arn:%s:iam::%s:policy/ci/%s-%s-boundary", f.partition, f.account, f.name, stack)
	return f
}

func (f stackFacts) arn(service, rest string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", f.partition, service, f.region, f.account, rest)
}

// call is one authorization AWS makes.
type call struct {
	action, resource string
	ctx              map[string][]string
	why              string // where the entry comes from
}

// uncheckedResourceTypes are actions whose resource types the catalog gets wrong:
// ELB v1 and v2 share the prefix elasticloadbalancing, and the catalog keeps one
// entry per action name — v1's AddTags, which names only classic load balancers,
// while v2's AddTags authorizes on the tagged load balancer, listener or target
// group. Their ARNs are not checked against the catalog.
var uncheckedResourceTypes = map[string]bool{"elasticloadbalancing:AddTags": true}

func (c call) String() string {
	keys := slices.Sorted(maps.Keys(c.ctx))
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+strings.Join(c.ctx[k], "|"))
	}
	return fmt.Sprintf("%s on %s {%s} (%s)", c.action, c.resource, strings.Join(kv, " "), c.why)
}

// existing is the context of a call on a resource that carries tags.
func onExisting(tags map[string]string) map[string][]string {
	ctx := map[string][]string{}
	for k, v := range tags {
		ctx["aws:ResourceTag/"+k] = []string{v}
	}
	return ctx
}

// creating is the context of a call that creates a resource with tags.
func creating(tags map[string]string) map[string][]string {
	ctx := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		ctx["aws:RequestTag/"+k] = []string{tags[k]}
		ctx["aws:TagKeys"] = append(ctx["aws:TagKeys"], k)
	}
	return ctx
}

func with(ctx map[string][]string, kv ...string) map[string][]string {
	out := maps.Clone(ctx)
	if out == nil {
		out = map[string][]string{}
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = append(out[kv[i]], kv[i+1])
	}
	return out
}

// rolePolicies are the documents that decide what a role may do: its inline
// policies and the AWS managed policies attached to it (from iameval's test data).
func rolePolicies(t *testing.T, g graph, role *offline.Resource) []iameval.Policy {
	t.Helper()
	name := str(t, role, "out:name")
	var out []iameval.Policy
	for _, rp := range g.all(tRolePolicy) {
		if str(t, rp, "role") == name {
			p, err := iameval.Parse(rp.Name, str(t, rp, "policy"))
			if err != nil {
				t.Fatalf("%s: %v", rp.URN, err)
			}
			out = append(out, p)
		}
	}
	for _, a := range g.all(tAttachment) {
		if str(t, a, "role") == name {
			arn := str(t, a, "policyArn")
			p, ok := iameval.Managed(arn)
			if !ok {
				t.Fatalf("%s attaches %s, which iameval's test data lacks: add its document with source and date", a.URN, arn)
			}
			out = append(out, p)
		}
	}
	return out
}

// principal is what IAM decides a role's calls by: its identity policies and its
// permissions boundary (nil: none).
type principal struct {
	policies []iameval.Policy
	boundary *iameval.Policy
}

// rolePrincipal is a role as IAM sees it: its policies (rolePolicies) and the
// managed policy its permissionsBoundary names, found in the graph.
func rolePrincipal(t *testing.T, g graph, role *offline.Resource) principal {
	t.Helper()
	p := principal{policies: rolePolicies(t, g, role)}
	v, ok := role.Inputs["permissionsBoundary"]
	if !ok || !v.IsString() || v.StringValue() == "" {
		return p
	}
	for _, b := range g.all(tPolicy) {
		if str(t, b, "out:arn") == v.StringValue() {
			doc, err := iameval.Parse(b.Name, str(t, b, "policy"))
			if err != nil {
				t.Fatalf("%s: %v", b.URN, err)
			}
			p.boundary = &doc
			return p
		}
	}
	t.Fatalf("%s: permissionsBoundary %s is no policy of the graph", role.URN, v.StringValue())
	return p
}

// evaluate decides each call for a principal, after checking the call names a
// real action and an ARN of one of its resource types, and dropping the context
// keys the action does not support (AWS leaves them out of the request).
func evaluate(t *testing.T, p principal, calls []call) (allowed, denied []string) {
	t.Helper()
	sar, err := iameval.SAR()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		req := iameval.Request{Action: c.action, Resource: c.resource}
		if !uncheckedResourceTypes[c.action] {
			if err := sar.Check(req); err != nil {
				t.Errorf("call table: %v (%s)", err, c.why)
				continue
			}
		}
		req.Context = sar.Context(c.action, c.resource, c.ctx)
		d, why := iameval.EvaluateBounded(p.policies, p.boundary, req)
		line := c.String() + ": " + why
		if d == iameval.Allow {
			allowed = append(allowed, line)
		} else {
			denied = append(denied, line)
		}
	}
	return allowed, denied
}

func mustAllow(t *testing.T, role string, p principal, calls []call) {
	t.Helper()
	_, denied := evaluate(t, p, calls)
	for _, d := range denied {
		t.Errorf("%s may not: %s", role, d)
	}
}

func mustDeny(t *testing.T, role string, p principal, calls []call) {
	t.Helper()
	allowed, _ := evaluate(t, p, calls)
	for _, a := range allowed {
		t.Errorf("%s may: %s", role, a)
	}
}

// mustExplicitlyDeny: not just nothing allows these calls, a Deny names them, so
// no Allow added later opens them.
func mustExplicitlyDeny(t *testing.T, role string, p principal, calls []call) {
	t.Helper()
	_, denied := evaluate(t, p, calls)
	for _, d := range denied {
		if !strings.Contains(d, ": denied by ") {
			t.Errorf("%s is not explicitly denied: %s", role, d)
		}
	}
	mustDeny(t, role, p, calls)
}

// TestRolePermissions: every role the program creates may make every call AWS
// makes as that role, for dev and prod.
func TestRolePermissions(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			f := permissionStack(t, stack)
			tested := map[string]bool{}
			role := func(r *offline.Resource, calls []call) {
				t.Run(r.Name, func(t *testing.T) {
					tested[r.URN] = true
					mustAllow(t, r.Name, rolePrincipal(t, f.g, r), calls)
				})
			}
			role(f.deployRole, codeDeployCalls(f))
			role(f.execRole, executionCalls(f))
			if f.flowRole != nil {
				role(f.flowRole, flowLogCalls(f))
			}
			// The web app calls no AWS API but sending to the stack's queues.
			role(f.taskRole, queueCalls(f, false))
			role(f.jobsExec, jobsExecutionCalls(f))
			role(f.jobsTask, queueCalls(f, true))
			role(f.scheduler, schedulerCalls(f))
			ci := f.g.one(tRole, "-ci-deploy")
			first, later := deployCalls(t, f)
			role(ci, slices.Concat(first, later, rolloutCalls(f), opsCalls(f)))
			role(f.g.one(tRole, "-ci-preview"), previewCalls(f))
			for _, r := range f.g.all(tRole) {
				if !tested[r.URN] {
					t.Errorf("%s: no table of the calls AWS makes as this role", r.URN)
				}
			}
		})
	}
}

// TestStackIsolation: dev and prod live in one account and region with the same
// name. The dev deploy role may do all of dev's calls, and none of prod's — except
// those the Service Authorization Reference gives no way to tell apart (no
// resource-level permission, no per-stack name in the ARN, no tag condition key),
// which sharedCalls lists and the README repeats — and may write no CI role or
// OIDC provider of either stack.
func TestStackIsolation(t *testing.T) {
	dev, prod := permissionStack(t, "dev"), permissionStack(t, "prod")
	policies := rolePrincipal(t, dev.g, dev.g.one(tRole, "-ci-deploy"))

	first, later := deployCalls(t, prod)
	allowed, _ := evaluate(t, policies, slices.Concat(first, later, rolloutCalls(prod), opsCalls(prod)))
	sar, _ := iameval.SAR()
	seen := map[string]bool{}
	for _, a := range allowed {
		action := strings.SplitN(a, " ", 2)[0]
		seen[action] = true
		if _, ok := sharedCalls[action]; !ok {
			t.Errorf("dev's deploy role may act on prod: %s", a)
		}
	}
	for action, why := range sharedCalls {
		if !seen[action] {
			t.Errorf("sharedCalls lists %s (%s), but dev's deploy role may not make it on prod: drop it here and in the README", action, why)
		}
		// Shared only where a tag condition is impossible.
		if a, _, ok := sar.Action(action); ok {
			for _, rt := range a.ResourceTypes {
				svc := strings.SplitN(action, ":", 2)[0]
				for _, k := range sar.Services[svc].ResourceTypes[rt.Name].ConditionKeys {
					if strings.HasPrefix(k, "aws:ResourceTag/") && rt.Required && !slices.Contains(sharedUntagged, action) {
						t.Errorf("sharedCalls lists %s, but its %s resources support %s: scope it by tag", action, rt.Name, k)
					}
				}
			}
		}
	}

	// No CI role or OIDC provider, of either stack, from a deploy role.
	mustDeny(t, "dev's deploy role", policies, ciWriteCalls(t, dev, prod))

	// Nor may it create a role of prod's name or tag, or pass prod's roles — the
	// jobs' and Scheduler's included, which it may pass by name pattern in dev —
	// or touch prod's schedules and queues.
	prodRole := fmt.Sprintf("arn:aws:iam::%s:role/web-prod-exec-%s", offline.Account, strings.Repeat("0", 26))
	toTasks := map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}
	mustDeny(t, "dev's deploy role", policies, []call{
		{"iam:CreateRole", prodRole, creating(prod.tags), "a role in prod's name"},
		{"iam:PassRole", str(t, prod.execRole, "out:arn"), toTasks, "prod's execution role"},
		{"iam:PassRole", str(t, prod.jobsExec, "out:arn"), toTasks, "prod's jobs' execution role"},
		{"iam:PassRole", str(t, prod.jobsTask, "out:arn"), toTasks, "prod's jobs' task role"},
		{"iam:PassRole", str(t, prod.scheduler, "out:arn"), map[string][]string{"iam:PassedToService": {"scheduler.amazonaws.com"}}, "prod's Scheduler role"},
		{"iam:PassRole", str(t, dev.jobsExec, "out:arn"), map[string][]string{"iam:PassedToService": {"lambda.amazonaws.com"}}, "dev's jobs' role to another service"},
		{"iam:CreateRole", fmt.Sprintf("arn:aws:iam::%s:role/web-dev-x-%s", offline.Account, strings.Repeat("0", 26)), creating(prod.tags), "a role tagged stack=prod"},
		{"scheduler:UpdateSchedule", str(t, prod.g.one(tSchedule, "-report"), "out:arn"), nil, "prod's schedule"},
		{"scheduler:DeleteScheduleGroup", str(t, prod.g.one(tScheduleGroup, "web"), "out:arn"), onExisting(prod.tags), "prod's schedule group"},
		{"sqs:DeleteQueue", queueArns(prod)[0], onExisting(prod.tags), "prod's queue"},
		{"sqs:SendMessage", queueArns(prod)[0], onExisting(prod.tags), "prod's queue"},
	})

	// Route 53: each deploy role changes records in its stack's hostedZoneId only
	// (dev has none), never in another zone of the account.
	prodZone := fmt.Sprintf("arn:aws:route53:::hostedzone/%s", str(t, prod.g.all(tRecord)[0], "zoneId"))
	otherZone := "arn:aws:route53:::hostedzone/Z0THERZONE00000"
	prodDeploy := rolePrincipal(t, prod.g, prod.g.one(tRole, "-ci-deploy"))
	mustAllow(t, "prod's deploy role", prodDeploy, []call{{"route53:ChangeResourceRecordSets", prodZone, nil, "prod's own zone"}})
	mustDeny(t, "prod's deploy role", prodDeploy, []call{{"route53:ChangeResourceRecordSets", otherZone, nil, "another hosted zone"}})
	mustDeny(t, "dev's deploy role", policies, []call{
		{"route53:ChangeResourceRecordSets", prodZone, nil, "prod's zone"},
		{"route53:ChangeResourceRecordSets", otherZone, nil, "another hosted zone"},
	})
}

// ciWriteCalls are writes of the CI roles and OIDC provider of the stacks, which
// change from the bootstrap workstation only.
func ciWriteCalls(t *testing.T, stacks ...stackFacts) []call {
	t.Helper()
	var ciWrites []call
	for _, f := range stacks {
		for _, r := range []*offline.Resource{f.g.one(tRole, "-ci-deploy"), f.g.one(tRole, "-ci-preview")} {
			arn := str(t, r, "out:arn")
			for _, a := range []string{"iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateRole", "iam:PutRolePermissionsBoundary"} {
				ciWrites = append(ciWrites, call{a, arn, with(onExisting(f.tags), "iam:PolicyARN", "arn:aws:iam::aws:policy/AdministratorAccess"), "a CI role is changed from the bootstrap workstation only"})
			}
		}
		provider := str(t, f.g.one(tOIDC, "-github"), "out:arn")
		for _, a := range []string{"iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"} {
			ciWrites = append(ciWrites, call{a, provider, onExisting(f.tags), "the OIDC provider is changed from the bootstrap workstation only"})
		}
	}
	return ciWrites
}

// TestPolicyActionsKnown: every action any policy of the program names (with its
// wildcards) is one of the Service Authorization Reference.
func TestPolicyActionsKnown(t *testing.T) {
	sar, err := iameval.SAR()
	if err != nil {
		t.Fatal(err)
	}
	for _, stack := range []string{"dev", "prod"} {
		g := runStack(t, stack, permOverrides)
		type doc struct {
			r    *offline.Resource
			prop string
		}
		var docs []doc
		for _, r := range g.all(tRolePolicy) {
			docs = append(docs, doc{r, "policy"})
		}
		for _, r := range g.all("aws:s3/bucketPolicy:BucketPolicy") {
			docs = append(docs, doc{r, "policy"})
		}
		for _, r := range g.all(tPolicy) {
			docs = append(docs, doc{r, "policy"})
		}
		for _, r := range g.all(tRole) {
			docs = append(docs, doc{r, "assumeRolePolicy"})
		}
		for _, d := range docs {
			// Trust and bucket policies name principals, not resources: read their
			// actions only.
			var raw struct{ Statement json.RawMessage }
			if err := json.Unmarshal([]byte(str(t, d.r, d.prop)), &raw); err != nil {
				t.Fatalf("%s: %v", d.r.URN, err)
			}
			var statements []map[string]any
			if json.Unmarshal(raw.Statement, &statements) != nil {
				var one map[string]any
				json.Unmarshal(raw.Statement, &one)
				statements = []map[string]any{one}
			}
			for _, st := range statements {
				for _, v := range []any{st["Action"], st["NotAction"]} {
					names, _ := v.([]any)
					if one, ok := v.(string); ok {
						names = []any{one}
					}
					for _, a := range names {
						if a != "*" && !sar.KnownAction(a.(string)) { // "*": the boundary's Everything
							t.Errorf("%s: %s statement %v names %v, which is no action of the Service Authorization Reference", d.r.URN, d.prop, st["Sid"], a)
						}
					}
				}
			}
		}
		for _, a := range g.all(tAttachment) {
			if _, ok := iameval.Managed(str(t, a, "policyArn")); !ok {
				t.Errorf("%s: %s is not in iameval's managed policy test data", a.URN, str(t, a, "policyArn"))
			}
		}
	}
}

// secretCalls are the reads of the stack's secrets no role but the execution role
// (and the deploy role, for the parameter it manages) may make.
func secretCalls(f stackFacts) []call {
	key := "arn:aws:kms:ap-northeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	generated := str(f.g.t, f.g.one(tParam, "-secret-key"), "out:arn")
	return []call{
		{"ssm:GetParameter", generated, with(onExisting(f.tags), "ssm:WithDecryption", "true"), "the generated secret key"},
		{"ssm:GetParameters", generated, onExisting(f.tags), "the generated secret key"},
		{"ssm:GetParameter", secretARNs["API_TOKEN"], nil, "an appSecrets parameter"},
		{"secretsmanager:GetSecretValue", secretARNs["DB_PASSWORD"], nil, "an appSecrets secret"},
		{"kms:Decrypt", key, nil, "the secrets' customer-managed key"},
		{"s3:GetObject", "arn:aws:s3:::" + f.stateBucket + "-other/x", nil, "an object outside the state bucket"},
	}
}

// TestPreviewReadsNoSecrets: the preview role may read what `pulumi preview`
// reads, and no secret.
func TestPreviewReadsNoSecrets(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			f := permissionStack(t, stack)
			preview := rolePrincipal(t, f.g, f.g.one(tRole, "-ci-preview"))
			mustDeny(t, "the preview role", preview, append(secretCalls(f),
				// The file backend's preview takes no lock (pkg/backend/diy/backend.go:
				// Preview goes straight to apply; Update, Import, Refresh and Destroy lock).
				call{"s3:PutObject", fmt.Sprintf("arn:aws:s3:::%s/.pulumi/locks/%s/%s/x.json", f.stateBucket, f.project, stack), nil, "a lock"},
				call{"s3:PutObject", fmt.Sprintf("arn:aws:s3:::%s/.pulumi/stacks/%s/%s.json", f.stateBucket, f.project, stack), nil, "the state"},
				call{"ecs:UpdateService", f.serviceARN, onExisting(f.tags), "a write"},
			))
			// The execution role reads its own secrets, and the task role none.
			mustAllow(t, "the execution role", rolePrincipal(t, f.g, f.execRole), executionCalls(f))
			mustDeny(t, "the task role", rolePrincipal(t, f.g, f.taskRole), secretCalls(f))
		})
	}
}

// TestStackRolesBounded: every role of the stack but the CI roles carries the
// stack's permissions boundary, a customer managed policy under /ci/ with a stable
// name, tagged like the stack.
func TestStackRolesBounded(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			f := permissionStack(t, stack)
			var boundary *offline.Resource
			for _, p := range f.g.all(tPolicy) {
				if str(t, p, "out:arn") == f.boundary {
					boundary = p
				}
			}
			if boundary == nil {
				t.Fatalf("no policy %s in the graph", f.boundary)
			}
			eq(t, boundary, "path", str(t, boundary, "path"), "/ci/")
			eq(t, boundary, "tags.stack", str(t, boundary, "tags.stack"), stack)
			// Every IAM write but iam:PassRole is one of the boundary's write verbs, which
			// it denies without the boundary; no read is.
			sar, _ := iameval.SAR()
			doc := iameval.MustParse(boundary.Name, str(t, boundary, "policy"))
			var writes []string
			for _, st := range doc.Statements {
				if st.Sid == "OnlyWithThisBoundary" {
					writes = st.Actions
				}
			}
			for name, a := range sar.Services["iam"].Actions {
				covered := slices.ContainsFunc(writes, func(p string) bool { return iameval.MatchAction(p, "iam:"+name) })
				read := a.AccessLevel == "Read" || a.AccessLevel == "List"
				if want := !read && name != "PassRole"; covered != want {
					t.Errorf("iam:%s (%s): covered by the boundary's OnlyWithThisBoundary %v, want %v", name, a.AccessLevel, covered, want)
				}
			}
			for _, r := range f.g.all(tRole) {
				got := ""
				if v, ok := r.Inputs["permissionsBoundary"]; ok && v.IsString() {
					got = v.StringValue()
				}
				want := f.boundary
				if strings.Contains(r.Name, "-ci-") {
					want = "" // the CI roles change from the bootstrap workstation only
				}
				eq(t, r, "permissionsBoundary", got, want)
			}
			// Without CI there is no deploy role to bound.
			plain := runStack(t, stack, nil)
			if n := len(plain.all(tPolicy)); n != 0 {
				t.Errorf("without CI: %d managed policies", n)
			}
			for _, r := range plain.all(tRole) {
				if _, ok := r.Inputs["permissionsBoundary"]; ok {
					t.Errorf("without CI: %s has a permissions boundary", r.URN)
				}
			}
		})
	}
}

// TestDeployRoleKeepsTheBoundary: dev's deploy role may create and change its
// stack's roles only with the stack's boundary, may never remove or replace a
// boundary, and may not change the boundary policy.
func TestDeployRoleKeepsTheBoundary(t *testing.T) {
	dev := permissionStack(t, "dev")
	deploy := rolePrincipal(t, dev.g, dev.g.one(tRole, "-ci-deploy"))
	role := func(name string) string {
		return fmt.Sprintf("arn:aws:iam::%s:role/web-dev-%s-%s", dev.account, name, strings.Repeat("0", 26))
	}
	evil, task := role("evil"), str(t, dev.taskRole, "out:arn")
	bounded := func(ctx map[string][]string) map[string][]string {
		return with(ctx, "iam:PermissionsBoundary", dev.boundary)
	}
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	limited := "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited"

	mustAllow(t, "dev's deploy role", deploy, []call{
		{"iam:CreateRole", evil, bounded(creating(dev.tags)), "a role of the stack, with its boundary"},
		{"iam:PutRolePolicy", task, bounded(onExisting(dev.tags)), "an inline policy on a bounded role"},
		{"iam:AttachRolePolicy", role("codedeploy"), bounded(with(onExisting(dev.tags), "iam:PolicyARN", limited)), "CodeDeploy's managed policy on a bounded role"},
	})
	mustDeny(t, "dev's deploy role", deploy, []call{
		{"iam:CreateRole", evil, creating(dev.tags), "a role without a boundary"},
		{"iam:CreateRole", evil, with(creating(dev.tags), "iam:PermissionsBoundary", admin), "a role with another boundary"},
		{"iam:PutRolePolicy", evil, onExisting(dev.tags), "an inline policy on a role without the boundary"},
		{"iam:AttachRolePolicy", evil, with(onExisting(dev.tags), "iam:PolicyARN", limited), "a managed policy on a role without the boundary"},
		{"iam:UpdateAssumeRolePolicy", evil, onExisting(dev.tags), "the trust of a role without the boundary"},
		{"iam:DeleteRolePolicy", evil, onExisting(dev.tags), "an inline policy of a role without the boundary"},
	})
	mustExplicitlyDeny(t, "dev's deploy role", deploy, []call{
		{"iam:DeleteRolePermissionsBoundary", task, bounded(onExisting(dev.tags)), "removing the boundary"},
		{"iam:PutRolePermissionsBoundary", task, with(onExisting(dev.tags), "iam:PermissionsBoundary", admin), "replacing the boundary"},
		// The upgrade that puts the boundary on existing roles and creates it runs
		// from the bootstrap workstation: the Terraform provider puts a changed
		// permissions_boundary with PutRolePermissionsBoundary (internal/service/iam/role.go).
		{"iam:PutRolePermissionsBoundary", str(t, dev.execRole, "out:arn"), bounded(onExisting(dev.tags)), "putting boundaries is the bootstrap workstation's"},
		{"iam:CreatePolicy", dev.boundary, creating(dev.tags), "creating the boundary is the bootstrap workstation's"},
		{"iam:CreatePolicyVersion", dev.boundary, onExisting(dev.tags), "changing the boundary"},
		{"iam:SetDefaultPolicyVersion", dev.boundary, onExisting(dev.tags), "changing the boundary"},
		{"iam:DeletePolicyVersion", dev.boundary, onExisting(dev.tags), "changing the boundary"},
		{"iam:DeletePolicy", dev.boundary, onExisting(dev.tags), "deleting the boundary"},
	})
}

// boundedShared are prod's calls a dev role with every permission inside dev's
// boundary may still make beyond sharedCalls, and why the boundary leaves them
// (the README's "What the stacks share" says the same).
var boundedShared = map[string]string{
	"ssm:GetParameter":                   "prod's rollout state parameter (/<project>/prod/<name>/rollout) is untagged; writing it is denied by path, reading shows the judged task set",
	"elasticloadbalancing:DescribeRules": "ELB Describe calls have no resource-level permissions",
	"logs:CreateLogStream":               "log streams carry no tags of their own, and the log groups' names no stack: a role could write lines into prod's task logs",
	"logs:PutLogEvents":                  "log streams carry no tags of their own, and the log groups' names no stack: a role could write lines into prod's task logs",
	"ecs:DeleteTaskSet":                  "CodeDeploy's task sets: the call table gives them no tags (whether CodeDeploy tags them is unverified), and their ARNs carry no stack",
}

// TestBoundaryStopsEscalation: the reviewer's escalation (finding F1). A commit on
// main runs as dev's deploy role, which may put any inline policy on dev's task
// role; a task then runs with that role. With {"Action":"*","Resource":"*"} on it,
// dev's boundary still denies it every prod call of the call tables but the shared
// ones, every write of a CI role or the OIDC provider, and the ways around a
// boundary: IAM principals without it, other roles (passed or assumed), the state.
func TestBoundaryStopsEscalation(t *testing.T) {
	dev, prod := permissionStack(t, "dev"), permissionStack(t, "prod")
	escalated := rolePrincipal(t, dev.g, dev.taskRole)
	if escalated.boundary == nil {
		t.Errorf("%s: no permissions boundary", dev.taskRole.URN)
	}
	escalated.policies = append(escalated.policies, iameval.MustParse("escalated",
		`{"Version":"2012-10-17","Statement":[{"Sid":"Everything","Effect":"Allow","Action":"*","Resource":"*"}]}`))

	// Prod's calls, less the references both stacks are configured with here
	// (permOverrides gives dev and prod the same secrets, key and hook, so they are
	// dev's too).
	first, later := deployCalls(t, prod)
	own := slices.Concat(slices.Collect(maps.Values(secretARNs)), dev.hooks)
	var prodCalls []call
	for _, c := range slices.Concat(first, later, rolloutCalls(prod), codeDeployCalls(prod), executionCalls(prod), flowLogCalls(prod), secretCalls(prod)) {
		if !slices.Contains(own, c.resource) && c.action != "kms:Decrypt" {
			prodCalls = append(prodCalls, c)
		}
	}
	allowed, _ := evaluate(t, escalated, prodCalls)
	seen := map[string]bool{}
	for _, a := range allowed {
		action := strings.SplitN(a, " ", 2)[0]
		seen[action] = true
		_, shared := sharedCalls[action]
		_, bounded := boundedShared[action]
		if !shared && !bounded {
			t.Errorf("dev's task role with *:* may act on prod: %s", a)
		}
	}
	for action, why := range boundedShared {
		if !seen[action] {
			t.Errorf("boundedShared lists %s (%s), but the boundary denies it on prod: drop it here and in the README", action, why)
		}
	}
	mustDeny(t, "dev's task role with *:*", escalated, ciWriteCalls(t, dev, prod))

	acct := dev.account
	adminRole := fmt.Sprintf("arn:aws:iam::%s:role/Admin", acct)
	mustDeny(t, "dev's task role with *:*", escalated, []call{
		// IAM principals without the boundary.
		{"iam:CreateRole", fmt.Sprintf("arn:aws:iam::%s:role/web-dev-x", acct), creating(dev.tags), "a role without the boundary"},
		{"iam:CreateUser", fmt.Sprintf("arn:aws:iam::%s:user/x", acct), creating(dev.tags), "a user without the boundary"},
		{"iam:CreateAccessKey", fmt.Sprintf("arn:aws:iam::%s:user/admin", acct), nil, "keys of an existing user"},
		{"iam:PutRolePolicy", adminRole, nil, "a role of the account without the boundary"},
		{"iam:UpdateAssumeRolePolicy", adminRole, nil, "trusting itself from a role without the boundary"},
		{"iam:CreatePolicyVersion", fmt.Sprintf("arn:aws:iam::%s:policy/team", acct), nil, "a managed policy another principal has"},
		{"iam:DeleteRolePermissionsBoundary", str(t, dev.execRole, "out:arn"), with(onExisting(dev.tags), "iam:PermissionsBoundary", dev.boundary), "its own stack's boundary"},
		{"iam:PutRolePermissionsBoundary", str(t, dev.execRole, "out:arn"), with(onExisting(dev.tags), "iam:PermissionsBoundary", "arn:aws:iam::aws:policy/AdministratorAccess"), "another boundary"},
		{"iam:CreatePolicyVersion", dev.boundary, onExisting(dev.tags), "its own boundary"},
		// Other roles' permissions.
		{"sts:AssumeRole", adminRole, nil, "a role that trusts the account"},
		{"iam:PassRole", adminRole, map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}}, "a role of the account, to an instance"},
		{"iam:PassRole", str(t, prod.taskRole, "out:arn"), map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}, "prod's task role"},
		// Prod's state in the S3 backend.
		{"s3:GetObject", fmt.Sprintf("arn:aws:s3:::%s/.pulumi/stacks/%s/prod.json", prod.stateBucket, prod.project), nil, "prod's state"},
		{"s3:PutObject", fmt.Sprintf("arn:aws:s3:::%s/.pulumi/stacks/%s/prod.json", prod.stateBucket, prod.project), nil, "prod's state"},
	})
}
