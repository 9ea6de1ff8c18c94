package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/stretchr/testify/require"
)

// TestGuardHashCollisions: two distinct keys that share a hash are two
// keys. In a key column of hashes where a stored row's hash is made that
// of another key, a create with Op.Unique whose key only hashes like the
// stored record's is created.
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
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "guard.db"), Config{})
	require.NoError(t, err)
	t.Cleanup(func() { lite.Close() })
	_, err = lite.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: rec("a", "a@example.com")}})
	require.NoError(t, err)
	_, err = lite.Lookup(ctx, s, byEmail, []intake.Key{"a@example.com"}) // adds the key column
	require.NoError(t, err)
	// The stored row's key hashes like b@example.com's.
	_, err = lite.DB().Exec(`UPDATE intake_contact SET `+sqltable.QuoteIdent(sqltable.KeyColumn(byEmail))+` = ? WHERE id = 'a'`, keyHash("b@example.com"))
	require.NoError(t, err)
	ops := []*sink.Op{
		{Kind: sink.OpCreate, Record: rec("b", "b@example.com"), Unique: []intake.KeySpec{byEmail}},
		{Kind: sink.OpCreate, Record: rec("c", "c@example.com"), Unique: []intake.KeySpec{byEmail}},
	}
	_, err = lite.Write(ctx, ops)
	require.NoError(t, err)
	require.Equal(t, intake.OutcomeCreated, ops[0].Outcome, "a key that only shares a hash is another key")
	require.Nil(t, ops[0].Existing)
	require.Equal(t, intake.OutcomeCreated, ops[1].Outcome)
	got, err := lite.Lookup(ctx, s, byEmail, []intake.Key{"b@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"b"}}, got)
}
