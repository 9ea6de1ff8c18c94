package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/intakehq/intake/sink/internal/storeschema"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures a [Store] sink. The zero value works: it
// uses the schema "public" and creates Intake's tables there.
type Config struct {
	// Schema is the PostgreSQL schema (namespace) of Intake's tables.
	// Default "public". New creates it when missing, unless
	// SkipMigrations is set.
	Schema string
	// SkipMigrations leaves the statements of [Migrations] to the
	// host, which runs them with its own migration tool. New then
	// only checks that the tables exist. Default false: New runs
	// them (they are idempotent).
	SkipMigrations bool
	// Tables maps object types to tables the host owns, which Intake
	// writes into instead of its own intake_<object> tables; see
	// [sink.TableMapping]. Default none.
	Tables map[string]sink.TableMapping
	// AsyncCommit runs each batch's transaction with SET LOCAL
	// synchronous_commit = off: the commit returns before its WAL reaches
	// the disk, which saves a disk flush per batch (about a tenth of an
	// import of small rows on a disk that flushes in 2 ms). A crash of the
	// database server (not of the host) can then lose the last batches
	// committed — each whole, with its checkpoint, so a resumed or repeated
	// run writes them again — and never corrupts anything. Default false:
	// the server's setting applies.
	AsyncCommit bool
	// Now returns the time stored in created_at and updated_at. Default
	// time.Now.
	Now func() time.Time
	// Logger receives schema changes and key column backfills at Info
	// level. nil means quiet.
	Logger *slog.Logger
}

var pgIdentRE = regexp.MustCompile(`^[a-z_][a-z0-9_$]{0,62}$`)

func (c *Config) validate() error {
	var errs []error
	if c.Schema == "" {
		c.Schema = "public"
	}
	if !pgIdentRE.MatchString(c.Schema) {
		errs = append(errs, fmt.Errorf("postgres: postgres.Config.Schema %q: use a lower-case identifier of letters, digits and underscores (at most 63)", c.Schema))
	}
	if c.Tables != nil { // a copy with the defaults set: the map is the caller's
		tables := make(map[string]sink.TableMapping, len(c.Tables))
		for object, m := range c.Tables {
			if err := sqltable.CheckMapping(&m, object); err != nil {
				errs = append(errs, err)
			}
			tables[object] = m
		}
		c.Tables = tables
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return errors.Join(errs...)
}

// Store is a sink over a PostgreSQL database, reached through a
// *pgxpool.Pool that the host owns (github.com/jackc/pgx/v5). It implements
// [sink.Sink], [sink.Lookuper], [sink.Getter], [sink.SchemaEnsurer], [sink.Scanner], [sink.Counter],
// [sink.SchemaReader], [sink.Checkpointer], [sink.Concurrent], [sink.BatchSizer], [sink.Auditor],
// [sink.Unlinker], [sink.Sequencer] and [sink.Undoer], and is safe for concurrent use; several
// processes may share one database.
//
// # Tables
//
// Each object type has a table intake_<object> in the configured schema,
// laid out as the [github.com/intakehq/intake/sink/sqlite.Store] sink's, with PostgreSQL types:
//
//	id         text COLLATE "C" PRIMARY KEY   the record's id
//	opted_out  boolean NOT NULL
//	inactive   boolean NOT NULL            intake.Record.Inactive
//	created_at timestamptz NOT NULL
//	updated_at timestamptz NOT NULL        changes only when a value or a flag does
//	<field>    one column per field: text (text, email, phone, country,
//	           select, id), boolean, numeric, date, time, timestamptz,
//	           text[] (multi-select)
//	k_<spec>   text COLLATE "C", one key column per key spec used in a
//	           Lookup, indexed
//
// Two indexes, then, for a table looked up by one key spec: the primary
// key, which Get, the writes and Scan use, and the key column's, which
// Lookup uses. Records have no creation sequence of their own: Scan and
// Lookup return them in the order of their ids, bytewise ("C"), which is
// creation order for the UUIDv7 ids of Intake's default allocator (time
// first) and number order for ids from a reserved range of equally many
// digits (identity.NewNumeric; a NumericConfig.Format that pads to a fixed
// width keeps that order across digit counts: "10" sorts before "9").
// Tables created by earlier versions, with a seq identity column as
// primary key and a UNIQUE id, get this layout from [Migrations].
//
// Field names that clash with these columns get the column f_<name>, as
// in SQLite. Columns are plain SQL values, so the host can query, index
// and join them. A key column holds the record's [intake.Key] under its
// spec (NULL when blank); the first Lookup with a spec adds it, indexes it
// and fills it for the stored records, and every write keeps it current.
// Specs that differ only in their options have columns of their own, named
// as in SQLite (k_email__provider, k_email__md5).
//
// A table without the inactive column gets
// it (ALTER TABLE … ADD COLUMN … boolean NOT NULL DEFAULT false, which
// rewrites nothing) when the sink first uses the table, as a new field
// gets its column; if a field already has the column inactive, the flag's
// column is inactive_flag.
//
// intake_schema (object, version, schema jsonb) remembers each object's
// fields, its key columns with their specs (options included) and its
// inactive column; intake_checkpoint (run_id, source, last_line, pending, batches,
// updated_at) holds the checkpoints of [Store.WriteCheckpoint];
// intake_audit holds the audit log of lifecycle ops ([Store.AuditLog])
// and intake_sequences the sequences of [Store.Reserve]; intake_undo_runs
// (a row per run) and intake_undo (a row per batch, the batch's entries in
// a bytea) the undo logs of [Store.WriteUndo]; intake_writes
// logs the transactions that insert or update rows of each of Intake's
// own tables (a statement trigger, intake_log_write, on each, enabled
// ALWAYS so that it fires in replica sessions too), and
// intake_write_horizon the transaction since which a table's log is
// whole, which the guard of [sink.Op.Unique] reads (see Writes); a trigger
// dropped or disabled by hand only makes the guard look keys up again.
// Every transaction of the store runs at READ COMMITTED, whatever the
// pool's default isolation level: the guard must see what a writer it
// waited for committed. These are
// Intake's own tables in the configured schema, beside the host's tables
// when a [sink.TableMapping] is used. [Migrations] returns the
// statements that create them.
//
// Text values cannot hold NUL bytes in PostgreSQL: a record with one fails
// with a *[sink.RecordError] wrapping [sink.ErrInvalidOp] (Intake's mapper rejects
// such cells before). Dates and timestamps outside PostgreSQL's range
// (4713 BC to 5874897 AD, and to 294276 AD) fail the same way.
//
// # Writes
//
// Each batch is one transaction. The rows the batch updates or opts out are
// read with SELECT … FOR UPDATE (one query per table, pipelined with a
// check of the schema's version), and the batch is applied to them in
// order in Go: null keeps a value, Clear nulls it, each op gets its
// outcome, a row that ends as it was is not written. Then, per table, the
// records the batch creates are streamed with COPY straight into the table
// (they are new rows: there is nothing to merge), and the rows that
// changed are streamed with COPY into a temporary table (ON COMMIT DROP)
// and applied with one UPDATE … FROM … RETURNING id. COPY runs in
// PostgreSQL's binary format, each row encoded straight from the batch's
// values. For a host table
// ([sink.TableMapping]) creates take the temporary table too, with one INSERT …
// ON CONFLICT (id) DO NOTHING RETURNING id. Results are matched to records
// by id, never by position: a create whose id is taken fails the batch
// with [sink.ErrDuplicateID] naming the record. A Lookup is one query per
// 1,000 keys (k_<spec> = ANY($1)), pipelined in one round trip.
//
// The guard of [sink.Op.Unique] looks the keys of the guarded creates up
// again once it holds its locks, but not those that this store's own
// Lookup found no record for when intake_writes shows, under the locks,
// that no transaction has written the table since that Lookup's snapshot
// other than this store's own writes, none of which wrote the key: in a
// bulk import into Intake's own table, where one writer creates every
// key, that second look would cost as much as the first. The log holds
// every transaction that inserts or updates the table's rows, whoever
// runs it (another process, the host's own SQL); a Lookup older than the
// log's horizon, or a key the store does not remember, is looked up
// again.
//
// After a committed write, the sink runs ANALYZE on a table once this
// process has created as many rows in it as it held at the sink's last
// ANALYZE of it (at least 1,000): a table an import fills from empty has
// no statistics until autovacuum gets to it, and without them PostgreSQL
// plans the lookups as sequential scans — at a second a query by a million
// rows. A table filled to n rows is analyzed about log2(n/1000) times,
// each time only its id and key columns, the columns the sink looks up
// by, from a sample of 3,000 rows (default_statistics_target 10; the
// other columns keep what autovacuum gives them); a role that does not
// own the table (a host table) logs one warning and goes without.
//
// Lifecycle ops take the same path: an inactivate or an anonymize is a
// change of a stored row (the inactive column, or null personal fields
// and their recomputed keys) applied by the batch's UPDATE; the deletes
// of a batch are one DELETE … WHERE id = ANY($1) per table, run before
// the batch's inserts; the audit entries of a batch are one INSERT into
// intake_audit. The links that ops with [sink.Op.Unlink] remove are found with
// one query per link field and written with the batch's other rows (see
// [Store.Unlinks]). All in the batch's transaction: a batch that fails
// leaves no audit entry and every link in place. See [Store.Write].
//
// [Store.WriteUndo] takes this path with the batch's undo log built on the
// way, from the rows read and the values written: one statement more in
// the first round trip (the run's row) and one in the last (the log's
// row). [Store.Revert] writes through it too.
//
// # Lost connections
//
// A pooled connection that the server closed while it sat idle
// (pg_terminate_backend, SQLSTATE 57P01; idle_session_timeout, 57P05; a
// reset or EOF) fails no call: the BEGIN of each transaction and each read
// (Lookup, Get, Scan, Count, Schema, LastCheckpoint, AuditLog) that finds
// its connection lost is tried once more, after the sink pings the pool's
// idle connections and closes the dead ones (an administrator or a server
// restart kills them all at once). Nothing of a batch is sent before its BEGIN
// succeeds; a connection lost after that fails the Write and is not
// retried, since the batch may have committed or not (running the import
// again is safe). A host that wants each connection checked before use
// sets pgxpool.Config.ShouldPing; the sink does without.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config

	schemaTable string // quoted intake_schema
	cpTable     string // quoted intake_checkpoint
	auditTable  string // quoted intake_audit
	seqTable    string // quoted intake_sequences
	runsTable   string // quoted intake_undo_runs
	undoTable   string // quoted intake_undo

	wmu    sync.Mutex           // serializes writes and schema changes in this process
	growth map[string]*pgGrowth // by object, under wmu: when to ANALYZE (analyzeGrown)

	host map[string]map[string]pgHostCol // columns of the host tables, by object

	memo    pgMemo // the keys Lookups missed, for the guard of Op.Unique
	logging bool   // the schema has intake_writes and intake_write_horizon (see pgMemo)

	mu     sync.RWMutex
	tables map[string]*pgTable
	views  map[*intake.Schema]*pgView
}

