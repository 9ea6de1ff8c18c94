package mapping

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lenientSpec maps one column of each kind with "invalid": "empty" (the
// placeholder INVALID), and a strict email column.
const lenientSpec = `{"fields": [
		{"name": "tier", "type": "select", "options": ["gold", "silver"]},
		{"name": "opt_in", "type": "bool"},
		{"name": "seen", "type": "date"}],
	"columns": [
		{"source": "Email", "field": "email"},
		{"source": "Amount", "field": "lifetime_value", "default": "0" INVALID},
		{"source": "Born", "field": "birthday", "format": "dd.MM.yyyy" INVALID},
		{"source": "Tier", "field": "tier" INVALID},
		{"source": "Work mail", "field": "contact_id", "transforms": [{"name": "regex_extract", "pattern": "ID-(\\d+)", "required": true}] INVALID},
		{"source": "Opt-in", "field": "opt_in" INVALID},
		{"source": "Seen", "field": "seen" INVALID}]}`

var lenientHeader = []string{"Email", "Amount", "Born", "Tier", "Work mail", "Opt-in", "Seen"}

// lenientPlans compiles lenientSpec with "invalid": "empty" and without
// (the default, which rejects).
func lenientPlans(t *testing.T) (lenient, strict *Plan) {
	t.Helper()
	opt := Options{File: "contacts.csv"}
	lenient = setup(t, strings.ReplaceAll(lenientSpec, " INVALID", `, "invalid": "empty"`), lenientHeader, opt)
	strict = setup(t, strings.ReplaceAll(lenientSpec, " INVALID", ""), lenientHeader, opt)
	return lenient, strict
}

// mapWarn maps cells with MapWarn and returns the values, the warnings
// and the error.
func mapWarn(t *testing.T, p *Plan, cells ...string) (map[string]string, []*intake.RowError, error) {
	t.Helper()
	rec := intake.NewRecord(p.Schema())
	var warns []*intake.RowError
	err := p.MapWarn(intake.Row{Line: 7, Cells: cells}, rec, func(e *intake.RowError) { warns = append(warns, e) })
	return values(rec), warns, err
}

func TestLenientColumns(t *testing.T) {
	t.Parallel()
	lenient, strict := lenientPlans(t)
	clean := []string{"anna@example.com", "12.50", "01.02.1990", "Gold", "ID-42", "yes", "2026-01-15"}
	want := map[string]string{"email": "anna@example.com", "lifetime_value": "12.5", "birthday": "1990-02-01", "tier": "gold", "contact_id": "42", "opt_in": "true", "seen": "2026-01-15"}
	tests := []struct {
		name  string
		col   int    // the bad cell
		bad   string // its text
		field string
		code  intake.Code
	}{
		{"decimal", 1, "twelve", "lifetime_value", "invalid_decimal"},
		{"date with format", 2, "1990-02-01", "birthday", "invalid_date"},
		{"impossible date", 2, "30.02.1990", "birthday", "invalid_date"},
		{"select", 3, "platinum", "tier", "invalid_select"},
		{"transform", 4, "no id", "contact_id", intake.CodeTransformFailed},
		{"bool", 5, "maybe", "opt_in", "invalid_bool"},
		{"date iso", 6, "15/01/2026", "seen", "invalid_date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cells := append([]string(nil), clean...)
			cells[tt.col] = tt.bad

			// Strict: the row is rejected, as without the option.
			_, err := mapRow(t, strict, cells...)
			var rejected *intake.RowError
			require.ErrorAs(t, err, &rejected)
			assert.Equal(t, tt.code, rejected.Code)
			rejected.Line = 7 // mapRow maps line 2

			// Lenient: the row goes on, the field is null (not the
			// default), the cell is the warning the rejection would have been.
			got, warns, err := mapWarn(t, lenient, cells...)
			require.NoError(t, err)
			w := maps.Clone(want)
			delete(w, tt.field)
			assert.Equal(t, w, got)
			require.Len(t, warns, 1)
			assert.Equal(t, rejected, warns[0])
			assert.Equal(t, "contacts.csv", warns[0].File)
			assert.Equal(t, lenientHeader[tt.col], warns[0].Column)
			assert.Equal(t, tt.field, warns[0].Field)

			// Map leaves the field empty too, and says nothing.
			got, err = mapRow(t, lenient, cells...)
			require.NoError(t, err)
			assert.Equal(t, w, got)
		})
	}

	t.Run("clean and empty cells", func(t *testing.T) {
		t.Parallel()
		got, warns, err := mapWarn(t, lenient, clean...)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		assert.Empty(t, warns)
		// An empty cell takes the default and is no warning.
		got, warns, err = mapWarn(t, lenient, "anna@example.com", "", "", "", "", "", "")
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"email": "anna@example.com", "lifetime_value": "0"}, got)
		assert.Empty(t, warns)
	})

	t.Run("several warnings in column order", func(t *testing.T) {
		t.Parallel()
		got, warns, err := mapWarn(t, lenient, "anna@example.com", "x", "01.02.1990", "bronze", "ID-1", "perhaps", "")
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"email": "anna@example.com", "birthday": "1990-02-01", "contact_id": "1"}, got)
		var codes []intake.Code
		for _, w := range warns {
			codes = append(codes, w.Code)
		}
		assert.Equal(t, []intake.Code{"invalid_decimal", "invalid_select", "invalid_bool"}, codes)
	})

	t.Run("a row rejected by a strict column reports no warning", func(t *testing.T) {
		t.Parallel()
		_, warns, err := mapWarn(t, lenient, "not-an-email", "x", "", "", "", "", "")
		var re *intake.RowError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, intake.Code("invalid_email"), re.Code)
		assert.Empty(t, warns)
	})
}

