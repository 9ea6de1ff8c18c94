package schedule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/intakehq/intake/importer"
)

// Runner executes one run of a job: the host builds the source from
// job.Source, the importer from its stores, and returns the report. The
// context is canceled when the scheduler stops past its deadline or the
// run's lease is lost. Through [Handle](ctx) the runner reports live counts,
// the source fingerprint and where it archived the source and the rejects.
// To skip an unchanged source, it compares the fingerprint with
// run.PreviousFingerprint, sets it and returns (nil, nil): the run of a job
// with SkipUnchanged is then recorded as skipped_unchanged. A run with an
// Input imports that file (an upload), not the job's source.
type Runner func(ctx context.Context, job Job, run Run) (*importer.Report, error)

// Config configures a [Scheduler]. Store and Runner are required; the other
// fields have defaults.
type Config struct {
	// Store keeps jobs and runs; required.
	Store JobStore
	// Runner executes runs; required.
	Runner Runner
	// Clock tells the time; default the system clock. Tests pass
	// scheduletest.NewClock.
	Clock Clock
	// MaxConcurrent bounds the runs this instance executes at once.
	// Default 4.
	MaxConcurrent int
	// PollInterval is the time between two claims of due runs. Default 1s.
	PollInterval time.Duration
	// LeaseDuration is how long a run stays leased to this instance without
	// a heartbeat; heartbeats are sent every third of it. A run whose
	// instance died is marked failed once its lease expired. Default 1m.
	LeaseDuration time.Duration
	// MissedAfter: a run due longer ago than this when claimed counts as
	// missed (downtime) and follows the job's MissedPolicy. Default 1m.
	MissedAfter time.Duration
	// ProgressEvery is the least time between two writes of a running
	// run's live progress to the Store (counts, rows per second, bytes
	// read), which the Runner reports through [RunHandle.Event]
	// (ImportRunner after each committed batch): a poller of the store
	// sees progress at most this late, and a run writes its record at most
	// once per ProgressEvery besides its lease renewals. Default 1s.
	ProgressEvery time.Duration
	// Instance names this scheduler in leases and logs. Default
	// hostname-pid-random.
	Instance string
	// OnFinish, when set, is called after each run's final record is stored
	// (completion hook: e-mail the user, call a webhook). It runs on the
	// run's goroutine and should return quickly.
	OnFinish func(ctx context.Context, job Job, run Run)
	// Logger receives a line per run and per store error; nil logs nothing.
	Logger *slog.Logger
}

// Scheduler claims due runs from a JobStore and executes them.
type Scheduler struct {
	cfg    Config
	log    *slog.Logger
	mu     sync.Mutex
	active int
	idle   *sync.Cond
	runCtx context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan struct{}
	wake   chan struct{}
	wg     sync.WaitGroup
}

// New validates cfg and returns a scheduler; call Start to run it.
func New(cfg Config) (*Scheduler, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("schedule: Config.Store is nil: use OpenSQLite or NewPostgres"))
	}
	if cfg.Runner == nil {
		errs = append(errs, errors.New("schedule: Config.Runner is nil: give a func that runs a job and returns its report"))
	}
	if cfg.MaxConcurrent < 0 || cfg.PollInterval < 0 || cfg.LeaseDuration < 0 || cfg.MissedAfter < 0 || cfg.ProgressEvery < 0 {
		errs = append(errs, errors.New("schedule: Config: MaxConcurrent, PollInterval, LeaseDuration, MissedAfter and ProgressEvery must not be negative (0 = default)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 4
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = time.Minute
	}
	if cfg.MissedAfter == 0 {
		cfg.MissedAfter = time.Minute
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = time.Second
	}
	if cfg.Instance == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Instance = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{cfg: cfg, log: log, wake: make(chan struct{}, 1)}
	s.idle = sync.NewCond(&s.mu)
	s.runCtx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Instance returns the name of this scheduler in leases.
func (s *Scheduler) Instance() string { return s.cfg.Instance }

// Start runs the polling loop until ctx is done or Stop is called. It
// returns at once; it is an error to start a scheduler twice.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return errors.New("schedule: Start: the scheduler was started already")
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.loop(ctx)
	return nil
}

func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.done)
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("schedule: claim failed", "instance", s.cfg.Instance, "err", err)
		}
		tc, stop := s.cfg.Clock.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-s.stop:
			stop()
			return
		case <-s.wake:
			stop()
		case <-tc:
		}
	}
}

// Stop stops claiming runs and waits for the runs in flight. When ctx is
// done first, their contexts are canceled (they are recorded as canceled)
// and Stop waits for them to return, then returns ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	stop, done := s.stop, s.done
	if stop != nil {
		select {
		case <-stop:
		default:
			close(stop)
		}
	}
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-finished
		return ctx.Err()
	}
}

