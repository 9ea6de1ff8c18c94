package mapping

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var contactHeader = []string{"Customer ID", "E-Mail", "Mobile", "First Name", "Last Name", "Date of Birth", "Country", "City", "Umsatz"}

// setup compiles spec (nil: suggested) against the contact schema and header.
func setup(t testing.TB, spec string, header []string, opt Options) *Plan {
	t.Helper()
	var s *Spec
	if spec != "" {
		var err error
		s, err = LoadSpec(strings.NewReader(spec))
		require.NoError(t, err)
	}
	p, err := Compile(s, intake.ContactSchema(), header, opt)
	require.NoError(t, err)
	return p
}

func values(rec *intake.Record) map[string]string {
	m := map[string]string{}
	for i, v := range rec.Values {
		if !v.IsNull() {
			m[rec.Schema.Field(i).Name] = v.String()
		}
	}
	return m
}

func TestMapSuggested(t *testing.T) {
	t.Parallel()
	p := setup(t, "", contactHeader, Options{File: "contacts.csv"})
	rec := intake.NewRecord(p.Schema())
	err := p.Map(intake.Row{Line: 2, Cells: []string{" 007 ", "Anna.Schmidt@Example.com", "+49 30 1234567", "Anna", "Schmidt", "1985-03-12", "Germany", "Berlin", "1234.50"}}, rec)
	require.NoError(t, err)
	assert.Equal(t, 2, rec.Line)
	assert.Equal(t, map[string]string{
		"contact_id": "007", "email": "anna.schmidt@example.com", "phone": "+49301234567", "first_name": "Anna",
		"last_name": "Schmidt", "birthday": "1985-03-12", "country": "DE", "city": "Berlin", "lifetime_value": "1234.5",
	}, values(rec))

	// Empty and blank cells are null; a short row is padded with empty cells.
	require.NoError(t, p.Map(intake.Row{Line: 3, Cells: []string{"8", "", "   ", "Bob"}}, rec))
	assert.Equal(t, map[string]string{"contact_id": "8", "first_name": "Bob"}, values(rec))
}

func TestMapErrors(t *testing.T) {
	t.Parallel()
	for _, valid := range []bool{false, true} {
		t.Run(fmt.Sprint("ValidUTF8=", valid), func(t *testing.T) {
			t.Parallel()
			testMapErrors(t, setup(t, "", contactHeader, Options{File: "contacts.csv", ValidUTF8: valid}))
		})
	}
}

// TestMapValidUTF8: a text cell that is not valid UTF-8 is rejected,
// unless Options.ValidUTF8 says that the source checked the cells.
func TestMapValidUTF8(t *testing.T) {
	t.Parallel()
	cells := []string{"1", "a@example.com", "+49 30 1234567", "Bad\xffByte", "B", "1985-03-12", "DE", "Berlin", "1.5"}
	for _, valid := range []bool{false, true} {
		p := setup(t, "", contactHeader, Options{ValidUTF8: valid})
		rec := intake.NewRecord(p.Schema())
		err := p.Map(intake.Row{Line: 2, Cells: cells}, rec)
		if !valid {
			var re *intake.RowError
			require.True(t, errors.As(err, &re), "got %v", err)
			assert.Equal(t, intake.CodeInvalidText, re.Code)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, "Bad\xffByte", rec.Get("first_name").String(), "taken as it is")
	}
}