// Migrations returns the SQL statements that create the schema
// and the tables Intake needs in it, for a host that runs its own
// migrations (set [Config.SkipMigrations]). They are idempotent
// (CREATE … IF NOT EXISTS): a host upgrading Intake runs them all again,
// and New does so itself unless SkipMigrations is set. The tables:
//
//   - intake_schema: each object type's fields and key columns;
//   - intake_checkpoint: the checkpoints of [Store.WriteCheckpoint];
//   - intake_audit: the audit log of lifecycle ops ([Store.AuditLog]),
//     one row per op and per link an op with Unlink removed (seq orders
//     them; time, object, record_id, action, reason, actor, job, run_id,
//     line, field, target_object, target_id as in [sink.AuditEntry]), indexed
//     by object and record; rows of deleted records stay;
//   - intake_sequences: the next number of each sequence of
//     [Store.Reserve] (name, next);
//   - intake_writes (object, xact) and intake_write_horizon (object,
//     xact), with the function intake_log_write: the log of the
//     transactions that write each of Intake's own tables, which the
//     trigger intake_log_write on each table keeps (a table created by
//     [Store.EnsureSchema] gets it; a table of an earlier version gets it
//     from the last statement, which waits for the writes under way to
//     the table), and the transaction since which it is whole. A write
//     prunes its table's log now and then. Without them (SkipMigrations,
//     statements not run yet) the guard of [sink.Op.Unique] looks every
//     key up again;
//   - intake_undo_runs and intake_undo: the undo logs of
//     [Store.WriteUndo], a row per run and a row per batch (see
//     [Store.WriteUndo]).
//
// intake_audit and intake_sequences are recent, and intake_audit gained
// the columns field, target_object and target_id (added by an ALTER TABLE
// … ADD COLUMN IF NOT EXISTS, which rewrites nothing). The ALTER TABLE and
// the CREATE INDEX run in DO blocks, only when the columns or the index
// are missing: both statements lock the table even when there is nothing
// to do, so the ALTER TABLE would wait for every open transaction that
// reads or writes the audit log, the CREATE INDEX for every one that
// writes it, and either would hold up the transactions that come after
// (the other statements take no lock on an existing table). A host with
// SkipMigrations that has not run these statements yet gets an error
// naming Migrations from lifecycle ops, AuditLog, Reserve and the
// methods of [sink.Undoer]; everything else works without them. The tables of object types are created by
// [Store.EnsureSchema] as schemas are seen; [ObjectMigration]
// returns their statements for a host that wants them in its migrations
// too. schema "" is "public".
//
// The last statement brings the object tables that earlier versions
// created — a seq identity column as primary key, beside a UNIQUE
// constraint on id — to the layout of [Store]: it drops seq with its
// index and the UNIQUE constraint (a change of the catalog: no row
// moves), and makes id the primary key in the "C" collation, which
// builds the id's index again (about a second per million rows, with
// the table locked). It runs only on a table that still has seq; a table
// that something of the host's (a view, say) needs seq for keeps it, with
// a warning from the server, and works as it is. New runs all of
// Migrations in one transaction: a crash or a failure halfway leaves every
// table as it was, and the next New tries again. Run the new version in
// every process that shares the schema once it has migrated: earlier
// versions order Scan and Lookup by seq.
func Migrations(schema string) []string {
	if schema == "" {
		schema = "public"
	}
	q := sqltable.QuoteIdent(schema)
	return []string{
		`CREATE SCHEMA IF NOT EXISTS ` + q,
		`CREATE TABLE IF NOT EXISTS ` + q + `.intake_schema (
	object  text PRIMARY KEY,
	version bigint NOT NULL DEFAULT 1,
	schema  jsonb NOT NULL
)`,
		`CREATE TABLE IF NOT EXISTS ` + q + `.intake_checkpoint (
	run_id     text PRIMARY KEY,
	source     text NOT NULL DEFAULT '',
	last_line  bigint NOT NULL,
	batches    bigint NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL,
	pending    bigint[]
)`,
		pgDo(`IF NOT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = ` + sqltable.QuoteLiteral(schema) + ` AND table_name = 'intake_checkpoint'
	AND column_name = 'pending') THEN
	ALTER TABLE ` + q + `.intake_checkpoint ADD COLUMN IF NOT EXISTS pending bigint[];
END IF;`),
		`CREATE TABLE IF NOT EXISTS ` + q + `.intake_audit (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time      timestamptz NOT NULL,
	object    text NOT NULL,
	record_id text NOT NULL,
	action    text NOT NULL,
	reason    text NOT NULL,
	actor     text NOT NULL DEFAULT '',
	job       text NOT NULL DEFAULT '',
	run_id    text NOT NULL DEFAULT '',
	line      bigint NOT NULL DEFAULT 0,
	field         text NOT NULL DEFAULT '',
	target_object text NOT NULL DEFAULT '',
	target_id     text NOT NULL DEFAULT ''
)`,
		pgDo(`IF (SELECT count(*) FROM information_schema.columns WHERE table_schema = ` + sqltable.QuoteLiteral(schema) + ` AND table_name = 'intake_audit'
	AND column_name IN ('field', 'target_object', 'target_id')) < 3 THEN
	ALTER TABLE ` + q + `.intake_audit ADD COLUMN IF NOT EXISTS field text NOT NULL DEFAULT '',
		ADD COLUMN IF NOT EXISTS target_object text NOT NULL DEFAULT '',
		ADD COLUMN IF NOT EXISTS target_id text NOT NULL DEFAULT '';
END IF;`),
		pgDo(`IF NOT EXISTS (SELECT FROM pg_indexes WHERE schemaname = ` + sqltable.QuoteLiteral(schema) + ` AND indexname = 'intake_audit_record') THEN
	CREATE INDEX IF NOT EXISTS intake_audit_record ON ` + q + `.intake_audit (object, record_id);
END IF;`),
		`CREATE TABLE IF NOT EXISTS ` + q + `.intake_sequences (
	name text PRIMARY KEY,
	next bigint NOT NULL
)`,
		`CREATE TABLE IF NOT EXISTS ` + q + `.intake_writes (
	object text NOT NULL,
	xact   xid8 NOT NULL,
	PRIMARY KEY (object, xact)
)`,
		`CREATE TABLE IF NOT EXISTS ` + q + `.intake_write_horizon (
	object text PRIMARY KEY,
	xact   xid8 NOT NULL
)`,
		pgDo(`IF to_regprocedure(` + sqltable.QuoteLiteral(schema+".intake_log_write()") + `) IS NULL THEN
	CREATE FUNCTION ` + q + `.intake_log_write() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
	BEGIN
		INSERT INTO ` + q + `.intake_writes (object, xact) VALUES (TG_ARGV[0], pg_current_xact_id()) ON CONFLICT DO NOTHING;
		RETURN NULL;
	END
	$f$;
END IF;`),
		`CREATE TABLE IF NOT EXISTS ` + q + `.intake_undo_runs (
	run_id    text PRIMARY KEY,
	job       text NOT NULL DEFAULT '',
	state     text NOT NULL,
	reason    text NOT NULL DEFAULT '',
	started   timestamptz NOT NULL,
	expired   timestamptz,
	undone_by text NOT NULL DEFAULT '',
	last_seq  bigint NOT NULL,
	objects   text[] NOT NULL DEFAULT '{}'
)`,
		`CREATE TABLE IF NOT EXISTS ` + q + `.intake_undo (
	run_id text NOT NULL,
	seq    bigint NOT NULL,
	time   timestamptz NOT NULL,
	data   bytea NOT NULL,
	PRIMARY KEY (run_id, seq)
)`,
		pgDo(`IF (SELECT attstorage FROM pg_attribute WHERE attrelid = ` + sqltable.QuoteLiteral(schema+".intake_undo") + `::regclass AND attname = 'data') <> 'e' THEN
	ALTER TABLE ` + q + `.intake_undo ALTER COLUMN data SET STORAGE EXTERNAL;
END IF;`),
		pgDo(dropSeqBody(schema)),
		pgDo(logWritesBody(schema)),
	}
}

