package sink

import (
	"errors"
	"strconv"
	"strings"
)

// RecordError is the error of a write that failed because of one record.
// A sink sets every field it knows from the op: Object and ID name the
// record in the store, Line where it came from.
type RecordError struct {
	// Object is the record's object type ("contact", "account", …: the
	// Object of its schema); empty when the op has no record or schema.
	Object string
	// ID is the record's id.
	ID string
	// Line is the source line of the record (0 when unknown).
	Line int
	// Err is the cause.
	Err error
}

// Error formats the error as "sink: contact record ID (line N): cause",
// leaving out the object type and the line when they are unknown.
func (e *RecordError) Error() string {
	var b strings.Builder
	b.WriteString("sink: ")
	if e.Object != "" {
		b.WriteString(e.Object)
		b.WriteByte(' ')
	}
	b.WriteString("record ")
	b.WriteString(e.ID)
	if e.Line > 0 {
		b.WriteString(" (line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(')')
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// ErrNotFound is the cause of a RecordError for an update, opt-out or
// lifecycle op of a record id the store does not hold: the record was
// deleted after it was matched, or the id is wrong.
var ErrNotFound = errors.New("sink: record not found")

// ErrDuplicateID is the cause of a RecordError for a create whose id is
// taken. Use an id allocator whose ids are fresh in this store.
var ErrDuplicateID = errors.New("sink: record id already exists")

// ErrInvalidOp is the cause of a RecordError for an op that no store can
// apply: an unknown op kind, a nil record or schema, an empty id, a Clear
// index outside the schema, or a value whose kind does not fit its field
// (a mapper bug, not bad input). Build ops with a record of the run's
// schema, a non-empty id and values of the fields' kinds.
var ErrInvalidOp = errors.New("sink: invalid write op")

// ErrSchemaConflict is the cause of an EnsureSchema error for a field that
// the store already holds with values of another kind (text vs. date, …).
// Rename the field, or migrate the stored data first.
var ErrSchemaConflict = errors.New("sink: schema conflicts with the stored one")

// ErrFull is the cause of a RecordError for a create that would take a
// store beyond its configured capacity (see [github.com/intakehq/intake/sink/memory.Config.MaxRecords]).
// Raise the store's record limit, or use a persistent sink.
var ErrFull = errors.New("sink: store is full")
