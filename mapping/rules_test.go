package mapping

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mapRow(t *testing.T, p *Plan, cells ...string) (map[string]string, error) {
	t.Helper()
	rec := intake.NewRecord(p.Schema())
	err := p.Map(intake.Row{Line: 2, Cells: cells}, rec)
	return values(rec), err
}

func TestTransforms(t *testing.T) {
	t.Parallel()
	spec := `{"columns": [
		{"source": "Name", "field": "first_name", "transforms": [{"name": "split", "sep": " ", "index": 0}, {"name": "title"}]},
		{"source": "Name", "field": "last_name", "transforms": [{"name": "split", "sep": " ", "index": -1}, {"name": "upper"}]},
		{"source": "Ref", "field": "contact_id", "transforms": [{"name": "regex_extract", "pattern": "ID-(\\d+)", "required": true}]},
		{"source": "City", "field": "city", "transforms": [{"name": "collapse_spaces"}, {"name": "regex_replace", "pattern": "(?i)^st\\.? ", "replacement": "Saint "}]},
		{"source": "Mail", "field": "email", "transforms": [{"name": "replace", "old": " at ", "new": "@"}, {"name": "lower"}, {"name": "trim"}]}]}`
	p := setup(t, spec, []string{"Name", "Ref", "City", "Mail"}, Options{})
	got, err := mapRow(t, p, "anna-lena  von schmidt", "ref ID-0042/x", "st.   Louis ", "Anna at Example.com")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"first_name": "Anna-Lena", "last_name": "SCHMIDT", "contact_id": "0042", "city": "Saint Louis", "email": "anna@example.com"}, got)

	// A failing transform rejects the row with transform_failed.
	_, err = mapRow(t, p, "Bob", "no id here", "", "")
	var re *intake.RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, intake.CodeTransformFailed, re.Code)
	assert.Equal(t, "Ref", re.Column)
	assert.Equal(t, "contact_id", re.Field)
	assert.Contains(t, re.Message, `does not match`)

	// A transform that empties a cell makes it empty (default applies).
	p = setup(t, `{"columns": [{"source": "N", "field": "city", "default": "Unknown", "transforms": [{"name": "regex_extract", "pattern": "\\d+"}]}]}`, []string{"N"}, Options{})
	got, err = mapRow(t, p, "abc")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"city": "Unknown"}, got)
}

func TestTransformCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{"name": "titel"}`, `"titel" is not a known transform (did you mean "title"?)`},
		{`{"name": "split"}`, `argument "sep" is required`},
		{`{"name": "split", "sep": " ", "idx": 1}`, `unknown argument "idx" ("split" takes index, required, sep)`},
		{`{"name": "split", "sep": " ", "index": 1.5}`, `argument "index" must be an integer`},
		{`{"name": "upper", "x": 1}`, `unknown argument "x": "upper" takes no arguments`},
		{`{"name": "regex_extract", "pattern": "("}`, "missing closing )"},
		{`{"name": "regex_extract", "pattern": "(a)", "group": 2}`, "groups 0 to 1"},
		{`{"name": "regex_extract", "pattern": "(?P<n>a)", "group": "m"}`, `no group named "m"`},
		{`{"name": "regex_replace", "pattern": "a", "replacement": 1}`, `argument "replacement" must be a string`},
		{`{"name": "split", "sep": " ", "required": "yes"}`, `must be true or false`},
		{`{"name": "regex_replace", "pattern": "a{1000}b{1000}c{1000}"}`, `is too complex (3002 instructions, at most 2500)`},
	}
	for _, tt := range tests {
		spec, err := LoadSpec(strings.NewReader(`{"columns": [{"source": "A", "field": "city", "transforms": [` + tt.in + `]}]}`))
		require.NoError(t, err, tt.in)
		_, err = Compile(spec, intake.ContactSchema(), []string{"A"}, Options{})
		if assert.Error(t, err, tt.in) {
			assert.Contains(t, err.Error(), tt.want, tt.in)
			assert.Contains(t, err.Error(), `column 1 ("A"): transform 1`, tt.in)
		}
	}
	for _, bad := range []string{`{"name": ""}`, `{"sep": " "}`, `{"name": "split", "sep": [" "]}`, `{"name": "split", "sep": null}`, `"trim"`} {
		_, err := LoadSpec(strings.NewReader(`{"columns": [{"source": "A", "field": "city", "transforms": [` + bad + `]}]}`))
		assert.Error(t, err, bad)
	}
}

func TestTransformRegistry(t *testing.T) {
	t.Parallel()
	r := DefaultTransforms()
	assert.Equal(t, []string{"collapse_spaces", "lower", "regex_extract", "regex_replace", "replace", "split", "title", "trim", "upper"}, r.Names())
	assert.ErrorContains(t, r.Register("trim", func(TransformArgs) (TransformFunc, error) { return nil, nil }), "already registered")
	assert.ErrorContains(t, r.Register("Bad Name", func(TransformArgs) (TransformFunc, error) { return nil, nil }), "transform name")
	assert.ErrorContains(t, r.Register("x", nil), "nil")
	require.NoError(t, r.Register("strip_prefix", func(a TransformArgs) (TransformFunc, error) {
		prefix, err := a.need("prefix")
		if err != nil {
			return nil, err
		}
		return func(s string) (string, error) {
			rest, ok := strings.CutPrefix(s, prefix)
			if !ok {
				return "", fmt.Errorf("%q does not start with %q", s, prefix)
			}
			return rest, nil
		}, nil
	}))
	require.NoError(t, r.Register("nil_func", func(TransformArgs) (TransformFunc, error) { return nil, nil }))
	spec := `{"columns": [{"source": "A", "field": "contact_id", "transforms": [{"name": "strip_prefix", "prefix": "C-"}]}]}`
	p := setup(t, spec, []string{"A"}, Options{Transforms: r})
	got, err := mapRow(t, p, "C-007")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"contact_id": "007"}, got)
	_, err = mapRow(t, p, "X-007")
	assert.ErrorContains(t, err, `transform_failed: "X-007" does not start with "C-"`)

	// The default registry does not know the host's transform; the
	// host's registry is not changed by a clone's registration.
	s, err := LoadSpec(strings.NewReader(spec))
	require.NoError(t, err)
	_, err = Compile(s, intake.ContactSchema(), []string{"A"}, Options{})
	assert.ErrorContains(t, err, `"strip_prefix" is not a known transform`)
	c := r.Clone()
	require.NoError(t, c.Register("extra", func(TransformArgs) (TransformFunc, error) {
		return func(s string) (string, error) { return strings.ToLower(s), nil }, nil
	}))
	assert.NotContains(t, r.Names(), "extra")
	s.Columns[0].Transforms = []Transform{{Name: "nil_func"}}
	_, err = Compile(s, intake.ContactSchema(), []string{"A"}, Options{Transforms: r})
	assert.ErrorContains(t, err, "returned no function")
}

func TestJoinAndOneColumnToSeveralFields(t *testing.T) {
	t.Parallel()
	spec := `{"fields": [{"name": "address", "type": "text"}, {"name": "full_name", "type": "text"}],
	 "columns": [{"sources": ["Street", "No"], "join": " ", "field": "address"},
	             {"sources": ["First", "Last"], "field": "full_name", "transforms": [{"name": "title"}]},
	             {"source": "First", "field": "first_name"},
	             {"source": "Mail", "field": "email"},
	             {"source": "Mail", "field": "contact_id"}]}`
	p := setup(t, spec, []string{"First", "Last", "Street", "No", "Mail"}, Options{})
	got, err := mapRow(t, p, "anna", "schmidt", "Hauptstraße", " 5a ", "A@Example.com")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"address": "Hauptstraße 5a", "full_name": "Anna Schmidt", "first_name": "anna",
		"email": "a@example.com", "contact_id": "A@Example.com"}, got)
	got, err = mapRow(t, p, "", "Schmidt", "", "", "")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"full_name": "Schmidt"}, got, "empty parts are left out of a join")

	// Without a header, sources are "#N".
	p = setup(t, `{"fields": [{"name": "address", "type": "text"}], "columns": [{"sources": ["#2", "#1"], "join": ", ", "field": "address"}]}`, nil, Options{})
	got, err = mapRow(t, p, "10115 Berlin", "Hauptstraße 5")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"address": "Hauptstraße 5, 10115 Berlin"}, got)
	assert.Equal(t, []ColumnPlan{{Index: 1, Field: "address", Type: intake.TypeText}, {Index: 2, Field: "address", Type: intake.TypeText}}, p.Columns())

	// A joined column's errors name all its sources.
	p = setup(t, `{"columns": [{"sources": ["Y", "M", "D"], "join": "-", "field": "birthday"}]}`, []string{"Y", "M", "D"}, Options{})
	got, err = mapRow(t, p, "1985", "03", "12")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"birthday": "1985-03-12"}, got)
	_, err = mapRow(t, p, "1985", "02", "30")
	var re *intake.RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "Y+M+D", re.Column)
	assert.Equal(t, intake.CodeInvalidDate, re.Code)
}

func TestPhoneRegionFromCountryColumn(t *testing.T) {
	t.Parallel()
	spec := `{"columns": [{"source": "Phone", "field": "phone", "region_from": "Country"}, {"source": "Country", "field": "country"}]}`
	p := setup(t, spec, []string{"Phone", "Country"}, Options{DefaultRegion: "DE"})
	for _, tt := range []struct{ phone, country, want string }{
		{"030 1234567", "Germany", "+49301234567"},
		{"(202) 555-0143", "USA", "+12025550143"},
		{"020 7123 4567", "GB", "+442071234567"},
		{"06 69821234", "Italien", "+390669821234"},
		{"030 1234567", "", "+49301234567"},         // no country: the job's default region
		{"+33 1 23 45 67 89", "US", "+33123456789"}, // an international number keeps its code
	} {
		got, err := mapRow(t, p, tt.phone, tt.country)
		require.NoError(t, err, tt)
		assert.Equal(t, tt.want, got["phone"], tt)
	}
	// Column region overrides the job's; region_from overrides both.
	p = setup(t, `{"columns": [{"source": "Phone", "field": "phone", "region": "fr"}]}`, []string{"Phone"}, Options{DefaultRegion: "DE"})
	got, err := mapRow(t, p, "01 23 45 67 89")
	require.NoError(t, err)
	assert.Equal(t, "+33123456789", got["phone"])

	for _, tt := range []struct{ spec, want string }{
		{`{"columns": [{"source": "Phone", "field": "city", "region_from": "Country"}]}`, `"region_from" applies to phone fields`},
		{`{"columns": [{"source": "Phone", "field": "phone", "region_from": "Land"}]}`, `region_from: no header column is named "Land"`},
		{`{"columns": [{"source": "Phone", "field": "city", "region": "DE"}]}`, `a region applies to phone fields`},
		{`{"columns": [{"source": "Phone", "field": "phone", "region": "XX"}]}`, `region "XX" is not a supported phone region`},
	} {
		s, err := LoadSpec(strings.NewReader(tt.spec))
		if err == nil {
			_, err = Compile(s, intake.ContactSchema(), []string{"Phone", "Country"}, Options{})
		}
		assert.ErrorContains(t, err, tt.want)
	}
}

func TestExcelSerialDates(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in     string
		system int
		want   string
	}{
		{"1", 1900, "1900-01-01"}, {"59", 1900, "1900-02-28"}, {"60", 1900, "!"}, {"61", 1900, "1900-03-01"},
		{"25569", 1900, "1970-01-01"}, {"45380", 1900, "2024-03-29"}, {"2958465", 1900, "9999-12-31"}, {"2958466", 1900, "!"},
		{"0", 1900, "!"}, {"-1", 1900, "!"}, {"45380.75", 1900, "2024-03-29"}, {"1e3", 1900, "!"}, {"45379.", 1900, "!"},
		{"0", 1904, "1904-01-01"}, {"1461", 1904, "1908-01-01"}, {"24107", 1904, "1970-01-01"}, {"43918", 1904, "2024-03-29"},
		{"2957003", 1904, "9999-12-31"}, {"2957004", 1904, "!"}, {"45380.999999999", 1900, "2024-03-30"}, {"45380.99999999", 1900, "2024-03-29"},
	} {
		y, m, d, _, ok := excelSerial(tt.in, tt.system)
		if tt.want == "!" {
			assert.False(t, ok, "%s/%d", tt.in, tt.system)
			continue
		}
		require.True(t, ok, "%s/%d", tt.in, tt.system)
		assert.Equal(t, tt.want, intake.Date(y, m, d).String(), "%s/%d", tt.in, tt.system)
	}
	spec := `{"fields": [{"name": "seen_at", "type": "timestamp"}],
	 "columns": [{"source": "B", "field": "birthday", "format": "excel1900"},
	             {"source": "S", "field": "seen_at", "format": "excel1904", "zone": "Europe/Berlin"}]}`
	p := setup(t, spec, []string{"B", "S"}, Options{})
	got, err := mapRow(t, p, "31118", "43918.5416666667")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"birthday": "1985-03-12", "seen_at": "2024-03-29T12:00:00Z"}, got)
	got, err = mapRow(t, p, "1985-03-12", "2024-03-29 13:00:00")
	require.NoError(t, err, "ISO is still accepted")
	assert.Equal(t, map[string]string{"birthday": "1985-03-12", "seen_at": "2024-03-29T12:00:00Z"}, got)
	_, err = mapRow(t, p, "60", "")
	assert.ErrorContains(t, err, "Excel serial number in the 1900 date system")

	s, err := LoadSpec(strings.NewReader(`{"columns": [{"source": "B", "field": "city", "format": "excel1900"}]}`))
	require.NoError(t, err)
	_, err = Compile(s, intake.ContactSchema(), []string{"B"}, Options{})
	assert.ErrorContains(t, err, "Excel serial numbers apply to date and timestamp fields")
}

func TestTimestampZones(t *testing.T) {
	t.Parallel()
	spec := `{"fields": [{"name": "at", "type": "timestamp"}, {"name": "at_local", "type": "timestamp"}, {"name": "at_fmt", "type": "timestamp"},
	                     {"name": "t", "type": "time"}, {"name": "t_off", "type": "time"}],
	 "columns": [{"source": "A", "field": "at"},
	             {"source": "L", "field": "at_local", "zone": "Europe/Berlin"},
	             {"source": "F", "field": "at_fmt", "format": "dd.MM.yyyy HH:mm XXX"},
	             {"source": "T", "field": "t"},
	             {"source": "U", "field": "t_off", "zone": "+02:00"}]}`
	p := setup(t, spec, []string{"A", "L", "F", "T", "U"}, Options{})
	got, err := mapRow(t, p, "2026-03-29T01:30:00+01:00", "2026-03-29 01:30:00", "29.03.2026 03:30 +02:00", "09:15:00+02:00", "09:15")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"at": "2026-03-29T00:30:00Z", "at_local": "2026-03-29T00:30:00Z", "at_fmt": "2026-03-29T01:30:00Z",
		"t": "07:15:00", "t_off": "07:15:00"}, got)
	// After the DST switch Berlin is +02:00; Z and explicit offsets win over the column zone.
	got, err = mapRow(t, p, "2026-03-29T01:30:00Z", "2026-03-29 03:30:00", "29.03.2026 03:30 Z", "09:15", "09:15:00Z")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"at": "2026-03-29T01:30:00Z", "at_local": "2026-03-29T01:30:00Z", "at_fmt": "2026-03-29T03:30:00Z",
		"t": "09:15:00", "t_off": "09:15:00"}, got)

	runParse(t, func(s string) (intake.Value, bool) { return parseTimestamp(nil, s, nil) }, []parseCase{
		{"2026-03-29 01:30:00+0100", "2026-03-29T00:30:00Z"}, {"2026-03-29T01:30+01", "2026-03-29T00:30:00Z"},
		{"2026-03-29T01:30:00.123456789-05:30", "2026-03-29T07:00:00.123456Z"}, {"2026-03-29T01:30:00+24:00", "!"},
		{"2026-03-29T01:30:00+01:60", "!"}, {"2026-03-29T01:30:00 +01:00", "!"}, {"2026-03-29T01:30:00.", "!"},
	})
	p2, err := compilePattern("M/d/yyyy h:mm a")
	require.NoError(t, err)
	require.NoError(t, p2.checkFor(intake.TypeTimestamp))
	runParse(t, func(s string) (intake.Value, bool) { return parseTimestamp(p2, s, nil) }, []parseCase{
		{"3/29/2026 1:30 PM", "2026-03-29T13:30:00Z"}, {"3/29/2026 12:05 am", "2026-03-29T00:05:00Z"}, {"3/29/2026 12:05 p.m.", "2026-03-29T12:05:00Z"},
		{"3/29/2026 13:05 PM", "!"}, {"3/29/2026 0:05 AM", "!"},
	})

	for _, tt := range []struct{ spec, want string }{
		{`{"fields": [{"name": "t", "type": "time"}], "columns": [{"source": "A", "field": "t", "zone": "Europe/Berlin"}]}`, "only a fixed offset"},
		{`{"columns": [{"source": "A", "field": "city", "zone": "UTC"}]}`, "a zone applies to timestamp and time fields"},
		{`{"columns": [{"source": "A", "field": "birthday", "zone": "Mars/Olympus"}]}`, "not a known time zone"},
		{`{"columns": [{"source": "A", "field": "birthday", "zone": "+1:00"}]}`, "fixed offset is written"},
		{`{"fields": [{"name": "at", "type": "timestamp"}], "columns": [{"source": "A", "field": "at", "format": "dd.MM.yyyy h:mm"}]}`, "12-hour clock"},
	} {
		s, err := LoadSpec(strings.NewReader(tt.spec))
		if err == nil {
			_, err = Compile(s, intake.ContactSchema(), []string{"A"}, Options{})
		}
		assert.ErrorContains(t, err, tt.want)
	}
}

func TestCurrencyColumn(t *testing.T) {
	t.Parallel()
	p := setup(t, `{"columns": [{"source": "Umsatz", "field": "lifetime_value", "decimal": ",", "currency": "EUR"}]}`, []string{"Umsatz"}, Options{})
	got, err := mapRow(t, p, "EUR 1.234,56")
	require.NoError(t, err)
	assert.Equal(t, "1234.56", got["lifetime_value"])
	_, err = mapRow(t, p, "12,50 USD")
	assert.ErrorContains(t, err, `"12,50 USD" is not a number with the decimal separator "," in EUR`)
	s, err := LoadSpec(strings.NewReader(`{"columns": [{"source": "Umsatz", "field": "lifetime_value", "currency": "EURO"}]}`))
	require.Nil(t, s)
	assert.ErrorContains(t, err, `currency "EURO" is not an ISO 4217 code`)
}

func TestAutoFormatFromSample(t *testing.T) {
	t.Parallel()
	spec := `{"columns": [{"source": "Born", "field": "birthday", "format": "auto"}, {"source": "LTV", "field": "lifetime_value", "decimal": "auto"}]}`
	header := []string{"Born", "LTV"}
	sample := [][]string{{"01/02/1985", "1.234,50"}, {"25/12/1990", "12,5"}, {"", ""}, {"03/04/2001", "7"}}
	p := setup(t, spec, header, Options{Sample: sample})
	got, err := mapRow(t, p, "01/02/1985", "1.234,50")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"birthday": "1985-02-01", "lifetime_value": "1234.5"}, got)
	assert.Equal(t, "dd/MM/yyyy", p.Columns()[0].Format)
	assert.Equal(t, ",", p.Columns()[1].Decimal)
	assert.Equal(t, "auto", p.Spec().Columns[0].Format, "the spec keeps auto")

	s, err := LoadSpec(strings.NewReader(spec))
	require.NoError(t, err)
	_, err = Compile(s, intake.ContactSchema(), header, Options{Sample: [][]string{{"01/02/1985", "1"}, {"03/04/2001", "2"}}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrAmbiguousFormat), err.Error())
	assert.Contains(t, err.Error(), `"dd/MM/yyyy" and "MM/dd/yyyy"`)
	assert.Contains(t, err.Error(), `set "format" or "decimal" instead of "auto"`)
	_, err = Compile(s, intake.ContactSchema(), header, Options{})
	assert.ErrorContains(t, err, "needs a sample")
	assert.NoError(t, Validate(s, intake.ContactSchema(), header), "Validate accepts auto without a sample")
}

func TestMultiSelectSeparator(t *testing.T) {
	t.Parallel()
	spec := `{"fields": [{"name": "tags", "type": "multiselect", "options": ["a;b", "c"]}],
	 "columns": [{"source": "Tags", "field": "tags", "separator": "/"}]}`
	p := setup(t, spec, []string{"Tags"}, Options{})
	got, err := mapRow(t, p, "A;B / c / c")
	require.NoError(t, err)
	assert.Equal(t, "a;b|c", got["tags"])
	_, err = mapRow(t, p, "a;b;c")
	assert.ErrorContains(t, err, `separated by "/"`)
	s, err := LoadSpec(strings.NewReader(`{"columns": [{"source": "Tags", "field": "city", "separator": "/"}]}`))
	require.NoError(t, err)
	_, err = Compile(s, intake.ContactSchema(), []string{"Tags"}, Options{})
	assert.ErrorContains(t, err, "a separator applies to multiselect fields")
}
