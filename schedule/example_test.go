package schedule_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
)

func ExampleParseCadence() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	sc, err := schedule.ParseCadence("daily at 02:30", berlin)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Around the spring-forward jump of 2026-03-29 (02:00 -> 03:00).
	at := time.Date(2026, 3, 27, 12, 0, 0, 0, berlin)
	for range 4 {
		at = sc.Next(at)
		fmt.Println(at.Format(time.RFC3339))
	}
	_, err = schedule.ParseCadence("every 7m", berlin)
	fmt.Println(err)
	// Output:
	// 2026-03-28T02:30:00+01:00
	// 2026-03-29T03:00:00+02:00
	// 2026-03-30T02:30:00+02:00
	// 2026-03-31T02:30:00+02:00
	// schedule: every 7m: 7 does not divide 60; use every 5m, 10m, 15m, 20m or 30m (or 1m, 2m, 3m, 4m, 6m, 12m)
}

func ExampleScheduler() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "schedule-example")
	defer os.RemoveAll(dir)
	clock := scheduletest.NewClock(time.Date(2026, 3, 2, 7, 45, 0, 0, time.UTC))
	store, err := schedule.OpenSQLite(ctx, filepath.Join(dir, "jobs.db"), schedule.StoreConfig{Clock: clock})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	job, _ := store.Create(ctx, schedule.Job{
		Name:    "contacts from the shop",
		Source:  schedule.SourceSpec{Connector: "file", Path: "exports/contacts.csv", Format: "csv"},
		Cadence: "every 15m", TimeZone: "Europe/Berlin", Enabled: true,
	})
	fmt.Println("next run:", job.NextRun.In(time.UTC).Format(time.Kitchen))

	s, _ := schedule.New(schedule.Config{
		Store: store, Clock: clock,
		Runner: func(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error) {
			// A real runner opens job.Source and calls importer.Run.
			return &importer.Report{Status: importer.StatusSucceeded, Counts: importer.Counts{Rows: 10, Created: 7, Updated: 3}}, nil
		},
	})
	for range 3 { // what Start does every PollInterval
		clock.Advance(15 * time.Minute)
		_, _ = s.Tick(ctx)
		_ = s.Idle(ctx)
	}
	_, _ = s.RunNow(ctx, job.ID, "alice") // does not move the schedule
	_, _ = s.Tick(ctx)
	_ = s.Stop(ctx)

	runs, _ := store.ListRuns(ctx, schedule.RunFilter{JobID: job.ID})
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		fmt.Printf("%s %-8s %s rows=%d created=%d updated=%d\n", r.Started.Format(time.Kitchen), r.Trigger, r.Status, r.Rows, r.Created, r.Updated)
	}
	// Output:
	// next run: 8:00AM
	// 8:00AM schedule succeeded rows=10 created=7 updated=3
	// 8:15AM schedule succeeded rows=10 created=7 updated=3
	// 8:30AM schedule succeeded rows=10 created=7 updated=3
	// 8:30AM manual   succeeded rows=10 created=7 updated=3
}
