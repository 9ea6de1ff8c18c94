package acoustic_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sqlite"
)

// setup returns a SQLite job store on a test clock.
func setup(t *testing.T) (schedule.JobStore, *scheduletest.Clock) {
	t.Helper()
	clock := scheduletest.NewClock(time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC))
	s, err := schedule.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "jobs.db"), schedule.StoreConfig{Clock: clock})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, clock
}

// recorder is a Runner that records its runs and answers with reply (or a
// succeeded report).
type recorder struct {
	mu    sync.Mutex
	runs  []schedule.Run
	reply func(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error)
}

func (r *recorder) run(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error) {
	r.mu.Lock()
	r.runs = append(r.runs, run)
	r.mu.Unlock()
	if r.reply != nil {
		return r.reply(ctx, job, run)
	}
	return &importer.Report{Status: importer.StatusSucceeded, Counts: importer.Counts{Rows: 3, Created: 2, Updated: 1}}, nil
}

// newScheduler returns a scheduler of store running rec, stopped when the
// test ends.
func newScheduler(t *testing.T, store schedule.JobStore, clock schedule.Clock, rec *recorder) *schedule.Scheduler {
	t.Helper()
	s, err := schedule.New(schedule.Config{Store: store, Runner: rec.run, Clock: clock, MaxConcurrent: 4, LeaseDuration: time.Minute, Instance: "test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// tick runs one round and waits for the runs it started.
func tick(t *testing.T, s *schedule.Scheduler) {
	t.Helper()
	_, err := s.Tick(context.Background())
	require.NoError(t, err)
	require.NoError(t, s.Idle(context.Background()))
}

// seedStore returns a memory store holding the contacts ann@x.io and
// ben@x.io.
func seedStore(t *testing.T) *memory.Store {
	t.Helper()
	ctx := context.Background()
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { _ = mem.Close() })
	spec, err := importer.ParseJobSpec([]byte(`{"action": "create"}`))
	require.NoError(t, err)
	src, err := connector.NewCSV(strings.NewReader("contact_id,email,first_name,city\nc1,ann@x.io,,Bonn\nc2,ben@x.io,Ben,Oslo\n"), connector.CSVConfig{Name: "seed.csv"})
	require.NoError(t, err)
	job, err := spec.Job(ctx, mem, src)
	require.NoError(t, err)
	im, err := importer.New(importer.Config{Sink: mem})
	require.NoError(t, err)
	rep, err := im.Run(ctx, job)
	require.NoError(t, err)
	require.Zero(t, rep.Rejected, "%+v", rep)
	return mem
}

// store is what the tests read of a store: memory.Store and sqlite.Store.
type store interface {
	sink.Sink
	Schema(ctx context.Context, object string) (*intake.Schema, error)
	Scan(ctx context.Context, s *intake.Schema, fn func(*intake.Record) error) error
	Count(ctx context.Context, object string) (int64, error)
	Get(ctx context.Context, s *intake.Schema, ids []string) (map[string]*intake.Record, error)
}

// stores returns an empty memory store and an empty SQLite store, by name.
func stores(t *testing.T) map[string]store {
	t.Helper()
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { _ = mem.Close() })
	lite, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "contacts.db"), sqlite.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = lite.Close() })
	return map[string]store{"memory": mem, "sqlite": lite}
}

// contactsByEmail returns the stored contacts by email.
func contactsByEmail(t *testing.T, mem store) map[string]*intake.Record {
	t.Helper()
	ctx := context.Background()
	schema, err := mem.Schema(ctx, intake.ObjectContact)
	require.NoError(t, err)
	out := map[string]*intake.Record{}
	require.NoError(t, mem.Scan(ctx, schema, func(r *intake.Record) error {
		out[r.Get("email").String()] = r.Clone()
		return nil
	}))
	return out
}

// csvSource is a CSV source of data named name.
func csvSource(t *testing.T, name, data string) connector.Source {
	t.Helper()
	src, err := connector.NewCSV(strings.NewReader(data), connector.CSVConfig{Name: name})
	require.NoError(t, err)
	return src
}

// runJob runs job and checks that the report's counts add up.
func runJob(t *testing.T, cfg importer.Config, job importer.Job) *importer.Report {
	t.Helper()
	im, err := importer.New(cfg)
	require.NoError(t, err)
	rep, err := im.Run(context.Background(), job)
	require.NoError(t, err)
	require.Equal(t, rep.Rows, rep.Total(), "rows = created + updated + unchanged + skipped + opted_out + rejected: %+v", rep)
	return rep
}

// seed creates a record of schema for each row of data.
func seed(t *testing.T, mem sink.Sink, schema *intake.Schema, data string) {
	t.Helper()
	runJob(t, importer.Config{Sink: mem}, importer.Job{Source: csvSource(t, "seed.csv", data), Schema: schema, Action: identity.Create, Identity: importer.NoSync()})
}
