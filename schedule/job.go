package schedule

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/intakehq/intake/importer"
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
	// Options holds further host-defined connector settings. How a file
	// is read (delimiter, encoding, header, sheet) is the Spec's Source.
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
	// Spec is the import the job runs: its object type, how its file is
	// read, mapping, record action, identity rules, merge policy, consent,
	// lists, tags and links, as the importer runs them (importer.JobSpec).
	// Create and Update validate it; a Spec without Version is saved as
	// importer.JobSpecVersion.
	Spec importer.JobSpec `json:"spec"`
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
	// SkipUnchanged records a run as skipped_unchanged, and imports
	// nothing, when the source's fingerprint equals the last successful
	// run's. Without it every run imports its file.
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

// InvalidJobError is the error of [JobStore.Create] and [JobStore.Update]
// for a job they refuse: every problem at once, each with its JSON path in
// the job ("$.name", "$.cadence", "$.spec.action", "$.spec.rules[1]").
// errors.As also finds its Problems as an importer.SpecErrors.
type InvalidJobError struct {
	// Name is the job's name ("" when it has none).
	Name string
	// Problems are the problems, the job's own first, then its Spec's.
	Problems importer.SpecErrors
}

// Error lists the problems, one a line.
func (e *InvalidJobError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return fmt.Sprintf("schedule: job %q is invalid:\n  %s", e.Name, strings.Join(lines, "\n  "))
}

// Unwrap returns the problems as an importer.SpecErrors.
func (e *InvalidJobError) Unwrap() error { return e.Problems }

// sourceOptionKeys are the Source.Options that say how a file is read: the
// Spec's Source says it.
var sourceOptionKeys = map[string]string{"delimiter": "delimiter", "encoding": "encoding", "no_header": "header", "sheet": "sheet"}

// withDefaults returns the job with the defaults Create and Update save:
// the Spec's version.
func (j Job) withDefaults() Job {
	if j.Spec.Version == 0 {
		j.Spec.Version = importer.JobSpecVersion
	}
	return j
}

// validate checks the job's settings and its Spec without a store, and
// returns every problem as an *InvalidJobError, or nil.
func (j *Job) validate() error {
	var ps importer.SpecErrors
	add := func(path, format string, args ...any) {
		ps = append(ps, &importer.SpecError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(j.Name) == "" {
		add("$.name", "missing: give the job a name")
	}
	loc, err := time.LoadLocation(j.TimeZone)
	if err != nil {
		add("$.time_zone", "%q is not a time zone: use an IANA name such as Europe/Berlin", j.TimeZone)
		loc = time.UTC
	}
	if j.Cadence != "" {
		if _, err := ParseCadence(j.Cadence, loc); err != nil {
			add("$.cadence", "%s", strings.TrimPrefix(err.Error(), "schedule: "))
		}
	}
	switch j.Overlap {
	case "", OverlapSkip, OverlapQueue:
	default:
		add("$.overlap", "overlap policy %q: use skip or queue", j.Overlap)
	}
	switch j.Missed {
	case "", MissedRunOnce, MissedSkip:
	default:
		add("$.missed", "missed-run policy %q: use run_once or skip", j.Missed)
	}
	if j.RetryAbandoned < 0 {
		add("$.retry_abandoned", "%d: give 0 or more", j.RetryAbandoned)
	}
	for _, k := range sortedKeys(j.Source.Options) {
		if key, ok := sourceOptionKeys[k]; ok {
			add("$.source.options."+k, "how the file is read is the spec's: set $.spec.source.%s", key)
		}
	}
	ps = append(ps, specProblems(j.Spec.Validate())...)
	if len(ps) > 0 {
		return &InvalidJobError{Name: j.Name, Problems: ps}
	}
	return nil
}

// specProblems returns the problems of a spec's validation error with
// their paths inside the job ("$.spec…"); an error that is not a
// SpecErrors becomes one problem at "$.spec".
func specProblems(err error) importer.SpecErrors {
	if err == nil {
		return nil
	}
	var es importer.SpecErrors
	if !errors.As(err, &es) {
		return importer.SpecErrors{{Path: "$.spec", Message: err.Error()}}
	}
	out := make(importer.SpecErrors, len(es))
	for i, e := range es {
		out[i] = &importer.SpecError{Path: "$.spec" + strings.TrimPrefix(e.Path, "$"), Message: e.Message}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
	TriggerUndo     Trigger = "undo" // ImportConfig.Undo: the run reverts another
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

	// Report counts (importer.Report); while running, the live counts so far.
	Rows      int64 `json:"rows"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Skipped   int64 `json:"skipped"`
	OptedOut  int64 `json:"opted_out"`
	Rejected  int64 `json:"rejected"`
	// Warned counts the cells of imported rows that the mapping left
	// empty and reported (importer.Report.Warned), once the run ended.
	Warned int64 `json:"warned,omitempty"`
	// Undoable says whether the run's changes can be undone
	// (importer.Report.Undoable, as the run ended; the retention may drop
	// its log later: ImportConfig.UndoStatus asks the store), UndoReason
	// why not, and UndoneBy names the undo run that reverted it.
	Undoable   bool   `json:"undoable,omitempty"`
	UndoReason string `json:"undo_reason,omitempty"`
	UndoneBy   string `json:"undone_by,omitempty"`
	// Undoes, on an undo run (TriggerUndo), names the run it reverts;
	// Reverted, Restored and Conflicts are its counts
	// (importer.UndoReport), Rows and Unchanged its changes and those
	// it had nothing to revert of.
	Undoes    string `json:"undoes,omitempty"`
	Reverted  int64  `json:"reverted,omitempty"`
	Restored  int64  `json:"restored,omitempty"`
	Conflicts int64  `json:"conflicts,omitempty"`
	// RowsPerSecond is the import's average rate: while running, so far.
	RowsPerSecond float64 `json:"rows_per_second,omitempty"`
	// BytesRead and BytesTotal are the live source progress (-1: unknown).
	BytesRead  int64 `json:"bytes_read,omitempty"`
	BytesTotal int64 `json:"bytes_total,omitempty"`

	// Error is the error summary of a failed or canceled run.
	Error string `json:"error,omitempty"`
	// Fingerprint identifies the source content read (connector fingerprint).
	Fingerprint string `json:"fingerprint,omitempty"`
	// PreviousFingerprint is the Fingerprint of the job's last successful
	// run (succeeded or partially succeeded) that read the job's own source
	// (an upload run's Input does not count). Claim sets it, for the Runner
	// to skip an unchanged source.
	PreviousFingerprint string `json:"previous_fingerprint,omitempty"`
	// SourceRef and RejectsRef say where the archived source file and the
	// rejected-rows file are kept (references in the runner's archive, or
	// host-defined); ImportConfig.OpenSource and OpenRejects open those of
	// the standard runner.
	SourceRef  string `json:"source_ref,omitempty"`
	RejectsRef string `json:"rejects_ref,omitempty"`
	// Input is the file of an upload run (TriggerUpload): the run imports
	// it instead of the job's own source. Queued runs of one job, and of
	// the jobs of one Target, run one after another, in the order they
	// were queued, each with its own report.
	Input string `json:"input,omitempty"`

	// Attempt is 1 for a first run, 2 and more for the retries of a run
	// abandoned by a dead instance (Job.RetryAbandoned); 0 means 1.
	Attempt int `json:"attempt,omitempty"`
	// Instance holds the run's lease until LeaseUntil.
	Instance   string    `json:"instance,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}
