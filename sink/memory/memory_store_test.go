package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// checkRuns checks the invariant of linear probing: every slot is reachable
// from its home without crossing an empty slot.
func checkRuns(t *testing.T, st *slotTable) {
	t.Helper()
	n := 0
	for i, s := range st.slots {
		if s == 0 {
			continue
		}
		n++
		for j := slotTag(s) & st.mask; j != uint32(i); j = (j + 1) & st.mask {
			require.NotZero(t, st.slots[j], "slot %d (home %d) cut off at %d", i, slotTag(s)&st.mask, j)
		}
	}
	require.Equal(t, st.n, n)
}

// TestSlotTable adds and removes slots at random, with few distinct tags
// (long runs that wrap around the end of the table) and many, through
// several doublings, against a model.
func TestSlotTable(t *testing.T) {
	t.Parallel()
	for _, tags := range []uint32{3, 1 << 30} {
		t.Run(fmt.Sprint(tags), func(t *testing.T) {
			h := newOffHeap()
			defer h.freeAll()
			st := newSlotTable(h, 0)
			model := map[uint32]uint32{} // pos → tag
			r := rand.New(rand.NewPCG(1, uint64(tags)))
			next := uint32(0)
			steps := 20000
			if tags == 3 {
				steps = 3000 // one long run: quadratic
			}
			for step := range steps {
				if len(model) > 0 && r.IntN(3) == 0 {
					for p, tag := range model { // a random one
						st.remove(tag, p)
						delete(model, p)
						break
					}
				} else {
					tag := r.Uint32N(tags) | 0xfff00000 // homes near the end: runs wrap
					if tags > 3 {
						tag = r.Uint32()
					}
					st.add(tag, next)
					model[next] = tag
					next++
				}
				if step%997 == 0 {
					checkRuns(t, &st)
				}
			}
			checkRuns(t, &st)
			require.Greater(t, len(st.slots), minSlots, "the table grew")
			for p, tag := range model {
				found := false
				for i := tag & st.mask; st.slots[i] != 0; i = (i + 1) & st.mask {
					found = found || st.slots[i] == slotOf(tag, p)
				}
				require.True(t, found, "pos %d", p)
			}
			for p, tag := range model {
				st.remove(tag, p)
			}
			require.Zero(t, st.n)
			require.Equal(t, make([]uint64, len(st.slots)), st.slots)
		})
	}
}

// memModel is what a Memory should hold: records by id, in creation order.
type memModel struct {
	order []string
	recs  map[string]*intake.Record
}

