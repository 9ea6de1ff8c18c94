package acoustic_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/schedule/acoustic"
)

// elementMap is a small map: action, LIST_INFO extras, elements after
// LIST_INFO, sync fields and MAPPING extras.
func elementMap(action, info, top, sync, mapping string) string {
	if sync == "" {
		sync = `<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>`
	}
	if sync == "-" {
		sync = ""
	}
	return fmt.Sprintf(`<LIST_IMPORT><LIST_INFO><ACTION>%s</ACTION><LIST_ID>7</LIST_ID>%s</LIST_INFO>%s%s
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN>%s</MAPPING></LIST_IMPORT>`, action, info, top, sync, mapping)
}

// TestElementWarnings: each element without effect in Intake, or that
// Intake reads otherwise than an Acoustic user may expect, is named once
// as a warning with its line and value; the map still loads.
func TestElementWarnings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, xml, element, value string
	}{
		{"LIST_TYPE", elementMap("ADD_AND_UPDATE", "<LIST_TYPE>13</LIST_TYPE>", "", "", ""), "LIST_INFO/LIST_TYPE", "13"},
		{"LIST_VISIBILITY", elementMap("ADD_AND_UPDATE", "<LIST_VISIBILITY>0</LIST_VISIBILITY>", "", "", ""), "LIST_INFO/LIST_VISIBILITY", "0"},
		{"PARENT_FOLDER_PATH", elementMap("ADD_AND_UPDATE", "<PARENT_FOLDER_PATH>A/B</PARENT_FOLDER_PATH>", "", "", ""), "LIST_INFO/PARENT_FOLDER_PATH", "A/B"},
		{"DOUBLE_OPT_IN", elementMap("ADD_AND_UPDATE", "<DOUBLE_OPT_IN>true</DOUBLE_OPT_IN>", "", "", ""), "LIST_INFO/DOUBLE_OPT_IN", "true"},
		{"LIST_ID missing", strings.Replace(elementMap("OPT_OUT", "", "", "", ""), "<LIST_ID>7</LIST_ID>", "", 1), "LIST_INFO/LIST_ID", ""},
		{"LIST_ID on CREATE", `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION><LIST_NAME>n</LIST_NAME><LIST_ID>7</LIST_ID></LIST_INFO>
			<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN></COLUMNS><MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`, "LIST_INFO/LIST_ID", "7"},
		{"LIST_NAME missing on CREATE", `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION></LIST_INFO>
			<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN></COLUMNS><MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`, "LIST_INFO/LIST_NAME", ""},
		{"COLUMNS missing on CREATE", `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION><LIST_NAME>n</LIST_NAME></LIST_INFO>
			<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`, "LIST_IMPORT/COLUMNS", ""},
		{"TEXT_TO_JOIN_PROGRAM_ID", elementMap("ADD_AND_UPDATE", "", "<CONSENT><CHANNEL>SMS</CHANNEL><TEXT_TO_JOIN_PROGRAM_ID>99</TEXT_TO_JOIN_PROGRAM_ID><HONOR_OPT_OUT_STATUS/></CONSENT>", "", ""), "CONSENT/TEXT_TO_JOIN_PROGRAM_ID", "99"},
		{"HONOR_OPT_OUT_STATUS missing", elementMap("ADD_AND_UPDATE", "", "<CONSENT><CHANNEL>SMS</CHANNEL></CONSENT>", "", ""), "CONSENT/HONOR_OPT_OUT_STATUS", ""},
		{"TYPE 9 on another column", elementMap("ADD_AND_UPDATE", "", `<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>Code</NAME><TYPE>9</TYPE></COLUMN></COLUMNS>`, "",
			`<COLUMN><INDEX>2</INDEX><NAME>Code</NAME></COLUMN>`), `COLUMNS/COLUMN "Code"/TYPE`, "9"},
		{"SELECTION_VALUES on text", elementMap("ADD_AND_UPDATE", "", `<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>Code</NAME><TYPE>0</TYPE><SELECTION_VALUES><VALUE>a</VALUE></SELECTION_VALUES></COLUMN></COLUMNS>`, "",
			`<COLUMN><INDEX>2</INDEX><NAME>Code</NAME></COLUMN>`), `COLUMNS/COLUMN "Code"/SELECTION_VALUES`, ""},
		{"DEFAULT_VALUE not a date", elementMap("ADD_AND_UPDATE", "", `<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>Seen</NAME><TYPE>3</TYPE><DEFAULT_VALUE>2001-01-01</DEFAULT_VALUE></COLUMN></COLUMNS>`, "",
			`<COLUMN><INDEX>2</INDEX><NAME>Seen</NAME></COLUMN>`), `COLUMNS/COLUMN "Seen"/DEFAULT_VALUE`, "2001-01-01"},
		{"KEY_COLUMN not mapped", elementMap("ADD_AND_UPDATE", "", `<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE><KEY_COLUMN>true</KEY_COLUMN></COLUMN><COLUMN><NAME>Code</NAME><TYPE>0</TYPE><KEY_COLUMN>true</KEY_COLUMN></COLUMN></COLUMNS>`, "-", ""),
			`COLUMNS/COLUMN "Code"/KEY_COLUMN`, "true"},
		{"IS_CONSENT without CONSENT", elementMap("ADD_AND_UPDATE", "", "", "", `<COLUMN><INDEX>2</INDEX><NAME>Mobile</NAME><IS_CONSENT>true</IS_CONSENT></COLUMN>`), `MAPPING/COLUMN "Mobile"/IS_CONSENT`, "true"},
		{"OPTED_OUT", elementMap("ADD_AND_UPDATE", "", "", "", `<COLUMN><INDEX>2</INDEX><NAME>OPTED_OUT</NAME></COLUMN>`), `MAPPING/COLUMN "OPTED_OUT"/NAME`, "OPTED_OUT"},
		{"ENCODED_AS_MD5 without EMAIL", strings.Replace(elementMap("ADD_AND_UPDATE", "<ENCODED_AS_MD5>true</ENCODED_AS_MD5>", "", `<SYNC_FIELDS><SYNC_FIELD><NAME>Code</NAME></SYNC_FIELD></SYNC_FIELDS>`, ""), "<NAME>EMAIL</NAME></COLUMN>", "<NAME>Code</NAME></COLUMN>", 1),
			"LIST_INFO/ENCODED_AS_MD5", "true"},
		{"an update without a key", elementMap("UPDATE_ONLY", "", "", "-", ""), "LIST_IMPORT/SYNC_FIELDS", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := acoustic.Load(strings.NewReader(tc.xml))
			require.NoError(t, err)
			var found []acoustic.Warning
			for _, w := range a.Warnings {
				if w.Element == tc.element {
					found = append(found, w)
				}
			}
			require.Len(t, found, 1, "warnings: %v", a.Warnings)
			assert.Equal(t, tc.value, found[0].Value)
			assert.Positive(t, found[0].Line)
			assert.Contains(t, found[0].String(), tc.element)
			_, err = a.JobSpec()
			assert.NoError(t, err, "a warning never stops the job")
		})
	}
	a, err := acoustic.Load(strings.NewReader(elementMap("ADD_AND_UPDATE", "<DOUBLE_OPT_IN>false</DOUBLE_OPT_IN><FILE_TYPE>2</FILE_TYPE><HASHEADERS>false</HASHEADERS>", "", "", "")))
	require.NoError(t, err)
	assert.Empty(t, a.Warnings, "a map whose every element has its effect warns of nothing")
	assert.Equal(t, "pipe", a.DelimiterName())
	assert.False(t, a.HasHeaders)
}

