package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/guard"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/sqltable"
)

// The undo log of a [Table] (see sqlite_undo.go). A Table keeps no schema
// of its own, so each intake_undo row of its batches holds in fields the
// fields (name and type) of the batch's schemas: its revert reads the
// host's rows as records of that schema, with the values and flags that
// Get returns, which is what the entries' digests and values were taken
// from.

// undoField is a field of a Table's batch schema in intake_undo.fields.
type undoField struct {
	Name string           `json:"name"`
	Type intake.FieldType `json:"type"`
}

// setField is Table.setField that, in a batch that keeps an undo log,
// appends the change to b.changes with the field's value before.
func (b *tableBatch) setField(r *hostRow, f intake.Field, v intake.Value) (bool, error) {
	if b.undo == nil {
		return b.t.setField(r, f, v)
	}
	old, err := b.t.fieldValue(r, f)
	if err != nil {
		old = intake.Null // a value the host wrote that is no value of f: nothing to restore
	}
	changed, err := b.t.setField(r, f, v)
	if changed {
		b.changes = append(b.changes, sink.FieldChange{Name: f.Name, Before: old, After: v})
	}
	return changed, err
}

// digest returns the digest of the record rec as a create stores it in
// the table (see [sink.Digest]): its non-null fields, and the flags that
// the table has columns for.
func (t *Table) digest(rec *intake.Record) uint64 {
	var d sink.Digest
	for j := range rec.Schema.Len() {
		d.Add(rec.Schema.Name(j), ops.Value(rec, j))
	}
	d.Flags(rec.OptedOut && t.m.OptedOut != "", rec.Inactive && t.m.InactiveColumn != "")
	return uint64(d)
}

// logChange appends the UndoUpdate entry of the row id (from the source
// line) with the fields of b.changes and the flag changes opted and
// inactive, unless it changed nothing.
func (b *tableBatch) logChange(id string, line int, opted, inactive sink.FlagChange) {
	if len(b.changes) == 0 && !opted.Changed && !inactive.Changed {
		return
	}
	b.undo.Add(&sink.UndoEntry{Kind: sink.UndoUpdate, Object: b.t.object, ID: id, Line: line, Fields: b.changes, OptedOut: opted, Inactive: inactive})
}

// logDelete appends the UndoDelete entry of op's row r: every non-null
// field of op's schema and both flags.
func (b *tableBatch) logDelete(op *sink.Op, r *hostRow) error {
	rec, err := b.t.record(op.Record.Schema, r)
	if err != nil {
		return ops.RecordError(op, err)
	}
	b.changes = b.changes[:0]
	for j, v := range rec.Values {
		if !v.IsNull() {
			b.changes = append(b.changes, sink.FieldChange{Name: rec.Schema.Name(j), Before: v})
		}
	}
	b.undo.Add(&sink.UndoEntry{Kind: sink.UndoDelete, Object: b.t.object, ID: r.id, Line: op.Record.Line, Fields: b.changes,
		OptedOut: sink.FlagChange{Changed: true, Before: r.opted}, Inactive: sink.FlagChange{Changed: true, Before: r.inactive}})
	return nil
}

// openUndo reads the run of the WriteUndo batch in its transaction (see
// openUndoRun): without entries to keep, the batch keeps none.
func (b *tableBatch) openUndo(ctx context.Context, run sink.UndoRun) error {
	u, keep, err := openUndoRun(txConn{ctx, b.tx}, b.t.m.Table, run)
	if err != nil {
		return err
	}
	if !keep {
		b.undo = nil
	}
	b.urun = u
	return nil
}

// logBatch stores the batch's undo log and its run's row (see
// logUndoBatch) in the batch's transaction, with the fields of the
// batch's schemas.
func (b *tableBatch) logBatch(ctx context.Context) error {
	var data []byte
	var fields any
	if b.undo != nil && b.undo.Len() > 0 {
		data = b.undo.Bytes()
		var fs []undoField
		var last *intake.Schema
		for _, op := range b.batch {
			s := op.Record.Schema
			if s == last {
				continue
			}
			last = s
			for j := range s.Len() {
				if name := s.Name(j); !slices.ContainsFunc(fs, func(f undoField) bool { return f.Name == name }) {
					fs = append(fs, undoField{name, s.Type(j)})
				}
			}
		}
		js, err := json.Marshal(fs)
		if err != nil {
			return err
		}
		fields = string(js)
	}
	return logUndoBatch(txConn{ctx, b.tx}, b.t.m.Table, b.urun, []string{b.t.object}, b.t.cfg.Now().UnixMicro(), data, fields)
}

