package sqlite_test

// Two sinks on one SQLite file, as two processes sharing a store: each
// sink keeps a snapshot of the tables' layout, and must notice when the
// other one changed it.

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

// TestSQLiteSharedFileKeyColumn: a sink that opened the file before
// another sink's Lookup added the key column k_email writes that column:
// its creates are found by the other sink's Lookup (without that, a second
// import process would create every record again).
func TestSQLiteSharedFileKeyColumn(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openSQLite(t, path)
	fixture.Write(t, a, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "")))
	b := openSQLite(t, path)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}}, fixture.Lookup(t, b, fixture.ByEmail, "a@example.com"))

	fixture.Write(t, a, fixture.Create(fixture.Person("2", "b@example.com", "Ben", "")))
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"2"}}, fixture.Lookup(t, b, fixture.ByEmail, "b@example.com"),
		"a's create after b added k_email is found by b")
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"2"}}, fixture.Lookup(t, a, fixture.ByEmail, "b@example.com"))
	require.Equal(t, []int64{1, 1}, keyHashCount(t, b.DB(), "1", "2"))
}

// TestSQLiteSharedFileUpdateKeepsKey is the reviewer's reproduction: b
// updates a record that a created after b added k_email; b's update keeps
// the record's email, and b's Lookup still finds it.
func TestSQLiteSharedFileUpdateKeepsKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openSQLite(t, path)
	fixture.Write(t, a, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "")))
	b := openSQLite(t, path)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}}, fixture.Lookup(t, b, fixture.ByEmail, "a@example.com"))
	fixture.Write(t, a, fixture.Create(fixture.Person("2", "b@example.com", "Ben", "")))
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated}, fixture.Write(t, b, fixture.Update(fixture.Person("2", "", "Benny", ""))))
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"2"}}, fixture.Lookup(t, b, fixture.ByEmail, "b@example.com"))
}

// TestSQLiteUpdateRepairsKeyColumn: an update that keeps a record's keys
// still writes a key column that does not hold the record's key (left
// NULL, here by hand, as a sink of an earlier version that did not see
// the column would leave it), and Lookup then finds the record.
func TestSQLiteUpdateRepairsKeyColumn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "stale.db")
	a := openSQLite(t, path)
	fixture.Write(t, a, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "")), fixture.Create(fixture.Person("2", "b@example.com", "Ben", "")))
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"2"}}, fixture.Lookup(t, a, fixture.ByEmail, "b@example.com"))
	_, err := a.DB().ExecContext(ctx, `UPDATE intake_contact SET k_email = NULL WHERE id = '2'`)
	require.NoError(t, err)
	require.Empty(t, fixture.Lookup(t, a, fixture.ByEmail, "b@example.com"))

	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated, intake.OutcomeUpdated},
		fixture.Write(t, a, fixture.Update(fixture.Person("2", "", "Benny", "")), fixture.Update(fixture.Person("1", "", "Anne", ""))))
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}, "b@example.com": {"2"}}, fixture.Lookup(t, a, fixture.ByEmail, "a@example.com", "b@example.com"))
}

