package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
)

// Config configures an [Importer]. The zero value of every field but Sink
// has a working default.
type Config struct {
	// Sink receives the writes; required. When it implements
	// sink.Lookuper, rows are matched to stored records; when it implements
	// sink.SchemaEnsurer, it is prepared for the schema before the first
	// write; when it implements sink.Getter, a dry run tells updated rows
	// from unchanged ones.
	Sink sink.Sink
	// BatchSize is the most rows per batch: one lookup and one write (one
	// transaction in the memory and SQLite sinks) per batch. Default: the
	// sink's own (sink.BatchSizer; 20,000 for SQLite, 10,000 for PostgreSQL),
	// else 1000.
	BatchSize int
	// Workers is the number of goroutines that map rows. Default
	// runtime.GOMAXPROCS(0).
	Workers int
	// MaxReportErrors caps Report.Errors (the count stays exact). Default
	// 100; negative keeps none.
	MaxReportErrors int
	// IDs allocates the ids of created records. Default identity.UUIDv7();
	// identity.NewNumeric hands out numbers from a reserved range (contact
	// numbers) through the sink's sink.Sequencer. A row that names its
	// record id through a record-id identity rule keeps that id. From an
	// identity.BlockAllocator (the default is one) a run draws ids in
	// blocks, and drops those a batch leaves unused.
	// Runs that go on at once share it: it must then be safe for concurrent
	// use (the default is).
	IDs identity.Allocator
	// UndoRetention is how long a sink.Undoer keeps the undo logs of runs:
	// after each run that kept one, the importer drops the logs beyond it
	// (sink.Undoer.PruneUndo). Zero fields take the defaults: 30 days, the
	// 100 newest runs. A run whose log was dropped cannot be undone.
	UndoRetention sink.Retention
	// Events, when set, receives the events of each run (see [Event]):
	// RunStarted, then BatchCommitted after each batch is committed, with
	// the counts, the rate and the bytes read so far, then RunFinished with
	// the report and the error. It is called synchronously on the goroutine
	// that called Run, never concurrently for one run: a slow hook slows
	// the run (its next commit waits for the hook to return), so a hook
	// that draws, stores or sends does that at its own pace (at most every
	// so often, or on another goroutine). Runs that go on at once call it
	// concurrently: Event.Job and Event.RunID tell them apart. If it
	// panics, Run stops reading, waits for the batch being written, and
	// the panic goes on to Run's caller. Default: nil.
	Events func(Event)
	// DryRunRecords bounds the memory of a dry run: it remembers up to this
	// many records that it would create or update, with every row of the run
	// applied, so that a later row of the same record is counted updated or
	// unchanged exactly as a real run would count it. Beyond the limit, such
	// rows are counted as updated, and created keys are remembered by hash
	// only (identity.Seen). Default 100,000 (a few tens of MiB); negative
	// means no limit.
	DryRunRecords int
	// Logger receives the events of each run as log lines, each before
	// Events receives it: "import started" and "import batch committed" at
	// Debug, "import finished" at Info with the status, the counts, the
	// duration, the rate and the error. Default: nil, quiet.
	Logger *slog.Logger
}

