package sinktest

import (
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

func (k *kit) undoer() sink.Undoer { return k.s.(sink.Undoer) }

// writeUndo writes ops with WriteUndo under run, requires success, and
// returns their outcomes.
func (k *kit) writeUndo(run sink.UndoRun, ops ...*sink.Op) []intake.Outcome {
	k.t.Helper()
	n, err := k.undoer().WriteUndo(k.ctx(), ops, run, nil)
	require.NoError(k.t, err)
	require.Equal(k.t, len(ops), n)
	out := make([]intake.Outcome, len(ops))
	for i, op := range ops {
		out[i] = op.Outcome
	}
	return out
}

// revertAll reverts the run's log from the newest batch to the oldest, as
// an undo does, and returns the sum of the results.
func (k *kit) revertAll(runID, undoID string, force bool) sink.RevertResult {
	k.t.Helper()
	var total sink.RevertResult
	before := int64(0)
	for {
		res, more, err := k.undoer().Revert(k.ctx(), runID, before, sink.RevertOptions{UndoID: undoID, Force: force},
			sink.AuditEntry{Time: time.Now(), Reason: "wrong file", Actor: "kit", RunID: undoID})
		require.NoError(k.t, err)
		if !more {
			return total
		}
		require.Positive(k.t, res.Seq)
		if before > 0 {
			require.Less(k.t, res.Seq, before, "Revert goes from the newest batch to the oldest")
		}
		before = res.Seq
		total.Add(res)
	}
}

func (k *kit) undoStatus(runID string) sink.UndoStatus {
	k.t.Helper()
	st, err := k.undoer().UndoStatus(k.ctx(), runID)
	require.NoError(k.t, err)
	require.Equal(k.t, runID, st.RunID)
	return st
}

// snapshot reads the contacts ids, cloned.
func (k *kit) snapshot(ids ...string) map[string]*intake.Record {
	k.t.Helper()
	got := k.getIn(contact, ids...)
	out := make(map[string]*intake.Record, len(got))
	for id, r := range got {
		out[id] = r.Clone()
	}
	return out
}

// requireSame requires the contacts of want (and no other of ids) to be
// stored with exactly their values and flags.
func (k *kit) requireSame(want map[string]*intake.Record, msg string, ids ...string) {
	k.t.Helper()
	got := k.getIn(contact, ids...)
	for _, id := range ids {
		w, g := want[id], got[id]
		if w == nil {
			require.Nil(k.t, g, "%s: %s is not stored", msg, id)
			continue
		}
		require.NotNil(k.t, g, "%s: %s is stored", msg, id)
		for i := range contact.Len() {
			require.Equal(k.t, w.Values[i], g.Values[i], "%s: %s.%s", msg, id, contact.Name(i))
		}
		require.Equal(k.t, w.OptedOut, g.OptedOut, "%s: %s opted out", msg, id)
		require.Equal(k.t, w.Inactive, g.Inactive, "%s: %s inactive", msg, id)
	}
}

// testUndo: a run written with WriteUndo keeps an entry per record it
// created or changed (only the fields that changed), none for an unchanged
// update or a failed batch, and Revert brings every record back exactly:
// created records removed, fields and flags restored, across batches and
// for a record touched twice. The run is then undone: a second revert is
// refused. Unknown runs are ErrNoUndo.
func testUndo(k *kit) {
	t, ctx, u := k.t, k.ctx(), k.undoer()
	k.ensure(contact)
	city := contact.Index("city")
	a := person("a", "ann@x.io", "Ann", "Alt")
	a.Values[city] = intake.Text("Köln")
	b := person("b", "ben@x.io", "Ben", "")
	c := person("c", "cid@x.io", "Cid", "Can")
	k.write(create(a), create(b), create(c))
	ids := []string{"a", "b", "c", "d", "e"}
	before := k.snapshot(ids...)

	_, err := u.UndoStatus(ctx, "run-1")
	require.ErrorIs(t, err, sink.ErrNoUndo, "a run never written has no log")

	run := sink.UndoRun{RunID: "run-1", Job: "contacts"}
	upd := person("a", "", "Anna", "")
	out := k.writeUndo(run,
		update(upd, contact.Index("last_name")),
		create(person("d", "dan@x.io", "Dan", "")),
		optOut("b"),
		update(person("c", "", "Cid", "")), // unchanged
	)
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated, intake.OutcomeCreated, intake.OutcomeOptedOut, intake.OutcomeUnchanged}, out)
	dan := k.get("d")
	// A second batch: a record of the first changed again, one created and
	// changed in the same batch.
	k.writeUndo(run,
		update(person("d", "", "Daniel", "")),
		create(person("e", "eve@x.io", "Eve", "")),
		update(person("e", "", "", "Eder")),
	)
	// A failed batch keeps nothing.
	_, err = u.WriteUndo(ctx, []*sink.Op{update(person("a", "", "Zed", "")), update(person("ghost", "", "", ""))}, run, nil)
	require.Error(t, err)

	st := k.undoStatus("run-1")
	require.Equal(t, sink.UndoKept, st.State)
	require.True(t, st.Undoable())
	require.Equal(t, "contacts", st.Job)
	require.EqualValues(t, 2, st.Batches)
	require.False(t, st.Started.IsZero())

	// The log: the newest batch first.
	b2, ok, err := u.ReadUndo(ctx, "run-1", 0)
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 2, b2.Seq)
	require.Equal(t, "run-1", b2.RunID)
	require.Len(t, b2.Entries, 3)
	require.Equal(t, sink.UndoUpdate, b2.Entries[0].Kind)
	require.Equal(t, []sink.FieldChange{{Name: "first_name", Before: intake.Text("Dan"), After: intake.Text("Daniel")}}, b2.Entries[0].Fields)
	b1, ok, err := u.ReadUndo(ctx, "run-1", b2.Seq)
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 1, b1.Seq)
	require.Len(t, b1.Entries, 3, "an unchanged update keeps no entry")
	ea := b1.Entries[0]
	require.Equal(t, sink.UndoUpdate, ea.Kind)
	require.Equal(t, "contact", ea.Object)
	require.Equal(t, "a", ea.ID)
	require.ElementsMatch(t, []sink.FieldChange{
		{Name: "first_name", Before: intake.Text("Ann"), After: intake.Text("Anna")},
		{Name: "last_name", Before: intake.Text("Alt"), After: intake.Null},
	}, ea.Fields, "only the fields that changed, with their values before and after")
	require.False(t, ea.OptedOut.Changed)
	ed := b1.Entries[1]
	require.Equal(t, sink.UndoCreate, ed.Kind)
	require.Equal(t, "d", ed.ID)
	require.Equal(t, sink.RecordDigest(dan), ed.Digest, "a create keeps the digest of the record as created")
	eb := b1.Entries[2]
	require.Equal(t, sink.UndoUpdate, eb.Kind)
	require.Equal(t, sink.FlagChange{Changed: true, Before: false}, eb.OptedOut)
	require.Empty(t, eb.Fields)
	_, ok, err = u.ReadUndo(ctx, "run-1", b1.Seq)
	require.NoError(t, err)
	require.False(t, ok)

	res := k.revertAll("run-1", "undo-1", false)
	require.Equal(t, 6, res.Entries)
	require.Equal(t, 2, res.Reverted, "d and e removed")
	require.Equal(t, 4, res.Restored)
	require.Zero(t, res.Conflicted)
	require.Empty(t, res.Conflicts)
	k.requireSame(before, "after the undo", ids...)

	st = k.undoStatus("run-1")
	require.Equal(t, sink.UndoUndone, st.State)
	require.Equal(t, "undo-1", st.UndoneBy)
	require.False(t, st.Undoable())
	require.Zero(t, st.Batches)
	_, _, err = u.Revert(ctx, "run-1", 0, sink.RevertOptions{UndoID: "undo-2"}, sink.AuditEntry{Time: time.Now(), Reason: "again"})
	require.ErrorIs(t, err, sink.ErrNotUndoable, "an undone run cannot be undone again")
	_, _, err = u.Revert(ctx, "undo-1", 0, sink.RevertOptions{UndoID: "undo-3"}, sink.AuditEntry{Time: time.Now(), Reason: "undo the undo"})
	require.ErrorIs(t, err, sink.ErrNoUndo, "an undo keeps no log")
	if k.c.lifecycle {
		log := k.auditLog("contact", "")
		last := log[len(log)-1]
		require.Equal(t, sink.ActionUndo, last.Action)
		require.Equal(t, "run", last.TargetObject)
		require.Equal(t, "run-1", last.TargetID)
		require.Equal(t, "undo-1", last.RunID)
		require.Empty(t, last.RecordID)
	}
}

