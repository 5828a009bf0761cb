package offline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Account is the AWS account id the mocks pretend to be in.
const Account = "123456789012"

// Resource is one registered resource as the engine would have seen it.
type Resource struct {
	URN           string
	Type          string
	Name          string
	Parent        string // URN of the parent, "" for children of the stack
	Custom        bool
	ID            string
	Inputs        resource.PropertyMap
	Outputs       resource.PropertyMap
	Protect       bool
	IgnoreChanges []string
	Dependencies  []string // URNs from DependsOn
	// InputDependencies names the inputs that depend on other resources. In
	// preview such an input, when unknown, is absent from Inputs.
	InputDependencies map[string]bool
	// PropertyDependencies are, for each input, the URNs it depends on.
	PropertyDependencies map[string][]string
	// Started and Done are when the registration reached the mock and when it was
	// answered: a resource that waits for another starts after the other is done.
	Started, Done time.Time
}

// State is what AWS keeps between runs of one stack that the mocks model.
type State struct {
	mu sync.Mutex
	// revisions holds each task definition family's contents, one per revision.
	revisions map[string][]string
}

// revision returns the revision number AWS would give a task definition: the
// current one for unchanged content, the next one for new content (Pulumi
// replaces a task definition whose content changed, which registers a revision).
func (s *State) revision(family, content string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revisions == nil {
		s.revisions = map[string][]string{}
	}
	revs := s.revisions[family]
	if n := len(revs); n > 0 && revs[n-1] == content {
		return n
	}
	s.revisions[family] = append(revs, content)
	return len(revs) + 1
}

// Mocks answers registrations and invokes like the AWS, awsx and docker providers
// would, with made-up but well-formed identifiers, and records every resource.
type Mocks struct {
	Project, Stack, Region string
	// Preview leaves provider-computed outputs unknown, as `pulumi preview` does,
	// unless Existing: then they are known, as for resources already in the state.
	Preview, Existing bool
	State             *State
	OnResource        func(*Resource)
	Delay             map[string]time.Duration
	// LoadBalancerDNS, when set, is the load balancer's DNS name (a local server
	// standing in for the stack's URL).
	LoadBalancerDNS string

	mu        sync.Mutex
	resources []*Resource
	calls     []string
}

// Resources returns what was registered, in registration order.
func (m *Mocks) Resources() []*Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Resource(nil), m.resources...)
}

// Calls returns the invoke tokens called, in order.
func (m *Mocks) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

// NewResource implements pulumi.MockResourceMonitor.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	r := &Resource{Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: args.Inputs, Started: time.Now()}
	time.Sleep(m.Delay[args.TypeToken] + m.Delay[args.Name])
	if rpc != nil {
		r.Parent = rpc.GetParent()
		if strings.Contains(r.Parent, "::pulumi:pulumi:Stack::") {
			r.Parent = ""
		}
		r.Protect = rpc.GetProtect()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		r.Dependencies = rpc.GetDependencies()
		r.InputDependencies = map[string]bool{}
		r.PropertyDependencies = map[string][]string{}
		for k, deps := range rpc.GetPropertyDependencies() {
			if len(deps.GetUrns()) > 0 {
				r.InputDependencies[k] = true
				r.PropertyDependencies[k] = deps.GetUrns()
			}
		}
	}
	r.URN = m.urn(r.Parent, r.Type, r.Name)
	r.ID, r.Outputs = m.outputs(r)
	if !args.Custom {
		r.ID = ""
	}
	r.Done = time.Now()
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()
	if m.OnResource != nil && !m.Preview {
		m.OnResource(r)
	}
	return r.ID, r.Outputs, nil
}

// Call implements pulumi.MockResourceMonitor. An invoke it does not know is an
// error, so a new data source cannot slip in untested.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.calls = append(m.calls, args.Token)
	m.mu.Unlock()
	switch args.Token {
	case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":                 m.Region,
			"userName":           "AWS",
			"password":           "mock-ecr-password",
			"authorizationToken": "QVdTOm1vY2stZWNyLXBhc3N3b3Jk",
			"proxyEndpoint":      fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", Account, m.Region),
			"expiresAt":          "2099-01-01T00:00:00Z",
		}), nil
	}
	return nil, fmt.Errorf("offline: no mock for invoke %s", args.Token)
}

