package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crmMapping maps the columns of crmFile to the contact fields.
const crmMapping = `{"columns": [{"source": "contact_id", "field": "contact_id"}, {"source": "email", "field": "email"},
  {"source": "first_name", "field": "first_name"}, {"source": "city", "field": "city"}, {"source": "account_id", "field": "account_id"}]}`

// crmSpec is a job spec using rules, a fill_empty merge with a per-field
// rule, in-file duplicates merged, lists and tags, and a link.
const crmSpec = `{"version": 1, "name": "crm sync",
  "mapping": ` + crmMapping + `,
  "rules": ["contact_id", "email"],
  "duplicates": "merge",
  "merge": {"default": "fill_empty", "fields": {"city": "overwrite"}},
  "lists": ["newsletter"], "tags": ["fair-2026"],
  "links": ["account_id"], "on_unknown": "empty"}`

const crmFile = "contact_id,email,first_name,city,account_id\n" +
	"c1,ann@x.io,Ann,Köln,A1\n" + // first name filled (fill_empty), city overwritten
	"c2,ben@x.io,Benjamin,,A9\n" + // first name kept; an unknown account leaves the link empty
	",new@x.io,New,Rome,\n" +
	"c3,new@x.io,,Paris,\n" + // the same record by email: merged
	"c4,bad-email,Bad,Oslo,\n" // rejected

// setupCRM returns a store holding an account and two contacts, the same
// for every store it is called for.
func setupCRM(t *testing.T, dir, name string) (store, path string) {
	t.Helper()
	path = filepath.Join(dir, name+".db")
	store = "sqlite:" + path
	write := func(file, data string) string {
		p := filepath.Join(dir, file)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		return p
	}
	code, _, stderr := cli(t, "import", "-store", store, "-object", "account", write("accounts.csv", "account_id,name\nA1,Acme\n"))
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, "import", "-store", store, "-sync", "contact_id", write("seed.csv", "contact_id,email,first_name,city\nc1,ann@x.io,,Bonn\nc2,ben@x.io,Ben,Oslo\n"))
	require.Equal(t, 0, code, stderr)
	return store, path
}

// goRun runs crmFile in Go, with the importer.Job that crmSpec describes
// written by hand.
func goRun(t *testing.T, path, file string) *importer.Report {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Config{})
	require.NoError(t, err)
	defer db.Close()
	m, err := mapping.LoadSpec(strings.NewReader(crmMapping))
	require.NoError(t, err)
	contacts, err := db.Schema(ctx, intake.ObjectContact)
	require.NoError(t, err)
	schema, err := m.MergeSchema(contacts)
	require.NoError(t, err)
	accounts, err := db.Schema(ctx, intake.ObjectAccount)
	require.NoError(t, err)
	src, err := connector.OpenCSVFile(file, connector.CSVConfig{})
	require.NoError(t, err)
	im, err := importer.New(importer.Config{Sink: db})
	require.NoError(t, err)
	rep, err := im.Run(ctx, importer.Job{
		Name: "crm sync", Source: src, Schema: schema, Mapping: m,
		Identity:    importer.Rules(intake.Keys("contact_id"), intake.Keys("email")),
		Duplicates:  identity.DuplicatesMerge,
		Merge:       identity.MergePolicy{Default: identity.MergeFillEmpty, Fields: []identity.FieldMerge{{Field: "city", Rule: identity.MergeOverwrite}}},
		Memberships: []importer.Membership{{Field: "lists", Values: []string{"newsletter"}}, {Field: "tags", Values: []string{"fair-2026"}}},
		Links:       []importer.Link{{Field: "account_id", Object: intake.ObjectAccount, Schema: accounts, Missing: importer.MissingEmpty}},
		AccountLink: importer.MissingEmpty,
	})
	require.NoError(t, err)
	return rep
}

// outcome is what a run did: its counts and its links' counts.
type outcome struct {
	Rows, Created, Updated, Unchanged, Skipped, OptedOut, Rejected int64
	Links                                                          map[string]importer.LinkCounts
}

