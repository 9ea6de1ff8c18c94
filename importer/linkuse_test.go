package importer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
)

// multiHeader is the header of the files of TestLinksOnlyForWrittenRows.
const multiHeader = "email,first_name,company_domain,company_name,company_type\n"

// TestLinksOnlyForWrittenRows: a link creates or updates its target only
// for a row whose own record the run creates or updates. A row rejected
// for its own key (empty, a duplicate), skipped by its action (update_only
// without a match, add_only finding its record) or rejected by another
// link leaves no target and changes none, and its references count
// nowhere; a later row that names the same new target creates it with its
// own values. Batches of 1 and 1000 rows give the same store, and a dry
// run counts what the real run does.
func TestLinksOnlyForWrittenRows(t *testing.T) {
	t.Parallel()
	const acme = "account_id,name,domain,type\nA-1,Acme,acme.example,customer\n"
	type want struct {
		run      linkRun
		accounts map[string]string // domain → "name/type"
	}
	for _, tc := range []struct {
		name     string
		contacts string // seeded contacts (email,first_name), if any
		job      importer.Job
		data     string
		want     want
	}{
		{
			name: "empty sync key",
			job:  importer.Job{Links: []importer.Link{companyLink(true)}},
			data: multiHeader + ",Kim,newco.example,NewCo,customer\n" + // missing_key: no newco
				",Kim,acme.example,Acme Renamed,partner\n" + // missing_key: acme stays as it is
				"lee@x.example,Lee,acme.example,,\n",
			want: want{
				run: linkRun{Rows: 3, Created: 1, Rejected: 2, Reasons: map[intake.Code]int64{intake.CodeMissingKey: 2},
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 1}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Unchanged: 1}}},
				accounts: map[string]string{"acme.example": "Acme/customer"},
			},
		},
		{
			name: "duplicate with create",
			job:  importer.Job{Action: identity.Create, Links: []importer.Link{companyLink(true)}},
			data: multiHeader + "kim@x.example,Kim,acme.example,,\n" +
				"kim@x.example,Kim,other.example,Other,\n" + // duplicate: no other.example
				"lee@x.example,Lee,third.example,Third,partner\n" +
				"KIM@x.example,Kim,third.example,Dup Third,reseller\n", // duplicate: third stays as lee made it
			want: want{
				run: linkRun{Rows: 4, Created: 2, Rejected: 2, Reasons: map[intake.Code]int64{intake.CodeDuplicate: 2},
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 2, Created: 1}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Created: 1, Unchanged: 1}}},
				accounts: map[string]string{"acme.example": "Acme/customer", "third.example": "Third/partner"},
			},
		},
		{
			name: "a later row creates what a rejected one named",
			job:  importer.Job{Action: identity.Create, Links: []importer.Link{companyLink(false)}},
			data: multiHeader + "kim@x.example,Kim,acme.example,,\n" +
				"kim@x.example,Kim,newco.example,Dup Co,partner\n" + // duplicate
				"lee@x.example,Lee,newco.example,NewCo,\n" + // creates newco, with its own values
				"max@x.example,Max,newco.example,Other,\n",
			want: want{
				run: linkRun{Rows: 4, Created: 3, Rejected: 1, Reasons: map[intake.Code]int64{intake.CodeDuplicate: 1},
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 3, Created: 1}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Created: 1, Unchanged: 2}}},
				accounts: map[string]string{"acme.example": "Acme/customer", "newco.example": "NewCo/"},
			},
		},
		{
			name:     "update_only without a match",
			contacts: "email,first_name\nkim@x.example,Kim\n",
			job:      importer.Job{Action: identity.UpdateOnly, Links: []importer.Link{companyLink(true)}},
			data: multiHeader + "kim@x.example,Kim,acme.example,Acme,partner\n" +
				"zed@x.example,Zed,zed.example,Zed,\n" + // no_match: no zed.example
				"ann@x.example,Ann,acme.example,Acme,reseller\n", // no_match: acme stays a partner
			want: want{
				run: linkRun{Rows: 3, Updated: 1, Skipped: 2, Reasons: map[intake.Code]int64{intake.CodeNoMatch: 2},
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 1, Updated: 1}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Updated: 1}}},
				accounts: map[string]string{"acme.example": "Acme/partner"},
			},
		},
		{
			name:     "add_only finding the record",
			contacts: "email,first_name\nkim@x.example,Kim\nann@x.example,Ann\n",
			job:      importer.Job{Action: identity.AddOnly, Links: []importer.Link{companyLink(true)}},
			data: multiHeader + "kim@x.example,Kim,acme.example,Acme Renamed,partner\n" + // exists: acme untouched
				"ann@x.example,Ann,skipped.example,Skipped,\n" + // exists: no skipped.example
				"new@x.example,New,newco.example,NewCo,\n",
			want: want{
				run: linkRun{Rows: 3, Created: 1, Skipped: 2, Reasons: map[intake.Code]int64{intake.CodeExists: 2},
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 1, Created: 1}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Created: 1}}},
				accounts: map[string]string{"acme.example": "Acme/customer", "newco.example": "NewCo/"},
			},
		},
		{
			name: "rejected by a later link",
			job: importer.Job{Links: []importer.Link{companyLink(true),
				{Field: "partner_domain", Object: intake.ObjectAccount, Key: intake.Keys("domain"), IDField: "partner_record_id"}}},
			data: "email,company_domain,company_name,partner_domain\n" +
				"kim@x.example,newco.example,NewCo,nowhere.example\n" + // unknown partner: rejected, no newco
				"lee@x.example,acme.example,Acme Renamed,nowhere.example\n" + // rejected: acme untouched
				"max@x.example,acme.example,,acme.example\n",
			want: want{
				run: linkRun{Rows: 3, Created: 1, Rejected: 2, Reasons: map[intake.Code]int64{intake.CodeUnknownLink: 2},
					Links: map[string]*importer.LinkCounts{"company_domain": {Found: 1}, "partner_domain": {Found: 1, Rejected: 2}},
					// max's two references to acme.
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Unchanged: 2}}},
				accounts: map[string]string{"acme.example": "Acme/customer"},
			},
		},
	} {
		for _, batch := range []int{1, 1000} {
			for _, name := range storeNames(t) {
				t.Run(fmt.Sprintf("%s/%s/batch%d", tc.name, name, batch), func(t *testing.T) {
					t.Parallel()
					s := newObjectStore(t, name)
					seed(t, s, intake.AccountSchema(), acme)
					if tc.contacts != "" {
						seed(t, s, intake.ContactSchema(), tc.contacts)
					}
					rep := runDryThenReal(t, importer.Config{Sink: s, BatchSize: batch}, "c.csv", tc.data, tc.job)
					got := linkCountsOf(rep)
					assert.Equal(t, tc.want.run, got)
					accounts, _ := companies(t, s)
					assert.Equal(t, tc.want.accounts, accounts)
				})
			}
		}
	}
}

