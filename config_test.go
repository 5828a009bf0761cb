package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"ecs-bluegreen/infra"
	"ecs-bluegreen/infra/offline"
)

// TestBadConfig runs the whole program with one bad setting at a time: each must
// fail with an error naming the key, the value and what is allowed, before any
// resource is registered.
func TestBadConfig(t *testing.T) {
	// The region must come from config here, not from the machine running the test.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	cases := []struct {
		name      string
		stack     string
		overrides map[string]string
		want      []string
	}{
		{"unknown environment", "dev", map[string]string{"environment": "staging"},
			[]string{`config ecs-bluegreen:environment = "staging": must be one of dev, prod`}},
		{"name with capitals", "dev", map[string]string{"name": "Web"},
			[]string{`config ecs-bluegreen:name = "Web": must be 1-12 lowercase letters`}},
		{"name too long for ALB names", "dev", map[string]string{"name": "averyverylongname"},
			[]string{`ecs-bluegreen:name = "averyverylongname"`, "32 characters"}},
		{"name ending in hyphen", "dev", map[string]string{"name": "web-"},
			[]string{`ecs-bluegreen:name = "web-"`, "not ending with a hyphen"}},
		{"missing region", "dev", map[string]string{"aws:region": ""},
			[]string{`config aws:region = "": must be an AWS region`}},
		{"malformed region", "dev", map[string]string{"aws:region": "Seoul"},
			[]string{`config aws:region = "Seoul": must be an AWS region`}},
		{"VPC CIDR too large", "dev", map[string]string{"vpcCidr": "10.0.0.0/8"},
			[]string{`ecs-bluegreen:vpcCidr = "10.0.0.0/8": must be an IPv4 network CIDR with a prefix from /16 to /24`}},
		{"VPC CIDR not a CIDR", "dev", map[string]string{"vpcCidr": "banana"},
			[]string{`ecs-bluegreen:vpcCidr = "banana"`}},
		{"one AZ", "dev", map[string]string{"availabilityZones": "1"},
			[]string{`ecs-bluegreen:availabilityZones = "1": must be a whole number from 2 to 4`}},
		{"AZ count not a number", "dev", map[string]string{"availabilityZones": "two"},
			[]string{`ecs-bluegreen:availabilityZones = "two": must be a whole number from 2 to 4`}},
		{"unknown NAT strategy", "dev", map[string]string{"natGateways": "perAz"},
			[]string{`ecs-bluegreen:natGateways = "perAz": must be one of none, single, onePerAz`}},
		{"unknown architecture", "dev", map[string]string{"cpuArchitecture": "arm"},
			[]string{`ecs-bluegreen:cpuArchitecture = "arm": must be one of X86_64, ARM64`}},
		{"missing build context", "dev", map[string]string{"appContext": "app/missing"},
			[]string{`ecs-bluegreen:appContext = "app/missing": must be an existing directory`}},
		{"missing Dockerfile", "dev", map[string]string{"nginxDockerfile": "app/nginx/Dockerfile.nope"},
			[]string{`ecs-bluegreen:nginxDockerfile = "app/nginx/Dockerfile.nope": must be an existing Dockerfile`}},
		{"keeps one image", "dev", map[string]string{"imagesToKeep": "1"},
			[]string{`ecs-bluegreen:imagesToKeep = "1": must be a whole number from 2 to 1000`}},
		{"certificate not an ARN", "dev", map[string]string{"certificateArn": "my-cert"},
			[]string{`ecs-bluegreen:certificateArn = "my-cert": must be an ACM certificate ARN`}},
		{"certificate in another region", "dev", map[string]string{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234"},
			[]string{`ecs-bluegreen:certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234": must be a certificate in the stack's region ap-northeast-2`}},
		{"allowed CIDR malformed", "dev", map[string]string{"allowedCidrs": `["10.0.0.0/33"]`},
			[]string{`ecs-bluegreen:allowedCidrs = "10.0.0.0/33": must be IPv4 network CIDRs`}},
		{"no allowed CIDRs", "dev", map[string]string{"allowedCidrs": `[]`},
			[]string{`ecs-bluegreen:allowedCidrs = "[]": must be at least one IPv4 CIDR`}},
		{"allowed CIDRs not a list", "dev", map[string]string{"allowedCidrs": `0.0.0.0/0`},
			[]string{`ecs-bluegreen:allowedCidrs = "0.0.0.0/0": must be a list of strings`}},
		{"test listener on 443", "dev", map[string]string{"testListenerPort": "443"},
			[]string{`ecs-bluegreen:testListenerPort = "443": must be a port other than 80 and 443`}},
		{"test CIDR without prefix", "dev", map[string]string{"testListenerCidrs": `["203.0.113.7"]`},
			[]string{`ecs-bluegreen:testListenerCidrs = "203.0.113.7": must be IPv4 network CIDRs`}},
		{"health check path relative", "dev", map[string]string{"healthCheckPath": "health"},
			[]string{`ecs-bluegreen:healthCheckPath = "health": must be a URL path starting with /`}},
		{"health check interval too short", "dev", map[string]string{"healthCheckIntervalSeconds": "1"},
			[]string{`ecs-bluegreen:healthCheckIntervalSeconds = "1": must be a whole number from 5 to 300`}},
		{"invalid Fargate CPU", "dev", map[string]string{"taskCpu": "300"},
			[]string{`ecs-bluegreen:taskCpu = "300": must be one of 256, 512, 1024, 2048, 4096, 8192, 16384`}},
		{"memory invalid for CPU", "dev", map[string]string{"taskCpu": "256", "taskMemory": "4096"},
			[]string{`ecs-bluegreen:taskMemory = "4096": must be a Fargate memory size for taskCpu 256: 512, 1024, 2048 MiB`}},
		{"memory off the 1 GiB steps", "dev", map[string]string{"taskCpu": "1024", "taskMemory": "2500"},
			[]string{`ecs-bluegreen:taskMemory = "2500": must be a Fargate memory size for taskCpu 1024: 2048 to 8192 in steps of 1024 MiB`}},
		{"shares exceed the task", "dev", map[string]string{"nginxSharePercent": "20", "appSharePercent": "85"},
			[]string{`ecs-bluegreen:appSharePercent = "85": must be at most 80, so nginxSharePercent (20) + appSharePercent fit in the task`}},
		{"app on nginx's port", "dev", map[string]string{"appPort": "8080"},
			[]string{`ecs-bluegreen:appPort = "8080": must be a port other than nginxPort`}},
		{"nginx on a privileged port", "dev", map[string]string{"nginxPort": "80"},
			[]string{`ecs-bluegreen:nginxPort = "80": must be a whole number from 1024 to 65535`}},
		{"prod over plain HTTP", "prod", map[string]string{"domainName": "", "hostedZoneId": ""},
			[]string{`ecs-bluegreen:certificateArn = "": must be set, or domainName and hostedZoneId set, when environment is prod`}},
		{"domain without its zone", "dev", map[string]string{"domainName": "app.example.com"},
			[]string{`ecs-bluegreen:hostedZoneId = "": must be set together with domainName`}},
		{"domain not a DNS name", "dev", map[string]string{"domainName": "App Example", "hostedZoneId": "Z123"},
			[]string{`ecs-bluegreen:domainName = "App Example": must be a lowercase DNS name`}},
		{"hosted zone id malformed", "dev", map[string]string{"domainName": "app.example.com", "hostedZoneId": "example.com"},
			[]string{`ecs-bluegreen:hostedZoneId = "example.com": must be a Route 53 hosted zone id`}},
		{"password in plain environment", "dev", map[string]string{"appEnvironment": `{"DB_PASSWORD": "hunter2"}`},
			[]string{`ecs-bluegreen:appEnvironment = "DB_PASSWORD": must be a name without SECRET, PASSWORD, TOKEN or KEY`}},
		{"KMS alias instead of key", "dev", map[string]string{"secretsKmsKeyArns": `["arn:aws:kms:ap-northeast-2:123456789012:alias/app"]`},
			[]string{`ecs-bluegreen:secretsKmsKeyArns = "arn:aws:kms:ap-northeast-2:123456789012:alias/app": must be KMS key ARNs`}},
		{"secret key name clashes", "dev", map[string]string{"appSecretKeyName": "DJANGO_DEBUG"},
			[]string{`ecs-bluegreen:appSecretKeyName = "DJANGO_DEBUG": must be a name not also set in appEnvironment`}},
		{"bad environment variable name", "dev", map[string]string{"appEnvironment": `{"1BAD": "x"}`},
			[]string{`ecs-bluegreen:appEnvironment = "1BAD": must be variable names`}},
		{"environment not an object", "dev", map[string]string{"appEnvironment": `[1, 2]`},
			[]string{`ecs-bluegreen:appEnvironment = "[1, 2]": must be an object of name: value pairs`}},
		{"secret not an ARN", "dev", map[string]string{"appSecrets": `{"DB_PASSWORD": "hunter2"}`},
			[]string{`ecs-bluegreen:appSecrets = "DB_PASSWORD: hunter2": must be an SSM parameter ARN`}},
		{"secret shadows a variable", "dev", map[string]string{"appSecrets": `{"DJANGO_DEBUG": "arn:aws:ssm:ap-northeast-2:123456789012:parameter/x"}`},
			[]string{`ecs-bluegreen:appSecrets = "DJANGO_DEBUG": must be a name not also set in appEnvironment`}},
		{"unsupported log retention", "dev", map[string]string{"logRetentionDays": "10"},
			[]string{`ecs-bluegreen:logRetentionDays = "10": must be one of 1, 3, 5, 7, 14`}},
		{"min above max", "dev", map[string]string{"minTasks": "3", "maxTasks": "2"},
			[]string{`ecs-bluegreen:minTasks = "3": must be at most maxTasks (2)`}},
		{"desired outside min..max", "dev", map[string]string{"desiredCount": "5"},
			[]string{`ecs-bluegreen:desiredCount = "5": must be between minTasks (1) and maxTasks (2)`}},
		{"Spot on ARM64", "dev", map[string]string{"cpuArchitecture": "ARM64"},
			[]string{`ecs-bluegreen:fargateSpot = "true": must be false when cpuArchitecture is ARM64`}},
		{"unknown deployment config", "dev", map[string]string{"deploymentConfig": "CodeDeployDefault.ECSCanary50Percent"},
			[]string{`ecs-bluegreen:deploymentConfig = "CodeDeployDefault.ECSCanary50Percent": must be one of CodeDeployDefault.ECSAllAtOnce, CodeDeployDefault.ECSLinear10PercentEvery1Minutes`}},
		{"termination wait over two days", "dev", map[string]string{"terminationWaitMinutes": "3000"},
			[]string{`ecs-bluegreen:terminationWaitMinutes = "3000": must be a whole number from 0 to 2880`}},
		{"not a boolean", "dev", map[string]string{"protect": "yes"},
			[]string{`ecs-bluegreen:protect = "yes": must be true or false`}},
		{"prod with one task", "prod", map[string]string{"minTasks": "1", "desiredCount": "1"},
			[]string{`ecs-bluegreen:minTasks = "1": must be at least 2 when environment is prod`, `ecs-bluegreen:desiredCount = "1": must be at least 2 when environment is prod`}},
		{"assumed role not a role ARN", "dev", map[string]string{"aws:assumeRole": `{"roleArn": "deploy"}`},
			[]string{`config aws:assumeRole = "deploy": must be a roleArn of an IAM role`}},
		{"assumed role not an object", "dev", map[string]string{"aws:assumeRole": `arn:aws:iam::123456789012:role/x`},
			[]string{`config aws:assumeRole = "arn:aws:iam::123456789012:role/x": must be an object with roleArn`}},
		{"assumed role duration", "dev", map[string]string{"aws:assumeRole": `{"roleArn": "arn:aws:iam::123456789012:role/x", "duration": "an hour"}`},
			[]string{`config aws:assumeRole = "an hour": must be a duration such as "1h"`}},
		{"web identity the rollout cannot use", "dev", map[string]string{"aws:assumeRoleWithWebIdentity": `{"roleArn": "arn:aws:iam::123456789012:role/x"}`},
			[]string{`config aws:assumeRoleWithWebIdentity = "(set)": must be unset while rollout is true`}},
		{"access key without secret key", "dev", map[string]string{"aws:accessKey": "AKIDEXAMPLE"},
			[]string{`config aws:accessKey = "(secret)": must be set together with aws:secretKey`}},
		{"CI repository without owner", "dev", map[string]string{"ciRepository": "shop"},
			[]string{`ecs-bluegreen:ciRepository = "shop": must be a GitHub repository as owner/name`}},
		{"CI provider of another issuer", "dev", map[string]string{"ciOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"},
			[]string{`ecs-bluegreen:ciOidcProviderArn = "arn:aws:iam::123456789012:oidc-provider/gitlab.com": must be the ARN of the account's GitHub OIDC provider`}},
		{"CI state bucket as a URL", "dev", map[string]string{"ciStateBucket": "s3://state"},
			[]string{`ecs-bluegreen:ciStateBucket = "s3://state": must be an S3 bucket name`}},
		{"load gate without a termination wait", "dev", map[string]string{"rolloutCheck": `{"rate": 5}`, "terminationWaitMinutes": "0"},
			[]string{`ecs-bluegreen:rolloutCheck = "{\"rate\": 5}": must be unset while terminationWaitMinutes is 0`}},
		{"load gate with acceptTrafficShifted", "dev", map[string]string{"rolloutCheck": `{"rate": 5}`, "acceptTrafficShifted": "true"},
			[]string{`must be unset while acceptTrafficShifted is true`}},
		{"load gate longer than the wait", "dev", map[string]string{"rolloutCheck": `{"durationSeconds": 90}`},
			[]string{`ecs-bluegreen:terminationWaitMinutes = "1": must be at least 3 min with rolloutCheck's warmUpSeconds 0 + durationSeconds 90: the old tasks must outlive the load by 1m20s`}},
		// The gate may start a poll late and its stop must land before the wait ends.
		{"load gate without a margin before the wait ends", "dev", map[string]string{"rolloutCheck": `{"durationSeconds": 20, "warmUpSeconds": 10}`, "terminationWaitMinutes": "1"},
			[]string{`ecs-bluegreen:terminationWaitMinutes = "1": must be at least 2 min with rolloutCheck's warmUpSeconds 10 + durationSeconds 20`}},
		// A timeout that ends before the deployment's own schedule rolls back good deployments.
		{"termination wait longer than the rollout timeout", "dev", map[string]string{"terminationWaitMinutes": "2880"},
			[]string{`ecs-bluegreen:rolloutTimeoutMinutes = "30": must be at least 2887 min: with deploymentConfig CodeDeployDefault.ECSAllAtOnce, all traffic is on the new tasks after about 1m30s and terminationWaitMinutes 2880 keeps the old tasks after that`}},
		// CI's job and AWS session end after 6 h.
		{"a rollout timeout longer than CI's session", "dev", map[string]string{"ciRepository": "acme/shop", "rolloutTimeoutMinutes": "400"},
			[]string{`ecs-bluegreen:rolloutTimeoutMinutes = "400": must be at most 300 while ciRepository is set: CI's AWS session lasts 6 h`}},
		{"linear shift longer than the rollout timeout", "dev", map[string]string{"deploymentConfig": "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"},
			[]string{`ecs-bluegreen:rolloutTimeoutMinutes = "30": must be at least 35 min: with deploymentConfig CodeDeployDefault.ECSLinear10PercentEvery3Minutes, all traffic is on the new tasks after about 28m30s`, "or set acceptTrafficShifted: true"}},
		{"load gate with an unknown field", "dev", map[string]string{"rolloutCheck": `{"rps": 5}`},
			[]string{`ecs-bluegreen:rolloutCheck = "{\"rps\": 5}": must be an object of paths, rate`, `unknown field "rps"`}},
		{"load gate without thresholds", "dev", map[string]string{"rolloutCheck": `{"durationSeconds": 10, "maxP99Ms": 0, "minSuccessPercent": 0}`},
			[]string{`must be at least one threshold`}},
		// workers, schedules, queues
		{"workers not an object of objects", "dev", map[string]string{"workers": `["worker"]`},
			[]string{`ecs-bluegreen:workers = "[\"worker\"]": must be an object of name: {command, cpu`}},
		{"worker name with capitals", "dev", map[string]string{"workers": `{"Mailer": {"command": ["x"]}}`},
			[]string{`ecs-bluegreen:workers = "Mailer": must be names of 1-20 lowercase letters`}},
		{"worker field misspelt", "dev", map[string]string{"workers": `{"mailer": {"command": ["x"], "cpus": 256}}`},
			[]string{`ecs-bluegreen:workers = "mailer: {\"command\": [\"x\"], \"cpus\": 256}": must be an object of command, cpu`, `unknown field "cpus"`}},
		{"worker without a command", "dev", map[string]string{"workers": `{"mailer": {"cpu": 256}}`},
			[]string{`ecs-bluegreen:workers = "mailer.command": must be a non-empty list of non-empty strings`}},
		{"worker size not a Fargate pair", "dev", map[string]string{"workers": `{"mailer": {"command": ["x"], "cpu": 256, "memory": 4096}}`},
			[]string{`ecs-bluegreen:workers = "mailer.memory: 4096": must be a Fargate memory size for cpu 256: 512, 1024, 2048 MiB`}},
		{"worker count and a range", "dev", map[string]string{"workers": `{"mailer": {"command": ["x"], "count": 2, "maxCount": 4}}`},
			[]string{`ecs-bluegreen:workers = "mailer.count": must be unset when minCount and maxCount are set`}},
		{"worker range upside down", "dev", map[string]string{"workers": `{"mailer": {"command": ["x"], "minCount": 3, "maxCount": 2}}`},
			[]string{`ecs-bluegreen:workers = "mailer.minCount: 3, maxCount: 2": must be minCount from 0 and maxCount from 1 to 100, minCount at most maxCount`}},
		{"worker on an unknown queue", "dev", map[string]string{"queues": `{"mail": {}}`, "workers": `{"mailer": {"command": ["x"], "queue": "jobs"}}`},
			[]string{`ecs-bluegreen:workers = "mailer.queue: jobs": must be the name of a queue in queues (mail)`}},
		{"backlog per task without queue scaling", "dev", map[string]string{"workers": `{"mailer": {"command": ["x"], "messagesPerTask": 5}}`},
			[]string{`ecs-bluegreen:workers = "mailer.messagesPerTask": must be set only with queue, minCount and maxCount`}},
		{"worker on Spot in prod", "prod", map[string]string{"workers": `{"mailer": {"command": ["x"], "spot": true}}`},
			[]string{`ecs-bluegreen:workers = "mailer.spot: true": must be false when environment is prod`}},
		{"schedule of five cron fields", "dev", map[string]string{"schedules": `{"report": {"schedule": "cron(0 3 * * *)", "command": ["x"]}}`},
			[]string{`ecs-bluegreen:schedules = "report.schedule: cron(0 3 * * *)": must be an EventBridge Scheduler expression`, `cron() takes six fields (minutes hours day-of-month month day-of-week year), got 5`}},
		{"schedule with both day fields", "dev", map[string]string{"schedules": `{"report": {"schedule": "cron(0 3 * * MON *)", "command": ["x"]}}`},
			[]string{`one of day-of-month (*) and day-of-week (MON) must be ?`}},
		{"schedule in an unknown time zone", "dev", map[string]string{"schedules": `{"report": {"schedule": "rate(1 day)", "timezone": "Mars/Olympus", "command": ["x"]}}`},
			[]string{`ecs-bluegreen:schedules = "report.timezone: Mars/Olympus": must be an IANA time zone`}},
		{"schedule timeout over a day", "dev", map[string]string{"schedules": `{"report": {"schedule": "rate(1 day)", "command": ["x"], "timeoutMinutes": 2000}}`},
			[]string{`ecs-bluegreen:schedules = "report.timeoutMinutes: 2000": must be from 1 to 1440 minutes`}},
		// A rate() run longer than its interval overlaps the next one.
		{"rate schedule with a timeout longer than its interval", "dev", map[string]string{"schedules": `{"report": {"schedule": "rate(15 minutes)", "command": ["x"], "timeoutMinutes": 20}}`},
			[]string{`ecs-bluegreen:schedules = "report.timeoutMinutes: 20": must be at most the interval of rate(15 minutes), 15 minutes: a longer run overlaps the next one (a run of the whole interval that ignores SIGTERM is killed 60 s after it, overlapping the next by that long)`}},
		{"schedule retries beyond Scheduler's limit", "dev", map[string]string{"schedules": `{"report": {"schedule": "rate(1 day)", "command": ["x"], "retries": 200}}`},
			[]string{`ecs-bluegreen:schedules = "report.retries: 200": must be from 0 to 185`}},
		{"schedule named like a worker", "dev", map[string]string{"workers": `{"report": {"command": ["x"]}}`, "schedules": `{"report": {"schedule": "rate(1 day)", "command": ["x"]}}`},
			[]string{`ecs-bluegreen:schedules = "report": must be a name no worker has`}},
		{"queue receive count beyond SQS's limit", "dev", map[string]string{"queues": `{"jobs": {"maxReceiveCount": 2000}}`},
			[]string{`ecs-bluegreen:queues = "jobs.maxReceiveCount: 2000": must be from 1 to 1000`}},
		{"queue whose variable looks secret", "dev", map[string]string{"queues": `{"keys": {}}`},
			[]string{`ecs-bluegreen:queues = "keys": must be a name whose variable KEYS_QUEUE_URL does not look like a secret`}},
		{"queue variable set by hand", "dev", map[string]string{"queues": `{"jobs": {}}`, "appEnvironment": `{"JOBS_QUEUE_URL": "x"}`},
			[]string{`ecs-bluegreen:queues = "jobs": must be a name whose variable JOBS_QUEUE_URL is not also set in appEnvironment or appSecrets`}},
		{"several problems at once", "dev", map[string]string{"taskCpu": "100", "natGateways": "many"},
			[]string{`ecs-bluegreen:taskCpu = "100"`, `ecs-bluegreen:natGateways = "many"`}},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := offline.Run(".", c.stack, program, offline.Options{Overrides: c.overrides})
			if err == nil {
				t.Fatalf("no error for %v", c.overrides)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if m == nil {
				t.Fatal("no mocks returned")
			}
			if rs := m.Resources(); len(rs) != 0 {
				t.Errorf("%d resources registered before the config error, first %s", len(rs), rs[0].URN)
			}
		})
	}
}