// logWritesBody is the PL/pgSQL block that gives each object table of
// schema without it the trigger intake_log_write (see logTriggerSQL).
func logWritesBody(schema string) string {
	lit := sqltable.QuoteLiteral(schema)
	return `DECLARE
	r record;
BEGIN
	FOR r IN SELECT c.relname, s.object FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN ` + sqltable.QuoteIdent(schema) + `.intake_schema s ON c.relname = 'intake_' || s.object
		WHERE n.nspname = ` + lit + ` AND c.relkind = 'r'
			AND NOT EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'intake_log_write')
		ORDER BY c.relname
	LOOP
		EXECUTE format('CREATE TRIGGER intake_log_write AFTER INSERT OR UPDATE ON %I.%I FOR EACH STATEMENT EXECUTE FUNCTION %I.intake_log_write(%L)',
			` + lit + `, r.relname, ` + lit + `, r.object);
		EXECUTE format('ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER intake_log_write', ` + lit + `, r.relname);
		INSERT INTO ` + sqltable.QuoteIdent(schema) + `.intake_write_horizon (object, xact) VALUES (r.object, pg_current_xact_id())
			ON CONFLICT (object) DO UPDATE SET xact = EXCLUDED.xact;
	END LOOP;
END;`
}

// logTriggerSQL returns the statement that gives t, Intake's own table,
// the trigger that logs each transaction writing it in intake_writes, and
// sets the table's horizon in intake_write_horizon to the transaction
// that adds it — when the schema has the function of [Migrations] and the
// table lacks the trigger. The guard of Op.Unique reads the log (see
// pgMemo).
func (t *pgTable) logTriggerSQL(schema string) string {
	q := sqltable.QuoteIdent(schema)
	return pgDo(`IF to_regprocedure(` + sqltable.QuoteLiteral(schema+".intake_log_write()") + `) IS NOT NULL
	AND to_regclass(` + sqltable.QuoteLiteral(schema+".intake_write_horizon") + `) IS NOT NULL
	AND NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = ` + sqltable.QuoteLiteral(t.name) + `::regclass AND tgname = 'intake_log_write') THEN
	CREATE TRIGGER intake_log_write AFTER INSERT OR UPDATE ON ` + t.name + ` FOR EACH STATEMENT EXECUTE FUNCTION ` + q + `.intake_log_write(` + sqltable.QuoteLiteral(t.object) + `);
	ALTER TABLE ` + t.name + ` ENABLE ALWAYS TRIGGER intake_log_write;
	INSERT INTO ` + q + `.intake_write_horizon (object, xact) VALUES (` + sqltable.QuoteLiteral(t.object) + `, pg_current_xact_id())
		ON CONFLICT (object) DO UPDATE SET xact = EXCLUDED.xact;
END IF;`)
}