func (m *Mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if parent != "" {
		parentType = resource.URN(parent).QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.Stack), tokens.PackageName(m.Project), parentType, tokens.Type(typ), name))
}

// shortHash is a stable stand-in for the random parts of AWS names and ids.
func shortHash(s string, n int) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:n]
}

// outputs returns the id and output state a provider would report: the inputs
// plus the properties the provider computes (names, ARNs, URLs, digests). In
// preview the computed ones are left out, which makes them unknown.
func (m *Mocks) outputs(r *Resource) (string, resource.PropertyMap) {
	out := r.Inputs.Copy()
	id := r.Name + "-" + shortHash(r.URN, 8)
	if m.Preview && !m.Existing {
		// A resource to be created has no id yet: "" leaves it unknown.
		return "", out
	}
	set := func(k string, v any) { out[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	str := func(k string) string {
		if v, ok := r.Inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	// Physical names: Pulumi auto-names with the logical name and a random suffix.
	name := str("name")
	if name == "" {
		name = r.Name + "-" + shortHash(r.URN, 7)
		if prefix := str("namePrefix"); prefix != "" {
			// The provider appends a 26-character unique id to a name prefix.
			name = prefix + shortHash(r.URN, 26)
		}
		set("name", name)
	}
	region, acct := m.Region, Account
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, acct, rest)
	}

	switch r.Type {
	case "awsx:ec2:Vpc":
		azs := 2
		if v, ok := r.Inputs["numberOfAvailabilityZones"]; ok && v.IsNumber() {
			azs = int(v.NumberValue())
		}
		hasPrivate := true
		if v, ok := r.Inputs["subnetSpecs"]; ok && v.IsArray() {
			hasPrivate = false
			for _, s := range v.ArrayValue() {
				if s.IsObject() && s.ObjectValue()["type"].StringValue() == "Private" {
					hasPrivate = true
				}
			}
		}
		var public, private []any
		for i := 0; i < azs; i++ {
			public = append(public, fmt.Sprintf("subnet-public-%d", i))
			if hasPrivate {
				private = append(private, fmt.Sprintf("subnet-private-%d", i))
			}
		}
		set("vpcId", "vpc-"+shortHash(r.URN, 8))
		set("publicSubnetIds", public)
		set("privateSubnetIds", private)
		set("isolatedSubnetIds", []any{})
	case "aws:ec2/securityGroup:SecurityGroup":
		id = "sg-" + shortHash(r.URN, 12)
		set("arn", arn("ec2", "security-group/"+id))
	case "aws:ecr/repository:Repository":
		set("arn", arn("ecr", "repository/"+name))
		set("registryId", acct)
		set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", acct, region, name))
	case "docker:index/image:Image":
		image := str("imageName")
		repo := image
		if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
			repo = image[:i]
		}
		// The registry reports a digest of the pushed manifest; here, of the tagged name,
		// which changes exactly when the tag (the build context hash) changes.
		set("repoDigest", repo+"@sha256:"+shortHash(image, 64))
		set("baseImageName", image)
		id = image
	case "aws:lb/loadBalancer:LoadBalancer":
		suffix := fmt.Sprintf("app/%s/%s", name, shortHash(r.URN, 16))
		set("arn", arn("elasticloadbalancing", "loadbalancer/"+suffix))
		set("arnSuffix", suffix)
		dns := fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", name, shortHash(r.URN, 9), region)
		if m.LoadBalancerDNS != "" {
			dns = m.LoadBalancerDNS
		}
		set("dnsName", dns)
		set("zoneId", "ZWKZPGTI48KDX")
		id = arn("elasticloadbalancing", "loadbalancer/"+suffix)
	case "aws:lb/targetGroup:TargetGroup":
		suffix := fmt.Sprintf("targetgroup/%s/%s", name, shortHash(r.URN, 16))
		set("arn", arn("elasticloadbalancing", suffix))
		set("arnSuffix", suffix)
		id = arn("elasticloadbalancing", suffix)
	case "aws:lb/listener:Listener":
		// arn:…:listener/app/<load balancer name>/<load balancer id>/<listener id>
		id = arn("elasticloadbalancing", "listener/app/"+shortHash(r.URN, 16))
		if lb := str("loadBalancerArn"); strings.Contains(lb, ":loadbalancer/") {
			id = strings.Replace(lb, ":loadbalancer/", ":listener/", 1) + "/" + shortHash(r.URN, 16)
		}
		set("arn", id)
	case "aws:ecs/cluster:Cluster":
		set("arn", arn("ecs", "cluster/"+name))
		id = arn("ecs", "cluster/"+name)
	case "aws:ecs/taskDefinition:TaskDefinition":
		family := str("family")
		content, _ := json.Marshal(r.Inputs.Mappable())
		rev := 1
		if m.State != nil {
			rev = m.State.revision(family, string(content))
		}
		set("arn", arn("ecs", fmt.Sprintf("task-definition/%s:%d", family, rev)))
		set("arnWithoutRevision", arn("ecs", "task-definition/"+family))
		set("revision", rev)
		id = family
	case "aws:ecs/service:Service":
		id = arn("ecs", "service/"+name)
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", arn("logs", "log-group:"+name))
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		set("arn", arn("cloudwatch", "alarm:"+name))
	case "aws:ssm/parameter:Parameter":
		set("arn", arn("ssm", "parameter"+str("name")))
		id = str("name")
	case "aws:acm/certificate:Certificate":
		id = arn("acm", "certificate/"+shortHash(r.URN, 8)+"-0000-4000-8000-"+shortHash(r.URN, 12))
		set("arn", id)
		set("domainValidationOptions", []any{map[string]any{
			"domainName":          str("domainName"),
			"resourceRecordName":  "_" + shortHash(r.URN, 32) + "." + str("domainName") + ".",
			"resourceRecordType":  "CNAME",
			"resourceRecordValue": "_" + shortHash(r.URN+"v", 32) + ".acm-validations.aws.",
		}})
	case "aws:acm/certificateValidation:CertificateValidation":
		set("certificateArn", str("certificateArn"))
	case "aws:route53/record:Record":
		set("fqdn", strings.TrimSuffix(str("name"), "."))
		id = str("zoneId") + "_" + str("name") + "_" + str("type")
	case "aws:s3/bucketV2:BucketV2":
		set("bucket", name)
		set("arn", "arn:aws:s3:::"+name)
		id = name
	case "aws:ec2/flowLog:FlowLog":
		id = "fl-" + shortHash(r.URN, 17)
		set("arn", arn("ec2", "vpc-flow-log/"+id))
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		host := strings.TrimPrefix(str("url"), "https://")
		id = fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", acct, host)
		set("arn", id)
	case "aws:iam/role:Role":
		path := str("path")
		if path == "" {
			path = "/"
		}
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role%s%s", acct, path, name))
	case "aws:iam/policy:Policy":
		path := str("path")
		if path == "" {
			path = "/"
		}
		id = fmt.Sprintf("arn:aws:iam::%s:policy%s%s", acct, path, name)
		set("arn", id)
	case "aws:codedeploy/application:Application":
		set("arn", arn("codedeploy", "application:"+name))
	case "aws:codedeploy/deploymentGroup:DeploymentGroup":
		set("arn", arn("codedeploy", "deploymentgroup:"+str("appName")+"/"+str("deploymentGroupName")))
	case "aws:sqs/queue:Queue":
		// A queue's id is its URL (the provider's import id).
		url := fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, acct, name)
		set("arn", arn("sqs", name))
		set("url", url)
		id = url
	case "aws:scheduler/scheduleGroup:ScheduleGroup":
		set("arn", arn("scheduler", "schedule-group/"+name))
		id = name
	case "aws:scheduler/schedule:Schedule":
		group := str("groupName")
		if group == "" {
			group = "default"
		}
		set("arn", arn("scheduler", "schedule/"+group+"/"+name))
		id = group + "/" + name
	case "aws:cloudwatch/eventRule:EventRule":
		set("arn", arn("events", "rule/"+name))
		id = name
	case "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy":
		set("arn", arn("application-autoscaling", "scalable-target/"+shortHash(r.URN, 12)))
	}
	return id, out
}

// ByType returns the recorded resources of a type token, sorted by name.
func ByType(rs []*Resource, typ string) []*Resource {
	var out []*Resource
	for _, r := range rs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
