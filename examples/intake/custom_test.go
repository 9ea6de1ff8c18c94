package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ticketSpecJSON = `{
  "object": {"name": "ticket", "key": ["ticket_no"],
             "links": [{"field": "contact_email", "object": "contact", "key": "email"}]},
  "fields": [{"name": "ticket_no", "type": "id"},
             {"name": "subject", "type": "text"},
             {"name": "status", "type": "select", "options": ["open", "pending", "closed"]},
             {"name": "contact_email", "type": "email"}],
  "columns": [{"source": "Ticket", "field": "ticket_no"},
              {"source": "Subject", "field": "subject"},
              {"source": "Status", "field": "status"},
              {"source": "Customer", "field": "contact_email"}]}`

// setupObjects returns a temp dir, a SQLite store in it holding two
// contacts, and a function that writes a file into the dir.
func setupObjects(t *testing.T) (store string, write func(name, data string) string) {
	t.Helper()
	dir := t.TempDir()
	store = "sqlite:" + filepath.Join(dir, "intake.db")
	write = func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		return p
	}
	contacts := write("contacts.csv", "email,first_name\nkim@x.example,Kim\nlee@x.example,Lee\n")
	code, _, stderr := cli(t, "import", "-store", store, contacts)
	require.Equal(t, 0, code, stderr)
	return store, write
}

// exportCSV exports an object type of the store as CSV rows.
func exportCSV(t *testing.T, store string, args ...string) [][]string {
	t.Helper()
	code, out, stderr := cli(t, append([]string{"export", "-store", store, "-format", "csv"}, append(args, "-")...)...)
	require.Equal(t, 0, code, stderr)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestImportCustomObjectFromSpec imports tickets, a custom object type
// that a mapping spec defines and links to their contacts, exports them,
// imports the file again (with the spec, then from the store's schema with
// -sync) and updates them.
func TestImportCustomObjectFromSpec(t *testing.T) {
	t.Parallel()
	store, write := setupObjects(t)
	spec := write("tickets.json", ticketSpecJSON)
	tickets := write("tickets.csv", "Ticket,Subject,Status,Customer\n"+
		"T-1,Login fails,open,Kim@x.example\n"+
		"T-2,Invoice,pending,lee@x.example\n"+
		"T-3,Refund,open,ghost@x.example\n")

	code, out, stderr := cli(t, "import", "-store", store, "-mapping", spec, tickets)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "(ticket: add_and_update, sync on ticket_no)", "the spec's object and key")
	assert.Regexp(t, `created\s+2`, out)
	assert.Regexp(t, `link contact_email\s+found 2, rejected 1`, out)

	rows := exportCSV(t, store, "-object", "ticket")
	require.Len(t, rows, 3)
	assert.Equal(t, []string{"ticket_no", "subject", "status", "contact_email", "contact_record_id", "opted_out"}, rows[0])
	assert.Len(t, exportCSV(t, store), 3, "the contacts are untouched")
	assert.Equal(t, "kim@x.example", rows[1][3])
	assert.NotEmpty(t, rows[1][4], "T-1 links to Kim")
	assert.NotEqual(t, rows[1][4], rows[2][4], "T-2 links to Lee")

	// The same file again, with the spec: unchanged (the custom fields the
	// store holds now are not declared twice).
	code, out, stderr = cli(t, "import", "-store", store, "-mapping", spec, "-json", tickets)
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.EqualValues(t, 2, r.Unchanged)
	assert.EqualValues(t, 1, r.Rejected)
	assert.Contains(t, out, `"contact_email"`, "the -json report has the link's counts")

	// Without the spec, the store's schema and -sync; the columns are
	// matched by header to the stored fields.
	plain := write("tickets-plain.csv", "ticket_no,subject,status,contact_email\nT-1,Login fails,closed,kim@x.example\nT-4,New,open,lee@x.example\n")
	code, out, stderr = cli(t, "import", "-store", store, "-object", "ticket", "-sync", "ticket_no", "-link", "contact_email=contact.email", "-json", plain)
	require.Equal(t, 0, code, stderr)
	r = decodeReport(t, out)
	assert.EqualValues(t, 1, r.Updated)
	assert.EqualValues(t, 1, r.Created)
	rows = exportCSV(t, store, "-object", "ticket", "-fields", "ticket_no,status,contact_record_id")
	require.Len(t, rows, 4)
	assert.Equal(t, []string{"T-1", "closed"}, rows[1][:2])
	assert.Equal(t, "T-4", rows[3][0])
	assert.Equal(t, rows[2][2], rows[3][2], "T-4 links to Lee, as T-2 does")
}

