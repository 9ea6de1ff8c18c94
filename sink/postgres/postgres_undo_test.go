package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// undoAudit is the audit entry of the undos of these tests.
func undoAudit(undoID string) sink.AuditEntry {
	return sink.AuditEntry{Time: time.Now(), Reason: "wrong file", Actor: "test", RunID: undoID}
}

// revertRun reverts the run's log from the newest batch to the oldest, as
// an undo does, and returns the sum of the results and the batches
// reverted.
func revertRun(t *testing.T, u sink.Undoer, runID, undoID string) (sink.RevertResult, []int64) {
	t.Helper()
	res, seqs, err := tryRevertRun(u, runID, undoID)
	require.NoError(t, err)
	return res, seqs
}

// tryRevertRun is revertRun that returns the first error.
func tryRevertRun(u sink.Undoer, runID, undoID string) (sink.RevertResult, []int64, error) {
	var total sink.RevertResult
	var seqs []int64
	before := int64(0)
	for {
		res, more, err := u.Revert(context.Background(), runID, before, sink.RevertOptions{UndoID: undoID}, undoAudit(undoID))
		if err != nil || !more {
			return total, seqs, err
		}
		before = res.Seq
		seqs = append(seqs, res.Seq)
		total.Add(res)
	}
}

// snapshotAll reads every record of sch's object type, cloned.
func snapshotAll(t *testing.T, s sink.Scanner, sch *intake.Schema) map[string]*intake.Record {
	t.Helper()
	out := map[string]*intake.Record{}
	require.NoError(t, s.Scan(context.Background(), sch, func(r *intake.Record) error {
		out[r.ID] = r.Clone()
		return nil
	}))
	return out
}

// getAll returns the records ids of sch's object type that s holds.
func getAll(t *testing.T, s sink.Getter, sch *intake.Schema, ids []string) map[string]*intake.Record {
	t.Helper()
	got, err := s.Get(context.Background(), sch, ids)
	require.NoError(t, err)
	return got
}

// requireSnapshot requires s to hold exactly the records of want.
func requireSnapshot(t *testing.T, s sink.Scanner, sch *intake.Schema, want map[string]*intake.Record, msg string) {
	t.Helper()
	got := snapshotAll(t, s, sch)
	require.Len(t, got, len(want), msg)
	for id, w := range want {
		g := got[id]
		require.NotNil(t, g, "%s: %s is stored", msg, id)
		require.Equal(t, w.Values, g.Values, "%s: %s", msg, id)
		require.Equal(t, w.OptedOut, g.OptedOut, "%s: %s opted out", msg, id)
		require.Equal(t, w.Inactive, g.Inactive, "%s: %s inactive", msg, id)
	}
}

