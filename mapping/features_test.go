package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetectFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		typ       intake.FieldType
		values    []string
		format    string // or decimal separator for decimals
		ambiguous []string
		err       error
	}{
		{"iso", intake.TypeDate, []string{"2024-01-02", "1985-12-31", ""}, "", nil, nil},
		{"german", intake.TypeDate, []string{"01.02.2024", "31.12.1985"}, "dd.MM.yyyy", nil, nil},
		{"german short", intake.TypeDate, []string{"1.2.24", "31.12.85"}, "d.M.yy", nil, nil},
		{"german mixed widths", intake.TypeDate, []string{"01.02.2024", "1.2.2024"}, "d.M.yyyy", nil, nil},
		{"day first decides", intake.TypeDate, []string{"01/02/2024", "25/12/1990"}, "dd/MM/yyyy", nil, nil},
		{"month first decides", intake.TypeDate, []string{"01/02/2024", "12/25/1990"}, "MM/dd/yyyy", nil, nil},
		{"ambiguous", intake.TypeDate, []string{"01/02/2024", "03/04/1990"}, "dd/MM/yyyy", []string{"dd/MM/yyyy", "MM/dd/yyyy"}, ErrAmbiguousFormat},
		{"same either way", intake.TypeDate, []string{"05/05/2024", "11/11/1990"}, "dd/MM/yyyy", nil, nil},
		{"compact", intake.TypeDate, []string{"20240102", "19851231"}, "yyyyMMdd", nil, nil},
		{"month names", intake.TypeDate, []string{"3 March 2021", "12 Sep 2020"}, "d MMM yyyy", nil, nil},
		{"us month names", intake.TypeDate, []string{"Sep 5, 2020", "March 13, 2021"}, "MMM d, yyyy", nil, nil},
		{"excel", intake.TypeDate, []string{"45380", "31118"}, "excel1900", nil, nil},
		{"junk", intake.TypeDate, []string{"yesterday", "soon", "01.02.2024"}, "", nil, ErrNoFormat},
		{"mostly dates", intake.TypeDate, []string{"01.02.2024", "02.02.2024", "03.02.2024", "04.02.2024", "n/a"}, "dd.MM.yyyy", nil, nil},
		{"empty", intake.TypeDate, []string{"", " "}, "", nil, ErrNoFormat},
		{"timestamp iso", intake.TypeTimestamp, []string{"2026-03-29T01:30:00+01:00", "2026-03-29 01:30:00"}, "", nil, nil},
		{"timestamp us", intake.TypeTimestamp, []string{"3/29/2026 1:30 PM", "12/1/2025 9:05 AM"}, "M/d/yyyy h:mm a", nil, nil},
		{"timestamp german", intake.TypeTimestamp, []string{"29.03.2026 13:30", "01.12.2025 09:05"}, "dd.MM.yyyy HH:mm", nil, nil},
		{"time", intake.TypeTime, []string{"9:05", "13:30"}, "H:mm", nil, nil},
		{"time 12h", intake.TypeTime, []string{"9:05 am", "1:30 PM"}, "h:mm a", nil, nil},
		{"decimal comma", intake.TypeDecimal, []string{"1.234,56", "12,5", "7"}, ",", nil, nil},
		{"decimal point", intake.TypeDecimal, []string{"1,234.56", "12.5", "7"}, ".", nil, nil},
		{"decimal spaces", intake.TypeDecimal, []string{"1 234,56", "99"}, ",", nil, nil},
		{"decimal integers", intake.TypeDecimal, []string{"1", "22", "-3"}, ".", nil, nil},
		{"decimal ambiguous", intake.TypeDecimal, []string{"1,234", "5,678"}, ".", []string{".", ","}, ErrAmbiguousFormat},
		{"decimal money", intake.TypeDecimal, []string{"EUR 1.234,56", "(12,50) €"}, ",", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := DetectFormat(tt.values, tt.typ)
			if tt.err != nil {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tt.err), err.Error())
			} else {
				require.NoError(t, err)
			}
			if errors.Is(tt.err, ErrNoFormat) {
				return
			}
			got := d.Format
			if tt.typ == intake.TypeDecimal {
				got = d.Decimal
			}
			assert.Equal(t, tt.format, got)
			assert.Equal(t, tt.ambiguous != nil, d.Ambiguous)
			assert.Equal(t, tt.ambiguous, d.Candidates)
			if d.Ambiguous {
				assert.NotEmpty(t, d.Example)
				assert.Contains(t, err.Error(), d.Example)
			}
		})
	}
	d, err := DetectFormat([]string{"a@example.com", "b@example.com", "nope"}, intake.TypeEmail)
	require.NoError(t, err)
	assert.Equal(t, Detection{Type: intake.TypeEmail, Values: 3, Matched: 2}, d)
	assert.InDelta(t, 0.667, d.Share(), 0.001)
}

