package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/pgtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// setup returns a temp dir holding the quickstart's files and a store URL in it.
func setup(t *testing.T) (dir, store string) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range []string{"contacts.csv", "contacts-update.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "quickstart", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
	}
	return dir, "sqlite:" + filepath.Join(dir, "intake.db")
}

// cli runs the command and returns its exit status, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	assert.NotContains(t, errb.String(), "goroutine ", "no stack trace reaches a user")
	assert.NotContains(t, errb.String(), "panic", "no panic reaches a user")
	return code, out.String(), errb.String()
}

type report struct {
	Status                                                         string
	Rows, Created, Updated, Unchanged, Skipped, OptedOut, Rejected int64
	Warned                                                         int64
	Errors, Warnings                                               []struct {
		Line                         int
		Column, Field, Code, Message string
	}
}

func decodeReport(t *testing.T, s string) report {
	t.Helper()
	var r report
	require.NoError(t, json.Unmarshal([]byte(s), &r), s)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &raw))
	r.OptedOut = int64(raw["opted_out"].(float64))
	return r
}

func TestImportJSONReportAndExport(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	code, out, stderr := cli(t, "import", "-store", store, "-json", filepath.Join(dir, "contacts.csv"))
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.Equal(t, "succeeded", r.Status)
	assert.EqualValues(t, 12, r.Rows)
	assert.EqualValues(t, 8, r.Created)
	assert.EqualValues(t, 1, r.Updated)
	assert.EqualValues(t, 3, r.Rejected)
	assert.Equal(t, r.Rows, r.Created+r.Updated+r.Unchanged+r.Skipped+r.OptedOut+r.Rejected)
	require.Len(t, r.Errors, 3)
	assert.Equal(t, "invalid_email", r.Errors[0].Code)
	assert.Equal(t, "E-Mail", r.Errors[0].Column)
	assert.Empty(t, stderr, "-json keeps stderr quiet")

	// flags after the file work too
	code, out, stderr = cli(t, "import", filepath.Join(dir, "contacts-update.csv"), "-store", store, "-json")
	require.Equal(t, 0, code, stderr)
	r = decodeReport(t, out)
	assert.EqualValues(t, 2, r.Created)
	assert.EqualValues(t, 2, r.Updated)
	assert.EqualValues(t, 1, r.Unchanged)

	jsonl := filepath.Join(dir, "out.jsonl")
	code, _, stderr = cli(t, "export", "-store", store, jsonl)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(readFile(t, jsonl)), "\n")
	require.Len(t, lines, 10)
	byEmail := map[string]map[string]any{}
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		byEmail[m["email"].(string)] = m
	}
	anna := byEmail["anna.schmidt@example.de"]
	require.NotNil(t, anna)
	assert.Equal(t, "+49301234567", anna["phone"], "phones in E.164")
	assert.Equal(t, "1985-03-14", anna["birthday"], "dates as YYYY-MM-DD")
	assert.Equal(t, "1900", anna["lifetime_value"], "decimals as plain number strings")
	assert.Equal(t, "DE", anna["country"], "countries as alpha-2")
	assert.Equal(t, false, anna["opted_out"])
	assert.Contains(t, byEmail, "marc.dubois@example.fr", "emails are stored lower-cased")

	csvOut := filepath.Join(dir, "out.csv")
	code, _, stderr = cli(t, "export", "-store", store, "-fields", "email,city,lifetime_value", csvOut)
	require.Equal(t, 0, code, stderr)
	recs, err := csv.NewReader(strings.NewReader(readFile(t, csvOut))).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, []string{"email", "city", "lifetime_value", "opted_out"}, recs[0])
	assert.Len(t, recs, 11)

	xlsxOut := filepath.Join(dir, "out.xlsx")
	code, _, stderr = cli(t, "export", "-store", store, "-fields", "email,contact_id,lifetime_value", xlsxOut)
	require.Equal(t, 0, code, stderr)
	book, err := excelize.OpenFile(xlsxOut)
	require.NoError(t, err)
	rows, err := book.GetRows(book.GetSheetName(0))
	require.NoError(t, err)
	require.NoError(t, book.Close())
	assert.Equal(t, []string{"email", "contact_id", "lifetime_value", "opted_out"}, rows[0])
	assert.Len(t, rows, 11)

	code, _, stderr = cli(t, "export", "-store", store, "-fields", "email,shoe_size", csvOut)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "shoe_size")
}

