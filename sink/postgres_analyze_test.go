package sink_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/sink"
)

// TestPostgresAnalyzesGrowingTables checks that the sink runs ANALYZE on a
// table it fills from empty once it has created 1000 rows, and again each
// time it has doubled it — so that the lookups of a bulk import are
// planned with statistics — and not before.
func TestPostgresAnalyzesGrowingTables(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	schema := testSchema(t, pool)
	pg, err := sink.NewPostgres(context.Background(), pool, sink.PostgresConfig{Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	ctx := context.Background()
	next := 0
	write := func(n int) {
		batch := make([]*sink.Op, n)
		for i := range batch {
			batch[i] = create(person(fmt.Sprint("r", next), fmt.Sprintf("p%d@example.com", next), "P", ""))
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
	write(999)
	_, err = pool.Exec(ctx, `ALTER TABLE `+schema+`.intake_contact SET (autovacuum_enabled = false)`) // only the sink analyzes
	require.NoError(t, err)
	require.Equal(t, int64(-1), reltuples(), "analyzed before 1000 rows")
	write(1)
	require.Equal(t, int64(1000), reltuples(), "not analyzed at 1000 rows")
	write(999) // the next ANALYZE is due at 2000 rows
	require.Equal(t, int64(1000), reltuples(), "analyzed again before the table doubled")
	write(1)
	require.Equal(t, int64(2000), reltuples(), "not analyzed at 2000 rows")
}
