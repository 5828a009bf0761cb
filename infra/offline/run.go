package offline

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Options change an offline run.
type Options struct {
	// Overrides set config keys ("key" for the project's namespace, or "ns:key")
	// over the stack files; an empty value unsets the key.
	Overrides map[string]string
	// Preview runs as `pulumi preview`: ctx.DryRun() is true and computed outputs are unknown.
	Preview bool
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
	m := &Mocks{Project: project, Stack: stack, Region: cfg["aws:region"], Preview: opts.Preview}
	err = pulumi.RunErr(program, pulumi.WithMocks(project, stack, m), func(info *pulumi.RunInfo) {
		info.Config = cfg
		info.DryRun = opts.Preview
	})
	return m, err
}
