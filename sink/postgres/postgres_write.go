package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/guard"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgBatchTable is the part of a batch that goes to one table.
type pgBatchTable struct {
	t       *pgTable
	fetch   []string        // ids of stored records the batch updates, opts out, … (any op but a create)
	fetched map[string]bool // the ids in fetch
	rows    map[string]*pgRowState
	order   []*pgRowState   // rows to write: creates in batch order, then changed stored rows
	deleted map[string]bool // ids of stored rows the batch deletes; nil when it deletes nothing
	reads   int             // queries reading the rows of fetch (chunks of pgChunk ids)
	written [][]string      // per key column, the keys of the rows the batch writes (Intake's own table)
	states  []pgRowState    // newState's slabs
	vals    []intake.Value
	undo    *pgUndo // the batch's undo log, when it keeps entries (WriteUndo); nil for Write
}

// pgRowState is the state of a record during a batch.
type pgRowState struct {
	id       string
	vals     []intake.Value // by column of t
	opted    bool
	inactive bool
	create   *sink.Op // the create op, for a record the batch creates
	stored   bool     // read from the table
	changed  bool     // a stored row the batch changed
	digest   int32    // with the undo log, a create whose digest is not set yet: 1 + its index in pgUndo.later
}

// errSchemaMoved is returned inside Write when another process changed the
// schema of a table the batch writes: the snapshot is reloaded and the
// batch tried again.
var errSchemaMoved = errors.New("postgres: schema changed by another process")

// Write applies the batch in order in one transaction: all of it, or on
// an error nothing (n is 0, and when a record is the cause the error is a
// *[sink.RecordError] naming it: [sink.ErrNotFound] for an update, opt-out or
// lifecycle op of an id the table does not hold, [sink.ErrDuplicateID] for a
// create of a taken id, [sink.ErrInvalidOp] for an op no store can apply, a
// lifecycle op without an Audit entry with a Reason, or an inactivate on
// a host table without TableMapping.InactiveColumn). Semantics as for
// [Memory.Write]: nulls keep stored values, Clear fields become null, an
// update that changes nothing is [intake.OutcomeUnchanged] and does not
// touch updated_at, updates never change the opted-out and inactive
// flags, which a create takes from its record. See [Store] for how a
// batch is applied.
//
// Lifecycle ops ([sink.OpInactivate], [sink.OpDelete], [sink.OpAnonymize]) are applied
// in order with the others: an inactivate sets the inactive column, an
// anonymize nulls the columns of the fields that are personal in the
// op's schema (a host's JSONB members are removed) and recomputes the
// key columns, both through the batch's UPDATE and touching updated_at
// only when something changed; a delete is a DELETE of the row, run
// before the batch's inserts, so that a later create in the batch may
// take the id again. Every lifecycle op adds its audit entry to
// intake_audit (one INSERT per batch), unchanged ones included: the log
// records what was asked, and why.
func (p *Store) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	return p.write(ctx, batch, nil, nil)
}

// WriteCheckpoint is [Store.Write] that also stores cp in
// intake_checkpoint in the batch's transaction (see [sink.Checkpointer]). An
// empty batch stores only the checkpoint.
func (p *Store) WriteCheckpoint(ctx context.Context, batch []*sink.Op, cp sink.Checkpoint) (int, error) {
	if cp.RunID == "" {
		return 0, errors.New("postgres: WriteCheckpoint: empty Checkpoint.RunID: name the run")
	}
	if cp.Line < 0 {
		return 0, fmt.Errorf("postgres: WriteCheckpoint: negative Checkpoint.Line %d", cp.Line)
	}
	return p.write(ctx, batch, &cp, nil)
}

