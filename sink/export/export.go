// Package export writes stored records to files: CSV, JSON Lines and XLSX, with
// the canonical values of Intake's records (dates YYYY-MM-DD, decimals as
// plain numbers, phones in E.164, countries as ISO alpha-2), a choice of
// fields and an optional filter.
//
// # Formats
//
// [FormatCSV] writes a header line of field names followed by "opted_out",
// then one line per record. With Options.ID each format writes the record's
// id first, under "id". [FormatJSONL] writes one JSON object per line,
// keyed by field name, plus "opted_out": true|false; null values are written
// as JSON null, bools as JSON booleans, lists as arrays, everything else as
// strings in canonical form.
//
// [FormatXLSX] writes one worksheet, named after the schema's object type
// ("Records" when Excel would not accept that name), with a bold header row
// of the field names and "opted_out", then one row per record, with typed
// cells:
//   - decimals as numbers when they have at most 15 significant digits (the
//     digits a float64, and Excel, keep exactly), else as text in canonical
//     form, so that "12345678901234567.5" is not rounded;
//   - dates as Excel dates formatted yyyy-mm-dd, so that they sort and
//     compute as dates; dates before 1900-03-01, which Excel cannot show
//     correctly, are written as ISO text (YYYY-MM-DD);
//   - bools (and opted_out) as booleans; nulls as empty cells;
//   - everything else as text, in the canonical form of the CSV export: ids,
//     emails and phones always (a 13-digit id must not become a float, an
//     E.164 phone keeps its "+"), times and RFC 3339 timestamps (Excel has no
//     zones and a float would lose microseconds), lists joined with "|".
//
// The writer streams rows through excelize's StreamWriter, which keeps them
// in a temp file, and writes the zip straight to the io.Writer in Flush:
// memory stays flat however many records. A sheet holds at most
// [MaxXLSXRecords] records, and a cell 32767 characters; Write fails beyond
// either rather than cut data.
//
// # Spreadsheet safety
//
// A CSV opened in a spreadsheet runs cells that begin with = + - @ TAB CR LF
// or NUL as formulas (OWASP "CSV injection"). By default the CSV and XLSX
// writers prefix such cells of text-like fields (text, email, select, id,
// lists) with a single quote, as OWASP recommends. Numbers, dates and E.164
// phones are never altered: a negative decimal stays "-12.5". Options.Raw
// turns the escaping off.
//
// An XLSX text cell is never run as a formula when opened, but the same
// escaping applies: a sheet saved again as CSV, or its cells copied into
// another sheet, turn "=..." back into a live formula (and DDE payloads), so
// OWASP recommends escaping spreadsheet exports of any format. The quote is
// part of the cell's text, not Excel's hidden quote prefix, so that it
// survives such a re-export.
package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
)

// Format is an export file format.
type Format string

// The export formats.
const (
	FormatCSV   Format = "csv"
	FormatJSONL Format = "jsonl"
	FormatXLSX  Format = "xlsx"
)

// ParseFormat returns the format with the given name ("csv", "jsonl", "xlsx";
// "json" and "ndjson" mean jsonl).
func ParseFormat(name string) (Format, error) {
	switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), ".")) {
	case "csv":
		return FormatCSV, nil
	case "jsonl", "ndjson", "json":
		return FormatJSONL, nil
	case "xlsx":
		return FormatXLSX, nil
	}
	return "", fmt.Errorf("export: unknown format %q (want csv, jsonl or xlsx)", name)
}

// Options select what is exported.
type Options struct {
	// Fields are the fields to write, in order; nil writes all of the
	// schema's fields.
	Fields []string
	// Filter, when set, exports only the records for which it returns true.
	Filter func(*intake.Record) bool
	// Raw turns off the CSV-injection escaping of the CSV and XLSX formats.
	Raw bool
	// ID writes each record's id first, under "id" (a CSV and XLSX column,
	// a JSON Lines key): the id a record-id rule (intake.KeySpec.RecordID,
	// an Acoustic map's RECIPIENT_ID) matches. A schema with a field named
	// id cannot be exported with it.
	ID bool
}

// Writer writes records in one format.
type Writer interface {
	// Write writes one record.
	Write(rec *intake.Record) error
	// Flush writes buffered data and reports any error so far.
	Flush() error
}

// NewWriter returns a writer of records of schema s in format f to w. Call
// Flush at the end, also after an error: the XLSX writer writes the whole
// workbook to w in Flush and removes its temp file there.
func NewWriter(w io.Writer, f Format, s *intake.Schema, opt Options) (Writer, error) {
	idx, err := fieldIndexes(s, opt.Fields)
	if err != nil {
		return nil, err
	}
	if opt.ID {
		if s.Index("id") >= 0 {
			return nil, fmt.Errorf("export: %s has a field named id, which the record id would shadow: export without Options.ID", s.Object())
		}
		idx = append([]int{idColumn}, idx...)
	}
	switch f {
	case FormatCSV:
		return &csvWriter{w: csv.NewWriter(w), s: s, idx: idx, raw: opt.Raw}, nil
	case FormatJSONL:
		return newJSONL(w, s, idx), nil
	case FormatXLSX:
		return newXLSX(w, s, idx, opt.Raw)
	}
	return nil, fmt.Errorf("export: unknown format %q (want csv, jsonl or xlsx)", f)
}