// Undoes reports true: the sink keeps the undo logs of the runs written
// with WriteUndo, in Intake's tables beside the host's, and reverts them.
// It implements [sink.Undoer].
func (t *Table) Undoes() bool { return true }

// WriteUndo is [Table.Write] that also keeps the batch's undo log in the
// batch's transaction, as [Store.WriteUndo] does, in the same tables; the
// run's row names the host table, and the batch's row holds the fields
// (names and types) of the batch's schemas, which the revert reads the
// rows by. A create's digest is taken from the record's fields and the
// flags the table has columns for; a delete keeps the fields of its
// schema (a column the mapping does not name is not put back). cp must be
// nil: the sink keeps no checkpoints.
func (t *Table) WriteUndo(ctx context.Context, batch []*sink.Op, run sink.UndoRun, cp *sink.Checkpoint) (int, error) {
	if err := checkUndoBatch(batch, run, cp); err != nil {
		return 0, err
	}
	n, err := t.write(ctx, batch, &run)
	if err != nil {
		guard.Clear(batch)
	}
	return n, err
}

// UndoStatus reads the run's row of intake_undo_runs, as [Store.UndoStatus]
// does; a run of another sink on the database is an error wrapping
// [sink.ErrNoUndo].
func (t *Table) UndoStatus(ctx context.Context, runID string) (sink.UndoStatus, error) {
	return undoStatus(ctx, t.db, t.m.Table, runID)
}

// ReadUndo reads and decodes the intake_undo row of the run's newest batch
// whose seq is below before (any, when before is 0).
func (t *Table) ReadUndo(ctx context.Context, runID string, before int64) (sink.UndoBatch, bool, error) {
	return readUndo(ctx, t.db, t.m.Table, runID, before)
}

// PruneUndo expires the runs of this sink that r no longer keeps, as
// [Store.PruneUndo] does; the runs of other sinks on the database are
// theirs to prune.
func (t *Table) PruneUndo(ctx context.Context, r sink.Retention, now time.Time) (int, error) {
	return pruneUndo(ctx, t.db, &t.wmu, t.m.Table, r, now)
}

