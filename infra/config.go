package infra

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // schedule time zones are checked the same on every machine

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"ecs-bluegreen/infra/cron"
	"ecs-bluegreen/infra/rollout"
	"ecs-bluegreen/infra/secrets"
)

// Config is the validated configuration of one stack. LoadConfig fills it once;
// nothing else reads Pulumi config.
type Config struct {
	Project     string
	Stack       string
	Environment string // dev or prod
	Name        string
	Region      string
	Partition   string // aws, aws-cn or aws-us-gov, derived from Region
	// AWS is the provider's identity (aws:profile, aws:assumeRole, …), which the
	// rollout uses too, so it acts in the account the resources are in.
	AWS rollout.Identity

	Network NetworkConfig
	Images  ImagesConfig
	Edge    EdgeConfig
	Service ServiceConfig
	Deploy  DeployConfig
	CI      CIConfig
	// Jobs are the workers and schedules beside the web service, and their queues.
	Jobs JobsConfig

	Protect bool
}

// NetworkConfig shapes the VPC.
type NetworkConfig struct {
	CIDR        string
	AZCount     int
	NATGateways string // none, single, onePerAz
	// FlowLogs records rejected traffic of the VPC (prod).
	FlowLogs bool
}

// AssignPublicIP tells whether tasks need a public IP to reach ECR and the AWS APIs:
// true exactly when there is no NAT gateway.
func (n NetworkConfig) AssignPublicIP() bool { return n.NATGateways == "none" }

// ImagesConfig says what to build and how long to keep it.
type ImagesConfig struct {
	App          BuildConfig
	Nginx        BuildConfig
	Architecture string // X86_64 or ARM64
	ImagesToKeep int
}

// Platform is the docker platform matching the task's CPU architecture.
func (i ImagesConfig) Platform() string {
	if i.Architecture == "ARM64" {
		return "linux/arm64"
	}
	return "linux/amd64"
}

// BuildConfig is one docker build: context and Dockerfile, relative to the project
// directory, and build args (none are configurable today; the tag covers them).
type BuildConfig struct {
	Context    string
	Dockerfile string
	Args       map[string]string
}

// EdgeConfig shapes the load balancer, listeners and target groups.
type EdgeConfig struct {
	CertificateARN string
	// DomainName in the Route 53 zone HostedZoneID: the program creates its
	// certificate (unless CertificateARN is set) and its alias record.
	DomainName, HostedZoneID string
	// AccessLogs writes the load balancer's access logs to S3 (prod).
	AccessLogs                 bool
	AllowedCIDRs               []string
	TestListenerPort           int
	TestListenerCIDRs          []string
	HealthCheckPath            string
	HealthCheckIntervalSeconds int
	HealthyThreshold           int
	UnhealthyThreshold         int
	DeregistrationDelaySeconds int
}

// HTTPS tells whether the listeners terminate TLS: with a certificate given, or
// one the program creates for DomainName.
func (e EdgeConfig) HTTPS() bool { return e.CertificateARN != "" || e.DomainName != "" }

// ProdPort is the port of the production listener CodeDeploy shifts.
func (e EdgeConfig) ProdPort() int {
	if e.HTTPS() {
		return 443
	}
	return 80
}

// HealthCheckTimeoutSeconds is derived: the ALB requires it to be below the interval.
func (e EdgeConfig) HealthCheckTimeoutSeconds() int {
	return max(2, min(5, e.HealthCheckIntervalSeconds-1))
}

// ServiceConfig shapes the task definition, the ECS service and its autoscaling.
type ServiceConfig struct {
	CPU               int
	Memory            int
	NginxSharePercent int
	AppSharePercent   int
	NginxPort         int
	AppPort           int
	Environment       map[string]string
	Secrets           map[string]string
	// SecretKeyName receives a secret the stack generates once ("" for none).
	SecretKeyName string
	// KMSKeyARNs are customer-managed keys the secrets are encrypted with.
	KMSKeyARNs                    []string
	LogRetentionDays              int
	DesiredCount                  int
	MinTasks                      int
	MaxTasks                      int
	CPUTargetPercent              int
	FargateSpot                   bool
	HealthCheckGracePeriodSeconds int
}

// NginxCPU and the other container sizes split the task by the configured shares,
// rounding down so the containers never ask for more than the task has.
func (s ServiceConfig) NginxCPU() int    { return s.CPU * s.NginxSharePercent / 100 }
func (s ServiceConfig) AppCPU() int      { return s.CPU * s.AppSharePercent / 100 }
func (s ServiceConfig) NginxMemory() int { return s.Memory * s.NginxSharePercent / 100 }
func (s ServiceConfig) AppMemory() int   { return s.Memory * s.AppSharePercent / 100 }

// DeployConfig shapes the CodeDeploy deployment group, its alarms and the rollout.
type DeployConfig struct {
	DeploymentConfig       string
	TerminationWaitMinutes int
	Alarm5xxThreshold      int
	Rollout                RolloutConfig
}

// RolloutConfig shapes the deployment `pulumi up` performs.
type RolloutConfig struct {
	Enabled              bool
	Timeout              time.Duration
	StopOnTimeout        bool
	ActivePolicy         string // wait or stop
	AcceptTrafficShifted bool
	MigrationCommand     []string
	Hooks                map[string]string // lifecycle event -> Lambda ARN
	// Check is the load gate; nil when not configured.
	Check *RolloutCheck
}

// RolloutCheck is the load gate: load the production URL once all traffic is on
// the new tasks, while the old ones wait to be terminated; a failure rolls back.
type RolloutCheck struct {
	Paths             []string `json:"paths"`
	Rate              float64  `json:"rate"`              // requests per second
	DurationSeconds   int      `json:"durationSeconds"`   // measured load
	WarmUpSeconds     int      `json:"warmUpSeconds"`     // load before, not judged
	MaxP99Ms          int      `json:"maxP99Ms"`          // 0: not checked
	MaxP95Ms          int      `json:"maxP95Ms"`          // 0: not checked
	MinSuccessPercent float64  `json:"minSuccessPercent"` // 0: not checked
}

// defaultRolloutCheck fills what a rolloutCheck object leaves out.
var defaultRolloutCheck = RolloutCheck{Paths: []string{"/"}, Rate: 10, DurationSeconds: 60, MaxP99Ms: 1000, MinSuccessPercent: 99}

