package sink_test

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
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// referring is the contact schema with links to the contacts who referred
// them and to friends, and to an account.
var referring = intake.MustSchema(intake.ObjectContact, append(contact.Fields(),
	intake.Field{Name: "referred_by", Type: intake.TypeID, Ref: intake.ObjectContact},
	intake.Field{Name: "friends", Type: intake.TypeMultiSelect, Ref: intake.ObjectContact},
	intake.Field{Name: "account_record_id", Type: intake.TypeID, Ref: intake.ObjectAccount},
)...)

func referral(id, email, by, acct string, friends ...string) *intake.Record {
	r := intake.NewRecord(referring)
	r.ID = id
	if email != "" {
		r.Set("email", intake.Text(email))
	}
	if by != "" {
		r.Set("referred_by", intake.Text(by))
	}
	if acct != "" {
		r.Set("account_record_id", intake.Text(acct))
	}
	r.Set("friends", intake.List(friends...))
	return r
}

// unlinking returns a lifecycle op of kind on the contact id with Unlink.
func unlinking(kind sink.OpKind, id string) *sink.Op {
	return &sink.Op{Kind: kind, Unlink: true, Record: &intake.Record{Schema: referring, ID: id, Values: make([]intake.Value, referring.Len())},
		Audit: &sink.AuditEntry{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Reason: "erasure request", Line: 4}}
}

// linksOf returns referred_by, friends and account_record_id of the
// contact id, each as its items.
func linksOf(t *testing.T, s sink.Getter, id string) [][]string {
	t.Helper()
	got, err := s.Get(context.Background(), referring, []string{id})
	require.NoError(t, err)
	r := got[id]
	require.NotNil(t, r, id)
	return [][]string{r.Get("referred_by").Items(), r.Get("friends").Items(), r.Get("account_record_id").Items()}
}

// checkHostUnlink runs deletes and anonymizations with Unlink on a sink of
// contacts whose link fields have columns of their own (not in the JSON
// column): referred_by a text column, friends a list column.
func checkHostUnlink(t *testing.T, s sink.Sink) {
	g := s.(sink.Getter)
	write(t, s,
		create(referral(hostID(1), "c1@example.com", "", "acct-1")),
		create(referral(hostID(2), "c2@example.com", hostID(1), "acct-1", hostID(1), hostID(3))),
		create(referral(hostID(3), "c3@example.com", hostID(1), "", hostID(1))),
	)
	write(t, s, unlinking(sink.OpDelete, hostID(1)))
	require.Equal(t, [][]string{nil, {hostID(3)}, {"acct-1"}}, linksOf(t, g, hostID(2)))
	require.Equal(t, [][]string{nil, nil, nil}, linksOf(t, g, hostID(3)))
	require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized}, write(t, s, unlinking(sink.OpAnonymize, hostID(2))))
	require.Equal(t, [][]string{nil, nil, nil}, linksOf(t, g, hostID(2)))
	log, err := s.(sink.Auditor).AuditLog(context.Background(), intake.ObjectContact, "")
	require.NoError(t, err)
	var links []string
	for _, a := range log {
		if a.Action == sink.ActionUnlink {
			links = append(links, a.RecordID+"."+a.Field+"→"+a.TargetObject+":"+a.TargetID)
		}
	}
	require.ElementsMatch(t, []string{
		hostID(2) + ".referred_by→contact:" + hostID(1), hostID(2) + ".friends→contact:" + hostID(1),
		hostID(3) + ".referred_by→contact:" + hostID(1), hostID(3) + ".friends→contact:" + hostID(1),
		hostID(2) + ".friends→contact:" + hostID(3), hostID(2) + ".account_record_id→account:acct-1",
	}, links)
}

// hostID is the n-th id of checkHostUnlink: a UUID, which every host id
// column takes.
func hostID(n int) string { return "0190a2b4-0000-7000-8000-00000000000" + string(rune('0'+n)) }

func TestSQLiteTableUnlinkColumns(t *testing.T) {
	t.Parallel()
	db, _ := openSQLiteHost(t)
	_, err := db.Exec(`ALTER TABLE contacts ADD COLUMN referrer TEXT; ALTER TABLE contacts ADD COLUMN pals TEXT`)
	require.NoError(t, err)
	m := sqliteHostMapping()
	m.Columns["referred_by"], m.Columns["friends"] = "referrer", "pals"
	ht, err := sink.NewSQLiteTable(context.Background(), db, intake.ObjectContact, m, sink.SQLiteConfig{})
	require.NoError(t, err)
	checkHostUnlink(t, ht)
	var pals sql.NullString
	require.NoError(t, db.QueryRow(`SELECT pals FROM contacts WHERE id = ?`, hostID(3)).Scan(&pals))
	require.False(t, pals.Valid, "a multi-select that loses its last id is null")
}

func TestPostgresHostUnlinkColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := testSchema(t, pool)
	_, err := pool.Exec(ctx, sprintf(hostContacts, schema, "uuid"))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ALTER TABLE `+schema+`.contacts ADD COLUMN referrer uuid, ADD COLUMN pals text[]`)
	require.NoError(t, err)
	m := hostMapping()
	m.Columns["referred_by"], m.Columns["friends"] = "referrer", "pals"
	pg := openPostgres(t, sink.PostgresConfig{Schema: schema, Tables: map[string]sink.TableMapping{"contact": m}})
	require.NoError(t, pg.EnsureSchema(ctx, referring))
	checkHostUnlink(t, pg)
}

func TestUnlinkOnlyOnDeleteAndAnonymize(t *testing.T) {
	t.Parallel()
	m := sink.NewMemory(sink.MemoryConfig{})
	t.Cleanup(func() { m.Close() })
	for name, s := range map[string]sink.Sink{"memory": m, "sqlite": openSQLite(t, filepath.Join(t.TempDir(), "u.db"))} {
		write(t, s, create(referral("1", "a@example.com", "", "")))
		for _, op := range []*sink.Op{
			{Kind: sink.OpCreate, Unlink: true, Record: referral("2", "", "", "")},
			{Kind: sink.OpUpdate, Unlink: true, Record: referral("1", "", "", "")},
			{Kind: sink.OpOptOut, Unlink: true, Record: referral("1", "", "", "")},
			unlinking(sink.OpInactivate, "1"),
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
	write(t, s, create(referral("1", "a@example.com", "", "")), create(referral("2", "b@example.com", "1", "")))
	write(t, s, unlinking(sink.OpDelete, "1"))
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

// TestPostgresUnlinkOldAuditTable: an intake_audit without the link
// columns makes an unlink fail with a pointer to PostgresMigrations when
// the host runs the migrations, and gets them from NewPostgres otherwise.
func TestPostgresUnlinkOldAuditTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := testSchema(t, pool)
	openPostgres(t, sink.PostgresConfig{Schema: schema})
	_, err := pool.Exec(ctx, `ALTER TABLE `+schema+`.intake_audit DROP COLUMN field, DROP COLUMN target_object, DROP COLUMN target_id`)
	require.NoError(t, err)
	pg := openPostgres(t, sink.PostgresConfig{Schema: schema, SkipMigrations: true})
	write(t, pg, create(referral("1", "a@example.com", "", "")), create(referral("2", "b@example.com", "1", "")))
	_, err = pg.Write(ctx, []*sink.Op{unlinking(sink.OpDelete, "1")})
	require.ErrorContains(t, err, "PostgresMigrations")
	_, err = pg.AuditLog(ctx, intake.ObjectContact, "")
	require.ErrorContains(t, err, "PostgresMigrations")
	require.Equal(t, [][]string{{"1"}, nil, nil}, linksOf(t, pg, "2"), "the failed batch removed no link")

	pg = openPostgres(t, sink.PostgresConfig{Schema: schema})
	write(t, pg, unlinking(sink.OpDelete, "1"))
	require.Equal(t, [][]string{nil, nil, nil}, linksOf(t, pg, "2"))
	log, err := pg.AuditLog(ctx, intake.ObjectContact, "2")
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, []string{"unlink", "referred_by", "1"}, []string{log[0].Action, log[0].Field, log[0].TargetID})
}

// TestPostgresUnlinkOtherProcessTable: a sink removes the links held by a
// table that another process created after it started.
func TestPostgresUnlinkOtherProcessTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := testSchema(t, pool)
	a := openPostgres(t, sink.PostgresConfig{Schema: schema})
	write(t, a, create(referral("1", "a@example.com", "", "")))
	b := openPostgres(t, sink.PostgresConfig{Schema: schema})
	tickets := intake.MustSchema("ticket", intake.Field{Name: "subject", Type: intake.TypeText},
		intake.Field{Name: "requester", Type: intake.TypeID, Ref: intake.ObjectContact})
	tk := intake.NewRecord(tickets)
	tk.ID, tk.Values[0], tk.Values[1] = "t1", intake.Text("help"), intake.Text("1")
	write(t, b, create(tk))

	write(t, a, unlinking(sink.OpDelete, "1"))
	got, err := b.Get(ctx, tickets, []string{"t1"})
	require.NoError(t, err)
	require.True(t, got["t1"].Get("requester").IsNull(), "the ticket lost its link to the deleted contact")
	require.Equal(t, "help", got["t1"].Get("subject").Str())
}

// TestPostgresTempTablesOfOneConnection updates, on a pool of one
// connection, rows of two tables whose batches' temporary tables have the
// same column names and other types: pgx's cache of the columns' types
// (by the text of CopyFrom's query) must not mix them up.
func TestPostgresTempTablesOfOneConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgURL(t))
	require.NoError(t, err)
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	schema := testSchema(t, testPool(t))
	pg, err := sink.NewPostgres(ctx, pool, sink.PostgresConfig{Schema: schema})
	require.NoError(t, err)
	for _, s := range []*intake.Schema{
		intake.MustSchema("a", intake.Field{Name: "x", Type: intake.TypeText}),
		intake.MustSchema("b", intake.Field{Name: "x", Type: intake.TypeMultiSelect}),
		intake.MustSchema("c", intake.Field{Name: "x", Type: intake.TypeDate}),
	} {
		r := intake.NewRecord(s)
		r.ID = "1"
		write(t, pg, create(r))
		u := intake.NewRecord(s)
		u.ID = "1"
		switch s.Field(0).Type {
		case intake.TypeText:
			u.Values[0] = intake.Text("v")
		case intake.TypeMultiSelect:
			u.Values[0] = intake.List("v", "w")
		default:
			u.Values[0] = intake.Date(2026, 1, 2)
		}
		require.Equal(t, []intake.Outcome{intake.OutcomeUpdated}, write(t, pg, update(u)), s.Object())
		got, err := pg.Get(ctx, s, []string{"1"})
		require.NoError(t, err)
		require.Equal(t, u.Values, got["1"].Values, s.Object())
	}
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
	write(t, a, create(referral("1", "a@example.com", "", "")), create(referral("2", "b@example.com", "", "")),
		create(person("3", "c@example.com", "", "")), create(n0))

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
	write(t, b, create(tk), create(n1))

	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted}, write(t, a, unlinking(sink.OpDelete, "1")))
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
	mentored := intake.MustSchema(intake.ObjectContact, append(referring.Fields(),
		intake.Field{Name: "mentor", Type: intake.TypeID, Ref: intake.ObjectContact})...)
	c3 := intake.NewRecord(mentored)
	c3.ID = "3"
	c3.Set("mentor", intake.Text("2"))
	write(t, b, update(c3))
	require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized},
		write(t, a, &sink.Op{Kind: sink.OpAnonymize, Unlink: true, Record: person("3", "", "", ""),
			Audit: &sink.AuditEntry{Reason: "erasure request"}}))
	got, err = b.Get(ctx, mentored, []string{"3"})
	require.NoError(t, err)
	require.True(t, got["3"].Get("mentor").IsNull(), "the anonymized contact lost its own link")
	require.True(t, got["3"].Get("email").IsNull())
	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted}, write(t, a, unlinking(sink.OpDelete, "2")))
	got, err = b.Get(ctx, linked, []string{"n1"})
	require.NoError(t, err)
	require.Nil(t, got["n1"].Get("about").Items())

	// a knows the field b added to the notes: it writes it (rather than
	// adding its column again).
	n2 := intake.NewRecord(linked)
	n2.ID, n2.Values[0], n2.Values[1] = "n2", intake.Text("third"), intake.List("3")
	write(t, a, create(n2))
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
	write(t, a, create(referral("1", "a@example.com", "", "")))
	b := openSQLite(t, path)
	// a adds sponsor, then b, which has not seen it, adds mentor.
	sponsored := intake.MustSchema(intake.ObjectContact, append(referring.Fields(),
		intake.Field{Name: "sponsor", Type: intake.TypeID, Ref: intake.ObjectContact})...)
	mentored := intake.MustSchema(intake.ObjectContact, append(referring.Fields(),
		intake.Field{Name: "mentor", Type: intake.TypeID, Ref: intake.ObjectContact})...)
	s2 := intake.NewRecord(sponsored)
	s2.ID = "2"
	s2.Set("sponsor", intake.Text("1"))
	write(t, a, create(s2))
	m3 := intake.NewRecord(mentored)
	m3.ID = "3"
	m3.Set("mentor", intake.Text("1"))
	write(t, b, create(m3))

	write(t, a, unlinking(sink.OpDelete, "1"))
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

// TestPostgresUnlinkOtherProcessField: a sink removes the links held by a
// link field that another process added to a table this sink knows
// without links.
func TestPostgresUnlinkOtherProcessField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := testSchema(t, pool)
	a := openPostgres(t, sink.PostgresConfig{Schema: schema})
	plain := intake.MustSchema("ticket", intake.Field{Name: "subject", Type: intake.TypeText})
	t0 := intake.NewRecord(plain)
	t0.ID, t0.Values[0] = "t0", intake.Text("hello")
	write(t, a, create(referral("1", "a@example.com", "", "")), create(t0))
	b := openPostgres(t, sink.PostgresConfig{Schema: schema})
	tickets := intake.MustSchema("ticket", intake.Field{Name: "subject", Type: intake.TypeText},
		intake.Field{Name: "requester", Type: intake.TypeID, Ref: intake.ObjectContact})
	tk := intake.NewRecord(tickets)
	tk.ID, tk.Values[0], tk.Values[1] = "t1", intake.Text("help"), intake.Text("1")
	write(t, b, create(tk))

	write(t, a, unlinking(sink.OpDelete, "1"))
	got, err := b.Get(ctx, tickets, []string{"t0", "t1"})
	require.NoError(t, err)
	require.True(t, got["t1"].Get("requester").IsNull(), "the ticket lost its link to the deleted contact")
	require.Equal(t, "help", got["t1"].Get("subject").Str())
	require.Equal(t, "hello", got["t0"].Get("subject").Str())
	log, err := a.AuditLog(ctx, "ticket", "t1")
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, []string{"unlink", "requester", "contact", "1"}, []string{log[0].Action, log[0].Field, log[0].TargetObject, log[0].TargetID})
}
