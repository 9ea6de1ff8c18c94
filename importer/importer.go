package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"strconv"
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
	// sink's own (sink.BatchSizer; 10,000 for SQLite), else 1000.
	BatchSize int
	// Workers is the number of goroutines that map rows. Default
	// runtime.GOMAXPROCS(0).
	Workers int
	// MaxReportErrors caps Report.Errors (the count stays exact). Default
	// 100; negative keeps none.
	MaxReportErrors int
	// IDs allocates the ids of created records. Default identity.UUIDv7().
	// Runs that go on at once share it: it must then be safe for concurrent
	// use (the default is).
	IDs identity.Allocator
	// Progress, when set, is called from the goroutine running Run about
	// every ProgressEvery and once at the end. It should return quickly. If
	// it panics, Run stops reading and waits for the batch being written,
	// and the panic goes on to Run's caller.
	Progress func(Progress)
	// ProgressEvery is the interval between Progress calls. Default 250ms.
	ProgressEvery time.Duration
	// DryRunRecords bounds the memory of a dry run: it remembers up to this
	// many records that it would create or update, with every row of the run
	// applied, so that a later row of the same record is counted updated or
	// unchanged exactly as a real run would count it. Beyond the limit, such
	// rows are counted as updated, and created keys are remembered by hash
	// only (identity.Seen). Default 100,000 (a few tens of MiB); negative
	// means no limit.
	DryRunRecords int
	// Logger receives a line per run and per failure; nil logs nothing.
	Logger *slog.Logger
}

// Progress is a snapshot of a running import.
type Progress struct {
	// Rows is the number of rows whose outcome is final so far.
	Rows int64
	// BytesRead and BytesTotal are the source bytes consumed so far and the
	// source's size; BytesTotal is -1 when unknown (or the source does not
	// implement connector.Progresser).
	BytesRead, BytesTotal int64
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// Done is true on the last call.
	Done bool
}

// Job is one import: where rows come from, how they are mapped and matched,
// and what the record action is.
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
	// Action is the record action. Default intake.ActionAddAndUpdate.
	Action intake.Action
	// Sync names the sync fields, which together form the key that
	// identifies a record (all must match). Default email.
	Sync intake.KeySpec
	// NoSync, with create or add_only, turns matching off: every valid row
	// creates a record.
	NoSync bool
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
	// Rejects, when set, receives the rejected rows as CSV (see
	// [RejectWriter]), in input order, as their batches are committed: on
	// a failed or canceled run, exactly the rejected rows that the report
	// counts. Run flushes it but does not close it.
	Rejects io.Writer
}

// Importer runs import jobs. It is safe for concurrent use: several Runs
// may go on at once (into sinks that allow it).
type Importer struct {
	cfg Config
	log *slog.Logger
}

// ErrNoSink is returned by [New] when Config.Sink is nil.
var ErrNoSink = errors.New("intake: importer needs a sink: set Config.Sink (sink.NewMemory, sink.OpenSQLite or your own)")

// ErrNoSource is returned by Run for a job without a Source.
var ErrNoSource = errors.New("intake: job has no source: set Job.Source (connector.OpenCSVFile or your own connector.Source)")

// New returns an importer with cfg, after checking it.
func New(cfg Config) (*Importer, error) {
	var errs []error
	if cfg.Sink == nil {
		errs = append(errs, ErrNoSink)
	}
	if cfg.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("intake: Config.BatchSize %d is negative: use 0 for the default (1000)", cfg.BatchSize))
	}
	if cfg.Workers < 0 {
		errs = append(errs, fmt.Errorf("intake: Config.Workers %d is negative: use 0 for the default (GOMAXPROCS)", cfg.Workers))
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
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 250 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Importer{cfg: cfg, log: log}, nil
}

