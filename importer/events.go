package importer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/intakehq/intake/connector"
)

// EventKind says what happened in a run: see [Event].
type EventKind string

// The kinds of [Event], in the order a run sends them.
const (
	// RunStarted is sent once, first, when Run is called: before the
	// source's header is read, so the counts are zero.
	RunStarted EventKind = "run_started"
	// BatchCommitted is sent after each batch is committed: written to
	// the sink (or, in a dry run, decided) and counted in the report.
	BatchCommitted EventKind = "batch_committed"
	// RunFinished is sent once, last, when the run ended, however it
	// ended: succeeded, failed (before or after its first row) or
	// canceled. It carries the report and the run's error.
	RunFinished EventKind = "run_finished"
)

// Event is what a run tells Config.Events: that it started, that it
// committed a batch, that it finished, with its progress so far.
//
// A run sends exactly one RunStarted, then one BatchCommitted per batch,
// then exactly one RunFinished, unless a hook or the sink panics: the panic
// goes on to Run's caller and no RunFinished is sent.
type Event struct {
	Kind EventKind
	// Job and RunID are the job's Name and the run's id (Report.RunID: the
	// job's RunID, or the one the run drew; the name may be empty):
	// they tell the runs apart when one hook serves several.
	Job, RunID string
	// Counts are the outcome counts of the rows committed so far, as the
	// report counts them: on RunFinished, the report's.
	Counts Counts
	// FirstLine and LastLine are the source lines of the committed batch
	// (BatchCommitted only).
	FirstLine, LastLine int
	// BytesRead and BytesTotal are the source bytes consumed so far and
	// the source's size (connector.Progresser); BytesTotal is -1 when the
	// size is unknown or the source does not say. Reading runs ahead of
	// committing: BytesRead includes the bytes of rows not yet committed.
	BytesRead, BytesTotal int64
	// Elapsed is the time since the run started; on RunFinished, the
	// report's Duration.
	Elapsed time.Duration
	// RowsPerSecond is Counts.Rows over Elapsed: the run's average rate
	// so far (0 when Elapsed is 0).
	RowsPerSecond float64
	// Report is the run's report on RunFinished (the value Run returns,
	// which Run does not change afterwards), nil on the other events.
	Report *Report
	// Err is the run's error on RunFinished (nil when it succeeded): the
	// error Run returns. Nil on the other events.
	Err error
}

// Fraction returns the share of the source read so far, BytesRead over
// BytesTotal, between 0 and 1; ok is false when the size is unknown.
func (e Event) Fraction() (frac float64, ok bool) {
	if e.BytesTotal <= 0 {
		return 0, false
	}
	return min(float64(e.BytesRead)/float64(e.BytesTotal), 1), true
}

// Counts are the outcome counts of a run: Rows and the outcomes that add up
// to it, rows = created + updated + unchanged + skipped + opted_out +
// rejected + inactivated + deleted + anonymized (see [Report]).
type Counts struct {
	Rows      int64 `json:"rows"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Skipped   int64 `json:"skipped"`
	OptedOut  int64 `json:"opted_out"`
	Rejected  int64 `json:"rejected"`
	// Inactivated, Deleted and Anonymized count the rows of a lifecycle
	// action (identity.Matrix); they belong to the invariant.
	Inactivated int64 `json:"inactivated,omitempty"`
	Deleted     int64 `json:"deleted,omitempty"`
	Anonymized  int64 `json:"anonymized,omitempty"`
}

// events sends the events of one run to the importer's Logger and to
// Config.Events, in that order, on the goroutine that called Run.
type events struct {
	ctx      context.Context
	log      *slog.Logger
	hook     func(Event)
	job      *Job
	rep      *Report
	progress connector.Progresser // nil: the source does not say
}

func (im *Importer) eventsFor(ctx context.Context, job *Job, rep *Report) *events {
	e := &events{ctx: ctx, log: im.log, hook: im.cfg.Events, job: job, rep: rep}
	if p, ok := job.Source.(connector.Progresser); ok {
		e.progress = p
	}
	return e
}

// send sends an event of kind; b is the committed batch (BatchCommitted)
// and err the run's error (RunFinished).
func (e *events) send(kind EventKind, b *batch, err error) {
	ev := Event{Kind: kind, Job: e.job.Name, RunID: e.rep.RunID, Counts: e.rep.Counts, BytesTotal: -1}
	if e.progress != nil {
		ev.BytesRead, ev.BytesTotal = e.progress.Progress()
	}
	switch kind {
	case RunStarted:
	case BatchCommitted:
		ev.Elapsed = time.Since(e.rep.Started)
		ev.FirstLine, ev.LastLine = b.firstLine(), b.lastLine()
	case RunFinished:
		ev.Elapsed, ev.Report, ev.Err = e.rep.Duration(), e.rep, err
	}
	if s := ev.Elapsed.Seconds(); s > 0 {
		ev.RowsPerSecond = float64(ev.Counts.Rows) / s
	}
	e.logEvent(ev)
	if e.hook != nil {
		e.hook(ev)
	}
}

// logEvent writes an event to the Logger: the start and each batch at
// Debug, the end at Info.
func (e *events) logEvent(ev Event) {
	level := slog.LevelDebug
	if ev.Kind == RunFinished {
		level = slog.LevelInfo
	}
	if !e.log.Enabled(e.ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("job", ev.Job)}
	if ev.RunID != "" {
		attrs = append(attrs, slog.String("run_id", ev.RunID))
	}
	switch ev.Kind {
	case RunStarted:
		if n, ok := e.job.Source.(connector.Namer); ok {
			attrs = append(attrs, slog.String("source", n.Name()))
		}
		attrs = append(attrs, slog.Int64("bytes_total", ev.BytesTotal), slog.Bool("dry_run", e.job.DryRun))
		e.log.LogAttrs(e.ctx, level, "import started", attrs...)
	case BatchCommitted:
		attrs = append(attrs, slog.String("lines", fmt.Sprintf("%d-%d", ev.FirstLine, ev.LastLine)),
			slog.Int64("rows", ev.Counts.Rows), slog.Float64("rows_per_second", ev.RowsPerSecond),
			slog.Int64("bytes_read", ev.BytesRead), slog.Int64("bytes_total", ev.BytesTotal))
		e.log.LogAttrs(e.ctx, level, "import batch committed", attrs...)
	case RunFinished:
		c := ev.Counts
		attrs = append(attrs, slog.String("status", string(ev.Report.Status)),
			slog.Int64("rows", c.Rows), slog.Int64("created", c.Created), slog.Int64("updated", c.Updated),
			slog.Int64("unchanged", c.Unchanged), slog.Int64("skipped", c.Skipped),
			slog.Int64("opted_out", c.OptedOut), slog.Int64("rejected", c.Rejected),
			slog.Duration("took", ev.Elapsed), slog.Float64("rows_per_second", ev.RowsPerSecond),
			slog.String("error", ev.Report.Error))
		e.log.LogAttrs(e.ctx, level, "import finished", attrs...)
	}
}
