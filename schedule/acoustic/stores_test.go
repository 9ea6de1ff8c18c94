package acoustic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/acoustic"
	"github.com/intakehq/intake/sink/export"
)

// Tests of what a user of several maps on one store relies on: each
// states what the package documentation or the ImportList documentation
// promises.

// typedCreateMap creates a database with a typed custom column (Spend,
// TYPE 2), keyed on EMAIL.
const typedCreateMap = `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION><LIST_NAME>Shop</LIST_NAME></LIST_INFO>
<COLUMNS>
  <COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE><KEY_COLUMN>true</KEY_COLUMN></COLUMN>
  <COLUMN><NAME>Spend</NAME><TYPE>2</TYPE></COLUMN>
</COLUMNS>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>Spend</NAME></COLUMN></MAPPING></LIST_IMPORT>`

// buildJob loads a map and builds its job against st, returning the
// error of either step.
func buildJob(t *testing.T, st store, xml, data string) (importer.Job, error) {
	t.Helper()
	a, err := acoustic.Load(strings.NewReader(xml))
	if err != nil {
		return importer.Job{}, err
	}
	spec, err := a.JobSpec()
	if err != nil {
		return importer.Job{}, err
	}
	return spec.Job(context.Background(), st, csvSource(t, "in.csv", data))
}

// TestLaterMapKeepsStoredColumnTypes: after a CREATE map has made Spend a
// numeric column, a later map that updates the database maps Spend —
// without COLUMNS, as Acoustic needs COLUMNS only on CREATE or to add
// columns, or with COLUMNS that give it another TYPE ("TYPE: the type of
// a new field") — and runs: the stored field keeps its type.
func TestLaterMapKeepsStoredColumnTypes(t *testing.T) {
	t.Parallel()
	later := map[string]string{
		"without COLUMNS": `<LIST_IMPORT><LIST_INFO><ACTION>UPDATE_ONLY</ACTION><LIST_ID>Shop</LIST_ID></LIST_INFO>
<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>Spend</NAME></COLUMN></MAPPING></LIST_IMPORT>`,
		"COLUMNS with another TYPE": `<LIST_IMPORT><LIST_INFO><ACTION>ADD_AND_UPDATE</ACTION><LIST_ID>Shop</LIST_ID></LIST_INFO>
<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>Spend</NAME><TYPE>0</TYPE></COLUMN></COLUMNS>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>Spend</NAME></COLUMN></MAPPING></LIST_IMPORT>`,
	}
	for storeName, st := range stores(t) {
		runMap(t, st, typedCreateMap, "EMAIL,Spend\nann@x.io,1.5\n")
		spend := 2
		for name, xml := range later {
			spend++ // each later map changes the value
			t.Run(storeName+"/"+name, func(t *testing.T) {
				job, err := buildJob(t, st, xml, fmt.Sprintf("EMAIL,Spend\nann@x.io,%d.5\n", spend))
				require.NoError(t, err, "a later map that maps an existing column runs")
				rep := runJob(t, importer.Config{Sink: st}, job)
				assert.EqualValues(t, 1, rep.Updated, "%+v", rep)
				schema, err := st.Schema(context.Background(), intake.ObjectContact)
				require.NoError(t, err)
				assert.Equal(t, intake.TypeDecimal, schema.Field(schema.Index("spend")).Type, "the stored type is kept")
			})
		}
	}
}

