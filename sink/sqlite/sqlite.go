package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/intakehq/intake/sink/internal/storeschema"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// Config configures a [Store] sink. The zero value works.
type Config struct {
	// CacheSizeKiB is the page cache of each connection in KiB (PRAGMA
	// cache_size=-N). Default 65536 (64 MiB), so that the index pages an
	// import touches stay in cache. Only [Open] applies it.
	CacheSizeKiB int
	// BusyTimeout is how long a connection waits for a lock that another
	// connection or process holds before it fails with "database is locked"
	// (PRAGMA busy_timeout). Default 5s. Only [Open] applies it.
	BusyTimeout time.Duration
	// Now returns the time stored in created_at and updated_at. Default
	// time.Now.
	Now func() time.Time
	// Logger receives schema changes and key column backfills at Info
	// level. nil means quiet.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	var errs []error
	if c.CacheSizeKiB < 0 {
		errs = append(errs, fmt.Errorf("sqlite: sqlite.Config.CacheSizeKiB is %d: use 0 for the default or a positive size", c.CacheSizeKiB))
	}
	if c.BusyTimeout < 0 {
		errs = append(errs, fmt.Errorf("sqlite: sqlite.Config.BusyTimeout is %v: use 0 for the default or a positive duration", c.BusyTimeout))
	}
	if c.CacheSizeKiB == 0 {
		c.CacheSizeKiB = 64 << 10
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

// Store is the embedded default store: a SQLite database reached through
// the pure-Go driver modernc.org/sqlite (no cgo). It implements [sink.Sink],
// [sink.Lookuper], [sink.Getter], [sink.SchemaEnsurer], [sink.Scanner], [sink.Counter],
// [sink.SchemaReader], [sink.Concurrent], [sink.BatchSizer], [sink.Auditor], [sink.Unlinker],
// [sink.Sequencer] and [sink.Undoer] (not [sink.Checkpointer]) and is safe for concurrent use: writes
// (and the schema changes they need) are serialized, reads run in
// parallel on the pool's other connections.
//
// # Tables
//
// Each object type has a table intake_<object> with
//
//	seq        INTEGER PRIMARY KEY  creation order
//	id         TEXT NOT NULL UNIQUE the record's id
//	opted_out  INTEGER NOT NULL     0 or 1
//	inactive   INTEGER NOT NULL     0 or 1 (intake.Record.Inactive)
//	created_at INTEGER NOT NULL     Unix microseconds (UTC)
//	updated_at INTEGER NOT NULL     Unix microseconds; changes only when a value or a flag does
//	<field>    one column per field, named as the field
//	k_<spec>   one key column per key spec used in a Lookup, indexed: the key's hash
//
// seq is the table's rowid, the key of the table's own B-tree, so it
// costs no index: a row costs the table, the unique index on id, which
// Get and every update need, and one index per key column. Scan and
// Lookup read in seq order, which is creation order whatever the ids. A
// table clustered on the id (WITHOUT ROWID) would save the id index but
// put the id (36 bytes for a UUID) into every entry of every key index
// instead of the rowid: a key index of hashes takes about three times
// the pages, and an import's random key inserts dirty most of them at
// each commit, so writes cost more, not less.
//
// A table without the inactive column gets it (ALTER TABLE … ADD COLUMN
// inactive INTEGER NOT NULL DEFAULT 0) when the store first uses it, as a new field gets its column; if a field already
// has the column inactive, the flag's column is inactive_flag.
//
// A field column holds the exact parts of its [intake.Value.Raw]: TEXT for
// text, email, phone, country, select, id and decimal fields (the canonical
// decimal string) and for multi-select fields (items separated by the ASCII
// unit separator 0x1F), INTEGER for bool (0/1), date (days since
// 1970-01-01), time (microseconds since midnight) and timestamp (Unix
// microseconds) fields, NULL for null. A field whose name is one of the
// columns above (id, seq, opted_out, inactive, created_at, updated_at) or
// starts with "k_" or "f_" gets the column f_<name> instead.
//
// A key column k_<fields joined by "__"> (k_email, k_first_name__last_name)
// holds the 64-bit FNV-1a hash of the record's [intake.Key] under that spec
// as an INTEGER, NULL when the key is blank; a spec with options adds them:
// k_email__provider for [intake.EmailProvider] rules, k_email__md5 for an
// MD5 key, k_email__provider__md5 for both (a numeric suffix tells apart
// the rare names that collide). The first Lookup with a spec adds the column
// and its (non-unique) index and fills it for the stored records; every
// write keeps it current. Lookup checks the key of every row its hash finds,
// so a collision never matches a wrong record. Hashes keep the column and
// its index small whatever the key's length, and the key index is most of
// what an import's writes cost. A TEXT key column (one that intake_schema
// lists without "hash") holds the keys themselves, and keeps doing so. A
// record-id spec ([intake.KeySpec.RecordID]) is never looked
// up: Lookup refuses it.
//
// The table intake_schema remembers each object's fields and key columns
// (with their specs' options) as JSON (object TEXT PRIMARY KEY, schema
// TEXT), so a reopened store knows its schema. More tables of Intake's,
// created when the store is opened, hold the audit log of lifecycle ops,
// the sequences of [Store.Reserve] and the undo logs of [Store.WriteUndo]:
//
//	CREATE TABLE IF NOT EXISTS intake_audit (
//		seq       INTEGER PRIMARY KEY,      -- the order entries were written
//		time      INTEGER NOT NULL,         -- AuditEntry.Time, Unix microseconds (UTC)
//		object    TEXT NOT NULL,
//		record_id TEXT NOT NULL,
//		action    TEXT NOT NULL,            -- inactivate, delete, anonymize or unlink
//		reason    TEXT NOT NULL,
//		actor     TEXT NOT NULL DEFAULT '',
//		job       TEXT NOT NULL DEFAULT '',
//		run_id    TEXT NOT NULL DEFAULT '',
//		line      INTEGER NOT NULL DEFAULT 0,
//		field         TEXT NOT NULL DEFAULT '', -- an unlink entry's link: AuditEntry.Field,
//		target_object TEXT NOT NULL DEFAULT '', -- TargetObject
//		target_id     TEXT NOT NULL DEFAULT ''  -- and TargetID
//	);
//	CREATE INDEX IF NOT EXISTS intake_audit_record ON intake_audit (object, record_id);
//	CREATE TABLE IF NOT EXISTS intake_sequences (
//		name TEXT PRIMARY KEY,
//		next INTEGER NOT NULL                -- the first number not reserved yet
//	);
//	CREATE TABLE IF NOT EXISTS intake_undo_runs (  -- a row per run written with WriteUndo
//		run_id    TEXT PRIMARY KEY,
//		sink      TEXT NOT NULL DEFAULT '',  -- '' for a Store's run, the host table for a Table's
//		job       TEXT NOT NULL DEFAULT '',
//		state     TEXT NOT NULL,             -- kept, refused, expired, undoing or undone
//		reason    TEXT NOT NULL DEFAULT '',  -- why a refused run cannot be undone
//		objects   TEXT NOT NULL DEFAULT '',  -- the object types the run wrote, separated by spaces
//		started   INTEGER NOT NULL,          -- the first batch's time, Unix microseconds
//		expired   INTEGER,                   -- when PruneUndo dropped the log
//		undone_by TEXT NOT NULL DEFAULT '',  -- the run id of the undo
//		last_seq  INTEGER NOT NULL DEFAULT 0 -- the seq of the run's last logged batch
//	);
//	CREATE TABLE IF NOT EXISTS intake_undo (        -- a row per batch that changed something
//		run_id TEXT NOT NULL,
//		seq    INTEGER NOT NULL,             -- 1, 2, … in commit order
//		time   INTEGER NOT NULL,             -- the batch's time, Unix microseconds
//		fields TEXT,                         -- a Table's batch schema (JSON), NULL for a Store
//		data   BLOB NOT NULL,                -- the batch's entries, encoded (see below)
//		PRIMARY KEY (run_id, seq)
//	);
//
// An intake_undo row is written in its batch's transaction, and data holds
// the batch's [sink.UndoEntry] values in the binary encoding of the package
// sink/internal/undolog: a version byte, then each entry's kind, object
// type, id, source line, a create's digest, its flag changes and its
// fields with their values before and after. One row per batch keeps the
// log's cost to one row and its pages, whatever the batch's size. A
// revert deletes the row, or rewrites it with the entries of the records
// it left in conflict; PruneUndo deletes the rows of the runs it expires.
// A run's row stays, so that [Store.UndoStatus] can tell what became of it.
//
// An intake_audit without the last three columns gets them (ALTER TABLE …
// ADD COLUMN) when a sink opens the database.
//
// # Sharing a database
//
// Several sinks may write one database, in one process or in several
// (two imports at once). Each keeps a snapshot of the tables' layout, and
// every write transaction (a Write, a schema change, a key column's
// first fill) first compares PRAGMA schema_version with the version of
// its snapshot: when another sink changed a table meanwhile (added a
// field, or a key column on its first Lookup), it reads intake_schema
// again and writes the new columns too, so that the other sink's Lookup
// finds its records. Every change of intake_schema bumps the schema
// version (a change without DDL, such as a retyped field, by creating and
// dropping a table intake_schema_changed).
//
// Every process that writes a database must read its layout as this
// package does. Its key columns hold hashes ("hash":"fnv1a64" in
// intake_schema): a writer that looks the keys up as text finds no record
// and creates duplicates, and writes text keys that this package never
// finds. A writer that does not check the schema version writes rows laid
// out by a stale snapshot, without the key columns another sink added
// (whose Lookup then misses those rows). Upgrade every process that writes
// a database at once.
type Store struct {
	db    *sql.DB
	owned bool
	cfg   Config

	wmu sync.Mutex // serializes writes, schema changes and key backfills
	w   sqlWriter  // scratch of Write, guarded by wmu
	// ver is the database's PRAGMA schema_version when the sink last made
	// its snapshot of the tables agree with intake_schema, guarded by wmu.
	// Another connection's schema change bumps it (see syncTx).
	ver int64

	mu     sync.RWMutex // guards tables and views
	tables map[string]*sqlTable
	views  map[*intake.Schema]*sqlView

	smu   sync.Mutex
	stmts map[string]*sql.Stmt
}

// sqlTable is an immutable snapshot of one object type's table; a schema
// change or a new key column replaces it.
type sqlTable struct {
	object string
	name   string // quoted table name
	cols   []sqltable.Col
	store  *intake.Schema // schema of cols
	keys   []*sqlKey
	// inactive is the column of the inactive flag: "inactive", or
	// "inactive_flag" when a field has that column; "" in a table without
	// the flag's column, until ensureLocked adds it.
	inactive string
	sel      string // "id, opted_out, inactive, <cols>"

	// Statements of Write.
	insertSQL     string // one row: id, opted_out, inactive, created_at, updated_at, <cols>, <keys>
	updateSQL     string // <cols> = ?, <keys> = ?, updated_at = ? WHERE id = ?
	updateColsSQL string // <cols> = ?, updated_at = ? WHERE id = ?: the keys did not change
	optOutSQL     string // updated_at = ? WHERE id = ?
	optInSQL      string // updated_at = ? WHERE id = ?
	inactivateSQL string // updated_at = ? WHERE id = ?
	activateSQL   string // updated_at = ? WHERE id = ?: the revert of an inactivation
	deleteSQL     string // WHERE id = ?
	getSQL        string // SELECT sel, <keys> WHERE id IN (sqlInChunk ids)
}

// sqlKey is a key column. Its JSON keeps the spec's fields under "fields"
// and its options only when set, so a stored key without options reads as
// a spec without options; likewise "hash" is absent for a key column that
// holds the keys as text.
type sqlKey struct {
	Fields     []string          `json:"fields"`
	EmailRules intake.EmailRules `json:"email_rules,omitempty"`
	MD5        bool              `json:"md5,omitempty"`
	RecordID   bool              `json:"record_id,omitempty"`
	Column     string            `json:"column"`
	// Hash is sqlKeyHash when the column holds the keys' 64-bit hashes,
	// "" when it holds the keys themselves (a TEXT key column).
	Hash string `json:"hash,omitempty"`
	plan *intake.KeyPlan
}

// sqlKeyHash is the hash of the hashed key columns: 64-bit FNV-1a of the
// key's bytes, stored as a signed INTEGER.
const sqlKeyHash = "fnv1a64"

// newSQLKey returns the key column col of spec; hash is its Hash.
func newSQLKey(spec intake.KeySpec, col, hash string, plan *intake.KeyPlan) *sqlKey {
	return &sqlKey{Fields: slices.Clone(spec.Fields), EmailRules: spec.EmailRules, MD5: spec.MD5, RecordID: spec.RecordID, Column: col, Hash: hash, plan: plan}
}

// arg returns the column value of key k: NULL for a blank key, else its
// hash or, in a text key column, the key.
func (k *sqlKey) arg(key intake.Key) any {
	if k.Hash == "" || key == "" {
		return sqltable.KeyArg(key)
	}
	return keyHash(key)
}

// keyHash returns the 64-bit FNV-1a hash of k as a signed integer: the value
// of k in a hashed key column.
func keyHash(k intake.Key) int64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(k); i++ {
		h ^= uint64(k[i])
		h *= prime
	}
	return int64(h)
}

// spec returns the key spec of k.
func (k *sqlKey) spec() intake.KeySpec {
	return intake.KeySpec{Fields: k.Fields, EmailRules: k.EmailRules, MD5: k.MD5, RecordID: k.RecordID}
}

// sqlView is a schema's view of a table: plan[i] is the column of field i.
type sqlView struct {
	t    *sqlTable
	plan []int
}

type storedSchema struct {
	Object string         `json:"object"`
	Fields []sqltable.Col `json:"fields"`
	Keys   []*sqlKey      `json:"keys,omitempty"`
	// Inactive is the column of the inactive flag, absent in the schema
	// of a table without the flag's column.
	Inactive string `json:"inactive,omitempty"`
}

// Open opens (or creates) the SQLite database dsn — a file path, or a
// "file:" URI with modernc.org/sqlite query parameters — and returns a sink
// that closes it on [Store.Close]. A "sqlite:" prefix, as in the CLI's
// -store flag, is accepted and removed.
//
// Every connection of the pool gets these pragmas, except those the DSN
// sets itself with _pragma parameters (modernc.org/sqlite runs _pragma
// parameters sorted by text, so a default and the DSN's own value of the
// same pragma could otherwise run in either order):
//
//	journal_mode=WAL      readers never block the writer nor it them
//	synchronous=NORMAL    commits do not fsync; a power loss can lose the last
//	                      commits but never corrupts the database (WAL makes that safe)
//	wal_autocheckpoint=10000
//	                      copy the WAL into the database (and fsync) every 10000
//	                      pages (40 MiB) rather than SQLite's 1000: an import's
//	                      batches dirty the same index pages again and again, and
//	                      each checkpoint writes a page once however often it changed
//	busy_timeout=<BusyTimeout>
//	cache_size=-<CacheSizeKiB>
//	temp_store=MEMORY     sorts and temporary indexes stay in memory
//	foreign_keys=ON       for host tables that refer to ours
//
// and write transactions begin IMMEDIATE (_txlock=immediate), so that two
// writers wait for each other instead of failing.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dsn = strings.TrimPrefix(dsn, "sqlite:")
	if dsn == "" || strings.HasPrefix(dsn, "?") {
		return nil, errors.New("sqlite: sqlite.Open: empty database path: pass a file name such as intake.db")
	}
	path, query, _ := strings.Cut(dsn, "?")
	own := map[string]bool{}
	if qv, err := url.ParseQuery(query); err == nil {
		for _, p := range qv["_pragma"] {
			own[pragmaName(p)] = true
		}
	}
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
		"wal_autocheckpoint(10000)",
		"busy_timeout(" + strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10) + ")",
		"cache_size(-" + strconv.Itoa(cfg.CacheSizeKiB) + ")",
		"temp_store(MEMORY)",
		"foreign_keys(ON)",
	} {
		if !own[pragmaName(p)] {
			q.Add("_pragma", p)
		}
	}
	if !strings.Contains(query, "_txlock=") {
		q.Set("_txlock", "immediate")
	}
	full := path + "?" + q.Encode()
	if query != "" {
		full += "&" + query
	}
	db, err := sql.Open("sqlite", full)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open SQLite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open SQLite %s: %w", path, err)
	}
	s, err := newSQLite(ctx, db, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// pragmaName returns the name of the pragma p ("cache_size" of
// "main.cache_size = -2000").
func pragmaName(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if i := strings.IndexAny(p, "(= "); i >= 0 {
		p = p[:i]
	}
	if _, n, ok := strings.Cut(p, "."); ok {
		p = n
	}
	return p
}

// New returns a sink over a database the host opened with the driver
// modernc.org/sqlite (or another SQLite driver with the same value
// conversions) and keeps owning: [Store.Close] leaves it open. It creates
// intake_schema if needed and reads the stored schemas. It sets no pragmas;
// the host should configure its connections as [Open] does (WAL,
// synchronous=NORMAL, a busy timeout and IMMEDIATE write transactions).
func New(db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlite: sqlite.New: nil *sql.DB: open one with sql.Open(\"sqlite\", path) or use sqlite.Open")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newSQLite(context.Background(), db, cfg)
}

func newSQLite(ctx context.Context, db *sql.DB, cfg Config) (*Store, error) {
	s := &Store{db: db, cfg: cfg, tables: map[string]*sqlTable{}, views: map[*intake.Schema]*sqlView{}, stmts: map[string]*sql.Stmt{}}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS intake_schema (object TEXT PRIMARY KEY, schema TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("sqlite: create intake_schema: %w", err)
	}
	if err := createSQLiteLifecycleTables(ctx, db); err != nil {
		return nil, err
	}
	// The version first: a change between the two reads makes the next
	// write read intake_schema again, which is harmless.
	if err := db.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&s.ver); err != nil {
		return nil, fmt.Errorf("sqlite: read the schema version: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT object, schema FROM intake_schema`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read intake_schema: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var object, js string
		if err := rows.Scan(&object, &js); err != nil {
			return nil, fmt.Errorf("sqlite: read intake_schema: %w", err)
		}
		var st storedSchema
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			return nil, fmt.Errorf("sqlite: intake_schema row %q is not valid: %w", object, err)
		}
		t, err := newSQLTable(object, st.Fields, st.Keys, st.Inactive)
		if err != nil {
			return nil, fmt.Errorf("sqlite: intake_schema row %q: %w", object, err)
		}
		s.tables[object] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read intake_schema: %w", err)
	}
	return s, nil
}

