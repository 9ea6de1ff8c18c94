package acoustic_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule/acoustic"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
)

// The five kinds of map the ImportList documentation shows, each rebuilt
// here from its element list: a new database with its columns, a flexible
// database without an email key (RECIPIENT_ID), an update on sync fields
// without LIST_ID, an opt-out of MD5-hashed addresses, and an SMS consent
// import. Each must run; the tests check what each element did.

// createDatabaseMap creates a database keyed on EMAIL (KEY_COLUMN), with
// typed columns, a required column, a default value, a select, a column
// left out, and contact lists.
const createDatabaseMap = `<?xml version="1.0" encoding="UTF-8"?>
<LIST_IMPORT>
  <LIST_INFO>
    <ACTION>CREATE</ACTION>
    <LIST_TYPE>0</LIST_TYPE>
    <LIST_NAME>Spring fair</LIST_NAME>
    <LIST_VISIBILITY>1</LIST_VISIBILITY>
    <PARENT_FOLDER_PATH>Fairs/2026</PARENT_FOLDER_PATH>
    <FILE_TYPE>0</FILE_TYPE>
    <HASHEADERS>true</HASHEADERS>
  </LIST_INFO>
  <COLUMNS>
    <COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE><IS_REQUIRED>true</IS_REQUIRED><KEY_COLUMN>true</KEY_COLUMN></COLUMN>
    <COLUMN><NAME>Customer Id</NAME><TYPE>0</TYPE><IS_REQUIRED>true</IS_REQUIRED></COLUMN>
    <COLUMN><NAME>Visit</NAME><TYPE>3</TYPE><DEFAULT_VALUE>01/01/2001</DEFAULT_VALUE></COLUMN>
    <COLUMN><NAME>Spend</NAME><TYPE>2</TYPE></COLUMN>
    <COLUMN><NAME>Tier</NAME><TYPE>6</TYPE><SELECTION_VALUES><VALUE>Gold</VALUE><VALUE>Silver</VALUE></SELECTION_VALUES></COLUMN>
  </COLUMNS>
  <MAPPING>
    <COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME><INCLUDE>true</INCLUDE></COLUMN>
    <COLUMN><INDEX>2</INDEX><NAME>Customer Id</NAME><INCLUDE>true</INCLUDE></COLUMN>
    <COLUMN><INDEX>3</INDEX><NAME>Visit</NAME><INCLUDE>true</INCLUDE></COLUMN>
    <COLUMN><INDEX>4</INDEX><NAME>Spend</NAME><INCLUDE>true</INCLUDE></COLUMN>
    <COLUMN><INDEX>5</INDEX><NAME>Tier</NAME><INCLUDE>true</INCLUDE></COLUMN>
    <COLUMN><INDEX>6</INDEX><NAME>Spend</NAME><INCLUDE>false</INCLUDE></COLUMN>
  </MAPPING>
  <CONTACT_LISTS><CONTACT_LIST_ID>289032</CONTACT_LIST_ID></CONTACT_LISTS>
</LIST_IMPORT>`

// flexibleMap creates a flexible database: no email, RECIPIENT_ID the
// unique identifier (TYPE 9, required, key), no sync fields.
const flexibleMap = `<LIST_IMPORT>
  <LIST_INFO><ACTION>CREATE</ACTION><LIST_TYPE>0</LIST_TYPE><LIST_NAME>Walk-ins</LIST_NAME><FILE_TYPE>2</FILE_TYPE><HASHEADERS>false</HASHEADERS></LIST_INFO>
  <COLUMNS>
    <COLUMN><NAME>RECIPIENT_ID</NAME><TYPE>9</TYPE><IS_REQUIRED>true</IS_REQUIRED><KEY_COLUMN>true</KEY_COLUMN></COLUMN>
    <COLUMN><NAME>Name</NAME><TYPE>0</TYPE></COLUMN>
    <COLUMN><NAME>Phone</NAME><TYPE>16</TYPE></COLUMN>
  </COLUMNS>
  <MAPPING>
    <COLUMN><INDEX>1</INDEX><NAME>Name</NAME></COLUMN>
    <COLUMN><INDEX>2</INDEX><NAME>Phone</NAME></COLUMN>
  </MAPPING>
</LIST_IMPORT>`

