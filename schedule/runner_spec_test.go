package schedule_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// richSpec uses what a Go importer.Job can: identity rules, in-file
// duplicates merged, a fill_empty merge with a per-field rule, consent,
// lists and tags, a link to accounts.
const richSpec = `{
  "version": 1, "name": "weekly CRM sync",
  "mapping": {"columns": [{"source": "email", "field": "email"}, {"source": "contact_id", "field": "contact_id"},
                          {"source": "first_name", "field": "first_name"}, {"source": "city", "field": "city"},
                          {"source": "account_id", "field": "account_id"}]},
  "action": "add_and_update",
  "rules": ["contact_id", "email"],
  "duplicates": "merge",
  "merge": {"default": "fill_empty", "fields": {"city": "overwrite"}},
  "consent": [{"name": "email"}],
  "lists": ["newsletter"], "tags": ["fair-2026"],
  "links": ["account_id"], "on_unknown": "empty",
  "actor": "ops"
}`

const richFile = "contact_id,email,first_name,city,account_id\n" +
	"c1,ann@x.io,Ann,Köln,A1\n" + // fill_empty fills the first name; city overwrites
	"c2,ben@x.io,Benjamin,,A9\n" + // the first name is kept; the unknown account is left empty
	",new@x.io,New,Rome,\n" +
	"c3,new@x.io,,Paris,\n" // the same record by email: merged in the file

// seedStore imports accounts and contacts into a new memory store, through
// job specs.
func seedStore(t *testing.T) *memory.Store {
	t.Helper()
	ctx := context.Background()
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { _ = mem.Close() })
	for _, s := range []struct{ spec, data string }{
		{`{"object": "account", "action": "create"}`, "account_id,name\nA1,Acme\n"},
		{`{"action": "create"}`, "contact_id,email,first_name,city\nc1,ann@x.io,,Bonn\nc2,ben@x.io,Ben,Oslo\n"},
	} {
		spec, err := importer.ParseJobSpec([]byte(s.spec))
		require.NoError(t, err)
		src, err := connector.NewCSV(strings.NewReader(s.data), connector.CSVConfig{Name: "seed.csv"})
		require.NoError(t, err)
		job, err := spec.Job(ctx, mem, src)
		require.NoError(t, err)
		im, err := importer.New(importer.Config{Sink: mem})
		require.NoError(t, err)
		rep, err := im.Run(ctx, job)
		require.NoError(t, err)
		require.Zero(t, rep.Rejected, "%+v", rep)
	}
	return mem
}

// contactsByEmail returns the stored contacts by email.
func contactsByEmail(t *testing.T, mem *memory.Store) map[string]*intake.Record {
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

// TestImportRunnerRunsTheWholeSpec: a saved job whose spec uses rules, a
// fill_empty merge, consent, lists, tags and a link, run by the scheduler
// with the standard runner, gives the same outcomes and the same stored
// records as the same import written as an importer.Job in Go.
func TestImportRunnerRunsTheWholeSpec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "contacts.csv"), []byte(richFile), 0o600))

	// The saved job, run by the scheduler.
	saved := seedStore(t)
	reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
	runner, err := schedule.ImportRunner(schedule.ImportConfig{Registry: reg, Sink: saved})
	require.NoError(t, err)
	clock := scheduletest.NewClock(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	jobs, err := schedule.OpenSQLite(ctx, filepath.Join(dir, "jobs.db"), schedule.StoreConfig{Clock: clock})
	require.NoError(t, err)
	t.Cleanup(func() { _ = jobs.Close() })
	spec, err := importer.ParseJobSpec([]byte(richSpec))
	require.NoError(t, err)
	job, err := jobs.Create(ctx, schedule.Job{Name: "weekly CRM sync", Source: schedule.SourceSpec{Connector: "file", Path: "contacts.csv"}, Spec: *spec})
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
	require.Equal(t, schedule.StatusSucceeded, run.Status, run.Error)

	// The same import in Go.
	inGo := seedStore(t)
	m, err := mapping.LoadSpec(strings.NewReader(`{"columns": [{"source": "email", "field": "email"}, {"source": "contact_id", "field": "contact_id"},
		{"source": "first_name", "field": "first_name"}, {"source": "city", "field": "city"}, {"source": "account_id", "field": "account_id"}]}`))
	require.NoError(t, err)
	accounts, err := inGo.Schema(ctx, intake.ObjectAccount)
	require.NoError(t, err)
	stored, err := inGo.Schema(ctx, intake.ObjectContact)
	require.NoError(t, err)
	schema, err := identity.ConsentFields(stored, identity.Channel{Name: "email"})
	require.NoError(t, err)
	src, err := connector.NewCSV(strings.NewReader(richFile), connector.CSVConfig{Name: "contacts.csv"})
	require.NoError(t, err)
	im, err := importer.New(importer.Config{Sink: inGo})
	require.NoError(t, err)
	rep, err := im.Run(ctx, importer.Job{
		Name: "weekly CRM sync", Source: src, Schema: schema, Mapping: m,
		Action: identity.AddAndUpdate, Identity: importer.Rules(intake.Keys("contact_id"), intake.Keys("email")),
		Duplicates:  identity.DuplicatesMerge,
		Merge:       identity.MergePolicy{Default: identity.MergeFillEmpty, Fields: []identity.FieldMerge{{Field: "city", Rule: identity.MergeOverwrite}}},
		Consent:     []identity.Channel{{Name: "email"}},
		Memberships: []importer.Membership{{Field: "lists", Values: []string{"newsletter"}}, {Field: "tags", Values: []string{"fair-2026"}}},
		Links:       []importer.Link{{Field: "account_id", Object: intake.ObjectAccount, Schema: accounts, Missing: importer.MissingEmpty}},
		AccountLink: importer.MissingEmpty, Actor: "ops",
	})
	require.NoError(t, err)

	assert.Equal(t, []int64{rep.Rows, rep.Created, rep.Updated, rep.Unchanged, rep.Skipped, rep.OptedOut, rep.Rejected},
		[]int64{run.Rows, run.Created, run.Updated, run.Unchanged, run.Skipped, run.OptedOut, run.Rejected})
	assert.Equal(t, []int64{4, 1, 3}, []int64{run.Rows, run.Created, run.Updated}, "%+v", run)
	want, got := contactsByEmail(t, inGo), contactsByEmail(t, saved)
	require.Len(t, got, 3)
	for email, w := range want {
		g := got[email]
		require.NotNil(t, g, email)
		for _, f := range []string{"contact_id", "first_name", "city", "account_id", "lists", "tags", "email_consent"} {
			assert.Equal(t, w.Get(f).String(), g.Get(f).String(), "%s %s", email, f)
		}
		assert.Equal(t, w.Get("account_record_id").IsNull(), g.Get("account_record_id").IsNull(), "%s account_record_id", email)
	}
	assert.Equal(t, "Ann", got["ann@x.io"].Get("first_name").String(), "fill_empty fills the empty first name")
	assert.Equal(t, "Ben", got["ben@x.io"].Get("first_name").String(), "fill_empty keeps the stored first name")
	assert.Equal(t, "Köln", got["ann@x.io"].Get("city").String(), "city overwrites")
	assert.NotEmpty(t, got["ann@x.io"].Get("account_record_id").String(), "the link found account A1")
	assert.Equal(t, "fair-2026", got["new@x.io"].Get("tags").String())
}
