package xlsx

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/intakehq/intake"
)

// excelMaxRows is the last row number Excel allows.
const excelMaxRows = 1_048_576

// sheetReader streams the rows of one worksheet part with an xmlScanner:
// one row in memory at a time. A row's text is gathered in one buffer and
// becomes one string, which its cells share (shared strings and constants
// apart).
type sheetReader struct {
	p     *xlsxPackage
	cfg   *Config
	pr    *partReader
	sc    *xmlScanner
	part  string
	width int   // header width; 0: no header, no width check
	total int64 // cell bytes read so far (MaxTotalCellBytes)
	row   int   // number of the last row started
	done  bool

	// the cell being read
	col            int
	typ            []byte
	style          int
	inV, inIS, inT bool
	skip           int
	vbuf, ibuf     []byte
	long           bool
	vals           []cellVal
	rowText        []byte // the text of the row's cells that are not shared strings
	issue          *rowIssue
}

// cellVal is a cell with a value: shared string sst, or (sst < 0) the
// text rowText[start:end]. It holds no pointer, so that storing it costs no
// write barrier.
type cellVal struct {
	col        int // 0-based
	start, end int
	sst        int
}

func (p *xlsxPackage) openSheet(i int, progress *atomic.Int64) (*sheetReader, error) {
	part := p.sheetParts[i]
	pr, err := p.open(part, progress)
	if err != nil {
		return nil, err
	}
	if pr == nil {
		return nil, fmt.Errorf("%w: the worksheet part %s is missing", ErrFormat, part)
	}
	return &sheetReader{p: p, cfg: p.cfg, pr: pr, sc: newXMLScanner(pr, part, p.runLimit()+4096), part: part}, nil
}

func (sr *sheetReader) close() error {
	if sr.pr == nil {
		return nil
	}
	err := sr.pr.Close()
	sr.pr = nil
	return err
}

// next returns the next row with at least one non-empty cell: its sheet
// row number, its cells (padded or cut to the header width, if any) and the
// first problem found in it; io.EOF after the last row.
func (sr *sheetReader) next() (int, []string, *rowIssue, error) {
	if sr.done {
		return sr.row, nil, nil, io.EOF
	}
	sc := sr.sc
	for {
		k, err := sc.next()
		if err == io.EOF {
			sr.done = true
			return sr.row, nil, nil, io.EOF
		}
		if err != nil {
			return sr.row, nil, nil, err
		}
		switch k {
		case tokStart:
			if err := sr.start(); err != nil {
				return sr.row, nil, nil, err
			}
		case tokEnd:
			switch string(sc.local()) {
			case "c":
				if err := sr.endCell(); err != nil {
					return sr.row, nil, nil, err
				}
			case "row":
				if cells, issue := sr.endRow(); cells != nil {
					return sr.row, cells, issue, nil
				}
			case "sheetData":
				sr.done = true
				return sr.row, nil, nil, io.EOF
			default:
				sr.end(sc.local())
			}
		case tokText:
			switch {
			case sr.inV:
				sr.vbuf = sr.appendText(sr.vbuf, sc.text())
			case sr.inIS && sr.inT && sr.skip == 0:
				sr.ibuf = sr.appendText(sr.ibuf, sc.text())
			}
		}
	}
}

func (sr *sheetReader) appendText(b []byte, t []byte) []byte {
	if len(b)+len(t) > sr.cfg.MaxCellBytes+4*utf8Max {
		sr.long = true
		return b
	}
	return append(b, t...)
}

const utf8Max = 4

func (sr *sheetReader) start() error {
	if sr.skip > 0 {
		sr.skip++
		return nil
	}
	sc := sr.sc
	switch string(sc.local()) {
	case "row":
		num := 0
		for i := range sc.attrs {
			if string(sc.attrLocal(i)) == "r" {
				v := sc.attrValue(i)
				n, err := strconv.Atoi(string(v))
				if err != nil || n < 1 {
					return fmt.Errorf("%w: part %s: row number %q", ErrFormat, sr.part, v)
				}
				num = n
			}
		}
		if num == 0 {
			num = sr.row + 1
		}
		if num > excelMaxRows {
			return fmt.Errorf("%w: row %d is beyond Excel's last row (%d)", ErrFormat, num, excelMaxRows)
		}
		sr.row, sr.col = num, 0
		sr.vals, sr.issue, sr.rowText = sr.vals[:0], nil, sr.rowText[:0]
	case "c":
		col, style := sr.col+1, 0
		sr.typ = sr.typ[:0]
		for i := range sc.attrs {
			switch string(sc.attrLocal(i)) {
			case "r":
				if c := columnNumber(sc.attrValue(i)); c > 0 {
					col = c
				}
			case "t":
				sr.typ = append(sr.typ, sc.attrValue(i)...)
			case "s":
				style, _ = strconv.Atoi(string(sc.attrValue(i)))
			}
		}
		sr.col, sr.style = col, style
		sr.vbuf, sr.ibuf, sr.long = sr.vbuf[:0], sr.ibuf[:0], false
		sr.inV, sr.inIS, sr.inT = false, false, false
		// The usual cells, read at once: <c ...><v>text</v></c> and
		// <c ...><is><t>text</t></is></c>.
		if string(sc.local()) == "c" && !sr.p.tokenByToken {
			if t, ok := sc.leaf("<v>", "</v></c>"); ok {
				sr.vbuf = sr.appendText(sr.vbuf, t)
				return sr.endCell()
			}
			if t, ok := sc.leaf("<is><t>", "</t></is></c>"); ok {
				sr.ibuf = sr.appendText(sr.ibuf, t)
				return sr.endCell()
			}
		}
	case "v":
		sr.inV = true
	case "is":
		sr.inIS = true
	case "t":
		sr.inT = sr.inIS
	case "rPh", "phoneticPr":
		if sr.inIS {
			sr.skip = 1
		}
	}
	return nil
}

