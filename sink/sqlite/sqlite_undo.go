package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/undolog"
)

// The undo logs of the SQLite sinks ([Store] and [Table], see
// [sink.Undoer]): Intake's tables intake_undo_runs, a row per run, and
// intake_undo, a row per batch of a run that changed something, in the
// database of the records. The layout is documented at [Store]. A run's
// row names the sink that keeps its log (the column sink: empty for a
// Store, the host table's name for a Table), so that two sinks on one
// database each see their own runs only.
//
// The statements of a batch's log and of a revert run in the
// transaction of the batch or of the revert: a Store's on the batch's
// driver connection (sqlWriter), a Table's in its *sql.Tx (txConn).

// The states of intake_undo_runs.state: those of [sink.UndoState].
const (
	undoKept    = string(sink.UndoKept)
	undoRefused = string(sink.UndoRefused)
	undoExpired = string(sink.UndoExpired)
	undoUndoing = string(sink.UndoUndoing)
	undoUndone  = string(sink.UndoUndone)
)

// undoConn runs the undo log's statements: in the write transaction of a
// batch or a revert, or on the database for a read.
type undoConn interface {
	execUndo(q string, args ...any) error
	// queryUndo calls fn for each row of q; the row's values are the
	// driver's (int64, float64, string, []byte or nil), valid until fn
	// returns.
	queryUndo(q string, args []any, fn func(row []any) error) error
}

// execUndo runs q on the batch's connection.
func (w *sqlWriter) execUndo(q string, args ...any) error {
	return w.exec(context.Background(), q, w.bindAny(args))
}