func testMapErrors(t *testing.T, p *Plan) {
	good := []string{"1", "a@example.com", "+49 30 1234567", "A", "B", "1985-03-12", "DE", "Berlin", "1.5"}
	tests := []struct {
		col       int
		cell      string
		column    string
		field     string
		code      intake.Code
		inMessage string
	}{
		{1, "not-an-email", "E-Mail", "email", intake.CodeInvalidEmail, `"not-an-email" is not an email address`},
		{2, "030 1234567", "Mobile", "phone", intake.CodeInvalidPhone, "international format"},
		{5, "2023-02-30", "Date of Birth", "birthday", intake.CodeInvalidDate, "yyyy-MM-dd"},
		{6, "Atlantis", "Country", "country", intake.CodeInvalidCountry, "country"},
		{8, "1,5", "Umsatz", "lifetime_value", intake.CodeInvalidDecimal, `decimal separator "."`},
		{0, "a\x01b", "Customer ID", "contact_id", intake.CodeInvalidID, "id"},
		{3, "a\x00b", "First Name", "first_name", intake.CodeInvalidText, "NUL"},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			t.Parallel()
			cells := append([]string(nil), good...)
			cells[tt.col] = tt.cell
			err := p.Map(intake.Row{Line: 7, Cells: cells}, intake.NewRecord(p.Schema()))
			var re *intake.RowError
			require.True(t, errors.As(err, &re), "got %v", err)
			assert.Equal(t, "contacts.csv", re.File)
			assert.Equal(t, 7, re.Line)
			assert.Equal(t, tt.column, re.Column)
			assert.Equal(t, tt.field, re.Field)
			assert.Equal(t, tt.code, re.Code)
			assert.Contains(t, re.Message, tt.inMessage)
		})
	}
}

func TestMapNoHeader(t *testing.T) {
	t.Parallel()
	p := setup(t, `{"columns": [{"index": 2, "field": "email"}, {"index": 1, "field": "birthday", "format": "dd.MM.yyyy"}]}`, nil, Options{})
	rec := intake.NewRecord(p.Schema())
	require.NoError(t, p.Map(intake.Row{Line: 1, Cells: []string{"12.03.1985", "a@example.com"}}, rec))
	assert.Equal(t, map[string]string{"email": "a@example.com", "birthday": "1985-03-12"}, values(rec))
	err := p.Map(intake.Row{Line: 2, Cells: []string{"30.02.1985", "a@example.com"}}, rec)
	var re *intake.RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "#1", re.Column)
	assert.Equal(t, intake.CodeInvalidDate, re.Code)
	assert.Equal(t, []ColumnPlan{
		{Index: 1, Field: "birthday", Type: intake.TypeDate, Format: "dd.MM.yyyy"},
		{Index: 2, Field: "email", Type: intake.TypeEmail},
	}, p.Columns())
}

