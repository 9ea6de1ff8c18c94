package mapping

import (
	"reflect"
	"strings"
	"testing"

	"github.com/intakehq/intake"
)

// FuzzSuggest suggests a mapping for arbitrary headers (the lines of
// header) and samples (the lines of sample, cells split at commas), against
// each default schema, and checks that the suggestion is usable: one column
// per header cell, each field suggested once and known to the schema, a
// field whose exact name is a header cell suggested, the spec compiling
// against the header and sample it came from, and the same answer twice.
func FuzzSuggest(f *testing.F) {
	for _, c := range [][2]string{
		{"email\nFirst Name\nNachname\nDOB\nUmsatz", "a@example.com,Ann,Lee,01.02.1990,\"1.234,56\"\nb@example.com,Bo,Li,31.12.1985,7"},
		{"E-Mail\nemail\n\n  \nemail", "x@y.z,a@b.c,,,"},
		{"Column 3\nTelefon\nBirthday", "+49 30 1234567,030 1234567,1/2/2024\nfoo,bar,13/02/2024"},
		{"Company\nWebsite\naccount_id\nDate\nEvent ID", "Acme,acme.com,A1,2026-03-29T01:30:00+01:00,e1"},
		{"\xff\xfe\nÉmail\ncountry\ncountry", "DE,Deutschland,ZZ"},
		{"", ""},
	} {
		f.Add(c[0], c[1])
	}
	schemas := []*intake.Schema{intake.ContactSchema(), intake.AccountSchema(), intake.ActivitySchema()}
	f.Fuzz(func(t *testing.T, header, sample string) {
		if len(header)+len(sample) > 4096 {
			return
		}
		h := strings.Split(header, "\n")
		var rows [][]string
		for _, line := range strings.Split(sample, "\n") {
			rows = append(rows, strings.Split(line, ","))
		}
		for _, schema := range schemas {
			checkSuggestion(t, h, nil, schema, Suggest(h, schema))
			ss := SuggestDetailed(h, rows, schema, SuggestOptions{})
			checkSuggestion(t, h, rows, schema, ss.Spec())
			if again := SuggestDetailed(h, rows, schema, SuggestOptions{}); !reflect.DeepEqual(ss, again) {
				t.Fatalf("%q: two suggestions differ:\n%+v\n%+v", h, ss, again)
			}
		}
	})
}

func checkSuggestion(t *testing.T, header []string, sample [][]string, schema *intake.Schema, spec *Spec) {
	t.Helper()
	if len(spec.Columns) != len(header) {
		t.Fatalf("%q: %d columns for %d header cells", header, len(spec.Columns), len(header))
	}
	used := map[string]bool{}
	for i, c := range spec.Columns {
		if c.Skip {
			continue
		}
		if schema.Index(c.Field) < 0 || used[c.Field] {
			t.Fatalf("%q: column %d maps to %q (unknown or mapped twice) for %s", header, i+1, c.Field, schema.Object())
		}
		used[c.Field] = true
	}
	for _, h := range header {
		if n := strings.TrimSpace(h); schema.Index(n) >= 0 && !used[n] {
			t.Fatalf("%q: header cell %q names a field of %s that is not suggested", header, h, schema.Object())
		}
	}
	if _, err := Compile(spec, schema, header, Options{Sample: sample}); err != nil {
		t.Fatalf("%q, sample %q: the suggestion does not compile against its own header for %s: %v", header, sample, schema.Object(), err)
	}
}
