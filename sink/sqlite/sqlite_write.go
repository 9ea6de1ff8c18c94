package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/guard"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/intakehq/intake/sink/internal/undolog"
)

// sqlWriter is the scratch space of Write. Write runs on one connection of
// the pool, taken for the batch, through the driver's own interfaces
// (database/sql's Conn.Raw): statements are prepared on that connection
// once per batch and executed once per row with reused arguments, as the
// sqlite3 shell imports. database/sql would add a conversion and an
// allocation per argument, and modernc.org/sqlite binds arguments in time
// quadratic in their number, which rules out big multi-row INSERTs.
//
// One INSERT … SELECT … FROM json_each(?) per batch, binding the batch's
// rows as one JSON array, was measured against this (10,000-row batches,
// modernc.org/sqlite v1.59.0, SQLite 3.53.4) and not kept: SQLite's
// extraction of each value (value->>N) costs about what the driver's
// binding saves. Text JSON read with ->> or json_extract took 1.5 to 1.9
// times the CPU per row, jsonb_each over that text about 5% more, a JSONB
// blob built in Go 0 to 4% less; one JSON array of keys for Lookup made no
// clear difference.
type sqlWriter struct {
	state  map[stateKey]*rowState
	want   map[*sqlTable][]string
	views  []*sqlView
	vals   []intake.Value
	merged []intake.Value

	dc    driver.Conn            // during a batch
	stmts map[string]driver.Stmt // prepared on dc, closed at the end of the batch
	args  []driver.NamedValue    // one per parameter: Ordinal i+1
	dest  []driver.Value
	bad   bool // dc may still be in a transaction: the pool must drop it

	// The undo log of a WriteUndo batch: run is nil in a plain Write, and
	// undo is nil too when the run is refused (no entries). Each op that
	// changes a record appends its entry to undo as it is applied.
	run   *sink.UndoRun
	undo  *undolog.Writer
	ulog  undolog.Writer // undo's buffer, kept across batches
	urun  undoTxRun      // the run as the batch's transaction found it
	uobjs []string       // the object types of the entries of other records (unlink)
}

// Write applies the batch in order in one transaction: all of it, or on an
// error nothing (n is 0 and the error names the record: a *[sink.RecordError]
// wrapping [sink.ErrNotFound] for an update, opt-out or lifecycle op of an id
// the table does not hold, [sink.ErrDuplicateID] for a create of a taken id,
// [sink.ErrInvalidOp] for a lifecycle op without an Audit entry with a Reason,
// or the constraint error of a row the database refused). Semantics as for
// [Memory.Write]: nulls keep stored values, Clear fields become null, an
// update that changes nothing is [intake.OutcomeUnchanged] and does not
// touch updated_at, updates never change the flags; lifecycle ops follow
// [sink.OpInactivate], [sink.OpDelete] and [sink.OpAnonymize] (a delete is a DELETE of
// the row), and each inserts its audit entry into intake_audit in the
// batch's transaction. Ops with [sink.Op.Unlink] have the links to their
// records removed in that transaction once the batch's ops are applied
// (see [Store.Unlinks]).
//
// Write takes one connection of the pool for the batch and begins an
// IMMEDIATE transaction on it. Each create is one execution of a prepared
// single-row INSERT; the other ops read the current rows with one query
// per hundred ids, compare in Go and write only what changed. A cancelled
// ctx stops the batch between two ops and rolls it back.
func (s *Store) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	return s.write(ctx, batch, nil)
}

// write is Write, and with run WriteUndo.
func (s *Store) write(ctx context.Context, batch []*sink.Op, run *sink.UndoRun) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(batch) == 0 {
		return 0, nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	w := &s.w
	w.views = w.views[:0]
	for _, op := range batch {
		if err := ops.Check(op); err != nil {
			return 0, ops.RecordError(op, err)
		}
		if _, err := s.ensureLocked(ctx, op.Record.Schema); err != nil {
			return 0, ops.RecordError(op, err)
		}
	}
	// The key columns that Op.Unique looks keys up in.
	schemas, specs := guard.Specs(batch)
	for i, spec := range specs {
		v, err := s.ensureLocked(ctx, schemas[i])
		if err == nil && v.t.key(spec) == nil {
			err = s.addKeyLocked(ctx, v.t, spec)
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: key column of %s for Op.Unique: %w", spec.Name(), err)
		}
	}
	// Views again: ensuring one schema can replace the table of another.
	var last *intake.Schema
	var lv *sqlView
	for _, op := range batch {
		if op.Record.Schema != last {
			last = op.Record.Schema
			lv, _ = s.ensureLocked(ctx, last)
		}
		w.views = append(w.views, lv)
		op.Outcome = intake.OutcomeNone
	}
	if run != nil {
		w.run = run
		if run.Refused == "" {
			w.ulog.Reset()
			w.undo = &w.ulog
		}
	}
	err := w.write(ctx, s, batch)
	if err != nil {
		for _, op := range batch {
			op.Outcome, op.Existing = intake.OutcomeNone, nil
		}
		err = s.explain(ctx, batch, err)
		w.reset()
		return 0, err
	}
	w.reset()
	return len(batch), nil
}

