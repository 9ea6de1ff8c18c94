package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The report names every column that no field takes, and tells those a
// mapping spec skips on purpose from the others.
func TestReportIgnoredColumns(t *testing.T) {
	t.Parallel()
	const data = "email,first_name,Notes,,Fax\na@x.example,Ann,hi,?,n/a\n"
	tests := []struct {
		name             string
		data             string
		noHeader         bool
		job              importer.Job
		ignored, skipped []string
		text             []string
	}{
		{name: "suggested", data: data,
			ignored: []string{"Notes", "#4", "Fax"},
			text:    []string{`ignored columns  "Notes", "#4", "Fax": not imported, no field takes them`}},
		{name: "spec", data: data,
			job: importer.Job{Mapping: &mapping.Spec{Columns: []mapping.Column{
				{Source: "email", Field: "email"}, {Source: "notes", Skip: true}, {Index: 4, Skip: true}}}},
			ignored: []string{"first_name", "Notes", "#4", "Fax"}, skipped: []string{"Notes", "#4"},
			text: []string{`ignored columns  "first_name", "Fax": not imported`, `skipped columns  "Notes", "#4": not imported, the mapping spec skips them`}},
		{name: "no header", data: "a@x.example,Ann,hi,x\nb@x.example,Bob,ho,y\n", noHeader: true,
			job: importer.Job{Mapping: &mapping.Spec{Columns: []mapping.Column{
				{Index: 1, Field: "email"}, {Index: 3, Skip: true}}}},
			ignored: []string{"#2", "#3", "#4"}, skipped: []string{"#3"}},
		{name: "every column mapped", data: "email,first_name\na@x.example,Ann\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := tt.job
			src, err := connector.NewCSV(strings.NewReader(tt.data), connector.CSVConfig{Name: "f.csv", NoHeader: tt.noHeader})
			require.NoError(t, err)
			job.Source = src
			rep := runJob(t, importer.Config{Sink: memory.New(memory.Config{})}, job)
			assert.Equal(t, tt.ignored, rep.Source.Ignored)
			assert.Equal(t, tt.skipped, rep.Source.Skipped)
			var text bytes.Buffer
			require.NoError(t, rep.WriteText(&text))
			for _, want := range tt.text {
				assert.Contains(t, text.String(), want)
			}
			if tt.ignored == nil {
				assert.NotContains(t, text.String(), "columns")
			}
			js, err := json.Marshal(rep)
			require.NoError(t, err)
			var raw struct {
				Source map[string]any `json:"source"`
			}
			require.NoError(t, json.Unmarshal(js, &raw))
			if tt.ignored != nil {
				assert.Len(t, raw.Source["ignored"], len(tt.ignored), string(js))
			}
		})
	}
}

// hideSchemas is a sink that finds records by key but cannot tell the
// schemas it holds, as a host's table sink.
type hideSchemas struct {
	sink.Sink
	sink.Lookuper
}