// dropSeqBody is the PL/pgSQL block of the migration that brings the
// object tables of schema created with a seq column (an identity column
// that was their primary key, beside a UNIQUE constraint on id) to the
// current layout: for each table intake_<object> of an object in
// intake_schema that still has the identity column seq, one ALTER TABLE
// drops seq (a change of the catalog: the rows stay where they are) with
// its index and the UNIQUE constraint, and a second one makes id the
// primary key with the "C" collation, which builds the id's index again.
// A table without seq is left alone, and so is one another object (a
// host's view, say) depends on: a failure there (DROP COLUMN refuses
// while something depends on the column) leaves it as it was, with a
// warning, and rolls back nothing else. Sink writes and reads work on both
// layouts.
func dropSeqBody(schema string) string {
	lit := sqltable.QuoteLiteral(schema)
	return `DECLARE
	r record;
BEGIN
	FOR r IN SELECT c.oid, c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN ` + sqltable.QuoteIdent(schema) + `.intake_schema s ON c.relname = 'intake_' || s.object
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'seq' AND NOT a.attisdropped AND a.attidentity <> ''
		WHERE n.nspname = ` + lit + ` AND c.relkind = 'r'
		ORDER BY c.relname
	LOOP
		BEGIN
			EXECUTE (SELECT format('ALTER TABLE %I.%I DROP COLUMN seq', ` + lit + `, r.relname) ||
				coalesce(string_agg(format(', DROP CONSTRAINT %I', k.conname), ''), '')
				FROM pg_constraint k JOIN pg_attribute i ON i.attrelid = r.oid AND i.attname = 'id'
				WHERE k.conrelid = r.oid AND k.contype = 'u' AND k.conkey = ARRAY[i.attnum]);
			EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN id TYPE text COLLATE "C", ADD PRIMARY KEY (id)', ` + lit + `, r.relname);
		EXCEPTION WHEN dependent_objects_still_exist OR invalid_table_definition THEN
			RAISE WARNING 'intake: table %.% keeps its seq column: %', ` + lit + `, r.relname, SQLERRM;
		END;
	END LOOP;
END;`
}

// pgDo returns a DO block that runs the PL/pgSQL statements body. The
// migrations guard their ALTER TABLE and CREATE INDEX with one: both take
// a lock on the table (ACCESS EXCLUSIVE, SHARE) before they find that
// their IF NOT EXISTS holds, so they would wait for every transaction
// that reads or writes the table, and queue the later ones behind them.
func pgDo(body string) string {
	tag := "$do$"
	for n := 2; strings.Contains(body, tag); n++ {
		tag = "$do" + strconv.Itoa(n) + "$"
	}
	return "DO " + tag + "\nBEGIN\n\t" + strings.ReplaceAll(body, "\n", "\n\t") + "\nEND\n" + tag
}

// ObjectMigration returns the SQL statements that create the table
// of s's object type in schema ("" is "public") as [Store.EnsureSchema]
// would, and register it in intake_schema, with the key columns of keys
// (indexed). They are idempotent for a table that does not exist yet or
// has exactly these columns; they also add the inactive column to a table
// that lacks it (as the sink does on first use). Run
// [Migrations] first. A record-id key (KeySpec.RecordID) has no
// key column and is refused.
func ObjectMigration(schema string, s *intake.Schema, keys ...intake.KeySpec) ([]string, error) {
	if schema == "" {
		schema = "public"
	}
	if s == nil {
		return nil, errors.New("postgres: postgres.ObjectMigration: nil schema")
	}
	t, err := newPgTable(schema, s.Object(), pgColsOf(s.Fields()), nil, "inactive", 1)
	if err != nil {
		return nil, err
	}
	for _, spec := range keys {
		if err := ops.CheckLookupSpec(spec); err != nil {
			return nil, err
		}
		plan, err := s.CompileKey(spec)
		if err != nil {
			return nil, err
		}
		t.keys = append(t.keys, newPgKey(spec, t.newKeyColumn(spec), plan))
	}
	stmts := []string{t.createSQL()}
	for _, k := range t.keys {
		stmts = append(stmts, t.indexSQL(k.Column))
	}
	stmts = append(stmts, t.addInactiveSQL("inactive"), t.logTriggerSQL(schema))
	js, err := json.Marshal(t.stored())
	if err != nil {
		return nil, err
	}
	stmts = append(stmts, `INSERT INTO `+sqltable.QuoteIdent(schema)+`.intake_schema (object, version, schema) VALUES (`+
		sqltable.QuoteLiteral(s.Object())+`, 1, `+sqltable.QuoteLiteral(string(js))+`) ON CONFLICT (object) DO NOTHING`)
	return stmts, nil
}