// Job is one import: where rows come from, how they are mapped and matched,
// and what the record action is. Each option says one thing; the zero
// value of an option is its default ([Job.WithDefaults]). Run checks the
// whole job before it reads the source and reports every problem at once
// (errors.Join), each naming the option to change.
type Job struct {
	// Name identifies the job in logs; optional.
	Name string
	// Source yields the rows; required. Run closes it.
	Source connector.Source
	// Schema is the base schema of the records. Default intake.ContactSchema().
	Schema *intake.Schema
	// Mapping maps the source's columns to fields. Nil maps columns to the
	// schema's fields by header name (mapping.Suggest).
	Mapping *mapping.Spec
	// MappingOptions are passed to mapping.Compile (default phone region,
	// strict phones, …).
	MappingOptions mapping.Options
	// Action is the record action as a match/no-match matrix: on a match
	// update, skip, opt out, inactivate, delete or anonymize; on no match
	// create, skip or reject. The five actions of intake.Action are its
	// presets: identity.Create, identity.AddOnly, identity.UpdateOnly,
	// identity.AddAndUpdate, identity.OptOut (identity.Preset by name).
	// The zero Matrix is the default: identity.AddAndUpdate, or
	// identity.AddOnly with a Profile.
	Action identity.Matrix
	// Identity is how rows find their stored records: one sync key
	// ([SyncOn]), ordered identity rules ([Rules]) or no matching at all
	// ([NoSync]). Default: with a Profile, event_id when the mapping maps
	// it, else none ([SyncIfMapped]); account_id for accounts; else email.
	// The mapping must fill the sync fields: otherwise Run returns an
	// error wrapping [ErrKeyNotMapped], naming the field, before it reads
	// the first row (see [Rules]).
	Identity Identity
	// Duplicates is the policy for rows whose key appeared earlier in the
	// file: first wins, last wins, merge. Default: the action's own rule
	// (the table on intake.Action, and identity.Matrix).
	Duplicates identity.Duplicates
	// Merge is the survivorship policy of updates, with per-field
	// overrides. Default: a row's non-empty values replace stored ones,
	// and an empty cell never blanks a stored value. Rules that read
	// stored values (fill_empty, newest, append) make the run read the
	// matched records of each batch before deciding it (sink.Getter) and
	// write batches one after the other.
	Merge identity.MergePolicy
	// Consent configures consent per channel (identity.Channel): the
	// fields NAME_consent, NAME_consent_date and NAME_consent_source are
	// added to the schema where missing, mapped columns and the channel's
	// defaults set them, and an opted-out contact is never turned back to
	// opted in unless the channel allows it. Reads stored records, as
	// Merge's fill_empty does. A mapped text field named NAME_consent is a
	// channel even when Consent does not list it: the guard applies to it,
	// with the defaults of identity.Channel.
	Consent []identity.Channel
	// Memberships add every created or updated record to lists, tags or
	// criteria: the values are appended to the field (a multi-value field,
	// added to the schema when missing), whose merge rule is append unless
	// Merge says otherwise. A column mapped to the same field adds its own
	// items. Opt-outs and lifecycle actions ignore them.
	Memberships []Membership
	// Profile, when set, attaches each row — an activity, an event — to
	// the profile it belongs to, found by the profile's keys: see
	// [ProfileLink]. Activities are append-only: the action must be
	// create (with NoSync) or add_only (with a sync key on an event id, so
	// that re-importing a file skips the events it already holds). With a
	// Profile, Action defaults to add_only and Identity to
	// SyncIfMapped("event_id"): event_id when the mapping maps it, else no
	// matching (every row is a new event).
	Profile *ProfileLink
	// Links resolve foreign-key fields of each row (a contact's
	// account_id) to the record ids of their targets: see [Link]. The
	// fields a link needs are added to the schema.
	Links []Link
	// AccountLink is the Missing policy of the link that a contact job
	// makes by itself, without an entry in Links, from its account_id to
	// the accounts: Link{Field: "account_id", Object: "account"}, with
	// the store's account schema, which puts the record id of the account
	// whose account_id the row names in account_record_id and keeps the
	// reference in account_id. Default MissingEmpty: a row whose account
	// the store does not hold (or a store without accounts) is imported
	// with its account_id and an empty account_record_id, and counted in
	// Report.Links["account_id"].Empty; reject, skip or create decide
	// otherwise, as for any link.
	//
	// The link is made when the job imports contacts (its schema's
	// object type is contact, without a Profile) and maps account_id: a
	// column or a constant of Mapping maps to it, or, without a Mapping,
	// the header has a column named account_id (as the suggestion compares
	// names: case, spaces and punctuation aside, so "Account ID" too),
	// which the suggestion then maps. It is not made when NoAccountLink is
	// set, when a Link names account_id or writes account_record_id,
	// when the job's schema or Mapping's fields give account_id another
	// type than the accounts' key (or account_record_id another type than
	// id, or a Ref to another type), or when the sink cannot find
	// accounts: it must implement sink.Lookuper and sink.SchemaReader, as
	// the memory, SQLite and PostgreSQL stores do (a host's table sink does
	// not). Without the link, an account_id column that the schema lacks is
	// not imported and Report.Source.Ignored lists it.
	AccountLink Missing
	// NoAccountLink turns off the link of AccountLink: account_id is then
	// a field like any other, imported when the schema has it.
	NoAccountLink bool
	// KeepUnmapped keeps the header columns that the mapping does not
	// mention as text fields named after their header (lower-cased, other
	// characters as "_": "Page URL" → page_url; "_2", "_3" on a clash),
	// added to the schema: an activity's properties. A column the mapping
	// lists with "skip": true stays skipped; with a suggested mapping (no
	// Job.Mapping), every column no field was suggested for is kept.
	// Default false: unmentioned columns are ignored.
	KeepUnmapped bool
	// Reason is why a lifecycle action (inactivate, delete, anonymize)
	// is taken; required for them, and kept with Actor, the job's Name and
	// RunID in the sink's audit log (sink.Auditor).
	Reason string
	// Actor is who runs the job (a user or a system), for the audit log.
	Actor string
	// Unlink says what a delete or an anonymization does with the links
	// that point to the record: fields whose intake.Field.Ref names its
	// object type (an activity's profile_id, a contact's
	// account_record_id). UnlinkKeep, the default ("" too), leaves them.
	// UnlinkRemove removes them in the transaction of each batch
	// (sink.Op.Unlink): a link field that holds the record's id loses it
	// (an id field becomes empty, a multi-select drops the id), an
	// anonymized record's own link fields are cleared, and each removed
	// link goes to the audit log with the job's Reason, Actor, Name and
	// RunID and the row's line. It needs a delete or anonymize action and
	// a sink.Unlinker; a dry run counts what a real run would and removes
	// nothing. The memory, SQLite and PostgreSQL stores reach every object
	// type they hold, a sqlite.Table only its own table (through the link
	// fields of the job's schema). A store removes only the links of
	// fields whose Ref it holds: a field it holds without a Ref gets one
	// from a run whose ProfileLink or Link fills it (a file with no rows
	// will do) or from sink.SchemaEnsurer.EnsureSchema. Keep is the default
	// because removing links changes records the job does not name, of
	// other object types too, and cannot be undone from the data.
	Unlink Unlink
	// Explain, when positive, explains the decision on each of the first
	// Explain rows in Report.Explain: create, update with the fields that
	// change (old → new), unchanged, skip, reject, and the rule and key that
	// matched. It reads stored records (sink.Getter), as Merge's fill_empty
	// does. Meant for dry runs; a real run explains what it does.
	Explain int
	// DryRun runs everything but the writes: rows are read, mapped, matched
	// and decided, and the report counts what would happen. To count as a
	// real run would, a dry run keeps in memory a copy of the records it
	// would create (add_and_update) or update (with a sink.Getter), up to
	// Config.DryRunRecords of them; see there.
	DryRun bool
	// RunID, with a sink that implements sink.Checkpointer (PostgreSQL),
	// commits a checkpoint with every batch: the line up to which every row
	// is in the store. A later Run with the same RunID resumes after that
	// line instead of starting over: its report counts the rows after it
	// and says where it resumed (Report.ResumedAfterLine). Only resume with
	// the same file (compare its fingerprint): the lines must mean the same
	// rows. Without a Checkpointer, RunID is ignored and a re-run starts
	// from the first row, which is safe but slower. Default: "", no
	// checkpoints.
	RunID string
	// Undo says what the run keeps so that Importer.Undo can revert it.
	// Default: with a sink that implements sink.Undoer, every run keeps
	// its undo log, except one that anonymizes, or deletes without
	// Undo.Deletes (Importer.Undoable says why before it runs).
	Undo UndoOptions
	// Rejects, when set, receives the rejected rows as CSV (see
	// [RejectWriter]), in input order, as their batches are committed: on
	// a failed or canceled run, exactly the rejected rows that the report
	// counts. Run flushes it but does not close it.
	Rejects io.Writer
}

