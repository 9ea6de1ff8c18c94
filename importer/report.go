package importer

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
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
// Rejected + Inactivated + Deleted + Anonymized. Rows counts the rows whose outcome is final: on a failed or
// canceled run, the rows of the batch that was not committed are not counted
// (Rows is then how many rows were committed).
type Report struct {
	// RunID identifies the run: Job.RunID, or a new UUIDv7 when the job
	// gives none. The audit entries the run writes carry it.
	RunID  string `json:"run_id"`
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
	// ResumedAfterLine is the source line after which this run resumed an
	// earlier attempt with the same Job.RunID (0: it started at the top).
	// The counts are this attempt's: rows up to that line were counted by
	// the earlier attempt.
	ResumedAfterLine int `json:"resumed_after_line,omitempty"`
	// Undoable says whether Importer.Undo can revert the run (until the
	// retention drops its log); UndoReason says why not.
	Undoable   bool      `json:"undoable"`
	UndoReason string    `json:"undo_reason,omitempty"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`

	// Counts are the rows and their outcomes, which add up to them; in
	// JSON they are members of the report itself.
	Counts

	// Records is the number of stored records that updates, opt-outs and
	// lifecycle actions touched: more than the rows when a key matched
	// several records (every match is updated).
	Records int64 `json:"records_touched"`
	// ConsentKept counts the channels of rows that would have turned an
	// opted-out contact back to opted in, and did not (see
	// identity.Channel.AllowResubscribe).
	ConsentKept int64 `json:"consent_kept,omitempty"`
	// Concurrent counts the rows that would have created a record whose key
	// another writer (another import, another process) created after this
	// run looked the key up: the sink held the create (sink.KeyGuard) and
	// the row got the job's action on that record instead — updated with
	// add_and_update, skipped as exists with add_only, rejected as
	// duplicate with create. Each is also counted by its outcome.
	Concurrent int64 `json:"concurrent_creates,omitempty"`
	// Explain explains the decision on each of the first Job.Explain rows.
	Explain []*Explanation `json:"explain,omitempty"`
	// Reasons counts skipped and rejected rows by code (exists, no_match,
	// duplicate, missing_key, invalid_email, …).
	Reasons map[intake.Code]int64 `json:"reasons,omitempty"`
	// Links counts, per link, how the rows' references resolved: "profile"
	// for Job.Profile, the reference field's name for each of Job.Links.
	Links map[string]*LinkCounts `json:"links,omitempty"`
	// Objects counts, per object type, what the run did to the targets of
	// its links (Job.Links, Job.Profile): the accounts of a multi-object
	// import, the lists of a Many link, the minimal profiles of an
	// activity import. Created counts target records, one per target the
	// run created however many rows name it; Updated and Unchanged count
	// references, one per later reference of a row to a target, by
	// whether the row's carried values changed it (Link.Update). An
	// account that the first of 50 rows creates counts 1 created, and the
	// 49 later references to it 49 unchanged (or updated, those whose
	// values change it). Only the references of rows whose own records the
	// run creates or updates count (see Link). The rows' own records are
	// counted by the top-level counts only, even when a link targets the
	// same object type.
	//
	// For each object type, Created + Updated + Unchanged is the sum of
	// Found, Created the sum of Created and Updated the sum of Updated
	// over the links to it in Links. Like the other counts, Objects counts
	// what was committed, and a dry run counts what a real run would.
	Objects map[string]*ObjectCounts `json:"objects,omitempty"`
	// Errors lists the first rejected rows (Config.MaxReportErrors of them);
	// Rejected is the exact count.
	Errors []*intake.RowError `json:"errors"`
	// ErrorsTruncated is true when Errors does not list every rejected row.
	ErrorsTruncated bool `json:"errors_truncated,omitempty"`
	// Warned is the exact number of cells that mapping left empty because
	// their column says "invalid": "empty" (mapping.InvalidEmpty) and the
	// field's type could not parse them, or their transforms failed, in
	// the rows the run did not reject: a rejected row is not imported,
	// and its error is in Errors. Such a row is counted by its outcome
	// (created, updated, skipped, …) like any other. A dry run counts
	// what a real run would.
	Warned int64 `json:"warned,omitempty"`
	// Warnings lists the first of those cells in file order
	// (Config.MaxReportErrors of them), each the *intake.RowError that
	// would have rejected its row: file, line, column, field, code and
	// message.
	Warnings []*intake.RowError `json:"warnings,omitempty"`
	// WarningsTruncated is true when Warnings does not list every cell
	// that Warned counts.
	WarningsTruncated bool `json:"warnings_truncated,omitempty"`

	// Source describes what was read: its name, format, encoding and
	// delimiter (with the reason of each choice that was not the
	// default), header, the mapping used.
	Source SourceInfo `json:"source"`
}