// LastCheckpoint returns the last checkpoint committed for runID, and
// false when there is none (see [sink.Checkpointer]).
func (p *Store) LastCheckpoint(ctx context.Context, runID string) (sink.Checkpoint, bool, error) {
	cp := sink.Checkpoint{RunID: runID}
	var line int64
	err := p.read(ctx, func() error {
		var pending []int64
		err := p.pool.QueryRow(ctx, `SELECT source, last_line, pending, batches, updated_at FROM `+p.cpTable+` WHERE run_id = $1`, runID).
			Scan(&cp.Source, &line, &pending, &cp.Batches, &cp.UpdatedAt)
		cp.Pending = cp.Pending[:0]
		for _, l := range pending {
			cp.Pending = append(cp.Pending, int(l))
		}
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return sink.Checkpoint{}, false, nil
	}
	if err != nil {
		return sink.Checkpoint{}, false, fmt.Errorf("postgres: checkpoint: %w", err)
	}
	cp.Line = int(line)
	return cp, true, nil
}

// write applies the batch (see Write) with the checkpoint cp and, with run,
// the batch's undo log (see WriteUndo).
func (p *Store) write(ctx context.Context, batch []*sink.Op, cp *sink.Checkpoint, run *sink.UndoRun) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(batch) == 0 && cp == nil {
		return 0, nil
	}
	for _, op := range batch {
		if err := ops.Check(op); err != nil {
			return 0, ops.RecordError(op, err)
		}
		if err := pgCheckValues(op); err != nil {
			return 0, ops.RecordError(op, err)
		}
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	for _, op := range batch {
		op.Outcome = intake.OutcomeNone
	}
	for attempt := 0; ; attempt++ {
		out, err := p.tryWrite(ctx, batch, cp, run)
		if errors.Is(err, errSchemaMoved) && attempt < 3 {
			continue
		}
		// A statement prepared before another process migrated a table:
		// the transaction rolled back, and pgx prepares it again.
		if pgPlanStale(err) && attempt < 3 && ctx.Err() == nil {
			continue
		}
		// A deadlock with another writer (rows its batch locks in another
		// order: a host's own statements, an older version) rolled the
		// transaction back; the batch is applied again from the start.
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "40P01" && attempt < 3 && ctx.Err() == nil {
			p.cfg.Logger.Warn("intake: PostgreSQL write deadlocked with another writer; applying the batch again", "attempt", attempt+1, "error", pe.Message)
			continue
		}
		var dup *pgDuplicate
		if errors.As(err, &dup) {
			err = p.findDuplicate(ctx, batch, dup)
		}
		if err != nil {
			err = p.missingTable(err, "intake_audit")
			if run != nil {
				err = p.missingUndo(err)
			}
			var re *sink.RecordError
			switch {
			case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
				err = fmt.Errorf("postgres: write: %w (%v)", ctx.Err(), err)
			case ctx.Err() == nil && !errors.As(err, &re):
				err = fmt.Errorf("postgres: write: %w", err)
			}
			return 0, err
		}
		for i, op := range batch {
			op.Outcome = out[i]
		}
		p.analyzeGrown(ctx, batch)
		return len(batch), nil
	}
}

// pgAnalyzeMin is the number of rows a process creates in a table before
// its first ANALYZE of it.
const pgAnalyzeMin = 1000

// pgGrowth is what a process knows of a table's growth since its last
// ANALYZE of it.
type pgGrowth struct {
	base  int64 // rows at the last ANALYZE (or when first seen)
	since int64 // rows created since
	off   bool  // the role may not ANALYZE the table: not tried
}

// analyzeGrown runs ANALYZE on each table of the batch that the process
// has grown by as many rows as it had at its last ANALYZE (at least
// pgAnalyzeMin). Without statistics PostgreSQL plans the lookups of a
// table that an import fills from empty — k = ANY($1) over a thousand
// keys — as sequential scans, at a second a query once the table holds a
// million rows, and autovacuum analyzes too late for a bulk import; with
// a doubling threshold a table filled to n rows is analyzed about
// log2(n/1000) times. The batch is committed already: nothing here fails
// it. A role that may not analyze the table (a host table it does not
// own) logs one warning and never tries; a failed ANALYZE is logged and
// tried again at the next doubling. The caller holds wmu.
func (p *Store) analyzeGrown(ctx context.Context, batch []*sink.Op) {
	var created map[string]int64
	for _, op := range batch {
		if op.Outcome == intake.OutcomeCreated {
			if created == nil {
				created = map[string]int64{}
			}
			created[op.Record.Schema.Object()]++
		}
	}
	for object, n := range created {
		p.mu.RLock()
		t := p.tables[object]
		p.mu.RUnlock()
		if t == nil {
			continue
		}
		g := p.growth[object]
		if g == nil {
			// PostgreSQL answers the ANALYZE of a role that may not
			// analyze the table with a warning, not an error: ask first.
			g = &pgGrowth{}
			var rows float64
			var may bool
			err := p.pool.QueryRow(ctx, `SELECT c.reltuples,
	pg_has_role(c.relowner, 'USAGE') OR pg_has_role(d.datdba, 'USAGE') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
FROM pg_class c, pg_database d WHERE c.oid = $1::regclass AND d.datname = current_database()`, t.name).Scan(&rows, &may)
			switch {
			case err != nil:
				continue // asked again after the next batch
			case !may:
				g.off = true
				p.cfg.Logger.Warn("intake: PostgreSQL: this role may not ANALYZE the table (only its owner, the database owner or a superuser may); lookups of a table an import fills from empty may be slow until autovacuum analyzes it", "table", t.name)
			}
			g.base = max(int64(rows), 0)
			p.growth[object] = g
		}
		g.since += n
		if g.off || g.since < max(pgAnalyzeMin, g.base) {
			continue
		}
		if err := p.analyze(ctx, t); err != nil {
			if ctx.Err() == nil {
				p.cfg.Logger.Warn("intake: PostgreSQL ANALYZE failed; tried again once the table has doubled", "table", t.name, "error", err)
			}
		} else {
			g.base += g.since
		}
		g.since = 0
	}
}

// analyze runs ANALYZE on the columns of a table that the sink looks up
// by — the id and the key columns — with a sample of 3,000 rows
// (default_statistics_target 10) instead of 30,000: the lookups need the
// table's size and how distinct the keys are, which a small sample tells
// as well, and an import that doubles a table to a million rows analyzes
// it ten times. The other columns keep the statistics autovacuum gives
// them. It gives up rather than waiting more than a moment for a lock
// that conflicts with it (another ANALYZE, a VACUUM, a CREATE INDEX): the
// process's writes wait for it.
func (p *Store) analyze(ctx context.Context, t *pgTable) error {
	cols := []string{t.idCol}
	for _, k := range t.keys {
		cols = append(cols, sqltable.QuoteIdent(k.Column))
	}
	tx, err := p.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit a no-op
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '200ms'`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SET LOCAL default_statistics_target = 10`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `ANALYZE `+t.name+` (`+strings.Join(cols, ", ")+`)`); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// pgBatch is one attempt of tryWrite at a batch: the ops, the tables they
// write, the transaction, and what its phases hand on to the next. Its
// methods are the phases, in the order tryWrite runs them.
type pgBatch struct {
	p        *Store
	batch    []*sink.Op
	cp       *sink.Checkpoint         // stored with the batch, or nil
	views    []*pgView                // the view of each op's schema
	tabs     []*pgBatchTable          // the tables the batch touches, in order of first use
	byObject map[string]*pgBatchTable // tabs by object type
	unlinks  ops.Unlinks              // the targets of the ops with Unlink; nil when none unlinks
	tx       pgx.Tx                   // the batch's transaction, from lockAndFetch on
	guards   int                      // the statements that lock the keys of Op.Unique
	out      []intake.Outcome         // the outcome of each op
	audits   []sink.AuditEntry        // the entries of the lifecycle ops and of the links they remove
	now      time.Time                // created_at and updated_at of the rows written
	writes   *pgx.Batch               // the last round trip (see sendWrites)
	sents    []pgSent                 // what writes holds for each temporary table
	checks   []pgMemoQuery            // the memo's snapshots checked under the guard's locks
	xact     uint64                   // the transaction's id, when the store logs writes; 0 before
	run      *pgRun                   // the run whose undo log the batch keeps (WriteUndo); nil for Write
}

// pgSent is what the last round trip of a batch holds for one table's
// temporary table: the INSERT of its creates, the UPDATE of its stored
// rows, or both.
type pgSent struct {
	bt              *pgBatchTable
	creates, writes int // creates in the temporary table, and all its rows
	insert, update  bool
}

// tryWrite runs the batch in one transaction and returns the outcomes.
// Before the transaction it makes sure of the tables (key columns, views,
// the tables an unlink reaches); in it, one round trip takes the locks
// and reads the stored rows, the ops are applied to the rows in Go, the
// deletes run, and the rows are streamed with COPY and written with a
// last round trip that also stores the audit entries and the checkpoint.
// The caller holds wmu.
func (p *Store) tryWrite(ctx context.Context, batch []*sink.Op, cp *sink.Checkpoint, run *sink.UndoRun) (out []intake.Outcome, err error) {
	defer func() {
		if err != nil {
			guard.Clear(batch)
		}
	}()
	w := &pgBatch{p: p, batch: batch, cp: cp}
	if run != nil {
		w.run = newPgRun(run, batch)
	}
	if err := w.ensureKeys(ctx); err != nil {
		return nil, err
	}
	if err := w.takeViews(ctx); err != nil {
		return nil, err
	}
	if err := w.planTables(); err != nil {
		return nil, err
	}
	if err := w.addLinkTables(ctx); err != nil {
		return nil, err
	}
	tx, err := p.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit a no-op
	w.tx = tx
	if err := w.lockAndFetch(ctx); err != nil {
		return nil, err
	}
	if err := w.holdTakenKeys(ctx); err != nil {
		return nil, err
	}
	if err := w.apply(ctx); err != nil {
		return nil, err
	}
	if err := w.unlink(ctx); err != nil {
		return nil, err
	}
	w.settleOrder()
	if w.run != nil && w.run.undo != nil {
		w.run.undo.digestLater()
		defer w.run.undo.wait()
	}
	if err := w.deleteRows(ctx); err != nil {
		return nil, err
	}
	w.now = p.cfg.Now().UTC().Truncate(time.Microsecond)
	w.writes = &pgx.Batch{}
	if err := w.streamRows(ctx); err != nil {
		return nil, err
	}
	w.queueAudit()
	w.queueCheckpoint()
	w.queueUndo()
	if err := w.sendWrites(ctx); err != nil {
		return nil, err
	}
	if err := w.commit(ctx); err != nil {
		return nil, err
	}
	w.rememberWrite(ctx)
	return w.out, nil
}

// ensureKeys adds the key columns that Op.Unique looks keys up in.
func (w *pgBatch) ensureKeys(ctx context.Context) error {
	schemas, specs := guard.Specs(w.batch)
	for i, spec := range specs {
		v, err := w.p.ensureLocked(ctx, schemas[i])
		if err == nil && v.t.key(spec) == nil {
			err = w.p.addKeyLocked(ctx, v.t, spec)
		}
		if err != nil {
			return fmt.Errorf("key column of %s for Op.Unique: %w", spec.Name(), err)
		}
	}
	return nil
}

// takeViews takes the view of each op's schema, creating or altering its
// table. It takes them twice: ensuring one schema can replace the table
// that the view of an earlier one was taken on, and that table may then
// need altering again, which can fail as the first alter could.
func (w *pgBatch) takeViews(ctx context.Context) error {
	w.views = make([]*pgView, len(w.batch))
	for range 2 {
		var last *intake.Schema
		var lv *pgView
		for i, op := range w.batch {
			if op.Record.Schema != last {
				last = op.Record.Schema
				var err error
				if lv, err = w.p.ensureLocked(ctx, last); err != nil {
					return ops.RecordError(op, err)
				}
			}
			w.views[i] = lv
		}
	}
	return nil
}

// planTables gathers the tables of the batch, and the stored rows it
// needs: those of every id an op other than a create names (a create of
// a stored id then fails at once, even when a delete later in the batch
// would keep the row from being written). A create's id that the table's
// uuid id column cannot hold fails the batch here.
func (w *pgBatch) planTables() error {
	w.byObject = map[string]*pgBatchTable{}
	for _, op := range w.batch {
		w.unlinks.Add(op)
	}
	for i, op := range w.batch {
		t := w.views[i].t
		bt := w.byObject[t.object]
		if bt == nil {
			bt = w.addTable(t)
		}
		if op.Kind == sink.OpCreate {
			if t.idType == "uuid" && len(validIDs("uuid", []string{op.Record.ID})) == 0 {
				return ops.RecordError(op, fmt.Errorf("%w: id %q is not a UUID, which the id column of %s needs", sink.ErrInvalidOp, op.Record.ID, t.name))
			}
			continue
		}
		if bt.fetched == nil {
			bt.fetched = make(map[string]bool, len(w.batch))
		}
		if id := op.Record.ID; !bt.fetched[id] {
			bt.fetched[id] = true
			bt.fetch = append(bt.fetch, id)
		}
	}
	return nil
}

// addTable adds t to the tables of the batch.
func (w *pgBatch) addTable(t *pgTable) *pgBatchTable {
	bt := &pgBatchTable{t: t, rows: make(map[string]*pgRowState, len(w.batch))}
	if w.run != nil {
		bt.undo = w.run.undo
	}
	w.byObject[t.object] = bt
	w.tabs = append(w.tabs, bt)
	return bt
}

// addLinkTables adds, when ops unlink, the tables that may hold links to
// their targets, by object type; lockAndFetch then checks every schema:
// another process may have added a table with links.
func (w *pgBatch) addLinkTables(ctx context.Context) error {
	if w.unlinks == nil {
		return nil
	}
	w.p.mu.RLock()
	var more []*pgTable
	for object, t := range w.p.tables {
		if w.byObject[object] == nil && len(w.unlinks.Fields(t.store)) > 0 {
			more = append(more, t)
		}
	}
	w.p.mu.RUnlock()
	slices.SortFunc(more, func(a, b *pgTable) int { return strings.Compare(a.object, b.object) })
	for _, t := range more {
		if t.needsUpgrade() { // a table without the inactive column: add it first
			v, err := w.p.ensureLocked(ctx, t.store)
			if err != nil {
				return err
			}
			t = v.t
		}
		w.addTable(t)
	}
	return nil
}

// lockAndFetch sends one round trip: synchronous_commit off for the
// transaction when Config.AsyncCommit says so, the advisory locks of the
// keys that Op.Unique guards, the versions of the tables' schemas (locked
// against schema changes until commit) and the stored rows (locked
// against other writers). A schema another process changed ends the
// attempt with errSchemaMoved.
func (w *pgBatch) lockAndFetch(ctx context.Context) error {
	b := &pgx.Batch{}
	if w.p.cfg.AsyncCommit {
		b.Queue(`SET LOCAL synchronous_commit = off`)
	}
	w.guards = queueGuardLocks(b, w.batch, w.views)
	w.queueMemo(b)
	w.queueRun(b)
	if w.unlinks != nil {
		b.Queue(`SELECT object, version FROM ` + w.p.schemaTable + ` FOR SHARE`)
	} else {
		objects := make([]string, len(w.tabs))
		for i, bt := range w.tabs {
			objects[i] = bt.t.object
		}
		b.Queue(`SELECT object, version FROM `+w.p.schemaTable+` WHERE object = ANY($1) FOR SHARE`, objects)
	}
	lockOrder := w.queueFetches(b)
	br := w.tx.SendBatch(ctx, b)
	n := w.guards
	if w.p.cfg.AsyncCommit {
		n++
	}
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	if err := w.readMemo(br); err != nil {
		br.Close()
		return err
	}
	if err := w.readRun(br); err != nil {
		br.Close()
		return err
	}
	if err := w.p.readPrefetch(br, lockOrder, w.unlinks != nil); err != nil {
		br.Close()
		return err
	}
	return br.Close()
}

// queueFetches queues the reads, FOR UPDATE, of the stored rows the batch
// needs, and returns the tables in the order it queued them. Rows are
// locked in one order that every process and batch follows — tables by
// name, then ids in byte order (chunk after chunk, and within a chunk by
// ORDER BY, under which FOR UPDATE locks) — so that two writers whose
// batches share rows wait for each other instead of deadlocking.
func (w *pgBatch) queueFetches(b *pgx.Batch) []*pgBatchTable {
	lockOrder := slices.Clone(w.tabs)
	slices.SortFunc(lockOrder, func(a, b *pgBatchTable) int { return strings.Compare(a.t.name, b.t.name) })
	for _, bt := range lockOrder {
		ids := sortedIDs(bt.t.idType, bt.fetch)
		order := bt.t.idCol + ` COLLATE "C"`
		if bt.t.idType == "uuid" {
			order = bt.t.idCol
		}
		for c := range slices.Chunk(ids, pgChunk) {
			b.Queue(`SELECT `+bt.t.selectList()+` FROM `+bt.t.name+` WHERE `+bt.t.idCol+` = ANY($1::`+bt.t.idType+`[]) ORDER BY `+order+` FOR UPDATE`, c)
			bt.reads++
		}
	}
	return lockOrder
}

// holdTakenKeys holds the creates whose keys another writer committed
// while the batch waited for the keys' locks (see [sink.Op.Unique]).
func (w *pgBatch) holdTakenKeys(ctx context.Context) error {
	if w.guards == 0 {
		return nil
	}
	_, err := guard.Creates(w.batch, func(s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
		t := w.byObject[s.Object()].t
		if keys = w.unknownKeys(t, spec, keys); len(keys) == 0 {
			return map[intake.Key][]string{}, nil
		}
		return pgFindKeys(ctx, w.tx, t, spec, keys)
	})
	return err
}

// apply applies the ops in order to the rows in Go: each op's outcome,
// the rows' new states, and the audit entries of the lifecycle ops.
func (w *pgBatch) apply(ctx context.Context) error {
	w.out = make([]intake.Outcome, len(w.batch))
	for i, op := range w.batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		v := w.views[i]
		bt := w.byObject[v.t.object]
		var links []sink.AuditEntry // an anonymize's own links, with Unlink
		var err error
		switch op.Kind {
		case sink.OpCreate:
			w.out[i], err = bt.create(op, v)
		case sink.OpUpdate:
			w.out[i], err = bt.update(op, v)
		case sink.OpOptOut:
			w.out[i], err = bt.optOut(op)
		case sink.OpInactivate:
			w.out[i], err = bt.inactivate(op)
		case sink.OpAnonymize:
			w.out[i], links, err = bt.anonymize(op, v)
		case sink.OpDelete:
			w.out[i], err = bt.delete(op)
		}
		if err != nil {
			return err
		}
		if ops.IsLifecycle(op.Kind) {
			w.audits = append(w.audits, ops.Audit(op))
			w.audits = append(w.audits, links...)
		}
	}
	return nil
}