// Unlink is what a delete or an anonymization does with the links to the
// record: see Job.Unlink.
type Unlink string

// The values of Job.Unlink.
const (
	// UnlinkKeep leaves the links to a deleted or anonymized record (and
	// an anonymized record's own) as they are: the default.
	UnlinkKeep Unlink = "keep"
	// UnlinkRemove removes them, audited, in the sink's transaction.
	UnlinkRemove Unlink = "remove"
)

// Valid reports whether u is "", "keep" or "remove".
func (u Unlink) Valid() bool { return u == "" || u == UnlinkKeep || u == UnlinkRemove }

// Membership adds records to lists, tags or criteria: Values are appended
// to the multi-value Field ("lists", "tags", "criteria").
type Membership struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
}

// Importer runs import jobs. It is safe for concurrent use: several Runs
// may go on at once (into sinks that allow it).
type Importer struct {
	cfg Config
	log *slog.Logger
}

// ErrNoSink is returned by [New] when Config.Sink is nil.
var ErrNoSink = errors.New("importer: no sink")

// ErrNoSource is returned by Run for a job without a Source.
var ErrNoSource = errors.New("importer: job has no source")

// New returns an importer with cfg, after checking it.
func New(cfg Config) (*Importer, error) {
	var errs []error
	if cfg.Sink == nil {
		errs = append(errs, fmt.Errorf("%w: set Config.Sink (memory.New, sqlite.Open or your own)", ErrNoSink))
	}
	if cfg.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("importer: Config.BatchSize %d is negative: use 0 for the default (the sink's, else 1000)", cfg.BatchSize))
	}
	if cfg.Workers < 0 {
		errs = append(errs, fmt.Errorf("importer: Config.Workers %d is negative: use 0 for the default (GOMAXPROCS)", cfg.Workers))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 1000
		if bs, ok := cfg.Sink.(sink.BatchSizer); ok && bs.BatchSize() > 0 {
			cfg.BatchSize = bs.BatchSize()
		}
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case cfg.MaxReportErrors == 0:
		cfg.MaxReportErrors = 100
	case cfg.MaxReportErrors < 0:
		cfg.MaxReportErrors = 0
	}
	if cfg.IDs == nil {
		cfg.IDs = identity.UUIDv7()
	}
	switch {
	case cfg.DryRunRecords == 0:
		cfg.DryRunRecords = 100_000
	case cfg.DryRunRecords < 0:
		cfg.DryRunRecords = math.MaxInt
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Importer{cfg: cfg, log: log}, nil
}

