package importer_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// objectStore is a store of several object types under test.
type objectStore interface {
	store
	sink.Getter
}

// objectStores returns the stores the object-type tests run on: a fresh
// memory store, a fresh SQLite file and, when INTAKE_TEST_POSTGRES is set,
// PostgreSQL in a schema of the test's own, dropped at its end. Tests
// with many subtests take one store per subtest instead (storeNames,
// newObjectStore), so that a PostgreSQL pool lives only as long as the
// subtest that uses it.
func objectStores(t *testing.T) map[string]objectStore {
	t.Helper()
	out := map[string]objectStore{}
	for _, name := range storeNames(t) {
		out[name] = newObjectStore(t, name)
	}
	return out
}

// storeNames names the stores the object-type tests run on: memory,
// sqlite and, when INTAKE_TEST_POSTGRES is set, postgres.
func storeNames(t *testing.T) []string {
	t.Helper()
	if !pgtest.Enabled(t) {
		return []string{"memory", "sqlite"}
	}
	return []string{"memory", "sqlite", "postgres"}
}

// newObjectStore returns a fresh store of the named kind (storeNames),
// closed (and its PostgreSQL schema dropped) at the end of t.
func newObjectStore(t *testing.T, name string) objectStore {
	t.Helper()
	ctx := context.Background()
	switch name {
	case "memory":
		mem := memory.New(memory.Config{})
		t.Cleanup(func() { mem.Close() })
		return mem
	case "sqlite":
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "intake.db"), sqlite.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	require.Equal(t, "postgres", name)
	pool, schema := pgtest.Pool(t)
	pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	return pg
}

// scanObject returns the stored records of schema's object type by the
// value of field.
func scanObject(t *testing.T, s objectStore, schema *intake.Schema, field string) map[string]*intake.Record {
	t.Helper()
	out := map[string]*intake.Record{}
	require.NoError(t, s.Scan(context.Background(), schema, func(r *intake.Record) error {
		out[r.Get(field).String()] = r.Clone()
		return nil
	}))
	return out
}

const (
	accountsFile = "account_id,name,domain,type\n" +
		"A-1,Acme,acme.example,customer\n" +
		"A-2,Globex,globex.example,partner\n" +
		"A-3,Initech,initech.example,customer\n"
	contactsFile = "email,first_name,account_id\n" +
		"kim@acme.example,Kim,A-1\n" +
		"lee@globex.example,Lee,A-2\n" +
		"max@acme.example,Max,A-1\n" +
		"nia@nowhere.example,Nia,A-9\n" + // unknown account: rejected
		"oli@initech.example,Oli,\n" // no account: imported without a link
	activitiesFile = "event_id,email,type,occurred_at,Page URL\n" +
		"e1,kim@acme.example,page_view,2026-03-01T10:00:00Z,/pricing\n" +
		"e2,KIM@acme.example,purchase,2026-03-01T10:05:00Z,/checkout\n" +
		"e3,lee@globex.example,page_view,2026-03-02T09:00:00Z,/\n" +
		"e4,ghost@nowhere.example,page_view,2026-03-02T09:30:00Z,/\n" + // unknown profile: rejected
		"e5,max@acme.example,login,2026-03-03T08:00:00Z,\n" +
		"e1,kim@acme.example,page_view,2026-03-01T10:00:00Z,/pricing\n" // the same event twice: duplicate
)

// importObjects imports the accounts, the contacts linked to them (an
// unknown account following missing) and the activities of those contacts
// into s, with the given batch size.
func importObjects(t *testing.T, s objectStore, batch int, missing importer.Missing) (accounts, contacts, activities *importer.Report) {
	t.Helper()
	cfg := importer.Config{Sink: s, BatchSize: batch}
	accounts = runJob(t, cfg, importer.Job{Source: csvSource(t, "accounts.csv", accountsFile), Schema: intake.AccountSchema(), Identity: importer.SyncOn("account_id")})
	contacts = runJob(t, cfg, importer.Job{
		Source: csvSource(t, "contacts.csv", contactsFile),
		Links:  []importer.Link{{Field: "account_id", Object: intake.ObjectAccount, Missing: missing}},
	})
	activities = runJob(t, cfg, activityJob(t, activitiesFile))
	return accounts, contacts, activities
}

