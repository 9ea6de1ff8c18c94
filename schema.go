package intake

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldType says how a field's cells are parsed, validated, stored and
// compared. Several field types share one value [Kind].
type FieldType uint8

// The field types. Their names (see [FieldType.String] and [ParseFieldType])
// are the ones used by the JSON mapping spec.
const (
	TypeInvalid     FieldType = iota
	TypeText                  // free text
	TypeBool                  // yes/no
	TypeDecimal               // a number or an amount (also "number", "currency")
	TypeDate                  // a calendar date
	TypeTime                  // a time of day
	TypeTimestamp             // a date and time, an instant
	TypeEmail                 // an email address, stored trimmed and lower-cased
	TypePhone                 // a phone number, stored in E.164 form
	TypeCountry               // an ISO 3166-1 alpha-2 country code
	TypeSelect                // one of a field's options
	TypeMultiSelect           // several of a field's options (a list value)
	TypeID                    // an identifier or foreign key, kept exactly (leading zeros too)
)

var fieldTypeNames = [...]string{"invalid", "text", "bool", "decimal", "date", "time", "timestamp", "email", "phone", "country", "select", "multiselect", "id"}

// String returns the type's name in the mapping spec.
func (t FieldType) String() string {
	if int(t) < len(fieldTypeNames) {
		return fieldTypeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Kind returns the value kind that fields of this type hold.
func (t FieldType) Kind() Kind {
	switch t {
	case TypeBool:
		return KindBool
	case TypeDecimal:
		return KindDecimal
	case TypeDate:
		return KindDate
	case TypeTime:
		return KindTime
	case TypeTimestamp:
		return KindTimestamp
	case TypeMultiSelect:
		return KindList
	case TypeInvalid:
		return KindNull
	}
	return KindText
}

// MarshalText implements encoding.TextMarshaler with the type's name.
func (t FieldType) MarshalText() ([]byte, error) {
	if t == TypeInvalid || int(t) >= len(fieldTypeNames) {
		return nil, fmt.Errorf("intake: cannot marshal invalid field type %d", t)
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler through [ParseFieldType].
func (t *FieldType) UnmarshalText(b []byte) error {
	p, err := ParseFieldType(string(b))
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// ParseFieldType returns the field type with the given name, case-insensitive.
// Besides the names of [FieldType.String] it accepts the aliases "string",
// "boolean", "number", "numeric", "currency", "money", "datetime",
// "multi-select", "multi_select", "select-one" and "key".
func ParseFieldType(name string) (FieldType, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for i := 1; i < len(fieldTypeNames); i++ {
		if fieldTypeNames[i] == n {
			return FieldType(i), nil
		}
	}
	switch n {
	case "string":
		return TypeText, nil
	case "boolean", "yesno", "yes/no":
		return TypeBool, nil
	case "number", "numeric", "currency", "money", "integer", "int":
		return TypeDecimal, nil
	case "datetime":
		return TypeTimestamp, nil
	case "multi-select", "multi_select":
		return TypeMultiSelect, nil
	case "select-one", "select_one":
		return TypeSelect, nil
	case "key":
		return TypeID, nil
	}
	return TypeInvalid, fmt.Errorf("intake: unknown field type %q (want one of %s)", name, strings.Join(fieldTypeNames[1:], ", "))
}

// Field describes one field of a [Schema].
type Field struct {
	// Name is the field's name, unique in its schema: lower-case letters,
	// digits and underscores, starting with a letter ("first_name").
	Name string `json:"name"`
	// Type is the field's type; required.
	Type FieldType `json:"type"`
	// Options are the allowed values of a select or multi-select field; empty
	// means any value.
	Options []string `json:"options,omitempty"`
	// Required fields reject a row whose cell is empty (code missing_required).
	Required bool `json:"required,omitempty"`
	// Personal marks personal data, erased when a record is anonymized.
	Personal bool `json:"personal,omitempty"`
	// Label is a human-readable name for user interfaces; optional.
	Label string `json:"label,omitempty"`
	// Ref, on a field of type id (one link) or multi-select (several: a
	// many-to-many membership), names the object type whose record ids
	// the field holds: the field links to records of that type (a
	// contact's account_record_id refers to "account", an activity's
	// profile_id to "contact"). The importer sets it on the fields its
	// links add; sinks keep it with the schema, so that a delete or an
	// anonymization can find the links that point to a record. Empty for
	// any other field.
	Ref string `json:"ref,omitempty"`
	// Meta holds attributes that the host and other systems attach to the
	// field ("acoustic_required": "true", "acoustic_default":
	// "01/01/2001"): settings of another system that an import must not
	// apply itself. The library keeps them with the schema — sinks store
	// them, mapping specs declare them ([CheckMeta] gives the rule of
	// keys and values) — and never acts on them: they change no parse,
	// check, default or write. Empty when the field has none.
	Meta map[string]string `json:"meta,omitempty"`
}

// Bounds of the entries of [Field.Meta].
const (
	MaxMetaKeyBytes   = 64   // longest key
	MaxMetaValueBytes = 1024 // longest value
)

// CheckMeta checks the entries of a [Field.Meta]: each key is 1 to
// [MaxMetaKeyBytes] bytes of lower-case ASCII letters, digits, '_', '-'
// and '.', starting with a letter ("acoustic_required", "crm.source");
// each value is valid UTF-8 without NUL bytes, at most
// [MaxMetaValueBytes] bytes (every store can keep it as JSON text). It
// returns every problem at once, joined, in key order; nil when m is
// empty or valid.
func CheckMeta(m map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if !validMetaKey(k) {
			errs = append(errs, fmt.Errorf("intake: meta key %q: use 1 to %d lower-case letters, digits, '_', '-' and '.', starting with a letter", k, MaxMetaKeyBytes))
		}
		switch {
		case len(v) > MaxMetaValueBytes:
			errs = append(errs, fmt.Errorf("intake: meta %q: the value is %d bytes, more than %d", k, len(v), MaxMetaValueBytes))
		case !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0:
			errs = append(errs, fmt.Errorf("intake: meta %q: the value must be UTF-8 text without NUL bytes", k))
		}
	}
	return errors.Join(errs...)
}

func validMetaKey(k string) bool {
	if k == "" || len(k) > MaxMetaKeyBytes || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// cloneMeta returns a copy of m; nil when m is empty, so that a field
// without attributes holds none.
func cloneMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// Schema is the ordered list of fields of one object type ("contact",
// "account", a custom object). A Schema is immutable once built by
// [NewSchema] and safe for concurrent use.
type Schema struct {
	object string
	fields []Field
	index  map[string]int
}

// Object type names of the default schemas.
const (
	ObjectContact  = "contact"
	ObjectAccount  = "account"
	ObjectActivity = "activity"
)

// NewSchema builds a schema for the object type from its fields, checking
// that names are valid and unique, that types are set and that each
// field's Meta follows [CheckMeta]. All problems are returned at once,
// joined. The schema keeps its own copies of the fields' Options and
// Meta.
func NewSchema(object string, fields ...Field) (*Schema, error) {
	var errs []error
	if !validName(object) {
		errs = append(errs, fmt.Errorf("intake: object type %q: use lower-case letters, digits and underscores, starting with a letter", object))
	}
	if len(fields) == 0 {
		errs = append(errs, fmt.Errorf("intake: schema %q has no fields", object))
	}
	s := &Schema{object: object, fields: make([]Field, len(fields)), index: make(map[string]int, len(fields))}
	for i, f := range fields {
		if !validName(f.Name) {
			errs = append(errs, fmt.Errorf("intake: schema %q: field name %q: use lower-case letters, digits and underscores, starting with a letter", object, f.Name))
		}
		if f.Type == TypeInvalid || int(f.Type) >= len(fieldTypeNames) {
			errs = append(errs, fmt.Errorf("intake: schema %q: field %q has no valid type", object, f.Name))
		}
		if f.Ref != "" && (!validName(f.Ref) || (f.Type != TypeID && f.Type != TypeMultiSelect)) {
			errs = append(errs, fmt.Errorf("intake: schema %q: field %q refers to %q: a link field is of type id (one record) or multi-select (several), and names an object type", object, f.Name, f.Ref))
		}
		if _, dup := s.index[f.Name]; dup {
			errs = append(errs, fmt.Errorf("intake: schema %q: field %q is declared twice", object, f.Name))
		}
		if err := CheckMeta(f.Meta); err != nil {
			for _, e := range unjoin(err) {
				errs = append(errs, fmt.Errorf("intake: schema %q: field %q: %s", object, f.Name, strings.TrimPrefix(e.Error(), "intake: ")))
			}
		}
		f.Options = append([]string(nil), f.Options...)
		f.Meta = cloneMeta(f.Meta)
		s.fields[i] = f
		s.index[f.Name] = i
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// MustSchema is like [NewSchema] but panics on error. It is meant for schemas
// written as literals in Go source, checked by the host's tests.
func MustSchema(object string, fields ...Field) *Schema {
	s, err := NewSchema(object, fields...)
	if err != nil {
		panic(err)
	}
	return s
}

// unjoin returns the errors that err joins, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func validName(n string) bool {
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

// Object returns the object type the schema describes.
func (s *Schema) Object() string { return s.object }

// Len returns the number of fields.
func (s *Schema) Len() int { return len(s.fields) }

// Field returns the i-th field (0-based). Its Meta is a copy: changing
// it leaves the schema as it is.
func (s *Schema) Field(i int) Field {
	f := s.fields[i]
	if f.Meta != nil {
		f.Meta = maps.Clone(f.Meta)
	}
	return f
}

// Name returns the name of the i-th field (0-based): Field(i).Name
// without copying the field, for loops that run once per record.
func (s *Schema) Name(i int) string { return s.fields[i].Name }

// Type returns the type of the i-th field (0-based): Field(i).Type
// without copying the field, for loops that run once per record.
func (s *Schema) Type(i int) FieldType { return s.fields[i].Type }

// Fields returns a copy of the schema's fields, with copies of their
// Meta.
func (s *Schema) Fields() []Field {
	out := append([]Field(nil), s.fields...)
	for i := range out {
		if out[i].Meta != nil {
			out[i].Meta = maps.Clone(out[i].Meta)
		}
	}
	return out
}

// Index returns the position of the named field, or -1.
func (s *Schema) Index(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// Names returns the field names in order.
func (s *Schema) Names() []string {
	n := make([]string, len(s.fields))
	for i, f := range s.fields {
		n[i] = f.Name
	}
	return n
}

// ContactSchema returns the default contact schema: contact_id (id), email,
// phone, first_name, last_name, birthday (date), country, city and
// lifetime_value (decimal). Each call returns the same immutable schema.
func ContactSchema() *Schema { return contactSchema }

var contactSchema = MustSchema(ObjectContact,
	Field{Name: "contact_id", Type: TypeID, Label: "Contact ID"},
	Field{Name: "email", Type: TypeEmail, Personal: true, Label: "Email"},
	Field{Name: "phone", Type: TypePhone, Personal: true, Label: "Phone"},
	Field{Name: "first_name", Type: TypeText, Personal: true, Label: "First name"},
	Field{Name: "last_name", Type: TypeText, Personal: true, Label: "Last name"},
	Field{Name: "birthday", Type: TypeDate, Personal: true, Label: "Birthday"},
	Field{Name: "country", Type: TypeCountry, Label: "Country"},
	Field{Name: "city", Type: TypeText, Label: "City"},
	Field{Name: "lifetime_value", Type: TypeDecimal, Label: "Lifetime value"},
)

// AccountSchema returns the default account (organization, structure)
// schema: account_id (id, the account's external id and its usual key),
// name, domain (the web domain, "example.com") and type (the structure
// type: customer, partner, school, …, free text). Each call returns the
// same immutable schema. Contacts link to accounts through a foreign-key
// field that the importer resolves by the account's key (see
// importer.Link); the link fields are added to the contact's schema by the
// job that links it, never to [ContactSchema] itself.
func AccountSchema() *Schema { return accountSchema }

var accountSchema = MustSchema(ObjectAccount,
	Field{Name: "account_id", Type: TypeID, Label: "Account ID"},
	Field{Name: "name", Type: TypeText, Label: "Name"},
	Field{Name: "domain", Type: TypeText, Label: "Domain"},
	Field{Name: "type", Type: TypeText, Label: "Type"},
)

// ActivitySchema returns the default activity (event) schema: the keys of
// the profile the event belongs to — email, contact_id and phone (the
// contact's fields of the same names and types) —, type (what happened:
// "page_view", "purchase", …), occurred_at (timestamp) and event_id (id,
// optional: an import that syncs on it is idempotent). Each call returns
// the same immutable schema.
//
// Activities are append-only. An import of activities adds the field that
// holds the profile's record id (importer.ProfileLink) and, when asked,
// the file's other columns as text properties (importer.Job.KeepUnmapped).
func ActivitySchema() *Schema { return activitySchema }

var activitySchema = MustSchema(ObjectActivity,
	Field{Name: "email", Type: TypeEmail, Personal: true, Label: "Email"},
	Field{Name: "contact_id", Type: TypeID, Label: "Contact ID"},
	Field{Name: "phone", Type: TypePhone, Personal: true, Label: "Phone"},
	Field{Name: "type", Type: TypeText, Label: "Type"},
	Field{Name: "occurred_at", Type: TypeTimestamp, Label: "Occurred at"},
	Field{Name: "event_id", Type: TypeID, Label: "Event ID"},
)

// DefaultSchema returns the default schema of an object type —
// [ContactSchema], [AccountSchema] or [ActivitySchema] — or nil for any
// other type (a custom object, whose schema the host defines).
func DefaultSchema(object string) *Schema {
	switch object {
	case ObjectContact:
		return contactSchema
	case ObjectAccount:
		return accountSchema
	case ObjectActivity:
		return activitySchema
	}
	return nil
}
