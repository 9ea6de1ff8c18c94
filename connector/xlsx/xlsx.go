package xlsx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
)

const (
	ctxCheckEvery = 256 // rows between ctx.Err checks
	noLimit       = -1  // normalized "no limit" of the int64 limits
)

// rowIssue is a row-level problem found while reading a row; col is the
// 0-based cell index or -1 for the whole row.
type rowIssue struct {
	col  int
	code intake.Code
	msg  string
}

// Default limits of [Config]. A real export stays far below them; a
// corrupt or hostile workbook hits them before it exhausts memory or time.
const (
	// DefaultMaxFileBytes bounds the workbook file (compressed).
	DefaultMaxFileBytes = int64(256) << 20 // 256 MiB
	// DefaultMaxUnzipBytes bounds the uncompressed parts read
	// (workbook, styles, shared strings and the sheet), by their declared
	// size and by what actually comes out of the zip.
	DefaultMaxUnzipBytes = int64(1) << 30 // 1 GiB
	// DefaultMaxCompressionRatio bounds uncompressed/compressed size of a
	// part larger than 16 MiB: real sheets compress 5-50 times, a zip bomb
	// about 1000 times.
	DefaultMaxCompressionRatio = 200
	// DefaultMaxRows is Excel's own row limit.
	DefaultMaxRows = 1_048_576
	// DefaultMaxColumns is Excel's own column limit (XFD).
	DefaultMaxColumns = 16_384
	// DefaultMaxCellBytes: Excel holds at most 32,767 characters in a
	// cell, which is at most 98,301 bytes of UTF-8.
	DefaultMaxCellBytes = 128 << 10 // 128 KiB
	// DefaultMaxTotalCellBytes bounds the text of all cells read, a
	// shared string counted at each use.
	DefaultMaxTotalCellBytes = int64(1) << 30 // 1 GiB
	// DefaultMaxSharedStrings bounds the entries of the shared-string table.
	DefaultMaxSharedStrings = 16 << 20 // 16 Mi entries
	// DefaultMaxSharedStringBytes bounds the memory the shared-string
	// table takes (text and offsets), held while the sheet is read.
	DefaultMaxSharedStringBytes = 128 << 20 // 128 MiB
)

// Fatal errors of the XLSX source. They are returned wrapped with the
// workbook's name and what exceeded which limit; test for them with
// [errors.Is].
var (
	// ErrPasswordProtected: the workbook is encrypted and Config.Password
	// is empty or wrong. Set Config.Password, or save the workbook again
	// in Excel without a password.
	ErrPasswordProtected = errors.New("xlsx: workbook is password-protected")
	// ErrFormat: the input is not an XLSX workbook (a legacy .xls, not a
	// zip, a zip without a workbook) or a part of it is damaged. Open it
	// in Excel and save it again as .xlsx (Excel Workbook).
	ErrFormat = errors.New("xlsx: not a readable XLSX workbook")
	// ErrTooLarge: the workbook exceeds one of the limits of Config; the
	// wrapping error names the field. Split the workbook or raise that
	// limit.
	ErrTooLarge = errors.New("xlsx: workbook exceeds a limit")
	// ErrBomb: the workbook looks built to exhaust memory: a part that
	// inflates far more than real spreadsheets do, or an XML document type
	// declaration (Excel never writes one; it is how entity-expansion bombs
	// work). If the workbook is genuine, open it in Excel and save it
	// again.
	ErrBomb = errors.New("xlsx: workbook refused as a zip or XML bomb")
	// ErrSheetNotFound: Config.Sheet or SheetNumber names no worksheet;
	// the wrapping error lists the sheets. List them with ListSheets and
	// set Config.Sheet to one of them.
	ErrSheetNotFound = errors.New("xlsx: sheet not found")
	// ErrSheetEmpty: the chosen sheet has no cell with a value (or the
	// workbook has no visible worksheet). Choose another sheet with
	// Config.Sheet.
	ErrSheetEmpty = errors.New("xlsx: sheet is empty")
)

