package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/intakehq/intake"
)

// DefaultPasteMaxRows is the default row limit of pasted text (as in
// Mobio's paste box).
const DefaultPasteMaxRows = 1000

var (
	// ErrEmptyPaste: the pasted text has no cells. Select the cells in the
	// spreadsheet, copy them and paste them again.
	ErrEmptyPaste = errors.New("connector: nothing pasted")
	// ErrTooManyPastedRows: more rows were pasted than PasteConfig.MaxRows.
	// Paste fewer rows at a time, import a file instead, or raise the
	// limit.
	ErrTooManyPastedRows = errors.New("connector: too many pasted rows")
)

// PasteConfig configures a [Paste] source. The zero value reads up to 1,000
// tab-separated rows without a header.
type PasteConfig struct {
	// Name names the pasted text in errors. Default: "" (errors say "line N").
	Name string
	// HasHeader says that the first pasted row names the columns.
	// Default: false: people paste data rows, and the mapping refers to
	// columns by 1-based index.
	HasHeader bool
	// Delimiter separates cells. Default (the zero value, DelimiterAuto):
	// DelimiterTab, what Excel, Google Sheets, LibreOffice and Numbers put
	// on the clipboard; set another one for text copied from a CSV file.
	Delimiter Delimiter
	// MaxRows bounds the data rows; more is a fatal ErrTooManyPastedRows.
	// Default (0): DefaultPasteMaxRows (1,000); negative: unlimited.
	MaxRows int
	// MaxCellBytes bounds one cell; a longer one rejects its row
	// (cell_too_long). Default: DefaultMaxCellBytes (1 MiB).
	MaxCellBytes int
	// MaxColumns bounds the cells of a row. Default: DefaultMaxColumns (4096).
	MaxColumns int
}

// Paste is a [Source] of text pasted from a spreadsheet: rows separated by
// line breaks (LF or CRLF), cells by tabs, a cell holding a tab, a line
// break or a leading quote quoted as Excel quotes it ("a""b" for a"b). A
// trailing line break and blank lines are ignored; a quote inside an
// unquoted cell is data (5'11" stays 5'11"). Rows are checked against the
// first row's width (code wrong_field_count). It is the [CSV] parser with
// these settings, in UTF-8; it also implements [Namer] and [Progresser].
type Paste struct {
	csv      *CSV
	max      int64
	delimSet bool // PasteConfig.Delimiter was set
}

// NewPaste returns a source reading pasted text from r. It validates cfg and
// reads nothing yet.
func NewPaste(r io.Reader, cfg PasteConfig) (*Paste, error) {
	if r == nil {
		return nil, errors.New("connector: NewPaste needs a non-nil io.Reader")
	}
	if cfg.MaxCellBytes < 0 || cfg.MaxColumns < 0 {
		return nil, errors.New("connector: PasteConfig.MaxCellBytes and MaxColumns must not be negative; use 0 for the default")
	}
	if cfg.Delimiter > DelimiterPipe {
		return nil, fmt.Errorf("connector: PasteConfig.Delimiter %d is not a known Delimiter; use one of the Delimiter constants", cfg.Delimiter)
	}
	if cfg.MaxRows == 0 {
		cfg.MaxRows = DefaultPasteMaxRows
	}
	delimSet := cfg.Delimiter != DelimiterAuto
	if !delimSet {
		cfg.Delimiter = DelimiterTab
	}
	max := int64(cfg.MaxRows)
	if cfg.MaxRows < 0 {
		max = noLimit
	}
	ccfg := CSVConfig{
		Name:         cfg.Name,
		Delimiter:    cfg.Delimiter,
		Encoding:     EncodingUTF8,
		NoHeader:     !cfg.HasHeader,
		LazyQuotes:   true,
		MaxCellBytes: cfg.MaxCellBytes,
		MaxColumns:   cfg.MaxColumns,
		MaxRows:      -1, // counted here, to name PasteConfig.MaxRows
	}
	c, err := NewCSV(r, ccfg)
	if err != nil {
		return nil, err
	}
	return &Paste{csv: c, max: max, delimSet: delimSet}, nil
}

// NewPasteText returns a source reading the pasted text s.
func NewPasteText(s string, cfg PasteConfig) (*Paste, error) {
	return NewPaste(strings.NewReader(s), cfg)
}

// Header returns the first row's cells with PasteConfig.HasHeader, else nil.
func (p *Paste) Header(ctx context.Context) ([]string, error) {
	h, err := p.csv.Header(ctx)
	return h, p.translate(err)
}

// Read returns the next pasted row, or io.EOF after the last one. Row.Line
// is the 1-based line of the pasted text. Row errors are as for [CSV.Read];
// more rows than PasteConfig.MaxRows is the fatal ErrTooManyPastedRows.
func (p *Paste) Read(ctx context.Context) (intake.Row, error) {
	row, err := p.csv.Read(ctx)
	if err == nil || isRowError(err) {
		if p.max != noLimit && p.csv.p.rows > p.max {
			p.csv.err = fmt.Errorf("%w (PasteConfig.MaxRows is %d)", ErrTooManyPastedRows, p.max)
			return intake.Row{}, p.csv.err
		}
	}
	return row, p.translate(err)
}

// Close releases the source. It is safe to call twice.
func (p *Paste) Close() error { return p.csv.Close() }

// Name returns PasteConfig.Name. It implements [Namer].
func (p *Paste) Name() string { return p.csv.Name() }

// Describe returns the format "paste", the encoding utf-8 and the
// delimiter: the tab without a reason, or a delimiter set in PasteConfig
// with the reason "set explicitly". It implements [Describer].
func (p *Paste) Describe() Dialect {
	d := Dialect{Format: "paste", Encoding: EncodingUTF8.String(), Delimiter: p.csv.delim.String()}
	if p.delimSet {
		d.DelimiterReason = "set explicitly"
	}
	return d
}

// Progress returns the bytes read so far and -1 (the size is unknown). It
// implements [Progresser].
func (p *Paste) Progress() (read, total int64) { return p.csv.Progress() }

func (p *Paste) translate(err error) error {
	if errors.Is(err, ErrEmptyFile) {
		return ErrEmptyPaste
	}
	return err
}

func isRowError(err error) bool {
	var re *intake.RowError
	return errors.As(err, &re)
}
