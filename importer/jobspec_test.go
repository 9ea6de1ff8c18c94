package importer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/require"
)

// fullSpec is a job spec that uses what the Go Job can: rules, a merge
// policy with a per-field rule, consent, lists and tags, links.
const fullSpec = `{
  "version": 1,
  "name": "weekly CRM sync",
  "object": "contact",
  "source": {"delimiter": "auto", "encoding": "auto", "header": true},
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
  "reason": "", "actor": "ops", "unlink": "keep"
}`

func TestParseJobSpecRoundTrips(t *testing.T) {
	t.Parallel()
	spec, err := importer.ParseJobSpec([]byte(fullSpec))
	require.NoError(t, err)
	require.Equal(t, []string{"contact_id", "email"}, spec.Rules)
	require.Equal(t, identity.MergeFillEmpty, spec.Merge.Default)
	out, err := spec.MarshalIndent()
	require.NoError(t, err)
	back, err := importer.ParseJobSpec(out)
	require.NoError(t, err)
	require.Equal(t, spec, back)
	// Without "version", a spec is version 1.
	spec, err = importer.ParseJobSpec([]byte(`{"action": "add_only", "sync": ["email"]}`))
	require.NoError(t, err)
	require.Equal(t, 1, spec.Version)
}

// TestParseJobSpecReportsEveryProblem: each problem once, with its JSON path.
func TestParseJobSpecReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := importer.ParseJobSpec([]byte(`{"version": 1, "emial": "x", "source": {"delim": ";"}, "merge": {"default": 3}, "consent": [{"nme": "sms"}]}`))
	var es importer.SpecErrors
	require.ErrorAs(t, err, &es)
	paths := func(es importer.SpecErrors) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Path)
		}
		return out
	}
	require.Equal(t, []string{"$.emial", "$.source.delim", "$.merge.default", "$.consent[0].nme"}, paths(es), "%v", err)

	_, err = importer.ParseJobSpec([]byte(`{"version": 1, "action": "upsert", "on_match": "delete", "sync": ["email"],
		"rules": ["contact_id;", "md5(email"], "duplicates": "some", "merge": {"default": "newer", "fields": {"city": "loudest"}},
		"links": ["account_id", "account_id"], "on_unknown": "maybe", "unlink": "cut", "source": {"delimiter": "colon", "encoding": "ebcdic"}}`))
	require.ErrorAs(t, err, &es)
	require.Equal(t, []string{"$.source.delimiter", "$.source.encoding", "$.action", "$.action", "$.reason",
		"$.rules", "$.rules[0]", "$.rules[1]", "$.duplicates", "$.merge.default", "$.merge.fields.city",
		"$.links", "$.on_unknown", "$.unlink"}, paths(es), "%v", err)
	require.Contains(t, err.Error(), "$.action: unknown action \"upsert\"")

	_, err = importer.ParseJobSpec([]byte(`{"version": 1, "on_match": "merge", "on_no_match": "ignore"}`))
	require.ErrorAs(t, err, &es)
	require.Equal(t, []string{"$.on_match", "$.on_no_match"}, paths(es), "%v", err)

	for _, bad := range []string{`[]`, `{"version": 9}`, `{"version": 1, "sync": "email"}`, `{"version": 1, "mapping": {"columns": 3}}`} {
		_, err := importer.ParseJobSpec([]byte(bad))
		require.Error(t, err, bad)
		require.ErrorAs(t, err, &es, bad)
	}
}

// TestJobSpecAgainstTheStore: the fields a spec names must exist in the
// schema of the store's object type.
func TestJobSpecAgainstTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { mem.Close() })
	spec, err := importer.ParseJobSpec([]byte(`{"version": 1, "sync": ["emial"], "merge": {"fields": {"town": "overwrite"}, "by": "when"}}`))
	require.NoError(t, err, "nothing a spec alone can tell is wrong")
	err = spec.ValidateFor(ctx, mem)
	var es importer.SpecErrors
	require.ErrorAs(t, err, &es)
	require.Len(t, es, 3, "%v", err)
	require.Equal(t, "$.sync[0]", es[0].Path)
	require.Contains(t, es[0].Message, `"emial" is not a field of contact`)
	require.Equal(t, "$.merge.fields.town", es[1].Path)
	require.Equal(t, "$.merge.by", es[2].Path)

	spec, err = importer.ParseJobSpec([]byte(`{"version": 1, "object": "ticket"}`))
	require.NoError(t, err)
	require.ErrorAs(t, spec.ValidateFor(ctx, mem), &es)
	require.Equal(t, "$.object", es[0].Path)
}