// A contact file's account_id links to the store's accounts without a
// Link, keeps the reference of an account the store does not hold, and is
// kept in a store without accounts.
func TestAccountLinkByDefault(t *testing.T) {
	t.Parallel()
	const contacts = "email,first_name,account_id\nkim@acme.example,Kim,A-1\nnia@x.example,Nia,A-9\noli@x.example,Oli,\n"
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			cfg := importer.Config{Sink: s}
			runJob(t, cfg, importer.Job{Source: csvSource(t, "a.csv", accountsFile), Schema: intake.AccountSchema(), Identity: importer.SyncOn("account_id")})
			rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "c.csv", contacts)})
			assert.Equal(t, int64(3), rep.Created)
			assert.Equal(t, &importer.LinkCounts{Found: 1, Empty: 1}, rep.Links["account_id"])
			assert.Empty(t, rep.Source.Ignored)
			assert.Contains(t, rep.Source.Mapping, "account_id → account_id")

			accounts := scanObject(t, s, intake.AccountSchema(), "account_id")
			schema := intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(),
				intake.Field{Name: "account_id", Type: intake.TypeID}, intake.Field{Name: "account_record_id", Type: intake.TypeID})...)
			got := scanObject(t, s, schema, "email")
			require.Len(t, got, 3)
			assert.Equal(t, "A-1", got["kim@acme.example"].Get("account_id").String())
			assert.Equal(t, accounts["A-1"].ID, got["kim@acme.example"].Get("account_record_id").String())
			assert.Equal(t, "A-9", got["nia@x.example"].Get("account_id").String(), "an unknown account's reference is kept")
			assert.True(t, got["nia@x.example"].Get("account_record_id").IsNull())
			assert.True(t, got["oli@x.example"].Get("account_id").IsNull())

			// The job's policy for unknown accounts, as for any link.
			rep = runJob(t, cfg, importer.Job{Source: csvSource(t, "c.csv", contacts), AccountLink: importer.MissingReject})
			assert.Equal(t, int64(1), rep.Rejected)
			assert.Equal(t, int64(1), rep.Reasons[intake.CodeUnknownLink])
		})
	}
	t.Run("no accounts", func(t *testing.T) {
		t.Parallel()
		for name, s := range stores(t) {
			rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "c.csv", contacts)})
			assert.Equal(t, importer.StatusSucceeded, rep.Status, name)
			assert.Equal(t, int64(3), rep.Created, name)
			assert.Equal(t, &importer.LinkCounts{Empty: 2}, rep.Links["account_id"], name)
			schema := intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(), intake.Field{Name: "account_id", Type: intake.TypeID})...)
			got := byEmail(t, s, schema)
			assert.Equal(t, "A-9", got["nia@x.example"].Get("account_id").String(), name)
		}
	})
	t.Run("spec and header names", func(t *testing.T) {
		t.Parallel()
		s := memory.New(memory.Config{})
		cfg := importer.Config{Sink: s}
		runJob(t, cfg, importer.Job{Source: csvSource(t, "a.csv", accountsFile), Schema: intake.AccountSchema(), Identity: importer.SyncOn("account_id")})
		rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "c.csv", "E-Mail,Account ID\nkim@acme.example,A-1\n")})
		assert.Equal(t, &importer.LinkCounts{Found: 1}, rep.Links["account_id"], "a header named Account ID")
		rep = runJob(t, cfg, importer.Job{Source: csvSource(t, "c.csv", "mail,Firma\nlee@globex.example,A-2\n"),
			Mapping: &mapping.Spec{Columns: []mapping.Column{{Source: "mail", Field: "email"}, {Source: "Firma", Field: "account_id"}}}})
		assert.Equal(t, &importer.LinkCounts{Found: 1}, rep.Links["account_id"], "a spec that maps a column to account_id")
	})
	t.Run("not made", func(t *testing.T) {
		t.Parallel()
		textAccount := intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(), intake.Field{Name: "account_id", Type: intake.TypeText})...)
		for _, tc := range []struct {
			name    string
			sink    func(s *memory.Store) sink.Sink
			job     importer.Job
			ignored []string
			link    string
		}{
			{name: "turned off", job: importer.Job{NoAccountLink: true}, ignored: []string{"account_id"}},
			{name: "a sink that cannot tell its schemas", sink: func(s *memory.Store) sink.Sink { return hideSchemas{s, s} }, ignored: []string{"account_id"}},
			{name: "account_id of another type", job: importer.Job{Schema: textAccount}},
			{name: "another link writes account_record_id", job: importer.Job{
				Links:   []importer.Link{{Field: "first_name", Object: intake.ObjectAccount, Key: intake.Keys("name"), Missing: importer.MissingEmpty}},
				Mapping: &mapping.Spec{Columns: []mapping.Column{{Source: "email", Field: "email"}, {Source: "first_name", Field: "first_name"}}}},
				ignored: []string{"account_id"}, link: "first_name"},
		} {
			mem := memory.New(memory.Config{})
			var s sink.Sink = mem
			if tc.sink != nil {
				s = tc.sink(mem)
			}
			job := tc.job
			job.Source = csvSource(t, "c.csv", contacts)
			rep := runJob(t, importer.Config{Sink: s}, job)
			assert.Equal(t, int64(3), rep.Created, tc.name)
			assert.Nil(t, rep.Links["account_id"], tc.name)
			assert.Equal(t, tc.ignored, rep.Source.Ignored, tc.name)
			if tc.link != "" {
				assert.NotNil(t, rep.Links[tc.link], tc.name)
			}
		}
	})
}

