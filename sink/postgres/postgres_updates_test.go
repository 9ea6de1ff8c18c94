package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/stretchr/testify/require"
)

// TestPostgresLargeUpdateBatches covers batches of an import's size, more
// ids than one locking read takes: outcomes, kept values and updated_at,
// keys recomputed from the update, and an update of a record the table
// does not hold, in the second chunk of ids, failing the batch by record
// with nothing written.
func TestPostgresLargeUpdateBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema, Now: func() time.Time { return clock }})
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	fixture.Lookup(t, pg, fixture.ByEmail, "x") // the key column

	const n = 2500
	var ops []*sink.Op
	for i := range n {
		ops = append(ops, fixture.Create(fixture.Person(fmt.Sprintf("r%04d", i), fmt.Sprintf("p%d@example.com", i), "P", "L")))
	}
	fixture.Write(t, pg, ops...)
	updatedAt := func(id string) time.Time {
		var at time.Time
		require.NoError(t, pool.QueryRow(ctx, `SELECT updated_at FROM `+schema+`.intake_contact WHERE id = $1`, id).Scan(&at))
		return at.UTC()
	}
	created := updatedAt("r0001")

	clock = clock.Add(time.Hour)
	ops = ops[:0]
	for i := range n {
		switch {
		case i%3 == 0: // a new first name
			ops = append(ops, fixture.Update(fixture.Person(fmt.Sprintf("r%04d", i), "", "Q", "")))
		case i%3 == 1: // the same last name: unchanged
			ops = append(ops, fixture.Update(fixture.Person(fmt.Sprintf("r%04d", i), "", "", "L")))
		default: // a new email: the key follows
			ops = append(ops, fixture.Update(fixture.Person(fmt.Sprintf("r%04d", i), fmt.Sprintf("NEW%d@example.com", i), "", "")))
		}
	}
	ops = append(ops, fixture.Create(fixture.Person("new", "new@example.com", "N", "")))
	out := fixture.Write(t, pg, ops...)
	for i := range n {
		want := intake.OutcomeUpdated
		if i%3 == 1 {
			want = intake.OutcomeUnchanged
		}
		require.Equal(t, want, out[i], "op %d", i)
	}
	require.Equal(t, intake.OutcomeCreated, out[n])

	r := fixture.Get(t, pg, "r0000")
	require.Equal(t, "Q", r.Get("first_name").String())
	require.Equal(t, "L", r.Get("last_name").String(), "a null value keeps the stored one")
	require.Equal(t, "p0@example.com", r.Get("email").String())
	require.Equal(t, clock, updatedAt("r0000"))
	require.Equal(t, created, updatedAt("r0001"), "an unchanged record keeps updated_at")
	require.Equal(t, map[intake.Key][]string{"new2@example.com": {"r0002"}}, fixture.Lookup(t, pg, fixture.ByEmail, "new2@example.com", "p2@example.com"))
	require.Equal(t, map[intake.Key][]string{"p1@example.com": {"r0001"}}, fixture.Lookup(t, pg, fixture.ByEmail, "p1@example.com"))

	// An update of a record not stored, among unchanged ones.
	ops = ops[:0]
	for i := range n {
		ops = append(ops, fixture.Update(fixture.Person(fmt.Sprintf("r%04d", i), "", "", "L")))
	}
	ops[1700] = fixture.Update(fixture.Person("r2000x", "", "Z", "")) // sorts after r2000: the second chunk of ids
	ops = append(ops, fixture.Create(fixture.Person("late", "late@example.com", "", "")))
	got, err := pg.Write(ctx, ops)
	require.Zero(t, got)
	var re *sink.RecordError
	require.True(t, errors.As(err, &re), "%v", err)
	require.Equal(t, "r2000x", re.ID)
	require.ErrorIs(t, err, sink.ErrNotFound)
	require.Nil(t, fixture.Get(t, pg, "late"), "nothing of the failed batch is written")
}
