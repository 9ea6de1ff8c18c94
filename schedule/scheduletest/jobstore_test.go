package scheduletest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
)

// sqliteStore opens a SQLite job store on clock.
func sqliteStore(t *testing.T, clock schedule.Clock) schedule.JobStore {
	s, err := schedule.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "jobs.db"), schedule.StoreConfig{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// unsorted is a store whose List returns the jobs in reverse.
type unsorted struct{ schedule.JobStore }

func (s unsorted) List(ctx context.Context, f schedule.JobFilter) ([]schedule.Job, error) {
	js, err := s.JobStore.List(ctx, f)
	slices.Reverse(js)
	return js, err
}

// deaf is a store whose Heartbeat reports success and stores nothing.
type deaf struct{ schedule.JobStore }

func (deaf) Heartbeat(context.Context, schedule.Run, time.Time) error { return nil }

// brokenStores are the stores that TestKitCatchesBrokenStores runs the kit
// on in a child process.
var brokenStores = map[string]func(t *testing.T, clock schedule.Clock) schedule.JobStore{
	"unsorted": func(t *testing.T, clock schedule.Clock) schedule.JobStore { return unsorted{sqliteStore(t, clock)} },
	"deaf":     func(t *testing.T, clock schedule.Clock) schedule.JobStore { return deaf{sqliteStore(t, clock)} },
}

// TestKitCatchesBrokenStores runs the kit in a child process on stores
// that break the JobStore contract and checks that it fails them in the
// subtest of the broken method.
func TestKitCatchesBrokenStores(t *testing.T) {
	if open := brokenStores[os.Getenv("SCHEDULETEST_BROKEN")]; open != nil {
		scheduletest.TestJobStore(t, open)
		return
	}
	t.Parallel()
	for mode, wants := range map[string][]string{
		"unsorted": {"--- FAIL: TestKitCatchesBrokenStores/List ", "--- PASS: TestKitCatchesBrokenStores/Create "},
		"deaf":     {"--- FAIL: TestKitCatchesBrokenStores/Heartbeat ", "LeaseUntil after Heartbeat", "--- PASS: TestKitCatchesBrokenStores/Finish "},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKitCatchesBrokenStores$", "-test.v")
		cmd.Env = append(os.Environ(), "SCHEDULETEST_BROKEN="+mode)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s: the kit passed a broken store:\n%s", mode, out)
		}
		for _, want := range wants {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: the kit's output lacks %q:\n%s", mode, want, out)
			}
		}
	}
}
