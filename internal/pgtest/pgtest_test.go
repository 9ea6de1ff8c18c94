package pgtest_test

import (
	"context"
	"testing"

	"github.com/intakehq/intake/internal/pgtest"
	"github.com/stretchr/testify/require"
)

// TestPool: a pool's unqualified tables go into the test's own schema,
// which is dropped once the test that made it has ended.
func TestPool(t *testing.T) {
	ctx := context.Background()
	var schema string
	t.Run("inner", func(t *testing.T) {
		pool, s := pgtest.Pool(t)
		schema = s
		_, err := pool.Exec(ctx, "CREATE TABLE t (id int)")
		require.NoError(t, err)
		var in string
		require.NoError(t, pool.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 't' AND table_schema = $1", s).Scan(&in))
		require.Equal(t, s, in)
		other := pgtest.NewPool(t, s)
		var n int
		require.NoError(t, other.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n), "a further pool on the schema sees its tables")
	})
	pool := pgtest.NewPool(t, "")
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n))
	require.Zero(t, n, "the schema is dropped when its test ends")
}
