package intake

import (
	"strconv"
	"strings"
)

// Code is a stable machine code: the reason a row is rejected or skipped,
// carried by [RowError.Code], counted in the importer's report by reason
// and written to reject files. A code never changes once released; user
// interfaces may translate it. The constants below are every code the
// module produces, with their meanings:
//
//   - a cell the field's type cannot parse: "invalid_" + the type's name
//     ([InvalidCode]), from [CodeInvalidText] to [CodeInvalidID];
//   - a row the mapper or a transform cannot turn into a record:
//     [CodeMissingRequired], [CodeTransformFailed], [CodeInvalidConsent],
//     [CodeInvalidRow];
//   - a row a source cannot read as the header says: [CodeFieldCount],
//     [CodeBadQuote], [CodeCellTooLong], [CodeInvalidEncoding],
//     [CodeCellError];
//   - a row's key and what matching decides: [CodeMissingKey],
//     [CodeDuplicate], [CodeConflict], [CodeExists], [CodeNoMatch];
//   - a link to another record: [CodeUnknownProfile], [CodeUnknownLink].
//
// Hosts may define their own codes for the rows their sources or mappers
// refuse (a connector's Code("unexpected_field")); they should not reuse
// the names below with another meaning.
type Code string

// Codes of a cell that its field's type cannot parse: the row is rejected.
const (
	// CodeInvalidText: text too long or with forbidden characters.
	CodeInvalidText Code = "invalid_text"
	// CodeInvalidBool: not a yes/no value.
	CodeInvalidBool Code = "invalid_bool"
	// CodeInvalidDecimal: not a number.
	CodeInvalidDecimal Code = "invalid_decimal"
	// CodeInvalidDate: not a date in the expected format.
	CodeInvalidDate Code = "invalid_date"
	// CodeInvalidTime: not a time of day.
	CodeInvalidTime Code = "invalid_time"
	// CodeInvalidTimestamp: not a date and time.
	CodeInvalidTimestamp Code = "invalid_timestamp"
	// CodeInvalidEmail: not an email address.
	CodeInvalidEmail Code = "invalid_email"
	// CodeInvalidPhone: not a possible phone number.
	CodeInvalidPhone Code = "invalid_phone"
	// CodeInvalidCountry: not a known country.
	CodeInvalidCountry Code = "invalid_country"
	// CodeInvalidSelect: not one of the field's options (also a link that
	// would create a target whose select key is none of its options).
	CodeInvalidSelect Code = "invalid_select"
	// CodeInvalidMultiSelect: an item is not one of the field's options.
	CodeInvalidMultiSelect Code = "invalid_multiselect"
	// CodeInvalidID: an id with forbidden characters.
	CodeInvalidID Code = "invalid_id"
)

// Codes of a row that the mapper cannot turn into a record: the row is
// rejected.
const (
	// CodeMissingRequired: a required field is empty.
	CodeMissingRequired Code = "missing_required"
	// CodeTransformFailed: one of the column's transforms could not
	// process the cell; the message is the transform's error.
	CodeTransformFailed Code = "transform_failed"
	// CodeInvalidConsent: a consent status column holds a value that is
	// not a consent status (opted in, opted out or unknown).
	CodeInvalidConsent Code = "invalid_consent"
	// CodeInvalidRow: mapping the row failed with an error that is not a
	// [RowError]; the message is the error's text. The mapper reports bad
	// cells as RowErrors, so this code marks a mapper bug, not bad input.
	CodeInvalidRow Code = "invalid_row"
)

// Codes of a row that a source cannot read as its header says: the row is
// rejected, the rows after it are read.
const (
	// CodeFieldCount: the row has more or fewer cells than the header.
	CodeFieldCount Code = "wrong_field_count"
	// CodeBadQuote: a malformed quoted cell.
	CodeBadQuote Code = "bad_quote"
	// CodeCellTooLong: a cell exceeds the source's limit on a cell's bytes.
	CodeCellTooLong Code = "cell_too_long"
	// CodeInvalidEncoding: bytes that are not valid in the file's encoding.
	CodeInvalidEncoding Code = "invalid_encoding"
	// CodeCellError: a spreadsheet cell holds an error value (#DIV/0!,
	// #N/A, #REF!, …): a formula failed when the workbook was last
	// calculated.
	CodeCellError Code = "cell_error"
)

// Codes of what matching a row's key decides: the row is rejected or
// skipped, as the job's action says.
const (
	// CodeMissingKey: every sync field is empty, so the row cannot be
	// matched (also an activity whose profile keys are all empty).
	CodeMissingKey Code = "missing_key"
	// CodeDuplicate: the same key appeared earlier in the file.
	CodeDuplicate Code = "duplicate"
	// CodeConflict: the row's identity rules find different records (its
	// contact_id one record, its email another); records are never merged
	// in silence.
	CodeConflict Code = "conflict"
	// CodeExists: skipped, the key matches an existing record (add_only,
	// create); also a create that a concurrent run made first.
	CodeExists Code = "exists"
	// CodeNoMatch: nothing matched (update_only, opt_out).
	CodeNoMatch Code = "no_match"
)

// Codes of a row whose link to another record finds no target: the row is
// rejected or skipped, as the link's policy says.
const (
	// CodeUnknownProfile: an activity's profile key finds no stored
	// profile.
	CodeUnknownProfile Code = "unknown_profile"
	// CodeUnknownLink: a foreign key finds no stored target record.
	CodeUnknownLink Code = "unknown_link"
)

// InvalidCode returns the code of a cell that fields of type t cannot
// parse: "invalid_" + the type's name ([CodeInvalidEmail] for [TypeEmail]).
func InvalidCode(t FieldType) Code { return Code("invalid_" + t.String()) }

// RowError is the error for one input row that cannot be imported. It names
// where the problem is (file, line, column, field), a stable machine [Code]
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
	Code Code `json:"code"`
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
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *RowError) Unwrap() error { return e.Err }
