package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	// Default false: possible numbers are accepted (DESIGN.md 3.4).
	StrictPhone bool
	// File is the source's name, copied into every [intake.RowError].
	File string
}

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
}

type colPlan struct {
	cell   int    // 0-based index into Row.Cells
	field  int    // index into the schema
	column string // header name or "#N", for errors
	fname  string
	code   string // invalid_<type>
	conv   converter
	def    intake.Value // used for empty cells
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
	// Format, Decimal, Const and Default are copied from the spec.
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
func (p *Plan) Spec() *Spec {
	s := &Spec{Fields: slices.Clone(p.spec.Fields), Columns: slices.Clone(p.spec.Columns)}
	for i := range s.Fields {
		s.Fields[i].Options = slices.Clone(s.Fields[i].Options)
	}
	return s
}

// Columns describes which column goes to which field: every header column
// in order (unmapped ones with Skip set), then the constants. Without a
// header it lists the mapped columns by index, then the constants.
func (p *Plan) Columns() []ColumnPlan { return slices.Clone(p.columns) }

// Compile checks spec against the base schema and the header and compiles
// it into a [Plan].
//
// A nil spec means [Suggest](header, base). A nil header means the file has
// no header row: columns are then referred to by 1-based "index" only, and
// errors name them "#N". The spec's custom fields extend base into a new
// schema of the same object type.
//
// All problems are reported at once, joined with [errors.Join], each
// saying what to fix: an unknown field, a column missing from the header,
// a field mapped twice, a bad format or decimal separator, a const or
// default that the field's type cannot parse, a required field left
// unmapped.
func Compile(spec *Spec, base *intake.Schema, header []string, opt Options) (*Plan, error) {
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
	schema := base
	if len(spec.Fields) > 0 {
		fields := base.Fields()
		for _, f := range spec.Fields {
			if base.Index(f.Name) >= 0 {
				add("custom field %q is already a field of %s: rename it, or drop it from \"fields\" to use the built-in one", f.Name, base.Object())
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

	p := &Plan{schema: schema, spec: spec, file: opt.File}
	exact := map[string][]int{}
	loose := map[string][]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		exact[h] = append(exact[h], i)
		if k := normalizeName(h); k != "" {
			loose[k] = append(loose[k], i)
		}
	}
	mappedBy := map[int]string{} // field → column description
	colOf := map[int]string{}    // field → error column name
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
				add("%s: %q is not a field of %s (fields: %s): fix the name or declare it in \"fields\"", what, c.Field, schema.Object(), strings.Join(schema.Names(), ", "))
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
		conv, err := newConverter(f, c, region, opt.StrictPhone)
		if err != nil {
			add("%s: %v", what, err)
			continue
		}
		cp := colPlan{field: fi, fname: f.Name, code: "invalid_" + f.Type.String(), conv: conv}
		if c.Default != "" {
			v, ok := conv.parse(trimCell(c.Default))
			if !ok {
				add("%s: default %q is not %s", what, c.Default, conv.want)
			}
			cp.def = v
		}
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
		// Find the source column.
		cell := -1
		switch {
		case header == nil:
			if c.Index == 0 {
				add("%s: the file has no header, so a column cannot be found by name: set its 1-based \"index\"", what)
				continue
			}
			cell = c.Index - 1
			cp.column = "#" + strconv.Itoa(c.Index)
		case c.Index > 0:
			if c.Index > len(header) {
				add("%s: index %d, but the header has %d columns", what, c.Index, len(header))
				continue
			}
			cell = c.Index - 1
			if h := strings.TrimSpace(header[cell]); c.Source != "" && h != strings.TrimSpace(c.Source) && normalizeName(h) != normalizeName(c.Source) {
				add("%s: header column %d is %q, not %q: fix \"source\" or \"index\"", what, c.Index, header[cell], c.Source)
				continue
			}
		default:
			src := strings.TrimSpace(c.Source)
			pos := exact[src]
			if len(pos) == 0 {
				pos = loose[normalizeName(src)]
			}
			switch len(pos) {
			case 0:
				add("%s: no header column is named %q (header: %s): fix \"source\", or map the column by \"index\"", what, c.Source, quoteList(header, 20))
				continue
			case 1:
				cell = pos[0]
			default:
				add("%s: %d header columns are named %q (columns %s): map it by \"index\"", what, len(pos), c.Source, joinPositions(pos))
				continue
			}
		}
		if cp.column == "" {
			cp.column = strings.TrimSpace(header[cell])
			if cp.column == "" {
				cp.column = "#" + strconv.Itoa(cell+1)
			}
		}
		if dup {
			continue
		}
		cp.cell = cell
		colOf[fi] = cp.column
		p.cols = append(p.cols, cp)
	}
	for i := 0; i < schema.Len(); i++ {
		f := schema.Field(i)
		if !f.Required {
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
		byCell[p.cols[i].cell] = &p.cols[i]
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
		for _, sc := range spec.Columns {
			if sc.Field == f.Name && !sc.Skip {
				cp.Format, cp.Decimal, cp.Default = sc.Format, sc.Decimal, sc.Default
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
		cells := make([]int, 0, len(p.cols))
		for _, c := range p.cols {
			cells = append(cells, c.cell)
		}
		slices.Sort(cells)
		for _, cell := range slices.Compact(cells) {
			p.columns = append(p.columns, describe(cell, ""))
		}
	}
	p.columns = append(p.columns, consts...)
	return p, nil
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
			return &intake.RowError{
				File: p.file, Line: row.Line, Column: c.column, Field: c.fname, Code: c.code,
				Message: quoteCell(cell) + " is not " + c.conv.want,
			}
		}
		rec.Values[c.field] = v
	}
	for _, r := range p.required {
		if rec.Values[r.field].IsNull() {
			return &intake.RowError{
				File: p.file, Line: row.Line, Column: r.column, Field: r.name, Code: intake.CodeMissingRequired,
				Message: "the field is required, but the cell is empty",
			}
		}
	}
	return nil
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
	sep   byte     // decimal separator
	opts  *options // select, multiselect; nil: any value
	phone phoneParser
	want  string // "an email address": what a bad cell is not
}

func newConverter(f intake.Field, c *Column, region string, strict bool) (converter, error) {
	cv := converter{typ: f.Type, sep: '.'}
	if c.Format != "" {
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
	case intake.TypeTime:
		cv.want = "a time of day in the format " + patternName(cv.pat, "HH:mm:ss or HH:mm")
	case intake.TypeTimestamp:
		cv.want = "a date and time in the format " + patternName(cv.pat, "yyyy-MM-dd HH:mm:ss (UTC) or RFC 3339")
	case intake.TypeDecimal:
		cv.want = "a number with the decimal separator " + strconv.Quote(string(cv.sep))
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
		return parseDate(c.pat, s)
	case intake.TypeTime:
		return parseTime(c.pat, s)
	case intake.TypeTimestamp:
		return parseTimestamp(c.pat, s)
	case intake.TypeDecimal:
		return parseDecimal(s, c.sep)
	case intake.TypeBool:
		return ParseBool(s)
	case intake.TypeCountry:
		return ParseCountry(s)
	case intake.TypeSelect:
		return parseSelect(c.opts, s)
	case intake.TypeMultiSelect:
		return parseMultiSelect(c.opts, s)
	}
	return intake.Null, false
}
