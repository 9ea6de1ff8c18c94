package schedule_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUndoInHistory: a run of a saved job is undoable in its history; its
// undo is a run of the job (trigger undo, its counts), the run undone then
// names it; the retention's dropping of a log shows in UndoStatus.
func TestUndoInHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "contacts.csv"), []byte("email,city\nann@x.io,Rome\nbob@x.io,Oslo\n"), 0o600))
	reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
	store := memory.New(memory.Config{})
	defer store.Close()
	cfg := schedule.ImportConfig{Registry: reg, Sink: store}
	runner, err := schedule.ImportRunner(cfg)
	require.NoError(t, err)
	clock := scheduletest.NewClock(time.Date(2026, 3, 2, 7, 50, 0, 0, time.UTC))
	jobs, err := schedule.OpenSQLite(ctx, filepath.Join(dir, "jobs.db"), schedule.StoreConfig{Clock: clock})
	require.NoError(t, err)
	defer jobs.Close()
	job, err := jobs.Create(ctx, schedule.Job{Name: "contacts", Source: schedule.SourceSpec{Connector: "file", Path: "contacts.csv"}})
	require.NoError(t, err)
	s, err := schedule.New(schedule.Config{Store: jobs, Clock: clock, Runner: runner})
	require.NoError(t, err)
	run, err := s.RunNow(ctx, job.ID, "alice")
	require.NoError(t, err)
	_, err = s.Tick(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Idle(ctx))
	require.NoError(t, s.Stop(ctx))
	run, err = jobs.GetRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, schedule.StatusSucceeded, run.Status, run.Error)
	require.True(t, run.Undoable)
	st, err := cfg.UndoStatus(ctx, job, run)
	require.NoError(t, err)
	require.Equal(t, sink.UndoKept, st.State)

	_, dry, err := cfg.Undo(ctx, jobs, "bob", importer.UndoJob{RunID: run.ID, DryRun: true})
	require.NoError(t, err)
	require.EqualValues(t, 2, dry.Reverted)
	runs, err := jobs.ListRuns(ctx, schedule.RunFilter{JobID: job.ID})
	require.NoError(t, err)
	require.Len(t, runs, 1, "a dry run records nothing")

	undo, rep, err := cfg.Undo(ctx, jobs, "bob", importer.UndoJob{RunID: run.ID, Reason: "wrong file"})
	require.NoError(t, err)
	require.Equal(t, rep.RunID, undo.ID)
	assert.Equal(t, schedule.TriggerUndo, undo.Trigger)
	assert.Equal(t, schedule.StatusSucceeded, undo.Status)
	assert.Equal(t, run.ID, undo.Undoes)
	assert.Equal(t, "bob", undo.Actor)
	assert.Equal(t, [2]int64{2, 2}, [2]int64{undo.Rows, undo.Reverted})
	n, err := store.Count(ctx, "contact")
	require.NoError(t, err)
	assert.Zero(t, n)
	got, err := jobs.GetRun(ctx, run.ID)
	require.NoError(t, err)
	assert.Equal(t, undo.ID, got.UndoneBy)
	assert.False(t, got.Undoable)
	runs, err = jobs.ListRuns(ctx, schedule.RunFilter{JobID: job.ID})
	require.NoError(t, err)
	require.Len(t, runs, 2)
	audit, err := store.AuditLog(ctx, "contact", "")
	require.NoError(t, err)
	require.NotEmpty(t, audit)
	last := audit[len(audit)-1]
	assert.Equal(t, [4]string{sink.ActionUndo, run.ID, undo.ID, "bob"}, [4]string{last.Action, last.TargetID, last.RunID, last.Actor})
	assert.Equal(t, "wrong file", last.Reason)

	_, _, err = cfg.Undo(ctx, jobs, "bob", importer.UndoJob{RunID: run.ID})
	require.ErrorIs(t, err, importer.ErrNotUndoable)
	_, _, err = cfg.Undo(ctx, jobs, "bob", importer.UndoJob{RunID: undo.ID})
	require.ErrorIs(t, err, importer.ErrNoUndoLog, "an undo cannot be undone")
	_, err = cfg.UndoStatus(ctx, job, undo)
	require.ErrorIs(t, err, importer.ErrNoUndoLog)
}