// TestProfileOnlyForWrittenEvents: an activity import that creates
// missing profiles creates none for an event it skips because the store
// holds it already.
func TestProfileOnlyForWrittenEvents(t *testing.T) {
	t.Parallel()
	for _, batch := range []int{1, 1000} {
		for _, name := range storeNames(t) {
			t.Run(fmt.Sprintf("%s/batch%d", name, batch), func(t *testing.T) {
				t.Parallel()
				s := newObjectStore(t, name)
				cfg := importer.Config{Sink: s, BatchSize: batch}
				runJob(t, cfg, importer.Job{Source: csvSource(t, "old.csv", "event_id,email,type\ne1,ghost@x.example,visit\n"),
					Schema: intake.ActivitySchema(), Action: identity.AddOnly, Identity: importer.SyncOn("event_id")})
				rep := runDryThenReal(t, cfg, "ev.csv", "event_id,email,type\ne1,ghost@x.example,visit\ne2,new@x.example,visit\ne2,dup@x.example,visit\n", importer.Job{
					Schema:  intake.ActivitySchema(),
					Profile: &importer.ProfileLink{Missing: importer.MissingCreate},
				})
				assert.Equal(t, linkRun{Rows: 3, Created: 1, Skipped: 1, Rejected: 1, Reasons: map[intake.Code]int64{intake.CodeExists: 1, intake.CodeDuplicate: 1},
					Links:   map[string]*importer.LinkCounts{"profile": {Found: 1, Created: 1}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectContact: {Created: 1}},
				}, linkCountsOf(rep))
				contacts := scanObject(t, s, intake.ContactSchema(), "email")
				assert.Len(t, contacts, 1)
				assert.Contains(t, contacts, "new@x.example", "only the written event's profile")
			})
		}
	}
}

