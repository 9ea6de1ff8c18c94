package schedule_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/schedule"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

func mustParse(t testing.TB, s string, loc *time.Location) schedule.Schedule {
	t.Helper()
	sc, err := schedule.ParseCadence(s, loc)
	if err != nil {
		t.Fatalf("ParseCadence(%q): %v", s, err)
	}
	return sc
}

// TestNextDST checks the runs around both DST transitions of 2026 and
// other edge cases, in several zones.
func TestNextDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone, cadence, from string
		want                []string
	}{
		// Spring forward: Berlin 2026-03-29 02:00 CET -> 03:00 CEST.
		{"Europe/Berlin", "daily at 02:30", "2026-03-28T12:00:00+01:00", []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{"Europe/Berlin", "cron 30 2 * * *", "2026-03-28T12:00:00+01:00", []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{"Europe/Berlin", "cron 0,30 2,3 * * *", "2026-03-29T01:00:00+01:00", []string{"2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:00:00+02:00"}},
		{"Europe/Berlin", "every 2h", "2026-03-29T00:30:00+01:00", []string{"2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00", "2026-03-29T06:00:00+02:00"}},
		// 02:30 does not exist on 2026-03-29: it runs at the first instant after the jump.
		{"Europe/Berlin", "hourly at :30", "2026-03-29T00:45:00+01:00", []string{"2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"}},
		{"Europe/Berlin", "every 30m", "2026-03-29T01:15:00+01:00", []string{"2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"}},
		{"Europe/Berlin", "weekly on mon at 09:00", "2026-03-25T10:00:00+01:00", []string{"2026-03-30T09:00:00+02:00", "2026-04-06T09:00:00+02:00"}},
		// Fall back: Berlin 2026-10-25 03:00 CEST -> 02:00 CET.
		{"Europe/Berlin", "daily at 02:30", "2026-10-24T12:00:00+02:00", []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"Europe/Berlin", "daily at 02:30", "2026-10-25T02:10:00+01:00", []string{"2026-10-26T02:30:00+01:00"}}, // second occurrence does not run
		{"Europe/Berlin", "every 2h", "2026-10-25T01:30:00+02:00", []string{"2026-10-25T02:00:00+02:00", "2026-10-25T04:00:00+01:00"}},
		// 02:00–02:59 happen twice on 2026-10-25: each wall time runs once, at its first occurrence.
		{"Europe/Berlin", "every 30m", "2026-10-25T01:45:00+02:00", []string{"2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00", "2026-10-25T03:30:00+01:00"}},
		{"Europe/Berlin", "hourly at :05", "2026-10-25T01:30:00+02:00", []string{"2026-10-25T02:05:00+02:00", "2026-10-25T03:05:00+01:00", "2026-10-25T04:05:00+01:00"}},
		{"Europe/Berlin", "once at 2026-12-01T09:00", "2026-01-01T00:00:00Z", []string{"2026-12-01T09:00:00+01:00", ""}},
		// New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
		{"America/New_York", "daily at 02:30", "2026-03-07T12:00:00-05:00", []string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"America/New_York", "daily at 01:30", "2026-10-31T12:00:00-04:00", []string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"America/New_York", "workdays at 09:00", "2026-03-06T10:00:00-05:00", []string{"2026-03-09T09:00:00-04:00", "2026-03-10T09:00:00-04:00"}},
		{"America/New_York", "cron 0 9 * * 1-5", "2026-03-06T10:00:00-05:00", []string{"2026-03-09T09:00:00-04:00", "2026-03-10T09:00:00-04:00"}},
		{"America/New_York", "cron 0 9 * * mon-fri", "2026-03-06T10:00:00-05:00", []string{"2026-03-09T09:00:00-04:00"}},
		// Sydney: 2026-04-05 03:00 AEDT -> 02:00 AEST; 2026-10-04 02:00 AEST -> 03:00 AEDT.
		{"Australia/Sydney", "daily at 02:30", "2026-04-04T12:00:00+11:00", []string{"2026-04-05T02:30:00+11:00", "2026-04-06T02:30:00+10:00"}},
		{"Australia/Sydney", "daily at 02:30", "2026-10-03T12:00:00+10:00", []string{"2026-10-04T03:00:00+11:00", "2026-10-05T02:30:00+11:00"}},
		{"Australia/Sydney", "monthly on 31 at 02:15", "2026-09-01T00:00:00+10:00", []string{"2026-09-30T02:15:00+10:00", "2026-10-31T02:15:00+11:00"}},
		// Kolkata: +05:30, no DST; on the local clock.
		{"Asia/Kolkata", "every 15m", "2026-01-01T10:07:00+05:30", []string{"2026-01-01T10:15:00+05:30", "2026-01-01T10:30:00+05:30"}},
		{"Asia/Kolkata", "daily at 09:00", "2026-01-01T10:07:00+05:30", []string{"2026-01-02T09:00:00+05:30"}},
		// UTC: month ends, leap years, cron forms.
		{"UTC", "monthly on 31 at 08:00", "2026-01-31T09:00:00Z", []string{"2026-02-28T08:00:00Z", "2026-03-31T08:00:00Z", "2026-04-30T08:00:00Z"}},
		{"UTC", "monthly on 30 at 08:00", "2028-01-31T09:00:00Z", []string{"2028-02-29T08:00:00Z", "2028-03-30T08:00:00Z"}},
		{"UTC", "cron 0 0 1,15 * mon", "2026-01-01T00:00:00Z", []string{"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-15T00:00:00Z", "2026-01-19T00:00:00Z"}},
		{"UTC", "cron */20 9-10 * jan,jul *", "2026-06-30T00:00:00Z", []string{"2026-07-01T09:00:00Z", "2026-07-01T09:20:00Z", "2026-07-01T09:40:00Z", "2026-07-01T10:00:00Z"}},
		{"UTC", "cron 5/15 * * * *", "2026-06-30T00:00:00Z", []string{"2026-06-30T00:05:00Z", "2026-06-30T00:20:00Z", "2026-06-30T00:35:00Z", "2026-06-30T00:50:00Z", "2026-06-30T01:05:00Z"}},
		{"UTC", "cron 0 12 29 2 *", "2026-01-01T00:00:00Z", []string{"2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z"}},
		{"UTC", "cron 0 9 * * 7", "2026-01-01T00:00:00Z", []string{"2026-01-04T09:00:00Z"}},
		{"UTC", "cron 0 9 * * sat-sun", "2026-01-01T00:00:00Z", []string{"2026-01-03T09:00:00Z", "2026-01-04T09:00:00Z", "2026-01-10T09:00:00Z"}},
		{"UTC", "every 1h", "2026-01-01T00:00:00Z", []string{"2026-01-01T01:00:00Z"}},
		{"UTC", "every 24h", "2026-01-01T00:00:00Z", []string{"2026-01-02T00:00:00Z"}},
		{"UTC", "Daily  AT 09:00", "2026-01-01T09:00:00Z", []string{"2026-01-02T09:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.zone+"/"+tt.cadence+"/"+tt.from, func(t *testing.T) {
			t.Parallel()
			sc := mustParse(t, tt.cadence, zone(t, tt.zone))
			at, err := time.Parse(time.RFC3339, tt.from)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				next := sc.Next(at)
				got := ""
				if !next.IsZero() {
					got = next.In(zone(t, tt.zone)).Format(time.RFC3339)
				}
				if got != w {
					t.Fatalf("run %d after %s: got %q, want %q", i+1, at.Format(time.RFC3339), got, w)
				}
				at = next
			}
		})
	}
}

