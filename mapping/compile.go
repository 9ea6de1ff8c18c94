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
//
// It runs in phases on a planBuilder: check the spec and options, extend
// the schema by the custom fields, compile each column, check that the
// required fields are mapped, then describe the columns.
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
	b := newPlanBuilder(spec, header, opt, check)
	b.checkSpec()
	if !b.extendSchema(base) {
		return nil, errors.Join(b.errs...)
	}
	b.plan = &Plan{schema: b.schema, spec: spec, file: opt.File, changes: Diff(spec, header)}
	for i := range spec.Columns {
		b.addColumn(i)
	}
	b.checkRequired()
	if len(b.errs) > 0 {
		return nil, joinUnique(b.errs)
	}
	b.plan.template = b.template
	b.plan.columns = b.describeColumns()
	return b.plan, nil
}

// planBuilder compiles one spec against one header. It collects every
// problem it finds, so that [Compile] reports them all at once, and the
// parts of the plan as the columns are compiled.
type planBuilder struct {
	spec     *Spec
	header   []string // nil: the file has no header
	hx       *headerIndex
	opt      Options
	check    bool   // see compile
	region   string // Options.DefaultRegion, upper-cased
	registry *Transforms
	schema   *intake.Schema // base, extended by the spec's custom fields
	plan     *Plan
	errs     []error

	mappedBy    map[int]string // field → the first column that maps it, for errors
	colOf       map[int]string // field → the column name in row errors
	requiredCol map[int]bool   // fields that a column marks "required"
	template    []intake.Value // constants by field; nil when there are none
	consts      []ColumnPlan   // the constants, for Plan.Columns
}

func newPlanBuilder(spec *Spec, header []string, opt Options, check bool) *planBuilder {
	registry := opt.Transforms
	if registry == nil {
		registry = DefaultTransforms()
	}
	return &planBuilder{
		spec: spec, header: header, hx: newHeaderIndex(header), opt: opt, check: check,
		region:   strings.ToUpper(strings.TrimSpace(opt.DefaultRegion)),
		registry: registry,
		mappedBy: map[int]string{}, colOf: map[int]string{}, requiredCol: map[int]bool{},
	}
}

// add reports a problem.
func (b *planBuilder) add(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("mapping: "+format, args...))
}

// checkSpec checks what needs neither schema nor header: the spec's
// structure ([Spec.Validate]) and the default phone region.
func (b *planBuilder) checkSpec() {
	if err := b.spec.Validate(); err != nil {
		b.errs = append(b.errs, err)
	}
	if b.region != "" && !phonenumbers.GetSupportedRegions()[b.region] {
		b.add("default phone region %q is not a supported region: use an ISO 3166-1 alpha-2 code such as DE or US, or leave it empty to require international numbers", b.opt.DefaultRegion)
	}
}

// extendSchema sets b.schema to base extended by the spec's custom fields.
// A custom field that base already has with the same type (one that
// Spec.ObjectSchema built, or a store's) is used as it is. It reports
// false when the schema cannot be built, since no column can be compiled
// then.
func (b *planBuilder) extendSchema(base *intake.Schema) bool {
	b.schema = base
	if len(b.spec.Fields) == 0 {
		return true
	}
	fields := base.Fields()
	builtin := intake.DefaultSchema(base.Object())
	for _, f := range b.spec.Fields {
		i := base.Index(f.Name)
		if i < 0 {
			fields = append(fields, intake.Field{Name: f.Name, Type: f.Type, Options: f.Options, Required: f.Required, Label: f.Label, Meta: f.Meta})
			continue
		}
		switch {
		case f.IfMissing:
		case builtin != nil && builtin.Index(f.Name) >= 0:
			b.add("custom field %q is already a field of %s: rename it, or drop it from \"fields\" to use the built-in one", f.Name, base.Object())
		case base.Field(i).Type != f.Type:
			b.add("custom field %q is declared as %s, and the %s schema has it as %s: keep its type, or import it under another name", f.Name, f.Type, base.Object(), base.Field(i).Type)
		}
	}
	s, err := intake.NewSchema(base.Object(), fields...)
	if err != nil {
		b.errs = append(b.errs, err)
		return false
	}
	b.schema = s
	return true
}

