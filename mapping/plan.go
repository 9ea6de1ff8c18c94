package mapping

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"github.com/nyaruka/phonenumbers"
)

// Options configure [Compile]. The zero value works.
type Options struct {
	// DefaultRegion is the ISO 3166-1 alpha-2 region ("DE", "US") of phone
	// numbers written without a country code ("030 1234567"). Empty (the
	// default) requires international format ("+49 30 1234567"): a
	// national number is rejected with invalid_phone, since guessing its
	// country would store a wrong number.
	DefaultRegion string
	// StrictPhone accepts only numbers that libphonenumber deems valid
	// (known number ranges), not merely possible (plausible length).
	// Default false: possible numbers are accepted, so that a number
	// from a range libphonenumber does not know yet is not rejected.
	StrictPhone bool
	// File is the source's name, copied into every [intake.RowError].
	File string
	// Transforms is the registry that the spec's transform names are
	// looked up in; nil means [DefaultTransforms]. Pass an extended
	// registry to offer a host's own transforms.
	Transforms *Transforms
	// Sample holds the first rows of the file (their cells, without the
	// header row) for columns whose "format" or "decimal" is "auto":
	// [Compile] detects them from the sample with [DetectFormat]. The
	// importer passes up to [SampleRows] rows. Unused otherwise.
	Sample [][]string
}

// SampleRows is the number of rows that a caller should pass in
// [Options.Sample] and to [SuggestDetailed]: enough to tell dd/MM from
// MM/dd in most files, few enough to read before a run starts.
const SampleRows = 200

// Plan is a mapping spec compiled against a schema and a header: per
// source column the field it fills and how its cells are parsed. Build it
// once per file with [Compile], then call [Plan.Map] for every row.
//
// A Plan is immutable and safe for concurrent use by many goroutines.
type Plan struct {
	schema   *intake.Schema
	spec     *Spec
	cols     []colPlan
	template []intake.Value // constants; nil when there are none
	required []requiredField
	columns  []ColumnPlan
	file     string
	changes  HeaderDiff
}

type colPlan struct {
	cell   int    // 0-based index into Row.Cells
	field  int    // index into the schema
	column string // header name or "#N", for errors
	fname  string
	code   intake.Code // invalid_<type>
	conv   converter
	def    intake.Value // used for empty cells

	// The slow path: joins, transforms, a phone region from the row.
	slow       bool
	cells      []int // joined cells (Sources), in order
	join       string
	xf         []TransformFunc
	regionCell int // cell of the country column (RegionFrom), or -1

	format, decimal string // as resolved (after "auto"), for ColumnPlan
}

type requiredField struct {
	field  int
	name   string
	column string // the column that maps it, if any
}

// ColumnPlan describes one column of a compiled [Plan], for user
// interfaces and "map suggest" output.
type ColumnPlan struct {
	// Index is the source column's 1-based position; 0 for a constant.
	Index int `json:"index,omitempty"`
	// Source is the column's header name; empty without a header or for
	// a constant.
	Source string `json:"source,omitempty"`
	// Field is the target field; empty when the column is skipped.
	Field string `json:"field,omitempty"`
	// Type is the target field's type; invalid when skipped.
	Type intake.FieldType `json:"-"`
	// Format, Decimal, Const and Default are copied from the spec;
	// "auto" is replaced by the detected format or separator.
	Format  string `json:"format,omitempty"`
	Decimal string `json:"decimal,omitempty"`
	Const   string `json:"const,omitempty"`
	Default string `json:"default,omitempty"`
	// Skip is true for header columns that no field reads.
	Skip bool `json:"skip,omitempty"`
}

// Schema returns the plan's schema: the base schema, extended by the
// spec's custom fields. Records filled by [Plan.Map] use it.
func (p *Plan) Schema() *intake.Schema { return p.schema }

// Spec returns a copy of the spec the plan was compiled from (the
// suggested one when [Compile] got none).
func (p *Plan) Spec() *Spec { return p.spec.clone() }

