package sink_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
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
	keys := make([]intake.Key, batch)
	var elapsed, cpu time.Duration
	var allocs uint64
	var ms runtime.MemStats
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.StopTimer()
	for range b.N {
		m := sink.NewMemory(sink.MemoryConfig{})
		r := rand.New(rand.NewPCG(7, 7))
		for i := 0; i < n; i += batch {
			genBatch(recs, i, r)
			for j := range recs {
				ops[j] = &sink.Op{Kind: sink.OpCreate, Record: &recs[j]}
				keys[j] = intake.Key(recs[j].Values[email].Str())
			}
			runtime.ReadMemStats(&ms)
			a0 := ms.Mallocs
			c0 := processCPU()
			t0 := time.Now()
			res, err := m.Lookup(ctx, s, intake.Keys("email"), keys)
			if err != nil || len(res) != 0 {
				b.Fatal(err, len(res))
			}
			if _, err := m.Write(ctx, ops); err != nil {
				b.Fatal(err)
			}
			elapsed += time.Since(t0)
			cpu += processCPU() - c0
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

// genBatch fills recs with contacts first, first+1, … like genContact, but
// with all of their text in one string, so that generating them leaves
// almost no garbage for the collector to work on while the sink is timed.
func genBatch(recs []intake.Record, first int, r *rand.Rand) {
	var b []byte
	offs := make([][10]int, len(recs))
	hex := func(x uint64, w int) {
		s := strconv.FormatUint(x, 16)
		b = append(b, strings.Repeat("0", max(0, w-len(s)))...)
		b = append(b, s...)
	}
	dec := func(x, w int) {
		s := strconv.Itoa(x)
		b = append(b, strings.Repeat("0", max(0, w-len(s)))...)
		b = append(b, s...)
	}
	extra := make([][2]intake.Value, len(recs))
	for j := range recs {
		i := first + j
		fn, ln := genFirst[r.IntN(len(genFirst))], genLast[r.IntN(len(genLast))]
		o := &offs[j]
		o[0] = len(b)
		b = append(b, "0190"...)
		hex(uint64(i>>16), 4)
		b = append(b, '-')
		hex(uint64(i&0xffff), 4)
		b = append(b, "-7"...)
		hex(uint64(r.IntN(4096)), 3)
		b = append(b, "-8"...)
		hex(uint64(r.IntN(4096)), 3)
		b = append(b, '-')
		hex(uint64(r.Int64N(1<<48)), 12)
		o[1] = len(b)
		b = append(b, "CRM-"...)
		dec(i, 8)
		o[2] = len(b)
		b = append(b, strings.ToLower(fn)...)
		b = append(b, '.')
		b = append(b, strings.ToLower(ln)...)
		b = append(b, '.')
		dec(i, 0)
		b = append(b, '@')
		b = append(b, genDomain[r.IntN(len(genDomain))]...)
		o[3] = len(b)
		b = append(b, "+4915"...)
		dec(r.IntN(1e9), 9)
		o[4] = len(b)
		b = append(b, fn...)
		o[5] = len(b)
		b = append(b, ln...)
		o[6] = len(b)
		b = append(b, genCities[r.IntN(len(genCities))]...)
		o[7] = len(b)
		dec(r.IntN(10000), 0)
		b = append(b, '.')
		dec(1+r.IntN(9), 0)
		o[8] = len(b)
		extra[j][0] = intake.Date(1950+r.IntN(55), time.Month(1+r.IntN(12)), 1+r.IntN(28))
		extra[j][1] = intake.Text("DE")
	}
	all := string(b)
	for j := range recs {
		rec, o := &recs[j], offs[j]
		rec.Reset(intake.ContactSchema())
		rec.ID = all[o[0]:o[1]]
		v := rec.Values
		v[0] = intake.Text(all[o[1]:o[2]])
		v[1] = intake.Text(all[o[2]:o[3]])
		v[2] = intake.Text(all[o[3]:o[4]])
		v[3] = intake.Text(all[o[4]:o[5]])
		v[4] = intake.Text(all[o[5]:o[6]])
		v[5] = extra[j][0]
		v[6] = extra[j][1]
		v[7] = intake.Text(all[o[6]:o[7]])
		v[8], _ = intake.DecimalString(all[o[7]:o[8]])
	}
}
