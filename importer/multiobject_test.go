package importer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// companyLink links a contact file's company_domain to the account of
// that domain, carrying the company's name and type.
func companyLink(update bool) importer.Link {
	return importer.Link{
		Field:   "company_domain",
		Object:  intake.ObjectAccount,
		Key:     intake.Keys("domain"),
		Fields:  map[string]string{"company_name": "name", "company_type": "type"},
		Missing: importer.MissingCreate,
		Update:  update,
	}
}

const (
	// multiFile carries a contact and its company on each line.
	multiFile = "email,first_name,company_domain,company_name,company_type\n" +
		"kim@acme.example,Kim,acme.example,Acme,customer\n" +
		"lee@acme.example,Lee,ACME.example,,\n" + // the same account (keys ignore case); empty cells change nothing
		"max@globex.example,Max,globex.example,Globex,partner\n" +
		"nia@initech.example,Nia,initech.example,Initech,\n" +
		"oli@x.example,Oli,,,\n" // no company
	// multiChanged changes acme's type twice (the last value wins) and
	// globex's name; the contacts stay as they are.
	multiChanged = "email,first_name,company_domain,company_name,company_type\n" +
		"kim@acme.example,Kim,acme.example,Acme,partner\n" +
		"lee@acme.example,Lee,ACME.example,,reseller\n" +
		"max@globex.example,Max,globex.example,Globex Corp,\n"
)

// linkRun is what a report says, less its times and errors' order.
type linkRun struct {
	Rows, Created, Updated, Unchanged, Skipped, Rejected int64
	Reasons                                              map[intake.Code]int64
	Links                                                map[string]*importer.LinkCounts
	Objects                                              map[string]*importer.ObjectCounts
}

func linkCountsOf(rep *importer.Report) linkRun {
	return linkRun{rep.Rows, rep.Created, rep.Updated, rep.Unchanged, rep.Skipped, rep.Rejected, rep.Reasons, rep.Links, rep.Objects}
}

// runDryThenReal runs job as a dry run and then for real, checks that
// both count the same, and returns the real run's report.
func runDryThenReal(t *testing.T, cfg importer.Config, name, data string, job importer.Job) *importer.Report {
	t.Helper()
	job.Source, job.DryRun = csvSource(t, name, data), true
	dry := runJob(t, cfg, job)
	job.Source, job.DryRun = csvSource(t, name, data), false
	real := runJob(t, cfg, job)
	assert.Equal(t, linkCountsOf(real), linkCountsOf(dry), "a dry run counts what the real run does")
	checkObjectCounts(t, real)
	return real
}

// checkObjectCounts checks that Report.Objects agrees with Report.Links.
func checkObjectCounts(t *testing.T, rep *importer.Report) {
	t.Helper()
	var found, created, updated int64
	for _, c := range rep.Links {
		found, created, updated = found+c.Found, created+c.Created, updated+c.Updated
	}
	var o importer.ObjectCounts
	for _, c := range rep.Objects {
		o.Created, o.Updated, o.Unchanged = o.Created+c.Created, o.Updated+c.Updated, o.Unchanged+c.Unchanged
	}
	assert.Equal(t, found, o.Created+o.Updated+o.Unchanged, "every reference that found a target is one object count")
	assert.Equal(t, created, o.Created)
	assert.Equal(t, updated, o.Updated)
}

// companies returns the stored accounts as "name/type" by domain, and
// their domains by record id.
func companies(t *testing.T, s objectStore) (byDomain, domainOf map[string]string) {
	t.Helper()
	byDomain, domainOf = map[string]string{}, map[string]string{}
	for domain, r := range scanObject(t, s, intake.AccountSchema(), "domain") {
		byDomain[domain] = r.Get("name").String() + "/" + r.Get("type").String()
		domainOf[r.ID] = domain
	}
	return byDomain, domainOf
}

// people returns the stored contacts as "first_name company_domain →
// the domain of the account they link to" by email.
func people(t *testing.T, s objectStore) map[string]string {
	t.Helper()
	_, domainOf := companies(t, s)
	schema, err := s.(sink.SchemaReader).Schema(context.Background(), intake.ObjectContact)
	require.NoError(t, err)
	out := map[string]string{}
	for email, r := range scanObject(t, s, schema, "email") {
		link := "-"
		if id := r.Get("account_record_id"); !id.IsNull() {
			link = domainOf[id.String()]
			require.NotEmpty(t, link, "%s links to a stored account", email)
		}
		out[email] = r.Get("first_name").String() + " " + r.Get("company_domain").String() + " → " + link
	}
	return out
}

