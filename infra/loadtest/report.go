package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"
)

// Text renders a report for people.
func (r *Report) Text() string {
	var b strings.Builder
	if r.Note != "" {
		fmt.Fprintf(&b, "NOTE: %s\n", r.Note)
	}
	rate := fmt.Sprintf("%.2f/s", r.Rate)
	if r.RampTo > 0 {
		rate += fmt.Sprintf(" ramped to %.2f/s", r.RampTo)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\t%s\n", r.URL)
	fmt.Fprintf(tw, "requested\t%s for %s\n", rate, r.Duration)
	fmt.Fprintf(tw, "sent\t%d requests, %.2f/s\n", r.Requests, r.AchievedRate)
	fmt.Fprintf(tw, "success\t%.2f%% (%.2f/s)\n", r.Success*100, r.Throughput)
	l := r.Latency
	fmt.Fprintf(tw, "latency\tp50 %s  p90 %s  p95 %s  p99 %s  max %s  mean %s\n", round(l.P50), round(l.P90), round(l.P95), round(l.P99), round(l.Max), round(l.Mean))
	var codes []string
	for _, c := range slices.Sorted(maps.Keys(r.StatusCodes)) {
		codes = append(codes, fmt.Sprintf("%s×%d", c, r.StatusCodes[c]))
	}
	fmt.Fprintf(tw, "status codes\t%s\n", strings.Join(codes, "  "))
	tw.Flush()
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	return b.String()
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// WriteJSON writes the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(file string) (*Report, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("report %s: %w", file, err)
	}
	return &r, nil
}

// Thresholds turn a report into a verdict; zero values are not checked.
type Thresholds struct {
	MaxP50, MaxP95, MaxP99 time.Duration
	MinSuccess             float64 // ratio of successful responses, 0..1
	// MinRateRatio is the share of the requested rate that must have been sent
	// (a load generator that falls behind hides the target's limit).
	MinRateRatio float64
}

// Check lists the thresholds a report breaks.
func (t Thresholds) Check(r *Report) []string {
	var out []string
	for _, c := range []struct {
		name       string
		got, limit time.Duration
	}{{"p50", r.Latency.P50, t.MaxP50}, {"p95", r.Latency.P95, t.MaxP95}, {"p99", r.Latency.P99, t.MaxP99}} {
		if c.limit > 0 && c.got > c.limit {
			out = append(out, fmt.Sprintf("%s latency %s above %s", c.name, round(c.got), c.limit))
		}
	}
	if t.MinSuccess > 0 && r.Success < t.MinSuccess {
		out = append(out, fmt.Sprintf("success %.2f%% below %.2f%%", r.Success*100, t.MinSuccess*100))
	}
	want := r.Rate
	if r.RampTo > r.Rate {
		want = (r.Rate + r.RampTo) / 2
	}
	if t.MinRateRatio > 0 && r.AchievedRate < want*t.MinRateRatio {
		out = append(out, fmt.Sprintf("sent %.2f/s, below %.0f%% of the requested %.2f/s", r.AchievedRate, t.MinRateRatio*100, want))
	}
	return out
}

// Compare puts two runs side by side and calls out differences above 10%.
func Compare(nameA string, a *Report, nameB string, b *Report) string {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\t%s\t%s\tdifference\t\n", nameA, nameB)
	var callouts []string
	row := func(what string, va, vb float64, format func(float64) string, higherIsBetter bool) {
		diff := "±0"
		if va != 0 {
			pct := (vb - va) / va * 100
			diff = fmt.Sprintf("%+.1f%%", pct)
			if math.Abs(pct) > 10 {
				better := (pct > 0) == higherIsBetter
				callouts = append(callouts, fmt.Sprintf("%s: %s is %s by %.0f%% (%s → %s)", what, nameB, map[bool]string{true: "better", false: "worse"}[better], math.Abs(pct), format(va), format(vb)))
			}
		} else if vb != 0 {
			diff = "new"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", what, format(va), format(vb), diff)
	}
	perSec := func(v float64) string { return fmt.Sprintf("%.2f/s", v) }
	pct := func(v float64) string { return fmt.Sprintf("%.2f%%", v*100) }
	dur := func(v float64) string { return round(time.Duration(v)).String() }
	row("requested", a.Rate, b.Rate, perSec, true)
	row("sent", a.AchievedRate, b.AchievedRate, perSec, true)
	row("throughput", a.Throughput, b.Throughput, perSec, true)
	row("success", a.Success, b.Success, pct, true)
	row("p50", float64(a.Latency.P50), float64(b.Latency.P50), dur, false)
	row("p90", float64(a.Latency.P90), float64(b.Latency.P90), dur, false)
	row("p95", float64(a.Latency.P95), float64(b.Latency.P95), dur, false)
	row("p99", float64(a.Latency.P99), float64(b.Latency.P99), dur, false)
	row("max", float64(a.Latency.Max), float64(b.Latency.Max), dur, false)
	tw.Flush()
	if len(callouts) == 0 {
		sb.WriteString("No difference above 10%.\n")
	}
	for _, c := range callouts {
		sb.WriteString("! " + c + "\n")
	}
	return sb.String()
}

// StepResult is a step run: each rate tried, and the highest that held.
type StepResult struct {
	Steps  []*Report `json:"steps"`
	Held   float64   `json:"heldRate"`   // 0: not even the first step held
	Broken float64   `json:"brokenRate"` // 0: no step broke up to the maximum
	Why    []string  `json:"why,omitempty"`
}

// Step raises the rate from start by step, each for a.Duration, until a threshold
// breaks or maxRate is reached; the highest rate that held is what to size by.
func Step(ctx context.Context, a Attack, start, step, maxRate float64, th Thresholds, each func(*Report)) (*StepResult, error) {
	if start <= 0 || step <= 0 || maxRate < start {
		return nil, fmt.Errorf("step: start %v, step %v, max %v: want 0 < start <= max and step > 0", start, step, maxRate)
	}
	res := &StepResult{}
	for rate := start; rate <= maxRate+1e-9; rate += step {
		a.Rate = rate
		r, err := Run(ctx, a, nil)
		if err != nil {
			return res, err
		}
		res.Steps = append(res.Steps, r)
		if each != nil {
			each(r)
		}
		if why := th.Check(r); len(why) > 0 {
			res.Broken, res.Why = rate, why
			return res, nil
		}
		res.Held = rate
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		a.WarmUp = 0 // the target is warm after the first step
	}
	return res, nil
}

// Recorder keeps results for a plot.
type Recorder struct{ p *plot.Plot }

// NewRecorder starts a latency-over-time plot.
func NewRecorder(title string) *Recorder {
	return &Recorder{p: plot.New(plot.Title(title), plot.Label(plot.ErrorLabeler))}
}

// Add is a Run sink.
func (rec *Recorder) Add(r *vegeta.Result) { _ = rec.p.Add(r) }

// WriteHTML writes the plot: a page that opens in any browser.
func (rec *Recorder) WriteHTML(w io.Writer) error {
	rec.p.Close()
	_, err := rec.p.WriteTo(w)
	return err
}
