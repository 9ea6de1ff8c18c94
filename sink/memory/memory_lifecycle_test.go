package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// TestMemoryDelete covers what the kit leaves to each sink: a batch that
// deletes a record and creates its id again, a failed batch that puts a
// deleted id back, key indexes built after deletes, room freed for
// MaxRecords, and the garbage a delete leaves — with and without hash
// collisions.
func TestMemoryDelete(t *testing.T) {
	t.Parallel()
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprint("collide=", collide), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			m := New(Config{MaxRecords: 20})
			t.Cleanup(func() { m.Close() })
			m.collide = collide
			s := intake.ContactSchema()
			mk := func(id, email, last string) *intake.Record {
				r := intake.NewRecord(s)
				r.ID = id
				r.Set("email", intake.Text(email))
				r.Set("last_name", intake.Text(last))
				return r
			}
			del := func(id string) *sink.Op {
				return &sink.Op{Kind: sink.OpDelete, Record: &intake.Record{Schema: s, ID: id}, Audit: &sink.AuditEntry{Time: time.Now(), Reason: "test"}}
			}
			lookup := func(spec intake.KeySpec, keys ...intake.Key) map[intake.Key][]string {
				t.Helper()
				res, err := m.Lookup(ctx, s, spec, keys)
				require.NoError(t, err)
				return res
			}
			var ops []*sink.Op
			for i := range 20 {
				ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: mk(fmt.Sprint(i), fmt.Sprintf("%d@example.com", i%5), "Meyer")})
			}
			_, err := m.Write(ctx, ops)
			require.NoError(t, err)
			lookup(intake.Keys("email"))

			// Delete and create again, in one batch, in a full store.
			ops = []*sink.Op{del("3"), {Kind: sink.OpCreate, Record: mk("3", "new@example.com", "Neu")}, del("8")}
			_, err = m.Write(ctx, ops)
			require.NoError(t, err)
			require.Equal(t, []intake.Outcome{intake.OutcomeDeleted, intake.OutcomeCreated, intake.OutcomeDeleted}, []intake.Outcome{ops[0].Outcome, ops[1].Outcome, ops[2].Outcome})
			require.Equal(t, map[intake.Key][]string{"3@example.com": {"13", "18"}, "new@example.com": {"3"}}, lookup(intake.Keys("email"), "3@example.com", "new@example.com"))
			got, err := m.Get(ctx, s, []string{"3", "8"})
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, "Neu", got["3"].Get("last_name").Str())
			// An index built after the deletes leaves them out.
			require.Equal(t, map[intake.Key][]string{"neu": {"3"}}, lookup(intake.Keys("last_name"), "neu"))
			require.Len(t, lookup(intake.Keys("last_name"), "meyer")["meyer"], 18)
			n, err := m.Count(ctx, intake.ObjectContact)
			require.NoError(t, err)
			require.EqualValues(t, 19, n)
			st := m.Stats()
			require.EqualValues(t, 19, st.Records)
			require.Positive(t, st.GarbageBytes)

			// A failed batch puts the ids it deleted back.
			ops = []*sink.Op{del("13"), {Kind: sink.OpCreate, Record: mk("13", "x@example.com", "")}, del("ghost")}
			_, err = m.Write(ctx, ops)
			require.ErrorIs(t, err, sink.ErrNotFound)
			got, err = m.Get(ctx, s, []string{"13"})
			require.NoError(t, err)
			require.Equal(t, "3@example.com", got["13"].Get("email").Str())
			require.Equal(t, map[intake.Key][]string{"3@example.com": {"13", "18"}}, lookup(intake.Keys("email"), "3@example.com", "x@example.com"))
			_, err = m.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: mk("13", "", "")}})
			require.ErrorIs(t, err, sink.ErrDuplicateID)

			var ids []string
			require.NoError(t, m.Scan(ctx, s, func(r *intake.Record) error { ids = append(ids, r.ID); return nil }))
			require.Len(t, ids, 19)
			require.Equal(t, "3", ids[18], "a record created again is the newest")
			log, err := m.AuditLog(ctx, intake.ObjectContact, "")
			require.NoError(t, err)
			require.Len(t, log, 2)
		})
	}
}
