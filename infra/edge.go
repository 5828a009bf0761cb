package infra

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EdgeArgs configures NewEdge.
type EdgeArgs struct {
	Edge      EdgeConfig
	Region    string
	Partition string
	// LogRetentionDays is how long access logs are kept.
	LogRetentionDays int
	VpcID            pulumi.StringInput
	SubnetIDs        pulumi.StringArrayInput
	SecurityGroupID  pulumi.StringInput
	Protect          bool
	Tags             pulumi.StringMap
}

// Edge is the load balancer with its blue and green target groups, the production
// listener and the test listener CodeDeploy uses to reach the green tasks first.
type Edge struct {
	pulumi.ResourceState

	LoadBalancer *lb.LoadBalancer
	Blue         *lb.TargetGroup
	Green        *lb.TargetGroup
	ProdListener *lb.Listener
	TestListener *lb.Listener
	// RedirectListener sends HTTP to HTTPS; nil without a certificate.
	RedirectListener *lb.Listener
	// Certificate is the ACM certificate created for DomainName (nil when given by ARN).
	Certificate *acm.Certificate
	// AccessLogs is the bucket of the load balancer's access logs (nil outside prod).
	AccessLogs *s3.BucketV2
	URL        pulumi.StringOutput
	TestURL    pulumi.StringOutput
}

// targetGroupPort is the target groups' port. It is fixed, not the nginx port: a
// target group's port forces its replacement, and a replaced group is still held by
// the listeners and the service (whose references CodeDeploy owns), so it could
// never be deleted. With ip targets ECS registers each task with its container port
// anyway, and the health check uses the traffic port, so this value is unused.
const targetGroupPort = 80