// New returns a sink over pool, which the host keeps owning:
// [Store.Close] leaves it open. Unless cfg.SkipMigrations is set it runs
// [Migrations]; it then reads the stored schemas.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: postgres.New: nil *pgxpool.Pool: open one with pgxpool.New(ctx, \"postgres://…\")")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	q := sqltable.QuoteIdent(cfg.Schema)
	p := &Store{pool: pool, cfg: cfg, schemaTable: q + ".intake_schema", cpTable: q + ".intake_checkpoint",
		auditTable: q + ".intake_audit", seqTable: q + ".intake_sequences",
		runsTable: q + ".intake_undo_runs", undoTable: q + ".intake_undo",
		tables: map[string]*pgTable{}, views: map[*intake.Schema]*pgView{}, host: map[string]map[string]pgHostCol{},
		growth: map[string]*pgGrowth{}}
	if !cfg.SkipMigrations {
		if err := p.migrate(ctx); err != nil {
			return nil, err
		}
	}
	for object, m := range cfg.Tables {
		var cols map[string]pgHostCol
		err := p.read(ctx, func() (err error) {
			cols, err = p.inspect(ctx, pool, m)
			return err
		})
		if err != nil {
			return nil, err
		}
		// Checked now, not with the fields: a mapping gaining it later
		// still has its schema stored.
		if c, ok := cols[m.InactiveColumn]; m.InactiveColumn != "" && (!ok || c.typ != "boolean") {
			return nil, fmt.Errorf("postgres: TableMapping of %q: InactiveColumn %q is not a boolean column of table %s", object, m.InactiveColumn, m.Table)
		}
		p.host[object] = cols
	}
	err := p.read(ctx, func() error {
		return pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL`,
			cfg.Schema+".intake_writes", cfg.Schema+".intake_write_horizon").Scan(&p.logging)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := p.load(ctx, nil); err != nil {
		if cfg.SkipMigrations {
			return nil, fmt.Errorf("%w (postgres.Config.SkipMigrations is set: run postgres.Migrations first)", err)
		}
		return nil, err
	}
	return p, nil
}

// migrate runs Migrations in one transaction, under an advisory
// lock, so that processes starting together do not race.
func (p *Store) migrate(ctx context.Context) error {
	tx, err := p.begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "intake:migrate:"+p.cfg.Schema); err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	for _, q := range Migrations(p.cfg.Schema) {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("postgres: migrations: %s: %w", firstLine(q), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	return nil
}

// firstLine returns the first line of the statement s, or of a DO block's
// ALTER or CREATE statement.
func firstLine(s string) string {
	if strings.HasPrefix(s, "DO ") {
		for l := range strings.Lines(s) {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "ALTER ") || strings.HasPrefix(l, "CREATE ") {
				return strings.TrimSuffix(l, ";")
			}
		}
	}
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// load reads the stored schemas of objects (all when nil) into p.tables.
func (p *Store) load(ctx context.Context, objects []string) error {
	var loaded map[string]*pgTable
	err := p.read(ctx, func() error {
		var rows pgx.Rows
		var err error
		if objects == nil {
			rows, err = p.pool.Query(ctx, `SELECT object, version, schema FROM `+p.schemaTable)
		} else {
			rows, err = p.pool.Query(ctx, `SELECT object, version, schema FROM `+p.schemaTable+` WHERE object = ANY($1)`, objects)
		}
		if err != nil {
			return fmt.Errorf("postgres: read intake_schema: %w", err)
		}
		defer rows.Close()
		loaded = map[string]*pgTable{}
		for rows.Next() {
			var object string
			var version int64
			var js []byte
			if err := rows.Scan(&object, &version, &js); err != nil {
				return fmt.Errorf("postgres: read intake_schema: %w", err)
			}
			t, err := p.tableFromJSON(object, version, js)
			if err != nil {
				return err
			}
			loaded[object] = t
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: read intake_schema: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for object, t := range loaded {
		p.replaceTable(object, t)
	}
	return nil
}

func (p *Store) tableFromJSON(object string, version int64, js []byte) (*pgTable, error) {
	var st pgStored
	if err := json.Unmarshal(js, &st); err != nil {
		return nil, fmt.Errorf("postgres: intake_schema row %q is not valid: %w", object, err)
	}
	t, err := newPgTable(p.cfg.Schema, object, st.Fields, st.Keys, st.Inactive, version)
	if err != nil {
		return nil, fmt.Errorf("postgres: intake_schema row %q: %w", object, err)
	}
	if m, ok := p.cfg.Tables[object]; ok {
		t.applyMapping(m, p.host[object])
	}
	return t, nil
}

// Pool returns the pool the sink uses.
func (p *Store) Pool() *pgxpool.Pool { return p.pool }

// Close releases nothing but the sink's caches; the pool stays open (the
// host owns it).
func (p *Store) Close() error {
	p.mu.Lock()
	clear(p.views)
	p.mu.Unlock()
	return nil
}

// Concurrent reports true: Lookup, Get, Scan and Count run on their own
// connections of the pool beside a Write.
func (p *Store) Concurrent() bool { return true }

// BatchSize reports 10,000 (see [sink.BatchSizer]): a batch costs a lookup,
// a transaction with a few round trips and a commit that waits for the
// WAL flush whatever its size, which with batches of 1,000 took about a
// third of an import of small rows into an empty table.
func (p *Store) BatchSize() int { return 10_000 }

// replaceTable installs a new snapshot and drops the views of the old one.
func (p *Store) replaceTable(object string, t *pgTable) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tables[object] = t
	for sch, v := range p.views {
		if v.t.object == object {
			delete(p.views, sch)
		}
	}
}

// pgTable is an immutable snapshot of one object type's table.
type pgTable struct {
	object  string
	name    string // schema-qualified, quoted
	version int64  // intake_schema.version it was read or written with
	cols    []sqltable.Col
	store   *intake.Schema
	keys    []*pgKey

	// Column names; a TableMapping changes them.
	idCol, optedCol, createdCol, updatedCol string // quoted; optedCol may be ""
	inactiveCol                             string // quoted; "" for a host table without one
	idType                                  string // SQL type of idCol ("text")
	orderBy                                 string // Scan's and Lookup's order: "id", or a host's order column and id
	jsonCol                                 string // quoted JSONB column of fields without a column, or ""
	inJSON                                  []bool // per col: kept in jsonCol
	genKey                                  []bool // per key: a host's generated column, read only
	host                                    bool   // a host table: Intake never alters it
	hostCols                                map[string]pgHostCol

	// inactive is the column of the inactive flag of Intake's own table:
	// "inactive", or "inactive_flag" when a field of a table an earlier
	// version created has the column inactive; "" in such a table until
	// ensureLocked adds it, and in a host table.
	inactive string
}

// pgView is a schema's view of a table: plan[i] is the column of field i.
type pgView struct {
	t    *pgTable
	plan []int
}

// pgKey is a key column of a table: the spec whose keys it holds, options
// included, and its name. Its JSON in intake_schema is {"fields": […],
// "column": …} with the options when set, so that schemas stored before
// key options existed read as specs without options.
type pgKey struct {
	intake.KeySpec
	Column string `json:"column"`
	plan   *intake.KeyPlan
}

func newPgKey(spec intake.KeySpec, col string, plan *intake.KeyPlan) *pgKey {
	spec.Fields = append([]string(nil), spec.Fields...)
	return &pgKey{KeySpec: spec, Column: col, plan: plan}
}

// pgStored is the JSON of an object in intake_schema.schema.
type pgStored struct {
	Object string         `json:"object"`
	Fields []sqltable.Col `json:"fields"`
	Keys   []*pgKey       `json:"keys,omitempty"`
	// Inactive is the column of the inactive flag, absent in the schemas
	// of tables created before the flag existed (as in SQLite's).
	Inactive string `json:"inactive,omitempty"`
}

func pgColsOf(fields []intake.Field) []sqltable.Col {
	cols := make([]sqltable.Col, len(fields))
	for i, f := range fields {
		cols[i] = sqltable.Col{Field: f, Column: sqltable.FieldColumn(f.Name)}
	}
	return cols
}

func newPgTable(schema, object string, cols []sqltable.Col, keys []*pgKey, inactive string, version int64) (*pgTable, error) {
	cols = append([]sqltable.Col(nil), cols...) // a snapshot shares nothing it may change
	fields := make([]intake.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.Field
	}
	store, err := intake.NewSchema(object, fields...)
	if err != nil {
		return nil, err
	}
	t := &pgTable{object: object, name: sqltable.QuoteIdent(schema) + "." + sqltable.QuoteIdent("intake_"+object), version: version, cols: cols, store: store,
		idCol: "id", optedCol: "opted_out", createdCol: "created_at", updatedCol: "updated_at",
		inactive: inactive, idType: "text", orderBy: "id", inJSON: make([]bool, len(cols))}
	if inactive != "" {
		t.inactiveCol = sqltable.QuoteIdent(inactive)
	}
	for _, k := range keys {
		plan, err := store.CompileKey(k.KeySpec)
		if err != nil {
			return nil, err
		}
		t.keys = append(t.keys, newPgKey(k.KeySpec, k.Column, plan))
	}
	return t, nil
}

// key returns the key column of spec (the same fields and options), or
// nil.
func (t *pgTable) key(spec intake.KeySpec) *pgKey {
	for _, k := range t.keys {
		if k.Equal(spec) {
			return k
		}
	}
	return nil
}

// pgSpecUses reports whether the keys of spec depend on one of the
// fields: its own, or, for an MD5 key, the F_md5 field it falls back on.
func pgSpecUses(spec intake.KeySpec, fields []string) bool {
	if spec.MD5 && len(spec.Fields) == 1 && slices.Contains(fields, spec.Fields[0]+"_md5") {
		return true
	}
	return storeschema.SpecUses(spec, fields)
}

// needsUpgrade reports whether t is Intake's own table without the
// inactive column, which ensureLocked adds before use.
func (t *pgTable) needsUpgrade() bool { return !t.host && t.inactive == "" }

// addInactiveSQL adds the inactive column col to t, Intake's own table,
// when the table lacks it.
func (t *pgTable) addInactiveSQL(col string) string {
	return "ALTER TABLE " + t.name + " ADD COLUMN IF NOT EXISTS " + sqltable.QuoteIdent(col) + " boolean NOT NULL DEFAULT false"
}

// newInactiveColumn returns the column for the inactive flag of t, a
// table without one: "inactive", unless a field has that
// column, then "inactive_flag" (with a numeric suffix if that is taken
// too).
func (t *pgTable) newInactiveColumn() string {
	taken := func(col string) bool {
		return slices.ContainsFunc(t.cols, func(c sqltable.Col) bool { return c.Column == col }) ||
			slices.ContainsFunc(t.keys, func(k *pgKey) bool { return k.Column == col })
	}
	col := "inactive"
	for n := 1; taken(col); n++ {
		col = "inactive_flag"
		if n > 1 {
			col += "_" + strconv.Itoa(n)
		}
	}
	return col
}

// newKeyColumn is as sqlTable.newKeyColumn.
func (t *pgTable) newKeyColumn(spec intake.KeySpec) string {
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
		col = fmt.Sprintf("%s_%d", base, n)
	}
}

func (t *pgTable) stored() pgStored {
	return pgStored{Object: t.object, Fields: t.cols, Keys: t.keys, Inactive: t.inactive}
}

func pgType(ft intake.FieldType) string {
	switch ft.Kind() {
	case intake.KindBool:
		return "boolean"
	case intake.KindDecimal:
		return "numeric"
	case intake.KindDate:
		return "date"
	case intake.KindTime:
		return "time"
	case intake.KindTimestamp:
		return "timestamptz"
	case intake.KindList:
		return "text[]"
	}
	return "text"
}

func (t *pgTable) createSQL() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + t.name + " (\n\tid text COLLATE \"C\" PRIMARY KEY,\n\topted_out boolean NOT NULL DEFAULT false,\n\tinactive boolean NOT NULL DEFAULT false,\n\tcreated_at timestamptz NOT NULL,\n\tupdated_at timestamptz NOT NULL")
	for _, c := range t.cols {
		b.WriteString(",\n\t" + sqltable.QuoteIdent(c.Column) + " " + pgType(c.Type))
	}
	for _, k := range t.keys {
		b.WriteString(",\n\t" + sqltable.QuoteIdent(k.Column) + " " + pgKeyType)
	}
	b.WriteString("\n)")
	return b.String()
}

// pgKeyType is the type of a key column of Intake's own table: text in
// the "C" collation, which compares bytes, as the keys are compared.
// Lookups only test equality, which is byte equality under any
// deterministic collation; "C" spares the index the locale's rules on
// every insert.
const pgKeyType = `text COLLATE "C"`

func (t *pgTable) indexSQL(col string) string {
	_, bare, _ := strings.Cut(t.name, ".")
	bare = strings.Trim(bare, `"`)
	return "CREATE INDEX IF NOT EXISTS " + sqltable.QuoteIdent(bare+"_"+col) + " ON " + t.name + " (" + sqltable.QuoteIdent(col) + ")"
}

// view returns the view of sch, ensuring its table when it is new; with
// spec it also makes sure the spec's key column exists.
func (p *Store) view(ctx context.Context, sch *intake.Schema, spec *intake.KeySpec) (*pgView, *pgKey, error) {
	if sch == nil {
		return nil, nil, errors.New("postgres: nil schema")
	}
	p.mu.RLock()
	v := p.views[sch]
	p.mu.RUnlock()
	if v != nil && spec == nil {
		return v, nil, nil
	}
	if v != nil {
		if k := v.t.key(*spec); k != nil {
			return v, k, nil
		}
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	v, err := p.ensureLocked(ctx, sch)
	if err != nil || spec == nil {
		return v, nil, err
	}
	if k := v.t.key(*spec); k != nil {
		return v, k, nil
	}
	if err := p.addKeyLocked(ctx, v.t, *spec); err != nil {
		return nil, nil, err
	}
	v, err = p.ensureLocked(ctx, sch)
	if err != nil {
		return nil, nil, err
	}
	k := v.t.key(*spec)
	if k == nil {
		return nil, nil, fmt.Errorf("postgres: key column of %s on %q vanished", spec.Name(), sch.Object())
	}
	return v, k, nil
}

// EnsureSchema creates the table of s's object type, or adds the columns of
// fields it does not have yet, and records the schema in intake_schema,
// in one transaction under an advisory lock (other processes may do the
// same at once). A field the table holds with values of another kind is an
// error wrapping [sink.ErrSchemaConflict]; see [SQLite.EnsureSchema] for type
// changes within a kind. Write, Lookup, Get and Scan call it implicitly for
// a schema they have not seen.
func (p *Store) EnsureSchema(ctx context.Context, sch *intake.Schema) error {
	if sch == nil {
		return errors.New("postgres: EnsureSchema: nil schema")
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err := p.ensureLocked(ctx, sch)
	return err
}

// ensureLocked returns the view of sch, creating or altering its table.
// The caller holds wmu.
func (p *Store) ensureLocked(ctx context.Context, sch *intake.Schema) (*pgView, error) {
	p.mu.RLock()
	v, t := p.views[sch], p.tables[sch.Object()]
	p.mu.RUnlock()
	if v != nil {
		return v, nil
	}
	if t == nil || !t.covers(sch) || t.needsUpgrade() {
		var err error
		if t, err = p.alter(ctx, sch, nil); err != nil {
			return nil, err
		}
	}
	v = &pgView{t: t, plan: make([]int, sch.Len())}
	for i := range v.plan {
		v.plan[i] = t.store.Index(sch.Field(i).Name)
	}
	p.mu.Lock()
	p.views[sch] = v
	p.mu.Unlock()
	return v, nil
}

// covers reports whether t holds every field of sch with the same type
// (and the Ref and Meta sch gives it).
func (t *pgTable) covers(sch *intake.Schema) bool {
	for i := range sch.Len() {
		f := sch.Field(i)
		j := t.store.Index(f.Name)
		if j < 0 {
			return false
		}
		if c := t.store.Field(j); c.Type != f.Type || storeschema.RefChanged(c, f) || storeschema.MetaChanged(c, f) {
			return false
		}
	}
	return true
}

// alter brings the table of sch's object up to sch and, with spec, adds
// the key column of spec, in one transaction that locks the object's
// intake_schema entry, so that it starts from what the database holds,
// not from this process's snapshot. It installs and returns the new
// snapshot.
func (p *Store) alter(ctx context.Context, sch *intake.Schema, spec *intake.KeySpec) (*pgTable, error) {
	object := sch.Object()
	m, mapped := p.cfg.Tables[object]
	if !mapped && len("intake_"+object) > 63 {
		return nil, fmt.Errorf("postgres: object type %q is too long for a table name (intake_<object> must fit in 63 bytes): use a shorter name", object)
	}
	tx, err := p.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: schema of %q: %w", object, err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit a no-op
	a := &pgAlter{p: p, tx: tx, object: object, m: m, mapped: mapped}
	if err := a.readStored(ctx); err != nil {
		return nil, err
	}
	if err := a.merge(sch); err != nil {
		return nil, err
	}
	if spec != nil && a.nt.key(*spec) == nil {
		if err := a.addKey(ctx, *spec); err != nil {
			return nil, err
		}
	}
	if err := a.save(ctx); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: schema of %q: %w", object, err)
	}
	if a.nt != a.old {
		p.cfg.Logger.Info("intake: PostgreSQL schema stored", "object", object, "table", a.nt.name, "fields", len(a.nt.cols), "keys", len(a.nt.keys))
	}
	p.replaceTable(object, a.nt)
	return a.nt, nil
}

// pgAlter is one change of an object type's table by alter: the table
// intake_schema holds, the new snapshot, and the DDL that brings the
// table to it. Its methods are alter's phases.
type pgAlter struct {
	p       *Store
	tx      pgx.Tx
	object  string
	m       sink.TableMapping // the object's host table, when mapped
	mapped  bool
	old     *pgTable // the table intake_schema holds; nil for a new object type
	version int64    // old's version; 0 without one
	nt      *pgTable // the new snapshot; old when nothing changes
	ddl     []string // statements still to run
	changed bool     // the stored schema changes
}

// readStored takes the object's schema lock and reads the table
// intake_schema holds for it.
func (a *pgAlter) readStored(ctx context.Context) error {
	if _, err := a.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "intake:schema:"+a.p.cfg.Schema+"."+a.object); err != nil {
		return fmt.Errorf("postgres: schema of %q: %w", a.object, err)
	}
	var js []byte
	err := a.tx.QueryRow(ctx, `SELECT version, schema FROM `+a.p.schemaTable+` WHERE object = $1 FOR UPDATE`, a.object).Scan(&a.version, &js)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("postgres: schema of %q: %w", a.object, err)
	}
	a.old, err = a.p.tableFromJSON(a.object, a.version, js)
	return err
}

