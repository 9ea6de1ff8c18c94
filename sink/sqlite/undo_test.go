package sqlite_test

// Sink-specific tests of the undo log; the behaviour every sink shares is
// in the kit (sink/sinktest/undo.go).

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

// undoSink is a sink of the tests that keeps undo logs.
type undoSink interface {
	sink.Sink
	sink.Getter
	sink.Undoer
	sink.Auditor
}

// revertAll reverts the run runID from its newest batch to its oldest with
// the undo undoID, and returns the sum of the results.
func revertAll(t *testing.T, u sink.Undoer, runID, undoID string) sink.RevertResult {
	t.Helper()
	res, err := revertRun(u, runID, undoID, 0)
	require.NoError(t, err)
	return res
}

// revertRun is revertAll that returns the first error, and waits for
// pause between two batches.
func revertRun(u sink.Undoer, runID, undoID string, pause time.Duration) (sink.RevertResult, error) {
	var total sink.RevertResult
	before := int64(0)
	for {
		if before > 0 {
			time.Sleep(pause)
		}
		res, more, err := u.Revert(context.Background(), runID, before, sink.RevertOptions{UndoID: undoID},
			sink.AuditEntry{Time: time.Now(), Reason: "test", RunID: undoID})
		if err != nil || !more {
			return total, err
		}
		if before > 0 && res.Seq >= before {
			return total, fmt.Errorf("Revert below %d reverted batch %d", before, res.Seq)
		}
		before = res.Seq
		total.Add(res)
	}
}

// getAll returns the records ids of sch in s, cloned.
func getAll(t *testing.T, s sink.Getter, sch *intake.Schema, ids ...string) map[string]*intake.Record {
	t.Helper()
	got, err := s.Get(context.Background(), sch, ids)
	require.NoError(t, err)
	out := make(map[string]*intake.Record, len(got))
	for id, r := range got {
		out[id] = r.Clone()
	}
	return out
}

// requireRecords requires got to hold the records of want, with the same
// values and flags, and no other.
func requireRecords(t *testing.T, want, got map[string]*intake.Record, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for id, w := range want {
		g := got[id]
		require.NotNil(t, g, "%s: %s is stored", msg, id)
		require.Equal(t, w.Values, g.Values, "%s: values of %s", msg, id)
		require.Equal(t, w.OptedOut, g.OptedOut, "%s: %s opted out", msg, id)
		require.Equal(t, w.Inactive, g.Inactive, "%s: %s inactive", msg, id)
	}
}