// TestMultiObjectImport imports a file that carries a contact and its
// company on each line: each account is created once, with the first
// row's values, and the contacts link to it; a re-import changes nothing;
// with Update, changed company values update the accounts (the last
// non-empty value wins), and without it they are ignored. Batches of 1
// and 1000 rows give the same store, and each dry run counts what its
// real run does.
func TestMultiObjectImport(t *testing.T) {
	t.Parallel()
	stores := map[int]map[string]objectStore{1: objectStores(t), 1000: objectStores(t)}
	for _, batch := range []int{1, 1000} {
		for name, s := range stores[batch] {
			t.Run(fmt.Sprintf("%s/batch%d", name, batch), func(t *testing.T) {
				t.Parallel()
				cfg := importer.Config{Sink: s, BatchSize: batch}
				job := importer.Job{Links: []importer.Link{companyLink(true)}}

				rep := runDryThenReal(t, cfg, "contacts.csv", multiFile, job)
				assert.Equal(t, linkRun{Rows: 5, Created: 5,
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 4, Created: 3}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Created: 3, Unchanged: 1}},
				}, linkCountsOf(rep))
				accounts, _ := companies(t, s)
				assert.Equal(t, map[string]string{"acme.example": "Acme/customer", "globex.example": "Globex/partner", "initech.example": "Initech/"}, accounts)
				contacts := map[string]string{
					"kim@acme.example":    "Kim acme.example → acme.example",
					"lee@acme.example":    "Lee ACME.example → acme.example",
					"max@globex.example":  "Max globex.example → globex.example",
					"nia@initech.example": "Nia initech.example → initech.example",
					"oli@x.example":       "Oli  → -",
				}
				assert.Equal(t, contacts, people(t, s))
				stored, err := s.(sink.SchemaReader).Schema(context.Background(), intake.ObjectContact)
				require.NoError(t, err)
				assert.Subset(t, stored.Names(), []string{"company_domain", "account_record_id"}, "the reference and the link are the contact's")
				assert.NotContains(t, stored.Names(), "company_name", "the company's data is the account's, not the contact's")
				assert.NotContains(t, stored.Names(), "company_type")
				ref := stored.Field(stored.Index("account_record_id"))
				assert.Equal(t, intake.ObjectAccount, ref.Ref)

				rep = runDryThenReal(t, cfg, "contacts.csv", multiFile, job)
				assert.Equal(t, linkRun{Rows: 5, Unchanged: 5,
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 4}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Unchanged: 4}},
				}, linkCountsOf(rep), "a re-import changes nothing")

				noUpdate := importer.Job{Links: []importer.Link{companyLink(false)}}
				rep = runDryThenReal(t, cfg, "changed.csv", multiChanged, noUpdate)
				assert.Equal(t, &importer.ObjectCounts{Unchanged: 3}, rep.Objects[intake.ObjectAccount], "without Update, carried values only create")
				accounts, _ = companies(t, s)
				assert.Equal(t, "Acme/customer", accounts["acme.example"])

				rep = runDryThenReal(t, cfg, "changed.csv", multiChanged, job)
				assert.Equal(t, linkRun{Rows: 3, Unchanged: 3,
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 3, Updated: 3}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Updated: 3}},
				}, linkCountsOf(rep))
				accounts, _ = companies(t, s)
				assert.Equal(t, map[string]string{"acme.example": "Acme/reseller", "globex.example": "Globex Corp/partner", "initech.example": "Initech/"}, accounts,
					"the last non-empty value wins; an empty cell keeps the stored value")
				assert.Equal(t, contacts, people(t, s))

				rep = runDryThenReal(t, cfg, "changed.csv", multiChanged, job)
				assert.Equal(t, &importer.ObjectCounts{Updated: 2, Unchanged: 1}, rep.Objects[intake.ObjectAccount],
					"the file sets acme's type to partner, then back to reseller; globex is as the file says")
			})
		}
	}
	t.Cleanup(func() {
		// Both batch sizes left the same store (record ids aside).
		if t.Failed() {
			return
		}
		for name := range stores[1] {
			a, b := stores[1][name], stores[1000][name]
			accA, _ := companies(t, a)
			accB, _ := companies(t, b)
			assert.Equal(t, accA, accB, name)
			assert.Equal(t, people(t, a), people(t, b), name)
		}
	})
}