// Config configures a [Source]. The zero value reads the first
// visible worksheet, with its first non-empty row as the header.
type Config struct {
	// Name names the workbook in errors ([intake.RowError.File]) and
	// [Source.Name]. Default: "" for New, the path for Open.
	Name string
	// Sheet is the name of the worksheet to read (compared ignoring case).
	// Default: "" (see SheetNumber).
	Sheet string
	// SheetNumber is the 1-based position of the worksheet to read among
	// all sheets of the workbook, hidden ones included ([SheetInfo].Index+1),
	// used when Sheet is empty. Default: 0, the first visible worksheet.
	SheetNumber int
	// HeaderRow is the 1-based sheet row number of the header row; rows
	// above it (titles, notes) are skipped. Default: 0, the first row with a
	// non-empty cell.
	HeaderRow int
	// NoHeader says that there is no header row: every non-empty row from
	// HeaderRow on (the first row by default) is data, Header returns nil and
	// rows are not checked against a header's width. Default: false.
	NoHeader bool
	// Password opens an encrypted workbook (ECMA-376 agile or standard
	// encryption). Default: "" (an encrypted workbook is ErrPasswordProtected).
	Password string
	// KeepErrorCells reads a cell holding an Excel error (#N/A, #DIV/0!, ...)
	// as its text instead of rejecting its row with intake.CodeCellError.
	// Default: false.
	KeepErrorCells bool
	// MaxFileBytes bounds the workbook file. Default (0):
	// DefaultMaxFileBytes (256 MiB); negative: unlimited. An encrypted
	// workbook is decrypted in memory, so its size counts twice.
	MaxFileBytes int64
	// MaxUnzipBytes bounds the uncompressed bytes of the parts read. It is
	// checked against the sizes the zip declares before anything is
	// inflated, and again while inflating. Default (0):
	// DefaultMaxUnzipBytes (1 GiB); negative: unlimited.
	MaxUnzipBytes int64
	// MaxCompressionRatio bounds the ratio of uncompressed to compressed
	// size of a part over 16 MiB; more is ErrBomb. Default (0):
	// DefaultMaxCompressionRatio (200); negative: unchecked.
	MaxCompressionRatio int
	// MaxRows bounds the data rows read (rejected rows included); more is
	// a fatal ErrTooLarge. Default (0): DefaultMaxRows (1,048,576);
	// negative: unlimited.
	MaxRows int64
	// MaxColumns bounds the column of any cell with a value; a cell further
	// right is a fatal ErrTooLarge. Default: DefaultMaxColumns
	// (16,384).
	MaxColumns int
	// MaxCellBytes bounds one cell's text. A longer inline or numeric cell
	// rejects its row (cell_too_long); a longer shared string is a fatal
	// ErrTooLarge when the table is loaded, since it could be
	// referenced by every cell. Default: DefaultMaxCellBytes (128 KiB).
	MaxCellBytes int
	// MaxTotalCellBytes bounds the text of all cells read, each use of a
	// shared string counted in full; more is a fatal ErrTooLarge. It
	// stops a small table of long strings referenced by many cells from
	// becoming gigabytes of records downstream. Default (0):
	// DefaultMaxTotalCellBytes (1 GiB); negative: unlimited.
	MaxTotalCellBytes int64
	// MaxSharedStrings bounds the entries of the shared-string table.
	// Default: DefaultMaxSharedStrings (16 Mi).
	MaxSharedStrings int
	// MaxSharedStringBytes bounds the memory the shared-string table takes
	// while the sheet is read: its text, 4 bytes of offset per string and
	// its buffers (the text is held once, in chunks of 1 MiB or more). A
	// larger table is a fatal ErrTooLarge. Default:
	// DefaultMaxSharedStringBytes (128 MiB).
	MaxSharedStringBytes int64
}

