package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// TestPostgresMemoReplicaRoleInsert: a row the host's SQL inserts with
// session_replication_role = replica (bulk loaders, pg_restore
// --disable-triggers, a logical replication subscriber) fires no ordinary
// trigger; the log's trigger fires always, so the guard of Op.Unique
// still finds the key the row holds.
func TestPostgresMemoReplicaRoleInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, schema := pgtest.Pool(t)
	a, err := New(ctx, pool, Config{Schema: schema})
	require.NoError(t, err)
	seed := &sink.Op{Kind: sink.OpCreate, Record: fixture.Person("seed", "seed@example.com", "", "")}
	_, err = a.Write(ctx, []*sink.Op{seed})
	require.NoError(t, err)

	res, err := a.Lookup(ctx, fixture.Contact, fixture.ByEmail, []intake.Key{"r@example.com"})
	require.NoError(t, err)
	require.Empty(t, res)

	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `SET session_replication_role = replica`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO `+schema+`.intake_contact (id, email, k_email, created_at, updated_at) VALUES ('h', 'r@example.com', 'r@example.com', now(), now())`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `RESET session_replication_role`)
	require.NoError(t, err)
	conn.Release()

	op := &sink.Op{Kind: sink.OpCreate, Record: fixture.Person("r", "r@example.com", "", ""), Unique: []intake.KeySpec{fixture.ByEmail}}
	_, err = a.Write(ctx, []*sink.Op{op})
	require.NoError(t, err)
	require.Equal(t, intake.OutcomeSkipped, op.Outcome, "the key the host's row holds is found")
	require.Equal(t, []string{"h"}, op.Existing)
}

// TestPostgresGuardRepeatableRead: a host whose pool's sessions default to
// REPEATABLE READ (default_transaction_isolation, set on the pool, the
// role or the database). Two stores create the same key with Op.Unique;
// both write transactions take their snapshot before the second one gets
// the key's lock, so its check under the lock cannot see the first one's
// record. The guard must hold the second create anyway (KeyGuard).
func TestPostgresGuardRepeatableRead(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	schema := pgtest.Schema(t)
	rrPool := func() *pgxpool.Pool {
		cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
		require.NoError(t, err)
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "repeatable read"
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(p.Close)
		return p
	}
	// A store on a pool of its own adds the key column first; the two
	// writers then open with it and hold no memo of the key, so both look
	// it up again under the guard's locks.
	c, err := New(ctx, pgtest.NewPool(t, schema), Config{Schema: schema})
	require.NoError(t, err)
	_, err = c.Lookup(ctx, fixture.Contact, fixture.ByEmail, []intake.Key{"x@example.com"})
	require.NoError(t, err)
	a, err := New(ctx, rrPool(), Config{Schema: schema})
	require.NoError(t, err)
	b, err := New(ctx, rrPool(), Config{Schema: schema})
	require.NoError(t, err)
	a.mu.RLock()
	table := a.tables["contact"].name
	a.mu.RUnlock()

	// Another session holds the table's guard lock: both writes start,
	// take their snapshots and wait for it.
	side := pgtest.NewPool(t, schema)
	hold, err := side.Begin(ctx)
	require.NoError(t, err)
	defer hold.Rollback(context.Background()) //nolint:errcheck // ended below
	_, err = hold.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, pgLockID(table))
	require.NoError(t, err)

	ops := []*sink.Op{
		{Kind: sink.OpCreate, Record: fixture.Person("a1", "x@example.com", "", ""), Unique: []intake.KeySpec{fixture.ByEmail}},
		{Kind: sink.OpCreate, Record: fixture.Person("b1", "x@example.com", "", ""), Unique: []intake.KeySpec{fixture.ByEmail}},
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Write(ctx, []*sink.Op{ops[i]})
		}()
	}
	require.Eventually(t, func() bool {
		var n int
		err := side.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&n)
		return err == nil && n >= 2
	}, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, hold.Rollback(ctx))
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	var n int
	require.NoError(t, side.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE k_email = 'x@example.com'`).Scan(&n))
	require.Equal(t, 1, n, "one record per key (outcomes %v, %v)", ops[0].Outcome, ops[1].Outcome)
}
