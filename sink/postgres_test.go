package sink_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/sinktest"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// The PostgreSQL tests run when INTAKE_TEST_POSTGRES holds a connection
// URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Each
// test works in a schema of its own, dropped at its end.

var pgPool struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// pgURL returns the test database's URL or skips the test.
func pgURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("INTAKE_TEST_POSTGRES")
	if url == "" {
		tb.Skip("PostgreSQL tests skipped: set INTAKE_TEST_POSTGRES=postgres://user@host:5432/db?sslmode=disable to run them")
	}
	return url
}

// testPool returns the pool all tests of the package share.
func testPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	url := pgURL(tb)
	pgPool.once.Do(func() {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			pgPool.err = err
			return
		}
		cfg.MaxConns = 24
		cfg.ConnConfig.RuntimeParams["application_name"] = "intake-sink-test"
		pgPool.pool, pgPool.err = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	require.NoError(tb, pgPool.err)
	return pgPool.pool
}

// testSchema creates a schema of its own for the test and drops it at the
// test's end.
func testSchema(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "intake_test_" + hex.EncodeToString(b)
	_, err := pool.Exec(context.Background(), "CREATE SCHEMA "+name)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
		if err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// openPostgres returns a Postgres sink in a fresh schema.
func openPostgres(tb testing.TB, cfg sink.PostgresConfig) *sink.Postgres {
	tb.Helper()
	pool := testPool(tb)
	if cfg.Schema == "" {
		cfg.Schema = testSchema(tb, pool)
	}
	p, err := sink.NewPostgres(context.Background(), pool, cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { p.Close() })
	pgConfigs.Store(p, cfg)
	return p
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	pgURL(t)
	f := sinktest.Features{AllOrNothing: true, Schemas: true, Reopen: reopenPostgres}
	sinktest.Run(t, func(t *testing.T) sink.Sink { return openPostgres(t, sink.PostgresConfig{}) }, f)
}

// pgConfigs holds the config each test sink was opened with, for
// reopenPostgres.
var pgConfigs sync.Map // *sink.Postgres → sink.PostgresConfig

// reopenPostgres is the kit's Features.Reopen: another sink on the same
// schema, with a pool of its own, as another process would have.
func reopenPostgres(t *testing.T, s sink.Sink) sink.Sink {
	cfg, ok := pgConfigs.Load(s)
	require.True(t, ok, "reopenPostgres: the sink was not opened by openPostgres")
	pool, err := pgxpool.New(context.Background(), pgURL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	p, err := sink.NewPostgres(context.Background(), pool, cfg.(sink.PostgresConfig))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPostgresTextNUL(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t, sink.PostgresConfig{})
	r := person("1", "a@example.com", "A\x00B", "")
	r.Line = 5
	n, err := pg.Write(context.Background(), []*sink.Op{create(person("0", "", "", "")), create(r)})
	require.Equal(t, 0, n)
	var re *sink.RecordError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "1", re.ID)
	require.Equal(t, 5, re.Line)
	require.ErrorIs(t, err, sink.ErrInvalidOp)
}

// TestPostgresTwoProcesses runs two sinks on one schema, as two processes
// of a host would: the schema one of them extends is picked up by the
// other's next write, whose key columns stay current.
func TestPostgresTwoProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := testSchema(t, pool)
	a := openPostgres(t, sink.PostgresConfig{Schema: schema})
	b := openPostgres(t, sink.PostgresConfig{Schema: schema})
	write(t, a, create(person("1", "a@example.com", "Anna", "")))
	require.Equal(t, []string{"1"}, lookup(t, b, byEmail, "a@example.com")["a@example.com"])
	// b added the email key column; a does not know it yet, and writes.
	write(t, a, create(person("2", "b@example.com", "Ben", "")), update(person("1", "new@example.com", "", "")))
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"2"}, "new@example.com": {"1"}},
		lookup(t, b, byEmail, "a@example.com", "b@example.com", "new@example.com"))
	// a adds a field; b reads and writes with the old schema.
	ext := intake.MustSchema("contact", append(contact.Fields(), intake.Field{Name: "tier", Type: intake.TypeText})...)
	require.NoError(t, a.EnsureSchema(ctx, ext))
	write(t, b, create(person("3", "c@example.com", "", "")))
	got, err := a.Get(ctx, ext, []string{"3"})
	require.NoError(t, err)
	require.True(t, got["3"].Get("tier").IsNull())
	sch, err := b.Schema(ctx, "contact")
	require.NoError(t, err)
	require.Equal(t, ext.Names(), sch.Names())
	// A sink opened later knows everything.
	c := openPostgres(t, sink.PostgresConfig{Schema: schema})
	n, err := c.Count(ctx, "contact")
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	require.Equal(t, []string{"3"}, lookup(t, c, byEmail, "c@example.com")["c@example.com"])
}

func TestPostgresMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := testSchema(t, pool)
	_, err := sink.NewPostgres(ctx, pool, sink.PostgresConfig{Schema: schema, SkipMigrations: true})
	require.ErrorContains(t, err, "PostgresMigrations")
	// The host runs the migrations itself, twice: they are idempotent.
	for range 2 {
		for _, q := range sink.PostgresMigrations(schema) {
			_, err := pool.Exec(ctx, q)
			require.NoError(t, err, q)
		}
		stmts, err := sink.PostgresObjectMigration(schema, contact, byEmail)
		require.NoError(t, err)
		for _, q := range stmts {
			_, err := pool.Exec(ctx, q)
			require.NoError(t, err, q)
		}
	}
	pg, err := sink.NewPostgres(ctx, pool, sink.PostgresConfig{Schema: schema, SkipMigrations: true})
	require.NoError(t, err)
	write(t, pg, create(person("1", "A@example.com", "", "")))
	require.Equal(t, []string{"1"}, lookup(t, pg, byEmail, "a@example.com")["a@example.com"])
	var idx int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE n.nspname = $1 AND a.attname = 'k_email' AND i.indnatts = 1`, schema).Scan(&idx))
	require.Equal(t, 1, idx)

	for _, bad := range []sink.PostgresConfig{{Schema: "Bad-Name"}, {Tables: map[string]sink.TableMapping{"contact": {}}}} {
		_, err := sink.NewPostgres(ctx, pool, bad)
		require.Error(t, err)
	}
	_, err = sink.NewPostgres(ctx, nil, sink.PostgresConfig{})
	require.Error(t, err)
}

// TestPostgresOpenBesideAuditUsers: NewPostgres on a database whose
// tables are up to date takes no lock on them, so that it neither waits
// for a reader of the audit log nor for a write batch in progress (which
// would also queue every later reader and writer behind it).
func TestPostgresOpenBesideAuditUsers(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	schema := testSchema(t, pool)
	openPostgres(t, sink.PostgresConfig{Schema: schema})
	for _, c := range []struct{ name, q string }{
		{"reader", `SELECT count(*) FROM ` + schema + `.intake_audit`},
		{"writer", `INSERT INTO ` + schema + `.intake_audit (time, object, record_id, action, reason) VALUES (now(), 'contact', '1', 'delete', 'gone')`},
	} {
		name, q := c.name, c.q
		tx, err := pool.Begin(context.Background())
		require.NoError(t, err)
		_, err = tx.Exec(context.Background(), q)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = sink.NewPostgres(ctx, pool, sink.PostgresConfig{Schema: schema})
		cancel()
		require.NoError(t, tx.Rollback(context.Background()))
		require.NoError(t, err, "NewPostgres beside a %s of intake_audit", name)
	}
	// The guarded statements still run where they are needed.
	ctx := context.Background()
	_, err := pool.Exec(ctx, `DROP INDEX `+schema+`.intake_audit_record; ALTER TABLE `+schema+`.intake_audit DROP COLUMN target_id`)
	require.NoError(t, err)
	openPostgres(t, sink.PostgresConfig{Schema: schema})
	var cols, idx int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'intake_audit'
		AND column_name IN ('field', 'target_object', 'target_id')`, schema).Scan(&cols))
	require.Equal(t, 3, cols)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'intake_audit_record'`, schema).Scan(&idx))
	require.Equal(t, 1, idx)
}

func TestPostgresAsyncCommit(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t, sink.PostgresConfig{AsyncCommit: true})
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated, intake.OutcomeUpdated}, write(t, pg, create(person("1", "a@example.com", "", "")), update(person("1", "", "Anna", ""))))
	require.Equal(t, "Anna", get(t, pg, "1").Get("first_name").Str())
	// The setting is local to the batch's transaction.
	var sc string
	require.NoError(t, pg.Pool().QueryRow(context.Background(), "SHOW synchronous_commit").Scan(&sc))
	require.Equal(t, "on", sc)
}

func TestPostgresCancelMidWrite(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t, sink.PostgresConfig{})
	write(t, pg, create(person("0", "", "", "")))
	ops := make([]*sink.Op, 20000)
	for i := range ops {
		ops[i] = create(person(fmt.Sprint("c", i), fmt.Sprint(i, "@example.com"), "", ""))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	n, err := pg.Write(ctx, ops)
	if err == nil {
		t.Skip("the write finished before the deadline")
	}
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	c, err := pg.Count(context.Background(), "contact")
	require.NoError(t, err)
	require.EqualValues(t, 1, c, "nothing of a canceled batch is written")
}