func TestImportTextReportErrorsFileAndDryRun(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	rejects := filepath.Join(dir, "rejects.csv")
	code, out, stderr := cli(t, "import", "-store", store, "-dry-run", "-errors", rejects, filepath.Join(dir, "contacts.csv"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "dry run")
	assert.Regexp(t, `created\s+8`, out)
	assert.Regexp(t, `rejected\s+3`, out)
	recs, err := csv.NewReader(strings.NewReader(readFile(t, rejects))).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	assert.Equal(t, []string{"7", "invalid_email"}, recs[1][:2])
	assert.Equal(t, "not-an-email", recs[1][6], "the original cells follow the error columns")

	code, out, _ = cli(t, "export", "-store", store, "-format", "jsonl", "-")
	require.Equal(t, 0, code)
	assert.Empty(t, strings.TrimSpace(out), "the dry run wrote nothing")
}

func TestMapSuggestRoundTrip(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	code, out, stderr := cli(t, "map", "suggest", filepath.Join(dir, "contacts.csv"))
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{`"E-Mail"`, `"email"`, `"Mobile"`, `"phone"`, `"Date of Birth"`, `"birthday"`} {
		assert.Contains(t, out, want)
	}
	spec := filepath.Join(dir, "spec.json")
	require.NoError(t, os.WriteFile(spec, []byte(out), 0o600))
	code, out, stderr = cli(t, "import", "-store", store, "-mapping", spec, "-json", filepath.Join(dir, "contacts.csv"))
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 8, decodeReport(t, out).Created)
}

func TestExitStatuses(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	file := filepath.Join(dir, "contacts.csv")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, 2, "no command given"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"no file", []string{"import", "-store", store}, 2, "exactly one FILE"},
		{"unknown flag", []string{"import", "-colour", "red", file}, 2, "flag provided but not defined"},
		{"bad action", []string{"import", "-store", store, "-action", "upsert", file}, 2, `unknown action "upsert"`},
		{"bad delimiter", []string{"import", "-store", store, "-delimiter", "colon", file}, 2, "unknown delimiter"},
		{"bad encoding", []string{"import", "-store", store, "-encoding", "ebcdic", file}, 2, "unknown encoding"},
		{"bad store", []string{"import", "-store", "mysql://x", file}, 2, "unknown store"},
		{"bad postgres URL", []string{"import", "-store", "postgres://a:b@[::1/x", file}, 2, "not a valid URL"},
		{"legacy xls", []string{"import", "-store", store, filepath.Join(dir, "book.xls")}, 2, "legacy .xls"},
		{"sheet of a csv", []string{"import", "-store", store, "-sheet", "Contacts", file}, 2, "-sheet applies to .xlsx"},
		{"acoustic missing", []string{"import", "-store", store, "-acoustic-map", filepath.Join(dir, "m.xml"), file}, 2, "no such file"},
		{"acoustic and mapping", []string{"import", "-store", store, "-acoustic-map", "m.xml", "-mapping", "s.json", file}, 2, "give one of them"},
		{"acoustic and action", []string{"import", "-store", store, "-acoustic-map", "m.xml", "-action", "add_only", file}, 2, "-action conflicts with -acoustic-map"},
		{"bad cadence", []string{"schedule", "next", "every 7m"}, 2, "7 does not divide 60"},
		{"bad zone", []string{"schedule", "next", "-tz", "Mars/Olympus", "daily at 09:00"}, 2, "not a known time zone"},
		{"schedule without next", []string{"schedule", "list"}, 2, "unknown schedule command"},
		{"missing mapping", []string{"import", "-store", store, "-mapping", filepath.Join(dir, "nope.json"), file}, 2, "no such file"},
		{"missing file", []string{"import", "-store", store, filepath.Join(dir, "nope.csv")}, 1, "no such file"},
		{"bad sync field", []string{"import", "-store", store, "-sync", "shoe_size", file}, 2, `-sync: "shoe_size" is not a field of contact`},
		{"export format", []string{"export", "-store", store, filepath.Join(dir, "out.txt")}, 2, "-format: unknown format"},
		{"help", []string{"help"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, tt.args...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.stderr)
		})
	}
}