// merge merges the fields of sch into the stored ones. When they change,
// the table is new or it needs the inactive column, it makes the new
// snapshot, which drops the key columns of retyped fields, and queues
// the DDL: the CREATE TABLE of Intake's own new table, or the columns it
// adds; a host table is checked against its mapping instead.
func (a *pgAlter) merge(sch *intake.Schema) error {
	var oldFields []intake.Field
	var oldCols []sqltable.Col
	var keys []*pgKey
	if a.old != nil {
		oldCols = a.old.cols
		for _, c := range a.old.cols {
			oldFields = append(oldFields, c.Field)
		}
		keys = a.old.keys
	}
	fields, changed, retyped, err := storeschema.Merge(oldFields, sch)
	if err != nil {
		return err
	}
	a.nt, a.changed = a.old, changed
	inactive, upgrade := a.inactiveColumn()
	if !changed && a.old != nil && !upgrade {
		return nil
	}
	cols := pgNewCols(fields, oldCols, inactive)
	var kept []*pgKey
	for _, k := range keys {
		if !pgSpecUses(k.KeySpec, retyped) {
			kept = append(kept, k)
		}
	}
	if a.nt, err = newPgTable(a.p.cfg.Schema, a.object, cols, kept, inactive, a.version+1); err != nil {
		return err
	}
	switch {
	case a.mapped:
		a.nt.applyMapping(a.m, a.p.host[a.object])
		return a.nt.checkHost(a.m)
	case a.old == nil:
		a.ddl = append(a.ddl, a.nt.createSQL(), a.nt.logTriggerSQL(a.p.cfg.Schema))
	default:
		for _, c := range cols[len(oldCols):] {
			a.ddl = append(a.ddl, "ALTER TABLE "+a.nt.name+" ADD COLUMN IF NOT EXISTS "+sqltable.QuoteIdent(c.Column)+" "+pgType(c.Type))
		}
	}
	return nil
}

