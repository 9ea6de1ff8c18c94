package mapping

import (
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
	// ValidUTF8 says that every cell of the rows is valid UTF-8, because
	// their source checked its input (connector.UTF8Checker): text and id
	// cells then skip that check (the other types check what they read
	// anyway). The importer sets it for a source that checks; a cell that
	// is not valid UTF-8 would be taken as it is.
	ValidUTF8 bool
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

	// utf8: the cells are valid UTF-8 (Options.ValidUTF8), so that the
	// fast path parses them with parseUTF8.
	utf8 bool

	// The slow path: joins, transforms, a phone region from the row, a
	// cell that the type cannot parse left empty ("invalid": "empty").
	slow       bool
	lenient    bool  // "invalid": "empty"
	required   bool  // a row must fill the field: a bad cell rejects it even when lenient
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
		c.Fields[i].Meta = maps.Clone(c.Fields[i].Meta)
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
// A cell of a column with "invalid": "empty" ([InvalidEmpty]) that the
// field's type cannot parse leaves its field null without an error, and
// Map does not say so: use [Plan.MapWarn] to receive those cells.
//
// Values may share memory with row's cells (a trimmed or already canonical
// cell is stored as is, without a copy): a sink or cache that keeps
// records beyond the row's processing must copy their strings
// (strings.Clone), as with the row itself. Map does not allocate for clean
// cells that are already in canonical form; it is safe to call from many
// goroutines at once with distinct records.
func (p *Plan) Map(row intake.Row, rec *intake.Record) error {
	return p.MapWarn(row, rec, nil)
}

// MapWarn is [Plan.Map] that also reports the cells it left empty: each
// cell of a column with "invalid": "empty" ([InvalidEmpty]) that the
// field's type cannot parse, or whose transform failed, is passed to warn
// as the *[intake.RowError] that would have rejected the row — same file,
// line, column, field, code and message —, in column order. warn is called
// only when MapWarn returns nil, after the row is mapped, so that the
// warnings of a row it rejects are never reported; a nil warn drops them
// (that is Map). Clean rows cost what they cost with Map.
func (p *Plan) MapWarn(row intake.Row, rec *intake.Record, warn func(*intake.RowError)) error {
	rec.Reset(p.schema)
	rec.Line = row.Line
	if p.template != nil {
		copy(rec.Values, p.template)
	}
	var warns []*intake.RowError // allocated by the first warning only
	for i := range p.cols {
		c := &p.cols[i]
		if c.slow {
			_, v, err := p.eval(c, row)
			if err != nil {
				if !c.lenient || c.required {
					return err
				}
				if warn != nil {
					warns = append(warns, err)
				}
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
		var v intake.Value
		var ok bool
		if c.utf8 {
			v, ok = c.conv.parseUTF8(cell)
		} else {
			v, ok = c.conv.parse(cell)
		}
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
	for _, w := range warns {
		warn(w)
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

// newConverter builds the converter of a column that fills field f. It
// checks the column's settings against the field's type one by one —
// region, zone, currency, separator, format, decimal separator — and
// returns the first that does not apply, then describes a valid cell for
// error messages. region is the default phone region, which the column's
// own region overrides.
func newConverter(f intake.Field, c *Column, region string, strict bool) (converter, error) {
	cv := converter{typ: f.Type, sep: '.'}
	if c.Region != "" {
		if f.Type != intake.TypePhone {
			return cv, fmt.Errorf("a region applies to phone fields, and %q is %s", f.Name, f.Type)
		}
		region = strings.ToUpper(strings.TrimSpace(c.Region))
	}
	if err := cv.setZone(f, c.Zone); err != nil {
		return cv, err
	}
	if err := cv.setCurrency(f, c.Currency); err != nil {
		return cv, err
	}
	if c.Separator != "" {
		if f.Type != intake.TypeMultiSelect {
			return cv, fmt.Errorf("a separator applies to multiselect fields, and %q is %s", f.Name, f.Type)
		}
		cv.msep = c.Separator
	}
	if err := cv.setFormat(f.Type, c.Format); err != nil {
		return cv, err
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
	if f.Type == intake.TypePhone {
		cv.phone = phoneParser{region: region, strict: strict}
	}
	want, err := cv.describe(f, c.Zone)
	if err != nil {
		return cv, err
	}
	cv.want = want
	return cv, nil
}

// setZone sets the zone of a timestamp or time column. A time of day has
// no date to find a named zone's offset for, so it takes only UTC or a
// fixed offset.
func (cv *converter) setZone(f intake.Field, zone string) error {
	if zone == "" {
		return nil
	}
	if f.Type != intake.TypeTimestamp && f.Type != intake.TypeTime {
		return fmt.Errorf("a zone applies to timestamp and time fields, and %q is %s", f.Name, f.Type)
	}
	loc, err := loadZone(zone)
	if err != nil {
		return fmt.Errorf("zone %q: %v", zone, err)
	}
	if f.Type == intake.TypeTime {
		if _, err := fixedOffset(zone); err != nil {
			return fmt.Errorf("zone %q: a time of day has no date, so only a fixed offset (+01:00) or UTC can convert it", zone)
		}
	}
	cv.loc = loc
	return nil
}

// setCurrency sets the one currency that a decimal column's cells may name.
func (cv *converter) setCurrency(f intake.Field, code string) error {
	if code == "" {
		return nil
	}
	if f.Type != intake.TypeDecimal {
		return fmt.Errorf("a currency applies to decimal fields, and %q is %s", f.Name, f.Type)
	}
	cur, err := newCurrencyTokens(code)
	if err != nil {
		return err
	}
	cv.cur = cur
	return nil
}

// setFormat sets a date, time or timestamp column's format: an Excel
// date system or a pattern that suits the type, with its shorter forms
// for a timestamp (see pattern.shortForms). Empty and "auto" leave the
// default formats.
func (cv *converter) setFormat(t intake.FieldType, format string) error {
	switch format {
	case "", FormatAuto:
		return nil
	case FormatExcel1900, FormatExcel1904:
		if t != intake.TypeDate && t != intake.TypeTimestamp {
			return fmt.Errorf("format %q: Excel serial numbers apply to date and timestamp fields, not to %s", format, t)
		}
		cv.excel = 1900
		if format == FormatExcel1904 {
			cv.excel = 1904
		}
		return nil
	}
	p, err := compilePattern(format)
	if err != nil {
		return fmt.Errorf("format %q: %v", format, err)
	}
	if err := p.checkFor(t); err != nil {
		return fmt.Errorf("format %q: %v", format, err)
	}
	if t == intake.TypeTimestamp {
		p.alts = p.shortForms() // compiled once per column, not per cell
	}
	cv.pat = p
	return nil
}

// describe returns what a valid cell of the converter's column is, for
// the message of a row error ("… is not an email address"). zone is the
// column's zone as written. It is an error for a type that no column can
// map.
func (cv *converter) describe(f intake.Field, zone string) (string, error) {
	switch f.Type {
	case intake.TypeText:
		return "valid text: it has a NUL byte or is not UTF-8", nil
	case intake.TypeID:
		return "a valid id: it has control characters or is not UTF-8", nil
	case intake.TypeEmail:
		return "an email address", nil
	case intake.TypePhone:
		kind := "possible"
		if cv.phone.strict {
			kind = "valid"
		}
		if cv.phone.region == "" {
			return "a " + kind + " phone number in international format (like +49 30 1234567)", nil
		}
		return "a " + kind + " phone number (numbers without a country code are read as " + cv.phone.region + ")", nil
	case intake.TypeDate:
		if cv.excel != 0 {
			return "a date (an Excel serial number in the " + strconv.Itoa(cv.excel) + " date system, or yyyy-MM-dd)", nil
		}
		return "a date in the format " + patternName(cv.pat, "yyyy-MM-dd"), nil
	case intake.TypeTime:
		return "a time of day in the format " + patternName(cv.pat, "HH:mm:ss or HH:mm"), nil
	case intake.TypeTimestamp:
		if cv.excel != 0 {
			return "a date and time (an Excel serial number in the " + strconv.Itoa(cv.excel) + " date system, or yyyy-MM-dd HH:mm:ss)", nil
		}
		if cv.loc == nil {
			zone = "UTC"
		}
		if cv.pat != nil && len(cv.pat.alts) > 0 {
			alts := make([]string, len(cv.pat.alts))
			for i, a := range cv.pat.alts {
				alts[i] = a.layout
			}
			return "a date and time in the format " + cv.pat.layout + " (or " + strings.Join(alts, " or ") + ")", nil
		}
		return "a date and time in the format " + patternName(cv.pat, "yyyy-MM-dd HH:mm:ss ("+zone+" unless it has an offset) or RFC 3339"), nil
	case intake.TypeDecimal:
		want := "a number with the decimal separator " + strconv.Quote(string(cv.sep))
		if cv.cur != nil {
			want += " in " + cv.cur.code
		}
		return want, nil
	case intake.TypeBool:
		return "a yes/no value (yes, no, true, false, 1, 0, …)", nil
	case intake.TypeCountry:
		return "a country (an ISO code like DE or DEU, or a name like Germany)", nil
	case intake.TypeSelect:
		if cv.opts == nil {
			return "valid text: it has a NUL byte or is not UTF-8", nil
		}
		return "one of the options " + quoteList(f.Options, 10), nil
	case intake.TypeMultiSelect:
		switch {
		case cv.opts == nil:
			return "a valid list: it has a NUL byte or is not UTF-8", nil
		case cv.msep != "":
			return "a list of the options " + quoteList(f.Options, 10) + ", separated by " + strconv.Quote(cv.msep), nil
		}
		return "a list of the options " + quoteList(f.Options, 10) + ", separated by \";\", \"|\" or \",\"", nil
	}
	return "", fmt.Errorf("field %q has type %s, which cannot be mapped", f.Name, f.Type)
}

func patternName(p *pattern, def string) string {
	if p == nil {
		return def
	}
	return p.layout
}

// parse parses a trimmed, non-empty cell.
// parseUTF8 is parse for a cell known to be valid UTF-8: text and id
// cells skip the check.
func (c *converter) parseUTF8(s string) (intake.Value, bool) {
	switch c.typ {
	case intake.TypeText:
		return parseValidText(s)
	case intake.TypeID:
		return parseValidID(s)
	}
	return c.parse(s)
}

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