func TestImportOfAnEmptyFileFails(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	empty := filepath.Join(dir, "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	code, out, stderr := cli(t, "import", "-store", store, "-json", empty)
	assert.Equal(t, 1, code)
	assert.Equal(t, "failed", decodeReport(t, out).Status)
	assert.Contains(t, stderr, "empty")
}

// TestImportXLSXSheet imports the second, named sheet of a workbook made
// with excelize: a 13-digit number stays exact and a date cell becomes a date.
func TestImportXLSXSheet(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	book := filepath.Join(dir, "contacts.xlsx")
	f := excelize.NewFile()
	_, err := f.NewSheet("Contacts")
	require.NoError(t, err)
	require.NoError(t, f.SetSheetRow("Sheet1", "A1", &[]any{"not", "this", "sheet"}))
	require.NoError(t, f.SetSheetRow("Contacts", "A1", &[]any{"E-Mail", "Customer ID", "Date of Birth"}))
	require.NoError(t, f.SetSheetRow("Contacts", "A2", &[]any{"zoe@example.com", 4912345678901, time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)}))
	require.NoError(t, f.SetSheetRow("Contacts", "A3", &[]any{"not-an-email", 2, nil}))
	require.NoError(t, f.SaveAs(book))
	require.NoError(t, f.Close())

	code, out, stderr := cli(t, "import", "-store", store, "-sheet", "Contacts", "-json", book)
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	src := reportSource(t, out)
	assert.Equal(t, "xlsx", src["format"])
	assert.NotContains(t, src, "delimiter", "a workbook has no delimiter")
	assert.NotContains(t, src, "encoding", "nor an encoding")
	assert.EqualValues(t, 1, r.Created)
	assert.EqualValues(t, 1, r.Rejected)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, 3, r.Errors[0].Line, "XLSX rows keep their sheet row numbers")

	code, out, stderr = cli(t, "export", "-store", store, "-fields", "email,contact_id,birthday", "-format", "jsonl", "-")
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `{"email":"zoe@example.com","contact_id":"4912345678901","birthday":"1990-05-17","opted_out":false}`, strings.TrimSpace(out))

	code, _, stderr = cli(t, "import", "-store", store, "-sheet", "Nope", book)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "sheet not found")
}

// reportSource returns the "source" object of a JSON report.
func reportSource(t *testing.T, s string) map[string]any {
	t.Helper()
	var r struct {
		Source map[string]any `json:"source"`
	}
	require.NoError(t, json.Unmarshal([]byte(s), &r), s)
	return r.Source
}

// TestImportReportsEncodingAndDelimiter: a UTF-8 file with one invalid byte
// keeps its names, rejects that byte's row, and both reports say which
// encoding and delimiter were used and why.
func TestImportReportsEncodingAndDelimiter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "f.csv")
	require.NoError(t, os.WriteFile(file, []byte("email,first_name,city\na@x.com,J\xc3\xb6rg,K\xc3\xb6ln\nb@x.com,Ann,Bad\xffByte\n"), 0o600))
	const reason = "2 UTF-8 characters and 1 byte that is not UTF-8 in the file: read as UTF-8; rows holding such bytes are rejected (invalid_encoding)"

	code, out, stderr := cli(t, "import", "-store", "memory:", "-json", file)
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.EqualValues(t, 2, r.Rows)
	assert.EqualValues(t, 1, r.Created)
	assert.EqualValues(t, 1, r.Rejected)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, 3, r.Errors[0].Line)
	assert.Equal(t, "city", r.Errors[0].Column)
	assert.Equal(t, "invalid_encoding", r.Errors[0].Code)
	src := reportSource(t, out)
	assert.Equal(t, "csv", src["format"])
	assert.Equal(t, "utf-8", src["encoding"])
	assert.Equal(t, reason, src["encoding_reason"])
	assert.Equal(t, "comma", src["delimiter"])
	assert.NotContains(t, src, "delimiter_reason")

	code, out, stderr = cli(t, "import", "-store", "memory:", file)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "  encoding   utf-8 ("+reason+")\n")
	assert.Contains(t, out, "  delimiter  comma\n")
	assert.Contains(t, out, "line 3  \"city\"  invalid_encoding")

	code, out, stderr = cli(t, "import", "-store", "memory:", "-encoding", "windows-1252", "-delimiter", "comma", file)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "  encoding   windows-1252 (set explicitly)\n")
	assert.Contains(t, out, "  delimiter  comma (set explicitly)\n")
	assert.Contains(t, out, "  rejected   0\n", "every byte is a character in Windows-1252")
}

