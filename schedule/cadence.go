package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule tells when a job runs next. Next returns the first run strictly
// after the given instant, or the zero time when the schedule never runs
// again. Any cron library plugs in through this one method.
type Schedule interface {
	Next(after time.Time) time.Time
}

// CadenceError is returned by [ParseCadence]: Cadence is the text given,
// Msg says what is wrong and how to write it instead.
type CadenceError struct {
	Cadence string
	Msg     string
}

// Error returns "schedule: " + the cadence + ": " + what is wrong.
func (e *CadenceError) Error() string {
	return "schedule: " + e.Cadence + ": " + e.Msg
}

func cerr(s, format string, args ...any) error {
	return &CadenceError{Cadence: s, Msg: fmt.Sprintf(format, args...)}
}

// cadence is a set of local wall times per day: a wall time skipped by a
// DST jump runs at the first instant after the jump, a repeated one once,
// at its first occurrence.
type cadence struct {
	text     string
	loc      *time.Location
	minutes  uint64 // bit m: minute m
	hours    uint32 // bit h: hour h
	dom      uint32 // bit d: day of month d (1-31)
	months   uint16 // bit m: month m (1-12)
	dow      uint8  // bit d: weekday d (0 = Sunday)
	domStar  bool   // cron: day-of-month field was * (OR rule with dow)
	dowStar  bool
	clampDom bool // monthly: a day past the month's end means its last day
	once     *time.Time
}

// String returns the cadence text as parsed (normalized spacing and case).
func (c *cadence) String() string { return c.text }

// Location returns the time zone the cadence is evaluated in.
func (c *cadence) Location() *time.Location { return c.loc }

const allHours = 1<<24 - 1
const allDom = (1<<32 - 1) &^ 1
const allMonths = (1<<13 - 1) &^ 1
const allDow = 1<<7 - 1

// ParseCadence parses a cadence, evaluated in loc (nil means UTC):
//
//	every 15m                  on the clock: :00 :15 :30 :45; N must divide 60 (1 2 3 4 5 6 10 12 15 20 30)
//	every 2h                   at :00 of the hours divisible by N from midnight; N must divide 24
//	hourly at :05              every hour at minute 5
//	daily at 09:00
//	workdays at 09:00          Monday to Friday
//	weekly on mon at 09:00     one day or a comma list: weekly on mon,thu at 09:00
//	monthly on 31 at 08:00     a day past the month's end runs on its last day
//	cron 0 9 * * 1-5           five fields: minute hour day-of-month month day-of-week;
//	                           lists, ranges, steps, month and weekday names (jan, mon), 7 = Sunday;
//	                           when both day fields are restricted, either matching runs (as in Vixie cron)
//	once at 2026-12-01T09:00   a single run
//
// DST: every cadence names wall times in loc. A wall time skipped by a
// spring-forward jump runs at the first instant after the jump (so "every
// 15m" runs once at 03:00 for the skipped 02:00–02:45 and 03:00); a wall
// time repeated by a fall-back runs once, at its first occurrence (so the
// repeated hour of "every 15m" is not run twice).
//
// Keywords are case-insensitive. Errors are *[CadenceError] and say what is
// wrong.
func ParseCadence(s string, loc *time.Location) (Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	f := strings.Fields(strings.ToLower(s))
	text := strings.Join(f, " ")
	if len(f) == 0 {
		return nil, cerr(strconv.Quote(s), "empty cadence; write e.g. \"daily at 09:00\", \"every 15m\" or \"cron 0 9 * * 1-5\"")
	}
	c := &cadence{text: text, loc: loc, dom: allDom, months: allMonths, dow: allDow, domStar: true, dowStar: true}
	var err error
	switch f[0] {
	case "every":
		err = c.parseEvery(text, f[1:])
	case "hourly":
		if len(f) != 3 || f[1] != "at" || !strings.HasPrefix(f[2], ":") {
			return nil, cerr(text, "write hourly at :MM, e.g. hourly at :05")
		}
		m, e := strconv.Atoi(f[2][1:])
		if e != nil || len(f[2]) != 3 || m < 0 || m > 59 {
			return nil, cerr(text, "%q is not a minute :00 to :59", f[2])
		}
		c.minutes, c.hours = 1<<m, allHours
	case "daily", "workdays":
		if len(f) != 3 || f[1] != "at" {
			return nil, cerr(text, "write %s at HH:MM, e.g. %s at 09:00", f[0], f[0])
		}
		err = c.parseAt(text, f[2])
		if f[0] == "workdays" {
			c.dow, c.dowStar = 0b0111110, false
		}
	case "weekly":
		if len(f) != 5 || f[1] != "on" || f[3] != "at" {
			return nil, cerr(text, "write weekly on DAY at HH:MM, e.g. weekly on mon at 09:00")
		}
		c.dow, c.dowStar = 0, false
		for _, d := range strings.Split(f[2], ",") {
			n, ok := dayNames[d]
			if !ok {
				return nil, cerr(text, "%q is not a weekday; use mon, tue, wed, thu, fri, sat or sun", d)
			}
			c.dow |= 1 << n
		}
		err = c.parseAt(text, f[4])
	case "monthly":
		if len(f) != 5 || f[1] != "on" || f[3] != "at" {
			return nil, cerr(text, "write monthly on DAY at HH:MM, e.g. monthly on 1 at 08:00")
		}
		d, e := strconv.Atoi(f[2])
		if e != nil || d < 1 || d > 31 {
			return nil, cerr(text, "%q is not a day of the month 1 to 31 (a day past a month's end runs on its last day)", f[2])
		}
		c.dom, c.domStar, c.clampDom = 1<<d, false, true
		err = c.parseAt(text, f[4])
	case "cron":
		if len(f) != 6 {
			return nil, cerr(text, "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got %d", len(f)-1)
		}
		err = c.parseCron(text, f[1:])
	case "once":
		if len(f) != 3 || f[1] != "at" {
			return nil, cerr(text, "write once at YYYY-MM-DDTHH:MM, e.g. once at 2026-12-01T09:00")
		}
		w, e := time.ParseInLocation("2006-01-02t15:04", f[2], time.UTC)
		if e != nil {
			return nil, cerr(text, "%q is not a local date and time YYYY-MM-DDTHH:MM", f[2])
		}
		t := resolve(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), loc)
		c.once = &t
	default:
		return nil, cerr(text, "unknown cadence %q; use every, hourly, daily, workdays, weekly, monthly, cron or once", f[0])
	}
	if err != nil {
		return nil, err
	}
	if c.once == nil && c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, cerr(text, "never runs (no date matches)")
	}
	return c, nil
}

var dayNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
var monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}

func (c *cadence) parseEvery(text string, f []string) error {
	if len(f) != 1 || len(f[0]) < 2 {
		return cerr(text, "write every Nm or every Nh, e.g. every 15m or every 2h")
	}
	unit := f[0][len(f[0])-1]
	n, err := strconv.Atoi(f[0][:len(f[0])-1])
	if err != nil || n < 1 || (unit != 'm' && unit != 'h') {
		return cerr(text, "write every Nm or every Nh with a positive whole N, e.g. every 15m or every 2h")
	}
	switch {
	case unit == 'm' && n == 60:
		return cerr(text, "write every 1h")
	case unit == 'm' && 60%n != 0:
		return cerr(text, "%d does not divide 60; use every 5m, 10m, 15m, 20m or 30m (or 1m, 2m, 3m, 4m, 6m, 12m)", n)
	case unit == 'h' && 24%n != 0:
		return cerr(text, "%d does not divide 24; use every 1h, 2h, 3h, 4h, 6h, 8h, 12h or 24h", n)
	case unit == 'm':
		for m := 0; m < 60; m += n {
			c.minutes |= 1 << m
		}
		c.hours = allHours
	default:
		c.minutes = 1
		for h := 0; h < 24; h += n {
			c.hours |= 1 << h
		}
	}
	return nil
}

func (c *cadence) parseAt(text, hm string) error {
	t, err := time.Parse("15:04", hm)
	if err != nil || len(hm) != 5 {
		return cerr(text, "%q is not a time of day HH:MM (00:00 to 23:59)", hm)
	}
	c.minutes, c.hours = 1<<t.Minute(), 1<<t.Hour()
	return nil
}

func (c *cadence) parseCron(text string, f []string) error {
	fields := []struct {
		name     string
		min, max int
		names    map[string]int
	}{
		{"minute", 0, 59, nil}, {"hour", 0, 23, nil}, {"day-of-month", 1, 31, nil},
		{"month", 1, 12, monthNames}, {"day-of-week", 0, 7, dayNames},
	}
	var bits [5]uint64
	for i, fd := range fields {
		b, err := cronField(f[i], fd.min, fd.max, fd.names)
		if err != nil {
			return cerr(text, "%s field %q: %s", fd.name, f[i], err)
		}
		bits[i] = b
	}
	if bits[4]&(1<<7) != 0 {
		bits[4] = bits[4]&^(1<<7) | 1
	}
	c.minutes, c.hours, c.dom, c.months, c.dow = bits[0], uint32(bits[1]), uint32(bits[2]), uint16(bits[3]), uint8(bits[4])
	c.domStar, c.dowStar = strings.HasPrefix(f[2], "*"), strings.HasPrefix(f[4], "*")
	return nil
}

