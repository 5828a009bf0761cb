package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"ecs-bluegreen/infra/offline"
)

const (
	tOIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
	tComp = "ecs-bluegreen:infra:CI"
)

// iamDoc is an IAM policy document as the program writes it.
type iamDoc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal map[string]string
		Action    []string
		Resource  []string
		Condition map[string]map[string][]string
	}
}

func readDoc(t *testing.T, text string) iamDoc {
	t.Helper()
	var d iamDoc
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		t.Fatalf("policy %q: %v", text, err)
	}
	return d
}

// trustsExactly asserts that role r may be assumed through provider by tokens of
// exactly subject (and GitHub's audience for AWS), nothing else.
func trustsExactly(t *testing.T, g graph, role, providerARN, subject string) {
	t.Helper()
	r := g.one(tRole, role)
	trust := readDoc(t, str(t, r, "assumeRolePolicy"))
	s := trust.Statement[0]
	if len(trust.Statement) != 1 || s.Principal["Federated"] != providerARN || !reflect.DeepEqual(s.Action, []string{"sts:AssumeRoleWithWebIdentity"}) || len(s.Condition) != 1 {
		t.Errorf("%s: trust %+v", r.URN, trust)
	}
	want := map[string][]string{
		"token.actions.githubusercontent.com:aud": {"sts.amazonaws.com"},
		"token.actions.githubusercontent.com:sub": {subject},
	}
	eq(t, r, "trust StringEquals", s.Condition["StringEquals"], want)
}

// TestCIRoles: with ciRepository set, each stack trusts exactly its GitHub
// subjects — dev deploys from the main branch and previews pull requests, prod
// deploys from the environment prod and previews from the environment prod-preview.
func TestCIRoles(t *testing.T) {
	subjects := map[string][2]string{ // deploy, preview
		"dev":  {"repo:acme/shop:ref:refs/heads/main", "repo:acme/shop:pull_request"},
		"prod": {"repo:acme/shop:environment:prod", "repo:acme/shop:environment:prod-preview"},
	}
	for stack, subject := range subjects {
		t.Run(stack, func(t *testing.T) {
			g := runStack(t, stack, map[string]string{"ciRepository": "acme/shop", "ciStateBucket": "acme-pulumi-state"})
			provider := g.one(tOIDC, "-github")
			eq(t, provider, "url", str(t, provider, "url"), "https://token.actions.githubusercontent.com")
			eq(t, provider, "clientIdLists", strs(t, provider, "clientIdLists"), []string{"sts.amazonaws.com"})
			trustsExactly(t, g, "-ci-deploy", str(t, provider, "out:arn"), subject[0])
			trustsExactly(t, g, "-ci-preview", str(t, provider, "out:arn"), subject[1])

			// The deploy role may pass exactly the stack's roles, each to its service —
			// the web's by ARN, the jobs' and Scheduler's by the names they will have,
			// with or without workers and schedules — manage only its stack's roles, and
			// use only its stack's state.
			deploy := readDoc(t, str(t, g.one(tRolePolicy, "-ci-deploy"), "policy"))
			sids := map[string]int{}
			for i, s := range deploy.Statement {
				sids[s.Sid] = i
			}
			role := g.one(tRole, "-ci-deploy")
			passes := map[string][2][]string{
				"PassTaskRoles": {{str(t, g.one(tRole, "-exec"), "out:arn"), str(t, g.one(tRole, "-task"), "out:arn"),
					"arn:aws:iam::123456789012:role/web-" + stack + "-jobs-exec-*", "arn:aws:iam::123456789012:role/web-" + stack + "-jobs-task-*"}, {"ecs-tasks.amazonaws.com"}},
				"PassCodeDeployRole": {{str(t, g.one(tRole, "-codedeploy"), "out:arn")}, {"codedeploy.amazonaws.com"}},
				"PassSchedulerRole":  {{"arn:aws:iam::123456789012:role/web-" + stack + "-scheduler-*"}, {"scheduler.amazonaws.com"}},
			}
			if stack == "prod" {
				passes["PassFlowLogRole"] = [2][]string{{str(t, g.one(tRole, "-flow-logs"), "out:arn")}, {"vpc-flow-logs.amazonaws.com"}}
			}
			for sid, want := range passes {
				s := deploy.Statement[sids[sid]]
				eq(t, role, sid+" resources", s.Resource, want[0])
				eq(t, role, sid+" services", s.Condition["StringEquals"]["iam:PassedToService"], want[1])
			}
			eq(t, role, "own roles", deploy.Statement[sids["StackRoles"]].Resource, []string{"arn:aws:iam::123456789012:role/web-" + stack + "-*"})
			eq(t, role, "path", str(t, role, "path"), "/ci/")
			eq(t, role, "state objects", deploy.Statement[sids["StateWrite"]].Resource, []string{
				"arn:aws:s3:::acme-pulumi-state/.pulumi/stacks/ecs-bluegreen/" + stack + ".json*",
				"arn:aws:s3:::acme-pulumi-state/.pulumi/locks/ecs-bluegreen/" + stack + "/*",
				"arn:aws:s3:::acme-pulumi-state/.pulumi/history/ecs-bluegreen/" + stack + "/*",
				"arn:aws:s3:::acme-pulumi-state/.pulumi/backups/ecs-bluegreen/" + stack + "/*",
			})
			for _, s := range deploy.Statement {
				if s.Effect == "Allow" && (slices.Contains(s.Action, "*") || slices.Contains(s.Action, "iam:*")) {
					t.Errorf("deploy policy statement %s allows %v", s.Sid, s.Action)
				}
			}

			// The preview role has no managed policy, and writes nothing of the state:
			// a file backend's preview takes no lock.
			if n := len(g.all(tAttachment)) - 1; n != 0 { // CodeDeploy's
				t.Errorf("%d managed policy attachments besides CodeDeploy's", n)
			}
			previewState := readDoc(t, str(t, g.one(tRolePolicy, "-ci-preview"), "policy"))
			for _, s := range previewState.Statement {
				if s.Effect == "Allow" && (slices.Contains(s.Action, "s3:PutObject") || slices.Contains(s.Action, "s3:DeleteObject")) {
					t.Errorf("preview may write %v", s.Resource)
				}
			}
		})
	}
}

