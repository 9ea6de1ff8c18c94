package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake"
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/currency"
)

// Spec is a mapping spec: the JSON document that says which source column
// goes to which field, how its cells are read, and which custom fields
// extend the base schema.
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
//
// Without an "object" section a spec imports contacts. The section names
// the object type of the rows, the key that identifies a record, and the
// links from its fields to records of other types ([ObjectSpec]):
//
//	{"object":  {"name": "ticket", "key": ["ticket_no"],
//	             "links": [{"field": "contact_email", "object": "contact", "key": "email", "missing": "reject"}]},
//	 "fields":  [{"name": "ticket_no", "type": "id"},
//	             {"name": "subject", "type": "text"},
//	             {"name": "contact_email", "type": "email"}],
//	 "columns": [{"source": "Ticket", "field": "ticket_no"},
//	             {"source": "Subject", "field": "subject"},
//	             {"source": "Customer e-mail", "field": "contact_email"}]}
//
// For contact, account and activity the "fields" extend the type's default
// schema ([intake.DefaultSchema]); for any other name they define a custom
// object type, and are all of its fields, its key chosen among them.
// [Spec.ObjectSchema] builds the type's schema, [Spec.MergeSchema] merges
// it with the schema a store already holds for the type, [Spec.Against]
// gives the copy of the spec to compile against such a schema, and
// [ObjectSpec.KeySpec] the sync key. The section is data: an importer turns its links into its own
// link type (importer.Link in this module).
type Spec struct {
	// Version is the spec format's version: [SpecVersion] when saved by
	// this library. [LoadSpec] reads a spec without one as version 1,
	// migrates older versions and rejects newer ones.
	Version int `json:"version"`
	// Object, when set, names the object type the rows are records of,
	// its key and its links. Nil imports contacts.
	Object *ObjectSpec `json:"object,omitempty"`
	// Fields are custom fields that extend the base schema. Their names
	// must differ from the base schema's. For a custom object type
	// (Object names a type without a default schema) they are the
	// type's fields.
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
	// Meta holds attributes that the host and other systems attach to
	// the field ({"acoustic_required": "true"}), kept with the schema
	// and never acted on (see [intake.Field.Meta]; [intake.CheckMeta]
	// gives the rule of keys and values). [Spec.MergeSchema] gives them
	// to the field, replacing the stored ones when the spec has any.
	Meta map[string]string `json:"meta,omitempty"`
	// IfMissing declares the field only where the schema lacks it: a
	// field of that name that the store holds, or that the object type's
	// default schema has, is used as it is — its type, options, label and
	// meta — and this declaration is ignored. A spec written for a store
	// it does not know (another system's import map) declares its fields
	// so, and a later run does not clash with what an earlier one stored.
	IfMissing bool `json:"if_missing,omitempty"`
	// Note is free text for people; ignored by the library.
	Note string `json:"note,omitempty"`
}

// ObjectSpec is the "object" section of a [Spec]: the object type whose
// records the rows are, the key that identifies a record, and the links
// from the rows' fields to records of other types.
type ObjectSpec struct {
	// Name is the object type: "contact", "account" or "activity" (the
	// types with a default schema), or a custom type named like a field
	// ("ticket"), whose fields are the spec's "fields". Required.
	Name string `json:"name"`
	// Key lists the fields that together identify a record, the sync
	// fields of an import: one field, or several for a composite key (all
	// must match). Each is a field of the type's default schema or of the
	// spec's "fields" (a field a store holds already may be declared
	// again there, with the same type). A custom type whose spec declares
	// no fields takes them all from the store ([Spec.MergeSchema]), which
	// checks the key then. Empty leaves the key to the import (the CLI's
	// -sync, importer.Job.Identity).
	Key []string `json:"key,omitempty"`
	// EmailRules "provider" compares the key's email fields under the
	// rules of the large mail providers (see intake.EmailProvider).
	// Empty compares them trimmed and lower-cased.
	EmailRules intake.EmailRules `json:"email_rules,omitempty"`
	// MD5 compares the MD5 digest of the key's one field (see
	// intake.KeySpec.MD5).
	MD5 bool `json:"md5,omitempty"`
	// Links resolve the rows' reference fields to the record ids of the
	// records they name, in order.
	Links []LinkSpec `json:"links,omitempty"`
	// Label is a human-readable name of the type; optional.
	Label string `json:"label,omitempty"`
	// Note is free text for people; ignored by the library.
	Note string `json:"note,omitempty"`
}