// TLSPolicy is the listeners' security policy: TLS 1.3 and 1.2 only, forward secrecy.
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// NewEdge creates the load balancer, target groups and listeners.
func NewEdge(ctx *pulumi.Context, name string, args *EdgeArgs, opts ...pulumi.ResourceOption) (*Edge, error) {
	e := &Edge{}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Edge", name, e, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(e)
	c := args.Edge

	var err error
	lbArgs := &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Subnets:                  args.SubnetIDs,
		SecurityGroups:           pulumi.StringArray{args.SecurityGroupID},
		EnableDeletionProtection: pulumi.Bool(args.Protect),
		DropInvalidHeaderFields:  pulumi.Bool(true),
		Tags:                     args.Tags,
	}
	lbOpts := []pulumi.ResourceOption{parent, pulumi.Protect(args.Protect)}
	if c.AccessLogs {
		bucket, ready, err := accessLogBucket(ctx, name, args, parent)
		if err != nil {
			return nil, err
		}
		e.AccessLogs = bucket
		lbArgs.AccessLogs = &lb.LoadBalancerAccessLogsArgs{Bucket: bucket.Bucket, Enabled: pulumi.Bool(true), Prefix: pulumi.String(name)}
		// ELB checks it may write before it enables the logs.
		lbOpts = append(lbOpts, pulumi.DependsOn(ready))
	}
	e.LoadBalancer, err = lb.NewLoadBalancer(ctx, name+"-alb", lbArgs, lbOpts...)
	if err != nil {
		return nil, fmt.Errorf("creating load balancer: %w", err)
	}

	targetGroup := func(color string) (*lb.TargetGroup, error) {
		tg, err := lb.NewTargetGroup(ctx, name+"-"+color, &lb.TargetGroupArgs{
			TargetType:          pulumi.String("ip"),
			Protocol:            pulumi.String("HTTP"),
			Port:                pulumi.Int(targetGroupPort),
			VpcId:               args.VpcID,
			DeregistrationDelay: pulumi.Int(c.DeregistrationDelaySeconds),
			HealthCheck: &lb.TargetGroupHealthCheckArgs{
				Path:               pulumi.String(c.HealthCheckPath),
				Protocol:           pulumi.String("HTTP"),
				Matcher:            pulumi.String("200"),
				Interval:           pulumi.Int(c.HealthCheckIntervalSeconds),
				Timeout:            pulumi.Int(c.HealthCheckTimeoutSeconds()),
				HealthyThreshold:   pulumi.Int(c.HealthyThreshold),
				UnhealthyThreshold: pulumi.Int(c.UnhealthyThreshold),
			},
			Tags: args.Tags,
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("creating %s target group: %w", color, err)
		}
		return tg, nil
	}
	if e.Blue, err = targetGroup("blue"); err != nil {
		return nil, err
	}
	if e.Green, err = targetGroup("green"); err != nil {
		return nil, err
	}

	certificateARN, err := e.certificate(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}

	// CodeDeploy rewrites both listeners' default actions when it shifts traffic;
	// without IgnoreChanges the next `pulumi up` would send traffic back to blue.
	shifted := pulumi.IgnoreChanges([]string{"defaultActions"})
	forward := func(tg *lb.TargetGroup) lb.ListenerDefaultActionArray {
		return lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: tg.Arn}}
	}
	prod := &lb.ListenerArgs{
		LoadBalancerArn: e.LoadBalancer.Arn,
		Port:            pulumi.Int(c.ProdPort()),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions:  forward(e.Blue),
		Tags:            args.Tags,
	}
	scheme := "http"
	if c.HTTPS() {
		scheme = "https"
		prod.Protocol = pulumi.String("HTTPS")
		prod.CertificateArn = certificateARN
		prod.SslPolicy = pulumi.String(TLSPolicy)
	}
	if e.ProdListener, err = lb.NewListener(ctx, name+"-prod", prod, parent, shifted); err != nil {
		return nil, fmt.Errorf("creating production listener: %w", err)
	}
	if c.HTTPS() {
		// After the production listener: when a live stack gains a certificate, that
		// listener moves from 80 to 443 in place, and only then is 80 free for the
		// redirect (in parallel, ELB answers DuplicateListener).
		e.RedirectListener, err = lb.NewListener(ctx, name+"-http", &lb.ListenerArgs{
			LoadBalancerArn: e.LoadBalancer.Arn,
			Port:            pulumi.Int(80),
			Protocol:        pulumi.String("HTTP"),
			DefaultActions: lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
				Type: pulumi.String("redirect"),
				Redirect: &lb.ListenerDefaultActionRedirectArgs{
					Protocol: pulumi.String("HTTPS"), Port: pulumi.String("443"), StatusCode: pulumi.String("HTTP_301"),
				},
			}},
			Tags: args.Tags,
		}, parent, pulumi.DependsOn([]pulumi.Resource{e.ProdListener}))
		if err != nil {
			return nil, fmt.Errorf("creating HTTP redirect listener: %w", err)
		}
	}
	test := &lb.ListenerArgs{
		LoadBalancerArn: e.LoadBalancer.Arn,
		Port:            pulumi.Int(c.TestListenerPort),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions:  forward(e.Blue),
		Tags:            args.Tags,
	}
	if c.HTTPS() { // the green tasks are tested over TLS too, with the same certificate
		test.Protocol, test.CertificateArn, test.SslPolicy = pulumi.String("HTTPS"), certificateARN, pulumi.String(TLSPolicy)
	}
	if e.TestListener, err = lb.NewListener(ctx, name+"-test", test, parent, shifted); err != nil {
		return nil, fmt.Errorf("creating test listener: %w", err)
	}

	host := e.LoadBalancer.DnsName
	if c.DomainName != "" {
		if _, err := route53.NewRecord(ctx, name+"-alias", &route53.RecordArgs{
			ZoneId: pulumi.String(c.HostedZoneID),
			Name:   pulumi.String(c.DomainName),
			Type:   pulumi.String("A"),
			Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
				Name: e.LoadBalancer.DnsName, ZoneId: e.LoadBalancer.ZoneId, EvaluateTargetHealth: pulumi.Bool(true),
			}},
		}, parent); err != nil {
			return nil, fmt.Errorf("creating alias record %s: %w", c.DomainName, err)
		}
		host = pulumi.String(c.DomainName).ToStringOutput()
	}
	e.URL = pulumi.Sprintf("%s://%s", scheme, host)
	e.TestURL = pulumi.Sprintf("%s://%s:%s", scheme, host, strconv.Itoa(c.TestListenerPort))
	return e, ctx.RegisterResourceOutputs(e, pulumi.Map{
		"url":     e.URL,
		"testUrl": e.TestURL,
	})
}