// TestJobSpecRunsAsTheGoJob: a spec and the Job a Go caller writes for the
// same import give the same outcomes and the same stored records.
func TestJobSpecRunsAsTheGoJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	seedAccounts := "account_id,name\nA1,Acme\n"
	seedContacts := "contact_id,email,first_name,city\nc1,ann@x.io,,Bonn\nc2,ben@x.io,Ben,Oslo\n"
	file := "contact_id,email,first_name,city,account_id\n" +
		"c1,ann@x.io,Ann,Köln,A1\n" + // fill_empty: first name filled; city overwrite
		"c2,ben@x.io,Benjamin,,A9\n" + // first name kept; unknown account kept empty
		",new@x.io,New,Rome,\n" +
		"c3,new@x.io,,Paris,\n" // the same record by email: merged
	run := func(job func(s sink.Sink) importer.Job) (*importer.Report, map[string]*intake.Record) {
		mem := memory.New(memory.Config{})
		t.Cleanup(func() { mem.Close() })
		runJob(t, importer.Config{Sink: mem}, importer.Job{Source: csvSource(t, "a.csv", seedAccounts), Schema: intake.AccountSchema(), Action: identity.Create, Identity: importer.SyncOn("account_id")})
		seed(t, mem, intake.ContactSchema(), seedContacts)
		rep := runJob(t, importer.Config{Sink: mem}, job(mem))
		stored, err := mem.Schema(ctx, intake.ObjectContact)
		require.NoError(t, err)
		return rep, byEmail(t, mem, stored)
	}
	specRep, specRecs := run(func(s sink.Sink) importer.Job {
		spec, err := importer.ParseJobSpec([]byte(fullSpec))
		require.NoError(t, err)
		job, err := spec.Job(ctx, s, csvSource(t, "f.csv", file))
		require.NoError(t, err)
		return job
	})
	goRep, goRecs := run(func(s sink.Sink) importer.Job {
		m, err := mapping.LoadSpec(strings.NewReader(`{"columns": [{"source": "email", "field": "email"}, {"source": "contact_id", "field": "contact_id"},
			{"source": "first_name", "field": "first_name"}, {"source": "city", "field": "city"}, {"source": "account_id", "field": "account_id"}]}`))
		require.NoError(t, err)
		accounts, err := s.(sink.SchemaReader).Schema(ctx, intake.ObjectAccount)
		require.NoError(t, err)
		schema, err := m.MergeSchema(nil)
		require.NoError(t, err)
		schema, err = identity.ConsentFields(schema, identity.Channel{Name: "email"})
		require.NoError(t, err)
		return importer.Job{
			Name: "weekly CRM sync", Source: csvSource(t, "f.csv", file), Schema: schema, Mapping: m,
			Action: identity.AddAndUpdate, Identity: importer.Rules(intake.Keys("contact_id"), intake.Keys("email")),
			Duplicates:  identity.DuplicatesMerge,
			Merge:       identity.MergePolicy{Default: identity.MergeFillEmpty, Fields: []identity.FieldMerge{{Field: "city", Rule: identity.MergeOverwrite}}},
			Consent:     []identity.Channel{{Name: "email"}},
			Memberships: []importer.Membership{{Field: "lists", Values: []string{"newsletter"}}, {Field: "tags", Values: []string{"fair-2026"}}},
			Links:       []importer.Link{{Field: "account_id", Object: intake.ObjectAccount, Schema: accounts, Missing: importer.MissingEmpty}},
			AccountLink: importer.MissingEmpty, Actor: "ops", Unlink: importer.UnlinkKeep,
		}
	})
	require.Equal(t, outcomes(goRep), outcomes(specRep))
	require.Equal(t, goRep.Links, specRep.Links)
	require.Equal(t, [2]int64{1, 3}, [2]int64{specRep.Created, specRep.Updated}, "%+v", specRep)
	require.Len(t, specRecs, 3)
	for email, want := range goRecs {
		got := specRecs[email]
		require.NotNil(t, got, email)
		for _, f := range []string{"first_name", "city", "account_id", "lists", "tags", "contact_id", "email_consent"} {
			require.Equal(t, want.Get(f).String(), got.Get(f).String(), "%s %s", email, f)
		}
		require.Equal(t, want.Get("account_record_id").IsNull(), got.Get("account_record_id").IsNull(), "%s account_record_id", email)
	}
	require.Equal(t, "Ann", specRecs["ann@x.io"].Get("first_name").String())
	require.Equal(t, "Köln", specRecs["ann@x.io"].Get("city").String())
	require.Equal(t, "Ben", specRecs["ben@x.io"].Get("first_name").String())
	require.NotEmpty(t, specRecs["ann@x.io"].Get("account_record_id").String())
	require.Equal(t, "newsletter", specRecs["new@x.io"].Get("lists").String())
}

