package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/guard"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/intakehq/intake/sink/internal/undolog"
	"github.com/shopspring/decimal"
)

// Table is a sink that writes the records of one object type into a
// table the host owns in a SQLite database (its own contacts table), laid
// out by a [sink.TableMapping], as [github.com/intakehq/intake/sink/postgres.Config.Tables] does for PostgreSQL.
// It implements [sink.Sink], [sink.Lookuper], [sink.Getter], [sink.SchemaEnsurer], [sink.Scanner],
// [sink.Counter], [sink.Concurrent], [sink.Auditor], [sink.Unlinker], [sink.Sequencer] and [sink.Undoer]; other object types
// are refused with [sink.ErrInvalidOp] (use a [Store] sink for them).
//
// Field columns get values as a host expects them in SQLite: text,
// canonical decimal strings (a NUMERIC column keeps them as numbers when
// that loses nothing), 0/1 for bools, ISO 8601 text for dates
// (YYYY-MM-DD), times (HH:MM:SS[.ffffff]) and timestamps (RFC 3339, UTC),
// JSON arrays for multi-selects. Reading accepts what a host may have
// written itself: numbers in text fields, integer or text dates and
// timestamps, REAL decimals. Fields without a column are members of the
// JSON text column JSONBColumn (SQLite's JSON functions can query it);
// members Intake does not know are kept.
//
// Key columns (TableMapping.KeyColumns) hold normalized keys; Intake sets
// them on every write, and fills them for the rows already in the table on
// a spec's first Lookup, remembering that in its table intake_host_keys.
// A generated column (GENERATED ALWAYS AS (lower(trim(email)))) is read
// only and never filled. Each Write reads intake_host_keys, so that a
// sink also sets the key columns that another sink on the database (in
// another process) filled since it was made. A spec with options has its own column, mapped
// under its name ("email[provider]", "md5(email)"). OrderColumn "rowid"
// orders by insertion.
//
// Lifecycle ops: an inactivate sets TableMapping.InactiveColumn (0 or 1;
// without that column it fails with [sink.ErrInvalidOp]), a delete deletes the
// row, an anonymize nulls the columns and JSON members of the personal
// fields; with [sink.Op.Unlink], the links within the table go too (see
// [Table.Unlinks]). Their audit log, the sequences of [Table.Reserve] and
// the undo logs of [Table.WriteUndo] are Intake's own tables intake_audit,
// intake_sequences, intake_undo_runs and intake_undo beside the host's
// table, as [Store] documents them; NewTable creates them.
//
// Each Write is one transaction: all of the batch or nothing.
type Table struct {
	db     *sql.DB
	object string
	m      sink.TableMapping
	cfg    Config
	name   string               // quoted table
	cols   map[string]sqliteCol // the table's columns
	order  []string             // quoted order columns: OrderColumn[, IDColumn]

	wmu  sync.Mutex     // serializes writes and key fills
	ulog undolog.Writer // the undo log of a WriteUndo batch, guarded by wmu
	mu   sync.RWMutex
	keys []*hostKey // key specs in use
}

type sqliteCol struct {
	generated bool
}

// hostKey is a key spec of a host table: its column, its fields' types and
// its options.
type hostKey struct {
	Fields     []intake.Field    `json:"fields"`
	EmailRules intake.EmailRules `json:"email_rules,omitempty"`
	MD5        bool              `json:"md5,omitempty"`
	RecordID   bool              `json:"record_id,omitempty"`
	// Also holds the other fields the key reads: the F_md5 field of an
	// MD5 key, when the schema of its first use had one.
	Also   []intake.Field `json:"also,omitempty"`
	Column string         `json:"column"`
	plan   *intake.KeyPlan
	sch    *intake.Schema
}