// TestImportCustomObjectCompositeKey imports a custom type related to
// nothing, keyed by two fields.
func TestImportCustomObjectCompositeKey(t *testing.T) {
	t.Parallel()
	store, write := setupObjects(t)
	spec := write("lines.json", `{"object": {"name": "order_line", "key": ["order_no", "line_no"]},
		"fields": [{"name": "order_no", "type": "id"}, {"name": "line_no", "type": "id"}, {"name": "qty", "type": "number"}],
		"columns": [{"source": "Order", "field": "order_no"}, {"source": "Line", "field": "line_no"}, {"source": "Qty", "field": "qty"}]}`)
	lines := write("lines.csv", "Order,Line,Qty\nO-1,1,2\nO-1,2,1\nO-2,1,5\n")
	for run, want := range []int64{3, 0} {
		code, out, stderr := cli(t, "import", "-store", store, "-mapping", spec, "-json", lines)
		require.Equal(t, 0, code, stderr)
		r := decodeReport(t, out)
		assert.Equal(t, want, r.Created, "run %d", run+1)
		assert.Equal(t, 3-want, r.Unchanged, "run %d", run+1)
	}
	update := write("lines2.csv", "Order,Line,Qty\nO-1,1,3\nO-1,3,1\n")
	code, out, stderr := cli(t, "import", "-store", store, "-mapping", spec, "-json", update)
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.EqualValues(t, 1, r.Updated)
	assert.EqualValues(t, 1, r.Created, "O-1/3: both key fields must match")
	rows := exportCSV(t, store, "-object", "order_line")
	require.Len(t, rows, 5)
	assert.Equal(t, []string{"O-1", "1", "3", "false"}, rows[1])
	assert.Len(t, exportCSV(t, store), 3, "the contacts are untouched")
}

// TestImportSpecFieldsTwice imports contacts with a spec that declares a
// custom field twice in a row: the second run finds the field in the
// store and does not declare it twice.
func TestImportSpecFieldsTwice(t *testing.T) {
	t.Parallel()
	store, write := setupObjects(t)
	spec := write("spec.json", `{"fields": [{"name": "loyalty_tier", "type": "select", "options": ["gold", "silver"]}],
		"columns": [{"source": "email", "field": "email"}, {"source": "tier", "field": "loyalty_tier"}]}`)
	file := write("tiers.csv", "email,tier\nkim@x.example,gold\n")
	for run, want := range []int64{1, 0} {
		code, out, stderr := cli(t, "import", "-store", store, "-mapping", spec, "-json", file)
		require.Equal(t, 0, code, stderr)
		r := decodeReport(t, out)
		assert.Equal(t, want, r.Updated, "run %d", run+1)
		assert.Equal(t, 1-want, r.Unchanged, "run %d", run+1)
	}
	wider := write("spec2.json", `{"fields": [{"name": "loyalty_tier", "type": "select", "options": ["gold", "silver", "bronze"]}],
		"columns": [{"source": "email", "field": "email"}, {"source": "tier", "field": "loyalty_tier"}]}`)
	code, out, stderr := cli(t, "import", "-store", store, "-mapping", wider, "-json", write("bronze.csv", "email,tier\nlee@x.example,bronze\n"))
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 1, decodeReport(t, out).Updated, "the spec's new option applies")
	clash := write("spec3.json", `{"fields": [{"name": "loyalty_tier", "type": "number"}], "columns": [{"source": "email", "field": "email"}]}`)
	code, _, stderr = cli(t, "import", "-store", store, "-mapping", clash, file)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `custom field "loyalty_tier" is declared as decimal, and the store holds it as select`)
}

