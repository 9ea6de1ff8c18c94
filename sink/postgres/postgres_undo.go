package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/undolog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The states of a run in intake_undo_runs.state that the store's Go code
// tests.
const (
	runKept    = string(sink.UndoKept)
	runRefused = string(sink.UndoRefused)
	runUndoing = string(sink.UndoUndoing)
	runUndone  = string(sink.UndoUndone)
)

// pgRun is the run whose undo log a batch of WriteUndo keeps, and what the
// batch learns of the run's row.
type pgRun struct {
	run     sink.UndoRun
	undo    *pgUndo // the batch's entries; nil for a refused run
	seq     int64   // the batch's number in the run's log
	state   string  // the run's state, once the batch counted itself in
	objects []string
	queued  int // statements queueUndo queued
}

// newPgRun returns the run of a batch, with an undo log sized for the
// batch unless the run is refused.
func newPgRun(run *sink.UndoRun, batch []*sink.Op) *pgRun {
	r := &pgRun{run: *run}
	if run.Refused != "" {
		return r
	}
	creates := 0
	for _, op := range batch {
		if op.Kind == sink.OpCreate {
			creates++
		}
	}
	r.undo = &pgUndo{later: make([]pgLaterDigest, 0, creates)}
	r.undo.w.Grow(pgUndoEntrySize * len(batch))
	return r
}

// pgUndoEntrySize is about the size of an entry of a create of a UUID id
// (an update's entry holds its fields too): the room a batch's log takes
// from the start.
const pgUndoEntrySize = 64

// pgUndo is the undo log of one batch as its ops are applied: the entries
// encoded as they come, and the object types they name.
//
// The digests of the creates, which cost more CPU than the rest of the
// log (the hash of every value's bytes), are computed by a goroutine
// while the batch's rows are streamed to the server (see digestLater),
// except the digest of a create that a later op of the batch changes,
// which is computed before it does (settle).
type pgUndo struct {
	w       undolog.Writer
	fields  []sink.FieldChange // an update's changes, reused from op to op
	objects []string
	later   []pgLaterDigest // the creates, whose digests are not set yet
	done    chan struct{}   // closed when digestLater's goroutine is done
}

// pgLaterDigest is a create whose digest goes at at in the log.
type pgLaterDigest struct {
	t  *pgTable
	st *pgRowState // nil once its digest is set
	at int
}

// note adds object to the object types of the log.
func (u *pgUndo) note(object string) {
	if n := len(u.objects); n > 0 && u.objects[n-1] == object || slices.Contains(u.objects, object) {
		return
	}
	u.objects = append(u.objects, object)
}

// create adds the UndoCreate entry of st, a row the batch creates in t,
// whose digest settle or digestLater sets.
func (u *pgUndo) create(t *pgTable, st *pgRowState, line int) {
	u.note(t.object)
	u.later = append(u.later, pgLaterDigest{t: t, st: st, at: u.w.CreateLater(t.object, st.id, line)})
	st.digest = int32(len(u.later))
}

// createDigest returns the digest of st, a row created in t: of its values
// as they are stored (by field name, nulls left out) and of the flags t
// has columns for, which is the RecordDigest of the record Get returns.
func createDigest(t *pgTable, st *pgRowState) uint64 {
	var d sink.Digest
	for j, v := range st.vals {
		d.Add(t.cols[j].Name, v)
	}
	d.Flags(st.opted && t.optedCol != "", st.inactive && t.inactiveCol != "")
	return uint64(d)
}

// settle sets the digest of st, when it is a row the batch created whose
// digest is not set yet: an op is about to change it.
func (u *pgUndo) settle(st *pgRowState) {
	if st.digest == 0 {
		return
	}
	d := &u.later[st.digest-1]
	u.w.SetDigest(d.at, createDigest(d.t, st))
	d.st, st.digest = nil, 0
}

// digestLater computes, in a goroutine, the digests of the creates not set
// yet; wait waits for it. Between the two nothing changes the rows or the
// log: the batch's rows are only read, to be streamed.
func (u *pgUndo) digestLater() {
	if len(u.later) == 0 {
		return
	}
	u.done = make(chan struct{})
	go func() {
		defer close(u.done)
		for i := range u.later {
			if d := &u.later[i]; d.st != nil {
				u.w.SetDigest(d.at, createDigest(d.t, d.st))
			}
		}
	}()
}

// wait waits for the goroutine of digestLater, if any.
func (u *pgUndo) wait() {
	if u != nil && u.done != nil {
		<-u.done
	}
}

