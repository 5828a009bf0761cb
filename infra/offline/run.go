package offline

import (
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Options change an offline run.
type Options struct {
	// Overrides set config keys ("key" for the project's namespace, or "ns:key")
	// over the stack files; an empty value unsets the key.
	Overrides map[string]string
	// Preview runs as `pulumi preview`: ctx.DryRun() is true and computed outputs are unknown.
	Preview bool
	// Existing answers as for a stack whose resources already exist: in preview,
	// their outputs are known (as the engine reads them from state).
	Existing bool
	// State carries what AWS keeps between runs (task definition revisions), for
	// runs of the same stack one after another; nil starts afresh.
	State *State
	// OnResource, when set, sees every resource once its outputs are known (not in
	// preview): tests use it to create what Pulumi would create in a fake AWS.
	OnResource func(*Resource)
	// Delay holds back the registration of resources of a type (or of one logical
	// name), to show ordering.
	Delay map[string]time.Duration
	// LoadBalancerDNS is the load balancer's DNS name, host:port of a local server
	// that stands in for the stack's URL ("" for a made-up AWS name).
	LoadBalancerDNS string
}

// Run runs program for stack with the configuration of the project in dir, under
// mocks, and returns the mocks with everything recorded — also when the program
// fails, so a caller can check that nothing was registered.
func Run(dir, stack string, program pulumi.RunFunc, opts Options) (*Mocks, error) {
	project, cfg, err := StackConfig(dir, stack)
	if err != nil {
		return nil, err
	}
	for k, v := range opts.Overrides {
		if v == "" {
			delete(cfg, qualify(project, k))
		} else {
			cfg[qualify(project, k)] = v
		}
	}
	if opts.State == nil {
		opts.State = &State{}
	}
	m := &Mocks{Project: project, Stack: stack, Region: cfg["aws:region"], Preview: opts.Preview,
		Existing: opts.Existing, State: opts.State, OnResource: opts.OnResource, Delay: opts.Delay, LoadBalancerDNS: opts.LoadBalancerDNS}
	err = pulumi.RunErr(program, pulumi.WithMocks(project, stack, m), func(info *pulumi.RunInfo) {
		info.Config = cfg
		info.DryRun = opts.Preview
	})
	return m, err
}
