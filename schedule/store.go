package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
)

// ErrNotFound is returned (wrapped, after the job's or run's id) when a job
// or run does not exist.
var ErrNotFound = errors.New("schedule: not found")

// JobStore keeps jobs and their run history, and hands due runs to
// schedulers. Implementations: [OpenSQLite]/[NewSQLite] (default) and
// [NewPostgres] (several replicas). All methods are safe for concurrent use.
// The conformance kit scheduletest.TestJobStore checks an implementation
// against the contract of each method.
type JobStore interface {
	// Create saves a new job: it assigns ID, Created, Updated and NextRun,
	// and queues a run when RunOnSave is set. An invalid job is refused
	// with an *InvalidJobError listing every problem with its JSON path.
	Create(ctx context.Context, job Job) (Job, error)
	// Get returns a job; ErrNotFound when there is none.
	Get(ctx context.Context, id string) (Job, error)
	// List returns the jobs matching the filter, by name.
	List(ctx context.Context, f JobFilter) ([]Job, error)
	// Update replaces a job's settings; a schedule change takes effect at
	// once. It validates the job as Create does.
	Update(ctx context.Context, job Job) (Job, error)
	// Delete removes a job and its runs.
	Delete(ctx context.Context, id string) error
	// Duplicate copies a job under a new name (the job's name with
	// " (copy)" when name is empty). The copy is disabled, its RunOnSave
	// is false, and no run is queued.
	Duplicate(ctx context.Context, id, name string) (Job, error)
	// SetEnabled enables or disables a job; enabling recomputes NextRun.
	SetEnabled(ctx context.Context, id string, enabled bool) error

	// CreateRun records a run of an existing job and returns it as stored:
	// with an ID, and when they are unset, the status queued, Queued the
	// store clock's time and the trigger manual. A queued run waits for a
	// scheduler; queued runs of a job start one after another.
	CreateRun(ctx context.Context, run Run) (Run, error)
	// UpdateRun stores a run's fields: GetRun returns them, and ListRuns
	// filters on them.
	UpdateRun(ctx context.Context, run Run) error
	// GetRun returns a run, with live counts while it runs.
	GetRun(ctx context.Context, id string) (Run, error)
	// ListRuns returns runs matching the filter, newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)

	// Claim is the scheduler's step: in one transaction it turns the jobs
	// due at req.Now into queued runs (or skip records, per policy) and
	// moves their NextRun on; in a second one it starts up to req.Limit
	// queued runs, oldest first, leasing them to req.Instance until
	// Now+Lease. A run may start when it is the first queued run of its
	// job, its job has no running run and its job's Target none; runs
	// queued before it that may not start do not hold it back.
	Claim(ctx context.Context, req ClaimRequest) ([]Claimed, error)
	// Heartbeat renews a running run's lease and stores its live counts. It
	// returns ErrLeaseLost when the run is no longer leased to run.Instance.
	Heartbeat(ctx context.Context, run Run, until time.Time) error
	// Finish stores a run's final state and frees its job for the next run.
	// It returns ErrLeaseLost, and stores nothing, when the run is no longer
	// leased to run.Instance (another instance reaped it, or it finished).
	Finish(ctx context.Context, run Run) error
	// Reap marks runs whose lease expired before now as failed, frees their
	// jobs and queues a retry when the job's RetryAbandoned allows. It
	// returns the runs it marked failed: at most 100 a call, oldest first
	// (the scheduler calls it on every tick, so a larger backlog goes in
	// the next ones).
	Reap(ctx context.Context, now time.Time) ([]Run, error)

	// FieldUsers returns the saved recurring jobs that reference field of
	// object (in their spec's mapping, sync fields or identity rules). A host calls it before it
	// drops a field; see [ErrFieldInUse].
	FieldUsers(ctx context.Context, object, field string) ([]Job, error)
	// Close releases what the store opened itself.
	Close() error
}

// ErrLeaseLost is returned by Heartbeat and Finish when the run is no
// longer leased to the instance: typically another instance marked it
// failed after its lease expired. A run that outlives its lease while it
// works needs a longer Config.LeaseDuration.
var ErrLeaseLost = errors.New("schedule: run lease lost")

