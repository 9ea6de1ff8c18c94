package scheduletest_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
)

// A job store's author calls the kit from a test: open returns a fresh,
// empty store that takes its time from the clock the kit gives it.
func ExampleTestJobStore() {
	// In a _test.go file of the store's package:
	_ = func(t *testing.T) {
		scheduletest.TestJobStore(t, func(t *testing.T, clock schedule.Clock) schedule.JobStore {
			s, err := schedule.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "jobs.db"), schedule.StoreConfig{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	}
}