// LinkSpec is one link of an [ObjectSpec]: a field of each row holds a
// reference to a record of another object type (a ticket's contact_email,
// a contact's account_id), found by that type's key. It mirrors
// importer.Link, which documents the behaviour.
type LinkSpec struct {
	// Field is the row's field holding the reference. When the schema
	// lacks it, the importer adds it with the type of the target's key
	// field. Required.
	Field string `json:"field"`
	// Object is the target's object type ("account", "contact", a custom
	// type). Required.
	Object string `json:"object"`
	// Key is the target's field that the reference is compared with.
	// Empty means the target's field named like Field.
	Key string `json:"key,omitempty"`
	// IDField is the row's field that receives the target's record id.
	// Empty means Object + "_record_id".
	IDField string `json:"id_field,omitempty"`
	// Missing is what happens to a row whose reference finds no target:
	// "reject" (the default), "skip", "empty" (import the row without the
	// link) or "create" (a target holding the reference, and the values
	// of Fields).
	Missing string `json:"missing,omitempty"`
	// Fields maps the row's fields that carry the target's data to the
	// target's fields they fill ({"company_name": "name"}): one file
	// holding an account and a contact per row. They fill a target that
	// Missing "create" creates, and one that Update updates. The target's
	// key is set by the reference, never by Fields. Not with Many.
	Fields map[string]string `json:"fields,omitempty"`
	// Update makes a reference that finds its target update it with the
	// row's non-empty carried values (Fields, which it needs).
	Update bool `json:"update,omitempty"`
	// Many makes Field a list of references (a multi-select field: the
	// lists, tags or segments a contact belongs to, split by the column's
	// separator), and IDField a multi-select field receiving the record
	// ids of all their targets (default Object + "_record_ids").
	// Missing applies per item.
	Many bool `json:"many,omitempty"`
	// Note is free text for people; ignored by the library.
	Note string `json:"note,omitempty"`
}

// Column maps one source column — or several joined, or a constant — to a
// field.
//
// A column is found by Source (its header name) or Index (1-based
// position); with both, the header cell at Index must be Source. A file
// without a header can only be mapped by Index. A constant column (Const
// set) has neither: it fills Field with the same value on every row.
// Sources joins several columns into one field instead. Two Column
// entries may read the same source column into different fields.
type Column struct {
	// Source is the column's header name. It matches the header cell
	// exactly (surrounding spaces ignored) or, failing that, the one header
	// cell with the same normalized name (case, accents, spaces and
	// punctuation ignored).
	Source string `json:"source,omitempty"`
	// Sources join several columns into one field: each is a header name
	// (matched like Source) or "#N" for the N-th column (files without a
	// header). Their non-empty cells, trimmed, are joined with Join. A
	// column with Sources has no Source and no Index.
	Sources []string `json:"sources,omitempty"`
	// Join separates the joined cells of Sources; empty means one space.
	Join string `json:"join,omitempty"`
	// Index is the column's 1-based position; 0 means "find by Source".
	Index int `json:"index,omitempty"`
	// Field is the target field's name; required unless Skip is set.
	Field string `json:"field,omitempty"`
	// Format is the date/time format of a date, time or timestamp
	// column: an LDML pattern ("dd.MM.yyyy", "yyyyMMdd", "d MMMM yyyy
	// HH:mm", "MM/dd/yyyy h:mm a", "yyyy-MM-dd'T'HH:mm:ssXXX");
	// "excel1900" or "excel1904" for Excel serial numbers (ISO dates are
	// still accepted); or "auto" to detect it at [Compile] from
	// [Options.Sample] (see [DetectFormat]). Empty means ISO 8601. A
	// timestamp pattern with a time also reads its date part alone
	// (midnight in Zone) and, when it has seconds, a cell without them
	// (see the package documentation, Formats).
	Format string `json:"format,omitempty"`
	// Decimal is the decimal separator of a decimal column: "." (the
	// default), "," or "auto" (detected at [Compile] from
	// [Options.Sample]). The other one is then accepted as a thousands
	// separator.
	Decimal string `json:"decimal,omitempty"`
	// Currency is the ISO 4217 code ("EUR") that the amounts of a decimal
	// column are in. A cell that names another currency, by code or
	// symbol, is rejected. Empty accepts any currency (or none); the
	// currency is never stored.
	Currency string `json:"currency,omitempty"`
	// Zone is the time zone of the cells of a timestamp or time column
	// that carry no offset: an IANA name ("Europe/Berlin"; timestamps
	// only), "UTC", or a fixed offset ("+01:00", "-0500"). Empty means
	// UTC for timestamps and "as written" for times.
	Zone string `json:"zone,omitempty"`
	// Region is the ISO 3166-1 alpha-2 region of the phone numbers of
	// this column that have no country code; it overrides
	// [Options.DefaultRegion].
	Region string `json:"region,omitempty"`
	// RegionFrom names a country column of the same row (a header name,
	// or "#N") whose value (a code or a name, see [ParseCountry]) is the
	// region of this row's phone number when it has no country code.
	// When that cell is empty or not a country, Region or
	// [Options.DefaultRegion] applies.
	RegionFrom string `json:"region_from,omitempty"`
	// Separator splits the items of a multiselect cell; empty means ";",
	// else "|" when the cell has no ";", else ",".
	Separator string `json:"separator,omitempty"`
	// Transforms rewrite the cell, in order, before the field's type
	// parses it (see [DefaultTransforms]).
	Transforms []Transform `json:"transforms,omitempty"`
	// Skip ignores the column.
	Skip bool `json:"skip,omitempty"`
	// Const fills Field with this value on every row (parsed once with the
	// field's type). A constant column has no Source and no Index.
	Const string `json:"const,omitempty"`
	// Default is used, parsed once with the field's type, when the cell is
	// empty.
	Default string `json:"default,omitempty"`
	// Required rejects a row whose cell (after Default) is empty, with
	// missing_required, even when the field itself is optional.
	Required bool `json:"required,omitempty"`
	// Invalid is what a cell that the field's type cannot parse does:
	// [InvalidReject] ("reject", also when empty) rejects the row with
	// invalid_<type>; [InvalidEmpty] ("empty") leaves the field empty for
	// that row — null, not Default — and the row goes on, the cell
	// reported as a warning: the *[intake.RowError] the rejection would
	// have had ([Plan.MapWarn]). A transform that fails (transform_failed)
	// is such a cell too. A cell of a required field (Required, or a
	// required custom field) still rejects the row, and so does an empty
	// one.
	Invalid string `json:"invalid,omitempty"`
	// Note is free text for people; ignored by the library.
	Note string `json:"note,omitempty"`
}