// TestYear runs cadences over all of 2026 in several zones and counts the
// runs; DST days neither lose nor double a wall-time run.
func TestYear(t *testing.T) {
	t.Parallel()
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"}
	tests := []struct {
		cadence string
		runs    int
		perDay  int // runs on each local date that has runs; 0: no check
		// dstLoss is how many runs fewer a zone with DST has: wall times in
		// the skipped hour all run at the first instant after the jump (one
		// run with the wall time that follows), and the repeated hour runs
		// once.
		dstLoss int
	}{
		{"daily at 02:30", 365, 1, 0},
		{"daily at 09:00", 365, 1, 0},
		{"workdays at 09:00", 261, 1, 0},
		{"cron 0 9 * * 1-5", 261, 1, 0},
		{"weekly on mon at 02:30", 52, 1, 0},
		{"monthly on 31 at 02:30", 12, 1, 0},
		{"monthly on 1 at 00:00", 12, 1, 0},
		{"every 2h", 365 * 12, 12, 0},
		{"every 6h", 365 * 4, 4, 0},
		{"hourly at :05", 8760, 0, 0},
		{"every 30m", 8760 * 2, 0, 2},
		{"every 15m", 8760 * 4, 0, 4},
		{"cron 30 1-3 * * *", 365 * 3, 0, 0},
	}
	for _, z := range zones {
		loc := zone(t, z)
		for _, tt := range tests {
			t.Run(z+"/"+tt.cadence, func(t *testing.T) {
				t.Parallel()
				sc := mustParse(t, tt.cadence, loc)
				from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
				end := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
				n := 0
				days := map[string]int{}
				for at := sc.Next(from); at.Before(end); {
					n++
					days[at.In(loc).Format(time.DateOnly)]++
					next := sc.Next(at)
					if !next.After(at) {
						t.Fatalf("Next(%s) = %s, not after", at, next)
					}
					at = next
				}
				want := tt.runs
				if _, jan := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); true {
					if _, jul := time.Date(2026, 7, 1, 0, 0, 0, 0, loc).Zone(); jan != jul {
						want -= tt.dstLoss
					}
				}
				if n != want {
					t.Errorf("%d runs in 2026, want %d", n, want)
				}
				if tt.perDay > 0 {
					for d, c := range days {
						if c != tt.perDay {
							t.Errorf("%s: %d runs, want %d", d, c, tt.perDay)
						}
					}
				}
			})
		}
	}
}

