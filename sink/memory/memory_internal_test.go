package memory

import (
	"context"
	"fmt"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// TestMemoryHashCollisions makes every key and id hash alike: lookups and
// gets must still find exactly the right records.
func TestMemoryHashCollisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := New(Config{})
	m.collide = true
	s := intake.ContactSchema()
	email := s.Index("email")
	var ops []*sink.Op
	for i := range 50 {
		r := intake.NewRecord(s)
		r.ID = fmt.Sprint(i)
		r.Values[email] = intake.Text(fmt.Sprintf("%d@example.com", i%10))
		ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: r})
	}
	_, err := m.Write(ctx, ops)
	require.NoError(t, err)
	res, err := m.Lookup(ctx, s, intake.Keys("email"), []intake.Key{"3@example.com", "x@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"3@example.com": {"3", "13", "23", "33", "43"}}, res)
	// Move record 13 to another key; the chain keeps the others.
	r := intake.NewRecord(s)
	r.ID, r.Values[email] = "13", intake.Text("x@example.com")
	_, err = m.Write(ctx, []*sink.Op{{Kind: sink.OpUpdate, Record: r}})
	require.NoError(t, err)
	res, err = m.Lookup(ctx, s, intake.Keys("email"), []intake.Key{"3@example.com", "x@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"3@example.com": {"3", "23", "33", "43"}, "x@example.com": {"13"}}, res)
	got, err := m.Get(ctx, s, []string{"42", "nope"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "2@example.com", got["42"].Values[email].Str())
}

func TestMemoryMaxRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := New(Config{MaxRecords: 2})
	s := intake.ContactSchema()
	mk := func(id string) *sink.Op {
		return &sink.Op{Kind: sink.OpCreate, Record: &intake.Record{Schema: s, ID: id}}
	}
	_, err := m.Write(ctx, []*sink.Op{mk("1"), mk("2")})
	require.NoError(t, err)
	n, err := m.Write(ctx, []*sink.Op{mk("3")})
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, sink.ErrFull)
}