// The values of [Column.Invalid].
const (
	// InvalidReject rejects a row whose cell the field's type cannot
	// parse (the default).
	InvalidReject = "reject"
	// InvalidEmpty leaves the field of such a cell empty, imports the row
	// and reports the cell as a warning.
	InvalidEmpty = "empty"
)

// name describes the column in error messages, with its note when it has
// one (a generated spec's note says where the column comes from, e.g.
// `Acoustic column "City"`).
func (c *Column) name(i int) string {
	n := c.bareName(i)
	if c.Note != "" {
		n += " [" + c.Note + "]"
	}
	return n
}

func (c *Column) bareName(i int) string {
	switch {
	case c.Source != "" && c.Index > 0:
		return fmt.Sprintf("column %d (%q, index %d)", i+1, c.Source, c.Index)
	case c.Source != "":
		return fmt.Sprintf("column %d (%q)", i+1, c.Source)
	case len(c.Sources) > 0:
		return fmt.Sprintf("column %d (%s)", i+1, quoteList(c.Sources, 5))
	case c.Index > 0:
		return fmt.Sprintf("column %d (index %d)", i+1, c.Index)
	case c.Field != "":
		return fmt.Sprintf("column %d (field %s)", i+1, c.Field)
	}
	return fmt.Sprintf("column %d", i+1)
}

// MaxSpecBytes is the largest mapping spec [LoadSpec] reads.
const MaxSpecBytes = 4 << 20

// SpecVersion is the version of the spec format this library writes.
//
// Versioning policy: a saved spec keeps working after the library grows.
// Additions that old specs do not use (new optional keys, new transforms,
// new formats) keep the version. A change that would read an existing spec
// differently bumps SpecVersion and adds a migration to specMigrations,
// indexed by the version it upgrades from; [LoadSpec] runs the migrations
// from the spec's version up to SpecVersion on the raw JSON object before
// decoding it, so that every version ever written stays loadable. A spec
// with a newer version than SpecVersion is rejected with a message asking
// to upgrade the library, never read half-way.
const SpecVersion = 1

// specMigration upgrades the JSON object of a spec of version v to v+1.
type specMigration func(obj map[string]json.RawMessage) error

// specMigrations[v] upgrades version v to v+1. Empty while SpecVersion is
// 1.
var specMigrations = map[int]specMigration{}

