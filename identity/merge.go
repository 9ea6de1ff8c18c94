package identity

import (
	"fmt"
	"slices"

	"github.com/intakehq/intake"
)

// Merge is a survivorship rule: which value a field keeps when a row
// updates a stored record.
type Merge string

// The merge rules.
const (
	// MergeNonEmpty, the default, takes the row's value when it has one:
	// an empty cell never blanks a stored value.
	MergeNonEmpty Merge = "non_empty"
	// MergeOverwrite takes the row's value, empty or not: an empty cell of
	// a mapped column empties the field. Fields the row does not map are
	// never touched.
	MergeOverwrite Merge = "overwrite"
	// MergeFillEmpty takes the row's value only where the stored field is
	// empty: stored values are never replaced.
	MergeFillEmpty Merge = "fill_empty"
	// MergeNewest takes the row's non-empty value when the row is at least
	// as recent as the stored record, by a timestamp (or date) field
	// ([MergePolicy].By or [FieldMerge].By): a row without that value is
	// older than any stored record; a stored record without it is older
	// than any row that has it.
	MergeNewest Merge = "newest"
	// MergeAppend, for multi-value fields (multi-select, lists, tags),
	// adds the row's items to the stored ones (a union: stored items first,
	// each item once); for other fields it is MergeNonEmpty.
	MergeAppend Merge = "append"
)

// FieldMerge overrides a [MergePolicy] for one field.
type FieldMerge struct {
	Field string `json:"field"`
	Rule  Merge  `json:"rule"`
	// By is the timestamp field MergeNewest compares; default the
	// policy's By.
	By string `json:"by,omitempty"`
}

// MergePolicy is the survivorship policy of a job: a default rule and
// per-field overrides. The zero value is MergeNonEmpty for every field.
type MergePolicy struct {
	Default Merge `json:"default,omitempty"`
	// By is the timestamp (or date) field that MergeNewest compares.
	By     string       `json:"by,omitempty"`
	Fields []FieldMerge `json:"fields,omitempty"`
}

// Merger is a [MergePolicy] compiled against a schema. It is safe for
// concurrent use.
type Merger struct {
	rules  []Merge // per field
	by     []int   // per field under MergeNewest: its By field's position in bys
	bys    []int   // the distinct By fields (schema indexes)
	stored bool
}

// Compile checks the policy against s and compiles it.
func (p MergePolicy) Compile(s *intake.Schema) (*Merger, error) {
	m := &Merger{rules: make([]Merge, s.Len()), by: make([]int, s.Len())}
	def := p.Default
	if def == "" {
		def = MergeNonEmpty
	}
	byIndex := func(name, what string) (int, error) {
		if name == "" {
			return -1, fmt.Errorf("identity: merge rule newest%s needs a timestamp field to compare: set By", what)
		}
		i := s.Index(name)
		if i < 0 {
			return -1, fmt.Errorf("identity: merge By field %q is not a field of %q", name, s.Object())
		}
		if k := s.Field(i).Type.Kind(); k != intake.KindTimestamp && k != intake.KindDate {
			return -1, fmt.Errorf("identity: merge By field %q is a %s, not a timestamp or date", name, s.Field(i).Type)
		}
		return i, nil
	}
	check := func(r Merge) error {
		switch r {
		case MergeNonEmpty, MergeOverwrite, MergeFillEmpty, MergeNewest, MergeAppend:
			return nil
		}
		return fmt.Errorf("identity: unknown merge rule %q (want non_empty, overwrite, fill_empty, newest or append)", r)
	}
	if err := check(def); err != nil {
		return nil, err
	}
	defBy := -1
	if def == MergeNewest {
		i, err := byIndex(p.By, "")
		if err != nil {
			return nil, err
		}
		defBy = i
	}
	for i := range m.rules {
		m.rules[i], m.by[i] = def, defBy
	}
	seen := map[string]bool{}
	for _, f := range p.Fields {
		i := s.Index(f.Field)
		if i < 0 {
			return nil, fmt.Errorf("identity: merge rule for %q: not a field of %q", f.Field, s.Object())
		}
		if seen[f.Field] {
			return nil, fmt.Errorf("identity: merge rule for %q is given twice", f.Field)
		}
		seen[f.Field] = true
		if err := check(f.Rule); err != nil {
			return nil, err
		}
		m.rules[i], m.by[i] = f.Rule, -1
		if f.Rule == MergeNewest {
			by := f.By
			if by == "" {
				by = p.By
			}
			j, err := byIndex(by, " of "+f.Field)
			if err != nil {
				return nil, err
			}
			m.by[i] = j
		}
	}
	for i, r := range m.rules {
		if r != MergeNewest {
			continue
		}
		pos := slices.Index(m.bys, m.by[i])
		if pos < 0 {
			pos = len(m.bys)
			m.bys = append(m.bys, m.by[i])
		}
		m.by[i] = pos
	}
	for i, r := range m.rules {
		if r == MergeFillEmpty || r == MergeNewest || (r == MergeAppend && s.Field(i).Type.Kind() == intake.KindList) {
			m.stored = true
		}
	}
	return m, nil
}

// NeedsStored reports whether the policy reads stored values (fill_empty,
// newest, append): the importer then reads the matched records before it
// decides each batch. Without it, an update carries the row's values and
// the fields to empty, and the sink applies them.
func (m *Merger) NeedsStored() bool { return m.stored }

// Rule returns the rule of field i.
func (m *Merger) Rule(i int) Merge { return m.rules[i] }

// Clears appends to dst the fields that an update without stored values
// empties: mapped fields under MergeOverwrite whose value in rec is null.
func (m *Merger) Clears(dst []int, rec *intake.Record, mapped []bool) []int {
	for i, v := range rec.Values {
		if m.rules[i] == MergeOverwrite && mapped[i] && v.IsNull() {
			dst = append(dst, i)
		}
	}
	return dst
}

// Apply merges the row in into dst (a stored record, or one an earlier
// row of the run created), field by field, following the policy; mapped[i]
// tells whether the row maps field i (fields it does not map are never
// touched, nor are fields with skip[i]; skip may be nil). It reports
// whether dst changed. With own, dst gets its own copies of in's strings.
func (m *Merger) Apply(dst, in *intake.Record, mapped, skip []bool, own bool) bool {
	// Whether the row is at least as recent as dst, per distinct By field,
	// compared before any field changes.
	var buf [4]bool
	newer := buf[:0]
	for _, by := range m.bys {
		iv, sv := in.Values[by], dst.Values[by]
		newer = append(newer, !iv.IsNull() && (sv.IsNull() || !iv.Time().Before(sv.Time())))
	}
	changed := false
	for i, v := range in.Values {
		if !mapped[i] || (skip != nil && skip[i]) {
			continue
		}
		old := dst.Values[i]
		nv := old
		switch m.rules[i] {
		case MergeNonEmpty:
			if !v.IsNull() {
				nv = v
			}
		case MergeOverwrite:
			nv = v
		case MergeFillEmpty:
			if old.IsNull() {
				nv = v
			}
		case MergeNewest:
			if !v.IsNull() && newer[m.by[i]] {
				nv = v
			}
		case MergeAppend:
			switch {
			case v.IsNull():
			case old.Kind() == intake.KindList && v.Kind() == intake.KindList:
				nv = old.Union(v)
			default:
				nv = v
			}
		}
		if nv != old {
			if own {
				nv = nv.Clone()
			}
			dst.Values[i] = nv
			changed = true
		}
	}
	return changed
}
