package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/intakehq/intake"
)

// Default limits of [CSVConfig]. They are generous: a real export stays far
// below them, a corrupt or hostile file hits them before it exhausts memory.
const (
	DefaultMaxCellBytes = 1 << 20         // 1 MiB per cell
	DefaultMaxRowBytes  = 16 << 20        // 16 MiB per row
	DefaultMaxColumns   = 4096            // cells per row
	DefaultMaxRows      = 100_000_000     // data rows per file
	DefaultMaxFileBytes = int64(10) << 30 // 10 GiB of raw input
)

const (
	sampleSize         = 64 << 10       // bytes sniffed for the encoding and delimiter
	minBufSize         = 64 << 10       // initial read buffer
	ctxCheckEvery      = 256            // rows between ctx.Err checks
	maxEmptyReads      = 100            // (0, nil) reads before io.ErrNoProgress
	noLimit            = -1             // normalized "no limit" of MaxRows and MaxFileBytes
	quoteChar          = '"'            // the only supported quote character
	utf8BOM            = "\xef\xbb\xbf" // UTF-8 byte order mark
	utf16LEBOM         = "\xff\xfe"     // UTF-16 little-endian byte order mark
	utf16BEBOM         = "\xfe\xff"     // UTF-16 big-endian byte order mark
	binaryControlRatio = 16             // more than 1 control byte in 16 means binary
	binaryControlMin   = 4              // ... and at least that many control bytes
)

// Fatal errors of the CSV source. They are returned wrapped with the source's
// name (and line, where one applies); test for them with [errors.Is].
var (
	// ErrEmptyFile: the input has no bytes, or only a byte order mark and
	// white space. Export the file again with a header row and at least
	// one data row.
	ErrEmptyFile = errors.New("connector: file is empty")
	// ErrMissingHeader: the first line is empty (or has only empty cells)
	// although a header row is expected. Remove the blank lines at the
	// top, or set CSVConfig.NoHeader if the file has no header.
	ErrMissingHeader = errors.New("connector: no header row")
	// ErrDuplicateHeader: two header cells have the same name, ignoring
	// case and surrounding spaces; the wrapping error names the columns.
	// Rename them so that each name is used once.
	ErrDuplicateHeader = errors.New("connector: duplicate column name")
	// ErrBadHeader: the header row is malformed (bad quotes, a cell too
	// long, invalid UTF-8); the wrapping error says where. Fix the first
	// line of the file, or set CSVConfig.NoHeader.
	ErrBadHeader = errors.New("connector: bad header row")
	// ErrBinaryFile: the start of the input holds NUL bytes or many
	// control characters. Export the data as comma-, semicolon-, tab- or
	// pipe-separated text.
	ErrBinaryFile = errors.New("connector: binary file, not CSV")
	// ErrFileTooLarge: the input is larger than CSVConfig.MaxFileBytes.
	// Split the file or raise the limit.
	ErrFileTooLarge = errors.New("connector: file too large")
	// ErrTooManyRows: the input has more data rows than CSVConfig.MaxRows
	// (or a source's own row limit). Split the file or raise the limit.
	ErrTooManyRows = errors.New("connector: too many rows")
	// ErrTooManyColumns: a row has more cells than CSVConfig.MaxColumns
	// (PasteConfig.MaxColumns). Check the delimiter, or raise the limit.
	ErrTooManyColumns = errors.New("connector: too many columns")
	// ErrRowTooLong: a row is longer than CSVConfig.MaxRowBytes. A closing
	// quote may be missing; otherwise raise the limit.
	ErrRowTooLong = errors.New("connector: row too long")
	// ErrClosed: Header or Read was called after Close.
	ErrClosed = errors.New("connector: source is closed")
)

// Delimiter is the character that separates the cells of a CSV row.
type Delimiter uint8

// Supported delimiters. The zero value, DelimiterAuto, detects the delimiter.
const (
	DelimiterAuto      Delimiter = iota // detect from the first 64 KiB
	DelimiterComma                      // ,
	DelimiterSemicolon                  // ;
	DelimiterTab                        // TAB (tab-separated values, Excel "Unicode text")
	DelimiterPipe                       // |
)

