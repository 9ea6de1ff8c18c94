package acoustic

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadFile(t *testing.T, name string) (*Map, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	return Load(f)
}

func TestLoadCreate(t *testing.T) {
	t.Parallel()
	a, err := loadFile(t, "create.xml")
	require.NoError(t, err)
	assert.Equal(t, intake.ActionCreate, a.Action)
	assert.Equal(t, "Fair 2026 leads", a.ListName)
	assert.Equal(t, 1, a.ListVisibility)
	assert.Equal(t, "Events/2026", a.ParentFolderPath)
	assert.Equal(t, "tab", a.DelimiterName())
	assert.True(t, a.HasHeaders)
	assert.Equal(t, "dd.MM.yyyy", a.DatePattern())
	assert.Equal(t, &Consent{Channel: "SMS", TextToJoinProgramID: "1234", HonorOptOutStatus: true, OverrideOnNoChange: true}, a.Consent)
	assert.Equal(t, []string{"289032", "12345"}, a.ContactLists)
	assert.Equal(t, []intake.KeySpec{intake.Keys("email")}, a.Rules())
	require.Len(t, a.Columns, 10)
	assert.Equal(t, Column{Name: "Loyalty Tier", Type: 6, FieldType: intake.TypeSelect, Required: true, Options: []string{"Gold", "Silver"}, Line: 29}, a.Columns[4])
	require.Len(t, a.Mapping, 9)
	assert.Equal(t, MappedColumn{Index: 4, Name: "Mobile", Include: true, IsConsent: true, Line: 41}, a.Mapping[3])

	spec, err := a.MappingSpec(intake.ContactSchema())
	require.NoError(t, err)
	meta := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	assert.Equal(t, []mapping.FieldSpec{
		{Name: "mobile", Type: intake.TypePhone, Label: "Mobile", Meta: meta("acoustic_type", "15")},
		{Name: "loyalty_tier", Type: intake.TypeSelect, Options: []string{"Gold", "Silver"}, Label: "Loyalty Tier", Meta: meta("acoustic_type", "6", "acoustic_required", "true")},
		{Name: "interests", Type: intake.TypeMultiSelect, Options: []string{"Wine", "Food"}, Label: "Interests", Meta: meta("acoustic_type", "20")},
		{Name: "newsletter", Type: intake.TypeBool, Label: "Newsletter?", Meta: meta("acoustic_type", "1", "acoustic_default", "no")},
		{Name: "sms_consent", Type: intake.TypeSelect, Options: []string{"OPTED-IN", "OPTED-OUT"}, Label: "CONSENT_STATUS_CODE"},
		{Name: "last_visit", Type: intake.TypeTimestamp, Label: "Last Visit", Meta: meta("acoustic_type", "17")},
		{Name: "score", Type: intake.TypeDecimal, Label: "Score", Meta: meta("acoustic_type", "2")},
		{Name: "strasse", Type: intake.TypeText, Label: "Straße", Meta: meta("acoustic_type", "0")},
	}, spec.Fields, "IS_REQUIRED and DEFAULT_VALUE are metadata")
	assert.Equal(t, mapping.Column{Index: 1, Field: "email", Note: `Acoustic column "EMAIL"`}, spec.Columns[0], "EMAIL is always checked")
	assert.Equal(t, mapping.Column{Index: 3, Field: "birthday", Format: "dd.MM.yyyy", Invalid: "empty", Note: `Acoustic column "Birthday"`}, spec.Columns[2])
	assert.Equal(t, mapping.Column{Index: 4, Field: "mobile", Invalid: "empty", Note: `Acoustic column "Mobile" (consent)`}, spec.Columns[3])
	assert.Equal(t, mapping.Column{Index: 8, Skip: true, Note: `Acoustic column "Last Visit"`}, spec.Columns[7])

	header := []string{"Mail", "Vorname", "Geburtstag", "Handy", "Stufe", "Interessen", "Newsletter", "Besuch", "Consent"}
	p, err := mapping.Compile(spec, intake.ContactSchema(), header, mapping.Options{})
	require.NoError(t, err)
	rec := intake.NewRecord(p.Schema())
	require.NoError(t, p.Map(intake.Row{Line: 2, Cells: []string{"A@Example.com", "Anna", "", "+49 151 23456789", "gold", "wine;food", "", "x", "OPTED-IN"}}, rec))
	assert.Equal(t, map[string]string{"email": "a@example.com", "first_name": "Anna", "mobile": "+4915123456789",
		"loyalty_tier": "Gold", "interests": "Wine|Food", "sms_consent": "OPTED-IN"}, values(rec), "DEFAULT_VALUE is not written into records")
	require.NoError(t, p.Map(intake.Row{Line: 3, Cells: []string{"b@example.com", "", "12.03.1985", "", "Silver"}}, rec))
	assert.Equal(t, "1985-03-12", rec.Get("birthday").String())
	_, err = p.Schema().CompileKey(a.Rules()[0])
	assert.NoError(t, err)
}