// Run imports job and returns its report, which is never nil. It fills in
// the job's defaults ([Job.WithDefaults]) and checks the job before it
// reads the source (see [Job]). The error is
// nil when the run succeeded (rejected rows included: they are in the
// report); otherwise it says why the run failed or was canceled, and the
// report's counts say what was committed before. Every batch is written in
// one call to the sink; a run that fails between batches leaves the
// committed batches in place, and running the same job again is safe: rows
// committed before match their records and come out unchanged.
//
// Run sends the run's events (see [Event]) to Config.Logger and
// Config.Events on the calling goroutine: RunStarted first, BatchCommitted
// after each batch, RunFinished last.
func (im *Importer) Run(ctx context.Context, job Job) (*Report, error) {
	if job.Source != nil {
		defer job.Source.Close()
	}
	rep := &Report{Started: time.Now(), DryRun: job.DryRun, RunID: job.RunID}
	if rep.RunID == "" {
		rep.RunID = newRunID()
	}
	ev := im.eventsFor(ctx, &job, rep)
	ev.send(RunStarted, nil, nil)
	err := im.run(ctx, job, rep, ev)
	rep.finish(err)
	ev.send(RunFinished, nil, err)
	return rep, err
}

// run prepares and runs the job. A panic (of the Events hook, of the sink)
// goes on to Run's caller without a RunFinished event.
func (im *Importer) run(ctx context.Context, job Job, rep *Report, ev *events) error {
	job = job.WithDefaults()
	if err := job.validate(im.cfg.Sink); err != nil {
		return err
	}
	r, err := im.prepare(ctx, job, rep)
	if err != nil {
		return err
	}
	r.events = ev
	if err := r.run(ctx); err != nil {
		return err
	}
	r.pruneUndo(ctx)
	return nil
}