func TestCorpusDetect(t *testing.T) {
	t.Parallel()
	cells := corpusCells(t, "test_date_format.csv")
	d, err := DetectFormat(cells[1:], intake.TypeDate)
	require.NoError(t, err)
	assert.Equal(t, "dd/MM/yyyy", d.Format, "31/12/2012 decides day first")
	cells = corpusCells(t, "test_numeric_date_format.csv")
	d, err = DetectFormat(cells[1:], intake.TypeDate)
	require.NoError(t, err)
	assert.Equal(t, "yyyyMMdd", d.Format)
	cells = corpusCells(t, "test_locale.csv") // a,b,c / "1,7","200.000.000",""
	d, err = DetectFormat(cells[3:5], intake.TypeDecimal)
	require.NoError(t, err)
	assert.Equal(t, ",", d.Decimal)

	// "4.5" is a number, not a date (not even an Excel serial).
	cells = corpusCells(t, "date_like_number.csv")
	_, err = DetectFormat(cells[1:], intake.TypeDate)
	assert.ErrorIs(t, err, ErrNoFormat)
	d, err = DetectFormat(cells[1:], intake.TypeDecimal)
	require.NoError(t, err)
	assert.Equal(t, ".", d.Decimal)

	// Null markers are no dates, numbers or yes/no values.
	cells = corpusCells(t, "blanks.csv")
	for _, typ := range []intake.FieldType{intake.TypeDate, intake.TypeTimestamp, intake.TypeDecimal} {
		_, err = DetectFormat(cells[6:], typ)
		assert.ErrorIs(t, err, ErrNoFormat, typ)
	}

	// The typed columns of csvkit's test.xlsx conversion.
	cells = corpusCells(t, "testxlsx_converted.csv")
	const width = 8
	col := func(i int) []string {
		var out []string
		for r := width; r+i < len(cells); r += width {
			out = append(out, cells[r+i])
		}
		return out
	}
	for _, tt := range []struct {
		col     int
		typ     intake.FieldType
		matched int
	}{{1, intake.TypeDate, 3}, {2, intake.TypeDecimal, 3}, {3, intake.TypeBool, 3}, {4, intake.TypeDecimal, 3}, {5, intake.TypeTimestamp, 3}} {
		d, err := DetectFormat(col(tt.col), tt.typ)
		require.NoError(t, err, cells[tt.col])
		assert.Equal(t, tt.matched, d.Matched, cells[tt.col])
		assert.Equal(t, "", d.Format, cells[tt.col])
	}
	ss := SuggestDetailed(cells[:width], nil, intake.ContactSchema(), SuggestOptions{})
	spec := ss.Spec()
	assert.NoError(t, Validate(spec, intake.ContactSchema(), cells[:width]))
}