// row returns the state of the row that op names, or the RecordError of
// ErrNotFound when the batch has none (the table does not hold it, or an
// earlier op deleted it).
func (bt *pgBatchTable) row(op *sink.Op) (*pgRowState, error) {
	st := bt.rows[op.Record.ID]
	if st == nil {
		return nil, ops.RecordError(op, sink.ErrNotFound)
	}
	if bt.undo != nil {
		bt.undo.settle(st) // a create's digest is of the record as created
	}
	return st, nil
}

// newState returns a new row state with n null values, taken from slabs
// the batch table allocates a thousand at a time.
func (bt *pgBatchTable) newState(n int) *pgRowState {
	const slab = 1000
	if len(bt.states) == 0 {
		bt.states = make([]pgRowState, slab)
	}
	if len(bt.vals) < n {
		bt.vals = make([]intake.Value, max(n, n*slab))
	}
	st := &bt.states[0]
	bt.states = bt.states[1:]
	st.vals = bt.vals[:n:n]
	bt.vals = bt.vals[n:]
	return st
}

// create adds the row of a create, unless Unique held it.
func (bt *pgBatchTable) create(op *sink.Op, v *pgView) (intake.Outcome, error) {
	if op.Existing != nil {
		return intake.OutcomeSkipped, nil // held by Unique
	}
	rec := op.Record
	if bt.rows[rec.ID] != nil {
		return intake.OutcomeNone, ops.RecordError(op, sink.ErrDuplicateID)
	}
	st := bt.newState(len(v.t.cols))
	st.id, st.opted, st.inactive, st.create = rec.ID, rec.OptedOut, rec.Inactive, op
	for i, j := range v.plan {
		st.vals[j] = ops.Value(rec, i)
	}
	bt.rows[rec.ID] = st
	bt.order = append(bt.order, st)
	if bt.undo != nil {
		bt.undo.create(bt.t, st, rec.Line)
	}
	return intake.OutcomeCreated, nil
}

