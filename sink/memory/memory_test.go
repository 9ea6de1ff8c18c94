package memory_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/require"
)

// TestMemoryBytesPerContact stores 200k generated contacts, builds the email
// index, and checks that the memory the sink holds per contact — its
// off-heap bytes (Stats) plus the growth of the Go heap — stays within a
// budget: the record's encoding in the arena, its slots in the id and email
// indexes and its share of the chunks' unused room, and nothing on the Go
// heap.
func TestMemoryBytesPerContact(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory of 200k contacts")
	}
	const n, budget = 200_000, 260 // bytes per contact
	ctx := context.Background()
	s := intake.ContactSchema()
	// Generate first, so that only the sink's memory is measured.
	recs := make([]intake.Record, n)
	r := rand.New(rand.NewPCG(7, 7))
	text := 0
	for i := range recs {
		fixture.GenContact(&recs[i], i, r)
		text += len(recs[i].ID)
		for _, v := range recs[i].Values {
			text += len(v.String())
		}
	}
	ops := make([]*sink.Op, 0, 1000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := memory.New(memory.Config{})
	if _, err := m.Lookup(ctx, s, intake.Keys("email"), nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += cap(ops) {
		ops = ops[:0]
		for j := i; j < min(n, i+cap(ops)); j++ {
			ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: &recs[j]})
		}
		if _, err := m.Write(ctx, ops); err != nil {
			t.Fatal(err)
		}
	}
	ops = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := m.Stats()
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	per := float64(heap+st.OffHeapBytes) / n
	t.Logf("%.0f bytes per stored contact (values and id: %.0f bytes of text): off-heap %.0f (arena %.0f, indexes and refs %.0f), Go heap %.0f",
		per, float64(text)/n, float64(st.OffHeapBytes)/n, float64(st.ArenaBytes)/n, float64(st.IndexBytes)/n, float64(heap)/n)
	if st.Records != n || st.GarbageBytes != 0 {
		t.Errorf("stats %+v, want %d records and no garbage", st, n)
	}
	if per > budget {
		t.Errorf("%.0f bytes per stored contact, want <= %d", per, budget)
	}
	runtime.KeepAlive(recs)
	require.NoError(t, m.Close())
}

// TestUndoAfterClose: a closed store's undo logs, which lived off the Go
// heap, are not read.
func TestUndoAfterClose(t *testing.T) {
	ctx := context.Background()
	m := memory.New(memory.Config{})
	r := intake.NewRecord(intake.ContactSchema())
	r.ID = "a"
	_, err := m.WriteUndo(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: r}}, sink.UndoRun{RunID: "r"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, _, err := m.ReadUndo(ctx, "r", 0); err == nil {
		t.Fatal("ReadUndo after Close succeeded")
	}
	if _, err := m.UndoStatus(ctx, "r"); err == nil {
		t.Fatal("UndoStatus after Close succeeded")
	}
}
