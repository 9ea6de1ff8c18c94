package sqlite_test

// Sink-specific tests of links and Op.Unlink; the behaviour every sink
// shares is in the kit (sink/sinktest/unlink.go).

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

func TestSQLiteTableUnlinkColumns(t *testing.T) {
	t.Parallel()
	db, _ := openSQLiteHost(t)
	_, err := db.Exec(`ALTER TABLE contacts ADD COLUMN referrer TEXT; ALTER TABLE contacts ADD COLUMN pals TEXT`)
	require.NoError(t, err)
	m := sqliteHostMapping()
	m.Columns["referred_by"], m.Columns["friends"] = "referrer", "pals"
	ht, err := sqlite.NewTable(context.Background(), db, intake.ObjectContact, m, sqlite.Config{})
	require.NoError(t, err)
	fixture.CheckHostUnlink(t, ht)
	var pals sql.NullString
	require.NoError(t, db.QueryRow(`SELECT pals FROM contacts WHERE id = ?`, fixture.HostID(3)).Scan(&pals))
	require.False(t, pals.Valid, "a multi-select that loses its last id is null")
}

func TestUnlinkOnlyOnDeleteAndAnonymize(t *testing.T) {
	t.Parallel()
	m := memory.New(memory.Config{})
	t.Cleanup(func() { m.Close() })
	for name, s := range map[string]sink.Sink{"memory": m, "sqlite": openSQLite(t, filepath.Join(t.TempDir(), "u.db"))} {
		fixture.Write(t, s, fixture.Create(fixture.Referral("1", "a@example.com", "", "")))
		for _, op := range []*sink.Op{
			{Kind: sink.OpCreate, Unlink: true, Record: fixture.Referral("2", "", "", "")},
			{Kind: sink.OpUpdate, Unlink: true, Record: fixture.Referral("1", "", "", "")},
			{Kind: sink.OpOptOut, Unlink: true, Record: fixture.Referral("1", "", "", "")},
			fixture.Unlinking(sink.OpInactivate, "1"),
		} {
			_, err := s.Write(context.Background(), []*sink.Op{op})
			require.ErrorIs(t, err, sink.ErrInvalidOp, "%s: %s with Unlink", name, op.Kind)
			require.ErrorContains(t, err, "only a delete or an anonymize", name)
		}
	}
}

// TestSQLiteUnlinkOldAuditTable opens a database whose intake_audit an
// earlier version created: the sink adds the link columns, the old
// entries read with them empty, and unlink entries keep their links,
// across a reopen, as the schema keeps its Ref.
func TestSQLiteUnlinkOldAuditTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	for _, q := range []string{
		`CREATE TABLE intake_audit (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, object TEXT NOT NULL, record_id TEXT NOT NULL,
			action TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL DEFAULT '', job TEXT NOT NULL DEFAULT '',
			run_id TEXT NOT NULL DEFAULT '', line INTEGER NOT NULL DEFAULT 0)`,
		`INSERT INTO intake_audit (time, object, record_id, action, reason) VALUES (0, 'contact', 'old', 'delete', 'gone')`,
	} {
		_, err := db.Exec(q)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	s := openSQLite(t, path)
	fixture.Write(t, s, fixture.Create(fixture.Referral("1", "a@example.com", "", "")), fixture.Create(fixture.Referral("2", "b@example.com", "1", "")))
	fixture.Write(t, s, fixture.Unlinking(sink.OpDelete, "1"))
	require.NoError(t, s.Close())

	s = openSQLite(t, path)
	log, err := s.AuditLog(ctx, intake.ObjectContact, "")
	require.NoError(t, err)
	require.Len(t, log, 3)
	require.Equal(t, sink.AuditEntry{Time: time.Unix(0, 0).UTC(), Object: "contact", RecordID: "old", Action: "delete", Reason: "gone"}, log[0])
	require.Equal(t, []string{"delete", "1", ""}, []string{log[1].Action, log[1].RecordID, log[1].Field})
	require.Equal(t, []string{"unlink", "2", "referred_by", "contact", "1", "erasure request"},
		[]string{log[2].Action, log[2].RecordID, log[2].Field, log[2].TargetObject, log[2].TargetID, log[2].Reason})
	stored, err := s.Schema(ctx, intake.ObjectContact)
	require.NoError(t, err)
	require.Equal(t, intake.ObjectContact, stored.Field(stored.Index("referred_by")).Ref, "a reopened store knows its links")
}

