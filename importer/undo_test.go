package importer_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/export"
	"github.com/stretchr/testify/require"
)

// exportAll exports every contact of s as JSON Lines with ids, and returns
// the text and the records by id (with their flags, which the export
// writes as opted_out only).
func exportAll(t *testing.T, s objectStore) (string, map[string]*intake.Record) {
	t.Helper()
	ctx := context.Background()
	schema, err := s.(sink.SchemaReader).Schema(ctx, intake.ObjectContact)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = export.Export(ctx, &buf, export.FormatJSONL, schema, s, export.Options{ID: true})
	require.NoError(t, err)
	recs := map[string]*intake.Record{}
	require.NoError(t, s.Scan(ctx, schema, func(r *intake.Record) error {
		recs[r.ID] = r.Clone()
		return nil
	}))
	return buf.String(), recs
}

// requireSameStore compares two exports field by field.
func requireSameStore(t *testing.T, wantText string, want map[string]*intake.Record, gotText string, got map[string]*intake.Record, msg string) {
	t.Helper()
	require.Len(t, got, len(want), "%s: record count", msg)
	for id, w := range want {
		g := got[id]
		require.NotNil(t, g, "%s: record %s", msg, id)
		for i := range w.Schema.Len() {
			require.Equal(t, w.Values[i], g.Get(w.Schema.Name(i)), "%s: %s.%s", msg, id, w.Schema.Name(i))
		}
		require.Equal(t, w.OptedOut, g.OptedOut, "%s: %s opted out", msg, id)
		require.Equal(t, w.Inactive, g.Inactive, "%s: %s inactive", msg, id)
	}
	require.Equal(t, wantText, gotText, "%s: the export", msg)
}

// onEachStore runs fn on a fresh store of each kind of storeNames, as
// parallel subtests named after the kind.
func onEachStore(t *testing.T, fn func(t *testing.T, name string, s objectStore)) {
	t.Helper()
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, name, newObjectStore(t, name))
		})
	}
}

func TestUndo(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, _ string, s objectStore) { testUndoRun(t, s) })
}

// testUndoRun: import → update run → undo restores the exact earlier state;
// a dry run says what the undo would do and writes nothing; the run is then
// undone and its undo cannot be undone; a record changed after a run is a
// conflict that keeps its newer value until a forced undo.
func testUndoRun(t *testing.T, s objectStore) {
	ctx := context.Background()
	im, err := importer.New(importer.Config{Sink: s})
	require.NoError(t, err)
	first := "email,first_name,last_name,city\nann@x.io,Ann,Alt,Köln\nben@x.io,Ben,Bauer,Bonn\ncid@x.io,Cid,Can,\n"
	rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "first.csv", first)})
	require.NoError(t, err)
	require.True(t, rep.Undoable, rep.UndoReason)
	text0, recs0 := exportAll(t, s)

	// First and last names swapped, a new contact, one unchanged row.
	second := "email,first_name,last_name,city\nann@x.io,Alt,Ann,Köln\nben@x.io,Bauer,Ben,\ncid@x.io,Cid,Can,\ndan@x.io,Dan,Dorn,Dresden\n"
	rep, err = im.Run(ctx, importer.Job{Source: csvSource(t, "second.csv", second)})
	require.NoError(t, err)
	require.Equal(t, [3]int64{1, 2, 1}, [3]int64{rep.Created, rep.Updated, rep.Unchanged})
	require.True(t, rep.Undoable)
	run := rep.RunID
	text1, recs1 := exportAll(t, s)

	dry, err := im.Undo(ctx, importer.UndoJob{RunID: run, DryRun: true})
	require.NoError(t, err)
	require.Equal(t, importer.StatusSucceeded, dry.Status)
	require.Equal(t, [4]int64{3, 1, 2, 0}, [4]int64{dry.Rows, dry.Reverted, dry.Restored, dry.Conflicted}, "%+v", dry)
	text, recs := exportAll(t, s)
	requireSameStore(t, text1, recs1, text, recs, "after the dry run")

	undo, err := im.Undo(ctx, importer.UndoJob{RunID: run, Reason: "names swapped", Actor: "ops"})
	require.NoError(t, err)
	require.Equal(t, [4]int64{3, 1, 2, 0}, [4]int64{undo.Rows, undo.Reverted, undo.Restored, undo.Conflicted})
	require.Equal(t, sink.UndoUndone, undo.State)
	require.Equal(t, run, undo.Undoes)
	require.NotEmpty(t, undo.RunID)
	text, recs = exportAll(t, s)
	requireSameStore(t, text0, recs0, text, recs, "after the undo")

	_, err = im.Undo(ctx, importer.UndoJob{RunID: run})
	require.ErrorIs(t, err, importer.ErrNotUndoable)
	require.ErrorContains(t, err, "undone by "+undo.RunID)
	_, err = im.Undo(ctx, importer.UndoJob{RunID: undo.RunID})
	require.ErrorIs(t, err, importer.ErrNoUndoLog, "an undo cannot be undone")

	// A record changed after the run: a conflict, field by field.
	rep, err = im.Run(ctx, importer.Job{Source: csvSource(t, "second.csv", second)})
	require.NoError(t, err)
	run = rep.RunID
	rep, err = im.Run(ctx, importer.Job{Source: csvSource(t, "late.csv", "email,first_name\nann@x.io,Annie\n")})
	require.NoError(t, err)
	require.EqualValues(t, 1, rep.Updated)
	undo, err = im.Undo(ctx, importer.UndoJob{RunID: run})
	require.NoError(t, err)
	require.EqualValues(t, 1, undo.Conflicted)
	require.Len(t, undo.Conflicts, 1)
	c := undo.Conflicts[0]
	require.Equal(t, "changed after the run", c.Reason)
	require.Equal(t, 2, c.Line)
	require.Equal(t, []sink.ConflictField{{Name: "first_name", Before: intake.Text("Ann"), RunWrote: intake.Text("Alt"), Now: intake.Text("Annie")}}, c.Fields)
	require.Equal(t, sink.UndoUndoing, undo.State, "the conflict stays in the log")
	_, recs = exportAll(t, s)
	annID := idOf(t, recs, "ann@x.io")
	require.Equal(t, "Annie", recs[annID].Get("first_name").String(), "the newer value stays")
	require.Equal(t, "Ann", recs[annID].Get("last_name").String(), "a record in conflict is left whole: the run's value stays")
	require.Equal(t, "Bauer", recs[idOf(t, recs, "ben@x.io")].Get("last_name").String(), "the other records are reverted")

	undo, err = im.Undo(ctx, importer.UndoJob{RunID: run, Force: true})
	require.NoError(t, err)
	require.EqualValues(t, 1, undo.Forced)
	require.Equal(t, sink.UndoUndone, undo.State)
	text, recs = exportAll(t, s)
	requireSameStore(t, text0, recs0, text, recs, "after the forced undo")
}