// TestPostgresUndoRefusedOps: without UndoRun.Refused, an anonymize and a
// delete without UndoRun.Deletes fail the batch by record; with it they
// are applied and the run is refused, the log of its batches before
// dropped.
func TestPostgresUndoRefusedOps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := openPostgres(t, postgres.Config{})
	fixture.Write(t, pg, fixture.Create(fixture.Person("a", "a@x.io", "Ann", "")), fixture.Create(fixture.Person("b", "b@x.io", "Ben", "")))
	lifecycle := func(kind sink.OpKind, id string) *sink.Op {
		r := fixture.Person(id, "", "", "")
		r.Line = 7
		return &sink.Op{Kind: kind, Record: r, Audit: &sink.AuditEntry{Time: time.Now(), Reason: "request"}}
	}
	run := sink.UndoRun{RunID: "r1"}
	for _, op := range []*sink.Op{lifecycle(sink.OpAnonymize, "a"), lifecycle(sink.OpDelete, "a")} {
		n, err := pg.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("b", "", "Benny", "")), op}, run, nil)
		require.Zero(t, n)
		var re *sink.RecordError
		require.ErrorAs(t, err, &re, op.Kind.String())
		require.ErrorIs(t, err, sink.ErrInvalidOp)
		require.Equal(t, []any{"contact", "a", 7}, []any{re.Object, re.ID, re.Line})
	}
	require.Equal(t, "Ben", fixture.Get(t, pg, "b").Get("first_name").Str(), "the batch failed whole")
	_, err := pg.UndoStatus(ctx, "r1")
	require.ErrorIs(t, err, sink.ErrNoUndo)

	// A batch kept, then the run turns out refused: its log goes.
	_, err = pg.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("b", "", "Benny", ""))}, run, nil)
	require.NoError(t, err)
	_, ok, err := pg.ReadUndo(ctx, "r1", 0)
	require.NoError(t, err)
	require.True(t, ok)
	run.Refused = "the job anonymizes"
	_, err = pg.WriteUndo(ctx, []*sink.Op{lifecycle(sink.OpAnonymize, "a"), lifecycle(sink.OpDelete, "b")}, run, nil)
	require.NoError(t, err)
	require.Nil(t, fixture.Get(t, pg, "b"))
	st, err := pg.UndoStatus(ctx, "r1")
	require.NoError(t, err)
	require.Equal(t, sink.UndoRefused, st.State)
	require.Equal(t, "the job anonymizes", st.Reason)
	require.Zero(t, st.Batches)
	// A later batch of the run without the reason keeps nothing either.
	// (A run that an undo began refuses its batches: see
	// TestPostgresUndoWriteWhileUndoing.)
	run.Refused = ""
	_, err = pg.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("a", "", "Anna", ""))}, run, nil)
	require.NoError(t, err)
	st, err = pg.UndoStatus(ctx, "r1")
	require.NoError(t, err)
	require.Equal(t, sink.UndoRefused, st.State)
	require.Zero(t, st.Batches)
}

// TestPostgresUndoMigrations: a store of an earlier version, without the
// undo tables, gets them from New; with SkipMigrations the Undoer's methods
// say to run Migrations.
func TestPostgresUndoMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgtest.Schema(t)
	openPostgres(t, postgres.Config{Schema: schema})
	_, err := testPool(t).Exec(ctx, `DROP TABLE `+schema+`.intake_undo, `+schema+`.intake_undo_runs`)
	require.NoError(t, err)
	old := openPostgres(t, postgres.Config{Schema: schema, SkipMigrations: true})
	fixture.Write(t, old, fixture.Create(fixture.Person("a", "a@x.io", "Ann", "")))
	_, err = old.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("a", "", "Anna", ""))}, sink.UndoRun{RunID: "r1"}, nil)
	require.ErrorContains(t, err, "postgres.Migrations")
	require.Equal(t, "Ann", fixture.Get(t, old, "a").Get("first_name").Str())
	_, err = old.UndoStatus(ctx, "r1")
	require.ErrorContains(t, err, "postgres.Migrations")

	pg := openPostgres(t, postgres.Config{Schema: schema})
	_, err = pg.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("a", "", "Anna", ""))}, sink.UndoRun{RunID: "r1"}, nil)
	require.NoError(t, err)
	res, seqs := revertRun(t, pg, "r1", "u1")
	require.Equal(t, []int64{1}, seqs)
	require.Equal(t, 1, res.Restored)
	require.Equal(t, "Ann", fixture.Get(t, pg, "a").Get("first_name").Str())
}