// TestNextProperty: for random cadences, zones and instants, Next(t) > t,
// runs strictly increase, and for the cadences of minuteMatch no matching
// minute lies between t and Next(t) (outside a fall-back's repeated hour,
// which the random instants almost never hit).
func TestNextProperty(t *testing.T) {
	t.Parallel()
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "Australia/Lord_Howe", "America/Santiago"}
	cadences := []string{"every 1m", "every 5m", "every 3h", "hourly at :59", "daily at 02:30", "daily at 00:00", "workdays at 23:59",
		"weekly on sun,wed at 01:30", "monthly on 29 at 02:00", "cron 15,45 */3 * * *", "cron 0 0 13 * fri", "cron * 2 * * *", "cron 59 23 31 12 *"}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cadences {
		for _, z := range zones {
			loc := zone(t, z)
			sc := mustParse(t, c, loc)
			for i := 0; i < 200; i++ {
				at := time.Unix(rng.Int64N(int64(40*365*24*3600))+946684800, rng.Int64N(1e9))
				prev := at
				for k := 0; k < 5; k++ {
					next := sc.Next(prev)
					if next.IsZero() || !next.After(prev) {
						t.Fatalf("%s in %s: Next(%s) = %s", c, z, prev, next)
					}
					// No matching minute is passed over.
					if match := minuteMatch[c]; match != nil {
						for m := prev.Truncate(time.Minute).Add(time.Minute); m.Before(next); m = m.Add(time.Minute) {
							if match(m.In(loc)) {
								t.Fatalf("%s in %s: Next(%s) = %s passes over %s", c, z, prev, next, m.In(loc))
							}
						}
						if !match(next.In(loc)) {
							t.Fatalf("%s in %s: Next(%s) = %s does not match", c, z, prev, next)
						}
					}
					prev = next
				}
			}
		}
	}
}

var minuteMatch = map[string]func(time.Time) bool{
	"every 1m":      func(time.Time) bool { return true },
	"every 5m":      func(t time.Time) bool { return t.Minute()%5 == 0 },
	"hourly at :59": func(t time.Time) bool { return t.Minute() == 59 },
}