func idOf(t *testing.T, recs map[string]*intake.Record, email string) string {
	t.Helper()
	for id, r := range recs {
		if r.Get("email").String() == email {
			return id
		}
	}
	t.Fatalf("no record of %s", email)
	return ""
}

func TestUndoLifecycle(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, _ string, s objectStore) { testUndoLifecycle(t, s) })
}

// testUndoLifecycle: an opt-out and an inactivation are reverted; a delete
// is put back when the job keeps deletes, and refused (said before the run)
// when it does not; an anonymization cannot be undone.
func testUndoLifecycle(t *testing.T, s objectStore) {
	ctx := context.Background()
	im, err := importer.New(importer.Config{Sink: s})
	require.NoError(t, err)
	_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "a.csv", "email,first_name\nann@x.io,Ann\nben@x.io,Ben\ncid@x.io,Cid\n")})
	require.NoError(t, err)
	text0, recs0 := exportAll(t, s)

	list := "email\nann@x.io\n"
	rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "optout.csv", list), Action: identity.OptOut})
	require.NoError(t, err)
	require.EqualValues(t, 1, rep.OptedOut)
	undo, err := im.Undo(ctx, importer.UndoJob{RunID: rep.RunID})
	require.NoError(t, err)
	require.EqualValues(t, 1, undo.Restored)
	text, recs := exportAll(t, s)
	requireSameStore(t, text0, recs0, text, recs, "after undoing an opt-out")

	inact := importer.Job{Source: csvSource(t, "left.csv", "email\nben@x.io\n"), Action: identity.Matrix{OnMatch: identity.MatchInactivate, OnNoMatch: identity.NoMatchSkip}, Reason: "left"}
	rep, err = im.Run(ctx, inact)
	require.NoError(t, err)
	require.EqualValues(t, 1, rep.Inactivated)
	_, err = im.Undo(ctx, importer.UndoJob{RunID: rep.RunID})
	require.NoError(t, err)
	text, recs = exportAll(t, s)
	requireSameStore(t, text0, recs0, text, recs, "after undoing an inactivation")

	del := importer.Job{Source: csvSource(t, "dup.csv", "email\ncid@x.io\n"), Action: identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}, Reason: "duplicate"}
	ok, why := im.Undoable(del)
	require.False(t, ok)
	require.Contains(t, why, "deletes without keeping")
	del.Undo.Deletes = true
	ok, _ = im.Undoable(del)
	require.True(t, ok)
	rep, err = im.Run(ctx, del)
	require.NoError(t, err)
	require.EqualValues(t, 1, rep.Deleted)
	require.True(t, rep.Undoable)
	_, err = im.Undo(ctx, importer.UndoJob{RunID: rep.RunID})
	require.NoError(t, err)
	text, recs = exportAll(t, s)
	requireSameStore(t, text0, recs0, text, recs, "after undoing a delete")

	anon := importer.Job{Source: csvSource(t, "erase.csv", "email\nben@x.io\n"), Action: identity.Matrix{OnMatch: identity.MatchAnonymize, OnNoMatch: identity.NoMatchSkip}, Reason: "erasure request"}
	ok, why = im.Undoable(anon)
	require.False(t, ok)
	require.Contains(t, why, "anonymizes")
	rep, err = im.Run(ctx, anon)
	require.NoError(t, err)
	require.False(t, rep.Undoable)
	require.Equal(t, why, rep.UndoReason)
	_, err = im.Undo(ctx, importer.UndoJob{RunID: rep.RunID})
	require.ErrorIs(t, err, importer.ErrNotUndoable)
	require.ErrorContains(t, err, "anonymizes")

	off := importer.Job{Source: csvSource(t, "x.csv", "email,first_name\nann@x.io,Anna\n"), Undo: importer.UndoOptions{Off: true}}
	rep, err = im.Run(ctx, off)
	require.NoError(t, err)
	require.False(t, rep.Undoable)
	_, err = im.Undo(ctx, importer.UndoJob{RunID: rep.RunID})
	require.ErrorIs(t, err, importer.ErrNotUndoable)
	require.ErrorContains(t, err, "undo off")
}

