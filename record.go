package intake

// Record is a typed record of a [Schema]: one [Value] per schema field, in
// schema order. A null value means "no value" (an empty cell, an unmapped
// field); on an update it leaves the stored value as it is.
type Record struct {
	// Schema describes Values; required.
	Schema *Schema
	// ID is the record's id in its store; empty until the record is matched
	// to an existing record or given a new id.
	ID string
	// Line is the source line the record was read from (0 when it did not
	// come from a file).
	Line int
	// Values holds one value per schema field.
	Values []Value
	// OptedOut is true when the contact opted out of communication.
	OptedOut bool
	// Inactive is true when the record was made inactive: its data is
	// kept, but the record is out of use.
	Inactive bool
}

// NewRecord returns an empty record of schema s (all values null).
func NewRecord(s *Schema) *Record {
	return &Record{Schema: s, Values: make([]Value, s.Len())}
}

// Get returns the value of the named field, or null when the schema has no
// such field.
func (r *Record) Get(name string) Value {
	if i := r.Schema.Index(name); i >= 0 && i < len(r.Values) {
		return r.Values[i]
	}
	return Null
}

// Set sets the value of the named field and reports whether the schema has it.
func (r *Record) Set(name string, v Value) bool {
	i := r.Schema.Index(name)
	if i < 0 {
		return false
	}
	if len(r.Values) < r.Schema.Len() {
		r.Values = append(r.Values, make([]Value, r.Schema.Len()-len(r.Values))...)
	}
	r.Values[i] = v
	return true
}

// Reset clears the record for reuse with schema s, keeping its allocation.
func (r *Record) Reset(s *Schema) {
	r.Schema, r.ID, r.Line, r.OptedOut = s, "", 0, false
	if cap(r.Values) < s.Len() {
		r.Values = make([]Value, s.Len())
		return
	}
	r.Values = r.Values[:s.Len()]
	clear(r.Values)
}

// Clone returns a copy of the record that shares nothing mutable with r.
func (r *Record) Clone() *Record {
	c := *r
	c.Values = append([]Value(nil), r.Values...)
	return &c
}
