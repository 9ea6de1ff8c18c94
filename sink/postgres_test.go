package sink_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

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
	return p
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	pgURL(t)
	f := sinktest.All()
	f.TextNUL = false
	f.Checkpoint = true
	sinktest.Run(t, func(t *testing.T) sink.Sink { return openPostgres(t, sink.PostgresConfig{}) }, f)
}
