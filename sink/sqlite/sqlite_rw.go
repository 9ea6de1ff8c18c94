package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/sqltable"
)

// sqlInChunk is how many ids or keys one "IN (…)" query binds. The driver
// binds parameters in time quadratic in their number, so a few hundred
// small queries beat one with SQLite's limit of 32766.
const sqlInChunk = 100

// rowScanner scans "[seq,] id, opted_out, inactive, <cols>" rows into
// records of a table's store schema.
type rowScanner struct {
	t        *sqlTable
	id       string
	opted    int64
	inactive int64
	seq      int64
	strs     []sql.NullString
	ints     []sql.NullInt64
	dest     []any // without seq
	destSeq  []any // with seq
}

func newRowScanner(t *sqlTable) *rowScanner {
	r := &rowScanner{t: t, strs: make([]sql.NullString, len(t.cols)), ints: make([]sql.NullInt64, len(t.cols))}
	r.dest = append(r.dest, &r.id, &r.opted, &r.inactive)
	for j, c := range t.cols {
		if sqlType(c.Type) == "TEXT" {
			r.dest = append(r.dest, &r.strs[j])
		} else {
			r.dest = append(r.dest, &r.ints[j])
		}
	}
	r.destSeq = append([]any{&r.seq}, r.dest...)
	return r
}

