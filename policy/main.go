// Command policy is the guardrail policy pack, run by the Pulumi CLI:
//
//	pulumi preview --policy-pack ./policy
//	pulumi up --policy-pack ./policy
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"ecs-bluegreen/policy/rules"
)

func main() {
	if err := policyx.Main(func(*pulumi.Context) (policyx.PolicyPack, error) { return rules.Pack() }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