// Revert reverts the run's newest batch below before in one transaction
// that takes the database's write lock first (see [sink.Undoer] and
// [Store.Revert]): it reads the host rows of the batch's records as
// records of the batch's schema, decides with [sink.PlanRevert], and
// writes as a batch of Write does: a DELETE of a row the run created, an
// UPDATE of a row whose fields and flags it restores (its key columns
// and UpdatedAt with them), an INSERT of a row the run deleted (with
// CreatedAt now). The log, the run's state and the undo's audit entries
// (Object the table's object type) are kept as [Store.Revert] keeps
// them.
func (t *Table) Revert(ctx context.Context, runID string, before int64, opts sink.RevertOptions, audit sink.AuditEntry) (sink.RevertResult, bool, error) {
	if err := checkRevert(ctx, runID, opts); err != nil {
		return sink.RevertResult{}, false, err
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return sink.RevertResult{}, false, fmt.Errorf("sqlite: revert: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit a no-op
	if err := t.lockTx(ctx, tx); err != nil {
		return sink.RevertResult{}, false, err
	}
	res, more, err := revertUndo(txConn{ctx, tx}, t.m.Table, runID, before, opts, audit, func(b sink.UndoBatch, fields string) (sink.RevertResult, error) {
		return t.revertBatch(ctx, tx, b, fields, opts.Force)
	})
	if err != nil {
		return sink.RevertResult{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return sink.RevertResult{}, false, fmt.Errorf("sqlite: revert run %q: %w", runID, err)
	}
	return res, more, nil
}

// revertBatch reverts ub, whose batch schema's fields are the JSON fields,
// in tx: it reads the rows of ub's records, plans with sink.PlanRevert and
// applies the actions to the rows, which a tableBatch then deletes and
// writes.
func (t *Table) revertBatch(ctx context.Context, tx *sql.Tx, ub sink.UndoBatch, fields string, force bool) (sink.RevertResult, error) {
	var fs []undoField
	if err := json.Unmarshal([]byte(fields), &fs); err != nil || len(fs) == 0 {
		return sink.RevertResult{}, fmt.Errorf("the log keeps no valid schema of the batch (%q): %v", fields, err)
	}
	all := make([]intake.Field, len(fs))
	for i, f := range fs {
		all[i] = intake.Field{Name: f.Name, Type: f.Type}
	}
	sch, err := intake.NewSchema(t.object, all...)
	if err != nil {
		return sink.RevertResult{}, fmt.Errorf("the log's schema of the batch: %w", err)
	}
	var ids []string
	seen := map[string]bool{}
	for i := range ub.Entries {
		e := &ub.Entries[i]
		if e.Object != t.object {
			return sink.RevertResult{}, fmt.Errorf("the log names a record of %q, which this sink does not write", e.Object)
		}
		if !seen[e.ID] {
			seen[e.ID] = true
			ids = append(ids, e.ID)
		}
	}
	b := &tableBatch{t: t, tx: tx}
	if b.keys, err = t.syncKeys(ctx, tx); err != nil {
		return sink.RevertResult{}, err
	}
	if b.rows, err = t.fetch(ctx, tx, ids); err != nil {
		return sink.RevertResult{}, err
	}
	b.fetch = ids
	current := make(map[sink.RecordRef]*intake.Record, len(b.rows))
	for id, r := range b.rows {
		rec, err := t.record(sch, r)
		if err != nil {
			return sink.RevertResult{}, err
		}
		current[sink.RecordRef{Object: t.object, ID: id}] = rec
	}
	acts, res := sink.PlanRevert(ub, current, force)
	for i := range acts {
		if err := b.revertRow(sch, &acts[i]); err != nil {
			return sink.RevertResult{}, fmt.Errorf("%s %s: %w", t.object, acts[i].ID, err)
		}
	}
	if err := b.deleteRows(ctx); err != nil {
		return sink.RevertResult{}, err
	}
	if err := b.writeRows(ctx); err != nil {
		return sink.RevertResult{}, err
	}
	return res, nil
}

// revertRow applies a to the rows of b, whose records are of sch.
func (b *tableBatch) revertRow(sch *intake.Schema, a *sink.RevertAction) error {
	id := a.ID
	r := b.rows[id]
	switch a.Kind {
	case sink.RevertRemove:
		b.deletes = append(b.deletes, id)
		b.rows[id] = nil
		return nil
	case sink.RevertInsert:
		r = &hostRow{id: id, raw: map[string]any{}, members: map[string]json.RawMessage{},
			create: &sink.Op{Kind: sink.OpCreate, Record: &intake.Record{Schema: sch, ID: id}}}
		b.rows[id] = r
		b.order = append(b.order, id)
	case sink.RevertRestore:
		if r == nil {
			return errors.New("the row to restore is not stored") // cannot happen: PlanRevert read it
		}
	default:
		return nil
	}
	for _, f := range a.Set {
		j := sch.Index(f.Name)
		if j < 0 {
			return fmt.Errorf("the log names the field %q, which the batch's schema lacks", f.Name)
		}
		if _, err := b.t.setField(r, slot(sch, j), f.Value); err != nil {
			return err
		}
	}
	if a.OptedOut.Set {
		r.opted = a.OptedOut.Value
	}
	if a.Inactive.Set {
		r.inactive = a.Inactive.Value
	}
	r.changed = true
	return nil
}

// lockTx takes the database's write lock in tx: a statement that writes
// takes it, and the transaction then holds it until it ends.
func (t *Table) lockTx(ctx context.Context, tx *sql.Tx) error {
	id := sqltable.QuoteIdent(t.m.IDColumn)
	if _, err := tx.ExecContext(ctx, "UPDATE "+t.name+" SET "+id+" = "+id+" WHERE 0"); err != nil {
		return fmt.Errorf("sqlite: take the write lock: %w", err)
	}
	return nil
}
