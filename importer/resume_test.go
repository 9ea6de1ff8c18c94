package importer_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// postgresSink opens a PostgreSQL sink in a schema of its own, or skips the
// test when INTAKE_TEST_POSTGRES is not set.
func postgresSink(t *testing.T) *postgres.Store {
	t.Helper()
	pool, schema := pgtest.Pool(t)
	pg, err := postgres.New(context.Background(), pool, postgres.Config{Schema: schema})
	require.NoError(t, err)
	return pg
}

// checkpointFailer fails the k-th checkpointed write of a real PostgreSQL sink.
type checkpointFailer struct {
	*postgres.Store
	failAt int32
	n      atomic.Int32
}

// Undoes reports false: the embedded store's WriteUndo would bypass this
// type's WriteCheckpoint.
func (f *checkpointFailer) Undoes() bool { return false }

func (f *checkpointFailer) WriteCheckpoint(ctx context.Context, batch []*sink.Op, cp sink.Checkpoint) (int, error) {
	if f.n.Add(1) == f.failAt {
		return 0, errDiskFull
	}
	return f.Store.WriteCheckpoint(ctx, batch, cp)
}

// TestResumeAfterTheLastCommittedBatch: the third batch fails; the run is
// started again with the same RunID and resumes after the last committed
// line: it reads the rest, the store holds every key once, and the two
// reports together count every row exactly once.
func TestResumeAfterTheLastCommittedBatch(t *testing.T) {
	t.Parallel()
	pg := postgresSink(t)
	data := generated(5000, 11) + "broken-email,Nobody,Nowhere\n"
	distinct := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(data), "\n")[1:] {
		if e := strings.Split(l, ",")[0]; strings.Contains(e, "@") {
			distinct[e] = true
		}
	}
	ctx := context.Background()
	fail := &checkpointFailer{Store: pg, failAt: 3}
	im, err := importer.New(importer.Config{Sink: fail, BatchSize: 1000})
	require.NoError(t, err)
	first, err := im.Run(ctx, importer.Job{Source: csvSource(t, "big.csv", data), RunID: "run-1"})
	require.ErrorIs(t, err, errDiskFull)
	assert.EqualValues(t, 2000, first.Rows)
	checkInvariant(t, first)

	im, err = importer.New(importer.Config{Sink: pg, BatchSize: 1000})
	require.NoError(t, err)
	second, err := im.Run(ctx, importer.Job{Source: csvSource(t, "big.csv", data), RunID: "run-1"})
	require.NoError(t, err)
	checkInvariant(t, second)
	assert.Equal(t, 2001, second.ResumedAfterLine, "lines 2–2001 were committed by the first attempt")
	assert.EqualValues(t, 3001, second.Rows, "the resumed attempt reads only the rest")
	assert.EqualValues(t, 1, second.Rejected)
	assert.EqualValues(t, 5001, first.Rows+second.Rows, "together the attempts count every row once")

	n, err := pg.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	assert.EqualValues(t, len(distinct), n, "every key exactly once")
	cp, ok, err := pg.LastCheckpoint(ctx, "run-1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 5002, cp.Line, "the last batch (all of it) is checkpointed")

	third, err := im.Run(ctx, importer.Job{Source: csvSource(t, "big.csv", data), RunID: "run-1"})
	require.NoError(t, err)
	assert.EqualValues(t, 0, third.Rows, "a finished run has nothing left to do")
}