// TestManyLinksOnlyForWrittenRows: a Many link creates the lists of the
// rows it writes only.
func TestManyLinksOnlyForWrittenRows(t *testing.T) {
	t.Parallel()
	for _, batch := range []int{1, 1000} {
		for _, name := range storeNames(t) {
			t.Run(fmt.Sprintf("%s/batch%d", name, batch), func(t *testing.T) {
				t.Parallel()
				s := newObjectStore(t, name)
				job := importer.Job{Action: identity.Create, Links: []importer.Link{listsLink(importer.MissingCreate)}}
				rep := runDryThenReal(t, importer.Config{Sink: s, BatchSize: batch}, "c.csv",
					"email,lists\na@x.example,gold\nA@x.example,dup-only;gold\nb@x.example,\n", job)
				assert.Equal(t, linkRun{Rows: 3, Created: 2, Rejected: 1, Reasons: map[intake.Code]int64{intake.CodeDuplicate: 1},
					Links:   map[string]*importer.LinkCounts{"lists": {Found: 1, Created: 1}},
					Objects: map[string]*importer.ObjectCounts{"list": {Created: 1}},
				}, linkCountsOf(rep))
				lists := scanObject(t, s, listSchema, "name")
				require.Len(t, lists, 1)
				assert.Contains(t, lists, "gold")
			})
		}
	}
}

// TestLinksFindTargetsByEveryKey: two links to one object type by
// different keys — a company by its domain, carrying its name, and a
// parent company by its name — share the targets the run creates or
// renames, by both keys: a target that one link creates (or renames,
// with Update) is found by the other in the same batch, so batches of 1
// and 1000 rows give the same store.
func TestLinksFindTargetsByEveryKey(t *testing.T) {
	t.Parallel()
	links := []importer.Link{
		{Field: "company_domain", Object: intake.ObjectAccount, Key: intake.Keys("domain"), IDField: "account_record_id",
			Fields: map[string]string{"company_name": "name"}, Missing: importer.MissingCreate, Update: true},
		{Field: "parent_name", Object: intake.ObjectAccount, Key: intake.Keys("name"), IDField: "parent_record_id", Missing: importer.MissingCreate},
	}
	const file = "email,company_domain,company_name,parent_name\n" +
		"kim@x.example,acme.example,Acme,\n" + // creates acme, named Acme
		"lee@x.example,,,ACME\n" + // finds it by its name
		"max@x.example,globex.example,Globex Corp,\n" + // renames the stored globex
		"nia@x.example,,,globex corp\n" // finds it by its new name
	for _, batch := range []int{1, 1000} {
		for _, name := range storeNames(t) {
			t.Run(fmt.Sprintf("%s/batch%d", name, batch), func(t *testing.T) {
				t.Parallel()
				s := newObjectStore(t, name)
				seed(t, s, intake.AccountSchema(), "account_id,name,domain\nG-1,Globex,globex.example\n")
				rep := runDryThenReal(t, importer.Config{Sink: s, BatchSize: batch}, "c.csv", file, importer.Job{Links: links})
				assert.Equal(t, linkRun{Rows: 4, Created: 4,
					Links:   map[string]*importer.LinkCounts{"company_domain": {Found: 2, Created: 1, Updated: 1}, "parent_name": {Found: 2}},
					Objects: map[string]*importer.ObjectCounts{intake.ObjectAccount: {Created: 1, Updated: 1, Unchanged: 2}},
				}, linkCountsOf(rep))
				accounts := scanObject(t, s, intake.AccountSchema(), "domain")
				require.Len(t, accounts, 2, "one account per company")
				assert.Equal(t, "Acme", accounts["acme.example"].Get("name").String())
				assert.Equal(t, "Globex Corp", accounts["globex.example"].Get("name").String())
				schema := storedSchema(t, s, intake.ObjectContact)
				contacts := scanObject(t, s, schema, "email")
				assert.Equal(t, accounts["acme.example"].ID, contacts["kim@x.example"].Get("account_record_id").String())
				assert.Equal(t, accounts["acme.example"].ID, contacts["lee@x.example"].Get("parent_record_id").String())
				assert.Equal(t, accounts["globex.example"].ID, contacts["max@x.example"].Get("account_record_id").String())
				assert.Equal(t, accounts["globex.example"].ID, contacts["nia@x.example"].Get("parent_record_id").String())
			})
		}
	}
}

