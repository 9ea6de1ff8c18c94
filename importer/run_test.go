package importer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullStore is a real sink with every capability the importer uses.
type fullStore interface {
	store
	sink.Getter
	sink.SchemaEnsurer
}

// faults says which call of a faultSink misbehaves (1-based; 0: none).
type faults struct {
	failWriteAt      int32         // Write returns an error and writes nothing
	shortWriteAt     int32         // Write writes nothing and returns 0 without an error
	noOutcomeAt      int32         // Write writes, then leaves the last op's Outcome unset
	failLookupAt     int32         // Lookup returns an error
	cancelInWriteAt  int32         // cancel, then write (the real sink sees a canceled context)
	cancelAfterWrite int32         // write, then cancel
	cancelInLookupAt int32         // cancel, then look up
	writeDelay       time.Duration // sleep in every Write (lets the reader run ahead)
	cancel           context.CancelFunc
}

// faultSink wraps a real sink and injects faults; it records the lines of
// the records it was asked to write, in order.
type faultSink struct {
	fullStore
	faults
	writes, lookups atomic.Int32
	inWrite         atomic.Int32

	mu       sync.Mutex
	lines    []int // lines of every written op, in order
	maxBatch int
	calls    []byte // 'L' for each Lookup, 'W' for each Write, in order
}

// call records a call in f.calls.
func (f *faultSink) call(c byte) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

// concurrentFaultSink is a faultSink that lets the importer overlap writes
// with lookups, as the real sinks do.
type concurrentFaultSink struct{ *faultSink }

func (concurrentFaultSink) Concurrent() bool { return true }

var errLookup = errors.New("lookup: connection refused")

func (f *faultSink) Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	f.call('L')
	k := f.lookups.Add(1)
	if k == f.failLookupAt {
		return nil, errLookup
	}
	if k == f.cancelInLookupAt {
		f.cancel()
	}
	return f.fullStore.Lookup(ctx, s, spec, keys)
}

func (f *faultSink) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	if f.inWrite.Add(1) != 1 {
		panic("two Writes at once")
	}
	defer f.inWrite.Add(-1)
	f.call('W')
	k := f.writes.Add(1)
	if f.writeDelay > 0 {
		time.Sleep(f.writeDelay)
	}
	switch k {
	case f.failWriteAt:
		return 0, &sink.RecordError{ID: batch[0].Record.ID, Line: batch[0].Record.Line, Err: errDiskFull}
	case f.shortWriteAt:
		return 0, nil
	case f.cancelInWriteAt:
		f.cancel()
	}
	n, err := f.fullStore.Write(ctx, batch)
	if err == nil {
		f.mu.Lock()
		for _, op := range batch {
			f.lines = append(f.lines, op.Record.Line)
		}
		f.maxBatch = max(f.maxBatch, len(batch))
		f.mu.Unlock()
	}
	if k == f.noOutcomeAt {
		batch[len(batch)-1].Outcome = intake.OutcomeNone
	}
	if k == f.cancelAfterWrite {
		f.cancel()
	}
	return n, err
}

func newMemory() fullStore { return memory.New(memory.Config{}) }