// JobFilter selects jobs; zero fields match all.
type JobFilter struct {
	Enabled *bool
	// Recurring, when set, selects jobs with (true) or without a cadence.
	Recurring *bool
	Object    string
	// Limit caps the result (0 = no limit).
	Limit int
}

// RunFilter selects runs; zero fields match all.
type RunFilter struct {
	JobID   string
	Status  []RunStatus
	Trigger Trigger
	// Since and Until bound the time the run was recorded (Queued):
	// Since ≤ Queued < Until; a zero time does not bound.
	Since, Until time.Time
	// Limit caps the result (0 = 100).
	Limit int
}

// ClaimRequest is the input of JobStore.Claim.
type ClaimRequest struct {
	Now      time.Time
	Instance string
	Lease    time.Duration
	// Limit is the most runs to start (free slots); 0 starts none.
	Limit int
	// MissedAfter: a due run older than this at Now was missed (MissedPolicy).
	MissedAfter time.Duration
	// Scan caps the due jobs handled per claim (0 = 1000).
	Scan int
}

// Claimed is a run the scheduler must execute now, with its job.
type Claimed struct {
	Job Job
	Run Run
}

// FieldInUseError is returned by [CheckFieldDrop] when saved recurring jobs
// reference a field.
type FieldInUseError struct {
	Object, Field string
	Jobs          []Job
}

// ErrFieldInUse matches a *FieldInUseError with errors.Is.
var ErrFieldInUse = errors.New("schedule: field is used by saved recurring jobs")

// Error names the field and the jobs that use it.
func (e *FieldInUseError) Error() string {
	names := make([]string, len(e.Jobs))
	for i, j := range e.Jobs {
		names[i] = fmt.Sprintf("%q (%s)", j.Name, j.ID)
	}
	return fmt.Sprintf("schedule: field %s.%s cannot be dropped: saved recurring jobs use it: %s; change their mappings first",
		e.Object, e.Field, strings.Join(names, ", "))
}

// Is makes errors.Is(err, ErrFieldInUse) true.
func (e *FieldInUseError) Is(target error) bool { return target == ErrFieldInUse }

// CheckFieldDrop returns a *FieldInUseError naming the jobs when saved
// recurring jobs of the store use the field, and nil when it can be dropped.
// It reads the jobs as they are when it runs: a job that another process
// saves between this check and the drop is not seen, so a host whose
// instances save jobs while one drops a field runs the check and the drop
// under a lock of its own.
func CheckFieldDrop(ctx context.Context, s JobStore, object, field string) error {
	jobs, err := s.FieldUsers(ctx, object, field)
	if err != nil {
		return err
	}
	if len(jobs) > 0 {
		return &FieldInUseError{Object: object, Field: field, Jobs: jobs}
	}
	return nil
}

// usesField reports whether the job's spec names field of object: in its
// sync fields, its identity rules or its mapping's columns.
func usesField(j *Job, object, field string) bool {
	if object == "" {
		object = intake.ObjectContact
	}
	if j.Object() != object {
		return false
	}
	if slices.Contains(j.Spec.Sync, field) {
		return true
	}
	for _, r := range j.Spec.Rules {
		if k, err := intake.ParseKeySpec(r); err == nil && slices.Contains(k.Fields, field) {
			return true
		}
	}
	if m := j.Spec.Mapping; m != nil {
		for _, c := range m.Columns {
			if c.Field == field && !c.Skip {
				return true
			}
		}
	}
	return false
}

// Object returns the object type the job imports: its mapping's object
// section's, else its spec's object, else contact.
func (j *Job) Object() string {
	if m := j.Spec.Mapping; m != nil && m.Object != nil && m.Object.Name != "" {
		return m.Object.Name
	}
	if j.Spec.Object != "" {
		return j.Spec.Object
	}
	return intake.ObjectContact
}

// --- the SQL implementation shared by SQLite and PostgreSQL ---

type dialect struct {
	name       string
	skipLocked string // appended to SELECT … for claims
	dollar     bool   // $1 placeholders
	lockTarget string // query taking a transaction lock on a target without waiting; returns bool
}

