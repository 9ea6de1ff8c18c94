package schedule_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
)

// BenchmarkClaim10kJobs measures a scheduler tick's store work (Reap and
// Claim) among 10,000 saved jobs: "idle" when none is due, "due" when the
// clock moves a minute per tick and the jobs, spread over the day's
// minutes, fall due about 7 at a time (queued and started, then finished).
func BenchmarkClaim10kJobs(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		for _, mode := range []string{"idle", "due"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				ctx := context.Background()
				clock := scheduletest.NewClock(time.Date(2026, 3, 2, 0, 0, 30, 0, time.UTC))
				var store schedule.JobStore
				var err error
				if name == "sqlite" {
					store, err = schedule.OpenSQLite(ctx, filepath.Join(b.TempDir(), "jobs.db"), schedule.StoreConfig{Clock: clock})
				} else {
					store, err = schedule.NewPostgres(ctx, pgPools(b, 1)[0], schedule.StoreConfig{Clock: clock})
				}
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = store.Close() })
				for i := range 10000 {
					m := i % 1440
					if mode == "idle" {
						m = 23*60 + 59
					}
					_, err := store.Create(ctx, schedule.Job{Name: fmt.Sprintf("job %05d", i), Cadence: fmt.Sprintf("daily at %02d:%02d", m/60, m%60), Enabled: true})
					if err != nil {
						b.Fatal(err)
					}
				}
				started := 0
				b.ResetTimer()
				for b.Loop() {
					if mode == "due" {
						clock.Advance(time.Minute)
					}
					now := clock.Now()
					if _, err := store.Reap(ctx, now); err != nil {
						b.Fatal(err)
					}
					c, err := store.Claim(ctx, schedule.ClaimRequest{Now: now, Instance: "bench", Lease: time.Minute, Limit: 16, MissedAfter: time.Minute})
					if err != nil {
						b.Fatal(err)
					}
					started += len(c)
					for _, cl := range c {
						r := cl.Run
						r.Status, r.Finished = schedule.StatusSucceeded, now
						if err := store.Finish(ctx, r); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(started)/float64(b.N), "runs/tick")
			})
		}
	}
}
