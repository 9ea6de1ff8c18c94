package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/undolog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Undoes reports true: the store keeps undo logs and reverts runs (see
// [Store.WriteUndo] and [Store.Revert]). It implements [sink.Undoer].
func (p *Store) Undoes() bool { return true }

// pgNeedTables is the error of a revert attempt whose batch names object
// types whose tables this process does not know, or must first bring up
// to date: Revert gets them ready outside its transaction and tries again.
type pgNeedTables struct{ objects []string }

func (e *pgNeedTables) Error() string {
	return "postgres: tables of " + strings.Join(e.objects, ", ") + " not ready"
}

// Revert reverts the newest batch of the run's log whose Seq is below
// before (0: the newest) in one transaction (see [sink.Undoer]):
//
//   - SELECT … FOR UPDATE of the run's row in intake_undo_runs, which
//     serializes the undos of one run (and its writers) batch by batch;
//     the row's state says whether the run can be undone;
//   - the newest batch below before (the primary key's index, backwards);
//   - the current rows of the records its entries name, FOR UPDATE, each
//     table's in the order of its ids, tables by name (the order of
//     [Store.Write]), under a shared lock of their schemas' versions;
//   - [sink.PlanRevert]'s writes, with the write path's statements: one
//     DELETE per table for the records to remove, the records put back
//     (with their id, fields and flags; created_at now) and the restored
//     ones (whole rows: the fields set, null clearing one, and the flags)
//     streamed with COPY and written as [Store.Write] writes creates and
//     updates, key columns recomputed, updated_at set, the write log of
//     the guard of [sink.Op.Unique] kept by the tables' trigger;
//   - the batch's row deleted, or rewritten with the entries of the
//     records left in conflict (not forced); the run marked undoing, by
//     opts.UndoID.
//
// When no batch is below before, it ends the undo in one transaction: it
// stores in intake_audit one entry per object type whose records the
// run's log held entries of (intake_undo_runs.objects), each with Action
// [sink.ActionUndo], that Object, RecordID empty, TargetObject "run",
// TargetID runID, Line 0 and the rest of audit (Time to the microsecond,
// in UTC); a run whose log held no entry gets one entry with an empty
// Object. It marks the run undone when its log holds no batch any more.
//
// Several processes may revert one run at once: a call with before > 0
// (its undo reverted batches already) that finds the run undone by
// another ends its undo, with false and without an audit entry of its
// own; with before 0, an undone run is an error wrapping
// [sink.ErrNotUndoable]. A transaction that deadlocks with another writer,
// or that finds a schema changed by another process, is run again from
// the start.
func (p *Store) Revert(ctx context.Context, runID string, before int64, opts sink.RevertOptions, audit sink.AuditEntry) (sink.RevertResult, bool, error) {
	if opts.UndoID == "" {
		return sink.RevertResult{}, false, errors.New("postgres: Revert: empty RevertOptions.UndoID: name the undo")
	}
	for attempt := 0; ; attempt++ {
		res, more, err := p.tryRevert(ctx, runID, before, opts, audit)
		var need *pgNeedTables
		var pe *pgconn.PgError
		switch {
		case err == nil:
			return res, more, nil
		case attempt >= 3 || ctx.Err() != nil:
		case errors.As(err, &need):
			if err = p.readyTables(ctx, need.objects); err == nil {
				continue
			}
		case errors.Is(err, errSchemaMoved), pgPlanStale(err):
			continue
		case errors.As(err, &pe) && pe.Code == "40P01":
			p.cfg.Logger.Warn("intake: PostgreSQL revert deadlocked with another writer; reverting the batch again", "attempt", attempt+1, "error", pe.Message)
			continue
		}
		if errors.Is(err, sink.ErrNoUndo) || errors.Is(err, sink.ErrNotUndoable) {
			return sink.RevertResult{}, false, err
		}
		err = p.missingTable(p.missingUndo(err), "intake_audit")
		return sink.RevertResult{}, false, fmt.Errorf("postgres: revert run %q: %w", runID, err)
	}
}

// readyTables loads the tables of objects this process does not know and
// brings those of an earlier layout up to date.
func (p *Store) readyTables(ctx context.Context, objects []string) error {
	if err := p.load(ctx, objects); err != nil {
		return err
	}
	for _, object := range objects {
		p.mu.RLock()
		t := p.tables[object]
		p.mu.RUnlock()
		if t == nil {
			return fmt.Errorf("postgres: the undo log names object type %q, which the store has no table of", object)
		}
		if t.needsUpgrade() {
			p.wmu.Lock()
			_, err := p.ensureLocked(ctx, t.store)
			p.wmu.Unlock()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// tryRevert is one attempt of Revert.
func (p *Store) tryRevert(ctx context.Context, runID string, before int64, opts sink.RevertOptions, audit sink.AuditEntry) (sink.RevertResult, bool, error) {
	tx, err := p.begin(ctx)
	if err != nil {
		return sink.RevertResult{}, false, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit a no-op
	var state string
	var objects []string
	err = tx.QueryRow(ctx, `SELECT state, objects FROM `+p.runsTable+` WHERE run_id = $1 FOR UPDATE`, runID).Scan(&state, &objects)
	if errors.Is(err, pgx.ErrNoRows) {
		return sink.RevertResult{}, false, fmt.Errorf("postgres: revert run %q: %w", runID, sink.ErrNoUndo)
	}
	if err != nil {
		return sink.RevertResult{}, false, err
	}
	if state == runUndone && before > 0 {
		return sink.RevertResult{}, false, nil // another process reverting the run ended the undo
	}
	if state != runKept && state != runUndoing {
		return sink.RevertResult{}, false, fmt.Errorf("postgres: revert run %q: %w: it is %s", runID, sink.ErrNotUndoable, state)
	}
	b := sink.UndoBatch{RunID: runID}
	var data []byte
	err = tx.QueryRow(ctx, `SELECT seq, time, data FROM `+p.undoTable+` WHERE run_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1`,
		runID, seqBelow(before)).Scan(&b.Seq, &b.Time, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return sink.RevertResult{}, false, p.endUndo(ctx, tx, runID, objects, opts, audit)
	}
	if err != nil {
		return sink.RevertResult{}, false, err
	}
	if b.Entries, err = undolog.Decode(data); err != nil {
		return sink.RevertResult{}, false, fmt.Errorf("batch %d: %w", b.Seq, err)
	}
	rv := &pgRevert{p: p, tx: tx, batch: b}
	if err := rv.tables(); err != nil {
		return sink.RevertResult{}, false, err
	}
	if err := rv.readCurrent(ctx); err != nil {
		return sink.RevertResult{}, false, err
	}
	acts, res := sink.PlanRevert(b, rv.current, opts.Force)
	if err := rv.apply(ctx, acts); err != nil {
		return sink.RevertResult{}, false, err
	}
	if err := rv.settle(ctx, res, opts.UndoID); err != nil {
		return sink.RevertResult{}, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return sink.RevertResult{}, false, err
	}
	return res, true, nil
}

// pgRevert is the revert of one batch of a run's log in its transaction.
type pgRevert struct {
	p       *Store
	tx      pgx.Tx
	batch   sink.UndoBatch
	tabs    []*pgTable            // the tables of the entries' object types, by name
	ids     map[*pgTable][]string // the ids of each table's records, each once
	current map[sink.RecordRef]*intake.Record
}

// tables finds the tables of the batch's object types, and the records of
// each. A table this process does not know, or must bring up to date,
// ends the attempt with *pgNeedTables.
func (rv *pgRevert) tables() error {
	rv.ids = map[*pgTable][]string{}
	byObject := map[string]*pgTable{}
	seen := map[sink.RecordRef]bool{}
	var need []string
	for _, e := range rv.batch.Entries {
		t, ok := byObject[e.Object]
		if !ok {
			rv.p.mu.RLock()
			t = rv.p.tables[e.Object]
			rv.p.mu.RUnlock()
			if t == nil || t.needsUpgrade() {
				need = append(need, e.Object)
				t = nil
			} else {
				rv.tabs = append(rv.tabs, t)
			}
			byObject[e.Object] = t
		}
		ref := sink.RecordRef{Object: e.Object, ID: e.ID}
		if t != nil && !seen[ref] {
			seen[ref] = true
			rv.ids[t] = append(rv.ids[t], e.ID)
		}
	}
	if need != nil {
		return &pgNeedTables{objects: need}
	}
	slices.SortFunc(rv.tabs, func(a, b *pgTable) int { return strings.Compare(a.name, b.name) })
	return nil
}

// readCurrent locks the tables' schema versions (FOR SHARE) and reads the
// current rows of the batch's records, FOR UPDATE, in one round trip. A
// schema another process changed ends the attempt with errSchemaMoved.
func (rv *pgRevert) readCurrent(ctx context.Context) error {
	objects := make([]string, len(rv.tabs))
	for i, t := range rv.tabs {
		objects[i] = t.object
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT object, version FROM `+rv.p.schemaTable+` WHERE object = ANY($1) FOR SHARE`, objects)
	reads := make([]int, len(rv.tabs))
	for i, t := range rv.tabs {
		order := t.idCol + ` COLLATE "C"`
		if t.idType == "uuid" {
			order = t.idCol
		}
		for c := range slices.Chunk(sortedIDs(t.idType, rv.ids[t]), pgChunk) {
			b.Queue(`SELECT `+t.selectList()+` FROM `+t.name+` WHERE `+t.idCol+` = ANY($1::`+t.idType+`[]) ORDER BY `+order+` FOR UPDATE`, c)
			reads[i]++
		}
	}
	br := rv.tx.SendBatch(ctx, b)
	defer br.Close()
	versions, err := readVersions(br)
	if err != nil {
		return err
	}
	var moved []string
	for _, t := range rv.tabs {
		if versions[t.object] != t.version {
			moved = append(moved, t.object)
		}
	}
	if moved != nil {
		if err := rv.p.load(ctx, moved); err != nil {
			return err
		}
		return errSchemaMoved
	}
	rv.current = map[sink.RecordRef]*intake.Record{}
	for i, t := range rv.tabs {
		sc := newPgScanner(t)
		for range reads[i] {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				rec := &intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
				if err := sc.scan(rows, rec); err != nil {
					rows.Close()
					return err
				}
				rv.current[sink.RecordRef{Object: t.object, ID: rec.ID}] = rec
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	return br.Close()
}

// apply writes acts: the DELETE of the records to remove, then the
// records put back and restored through the write path's COPY and its
// INSERT and UPDATE (see streamTable).
func (rv *pgRevert) apply(ctx context.Context, acts []sink.RevertAction) error {
	if len(acts) == 0 {
		return nil
	}
	w := &pgBatch{p: rv.p, tx: rv.tx, now: rv.p.cfg.Now().UTC().Truncate(time.Microsecond), writes: &pgx.Batch{}, byObject: map[string]*pgBatchTable{}}
	byObject := map[string]*pgTable{}
	for _, t := range rv.tabs {
		byObject[t.object] = t
	}
	removes := map[*pgTable][]string{}
	var restores []*pgRowState
	var restoreTabs []*pgBatchTable
	for _, a := range acts {
		t := byObject[a.Object]
		if a.Kind == sink.RevertRemove {
			removes[t] = append(removes[t], a.ID)
			continue
		}
		bt := w.byObject[t.object]
		if bt == nil {
			bt = w.addTable(t)
		}
		st := bt.newState(len(t.cols))
		st.id = a.ID
		if cur := rv.current[a.RecordRef]; a.Kind == sink.RevertRestore && cur != nil {
			copy(st.vals, cur.Values)
			st.opted, st.inactive, st.stored, st.changed = cur.OptedOut, cur.Inactive, true, true
		}
		for _, f := range a.Set {
			j := t.store.Index(f.Name)
			if j < 0 {
				return fmt.Errorf("batch %d: field %q of %s is not in its stored schema", rv.batch.Seq, f.Name, t.object)
			}
			st.vals[j] = f.Value
		}
		if a.OptedOut.Set {
			st.opted = a.OptedOut.Value
		}
		if a.Inactive.Set {
			st.inactive = a.Inactive.Value
		}
		if a.Kind == sink.RevertInsert {
			// A create as the write path has it, which names the record
			// when its id turns out taken.
			op := &sink.Op{Kind: sink.OpCreate, Record: &intake.Record{Schema: t.store, ID: a.ID}}
			st.create = op
			w.batch = append(w.batch, op)
			w.views = append(w.views, &pgView{t: t})
			bt.order = append(bt.order, st) // creates first
			continue
		}
		restores, restoreTabs = append(restores, st), append(restoreTabs, bt)
	}
	for i, st := range restores {
		restoreTabs[i].order = append(restoreTabs[i].order, st)
	}
	for _, t := range rv.tabs {
		ids := removes[t]
		if len(ids) == 0 {
			continue
		}
		tag, err := rv.tx.Exec(ctx, "DELETE FROM "+t.name+" WHERE "+t.idCol+" = ANY($1::"+t.idType+"[])", ids)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != int64(len(ids)) {
			return fmt.Errorf("deleted %d of %d rows of %s", tag.RowsAffected(), len(ids), t.name)
		}
	}
	if err := w.streamRows(ctx); err != nil {
		var dup *pgDuplicate
		if errors.As(err, &dup) {
			return fmt.Errorf("%w: a record the undo puts back was created again meanwhile: %v", sink.ErrDuplicateID, err)
		}
		return err
	}
	return w.sendWrites(ctx)
}

// settle drops the batch's row from the log, or keeps in it the entries
// of the records left in conflict, and marks the run undoing.
func (rv *pgRevert) settle(ctx context.Context, res sink.RevertResult, undoID string) error {
	keep := map[sink.RecordRef]bool{}
	for _, c := range res.Conflicts {
		if !c.Forced {
			keep[sink.RecordRef{Object: c.Object, ID: c.ID}] = true
		}
	}
	b := &pgx.Batch{}
	if len(keep) == 0 {
		b.Queue(`DELETE FROM `+rv.p.undoTable+` WHERE run_id = $1 AND seq = $2`, rv.batch.RunID, rv.batch.Seq)
	} else {
		var lw undolog.Writer
		for i := range rv.batch.Entries {
			if e := &rv.batch.Entries[i]; keep[sink.RecordRef{Object: e.Object, ID: e.ID}] {
				lw.Add(e)
			}
		}
		b.Queue(`UPDATE `+rv.p.undoTable+` SET data = $3 WHERE run_id = $1 AND seq = $2`, rv.batch.RunID, rv.batch.Seq, lw.Bytes())
	}
	b.Queue(`UPDATE `+rv.p.runsTable+` SET state = 'undoing', undone_by = $2 WHERE run_id = $1`, rv.batch.RunID, undoID)
	return rv.tx.SendBatch(ctx, b).Close()
}

// endUndo ends the undo of the run in tx: its audit entries (see Revert),
// and the run undone when its log holds no batch any more.
func (p *Store) endUndo(ctx context.Context, tx pgx.Tx, runID string, objects []string, opts sink.RevertOptions, audit sink.AuditEntry) error {
	a := audit
	a.Action, a.RecordID, a.Line, a.Field, a.TargetObject, a.TargetID = sink.ActionUndo, "", 0, "", "run", runID
	a.Time = a.Time.Truncate(time.Microsecond).UTC()
	if len(objects) == 0 {
		objects = []string{""}
	}
	entries := make([]sink.AuditEntry, len(objects))
	for i, o := range objects {
		entries[i] = a
		entries[i].Object = o
	}
	b := &pgx.Batch{}
	p.queueAudit(b, entries)
	b.Queue(`UPDATE `+p.runsTable+` SET undone_by = $2,
	state = CASE WHEN EXISTS (SELECT FROM `+p.undoTable+` WHERE run_id = $1) THEN 'undoing' ELSE 'undone' END
WHERE run_id = $1`, runID, opts.UndoID)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
