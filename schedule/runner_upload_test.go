package schedule_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runnerEnv is a job store, a contact store, the standard runner and a
// scheduler on a fake clock, reading files under dir.
type runnerEnv struct {
	dir      string
	jobs     schedule.JobStore
	contacts *memory.Store
	cfg      schedule.ImportConfig
	clock    *scheduletest.Clock
	s        *schedule.Scheduler
}

func newRunnerEnv(t *testing.T, mod func(*schedule.ImportConfig)) *runnerEnv {
	t.Helper()
	ctx := context.Background()
	e := &runnerEnv{dir: t.TempDir(), contacts: memory.New(memory.Config{})}
	t.Cleanup(func() { _ = e.contacts.Close() })
	reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: e.dir})
	e.cfg = schedule.ImportConfig{Registry: reg, Sink: e.contacts}
	if mod != nil {
		mod(&e.cfg)
	}
	runner, err := schedule.ImportRunner(e.cfg)
	require.NoError(t, err)
	e.clock = scheduletest.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	e.jobs, err = schedule.OpenSQLite(ctx, filepath.Join(e.dir, "jobs.db"), schedule.StoreConfig{Clock: e.clock})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.jobs.Close() })
	e.s, err = schedule.New(schedule.Config{Store: e.jobs, Runner: runner, Clock: e.clock, Instance: "test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.s.Stop(context.Background()) })
	return e
}

func (e *runnerEnv) write(t *testing.T, name, data string) {
	t.Helper()
	p := filepath.Join(e.dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
}

// tick runs one round and waits for the runs it started; it returns how
// many started.
func (e *runnerEnv) tick(t *testing.T) int {
	t.Helper()
	e.clock.Advance(time.Second)
	n, err := e.s.Tick(context.Background())
	require.NoError(t, err)
	require.NoError(t, e.s.Idle(context.Background()))
	return n
}

func (e *runnerEnv) run(t *testing.T, id string) schedule.Run {
	t.Helper()
	r, err := e.jobs.GetRun(context.Background(), id)
	require.NoError(t, err)
	return r
}

// reader returns a func that reads what an Open method returned.
func reader(t *testing.T) func(io.ReadCloser, error) string {
	return func(rc io.ReadCloser, err error) string {
		t.Helper()
		require.NoError(t, err)
		defer rc.Close()
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		return string(b)
	}
}

// TestUploadsRunInOrder: two files uploaded for one target import those
// files (not the job's own), one after the other in the order they were
// queued; each run's report counts its own file, and the run history gives
// back each run's own source and rejected rows.
func TestUploadsRunInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	archive, err := connector.NewDirArchive(filepath.Join(t.TempDir(), "archive"))
	require.NoError(t, err)
	e := newRunnerEnv(t, func(c *schedule.ImportConfig) { c.Archive = archive })
	e.write(t, "exports/own.csv", "email,city\nown@x.io,Nowhere\n")
	first := "email,city\nann@x.io,Rome\nbob@x.io,Oslo\nnot-an-email,Lima\n"
	second := "email,city\nann@x.io,Milan\nbroken@,Bern\n"
	e.write(t, "uploads/first.csv", first)
	e.write(t, "uploads/second.csv", second)
	job, err := e.jobs.Create(ctx, schedule.Job{Name: "uploads", Target: "crm", Source: schedule.SourceSpec{Connector: "file", Path: "exports/own.csv"}})
	require.NoError(t, err)
	other, err := e.jobs.Create(ctx, schedule.Job{Name: "other job, same store", Target: "crm", Source: schedule.SourceSpec{Connector: "file", Path: "exports/own.csv"}})
	require.NoError(t, err)

	var queued []schedule.Run
	for _, u := range []struct{ job, file string }{{job.ID, "uploads/first.csv"}, {other.ID, "uploads/second.csv"}} {
		r, err := e.s.Enqueue(ctx, schedule.Run{JobID: u.job, Trigger: schedule.TriggerUpload, Actor: "alice", Input: u.file})
		require.NoError(t, err)
		queued = append(queued, r)
		e.clock.Advance(time.Second)
	}
	assert.Equal(t, 1, e.tick(t), "one run of the target at a time")
	r1 := e.run(t, queued[0].ID)
	assert.Equal(t, schedule.StatusQueued, e.run(t, queued[1].ID).Status, "the second upload waits for the first")
	assert.Equal(t, 1, e.tick(t))
	r2 := e.run(t, queued[1].ID)
	assert.False(t, r2.Started.Before(r1.Finished), "the second upload starts after the first ended")

	assert.Equal(t, schedule.StatusPartiallySucceeded, r1.Status, r1.Error)
	assert.Equal(t, []int64{3, 2, 0, 1}, []int64{r1.Rows, r1.Created, r1.Updated, r1.Rejected}, "the first file's report")
	assert.Equal(t, schedule.StatusPartiallySucceeded, r2.Status, r2.Error)
	assert.Equal(t, []int64{2, 0, 1, 1}, []int64{r2.Rows, r2.Created, r2.Updated, r2.Rejected}, "the second file's report")

	read := reader(t)
	assert.Equal(t, first, read(e.cfg.OpenSource(ctx, r1)))
	assert.Equal(t, second, read(e.cfg.OpenSource(ctx, r2)))
	rej1, rej2 := read(e.cfg.OpenRejects(ctx, r1)), read(e.cfg.OpenRejects(ctx, r2))
	assert.Contains(t, rej1, "not-an-email")
	assert.NotContains(t, rej1, "broken@")
	assert.Contains(t, rej2, "broken@")
	assert.NotContains(t, rej2, "not-an-email")

	n, err := e.contacts.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "the job's own file was not imported")
}