// TestPostgresUndoUnlink: a run that deletes records with Unlink keeps the
// links it removes from other records, in the store's own tables (an id
// field, a multi-select field, a record that the same batch created with
// a link) and in a host's: an undo puts the deleted record and every link
// back.
func TestPostgresUndoUnlink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id := fixture.HostID
	check := func(t *testing.T, pg *postgres.Store) {
		fixture.Write(t, pg,
			fixture.Create(fixture.Referral(id(1), "c1@example.com", "", "acct-1")),
			fixture.Create(fixture.Referral(id(2), "c2@example.com", id(1), "acct-1", id(1), id(3))),
			fixture.Create(fixture.Referral(id(3), "c3@example.com", id(1), "", id(1))),
		)
		ids := []string{id(1), id(2), id(3), id(4)}
		before := getAll(t, pg, fixture.Referring, ids)
		run := sink.UndoRun{RunID: "unlink-run", Deletes: true}
		// A record created by the batch with links to the record it
		// deletes: the batch removes them too.
		_, err := pg.WriteUndo(ctx, []*sink.Op{
			fixture.Create(fixture.Referral(id(4), "c4@example.com", id(1), "", id(1), id(2))),
			fixture.Unlinking(sink.OpDelete, id(1)),
		}, run, nil)
		require.NoError(t, err)
		require.Equal(t, [][]string{nil, {id(3)}, {"acct-1"}}, fixture.LinksOf(t, pg, id(2)))
		require.Equal(t, [][]string{nil, nil, nil}, fixture.LinksOf(t, pg, id(3)))
		require.Equal(t, [][]string{nil, {id(2)}, nil}, fixture.LinksOf(t, pg, id(4)))

		b, ok, err := pg.ReadUndo(ctx, "unlink-run", 0)
		require.NoError(t, err)
		require.True(t, ok)
		kinds := map[string][]sink.UndoKind{}
		for _, e := range b.Entries {
			kinds[e.ID] = append(kinds[e.ID], e.Kind)
			if e.ID == id(2) {
				require.ElementsMatch(t, []sink.FieldChange{
					{Name: "referred_by", Before: intake.Text(id(1)), After: intake.Null},
					{Name: "friends", Before: intake.List(id(1), id(3)), After: intake.List(id(3))},
				}, e.Fields)
				require.Equal(t, 4, e.Line, "the line of the op that removed the links")
			}
		}
		require.Equal(t, map[string][]sink.UndoKind{
			id(1): {sink.UndoDelete}, id(2): {sink.UndoUpdate}, id(3): {sink.UndoUpdate},
			id(4): {sink.UndoCreate, sink.UndoUpdate},
		}, kinds)

		res, _ := revertRun(t, pg, "unlink-run", "undo-unlink")
		require.Zero(t, res.Conflicted)
		require.Equal(t, 1, res.Reverted, "the record the run created")
		require.Equal(t, before, getAll(t, pg, fixture.Referring, ids), "after the undo")
		require.Equal(t, [][]string{{id(1)}, {id(1), id(3)}, {"acct-1"}}, fixture.LinksOf(t, pg, id(2)))
	}
	t.Run("own", func(t *testing.T) {
		t.Parallel()
		check(t, openPostgres(t, postgres.Config{}))
	})
	t.Run("host", func(t *testing.T) {
		t.Parallel()
		pool := testPool(t)
		schema := pgtest.Schema(t)
		_, err := pool.Exec(ctx, sprintf(hostContacts, schema, "uuid"))
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `ALTER TABLE `+schema+`.contacts ADD COLUMN referrer uuid, ADD COLUMN pals text[]`)
		require.NoError(t, err)
		m := fixture.HostMapping()
		m.Columns["referred_by"], m.Columns["friends"] = "referrer", "pals"
		pg := openPostgres(t, postgres.Config{Schema: schema, Tables: map[string]sink.TableMapping{"contact": m}})
		require.NoError(t, pg.EnsureSchema(ctx, fixture.Referring))
		check(t, pg)
	})
}