// updateMapNoListID updates contacts matched on their sync field, with
// no LIST_ID: the host's store is the list.
const updateMapNoListID = `<LIST_IMPORT>
  <LIST_INFO><ACTION>UPDATE_ONLY</ACTION><FILE_TYPE>0</FILE_TYPE><HASHEADERS>true</HASHEADERS><LIST_DATE_FORMAT>dd.mm.yyyy</LIST_DATE_FORMAT></LIST_INFO>
  <SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
  <MAPPING>
    <COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN>
    <COLUMN><INDEX>2</INDEX><NAME>City</NAME></COLUMN>
  </MAPPING>
</LIST_IMPORT>`

// optOutMD5Map opts out the contacts whose address hashes to a digest of
// the file; the EMAIL column is declared TYPE 9 as in a database.
const optOutMD5Map = `<LIST_IMPORT>
  <LIST_INFO><ACTION>OPT_OUT</ACTION><LIST_ID>7</LIST_ID><FILE_TYPE>0</FILE_TYPE><HASHEADERS>true</HASHEADERS><ENCODED_AS_MD5>true</ENCODED_AS_MD5></LIST_INFO>
  <SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
  <COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN></COLUMNS>
  <MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING>
</LIST_IMPORT>`

// consentMap imports SMS consent, matched on the mobile number.
const consentMap = `<LIST_IMPORT>
  <LIST_INFO><ACTION>ADD_AND_UPDATE</ACTION><LIST_ID>7</LIST_ID><FILE_TYPE>0</FILE_TYPE><HASHEADERS>true</HASHEADERS></LIST_INFO>
  <CONSENT>
    <CHANNEL>SMS</CHANNEL>
    <TEXT_TO_JOIN_PROGRAM_ID>1234</TEXT_TO_JOIN_PROGRAM_ID>
    <HONOR_OPT_OUT_STATUS>HONOR</HONOR_OPT_OUT_STATUS>
    <OVERRIDE_ON_NO_CHANGE>true</OVERRIDE_ON_NO_CHANGE>
  </CONSENT>
  <SYNC_FIELDS><SYNC_FIELD><NAME>Mobile</NAME></SYNC_FIELD></SYNC_FIELDS>
  <MAPPING>
    <COLUMN><INDEX>1</INDEX><NAME>Mobile</NAME><IS_CONSENT>true</IS_CONSENT></COLUMN>
    <COLUMN><INDEX>2</INDEX><NAME>CONSENT_STATUS_CODE</NAME></COLUMN>
    <COLUMN><INDEX>3</INDEX><NAME>CONSENT_DATE</NAME></COLUMN>
    <COLUMN><INDEX>4</INDEX><NAME>CONSENT_SOURCE</NAME></COLUMN>
  </MAPPING>
</LIST_IMPORT>`

// honor sets consentMap's HONOR_OPT_OUT_STATUS element ("" drops it).
func honor(v string) string {
	if v == "-" {
		return strings.Replace(consentMap, "<HONOR_OPT_OUT_STATUS>HONOR</HONOR_OPT_OUT_STATUS>", "", 1)
	}
	return strings.Replace(consentMap, "HONOR</HONOR_OPT_OUT_STATUS>", v+"</HONOR_OPT_OUT_STATUS>", 1)
}

// runMap loads a map, builds its job against mem and runs it on data.
func runMap(t *testing.T, mem sink.Sink, xml, data string) (*acoustic.Map, *importer.Report) {
	t.Helper()
	a := loadAcoustic(t, xml)
	spec, err := a.JobSpec()
	require.NoError(t, err)
	out, err := spec.MarshalIndent()
	require.NoError(t, err)
	back, err := importer.ParseJobSpec(out)
	require.NoError(t, err, "the spec saves and reads back: %s", out)
	src, err := connector.NewCSV(strings.NewReader(data), connector.CSVConfig{Name: "in.csv", NoHeader: !*back.Source.Header})
	require.NoError(t, err)
	job, err := back.Job(context.Background(), mem, src)
	require.NoError(t, err)
	return a, runJob(t, importer.Config{Sink: mem}, job)
}