// DeploymentConfigs are the predefined CodeDeploy configurations for ECS.
var DeploymentConfigs = []string{
	"CodeDeployDefault.ECSAllAtOnce",
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
	"CodeDeployDefault.ECSCanary10Percent5Minutes",
	"CodeDeployDefault.ECSCanary10Percent15Minutes",
}

// TrafficShift is how long each predefined deployment configuration takes from
// the first traffic on the new tasks to all of it: linear ones move 10% at once
// and then 10% per interval (nine more steps), canaries move the rest after the bake.
var TrafficShift = map[string]time.Duration{
	"CodeDeployDefault.ECSAllAtOnce":                    0,
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes": 9 * time.Minute,
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": 27 * time.Minute,
	"CodeDeployDefault.ECSCanary10Percent5Minutes":      5 * time.Minute,
	"CodeDeployDefault.ECSCanary10Percent15Minutes":     15 * time.Minute,
}

// TaskStartup is the assumed time from CodeDeploy creating the replacement task
// set to its tasks running: Fargate placement, image pull, container start.
const TaskStartup = 60 * time.Second

// rolloutSlack is what a rollout's timeout must leave beyond the deployment's own
// schedule: slow image pulls and placements, a migration task, the polls.
const rolloutSlack = 5 * time.Minute

