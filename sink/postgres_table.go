package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/intakehq/intake"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// TableMapping maps an object type to a table the host owns (an existing
// contacts table, say), which the [Postgres] sink then writes into instead
// of its own intake_<object> table. Intake never creates, alters or drops a
// host table: the columns named here must exist. Intake still records the
// object's fields and key specs in its intake_schema table, and the audit
// log of lifecycle ops in its intake_audit table.
//
// Field values are stored in the column Columns names for the field, cast
// to the column's type (a text field into varchar or citext, a decimal
// into numeric or integer, an id into uuid, …); fields without a column go
// into JSONBColumn as members named as the field (text, dates, times and
// timestamps as their canonical strings, decimals as JSON numbers, bools as
// JSON booleans, multi-selects as arrays of strings). Members of that
// column that Intake does not know are kept.
type TableMapping struct {
	// Table is the table, optionally schema-qualified ("crm.contacts");
	// required. Unqualified, it is in PostgresConfig.Schema.
	Table string
	// IDColumn holds the record id: text, varchar or uuid, unique (a
	// primary key or a unique index; ON CONFLICT needs it). Intake
	// allocates the ids of the records it creates (UUIDv7 strings by
	// default). Default "id".
	IDColumn string
	// Columns maps field names to the table's columns.
	Columns map[string]string
	// JSONBColumn is a jsonb column for the fields Columns leaves out
	// (custom fields). Default none: every field needs a column.
	JSONBColumn string
	// KeyColumns maps key specs, by [intake.KeySpec.Name] ("email",
	// "first_name+last_name"), to text columns holding the normalized
	// key, which Lookup compares; the host should index them. Intake sets
	// them on every write and fills them for existing rows on a spec's
	// first Lookup, unless the column is generated (GENERATED ALWAYS AS
	// (lower(btrim(email))) STORED), which keeps rows the host writes
	// itself current too. A Lookup with a spec without a key column fails.
	KeyColumns map[string]string
	// OptedOut is a boolean column for the opted-out flag. Default none:
	// records read as opted in and an opt-out fails with [ErrInvalidOp].
	OptedOut string
	// InactiveColumn is a boolean column for the inactive flag
	// ([intake.Record.Inactive], set by [OpInactivate]). Default none:
	// records read as active and an inactivate fails with [ErrInvalidOp].
	InactiveColumn string
	// CreatedAt and UpdatedAt are timestamptz columns Intake sets when it
	// creates a record and when it changes one. Default none.
	CreatedAt, UpdatedAt string
	// OrderColumn orders records by creation for Scan and Lookup (oldest
	// first), with the id as tie-breaker: an identity or bigserial column
	// is ideal. Default IDColumn (UUIDv7 ids sort by creation time too).
	OrderColumn string
}

func (m *TableMapping) validate(object string) error {
	var errs []error
	if m.Table == "" {
		errs = append(errs, fmt.Errorf("sink: TableMapping of %q: empty Table", object))
	}
	if m.IDColumn == "" {
		m.IDColumn = "id"
	}
	if m.OrderColumn == "" {
		m.OrderColumn = m.IDColumn
	}
	return errors.Join(errs...)
}

// qualified returns the quoted, schema-qualified table of m.
func (m *TableMapping) qualified(schema string) (string, string) {
	s, t, ok := strings.Cut(m.Table, ".")
	if !ok {
		s, t = schema, m.Table
	}
	return quoteIdent(s) + "." + quoteIdent(t), s + "." + t
}

// pgHostCol is a column of a host table.
type pgHostCol struct {
	typ       string // format_type
	generated bool
}

// inspect reads the columns of m's table.
func (p *Postgres) inspect(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, m TableMapping) (map[string]pgHostCol, error) {
	_, plain := m.qualified(p.cfg.Schema)
	s, t, _ := strings.Cut(plain, ".")
	rows, err := q.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> ''
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, s, t)
	if err != nil {
		return nil, fmt.Errorf("sink: inspect %s: %w", plain, err)
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
		return nil, fmt.Errorf("sink: TableMapping: table %s does not exist (Intake never creates a host table: create it first)", plain)
	}
	return cols, nil
}

// applyMapping turns t, a snapshot of Intake's own layout, into the
// layout of the host table of m, whose columns are cols.
func (t *pgTable) applyMapping(m TableMapping, cols map[string]pgHostCol) {
	t.host = true
	t.name, _ = m.qualified(strings.Trim(strings.Split(t.name, ".")[0], `"`))
	t.hostCols = cols
	t.idCol = quoteIdent(m.IDColumn)
	t.idType = "text"
	if c, ok := cols[m.IDColumn]; ok && c.typ == "uuid" {
		t.idType = "uuid"
	}
	t.seqCol = ""
	t.optedCol, t.createdCol, t.updatedCol, t.jsonCol = optIdent(m.OptedOut), optIdent(m.CreatedAt), optIdent(m.UpdatedAt), optIdent(m.JSONBColumn)
	t.inactiveCol = optIdent(m.InactiveColumn)
	t.orderBy = quoteIdent(m.OrderColumn)
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
	return quoteIdent(n)
}

// checkHost reports the fields of t that have no place in its host table.
func (t *pgTable) checkHost(m TableMapping) error {
	var errs []error
	need := func(what, col string) {
		if col == "" {
			return
		}
		if _, ok := t.hostCols[col]; !ok {
			errs = append(errs, fmt.Errorf("sink: TableMapping of %q: %s column %q is not in table %s", t.object, what, col, m.Table))
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
		errs = append(errs, fmt.Errorf("sink: TableMapping of %q: IDColumn %q is %s: use text, varchar or uuid (Intake allocates string ids)", t.object, m.IDColumn, c.typ))
	}
	for j, c := range t.cols {
		if t.inJSON[j] {
			if m.JSONBColumn == "" {
				errs = append(errs, fmt.Errorf("%w: field %q of %q has no column in the TableMapping of %s and there is no JSONBColumn: map it in Columns or set JSONBColumn", ErrSchemaConflict, c.Name, t.object, m.Table))
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
	return "(" + t.jsonCol + " -> " + quoteLiteral(t.cols[j].Name) + ")"
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

// jsonValue converts a JSONB member into a value of kind k.
func jsonValue(k intake.Kind, raw []byte) (intake.Value, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return intake.Null, nil
	}
	bad := func() (intake.Value, error) {
		return intake.Null, fmt.Errorf("JSON %s is not a %s value", raw, k)
	}
	switch k {
	case intake.KindBool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return bad()
		}
		return intake.Bool(b), nil
	case intake.KindList:
		var items []string
		if json.Unmarshal(raw, &items) != nil {
			return bad()
		}
		return intake.List(items...), nil
	case intake.KindDecimal:
		s := strings.Trim(string(raw), `"`)
		d, err := decimalFromString(s)
		if err != nil {
			return bad()
		}
		return d, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return bad()
	}
	switch k {
	case intake.KindText:
		return intake.Text(s), nil
	case intake.KindDate:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return bad()
		}
		return intake.DateOf(d), nil
	case intake.KindTime:
		d, err := time.Parse("15:04:05.999999", s)
		if err != nil {
			return bad()
		}
		v, _ := intake.TimeOfDay(d.Hour(), d.Minute(), d.Second(), d.Nanosecond()/1000)
		return v, nil
	case intake.KindTimestamp:
		d, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return bad()
		}
		return intake.Timestamp(d), nil
	}
	return bad()
}

func decimalFromString(s string) (intake.Value, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return intake.Null, err
	}
	return intake.Decimal(d), nil
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