// write runs the batch in a transaction on a connection of the pool.
func (w *sqlWriter) write(ctx context.Context, s *Store, batch []*sink.Op) error {
	return w.txn(ctx, s, func(ver int64) error { return w.apply(ctx, s, batch, ver) })
}

// txn runs body in an IMMEDIATE transaction on a connection of the pool
// (see inTx), and commits unless body fails.
func (w *sqlWriter) txn(ctx context.Context, s *Store, body func(ver int64) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var werr error
	err = conn.Raw(func(dc any) error {
		werr = w.inTx(ctx, dc, body)
		if w.bad {
			return driver.ErrBadConn // database/sql closes the connection
		}
		return nil
	})
	if werr == nil {
		werr = err
	}
	return werr
}

func (w *sqlWriter) reset() {
	clear(w.state)
	clear(w.want)
	clear(w.views)
	for i := range w.args {
		w.args[i].Value = nil
	}
	clear(w.dest)
	w.dc, w.bad = nil, false
	w.run, w.undo, w.urun, w.uobjs = nil, nil, undoTxRun{}, w.uobjs[:0]
}

// inTx runs body in an IMMEDIATE transaction on the driver connection dc,
// with the schema version the transaction began at, and commits unless
// body fails or ctx is cancelled.
func (w *sqlWriter) inTx(ctx context.Context, dc any, body func(ver int64) error) (err error) {
	c, ok := dc.(driver.Conn)
	if !ok {
		return fmt.Errorf("driver connection %T is not a driver.Conn", dc)
	}
	w.dc, w.bad = c, false
	if w.stmts == nil {
		w.stmts = map[string]driver.Stmt{}
	}
	defer func() {
		for q, st := range w.stmts {
			st.Close()
			delete(w.stmts, q)
		}
	}()
	n := max(sqlInChunk, sqlAuditArgs)
	for _, v := range w.views {
		n = max(n, sqlInsertFixed+len(v.t.cols)+len(v.t.keys))
	}
	if len(w.args) < n {
		w.args = make([]driver.NamedValue, n)
		for i := range w.args {
			w.args[i].Ordinal = i + 1
		}
	}
	// The only statement run with ctx: a busy database can make BEGIN
	// IMMEDIATE wait up to the busy timeout. The others run without it, as
	// the driver would start a goroutine per statement to watch ctx.
	if err := w.exec(ctx, "BEGIN IMMEDIATE", nil); err != nil {
		w.rollback()
		return err
	}
	ver, err := w.schemaVersion()
	if err == nil {
		err = body(ver)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		if err = w.exec(context.Background(), "COMMIT", nil); err == nil {
			return nil
		}
	}
	w.rollback()
	return err
}

// rollback rolls the transaction back, if it is still open (SQLite rolls
// back on its own after some errors). When that fails the connection is
// dropped from the pool.
func (w *sqlWriter) rollback() {
	if err := w.exec(context.Background(), "ROLLBACK", nil); err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		w.bad = true
	}
}

