package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// TestPostgresAnalyzesGrowingTables checks that the sink runs ANALYZE on a
// table it fills from empty once it has created 1000 rows, and again each
// time it has doubled it — so that the lookups of a bulk import are
// planned with statistics — and not before.
func TestPostgresAnalyzesGrowingTables(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	pg, err := postgres.New(context.Background(), pool, postgres.Config{Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	ctx := context.Background()
	next := 0
	write := func(n int) {
		batch := make([]*sink.Op, n)
		for i := range batch {
			batch[i] = fixture.Create(fixture.Person(fmt.Sprint("r", next), fmt.Sprintf("p%d@example.com", next), "P", ""))
			next++
		}
		_, err := pg.Write(ctx, batch)
		require.NoError(t, err)
	}
	// ANALYZE sets pg_class.reltuples (-1: never analyzed) in its own
	// transaction, before Write returns.
	reltuples := func() int64 {
		var n float64
		require.NoError(t, pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, schema+".intake_contact").Scan(&n))
		return int64(n)
	}
	require.NoError(t, pg.EnsureSchema(ctx, fixture.Person("x", "", "", "").Schema))
	_, err = pg.Lookup(ctx, fixture.Person("x", "", "", "").Schema, intake.Keys("email"), []intake.Key{"x@example.com"}) // adds the key column k_email
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ALTER TABLE `+schema+`.intake_contact SET (autovacuum_enabled = false)`) // only the sink analyzes
	require.NoError(t, err)
	write(999)
	require.Equal(t, int64(-1), reltuples(), "analyzed before 1000 rows")
	write(1)
	require.Equal(t, int64(1000), reltuples(), "not analyzed at 1000 rows")
	write(999) // the next ANALYZE is due at 2000 rows
	require.Equal(t, int64(1000), reltuples(), "analyzed again before the table doubled")
	write(1)
	require.Equal(t, int64(2000), reltuples(), "not analyzed at 2000 rows")
	// Only the columns the sink looks up by get statistics.
	rows, err := pool.Query(ctx, `SELECT attname FROM pg_stats WHERE schemaname = $1 AND tablename = 'intake_contact' ORDER BY attname`, schema)
	require.NoError(t, err)
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"id", "k_email"}, cols)
	// From a small sample: statistics target 10 keeps at most 11 histogram
	// bounds (the default, 100, would keep 101 of 2000 distinct keys).
	var bounds int
	require.NoError(t, pool.QueryRow(ctx, `SELECT array_length(histogram_bounds::text::text[], 1) FROM pg_stats WHERE schemaname = $1 AND tablename = 'intake_contact' AND attname = 'k_email'`, schema).Scan(&bounds))
	require.LessOrEqual(t, bounds, 11)
	require.Greater(t, bounds, 1)
}

// TestPostgresAnalyzeNotOwner checks that a role that may not analyze a
// table — PostgreSQL only warns, and analyzes nothing — is told so once
// in the log, and that its writes succeed.
func TestPostgresAnalyzeNotOwner(t *testing.T) {
	t.Parallel()
	admin := testPool(t)
	schema := pgtest.Schema(t)
	ctx := context.Background()
	owner, err := postgres.New(ctx, admin, postgres.Config{Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { owner.Close() })
	require.NoError(t, owner.EnsureSchema(ctx, fixture.Person("x", "", "", "").Schema))
	_, err = admin.Exec(ctx, `ALTER TABLE `+schema+`.intake_contact SET (autovacuum_enabled = false)`)
	require.NoError(t, err)

	b := make([]byte, 4)
	rand.Read(b)
	role := "intake_writer_" + hex.EncodeToString(b)
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + role,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + schema + ` TO ` + role,
		`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ` + schema + ` TO ` + role,
	} {
		_, err := admin.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	u, err := url.Parse(pgtest.URL(t))
	require.NoError(t, err)
	u.User = url.User(role)
	pool, err := pgxpool.New(ctx, u.String())
	require.NoError(t, err)
	t.Cleanup(func() {
		pool.Close()
		admin.Exec(context.Background(), `DROP OWNED BY `+role) //nolint:errcheck // the schema goes too
		admin.Exec(context.Background(), `DROP ROLE `+role)     //nolint:errcheck
	})
	var log syncBuffer
	writer, err := postgres.New(ctx, pool, postgres.Config{Schema: schema, SkipMigrations: true,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { writer.Close() })
	for round := range 3 {
		batch := make([]*sink.Op, 1000)
		for i := range batch {
			id := fmt.Sprint(round*1000 + i)
			batch[i] = fixture.Create(fixture.Person(id, id+"@example.com", "P", ""))
		}
		_, err := writer.Write(ctx, batch)
		require.NoError(t, err)
	}
	require.Equal(t, 1, bytes.Count(log.Bytes(), []byte("may not ANALYZE")), "log: %s", log.Bytes())
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}
