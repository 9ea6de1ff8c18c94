package export

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/intakehq/intake"
)

// MaxXLSXRecords is the most records an XLSX export holds: a worksheet has
// 1,048,576 rows and the first is the header.
const MaxXLSXRecords = excelize.TotalRows - 1

// Excel date serials (1900 date system) of the dates an XLSX export writes as
// dates: from 1900-03-01 (before it Excel counts a 29 February 1900 that did
// not exist, and it has no dates before 1900) to 9999-12-31.
const (
	excelEpochOffset = 25569   // serial of 1970-01-01
	excelMinDate     = 61      // 1900-03-01
	excelMaxDate     = 2958465 // 9999-12-31
)

// maxExactDigits is the number of significant decimal digits that survive a
// round trip through float64 (DBL_DIG) and that Excel keeps in a number.
const maxExactDigits = 15

type xlsxWriter struct {
	out   io.Writer
	f     *excelize.File
	sw    *excelize.StreamWriter
	s     *intake.Schema
	idx   []int
	raw   bool
	bold  int // header cell style
	date  int // yyyy-mm-dd style
	row   int // last row written, 0 before the header
	cells []excelize.Cell
	vals  []any
	done  bool
	err   error
}

// sheetName returns the worksheet name for object type obj: the name itself
// when Excel accepts it, else "Records".
func sheetName(obj string) string {
	if obj == "" || utf8.RuneCountInString(obj) > excelize.MaxSheetNameLength ||
		strings.ContainsAny(obj, `:\/?*[]`) || strings.HasPrefix(obj, "'") || strings.HasSuffix(obj, "'") ||
		strings.EqualFold(obj, "History") { // reserved by Excel
		return "Records"
	}
	return obj
}

func newXLSX(w io.Writer, s *intake.Schema, idx []int, raw bool) (_ *xlsxWriter, err error) {
	f := excelize.NewFile()
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	// excelize's WriteTo builds the whole zip in a bytes.Buffer; have its zip
	// writer write straight to w instead, so that the sheet streams from the
	// StreamWriter's temp file to w and the buffer stays empty.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	name := sheetName(s.Object())
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return nil, err
	}
	x := &xlsxWriter{out: w, f: f, s: s, idx: idx, raw: raw,
		cells: make([]excelize.Cell, len(idx)+1), vals: make([]any, len(idx)+1)}
	if x.bold, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return nil, err
	}
	dateFmt := "yyyy-mm-dd"
	if x.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return nil, err
	}
	if x.sw, err = f.NewStreamWriter(name); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *xlsxWriter) header() error {
	for n, i := range x.idx {
		x.cells[n] = excelize.Cell{StyleID: x.bold, Value: columnName(x.s, i)}
		x.vals[n] = &x.cells[n]
	}
	n := len(x.idx)
	x.cells[n] = excelize.Cell{StyleID: x.bold, Value: "opted_out"}
	x.vals[n] = &x.cells[n]
	x.row = 1
	return x.sw.SetRow("A1", x.vals)
}

func (x *xlsxWriter) Write(rec *intake.Record) error {
	if x.done {
		return errors.New("export: xlsx write after Flush")
	}
	if x.err != nil {
		return x.err
	}
	if x.row == 0 {
		if x.err = x.header(); x.err != nil {
			return x.err
		}
	}
	if x.row > MaxXLSXRecords {
		x.err = fmt.Errorf("export: an XLSX sheet holds at most %d records (export csv or jsonl, or filter)", MaxXLSXRecords)
		return x.err
	}
	for n, i := range x.idx {
		ft, v := column(x.s, i, rec)
		c := &x.cells[n]
		*c = excelize.Cell{}
		x.vals[n] = c
		switch v.Kind() {
		case intake.KindNull:
			x.vals[n] = nil
		case intake.KindBool:
			c.Value = v.BoolValue()
		case intake.KindDecimal:
			if f, ok := exactFloat(v.Str()); ok {
				c.Value = f
			} else {
				c.Value = v.Str()
			}
		case intake.KindDate:
			_, days := v.Raw()
			if serial := days + excelEpochOffset; serial >= excelMinDate && serial <= excelMaxDate {
				c.Value, c.StyleID = serial, x.date
			} else {
				c.Value = v.String()
			}
		default: // text, email, phone, id, country, select, list, time, timestamp
			t := v.String()
			if !x.raw && escapes(ft) {
				t = Neutralize(t)
			}
			if len(t) > excelize.TotalCellChars && len(utf16.Encode([]rune(t))) > excelize.TotalCellChars {
				x.err = fmt.Errorf("export: field %s of record %s is longer than the %d characters an XLSX cell holds (export csv or jsonl)",
					columnName(x.s, i), rec.ID, excelize.TotalCellChars)
				return x.err
			}
			c.Value = t
		}
	}
	n := len(x.idx)
	x.cells[n] = excelize.Cell{Value: rec.OptedOut}
	x.vals[n] = &x.cells[n]
	x.row++
	x.err = x.sw.SetRow("A"+strconv.Itoa(x.row), x.vals)
	return x.err
}

// Flush writes the header when no record was written, ends the sheet and
// writes the workbook to the underlying writer, then removes the temp file.
// Later calls return the first call's result.
func (x *xlsxWriter) Flush() error {
	if x.done {
		return x.err
	}
	x.done = true
	defer func() {
		if cerr := x.f.Close(); x.err == nil {
			x.err = cerr
		}
	}()
	if x.err != nil {
		return x.err
	}
	if x.row == 0 {
		if x.err = x.header(); x.err != nil {
			return x.err
		}
	}
	if x.err = x.sw.Flush(); x.err != nil {
		return x.err
	}
	// The zip goes straight to x.out (see newXLSX); the buffer WriteTo
	// copies after it is empty.
	_, x.err = x.f.WriteTo(x.out)
	return x.err
}

// exactFloat returns the float64 of canonical decimal s when it has at most
// 15 significant digits and lies in Excel's number range, so that the float,
// and Excel, show exactly s again.
func exactFloat(s string) (float64, bool) {
	digits, seen, trailing := 0, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		if c == '0' && !seen {
			continue // leading zeros: "0.0012"
		}
		seen = true
		digits++
		if c == '0' {
			trailing++
		} else {
			trailing = 0
		}
	}
	// Trailing zeros of the integer part ("1200") are not significant
	// (a canonical fraction never ends in 0).
	if digits-trailing > maxExactDigits {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	if a := f; a != 0 {
		if a < 0 {
			a = -a
		}
		if a < 2.2250738585072014e-308 || a > 9.99999999999999e307 {
			return 0, false
		}
	}
	return f, true
}