// fargateMemory lists the memory sizes (MiB) Fargate accepts for each CPU size.
var fargateMemory = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, step int) []int {
	var out []int
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

// logRetentionDays are the values CloudWatch Logs accepts.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var (
	nameRE      = regexp.MustCompile(`^[a-z][a-z0-9-]{0,11}$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	certARNRE   = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):acm:([a-z0-9-]+):[0-9]{12}:certificate/[0-9a-f-]+$`)
	ssmARNRE    = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9_.\-/]+$`)
	lambdaARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$`)
	secretARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@\-]+(:[A-Za-z0-9_\-]*:[A-Za-z0-9_\-]*:[A-Za-z0-9_\-]*)?$`)
)

// ConfigGetter reads one fully qualified config key ("project:key" or "aws:region").
type ConfigGetter func(key string) (string, bool)

// LoadConfig reads and validates the stack's configuration. It registers nothing, so
// a bad value fails the run before any resource exists.
func LoadConfig(ctx *pulumi.Context) (*Config, error) {
	return ParseConfig(ctx.Project(), ctx.Stack(), ctx.GetConfig)
}

// ParseConfig is LoadConfig over any source of config values. Every problem found is
// reported, each naming the key, the value and what is allowed.
func ParseConfig(project, stack string, get ConfigGetter) (*Config, error) {
	l := &loader{ns: project, get: get}
	c := &Config{Project: project, Stack: stack}

	c.Environment = l.oneOf("environment", []string{"dev", "prod"})
	c.Name = l.str("name")
	if !nameRE.MatchString(c.Name) || strings.HasSuffix(c.Name, "-") {
		l.fail("name", c.Name, "1-12 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen (AWS limits load balancer and target group names to 32 characters)")
	} else if _, err := roleNamePrefix(c.Name, stack, longestRole); err != nil {
		// Role names carry the stack (<name>-<stack>-<role>-…), so each stack's
		// deploy role can be scoped to its own roles.
		l.fail("name", c.Name, fmt.Sprintf("a name short enough that %q fits IAM's role name prefix with stack %q (%d characters at most): %v", c.Name, stack, maxRoleNamePrefix, err))
	}
	c.Region = l.region()
	c.Partition = partition(c.Region)
	c.AWS = l.identity(c.Region)

	c.Network = NetworkConfig{
		CIDR:        l.str("vpcCidr"),
		AZCount:     l.integer("availabilityZones", 2, 4),
		NATGateways: l.oneOf("natGateways", []string{"none", "single", "onePerAz"}),
	}
	if p, err := netip.ParsePrefix(c.Network.CIDR); err != nil || !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 24 || p.Masked() != p {
		l.fail("vpcCidr", c.Network.CIDR, "an IPv4 network CIDR with a prefix from /16 to /24, such as 10.0.0.0/16")
	}

	c.Images = ImagesConfig{
		App:          l.build("appContext", "appDockerfile"),
		Nginx:        l.build("nginxContext", "nginxDockerfile"),
		Architecture: l.oneOf("cpuArchitecture", []string{"X86_64", "ARM64"}),
		ImagesToKeep: l.integer("imagesToKeep", 2, 1000),
	}

	c.Edge = EdgeConfig{
		CertificateARN:             l.str("certificateArn"),
		DomainName:                 l.str("domainName"),
		HostedZoneID:               l.str("hostedZoneId"),
		AllowedCIDRs:               l.cidrs("allowedCidrs"),
		TestListenerPort:           l.integer("testListenerPort", 1, 65535),
		TestListenerCIDRs:          l.cidrs("testListenerCidrs"),
		HealthCheckPath:            l.str("healthCheckPath"),
		HealthCheckIntervalSeconds: l.integer("healthCheckIntervalSeconds", 5, 300),
		HealthyThreshold:           l.integer("healthyThreshold", 2, 10),
		UnhealthyThreshold:         l.integer("unhealthyThreshold", 2, 10),
		DeregistrationDelaySeconds: l.integer("deregistrationDelaySeconds", 0, 3600),
	}
	if arn := c.Edge.CertificateARN; arn != "" {
		m := certARNRE.FindStringSubmatch(arn)
		switch {
		case m == nil:
			l.fail("certificateArn", arn, "an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<id>, or empty for HTTP only")
		case c.Region != "" && m[2] != c.Region:
			l.fail("certificateArn", arn, fmt.Sprintf("a certificate in the stack's region %s (an ALB can only use certificates of its own region)", c.Region))
		}
	}
	if d := c.Edge.DomainName; d != "" && (!domainRE.MatchString(d) || len(d) > 253) {
		l.fail("domainName", d, "a lowercase DNS name such as app.example.com, or empty")
	}
	if z := c.Edge.HostedZoneID; z != "" && !zoneRE.MatchString(z) {
		l.fail("hostedZoneId", z, "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ, or empty")
	}
	if (c.Edge.DomainName == "") != (c.Edge.HostedZoneID == "") {
		l.fail("hostedZoneId", c.Edge.HostedZoneID, "set together with domainName (the zone that holds it)")
	}
	if len(c.Edge.AllowedCIDRs) == 0 {
		l.fail("allowedCidrs", "[]", "at least one IPv4 CIDR (0.0.0.0/0 for the internet)")
	}
	if p := c.Edge.TestListenerPort; p == 80 || p == 443 {
		l.fail("testListenerPort", strconv.Itoa(p), "a port other than 80 and 443, which the production listener uses")
	}
	if p := c.Edge.HealthCheckPath; !strings.HasPrefix(p, "/") || len(p) > 1024 || strings.ContainsAny(p, " \t\n") {
		l.fail("healthCheckPath", p, "a URL path starting with / (at most 1024 characters, no spaces)")
	}

	s := ServiceConfig{
		CPU:                           l.integer("taskCpu", 256, 16384),
		Memory:                        l.integer("taskMemory", 512, 122880),
		NginxSharePercent:             l.integer("nginxSharePercent", 1, 99),
		AppSharePercent:               l.integer("appSharePercent", 1, 99),
		NginxPort:                     l.integer("nginxPort", 1024, 65535),
		AppPort:                       l.integer("appPort", 1, 65535),
		Environment:                   l.stringMap("appEnvironment"),
		Secrets:                       l.stringMap("appSecrets"),
		SecretKeyName:                 l.str("appSecretKeyName"),
		KMSKeyARNs:                    l.list("secretsKmsKeyArns"),
		LogRetentionDays:              l.integer("logRetentionDays", 1, 3653),
		DesiredCount:                  l.integer("desiredCount", 1, 100),
		MinTasks:                      l.integer("minTasks", 1, 100),
		MaxTasks:                      l.integer("maxTasks", 1, 100),
		CPUTargetPercent:              l.integer("cpuTargetPercent", 10, 90),
		FargateSpot:                   l.boolean("fargateSpot"),
		HealthCheckGracePeriodSeconds: l.integer("healthCheckGracePeriodSeconds", 0, 3600),
	}
	c.Service = s
	l.validateService(c)

	c.Deploy = DeployConfig{
		DeploymentConfig:       l.oneOf("deploymentConfig", DeploymentConfigs),
		TerminationWaitMinutes: l.integer("terminationWaitMinutes", 0, 2880),
		Alarm5xxThreshold:      l.integer("alarm5xxThreshold", 1, 100000),
		Rollout: RolloutConfig{
			Enabled:              l.boolean("rollout"),
			Timeout:              time.Duration(l.integer("rolloutTimeoutMinutes", 1, 1440)) * time.Minute,
			StopOnTimeout:        l.boolean("stopOnTimeout"),
			ActivePolicy:         l.oneOf("activeDeploymentPolicy", []string{"wait", "stop"}),
			AcceptTrafficShifted: l.boolean("acceptTrafficShifted"),
			MigrationCommand:     l.list("migrationCommand"),
			Hooks:                l.stringMap("rolloutHooks"),
		},
	}
	for _, event := range sortedKeys(c.Deploy.Rollout.Hooks) {
		if !slices.Contains(rollout.HookEvents, event) {
			l.fail("rolloutHooks", event, "lifecycle events among "+strings.Join(rollout.HookEvents, ", "))
		} else if fn := c.Deploy.Rollout.Hooks[event]; !lambdaARNRE.MatchString(fn) {
			l.fail("rolloutHooks", event+": "+fn, "a Lambda function ARN, arn:aws:lambda:<region>:<account>:function:<name>")
		}
	}
	c.Deploy.Rollout.Check = l.rolloutCheck(c.Deploy)
	l.rolloutTime(c)
	c.Protect = l.boolean("protect")
	c.Jobs = l.jobs(c)
	c.CI = CIConfig{
		Repository:      l.str("ciRepository"),
		OIDCProviderARN: l.str("ciOidcProviderArn"),
		Branch:          l.str("ciBranch"),
		StateBucket:     l.str("ciStateBucket"),
	}
	if r := c.CI.Repository; r != "" {
		// The form decides the OIDC subject the roles trust, so it must be the one
		// GitHub issues for this repository: both ids (immutable subject claims) or none.
		if m := repoRE.FindStringSubmatch(r); m == nil {
			l.fail("ciRepository", r, "a GitHub repository as owner/name, or as owner@OWNER_ID/name@REPO_ID when it uses immutable OIDC subject claims (the sub_claim_prefix of GET /repos/OWNER/NAME/actions/oidc/customization/sub, without repo:), or empty for no CI roles")
		} else if (m[2] == "") != (m[4] == "") {
			l.fail("ciRepository", r, "owner/name or owner@OWNER_ID/name@REPO_ID: GitHub's immutable subject carries both ids, the name form neither")
		}
	}
	if a := c.CI.OIDCProviderARN; a != "" && !oidcARNRE.MatchString(a) {
		l.fail("ciOidcProviderArn", a, "the ARN of the account's GitHub OIDC provider, arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com, or empty to create it")
	}
	if b := c.CI.Branch; !branchRE.MatchString(b) || strings.Contains(b, "..") {
		l.fail("ciBranch", b, "a branch name such as main")
	}
	if b := c.CI.StateBucket; b != "" && !bucketRE.MatchString(b) {
		l.fail("ciStateBucket", b, "an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens), without s3://, or empty for Pulumi Cloud")
	}
	// CI's `pulumi up` must end within its AWS session (CISessionHours), an hour of
	// which building, pushing and updating take.
	if r := c.Deploy.Rollout; c.CI.Enabled() && r.Enabled && r.Timeout > time.Duration(CISessionHours-1)*time.Hour {
		l.fail("rolloutTimeoutMinutes", strconv.Itoa(int(r.Timeout/time.Minute)), fmt.Sprintf(
			"at most %d while ciRepository is set: CI's AWS session lasts %d h, as long as a GitHub-hosted job may run, and building, pushing and updating take the last hour; for longer termination waits set acceptTrafficShifted: true (the rollout then ends once all traffic moved)",
			(CISessionHours-1)*60, CISessionHours))
	}
	if v, _ := get("aws:assumeRoleWithWebIdentity"); v != "" && c.Deploy.Rollout.Enabled {
		l.fail("aws:assumeRoleWithWebIdentity", "(set)", "unset while rollout is true: the rollout cannot act as that identity yet; assume the role before `pulumi up` (environment credentials, as CI's OIDC step does) or set rollout: false")
	}

	// Derived: what prod always has.
	prod := c.Environment == "prod"
	c.Network.FlowLogs, c.Edge.AccessLogs = prod, prod
	if prod {
		if !c.Edge.HTTPS() {
			l.fail("certificateArn", "", "set, or domainName and hostedZoneId set, when environment is prod: prod serves HTTPS only")
		}
		if c.Network.AZCount < 2 {
			l.fail("availabilityZones", strconv.Itoa(c.Network.AZCount), "at least 2 when environment is prod")
		}
		if s.MinTasks < 2 {
			l.fail("minTasks", strconv.Itoa(s.MinTasks), "at least 2 when environment is prod, so tasks run in two AZs")
		}
		if s.DesiredCount < 2 {
			l.fail("desiredCount", strconv.Itoa(s.DesiredCount), "at least 2 when environment is prod")
		}
	}

	if err := errors.Join(l.errs...); err != nil {
		return nil, fmt.Errorf("invalid configuration for stack %q:\n%w", stack, err)
	}
	return c, nil
}

func (l *loader) validateService(c *Config) {
	s := c.Service
	if mems, ok := fargateMemory[s.CPU]; !ok {
		l.fail("taskCpu", strconv.Itoa(s.CPU), "one of 256, 512, 1024, 2048, 4096, 8192, 16384")
	} else if !slices.Contains(mems, s.Memory) {
		l.fail("taskMemory", strconv.Itoa(s.Memory), fmt.Sprintf("a Fargate memory size for taskCpu %d: %s MiB", s.CPU, describeSizes(mems)))
	}
	if s.NginxSharePercent+s.AppSharePercent > 100 {
		l.fail("appSharePercent", strconv.Itoa(s.AppSharePercent), fmt.Sprintf("at most %d, so nginxSharePercent (%d) + appSharePercent fit in the task (100%%)", 100-s.NginxSharePercent, s.NginxSharePercent))
	}
	if s.NginxPort == s.AppPort {
		l.fail("appPort", strconv.Itoa(s.AppPort), "a port other than nginxPort; both containers share the task's network namespace")
	}
	if !slices.Contains(logRetentionDays, s.LogRetentionDays) {
		l.fail("logRetentionDays", strconv.Itoa(s.LogRetentionDays), "one of "+joinInts(logRetentionDays))
	}
	if s.MinTasks > s.MaxTasks {
		l.fail("minTasks", strconv.Itoa(s.MinTasks), fmt.Sprintf("at most maxTasks (%d)", s.MaxTasks))
	} else if s.DesiredCount < s.MinTasks || s.DesiredCount > s.MaxTasks {
		l.fail("desiredCount", strconv.Itoa(s.DesiredCount), fmt.Sprintf("between minTasks (%d) and maxTasks (%d)", s.MinTasks, s.MaxTasks))
	}
	if s.FargateSpot && c.Images.Architecture == "ARM64" {
		l.fail("fargateSpot", "true", "false when cpuArchitecture is ARM64 (Fargate Spot runs X86_64 only)")
	}
	for _, k := range sortedKeys(s.Environment) {
		if !envNameRE.MatchString(k) {
			l.fail("appEnvironment", k, "variable names of letters, digits and underscores, not starting with a digit")
		}
		if secrets.LikeSecretName(k) {
			l.fail("appEnvironment", k, "a name without SECRET, PASSWORD, TOKEN or KEY: such values are secrets, set them through appSecrets")
		}
	}
	if n := s.SecretKeyName; n != "" {
		if !envNameRE.MatchString(n) {
			l.fail("appSecretKeyName", n, "a variable name of letters, digits and underscores, or empty")
		}
		if _, dup := s.Environment[n]; dup {
			l.fail("appSecretKeyName", n, "a name not also set in appEnvironment")
		}
	}
	for _, k := range s.KMSKeyARNs {
		if !kmsKeyARNRE.MatchString(k) {
			l.fail("secretsKmsKeyArns", k, "KMS key ARNs, arn:aws:kms:<region>:<account>:key/<id> (not aliases: IAM grants decrypt on keys)")
		}
	}
	for _, k := range sortedKeys(s.Secrets) {
		arn := s.Secrets[k]
		switch {
		case !envNameRE.MatchString(k):
			l.fail("appSecrets", k, "variable names of letters, digits and underscores, not starting with a digit")
		case !ssmARNRE.MatchString(arn) && !secretARNRE.MatchString(arn):
			l.fail("appSecrets", k+": "+arn, "an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>) or a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
		}
		if _, dup := s.Environment[k]; dup {
			l.fail("appSecrets", k, "a name not also set in appEnvironment")
		}
	}
}

// rolloutCheck reads the load gate; nil when unset or empty.
func (l *loader) rolloutCheck(d DeployConfig) *RolloutCheck {
	v, ok := l.raw("rolloutCheck")
	if !ok || strings.TrimSpace(v) == "{}" {
		return nil
	}
	c := defaultRolloutCheck
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		l.fail("rolloutCheck", v, "an object of paths, rate, durationSeconds, warmUpSeconds, maxP99Ms, maxP95Ms, minSuccessPercent ("+err.Error()+")")
		return nil
	}
	for _, p := range c.Paths {
		if !strings.HasPrefix(p, "/") {
			l.fail("rolloutCheck", "paths: "+p, "URL paths starting with /")
		}
	}
	if len(c.Paths) == 0 {
		l.fail("rolloutCheck", "paths: []", "at least one path")
	}
	if c.Rate <= 0 || c.Rate > 1000 {
		l.fail("rolloutCheck", fmt.Sprintf("rate: %v", c.Rate), "a rate above 0 and at most 1000 requests per second")
	}
	if c.DurationSeconds < 5 || c.DurationSeconds > 900 || c.WarmUpSeconds < 0 || c.WarmUpSeconds > 300 {
		l.fail("rolloutCheck", fmt.Sprintf("durationSeconds: %d, warmUpSeconds: %d", c.DurationSeconds, c.WarmUpSeconds), "durationSeconds from 5 to 900 and warmUpSeconds from 0 to 300")
	}
	if c.MaxP99Ms < 0 || c.MaxP95Ms < 0 || c.MinSuccessPercent < 0 || c.MinSuccessPercent > 100 || (c.MaxP99Ms == 0 && c.MaxP95Ms == 0 && c.MinSuccessPercent == 0) {
		l.fail("rolloutCheck", v, "at least one threshold: maxP99Ms or maxP95Ms above 0, or minSuccessPercent from 0 to 100")
	}
	// The gate runs while the old tasks wait to be terminated: without that wait
	// there is nothing to roll back to.
	switch {
	case !d.Rollout.Enabled:
		l.fail("rolloutCheck", v, "unset while rollout is false: the gate is part of the rollout")
	case d.TerminationWaitMinutes == 0:
		l.fail("rolloutCheck", v, "unset while terminationWaitMinutes is 0: the gate runs while the old tasks wait, so a failure can roll back to them")
	case d.Rollout.AcceptTrafficShifted:
		l.fail("rolloutCheck", v, "unset while acceptTrafficShifted is true: that ends the rollout before the gate could judge it")
	case time.Duration(c.WarmUpSeconds+c.DurationSeconds)*time.Second+GateMargin() > time.Duration(d.TerminationWaitMinutes)*time.Minute:
		// The gate may start a poll late, and its stop must reach CodeDeploy before
		// the wait ends: after it the deployment is Succeeded and cannot roll back.
		l.fail("terminationWaitMinutes", strconv.Itoa(d.TerminationWaitMinutes), fmt.Sprintf("at least %s with rolloutCheck's warmUpSeconds %d + durationSeconds %d: the old tasks must outlive the load by %s (two polls and a minute), so a failed gate can still roll back to them",
			minutesCeil(time.Duration(c.WarmUpSeconds+c.DurationSeconds)*time.Second+GateMargin()), c.WarmUpSeconds, c.DurationSeconds, GateMargin()))
	}
	return &c
}

// GateMargin is what the termination wait must leave beyond the gate's load: the
// gate may start a poll late, and its StopDeployment must land a poll before the
// wait ends, with a minute to spare.
func GateMargin() time.Duration { return 2*rollout.DefaultPollInterval + time.Minute }

func minutesCeil(d time.Duration) string {
	return fmt.Sprintf("%d min", int((d+time.Minute-1)/time.Minute))
}

// DeploymentTime is how long a deployment takes with this configuration: to all
// traffic on the new tasks, and to its end (termination wait and draining).
func DeploymentTime(c *Config) (toAllTraffic, toComplete time.Duration) {
	e, s, d := c.Edge, c.Service, c.Deploy
	healthy := max(time.Duration(e.HealthyThreshold*e.HealthCheckIntervalSeconds)*time.Second, time.Duration(s.HealthCheckGracePeriodSeconds)*time.Second)
	toAllTraffic = TaskStartup + healthy + TrafficShift[d.DeploymentConfig]
	return toAllTraffic, toAllTraffic + time.Duration(d.TerminationWaitMinutes)*time.Minute + time.Duration(e.DeregistrationDelaySeconds)*time.Second
}

// rolloutTime refuses a timeout shorter than the deployment's own schedule: on
// timeout the rollout stops the deployment with rollback, so a timeout that ends
// during a linear shift would roll back every good deployment.
func (l *loader) rolloutTime(c *Config) {
	r := c.Deploy.Rollout
	if !r.Enabled {
		return
	}
	toAll, toComplete := DeploymentTime(c)
	need, what := toComplete, fmt.Sprintf("terminationWaitMinutes %d keeps the old tasks after that", c.Deploy.TerminationWaitMinutes)
	if r.AcceptTrafficShifted {
		need, what = toAll, "acceptTrafficShifted ends the rollout once all traffic moved"
	}
	if r.Timeout < need+rolloutSlack {
		l.fail("rolloutTimeoutMinutes", strconv.Itoa(int(r.Timeout/time.Minute)), fmt.Sprintf(
			"at least %s: with deploymentConfig %s, all traffic is on the new tasks after about %s and %s; a deployment takes about %s, plus %s for slow starts and the migration (or set acceptTrafficShifted: true, or a shorter terminationWaitMinutes)",
			minutesCeil(need+rolloutSlack), c.Deploy.DeploymentConfig, toAll.Round(time.Second), what, need.Round(time.Second), rolloutSlack))
	}
}

// loader reads keys of the project namespace, applying the defaults of Settings and
// collecting every error instead of stopping at the first.
type loader struct {
	ns   string
	get  ConfigGetter
	errs []error
}

func (l *loader) fail(key, value, allowed string) {
	full := key
	if !strings.Contains(key, ":") {
		full = l.ns + ":" + key
	}
	l.errs = append(l.errs, fmt.Errorf("config %s = %q: must be %s", full, value, allowed))
}

// raw returns the configured text of key, or "" and false when it is unset.
func (l *loader) raw(key string) (string, bool) {
	v, ok := l.get(l.ns + ":" + key)
	if ok && v == "" {
		ok = false
	}
	return v, ok
}

func (l *loader) str(key string) string {
	if v, ok := l.raw(key); ok {
		return v
	}
	d, _ := setting(key).Default.(string)
	return d
}

func (l *loader) oneOf(key string, allowed []string) string {
	v := l.str(key)
	if slices.Contains(allowed, v) {
		return v
	}
	l.fail(key, v, "one of "+strings.Join(allowed, ", "))
	return v
}

func (l *loader) integer(key string, lo, hi int) int {
	v, ok := l.raw(key)
	if !ok {
		return setting(key).Default.(int)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		l.fail(key, v, fmt.Sprintf("a whole number from %d to %d", lo, hi))
		return setting(key).Default.(int)
	}
	if n < lo || n > hi {
		l.fail(key, v, fmt.Sprintf("a whole number from %d to %d", lo, hi))
	}
	return n
}

func (l *loader) boolean(key string) bool {
	v, ok := l.raw(key)
	if !ok {
		return setting(key).Default.(bool)
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		l.fail(key, v, "true or false")
	}
	return b
}

// list reads an array of strings, given as JSON (what Pulumi passes for YAML lists).
func (l *loader) list(key string) []string {
	v, ok := l.raw(key)
	if !ok {
		var out []string
		for _, d := range setting(key).Default.([]any) {
			out = append(out, d.(string))
		}
		return out
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		l.fail(key, v, `a list of strings, such as ["10.0.0.0/8"]`)
		return nil
	}
	return out
}

func (l *loader) cidrs(key string) []string {
	out := l.list(key)
	for _, c := range out {
		if p, err := netip.ParsePrefix(c); err != nil || !p.Addr().Is4() || p.Masked() != p {
			l.fail(key, c, "IPv4 network CIDRs such as 203.0.113.0/24 or 0.0.0.0/0")
		}
	}
	return out
}

// stringMap reads an object of string values, given as JSON.
func (l *loader) stringMap(key string) map[string]string {
	v, ok := l.raw(key)
	out := map[string]string{}
	if !ok {
		return out
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		l.fail(key, v, `an object of name: value pairs, such as {"DJANGO_DEBUG": "0"}`)
		return out
	}
	for k, val := range raw {
		switch t := val.(type) {
		case string:
			out[k] = t
		case float64, bool:
			out[k] = fmt.Sprint(t)
		default:
			l.fail(key, fmt.Sprintf("%s: %v", k, val), "string, number or boolean values")
		}
	}
	return out
}

// build reads a docker build context and Dockerfile and checks they exist, relative
// to the working directory (Pulumi runs the program in the project directory).
func (l *loader) build(ctxKey, fileKey string) BuildConfig {
	b := BuildConfig{Context: filepath.ToSlash(filepath.Clean(l.str(ctxKey))), Dockerfile: l.str(fileKey)}
	if st, err := os.Stat(b.Context); err != nil || !st.IsDir() {
		l.fail(ctxKey, b.Context, "an existing directory relative to the project directory")
		return b
	}
	if b.Dockerfile == "" {
		b.Dockerfile = filepath.ToSlash(filepath.Join(b.Context, "Dockerfile"))
	}
	if st, err := os.Stat(b.Dockerfile); err != nil || st.IsDir() {
		l.fail(fileKey, b.Dockerfile, "an existing Dockerfile relative to the project directory")
	}
	return b
}

func (l *loader) region() string {
	r, ok := l.get("aws:region")
	if !ok || r == "" {
		r = os.Getenv("AWS_REGION")
	}
	if r == "" {
		r = os.Getenv("AWS_DEFAULT_REGION")
	}
	if !regionRE.MatchString(r) {
		l.fail("aws:region", r, "an AWS region such as ap-northeast-2 or us-east-1 (pulumi config set aws:region <region>)")
	}
	return r
}

var (
	domainRE    = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	zoneRE      = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
	kmsKeyARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$`)
	repoRE      = regexp.MustCompile(`^([A-Za-z0-9_.-]+)(@[1-9][0-9]*)?/([A-Za-z0-9_.-]+)(@[1-9][0-9]*)?$`)
	oidcARNRE   = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$`)
	branchRE    = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)
	bucketRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

var roleARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/[\w+=,.@/-]+$`)