// TestUpdateMapAddsColumnsBesideExistingOnes: on an action other than
// CREATE, COLUMNS lists the columns to add ("needed on CREATE or when
// adding columns"); the MAPPING may name the database's existing columns
// too: only CREATE's COLUMNS list every column of its database.
func TestUpdateMapAddsColumnsBesideExistingOnes(t *testing.T) {
	t.Parallel()
	mem := newMem(t)
	seed(t, mem, intake.ContactSchema(), "email,city\nann@x.io,Oslo\n")
	xml := `<LIST_IMPORT><LIST_INFO><ACTION>ADD_AND_UPDATE</ACTION><LIST_ID>7</LIST_ID></LIST_INFO>
<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
<COLUMNS><COLUMN><NAME>Loyalty</NAME><TYPE>2</TYPE></COLUMN></COLUMNS>
<MAPPING>
  <COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN>
  <COLUMN><INDEX>2</INDEX><NAME>City</NAME></COLUMN>
  <COLUMN><INDEX>3</INDEX><NAME>Loyalty</NAME></COLUMN>
</MAPPING></LIST_IMPORT>`
	_, err := acoustic.Load(strings.NewReader(xml))
	require.NoError(t, err, "COLUMNS of an update adds columns; City is a column of the database")
	_, rep := runMap(t, mem, xml, "EMAIL,City,Loyalty\nann@x.io,Rome,12\n")
	assert.EqualValues(t, 1, rep.Updated, "%+v", rep)
	recs := contactsByEmail(t, mem)
	assert.Equal(t, "Rome", recs["ann@x.io"].Get("city").String())
	assert.Equal(t, "12", recs["ann@x.io"].Get("loyalty").String())
}

// TestColumnMetaOnContactFields: IS_REQUIRED and DEFAULT_VALUE are kept
// as field metadata (doc.go's element table) — also on the columns that
// are fields of the contact schema (EMAIL, First Name, Birthday), as in
// the documentation's own CREATE example, where EMAIL is required.
func TestColumnMetaOnContactFields(t *testing.T) {
	t.Parallel()
	xml := `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION><LIST_NAME>L</LIST_NAME></LIST_INFO>
<COLUMNS>
  <COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE><IS_REQUIRED>true</IS_REQUIRED></COLUMN>
  <COLUMN><NAME>First Name</NAME><TYPE>0</TYPE><IS_REQUIRED>true</IS_REQUIRED><DEFAULT_VALUE>Friend</DEFAULT_VALUE></COLUMN>
  <COLUMN><NAME>Birthday</NAME><TYPE>3</TYPE><DEFAULT_VALUE>01/01/2000</DEFAULT_VALUE></COLUMN>
</COLUMNS>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>First Name</NAME></COLUMN><COLUMN><INDEX>3</INDEX><NAME>Birthday</NAME></COLUMN></MAPPING></LIST_IMPORT>`
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			a, rep := runMap(t, st, xml, "EMAIL,First,Birthday\nann@x.io,,\n")
			assert.EqualValues(t, 1, rep.Created, "%+v", rep)
			schema, err := st.Schema(context.Background(), intake.ObjectContact)
			require.NoError(t, err)
			meta := func(f string) map[string]string { return schema.Field(schema.Index(f)).Meta }
			kept := meta("email")["acoustic_required"] == "true" && meta("first_name")["acoustic_required"] == "true" &&
				meta("first_name")["acoustic_default"] == "Friend" && meta("birthday")["acoustic_default"] == "01/01/2000"
			named := false
			for _, w := range a.Warnings {
				named = named || strings.Contains(w.Element, "IS_REQUIRED") || strings.Contains(w.Element, "DEFAULT_VALUE")
			}
			assert.True(t, kept || named, "IS_REQUIRED/DEFAULT_VALUE of contact fields are neither kept (email %v, first_name %v, birthday %v) nor named in a warning (%v)",
				meta("email"), meta("first_name"), meta("birthday"), a.Warnings)
			assert.True(t, contactsByEmail(t, st)["ann@x.io"].Get("first_name").IsNull(), "DEFAULT_VALUE is never written")
		})
	}
}

