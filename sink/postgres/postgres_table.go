package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/jackc/pgx/v5"
)

// qualified returns the quoted, schema-qualified table of m.
func qualified(m *sink.TableMapping, schema string) (string, string) {
	s, t, ok := strings.Cut(m.Table, ".")
	if !ok {
		s, t = schema, m.Table
	}
	return sqltable.QuoteIdent(s) + "." + sqltable.QuoteIdent(t), s + "." + t
}

// pgHostCol is a column of a host table.
type pgHostCol struct {
	typ       string // format_type
	generated bool
}

// inspect reads the columns of m's table.
func (p *Store) inspect(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, m sink.TableMapping) (map[string]pgHostCol, error) {
	_, plain := qualified(&m, p.cfg.Schema)
	s, t, _ := strings.Cut(plain, ".")
	rows, err := q.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> ''
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, s, t)
	if err != nil {
		return nil, fmt.Errorf("postgres: inspect %s: %w", plain, err)
	}
	defer rows.Close()
	cols := map[string]pgHostCol{}
	for rows.Next() {
		var name, typ string
		var gen bool
		if err := rows.Scan(&name, &typ, &gen); err != nil {
			return nil, err
		}
		cols[name] = pgHostCol{typ: typ, generated: gen}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("postgres: TableMapping: table %s does not exist (Intake never creates a host table: create it first)", plain)
	}
	return cols, nil
}

// applyMapping turns t, a snapshot of Intake's own layout, into the
// layout of the host table of m, whose columns are cols.
func (t *pgTable) applyMapping(m sink.TableMapping, cols map[string]pgHostCol) {
	t.host = true
	t.name, _ = qualified(&m, strings.Trim(strings.Split(t.name, ".")[0], `"`))
	t.hostCols = cols
	t.idCol = sqltable.QuoteIdent(m.IDColumn)
	t.idType = "text"
	if c, ok := cols[m.IDColumn]; ok && c.typ == "uuid" {
		t.idType = "uuid"
	}
	t.optedCol, t.createdCol, t.updatedCol, t.jsonCol = optIdent(m.OptedOut), optIdent(m.CreatedAt), optIdent(m.UpdatedAt), optIdent(m.JSONBColumn)
	t.inactiveCol = optIdent(m.InactiveColumn)
	t.orderBy = sqltable.QuoteIdent(m.OrderColumn)
	if m.OrderColumn != m.IDColumn {
		t.orderBy += ", " + t.idCol
	}
	t.inJSON = make([]bool, len(t.cols))
	for j := range t.cols {
		col, ok := m.Columns[t.cols[j].Name]
		t.cols[j].Column = col
		t.inJSON[j] = !ok
	}
	t.genKey = make([]bool, len(t.keys))
	for j, k := range t.keys {
		t.genKey[j] = cols[k.Column].generated
	}
}

func optIdent(n string) string {
	if n == "" {
		return ""
	}
	return sqltable.QuoteIdent(n)
}

// checkHost reports the fields of t that have no place in its host table.
func (t *pgTable) checkHost(m sink.TableMapping) error {
	var errs []error
	need := func(what, col string) {
		if col == "" {
			return
		}
		if _, ok := t.hostCols[col]; !ok {
			errs = append(errs, fmt.Errorf("postgres: TableMapping of %q: %s column %q is not in table %s", t.object, what, col, m.Table))
		}
	}
	need("IDColumn", m.IDColumn)
	need("OptedOut", m.OptedOut)
	need("InactiveColumn", m.InactiveColumn)
	need("CreatedAt", m.CreatedAt)
	need("UpdatedAt", m.UpdatedAt)
	need("JSONBColumn", m.JSONBColumn)
	need("OrderColumn", m.OrderColumn)
	if c, ok := t.hostCols[m.IDColumn]; ok && c.typ != "text" && c.typ != "uuid" && !strings.HasPrefix(c.typ, "character varying") {
		errs = append(errs, fmt.Errorf("postgres: TableMapping of %q: IDColumn %q is %s: use text, varchar or uuid (Intake allocates string ids)", t.object, m.IDColumn, c.typ))
	}
	for j, c := range t.cols {
		if t.inJSON[j] {
			if m.JSONBColumn == "" {
				errs = append(errs, fmt.Errorf("%w: field %q of %q has no column in the TableMapping of %s and there is no JSONBColumn: map it in Columns or set JSONBColumn", sink.ErrSchemaConflict, c.Name, t.object, m.Table))
			}
			continue
		}
		need("field "+c.Name, c.Column)
	}
	for _, k := range t.keys {
		need("key "+k.Name(), k.Column)
	}
	return errors.Join(errs...)
}

// castTo returns the SQL cast of a value to the type of host column col,
// or "" for Intake's own tables.
func (t *pgTable) castTo(col string) string {
	if !t.host {
		return ""
	}
	if c, ok := t.hostCols[col]; ok {
		return "::" + c.typ
	}
	return ""
}

// jsonExpr is the select expression of field j kept in the JSONB column.
func (t *pgTable) jsonExpr(j int) string {
	return "(" + t.jsonCol + " -> " + sqltable.QuoteLiteral(t.cols[j].Name) + ")"
}

// jsonOf returns the JSON object of the non-null values of vals kept in
// the JSONB column and the names of the null ones.
func (t *pgTable) jsonOf(vals []intake.Value) ([]byte, []string) {
	var b bytes.Buffer
	var nulls []string
	b.WriteByte('{')
	for j, v := range vals {
		if !t.inJSON[j] {
			continue
		}
		name := t.cols[j].Name
		if v.IsNull() {
			nulls = append(nulls, name)
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		var x []byte
		switch v.Kind() {
		case intake.KindBool:
			x, _ = json.Marshal(v.BoolValue())
		case intake.KindDecimal:
			x = []byte(v.Str())
		case intake.KindList:
			x, _ = json.Marshal(v.Items())
		default:
			x, _ = json.Marshal(v.String())
		}
		b.Write(x)
	}
	b.WriteByte('}')
	if nulls == nil {
		nulls = []string{}
	}
	return b.Bytes(), nulls
}

// validIDs returns the ids that are valid values of a host's id type
// (uuid); the others cannot be stored, so they match nothing.
func validIDs(typ string, ids []string) []string {
	if typ != "uuid" {
		return ids
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			out = append(out, id)
		}
	}
	return out
}