func TestMapCustomFieldsConstDefault(t *testing.T) {
	t.Parallel()
	spec := `{"fields": [{"name": "loyalty_tier", "type": "select", "options": ["Gold", "Silver"], "required": true},
	                     {"name": "lead_source", "type": "text"},
	                     {"name": "tags", "type": "multiselect"},
	                     {"name": "newsletter", "type": "bool"}],
	 "columns": [{"source": "E-Mail", "field": "email"},
	             {"source": "Tier", "field": "loyalty_tier"},
	             {"source": "Tags", "field": "tags"},
	             {"source": "Umsatz", "field": "lifetime_value", "decimal": ",", "default": "0"},
	             {"source": "Opt-in", "field": "newsletter"},
	             {"source": "Notes", "skip": true},
	             {"field": "lead_source", "const": "fair-2026"}]}`
	header := []string{"E-Mail", "Tier", "Tags", "Umsatz", "Opt-in", "Notes"}
	p := setup(t, spec, header, Options{})
	assert.Equal(t, []string{"contact_id", "email", "phone", "first_name", "last_name", "birthday", "country", "city", "lifetime_value", "loyalty_tier", "lead_source", "tags", "newsletter"}, p.Schema().Names())
	assert.Equal(t, "contact", p.Schema().Object())
	rec := intake.NewRecord(p.Schema())
	require.NoError(t, p.Map(intake.Row{Line: 2, Cells: []string{"a@example.com", "gold", "vip; b2b", "1.234,56", "Ja", "x"}}, rec))
	assert.Equal(t, map[string]string{"email": "a@example.com", "loyalty_tier": "Gold", "tags": "vip|b2b", "lifetime_value": "1234.56", "newsletter": "true", "lead_source": "fair-2026"}, values(rec))
	require.NoError(t, p.Map(intake.Row{Line: 3, Cells: []string{"b@example.com", "Silver", "", "", "nein", ""}}, rec))
	assert.Equal(t, map[string]string{"email": "b@example.com", "loyalty_tier": "Silver", "lifetime_value": "0", "newsletter": "false", "lead_source": "fair-2026"}, values(rec))

	err := p.Map(intake.Row{Line: 4, Cells: []string{"c@example.com", "", "", "", "", ""}}, rec)
	var re *intake.RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, intake.CodeMissingRequired, re.Code)
	assert.Equal(t, "Tier", re.Column)
	assert.Equal(t, "loyalty_tier", re.Field)

	err = p.Map(intake.Row{Line: 5, Cells: []string{"c@example.com", "Bronze"}}, rec)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, intake.CodeInvalidSelect, re.Code)
	assert.Contains(t, re.Message, `"Gold", "Silver"`)

	cols := p.Columns()
	require.Len(t, cols, 7)
	assert.Equal(t, ColumnPlan{Index: 6, Source: "Notes", Skip: true}, cols[5])
	assert.Equal(t, ColumnPlan{Field: "lead_source", Type: intake.TypeText, Const: "fair-2026"}, cols[6])
	assert.Equal(t, ColumnPlan{Index: 4, Source: "Umsatz", Field: "lifetime_value", Type: intake.TypeDecimal, Decimal: ",", Default: "0"}, cols[3])
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	header := []string{"E-Mail", "Phone", "Phone", "Birthday"}
	spec := &Spec{
		Fields: []FieldSpec{{Name: "email", Type: intake.TypeText}, {Name: "score", Type: intake.TypeDecimal}, {Name: "vip", Type: intake.TypeBool, Required: true}},
		Columns: []Column{
			{Source: "E-Mail", Field: "emial"},
			{Source: "Mobile", Field: "phone"},
			{Source: "Phone", Field: "phone"},
			{Index: 9, Field: "city"},
			{Index: 1, Source: "Birthday", Field: "first_name"},
			{Source: "Birthday", Field: "birthday", Format: "dd.MM.yyyy HH:mm"},
			{Source: "E-Mail", Field: "email"},
			{Source: "E-Mail", Field: "last_name", Decimal: ","},
			{Field: "score", Const: "lots"},
			{Field: "country", Const: "Atlantis"},
			{Source: "E-Mail", Field: "lifetime_value", Default: "n/a"},
			{Field: "email", Const: "x@example.com"},
		},
	}
	_, err := Compile(spec, intake.ContactSchema(), header, Options{DefaultRegion: "XX"})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`default phone region "XX"`,
		`custom field "email" is already a field of contact`,
		`"emial" is not a field of contact`,
		`no header column is named "Mobile"`,
		`2 header columns are named "Phone" (columns 2, 3)`,
		`index 9, but the header has 4 columns`,
		`header column 1 is "E-Mail", not "Birthday"`,
		`cannot have hours`,
		`a decimal separator applies to decimal fields`,
		`const "lots" is not a number`,
		`const "Atlantis" is not a country`,
		`default "n/a" is not a number`,
		`field "email" is already mapped by column 7`,
		`required field "vip" is not mapped`,
	} {
		assert.Contains(t, msg, want)
	}
	assert.Len(t, strings.Split(msg, "\n"), 15, msg)

	_, err = Compile(&Spec{Columns: []Column{{Source: "E-Mail", Field: "email"}}}, intake.ContactSchema(), nil, Options{})
	assert.ErrorContains(t, err, "no header")
	_, err = Compile(nil, intake.ContactSchema(), nil, Options{})
	assert.ErrorContains(t, err, "needs a mapping spec")
	_, err = Compile(nil, nil, header, Options{})
	assert.ErrorContains(t, err, "no base schema")
}

// TestCompileCustomFieldProblems covers the custom fields that the schema
// cannot take: one whose type differs from a stored field of the same
// name, and a schema that cannot be built, which stops the compile before
// any column is looked at.
func TestCompileCustomFieldProblems(t *testing.T) {
	t.Parallel()
	ticket := intake.MustSchema("ticket", intake.Field{Name: "ticket_no", Type: intake.TypeDecimal})
	_, err := Compile(&Spec{
		Fields:  []FieldSpec{{Name: "ticket_no", Type: intake.TypeID}},
		Columns: []Column{{Source: "No", Field: "ticket_no"}},
	}, ticket, []string{"No"}, Options{})
	assert.ErrorContains(t, err, `custom field "ticket_no" is declared as id, and the ticket schema has it as decimal`)

	_, err = Compile(&Spec{
		Fields:  []FieldSpec{{Name: "tier", Type: intake.TypeText}, {Name: "tier", Type: intake.TypeText}},
		Columns: []Column{{Source: "Tier", Field: "tier"}, {Source: "Missing", Field: "nope"}},
	}, intake.ContactSchema(), []string{"Tier"}, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `field "tier" is declared twice`)
	assert.NotContains(t, err.Error(), "nope", "columns are not compiled without a schema")
}