// tierSchema is a host-defined object type keyed by a select field.
var tierSchema = intake.MustSchema("tier",
	intake.Field{Name: "name", Type: intake.TypeSelect, Options: []string{"gold", "vip", "platinum"}},
	intake.Field{Name: "perks", Type: intake.TypeText},
)

// TestLinksToSelectKeys: a link whose target's key is a select field
// creates its targets with the option as the field spells it, whatever
// the file's case; a value that is none of the options, or a Many item
// whose key is empty once normalized (a no-break space), cannot create a
// target and rejects the row; with empty, such an item is dropped and
// counted.
func TestLinksToSelectKeys(t *testing.T) {
	t.Parallel()
	// The contact's fields hold any text: the options are the target's.
	contacts := intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(),
		intake.Field{Name: "tiers", Type: intake.TypeMultiSelect}, intake.Field{Name: "main_tier", Type: intake.TypeSelect})...)
	const file = "email,tiers,main_tier\n" +
		"a@x.example,GOLD;PLATINUM,Platinum\n" +
		"b@x.example,Platinum,\n" +
		"c@x.example,diamond,\n" +
		"d@x.example,vip;\u00a0,\n" +
		"e@x.example,,Diamond\n"
	for _, tc := range []struct {
		missing importer.Missing
		want    linkRun
		tiers   map[string]string // email → the names of its tiers
	}{
		{importer.MissingCreate, linkRun{Rows: 5, Created: 2, Rejected: 3,
			Reasons: map[intake.Code]int64{intake.CodeInvalidMultiSelect: 1, intake.CodeUnknownLink: 1, intake.CodeInvalidSelect: 1},
			Links:   map[string]*importer.LinkCounts{"tiers": {Found: 3, Created: 1, Rejected: 2}, "main_tier": {Found: 1, Rejected: 1}},
			// platinum: created by a's tiers, then found by a's main_tier and b's tiers.
			Objects: map[string]*importer.ObjectCounts{"tier": {Created: 1, Unchanged: 3}}},
			map[string]string{"a@x.example": "[gold platinum] platinum", "b@x.example": "[platinum] -"}},
		{importer.MissingEmpty, linkRun{Rows: 5, Created: 5,
			Links:   map[string]*importer.LinkCounts{"tiers": {Found: 2, Empty: 4}, "main_tier": {Empty: 2}},
			Objects: map[string]*importer.ObjectCounts{"tier": {Unchanged: 2}}},
			map[string]string{"a@x.example": "[gold] -", "b@x.example": "[] -", "c@x.example": "[] -", "d@x.example": "[vip] -", "e@x.example": "[] -"}},
	} {
		for _, name := range storeNames(t) {
			t.Run(fmt.Sprintf("%s/%s", tc.missing, name), func(t *testing.T) {
				t.Parallel()
				s := newObjectStore(t, name)
				cfg := importer.Config{Sink: s}
				runJob(t, cfg, importer.Job{Source: csvSource(t, "tiers.csv", "name\ngold\nvip\n"), Schema: tierSchema, Identity: importer.SyncOn("name")})
				job := importer.Job{Schema: contacts, Links: []importer.Link{
					{Field: "tiers", Object: "tier", Schema: tierSchema, Key: intake.Keys("name"), Many: true, Missing: tc.missing},
					{Field: "main_tier", Object: "tier", Schema: tierSchema, Key: intake.Keys("name"), Missing: tc.missing},
				}}
				rep := runDryThenReal(t, cfg, "c.csv", file, job)
				assert.Equal(t, tc.want, linkCountsOf(rep))
				names := map[string]string{}
				for name, r := range scanObject(t, s, tierSchema, "name") {
					names[r.ID] = name
				}
				if tc.missing == importer.MissingCreate {
					assert.Equal(t, map[string]bool{"gold": true, "vip": true, "platinum": true}, valuesOf(names), "platinum, spelt as its option")
					for _, e := range rep.Errors {
						switch e.Line {
						case 4:
							assert.Equal(t, intake.CodeInvalidMultiSelect, e.Code)
							assert.Contains(t, e.Message, `"diamond"`)
							assert.Equal(t, "tiers", e.Column)
						case 5:
							assert.Equal(t, intake.CodeUnknownLink, e.Code)
							assert.Contains(t, e.Message, `"\u00a0"`)
						case 6:
							assert.Equal(t, intake.CodeInvalidSelect, e.Code)
							assert.Equal(t, "main_tier", e.Field)
							assert.Contains(t, e.Message, `"Diamond"`)
						default:
							t.Errorf("line %d rejected: %v", e.Line, e)
						}
					}
				}
				got := map[string]string{}
				for email, r := range scanObject(t, s, storedSchema(t, s, intake.ObjectContact), "email") {
					var ts []string
					for _, id := range r.Get("tier_record_ids").Items() {
						ts = append(ts, names[id])
					}
					main := "-"
					if id := r.Get("tier_record_id"); !id.IsNull() {
						main = names[id.String()]
					}
					got[email] = fmt.Sprint(ts) + " " + main
				}
				assert.Equal(t, tc.tiers, got)
			})
		}
	}
}

func valuesOf(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, v := range m {
		out[v] = true
	}
	return out
}

// TestLinksDryRunBeyondItsMemory: a dry run that remembers fewer
// targets than it would create (Config.DryRunRecords) finds them all the
// same, by hash, and counts as the real run does (without Update, whose
// counts beyond the limit are approximate: see Link.Update).
func TestLinksDryRunBeyondItsMemory(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(multiHeader)
	for round := range 3 {
		for i := range 6 {
			fmt.Fprintf(&b, "c%d-%d@x.example,C,d%d.example,Name %d,type%d\n", round, i, i, i, round%2)
		}
	}
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			rep := runDryThenReal(t, importer.Config{Sink: s, BatchSize: 4, DryRunRecords: 2}, "c.csv", b.String(),
				importer.Job{Links: []importer.Link{companyLink(false)}})
			assert.Equal(t, &importer.ObjectCounts{Created: 6, Unchanged: 12}, rep.Objects[intake.ObjectAccount])
			assert.Len(t, scanObject(t, s, intake.AccountSchema(), "domain"), 6)
		})
	}
}
