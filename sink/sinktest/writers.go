package sinktest

import (
	"fmt"
	"sync"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// unique returns a create of r that must be the only record with its keys
// under specs.
func unique(r *intake.Record, specs ...intake.KeySpec) *sink.Op {
	return &sink.Op{Kind: sink.OpCreate, Record: r, Unique: specs}
}

// testUnique: creates with Op.Unique whose key a stored record, or an
// earlier create of the batch, holds are held with Existing; the others
// are created; a key spec is checked in order, a blank key not at all,
// a record-id spec checks the id, and a stored record that an earlier op
// of the batch deletes or anonymizes holds no key.
func testUnique(k *kit) {
	t := k.t
	byID := intake.KeySpec{Fields: []string{"contact_id"}, RecordID: true}
	k.write(create(person("u1", "ann@example.com", "Ann", "")))
	a := person("u2", "ANN@example.com ", "Ann", "Again") // the same key once normalized
	b := person("u3", "ben@example.com", "Ben", "")
	c := person("u4", "ben@example.com", "Ben", "Twice") // the key of b, earlier in the batch
	d := person("u5", "", "Nobody", "")                  // a blank key: never held
	e := person("u6", "", "Noone", "")
	f := person("u1", "fresh@example.com", "", "") // the id of a stored record, under a record-id spec
	ops := []*sink.Op{unique(a, byEmail), unique(b, byEmail), unique(c, byEmail), unique(d, byEmail), unique(e, byEmail), unique(f, byID, byEmail)}
	out := k.write(ops...)
	want := []intake.Outcome{intake.OutcomeSkipped, intake.OutcomeCreated, intake.OutcomeSkipped, intake.OutcomeCreated, intake.OutcomeCreated, intake.OutcomeSkipped}
	require.Equal(t, want, out)
	require.Equal(t, []string{"u1"}, ops[0].Existing, "held by the stored record")
	require.Nil(t, ops[1].Existing)
	require.Equal(t, []string{"u3"}, ops[2].Existing, "held by the batch's earlier create")
	require.Nil(t, ops[3].Existing)
	require.Equal(t, []string{"u1"}, ops[5].Existing, "held by its id")
	got := k.lookup(byEmail, "ann@example.com", "ben@example.com", "fresh@example.com")
	require.Equal(t, map[intake.Key][]string{"ann@example.com": {"u1"}, "ben@example.com": {"u3"}}, got)
	if k.readable() {
		require.Equal(t, "Ann", k.get("u1").Get("first_name").String(), "a held create changes nothing")
		require.True(t, k.get("u1").Get("last_name").IsNull(), "a held create changes nothing")
	}

	// Rules in order: the first spec with a match names the records.
	byLast := intake.Keys("last_name")
	g := person("u7", "ben@example.com", "", "Again")
	ops = []*sink.Op{unique(g, byLast, byEmail)}
	k.write(ops...)
	require.Equal(t, intake.OutcomeSkipped, ops[0].Outcome)
	require.Equal(t, []string{"u3"}, ops[0].Existing, "no stored record has the last name: the email finds u3")

	// The first create of a key is held by another of its keys: the next
	// create of the key is created, and the one after is held by it.
	k.write(create(person("v0", "v0@example.com", "", "Known")))
	ops = []*sink.Op{
		unique(person("v1", "dup@example.com", "", "Known"), byLast, byEmail),
		unique(person("v2", "dup@example.com", "", "Other"), byLast, byEmail),
		unique(person("v3", "dup@example.com", "", "Third"), byLast, byEmail),
	}
	require.Equal(t, []intake.Outcome{intake.OutcomeSkipped, intake.OutcomeCreated, intake.OutcomeSkipped}, k.write(ops...))
	require.Equal(t, []string{"v0"}, ops[0].Existing)
	require.Equal(t, []string{"v2"}, ops[2].Existing)
	require.Equal(t, map[intake.Key][]string{"dup@example.com": {"v2"}}, k.lookup(byEmail, "dup@example.com"))

	// A stored record that an earlier op of the batch deletes or
	// anonymizes no longer holds its key.
	if k.c.lifecycle {
		audit := func() *sink.AuditEntry { return &sink.AuditEntry{Reason: "request", Line: 1} }
		h := person("u8", "ann@example.com", "Ann", "Again")
		ops = []*sink.Op{lifecycle(sink.OpAnonymize, "u1", audit()), unique(h, byEmail)}
		require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized, intake.OutcomeCreated}, k.write(ops...))
		i := person("u9", "ben@example.com", "Ben", "Again")
		ops = []*sink.Op{lifecycle(sink.OpDelete, "u3", audit()), unique(i, byEmail)}
		require.Equal(t, []intake.Outcome{intake.OutcomeDeleted, intake.OutcomeCreated}, k.write(ops...))
		require.Equal(t, map[intake.Key][]string{"ann@example.com": {"u8"}, "ben@example.com": {"u9"}}, k.lookup(byEmail, "ann@example.com", "ben@example.com"))
	}

	// Unique on another kind of op is invalid.
	_, err := k.failWrite(&sink.Op{Kind: sink.OpUpdate, Record: person("u1", "x@example.com", "", ""), Unique: []intake.KeySpec{byEmail}})
	require.ErrorIs(t, err, sink.ErrInvalidOp)
}

