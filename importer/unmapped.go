package importer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
)

// ErrKeyNotMapped is wrapped by the error Run returns, before it reads the
// first row, for a job whose sync fields (or identity rules) the mapping
// does not fill: every row would be rejected as missing_key. The error
// names the fields; map columns to them, or sync on fields the file has.
var ErrKeyNotMapped = errors.New("importer: a sync field is not mapped")

// checkKeysMapped checks that the plan fills the fields of the identity
// rules: every field of at least one rule, and of each rule either all
// fields or none (a rule none of whose fields is mapped never matches;
// see [Rules]). rules says whether there are several rules rather than
// one sync key, for the message.
func checkKeysMapped(specs []intake.KeySpec, plan *mapping.Plan, rules bool) error {
	mapped := map[string]bool{}
	var names []string
	for _, c := range plan.Columns() {
		if c.Field != "" && !mapped[c.Field] {
			mapped[c.Field] = true
			names = append(names, c.Field)
		}
	}
	has := func(spec intake.KeySpec, f string) bool {
		return mapped[f] || spec.MD5 && mapped[f+"_md5"]
	}
	what := "the mapped fields: " + strings.Join(names, ", ")
	if len(names) == 0 {
		what = "the mapping maps no field"
	}
	var dead []string
	for _, spec := range specs {
		var missing []string
		for _, f := range spec.Fields {
			if !has(spec, f) {
				missing = append(missing, f)
			}
		}
		switch {
		case len(missing) == 0:
			continue
		case len(missing) < len(spec.Fields):
			key := "sync key"
			if rules {
				key = "identity rule"
			}
			return fmt.Errorf("%w: no column or constant fills %s, a field of the %s %s, so that key would be incomplete on every row: map a column to %s, or leave it out of the key (%s)",
				ErrKeyNotMapped, strings.Join(missing, " and "), key, spec.Name(), strings.Join(missing, " and "), what)
		}
		dead = append(dead, missing...)
	}
	if len(dead) < len(specs) || len(specs) == 0 {
		return nil // a rule has all its fields mapped
	}
	if rules {
		return fmt.Errorf("%w: no column or constant fills the fields of any identity rule (%s), so every row would be rejected missing_key: map a column to one of them, or use rules on fields the file has (%s)",
			ErrKeyNotMapped, strings.Join(dead, ", "), what)
	}
	return fmt.Errorf("%w: no column or constant fills %s, so every row would be rejected missing_key: map a column to it, or sync on fields the file has (%s)",
		ErrKeyNotMapped, strings.Join(dead, " and "), what)
}

// mapsAnyKeyField reports whether the plan fills a field of the keys (or
// the FIELD_md5 twin of an MD5 key's field).
func mapsAnyKeyField(plan *mapping.Plan, specs []intake.KeySpec) bool {
	for _, c := range plan.Columns() {
		for _, spec := range specs {
			for _, f := range spec.Fields {
				if c.Field == f || spec.MD5 && c.Field == f+"_md5" {
					return true
				}
			}
		}
	}
	return false
}

// ignoredColumns returns the columns that no field of plan takes, named as
// SourceInfo.Ignored names them, and those of them that the job's own
// mapping spec (userSpec; spec is what was compiled) names without a field:
// skipped on purpose. Without a header, the columns are counted in the
// sample rows.
func ignoredColumns(plan *mapping.Plan, spec *mapping.Spec, header []string, sample [][]string, userSpec bool) (ignored, skipped []string) {
	cols := plan.Columns()
	if header != nil {
		for _, c := range cols {
			if c.Index > 0 && c.Skip {
				ignored = append(ignored, columnName(header, c.Index))
			}
		}
		if !userSpec || len(ignored) == 0 {
			return ignored, nil
		}
		// The header columns that no rule of the spec names (a name may
		// stand for several columns of that name).
		unnamed := map[string]int{}
		for _, name := range plan.Changes().Added {
			unnamed[name]++
		}
		for _, name := range ignored {
			if unnamed[name] > 0 {
				unnamed[name]--
				continue
			}
			skipped = append(skipped, name)
		}
		return ignored, skipped
	}
	width := 0
	for _, row := range sample {
		width = max(width, len(row))
	}
	taken := make([]bool, width)
	for _, c := range cols {
		if c.Index > 0 && c.Index <= width {
			taken[c.Index-1] = true
		}
	}
	named := map[int]bool{}
	for _, c := range spec.Columns {
		if c.Skip && c.Index > 0 {
			named[c.Index] = true
		}
	}
	for i, t := range taken {
		if t {
			continue
		}
		name := "#" + strconv.Itoa(i+1)
		ignored = append(ignored, name)
		if userSpec && named[i+1] {
			skipped = append(skipped, name)
		}
	}
	return ignored, skipped
}

// columnName names the column at the 1-based index: its header name, or
// "#N" when the name is blank.
func columnName(header []string, index int) string {
	if h := strings.TrimSpace(header[index-1]); h != "" {
		return h
	}
	return "#" + strconv.Itoa(index)
}
