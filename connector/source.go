package connector

import (
	"context"

	"github.com/intakehq/intake"
)

// Source reads rows one at a time, like encoding/csv's Reader or pgx's
// CopyFromSource.
//
// Read returns the next data row (never the header). It returns io.EOF after
// the last row. An error of type *[intake.RowError] concerns that row only: the
// row (its line and whatever cells could be read) comes with it, the caller
// rejects it and goes on reading. Any other error is fatal: the caller stops
// and calls Close.
//
// A Source is used by one goroutine at a time.
type Source interface {
	// Header returns the column names, or nil when the source has no header
	// row (columns are then referred to by 1-based index). It may read ahead;
	// it returns the same slice on every call and the caller must not modify it.
	Header(ctx context.Context) ([]string, error)
	// Read returns the next row; see the type's documentation.
	Read(ctx context.Context) (intake.Row, error)
	// Close releases the source's resources. It is safe to call twice.
	Close() error
}

// Progresser is an optional capability of a [Source]: how many bytes of the
// input have been consumed so far, and the total when known (-1 otherwise).
// Progress may be called from another goroutine than Read.
type Progresser interface {
	Progress() (read, total int64)
}

// UTF8Checker is an optional capability of a [Source]: ValidUTF8 reports
// whether every row that Read returns without an error holds valid UTF-8
// cells only (the source checks its input and reports a row that is not
// as a *[intake.RowError]), so that a mapper need not check the cells
// again (the importer then sets mapping.Options.ValidUTF8). Without it
// (the fallback), the mapper checks the cells of the types that need
// valid UTF-8.
type UTF8Checker interface {
	ValidUTF8() bool
}

// Namer is an optional capability of a [Source]: the name of what it reads
// (a file name), used in error messages.
type Namer interface {
	Name() string
}

// Describer is an optional capability of a [Source]: how it reads its
// input, for the run report to say what was detected. Describe is called
// after Header has returned; the caller must not expect more from a source
// that has not started. Without it (the fallback), a report leaves the
// format, encoding and delimiter empty.
type Describer interface {
	Describe() Dialect
}

// Dialect describes how a [Source] reads its input. Empty fields do not
// apply or are unknown.
type Dialect struct {
	// Format is the kind of input: "csv" (delimiter-separated text),
	// "paste", "xlsx", "sql", or a connector's own name.
	Format string
	// Encoding is the character encoding of a text input, as
	// [Encoding.String] names it ("utf-8", "windows-1252", …); empty for
	// a format that is not text.
	Encoding string
	// EncodingReason says why that encoding was chosen; it is empty when
	// the encoding was detected as the default, UTF-8, from a sample that
	// raised no doubt. "set explicitly" means that the configuration chose
	// it.
	EncodingReason string
	// Delimiter is the delimiter of delimiter-separated text, as
	// [Delimiter.String] names it ("comma", "semicolon", "tab", "pipe");
	// empty for other formats.
	Delimiter string
	// DelimiterReason says why that delimiter was chosen; it is empty when
	// the delimiter is the format's default found in the first row (a
	// comma for CSV, a tab for pasted text).
	DelimiterReason string
}