// TestMultiObjectAcrossBatches: rows that name a new account in later
// batches find the account an earlier batch created, even while that
// batch is being written (SQLite and PostgreSQL write in the background),
// and update it in file order.
func TestMultiObjectAcrossBatches(t *testing.T) {
	t.Parallel()
	for _, name := range storeNames(t) {
		for _, batch := range []int{1, 3, 7} {
			t.Run(fmt.Sprintf("%s/batch%d", name, batch), func(t *testing.T) {
				t.Parallel()
				// A store per subtest: the checks read every contact and
				// account, which another subtest would be writing.
				s := newObjectStore(t, name)
				domain := fmt.Sprintf("batch%d.example", batch)
				var b strings.Builder
				b.WriteString("email,company_domain,company_type\n")
				for i := range 40 {
					fmt.Fprintf(&b, "b%d-%d@x.example,%s,type%d\n", batch, i, domain, i%3)
				}
				link := companyLink(true)
				link.Fields = map[string]string{"company_type": "type"}
				rep := runDryThenReal(t, importer.Config{Sink: s, BatchSize: batch}, "c.csv", b.String(), importer.Job{Links: []importer.Link{link}})
				assert.EqualValues(t, 40, rep.Created)
				assert.Equal(t, &importer.ObjectCounts{Created: 1, Updated: 39}, rep.Objects[intake.ObjectAccount], "created once, then each row changes the type")
				accounts, _ := companies(t, s)
				assert.Equal(t, "/type0", accounts[domain], "the last row's type")
				contacts := people(t, s)
				for i := range 40 {
					assert.Equal(t, " "+domain+" → "+domain, contacts[fmt.Sprintf("b%d-%d@x.example", batch, i)])
				}
			})
		}
	}
}

// TestMultiObjectRejects: a carried cell that its target field's type
// cannot parse rejects the row, naming the column, and creates nothing;
// a carried field that the job's schema declares is the row's too.
func TestMultiObjectRejects(t *testing.T) {
	t.Parallel()
	accounts := intake.MustSchema(intake.ObjectAccount, append(intake.AccountSchema().Fields(),
		intake.Field{Name: "employees", Type: intake.TypeDecimal})...)
	contacts := intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(),
		intake.Field{Name: "company_name", Type: intake.TypeText})...)
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			cfg := importer.Config{Sink: s}
			const file = "email,company_domain,company_name,company_size\n" +
				"kim@acme.example,acme.example,Acme,many\n" +
				"lee@globex.example,globex.example,Globex,1200\n"
			link := importer.Link{Field: "company_domain", Object: intake.ObjectAccount, Schema: accounts, Key: intake.Keys("domain"),
				Fields: map[string]string{"company_name": "name", "company_size": "employees"}, Missing: importer.MissingCreate}
			rep := runDryThenReal(t, cfg, "c.csv", file, importer.Job{Schema: contacts, Links: []importer.Link{link}})
			assert.EqualValues(t, 1, rep.Created)
			assert.EqualValues(t, 1, rep.Rejected)
			require.Len(t, rep.Errors, 1)
			e := rep.Errors[0]
			assert.Equal(t, 2, e.Line)
			assert.Equal(t, intake.CodeInvalidDecimal, e.Code)
			assert.Equal(t, "company_size", e.Column)
			assert.Equal(t, &importer.ObjectCounts{Created: 1}, rep.Objects[intake.ObjectAccount])

			stored := scanObject(t, s, accounts, "domain")
			require.Len(t, stored, 1, "the rejected row created no account")
			globex := stored["globex.example"]
			require.NotNil(t, globex)
			assert.Equal(t, "Globex", globex.Get("name").String())
			assert.Equal(t, "1200", globex.Get("employees").String())
			schema, err := s.(sink.SchemaReader).Schema(context.Background(), intake.ObjectContact)
			require.NoError(t, err)
			people := scanObject(t, s, schema, "email")
			assert.Equal(t, "Globex", people["lee@globex.example"].Get("company_name").String(), "a declared field stays the contact's")
			assert.NotContains(t, schema.Names(), "company_size")
		})
	}
}

