package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventLog records the events of one run. Its hook appends without a lock
// and checks that no two calls overlap: a hook called concurrently fails
// the test, and under -race the append reports the race.
type eventLog struct {
	t      *testing.T
	events []importer.Event
	in     atomic.Bool
	then   func(importer.Event) // called after recording, when set
}

func (l *eventLog) hook(e importer.Event) {
	if l.in.Swap(true) {
		l.t.Errorf("%s: the hook is called while another call runs", e.Kind)
	}
	defer l.in.Store(false)
	time.Sleep(50 * time.Microsecond) // widen the window of an overlapping call
	l.events = append(l.events, e)
	if l.then != nil {
		l.then(e)
	}
}

// checkSequence checks the events of a run that returned rep and err: one
// RunStarted with nothing counted, BatchCommitted events of consecutive
// lines with growing counts that add up, one RunFinished with the report,
// the error and the last batch's counts. It returns the batch events.
func checkSequence(t *testing.T, events []importer.Event, rep *importer.Report, err error, job string) []importer.Event {
	t.Helper()
	require.GreaterOrEqual(t, len(events), 2, "a start and a finish")
	first, last := events[0], events[len(events)-1]
	assert.Equal(t, importer.RunStarted, first.Kind)
	assert.Zero(t, first.Counts)
	assert.Nil(t, first.Report)
	assert.Equal(t, importer.RunFinished, last.Kind)
	assert.Same(t, rep, last.Report, "the finished event carries the report Run returns")
	assert.Equal(t, err, last.Err, "the finished event carries the error Run returns")
	assert.Equal(t, rep.Counts, last.Counts)
	assert.Equal(t, rep.Duration(), last.Elapsed)

	batches := events[1 : len(events)-1]
	var prev importer.Event
	prev.LastLine = max(1, rep.ResumedAfterLine) // the header, or the line resumed after
	for i, e := range batches {
		require.Equal(t, importer.BatchCommitted, e.Kind, "event %d", i+1)
		assert.Equal(t, job, e.Job)
		assert.Nil(t, e.Report)
		assert.NoError(t, e.Err)
		assert.Equal(t, prev.LastLine+1, e.FirstLine, "batch %d follows the previous one", i)
		assert.EqualValues(t, e.LastLine-e.FirstLine+1, e.Counts.Rows-prev.Counts.Rows, "batch %d: one row a line", i)
		c := e.Counts
		assert.Equal(t, c.Rows, c.Created+c.Updated+c.Unchanged+c.Skipped+c.OptedOut+c.Rejected+c.Inactivated+c.Deleted+c.Anonymized)
		assert.GreaterOrEqual(t, e.BytesRead, prev.BytesRead)
		assert.GreaterOrEqual(t, e.Elapsed, prev.Elapsed)
		assert.InDelta(t, float64(c.Rows)/e.Elapsed.Seconds(), e.RowsPerSecond, 1e-6*e.RowsPerSecond+1e-9)
		prev = e
	}
	assert.Equal(t, prev.Counts, last.Counts, "every committed batch was announced")
	return batches
}

func TestEventsOfARun(t *testing.T) {
	t.Parallel()
	data := uniqueRows(2000)
	for _, tc := range []struct {
		name    string
		overlap bool
		dryRun  bool
	}{{"serial", false, false}, {"overlapped writes", true, false}, {"dry run", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := &faultSink{fullStore: newMemory(), faults: faults{writeDelay: time.Millisecond}}
			var snk sink.Sink = fs
			if tc.overlap {
				snk = concurrentFaultSink{fs}
			}
			l := &eventLog{t: t}
			im, err := importer.New(importer.Config{Sink: snk, BatchSize: 100, Workers: 4, Events: l.hook})
			require.NoError(t, err)
			src, err := connector.NewCSV(strings.NewReader(data), connector.CSVConfig{Name: "f.csv", Size: int64(len(data))})
			require.NoError(t, err)
			rep, err := im.Run(context.Background(), importer.Job{Name: "weekly", RunID: "run-1", Source: src, DryRun: tc.dryRun})
			require.NoError(t, err)

			batches := checkSequence(t, l.events, rep, nil, "weekly")
			assert.Len(t, batches, 20)
			for _, e := range l.events {
				assert.Equal(t, "run-1", e.RunID)
				assert.EqualValues(t, len(data), e.BytesTotal)
			}
			assert.Equal(t, 2001, batches[len(batches)-1].LastLine)
			end := l.events[len(l.events)-1]
			assert.EqualValues(t, len(data), end.BytesRead)
			frac, ok := end.Fraction()
			assert.True(t, ok)
			assert.Equal(t, 1.0, frac)
			assert.Positive(t, end.RowsPerSecond)
			assert.Equal(t, importer.StatusSucceeded, end.Report.Status)
			assert.EqualValues(t, 2000, end.Counts.Rows)
			assert.Positive(t, end.Counts.Rejected)
		})
	}
}