// ObjectCounts counts what a run did to the records of one object type
// that its rows link to (Report.Objects): each reference that resolved to
// a target counts once, as the one that created it (a record), or as one
// that updated it or left it unchanged.
type ObjectCounts struct {
	// Created counts the targets the run created: records, one per new
	// target however many rows name it. The reference that created a
	// target counts here only.
	Created int64 `json:"created"`
	// Updated counts the references whose carried values changed the
	// target they found (Link.Update): a target that three rows change
	// counts three.
	Updated int64 `json:"updated"`
	// Unchanged counts the references that found their target and
	// changed nothing in it.
	Unchanged int64 `json:"unchanged"`
}

// Explanation is the decision on one row, for a person checking a job
// before running it (Job.Explain, usually with Job.DryRun).
type Explanation struct {
	// Line is the row's source line.
	Line int `json:"line"`
	// Decision is create, update, unchanged, skip, reject, opt_out,
	// inactivate, delete or anonymize.
	Decision string `json:"decision"`
	// Code and Message say why a row is skipped or rejected.
	Code    intake.Code `json:"code,omitempty"`
	Message string      `json:"message,omitempty"`
	// Rule is the identity rule that matched (or gave the key of a new
	// record), Key the row's normalized key by it.
	Rule string `json:"rule,omitempty"`
	Key  string `json:"key,omitempty"`
	// Records are the stored records the row matched; Record the id of a
	// record it creates (empty in a dry run).
	Records []string `json:"records,omitempty"`
	Record  string   `json:"record,omitempty"`
	// Changes are the fields that would change, old → new.
	Changes []Change `json:"changes,omitempty"`
	// Note adds what the other fields cannot say.
	Note string `json:"note,omitempty"`
}

// Change is one field that a row changes on one record.
type Change struct {
	Record string `json:"record,omitempty"`
	Field  string `json:"field"`
	Old    string `json:"old"`
	New    string `json:"new"`
}

// SourceInfo describes the input of a run.
//
// Format, Encoding and Delimiter and their reasons come from a source that
// implements connector.Describer (every source of package connector does);
// for another source they stay empty. A reason is empty when the choice is
// the default reached without doubt (UTF-8 for a file with no byte that is
// not UTF-8 in its sample, a comma found in the first row): the report
// says why whenever an input was read otherwise, e.g.
//
//	"encoding": "windows-1252",
//	"encoding_reason": "212 bytes that are not UTF-8 in the first 64 KiB and no UTF-8 character: read as Windows-1252",
//	"delimiter": "semicolon",
//	"delimiter_reason": "4 in the first row, and as many in 980 of the 1000 rows read"
type SourceInfo struct {
	Name string `json:"name,omitempty"`
	// Format is "csv", "paste", "xlsx", "sql" or a custom source's own.
	Format string `json:"format,omitempty"`
	// Encoding is the character encoding of a text input ("utf-8",
	// "utf-16le", "utf-16be", "iso-8859-1", "windows-1252");
	// EncodingReason says why it was chosen ("set explicitly" when the
	// job's configuration chose it).
	Encoding       string `json:"encoding,omitempty"`
	EncodingReason string `json:"encoding_reason,omitempty"`
	// Delimiter is the delimiter of delimiter-separated text ("comma",
	// "semicolon", "tab", "pipe"); DelimiterReason says why it was chosen.
	Delimiter       string   `json:"delimiter,omitempty"`
	DelimiterReason string   `json:"delimiter_reason,omitempty"`
	Header          []string `json:"header,omitempty"`
	// Mapping lists "column → field" for every mapped column.
	Mapping []string `json:"mapping,omitempty"`
	// Ignored lists the columns that no field takes, whose cells the run
	// does not import, in the file's order: by header name, or "#N" (the
	// 1-based position) for a blank name or a file without a header
	// (whose columns are counted in the first rows).
	Ignored []string `json:"ignored,omitempty"`
	// Skipped lists the columns of Ignored that the job's mapping spec
	// names without a field ("skip": true): skipped on purpose. The others
	// were left out by the spec, or found no field in a suggested mapping
	// (which skips every column it finds no field for).
	Skipped []string `json:"skipped,omitempty"`
	Bytes   int64    `json:"bytes,omitempty"`
}

// finish sets the end of the run: its time, and its status and error by
// err, the error Run returns.
func (r *Report) finish(err error) {
	r.Finished = time.Now()
	r.Status, r.Error = statusOf(err)
}

// statusOf is the status of a run (or an undo) that ended with err, and
// its error text.
func statusOf(err error) (Status, string) {
	switch {
	case err == nil:
		return StatusSucceeded, ""
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return StatusCanceled, err.Error()
	}
	return StatusFailed, err.Error()
}

// Duration returns Finished - Started.
func (r *Report) Duration() time.Duration { return r.Finished.Sub(r.Started) }