// Run imports job and returns its report, which is never nil. The error is
// nil when the run succeeded (rejected rows included: they are in the
// report); otherwise it says why the run failed or was canceled, and the
// report's counts say what was committed before. Every batch is written in
// one call to the sink; a run that fails between batches leaves the
// committed batches in place, and running the same job again is safe: rows
// committed before match their records and come out unchanged.
func (im *Importer) Run(ctx context.Context, job Job) (rep *Report, err error) {
	rep = &Report{Started: time.Now(), DryRun: job.DryRun}
	defer func() {
		rep.Finished = time.Now()
		switch {
		case err == nil:
			rep.Status = StatusSucceeded
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			rep.Status = StatusCanceled
			rep.Error = err.Error()
		default:
			rep.Status = StatusFailed
			rep.Error = err.Error()
		}
		im.log.LogAttrs(ctx, slog.LevelInfo, "import finished",
			slog.String("job", job.Name), slog.String("status", string(rep.Status)),
			slog.Int64("rows", rep.Rows), slog.Int64("created", rep.Created), slog.Int64("updated", rep.Updated),
			slog.Int64("unchanged", rep.Unchanged), slog.Int64("skipped", rep.Skipped),
			slog.Int64("opted_out", rep.OptedOut), slog.Int64("rejected", rep.Rejected),
			slog.Duration("took", rep.Duration()), slog.String("error", rep.Error))
	}()
	if job.Source == nil {
		return rep, ErrNoSource
	}
	defer job.Source.Close()
	r, err := im.prepare(ctx, job, rep)
	if err != nil {
		return rep, err
	}
	return rep, r.run(ctx)
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

// prepare checks the job, reads the header and compiles the mapping and the key.
func (im *Importer) prepare(ctx context.Context, job Job, rep *Report) (*run, error) {
	if job.Schema == nil {
		job.Schema = intake.ContactSchema()
	}
	if job.Action == "" {
		job.Action = intake.ActionAddAndUpdate
	}
	if !job.Action.Valid() {
		return nil, fmt.Errorf("intake: unknown action %q (want create, add_only, update_only, add_and_update or opt_out)", job.Action)
	}
	if job.NoSync && job.Action != intake.ActionCreate && job.Action != intake.ActionAddOnly {
		return nil, fmt.Errorf("intake: action %s needs sync fields to find the records to change: unset Job.NoSync", job.Action)
	}
	if len(job.Sync.Fields) == 0 {
		job.Sync = intake.Keys("email")
	}
	if n, ok := job.Source.(connector.Namer); ok {
		rep.Source.Name = n.Name()
		if job.MappingOptions.File == "" {
			job.MappingOptions.File = n.Name()
		}
	}
	header, err := job.Source.Header(ctx)
	if err != nil {
		return nil, err
	}
	rep.Source.Header = header
	// The first rows: to suggest the mapping from their content, and to
	// detect the formats of "auto" columns.
	peeked, sample := peek(ctx, job.Source, mapping.SampleRows)
	job.Source = peeked
	if job.MappingOptions.Sample == nil {
		job.MappingOptions.Sample = sample
	}
	spec := job.Mapping
	if spec == nil {
		if header == nil {
			return nil, errors.New("intake: a file without a header row needs a mapping: set Job.Mapping with columns by 1-based index")
		}
		spec = mapping.SuggestDetailed(header, sample, job.Schema, mapping.SuggestOptions{DefaultRegion: job.MappingOptions.DefaultRegion}).Spec()
	}
	plan, err := mapping.Compile(spec, job.Schema, header, job.MappingOptions)
	if err != nil {
		return nil, err
	}
	rep.Source.Mapping = describe(spec)
	schema := plan.Schema()
	r := &run{
		im:     im,
		job:    job,
		rep:    rep,
		plan:   plan,
		schema: schema,
		header: header,
	}
	if !job.NoSync {
		var lk identity.Lookuper
		if l, ok := im.cfg.Sink.(sink.Lookuper); ok {
			lk = l
		}
		if r.matcher, err = identity.NewMatcher(schema, job.Sync, lk); err != nil {
			return nil, err
		}
	}
	if !job.DryRun {
		if e, ok := im.cfg.Sink.(sink.SchemaEnsurer); ok {
			if err := e.EnsureSchema(ctx, schema); err != nil {
				return nil, fmt.Errorf("intake: prepare the store for %q: %w", schema.Object(), err)
			}
		}
	} else if g, ok := im.cfg.Sink.(sink.Getter); ok {
		r.getter = g
	}
	if cp, ok := im.cfg.Sink.(sink.Checkpointer); ok && job.RunID != "" && !job.DryRun {
		last, found, err := cp.LastCheckpoint(ctx, job.RunID)
		if err != nil {
			return nil, fmt.Errorf("intake: read the checkpoint of run %q: %w", job.RunID, err)
		}
		r.checkpointer = cp
		if found {
			r.resumeAfter = last.Line
			rep.ResumedAfterLine = last.Line
		}
	}
	if c, ok := im.cfg.Sink.(sink.Concurrent); ok && !job.DryRun {
		r.overlap = c.Concurrent()
	}
	if job.Action == intake.ActionCreate || job.Action == intake.ActionAddOnly {
		r.seen = identity.NewSeen()
	}
	if job.Rejects != nil {
		r.rejects = NewRejectWriter(job.Rejects, header)
	}
	if p, ok := peeked.Source.(connector.Progresser); ok {
		r.progress = p
	}
	return r, nil
}