// Export streams every record of schema s from src through opt.Filter to w in
// format f, and returns the number of records written.
func Export(ctx context.Context, w io.Writer, f Format, s *intake.Schema, src sink.Scanner, opt Options) (int64, error) {
	ew, err := NewWriter(w, f, s, opt)
	if err != nil {
		return 0, err
	}
	var n int64
	err = src.Scan(ctx, s, func(rec *intake.Record) error {
		if opt.Filter != nil && !opt.Filter(rec) {
			return nil
		}
		n++
		return ew.Write(rec)
	})
	if ferr := ew.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// CheckFields reports whether every name of fields is a field of s (nil
// fields, all of them, always is), with the error [NewWriter] would return:
// a caller can check a user's field list before it creates the output file.
func CheckFields(s *intake.Schema, fields []string) error {
	_, err := fieldIndexes(s, fields)
	return err
}

// idColumn stands for the record's id among a writer's field indexes.
const idColumn = -1

// column returns the name and the value of a writer's column i: a field
// of s, or the record id (idColumn).
func column(s *intake.Schema, i int, rec *intake.Record) (intake.FieldType, intake.Value) {
	if i == idColumn {
		return intake.TypeID, intake.Text(rec.ID)
	}
	return s.Type(i), rec.Values[i]
}

// columnName returns the header name of a writer's column i.
func columnName(s *intake.Schema, i int) string {
	if i == idColumn {
		return "id"
	}
	return s.Name(i)
}

func fieldIndexes(s *intake.Schema, fields []string) ([]int, error) {
	if fields == nil {
		idx := make([]int, s.Len())
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	idx := make([]int, 0, len(fields))
	var unknown []string
	for _, f := range fields {
		i := s.Index(strings.TrimSpace(f))
		if i < 0 {
			unknown = append(unknown, f)
			continue
		}
		idx = append(idx, i)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("export: unknown field(s) %s of %q (fields: %s)",
			strings.Join(unknown, ", "), s.Object(), strings.Join(s.Names(), ", "))
	}
	return idx, nil
}

// Neutralize returns s prefixed with a single quote when a spreadsheet would
// run it as a formula: when it begins with = + - @ TAB CR LF or NUL.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n', 0:
		return "'" + s
	}
	return s
}

// escapes reports whether values of field type t are escaped: text-like
// types whose values a user typed. Numbers, dates, bools and E.164 phones
// have canonical forms that cannot hold a formula.
func escapes(t intake.FieldType) bool {
	switch t {
	case intake.TypeDecimal, intake.TypeDate, intake.TypeTime, intake.TypeTimestamp, intake.TypeBool, intake.TypePhone, intake.TypeCountry:
		return false
	}
	return true
}

type csvWriter struct {
	w      *csv.Writer
	s      *intake.Schema
	idx    []int
	raw    bool
	header bool
	rec    []string
}

func (c *csvWriter) Write(rec *intake.Record) error {
	if !c.header {
		h := make([]string, 0, len(c.idx)+1)
		for _, i := range c.idx {
			h = append(h, columnName(c.s, i))
		}
		if err := c.w.Write(append(h, "opted_out")); err != nil {
			return err
		}
		c.header = true
	}
	c.rec = c.rec[:0]
	for _, i := range c.idx {
		t, x := column(c.s, i, rec)
		v := x.String()
		if !c.raw && escapes(t) {
			v = Neutralize(v)
		}
		c.rec = append(c.rec, v)
	}
	ob := "false"
	if rec.OptedOut {
		ob = "true"
	}
	return c.w.Write(append(c.rec, ob))
}

func (c *csvWriter) Flush() error {
	if !c.header { // no records: still write the header
		h := make([]string, 0, len(c.idx)+1)
		for _, i := range c.idx {
			h = append(h, columnName(c.s, i))
		}
		if err := c.w.Write(append(h, "opted_out")); err != nil {
			return err
		}
		c.header = true
	}
	c.w.Flush()
	return c.w.Error()
}

type jsonlWriter struct {
	w    *bufio.Writer
	s    *intake.Schema
	idx  []int
	keys [][]byte // pre-encoded `"name":`
	buf  []byte
}

func newJSONL(w io.Writer, s *intake.Schema, idx []int) *jsonlWriter {
	j := &jsonlWriter{w: bufio.NewWriter(w), s: s, idx: idx}
	for _, i := range idx {
		k, _ := json.Marshal(columnName(s, i))
		j.keys = append(j.keys, append(k, ':'))
	}
	return j
}

func (j *jsonlWriter) Write(rec *intake.Record) error {
	b := append(j.buf[:0], '{')
	for n, i := range j.idx {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, j.keys[n]...)
		_, v := column(j.s, i, rec)
		switch v.Kind() {
		case intake.KindNull:
			b = append(b, "null"...)
		case intake.KindBool:
			b = v.AppendString(b)
		case intake.KindList:
			items, _ := json.Marshal(v.Items())
			b = append(b, items...)
		default:
			b = appendJSONString(b, v.String())
		}
	}
	if len(j.idx) > 0 {
		b = append(b, ',')
	}
	if rec.OptedOut {
		b = append(b, `"opted_out":true}`...)
	} else {
		b = append(b, `"opted_out":false}`...)
	}
	b = append(b, '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonlWriter) Flush() error { return j.w.Flush() }

// appendJSONString appends s as a JSON string; plain ASCII takes a fast path.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
