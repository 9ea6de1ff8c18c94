package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/cputime"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/sqlite"
)

// undoBenchBatch is the batch of BenchmarkUndoLog: the Store's BatchSize.
const undoBenchBatch = 20_000

// BenchmarkUndoLog compares Write with WriteUndo, which keeps the batch's
// undo log in its transaction, for one batch of 20,000 ops: creates into
// a fresh table (with the key column of an email Lookup, as an import
// has), and updates that change two fields of every stored contact. Each
// op is one b.N iteration's batch: ns/op is the time of a batch. The
// sub-benchmarks are named for benchstat: -col /call compares Write with
// WriteUndo. cpu-ms/op is the process's CPU time per batch, steadier than
// the wall time on a busy machine.
func BenchmarkUndoLog(b *testing.B) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]intake.Record, undoBenchBatch)
	for i := range recs {
		fixture.GenContact(&recs[i], i, r)
	}
	creates := make([]*sink.Op, len(recs))
	for i := range recs {
		creates[i] = fixture.Create(&recs[i])
	}
	var cpu time.Duration
	write := func(undo bool, s *sqlite.Store, batch []*sink.Op, run string) error {
		c0 := cputime.Process()
		var err error
		if undo {
			_, err = s.WriteUndo(ctx, batch, sink.UndoRun{RunID: run}, nil)
		} else {
			_, err = s.Write(ctx, batch)
		}
		cpu += cputime.Process() - c0
		return err
	}
	report := func(b *testing.B, n int) {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/op")
	}
	open := func(b *testing.B, path string) *sqlite.Store {
		s, err := sqlite.Open(ctx, path, sqlite.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Lookup(ctx, fixture.Contact, fixture.ByEmail, nil); err != nil { // adds k_email
			b.Fatal(err)
		}
		return s
	}
	calls := []struct {
		name string
		undo bool
	}{{"Write", false}, {"WriteUndo", true}}
	for _, mode := range calls {
		b.Run("ops=creates/call="+mode.name, func(b *testing.B) {
			dir := b.TempDir()
			n := 0
			cpu = 0
			defer func() { report(b, n) }()
			for b.Loop() {
				b.StopTimer()
				n++
				path := filepath.Join(dir, fmt.Sprintf("c%d.db", n))
				s := open(b, path)
				b.StartTimer()
				if err := write(mode.undo, s, creates, fmt.Sprintf("run-%d", n)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
				for _, f := range []string{path, path + "-wal", path + "-shm"} {
					os.Remove(f)
				}
				b.StartTimer()
			}
		})
	}
	for _, mode := range calls {
		b.Run("ops=updates/call="+mode.name, func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "u.db"))
			defer s.Close()
			if err := write(false, s, creates, ""); err != nil {
				b.Fatal(err)
			}
			upd := make([]*sink.Op, len(recs))
			for i := range upd {
				rec := intake.NewRecord(fixture.Contact)
				rec.ID = recs[i].ID
				upd[i] = fixture.Update(rec)
			}
			first, city := fixture.Contact.Index("first_name"), fixture.Contact.Index("city")
			n := 0
			cpu = 0
			defer func() { report(b, n) }()
			for b.Loop() {
				b.StopTimer()
				n++
				for i, op := range upd {
					op.Record.Values[first] = intake.Text(fmt.Sprintf("First %d", n))
					op.Record.Values[city] = intake.Text(fmt.Sprintf("City %d-%d", n, i%50))
				}
				b.StartTimer()
				if err := write(mode.undo, s, upd, fmt.Sprintf("run-%d", n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