// TestElementErrors: a map Intake cannot run as its author meant is
// refused, with every problem at once, each naming element, line and
// value.
func TestElementErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, xml, want string }{
		{"a name mapped twice", elementMap("ADD_AND_UPDATE", "", "", "", `<COLUMN><INDEX>2</INDEX><NAME>EMAIL</NAME></COLUMN>`), `line 2: MAPPING/COLUMN "EMAIL": "EMAIL" is mapped twice`},
		{"a name the CREATE does not declare", `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION><LIST_NAME>n</LIST_NAME></LIST_INFO>
<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN></COLUMNS>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>Tier</NAME></COLUMN></MAPPING></LIST_IMPORT>`, `line 3: MAPPING/COLUMN "Tier"/NAME: "Tier" matches no COLUMNS/COLUMN NAME`},
		{"a consent column without CONSENT", elementMap("ADD_AND_UPDATE", "", "", "", `<COLUMN><INDEX>2</INDEX><NAME>CONSENT_DATE</NAME></COLUMN>`), `MAPPING/COLUMN "CONSENT_DATE"/NAME: CONSENT_DATE is a consent column`},
		{"USE_RECIPIENT_ID without the column", elementMap("UPDATE_ONLY", "<USE_RECIPIENT_ID>true</USE_RECIPIENT_ID>", "", "", ""), "LIST_INFO/USE_RECIPIENT_ID: true, and no MAPPING/COLUMN is RECIPIENT_ID"},
		{"MD5 on a composite key", elementMap("ADD_AND_UPDATE", "<ENCODED_AS_MD5>true</ENCODED_AS_MD5>", "", `<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD><SYNC_FIELD><NAME>Code</NAME></SYNC_FIELD></SYNC_FIELDS>`,
			`<COLUMN><INDEX>2</INDEX><NAME>Code</NAME></COLUMN>`), "LIST_INFO/ENCODED_AS_MD5: true: an MD5 digest matches on EMAIL alone, and the key is EMAIL + Code"},
		{"an update with no key at all", strings.Replace(elementMap("OPT_OUT", "", "", "-", ""), "<NAME>EMAIL</NAME></COLUMN>", "<NAME>Code</NAME></COLUMN>", 1), "LIST_IMPORT/SYNC_FIELDS: missing: OPT_OUT finds contacts by SYNC_FIELDS, a KEY_COLUMN"},
		{"CONTACT_LISTS with OPT_OUT", elementMap("OPT_OUT", "", "", "", "") + "", ""},
		{"an unknown element", elementMap("ADD_AND_UPDATE", "<LIST_VISIBILTY>1</LIST_VISIBILTY>", "", "", ""), "LIST_INFO/LIST_VISIBILTY: unknown element (did you mean LIST_VISIBILITY?)"},
		{"a bad date format", elementMap("ADD_AND_UPDATE", "<LIST_DATE_FORMAT>dd.mm.yyyy hh</LIST_DATE_FORMAT>", "", "", ""), `LIST_INFO/LIST_DATE_FORMAT: "dd.mm.yyyy hh"`},
	} {
		if tc.want == "" {
			tc.xml = strings.Replace(tc.xml, "</MAPPING>", "</MAPPING><CONTACT_LISTS><CONTACT_LIST_ID>1</CONTACT_LIST_ID></CONTACT_LISTS>", 1)
			tc.want = "LIST_IMPORT/CONTACT_LISTS: OPT_OUT does not add contacts to contact lists"
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := acoustic.Load(strings.NewReader(tc.xml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// Every problem at once.
	_, err := acoustic.Load(strings.NewReader(elementMap("ADD_AND_UPDATE", "<USE_RECIPIENT_ID>true</USE_RECIPIENT_ID>", "", "",
		`<COLUMN><INDEX>2</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>3</INDEX><NAME>CONSENT_SOURCE</NAME></COLUMN>`)))
	require.Error(t, err)
	assert.Len(t, strings.Split(err.Error(), "\n"), 3, "%v", err)
}

// TestElementKeys: the action table with and without SYNC_FIELDS and
// KEY_COLUMNs, USE_RECIPIENT_ID, and what each does when run.
func TestElementKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keyColumn := `<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>Code</NAME><TYPE>0</TYPE><KEY_COLUMN>true</KEY_COLUMN></COLUMN></COLUMNS>`
	codeCol := `<COLUMN><INDEX>2</INDEX><NAME>Code</NAME></COLUMN>`
	for _, tc := range []struct {
		name  string
		xml   string
		rules []string
	}{
		{"SYNC_FIELDS", elementMap("ADD_AND_UPDATE", "", "", "", ""), []string{"email"}},
		{"KEY_COLUMN keys ADD_AND_UPDATE", elementMap("ADD_AND_UPDATE", "", keyColumn, "-", codeCol), []string{"code"}},
		{"EMAIL keys an update without others", elementMap("UPDATE_ONLY", "", "", "-", ""), []string{"email"}},
		{"ADD_ONLY without a key", elementMap("ADD_ONLY", "", "", "-", ""), nil},
		{"CREATE without a key", strings.Replace(elementMap("CREATE", "<LIST_NAME>n</LIST_NAME>", "", "-", ""), "<LIST_ID>7</LIST_ID>", "", 1), nil},
		{"USE_RECIPIENT_ID, then the sync fields", elementMap("UPDATE_ONLY", "<USE_RECIPIENT_ID>true</USE_RECIPIENT_ID>", "", "", `<COLUMN><INDEX>2</INDEX><NAME>RECIPIENT_ID</NAME></COLUMN>`), []string{"id(recipient_id)", "email"}},
		{"KEY_COLUMN RECIPIENT_ID is the record id", elementMap("UPDATE_ONLY", "", `<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>RECIPIENT_ID</NAME><TYPE>9</TYPE><KEY_COLUMN>true</KEY_COLUMN></COLUMN></COLUMNS>`, "-",
			`<COLUMN><INDEX>2</INDEX><NAME>RECIPIENT_ID</NAME></COLUMN>`), []string{"id(recipient_id)"}},
	} {
		a := loadAcoustic(t, tc.xml)
		var names []string
		for _, k := range a.Rules() {
			names = append(names, k.Name())
		}
		assert.Equal(t, tc.rules, names, tc.name)
	}

	// ADD_ONLY with a key: a key the store holds is rejected (exists), a
	// key met twice in the file too (duplicate).
	mem := newMem(t)
	seed(t, mem, intake.ContactSchema(), "email\nann@x.io\n")
	addOnly := elementMap("ADD_ONLY", "", "", "", "")
	spec, err := loadAcoustic(t, addOnly).JobSpec()
	require.NoError(t, err)
	assert.Equal(t, identity.MatchReject, spec.OnMatch)
	_, rep := runMap(t, mem, addOnly, "EMAIL\nann@x.io\nben@x.io\nben@x.io\n")
	assert.Equal(t, []int64{1, 2}, []int64{rep.Created, rep.Rejected}, "%+v", rep)
	assert.EqualValues(t, 1, rep.Reasons[intake.CodeExists])
	assert.EqualValues(t, 1, rep.Reasons[intake.CodeDuplicate])

	// KEY_COLUMN keys an ADD_AND_UPDATE: the second file updates by Code.
	kc := elementMap("ADD_AND_UPDATE", "", keyColumn, "-", codeCol)
	_, rep = runMap(t, mem, kc, "EMAIL,Code\ncid@x.io,K1\n")
	require.EqualValues(t, 1, rep.Created, "%+v", rep)
	_, rep = runMap(t, mem, kc, "EMAIL,Code\ncid.new@x.io,K1\n")
	assert.EqualValues(t, 1, rep.Updated, "%+v", rep)

	// USE_RECIPIENT_ID matches the record id.
	recs := contactsByEmail(t, mem)
	ann := recs["ann@x.io"]
	require.NotNil(t, ann)
	rid := elementMap("UPDATE_ONLY", "<USE_RECIPIENT_ID>true</USE_RECIPIENT_ID>", `<COLUMNS><COLUMN><NAME>RECIPIENT_ID</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>City</NAME><TYPE>0</TYPE></COLUMN></COLUMNS>`, "-",
		`<COLUMN><INDEX>2</INDEX><NAME>RECIPIENT_ID</NAME></COLUMN><COLUMN><INDEX>3</INDEX><NAME>City</NAME></COLUMN>`)
	_, rep = runMap(t, mem, rid, "EMAIL,RID,City\nann.other@x.io,"+ann.ID+",Lyon\n,"+"00000000-0000-7000-8000-000000000000,Nice\n")
	assert.EqualValues(t, 1, rep.Updated, "%+v", rep)
	assert.EqualValues(t, 1, rep.Skipped)
	assert.Zero(t, rep.Rejected, "TYPE 9 on RECIPIENT_ID is an id, not an address")
	schema, err := mem.Schema(ctx, intake.ObjectContact)
	require.NoError(t, err)
	got, err := mem.Get(ctx, schema, []string{ann.ID})
	require.NoError(t, err)
	require.Contains(t, got, ann.ID)
	assert.Equal(t, "Lyon", got[ann.ID].Get("city").String())
}