// validate checks cfg and fills in defaults.
func (cfg *Config) validate() error {
	var errs []error
	if cfg.SheetNumber < 0 || cfg.HeaderRow < 0 {
		errs = append(errs, errors.New("xlsx: xlsx.Config.SheetNumber and HeaderRow are 1-based and must not be negative; use 0 for the default"))
	}
	if cfg.MaxColumns < 0 || cfg.MaxCellBytes < 0 || cfg.MaxSharedStrings < 0 || cfg.MaxSharedStringBytes < 0 {
		errs = append(errs, errors.New("xlsx: xlsx.Config.MaxColumns, MaxCellBytes, MaxSharedStrings and MaxSharedStringBytes must not be negative; use 0 for the default"))
	}
	if cfg.HeaderRow > DefaultMaxRows {
		errs = append(errs, fmt.Errorf("xlsx: xlsx.Config.HeaderRow %d is beyond Excel's last row (%d)", cfg.HeaderRow, DefaultMaxRows))
	}
	def64 := func(v *int64, d int64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = noLimit
		}
	}
	def64(&cfg.MaxFileBytes, DefaultMaxFileBytes)
	def64(&cfg.MaxUnzipBytes, DefaultMaxUnzipBytes)
	def64(&cfg.MaxRows, DefaultMaxRows)
	def64(&cfg.MaxTotalCellBytes, DefaultMaxTotalCellBytes)
	switch {
	case cfg.MaxCompressionRatio == 0:
		cfg.MaxCompressionRatio = DefaultMaxCompressionRatio
	case cfg.MaxCompressionRatio < 0:
		cfg.MaxCompressionRatio = noLimit
	}
	if cfg.MaxColumns == 0 {
		cfg.MaxColumns = DefaultMaxColumns
	}
	if cfg.MaxCellBytes == 0 {
		cfg.MaxCellBytes = DefaultMaxCellBytes
	}
	if cfg.MaxSharedStrings == 0 {
		cfg.MaxSharedStrings = DefaultMaxSharedStrings
	}
	if cfg.MaxSharedStringBytes == 0 {
		cfg.MaxSharedStringBytes = DefaultMaxSharedStringBytes
	}
	return errors.Join(errs...)
}

// SheetState is a sheet's visibility in Excel.
type SheetState uint8

// Sheet visibilities.
const (
	SheetVisible    SheetState = iota // shown as a tab
	SheetHidden                       // hidden; the user can unhide it in Excel
	SheetVeryHidden                   // hidden; only VBA can unhide it
)

// String returns "visible", "hidden" or "veryHidden" (Excel's own words).
func (s SheetState) String() string {
	switch s {
	case SheetVisible:
		return "visible"
	case SheetHidden:
		return "hidden"
	case SheetVeryHidden:
		return "veryHidden"
	}
	return "SheetState(" + strconv.Itoa(int(s)) + ")"
}

// SheetInfo describes one sheet of a workbook, for a user interface to
// offer a choice.
type SheetInfo struct {
	// Name is the sheet's tab name.
	Name string
	// Index is the sheet's 0-based position among all sheets of the
	// workbook (hidden ones and chart sheets included);
	// Config.SheetNumber is Index+1.
	Index int
	// State tells whether the sheet is visible, hidden or very hidden.
	State SheetState
	// Chart is true for a chart sheet, which has no cells and cannot be read.
	Chart bool
	// Dimension is the used range the sheet declares, such as "A1:K100001",
	// or "" when it declares none. Writers other than Excel may get it
	// wrong; it is a hint for display, not a limit.
	Dimension string
}

// Source is a [connector.Source] of the rows of one worksheet of a
// workbook; the package documentation says how it reads cells, rows and
// sheets, and what it refuses. It also implements [connector.Progresser]
// (bytes of the sheet's XML), [connector.Namer] and [connector.Describer].
// Like every connector.Source, a Source is used by one goroutine at a time,
// except Progress, which may be called from any goroutine.
type Source struct {
	cfg    Config
	closer io.Closer
	pkg    *xlsxPackage
	sheet  SheetInfo
	sheets []SheetInfo

	started bool
	closed  bool
	err     error // sticky: a fatal error or io.EOF

	header []string
	cols   []string // RowError.Column names by cell index
	width  int      // header width; 0 without a header
	rows   int64    // data rows returned

	sr       *sheetReader
	progress atomic.Int64
	pending  *pendingRow // a data row read ahead while looking for the header
}