// TestSQLiteUndoUnlink: the undo of a run whose delete removed the links
// to the deleted record (Op.Unlink) puts the record back with its flags,
// and the links back into the records that held them (an id field and a
// multi-select), in a Store and in a host table whose link fields are
// members of its JSON column or columns of their own.
func TestSQLiteUndoUnlink(t *testing.T) {
	t.Parallel()
	sinks := map[string]func(t *testing.T) undoSink{
		"store": func(t *testing.T) undoSink { return openSQLite(t, filepath.Join(t.TempDir(), "u.db")) },
		"table-json": func(t *testing.T) undoSink {
			_, ht := openSQLiteHost(t)
			return ht
		},
		"table-columns": func(t *testing.T) undoSink {
			db, _ := openSQLiteHost(t)
			_, err := db.Exec(`ALTER TABLE contacts ADD COLUMN referrer TEXT; ALTER TABLE contacts ADD COLUMN pals TEXT`)
			require.NoError(t, err)
			m := sqliteHostMapping()
			m.Columns["referred_by"], m.Columns["friends"] = "referrer", "pals"
			ht, err := sqlite.NewTable(context.Background(), db, intake.ObjectContact, m, sqlite.Config{})
			require.NoError(t, err)
			return ht
		},
	}
	for name, open := range sinks {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := open(t)
			id := fixture.HostID
			fixture.Write(t, s,
				fixture.Create(fixture.Referral(id(1), "c1@example.com", "", "acct-1")),
				fixture.Create(fixture.Referral(id(2), "c2@example.com", id(1), "acct-1", id(1), id(3))),
				fixture.Create(fixture.Referral(id(3), "c3@example.com", id(1), "", id(1))),
				fixture.Create(fixture.Referral(id(4), "c4@example.com", id(3), "")),
			)
			fixture.Write(t, s, &sink.Op{Kind: sink.OpOptOut, Record: &intake.Record{Schema: fixture.Referring, ID: id(1)}})
			ids := []string{id(1), id(2), id(3), id(4)}
			before := getAll(t, s, fixture.Referring, ids...)
			require.True(t, before[id(1)].OptedOut)

			run := sink.UndoRun{RunID: "run-unlink", Deletes: true}
			n, err := s.WriteUndo(ctx, []*sink.Op{fixture.Unlinking(sink.OpDelete, id(1))}, run, nil)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			require.Nil(t, getAll(t, s, fixture.Referring, id(1))[id(1)])
			require.Equal(t, [][]string{nil, {id(3)}, {"acct-1"}}, fixture.LinksOf(t, s, id(2)))
			require.Equal(t, [][]string{nil, nil, nil}, fixture.LinksOf(t, s, id(3)))

			lb, ok, err := s.ReadUndo(ctx, run.RunID, 0)
			require.NoError(t, err)
			require.True(t, ok)
			byID := map[string]sink.UndoEntry{}
			for _, e := range lb.Entries {
				byID[e.ID] = e
			}
			require.Len(t, lb.Entries, 3, "the delete, and an entry per record that lost links")
			require.Equal(t, sink.UndoDelete, byID[id(1)].Kind)
			require.Equal(t, sink.FlagChange{Changed: true, Before: true}, byID[id(1)].OptedOut)
			require.ElementsMatch(t, []sink.FieldChange{
				{Name: "referred_by", Before: intake.Text(id(1)), After: intake.Null},
				{Name: "friends", Before: intake.List(id(1), id(3)), After: intake.List(id(3))},
			}, byID[id(2)].Fields)
			require.Equal(t, sink.UndoUpdate, byID[id(3)].Kind)
			require.Len(t, byID[id(3)].Fields, 2)

			res := revertAll(t, s, run.RunID, "undo-unlink")
			require.Equal(t, 3, res.Restored)
			require.Zero(t, res.Conflicted)
			requireRecords(t, before, getAll(t, s, fixture.Referring, ids...), "after the undo")
			st, err := s.UndoStatus(ctx, run.RunID)
			require.NoError(t, err)
			require.Equal(t, sink.UndoUndone, st.State)
			log, err := s.AuditLog(ctx, intake.ObjectContact, "")
			require.NoError(t, err)
			last := log[len(log)-1]
			require.Equal(t, sink.ActionUndo, last.Action)
			require.Equal(t, run.RunID, last.TargetID)
		})
	}
}

// TestSQLiteUndoRefusedOps: without UndoRun.Refused, a batch with an
// anonymize, or a delete of a run without Deletes, fails before it writes
// anything with a *sink.RecordError wrapping sink.ErrInvalidOp; so does a
// checkpoint, which the SQLite sinks do not keep. With Refused the batch
// is written and the run recorded as refused.
func TestSQLiteUndoRefusedOps(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]undoSink{
		"store": openSQLite(t, filepath.Join(t.TempDir(), "r.db")),
		"table": func() undoSink { _, ht := openSQLiteHost(t); return ht }(),
	} {
		ctx := context.Background()
		fixture.Write(t, s, fixture.Create(fixture.Person("1", "a@example.com", "Ann", "")))
		run := sink.UndoRun{RunID: "run-" + name}
		for _, op := range []*sink.Op{fixture.Unlinking(sink.OpAnonymize, "1"), fixture.Unlinking(sink.OpDelete, "1")} {
			op.Unlink = false
			n, err := s.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("1", "", "Anna", "")), op}, run, nil)
			require.Zero(t, n, "%s: %s", name, op.Kind)
			require.ErrorIs(t, err, sink.ErrInvalidOp, "%s: %s", name, op.Kind)
			var re *sink.RecordError
			require.ErrorAs(t, err, &re)
			require.Equal(t, "1", re.ID)
		}
		_, err := s.WriteUndo(ctx, []*sink.Op{fixture.Update(fixture.Person("1", "", "Anna", ""))}, run, &sink.Checkpoint{RunID: run.RunID, Line: 2})
		require.ErrorContains(t, err, "checkpoint", name)
		require.Equal(t, "Ann", fixture.Get(t, s, "1").Get("first_name").Str(), "%s: nothing written", name)
		_, err = s.UndoStatus(ctx, run.RunID)
		require.ErrorIs(t, err, sink.ErrNoUndo, name)

		run.Refused = "the job anonymizes"
		n, err := s.WriteUndo(ctx, []*sink.Op{fixture.Unlinking(sink.OpAnonymize, "1")}, run, nil)
		require.NoError(t, err, name)
		require.Equal(t, 1, n)
		st, err := s.UndoStatus(ctx, run.RunID)
		require.NoError(t, err, name)
		require.Equal(t, sink.UndoRefused, st.State, name)
		require.Equal(t, run.Refused, st.Reason, name)
	}
}