// TestJobSpecRefusesWhatCannotRun: an activity's profile cannot be left
// empty, a file without a header row needs a mapping by index, and a
// custom type's missing key names the fields to choose from; a consent
// channel's override_on_no_change reads back.
func TestJobSpecRefusesWhatCannotRun(t *testing.T) {
	t.Parallel()
	var es importer.SpecErrors
	_, err := importer.ParseJobSpec([]byte(`{"version": 1, "object": "activity", "on_unknown": "empty", "source": {"header": false}}`))
	require.ErrorAs(t, err, &es)
	require.Len(t, es, 2, "%v", err)
	require.Equal(t, "$.on_unknown", es[0].Path)
	require.Contains(t, es[0].Message, "always has a profile")
	require.Equal(t, "$.source.header", es[1].Path)
	require.Contains(t, es[1].Message, "1-based indexes")

	_, err = importer.ParseJobSpec([]byte(`{"version": 1, "source": {"header": false}, "mapping": {"columns": [{"index": 1, "field": "email"}]}}`))
	require.NoError(t, err)

	spec, err := importer.ParseJobSpec([]byte(`{"version": 1, "consent": [{"name": "sms", "source": "List Import", "override_on_no_change": true}]}`))
	require.NoError(t, err)
	require.True(t, spec.Consent[0].OverrideOnNoChange)

	ctx := context.Background()
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { mem.Close() })
	spec, err = importer.ParseJobSpec([]byte(`{"version": 1, "mapping": {"object": {"name": "ticket"}, "fields": [{"name": "ticket_no", "type": "id"}, {"name": "subject", "type": "text"}],
		"columns": [{"source": "Ticket", "field": "ticket_no"}]}}`))
	require.NoError(t, err)
	require.ErrorAs(t, spec.ValidateFor(ctx, mem), &es)
	require.Equal(t, "$.sync", es[0].Path)
	require.Contains(t, es[0].Message, "(ticket_no, subject)")
}

// TestJobSpecActivitiesAreAppendOnly: an activity spec whose action would
// update, opt out or create nothing is refused where it says so.
func TestJobSpecActivitiesAreAppendOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ spec, path string }{
		{`{"object": "activity", "action": "update_only"}`, "$.action"},
		{`{"object": "activity", "on_match": "update"}`, "$.on_match"},
		{`{"object": "activity", "allow_new_records": false}`, "$.allow_new_records"},
		{`{"mapping": {"object": {"name": "activity"}, "columns": [{"source": "id", "field": "event_id"}]}, "action": "opt_out"}`, "$.action"},
		{`{"object": "activity"}`, ""},
		{`{"object": "activity", "action": "create"}`, ""},
		{`{"object": "activity", "on_match": "skip"}`, ""},
		{`{"object": "contact", "action": "update_only"}`, ""},
	} {
		_, err := importer.ParseJobSpec([]byte(tc.spec))
		if tc.path == "" {
			require.NoError(t, err, tc.spec)
			continue
		}
		var es importer.SpecErrors
		require.ErrorAs(t, err, &es, tc.spec)
		require.Len(t, es, 1, "%s: %v", tc.spec, err)
		require.Equal(t, tc.path, es[0].Path, tc.spec)
		require.Contains(t, es[0].Message, "append-only", tc.spec)
	}
}

// TestJobSpecEveryProblemAtOnce: a spec with a wrong action and a field
// the store lacks gets both reported, by ParseJobSpec and ValidateFor
// together, each once.
func TestJobSpecEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	spec, err := importer.ParseJobSpec([]byte(`{"version": 1, "action": "upsert", "sync": ["emial", "e mail"], "merge": {"default": "loudest", "fields": {"town": "overwrite"}}}`))
	var es importer.SpecErrors
	require.ErrorAs(t, err, &es)
	require.NotNil(t, spec, "the spec decoded: it is returned with its problems")
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { mem.Close() })
	err = spec.ValidateFor(context.Background(), mem)
	require.ErrorAs(t, err, &es)
	var got []string
	for _, e := range es {
		got = append(got, e.Path)
	}
	require.Equal(t, []string{"$.action", "$.sync[1]", "$.merge.default", "$.sync[0]", "$.merge.fields.town"}, got, "%v", err)

	// Without a schema to check against, the spec's own problems only.
	spec, err = importer.ParseJobSpec([]byte(`{"version": 1, "object": "Not A Name", "sync": ["emial"]}`))
	require.Error(t, err)
	err = spec.ValidateFor(context.Background(), mem)
	require.ErrorAs(t, err, &es)
	require.Len(t, es, 1, "%v", err)
	require.Equal(t, "$.object", es[0].Path)

	_, err = importer.ParseJobSpec([]byte(`{"version": 1, "emial": 1}`))
	require.Error(t, err)
}