// TestSettingsMatchPulumiYaml keeps the Go defaults and Pulumi.yaml's declarations equal:
// the CLI applies Pulumi.yaml's, the offline runs and tests apply the Go ones.
func TestSettingsMatchPulumiYaml(t *testing.T) {
	p, err := offline.ReadProject(".")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range infra.Settings {
		seen[s.Key] = true
		d, ok := p.Config[s.Key]
		if !ok {
			t.Errorf("Pulumi.yaml does not declare %s", s.Key)
			continue
		}
		if d.Type != s.Type {
			t.Errorf("%s: Pulumi.yaml type %q, Go %q", s.Key, d.Type, s.Type)
		}
		if !reflect.DeepEqual(d.Default, s.Default) {
			t.Errorf("%s: Pulumi.yaml default %#v, Go %#v", s.Key, d.Default, s.Default)
		}
		if d.Description != s.Description {
			t.Errorf("%s: Pulumi.yaml description %q, Go %q", s.Key, d.Description, s.Description)
		}
	}
	for key := range p.Config {
		if !seen[key] {
			t.Errorf("Pulumi.yaml declares %s, which the program does not read", key)
		}
	}
}

// TestReadmeDocumentsEverySetting keeps the configuration reference complete.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range infra.Settings {
		if !strings.Contains(string(readme), "`"+s.Key+"`") {
			t.Errorf("README.md does not document `%s`", s.Key)
		}
	}
}