// Tick does one round of the loop now: it marks runs whose lease expired
// as failed, claims the due runs up to the free concurrency, and starts
// them in goroutines. It returns the number of runs started. Hosts that
// drive the scheduler themselves (and tests) call it instead of Start.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := s.cfg.Clock.Now()
	reaped, err := s.cfg.Store.Reap(ctx, now)
	if err != nil {
		return 0, err
	}
	for _, r := range reaped {
		s.log.Warn("schedule: run lease expired", "run", r.ID, "job", r.JobID, "instance", r.Instance)
	}
	s.mu.Lock()
	free := s.cfg.MaxConcurrent - s.active
	s.mu.Unlock()
	claimed, err := s.cfg.Store.Claim(ctx, ClaimRequest{Now: now, Instance: s.cfg.Instance, Lease: s.cfg.LeaseDuration, Limit: free, MissedAfter: s.cfg.MissedAfter})
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.active += len(claimed)
	s.wg.Add(len(claimed))
	s.mu.Unlock()
	for _, c := range claimed {
		go s.execute(c.Job, c.Run)
	}
	return len(claimed), nil
}

// Idle waits until no run of this scheduler is in flight, or ctx is done.
func (s *Scheduler) Idle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.mu.Lock(); s.idle.Broadcast(); s.mu.Unlock() })
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.active > 0 && ctx.Err() == nil {
		s.idle.Wait()
	}
	return ctx.Err()
}

// RunNow queues a manual run of the job for actor and returns it; the
// job's schedule is not changed. The run starts at the next claim (at once
// when the scheduler runs), after the job's run in progress, if any.
func (s *Scheduler) RunNow(ctx context.Context, jobID, actor string) (Run, error) {
	return s.Enqueue(ctx, Run{JobID: jobID, Trigger: TriggerManual, Actor: actor})
}

// Enqueue queues a run (an API trigger, an uploaded file: Trigger, Actor,
// Input); queued runs of a job execute one after another, in order, and
// survive a restart in the store.
func (s *Scheduler) Enqueue(ctx context.Context, run Run) (Run, error) {
	run.Status, run.ID, run.Queued = StatusQueued, "", s.cfg.Clock.Now().UTC()
	r, err := s.cfg.Store.CreateRun(ctx, run)
	if err != nil {
		return Run{}, err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return r, nil
}

// RunStatus returns a run with its live counts while it runs (as
// Acoustic's GetJobStatus).
func (s *Scheduler) RunStatus(ctx context.Context, runID string) (Run, error) {
	return s.cfg.Store.GetRun(ctx, runID)
}

// RunHandle lets a Runner report on its run; get it with [Handle]. Its
// methods are safe for concurrent use and do nothing on a nil handle.
type RunHandle struct {
	mu      sync.Mutex
	run     Run
	seq     uint64        // counts the progress recorded, to tell what is new
	changed chan struct{} // signals new progress to the heartbeat (cap 1)
}

type handleKey struct{}

// Handle returns the handle of the run ctx belongs to, or nil outside a run.
func Handle(ctx context.Context) *RunHandle {
	h, _ := ctx.Value(handleKey{}).(*RunHandle)
	return h
}

// SetFingerprint records the source's fingerprint (connector fingerprint).
func (h *RunHandle) SetFingerprint(fp string) {
	if h != nil {
		h.mu.Lock()
		h.run.Fingerprint = fp
		h.mu.Unlock()
	}
}

// SetRefs records where the archived source and the rejected rows are kept.
func (h *RunHandle) SetRefs(sourceRef, rejectsRef string) {
	if h != nil {
		h.mu.Lock()
		h.run.SourceRef, h.run.RejectsRef = sourceRef, rejectsRef
		h.mu.Unlock()
	}
}

// Event records an import's progress on the run: its counts so far, rows
// per second and bytes read of the source's size, which the scheduler
// stores at most every Config.ProgressEvery while the run goes on (the
// final record is stored when the run ends). Set it as
// importer.Config.Events, as ImportRunner does. It returns at once: the
// store is written on another goroutine.
func (h *RunHandle) Event(e importer.Event) {
	if h == nil {
		return
	}
	c := e.Counts
	h.mu.Lock()
	h.run.Rows, h.run.Created, h.run.Updated, h.run.Unchanged = c.Rows, c.Created, c.Updated, c.Unchanged
	h.run.Skipped, h.run.OptedOut, h.run.Rejected = c.Skipped, c.OptedOut, c.Rejected
	h.run.RowsPerSecond, h.run.BytesRead, h.run.BytesTotal = e.RowsPerSecond, e.BytesRead, e.BytesTotal
	h.seq++
	h.mu.Unlock()
	if e.Kind == importer.RunFinished {
		return // the scheduler stores the final record itself
	}
	select {
	case h.changed <- struct{}{}:
	default: // a signal is pending already
	}
}

// snapshot returns the run as recorded so far, and the count of progress
// recorded.
func (h *RunHandle) snapshot() (Run, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.run, h.seq
}

func (s *Scheduler) execute(job Job, run Run) {
	defer func() {
		s.mu.Lock()
		s.active--
		s.idle.Broadcast()
		s.mu.Unlock()
		select { // a slot is free: queued runs need not wait for the next poll
		case s.wake <- struct{}{}:
		default:
		}
		s.wg.Done()
	}()
	ctx, cancel := context.WithCancel(s.runCtx)
	defer cancel()
	h := &RunHandle{run: run, changed: make(chan struct{}, 1)}
	ctx = context.WithValue(ctx, handleKey{}, h)
	store := context.WithoutCancel(ctx)
	s.log.Info("schedule: run started", "run", run.ID, "job", job.Name, "trigger", run.Trigger, "instance", s.cfg.Instance)

	hbDone := make(chan struct{})
	hbStopped := make(chan struct{})
	go func() {
		defer close(hbStopped)
		s.heartbeat(store, job, h, cancel, hbDone)
	}()

	rep, err := s.call(ctx, job, run)
	close(hbDone)
	<-hbStopped

	final, _ := h.snapshot()
	final.Finished = s.cfg.Clock.Now().UTC()
	settle(ctx, &job, &final, rep, err)
	if ferr := s.cfg.Store.Finish(store, final); ferr != nil {
		s.log.Error("schedule: recording the run failed", "run", run.ID, "job", job.Name, "err", ferr)
	}
	s.log.Info("schedule: run finished", "run", run.ID, "job", job.Name, "status", final.Status, "rows", final.Rows)
	if s.cfg.OnFinish != nil {
		s.cfg.OnFinish(store, job, final)
	}
}

// heartbeat renews the lease of a running run every third of
// LeaseDuration, storing the run as recorded so far with it, and stores the
// progress the runner reports (RunHandle.Event) as it comes, at most every
// ProgressEvery: progress reported sooner after a write waits for the
// remainder, so the stored record is never older than that. It cancels the
// run when its lease is lost, and returns when done is closed.
func (s *Scheduler) heartbeat(ctx context.Context, job Job, h *RunHandle, cancel context.CancelFunc, done <-chan struct{}) {
	lease, stopLease := s.cfg.Clock.NewTimer(s.cfg.LeaseDuration / 3)
	var trail <-chan time.Time // armed while progress waits for ProgressEvery
	stopTrail := func() {}
	defer func() { stopLease(); stopTrail() }()
	var wrote time.Time // the last write; zero: none yet
	var stored uint64   // the handle's seq at the last write
	for {
		renew := false
		select {
		case <-done:
			return
		case <-lease:
			renew = true
		case <-trail:
			trail, stopTrail = nil, func() {}
		case <-h.changed:
			if trail != nil {
				continue // a write is due already
			}
			if wait := s.cfg.ProgressEvery - s.cfg.Clock.Now().Sub(wrote); wait > 0 {
				trail, stopTrail = s.cfg.Clock.NewTimer(wait)
				continue
			}
		}
		run, seq := h.snapshot()
		if !renew && seq == stored {
			continue
		}
		stopTrail()
		trail, stopTrail = nil, func() {}
		wrote, stored = s.cfg.Clock.Now(), seq
		err := s.cfg.Store.Heartbeat(ctx, run, wrote.Add(s.cfg.LeaseDuration))
		if errors.Is(err, ErrLeaseLost) {
			s.log.Error("schedule: run lease lost; canceling", "run", run.ID, "job", job.Name)
			cancel()
			return
		} else if err != nil {
			s.log.Warn("schedule: heartbeat failed", "run", run.ID, "err", err)
		}
		if renew {
			lease, stopLease = s.cfg.Clock.NewTimer(s.cfg.LeaseDuration / 3)
		}
	}
}

func (s *Scheduler) call(ctx context.Context, job Job, run Run) (rep *importer.Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, fmt.Errorf("schedule: the runner panicked: %v", p)
		}
	}()
	return s.cfg.Runner(ctx, job, run)
}

