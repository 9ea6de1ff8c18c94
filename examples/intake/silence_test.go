package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	silenceAccounts = "account_id,name\nA-1,Acme\nA-2,Globex\n"
	silenceContacts = "email,first_name,account_id,Notes\nkim@acme.example,Kim,A-1,vip\nnia@x.example,Nia,A-9,\n"
)

// silenceReport is the part of the run report these tests read.
type silenceReport struct {
	Status  string
	Created int64
	Links   map[string]map[string]int64
	Reasons map[string]int64
	Source  struct {
		Mapping, Ignored, Skipped []string
	}
	Errors []struct {
		Line int
		Code string
	}
}

func decodeSilence(t *testing.T, out string) silenceReport {
	t.Helper()
	var r silenceReport
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	return r
}

// setupSilence returns a store URL in a temp dir and a function that
// writes a file into the dir.
func setupSilence(t *testing.T) (store string, write func(name, data string) string) {
	t.Helper()
	dir := t.TempDir()
	write = func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		return p
	}
	return "sqlite:" + filepath.Join(dir, "intake.db"), write
}

// A contact file's account_id links to the accounts without -link, keeps
// the reference of an unknown account, and the export carries it; the
// column no field takes is in the report.
func TestImportLinksAccountIDAndReportsIgnoredColumns(t *testing.T) {
	t.Parallel()
	store, write := setupSilence(t)
	code, _, stderr := cli(t, "import", "-store", store, "-object", "account", write("accounts.csv", silenceAccounts))
	require.Equal(t, 0, code, stderr)
	contacts := write("contacts.csv", silenceContacts)

	code, out, stderr := cli(t, "import", "-store", store, "-json", contacts)
	require.Equal(t, 0, code, stderr)
	r := decodeSilence(t, out)
	assert.EqualValues(t, 2, r.Created)
	assert.Equal(t, map[string]int64{"found": 1, "empty": 1}, r.Links["account_id"])
	assert.Contains(t, r.Source.Mapping, "account_id → account_id")
	assert.Equal(t, []string{"Notes"}, r.Source.Ignored)

	code, out, stderr = cli(t, "import", "-store", store, contacts)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `ignored columns`)
	assert.Contains(t, out, `"Notes": not imported`)
	assert.Contains(t, out, "-mapping")

	rows := exportCSV(t, store)
	require.Len(t, rows, 3)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	require.Contains(t, col, "account_id")
	require.Contains(t, col, "account_record_id")
	accounts := exportCSV(t, store, "-object", "account", "-fields", "account_id")
	require.Len(t, accounts, 3)
	byEmail := map[string][]string{}
	for _, row := range rows[1:] {
		byEmail[row[col["email"]]] = row
	}
	assert.Equal(t, "A-1", byEmail["kim@acme.example"][col["account_id"]])
	assert.NotEmpty(t, byEmail["kim@acme.example"][col["account_record_id"]])
	assert.Equal(t, "A-9", byEmail["nia@x.example"][col["account_id"]], "an unknown account's reference is kept")
	assert.Empty(t, byEmail["nia@x.example"][col["account_record_id"]])

	// -on-unknown decides otherwise.
	code, out, stderr = cli(t, "import", "-store", store, "-on-unknown", "reject", "-json", contacts)
	require.Equal(t, 0, code, stderr)
	r = decodeSilence(t, out)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "unknown_link", r.Errors[0].Code)
	assert.Equal(t, 3, r.Errors[0].Line)

	// map suggest maps the column as the import does; the spec's skip is
	// on purpose.
	code, out, stderr = cli(t, "map", "suggest", contacts)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"field": "account_id"`)
	code, out, stderr = cli(t, "import", "-store", store, "-mapping", write("spec.json", out), "-json", contacts)
	require.Equal(t, 0, code, stderr)
	r = decodeSilence(t, out)
	assert.Equal(t, map[string]int64{"found": 1, "empty": 1}, r.Links["account_id"])
	assert.Equal(t, []string{"Notes"}, r.Source.Skipped)
}

// A store without accounts keeps a contact file's account_id.
func TestImportKeepsAccountIDWithoutAccounts(t *testing.T) {
	t.Parallel()
	store, write := setupSilence(t)
	code, out, stderr := cli(t, "import", "-store", store, "-json", write("contacts.csv", silenceContacts))
	require.Equal(t, 0, code, stderr)
	r := decodeSilence(t, out)
	assert.Equal(t, "succeeded", r.Status)
	assert.EqualValues(t, 2, r.Created)
	rows := exportCSV(t, store, "-fields", "email,account_id")
	assert.Equal(t, [][]string{{"email", "account_id", "opted_out"}, {"kim@acme.example", "A-1", "false"}, {"nia@x.example", "A-9", "false"}}, rows)
}

// A sync field that no column maps fails the import before its first
// row, naming the field; nothing is written.
func TestImportSyncFieldNotMapped(t *testing.T) {
	t.Parallel()
	store, write := setupSilence(t)
	contacts := write("contacts.csv", silenceContacts)
	for _, args := range [][]string{{"-sync", "phone"}, {"-sync", "phone", "-json"}, {"-rules", "contact_id; phone"}} {
		code, _, stderr := cli(t, append(append([]string{"import", "-store", store}, args...), contacts)...)
		assert.Equal(t, 1, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, "phone", args)
		assert.Contains(t, stderr, "not mapped", args)
	}
	assert.Len(t, exportCSV(t, store), 1, "no contact was written")

	code, out, stderr := cli(t, "import", "-store", store, "-rules", "contact_id; email; phone", "-json", contacts)
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 2, decodeSilence(t, out).Created, "a rule set with one mapped rule runs")
}

// A date column with one bad value in four imports the other three in the
// format they show.
func TestImportDateColumnWithABadValue(t *testing.T) {
	t.Parallel()
	store, write := setupSilence(t)
	dates := write("dates.csv", "email,birthday\na@x.example,14.03.1985\nb@x.example,02.11.1990\nc@x.example,31/31/2000\nd@x.example,25.12.1970\n")
	code, out, stderr := cli(t, "import", "-store", store, "-json", dates)
	require.Equal(t, 0, code, stderr)
	r := decodeSilence(t, out)
	assert.EqualValues(t, 3, r.Created)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, 4, r.Errors[0].Line)
	assert.Equal(t, "invalid_date", r.Errors[0].Code)
	rows := exportCSV(t, store, "-fields", "email,birthday")
	assert.Contains(t, rows, []string{"a@x.example", "1985-03-14", "false"})

	code, out, stderr = cli(t, "map", "suggest", dates)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"format": "dd.MM.yyyy"`)
	assert.Contains(t, out, "3 of 4 sample values")
}