// listSchema is a host-defined object type: the lists contacts belong to.
var listSchema = intake.MustSchema("list",
	intake.Field{Name: "name", Type: intake.TypeText, Label: "List"},
	intake.Field{Name: "description", Type: intake.TypeText},
)

// listsLink resolves a contact's lists column to the lists of those names.
func listsLink(missing importer.Missing) importer.Link {
	return importer.Link{Field: "lists", Object: "list", Schema: listSchema, Key: intake.Keys("name"), Many: true, Missing: missing}
}

// listNames returns each stored contact's lists, by the lists' names, by
// email ("-" for none).
func listNames(t *testing.T, s objectStore) map[string]string {
	t.Helper()
	names := map[string]string{}
	for name, r := range scanObject(t, s, listSchema, "name") {
		names[r.ID] = name
	}
	schema, err := s.(sink.SchemaReader).Schema(context.Background(), intake.ObjectContact)
	require.NoError(t, err)
	assert.Equal(t, intake.TypeMultiSelect, schema.Field(schema.Index("list_record_ids")).Type)
	assert.Equal(t, "list", schema.Field(schema.Index("list_record_ids")).Ref)
	out := map[string]string{}
	for email, r := range scanObject(t, s, schema, "email") {
		ids := r.Get("list_record_ids").Items()
		if len(ids) == 0 {
			out[email] = "-"
			continue
		}
		var got []string
		for _, id := range ids {
			require.Contains(t, names, id, "%s is in a stored list", email)
			got = append(got, names[id])
		}
		out[email] = fmt.Sprint(got)
	}
	return out
}

// TestManyLinks resolves a column of list names to the lists' record ids
// with each policy for unknown lists, in batches of 1, 2 and 1000; a
// re-import changes nothing.
func TestManyLinks(t *testing.T) {
	t.Parallel()
	const file = "email,lists\n" +
		"a@x.example,gold; vip\n" +
		"b@x.example,VIP;gold;Gold\n" + // one list twice, in two spellings
		"c@x.example,gold; platinum\n" + // platinum is unknown
		"d@x.example,\n" +
		"e@x.example,Platinum\n"
	for _, tc := range []struct {
		missing                    importer.Missing
		created, skipped, rejected int64
		links                      importer.LinkCounts
		objects                    importer.ObjectCounts
		lists                      map[string]string
	}{
		{importer.MissingReject, 3, 0, 2, importer.LinkCounts{Found: 4, Rejected: 2}, importer.ObjectCounts{Unchanged: 4},
			map[string]string{"a@x.example": "[gold vip]", "b@x.example": "[vip gold]", "d@x.example": "-"}},
		{importer.MissingSkip, 3, 2, 0, importer.LinkCounts{Found: 4, Skipped: 2}, importer.ObjectCounts{Unchanged: 4},
			map[string]string{"a@x.example": "[gold vip]", "b@x.example": "[vip gold]", "d@x.example": "-"}},
		{importer.MissingEmpty, 5, 0, 0, importer.LinkCounts{Found: 5, Empty: 2}, importer.ObjectCounts{Unchanged: 5},
			map[string]string{"a@x.example": "[gold vip]", "b@x.example": "[vip gold]", "c@x.example": "[gold]", "d@x.example": "-", "e@x.example": "-"}},
		{importer.MissingCreate, 5, 0, 0, importer.LinkCounts{Found: 7, Created: 1}, importer.ObjectCounts{Created: 1, Unchanged: 6},
			map[string]string{"a@x.example": "[gold vip]", "b@x.example": "[vip gold]", "c@x.example": "[gold platinum]", "d@x.example": "-", "e@x.example": "[platinum]"}},
	} {
		for _, batch := range []int{1, 2, 1000} {
			for _, name := range storeNames(t) {
				t.Run(fmt.Sprintf("%s/%s/batch%d", tc.missing, name, batch), func(t *testing.T) {
					t.Parallel()
					s := newObjectStore(t, name)
					cfg := importer.Config{Sink: s, BatchSize: batch}
					runJob(t, cfg, importer.Job{Source: csvSource(t, "lists.csv", "name\ngold\nvip\n"), Schema: listSchema, Identity: importer.SyncOn("name")})
					job := importer.Job{Links: []importer.Link{listsLink(tc.missing)}}
					rep := runDryThenReal(t, cfg, "c.csv", file, job)
					assert.Equal(t, tc.created, rep.Created)
					assert.Equal(t, tc.skipped, rep.Skipped)
					assert.Equal(t, tc.rejected, rep.Rejected)
					assert.Equal(t, &tc.links, rep.Links["lists"])
					assert.Equal(t, &tc.objects, rep.Objects["list"])
					assert.Equal(t, tc.lists, listNames(t, s))
					if tc.missing == importer.MissingReject {
						require.Len(t, rep.Errors, 2)
						e := rep.Errors[0]
						assert.Equal(t, intake.CodeUnknownLink, e.Code)
						assert.Equal(t, 4, e.Line)
						assert.Equal(t, "lists", e.Field)
						assert.Equal(t, "lists", e.Column)
						assert.Contains(t, e.Message, `"platinum"`)
					}
					if tc.missing == importer.MissingCreate {
						lists := scanObject(t, s, listSchema, "name")
						assert.Len(t, lists, 3, "platinum is created once")
						assert.Contains(t, lists, "platinum", "with the first row's spelling")
					}

					again := runDryThenReal(t, cfg, "c.csv", file, job)
					assert.Equal(t, tc.created, again.Unchanged, "a re-import changes nothing")
					assert.Zero(t, again.Created+again.Updated)
					assert.Zero(t, again.Objects["list"].Created)
					assert.Equal(t, tc.lists, listNames(t, s))
				})
			}
		}
	}
}