var delimiterNames = [...]string{"auto", "comma", "semicolon", "tab", "pipe"}
var delimiterBytes = [...]byte{0, ',', ';', '\t', '|'}

// String returns the delimiter's name: "auto", "comma", "semicolon", "tab" or "pipe".
func (d Delimiter) String() string {
	if int(d) < len(delimiterNames) {
		return delimiterNames[d]
	}
	return "Delimiter(" + strconv.Itoa(int(d)) + ")"
}

// Byte returns the delimiter's character, or 0 for DelimiterAuto.
func (d Delimiter) Byte() byte {
	if int(d) < len(delimiterBytes) {
		return delimiterBytes[d]
	}
	return 0
}

// ParseDelimiter parses a delimiter's name ("auto", "comma", "semicolon",
// "tab", "pipe", case-insensitive) or the character itself (",", ";", "\t",
// "|"). The empty string means auto.
func ParseDelimiter(s string) (Delimiter, error) {
	if s == "\t" || s == `\t` {
		return DelimiterTab, nil
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return DelimiterAuto, nil
	}
	for i, n := range delimiterNames {
		if s == n || (len(s) == 1 && i > 0 && s[0] == delimiterBytes[i]) {
			return Delimiter(i), nil
		}
	}
	return DelimiterAuto, fmt.Errorf("connector: unknown delimiter %q; use auto, comma, semicolon, tab or pipe", s)
}

// Encoding is the character encoding of a CSV file.
type Encoding uint8

// Supported encodings. The zero value, EncodingAuto, detects the encoding.
const (
	// EncodingAuto detects the encoding: a byte order mark first (UTF-8,
	// UTF-16 LE or BE), then UTF-16 without BOM from its NUL bytes, then
	// UTF-8 if the first 64 KiB hold no byte that is not UTF-8, or at
	// least as many multi-byte UTF-8 characters as such bytes, else
	// Windows-1252.
	EncodingAuto        Encoding = iota
	EncodingUTF8                 // UTF-8; a BOM is stripped; invalid bytes reject their row (invalid_encoding)
	EncodingUTF16LE              // UTF-16 little-endian; a big-endian BOM switches to EncodingUTF16BE; an unpaired surrogate rejects its row
	EncodingUTF16BE              // UTF-16 big-endian; a little-endian BOM switches to EncodingUTF16LE; an unpaired surrogate rejects its row
	EncodingISO88591             // ISO-8859-1 (Latin-1): every byte is a character; 0x80-0x9F are C1 controls
	EncodingWindows1252          // Windows-1252: ISO-8859-1 plus € ‘ ’ “ ” … in 0x80-0x9F; its 5 undefined bytes reject their row
)

var encodingNames = [...]string{"auto", "utf-8", "utf-16le", "utf-16be", "iso-8859-1", "windows-1252"}

// String returns the encoding's name: "auto", "utf-8", "utf-16le",
// "utf-16be", "iso-8859-1" or "windows-1252".
func (e Encoding) String() string {
	if int(e) < len(encodingNames) {
		return encodingNames[e]
	}
	return "Encoding(" + strconv.Itoa(int(e)) + ")"
}

// ParseEncoding parses an encoding's name, case-insensitive: "auto" (or
// ""), "utf-8", "utf-16" (little-endian unless a BOM says otherwise),
// "utf-16le", "utf-16be", "iso-8859-1" ("latin1") or "windows-1252"
// ("cp1252"). Dashes and underscores are optional.
func ParseEncoding(s string) (Encoding, error) {
	k := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch k {
	case "", "auto":
		return EncodingAuto, nil
	case "utf8":
		return EncodingUTF8, nil
	case "utf16", "utf16le", "unicode":
		return EncodingUTF16LE, nil
	case "utf16be":
		return EncodingUTF16BE, nil
	case "iso88591", "latin1", "l1":
		return EncodingISO88591, nil
	case "windows1252", "cp1252", "win1252":
		return EncodingWindows1252, nil
	}
	return EncodingAuto, fmt.Errorf("connector: unknown encoding %q; use auto, utf-8, utf-16, utf-16le, utf-16be, iso-8859-1 or windows-1252", s)
}

