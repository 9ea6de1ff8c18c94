package postgres_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/stretchr/testify/require"
)

// undoBenchRows is how many records each op of BenchmarkUndoLog writes.
const undoBenchRows = 20_000

// BenchmarkUndoLog compares Write and WriteUndo, each in a fresh schema,
// on the batches of an import (of the store's BatchSize): creates of
// undoBenchRows new contacts, and updates of undoBenchRows stored contacts
// that change two fields of each. The undo log costs the creates a digest
// and a few bytes per record, the updates the fields they change; both one
// more row per batch. Run it with -run '^$' -bench UndoLog -benchtime 5x
// -count 6 and compare with benchstat -col /call.
func BenchmarkUndoLog(b *testing.B) {
	for _, kind := range []string{"creates", "updates"} {
		for _, undo := range []bool{false, true} {
			name := "ops=" + kind + "/call=Write"
			if undo {
				name = "ops=" + kind + "/call=WriteUndo"
			}
			b.Run(name, func(b *testing.B) { benchUndoLog(b, kind == "updates", undo) })
		}
	}
}

func benchUndoLog(b *testing.B, updates, undo bool) {
	ctx := context.Background()
	pg := openPostgres(b, postgres.Config{})
	require.NoError(b, pg.EnsureSchema(ctx, fixture.Contact))
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]*intake.Record, undoBenchRows)
	for i := range recs {
		recs[i] = intake.NewRecord(fixture.Contact)
	}
	ops := make([]*sink.Op, undoBenchRows)
	write := func(run int) {
		for c := 0; c < len(ops); c += pg.BatchSize() {
			batch := ops[c:min(c+pg.BatchSize(), len(ops))]
			var err error
			if undo {
				_, err = pg.WriteUndo(ctx, batch, sink.UndoRun{RunID: "run-" + strconv.Itoa(run)}, nil)
			} else {
				_, err = pg.Write(ctx, batch)
			}
			require.NoError(b, err)
		}
	}
	// The records the updates change, or those of an earlier iteration
	// for the creates: a table of the same size either way.
	base := 0
	gen := func() {
		for i, rec := range recs {
			fixture.GenContact(rec, base+i, r)
			ops[i] = &sink.Op{Kind: sink.OpCreate, Record: rec}
		}
		base += len(recs)
	}
	gen()
	write(-1)
	city, ltv := fixture.Contact.Index("city"), fixture.Contact.Index("lifetime_value")
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		if updates {
			for i, rec := range recs {
				u := intake.NewRecord(fixture.Contact)
				u.ID = rec.ID
				u.Values[city] = intake.Text("City " + strconv.Itoa(n) + "-" + strconv.Itoa(i%50))
				u.Values[ltv], _ = intake.DecimalString(strconv.Itoa(n*1000+i%997) + ".5")
				ops[i] = &sink.Op{Kind: sink.OpUpdate, Record: u}
			}
		} else {
			gen()
		}
		b.StartTimer()
		write(n)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*undoBenchRows), "µs/record")
}
