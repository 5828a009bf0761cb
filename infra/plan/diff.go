package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Delta compares the plan of a stack before a change (base) with the plan after
// (head): cost, rollout lead time and resources, for a pull-request comment.
type Delta struct {
	Stack, Region string
	Rows          []DeltaRow
	// Items are the cost line items whose monthly price at minimum scale changed.
	Items            []DeltaRow
	Added, Removed   []string // resources, as "type name"
	BaseErr, HeadErr string   // a cost that could not be estimated
}

// DeltaRow is one compared figure.
type DeltaRow struct {
	What, Base, Head, Change string
}

// Diff compares two plans of the same stack.
func Diff(base, head *Plan) *Delta {
	d := &Delta{Stack: head.Stack, Region: head.Region, BaseErr: base.CostError, HeadErr: head.CostError}
	if base.Cost != nil && head.Cost != nil {
		d.Rows = append(d.Rows,
			money("monthly cost at minimum scale", base.Cost.MinTotal, head.Cost.MinTotal),
			money("monthly cost at maximum scale", base.Cost.MaxTotal, head.Cost.MaxTotal))
		b, h := items(base.Cost), items(head.Cost)
		for _, name := range union(keys(b), keys(h)) {
			if b[name] != h[name] {
				d.Items = append(d.Items, money(name, b[name], h[name]))
			}
		}
	}
	d.Rows = append(d.Rows,
		duration("rollout: all traffic on the new tasks", base.LeadTime.ToAllTraffic, head.LeadTime.ToAllTraffic),
		duration("rollout: complete", base.LeadTime.ToComplete, head.LeadTime.ToComplete),
		DeltaRow{"resources", fmt.Sprint(count(base.Resources)), fmt.Sprint(count(head.Resources)), signed(float64(count(head.Resources)-count(base.Resources)), "%.0f")})
	br, hr := flatten(base.Resources), flatten(head.Resources)
	for _, r := range hr {
		if !slices.Contains(br, r) {
			d.Added = append(d.Added, r)
		}
	}
	for _, r := range br {
		if !slices.Contains(hr, r) {
			d.Removed = append(d.Removed, r)
		}
	}
	return d
}

// items sums a cost's line items at minimum scale by name.
func items(c *Cost) map[string]float64 {
	m := map[string]float64{}
	for _, it := range append(slices.Clone(c.Fixed), c.AtMin...) {
		m[it.Name] = round2(m[it.Name] + it.Monthly)
	}
	return m
}

func keys(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func money(what string, base, head float64) DeltaRow {
	return DeltaRow{what, fmt.Sprintf("$%.2f", base), fmt.Sprintf("$%.2f", head), signed(round2(head-base), "$%.2f")}
}

func duration(what string, base, head time.Duration) DeltaRow {
	change := "±0"
	if d := head - base; d > 0 {
		change = "+" + d.String()
	} else if d < 0 {
		change = "-" + (-d).String()
	}
	return DeltaRow{what, base.String(), head.String(), change}
}

// signed formats a change with its sign, or ±0.
func signed(v float64, format string) string {
	switch {
	case v > 0:
		return "+" + fmt.Sprintf(format, v)
	case v < 0:
		return "-" + fmt.Sprintf(format, -v)
	}
	return "±0"
}

func flatten(ns []*Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Type+" "+n.Name)
		out = append(out, flatten(n.Children)...)
	}
	return out
}

// Changed tells whether anything differs.
func (d *Delta) Changed() bool {
	if len(d.Items) > 0 || len(d.Added) > 0 || len(d.Removed) > 0 {
		return true
	}
	for _, r := range d.Rows {
		if r.Change != "±0" {
			return true
		}
	}
	return false
}

// Markdown renders the delta for a pull-request comment.
func (d *Delta) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Stack `%s` (%s)\n\n", d.Stack, d.Region)
	if !d.Changed() {
		b.WriteString("No change in cost, rollout time or resources.\n")
	}
	b.WriteString("| | base | this change | difference |\n|---|---:|---:|---:|\n")
	for _, r := range d.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.What, r.Base, r.Head, r.Change)
	}
	for _, e := range []struct{ which, err string }{{"base", d.BaseErr}, {"this change", d.HeadErr}} {
		if e.err != "" {
			fmt.Fprintf(&b, "\nCost of %s not estimated: %s\n", e.which, e.err)
		}
	}
	if len(d.Items) > 0 {
		b.WriteString("\nMonthly cost items at minimum scale that change:\n\n")
		for _, r := range d.Items {
			fmt.Fprintf(&b, "- %s: %s → %s (%s)\n", r.What, r.Base, r.Head, r.Change)
		}
	}
	for _, l := range []struct {
		title string
		rs    []string
	}{{"Resources added", d.Added}, {"Resources removed", d.Removed}} {
		if len(l.rs) > 0 {
			fmt.Fprintf(&b, "\n%s:\n\n", l.title)
			for _, r := range l.rs {
				fmt.Fprintf(&b, "- `%s`\n", r)
			}
		}
	}
	return b.String()
}