// NewTable returns a sink writing the records of object into the
// host table of m in db, which the host keeps owning. The table must
// exist; NewTable checks the columns m names and creates Intake's
// small table intake_host_keys if needed. Of cfg, Now and Logger apply.
func NewTable(ctx context.Context, db *sql.DB, object string, m sink.TableMapping, cfg Config) (*Table, error) {
	if db == nil {
		return nil, errors.New("sqlite: sqlite.NewTable: nil *sql.DB")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := sqltable.CheckMapping(&m, object); err != nil {
		return nil, err
	}
	if strings.Contains(m.Table, ".") {
		return nil, fmt.Errorf("sqlite: sqlite.NewTable: table %q: name a table of the main database, without a schema", m.Table)
	}
	t := &Table{db: db, object: object, m: m, cfg: cfg, name: sqltable.QuoteIdent(m.Table), cols: map[string]sqliteCol{}}
	rows, err := db.QueryContext(ctx, "SELECT name, hidden FROM pragma_table_xinfo(?)", m.Table)
	if err != nil {
		return nil, fmt.Errorf("sqlite: inspect table %s: %w", m.Table, err)
	}
	for rows.Next() {
		var name string
		var hidden int
		if err := rows.Scan(&name, &hidden); err != nil {
			rows.Close()
			return nil, err
		}
		t.cols[name] = sqliteCol{generated: hidden == 2 || hidden == 3}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(t.cols) == 0 {
		return nil, fmt.Errorf("sqlite: sqlite.NewTable: table %s does not exist (Intake never creates a host table: create it first)", m.Table)
	}
	var errs []error
	for what, col := range map[string]string{"IDColumn": m.IDColumn, "OptedOut": m.OptedOut, "InactiveColumn": m.InactiveColumn, "CreatedAt": m.CreatedAt, "UpdatedAt": m.UpdatedAt, "JSONBColumn": m.JSONBColumn} {
		if _, ok := t.cols[col]; col != "" && !ok {
			errs = append(errs, fmt.Errorf("sqlite: TableMapping of %q: %s column %q is not in table %s", object, what, col, m.Table))
		}
	}
	if _, ok := t.cols[m.OrderColumn]; !ok && m.OrderColumn != "rowid" {
		errs = append(errs, fmt.Errorf("sqlite: TableMapping of %q: OrderColumn %q is not in table %s (\"rowid\" orders by insertion)", object, m.OrderColumn, m.Table))
	}
	for field, col := range m.Columns {
		if _, ok := t.cols[col]; !ok {
			errs = append(errs, fmt.Errorf("sqlite: TableMapping of %q: column %q of field %s is not in table %s", object, col, field, m.Table))
		}
	}
	for spec, col := range m.KeyColumns {
		if _, ok := t.cols[col]; !ok {
			errs = append(errs, fmt.Errorf("sqlite: TableMapping of %q: key column %q of %s is not in table %s", object, col, spec, m.Table))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	t.order = []string{sqltable.QuoteIdent(m.OrderColumn)}
	if m.OrderColumn == "rowid" {
		t.order[0] = "rowid"
	}
	if m.OrderColumn != m.IDColumn {
		t.order = append(t.order, sqltable.QuoteIdent(m.IDColumn))
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS intake_host_keys (tbl TEXT NOT NULL, spec TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tbl, spec))`); err != nil {
		return nil, fmt.Errorf("sqlite: create intake_host_keys: %w", err)
	}
	if err := createSQLiteLifecycleTables(ctx, db); err != nil {
		return nil, err
	}
	rows, err = db.QueryContext(ctx, `SELECT key FROM intake_host_keys WHERE tbl = ?`, m.Table)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read intake_host_keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var js string
		if err := rows.Scan(&js); err != nil {
			return nil, err
		}
		var k hostKey
		if err := json.Unmarshal([]byte(js), &k); err != nil {
			return nil, fmt.Errorf("sqlite: intake_host_keys row of %s is not valid: %w", m.Table, err)
		}
		if err := k.compile(object); err != nil {
			return nil, err
		}
		t.keys = append(t.keys, &k)
	}
	return t, rows.Err()
}

func (k *hostKey) compile(object string) error {
	s, err := intake.NewSchema(object, append(slices.Clip(k.Fields), k.Also...)...)
	if err != nil {
		return err
	}
	k.sch = s
	k.plan, err = s.CompileKey(k.spec())
	return err
}

// spec returns the key spec of k.
func (k *hostKey) spec() intake.KeySpec {
	return intake.KeySpec{Fields: k.names(), EmailRules: k.EmailRules, MD5: k.MD5, RecordID: k.RecordID}
}

func (k *hostKey) names() []string {
	names := make([]string, len(k.Fields))
	for i, f := range k.Fields {
		names[i] = f.Name
	}
	return names
}

// Concurrent reports true: reads run on their own connections beside a
// write (in WAL mode, which the host should use, without waiting).
func (t *Table) Concurrent() bool { return true }

// place checks that every field of s has a column or the JSON column.
func (t *Table) place(s *intake.Schema) error {
	if s.Object() != t.object {
		return fmt.Errorf("%w: this sink writes %q records into %s, not %q", sink.ErrInvalidOp, t.object, t.m.Table, s.Object())
	}
	if t.m.JSONBColumn != "" {
		return nil
	}
	for i := range s.Len() {
		if _, ok := t.m.Columns[s.Field(i).Name]; !ok {
			return fmt.Errorf("%w: field %q of %q has no column in the TableMapping of %s and there is no JSONBColumn: map it in Columns or set JSONBColumn", sink.ErrSchemaConflict, s.Field(i).Name, t.object, t.m.Table)
		}
	}
	return nil
}

// EnsureSchema checks that every field of s has a place in the table: a
// column, or the JSON column. It never changes the table.
func (t *Table) EnsureSchema(ctx context.Context, s *intake.Schema) error {
	if s == nil {
		return errors.New("sqlite: EnsureSchema: nil schema")
	}
	return t.place(s)
}

// hostRow is the state of a row during a batch: its column values as the
// driver returns them and the members of its JSON column.
type hostRow struct {
	id       string
	opted    bool
	inactive bool
	raw      map[string]any             // by column
	members  map[string]json.RawMessage // JSON column
	create   *sink.Op
	stored   bool
	changed  bool
}

// slot returns the name and type of field i of s, all that fieldValue
// and setField read: without the field's Options and Meta, which
// Schema.Field would copy for every row.
func slot(s *intake.Schema, i int) intake.Field {
	return intake.Field{Name: s.Name(i), Type: s.Type(i)}
}

// fieldValue returns the value of field f in r.
func (t *Table) fieldValue(r *hostRow, f intake.Field) (intake.Value, error) {
	if col, ok := t.m.Columns[f.Name]; ok {
		return sqliteHostValue(f.Type.Kind(), r.raw[col])
	}
	return sqltable.JSONValue(f.Type.Kind(), r.members[f.Name])
}

// setField sets field f of r to v (null removes it) and reports a change.
func (t *Table) setField(r *hostRow, f intake.Field, v intake.Value) (bool, error) {
	old, err := t.fieldValue(r, f)
	if err == nil && old == v {
		return false, nil
	}
	if col, ok := t.m.Columns[f.Name]; ok {
		r.raw[col] = sqliteHostArg(v)
		return true, nil
	}
	if v.IsNull() {
		delete(r.members, f.Name)
	} else {
		r.members[f.Name] = jsonMember(v)
	}
	return true, nil
}

// jsonMember is the JSON form of a non-null value in a JSON column.
func jsonMember(v intake.Value) json.RawMessage {
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
	return x
}

// sqliteHostArg is the column value of v in a host table.
func sqliteHostArg(v intake.Value) any {
	switch v.Kind() {
	case intake.KindNull:
		return nil
	case intake.KindBool:
		if v.BoolValue() {
			return int64(1)
		}
		return int64(0)
	case intake.KindList:
		b, _ := json.Marshal(v.Items())
		return string(b)
	}
	return v.String()
}

// sqliteHostValue converts a column value a host table holds into a value
// of kind k.
func sqliteHostValue(k intake.Kind, x any) (intake.Value, error) {
	if b, ok := x.([]byte); ok {
		x = string(b)
	}
	bad := func() (intake.Value, error) {
		return intake.Null, fmt.Errorf("column value %v (%T) is not a %s value", x, x, k)
	}
	switch x := x.(type) {
	case nil:
		return intake.Null, nil
	case int64:
		switch k {
		case intake.KindText:
			return intake.Text(strconv.FormatInt(x, 10)), nil
		case intake.KindBool:
			return intake.Bool(x != 0), nil
		case intake.KindDecimal:
			return intake.Decimal(decimal.NewFromInt(x)), nil
		case intake.KindTimestamp:
			return intake.Timestamp(time.Unix(x, 0)), nil
		}
		return bad()
	case float64:
		switch k {
		case intake.KindText:
			return intake.Text(strconv.FormatFloat(x, 'f', -1, 64)), nil
		case intake.KindDecimal:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return bad()
			}
			return intake.Decimal(decimal.NewFromFloat(x)), nil
		}
		return bad()
	case time.Time:
		switch k {
		case intake.KindDate:
			return intake.DateOf(x.UTC()), nil
		case intake.KindTimestamp:
			return intake.Timestamp(x), nil
		}
		return bad()
	case string:
		switch k {
		case intake.KindText:
			return intake.Text(x), nil
		case intake.KindBool:
			switch strings.ToLower(x) {
			case "1", "true":
				return intake.Bool(true), nil
			case "0", "false":
				return intake.Bool(false), nil
			}
			return bad()
		case intake.KindDecimal:
			d, err := sqltable.DecimalFromString(x)
			if err != nil {
				return bad()
			}
			return d, nil
		case intake.KindList:
			var items []string
			if json.Unmarshal([]byte(x), &items) != nil {
				return bad()
			}
			return intake.List(items...), nil
		case intake.KindTimestamp:
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
				if t, err := time.Parse(layout, x); err == nil {
					return intake.Timestamp(t), nil
				}
			}
			return bad()
		}
		raw, _ := json.Marshal(x)
		return sqltable.JSONValue(k, raw) // date, time
	}
	return bad()
}

// selectList is "id, opted, inactive, <every mapped column>, json" of the
// table.
func (t *Table) selectList() (string, []string) {
	cols := make([]string, 0, len(t.m.Columns))
	for _, c := range t.m.Columns {
		if !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	slices.Sort(cols)
	var b strings.Builder
	b.WriteString("CAST(" + sqltable.QuoteIdent(t.m.IDColumn) + " AS TEXT)")
	for _, flag := range []string{t.m.OptedOut, t.m.InactiveColumn} {
		if flag != "" {
			b.WriteString(", coalesce(" + sqltable.QuoteIdent(flag) + ", 0)")
		} else {
			b.WriteString(", 0")
		}
	}
	for _, c := range cols {
		// An expression has no declared type: the driver returns the
		// stored value as is (a DATE column's text is not parsed).
		b.WriteString(", coalesce(" + sqltable.QuoteIdent(c) + ", NULL)")
	}
	if t.m.JSONBColumn != "" {
		b.WriteString(", " + sqltable.QuoteIdent(t.m.JSONBColumn))
	} else {
		b.WriteString(", NULL")
	}
	return b.String(), cols
}

// scanHostRow scans a row of selectList, after the columns scanned into
// pre.
func scanHostRow(rows *sql.Rows, cols []string, pre ...any) (*hostRow, error) {
	var id string
	var opted, inactive, js any
	vals := make([]any, len(cols))
	dest := append(pre, &id, &opted, &inactive)
	for i := range cols {
		dest = append(dest, &vals[i])
	}
	dest = append(dest, &js)
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	r := &hostRow{id: id, raw: map[string]any{}, members: map[string]json.RawMessage{}, stored: true,
		opted: hostFlag(opted), inactive: hostFlag(inactive)}
	for i, c := range cols {
		r.raw[c] = vals[i]
	}
	var text string
	switch j := js.(type) {
	case string:
		text = j
	case []byte:
		text = string(j)
	}
	if text != "" {
		if err := json.Unmarshal([]byte(text), &r.members); err != nil {
			return nil, fmt.Errorf("sqlite: JSON column of row %s is not a JSON object: %w", id, err)
		}
		if r.members == nil {
			r.members = map[string]json.RawMessage{}
		}
	}
	return r, nil
}

// hostFlag reads a flag column's value: 1 or a true text.
func hostFlag(v any) bool {
	switch o := v.(type) {
	case int64:
		return o != 0
	case float64:
		return o != 0
	case string:
		return o == "1" || strings.EqualFold(o, "true")
	case []byte:
		return string(o) == "1" || strings.EqualFold(string(o), "true")
	}
	return false
}

// record converts r into a record of s.
func (t *Table) record(s *intake.Schema, r *hostRow) (*intake.Record, error) {
	rec := &intake.Record{Schema: s, ID: r.id, OptedOut: r.opted, Inactive: r.inactive, Values: make([]intake.Value, s.Len())}
	for i := range s.Len() {
		v, err := t.fieldValue(r, slot(s, i))
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s row %s field %s: %w", t.m.Table, r.id, s.Name(i), err)
		}
		rec.Values[i] = v
	}
	return rec, nil
}

// keyOf computes the key of r under k.
func (t *Table) keyOf(k *hostKey, r *hostRow) (intake.Key, error) {
	rec, err := t.record(k.sch, r)
	if err != nil {
		return "", err
	}
	key, _ := k.plan.Key(rec)
	return key, nil
}

// fetch reads the rows of ids (in chunks) with q, a querier of the
// database or a transaction.
func (t *Table) fetch(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, ids []string) (map[string]*hostRow, error) {
	sel, cols := t.selectList()
	out := map[string]*hostRow{}
	for len(ids) > 0 {
		n := min(len(ids), sqlInChunk)
		args := make([]any, n)
		for i := range n {
			args[i] = ids[i]
		}
		ids = ids[n:]
		rows, err := q.QueryContext(ctx, "SELECT "+sel+" FROM "+t.name+" WHERE "+sqltable.QuoteIdent(t.m.IDColumn)+" IN ("+placeholders(n)+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			r, err := scanHostRow(rows, cols)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[r.id] = r
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Write applies the batch in order in one transaction: all of it or
// nothing, with the semantics and errors of [Store.Write]. An inactivate
// needs TableMapping.InactiveColumn (an opt-out, OptedOut): without it the
// batch fails with a *[sink.RecordError] wrapping [sink.ErrInvalidOp]. A create
// stores the record's flags in those columns, or drops them when there are
// none.
func (t *Table) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	n, err := t.write(ctx, batch, nil)
	if err != nil {
		guard.Clear(batch)
	}
	return n, err
}

// tableBatch is one batch of Table.Write, as the phases of write go
// through it: the ops, their transaction, and what an earlier phase hands
// on to a later one. The ops change the rows in Go; the rows are written
// once each at the end, the deletes before them and the audit entries
// after them.
type tableBatch struct {
	t     *Table
	batch []*sink.Op
	tx    *sql.Tx

	guardKeys map[string]*hostKey // the key columns of the Op.Unique specs, by spec name
	fetch     []string            // the stored rows read: the ids the ops name, then the rows unlink finds
	keys      []*hostKey          // the key columns a written row sets (see syncKeys)
	rows      map[string]*hostRow // by id, as the ops leave them; nil once deleted
	out       []intake.Outcome    // the ops' outcomes, set on the ops once committed
	order     []string            // rows to write: creates in order, then changed stored rows
	deletes   []string            // stored rows to delete, before the writes
	audits    []sink.AuditEntry
	unlinks   ops.Unlinks // the targets of the ops with Unlink

	// undo is the undo log of a WriteUndo batch, nil in a plain Write or
	// for a refused run: each op that changes a row appends its entry as
	// it is applied. changes is the scratch of an entry's fields.
	undo    *undolog.Writer
	changes []sink.FieldChange
	urun    undoTxRun // the run as the transaction found it
}

// write applies the batch in phases: find the key columns of Op.Unique,
// check the ops, take the write lock for guarded creates, read the key
// columns and the rows the ops name, hold the creates whose keys are
// taken, apply the ops to the rows in Go, remove the links to the records
// of ops with Unlink, then delete, write the rows and insert the audit
// entries, store the undo log of WriteUndo's run (checked once the rows
// are read), and commit.
func (t *Table) write(ctx context.Context, batch []*sink.Op, run *sink.UndoRun) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(batch) == 0 {
		return 0, nil
	}
	b := &tableBatch{t: t, batch: batch, out: make([]intake.Outcome, len(batch))}
	if err := b.guardKeyColumns(ctx); err != nil {
		return 0, err
	}
	if err := b.checkOps(); err != nil {
		return 0, err
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if run != nil && run.Refused == "" {
		t.ulog.Reset()
		b.undo = &t.ulog
	}

	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: table write: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit a no-op
	b.tx = tx
	if err := b.takeWriteLock(ctx); err != nil {
		return 0, err
	}
	if err := b.readRows(ctx); err != nil {
		return 0, err
	}
	if run != nil {
		if err := b.openUndo(ctx, *run); err != nil {
			return 0, err
		}
	}
	if err := b.guard(ctx); err != nil {
		return 0, err
	}
	for i, op := range batch {
		if err := b.applyOp(i, op); err != nil {
			return 0, err
		}
	}
	if err := b.unlink(ctx); err != nil {
		return 0, err
	}
	if err := b.deleteRows(ctx); err != nil {
		return 0, err
	}
	if err := b.writeRows(ctx); err != nil {
		return 0, err
	}
	if err := b.insertAudits(ctx); err != nil {
		return 0, err
	}
	if run != nil {
		if err := b.logBatch(ctx); err != nil {
			return 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: table write: %w", err)
	}
	for i, op := range batch {
		op.Outcome = b.out[i]
	}
	return len(batch), nil
}

// guardKeyColumns places the schemas of the batch's Op.Unique specs and
// finds the key column of each spec, which guard looks keys up in.
func (b *tableBatch) guardKeyColumns(ctx context.Context) error {
	b.guardKeys = map[string]*hostKey{}
	schemas, specs := guard.Specs(b.batch)
	for i, spec := range specs {
		if err := b.t.place(schemas[i]); err != nil {
			return err
		}
		k, err := b.t.key(ctx, schemas[i], spec)
		if err != nil {
			return fmt.Errorf("sqlite: table key for Op.Unique: %w", err)
		}
		b.guardKeys[spec.Name()] = k
	}
	return nil
}

// checkOps checks each op against the table, collects the ids of the
// stored rows the batch reads and clears the ops' outcomes.
func (b *tableBatch) checkOps() error {
	t := b.t
	seen := map[string]bool{}
	for _, op := range b.batch {
		if err := ops.Check(op); err != nil {
			return ops.RecordError(op, err)
		}
		if err := t.place(op.Record.Schema); err != nil {
			return ops.RecordError(op, err)
		}
		if op.Kind == sink.OpInactivate && t.m.InactiveColumn == "" {
			return ops.RecordError(op, fmt.Errorf("%w: the TableMapping of %q has no InactiveColumn: add an INTEGER column (0 or 1) for the inactive flag to %s and name it in TableMapping.InactiveColumn", sink.ErrInvalidOp, t.object, t.m.Table))
		}
		// Every id a non-create op names is read, even after a create of
		// it in the batch: [create 1, delete 1] on a stored 1 must fail
		// the create (ErrDuplicateID), not drop it and audit a delete.
		if id := op.Record.ID; op.Kind != sink.OpCreate && !seen[id] {
			seen[id] = true
			b.fetch = append(b.fetch, id)
		}
		op.Outcome = intake.OutcomeNone
	}
	return nil
}

// takeWriteLock takes the database's write lock when the batch has
// creates that Op.Unique guards. A statement that writes takes it, and
// the transaction then holds it until it ends: no other connection can
// commit a record between the guard's check and the inserts.
func (b *tableBatch) takeWriteLock(ctx context.Context) error {
	if !slices.ContainsFunc(b.batch, guard.Guarded) {
		return nil
	}
	if err := b.t.lockTx(ctx, b.tx); err != nil {
		return fmt.Errorf("sqlite: table write: %w", err)
	}
	return nil
}

// readRows reads, in the transaction, the key columns a written row sets
// (see syncKeys) and the stored rows of b.fetch.
func (b *tableBatch) readRows(ctx context.Context) error {
	keys, err := b.t.syncKeys(ctx, b.tx)
	if err != nil {
		return err
	}
	rows, err := b.t.fetch(ctx, b.tx, b.fetch)
	if err != nil {
		return fmt.Errorf("sqlite: table write: %w", err)
	}
	b.keys, b.rows = keys, rows
	return nil
}

// guard applies Op.Unique to the batch's creates, looking keys up in the
// transaction.
func (b *tableBatch) guard(ctx context.Context) error {
	_, err := guard.Creates(b.batch, func(_ *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
		return b.t.findKeys(ctx, b.tx, b.guardKeys[spec.Name()], spec, keys)
	})
	return err
}

// applyOp applies op, the batch's i-th, to the rows in Go and sets its
// outcome in b.out. Every op but a create needs its record's row.
func (b *tableBatch) applyOp(i int, op *sink.Op) error {
	if op.Kind == sink.OpCreate {
		return b.create(i, op)
	}
	r := b.rows[op.Record.ID]
	if r == nil {
		return ops.RecordError(op, sink.ErrNotFound)
	}
	var links []sink.AuditEntry // an anonymize's own links, with Unlink
	var err error
	switch op.Kind {
	case sink.OpUpdate:
		optIn := op.OptIn && r.opted
		b.out[i], err = b.update(op, r)
		if err == nil && optIn {
			r.opted, r.changed = false, true
			b.out[i] = intake.OutcomeUpdated
		}
		if err == nil && b.undo != nil {
			b.logChange(op.Record.ID, op.Record.Line, sink.FlagChange{Changed: optIn, Before: optIn}, sink.FlagChange{})
		}
	case sink.OpOptOut:
		if b.t.m.OptedOut == "" {
			return ops.RecordError(op, fmt.Errorf("%w: the table mapping of %q has no OptedOut column", sink.ErrInvalidOp, b.t.object))
		}
		if !r.opted {
			r.opted, r.changed = true, true
			if b.undo != nil {
				b.changes = b.changes[:0]
				b.logChange(op.Record.ID, op.Record.Line, sink.FlagChange{Changed: true}, sink.FlagChange{})
			}
		}
		b.out[i] = intake.OutcomeOptedOut
	case sink.OpInactivate:
		b.out[i] = intake.OutcomeUnchanged
		if !r.inactive {
			r.inactive, r.changed = true, true
			b.out[i] = intake.OutcomeInactivated
			if b.undo != nil {
				b.changes = b.changes[:0]
				b.logChange(op.Record.ID, op.Record.Line, sink.FlagChange{}, sink.FlagChange{Changed: true})
			}
		}
	case sink.OpDelete:
		if b.undo != nil {
			if err := b.logDelete(op, r); err != nil {
				return err
			}
		}
		b.delete(op, r)
		b.out[i] = intake.OutcomeDeleted
	case sink.OpAnonymize:
		b.out[i], links, err = b.anonymize(op, r)
	}
	if err != nil {
		return err
	}
	if ops.IsLifecycle(op.Kind) {
		// Only lifecycle ops have Unlink (see ops.Check).
		b.audits = append(b.audits, ops.Audit(op))
		b.audits = append(b.audits, links...)
		b.unlinks.Add(op)
	}
	return nil
}

// create makes the row of the record of op, the batch's i-th, which
// writeRows inserts; a create that Op.Unique holds is skipped.
func (b *tableBatch) create(i int, op *sink.Op) error {
	if op.Existing != nil {
		b.out[i] = intake.OutcomeSkipped // held by Unique
		return nil
	}
	rec := op.Record
	if b.rows[rec.ID] != nil {
		return ops.RecordError(op, sink.ErrDuplicateID)
	}
	r := &hostRow{id: rec.ID, opted: rec.OptedOut, inactive: rec.Inactive, raw: map[string]any{}, members: map[string]json.RawMessage{}, create: op}
	for j := range rec.Schema.Len() {
		if _, err := b.t.setField(r, slot(rec.Schema, j), ops.Value(rec, j)); err != nil {
			return ops.RecordError(op, err)
		}
	}
	if b.undo != nil {
		b.undo.Create(b.t.object, rec.ID, rec.Line, b.t.digest(rec))
	}
	b.rows[rec.ID] = r
	b.order = append(b.order, rec.ID)
	b.out[i] = intake.OutcomeCreated
	return nil
}

// update sets the fields of op's record in its row r: the values that are
// not null, and null for the fields of op.Clear.
func (b *tableBatch) update(op *sink.Op, r *hostRow) (intake.Outcome, error) {
	sch := op.Record.Schema
	changed := false
	b.changes = b.changes[:0]
	for j := range sch.Len() {
		v := ops.Value(op.Record, j)
		if v.IsNull() || slices.Contains(op.Clear, j) {
			continue
		}
		c, err := b.setField(r, slot(sch, j), v)
		if err != nil {
			return intake.OutcomeNone, ops.RecordError(op, err)
		}
		changed = changed || c
	}
	for _, j := range op.Clear {
		c, err := b.setField(r, slot(sch, j), intake.Null)
		if err != nil {
			return intake.OutcomeNone, ops.RecordError(op, err)
		}
		changed = changed || c
	}
	return outcomeOf(r, changed, intake.OutcomeUpdated), nil
}

// anonymize nulls the personal fields of op's record in its row r and,
// with Unlink, its own links. It returns the audit entries of the links it
// cleared.
func (b *tableBatch) anonymize(op *sink.Op, r *hostRow) (intake.Outcome, []sink.AuditEntry, error) {
	t, sch := b.t, op.Record.Schema
	changed := false
	for j := range sch.Len() {
		if !sink.AnonymizeErases(sch, j) {
			continue
		}
		c, err := t.setField(r, slot(sch, j), intake.Null)
		if err != nil {
			return intake.OutcomeNone, nil, ops.RecordError(op, err)
		}
		changed = changed || c
	}
	var links []sink.AuditEntry
	if op.Unlink {
		for j := range sch.Len() {
			f := sch.Field(j)
			if !ops.IsLink(f) {
				continue
			}
			old, err := t.fieldValue(r, f)
			if err != nil {
				return intake.OutcomeNone, nil, ops.RecordError(op, err)
			}
			_, links = ops.ClearLink(op, old, f, links)
			c, err := t.setField(r, f, intake.Null)
			if err != nil {
				return intake.OutcomeNone, nil, ops.RecordError(op, err)
			}
			changed = changed || c
		}
	}
	return outcomeOf(r, changed, intake.OutcomeAnonymized), links, nil
}

// outcomeOf is the outcome of an op that changed the row r or not: when it
// did, r is to be written and the outcome is ifChanged.
func outcomeOf(r *hostRow, changed bool, ifChanged intake.Outcome) intake.Outcome {
	if !changed {
		return intake.OutcomeUnchanged
	}
	r.changed = true
	return ifChanged
}

// delete drops the row r of op's record: a row the batch created is never
// written, a stored one is deleted before the writes.
func (b *tableBatch) delete(op *sink.Op, r *hostRow) {
	id := op.Record.ID
	if r.create != nil { // created by this batch: never written
		b.order = slices.DeleteFunc(b.order, func(x string) bool { return x == id })
	} else {
		b.deletes = append(b.deletes, id)
	}
	b.rows[id] = nil
}

// unlink removes the links to the targets of b.unlinks (see
// [sink.Op.Unlink]) from the rows of the table: the links are the fields
// of the batch's schemas whose Ref is the table's object type (the sink
// keeps no schema of its own). One query per link field finds the stored
// rows that hold a target (a scan of the table unless an index serves the
// column); they join the rows of the batch (and b.fetch), which are
// changed in Go and written with them. The entries of the removed links
// join b.audits.
func (b *tableBatch) unlink(ctx context.Context) error {
	if b.unlinks == nil {
		return nil
	}
	t, u, rows := b.t, b.unlinks, b.rows
	var links []intake.Field
	for _, op := range b.batch {
		sch := op.Record.Schema
		for _, j := range u.Fields(sch) {
			if f := sch.Field(j); !slices.ContainsFunc(links, func(g intake.Field) bool { return g.Name == f.Name }) {
				links = append(links, f)
			}
		}
	}
	if len(links) == 0 {
		return nil
	}
	sel, cols := t.selectList()
	for _, f := range links {
		js, err := json.Marshal(u.TargetIDs(f.Ref))
		if err != nil {
			return err
		}
		q := "SELECT " + sel + " FROM " + t.name + " WHERE " + t.linkCond(f) + " ORDER BY " + strings.Join(t.order, ", ")
		found, err := b.tx.QueryContext(ctx, q, string(js))
		if err != nil {
			return fmt.Errorf("sqlite: table write: find the links of %s: %w", f.Name, err)
		}
		for found.Next() {
			r, err := scanHostRow(found, cols)
			if err != nil {
				found.Close()
				return err
			}
			if _, ok := rows[r.id]; !ok { // the batch's own rows are as the ops left them
				rows[r.id] = r
				b.fetch = append(b.fetch, r.id)
			}
		}
		if err := found.Close(); err != nil {
			return fmt.Errorf("sqlite: table write: find the links of %s: %w", f.Name, err)
		}
	}
	for _, ids := range [][]string{b.order, b.fetch} {
		for _, id := range ids {
			r := rows[id]
			if r == nil {
				continue
			}
			b.changes = b.changes[:0]
			for _, f := range links {
				v, err := t.fieldValue(r, f)
				if err != nil {
					return fmt.Errorf("sqlite: %s row %s field %s: %w", t.m.Table, id, f.Name, err)
				}
				nv, more, changed := u.Strip(v, f, t.object, id, b.audits)
				b.audits = more
				if changed {
					if _, err := t.setField(r, f, nv); err != nil {
						return err
					}
					r.changed = true
					if b.undo != nil {
						b.changes = append(b.changes, sink.FieldChange{Name: f.Name, Before: v, After: nv})
					}
				}
			}
			if b.undo != nil {
				b.logChange(id, 0, sink.FlagChange{}, sink.FlagChange{})
			}
		}
	}
	return nil
}

// deleteRows deletes the stored rows of the batch's deletes. A constraint
// that refuses it (a host's foreign key) is the delete op's fault.
func (b *tableBatch) deleteRows(ctx context.Context) error {
	for _, id := range b.deletes {
		if _, err := b.tx.ExecContext(ctx, "DELETE FROM "+b.t.name+" WHERE "+sqltable.QuoteIdent(b.t.m.IDColumn)+" = ?", id); err != nil {
			if strings.Contains(err.Error(), "constraint failed") { // a host's foreign key
				return ops.RecordError(opOf(b.batch, id, sink.OpDelete), err)
			}
			return fmt.Errorf("sqlite: table write: %w", err)
		}
	}
	return nil
}

// writeRows writes the rows of order, then the stored rows that the ops
// or unlink changed, one statement each: an INSERT for a create, an
// UPDATE of all the row's columns otherwise.
func (b *tableBatch) writeRows(ctx context.Context) error {
	for _, id := range b.fetch {
		if r := b.rows[id]; r != nil && r.changed && r.create == nil {
			b.order = append(b.order, id)
		}
	}
	now := b.t.cfg.Now().UTC().Format(time.RFC3339Nano)
	for _, id := range b.order {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.writeRow(ctx, id, b.rows[id], now); err != nil {
			return err
		}
	}
	return nil
}

// writeRow inserts or updates the row r of id, at the time now.
func (b *tableBatch) writeRow(ctx context.Context, id string, r *hostRow, now string) error {
	t := b.t
	cols, args, err := b.rowColumns(id, r, now)
	if err != nil {
		return err
	}
	if r.create != nil {
		q := "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) + ")"
		if _, err := b.tx.ExecContext(ctx, q, args...); err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed: "+t.m.Table+"."+t.m.IDColumn) ||
				(strings.Contains(err.Error(), "UNIQUE constraint failed") && strings.Contains(err.Error(), "PRIMARY KEY")) {
				return ops.RecordError(r.create, sink.ErrDuplicateID)
			}
			if strings.Contains(err.Error(), "constraint failed") {
				return ops.RecordError(r.create, err)
			}
			return fmt.Errorf("sqlite: table write: %w", err)
		}
		return nil
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = ?"
	}
	args = append(args, id)
	if _, err := b.tx.ExecContext(ctx, "UPDATE "+t.name+" SET "+strings.Join(set, ", ")+" WHERE "+sqltable.QuoteIdent(t.m.IDColumn)+" = ?", args...); err != nil {
		return fmt.Errorf("sqlite: table write: %w", err)
	}
	return nil
}

// rowColumns returns the quoted columns that writeRow writes of the row r
// of id, and their values: the flag columns and updated_at that the
// mapping has, the field columns that are not generated, the JSON
// column, the key columns that are not generated and, for a create, the
// id and created_at.
func (b *tableBatch) rowColumns(id string, r *hostRow, now string) ([]string, []any, error) {
	t := b.t
	var cols []string
	var args []any
	add := func(col string, v any) {
		cols = append(cols, sqltable.QuoteIdent(col))
		args = append(args, v)
	}
	if t.m.OptedOut != "" {
		add(t.m.OptedOut, boolInt(r.opted))
	}
	if t.m.InactiveColumn != "" {
		add(t.m.InactiveColumn, boolInt(r.inactive))
	}
	if t.m.UpdatedAt != "" {
		add(t.m.UpdatedAt, now)
	}
	for _, c := range sortedKeys(r.raw) {
		if !t.cols[c].generated {
			add(c, r.raw[c])
		}
	}
	if t.m.JSONBColumn != "" {
		js, _ := json.Marshal(r.members)
		add(t.m.JSONBColumn, string(js))
	}
	for _, k := range b.keys {
		if t.cols[k.Column].generated {
			continue
		}
		key, err := t.keyOf(k, r)
		if err != nil {
			return nil, nil, ops.RecordError(r.create, err)
		}
		add(k.Column, sqltable.KeyArg(key))
	}
	if r.create != nil {
		add(t.m.IDColumn, id)
		if t.m.CreatedAt != "" {
			add(t.m.CreatedAt, now)
		}
	}
	return cols, args, nil
}

// insertAudits inserts the batch's audit entries, in the order of its ops.
func (b *tableBatch) insertAudits(ctx context.Context) error {
	for _, a := range b.audits {
		if _, err := b.tx.ExecContext(ctx, sqlAuditInsert, auditArgs(a)...); err != nil {
			return fmt.Errorf("sqlite: table write: audit entry of %s: %w", a.RecordID, err)
		}
	}
	return nil
}

// linkCond is the condition of a row whose link field f holds one of the
// ids of a JSON array, the query's one argument: f's column, or its member
// of the JSON column; a multi-select is a JSON array either way.
func (t *Table) linkCond(f intake.Field) string {
	in := " IN (SELECT value FROM json_each(?1))"
	list := f.Type.Kind() == intake.KindList
	if col, ok := t.m.Columns[f.Name]; ok {
		c := sqltable.QuoteIdent(col)
		if list {
			return "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(" + c + ") THEN " + c + " END) AS l WHERE l.value" + in + ")"
		}
		return "CAST(" + c + " AS TEXT)" + in
	}
	j := sqltable.QuoteIdent(t.m.JSONBColumn)
	doc := "CASE WHEN json_valid(" + j + ") THEN " + j + " END"
	path := sqltable.QuoteLiteral("$." + f.Name)
	if list {
		return "EXISTS (SELECT 1 FROM json_each(" + doc + ", " + path + ") AS l WHERE l.value" + in + ")"
	}
	return "json_extract(" + doc + ", " + path + ")" + in
}

// opOf returns the last op of kind on the record id in batch.
func opOf(batch []*sink.Op, id string, kind sink.OpKind) *sink.Op {
	for i := len(batch) - 1; i >= 0; i-- {
		if op := batch[i]; op.Kind == kind && op.Record.ID == id {
			return op
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// key returns the key spec in use, filling its column first when this is
// its first use.
func (t *Table) key(ctx context.Context, s *intake.Schema, spec intake.KeySpec) (*hostKey, error) {
	if k := t.knownKey(spec); k != nil {
		return k, nil
	}
	if _, err := s.CompileKey(spec); err != nil {
		return nil, err
	}
	col := t.m.KeyColumns[spec.Name()]
	if col == "" {
		return nil, fmt.Errorf("sqlite: Lookup by %s in %s: TableMapping.KeyColumns has no column for %q: add a TEXT column holding the normalized key (or a generated one) and map it", spec.Name(), t.m.Table, spec.Name())
	}
	k := &hostKey{Column: col, EmailRules: spec.EmailRules, MD5: spec.MD5, RecordID: spec.RecordID}
	for _, f := range spec.Fields {
		k.Fields = append(k.Fields, s.Field(s.Index(f)))
	}
	if spec.MD5 && len(spec.Fields) == 1 {
		if i := s.Index(spec.Fields[0] + "_md5"); i >= 0 {
			k.Also = append(k.Also, s.Field(i))
		}
	}
	if err := k.compile(t.object); err != nil {
		return nil, err
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if k := t.knownKey(spec); k != nil { // another Lookup added it meanwhile
		return k, nil
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit a no-op
	if !t.cols[col].generated {
		start := time.Now()
		sel, cols := t.selectList()
		rows, err := tx.QueryContext(ctx, "SELECT "+sel+" FROM "+t.name)
		if err != nil {
			return nil, err
		}
		type fill struct {
			id  string
			key any
		}
		var fills []fill
		for rows.Next() {
			r, err := scanHostRow(rows, cols)
			if err != nil {
				rows.Close()
				return nil, err
			}
			key, err := t.keyOf(k, r)
			if err != nil {
				rows.Close()
				return nil, err
			}
			fills = append(fills, fill{r.id, sqltable.KeyArg(key)})
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for _, f := range fills {
			if _, err := tx.ExecContext(ctx, "UPDATE "+t.name+" SET "+sqltable.QuoteIdent(col)+" = ? WHERE "+sqltable.QuoteIdent(t.m.IDColumn)+" = ?", f.key, f.id); err != nil {
				return nil, fmt.Errorf("sqlite: fill key column %s: %w", col, err)
			}
		}
		t.cfg.Logger.Info("intake: SQLite host key column filled", "table", t.m.Table, "column", col, "records", len(fills), "took", time.Since(start))
	}
	js, _ := json.Marshal(k)
	if _, err := tx.ExecContext(ctx, `INSERT INTO intake_host_keys (tbl, spec, key) VALUES (?, ?, ?) ON CONFLICT (tbl, spec) DO UPDATE SET key = excluded.key`, t.m.Table, spec.Name(), string(js)); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.keys = append(slices.Clip(t.keys), k)
	t.mu.Unlock()
	return k, nil
}

// syncKeys returns the key specs in use, read in tx, the batch's
// transaction: those this sink knows, and those another sink on the
// database (another process) registered in intake_host_keys since, whose
// columns its Lookup filled and this sink's writes must keep current (its
// Lookup would not find the rows this sink creates otherwise). A spec
// whose column was not in the table when this sink was made is left out
// (this sink does not know whether the column is generated). The caller
// holds wmu.
func (t *Table) syncKeys(ctx context.Context, tx *sql.Tx) ([]*hostKey, error) {
	t.mu.RLock()
	keys := t.keys
	t.mu.RUnlock()
	rows, err := tx.QueryContext(ctx, `SELECT spec, key FROM intake_host_keys WHERE tbl = ?`, t.m.Table)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read intake_host_keys: %w", err)
	}
	defer rows.Close()
	var added []*hostKey
	for rows.Next() {
		var name, js string
		if err := rows.Scan(&name, &js); err != nil {
			return nil, fmt.Errorf("sqlite: read intake_host_keys: %w", err)
		}
		if slices.ContainsFunc(keys, func(k *hostKey) bool { return k.spec().Name() == name }) {
			continue
		}
		k := &hostKey{}
		if err := json.Unmarshal([]byte(js), k); err != nil {
			return nil, fmt.Errorf("sqlite: intake_host_keys row of %s is not valid: %w", t.m.Table, err)
		}
		if _, ok := t.cols[k.Column]; !ok {
			continue
		}
		if err := k.compile(t.object); err != nil {
			return nil, err
		}
		added = append(added, k)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: read intake_host_keys: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read intake_host_keys: %w", err)
	}
	if len(added) == 0 {
		return keys, nil
	}
	t.mu.Lock()
	t.keys = append(slices.Clip(t.keys), added...)
	keys = t.keys
	t.mu.Unlock()
	for _, k := range added {
		t.cfg.Logger.Info("intake: SQLite host key column registered by another sink", "table", t.m.Table, "column", k.Column, "spec", k.spec().Name())
	}
	return keys, nil
}

// knownKey returns the key spec in use that equals spec, or nil.
func (t *Table) knownKey(spec intake.KeySpec) *hostKey {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, k := range t.keys {
		if k.spec().Equal(spec) {
			return k
		}
	}
	return nil
}

// Lookup returns the ids of the rows whose key under spec is one of keys,
// oldest first (by OrderColumn), comparing the spec's key column, with one
// query per hundred keys. See [Table] for key columns. A record-id
// spec is refused: such keys are found with Get.
func (t *Table) Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ops.CheckLookupSpec(spec); err != nil {
		return nil, err
	}
	if err := t.place(s); err != nil {
		return nil, err
	}
	k, err := t.key(ctx, s, spec)
	if err != nil {
		return nil, err
	}
	res := map[intake.Key][]string{}
	var uniq []any
	seen := map[intake.Key]bool{}
	for _, key := range keys {
		if key != "" && !seen[key] {
			seen[key] = true
			uniq = append(uniq, string(key))
		}
	}
	col := sqltable.QuoteIdent(k.Column)
	for len(uniq) > 0 {
		n := min(len(uniq), sqlInChunk)
		rows, err := t.db.QueryContext(ctx, "SELECT "+col+", CAST("+sqltable.QuoteIdent(t.m.IDColumn)+" AS TEXT) FROM "+t.name+" WHERE "+col+" IN ("+placeholders(n)+") ORDER BY "+strings.Join(t.order, ", "), uniq[:n]...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: table lookup: %w", err)
		}
		uniq = uniq[n:]
		for rows.Next() {
			var key, id string
			if err := rows.Scan(&key, &id); err != nil {
				rows.Close()
				return nil, err
			}
			res[intake.Key(key)] = append(res[intake.Key(key)], id)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("sqlite: table lookup: %w", err)
		}
	}
	return res, nil
}

// findKeys is the keyFinder of the guard, in the write's transaction: the
// ids of the rows whose key column k holds one of keys (or, for a
// record-id spec, whose id is one of keys), oldest first.
func (t *Table) findKeys(ctx context.Context, tx *sql.Tx, k *hostKey, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	id := "CAST(" + sqltable.QuoteIdent(t.m.IDColumn) + " AS TEXT)"
	col := id
	if !spec.RecordID {
		col = sqltable.QuoteIdent(k.Column)
	}
	args := make([]any, len(keys))
	for i, key := range keys {
		args[i] = string(key)
	}
	res := map[intake.Key][]string{}
	for len(args) > 0 {
		n := min(len(args), sqlInChunk)
		rows, err := tx.QueryContext(ctx, "SELECT "+col+", "+id+" FROM "+t.name+" WHERE "+col+" IN ("+placeholders(n)+") ORDER BY "+strings.Join(t.order, ", "), args[:n]...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: table key check: %w", err)
		}
		args = args[n:]
		for rows.Next() {
			var key, id string
			if err := rows.Scan(&key, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: table key check: %w", err)
			}
			res[intake.Key(key)] = append(res[intake.Key(key)], id)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("sqlite: table key check: %w", err)
		}
	}
	return res, nil
}

// Get returns the rows with the given ids as records of s.
func (t *Table) Get(ctx context.Context, s *intake.Schema, ids []string) (map[string]*intake.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := t.place(s); err != nil {
		return nil, err
	}
	rows, err := t.fetch(ctx, t.db, ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: table get: %w", err)
	}
	res := make(map[string]*intake.Record, len(rows))
	for id, r := range rows {
		rec, err := t.record(s, r)
		if err != nil {
			return nil, err
		}
		res[id] = rec
	}
	return res, nil
}

// Scan calls fn for every row of the table, oldest first (by OrderColumn),
// reading pages of a thousand rows with keyset pagination.
func (t *Table) Scan(ctx context.Context, s *intake.Schema, fn func(*intake.Record) error) error {
	if err := t.place(s); err != nil {
		return err
	}
	sel, cols := t.selectList()
	ord := strings.Join(t.order, ", ")
	var after []any
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		q := "SELECT " + ord + ", " + sel + " FROM " + t.name
		if after != nil {
			q += " WHERE (" + ord + ") > (" + placeholders(len(after)) + ")"
		}
		q += " ORDER BY " + ord + " LIMIT " + strconv.Itoa(scanPage)
		rows, err := t.db.QueryContext(ctx, q, after...)
		if err != nil {
			return fmt.Errorf("sqlite: table scan: %w", err)
		}
		var page []*hostRow
		last := make([]any, len(t.order))
		for rows.Next() {
			pre := make([]any, len(t.order))
			for i := range pre {
				pre[i] = &last[i]
			}
			r, err := scanHostRow(rows, cols, pre...)
			if err != nil {
				rows.Close()
				return err
			}
			page = append(page, r)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlite: table scan: %w", err)
		}
		for _, r := range page {
			rec, err := t.record(s, r)
			if err != nil {
				return err
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = append([]any(nil), last...)
	}
}

// Count returns the number of rows of the table for its object type, and
// 0 for others.
func (t *Table) Count(ctx context.Context, object string) (int64, error) {
	if object != t.object {
		return 0, ctx.Err()
	}
	var n int64
	if err := t.db.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: table count: %w", err)
	}
	return n, nil
}

// AuditLog returns the audit entries of the table's lifecycle ops from
// Intake's table intake_audit, oldest first (see [Store.AuditLog]). It
// implements [sink.Auditor].
func (t *Table) AuditLog(ctx context.Context, object, recordID string) ([]sink.AuditEntry, error) {
	return sqliteAuditLog(ctx, t.db, object, recordID)
}

// Unlinks reports true: Table applies [sink.Op.Unlink] within its table,
// the only one it holds. It keeps no schema of its own: the link fields
// are those of the batch's schemas, the fields whose Ref is the table's
// object type (a contact's referred_by) for the links to a record, and
// every field with a Ref (its account_record_id) for an anonymized
// record's own links. One query per link field and batch finds the rows
// that hold a target (a scan of the table unless an index serves the
// column, or the JSON member, it compares), which are written with the
// batch's other rows. It implements [sink.Unlinker].
func (t *Table) Unlinks() bool { return true }

// Reserve reserves n consecutive numbers of the named sequence in Intake's
// table intake_sequences and returns the first, as [Store.Reserve] does.
// It implements [sink.Sequencer].
func (t *Table) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	return sqliteReserve(ctx, t.db, &t.wmu, name, n)
}

// GuardsKeys reports true: the host-table sink applies [sink.Op.Unique] in its
// write transaction, which takes the database's write lock before it
// checks the keys. The host's database should set a busy timeout
// (_pragma=busy_timeout(5000)) so that writers wait for each other
// instead of failing with SQLITE_BUSY.
func (t *Table) GuardsKeys() bool { return true }

// Resubscribes reports true: an update with [sink.Op.OptIn] clears the
// row's OptedOut column (a table mapping without one holds no opt-out to
// clear).
func (t *Table) Resubscribes() bool { return true }
