package xlsx_test

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake/connector/xlsx"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/internal/cputime"
	"github.com/intakehq/intake/sink/memory"
	"github.com/xuri/excelize/v2"
)

// Run with
//
//	go test -run '^$' -bench XLSXVersus -benchtime 1x ./connector/xlsx/
//
// The workbook is 100,000 rows x 11 columns generated with excelize's
// StreamWriter (about 7.7 MB, the sheet about 55 MB uncompressed).
// BenchmarkXLSXVersus alternates, in every iteration, inflating the sheet's
// XML alone, excelize's bare Rows iteration, Intake's full import into the
// memory sink and the XLSX source's Read loop alone, so that all see the
// same machine load, and prints PASS or FAIL for the targets: the import at
// least 10 times excelize's rows per second, and within 2 times the time of
// inflating the sheet.
//
// Peak heap is the sampled maximum of /memory/classes/heap/objects:bytes;
// memory a sink keeps outside the Go heap is not in it. The separate
// BenchmarkXLSX runs vary with the load and are only indicative.

const xlsxBenchRows = 100_000

// writeBenchXLSX writes a contacts sheet: 13-digit ids stored as numbers,
// emails, names, phones, a date-formatted birthday, a country, a city,
// a decimal, a boolean and a date-time.
func writeBenchXLSX(tb testing.TB, path string, n int) {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		tb.Fatal(err)
	}
	dateStyle, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	dtStyle, _ := f.NewStyle(&excelize.Style{NumFmt: 22})
	header := []any{"contact_id", "email", "first_name", "last_name", "phone", "birthday", "country", "city", "lifetime_value", "vip", "signed_up"}
	if err := sw.SetRow("A1", header); err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	first := []string{"Anna", "Ben", "Chloé", "David", "Emma", "François", "Greta", "Hiro", "Ines", "Jürgen"}
	last := []string{"Smith", "Müller", "O'Brien", "García", "Nguyen", "Rossi", "Kowalski", "Andersson"}
	cities := []string{"Berlin", "Paris", "New York", "London", "São Paulo", "Zürich", "Tokyo"}
	countries := []string{"DE", "FR", "US", "GB", "BR", "CH", "JP"}
	base := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	row := make([]any, len(header))
	for i := range n {
		fn, ln := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		row[0] = 4_900_000_000_000 + i // a 13-digit id stored as a number
		row[1] = fmt.Sprintf("%s.%d@example.com", ln, i)
		row[2] = fn
		row[3] = ln
		row[4] = fmt.Sprintf("+4930%08d", rng.IntN(100_000_000))
		row[5] = excelize.Cell{StyleID: dateStyle, Value: base.AddDate(0, 0, rng.IntN(18000))}
		row[6] = countries[rng.IntN(len(countries))]
		row[7] = cities[rng.IntN(len(cities))]
		row[8] = float64(rng.IntN(1_000_000)) / 100
		row[9] = rng.IntN(2) == 1
		row[10] = excelize.Cell{StyleID: dtStyle, Value: base.Add(time.Duration(rng.Int64N(int64(70 * 365 * 24 * time.Hour))))}
		cellRef, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cellRef, row); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		tb.Fatal(err)
	}
}

// benchWorkbook generates the sheet into the benchmark's temporary
// directory (once per top-level benchmark and -count; b.Loop runs the
// benchmark function once).
func benchWorkbook(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "contacts.xlsx")
	writeBenchXLSX(b, path, xlsxBenchRows)
	return path
}