// TestSQLiteSharedFileSameNewField: two sinks that each see a new field
// add one column: the second finds the column the first added (rather
// than failing to add it again), and the key column the other sink added
// stays in intake_schema, so that a sink opened later writes it too.
func TestSQLiteSharedFileSameNewField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openSQLite(t, path)
	fixture.Write(t, a, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "")))
	b := openSQLite(t, path)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}}, fixture.Lookup(t, b, fixture.ByEmail, "a@example.com"))

	tiered := intake.MustSchema(intake.ObjectContact, append(fixture.Contact.Fields(), intake.Field{Name: "tier", Type: intake.TypeText})...)
	r2 := intake.NewRecord(tiered)
	r2.ID = "2"
	r2.Set("email", intake.Text("b@example.com"))
	r2.Set("tier", intake.Text("gold"))
	fixture.Write(t, b, fixture.Create(r2))
	r3 := intake.NewRecord(tiered)
	r3.ID = "3"
	r3.Set("email", intake.Text("c@example.com"))
	r3.Set("tier", intake.Text("silver"))
	fixture.Write(t, a, fixture.Create(r3))

	var js string
	require.NoError(t, a.DB().QueryRowContext(ctx, `SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&js))
	require.Contains(t, js, `"column":"k_email","hash":"fnv1a64"`)
	require.Contains(t, js, `"name":"tier"`)

	c := openSQLite(t, path)
	r4 := intake.NewRecord(tiered)
	r4.ID = "4"
	r4.Set("email", intake.Text("d@example.com"))
	fixture.Write(t, c, fixture.Create(r4))
	require.Equal(t, map[intake.Key][]string{"c@example.com": {"3"}, "d@example.com": {"4"}}, fixture.Lookup(t, b, fixture.ByEmail, "c@example.com", "d@example.com"))
	got, err := b.Get(ctx, tiered, []string{"3"})
	require.NoError(t, err)
	require.Equal(t, "silver", got["3"].Get("tier").Str())
}

// TestSQLiteSharedFileRetypedField: a sink that retypes a field (text to
// email: the same column) drops the key columns that use it until their
// next Lookup; the other sink takes the retyped table and stops writing
// them as well, and writes them again once the next Lookup filled them
// for every row.
func TestSQLiteSharedFileRetypedField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "retype.db")
	texts := intake.MustSchema(intake.ObjectContact, intake.Field{Name: "email", Type: intake.TypeText})
	emails := intake.MustSchema(intake.ObjectContact, intake.Field{Name: "email", Type: intake.TypeEmail})
	rec := func(s *intake.Schema, id, email string) *sink.Op {
		r := intake.NewRecord(s)
		r.ID = id
		r.Set("email", intake.Text(email))
		return fixture.Create(r)
	}
	a := openSQLite(t, path)
	fixture.Write(t, a, rec(texts, "1", "a@example.com"))
	res, err := a.Lookup(ctx, texts, fixture.ByEmail, []intake.Key{"a@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}}, res)
	b := openSQLite(t, path)
	require.NoError(t, b.EnsureSchema(ctx, emails))
	var js string
	require.NoError(t, a.DB().QueryRowContext(ctx, `SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&js))
	require.NotContains(t, js, `"k_email"`)

	// a's batch of its old schema takes b's table, without k_email.
	fixture.Write(t, a, rec(texts, "2", "B@Example.com"))
	var n int
	require.NoError(t, a.DB().QueryRowContext(ctx, `SELECT count(*) FROM intake_contact WHERE id = '2' AND k_email IS NULL`).Scan(&n))
	require.Equal(t, 1, n, "a no longer writes the key column b dropped")
	res, err = b.Lookup(ctx, emails, fixture.ByEmail, []intake.Key{"a@example.com", "b@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}, "b@example.com": {"2"}}, res)
	// Then a writes records of the new type (a new view of the old type
	// would retype the field back).
	fixture.Write(t, a, rec(emails, "3", "c@example.com"))
	res, err = b.Lookup(ctx, emails, fixture.ByEmail, []intake.Key{"c@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"c@example.com": {"3"}}, res, "a writes the column b filled again")
}

// keyHashCount returns, for each id, the number of its rows whose k_email
// is an INTEGER hash.
func keyHashCount(t *testing.T, db *sql.DB, ids ...string) []int64 {
	t.Helper()
	out := make([]int64, len(ids))
	for i, id := range ids {
		require.NoError(t, db.QueryRowContext(context.Background(), `SELECT count(*) FROM intake_contact WHERE id = ? AND typeof(k_email) = 'integer'`, id).Scan(&out[i]))
	}
	return out
}

// TestSQLiteTableSharedKeyColumn: a host table sink writes the key column
// that another sink's Lookup filled and registered after this sink was
// made, so that the other sink's Lookup finds this sink's creates.
func TestSQLiteTableSharedKeyColumn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, a := openSQLiteHost(t)
	b, err := sqlite.NewTable(ctx, db, intake.ObjectContact, sqliteHostMapping(), sqlite.Config{})
	require.NoError(t, err)
	byLast := intake.Keys("last_name")
	fixture.Write(t, a, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "Meyer")))
	require.Equal(t, map[intake.Key][]string{"meyer": {"1"}}, fixture.Lookup(t, b, byLast, "meyer"))

	fixture.Write(t, a, fixture.Create(fixture.Person("2", "b@example.com", "Ben", "Meyer")), fixture.Create(fixture.Person("3", "c@example.com", "Cleo", "Stone")))
	require.Equal(t, map[intake.Key][]string{"meyer": {"1", "2"}, "stone": {"3"}}, fixture.Lookup(t, b, byLast, "meyer", "stone"))
	fixture.Write(t, a, fixture.Update(fixture.Person("1", "", "", "Stone")))
	require.Equal(t, map[intake.Key][]string{"meyer": {"2"}, "stone": {"1", "3"}}, fixture.Lookup(t, b, byLast, "meyer", "stone"))
}

// TestSQLiteUnlinkLostSchemaChange: in a database whose intake_schema lost
// a sink's change (two sinks of a version before the schema version check
// each added a field at once: forged here by replacing the stored field
// sponsor with mentor), a sink keeps its own snapshot, and its unlink
// searches the link fields of both its snapshot and the stored schema.
func TestSQLiteUnlinkLostSchemaChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lost.db")
	a := openSQLite(t, path)
	fixture.Write(t, a, fixture.Create(fixture.Referral("1", "a@example.com", "", "")))
	sponsored := intake.MustSchema(intake.ObjectContact, append(fixture.Referring.Fields(),
		intake.Field{Name: "sponsor", Type: intake.TypeID, Ref: intake.ObjectContact})...)
	mentored := intake.MustSchema(intake.ObjectContact, append(fixture.Referring.Fields(),
		intake.Field{Name: "mentor", Type: intake.TypeID, Ref: intake.ObjectContact})...)
	s2 := intake.NewRecord(sponsored)
	s2.ID = "2"
	s2.Set("sponsor", intake.Text("1"))
	fixture.Write(t, a, fixture.Create(s2))

	var js string
	require.NoError(t, a.DB().QueryRowContext(ctx, `SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&js))
	require.Contains(t, js, `"sponsor"`)
	for _, q := range []string{`ALTER TABLE intake_contact ADD COLUMN mentor TEXT`, `UPDATE intake_schema SET schema = ? WHERE object = 'contact'`} {
		_, err := a.DB().ExecContext(ctx, q, strings.ReplaceAll(js, "sponsor", "mentor"))
		require.NoError(t, err)
	}
	b := openSQLite(t, path)
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
	require.True(t, got["3"].Get("mentor").IsNull(), "the link in the stored field is gone")
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