// inactiveColumn returns the column of the inactive flag of the new
// snapshot ("" for a host table), and whether the table is one an earlier
// version created, which gets the column now: it queues its DDL.
func (a *pgAlter) inactiveColumn() (col string, upgrade bool) {
	switch {
	case a.old != nil && a.old.needsUpgrade() && !a.mapped:
		col = a.old.newInactiveColumn()
		a.ddl = append(a.ddl, a.old.addInactiveSQL(col))
		return col, true
	case a.mapped:
		return "", false
	case a.old != nil:
		return a.old.inactive, false
	}
	return "inactive", false
}

// pgNewCols returns the columns of fields: a stored field keeps its
// column, a new one takes the column of its name, but, as in SQLite,
// never the inactive flag's (inactive_flag on a table upgraded from
// before the flag).
func pgNewCols(fields []intake.Field, oldCols []sqltable.Col, inactive string) []sqltable.Col {
	cols := make([]sqltable.Col, len(fields))
	for i, f := range fields {
		if i < len(oldCols) {
			cols[i] = sqltable.Col{Field: f, Column: oldCols[i].Column}
			continue
		}
		col := sqltable.FieldColumn(f.Name)
		if inactive != "" && col == inactive {
			col = "f_" + f.Name
		}
		cols[i] = sqltable.Col{Field: f, Column: col}
	}
	return cols
}

// addKey adds the key column of spec to the new snapshot: it runs the DDL
// queued so far, then adds, indexes and fills the column (see fillKey).
func (a *pgAlter) addKey(ctx context.Context, spec intake.KeySpec) error {
	plan, err := a.nt.store.CompileKey(spec)
	if err != nil {
		return err
	}
	col, err := a.keyColumn(spec)
	if err != nil {
		return err
	}
	keys := append(append([]*pgKey(nil), a.nt.keys...), newPgKey(spec, col, plan))
	nt, err := newPgTable(a.p.cfg.Schema, a.object, a.nt.cols, keys, a.nt.inactive, a.version+1)
	if err != nil {
		return err
	}
	if a.mapped {
		nt.applyMapping(a.m, a.p.host[a.object])
	}
	if err := a.runDDL(ctx); err != nil {
		return err
	}
	if err := a.p.fillKey(ctx, a.tx, nt, nt.keys[len(nt.keys)-1]); err != nil {
		return err
	}
	a.nt, a.changed = nt, true
	return nil
}

