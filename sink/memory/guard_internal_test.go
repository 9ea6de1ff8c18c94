package memory

import (
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// TestGuardHashCollisions: two distinct keys that share a hash are two
// keys. With every key hashing alike, a create with Op.Unique whose key
// only hashes like a stored record's is created, and one with the stored
// key is held.
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
	mem := New(Config{})
	t.Cleanup(func() { mem.Close() })
	mem.collide = true
	_, err := mem.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: rec("a", "a@example.com")}})
	require.NoError(t, err)
	_, err = mem.Lookup(ctx, s, byEmail, []intake.Key{"a@example.com"})
	require.NoError(t, err)
	ops := []*sink.Op{
		{Kind: sink.OpCreate, Record: rec("b", "b@example.com"), Unique: []intake.KeySpec{byEmail}},
		{Kind: sink.OpCreate, Record: rec("c", "c@example.com"), Unique: []intake.KeySpec{byEmail}},
	}
	_, err = mem.Write(ctx, ops)
	require.NoError(t, err)
	require.Equal(t, intake.OutcomeCreated, ops[0].Outcome, "a key that only shares a hash is another key")
	require.Nil(t, ops[0].Existing)
	require.Equal(t, intake.OutcomeCreated, ops[1].Outcome)
	dup := &sink.Op{Kind: sink.OpCreate, Record: rec("d", "A@example.com"), Unique: []intake.KeySpec{byEmail}}
	_, err = mem.Write(ctx, []*sink.Op{dup})
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, dup.Existing, "the stored key, among colliding ones, holds the create")
	got, err := mem.Lookup(ctx, s, byEmail, []intake.Key{"b@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"b@example.com": {"b"}}, got)
}