// update sets the values of an update that are not null, nulls its Clear
// fields, and with OptIn clears the opted-out flag.
func (bt *pgBatchTable) update(op *sink.Op, v *pgView) (intake.Outcome, error) {
	st, err := bt.row(op)
	if err != nil {
		return intake.OutcomeNone, err
	}
	u := bt.undo
	var ch []sink.FieldChange // with the undo log: the fields the op changes
	if u != nil {
		ch = u.fields[:0]
	}
	changed := false
	for i, j := range v.plan {
		if x := ops.Value(op.Record, i); !x.IsNull() && st.vals[j] != x {
			if u != nil {
				ch = append(ch, sink.FieldChange{Name: bt.t.cols[j].Name, Before: st.vals[j], After: x})
			}
			st.vals[j], changed = x, true
		}
	}
	for _, c := range op.Clear {
		if j := v.plan[c]; !st.vals[j].IsNull() {
			if u != nil {
				ch = clearChange(ch, bt.t.cols[j].Name, st.vals[j])
			}
			st.vals[j], changed = intake.Null, true
		}
	}
	var opted sink.FlagChange
	if op.OptIn && st.opted {
		st.opted, changed = false, true
		opted = sink.FlagChange{Changed: true, Before: true}
	}
	if !changed {
		return intake.OutcomeUnchanged, nil
	}
	st.changed = true
	if u != nil {
		u.fields = ch
		u.update(bt.t.object, st.id, op.Record.Line, ch, opted, sink.FlagChange{})
	}
	return intake.OutcomeUpdated, nil
}

// optOut sets the opted-out flag of a row.
func (bt *pgBatchTable) optOut(op *sink.Op) (intake.Outcome, error) {
	st, err := bt.row(op)
	if err != nil {
		return intake.OutcomeNone, err
	}
	if bt.t.optedCol == "" {
		return intake.OutcomeNone, ops.RecordError(op, fmt.Errorf("%w: the table mapping of %q has no OptedOutColumn", sink.ErrInvalidOp, bt.t.object))
	}
	if !st.opted {
		st.opted, st.changed = true, true
		if bt.undo != nil {
			bt.undo.update(bt.t.object, st.id, op.Record.Line, nil, sink.FlagChange{Changed: true}, sink.FlagChange{})
		}
	}
	return intake.OutcomeOptedOut, nil
}