// TestMemoryModel applies random batches of creates, updates (some changing
// the key, some clearing it, some unchanged), opt-outs and failing batches,
// with real hashes and with every hash alike, and compares lookups, gets,
// scans, counts and outcomes with a model.
func TestMemoryModel(t *testing.T) {
	t.Parallel()
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := intake.ContactSchema()
			email, first := s.Index("email"), s.Index("first_name")
			m := New(Config{})
			defer m.Close()
			m.collide = collide
			mod := memModel{recs: map[string]*intake.Record{}}
			r := rand.New(rand.NewPCG(3, 4))
			emails := 300
			records := 3000
			if collide {
				emails, records = 40, 1500
			}
			randEmail := func() intake.Value {
				if r.IntN(10) == 0 {
					return intake.Null
				}
				return intake.Text(fmt.Sprintf("U%d@Example.com", r.IntN(emails)))
			}
			// The email index exists from the start, the first-name one is
			// built halfway.
			_, err := m.Lookup(ctx, s, intake.Keys("email"), nil)
			require.NoError(t, err)
			nextID := 0
			for len(mod.order) < records {
				var ops []*sink.Op
				var want []intake.Outcome
				shadow := map[string]*intake.Record{}
				cur := func(id string) *intake.Record {
					if x, ok := shadow[id]; ok {
						return x
					}
					return mod.recs[id]
				}
				var created []string
				fail := r.IntN(8) == 0
				for range 1 + r.IntN(40) {
					switch k := r.IntN(10); {
					case k < 5 || len(mod.order) == 0:
						rec := intake.NewRecord(s)
						rec.ID = fmt.Sprintf("id-%d", nextID)
						nextID++
						rec.Values[email] = randEmail()
						rec.Values[first] = intake.Text(fmt.Sprint("F", r.IntN(5)))
						ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: rec})
						want = append(want, intake.OutcomeCreated)
						shadow[rec.ID] = rec.Clone()
						created = append(created, rec.ID)
					case k < 9:
						id := mod.order[r.IntN(len(mod.order))]
						if len(created) > 0 && r.IntN(3) == 0 {
							id = created[r.IntN(len(created))]
						}
						old := cur(id)
						rec := intake.NewRecord(s)
						rec.ID = id
						var clear []int
						switch r.IntN(4) {
						case 0:
							rec.Values[email] = randEmail()
						case 1:
							clear = []int{email}
						case 2:
							rec.Values[first] = intake.Text(fmt.Sprint("F", r.IntN(5)))
						}
						nw := old.Clone()
						for i, v := range rec.Values {
							if !v.IsNull() {
								nw.Values[i] = v
							}
						}
						for _, c := range clear {
							nw.Values[c] = intake.Null
						}
						ops = append(ops, &sink.Op{Kind: sink.OpUpdate, Record: rec, Clear: clear})
						if slices.Equal(nw.Values, old.Values) {
							want = append(want, intake.OutcomeUnchanged)
						} else {
							want = append(want, intake.OutcomeUpdated)
						}
						shadow[id] = nw
					default:
						id := mod.order[r.IntN(len(mod.order))]
						nw := cur(id).Clone()
						nw.OptedOut = true
						ops = append(ops, &sink.Op{Kind: sink.OpOptOut, Record: &intake.Record{Schema: s, ID: id}})
						want = append(want, intake.OutcomeOptedOut)
						shadow[id] = nw
					}
				}
				if fail { // a duplicate create or an unknown id at a random place
					bad := &sink.Op{Kind: sink.OpUpdate, Record: &intake.Record{Schema: s, ID: "ghost"}}
					if len(created) > 0 && r.IntN(2) == 0 {
						bad = &sink.Op{Kind: sink.OpCreate, Record: &intake.Record{Schema: s, ID: created[r.IntN(len(created))]}}
					}
					at := r.IntN(len(ops) + 1)
					ops = slices.Insert(ops, at, bad)
				}
				n, err := m.Write(ctx, ops)
				if fail {
					require.Error(t, err)
					require.Zero(t, n)
				} else {
					require.NoError(t, err)
					for i, op := range ops {
						require.Equal(t, want[i], op.Outcome, "op %d %s %s", i, op.Kind, op.Record.ID)
					}
					mod.order = append(mod.order, created...)
					for id, rec := range shadow {
						mod.recs[id] = rec
					}
				}
				if len(mod.order) > records/2 && r.IntN(20) == 0 {
					checkModel(t, m, &mod, emails)
				}
			}
			checkModel(t, m, &mod, emails)
			st := m.Stats()
			require.EqualValues(t, len(mod.order), st.Records)
			require.Positive(t, st.GarbageBytes)
		})
	}
}

func checkModel(t *testing.T, m *Store, mod *memModel, emails int) {
	t.Helper()
	ctx := context.Background()
	s := intake.ContactSchema()
	for _, spec := range []intake.KeySpec{intake.Keys("email"), intake.Keys("first_name")} {
		plan, err := s.CompileKey(spec)
		require.NoError(t, err)
		want := map[intake.Key][]string{}
		for _, id := range mod.order {
			if k, _ := plan.Key(mod.recs[id]); k != "" {
				want[k] = append(want[k], id)
			}
		}
		var keys []intake.Key
		for i := range emails {
			keys = append(keys, intake.Key(fmt.Sprintf("u%d@example.com", i)))
		}
		for i := range 5 {
			keys = append(keys, intake.Key(fmt.Sprint("f", i)))
		}
		got, err := m.Lookup(ctx, s, spec, keys)
		require.NoError(t, err)
		require.Equal(t, want, got, spec.Name())
	}
	got, err := m.Get(ctx, s, append(slices.Clone(mod.order), "ghost"))
	require.NoError(t, err)
	require.Len(t, got, len(mod.order))
	for id, rec := range mod.recs {
		require.Equal(t, rec.Values, got[id].Values, id)
		require.Equal(t, rec.OptedOut, got[id].OptedOut, id)
	}
	var ids []string
	require.NoError(t, m.Scan(ctx, s, func(r *intake.Record) error {
		require.Equal(t, mod.recs[r.ID].Values, r.Values)
		ids = append(ids, r.ID)
		return nil
	}))
	require.Equal(t, mod.order, ids)
	n, err := m.Count(ctx, s.Object())
	require.NoError(t, err)
	require.EqualValues(t, len(mod.order), n)
}