// TestSQLiteUndoSinksApart: a Store and a Table on one database each see
// only the runs they wrote: the other's run is ErrNoUndo to them, and
// PruneUndo leaves it alone.
func TestSQLiteUndoSinksApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ht := openSQLiteHost(t)
	st, err := sqlite.New(db, sqlite.Config{})
	require.NoError(t, err)
	for _, w := range []struct {
		s   undoSink
		run string
	}{{st, "store-run"}, {ht, "table-run"}} {
		n, err := w.s.WriteUndo(ctx, []*sink.Op{fixture.Create(fixture.Person(w.run, w.run+"@example.com", "", ""))}, sink.UndoRun{RunID: w.run}, nil)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	for _, c := range []struct {
		s           undoSink
		own, others string
	}{{st, "store-run", "table-run"}, {ht, "table-run", "store-run"}} {
		_, err := c.s.UndoStatus(ctx, c.others)
		require.ErrorIs(t, err, sink.ErrNoUndo)
		require.ErrorContains(t, err, "keeps its log")
		_, ok, err := c.s.ReadUndo(ctx, c.others, 0)
		require.NoError(t, err)
		require.False(t, ok)
		_, _, err = c.s.Revert(ctx, c.others, 0, sink.RevertOptions{UndoID: "u"}, sink.AuditEntry{Time: time.Now(), Reason: "x"})
		require.ErrorIs(t, err, sink.ErrNoUndo)
		_, ok, err = c.s.ReadUndo(ctx, c.own, 0)
		require.NoError(t, err)
		require.True(t, ok)
	}
	n, err := st.PruneUndo(ctx, sink.Retention{MaxRuns: -1, MaxAge: time.Nanosecond}, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n, "the store's run only")
	status, err := ht.UndoStatus(ctx, "table-run")
	require.NoError(t, err)
	require.Equal(t, sink.UndoKept, status.State)
}

// TestSQLiteUndoConcurrentReverts: two handles on one database (two
// processes, in effect) revert the same run at once: each batch is
// reverted by one of them, and the records are as before the run.
func TestSQLiteUndoConcurrentReverts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	a, b := openSQLite(t, path), openSQLite(t, path)
	seed := killedSeedRecords()[:500]
	fixture.Write(t, a, seed...)
	ids := make([]string, len(seed))
	for i, op := range seed {
		ids[i] = op.Record.ID
	}
	before := getAll(t, a, fixture.Contact, ids...)
	var entries int
	for k := range 20 {
		batch := killedBatch(k)
		for _, op := range batch { // the seed records of this test only
			var n int
			if _, err := fmt.Sscanf(op.Record.ID, "seed-%d", &n); err == nil {
				op.Record.ID = ids[n%len(ids)]
			}
		}
		_, err := a.WriteUndo(ctx, batch, sink.UndoRun{RunID: "run-c"}, nil)
		require.NoError(t, err)
		lb, ok, err := a.ReadUndo(ctx, "run-c", 0)
		require.NoError(t, err)
		require.True(t, ok)
		entries += len(lb.Entries)
	}
	res := make([]sink.RevertResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range []*sqlite.Store{a, b} {
		// A pause between batches lets the other's BEGIN IMMEDIATE, which
		// polls for the lock, take turns.
		wg.Go(func() { res[i], errs[i] = revertRun(s, "run-c", fmt.Sprintf("undo-%d", i), 2*time.Millisecond) })
	}
	wg.Wait()
	for i, err := range errs {
		// An undo whose first Revert comes once the other finished did
		// nothing, and finds the run undone.
		if !(errors.Is(err, sink.ErrNotUndoable) && res[i].Entries == 0) {
			require.NoError(t, err)
		}
	}
	t.Logf("entries reverted by each: %d, %d", res[0].Entries, res[1].Entries)
	require.Equal(t, entries, res[0].Entries+res[1].Entries, "every entry reverted once")
	require.Zero(t, res[0].Conflicted+res[1].Conflicted)
	got := getAll(t, a, fixture.Contact, ids...)
	requireRecords(t, before, got, "after the concurrent undos")
	var created int
	require.NoError(t, a.DB().QueryRowContext(ctx, "SELECT count(*) FROM intake_contact WHERE id LIKE 'new-%'").Scan(&created))
	require.Zero(t, created)
	st, err := a.UndoStatus(ctx, "run-c")
	require.NoError(t, err)
	require.Equal(t, sink.UndoUndone, st.State)
}