// TestMapSuggestObjects suggests mappings for accounts, for a custom type
// the store holds, and again for a spec's custom type; each suggestion
// imports as that type.
func TestMapSuggestObjects(t *testing.T) {
	t.Parallel()
	store, write := setupObjects(t)
	accounts := write("accounts.csv", "Account ID,Company,Domain\nA-1,Acme,acme.example\n")
	code, out, stderr := cli(t, "map", "suggest", "-object", "account", accounts)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"name": "account"`)
	accSpec := write("accounts.json", out)
	code, out, stderr = cli(t, "import", "-store", store, "-mapping", accSpec, "-json", accounts)
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 1, decodeReport(t, out).Created)
	assert.Len(t, exportCSV(t, store, "-object", "account"), 2)

	// Activities: the columns no field takes stay out of the suggestion,
	// so that the import keeps them as properties, as it does without one.
	events := write("events.csv", "event_id,email,type,Page URL\ne1,kim@x.example,view,/pricing\n")
	code, out, stderr = cli(t, "map", "suggest", "-object", "activity", events)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"name": "activity"`)
	assert.NotContains(t, out, "Page URL")
	code, _, stderr = cli(t, "import", "-store", store, "-mapping", write("events.json", out), events)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, [][]string{{"event_id", "page_url", "opted_out"}, {"e1", "/pricing", "false"}}, exportCSV(t, store, "-object", "activity", "-fields", "event_id,page_url"))

	spec := write("tickets.json", ticketSpecJSON)
	tickets := write("tickets.csv", "Ticket,Subject,Status,Customer\nT-1,Login,open,kim@x.example\n")
	code, out, stderr = cli(t, "map", "suggest", "-mapping", spec, tickets)
	require.Equal(t, 0, code, stderr)
	var got struct {
		Object struct {
			Name string
			Key  []string
		}
		Fields  []map[string]any
		Columns []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "ticket", got.Object.Name)
	assert.Equal(t, []string{"ticket_no"}, got.Object.Key)
	assert.Len(t, got.Fields, 4, "the spec's fields are kept")
	suggested := write("suggested.json", out)
	code, out, stderr = cli(t, "import", "-store", store, "-mapping", suggested, "-json", tickets)
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 1, decodeReport(t, out).Created)

	// The store knows tickets now.
	other := write("other.csv", "ticket_no,status\nT-9,open\n")
	code, out, stderr = cli(t, "map", "suggest", "-store", store, "-object", "ticket", other)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"field": "ticket_no"`)
	assert.Contains(t, out, `"field": "status"`)
	assert.Contains(t, out, `"name": "ticket"`)
}

// TestCustomObjectUsageErrors: every way to call an import or export of a
// custom type wrongly is a usage error that says what to do.
func TestCustomObjectUsageErrors(t *testing.T) {
	t.Parallel()
	store, write := setupObjects(t)
	spec := write("tickets.json", ticketSpecJSON)
	tickets := write("tickets.csv", "Ticket,Subject,Status,Customer\nT-1,Login,open,kim@x.example\n")
	badKey := write("bad.json", strings.Replace(ticketSpecJSON, `"key": ["ticket_no"]`, `"key": ["ticket_nr"]`, 1))
	teamLink := write("team.json", strings.Replace(ticketSpecJSON, `"object": "contact", "key": "email"`, `"object": "team", "key": "email"`, 1))
	bareSpec := write("bare.json", `{"object": {"name": "ticket", "key": ["ticket_no"]}, "columns": [{"source": "Ticket", "field": "ticket_no"}]}`)
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown type without a spec", []string{"import", "-store", store, "-object", "ticket", "-sync", "ticket_no", tickets}, `the store holds no ticket records and no schema for them: give -mapping`},
		{"spec contradicts -object", []string{"import", "-store", store, "-object", "account", "-mapping", spec, tickets}, `-object: "account" contradicts the mapping's object section, which imports ticket records: leave -object out`},
		{"bad key in the spec", []string{"import", "-store", store, "-mapping", badKey, tickets}, `object.key[0]: "ticket_nr" is not a field of ticket`},
		{"custom type without fields", []string{"import", "-store", store, "-mapping", bareSpec, tickets}, `ticket is a custom object type: declare its fields in "fields"`},
		{"link to an unknown custom type", []string{"import", "-store", store, "-mapping", teamLink, tickets}, "link contact_email: the store holds no team records"},
		{"link given twice", []string{"import", "-store", store, "-mapping", spec, "-link", "contact_email=contact.email", tickets}, "-link: contact_email is linked by the mapping's object section already: give it once"},
		{"acoustic with an object", []string{"import", "-store", store, "-acoustic-map", spec, "-object", "ticket", tickets}, "-acoustic-map imports contacts"},
		{"export of an unknown type", []string{"export", "-store", store, "-object", "widget", "-format", "csv", "-"}, "the store holds no widget records"},
		{"suggest for an unknown type", []string{"map", "suggest", "-object", "ticket", tickets}, "-object ticket is a custom object type: give -store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := cli(t, tc.args...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.stderr)
		})
	}
	// Once the store knows tickets, -object ticket without a spec needs
	// -sync.
	code, _, stderr := cli(t, "import", "-store", store, "-mapping", spec, tickets)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = cli(t, "import", "-store", store, "-object", "ticket", tickets)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "give -sync (or -rules) with the fields that identify one (ticket_no, subject, status, contact_email, contact_record_id)")
	// A spec without fields then takes them from the store.
	code, out, stderr := cli(t, "import", "-store", store, "-mapping", bareSpec, "-json", tickets)
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 1, decodeReport(t, out).Unchanged)
}