// TestUndoRetention: a run whose log the retention dropped cannot be
// undone, with an error that says when and why.
func TestUndoRetention(t *testing.T) {
	t.Parallel()
	s := newObjectStore(t, "memory")
	ctx := context.Background()
	im, err := importer.New(importer.Config{Sink: s, UndoRetention: sink.Retention{MaxRuns: 1}})
	require.NoError(t, err)
	first, err := im.Run(ctx, importer.Job{Source: csvSource(t, "a.csv", "email\nann@x.io\n")})
	require.NoError(t, err)
	_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "b.csv", "email\nben@x.io\n")})
	require.NoError(t, err)
	_, err = im.Undo(ctx, importer.UndoJob{RunID: first.RunID})
	require.ErrorIs(t, err, importer.ErrNotUndoable)
	require.ErrorContains(t, err, "dropped on")
	require.ErrorContains(t, err, "(30 days, 1 runs)")
}

func TestUndoLinks(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, _ string, s objectStore) { testUndoLinks(t, s) })
}

// testUndoLinks: an import that created its link targets (stub accounts)
// is undone whole, targets included; a delete that removed the links to
// the deleted contact (Unlink remove) puts them back when undone.
func testUndoLinks(t *testing.T, s objectStore) {
	ctx := context.Background()
	im, err := importer.New(importer.Config{Sink: s})
	require.NoError(t, err)
	_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "a.csv", "account_id,name\nA-1,Acme\n"), Schema: intake.AccountSchema(), Identity: importer.SyncOn("account_id")})
	require.NoError(t, err)
	rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "c.csv", "email,account_id\nkim@acme.example,A-1\nlee@globex.example,A-2\n"),
		Links: []importer.Link{{Field: "account_id", Object: intake.ObjectAccount, Missing: importer.MissingCreate}}})
	require.NoError(t, err)
	require.EqualValues(t, 2, rep.Created)
	count := func(object string) int64 {
		n, err := s.(sink.Counter).Count(ctx, object)
		require.NoError(t, err)
		return n
	}
	require.EqualValues(t, 2, count(intake.ObjectAccount))
	undo, err := im.Undo(ctx, importer.UndoJob{RunID: rep.RunID})
	require.NoError(t, err)
	require.EqualValues(t, 3, undo.Reverted, "two contacts and the stub account")
	require.Zero(t, count(intake.ObjectContact))
	require.EqualValues(t, 1, count(intake.ObjectAccount))

	_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "k.csv", "email\nkim@example.com\nlee@example.com\n")})
	require.NoError(t, err)
	_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "e.csv", "event_id,email,type\ne1,kim@example.com,visit\ne2,lee@example.com,visit\n"),
		Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}})
	require.NoError(t, err)
	events, err := s.(sink.SchemaReader).Schema(ctx, intake.ObjectActivity)
	require.NoError(t, err)
	linked := func() map[string]string {
		out := map[string]string{}
		require.NoError(t, s.Scan(ctx, events, func(r *intake.Record) error {
			out[r.Get("event_id").String()] = r.Get("profile_id").String()
			return nil
		}))
		return out
	}
	before := linked()
	del := importer.Job{Source: csvSource(t, "erase.csv", "email\nkim@example.com\n"), Reason: "duplicate", Unlink: importer.UnlinkRemove,
		Action: identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}, Undo: importer.UndoOptions{Deletes: true}}
	rep, err = im.Run(ctx, del)
	require.NoError(t, err)
	require.EqualValues(t, 1, rep.Deleted)
	require.Empty(t, linked()["e1"], "the link to the deleted contact is removed")
	undo, err = im.Undo(ctx, importer.UndoJob{RunID: rep.RunID})
	require.NoError(t, err)
	require.EqualValues(t, 2, undo.Restored, "the contact and the activity's link")
	require.Equal(t, before, linked())
	require.EqualValues(t, 2, count(intake.ObjectContact))
}
