package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/stretchr/testify/require"
)

// A new key column holds INTEGER hashes of the keys, and Lookup checks the
// key of every row a hash finds: a row whose column holds the hash of
// another key (a collision, forged here) is not that key's match.
func TestSQLiteHashedKeyColumn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hash.db")
	s := openSQLite(t, path)
	fixture.Write(t, s, fixture.Create(fixture.Person("1", "a@example.com", "", "")), fixture.Create(fixture.Person("2", "b@example.com", "", "")))
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}, "b@example.com": {"2"}}, fixture.Lookup(t, s, fixture.ByEmail, "a@example.com", "b@example.com"))
	fixture.Write(t, s, fixture.Create(fixture.Person("3", " A@Example.com", "", "")))

	var js string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&js))
	require.Contains(t, js, `"column":"k_email","hash":"fnv1a64"`)
	var types string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT group_concat(DISTINCT typeof(k_email)) FROM intake_contact`).Scan(&types))
	require.Equal(t, "integer", types)

	_, err := s.DB().ExecContext(ctx, `UPDATE intake_contact SET k_email = (SELECT k_email FROM intake_contact WHERE id = '1') WHERE id = '2'`)
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1", "3"}}, fixture.Lookup(t, s, fixture.ByEmail, "a@example.com"),
		"record 2 has a's hash but not a's key")

	// Writes keep the column current: record 2's update hashes its key again.
	fixture.Write(t, s, fixture.Update(fixture.Person("2", "b@example.com", "Ben", "")))
	require.NoError(t, s.Close())
	s = openSQLite(t, path)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1", "3"}, "b@example.com": {"2"}}, fixture.Lookup(t, s, fixture.ByEmail, "a@example.com", "b@example.com"))
}

// A TEXT key column of a store written before key hashing keeps holding
// keys, also when it is filled again after its field changed type.
func TestSQLiteOldTextKeyColumnRefilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	oldStore(t, path)
	s := openSQLite(t, path)
	retyped := intake.MustSchema("contact", intake.Field{Name: "email", Type: intake.TypeText}, intake.Field{Name: "inactive", Type: intake.TypeBool})
	require.NoError(t, s.EnsureSchema(ctx, retyped))
	var js string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&js))
	require.NotContains(t, js, `"k_email"`, "the retyped field's key column is dropped until its next Lookup")

	res, err := s.Lookup(ctx, retyped, fixture.ByEmail, []intake.Key{"a@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}}, res)
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&js))
	require.Contains(t, js, `{"fields":["email"],"column":"k_email"}`, "no hash: the TEXT column holds keys")
	var typ string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT typeof(k_email) FROM intake_contact WHERE id = '1'`).Scan(&typ))
	require.Equal(t, "text", typ)
}

// An update writes the key columns only when a key changes, and then
// Lookup finds the record under its new key only.
func TestSQLiteUpdateKeyColumns(t *testing.T) {
	t.Parallel()
	s := openSQLite(t, filepath.Join(t.TempDir(), "upd.db"))
	fixture.Write(t, s, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "")))
	require.Equal(t, []string{"1"}, fixture.Lookup(t, s, fixture.ByEmail, "a@example.com")["a@example.com"])
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated}, fixture.Write(t, s, fixture.Update(fixture.Person("1", "", "Anne", ""))))
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}}, fixture.Lookup(t, s, fixture.ByEmail, "a@example.com", "b@example.com"))
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated}, fixture.Write(t, s, fixture.Update(fixture.Person("1", "B@example.com", "", ""))))
	// One key at a time: a row found by the old key's hash is kept under
	// the key it has now.
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"1"}}, fixture.Lookup(t, s, fixture.ByEmail, "b@example.com"))
	require.Empty(t, fixture.Lookup(t, s, fixture.ByEmail, "a@example.com"))
	require.Equal(t, "Anne", fixture.Get(t, s, "1").Get("first_name").Str())
}