// scan scans the current row into rec (whose Values has one slot per
// column) and, when seq is not nil, the row's seq into *seq.
func (r *rowScanner) scan(rows *sql.Rows, seq *int64, rec *intake.Record) error {
	dest := r.dest
	if seq != nil {
		dest = r.destSeq
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	if seq != nil {
		*seq = r.seq
	}
	rec.ID, rec.OptedOut, rec.Inactive = r.id, r.opted != 0, r.inactive != 0
	for j, c := range r.t.cols {
		k := c.Type.Kind()
		var v intake.Value
		var ok bool
		switch k {
		case intake.KindText, intake.KindDecimal:
			if r.strs[j].Valid {
				v, ok = intake.FromRaw(k, r.strs[j].String, 0)
			}
		case intake.KindList:
			if s := r.strs[j]; s.Valid {
				v, ok = intake.FromRaw(k, s.String, int64(strings.Count(s.String, "\x1f")+1))
			}
		default:
			if r.ints[j].Valid {
				v, ok = intake.FromRaw(k, "", r.ints[j].Int64)
			}
		}
		if !ok && (r.strs[j].Valid || r.ints[j].Valid) {
			return fmt.Errorf("sqlite: %s row %s: column %s does not hold a valid %s value (was the table changed outside Intake?)", r.t.name, r.id, c.Column, k)
		}
		rec.Values[j] = v
	}
	return nil
}

type stateKey struct {
	object, id string
}

// rowState is the current state of a record a batch updates, opts out or
// applies a lifecycle op to.
type rowState struct {
	vals     []intake.Value // by column
	keys     []driver.Value // the key columns' values, as the driver returns them
	opted    bool
	inactive bool
}

func placeholders(n int) string { return strings.Repeat("?, ", n-1) + "?" }

// explain turns the error of a failed batch into a RecordError when a
// duplicate id caused it: the UNIQUE constraint names no row, so the
// batch's create ids are checked against each other and the table.
func (s *Store) explain(ctx context.Context, batch []*sink.Op, err error) error {
	var re *sink.RecordError
	if errors.As(err, &re) || ctx.Err() != nil || !strings.Contains(err.Error(), "UNIQUE") {
		if re == nil && ctx.Err() == nil {
			return fmt.Errorf("sqlite: write: %w", err)
		}
		return err
	}
	seen := map[stateKey]bool{}
	byTable := map[*sqlTable][]string{}
	for i, op := range batch {
		if op.Kind != sink.OpCreate {
			continue
		}
		t := s.w.views[i].t
		k := stateKey{t.object, op.Record.ID}
		if seen[k] {
			return ops.RecordError(op, sink.ErrDuplicateID)
		}
		seen[k] = true
		byTable[t] = append(byTable[t], op.Record.ID)
	}
	stored := map[stateKey]bool{}
	for t, ids := range byTable {
		for len(ids) > 0 {
			n := min(len(ids), sqlInChunk)
			args := make([]any, n)
			for i := range n {
				args[i] = ids[i]
			}
			ids = ids[n:]
			rows, qerr := s.db.QueryContext(ctx, "SELECT id FROM "+t.name+" WHERE id IN ("+placeholders(n)+")", args...)
			if qerr != nil {
				return fmt.Errorf("sqlite: write: %w", err)
			}
			for rows.Next() {
				var id string
				if rows.Scan(&id) == nil {
					stored[stateKey{t.object, id}] = true
				}
			}
			rows.Close()
		}
	}
	for i, op := range batch {
		if op.Kind == sink.OpCreate && stored[stateKey{s.w.views[i].t.object, op.Record.ID}] {
			return ops.RecordError(op, sink.ErrDuplicateID)
		}
	}
	return fmt.Errorf("sqlite: write: %w", err)
}

// Lookup returns the ids of the stored records whose key under spec is one
// of keys, oldest first, with one indexed query per hundred keys. The first
// Lookup with a spec adds and fills its key column (see [Store]). A
// record-id spec is refused: such keys are found with Get.
//
// In a key column of hashes, the rows a query finds are those whose key
// hashes like a wanted one: Lookup reads them whole and keeps those whose
// key, computed again from their fields, is wanted, so that a hash
// collision never matches a record.
func (s *Store) Lookup(ctx context.Context, sch *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ops.CheckLookupSpec(spec); err != nil {
		return nil, err
	}
	v, kc, err := s.view(ctx, sch, &spec)
	if err != nil {
		return nil, err
	}
	if kc.Hash != "" {
		return s.lookupHashed(ctx, v.t, kc, keys)
	}
	res := make(map[intake.Key][]string)
	uniq := make([]any, 0, len(keys))
	seen := make(map[intake.Key]bool, len(keys))
	for _, k := range keys {
		if k != "" && !seen[k] {
			seen[k] = true
			uniq = append(uniq, string(k))
		}
	}
	if len(uniq) == 0 {
		return res, nil
	}
	col := sqltable.QuoteIdent(kc.Column)
	q, err := s.stmt(ctx, "SELECT "+col+", id FROM "+v.t.name+" WHERE "+col+" IN ("+placeholders(sqlInChunk)+") ORDER BY seq")
	if err != nil {
		return nil, err
	}
	err = lookupChunks(ctx, q, uniq, func(rows *sql.Rows) error {
		var k, id string
		if err := rows.Scan(&k, &id); err != nil {
			return err
		}
		res[intake.Key(k)] = append(res[intake.Key(k)], id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// lookupChunks runs the lookup query q, whose IN list has sqlInChunk
// parameters, for args sqlInChunk at a time (the last chunk padded with
// NULLs, which match nothing) and calls fn for each row found.
func lookupChunks(ctx context.Context, q *sql.Stmt, args []any, fn func(*sql.Rows) error) error {
	chunk := make([]any, sqlInChunk)
	for len(args) > 0 {
		n := copy(chunk, args)
		clear(chunk[n:])
		args = args[n:]
		rows, err := q.QueryContext(ctx, chunk...)
		if err != nil {
			return fmt.Errorf("sqlite: lookup: %w", err)
		}
		for rows.Next() {
			if err := fn(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlite: lookup: %w", err)
		}
	}
	return nil
}

// lookupHashed is Lookup in the hashed key column kc of t.
func (s *Store) lookupHashed(ctx context.Context, t *sqlTable, kc *sqlKey, keys []intake.Key) (map[intake.Key][]string, error) {
	res := make(map[intake.Key][]string)
	wanted := make(map[intake.Key]bool, len(keys))
	hashes := make(map[int64]bool, len(keys))
	uniq := make([]any, 0, len(keys))
	for _, k := range keys {
		if k == "" || wanted[k] {
			continue
		}
		wanted[k] = true
		if h := keyHash(k); !hashes[h] {
			hashes[h] = true
			uniq = append(uniq, h)
		}
	}
	if len(uniq) == 0 {
		return res, nil
	}
	col := sqltable.QuoteIdent(kc.Column)
	q, err := s.stmt(ctx, "SELECT "+t.sel+" FROM "+t.name+" WHERE "+col+" IN ("+placeholders(sqlInChunk)+") ORDER BY seq")
	if err != nil {
		return nil, err
	}
	sc := newRowScanner(t)
	rec := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
	err = lookupChunks(ctx, q, uniq, func(rows *sql.Rows) error {
		if err := sc.scan(rows, nil, &rec); err != nil {
			return err
		}
		if k, _ := kc.plan.Key(&rec); wanted[k] {
			res[k] = append(res[k], rec.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Get returns the stored records with the given ids, projected onto sch,
// with one query per hundred ids. The records are the caller's.
func (s *Store) Get(ctx context.Context, sch *intake.Schema, ids []string) (map[string]*intake.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, _, err := s.view(ctx, sch, nil)
	if err != nil {
		return nil, err
	}
	t := v.t
	res := make(map[string]*intake.Record, len(ids))
	if len(ids) == 0 {
		return res, nil
	}
	q, err := s.stmt(ctx, "SELECT "+t.sel+" FROM "+t.name+" WHERE id IN ("+placeholders(sqlInChunk)+")")
	if err != nil {
		return nil, err
	}
	sc := newRowScanner(t)
	tmp := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
	args := make([]any, sqlInChunk)
	for len(ids) > 0 {
		n := min(len(ids), sqlInChunk)
		for i := range args {
			args[i] = nil
			if i < n {
				args[i] = ids[i]
			}
		}
		ids = ids[n:]
		rows, err := q.QueryContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: get: %w", err)
		}
		for rows.Next() {
			if err := sc.scan(rows, nil, &tmp); err != nil {
				rows.Close()
				return nil, err
			}
			rec := &intake.Record{Schema: sch, ID: tmp.ID, OptedOut: tmp.OptedOut, Inactive: tmp.Inactive, Values: make([]intake.Value, sch.Len())}
			sqltable.Project(rec, v.plan, tmp.Values)
			res[rec.ID] = rec
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("sqlite: get: %w", err)
		}
	}
	return res, nil
}

// scanPage is how many rows Scan reads per query.
const scanPage = 1000

// Scan calls fn for every stored record of sch's object type in creation
// order (see [sink.Scanner]), reading pages of a thousand rows by seq, so no
// read transaction stays open while fn runs. It reuses one record for all
// calls.
func (s *Store) Scan(ctx context.Context, sch *intake.Schema, fn func(*intake.Record) error) error {
	out := &intake.Record{Schema: sch, Values: make([]intake.Value, sch.Len())}
	type row struct {
		id              string
		opted, inactive bool
		vals            []intake.Value
	}
	var page []row
	var last int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, _, err := s.view(ctx, sch, nil)
		if err != nil {
			return err
		}
		t := v.t
		q, err := s.stmt(ctx, "SELECT seq, "+t.sel+" FROM "+t.name+" WHERE seq > ? ORDER BY seq LIMIT "+fmt.Sprint(scanPage))
		if err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, last)
		if err != nil {
			return fmt.Errorf("sqlite: scan: %w", err)
		}
		sc := newRowScanner(t)
		page = page[:0]
		for rows.Next() {
			tmp := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
			if err := sc.scan(rows, &last, &tmp); err != nil {
				rows.Close()
				return err
			}
			page = append(page, row{tmp.ID, tmp.OptedOut, tmp.Inactive, tmp.Values})
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlite: scan: %w", err)
		}
		for _, r := range page {
			out.ID, out.OptedOut, out.Inactive, out.Line = r.id, r.opted, r.inactive, 0
			out.Values = out.Values[:sch.Len()]
			sqltable.Project(out, v.plan, r.vals)
			if err := fn(out); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
	}
}

// Count returns the number of stored records of the object type.
func (s *Store) Count(ctx context.Context, object string) (int64, error) {
	s.mu.RLock()
	t := s.tables[object]
	s.mu.RUnlock()
	if t == nil {
		return 0, ctx.Err()
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count: %w", err)
	}
	return n, nil
}
