package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
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

func TestJobStoreCRUD(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, clock := setup(t, b)
			j, err := s.Create(ctx, sampleJob("nightly contacts"))
			if err != nil {
				t.Fatal(err)
			}
			if j.ID == "" || !j.Created.Equal(t0) {
				t.Fatalf("created job: %+v", j)
			}
			if want := time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("", 3600)); !j.NextRun.Equal(want) {
				t.Errorf("NextRun = %s, want %s", j.NextRun, want)
			}
			got, err := s.Get(ctx, j.ID)
			if err != nil || got.Name != j.Name || got.Source.Path != j.Source.Path || !reflect.DeepEqual(got.Spec, j.Spec) || !got.NextRun.Equal(j.NextRun) {
				t.Fatalf("Get = %+v, %v", got, err)
			}
			// A schedule change takes effect at once.
			clock.Advance(time.Hour)
			got.Cadence = "every 15m"
			upd, err := s.Update(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(time.Hour + 15*time.Minute); !upd.NextRun.Equal(want) {
				t.Errorf("after update NextRun = %s, want %s", upd.NextRun, want)
			}
			dup, err := s.Duplicate(ctx, j.ID, "")
			if err != nil || dup.Name != "nightly contacts (copy)" || dup.Enabled || dup.ID == j.ID || !dup.NextRun.IsZero() {
				t.Fatalf("Duplicate = %+v, %v", dup, err)
			}
			if err := s.SetEnabled(ctx, dup.ID, true); err != nil {
				t.Fatal(err)
			}
			if err := s.SetEnabled(ctx, j.ID, false); err != nil {
				t.Fatal(err)
			}
			off := false
			list, err := s.List(ctx, schedule.JobFilter{Enabled: &off})
			if err != nil || len(list) != 1 || list[0].ID != j.ID || !list[0].NextRun.IsZero() {
				t.Fatalf("List(disabled) = %+v, %v", list, err)
			}
			all, _ := s.List(ctx, schedule.JobFilter{})
			if len(all) != 2 {
				t.Fatalf("List = %d jobs", len(all))
			}
			if err := s.Delete(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, j.ID); !errors.Is(err, schedule.ErrNotFound) {
				t.Fatalf("Get deleted = %v", err)
			}
			if err := s.Delete(ctx, j.ID); !errors.Is(err, schedule.ErrNotFound) {
				t.Fatalf("Delete twice = %v", err)
			}
			bad := sampleJob("")
			bad.Cadence, bad.TimeZone, bad.Overlap = "every 7m", "Mars/Olympus", "wait"
			_, err = s.Create(ctx, bad)
			for _, w := range []string{"$.name: missing", "$.time_zone: \"Mars/Olympus\"", "$.cadence: every 7m", "$.overlap: overlap policy \"wait\""} {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Create(bad) = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestRunsHistory(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, clock := setup(t, b)
			j, _ := s.Create(ctx, sampleJob("a"))
			var ids []string
			for i, tr := range []schedule.Trigger{schedule.TriggerManual, schedule.TriggerAPI, schedule.TriggerManual} {
				clock.Advance(time.Minute)
				r, err := s.CreateRun(ctx, schedule.Run{JobID: j.ID, Trigger: tr, Actor: fmt.Sprint("user", i)})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			r, _ := s.GetRun(ctx, ids[0])
			r.Status, r.Rows, r.Created, r.Error, r.Fingerprint, r.RejectsRef = schedule.StatusFailed, 10, 4, "boom", "fp1", "rejects/1.csv"
			if err := s.UpdateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetRun(ctx, ids[0])
			if err != nil || got.Rows != 10 || got.Created != 4 || got.Error != "boom" || got.RejectsRef != "rejects/1.csv" || got.Actor != "user0" {
				t.Fatalf("GetRun = %+v, %v", got, err)
			}
			runs, _ := s.ListRuns(ctx, schedule.RunFilter{JobID: j.ID})
			if len(runs) != 3 || runs[0].ID != ids[2] {
				t.Fatalf("ListRuns: %d runs, first %v", len(runs), runs)
			}
			runs, _ = s.ListRuns(ctx, schedule.RunFilter{JobID: j.ID, Trigger: schedule.TriggerManual, Status: []schedule.RunStatus{schedule.StatusQueued}})
			if len(runs) != 1 || runs[0].ID != ids[2] {
				t.Fatalf("ListRuns(manual, queued) = %v", runs)
			}
			runs, _ = s.ListRuns(ctx, schedule.RunFilter{Since: t0.Add(90 * time.Second), Limit: 1})
			if len(runs) != 1 || runs[0].ID != ids[2] {
				t.Fatalf("ListRuns(since, limit 1) = %v", runs)
			}
			if _, err := s.CreateRun(ctx, schedule.Run{JobID: "nope"}); !errors.Is(err, schedule.ErrNotFound) {
				t.Fatalf("CreateRun(unknown job) = %v", err)
			}
		})
	}
}

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
