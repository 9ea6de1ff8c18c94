package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// killablePool is a pool of its own, whose backends the test can find
// (by their application_name) and terminate from another connection.
type killablePool struct {
	*pgxpool.Pool
	app   string
	admin *pgxpool.Pool
}

// newKillablePool opens a pool that hands out idle connections without
// pinging them first: what pgxpool does with a connection idle for less
// than a second, so that a connection killed a moment ago is handed out
// whatever the timing.
func newKillablePool(t *testing.T) *killablePool {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	kp := &killablePool{app: "intake-kill-" + hex.EncodeToString(b), admin: testPool(t)}
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	cfg.MaxConns = 4
	cfg.ConnConfig.RuntimeParams["application_name"] = kp.app
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	kp.Pool, err = pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(kp.Close)
	return kp
}

// warm leaves n connections idle in the pool.
func (kp *killablePool) warm(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	var conns []*pgxpool.Conn
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range 2 * (n + int(kp.Config().MaxConns)) {
		if len(conns) == n {
			break
		}
		c, err := kp.Acquire(ctx)
		require.NoError(t, err)
		if c.Ping(ctx) != nil { // one that an earlier step left dead: the pool drops it
			c.Release()
			continue
		}
		conns = append(conns, c)
	}
	require.Len(t, conns, n)
}

// kill terminates every backend of the pool and waits until each has
// exited (pg_terminate_backend with a timeout), so that the pool's idle
// connections are dead when the test goes on.
func (kp *killablePool) kill(t *testing.T) {
	t.Helper()
	var killed, asked int
	require.NoError(t, kp.admin.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE k), count(*) FROM (
	SELECT pg_terminate_backend(pid, 10000) AS k FROM pg_stat_activity WHERE application_name = $1) s`, kp.app).Scan(&killed, &asked))
	require.Positive(t, asked, "no backend of the pool to kill")
	require.Equal(t, asked, killed, "a backend outlived pg_terminate_backend's wait")
}

// TestPostgresKilledIdleConnections kills the sink's pooled connections
// while they sit idle — pg_terminate_backend, as an administrator or a
// fast shutdown of a standby would — right before each entry point an
// import calls, and checks that each succeeds on a new connection.
func TestPostgresKilledIdleConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kp := newKillablePool(t)
	schema := pgtest.Schema(t)
	var log syncBuffer
	pg, err := postgres.New(ctx, kp.Pool, postgres.Config{Schema: schema, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	require.NoError(t, pg.EnsureSchema(ctx, fixture.Contact))
	_, err = pg.Write(ctx, []*sink.Op{fixture.Create(fixture.Person("p0", "p0@example.com", "P", ""))})
	require.NoError(t, err)
	email := intake.Keys("email")
	_, err = pg.Lookup(ctx, fixture.Contact, email, []intake.Key{"p0@example.com"}) // adds the key column
	require.NoError(t, err)

	n := 0
	steps := []struct {
		name string
		run  func() error
	}{
		{"postgres.New", func() error {
			_, err := postgres.New(ctx, kp.Pool, postgres.Config{Schema: schema})
			return err
		}},
		{"EnsureSchema", func() error {
			return pg.EnsureSchema(ctx, intake.MustSchema("ticket", intake.Field{Name: "title", Type: intake.TypeText}))
		}},
		{"Write", func() error {
			n++
			_, err := pg.Write(ctx, []*sink.Op{fixture.Create(fixture.Person(fmt.Sprintf("w%d", n), fmt.Sprintf("w%d@example.com", n), "W", ""))})
			return err
		}},
		{"WriteCheckpoint", func() error {
			_, err := pg.WriteCheckpoint(ctx, nil, sink.Checkpoint{RunID: "r1", Source: "s", Line: 7})
			return err
		}},
		{"Lookup", func() error {
			got, err := pg.Lookup(ctx, fixture.Contact, email, []intake.Key{"p0@example.com"})
			if err == nil && len(got["p0@example.com"]) != 1 {
				err = fmt.Errorf("lookup found %v", got)
			}
			return err
		}},
		{"Get", func() error {
			got, err := pg.Get(ctx, fixture.Contact, []string{"p0"})
			if err == nil && got["p0"] == nil {
				err = fmt.Errorf("get found %v", got)
			}
			return err
		}},
		{"LastCheckpoint", func() error { _, _, err := pg.LastCheckpoint(ctx, "r1"); return err }},
		{"Schema", func() error { _, err := pg.Schema(ctx, "contact"); return err }},
		{"Count", func() error { _, err := pg.Count(ctx, "contact"); return err }},
		{"Scan", func() error { return pg.Scan(ctx, fixture.Contact, func(*intake.Record) error { return nil }) }},
		{"Reserve", func() error { _, err := pg.Reserve(ctx, "ids", 10); return err }},
		{"AuditLog", func() error { _, err := pg.AuditLog(ctx, "contact", ""); return err }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			kp.warm(t, 3) // a retry on a pooled connection would find another dead one
			kp.kill(t)
			require.NoError(t, st.run(), "the first use of the pool after its connections were killed")
		})
	}
	require.Contains(t, string(log.Bytes()), "connection lost")
	_, err = pg.Lookup(ctx, fixture.Contact, email, []intake.Key{"w1@example.com"})
	require.NoError(t, err)
}

// TestPostgresKilledWriteNotRetried kills the sink's connection while a
// batch is written — its COPY waits for a row lock that another
// transaction holds — and checks that the write fails instead of being
// applied again: once the batch's statements are sent, a lost connection
// may have committed it or not.
func TestPostgresKilledWriteNotRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kp := newKillablePool(t)
	schema := pgtest.Schema(t)
	pg, err := postgres.New(ctx, kp.Pool, postgres.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, pg.EnsureSchema(ctx, fixture.Contact))

	// Another transaction inserts id "x" and keeps it uncommitted: the
	// batch's insert of "x" waits on the unique index.
	blocker, err := kp.admin.Begin(ctx)
	require.NoError(t, err)
	defer blocker.Rollback(ctx)
	_, err = blocker.Exec(ctx, `INSERT INTO `+schema+`.intake_contact (id, opted_out, inactive, created_at, updated_at) VALUES ('x', false, false, now(), now())`)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := pg.Write(ctx, []*sink.Op{fixture.Create(fixture.Person("a", "a@example.com", "A", "")), fixture.Create(fixture.Person("x", "x@example.com", "X", ""))})
		done <- err
	}()
	var waiting bool
	for range 500 {
		require.NoError(t, kp.admin.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, kp.app).Scan(&waiting))
		if waiting {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.True(t, waiting, "the write never waited for the lock")
	kp.kill(t)
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(20 * time.Second): // a retry waits for the lock again
		require.NoError(t, blocker.Rollback(ctx))
		t.Fatalf("the write was applied again after its connection was lost: %v", <-done)
	}
	require.NoError(t, blocker.Rollback(ctx))
	var rows int
	require.NoError(t, kp.admin.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.intake_contact`).Scan(&rows))
	require.Zero(t, rows, "nothing of the batch was committed")
}
