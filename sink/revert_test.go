package sink_test

import (
	"encoding/json"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

func rec(id string, fields ...string) *intake.Record {
	r := intake.NewRecord(intake.ContactSchema())
	r.ID = id
	for i := 0; i+1 < len(fields); i += 2 {
		r.Set(fields[i], intake.Text(fields[i+1]))
	}
	return r
}

// TestPlanRevert goes through the cases of PlanRevert's doc: a record
// created and changed in the batch is removed; an update whose field holds
// a third value is a conflict that force overrides; a field already back
// to its value before is unchanged; a kept delete is put back, unless a
// record holds the id.
func TestPlanRevert(t *testing.T) {
	created := rec("c", "email", "c@x.io")
	b := sink.UndoBatch{Seq: 3, Entries: []sink.UndoEntry{
		{Kind: sink.UndoCreate, Object: "contact", ID: "c", Line: 2, Digest: sink.RecordDigest(created)},
		{Kind: sink.UndoUpdate, Object: "contact", ID: "c", Line: 3, Fields: []sink.FieldChange{{Name: "city", After: intake.Text("Bonn")}}},
		{Kind: sink.UndoUpdate, Object: "contact", ID: "a", Line: 4, Fields: []sink.FieldChange{{Name: "city", Before: intake.Text("Köln"), After: intake.Text("Bonn")}}},
		{Kind: sink.UndoUpdate, Object: "contact", ID: "u", Line: 5, Fields: []sink.FieldChange{{Name: "city", Before: intake.Text("Ulm"), After: intake.Text("Bonn")}}},
		{Kind: sink.UndoDelete, Object: "contact", ID: "d", Line: 6, OptedOut: sink.FlagChange{Changed: true, Before: true},
			Fields: []sink.FieldChange{{Name: "email", Before: intake.Text("d@x.io")}}},
	}}
	cur := map[sink.RecordRef]*intake.Record{
		{Object: "contact", ID: "c"}: rec("c", "email", "c@x.io", "city", "Bonn"),
		{Object: "contact", ID: "a"}: rec("a", "city", "Aachen"),
		{Object: "contact", ID: "u"}: rec("u", "city", "Ulm"),
	}
	acts, res := sink.PlanRevert(b, cur, false)
	require.Equal(t, sink.RevertResult{Seq: 3, Entries: 5, Reverted: 1, Restored: 2, Unchanged: 1, Conflicted: 1,
		Conflicts: []sink.Conflict{{Object: "contact", ID: "a", Line: 4, Reason: "changed after the run",
			Fields: []sink.ConflictField{{Name: "city", Before: intake.Text("Köln"), RunWrote: intake.Text("Bonn"), Now: intake.Text("Aachen")}}}}}, res)
	require.Equal(t, []sink.RevertAction{
		{RecordRef: sink.RecordRef{Object: "contact", ID: "c"}, Kind: sink.RevertRemove},
		{RecordRef: sink.RecordRef{Object: "contact", ID: "d"}, Kind: sink.RevertInsert, Set: []sink.FieldValue{{Name: "email", Value: intake.Text("d@x.io")}},
			OptedOut: sink.SetFlag{Set: true, Value: true}, Inactive: sink.SetFlag{Set: true}},
	}, acts)

	acts, res = sink.PlanRevert(b, cur, true)
	require.Equal(t, 1, res.Forced)
	require.Zero(t, res.Conflicted)
	require.True(t, res.Conflicts[0].Forced)
	require.Contains(t, acts, sink.RevertAction{RecordRef: sink.RecordRef{Object: "contact", ID: "a"}, Kind: sink.RevertRestore,
		Set: []sink.FieldValue{{Name: "city", Value: intake.Text("Köln")}}})

	// A record under the id of a kept delete is a conflict.
	cur[sink.RecordRef{Object: "contact", ID: "d"}] = rec("d", "email", "other@x.io")
	_, res = sink.PlanRevert(sink.UndoBatch{Entries: b.Entries[4:]}, cur, false)
	require.Equal(t, "a record with this id exists", res.Conflicts[0].Reason)

	// A created record deleted after the run stays in conflict; force
	// drops it, with nothing to remove.
	gone := sink.UndoBatch{Entries: []sink.UndoEntry{{Kind: sink.UndoCreate, Object: "contact", ID: "z", Digest: 1}}}
	acts, res2 := sink.PlanRevert(gone, nil, false)
	require.Empty(t, acts)
	require.Equal(t, 1, res2.Conflicted)
	require.Equal(t, "deleted after the run created it", res2.Conflicts[0].Reason)
	acts, res2 = sink.PlanRevert(gone, nil, true)
	require.Empty(t, acts)
	require.Equal(t, [3]int{1, 1, 0}, [3]int{res2.Unchanged, res2.Forced, res2.Conflicted})

	js, err := json.Marshal(res.Conflicts[0].Fields[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"field":"email","before":"d@x.io","run_wrote":null,"now":"other@x.io"}`, string(js))
}

// TestDigest: the digest ignores field order and nulls, and sees a value,
// a field name or a flag change.
func TestDigest(t *testing.T) {
	a := rec("a", "email", "a@x.io", "city", "Bonn")
	var d sink.Digest
	d.Add("city", intake.Text("Bonn"))
	d.Add("phone", intake.Null)
	d.Add("email", intake.Text("a@x.io"))
	d.Flags(false, false)
	require.Equal(t, sink.RecordDigest(a), uint64(d))
	for _, b := range []*intake.Record{rec("a", "email", "a@x.io", "city", "Bonn "), rec("a", "email", "a@x.io", "first_name", "Bonn")} {
		require.NotEqual(t, sink.RecordDigest(a), sink.RecordDigest(b))
	}
	a.OptedOut = true
	require.NotEqual(t, uint64(d), sink.RecordDigest(a))
}

// TestDigestStable pins the digest: stores keep it, so a change of the
// hash would make every kept create look changed.
func TestDigestStable(t *testing.T) {
	var d sink.Digest
	d.Add("email", intake.Text("ann@example.com"))
	d.Add("birthday", intake.Date(1971, 5, 24))
	d.Add("tags", intake.List("a", "b"))
	d.Flags(true, false)
	require.Equal(t, uint64(0xec78c374db8439c), uint64(d), "pinned value")
}

func BenchmarkRecordDigest(b *testing.B) {
	r := rec("a", "email", "ann.smith@example.com", "first_name", "Ann", "last_name", "Smith", "city", "Washington, D.C.",
		"phone", "+4930123456", "country", "DE", "contact_id", "0035g0000000000123")
	for b.Loop() {
		sink.RecordDigest(r)
	}
}