// Total returns the sum of the outcome counts; it equals Rows.
func (r *Report) Total() int64 {
	return r.Created + r.Updated + r.Unchanged + r.Skipped + r.OptedOut + r.Rejected + r.Inactivated + r.Deleted + r.Anonymized
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
	case intake.OutcomeInactivated:
		return r.Inactivated
	case intake.OutcomeDeleted:
		return r.Deleted
	case intake.OutcomeAnonymized:
		return r.Anonymized
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
	counts      [intake.NumOutcomes]int64
	records     int64
	consentKept int64
	raced       int64
	reasons     map[intake.Code]int64
	links       map[string]*LinkCounts
	objects     map[string]*ObjectCounts
	errs        []*intake.RowError
	rows        []intake.Row       // the rejected rows, for the rejects file, parallel to errs
	warns       []*intake.RowError // the cells left empty of the rows counted and not rejected
}

func (t *tally) reset() {
	t.counts = [intake.NumOutcomes]int64{}
	t.records, t.consentKept, t.raced = 0, 0, 0
	clear(t.reasons)
	for _, c := range t.links {
		*c = LinkCounts{}
	}
	for _, c := range t.objects {
		*c = ObjectCounts{}
	}
	clear(t.errs)
	t.errs = t.errs[:0]
	clear(t.rows)
	t.rows = t.rows[:0]
	clear(t.warns)
	t.warns = t.warns[:0]
}

func (t *tally) reason(code intake.Code) {
	if t.reasons == nil {
		t.reasons = make(map[intake.Code]int64)
	}
	t.reasons[code]++
}

// link returns the counts of the named link.
func (t *tally) link(name string) *LinkCounts {
	c := t.links[name]
	if c == nil {
		if t.links == nil {
			t.links = make(map[string]*LinkCounts)
		}
		c = &LinkCounts{}
		t.links[name] = c
	}
	return c
}

// object returns the counts of the targets of the named object type.
func (t *tally) object(name string) *ObjectCounts {
	c := t.objects[name]
	if c == nil {
		if t.objects == nil {
			t.objects = make(map[string]*ObjectCounts)
		}
		c = &ObjectCounts{}
		t.objects[name] = c
	}
	return c
}

func (r *Report) add(t *tally, maxErrors int) {
	for name, c := range t.links {
		if r.Links == nil {
			r.Links = make(map[string]*LinkCounts)
		}
		rc := r.Links[name]
		if rc == nil {
			rc = &LinkCounts{}
			r.Links[name] = rc
		}
		rc.Found += c.Found
		rc.Created += c.Created
		rc.Updated += c.Updated
		rc.Empty += c.Empty
		rc.Skipped += c.Skipped
		rc.Rejected += c.Rejected
	}
	for name, c := range t.objects {
		if *c == (ObjectCounts{}) {
			continue // a type counted by an earlier batch only
		}
		if r.Objects == nil {
			r.Objects = make(map[string]*ObjectCounts)
		}
		rc := r.Objects[name]
		if rc == nil {
			rc = &ObjectCounts{}
			r.Objects[name] = rc
		}
		rc.Created += c.Created
		rc.Updated += c.Updated
		rc.Unchanged += c.Unchanged
	}
	r.Created += t.counts[intake.OutcomeCreated]
	r.Updated += t.counts[intake.OutcomeUpdated]
	r.Unchanged += t.counts[intake.OutcomeUnchanged]
	r.Skipped += t.counts[intake.OutcomeSkipped]
	r.OptedOut += t.counts[intake.OutcomeOptedOut]
	r.Rejected += t.counts[intake.OutcomeRejected]
	r.Inactivated += t.counts[intake.OutcomeInactivated]
	r.Deleted += t.counts[intake.OutcomeDeleted]
	r.Anonymized += t.counts[intake.OutcomeAnonymized]
	r.ConsentKept += t.consentKept
	r.Concurrent += t.raced
	for _, n := range t.counts {
		r.Rows += n
	}
	r.Records += t.records
	for code, n := range t.reasons {
		if r.Reasons == nil {
			r.Reasons = make(map[intake.Code]int64)
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
	r.Warned += int64(len(t.warns))
	for _, w := range t.warns {
		if len(r.Warnings) < maxErrors {
			r.Warnings = append(r.Warnings, w)
		} else {
			r.WarningsTruncated = true
		}
	}
}

// describe copies what the source says of its dialect.
func (s *SourceInfo) describe(d connector.Dialect) {
	s.Format = d.Format
	s.Encoding, s.EncodingReason = d.Encoding, d.EncodingReason
	s.Delimiter, s.DelimiterReason = d.Delimiter, d.DelimiterReason
}

// newRunID returns a new UUIDv7 for a run whose job gives no RunID.
func newRunID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString() // the clock failed: a random id still identifies the run
	}
	return id.String()
}
