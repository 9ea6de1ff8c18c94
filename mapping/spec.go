package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/intakehq/intake"
)

// Spec is a mapping spec: the JSON document of DESIGN.md 3.3 that says which
// source column goes to which field, how its cells are read, and which custom
// fields extend the base schema.
//
//	{"fields":  [{"name": "loyalty_tier", "type": "select", "options": ["gold", "silver"]}],
//	 "columns": [{"source": "E-Mail", "field": "email"},
//	             {"index": 4, "field": "birthday", "format": "dd.MM.yyyy"},
//	             {"source": "Umsatz", "field": "lifetime_value", "decimal": ","},
//	             {"source": "Notes", "skip": true},
//	             {"field": "lead_source", "const": "fair-2026"}]}
//
// Only the columns listed are read: header columns that the spec does not
// mention are ignored, as if listed with "skip": true. Read a Spec with
// [LoadSpec], write it with [Spec.Save], build one from a header with
// [Suggest], check it against a schema and a header with [Compile].
type Spec struct {
	// Fields are custom fields that extend the base schema. Their names
	// must differ from the base schema's.
	Fields []FieldSpec `json:"fields,omitempty"`
	// Columns map source columns (or constants) to fields, in the order
	// in which a row's cells are checked.
	Columns []Column `json:"columns"`
}

// FieldSpec declares a custom field in a [Spec].
type FieldSpec struct {
	// Name is the field's name: lower-case letters, digits and
	// underscores, starting with a letter.
	Name string `json:"name"`
	// Type is the field's type by name ("text", "select", "decimal", …;
	// see [intake.ParseFieldType] for the accepted names and aliases).
	Type intake.FieldType `json:"type"`
	// Options are the allowed values of a select or multiselect field.
	Options []string `json:"options,omitempty"`
	// Required rejects rows whose cell for this field is empty.
	Required bool `json:"required,omitempty"`
	// Label is a human-readable name; optional.
	Label string `json:"label,omitempty"`
	// Note is free text for people; ignored by the library.
	Note string `json:"note,omitempty"`
}

// Column maps one source column, or a constant, to a field.
//
// A column is found by Source (its header name) or Index (1-based
// position); with both, the header cell at Index must be Source. A file
// without a header can only be mapped by Index. A constant column (Const
// set) has neither: it fills Field with the same value on every row.
type Column struct {
	// Source is the column's header name. It matches the header cell
	// exactly (surrounding spaces ignored) or, failing that, the one header
	// cell with the same normalized name (case, accents, spaces and
	// punctuation ignored).
	Source string `json:"source,omitempty"`
	// Index is the column's 1-based position; 0 means "find by Source".
	Index int `json:"index,omitempty"`
	// Field is the target field's name; required unless Skip is set.
	Field string `json:"field,omitempty"`
	// Format is the LDML date/time pattern of a date, time or timestamp
	// column ("dd.MM.yyyy", "yyyyMMdd", "d MMMM yyyy HH:mm"); empty means
	// ISO 8601 (see the package documentation).
	Format string `json:"format,omitempty"`
	// Decimal is the decimal separator of a decimal column: "." (the
	// default) or ",". The other one is then accepted as a thousands
	// separator.
	Decimal string `json:"decimal,omitempty"`
	// Skip ignores the column.
	Skip bool `json:"skip,omitempty"`
	// Const fills Field with this value on every row (parsed once with the
	// field's type). A constant column has no Source and no Index.
	Const string `json:"const,omitempty"`
	// Default is used, parsed once with the field's type, when the cell is
	// empty.
	Default string `json:"default,omitempty"`
	// Note is free text for people; ignored by the library.
	Note string `json:"note,omitempty"`
}

// name describes the column in error messages.
func (c *Column) name(i int) string {
	switch {
	case c.Source != "" && c.Index > 0:
		return fmt.Sprintf("column %d (%q, index %d)", i+1, c.Source, c.Index)
	case c.Source != "":
		return fmt.Sprintf("column %d (%q)", i+1, c.Source)
	case c.Index > 0:
		return fmt.Sprintf("column %d (index %d)", i+1, c.Index)
	case c.Field != "":
		return fmt.Sprintf("column %d (field %s)", i+1, c.Field)
	}
	return fmt.Sprintf("column %d", i+1)
}