func TestEventsOfAFailedRun(t *testing.T) {
	t.Parallel()
	data := uniqueRows(1000)
	t.Run("sink fails at the third batch", func(t *testing.T) {
		t.Parallel()
		fs := &faultSink{fullStore: newMemory(), faults: faults{failWriteAt: 3}}
		l := &eventLog{t: t}
		im, err := importer.New(importer.Config{Sink: fs, BatchSize: 100, Workers: 2, Events: l.hook})
		require.NoError(t, err)
		rep, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", data)})
		require.ErrorIs(t, err, errDiskFull)
		batches := checkSequence(t, l.events, rep, err, "")
		assert.Len(t, batches, 2)
		end := l.events[len(l.events)-1]
		assert.Equal(t, importer.StatusFailed, end.Report.Status)
		assert.EqualValues(t, 200, end.Counts.Rows)
		assert.Equal(t, int64(-1), end.BytesTotal, "a reader of unknown size")
		_, ok := end.Fraction()
		assert.False(t, ok)
	})
	t.Run("before the first row", func(t *testing.T) {
		t.Parallel()
		l := &eventLog{t: t}
		im, err := importer.New(importer.Config{Sink: newMemory(), Events: l.hook})
		require.NoError(t, err)
		spec := &mapping.Spec{Columns: []mapping.Column{{Source: "city", Field: "city"}}}
		rep, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", data), Mapping: spec})
		require.ErrorIs(t, err, importer.ErrKeyNotMapped)
		assert.Empty(t, checkSequence(t, l.events, rep, err, ""))
		assert.Equal(t, importer.StatusFailed, rep.Status)
	})
	t.Run("no source", func(t *testing.T) {
		t.Parallel()
		l := &eventLog{t: t}
		im, err := importer.New(importer.Config{Sink: newMemory(), Events: l.hook})
		require.NoError(t, err)
		rep, err := im.Run(context.Background(), importer.Job{Name: "empty"})
		require.ErrorIs(t, err, importer.ErrNoSource)
		assert.Empty(t, checkSequence(t, l.events, rep, err, "empty"))
		assert.Equal(t, int64(-1), l.events[0].BytesTotal)
	})
}

// TestEventsOfACanceledRun cancels the run from the hook once two batches
// are committed: the finished event says canceled, with the error, and
// counts what was committed.
func TestEventsOfACanceledRun(t *testing.T) {
	t.Parallel()
	for _, overlap := range []bool{false, true} {
		t.Run(fmt.Sprint("overlap=", overlap), func(t *testing.T) {
			t.Parallel()
			fs := &faultSink{fullStore: newMemory(), faults: faults{writeDelay: time.Millisecond}}
			var snk sink.Sink = fs
			if overlap {
				snk = concurrentFaultSink{fs}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l := &eventLog{t: t, then: func(e importer.Event) {
				if e.Kind == importer.BatchCommitted && e.Counts.Rows >= 200 {
					cancel()
				}
			}}
			im, err := importer.New(importer.Config{Sink: snk, BatchSize: 100, Workers: 2, Events: l.hook})
			require.NoError(t, err)
			rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "f.csv", uniqueRows(3000))})
			require.ErrorIs(t, err, context.Canceled)
			batches := checkSequence(t, l.events, rep, err, "")
			assert.GreaterOrEqual(t, len(batches), 2)
			assert.Less(t, len(batches), 30)
			end := l.events[len(l.events)-1]
			assert.Equal(t, importer.StatusCanceled, end.Report.Status)
			assert.ErrorIs(t, end.Err, context.Canceled)
			assert.Equal(t, count(t, fs.fullStore), int(end.Counts.Created))
		})
	}
}

// TestEventsReachTheLogger: Config.Logger writes the events as log lines,
// the start and the batches at Debug, the end at Info.
func TestEventsReachTheLogger(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
			fs := &faultSink{fullStore: newMemory(), faults: faults{failWriteAt: 2}}
			im, err := importer.New(importer.Config{Sink: fs, BatchSize: 100, Logger: log})
			require.NoError(t, err)
			rep, err := im.Run(context.Background(), importer.Job{Name: "nightly", Source: csvSource(t, "f.csv", uniqueRows(300))})
			require.Error(t, err)
			require.NotEmpty(t, rep.RunID, "a run without Job.RunID draws one")
			out := strings.ReplaceAll(buf.String(), " run_id="+rep.RunID, "")
			assert.Equal(t, strings.Count(buf.String(), "\n"), strings.Count(buf.String(), "run_id="+rep.RunID), "every line names the run")
			assert.Contains(t, out, `msg="import finished" job=nightly status=failed rows=100 created=86 updated=0 unchanged=0 skipped=0 opted_out=0 rejected=14 took=`)
			assert.Contains(t, out, "disk full")
			if level == slog.LevelDebug {
				assert.Contains(t, out, `msg="import started" job=nightly source=f.csv bytes_total=-1 dry_run=false`)
				assert.Contains(t, out, `msg="import batch committed" job=nightly lines=2-101 rows=100 rows_per_second=`)
				assert.Equal(t, 3, strings.Count(out, "\n"), out)
			} else {
				assert.Equal(t, 1, strings.Count(out, "\n"), out)
			}
		})
	}
}