// TestPulumiFilesPassPulumisValidation loads Pulumi.yaml and both stack files with
// the Pulumi SDK's own loaders (the project JSON schema and config declarations)
// and checks each stack value against its declared type, as the CLI does before
// `pulumi up`.
func TestPulumiFilesPassPulumisValidation(t *testing.T) {
	proj, err := workspace.LoadProject("Pulumi.yaml")
	if err != nil {
		t.Fatalf("Pulumi.yaml: %v", err)
	}
	sink := diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never})
	for _, stack := range []string{"dev", "prod"} {
		file := "Pulumi." + stack + ".yaml"
		ps, err := workspace.LoadProjectStack(sink, proj, file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(ps.Config) == 0 {
			t.Fatalf("%s: no config read", file)
		}
		for key, value := range ps.Config {
			if key.Namespace() != proj.Name.String() {
				continue
			}
			decl, ok := proj.Config[key.Name()]
			if !ok {
				t.Errorf("%s sets %s, which Pulumi.yaml does not declare", file, key)
				continue
			}
			v, err := value.ToObject()
			if err != nil {
				t.Fatalf("%s: %s: %v", file, key, err)
			}
			if !workspace.ValidateConfigValue(decl.TypeName(), decl.Items, v) {
				t.Errorf("%s: %s = %v is not of the declared type %s", file, key, v, decl.TypeName())
			}
		}
	}
}

