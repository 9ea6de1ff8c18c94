package schedule_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/jackc/pgx/v5/pgxpool"
)

var t0 = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC) // a Monday, 07:00 in Berlin

type backend struct {
	name string
	open func(t *testing.T, clock schedule.Clock) schedule.JobStore
}

func sqliteBackend() backend {
	return backend{"sqlite", func(t *testing.T, clock schedule.Clock) schedule.JobStore {
		s, err := schedule.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "jobs.db"), schedule.StoreConfig{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}}
}

// pgPools creates a schema of its own for the test (dropped after) and
// returns n pools whose search_path is that schema.
func pgPools(t testing.TB, n int) []*pgxpool.Pool {
	t.Helper()
	schema := pgtest.Schema(t)
	var pools []*pgxpool.Pool
	for range n {
		pools = append(pools, pgtest.NewPool(t, schema))
	}
	return pools
}

func pgBackend() backend {
	return backend{"postgres", func(t *testing.T, clock schedule.Clock) schedule.JobStore {
		s, err := schedule.NewPostgres(context.Background(), pgPools(t, 1)[0], schedule.StoreConfig{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}}
}

func backends() []backend { return []backend{sqliteBackend(), pgBackend()} }

// setup returns a store of the backend and a fake clock at t0.
func setup(t *testing.T, b backend) (schedule.JobStore, *scheduletest.Clock) {
	t.Helper()
	clock := scheduletest.NewClock(t0)
	return b.open(t, clock), clock
}

func sampleJob(name string) schedule.Job {
	return schedule.Job{
		Name:   name,
		Source: schedule.SourceSpec{Connector: "file", Path: "in/contacts.csv", Format: "csv"},
		Spec: importer.JobSpec{
			Mapping: &mapping.Spec{Columns: []mapping.Column{{Source: "E-Mail", Field: "email"}, {Source: "Tier", Field: "loyalty_tier"}, {Source: "Notes", Field: "notes", Skip: true}}},
			Action:  "add_and_update",
			Sync:    []string{"email"},
		},
		Cadence:  "daily at 09:00",
		TimeZone: "Europe/Berlin",
		Enabled:  true,
	}
}

// TestJobStoreConformance runs the job store kit on the SQLite and
// PostgreSQL stores.
func TestJobStoreConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			if b.name == "postgres" {
				pgtest.URL(t)
			}
			scheduletest.TestJobStore(t, b.open)
		})
	}
}

// TestFieldUsers checks CheckFieldDrop, which reads FieldUsers, on both
// stores.
func TestFieldUsers(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, _ := setup(t, b)
			a, _ := s.Create(ctx, sampleJob("tiers nightly"))
			oneOff := sampleJob("one-off tiers")
			oneOff.Cadence = ""
			_, _ = s.Create(ctx, oneOff)
			acct := sampleJob("accounts")
			acct.Spec.Object = "account"
			_, _ = s.Create(ctx, acct)
			users, err := s.FieldUsers(ctx, "contact", "loyalty_tier")
			if err != nil || len(users) != 1 || users[0].ID != a.ID {
				t.Fatalf("FieldUsers = %v, %v", users, err)
			}
			err = schedule.CheckFieldDrop(ctx, s, "contact", "loyalty_tier")
			if !errors.Is(err, schedule.ErrFieldInUse) || !strings.Contains(err.Error(), `"tiers nightly"`) {
				t.Fatalf("CheckFieldDrop = %v", err)
			}
			if err := schedule.CheckFieldDrop(ctx, s, "contact", "notes"); err != nil { // skipped column
				t.Fatalf("CheckFieldDrop(notes) = %v", err)
			}
			if users, _ := s.FieldUsers(ctx, "account", "email"); len(users) != 1 {
				t.Fatalf("FieldUsers(account, email) = %v (sync field)", users)
			}
		})
	}
}