// update adds an UndoUpdate entry of the record object/id: its changed
// fields and flags.
func (u *pgUndo) update(object, id string, line int, fields []sink.FieldChange, opted, inactive sink.FlagChange) {
	u.note(object)
	u.w.Begin(sink.UndoUpdate, object, id, line, opted, inactive, len(fields))
	for _, f := range fields {
		u.w.Field(f.Name, f.Before, f.After)
	}
}

// delete adds the UndoDelete entry of st, a row of t the batch deletes:
// every non-null field and both flags.
func (u *pgUndo) delete(t *pgTable, st *pgRowState, line int) {
	n := 0
	for _, v := range st.vals {
		if !v.IsNull() {
			n++
		}
	}
	u.note(t.object)
	u.w.Begin(sink.UndoDelete, t.object, st.id, line, sink.FlagChange{Changed: true, Before: st.opted}, sink.FlagChange{Changed: true, Before: st.inactive}, n)
	for j, v := range st.vals {
		if !v.IsNull() {
			u.w.Field(t.cols[j].Name, v, intake.Null)
		}
	}
}

// clearChange records in ch that an update clears the field name, which
// held before: a field the same op set keeps its value before and is
// cleared after (and is no change when it was null before).
func clearChange(ch []sink.FieldChange, name string, before intake.Value) []sink.FieldChange {
	for k := range ch {
		if ch[k].Name == name {
			if ch[k].Before.IsNull() {
				return slices.Delete(ch, k, k+1)
			}
			ch[k].After = intake.Null
			return ch
		}
	}
	return append(ch, sink.FieldChange{Name: name, Before: before, After: intake.Null})
}

// WriteUndo is [Store.Write] that also keeps the batch's undo log under
// run.RunID, in the batch's transaction, and with cp not nil stores the
// checkpoint as [Store.WriteCheckpoint] does (see [sink.Undoer]). An empty
// batch keeps no log.
//
// The logs are two tables of the store's schema, which [Migrations]
// creates:
//
//	intake_undo_runs  run_id text PRIMARY KEY, job, state (kept, refused,
//	                  expired, undoing, undone), reason (of a refused run),
//	                  started (the first batch's time), expired,
//	                  undone_by, last_seq (the last batch's number),
//	                  objects text[] (the object types of its entries)
//	intake_undo       run_id, seq, time, data bytea: one row per batch
//	                  that kept entries, PRIMARY KEY (run_id, seq)
//
// data is the batch's entries in the encoding of
// [github.com/intakehq/intake/sink/internal/undolog], built in Go as the ops
// are applied to the rows the batch reads anyway: an update's entry holds
// the fields it changed with their values before (from the row read, FOR
// UPDATE, in the transaction) and after; a create's the digest of its
// values as stored (sink.Digest by field name, with the flags its table has
// columns for); a delete's every non-null field of the row it deletes. A
// record whose link an op with Unlink removes gets an UndoUpdate entry
// with the link's value before. So keeping the log adds no statement that
// reads a record: the batch's first round trip upserts the run's row
// (INSERT … ON CONFLICT DO UPDATE SET last_seq = last_seq + 1 RETURNING
// last_seq, which numbers the batch and holds the row's lock until
// commit, serializing the batches of one run), and its last one inserts
// the log's row. The run's row is locked after the key guard's advisory
// locks and before any record's row, the order [Store.Revert] keeps too.
//
// A run refused (run.Refused) keeps no entry: its row is recorded refused
// with the reason, and the entries of its batches before are dropped. A
// batch of a run that an undo began (undoing, undone) fails with an error
// wrapping [sink.ErrNotUndoable], writing nothing: the run's row, which the
// batch holds from its first round trip to its commit and [Store.Revert]
// locks first, orders the two, so that a batch either commits before the
// undo reads the log or finds the undo begun. A run that PruneUndo
// expired is written and keeps no more entries. An empty batch keeps no
// log and does not count as a batch of the run. Values that a host table stores otherwise than written
// (a numeric column with fewer decimals, a char(n) column that pads) make
// the records they are in conflicts for an undo (changed after the run):
// an undo then leaves them as they are, unless forced.
func (p *Store) WriteUndo(ctx context.Context, batch []*sink.Op, run sink.UndoRun, cp *sink.Checkpoint) (int, error) {
	if run.RunID == "" {
		return 0, errors.New("postgres: WriteUndo: empty UndoRun.RunID: name the run")
	}
	for _, s := range []string{run.RunID, run.Job, run.Refused} {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return 0, fmt.Errorf("postgres: WriteUndo: UndoRun of %q: PostgreSQL text cannot hold NUL bytes or invalid UTF-8", run.RunID)
		}
	}
	if cp != nil {
		if cp.RunID == "" {
			return 0, errors.New("postgres: WriteUndo: empty Checkpoint.RunID: name the run")
		}
		if cp.Line < 0 {
			return 0, fmt.Errorf("postgres: WriteUndo: negative Checkpoint.Line %d", cp.Line)
		}
	}
	if run.Refused == "" {
		for _, op := range batch {
			if op == nil || op.Record == nil {
				continue // write reports it
			}
			switch {
			case op.Kind == sink.OpAnonymize:
				return 0, ops.RecordError(op, fmt.Errorf("%w: anonymize op in run %q, kept for undo: an anonymization keeps no before-image; set UndoRun.Refused", sink.ErrInvalidOp, run.RunID))
			case op.Kind == sink.OpDelete && !run.Deletes:
				return 0, ops.RecordError(op, fmt.Errorf("%w: delete op in run %q, kept for undo without UndoRun.Deletes: set Deletes to keep the records it deletes, or UndoRun.Refused", sink.ErrInvalidOp, run.RunID))
			}
		}
	}
	if len(batch) == 0 {
		return p.write(ctx, nil, cp, nil)
	}
	return p.write(ctx, batch, cp, &run)
}

