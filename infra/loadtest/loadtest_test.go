package loadtest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecs-bluegreen/infra/loadtest"
)

// knownServer answers every 10th request after 50 ms and the others after 5 ms,
// and fails every 20th with a 500; it counts requests per path.
func knownServer(t *testing.T) (*httptest.Server, *sync.Map) {
	var n atomic.Int64
	paths := &sync.Map{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		c, _ := paths.LoadOrStore(r.URL.Path, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		if i%10 == 0 {
			time.Sleep(50 * time.Millisecond)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
		if i%20 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, paths
}

func TestReportMatchesTheServer(t *testing.T) {
	srv, paths := knownServer(t)
	rec := loadtest.NewRecorder("known server")
	r, err := loadtest.Run(context.Background(), loadtest.Attack{
		URL: srv.URL, Rate: 200, Duration: 3 * time.Second,
		Profile: loadtest.Profile{Targets: []loadtest.Target{{Path: "/a", Weight: 3}, {Path: "/b", Weight: 1, Headers: map[string]string{"X-Probe": "1"}}}},
	}, rec.Add)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.Text())
	if r.Requests != 600 {
		t.Errorf("%d requests, want 600 (200/s for 3 s)", r.Requests)
	}
	if r.AchievedRate < 196 || r.AchievedRate > 204 {
		t.Errorf("achieved %.2f/s, want within 2%% of 200/s", r.AchievedRate)
	}
	// Every 20th request fails: exactly 5%.
	if r.Success != 0.95 || r.StatusCodes["200"] != 570 || r.StatusCodes["500"] != 30 {
		t.Errorf("success %v, codes %v; want 95%%, 570×200, 30×500", r.Success, r.StatusCodes)
	}
	// 90% take 5 ms, 10% take 50 ms (plus loopback and scheduling).
	l := r.Latency
	if l.P50 < 5*time.Millisecond || l.P50 > 20*time.Millisecond {
		t.Errorf("p50 %s, want about 5 ms", l.P50)
	}
	if l.P95 < 50*time.Millisecond || l.P99 < 50*time.Millisecond || l.P99 > 120*time.Millisecond || l.Max < 50*time.Millisecond {
		t.Errorf("p95 %s, p99 %s, max %s: want the slow tenth at about 50 ms", l.P95, l.P99, l.Max)
	}
	a, _ := paths.Load("/a")
	b, _ := paths.Load("/b")
	if a.(*atomic.Int64).Load() != 450 || b.(*atomic.Int64).Load() != 150 {
		t.Errorf("paths /a %d, /b %d; want the 3:1 weights, 450 and 150", a.(*atomic.Int64).Load(), b.(*atomic.Int64).Load())
	}

	// Thresholds turn the run into a verdict.
	if why := (loadtest.Thresholds{MaxP99: 20 * time.Millisecond, MinSuccess: 0.99}).Check(r); len(why) != 2 ||
		!strings.Contains(why[0], "p99 latency") || !strings.Contains(why[1], "success 95.00% below 99.00%") {
		t.Errorf("strict thresholds: %v", why)
	}
	if why := (loadtest.Thresholds{MaxP99: 500 * time.Millisecond, MinSuccess: 0.9, MinRateRatio: 0.95}).Check(r); len(why) != 0 {
		t.Errorf("loose thresholds broken: %v", why)
	}

	// The plot is a page a person can open, with the run's points in it.
	var page bytes.Buffer
	if err := rec.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "<html") || !strings.Contains(page.String(), "known server") {
		t.Errorf("plot is not an HTML page with the title (%d bytes)", page.Len())
	}

	// JSON round trip, and a comparison that calls out what changed.
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	slower := *r
	slower.Latency.P99 *= 2
	cmp := loadtest.Compare("before", r, "after", &slower)
	if !strings.Contains(cmp, "! p99: after is worse by 100%") || !strings.Contains(cmp, "+100.0%") {
		t.Errorf("comparison:\n%s", cmp)
	}
	if same := loadtest.Compare("a", r, "b", r); !strings.Contains(same, "No difference above 10%.") {
		t.Errorf("a run differs from itself:\n%s", same)
	}
}

// TestStepFindsTheLimit: a server that handles one request at a time in 4 ms holds
// 250 requests a second. Open-model steps of 100 and 300/s: the first holds (40 %
// busy, with room for a machine whose other tests slow the sleeps down), at 300/s
// the queue grows and p99 breaks.
func TestStepFindsTheLimit(t *testing.T) {
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		time.Sleep(4 * time.Millisecond)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	res, err := loadtest.Step(context.Background(), loadtest.Attack{URL: srv.URL, Profile: loadtest.DefaultProfile, Duration: 1500 * time.Millisecond},
		100, 200, 500, loadtest.Thresholds{MaxP99: 60 * time.Millisecond, MinSuccess: 0.99}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Held != 100 || res.Broken != 300 || len(res.Steps) != 2 {
		t.Errorf("held %v, broke at %v after %d steps (%v); want 100 and 300", res.Held, res.Broken, len(res.Steps), res.Why)
	}
}

func TestAttackValidation(t *testing.T) {
	for _, a := range []loadtest.Attack{
		{URL: "http://127.0.0.1:1", Rate: 0, Duration: time.Second, Profile: loadtest.DefaultProfile},
		{URL: "http://127.0.0.1:1", Rate: 10, Duration: 0, Profile: loadtest.DefaultProfile},
		{URL: "http://127.0.0.1:1", Rate: 10, Duration: time.Second, Profile: loadtest.Profile{Targets: []loadtest.Target{{Path: "health"}}}},
	} {
		if _, err := loadtest.Run(context.Background(), a, nil); err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
}

// TestWarmUpIsNotMeasured: load before the measurement goes out and is not
// counted; the measured part still sends its full rate.
func TestWarmUpIsNotMeasured(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	t.Cleanup(srv.Close)
	r, err := loadtest.Run(context.Background(), loadtest.Attack{URL: srv.URL, Profile: loadtest.DefaultProfile, Rate: 50, Duration: time.Second, WarmUp: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 50 || n.Load() != 100 {
		t.Errorf("measured %d requests, server saw %d; want 50 measured after 50 of warm-up", r.Requests, n.Load())
	}
}
