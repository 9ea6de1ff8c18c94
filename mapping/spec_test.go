package mapping

import (
	"bytes"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const docSpec = `{"fields":  [{"name": "loyalty_tier", "type": "select", "options": ["gold", "silver"]}],
 "columns": [{"source": "E-Mail", "field": "email"},
             {"index": 4, "field": "birthday", "format": "dd.MM.yyyy"},
             {"source": "Umsatz", "field": "lifetime_value", "decimal": ","},
             {"source": "Notes", "skip": true},
             {"field": "lead_source", "const": "fair-2026"}]}`

func TestLoadSpec(t *testing.T) {
	t.Parallel()
	s, err := LoadSpec(strings.NewReader(docSpec))
	require.NoError(t, err)
	assert.Equal(t, []FieldSpec{{Name: "loyalty_tier", Type: intake.TypeSelect, Options: []string{"gold", "silver"}}}, s.Fields)
	require.Len(t, s.Columns, 5)
	assert.Equal(t, Column{Index: 4, Field: "birthday", Format: "dd.MM.yyyy"}, s.Columns[1])
	assert.Equal(t, Column{Field: "lead_source", Const: "fair-2026"}, s.Columns[4])
}

func TestLoadSpecErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", "spec is empty"},
		{"truncated", `{"columns": [`, "ends in the middle"},
		{"syntax", "{\n  \"columns\": [}\n", "line 2, column 15"},
		{"unknown key", `{"columns": [{"source": "a", "feld": "email"}]}`, `unknown field "feld"`},
		{"wrong type", `{"columns": [{"source": "a", "field": "email", "index": "3"}]}`, "want a int"},
		{"trailing", `{"columns": []} {}`, "unexpected data after"},
		{"bad field type", `{"fields": [{"name": "x", "type": "colour"}], "columns": []}`, `unknown field type "colour"`},
		{"no field", `{"columns": [{"source": "a"}]}`, `set "field" or "skip"`},
		{"no source", `{"columns": [{"field": "email"}]}`, `set "source"`},
		{"const with source", `{"columns": [{"source": "a", "field": "x", "const": "1"}]}`, "takes no source"},
		{"negative index", `{"columns": [{"index": -1, "field": "email"}]}`, "1-based"},
		{"decimal", `{"columns": [{"source": "a", "field": "x", "decimal": ";"}]}`, `use ".", "," or "auto"`},
		{"format", `{"columns": [{"source": "a", "field": "x", "format": "dd.MM.yyyyy"}]}`, "not supported"},
		{"field without type", `{"fields": [{"name": "x"}], "columns": []}`, "has no type"},
		{"options on text", `{"fields": [{"name": "x", "type": "text", "options": ["a"]}], "columns": []}`, "options are for select"},
		{"field without name", `{"fields": [{"type": "text"}], "columns": []}`, `custom field 1 has no name`},
		{"skipped const", `{"columns": [{"source": "a", "skip": true, "const": "1"}]}`, "a skipped column cannot have a const"},
		{"join without sources", `{"columns": [{"source": "a", "field": "x", "join": "-"}]}`, `"join" applies to "sources"`},
		{"sources and source", `{"columns": [{"source": "a", "sources": ["b", "c"], "field": "x"}]}`, `drop "source" and "index"`},
		{"empty source entry", `{"columns": [{"sources": ["b", " "], "field": "x"}]}`, `an entry of "sources" is empty`},
		{"const with default", `{"columns": [{"field": "x", "const": "1", "default": "2"}]}`, "a const column takes no default"},
		{"const with transforms", `{"columns": [{"field": "x", "const": "1", "transforms": [{"name": "trim"}]}]}`, "a const column takes no sources, transforms or region_from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadSpec(strings.NewReader(tt.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestValidateTransformWithoutName checks a spec built in code: loading
// one from JSON already rejects a transform without a name.
func TestValidateTransformWithoutName(t *testing.T) {
	t.Parallel()
	s := &Spec{Columns: []Column{{Source: "a", Field: "x", Transforms: []Transform{{Name: "trim"}, {}}}}}
	assert.ErrorContains(t, s.Validate(), `column 1 ("a"): transform 2 has no name`)
}

func TestSpecRoundTrip(t *testing.T) {
	t.Parallel()
	s, err := LoadSpec(strings.NewReader(docSpec))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	s2, err := LoadSpec(&buf)
	require.NoError(t, err)
	assert.Equal(t, s, s2)
}

func FuzzLoadSpec(f *testing.F) {
	f.Add(docSpec)
	f.Add(`{"columns": []}`)
	f.Add(`{"columns": [{"index": 1, "field": "email", "default": "x@y.zz", "note": "n"}]}`)
	f.Add(`{"fields": [{"name": "tags", "type": "multi-select", "options": []}], "columns": null}`)
	f.Add(`{"version": 1, "fields": [{"name": "address", "type": "text"}], "columns": [{"sources": ["E-Mail", "#2"], "join": "-", "field": "address",
		"transforms": [{"name": "split", "sep": "@", "index": -1}, {"name": "regex_replace", "pattern": "(\\w+)", "replacement": "<$1>"}]}]}`)
	f.Add(`{"columns": [{"source": "Geburtstag", "field": "birthday", "format": "auto"}, {"source": "Umsatz", "field": "lifetime_value", "decimal": "auto", "currency": "EUR"}]}`)
	f.Add(`{"columns": [{"source": "Notes", "field": "phone", "region": "DE", "region_from": "#4"}, {"source": "Geburtstag", "field": "birthday", "format": "excel1904", "required": true}]}`)
	f.Add(`{"version": 2, "columns": []}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := LoadSpec(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			t.Fatalf("Save of a loaded spec: %v", err)
		}
		s2, err := LoadSpec(&buf)
		if err != nil {
			t.Fatalf("LoadSpec(Save(%q)): %v\n%s", in, err, buf.String())
		}
		assert.Equal(t, s, s2)
		// Compiling, validating and previewing must never panic.
		header := []string{"E-Mail", "Umsatz", "Notes", "Geburtstag"}
		sample := [][]string{{"a@example.com", "1.234,50", "+49 30 1234567", "12.03.1985"}, {"b@example.com", "7", "DE", "31118"}}
		p, err := Compile(s, intake.ContactSchema(), header, Options{Sample: sample})
		if err == nil {
			rows := []intake.Row{{Line: 2, Cells: sample[0]}, {Line: 3, Cells: sample[1]}, {Line: 4}}
			prev := p.Preview(rows)
			for i, row := range rows {
				err := p.Map(row, intake.NewRecord(p.Schema()))
				if (err == nil) != (len(prev[i].Errors) == 0) {
					t.Fatalf("Map and Preview disagree on row %d: %v vs %v", i, err, prev[i].Errors)
				}
			}
		}
		_ = Validate(s, intake.ContactSchema(), header)
		_, _ = Compile(s, intake.ContactSchema(), nil, Options{})
		_ = Diff(s, header).Apply(s)
	})
}
