package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/intakehq/intake"
)

// SourceSpec says where a job reads from, as data: a connector scheme with a
// path and a format, or a SQL query. The host's [Runner] turns it into a
// connector.Source.
type SourceSpec struct {
	// Connector is the connector scheme, e.g. "file", "sftp", "http", "sql".
	Connector string `json:"connector,omitempty"`
	// Path is the file path or URL inside the connector.
	Path string `json:"path,omitempty"`
	// Format is csv, tsv, pipe, xlsx, … ("" = detect).
	Format string `json:"format,omitempty"`
	// Query is the SQL query of a SQL source.
	Query string `json:"query,omitempty"`
	// Options holds further connector settings (sheet, encoding, delimiter).
	Options map[string]string `json:"options,omitempty"`
}

// OverlapPolicy says what happens when a job is due while its previous run
// still runs.
type OverlapPolicy string

// The overlap policies.
const (
	OverlapSkip  OverlapPolicy = "skip"  // the due run is skipped and recorded as skipped_overlap (default)
	OverlapQueue OverlapPolicy = "queue" // the due run waits and starts when the previous one ends (at most one waits)
)

// MissedPolicy says what happens to runs that fell due while no scheduler ran.
type MissedPolicy string

// The missed-run policies.
const (
	MissedRunOnce MissedPolicy = "run_once" // however many were missed, one run starts at once (default)
	MissedSkip    MissedPolicy = "skip"     // missed runs are recorded as skipped_missed; the job waits for its next time
)