func activityJob(t *testing.T, data string) importer.Job {
	return importer.Job{
		Source:       csvSource(t, "activities.csv", data),
		Schema:       intake.ActivitySchema(),
		Action:       identity.AddOnly,
		Identity:     importer.SyncOn("event_id"),
		Profile:      &importer.ProfileLink{},
		KeepUnmapped: true,
	}
}

// TestAccountsContactsActivities imports accounts, then contacts with
// account references, then activities for those contacts, on every store,
// and checks every link; a second import of the activities skips them all.
func TestAccountsContactsActivities(t *testing.T) {
	t.Parallel()
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			accRep, conRep, actRep := importObjects(t, s, 2, importer.MissingReject)
			assert.EqualValues(t, 3, accRep.Created)

			assert.EqualValues(t, 4, conRep.Created)
			assert.EqualValues(t, 1, conRep.Rejected)
			require.Len(t, conRep.Errors, 1)
			assert.Equal(t, intake.CodeUnknownLink, conRep.Errors[0].Code)
			assert.Equal(t, 5, conRep.Errors[0].Line)
			assert.Equal(t, "account_id", conRep.Errors[0].Field)
			assert.Equal(t, &importer.LinkCounts{Found: 3, Rejected: 1}, conRep.Links["account_id"])
			assert.Equal(t, map[string]*importer.ObjectCounts{intake.ObjectAccount: {Unchanged: 3}}, conRep.Objects)

			assert.EqualValues(t, 4, actRep.Created)
			assert.EqualValues(t, 2, actRep.Rejected)
			assert.EqualValues(t, map[intake.Code]int64{intake.CodeUnknownProfile: 1, intake.CodeDuplicate: 1}, actRep.Reasons)
			// The second e1 is a duplicate: its reference counts nowhere.
			assert.Equal(t, &importer.LinkCounts{Found: 4, Rejected: 1}, actRep.Links["profile"])
			assert.Equal(t, map[string]*importer.ObjectCounts{intake.ObjectContact: {Unchanged: 4}}, actRep.Objects)
			checkObjectLinks(t, s, importer.MissingReject)

			accounts := scanObject(t, s, intake.AccountSchema(), "account_id")
			require.Len(t, accounts, 3)
			contactSchema, err := intake.NewSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(),
				intake.Field{Name: "account_id", Type: intake.TypeID}, intake.Field{Name: "account_record_id", Type: intake.TypeID})...)
			require.NoError(t, err)
			contacts := scanObject(t, s, contactSchema, "email")
			require.Len(t, contacts, 4)
			for email, acc := range map[string]string{"kim@acme.example": "A-1", "lee@globex.example": "A-2", "max@acme.example": "A-1"} {
				c := contacts[email]
				require.NotNil(t, c, email)
				assert.Equal(t, acc, c.Get("account_id").String(), email)
				assert.Equal(t, accounts[acc].ID, c.Get("account_record_id").String(), "%s links to account %s", email, acc)
			}
			oli := contacts["oli@initech.example"]
			require.NotNil(t, oli)
			assert.True(t, oli.Get("account_record_id").IsNull(), "no reference, no link")

			activitySchema, err := intake.NewSchema(intake.ObjectActivity, append(intake.ActivitySchema().Fields(),
				intake.Field{Name: "profile_id", Type: intake.TypeID}, intake.Field{Name: "page_url", Type: intake.TypeText})...)
			require.NoError(t, err)
			events := scanObject(t, s, activitySchema, "event_id")
			require.Len(t, events, 4)
			for ev, email := range map[string]string{"e1": "kim@acme.example", "e2": "kim@acme.example", "e3": "lee@globex.example", "e5": "max@acme.example"} {
				assert.Equal(t, contacts[email].ID, events[ev].Get("profile_id").String(), "event %s belongs to %s", ev, email)
			}
			assert.Equal(t, "/pricing", events["e1"].Get("page_url").String(), "an unmapped column is kept as a property")
			assert.Equal(t, "purchase", events["e2"].Get("type").String())

			// The same file again: every event is there already.
			again := runJob(t, importer.Config{Sink: s, BatchSize: 2}, activityJob(t, activitiesFile))
			assert.EqualValues(t, 4, again.Skipped)
			assert.EqualValues(t, map[intake.Code]int64{intake.CodeExists: 4, intake.CodeUnknownProfile: 1, intake.CodeDuplicate: 1}, again.Reasons)
			assert.Len(t, scanObject(t, s, activitySchema, "event_id"), 4)
		})
	}
}