func newSQLTable(object string, cols []sqltable.Col, keys []*sqlKey, inactive string) (*sqlTable, error) {
	fields := make([]intake.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.Field
	}
	store, err := intake.NewSchema(object, fields...)
	if err != nil {
		return nil, err
	}
	t := &sqlTable{object: object, name: sqltable.QuoteIdent("intake_" + object), cols: cols, store: store, inactive: inactive}
	for _, k := range keys {
		if k.Hash != "" && k.Hash != sqlKeyHash {
			return nil, fmt.Errorf("key column %s has the unknown hash %q (written by a newer version of Intake?)", k.Column, k.Hash)
		}
		plan, err := store.CompileKey(k.spec())
		if err != nil {
			return nil, err
		}
		t.keys = append(t.keys, newSQLKey(k.spec(), k.Column, k.Hash, plan))
	}
	var b strings.Builder
	b.WriteString("id, opted_out, ")
	if inactive != "" {
		b.WriteString(sqltable.QuoteIdent(inactive))
	} else {
		b.WriteString("0") // read before ensureLocked adds the column
	}
	for _, c := range cols {
		b.WriteString(", ")
		b.WriteString(sqltable.QuoteIdent(c.Column))
	}
	t.sel = b.String()

	b.Reset()
	b.WriteString("INSERT INTO " + t.name + " (id, opted_out, " + sqltable.QuoteIdent(inactive) + ", created_at, updated_at")
	for _, c := range t.cols {
		b.WriteString(", " + sqltable.QuoteIdent(c.Column))
	}
	for _, k := range t.keys {
		b.WriteString(", " + sqltable.QuoteIdent(k.Column))
	}
	b.WriteString(") VALUES (" + placeholders(sqlInsertFixed+len(t.cols)+len(t.keys)) + ")")
	t.insertSQL = b.String()

	b.Reset()
	b.WriteString("UPDATE " + t.name + " SET ")
	for _, c := range t.cols {
		b.WriteString(sqltable.QuoteIdent(c.Column) + " = ?, ")
	}
	colsEnd := b.Len()
	for _, k := range t.keys {
		b.WriteString(sqltable.QuoteIdent(k.Column) + " = ?, ")
	}
	b.WriteString("updated_at = ? WHERE id = ?")
	t.updateSQL = b.String()
	t.updateColsSQL = t.updateSQL[:colsEnd] + "updated_at = ? WHERE id = ?"

	t.optOutSQL = "UPDATE " + t.name + " SET opted_out = 1, updated_at = ? WHERE id = ?"
	t.optInSQL = "UPDATE " + t.name + " SET opted_out = 0, updated_at = ? WHERE id = ?"
	t.inactivateSQL = "UPDATE " + t.name + " SET " + sqltable.QuoteIdent(inactive) + " = 1, updated_at = ? WHERE id = ?"
	t.activateSQL = "UPDATE " + t.name + " SET " + sqltable.QuoteIdent(inactive) + " = 0, updated_at = ? WHERE id = ?"
	t.deleteSQL = "DELETE FROM " + t.name + " WHERE id = ?"
	b.Reset()
	b.WriteString("SELECT " + t.sel)
	for _, k := range t.keys {
		b.WriteString(", " + sqltable.QuoteIdent(k.Column))
	}
	b.WriteString(" FROM " + t.name + " WHERE id IN (" + placeholders(sqlInChunk) + ")")
	t.getSQL = b.String()
	return t, nil
}