func (sr *sheetReader) end(name []byte) {
	if sr.skip > 0 {
		sr.skip--
		return
	}
	switch string(name) {
	case "v":
		sr.inV = false
	case "is":
		sr.inIS = false
	case "t":
		sr.inT = false
	}
}

// columnNumber returns the 1-based column of a cell reference ("AB12" is
// 28), or 0 when it has no valid column letters.
func columnNumber(ref []byte) int {
	n := 0
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'A' <= c && c <= 'Z':
			n = n*26 + int(c-'A'+1)
		case 'a' <= c && c <= 'z':
			n = n*26 + int(c-'a'+1)
		default:
			return n
		}
		if n > 1<<24 {
			return 1 << 24
		}
	}
	return n
}

// columnName returns the letters of a 1-based column number.
func columnName(n int) string {
	var b [8]byte
	i := len(b)
	for n > 0 && i > 0 {
		n--
		i--
		b[i] = byte('A' + n%26)
		n /= 26
	}
	return string(b[i:])
}

func (sr *sheetReader) endCell() error {
	start := len(sr.rowText)
	sst, code, msg, err := sr.value()
	sr.inV, sr.inIS, sr.inT = false, false, false
	if err != nil {
		return fmt.Errorf("%w: cell %s%d: %v", ErrFormat, columnName(sr.col), sr.row, err)
	}
	n := len(sr.rowText) - start
	if sst >= 0 {
		n = len(sr.p.sst.get(sst))
	}
	if n == 0 && code == "" {
		return nil
	}
	if sr.col > sr.cfg.MaxColumns {
		return fmt.Errorf("%w: cell %s%d is right of xlsx.Config.MaxColumns (%d)", ErrTooLarge, columnName(sr.col), sr.row, sr.cfg.MaxColumns)
	}
	sr.total += int64(n)
	if sr.cfg.MaxTotalCellBytes != noLimit && sr.total > sr.cfg.MaxTotalCellBytes {
		return fmt.Errorf("%w: the cells read hold more than xlsx.Config.MaxTotalCellBytes (%d) bytes of text (cell %s%d)", ErrTooLarge, sr.cfg.MaxTotalCellBytes, columnName(sr.col), sr.row)
	}
	if code != "" && sr.issue == nil {
		sr.issue = &rowIssue{col: sr.col - 1, code: code, msg: msg}
	}
	sr.vals = append(sr.vals, cellVal{col: sr.col - 1, start: start, end: len(sr.rowText), sst: sst})
	return nil
}