// testUndoConflicts: a record changed after the run is a conflict, field
// by field, and keeps its newer value; the other records are reverted; the
// conflicts stay in the log, and a forced undo then reverts them. A record
// deleted after the run stays deleted.
func testUndoConflicts(k *kit) {
	t := k.t
	k.ensure(contact)
	city := contact.Index("city")
	k.write(create(person("a", "ann@x.io", "Ann", "Alt")), create(person("b", "ben@x.io", "Ben", "")))
	ids := []string{"a", "b", "c"}
	before := k.snapshot(ids...)

	run := sink.UndoRun{RunID: "run-2"}
	k.writeUndo(run, update(person("a", "", "Anna", "")), update(person("b", "", "Benny", "")), create(person("c", "cid@x.io", "Cid", "")))
	// The host (or another run) writes after the run.
	late := person("a", "", "Annie", "")
	cc := person("c", "", "", "")
	cc.Values[city] = intake.Text("Paris")
	k.write(update(late), update(cc))

	res := k.revertAll("run-2", "undo-2", false)
	require.Equal(t, 3, res.Entries)
	require.Equal(t, 1, res.Restored, "b")
	require.Equal(t, 2, res.Conflicted)
	require.Len(t, res.Conflicts, 2)
	byID := map[string]sink.Conflict{}
	for _, c := range res.Conflicts {
		byID[c.ID] = c
	}
	ca := byID["a"]
	require.Equal(t, "contact", ca.Object)
	require.Equal(t, "changed after the run", ca.Reason)
	require.Equal(t, []sink.ConflictField{{Name: "first_name", Before: intake.Text("Ann"), RunWrote: intake.Text("Anna"), Now: intake.Text("Annie")}}, ca.Fields)
	require.False(t, ca.Forced)
	require.Equal(t, "changed after the run created it", byID["c"].Reason)
	got := k.snapshot(ids...)
	require.Equal(t, "Annie", got["a"].Get("first_name").String(), "a conflict keeps its newer value")
	require.Equal(t, "Ben", got["b"].Get("first_name").String())
	require.NotNil(t, got["c"], "a created record changed after the run stays")

	st := k.undoStatus("run-2")
	require.Equal(t, sink.UndoUndoing, st.State, "the conflicts stay in the log")
	require.EqualValues(t, 1, st.Batches)
	require.True(t, st.Undoable())

	// Run again without force: the same conflicts, nothing else.
	res = k.revertAll("run-2", "undo-3", false)
	require.Equal(t, 2, res.Entries)
	require.Equal(t, 2, res.Conflicted)

	res = k.revertAll("run-2", "undo-4", true)
	require.Equal(t, 2, res.Entries)
	require.Equal(t, 2, res.Forced)
	require.Equal(t, 1, res.Reverted)
	require.Equal(t, 1, res.Restored)
	for _, c := range res.Conflicts {
		require.True(t, c.Forced)
	}
	k.requireSame(before, "after the forced undo", ids...)
	st = k.undoStatus("run-2")
	require.Equal(t, sink.UndoUndone, st.State)
	require.Equal(t, "undo-4", st.UndoneBy)

	// A record deleted after the run: a conflict even with force.
	if !k.c.lifecycle {
		return
	}
	k.writeUndo(sink.UndoRun{RunID: "run-3"}, update(person("a", "", "Ada", "")))
	k.write(lifecycle(sink.OpDelete, "a", auditAt(0, "duplicate")))
	res = k.revertAll("run-3", "undo-5", true)
	require.Equal(t, 1, res.Conflicted)
	require.Equal(t, "deleted after the run", res.Conflicts[0].Reason)
	require.False(t, res.Conflicts[0].Forced)
	require.Nil(t, k.get("a"))
}

