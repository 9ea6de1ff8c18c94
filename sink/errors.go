package sink

import (
	"errors"
	"fmt"
)

// RecordError is the error of a write that failed because of one record.
type RecordError struct {
	// ID is the record's id.
	ID string
	// Line is the source line of the record (0 when unknown).
	Line int
	// Err is the cause.
	Err error
}

func (e *RecordError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("sink: record %s (line %d): %v", e.ID, e.Line, e.Err)
	}
	return fmt.Sprintf("sink: record %s: %v", e.ID, e.Err)
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// ErrNotFound is the cause of a RecordError for an update or opt-out of a
// record id the store does not hold.
var ErrNotFound = errors.New("intake: record not found: it was deleted after it was matched, or the id is wrong")

// ErrDuplicateID is the cause of a RecordError for a create whose id is taken.
var ErrDuplicateID = errors.New("intake: record id already exists: use a fresh id allocator")