func TestSuggestDetailed(t *testing.T) {
	t.Parallel()
	header := []string{"Column 1", "Vorname", "Nachname", "Teléfono", "Geburtstag", "Emial", "Land", "Notes", "Betrag"}
	sample := [][]string{
		{"anna@example.com", "Anna", "Schmidt", "+49 30 1234567", "12.03.1985", "x", "DE", "vip", "1.234,50"},
		{"bob@example.org", "Bob", "Smith", "+1 202 555 0143", "25.12.1990", "y", "United States", "", "12,00"},
		{"carla@example.es", "Carla", "García", "+34 912 345 678", "01.02.2000", "z", "España", "", "7"},
	}
	ss := SuggestDetailed(header, sample, intake.ContactSchema(), SuggestOptions{})
	require.Len(t, ss, len(header))
	got := map[string]string{}
	for _, s := range ss {
		got[s.Header] = s.Field
		if s.Field != "" {
			assert.GreaterOrEqual(t, s.Confidence, DefaultMinConfidence, s.Header)
			require.NotEmpty(t, s.Candidates, s.Header)
			assert.Equal(t, s.Field, s.Candidates[0].Field, s.Header)
		}
	}
	assert.Equal(t, map[string]string{"Column 1": "email", "Vorname": "first_name", "Nachname": "last_name", "Teléfono": "phone",
		"Geburtstag": "birthday", "Emial": "", "Land": "country", "Notes": "", "Betrag": ""}, got)
	assert.Equal(t, "content: 3/3 values look like emails", ss[0].Reason)
	assert.Equal(t, "synonym; content: 3/3 values look like phone numbers", ss[3].Reason)
	assert.Equal(t, 1.0, ss[3].Confidence)
	require.NotNil(t, ss[4].Detection)
	assert.Equal(t, "dd.MM.yyyy", ss[4].Detection.Format)
	// "Emial" is similar to email, but email is taken by the better column and its values are no emails.
	require.NotEmpty(t, ss[5].Candidates)
	assert.Equal(t, "email", ss[5].Candidates[0].Field)
	assert.Contains(t, ss[5].Candidates[0].Reason, `similar name (0.95) to "email"; but content: 0/3 values look like emails`)
	// Numbers alone are weak evidence: listed, not mapped.
	require.NotEmpty(t, ss[8].Candidates)
	assert.Equal(t, "lifetime_value", ss[8].Candidates[0].Field)
	assert.Less(t, ss[8].Candidates[0].Confidence, DefaultMinConfidence)

	spec := ss.Spec()
	assert.Equal(t, Column{Source: "Geburtstag", Field: "birthday", Format: "dd.MM.yyyy"}, spec.Columns[4])
	p, err := Compile(spec, intake.ContactSchema(), header, Options{})
	require.NoError(t, err)
	rec := intake.NewRecord(p.Schema())
	require.NoError(t, p.Map(intake.Row{Line: 2, Cells: sample[0]}, rec))
	assert.Equal(t, "1985-03-12", rec.Get("birthday").String())

	// Allowing duplicates maps "Emial" too, with a lower MinConfidence.
	ss = SuggestDetailed(header, nil, intake.ContactSchema(), SuggestOptions{AllowDuplicates: true})
	assert.Equal(t, "email", ss[5].Field)

	// An ambiguous date column is explained, not guessed.
	ss = SuggestDetailed([]string{"DOB"}, [][]string{{"01/02/2000"}, {"03/04/1999"}}, intake.ContactSchema(), SuggestOptions{})
	assert.Equal(t, "birthday", ss[0].Field)
	assert.True(t, ss[0].Detection.Ambiguous)
	assert.Contains(t, ss[0].Note, `"dd/MM/yyyy" and "MM/dd/yyyy"`)
	assert.Equal(t, Column{Source: "DOB", Field: "birthday", Note: ss[0].Note}, ss.Spec().Columns[0])
}

func TestSuggestMultilingual(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ header, field string }{
		{"E-Mail", "email"}, {"Correo electrónico", "email"}, {"Prénom", "first_name"}, {"Nom de famille", "last_name"},
		{"Cognome", "last_name"}, {"Achternaam", "last_name"}, {"Sobrenome", "last_name"}, {"Móvil", "phone"}, {"Telefone", "phone"},
		{"Telefonnumer", "phone"}, {"Date de naissance", "birthday"}, {"Fecha de nacimiento", "birthday"}, {"Geboortedatum", "birthday"},
		{"Data de nascimento", "birthday"}, {"Woonplaats", "city"}, {"Kundennummer", "contact_id"}, {"Frist Name", "first_name"},
	} {
		ss := SuggestDetailed([]string{tt.header}, nil, intake.ContactSchema(), SuggestOptions{})
		assert.Equal(t, tt.field, ss[0].Field, tt.header)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	spec := Suggest([]string{"E-Mail", "Telefon", "Umsatz 2025", "Notes", "Stadt"}, intake.ContactSchema())
	d := Diff(spec, []string{"E-Mail", "Telefonnummer", "Umsatz 2026", "Land", "Stadt", ""})
	assert.Equal(t, HeaderDiff{
		Added:   []string{"Land", "#6"},
		Removed: []string{"Notes"},
		Renamed: []Rename{{From: "Umsatz 2025", To: "Umsatz 2026", Similarity: 0.96}, {From: "Telefon", To: "Telefonnummer", Similarity: 0.91}},
	}, d)
	assert.False(t, d.Empty())
	assert.True(t, Diff(spec, []string{"e-mail", "Telefon", "Umsatz 2025", "Notes", "Stadt"}).Empty())

	up := d.Apply(spec)
	assert.Equal(t, "Telefonnummer", up.Columns[1].Source)
	assert.Equal(t, Column{Source: "Land", Skip: true, Note: "new column"}, up.Columns[5])
	assert.Equal(t, Column{Index: 6, Skip: true, Note: "new column"}, up.Columns[6])
	assert.Equal(t, "Telefon", spec.Columns[1].Source, "Apply does not change its argument")
	// The removed column was skipped, so the updated spec compiles.
	_, err := Compile(up, intake.ContactSchema(), []string{"E-Mail", "Telefonnummer", "Umsatz 2026", "Land", "Stadt", ""}, Options{})
	assert.NoError(t, err)
	_, err = Compile(spec, intake.ContactSchema(), []string{"E-Mail", "Telefonnummer", "Umsatz 2026", "Land", "Stadt", ""}, Options{})
	assert.ErrorContains(t, err, `no header column is named "Telefon" (closest: "Telefonnummer")`)

	p, err := Compile(Suggest([]string{"Email", "Phone"}, intake.ContactSchema()), intake.ContactSchema(), []string{"Email", "Phone", "Tier"}, Options{})
	require.NoError(t, err)
	assert.Equal(t, HeaderDiff{Added: []string{"Tier"}}, p.Changes())
}