// TestMemoryKeyChurn moves a few records between keys many times: the key
// index must neither grow nor lose records (deletion leaves no tombstones).
func TestMemoryKeyChurn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := intake.ContactSchema()
	email := s.Index("email")
	m := New(Config{})
	defer m.Close()
	var ops []*sink.Op
	for i := range 100 {
		r := intake.NewRecord(s)
		r.ID, r.Values[email] = fmt.Sprint(i), intake.Text(fmt.Sprintf("%d@x", i))
		ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: r})
	}
	_, err := m.Write(ctx, ops)
	require.NoError(t, err)
	_, err = m.Lookup(ctx, s, intake.Keys("email"), nil)
	require.NoError(t, err)
	x := m.objects[s.Object()].keys["email"]
	size := len(x.slots)
	for round := range 200 {
		ops = ops[:0]
		for i := range 100 {
			r := intake.NewRecord(s)
			r.ID, r.Values[email] = fmt.Sprint(i), intake.Text(fmt.Sprintf("%d@x", (i+round+1)%100+100*(round%2)))
			ops = append(ops, &sink.Op{Kind: sink.OpUpdate, Record: r})
		}
		_, err = m.Write(ctx, ops)
		require.NoError(t, err)
	}
	require.Equal(t, size, len(x.slots))
	require.Equal(t, 100, x.n)
	checkRuns(t, &x.slotTable)
	res, err := m.Lookup(ctx, s, intake.Keys("email"), []intake.Key{"0@x", "100@x", "1@x"})
	require.NoError(t, err)
	// Round 199 (odd) gave record i the email (i+200)%100+100.
	require.Equal(t, map[intake.Key][]string{"100@x": {"0"}}, res)
	require.Positive(t, m.Stats().GarbageBytes)
}

// TestMemoryGrowth stores enough records to grow the id index, a key index
// and the arena many times, including a record larger than an arena chunk.
func TestMemoryGrowth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := intake.ContactSchema()
	email, city := s.Index("email"), s.Index("city")
	m := New(Config{})
	defer m.Close()
	_, err := m.Lookup(ctx, s, intake.Keys("email"), nil)
	require.NoError(t, err)
	big := string(make([]byte, arenaMaxChunk+10))
	const n = 60000
	for b := 0; b < n; b += 1000 {
		var ops []*sink.Op
		for i := b; i < b+1000; i++ {
			r := intake.NewRecord(s)
			r.ID, r.Values[email] = fmt.Sprint("r", i), intake.Text(fmt.Sprintf("%d@x", i))
			if i == 30001 {
				r.Values[city] = intake.Text(big)
			}
			ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: r})
		}
		_, err := m.Write(ctx, ops)
		require.NoError(t, err)
	}
	o := m.objects[s.Object()]
	require.Greater(t, len(o.ids.slots), n)
	require.LessOrEqual(t, len(o.ids.slots), 4*n)
	checkRuns(t, &o.ids)
	checkRuns(t, &o.keys["email"].slotTable)
	for i := 0; i < n; i += 1237 {
		k := intake.Key(fmt.Sprintf("%d@x", i))
		res, err := m.Lookup(ctx, s, intake.Keys("email"), []intake.Key{k})
		require.NoError(t, err)
		require.Equal(t, []string{fmt.Sprint("r", i)}, res[k])
	}
	got, err := m.Get(ctx, s, []string{"r30000", "r30001", "r30002"})
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, big, got["r30001"].Values[city].Str())
	require.Equal(t, "30002@x", got["r30002"].Values[email].Str())
	st := m.Stats()
	require.EqualValues(t, n, st.Records)
	require.GreaterOrEqual(t, st.OffHeapBytes, st.ArenaBytes+st.IndexBytes)
}

