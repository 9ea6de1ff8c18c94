package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/intakehq/intake/sink/sinktest"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// The PostgreSQL tests run when INTAKE_TEST_POSTGRES holds a connection
// URL (see internal/pgtest). Each test works in a schema of its own,
// dropped at its end; the tests share one pool.

var pgPool struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// testPool returns the pool all tests of the package share.
func testPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	url := pgtest.URL(tb)
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

// openPostgres returns a Postgres sink in a fresh schema.
func openPostgres(tb testing.TB, cfg postgres.Config) *postgres.Store {
	tb.Helper()
	pool := testPool(tb)
	if cfg.Schema == "" {
		cfg.Schema = pgtest.Schema(tb)
	}
	p, err := postgres.New(context.Background(), pool, cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { p.Close() })
	pgConfigs.Store(p, cfg)
	return p
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	pgtest.URL(t)
	f := sinktest.Features{AllOrNothing: true, Schemas: true, IDOrder: true, Reopen: reopenPostgres}
	sinktest.Run(t, func(t *testing.T) sink.Sink { return openPostgres(t, postgres.Config{}) }, f)
}

// pgConfigs holds the config each test sink was opened with, for
// reopenPostgres.
var pgConfigs sync.Map // *postgres.Store → postgres.Config

// reopenPostgres is the kit's Features.Reopen: another sink on the same
// schema, with a pool of its own, as another process would have.
func reopenPostgres(t *testing.T, s sink.Sink) sink.Sink {
	cfg, ok := pgConfigs.Load(s)
	require.True(t, ok, "reopenPostgres: the sink was not opened by openPostgres")
	pool := pgtest.NewPool(t, "")
	p, err := postgres.New(context.Background(), pool, cfg.(postgres.Config))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPostgresTextNUL(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t, postgres.Config{})
	r := fixture.Person("1", "a@example.com", "A\x00B", "")
	r.Line = 5
	n, err := pg.Write(context.Background(), []*sink.Op{fixture.Create(fixture.Person("0", "", "", "")), fixture.Create(r)})
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
	schema := pgtest.Schema(t)
	a := openPostgres(t, postgres.Config{Schema: schema})
	b := openPostgres(t, postgres.Config{Schema: schema})
	fixture.Write(t, a, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "")))
	require.Equal(t, []string{"1"}, fixture.Lookup(t, b, fixture.ByEmail, "a@example.com")["a@example.com"])
	// b added the email key column; a does not know it yet, and writes.
	fixture.Write(t, a, fixture.Create(fixture.Person("2", "b@example.com", "Ben", "")), fixture.Update(fixture.Person("1", "new@example.com", "", "")))
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"2"}, "new@example.com": {"1"}},
		fixture.Lookup(t, b, fixture.ByEmail, "a@example.com", "b@example.com", "new@example.com"))
	// a adds a field; b reads and writes with the old schema.
	ext := intake.MustSchema("contact", append(fixture.Contact.Fields(), intake.Field{Name: "tier", Type: intake.TypeText})...)
	require.NoError(t, a.EnsureSchema(ctx, ext))
	fixture.Write(t, b, fixture.Create(fixture.Person("3", "c@example.com", "", "")))
	got, err := a.Get(ctx, ext, []string{"3"})
	require.NoError(t, err)
	require.True(t, got["3"].Get("tier").IsNull())
	sch, err := b.Schema(ctx, "contact")
	require.NoError(t, err)
	require.Equal(t, ext.Names(), sch.Names())
	// A sink opened later knows everything.
	c := openPostgres(t, postgres.Config{Schema: schema})
	n, err := c.Count(ctx, "contact")
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	require.Equal(t, []string{"3"}, fixture.Lookup(t, c, fixture.ByEmail, "c@example.com")["c@example.com"])
}

func TestPostgresMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	_, err := postgres.New(ctx, pool, postgres.Config{Schema: schema, SkipMigrations: true})
	require.ErrorContains(t, err, "postgres.Migrations")
	// The host runs the migrations itself, twice: they are idempotent.
	for range 2 {
		for _, q := range postgres.Migrations(schema) {
			_, err := pool.Exec(ctx, q)
			require.NoError(t, err, q)
		}
		stmts, err := postgres.ObjectMigration(schema, fixture.Contact, fixture.ByEmail)
		require.NoError(t, err)
		for _, q := range stmts {
			_, err := pool.Exec(ctx, q)
			require.NoError(t, err, q)
		}
	}
	pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema, SkipMigrations: true})
	require.NoError(t, err)
	fixture.Write(t, pg, fixture.Create(fixture.Person("1", "A@example.com", "", "")))
	require.Equal(t, []string{"1"}, fixture.Lookup(t, pg, fixture.ByEmail, "a@example.com")["a@example.com"])
	var idx int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE n.nspname = $1 AND a.attname = 'k_email' AND i.indnatts = 1`, schema).Scan(&idx))
	require.Equal(t, 1, idx)

	for _, bad := range []postgres.Config{{Schema: "Bad-Name"}, {Tables: map[string]sink.TableMapping{"contact": {}}}} {
		_, err := postgres.New(ctx, pool, bad)
		require.Error(t, err)
	}
	_, err = postgres.New(ctx, nil, postgres.Config{})
	require.Error(t, err)
}

// TestPostgresOpenBesideAuditUsers: New on a database whose
// tables are up to date takes no lock on them, so that it neither waits
// for a reader of the audit log nor for a write batch in progress (which
// would also queue every later reader and writer behind it).
func TestPostgresOpenBesideAuditUsers(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	openPostgres(t, postgres.Config{Schema: schema})
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
		_, err = postgres.New(ctx, pool, postgres.Config{Schema: schema})
		cancel()
		require.NoError(t, tx.Rollback(context.Background()))
		require.NoError(t, err, "postgres.New beside a %s of intake_audit", name)
	}
	// The guarded statements still run where they are needed.
	ctx := context.Background()
	_, err := pool.Exec(ctx, `DROP INDEX `+schema+`.intake_audit_record; ALTER TABLE `+schema+`.intake_audit DROP COLUMN target_id`)
	require.NoError(t, err)
	openPostgres(t, postgres.Config{Schema: schema})
	var cols, idx int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'intake_audit'
		AND column_name IN ('field', 'target_object', 'target_id')`, schema).Scan(&cols))
	require.Equal(t, 3, cols)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'intake_audit_record'`, schema).Scan(&idx))
	require.Equal(t, 1, idx)
}

func TestPostgresAsyncCommit(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t, postgres.Config{AsyncCommit: true})
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated, intake.OutcomeUpdated}, fixture.Write(t, pg, fixture.Create(fixture.Person("1", "a@example.com", "", "")), fixture.Update(fixture.Person("1", "", "Anna", ""))))
	require.Equal(t, "Anna", fixture.Get(t, pg, "1").Get("first_name").Str())
	// The setting is local to the batch's transaction.
	var sc string
	require.NoError(t, pg.Pool().QueryRow(context.Background(), "SHOW synchronous_commit").Scan(&sc))
	require.Equal(t, "on", sc)
}

func TestPostgresCancelMidWrite(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t, postgres.Config{})
	fixture.Write(t, pg, fixture.Create(fixture.Person("0", "", "", "")))
	ops := make([]*sink.Op, 20000)
	for i := range ops {
		ops[i] = fixture.Create(fixture.Person(fmt.Sprint("c", i), fmt.Sprint(i, "@example.com"), "", ""))
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

// cancelOnLog is a slog handler that cancels a context once msg has been
// logged n times.
type cancelOnLog struct {
	msg    string
	n      int
	cancel context.CancelFunc
	mu     *sync.Mutex
	seen   *int
}

func (h cancelOnLog) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOnLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h cancelOnLog) WithGroup(string) slog.Handler            { return h }
func (h cancelOnLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Message == h.msg {
		if *h.seen++; *h.seen == h.n {
			h.cancel()
		}
	}
	return nil
}

// TestPostgresWriteViewsFail: a batch whose two schemas of one object
// type retype a field back and forth alters the table again when it
// takes the schemas' views a second time (ensuring one schema replaces
// the table of the other); when that alter fails, the write returns its
// error.
func TestPostgresWriteViewsFail(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The first pass stores the schema twice (the table, then the retyped
	// field); the context ends there, so the second pass's alter fails.
	h := cancelOnLog{msg: "intake: PostgreSQL schema stored", n: 2, cancel: cancel, mu: &sync.Mutex{}, seen: new(int)}
	pg := openPostgres(t, postgres.Config{Logger: slog.New(h)})
	asText := intake.MustSchema("note", intake.Field{Name: "body", Type: intake.TypeText})
	asEmail := intake.MustSchema("note", intake.Field{Name: "body", Type: intake.TypeEmail})
	batch := []*sink.Op{
		fixture.Create(&intake.Record{Schema: asText, ID: "1", Values: []intake.Value{intake.Text("a")}}),
		fixture.Create(&intake.Record{Schema: asEmail, ID: "2", Values: []intake.Value{intake.Text("b@example.com")}}),
	}
	var n int
	var err error
	require.NotPanics(t, func() { n, err = pg.Write(ctx, batch) })
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, context.Canceled)
}