// CSVConfig configures a [CSV] source. The zero value reads a UTF-8 (or
// auto-detected) file with a header row and an auto-detected delimiter.
type CSVConfig struct {
	// Name names the input in errors ([intake.RowError.File]) and [CSV.Name].
	// Default: "" for NewCSV, the path for OpenCSVFile.
	Name string
	// Delimiter separates cells. Default: DelimiterAuto, detected from the
	// first 64 KiB (see the package documentation).
	Delimiter Delimiter
	// Encoding is the input's character encoding. Default: EncodingAuto.
	Encoding Encoding
	// NoHeader says that the first row is data. Header then returns nil,
	// every row is data, and rows must have as many cells as the first row.
	// Default: false (the first row names the columns).
	NoHeader bool
	// LazyQuotes keeps a quote in an unquoted cell (5'11") and a single
	// quote inside a quoted cell as data instead of reporting bad_quote.
	// Default: false (strict RFC 4180 quoting).
	LazyQuotes bool
	// Size is the input's total size in bytes when known (e.g. from a
	// Content-Length), reported by Progress. Default: 0, unknown.
	// OpenCSVFile sets it from the file.
	Size int64
	// MaxCellBytes bounds one cell (after decoding). A longer cell, or a
	// quoted cell still open after that many bytes, is a row error
	// (cell_too_long). Default: DefaultMaxCellBytes (1 MiB).
	MaxCellBytes int
	// MaxRowBytes bounds one row; a longer row is a fatal ErrRowTooLong.
	// Must be at least MaxCellBytes. Default: DefaultMaxRowBytes (16 MiB).
	MaxRowBytes int
	// MaxColumns bounds the cells of a row (header included); more is a fatal
	// ErrTooManyColumns. Default: DefaultMaxColumns (4096).
	MaxColumns int
	// MaxRows bounds the data rows (rejected rows included); more is a
	// fatal ErrTooManyRows.
	// Default (0): DefaultMaxRows (100 million); negative: unlimited.
	MaxRows int64
	// MaxFileBytes bounds the raw input; more is a fatal ErrFileTooLarge.
	// Default (0): DefaultMaxFileBytes (10 GiB); negative: unlimited.
	MaxFileBytes int64
	// Logger receives a debug record of the detected delimiter and encoding.
	// Default: nil, quiet.
	Logger *slog.Logger
}

// validate checks cfg and fills in defaults.
func (cfg *CSVConfig) validate() error {
	var errs []error
	if cfg.Delimiter > DelimiterPipe {
		errs = append(errs, fmt.Errorf("connector: CSVConfig.Delimiter %d is not a known Delimiter; use one of the Delimiter constants", cfg.Delimiter))
	}
	if cfg.Encoding > EncodingWindows1252 {
		errs = append(errs, fmt.Errorf("connector: CSVConfig.Encoding %d is not a known Encoding; use one of the Encoding constants", cfg.Encoding))
	}
	if cfg.MaxCellBytes < 0 || cfg.MaxRowBytes < 0 || cfg.MaxColumns < 0 || cfg.Size < 0 {
		errs = append(errs, errors.New("connector: CSVConfig.MaxCellBytes, MaxRowBytes, MaxColumns and Size must not be negative; use 0 for the default"))
	}
	if cfg.MaxCellBytes == 0 {
		cfg.MaxCellBytes = DefaultMaxCellBytes
	}
	if cfg.MaxRowBytes == 0 {
		cfg.MaxRowBytes = max(DefaultMaxRowBytes, cfg.MaxCellBytes)
	}
	if cfg.MaxCellBytes > cfg.MaxRowBytes {
		errs = append(errs, fmt.Errorf("connector: CSVConfig.MaxCellBytes (%d) is larger than MaxRowBytes (%d); raise MaxRowBytes", cfg.MaxCellBytes, cfg.MaxRowBytes))
	}
	if cfg.MaxColumns == 0 {
		cfg.MaxColumns = DefaultMaxColumns
	}
	switch {
	case cfg.MaxRows == 0:
		cfg.MaxRows = DefaultMaxRows
	case cfg.MaxRows < 0:
		cfg.MaxRows = noLimit
	}
	switch {
	case cfg.MaxFileBytes == 0:
		cfg.MaxFileBytes = DefaultMaxFileBytes
	case cfg.MaxFileBytes < 0:
		cfg.MaxFileBytes = noLimit
	}
	return errors.Join(errs...)
}