// value converts the cell just read: its text is appended to rowText, or
// it is shared string sst (-1 otherwise); a non-empty code is a row
// problem.
func (sr *sheetReader) value() (sst int, code intake.Code, msg string, err error) {
	ref := func() string { return columnName(sr.col) + strconv.Itoa(sr.row) }
	if sr.long {
		return -1, intake.CodeCellTooLong, fmt.Sprintf("cell %s is longer than xlsx.Config.MaxCellBytes (%d bytes)", ref(), sr.cfg.MaxCellBytes), nil
	}
	switch string(sr.typ) {
	case "s":
		v := bytes.TrimSpace(sr.vbuf)
		if len(v) == 0 {
			return -1, "", "", nil
		}
		i, err := strconv.Atoi(string(v))
		if err != nil || i < 0 || i >= sr.p.sst.len() {
			return -1, "", "", fmt.Errorf("shared string index %q out of range (the table has %d)", v, sr.p.sst.len())
		}
		return i, "", "", nil
	case "inlineStr":
		return sr.text(sr.ibuf, ref)
	case "str":
		return sr.text(sr.vbuf, ref)
	case "b":
		switch v := bytes.TrimSpace(sr.vbuf); string(v) {
		case "1", "true", "TRUE":
			sr.rowText = append(sr.rowText, "true"...)
		case "0", "false", "FALSE":
			sr.rowText = append(sr.rowText, "false"...)
		default:
			sr.rowText = append(sr.rowText, v...)
		}
		return -1, "", "", nil
	case "e":
		v := sr.vbuf
		if sr.cfg.KeepErrorCells || len(v) == 0 {
			sr.rowText = append(sr.rowText, v...)
			return -1, "", "", nil
		}
		sr.rowText = append(sr.rowText, v...)
		return -1, intake.CodeCellError, fmt.Sprintf("cell %s holds the Excel error %s (a formula failed); correct the formula or the cell, or set xlsx.Config.KeepErrorCells", ref(), v), nil
	case "d":
		sr.rowText = append(sr.rowText, isoCell(string(bytes.TrimSpace(sr.vbuf)), sr.kind())...)
		return -1, "", "", nil
	default: // "n" or none: a number
		v := bytes.TrimSpace(sr.vbuf)
		if len(v) == 0 {
			return -1, "", "", nil
		}
		if k := sr.kind(); k != fmtNumber {
			if f, err := strconv.ParseFloat(string(v), 64); err == nil {
				if b, ok := appendSerial(sr.rowText, f, k, sr.p.date1904); ok {
					sr.rowText = b
					return -1, "", "", nil
				}
			}
		}
		sr.rowText = appendNumber(sr.rowText, v)
		return -1, "", "", nil
	}
}

func (sr *sheetReader) text(b []byte, ref func() string) (int, intake.Code, string, error) {
	s := unescapeOOXML(b)
	if len(s) > sr.cfg.MaxCellBytes {
		return -1, intake.CodeCellTooLong, fmt.Sprintf("cell %s is longer than xlsx.Config.MaxCellBytes (%d bytes)", ref(), sr.cfg.MaxCellBytes), nil
	}
	sr.rowText = append(sr.rowText, s...)
	return -1, "", "", nil
}

func (sr *sheetReader) kind() uint8 {
	if sr.style >= 0 && sr.style < len(sr.p.fmtKinds) {
		return sr.p.fmtKinds[sr.style]
	}
	return fmtNumber
}

// endRow builds the row's cells; nil when the row has no value.
func (sr *sheetReader) endRow() ([]string, *rowIssue) {
	if len(sr.vals) == 0 {
		return nil, nil
	}
	n := 0
	for _, v := range sr.vals {
		n = max(n, v.col+1)
	}
	issue := sr.issue
	if sr.width > 0 {
		if n > sr.width {
			extra := -1
			for _, v := range sr.vals {
				if v.col >= sr.width && (extra < 0 || v.col < extra) {
					extra = v.col
				}
			}
			if issue == nil || issue.col >= sr.width {
				issue = &rowIssue{col: extra, code: intake.CodeFieldCount,
					msg: fmt.Sprintf("cell %s%d is right of the header's last column (%s); the header has %d columns", columnName(extra+1), sr.row, columnName(sr.width), sr.width)}
			}
		}
		n = sr.width
	}
	cells := make([]string, n)
	text := string(sr.rowText)
	for _, v := range sr.vals {
		if v.col < n {
			if v.sst >= 0 {
				cells[v.col] = sr.p.sst.get(v.sst)
			} else {
				cells[v.col] = text[v.start:v.end]
			}
		}
	}
	return cells, issue
}

