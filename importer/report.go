package importer

import (
	"encoding/json"
	"time"

	"github.com/intakehq/intake"
)

// Status is how a run ended.
type Status string

// The run statuses.
const (
	StatusSucceeded Status = "succeeded" // every row was read and accounted for (rejected rows included)
	StatusFailed    Status = "failed"    // the run stopped on an error; see Report.Error
	StatusCanceled  Status = "canceled"  // the context was canceled; committed batches stay
)

// Report is the result of a run. Its JSON form is the run report of the CLI's
// -json flag.
//
// Invariant: Rows = Created + Updated + Unchanged + Skipped + OptedOut +
// Rejected. Rows counts the rows whose outcome is final: on a failed or
// canceled run, the rows of the batch that was not committed are not counted
// (Rows is then how many rows were committed).
type Report struct {
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
	// ResumedAfterLine is the source line after which this run resumed an
	// earlier attempt with the same Job.RunID (0: it started at the top).
	// The counts are this attempt's: rows up to that line were counted by
	// the earlier attempt.
	ResumedAfterLine int       `json:"resumed_after_line,omitempty"`
	Started          time.Time `json:"started"`
	Finished         time.Time `json:"finished"`

	Rows      int64 `json:"rows"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Skipped   int64 `json:"skipped"`
	OptedOut  int64 `json:"opted_out"`
	Rejected  int64 `json:"rejected"`

	// Records is the number of stored records that updates and opt-outs
	// touched: more than Updated + Unchanged + OptedOut when a key matched
	// several records (every match is updated).
	Records int64 `json:"records_touched"`
	// Reasons counts skipped and rejected rows by code (exists, no_match,
	// duplicate, missing_key, invalid_email, …).
	Reasons map[string]int64 `json:"reasons,omitempty"`
	// Errors lists the first rejected rows (Config.MaxReportErrors of them);
	// Rejected is the exact count.
	Errors []*intake.RowError `json:"errors"`
	// ErrorsTruncated is true when Errors does not list every rejected row.
	ErrorsTruncated bool `json:"errors_truncated,omitempty"`

	// Source describes what was read: its name, header, the mapping used.
	Source SourceInfo `json:"source"`
}

// SourceInfo describes the input of a run.
type SourceInfo struct {
	Name   string   `json:"name,omitempty"`
	Header []string `json:"header,omitempty"`
	// Mapping lists "column → field" for every mapped column.
	Mapping []string `json:"mapping,omitempty"`
	Bytes   int64    `json:"bytes,omitempty"`
}

// Duration returns Finished - Started.
func (r *Report) Duration() time.Duration { return r.Finished.Sub(r.Started) }

// Total returns the sum of the outcome counts; it equals Rows.
func (r *Report) Total() int64 {
	return r.Created + r.Updated + r.Unchanged + r.Skipped + r.OptedOut + r.Rejected
}

// Count returns the count of an outcome.
func (r *Report) Count(o intake.Outcome) int64 {
	switch o {
	case intake.OutcomeCreated:
		return r.Created
	case intake.OutcomeUpdated:
		return r.Updated
	case intake.OutcomeUnchanged:
		return r.Unchanged
	case intake.OutcomeSkipped:
		return r.Skipped
	case intake.OutcomeOptedOut:
		return r.OptedOut
	case intake.OutcomeRejected:
		return r.Rejected
	}
	return 0
}

// MarshalJSON writes the report with its duration in milliseconds.
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	errs := r.Errors
	if errs == nil {
		errs = []*intake.RowError{}
	}
	p := plain(*r)
	p.Errors = errs
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}{p, r.Duration().Milliseconds()})
}

// tally accumulates the outcomes of one batch before it is committed.
type tally struct {
	counts  [intake.NumOutcomes]int64
	records int64
	reasons map[string]int64
	errs    []*intake.RowError
	rows    []intake.Row // the rejected rows, for the rejects file, parallel to errs
}

func (t *tally) reset() {
	t.counts = [intake.NumOutcomes]int64{}
	t.records = 0
	clear(t.reasons)
	clear(t.errs)
	t.errs = t.errs[:0]
	clear(t.rows)
	t.rows = t.rows[:0]
}

func (t *tally) reason(code string) {
	if t.reasons == nil {
		t.reasons = make(map[string]int64)
	}
	t.reasons[code]++
}

func (r *Report) add(t *tally, maxErrors int) {
	r.Created += t.counts[intake.OutcomeCreated]
	r.Updated += t.counts[intake.OutcomeUpdated]
	r.Unchanged += t.counts[intake.OutcomeUnchanged]
	r.Skipped += t.counts[intake.OutcomeSkipped]
	r.OptedOut += t.counts[intake.OutcomeOptedOut]
	r.Rejected += t.counts[intake.OutcomeRejected]
	for _, n := range t.counts {
		r.Rows += n
	}
	r.Records += t.records
	for code, n := range t.reasons {
		if r.Reasons == nil {
			r.Reasons = make(map[string]int64)
		}
		r.Reasons[code] += n
	}
	for _, e := range t.errs {
		if len(r.Errors) < maxErrors {
			r.Errors = append(r.Errors, e)
		} else {
			r.ErrorsTruncated = true
		}
	}
}