// TestCIImmutableSubjects: a repository on GitHub's immutable subject claims
// (created, renamed or transferred after the 2026 cutover, or opted in) gets tokens
// whose sub names owner@OWNER_ID/name@REPO_ID; its stack file says so in
// ciRepository, and the roles trust exactly that form, nothing of the name form.
// Source: https://docs.github.com/en/actions/reference/security/oidc, "Immutable
// subject claims" (syntax repo:OWNER@OWNER-ID/REPO@REPO-ID:ref:refs/heads/BRANCH,
// read 2026-09); the changelog of 2026-04-23 shows a hyphen instead of the @, which
// the reference (and tokens seen in public repositories) contradict.
func TestCIImmutableSubjects(t *testing.T) {
	const repo = "acme@123456/shop@456789"
	subjects := map[string][2]string{ // deploy, preview
		"dev":  {"repo:acme@123456/shop@456789:ref:refs/heads/release", "repo:acme@123456/shop@456789:pull_request"},
		"prod": {"repo:acme@123456/shop@456789:environment:prod", "repo:acme@123456/shop@456789:environment:prod-preview"},
	}
	for stack, subject := range subjects {
		t.Run(stack, func(t *testing.T) {
			g := runStack(t, stack, map[string]string{"ciRepository": repo, "ciBranch": "release"})
			provider := str(t, g.one(tOIDC, "-github"), "out:arn")
			trustsExactly(t, g, "-ci-deploy", provider, subject[0])
			trustsExactly(t, g, "-ci-preview", provider, subject[1])
		})
	}
}

// TestCIRepositoryForms: ciRepository takes exactly the two forms GitHub's subject
// has, and says which when given anything else.
func TestCIRepositoryForms(t *testing.T) {
	for _, ok := range []string{"acme/shop", "Acme-Corp/shop.web", "acme@123456/shop@456789", "octocat-123456/my-repo-456789"} {
		if _, err := offline.Run(".", "dev", program, offline.Options{Overrides: map[string]string{"ciRepository": ok, "rollout": "false"}}); err != nil {
			t.Errorf("ciRepository %q refused: %v", ok, err)
		}
	}
	for value, want := range map[string]string{
		"shop":                     `must be a GitHub repository as owner/name, or as owner@OWNER_ID/name@REPO_ID`,
		"repo:acme/shop":           `must be a GitHub repository as owner/name, or as owner@OWNER_ID/name@REPO_ID`,
		"acme@123456/shop":         `must be owner/name or owner@OWNER_ID/name@REPO_ID: GitHub's immutable subject carries both ids`,
		"acme/shop@456789":         `must be owner/name or owner@OWNER_ID/name@REPO_ID`,
		"acme@/shop@":              `must be a GitHub repository as owner/name`,
		"acme@0123/shop@456":       `must be a GitHub repository as owner/name`,
		"acme/shop:ref:refs/heads": `must be a GitHub repository as owner/name`,
	} {
		_, err := offline.Run(".", "dev", program, offline.Options{Overrides: map[string]string{"ciRepository": value}})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("config ecs-bluegreen:ciRepository = %q: %s", value, want)) {
			t.Errorf("ciRepository %q: error %v, want %q", value, err, want)
		}
	}
}