// warned returns the elements of a map's warnings.
func warned(a *acoustic.Map) []string {
	var out []string
	for _, w := range a.Warnings {
		out = append(out, w.Element)
	}
	return out
}

func newMem(t *testing.T) *memory.Store {
	t.Helper()
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { _ = mem.Close() })
	return mem
}

func TestDocCreateDatabase(t *testing.T) {
	t.Parallel()
	for name, mem := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, rep := runMap(t, mem, createDatabaseMap, "Email,Id,Visit,Spend,Tier,Spend again\n"+
				"ann@x.io,C1,03/15/2026,12.50,Gold,x\n"+
				"ben@x.io,,,not a number,Bronze,y\n"+
				"ANN@x.io,C3,,1,,z\n"+
				"not-an-address,C4,,,,\n")
			assert.ElementsMatch(t, []string{"LIST_INFO/LIST_TYPE", "LIST_INFO/LIST_VISIBILITY", "LIST_INFO/PARENT_FOLDER_PATH",
				`COLUMNS/COLUMN "EMAIL"/IS_REQUIRED`}, warned(a))
			assert.Equal(t, []intake.KeySpec{intake.Keys("email")}, a.Rules(), "KEY_COLUMN EMAIL is the key")
			spec, err := a.JobSpec()
			require.NoError(t, err)
			assert.Equal(t, "Acoustic list Spring fair", spec.Name, "LIST_NAME names the job")
			assert.EqualValues(t, 2, rep.Created, "%+v", rep)
			assert.EqualValues(t, 2, rep.Rejected)
			assert.EqualValues(t, 1, rep.Reasons[intake.CodeDuplicate], "a key met twice in a new database: later rows are duplicates")
			assert.EqualValues(t, 1, rep.Reasons[intake.CodeInvalidEmail], "EMAIL is always checked")
			// Acoustic does not validate data against column types: the cells are
			// emptied and reported, the row imported.
			assert.EqualValues(t, 2, rep.Warned, "%+v", rep.Warnings)
			codes := []intake.Code{}
			for _, w := range rep.Warnings {
				codes = append(codes, w.Code)
			}
			assert.ElementsMatch(t, []intake.Code{"invalid_decimal", "invalid_select"}, codes)
			recs := contactsByEmail(t, mem)
			require.Contains(t, recs, "ben@x.io")
			assert.True(t, recs["ben@x.io"].Get("spend").IsNull())
			assert.True(t, recs["ben@x.io"].Get("visit").IsNull(), "DEFAULT_VALUE is not written into records")
			assert.Equal(t, "2026-03-15", recs["ann@x.io"].Get("visit").String())
			assert.Equal(t, "289032", recs["ann@x.io"].Get("lists").String(), "CONTACT_LISTS")

			schema, err := mem.Schema(ctx, intake.ObjectContact)
			require.NoError(t, err)
			id := schema.Field(schema.Index("customer_id"))
			assert.False(t, id.Required, "IS_REQUIRED is a web-form setting")
			assert.Equal(t, map[string]string{"acoustic_type": "0", "acoustic_required": "true"}, id.Meta)
			visit := schema.Field(schema.Index("visit"))
			assert.Equal(t, intake.TypeDate, visit.Type, "TYPE 3 is a date field")
			assert.Equal(t, "01/01/2001", visit.Meta["acoustic_default"])

			// The schema is not poisoned: a later import without Customer Id runs.
			_, rep = runMap(t, mem, updateMapNoListID, "EMAIL,City\nann@x.io,Bonn\n")
			assert.EqualValues(t, 1, rep.Updated, "%+v", rep)
		})
	}
}

func TestDocFlexibleDatabase(t *testing.T) {
	t.Parallel()
	for name, mem := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, rep := runMap(t, mem, flexibleMap, "Ann|+49 30 1234567\nAnn|+49 30 1234567\nBen|\n")
			assert.Empty(t, a.Rules(), "RECIPIENT_ID is the record id and the file has none: every row is new")
			assert.EqualValues(t, 3, rep.Created, "%+v", rep)
			schema, err := mem.Schema(ctx, intake.ObjectContact)
			require.NoError(t, err)
			assert.Negative(t, schema.Index("recipient_id"), "RECIPIENT_ID is the record's own id, not a field")
			n, err := mem.Count(ctx, intake.ObjectContact)
			require.NoError(t, err)
			assert.EqualValues(t, 3, n)
		})
	}
}