// sqlInsertFixed is the number of columns of insertSQL before the fields':
// id, opted_out, inactive, created_at, updated_at.
const sqlInsertFixed = 5

// key returns the key column of spec (the whole spec: fields and options).
func (t *sqlTable) key(spec intake.KeySpec) *sqlKey {
	for _, k := range t.keys {
		if k.spec().Equal(spec) {
			return k
		}
	}
	return nil
}

// newKeyColumn returns the column name for a new key column of spec (see
// keyColumn), with a numeric suffix in the rare case that another spec's
// column has that name (fields "a__b" vs "a", "b").
func (t *sqlTable) newKeyColumn(spec intake.KeySpec) string {
	base := sqltable.KeyColumn(spec)
	col := base
	for n := 2; ; n++ {
		taken := false
		for _, k := range t.keys {
			taken = taken || k.Column == col
		}
		if !taken {
			return col
		}
		col = base + "_" + strconv.Itoa(n)
	}
}

func (t *sqlTable) stored() storedSchema {
	return storedSchema{Object: t.object, Fields: t.cols, Keys: t.keys, Inactive: t.inactive}
}

// DB returns the database the sink writes to.
func (s *Store) DB() *sql.DB { return s.db }

// Close releases the sink's prepared statements and, when [Open]
// opened the database, closes it.
func (s *Store) Close() error {
	s.smu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.smu.Unlock()
	if s.owned {
		return s.db.Close()
	}
	return nil
}