// undoRunPlan writes the records of a long run's tests and the run: base
// contacts written without undo, then batches of the run, each creating
// records, updating base records and records of the run's earlier
// batches (some fields set, some cleared, some unchanged), opting out,
// inactivating and deleting base records (UndoRun.Deletes). It returns the
// records as they were before the run and after each of its batches
// (states[i] after i batches), and the number of entries the run kept.
func undoRunPlan(t *testing.T, pg *postgres.Store, runID string, batches int) (states []map[string]*intake.Record, entries int) {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 9))
	const base = 400
	var ops []*sink.Op
	for i := range base {
		p := fixture.Person(fmt.Sprintf("b%03d", i), fmt.Sprintf("b%d@x.io", i), fixture.GenFirst[i%len(fixture.GenFirst)], fixture.GenLast[i%len(fixture.GenLast)])
		p.Set("city", intake.Text(fixture.GenCities[i%len(fixture.GenCities)]))
		ops = append(ops, fixture.Create(p))
	}
	fixture.Write(t, pg, ops...)
	states = append(states, snapshotAll(t, pg, fixture.Contact))
	audit := func() *sink.AuditEntry { return &sink.AuditEntry{Time: time.Now(), Reason: "left"} }
	deleted := map[string]bool{}
	live := func() string {
		for {
			if id := fmt.Sprintf("b%03d", r.IntN(base)); !deleted[id] {
				return id
			}
		}
	}
	for b := range batches {
		ops = ops[:0]
		for i := range 8 {
			p := fixture.Person(fmt.Sprintf("n%02d-%d", b, i), fmt.Sprintf("n%d.%d@x.io", b, i), "New", "")
			p.Line = 2 + i
			ops = append(ops, fixture.Create(p))
		}
		for i := range 30 {
			p := fixture.Person(live(), "", fmt.Sprintf("F%d-%d", b, i), "")
			p.Set("city", intake.Text(fmt.Sprintf("City %d", r.IntN(20))))
			var clear []int
			if i%5 == 0 {
				clear = append(clear, fixture.Contact.Index("last_name"))
			}
			ops = append(ops, fixture.Update(p, clear...))
		}
		if b > 0 {
			for i := range 3 {
				ops = append(ops, fixture.Update(fixture.Person(fmt.Sprintf("n%02d-%d", b-1, i), "", "", fmt.Sprintf("Later%d", b))))
			}
		}
		ops = append(ops, fixture.OptOut(live()))
		ops = append(ops, &sink.Op{Kind: sink.OpInactivate, Record: fixture.Person(live(), "", "", ""), Audit: audit()})
		del := live()
		deleted[del] = true
		ops = append(ops, &sink.Op{Kind: sink.OpDelete, Record: fixture.Person(del, "", "", ""), Audit: audit()})
		_, err := pg.WriteUndo(ctx, ops, sink.UndoRun{RunID: runID, Job: "contacts", Deletes: true}, nil)
		require.NoError(t, err)
		lb, ok, err := pg.ReadUndo(ctx, runID, 0)
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, b+1, lb.Seq)
		entries += len(lb.Entries)
		states = append(states, snapshotAll(t, pg, fixture.Contact))
	}
	return states, entries
}

// TestPostgresUndoTwoUndoers: two handles on the store (pools of their
// own, as two processes) revert the same long run at once: each batch is
// reverted once, by one of them, from the newest to the oldest, and the
// records end exactly as before the run. Both end without error, whether
// they run one undo or two: the one that finds the run undone by the other
// ends its undo.
func TestPostgresUndoTwoUndoers(t *testing.T) {
	t.Parallel()
	const batches = 30
	for _, same := range []bool{true, false} {
		t.Run(fmt.Sprintf("one_undo=%v", same), func(t *testing.T) {
			t.Parallel()
			schema := pgtest.Schema(t)
			pg := openPostgres(t, postgres.Config{Schema: schema})
			states, entries := undoRunPlan(t, pg, "long", batches)
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([]sink.RevertResult, 2)
			seqs := make([][]int64, 2)
			errs := make([]error, 2)
			for i := range 2 {
				other := reopenPostgres(t, pg).(*postgres.Store)
				require.NoError(t, other.Pool().Ping(context.Background()))
				undoID := "undo"
				if !same {
					undoID = fmt.Sprintf("undo-%d", i)
				}
				wg.Go(func() {
					<-start
					results[i], seqs[i], errs[i] = tryRevertRun(other, "long", undoID)
				})
			}
			close(start)
			wg.Wait()
			st, err := pg.UndoStatus(context.Background(), "long")
			require.NoError(t, err)
			require.Equal(t, sink.UndoUndone, st.State)
			require.Zero(t, st.Batches)
			for i, err := range errs {
				require.NoError(t, err, "undoer %d", i)
			}
			all := append(slices.Clone(seqs[0]), seqs[1]...)
			slices.Sort(all)
			want := make([]int64, batches)
			for i := range want {
				want[i] = int64(i + 1)
			}
			require.Equal(t, want, all, "each batch reverted once")
			require.NotEmpty(t, seqs[0], "both undoers reverted batches")
			require.NotEmpty(t, seqs[1], "both undoers reverted batches")
			results[0].Add(results[1])
			require.Equal(t, entries, results[0].Entries)
			require.Zero(t, results[0].Conflicted)
			requireSnapshot(t, pg, fixture.Contact, states[0], "after two undoers")
		})
	}
}

