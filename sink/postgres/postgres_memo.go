package postgres

import (
	"context"
	"strconv"
	"sync"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink/internal/guard"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/jackc/pgx/v5"
)

// The guard of Op.Unique looks the keys of a batch's guarded creates up
// again under its locks, to find the records other writers committed
// since the importer looked them up. That second look costs as much as
// the first, and in a bulk import into Intake's own table it finds nothing.
// The memo lets the guard skip it for keys whose first look is known to
// still hold: a Lookup remembers, with the snapshot it ran under
// (pg_current_snapshot, taken before its queries), the keys it found no
// record for; the write, once it holds its locks, asks intake_writes
// which transactions wrote the table since that snapshot. A statement
// trigger on each of Intake's own tables logs there every transaction that
// inserts or updates rows, whoever runs it (another process, an earlier
// version, the host's own SQL). When none did but this process's own
// writes, the key is still free: the guard does not look it up again (a
// write of this process drops the keys it wrote from the memo, and counts
// as another writer's for a Lookup the memo recorded after that).
// Anything else — a transaction of another writer, a snapshot that does
// not see the table's horizon (the transaction of intake_write_horizon
// that created the trigger, or that last pruned the log: once it is
// visible, so is every write the log does not hold), a key the memo does
// not hold — makes the guard look the key up as before.

// pgMemoGens is how many Lookups of one key column the memo keeps: the
// importer writes each batch right after the Lookup of the next one, and
// several importers may share the store.
const pgMemoGens = 8

// pgOwnWrites is how many of its own committed writes per table the
// store remembers.
const pgOwnWrites = 16

// pgPruneEvery is how many logged writes of this process to a table come
// between two prunings of its log.
const pgPruneEvery = 128

// pgLookGen is one Lookup of a key column: its snapshot and the keys it
// found no record for.
type pgLookGen struct {
	snap string // pg_current_snapshot() as text
	keys []string
	live int    // keys the memo still holds for this Lookup
	at   uint64 // the memo's epoch when it recorded the Lookup
}

// pgMemoCol is the memo of one key column of a table.
type pgMemoCol struct {
	gens []*pgLookGen          // oldest first, at most pgMemoGens
	keys map[string]*pgLookGen // a key's latest Lookup that missed it
}

// pgOwnWrite is a committed write of this process to a table: its
// transaction, and the memo's epoch when it dropped the keys it wrote.
type pgOwnWrite struct {
	xact, at uint64
}

// pgMemo is the store's memo, safe for concurrent use.
type pgMemo struct {
	mu     sync.Mutex
	epoch  uint64                   // counts the Lookups recorded and the writes dropped
	cols   map[string]*pgMemoCol    // by object and key column (memoName)
	own    map[string][]*pgOwnWrite // by object, oldest first
	writes map[string]int           // logged writes by object since the last pruning
}

func memoName(object, column string) string { return object + "\x00" + column }

// remember records a Lookup of column under snap that found no record
// for keys.
func (m *pgMemo) remember(object, column, snap string, keys []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
	g := &pgLookGen{snap: snap, keys: keys, at: m.epoch}
	if m.cols == nil {
		m.cols = map[string]*pgMemoCol{}
	}
	name := memoName(object, column)
	c := m.cols[name]
	if c == nil {
		c = &pgMemoCol{keys: map[string]*pgLookGen{}}
		m.cols[name] = c
	}
	if len(c.gens) == pgMemoGens {
		old := c.gens[0]
		for _, k := range old.keys {
			if c.keys[k] == old {
				delete(c.keys, k)
			}
		}
		c.gens = append(c.gens[:0], c.gens[1:]...)
	}
	c.gens = append(c.gens, g)
	for _, k := range keys {
		if old := c.keys[k]; old != nil {
			old.live--
		}
		c.keys[k] = g
		g.live++
	}
}

// drop deletes k, held for g, from c.
func (c *pgMemoCol) drop(k string, g *pgLookGen) {
	delete(c.keys, k)
	g.live--
}

// forget drops what the memo holds about keys of column: a Lookup found
// records for them.
func (m *pgMemo) forget(object, column string, keys []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.cols[memoName(object, column)]; c != nil {
		for _, k := range keys {
			if g := c.keys[k]; g != nil {
				c.drop(k, g)
			}
		}
	}
}