func newSQLite(t *testing.T) fullStore {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/intake.db", sqlite.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// count returns the number of stored contacts.
func count(t *testing.T, s store) int {
	t.Helper()
	n := 0
	require.NoError(t, s.Scan(context.Background(), intake.ContactSchema(), func(*intake.Record) error { n++; return nil }))
	return n
}

// uniqueRows is a file of n rows with distinct emails; every 7th row is
// rejected (invalid email).
func uniqueRows(n int) string {
	var b strings.Builder
	b.WriteString("email,city\n")
	for i := range n {
		if i%7 == 3 {
			fmt.Fprintf(&b, "broken-%d,Nowhere\n", i)
			continue
		}
		fmt.Fprintf(&b, "p%d@example.com,City%d\n", i, i%13)
	}
	return b.String()
}

// checkRejects checks that the rejects file lists exactly the rows the
// report counts as rejected, in input order.
func checkRejects(t *testing.T, rep *importer.Report, out string) {
	t.Helper()
	if rep.Rejected == 0 {
		return
	}
	recs := readRagged(t, out)
	require.NotEmpty(t, recs, "the rejects file has a header")
	assert.Len(t, recs[1:], int(rep.Rejected), "every rejected row of a committed batch, once")
	prev := 0
	for _, r := range recs[1:] {
		var line int
		fmt.Sscan(r[0], &line)
		assert.Greater(t, line, prev, "rejected rows in input order")
		prev = line
	}
}

// TestFailuresKeepTheReportExact injects a fault at every stage of a run, on
// both stores, with and without overlapped writes, and checks that the run
// stops cleanly, that the report counts exactly what was committed, and that
// the rejects file holds exactly the rejected rows the report counts.
func TestFailuresKeepTheReportExact(t *testing.T) {
	t.Parallel()
	const rows, batchSize = 1000, 100
	data := uniqueRows(rows)
	tests := []struct {
		name    string
		f       faults
		wantErr error // nil: only check that it failed
		status  importer.Status
	}{
		{"write fails at 1", faults{failWriteAt: 1}, errDiskFull, importer.StatusFailed},
		{"write fails at 3", faults{failWriteAt: 3}, errDiskFull, importer.StatusFailed},
		{"last write fails", faults{failWriteAt: 10}, errDiskFull, importer.StatusFailed},
		{"short write", faults{shortWriteAt: 2}, nil, importer.StatusFailed},
		{"outcome unset", faults{noOutcomeAt: 2}, nil, importer.StatusFailed},
		{"lookup fails at 1", faults{failLookupAt: 1}, errLookup, importer.StatusFailed},
		{"lookup fails at 4", faults{failLookupAt: 4}, errLookup, importer.StatusFailed},
		{"canceled in lookup", faults{cancelInLookupAt: 3}, context.Canceled, importer.StatusCanceled},
		{"canceled in write", faults{cancelInWriteAt: 3}, context.Canceled, importer.StatusCanceled},
		{"canceled after write", faults{cancelAfterWrite: 3}, context.Canceled, importer.StatusCanceled},
		{"canceled after last write", faults{cancelAfterWrite: 10}, nil, ""},
		{"slow writes, canceled in lookup", faults{cancelInLookupAt: 2, writeDelay: 5 * time.Millisecond}, context.Canceled, importer.StatusCanceled},
	}
	for _, tt := range tests {
		for _, overlap := range []bool{false, true} {
			for _, storeName := range []string{"memory", "sqlite"} {
				t.Run(fmt.Sprintf("%s/overlap=%v/%s", tt.name, overlap, storeName), func(t *testing.T) {
					t.Parallel()
					var s fullStore
					if storeName == "memory" {
						s = newMemory()
					} else {
						s = newSQLite(t)
					}
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					fs := &faultSink{fullStore: s, faults: tt.f}
					fs.cancel = cancel
					var snk sink.Sink = fs
					if overlap {
						snk = concurrentFaultSink{fs}
					}
					im, err := importer.New(importer.Config{Sink: snk, BatchSize: batchSize, Workers: 3})
					require.NoError(t, err)
					var rejects bytes.Buffer
					rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "f.csv", data), Rejects: &rejects})
					if tt.status == "" { // the cancel came too late to matter
						if err != nil {
							require.ErrorIs(t, err, context.Canceled)
						}
					} else {
						require.Error(t, err)
						if tt.wantErr != nil {
							assert.ErrorIs(t, err, tt.wantErr)
						}
						assert.Equal(t, tt.status, rep.Status)
						assert.Less(t, rep.Rows, int64(rows))
					}
					checkInvariant(t, rep)
					assert.Zero(t, rep.Rows%batchSize, "only whole batches are committed: %d", rep.Rows)
					if tt.f.noOutcomeAt == 0 {
						assert.Equal(t, int(rep.Created), count(t, s), "the report counts exactly the committed creates")
					}
					checkRejects(t, rep, rejects.String())
				})
			}
		}
	}
}

// TestOverlapOrder: with a sink.Concurrent sink, the importer looks the
// next batch up before it writes the batch it decided, and decides the
// next batch while that one is written: the lookup of batch k+1 comes
// before the write of batch k. With another sink, each batch is written
// before the next is looked up.
func TestOverlapOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		overlap bool
		want    string
	}{{false, "LWLWLWLW"}, {true, "LLWLWLWW"}} {
		t.Run(fmt.Sprint("overlap=", tc.overlap), func(t *testing.T) {
			t.Parallel()
			fs := &faultSink{fullStore: newMemory()}
			var snk sink.Sink = fs
			if tc.overlap {
				snk = concurrentFaultSink{fs}
			}
			im, err := importer.New(importer.Config{Sink: snk, BatchSize: 100, Workers: 2})
			require.NoError(t, err)
			rep, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", uniqueRows(400))})
			require.NoError(t, err)
			require.Equal(t, int64(400), rep.Rows)
			assert.Equal(t, tc.want, string(fs.calls))
		})
	}
}