// TestManyLinksMerge: a non-empty list of references replaces the stored
// one, an empty cell keeps it, and the append merge rule adds to it.
func TestManyLinksMerge(t *testing.T) {
	t.Parallel()
	appendLists := identity.MergePolicy{Fields: []identity.FieldMerge{
		{Field: "list_record_ids", Rule: identity.MergeAppend},
		{Field: "lists", Rule: identity.MergeAppend},
	}}
	for _, tc := range []struct {
		name  string
		merge identity.MergePolicy
		want  map[string]string
		lists string
	}{
		{"replace", identity.MergePolicy{}, map[string]string{"a@x.example": "[platinum]", "b@x.example": "[vip]"}, "platinum"},
		{"append", appendLists, map[string]string{"a@x.example": "[gold vip platinum]", "b@x.example": "[vip]"}, "[gold vip platinum]"},
	} {
		for _, name := range storeNames(t) {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				s := newObjectStore(t, name)
				cfg := importer.Config{Sink: s}
				job := importer.Job{Links: []importer.Link{listsLink(importer.MissingCreate)}, Merge: tc.merge}
				runDryThenReal(t, cfg, "c.csv", "email,lists\na@x.example,gold;vip\nb@x.example,vip\n", job)
				rep := runDryThenReal(t, cfg, "c.csv", "email,lists\na@x.example,platinum\nb@x.example,\n", job)
				assert.EqualValues(t, 1, rep.Updated)
				assert.EqualValues(t, 1, rep.Unchanged, "an empty cell leaves the stored list")
				assert.Equal(t, tc.want, listNames(t, s))
				schema, err := s.(sink.SchemaReader).Schema(context.Background(), intake.ObjectContact)
				require.NoError(t, err)
				a := scanObject(t, s, schema, "email")["a@x.example"]
				assert.Equal(t, tc.lists, itemsOrString(a.Get("lists")))

				again := runDryThenReal(t, cfg, "c.csv", "email,lists\na@x.example,platinum\nb@x.example,\n", job)
				assert.EqualValues(t, 2, again.Unchanged, "appending what is there changes nothing")
			})
		}
	}
}

func itemsOrString(v intake.Value) string {
	items := v.Items()
	if len(items) == 1 {
		return items[0]
	}
	return fmt.Sprint(items)
}

// TestLinksShareTargets: two links of one job to the same object type
// share what the run created, so a target the first creates is found by
// the second in the same batch.
func TestLinksShareTargets(t *testing.T) {
	t.Parallel()
	schema := intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(),
		intake.Field{Name: "employer", Type: intake.TypeText}, intake.Field{Name: "billing", Type: intake.TypeText})...)
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			rep := runDryThenReal(t, importer.Config{Sink: s}, "c.csv", "email,employer,billing\na@x.example,new.example,NEW.example\n", importer.Job{
				Schema: schema,
				Links: []importer.Link{
					{Field: "employer", Object: intake.ObjectAccount, Key: intake.Keys("domain"), Missing: importer.MissingCreate},
					{Field: "billing", Object: intake.ObjectAccount, Key: intake.Keys("domain"), IDField: "billing_record_id", Missing: importer.MissingCreate},
				},
			})
			assert.Equal(t, &importer.ObjectCounts{Created: 1, Unchanged: 1}, rep.Objects[intake.ObjectAccount])
			assert.Len(t, scanObject(t, s, intake.AccountSchema(), "domain"), 1)
			stored, err := s.(sink.SchemaReader).Schema(context.Background(), intake.ObjectContact)
			require.NoError(t, err)
			c := scanObject(t, s, stored, "email")["a@x.example"]
			assert.Equal(t, c.Get("account_record_id"), c.Get("billing_record_id"))
		})
	}
}