// TestLinkMissing checks each policy for a reference that finds no
// target, with a link by domain.
func TestLinkMissing(t *testing.T) {
	t.Parallel()
	const file = "email,company_domain\n" +
		"a@x.example,Acme.Example\n" + // found, whatever the case
		"b@x.example,new.example\n" +
		"c@x.example,NEW.example\n" + // the same unknown target
		"d@x.example,\n"
	for _, tc := range []struct {
		missing           importer.Missing
		created, rejected int64
		skipped           int64
		counts            importer.LinkCounts
		accounts          int
	}{
		{importer.MissingReject, 2, 2, 0, importer.LinkCounts{Found: 1, Rejected: 2}, 1},
		{importer.MissingSkip, 2, 0, 2, importer.LinkCounts{Found: 1, Skipped: 2}, 1},
		{importer.MissingEmpty, 4, 0, 0, importer.LinkCounts{Found: 1, Empty: 2}, 1},
		{importer.MissingCreate, 4, 0, 0, importer.LinkCounts{Found: 3, Created: 1}, 2},
	} {
		for _, batch := range []int{1, 2, 100} {
			for _, name := range storeNames(t) {
				t.Run(fmt.Sprintf("%s/%s/batch%d", tc.missing, name, batch), func(t *testing.T) {
					t.Parallel()
					s := newObjectStore(t, name)
					cfg := importer.Config{Sink: s, BatchSize: batch}
					runJob(t, cfg, importer.Job{Source: csvSource(t, "a.csv", "account_id,name,domain\nA-1,Acme,acme.example\n"), Schema: intake.AccountSchema(), Identity: importer.SyncOn("account_id")})
					job := importer.Job{
						Source: csvSource(t, "c.csv", file),
						Links:  []importer.Link{{Field: "company_domain", Object: intake.ObjectAccount, Key: intake.Keys("domain"), Missing: tc.missing}},
					}
					rep := runJob(t, cfg, job)
					assert.Equal(t, tc.created, rep.Created)
					assert.Equal(t, tc.rejected, rep.Rejected)
					assert.Equal(t, tc.skipped, rep.Skipped)
					assert.Equal(t, &tc.counts, rep.Links["company_domain"])
					accounts := scanObject(t, s, intake.AccountSchema(), "domain")
					assert.Len(t, accounts, tc.accounts)
					schema, err := intake.NewSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(),
						intake.Field{Name: "company_domain", Type: intake.TypeText}, intake.Field{Name: "account_record_id", Type: intake.TypeID})...)
					require.NoError(t, err)
					contacts := scanObject(t, s, schema, "email")
					assert.Equal(t, accounts["acme.example"].ID, contacts["a@x.example"].Get("account_record_id").String())
					if tc.missing == importer.MissingCreate {
						stub := accounts["new.example"]
						require.NotNil(t, stub, "a stub account keyed by the reference")
						assert.True(t, stub.Get("name").IsNull())
						for _, e := range []string{"b@x.example", "c@x.example"} {
							assert.Equal(t, stub.ID, contacts[e].Get("account_record_id").String(), e)
						}
					}
					if tc.missing == importer.MissingEmpty {
						assert.True(t, contacts["b@x.example"].Get("account_record_id").IsNull())
						assert.Equal(t, "new.example", contacts["b@x.example"].Get("company_domain").String(), "the reference stays as the file gave it")
					}
					assert.True(t, contacts["d@x.example"].Get("account_record_id").IsNull() || tc.missing == importer.MissingSkip)
				})
			}
		}
	}
}