// TestCIWithExistingProvider: an account has one GitHub OIDC provider; given its
// ARN, the stack trusts it and creates none.
func TestCIWithExistingProvider(t *testing.T) {
	arn := "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
	g := runStack(t, "prod", map[string]string{"ciRepository": "acme/shop", "ciOidcProviderArn": arn})
	if n := len(g.all(tOIDC)); n != 0 {
		t.Errorf("%d OIDC providers created, want none", n)
	}
	trust := readDoc(t, str(t, g.one(tRole, "-ci-deploy"), "assumeRolePolicy"))
	eq(t, g.one(tRole, "-ci-deploy"), "Federated", trust.Statement[0].Principal["Federated"], arn)
	if n := len(g.all(tRolePolicy)); n != 5 { // exec, CodeDeploy's pass-role, flow logs, ci-deploy, ci-preview
		t.Errorf("%d role policies, want 5", n)
	}
}

// TestNoCIWithoutRepository: nothing CI-related exists unless ciRepository is set.
func TestNoCIWithoutRepository(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		g := runStack(t, stack, nil)
		if n := len(g.all(tOIDC)) + len(g.all(tComp)); n != 0 {
			t.Errorf("%s: %d CI resources", stack, n)
		}
		for _, r := range g.all(tRole) {
			if slices.Contains([]string{"web-ci-deploy", "web-ci-preview"}, r.Name) {
				t.Errorf("%s: %s exists", stack, r.URN)
			}
		}
	}
}

// TestManagedCertificate: prod on domainName gets a DNS-validated certificate, its
// validation record, HTTPS on both listeners with it, an alias record to the load
// balancer, and a url on the domain.
func TestManagedCertificate(t *testing.T) {
	s := newLiveStack(t, "prod")
	r := s.up(map[string]string{"rollout": "false"})
	if r.err != nil {
		t.Fatal(r.err)
	}
	cert, validation := r.one(tCert, "web"), r.one(tCertValidation, "web")
	eq(t, cert, "domainName", str(t, cert, "domainName"), "app.example.com")
	eq(t, cert, "validationMethod", str(t, cert, "validationMethod"), "DNS")
	record := r.one(tRecord, "-validation")
	eq(t, record, "name", str(t, record, "name"), str(t, cert, "out:domainValidationOptions.0.resourceRecordName"))
	eq(t, record, "type", str(t, record, "type"), "CNAME")
	eq(t, record, "records", strs(t, record, "records"), []string{str(t, cert, "out:domainValidationOptions.0.resourceRecordValue")})
	eq(t, record, "zoneId", str(t, record, "zoneId"), "Z0123456789EXAMPLE0")
	eq(t, validation, "certificateArn", str(t, validation, "certificateArn"), str(t, cert, "out:arn"))
	eq(t, validation, "validationRecordFqdns", strs(t, validation, "validationRecordFqdns"), []string{str(t, record, "out:fqdn")})
	for _, name := range []string{"-prod", "-test"} {
		l := r.one(tListener, name)
		eq(t, l, "protocol", str(t, l, "protocol"), "HTTPS")
		// The validated ARN: listeners wait for the certificate to be issued.
		eq(t, l, "certificateArn", str(t, l, "certificateArn"), str(t, validation, "out:certificateArn"))
		if !slices.Contains(l.PropertyDependencies["certificateArn"], validation.URN) {
			t.Errorf("%s: certificateArn does not come from %s", l.URN, validation.URN)
		}
	}
	alias, lb := r.one(tRecord, "-alias"), r.one(tLB, "-alb")
	eq(t, alias, "name", str(t, alias, "name"), "app.example.com")
	eq(t, alias, "type", str(t, alias, "type"), "A")
	eq(t, alias, "aliases.0.name", str(t, alias, "aliases.0.name"), str(t, lb, "out:dnsName"))
	eq(t, alias, "aliases.0.zoneId", str(t, alias, "aliases.0.zoneId"), str(t, lb, "out:zoneId"))
	if r.outputs["url"] != "https://app.example.com" || r.outputs["testUrl"] != "https://app.example.com:8080" {
		t.Errorf("url %v, testUrl %v", r.outputs["url"], r.outputs["testUrl"])
	}
}
