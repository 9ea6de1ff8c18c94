package connector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/intakehq/intake"
)

// rowIssue is a row-level problem found by the parser; col is the 0-based
// cell index or -1 for the whole row.
type rowIssue struct {
	col  int
	code intake.Code
	msg  string
}

// slabStrings is the number of cells allocated at once for rows' cell slices.
const slabStrings = 1024

// slabMaxBytes bounds the text of the rows whose cells share one slab: the
// parser keeps its slab, and with it those rows' strings, alive. A row with
// more text gets a cell slice of its own, so that the source's memory does
// not grow with the rows the caller has already dropped.
const slabMaxBytes = 32 << 10

// fieldEnd says how a cell ended.
type fieldEnd uint8

const (
	endDelim fieldEnd = iota // a delimiter follows: more cells
	endRow                   // a line break or the end of input: the row is complete
	endBad                   // a row issue; the parser has resynchronized
	endFatal                 // a fatal error, in parser.err
)

// quoteSpecial marks the bytes that stop a scan inside a quoted cell.
var quoteSpecial = func() (t [256]bool) {
	t[quoteChar], t['\n'], t['\r'] = true, true, true
	return t
}()

// parser splits decoded UTF-8 text into records. It reads through its own
// buffer, which keeps every byte from the start of the current record (keep)
// so that a malformed quoted cell can rewind to the line after its opening
// quote; the retained bytes are bounded by MaxRowBytes.
type parser struct {
	rd        io.Reader
	buf       []byte
	pos, end  int
	keep      int   // first byte that must stay in buf
	mark      int   // rewind position inside a quoted cell, or -1
	markLine  int   // line number at mark
	rdErr     error // sticky error of rd (io.EOF at the end)
	err       error // fatal error of the current readRecord
	line      int   // 1-based line of buf[pos]
	maxBuf    int
	maxRow    int // MaxRowBytes
	maxCell   int
	maxCols   int
	comma     byte
	lazy      bool
	stop      bool      // a row issue ends reading: the parser does not move past the row (the header)
	special   [256]bool // bytes that stop a scan in an unquoted cell
	rec       []byte    // the current record's cell contents, concatenated
	inBuf     []byte    // a simple line (see simpleLine): the record, in buf, instead of rec
	ends      []int     // end offset in rec of each cell
	sep       int       // bytes between cells in rec: 0, or 1 when rec holds a line with its delimiters
	issue     rowIssue
	slab      []string // free cells for the next rows' slices
	slabBytes int      // text of the rows whose cells are in slab
	text      []byte   // free room for the next rows' text (see cells)
	rows      int64
}

func (p *parser) init(rd io.Reader, comma byte, cfg *CSVConfig) {
	p.rd = rd
	p.buf = make([]byte, minBufSize)
	p.mark = -1
	p.line = 1
	p.maxBuf = cfg.MaxRowBytes + minBufSize
	p.maxRow = cfg.MaxRowBytes
	p.maxCell = cfg.MaxCellBytes
	p.maxCols = cfg.MaxColumns
	p.comma = comma
	p.lazy = cfg.LazyQuotes
	p.special[comma], p.special['\n'], p.special['\r'] = true, true, true
	if !p.lazy {
		p.special[quoteChar] = true
	}
}