// TestSQLiteUnlinkOtherSinkTables: a sink removes the links held by
// tables that another sink on the same database file created, or gave a
// link field, after it read them: both are found in the batch's
// transaction, and so is an anonymized contact's own link in a field that
// the other sink added. The first sink then writes to the table with the
// fields the other sink added.
func TestSQLiteUnlinkOtherSinkTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openSQLite(t, path)
	notes := intake.MustSchema("note", intake.Field{Name: "body", Type: intake.TypeText})
	n0 := intake.NewRecord(notes)
	n0.ID, n0.Values[0] = "n0", intake.Text("first")
	fixture.Write(t, a, fixture.Create(fixture.Referral("1", "a@example.com", "", "")), fixture.Create(fixture.Referral("2", "b@example.com", "", "")),
		fixture.Create(fixture.Person("3", "c@example.com", "", "")), fixture.Create(n0))

	b := openSQLite(t, path)
	// A table a has never seen.
	tickets := intake.MustSchema("ticket", intake.Field{Name: "subject", Type: intake.TypeText},
		intake.Field{Name: "requester", Type: intake.TypeID, Ref: intake.ObjectContact})
	tk := intake.NewRecord(tickets)
	tk.ID, tk.Values[0], tk.Values[1] = "t1", intake.Text("help"), intake.Text("1")
	// A link field added to a table a knows without links.
	linked := intake.MustSchema("note", intake.Field{Name: "body", Type: intake.TypeText},
		intake.Field{Name: "about", Type: intake.TypeMultiSelect, Ref: intake.ObjectContact})
	n1 := intake.NewRecord(linked)
	n1.ID, n1.Values[0], n1.Values[1] = "n1", intake.Text("second"), intake.List("1", "2")
	fixture.Write(t, b, fixture.Create(tk), fixture.Create(n1))

	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted}, fixture.Write(t, a, fixture.Unlinking(sink.OpDelete, "1")))
	got, err := b.Get(ctx, tickets, []string{"t1"})
	require.NoError(t, err)
	require.True(t, got["t1"].Get("requester").IsNull(), "the ticket lost its link to the deleted contact")
	require.Equal(t, "help", got["t1"].Get("subject").Str())
	got, err = b.Get(ctx, linked, []string{"n0", "n1"})
	require.NoError(t, err)
	require.Equal(t, []string{"2"}, got["n1"].Get("about").Items(), "the note lost its link to the deleted contact")
	require.Equal(t, "first", got["n0"].Get("body").Str())

	// A link field added to the contact table a knows: contact 3 gets a
	// mentor. The anonymized contact 3 loses its own link in it, and
	// contact 2 its links.
	mentored := intake.MustSchema(intake.ObjectContact, append(fixture.Referring.Fields(),
		intake.Field{Name: "mentor", Type: intake.TypeID, Ref: intake.ObjectContact})...)
	c3 := intake.NewRecord(mentored)
	c3.ID = "3"
	c3.Set("mentor", intake.Text("2"))
	fixture.Write(t, b, fixture.Update(c3))
	require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized},
		fixture.Write(t, a, &sink.Op{Kind: sink.OpAnonymize, Unlink: true, Record: fixture.Person("3", "", "", ""),
			Audit: &sink.AuditEntry{Reason: "erasure request"}}))
	got, err = b.Get(ctx, mentored, []string{"3"})
	require.NoError(t, err)
	require.True(t, got["3"].Get("mentor").IsNull(), "the anonymized contact lost its own link")
	require.True(t, got["3"].Get("email").IsNull())
	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted}, fixture.Write(t, a, fixture.Unlinking(sink.OpDelete, "2")))
	got, err = b.Get(ctx, linked, []string{"n1"})
	require.NoError(t, err)
	require.Nil(t, got["n1"].Get("about").Items())

	// a knows the field b added to the notes: it writes it (rather than
	// adding its column again).
	n2 := intake.NewRecord(linked)
	n2.ID, n2.Values[0], n2.Values[1] = "n2", intake.Text("third"), intake.List("3")
	fixture.Write(t, a, fixture.Create(n2))
	got, err = b.Get(ctx, linked, []string{"n2"})
	require.NoError(t, err)
	require.Equal(t, []string{"3"}, got["n2"].Get("about").Items())
	log, err := a.AuditLog(ctx, "note", "n1")
	require.NoError(t, err)
	require.Len(t, log, 2)
	require.Equal(t, []string{"unlink", "about", "contact", "1"}, []string{log[0].Action, log[0].Field, log[0].TargetObject, log[0].TargetID})
}

// TestSQLiteUnlinkDivergedSchemas: two sinks on one file each add a link
// field to the same table, b without having seen a's; a's unlink removes
// the links held in both fields (b's reaches a through the schema check
// at the start of each write). TestSQLiteUnlinkLostSchemaChange covers a
// stored schema that lost one sink's change.
func TestSQLiteUnlinkDivergedSchemas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "diverged.db")
	a := openSQLite(t, path)
	fixture.Write(t, a, fixture.Create(fixture.Referral("1", "a@example.com", "", "")))
	b := openSQLite(t, path)
	// a adds sponsor, then b, which has not seen it, adds mentor.
	sponsored := intake.MustSchema(intake.ObjectContact, append(fixture.Referring.Fields(),
		intake.Field{Name: "sponsor", Type: intake.TypeID, Ref: intake.ObjectContact})...)
	mentored := intake.MustSchema(intake.ObjectContact, append(fixture.Referring.Fields(),
		intake.Field{Name: "mentor", Type: intake.TypeID, Ref: intake.ObjectContact})...)
	s2 := intake.NewRecord(sponsored)
	s2.ID = "2"
	s2.Set("sponsor", intake.Text("1"))
	fixture.Write(t, a, fixture.Create(s2))
	m3 := intake.NewRecord(mentored)
	m3.ID = "3"
	m3.Set("mentor", intake.Text("1"))
	fixture.Write(t, b, fixture.Create(m3))

	fixture.Write(t, a, fixture.Unlinking(sink.OpDelete, "1"))
	got, err := a.Get(ctx, sponsored, []string{"2"})
	require.NoError(t, err)
	require.True(t, got["2"].Get("sponsor").IsNull(), "the link in a's own field is gone")
	got, err = b.Get(ctx, mentored, []string{"3"})
	require.NoError(t, err)
	require.True(t, got["3"].Get("mentor").IsNull(), "the link in the field b stored is gone")
	log, err := a.AuditLog(ctx, intake.ObjectContact, "")
	require.NoError(t, err)
	var links []string
	for _, e := range log {
		if e.Action == sink.ActionUnlink {
			links = append(links, e.RecordID+"."+e.Field)
		}
	}
	require.ElementsMatch(t, []string{"2.sponsor", "3.mentor"}, links)
}