// prepare returns the statement of query on the batch's connection.
func (w *sqlWriter) prepare(ctx context.Context, query string) (driver.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	var st driver.Stmt
	var err error
	if pc, ok := w.dc.(driver.ConnPrepareContext); ok {
		st, err = pc.PrepareContext(ctx, query)
	} else {
		st, err = w.dc.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

// exec runs query with args on the batch's connection.
func (w *sqlWriter) exec(ctx context.Context, query string, args []driver.NamedValue) error {
	st, err := w.prepare(ctx, query)
	if err != nil {
		return err
	}
	if se, ok := st.(driver.StmtExecContext); ok {
		_, err = se.ExecContext(ctx, args)
		return err
	}
	_, err = st.Exec(driverValues(args)) //nolint:staticcheck // drivers without StmtExecContext
	return err
}

// query runs query with args on the batch's connection.
func (w *sqlWriter) query(query string, args []driver.NamedValue) (driver.Rows, error) {
	ctx := context.Background()
	st, err := w.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	if sq, ok := st.(driver.StmtQueryContext); ok {
		return sq.QueryContext(ctx, args)
	}
	return st.Query(driverValues(args)) //nolint:staticcheck // drivers without StmtQueryContext
}

func driverValues(args []driver.NamedValue) []driver.Value {
	v := make([]driver.Value, len(args))
	for i, a := range args {
		v[i] = a.Value
	}
	return v
}

// schemaVersion returns PRAGMA schema_version on the batch's connection.
func (w *sqlWriter) schemaVersion() (int64, error) {
	rows, err := w.query("PRAGMA schema_version", nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: read the schema version: %w", err)
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return 0, fmt.Errorf("sqlite: read the schema version: %w", err)
	}
	v, ok := dest[0].(int64)
	if !ok {
		return 0, fmt.Errorf("sqlite: read the schema version: got %T", dest[0])
	}
	return v, nil
}

// sqlBatch is one batch of Write in its transaction, as the phases of
// apply go through it: the ops, the time their rows are stamped with, and
// what an earlier phase hands on to a later one.
type sqlBatch struct {
	w     *sqlWriter
	batch []*sink.Op
	now   driver.Value // the batch's time in Unix microseconds, boxed once

	tables  []*sqlTable // the tables to search for links (see sqlWriter.reload)
	unlinks ops.Unlinks // the targets of the ops with Unlink
}

// apply applies the batch in the transaction, which began at the schema
// version ver. It goes through the batch in phases: reload the stored
// schemas when another sink may have changed them, hold the creates that
// Op.Unique guards, read the rows that the other ops change, apply the
// ops in order (each lifecycle op with its audit entries), remove the
// links to the records of the ops with Unlink and, for WriteUndo, store
// the batch's undo log (whose run was checked first).
func (w *sqlWriter) apply(ctx context.Context, s *Store, batch []*sink.Op, ver int64) error {
	b := sqlBatch{w: w, batch: batch, now: s.cfg.Now().UnixMicro()}
	if err := b.reloadSchemas(s, ver); err != nil {
		return err
	}
	if w.run != nil {
		keep, err := w.openUndo()
		if err != nil {
			return err
		}
		if !keep {
			w.undo = nil
		}
	}
	// Creates whose keys another writer committed meanwhile are held.
	if err := w.guard(batch); err != nil {
		return err
	}
	if err := b.readRows(); err != nil {
		return err
	}
	for i, op := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.applyOp(w.views[i], op); err != nil {
			return err
		}
	}
	if b.unlinks != nil {
		if err := w.unlink(b.tables, b.unlinks, b.now); err != nil {
			return err
		}
	}
	if w.run != nil {
		return w.logBatch(b.now.(int64))
	}
	return nil
}

// reloadSchemas re-reads the stored schemas (see sqlWriter.reload) when
// the transaction began at another schema version than the sink's
// snapshot, or when an op has Unlink, which needs the tables to search for
// links.
func (b *sqlBatch) reloadSchemas(s *Store, ver int64) error {
	if ver == s.ver && !slices.ContainsFunc(b.batch, func(op *sink.Op) bool { return op.Unlink }) {
		return nil
	}
	tables, err := b.w.reload(s)
	if err != nil {
		return err
	}
	b.tables, s.ver = tables, ver
	return nil
}

// readRows reads the current rows of the records that the batch's ops
// other than creates name into w.state, one query per hundred ids of a
// table. A record created earlier in the batch is read too: a create of a
// stored id fails with ErrDuplicateID.
func (b *sqlBatch) readRows() error {
	w := b.w
	if w.state == nil {
		w.state, w.want = map[stateKey]*rowState{}, map[*sqlTable][]string{}
	}
	for i, op := range b.batch {
		if op.Kind == sink.OpCreate {
			continue
		}
		t := w.views[i].t
		k := stateKey{t.object, op.Record.ID}
		if _, ok := w.state[k]; !ok {
			w.state[k] = nil
			w.want[t] = append(w.want[t], op.Record.ID)
		}
	}
	for t, ids := range w.want {
		if err := w.prefetch(t, ids); err != nil {
			return err
		}
	}
	return nil
}

// applyOp applies op, whose table and plan are v, and sets its outcome.
// Every op but a create needs its record's row, which readRows read.
func (b *sqlBatch) applyOp(v *sqlView, op *sink.Op) error {
	if op.Kind == sink.OpCreate {
		if op.Existing != nil {
			return nil // held by Unique: its outcome is set
		}
		return b.create(v, op)
	}
	st := b.w.state[stateKey{v.t.object, op.Record.ID}]
	if st == nil {
		return ops.RecordError(op, sink.ErrNotFound)
	}
	var links []sink.AuditEntry // an anonymize's own links, with Unlink
	var err error
	u := b.w.undo
	switch op.Kind {
	case sink.OpUpdate:
		if err = b.update(v, op, st); err == nil && op.OptIn && st.opted {
			if err := b.execRecord(op, v.t.optInSQL); err != nil {
				return err
			}
			if u != nil && op.Outcome == intake.OutcomeUnchanged { // else change logged the flag
				u.Begin(sink.UndoUpdate, v.t.object, op.Record.ID, op.Record.Line, sink.FlagChange{Changed: true, Before: true}, sink.FlagChange{}, 0)
			}
			st.opted = false
			op.Outcome = intake.OutcomeUpdated
		}
	case sink.OpOptOut:
		if !st.opted {
			if err := b.execRecord(op, v.t.optOutSQL); err != nil {
				return err
			}
			if u != nil {
				u.Begin(sink.UndoUpdate, v.t.object, op.Record.ID, op.Record.Line, sink.FlagChange{Changed: true}, sink.FlagChange{}, 0)
			}
			st.opted = true
		}
		op.Outcome = intake.OutcomeOptedOut
	case sink.OpInactivate:
		op.Outcome = intake.OutcomeUnchanged
		if !st.inactive {
			if err := b.execRecord(op, v.t.inactivateSQL); err != nil {
				return err
			}
			if u != nil {
				u.Begin(sink.UndoUpdate, v.t.object, op.Record.ID, op.Record.Line, sink.FlagChange{}, sink.FlagChange{Changed: true}, 0)
			}
			st.inactive = true
			op.Outcome = intake.OutcomeInactivated
		}
	case sink.OpDelete:
		if u != nil {
			b.w.logDelete(v.t, op, st)
		}
		err = b.delete(v.t, op)
	case sink.OpAnonymize:
		links, err = b.anonymize(v, op, st)
	}
	if err != nil || !ops.IsLifecycle(op.Kind) {
		return err
	}
	return b.audit(op, links)
}

// create inserts the record of op with one execution of its table's
// prepared INSERT. The row of a record that a later op of the batch
// changes goes into w.state, as if it had been read.
func (b *sqlBatch) create(v *sqlView, op *sink.Op) error {
	w, t, rec := b.w, v.t, op.Record
	k := stateKey{t.object, rec.ID}
	st, wanted := w.state[k]
	if st != nil {
		return ops.RecordError(op, sink.ErrDuplicateID)
	}
	// st is nil here.
	var vals []intake.Value
	if wanted { // a later op of the batch updates it
		vals = make([]intake.Value, len(t.cols))
		st = &rowState{vals: vals, opted: rec.OptedOut, inactive: rec.Inactive}
		w.state[k] = st
	} else {
		vals = w.scratch(len(t.cols))
		clear(vals)
	}
	for i, j := range v.plan {
		vals[j] = ops.Value(rec, i)
	}
	a := w.args[:sqlInsertFixed+len(t.cols)+len(t.keys)]
	a[0].Value, a[1].Value, a[2].Value, a[3].Value, a[4].Value = rec.ID, boolInt(rec.OptedOut), boolInt(rec.Inactive), b.now, b.now
	w.bindRow(a[sqlInsertFixed:], t, vals)
	if err := w.exec(context.Background(), t.insertSQL, a); err != nil {
		return insertError(op, t, err)
	}
	if w.undo != nil {
		w.undo.Create(t.object, rec.ID, rec.Line, t.digest(vals, rec.OptedOut, rec.Inactive))
	}
	if st != nil && len(t.keys) > 0 {
		st.keys = make([]driver.Value, len(t.keys))
		for j := range st.keys {
			st.keys[j] = a[sqlInsertFixed+len(t.cols)+j].Value
		}
	}
	op.Outcome = intake.OutcomeCreated
	return nil
}

// update merges the record of op into its row st: nulls keep the stored
// values, the fields of op.Clear become null.
func (b *sqlBatch) update(v *sqlView, op *sink.Op, st *rowState) error {
	merged := append(b.w.merged[:0], st.vals...)
	for i, j := range v.plan {
		if x := ops.Value(op.Record, i); !x.IsNull() {
			merged[j] = x
		}
	}
	for _, c := range op.Clear {
		merged[v.plan[c]] = intake.Null
	}
	return b.save(v.t, op, st, merged, intake.OutcomeUpdated)
}

// anonymize nulls the personal fields of the row st of op's record and,
// with Unlink, its own links. It returns the audit entries of the links it
// cleared.
func (b *sqlBatch) anonymize(v *sqlView, op *sink.Op, st *rowState) ([]sink.AuditEntry, error) {
	var links []sink.AuditEntry
	merged := append(b.w.merged[:0], st.vals...)
	for i, j := range v.plan {
		if sink.AnonymizeErases(op.Record.Schema, i) {
			merged[j] = intake.Null
		}
	}
	if op.Unlink {
		for j, c := range v.t.cols {
			if ops.IsLink(c.Field) {
				merged[j], links = ops.ClearLink(op, st.vals[j], c.Field, links)
			}
		}
	}
	return links, b.save(v.t, op, st, merged, intake.OutcomeAnonymized)
}

// save writes merged, the new column values of the row st of op's record
// (see sqlWriter.change), and sets op's outcome: changed when a value
// differs, else OutcomeUnchanged.
func (b *sqlBatch) save(t *sqlTable, op *sink.Op, st *rowState, merged []intake.Value, changed intake.Outcome) error {
	b.w.merged = merged
	op.Outcome = intake.OutcomeUnchanged
	ok, err := b.w.change(op, t, st, merged, b.now)
	if err != nil {
		return err
	}
	if ok {
		op.Outcome = changed
	}
	return nil
}

// delete deletes the row of op's record; the ops after it in the batch
// find no row.
func (b *sqlBatch) delete(t *sqlTable, op *sink.Op) error {
	a := b.w.args[:1]
	a[0].Value = op.Record.ID
	if err := b.w.exec(context.Background(), t.deleteSQL, a); err != nil {
		return ops.RecordError(op, err)
	}
	b.w.state[stateKey{t.object, op.Record.ID}] = nil
	op.Outcome = intake.OutcomeDeleted
	return nil
}

// execRecord runs q, a statement on the row of op's record that takes the
// batch's time and the record's id.
func (b *sqlBatch) execRecord(op *sink.Op, q string) error {
	a := b.w.args[:2]
	a[0].Value, a[1].Value = b.now, op.Record.ID
	if err := b.w.exec(context.Background(), q, a); err != nil {
		return ops.RecordError(op, err)
	}
	return nil
}

// audit inserts the audit entries of the lifecycle op: its own, then those
// of the links it cleared. With Unlink, the op's record becomes a target
// whose links unlink removes (only lifecycle ops have Unlink; see
// ops.Check).
func (b *sqlBatch) audit(op *sink.Op, links []sink.AuditEntry) error {
	if err := b.w.audit(ops.Audit(op)); err != nil {
		return err
	}
	for _, a := range links {
		if err := b.w.audit(a); err != nil {
			return err
		}
	}
	b.unlinks.Add(op)
	return nil
}

// guard applies Op.Unique to the batch's creates (see guardCreates),
// looking keys up in the batch's IMMEDIATE transaction: no other
// connection can commit a record between the check and the insert.
func (w *sqlWriter) guard(batch []*sink.Op) error {
	tables := map[string]*sqlTable{}
	for i, op := range batch {
		if guard.Guarded(op) {
			tables[op.Record.Schema.Object()] = w.views[i].t
		}
	}
	if len(tables) == 0 {
		return nil
	}
	_, err := guard.Creates(batch, func(s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
		return w.findKeys(tables[s.Object()], spec, keys)
	})
	return err
}

// findKeys is the keyFinder of the guard in table t: the ids of the rows
// whose key under spec is one of keys, oldest first. In a hashed key
// column it reads the rows whose hash matches and keeps those whose key,
// computed from their fields, is wanted.
func (w *sqlWriter) findKeys(t *sqlTable, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	res := map[intake.Key][]string{}
	var q string
	var args []any
	var kc *sqlKey
	switch {
	case spec.RecordID:
		q = "SELECT id, id FROM " + t.name + " WHERE id IN (" + placeholders(sqlInChunk) + ")"
		for _, k := range keys {
			args = append(args, string(k))
		}
	default:
		if kc = t.key(spec); kc == nil {
			return nil, fmt.Errorf("sqlite: %s has no key column for %s", t.name, spec.Name())
		}
		col := sqltable.QuoteIdent(kc.Column)
		if kc.Hash == "" {
			q = "SELECT id, " + col + " FROM " + t.name + " WHERE " + col + " IN (" + placeholders(sqlInChunk) + ") ORDER BY seq"
			for _, k := range keys {
				args = append(args, string(k))
			}
			break
		}
		q = "SELECT " + t.sel + " FROM " + t.name + " WHERE " + col + " IN (" + placeholders(sqlInChunk) + ") ORDER BY seq"
		hashes := map[int64]bool{}
		for _, k := range keys {
			if h := keyHash(k); !hashes[h] {
				hashes[h] = true
				args = append(args, h)
			}
		}
	}
	want := make(map[intake.Key]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	hashed := kc != nil && kc.Hash != ""
	width := 2
	if hashed {
		width = sqlRowFixed + len(t.cols)
	}
	dest := make([]driver.Value, width)
	rec := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
	// rowKey returns the key and id of the row in dest.
	rowKey := func() (intake.Key, string, error) {
		switch {
		case hashed:
			if err := scanDriverRow(t, dest, &rec); err != nil {
				return "", "", err
			}
			k, _ := kc.plan.Key(&rec)
			return k, rec.ID, nil
		case spec.RecordID:
			id := driverString(dest[0])
			return intake.Key(id), id, nil
		}
		return intake.Key(driverString(dest[1])), driverString(dest[0]), nil
	}
	a := w.args[:sqlInChunk]
	for len(args) > 0 {
		n := min(len(args), sqlInChunk)
		for i := range a {
			a[i].Value = nil // NULL matches nothing
			if i < n {
				a[i].Value = args[i]
			}
		}
		args = args[n:]
		rows, err := w.query(q, a)
		if err != nil {
			return nil, fmt.Errorf("sqlite: key check: %w", err)
		}
		for err == nil {
			if err = rows.Next(dest); err != nil {
				break
			}
			var k intake.Key
			var id string
			if k, id, err = rowKey(); err == nil && want[k] {
				res[k] = append(res[k], id)
			}
		}
		if err == io.EOF {
			err = nil
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: key check: %w", err)
		}
	}
	return res, nil
}

// reload re-reads intake_schema in the batch's transaction, for a batch
// that began at another schema version than the sink's snapshot (see
// syncTx) or that has Unlink ops: another sink on the same database may
// have created a table, or added fields (links among them) or key columns
// to a table this sink knows, since this sink read it. A stored schema
// this sink does not know, or one that extends the table it knows (the
// same columns, and more, or other key columns, or a field's Ref set; see
// extends), replaces the sink's snapshot, and the batch's ops use it: a
// create fills the key columns the other sink added, an anonymize with
// Unlink clears its record's own links in the fields the other sink
// added. A stored schema that differs otherwise (see refresh) is searched
// for links besides the sink's own snapshot. It returns the tables to
// search for links, sorted by object type.
func (w *sqlWriter) reload(s *Store) ([]*sqlTable, error) {
	rows, err := w.query("SELECT object, schema FROM intake_schema ORDER BY object", nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read intake_schema: %w", err)
	}
	var all []storedRow
	dest := make([]driver.Value, 2)
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: read intake_schema: %w", err)
		}
		all = append(all, storedRow{driverString(dest[0]), driverString(dest[1])})
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: read intake_schema: %w", err)
	}
	extra, replaced, err := s.refresh(all)
	if err != nil {
		return nil, err
	}
	// The batch's views of a replaced table: its columns extend the old
	// table's, so the plans stay.
	for i, v := range w.views {
		if nt := replaced[v.t]; nt != nil {
			w.views[i] = &sqlView{t: nt, plan: v.plan}
			w.grow(sqlInsertFixed + len(nt.cols) + len(nt.keys))
		}
	}
	return s.sortedTables(extra), nil
}