// TestProfileMissing checks each policy for an activity whose profile is
// unknown; created profiles are found by later rows, in the same batch and
// in later ones, by any of their keys.
func TestProfileMissing(t *testing.T) {
	t.Parallel()
	const file = "email,contact_id,type\n" +
		"known@x.example,,visit\n" +
		"new@x.example,,visit\n" +
		"NEW@x.example,C-7,visit\n" + // the profile the row above creates
		",C-7,visit\n" + // found by its contact_id, which the row above does not give it: a new profile
		",,visit\n" // no key at all: rejected whatever the policy
	for _, tc := range []struct {
		missing                    importer.Missing
		created, skipped, rejected int64
		profiles                   int
	}{
		{importer.MissingReject, 1, 0, 4, 1},
		{importer.MissingSkip, 1, 3, 1, 1},
		{importer.MissingCreate, 4, 0, 1, 3},
	} {
		for _, batch := range []int{1, 2, 100} {
			for _, name := range storeNames(t) {
				t.Run(fmt.Sprintf("%s/%s/batch%d", tc.missing, name, batch), func(t *testing.T) {
					t.Parallel()
					s := newObjectStore(t, name)
					cfg := importer.Config{Sink: s, BatchSize: batch}
					seed(t, s, intake.ContactSchema(), "email,first_name\nknown@x.example,Kim\n")
					rep := runJob(t, cfg, importer.Job{
						Source:   csvSource(t, "ev.csv", file),
						Schema:   intake.ActivitySchema(),
						Action:   identity.Create,
						Identity: importer.NoSync(),
						Profile:  &importer.ProfileLink{Missing: tc.missing},
					})
					assert.Equal(t, tc.created, rep.Created)
					assert.Equal(t, tc.skipped, rep.Skipped)
					assert.Equal(t, tc.rejected, rep.Rejected)
					assert.EqualValues(t, 1, rep.Reasons[intake.CodeMissingKey])
					contacts := scanObject(t, s, intake.ContactSchema(), "email")
					assert.Len(t, contacts, tc.profiles)
					if tc.missing != importer.MissingCreate {
						return
					}
					assert.EqualValues(t, 2, rep.Links["profile"].Created)
					fresh := contacts["new@x.example"]
					require.NotNil(t, fresh, "a minimal profile with the row's email")
					schema, err := intake.NewSchema(intake.ObjectActivity, append(intake.ActivitySchema().Fields(), intake.Field{Name: "profile_id", Type: intake.TypeID})...)
					require.NoError(t, err)
					var owners []string
					require.NoError(t, s.Scan(context.Background(), schema, func(r *intake.Record) error {
						owners = append(owners, r.Get("profile_id").String())
						return nil
					}))
					require.Len(t, owners, 4)
					assert.Equal(t, contacts["known@x.example"].ID, owners[0])
					assert.Equal(t, fresh.ID, owners[1])
					assert.Equal(t, fresh.ID, owners[2], "a later row finds the created profile by its email")
					assert.NotEqual(t, fresh.ID, owners[3], "the created profile has no contact_id: C-7 is another profile")
					assert.Equal(t, "C-7", contacts[""].Get("contact_id").String())
				})
			}
		}
	}
}

