package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/intakehq/intake"
	"github.com/nyaruka/phonenumbers"
)

// compile is Compile; with check set, "auto" columns without a sample are
// not an error (Validate checks a spec before any row was read).
func compile(spec *Spec, base *intake.Schema, header []string, opt Options, check bool) (*Plan, error) {
	if base == nil {
		return nil, errors.New("mapping: no base schema: pass intake.ContactSchema() or your own")
	}
	if spec == nil {
		if header == nil {
			return nil, errors.New("mapping: a file without a header needs a mapping spec that names columns by \"index\"")
		}
		spec = Suggest(header, base)
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("mapping: "+format, args...)) }
	if err := spec.Validate(); err != nil {
		errs = append(errs, err)
	}
	region := strings.ToUpper(strings.TrimSpace(opt.DefaultRegion))
	if region != "" && !phonenumbers.GetSupportedRegions()[region] {
		add("default phone region %q is not a supported region: use an ISO 3166-1 alpha-2 code such as DE or US, or leave it empty to require international numbers", opt.DefaultRegion)
	}
	registry := opt.Transforms
	if registry == nil {
		registry = DefaultTransforms()
	}
	schema := base
	if len(spec.Fields) > 0 {
		fields := base.Fields()
		builtin := intake.DefaultSchema(base.Object())
		for _, f := range spec.Fields {
			if i := base.Index(f.Name); i >= 0 {
				switch {
				case builtin != nil && builtin.Index(f.Name) >= 0:
					add("custom field %q is already a field of %s: rename it, or drop it from \"fields\" to use the built-in one", f.Name, base.Object())
				case base.Field(i).Type != f.Type:
					add("custom field %q is declared as %s, and the %s schema has it as %s: keep its type, or import it under another name", f.Name, f.Type, base.Object(), base.Field(i).Type)
				}
				// The schema already has it, with the same type (one that
				// Spec.ObjectSchema built, or a store's): use it as it is.
				continue
			}
			fields = append(fields, intake.Field{Name: f.Name, Type: f.Type, Options: f.Options, Required: f.Required, Label: f.Label})
		}
		s, err := intake.NewSchema(base.Object(), fields...)
		if err != nil {
			errs = append(errs, err)
			return nil, errors.Join(errs...)
		}
		schema = s
	}

	p := &Plan{schema: schema, spec: spec, file: opt.File, changes: Diff(spec, header)}
	hx := newHeaderIndex(header)
	mappedBy := map[int]string{} // field → column description
	colOf := map[int]string{}    // field → error column name
	requiredCol := map[int]bool{}
	var consts []ColumnPlan
	var template []intake.Value
	for i := range spec.Columns {
		c := &spec.Columns[i]
		what := c.name(i)
		if c.Skip {
			continue
		}
		fi := schema.Index(c.Field)
		if fi < 0 {
			if c.Field != "" {
				hint := ""
				if near := closest(c.Field, schema.Names(), 0.75); near != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", near)
				}
				add("%s: %q is not a field of %s%s (fields: %s): fix the name or declare it in \"fields\"", what, c.Field, schema.Object(), hint, strings.Join(schema.Names(), ", "))
			}
			continue
		}
		prev, dup := mappedBy[fi]
		if dup {
			add("%s: field %q is already mapped by %s: map each field once (skip one of the columns)", what, c.Field, prev)
		} else {
			mappedBy[fi] = what
		}
		f := schema.Field(fi)
		auto := c.Format == FormatAuto || c.Decimal == FormatAuto
		cc := *c
		if auto {
			if c.Format == FormatAuto {
				cc.Format = ""
			}
			if c.Decimal == FormatAuto {
				cc.Decimal = ""
			}
		}
		conv, err := newConverter(f, &cc, region, opt.StrictPhone)
		if err != nil {
			add("%s: %v", what, err)
			continue
		}
		cp := colPlan{field: fi, fname: f.Name, code: "invalid_" + f.Type.String(), conv: conv, regionCell: -1, format: cc.Format, decimal: cc.Decimal}
		if c.Const != "" {
			v, ok := conv.parse(trimCell(c.Const))
			if !ok {
				add("%s: const %q is not %s", what, c.Const, conv.want)
				continue
			}
			if dup {
				continue
			}
			if template == nil {
				template = make([]intake.Value, schema.Len())
			}
			template[fi] = v
			consts = append(consts, ColumnPlan{Field: f.Name, Type: f.Type, Const: c.Const})
			continue
		}
		// Find the source column(s).
		ok := true
		switch {
		case len(c.Sources) > 0:
			var names []string
			for _, src := range c.Sources {
				cell, name, err := hx.find(src)
				if err != nil {
					add("%s: %v", what, err)
					ok = false
					continue
				}
				cp.cells = append(cp.cells, cell)
				names = append(names, name)
			}
			if ok {
				cp.cell = cp.cells[0]
				cp.column = strings.Join(names, "+")
				cp.join = c.Join
				if cp.join == "" {
					cp.join = " "
				}
				cp.slow = true
			}
		case header == nil:
			if c.Index == 0 {
				add("%s: the file has no header, so a column cannot be found by name: set its 1-based \"index\"", what)
				continue
			}
			cp.cell = c.Index - 1
			cp.column = "#" + strconv.Itoa(c.Index)
		case c.Index > 0:
			if c.Index > len(header) {
				add("%s: index %d, but the header has %d columns", what, c.Index, len(header))
				continue
			}
			cp.cell = c.Index - 1
			if h := strings.TrimSpace(header[cp.cell]); c.Source != "" && h != strings.TrimSpace(c.Source) && normalizeName(h) != normalizeName(c.Source) {
				add("%s: header column %d is %q, not %q: fix \"source\" or \"index\"", what, c.Index, header[cp.cell], c.Source)
				continue
			}
		default:
			cell, _, err := hx.find(c.Source)
			if err != nil {
				add("%s: %v", what, err)
				continue
			}
			cp.cell = cell
		}
		if !ok {
			continue
		}
		if cp.column == "" {
			cp.column = strings.TrimSpace(header[cp.cell])
			if cp.column == "" {
				cp.column = "#" + strconv.Itoa(cp.cell+1)
			}
		}
		if len(c.Transforms) > 0 {
			xf, err := registry.compile(c.Transforms)
			if err != nil {
				add("%s: %v", what, err)
				continue
			}
			cp.xf, cp.slow = xf, true
		}
		if c.RegionFrom != "" {
			if f.Type != intake.TypePhone {
				add("%s: \"region_from\" applies to phone fields, and %q is %s", what, f.Name, f.Type)
				continue
			}
			cell, _, err := hx.find(c.RegionFrom)
			if err != nil {
				add("%s: region_from: %v", what, err)
				continue
			}
			cp.regionCell, cp.slow = cell, true
		}
		if auto {
			if len(opt.Sample) == 0 {
				if !check {
					add("%s: \"auto\" needs a sample of the file's rows to detect the format: pass Options.Sample, or set the format", what)
				}
			} else {
				values := make([]string, 0, len(opt.Sample))
				for _, row := range opt.Sample {
					raw, cell, err := p.prepare(&cp, intake.Row{Cells: row})
					if err == nil && cell != "" {
						values = append(values, cell)
					}
					_ = raw
				}
				d, err := DetectFormat(values, f.Type)
				if err != nil {
					add("%s: %w: set \"format\" or \"decimal\" instead of \"auto\"", what, err)
					continue
				}
				if c.Format == FormatAuto {
					cc.Format = d.Format
				}
				if c.Decimal == FormatAuto {
					cc.Decimal = d.Decimal
				}
				conv, err = newConverter(f, &cc, region, opt.StrictPhone)
				if err != nil {
					add("%s: %v", what, err)
					continue
				}
				cp.conv, cp.format, cp.decimal = conv, cc.Format, cc.Decimal
			}
		}
		if c.Default != "" {
			v, ok := conv.parse(trimCell(c.Default))
			if !ok {
				add("%s: default %q is not %s", what, c.Default, conv.want)
			}
			cp.def = v
		}
		if dup {
			continue
		}
		if c.Required {
			requiredCol[fi] = true
		}
		colOf[fi] = cp.column
		p.cols = append(p.cols, cp)
	}
	for i := 0; i < schema.Len(); i++ {
		f := schema.Field(i)
		if !f.Required && !requiredCol[i] {
			continue
		}
		if _, ok := mappedBy[i]; !ok {
			add("required field %q is not mapped: add a column (or a const) for it", f.Name)
			continue
		}
		if template == nil || template[i].IsNull() {
			p.required = append(p.required, requiredField{field: i, name: f.Name, column: colOf[i]})
		}
	}
	if len(errs) > 0 {
		return nil, joinUnique(errs)
	}
	p.template = template

	// Describe the columns.
	byCell := map[int]*colPlan{}
	for i := range p.cols {
		c := &p.cols[i]
		for _, cell := range append([]int{c.cell}, c.cells...) {
			if _, ok := byCell[cell]; !ok {
				byCell[cell] = c
			}
		}
	}
	describe := func(cell int, source string) ColumnPlan {
		cp := ColumnPlan{Index: cell + 1, Source: source}
		c, ok := byCell[cell]
		if !ok {
			cp.Skip = true
			return cp
		}
		f := schema.Field(c.field)
		cp.Field, cp.Type = f.Name, f.Type
		cp.Format, cp.Decimal = c.format, c.decimal
		for _, sc := range spec.Columns {
			if sc.Field == f.Name && !sc.Skip {
				cp.Default = sc.Default
				break
			}
		}
		return cp
	}
	if header != nil {
		for i, h := range header {
			p.columns = append(p.columns, describe(i, h))
		}
	} else {
		var cells []int
		for _, c := range p.cols {
			cells = append(cells, c.cell)
			cells = append(cells, c.cells...)
		}
		slices.Sort(cells)
		for _, cell := range slices.Compact(cells) {
			p.columns = append(p.columns, describe(cell, ""))
		}
	}
	p.columns = append(p.columns, consts...)
	return p, nil
}