func TestDocUpdateWithoutListID(t *testing.T) {
	t.Parallel()
	for name, mem := range stores(t) {
		t.Run(name, func(t *testing.T) {
			// Two stored contacts share ann@x.io (an earlier import without a key).
			seedMap := `<LIST_IMPORT><LIST_INFO><ACTION>ADD_ONLY</ACTION><LIST_ID>7</LIST_ID></LIST_INFO>
				<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>City</NAME></COLUMN></MAPPING></LIST_IMPORT>`
			a, rep := runMap(t, mem, seedMap, "EMAIL,City\nann@x.io,Oslo\nann@x.io,Rome\nben@x.io,Pisa\n")
			assert.Empty(t, a.Rules(), "ADD_ONLY without sync fields: every row is a new contact")
			assert.EqualValues(t, 3, rep.Created, "%+v", rep)

			a, rep = runMap(t, mem, updateMapNoListID, "EMAIL,City\nANN@x.io,Bonn\nzed@x.io,Graz\n")
			assert.Equal(t, []string{"LIST_INFO/LIST_ID"}, warned(a), "a missing LIST_ID is a warning")
			assert.EqualValues(t, 1, rep.Updated, "%+v", rep)
			assert.EqualValues(t, 2, rep.Records, "several matches: every match is updated")
			assert.EqualValues(t, 1, rep.Skipped, "UPDATE_ONLY skips what matches nothing")
			var cities []string
			ctx := context.Background()
			schema, err := mem.Schema(ctx, intake.ObjectContact)
			require.NoError(t, err)
			require.NoError(t, mem.Scan(ctx, schema, func(r *intake.Record) error {
				cities = append(cities, r.Get("email").String()+" "+r.Get("city").String())
				return nil
			}))
			assert.ElementsMatch(t, []string{"ann@x.io Bonn", "ann@x.io Bonn", "ben@x.io Pisa"}, cities)

			// OPT_OUT opts out every match too.
			_, rep = runMap(t, mem, strings.Replace(updateMapNoListID, "UPDATE_ONLY", "OPT_OUT", 1), "EMAIL,City\nann@x.io,\n")
			assert.EqualValues(t, 1, rep.OptedOut, "%+v", rep)
			assert.EqualValues(t, 2, rep.Records)
			optedOut := 0
			require.NoError(t, mem.Scan(ctx, schema, func(r *intake.Record) error {
				if r.OptedOut {
					assert.Equal(t, "ann@x.io", r.Get("email").String())
					optedOut++
				}
				return nil
			}))
			assert.Equal(t, 2, optedOut)
		})
	}
}

func TestDocOptOutMD5(t *testing.T) {
	t.Parallel()
	for name, mem := range stores(t) {
		t.Run(name, func(t *testing.T) {
			seed(t, mem, intake.ContactSchema(), "email,first_name\nann@x.io,Ann\nben@x.io,Ben\ncid@x.io,Cid\n")
			sum := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
			a, rep := runMap(t, mem, optOutMD5Map, "EMAIL\n"+sum("ann@x.io")+"\n"+strings.ToUpper(sum("cid@x.io"))+"\n"+sum("nobody@x.io")+"\n")
			assert.Equal(t, []intake.KeySpec{{Fields: []string{"email"}, MD5: true}}, a.Rules())
			assert.EqualValues(t, 2, rep.OptedOut, "%+v", rep)
			assert.EqualValues(t, 1, rep.Skipped)
			assert.Zero(t, rep.Rejected, "a digest is no address: TYPE 9 does not reject it")
			assert.Zero(t, rep.Created)
			recs := contactsByEmail(t, mem)
			assert.True(t, recs["ann@x.io"].OptedOut)
			assert.False(t, recs["ben@x.io"].OptedOut, "ben's digest is not listed")
			assert.True(t, recs["cid@x.io"].OptedOut)
		})
	}
}