const acousticXML = `<LIST_IMPORT>
  <LIST_INFO>
    <ACTION>ADD_AND_UPDATE</ACTION>
    <LIST_ID>3462</LIST_ID>
    <FILE_TYPE>2</FILE_TYPE>
    <HASHEADERS>false</HASHEADERS>
    <LIST_DATE_FORMAT>dd.mm.yyyy</LIST_DATE_FORMAT>
  </LIST_INFO>
  <SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
  <COLUMNS>
    <COLUMN><NAME>Loyalty Tier</NAME><TYPE>6</TYPE><SELECTION_VALUES><VALUE>Gold</VALUE><VALUE>Silver</VALUE></SELECTION_VALUES></COLUMN>
    <COLUMN><NAME>Birthday</NAME><TYPE>3</TYPE></COLUMN>
  </COLUMNS>
  <MAPPING>
    <COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN>
    <COLUMN><INDEX>2</INDEX><NAME>Loyalty Tier</NAME></COLUMN>
    <COLUMN><INDEX>3</INDEX><NAME>Birthday</NAME></COLUMN>
    <COLUMN><INDEX>4</INDEX><NAME>Notes</NAME><INCLUDE>false</INCLUDE></COLUMN>
  </MAPPING>
</LIST_IMPORT>`

// TestImportWithAcousticMap: an Acoustic LIST_IMPORT mapping file sets the
// action, the sync field, the pipe delimiter, the missing header, the date
// format and a custom select field; a value outside the select is left
// empty and reported (as Acoustic, which does not check types), or with
// -acoustic-strict rejects its row.
func TestImportWithAcousticMap(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	xmlPath := filepath.Join(dir, "map.xml")
	require.NoError(t, os.WriteFile(xmlPath, []byte(acousticXML), 0o600))
	data := filepath.Join(dir, "list.txt")
	require.NoError(t, os.WriteFile(data, []byte("ann@x.io|gold|24.12.1990|vip\nbob@x.io|Platinum|01.02.1980|\nANN@x.io|Silver||\n"), 0o600))
	code, out, stderr := cli(t, "import", "-store", "memory:", "-acoustic-map", xmlPath, "-json", data)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "warning", "every element of this map has its effect")
	r := decodeReport(t, out)
	assert.Equal(t, []int64{2, 1, 0, 1}, []int64{r.Created, r.Updated, r.Rejected, r.Warned}, out)
	require.Len(t, r.Warnings, 1)
	assert.Equal(t, "invalid_select", r.Warnings[0].Code)
	assert.Equal(t, 2, r.Warnings[0].Line)

	warnPath := filepath.Join(dir, "warn.xml")
	require.NoError(t, os.WriteFile(warnPath, []byte(strings.Replace(acousticXML, "<LIST_ID>3462</LIST_ID>", "<LIST_ID>3462</LIST_ID><LIST_VISIBILITY>1</LIST_VISIBILITY>", 1)), 0o600))
	code, _, stderr = cli(t, "import", "-store", "memory:", "-acoustic-map", warnPath, "-dry-run", data)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `warning: line 4: LIST_INFO/LIST_VISIBILITY "1": no effect`)

	code, out, stderr = cli(t, "import", "-store", store, "-acoustic-map", xmlPath, "-acoustic-strict", "-json", data)
	require.Equal(t, 0, code, stderr)
	r = decodeReport(t, out)
	assert.EqualValues(t, 1, r.Created)
	assert.EqualValues(t, 1, r.Updated, "ADD_AND_UPDATE on EMAIL: the third row updates the first")
	assert.EqualValues(t, 1, r.Rejected)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "invalid_select", r.Errors[0].Code)

	code, out, stderr = cli(t, "export", "-store", store, "-format", "jsonl", "-fields", "email,birthday,loyalty_tier", "-")
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `{"email":"ann@x.io","birthday":"1990-12-24","loyalty_tier":"Silver","opted_out":false}`, strings.TrimSpace(out))

	bad := filepath.Join(dir, "bad.xml")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(acousticXML, "<INDEX>3</INDEX><NAME>Birthday</NAME>", "<INDEX>3</INDEX><NAME>birthday</NAME>", 1)), 0o600))
	code, _, stderr = cli(t, "import", "-store", store, "-acoustic-map", bad, data)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `"birthday"`, "a mapping NAME that matches no column (names are case-sensitive) is named")
}

