// Package cron parses EventBridge Scheduler's recurring schedule expressions,
// cron(minutes hours day-of-month month day-of-week year) and rate(value unit), as
// the Scheduler user guide ("Schedule types on EventBridge Scheduler", retrieved
// 2026-11-26) defines them, and counts the runs they make: the config refuses what
// Scheduler would refuse, and the offline plan prices a schedule by its runs.
//
// The fields, as documented: minutes 0-59 (, - * /); hours 0-23 (, - * /);
// day-of-month 1-31 (, - * ? / L W); month 1-12 or JAN-DEC (, - * /); day-of-week
// 1-7 or SUN-SAT, 1 being Sunday (, - * ? L #); year 1970-2199 (, - * /). One of
// day-of-month and day-of-week must be ?. A rate's value is a positive whole number
// and its unit minute, minutes, hour, hours, day or days (CreateSchedule's
// ScheduleExpression, API reference).
package cron

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed recurring schedule expression.
type Expr struct {
	text string
	// every is set for rate(): the interval between runs.
	every time.Duration
	// cron fields; nil sets mean "any" where the field is ?.
	minutes, hours, months, years set
	dom                           dayOfMonth
	dow                           dayOfWeek
}

type set map[int]bool

// dayOfMonth is the day-of-month field: days, or L (last day), or nW (the weekday
// nearest to day n within the month), or ? (any: day-of-week decides).
type dayOfMonth struct {
	any     bool
	days    set
	last    bool
	weekday int // nW; 0 if unused
}

// dayOfWeek is the day-of-week field: weekdays (time.Weekday), or nL (the last
// weekday n of the month), or n#k (the k-th weekday n), or ? (any).
type dayOfWeek struct {
	any     bool
	days    set
	last    int // nL: weekday+1; 0 if unused
	nth     int // n#k: k; 0 if unused
	nthDay  time.Weekday
	hasLast bool
}

var (
	rateRE = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
	cronRE = regexp.MustCompile(`^cron\(([^()]*)\)$`)
)

// Parse reads a cron() or rate() expression; the error says what Scheduler allows.
// One-time at() expressions are not recurring schedules and are refused.
func Parse(text string) (*Expr, error) {
	if m := rateRE.FindStringSubmatch(text); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("rate value must be a positive whole number")
		}
		unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[m[2]]
		return &Expr{text: text, every: time.Duration(n) * unit}, nil
	}
	m := cronRE.FindStringSubmatch(text)
	if m == nil {
		return nil, fmt.Errorf("a recurring schedule is cron(minutes hours day-of-month month day-of-week year) or rate(value unit), unit minute(s), hour(s) or day(s)")
	}
	f := strings.Fields(m[1])
	if len(f) != 6 {
		return nil, fmt.Errorf("cron() takes six fields (minutes hours day-of-month month day-of-week year), got %d", len(f))
	}
	e := &Expr{text: text}
	var err error
	if e.minutes, err = parseField(f[0], 0, 59, nil, "minutes"); err != nil {
		return nil, err
	}
	if e.hours, err = parseField(f[1], 0, 23, nil, "hours"); err != nil {
		return nil, err
	}
	if e.months, err = parseField(f[3], 1, 12, monthNames, "month"); err != nil {
		return nil, err
	}
	if e.years, err = parseField(f[5], 1970, 2199, nil, "year"); err != nil {
		return nil, err
	}
	if e.dom, err = parseDOM(f[2]); err != nil {
		return nil, err
	}
	if e.dow, err = parseDOW(f[4]); err != nil {
		return nil, err
	}
	if e.dom.any == e.dow.any {
		return nil, fmt.Errorf("one of day-of-month (%s) and day-of-week (%s) must be ?, and only one", f[2], f[4])
	}
	return e, nil
}

// String is the expression as written.
func (e *Expr) String() string { return e.text }

// Interval is a rate()'s interval between runs; 0 for a cron().
func (e *Expr) Interval() time.Duration { return e.every }

var (
	monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	dayNames   = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

// parseField reads a field of , - * / and values from lo to hi (or names).
func parseField(s string, lo, hi int, names map[string]int, what string) (set, error) {
	out := set{}
	for _, part := range strings.Split(s, ",") {
		rng, step := part, 1
		if r, st, ok := strings.Cut(part, "/"); ok {
			if what == "day-of-week" {
				return nil, fmt.Errorf("day-of-week field %q: / is not allowed there (use , - * ? L #)", s)
			}
			n, err := strconv.Atoi(st)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s field %q: the increment after / must be a positive whole number", what, s)
			}
			rng, step = r, n
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = value(a, lo, hi, names, what); err != nil {
				return nil, err
			}
			if to, err = value(b, lo, hi, names, what); err != nil {
				return nil, err
			}
		default:
			v, err := value(rng, lo, hi, names, what)
			if err != nil {
				return nil, err
			}
			from, to = v, v
			if step > 1 { // 5/15: from 5 on, every 15
				to = hi
			}
		}
		if from > to {
			return nil, fmt.Errorf("%s field %q: range %d-%d runs backwards", what, s, from, to)
		}
		for v := from; v <= to; v += step {
			out[v] = true
		}
	}
	return out, nil
}

