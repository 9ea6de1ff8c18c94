package intake

import (
	"strconv"
	"strings"
)

// Stable machine codes of row errors and skip reasons. Codes never change
// once released; user interfaces may translate them. A cell that its field's
// type cannot parse rejects the row with "invalid_" + the type's name.
const (
	CodeInvalidText        = "invalid_text"        // text too long or with forbidden characters
	CodeInvalidBool        = "invalid_bool"        // not a yes/no value
	CodeInvalidDecimal     = "invalid_decimal"     // not a number
	CodeInvalidDate        = "invalid_date"        // not a date in the expected format
	CodeInvalidTime        = "invalid_time"        // not a time of day
	CodeInvalidTimestamp   = "invalid_timestamp"   // not a date and time
	CodeInvalidEmail       = "invalid_email"       // not an email address
	CodeInvalidPhone       = "invalid_phone"       // not a possible phone number
	CodeInvalidCountry     = "invalid_country"     // not a known country
	CodeInvalidSelect      = "invalid_select"      // not one of the field's options
	CodeInvalidMultiSelect = "invalid_multiselect" // an item is not one of the field's options
	CodeInvalidID          = "invalid_id"          // an id with forbidden characters
	CodeMissingRequired    = "missing_required"    // a required field is empty
	CodeMissingKey         = "missing_key"         // every sync field is empty
	CodeDuplicate          = "duplicate"           // the same key appeared earlier in the file
	CodeExists             = "exists"              // skipped: the key matches an existing record (add_only, create)
	CodeNoMatch            = "no_match"            // skipped: nothing matched (update_only, opt_out)
	CodeFieldCount         = "wrong_field_count"   // the row has more or fewer cells than the header
	CodeBadQuote           = "bad_quote"           // a malformed quoted cell
	CodeCellTooLong        = "cell_too_long"       // a cell exceeds the source's MaxCellBytes
	CodeInvalidEncoding    = "invalid_encoding"    // bytes that are not valid in the file's encoding
	CodeWriteFailed        = "write_failed"        // the sink refused this record
	CodeUnknownProfile     = "unknown_profile"     // an activity's profile key finds no stored profile
	CodeUnknownLink        = "unknown_link"        // a foreign key finds no stored target record
)

// RowError is the error for one input row that cannot be imported. It names
// where the problem is (file, line, column, field), a stable machine [Code…]
// and a message for people, and may wrap a cause.
type RowError struct {
	// File is the source file's name, when known.
	File string `json:"file,omitempty"`
	// Line is the 1-based source line on which the row starts.
	Line int `json:"line"`
	// Column is the source column's header name (or its 1-based index,
	// "#3", without a header); empty when the error is about the whole row.
	Column string `json:"column,omitempty"`
	// Field is the target field's name; empty when not about one field.
	Field string `json:"field,omitempty"`
	// Code is a stable machine code such as [CodeInvalidEmail].
	Code string `json:"code"`
	// Message explains the problem in plain words.
	Message string `json:"message"`
	// Err is the underlying cause, if any.
	Err error `json:"-"`
}

// Error formats the error as `file:line: column "E-Mail" (field email): invalid_email: message`.
func (e *RowError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	} else {
		b.WriteString("line ")
	}
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString("column ")
		b.WriteString(strconv.Quote(e.Column))
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString("(field ")
		b.WriteString(e.Field)
		b.WriteString(") ")
	}
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *RowError) Unwrap() error { return e.Err }