func sqlType(t intake.FieldType) string {
	switch t.Kind() {
	case intake.KindBool, intake.KindDate, intake.KindTime, intake.KindTimestamp:
		return "INTEGER"
	}
	return "TEXT"
}

// stmt returns a prepared statement for query, cached for the sink's life.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// view returns the view of schema sch, ensuring it (under wmu) when it is
// new. With spec, it also makes sure the spec's key column exists.
func (s *Store) view(ctx context.Context, sch *intake.Schema, spec *intake.KeySpec) (*sqlView, *sqlKey, error) {
	if sch == nil {
		return nil, nil, errors.New("sqlite: nil schema")
	}
	s.mu.RLock()
	v := s.views[sch]
	s.mu.RUnlock()
	if v != nil && spec == nil {
		return v, nil, nil
	}
	if v != nil {
		if k := v.t.key(*spec); k != nil {
			return v, k, nil
		}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	v, err := s.ensureLocked(ctx, sch)
	if err != nil || spec == nil {
		return v, nil, err
	}
	if k := v.t.key(*spec); k != nil {
		return v, k, nil
	}
	if err := s.addKeyLocked(ctx, v.t, *spec); err != nil {
		return nil, nil, err
	}
	v, err = s.ensureLocked(ctx, sch)
	if err != nil {
		return nil, nil, err
	}
	return v, v.t.key(*spec), nil
}

// EnsureSchema creates the table of s's object type, or adds the columns of
// fields it does not have yet, and records the schema in intake_schema. A
// field the table holds with values of another kind is an error wrapping
// [sink.ErrSchemaConflict]; a change to another type of the same kind (text to
// email) is accepted, and key columns that use the field are filled again
// on their next Lookup. Write, Lookup, Get and Scan call it implicitly for
// a schema they have not seen.
func (s *Store) EnsureSchema(ctx context.Context, sch *intake.Schema) error {
	if sch == nil {
		return errors.New("sqlite: EnsureSchema: nil schema")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.ensureLocked(ctx, sch)
	return err
}

// ensureLocked returns the view of sch, creating or altering its table.
// The caller holds wmu.
func (s *Store) ensureLocked(ctx context.Context, sch *intake.Schema) (*sqlView, error) {
	s.mu.RLock()
	v, t := s.views[sch], s.tables[sch.Object()]
	s.mu.RUnlock()
	if v != nil {
		return v, nil
	}
	nt, err := grownTable(t, sch)
	if err != nil {
		return nil, err
	}
	if nt != nil {
		if t, err = s.alterLocked(ctx, sch); err != nil {
			return nil, err
		}
	}
	v = &sqlView{t: t, plan: make([]int, sch.Len())}
	for i := range v.plan {
		v.plan[i] = t.store.Index(sch.Field(i).Name)
	}
	s.mu.Lock()
	s.views[sch] = v
	s.mu.Unlock()
	return v, nil
}

// grownTable returns the table that t, the table of sch's object type (nil
// when there is none), must become to hold the fields of sch, or nil when
// t holds them already.
func grownTable(t *sqlTable, sch *intake.Schema) (*sqlTable, error) {
	var old []intake.Field
	var keys []*sqlKey
	if t != nil {
		for _, c := range t.cols {
			old = append(old, c.Field)
		}
		keys = t.keys
	}
	fields, changed, retyped, err := storeschema.Merge(old, sch)
	if err != nil {
		return nil, err
	}
	if !changed && t != nil && t.inactive != "" {
		return nil, nil
	}
	flag := "inactive"
	if t != nil {
		flag = t.flagColumn()
	}
	cols := make([]sqltable.Col, len(fields))
	for i, f := range fields {
		if t != nil && i < len(t.cols) { // a stored field keeps its column
			cols[i] = sqltable.Col{Field: f, Column: t.cols[i].Column}
			continue
		}
		col := sqltable.FieldColumn(f.Name)
		if col == flag {
			col = "f_" + f.Name
		}
		cols[i] = sqltable.Col{Field: f, Column: col}
	}
	var kept []*sqlKey
	for _, k := range keys {
		if !storeschema.SpecUses(k.spec(), retyped) {
			kept = append(kept, k)
		}
	}
	return newSQLTable(sch.Object(), cols, kept, flag)
}

// flagColumn returns the column of t's inactive flag: the one it has, or,
// for a table without one, "inactive" unless a field
// has that column, then "inactive_flag" (a field added later with the
// flag's name gets the column f_<name>).
func (t *sqlTable) flagColumn() string {
	if t.inactive != "" {
		return t.inactive
	}
	for _, c := range []string{"inactive", "inactive_flag"} {
		if !slices.ContainsFunc(t.cols, func(col sqltable.Col) bool { return col.Column == c }) {
			return c
		}
	}
	for n := 2; ; n++ {
		c := "inactive_flag_" + strconv.Itoa(n)
		if !slices.ContainsFunc(t.cols, func(col sqltable.Col) bool { return col.Column == c }) {
			return c
		}
	}
}

// replaceTable installs a new snapshot and drops the views of the old one.
func (s *Store) replaceTable(t *sqlTable) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables[t.object] = t
	for sch, v := range s.views {
		if v.t.object == t.object {
			delete(s.views, sch)
		}
	}
}

// alterLocked creates the table of sch's object type, or adds the columns
// of sch's fields it lacks (see grownTable), and stores its schema, in one
// transaction, and returns the table. In that transaction it first brings
// the sink's snapshot up to date (see syncTx): another sink on the
// database may have made the change already, or another one whose columns
// and key columns the new table keeps.
func (s *Store) alterLocked(ctx context.Context, sch *intake.Schema) (*sqlTable, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	start, err := s.syncTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	old := s.tables[sch.Object()]
	s.mu.RUnlock()
	nt, err := grownTable(old, sch)
	if err != nil || nt == nil {
		return old, err
	}
	var ddl []string
	if old == nil {
		var b strings.Builder
		b.WriteString("CREATE TABLE IF NOT EXISTS " + nt.name + " (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, opted_out INTEGER NOT NULL DEFAULT 0, " +
			sqltable.QuoteIdent(nt.inactive) + " INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL")
		for _, c := range nt.cols {
			b.WriteString(", " + sqltable.QuoteIdent(c.Column) + " " + sqlType(c.Type))
		}
		b.WriteString(")")
		ddl = append(ddl, b.String())
	} else {
		if old.inactive == "" {
			ddl = append(ddl, "ALTER TABLE "+nt.name+" ADD COLUMN "+sqltable.QuoteIdent(nt.inactive)+" INTEGER NOT NULL DEFAULT 0")
		}
		for _, c := range nt.cols[len(old.cols):] {
			ddl = append(ddl, "ALTER TABLE "+nt.name+" ADD COLUMN "+sqltable.QuoteIdent(c.Column)+" "+sqlType(c.Type))
		}
	}
	for _, q := range ddl {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("sqlite: schema of %q: %w", nt.object, err)
		}
	}
	ver, err := storeSchema(ctx, tx, nt, start)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.ver = ver
	s.cfg.Logger.Info("intake: SQLite schema stored", "object", nt.object, "table", "intake_"+nt.object, "fields", len(nt.cols), "new", old == nil)
	s.replaceTable(nt)
	return nt, nil
}