// testUndoLifecycle: inactivations are reverted; a delete is put back
// when the run kept it (UndoRun.Deletes), with its values and flags; a
// refused run keeps no log and cannot be reverted.
func testUndoLifecycle(k *kit) {
	t, ctx, u := k.t, k.ctx(), k.undoer()
	k.ensure(contact)
	a := person("a", "ann@x.io", "Ann", "Alt")
	a.Values[contact.Index("birthday")] = intake.Date(1971, 5, 24)
	k.write(create(a), create(person("b", "ben@x.io", "Ben", "")), optOut("a"))
	ids := []string{"a", "b"}
	before := k.snapshot(ids...)

	run := sink.UndoRun{RunID: "run-4", Deletes: true}
	out := k.writeUndo(run, lifecycle(sink.OpInactivate, "b", auditAt(0, "left")), lifecycle(sink.OpDelete, "a", auditAt(1, "duplicate")))
	require.Equal(t, []intake.Outcome{intake.OutcomeInactivated, intake.OutcomeDeleted}, out)
	lb, ok, err := u.ReadUndo(ctx, "run-4", 0)
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, lb.Entries, 2)
	require.Equal(t, sink.FlagChange{Changed: true}, lb.Entries[0].Inactive)
	del := lb.Entries[1]
	require.Equal(t, sink.UndoDelete, del.Kind)
	require.Equal(t, sink.FlagChange{Changed: true, Before: true}, del.OptedOut)
	require.ElementsMatch(t, []sink.FieldChange{
		{Name: "email", Before: intake.Text("ann@x.io")}, {Name: "first_name", Before: intake.Text("Ann")},
		{Name: "last_name", Before: intake.Text("Alt")}, {Name: "birthday", Before: intake.Date(1971, 5, 24)},
	}, del.Fields, "a kept delete holds every non-null field")

	res := k.revertAll("run-4", "undo-4", false)
	require.Equal(t, 2, res.Restored)
	k.requireSame(before, "after the undo of a delete and an inactivation", ids...)
	if k.c.lookup {
		require.Equal(t, []string{"a"}, k.lookup(byEmail, "ann@x.io")["ann@x.io"], "the record put back is found by its key")
	}

	refused := sink.UndoRun{RunID: "run-5", Refused: "the job anonymizes: forgetting is its point"}
	k.writeUndo(refused, lifecycle(sink.OpInactivate, "b", auditAt(2, "left")))
	st := k.undoStatus("run-5")
	require.Equal(t, sink.UndoRefused, st.State)
	require.Equal(t, refused.Refused, st.Reason)
	require.False(t, st.Undoable())
	_, ok, err = u.ReadUndo(ctx, "run-5", 0)
	require.NoError(t, err)
	require.False(t, ok, "a refused run keeps no entry")
	_, _, err = u.Revert(ctx, "run-5", 0, sink.RevertOptions{UndoID: "undo-5"}, sink.AuditEntry{Time: time.Now(), Reason: "x"})
	require.ErrorIs(t, err, sink.ErrNotUndoable)
}

