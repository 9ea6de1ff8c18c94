package postgres

import (
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/stretchr/testify/require"
)

// memoHas reports whether the memo of s holds key k of the email column:
// a Lookup missed it and no write has used it since.
func memoHas(s *Store, k string) bool {
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	c := s.memo.cols[memoName("contact", "k_email")]
	return c != nil && c.keys[k] != nil
}

// TestPostgresMemo checks when the guard of Op.Unique trusts the Lookup
// that missed a key instead of looking it up again (the memo forgets the
// key then), and that it looks again — and holds the create — whenever
// something may have written the key since: another handle on the store,
// the host's own SQL, this process's own write of the key, a pruned log,
// a table without the log's trigger.
func TestPostgresMemo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.Pool(t)
	a, err := New(ctx, pool, Config{Schema: schema})
	require.NoError(t, err)
	b, err := New(ctx, pgtest.NewPool(t, schema), Config{Schema: schema})
	require.NoError(t, err)
	require.True(t, a.logging)
	byEmail := fixture.ByEmail
	unique := []intake.KeySpec{byEmail}
	create := func(s *Store, id, email string, guarded bool) *sink.Op {
		op := &sink.Op{Kind: sink.OpCreate, Record: fixture.Person(id, email, "", "")}
		if guarded {
			op.Unique = unique
		}
		_, err := s.Write(ctx, []*sink.Op{op})
		require.NoError(t, err)
		return op
	}
	lookup := func(s *Store, keys ...intake.Key) map[intake.Key][]string {
		res, err := s.Lookup(ctx, fixture.Contact, byEmail, keys)
		require.NoError(t, err)
		return res
	}
	create(a, "seed", "seed@example.com", false)

	// Nothing wrote the key: the guard trusts the Lookup.
	require.Empty(t, lookup(a, "k1@example.com"))
	require.True(t, memoHas(a, "k1@example.com"))
	op := create(a, "k1", "k1@example.com", true)
	require.Equal(t, intake.OutcomeCreated, op.Outcome)
	require.False(t, memoHas(a, "k1@example.com"), "the write used the memo")

	// Another handle wrote it: held.
	require.Empty(t, lookup(a, "k2@example.com"))
	create(b, "b2", "k2@example.com", false)
	op = create(a, "k2", "k2@example.com", true)
	require.Equal(t, intake.OutcomeSkipped, op.Outcome)
	require.Equal(t, []string{"b2"}, op.Existing)

	// The host's own SQL wrote it: held.
	require.Empty(t, lookup(a, "k3@example.com"))
	_, err = pool.Exec(ctx, `INSERT INTO `+schema+`.intake_contact (id, email, k_email, created_at, updated_at) VALUES ('h3', 'k3@example.com', 'k3@example.com', now(), now())`)
	require.NoError(t, err)
	op = create(a, "k3", "k3@example.com", true)
	require.Equal(t, intake.OutcomeSkipped, op.Outcome)
	require.Equal(t, []string{"h3"}, op.Existing)

	// Two runs of this process looked it up; the first created it: the
	// second's create is held. A key this process's writes did not write
	// stays free meanwhile.
	require.Empty(t, lookup(a, "k4@example.com", "k5@example.com"))
	create(a, "k4", "k4@example.com", true)
	require.Empty(t, lookup(a, "k4b@example.com"))
	op = create(a, "k4-again", "k4@example.com", true)
	require.Equal(t, intake.OutcomeSkipped, op.Outcome)
	require.Equal(t, []string{"k4"}, op.Existing)
	require.True(t, memoHas(a, "k5@example.com"))
	require.Equal(t, intake.OutcomeCreated, create(a, "k5", "k5@example.com", true).Outcome)
	require.False(t, memoHas(a, "k5@example.com"), "own writes of other keys leave the Lookup trusted")
	// This process wrote the key without the guard (another run's create
	// without Unique): the write drops it from the memo, and the create is
	// held.
	require.Empty(t, lookup(a, "k9@example.com"))
	create(a, "x9", "k9@example.com", false)
	require.False(t, memoHas(a, "k9@example.com"))
	op = create(a, "k9", "k9@example.com", true)
	require.Equal(t, intake.OutcomeSkipped, op.Outcome)
	require.Equal(t, []string{"x9"}, op.Existing)

	// Another handle wrote it and the log was pruned since: the pruning
	// moved the horizon past the Lookup, which is no longer trusted.
	require.Empty(t, lookup(a, "k6@example.com"))
	create(b, "b6", "k6@example.com", false)
	horizon := func() (x string) {
		require.NoError(t, pool.QueryRow(ctx, `SELECT xact::text FROM `+schema+`.intake_write_horizon WHERE object = 'contact'`).Scan(&x))
		return x
	}
	before := horizon()
	a.pruneLog(ctx, "contact")
	require.NotEqual(t, before, horizon(), "pruning moves the horizon")
	// (What it deletes depends on the oldest transaction of the server.)
	_, err = pool.Exec(ctx, `DELETE FROM `+schema+`.intake_writes`)
	require.NoError(t, err)
	op = create(a, "k6", "k6@example.com", true)
	require.Equal(t, intake.OutcomeSkipped, op.Outcome)
	require.Equal(t, []string{"b6"}, op.Existing)

	// A table without the trigger (its horizon gone with it) is never
	// trusted.
	_, err = pool.Exec(ctx, `DROP TRIGGER intake_log_write ON `+schema+`.intake_contact; DELETE FROM `+schema+`.intake_write_horizon`)
	require.NoError(t, err)
	require.Empty(t, lookup(a, "k7@example.com"))
	_, err = pool.Exec(ctx, `INSERT INTO `+schema+`.intake_contact (id, email, k_email, created_at, updated_at) VALUES ('h7', 'k7@example.com', 'k7@example.com', now(), now())`)
	require.NoError(t, err)
	op = create(a, "k7", "k7@example.com", true)
	require.Equal(t, intake.OutcomeSkipped, op.Outcome)
	require.Equal(t, []string{"h7"}, op.Existing)

	// New gives it the trigger again; the log then works as before.
	_, err = New(ctx, pool, Config{Schema: schema})
	require.NoError(t, err)
	require.Empty(t, lookup(a, "k8@example.com"))
	_, err = pool.Exec(ctx, `INSERT INTO `+schema+`.intake_contact (id, email, k_email, created_at, updated_at) VALUES ('h8', 'k8@example.com', 'k8@example.com', now(), now())`)
	require.NoError(t, err)
	op = create(a, "k8", "k8@example.com", true)
	require.Equal(t, intake.OutcomeSkipped, op.Outcome)
	require.Equal(t, []string{"h8"}, op.Existing)
}