// LoadSpec reads a JSON mapping spec. It is strict: unknown keys, trailing
// data and wrong types are errors, and the spec's structure is checked
// with [Spec.Validate]. Error messages give the line and column of JSON
// problems. A spec without "version" is version 1; older versions are
// migrated (see [SpecVersion]), newer ones rejected. Empty lists load as
// nil and Version is set to [SpecVersion], so that a loaded spec saved
// with [Spec.Save] loads back equal.
func LoadSpec(r io.Reader) (*Spec, error) {
	return loadSpec(r, SpecVersion, specMigrations)
}

func loadSpec(r io.Reader, current int, migrations map[int]specMigration) (*Spec, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("mapping: reading spec: %w", err)
	}
	if len(data) > MaxSpecBytes {
		return nil, fmt.Errorf("mapping: spec is larger than %d bytes", MaxSpecBytes)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) == nil && obj != nil {
		v := 1
		if raw, ok := obj["version"]; ok {
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("mapping: spec \"version\" is %s: want a whole number such as %d", raw, current)
			}
			if v < 1 {
				return nil, fmt.Errorf("mapping: spec version %d: versions start at 1 (or leave \"version\" out)", v)
			}
		}
		if v > current {
			return nil, fmt.Errorf("mapping: spec version %d is newer than this library understands (up to %d): upgrade github.com/intakehq/intake, or save the spec again with this version", v, current)
		}
		if v < current {
			for ; v < current; v++ {
				m := migrations[v]
				if m == nil {
					return nil, fmt.Errorf("mapping: no migration from spec version %d to %d", v, v+1)
				}
				if err := m(obj); err != nil {
					return nil, fmt.Errorf("mapping: migrating spec version %d to %d: %v", v, v+1, err)
				}
			}
			obj["version"] = json.RawMessage(strconv.Itoa(current))
			if data, err = json.Marshal(obj); err != nil {
				return nil, fmt.Errorf("mapping: migrating spec: %v", err)
			}
		}
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
	s.Version = current
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
	if o := s.Object; o != nil {
		if len(o.Key) == 0 {
			o.Key = nil
		}
		if len(o.Links) == 0 {
			o.Links = nil
		}
		for i := range o.Links {
			if len(o.Links[i].Fields) == 0 {
				o.Links[i].Fields = nil
			}
		}
	}
	if len(s.Fields) == 0 {
		s.Fields = nil
	}
	for i := range s.Fields {
		if len(s.Fields[i].Options) == 0 {
			s.Fields[i].Options = nil
		}
		if len(s.Fields[i].Meta) == 0 {
			s.Fields[i].Meta = nil
		}
	}
	for i := range s.Columns {
		c := &s.Columns[i]
		if len(c.Sources) == 0 {
			c.Sources = nil
		}
		if len(c.Transforms) == 0 {
			c.Transforms = nil
		}
		for j := range c.Transforms {
			if len(c.Transforms[j].Args) == 0 {
				c.Transforms[j].Args = nil
			}
		}
	}
}

// Save writes s as indented JSON, with "version" set to [SpecVersion]
// when s has none. [LoadSpec] reads it back equal.
func (s *Spec) Save(w io.Writer) error {
	out := *s
	if out.Version == 0 {
		out.Version = SpecVersion
	}
	b, err := json.MarshalIndent(&out, "", "  ")
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
// well formed; "invalid" is "reject", "empty" or left out; custom fields
// have names and types, and their meta follows [intake.CheckMeta]; the
// object section (see
// [ObjectSpec]) names a valid object type, key fields among the type's
// fields, and links with a field, a target type and a known missing-target
// policy; errors about it name its JSON path ("object.links[0].missing").
// [Compile] checks the rest. All problems are returned at once, joined.
func (s *Spec) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("mapping: "+format, args...)) }
	s.validateObject(add)
	for i := range s.Fields {
		s.Fields[i].validate(i, add)
	}
	for i := range s.Columns {
		s.Columns[i].validate(i, add)
	}
	return errors.Join(errs...)
}

// validate checks custom field i (0-based); add reports a problem.
func (f *FieldSpec) validate(i int, add func(format string, args ...any)) {
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
	if err := intake.CheckMeta(f.Meta); err != nil {
		for _, e := range unjoin(err) {
			add("%s: %s", what, strings.TrimPrefix(e.Error(), "intake: "))
		}
	}
}

// unjoin returns the errors that err joins, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// validate checks column i (0-based) on its own, in the order its settings
// are read: where the value comes from, how it is transformed and
// converted, which field it fills, and its formats. add reports a problem.
func (c *Column) validate(i int, add func(format string, args ...any)) {
	what := c.name(i)
	if c.Index < 0 {
		add("%s: index %d: use the column's 1-based position", what, c.Index)
	}
	if c.Skip {
		if c.Const != "" {
			add("%s: a skipped column cannot have a const", what)
		}
		return
	}
	c.validateSources(what, add)
	c.validateConversion(what, add)
	c.validateTarget(what, add)
	c.validateFormats(what, add)
}