// testUndoRetention: PruneUndo drops the logs beyond MaxRuns (the oldest
// first) and older than MaxAge, marks their runs expired, and an expired
// run cannot be reverted. WriteUndo stores a checkpoint with its batch.
func testUndoRetention(k *kit) {
	t, ctx, u := k.t, k.ctx(), k.undoer()
	k.ensure(contact)
	for i, id := range []string{"r1", "r2", "r3"} {
		k.writeUndo(sink.UndoRun{RunID: id}, create(person(id, id+"@x.io", "", "")))
		if i < 2 {
			time.Sleep(2 * time.Millisecond) // distinct start times
		}
	}
	n, err := u.PruneUndo(ctx, sink.Retention{MaxRuns: 2, MaxAge: -1}, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	st := k.undoStatus("r1")
	require.Equal(t, sink.UndoExpired, st.State)
	require.False(t, st.Expired.IsZero())
	require.False(t, st.Undoable())
	_, ok, err := u.ReadUndo(ctx, "r1", 0)
	require.NoError(t, err)
	require.False(t, ok)
	_, _, err = u.Revert(ctx, "r1", 0, sink.RevertOptions{UndoID: "u"}, sink.AuditEntry{Time: time.Now(), Reason: "x"})
	require.ErrorIs(t, err, sink.ErrNotUndoable)
	require.Equal(t, sink.UndoKept, k.undoStatus("r2").State)

	n, err = u.PruneUndo(ctx, sink.Retention{MaxAge: time.Hour}, time.Now().Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, sink.UndoExpired, k.undoStatus("r3").State)
	n, err = u.PruneUndo(ctx, sink.Retention{}, time.Now())
	require.NoError(t, err)
	require.Zero(t, n, "expired runs are not dropped twice")

	if cp, isCP := k.s.(sink.Checkpointer); isCP {
		_, err := u.WriteUndo(ctx, []*sink.Op{create(person("r4", "r4@x.io", "", ""))}, sink.UndoRun{RunID: "r4"}, &sink.Checkpoint{RunID: "r4", Line: 7})
		require.NoError(t, err)
		last, ok, err := cp.LastCheckpoint(ctx, "r4")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, 7, last.Line)
	}
}

// testUndoWhileUndone: a batch of a run that an undo began is refused,
// writing nothing; a run whose log the retention dropped is written and
// keeps no more log.
func testUndoWhileUndone(k *kit) {
	t, ctx, u := k.t, k.ctx(), k.undoer()
	k.ensure(contact)
	k.writeUndo(sink.UndoRun{RunID: "r1"}, create(person("a", "ann@x.io", "Ann", "")))
	k.revertAll("r1", "u1", false)
	n, err := u.WriteUndo(ctx, []*sink.Op{create(person("b", "ben@x.io", "", ""))}, sink.UndoRun{RunID: "r1"}, nil)
	require.ErrorIs(t, err, sink.ErrNotUndoable)
	require.Zero(t, n)
	require.Nil(t, k.get("b"), "nothing is written")

	k.writeUndo(sink.UndoRun{RunID: "r2"}, create(person("c", "cid@x.io", "", "")))
	_, err = u.PruneUndo(ctx, sink.Retention{MaxAge: time.Nanosecond}, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated}, k.writeUndo(sink.UndoRun{RunID: "r2"}, create(person("d", "dan@x.io", "", ""))))
	st := k.undoStatus("r2")
	require.Equal(t, sink.UndoExpired, st.State)
	require.Zero(t, st.Batches)
}
