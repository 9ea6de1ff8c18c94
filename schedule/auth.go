package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
)

// Permission names an operation an [Authorizer] allows or denies.
type Permission string

// The permissions checked by [Guard], the scheduler and the [Handler].
const (
	PermCreateJob     Permission = "create_job"
	PermUpdateJob     Permission = "update_job" // update, enable, disable
	PermDeleteJob     Permission = "delete_job"
	PermRunJob        Permission = "run_job"        // run now, API trigger, upload
	PermViewRuns      Permission = "view_runs"      // run status and history
	PermDeleteRecords Permission = "delete_records" // save or run a job whose action deletes or opts out records
)

// Authorizer decides whether actor may do perm on the job (jobID is "" for
// a job not yet created, and for a run that does not exist). It returns nil
// to allow, an error to deny; the host supplies it. Wrap ErrDenied to have
// the handler answer 403.
//
// A request is authorized before the job it names is looked up, so jobID
// may name no job: an Authorizer must not tell such ids apart, or a caller
// could learn which ids exist. Its error is the Go caller's and the host's
// to read; the HTTP handlers answer a denial with the actor and the
// permission only.
type Authorizer func(ctx context.Context, actor string, perm Permission, jobID string) error

// ErrDenied is the error of a denied operation.
var ErrDenied = errors.New("schedule: permission denied")

// denyAll is the default: nothing is allowed until the host says so.
func denyAll(_ context.Context, actor string, perm Permission, _ string) error {
	return fmt.Errorf("%w: no Authorizer configured (deny by default); %s may not %s", ErrDenied, actor, perm)
}

// destructive reports whether the job's record action opts out,
// inactivates, deletes or anonymizes records: its action opt_out, or its
// on_match one of those.
func destructive(j *Job) bool {
	if j.Spec.Action == intake.ActionOptOut {
		return true
	}
	switch j.Spec.OnMatch {
	case identity.MatchOptOut, identity.MatchInactivate, identity.MatchDelete, identity.MatchAnonymize:
		return true
	}
	return false
}

// Guarded is a JobStore's job operations behind an Authorizer; every call
// names its actor. Get it with [Guard].
type Guarded struct {
	Store     JobStore
	Authorize Authorizer
}

// Guard returns the job operations of store checked by auth; a nil auth
// denies everything.
func Guard(store JobStore, auth Authorizer) *Guarded {
	if auth == nil {
		auth = denyAll
	}
	return &Guarded{Store: store, Authorize: auth}
}

func (g *Guarded) check(ctx context.Context, actor string, perm Permission, j *Job, id string) error {
	if err := g.authorize(ctx, actor, perm, id); err != nil {
		return err
	}
	if j != nil && destructive(j) {
		return g.authorize(ctx, actor, PermDeleteRecords, id)
	}
	return nil
}

// authorize calls Authorize; its errors are a *deniedError, which matches
// ErrDenied.
func (g *Guarded) authorize(ctx context.Context, actor string, perm Permission, id string) error {
	err := g.Authorize(ctx, actor, perm, id)
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrDenied) {
		err = fmt.Errorf("%w: %w", ErrDenied, err)
	}
	return &deniedError{actor: actor, perm: perm, err: err}
}

// deniedError is a denied operation: its Error is the Authorizer's reason
// (for Go callers and logs), its public message names only the actor and
// the permission, so that an HTTP answer is the same whichever job or run
// the request named.
type deniedError struct {
	actor string
	perm  Permission
	err   error // wraps ErrDenied
}

func (e *deniedError) Error() string { return e.err.Error() }
func (e *deniedError) Unwrap() error { return e.err }

func (e *deniedError) public() string {
	return fmt.Sprintf("%v: %s may not %s", ErrDenied, e.actor, e.perm)
}

// PublicMessage is the message of err that an HTTP caller may read: a
// denial names only the actor and the permission (not the Authorizer's
// reason, nor whether the job or run exists); other errors are their own
// message.
func PublicMessage(err error) string {
	var d *deniedError
	if errors.As(err, &d) {
		return d.public()
	}
	return err.Error()
}

