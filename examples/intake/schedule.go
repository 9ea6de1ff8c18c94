package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/intakehq/intake/schedule"
)

// cmdSchedule runs "intake schedule next [flags] CADENCE": the next run
// times of a cadence, RFC 3339, one a line.
func cmdSchedule(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "next" {
		return usagef(`unknown schedule command; use "intake schedule next [-tz ZONE] [-from RFC3339] [-count N] CADENCE"`)
	}
	var tz, from string
	var count int
	fs := newFlagSet("schedule next", `intake schedule next [flags] CADENCE   (e.g. "daily at 09:00", "every 15m", "cron 0 9 * * 1-5")`, stderr)
	fs.StringVar(&tz, "tz", "UTC", "the IANA time zone the cadence is evaluated in (e.g. Europe/Berlin)")
	fs.StringVar(&from, "from", "", "list the runs after this instant, RFC 3339 (default: now)")
	fs.IntVar(&count, "count", 5, "how many run times to print")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usagef("schedule next needs a CADENCE")
	}
	cadence := strings.Join(pos, " ") // "daily at 09:00" may come unquoted
	if count < 1 {
		return usagef("-count %d: give 1 or more", count)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return usagef("-tz %q is not a known time zone (use an IANA name such as Europe/Berlin)", tz)
	}
	after := time.Now()
	if from != "" {
		if after, err = time.Parse(time.RFC3339, from); err != nil {
			return usagef("-from %q is not an RFC 3339 time (e.g. 2026-03-29T00:00:00+01:00)", from)
		}
	}
	s, err := schedule.ParseCadence(cadence, loc)
	if err != nil {
		return usagef("%s", plainError(err))
	}
	for _, t := range schedule.Upcoming(s, after, count) {
		fmt.Fprintln(stdout, t.In(loc).Format(time.RFC3339))
	}
	return nil
}