// TestImportFromURLs imports over http:// from a real server on loopback
// and from a file:// URL; a missing remote file is a plain failure.
func TestImportFromURLs(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	code, out, stderr := cli(t, "import", "-store", store, "-json", srv.URL+"/contacts.csv")
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 8, decodeReport(t, out).Created)

	code, out, stderr = cli(t, "import", "-store", store, "-json", "file://"+filepath.Join(dir, "contacts-update.csv"))
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 2, decodeReport(t, out).Created)

	code, _, stderr = cli(t, "import", "-store", store, srv.URL+"/nope.csv")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "404")

	code, _, stderr = cli(t, "import", "-store", store, "gopher://example.com/x.csv")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "gopher")
}

// TestScheduleNext prints run times across the spring-forward night in
// Berlin: 02:30 does not exist on 2026-03-29, so that run is at 03:00.
func TestScheduleNext(t *testing.T) {
	t.Parallel()
	code, out, stderr := cli(t, "schedule", "next", "-tz", "Europe/Berlin", "-from", "2026-03-27T12:00:00+01:00", "-count", "3", "daily at 02:30")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "2026-03-28T02:30:00+01:00\n2026-03-29T03:00:00+02:00\n2026-03-30T02:30:00+02:00\n", out)
	code, out, stderr = cli(t, "schedule", "next", "-from", "2026-01-01T00:07:00Z", "-count", "2", "every", "15m")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "2026-01-01T00:15:00Z\n2026-01-01T00:30:00Z\n", out)
}

// TestPostgresStore imports and exports through -store postgres://…, in a
// schema of its own. It needs INTAKE_TEST_POSTGRES.
func TestPostgresStore(t *testing.T) {
	t.Parallel()
	base := pgtest.URL(t)
	schema := pgtest.Schema(t)
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	store := u.String()

	dir, _ := setup(t)
	code, out, stderr := cli(t, "import", "-store", store, "-json", filepath.Join(dir, "contacts.csv"))
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 8, decodeReport(t, out).Created)
	code, out, stderr = cli(t, "import", "-store", store, "-json", filepath.Join(dir, "contacts-update.csv"))
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.Equal(t, []int64{2, 2, 1}, []int64{r.Created, r.Updated, r.Unchanged})

	code, out, stderr = cli(t, "export", "-store", store, "-format", "jsonl", "-fields", "email,city", "-")
	require.Equal(t, 0, code, stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 10)
	assert.Contains(t, out, `{"email":"anna.schmidt@example.de","city":"Hamburg","opted_out":false}`)

	// A custom object type from a mapping spec, linked to the contacts.
	spec := filepath.Join(dir, "tickets.json")
	require.NoError(t, os.WriteFile(spec, []byte(ticketSpecJSON), 0o600))
	tickets := filepath.Join(dir, "tickets.csv")
	require.NoError(t, os.WriteFile(tickets, []byte("Ticket,Subject,Status,Customer\nT-1,Login,open,anna.schmidt@example.de\nT-2,Refund,open,ghost@x.example\n"), 0o600))
	for run, want := range []int64{1, 0} {
		code, out, stderr = cli(t, "import", "-store", store, "-mapping", spec, "-json", tickets)
		require.Equal(t, 0, code, stderr)
		r = decodeReport(t, out)
		assert.Equal(t, []int64{want, 1 - want, 1}, []int64{r.Created, r.Unchanged, r.Rejected}, "run %d", run+1)
	}
	code, out, stderr = cli(t, "export", "-store", store, "-object", "ticket", "-format", "jsonl", "-fields", "ticket_no,contact_email", "-")
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `{"ticket_no":"T-1","contact_email":"anna.schmidt@example.de","opted_out":false}`, out)

	// Jobs live in the same schema: saved, run here, listed with the run.
	jobFile := filepath.Join(dir, "job.json")
	require.NoError(t, os.WriteFile(jobFile, []byte(`{"version": 1, "rules": ["contact_id", "email"], "tags": ["pg"]}`), 0o600))
	code, out, stderr = cli(t, "job", "create", "-store", store, "-source", filepath.Join(dir, "contacts-update.csv"), jobFile)
	require.Equal(t, 0, code, stderr)
	id := strings.TrimSpace(out)
	code, out, stderr = cli(t, "job", "run", "-store", store, "-runs", filepath.Join(dir, "runs"), "-wait", "-json", id)
	require.Equal(t, 0, code, stderr)
	r = decodeReport(t, out)
	assert.Equal(t, []int64{5, 0, 5, 0}, []int64{r.Rows, r.Created, r.Updated, r.Unchanged}, "the tag is new to every record the file holds")
	code, out, stderr = cli(t, "job", "runs", "-store", store, id)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `manual\s+succeeded\s+\S+\s+5\s+0\s+5\s+0`, out)
	var n int
	require.NoError(t, pgtest.NewPool(t, "").QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".intake_jobs").Scan(&n))
	assert.Equal(t, 1, n, "the job store's tables are in the store's schema")

	code, _, stderr = cli(t, "import", "-store", "postgres://nobody:secret@127.0.0.1:1/none", filepath.Join(dir, "contacts.csv"))
	assert.Equal(t, 1, code)
	assert.NotContains(t, stderr, "secret", "the password never reaches the user's terminal")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestImportRulesMatrixAndExplain: identity rules, a lifecycle action with