// describe lists the mapped columns of spec as "column → field".
func describe(spec *mapping.Spec) []string {
	var out []string
	for _, c := range spec.Columns {
		if c.Skip || c.Field == "" {
			continue
		}
		var from string
		switch {
		case c.Const != "":
			from = strconv.Quote(c.Const)
		case c.Source != "":
			from = c.Source
		default:
			from = "#" + strconv.Itoa(c.Index)
		}
		out = append(out, from+" → "+c.Field)
	}
	return out
}

// prepare builds the run of job, which WithDefaults filled in and validate
// checked: it reads the header and compiles the mapping, the identity, the
// record action and the links, then prepares the sink.
func (im *Importer) prepare(ctx context.Context, job Job, rep *Report) (*run, error) {
	var err error
	if job.Schema, err = job.schemaWithFields(); err != nil {
		return nil, err
	}
	plan, header, err := im.compileMapping(ctx, &job, rep)
	if err != nil {
		return nil, err
	}
	r := &run{
		im:     im,
		job:    job,
		rep:    rep,
		plan:   plan,
		schema: rowSchema(plan.Schema(), job.Links), // without what links carry for their targets only
		header: header,
	}
	if err := r.compileMatcher(); err != nil {
		return nil, err
	}
	if err := r.compileRules(); err != nil {
		return nil, err
	}
	if err := r.compileLinks(ctx); err != nil {
		return nil, err
	}
	if err := r.prepareSink(ctx); err != nil {
		return nil, err
	}
	r.prepareTracking()
	if job.Rejects != nil {
		r.rejects = NewRejectWriter(job.Rejects, header)
	}
	return r, nil
}

// prepareSink finds what the run uses of the sink's capabilities: reading
// records back, checkpoints, overlapping writes, guarded keys. It prepares
// the store for the run's schema and reads the checkpoint of an earlier
// attempt of the run.
func (r *run) prepareSink(ctx context.Context) error {
	s, job := r.im.cfg.Sink, &r.job
	if g, ok := s.(sink.Getter); ok && (job.DryRun || r.rules.useView) {
		r.getter = g
	}
	if r.rules.useView && r.getter == nil && r.matcher != nil {
		return fmt.Errorf("importer: the job's merge rules, consent or explanations compare rows with stored records, which needs a sink that reads records by id (sink.Getter); %T does not", s)
	}
	if !job.DryRun {
		if e, ok := s.(sink.SchemaEnsurer); ok {
			if err := e.EnsureSchema(ctx, r.schema); err != nil {
				return fmt.Errorf("importer: prepare the store for %q: %w", r.schema.Object(), err)
			}
		}
	}
	r.prepareUndo()
	if cp, ok := s.(sink.Checkpointer); ok && job.RunID != "" && !job.DryRun {
		last, found, err := cp.LastCheckpoint(ctx, job.RunID)
		if err != nil {
			return fmt.Errorf("importer: read the checkpoint of run %q: %w", job.RunID, err)
		}
		r.checkpointer = cp
		if found {
			r.resumeAfter = last.Line
			for _, l := range last.Pending {
				if r.resumePending == nil {
					r.resumePending = map[int]bool{}
				}
				r.resumePending[l] = true
			}
			r.rep.ResumedAfterLine = last.Line
		}
	}
	// Overlapping writes need the next batch's lookups to see no key the
	// batch being written changes: true with one identity rule, whose key
	// an update never changes; with several, an update may change another
	// rule's key (and the view must see every earlier write).
	if c, ok := s.(sink.Concurrent); ok && !job.DryRun && !r.rules.useView && len(r.keys) <= 1 {
		r.overlap = c.Concurrent()
	}
	if g, ok := s.(sink.KeyGuard); ok && g.GuardsKeys() && r.matcher != nil && !job.DryRun {
		r.unique = r.matcher.Rules()
	}
	return nil
}

