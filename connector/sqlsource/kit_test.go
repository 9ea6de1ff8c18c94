package sqlsource_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/connector/sqlsource"
)

func TestKitSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:kit?mode=memory&cache=shared")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(ctx, `CREATE TABLE c (email TEXT, n INTEGER)`)
	require.NoError(t, err)
	want := connectortest.Want{Header: []string{"email", "n"}}
	for i := range 300 {
		_, err := db.ExecContext(ctx, `INSERT INTO c VALUES (?, ?)`, fmt.Sprintf("c%03d@example.com", i), i)
		require.NoError(t, err)
		want.Rows = append(want.Rows, []string{fmt.Sprintf("c%03d@example.com", i), fmt.Sprint(i)})
		want.Lines = append(want.Lines, i+2)
	}
	const q = `SELECT email, n FROM c ORDER BY n`
	want.OpenLimited = func(ctx context.Context, max int) (connector.Source, error) {
		return sqlsource.New(ctx, db, sqlsource.Config{Query: q, MaxRows: int64(max)})
	}
	connectortest.TestSource(t, func(ctx context.Context) (connector.Source, error) {
		return sqlsource.New(ctx, db, sqlsource.Config{Query: q})
	}, want)
}