// GetRun checks view_runs for the run's job and returns run id. A run that
// does not exist is authorized as one of no job (job id ""), so that an
// actor who may not view runs gets the same denial for a missing id as for
// an existing one; an actor who may gets an error wrapping [ErrNotFound].
func (g *Guarded) GetRun(ctx context.Context, actor, id string) (Run, error) {
	run, err := g.Store.GetRun(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Run{}, err
	}
	if aerr := g.authorize(ctx, actor, PermViewRuns, run.JobID); aerr != nil {
		return Run{}, aerr
	}
	if err != nil {
		return Run{}, err
	}
	return run, nil
}

// Create checks create_job (and delete_records for a job that opts out,
// inactivates, deletes or anonymizes records) and creates the job.
func (g *Guarded) Create(ctx context.Context, actor string, job Job) (Job, error) {
	if err := g.check(ctx, actor, PermCreateJob, &job, ""); err != nil {
		return Job{}, err
	}
	return g.Store.Create(ctx, job)
}

// Update checks update_job (and delete_records) and updates the job.
func (g *Guarded) Update(ctx context.Context, actor string, job Job) (Job, error) {
	if err := g.check(ctx, actor, PermUpdateJob, &job, job.ID); err != nil {
		return Job{}, err
	}
	return g.Store.Update(ctx, job)
}

// SetEnabled checks update_job and enables or disables the job.
func (g *Guarded) SetEnabled(ctx context.Context, actor, id string, enabled bool) error {
	if err := g.check(ctx, actor, PermUpdateJob, nil, id); err != nil {
		return err
	}
	return g.Store.SetEnabled(ctx, id, enabled)
}

// Delete checks delete_job and deletes the job with its history.
func (g *Guarded) Delete(ctx context.Context, actor, id string) error {
	if err := g.check(ctx, actor, PermDeleteJob, nil, id); err != nil {
		return err
	}
	return g.Store.Delete(ctx, id)
}

// Duplicate checks create_job and duplicates the job.
func (g *Guarded) Duplicate(ctx context.Context, actor, id, name string) (Job, error) {
	if err := g.check(ctx, actor, PermCreateJob, nil, id); err != nil {
		return Job{}, err
	}
	return g.Store.Duplicate(ctx, id, name)
}

// Enqueue checks run_job, then looks the job up (a caller without run_job
// gets the same denial for an id that names no job), checks delete_records
// for a job whose action deletes or opts out records, and queues the run on
// the scheduler.
func (g *Guarded) Enqueue(ctx context.Context, s *Scheduler, actor string, run Run) (Run, error) {
	if err := g.authorize(ctx, actor, PermRunJob, run.JobID); err != nil {
		return Run{}, err
	}
	job, err := g.Store.Get(ctx, run.JobID)
	if err != nil {
		return Run{}, err
	}
	if destructive(&job) {
		if err := g.authorize(ctx, actor, PermDeleteRecords, job.ID); err != nil {
			return Run{}, err
		}
	}
	run.Actor = actor
	return s.Enqueue(ctx, run)
}

// RecordRun checks run_job and records a run of job run.JobID that ended
// before it could start — a failed run whose Error says why, as for a
// request whose job cannot run as asked (an Acoustic ImportList whose map
// does not load) — so that the run history and the caller's status poll
// show it. run.Status must be final (Final); the scheduler never starts
// such a run. Queued and Finished default to the current time.
func (g *Guarded) RecordRun(ctx context.Context, actor string, run Run) (Run, error) {
	if err := g.authorize(ctx, actor, PermRunJob, run.JobID); err != nil {
		return Run{}, err
	}
	if !run.Status.Final() {
		return Run{}, fmt.Errorf("schedule: RecordRun records a run that ended, and the status is %q: use Enqueue to queue one", run.Status)
	}
	now := time.Now().UTC()
	if run.Queued.IsZero() {
		run.Queued = now
	}
	if run.Finished.IsZero() {
		run.Finished = run.Queued
	}
	run.ID, run.Actor = "", actor
	return g.Store.CreateRun(ctx, run)
}
