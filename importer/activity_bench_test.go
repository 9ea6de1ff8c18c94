//go:build unix

package importer_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sqlite"
)

// BenchmarkActivities imports INTAKE_BENCH_EVENTS events (default
// 1,000,000) attached by email to INTAKE_BENCH_CONTACTS contacts (default
// 100,000), generated on the fly, into the memory and SQLite sinks, synced
// on event_id (add_only: the idempotent path). It reports events/s, the
// peak Go heap during the import (HeapInuse, sampled every 2ms) and the
// process's peak RSS so far (which includes seeding the contacts and, for
// the memory sink, the stored events). Run it alone:
//
//	go test ./importer -run '^$' -bench Activities -benchtime 1x
func BenchmarkActivities(b *testing.B) {
	events, contacts := envInt("INTAKE_BENCH_EVENTS", 1_000_000), envInt("INTAKE_BENCH_CONTACTS", 100_000)
	for _, kind := range []string{"memory", "sqlite"} {
		b.Run(kind, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				ctx := context.Background()
				var s sink.Sink
				switch kind {
				case "memory":
					m := memory.New(memory.Config{})
					defer m.Close()
					s = m
				default:
					db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Config{})
					if err != nil {
						b.Fatal(err)
					}
					defer db.Close()
					s = db
				}
				im, err := importer.New(importer.Config{Sink: s})
				if err != nil {
					b.Fatal(err)
				}
				src, err := connector.NewCSV(&genReader{n: contacts, row: contactRow}, connector.CSVConfig{Name: "contacts.csv"})
				if err != nil {
					b.Fatal(err)
				}
				rep, err := im.Run(ctx, importer.Job{Source: src, Action: identity.Create, Identity: importer.NoSync()})
				if err != nil || rep.Created != int64(contacts) {
					b.Fatalf("seeding contacts: %v, %+v", err, rep)
				}
				src, err = connector.NewCSV(&genReader{n: events, row: func(dst []byte, i int) []byte { return eventRow(dst, i, contacts) }}, connector.CSVConfig{Name: "events.csv"})
				if err != nil {
					b.Fatal(err)
				}
				var peak int64
				stop := samplePeakHeap(&peak)
				b.StartTimer()
				start := time.Now()
				rep, err = im.Run(ctx, importer.Job{Source: src, Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}})
				took := time.Since(start)
				b.StopTimer()
				stop()
				if err != nil || rep.Created != int64(events) || rep.Links["profile"].Found != int64(events) {
					b.Fatalf("importing events: %v, %+v", err, rep)
				}
				b.ReportMetric(float64(events)/took.Seconds(), "events/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
				var ru syscall.Rusage
				if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
					b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
				}
			}
		})
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func contactRow(dst []byte, i int) []byte {
	if i < 0 {
		return append(dst, "contact_id,email,first_name\n"...)
	}
	return fmt.Appendf(dst, "C%07d,contact%d@example.com,Name%d\n", i, i, i)
}

var eventTypes = [...]string{"page_view", "email_open", "click", "purchase", "login"}

func eventRow(dst []byte, i, contacts int) []byte {
	if i < 0 {
		return append(dst, "event_id,email,type,occurred_at,page\n"...)
	}
	c := (i * 7919) % contacts // every contact, spread over the file
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return fmt.Appendf(dst, "ev%d,contact%d@example.com,%s,%s,/p/%d\n", i, c, eventTypes[i%len(eventTypes)], ts.Format(time.RFC3339), i%97)
}

// genReader generates a CSV file of n rows (plus the header, row -1) as
// it is read.
type genReader struct {
	n, next int
	row     func(dst []byte, i int) []byte
	buf     []byte
	started bool
}

func (g *genReader) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.next < g.n {
		if !g.started {
			g.buf, g.started = g.row(g.buf, -1), true
			continue
		}
		g.buf = g.row(g.buf, g.next)
		g.next++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

// samplePeakHeap samples HeapInuse every 2ms and stores the peak in *peak
// when the returned function is called.
func samplePeakHeap(peak *int64) (stop func()) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var max int64
	read := func() {
		metrics.Read(samples)
		if v := int64(samples[0].Value.Uint64() + samples[1].Value.Uint64()); v > max {
			max = v
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() { close(done); wg.Wait(); *peak = max }
}