// MaxSpecBytes is the largest mapping spec [LoadSpec] reads.
const MaxSpecBytes = 4 << 20

// LoadSpec reads a JSON mapping spec. It is strict: unknown keys, trailing
// data and wrong types are errors, and the spec's structure is checked
// with [Spec.Validate]. Error messages give the line and column of JSON
// problems. Empty lists load as nil, so that a loaded spec saved with
// [Spec.Save] loads back equal.
func LoadSpec(r io.Reader) (*Spec, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("mapping: reading spec: %w", err)
	}
	if len(data) > MaxSpecBytes {
		return nil, fmt.Errorf("mapping: spec is larger than %d bytes", MaxSpecBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, jsonError(data, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(data, dec.InputOffset())
		return nil, fmt.Errorf("mapping: spec line %d, column %d: unexpected data after the JSON object", line, col)
	}
	s.normalize()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func jsonError(data []byte, dec *json.Decoder, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("mapping: spec is empty: want a JSON object like {\"columns\": [...]}")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("mapping: spec ends in the middle of the JSON document")
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset-1) // Offset is just after the bad byte
		return fmt.Errorf("mapping: spec line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		where := typ.Field
		if where == "" {
			where = "the spec"
		}
		return fmt.Errorf("mapping: spec line %d, column %d: %s: want a %s, not a JSON %s", line, col, where, typ.Type, typ.Value)
	}
	line, col := position(data, dec.InputOffset())
	return fmt.Errorf("mapping: spec line %d, column %d: %v", line, col, err)
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func (s *Spec) normalize() {
	if len(s.Fields) == 0 {
		s.Fields = nil
	}
	for i := range s.Fields {
		if len(s.Fields[i].Options) == 0 {
			s.Fields[i].Options = nil
		}
	}
}

// Save writes s as indented JSON. [LoadSpec] reads it back equal.
func (s *Spec) Save(w io.Writer) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("mapping: saving spec: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Validate checks the spec's structure without a schema or a header: every
// column names a field (unless skipped) and a source, an index or a
// constant; indexes are positive; decimal separators and date patterns are
// well formed; custom fields have names and types. [Compile] checks the
// rest. All problems are returned at once, joined.
func (s *Spec) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("mapping: "+format, args...)) }
	for i, f := range s.Fields {
		what := "custom field " + strconv.Itoa(i+1)
		if f.Name != "" {
			what = fmt.Sprintf("custom field %q", f.Name)
		}
		if f.Name == "" {
			add("%s has no name: set \"name\"", what)
		}
		if f.Type == intake.TypeInvalid {
			add("%s has no type: set \"type\" (text, email, phone, date, decimal, select, …)", what)
		}
		if len(f.Options) > 0 && f.Type != intake.TypeSelect && f.Type != intake.TypeMultiSelect {
			add("%s has options but type %s: options are for select and multiselect fields", what, f.Type)
		}
	}
	for i := range s.Columns {
		c := &s.Columns[i]
		what := c.name(i)
		if c.Index < 0 {
			add("%s: index %d: use the column's 1-based position", what, c.Index)
		}
		if c.Skip {
			if c.Const != "" {
				add("%s: a skipped column cannot have a const", what)
			}
			continue
		}
		if c.Field == "" {
			add("%s: no field: set \"field\" or \"skip\": true", what)
		}
		if c.Const != "" {
			if c.Source != "" || c.Index != 0 {
				add("%s: a const column takes no source or index: drop them, or drop \"const\"", what)
			}
			if c.Default != "" {
				add("%s: a const column takes no default", what)
			}
		} else if c.Source == "" && c.Index == 0 {
			add("%s: set \"source\" (header name), \"index\" (1-based position) or \"const\"", what)
		}
		switch c.Decimal {
		case "", ".", ",":
		default:
			add("%s: decimal separator %q: use \".\" or \",\"", what, c.Decimal)
		}
		if c.Format != "" {
			if _, err := compilePattern(c.Format); err != nil {
				add("%s: format %q: %v", what, c.Format, err)
			}
		}
	}
	return errors.Join(errs...)
}