// fill reads more input after end. It returns false when no byte was added;
// p.rdErr then says why (io.EOF at the end of the input).
func (p *parser) fill() bool {
	if p.rdErr != nil {
		return false
	}
	if p.end == len(p.buf) {
		kept := p.end - p.keep
		switch {
		case p.keep > 0 && kept <= len(p.buf)/2:
			p.shift()
		case len(p.buf) < p.maxBuf:
			nb := make([]byte, min(2*len(p.buf), p.maxBuf))
			copy(nb, p.buf[p.keep:p.end])
			p.buf = nb
			p.rebase(kept)
		case p.keep > 0:
			p.shift()
		default:
			p.rdErr = fmt.Errorf("%w (MaxRowBytes limit %d): a closing quote may be missing", ErrRowTooLong, p.maxBuf-minBufSize)
			return false
		}
	}
	for empties := 0; ; {
		n, err := p.rd.Read(p.buf[p.end:])
		if n < 0 || n > len(p.buf)-p.end {
			p.rdErr = errors.New("connector: the reader returned an invalid byte count")
			return false
		}
		p.end += n
		if err != nil {
			p.rdErr = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
		if empties++; empties > maxEmptyReads {
			p.rdErr = io.ErrNoProgress
			return false
		}
	}
}

// shift moves the kept bytes to the start of buf.
func (p *parser) shift() {
	kept := copy(p.buf, p.buf[p.keep:p.end])
	p.rebase(kept)
}

// rebase adjusts the positions after the kept bytes moved to offset 0.
func (p *parser) rebase(kept int) {
	p.pos -= p.keep
	if p.mark >= 0 {
		p.mark -= p.keep
	}
	p.end = kept
	p.keep = 0
}

// readErr returns the fatal form of p.rdErr (io.EOF stays io.EOF).
func (p *parser) readErr() error {
	err := p.rdErr
	if err == nil || err == io.EOF || errors.Is(err, ErrRowTooLong) || errors.Is(err, ErrFileTooLarge) {
		return err
	}
	return fmt.Errorf("connector: read CSV: %w", err)
}

// skipLF consumes a '\n' that follows a '\r' just consumed.
func (p *parser) skipLF() {
	if p.pos >= p.end && !p.fill() {
		return
	}
	if p.buf[p.pos] == '\n' {
		p.pos++
	}
}

// skipLine discards input up to and including the next line break. The
// row's bytes (those in rec and those skipped) stay bounded by MaxRowBytes:
// past it skipLine stops, sets err to ErrRowTooLong and returns false,
// rather than read an endless line to its end.
func (p *parser) skipLine() bool {
	row := len(p.rec)
	for {
		p.keep = p.pos
		if p.pos >= p.end && !p.fill() {
			return true
		}
		b := p.buf[p.pos:p.end]
		k := bytes.IndexByte(b, '\n')
		if k < 0 {
			k = len(b)
		}
		if r := bytes.IndexByte(b[:k], '\r'); r >= 0 {
			p.pos += r + 1
			p.line++
			p.skipLF()
			return true
		}
		if k < len(b) {
			p.pos += k + 1
			p.line++
			return true
		}
		p.pos = p.end
		if row += len(b); row > p.maxRow {
			p.err = fmt.Errorf("%w (MaxRowBytes limit %d): a closing quote may be missing", ErrRowTooLong, p.maxRow)
			return false
		}
	}
}

// record returns the current record's bytes: the simple line in buf, or
// rec.
func (p *parser) record() []byte {
	if p.inBuf != nil {
		return p.inBuf
	}
	return p.rec
}

// textBytes is the size of the blocks that rows' text is copied into.
const textBytes = 8 << 10

// cells returns the current record's cells: one string per row, copied
// into a block of text shared by the next rows (one allocation for about
// sixty rows), and a slice cut from a slab of strings shared by about a
// hundred rows (one allocation for many rows). Nothing is ever reused or
// written again: a row's cells stay valid after later reads.
func (p *parser) cells() []string {
	n := len(p.ends)
	if n == 0 {
		return nil
	}
	rec := p.record()
	var s string
	if len(rec) > textBytes/4 {
		s = string(rec)
	} else if len(rec) > 0 {
		if cap(p.text)-len(p.text) < len(rec) {
			p.text = make([]byte, 0, textBytes)
		}
		l := len(p.text)
		p.text = append(p.text, rec...)
		s = unsafe.String(&p.text[l], len(rec)) // those bytes are never written again
	}
	var out []string
	if len(s) > slabMaxBytes {
		out = make([]string, n)
	} else {
		if cap(p.slab)-len(p.slab) < n || p.slabBytes+len(s) > slabMaxBytes {
			p.slab, p.slabBytes = make([]string, 0, max(slabStrings, n)), 0
		}
		l := len(p.slab)
		p.slab = p.slab[:l+n]
		p.slabBytes += len(s)
		out = p.slab[l : l+n : l+n]
	}
	prev := 0
	for i, e := range p.ends {
		out[i] = s[prev:e]
		prev = e + p.sep
	}
	return out
}

// validUTF8 reports whether every cell of the current record is valid
// UTF-8. A record kept as its line (sep 1) is checked at once: its
// delimiters are ASCII and end any character. Cells concatenated without
// separators are checked one by one, lest the end of one and the start of
// the next form a character that neither holds.
func (p *parser) validUTF8() bool {
	rec := p.record()
	if p.sep == 1 || len(p.ends) <= 1 {
		return utf8.Valid(rec)
	}
	prev := 0
	for _, e := range p.ends {
		if !utf8.Valid(rec[prev:e]) {
			return false
		}
		prev = e
	}
	return true
}

// readRecord reads the next non-blank record into rec and ends. It returns
// the line on which the record starts, a row issue (the cells read before
// the faulty one are in rec; the parser has resynchronized), or a fatal
// error (io.EOF at the end of the input).
func (p *parser) readRecord() (int, *rowIssue, error) {
	p.rec, p.inBuf = p.rec[:0], nil
	p.ends = p.ends[:0]
	p.sep = 0
	for {
		p.keep = p.pos
		if p.pos >= p.end && !p.fill() {
			return 0, nil, p.readErr()
		}
		switch p.buf[p.pos] {
		case '\n':
			p.pos++
			p.line++
			continue
		case '\r':
			p.pos++
			p.line++
			p.skipLF()
			continue
		}
		break
	}
	start := p.line
	p.keep = p.pos
	if p.simpleLine() {
		return start, nil, nil
	}
	for {
		if len(p.ends) == p.maxCols {
			return start, nil, fmt.Errorf("%w (MaxColumns limit %d): check the delimiter", ErrTooManyColumns, p.maxCols)
		}
		fieldStart := len(p.rec)
		var st fieldEnd
		if p.pos >= p.end && !p.fill() {
			if p.rdErr != io.EOF {
				return start, nil, p.readErr()
			}
			st = endRow // "a," at the end of the input: an empty last cell
		} else if p.buf[p.pos] == quoteChar {
			st = p.readQuoted(fieldStart)
		} else {
			st = p.readUnquoted(fieldStart)
		}
		switch st {
		case endDelim:
			p.ends = append(p.ends, len(p.rec))
		case endRow:
			p.ends = append(p.ends, len(p.rec))
			return start, nil, nil
		case endBad:
			p.rec = p.rec[:fieldStart]
			p.issue.col = len(p.ends)
			return start, &p.issue, nil
		default:
			return start, nil, p.err
		}
	}
}

// simpleLine is the fast path of readRecord: when the buffer holds a whole
// line without quotes or stray CRs, it splits it with IndexByte (vectorized)
// and consumes it. It returns false, having consumed nothing, for anything
// else (quotes, CR line breaks, a line longer than the buffered data, a
// limit reached): the general state machine then handles the record.
func (p *parser) simpleLine() bool {
	b := p.buf[p.pos:p.end]
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return false
	}
	line := b[:nl]
	if bytes.IndexByte(line, quoteChar) >= 0 {
		return false
	}
	if cr := bytes.IndexByte(line, '\r'); cr >= 0 {
		if cr != nl-1 {
			return false
		}
		line = line[:cr]
	}
	// The record is the line with its delimiters, read in place (valid
	// until the next read); ends holds the delimiters' offsets.
	p.sep = 1
	prev := 0
	for i, c := range line {
		if c != p.comma {
			continue
		}
		if i-prev > p.maxCell || len(p.ends) == p.maxCols-1 {
			p.ends, p.sep = p.ends[:0], 0
			return false
		}
		p.ends = append(p.ends, i)
		prev = i + 1
	}
	if len(line)-prev > p.maxCell {
		p.ends, p.sep = p.ends[:0], 0
		return false
	}
	p.ends = append(p.ends, len(line))
	p.inBuf = line
	p.pos += nl + 1
	p.line++
	return true
}