// TestFailuresOfOtherParts: a fatal source error mid-file, a context
// canceled while reading, and a rejects writer that fails.
func TestFailuresOfOtherParts(t *testing.T) {
	t.Parallel()
	data := uniqueRows(3000)
	for _, overlap := range []bool{false, true} {
		t.Run(fmt.Sprintf("source error/overlap=%v", overlap), func(t *testing.T) {
			t.Parallel()
			s := newMemory()
			fs := &faultSink{fullStore: s}
			var snk sink.Sink = fs
			if overlap {
				snk = concurrentFaultSink{fs}
			}
			im, err := importer.New(importer.Config{Sink: snk, BatchSize: 100, Workers: 4})
			require.NoError(t, err)
			var rejects bytes.Buffer
			src, err := connector.NewCSV(io.MultiReader(strings.NewReader(data[:len(data)/2]), iotestErr{}), connector.CSVConfig{Name: "f.csv"})
			require.NoError(t, err)
			rep, err := im.Run(context.Background(), importer.Job{Source: src, Rejects: &rejects})
			require.ErrorIs(t, err, errBrokenPipe)
			assert.Equal(t, importer.StatusFailed, rep.Status)
			checkInvariant(t, rep)
			assert.Equal(t, int(rep.Created), count(t, s))
			checkRejects(t, rep, rejects.String())
		})
		t.Run(fmt.Sprintf("canceled while reading/overlap=%v", overlap), func(t *testing.T) {
			t.Parallel()
			for _, n := range []int{1, 50, 99, 100, 101, 1234, 2999} {
				s := newMemory()
				fs := &faultSink{fullStore: s}
				var snk sink.Sink = fs
				if overlap {
					snk = concurrentFaultSink{fs}
				}
				im, err := importer.New(importer.Config{Sink: snk, BatchSize: 100, Workers: 2})
				require.NoError(t, err)
				ctx, cancel := context.WithCancel(context.Background())
				var rejects bytes.Buffer
				src := &cancelingSource{Source: csvSource(t, "f.csv", data), n: n, cancel: cancel}
				rep, err := im.Run(ctx, importer.Job{Source: src, Rejects: &rejects})
				cancel()
				require.ErrorIs(t, err, context.Canceled)
				checkInvariant(t, rep)
				assert.Zero(t, rep.Rows%100)
				assert.Equal(t, int(rep.Created), count(t, s))
				checkRejects(t, rep, rejects.String())
			}
		})
		t.Run(fmt.Sprintf("rejects writer fails/overlap=%v", overlap), func(t *testing.T) {
			t.Parallel()
			s := newMemory()
			fs := &faultSink{fullStore: s}
			var snk sink.Sink = fs
			if overlap {
				snk = concurrentFaultSink{fs}
			}
			im, err := importer.New(importer.Config{Sink: snk, BatchSize: 500, Workers: 2})
			require.NoError(t, err)
			w := &failingWriter{after: 10000}
			rep, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", data), Rejects: w})
			require.ErrorIs(t, err, errWriterFull)
			checkInvariant(t, rep)
			assert.Equal(t, int(rep.Created), count(t, s), "a batch written to the store is counted, even when its rejects could not be written")
		})
	}
}

var errWriterFull = errors.New("no space left on device")

// failingWriter accepts after bytes, then fails.
type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, errWriterFull
	}
	w.after -= len(p)
	return len(p), nil
}

// TestRandomCancelation cancels runs at random moments (while reading,
// mapping, blocked on a full chunk pool, writing, between batches) and
// checks that the report counts exactly the committed rows.
func TestRandomCancelation(t *testing.T) {
	t.Parallel()
	data := uniqueRows(4000)
	for seed := range 24 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(seed), 9))
			s := newMemory()
			fs := &faultSink{fullStore: s, faults: faults{writeDelay: time.Duration(rng.IntN(3)) * time.Millisecond}}
			var snk sink.Sink = fs
			if seed%2 == 0 {
				snk = concurrentFaultSink{fs}
			}
			batch := []int{1, 7, 100, 256, 257, 1000}[rng.IntN(6)]
			im, err := importer.New(importer.Config{Sink: snk, BatchSize: batch, Workers: 1 + rng.IntN(8)})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(20000))*time.Microsecond)
			defer cancel()
			var rejects bytes.Buffer
			rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "f.csv", data), Rejects: &rejects})
			if err != nil {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Equal(t, importer.StatusCanceled, rep.Status)
			}
			checkInvariant(t, rep)
			if err != nil {
				// Batches are whole chunks of at most 256 rows.
				k := (batch + 255) / 256
				assert.Zero(t, rep.Rows%int64(batch/k*k), "batch %d", batch)
			}
			assert.Equal(t, int(rep.Created), count(t, s))
			checkRejects(t, rep, rejects.String())
		})
	}
}