func TestDocConsent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, honor  string
		resubscribed bool
		warn         bool
	}{
		{"true keeps the opt-out", "true", false, false},
		{"blank keeps the opt-out", "", false, false},
		{"false takes the file's status", "false", true, false},
		{"missing is false", "-", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mem := newMem(t)
			_, rep := runMap(t, mem, honor("true"), "Mobile,Status,Date,Source\n+4915112345678,OPTED-OUT,01/15/2026,shop\n")
			require.EqualValues(t, 1, rep.Created, "%+v", rep)
			a, rep := runMap(t, mem, honor(tc.honor), "Mobile,Status,Date,Source\n+4915112345678,OPTED-IN,02/20/2026 10:30,web\n+4915198765432,OPTED-IN,02/20/2026 10:30:05,\n")
			assert.Equal(t, tc.warn, containsElement(a, "CONSENT/HONOR_OPT_OUT_STATUS"))
			assert.Contains(t, warned(a), "CONSENT/TEXT_TO_JOIN_PROGRAM_ID")
			assert.Zero(t, rep.Rejected, "%+v", rep)
			ctx := context.Background()
			schema, err := mem.Schema(ctx, intake.ObjectContact)
			require.NoError(t, err)
			got := map[string]*intake.Record{}
			require.NoError(t, mem.Scan(ctx, schema, func(r *intake.Record) error {
				got[r.Get("mobile").String()] = r.Clone()
				return nil
			}))
			first := got["+4915112345678"]
			require.NotNil(t, first)
			want := "opted_out"
			if tc.resubscribed {
				want = "opted_in"
			}
			assert.Equal(t, want, first.Get("sms_consent").String())
			second := got["+4915198765432"]
			require.NotNil(t, second)
			assert.Equal(t, "2026-02-20T10:30:05Z", second.Get("sms_consent_date").String(), "CONSENT_DATE as a timestamp")
			assert.Equal(t, "List Import", second.Get("sms_consent_source").String(), "CONSENT_SOURCE's default")
		})
	}
}

func containsElement(a *acoustic.Map, el string) bool {
	for _, w := range a.Warnings {
		if w.Element == el {
			return true
		}
	}
	return false
}

// TestDocConsentOverride: OVERRIDE_ON_NO_CHANGE true replaces the consent
// date and source of a row whose status does not change; false (or blank)
// keeps them.
func TestDocConsentOverride(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		override     string
		date, source string
	}{
		{"true", "2026-02-20T00:00:00Z", "web"},
		{"false", "2026-01-15T00:00:00Z", "shop"},
		{"", "2026-01-15T00:00:00Z", "shop"},
	} {
		t.Run("override="+tc.override, func(t *testing.T) {
			t.Parallel()
			mem := newMem(t)
			m := strings.Replace(honor("true"), "<OVERRIDE_ON_NO_CHANGE>true</OVERRIDE_ON_NO_CHANGE>", "<OVERRIDE_ON_NO_CHANGE>"+tc.override+"</OVERRIDE_ON_NO_CHANGE>", 1)
			_, rep := runMap(t, mem, m, "Mobile,Status,Date,Source\n+4915112345678,OPTED-IN,01/15/2026,shop\n")
			require.EqualValues(t, 1, rep.Created, "%+v", rep)
			_, rep = runMap(t, mem, m, "Mobile,Status,Date,Source\n+4915112345678,OPTED-IN,02/20/2026,web\n")
			require.Zero(t, rep.Rejected, "%+v", rep)
			recs := map[string]*intake.Record{}
			ctx := context.Background()
			schema, err := mem.Schema(ctx, intake.ObjectContact)
			require.NoError(t, err)
			require.NoError(t, mem.Scan(ctx, schema, func(r *intake.Record) error {
				recs[r.Get("mobile").String()] = r.Clone()
				return nil
			}))
			r := recs["+4915112345678"]
			require.NotNil(t, r)
			assert.Equal(t, tc.date, r.Get("sms_consent_date").String())
			assert.Equal(t, tc.source, r.Get("sms_consent_source").String())
		})
	}
}