// Job is a saved import job.
type Job struct {
	// ID is assigned by the store on Create (a UUIDv7).
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Source is where the job reads from.
	Source SourceSpec `json:"source"`
	// Target names the store the job writes into ("" = none). Runs of jobs
	// with the same Target run one after another, across jobs and
	// instances: several files uploaded for one store are imported in turn.
	Target string `json:"target,omitempty"`
	// Object is the object type imported into ("" = contact).
	Object string `json:"object,omitempty"`
	// Mapping is the mapping spec (DESIGN.md 3.3) as JSON; nil = auto.
	Mapping json.RawMessage `json:"mapping,omitempty"`
	// Action is the record action ("" = add_and_update).
	Action intake.Action `json:"action,omitempty"`
	// Sync lists the sync fields ("" = email).
	Sync []string `json:"sync,omitempty"`
	// Cadence is a recurring schedule for [ParseCadence]; "" = not recurring.
	Cadence string `json:"cadence,omitempty"`
	// TimeZone is the IANA zone the cadence is evaluated in ("" = UTC).
	TimeZone string `json:"time_zone,omitempty"`
	// RunOnceAt, when set, runs the job once at that instant.
	RunOnceAt time.Time `json:"run_once_at,omitzero"`
	// Enabled jobs run on their schedule; disabled ones only when triggered.
	Enabled bool `json:"enabled"`
	// RunOnSave queues a run when the job is created.
	RunOnSave bool `json:"run_on_save,omitempty"`
	// AllowNewRecords lets the job create records (false: update only).
	AllowNewRecords bool `json:"allow_new_records,omitempty"`
	// SkipUnchanged records a run as skipped_unchanged when the source's
	// fingerprint equals the last successful run's.
	SkipUnchanged bool `json:"skip_unchanged,omitempty"`
	// Overlap is the overlap policy ("" = skip).
	Overlap OverlapPolicy `json:"overlap,omitempty"`
	// Missed is the missed-run policy ("" = run_once).
	Missed MissedPolicy `json:"missed,omitempty"`
	// RetryAbandoned is how many times a run abandoned by a dead instance
	// (its lease expired) is queued again; 0 marks it failed only.
	RetryAbandoned int `json:"retry_abandoned,omitempty"`
	// Options holds further host-defined settings.
	Options map[string]string `json:"options,omitempty"`

	// NextRun is the next scheduled run (zero: none); kept by the store.
	NextRun time.Time `json:"next_run,omitzero"`
	// Created and Updated are kept by the store.
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// Recurring reports whether the job has a cadence.
func (j *Job) Recurring() bool { return j.Cadence != "" }

// Schedule returns the job's schedule: its cadence in its zone and its
// run-once time, whichever comes first. It is nil when the job has neither.
func (j *Job) Schedule() (Schedule, error) {
	var parts []Schedule
	if j.Cadence != "" {
		loc, err := time.LoadLocation(j.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("schedule: job %q: time zone %q: %w (use an IANA name such as Europe/Berlin)", j.Name, j.TimeZone, err)
		}
		sc, err := ParseCadence(j.Cadence, loc)
		if err != nil {
			return nil, fmt.Errorf("job %q: %w", j.Name, err)
		}
		parts = append(parts, sc)
	}
	if !j.RunOnceAt.IsZero() {
		parts = append(parts, onceAt(j.RunOnceAt))
	}
	switch len(parts) {
	case 0:
		return nil, nil
	case 1:
		return parts[0], nil
	}
	return earliest(parts), nil
}

type onceAt time.Time

func (o onceAt) Next(after time.Time) time.Time {
	if time.Time(o).After(after) {
		return time.Time(o)
	}
	return time.Time{}
}

type earliest []Schedule

func (e earliest) Next(after time.Time) time.Time {
	var best time.Time
	for _, s := range e {
		if n := s.Next(after); !n.IsZero() && (best.IsZero() || n.Before(best)) {
			best = n
		}
	}
	return best
}

func (j *Job) validate() error {
	var errs []error
	if j.Name == "" {
		errs = append(errs, errors.New("schedule: job has no Name"))
	}
	if _, err := j.Schedule(); err != nil {
		errs = append(errs, err)
	}
	switch j.Overlap {
	case "", OverlapSkip, OverlapQueue:
	default:
		errs = append(errs, fmt.Errorf("schedule: job %q: overlap policy %q: use skip or queue", j.Name, j.Overlap))
	}
	switch j.Missed {
	case "", MissedRunOnce, MissedSkip:
	default:
		errs = append(errs, fmt.Errorf("schedule: job %q: missed-run policy %q: use run_once or skip", j.Name, j.Missed))
	}
	if len(j.Mapping) > 0 && !json.Valid(j.Mapping) {
		errs = append(errs, fmt.Errorf("schedule: job %q: mapping is not valid JSON", j.Name))
	}
	return errors.Join(errs...)
}

// Trigger says what started a run.
type Trigger string

// The triggers.
const (
	TriggerSchedule Trigger = "schedule"
	TriggerManual   Trigger = "manual"
	TriggerAPI      Trigger = "api"
	TriggerUpload   Trigger = "upload"
	TriggerSave     Trigger = "save" // Job.RunOnSave
)

// RunStatus is the state of a run.
type RunStatus string

// The run statuses. Queued and running are not final.
const (
	StatusQueued             RunStatus = "queued"
	StatusRunning            RunStatus = "running"
	StatusSucceeded          RunStatus = "succeeded"
	StatusPartiallySucceeded RunStatus = "partially_succeeded" // completed with rejected rows
	StatusFailed             RunStatus = "failed"
	StatusCanceled           RunStatus = "canceled"
	StatusSkippedUnchanged   RunStatus = "skipped_unchanged" // the source's fingerprint equals the last successful run's
	StatusSkippedOverlap     RunStatus = "skipped_overlap"   // due while the previous run still ran (OverlapSkip)
	StatusSkippedMissed      RunStatus = "skipped_missed"    // fell due while no scheduler ran (MissedSkip)
)

// Final reports whether the status is final.
func (s RunStatus) Final() bool { return s != StatusQueued && s != StatusRunning }

// Run is one execution of a job, and its record in the history.
type Run struct {
	ID      string  `json:"id"`
	JobID   string  `json:"job_id"`
	Trigger Trigger `json:"trigger"`
	// Actor is who triggered a manual, API or upload run.
	Actor string `json:"actor,omitempty"`
	// Due is the scheduled time the run was claimed for (schedule trigger).
	Due time.Time `json:"due,omitzero"`
	// Queued, Started and Finished: when the run was recorded, began, ended.
	Queued   time.Time `json:"queued,omitzero"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Status   RunStatus `json:"status"`

	// Report counts (DESIGN.md 3.2); while running, the live counts so far.
	Rows      int64 `json:"rows"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Skipped   int64 `json:"skipped"`
	OptedOut  int64 `json:"opted_out"`
	Rejected  int64 `json:"rejected"`
	// RowsPerSecond is the import's average rate: while running, so far.
	RowsPerSecond float64 `json:"rows_per_second,omitempty"`
	// BytesRead and BytesTotal are the live source progress (-1: unknown).
	BytesRead  int64 `json:"bytes_read,omitempty"`
	BytesTotal int64 `json:"bytes_total,omitempty"`

	// Error is the error summary of a failed or canceled run.
	Error string `json:"error,omitempty"`
	// Fingerprint identifies the source content read (connector fingerprint).
	Fingerprint string `json:"fingerprint,omitempty"`
	// PreviousFingerprint is the last successful run's fingerprint, given to
	// the Runner so it can skip an unchanged source.
	PreviousFingerprint string `json:"previous_fingerprint,omitempty"`
	// SourceRef and RejectsRef say where the archived source file and the
	// rejected-rows file are kept (host-defined references).
	SourceRef  string `json:"source_ref,omitempty"`
	RejectsRef string `json:"rejects_ref,omitempty"`
	// Input is the file of an upload run (TriggerUpload). Queued runs of
	// one job run one after another, in the order they were queued.
	Input string `json:"input,omitempty"`

	// Attempt is 1 for a first run, 2 and more for the retries of a run
	// abandoned by a dead instance (Job.RetryAbandoned); 0 means 1.
	Attempt int `json:"attempt,omitempty"`
	// Instance holds the run's lease until LeaseUntil.
	Instance   string    `json:"instance,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}