// TestCompileEmptyHeaderName checks that a column whose header cell is
// empty is named "#N" in errors and listed without a source.
func TestCompileEmptyHeaderName(t *testing.T) {
	t.Parallel()
	p := setup(t, `{"columns": [{"index": 1, "field": "birthday"}]}`, []string{" ", "E-Mail"}, Options{})
	err := p.Map(intake.Row{Line: 2, Cells: []string{"1985-02-30", "a@example.com"}}, intake.NewRecord(p.Schema()))
	var re *intake.RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "#1", re.Column)
	assert.Equal(t, []ColumnPlan{
		{Index: 1, Source: " ", Field: "birthday", Type: intake.TypeDate},
		{Index: 2, Source: "E-Mail", Skip: true},
	}, p.Columns())
}

func TestCompileLooseSource(t *testing.T) {
	t.Parallel()
	p := setup(t, `{"columns": [{"source": "e-mail", "field": "email"}, {"source": "Birth Date", "index": 2, "field": "birthday"}]}`, []string{" E-Mail ", "birth_date"}, Options{})
	rec := intake.NewRecord(p.Schema())
	require.NoError(t, p.Map(intake.Row{Cells: []string{"A@B.CD", "2000-01-01"}}, rec))
	assert.Equal(t, map[string]string{"email": "a@b.cd", "birthday": "2000-01-01"}, values(rec))
}

func TestMapDefaultRegionAndStrict(t *testing.T) {
	t.Parallel()
	p := setup(t, `{"columns": [{"source": "Phone", "field": "phone"}]}`, []string{"Phone"}, Options{DefaultRegion: "de", StrictPhone: true})
	rec := intake.NewRecord(p.Schema())
	require.NoError(t, p.Map(intake.Row{Cells: []string{"030 1234567"}}, rec))
	assert.Equal(t, "+49301234567", rec.Get("phone").String())
	err := p.Map(intake.Row{Cells: []string{"+1 202 155 0143"}}, rec)
	var re *intake.RowError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Message, "valid phone number")
}

func TestMapConcurrent(t *testing.T) {
	t.Parallel()
	p := setup(t, "", contactHeader, Options{})
	rows := [][]string{
		{"1", "A@Example.com", "+49 30 1234567", "Zoë", "Ångström", "1985-03-12", "Deutschland", "Köln", "1,234.50"},
		{"2", "b@example.com", "+1-202-555-0143", "Bob", "Smith", "1990-12-31", "US", "Boston", "-3"},
		{"3", "bad", "+1-202-555-0143", "Bob", "Smith", "1990-12-31", "US", "Boston", "-3"},
	}
	want := make([]map[string]string, len(rows))
	wantErr := make([]string, len(rows))
	for i, r := range rows {
		rec := intake.NewRecord(p.Schema())
		if err := p.Map(intake.Row{Line: i + 2, Cells: r}, rec); err != nil {
			wantErr[i] = err.Error()
		}
		want[i] = values(rec)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			rec := intake.NewRecord(p.Schema())
			for n := 0; n < 200; n++ {
				i := (g + n) % len(rows)
				err := p.Map(intake.Row{Line: i + 2, Cells: rows[i]}, rec)
				got := ""
				if err != nil {
					got = err.Error()
				}
				assert.Equal(t, wantErr[i], got)
				assert.Equal(t, want[i], values(rec))
			}
		})
	}
	wg.Wait()
}

func TestPlanSpecCopy(t *testing.T) {
	t.Parallel()
	p := setup(t, "", contactHeader, Options{})
	s := p.Spec()
	s.Columns[0].Field = "changed"
	assert.Equal(t, "contact_id", p.Spec().Columns[0].Field)
}