// undoChildEnv names the schema whose run "long" the child process of
// TestPostgresUndoKilled reverts.
const undoChildEnv = "INTAKE_TEST_UNDO_CHILD"

// TestPostgresUndoKilledChild is the child process of
// TestPostgresUndoKilled: it reverts the run until it is killed.
func TestPostgresUndoKilledChild(t *testing.T) {
	schema := os.Getenv(undoChildEnv)
	if schema == "" {
		t.Skip("the child process of TestPostgresUndoKilled")
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["application_name"] = "intake-undo-child-" + schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema})
	require.NoError(t, err)
	revertRun(t, pg, "long", "undo-child")
	t.Fatal("the undo finished before it was killed")
}

// TestPostgresUndoKilled: a process that reverts a long run is killed
// (SIGKILL) half way through; every batch is reverted or as it was — the
// records are exactly as the run's batches still in the log left them —
// and an undo run again finishes the job: the records end exactly as
// before the run.
func TestPostgresUndoKilled(t *testing.T) {
	t.Parallel()
	const batches = 50
	ctx := context.Background()
	schema := pgtest.Schema(t)
	pg := openPostgres(t, postgres.Config{Schema: schema})
	states, _ := undoRunPlan(t, pg, "long", batches)

	cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresUndoKilledChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), undoChildEnv+"="+schema)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var st sink.UndoStatus
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		var err error
		st, err = pg.UndoStatus(ctx, "long")
		require.NoError(t, err)
		if st.Batches <= batches*2/3 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the child exited: %v\n%s", err, out.String())
		default:
		}
		require.Less(t, time.Since(start), time.Minute, "the child reverted nothing:\n%s", out.String())
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Error(t, <-exited)
	// The server rolls back the child's open transaction once its backend
	// finds the connection gone.
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		var n int
		require.NoError(t, testPool(t).QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, "intake-undo-child-"+schema).Scan(&n))
		if n == 0 {
			break
		}
		require.Less(t, time.Since(start), time.Minute, "the child's backends outlived it")
	}

	st, err := pg.UndoStatus(ctx, "long")
	require.NoError(t, err)
	require.Equal(t, sink.UndoUndoing, st.State)
	require.Equal(t, "undo-child", st.UndoneBy)
	require.Positive(t, st.Batches)
	require.Less(t, st.Batches, int64(batches))
	t.Logf("killed with %d of %d batches left", st.Batches, batches)
	requireSnapshot(t, pg, fixture.Contact, states[st.Batches], "as the batches left in the log wrote it")

	res, seqs := revertRun(t, pg, "long", "undo-again")
	require.Len(t, seqs, int(st.Batches))
	require.Zero(t, res.Conflicted)
	requireSnapshot(t, pg, fixture.Contact, states[0], "after the killed undo and its rerun")
	st, err = pg.UndoStatus(ctx, "long")
	require.NoError(t, err)
	require.Equal(t, sink.UndoUndone, st.State)
	require.Equal(t, "undo-again", st.UndoneBy)
	log, err := pg.AuditLog(ctx, "contact", "")
	require.NoError(t, err)
	last := log[len(log)-1]
	require.Equal(t, []string{sink.ActionUndo, "run", "long", "undo-again"}, []string{last.Action, last.TargetObject, last.TargetID, last.RunID})
}