// validateSources checks "sources" and "join": the joined columns stand
// instead of "source" and "index", and "join" needs them.
func (c *Column) validateSources(what string, add func(format string, args ...any)) {
	if len(c.Sources) == 0 {
		if c.Join != "" {
			add("%s: \"join\" applies to \"sources\": drop it, or list the columns to join in \"sources\"", what)
		}
		return
	}
	if c.Source != "" || c.Index != 0 {
		add("%s: \"sources\" joins several columns: drop \"source\" and \"index\"", what)
	}
	for _, src := range c.Sources {
		if strings.TrimSpace(src) == "" {
			add("%s: an entry of \"sources\" is empty: name a header column or \"#N\"", what)
		}
	}
}

// validateConversion checks what a cell goes through: transforms have
// names, the currency, zone and phone region are known, and "invalid"
// names a known policy.
func (c *Column) validateConversion(what string, add func(format string, args ...any)) {
	for j, t := range c.Transforms {
		if t.Name == "" {
			add("%s: transform %d has no name", what, j+1)
		}
	}
	if c.Currency != "" {
		if _, err := currency.ParseISO(c.Currency); err != nil || len(c.Currency) != 3 {
			add("%s: currency %q is not an ISO 4217 code: use one like EUR, USD or GBP", what, c.Currency)
		}
	}
	if c.Zone != "" {
		if _, err := loadZone(c.Zone); err != nil {
			add("%s: zone %q: %v", what, c.Zone, err)
		}
	}
	if c.Region != "" && !phonenumbers.GetSupportedRegions()[strings.ToUpper(c.Region)] {
		add("%s: region %q is not a supported phone region: use an ISO 3166-1 alpha-2 code such as DE or US", what, c.Region)
	}
	switch c.Invalid {
	case "", InvalidReject, InvalidEmpty:
	default:
		add("%s: invalid %q: use \"reject\" (a cell the field's type cannot parse rejects the row, the default) or \"empty\" (the field is left empty and the cell reported as a warning)", what, c.Invalid)
	}
}

// validateTarget checks that the column names a field and one place its
// value comes from: a const, which takes nothing read from the row, or
// the row's cells.
func (c *Column) validateTarget(what string, add func(format string, args ...any)) {
	if c.Field == "" {
		add("%s: no field: set \"field\" or \"skip\": true", what)
	}
	if c.Const == "" {
		if c.Source == "" && c.Index == 0 && len(c.Sources) == 0 {
			add("%s: set \"source\" (header name), \"index\" (1-based position), \"sources\" (columns to join) or \"const\"", what)
		}
		return
	}
	if c.Source != "" || c.Index != 0 {
		add("%s: a const column takes no source or index: drop them, or drop \"const\"", what)
	}
	if c.Default != "" {
		add("%s: a const column takes no default", what)
	}
	if len(c.Sources) > 0 || len(c.Transforms) > 0 || c.RegionFrom != "" {
		add("%s: a const column takes no sources, transforms or region_from", what)
	}
	if c.Invalid == InvalidEmpty {
		add("%s: a const column takes no \"invalid\": \"empty\": its value is checked once, when the spec compiles", what)
	}
}

// validateFormats checks the decimal separator and the date format.
func (c *Column) validateFormats(what string, add func(format string, args ...any)) {
	switch c.Decimal {
	case "", ".", ",", FormatAuto:
	default:
		add("%s: decimal separator %q: use \".\", \",\" or \"auto\"", what, c.Decimal)
	}
	switch c.Format {
	case "", FormatAuto, FormatExcel1900, FormatExcel1904:
	default:
		if _, err := compilePattern(c.Format); err != nil {
			add("%s: format %q: %v", what, c.Format, err)
		}
	}
}

// loadZone reads a column's zone: "UTC", "Z", a fixed offset ("+01:00",
// "-0500", "+01") or an IANA name ("Europe/Berlin", from the system's
// zone database or the host's embedded time/tzdata).
func loadZone(z string) (*time.Location, error) {
	z = strings.TrimSpace(z)
	switch z {
	case "":
		return nil, nil
	case "UTC", "Z", "GMT":
		return time.UTC, nil
	}
	if z[0] == '+' || z[0] == '-' {
		off, j, ok := zoneOffset(z, 0)
		if !ok || j != len(z) {
			return nil, errors.New("a fixed offset is written +hh:mm, +hhmm or +hh")
		}
		return time.FixedZone(z, off), nil
	}
	if strings.EqualFold(z, "local") {
		return nil, errors.New("\"Local\" depends on the machine: name the zone (Europe/Berlin) or an offset")
	}
	loc, err := time.LoadLocation(z)
	if err != nil {
		return nil, fmt.Errorf("not a known time zone (use an IANA name like Europe/Berlin, UTC, or an offset like +01:00): %v", err)
	}
	return loc, nil
}