func TestCompileReportsEachProblemOnce(t *testing.T) {
	t.Parallel()
	spec := &Spec{Columns: []Column{{Source: "Birthday", Field: "birthday", Format: "dd.MM.yyy"}, {Source: "X", Field: "nope"}}}
	_, err := Compile(spec, intake.ContactSchema(), []string{"Birthday"}, Options{})
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, 2, err.Error()) // the format, the unknown field
	assert.Equal(t, 1, strings.Count(err.Error(), "dd.MM.yyy\": "))
}

// TestMapNoAllocCanonical checks the doc's claim that Plan.Map allocates
// nothing for clean, canonical cells (email lower-case, phone in E.164, ISO
// date, alpha-2 country, canonical decimal).
func TestMapNoAllocCanonical(t *testing.T) {
	p := setup(t, "", contactHeader, Options{})
	rec := intake.NewRecord(p.Schema())
	row := intake.Row{Line: 2, Cells: []string{"c-17", "anna@example.com", "+4930123456", "Anna", "Schmidt", "1985-03-12", "DE", "Berlin", "1234.5"}}
	require.NoError(t, p.Map(row, rec))
	require.Equal(t, "anna@example.com", rec.Get("email").String())
	require.Equal(t, "+4930123456", rec.Get("phone").String())
	require.Equal(t, "DE", rec.Get("country").String())
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = p.Map(row, rec) }))
}

// TestNewConverter checks a column's settings against its field's type
// and the description of a valid cell that row errors quote.
func TestNewConverter(t *testing.T) {
	t.Parallel()
	tags := intake.Field{Name: "tags", Type: intake.TypeMultiSelect, Options: []string{"a", "b"}}
	tests := []struct {
		name string
		f    intake.Field
		c    Column
		want string // the description, or the error
	}{
		{"zone unknown", intake.Field{Name: "seen", Type: intake.TypeTimestamp}, Column{Zone: "Mars/Olympus"}, `zone "Mars/Olympus": not a known time zone`},
		{"zone named for a time", intake.Field{Name: "at", Type: intake.TypeTime}, Column{Zone: "Europe/Berlin"}, "only a fixed offset"},
		{"zone in the description", intake.Field{Name: "seen", Type: intake.TypeTimestamp}, Column{Zone: "Europe/Berlin"}, "a date and time in the format yyyy-MM-dd HH:mm:ss (Europe/Berlin unless it has an offset) or RFC 3339"},
		{"currency on text", intake.Field{Name: "note", Type: intake.TypeText}, Column{Currency: "EUR"}, `a currency applies to decimal fields, and "note" is text`},
		{"currency unknown", intake.Field{Name: "amount", Type: intake.TypeDecimal}, Column{Currency: "XXXX"}, `currency "XXXX" is not an ISO 4217 code`},
		{"currency in the description", intake.Field{Name: "amount", Type: intake.TypeDecimal}, Column{Currency: "EUR", Decimal: ","}, `a number with the decimal separator "," in EUR`},
		{"excel on a time", intake.Field{Name: "at", Type: intake.TypeTime}, Column{Format: FormatExcel1900}, "Excel serial numbers apply to date and timestamp fields, not to time"},
		{"excel date", intake.Field{Name: "born", Type: intake.TypeDate}, Column{Format: FormatExcel1904}, "a date (an Excel serial number in the 1904 date system, or yyyy-MM-dd)"},
		{"multiselect any separator", tags, Column{}, `a list of the options "a", "b", separated by ";", "|" or ","`},
		{"multiselect one separator", tags, Column{Separator: "/"}, `a list of the options "a", "b", separated by "/"`},
		{"strict phone with a region", intake.Field{Name: "phone", Type: intake.TypePhone}, Column{Region: "de"}, "a valid phone number (numbers without a country code are read as DE)"},
		{"invalid type", intake.Field{Name: "x", Type: intake.TypeInvalid}, Column{}, `field "x" has type invalid, which cannot be mapped`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cv, err := newConverter(tt.f, &tt.c, "", true)
			if err != nil {
				assert.Contains(t, err.Error(), tt.want)
				return
			}
			assert.Equal(t, tt.want, cv.want)
		})
	}
}