// badLine reports a row issue and moves to the next line, where reading
// resumes; in stop mode it stays put, since nothing is read after the issue.
func (p *parser) badLine(code intake.Code, msg string) fieldEnd {
	if !p.stop && !p.skipLine() {
		return endFatal
	}
	p.issue = rowIssue{code: code, msg: msg}
	return endBad
}

// badQuoted reports the issue of a malformed quoted cell and moves to where
// reading resumes (see resync); in stop mode it stays put.
func (p *parser) badQuoted(code intake.Code, msg string) fieldEnd {
	if !p.stop && !p.resync() {
		return endFatal
	}
	p.issue = rowIssue{code: code, msg: msg}
	return endBad
}

// readUnquoted reads an unquoted cell starting at pos.
func (p *parser) readUnquoted(fieldStart int) fieldEnd {
	for {
		b := p.buf[p.pos:p.end]
		j := 0
		for j < len(b) && !p.special[b[j]] {
			j++
		}
		p.rec = append(p.rec, b[:j]...)
		p.pos += j
		if len(p.rec)-fieldStart > p.maxCell {
			return p.badLine(intake.CodeCellTooLong, fmt.Sprintf("the cell is longer than %d bytes (CSVConfig.MaxCellBytes)", p.maxCell))
		}
		if p.pos >= p.end {
			if !p.fill() {
				if p.rdErr == io.EOF {
					return endRow
				}
				p.err = p.readErr()
				return endFatal
			}
			continue
		}
		switch p.buf[p.pos] {
		case '\n':
			p.pos++
			p.line++
			return endRow
		case '\r':
			p.pos++
			p.line++
			p.skipLF()
			return endRow
		case quoteChar:
			return p.badLine(intake.CodeBadQuote, "a quote inside an unquoted cell; enclose the whole cell in quotes and double the quotes inside it (\"\"), or set CSVConfig.LazyQuotes")
		default: // the delimiter
			p.pos++
			return endDelim
		}
	}
}