// certificate returns the listeners' certificate ARN: the configured one, or an ACM
// certificate for DomainName validated through DNS records in its zone (the
// output resolves once ACM has issued it); nil without HTTPS.
func (e *Edge) certificate(ctx *pulumi.Context, name string, args *EdgeArgs, parent pulumi.ResourceOption) (pulumi.StringInput, error) {
	c := args.Edge
	switch {
	case c.CertificateARN != "":
		return pulumi.String(c.CertificateARN), nil
	case c.DomainName == "":
		return nil, nil
	}
	var err error
	e.Certificate, err = acm.NewCertificate(ctx, name, &acm.CertificateArgs{
		DomainName:       pulumi.String(c.DomainName),
		ValidationMethod: pulumi.String("DNS"),
		Tags:             args.Tags,
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, fmt.Errorf("creating certificate for %s: %w", c.DomainName, err)
	}
	option := e.Certificate.DomainValidationOptions.Index(pulumi.Int(0))
	record, err := route53.NewRecord(ctx, name+"-validation", &route53.RecordArgs{
		ZoneId:         pulumi.String(c.HostedZoneID),
		Name:           option.ResourceRecordName().Elem(),
		Type:           option.ResourceRecordType().Elem(),
		Records:        pulumi.StringArray{option.ResourceRecordValue().Elem()},
		Ttl:            pulumi.Int(60),
		AllowOverwrite: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("creating certificate validation record: %w", err)
	}
	validation, err := acm.NewCertificateValidation(ctx, name, &acm.CertificateValidationArgs{
		CertificateArn:        e.Certificate.Arn,
		ValidationRecordFqdns: pulumi.StringArray{record.Fqdn},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("waiting for certificate validation: %w", err)
	}
	return validation.CertificateArn, nil
}

// elbLogAccounts are the Elastic Load Balancing accounts that write access logs
// in the regions opened before August 2022; newer regions use the log delivery
// service principal, which the bucket policy also names.
var elbLogAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980", "us-west-2": "797873946194",
	"ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
	"eu-west-3": "009996457667", "eu-north-1": "897822967062", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
	"ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266", "ap-south-1": "718504428378",
	"sa-east-1": "507241528517",
}

// accessLogBucket creates the private, encrypted, expiring bucket the load balancer
// writes its access logs to, and returns it with what must exist before the load
// balancer may use it.
func accessLogBucket(ctx *pulumi.Context, name string, args *EdgeArgs, parent pulumi.ResourceOption) (*s3.BucketV2, []pulumi.Resource, error) {
	opts := []pulumi.ResourceOption{parent}
	bucket, err := s3.NewBucketV2(ctx, name+"-alb-logs", &s3.BucketV2Args{
		ForceDestroy: pulumi.Bool(!args.Protect),
		Tags:         args.Tags,
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, nil, fmt.Errorf("creating access log bucket: %w", err)
	}
	block, err := s3.NewBucketPublicAccessBlock(ctx, name+"-alb-logs", &s3.BucketPublicAccessBlockArgs{
		Bucket: bucket.ID(), BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("blocking public access to access logs: %w", err)
	}
	// ELB access logs support SSE-S3 only.
	encryption, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-alb-logs", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{SseAlgorithm: pulumi.String("AES256")},
		}},
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("encrypting access logs: %w", err)
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-alb-logs", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{s3.BucketLifecycleConfigurationV2RuleArgs{
			Id: pulumi.String("expire"), Status: pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(args.LogRetentionDays)},
		}},
	}, opts...); err != nil {
		return nil, nil, fmt.Errorf("expiring access logs: %w", err)
	}
	doc := bucket.Arn.ApplyT(func(arn string) (string, error) {
		objects := []string{arn + "/" + name + "/AWSLogs/*"}
		statements := []policyStatement{{
			Sid: "LogDelivery", Effect: "Allow", Principal: map[string]string{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
			Action: []string{"s3:PutObject"}, Resource: objects,
		}}
		if account, ok := elbLogAccounts[args.Region]; ok {
			statements = append(statements, policyStatement{
				Sid: "RegionalELBAccount", Effect: "Allow", Principal: map[string]string{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", args.Partition, account)},
				Action: []string{"s3:PutObject"}, Resource: objects,
			})
		}
		statements = append(statements, policyStatement{
			Sid: "TLSOnly", Effect: "Deny", Principal: map[string]string{"AWS": "*"}, Action: []string{"s3:*"},
			Resource:  []string{arn, arn + "/*"},
			Condition: map[string]map[string][]string{"Bool": {"aws:SecureTransport": {"false"}}},
		})
		return policy(statements...).JSON()
	}).(pulumi.StringOutput)
	bucketPolicy, err := s3.NewBucketPolicy(ctx, name+"-alb-logs", &s3.BucketPolicyArgs{Bucket: bucket.ID(), Policy: doc},
		append(opts, pulumi.DependsOn([]pulumi.Resource{block}))...)
	if err != nil {
		return nil, nil, fmt.Errorf("letting ELB write access logs: %w", err)
	}
	return bucket, []pulumi.Resource{bucketPolicy, encryption}, nil
}