type pendingRow struct {
	num   int
	cells []string
	issue *rowIssue
}

// Open opens the workbook at path and prepares to read one worksheet
// of it (Config.Sheet, SheetNumber, or the first visible one). It reads
// the workbook's structure, styles and shared strings now, so most fatal
// errors (password, limits, bombs, a missing sheet) come from here; the
// rows are read by Read. The source closes the file on Close.
func Open(path string, cfg Config) (*Source, error) {
	if cfg.Name == "" {
		cfg.Name = path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("xlsx: open XLSX file: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("xlsx: %s is a directory; name an .xlsx file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	x, err := New(f, st.Size(), cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	x.closer = f
	return x, nil
}

// New prepares to read one worksheet of the workbook in r, which holds
// size bytes. Like Open it reads the workbook's structure, styles and
// shared strings now; r must stay readable until Close, which does not
// close it.
func New(r io.ReaderAt, size int64, cfg Config) (*Source, error) {
	if r == nil {
		return nil, errors.New("xlsx: xlsx.New needs a non-nil io.ReaderAt")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	x := &Source{cfg: cfg}
	pkg, err := openXLSXPackage(r, size, &x.cfg)
	if err != nil {
		return nil, x.fatal(err, 0)
	}
	x.pkg = pkg
	x.sheets = pkg.sheets
	sh, err := pkg.choose(&x.cfg)
	if err != nil {
		return nil, x.fatal(err, 0)
	}
	x.sheet = sh
	if err := pkg.loadStyles(); err != nil {
		return nil, x.fatal(err, 0)
	}
	if err := pkg.loadSharedStrings(); err != nil {
		return nil, x.fatal(err, 0)
	}
	return x, nil
}

// Register makes reg read workbooks: [connector.Registry.OpenSource] opens
// a file of format XLSX (by SourceConfig.Format, or by its .xlsx or .xlsm
// name) as a [Source]. cfg applies to every workbook, except its
// Name, Sheet, SheetNumber, HeaderRow, NoHeader and Password, which each
// OpenSource call gives (the file's name and SourceConfig.Workbook). A File
// that cannot be read at random is copied first ([connector.RandomAccess]:
// SourceConfig.MaxSpoolBytes and TempDir). Register checks cfg now, and
// fails when reg already reads XLSX.
func Register(reg *connector.Registry, cfg Config) error {
	probe := cfg
	if err := probe.validate(); err != nil {
		return err
	}
	return reg.RegisterFormat(connector.FormatXLSX, func(_ context.Context, f connector.File, name string, sc connector.SourceConfig) (connector.Source, error) {
		c := cfg
		w := sc.Workbook
		c.Name, c.Sheet, c.SheetNumber, c.HeaderRow, c.NoHeader, c.Password = name, w.Sheet, w.SheetNumber, w.HeaderRow, w.NoHeader, w.Password
		ra, size, release, err := connector.RandomAccess(f, sc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		x, err := New(ra, size, c)
		if err != nil {
			release()
			return nil, err
		}
		x.closer = closerFunc(release)
		return x, nil
	})
}

// closerFunc is a func as an io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// ListSheets lists the sheets of the workbook at path, in workbook order,
// hidden and chart sheets included. Only cfg.Password and the limits of
// cfg are used.
func ListSheets(path string, cfg Config) ([]SheetInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("xlsx: open XLSX file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = path
	}
	return ListSheetsReader(f, st.Size(), cfg)
}

// ListSheetsReader is [ListSheets] for a workbook held in r (size bytes).
func ListSheetsReader(r io.ReaderAt, size int64, cfg Config) ([]SheetInfo, error) {
	if r == nil {
		return nil, errors.New("xlsx: xlsx.ListSheetsReader needs a non-nil io.ReaderAt")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pkg, err := openXLSXPackage(r, size, &cfg)
	if err != nil {
		if cfg.Name != "" {
			return nil, fmt.Errorf("%s: %w", cfg.Name, err)
		}
		return nil, err
	}
	out := make([]SheetInfo, len(pkg.sheets))
	copy(out, pkg.sheets)
	for i := range out {
		if !out[i].Chart {
			out[i].Dimension = pkg.dimension(out[i].Index)
		}
	}
	return out, nil
}

// Name returns the source's name: Config.Name, the path given to Open, or
// the name of the file opened through a registry. It implements
// [connector.Namer].
func (x *Source) Name() string { return x.cfg.Name }

// Describe returns the format "xlsx"; a workbook has no encoding or
// delimiter to report. It implements [connector.Describer].
func (x *Source) Describe() connector.Dialect { return connector.Dialect{Format: "xlsx"} }

// Sheet returns the worksheet being read.
func (x *Source) Sheet() SheetInfo { return x.sheet }

// Sheets returns every sheet of the workbook, as [ListSheets] does but
// without Dimension. The caller must not modify the slice.
func (x *Source) Sheets() []SheetInfo { return x.sheets }

// Progress returns the bytes of the sheet's XML read so far (uncompressed,
// including read-ahead of a buffer) and its total uncompressed size as the
// zip declares it. It implements [connector.Progresser] and is safe to call from any
// goroutine.
func (x *Source) Progress() (read, total int64) {
	return x.progress.Load(), x.pkg.sheetSize(x.sheet.Index)
}

// Header returns the header row's cells, trimmed of surrounding white space,
// or nil with Config.NoHeader. The first call reads the sheet up to its
// header row and returns its fatal errors (ErrSheetEmpty, connector.ErrMissingHeader,
// connector.ErrDuplicateHeader, limits). The caller must not modify the slice.
func (x *Source) Header(ctx context.Context) ([]string, error) {
	if err := x.begin(ctx); err != nil {
		if err == io.EOF {
			return x.header, nil
		}
		return nil, err
	}
	return x.header, nil
}

// Read returns the next non-empty data row, or io.EOF after the last one.
// Row.Line is the row's number in the sheet (1-based, as Excel shows it).
// A row with a cell right of the header's last column, an error cell or a
// cell longer than MaxCellBytes comes with an *[intake.RowError] (codes
// wrong_field_count, cell_error, cell_too_long) and the next Read goes on;
// any other error is fatal and returned again by later calls. Read checks
// ctx every 256 rows.
func (x *Source) Read(ctx context.Context) (intake.Row, error) {
	if err := x.begin(ctx); err != nil {
		return intake.Row{}, err
	}
	if x.rows%ctxCheckEvery == 0 {
		if err := ctx.Err(); err != nil {
			return intake.Row{}, err
		}
	}
	var p pendingRow
	if x.pending != nil {
		p, x.pending = *x.pending, nil
	} else {
		var err error
		p.num, p.cells, p.issue, err = x.sr.next()
		if err != nil {
			x.err = x.fatal(err, p.num)
			return intake.Row{}, x.err
		}
	}
	x.rows++
	if x.cfg.MaxRows != noLimit && x.rows > x.cfg.MaxRows {
		x.err = x.fatal(fmt.Errorf("%w: more than xlsx.Config.MaxRows (%d) data rows", ErrTooLarge, x.cfg.MaxRows), p.num)
		return intake.Row{}, x.err
	}
	row := intake.Row{Line: p.num, Cells: p.cells}
	if p.issue != nil {
		return row, x.rowError(p.num, p.issue)
	}
	return row, nil
}

// Close releases the source: the shared strings, the file opened by Open,
// and the temporary copy of a workbook opened through a registry (the
// reader given to New is not closed). Later calls to Header or Read return
// [connector.ErrClosed]. Close is safe to call twice.
func (x *Source) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	x.err = connector.ErrClosed
	var err error
	if x.sr != nil {
		err = x.sr.close()
		x.sr = nil
	}
	if x.pkg != nil {
		x.pkg.release()
	}
	if x.closer != nil {
		if cerr := x.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// begin opens the sheet and reads up to the header once; it returns the
// sticky error, io.EOF included.
func (x *Source) begin(ctx context.Context) error {
	if x.err != nil {
		return x.err
	}
	if x.started {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	x.started = true
	if err := x.start(); err != nil {
		x.err = err
		return err
	}
	return nil
}

func (x *Source) start() error {
	sr, err := x.pkg.openSheet(x.sheet.Index, &x.progress)
	if err != nil {
		return x.fatal(err, 0)
	}
	x.sr = sr
	first := x.cfg.HeaderRow
	if first == 0 {
		first = 1
	}
	// Skip the rows above the header (or above HeaderRow without a header).
	for {
		num, cells, issue, err := sr.next()
		if err == io.EOF {
			if x.cfg.HeaderRow > 0 && !x.cfg.NoHeader {
				return x.fatal(fmt.Errorf("%w: the sheet has no cells in row %d or below; set xlsx.Config.HeaderRow to the row that names the columns", connector.ErrMissingHeader, x.cfg.HeaderRow), 0)
			}
			return x.fatal(ErrSheetEmpty, 0)
		}
		if err != nil {
			return x.fatal(err, num)
		}
		if num < first {
			continue
		}
		if x.cfg.NoHeader {
			x.pending = &pendingRow{num: num, cells: cells, issue: issue}
			return nil
		}
		if x.cfg.HeaderRow > 0 && num != x.cfg.HeaderRow {
			return x.fatal(fmt.Errorf("%w: row %d is empty; set xlsx.Config.HeaderRow to the row that names the columns", connector.ErrMissingHeader, x.cfg.HeaderRow), x.cfg.HeaderRow)
		}
		if issue != nil && issue.code != intake.CodeCellError {
			return x.fatal(fmt.Errorf("xlsx: the header row cannot be read (set xlsx.Config.HeaderRow to the row that names the columns): %v", x.rowError(num, issue)), 0)
		}
		return x.setHeader(num, cells)
	}
}

func (x *Source) setHeader(num int, cells []string) error {
	for i, s := range cells {
		cells[i] = strings.TrimSpace(s)
	}
	last := len(cells)
	for last > 0 && cells[last-1] == "" {
		last--
	}
	cells = cells[:last]
	if err := connector.CheckHeader(cells); err != nil {
		return x.fatal(err, num)
	}
	x.header, x.cols, x.width = cells, cells, len(cells)
	x.sr.width = len(cells)
	return nil
}

// column returns the RowError.Column name of the 0-based cell i.
func (x *Source) column(i int) string {
	if i < 0 {
		return ""
	}
	if i < len(x.cols) && x.cols[i] != "" {
		return x.cols[i]
	}
	return "#" + strconv.Itoa(i+1)
}

func (x *Source) rowError(line int, is *rowIssue) *intake.RowError {
	return &intake.RowError{File: x.cfg.Name, Line: line, Column: x.column(is.col), Code: is.code, Message: is.msg}
}

// fatal wraps err with the source's name and sheet row; io.EOF stays io.EOF.
func (x *Source) fatal(err error, line int) error {
	if err == io.EOF {
		return err
	}
	var b strings.Builder
	if x.cfg.Name != "" {
		b.WriteString(x.cfg.Name)
	}
	if x.sheet.Name != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("sheet ")
		b.WriteString(strconv.Quote(x.sheet.Name))
	}
	if line > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("row ")
		b.WriteString(strconv.Itoa(line))
	}
	if b.Len() == 0 {
		return err
	}
	return fmt.Errorf("%s: %w", b.String(), err)
}

// isOLE reports whether b starts with the OLE2/CFB signature: an encrypted
// OOXML workbook or a legacy .xls.
func isOLE(b []byte) bool {
	return len(b) >= 8 && bytes.Equal(b[:8], []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
}