// addColumn compiles spec column i: a constant goes into the template,
// a column read from the row into the plan's columns. Each phase reports
// its problem and drops the column, except a bad default, which is
// reported and the column kept so that the checks after it run too.
func (b *planBuilder) addColumn(i int) {
	c := &b.spec.Columns[i]
	if c.Skip {
		return
	}
	what := c.name(i)
	fi, dup, ok := b.resolveField(c, what)
	if !ok {
		return
	}
	f := b.schema.Field(fi)
	// The converter of an "auto" column is built again once the sample
	// tells its format (detectAuto); until then it reads the default one.
	cc := c.withoutAuto()
	conv, err := newConverter(f, cc, b.region, b.opt.StrictPhone)
	if err != nil {
		b.add("%s: %v", what, err)
		return
	}
	if c.Const != "" {
		b.addConst(c, what, fi, conv, dup)
		return
	}
	cp := &colPlan{field: fi, fname: f.Name, code: intake.InvalidCode(f.Type), conv: conv, regionCell: -1, format: cc.Format, decimal: cc.Decimal, utf8: b.opt.ValidUTF8}
	if c.Invalid == InvalidEmpty {
		// Only the slow path leaves a bad cell empty, so that the fast
		// path of the other columns keeps its one branch per cell.
		cp.lenient, cp.slow = true, true
	}
	if !b.findCells(cp, c, what) || !b.addTransforms(cp, c, what) || !b.addRegionFrom(cp, c, what) || !b.detectAuto(cp, c, what) {
		return
	}
	if c.Default != "" {
		v, ok := cp.conv.parse(trimCell(c.Default))
		if !ok {
			b.add("%s: default %q is not %s", what, c.Default, cp.conv.want)
		}
		cp.def = v
	}
	if dup {
		return
	}
	if c.Required {
		b.requiredCol[fi] = true
	}
	b.colOf[fi] = cp.column
	b.plan.cols = append(b.plan.cols, *cp)
}

// withoutAuto returns a copy of c whose "auto" format and decimal
// separator are left empty: the defaults, until a sample is read.
func (c *Column) withoutAuto() *Column {
	cc := *c
	if cc.Format == FormatAuto {
		cc.Format = ""
	}
	if cc.Decimal == FormatAuto {
		cc.Decimal = ""
	}
	return &cc
}

// resolveField returns the index of the column's field in the schema and
// whether an earlier column maps it already (dup: reported, and the
// column is still compiled so that its own problems are found). ok is
// false when the field is unknown.
func (b *planBuilder) resolveField(c *Column, what string) (fi int, dup, ok bool) {
	fi = b.schema.Index(c.Field)
	if fi < 0 {
		if c.Field != "" {
			hint := ""
			if near := closest(c.Field, b.schema.Names(), 0.75); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			b.add("%s: %q is not a field of %s%s (fields: %s): fix the name or declare it in \"fields\"", what, c.Field, b.schema.Object(), hint, strings.Join(b.schema.Names(), ", "))
		}
		return fi, false, false
	}
	if prev, dup := b.mappedBy[fi]; dup {
		b.add("%s: field %q is already mapped by %s: map each field once (skip one of the columns)", what, c.Field, prev)
		return fi, true, true
	}
	b.mappedBy[fi] = what
	return fi, false, true
}

// addConst parses a const column's value into the template.
func (b *planBuilder) addConst(c *Column, what string, fi int, conv converter, dup bool) {
	v, ok := conv.parse(trimCell(c.Const))
	if !ok {
		b.add("%s: const %q is not %s", what, c.Const, conv.want)
		return
	}
	if dup {
		return
	}
	if b.template == nil {
		b.template = make([]intake.Value, b.schema.Len())
	}
	b.template[fi] = v
	f := b.schema.Field(fi)
	b.consts = append(b.consts, ColumnPlan{Field: f.Name, Type: f.Type, Const: c.Const})
}

// findCells sets the cell (or joined cells) that the column reads and the
// column's name in errors: the header name, the joined names, or "#N".
func (b *planBuilder) findCells(cp *colPlan, c *Column, what string) bool {
	switch {
	case len(c.Sources) > 0:
		return b.findSources(cp, c, what)
	case b.header == nil:
		if c.Index == 0 {
			b.add("%s: the file has no header, so a column cannot be found by name: set its 1-based \"index\"", what)
			return false
		}
		cp.cell = c.Index - 1
		cp.column = "#" + strconv.Itoa(c.Index)
		return true
	case c.Index > 0:
		if c.Index > len(b.header) {
			b.add("%s: index %d, but the header has %d columns", what, c.Index, len(b.header))
			return false
		}
		cp.cell = c.Index - 1
		if h := strings.TrimSpace(b.header[cp.cell]); c.Source != "" && h != strings.TrimSpace(c.Source) && normalizeName(h) != normalizeName(c.Source) {
			b.add("%s: header column %d is %q, not %q: fix \"source\" or \"index\"", what, c.Index, b.header[cp.cell], c.Source)
			return false
		}
	default:
		cell, _, err := b.hx.find(c.Source)
		if err != nil {
			b.add("%s: %v", what, err)
			return false
		}
		cp.cell = cell
	}
	cp.column = strings.TrimSpace(b.header[cp.cell])
	if cp.column == "" {
		cp.column = "#" + strconv.Itoa(cp.cell+1)
	}
	return true
}

// findSources sets the cells that a "sources" column joins, reporting
// every source that the header lacks.
func (b *planBuilder) findSources(cp *colPlan, c *Column, what string) bool {
	ok := true
	var names []string
	for _, src := range c.Sources {
		cell, name, err := b.hx.find(src)
		if err != nil {
			b.add("%s: %v", what, err)
			ok = false
			continue
		}
		cp.cells = append(cp.cells, cell)
		names = append(names, name)
	}
	if !ok {
		return false
	}
	cp.cell = cp.cells[0]
	cp.column = strings.Join(names, "+")
	cp.join = c.Join
	if cp.join == "" {
		cp.join = " "
	}
	cp.slow = true
	return true
}