// clone returns a deep copy of s.
func (s *Spec) clone() *Spec {
	c := &Spec{Version: s.Version, Object: s.Object.clone(), Fields: slices.Clone(s.Fields), Columns: slices.Clone(s.Columns)}
	for i := range c.Fields {
		c.Fields[i].Options = slices.Clone(c.Fields[i].Options)
	}
	for i := range c.Columns {
		col := &c.Columns[i]
		col.Sources = slices.Clone(col.Sources)
		col.Transforms = slices.Clone(col.Transforms)
		for j := range col.Transforms {
			col.Transforms[j].Args = maps.Clone(col.Transforms[j].Args)
		}
	}
	return c
}

// Changes reports how the header differs from the one the spec was made
// for: columns that appeared, disappeared or were renamed (see [Diff]).
// Columns that appeared are read by no rule until the spec maps them.
func (p *Plan) Changes() HeaderDiff { return p.changes }

// Columns describes which column goes to which field: every header column
// in order (unmapped ones with Skip set), then the constants. Without a
// header it lists the mapped columns by index, then the constants.
func (p *Plan) Columns() []ColumnPlan { return slices.Clone(p.columns) }

// Compile checks spec against the base schema and the header and compiles
// it into a [Plan].
//
// A nil spec means [Suggest](header, base). A nil header means the file has
// no header row: columns are then referred to by 1-based "index" (or "#N"
// in "sources" and "region_from") only, and errors name them "#N". The
// spec's custom fields extend base into a new schema of the same object
// type; a custom field that base already has with the same type (base was
// built by [Spec.ObjectSchema], or is the schema a store holds) is used as
// it is, while one that redeclares a built-in field of the object type's
// default schema, or changes a field's type, is an error. Columns whose "format" or "decimal" is "auto" are detected from
// [Options.Sample].
//
// All problems are reported at once, joined with [errors.Join], each
// saying what to fix: an unknown field (with the closest field name), a
// column missing from the header (with the closest header name), a field
// mapped twice, a bad format, decimal separator, zone, currency or
// transform, a const or default that the field's type cannot parse, a
// required field left unmapped. [Validate] runs the same checks.
func Compile(spec *Spec, base *intake.Schema, header []string, opt Options) (*Plan, error) {
	return compile(spec, base, header, opt, false)
}

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
		cp := colPlan{field: fi, fname: f.Name, code: intake.InvalidCode(f.Type), conv: conv, regionCell: -1, format: cc.Format, decimal: cc.Decimal}
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
					errs = append(errs, fmt.Errorf("%w (%s): set \"format\" or \"decimal\" instead of \"auto\"", err, what))
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