// snapshots returns the snapshots of the Lookups the memo holds keys of
// for the key columns of object.
func (m *pgMemo) snapshots(object string, columns []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, col := range columns {
		if c := m.cols[memoName(object, col)]; c != nil {
			for _, g := range c.gens {
				if g.live > 0 {
					out = append(out, g.snap)
				}
			}
		}
	}
	return out
}

// pgSnapCheck is what a write learned, under its locks, about one
// snapshot of a table's memo: usable says that it sees the table's
// horizon, and invisible lists the transactions it does not see that
// wrote the table — with usable, all of them.
type pgSnapCheck struct {
	usable    bool
	invisible []uint64
}

// free returns, of keys of column, those the memo knows to be held by no
// record now, given the checks of its snapshots; it forgets them (they are
// being created). A key is free when the Lookup that missed it ran under a
// usable snapshot since which only writes of this process that dropped
// their keys from the memo after it recorded the Lookup wrote the table.
func (m *pgMemo) free(object, column string, keys []intake.Key, checks map[string]pgSnapCheck) map[intake.Key]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cols[memoName(object, column)]
	if c == nil {
		return nil
	}
	own := map[uint64]*pgOwnWrite{}
	for _, w := range m.own[object] {
		own[w.xact] = w
	}
	clean := map[*pgLookGen]bool{}
	out := map[intake.Key]bool{}
	for _, k := range keys {
		g := c.keys[string(k)]
		if g == nil {
			continue
		}
		ok, seen := clean[g]
		if !seen {
			ok = ownOnly(checks[g.snap], own, g)
			clean[g] = ok
		}
		if ok {
			out[k] = true
			c.drop(string(k), g)
		}
	}
	return out
}

// ownOnly reports whether the snapshot check ck of the Lookup g is usable
// and every transaction it does not see is a write of this process that
// dropped its keys after the memo recorded g.
func ownOnly(ck pgSnapCheck, own map[uint64]*pgOwnWrite, g *pgLookGen) bool {
	if !ck.usable {
		return false
	}
	for _, x := range ck.invisible {
		if w := own[x]; w == nil || w.at < g.at {
			return false
		}
	}
	return true
}

// wrote records a committed write of this process to object, whose rows
// hold keys (by key column): it drops them from the memo. It reports
// whether the table's log is due for pruning.
func (m *pgMemo) wrote(object string, xact uint64, keys map[string][]string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.own == nil {
		m.own, m.writes = map[string][]*pgOwnWrite{}, map[string]int{}
	}
	for col, ks := range keys {
		if c := m.cols[memoName(object, col)]; c != nil {
			for _, k := range ks {
				if g := c.keys[k]; g != nil {
					c.drop(k, g)
				}
			}
		}
	}
	m.epoch++
	ws := m.own[object]
	if len(ws) == pgOwnWrites {
		ws = append(ws[:0], ws[1:]...)
	}
	m.own[object] = append(ws, &pgOwnWrite{xact: xact, at: m.epoch})
	m.writes[object]++
	if m.writes[object] >= pgPruneEvery {
		m.writes[object] = 0
		return true
	}
	return false
}

// pgMemoQuery is a snapshot of the memo of a table checked by a write.
type pgMemoQuery struct {
	object, snap string
	check        pgSnapCheck
}

// queueMemo queues, after the guard's locks, the check of each snapshot
// the memo holds for the tables whose creates the batch guards (whether
// the snapshot sees the table's horizon, and which transactions that
// wrote the table it does not see), and the query of the transaction's
// id, which the memo keeps with the keys the batch writes.
func (w *pgBatch) queueMemo(b *pgx.Batch) {
	p := w.p
	if !p.logging {
		return
	}
	own := false
	for _, bt := range w.tabs {
		own = own || !bt.t.host
	}
	if !own {
		return
	}
	b.Queue(`SELECT pg_current_xact_id()::text`)
	if w.guards == 0 {
		return
	}
	q := sqltable.QuoteIdent(p.cfg.Schema)
	// The log is usable when its horizon is older than the Lookup's
	// snapshot and the table's trigger fires always (enabled "A": also
	// for sessions in replica mode); a trigger dropped or disabled by
	// hand makes the guard look the keys up again.
	sql := `SELECT coalesce(pg_visible_in_snapshot((SELECT xact FROM ` + q + `.intake_write_horizon WHERE object = $1), $2::pg_snapshot), false)
		AND EXISTS (SELECT FROM pg_trigger WHERE tgrelid = $3::regclass AND tgname = 'intake_log_write' AND tgenabled = 'A'),
	ARRAY(SELECT xact::text FROM ` + q + `.intake_writes WHERE object = $1 AND xact >= pg_snapshot_xmin($2::pg_snapshot) AND NOT pg_visible_in_snapshot(xact, $2::pg_snapshot))`
	seen := map[*pgTable]bool{}
	for i, op := range w.batch {
		t := w.views[i].t
		if !guard.Guarded(op) || t.host || seen[t] {
			continue
		}
		seen[t] = true
		cols := make([]string, len(t.keys))
		for j, k := range t.keys {
			cols[j] = k.Column
		}
		for _, snap := range p.memo.snapshots(t.object, cols) {
			b.Queue(sql, t.object, snap, t.name)
			w.checks = append(w.checks, pgMemoQuery{object: t.object, snap: snap})
		}
	}
}

