package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Several sinks can share one database: two processes, or two sinks of one
// process. Each keeps a snapshot of the tables (s.tables) and writes rows
// laid out by it, so it must not write with a snapshot that another sink's
// schema change made stale: a create would leave NULL in a key column the
// other sink added (its Lookup would not find the record, and an import
// would create it again), and a new field's column would be added twice.
//
// Every schema change of Intake's bumps the database's schema version
// (PRAGMA schema_version): the DDL does, or storeSchema. A sink remembers
// the version its snapshot agrees with (s.ver); every write transaction
// (Write, a schema change, a key column's backfill) reads the version
// first, under the write lock, and when it differs reads intake_schema
// again and installs the tables another sink changed (refresh).

// storedRow is a row of intake_schema.
type storedRow struct{ object, js string }

// txSchemaVersion returns PRAGMA schema_version in tx.
func txSchemaVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: read the schema version: %w", err)
	}
	return v, nil
}

// syncTx brings the sink's snapshot of the tables up to date in tx, a
// write transaction that has not written yet, and returns the schema
// version it read. The caller holds wmu.
func (s *Store) syncTx(ctx context.Context, tx *sql.Tx) (int64, error) {
	ver, err := txSchemaVersion(ctx, tx)
	if err != nil || ver == s.ver {
		return ver, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT object, schema FROM intake_schema ORDER BY object")
	if err != nil {
		return 0, fmt.Errorf("sqlite: read intake_schema: %w", err)
	}
	var all []storedRow
	for rows.Next() {
		var r storedRow
		if err := rows.Scan(&r.object, &r.js); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: read intake_schema: %w", err)
		}
		all = append(all, r)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("sqlite: read intake_schema: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: read intake_schema: %w", err)
	}
	if _, _, err := s.refresh(all); err != nil {
		return 0, err
	}
	s.ver = ver
	return ver, nil
}

// refresh installs the stored schemas all (every row of intake_schema,
// read in a write transaction) that differ from the sink's snapshot: a
// table this sink does not know, or one that extends the table it knows
// (see extends). It returns the stored tables that differ otherwise (in a
// database whose intake_schema lost a change of one of two sinks that
// changed a table at once without checking the schema version) and the
// replaced tables, old to new. The caller holds wmu.
func (s *Store) refresh(all []storedRow) (extra []*sqlTable, replaced map[*sqlTable]*sqlTable, err error) {
	replaced = map[*sqlTable]*sqlTable{}
	for _, r := range all {
		s.mu.RLock()
		t := s.tables[r.object]
		s.mu.RUnlock()
		if t != nil {
			if js, err := json.Marshal(t.stored()); err == nil && string(js) == r.js {
				continue
			}
		}
		var st storedSchema
		if err := json.Unmarshal([]byte(r.js), &st); err != nil {
			return nil, nil, fmt.Errorf("sqlite: intake_schema row %q is not valid: %w", r.object, err)
		}
		nt, err := newSQLTable(r.object, st.Fields, st.Keys, st.Inactive)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlite: intake_schema row %q: %w", r.object, err)
		}
		if t != nil && !nt.extends(t) {
			extra = append(extra, nt)
			continue
		}
		s.cfg.Logger.Info("intake: SQLite schema read again", "object", r.object, "table", "intake_"+r.object, "fields", len(nt.cols), "keys", len(nt.keys), "new", t == nil)
		s.replaceTable(nt)
		if t != nil {
			replaced[t] = nt
		}
	}
	return extra, replaced, nil
}

// extends reports whether t holds every column of old, in the same places
// with values of the same kinds, and its inactive flag: whether t can
// replace old under the views of old. Its key columns may differ: a sink
// that retyped a field dropped the key columns that use it, to fill them
// again on their next Lookup.
func (t *sqlTable) extends(old *sqlTable) bool {
	if len(t.cols) < len(old.cols) || (old.inactive != "" && t.inactive != old.inactive) {
		return false
	}
	for j, c := range old.cols {
		if t.cols[j].Column != c.Column || t.cols[j].Type.Kind() != c.Type.Kind() {
			return false
		}
	}
	return true
}

// sortedTables returns the sink's tables and extra, sorted by object type.
func (s *Store) sortedTables(extra []*sqlTable) []*sqlTable {
	s.mu.RLock()
	tables := make([]*sqlTable, 0, len(s.tables)+len(extra))
	for _, t := range s.tables {
		tables = append(tables, t)
	}
	s.mu.RUnlock()
	tables = append(tables, extra...)
	slices.SortStableFunc(tables, func(a, b *sqlTable) int { return strings.Compare(a.object, b.object) })
	return tables
}