// driverString returns the text a driver returned as a string or bytes.
func driverString(v driver.Value) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	s, _ := v.(string)
	return s
}

// unlink removes the links to the targets of u (see [sink.Op.Unlink]) once the
// batch's ops are applied. For each table of tables (see reload) with
// link fields to a target's type, one query per link field finds the rows that hold a target: an id
// field by IN (the targets' ids, one JSON array), which an index on the
// column serves and which is a scan of the table without one; a
// multi-select field by reading its non-null values, filtered here. Each
// row found is then read once and written once, its key columns with it,
// and each removed link gets its audit entry.
func (w *sqlWriter) unlink(tables []*sqlTable, u ops.Unlinks, now driver.Value) error {
	var audits []sink.AuditEntry
	for _, t := range tables {
		links := u.Fields(t.store)
		if len(links) == 0 {
			continue
		}
		var ids []string
		hit := map[string]bool{}
		for _, j := range links {
			found, err := w.linked(t, j, u)
			if err != nil {
				return fmt.Errorf("sqlite: find the links of %s.%s: %w", t.object, t.cols[j].Name, err)
			}
			for _, id := range found {
				if !hit[id] {
					hit[id] = true
					ids = append(ids, id)
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		if err := w.prefetch(t, ids); err != nil {
			return err
		}
		n := len(t.cols) + len(t.keys)
		w.grow(n + 2)
		for _, id := range ids {
			st := w.state[stateKey{t.object, id}]
			if st == nil {
				continue // cannot happen: the row was found in this transaction
			}
			merged := append(w.merged[:0], st.vals...)
			for _, j := range links {
				merged[j], audits, _ = u.Strip(st.vals[j], t.cols[j].Field, t.object, id, audits)
			}
			w.merged = merged
			a := w.args[:n+2]
			w.bindRow(a, t, merged)
			a[n].Value, a[n+1].Value = now, id
			if err := w.exec(context.Background(), t.updateSQL, a); err != nil {
				return fmt.Errorf("sqlite: unlink %s %s: %w", t.object, id, err)
			}
			if w.undo != nil {
				w.logChange(t, id, 0, sink.FlagChange{}, st.vals, merged)
				if !slices.Contains(w.uobjs, t.object) {
					w.uobjs = append(w.uobjs, t.object)
				}
			}
			copy(st.vals, merged)
		}
	}
	for _, a := range audits {
		if err := w.audit(a); err != nil {
			return err
		}
	}
	return nil
}

// linked returns the ids of the rows of t whose link field j holds a
// target of u, in creation order.
func (w *sqlWriter) linked(t *sqlTable, j int, u ops.Unlinks) ([]string, error) {
	c := t.cols[j]
	col := sqltable.QuoteIdent(c.Column)
	list := c.Type.Kind() == intake.KindList
	var q string
	var args []driver.NamedValue
	if list {
		q = "SELECT id, " + col + " FROM " + t.name + " WHERE " + col + " IS NOT NULL ORDER BY seq"
	} else {
		js, err := json.Marshal(u.TargetIDs(c.Ref))
		if err != nil {
			return nil, err
		}
		q = "SELECT id, NULL FROM " + t.name + " WHERE " + col + " IN (SELECT value FROM json_each(?)) ORDER BY seq"
		args = []driver.NamedValue{{Ordinal: 1, Value: string(js)}}
	}
	rows, err := w.query(q, args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 2)
	var ids []string
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		id := driverString(dest[0])
		if list {
			v, ok := driverValue(intake.KindList, dest[1])
			if !ok || !u.Holds(v, c.Ref) {
				continue
			}
		}
		ids = append(ids, id)
	}
}

// grow makes w.args at least n long.
func (w *sqlWriter) grow(n int) {
	for len(w.args) < n {
		w.args = append(w.args, driver.NamedValue{Ordinal: len(w.args) + 1})
	}
}

// change writes merged, the new column values of the row st, unless they
// are its values already, and reports whether it did. The key columns are
// written only when one does not hold the key of merged (assigning an
// indexed column makes SQLite delete and insert its index entry even when
// the value is the same): a key changed, or the column does not hold the
// key of the row's stored values, as a sink that did not know the column
// may have left it (see "Sharing a database" at [Store]). Such a row is
// repaired by its next update that changes a value.
func (w *sqlWriter) change(op *sink.Op, t *sqlTable, st *rowState, merged []intake.Value, now driver.Value) (bool, error) {
	changed := false
	for j := range merged {
		if merged[j] != st.vals[j] {
			changed = true
			break
		}
	}
	if !changed {
		return false, nil
	}
	n := len(t.cols)
	a := w.args[:n+len(t.keys)+2]
	for j, x := range merged {
		a[j].Value = bindValue(x)
	}
	q := t.updateSQL
	keysSet := false
	if len(t.keys) > 0 {
		after := intake.Record{Schema: t.store, Values: merged}
		same := len(st.keys) == len(t.keys)
		for j, kc := range t.keys {
			k, _ := kc.plan.Key(&after)
			arg := kc.arg(k)
			a[n+j].Value = arg
			same = same && sameKeyValue(arg, st.keys[j])
		}
		if same {
			q = t.updateColsSQL
		} else {
			n += len(t.keys)
			keysSet = true
		}
	}
	a = a[:n+2]
	a[n].Value, a[n+1].Value = now, op.Record.ID
	if err := w.exec(context.Background(), q, a); err != nil {
		return false, ops.RecordError(op, err)
	}
	if w.undo != nil {
		var opted sink.FlagChange // an update's OptIn, which applyOp applies next
		if op.Kind == sink.OpUpdate && op.OptIn && st.opted {
			opted = sink.FlagChange{Changed: true, Before: true}
		}
		w.logChange(t, op.Record.ID, op.Record.Line, opted, st.vals, merged)
	}
	copy(st.vals, merged)
	if keysSet {
		if len(st.keys) != len(t.keys) {
			st.keys = make([]driver.Value, len(t.keys))
		}
		for j := range st.keys {
			st.keys[j] = a[len(t.cols)+j].Value
		}
	}
	return true, nil
}

// sameKeyValue reports whether stored, the value a key column holds as
// the driver returned it, is arg, the column value of a key (see
// sqlKey.arg).
func sameKeyValue(arg any, stored driver.Value) bool {
	switch a := arg.(type) {
	case nil:
		return stored == nil
	case int64:
		v, ok := stored.(int64)
		return ok && v == a
	case string:
		switch v := stored.(type) {
		case string:
			return v == a
		case []byte:
			return string(v) == a
		}
	}
	return false
}

// audit inserts an audit entry.
func (w *sqlWriter) audit(e sink.AuditEntry) error {
	a := w.args[:sqlAuditArgs]
	bindAudit(a, e)
	if err := w.exec(context.Background(), sqlAuditInsert, a); err != nil {
		return fmt.Errorf("sqlite: audit entry of %s: %w", e.RecordID, err)
	}
	return nil
}

// bindRow sets a to the column values vals of t, then its key columns.
func (w *sqlWriter) bindRow(a []driver.NamedValue, t *sqlTable, vals []intake.Value) {
	for j, x := range vals {
		a[j].Value = bindValue(x)
	}
	if len(t.keys) > 0 {
		r := intake.Record{Schema: t.store, Values: vals}
		for j, kc := range t.keys {
			key, _ := kc.plan.Key(&r)
			a[len(vals)+j].Value = kc.arg(key)
		}
	}
}

// insertError is the error of op's INSERT: a constraint the row breaks is
// the record's fault.
func insertError(op *sink.Op, t *sqlTable, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed: intake_"+t.object+".id"):
		return ops.RecordError(op, sink.ErrDuplicateID)
	case strings.Contains(msg, "constraint failed"):
		return ops.RecordError(op, err)
	}
	return err
}

func (w *sqlWriter) scratch(n int) []intake.Value {
	if cap(w.vals) < n {
		w.vals = make([]intake.Value, n)
	}
	return w.vals[:n]
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// prefetch reads the current rows of ids, and the values of their key
// columns, into w.state.
func (w *sqlWriter) prefetch(t *sqlTable, ids []string) error {
	a := w.args[:sqlInChunk]
	nc := sqlRowFixed + len(t.cols)
	if n := nc + len(t.keys); len(w.dest) < n {
		w.dest = make([]driver.Value, n)
	}
	dest := w.dest[:nc+len(t.keys)]
	for len(ids) > 0 {
		n := min(len(ids), sqlInChunk)
		for i := range a {
			a[i].Value = nil // NULL matches nothing
			if i < n {
				a[i].Value = ids[i]
			}
		}
		ids = ids[n:]
		rows, err := w.query(t.getSQL, a)
		if err != nil {
			return err
		}
		for {
			err := rows.Next(dest)
			if err == io.EOF {
				break
			}
			if err == nil {
				rec := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
				if err = scanDriverRow(t, dest, &rec); err == nil {
					st := &rowState{vals: rec.Values, opted: rec.OptedOut, inactive: rec.Inactive}
					if len(t.keys) > 0 {
						st.keys = make([]driver.Value, len(t.keys))
						for j, x := range dest[nc:] {
							if b, ok := x.([]byte); ok { // the driver may reuse it
								x = string(b)
							}
							st.keys[j] = x
						}
					}
					w.state[stateKey{t.object, rec.ID}] = st
					continue
				}
			}
			rows.Close()
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// sqlRowFixed is the number of columns of t.sel before the fields': id,
// opted_out, inactive.
const sqlRowFixed = 3

// scanDriverRow converts a row "id, opted_out, inactive, <cols>" of t that
// the driver returned into rec.
func scanDriverRow(t *sqlTable, row []driver.Value, rec *intake.Record) error {
	id, _ := row[0].(string)
	if b, ok := row[0].([]byte); ok {
		id = string(b)
	}
	opted, _ := row[1].(int64)
	inactive, _ := row[2].(int64)
	rec.ID, rec.OptedOut, rec.Inactive = id, opted != 0, inactive != 0
	for j, c := range t.cols {
		v, ok := driverValue(c.Type.Kind(), row[sqlRowFixed+j])
		if !ok {
			return fmt.Errorf("sqlite: %s row %s: column %s does not hold a valid %s value (was the table changed outside Intake?)", t.name, id, c.Column, c.Type.Kind())
		}
		rec.Values[j] = v
	}
	return nil
}

// driverValue rebuilds a value of kind k from the column value v the driver
// returned. It returns false when v is not a valid value of kind k.
func driverValue(k intake.Kind, v driver.Value) (intake.Value, bool) {
	var s string
	switch x := v.(type) {
	case nil:
		return intake.Null, true
	case int64:
		switch k {
		case intake.KindBool, intake.KindDate, intake.KindTime, intake.KindTimestamp:
			return intake.FromRaw(k, "", x)
		}
		return intake.Null, false
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return intake.Null, false
	}
	switch k {
	case intake.KindText, intake.KindDecimal:
		return intake.FromRaw(k, s, 0)
	case intake.KindList:
		return intake.FromRaw(k, s, int64(strings.Count(s, "\x1f")+1))
	}
	return intake.Null, false
}
