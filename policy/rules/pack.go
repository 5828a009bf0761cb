package rules

import (
	"context"
	"slices"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// PackName and PackVersion identify the pack to Pulumi.
const (
	PackName    = "ecs-bluegreen-guardrails"
	PackVersion = "1.0.0"
)

// Pack is the policy pack: every rule, mandatory.
func Pack() (policyx.PolicyPack, error) {
	var policies []policyx.Policy
	for _, rule := range Rules() {
		if rule.Stack != nil {
			check := rule.Stack
			policies = append(policies, policyx.NewStackValidationPolicy(rule.Name, policyx.StackValidationPolicyArgs{
				Description:      rule.Description,
				EnforcementLevel: policyx.EnforcementLevelMandatory,
				ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
					rs := make([]Resource, len(args.Resources))
					byURN := map[string]Resource{}
					for i, r := range args.Resources {
						rs[i] = FromAnalyzer(r)
						byURN[rs[i].URN] = rs[i]
					}
					for _, v := range check(rs, byURN) {
						args.Manager.ReportViolation(v.Message, v.URN)
					}
					return nil
				},
			}))
			continue
		}
		types, check := rule.Types, rule.Resource
		policies = append(policies, policyx.NewResourceValidationPolicy(rule.Name, policyx.ResourceValidationPolicyArgs{
			Description:      rule.Description,
			EnforcementLevel: policyx.EnforcementLevelMandatory,
			ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
				if types != nil && !slices.Contains(types, args.Resource.Type) {
					return nil
				}
				for _, m := range check(FromAnalyzer(args.Resource)) {
					args.Manager.ReportViolation(m, args.Resource.URN)
				}
				return nil
			},
		}))
	}
	return policyx.NewPolicyPack(PackName, semver.MustParse(PackVersion), policyx.EnforcementLevelMandatory, policies)
}