const multiFile = "email,first_name,company_domain,company_name,lists\n" +
	"kim@x.example,Kim,acme.example,Acme,vip;news\n" +
	"lee@x.example,Lee,acme.example,Acme Inc,news\n" +
	"nia@x.example,Nia,globex.example,Globex,\n"

// importLists imports two lists, a custom type keyed by name.
func importLists(t *testing.T, store string, write func(name, data string) string) {
	t.Helper()
	spec := write("lists.json", `{"object": {"name": "list", "key": ["name"]}, "fields": [{"name": "name", "type": "text"}],
		"columns": [{"source": "name", "field": "name"}]}`)
	code, _, stderr := cli(t, "import", "-store", store, "-mapping", spec, write("lists.csv", "name\nvip\nnews\n"))
	require.Equal(t, 0, code, stderr)
}

// checkMultiObject checks the accounts and contacts that multiFile leaves
// in the store: one account per domain, named by the last row that names
// it, and each contact linked to its account and lists.
func checkMultiObject(t *testing.T, store string) {
	t.Helper()
	accounts := exportCSV(t, store, "-object", "account", "-fields", "domain,name")
	assert.Equal(t, [][]string{{"domain", "name", "opted_out"}, {"acme.example", "Acme Inc", "false"}, {"globex.example", "Globex", "false"}}, accounts)
	contacts := exportCSV(t, store, "-fields", "email,company_domain,account_record_id,lists,list_record_ids")
	require.Len(t, contacts, 4)
	assert.Equal(t, contacts[1][2], contacts[2][2], "Kim and Lee share Acme")
	assert.NotEqual(t, contacts[1][2], contacts[3][2])
	assert.NotContains(t, contacts[0], "company_name", "the account's name is the account's, not the contact's")
	assert.Equal(t, "vip|news", contacts[1][3])
	kimLists := strings.Split(contacts[1][4], "|")
	require.Len(t, kimLists, 2)
	assert.Equal(t, kimLists[1], contacts[2][4], "Lee is on the news list, as Kim is")
	assert.Empty(t, contacts[3][4])
}