// TestBatchSizesWorkersAndOrder runs a file through every interesting batch
// size and number of workers, with a slow sink so that the reader fills the
// chunk pool: rows reach the sink in file order, no batch is larger than
// BatchSize, and nothing deadlocks.
func TestBatchSizesWorkersAndOrder(t *testing.T) {
	t.Parallel()
	const rows = 5500
	data := uniqueRows(rows)
	for _, batch := range []int{1, 2, 255, 256, 257, 1000, 5000} {
		for _, workers := range []int{1, 3, 8} {
			t.Run(fmt.Sprintf("batch%d/workers%d", batch, workers), func(t *testing.T) {
				t.Parallel()
				s := newMemory()
				fs := &faultSink{fullStore: s}
				data := data
				if batch < 255 {
					data = data[:strings.Index(data, "p600@")] // enough for many batches
				}
				if batch >= 255 {
					fs.writeDelay = time.Millisecond
				}
				for _, snk := range []sink.Sink{fs, concurrentFaultSink{fs}} {
					fs.lines, fs.maxBatch = nil, 0
					rep := runJob(t, importer.Config{Sink: snk, BatchSize: batch, Workers: workers}, importer.Job{Source: csvSource(t, "f.csv", data)})
					assert.EqualValues(t, strings.Count(data, "\n")-1, rep.Rows)
					assert.LessOrEqual(t, fs.maxBatch, batch)
					assert.True(t, slices.IsSorted(fs.lines), "rows reach the sink in file order")
					assert.Len(t, fs.lines, int(rep.Created+rep.Updated+rep.Unchanged))
				}
			})
		}
	}
}

type closeCheckingSource struct {
	connector.Source
	closed, readAfterClose atomic.Bool
}

func (c *closeCheckingSource) Read(ctx context.Context) (intake.Row, error) {
	if c.closed.Load() {
		c.readAfterClose.Store(true)
		return intake.Row{}, io.EOF
	}
	return c.Source.Read(ctx)
}

func (c *closeCheckingSource) Close() error {
	c.closed.Store(true)
	return nil // the underlying reader is not closed: a late Read would race
}

// blockIDs is an identity.BlockAllocator that hands out "id-N", N counting
// every id it appended, and counts its calls.
type blockIDs struct {
	n, blocks, singles int
}

func (a *blockIDs) NewID() (string, error) {
	a.singles++
	a.n++
	return fmt.Sprintf("id-%04d", a.n-1), nil
}

func (a *blockIDs) AppendIDs(dst []string, n int) ([]string, error) {
	a.blocks++
	for range n {
		dst = append(dst, fmt.Sprintf("id-%04d", a.n))
		a.n++
	}
	return dst, nil
}

// TestIDBlocks: the run draws the ids of its creates in blocks from an
// identity.BlockAllocator, and each batch drops what its creates leave of
// its last block.
func TestIDBlocks(t *testing.T) {
	t.Parallel()
	mem := newMemory()
	ids := &blockIDs{}
	im, err := importer.New(importer.Config{Sink: mem, BatchSize: 100, Workers: 2, IDs: ids})
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("email\n")
	for i := range 150 {
		fmt.Fprintf(&b, "p%d@example.com\n", i)
	}
	rep, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", b.String())})
	require.NoError(t, err)
	require.Equal(t, int64(150), rep.Created)
	assert.Equal(t, 3, ids.blocks, "64 + 36 of 64 ids for the first batch, 50 for the second")
	assert.Zero(t, ids.singles)
	var got []string
	require.NoError(t, mem.Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
		got = append(got, r.ID)
		return nil
	}))
	require.Len(t, got, 150)
	assert.Equal(t, "id-0099", got[99])
	assert.Equal(t, "id-0128", got[100], "the second batch starts a block")
}