// CSV is a [Source] of delimiter-separated text: CSV, TSV, semicolon- and
// pipe-separated files. It also implements [Progresser] and [Namer].
// See the package documentation for the dialect, detection, line numbers,
// error handling and limits.
//
// Like every Source, a CSV is used by one goroutine at a time, except
// Progress, which may be called from any goroutine.
type CSV struct {
	cfg    CSVConfig
	src    io.Reader
	closer io.Closer
	total  int64
	read   atomic.Int64

	started bool
	closed  bool
	err     error // sticky: a fatal error or io.EOF
	delim   Delimiter
	enc     Encoding
	encWhy  string // Dialect.EncodingReason
	delWhy  string // Dialect.DelimiterReason
	header  []string
	cols    []string // names used in RowError.Column, by cell index
	width   int      // cells a row must have; -1 until known

	p parser
}

// NewCSV returns a source reading CSV rows from r. It validates cfg and
// reads nothing yet: the encoding, the delimiter and the header are read on
// the first call to Header or Read. NewCSV does not close r; see
// [OpenCSVFile] for a source that owns its file.
func NewCSV(r io.Reader, cfg CSVConfig) (*CSV, error) {
	if r == nil {
		return nil, errors.New("connector: NewCSV needs a non-nil io.Reader")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &CSV{cfg: cfg, src: r, total: -1, width: -1, delim: cfg.Delimiter, enc: cfg.Encoding}
	if cfg.Size > 0 {
		c.total = cfg.Size
	}
	return c, nil
}

// OpenCSVFile opens the file at path as a CSV source. The source knows the
// file's size (for Progress), names the file in its errors (unless cfg.Name
// is set) and closes the file on Close. A file larger than cfg.MaxFileBytes
// is refused here.
func OpenCSVFile(path string, cfg CSVConfig) (*CSV, error) {
	if cfg.Name == "" {
		cfg.Name = path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("connector: open CSV file: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("connector: %s is a directory; name a CSV file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if cfg.Size == 0 {
		cfg.Size = st.Size()
	}
	c, err := NewCSV(f, cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	if c.cfg.MaxFileBytes != noLimit && st.Size() > c.cfg.MaxFileBytes {
		f.Close()
		return nil, fmt.Errorf("%s: %w (%d bytes, CSVConfig.MaxFileBytes is %d)", path, ErrFileTooLarge, st.Size(), c.cfg.MaxFileBytes)
	}
	c.closer = f
	c.total = st.Size()
	return c, nil
}

// Name returns the source's name: CSVConfig.Name, or the path given to
// OpenCSVFile. It implements [Namer].
func (c *CSV) Name() string { return c.cfg.Name }

// Progress returns the raw input bytes consumed so far (before decoding,
// including read-ahead of at most a buffer) and the total size, or -1 when
// unknown. It implements [Progresser] and is safe to call from any goroutine.
func (c *CSV) Progress() (read, total int64) { return c.read.Load(), c.total }

// Delimiter returns the delimiter in use: the configured one, or after the
// first call to Header or Read the detected one.
func (c *CSV) Delimiter() Delimiter { return c.delim }

// Encoding returns the encoding in use: the configured one, or after the
// first call to Header or Read the detected one (a byte order mark wins over
// the configured UTF-16 byte order).
func (c *CSV) Encoding() Encoding { return c.enc }

// ValidUTF8 reports true: Read decodes its input to UTF-8 and reports a
// row that is not valid UTF-8 as a *[intake.RowError] (invalid_encoding).
// It implements [UTF8Checker].
func (c *CSV) ValidUTF8() bool { return true }

// Describe returns the format "csv", the encoding and the delimiter in use,
// each with the reason it was chosen (see [Dialect]). Before the first call
// to Header or Read only what the configuration sets is known. It
// implements [Describer].
func (c *CSV) Describe() Dialect {
	d := Dialect{Format: "csv", EncodingReason: c.encWhy, DelimiterReason: c.delWhy}
	if c.enc != EncodingAuto {
		d.Encoding = c.enc.String()
	}
	if c.delim != DelimiterAuto {
		d.Delimiter = c.delim.String()
	}
	return d
}

// Header returns the header row's cells, trimmed of surrounding white space,
// or nil with CSVConfig.NoHeader. The first call reads the start of the input
// and returns its fatal errors (ErrEmptyFile, ErrMissingHeader,
// ErrDuplicateHeader, ErrBinaryFile, ...). The caller must not modify the slice.
func (c *CSV) Header(ctx context.Context) ([]string, error) {
	if err := c.begin(ctx); err != nil {
		if err == io.EOF {
			return c.header, nil
		}
		return nil, err
	}
	return c.header, nil
}

// Read returns the next data row, or io.EOF after the last one. A malformed
// row comes with an *[intake.RowError] (codes wrong_field_count, bad_quote,
// cell_too_long, invalid_encoding) and the next Read goes on with the
// following row; any other error is fatal and returned again by later calls.
// Read checks ctx every 256 rows.
func (c *CSV) Read(ctx context.Context) (intake.Row, error) {
	if err := c.begin(ctx); err != nil {
		return intake.Row{}, err
	}
	if c.p.rows%ctxCheckEvery == 0 {
		if err := ctx.Err(); err != nil {
			return intake.Row{}, err
		}
	}
	line, issue, err := c.p.readRecord()
	if err != nil {
		if line == 0 {
			line = c.p.line
		}
		c.err = c.fatal(err, line)
		return intake.Row{}, c.err
	}
	c.p.rows++
	if c.cfg.MaxRows != noLimit && c.p.rows > c.cfg.MaxRows {
		c.err = c.fatal(fmt.Errorf("%w (CSVConfig.MaxRows is %d)", ErrTooManyRows, c.cfg.MaxRows), line)
		return intake.Row{}, c.err
	}
	row := intake.Row{Line: line, Cells: c.p.cells()}
	if issue == nil {
		switch {
		case c.width < 0:
			c.width = len(row.Cells)
		case len(row.Cells) != c.width:
			issue = &rowIssue{col: -1, code: intake.CodeFieldCount, msg: c.fieldCountMessage(len(row.Cells))}
		}
	}
	if issue == nil && !c.p.validUTF8() {
		issue = c.invalidUTF8Issue(row.Cells)
	}
	if issue != nil {
		return row, c.rowError(line, issue)
	}
	return row, nil
}

// Close releases the source: it closes the file opened by OpenCSVFile (the
// reader given to NewCSV is not closed). Later calls to Header or Read return
// ErrClosed. Close is safe to call twice.
func (c *CSV) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.err = ErrClosed
	c.p.buf, c.p.rec = nil, nil
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}

// begin runs the start-up (sniffing, header) once; it returns the sticky
// error, io.EOF included.
func (c *CSV) begin(ctx context.Context) error {
	if c.err != nil {
		return c.err
	}
	if c.started {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.started = true
	if err := c.start(); err != nil {
		c.err = err
		return err
	}
	return nil
}

func (c *CSV) fieldCountMessage(n int) string {
	what := "the header has"
	if c.cfg.NoHeader {
		what = "the first row has"
	}
	return fmt.Sprintf("the row has %d cells, %s %d", n, what, c.width)
}

// column returns the RowError.Column name of the 0-based cell i.
func (c *CSV) column(i int) string {
	if i < 0 {
		return ""
	}
	if i < len(c.cols) && c.cols[i] != "" {
		return c.cols[i]
	}
	return "#" + strconv.Itoa(i+1)
}

func (c *CSV) rowError(line int, is *rowIssue) *intake.RowError {
	return &intake.RowError{File: c.cfg.Name, Line: line, Column: c.column(is.col), Code: is.code, Message: is.msg}
}

// fatal wraps err with the source's name and line; io.EOF stays io.EOF.
func (c *CSV) fatal(err error, line int) error {
	if err == io.EOF {
		return err
	}
	var b strings.Builder
	if c.cfg.Name != "" {
		b.WriteString(c.cfg.Name)
		if line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(line))
		}
	} else if line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(line))
	}
	if b.Len() == 0 {
		return err
	}
	return fmt.Errorf("%s: %w", b.String(), err)
}