// addTransforms looks the column's transforms up in the registry.
func (b *planBuilder) addTransforms(cp *colPlan, c *Column, what string) bool {
	if len(c.Transforms) == 0 {
		return true
	}
	xf, err := b.registry.compile(c.Transforms)
	if err != nil {
		b.add("%s: %v", what, err)
		return false
	}
	cp.xf, cp.slow = xf, true
	return true
}

// addRegionFrom finds the country column that gives a phone column's
// region per row.
func (b *planBuilder) addRegionFrom(cp *colPlan, c *Column, what string) bool {
	if c.RegionFrom == "" {
		return true
	}
	if f := b.schema.Field(cp.field); f.Type != intake.TypePhone {
		b.add("%s: \"region_from\" applies to phone fields, and %q is %s", what, f.Name, f.Type)
		return false
	}
	cell, _, err := b.hx.find(c.RegionFrom)
	if err != nil {
		b.add("%s: region_from: %v", what, err)
		return false
	}
	cp.regionCell, cp.slow = cell, true
	return true
}

// detectAuto detects an "auto" format or decimal separator from the
// sample's cells, as the column prepares them (joined and transformed),
// and builds the column's converter for it. Without a sample it is an
// error, except when only checking the spec.
func (b *planBuilder) detectAuto(cp *colPlan, c *Column, what string) bool {
	if c.Format != FormatAuto && c.Decimal != FormatAuto {
		return true
	}
	if len(b.opt.Sample) == 0 {
		if !b.check {
			b.add("%s: \"auto\" needs a sample of the file's rows to detect the format: pass Options.Sample, or set the format", what)
		}
		return true
	}
	values := make([]string, 0, len(b.opt.Sample))
	for _, row := range b.opt.Sample {
		_, cell, err := b.plan.prepare(cp, intake.Row{Cells: row})
		if err == nil && cell != "" {
			values = append(values, cell)
		}
	}
	f := b.schema.Field(cp.field)
	d, err := DetectFormat(values, f.Type)
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("%w (%s): set \"format\" or \"decimal\" instead of \"auto\"", err, what))
		return false
	}
	cc := *c
	if c.Format == FormatAuto {
		cc.Format = d.Format
	}
	if c.Decimal == FormatAuto {
		cc.Decimal = d.Decimal
	}
	conv, err := newConverter(f, &cc, b.region, b.opt.StrictPhone)
	if err != nil {
		b.add("%s: %v", what, err)
		return false
	}
	cp.conv, cp.format, cp.decimal = conv, cc.Format, cc.Decimal
	return true
}

// checkRequired reports required fields (by the schema or by a column's
// "required") that no column maps, and lists those that a row must fill;
// their columns reject a bad cell even with "invalid": "empty".
func (b *planBuilder) checkRequired() {
	for i := 0; i < b.schema.Len(); i++ {
		f := b.schema.Field(i)
		if !f.Required && !b.requiredCol[i] {
			continue
		}
		if _, ok := b.mappedBy[i]; !ok {
			b.add("required field %q is not mapped: add a column (or a const) for it", f.Name)
			continue
		}
		if b.template == nil || b.template[i].IsNull() {
			b.plan.required = append(b.plan.required, requiredField{field: i, name: f.Name, column: b.colOf[i]})
			for j := range b.plan.cols {
				if c := &b.plan.cols[j]; c.field == i {
					c.required = true
				}
			}
		}
	}
}

// describeColumns lists the columns for [Plan.Columns]: every header
// column in order (without a header, every cell a column reads), then the
// constants.
func (b *planBuilder) describeColumns() []ColumnPlan {
	byCell := map[int]*colPlan{} // the first column that reads a cell
	for i := range b.plan.cols {
		c := &b.plan.cols[i]
		for _, cell := range append([]int{c.cell}, c.cells...) {
			if _, ok := byCell[cell]; !ok {
				byCell[cell] = c
			}
		}
	}
	var columns []ColumnPlan
	if b.header != nil {
		for i, h := range b.header {
			columns = append(columns, b.describeCell(byCell[i], i, h))
		}
	} else {
		var cells []int
		for _, c := range b.plan.cols {
			cells = append(cells, c.cell)
			cells = append(cells, c.cells...)
		}
		slices.Sort(cells)
		for _, cell := range slices.Compact(cells) {
			columns = append(columns, b.describeCell(byCell[cell], cell, ""))
		}
	}
	return append(columns, b.consts...)
}

// describeCell describes the source column at cell, which c reads (nil:
// none does, and the column is skipped).
func (b *planBuilder) describeCell(c *colPlan, cell int, source string) ColumnPlan {
	cp := ColumnPlan{Index: cell + 1, Source: source}
	if c == nil {
		cp.Skip = true
		return cp
	}
	f := b.schema.Field(c.field)
	cp.Field, cp.Type = f.Name, f.Type
	cp.Format, cp.Decimal = c.format, c.decimal
	for _, sc := range b.spec.Columns {
		if sc.Field == f.Name && !sc.Skip {
			cp.Default = sc.Default
			break
		}
	}
	return cp
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