// storeSchema stores t's schema in intake_schema in tx, which began when
// the schema version was start, and returns the schema version tx
// commits. A transaction that changed no table (a field retyped, a key
// column that an earlier use left added again) bumps the version by
// creating and dropping a table, so that the other sinks on the database
// see the change (see syncTx).
func storeSchema(ctx context.Context, tx *sql.Tx, t *sqlTable, start int64) (int64, error) {
	js, err := json.Marshal(t.stored())
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO intake_schema (object, schema) VALUES (?, ?) ON CONFLICT (object) DO UPDATE SET schema = excluded.schema`, t.object, string(js)); err != nil {
		return 0, fmt.Errorf("sqlite: store schema of %q: %w", t.object, err)
	}
	ver, err := txSchemaVersion(ctx, tx)
	if err != nil || ver != start {
		return ver, err
	}
	for _, q := range []string{"CREATE TABLE intake_schema_changed (x)", "DROP TABLE intake_schema_changed"} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("sqlite: store schema of %q: %w", t.object, err)
		}
	}
	return txSchemaVersion(ctx, tx)
}

// addKeyLocked adds the key column of spec to t (unless it exists from an
// earlier, invalidated use), indexes it, fills it for the stored records and
// registers it, in one transaction.
//
// In that transaction it first brings the sink's snapshot up to date (see
// syncTx): when another sink added the column meanwhile, it adds nothing.
func (s *Store) addKeyLocked(ctx context.Context, t *sqlTable, spec intake.KeySpec) error {
	start := time.Now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ver0, err := s.syncTx(ctx, tx)
	if err != nil {
		return err
	}
	s.mu.RLock()
	if cur := s.tables[t.object]; cur != nil {
		t = cur
	}
	s.mu.RUnlock()
	if t.key(spec) != nil {
		return nil
	}
	plan, err := t.store.CompileKey(spec)
	if err != nil {
		return err
	}
	col := t.newKeyColumn(spec)
	// A new column holds hashes. One left by an earlier use keeps its
	// type: hashes if it is an INTEGER column, else the keys themselves
	// (a TEXT column would turn hashes into text).
	exists, hash := false, sqlKeyHash
	rows, err := tx.QueryContext(ctx, "SELECT name, type FROM pragma_table_info(?)", "intake_"+t.object)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n, typ string
		if err := rows.Scan(&n, &typ); err != nil {
			rows.Close()
			return err
		}
		if n == col {
			exists = true
			if !strings.EqualFold(typ, "INTEGER") {
				hash = ""
			}
		}
	}
	rows.Close()
	if !exists {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+t.name+" ADD COLUMN "+sqltable.QuoteIdent(col)+" INTEGER"); err != nil {
			return fmt.Errorf("sqlite: add key column %s: %w", col, err)
		}
	}
	kc := newSQLKey(spec, col, hash, plan)
	if _, err := tx.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS "+sqltable.QuoteIdent("intake_"+t.object+"_"+col)+" ON "+t.name+" ("+sqltable.QuoteIdent(col)+")"); err != nil {
		return fmt.Errorf("sqlite: index key column %s: %w", col, err)
	}
	// Backfill in pages of rows, in seq order.
	upd, err := tx.PrepareContext(ctx, "UPDATE "+t.name+" SET "+sqltable.QuoteIdent(col)+" = ? WHERE seq = ?")
	if err != nil {
		return err
	}
	defer upd.Close()
	sc := newRowScanner(t)
	rec := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
	var last, n int64
	type fill struct {
		seq int64
		key any
	}
	var page []fill
	for {
		rows, err := tx.QueryContext(ctx, "SELECT seq, "+t.sel+" FROM "+t.name+" WHERE seq > ? ORDER BY seq LIMIT 1000", last)
		if err != nil {
			return err
		}
		page = page[:0]
		for rows.Next() {
			var seq int64
			if err := sc.scan(rows, &seq, &rec); err != nil {
				rows.Close()
				return err
			}
			k, _ := plan.Key(&rec)
			page = append(page, fill{seq, kc.arg(k)})
			last = seq
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, f := range page {
			if f.key == nil && !exists {
				continue // a new column is NULL already
			}
			if _, err := upd.ExecContext(ctx, f.key, f.seq); err != nil {
				return err
			}
		}
		n += int64(len(page))
	}
	keys := append(append([]*sqlKey(nil), t.keys...), kc)
	nt, err := newSQLTable(t.object, t.cols, keys, t.inactive)
	if err != nil {
		return err
	}
	ver, err := storeSchema(ctx, tx, nt, ver0)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.ver = ver
	s.cfg.Logger.Info("intake: SQLite key column filled", "object", t.object, "column", col, "records", n, "took", time.Since(start))
	s.replaceTable(nt)
	return nil
}

// bindValue returns the column value of v.
func bindValue(v intake.Value) any {
	switch v.Kind() {
	case intake.KindNull:
		return nil
	case intake.KindText, intake.KindDecimal, intake.KindList:
		s, _ := v.Raw()
		return s
	}
	_, i := v.Raw()
	return i
}

// Schema returns the schema the store holds for object (remembered in
// intake_schema across restarts), or nil when it never saw that object
// type. It implements [sink.SchemaReader].
func (s *Store) Schema(ctx context.Context, object string) (*intake.Schema, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t, ok := s.tables[object]; ok {
		return t.store, nil
	}
	return nil, nil
}

// Concurrent reports true: the SQLite sink serializes writes and lets reads
// run beside them, each on its own connection of the pool.
func (s *Store) Concurrent() bool { return true }

// BatchSize reports 20,000. Each commit writes every page the batch dirtied
// to the WAL, and a key index takes its inserts at random places, so a
// larger batch dirties each index page for more rows and writes it once;
// beyond 20,000 the gain is small and the importer's memory grows with the
// batch (two batches are in flight at once).
func (s *Store) BatchSize() int { return 20_000 }

// GuardsKeys reports true: the SQLite sink applies [sink.Op.Unique] in the
// batch's IMMEDIATE transaction, which holds the database's write lock.
func (s *Store) GuardsKeys() bool { return true }

// Resubscribes reports true: an update with [sink.Op.OptIn] clears the
// record's opted-out flag in the batch's transaction.
func (s *Store) Resubscribes() bool { return true }
