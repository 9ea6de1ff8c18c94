package identity_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sqlite"
)

// BenchmarkMatcher measures the matcher's cost per row at 1,000,000 stored
// contacts (100,000 with -short), in the memory sink and in SQLite:
// Matcher.Key for each row of a batch of 1000 (key-ns/row reports it
// alone), then one Matcher.Resolve of the batch, whose keys are half stored emails (hits) and half new ones
// (misses), in random order. Filling the store, through sink.Write in
// batches of 10,000 after a first Lookup by email (as an import does, so
// the key index is kept up to date by the writes), is not timed; its
// duration is logged. ns/row is the time of Key and Resolve per row; ns/op,
// B/op and allocs/op are per batch of 1000 and include building the
// batch's rows (a stand-in for the mapper: a few percent of the time, one
// allocation of 33 KB).
//
//	go test -run '^$' -bench BenchmarkMatcher ./identity/
func BenchmarkMatcher(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	b.Run(fmt.Sprintf("memory/%d", n), func(b *testing.B) {
		m := memory.New(memory.Config{})
		b.Cleanup(func() { m.Close() })
		benchMatcher(b, m, n)
	})
	b.Run(fmt.Sprintf("sqlite/%d", n), func(b *testing.B) {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		benchMatcher(b, s, n)
	})
}

// matcherStore is what the benchmark needs of a sink.
type matcherStore interface {
	sink.Sink
	sink.Lookuper
}

// benchEmail is the email of the i-th stored contact; i < 0 gives emails
// that are never stored.
func benchEmail(i int) string { return string(appendBenchEmail(nil, i)) }

func appendBenchEmail(b []byte, i int) []byte {
	if i < 0 {
		b = append(b, "new.person"...)
		b = strconv.AppendInt(b, int64(-i), 10)
		return append(b, "@example.org"...)
	}
	b = append(b, "firstname.lastname"...)
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, "@example.com"...)
}

var (
	benchFirst = []string{"Anna", "Lukas", "Marie", "Jonas", "Sofia", "Elias", "Léa", "Noah", "Chloé", "Paul"}
	benchLast  = []string{"Müller", "Schmidt", "Dubois", "Rossi", "García", "Smith", "Novak", "Jensen", "Kowalski", "Bernard"}
	benchCity  = []string{"Berlin", "Lyon", "Genève", "Milano", "Madrid", "Leeds", "Brno", "Aarhus", "Kraków", "Lille"}
	benchCC    = []string{"DE", "FR", "CH", "IT", "ES", "GB", "CZ", "DK", "PL", "FR"}
)

func fillStore(b *testing.B, store matcherStore, s *intake.Schema, n int) {
	b.Helper()
	ctx := context.Background()
	if e, ok := store.(sink.SchemaEnsurer); ok {
		if err := e.EnsureSchema(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := store.Lookup(ctx, s, intake.Keys("email"), []intake.Key{"nobody@example.com"}); err != nil {
		b.Fatal(err)
	}
	const batch = 10_000
	recs := make([]intake.Record, batch)
	opStore := make([]sink.Op, batch)
	ops := make([]*sink.Op, batch)
	ids := identity.UUIDv7()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i += batch {
		ops = ops[:min(batch, n-i)]
		for j := range ops {
			rec := &recs[j]
			rec.Reset(s)
			id, err := ids.NewID()
			if err != nil {
				b.Fatal(err)
			}
			rec.ID = id
			k := r.IntN(len(benchFirst))
			rec.Values[s.Index("contact_id")] = intake.Text("C" + strconv.Itoa(i+j))
			rec.Values[s.Index("email")] = intake.Text(benchEmail(i + j))
			rec.Values[s.Index("first_name")] = intake.Text(benchFirst[k])
			rec.Values[s.Index("last_name")] = intake.Text(benchLast[r.IntN(len(benchLast))])
			rec.Values[s.Index("city")] = intake.Text(benchCity[k])
			rec.Values[s.Index("country")] = intake.Text(benchCC[k])
			opStore[j] = sink.Op{Kind: sink.OpCreate, Record: rec}
			ops[j] = &opStore[j]
		}
		if _, err := store.Write(ctx, ops); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMatcher(b *testing.B, store matcherStore, n int) {
	ctx := context.Background()
	s := intake.ContactSchema()
	t0 := time.Now()
	fillStore(b, store, s, n)
	fill := time.Since(t0)

	m, err := identity.NewMatcher(s, intake.Keys("email"), store)
	if err != nil {
		b.Fatal(err)
	}
	// 64 batches of 1000 rows, half stored contacts picked at random, half
	// new, shuffled: the contact numbers of benchEmail.
	const batch, batches = 1000, 64
	r := rand.New(rand.NewPCG(3, 4))
	plan := make([][]int, batches)
	for i := range plan {
		plan[i] = make([]int, batch)
		for j := range plan[i] {
			plan[i][j] = -(i*batch + j + 1)
			if j%2 == 0 {
				plan[i][j] = r.IntN(n)
			}
		}
		r.Shuffle(batch, func(x, y int) { plan[i][x], plan[i][y] = plan[i][y], plan[i][x] })
	}
	// The rows of a batch are built just before they are matched, as the
	// mapper builds them, so that they are in the CPU's cache as in an
	// import: one string of all the batch's emails, which the records'
	// values share (one allocation per batch).
	recs := make([]*intake.Record, batch)
	for j := range recs {
		recs[j] = intake.NewRecord(s)
	}
	email := s.Index("email")
	var slab []byte
	ends := make([]int, batch)
	mapBatch := func(i int) {
		slab = slab[:0]
		for j, e := range plan[i%batches] {
			slab = appendBenchEmail(slab, e)
			ends[j] = len(slab)
		}
		all, start := string(slab), 0
		for j, rec := range recs {
			rec.Values[email] = intake.Text(all[start:ends[j]])
			start = ends[j]
		}
	}
	matchStore := make([]identity.Match, batch)
	matches := make([]*identity.Match, batch)
	for j := range matches {
		matches[j] = &matchStore[j]
	}
	// Check the hits once, untimed.
	mapBatch(0)
	for j, rec := range recs {
		m.Key(rec, matches[j])
	}
	if err := m.Resolve(ctx, matches); err != nil {
		b.Fatal(err)
	}
	hits := 0
	for _, mt := range matches {
		if len(mt.IDs) > 0 {
			hits++
		}
	}
	if hits != batch/2 {
		b.Fatalf("%d hits in a batch of %d, want %d", hits, batch, batch/2)
	}
	b.Logf("%d contacts stored in %v (%.0f rows/s, untimed)", n, fill.Round(time.Millisecond), float64(n)/fill.Seconds())

	b.ReportAllocs()
	i := 0
	var keyTime, resolveTime time.Duration
	for b.Loop() {
		mapBatch(i)
		t0 := time.Now()
		for j, rec := range recs {
			m.Key(rec, matches[j])
		}
		t1 := time.Now()
		if err := m.Resolve(ctx, matches); err != nil {
			b.Fatal(err)
		}
		keyTime += t1.Sub(t0)
		resolveTime += time.Since(t1)
		i++
	}
	rows := float64(i * batch)
	b.ReportMetric(float64((keyTime+resolveTime).Nanoseconds())/rows, "ns/row")
	b.ReportMetric(float64(keyTime.Nanoseconds())/rows, "key-ns/row")
}