// invalidUTF8Issue names the first cell that the decoder could not turn
// into UTF-8 and says why, by encoding.
func (c *CSV) invalidUTF8Issue(cells []string) *rowIssue {
	col, at := -1, -1
	for i, s := range cells {
		if at = invalidAt(s); at >= 0 {
			col = i
			break
		}
	}
	var msg string
	switch c.enc {
	case EncodingUTF16LE, EncodingUTF16BE:
		msg = "the cell holds an unpaired UTF-16 surrogate or an odd last byte: not valid " + c.enc.String()
	case EncodingWindows1252:
		msg = "the cell holds a byte that is not a character in Windows-1252; the file may be in another encoding (set the encoding) or be damaged"
		if col >= 0 {
			msg = fmt.Sprintf("the cell holds the byte 0x%02X, which is not a character in Windows-1252; the file may be in another encoding (set the encoding) or be damaged", cells[col][at])
		}
	default:
		msg = "the row is not valid UTF-8"
		if col >= 0 {
			msg = fmt.Sprintf("the cell holds the byte 0x%02X (its byte %d), which is not valid UTF-8", cells[col][at], at+1)
		}
		msg += "; the file may be in another encoding (set the encoding, e.g. to windows-1252) or be damaged"
	}
	return &rowIssue{col: col, code: intake.CodeInvalidEncoding, msg: msg}
}

