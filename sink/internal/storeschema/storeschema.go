package storeschema

import (
	"fmt"
	"maps"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
)

// Merge merges the fields of s into the stored fields cols (a store's
// fields in the order they were added) and returns the new list, whether it
// changed, and the names of stored fields whose type changed to another type
// of the same value kind (their keys must be computed again). A field stored
// with another value kind is an ErrSchemaConflict. A stored field takes the
// Ref of s's field when that names an object type, and keeps its own when
// s's field has none (a schema that does not know a field is a link does
// not unmake it). Likewise a stored field takes the Meta of s's field when
// that has entries and differs (the whole map, replacing its own), and
// keeps its own when s's field has none: either change of Ref or Meta
// alone is a change of the schema.
func Merge(cols []intake.Field, s *intake.Schema) (out []intake.Field, changed bool, retyped []string, err error) {
	out = cols
	pos := make(map[string]int, len(cols))
	for i, c := range cols {
		pos[c.Name] = i
	}
	for i := 0; i < s.Len(); i++ {
		f := s.Field(i)
		j, ok := pos[f.Name]
		if !ok {
			if !changed {
				out = append([]intake.Field(nil), cols...)
				changed = true
			}
			pos[f.Name] = len(out)
			out = append(out, f)
			continue
		}
		c := out[j]
		if c.Type == f.Type {
			refChanged, metaChanged := RefChanged(c, f), MetaChanged(c, f)
			if (refChanged || metaChanged) && !changed {
				out = append([]intake.Field(nil), cols...)
				changed = true
			}
			if refChanged {
				out[j].Ref = f.Ref
			}
			if metaChanged {
				out[j].Meta = f.Meta
			}
			continue
		}
		if c.Type.Kind() != f.Type.Kind() {
			return cols, false, nil, fmt.Errorf("%w: field %q of %q is stored as %s (%s values) and cannot become %s (%s values): rename the field or migrate the data",
				sink.ErrSchemaConflict, f.Name, s.Object(), c.Type, c.Type.Kind(), f.Type, f.Type.Kind())
		}
		if !changed {
			out = append([]intake.Field(nil), cols...)
			changed = true
		}
		if f.Ref == "" && (f.Type == intake.TypeID || f.Type == intake.TypeMultiSelect) {
			f.Ref = c.Ref // a field retyped to text stops being a link
		}
		if len(f.Meta) == 0 {
			f.Meta = c.Meta
		}
		out[j] = f
		retyped = append(retyped, f.Name)
	}
	return out, changed, retyped, nil
}

// SpecUses reports whether spec names one of the fields.
func SpecUses(spec intake.KeySpec, fields []string) bool {
	for _, f := range spec.Fields {
		for _, g := range fields {
			if f == g {
				return true
			}
		}
	}
	return false
}

// RefChanged reports whether the stored field c would take the Ref of f
// (see Merge).
func RefChanged(c, f intake.Field) bool { return f.Ref != "" && f.Ref != c.Ref }

// MetaChanged reports whether the stored field c would take the Meta of f
// (see Merge).
func MetaChanged(c, f intake.Field) bool { return len(f.Meta) > 0 && !maps.Equal(f.Meta, c.Meta) }
