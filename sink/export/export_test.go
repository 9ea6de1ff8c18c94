package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/testcorpora"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/export"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setup returns a memory store holding two contacts, one opted out.
func setup(t testing.TB) *memory.Store {
	s := memory.New(memory.Config{})
	schema := intake.ContactSchema()
	a := intake.NewRecord(schema)
	a.ID = "1"
	a.Set("email", intake.Text("anna@example.de"))
	a.Set("first_name", intake.Text("=HYPERLINK(\"http://x\")"))
	a.Set("birthday", intake.Date(1985, time.March, 14))
	v, _ := intake.DecimalString("-12.5")
	a.Set("lifetime_value", v)
	a.Set("phone", intake.Text("+49301234567"))
	b := intake.NewRecord(schema)
	b.ID = "2"
	b.Set("email", intake.Text("bob@example.com"))
	b.Set("city", intake.Text("Washington, D.C."))
	_, err := s.Write(context.Background(), []*sink.Op{{Kind: sink.OpCreate, Record: a}, {Kind: sink.OpCreate, Record: b}})
	require.NoError(t, err)
	_, err = s.Write(context.Background(), []*sink.Op{{Kind: sink.OpOptOut, Record: &intake.Record{Schema: schema, ID: "2", Values: make([]intake.Value, schema.Len())}}})
	require.NoError(t, err)
	return s
}

func TestCSVEscapesFormulasByType(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	n, err := export.Export(context.Background(), &out, export.FormatCSV, intake.ContactSchema(), setup(t), export.Options{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)
	recs, err := csv.NewReader(&out).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, append(intake.ContactSchema().Names(), "opted_out"), recs[0])
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	assert.Equal(t, `'=HYPERLINK("http://x")`, row["first_name"], "a formula in a text field is neutralized")
	assert.Equal(t, "-12.5", row["lifetime_value"], "a negative decimal is not")
	assert.Equal(t, "+49301234567", row["phone"], "an E.164 phone is not")
	assert.Equal(t, "1985-03-14", row["birthday"])
	assert.Equal(t, "false", row["opted_out"])
	assert.Equal(t, "true", recs[2][len(recs[2])-1])

	out.Reset()
	_, err = export.Export(context.Background(), &out, export.FormatCSV, intake.ContactSchema(), setup(t), export.Options{Raw: true})
	require.NoError(t, err)
	assert.Contains(t, out.String(), `"=HYPERLINK(""http://x"")"`, "Raw leaves cells alone")
}

func TestNeutralizeOWASPPayloads(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"=1+2", "+1", "-1", "@SUM(1)", "\tx", "\rx", "\nx", "\x00x"} {
		assert.Equal(t, "'"+s, export.Neutralize(s))
	}
	for _, s := range []string{"", "plain", `DDE ("cmd";"/C calc";"!A0")A0`, " =1"} {
		assert.Equal(t, s, export.Neutralize(s))
	}
	// OWASP's worked examples: the CSV writer quotes, the prefix neutralizes.
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	require.NoError(t, w.Write([]string{export.Neutralize(`=1+2";=1+2`), export.Neutralize(`=1+2'" ;,=1+2`)}))
	w.Flush()
	assert.Equal(t, `"'=1+2"";=1+2","'=1+2'"" ;,=1+2"`+"\n", b.String())
}

// TestNeutralizePayloadboxCorpus runs every payload of the payloadbox
// corpus through Neutralize.
func TestNeutralizePayloadboxCorpus(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(testcorpora.Path(t, "malicious", "csv-injection-payloadbox", "csv-payload.txt"))
	require.NoError(t, err)
	for _, p := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		got := export.Neutralize(p)
		if strings.HasPrefix(p, "DDE") {
			assert.Equal(t, p, got, "inert without a leading trigger character")
		} else {
			assert.Equal(t, "'"+p, got)
		}
	}
}

func TestJSONLFieldsAndFilter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	opt := export.Options{
		Fields: []string{"email", "city", "birthday"},
		Filter: func(r *intake.Record) bool { return !r.OptedOut },
	}
	n, err := export.Export(context.Background(), &out, export.FormatJSONL, intake.ContactSchema(), setup(t), opt)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &m))
	assert.Equal(t, map[string]any{"email": "anna@example.de", "city": nil, "birthday": "1985-03-14", "opted_out": false}, m)

	_, err = export.NewWriter(&out, export.FormatJSONL, intake.ContactSchema(), export.Options{Fields: []string{"email", "shoe_size"}})
	assert.ErrorContains(t, err, "unknown field(s) shoe_size")
	assert.EqualError(t, export.CheckFields(intake.ContactSchema(), []string{"email", "shoe_size"}), err.Error(), "CheckFields says what NewWriter says")
	assert.NoError(t, export.CheckFields(intake.ContactSchema(), []string{"email", "city"}))
	assert.NoError(t, export.CheckFields(intake.ContactSchema(), nil))
	_, err = export.ParseFormat("xml")
	assert.ErrorContains(t, err, `export: unknown format "xml"`)
}

func ExampleExport() {
	store := memory.New(memory.Config{})
	rec := intake.NewRecord(intake.ContactSchema())
	rec.ID = "c1"
	rec.Set("email", intake.Text("anna@example.de"))
	rec.Set("birthday", intake.Date(1985, time.March, 14))
	if _, err := store.Write(context.Background(), []*sink.Op{{Kind: sink.OpCreate, Record: rec}}); err != nil {
		panic(err)
	}
	n, err := export.Export(context.Background(), os.Stdout, export.FormatJSONL, intake.ContactSchema(), store,
		export.Options{Fields: []string{"email", "birthday"}})
	fmt.Println(n, err)
	// Output:
	// {"email":"anna@example.de","birthday":"1985-03-14","opted_out":false}
	// 1 <nil>
}

// TestExportID: with Options.ID every format writes the record id first,
// under "id", escaped like an id field; a schema with its own id field is
// refused.
func TestExportID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	opt := export.Options{ID: true, Fields: []string{"email"}}

	var out bytes.Buffer
	_, err := export.Export(ctx, &out, export.FormatCSV, intake.ContactSchema(), s, opt)
	require.NoError(t, err)
	assert.Equal(t, "id,email,opted_out\n1,anna@example.de,false\n2,bob@example.com,true\n", out.String())

	out.Reset()
	_, err = export.Export(ctx, &out, export.FormatJSONL, intake.ContactSchema(), s, opt)
	require.NoError(t, err)
	assert.Equal(t, `{"id":"1","email":"anna@example.de","opted_out":false}`, strings.SplitN(out.String(), "\n", 2)[0])

	out.Reset()
	_, err = export.Export(ctx, &out, export.FormatXLSX, intake.ContactSchema(), s, opt)
	require.NoError(t, err)
	f, sheet := readXLSX(t, out.Bytes())
	rows, err := f.GetRows(sheet)
	require.NoError(t, err)
	assert.Equal(t, []string{"id", "email", "opted_out"}, rows[0])
	assert.Equal(t, "2", rows[2][0])

	withID := intake.MustSchema("ticket", intake.Field{Name: "id", Type: intake.TypeText})
	_, err = export.NewWriter(&out, export.FormatCSV, withID, export.Options{ID: true})
	assert.ErrorContains(t, err, "ticket has a field named id")
}
