package importer

import (
	"strconv"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
)

// keepUnmapped returns spec with a text field and a column for each header
// column that spec does not mention (Job.KeepUnmapped). With suggested,
// spec was suggested from the header and its "skip" columns are the ones
// no field was found for: they are kept too. spec itself is not changed.
func keepUnmapped(spec *mapping.Spec, header []string, schema *intake.Schema, suggested bool) *mapping.Spec {
	if header == nil {
		return spec
	}
	out := &mapping.Spec{Version: spec.Version, Fields: append([]mapping.FieldSpec(nil), spec.Fields...)}
	mentioned := make([]bool, len(header))
	find := func(name string) int {
		name = strings.TrimSpace(name)
		for i, h := range header {
			if strings.TrimSpace(h) == name {
				return i
			}
		}
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), name) {
				return i
			}
		}
		return -1
	}
	for _, c := range spec.Columns {
		if suggested && c.Skip {
			continue // dropped: the column becomes a property
		}
		out.Columns = append(out.Columns, c)
		switch {
		case c.Index > 0 && c.Index <= len(header):
			mentioned[c.Index-1] = true
		case c.Source != "":
			if i := find(c.Source); i >= 0 {
				mentioned[i] = true
			}
		}
		for _, src := range c.Sources {
			if i := find(src); i >= 0 {
				mentioned[i] = true
			}
		}
	}
	taken := map[string]bool{}
	for _, n := range schema.Names() {
		taken[n] = true
	}
	for _, f := range spec.Fields {
		taken[f.Name] = true
	}
	count := map[string]int{}
	for _, h := range header {
		count[strings.TrimSpace(h)]++
	}
	for i, h := range header {
		if mentioned[i] {
			continue
		}
		name := propertyName(h, i+1)
		for n := 2; taken[name]; n++ {
			name = propertyName(h, i+1) + "_" + strconv.Itoa(n)
		}
		taken[name] = true
		out.Fields = append(out.Fields, mapping.FieldSpec{Name: name, Type: intake.TypeText, Label: strings.TrimSpace(h)})
		col := mapping.Column{Source: strings.TrimSpace(h), Field: name}
		if col.Source == "" || count[col.Source] > 1 {
			col.Index = i + 1
		}
		out.Columns = append(out.Columns, col)
	}
	return out
}

// propertyName turns a header into a field name: lower-case letters,
// digits and underscores, starting with a letter ("Page URL" → page_url);
// "column_N" when nothing is left.
func propertyName(h string, index int) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
		default:
			under = true
		}
	}
	n := b.String()
	if n == "" {
		return "column_" + strconv.Itoa(index)
	}
	if n[0] < 'a' || n[0] > 'z' {
		n = "f_" + n
	}
	if len(n) > 56 { // room for a "_NN" suffix within the 63 of a name
		n = strings.TrimRight(n[:56], "_")
	}
	return n
}