// settle sets a run's final status and counts from the runner's result. A
// run is skipped_unchanged only when its job skips unchanged sources and
// the runner skipped: it read no rows (no report) and the source's
// fingerprint equals the last successful run's.
func settle(ctx context.Context, job *Job, r *Run, rep *importer.Report, err error) {
	if rep != nil {
		r.Rows, r.Created, r.Updated, r.Unchanged = rep.Rows, rep.Created, rep.Updated, rep.Unchanged
		r.Skipped, r.OptedOut, r.Rejected = rep.Skipped, rep.OptedOut, rep.Rejected
		r.Warned = rep.Warned
		r.Undoable, r.UndoReason = rep.Undoable, rep.UndoReason
		if rep.Error != "" {
			r.Error = rep.Error
		}
	}
	switch {
	case err == nil && rep == nil && job.SkipUnchanged && r.Fingerprint != "" && r.Fingerprint == r.PreviousFingerprint:
		r.Status = StatusSkippedUnchanged
	case err != nil && ctx.Err() != nil, rep != nil && rep.Status == importer.StatusCanceled:
		r.Status = StatusCanceled
		if err != nil {
			r.Error = err.Error()
		}
	case err != nil:
		r.Status, r.Error = StatusFailed, err.Error()
	case rep == nil:
		r.Status = StatusSucceeded
	case rep.Status == importer.StatusFailed:
		r.Status = StatusFailed
	case rep.Rejected > 0:
		r.Status = StatusPartiallySucceeded
	default:
		r.Status = StatusSucceeded
	}
}
