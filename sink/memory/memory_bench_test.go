package memory_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/cputime"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/memory"
)

// BenchmarkMemoryWrite grows a memory sink to 1,000,000 realistic contacts
// (100,000 with -short) the way the importer does: per batch of 1000, one
// Lookup by email of the batch's keys (new keys, so misses), then one Write
// of 1000 creates. Run it with -benchtime=1x. It reports, per record, the
// wall time (ns/record), the CPU time of the process (garbage collection included) where the
// system tells it (cpu-ns/record: steadier on a busy machine) and the
// allocations of the sink work alone: generating the contacts is not
// counted, and ns/op is meaningless.
func BenchmarkMemoryWrite(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	const batch = 1000
	ctx := context.Background()
	s := intake.ContactSchema()
	email := s.Index("email")
	recs := make([]intake.Record, batch)
	ops := make([]*sink.Op, batch)
	opStore := make([]sink.Op, batch)
	keys := make([]intake.Key, batch)
	var gen batchGen
	var elapsed, cpu time.Duration
	var allocs uint64
	var ms runtime.MemStats
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.StopTimer()
	for range b.N {
		m := memory.New(memory.Config{})
		r := rand.New(rand.NewPCG(7, 7))
		for i := 0; i < n; i += batch {
			gen.fill(recs, i, r)
			for j := range recs {
				ops[j] = &opStore[j]
				ops[j].Kind, ops[j].Record, ops[j].Outcome = sink.OpCreate, &recs[j], 0
				keys[j] = intake.Key(recs[j].Values[email].Str())
			}
			runtime.ReadMemStats(&ms)
			a0 := ms.Mallocs
			c0 := cputime.Process()
			t0 := time.Now()
			res, err := m.Lookup(ctx, s, intake.Keys("email"), keys)
			if err != nil || len(res) != 0 {
				b.Fatal(err, len(res))
			}
			if _, err := m.Write(ctx, ops); err != nil {
				b.Fatal(err)
			}
			elapsed += time.Since(t0)
			cpu += cputime.Process() - c0
			runtime.ReadMemStats(&ms)
			allocs += ms.Mallocs - a0
		}
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n*b.N), "ns/record")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*b.N), "cpu-ns/record")
	}
	b.ReportMetric(float64(allocs)/float64(n*b.N), "allocs/record")
}

// batchGen fills records with contacts first, first+1, … like genContact,
// but with all of their text in one buffer, reused from batch to batch, so
// that generating them leaves no garbage for the collector to work on while
// the sink is timed. The records are only valid until the next call: fine
// for a sink, which copies what it keeps.
type batchGen struct {
	buf   []byte
	offs  [][9]int
	dates []intake.Value
	lower map[string]string
}

func (g *batchGen) pad(x uint64, base, w int) {
	n := len(g.buf)
	g.buf = strconv.AppendUint(g.buf, x, base)
	for len(g.buf)-n < w {
		g.buf = append(g.buf, '0')
		copy(g.buf[n+1:], g.buf[n:])
		g.buf[n] = '0'
	}
}

func (g *batchGen) fill(recs []intake.Record, first int, r *rand.Rand) {
	if g.lower == nil {
		g.lower = map[string]string{}
		for _, n := range append(append([]string(nil), fixture.GenFirst...), fixture.GenLast...) {
			g.lower[n] = strings.ToLower(n)
		}
	}
	if len(g.offs) < len(recs) {
		g.offs, g.dates = make([][9]int, len(recs)), make([]intake.Value, len(recs))
	}
	g.buf = g.buf[:0]
	for j := range recs {
		i := first + j
		fn, ln := fixture.GenFirst[r.IntN(len(fixture.GenFirst))], fixture.GenLast[r.IntN(len(fixture.GenLast))]
		o := &g.offs[j]
		g.buf = append(g.buf, "0190"...)
		g.pad(uint64(i>>16), 16, 4)
		g.buf = append(g.buf, '-')
		g.pad(uint64(i&0xffff), 16, 4)
		g.buf = append(g.buf, "-7"...)
		g.pad(uint64(r.IntN(4096)), 16, 3)
		g.buf = append(g.buf, "-8"...)
		g.pad(uint64(r.IntN(4096)), 16, 3)
		g.buf = append(g.buf, '-')
		g.pad(uint64(r.Int64N(1<<48)), 16, 12)
		o[0] = len(g.buf)
		g.buf = append(g.buf, "CRM-"...)
		g.pad(uint64(i), 10, 8)
		o[1] = len(g.buf)
		g.buf = append(g.buf, g.lower[fn]...)
		g.buf = append(g.buf, '.')
		g.buf = append(g.buf, g.lower[ln]...)
		g.buf = append(g.buf, '.')
		g.buf = strconv.AppendInt(g.buf, int64(i), 10)
		g.buf = append(g.buf, '@')
		g.buf = append(g.buf, fixture.GenDomain[r.IntN(len(fixture.GenDomain))]...)
		o[2] = len(g.buf)
		g.buf = append(g.buf, "+4915"...)
		g.pad(uint64(r.IntN(1e9)), 10, 9)
		o[3] = len(g.buf)
		g.buf = append(g.buf, fn...)
		o[4] = len(g.buf)
		g.buf = append(g.buf, ln...)
		o[5] = len(g.buf)
		g.buf = append(g.buf, fixture.GenCities[r.IntN(len(fixture.GenCities))]...)
		o[6] = len(g.buf)
		g.buf = strconv.AppendInt(g.buf, int64(r.IntN(10000)), 10)
		g.buf = append(g.buf, '.')
		g.buf = strconv.AppendInt(g.buf, int64(1+r.IntN(9)), 10)
		o[7] = len(g.buf)
		g.dates[j] = intake.Date(1950+r.IntN(55), time.Month(1+r.IntN(12)), 1+r.IntN(28))
	}
	all := unsafe.String(unsafe.SliceData(g.buf), len(g.buf)) // see above
	start := 0
	for j := range recs {
		rec, o := &recs[j], g.offs[j]
		rec.Reset(intake.ContactSchema())
		rec.ID = all[start:o[0]]
		v := rec.Values
		v[0] = intake.Text(all[o[0]:o[1]])
		v[1] = intake.Text(all[o[1]:o[2]])
		v[2] = intake.Text(all[o[2]:o[3]])
		v[3] = intake.Text(all[o[3]:o[4]])
		v[4] = intake.Text(all[o[4]:o[5]])
		v[5] = g.dates[j]
		v[6] = intake.Text("DE")
		v[7] = intake.Text(all[o[5]:o[6]])
		v[8], _ = intake.DecimalString(all[o[6]:o[7]])
		start = o[7]
	}
}