// TestPgMemo checks the memo's rules without a database: a Lookup is
// trusted when its snapshot sees the horizon and misses only writes of
// this process that dropped their keys after the memo recorded it.
func TestPgMemo(t *testing.T) {
	var m pgMemo
	keys := []intake.Key{"a", "b", "c"}
	m.remember("o", "k", "s1", []string{"a", "b"})
	m.wrote("o", 10, map[string][]string{"k": {"b"}}) // own write 10 wrote b
	m.remember("o", "k", "s2", []string{"c"})         // recorded after write 10 dropped its keys
	require.ElementsMatch(t, []string{"s1", "s2"}, m.snapshots("o", []string{"k"}))
	usable := func(xacts ...uint64) pgSnapCheck { return pgSnapCheck{usable: true, invisible: xacts} }

	// Neither snapshot sees write 10: s1 was recorded before it dropped
	// its keys (a stays free, b is gone), s2 after (c must be looked up).
	free := m.free("o", "k", keys, map[string]pgSnapCheck{"s1": usable(10), "s2": usable(10)})
	require.Equal(t, map[intake.Key]bool{"a": true}, free)
	require.Equal(t, []string{"s2"}, m.snapshots("o", []string{"k"}), "s1 has no keys left")

	// A transaction of another writer, or a snapshot that does not see
	// the horizon: nothing is free.
	m.remember("o", "k", "s3", []string{"d", "e"})
	require.Empty(t, m.free("o", "k", []intake.Key{"d"}, map[string]pgSnapCheck{"s3": usable(11)}))
	require.Empty(t, m.free("o", "k", []intake.Key{"d"}, map[string]pgSnapCheck{"s3": {}}))
	require.Empty(t, m.free("o", "k", []intake.Key{"d"}, nil))
	require.Equal(t, map[intake.Key]bool{"d": true, "e": true}, m.free("o", "k", []intake.Key{"d", "e", "x"}, map[string]pgSnapCheck{"s3": usable()}))

	// A Lookup that found a key drops it; the oldest Lookups make room.
	m.remember("o", "k", "s4", []string{"f"})
	m.forget("o", "k", []string{"f"})
	require.Empty(t, m.free("o", "k", []intake.Key{"f"}, map[string]pgSnapCheck{"s4": usable()}))
	for i := range pgMemoGens {
		m.remember("o", "k", "g"+string(rune('0'+i)), []string{"g"})
	}
	m.mu.Lock()
	require.Len(t, m.cols[memoName("o", "k")].gens, pgMemoGens)
	m.mu.Unlock()
}