// queueRun queues, in the batch's first round trip, the upsert of the
// run's row, which numbers the batch and locks the row until commit.
func (w *pgBatch) queueRun(b *pgx.Batch) {
	r := w.run
	if r == nil {
		return
	}
	state := runKept
	if r.undo == nil {
		state = runRefused
	}
	b.Queue(`INSERT INTO `+w.p.runsTable+` AS r (run_id, job, state, reason, started, last_seq) VALUES ($1, $2, $3, $4, $5, 1)
ON CONFLICT (run_id) DO UPDATE SET last_seq = r.last_seq + 1,
	state = CASE WHEN EXCLUDED.state = 'refused' AND r.state = 'kept' THEN 'refused' ELSE r.state END,
	reason = CASE WHEN EXCLUDED.state = 'refused' AND r.state = 'kept' THEN EXCLUDED.reason ELSE r.reason END
RETURNING last_seq, state, objects`, r.run.RunID, r.run.Job, state, r.run.Refused, w.p.cfg.Now().UTC().Truncate(time.Microsecond))
}

// readRun reads the result of queueRun.
func (w *pgBatch) readRun(br pgx.BatchResults) error {
	r := w.run
	if r == nil {
		return nil
	}
	if err := br.QueryRow().Scan(&r.seq, &r.state, &r.objects); err != nil {
		return fmt.Errorf("undo log of run %q: %w", r.run.RunID, err)
	}
	if r.state == runUndoing || r.state == runUndone {
		return fmt.Errorf("%w: run %q is %s: an undo of it began, which would not see this batch", sink.ErrNotUndoable, r.run.RunID, r.state)
	}
	return nil
}

// queueUndo queues, in the batch's last round trip, the insert of the
// batch's log (of a run still kept: not refused nor expired) and the run's
// object types when the batch adds some; for a run refused by this batch,
// the deletion of the log of its batches before.
func (w *pgBatch) queueUndo() {
	r := w.run
	if r == nil {
		return
	}
	if r.undo == nil {
		if r.state == runRefused {
			w.writes.Queue(`DELETE FROM `+w.p.undoTable+` WHERE run_id = $1`, r.run.RunID)
			r.queued++
		}
		return
	}
	r.undo.wait()
	if r.undo.w.Len() == 0 || r.state != runKept {
		return
	}
	w.writes.Queue(`INSERT INTO `+w.p.undoTable+` (run_id, seq, time, data) VALUES ($1, $2, $3, $4)`, r.run.RunID, r.seq, w.now, r.undo.w.Bytes())
	r.queued++
	objects := r.objects
	for _, o := range r.undo.objects {
		if !slices.Contains(objects, o) {
			objects = append(objects, o)
		}
	}
	if len(objects) > len(r.objects) {
		slices.Sort(objects)
		w.writes.Queue(`UPDATE `+w.p.runsTable+` SET objects = $2 WHERE run_id = $1`, r.run.RunID, objects)
		r.queued++
	}
}

// readUndo reads the results of queueUndo.
func (w *pgBatch) readUndo(br pgx.BatchResults) error {
	if w.run == nil {
		return nil
	}
	for range w.run.queued {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("undo log of run %q: %w", w.run.run.RunID, err)
		}
	}
	return nil
}