// readQuoted reads a quoted cell; pos is at the opening quote.
//
// When the cell turns out malformed (text after the closing quote, no
// closing quote before the end of the input, or more than MaxCellBytes),
// the issue names the line of the opening quote and reading resumes at the
// start of the next line after it: lines the open quote had swallowed are
// read again as rows.
func (p *parser) readQuoted(fieldStart int) fieldEnd {
	open := p.line
	p.pos++
	p.mark = -1
	for {
		if p.pos >= p.end && !p.fill() {
			if p.rdErr != io.EOF {
				p.err = p.readErr()
				return endFatal
			}
			return p.badQuoted(intake.CodeBadQuote, "the quote opened on line "+strconv.Itoa(open)+" is never closed; close it, or double the quotes inside the cell (\"\")")
		}
		b := p.buf[p.pos:p.end]
		j := 0
		for j < len(b) && !quoteSpecial[b[j]] {
			j++
		}
		p.rec = append(p.rec, b[:j]...)
		p.pos += j
		if len(p.rec)-fieldStart > p.maxCell {
			return p.badQuoted(intake.CodeCellTooLong, fmt.Sprintf("the quoted cell opened on line %d is longer than %d bytes (CSVConfig.MaxCellBytes); a closing quote may be missing", open, p.maxCell))
		}
		if p.pos >= p.end {
			continue
		}
		switch p.buf[p.pos] {
		case '\n':
			p.rec = append(p.rec, '\n')
			p.pos++
			p.line++
			p.setMark()
		case '\r':
			p.rec = append(p.rec, '\r')
			p.pos++
			p.line++
			if p.pos < p.end || p.fill() {
				if p.buf[p.pos] == '\n' {
					p.rec = append(p.rec, '\n')
					p.pos++
				}
			}
			p.setMark()
		default: // a quote: doubled, closing, or malformed
			p.pos++
			if p.pos >= p.end && !p.fill() {
				if p.rdErr == io.EOF {
					return endRow
				}
				p.err = p.readErr()
				return endFatal
			}
			switch c := p.buf[p.pos]; {
			case c == quoteChar:
				p.rec = append(p.rec, quoteChar)
				p.pos++
				continue
			case c == p.comma:
				p.pos++
				return endDelim
			case c == '\n':
				p.pos++
				p.line++
				return endRow
			case c == '\r':
				p.pos++
				p.line++
				p.skipLF()
				return endRow
			case c == ' ' || c == '\t':
				// Blanks between the closing quote and the next
				// delimiter or line break are ignored.
				if st, ok := p.afterBlanks(); ok {
					return st
				}
			case p.lazy:
				p.rec = append(p.rec, quoteChar)
				continue
			}
			return p.badQuoted(intake.CodeBadQuote, "text after the closing quote of the cell opened on line "+strconv.Itoa(open)+"; double the quotes inside a quoted cell (\"\")")
		}
	}
}

// setMark records the first line break inside a quoted cell: where reading
// resumes if the cell turns out malformed.
func (p *parser) setMark() {
	if p.mark < 0 {
		p.mark, p.markLine = p.pos, p.line
	}
}

// resync moves to where reading resumes after a malformed quoted cell: the
// line after the opening quote's line. It returns false with err set when
// the line is longer than MaxRowBytes (see skipLine).
func (p *parser) resync() bool {
	if p.mark >= 0 {
		p.pos, p.line = p.mark, p.markLine
		p.keep = p.pos
		return true
	}
	return p.skipLine()
}

// afterBlanks skips blanks after a closing quote. ok is false when something
// other than a delimiter, a line break or the end of the input follows.
func (p *parser) afterBlanks() (fieldEnd, bool) {
	for {
		if p.pos >= p.end && !p.fill() {
			if p.rdErr == io.EOF {
				return endRow, true
			}
			p.err = p.readErr()
			return endFatal, true
		}
		switch c := p.buf[p.pos]; {
		case c == p.comma:
			p.pos++
			return endDelim, true
		case c == ' ' || c == '\t':
			p.pos++
		case c == '\n':
			p.pos++
			p.line++
			return endRow, true
		case c == '\r':
			p.pos++
			p.line++
			p.skipLF()
			return endRow, true
		default:
			return 0, false
		}
	}
}