// TestRolloutTimeFits: a long termination wait is accepted when the rollout's
// timeout covers it, or when the rollout ends once all traffic moved.
func TestRolloutTimeFits(t *testing.T) {
	for _, set := range []map[string]string{
		{"terminationWaitMinutes": "2880", "rolloutTimeoutMinutes": "1440", "acceptTrafficShifted": "true"},
		{"terminationWaitMinutes": "60", "rolloutTimeoutMinutes": "67"},
		{"deploymentConfig": "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", "rolloutTimeoutMinutes": "35"},
		{"terminationWaitMinutes": "2880", "rollout": "false"},
	} {
		_, err := infra.ParseConfig("ecs-bluegreen", "dev", func(key string) (string, bool) {
			if key == "aws:region" {
				return "ap-northeast-2", true
			}
			v, ok := set[strings.TrimPrefix(key, "ecs-bluegreen:")]
			return v, ok
		})
		if err != nil {
			t.Errorf("%v: %v", set, err)
		}
	}
}

// TestRoleNamesFitTheStack: role names carry the stack (<name>-<stack>-<role>-…,
// so each deploy role is scoped to its stack's roles), and IAM leaves 38
// characters before the provider's unique suffix: a long stack name is refused by
// the name key, before anything is created.
func TestRoleNamesFitTheStack(t *testing.T) {
	dir := t.TempDir()
	project, err := os.ReadFile("Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	stack := "staging-eu-central-1"
	for name, data := range map[string][]byte{"Pulumi.yaml": project, "Pulumi." + stack + ".yaml": []byte("config:\n  aws:region: eu-central-1\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := offline.Run(dir, stack, program, offline.Options{Overrides: map[string]string{"name": "webshop", "rollout": "false"}})
	if err == nil || !strings.Contains(err.Error(), `ecs-bluegreen:name = "webshop"`) || !strings.Contains(err.Error(), `"webshop-staging-eu-central-1-codedeploy-"`) {
		t.Fatalf("error %v, want one naming the name key and the role name prefix", err)
	}
	if m != nil && len(m.Resources()) != 0 {
		t.Errorf("%d resources registered", len(m.Resources()))
	}
}
