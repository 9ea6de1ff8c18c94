package sink_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
)

// TestMemoryBytesPerContact stores 200k generated contacts, builds the email
// index, and checks the heap growth per contact stays within the budget.
func TestMemoryBytesPerContact(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory of 200k contacts")
	}
	const n, budget = 200_000, 400
	ctx := context.Background()
	s := intake.ContactSchema()
	// Generate first, so that only the sink's memory is measured.
	recs := make([]intake.Record, n)
	r := rand.New(rand.NewPCG(7, 7))
	text := 0
	for i := range recs {
		genContact(&recs[i], i, r)
		text += len(recs[i].ID)
		for _, v := range recs[i].Values {
			text += len(v.String())
		}
	}
	ops := make([]*sink.Op, 0, 1000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := sink.NewMemory(sink.MemoryConfig{})
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
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	t.Logf("%.0f bytes per stored contact (values and id: %.0f bytes of text)", per, float64(text)/n)
	if per > budget {
		t.Errorf("%.0f bytes per stored contact, want <= %d", per, budget)
	}
	runtime.KeepAlive(recs)
	runtime.KeepAlive(m)
}