func quoteList(list []string, max int) string {
	var b strings.Builder
	for i, s := range list {
		if i == max {
			fmt.Fprintf(&b, ", … (%d more)", len(list)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(s))
	}
	return b.String()
}

func joinPositions(pos []int) string {
	s := make([]string, len(pos))
	for i, p := range pos {
		s[i] = strconv.Itoa(p + 1)
	}
	return strings.Join(s, ", ")
}

// Map fills rec from row: it resets rec to [Plan.Schema], sets rec.Line to
// row.Line and parses every mapped cell. An empty or all-space cell is
// null (or the column's default); cells beyond the end of a short row are
// empty.
//
// It returns the first problem as an *[intake.RowError] naming the line,
// the column (header name, or "#N" without a header), the field, the code
// ("invalid_email", "invalid_date", …, "missing_required") and a message.
// rec then holds what was mapped so far and must not be imported.
//
// Values may share memory with row's cells (a trimmed or already canonical
// cell is stored as is, without a copy): a sink or cache that keeps
// records beyond the row's processing must copy their strings
// (strings.Clone), as with the row itself. Map does not allocate for clean
// cells that are already in canonical form; it is safe to call from many
// goroutines at once with distinct records.
func (p *Plan) Map(row intake.Row, rec *intake.Record) error {
	rec.Reset(p.schema)
	rec.Line = row.Line
	if p.template != nil {
		copy(rec.Values, p.template)
	}
	for i := range p.cols {
		c := &p.cols[i]
		if c.slow {
			_, v, err := p.eval(c, row)
			if err != nil {
				return err
			}
			rec.Values[c.field] = v
			continue
		}
		var cell string
		if c.cell < len(row.Cells) {
			cell = trimCell(row.Cells[c.cell])
		}
		if cell == "" {
			rec.Values[c.field] = c.def
			continue
		}
		v, ok := c.conv.parse(cell)
		if !ok {
			return p.cellError(c, row.Line, cell)
		}
		rec.Values[c.field] = v
	}
	for _, r := range p.required {
		if rec.Values[r.field].IsNull() {
			return p.requiredError(r, row.Line)
		}
	}
	return nil
}

func (p *Plan) cellError(c *colPlan, line int, cell string) *intake.RowError {
	return &intake.RowError{
		File: p.file, Line: line, Column: c.column, Field: c.fname, Code: c.code,
		Message: quoteCell(cell) + " is not " + c.conv.want,
	}
}

func (p *Plan) requiredError(r requiredField, line int) *intake.RowError {
	return &intake.RowError{
		File: p.file, Line: line, Column: r.column, Field: r.name, Code: intake.CodeMissingRequired,
		Message: "the field is required, but the cell is empty",
	}
}

// prepare returns a column's raw text — its cell, trimmed, or its joined
// cells — and the cell to parse: the raw text after the transforms.
func (p *Plan) prepare(c *colPlan, row intake.Row) (raw, cell string, err *intake.RowError) {
	if len(c.cells) > 0 {
		var b strings.Builder
		for _, i := range c.cells {
			part := trimCell(row.Cell(i))
			if part == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteString(c.join)
			}
			b.WriteString(part)
		}
		raw = b.String()
	} else {
		raw = trimCell(row.Cell(c.cell))
	}
	cell = raw
	for _, f := range c.xf {
		if cell == "" {
			break
		}
		out, ferr := f(cell)
		if ferr != nil {
			return raw, "", &intake.RowError{
				File: p.file, Line: row.Line, Column: c.column, Field: c.fname, Code: intake.CodeTransformFailed,
				Message: ferr.Error(), Err: ferr,
			}
		}
		cell = trimCell(out)
	}
	return raw, cell, nil
}

// eval maps one column of row: its raw text, its value, or its error.
func (p *Plan) eval(c *colPlan, row intake.Row) (raw string, v intake.Value, err *intake.RowError) {
	raw, cell, err := p.prepare(c, row)
	if err != nil {
		return raw, intake.Null, err
	}
	if cell == "" {
		return raw, c.def, nil
	}
	ok := false
	if region := p.rowRegion(c, row); region != "" {
		v, ok = phoneParser{region: region, strict: c.conv.phone.strict}.parse(cell)
	} else {
		v, ok = c.conv.parse(cell)
	}
	if !ok {
		return raw, intake.Null, p.cellError(c, row.Line, cell)
	}
	return raw, v, nil
}

// rowRegion returns the phone region named by the row's country column
// (RegionFrom), or "" when there is none or it is not a phone region.
func (p *Plan) rowRegion(c *colPlan, row intake.Row) string {
	if c.regionCell < 0 {
		return ""
	}
	v, ok := ParseCountry(row.Cell(c.regionCell))
	if !ok || !phonenumbers.GetSupportedRegions()[v.Str()] {
		return ""
	}
	return v.Str()
}

