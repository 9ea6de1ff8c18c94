package importer_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// headerCountingSource counts the calls of Header: a job that Run refuses
// is refused before its source is read.
type headerCountingSource struct {
	connector.Source
	headers int
	closed  bool
}

func (h *headerCountingSource) Header(ctx context.Context) ([]string, error) {
	h.headers++
	return h.Source.Header(ctx)
}

func (h *headerCountingSource) Close() error {
	h.closed = true
	return h.Source.Close()
}

// TestJobProblemsAtOnce: Run reports every problem of a job in one error,
// each naming the option to change, before it reads the source, and
// closes the source all the same.
func TestJobProblemsAtOnce(t *testing.T) {
	t.Parallel()
	im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
	require.NoError(t, err)
	src := &headerCountingSource{Source: csvSource(t, "f.csv", "email,type\na@example.com,visit\n")}
	job := importer.Job{
		Source:     src,
		Schema:     intake.ActivitySchema(),
		Action:     identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip},
		Duplicates: "second",
		Explain:    -1,
		Unlink:     "cascade",
		Profile:    &importer.ProfileLink{Missing: importer.MissingEmpty},
		Links:      []importer.Link{{Field: "account_id", Object: "account", Missing: "maybe"}, {Field: "owner"}},
	}
	rep, err := im.Run(context.Background(), job)
	require.Error(t, err)
	for _, want := range []string{
		`unknown duplicates policy "second"`,
		"delete needs a reason",
		"Job.Explain -1 is negative",
		`unknown Job.Unlink "cascade"`,
		"activities are append-only",
		"an activity always has a profile",
		"importer: link account_id: unknown missing-target policy",
		"Job.Links[1]: set Field",
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.ErrorIs(t, err, importer.ErrAppendOnly)
	assert.Equal(t, importer.StatusFailed, rep.Status)
	assert.Zero(t, src.headers, "the source is not read")
	assert.True(t, src.closed, "Run closes the source of a job it refuses")

	// A problem of the profile link alone: found before the header is read.
	src = &headerCountingSource{Source: csvSource(t, "f.csv", "email,type\na@example.com,visit\n")}
	_, err = im.Run(context.Background(), importer.Job{Source: src, Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{Missing: importer.MissingEmpty}})
	assert.ErrorContains(t, err, "an activity always has a profile")
	assert.Zero(t, src.headers, "the source is not read")

	_, err = im.Run(context.Background(), importer.Job{Action: identity.UpdateOnly, Identity: importer.NoSync()})
	assert.ErrorIs(t, err, importer.ErrNoSource)
	assert.ErrorContains(t, err, "needs sync fields", "with the job's other problems")
}

// TestJobWithDefaults: the defaults Run fills in, per object type, leaving
// the caller's job and profile link as they are.
func TestJobWithDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		job      importer.Job
		action   identity.Matrix
		identity string
	}{
		{"contact", importer.Job{}, identity.AddAndUpdate, "email"},
		{"account", importer.Job{Schema: intake.AccountSchema()}, identity.AddAndUpdate, "account_id"},
		{"activity", importer.Job{Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}}, identity.AddOnly, "event_id (when mapped)"},
		{"activity without a profile link", importer.Job{Schema: intake.ActivitySchema()}, identity.AddAndUpdate, "email"},
		{"given", importer.Job{Schema: intake.AccountSchema(), Action: identity.OptOut, Identity: importer.SyncOn("domain")}, identity.OptOut, "domain"},
	} {
		d := tc.job.WithDefaults()
		assert.Equal(t, tc.action, d.Action, tc.name)
		assert.Equal(t, tc.identity, d.Identity.String(), tc.name)
		assert.NotNil(t, d.Schema, tc.name)
		assert.Equal(t, importer.MissingEmpty, d.AccountLink, tc.name)
		assert.Equal(t, importer.UnlinkKeep, d.Unlink, tc.name)
	}
	p := &importer.ProfileLink{}
	d := importer.Job{Profile: p}.WithDefaults()
	assert.Equal(t, importer.ProfileLink{Object: intake.ObjectContact, Field: "profile_id"}, *d.Profile)
	assert.Equal(t, importer.ProfileLink{}, *p, "the caller's profile link is not changed")
}

// TestAccountsSyncOnAccountID: an account job without Identity matches
// accounts by account_id, their key, as the spec and the CLI do.
func TestAccountsSyncOnAccountID(t *testing.T) {
	t.Parallel()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			job := func(data string) importer.Job {
				return importer.Job{Source: csvSource(t, "accounts.csv", data), Schema: intake.AccountSchema()}
			}
			rep := runJob(t, importer.Config{Sink: s}, job("account_id,name\nA-1,Acme\nA-2,Globex\n"))
			assert.Equal(t, int64(2), rep.Created)
			rep = runJob(t, importer.Config{Sink: s}, job("account_id,name\nA-1,Acme Inc\nA-3,Initech\n"))
			assert.Equal(t, [2]int64{1, 1}, [2]int64{rep.Created, rep.Updated})
		})
	}
}

// A job with only its source set, and the defaults Run gives it: a
// contact job, add_and_update, synced on email; an activity job with a
// profile link is add_only, synced on event_id when the file has it.
func ExampleJob_WithDefaults() {
	for _, job := range []importer.Job{
		{},
		{Schema: intake.AccountSchema()},
		{Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}},
		{Action: identity.Create, Identity: importer.NoSync()},
		{Action: identity.Matrix{OnMatch: identity.MatchInactivate, OnNoMatch: identity.NoMatchSkip}, Identity: importer.Rules(intake.Keys("contact_id"), intake.Keys("email"))},
	} {
		d := job.WithDefaults()
		fmt.Printf("%s: %s, sync on %s\n", d.Schema.Object(), d.Action, d.Identity)
	}
	// Output:
	// contact: add_and_update, sync on email
	// account: add_and_update, sync on account_id
	// activity: add_only, sync on event_id (when mapped)
	// contact: create, sync on none
	// contact: on match: inactivate, on no match: skip, sync on contact_id, else email
}