// TestImportMultiObjectAndManyFlags imports contacts that carry their
// account and list their lists, with -link options: the accounts are
// created and updated from the rows, the lists found by name.
func TestImportMultiObjectAndManyFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "intake.db")
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		return p
	}
	importLists(t, store, write)
	file := write("multi.csv", multiFile)
	links := "company_domain=account.domain[company_name:name update],lists=list.name[many]"
	code, out, stderr := cli(t, "import", "-store", store, "-link", links, "-on-unknown", "create", file)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `created\s+3`, out)
	assert.Regexp(t, `account \(linked\)\s+created 2, updated 1, unchanged 0\n\s+list \(linked\)\s+created 0, updated 0, unchanged 3\n`, out)
	assert.NotContains(t, out, "linked records:", "the counts are printed once, in the report")
	checkMultiObject(t, store)

	code, out, stderr = cli(t, "import", "-store", store, "-link", links, "-on-unknown", "create", "-json", file)
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.EqualValues(t, 3, r.Unchanged, "the same file again changes nothing")
	var objects struct {
		Objects map[string]map[string]int64
	}
	require.NoError(t, json.Unmarshal([]byte(out), &objects))
	acc := objects.Objects["account"]
	require.NotNil(t, acc, "the -json report counts per object type: %s", out)
	assert.EqualValues(t, 0, acc["created"])
	assert.EqualValues(t, 3, acc["updated"]+acc["unchanged"], "three references to accounts, whose names the rows set in turn")
	checkMultiObject(t, store)

	for _, tc := range []struct{ link, want string }{
		{"lists=list.name[many", "close the options in one pair of brackets"},
		{"lists=list.name[often]", `unknown option "often"`},
	} {
		code, _, stderr = cli(t, "import", "-store", store, "-link", tc.link, file)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, tc.want)
	}
}

// TestImportMultiObjectFromSpec does what TestImportMultiObjectAndManyFlags
// does with the links of a mapping spec.
func TestImportMultiObjectFromSpec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "intake.db")
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		return p
	}
	importLists(t, store, write)
	spec := write("contacts.json", `{"object": {"name": "contact", "key": ["email"], "links": [
		{"field": "company_domain", "object": "account", "key": "domain", "missing": "create", "update": true, "fields": {"company_name": "name"}},
		{"field": "lists", "object": "list", "key": "name", "many": true}]},
	  "columns": [{"source": "email", "field": "email"}, {"source": "first_name", "field": "first_name"},
	              {"source": "company_domain", "field": "company_domain"}, {"source": "company_name", "field": "company_name"},
	              {"source": "lists", "field": "lists", "separator": ";"}]}`)
	code, out, stderr := cli(t, "import", "-store", store, "-mapping", spec, "-json", write("multi.csv", multiFile))
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.EqualValues(t, 3, r.Created)
	checkMultiObject(t, store)
}

// TestImportDeleteUnlinks deletes a contact that a ticket links to: with
// -unlink remove the ticket loses the link; with keep (the default) it
// keeps it.
func TestImportDeleteUnlinks(t *testing.T) {
	t.Parallel()
	for _, unlink := range []string{"keep", "remove"} {
		t.Run(unlink, func(t *testing.T) {
			t.Parallel()
			store, write := setupObjects(t)
			tickets := write("tickets.csv", "Ticket,Subject,Status,Customer\nT-1,Login,open,kim@x.example\nT-2,Invoice,open,lee@x.example\n")
			code, _, stderr := cli(t, "import", "-store", store, "-mapping", write("tickets.json", ticketSpecJSON), tickets)
			require.Equal(t, 0, code, stderr)
			gone := write("gone.csv", "email\nkim@x.example\n")
			code, out, stderr := cli(t, "import", "-store", store, "-on-match", "delete", "-on-no-match", "skip", "-reason", "erasure request",
				"-unlink", unlink, "-json", gone)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, `"deleted": 1`)
			rows := exportCSV(t, store, "-object", "ticket", "-fields", "ticket_no,contact_record_id")
			require.Len(t, rows, 3)
			assert.Equal(t, unlink == "remove", rows[1][1] == "", "T-1's link to the deleted contact: %v", rows[1])
			assert.NotEmpty(t, rows[2][1], "T-2 links to Lee, who stays")
		})
	}
	store, write := setupObjects(t)
	file := write("gone.csv", "email\nkim@x.example\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-unlink", "drop"}, `-unlink: "drop": use keep or remove`},
		{[]string{"-unlink", "remove"}, "-unlink: remove takes away the links to the records an import deletes or anonymizes: set -on-match to delete or anonymize"},
	} {
		code, _, stderr := cli(t, append(append([]string{"import", "-store", store}, tc.args...), file)...)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, tc.want)
	}
}