// TestJobSpecActionAndIdentity: what a spec says of the record action and
// the identity becomes Job.Action and Job.Identity, one field each.
func TestJobSpecActionAndIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { mem.Close() })
	for _, tc := range []struct {
		spec     string
		action   identity.Matrix
		identity string
	}{
		{`{}`, identity.Matrix{}, "default"},
		{`{"action": "create"}`, identity.Create, "default"},
		{`{"action": "add_only", "sync": ["phone"]}`, identity.AddOnly, "phone"},
		{`{"action": "create", "allow_new_records": false}`, identity.Matrix{OnMatch: identity.MatchSkip, OnNoMatch: identity.NoMatchSkip}, "default"},
		{`{"action": "add_and_update", "allow_new_records": false}`, identity.UpdateOnly, "default"},
		{`{"on_match": "inactivate", "reason": "r", "rules": ["contact_id", "email"]}`,
			identity.Matrix{OnMatch: identity.MatchInactivate, OnNoMatch: identity.NoMatchCreate}, "contact_id, else email"},
		{`{"object": "account"}`, identity.Matrix{}, "default"},
	} {
		spec, err := importer.ParseJobSpec([]byte(tc.spec))
		require.NoError(t, err, tc.spec)
		job, err := spec.Job(ctx, mem, nil)
		require.NoError(t, err, tc.spec)
		require.Equal(t, tc.action, job.Action, tc.spec)
		require.Equal(t, tc.identity, job.Identity.String(), tc.spec)
		if job.Identity.IsZero() && job.Schema.Object() == intake.ObjectAccount {
			require.Equal(t, "account_id", job.WithDefaults().Identity.String(), "an account job's default")
		}
		if job.Action != (identity.Matrix{}) {
			require.NoError(t, job.Action.Validate(), tc.spec)
		}
	}
}

func TestJobSpecEmptySyncCreatesEveryRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec, err := importer.ParseJobSpec([]byte(`{"action": "create", "sync": []}`))
	require.NoError(t, err)
	require.NotNil(t, spec.Sync)
	out, err := spec.MarshalIndent()
	require.NoError(t, err)
	require.Contains(t, string(out), `"sync": []`, "an empty sync survives a round trip")
	again, err := importer.ParseJobSpec(out)
	require.NoError(t, err)
	require.NotNil(t, again.Sync)

	mem := memory.New(memory.Config{})
	src, err := connector.NewCSV(strings.NewReader("email,first_name\nann@x.io,Ann\nann@x.io,Ann\n,Nobody\n"), connector.CSVConfig{Name: "a.csv"})
	require.NoError(t, err)
	job, err := spec.Job(ctx, mem, src)
	require.NoError(t, err)
	require.True(t, job.Identity.None())
	im, err := importer.New(importer.Config{Sink: mem})
	require.NoError(t, err)
	rep, err := im.Run(ctx, job)
	require.NoError(t, err)
	require.EqualValues(t, 3, rep.Created, "every row is a new record: %+v", rep)

	for _, tc := range []struct{ in, path string }{
		{`{"action": "add_and_update", "sync": []}`, "$.sync"},
		{`{"action": "opt_out", "sync": []}`, "$.sync"},
		{`{"sync": [], "rules": ["email"]}`, "$.rules"},
	} {
		_, err := importer.ParseJobSpec([]byte(tc.in))
		var es importer.SpecErrors
		require.ErrorAs(t, err, &es, tc.in)
		require.Equal(t, tc.path, es[0].Path, tc.in)
	}
	for _, ok := range []string{`{"action": "add_only", "sync": []}`, `{"object": "activity", "sync": []}`} {
		_, err := importer.ParseJobSpec([]byte(ok))
		require.NoError(t, err, ok)
	}
}