// quoteCell quotes a cell for a message, shortened to 64 runes.
func quoteCell(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		n := 0
		for i := range s {
			if n == 61 {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	return strconv.Quote(s)
}

// converter parses the cells of one column.
type converter struct {
	typ   intake.FieldType
	pat   *pattern // date, time, timestamp with a format
	excel int      // 1900 or 1904: Excel serial numbers (date, timestamp)
	loc   *time.Location
	sep   byte            // decimal separator
	cur   *currencyTokens // decimal with a currency; nil: any
	opts  *options        // select, multiselect; nil: any value
	msep  string          // multiselect item separator; "": ";", "|" or ","
	phone phoneParser
	want  string // "an email address": what a bad cell is not
}

func newConverter(f intake.Field, c *Column, region string, strict bool) (converter, error) {
	cv := converter{typ: f.Type, sep: '.'}
	if c.Region != "" {
		if f.Type != intake.TypePhone {
			return cv, fmt.Errorf("a region applies to phone fields, and %q is %s", f.Name, f.Type)
		}
		region = strings.ToUpper(strings.TrimSpace(c.Region))
	}
	if c.Zone != "" {
		if f.Type != intake.TypeTimestamp && f.Type != intake.TypeTime {
			return cv, fmt.Errorf("a zone applies to timestamp and time fields, and %q is %s", f.Name, f.Type)
		}
		loc, err := loadZone(c.Zone)
		if err != nil {
			return cv, fmt.Errorf("zone %q: %v", c.Zone, err)
		}
		if f.Type == intake.TypeTime {
			if _, err := fixedOffset(c.Zone); err != nil {
				return cv, fmt.Errorf("zone %q: a time of day has no date, so only a fixed offset (+01:00) or UTC can convert it", c.Zone)
			}
		}
		cv.loc = loc
	}
	if c.Currency != "" {
		if f.Type != intake.TypeDecimal {
			return cv, fmt.Errorf("a currency applies to decimal fields, and %q is %s", f.Name, f.Type)
		}
		cur, err := newCurrencyTokens(c.Currency)
		if err != nil {
			return cv, err
		}
		cv.cur = cur
	}
	if c.Separator != "" {
		if f.Type != intake.TypeMultiSelect {
			return cv, fmt.Errorf("a separator applies to multiselect fields, and %q is %s", f.Name, f.Type)
		}
		cv.msep = c.Separator
	}
	switch c.Format {
	case FormatExcel1900, FormatExcel1904:
		if f.Type != intake.TypeDate && f.Type != intake.TypeTimestamp {
			return cv, fmt.Errorf("format %q: Excel serial numbers apply to date and timestamp fields, not to %s", c.Format, f.Type)
		}
		cv.excel = 1900
		if c.Format == FormatExcel1904 {
			cv.excel = 1904
		}
	case "", FormatAuto:
	default:
		p, err := compilePattern(c.Format)
		if err != nil {
			return cv, fmt.Errorf("format %q: %v", c.Format, err)
		}
		if err := p.checkFor(f.Type); err != nil {
			return cv, fmt.Errorf("format %q: %v", c.Format, err)
		}
		cv.pat = p
	}
	if c.Decimal != "" {
		if f.Type != intake.TypeDecimal {
			return cv, fmt.Errorf("a decimal separator applies to decimal fields, and %q is %s", f.Name, f.Type)
		}
		cv.sep = c.Decimal[0]
	}
	if len(f.Options) > 0 {
		cv.opts = newOptions(f.Options)
	}
	switch f.Type {
	case intake.TypeText:
		cv.want = "valid text: it has a NUL byte or is not UTF-8"
	case intake.TypeID:
		cv.want = "a valid id: it has control characters or is not UTF-8"
	case intake.TypeEmail:
		cv.want = "an email address"
	case intake.TypePhone:
		cv.phone = phoneParser{region: region, strict: strict}
		kind := "possible"
		if strict {
			kind = "valid"
		}
		if region == "" {
			cv.want = "a " + kind + " phone number in international format (like +49 30 1234567)"
		} else {
			cv.want = "a " + kind + " phone number (numbers without a country code are read as " + region + ")"
		}
	case intake.TypeDate:
		cv.want = "a date in the format " + patternName(cv.pat, "yyyy-MM-dd")
		if cv.excel != 0 {
			cv.want = "a date (an Excel serial number in the " + strconv.Itoa(cv.excel) + " date system, or yyyy-MM-dd)"
		}
	case intake.TypeTime:
		cv.want = "a time of day in the format " + patternName(cv.pat, "HH:mm:ss or HH:mm")
	case intake.TypeTimestamp:
		zone := "UTC"
		if cv.loc != nil {
			zone = c.Zone
		}
		cv.want = "a date and time in the format " + patternName(cv.pat, "yyyy-MM-dd HH:mm:ss ("+zone+" unless it has an offset) or RFC 3339")
		if cv.excel != 0 {
			cv.want = "a date and time (an Excel serial number in the " + strconv.Itoa(cv.excel) + " date system, or yyyy-MM-dd HH:mm:ss)"
		}
	case intake.TypeDecimal:
		cv.want = "a number with the decimal separator " + strconv.Quote(string(cv.sep))
		if cv.cur != nil {
			cv.want += " in " + cv.cur.code
		}
	case intake.TypeBool:
		cv.want = "a yes/no value (yes, no, true, false, 1, 0, …)"
	case intake.TypeCountry:
		cv.want = "a country (an ISO code like DE or DEU, or a name like Germany)"
	case intake.TypeSelect:
		cv.want = "one of the options " + quoteList(f.Options, 10)
		if cv.opts == nil {
			cv.want = "valid text: it has a NUL byte or is not UTF-8"
		}
	case intake.TypeMultiSelect:
		cv.want = "a list of the options " + quoteList(f.Options, 10) + ", separated by \";\", \"|\" or \",\""
		if cv.msep != "" {
			cv.want = "a list of the options " + quoteList(f.Options, 10) + ", separated by " + strconv.Quote(cv.msep)
		}
		if cv.opts == nil {
			cv.want = "a valid list: it has a NUL byte or is not UTF-8"
		}
	default:
		return cv, fmt.Errorf("field %q has type %s, which cannot be mapped", f.Name, f.Type)
	}
	return cv, nil
}

func patternName(p *pattern, def string) string {
	if p == nil {
		return def
	}
	return p.layout
}

// parse parses a trimmed, non-empty cell.
func (c *converter) parse(s string) (intake.Value, bool) {
	switch c.typ {
	case intake.TypeText:
		return parseText(s)
	case intake.TypeID:
		return parseID(s)
	case intake.TypeEmail:
		return ParseEmail(s)
	case intake.TypePhone:
		return c.phone.parse(s)
	case intake.TypeDate:
		if c.excel != 0 {
			if y, m, d, _, ok := excelSerial(s, c.excel); ok {
				return intake.Date(y, m, d), true
			}
		}
		return parseDate(c.pat, s)
	case intake.TypeTime:
		return parseTime(c.pat, s, c.loc)
	case intake.TypeTimestamp:
		if c.excel != 0 {
			if y, m, d, ms, ok := excelSerial(s, c.excel); ok {
				loc := c.loc
				if loc == nil {
					loc = time.UTC
				}
				sec := int(ms / 1000)
				return intake.Timestamp(time.Date(y, m, d, sec/3600, sec/60%60, sec%60, int(ms%1000)*1e6, loc)), true
			}
		}
		return parseTimestamp(c.pat, s, c.loc)
	case intake.TypeDecimal:
		if c.cur != nil {
			return parseAmount(s, c.sep, c.cur)
		}
		return parseDecimal(s, c.sep)
	case intake.TypeBool:
		return ParseBool(s)
	case intake.TypeCountry:
		return ParseCountry(s)
	case intake.TypeSelect:
		return parseSelect(c.opts, s)
	case intake.TypeMultiSelect:
		return parseMultiSelectSep(c.opts, s, c.msep)
	}
	return intake.Null, false
}