// TestLenientRequired checks a lenient column of a built-in field and that
// a required field still rejects: a bad cell with its own error, an empty
// one with missing_required.
func TestLenientRequired(t *testing.T) {
	t.Parallel()
	p := setup(t, `{"columns": [
		{"source": "Email", "field": "email", "invalid": "empty"},
		{"source": "ID", "field": "contact_id", "required": true, "invalid": "empty", "transforms": [{"name": "regex_extract", "pattern": "\\d+", "required": true}]}]}`,
		[]string{"Email", "ID"}, Options{})

	got, warns, err := mapWarn(t, p, "anna(at)example.com", "ID-7")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"contact_id": "7"}, got)
	require.Len(t, warns, 1)
	assert.Equal(t, intake.Code("invalid_email"), warns[0].Code)
	assert.Equal(t, `"anna(at)example.com" is not an email address`, warns[0].Message)

	_, warns, err = mapWarn(t, p, "anna(at)example.com", "none")
	var re *intake.RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, intake.CodeTransformFailed, re.Code, "a required field's bad cell rejects the row")
	assert.Empty(t, warns)

	_, _, err = mapWarn(t, p, "anna@example.com", "")
	require.ErrorAs(t, err, &re)
	assert.Equal(t, intake.CodeMissingRequired, re.Code)

	// Preview lists the bad required cell as an error, once.
	rows := p.Preview([]intake.Row{{Line: 2, Cells: []string{"x", "none"}}})
	require.Len(t, rows, 1)
	require.Len(t, rows[0].Errors, 1)
	assert.Equal(t, intake.CodeTransformFailed, rows[0].Errors[0].Code)
	require.Len(t, rows[0].Warnings, 1)
	assert.Equal(t, intake.Code("invalid_email"), rows[0].Warnings[0].Code)
}

func TestLenientPreview(t *testing.T) {
	t.Parallel()
	lenient, _ := lenientPlans(t)
	rows := lenient.Preview([]intake.Row{
		{Line: 2, Cells: []string{"anna@example.com", "x", "01.02.1990", "Gold", "ID-1", "maybe", ""}},
		{Line: 3, Cells: []string{"bad", "1", "", "", "", "", ""}},
	})
	require.Len(t, rows, 2)
	r := rows[0]
	assert.Empty(t, r.Errors)
	require.Len(t, r.Warnings, 2)
	assert.Equal(t, "Amount", r.Warnings[0].Column)
	assert.Equal(t, "Opt-in", r.Warnings[1].Column)
	amount := r.Cells[1]
	assert.Equal(t, PreviewCell{Column: "Amount", Field: "lifetime_value", Raw: "x", Code: "invalid_decimal", Message: amount.Message, Warning: true}, amount)
	assert.NotEmpty(t, amount.Message)
	assert.False(t, r.Cells[2].Warning)
	assert.Equal(t, "1990-02-01", r.Cells[2].Value)

	r = rows[1]
	require.Len(t, r.Errors, 1)
	assert.Equal(t, intake.Code("invalid_email"), r.Errors[0].Code)
	assert.Empty(t, r.Warnings)
}

func TestLenientSpec(t *testing.T) {
	t.Parallel()
	s, err := LoadSpec(strings.NewReader(`{"columns": [{"source": "A", "field": "city", "invalid": "empty"}, {"source": "B", "field": "email", "invalid": "reject"}]}`))
	require.NoError(t, err)
	assert.Equal(t, InvalidEmpty, s.Columns[0].Invalid)
	assert.Equal(t, InvalidReject, s.Columns[1].Invalid)
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	assert.Contains(t, buf.String(), `"invalid": "empty"`)
	back, err := LoadSpec(&buf)
	require.NoError(t, err)
	assert.Equal(t, s, back)

	tests := []struct{ spec, want string }{
		{`{"columns": [{"source": "Amount", "field": "lifetime_value", "invalid": "drop"}]}`,
			`mapping: column 1 ("Amount"): invalid "drop": use "reject"`},
		{`{"columns": [{"source": "A", "field": "city"}, {"index": 3, "field": "email", "invalid": "Empty"}]}`,
			`mapping: column 2 (index 3): invalid "Empty"`},
		{`{"columns": [{"field": "city", "const": "Berlin", "invalid": "empty"}]}`,
			`mapping: column 1 (field city): a const column takes no "invalid": "empty"`},
		{`{"columns": [{"source": "A", "field": "city", "invalid": true}]}`,
			`columns.invalid: want a string`},
	}
	for _, tt := range tests {
		_, err := LoadSpec(strings.NewReader(tt.spec))
		require.Error(t, err, tt.spec)
		assert.Contains(t, err.Error(), tt.want)
	}
	// Validate refuses it too, on a spec built in code.
	err = Validate(&Spec{Columns: []Column{{Source: "A", Field: "city", Invalid: "skip"}}}, intake.ContactSchema(), []string{"A"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `column 1 ("A"): invalid "skip"`)
}

// TestLenientNoAlloc checks that MapWarn, with a warn function, allocates
// nothing for a clean row of lenient columns.
func TestLenientNoAlloc(t *testing.T) {
	p := setup(t, `{"columns": [
		{"source": "Email", "field": "email", "invalid": "empty"},
		{"source": "Amount", "field": "lifetime_value", "invalid": "empty"},
		{"source": "City", "field": "city"}]}`, []string{"Email", "Amount", "City"}, Options{})
	row := intake.Row{Line: 2, Cells: []string{"anna@example.com", "12.5", "Berlin"}}
	rec := intake.NewRecord(p.Schema())
	n := 0
	warn := func(*intake.RowError) { n++ }
	allocs := testing.AllocsPerRun(100, func() {
		if err := p.MapWarn(row, rec, warn); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	assert.Zero(t, n)
}