// its reason, memberships and an explained dry run, through the CLI.
func TestImportRulesMatrixAndExplain(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	first := filepath.Join(dir, "first.csv")
	require.NoError(t, os.WriteFile(first, []byte("contact_id,email,city\nC-1,anna@example.de,Bonn\nC-2,ben@example.de,Köln\n"), 0o600))
	code, _, stderr := cli(t, "import", "-store", store, "-lists", "newsletter", first)
	require.Equal(t, 0, code, stderr)

	second := filepath.Join(dir, "second.csv")
	require.NoError(t, os.WriteFile(second, []byte("contact_id,email,city\n,ANNA@example.de,Berlin\nC-2,anna@example.de,\n"), 0o600))
	code, out, stderr := cli(t, "import", "-store", store, "-rules", "contact_id; email", "-dry-run", "-explain", "5", second)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "sync on contact_id, else email")
	assert.Contains(t, out, `line 2: update by email "anna@example.de"`)
	assert.Contains(t, out, `city: "Bonn" → "Berlin"`)
	assert.Contains(t, out, "line 3: reject (conflict)")

	code, _, stderr = cli(t, "import", "-store", store, "-on-match", "delete", "-on-no-match", "skip", first)
	assert.Equal(t, 2, code)
	assert.Equal(t, "intake: -on-match delete needs -reason: why the records are deleted (kept in the audit log)\n", stderr)

	code, out, stderr = cli(t, "import", "-store", store, "-on-match", "delete", "-on-no-match", "skip", "-reason", "erasure request", "-json", first)
	require.Equal(t, 0, code, stderr)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	assert.EqualValues(t, 2, raw["deleted"])

	code, _, stderr = cli(t, "import", "-store", store, "-on-match", "merge", first)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown on-match choice "merge"`)
	code, _, stderr = cli(t, "import", "-store", store, "-rules", "md5(email)[x]", first)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown email rules")
}

// TestExportWithID: export -id writes each record's id first, the id that
// -rules id(FIELD) matches: an update by it finds the record.
func TestExportWithID(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	code, _, stderr := cli(t, "import", "-store", store, filepath.Join(dir, "contacts.csv"))
	require.Equal(t, 0, code, stderr)
	code, out, stderr := cli(t, "export", "-store", store, "-id", "-fields", "email", "-format", "csv", "-")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "id,email,opted_out", lines[0])
	id, email, _ := strings.Cut(lines[1], ",")
	email, _, _ = strings.Cut(email, ",")
	require.NotEmpty(t, id)
	upd := filepath.Join(dir, "byid.csv")
	require.NoError(t, os.WriteFile(upd, []byte("rid,city\n"+id+",Lyon\n"), 0o600))
	spec := filepath.Join(dir, "byid.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"fields": [{"name": "rid", "type": "id"}], "columns": [{"source": "rid", "field": "rid"}, {"source": "city", "field": "city"}]}`), 0o600))
	code, out, stderr = cli(t, "import", "-store", store, "-action", "update_only", "-rules", "id(rid)", "-mapping", spec, "-json", upd)
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 1, decodeReport(t, out).Updated, out)
	code, out, _ = cli(t, "export", "-store", store, "-id", "-fields", "email,city", "-format", "csv", "-")
	require.Equal(t, 0, code)
	assert.Contains(t, out, id+","+email+",Lyon,")
}