func TestLoadUpdate(t *testing.T) {
	t.Parallel()
	a, err := loadFile(t, "update.xml")
	require.NoError(t, err)
	assert.Equal(t, intake.ActionAddAndUpdate, a.Action)
	assert.Equal(t, "85628", a.ListID)
	assert.Equal(t, "pipe", a.DelimiterName())
	assert.False(t, a.HasHeaders)
	assert.Equal(t, []intake.KeySpec{intake.Keys("customer_no", "country")}, a.Rules())
	spec, err := a.MappingSpec(intake.ContactSchema())
	require.NoError(t, err)
	var idx []int
	for _, c := range spec.Columns {
		idx = append(idx, c.Index)
	}
	assert.Equal(t, []int{1, 2, 3, 4}, idx, "columns by INDEX")
	p, err := mapping.Compile(spec, intake.ContactSchema(), nil, mapping.Options{})
	require.NoError(t, err, "a file without headers maps by index")
	rec := intake.NewRecord(p.Schema())
	require.NoError(t, p.Map(intake.Row{Line: 1, Cells: []string{"00042", "Deutschland", "Mar 12, 1985", "Köln"}}, rec))
	assert.Equal(t, map[string]string{"customer_no": "00042", "country": "DE", "birthday": "1985-03-12", "ort": "Köln"}, values(rec))
	_, err = p.Schema().CompileKey(a.Rules()[0])
	assert.NoError(t, err)

	a, err = loadFile(t, "optout_latin1.xml")
	require.NoError(t, err)
	assert.Equal(t, intake.ActionOptOut, a.Action)
	assert.Equal(t, []string{"Straße"}, a.SyncFields)
	assert.Equal(t, []intake.KeySpec{intake.Keys("strasse")}, a.Rules())
	assert.Equal(t, "comma", a.DelimiterName())
}