// TestMemoryClose checks that records from Get and Scan survive Close and
// later writes (they never point into the store), and that a closed Memory
// answers with errors.
func TestMemoryClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := intake.ContactSchema()
	email := s.Index("email")
	m := New(Config{})
	mk := func(id, mail string) *sink.Op {
		r := intake.NewRecord(s)
		r.ID, r.Values[email] = id, intake.Text(mail)
		return &sink.Op{Kind: sink.OpCreate, Record: r}
	}
	_, err := m.Write(ctx, []*sink.Op{mk("a", "a@example.com"), mk("b", "b@example.com")})
	require.NoError(t, err)
	got, err := m.Get(ctx, s, []string{"a"})
	require.NoError(t, err)
	var kept []*intake.Record
	require.NoError(t, m.Scan(ctx, s, func(r *intake.Record) error { kept = append(kept, r.Clone()); return nil }))
	res, err := m.Lookup(ctx, s, intake.Keys("email"), []intake.Key{"b@example.com"})
	require.NoError(t, err)
	// Opt "a" out and change its email: the copies keep what they had.
	u := intake.NewRecord(s)
	u.ID, u.Values[email] = "a", intake.Text("new@example.com")
	_, err = m.Write(ctx, []*sink.Op{{Kind: sink.OpOptOut, Record: u}, {Kind: sink.OpUpdate, Record: u}})
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, m.Close())
	require.Equal(t, "a@example.com", got["a"].Values[email].Str())
	require.False(t, got["a"].OptedOut)
	require.Equal(t, "a", got["a"].ID)
	require.Len(t, kept, 2)
	require.Equal(t, "b@example.com", kept[1].Values[email].Str())
	require.Equal(t, "b", kept[1].ID)
	require.Equal(t, []string{"b"}, res["b@example.com"])

	_, err = m.Write(ctx, []*sink.Op{mk("c", "")})
	require.ErrorIs(t, err, errMemoryClosed)
	_, err = m.Lookup(ctx, s, intake.Keys("email"), []intake.Key{"b@example.com"})
	require.ErrorIs(t, err, errMemoryClosed)
	_, err = m.Get(ctx, s, []string{"a"})
	require.ErrorIs(t, err, errMemoryClosed)
	require.ErrorIs(t, m.Scan(ctx, s, func(*intake.Record) error { return nil }), errMemoryClosed)
	_, err = m.Count(ctx, s.Object())
	require.ErrorIs(t, err, errMemoryClosed)
	_, err = m.Schema(ctx, s.Object())
	require.ErrorIs(t, err, errMemoryClosed)
	require.ErrorIs(t, m.EnsureSchema(ctx, s), errMemoryClosed)
	require.Equal(t, Stats{}, m.Stats())
}

// TestMemoryRollback checks that a failed batch leaves no trace in the id
// index: its ids can be created afterwards.
func TestMemoryRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := intake.ContactSchema()
	m := New(Config{MaxRecords: 5})
	defer m.Close()
	m.collide = true
	mk := func(kind sink.OpKind, id string) *sink.Op {
		return &sink.Op{Kind: kind, Record: &intake.Record{Schema: s, ID: id}}
	}
	_, err := m.Write(ctx, []*sink.Op{mk(sink.OpCreate, "a")})
	require.NoError(t, err)
	for _, batch := range [][]*sink.Op{
		{mk(sink.OpCreate, "b"), mk(sink.OpCreate, "c"), mk(sink.OpUpdate, "zz")},
		{mk(sink.OpCreate, "b"), mk(sink.OpCreate, "c"), mk(sink.OpCreate, "b")},
		{mk(sink.OpCreate, "b"), mk(sink.OpCreate, "c"), mk(sink.OpCreate, "a")},
		{mk(sink.OpUpdate, "b"), mk(sink.OpCreate, "b")},
		{mk(sink.OpCreate, "b"), mk(sink.OpCreate, "c"), mk(sink.OpCreate, "d"), mk(sink.OpCreate, "e"), mk(sink.OpCreate, "f")},
	} {
		n, err := m.Write(ctx, batch)
		require.Error(t, err)
		require.Zero(t, n)
		require.Equal(t, 1, m.objects[s.Object()].ids.n)
	}
	out, err := m.Write(ctx, []*sink.Op{mk(sink.OpCreate, "b"), mk(sink.OpUpdate, "b"), mk(sink.OpCreate, "c"), mk(sink.OpOptOut, "c")})
	require.NoError(t, err)
	require.Equal(t, 4, out)
	got, err := m.Get(ctx, s, []string{"a", "b", "c"})
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.True(t, got["c"].OptedOut)
}
