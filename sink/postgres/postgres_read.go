package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
)

// pgScanner scans rows of a table's selectList into records of its store
// schema, reusing its scan targets.
type pgScanner struct {
	t        *pgTable
	id       string
	opted    bool
	inactive bool
	dest     []any
}

// pgScanPre is the number of columns of a selectList before the fields.
const pgScanPre = 3

func newPgScanner(t *pgTable) *pgScanner {
	sc := &pgScanner{t: t}
	sc.dest = append(sc.dest, &sc.id, &sc.opted, &sc.inactive)
	for j, c := range t.cols {
		var h any
		if t.inJSON[j] {
			h = new([]byte)
		} else {
			switch c.Type.Kind() {
			case intake.KindBool:
				h = new(pgtype.Bool)
			case intake.KindDecimal:
				h = new(pgtype.Numeric)
			case intake.KindDate:
				h = new(pgtype.Date)
			case intake.KindTime:
				h = new(pgtype.Time)
			case intake.KindTimestamp:
				h = new(pgtype.Timestamptz)
			case intake.KindList:
				h = new([]pgtype.Text)
			default:
				h = new(pgtype.Text)
			}
		}
		sc.dest = append(sc.dest, h)
	}
	return sc
}

// scan scans the current row (after extra leading columns, scanned into
// pre) into rec, whose Values has one slot per column.
func (sc *pgScanner) scan(rows pgx.Rows, rec *intake.Record, pre ...any) error {
	if len(pre) == 0 && !sc.t.host {
		return sc.scanRaw(rows, rec)
	}
	dest := sc.dest
	if len(pre) > 0 {
		dest = append(pre, sc.dest...)
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	rec.ID, rec.OptedOut, rec.Inactive = sc.id, sc.opted, sc.inactive
	for j, c := range sc.t.cols {
		v, err := pgValue(c.Type.Kind(), sc.dest[pgScanPre+j], sc.t.inJSON[j])
		if err != nil {
			return fmt.Errorf("postgres: %s row %s: column %s: %w", sc.t.name, sc.id, c.Column, err)
		}
		rec.Values[j] = v
	}
	return nil
}

// scanRaw is scan of a row of Intake's own table, which has no JSON
// column: text, boolean, date, time and timestamptz values in binary
// format are read from the row's bytes, the others through pgx's codecs
// (the scan targets of newPgScanner, then pgValue).
func (sc *pgScanner) scanRaw(rows pgx.Rows, rec *intake.Record) error {
	raw, fds := rows.RawValues(), rows.FieldDescriptions()
	if len(raw) != pgScanPre+len(sc.t.cols) {
		return fmt.Errorf("postgres: %s: %d columns, not %d", sc.t.name, len(raw), pgScanPre+len(sc.t.cols))
	}
	if raw[0] == nil || raw[1] == nil || raw[2] == nil {
		return fmt.Errorf("postgres: %s: null id or flag", sc.t.name)
	}
	rec.ID = string(raw[0])
	rec.OptedOut = pgRawBool(raw[1], fds[1].Format)
	rec.Inactive = pgRawBool(raw[2], fds[2].Format)
	m := rows.Conn().TypeMap()
	for j, c := range sc.t.cols {
		r, fd := raw[pgScanPre+j], fds[pgScanPre+j]
		k := c.Type.Kind()
		if r == nil {
			rec.Values[j] = intake.Null
			continue
		}
		if v, ok := pgRawValue(k, r, fd.Format); ok {
			rec.Values[j] = v
			continue
		}
		h := sc.dest[pgScanPre+j]
		err := m.Scan(fd.DataTypeOID, fd.Format, r, h)
		var v intake.Value
		if err == nil {
			v, err = pgValue(k, h, false)
		}
		if err != nil {
			return fmt.Errorf("postgres: %s row %s: column %s: %w", sc.t.name, rec.ID, c.Column, err)
		}
		rec.Values[j] = v
	}
	return nil
}

// pgRawBool reads a boolean's bytes.
func pgRawBool(r []byte, format int16) bool {
	if format == pgx.BinaryFormatCode {
		return len(r) == 1 && r[0] != 0
	}
	return len(r) > 0 && r[0] == 't'
}

// pgRawValue reads a value of kind k from its bytes when it can: text in
// either format, and booleans, dates, times and timestamps (finite ones)
// in binary format.
func pgRawValue(k intake.Kind, r []byte, format int16) (intake.Value, bool) {
	switch k {
	case intake.KindText:
		return intake.Text(string(r)), true
	case intake.KindBool:
		return intake.Bool(pgRawBool(r, format)), true
	}
	if format != pgx.BinaryFormatCode {
		return intake.Null, false
	}
	switch {
	case k == intake.KindDate && len(r) == 4:
		d := int32(binary.BigEndian.Uint32(r))
		if d == math.MaxInt32 || d == math.MinInt32 {
			return intake.Null, false // infinity: pgValue says so
		}
		return intake.FromRaw(intake.KindDate, "", int64(d)+pgEpochDays)
	case k == intake.KindTimestamp && len(r) == 8:
		us := int64(binary.BigEndian.Uint64(r))
		if us == math.MaxInt64 || us == math.MinInt64 {
			return intake.Null, false
		}
		return intake.FromRaw(intake.KindTimestamp, "", us+pgEpochUS)
	case k == intake.KindTime && len(r) == 8:
		return intake.FromRaw(intake.KindTime, "", int64(binary.BigEndian.Uint64(r)))
	}
	return intake.Null, false
}

// pgValue converts a scan target into a value of kind k.
func pgValue(k intake.Kind, h any, inJSON bool) (intake.Value, error) {
	if inJSON {
		return sqltable.JSONValue(k, *h.(*[]byte))
	}
	switch x := h.(type) {
	case *pgtype.Text:
		if !x.Valid {
			return intake.Null, nil
		}
		return intake.Text(x.String), nil
	case *pgtype.Bool:
		if !x.Valid {
			return intake.Null, nil
		}
		return intake.Bool(x.Bool), nil
	case *pgtype.Numeric:
		if !x.Valid {
			return intake.Null, nil
		}
		if x.NaN || x.InfinityModifier != pgtype.Finite {
			return intake.Null, fmt.Errorf("numeric NaN or infinity is not a decimal value")
		}
		return intake.Decimal(decimal.NewFromBigInt(x.Int, x.Exp)), nil
	case *pgtype.Date:
		if !x.Valid {
			return intake.Null, nil
		}
		if x.InfinityModifier != pgtype.Finite {
			return intake.Null, fmt.Errorf("an infinite date is not a date value")
		}
		return intake.DateOf(x.Time), nil
	case *pgtype.Time:
		if !x.Valid {
			return intake.Null, nil
		}
		v, ok := intake.FromRaw(intake.KindTime, "", x.Microseconds)
		if !ok {
			return intake.Null, fmt.Errorf("time 24:00:00 is not a time of day")
		}
		return v, nil
	case *pgtype.Timestamptz:
		if !x.Valid {
			return intake.Null, nil
		}
		if x.InfinityModifier != pgtype.Finite {
			return intake.Null, fmt.Errorf("an infinite timestamp is not a timestamp value")
		}
		return intake.Timestamp(x.Time), nil
	case *[]pgtype.Text:
		if len(*x) == 0 {
			return intake.Null, nil
		}
		items := make([]string, len(*x))
		for i, it := range *x {
			if !it.Valid {
				return intake.Null, fmt.Errorf("a multi-select array holds NULL")
			}
			items[i] = it.String
		}
		return intake.List(items...), nil
	}
	return intake.Null, fmt.Errorf("no conversion from %T", h)
}

// Lookup returns the ids of the stored records whose key under spec is one
// of keys, in the order of their ids (oldest first for UUIDv7 ids; see
// [Store]), with indexed queries (k_<spec> = ANY($1)) of at
// most 1,000 keys each, pipelined in one round trip. The first Lookup with a spec adds and fills its
// key column (see [Store]); specs that differ only in their options
// (email rules, MD5) have key columns of their own. A record-id spec
// (KeySpec.RecordID) is never looked up: it is an error (find such
// records with Get).
func (p *Store) Lookup(ctx context.Context, sch *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ops.CheckLookupSpec(spec); err != nil {
		return nil, err
	}
	v, kc, err := p.view(ctx, sch, &spec)
	if err != nil {
		return nil, err
	}
	res := make(map[intake.Key][]string)
	uniq := make([]string, 0, len(keys))
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
	// Chunks of pgChunk keys, pipelined in one round trip: with many more
	// in one ANY($1) the planner may take a (parallel) sequential scan of a
	// large table, slower than the index.
	col := sqltable.QuoteIdent(kc.Column)
	q := "SELECT " + col + ", " + v.t.idCol + "::text FROM " + v.t.name + " WHERE " + col + " = ANY($1)"
	if v.t.host {
		q += " ORDER BY " + v.t.orderBy
	}
	memo := !v.t.host // the snapshot the queries see at least, for the guard (see pgMemo)
	var snap string
	err = p.read(ctx, func() error {
		clear(res)
		b := &pgx.Batch{} // a new one each time: sending a batch prepares its queries
		if memo {
			b.Queue(`SELECT pg_current_snapshot()::text`)
		}
		for c := range slices.Chunk(uniq, pgChunk) {
			b.Queue(q, c)
		}
		br := p.pool.SendBatch(ctx, b)
		defer br.Close()
		if memo {
			if err := br.QueryRow().Scan(&snap); err != nil {
				return err
			}
		}
		for range b.Len() - btoi(memo) {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			for rows.Next() {
				// Two text columns: their bytes, in either format.
				raw := rows.RawValues()
				k := intake.Key(raw[0])
				res[k] = append(res[k], string(raw[1]))
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: lookup: %w", err)
	}
	if !v.t.host {
		for _, ids := range res {
			if len(ids) > 1 {
				slices.Sort(ids) // the "C" collation's order
			}
		}
	}
	if memo {
		var missed, found []string
		for _, k := range uniq {
			if _, ok := res[intake.Key(k)]; ok {
				found = append(found, k)
			} else {
				missed = append(missed, k)
			}
		}
		p.memo.forget(v.t.object, kc.Column, found)
		p.memo.remember(v.t.object, kc.Column, snap, missed)
	}
	return res, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Get returns the stored records with the given ids, projected onto sch,
// with one query. The records are the caller's.
func (p *Store) Get(ctx context.Context, sch *intake.Schema, ids []string) (map[string]*intake.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, _, err := p.view(ctx, sch, nil)
	if err != nil {
		return nil, err
	}
	t := v.t
	res := make(map[string]*intake.Record, len(ids))
	if len(ids) == 0 {
		return res, nil
	}
	if t.idType != "text" {
		ids = validIDs(t.idType, ids)
	}
	err = p.read(ctx, func() error {
		clear(res)
		rows, err := p.pool.Query(ctx, "SELECT "+t.selectList()+" FROM "+t.name+" WHERE "+t.idCol+" = ANY($1::"+t.idType+"[])", ids)
		if err != nil {
			return fmt.Errorf("postgres: get: %w", err)
		}
		defer rows.Close()
		sc := newPgScanner(t)
		tmp := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
		for rows.Next() {
			if err := sc.scan(rows, &tmp); err != nil {
				return err
			}
			rec := &intake.Record{Schema: sch, ID: tmp.ID, OptedOut: tmp.OptedOut, Inactive: tmp.Inactive, Values: make([]intake.Value, sch.Len())}
			sqltable.Project(rec, v.plan, tmp.Values)
			res[rec.ID] = rec
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: get: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// pgChunk is the most keys or ids one query of Lookup or of a Write's
// read names; more go in further queries of the same round trip.
const pgChunk = 1000

// pgScanPage is how many rows Scan reads per query.
const pgScanPage = 1000

// Scan calls fn for every stored record of sch's object type in the order
// of their ids, bytewise (see [sink.Scanner]): creation order for the
// UUIDv7 ids of Intake's default allocator, whose first bits are the
// time; number order for ids from a reserved range (identity.NewNumeric)
// of equally many digits; a host table (TableMapping) in the order of its
// OrderColumn. It reads pages of a thousand rows with keyset pagination
// (WHERE id > last ORDER BY id LIMIT 1000, a range scan of the primary
// key), so no transaction or connection stays open while fn runs and a
// page costs the same at the end of a million rows as at the start. It
// reuses one record for all calls.
func (p *Store) Scan(ctx context.Context, sch *intake.Schema, fn func(*intake.Record) error) error {
	out := &intake.Record{Schema: sch, Values: make([]intake.Value, sch.Len())}
	type row struct {
		id              string
		opted, inactive bool
		vals            []intake.Value
	}
	var page []row
	var after []any // the order columns of the last row
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, _, err := p.view(ctx, sch, nil)
		if err != nil {
			return err
		}
		t := v.t
		ocols := strings.Split(t.orderBy, ", ")
		q := "SELECT " + t.orderBy + ", " + t.selectList() + " FROM " + t.name
		if after != nil {
			ph := make([]string, len(ocols))
			for i := range ph {
				ph[i] = "$" + strconv.Itoa(i+1)
			}
			q += " WHERE (" + t.orderBy + ") > (" + strings.Join(ph, ", ") + ")"
		}
		q += " ORDER BY " + t.orderBy + " LIMIT " + strconv.Itoa(pgScanPage)
		last := make([]any, len(ocols))
		err = p.read(ctx, func() error {
			rows, err := p.pool.Query(ctx, q, after...)
			if err != nil {
				return fmt.Errorf("postgres: scan: %w", err)
			}
			defer rows.Close()
			sc := newPgScanner(t)
			page = page[:0]
			pre := make([]any, len(ocols))
			for i := range pre {
				pre[i] = &last[i]
			}
			for rows.Next() {
				tmp := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
				if err := sc.scan(rows, &tmp, pre...); err != nil {
					return err
				}
				page = append(page, row{tmp.ID, tmp.OptedOut, tmp.Inactive, tmp.Values})
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("postgres: scan: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		after = last
		for _, r := range page {
			out.ID, out.OptedOut, out.Inactive, out.Line = r.id, r.opted, r.inactive, 0
			sqltable.Project(out, v.plan, r.vals)
			if err := fn(out); err != nil {
				return err
			}
		}
		if len(page) < pgScanPage {
			return nil
		}
	}
}

// Count returns the number of stored records of the object type.
func (p *Store) Count(ctx context.Context, object string) (int64, error) {
	p.mu.RLock()
	t := p.tables[object]
	p.mu.RUnlock()
	if t == nil {
		if err := p.load(ctx, []string{object}); err != nil {
			return 0, err
		}
		p.mu.RLock()
		t = p.tables[object]
		p.mu.RUnlock()
		if t == nil {
			return 0, ctx.Err()
		}
	}
	var n int64
	if err := p.read(ctx, func() error { return p.pool.QueryRow(ctx, "SELECT count(*) FROM "+t.name).Scan(&n) }); err != nil {
		return 0, fmt.Errorf("postgres: count: %w", err)
	}
	return n, nil
}