// A job whose sync fields no column fills fails before its first row,
// naming them, instead of rejecting every row as missing_key.
func TestSyncFieldsMustBeMapped(t *testing.T) {
	t.Parallel()
	const data = "email,first_name\na@x.example,Ann\nb@x.example,Bob\n"
	md5Schema := intake.MustSchema(intake.ObjectContact, intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "email_md5", Type: intake.TypeText})
	tests := []struct {
		name string
		data string
		job  importer.Job
		err  []string // nil: the job runs
	}{
		{"sync field", data, importer.Job{Identity: importer.SyncOn("phone")}, []string{"phone", "missing_key", "email, first_name"}},
		{"default sync field", "first_name,city\nAnn,Berlin\n", importer.Job{}, []string{"fills email"}},
		{"composite key, one field", data, importer.Job{Identity: importer.SyncOn("first_name", "last_name")}, []string{"last_name", "sync key first_name+last_name", "incomplete"}},
		{"no rule mapped", data, importer.Job{Identity: importer.Rules(intake.Keys("contact_id"), intake.Keys("phone"))}, []string{"any identity rule (contact_id, phone)"}},
		{"a rule partly mapped", data, importer.Job{Identity: importer.Rules(intake.Keys("email"), intake.Keys("first_name", "last_name"))}, []string{"identity rule first_name+last_name", "last_name"}},
		{"one rule mapped", data, importer.Job{Identity: importer.Rules(intake.Keys("contact_id"), intake.Keys("email"), intake.Keys("phone"))}, nil},
		{"a constant", data, importer.Job{Identity: importer.SyncOn("city"), Mapping: &mapping.Spec{Columns: []mapping.Column{{Source: "email", Field: "email"}, {Field: "city", Const: "Berlin"}}}}, nil},
		{"md5 twin", "email_md5\n0c83f57c786a0b4a39efab23731c7ebc\n", importer.Job{Schema: md5Schema, Identity: importer.Rules(intake.KeySpec{Fields: []string{"email"}, MD5: true})}, nil},
		{"no sync", data, importer.Job{Action: identity.Create, Identity: importer.NoSync()}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for name, s := range stores(t) {
				job := tt.job
				job.Source = csvSource(t, "f.csv", tt.data)
				im, err := importer.New(importer.Config{Sink: s})
				require.NoError(t, err)
				rep, err := im.Run(context.Background(), job)
				if tt.err == nil {
					require.NoError(t, err, name)
					assert.Zero(t, rep.Rejected, name)
					continue
				}
				require.Error(t, err, name)
				assert.True(t, errors.Is(err, importer.ErrKeyNotMapped), err.Error())
				for _, want := range tt.err {
					assert.Contains(t, err.Error(), want, name)
				}
				assert.Equal(t, importer.StatusFailed, rep.Status, name)
				assert.Zero(t, rep.Rows, name)
				assert.Equal(t, 0, count(t, s), "%s: nothing is written", name)
			}
		})
	}
}

// A date column whose sample has one bad value in four imports the rows of
// the format the others show and rejects the one.
func TestDateFormatOfMostValues(t *testing.T) {
	t.Parallel()
	const data = "email,birthday\na@x.example,14.03.1985\nb@x.example,02.11.1990\nc@x.example,31/31/2000\nd@x.example,25.12.1970\n"
	s := memory.New(memory.Config{})
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", data)})
	assert.Equal(t, int64(3), rep.Created)
	assert.Equal(t, int64(1), rep.Rejected)
	require.Len(t, rep.Errors, 1)
	assert.Equal(t, 4, rep.Errors[0].Line)
	assert.Equal(t, intake.CodeInvalidDate, rep.Errors[0].Code)
	assert.Contains(t, rep.Errors[0].Message, "dd.MM.yyyy")
	got := byEmail(t, s, intake.ContactSchema())
	assert.Equal(t, "1985-03-14", got["a@x.example"].Get("birthday").String())
}
