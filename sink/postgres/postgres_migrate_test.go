package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// oldSchema is the object type of the tables oldStore builds.
func oldSchema(object string) *intake.Schema {
	return intake.MustSchema(object, intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "name", Type: intake.TypeText})
}

// oldStore builds, in schema, a store as earlier versions left it: the
// tables of objects with a seq identity column as primary key and a
// UNIQUE id, an email key column, three records created in an order
// their ids do not sort in, a reserved sequence and a checkpoint.
func oldStore(t *testing.T, pool *pgxpool.Pool, schema string, objects ...string) {
	t.Helper()
	ctx := context.Background()
	stmts := append(postgres.Migrations(schema),
		`INSERT INTO `+schema+`.intake_sequences (name, next) VALUES ('record_id', 101)`,
		`INSERT INTO `+schema+`.intake_checkpoint (run_id, source, last_line, batches, updated_at) VALUES ('run-1', 'a.csv', 300, 3, now())`)
	for _, o := range objects {
		tab := schema + ".intake_" + o
		stmts = append(stmts,
			`CREATE TABLE `+tab+` (
	seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id text NOT NULL UNIQUE,
	opted_out boolean NOT NULL DEFAULT false,
	inactive boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	"email" text,
	"name" text,
	"k_email" text
)`,
			`CREATE INDEX IF NOT EXISTS "intake_`+o+`_k_email" ON `+tab+` ("k_email")`,
			`INSERT INTO `+tab+` (id, email, name, k_email, created_at, updated_at) VALUES
	('r3', 'C@example.com', 'Cem', 'c@example.com', now(), now()),
	('r1', 'a@example.com', 'Anna', 'a@example.com', now(), now()),
	('r2', 'b@example.com', 'Ben', 'b@example.com', now(), now())`,
			`INSERT INTO `+schema+`.intake_schema (object, version, schema) VALUES ('`+o+`', 2, '{"object":"`+o+`","fields":[{"name":"email","type":"email","column":"email"},{"name":"name","type":"text","column":"name"}],"keys":[{"fields":["email"],"column":"k_email"}],"inactive":"inactive"}')`)
	}
	for _, q := range stmts {
		_, err := pool.Exec(ctx, q)
		require.NoError(t, err, q)
	}
}

// hasSeq reports whether the table intake_<object> of schema has the seq
// column, and whether its id is its primary key in the "C" collation.
func hasSeq(t *testing.T, pool *pgxpool.Pool, schema, object string) (seq, idKey bool) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = 'seq')`,
		schema, "intake_"+object).Scan(&seq))
	require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indnatts = 1 AND a.attname = 'id' AND a.attcollation = 'pg_catalog."C"'::regcollation)`,
		schema+".intake_"+object).Scan(&idKey))
	return seq, idKey
}

// requireIntact checks that the records, keys, sequence and checkpoint of
// oldStore are all there in object's table, found in id order, and that
// the table takes creates and refuses a taken id.
func requireIntact(t *testing.T, pg *postgres.Store, object string) {
	t.Helper()
	ctx := context.Background()
	s := oldSchema(object)
	res, err := pg.Lookup(ctx, s, intake.KeySpec{Fields: []string{"email"}}, []intake.Key{"a@example.com", "c@example.com", "x@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"r1"}, "c@example.com": {"r3"}}, res)
	got, err := pg.Get(ctx, s, []string{"r2"})
	require.NoError(t, err)
	require.Equal(t, "Ben", got["r2"].Get("name").Str())
	var ids []string
	require.NoError(t, pg.Scan(ctx, s, func(r *intake.Record) error { ids = append(ids, r.ID); return nil }))
	require.Equal(t, []string{"r1", "r2", "r3"}, ids, "Scan pages by id")

	rec := intake.NewRecord(s)
	rec.ID = "r0"
	rec.Set("email", intake.Text("d@example.com"))
	n, err := pg.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: rec}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	taken := rec.Clone()
	taken.ID = "r2"
	_, err = pg.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: taken}})
	require.ErrorIs(t, err, sink.ErrDuplicateID)
	var re *sink.RecordError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "r2", re.ID)
	ids = ids[:0]
	require.NoError(t, pg.Scan(ctx, s, func(r *intake.Record) error { ids = append(ids, r.ID); return nil }))
	require.Equal(t, []string{"r0", "r1", "r2", "r3"}, ids)
}