// inactivate sets the inactive flag of a row.
func (bt *pgBatchTable) inactivate(op *sink.Op) (intake.Outcome, error) {
	st, err := bt.row(op)
	if err != nil {
		return intake.OutcomeNone, err
	}
	if bt.t.inactiveCol == "" {
		return intake.OutcomeNone, ops.RecordError(op, fmt.Errorf("%w: the table mapping of %q has no InactiveColumn: add a boolean column to %s and name it in TableMapping.InactiveColumn", sink.ErrInvalidOp, bt.t.object, bt.t.name))
	}
	if st.inactive {
		return intake.OutcomeUnchanged, nil
	}
	st.inactive, st.changed = true, true
	if bt.undo != nil {
		bt.undo.update(bt.t.object, st.id, op.Record.Line, nil, sink.FlagChange{}, sink.FlagChange{Changed: true})
	}
	return intake.OutcomeInactivated, nil
}

// anonymize nulls the personal fields of a row and, with Unlink, its
// links, and returns the audit entries of the links it removes.
func (bt *pgBatchTable) anonymize(op *sink.Op, v *pgView) (intake.Outcome, []sink.AuditEntry, error) {
	st, err := bt.row(op)
	if err != nil {
		return intake.OutcomeNone, nil, err
	}
	out := intake.OutcomeUnchanged
	for i, j := range v.plan {
		if sink.AnonymizeErases(op.Record.Schema, i) && !st.vals[j].IsNull() {
			st.vals[j], st.changed = intake.Null, true
			out = intake.OutcomeAnonymized
		}
	}
	if !op.Unlink {
		return out, nil, nil
	}
	var links []sink.AuditEntry
	for j, c := range v.t.cols {
		if ops.IsLink(c.Field) && !st.vals[j].IsNull() {
			st.vals[j], links = ops.ClearLink(op, st.vals[j], c.Field, links)
			st.changed = true
			out = intake.OutcomeAnonymized
		}
	}
	return out, links, nil
}

// delete drops a row from the batch, and marks it for deleteRows when the
// table holds it.
func (bt *pgBatchTable) delete(op *sink.Op) (intake.Outcome, error) {
	st, err := bt.row(op)
	if err != nil {
		return intake.OutcomeNone, err
	}
	if bt.undo != nil {
		bt.undo.delete(bt.t, st, op.Record.Line)
	}
	if bt.deleted == nil { // also says that creates may have gone
		bt.deleted = map[string]bool{}
	}
	if st.stored {
		bt.deleted[op.Record.ID] = true
	}
	delete(bt.rows, op.Record.ID) // a create later in the batch may take the id
	return intake.OutcomeDeleted, nil
}

// unlink removes the links to the targets of the ops with Unlink (see
// [Store.unlink]).
func (w *pgBatch) unlink(ctx context.Context) error {
	if w.unlinks == nil {
		return nil
	}
	var err error
	w.audits, err = w.p.unlink(ctx, w.tx, w.tabs, w.unlinks, w.audits)
	return err
}

// settleOrder sets the rows each table writes: the creates still
// standing, each once (a delete may have dropped one, and a later create
// taken its id again), then the stored rows the batch changed.
func (w *pgBatch) settleOrder() {
	for _, bt := range w.tabs {
		if bt.deleted != nil {
			creates, kept := bt.order[:0], map[*pgRowState]bool{}
			for _, st := range bt.order {
				if cur := bt.rows[st.id]; cur != nil && cur.create != nil && !kept[cur] {
					kept[cur] = true
					creates = append(creates, cur)
				}
			}
			bt.order = creates
		}
		for _, id := range bt.fetch {
			if st := bt.rows[id]; st != nil && st.stored && st.changed {
				bt.order = append(bt.order, st)
			}
		}
	}
}

// deleteRows deletes the stored rows the batch deletes, before any row is
// written: a create of the batch may take a deleted id again.
func (w *pgBatch) deleteRows(ctx context.Context) error {
	for _, bt := range w.tabs {
		if len(bt.deleted) == 0 {
			continue
		}
		ids := make([]string, 0, len(bt.deleted))
		for _, id := range bt.fetch {
			if bt.deleted[id] {
				ids = append(ids, id)
			}
		}
		tag, err := w.tx.Exec(ctx, "DELETE FROM "+bt.t.name+" WHERE "+bt.t.idCol+" = ANY($1::"+bt.t.idType+"[])", ids)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != int64(len(ids)) {
			return fmt.Errorf("deleted %d of %d rows of %s", tag.RowsAffected(), len(ids), bt.t.name)
		}
	}
	return nil
}

// streamRows streams the rows the batch writes, table by table (see
// streamTable).
func (w *pgBatch) streamRows(ctx context.Context) error {
	for i, bt := range w.tabs {
		if err := w.streamTable(ctx, i, bt); err != nil {
			return err
		}
	}
	return nil
}

// streamTable streams the rows of bt, the i-th table of the batch. The
// creates of Intake's own tables go with COPY straight into the table;
// the other rows go with COPY into a temporary table, and w.writes gets
// the INSERT of its creates and the UPDATE of its stored rows from it.
func (w *pgBatch) streamTable(ctx context.Context, i int, bt *pgBatchTable) error {
	if len(bt.order) == 0 {
		return nil
	}
	ncreate := 0
	for _, st := range bt.order {
		if st.create != nil {
			ncreate++
		}
	}
	rest := bt.order
	if ncreate > 0 && !bt.t.host {
		if err := w.copyCreates(ctx, bt, bt.order[:ncreate]); err != nil {
			return err
		}
		rest, ncreate = bt.order[ncreate:], 0
		if len(rest) == 0 {
			return nil
		}
	}
	tmp := bt.t.tempName(i)
	if _, err := w.tx.Exec(ctx, bt.t.tempSQL(tmp)); err != nil {
		return err
	}
	src := &pgRowSource{bt: bt, rows: rest, now: w.now}
	if err := copyRows(ctx, w.tx, sqltable.QuoteIdent(tmp), bt.t.tempCols(), src); err != nil {
		return err
	}
	s := pgSent{bt: bt, creates: ncreate, writes: len(rest)}
	if ncreate > 0 {
		w.writes.Queue(bt.t.insertSQL(tmp))
		s.insert = true
	}
	if ncreate < len(rest) {
		w.writes.Queue(bt.t.updateSQL(tmp))
		s.update = true
	}
	w.sents = append(w.sents, s)
	return nil
}

