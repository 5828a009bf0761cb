package cron

import (
	"strings"
	"testing"
	"time"
)

// TestRuns counts the runs of expressions over ranges whose counts are worked out
// by hand from a calendar.
func TestRuns(t *testing.T) {
	utc := time.UTC
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	jan := time.Date(2027, 1, 1, 0, 0, 0, 0, utc)
	feb := time.Date(2027, 2, 1, 0, 0, 0, 0, utc)
	cases := []struct {
		expr     string
		from, to time.Time
		loc      *time.Location
		want     int
	}{
		{"rate(1 hour)", jan, feb, utc, 31 * 24},
		{"rate(5 minutes)", jan, jan.Add(time.Hour), utc, 12},
		{"rate(1 day)", jan, feb, utc, 31},
		{"rate(3 days)", jan, feb, utc, 11}, // days 1, 4, …, 31
		{"cron(0 3 * * ? *)", jan, feb, utc, 31},
		{"cron(0/15 * * * ? *)", jan, jan.AddDate(0, 0, 1), utc, 96},
		{"cron(5/20 9-17 ? * MON-FRI *)", jan, feb, utc, 21 * 9 * 3}, // January 2027 has 21 weekdays
		{"cron(0 8 1 * ? *)", jan, jan.AddDate(1, 0, 0), utc, 12},
		{"cron(0 0 L * ? *)", jan, jan.AddDate(1, 0, 0), utc, 12},
		{"cron(0 0 L 2 ? 2028)", jan, jan.AddDate(2, 0, 0), utc, 1},  // 2028-02-29 only
		{"cron(0 12 ? * 6L *)", jan, feb, utc, 1},                    // the last Friday, the 29th
		{"cron(0 12 ? * 2#1 *)", jan, jan.AddDate(1, 0, 0), utc, 12}, // first Monday of each month
		{"cron(0 12 ? * 3#5 *)", jan, feb, utc, 0},                   // January 2027 has four Tuesdays
		{"cron(0 12 15W * ? *)", jan, feb, utc, 1},                   // Friday the 15th
		{"cron(0 12 2W * ? *)", time.Date(2027, 5, 1, 0, 0, 0, 0, utc), time.Date(2027, 6, 1, 0, 0, 0, 0, utc), utc, 1},
		{"cron(0 12 1,15 JAN,JUL ? *)", jan, jan.AddDate(1, 0, 0), utc, 4},
		{"cron(30 2 * * ? *)", time.Date(2027, 3, 1, 0, 0, 0, 0, berlin), time.Date(2027, 4, 1, 0, 0, 0, 0, berlin), berlin, 30},   // 02:30 does not exist on 2027-03-28
		{"cron(30 2 * * ? *)", time.Date(2027, 10, 1, 0, 0, 0, 0, berlin), time.Date(2027, 11, 1, 0, 0, 0, 0, berlin), berlin, 31}, // 02:30 twice on 2027-10-31, one run
		{"cron(0 0 * * ? *)", jan, feb, seoul, 31},
	}
	for _, c := range cases {
		e, err := Parse(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := e.Runs(c.from, c.to, c.loc); got != c.want {
			t.Errorf("%s from %s to %s in %s: %d runs, want %d", c.expr, c.from.Format(time.DateOnly), c.to.Format(time.DateOnly), c.loc, got, c.want)
		}
	}
}

func TestMonthlyRuns(t *testing.T) {
	e, err := Parse("cron(0 3 * * ? *)")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.MonthlyRuns(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC); got != 365.0/12 {
		t.Errorf("daily: %v runs a month, want %v", got, 365.0/12)
	}
}

// TestRefused: what Scheduler refuses is refused, saying why.
func TestRefused(t *testing.T) {
	for expr, want := range map[string]string{
		"cron(0 3 * * * *)":       "one of day-of-month",
		"cron(0 3 ? * ? *)":       "one of day-of-month",
		"cron(0 3 * *)":           "six fields",
		"cron(60 3 * * ? *)":      `minutes field: "60"`,
		"cron(0 24 * * ? *)":      `hours field: "24"`,
		"cron(0 3 32 * ? *)":      "day-of-month field",
		"cron(0 3 ? * 8 *)":       "day-of-week field",
		"cron(0 3 ? * */2 *)":     "/ is not allowed",
		"cron(0 3 ? * 2#6 *)":     "occurrence from 1 to 5",
		"cron(0 3 * * ? 1969)":    "year field",
		"cron(0 5-3 * * ? *)":     "runs backwards",
		"rate(0 minutes)":         "positive",
		"rate(5 weeks)":           "recurring schedule is cron",
		"at(2027-01-01T00:00:00)": "recurring schedule is cron",
		"0 3 * * *":               "recurring schedule is cron",
	} {
		_, err := Parse(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", expr, err, want)
		}
	}
}

// TestInterval: a rate()'s interval, and none for a cron().
func TestInterval(t *testing.T) {
	for text, want := range map[string]time.Duration{"rate(1 minute)": time.Minute, "rate(5 minutes)": 5 * time.Minute, "rate(2 hours)": 2 * time.Hour, "rate(1 day)": 24 * time.Hour, "cron(0 3 * * ? *)": 0} {
		e, err := Parse(text)
		if err != nil || e.Interval() != want {
			t.Errorf("%s: interval %v, %v; want %v", text, e.Interval(), err, want)
		}
	}
}