// keyColumn returns the column of spec's keys: a new one in Intake's own
// table, the one TableMapping.KeyColumns names in a host table.
func (a *pgAlter) keyColumn(spec intake.KeySpec) (string, error) {
	if !a.mapped {
		return a.nt.newKeyColumn(spec), nil
	}
	col := a.m.KeyColumns[spec.Name()]
	if col == "" {
		return "", fmt.Errorf("postgres: Lookup by %s in %s: TableMapping.KeyColumns has no column for %q: add a text column holding the normalized key (or a generated one) and map it", spec.Name(), a.m.Table, spec.Name())
	}
	if _, ok := a.p.host[a.object][col]; !ok {
		return "", fmt.Errorf("postgres: TableMapping of %q: key column %q is not in table %s", a.object, col, a.m.Table)
	}
	return col, nil
}

// runDDL runs the DDL queued so far.
func (a *pgAlter) runDDL(ctx context.Context) error {
	for _, q := range a.ddl {
		if _, err := a.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("postgres: schema of %q: %w", a.object, err)
		}
	}
	a.ddl = nil
	return nil
}

// save runs the DDL still queued and, when the schema changed, stores the
// new snapshot in intake_schema.
func (a *pgAlter) save(ctx context.Context) error {
	if err := a.runDDL(ctx); err != nil {
		return err
	}
	if a.nt == a.old && !a.changed {
		return nil
	}
	js, err := json.Marshal(a.nt.stored())
	if err != nil {
		return err
	}
	if _, err := a.tx.Exec(ctx, `INSERT INTO `+a.p.schemaTable+` (object, version, schema) VALUES ($1, $2, $3)
ON CONFLICT (object) DO UPDATE SET version = EXCLUDED.version, schema = EXCLUDED.schema`, a.object, a.nt.version, js); err != nil {
		return fmt.Errorf("postgres: store schema of %q: %w", a.object, err)
	}
	return nil
}

// addKeyLocked adds the key column of spec to t's object. The caller holds
// wmu.
func (p *Store) addKeyLocked(ctx context.Context, t *pgTable, spec intake.KeySpec) error {
	if _, err := t.store.CompileKey(spec); err != nil {
		return err
	}
	_, err := p.alter(ctx, t.store, &spec)
	return err
}

// fillKey adds key column k to t (unless it exists, from an earlier use
// that a type change invalidated), indexes it and sets it for every stored
// row: the rows are read, their keys computed in Go and streamed back with
// COPY into a temporary table, applied with one UPDATE.
func (p *Store) fillKey(ctx context.Context, tx pgx.Tx, t *pgTable, k *pgKey) error {
	start := time.Now()
	if t.host && t.hostCols[k.Column].generated {
		return nil // the table computes it
	}
	if !t.host {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+t.name+" ADD COLUMN IF NOT EXISTS "+sqltable.QuoteIdent(k.Column)+" "+pgKeyType); err != nil {
			return fmt.Errorf("postgres: add key column %s: %w", k.Column, err)
		}
		if _, err := tx.Exec(ctx, t.indexSQL(k.Column)); err != nil {
			return fmt.Errorf("postgres: index key column %s: %w", k.Column, err)
		}
	}
	rows, err := tx.Query(ctx, "SELECT "+t.selectList()+" FROM "+t.name)
	if err != nil {
		return fmt.Errorf("postgres: fill key column %s: %w", k.Column, err)
	}
	sc := newPgScanner(t)
	rec := intake.Record{Schema: t.store, Values: make([]intake.Value, len(t.cols))}
	var fill [][]any
	for rows.Next() {
		if err := sc.scan(rows, &rec); err != nil {
			rows.Close()
			return err
		}
		key, _ := k.plan.Key(&rec)
		fill = append(fill, []any{rec.ID, sqltable.KeyArg(key)})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: fill key column %s: %w", k.Column, err)
	}
	if len(fill) > 0 {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE intake_fill (id text, k text) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"intake_fill"}, []string{"id", "k"}, pgx.CopyFromRows(fill)); err != nil {
			return fmt.Errorf("postgres: fill key column %s: %w", k.Column, err)
		}
		col := sqltable.QuoteIdent(k.Column)
		if _, err := tx.Exec(ctx, "UPDATE "+t.name+" AS t SET "+col+" = f.k FROM intake_fill f WHERE t."+t.idCol+" = f.id::"+t.idType+" AND t."+col+" IS DISTINCT FROM f.k"); err != nil {
			return fmt.Errorf("postgres: fill key column %s: %w", k.Column, err)
		}
		if _, err := tx.Exec(ctx, `DROP TABLE intake_fill`); err != nil {
			return err
		}
	}
	p.cfg.Logger.Info("intake: PostgreSQL key column filled", "object", t.object, "column", k.Column, "records", len(fill), "took", time.Since(start))
	return nil
}

// selectList is "id, opted_out, inactive, <cols>" of t (a flag as false
// when the table has no column for it; fields kept in the JSONB column as
// its members).
func (t *pgTable) selectList() string {
	var b strings.Builder
	b.WriteString(t.idCol)
	if t.host {
		b.WriteString("::text")
	}
	for _, col := range []string{t.optedCol, t.inactiveCol} {
		switch {
		case col == "":
			b.WriteString(", false")
		case t.host: // a host's column may be nullable
			b.WriteString(", coalesce(" + col + ", false)")
		default:
			b.WriteString(", " + col)
		}
	}
	for j, c := range t.cols {
		b.WriteString(", ")
		switch {
		case t.inJSON[j]:
			b.WriteString(t.jsonExpr(j))
		case t.host:
			b.WriteString(sqltable.QuoteIdent(c.Column) + "::" + pgType(c.Type))
		default:
			b.WriteString(sqltable.QuoteIdent(c.Column))
		}
	}
	return b.String()
}

// Schema returns the schema the store holds for object, as intake_schema
// has it now (another process may have added fields), or nil when it
// never saw that object type. It implements [sink.SchemaReader].
func (p *Store) Schema(ctx context.Context, object string) (*intake.Schema, error) {
	var version int64
	var js []byte
	err := p.read(ctx, func() error {
		return p.pool.QueryRow(ctx, `SELECT version, schema FROM `+p.schemaTable+` WHERE object = $1`, object).Scan(&version, &js)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read intake_schema: %w", err)
	}
	p.mu.RLock()
	t := p.tables[object]
	p.mu.RUnlock()
	if t != nil && t.version == version {
		return t.store, nil
	}
	t, err = p.tableFromJSON(object, version, js)
	if err != nil {
		return nil, err
	}
	return t.store, nil
}

// GuardsKeys reports true: the PostgreSQL sink applies [sink.Op.Unique] under
// advisory transaction locks on the keys it checks (see [Store]).
func (p *Store) GuardsKeys() bool { return true }

// Resubscribes reports true: an update with [sink.Op.OptIn] clears the
// record's opted-out flag (its OptedOutColumn in a host table) in the
// batch's transaction.
func (p *Store) Resubscribes() bool { return true }