// readMemo reads the results of queueMemo.
func (w *pgBatch) readMemo(br pgx.BatchResults) error {
	if !w.p.logging {
		return nil
	}
	own := false
	for _, bt := range w.tabs {
		own = own || !bt.t.host
	}
	if !own {
		return nil
	}
	var xact string
	if err := br.QueryRow().Scan(&xact); err != nil {
		return err
	}
	w.xact, _ = strconv.ParseUint(xact, 10, 64)
	for i := range w.checks {
		c := &w.checks[i]
		var xacts []string
		if err := br.QueryRow().Scan(&c.check.usable, &xacts); err != nil {
			return err
		}
		for _, x := range xacts {
			n, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				c.check.usable = false
				break
			}
			c.check.invisible = append(c.check.invisible, n)
		}
	}
	return nil
}

// unknownKeys returns the keys of spec in t that the guard must look up
// again: all but those the memo knows to be free (see pgMemo).
func (w *pgBatch) unknownKeys(t *pgTable, spec intake.KeySpec, keys []intake.Key) []intake.Key {
	if len(w.checks) == 0 || t.host || spec.RecordID {
		return keys
	}
	k := t.key(spec)
	if k == nil {
		return keys
	}
	checks := map[string]pgSnapCheck{}
	for _, c := range w.checks {
		if c.object == t.object {
			checks[c.snap] = c.check
		}
	}
	free := w.p.memo.free(t.object, k.Column, keys, checks)
	if len(free) == 0 {
		return keys
	}
	out := keys[:0:0]
	for _, x := range keys {
		if !free[x] {
			out = append(out, x)
		}
	}
	return out
}

// rememberWrite records the committed batch, with the keys it wrote, in
// the memo of each of Intake's own tables it wrote, and prunes a table's
// log when due.
func (w *pgBatch) rememberWrite(ctx context.Context) {
	if w.xact == 0 {
		return
	}
	for _, bt := range w.tabs {
		if bt.t.host || len(bt.order) == 0 && len(bt.deleted) == 0 {
			continue
		}
		keys := map[string][]string{}
		for j, k := range bt.t.keys {
			if j < len(bt.written) {
				keys[k.Column] = bt.written[j]
			}
		}
		if w.p.memo.wrote(bt.t.object, w.xact, keys) {
			w.p.pruneLog(ctx, bt.t.object)
		}
	}
}

// pruneLog deletes the entries of object's write log that every snapshot
// taken from now on sees, and moves the table's horizon to its own
// transaction: a snapshot that sees it sees them too, and one that does
// not makes the guard look keys up again. Pruners of one table queue on
// its horizon's row. A failure leaves the log as it was: it is logged.
func (p *Store) pruneLog(ctx context.Context, object string) {
	q := sqltable.QuoteIdent(p.cfg.Schema)
	err := func() error {
		tx, err := p.begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit a no-op
		tag, err := tx.Exec(ctx, `UPDATE `+q+`.intake_write_horizon SET xact = pg_current_xact_id() WHERE object = $1`, object)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+q+`.intake_writes WHERE object = $1 AND xact < pg_snapshot_xmin(pg_current_snapshot())`, object); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}()
	if err != nil && ctx.Err() == nil {
		p.cfg.Logger.Warn("intake: PostgreSQL: pruning intake_writes failed; tried again later", "object", object, "error", err)
	}
}