// UndoStatus returns what intake_undo_runs holds of the run, with the
// number of batches intake_undo holds of it; a run without a row there is
// an error wrapping [sink.ErrNoUndo].
func (p *Store) UndoStatus(ctx context.Context, runID string) (sink.UndoStatus, error) {
	st := sink.UndoStatus{RunID: runID}
	var state string
	var expired *time.Time
	err := p.read(ctx, func() error {
		return p.pool.QueryRow(ctx, `SELECT job, state, reason, started, expired, undone_by,
	(SELECT count(*) FROM `+p.undoTable+` u WHERE u.run_id = r.run_id)
FROM `+p.runsTable+` r WHERE run_id = $1`, runID).Scan(&st.Job, &state, &st.Reason, &st.Started, &expired, &st.UndoneBy, &st.Batches)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return sink.UndoStatus{}, fmt.Errorf("postgres: undo status of run %q: %w", runID, sink.ErrNoUndo)
	}
	if err != nil {
		return sink.UndoStatus{}, fmt.Errorf("postgres: undo status of run %q: %w", runID, p.missingUndo(err))
	}
	st.State, st.Started = sink.UndoState(state), st.Started.UTC()
	if expired != nil {
		st.Expired = expired.UTC()
	}
	return st, nil
}

// missingUndo is missingTable of the undo table that err names.
func (p *Store) missingUndo(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.Contains(pe.Message, "intake_undo_runs") {
		return p.missingTable(err, "intake_undo_runs")
	}
	return p.missingTable(err, "intake_undo")
}

// seqBelow is the bound of a query of the batches below before (0: all).
func seqBelow(before int64) int64 {
	if before <= 0 {
		return math.MaxInt64
	}
	return before
}

// ReadUndo returns the newest batch of the run's log whose Seq is below
// before (every batch when before is 0), decoded, and false when there is
// none (see [sink.Undoer]): one indexed query.
func (p *Store) ReadUndo(ctx context.Context, runID string, before int64) (sink.UndoBatch, bool, error) {
	b := sink.UndoBatch{RunID: runID}
	var data []byte
	err := p.read(ctx, func() error {
		return p.pool.QueryRow(ctx, `SELECT seq, time, data FROM `+p.undoTable+` WHERE run_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1`,
			runID, seqBelow(before)).Scan(&b.Seq, &b.Time, &data)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return sink.UndoBatch{}, false, nil
	}
	if err != nil {
		return sink.UndoBatch{}, false, fmt.Errorf("postgres: undo log of run %q: %w", runID, p.missingUndo(err))
	}
	b.Time = b.Time.UTC()
	if b.Entries, err = undolog.Decode(data); err != nil {
		return sink.UndoBatch{}, false, fmt.Errorf("postgres: undo log of run %q, batch %d: %w", runID, b.Seq, err)
	}
	return b, true, nil
}

// PruneUndo drops the logs that r no longer keeps (see [sink.Undoer]), in
// one transaction: an UPDATE marks expired, at now, the runs in state kept
// beyond the r.MaxRuns newest (by their start) or started before now -
// r.MaxAge, and a DELETE drops their batches. A run being undone or
// written holds its row's lock, which the UPDATE waits for; it then
// leaves a run that an undo began meanwhile alone, and a batch of the run
// that commits after it keeps no log.
func (p *Store) PruneUndo(ctx context.Context, r sink.Retention, now time.Time) (int, error) {
	r = r.Limits()
	maxRuns := int64(-1)
	if r.MaxRuns > 0 {
		maxRuns = int64(r.MaxRuns)
	}
	var oldest *time.Time
	if r.MaxAge > 0 {
		t := now.Add(-r.MaxAge)
		oldest = &t
	}
	tx, err := p.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune undo logs: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit a no-op
	rows, err := tx.Query(ctx, `UPDATE `+p.runsTable+` AS r SET state = 'expired', expired = $3
FROM (SELECT run_id, started, row_number() OVER (ORDER BY started DESC, run_id DESC) AS n FROM `+p.runsTable+` WHERE state = 'kept') k
WHERE r.run_id = k.run_id AND r.state = 'kept' AND (($1::bigint >= 0 AND k.n > $1) OR k.started < $2::timestamptz)
RETURNING r.run_id`, maxRuns, oldest, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune undo logs: %w", p.missingUndo(err))
	}
	dropped, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("postgres: prune undo logs: %w", err)
	}
	if len(dropped) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+p.undoTable+` WHERE run_id = ANY($1)`, dropped); err != nil {
		return 0, fmt.Errorf("postgres: prune undo logs: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: prune undo logs: %w", err)
	}
	return len(dropped), nil
}
