package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Runner that counts executions and answers from a func.
type recorder struct {
	mu    sync.Mutex
	runs  []schedule.Run
	reply func(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error)
}

func (r *recorder) run(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error) {
	r.mu.Lock()
	r.runs = append(r.runs, run)
	r.mu.Unlock()
	if r.reply != nil {
		return r.reply(ctx, job, run)
	}
	return &importer.Report{Status: importer.StatusSucceeded, Counts: importer.Counts{Rows: 3, Created: 2, Updated: 1}}, nil
}

func newScheduler(t *testing.T, store schedule.JobStore, clock schedule.Clock, rec *recorder, mod func(*schedule.Config)) *schedule.Scheduler {
	t.Helper()
	cfg := schedule.Config{Store: store, Runner: rec.run, Clock: clock, MaxConcurrent: 4, LeaseDuration: time.Minute, Instance: "test"}
	if mod != nil {
		mod(&cfg)
	}
	s, err := schedule.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// tick runs one round and waits for the runs it started.
func tick(t *testing.T, s *schedule.Scheduler) int {
	t.Helper()
	n, err := s.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Idle(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

func statuses(t *testing.T, store schedule.JobStore, jobID string) string {
	t.Helper()
	runs, err := store.ListRuns(context.Background(), schedule.RunFilter{JobID: jobID})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for i := len(runs) - 1; i >= 0; i-- {
		s = append(s, string(runs[i].Trigger)+":"+string(runs[i].Status))
	}
	return strings.Join(s, " ")
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := schedule.New(schedule.Config{MaxConcurrent: -1})
	for _, w := range []string{"Store is nil", "Runner is nil", "must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("New(bad) = %v, want %q", err, w)
		}
	}
}

func TestSchedulerRunsDueJobs(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, clock := setup(t, b)
			job := sampleJob("every quarter")
			job.Cadence = "every 15m"
			j, _ := store.Create(ctx, job)
			rec := &recorder{}
			s := newScheduler(t, store, clock, rec, nil)
			if n := tick(t, s); n != 0 {
				t.Fatalf("started %d runs before the job was due", n)
			}
			clock.Advance(15 * time.Minute)
			if n := tick(t, s); n != 1 {
				t.Fatalf("started %d runs, want 1", n)
			}
			runs, _ := store.ListRuns(ctx, schedule.RunFilter{JobID: j.ID})
			r := runs[0]
			if r.Status != schedule.StatusSucceeded || r.Rows != 3 || r.Created != 2 || r.Trigger != schedule.TriggerSchedule ||
				!r.Due.Equal(t0.Add(15*time.Minute)) || !r.Started.Equal(t0.Add(15*time.Minute)) || r.Instance != "test" {
				t.Fatalf("run = %+v", r)
			}
			got, _ := store.Get(ctx, j.ID)
			if !got.NextRun.Equal(t0.Add(30 * time.Minute)) {
				t.Fatalf("NextRun = %s", got.NextRun)
			}
			if n := tick(t, s); n != 0 {
				t.Fatalf("ran again at the same time: %d", n)
			}
		})
	}
}

func TestSchedulerStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply func(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error)
		want  schedule.RunStatus
		err   string
	}{
		{"rejects", func(context.Context, schedule.Job, schedule.Run) (*importer.Report, error) {
			return &importer.Report{Status: importer.StatusSucceeded, Counts: importer.Counts{Rows: 2, Created: 1, Rejected: 1}}, nil
		}, schedule.StatusPartiallySucceeded, ""},
		{"error", func(context.Context, schedule.Job, schedule.Run) (*importer.Report, error) {
			return nil, errors.New("sftp: connection refused")
		}, schedule.StatusFailed, "sftp: connection refused"},
		{"failed report", func(context.Context, schedule.Job, schedule.Run) (*importer.Report, error) {
			return &importer.Report{Status: importer.StatusFailed, Error: "sink full"}, nil
		}, schedule.StatusFailed, "sink full"},
		{"panic", func(context.Context, schedule.Job, schedule.Run) (*importer.Report, error) {
			panic("oops")
		}, schedule.StatusFailed, "schedule: the runner panicked: oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, clock := setup(t, sqliteBackend())
			j, _ := store.Create(ctx, sampleJob("x"))
			s := newScheduler(t, store, clock, &recorder{reply: tt.reply}, nil)
			r, err := s.RunNow(ctx, j.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			tick(t, s)
			got, _ := s.RunStatus(ctx, r.ID)
			if got.Status != tt.want || got.Error != tt.err || got.Actor != "alice" || got.Trigger != schedule.TriggerManual {
				t.Fatalf("run = %+v, want %s %q", got, tt.want, tt.err)
			}
		})
	}
}