// headerIndex finds source columns by name.
type headerIndex struct {
	header []string
	exact  map[string][]int
	loose  map[string][]int
}

func newHeaderIndex(header []string) *headerIndex {
	hx := &headerIndex{header: header, exact: map[string][]int{}, loose: map[string][]int{}}
	for i, h := range header {
		h = strings.TrimSpace(h)
		hx.exact[h] = append(hx.exact[h], i)
		if k := normalizeName(h); k != "" {
			hx.loose[k] = append(hx.loose[k], i)
		}
	}
	return hx
}

// find returns the 0-based cell of a header name — exact, else the one
// with the same normalized name — or of "#N"; and the name to use in
// errors.
func (hx *headerIndex) find(name string) (int, string, error) {
	src := strings.TrimSpace(name)
	pos := hx.exact[src]
	if len(pos) == 0 {
		pos = hx.loose[normalizeName(src)]
	}
	if len(pos) == 0 && strings.HasPrefix(src, "#") {
		if n, err := strconv.Atoi(src[1:]); err == nil && n > 0 {
			if hx.header != nil && n > len(hx.header) {
				return 0, "", fmt.Errorf("%s, but the header has %d columns", src, len(hx.header))
			}
			return n - 1, src, nil
		}
	}
	if hx.header == nil {
		return 0, "", fmt.Errorf("the file has no header, so %q cannot be found by name: use \"#N\" for the N-th column", name)
	}
	switch len(pos) {
	case 0:
		hint := ""
		if near := closest(src, hx.header, 0.75); near != "" {
			hint = fmt.Sprintf(" (closest: %q)", near)
		}
		return 0, "", fmt.Errorf("no header column is named %q%s (header: %s): fix \"source\", or map the column by \"index\"", name, hint, quoteList(hx.header, 20))
	case 1:
		h := strings.TrimSpace(hx.header[pos[0]])
		if h == "" {
			h = "#" + strconv.Itoa(pos[0]+1)
		}
		return pos[0], h, nil
	}
	return 0, "", fmt.Errorf("%d header columns are named %q (columns %s): map it by \"index\"", len(pos), name, joinPositions(pos))
}

// joinUnique joins errs, dropping repeated messages (a bad format is found
// both by Spec.Validate and while compiling the column).
func joinUnique(errs []error) error {
	var flat []error
	for _, err := range errs {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			flat = append(flat, j.Unwrap()...)
		} else {
			flat = append(flat, err)
		}
	}
	seen := map[string]bool{}
	out := flat[:0]
	for _, err := range flat {
		if m := err.Error(); !seen[m] {
			seen[m] = true
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}