// TestEquivalentCadences: the named cadences and their cron spellings run
// at the same instants over 2026 in every zone.
func TestEquivalentCadences(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{"daily at 02:30", "cron 30 2 * * *"},
		{"workdays at 09:00", "cron 0 9 * * mon-fri"},
		{"weekly on sun at 02:00", "cron 0 2 * * 0"},
		{"every 2h", "cron 0 */2 * * *"},
		{"every 15m", "cron */15 * * * *"},
		{"hourly at :05", "cron 5 * * * *"},
		{"monthly on 1 at 00:00", "cron 0 0 1 * *"},
	}
	for _, z := range []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"} {
		loc := zone(t, z)
		for _, p := range pairs {
			a, b := mustParse(t, p[0], loc), mustParse(t, p[1], loc)
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			end := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
			for at.Before(end) {
				na, nb := a.Next(at), b.Next(at)
				if !na.Equal(nb) {
					t.Fatalf("%s: after %s, %q runs at %s and %q at %s", z, at, p[0], na, p[1], nb)
				}
				at = na
			}
		}
	}
}

func TestUpcoming(t *testing.T) {
	t.Parallel()
	sc := mustParse(t, "once at 2026-12-01T09:00", time.UTC)
	got := schedule.Upcoming(sc, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 3)
	if len(got) != 1 || !got[0].Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("Upcoming = %v", got)
	}
	got = schedule.Upcoming(mustParse(t, "every 15m", time.UTC), time.Date(2026, 1, 1, 0, 7, 0, 0, time.UTC), 3)
	if len(got) != 3 || got[2].Minute() != 45 {
		t.Fatalf("Upcoming = %v", got)
	}
}

func TestParseCadenceErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"every 7m", "schedule: every 7m: 7 does not divide 60; use every 5m, 10m, 15m"},
		{"every 5h", "5 does not divide 24"},
		{"every 60m", "write every 1h"},
		{"every m", "write every Nm or every Nh"},
		{"every -5m", "positive whole N"},
		{"daily at 9", `"9" is not a time of day HH:MM`},
		{"daily at 24:00", "not a time of day"},
		{"hourly at 05", "write hourly at :MM"},
		{"hourly at :75", `":75" is not a minute`},
		{"weekly on funday at 09:00", `"funday" is not a weekday`},
		{"monthly on 32 at 08:00", `"32" is not a day of the month`},
		{"cron 0 9 * *", "5 fields"},
		{"cron 61 9 * * *", `minute field "61": 61 is out of range 0-59`},
		{"cron 0 9 * foo *", `month field "foo": "foo" is not a number 1-12 or a name (jan … dec)`},
		{"cron 0 9 * * 5-1", "runs backwards"},
		{"cron */0 9 * * *", "not a positive number"},
		{"cron 0 0 30 2 *", "never runs"},
		{"once at tomorrow", "is not a local date and time"},
		{"fortnightly", `unknown cadence "fortnightly"`},
		{"", "empty cadence"},
	}
	for _, tt := range tests {
		_, err := schedule.ParseCadence(tt.in, time.UTC)
		var ce *schedule.CadenceError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCadence(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func FuzzParseCadence(f *testing.F) {
	for _, s := range []string{"every 15m", "every 2h", "hourly at :05", "daily at 09:00", "workdays at 09:00", "weekly on mon at 09:00",
		"monthly on 31 at 08:00", "cron 0 9 * * 1-5", "cron */5 1-3,7 1,15 jan-mar mon", "once at 2026-12-01T09:00"} {
		f.Add(s)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := schedule.ParseCadence(s, berlin)
		if err != nil {
			if sc != nil || !strings.HasPrefix(err.Error(), "schedule: ") {
				t.Fatalf("ParseCadence(%q) = %v, %v", s, sc, err)
			}
			return
		}
		at := time.Date(2026, 3, 29, 1, 0, 0, 0, berlin)
		for i := 0; i < 3; i++ {
			next := sc.Next(at)
			if next.IsZero() {
				return
			}
			if !next.After(at) {
				t.Fatalf("%q: Next(%s) = %s", s, at, next)
			}
			at = next
		}
	})
}