// fixedOffset reads a zone that is UTC or a fixed offset.
func fixedOffset(z string) (int, error) {
	z = strings.TrimSpace(z)
	switch z {
	case "UTC", "Z", "GMT":
		return 0, nil
	}
	if off, j, ok := zoneOffset(z, 0); ok && j == len(z) {
		return off, nil
	}
	return 0, errors.New("not a fixed offset")
}

// ObjectType returns the object type the spec imports: the object
// section's name, or intake.ObjectContact when the spec has none.
func (s *Spec) ObjectType() string {
	if s.Object != nil && s.Object.Name != "" {
		return s.Object.Name
	}
	return intake.ObjectContact
}

// KeySpec returns the sync key that the section's Key, EmailRules and MD5
// describe, or the zero KeySpec when Key is empty (the import chooses the
// key).
func (o *ObjectSpec) KeySpec() intake.KeySpec {
	if o == nil || len(o.Key) == 0 {
		return intake.KeySpec{}
	}
	return intake.KeySpec{Fields: slices.Clone(o.Key), EmailRules: o.EmailRules, MD5: o.MD5}
}

// clone returns a deep copy of o.
func (o *ObjectSpec) clone() *ObjectSpec {
	if o == nil {
		return nil
	}
	c := *o
	c.Key = slices.Clone(o.Key)
	c.Links = slices.Clone(o.Links)
	for i := range c.Links {
		c.Links[i].Fields = maps.Clone(c.Links[i].Fields)
	}
	return &c
}

// Missing-target policies of [LinkSpec.Missing], as importer.Missing names
// them.
var linkPolicies = []string{"reject", "skip", "empty", "create"}

// validateObject checks the object section: its type name, its key and
// key options, and its links; add reports a problem.
func (s *Spec) validateObject(add func(format string, args ...any)) {
	o := s.Object
	if o == nil {
		return
	}
	switch {
	case o.Name == "":
		add("object.name is empty: name the object type (contact, account, activity, or a custom type such as \"ticket\")")
	case !isName(o.Name):
		add("object.name %q: an object type is lower-case letters, digits and underscores, starting with a letter", o.Name)
	}
	emailKey := s.validateKey(add)
	if o.MD5 && len(o.Key) != 1 {
		add("object.md5: an MD5 key hashes exactly one field, and object.key names %d", len(o.Key))
	}
	switch o.EmailRules {
	case intake.EmailExact:
	case intake.EmailProvider:
		if len(o.Key) > 0 && !emailKey {
			add("object.email_rules %q applies to email fields, and object.key has none: drop it or add an email field to the key", o.EmailRules)
		}
	default:
		add("object.email_rules %q: use \"provider\", or leave it out to compare emails trimmed and lower-cased", o.EmailRules)
	}
	linked := map[string]int{} // reference field → its link's index
	for i := range o.Links {
		o.validateLink(i, linked, add)
	}
}

// validateKey checks that object.key names each field once, and fields
// that the object type has; it reports whether the key has an email
// field. A custom type without "fields" takes its fields from a store
// (MergeSchema), which checks its key then.
func (s *Spec) validateKey(add func(format string, args ...any)) (emailKey bool) {
	o := s.Object
	types, names := s.objectFields()
	checkKey := intake.DefaultSchema(o.Name) != nil || len(s.Fields) > 0
	what := o.Name
	if what == "" {
		what = "the object"
	}
	seen := map[string]bool{}
	for i, k := range o.Key {
		path := fmt.Sprintf("object.key[%d]", i)
		t, known := types[k]
		switch {
		case strings.TrimSpace(k) == "":
			add("%s is empty: name a field of %s", path, what)
		case seen[k]:
			add("%s: %q is named twice: a key names each field once", path, k)
		case !known && checkKey:
			hint := ""
			if near := closest(k, names, 0.75); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			add("%s: %q is not a field of %s%s (fields: %s): name one of them, or declare it in \"fields\"", path, k, what, hint, strings.Join(names, ", "))
		}
		seen[k] = true
		emailKey = emailKey || t == intake.TypeEmail
	}
	return emailKey
}

