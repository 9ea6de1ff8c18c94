package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/stretchr/testify/require"
)

// Batches of many creates store every value exactly, whatever its bytes
// (quotes, control characters, NUL, invalid UTF-8), in batch order, with
// key columns that find them. A faster create path (one statement per
// batch, say) must keep this.
func TestSQLiteWriteValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "b.db"))
	sch := intake.MustSchema("thing",
		intake.Field{Name: "t", Type: intake.TypeText},
		intake.Field{Name: "b", Type: intake.TypeBool},
		intake.Field{Name: "d", Type: intake.TypeDecimal},
		intake.Field{Name: "day", Type: intake.TypeDate},
		intake.Field{Name: "ts", Type: intake.TypeTimestamp},
		intake.Field{Name: "m", Type: intake.TypeMultiSelect, Options: []string{"a", "b\"", "c\\"}},
	)
	texts := []string{"", "plain", `quo"te`, `back\slash`, "new\nline\ttab\r", "ctl\x01\x1f\x7f", "ünïcödé 😀", "nul\x00byte", "bad\xffutf8", "1234", "null", "[1]", "\u2028"}
	by := map[string]*intake.Record{}
	for round, mixed := range []bool{false, true} {
		var ops []*sink.Op
		for i, txt := range texts {
			if mixed && (txt == "nul\x00byte" || txt == "bad\xffutf8") {
				continue
			}
			r := intake.NewRecord(sch)
			r.ID = fmt.Sprintf("%d-%d-%s", round, i, txt)
			r.OptedOut = i%3 == 0
			r.Values[0] = intake.Text(txt)
			if i%2 == 0 {
				r.Values[1] = intake.Bool(i%4 == 0)
				d, ok := intake.DecimalString(fmt.Sprint(i, ".5"))
				require.True(t, ok)
				r.Values[2] = d
				r.Values[3] = intake.Date(1900+i, time.March, 1+i)
				r.Values[4] = intake.Timestamp(time.UnixMicro(-1234567 * int64(i)))
				r.Values[5] = intake.List("a", "b\"", "c\\")
			}
			by[r.ID] = r
			ops = append(ops, fixture.Create(r))
		}
		if !mixed {
			ops = ops[:len(ops)-1] // one table of a batch: also with keys
		}
		fixture.Write(t, s, ops...)
		if round == 0 {
			res, err := s.Lookup(ctx, sch, intake.Keys("t"), []intake.Key{"x"})
			require.NoError(t, err)
			require.Empty(t, res)
		}
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	got, err := s.Get(ctx, sch, ids)
	require.NoError(t, err)
	n := 0
	for id, want := range by {
		g := got[id]
		if id == "0-12-\u2028" {
			require.Nil(t, g)
			continue
		}
		n++
		require.NotNil(t, g, "%q", id)
		require.Equal(t, want.OptedOut, g.OptedOut, "%q", id)
		require.Equal(t, want.Values, g.Values, "%q", id)
	}
	plan, err := sch.CompileKey(intake.Keys("t"))
	require.NoError(t, err)
	for id, r := range by {
		k, _ := plan.Key(r)
		if k == "" || id == "0-12-\u2028" {
			continue
		}
		res, err := s.Lookup(ctx, sch, intake.Keys("t"), []intake.Key{k})
		require.NoError(t, err)
		require.Contains(t, res[k], id, "%q", id)
	}
	var order []string
	require.NoError(t, s.Scan(ctx, sch, func(r *intake.Record) error {
		order = append(order, r.ID)
		return nil
	}))
	require.Len(t, order, n)
	require.Equal(t, "0-0-", order[0])
	require.Equal(t, "1-0-", order[12])
}

// A batch of many creates that the database refuses names the record
// that broke the constraint and writes nothing, as a batch of one create;
// creates mixed with updates and opt-outs apply in order.
func TestSQLiteWriteManyErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "e.db"))
	require.NoError(t, s.EnsureSchema(ctx, fixture.Contact))
	_, err := s.DB().ExecContext(ctx, `CREATE UNIQUE INDEX host_email ON intake_contact (email)`)
	require.NoError(t, err)
	fixture.Write(t, s, fixture.Create(fixture.Person("stored", "s@example.com", "", "")))
	batch := func(bad *intake.Record, at int) []*sink.Op {
		var ops []*sink.Op
		for i := range 20 {
			ops = append(ops, fixture.Create(fixture.Person(fmt.Sprint("n", i), fmt.Sprintf("n%d@example.com", i), "", "")))
		}
		if bad != nil {
			bad.Line = 42
			ops[at] = fixture.Create(bad)
		}
		return ops
	}
	for _, tc := range []struct {
		name string
		bad  *intake.Record
		at   int
		dup  bool
	}{
		{"host constraint", fixture.Person("x", "s@example.com", "", ""), 15, false},
		{"host constraint in batch", fixture.Person("x", "n3@example.com", "", ""), 12, false},
		{"stored id", fixture.Person("stored", "", "", ""), 11, true},
		{"id twice", fixture.Person("n2", "", "", ""), 9, true},
	} {
		ops := batch(tc.bad, tc.at)
		n, err := s.Write(ctx, ops)
		require.Equal(t, 0, n, tc.name)
		var re *sink.RecordError
		require.ErrorAs(t, err, &re, tc.name)
		require.Equal(t, tc.bad.ID, re.ID, tc.name)
		require.Equal(t, 42, re.Line, tc.name)
		require.Equal(t, tc.dup, errorIs(err, sink.ErrDuplicateID), tc.name)
		for _, op := range ops {
			require.Equal(t, intake.OutcomeNone, op.Outcome, tc.name)
		}
		c, err := s.Count(ctx, intake.ObjectContact)
		require.NoError(t, err)
		require.EqualValues(t, 1, c, tc.name)
	}

	// Creates with updates and opt-outs: in order, whatever the grouping.
	ops := batch(nil, 0)
	ops = append(ops, fixture.Update(fixture.Person("stored", "t@example.com", "Sam", "")), fixture.OptOut("stored"))
	ops = append([]*sink.Op{fixture.Update(fixture.Person("stored", "u@example.com", "", ""))}, ops...)
	ops = append(ops, fixture.Create(fixture.Person("late", "s@example.com", "", ""))) // the email "stored" gave up
	fixture.Write(t, s, ops...)
	require.Equal(t, intake.OutcomeUpdated, ops[0].Outcome)
	require.Equal(t, intake.OutcomeCreated, ops[1].Outcome)
	require.Equal(t, intake.OutcomeOptedOut, ops[len(ops)-2].Outcome)
	require.Equal(t, intake.OutcomeCreated, ops[len(ops)-1].Outcome)
	g := fixture.Get(t, s, "stored")
	require.Equal(t, "t@example.com", g.Get("email").Str())
	require.True(t, g.OptedOut)

	// An update of a record created in the same batch sees the create.
	ops = nil
	for i := range 20 {
		ops = append(ops, fixture.Create(fixture.Person(fmt.Sprint("m", i), "", "", "")))
	}
	ops = append(ops, fixture.Update(fixture.Person("m3", "", "Mia", "")), fixture.Create(fixture.Person("m20", "", "", "")))
	fixture.Write(t, s, ops...)
	require.Equal(t, "Mia", fixture.Get(t, s, "m3").Get("first_name").Str())
	require.NotNil(t, fixture.Get(t, s, "m20"))
}

func errorIs(err, target error) bool { return errors.Is(err, target) }