// TestPostgresMigratesSeqTables opens a store built by an earlier version:
// New drops the seq columns and makes id the primary key, and records,
// keys, sequences and checkpoints are intact. A table whose seq a host's
// view needs keeps it, and works as it is.
func TestPostgresMigratesSeqTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	oldStore(t, pool, schema, "contact", "lead")
	_, err := pool.Exec(ctx, `CREATE VIEW `+schema+`.lead_order AS SELECT seq, id FROM `+schema+`.intake_lead`)
	require.NoError(t, err)

	pg := openPostgres(t, postgres.Config{Schema: schema})
	seq, idKey := hasSeq(t, pool, schema, "contact")
	require.False(t, seq, "seq is dropped")
	require.True(t, idKey, "id is the primary key")
	seq, idKey = hasSeq(t, pool, schema, "lead")
	require.True(t, seq, "a table a view needs seq of keeps it")
	require.False(t, idKey)
	var triggers int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $1
	JOIN `+schema+`.intake_write_horizon h ON 'intake_' || h.object = c.relname
	WHERE g.tgname = 'intake_log_write'`, schema).Scan(&triggers))
	require.Equal(t, 2, triggers, "both tables log their writes, with a horizon")
	for _, object := range []string{"contact", "lead"} {
		requireIntact(t, pg, object)
	}
	first, err := pg.Reserve(ctx, "record_id", 10)
	require.NoError(t, err)
	require.EqualValues(t, 101, first, "sequences are intact")
	cp, ok, err := pg.LastCheckpoint(ctx, "run-1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 300, cp.Line)

	// Opening again changes nothing; once the view is gone, the table
	// migrates too.
	openPostgres(t, postgres.Config{Schema: schema})
	_, err = pool.Exec(ctx, `DROP VIEW `+schema+`.lead_order`)
	require.NoError(t, err)
	pg = openPostgres(t, postgres.Config{Schema: schema})
	seq, idKey = hasSeq(t, pool, schema, "lead")
	require.False(t, seq)
	require.True(t, idKey)
	res, err := pg.Lookup(ctx, oldSchema("lead"), intake.KeySpec{Fields: []string{"email"}}, []intake.Key{"d@example.com", "b@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"d@example.com": {"r0"}, "b@example.com": {"r2"}}, res)
}

// TestPostgresMigrationKilled kills the server process of a New halfway
// through the migration — the first table altered, the second waiting for
// a lock — and opens the store again: nothing of the first attempt
// remains, and the second migrates both tables.
func TestPostgresMigrationKilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	oldStore(t, pool, schema, "contact", "lead")

	// Another transaction reads intake_lead: the migration's ALTER TABLE
	// of it waits, after that of intake_contact.
	reader, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer reader.Rollback(ctx) //nolint:errcheck // ended below
	_, err = reader.Exec(ctx, `SELECT count(*) FROM `+schema+`.intake_lead`)
	require.NoError(t, err)

	mpool := pgtest.NewPool(t, "")
	done := make(chan error, 1)
	go func() {
		_, err := postgres.New(ctx, mpool, postgres.Config{Schema: schema})
		done <- err
	}()
	var pid int32
	require.Eventually(t, func() bool {
		err := pool.QueryRow(ctx, `SELECT pid FROM pg_locks WHERE NOT granted AND relation = $1::regclass`, schema+".intake_lead").Scan(&pid)
		return err == nil
	}, 20*time.Second, 10*time.Millisecond, "the migration waits for intake_lead")
	// The migration holds intake_contact's new primary key by now.
	var killed bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&killed))
	require.True(t, killed)
	require.Error(t, <-done, "New fails when its connection dies")
	require.NoError(t, reader.Rollback(ctx))

	for _, object := range []string{"contact", "lead"} {
		seq, idKey := hasSeq(t, pool, schema, object)
		require.True(t, seq, "%s is as it was", object)
		require.False(t, idKey)
	}
	// A store left as it was opens without migrating, too (in a process
	// of its own: the statements it prepares are of the old tables).
	old, err := postgres.New(ctx, pgtest.NewPool(t, ""), postgres.Config{Schema: schema, SkipMigrations: true})
	require.NoError(t, err)
	res, err := old.Lookup(ctx, oldSchema("contact"), intake.KeySpec{Fields: []string{"email"}}, []intake.Key{"b@example.com"})
	require.NoError(t, err)
	require.Equal(t, []string{"r2"}, res["b@example.com"])

	pg := openPostgres(t, postgres.Config{Schema: schema})
	for _, object := range []string{"contact", "lead"} {
		seq, idKey := hasSeq(t, pool, schema, object)
		require.False(t, seq)
		require.True(t, idKey)
		requireIntact(t, pg, object)
	}
}

// TestPostgresReadsRowBytes reads rows the host's SQL wrote: values in
// range come back as written, an infinite date is an error naming it.
func TestPostgresReadsRowBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	pg := openPostgres(t, postgres.Config{Schema: schema})
	s := intake.MustSchema("contact", intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "born", Type: intake.TypeDate},
		intake.Field{Name: "seen", Type: intake.TypeTimestamp}, intake.Field{Name: "at", Type: intake.TypeTime}, intake.Field{Name: "ok", Type: intake.TypeBool})
	require.NoError(t, pg.EnsureSchema(ctx, s))
	_, err := pool.Exec(ctx, `INSERT INTO `+schema+`.intake_contact (id, email, born, seen, at, ok, opted_out, inactive, created_at, updated_at) VALUES
	('a', 'a@example.com', '1899-12-31', '2030-01-02 03:04:05.678901+00', '23:59:59.999999', true, true, false, now(), now()),
	('b', NULL, NULL, NULL, NULL, NULL, false, true, now(), now()),
	('inf', NULL, 'infinity', NULL, NULL, NULL, false, false, now(), now())`)
	require.NoError(t, err)
	got, err := pg.Get(ctx, s, []string{"a", "b"})
	require.NoError(t, err)
	at, _ := intake.TimeOfDay(23, 59, 59, 999999)
	require.Equal(t, []intake.Value{intake.Text("a@example.com"), intake.Date(1899, 12, 31),
		intake.Timestamp(time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)), at, intake.Bool(true)}, got["a"].Values)
	require.True(t, got["a"].OptedOut)
	require.Equal(t, make([]intake.Value, 5), got["b"].Values)
	require.True(t, got["b"].Inactive)
	_, err = pg.Get(ctx, s, []string{"inf"})
	require.ErrorContains(t, err, "infinite date")
}
