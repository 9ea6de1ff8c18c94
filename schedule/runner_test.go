package schedule_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/intakehq/intake/sink"
)

// TestImportRunnerEndToEnd: a saved job imports a local file every 15
// minutes with the standard runner: the first run imports, the second
// finds the file unchanged and is recorded skipped_unchanged, the third
// imports the changed file; each run keeps its source in the archive and
// its rejected rows in a file. A job whose spec does not allow new records
// only updates.
func TestImportRunnerEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	files := filepath.Join(dir, "exports")
	require.NoError(t, os.MkdirAll(files, 0o755))
	write := func(data string) {
		require.NoError(t, os.WriteFile(filepath.Join(files, "contacts.csv"), []byte(data), 0o600))
	}
	write("E-Mail,City\nann@x.io,Rome\nbob@x.io,Oslo\nbroken,Lima\n")

	reg, err := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
	require.NoError(t, err)
	archive, err := connector.NewDirArchive(filepath.Join(dir, "archive"))
	require.NoError(t, err)
	rejects := filepath.Join(dir, "rejects")
	require.NoError(t, os.MkdirAll(rejects, 0o755))
	store := sink.NewMemory(sink.MemoryConfig{})
	defer store.Close()
	cfg := schedule.ImportConfig{Registry: reg, Sink: store, Archive: archive, RejectsDir: rejects}
	runner, err := schedule.ImportRunner(cfg)
	require.NoError(t, err)

	clock := scheduletest.NewClock(time.Date(2026, 3, 2, 7, 50, 0, 0, time.UTC))
	jobs, err := schedule.OpenSQLite(ctx, filepath.Join(dir, "jobs.db"), schedule.StoreConfig{Clock: clock})
	require.NoError(t, err)
	defer jobs.Close()
	spec := importer.JobSpec{Mapping: &mapping.Spec{Columns: []mapping.Column{{Source: "E-Mail", Field: "email"}, {Source: "City", Field: "city"}}}}
	job, err := jobs.Create(ctx, schedule.Job{
		Name: "shop contacts", Source: schedule.SourceSpec{Connector: "file", Path: "exports/contacts.csv"},
		Spec: spec, Cadence: "every 15m", Enabled: true, SkipUnchanged: true,
	})
	require.NoError(t, err)
	s, err := schedule.New(schedule.Config{Store: jobs, Clock: clock, Runner: runner})
	require.NoError(t, err)
	tick := func() {
		clock.Advance(15 * time.Minute)
		_, err := s.Tick(ctx)
		require.NoError(t, err)
		require.NoError(t, s.Idle(ctx))
	}
	tick()
	tick()
	write("E-Mail,City\nann@x.io,Milan\nbob@x.io,Oslo\ncid@x.io,Bern\n")
	tick()

	runs, err := jobs.ListRuns(ctx, schedule.RunFilter{JobID: job.ID})
	require.NoError(t, err)
	require.Len(t, runs, 3)
	first, second, third := runs[2], runs[1], runs[0]
	assert.Equal(t, schedule.StatusPartiallySucceeded, first.Status, first.Error)
	assert.Equal(t, []int64{3, 2, 1}, []int64{first.Rows, first.Created, first.Rejected})
	assert.NotEmpty(t, first.Fingerprint)
	assert.NotEmpty(t, first.SourceRef, "the fetched file is kept for the run's history")
	rc, err := archive.Open(ctx, first.SourceRef)
	require.NoError(t, err)
	rc.Close()
	rc, err = cfg.OpenRejects(ctx, first)
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	assert.Contains(t, string(b), "broken", "the rejected rows are kept in the archive")
	b, err = os.ReadFile(filepath.Join(rejects, first.ID+"-rejects.csv"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "broken", "and in RejectsDir")
	assert.Equal(t, schedule.StatusSkippedUnchanged, second.Status, "an identical file is not imported again")
	assert.Equal(t, schedule.StatusSucceeded, third.Status, third.Error)
	assert.Equal(t, []int64{1, 1, 1}, []int64{third.Created, third.Updated, third.Unchanged})

	// allow_new_records false: add_and_update runs as update_only.
	write("E-Mail,City\nann@x.io,Turin\nnew@x.io,Kyiv\n")
	no := false
	upd, err := jobs.Create(ctx, schedule.Job{Name: "updates only", Source: schedule.SourceSpec{Connector: "file", Path: "exports/contacts.csv"},
		Spec: importer.JobSpec{AllowNewRecords: &no}})
	require.NoError(t, err)
	run, err := s.RunNow(ctx, upd.ID, "alice")
	require.NoError(t, err)
	_, err = s.Tick(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Idle(ctx))
	run, err = jobs.GetRun(ctx, run.ID)
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 1, 1}, []int64{run.Created, run.Updated, run.Skipped}, "%s %s", run.Status, run.Error)
	require.NoError(t, s.Stop(ctx))

	n, err := store.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)

	_, err = schedule.ImportRunner(schedule.ImportConfig{})
	assert.ErrorContains(t, err, "needs ImportConfig.Sink")
}
