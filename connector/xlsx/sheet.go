package xlsx

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/intakehq/intake"
)

// excelMaxRows is the last row number Excel allows.
const excelMaxRows = 1_048_576

// sheetReader streams the rows of one worksheet part with encoding/xml's
// RawToken: one row in memory at a time.
type sheetReader struct {
	p     *xlsxPackage
	cfg   *Config
	pr    *partReader
	xs    *xmlStream
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
	issue          *rowIssue
}

type cellVal struct {
	col int // 0-based
	val string
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
	return &sheetReader{p: p, cfg: p.cfg, pr: pr, xs: newXMLStream(pr, part), part: part}, nil
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
	for {
		t, err := sr.xs.token()
		if err == io.EOF {
			sr.done = true
			return sr.row, nil, nil, io.EOF
		}
		if err != nil {
			return sr.row, nil, nil, err
		}
		switch e := t.(type) {
		case xml.StartElement:
			if err := sr.start(&e); err != nil {
				return sr.row, nil, nil, err
			}
		case xml.EndElement:
			switch e.Name.Local {
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
				sr.end(e.Name.Local)
			}
		case xml.CharData:
			switch {
			case sr.inV:
				sr.vbuf = sr.appendText(sr.vbuf, e)
			case sr.inIS && sr.inT && sr.skip == 0:
				sr.ibuf = sr.appendText(sr.ibuf, e)
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

func (sr *sheetReader) start(e *xml.StartElement) error {
	if sr.skip > 0 {
		sr.skip++
		return nil
	}
	switch e.Name.Local {
	case "row":
		num := 0
		for _, a := range e.Attr {
			if a.Name.Local == "r" {
				n, err := strconv.Atoi(a.Value)
				if err != nil || n < 1 {
					return fmt.Errorf("%w: part %s: row number %q", ErrFormat, sr.part, a.Value)
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
		sr.vals, sr.issue = sr.vals[:0], nil
	case "c":
		col, style := sr.col+1, 0
		sr.typ = sr.typ[:0]
		for _, a := range e.Attr {
			switch a.Name.Local {
			case "r":
				if c := columnNumber(a.Value); c > 0 {
					col = c
				}
			case "t":
				sr.typ = append(sr.typ, a.Value...)
			case "s":
				style, _ = strconv.Atoi(a.Value)
			}
		}
		sr.col, sr.style = col, style
		sr.vbuf, sr.ibuf, sr.long = sr.vbuf[:0], sr.ibuf[:0], false
		sr.inV, sr.inIS, sr.inT = false, false, false
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

func (sr *sheetReader) end(name string) {
	if sr.skip > 0 {
		sr.skip--
		return
	}
	switch name {
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
func columnNumber(ref string) int {
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
	val, code, msg, err := sr.value()
	sr.inV, sr.inIS, sr.inT = false, false, false
	if err != nil {
		return fmt.Errorf("%w: cell %s%d: %v", ErrFormat, columnName(sr.col), sr.row, err)
	}
	if val == "" && code == "" {
		return nil
	}
	if sr.col > sr.cfg.MaxColumns {
		return fmt.Errorf("%w: cell %s%d is right of xlsx.Config.MaxColumns (%d)", ErrTooLarge, columnName(sr.col), sr.row, sr.cfg.MaxColumns)
	}
	sr.total += int64(len(val))
	if sr.cfg.MaxTotalCellBytes != noLimit && sr.total > sr.cfg.MaxTotalCellBytes {
		return fmt.Errorf("%w: the cells read hold more than xlsx.Config.MaxTotalCellBytes (%d) bytes of text (cell %s%d)", ErrTooLarge, sr.cfg.MaxTotalCellBytes, columnName(sr.col), sr.row)
	}
	if code != "" && sr.issue == nil {
		sr.issue = &rowIssue{col: sr.col - 1, code: code, msg: msg}
	}
	sr.vals = append(sr.vals, cellVal{col: sr.col - 1, val: val})
	return nil
}

// value converts the cell just read; a non-empty code is a row problem.
func (sr *sheetReader) value() (val string, code intake.Code, msg string, err error) {
	ref := func() string { return columnName(sr.col) + strconv.Itoa(sr.row) }
	if sr.long {
		return "", intake.CodeCellTooLong, fmt.Sprintf("cell %s is longer than xlsx.Config.MaxCellBytes (%d bytes)", ref(), sr.cfg.MaxCellBytes), nil
	}
	switch string(sr.typ) {
	case "s":
		v := strings.TrimSpace(string(sr.vbuf))
		if v == "" {
			return "", "", "", nil
		}
		i, err := strconv.Atoi(v)
		s, ok := sr.p.sharedString(i)
		if err != nil || !ok {
			return "", "", "", fmt.Errorf("shared string index %q out of range (the table has %d)", v, sr.p.sst.len())
		}
		return s, "", "", nil
	case "inlineStr":
		return sr.text(sr.ibuf, ref)
	case "str":
		return sr.text(sr.vbuf, ref)
	case "b":
		switch v := strings.TrimSpace(string(sr.vbuf)); v {
		case "1", "true", "TRUE":
			return "true", "", "", nil
		case "0", "false", "FALSE":
			return "false", "", "", nil
		default:
			return v, "", "", nil
		}
	case "e":
		v := string(sr.vbuf)
		if sr.cfg.KeepErrorCells || v == "" {
			return v, "", "", nil
		}
		return v, intake.CodeCellError, fmt.Sprintf("cell %s holds the Excel error %s (a formula failed); correct the formula or the cell, or set xlsx.Config.KeepErrorCells", ref(), v), nil
	case "d":
		return isoCell(strings.TrimSpace(string(sr.vbuf)), sr.kind()), "", "", nil
	default: // "n" or none: a number
		v := strings.TrimSpace(string(sr.vbuf))
		if v == "" {
			return "", "", "", nil
		}
		if k := sr.kind(); k != fmtNumber {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				if s, ok := serialToISO(f, k, sr.p.date1904); ok {
					return s, "", "", nil
				}
			}
		}
		return normNumber(v), "", "", nil
	}
}

func (sr *sheetReader) text(b []byte, ref func() string) (string, intake.Code, string, error) {
	s := unescapeOOXML(b)
	if len(s) > sr.cfg.MaxCellBytes {
		return "", intake.CodeCellTooLong, fmt.Sprintf("cell %s is longer than xlsx.Config.MaxCellBytes (%d bytes)", ref(), sr.cfg.MaxCellBytes), nil
	}
	return string(s), "", "", nil
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
	for _, v := range sr.vals {
		if v.col < n {
			cells[v.col] = v.val
		}
	}
	return cells, issue
}

// normNumber renders a numeric cell's stored value: an integer as written
// (a 13-digit phone number stays exact), any other number rounded to the 15
// significant digits Excel keeps and written without exponent or float
// noise (0.30000000000000004 is 0.3, 1E-3 is 0.001).
func normNumber(v string) string {
	if isIntLiteral(v) {
		v = strings.TrimPrefix(v, "+")
		if strings.Trim(v, "-0") == "" {
			return "0"
		}
		return v
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return v
	}
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	if f == 0 {
		return "0"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func isIntLiteral(v string) bool {
	if v != "" && (v[0] == '-' || v[0] == '+') {
		v = v[1:]
	}
	if v == "" || len(v) > 400 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

var (
	epoch1900 = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	epoch1904 = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxSerial is 9999-12-31, the last date Excel shows.
const maxSerial = 2958465

// serialToISO converts an Excel date serial to ISO 8601 text: "yyyy-MM-dd",
// "yyyy-MM-dd HH:mm:ss", "HH:mm:ss", or "H:mm:ss" hours for a duration.
func serialToISO(f float64, kind uint8, date1904 bool) (string, bool) {
	if math.IsNaN(f) || f < 0 || f >= maxSerial+1 {
		return "", false
	}
	days := math.Floor(f)
	secs := math.Round((f - days) * 86400)
	if secs >= 86400 {
		days++
		secs = 0
	}
	if kind == fmtElapsed {
		total := int64(math.Round(f * 86400))
		return fmt.Sprintf("%d:%02d:%02d", total/3600, total/60%60, total%60), true
	}
	clock := fmt.Sprintf("%02d:%02d:%02d", int(secs)/3600, int(secs)/60%60, int(secs)%60)
	if kind == fmtTime {
		return clock, true
	}
	var d time.Time
	switch {
	case date1904:
		d = epoch1904.AddDate(0, 0, int(days))
	case days == 60:
		// Excel's 1900-02-29, which never was (Lotus 1-2-3 compatibility).
		if kind == fmtDateTime {
			return "1900-02-29 " + clock, true
		}
		return "1900-02-29", true
	case days < 60:
		d = epoch1900.AddDate(0, 0, int(days)+1)
	default:
		d = epoch1900.AddDate(0, 0, int(days))
	}
	if kind == fmtDate {
		return d.Format("2006-01-02"), true
	}
	return d.Format("2006-01-02") + " " + clock, true
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
