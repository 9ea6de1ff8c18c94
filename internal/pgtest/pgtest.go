package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Env is the environment variable that holds the test database's URL.
const Env = "INTAKE_TEST_POSTGRES"

// howTo says how to run the PostgreSQL tests.
const howTo = "set " + Env + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them"

// URL returns the test database's URL, or skips tb when [Env] is unset.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(Env)
	if url == "" {
		tb.Skip("PostgreSQL tests skipped: " + howTo)
	}
	return url
}

// Enabled reports whether [Env] is set, for a test that runs on several
// stores and leaves PostgreSQL out without it: it then logs how to run the
// PostgreSQL part.
func Enabled(tb testing.TB) bool {
	tb.Helper()
	if os.Getenv(Env) == "" {
		tb.Log("PostgreSQL left out: " + howTo)
		return false
	}
	return true
}

// Schema creates a schema of its own for tb, named intake_test_ and 12
// random hex digits, and drops it (with everything in it) when tb ends. It
// skips tb when [Env] is unset.
func Schema(tb testing.TB) string {
	tb.Helper()
	url := URL(tb)
	b := make([]byte, 6)
	rand.Read(b)
	name := "intake_test_" + hex.EncodeToString(b)
	exec(tb, url, "CREATE SCHEMA "+name)
	tb.Cleanup(func() { exec(tb, url, "DROP SCHEMA "+name+" CASCADE") })
	return name
}

// Pool returns a pool on the test database whose connections work in a
// schema of their own ([Schema]), and that schema's name. The pool is
// closed, then the schema dropped, when tb ends. It skips tb when [Env] is
// unset.
func Pool(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	schema := Schema(tb)
	return NewPool(tb, schema), schema
}

// NewPool returns a further pool on the test database, closed when tb
// ends; with a schema, its connections' search_path is that schema. It
// skips tb when [Env] is unset.
func NewPool(tb testing.TB, schema string) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(URL(tb))
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", Env, err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "intake-test"
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// exec runs sql on a connection of its own, failing tb on an error.
func exec(tb testing.TB, url, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", Env, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("pgtest: %s: %v", sql, err)
	}
}