func TestLoadInconsistent(t *testing.T) {
	t.Parallel()
	_, err := loadFile(t, "inconsistent.xml")
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`line 8: LIST_INFO/LIST_NAM: unknown element (did you mean LIST_NAME?)`,
		`line 5: LIST_INFO/FILE_TYPE: "3" is not one of 0, 1, 2`,
		`line 6: LIST_INFO/HASHEADERS: "maybe" is not a boolean`,
		`LIST_INFO/LIST_DATE_FORMAT: "dd.mm.yyyy HH": "H" is not allowed`,
		`COLUMNS/COLUMN "First Name"/TYPE: "7" is not a known type code`,
		`COLUMNS/COLUMN "Score": declared twice (first on line 12)`,
		`MAPPING/COLUMN "first name"/NAME: "first name" matches no COLUMNS/COLUMN NAME and no system name (names are case-sensitive: the column is "First Name")`,
		`MAPPING/COLUMN "Score"/INDEX: column 1 is mapped twice (also to "first name" on line 17)`,
		`MAPPING/COLUMN "Born"/INDEX: "0" is not a 1-based column position`,
		`MAPPING/COLUMN "Born"/INCLUDE: "sometimes" is not a boolean`,
		`MAPPING/COLUMN "email"/NAME: "email" matches no COLUMNS/COLUMN NAME and no system name (system names are upper case: EMAIL)`,
		`LIST_IMPORT/SYNC_FIELDS: missing: UPDATE_ONLY finds contacts by SYNC_FIELDS, a KEY_COLUMN, USE_RECIPIENT_ID or a mapped EMAIL column`,
		`CONTACT_LISTS/CONTACT_LIST_ID: empty`,
	} {
		assert.Contains(t, msg, want)
	}
	assert.Len(t, strings.Split(msg, "\n"), 13, msg)
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	info := func(s string) string {
		return `<LIST_IMPORT><LIST_INFO>` + s + `</LIST_INFO><MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`
	}
	for _, tt := range []struct{ name, in, want string }{
		{"empty", "", "the mapping file is empty"},
		{"syntax", "<LIST_IMPORT>\n<LIST_INFO>\n<ACTION>CREATE</LIST_INFO>", "line 3: XML syntax error: element <ACTION> closed by </LIST_INFO>"},
		{"entity", "<LIST_IMPORT><LIST_INFO><ACTION>&xxe;</ACTION></LIST_INFO></LIST_IMPORT>", `invalid character entity &xxe;`},
		{"dtd entity", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY big "CREATE">]><LIST_IMPORT><LIST_INFO><ACTION>&big;</ACTION></LIST_INFO></LIST_IMPORT>`, "invalid character entity &big;"},
		{"root", "<IMPORT/>", "the root element is <IMPORT>, want <LIST_IMPORT>"},
		{"two roots", "<LIST_IMPORT/><LIST_IMPORT/>", "a second root element"},
		{"no info", "<LIST_IMPORT/>", "LIST_IMPORT/LIST_INFO: missing"},
		{"no action", info(`<LIST_ID>1</LIST_ID>`), "LIST_INFO/ACTION: missing"},
		{"bad action", info(`<ACTION>UPSERT</ACTION><LIST_ID>1</LIST_ID>`), `LIST_INFO/ACTION: "UPSERT" is not an action`},
		{"lower action", info(`<ACTION>create</ACTION><LIST_NAME>x</LIST_NAME>`), `write the action in upper case (CREATE)`},
		{"repeated", info(`<ACTION>ADD_ONLY</ACTION><ACTION>ADD_ONLY</ACTION><LIST_ID>1</LIST_ID>`), "LIST_INFO/ACTION: repeated (first on line 1)"},
		{"opt out lists", `<LIST_IMPORT><LIST_INFO><ACTION>OPT_OUT</ACTION><LIST_ID>1</LIST_ID></LIST_INFO><SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS><MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING><CONTACT_LISTS><CONTACT_LIST_ID>5</CONTACT_LIST_ID></CONTACT_LISTS></LIST_IMPORT>`, "OPT_OUT does not add contacts to contact lists"},
		{"unmapped sync", `<LIST_IMPORT><LIST_INFO><ACTION>UPDATE_ONLY</ACTION><LIST_ID>1</LIST_ID></LIST_INFO><SYNC_FIELDS><SYNC_FIELD><NAME>CRM ID</NAME></SYNC_FIELD></SYNC_FIELDS><MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`, `"CRM ID" is not mapped`},
		{"mapped twice by name", `<LIST_IMPORT><LIST_INFO><ACTION>ADD_ONLY</ACTION><LIST_ID>1</LIST_ID></LIST_INFO><MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`, `"EMAIL" is mapped twice (also from column 1`},
		{"no mapping", `<LIST_IMPORT><LIST_INFO><ACTION>ADD_ONLY</ACTION><LIST_ID>1</LIST_ID></LIST_INFO></LIST_IMPORT>`, "LIST_IMPORT/MAPPING: missing"},
		{"encoding", `<?xml version="1.0" encoding="EBCDIC"?><LIST_IMPORT/>`, `encoding "EBCDIC" is not supported`},
		{"too big", "<LIST_IMPORT>" + strings.Repeat(" ", MaxMapBytes) + "</LIST_IMPORT>", "larger than"},
		{"deep", strings.Repeat("<LIST_IMPORT>", 20), "nested too deeply"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(strings.NewReader(tt.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	a := &Map{}
	for in, want := range map[string]string{
		"EMAIL": "email", "First Name": "first_name", "Zip/Postal  Code": "zip_postal_code", "Straße": "strasse", "Prénom": "prenom",
		"1st Purchase": "f_1st_purchase", "%%": "f_", "Newsletter?": "newsletter", strings.Repeat("a", 70): strings.Repeat("a", 63),
	} {
		got := a.FieldName(in)
		assert.Equal(t, want, got, in)
		assert.True(t, intake.ValidName(got), got)
	}
	assert.Equal(t, "email_md5", (&Map{EncodedAsMD5: true}).FieldName("EMAIL"))
	for in, want := range map[string]string{"": "MM/dd/yyyy", "mm/dd/yyyy": "MM/dd/yyyy", "dd.mm.yy": "dd.MM.yy", "MMMM d, yyyy": "MMMM d, yyyy",
		"yyyy?MM?dd": "yyyy'?'MM'?'dd", "D/M/YYYY": "d/M/yyyy"} {
		got, err := acousticDatePattern(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"dd.mm", "dd.mm.yyyy hh", "yyyyMd"} {
		_, err := acousticDatePattern(bad)
		assert.Error(t, err, bad)
	}
	// Two Acoustic names that become one field are rejected.
	a = &Map{Mapping: []MappedColumn{{Index: 1, Name: "First Name", Include: true}, {Index: 2, Name: "first_name", Include: true}}}
	_, err := a.MappingSpec(intake.ContactSchema())
	assert.ErrorContains(t, err, `columns "First Name" and "first_name" both become field "first_name"`)
	// MD5 emails become an id field, and the key md5(email): the stored
	// emails' digests are compared with it.
	a = &Map{EncodedAsMD5: true, Mapping: []MappedColumn{{Index: 1, Name: "EMAIL", Include: true}}}
	spec, err := a.MappingSpec(intake.ContactSchema())
	require.NoError(t, err)
	assert.Equal(t, []mapping.FieldSpec{{Name: "email_md5", Type: intake.TypeID, Label: "EMAIL (MD5)", IfMissing: true}}, spec.Fields,
		"a map of another action than CREATE declares its fields where the store lacks them")
	a.Action = intake.ActionAddAndUpdate
	assert.Equal(t, []intake.KeySpec{{Fields: []string{"email"}, MD5: true}}, a.Rules())
	// USE_RECIPIENT_ID matches on the store's record id.
	a = &Map{UseRecipientID: true}
	assert.Equal(t, []intake.KeySpec{{Fields: []string{"recipient_id"}, RecordID: true}}, a.Rules())
	// CONSENT: the consent columns map to the channel's fields.
	a = &Map{Consent: &Consent{Channel: "SMS", OverrideOnNoChange: true, HonorOptOutStatus: true}}
	assert.Equal(t, "sms_consent", a.FieldName("CONSENT_STATUS_CODE"))
	assert.Equal(t, "sms_consent_date", a.FieldName("CONSENT_DATE"))
	assert.Equal(t, "sms_consent_source", a.FieldName("CONSENT_SOURCE"))
	ch := a.Channel()
	require.NotNil(t, ch)
	assert.Equal(t, "sms", ch.Name)
	assert.True(t, ch.OverrideOnNoChange)
	assert.False(t, ch.AllowResubscribe, "HONOR_OPT_OUT_STATUS true leaves opted-out contacts opted out")
	a.Consent.HonorOptOutStatus = false
	assert.True(t, a.Channel().AllowResubscribe, "HONOR_OPT_OUT_STATUS false takes the file's status")
	assert.Equal(t, "opted_out_date", a.FieldName("OPTED_OUT"), "an export's opted_out is the record's status")
}

// values returns a record's non-null values as text, by field name.
func values(rec *intake.Record) map[string]string {
	m := map[string]string{}
	for i, v := range rec.Values {
		if !v.IsNull() {
			m[rec.Schema.Field(i).Name] = v.String()
		}
	}
	return m
}
