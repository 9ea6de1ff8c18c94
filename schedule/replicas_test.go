package schedule_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
)

// TestReplicasRunEachDueRunOnce: three schedulers, each with its own pool
// and store, share one PostgreSQL schema and one fake clock. Over a window
// of 90 minutes (across the Berlin fall-back) with 60 jobs on several cadences, every due run executes
// exactly once, no two runs of a job overlap, and no two runs of the jobs
// sharing a Target overlap.
func TestReplicasRunEachDueRunOnce(t *testing.T) {
	t.Parallel()
	pools := pgPools(t, 3)
	ctx := context.Background()
	clock := scheduletest.NewClock(time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC))
	var stores []schedule.JobStore
	for _, p := range pools {
		s, err := schedule.NewPostgres(ctx, p, schedule.StoreConfig{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	cadences := []string{"every 1m", "every 2m", "every 5m", "every 15m", "cron */3 * * * *", "hourly at :17"}
	var jobs []schedule.Job
	for i := range 60 {
		job := schedule.Job{Name: fmt.Sprintf("job %02d", i), Cadence: cadences[i%len(cadences)], TimeZone: "Europe/Berlin", Enabled: true}
		if i%5 == 0 {
			job.Target = "crm" // 12 jobs whose runs must not overlap each other
		}
		j, err := stores[i%3].Create(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	const window = 90 * time.Minute // spans the Berlin fall-back at 01:00 UTC
	// The due runs, from the cadences themselves.
	want := map[string]int{}
	start := clock.Now()
	for _, j := range jobs {
		sc, _ := j.Schedule()
		for at := sc.Next(start); !at.After(start.Add(window)); at = sc.Next(at) {
			want[j.ID+"|"+at.UTC().Format(time.RFC3339)] = 0
		}
	}

	var mu sync.Mutex
	got := map[string]int{}
	byInstance := map[string]int{}
	running := map[string]bool{}
	overlaps := 0
	var scheds []*schedule.Scheduler
	for i, st := range stores {
		name := fmt.Sprintf("replica-%d", i)
		s, err := schedule.New(schedule.Config{Store: st, Clock: clock, MaxConcurrent: 4, Instance: name,
			Runner: func(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error) {
				mu.Lock()
				got[job.ID+"|"+run.Due.UTC().Format(time.RFC3339)]++
				byInstance[name]++
				key := job.ID
				if job.Target != "" {
					key = "target:" + job.Target
				}
				if running[key] {
					overlaps++
				}
				running[key] = true
				mu.Unlock()
				defer func() { mu.Lock(); running[key] = false; mu.Unlock() }()
				return &importer.Report{Status: importer.StatusSucceeded, Counts: importer.Counts{Rows: 1, Created: 1}}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, s)
	}
	for step := time.Duration(0); step < window; step += time.Minute {
		clock.Advance(time.Minute)
		for {
			var wg sync.WaitGroup
			var started [3]int
			for i, s := range scheds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := s.Tick(ctx)
					if err != nil {
						t.Error(err)
					}
					started[i] = n
					_ = s.Idle(ctx)
				}()
			}
			wg.Wait()
			if started[0]+started[1]+started[2] == 0 {
				break
			}
		}
	}
	for _, s := range scheds {
		_ = s.Stop(ctx)
	}
	total := 0
	for k := range want {
		if got[k] != 1 {
			t.Errorf("due run %s executed %d times", k, got[k])
		}
	}
	for k, n := range got {
		total += n
		if _, ok := want[k]; !ok {
			t.Errorf("run %s executed %d times, but was not due", k, n)
		}
	}
	if overlaps > 0 {
		t.Errorf("%d runs overlapped another run of their job or target", overlaps)
	}
	runs, _ := stores[0].ListRuns(ctx, schedule.RunFilter{Status: []schedule.RunStatus{schedule.StatusSucceeded}, Limit: 100000})
	t.Logf("%d due runs, %d executions, %d succeeded records; per instance %v", len(want), total, len(runs), byInstance)
	if len(runs) != len(want) {
		t.Errorf("%d succeeded run records, want %d", len(runs), len(want))
	}
}

// TestReplicasStartLoops runs the production path: three schedulers with
// Start (their own poll loops and heartbeats) on one PostgreSQL schema and
// one fake clock moved in poll-sized steps. Every run due in the window
// executes exactly once.
func TestReplicasStartLoops(t *testing.T) {
	t.Parallel()
	pools := pgPools(t, 3)
	ctx := context.Background()
	clock := scheduletest.NewClock(time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)) // Berlin springs forward at 01:00 UTC
	var stores []schedule.JobStore
	for _, p := range pools {
		s, err := schedule.NewPostgres(ctx, p, schedule.StoreConfig{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	cadences := []string{"every 1m", "every 2m", "every 5m", "cron 30 2 * * *", "every 1h"}
	var jobs []schedule.Job
	for i := range 30 {
		j, err := stores[i%3].Create(ctx, schedule.Job{Name: fmt.Sprint("job ", i), Cadence: cadences[i%len(cadences)], TimeZone: "Europe/Berlin", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	const window = 45 * time.Minute
	start := clock.Now()
	end := start.Add(window)
	want := map[string]bool{}
	for _, j := range jobs {
		sc, _ := j.Schedule()
		for at := sc.Next(start); !at.After(end); at = sc.Next(at) {
			want[j.ID+"|"+at.UTC().Format(time.RFC3339)] = true
		}
	}
	var mu sync.Mutex
	got := map[string]int{}
	var scheds []*schedule.Scheduler
	for i, st := range stores {
		s, err := schedule.New(schedule.Config{Store: st, Clock: clock, MaxConcurrent: 3, Instance: fmt.Sprint("loop-", i),
			PollInterval: 15 * time.Second, LeaseDuration: 10 * time.Minute, MissedAfter: time.Hour,
			Runner: func(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error) {
				mu.Lock()
				got[job.ID+"|"+run.Due.UTC().Format(time.RFC3339)]++
				mu.Unlock()
				return &importer.Report{Status: importer.StatusSucceeded}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, s)
	}
	// Move on a poll interval once the three loops wait, no run is in
	// flight (each run holds a heartbeat timer) and none is queued.
	settle := func() {
		for range 100 {
			clock.BlockUntil(3)
			for _, s := range scheds {
				_ = s.Idle(ctx)
			}
			pending, err := stores[0].ListRuns(ctx, schedule.RunFilter{Status: []schedule.RunStatus{schedule.StatusQueued, schedule.StatusRunning}, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) == 0 && clock.Timers() == 3 {
				return
			}
			runtime.Gosched()
		}
	}
	for clock.Now().Before(end.Add(time.Minute)) {
		settle()
		clock.Advance(15 * time.Second)
	}
	settle()
	for _, s := range scheds {
		if err := s.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	executions := 0
	for k := range want {
		if got[k] != 1 {
			t.Errorf("due run %s executed %d times", k, got[k])
		}
		executions += got[k]
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("run %s executed %d times", k, n)
		}
	}
	all, _ := stores[0].ListRuns(ctx, schedule.RunFilter{Limit: 100000})
	byStatus := map[schedule.RunStatus]int{}
	for _, r := range all {
		byStatus[r.Status]++
		if r.Status != schedule.StatusSucceeded && !r.Due.After(end) {
			t.Logf("run %s|%s: %s %s", r.JobID, r.Due.UTC().Format(time.RFC3339), r.Status, r.Error)
		}
	}
	t.Logf("%d due runs in the window, %d executions of them (%d in all); records %v", len(want), executions, len(got), byStatus)
}
