package infra

// Setting declares one configuration key of this project: its Pulumi.yaml type, its
// default, and what it does. The table is the single source of the defaults that
// LoadConfig applies; a test checks that Pulumi.yaml declares exactly the same.
type Setting struct {
	Key         string
	Type        string // string, integer, boolean, array (of strings), object (as in Pulumi.yaml)
	Default     any    // nil: no default (optional, or required where LoadConfig says so)
	Description string
}

// Settings lists every key the program reads from the project namespace.
var Settings = []Setting{
	{"environment", "string", "dev", "Rule set: dev (cheap, fast) or prod (at least two tasks and two AZs are enforced)."},
	{"name", "string", "web", "Short name every resource name starts with: 1-12 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen; short enough that <name>-<stack>-codedeploy- fits IAM's 38-character role name prefix."},

	// network
	{"vpcCidr", "string", "10.0.0.0/16", "IPv4 CIDR of the VPC, prefix /16 to /24."},
	{"availabilityZones", "integer", 2, "Number of availability zones (2-4; an ALB needs two)."},
	{"natGateways", "string", "none", "NAT gateways: none (tasks run in public subnets with a public IP; their security group still admits only the ALB), single, or onePerAz."},

	// images
	{"appContext", "string", "app/django", "Docker build context of the application image, relative to the project directory."},
	{"appDockerfile", "string", "", "Dockerfile of the application image, relative to the project directory (default: Dockerfile in appContext)."},
	{"nginxContext", "string", "app/nginx", "Docker build context of the nginx image, relative to the project directory."},
	{"nginxDockerfile", "string", "", "Dockerfile of the nginx image, relative to the project directory (default: Dockerfile in nginxContext)."},
	{"cpuArchitecture", "string", "X86_64", "Task CPU architecture, X86_64 or ARM64; images are built for the matching platform."},
	{"imagesToKeep", "integer", 10, "Images each ECR repository keeps (2-1000); older ones expire. At least 2, so a rollback target survives."},

	// edge
	{"certificateArn", "string", "", "ACM certificate ARN in the stack's region. Set (or domainName): HTTPS on 443 and on the test listener, and HTTP on 80 redirects. Empty: HTTP on 80 (dev only)."},
	{"domainName", "string", "", "DNS name the stack serves on, in the Route 53 zone hostedZoneId: the stack creates its ACM certificate (DNS-validated, unless certificateArn is set) and an alias record, and url uses it. Prod needs this or certificateArn."},
	{"hostedZoneId", "string", "", "Route 53 hosted zone id that holds domainName."},
	{"allowedCidrs", "array", []any{"0.0.0.0/0"}, "IPv4 CIDRs allowed to reach the production listener."},
	{"testListenerPort", "integer", 8080, "Port of the test listener CodeDeploy routes to the new (green) tasks before traffic moves; not 80 or 443."},
	{"testListenerCidrs", "array", []any{}, "IPv4 CIDRs allowed to reach the test listener; nothing else can. An internet-facing load balancer sees clients inside the VPC (hook Lambdas, tasks) by their NAT gateway's or public IP, so list those."},
	{"healthCheckPath", "string", "/health/", "Path the target groups' health check requests (through nginx to the app)."},
	{"healthCheckIntervalSeconds", "integer", 10, "Health check interval in seconds (5-300)."},
	{"healthyThreshold", "integer", 2, "Consecutive successful health checks before a target is healthy (2-10)."},
	{"unhealthyThreshold", "integer", 3, "Consecutive failed health checks before a target is unhealthy (2-10)."},
	{"deregistrationDelaySeconds", "integer", 10, "Seconds the ALB drains a deregistering target (0-3600)."},

	// service
	{"taskCpu", "integer", 512, "Fargate task CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384."},
	{"taskMemory", "integer", 1024, "Fargate task memory in MiB; must be valid for taskCpu."},
	{"nginxSharePercent", "integer", 15, "Percent of the task CPU and memory reserved for the nginx container (1-99)."},
	{"appSharePercent", "integer", 85, "Percent of the task CPU and memory reserved for the app container (1-99); the two shares add up to at most 100."},
	{"nginxPort", "integer", 8080, "Port nginx listens on in its image (it runs as a non-root user, so above 1023); the ALB targets it."},
	{"appPort", "integer", 8000, "Port the app (gunicorn) listens on in its image; nginx proxies to it. Not nginxPort."},
	{"appEnvironment", "object", map[string]any{}, "Plain environment variables of the app container (name: value)."},
	{"appSecrets", "object", map[string]any{}, "Secret environment variables of the app container (name: SSM parameter ARN, or Secrets Manager ARN, full or partial, optionally with :json-key:version-stage:version-id)."},
	{"appSecretKeyName", "string", "DJANGO_SECRET_KEY", "App environment variable that receives a secret key the stack generates once and keeps in an SSM SecureString parameter (a name in appSecrets wins). Empty: none."},
	{"secretsKmsKeyArns", "array", []any{}, "Customer-managed KMS key ARNs that encrypt the appSecrets; the execution role may decrypt with them."},
	{"logRetentionDays", "integer", 7, "CloudWatch Logs retention in days (a value CloudWatch accepts, e.g. 1, 3, 7, 14, 30, 90, 365)."},
	{"desiredCount", "integer", 1, "Tasks when the service is created (between minTasks and maxTasks); autoscaling owns it afterwards."},
	{"minTasks", "integer", 1, "Autoscaling minimum task count (prod: at least 2)."},
	{"maxTasks", "integer", 2, "Autoscaling maximum task count (at least minTasks, at most 100)."},
	{"cpuTargetPercent", "integer", 60, "Average service CPU utilisation autoscaling tracks (10-90)."},
	{"fargateSpot", "boolean", false, "Run tasks on Fargate Spot (X86_64 only): cheaper, may be interrupted."},
	{"healthCheckGracePeriodSeconds", "integer", 30, "Seconds ECS ignores failing ALB health checks of a new task (0-3600)."},

	// deploy
	{"deploymentConfig", "string", "CodeDeployDefault.ECSAllAtOnce", "CodeDeploy deployment configuration: CodeDeployDefault.ECSAllAtOnce, ECSLinear10PercentEvery1Minutes, ECSLinear10PercentEvery3Minutes, ECSCanary10Percent5Minutes or ECSCanary10Percent15Minutes."},
	{"terminationWaitMinutes", "integer", 1, "Minutes the old (blue) tasks keep running after traffic moved, the window for a fast rollback (0-2880)."},
	{"alarm5xxThreshold", "integer", 5, "Target 5xx responses per minute, two minutes in a row, that stop and roll back a deployment (1-100000)."},

	// rollout
	{"rollout", "boolean", true, "Roll out a new revision or network change through CodeDeploy during `pulumi up`, and fail the run when it fails. false: declare only."},
	{"rolloutTimeoutMinutes", "integer", 30, "Minutes a rollout may take, from the first AWS call to the verdict (1-1440; at most 300 with ciRepository, CI's 6 h session); at least the deployment's own duration (task start, health checks or grace period, the traffic shift, terminationWaitMinutes unless acceptTrafficShifted, deregistration delay) plus 5 minutes: the error gives the minimum."},
	{"stopOnTimeout", "boolean", true, "On timeout, stop the deployment with rollback (false: leave it running and fail the run)."},
	{"activeDeploymentPolicy", "string", "wait", "A deployment of another revision already under way: wait for it to finish, or stop it (with rollback)."},
	{"acceptTrafficShifted", "boolean", false, "Count a rollout done once all traffic is on the new tasks, without waiting out terminationWaitMinutes."},
	{"migrationCommand", "array", []any{}, "Command run once in the app container of the new revision before traffic moves, e.g. [python, manage.py, migrate, --noinput]; a non-zero exit stops the rollout."},
	{"rolloutCheck", "object", map[string]any{}, "Load gate: once all traffic is on the new tasks, load the production URL and roll back when a threshold breaks. Fields: paths ([/]), rate (10/s), durationSeconds (60), warmUpSeconds (0), maxP99Ms (1000), maxP95Ms, minSuccessPercent (99). Empty: no gate. Needs terminationWaitMinutes longer than the load by two polls and a minute (1m20s)."},
	{"rolloutHooks", "object", map[string]any{}, "AppSpec lifecycle hooks: event (BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic) to Lambda function ARN."},

	// CI
	{"ciRepository", "string", "", "GitHub repository whose Actions deploy this stack through OIDC, as its OIDC subject names it: owner/name, or owner@OWNER_ID/name@REPO_ID when the repository uses immutable subject claims. The stack then manages a deploy role (pushes to ciBranch; prod: the GitHub environment prod) and a read-only preview role (pull requests; prod: the GitHub environment prod-preview). Empty: no CI roles."},
	{"ciOidcProviderArn", "string", "", "ARN of the account's existing GitHub OIDC provider (an account has only one). Empty: this stack creates it."},
	{"ciBranch", "string", "main", "Branch whose pushes may deploy a non-prod stack; .github/workflows/deploy.yml deploys from the same branch (a test keeps them equal)."},
	{"ciStateBucket", "string", "", "S3 bucket of the Pulumi state backend the CI roles may use (name only; encrypted with SSE-S3: the CI roles have no kms:Decrypt for an SSE-KMS bucket). Empty: Pulumi Cloud."},

	// workers, schedules and queues (README "Workers and scheduled jobs")
	{"workers", "object", map[string]any{}, "Worker services on the app image of the same build, each name: {command, cpu (256), memory (2 x cpu), count (1) or minCount and maxCount (autoscaled on CPU, or on queue's backlog when queue names one), queue, messagesPerTask (10), cpuTargetPercent (60), spot (false; dev only), healthCheck}. They roll to a new revision only once the web deployment succeeded."},
	{"schedules", "object", map[string]any{}, "Scheduled one-off tasks of the serving revision, each name: {schedule (cron(...) or rate(...)), timezone (UTC), command, cpu (256), memory (2 x cpu), timeoutMinutes (30, or a rate's interval if shorter; at most that interval), retries (2), spot (false; dev only)}. A failed run lands in the job-failure queue and raises its alarm."},
	{"queues", "object", map[string]any{}, "SQS queues, each with a dead-letter queue, that workers (send and consume) and web (send) may use, each name: {visibilityTimeoutSeconds (30), maxReceiveCount (5), retentionDays (4)}. Containers get NAME_QUEUE_URL."},

	{"protect", "boolean", false, "Protect stateful resources: Pulumi protect on repositories, load balancer, certificate, access-log bucket and logs, ALB deletion protection, no force-delete of repositories or the access-log bucket."},
}

// setting returns the declaration of key; a missing key is a programming error
// caught by the tests, so it panics.
func setting(key string) Setting {
	for _, s := range Settings {
		if s.Key == key {
			return s
		}
	}
	panic("infra: undeclared setting " + key)
}