// writerPlan sizes testWriters.
type writerPlan struct {
	writers, keys, batch int
}

// testWriters: several writers that each looked every key of theirs up
// before any of them wrote — so that each decided to create the keys the
// others create too — never create a key twice: each key ends with exactly
// one record, the created outcomes of all writers add up to the distinct
// keys, and every held create names that record. With Features.Reopen
// each writer has its own handle on the store, as separate processes
// would; otherwise they share the sink.
func testWriters(k *kit) {
	if k.f.Reopen == nil && !k.c.concurrent {
		k.t.Skipf("sinktest: several writers need Features.Reopen (a handle each) or a sink.Concurrent that reports true (one shared sink), and %T is neither", k.s)
	}
	t := k.t
	p := writerPlan{writers: 4, keys: 600, batch: 50}
	handles := make([]sink.Sink, p.writers)
	for w := range handles {
		handles[w] = k.s
		if w > 0 && k.f.Reopen != nil {
			handles[w] = k.f.Reopen(t, k.s)
			require.NotNil(t, handles[w], "Features.Reopen returned a nil sink")
		}
	}
	// Writer w creates keys [w*step, w*step+span): each key is wanted by
	// two writers at least.
	step := p.keys / p.writers
	span := 2 * step
	keyOf := func(i int) intake.Key { return intake.Key(fmt.Sprintf("w%d@example.com", i%p.keys)) }
	type result struct {
		created int
		held    map[intake.Key][]string
		err     error
	}
	results := make([]result, p.writers)
	start := make(chan struct{})
	var looked, wg sync.WaitGroup
	looked.Add(p.writers)
	for w := range p.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[w]
			res.held = map[intake.Key][]string{}
			s := handles[w]
			var keys []intake.Key
			for i := w * step; i < w*step+span; i++ {
				keys = append(keys, keyOf(i))
			}
			found, err := s.(sink.Lookuper).Lookup(k.ctx(), contact, byEmail, keys)
			looked.Done()
			if err != nil {
				res.err = err
				return
			}
			<-start // every writer has looked up: each decides to create its keys
			for lo := 0; lo < len(keys); lo += p.batch {
				var ops []*sink.Op
				for j, key := range keys[lo:min(lo+p.batch, len(keys))] {
					if len(found[key]) > 0 {
						continue
					}
					r := person(fmt.Sprintf("w%d-%d", w, lo+j), string(key), fmt.Sprintf("writer %d", w), "")
					ops = append(ops, unique(r, byEmail))
				}
				n, err := s.Write(k.ctx(), ops)
				if err == nil && n != len(ops) {
					err = fmt.Errorf("wrote %d of %d ops and no error", n, len(ops))
				}
				if err != nil {
					res.err = err
					return
				}
				for _, op := range ops {
					switch {
					case op.Outcome == intake.OutcomeCreated && op.Existing == nil:
						res.created++
					case op.Outcome == intake.OutcomeSkipped && len(op.Existing) > 0:
						res.held[intake.Key(op.Record.Get("email").String())] = op.Existing
					default:
						res.err = fmt.Errorf("create of %s: outcome %s, Existing %v: want created, or skipped with Existing", op.Record.ID, op.Outcome, op.Existing)
						return
					}
				}
			}
		}()
	}
	looked.Wait()
	close(start)
	wg.Wait()
	created := 0
	for w, r := range results {
		require.NoError(t, r.err, "writer %d", w)
		created += r.created
	}
	all := make([]intake.Key, p.keys)
	for i := range all {
		all[i] = keyOf(i)
	}
	stored := k.lookup(byEmail, all...)
	require.Len(t, stored, p.keys, "every key is stored")
	for _, key := range all {
		require.Len(t, stored[key], 1, "key %s is held by exactly one record", key)
	}
	require.Equal(t, p.keys, created, "the created outcomes add up to the distinct keys")
	for w, r := range results {
		for key, ids := range r.held {
			require.Equal(t, stored[key], ids, "writer %d: a held create names the record that holds its key", w)
		}
	}
	if k.c.count {
		require.Equal(t, int64(p.keys), k.count(intake.ObjectContact))
	}
}