// TestMultiObjectJobErrors: misconfigured links are refused before any
// row is read, saying what to fix.
func TestMultiObjectJobErrors(t *testing.T) {
	t.Parallel()
	decimalKey := intake.MustSchema("tier", intake.Field{Name: "level", Type: intake.TypeDecimal})
	for _, tc := range []struct {
		name string
		sink sink.Sink
		link importer.Link
		want string
	}{
		{"fields without create or update", nil, importer.Link{Field: "company_domain", Object: "account", Key: intake.Keys("domain"), Fields: map[string]string{"company_name": "name"}}, "neither creates"},
		{"update without fields", nil, importer.Link{Field: "company_domain", Object: "account", Key: intake.Keys("domain"), Update: true}, "Fields is empty"},
		{"fields to the key", nil, importer.Link{Field: "company_domain", Object: "account", Key: intake.Keys("domain"), Missing: importer.MissingCreate, Fields: map[string]string{"site": "domain"}}, "the reference (company_domain) sets the key"},
		{"fields to nothing", nil, importer.Link{Field: "company_domain", Object: "account", Key: intake.Keys("domain"), Missing: importer.MissingCreate, Fields: map[string]string{"x": "revenue"}}, `"revenue", which is not a field of "account"`},
		{"fields of another type", nil, importer.Link{Field: "company_domain", Object: "account", Key: intake.Keys("domain"), Missing: importer.MissingCreate, Fields: map[string]string{"email": "name"}}, "carries the account's name, a text"},
		{"many with fields", nil, importer.Link{Field: "lists", Object: "list", Schema: listSchema, Key: intake.Keys("name"), Many: true, Missing: importer.MissingCreate, Fields: map[string]string{"x": "description"}}, "several targets per row"},
		{"many by a number", nil, importer.Link{Field: "tiers", Object: "tier", Schema: decimalKey, Key: intake.Keys("level"), Many: true}, "reads its items as text"},
		{"many keyed with email rules on text", nil, importer.Link{Field: "lists", Object: "list", Schema: listSchema, Key: intake.KeySpec{Fields: []string{"name"}, EmailRules: intake.EmailProvider}, Many: true},
			"link lists: intake: key name[provider] of \"list\": email rules"},
		{"many on a single field", nil, importer.Link{Field: "email", Object: "list", Schema: listSchema, Key: intake.Keys("name"), Many: true}, "multiselect field"},
		{"update without getter", lookupOnly{memory.New(memory.Config{})}, companyLink(true), "sink.Getter"},
		{"store refuses the target", refusesAccounts{newObjectStore(t, "memory")}, companyLink(false), `prepare the store for "account": no accounts here`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.sink
			if s == nil {
				s = memory.New(memory.Config{})
			}
			im, err := importer.New(importer.Config{Sink: s})
			require.NoError(t, err)
			_, err = im.Run(context.Background(), importer.Job{
				Source: csvSource(t, "f.csv", "email,company_domain\na@x.example,acme.example\n"),
				Links:  []importer.Link{tc.link},
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// refusesAccounts is a store that cannot be prepared for accounts.
type refusesAccounts struct{ objectStore }

func (refusesAccounts) EnsureSchema(_ context.Context, s *intake.Schema) error {
	if s.Object() == intake.ObjectAccount {
		return fmt.Errorf("no %ss here", s.Object())
	}
	return nil
}

// lookupOnly is a sink that looks records up but cannot read them by id.
type lookupOnly struct{ m *memory.Store }

func (l lookupOnly) Write(ctx context.Context, ops []*sink.Op) (int, error) {
	return l.m.Write(ctx, ops)
}
func (l lookupOnly) Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	return l.m.Lookup(ctx, s, spec, keys)
}
