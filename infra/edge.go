package infra

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EdgeArgs configures NewEdge.
type EdgeArgs struct {
	Edge            EdgeConfig
	VpcID           pulumi.StringInput
	SubnetIDs       pulumi.StringArrayInput
	SecurityGroupID pulumi.StringInput
	Protect         bool
	Tags            pulumi.StringMap
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
	URL              pulumi.StringOutput
	TestURL          pulumi.StringOutput
}

// targetGroupPort is the target groups' port. It is fixed, not the nginx port: a
// target group's port forces its replacement, and a replaced group is still held by
// the listeners and the service (whose references CodeDeploy owns), so it could
// never be deleted. With ip targets ECS registers each task with its container port
// anyway, and the health check uses the traffic port, so this value is unused.
const targetGroupPort = 80

// NewEdge creates the load balancer, target groups and listeners.
func NewEdge(ctx *pulumi.Context, name string, args *EdgeArgs, opts ...pulumi.ResourceOption) (*Edge, error) {
	e := &Edge{}
	if err := ctx.RegisterComponentResource("ecs-bluegreen:infra:Edge", name, e, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(e)
	c := args.Edge

	var err error
	e.LoadBalancer, err = lb.NewLoadBalancer(ctx, name+"-alb", &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Subnets:                  args.SubnetIDs,
		SecurityGroups:           pulumi.StringArray{args.SecurityGroupID},
		EnableDeletionProtection: pulumi.Bool(args.Protect),
		DropInvalidHeaderFields:  pulumi.Bool(true),
		Tags:                     args.Tags,
	}, parent, pulumi.Protect(args.Protect))
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
		prod.CertificateArn = pulumi.String(c.CertificateARN)
		prod.SslPolicy = pulumi.String("ELBSecurityPolicy-TLS13-1-2-2021-06")
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
	e.TestListener, err = lb.NewListener(ctx, name+"-test", &lb.ListenerArgs{
		LoadBalancerArn: e.LoadBalancer.Arn,
		Port:            pulumi.Int(c.TestListenerPort),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions:  forward(e.Blue),
		Tags:            args.Tags,
	}, parent, shifted)
	if err != nil {
		return nil, fmt.Errorf("creating test listener: %w", err)
	}

	e.URL = pulumi.Sprintf("%s://%s", scheme, e.LoadBalancer.DnsName)
	e.TestURL = pulumi.Sprintf("http://%s:%s", e.LoadBalancer.DnsName, strconv.Itoa(c.TestListenerPort))
	return e, ctx.RegisterResourceOutputs(e, pulumi.Map{
		"url":     e.URL,
		"testUrl": e.TestURL,
	})
}