// objectFields returns the fields the spec's object type has, by name,
// and their names in order: the type's default fields, then the custom
// ones.
func (s *Spec) objectFields() (map[string]intake.FieldType, []string) {
	types := map[string]intake.FieldType{}
	var names []string
	if def := intake.DefaultSchema(s.Object.Name); def != nil {
		for _, f := range def.Fields() {
			types[f.Name] = f.Type
			names = append(names, f.Name)
		}
	}
	for _, f := range s.Fields {
		if _, dup := types[f.Name]; f.Name != "" && !dup {
			types[f.Name] = f.Type
			names = append(names, f.Name)
		}
	}
	return types, names
}

// validateLink checks object.links[i]: its reference and target, then the
// target data it carries. linked maps the reference fields of the links
// before it to their index, so that a field is linked once.
func (o *ObjectSpec) validateLink(i int, linked map[string]int, add func(format string, args ...any)) {
	l := &o.Links[i]
	path := fmt.Sprintf("object.links[%d]", i)
	switch {
	case l.Field == "":
		add("%s.field is empty: name the row's field that holds the reference", path)
	case !isName(l.Field):
		add("%s.field %q: a field name is lower-case letters, digits and underscores, starting with a letter", path, l.Field)
	default:
		if j, dup := linked[l.Field]; dup {
			add("%s.field %q is linked by object.links[%d] already: link each field once", path, l.Field, j)
		}
		linked[l.Field] = i
	}
	l.validateTarget(path, add)
	l.validateCarried(path, add)
	if l.Missing == "create" && l.Object != "" && l.Object == o.Name {
		add("%s.missing \"create\": the target is of type %s, which this spec imports, whose stubs the import would not know: use reject, skip or empty, or import the targets first", path, o.Name)
	}
}

// validateTarget checks how a link finds its target: the target's object
// type and key, the field that gets the target's record id, and the
// missing-target policy.
func (l *LinkSpec) validateTarget(path string, add func(format string, args ...any)) {
	switch {
	case l.Object == "":
		add("%s.object is empty: name the target's object type (account, contact, or a custom type)", path)
	case !isName(l.Object):
		add("%s.object %q: an object type is lower-case letters, digits and underscores, starting with a letter", path, l.Object)
	}
	if l.Key != "" && !isName(l.Key) {
		add("%s.key %q: name one field of %s", path, l.Key, l.Object)
	}
	if l.IDField != "" {
		switch {
		case !isName(l.IDField):
			add("%s.id_field %q: a field name is lower-case letters, digits and underscores, starting with a letter", path, l.IDField)
		case l.IDField == l.Field:
			add("%s.id_field %q is the reference field itself: the record id goes to a field of its own", path, l.IDField)
		}
	}
	if l.Missing != "" && !slices.Contains(linkPolicies, l.Missing) {
		add("%s.missing %q: use reject, skip, empty or create", path, l.Missing)
	}
}

// validateCarried checks the row's fields that a link carries to its
// target ("fields"): valid names, neither the reference nor the target's
// key, and only on a link to one target; "update" needs them.
func (l *LinkSpec) validateCarried(path string, add func(format string, args ...any)) {
	key := l.Key
	if key == "" {
		key = l.Field
	}
	for _, from := range slices.Sorted(maps.Keys(l.Fields)) {
		to := l.Fields[from]
		switch {
		case !isName(from):
			add("%s.fields: %q: a field name is lower-case letters, digits and underscores, starting with a letter", path, from)
		case !isName(to):
			add("%s.fields.%s: %q: name a field of %s", path, from, to, l.Object)
		case from == l.Field:
			add("%s.fields.%s: the reference field carries the target's key, not other data: drop it", path, from)
		case to == key:
			add("%s.fields.%s: %q is the key of %s, which the reference sets: drop it", path, from, to, l.Object)
		}
	}
	if l.Many && len(l.Fields) > 0 {
		add("%s: a \"many\" link holds several references and carries no target data: drop \"fields\", or \"many\"", path)
	}
	if l.Update && len(l.Fields) == 0 {
		add("%s.update: updates a found target with the row's carried values: name them in \"fields\"", path)
	}
}