// prepareTracking makes the sets of keys that the run remembers: those met
// earlier in the file, and those it created, where the record action needs
// to know.
func (r *run) prepareTracking() {
	if r.rules.needSeen {
		r.seen = identity.NewSeen()
	}
	if r.rules.trackCreated && !r.job.DryRun && r.rules.matrix.OnMatch != identity.MatchUpdate {
		// With update on a match, a record an earlier batch created is
		// updated like any stored one; otherwise the run must tell it from
		// stored records (a duplicate, not a match), so it remembers every
		// key it creates (by hash, in bounded memory: identity.Seen).
		r.createdKeys = identity.NewSeen()
	}
}

// compileMatcher resolves the job's identity against the mapping into the
// run's keys and builds their matcher: none without matching (NoSync, or
// SyncIfMapped with the key unmapped). It checks that the mapping fills
// the keys.
func (r *run) compileMatcher() error {
	id := r.job.Identity
	if id.None() || id.IfMapped() && !mapsAnyKeyField(r.plan, id.keys) {
		return nil
	}
	r.keys = id.Keys()
	var lk sink.Lookuper
	if l, ok := r.im.cfg.Sink.(sink.Lookuper); ok {
		lk = l
	}
	var err error
	if r.matcher, err = identity.NewRuleMatcher(r.schema, r.keys, lk); err != nil {
		return err
	}
	return checkKeysMapped(r.keys, r.plan, len(r.keys) > 1)
}

// compileMapping reads the header and the first rows of the job's source,
// makes the job's account link (Job.AccountLink), adds the fields of its
// links to its schema and compiles the mapping: the job's, else the one
// suggested from the header and the first rows. It describes the source in
// the report: name, header, mapping and the columns no field takes.
func (im *Importer) compileMapping(ctx context.Context, job *Job, rep *Report) (*mapping.Plan, []string, error) {
	if n, ok := job.Source.(connector.Namer); ok {
		rep.Source.Name = n.Name()
		if job.MappingOptions.File == "" {
			job.MappingOptions.File = n.Name()
		}
	}
	header, err := job.Source.Header(ctx)
	if err != nil {
		return nil, nil, err
	}
	rep.Source.Header = header
	if d, ok := job.Source.(connector.Describer); ok {
		rep.Source.describe(d.Describe())
	}
	if u, ok := job.Source.(connector.UTF8Checker); ok && u.ValidUTF8() {
		job.MappingOptions.ValidUTF8 = true // the source checked the cells
	}
	// The first rows: to suggest the mapping from their content, and to
	// detect the formats of "auto" columns.
	peeked, sample := peek(ctx, job.Source, mapping.SampleRows)
	job.Source = peeked
	if job.MappingOptions.Sample == nil {
		job.MappingOptions.Sample = sample
	}
	if err := im.accountLink(ctx, job, header); err != nil {
		return nil, nil, err
	}
	if err := linkFields(job); err != nil {
		return nil, nil, err
	}
	spec := job.Mapping
	if spec == nil {
		if header == nil {
			return nil, nil, errors.New("importer: a file without a header row needs a mapping: set Job.Mapping with columns by 1-based index")
		}
		spec = mapping.SuggestDetailed(header, sample, job.Schema, mapping.SuggestOptions{DefaultRegion: job.MappingOptions.DefaultRegion}).Spec()
	}
	if job.KeepUnmapped {
		spec = keepUnmapped(spec, header, job.Schema, job.Mapping == nil)
	}
	plan, err := mapping.Compile(spec, job.Schema, header, job.MappingOptions)
	if err != nil {
		return nil, nil, err
	}
	rep.Source.Mapping = describe(spec)
	rep.Source.Ignored, rep.Source.Skipped = ignoredColumns(plan, spec, header, sample, job.Mapping != nil)
	return plan, header, nil
}