func TestOverlap(t *testing.T) {
	t.Parallel()
	for _, policy := range []schedule.OverlapPolicy{schedule.OverlapSkip, schedule.OverlapQueue} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, clock := setup(t, sqliteBackend())
			job := sampleJob("slow")
			job.Cadence, job.Overlap = "every 1m", policy
			j, _ := store.Create(ctx, job)
			release := make(chan struct{})
			started := make(chan struct{}, 10)
			rec := &recorder{reply: func(ctx context.Context, _ schedule.Job, run schedule.Run) (*importer.Report, error) {
				started <- struct{}{}
				if run.Due.Equal(t0.Add(time.Minute)) {
					<-release
				}
				return &importer.Report{Status: importer.StatusSucceeded}, nil
			}}
			s := newScheduler(t, store, clock, rec, func(c *schedule.Config) { c.LeaseDuration = time.Hour })
			clock.Advance(time.Minute)
			if n, _ := s.Tick(ctx); n != 1 {
				t.Fatalf("started %d", n)
			}
			<-started
			clock.Advance(time.Minute) // due again while the first run runs
			if n, _ := s.Tick(ctx); n != 0 {
				t.Fatalf("started %d while the previous run ran", n)
			}
			clock.Advance(time.Minute) // and again
			if n, _ := s.Tick(ctx); n != 0 {
				t.Fatalf("started %d while the previous run ran", n)
			}
			close(release)
			_ = s.Idle(ctx)
			tick(t, s)
			want := map[schedule.OverlapPolicy]string{
				schedule.OverlapSkip:  "schedule:succeeded schedule:skipped_overlap schedule:skipped_overlap",
				schedule.OverlapQueue: "schedule:succeeded schedule:succeeded",
			}[policy]
			if got := statuses(t, store, j.ID); got != want {
				t.Fatalf("history %q, want %q", got, want)
			}
		})
	}
}

func TestMissedRuns(t *testing.T) {
	t.Parallel()
	for _, policy := range []schedule.MissedPolicy{schedule.MissedRunOnce, schedule.MissedSkip} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, clock := setup(t, sqliteBackend())
			job := sampleJob("hourly")
			job.Cadence, job.Missed = "every 1h", policy
			j, _ := store.Create(ctx, job)
			s := newScheduler(t, store, clock, &recorder{}, nil)
			clock.Advance(5*time.Hour + 30*time.Minute) // down for five due runs
			tick(t, s)
			want := map[schedule.MissedPolicy]string{
				schedule.MissedRunOnce: "schedule:succeeded",
				schedule.MissedSkip:    "schedule:skipped_missed",
			}[policy]
			if got := statuses(t, store, j.ID); got != want {
				t.Fatalf("history %q, want %q", got, want)
			}
			got, _ := store.Get(ctx, j.ID)
			if !got.NextRun.Equal(t0.Add(6 * time.Hour)) {
				t.Fatalf("NextRun = %s, want the next hour after now", got.NextRun)
			}
			clock.Advance(30 * time.Minute) // on time again
			tick(t, s)
			if got := statuses(t, store, j.ID); got != want+" schedule:succeeded" {
				t.Fatalf("history %q", got)
			}
		})
	}
}

func TestRunNowKeepsSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	j, _ := store.Create(ctx, sampleJob("daily"))
	s := newScheduler(t, store, clock, &recorder{}, nil)
	if _, err := s.RunNow(ctx, j.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunNow(ctx, "missing", "bob"); !errors.Is(err, schedule.ErrNotFound) {
		t.Fatalf("RunNow(missing) = %v", err)
	}
	tick(t, s)
	got, _ := store.Get(ctx, j.ID)
	if !got.NextRun.Equal(j.NextRun) {
		t.Fatalf("NextRun moved from %s to %s", j.NextRun, got.NextRun)
	}
	clock.Set(j.NextRun)
	tick(t, s)
	if h := statuses(t, store, j.ID); h != "manual:succeeded schedule:succeeded" {
		t.Fatalf("history %q", h)
	}
}

func TestRunOnSaveAndUploadQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	job := sampleJob("uploads")
	job.Cadence, job.RunOnSave = "", true
	j, _ := store.Create(ctx, job)
	var mu sync.Mutex
	var order []string
	rec := &recorder{reply: func(_ context.Context, _ schedule.Job, run schedule.Run) (*importer.Report, error) {
		mu.Lock()
		order = append(order, run.Input)
		mu.Unlock()
		return &importer.Report{Status: importer.StatusSucceeded}, nil
	}}
	s := newScheduler(t, store, clock, rec, nil)
	for _, f := range []string{"a.csv", "b.csv", "c.csv"} {
		clock.Advance(time.Second)
		if _, err := s.Enqueue(ctx, schedule.Run{JobID: j.ID, Trigger: schedule.TriggerUpload, Actor: "carol", Input: f}); err != nil {
			t.Fatal(err)
		}
	}
	// A restart: a new scheduler over the same store finds the queue.
	s2 := newScheduler(t, store, clock, rec, nil)
	for tick(t, s2) > 0 {
		// one run of the job at a time
	}
	if strings.Join(order, ",") != ",a.csv,b.csv,c.csv" {
		t.Fatalf("order %q", order)
	}
	if h := statuses(t, store, j.ID); h != "save:succeeded upload:succeeded upload:succeeded upload:succeeded" {
		t.Fatalf("history %q", h)
	}
}

func TestSkipUnchanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	files := sampleJob("files")
	files.SkipUnchanged = true
	j, _ := store.Create(ctx, files)
	fp := "size=10,mtime=1"
	rec := &recorder{reply: func(ctx context.Context, _ schedule.Job, run schedule.Run) (*importer.Report, error) {
		schedule.Handle(ctx).SetFingerprint(fp)
		if fp == run.PreviousFingerprint {
			return nil, nil // unchanged: nothing imported
		}
		schedule.Handle(ctx).SetRefs("archive/"+fp, "")
		return &importer.Report{Status: importer.StatusSucceeded, Counts: importer.Counts{Rows: 1, Created: 1}}, nil
	}}
	s := newScheduler(t, store, clock, rec, nil)
	for _, f := range []string{"size=10,mtime=1", "size=10,mtime=1", "size=12,mtime=2"} {
		fp = f
		_, _ = s.RunNow(ctx, j.ID, "x")
		tick(t, s)
	}
	if h := statuses(t, store, j.ID); h != "manual:succeeded manual:skipped_unchanged manual:succeeded" {
		t.Fatalf("history %q", h)
	}
	runs, _ := store.ListRuns(ctx, schedule.RunFilter{JobID: j.ID, Limit: 1})
	if runs[0].Fingerprint != "size=12,mtime=2" || runs[0].SourceRef != "archive/size=12,mtime=2" {
		t.Fatalf("last run %+v", runs[0])
	}
}

func TestLeaseExpiredRunIsFailed(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, clock := setup(t, b)
			job := sampleJob("orphan")
			job.RetryAbandoned = 1
			j, _ := store.Create(ctx, job)
			r, _ := store.CreateRun(ctx, schedule.Run{JobID: j.ID, Input: "big.csv"})
			// An instance claims the run and dies.
			c, err := store.Claim(ctx, schedule.ClaimRequest{Now: clock.Now(), Instance: "dead", Lease: time.Minute, Limit: 1})
			if err != nil || len(c) != 1 || c[0].Run.ID != r.ID {
				t.Fatalf("Claim = %v, %v", c, err)
			}
			rec := &recorder{}
			s := newScheduler(t, store, clock, rec, nil)
			_, _ = s.RunNow(ctx, j.ID, "x")
			if n := tick(t, s); n != 0 {
				t.Fatal("a run started while the job's run was leased")
			}
			clock.Advance(61 * time.Second)
			if n := tick(t, s); n != 1 {
				t.Fatalf("after the lease expired, %d runs started", n)
			}
			if n := tick(t, s); n != 1 { // the RunNow run (queued first), then the retry
				t.Fatalf("%d runs started after the retry", n)
			}
			rec.mu.Lock()
			retry := rec.runs[1]
			rec.mu.Unlock()
			if retry.Attempt != 2 || retry.Input != "big.csv" {
				t.Fatalf("retry = %+v", retry)
			}
			got, _ := store.GetRun(ctx, r.ID)
			if got.Status != schedule.StatusFailed || !strings.Contains(got.Error, `instance "dead" stopped renewing`) {
				t.Fatalf("orphan run = %+v", got)
			}
			if err := store.Heartbeat(ctx, c[0].Run, clock.Now()); !errors.Is(err, schedule.ErrLeaseLost) {
				t.Fatalf("Heartbeat of a reaped run = %v", err)
			}
		})
	}
}

