// Command plan shows what `pulumi up` would create for a stack, what it will
// cost and how long a rollout takes — offline, without AWS credentials.
//
//	go run ./cmd/plan -stack dev
//	go run ./cmd/plan -stack prod -json
//	go run ./cmd/plan -stack prod -region us-east-1
package main

import (
	"flag"
	"fmt"
	"os"

	"ecs-bluegreen/infra/plan"
)

func main() {
	stack := flag.String("stack", "dev", "stack whose Pulumi.<stack>.yaml to plan")
	dir := flag.String("dir", ".", "project directory (with Pulumi.yaml)")
	asJSON := flag.Bool("json", false, "print JSON instead of text")
	region := flag.String("region", "", "price the stack in this region instead of its aws:region")
	flag.Parse()

	// Build contexts in the config are relative to the project directory.
	if err := os.Chdir(*dir); err != nil {
		fail(err)
	}
	var overrides map[string]string
	if *region != "" {
		overrides = map[string]string{"aws:region": *region}
	}
	p, err := plan.Build(".", *stack, overrides)
	if err != nil {
		fail(err)
	}
	if *asJSON {
		out, err := p.JSON()
		if err != nil {
			fail(err)
		}
		fmt.Println(string(out))
		return
	}
	fmt.Print(p.Text())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "plan:", err)
	os.Exit(1)
}
