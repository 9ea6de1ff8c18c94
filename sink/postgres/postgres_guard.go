package postgres

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/guard"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/jackc/pgx/v5"
)

// pgGuardKeyLocks is the most keys (a guarded create's Unique specs, each)
// of one table for which a batch locks each key: a batch that checks more
// locks the table's creates as a whole. Every lock is held until the transaction ends and
// takes a slot of PostgreSQL's shared lock table (max_locks_per_transaction
// × max_connections slots), which ten thousand key locks would exhaust.
const pgGuardKeyLocks = 64

// queueGuardLocks queues, first in the batch's transaction, the advisory
// locks that make Op.Unique's check and the inserts atomic against other
// writers, and returns how many statements it queued.
//
// Locks are two-level, by table and by key. A batch that creates few
// guarded records of a table takes the table's lock shared and then a lock
// on each of their keys (its object type, spec and key hashed to 64 bits:
// two keys sharing a hash only wait for each other); a batch with more
// takes the table's lock exclusively. So a writer that checks a key holds
// it until it commits, and the other writer's check, which waits for it,
// then sees the record. Every writer takes table locks in table-name order
// and key locks in number order, before any row lock, so that two writers
// never wait for each other in a circle.
func queueGuardLocks(b *pgx.Batch, batch []*sink.Op, views []*pgView) int {
	// How many keys each table's creates check: a table past
	// pgGuardKeyLocks is locked whole, and its keys need no lock ids.
	slots := map[*pgTable]int{}
	for i, op := range batch {
		if guard.Guarded(op) {
			slots[views[i].t] += len(op.Unique)
		}
	}
	keys := map[*pgTable]map[int64]bool{}
	plans := map[guard.PlanKey]*intake.KeyPlan{}
	for i, op := range batch {
		if !guard.Guarded(op) {
			continue
		}
		t := views[i].t
		set := keys[t]
		if set == nil {
			set = map[int64]bool{}
			keys[t] = set
		}
		if slots[t] > pgGuardKeyLocks {
			continue
		}
		for _, spec := range op.Unique {
			k, err := guard.Key(plans, op.Record, spec)
			if err != nil || k == "" {
				continue // the guard reports the error
			}
			set[pgLockID(t.name, spec.Name(), string(k))] = true
		}
	}
	if len(keys) == 0 {
		return 0
	}
	tables := make([]*pgTable, 0, len(keys))
	for t := range keys {
		tables = append(tables, t)
	}
	slices.SortFunc(tables, func(a, b *pgTable) int { return strings.Compare(a.name, b.name) })
	var each []int64
	n := 0
	for _, t := range tables {
		id := pgLockID(t.name)
		if slots[t] > pgGuardKeyLocks {
			b.Queue(`SELECT pg_advisory_xact_lock($1)`, id)
		} else {
			b.Queue(`SELECT pg_advisory_xact_lock_shared($1)`, id)
			for k := range keys[t] {
				each = append(each, k)
			}
		}
		n++
	}
	if len(each) > 0 {
		sort.Slice(each, func(i, j int) bool { return each[i] < each[j] })
		// unnest returns the array's elements in order, and the function
		// scan calls the lock function row by row in that order.
		b.Queue(`SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k`, each)
		n++
	}
	return n
}

// pgLockID is the advisory lock id of a table's creates (one part: its
// name) or of one key (table, spec and key): 64-bit FNV-1a of the parts
// with a prefix that keeps them apart from other users of advisory locks.
func pgLockID(parts ...string) int64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0xff // a byte no UTF-8 text holds: parts stay apart
		h *= prime
	}
	add("intake.unique")
	for _, p := range parts {
		add(p)
	}
	return int64(h)
}

// pgFindKeys is the keyFinder of the guard in table t, run in the batch's
// transaction once its locks are held: the ids of the rows whose key
// column under spec holds one of keys (or, for a record-id spec, whose id
// is one of keys), in Lookup's order.
func pgFindKeys(ctx context.Context, tx pgx.Tx, t *pgTable, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	args := make([]string, len(keys))
	for i, k := range keys {
		args[i] = string(k)
	}
	var q string
	if spec.RecordID {
		if t.idType != "text" {
			args = validIDs(t.idType, args)
		}
		q = "SELECT " + t.idCol + "::text, " + t.idCol + "::text FROM " + t.name + " WHERE " + t.idCol + " = ANY($1::" + t.idType + "[])"
	} else {
		kc := t.key(spec)
		if kc == nil {
			return nil, fmt.Errorf("postgres: %s has no key column for %s", t.name, spec.Name())
		}
		col := sqltable.QuoteIdent(kc.Column)
		q = "SELECT " + col + ", " + t.idCol + "::text FROM " + t.name + " WHERE " + col + " = ANY($1) ORDER BY " + t.orderBy
	}
	res := map[intake.Key][]string{}
	b := &pgx.Batch{}
	for c := range slices.Chunk(args, pgChunk) {
		b.Queue(q, c)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	for range b.Len() {
		rows, err := br.Query()
		if err != nil {
			return nil, fmt.Errorf("postgres: key check: %w", err)
		}
		for rows.Next() {
			var k, id string
			if err := rows.Scan(&k, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("postgres: key check: %w", err)
			}
			res[intake.Key(k)] = append(res[intake.Key(k)], id)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("postgres: key check: %w", err)
		}
	}
	return res, br.Close()
}
