// Command ecs-bluegreen is the Pulumi program: one `pulumi up` builds the images and
// stands up the VPC, ECR, ALB, ECS service and CodeDeploy blue/green deployment.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"ecs-bluegreen/infra"
)

func main() {
	pulumi.Run(program)
}

// program is the whole stack: build it, export its outputs.
func program(ctx *pulumi.Context) error {
	svc, err := stack(ctx)
	if err != nil {
		return err
	}
	for name, value := range svc.Outputs() {
		ctx.Export(name, value)
	}
	return nil
}

// stack loads and validates the config, then builds every resource.
func stack(ctx *pulumi.Context) (*infra.WebService, error) {
	cfg, err := infra.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	return infra.NewWebService(ctx, cfg.Name, &infra.WebServiceArgs{Config: cfg})
}