// TestHeartbeatLiveCounts: the progress a runner reports through its
// RunHandle is stored at once, then at most every ProgressEvery (what comes
// sooner waits for the remainder), and with every lease renewal.
func TestHeartbeatLiveCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	j, _ := store.Create(ctx, sampleJob("big"))
	report := make(chan importer.Event)
	reported := make(chan struct{})
	release := make(chan struct{})
	rec := &recorder{reply: func(ctx context.Context, _ schedule.Job, _ schedule.Run) (*importer.Report, error) {
		for e := range report {
			schedule.Handle(ctx).Event(e)
			reported <- struct{}{}
		}
		<-release
		return &importer.Report{Status: importer.StatusSucceeded, Counts: importer.Counts{Rows: 1000}}, nil
	}}
	s := newScheduler(t, store, clock, rec, nil)
	var end sync.Once
	finish := func() { end.Do(func() { close(report); close(release) }) }
	t.Cleanup(finish) // before the scheduler's Stop, which waits for the run
	r, _ := s.RunNow(ctx, j.ID, "x")
	_, _ = s.Tick(ctx)
	batch := func(rows int64) {
		report <- importer.Event{Kind: importer.BatchCommitted, Counts: importer.Counts{Rows: rows, Created: rows}, RowsPerSecond: 250, BytesRead: 8 * rows, BytesTotal: 8192}
		<-reported
	}
	stored := func() schedule.Run {
		got, err := s.RunStatus(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	waitRows := func(rows int64) schedule.Run {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if got := stored(); got.Rows == rows {
				return got
			}
		}
		t.Fatalf("the stored run never showed %d rows: %+v", rows, stored())
		return schedule.Run{}
	}

	batch(500) // the first progress is stored at once
	got := waitRows(500)
	if got.Status != schedule.StatusRunning || got.Created != 500 || got.RowsPerSecond != 250 || got.BytesRead != 4000 || got.BytesTotal != 8192 {
		t.Fatalf("live run = %+v", got)
	}
	batch(700)          // within ProgressEvery: waits
	clock.BlockUntil(2) // the lease timer and the wait for ProgressEvery
	batch(900)
	if got := stored(); got.Rows != 500 {
		t.Fatalf("progress stored before ProgressEvery passed: %+v", got)
	}
	clock.Advance(time.Second)
	waitRows(900) // the latest progress, once
	clock.BlockUntil(1)

	clock.Advance(19 * time.Second) // the lease renewal
	clock.BlockUntil(1)             // the heartbeat was sent and the next one waits
	if got := stored(); got.Rows != 900 || !got.LeaseUntil.Equal(t0.Add(80*time.Second)) {
		t.Fatalf("live run after the heartbeat = %+v", got)
	}
	finish()
	_ = s.Idle(ctx)
	got = stored()
	if got.Status != schedule.StatusSucceeded || got.Rows != 1000 {
		t.Fatalf("final run = %+v", got)
	}
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	for _, graceful := range []bool{true, false} {
		name := map[bool]string{true: "finish", false: "cancel at deadline"}[graceful]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, clock := setup(t, sqliteBackend())
			j, _ := store.Create(ctx, sampleJob("long"))
			started := make(chan struct{})
			release := make(chan struct{})
			finished := make(chan schedule.Run, 1)
			rec := &recorder{reply: func(ctx context.Context, _ schedule.Job, _ schedule.Run) (*importer.Report, error) {
				close(started)
				select {
				case <-release:
					return &importer.Report{Status: importer.StatusSucceeded}, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}}
			s := newScheduler(t, store, clock, rec, func(c *schedule.Config) {
				c.OnFinish = func(_ context.Context, _ schedule.Job, r schedule.Run) { finished <- r }
			})
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Start(ctx); err == nil {
				t.Fatal("second Start accepted")
			}
			if _, err := s.RunNow(ctx, j.ID, "x"); err != nil { // wakes the loop
				t.Fatal(err)
			}
			<-started
			stopCtx, cancel := context.WithCancel(ctx)
			if graceful {
				close(release)
			} else {
				cancel()
			}
			err := s.Stop(stopCtx)
			cancel()
			r := <-finished
			if graceful && (err != nil || r.Status != schedule.StatusSucceeded) || !graceful && (!errors.Is(err, context.Canceled) || r.Status != schedule.StatusCanceled) {
				t.Fatalf("Stop = %v, run %s %q", err, r.Status, r.Error)
			}
		})
	}
}

