package postgres_test

import (
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/stretchr/testify/require"
)

// TestPostgresCheckpointPendingMigrates: a store whose intake_checkpoint
// was created without the pending column gets it on open, and a
// checkpoint keeps the lines of held creates there.
func TestPostgresCheckpointPendingMigrates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	_, err := pool.Exec(ctx, `CREATE TABLE `+schema+`.intake_checkpoint (run_id text PRIMARY KEY, source text NOT NULL DEFAULT '',
		last_line bigint NOT NULL, batches bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL)`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO `+schema+`.intake_checkpoint VALUES ('old', 'f.csv', 7, 1, now())`)
	require.NoError(t, err)
	pg := openPostgres(t, postgres.Config{Schema: schema})
	cp, ok, err := pg.LastCheckpoint(ctx, "old")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 7, cp.Line)
	require.Nil(t, cp.Pending)

	rec := func(id, email string) *intake.Record {
		r := intake.NewRecord(intake.ContactSchema())
		r.ID, r.Line = id, 2
		r.Set("email", intake.Text(email))
		return r
	}
	_, err = pg.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: rec("01960000-0000-7000-8000-0000000000a1", "a@x.io")}})
	require.NoError(t, err)
	held := &sink.Op{Kind: sink.OpCreate, Record: rec("01960000-0000-7000-8000-0000000000a2", "a@x.io"), Unique: []intake.KeySpec{intake.Keys("email")}}
	_, err = pg.WriteCheckpoint(ctx, []*sink.Op{held}, sink.Checkpoint{RunID: "new", Line: 9, Pending: []int{5}})
	require.NoError(t, err)
	require.NotNil(t, held.Existing)
	cp, ok, err = pg.LastCheckpoint(ctx, "new")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []int{5, 2}, cp.Pending)
}