func outcomeOf(t *testing.T, reportJSON []byte) outcome {
	t.Helper()
	var o struct {
		outcome
		OptedOut int64 `json:"opted_out"`
	}
	require.NoError(t, json.Unmarshal(reportJSON, &o), string(reportJSON))
	o.outcome.OptedOut = o.OptedOut
	return o.outcome
}

// storedContacts exports a store's contacts, by email, with whether each
// is linked to an account (record ids differ between stores).
func storedContacts(t *testing.T, store string) map[string]map[string]any {
	t.Helper()
	code, out, stderr := cli(t, "export", "-store", store, "-format", "jsonl", "-fields", "contact_id,email,first_name,city,account_id,lists,tags,account_record_id", "-")
	require.Equal(t, 0, code, stderr)
	recs := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		r["account_record_id"] = r["account_record_id"] != nil && r["account_record_id"] != ""
		recs[r["email"].(string)] = r
	}
	return recs
}

// TestJobSpecThreeWays: one job spec, saved with intake job create and run
// with job run -wait -json, run with import -job, and the same import as
// an importer.Job in Go, give the same outcomes and store the same
// records; job runs lists the run with its counts.
func TestJobSpecThreeWays(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "crm.csv")
	require.NoError(t, os.WriteFile(file, []byte(crmFile), 0o600))
	spec := filepath.Join(dir, "crm.json")
	require.NoError(t, os.WriteFile(spec, []byte(crmSpec), 0o600))

	goStore, goPath := setupCRM(t, dir, "go")
	goRep, err := json.Marshal(goRun(t, goPath, file))
	require.NoError(t, err)
	want := outcomeOf(t, goRep)
	require.Equal(t, outcome{Rows: 5, Created: 1, Updated: 3, Rejected: 1,
		Links: map[string]importer.LinkCounts{"account_id": {Found: 1, Empty: 1}}}, want, "the Go run itself: %s", goRep)

	jobStore, _ := setupCRM(t, dir, "job")
	code, out, stderr := cli(t, "job", "create", "-store", jobStore, "-source", file, spec)
	require.Equal(t, 0, code, stderr)
	id := strings.TrimSpace(out)
	code, out, stderr = cli(t, "job", "run", "-store", jobStore, "-wait", "-json", id)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stderr)
	assert.Equal(t, want, outcomeOf(t, []byte(out)), "job run -wait -json")
	var ran struct {
		RunID string `json:"run_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &ran))
	require.NotEmpty(t, ran.RunID)

	importStore, _ := setupCRM(t, dir, "import")
	code, out, stderr = cli(t, "import", "-store", importStore, "-job", spec, "-json", file)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want, outcomeOf(t, []byte(out)), "import -job")

	stored := storedContacts(t, goStore)
	assert.Equal(t, stored, storedContacts(t, jobStore), "job run stores what the Go job stores")
	assert.Equal(t, stored, storedContacts(t, importStore), "import -job stores what the Go job stores")
	assert.Equal(t, map[string]any{"contact_id": "c1", "email": "ann@x.io", "first_name": "Ann", "city": "Köln", "account_id": "A1",
		"lists": []any{"newsletter"}, "tags": []any{"fair-2026"}, "account_record_id": true, "opted_out": false}, stored["ann@x.io"])

	// The history: the run, with its counts.
	code, out, stderr = cli(t, "job", "runs", "-store", jobStore, id)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Regexp(t, `RUN ID\s+TRIGGER\s+STATUS\s+STARTED\s+ROWS\s+CREATED\s+UPDATED\s+UNCHANGED\s+SKIPPED\s+OPTED OUT\s+REJECTED`, lines[0])
	assert.Regexp(t, ran.RunID+`\s+manual\s+partially_succeeded\s+\S+\s+5\s+1\s+3\s+0\s+0\s+0\s+1`, lines[1])
	code, out, stderr = cli(t, "job", "runs", "-store", jobStore, "-json", id)
	require.Equal(t, 0, code, stderr)
	var runs []struct {
		ID, Status              string
		Rows, Created, Rejected int64
	}
	require.NoError(t, json.Unmarshal([]byte(out), &runs))
	require.Len(t, runs, 1)
	assert.Equal(t, ran.RunID, runs[0].ID)
	assert.Equal(t, [3]int64{5, 1, 1}, [3]int64{runs[0].Rows, runs[0].Created, runs[0].Rejected})
}

// TestJobCreateRefusesAnInvalidSpec: a job file with a wrong field and a
// wrong action is refused at job create, exit 2, with each problem and its
// JSON path; nothing is saved.
func TestJobCreateRefusesAnInvalidSpec(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		return p
	}
	bad := write("bad.json", `{"version": 1, "action": "upsert", "sync": ["emial"], "merge": {"default": "fill_empty", "fields": {"town": "overwrite"}}}`)
	code, out, stderr := cli(t, "job", "create", "-store", store, bad)
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "intake: "+bad+": 3 problems:\n"+
		`  $.action: unknown action "upsert" (want create, add_only, update_only, add_and_update or opt_out)`+"\n"+
		`  $.sync[0]: "emial" is not a field of contact (fields: contact_id, email, phone, first_name, last_name, birthday, country, city, lifetime_value)`+"\n"+
		`  $.merge.fields.town: "town" is not a field of contact`+"\n", stderr)

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{write("keys.json", `{"version": 1, "emial": "x", "source": {"delim": ";"}}`)}, []string{"keys.json: 2 problems", "$.emial: unknown key", "$.source.delim: unknown key"}},
		{[]string{"-cadence", "every 7m", "-tz", "Mars/Olympus", write("ok.json", `{"version": 1}`)}, []string{"invalid job, 2 problems", "-tz: \"Mars/Olympus\" is not a time zone", "-cadence: every 7m: 7 does not divide 60"}},
		{[]string{write("activity.json", `{"version": 1, "object": "activity", "action": "update_only"}`)}, []string{"activity.json: $.action: activities are append-only"}},
		{[]string{filepath.Join(dir, "nope.json")}, []string{"nope.json: no such file"}},
		{[]string{"-source", filepath.Join(dir, "nope.csv"), write("ok2.json", `{"version": 1}`)}, []string{"nope.csv: no such file"}},
	} {
		code, _, stderr := cli(t, append([]string{"job", "create", "-store", store}, tc.args...)...)
		assert.Equal(t, 2, code, stderr)
		for _, w := range tc.want {
			assert.Contains(t, stderr, w)
		}
	}
	code, out, stderr = cli(t, "job", "list", "-store", store, "-json")
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `[]`, out, "nothing was saved")
}

// TestJobCommands: a job's life through the CLI: queued and waited runs,
// an uploaded file, the run's record and downloads, update, enable,
// disable, duplicate and delete.
func TestJobCommands(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	spec := filepath.Join(dir, "job.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"version": 1, "name": "quickstart", "tags": ["quickstart"]}`), 0o600))
	first, update := filepath.Join(dir, "contacts.csv"), filepath.Join(dir, "contacts-update.csv")

	code, out, stderr := cli(t, "job", "create", "-store", store, "-source", first, "-cadence", "daily at 09:00", "-tz", "Europe/Berlin", "-disabled", spec)
	require.Equal(t, 0, code, stderr)
	id := strings.TrimSpace(out)

	// A queued run waits for a scheduler; job run -wait runs it before its own.
	code, out, stderr = cli(t, "job", "run", "-store", store, id)
	require.Equal(t, 0, code, stderr)
	queued := strings.TrimSpace(out)
	code, out, stderr = cli(t, "run", "show", "-store", store, "-json", queued)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"status": "queued"`)
	code, out, stderr = cli(t, "job", "run", "-store", store, "-file", update, "-wait", id)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `job "quickstart", run \S+\n  status\s+succeeded`, out)
	assert.Regexp(t, `created\s+2\n\s+updated\s+2\n\s+unchanged\s+1`, out, "the upload, after the queued run of the job's file")

	code, out, stderr = cli(t, "job", "runs", "-store", store, "-json", id)
	require.Equal(t, 0, code, stderr)
	var runs []struct {
		ID, Status, Trigger, Input string
		Created, Rejected          int64
	}
	require.NoError(t, json.Unmarshal([]byte(out), &runs))
	require.Len(t, runs, 2)
	assert.Equal(t, "upload", runs[0].Trigger, "newest first")
	assert.Equal(t, "file://"+update, runs[0].Input)
	assert.Equal(t, queued, runs[1].ID)
	assert.Equal(t, "partially_succeeded", runs[1].Status)
	assert.Equal(t, [2]int64{8, 3}, [2]int64{runs[1].Created, runs[1].Rejected})

	// Each run's file and rejected rows.
	code, out, stderr = cli(t, "run", "download", "-store", store, runs[0].ID, "source", "-")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, readFile(t, update), out)
	rejects := filepath.Join(dir, "rejects.csv")
	code, _, stderr = cli(t, "run", "download", "-store", store, queued, "rejects", rejects)
	require.Equal(t, 0, code, stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(readFile(t, rejects)), "\n"), 4, "a header and the three rejected rows")
	code, _, stderr = cli(t, "run", "download", "-store", store, runs[0].ID, "rejects", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "kept no rejected rows")
	code, out, stderr = cli(t, "run", "show", "-store", store, queued)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `job\s+`+id+` quickstart`, out)
	assert.Regexp(t, `rejected\s+3`, out)

	// Settings.
	code, _, stderr = cli(t, "job", "update", "-store", store, "-cadence", "every 15m", id)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, "job", "enable", "-store", store, id)
	require.Equal(t, 0, code, stderr)
	code, out, stderr = cli(t, "job", "show", "-store", store, id)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `schedule\s+every 15m \(Europe/Berlin\)`, out)
	assert.Regexp(t, `state\s+enabled`, out)
	assert.Contains(t, out, `"tags": [`)
	newSpec := filepath.Join(dir, "new.json")
	require.NoError(t, os.WriteFile(newSpec, []byte(`{"version": 1, "action": "update_only", "sync": ["emial"]}`), 0o600))
	code, _, stderr = cli(t, "job", "update", "-store", store, id, newSpec)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `new.json: $.sync[0]: "emial" is not a field of contact`)

	code, out, stderr = cli(t, "job", "duplicate", "-store", store, id)
	require.Equal(t, 0, code, stderr)
	copyID := strings.TrimSpace(out)
	code, out, stderr = cli(t, "job", "list", "-store", store)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, id+`\s+quickstart\s+contact\s+every 15m \(Europe/Berlin\)\s+\S+\s+enabled`, out)
	assert.Regexp(t, copyID+`\s+quickstart \(copy\)\s+contact\s+every 15m \(Europe/Berlin\)\s+—\s+disabled`, out)
	code, _, stderr = cli(t, "job", "delete", "-store", store, copyID)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, "job", "show", "-store", store, copyID)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no job "+copyID)

	// Usage errors.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"job"}, "job needs a subcommand"},
		{[]string{"job", "frob"}, `unknown job command "frob"`},
		{[]string{"job", "run", "-store", "memory:", id}, "-store memory: keeps nothing between commands"},
		{[]string{"job", "update", "-store", store, id}, "changes nothing"},
		{[]string{"run", "download", "-store", store, queued, "everything", "-"}, "download source"},
		{[]string{"run"}, "run needs a subcommand"},
	} {
		code, _, stderr := cli(t, tc.args...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
}

// TestJobRunWithoutSource: a job without a source runs uploaded files.
func TestJobRunWithoutSource(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	spec := filepath.Join(dir, "job.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"version": 1, "action": "add_only"}`), 0o600))
	code, out, stderr := cli(t, "job", "create", "-store", store, spec)
	require.Equal(t, 0, code, stderr)
	id := strings.TrimSpace(out)
	code, _, stderr = cli(t, "job", "run", "-store", store, "-wait", id)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "has no source: give -file FILE")
	code, out, stderr = cli(t, "job", "run", "-store", store, "-wait", "-json", "-file", filepath.Join(dir, "contacts.csv"), id)
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 8, decodeReport(t, out).Created)

	// A run that fails prints its error once, on stderr, and exits 1.
	empty := filepath.Join(dir, "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	code, out, stderr = cli(t, "job", "run", "-store", store, "-wait", "-file", empty, id)
	assert.Equal(t, 1, code)
	assert.Equal(t, 1, strings.Count(out+stderr, ": file is empty"), "stdout %q, stderr %q", out, stderr)
}
