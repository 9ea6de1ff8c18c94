package mapping

import (
	"bytes"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const designSpec = `{"fields":  [{"name": "loyalty_tier", "type": "select", "options": ["gold", "silver"]}],
 "columns": [{"source": "E-Mail", "field": "email"},
             {"index": 4, "field": "birthday", "format": "dd.MM.yyyy"},
             {"source": "Umsatz", "field": "lifetime_value", "decimal": ","},
             {"source": "Notes", "skip": true},
             {"field": "lead_source", "const": "fair-2026"}]}`

func TestLoadSpec(t *testing.T) {
	t.Parallel()
	s, err := LoadSpec(strings.NewReader(designSpec))
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

func TestSpecRoundTrip(t *testing.T) {
	t.Parallel()
	s, err := LoadSpec(strings.NewReader(designSpec))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	s2, err := LoadSpec(&buf)
	require.NoError(t, err)
	assert.Equal(t, s, s2)
}

func FuzzLoadSpec(f *testing.F) {
	f.Add(designSpec)
	f.Add(`{"columns": []}`)
	f.Add(`{"columns": [{"index": 1, "field": "email", "default": "x@y.zz", "note": "n"}]}`)
	f.Add(`{"fields": [{"name": "tags", "type": "multi-select", "options": []}], "columns": null}`)
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
		// Compiling must never panic.
		_, _ = Compile(s, intake.ContactSchema(), []string{"E-Mail", "Umsatz", "Notes", "Geburtstag"}, Options{})
		_, _ = Compile(s, intake.ContactSchema(), nil, Options{})
	})
}