// TestPostgresUndoKeyGuard: a revert that gives a record its key back is
// a write like any other for the guard of Op.Unique: a Lookup that missed
// the key before the revert does not let a guarded create take it again.
func TestPostgresUndoKeyGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := openPostgres(t, postgres.Config{})
	fixture.Write(t, pg, fixture.Create(fixture.Person("a", "x@example.com", "Ann", "")))
	_, err := pg.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("a", "y@example.com", "", ""))}, sink.UndoRun{RunID: "r1"}, nil)
	require.NoError(t, err)
	require.Empty(t, fixture.Lookup(t, pg, fixture.ByEmail, "x@example.com"), "the run took the key away")
	revertRun(t, pg, "r1", "u1")
	require.Equal(t, []string{"a"}, fixture.Lookup(t, reopenPostgres(t, pg).(*postgres.Store), fixture.ByEmail, "x@example.com")["x@example.com"])

	op := fixture.Create(fixture.Person("b", "x@example.com", "Bea", ""))
	op.Unique = []intake.KeySpec{fixture.ByEmail}
	require.Equal(t, []intake.Outcome{intake.OutcomeSkipped}, fixture.Write(t, pg, op))
	require.Equal(t, []string{"a"}, op.Existing)
}

// TestPostgresUndoWriteWhileUndoing: a batch of a run whose undo began and
// left conflicts (undoing) fails with ErrNotUndoable, writing nothing; so
// does one that waited for the run's row while an undo held it.
func TestPostgresUndoWriteWhileUndoing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := openPostgres(t, postgres.Config{})
	fixture.Write(t, pg, fixture.Create(fixture.Person("a", "a@x.io", "Ann", "")))
	run := sink.UndoRun{RunID: "r1"}
	_, err := pg.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("a", "", "Anna", ""))}, run, nil)
	require.NoError(t, err)
	fixture.Write(t, pg, fixture.Update(fixture.Person("a", "", "Annie", "")))
	res, _ := revertRun(t, pg, "r1", "u1")
	require.Equal(t, 1, res.Conflicted)
	n, err := pg.WriteUndo(ctx, []*sink.Op{fixture.Create(fixture.Person("b", "b@x.io", "Ben", ""))}, run, nil)
	require.ErrorIs(t, err, sink.ErrNotUndoable)
	require.Zero(t, n)
	require.Nil(t, fixture.Get(t, pg, "b"), "nothing is written")

	// A batch waiting for the run's row while a revert holds it.
	_, err = pg.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("a", "", "Ada", ""))}, sink.UndoRun{RunID: "r2"}, nil)
	require.NoError(t, err)
	tx, err := testPool(t).Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	schema := pgConfigSchema(t, pg)
	_, err = tx.Exec(ctx, `UPDATE `+schema+`.intake_undo_runs SET state = 'undoing', undone_by = 'u2' WHERE run_id = 'r2'`)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := pg.WriteUndo(ctx, []*sink.Op{fixture.Create(fixture.Person("c", "c@x.io", "Cid", ""))}, sink.UndoRun{RunID: "r2"}, nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the batch did not wait for the run's row: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, tx.Commit(ctx))
	require.ErrorIs(t, <-done, sink.ErrNotUndoable)
	require.Nil(t, fixture.Get(t, pg, "c"))
}

// pgConfigSchema returns the schema the sink was opened on.
func pgConfigSchema(t *testing.T, pg *postgres.Store) string {
	cfg, ok := pgConfigs.Load(pg)
	require.True(t, ok)
	return cfg.(postgres.Config).Schema
}