// copyCreates streams the creates of rows with COPY straight into bt's
// table, one of Intake's own. An id another writer holds stops the COPY
// with a *pgDuplicate, whose create write finds after the rollback.
func (w *pgBatch) copyCreates(ctx context.Context, bt *pgBatchTable, rows []*pgRowState) error {
	src := &pgRowSource{bt: bt, rows: rows, now: w.now, direct: true}
	err := copyRows(ctx, w.tx, bt.t.name, bt.t.copyCols(), src)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && isIDConstraint(pe.ConstraintName) {
		return &pgDuplicate{bt: bt, err: err}
	}
	return err
}

// isIDConstraint reports whether name is the constraint on the id of one
// of Intake's own tables: its primary key (<table>_pkey), or the UNIQUE
// constraint (<table>_id_key) of a table that kept the layout of earlier
// versions (see [Migrations]).
func isIDConstraint(name string) bool {
	return strings.Contains(name, "_pkey") || strings.Contains(name, "_id_key")
}

// queueAudit queues the INSERT of the batch's audit entries, if any.
func (w *pgBatch) queueAudit() {
	if len(w.audits) > 0 {
		w.p.queueAudit(w.writes, w.audits)
	}
}

// queueCheckpoint queues the upsert of the batch's checkpoint, if any.
func (w *pgBatch) queueCheckpoint() {
	if w.cp == nil {
		return
	}
	cp, table := w.cp, w.p.cpTable
	w.writes.Queue(`INSERT INTO `+table+` (run_id, source, last_line, pending, batches, updated_at) VALUES ($1, $2, $3, $4, 1, $5)
ON CONFLICT (run_id) DO UPDATE SET source = EXCLUDED.source, last_line = EXCLUDED.last_line, pending = EXCLUDED.pending, batches = `+table+`.batches + 1, updated_at = EXCLUDED.updated_at`,
		cp.RunID, cp.Source, int64(cp.Line), heldLines(w.batch, cp.Pending), w.now)
}

// sendWrites sends the last round trip of the batch — the INSERTs and
// UPDATEs from the temporary tables, the audit entries, the checkpoint —
// and checks that every row was written.
func (w *pgBatch) sendWrites(ctx context.Context) error {
	if w.writes.Len() == 0 {
		return nil
	}
	br := w.tx.SendBatch(ctx, w.writes)
	if err := w.readWrites(br); err != nil {
		br.Close()
		return err
	}
	return br.Close()
}

// readWrites reads the results of sendWrites in the order it queued them.
func (w *pgBatch) readWrites(br pgx.BatchResults) error {
	for _, s := range w.sents {
		if s.insert {
			if err := w.checkInserted(br, s); err != nil {
				return err
			}
		}
		if s.update {
			got, err := readIDs(br)
			if err != nil {
				return err
			}
			if len(got) != s.writes-s.creates {
				return fmt.Errorf("updated %d of %d rows of %s", len(got), s.writes-s.creates, s.bt.t.name)
			}
		}
	}
	if len(w.audits) > 0 {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
	}
	if w.cp != nil {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	return w.readUndo(br)
}

// checkInserted reads the ids that the INSERT of s's creates returned. A
// missing one is an id another writer took meanwhile (the INSERT does
// nothing on a conflict): the first create of the batch with such an id
// is the error.
func (w *pgBatch) checkInserted(br pgx.BatchResults, s pgSent) error {
	got, err := readIDs(br)
	if err != nil {
		return err
	}
	if len(got) == s.creates {
		return nil
	}
	for i, op := range w.batch {
		if op.Kind == sink.OpCreate && w.views[i].t.object == s.bt.t.object && !got[op.Record.ID] {
			return ops.RecordError(op, sink.ErrDuplicateID)
		}
	}
	return fmt.Errorf("inserted %d of %d rows", len(got), s.creates)
}

// commit commits the batch's transaction, unless ctx ended meanwhile.
func (w *pgBatch) commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.tx.Commit(ctx)
}

// findDuplicate returns the RecordError of the first create of the batch
// whose id the table of dup holds.
func (p *Store) findDuplicate(ctx context.Context, batch []*sink.Op, dup *pgDuplicate) error {
	t := dup.bt.t
	var ids []string
	for _, op := range batch {
		if op.Kind == sink.OpCreate && dup.bt.rows[op.Record.ID] != nil {
			ids = append(ids, op.Record.ID)
		}
	}
	rows, err := p.pool.Query(ctx, "SELECT "+t.idCol+"::text FROM "+t.name+" WHERE "+t.idCol+" = ANY($1)", ids)
	if err != nil {
		return dup.err
	}
	taken := map[string]bool{}
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			taken[id] = true
		}
	}
	rows.Close()
	for _, op := range batch {
		if op.Kind == sink.OpCreate && taken[op.Record.ID] && !dup.bt.deleted[op.Record.ID] && dup.bt.rows[op.Record.ID] != nil && dup.bt.rows[op.Record.ID].create == op {
			return ops.RecordError(op, sink.ErrDuplicateID)
		}
	}
	return dup.err
}

// unlink removes the links to the targets of u (see [sink.Op.Unlink]) once the
// ops of the batch are applied in Go: for each table of the batch with
// link fields to a target's type, one SELECT … FOR UPDATE per link field
// reads the stored rows that hold a target (by = ANY($1) on an id column,
// which an index on it serves and which is a scan of the table without
// one; by && on a multi-select's text[], ->> and ?| on a host's JSONB
// members); they join the batch's rows, which lose the links in Go and
// are written by the batch's one UPDATE per table, key columns included.
// It returns audits with an entry per removed link; with the undo log,
// each record that loses links gets an UndoUpdate entry of them.
func (p *Store) unlink(ctx context.Context, tx pgx.Tx, tabs []*pgBatchTable, u ops.Unlinks, audits []sink.AuditEntry) ([]sink.AuditEntry, error) {
	for _, bt := range tabs {
		t := bt.t
		links := u.Fields(t.store)
		if len(links) == 0 {
			continue
		}
		sc := newPgScanner(t)
		for _, j := range links {
			rows, err := tx.Query(ctx, "SELECT "+t.selectList()+" FROM "+t.name+" WHERE "+t.linkCond(j)+" ORDER BY "+t.orderBy+" FOR UPDATE", u.TargetIDs(t.cols[j].Ref))
			if err != nil {
				return nil, fmt.Errorf("find the links of %s.%s: %w", t.object, t.cols[j].Name, err)
			}
			for rows.Next() {
				rec := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
				if err := sc.scan(rows, &rec); err != nil {
					rows.Close()
					return nil, err
				}
				if _, ok := bt.rows[rec.ID]; ok || bt.deleted[rec.ID] {
					continue // the batch's own rows are as its ops left them
				}
				bt.rows[rec.ID] = &pgRowState{id: rec.ID, vals: rec.Values, opted: rec.OptedOut, inactive: rec.Inactive, stored: true}
				bt.fetch = append(bt.fetch, rec.ID)
			}
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("find the links of %s.%s: %w", t.object, t.cols[j].Name, err)
			}
		}
		strip := func(st *pgRowState) {
			var ch []sink.FieldChange // with the undo log: the links removed
			line := 0
			for _, j := range links {
				nv, more, changed := u.Strip(st.vals[j], t.cols[j].Field, t.object, st.id, audits)
				audits = more
				if changed {
					if bt.undo != nil {
						bt.undo.settle(st)
						ch = append(ch, sink.FieldChange{Name: t.cols[j].Name, Before: st.vals[j], After: nv})
						line = audits[len(audits)-1].Line
					}
					st.vals[j], st.changed = nv, true
				}
			}
			if len(ch) > 0 {
				bt.undo.update(t.object, st.id, line, ch, sink.FlagChange{}, sink.FlagChange{})
			}
		}
		for _, st := range bt.order {
			if bt.rows[st.id] == st { // not deleted since
				strip(st)
			}
		}
		for _, id := range bt.fetch {
			if st := bt.rows[id]; st != nil {
				strip(st)
			}
		}
	}
	return audits, nil
}

