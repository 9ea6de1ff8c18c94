package postgres_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/stretchr/testify/require"
)

// TestPostgresWritersDoNotDeadlock has two sinks on one schema, as two
// processes would be, update the same 2,500 rows at once, one in the
// opposite order of the other: more ids than one locking query takes, so
// the rows are locked chunk after chunk. Both writes must succeed, every
// round, without a deadlock (which the sink would log and retry).
func TestPostgresWritersDoNotDeadlock(t *testing.T) {
	t.Parallel()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	ctx := context.Background()
	var log syncBuffer // a deadlock would be retried: the log tells
	open := func() *postgres.Store {
		p, err := postgres.New(ctx, pool, postgres.Config{Schema: schema, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		return p
	}
	a, b := open(), open()
	const n = 2500
	batch := make([]*sink.Op, n)
	for i := range batch {
		batch[i] = fixture.Create(fixture.Person(fmt.Sprintf("c%04d", i), fmt.Sprintf("c%d@example.com", i), "C", ""))
	}
	_, err := a.Write(ctx, batch)
	require.NoError(t, err)

	updates := func(round int, reverse bool) []*sink.Op {
		ops := make([]*sink.Op, n)
		for i := range ops {
			j := i
			if reverse {
				j = n - 1 - i
			}
			ops[i] = &sink.Op{Kind: sink.OpUpdate, Record: fixture.Person(fmt.Sprintf("c%04d", j), "", fmt.Sprintf("R%d-%v", round, reverse), "")}
		}
		return ops
	}
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w, s := range []*postgres.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[w] = s.Write(ctx, updates(round, w == 1))
			}()
		}
		wg.Wait()
		require.NoError(t, errs[0], "round %d, writer a", round)
		require.NoError(t, errs[1], "round %d, writer b", round)
	}
	require.NotContains(t, string(log.Bytes()), "deadlocked", "the writers deadlocked (and the batch was applied again)")
}