// TestKeyColumnBesideSyncFieldsWarns: with SYNC_FIELDS, a KEY_COLUMN is
// not the key and no uniqueness is enforced: the element has no effect in
// Intake, and such an element is named once as a warning.
func TestKeyColumnBesideSyncFieldsWarns(t *testing.T) {
	t.Parallel()
	a := loadAcoustic(t, elementMap("ADD_AND_UPDATE", "", `<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN>
		<COLUMN><NAME>Customer Id</NAME><TYPE>0</TYPE><KEY_COLUMN>true</KEY_COLUMN></COLUMN></COLUMNS>`, "",
		`<COLUMN><INDEX>2</INDEX><NAME>Customer Id</NAME></COLUMN>`))
	assert.Equal(t, []intake.KeySpec{intake.Keys("email")}, a.Rules(), "SYNC_FIELDS are the key")
	assert.Contains(t, warned(a), `COLUMNS/COLUMN "Customer Id"/KEY_COLUMN`, "warnings: %v", a.Warnings)
}

// TestFieldNameCollisionNamesElementAndLine: two columns that become one
// field ("City" and "CITY": Acoustic's names are case-sensitive, Intake's
// field names are not) make a map Intake cannot run as its author meant;
// like every such error it names the element, its line and its value.
func TestFieldNameCollisionNamesElementAndLine(t *testing.T) {
	t.Parallel()
	xml := `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION><LIST_NAME>L</LIST_NAME></LIST_INFO>
<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>City</NAME><TYPE>0</TYPE></COLUMN><COLUMN><NAME>CITY</NAME><TYPE>0</TYPE></COLUMN></COLUMNS>
<MAPPING>
  <COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN>
  <COLUMN><INDEX>2</INDEX><NAME>City</NAME></COLUMN>
  <COLUMN><INDEX>3</INDEX><NAME>CITY</NAME></COLUMN>
</MAPPING></LIST_IMPORT>`
	a, err := acoustic.Load(strings.NewReader(xml))
	if err == nil {
		_, err = a.JobSpec()
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 6", "the line of the second MAPPING/COLUMN")
	assert.Contains(t, err.Error(), `MAPPING/COLUMN "CITY"`)
}

// TestIndexBeyondTheFileNamesTheMapping: a MAPPING/COLUMN whose INDEX
// the source file does not have fails the run; the error names the map's
// column (its NAME), not only the mapping spec's internal column number.
func TestIndexBeyondTheFileNamesTheMapping(t *testing.T) {
	t.Parallel()
	mem := newMem(t)
	xml := elementMap("ADD_AND_UPDATE", "", "", "", `<COLUMN><INDEX>9</INDEX><NAME>City</NAME></COLUMN>`)
	job, err := buildJob(t, mem, xml, "EMAIL,City\nann@x.io,Rome\n")
	if err == nil {
		im, ierr := importer.New(importer.Config{Sink: mem})
		require.NoError(t, ierr)
		_, err = im.Run(context.Background(), job)
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "City", "the error names the Acoustic column whose INDEX is 9")
}

// TestColumnNamedOptedOutKeepsItsValue: a database column "Opted Out"
// (text) must not become a second "opted_out" beside the record's own
// status, which every export writes under that name (the reason the
// system column OPTED_OUT becomes opted_out_date).
func TestColumnNamedOptedOutKeepsItsValue(t *testing.T) {
	t.Parallel()
	mem := newMem(t)
	xml := `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION><LIST_NAME>L</LIST_NAME></LIST_INFO>
<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>Opted Out</NAME><TYPE>0</TYPE></COLUMN></COLUMNS>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>Opted Out</NAME></COLUMN></MAPPING></LIST_IMPORT>`
	a, err := acoustic.Load(strings.NewReader(xml))
	require.NoError(t, err)
	if _, err := a.JobSpec(); err != nil {
		assert.Contains(t, err.Error(), "Opted Out", "a refusal names the column")
		return
	}
	_, rep := runMap(t, mem, xml, "EMAIL,Opted Out\nann@x.io,via phone\n")
	require.EqualValues(t, 1, rep.Created, "%+v", rep)
	schema, err := mem.Schema(context.Background(), intake.ObjectContact)
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = export.Export(context.Background(), &out, export.FormatJSONL, schema, mem, export.Options{})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &m))
	found := false
	for _, v := range m {
		found = found || v == "via phone"
	}
	assert.True(t, found, "the column's value is in the export: %s", out.String())
	out.Reset()
	_, err = export.Export(context.Background(), &out, export.FormatCSV, schema, mem, export.Options{})
	require.NoError(t, err)
	header := strings.Split(strings.SplitN(out.String(), "\n", 2)[0], ",")
	assert.Len(t, header, len(slices.Compact(slices.Sorted(slices.Values(header)))), "the CSV header names each column once: %v", header)
}

