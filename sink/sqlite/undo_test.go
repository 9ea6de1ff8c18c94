package sqlite_test

// Sink-specific tests of the undo log; the behaviour every sink shares is
// in the kit (sink/sinktest/undo.go).

import (
	"context"
	"path/filepath"
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
	var total sink.RevertResult
	before := int64(0)
	for {
		res, more, err := u.Revert(context.Background(), runID, before, sink.RevertOptions{UndoID: undoID},
			sink.AuditEntry{Time: time.Now(), Reason: "test", RunID: undoID})
		require.NoError(t, err)
		if !more {
			return total
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