// TestSkippedUnchangedOnlyWhenSkipped: a job that does not skip unchanged
// files imports its unchanged file again and says so; a job that skips
// them records skipped_unchanged; an upload of an unchanged file to it is
// imported.
func TestSkippedUnchangedOnlyWhenSkipped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rejects := t.TempDir()
	e := newRunnerEnv(t, func(c *schedule.ImportConfig) { c.RejectsDir = rejects })
	e.write(t, "contacts.csv", "email,city\nann@x.io,Rome\nbad,Oslo\n")
	runTwice := func(skip bool) (schedule.Run, schedule.Run) {
		job, err := e.jobs.Create(ctx, schedule.Job{Name: "contacts", SkipUnchanged: skip, Source: schedule.SourceSpec{Connector: "file", Path: "contacts.csv"}})
		require.NoError(t, err)
		var runs []schedule.Run
		for range 2 {
			r, err := e.s.RunNow(ctx, job.ID, "alice")
			require.NoError(t, err)
			e.tick(t)
			runs = append(runs, e.run(t, r.ID))
		}
		return runs[0], runs[1]
	}
	_, again := runTwice(false)
	assert.Equal(t, schedule.StatusPartiallySucceeded, again.Status, "imported, not skipped: %s", again.Error)
	assert.Equal(t, []int64{2, 1, 1}, []int64{again.Rows, again.Unchanged, again.Rejected})
	assert.Contains(t, reader(t)(e.cfg.OpenRejects(ctx, again)), "bad", "the rejects of RejectsDir")

	_, skipped := runTwice(true)
	assert.Equal(t, schedule.StatusSkippedUnchanged, skipped.Status)
	assert.Zero(t, skipped.Rows)
	_, err := e.cfg.OpenRejects(ctx, skipped)
	assert.True(t, errors.Is(err, schedule.ErrNotFound), "%v", err)

	upload, err := e.s.Enqueue(ctx, schedule.Run{JobID: skipped.JobID, Trigger: schedule.TriggerUpload, Input: "contacts.csv"})
	require.NoError(t, err)
	e.tick(t)
	up := e.run(t, upload.ID)
	assert.Equal(t, schedule.StatusPartiallySucceeded, up.Status, "an uploaded file is always imported")
	assert.Equal(t, int64(2), up.Rows)
}