// TestHandlerKeepsTemplateSourceOptions: HandlerConfig.Job's Source says
// how the Runner reaches the upload directory (its Connector, Path and
// the connector's settings in Options); the handler adds map_file and
// notify_email to those settings.
func TestHandlerKeepsTemplateSourceOptions(t *testing.T) {
	t.Parallel()
	store, clock := setup(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "map.xml"), []byte(updateMap), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.csv"), []byte("EMAIL,City\nann@x.io,Rome\n"), 0o600))
	var got schedule.Job
	rec := &recorder{reply: func(_ context.Context, job schedule.Job, _ schedule.Run) (*importer.Report, error) {
		got = job
		return &importer.Report{Status: importer.StatusSucceeded}, nil
	}}
	s := newScheduler(t, store, clock, rec)
	h, err := acoustic.NewHandler(acoustic.HandlerConfig{
		Scheduler: s, Store: store, UploadDir: dir,
		Job:       schedule.Job{Source: schedule.SourceSpec{Connector: "sftp", Path: "/uploads", Options: map[string]string{"account": "eu-1"}}},
		Actor:     func(*http.Request) (string, error) { return "api-user", nil },
		Authorize: func(context.Context, string, schedule.Permission, string) error { return nil },
	})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader(`<Envelope><Body><ImportList><MAP_FILE>map.xml</MAP_FILE><SOURCE_FILE>in.csv</SOURCE_FILE></ImportList></Body></Envelope>`)))
	require.Contains(t, w.Body.String(), "<SUCCESS>TRUE</SUCCESS>", w.Body.String())
	tick(t, s)
	assert.Equal(t, "/uploads/in.csv", got.Source.Path)
	assert.Equal(t, "eu-1", got.Source.Options["account"], "the template's connector settings are kept: %v", got.Source.Options)
	assert.Equal(t, filepath.Join(dir, "map.xml"), got.Source.Options["map_file"])
}

// TestHonorFalseResubscribesAContactOptedOutAsAWhole: HONOR_OPT_OUT_STATUS
// false: "the file's status wins" — also for a contact an OPT_OUT import
// opted out (a record opted out as a whole counts as opted out on the
// email channel).
func TestHonorFalseResubscribesAContactOptedOutAsAWhole(t *testing.T) {
	t.Parallel()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			seed(t, st, intake.ContactSchema(), "email\nann@x.io\n")
			runMap(t, st, `<LIST_IMPORT><LIST_INFO><ACTION>OPT_OUT</ACTION></LIST_INFO>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`, "EMAIL\nann@x.io\n")
			require.True(t, contactsByEmail(t, st)["ann@x.io"].OptedOut)
			_, rep := runMap(t, st, `<LIST_IMPORT><LIST_INFO><ACTION>ADD_AND_UPDATE</ACTION></LIST_INFO>
<CONSENT><CHANNEL/><HONOR_OPT_OUT_STATUS>false</HONOR_OPT_OUT_STATUS></CONSENT>
<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>CONSENT_STATUS_CODE</NAME></COLUMN></MAPPING></LIST_IMPORT>`,
				"EMAIL,STATUS\nann@x.io,OPTED-IN\n")
			assert.EqualValues(t, 1, rep.Updated, "%+v", rep)
			ann := contactsByEmail(t, st)["ann@x.io"]
			assert.Equal(t, "opted_in", ann.Get("email_consent").String())
			assert.False(t, ann.OptedOut, "HONOR_OPT_OUT_STATUS false: the file's OPTED-IN wins; the contact is no longer opted out")
		})
	}
}