// invalidAt returns the offset of the first byte of s that is not valid
// UTF-8, or -1.
func invalidAt(s string) int {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// start sniffs the input, sets up decoding and reads the header.
func (c *CSV) start() error {
	sample, err := readSample(c.src, sampleSize)
	if err != nil {
		return c.fatal(fmt.Errorf("connector: read CSV: %w", err), 0)
	}
	complete := len(sample) < sampleSize
	if len(sample) == 0 {
		return c.fatal(ErrEmptyFile, 0)
	}
	if c.cfg.MaxFileBytes != noLimit && int64(len(sample)) > c.cfg.MaxFileBytes {
		return c.fatal(fmt.Errorf("%w (CSVConfig.MaxFileBytes is %d)", ErrFileTooLarge, c.cfg.MaxFileBytes), 0)
	}
	ec := detectEncoding(sample, c.cfg.Encoding, complete)
	enc, bom := ec.enc, ec.bom
	c.enc, c.encWhy = enc, ec.reason
	text := decodeSample(sample[bom:], enc)
	if len(bytes.TrimSpace(text)) == 0 && complete {
		return c.fatal(ErrEmptyFile, 0)
	}
	if looksBinary(text) {
		return c.fatal(ErrBinaryFile, 0)
	}
	if c.delim == DelimiterAuto {
		c.delim, c.delWhy = detectDelimiter(text, complete)
	} else {
		c.delWhy = "set explicitly"
	}
	if c.cfg.Logger != nil {
		c.cfg.Logger.Debug("intake: CSV dialect", "name", c.cfg.Name, "delimiter", c.delim.String(), "delimiter_reason", c.delWhy,
			"encoding", c.enc.String(), "encoding_reason", c.encWhy)
	}
	c.read.Store(int64(bom))
	var in io.Reader = &countingReader{r: io.MultiReader(bytes.NewReader(sample[bom:]), c.src), n: &c.read, max: c.cfg.MaxFileBytes}
	in = decoder(in, enc)
	c.p.init(in, c.delim.Byte(), &c.cfg)
	if c.cfg.NoHeader {
		return nil
	}
	if len(text) > 0 && (text[0] == '\n' || text[0] == '\r') {
		return c.fatal(fmt.Errorf("%w: the first line is empty; remove the blank lines at the top, or set CSVConfig.NoHeader if the file has no header", ErrMissingHeader), 1)
	}
	return c.readHeader()
}

func (c *CSV) readHeader() error {
	// A problem in the header is fatal: the parser stops at it instead of
	// reading on to the end of the line, which may never come.
	c.p.stop = true
	line, issue, err := c.p.readRecord()
	c.p.stop = false
	if err == io.EOF {
		return c.fatal(ErrEmptyFile, 0)
	}
	if err != nil {
		return c.fatal(err, c.p.line)
	}
	if issue != nil {
		// %v, not %w: a fatal error must never pass for a *intake.RowError,
		// which the Source contract reserves for errors of one row.
		return c.fatal(fmt.Errorf("%w: %v", ErrBadHeader, c.rowError(line, issue)), 0)
	}
	if !c.p.validUTF8() {
		return c.fatal(fmt.Errorf("%w: %v", ErrBadHeader, c.rowError(line, c.invalidUTF8Issue(c.p.cells()))), 0)
	}
	cells := c.p.cells()
	blank := true
	for i, s := range cells {
		cells[i] = strings.TrimSpace(s)
		if cells[i] != "" {
			blank = false
		}
	}
	if blank {
		return c.fatal(fmt.Errorf("%w: the first line has only empty cells; set CSVConfig.NoHeader if the file has no header", ErrMissingHeader), line)
	}
	if err := CheckHeader(cells); err != nil {
		return c.fatal(err, line)
	}
	c.header, c.cols, c.width = cells, cells, len(cells)
	return nil
}

// CheckHeader returns an error wrapping [ErrDuplicateHeader] that names
// every column whose name is used more than once, ignoring case; empty
// names are not compared (they are addressed by index). The sources of this
// package and of the packages under it check their header with it, after
// trimming the names; a third-party source can do the same.
func CheckHeader(names []string) error {
	first := make(map[string]int, len(names))
	var dups map[string][]int
	var order []string
	for i, n := range names {
		if n == "" {
			continue
		}
		k := strings.ToLower(n)
		j, ok := first[k]
		if !ok {
			first[k] = i
			continue
		}
		if dups == nil {
			dups = map[string][]int{}
		}
		if _, seen := dups[k]; !seen {
			dups[k] = []int{j + 1}
			order = append(order, k)
		}
		dups[k] = append(dups[k], i+1)
	}
	if len(order) == 0 {
		return nil
	}
	parts := make([]string, len(order))
	for i, k := range order {
		cols := dups[k]
		var b strings.Builder
		for j, col := range cols {
			if j > 0 {
				if j == len(cols)-1 {
					b.WriteString(" and ")
				} else {
					b.WriteString(", ")
				}
			}
			b.WriteString(strconv.Itoa(col))
			b.WriteString(" (")
			b.WriteString(strconv.Quote(names[col-1]))
			b.WriteByte(')')
		}
		parts[i] = "columns " + b.String()
	}
	return fmt.Errorf("%w: %s: rename them so that each name is used once", ErrDuplicateHeader, strings.Join(parts, "; "))
}

// countingReader counts the raw bytes read (for Progress) and enforces
// MaxFileBytes.
type countingReader struct {
	r   io.Reader
	n   *atomic.Int64
	max int64
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if n < 0 || n > len(p) {
		return 0, errors.New("connector: the reader returned an invalid byte count")
	}
	t := cr.n.Add(int64(n))
	if cr.max != noLimit && t > cr.max {
		over := t - cr.max
		if over > int64(n) {
			over = int64(n)
		}
		return n - int(over), fmt.Errorf("%w (CSVConfig.MaxFileBytes is %d)", ErrFileTooLarge, cr.max)
	}
	return n, err
}
