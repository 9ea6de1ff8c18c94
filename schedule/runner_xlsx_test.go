package schedule_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/xlsx"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/intakehq/intake/sink/memory"
)

// TestImportRunnerWorkbook: a job reads a workbook (the sheet its spec
// names) when the host registered XLSX on the runner's registry; without
// it, the run fails and says which package to register.
func TestImportRunnerWorkbook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	f := excelize.NewFile()
	_, err := f.NewSheet("Contacts")
	require.NoError(t, err)
	require.NoError(t, f.SetSheetRow("Sheet1", "A1", &[]any{"note"}))
	require.NoError(t, f.SetSheetRow("Contacts", "A1", &[]any{"email", "city"}))
	require.NoError(t, f.SetSheetRow("Contacts", "A2", &[]any{"ann@x.io", "Rome"}))
	require.NoError(t, f.SetSheetRow("Contacts", "A3", &[]any{"bob@x.io", "Oslo"}))
	require.NoError(t, f.SaveAs(filepath.Join(dir, "contacts.xlsx")))
	require.NoError(t, f.Close())

	tests := []struct {
		name     string
		withXLSX bool
		status   schedule.RunStatus
		contains string
		created  int64
	}{
		{"registered", true, schedule.StatusSucceeded, "", 2},
		{"not registered", false, schedule.StatusFailed, "xlsx.Register", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
			if tc.withXLSX {
				require.NoError(t, xlsx.Register(reg, xlsx.Config{}))
			}
			store := memory.New(memory.Config{})
			defer store.Close()
			runner, err := schedule.ImportRunner(schedule.ImportConfig{Registry: reg, Sink: store})
			require.NoError(t, err)
			clock := scheduletest.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
			jobs, err := schedule.OpenSQLite(ctx, filepath.Join(t.TempDir(), "jobs.db"), schedule.StoreConfig{Clock: clock})
			require.NoError(t, err)
			defer jobs.Close()
			spec := importer.JobSpec{Source: importer.SourceSpec{Sheet: "Contacts"}}
			job, err := jobs.Create(ctx, schedule.Job{Name: "workbook", Source: schedule.SourceSpec{Connector: "file", Path: "contacts.xlsx"}, Spec: spec})
			require.NoError(t, err)
			s, err := schedule.New(schedule.Config{Store: jobs, Runner: runner, Clock: clock})
			require.NoError(t, err)
			queued, err := s.RunNow(ctx, job.ID, "alice")
			require.NoError(t, err)
			_, err = s.Tick(ctx)
			require.NoError(t, err)
			require.NoError(t, s.Idle(ctx))
			require.NoError(t, s.Stop(ctx))
			run, err := jobs.GetRun(ctx, queued.ID)
			require.NoError(t, err)
			assert.Equal(t, tc.status, run.Status, run.Error)
			assert.Contains(t, run.Error, tc.contains)
			assert.Equal(t, tc.created, run.Created)
			n, err := store.Count(ctx, intake.ObjectContact)
			require.NoError(t, err)
			assert.EqualValues(t, tc.created, n)
		})
	}
}