type rowsI interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type dbtx interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rowsI, error)
}

type txI interface {
	dbtx
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

type backend interface {
	dbtx
	begin(ctx context.Context) (txI, error)
	close() error
}

// Clock tells the time and makes timers; inject a fake one in tests (see
// package scheduletest). The zero Config uses the system clock.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives the time once d has
	// elapsed, and a func that stops the timer (the channel then never
	// receives). Stopping a timer that fired does nothing.
	NewTimer(d time.Duration) (<-chan time.Time, func())
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) NewTimer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// StoreConfig configures a store. The zero value works.
type StoreConfig struct {
	// Clock gives the time of Create, Update and SetEnabled (NextRun).
	// Default: the system clock.
	Clock Clock
	// SinkFor, when set, returns the store a job writes into, and Create
	// and Update check the job's spec against it as well
	// (importer.JobSpec.ValidateFor): the object type must be known, and
	// the fields its sync, rules, merge and links name must exist. Without
	// it they check the spec on its own (importer.JobSpec.Validate).
	SinkFor func(Job) (sink.Sink, error)
}

type sqlStore struct {
	d       dialect
	db      backend
	clock   Clock
	sinkFor func(Job) (sink.Sink, error)
}

const schemaSQL = `
CREATE TABLE IF NOT EXISTS intake_jobs (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	enabled BIGINT NOT NULL,
	next_run BIGINT NOT NULL,
	running_run TEXT NOT NULL DEFAULT '',
	last_fingerprint TEXT NOT NULL DEFAULT '',
	target TEXT NOT NULL DEFAULT '',
	spec TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS intake_jobs_target ON intake_jobs (target) WHERE target <> '';
CREATE INDEX IF NOT EXISTS intake_jobs_due ON intake_jobs (next_run) WHERE enabled = 1 AND next_run > 0;
CREATE TABLE IF NOT EXISTS intake_runs (
	id TEXT PRIMARY KEY,
	job_id TEXT NOT NULL,
	seq BIGINT NOT NULL,
	trigger_ TEXT NOT NULL,
	status TEXT NOT NULL,
	queued BIGINT NOT NULL,
	lease_until BIGINT NOT NULL DEFAULT 0,
	instance TEXT NOT NULL DEFAULT '',
	data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS intake_runs_job ON intake_runs (job_id, queued);
CREATE INDEX IF NOT EXISTS intake_runs_status ON intake_runs (status, seq);
`

func (s *sqlStore) init(ctx context.Context) error {
	for _, stmt := range strings.Split(schemaSQL, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := s.db.exec(ctx, stmt); err != nil {
			return fmt.Errorf("schedule: create tables: %w", err)
		}
	}
	return nil
}

