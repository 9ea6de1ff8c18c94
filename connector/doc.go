// Package connector turns bytes into rows: the [Source] contract, the
// sources of delimiter-separated text ([CSV]) and pasted cells ([Paste]),
// the connector of local files ([Local]), the [Registry] of URL
// schemes and file formats, and [Registry.OpenSource], which puts a
// connector, a path and a [Format] together. It depends on the standard
// library, golang.org/x/text and the root package only.
//
// # Sources
//
// A [Source] is pulled one row at a time, like encoding/csv's Reader:
// Header once, then Read until io.EOF, then Close. Each [intake.Row] carries
// its raw cells and the 1-based line of the input on which it starts (the
// header is line 1). A Read error of type *[intake.RowError] concerns that
// row only: the row comes with it, the caller rejects it and reads on. Any
// other error is fatal; sources make fatal errors sticky. A source checks
// its header with [CheckHeader]. Each source type's documentation states
// its conversions, errors and limits.
//
// # Connectors and the registry
//
// A [Connector] fetches a file's bytes and metadata ([File], [FileInfo]);
// [NewFile] gives a connector outside this package the File this package's
// connectors return. Skipping an unchanged file: [OpenIfChanged],
// [FileInfo.Fingerprint]; keeping what a run read: [Archive]; the
// conformance kit for third-party connectors: package connectortest.
//
// A [Registry] is a value the host builds, with no global state: Register
// maps a URL scheme to a connector's [Factory], RegisterFormat a [Format]
// to the [FormatOpener] that reads it. [DefaultRegistry] holds file://;
// CSV needs no registration. Opening a file of a
// format nobody registered is an error wrapping [ErrFormatNotRegistered],
// before any byte is fetched.
//
// # Packages under connector
//
// What needs a heavy dependency is a package of its own, which a host
// imports and registers only when it wants it, so that a host that reads
// CSV compiles none of it (this package does not import net/http):
//
//   - connector/httpconn downloads over HTTP and HTTPS (net/http);
//     httpconn.Register adds the http:// and https:// schemes.
//   - connector/xlsx reads Excel workbooks (through excelize); xlsx.Register
//     adds FormatXLSX to a Registry.
//   - connector/sftp fetches files over SFTP (through x/crypto/ssh and
//     pkg/sftp); sftp.Register adds the sftp:// scheme.
//   - connector/sqlsource reads the rows of a database query (database/sql).
//
// # CSV
//
// [NewCSV] reads delimiter-separated text from an io.Reader and
// [OpenCSVFile] from a file it owns. The dialect is RFC 4180 with these
// choices:
//
//   - Delimiter: comma, semicolon, tab or pipe, set in [CSVConfig] or
//     detected from the first 64 KiB: each candidate is counted outside
//     quotes in every record of the sample; a candidate must occur in the
//     first record; the one whose first-record count is repeated by the most
//     records wins, then the one with more occurrences, then comma, semicolon,
//     tab, pipe in that order. With no candidate (a one-column file) it is
//     comma. Other delimiters (a colon, say) are not supported.
//   - Encoding: UTF-8, UTF-16 LE/BE, ISO-8859-1 or Windows-1252, set in
//     CSVConfig or detected: a byte order mark first (and stripped: Excel's
//     "Unicode text" is UTF-16LE with a BOM, tab-separated), then UTF-16
//     without BOM from its NUL bytes, then from the first 64 KiB: UTF-8
//     when they hold no byte that is not UTF-8, or at least as many
//     multi-byte UTF-8 characters as such bytes (a UTF-8 file with a few
//     damaged bytes), else Windows-1252 (a legacy export, whose high bytes
//     stand alone; a superset of ISO-8859-1's printable characters).
//   - Decoding never writes U+FFFD in place of what it cannot decode: a
//     row holding a byte that is not UTF-8 (anywhere in the file, not only
//     in the first 64 KiB), an unpaired UTF-16 surrogate or odd last byte,
//     or one of the five bytes that Windows-1252 leaves undefined (0x81,
//     0x8D, 0x8F, 0x90, 0x9D) is returned with a row error invalid_encoding
//     naming its column; the other rows are read intact. In ISO-8859-1
//     every byte is a character, so nothing is rejected. [CSV.Describe]
//     tells the encoding and delimiter in use and why they were chosen, for
//     a report or a user interface to show.
//   - Quotes: a cell that starts with a double quote is quoted; it may hold
//     delimiters, line breaks and doubled quotes (""). Blanks between the
//     closing quote and the next delimiter are ignored. Quoted cells are kept
//     verbatim: a CRLF inside quotes stays CRLF.
//   - Lines: LF, CRLF and a lone CR (old Mac files) each end a line. Empty
//     lines are skipped but counted. A row starts on the line of its first
//     cell; a quoted cell spanning lines makes the next row start further
//     down.
//   - Header: the first line, cells trimmed of surrounding white space. An
//     empty first line is [ErrMissingHeader]; two names equal after
//     trimming and ignoring case are [ErrDuplicateHeader] (empty names are
//     allowed and addressed by index). With CSVConfig.NoHeader there is no
//     header, Header returns nil and columns are named "#1", "#2", ... in
//     errors.
//   - Width: a row with more or fewer cells than the header (without a
//     header, than the first well-formed row) is returned with a row error
//     wrong_field_count.
//
// Malformed quotes are row errors with code bad_quote, and reading
// resynchronizes by this rule: after a bare quote in an unquoted cell (or an
// unquoted cell longer than MaxCellBytes, code cell_too_long), the rest of
// that line is skipped and reading resumes on the next line; after
// a malformed quoted cell — text after its closing quote, no closing quote
// before the end of the input, or (code cell_too_long) more than
// MaxCellBytes before its closing quote — the error names the line where the
// quote opened and reading resumes on the line after that one, so that the
// lines an unintended open quote swallowed are read again as rows. The
// row's cells before the faulty one come with the error. CSVConfig.LazyQuotes
// accepts bare quotes as data instead.
//
// Fatal errors are sentinel errors (test with [errors.Is]) wrapped with the
// source's name and line: [ErrEmptyFile] (no bytes, or only a BOM and white
// space), [ErrMissingHeader], [ErrDuplicateHeader], [ErrBadHeader],
// [ErrBinaryFile] (a NUL byte or more than one control character in 16 in the
// first 64 KiB), the limits below, and read errors of the underlying reader.
//
// # Capabilities
//
// Optional capabilities are found by type assertion, each with a fallback:
// [Progresser] reports the input bytes consumed and the total (-1 when
// unknown: show a spinner instead of a bar); [Namer] names the input for
// error messages (without it, errors carry no file name). [CSV] implements
// both; its Progress counts raw bytes before decoding and may be called from
// another goroutine than Read. [Describer] tells the format, encoding and
// delimiter that a source reads, each with the reason it was chosen, for
// the run report (without it, the report leaves them empty); every source
// of this package implements it.
//
// # Limits
//
// [CSVConfig] bounds everything that could grow with the input, with
// generous defaults: MaxCellBytes (1 MiB; a longer cell is a row error
// cell_too_long), MaxRowBytes (16 MiB), MaxColumns (4096), MaxRows (100
// million; negative for no limit) and MaxFileBytes (10 GiB; negative for no
// limit). Exceeding the last four is fatal ([ErrRowTooLong],
// [ErrTooManyColumns], [ErrTooManyRows], [ErrFileTooLarge]) with a message
// naming the CSVConfig field to raise. Memory is bounded by about twice
// MaxRowBytes plus 160 KiB per source, whatever the input (plus the rows the
// caller keeps). Reading stops at the limit it hits: a fatal header error
// comes after at most the header's bad cell and a read buffer, and a line
// that never ends (a decompression bomb) is read no further than
// MaxRowBytes and a buffer, even where a row error would skip to its end.
package connector
