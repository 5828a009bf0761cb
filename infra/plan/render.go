package plan

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
)

// JSON renders the plan for machines.
func (p *Plan) JSON() ([]byte, error) {
	return json.MarshalIndent(p, "", "  ")
}

// Text renders the plan for people and for the reviewed snapshots.
func (p *Plan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for %s stack %s (environment %s, region %s)\n", p.Project, p.Stack, p.Environment, p.Region)
	fmt.Fprintf(&b, "Offline: the program under Pulumi's mocks in preview mode with Pulumi.yaml + Pulumi.%s.yaml.\n", p.Stack)
	fmt.Fprintf(&b, "%s marks values only `pulumi up` learns.\n", Unknown)

	fmt.Fprintf(&b, "\nResources (%d)\n", count(p.Resources))
	for _, n := range p.Resources {
		writeNode(&b, n, "", "", true)
	}

	b.WriteString("\nTask\n")
	for _, l := range p.Task {
		fmt.Fprintf(&b, "  %s\n", l)
	}

	b.WriteString("\nMonthly cost estimate (USD)\n")
	if p.Cost == nil {
		fmt.Fprintf(&b, "  not available: %s\n", p.CostError)
	} else {
		c := p.Cost
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		section := func(title string, items []LineItem) {
			fmt.Fprintf(tw, "  %s\t\t\n", title)
			for _, it := range items {
				fmt.Fprintf(tw, "    %s\t%10s\t%s\n", it.Name, fmt.Sprintf("$%.2f", it.Monthly), it.Detail)
			}
		}
		section("fixed", c.Fixed)
		section(fmt.Sprintf("at the minimum task count (%d)", c.Fargate[0].Tasks), c.AtMin)
		section(fmt.Sprintf("at the maximum task count (%d)", c.Fargate[1].Tasks), c.AtMax)
		tw.Flush()
		fmt.Fprintf(&b, "  total at minimum scale: $%.2f; at maximum scale: $%.2f\n", c.MinTotal, c.MaxTotal)
		b.WriteString("  Fargate compute for a month:\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "    capacity\ttasks\tvCPU-hours\tGB-hours\tUSD\n")
		for _, f := range c.Fargate {
			fmt.Fprintf(tw, "    %s\t%d\t%.1f\t%.1f\t$%.2f\n", f.Capacity, f.Tasks, f.VCPUH, f.GBH, f.Monthly)
		}
		tw.Flush()
		fmt.Fprintf(&b, "  Prices of %s for %s. %s\n", p.Prices.Retrieved, c.Region, p.Prices.Spot)
		fmt.Fprintf(&b, "  %s\n", p.Prices.Usage)
		if p.Prices.Jobs != "" {
			fmt.Fprintf(&b, "  %s\n", p.Prices.Jobs)
		}
	}

	b.WriteString("\nRollout lead time, from deployment start\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, s := range p.LeadTime.Steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, s.Duration, s.Detail)
	}
	tw.Flush()
	fmt.Fprintf(&b, "  all traffic on the new tasks after %s; complete after %s\n", p.LeadTime.ToAllTraffic, p.LeadTime.ToComplete)

	if len(p.Checks) > 0 {
		fmt.Fprintf(&b, "\nTargets for %s\n", p.Environment)
		for _, c := range p.Checks {
			mark := "ok  "
			if !c.OK {
				mark = "MISS"
			}
			fmt.Fprintf(&b, "  [%s] %s: %s (%s)\n", mark, c.What, c.Value, c.Target)
		}
	}
	// Tables pad their last cells; reviewed snapshots should not carry trailing blanks.
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func count(ns []*Node) int {
	n := len(ns)
	for _, c := range ns {
		n += count(c.Children)
	}
	return n
}

func writeNode(b *strings.Builder, n *Node, prefix, branch string, root bool) {
	fmt.Fprintf(b, "%s%s%s %s\n", prefix, branch, n.Type, n.Name)
	childPrefix := prefix
	if !root {
		if branch == "└─ " {
			childPrefix += "   "
		} else {
			childPrefix += "│  "
		}
	}
	settingPrefix := childPrefix
	if len(n.Children) > 0 {
		settingPrefix += "│  "
	} else {
		settingPrefix += "   "
	}
	for _, s := range n.Settings {
		fmt.Fprintf(b, "%s  %s = %s\n", settingPrefix, s.Key, s.Value)
	}
	for i, c := range n.Children {
		br := "├─ "
		if i == len(n.Children)-1 {
			br = "└─ "
		}
		writeNode(b, c, childPrefix, br, false)
	}
}