// cronField parses one cron field: * | a | a-b | */n | a-b/n | a/n, comma lists.
func cronField(s string, lo, hi int, names map[string]int) (uint64, error) {
	var bits uint64
	for _, part := range strings.Split(s, ",") {
		rng, step := part, 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			rng = part[:i]
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q is not a positive number", part[i+1:])
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case rng == "":
			return 0, fmt.Errorf("empty list item")
		default:
			x, y, isRange := strings.Cut(rng, "-")
			var err error
			if a, err = cronValue(x, lo, hi, names); err != nil {
				return 0, err
			}
			b = a
			if isRange {
				if b, err = cronValue(y, lo, hi, names); err != nil {
					return 0, err
				}
				if hi == 7 && y == "sun" {
					b = 7 // sat-sun
				}
				if b < a {
					return 0, fmt.Errorf("range %s-%s runs backwards", x, y)
				}
			} else if step > 1 || strings.Contains(part, "/") {
				b = hi
			}
		}
		for v := a; v <= b; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

func cronValue(s string, lo, hi int, names map[string]int) (int, error) {
	if n, ok := names[s]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		if names != nil {
			return 0, fmt.Errorf("%q is not a number %d-%d or a name (%s)", s, lo, hi, nameHint(names))
		}
		return 0, fmt.Errorf("%q is not a number %d-%d", s, lo, hi)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, lo, hi)
	}
	return n, nil
}

func nameHint(names map[string]int) string {
	if _, ok := names["jan"]; ok {
		return "jan … dec"
	}
	return "sun … sat"
}

// dayMatches reports whether the local date is in the cadence.
func (c *cadence) dayMatches(y int, m time.Month, d int, wd time.Weekday) bool {
	if c.months&(1<<m) == 0 {
		return false
	}
	domOK := c.dom&(1<<d) != 0
	if c.clampDom {
		last := daysIn(y, m)
		want := 0
		for i := 1; i <= 31; i++ {
			if c.dom&(1<<i) != 0 {
				want = i
			}
		}
		domOK = d == min(want, last)
	}
	dowOK := c.dow&(1<<wd) != 0
	if !c.domStar && !c.dowStar {
		return domOK || dowOK
	}
	return domOK && dowOK
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// searchDays bounds the search for a matching day (covers leap days with a
// weekday restriction: 28 years).
const searchDays = 366 * 29

// Next returns the first run strictly after the given instant, or the zero
// time when there is none.
func (c *cadence) Next(after time.Time) time.Time {
	if c.once != nil {
		if c.once.After(after) {
			return *c.once
		}
		return time.Time{}
	}
	la := after.In(c.loc)
	// Start a day early: a wall time of the previous local date can resolve
	// (through a skipped hour) after `after` only on that date; cheap to check.
	day := time.Date(la.Year(), la.Month(), la.Day()-1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < searchDays; i, day = i+1, day.AddDate(0, 0, 1) {
		y, m, d := day.Date()
		if !c.dayMatches(y, m, d, day.Weekday()) {
			continue
		}
		for h := 0; h < 24; h++ {
			if c.hours&(1<<h) == 0 {
				continue
			}
			for mi := 0; mi < 60; mi++ {
				if c.minutes&(1<<mi) == 0 {
					continue
				}
				if t := resolve(y, m, d, h, mi, c.loc); t.After(after) {
					return t
				}
			}
		}
	}
	return time.Time{}
}

// resolve turns a local wall time into an instant: a wall time skipped by a
// jump resolves to the first instant after the jump, a repeated one to its
// first occurrence.
func resolve(y int, m time.Month, d, h, mi int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, h, mi, 0, 0, loc)
	want := time.Date(y, m, d, h, mi, 0, 0, time.UTC)
	got := wallOf(t)
	if !got.Equal(want) { // in a gap
		start, end := t.ZoneBounds()
		if got.After(want) {
			return start
		}
		return end
	}
	start, _ := t.ZoneBounds()
	if !start.IsZero() {
		_, prevOff := start.Add(-time.Nanosecond).Zone()
		cand := want.Add(-time.Duration(prevOff) * time.Second).In(loc)
		if cand.Before(start) && wallOf(cand).Equal(want) {
			return cand
		}
	}
	return t
}

func wallOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Upcoming returns the next n runs of s after the given instant (fewer
// when s ends), as the CLI's `intake schedule next` prints them.
func Upcoming(s Schedule, after time.Time, n int) []time.Time {
	var out []time.Time
	for len(out) < n {
		next := s.Next(after)
		if next.IsZero() || !next.After(after) {
			break
		}
		out = append(out, next)
		after = next
	}
	return out
}
