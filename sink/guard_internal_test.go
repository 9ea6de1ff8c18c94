package sink

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/require"
)

// TestGuardHashCollisions: two distinct keys that share a hash are two
// keys. A create with Op.Unique whose key only hashes like a stored
// record's is created, and one with the stored key is held — in the memory
// store with every key hashing alike, and in a SQLite key column of hashes
// where a stored row's hash is made that of another key.
func TestGuardHashCollisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := intake.ContactSchema()
	byEmail := intake.Keys("email")
	rec := func(id, email string) *intake.Record {
		r := intake.NewRecord(s)
		r.ID = id
		r.Set("email", intake.Text(email))
		return r
	}
	mem := NewMemory(MemoryConfig{})
	t.Cleanup(func() { mem.Close() })
	mem.collide = true
	lite, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "guard.db"), SQLiteConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { lite.Close() })
	for name, sk := range map[string]interface {
		Sink
		Lookuper
	}{"memory": mem, "sqlite": lite} {
		t.Run(name, func(t *testing.T) {
			_, err := sk.Write(ctx, []*Op{{Kind: OpCreate, Record: rec("a", "a@example.com")}})
			require.NoError(t, err)
			_, err = sk.Lookup(ctx, s, byEmail, []intake.Key{"a@example.com"}) // adds SQLite's key column
			require.NoError(t, err)
			if name == "sqlite" {
				// The stored row's key hashes like b@example.com's.
				_, err := lite.DB().Exec(`UPDATE intake_contact SET `+quoteIdent(keyColumn(byEmail))+` = ? WHERE id = 'a'`, keyHash("b@example.com"))
				require.NoError(t, err)
			}
			ops := []*Op{
				{Kind: OpCreate, Record: rec("b", "b@example.com"), Unique: []intake.KeySpec{byEmail}},
				{Kind: OpCreate, Record: rec("c", "c@example.com"), Unique: []intake.KeySpec{byEmail}},
			}
			_, err = sk.Write(ctx, ops)
			require.NoError(t, err)
			require.Equal(t, intake.OutcomeCreated, ops[0].Outcome, "a key that only shares a hash is another key")
			require.Nil(t, ops[0].Existing)
			require.Equal(t, intake.OutcomeCreated, ops[1].Outcome)
			if name == "memory" {
				dup := &Op{Kind: OpCreate, Record: rec("d", "A@example.com"), Unique: []intake.KeySpec{byEmail}}
				_, err = sk.Write(ctx, []*Op{dup})
				require.NoError(t, err)
				require.Equal(t, []string{"a"}, dup.Existing, "the stored key, among colliding ones, holds the create")
			}
			got, err := sk.Lookup(ctx, s, byEmail, []intake.Key{"b@example.com"})
			require.NoError(t, err)
			require.Equal(t, map[intake.Key][]string{"b@example.com": {"b"}}, got)
		})
	}
}
