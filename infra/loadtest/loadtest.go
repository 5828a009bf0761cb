// Package loadtest runs open-model HTTP load (vegeta: requests leave at the set
// rate whatever the server does, so queueing shows in the latencies instead of
// being hidden by coordinated omission), reports it, judges it against thresholds,
// compares runs and finds the highest rate a target holds. cmd/stress and the
// rollout's load gate use it.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"gopkg.in/yaml.v3"
)

// Target is one request of a profile, with its share of the load.
type Target struct {
	Path    string            `yaml:"path" json:"path"`
	Method  string            `yaml:"method,omitempty" json:"method,omitempty"`
	Weight  int               `yaml:"weight,omitempty" json:"weight,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// Profile is what to request: paths with weights and headers.
type Profile struct {
	Targets []Target `yaml:"targets" json:"targets"`
}

// DefaultProfile requests the root path only.
var DefaultProfile = Profile{Targets: []Target{{Path: "/", Weight: 1}}}

// ReadProfile reads a profile file (YAML or JSON):
//
//	targets:
//	  - path: /
//	    weight: 9
//	  - path: /health/
//	    weight: 1
//	    headers: {X-Probe: stress}
func ReadProfile(file string) (Profile, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Profile{}, err
	}
	var p Profile
	if err := yaml.Unmarshal(data, &p); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", file, err)
	}
	return p, p.Validate()
}

// Validate checks a profile.
func (p Profile) Validate() error {
	if len(p.Targets) == 0 {
		return errors.New("profile: no targets")
	}
	for _, t := range p.Targets {
		if !strings.HasPrefix(t.Path, "/") {
			return fmt.Errorf("profile: path %q must start with /", t.Path)
		}
		if t.Weight < 0 {
			return fmt.Errorf("profile: weight %d of %s must not be negative", t.Weight, t.Path)
		}
	}
	return nil
}

// targeter cycles through the profile's targets in proportion to their weights,
// spread out (smooth weighted round-robin) and deterministic, so two runs send the
// same mix in the same order.
func (p Profile) targeter(base string) vegeta.Targeter {
	type entry struct {
		target          vegeta.Target
		weight, current int
	}
	var entries []*entry
	total := 0
	for _, t := range p.Targets {
		method := t.Method
		if method == "" {
			method = http.MethodGet
		}
		h := http.Header{}
		for k, v := range t.Headers {
			h.Set(k, v)
		}
		w := max(t.Weight, 1)
		total += w
		entries = append(entries, &entry{target: vegeta.Target{Method: method, URL: strings.TrimSuffix(base, "/") + t.Path, Header: h}, weight: w})
	}
	var seq []vegeta.Target
	for range total {
		best := entries[0]
		for _, e := range entries {
			e.current += e.weight
			if e.current > best.current {
				best = e
			}
		}
		best.current -= total
		seq = append(seq, best.target)
	}
	var mu sync.Mutex
	n := 0
	return func(tgt *vegeta.Target) error {
		mu.Lock()
		t := seq[n%len(seq)]
		n++
		mu.Unlock()
		*tgt = t
		tgt.Header = t.Header.Clone()
		return nil
	}
}

// Attack says how to load a target.
type Attack struct {
	URL     string
	Profile Profile
	// Rate is requests per second; RampTo, when above Rate, raises the rate linearly
	// to it over Duration.
	Rate, RampTo float64
	Duration     time.Duration
	// WarmUp is load at Rate before the measured part, not reported.
	WarmUp  time.Duration
	Timeout time.Duration // per request (default 10 s)
	// MaxWorkers bounds concurrent requests (default 10 000): the bound on open
	// connections if the target stalls.
	MaxWorkers uint64
}

func (a Attack) validate() error {
	switch {
	case a.URL == "":
		return errors.New("no target URL")
	case a.Rate <= 0: // vegeta reads a zero rate as "as fast as possible"
		return fmt.Errorf("rate %v: must be above 0 requests per second", a.Rate)
	case a.Duration <= 0:
		return fmt.Errorf("duration %v: must be above 0", a.Duration)
	}
	return a.Profile.Validate()
}

// Report is one measured run.
type Report struct {
	URL          string         `json:"url"`
	Rate         float64        `json:"requestedRate"` // requests/s asked for (start rate when ramping)
	RampTo       float64        `json:"rampTo,omitempty"`
	Duration     time.Duration  `json:"durationNs"`
	Requests     uint64         `json:"requests"`
	AchievedRate float64        `json:"achievedRate"` // requests/s sent
	Throughput   float64        `json:"throughput"`   // successful responses/s
	Success      float64        `json:"success"`      // ratio of 2xx/3xx responses
	Latency      Latency        `json:"latency"`
	StatusCodes  map[string]int `json:"statusCodes"`
	Errors       []string       `json:"errors,omitempty"`
	// Note carries what a reader must know (for example: no CPU limits applied).
	Note string `json:"note,omitempty"`
}

// Latency are the latency percentiles of a run.
type Latency struct {
	Mean time.Duration `json:"meanNs"`
	P50  time.Duration `json:"p50Ns"`
	P90  time.Duration `json:"p90Ns"`
	P95  time.Duration `json:"p95Ns"`
	P99  time.Duration `json:"p99Ns"`
	Max  time.Duration `json:"maxNs"`
}

// Run loads the target and reports; each result also goes to sink (nil: none),
// for a plot. It stops early, with what it measured, when ctx ends.
func Run(ctx context.Context, a Attack, sink func(*vegeta.Result)) (*Report, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	targeter := a.Profile.targeter(a.URL)
	if a.WarmUp > 0 {
		a.attack(ctx, targeter, constant(a.Rate), a.WarmUp, nil)
	}
	var pacer vegeta.Pacer = constant(a.Rate)
	if a.RampTo > a.Rate {
		pacer = vegeta.LinearPacer{StartAt: constant(a.Rate), Slope: (a.RampTo - a.Rate) / a.Duration.Seconds()}
	}
	var m vegeta.Metrics
	a.attack(ctx, targeter, pacer, a.Duration, func(res *vegeta.Result) {
		m.Add(res)
		if sink != nil {
			sink(res)
		}
	})
	m.Close() // computes the rates and percentiles
	r := &Report{
		URL: a.URL, Rate: a.Rate, Duration: a.Duration, Requests: m.Requests,
		AchievedRate: m.Rate, Throughput: m.Throughput, Success: m.Success,
		Latency: Latency{
			Mean: m.Latencies.Mean, P50: m.Latencies.P50, P90: m.Latencies.P90,
			P95: m.Latencies.P95, P99: m.Latencies.P99, Max: m.Latencies.Max,
		},
		StatusCodes: m.StatusCodes, Errors: m.Errors,
	}
	if a.RampTo > a.Rate {
		r.RampTo = a.RampTo
	}
	return r, nil
}

// constant paces rate requests a second evenly; fractional rates too (2.5/s is
// 2500 per 1000 s).
// attack sends one phase of load and hands each result to each (nil: dropped).
// Every phase needs its own attacker: vegeta's Attack stops its attacker for good
// when it ends, so a reused one would send next to nothing.
func (a Attack) attack(ctx context.Context, tr vegeta.Targeter, p vegeta.Pacer, du time.Duration, each func(*vegeta.Result)) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	workers := a.MaxWorkers
	if workers == 0 {
		workers = 10000
	}
	attacker := vegeta.NewAttacker(vegeta.Timeout(timeout), vegeta.MaxWorkers(workers), vegeta.KeepAlive(true))
	stop := context.AfterFunc(ctx, func() { attacker.Stop() })
	defer stop()
	for res := range attacker.Attack(tr, p, du, "load") {
		if each != nil {
			each(res)
		}
	}
}

func constant(rate float64) vegeta.ConstantPacer {
	return vegeta.Rate{Freq: int(math.Round(rate * 1000)), Per: 1000 * time.Second}
}