// TestStartPolls: the loop claims due runs when the fake clock passes
// the poll interval, with no sleeps.
func TestStartPolls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	job := sampleJob("minutely")
	job.Cadence = "every 1m"
	j, _ := store.Create(ctx, job)
	done := make(chan schedule.Run, 10)
	s := newScheduler(t, store, clock, &recorder{}, func(c *schedule.Config) {
		c.PollInterval = 10 * time.Second
		c.OnFinish = func(_ context.Context, _ schedule.Job, r schedule.Run) { done <- r }
	})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		for range 6 {
			clock.BlockUntil(1) // the loop waits for its poll timer
			clock.Advance(10 * time.Second)
		}
		r := <-done
		if r.JobID != j.ID || !r.Due.Equal(t0.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("run %d: %+v", i, r)
		}
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestTargetQueue: files uploaded for one target store through two jobs run
// one after another, in the order they were queued, on every backend.
func TestTargetQueue(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, clock := setup(t, b)
			var ids []string
			for _, name := range []string{"crm upload a", "crm upload b", "other store"} {
				job := sampleJob(name)
				job.Cadence, job.Target = "", "crm"
				if name == "other store" {
					job.Target = "warehouse"
				}
				j, _ := store.Create(ctx, job)
				ids = append(ids, j.ID)
			}
			var mu sync.Mutex
			var order []string
			rec := &recorder{reply: func(_ context.Context, _ schedule.Job, run schedule.Run) (*importer.Report, error) {
				mu.Lock()
				order = append(order, run.Input)
				mu.Unlock()
				return &importer.Report{Status: importer.StatusSucceeded}, nil
			}}
			s := newScheduler(t, store, clock, rec, nil)
			for i, f := range []string{"1.csv", "2.csv", "3.csv", "4.csv"} {
				clock.Advance(time.Second)
				_, _ = s.Enqueue(ctx, schedule.Run{JobID: ids[i%2], Trigger: schedule.TriggerUpload, Input: f})
			}
			_, _ = s.Enqueue(ctx, schedule.Run{JobID: ids[2], Trigger: schedule.TriggerUpload, Input: "w.csv"})
			var perTick []int
			for {
				n := tick(t, s)
				if n == 0 {
					break
				}
				perTick = append(perTick, n)
			}
			if got := strings.Replace(strings.Join(order, ","), "w.csv,", "", 1); got != "1.csv,2.csv,3.csv,4.csv" || len(order) != 5 {
				t.Fatalf("order %q", got)
			}
			if fmt.Sprint(perTick) != "[2 1 1 1]" {
				t.Fatalf("runs per tick %v, want the crm files one at a time", perTick)
			}
		})
	}
}

func TestMaxConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	release := make(chan struct{})
	entered := make(chan struct{}, 7)
	var mu sync.Mutex
	now, peak := 0, 0
	rec := &recorder{reply: func(context.Context, schedule.Job, schedule.Run) (*importer.Report, error) {
		mu.Lock()
		now++
		peak = max(peak, now)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		now--
		mu.Unlock()
		return &importer.Report{Status: importer.StatusSucceeded}, nil
	}}
	s := newScheduler(t, store, clock, rec, func(c *schedule.Config) { c.MaxConcurrent = 3; c.LeaseDuration = time.Hour })
	for i := range 7 {
		j, _ := store.Create(ctx, sampleJob(fmt.Sprint("job ", i)))
		_, _ = s.RunNow(ctx, j.ID, "x")
	}
	if n, _ := s.Tick(ctx); n != 3 {
		t.Fatalf("first tick started %d, want 3", n)
	}
	for range 3 {
		<-entered
	}
	if n, _ := s.Tick(ctx); n != 0 {
		t.Fatalf("second tick started %d while 3 ran", n)
	}
	close(release)
	_ = s.Idle(ctx)
	total := 3
	for {
		n := tick(t, s)
		if n == 0 {
			break
		}
		total += n
	}
	if total != 7 || peak != 3 {
		t.Fatalf("%d runs, peak %d concurrent", total, peak)
	}
}

// TestMaxConcurrentDefault: Config.MaxConcurrent 0 means the documented
// default, 4 runs at once.
func TestMaxConcurrentDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clock := setup(t, sqliteBackend())
	release := make(chan struct{})
	rec := &recorder{reply: func(context.Context, schedule.Job, schedule.Run) (*importer.Report, error) {
		<-release
		return &importer.Report{Status: importer.StatusSucceeded}, nil
	}}
	s := newScheduler(t, store, clock, rec, func(c *schedule.Config) { c.MaxConcurrent = 0; c.LeaseDuration = time.Hour })
	for i := range 6 {
		j, _ := store.Create(ctx, sampleJob(fmt.Sprint("job ", i)))
		_, _ = s.RunNow(ctx, j.ID, "x")
	}
	n, err := s.Tick(ctx)
	close(release)
	if err != nil || n != 4 {
		t.Fatalf("first tick started %d (%v), want the default 4", n, err)
	}
	_ = s.Idle(ctx)
}