// appendNumber appends a numeric cell's stored value: an integer as
// written (a 13-digit phone number stays exact), any other number rounded
// to the 15 significant digits Excel keeps and written without exponent or
// float noise (0.30000000000000004 is 0.3, 1E-3 is 0.001).
func appendNumber(dst, v []byte) []byte {
	if isIntLiteral(v) {
		if v[0] == '+' {
			v = v[1:]
		}
		if len(bytes.Trim(v, "-0")) == 0 {
			return append(dst, '0')
		}
		return append(dst, v...)
	}
	if b, ok := appendShortDecimal(dst, v); ok {
		return b
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, v...)
	}
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	if f == 0 {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// appendShortDecimal appends a decimal without exponent of at most 15
// significant digits and 25 bytes ([+-]digits.digits) as appendNumber's
// rounding would write it, without converting it to a float and back: a
// decimal of 15 digits or fewer is the shortest text of the float nearest
// to it. Leading zeros of the integer part and trailing zeros of the
// fraction go; zero is "0". It reports false for any other text.
func appendShortDecimal(dst, v []byte) ([]byte, bool) {
	if len(v) == 0 || len(v) > 25 {
		return dst, false
	}
	neg := false
	switch v[0] {
	case '-':
		neg, v = true, v[1:]
	case '+':
		v = v[1:]
	}
	dot := bytes.IndexByte(v, '.')
	if dot < 0 || len(v) == 1 {
		return dst, false
	}
	ip, fp := v[:dot], v[dot+1:]
	for _, c := range ip {
		if c < '0' || c > '9' {
			return dst, false
		}
	}
	for _, c := range fp {
		if c < '0' || c > '9' {
			return dst, false
		}
	}
	for len(ip) > 0 && ip[0] == '0' {
		ip = ip[1:]
	}
	for len(fp) > 0 && fp[len(fp)-1] == '0' {
		fp = fp[:len(fp)-1]
	}
	// Significant digits: from the first non-zero digit to the last.
	sig := len(ip) + len(fp)
	if len(ip) == 0 {
		z := 0
		for z < len(fp) && fp[z] == '0' {
			z++
		}
		sig = len(fp) - z
	} else if len(fp) == 0 {
		z := 0
		for z < len(ip) && ip[len(ip)-1-z] == '0' {
			z++
		}
		sig = len(ip) - z
	}
	if sig == 0 {
		return append(dst, '0'), true
	}
	if sig > 15 {
		return dst, false
	}
	if neg {
		dst = append(dst, '-')
	}
	if len(ip) == 0 {
		dst = append(dst, '0')
	}
	dst = append(dst, ip...)
	if len(fp) > 0 {
		dst = append(dst, '.')
		dst = append(dst, fp...)
	}
	return dst, true
}

func isIntLiteral(v []byte) bool {
	if len(v) > 0 && (v[0] == '-' || v[0] == '+') {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 400 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Unix times of the date systems' day 0.
var (
	epoch1900 = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
	epoch1904 = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// maxSerial is 9999-12-31, the last date Excel shows.
const maxSerial = 2958465

// appendSerial appends an Excel date serial as ISO 8601 text: "yyyy-MM-dd",
// "yyyy-MM-dd HH:mm:ss", "HH:mm:ss", or "H:mm:ss" hours for a duration;
// false for a serial out of Excel's range.
func appendSerial(dst []byte, f float64, kind uint8, date1904 bool) ([]byte, bool) {
	if math.IsNaN(f) || f < 0 || f >= maxSerial+1 {
		return dst, false
	}
	days := math.Floor(f)
	secs := int(math.Round((f - days) * 86400))
	if secs >= 86400 {
		days++
		secs = 0
	}
	if kind == fmtElapsed {
		total := int64(math.Round(f * 86400))
		dst = strconv.AppendInt(dst, total/3600, 10)
		dst = append(dst, ':')
		dst = append2(dst, int(total/60%60))
		dst = append(dst, ':')
		return append2(dst, int(total%60)), true
	}
	if kind == fmtTime {
		return appendClock(dst, secs), true
	}
	var y, m, d int
	switch n := int64(days); {
	case date1904:
		y, m, d = civil(epoch1904, n)
	case n == 60:
		// Excel's 1900-02-29, which never was (Lotus 1-2-3 compatibility).
		y, m, d = 1900, 2, 29
	case n < 60:
		y, m, d = civil(epoch1900, n+1)
	default:
		y, m, d = civil(epoch1900, n)
	}
	dst = strconv.AppendInt(dst, int64(y), 10) // 1899 to 10003
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	if kind == fmtDate {
		return dst, true
	}
	dst = append(dst, ' ')
	return appendClock(dst, secs), true
}

// civil returns the date days after the day whose midnight is epoch.
func civil(epoch, days int64) (y, m, d int) {
	t := time.Unix(epoch+days*86400, 0).UTC()
	yy, mm, dd := t.Date()
	return yy, int(mm), dd
}

// appendClock appends "HH:mm:ss" of a second of the day.
func appendClock(dst []byte, secs int) []byte {
	dst = append2(dst, secs/3600)
	dst = append(dst, ':')
	dst = append2(dst, secs/60%60)
	dst = append(dst, ':')
	return append2(dst, secs%60)
}

// append2 appends n (0 to 99) in two digits.
func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// isoCell renders an ISO 8601 date cell (t="d") like a serial date: a date
// at midnight as "yyyy-MM-dd" (unless its format shows a time), a date and
// time as "yyyy-MM-dd HH:mm:ss", a time alone as "HH:mm:ss". Text that does
// not parse is kept as is.
func isoCell(v string, kind uint8) string {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		t, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		if kind == fmtDate || (kind != fmtDateTime && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0) {
			return t.Format("2006-01-02")
		}
		return t.Format("2006-01-02 15:04:05")
	}
	for _, layout := range []string{"15:04:05.999999999", "T15:04:05.999999999", "15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format("15:04:05")
		}
	}
	return v
}