// TestLinksDryRun counts what a real run would, writes nothing, and
// remembers the targets it would create for the whole run.
func TestLinksDryRun(t *testing.T) {
	t.Parallel()
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			rep := runJob(t, importer.Config{Sink: s, BatchSize: 1}, importer.Job{
				Source: csvSource(t, "c.csv", "email,account_id\na@x.example,A-1\nb@x.example,A-1\n"),
				Links:  []importer.Link{{Field: "account_id", Object: intake.ObjectAccount, Missing: importer.MissingCreate}},
				DryRun: true,
			})
			assert.EqualValues(t, 2, rep.Created)
			assert.Equal(t, &importer.LinkCounts{Found: 2, Created: 1}, rep.Links["account_id"])
			assert.Empty(t, scanObject(t, s, intake.AccountSchema(), "account_id"))
			assert.Empty(t, scanObject(t, s, intake.ContactSchema(), "email"))
		})
	}
}

func TestLinkJobErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		job  importer.Job
		want string
	}{
		{"update activities", importer.Job{Schema: intake.ActivitySchema(), Action: identity.AddAndUpdate, Profile: &importer.ProfileLink{}}, "append-only"},
		{"empty profile", importer.Job{Schema: intake.ActivitySchema(), Action: identity.Create, Identity: importer.NoSync(), Profile: &importer.ProfileLink{Missing: importer.MissingEmpty}}, "always has a profile"},
		{"unknown policy", importer.Job{Links: []importer.Link{{Field: "account_id", Object: "account", Missing: "maybe"}}}, "unknown missing-target policy"},
		{"no object", importer.Job{Links: []importer.Link{{Field: "account_id"}}}, "set Field"},
		{"custom without schema", importer.Job{Links: []importer.Link{{Field: "ticket_no", Object: "ticket"}}}, "no default schema"},
		{"key not in target", importer.Job{Links: []importer.Link{{Field: "company", Object: "account"}}}, `"company" is not a field of "account"`},
		{"composite key", importer.Job{Links: []importer.Link{{Field: "account_id", Object: "account", Key: intake.Keys("name", "domain")}}}, "has 2 fields"},
		{"type clash", importer.Job{Schema: intake.MustSchema("contact", intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "account_id", Type: intake.TypeText}),
			Links: []importer.Link{{Field: "account_id", Object: "account"}}}, "one type"},
		{"profile without schema", importer.Job{Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{Object: "team"}},
			`profile link: object type "team" has no default schema`},
		{"profile sharing no key", importer.Job{Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{Object: "ticket", Schema: ticketSchema}},
			"share none of email, contact_id and phone"},
		{"profile rule not in target", importer.Job{Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{Rules: []intake.KeySpec{intake.Keys("event_id")}}},
			`profile rule event_id: "event_id" is not a field of "contact"`},
		{"two schemas of one type", importer.Job{Links: []importer.Link{{Field: "account_id", Object: "account"},
			{Field: "billing_id", Object: "account", Key: intake.Keys("account_id"), IDField: "billing_record_id",
				Schema: intake.MustSchema("account", intake.Field{Name: "account_id", Type: intake.TypeID})}}},
			"two links to \"account\" give it different schemas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
			require.NoError(t, err)
			tc.job.Source = csvSource(t, "f.csv", "email,account_id\na@x.example,A-1\n")
			_, err = im.Run(context.Background(), tc.job)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestKeepUnmappedNamesProperties(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Config{})
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{
		Source:       csvSource(t, "ev.csv", "email,Page URL,Type,Skipped,42,\na@x.example,/a,visit,no,x,blank\n"),
		Schema:       intake.ActivitySchema(),
		Mapping:      &mapping.Spec{Columns: []mapping.Column{{Source: "email", Field: "email"}, {Source: "Skipped", Skip: true}}},
		Action:       identity.Create,
		Identity:     importer.NoSync(),
		KeepUnmapped: true,
	})
	assert.EqualValues(t, 1, rep.Created)
	got, err := s.Schema(context.Background(), intake.ObjectActivity)
	require.NoError(t, err)
	names := strings.Join(got.Names(), ",")
	assert.Contains(t, names, "page_url")
	assert.Contains(t, names, "type_2", "a property named like a field takes a suffix")
	assert.NotContains(t, names, "skipped", "a column the mapping skips stays skipped")
	assert.Contains(t, names, "f_42")
	assert.Contains(t, names, "column_6")
}