func value(s string, lo, hi int, names map[string]int, what string) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s field: %q is not a value from %d to %d", what, s, lo, hi)
	}
	return v, nil
}

func parseDOM(s string) (dayOfMonth, error) {
	switch {
	case s == "?":
		return dayOfMonth{any: true}, nil
	case s == "L":
		return dayOfMonth{last: true}, nil
	case strings.HasSuffix(s, "W"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "W"))
		if err != nil || n < 1 || n > 31 {
			return dayOfMonth{}, fmt.Errorf("day-of-month field %q: W follows a day from 1 to 31 (15W: the weekday nearest the 15th)", s)
		}
		return dayOfMonth{weekday: n}, nil
	}
	days, err := parseField(s, 1, 31, nil, "day-of-month")
	return dayOfMonth{days: days}, err
}

func parseDOW(s string) (dayOfWeek, error) {
	switch {
	case s == "?":
		return dayOfWeek{any: true}, nil
	case strings.Contains(s, "#"):
		d, k, _ := strings.Cut(s, "#")
		day, err := value(d, 1, 7, dayNames, "day-of-week")
		n, err2 := strconv.Atoi(k)
		if err != nil || err2 != nil || n < 1 || n > 5 {
			return dayOfWeek{}, fmt.Errorf("day-of-week field %q: # takes a day (1-7 or SUN-SAT) and an occurrence from 1 to 5 (3#2: the second Tuesday)", s)
		}
		return dayOfWeek{nth: n, nthDay: time.Weekday(day - 1)}, nil
	case strings.HasSuffix(s, "L") && s != "L":
		day, err := value(strings.TrimSuffix(s, "L"), 1, 7, dayNames, "day-of-week")
		if err != nil {
			return dayOfWeek{}, fmt.Errorf("day-of-week field %q: L follows a day (6L: the last Friday of the month)", s)
		}
		return dayOfWeek{hasLast: true, last: day}, nil
	case s == "L":
		return dayOfWeek{days: set{7: true}}, nil // L alone is the last day of the week, Saturday
	}
	days, err := parseField(s, 1, 7, dayNames, "day-of-week")
	return dayOfWeek{days: days}, err
}

// matchesDay tells whether the cron's day fields select day t.
func (e *Expr) matchesDay(t time.Time) bool {
	if !e.months[int(t.Month())] || !e.years[t.Year()] {
		return false
	}
	last := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, t.Location()).Day()
	if !e.dom.any {
		switch {
		case e.dom.last:
			return t.Day() == last
		case e.dom.weekday > 0:
			return t.Day() == nearestWeekday(t, min(e.dom.weekday, last), last)
		}
		return e.dom.days[t.Day()]
	}
	w := t.Weekday()
	switch {
	case e.dow.nth > 0:
		return w == e.dow.nthDay && (t.Day()-1)/7+1 == e.dow.nth
	case e.dow.hasLast:
		return int(w)+1 == e.dow.last && t.Day()+7 > last
	}
	return e.dow.days[int(w)+1]
}

// nearestWeekday is the day of t's month nearest day n that is Monday to Friday,
// never crossing into another month (the W wildcard).
func nearestWeekday(t time.Time, n, last int) int {
	d := time.Date(t.Year(), t.Month(), n, 0, 0, 0, 0, t.Location())
	switch d.Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

// Runs counts the runs in [from, to) in loc (Scheduler evaluates a cron in the
// schedule's time zone). A rate runs at its start and every interval after it.
// Across daylight-saving changes a wall-clock time that does not exist is skipped
// and one that repeats runs once ("Daylight savings time on EventBridge
// Scheduler", user guide, retrieved 2026-11-26).
func (e *Expr) Runs(from, to time.Time, loc *time.Location) int {
	if e.every > 0 {
		if !to.After(from) {
			return 0
		}
		return int((to.Sub(from)-1)/e.every) + 1
	}
	n := 0
	from, to = from.In(loc), to.In(loc)
	for day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc); day.Before(to); day = day.AddDate(0, 0, 1) {
		if !e.matchesDay(day) {
			continue
		}
		for h := range 24 {
			if !e.hours[h] {
				continue
			}
			for m := range 60 {
				// A wall-clock time skipped by a daylight-saving change does not run;
				// time.Date normalises it into the next hour, which the hour check drops.
				at := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
				if e.minutes[m] && at.Hour() == h && !at.Before(from) && at.Before(to) {
					n++
				}
			}
		}
	}
	return n
}

// MonthlyRuns is the average number of runs in a month: the runs in the year
// from start, divided by twelve.
func (e *Expr) MonthlyRuns(start time.Time, loc *time.Location) float64 {
	return float64(e.Runs(start, start.AddDate(1, 0, 0), loc)) / 12
}