// compileRules compiles the record action of the run.
func (r *run) compileRules() error {
	job, schema, plan, matrix := &r.job, r.schema, r.plan, r.job.Action
	rl := &r.rules
	rl.matrix, rl.dup = matrix, job.Duplicates
	rl.mapped = make([]bool, schema.Len())
	for _, c := range plan.Columns() {
		if i := schema.Index(c.Field); c.Field != "" && i >= 0 {
			rl.mapped[i] = true
		}
	}
	policy := job.Merge
	for _, ms := range job.Memberships {
		i := schema.Index(ms.Field)
		rl.mapped[i] = true
		if len(ms.Values) > 0 {
			rl.members = append(rl.members, member{field: i, value: intake.List(ms.Values...)})
		}
		if !slices.ContainsFunc(policy.Fields, func(f identity.FieldMerge) bool { return f.Field == ms.Field }) {
			policy.Fields = append(slices.Clip(policy.Fields), identity.FieldMerge{Field: ms.Field, Rule: identity.MergeAppend})
		}
	}
	var err error
	if rl.merger, err = policy.Compile(schema); err != nil {
		return err
	}
	// DuplicatesLast: a later row's mapped fields all win, but lists still
	// append where the policy appends (memberships are never dropped).
	last := identity.MergePolicy{Default: identity.MergeOverwrite}
	for i := range schema.Len() {
		if rl.merger.Rule(i) == identity.MergeAppend && schema.Field(i).Type.Kind() == intake.KindList {
			last.Fields = append(last.Fields, identity.FieldMerge{Field: schema.Field(i).Name, Rule: identity.MergeAppend})
		}
	}
	if rl.last, err = last.Compile(schema); err != nil {
		return err
	}
	// A mapped NAME_consent field is consent even when the job configures
	// no channel for it: the opt-out guard applies to it all the same.
	channels := slices.Clone(job.Consent)
	for i := range schema.Len() {
		f := schema.Field(i)
		name, ok := strings.CutSuffix(f.Name, "_consent")
		if !ok || !rl.mapped[i] || f.Type.Kind() != intake.KindText ||
			slices.ContainsFunc(channels, func(c identity.Channel) bool { return c.Name == name }) {
			continue
		}
		channels = append(channels, identity.Channel{Name: name})
	}
	if len(channels) > 0 {
		if rl.consent, err = identity.NewConsent(schema, r.rep.Started, channels...); err != nil {
			return err
		}
		if rs, ok := r.im.cfg.Sink.(sink.Resubscriber); ok && rs.Resubscribes() {
			rl.consent.LiftOptOut = true
		}
		rl.consentSkip = make([]bool, schema.Len())
		rl.consent.Fields(rl.consentSkip)
	}
	skipOnMatch := matrix.OnMatch == identity.MatchSkip || matrix.OnMatch == identity.MatchReject
	rl.needSeen = job.Duplicates != identity.DuplicatesDefault || skipOnMatch
	rl.trackCreated = matrix.OnNoMatch == identity.NoMatchCreate && job.Duplicates != identity.DuplicatesFirst &&
		!(skipOnMatch && job.Duplicates == identity.DuplicatesDefault)
	rl.useView = rl.merger.NeedsStored() || rl.consent != nil || job.Explain > 0
	rl.audit = sink.AuditEntry{Reason: job.Reason, Actor: job.Actor, Job: job.Name, RunID: r.rep.RunID}
	rl.unlink = job.Unlink == UnlinkRemove
	return nil
}
