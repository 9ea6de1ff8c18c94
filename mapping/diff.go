package mapping

import (
	"slices"
	"strconv"
	"strings"
)

// RenameThreshold is the least name similarity (Jaro-Winkler on
// normalized names, 0..1) at which [Diff] takes a column that disappeared
// and one that appeared for a rename: "E-Mail Adresse" → "E-Mail-Adresse"
// (1.0), "Telefon" → "Telefonnummer" (0.91), "Umsatz 2025" → "Umsatz 2026"
// (0.96); "Stadt" → "Land" is no rename.
const RenameThreshold = 0.8

// HeaderDiff tells how a file's header differs from the one a spec was
// made for. The spec knows the header names its columns name (skipped
// columns included: [Suggest] lists every column).
type HeaderDiff struct {
	// Added are header columns that no rule of the spec names, in header
	// order ("#N" for a column with a blank name). Highlight them for
	// mapping.
	Added []string `json:"added,omitempty"`
	// Removed are names the spec reads that the header lacks and that
	// match no added column.
	Removed []string `json:"removed,omitempty"`
	// Renamed pairs a name that the header lacks with the added column
	// that most likely replaced it.
	Renamed []Rename `json:"renamed,omitempty"`
}

// Rename is a column that changed its name.
type Rename struct {
	From       string  `json:"from"`       // the name in the spec
	To         string  `json:"to"`         // the name in the header
	Similarity float64 `json:"similarity"` // of the two names, 0..1
}

// Empty reports whether the header matches the spec.
func (d HeaderDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Renamed) == 0
}

// Diff compares the header names that spec reads (source, sources,
// region_from, skipped columns included) with header. Names match as in
// [Compile]: exactly, else by normalized name. Columns referred to by
// index only are taken as present. A nil header or spec gives an empty
// diff.
func Diff(spec *Spec, header []string) HeaderDiff {
	var d HeaderDiff
	if spec == nil || header == nil {
		return d
	}
	hx := newHeaderIndex(header)
	used := make([]bool, len(header))
	var missing []string
	seen := map[string]bool{}
	ref := func(name string) {
		name = strings.TrimSpace(name)
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		if cell, _, err := hx.find(name); err == nil {
			used[cell] = true
			return
		}
		if len(hx.exact[name]) > 1 || len(hx.loose[normalizeName(name)]) > 1 {
			return // present, but not unique: Compile says so
		}
		if strings.HasPrefix(name, "#") {
			return
		}
		missing = append(missing, name)
	}
	for _, c := range spec.Columns {
		if c.Index > 0 && c.Index <= len(header) {
			used[c.Index-1] = true
			continue
		}
		ref(c.Source)
		for _, s := range c.Sources {
			ref(s)
		}
		ref(c.RegionFrom)
	}
	var added []int
	for i := range header {
		if !used[i] {
			added = append(added, i)
		}
	}
	// Pair missing names with added columns, best similarity first.
	type pair struct {
		m, a int
		s    float64
	}
	var pairs []pair
	for mi, m := range missing {
		for ai, a := range added {
			if s := similarity(m, header[a]); s >= RenameThreshold {
				pairs = append(pairs, pair{mi, ai, s})
			}
		}
	}
	slices.SortStableFunc(pairs, func(x, y pair) int {
		switch {
		case x.s > y.s:
			return -1
		case x.s < y.s:
			return 1
		}
		return 0
	})
	mDone := make([]bool, len(missing))
	aDone := make([]bool, len(added))
	for _, p := range pairs {
		if mDone[p.m] || aDone[p.a] {
			continue
		}
		mDone[p.m], aDone[p.a] = true, true
		d.Renamed = append(d.Renamed, Rename{From: missing[p.m], To: strings.TrimSpace(header[added[p.a]]), Similarity: round2(p.s)})
	}
	for i, m := range missing {
		if !mDone[i] {
			d.Removed = append(d.Removed, m)
		}
	}
	for i, a := range added {
		if !aDone[i] {
			d.Added = append(d.Added, headerName(header, a))
		}
	}
	return d
}

// Apply returns a copy of spec updated for the new header: renamed
// sources take their new names, and every added column is appended as a
// skipped column with the note "new column", ready to be mapped. Removed
// columns are left as they are: Compile reports them.
func (d HeaderDiff) Apply(spec *Spec) *Spec {
	out := spec.clone()
	rename := map[string]string{}
	for _, r := range d.Renamed {
		rename[r.From] = r.To
	}
	re := func(s string) string {
		if to, ok := rename[strings.TrimSpace(s)]; ok {
			return to
		}
		return s
	}
	for i := range out.Columns {
		c := &out.Columns[i]
		c.Source = re(c.Source)
		for j := range c.Sources {
			c.Sources[j] = re(c.Sources[j])
		}
		c.RegionFrom = re(c.RegionFrom)
	}
	for _, a := range d.Added {
		c := Column{Source: a, Skip: true, Note: "new column"}
		if n, ok := strings.CutPrefix(a, "#"); ok {
			if i, err := strconv.Atoi(n); err == nil {
				c = Column{Index: i, Skip: true, Note: "new column"}
			}
		}
		out.Columns = append(out.Columns, c)
	}
	return out
}

// headerName is the trimmed name of header column i, or "#N" when blank.
func headerName(header []string, i int) string {
	if h := strings.TrimSpace(header[i]); h != "" {
		return h
	}
	return "#" + strconv.Itoa(i+1)
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