// TestEventsHookPanic: a panicking hook reaches the caller of Run, but only
// after the run's goroutines stopped: nothing reads the source after Run
// closed it and nothing writes to the sink after Run returned. No
// RunFinished follows the panic.
func TestEventsHookPanic(t *testing.T) {
	t.Parallel()
	data := uniqueRows(5000)
	for _, overlap := range []bool{false, true} {
		t.Run(fmt.Sprint(overlap), func(t *testing.T) {
			t.Parallel()
			s := newMemory()
			fs := &faultSink{fullStore: s, faults: faults{writeDelay: 2 * time.Millisecond}}
			var snk sink.Sink = fs
			if overlap {
				snk = concurrentFaultSink{fs}
			}
			var kinds []importer.EventKind
			im, err := importer.New(importer.Config{Sink: snk, BatchSize: 100, Workers: 2,
				Events: func(e importer.Event) {
					if kinds = append(kinds, e.Kind); len(kinds) == 3 {
						panic("progress bar broke")
					}
				}})
			require.NoError(t, err)
			src := &closeCheckingSource{Source: csvSource(t, "f.csv", data)}
			func() {
				defer func() { assert.Equal(t, "progress bar broke", recover()) }()
				im.Run(context.Background(), importer.Job{Source: src})
			}()
			assert.Equal(t, []importer.EventKind{importer.RunStarted, importer.BatchCommitted, importer.BatchCommitted}, kinds)
			assert.True(t, src.closed.Load(), "Run closed the source")
			assert.Zero(t, fs.inWrite.Load(), "no write goes on after Run returned")
			writes := fs.writes.Load()
			time.Sleep(20 * time.Millisecond)
			assert.Equal(t, writes, fs.writes.Load(), "no write starts after Run returned")
			assert.False(t, src.readAfterClose.Load(), "the source is not read after Run closed it")
		})
	}
}

// TestEventsOfAResumedRun: a run that resumes after a checkpoint starts its
// batches after the resumed line and counts only its own rows.
func TestEventsOfAResumedRun(t *testing.T) {
	t.Parallel()
	l := &eventLog{t: t}
	snk := &checkpointMemory{Store: memory.New(memory.Config{}), line: 501}
	im, err := importer.New(importer.Config{Sink: snk, BatchSize: 100, Events: l.hook})
	require.NoError(t, err)
	rep, err := im.Run(context.Background(), importer.Job{RunID: "r", Source: csvSource(t, "f.csv", uniqueRows(1000))})
	require.NoError(t, err)
	assert.Equal(t, 501, rep.ResumedAfterLine)
	batches := checkSequence(t, l.events, rep, nil, "")
	assert.Len(t, batches, 5)
	assert.EqualValues(t, 500, rep.Rows)
}

// checkpointMemory is a memory store that says an earlier attempt
// committed every row up to line.
type checkpointMemory struct {
	*memory.Store
	line int
}

func (c *checkpointMemory) LastCheckpoint(context.Context, string) (sink.Checkpoint, bool, error) {
	return sink.Checkpoint{Line: c.line}, true, nil
}

// Undoes reports false: the embedded store's WriteUndo would bypass this
// type's WriteCheckpoint.
func (c *checkpointMemory) Undoes() bool { return false }

func (c *checkpointMemory) WriteCheckpoint(ctx context.Context, ops []*sink.Op, _ sink.Checkpoint) (int, error) {
	return c.Write(ctx, ops)
}

// TestReportRunID: the report carries the job's RunID, or one the run
// draws (a UUIDv7), in JSON as run_id.
func TestReportRunID(t *testing.T) {
	t.Parallel()
	im, err := importer.New(importer.Config{Sink: newMemory()})
	require.NoError(t, err)
	rep, err := im.Run(context.Background(), importer.Job{RunID: "run-42", Source: csvSource(t, "f.csv", uniqueRows(3))})
	require.NoError(t, err)
	assert.Equal(t, "run-42", rep.RunID)
	js, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"run_id":"run-42"`)
	a, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", uniqueRows(3))})
	require.NoError(t, err)
	b, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", uniqueRows(3))})
	require.NoError(t, err)
	assert.NotEqual(t, a.RunID, b.RunID)
	id, err := uuid.Parse(a.RunID)
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(7), id.Version())
}