// queryUndo runs q on the batch's connection.
func (w *sqlWriter) queryUndo(q string, args []any, fn func([]any) error) error {
	rows, err := w.query(q, w.bindAny(args))
	if err != nil {
		return err
	}
	dest := make([]driver.Value, len(rows.Columns()))
	row := make([]any, len(dest))
	for err == nil {
		if err = rows.Next(dest); err != nil {
			break
		}
		for i, v := range dest {
			row[i] = v
		}
		err = fn(row)
	}
	if err == io.EOF {
		err = nil
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// bindAny sets the batch's arguments to args.
func (w *sqlWriter) bindAny(args []any) []driver.NamedValue {
	w.grow(len(args))
	a := w.args[:len(args)]
	for i, v := range args {
		a[i].Value = v
	}
	return a
}

// txConn is the undoConn of a *sql.Tx.
type txConn struct {
	ctx context.Context
	tx  *sql.Tx
}

func (c txConn) execUndo(q string, args ...any) error {
	_, err := c.tx.ExecContext(c.ctx, q, args...)
	return err
}

func (c txConn) queryUndo(q string, args []any, fn func([]any) error) error {
	rows, err := c.tx.QueryContext(c.ctx, q, args...)
	return eachRow(rows, err, fn)
}

// dbConn is the undoConn of a *sql.DB, for the reads of UndoStatus and
// ReadUndo outside a transaction.
type dbConn struct {
	ctx context.Context
	db  *sql.DB
}

func (c dbConn) execUndo(q string, args ...any) error {
	_, err := c.db.ExecContext(c.ctx, q, args...)
	return err
}

func (c dbConn) queryUndo(q string, args []any, fn func([]any) error) error {
	rows, err := c.db.QueryContext(c.ctx, q, args...)
	return eachRow(rows, err, fn)
}

// eachRow calls fn for each of rows, the result of a query that failed
// with err or not, with the row's values, and closes rows.
func eachRow(rows *sql.Rows, err error, fn func([]any) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	row := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range row {
		ptrs[i] = &row[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// anyString returns the text of a driver value (string or bytes).
func anyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// anyInt returns the integer of a driver value.
func anyInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

// undoRunRow is a row of intake_undo_runs.
type undoRunRow struct {
	sink, job, state, reason, objects, undoneBy string
	started, lastSeq                            int64
	expired                                     sql.NullInt64
}

// readUndoRun reads the row of runID from intake_undo_runs.
func readUndoRun(c undoConn, runID string) (r undoRunRow, ok bool, err error) {
	err = c.queryUndo(`SELECT sink, job, state, reason, objects, started, expired, undone_by, last_seq FROM intake_undo_runs WHERE run_id = ?`,
		[]any{runID}, func(row []any) error {
			ok = true
			r.sink, r.job, r.state, r.reason, r.objects = anyString(row[0]), anyString(row[1]), anyString(row[2]), anyString(row[3]), anyString(row[4])
			r.started = anyInt(row[5])
			if row[6] != nil {
				r.expired = sql.NullInt64{Int64: anyInt(row[6]), Valid: true}
			}
			r.undoneBy, r.lastSeq = anyString(row[7]), anyInt(row[8])
			return nil
		})
	if err != nil {
		return r, false, fmt.Errorf("sqlite: read the undo log of run %q: %w", runID, err)
	}
	return r, ok, nil
}

// sinkName is how intake_undo_runs.sink names a sink: empty for a Store,
// the host table for a Table.
func sinkName(name string) string {
	if name == "" {
		return "the SQLite store"
	}
	return "the sink of table " + name
}

// noUndo is the error of a run whose log the sink of table name (empty:
// a Store) does not keep: r, when ok, is the run's row of another sink.
func noUndo(what, runID, name string, r undoRunRow, ok bool) error {
	if ok {
		return fmt.Errorf("sqlite: %s run %q: %w: %s keeps its log, not %s", what, runID, sink.ErrNoUndo, sinkName(r.sink), sinkName(name))
	}
	return fmt.Errorf("sqlite: %s run %q: %w", what, runID, sink.ErrNoUndo)
}

// checkUndoBatch checks the arguments of WriteUndo before a batch is
// applied: a run id; no checkpoint, which the SQLite sinks do not keep;
// and, unless the run is refused, no op that keeps no before-image (an
// anonymize, a delete without run.Deletes).
func checkUndoBatch(batch []*sink.Op, run sink.UndoRun, cp *sink.Checkpoint) error {
	if run.RunID == "" {
		return errors.New("sqlite: WriteUndo: empty UndoRun.RunID: name the run")
	}
	if cp != nil {
		return errors.New("sqlite: WriteUndo with a checkpoint: the SQLite sinks keep no checkpoints (they are no sink.Checkpointer): pass nil")
	}
	if run.Refused != "" {
		return nil
	}
	for _, op := range batch {
		if op == nil {
			continue // ops.Check refuses it
		}
		switch {
		case op.Kind == sink.OpAnonymize:
			return ops.RecordError(op, fmt.Errorf("%w: an anonymize keeps no before-image, so a run that anonymizes cannot be undone: set UndoRun.Refused", sink.ErrInvalidOp))
		case op.Kind == sink.OpDelete && !run.Deletes:
			return ops.RecordError(op, fmt.Errorf("%w: a delete of a run without UndoRun.Deletes keeps no before-image: set Deletes to keep the deleted records, or Refused", sink.ErrInvalidOp))
		}
	}
	return nil
}

// undoTxRun is the run of a WriteUndo batch as its transaction found it
// when it began: its row of intake_undo_runs, when ok.
type undoTxRun struct {
	run sink.UndoRun
	row undoRunRow
	ok  bool
}

// openUndoRun reads, in c, the transaction of a batch of run for the sink
// of table name (empty: a Store), the run's row, before the batch is
// applied. A run whose log another sink keeps, or that an undo began
// (undoing, undone: the undo would not see the batch), fails the batch;
// the error of the latter wraps sink.ErrNotUndoable. keep reports whether
// the batch keeps entries: not for a refused run, nor for an expired one,
// which keeps no more log.
func openUndoRun(c undoConn, name string, run sink.UndoRun) (u undoTxRun, keep bool, err error) {
	u.run = run
	if u.row, u.ok, err = readUndoRun(c, run.RunID); err != nil || !u.ok {
		return u, err == nil && run.Refused == "", err
	}
	switch r := u.row; {
	case r.sink != name:
		return u, false, fmt.Errorf("sqlite: WriteUndo of run %q: %s keeps the run's log, not %s", run.RunID, sinkName(r.sink), sinkName(name))
	case r.state == undoUndoing || r.state == undoUndone:
		return u, false, fmt.Errorf("sqlite: WriteUndo of run %q: %w: it is %s, and an undo would not see the batch", run.RunID, sink.ErrNotUndoable, r.state)
	}
	return u, run.Refused == "" && u.row.state == undoKept, nil
}

// logUndoBatch records the batch of u in c, the batch's transaction: it
// creates or updates the run's row in intake_undo_runs (for the sink of
// table name; empty: a Store) and, when data holds entries, inserts the
// batch's log as the run's next seq, with fields (the JSON of a Table's
// batch schema, or nil). now is the batch's time in Unix microseconds;
// objects are the object types the batch wrote. A refused run is marked
// refused, with its reason; otherwise the run keeps its state. An expired
// run is left as it is.
func logUndoBatch(c undoConn, name string, u undoTxRun, objects []string, now int64, data []byte, fields any) error {
	run, r := u.run, u.row
	if u.ok && r.state == undoExpired {
		return nil
	}
	seq := r.lastSeq
	if data != nil {
		seq++
	}
	var err error
	if !u.ok {
		state, reason := undoKept, ""
		if run.Refused != "" {
			state, reason = undoRefused, run.Refused
		}
		err = c.execUndo(`INSERT INTO intake_undo_runs (run_id, sink, job, state, reason, objects, started, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			run.RunID, name, run.Job, state, reason, strings.Join(objects, " "), now, seq)
	} else {
		if run.Refused != "" {
			r.state, r.reason = undoRefused, run.Refused
		}
		if run.Job != "" {
			r.job = run.Job
		}
		all := strings.Fields(r.objects)
		for _, o := range objects {
			if !slices.Contains(all, o) {
				all = append(all, o)
			}
		}
		err = c.execUndo(`UPDATE intake_undo_runs SET job = ?, state = ?, reason = ?, objects = ?, last_seq = ? WHERE run_id = ?`,
			r.job, r.state, r.reason, strings.Join(all, " "), seq, run.RunID)
	}
	if err == nil && data != nil {
		err = c.execUndo(`INSERT INTO intake_undo (run_id, seq, time, fields, data) VALUES (?, ?, ?, ?, ?)`, run.RunID, seq, now, fields, data)
	}
	if err != nil {
		return fmt.Errorf("sqlite: undo log of run %q: %w", run.RunID, err)
	}
	return nil
}

// undoStatus reads the status of runID in db, for the sink of table name
// (empty: a Store).
func undoStatus(ctx context.Context, db *sql.DB, name, runID string) (sink.UndoStatus, error) {
	if err := ctx.Err(); err != nil {
		return sink.UndoStatus{}, err
	}
	c := dbConn{ctx, db}
	r, ok, err := readUndoRun(c, runID)
	if err != nil {
		return sink.UndoStatus{}, err
	}
	if !ok || r.sink != name {
		return sink.UndoStatus{}, noUndo("status of", runID, name, r, ok)
	}
	st := sink.UndoStatus{RunID: runID, Job: r.job, State: sink.UndoState(r.state), Reason: r.reason,
		Started: time.UnixMicro(r.started).UTC(), UndoneBy: r.undoneBy}
	if r.expired.Valid {
		st.Expired = time.UnixMicro(r.expired.Int64).UTC()
	}
	err = c.queryUndo(`SELECT count(*) FROM intake_undo WHERE run_id = ?`, []any{runID}, func(row []any) error {
		st.Batches = anyInt(row[0])
		return nil
	})
	if err != nil {
		return sink.UndoStatus{}, fmt.Errorf("sqlite: undo status of run %q: %w", runID, err)
	}
	return st, nil
}

// undoBatchRow is a row of intake_undo, decoded.
type undoBatchRow struct {
	b      sink.UndoBatch
	fields string // the JSON of a Table's batch schema
}

// readUndoBatch reads, in c, the newest batch of runID's log whose seq is
// below before (every batch when before is 0 or less), and false when
// there is none.
func readUndoBatch(c undoConn, runID string, before int64) (undoBatchRow, bool, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	var out undoBatchRow
	var data []byte
	found := false
	err := c.queryUndo(`SELECT seq, time, fields, data FROM intake_undo WHERE run_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1`,
		[]any{runID, before}, func(row []any) error {
			found = true
			out.b.RunID, out.b.Seq, out.b.Time = runID, anyInt(row[0]), time.UnixMicro(anyInt(row[1])).UTC()
			out.fields = anyString(row[2])
			switch d := row[3].(type) {
			case []byte:
				data = bytes.Clone(d) // the driver may reuse it
			case string:
				data = []byte(d)
			}
			return nil
		})
	if err != nil {
		return out, false, fmt.Errorf("sqlite: read the undo log of run %q: %w", runID, err)
	}
	if !found {
		return out, false, nil
	}
	if out.b.Entries, err = undolog.Decode(data); err != nil {
		return out, false, fmt.Errorf("sqlite: undo log of run %q, batch %d: %w", runID, out.b.Seq, err)
	}
	return out, true, nil
}

// readUndo is ReadUndo of the sink of table name (empty: a Store).
func readUndo(ctx context.Context, db *sql.DB, name, runID string, before int64) (sink.UndoBatch, bool, error) {
	if err := ctx.Err(); err != nil {
		return sink.UndoBatch{}, false, err
	}
	c := dbConn{ctx, db}
	r, ok, err := readUndoRun(c, runID)
	if err != nil || !ok || r.sink != name {
		return sink.UndoBatch{}, false, err
	}
	row, ok, err := readUndoBatch(c, runID, before)
	return row.b, ok, err
}

// pruneUndo is PruneUndo of the sink of table name (empty: a Store), whose
// writes mu serializes: in one transaction it marks expired the kept runs
// that r no longer keeps, and deletes their logs.
func pruneUndo(ctx context.Context, db *sql.DB, mu *sync.Mutex, name string, r sink.Retention, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r = r.Limits()
	if r.MaxAge < 0 && r.MaxRuns < 0 {
		return 0, nil
	}
	var conds []string
	args := []any{now.UnixMicro(), name}
	if r.MaxAge >= 0 {
		conds = append(conds, "started < ?")
		args = append(args, now.Add(-r.MaxAge).UnixMicro())
	}
	if r.MaxRuns >= 0 {
		conds = append(conds, "run_id IN (SELECT run_id FROM intake_undo_runs WHERE sink = ?2 AND state = 'kept' ORDER BY started DESC, run_id DESC LIMIT -1 OFFSET ?)")
		args = append(args, int64(r.MaxRuns))
	}
	q := `UPDATE intake_undo_runs SET state = 'expired', expired = ?1 WHERE sink = ?2 AND state = 'kept' AND (` + strings.Join(conds, " OR ") + `) RETURNING run_id`
	mu.Lock()
	defer mu.Unlock()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune the undo logs: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit a no-op
	c := txConn{ctx, tx}
	var dropped []string
	if err := c.queryUndo(q, args, func(row []any) error {
		dropped = append(dropped, anyString(row[0]))
		return nil
	}); err != nil {
		return 0, fmt.Errorf("sqlite: prune the undo logs: %w", err)
	}
	for _, id := range dropped {
		if err := c.execUndo(`DELETE FROM intake_undo WHERE run_id = ?`, id); err != nil {
			return 0, fmt.Errorf("sqlite: prune the undo logs: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: prune the undo logs: %w", err)
	}
	return len(dropped), nil
}

// revertUndo is Revert in c, the revert's write transaction, for the sink
// of table name (empty: a Store): it checks the run, reads the newest
// batch of its log below before, reverts it with revert (which reads the
// batch's records in c, decides with sink.PlanRevert and writes the
// result), then drops the batch from the log or keeps the entries of its
// records in conflict, and marks the run undoing. When no batch is below
// before it ends the undo: an audit entry per object type the run wrote
// (one with Object empty for a run that wrote none), and the run undone
// when its log holds no batch any more. An undo that reverted batches
// already (before > 0) and finds the run undone, by another process that
// reverted the rest at the same time, ends too.
func revertUndo(c undoConn, name, runID string, before int64, opts sink.RevertOptions, audit sink.AuditEntry,
	revert func(b sink.UndoBatch, fields string) (sink.RevertResult, error)) (sink.RevertResult, bool, error) {
	r, ok, err := readUndoRun(c, runID)
	if err != nil {
		return sink.RevertResult{}, false, err
	}
	if !ok || r.sink != name {
		return sink.RevertResult{}, false, noUndo("revert", runID, name, r, ok)
	}
	if r.state != undoKept && r.state != undoUndoing && (r.state != undoUndone || before <= 0) {
		return sink.RevertResult{}, false, fmt.Errorf("sqlite: revert run %q: %w: it is %s", runID, sink.ErrNotUndoable, r.state)
	}
	row, found, err := readUndoBatch(c, runID, before)
	if err != nil {
		return sink.RevertResult{}, false, err
	}
	if !found {
		return sink.RevertResult{}, false, endUndo(c, runID, r, opts, audit)
	}
	res, err := revert(row.b, row.fields)
	if err != nil {
		return sink.RevertResult{}, false, fmt.Errorf("sqlite: revert run %q, batch %d: %w", runID, row.b.Seq, err)
	}
	// The entries of the records left in conflict stay in the log.
	var kept map[sink.RecordRef]bool
	for _, cf := range res.Conflicts {
		if !cf.Forced {
			if kept == nil {
				kept = map[sink.RecordRef]bool{}
			}
			kept[sink.RecordRef{Object: cf.Object, ID: cf.ID}] = true
		}
	}
	switch {
	case kept == nil:
		err = c.execUndo(`DELETE FROM intake_undo WHERE run_id = ? AND seq = ?`, runID, row.b.Seq)
	case res.Conflicted < len(row.b.Entries):
		var w undolog.Writer
		for i := range row.b.Entries {
			if e := &row.b.Entries[i]; kept[sink.RecordRef{Object: e.Object, ID: e.ID}] {
				w.Add(e)
			}
		}
		err = c.execUndo(`UPDATE intake_undo SET data = ? WHERE run_id = ? AND seq = ?`, w.Bytes(), runID, row.b.Seq)
	}
	if err == nil {
		err = c.execUndo(`UPDATE intake_undo_runs SET state = 'undoing', undone_by = ? WHERE run_id = ?`, opts.UndoID, runID)
	}
	if err != nil {
		return sink.RevertResult{}, false, fmt.Errorf("sqlite: revert run %q, batch %d: %w", runID, row.b.Seq, err)
	}
	return res, true, nil
}

// endUndo ends the undo of runID, whose row is r, in c (see revertUndo).
// A run that another undo ended keeps its state and UndoneBy.
func endUndo(c undoConn, runID string, r undoRunRow, opts sink.RevertOptions, audit sink.AuditEntry) error {
	var left int64
	err := c.queryUndo(`SELECT count(*) FROM intake_undo WHERE run_id = ?`, []any{runID}, func(row []any) error {
		left = anyInt(row[0])
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: end the undo of run %q: %w", runID, err)
	}
	objects := strings.Fields(r.objects)
	if len(objects) == 0 {
		objects = []string{""}
	}
	a := audit
	a.RecordID, a.Action, a.Line = "", sink.ActionUndo, 0
	a.Field, a.TargetObject, a.TargetID = "", "run", runID
	a.Time = a.Time.Truncate(time.Microsecond).UTC()
	for _, o := range objects {
		a.Object = o
		if err := c.execUndo(sqlAuditInsert, auditArgs(a)...); err != nil {
			return fmt.Errorf("sqlite: audit entry of the undo of run %q: %w", runID, err)
		}
	}
	if r.state == undoUndone {
		return nil
	}
	state := undoUndoing
	if left == 0 {
		state = undoUndone
	}
	if err := c.execUndo(`UPDATE intake_undo_runs SET state = ?, undone_by = ? WHERE run_id = ?`, state, opts.UndoID, runID); err != nil {
		return fmt.Errorf("sqlite: end the undo of run %q: %w", runID, err)
	}
	return nil
}

// checkRevert checks the arguments of Revert.
func checkRevert(ctx context.Context, runID string, opts sink.RevertOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if runID == "" {
		return errors.New("sqlite: Revert: empty run id")
	}
	if opts.UndoID == "" {
		return errors.New("sqlite: Revert: empty RevertOptions.UndoID: name the undo's run")
	}
	return nil
}

// digest returns the digest of a row of t that a create stores (see
// [sink.Digest]): its non-null column values vals by field name, and its
// flags. It is the [sink.RecordDigest] of the record Get returns.
func (t *sqlTable) digest(vals []intake.Value, opted, inactive bool) uint64 {
	var d sink.Digest
	for j, x := range vals {
		if !x.IsNull() {
			d.Add(t.cols[j].Name, x)
		}
	}
	d.Flags(opted, inactive)
	return uint64(d)
}

// logChange appends the UndoUpdate entry of the record id (of t, from
// the source line) whose column values went from before to after, with
// the opted-out flag change opted: the fields that differ, each with
// its values. It appends nothing when nothing changed.
func (w *sqlWriter) logChange(t *sqlTable, id string, line int, opted sink.FlagChange, before, after []intake.Value) {
	n := 0
	for j := range after {
		if after[j] != before[j] {
			n++
		}
	}
	if n == 0 && !opted.Changed {
		return
	}
	w.undo.Begin(sink.UndoUpdate, t.object, id, line, opted, sink.FlagChange{}, n)
	for j := range after {
		if after[j] != before[j] {
			w.undo.Field(t.cols[j].Name, before[j], after[j])
		}
	}
}

// logDelete appends the UndoDelete entry of op's record, whose row is st:
// every non-null field and both flags.
func (w *sqlWriter) logDelete(t *sqlTable, op *sink.Op, st *rowState) {
	n := 0
	for _, x := range st.vals {
		if !x.IsNull() {
			n++
		}
	}
	w.undo.Begin(sink.UndoDelete, t.object, op.Record.ID, op.Record.Line,
		sink.FlagChange{Changed: true, Before: st.opted}, sink.FlagChange{Changed: true, Before: st.inactive}, n)
	for j, x := range st.vals {
		if !x.IsNull() {
			w.undo.Field(t.cols[j].Name, x, intake.Null)
		}
	}
}

// logBatch stores the batch's undo log and its run's row (see
// logUndoBatch), at the batch's time now. The object types of the run
// are those of the batch's ops and of the records unlink changed.
func (w *sqlWriter) logBatch(now int64) error {
	objs := w.uobjs
	var last *sqlTable
	for _, v := range w.views {
		if v.t != last {
			last = v.t
			if !slices.Contains(objs, last.object) {
				objs = append(objs, last.object)
			}
		}
	}
	w.uobjs = objs
	var data []byte
	if w.undo != nil && w.undo.Len() > 0 {
		data = w.undo.Bytes()
	}
	return logUndoBatch(w, "", w.urun, objs, now, data, nil)
}

// Undoes reports true: the store keeps the undo logs of the runs written
// with WriteUndo and reverts them. It implements [sink.Undoer].
func (s *Store) Undoes() bool { return true }

// WriteUndo is [Store.Write] that also keeps the batch's undo log (see
// [sink.Undoer]) in the batch's transaction: the entries of the ops as
// they are applied (a create's digest is that of its stored row; an
// update, an opt-out, an inactivation or an OptIn keeps the fields and
// flags it changed, with their values before and after, as read in the
// transaction; a delete, with run.Deletes, keeps every non-null field and
// both flags; the links that Unlink removes from other records keep an
// entry of each such record), encoded as one intake_undo row with the
// run's next seq, and the run's row in intake_undo_runs, created by its
// first batch. A batch whose ops change nothing keeps no intake_undo row;
// an empty batch writes nothing at all. With run.Refused the run is
// recorded as refused, with its reason, and keeps no entry. Without it an
// OpAnonymize, or an OpDelete without run.Deletes, fails the batch before
// it begins with a *[sink.RecordError] wrapping [sink.ErrInvalidOp]. The
// run's row is read first in the batch's transaction: a run that an undo
// began (undoing, undone) fails the batch with an error wrapping
// [sink.ErrNotUndoable], and the batch of an expired run, or of a run
// refused before, is written without entries.
//
// The store keeps no checkpoints (it is no [sink.Checkpointer]): cp must
// be nil. A plain Write costs what it did: the log is kept only here.
func (s *Store) WriteUndo(ctx context.Context, batch []*sink.Op, run sink.UndoRun, cp *sink.Checkpoint) (int, error) {
	if err := checkUndoBatch(batch, run, cp); err != nil {
		return 0, err
	}
	return s.write(ctx, batch, &run)
}

// UndoStatus reads the run's row of intake_undo_runs and counts its
// batches in intake_undo. A run the store holds no row of (never written
// with WriteUndo, an undo, or a run of a [Table] on the same database) is
// an error wrapping [sink.ErrNoUndo].
func (s *Store) UndoStatus(ctx context.Context, runID string) (sink.UndoStatus, error) {
	return undoStatus(ctx, s.db, "", runID)
}

// ReadUndo reads and decodes the intake_undo row of the run's newest batch
// whose seq is below before (any, when before is 0).
func (s *Store) ReadUndo(ctx context.Context, runID string, before int64) (sink.UndoBatch, bool, error) {
	return readUndo(ctx, s.db, "", runID, before)
}

// PruneUndo marks expired, at now, the kept runs that r no longer keeps —
// those that started before now-MaxAge, and those beyond the MaxRuns
// newest kept runs by start — and deletes their intake_undo rows, in one
// transaction. A run being undone, refused or undone is left as it is.
func (s *Store) PruneUndo(ctx context.Context, r sink.Retention, now time.Time) (int, error) {
	return pruneUndo(ctx, s.db, &s.wmu, "", r, now)
}

// Revert reverts the run's newest batch below before in one IMMEDIATE
// transaction on the write path's connection (see [sink.Undoer]): it reads
// the run's row and the batch's intake_undo row, reads the rows of the
// batch's records in their tables, with the store's schema of each,
// decides with [sink.PlanRevert] and applies its actions as the write
// path does: a DELETE of a row the run created, an UPDATE of the fields
// and flags to restore (the key columns and updated_at with them, as an
// update sets them), an INSERT of a record the run deleted (with a new seq
// and created_at). It then deletes the intake_undo row, or rewrites it
// with the entries of the records left in conflict, and marks the run
// undoing by opts.UndoID. When no batch is below before, it inserts the
// undo's audit entries into intake_audit — one per object type the run
// wrote (Object that type, RecordID empty, Action [sink.ActionUndo],
// TargetObject "run", TargetID the run; Time, Reason, Actor, Job and
// RunID from audit) — and marks the run undone when its log holds no
// batch any more. Several processes may revert a run at once, each batch
// in one of their transactions: one that has reverted batches (before >
// 0) and finds the run undone by another, which reverted the rest, ends
// the same way, leaving the run's UndoneBy to the other.
func (s *Store) Revert(ctx context.Context, runID string, before int64, opts sink.RevertOptions, audit sink.AuditEntry) (sink.RevertResult, bool, error) {
	if err := checkRevert(ctx, runID, opts); err != nil {
		return sink.RevertResult{}, false, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	w := &s.w
	w.views = w.views[:0]
	var res sink.RevertResult
	var more bool
	err := w.txn(ctx, s, func(ver int64) error {
		if ver != s.ver {
			if _, err := w.reload(s); err != nil {
				return err
			}
			s.ver = ver
		}
		now := s.cfg.Now().UnixMicro()
		var err error
		res, more, err = revertUndo(w, "", runID, before, opts, audit, func(b sink.UndoBatch, _ string) (sink.RevertResult, error) {
			return w.revertBatch(s, b, opts.Force, now)
		})
		return err
	})
	w.reset()
	if err != nil {
		return sink.RevertResult{}, false, err
	}
	return res, more, nil
}

// revertBatch reverts b in the revert's transaction: it reads the rows of
// b's records, plans with sink.PlanRevert and applies the actions, at the
// time now.
func (w *sqlWriter) revertBatch(s *Store, b sink.UndoBatch, force bool, now int64) (sink.RevertResult, error) {
	if w.state == nil {
		w.state, w.want = map[stateKey]*rowState{}, map[*sqlTable][]string{}
	}
	tables := map[string]*sqlTable{}
	for i := range b.Entries {
		e := &b.Entries[i]
		t := tables[e.Object]
		if t == nil {
			s.mu.RLock()
			t = s.tables[e.Object]
			s.mu.RUnlock()
			if t == nil {
				return sink.RevertResult{}, fmt.Errorf("the log names the object type %q, which the store does not hold", e.Object)
			}
			tables[e.Object] = t
		}
		k := stateKey{t.object, e.ID}
		if _, ok := w.state[k]; !ok {
			w.state[k] = nil
			w.want[t] = append(w.want[t], e.ID)
		}
	}
	for t, ids := range w.want {
		if err := w.prefetch(t, ids); err != nil {
			return sink.RevertResult{}, err
		}
	}
	current := make(map[sink.RecordRef]*intake.Record, len(w.state))
	for k, st := range w.state {
		if st != nil {
			current[sink.RecordRef{Object: k.object, ID: k.id}] = &intake.Record{Schema: tables[k.object].store, ID: k.id,
				Values: st.vals, OptedOut: st.opted, Inactive: st.inactive}
		}
	}
	acts, res := sink.PlanRevert(b, current, force)
	for i := range acts {
		a := &acts[i]
		if err := w.revertRecord(tables[a.Object], a, now); err != nil {
			return sink.RevertResult{}, fmt.Errorf("%s %s: %w", a.Object, a.ID, err)
		}
	}
	return res, nil
}

// revertRecord applies a, the revert of a record of t, at the time now.
func (w *sqlWriter) revertRecord(t *sqlTable, a *sink.RevertAction, now int64) error {
	id := a.ID
	switch a.Kind {
	case sink.RevertRemove:
		return w.exec(context.Background(), t.deleteSQL, w.bindAny([]any{id}))
	case sink.RevertInsert:
		vals := w.scratch(len(t.cols))
		clear(vals)
		if err := setFields(t, vals, a.Set); err != nil {
			return err
		}
		n := sqlInsertFixed + len(t.cols) + len(t.keys)
		w.grow(n)
		args := w.args[:n]
		args[0].Value, args[1].Value, args[2].Value, args[3].Value, args[4].Value = id, boolInt(a.OptedOut.Value), boolInt(a.Inactive.Value), now, now
		w.bindRow(args[sqlInsertFixed:], t, vals)
		return w.exec(context.Background(), t.insertSQL, args)
	case sink.RevertRestore:
		st := w.state[stateKey{t.object, id}]
		if st == nil {
			return errors.New("the record to restore is not stored") // cannot happen: PlanRevert read it
		}
		merged := append(w.merged[:0], st.vals...)
		w.merged = merged
		if err := setFields(t, merged, a.Set); err != nil {
			return err
		}
		w.grow(len(t.cols) + len(t.keys) + 2)
		op := &sink.Op{Kind: sink.OpUpdate, Record: &intake.Record{Schema: t.store, ID: id}}
		if _, err := w.change(op, t, st, merged, now); err != nil {
			return err
		}
		for _, f := range []struct {
			set     sink.SetFlag
			is      bool
			on, off string
		}{{a.OptedOut, st.opted, t.optOutSQL, t.optInSQL}, {a.Inactive, st.inactive, t.inactivateSQL, t.activateSQL}} {
			if !f.set.Set || f.set.Value == f.is {
				continue
			}
			q := f.off
			if f.set.Value {
				q = f.on
			}
			if err := w.exec(context.Background(), q, w.bindAny([]any{now, id})); err != nil {
				return err
			}
		}
	}
	return nil
}

// setFields sets the column values vals of t to the fields of set.
func setFields(t *sqlTable, vals []intake.Value, set []sink.FieldValue) error {
	for _, f := range set {
		j := t.store.Index(f.Name)
		if j < 0 {
			return fmt.Errorf("the log names the field %q, which the table %s does not have", f.Name, t.name)
		}
		vals[j] = f.Value
	}
	return nil
}

// openUndo reads the run of the WriteUndo batch in its transaction (see
// openUndoRun) and reports whether the batch keeps entries.
func (w *sqlWriter) openUndo() (keep bool, err error) {
	w.urun, keep, err = openUndoRun(w, "", *w.run)
	return keep, err
}