// bareExcelize iterates the sheet with excelize's Rows and Columns, as
// documented by excelize, with the same unzip limits as Intake's defaults.
func bareExcelize(b *testing.B, path string) int {
	f, err := excelize.OpenFile(path, excelize.Options{UnzipSizeLimit: xlsx.DefaultMaxUnzipBytes, UnzipXMLSizeLimit: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rows, err := f.Rows("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		if _, err := rows.Columns(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	return n - 1 // the header
}

// intakeRead reads the sheet with the XLSX source.
func intakeRead(b *testing.B, path string) int {
	src, err := xlsx.Open(path, xlsx.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	n := 0
	for {
		_, err := src.Read(ctx)
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// intakeImport imports the sheet into a memory sink.
func intakeImport(b *testing.B, path string) int {
	src, err := xlsx.Open(path, xlsx.Config{})
	if err != nil {
		b.Fatal(err)
	}
	store := memory.New(memory.Config{})
	defer store.Close()
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		b.Fatal(err)
	}
	rep, err := im.Run(context.Background(), importer.Job{Source: src, Action: identity.AddAndUpdate, Identity: importer.SyncOn("email")})
	if err != nil {
		b.Fatal(err)
	}
	if rep.Created != xlsxBenchRows {
		b.Fatalf("created %d of %d rows (rejected %d: %+v)", rep.Created, xlsxBenchRows, rep.Rejected, rep.Errors[:min(3, len(rep.Errors))])
	}
	return int(rep.Rows)
}

// peakHeapOf runs fn and samples the bytes of live and not yet swept heap
// objects (runtime/metrics, no stop-the-world) every millisecond.
func peakHeapOf(fn func()) (peak uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak
}

// BenchmarkXLSX measures each reader on its own: excelize's bare Rows
// iteration, the XLSX source's Read loop, and a full import into the memory
// sink.
func BenchmarkXLSX(b *testing.B) {
	path := benchWorkbook(b)
	for _, bm := range []struct {
		name string
		fn   func(*testing.B, string) int
	}{
		{"excelize-Rows", bareExcelize},
		{"intake-Read", intakeRead},
		{"intake-import-memory-sink", intakeImport},
	} {
		b.Run(bm.name, func(b *testing.B) {
			var rows int
			var peak uint64
			start := time.Now()
			for b.Loop() {
				peak = max(peak, peakHeapOf(func() { rows += bm.fn(b, path) }))
			}
			b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// inflateSheet reads the sheet's zip entry through archive/zip and
// compress/flate into io.Discard: the floor of any reader of the sheet.
func inflateSheet(b *testing.B, path string) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "xl/worksheets/sheet1.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		return
	}
	b.Fatal("no xl/worksheets/sheet1.xml")
}

// Targets of BenchmarkXLSXVersus.
const (
	targetVersusExcelize = 10.0 // import rows/s over excelize Rows rows/s, at least
	targetVersusInflate  = 2.0  // import time over inflate time, at most
)

// phase accumulates the wall and CPU time of one contender.
type phase struct{ wall, cpu time.Duration }

func (p *phase) time(fn func()) {
	t, c := time.Now(), cputime.Process()
	fn()
	p.wall += time.Since(t)
	p.cpu += cputime.Process() - c
}

func ms(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

// BenchmarkXLSXVersus alternates inflating the sheet alone, excelize's bare
// iteration, Intake's full import into the memory sink and the source's
// Read loop in every iteration, so that all see the same machine load, and
// reports the rates, the import's ratios to excelize and to the inflate
// floor, and PASS or FAIL for each target. The targets are judged on wall
// time; the CPU time of each (the whole process's, the garbage collector
// and the import's goroutines included) is reported beside it, as it
// depends less on the machine's load.
func BenchmarkXLSXVersus(b *testing.B) {
	path := benchWorkbook(b)
	var floor, bare, imp, read phase
	var bareRows, impRows, readRows int
	var barePeak, impPeak uint64
	for b.Loop() {
		floor.time(func() { inflateSheet(b, path) })
		bare.time(func() { barePeak = max(barePeak, peakHeapOf(func() { bareRows += bareExcelize(b, path) })) })
		imp.time(func() { impPeak = max(impPeak, peakHeapOf(func() { impRows += intakeImport(b, path) })) })
		read.time(func() { readRows += intakeRead(b, path) })
	}
	bareRate := float64(bareRows) / bare.wall.Seconds()
	impRate := float64(impRows) / imp.wall.Seconds()
	versusExcelize := impRate / bareRate
	versusInflate := imp.wall.Seconds() / floor.wall.Seconds()
	b.ReportMetric(bareRate, "excelize-rows/s")
	b.ReportMetric(impRate, "intake-import-rows/s")
	b.ReportMetric(float64(readRows)/read.wall.Seconds(), "intake-read-rows/s")
	b.ReportMetric(versusExcelize, "ratio")
	b.ReportMetric(versusInflate, "import/inflate")
	b.ReportMetric(read.wall.Seconds()/floor.wall.Seconds(), "read/inflate")
	b.ReportMetric(ms(floor.wall, b.N), "inflate-ms")
	b.ReportMetric(ms(floor.cpu, b.N), "inflate-cpu-ms")
	b.ReportMetric(ms(bare.cpu, b.N), "excelize-cpu-ms")
	b.ReportMetric(ms(imp.cpu, b.N), "import-cpu-ms")
	b.ReportMetric(ms(read.cpu, b.N), "read-cpu-ms")
	b.ReportMetric(float64(barePeak)/(1<<20), "excelize-peak-MiB")
	b.ReportMetric(float64(impPeak)/(1<<20), "intake-peak-MiB")
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	cpuRatio := func(a, b time.Duration) float64 { return a.Seconds() / max(b.Seconds(), 1e-9) }
	b.Logf("XLSX import %.0f rows/s = %.1f× excelize Rows() %.0f rows/s (target ≥ %.0f×): %s; in CPU time %.1f×",
		impRate, versusExcelize, bareRate, targetVersusExcelize, verdict(versusExcelize >= targetVersusExcelize), cpuRatio(bare.cpu, imp.cpu))
	b.Logf("XLSX import %.0f ms = %.2f× inflating the sheet's XML alone %.0f ms (target ≤ %.0f×): %s; in CPU time %.0f ms = %.2f× %.0f ms",
		ms(imp.wall, b.N), versusInflate, ms(floor.wall, b.N), targetVersusInflate, verdict(versusInflate <= targetVersusInflate),
		ms(imp.cpu, b.N), cpuRatio(imp.cpu, floor.cpu), ms(floor.cpu, b.N))
	b.Logf("the XLSX source's Read loop alone: %.0f ms = %.2f× inflating; in CPU time %.0f ms = %.2f×",
		ms(read.wall, b.N), read.wall.Seconds()/floor.wall.Seconds(), ms(read.cpu, b.N), cpuRatio(read.cpu, floor.cpu))
}