// TestActivityDefaults runs activity jobs with the defaults of a job with
// a profile: add_only on event_id when the file has it (a re-import skips
// every event), else every row a new event.
func TestActivityDefaults(t *testing.T) {
	t.Parallel()
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			seed(t, s, intake.ContactSchema(), "email\nkim@x.example\n")
			cfg := importer.Config{Sink: s}
			job := func(data string) importer.Job {
				return importer.Job{Source: csvSource(t, "ev.csv", data), Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}}
			}
			const withIDs = "event_id,email,type\ne1,kim@x.example,visit\ne2,kim@x.example,buy\n"
			for run, want := range []int64{2, 0} {
				rep := runJob(t, cfg, job(withIDs))
				assert.Equal(t, want, rep.Created, "run %d", run+1)
				assert.Equal(t, 2-want, rep.Skipped, "run %d", run+1)
			}
			const withoutIDs = "email,type\nkim@x.example,visit\n"
			for run := range 2 {
				rep := runJob(t, cfg, job(withoutIDs))
				assert.EqualValues(t, 1, rep.Created, "run %d: without event ids every row is a new event", run+1)
			}
			// A file that maps event_id but leaves it empty on a row: that
			// row is a new event each time.
			const someIDs = "event_id,email,type\ne1,kim@x.example,visit\n,kim@x.example,call\n"
			for run := range 2 {
				rep := runJob(t, cfg, job(someIDs))
				assert.EqualValues(t, 1, rep.Created, "run %d", run+1)
				assert.EqualValues(t, 1, rep.Skipped, "run %d: e1 exists", run+1)
			}
			n, err := s.(sink.Counter).Count(context.Background(), intake.ObjectActivity)
			require.NoError(t, err)
			assert.EqualValues(t, 6, n)
		})
	}
}

// TestStubsOnlyForAcceptedRows: a link that creates stubs runs after the
// links that reject, so a rejected row leaves no stub; a stub of the rows'
// own type is refused.
func TestStubsOnlyForAcceptedRows(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Config{})
	seed(t, s, intake.AccountSchema(), "account_id,name\nA-1,Acme\n")
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{
		Source:  csvSource(t, "ev.csv", "email,type,account_id\nnew@x.example,visit,A-9\nkim@x.example,visit,A-1\n"),
		Schema:  intake.MustSchema("activity", append(intake.ActivitySchema().Fields(), intake.Field{Name: "account_id", Type: intake.TypeID})...),
		Profile: &importer.ProfileLink{Missing: importer.MissingCreate},
		Links:   []importer.Link{{Field: "account_id", Object: "account"}},
	})
	assert.EqualValues(t, 1, rep.Rejected, "A-9 is unknown")
	assert.EqualValues(t, 1, rep.Created)
	n, err := s.Count(context.Background(), intake.ObjectContact)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "only the accepted row's profile was created")

	im, err := importer.New(importer.Config{Sink: s})
	require.NoError(t, err)
	_, err = im.Run(context.Background(), importer.Job{
		Source:   csvSource(t, "acc.csv", "account_id,name,parent_id\nA-2,Child,P-1\n"),
		Schema:   intake.MustSchema("account", append(intake.AccountSchema().Fields(), intake.Field{Name: "parent_id", Type: intake.TypeID})...),
		Identity: importer.SyncOn("account_id"),
		Links:    []importer.Link{{Field: "parent_id", Object: "account", Key: intake.Keys("account_id"), Missing: importer.MissingCreate}},
	})
	assert.ErrorContains(t, err, "cannot be created or updated by the link")
}

// csvRows returns the data rows of a CSV text as maps by header.
func csvRows(t *testing.T, data string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	require.NoError(t, err)
	var out []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for j, h := range recs[0] {
			row[h] = rec[j]
		}
		out = append(out, row)
	}
	return out
}