// isName reports whether n is a valid field or object type name.
func isName(n string) bool {
	if n == "" || len(n) > 63 || n[0] < 'a' || n[0] > 'z' {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ObjectSchema returns the schema of the records the spec imports: for
// contact (also without an object section), account and activity the
// type's default schema extended by the spec's "fields"; for a custom type
// the "fields" alone, in order. The key is checked against it. The schema
// holds the spec's custom fields: compile it with the spec that
// [Spec.Against] returns (or pass the spec's "columns" alone), since
// [Compile] refuses a custom field its base already has. To import into a
// store that already holds records of the type, use [Spec.MergeSchema].
func (s *Spec) ObjectSchema() (*intake.Schema, error) {
	return s.MergeSchema(nil)
}

// MergeSchema returns the schema of the records the spec imports into a
// store that holds stored for the object type (as sink.SchemaReader tells
// it; nil when the store never saw the type): stored's fields in order —
// the ones the spec declares take the spec's options, label and required
// flag, and its meta when it gives some (the whole map, replacing the
// stored one; a field the spec declares without meta keeps the stored
// one) —, then the type's default fields stored lacks, then the spec's
// other fields, with their meta. A field that stored holds with another
// type than the spec declares is an error (unless the spec declares it
// IfMissing: then the stored field is used as it is), and so is a stored
// schema of another type. The key of the object section is checked
// against the result.
func (s *Spec) MergeSchema(stored *intake.Schema) (*intake.Schema, error) {
	object := s.ObjectType()
	if stored != nil && stored.Object() != object {
		return nil, fmt.Errorf("mapping: the spec imports %s records, and the stored schema is of %s", object, stored.Object())
	}
	var fields []intake.Field
	at := map[string]int{}
	put := func(f intake.Field) {
		if _, ok := at[f.Name]; !ok {
			at[f.Name] = len(fields)
			fields = append(fields, f)
		}
	}
	if stored != nil {
		for _, f := range stored.Fields() {
			put(f)
		}
	}
	def := intake.DefaultSchema(object)
	if def != nil {
		for _, f := range def.Fields() {
			put(f)
		}
	}
	var errs []error
	declared := map[string]bool{}
	for _, fs := range s.Fields {
		if declared[fs.Name] {
			errs = append(errs, fmt.Errorf("mapping: custom field %q is declared twice in \"fields\"", fs.Name))
			continue
		}
		declared[fs.Name] = true
		i, ok := at[fs.Name]
		if ok && fs.IfMissing {
			continue
		}
		if !ok {
			put(intake.Field{Name: fs.Name, Type: fs.Type, Options: fs.Options, Required: fs.Required, Label: fs.Label, Meta: fs.Meta})
			continue
		}
		f := &fields[i]
		switch {
		case def != nil && def.Index(fs.Name) >= 0:
			errs = append(errs, fmt.Errorf("mapping: custom field %q is already a field of %s: rename it, or drop it from \"fields\" to use the built-in one", fs.Name, object))
		case f.Type != fs.Type:
			errs = append(errs, fmt.Errorf("mapping: custom field %q is declared as %s, and the store holds it as %s: keep its type, or import it under another name", fs.Name, fs.Type, f.Type))
		default:
			if len(fs.Options) > 0 {
				f.Options = fs.Options
			}
			if fs.Label != "" {
				f.Label = fs.Label
			}
			if len(fs.Meta) > 0 {
				f.Meta = fs.Meta
			}
			f.Required = fs.Required
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("mapping: %s is a custom object type: declare its fields in \"fields\"", object)
	}
	schema, err := intake.NewSchema(object, fields...)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if key := s.Object.KeySpec(); len(key.Fields) > 0 {
		if _, err := schema.CompileKey(key); err != nil {
			return nil, fmt.Errorf("mapping: object.key: %s", strings.TrimPrefix(err.Error(), "intake: "))
		}
	}
	return schema, nil
}

// Against returns a copy of the spec to compile against schema — one that
// [Spec.ObjectSchema] or [Spec.MergeSchema] built, or the schema a store
// holds —: the custom fields that schema already has, with the same type,
// are left out of the copy's "fields", so that the copy declares only the
// fields schema lacks ([Compile] accepts the spec itself too: it uses a
// custom field schema already has, with the same type, as it is). A custom
// field that schema has with another type is an error.
func (s *Spec) Against(schema *intake.Schema) (*Spec, error) {
	out := s.clone()
	out.Object = s.Object.clone()
	kept := out.Fields[:0]
	var errs []error
	for _, f := range out.Fields {
		i := schema.Index(f.Name)
		switch {
		case i < 0:
			kept = append(kept, f)
		case f.IfMissing:
		case schema.Field(i).Type != f.Type:
			errs = append(errs, fmt.Errorf("mapping: custom field %q is declared as %s, and the %s schema has it as %s", f.Name, f.Type, schema.Object(), schema.Field(i).Type))
		}
	}
	out.Fields = kept
	if len(out.Fields) == 0 {
		out.Fields = nil
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