// linkCond is the condition of a row whose link field j holds one of the
// ids of $1 (text[]).
func (t *pgTable) linkCond(j int) string {
	c := t.cols[j]
	list := c.Type.Kind() == intake.KindList
	switch {
	case t.inJSON[j]:
		if list {
			return "(" + t.jsonCol + " -> " + sqltable.QuoteLiteral(c.Name) + ") ?| $1::text[]"
		}
		return "(" + t.jsonCol + " ->> " + sqltable.QuoteLiteral(c.Name) + ") = ANY($1::text[])"
	case t.host:
		if list {
			return sqltable.QuoteIdent(c.Column) + "::text[] && $1::text[]"
		}
		return sqltable.QuoteIdent(c.Column) + "::text = ANY($1::text[])"
	case list:
		return sqltable.QuoteIdent(c.Column) + " && $1::text[]"
	}
	return sqltable.QuoteIdent(c.Column) + " = ANY($1::text[])"
}

// readPrefetch reads the schema versions and the stored rows of a batch.
// With all, the versions are those of every object type, and one this
// process does not know yet, or knows at another version, counts as moved.
func (p *Store) readPrefetch(br pgx.BatchResults, tabs []*pgBatchTable, all bool) error {
	versions, err := readVersions(br)
	if err != nil {
		return err
	}
	var moved []string
	for _, bt := range tabs {
		if versions[bt.t.object] != bt.t.version {
			moved = append(moved, bt.t.object)
		}
	}
	if all {
		// A table the batch does not touch may have gained link fields
		// since this process read it, as well as a table it does not know.
		p.mu.RLock()
		for object, v := range versions {
			if t := p.tables[object]; (t == nil || t.version != v) && !slices.Contains(moved, object) {
				moved = append(moved, object)
			}
		}
		p.mu.RUnlock()
	}
	if len(moved) > 0 {
		if err := p.load(context.Background(), moved); err != nil {
			return err
		}
		return errSchemaMoved
	}
	for _, bt := range tabs {
		sc := newPgScanner(bt.t)
		for range bt.reads {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				st := bt.newState(len(bt.t.cols))
				rec := intake.Record{Schema: bt.t.store, Values: st.vals}
				if err := sc.scan(rows, &rec); err != nil {
					rows.Close()
					return err
				}
				st.id, st.opted, st.inactive, st.stored = rec.ID, rec.OptedOut, rec.Inactive, true
				bt.rows[rec.ID] = st
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

func readIDs(br pgx.BatchResults) (map[string]bool, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	got := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		got[id] = true
	}
	return got, rows.Err()
}

// pgRowSource streams rows of a batch table to COPY: into the temporary
// table (ord, upd, id, …), or, direct, into the table itself.
type pgRowSource struct {
	bt     *pgBatchTable
	rows   []*pgRowState
	now    time.Time
	direct bool
	i      int
	rec    intake.Record
}

func (s *pgRowSource) Next() bool {
	s.i++
	return s.i <= len(s.rows)
}

// copyCols are the columns a direct COPY into Intake's own table sets.
func (t *pgTable) copyCols() []string {
	cols := []string{"id", "opted_out", "created_at", "updated_at"}
	if t.inactive != "" {
		cols = append(cols, t.inactive)
	}
	for _, c := range t.cols {
		cols = append(cols, c.Column)
	}
	for _, k := range t.keys {
		cols = append(cols, k.Column)
	}
	return cols
}

// pgDuplicate is the error of a direct COPY that a taken id stopped; write
// finds the record after the rollback.
type pgDuplicate struct {
	bt  *pgBatchTable
	err error
}

func (e *pgDuplicate) Error() string { return e.err.Error() }

// tempCols are the columns of a batch's temporary table.
func (t *pgTable) tempCols() []string {
	cols := []string{"ord", "upd", "id", "opted", "created", "updated", "inactive"}
	for j := range t.cols {
		if !t.inJSON[j] {
			cols = append(cols, "c"+strconv.Itoa(j))
		}
	}
	if t.jsonCol != "" {
		cols = append(cols, "j", "jnull")
	}
	for j := range t.keys {
		cols = append(cols, "k"+strconv.Itoa(j))
	}
	return cols
}

// tempName returns the name of the i-th temporary table of a batch for t.
// The name tells the columns' types apart: pgx prepares and caches, per
// connection and by their text, the INSERT and UPDATE that read the
// temporary table, and the temporary tables of two batches on one
// connection, with the same column names, may differ in their types
// (another table, or one with a field added).
func (t *pgTable) tempName(i int) string {
	h := fnv.New64a()
	h.Write([]byte(t.tempSQL("")))
	return "intake_in_" + strconv.Itoa(i) + "_" + strconv.FormatUint(h.Sum64(), 36)
}

// tempSQL creates the temporary table of a batch, its columns of
// Intake's types; INSERT and UPDATE cast them to a host table's types.
func (t *pgTable) tempSQL(tmp string) string {
	var b strings.Builder
	b.WriteString("CREATE TEMP TABLE " + tmp + " (ord int4, upd boolean, id text, opted boolean, created timestamptz, updated timestamptz, inactive boolean")
	for j, c := range t.cols {
		if !t.inJSON[j] {
			b.WriteString(", c" + strconv.Itoa(j) + " " + pgType(c.Type))
		}
	}
	if t.jsonCol != "" {
		b.WriteString(", j jsonb, jnull text[]")
	}
	for j := range t.keys {
		b.WriteString(", k" + strconv.Itoa(j) + " text")
	}
	b.WriteString(") ON COMMIT DROP")
	return b.String()
}

// writableKey reports whether a write sets key column j (a host's
// generated column it does not).
func (t *pgTable) writableKey(j int) bool { return j >= len(t.genKey) || !t.genKey[j] }

func (t *pgTable) insertSQL(tmp string) string {
	var cols, sel []string
	cols = append(cols, t.idCol)
	sel = append(sel, "s.id::"+t.idType)
	if t.optedCol != "" {
		cols, sel = append(cols, t.optedCol), append(sel, "s.opted")
	}
	if t.createdCol != "" {
		cols, sel = append(cols, t.createdCol), append(sel, "s.created")
	}
	if t.updatedCol != "" {
		cols, sel = append(cols, t.updatedCol), append(sel, "s.updated")
	}
	if t.inactiveCol != "" {
		cols, sel = append(cols, t.inactiveCol), append(sel, "s.inactive")
	}
	for j, c := range t.cols {
		if !t.inJSON[j] {
			cols, sel = append(cols, sqltable.QuoteIdent(c.Column)), append(sel, "s.c"+strconv.Itoa(j)+t.castTo(c.Column))
		}
	}
	if t.jsonCol != "" {
		cols, sel = append(cols, t.jsonCol), append(sel, "s.j")
	}
	for j, k := range t.keys {
		if t.writableKey(j) {
			cols, sel = append(cols, sqltable.QuoteIdent(k.Column)), append(sel, "s.k"+strconv.Itoa(j))
		}
	}
	return "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(sel, ", ") +
		" FROM " + tmp + " s WHERE NOT s.upd ORDER BY s.ord ON CONFLICT (" + t.idCol + ") DO NOTHING RETURNING " + t.idCol + "::text"
}

func (t *pgTable) updateSQL(tmp string) string {
	var set []string
	if t.optedCol != "" {
		set = append(set, t.optedCol+" = s.opted")
	}
	if t.updatedCol != "" {
		set = append(set, t.updatedCol+" = s.updated")
	}
	if t.inactiveCol != "" {
		set = append(set, t.inactiveCol+" = s.inactive")
	}
	for j, c := range t.cols {
		if !t.inJSON[j] {
			set = append(set, sqltable.QuoteIdent(c.Column)+" = s.c"+strconv.Itoa(j)+t.castTo(c.Column))
		}
	}
	if t.jsonCol != "" {
		set = append(set, t.jsonCol+" = (COALESCE(t."+t.jsonCol+", '{}'::jsonb) - COALESCE(s.jnull, '{}'::text[])) || COALESCE(s.j, '{}'::jsonb)")
	}
	for j, k := range t.keys {
		if t.writableKey(j) {
			set = append(set, sqltable.QuoteIdent(k.Column)+" = s.k"+strconv.Itoa(j))
		}
	}
	return "UPDATE " + t.name + " AS t SET " + strings.Join(set, ", ") + " FROM " + tmp + " s WHERE s.upd AND t." + t.idCol + " = s.id::" + t.idType + " RETURNING t." + t.idCol + "::text"
}

// The ranges of PostgreSQL's date and timestamp types.
var (
	pgMinDate = intake.Date(-4713, 11, 24) // 4714 BC
	pgMaxDate = intake.Date(5874897, 12, 31)
	pgMinTS   = time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC).UnixMicro()
	pgMaxTS   = int64(math.MaxInt64) // PostgreSQL reaches beyond Unix µs in an int64
)

// pgCheckValues reports values of op that PostgreSQL cannot store.
func pgCheckValues(op *sink.Op) error {
	rec := op.Record
	if strings.IndexByte(rec.ID, 0) >= 0 || !utf8.ValidString(rec.ID) {
		return fmt.Errorf("%w: PostgreSQL text cannot hold NUL bytes or invalid UTF-8 (record id)", sink.ErrInvalidOp)
	}
	if a := op.Audit; a != nil && ops.IsLifecycle(op.Kind) {
		for _, x := range []string{a.Reason, a.Actor, a.Job, a.RunID} {
			if strings.IndexByte(x, 0) >= 0 || !utf8.ValidString(x) {
				return fmt.Errorf("%w: PostgreSQL text cannot hold NUL bytes or invalid UTF-8 (audit entry)", sink.ErrInvalidOp)
			}
		}
	}
	if op.Kind != sink.OpCreate && op.Kind != sink.OpUpdate {
		return nil // values unused
	}
	for i, v := range rec.Values {
		s, n := v.Raw()
		switch v.Kind() {
		case intake.KindText, intake.KindList:
			if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
				return fmt.Errorf("%w: field %q: PostgreSQL text cannot hold NUL bytes or invalid UTF-8", sink.ErrInvalidOp, rec.Schema.Field(i).Name)
			}
		case intake.KindDate:
			_, lo := pgMinDate.Raw()
			_, hi := pgMaxDate.Raw()
			if n < lo || n > hi {
				return fmt.Errorf("%w: field %q: date %s is outside PostgreSQL's range", sink.ErrInvalidOp, rec.Schema.Field(i).Name, v)
			}
		case intake.KindTimestamp:
			if n < pgMinTS || n > pgMaxTS {
				return fmt.Errorf("%w: field %q: timestamp %s is outside PostgreSQL's range", sink.ErrInvalidOp, rec.Schema.Field(i).Name, v)
			}
		}
	}
	return nil
}

// sortedIDs returns the valid ids of a table's id type in the order the
// database sorts them: byte order for text (the "C" collation), the
// 16 bytes' order for uuid.
func sortedIDs(typ string, ids []string) []string {
	if typ != "uuid" {
		ids = slices.Clone(ids)
		slices.Sort(ids)
		return ids
	}
	type parsed struct {
		u  uuid.UUID
		id string
	}
	ps := make([]parsed, 0, len(ids))
	for _, id := range ids {
		if u, err := uuid.Parse(id); err == nil {
			ps = append(ps, parsed{u, id})
		}
	}
	slices.SortFunc(ps, func(a, b parsed) int { return bytes.Compare(a.u[:], b.u[:]) })
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.id
	}
	return out
}

// readVersions reads the next result of br: the schema version of each
// object type, as (object, version) rows.
func readVersions(br pgx.BatchResults) (map[string]int64, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	versions := map[string]int64{}
	for rows.Next() {
		var object string
		var v int64
		if err := rows.Scan(&object, &v); err != nil {
			return nil, err
		}
		versions[object] = v
	}
	return versions, rows.Err()
}