// checkObjectLinks checks every link that importObjects made in s: each
// contact's account_record_id is the id of the account its row named (none
// when the row names none, or names an unknown one that the policy leaves
// empty), and each activity's profile_id is the id of the contact whose
// email its row gives. Rows whose account is unknown are absent when the
// policy rejects or skips them, and so are the events of unknown contacts.
func checkObjectLinks(t *testing.T, s objectStore, missing importer.Missing) {
	t.Helper()
	ctx := context.Background()
	known := map[string]bool{}
	for _, row := range csvRows(t, accountsFile) {
		known[row["account_id"]] = true
	}
	accounts := scanObject(t, s, intake.AccountSchema(), "account_id")
	contactSchema, err := s.(sink.SchemaReader).Schema(ctx, intake.ObjectContact)
	require.NoError(t, err)
	contacts := scanObject(t, s, contactSchema, "email")
	imported := 0
	for _, row := range csvRows(t, contactsFile) {
		email, accountID := row["email"], row["account_id"]
		c := contacts[email]
		unknown := accountID != "" && !known[accountID]
		if unknown && (missing == importer.MissingReject || missing == importer.MissingSkip) {
			assert.Nil(t, c, "%s names an unknown account: not imported", email)
			continue
		}
		require.NotNil(t, c, email)
		imported++
		assert.Equal(t, accountID, c.Get("account_id").String(), email)
		if accountID == "" || unknown && missing == importer.MissingEmpty {
			assert.True(t, c.Get("account_record_id").IsNull(), "%s has no link", email)
			continue
		}
		acc := accounts[accountID]
		require.NotNil(t, acc, "account %s of %s", accountID, email)
		assert.Equal(t, acc.ID, c.Get("account_record_id").String(), "%s links to account %s", email, accountID)
	}
	assert.Len(t, contacts, imported)
	activitySchema, err := s.(sink.SchemaReader).Schema(ctx, intake.ObjectActivity)
	require.NoError(t, err)
	events := scanObject(t, s, activitySchema, "event_id")
	for _, row := range csvRows(t, activitiesFile) {
		c, ev := contacts[strings.ToLower(row["email"])], events[row["event_id"]]
		if c == nil {
			assert.Nil(t, ev, "event %s of an unknown contact", row["event_id"])
			continue
		}
		require.NotNil(t, ev, row["event_id"])
		assert.Equal(t, c.ID, ev.Get("profile_id").String(), "event %s belongs to %s", row["event_id"], row["email"])
	}
}

// TestAccountsContactsActivitiesPerPolicy runs the accounts → contacts →
// activities chain with each policy for the contact whose account is
// unknown, on every store, and checks every link.
func TestAccountsContactsActivitiesPerPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		missing importer.Missing
		links   importer.LinkCounts
		objects importer.ObjectCounts
	}{
		{importer.MissingReject, importer.LinkCounts{Found: 3, Rejected: 1}, importer.ObjectCounts{Unchanged: 3}},
		{importer.MissingSkip, importer.LinkCounts{Found: 3, Skipped: 1}, importer.ObjectCounts{Unchanged: 3}},
		{importer.MissingEmpty, importer.LinkCounts{Found: 3, Empty: 1}, importer.ObjectCounts{Unchanged: 3}},
		{importer.MissingCreate, importer.LinkCounts{Found: 4, Created: 1}, importer.ObjectCounts{Created: 1, Unchanged: 3}},
	} {
		for _, name := range storeNames(t) {
			t.Run(fmt.Sprintf("%s/%s", tc.missing, name), func(t *testing.T) {
				t.Parallel()
				s := newObjectStore(t, name)
				_, contacts, activities := importObjects(t, s, 2, tc.missing)
				assert.Equal(t, &tc.links, contacts.Links["account_id"])
				assert.Equal(t, &tc.objects, contacts.Objects[intake.ObjectAccount])
				profiles := activities.Links["profile"]
				require.NotNil(t, profiles)
				assert.Equal(t, importer.ObjectCounts{Unchanged: profiles.Found}, *activities.Objects[intake.ObjectContact])
				checkObjectLinks(t, s, tc.missing)
			})
		}
	}
}