// q rewrites ? placeholders for the dialect.
func (s *sqlStore) q(query string) string {
	if !s.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func nextRun(j *Job, now time.Time) (time.Time, error) {
	if !j.Enabled {
		return time.Time{}, nil
	}
	sc, err := j.Schedule()
	if err != nil || sc == nil {
		return time.Time{}, err
	}
	return sc.Next(now), nil
}

func (s *sqlStore) inTx(ctx context.Context, fn func(tx txI) error) error {
	tx, err := s.db.begin(ctx)
	if err != nil {
		return fmt.Errorf("schedule: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.rollback(ctx)
		return err
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("schedule: commit: %w", err)
	}
	return nil
}

// check applies the defaults to a job and validates it: on its own, then
// against the store it writes into when StoreConfig.SinkFor is set.
func (s *sqlStore) check(ctx context.Context, job Job) (Job, error) {
	job = job.withDefaults()
	if err := job.validate(); err != nil {
		return Job{}, err
	}
	if s.sinkFor == nil {
		return job, nil
	}
	sk, err := s.sinkFor(job)
	if err != nil {
		return Job{}, fmt.Errorf("schedule: job %q: its store: %w", job.Name, err)
	}
	var es importer.SpecErrors
	if err := job.Spec.ValidateFor(ctx, sk); errors.As(err, &es) {
		return Job{}, &InvalidJobError{Name: job.Name, Problems: specProblems(es)}
	} else if err != nil {
		return Job{}, fmt.Errorf("schedule: job %q: %w", job.Name, err)
	}
	return job, nil
}

func (s *sqlStore) Create(ctx context.Context, job Job) (Job, error) {
	job, err := s.check(ctx, job)
	if err != nil {
		return Job{}, err
	}
	now := s.clock.Now().UTC()
	job.ID, job.Created, job.Updated = newID(), now, now
	if job.NextRun, err = nextRun(&job, now); err != nil {
		return Job{}, err
	}
	err = s.inTx(ctx, func(tx txI) error {
		if err := s.putJob(ctx, tx, &job, true); err != nil {
			return err
		}
		if job.RunOnSave {
			_, err := s.insertRun(ctx, tx, Run{JobID: job.ID, Trigger: TriggerSave, Queued: now, Status: StatusQueued})
			return err
		}
		return nil
	})
	return job, err
}

func (s *sqlStore) putJob(ctx context.Context, tx dbtx, job *Job, insert bool) error {
	spec, err := json.Marshal(job)
	if err != nil {
		return err
	}
	if insert {
		_, err = tx.exec(ctx, s.q(`INSERT INTO intake_jobs (id, name, enabled, next_run, target, spec) VALUES (?, ?, ?, ?, ?, ?)`),
			job.ID, job.Name, b2i(job.Enabled), micros(job.NextRun), job.Target, string(spec))
	} else {
		var n int64
		n, err = tx.exec(ctx, s.q(`UPDATE intake_jobs SET name = ?, enabled = ?, next_run = ?, target = ?, spec = ? WHERE id = ?`),
			job.Name, b2i(job.Enabled), micros(job.NextRun), job.Target, string(spec), job.ID)
		if err == nil && n == 0 {
			return fmt.Errorf("job %s: %w", job.ID, ErrNotFound)
		}
	}
	if err != nil {
		return fmt.Errorf("schedule: save job %q: %w", job.Name, err)
	}
	return nil
}

const jobCols = `id, enabled, next_run, spec`

func scanJob(r rowsI) (Job, error) {
	var j Job
	var id, spec string
	var enabled, next int64
	if err := r.Scan(&id, &enabled, &next, &spec); err != nil {
		return j, err
	}
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		return j, fmt.Errorf("schedule: job %s: stored spec: %w", id, err)
	}
	j.ID, j.Enabled, j.NextRun = id, enabled == 1, fromMicros(next)
	return j, nil
}

func (s *sqlStore) jobs(ctx context.Context, tx dbtx, query string, args ...any) ([]Job, error) {
	rows, err := tx.query(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("schedule: query jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (s *sqlStore) Get(ctx context.Context, id string) (Job, error) {
	js, err := s.jobs(ctx, s.db, `SELECT `+jobCols+` FROM intake_jobs WHERE id = ?`, id)
	if err != nil {
		return Job{}, err
	}
	if len(js) == 0 {
		return Job{}, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return js[0], nil
}

func (s *sqlStore) List(ctx context.Context, f JobFilter) ([]Job, error) {
	q := `SELECT ` + jobCols + ` FROM intake_jobs WHERE 1 = 1`
	var args []any
	if f.Enabled != nil {
		q += ` AND enabled = ?`
		args = append(args, b2i(*f.Enabled))
	}
	q += ` ORDER BY name, id`
	js, err := s.jobs(ctx, s.db, q, args...)
	if err != nil {
		return nil, err
	}
	out := js[:0]
	for _, j := range js {
		if f.Recurring != nil && j.Recurring() != *f.Recurring || f.Object != "" && j.Object() != f.Object {
			continue
		}
		out = append(out, j)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func (s *sqlStore) Update(ctx context.Context, job Job) (Job, error) {
	job, err := s.check(ctx, job)
	if err != nil {
		return Job{}, err
	}
	old, err := s.Get(ctx, job.ID)
	if err != nil {
		return Job{}, err
	}
	now := s.clock.Now().UTC()
	job.Created, job.Updated = old.Created, now
	if job.NextRun, err = nextRun(&job, now); err != nil {
		return Job{}, err
	}
	return job, s.putJob(ctx, s.db, &job, false)
}

func (s *sqlStore) Delete(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx txI) error {
		n, err := tx.exec(ctx, s.q(`DELETE FROM intake_jobs WHERE id = ?`), id)
		if err != nil {
			return fmt.Errorf("schedule: delete job: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("job %s: %w", id, ErrNotFound)
		}
		_, err = tx.exec(ctx, s.q(`DELETE FROM intake_runs WHERE job_id = ?`), id)
		return err
	})
}

func (s *sqlStore) Duplicate(ctx context.Context, id, name string) (Job, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if name == "" {
		name = j.Name + " (copy)"
	}
	j.Name, j.Enabled, j.RunOnSave = name, false, false
	return s.Create(ctx, j)
}

func (s *sqlStore) SetEnabled(ctx context.Context, id string, enabled bool) error {
	j, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	j.Enabled = enabled
	_, err = s.Update(ctx, j)
	return err
}

func (s *sqlStore) insertRun(ctx context.Context, tx dbtx, r Run) (Run, error) {
	if r.ID == "" {
		r.ID = newID()
	}
	if r.Status == "" {
		r.Status = StatusQueued
	}
	if r.Queued.IsZero() {
		r.Queued = s.clock.Now().UTC()
	}
	if r.Trigger == "" {
		r.Trigger = TriggerManual
	}
	data, _ := json.Marshal(r)
	_, err := tx.exec(ctx, s.q(`INSERT INTO intake_runs (id, job_id, seq, trigger_, status, queued, lease_until, instance, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.JobID, r.Queued.UnixNano(), string(r.Trigger), string(r.Status), micros(r.Queued), micros(r.LeaseUntil), r.Instance, string(data))
	if err != nil {
		return r, fmt.Errorf("schedule: record run: %w", err)
	}
	return r, nil
}

func (s *sqlStore) CreateRun(ctx context.Context, r Run) (Run, error) {
	if _, err := s.Get(ctx, r.JobID); err != nil {
		return Run{}, err
	}
	return s.insertRun(ctx, s.db, r)
}

func (s *sqlStore) updateRun(ctx context.Context, tx dbtx, r Run, extra string, args ...any) (int64, error) {
	data, _ := json.Marshal(r)
	n, err := tx.exec(ctx, s.q(`UPDATE intake_runs SET trigger_ = ?, status = ?, queued = ?, seq = ?, lease_until = ?, instance = ?, data = ? WHERE id = ?`+extra),
		append([]any{string(r.Trigger), string(r.Status), micros(r.Queued), r.Queued.UnixNano(), micros(r.LeaseUntil), r.Instance, string(data), r.ID}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("schedule: update run: %w", err)
	}
	return n, nil
}

func (s *sqlStore) UpdateRun(ctx context.Context, r Run) error {
	n, err := s.updateRun(ctx, s.db, r, "")
	if err == nil && n == 0 {
		err = fmt.Errorf("run %s: %w", r.ID, ErrNotFound)
	}
	return err
}

func (s *sqlStore) runs(ctx context.Context, tx dbtx, query string, args ...any) ([]Run, error) {
	rows, err := tx.query(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("schedule: query runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var r Run
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			return nil, fmt.Errorf("schedule: stored run: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqlStore) GetRun(ctx context.Context, id string) (Run, error) {
	rs, err := s.runs(ctx, s.db, `SELECT data FROM intake_runs WHERE id = ?`, id)
	if err != nil {
		return Run{}, err
	}
	if len(rs) == 0 {
		return Run{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

func (s *sqlStore) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	q := `SELECT data FROM intake_runs WHERE 1 = 1`
	var args []any
	if f.JobID != "" {
		q += ` AND job_id = ?`
		args = append(args, f.JobID)
	}
	if f.Trigger != "" {
		q += ` AND trigger_ = ?`
		args = append(args, string(f.Trigger))
	}
	if len(f.Status) > 0 {
		q += ` AND status IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(f.Status)), ", ") + `)`
		for _, st := range f.Status {
			args = append(args, string(st))
		}
	}
	if !f.Since.IsZero() {
		q += ` AND queued >= ?`
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND queued < ?`
		args = append(args, micros(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(` ORDER BY seq DESC, id DESC LIMIT %d`, limit)
	return s.runs(ctx, s.db, q, args...)
}

func (s *sqlStore) Claim(ctx context.Context, req ClaimRequest) ([]Claimed, error) {
	now := req.Now.UTC()
	scan := req.Scan
	if scan <= 0 {
		scan = 1000
	}
	// 1. Due jobs become queued runs (or skip records).
	err := s.inTx(ctx, func(tx txI) error {
		due, err := s.jobs(ctx, tx, `SELECT `+jobCols+` FROM intake_jobs WHERE enabled = 1 AND next_run > 0 AND next_run <= ? ORDER BY next_run LIMIT ?`+s.d.skipLocked,
			micros(now), scan)
		if err != nil {
			return err
		}
		for i := range due {
			if err := s.claimDue(ctx, tx, &due[i], now, req.MissedAfter); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || req.Limit <= 0 {
		return nil, err
	}
	// 2. In a second transaction (so that the due jobs' row locks are not
	// held meanwhile), start queued runs.
	var out []Claimed
	err = s.inTx(ctx, func(tx txI) error {
		var err error
		out, err = s.startQueued(ctx, tx, req, now)
		return err
	})
	return out, err
}

// queuedRun is a queued run that Claim may start: its id, its job and its
// place in the queue.
type queuedRun struct {
	run, job string
	seq      int64
}

// startQueued starts up to req.Limit queued runs, oldest first: of each
// job with no running run whose target has none, its first queued run. It
// reads the queue a page at a time after the last run it read, so that
// runs that wait behind one another never keep a run that may start from
// starting.
func (s *sqlStore) startQueued(ctx context.Context, tx txI, req ClaimRequest, now time.Time) ([]Claimed, error) {
	var out []Claimed
	seen, busyTarget := map[string]bool{}, map[string]bool{}
	page := req.Limit*4 + 16
	var after *queuedRun
	for len(out) < req.Limit {
		cands, err := s.queuedRuns(ctx, tx, after, page)
		if err != nil {
			return nil, err
		}
		for _, c := range cands {
			if len(out) == req.Limit {
				break
			}
			if seen[c.job] {
				continue
			}
			seen[c.job] = true
			cl, ok, err := s.startRun(ctx, tx, c, req, now, busyTarget)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, cl)
			}
		}
		if len(cands) < page {
			break
		}
		after = &cands[len(cands)-1]
	}
	return out, nil
}

// queuedRuns returns up to n queued runs after the run after (nil: from
// the start of the queue), oldest first, leaving out the runs of jobs
// that have a running run or whose target has one.
func (s *sqlStore) queuedRuns(ctx context.Context, tx txI, after *queuedRun, n int) ([]queuedRun, error) {
	q := `SELECT r.id, r.job_id, r.seq FROM intake_runs r JOIN intake_jobs j ON j.id = r.job_id
		WHERE r.status = 'queued' AND j.running_run = ''
		AND (j.target = '' OR NOT EXISTS (SELECT 1 FROM intake_jobs b WHERE b.target = j.target AND b.running_run <> ''))`
	var args []any
	if after != nil {
		q += ` AND (r.seq > ? OR (r.seq = ? AND r.id > ?))`
		args = append(args, after.seq, after.seq, after.run)
	}
	rows, err := tx.query(ctx, s.q(q+` ORDER BY r.seq, r.id LIMIT ?`), append(args, n)...)
	if err != nil {
		return nil, fmt.Errorf("schedule: query queued runs: %w", err)
	}
	defer rows.Close()
	var out []queuedRun
	for rows.Next() {
		var c queuedRun
		if err := rows.Scan(&c.run, &c.job, &c.seq); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// startRun starts the queued run c, leased to req.Instance, when its job
// (locked here: another instance may hold it or have started a run) has
// no running run and its target none; ok is false when it cannot start.
// busyTarget holds the targets this claim already tried.
func (s *sqlStore) startRun(ctx context.Context, tx txI, c queuedRun, req ClaimRequest, now time.Time, busyTarget map[string]bool) (Claimed, bool, error) {
	js, err := s.jobs(ctx, tx, `SELECT `+jobCols+` FROM intake_jobs WHERE id = ? AND running_run = ''`+s.d.skipLocked, c.job)
	if err != nil || len(js) == 0 {
		return Claimed{}, false, err
	}
	if tg := js[0].Target; tg != "" {
		if busyTarget[tg] {
			return Claimed{}, false, nil
		}
		busyTarget[tg] = true
		if free, err := s.targetFree(ctx, tx, tg); err != nil || !free {
			return Claimed{}, false, err
		}
	}
	rs, err := s.runs(ctx, tx, `SELECT data FROM intake_runs WHERE id = ? AND status = 'queued'`, c.run)
	if err != nil || len(rs) == 0 {
		return Claimed{}, false, err
	}
	var fp string
	fr, err := tx.query(ctx, s.q(`SELECT last_fingerprint FROM intake_jobs WHERE id = ?`), c.job)
	if err != nil {
		return Claimed{}, false, err
	}
	if fr.Next() {
		_ = fr.Scan(&fp)
	}
	fr.Close()
	r := rs[0]
	r.Status, r.Started, r.Instance, r.LeaseUntil, r.PreviousFingerprint = StatusRunning, now, req.Instance, now.Add(req.Lease), fp
	if _, err := s.updateRun(ctx, tx, r, ""); err != nil {
		return Claimed{}, false, err
	}
	if _, err := tx.exec(ctx, s.q(`UPDATE intake_jobs SET running_run = ? WHERE id = ?`), r.ID, c.job); err != nil {
		return Claimed{}, false, fmt.Errorf("schedule: mark job running: %w", err)
	}
	return Claimed{Job: js[0], Run: r}, true, nil
}

// targetFree reports whether no run of a job with this target runs. On
// PostgreSQL a transaction-scoped advisory lock on the schema and target (taken without
// waiting, like SKIP LOCKED) keeps two instances from starting runs of one
// target at once.
func (s *sqlStore) targetFree(ctx context.Context, tx txI, target string) (bool, error) {
	if s.d.lockTarget != "" {
		r, err := tx.query(ctx, s.d.lockTarget, target)
		if err != nil {
			return false, fmt.Errorf("schedule: lock target: %w", err)
		}
		var ok bool
		if r.Next() {
			err = r.Scan(&ok)
		}
		r.Close()
		if err != nil || !ok {
			return false, err
		}
	}
	r, err := tx.query(ctx, s.q(`SELECT COUNT(*) FROM intake_jobs WHERE target = ? AND running_run <> ''`), target)
	if err != nil {
		return false, err
	}
	defer r.Close()
	var n int64
	if r.Next() {
		if err := r.Scan(&n); err != nil {
			return false, err
		}
	}
	return n == 0, r.Err()
}

func (s *sqlStore) claimDue(ctx context.Context, tx txI, j *Job, now time.Time, missedAfter time.Duration) error {
	dueAt := j.NextRun
	sc, err := j.Schedule()
	var next time.Time
	if err == nil && sc != nil {
		next = sc.Next(now)
	}
	if _, err := tx.exec(ctx, s.q(`UPDATE intake_jobs SET next_run = ? WHERE id = ?`), micros(next), j.ID); err != nil {
		return fmt.Errorf("schedule: move next run: %w", err)
	}
	skip := func(st RunStatus, msg string) error {
		_, err := s.insertRun(ctx, tx, Run{JobID: j.ID, Trigger: TriggerSchedule, Due: dueAt, Queued: now, Started: now, Finished: now, Status: st, Error: msg})
		return err
	}
	if missedAfter > 0 && now.Sub(dueAt) > missedAfter && j.Missed == MissedSkip {
		return skip(StatusSkippedMissed, fmt.Sprintf("due at %s while no scheduler ran (missed-run policy skip)", dueAt.Format(time.RFC3339)))
	}
	var running string
	var queued int64
	rows, err := tx.query(ctx, s.q(`SELECT running_run, (SELECT COUNT(*) FROM intake_runs WHERE job_id = ? AND status = 'queued') FROM intake_jobs WHERE id = ?`), j.ID, j.ID)
	if err != nil {
		return err
	}
	if rows.Next() {
		err = rows.Scan(&running, &queued)
	}
	rows.Close()
	if err != nil {
		return err
	}
	if running != "" || queued > 0 {
		if j.Overlap == OverlapQueue {
			if queued > 0 {
				return nil // one run waits already
			}
		} else {
			return skip(StatusSkippedOverlap, "due while the previous run still ran (overlap policy skip)")
		}
	}
	_, err = s.insertRun(ctx, tx, Run{JobID: j.ID, Trigger: TriggerSchedule, Due: dueAt, Queued: now, Status: StatusQueued})
	return err
}

func (s *sqlStore) Heartbeat(ctx context.Context, r Run, until time.Time) error {
	r.LeaseUntil = until
	n, err := s.updateRun(ctx, s.db, r, ` AND status = 'running' AND instance = ?`, r.Instance)
	if err == nil && n == 0 {
		return ErrLeaseLost
	}
	return err
}

func (s *sqlStore) Finish(ctx context.Context, r Run) error {
	return s.inTx(ctx, func(tx txI) error {
		n, err := s.updateRun(ctx, tx, r, ` AND status = 'running' AND instance = ?`, r.Instance)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrLeaseLost
		}
		if _, err := tx.exec(ctx, s.q(`UPDATE intake_jobs SET running_run = '' WHERE id = ? AND running_run = ?`), r.JobID, r.ID); err != nil {
			return fmt.Errorf("schedule: free job: %w", err)
		}
		// The last fingerprint is the job's own source's: an uploaded
		// file (Input) does not tell whether that source changed.
		if (r.Status == StatusSucceeded || r.Status == StatusPartiallySucceeded) && r.Fingerprint != "" && r.Input == "" {
			_, err = tx.exec(ctx, s.q(`UPDATE intake_jobs SET last_fingerprint = ? WHERE id = ?`), r.Fingerprint, r.JobID)
		}
		return err
	})
}

func (s *sqlStore) Reap(ctx context.Context, now time.Time) ([]Run, error) {
	var out []Run
	err := s.inTx(ctx, func(tx txI) error {
		out = out[:0]
		rs, err := s.runs(ctx, tx, `SELECT data FROM intake_runs WHERE status = 'running' AND lease_until < ? ORDER BY seq LIMIT 100`+s.d.skipLocked, micros(now))
		if err != nil {
			return err
		}
		for _, r := range rs {
			r.Status, r.Finished = StatusFailed, now.UTC()
			r.Error = fmt.Sprintf("instance %q stopped renewing the run's lease (expired %s); the run was abandoned", r.Instance, r.LeaseUntil.Format(time.RFC3339))
			if _, err := s.updateRun(ctx, tx, r, ` AND status = 'running'`); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, s.q(`UPDATE intake_jobs SET running_run = '' WHERE id = ? AND running_run = ?`), r.JobID, r.ID); err != nil {
				return err
			}
			out = append(out, r)
			js, err := s.jobs(ctx, tx, `SELECT `+jobCols+` FROM intake_jobs WHERE id = ?`, r.JobID)
			if err != nil {
				return err
			}
			attempt := max(r.Attempt, 1)
			if len(js) == 1 && attempt <= js[0].RetryAbandoned {
				retry := Run{JobID: r.JobID, Trigger: r.Trigger, Actor: r.Actor, Due: r.Due, Input: r.Input, Queued: now.UTC(), Attempt: attempt + 1}
				if _, err := s.insertRun(ctx, tx, retry); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

func (s *sqlStore) FieldUsers(ctx context.Context, object, field string) ([]Job, error) {
	js, err := s.jobs(ctx, s.db, `SELECT `+jobCols+` FROM intake_jobs`)
	if err != nil {
		return nil, err
	}
	var out []Job
	for i := range js {
		if js[i].Recurring() && usesField(&js[i], object, field) {
			out = append(out, js[i])
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

func (s *sqlStore) Close() error { return s.db.close() }