// identity reads the aws:* settings the provider authenticates with, so the
// rollout can authenticate the same way.
func (l *loader) identity(region string) rollout.Identity {
	get := func(key string) string { v, _ := l.get(key); return v }
	id := rollout.Identity{
		Region: region, Profile: get("aws:profile"),
		AccessKey: get("aws:accessKey"), SecretKey: get("aws:secretKey"), Token: get("aws:token"),
	}
	for key, dst := range map[string]*[]string{"aws:sharedConfigFiles": &id.SharedConfigFiles, "aws:sharedCredentialsFiles": &id.SharedCredentialsFiles} {
		if v := get(key); v != "" {
			if err := json.Unmarshal([]byte(v), dst); err != nil {
				l.fail(key, v, `a list of file paths, such as ["~/.aws/config"]`)
			}
		}
	}
	if v := get("aws:assumeRole"); v != "" {
		var r rollout.AssumeRole
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			l.fail("aws:assumeRole", v, "an object with roleArn (and optionally sessionName, externalId, duration, policy, policyArns, sourceIdentity, tags, transitiveTagKeys)")
		} else {
			id.AssumeRoles = append(id.AssumeRoles, r)
		}
	}
	if v := get("aws:assumeRoles"); v != "" {
		var rs []rollout.AssumeRole
		if err := json.Unmarshal([]byte(v), &rs); err != nil {
			l.fail("aws:assumeRoles", v, "a list of objects with roleArn, assumed in order")
		} else {
			id.AssumeRoles = append(id.AssumeRoles, rs...)
		}
	}
	for _, r := range id.AssumeRoles {
		if !roleARNRE.MatchString(r.RoleARN) {
			l.fail("aws:assumeRole", r.RoleARN, "a roleArn of an IAM role, arn:aws:iam::<account>:role/<name>")
		}
		if _, err := time.ParseDuration(r.Duration); r.Duration != "" && err != nil {
			l.fail("aws:assumeRole", r.Duration, `a duration such as "1h" or "15m"`)
		}
	}
	if (id.AccessKey == "") != (id.SecretKey == "") {
		l.fail("aws:accessKey", "(secret)", "set together with aws:secretKey")
	}
	return id
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func joinInts(list []int) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// describeSizes prints a memory list compactly: "512, 1024, 2048" or "1024 to 4096 in steps of 1024".
func describeSizes(m []int) string {
	if len(m) > 3 {
		return fmt.Sprintf("%d to %d in steps of %d", m[0], m[len(m)-1], m[1]-m[0])
	}
	return joinInts(m)
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// --- workers, schedules and queues (issue 16) ---

// JobsConfig is the work beside the web service, on the same app image: workers
// (ECS services with rolling deployments), schedules (EventBridge Scheduler runs of
// a one-off task) and the SQS queues workers and web may use. Each map is keyed by
// the name the config gives.
type JobsConfig struct {
	Workers   map[string]WorkerConfig
	Schedules map[string]ScheduleConfig
	Queues    map[string]QueueConfig
}

// Enabled tells whether the stack runs anything beside the web service.
func (j JobsConfig) Enabled() bool { return len(j.Workers)+len(j.Schedules) > 0 }

// WorkerConfig is one worker service.
type WorkerConfig struct {
	Command     []string
	CPU, Memory int
	// MinCount and MaxCount are equal for a fixed count (Scaling "").
	MinCount, MaxCount int
	// Scaling is "" (fixed), "cpu" (target tracking on the service's CPU) or "queue"
	// (step scaling on Queue's backlog).
	Scaling          string
	Queue            string
	MessagesPerTask  int
	CPUTargetPercent int
	Spot             bool
	// HealthCheck is the container health check command ("" for none), as ECS
	// takes it: CMD or CMD-SHELL first.
	HealthCheck []string
}

// ScheduleConfig is one scheduled run of a command in a one-off task.
type ScheduleConfig struct {
	Expression     string // cron(...) or rate(...)
	Timezone       string // IANA name
	Command        []string
	CPU, Memory    int
	TimeoutMinutes int
	Retries        int
	Spot           bool
}

// QueueConfig is one SQS queue with its dead-letter queue.
type QueueConfig struct {
	VisibilityTimeoutSeconds int
	MaxReceiveCount          int
	RetentionDays            int
}

// The JSON forms of the config objects; absent fields take these defaults.
type workerJSON struct {
	Command          []string `json:"command"`
	CPU              int      `json:"cpu"`
	Memory           int      `json:"memory"`
	Count            *int     `json:"count"`
	MinCount         *int     `json:"minCount"`
	MaxCount         *int     `json:"maxCount"`
	Queue            string   `json:"queue"`
	MessagesPerTask  *int     `json:"messagesPerTask"`
	CPUTargetPercent *int     `json:"cpuTargetPercent"`
	Spot             bool     `json:"spot"`
	HealthCheck      []string `json:"healthCheck"`
}

type scheduleJSON struct {
	Schedule       string   `json:"schedule"`
	Timezone       string   `json:"timezone"`
	Command        []string `json:"command"`
	CPU            int      `json:"cpu"`
	Memory         int      `json:"memory"`
	TimeoutMinutes int      `json:"timeoutMinutes"`
	Retries        *int     `json:"retries"`
	Spot           bool     `json:"spot"`
}

type queueJSON struct {
	VisibilityTimeoutSeconds int `json:"visibilityTimeoutSeconds"`
	MaxReceiveCount          int `json:"maxReceiveCount"`
	RetentionDays            int `json:"retentionDays"`
}

const (
	workerFields   = "command, cpu, memory, count (or minCount and maxCount), queue, messagesPerTask, cpuTargetPercent, spot, healthCheck"
	scheduleFields = "schedule, timezone, command, cpu, memory, timeoutMinutes, retries, spot"
	queueFields    = "visibilityTimeoutSeconds, maxReceiveCount, retentionDays"
)

// jobNameRE: names end up in resource, family and schedule names.
var jobNameRE = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$`)

// jobs reads workers, schedules and queues.
func (l *loader) jobs(c *Config) JobsConfig {
	j := JobsConfig{Workers: map[string]WorkerConfig{}, Schedules: map[string]ScheduleConfig{}, Queues: map[string]QueueConfig{}}
	for name, raw := range l.objects("queues", queueFields) {
		var q queueJSON
		if !l.decode("queues", name, raw, &q, queueFields) {
			continue
		}
		j.Queues[name] = l.queue(name, q)
	}
	for _, qn := range slices.Sorted(maps.Keys(j.Queues)) {
		env := QueueEnv(qn)
		_, inEnv := c.Service.Environment[env]
		_, inSecrets := c.Service.Secrets[env]
		switch {
		case inEnv || inSecrets:
			l.fail("queues", qn, fmt.Sprintf("a name whose variable %s is not also set in appEnvironment or appSecrets", env))
		case secrets.LikeSecretName(env):
			l.fail("queues", qn, fmt.Sprintf("a name whose variable %s does not look like a secret (SECRET, PASSWORD, TOKEN, KEY): the policy pack refuses such names in plain environment", env))
		}
	}
	for name, raw := range l.objects("workers", workerFields) {
		var w workerJSON
		if !l.decode("workers", name, raw, &w, workerFields) {
			continue
		}
		j.Workers[name] = l.worker(c, j, name, w)
	}
	for name, raw := range l.objects("schedules", scheduleFields) {
		if _, dup := j.Workers[name]; dup {
			l.fail("schedules", name, "a name no worker has: workers and schedules share task definition families and log streams")
		}
		var s scheduleJSON
		if !l.decode("schedules", name, raw, &s, scheduleFields) {
			continue
		}
		j.Schedules[name] = l.schedule(c, name, s)
	}
	return j
}

// objects reads an object of named objects, checking the names.
func (l *loader) objects(key, fields string) map[string]json.RawMessage {
	v, ok := l.raw(key)
	out := map[string]json.RawMessage{}
	if !ok {
		return out
	}
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		l.fail(key, v, "an object of name: {"+fields+"}")
		return map[string]json.RawMessage{}
	}
	for _, name := range slices.Sorted(maps.Keys(out)) {
		if !jobNameRE.MatchString(name) {
			l.fail(key, name, "names of 1-20 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen")
			delete(out, name)
		}
	}
	return out
}

// decode reads one named object, refusing unknown fields.
func (l *loader) decode(key, name string, raw json.RawMessage, dst any, fields string) bool {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		l.fail(key, name+": "+string(raw), "an object of "+fields+" ("+err.Error()+")")
		return false
	}
	return true
}

func (l *loader) queue(name string, q queueJSON) QueueConfig {
	out := QueueConfig{VisibilityTimeoutSeconds: 30, MaxReceiveCount: 5, RetentionDays: 4}
	if q.VisibilityTimeoutSeconds != 0 {
		out.VisibilityTimeoutSeconds = q.VisibilityTimeoutSeconds
	}
	if q.MaxReceiveCount != 0 {
		out.MaxReceiveCount = q.MaxReceiveCount
	}
	if q.RetentionDays != 0 {
		out.RetentionDays = q.RetentionDays
	}
	// SQS's limits (CreateQueue, Amazon SQS API reference): visibility 0-43200 s,
	// retention 60 s-14 days; a redrive policy's maxReceiveCount 1-1000.
	if v := out.VisibilityTimeoutSeconds; v < 0 || v > 43200 {
		l.fail("queues", fmt.Sprintf("%s.visibilityTimeoutSeconds: %d", name, v), "from 0 to 43200 seconds (12 hours)")
	}
	if v := out.MaxReceiveCount; v < 1 || v > 1000 {
		l.fail("queues", fmt.Sprintf("%s.maxReceiveCount: %d", name, v), "from 1 to 1000 receives before a message moves to the dead-letter queue")
	}
	if v := out.RetentionDays; v < 1 || v > 14 {
		l.fail("queues", fmt.Sprintf("%s.retentionDays: %d", name, v), "from 1 to 14 days")
	}
	return out
}

// size applies the default task size and checks it is a Fargate pair.
func (l *loader) size(key, name string, cpu, memory int) (int, int) {
	if cpu == 0 {
		cpu = 256
	}
	if memory == 0 {
		memory = 2 * cpu
	}
	mems, ok := fargateMemory[cpu]
	switch {
	case !ok:
		l.fail(key, fmt.Sprintf("%s.cpu: %d", name, cpu), "Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384")
	case !slices.Contains(mems, memory):
		l.fail(key, fmt.Sprintf("%s.memory: %d", name, memory), fmt.Sprintf("a Fargate memory size for cpu %d: %s MiB", cpu, describeSizes(mems)))
	}
	return cpu, memory
}

// command checks a command list: ECS runs it as the container's command.
func (l *loader) command(key, name string, cmd []string) {
	if len(cmd) == 0 || slices.Contains(cmd, "") {
		l.fail(key, name+".command", `a non-empty list of non-empty strings, such as ["python", "manage.py", "worker"]`)
	}
}

// spot refuses Fargate Spot where it does not belong.
func (l *loader) spot(c *Config, key, name string, spot bool) {
	switch {
	case !spot:
	case c.Environment == "prod":
		l.fail(key, name+".spot: true", "false when environment is prod: Spot capacity may be reclaimed with two minutes' notice")
	case c.Images.Architecture == "ARM64":
		l.fail(key, name+".spot: true", "false when cpuArchitecture is ARM64 (Fargate Spot runs X86_64 only)")
	}
}

func (l *loader) worker(c *Config, j JobsConfig, name string, w workerJSON) WorkerConfig {
	out := WorkerConfig{Command: w.Command, Queue: w.Queue, Spot: w.Spot, MessagesPerTask: 10, CPUTargetPercent: 60}
	l.command("workers", name, w.Command)
	out.CPU, out.Memory = l.size("workers", name, w.CPU, w.Memory)
	l.spot(c, "workers", name, w.Spot)
	switch {
	case w.Count != nil && (w.MinCount != nil || w.MaxCount != nil):
		l.fail("workers", name+".count", "unset when minCount and maxCount are set: a fixed count, or a range autoscaling keeps")
	case w.Count != nil:
		out.MinCount, out.MaxCount = *w.Count, *w.Count
		if *w.Count < 0 || *w.Count > 100 {
			l.fail("workers", fmt.Sprintf("%s.count: %d", name, *w.Count), "from 0 to 100 tasks")
		}
	case w.MinCount != nil || w.MaxCount != nil:
		if w.MinCount == nil || w.MaxCount == nil {
			l.fail("workers", name+".minCount", "set together with maxCount")
			break
		}
		out.MinCount, out.MaxCount = *w.MinCount, *w.MaxCount
		out.Scaling = "cpu"
		if w.Queue != "" {
			out.Scaling = "queue"
		}
		if out.MinCount < 0 || out.MaxCount < 1 || out.MaxCount > 100 || out.MinCount > out.MaxCount {
			l.fail("workers", fmt.Sprintf("%s.minCount: %d, maxCount: %d", name, out.MinCount, out.MaxCount), "minCount from 0 and maxCount from 1 to 100, minCount at most maxCount")
		}
	default:
		out.MinCount, out.MaxCount = 1, 1
	}
	if w.Queue != "" {
		if _, ok := j.Queues[w.Queue]; !ok {
			l.fail("workers", name+".queue: "+w.Queue, "the name of a queue in queues ("+strings.Join(slices.Sorted(maps.Keys(j.Queues)), ", ")+")")
		}
	}
	if w.MessagesPerTask != nil {
		out.MessagesPerTask = *w.MessagesPerTask
		if out.Scaling != "queue" {
			l.fail("workers", name+".messagesPerTask", "set only with queue, minCount and maxCount: it is the backlog per task queue scaling keeps")
		} else if out.MessagesPerTask < 1 || out.MessagesPerTask > 100000 {
			l.fail("workers", fmt.Sprintf("%s.messagesPerTask: %d", name, out.MessagesPerTask), "from 1 to 100000 messages")
		}
	}
	if w.CPUTargetPercent != nil {
		out.CPUTargetPercent = *w.CPUTargetPercent
		if out.Scaling != "cpu" {
			l.fail("workers", name+".cpuTargetPercent", "set only with minCount and maxCount and without queue: queue workers scale on their backlog")
		} else if out.CPUTargetPercent < 10 || out.CPUTargetPercent > 90 {
			l.fail("workers", fmt.Sprintf("%s.cpuTargetPercent: %d", name, out.CPUTargetPercent), "from 10 to 90")
		}
	}
	if hc := w.HealthCheck; len(hc) > 0 {
		if slices.Contains(hc, "") {
			l.fail("workers", name+".healthCheck", "a list of non-empty strings")
		}
		// ECS takes CMD (exec the arguments) or CMD-SHELL (a shell command).
		if hc[0] != "CMD" && hc[0] != "CMD-SHELL" {
			hc = append([]string{"CMD"}, hc...)
		}
		out.HealthCheck = hc
	}
	return out
}

func (l *loader) schedule(c *Config, name string, s scheduleJSON) ScheduleConfig {
	out := ScheduleConfig{Expression: s.Schedule, Timezone: s.Timezone, Command: s.Command, Spot: s.Spot, TimeoutMinutes: s.TimeoutMinutes, Retries: 2}
	var every time.Duration // a rate()'s interval
	if expr, err := cron.Parse(s.Schedule); err != nil {
		l.fail("schedules", name+".schedule: "+s.Schedule, "an EventBridge Scheduler expression, cron(minutes hours day-of-month month day-of-week year) or rate(value unit): "+err.Error())
	} else {
		every = expr.Interval()
	}
	if out.Timezone == "" {
		out.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(out.Timezone); err != nil || out.Timezone == "Local" {
		l.fail("schedules", name+".timezone: "+out.Timezone, "an IANA time zone such as UTC, Asia/Seoul or Europe/Berlin")
	}
	l.command("schedules", name, s.Command)
	out.CPU, out.Memory = l.size("schedules", name, s.CPU, s.Memory)
	l.spot(c, "schedules", name, s.Spot)
	if out.TimeoutMinutes == 0 {
		out.TimeoutMinutes = 30
		if every > 0 {
			out.TimeoutMinutes = min(30, int(every/time.Minute))
		}
	}
	// A rate() run that outlasts its interval overlaps the next one: Scheduler
	// starts runs on time, whatever still runs (review of issue 16). At most the
	// interval, not less: rate(1 minute) must stay possible.
	if v := out.TimeoutMinutes; v < 1 || v > 1440 {
		l.fail("schedules", fmt.Sprintf("%s.timeoutMinutes: %d", name, v), "from 1 to 1440 minutes")
	} else if every > 0 && time.Duration(v)*time.Minute > every {
		l.fail("schedules", fmt.Sprintf("%s.timeoutMinutes: %d", name, v), fmt.Sprintf("at most the interval of %s, %d minutes: a longer run overlaps the next one (a run of the whole interval that ignores SIGTERM is killed %d s after it, overlapping the next by that long)", s.Schedule, int(every/time.Minute), KillAfterSeconds))
	}
	if s.Retries != nil {
		out.Retries = *s.Retries
	}
	// RetryPolicy.MaximumRetryAttempts, EventBridge Scheduler API reference: 0-185.
	if v := out.Retries; v < 0 || v > 185 {
		l.fail("schedules", fmt.Sprintf("%s.retries: %d", name, v), "from 0 to 185 (EventBridge Scheduler's limit)")
	}
	return out
}