func TestValidate(t *testing.T) {
	t.Parallel()
	header := []string{"E-Mail", "Telefon", "Geburtstag", "Stadt"}
	spec := &Spec{
		Fields: []FieldSpec{{Name: "vip", Type: intake.TypeBool, Required: true}},
		Columns: []Column{
			{Source: "E-Mail", Field: "emial"},
			{Source: "Telefn", Field: "phone"},
			{Source: "Stadt", Field: "city"},
			{Source: "Stadt", Field: "city"},
			{Field: "birthday", Const: "someday"},
			{Source: "Geburtstag", Field: "country", Format: "dd.MM.yyyy"},
			{Source: "E-Mail", Field: "first_name", Transforms: []Transform{{Name: "uper"}}},
		},
	}
	err := Validate(spec, intake.ContactSchema(), header)
	require.Error(t, err)
	msgs := strings.Split(err.Error(), "\n")
	assert.Len(t, msgs, 7, err.Error())
	for _, want := range []string{
		`column 1 ("E-Mail"): "emial" is not a field of contact (did you mean "email"?)`,
		`column 2 ("Telefn"): no header column is named "Telefn" (closest: "Telefon")`,
		`column 4 ("Stadt"): field "city" is already mapped by column 3 ("Stadt")`,
		`column 5 (field birthday): const "someday" is not a date in the format yyyy-MM-dd`,
		`column 6 ("Geburtstag"): format "dd.MM.yyyy": a format applies to date, time and timestamp fields, not to country`,
		`column 7 ("E-Mail"): transform 1: "uper" is not a known transform (did you mean "upper"?)`,
		`required field "vip" is not mapped`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	assert.Len(t, joined.Unwrap(), 7)
	assert.NoError(t, Validate(Suggest(header, intake.ContactSchema()), intake.ContactSchema(), header))
}

func TestPreview(t *testing.T) {
	t.Parallel()
	spec := `{"fields": [{"name": "tier", "type": "select", "options": ["gold", "silver"], "required": true}],
	 "columns": [{"source": "Mail", "field": "email"}, {"source": "Born", "field": "birthday", "format": "dd.MM.yyyy"},
	             {"source": "Tier", "field": "tier"}, {"source": "Name", "field": "first_name", "transforms": [{"name": "title"}]},
	             {"field": "city", "const": "Berlin"}]}`
	p := setup(t, spec, []string{"Mail", "Born", "Tier", "Name"}, Options{File: "f.csv"})
	rows := p.Preview([]intake.Row{
		{Line: 2, Cells: []string{" A@Example.com", "12.03.1985", "Gold", "anna"}},
		{Line: 3, Cells: []string{"nope", "31.02.1985", "", "bob"}},
	})
	require.Len(t, rows, 2)
	assert.Empty(t, rows[0].Errors)
	assert.Equal(t, []PreviewCell{
		{Column: "Mail", Field: "email", Raw: "A@Example.com", Value: "a@example.com"},
		{Column: "Born", Field: "birthday", Raw: "12.03.1985", Value: "1985-03-12"},
		{Column: "Tier", Field: "tier", Raw: "Gold", Value: "gold"},
		{Column: "Name", Field: "first_name", Raw: "anna", Value: "Anna"},
		{Field: "city", Value: "Berlin"},
	}, rows[0].Cells)
	r := rows[1]
	require.Len(t, r.Errors, 3)
	assert.Equal(t, intake.CodeInvalidEmail, r.Errors[0].Code)
	assert.Equal(t, intake.CodeInvalidDate, r.Errors[1].Code)
	assert.Equal(t, intake.CodeMissingRequired, r.Errors[2].Code)
	assert.Equal(t, "tier", r.Errors[2].Field)
	assert.Equal(t, PreviewCell{Column: "Born", Field: "birthday", Raw: "31.02.1985", Code: intake.CodeInvalidDate, Message: `"31.02.1985" is not a date in the format dd.MM.yyyy`}, r.Cells[1])
	assert.Equal(t, 3, r.Errors[0].Line)
	assert.Equal(t, "f.csv", r.Errors[0].File)
	// Map agrees with the preview on the first error.
	err := p.Map(intake.Row{Line: 3, Cells: []string{"nope", "31.02.1985", "", "bob"}}, intake.NewRecord(p.Schema()))
	assert.Equal(t, r.Errors[0].Error(), err.Error())
}

func TestSpecVersion(t *testing.T) {
	t.Parallel()
	s, err := LoadSpec(strings.NewReader(`{"columns": []}`))
	require.NoError(t, err)
	assert.Equal(t, 1, s.Version, "no version is version 1")
	s, err = LoadSpec(strings.NewReader(`{"version": 1, "columns": []}`))
	require.NoError(t, err)
	assert.Equal(t, 1, s.Version)
	for in, want := range map[string]string{
		`{"version": 2, "columns": []}`:   "spec version 2 is newer than this library understands (up to 1): upgrade",
		`{"version": 0, "columns": []}`:   "versions start at 1",
		`{"version": "1", "columns": []}`: `spec "version" is "1": want a whole number`,
		`{"version": 1.5, "columns": []}`: "want a whole number",
	} {
		_, err := LoadSpec(strings.NewReader(in))
		assert.ErrorContains(t, err, want, in)
	}
	var buf bytes.Buffer
	require.NoError(t, (&Spec{Columns: []Column{{Source: "a", Field: "email"}}}).Save(&buf))
	assert.Contains(t, buf.String(), `"version": 1,`)

	// A migration table upgrades a spec of a lower version before it is decoded.
	migrations := map[int]specMigration{1: func(obj map[string]json.RawMessage) error {
		obj["columns"] = json.RawMessage(`[{"source": "Mail", "field": "email"}]`)
		return nil
	}}
	s, err = loadSpec(strings.NewReader(`{"columns": []}`), 2, migrations)
	require.NoError(t, err)
	assert.Equal(t, &Spec{Version: 2, Columns: []Column{{Source: "Mail", Field: "email"}}}, s)
	_, err = loadSpec(strings.NewReader(`{"columns": []}`), 3, migrations)
	assert.ErrorContains(t, err, "no migration from spec version 2 to 3")
}

func TestSpecRoundTripNewFields(t *testing.T) {
	t.Parallel()
	in := `{"version": 1, "fields": [{"name": "address", "type": "text", "note": "n"}],
	 "columns": [{"sources": ["Street", "No"], "join": ", ", "field": "address", "transforms": [{"name": "split", "sep": " ", "index": -1, "required": true}, {"name": "title"}]},
	             {"source": "Phone", "field": "phone", "region": "DE", "region_from": "Country", "required": true},
	             {"source": "At", "field": "birthday", "format": "excel1904"},
	             {"source": "LTV", "field": "lifetime_value", "decimal": "auto", "currency": "EUR"}]}`
	s, err := LoadSpec(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, Transform{Name: "split", Args: map[string]any{"sep": " ", "index": -1.0, "required": true}}, s.Columns[0].Transforms[0])
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	assert.Contains(t, buf.String(), "{\n          \"name\": \"split\",\n          \"index\": -1,")
	s2, err := LoadSpec(&buf)
	require.NoError(t, err)
	assert.Equal(t, s, s2)
}
