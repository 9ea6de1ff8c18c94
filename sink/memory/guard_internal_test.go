package memory

import (
	"context"
	"fmt"
	"slices"
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

// TestKeyIndexTakesGuardKeys: a create with Op.Unique enters the keys the
// guard computed in the key indexes whose spec it shares, when its fields
// have the same types in the op's schema as in the store's; the indexes
// then find what they find when they compute every key themselves. Two
// stores take the same creates, one with Unique and one without, through
// schemas that type the key fields like the store or not, and answer the
// same lookups alike.
func TestKeyIndexTakesGuardKeys(t *testing.T) {
	t.Parallel()
	contact := intake.ContactSchema()
	asText, err := intake.NewSchema("contact",
		intake.Field{Name: "email", Type: intake.TypeText},
		intake.Field{Name: "first_name", Type: intake.TypeText},
		intake.Field{Name: "last_name", Type: intake.TypeText})
	require.NoError(t, err)
	email, names := intake.Keys("email"), intake.Keys("first_name", "last_name")
	provider := intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider}
	for _, tc := range []struct {
		name    string
		schemas []*intake.Schema // of the creates, in turn
		specs   []intake.KeySpec
	}{
		{"same types", []*intake.Schema{contact}, []intake.KeySpec{email, provider, names}},
		{"retyped", []*intake.Schema{contact, asText, asText, contact}, []intake.KeySpec{email, names}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := guardKeyAnswers(t, tc.schemas, tc.specs, false)
			require.NotEmpty(t, want[0])
			require.Equal(t, want, guardKeyAnswers(t, tc.schemas, tc.specs, true))
		})
	}
}

// guardKeyAnswers builds the indexes of specs in a new store, creates
// contacts through schemas in turn (when guarded, with Unique: every one
// of specs, in another order each time), and returns what Lookup by each
// spec finds of their keys under every schema.
func guardKeyAnswers(t *testing.T, schemas []*intake.Schema, specs []intake.KeySpec, guarded bool) []map[intake.Key][]string {
	ctx := context.Background()
	creates := [][3]string{
		{"Ann.Lee+x@GMail.com", "Ann", "Lee"},
		{"  Bo   Ray@example.com ", "Bo", "Ray"},
		{"zoë@example.com", "Zoë", "Ångström"},
		{" Dee   Ray@Example.com", "  DEE ", "o'neil"}, // a contact after the store retyped email to text
		{"e@example.com", "", "Solo"},
		{"f@example.com", "Fay", "Lee"},
	}
	rec := func(k int, s *intake.Schema) *intake.Record {
		r := intake.NewRecord(s)
		r.ID = fmt.Sprint("id", k)
		r.Set("email", intake.Text(creates[k][0]))
		r.Set("first_name", intake.Text(creates[k][1]))
		r.Set("last_name", intake.Text(creates[k][2]))
		return r
	}
	keys := make([][]intake.Key, len(specs))
	for i, spec := range specs {
		for k := range creates {
			for _, s := range schemas { // its key under every schema
				r := rec(k, s)
				plan, err := s.CompileKey(spec)
				require.NoError(t, err)
				key, _ := plan.Key(r)
				keys[i] = append(keys[i], key)
			}
		}
	}
	mem := New(Config{})
	t.Cleanup(func() { mem.Close() })
	for i, spec := range specs { // the indexes first: writes keep them
		_, err := mem.Lookup(ctx, schemas[0], spec, keys[i])
		require.NoError(t, err)
	}
	for k := range creates {
		op := &sink.Op{Kind: sink.OpCreate, Record: rec(k, schemas[k%len(schemas)])}
		if guarded {
			n := k % len(specs) // every spec, in turn first
			op.Unique = append(slices.Clone(specs[n:]), specs[:n]...)
		}
		_, err := mem.Write(ctx, []*sink.Op{op})
		require.NoError(t, err)
		require.Equal(t, intake.OutcomeCreated, op.Outcome, "create %d", k)
	}
	var out []map[intake.Key][]string
	for i, spec := range specs {
		got, err := mem.Lookup(ctx, schemas[0], spec, keys[i])
		require.NoError(t, err)
		out = append(out, got)
	}
	return out
}
