package mapping

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/intakehq/intake"
)

func FuzzDetectFormat(f *testing.F) {
	for _, c := range [][3]string{
		{"01/02/2024", "25/12/1990", ""}, {"01/02/2024", "03/04/1990", "05/06/2000"}, {"1.234,56", "12,5", "7"}, {"1,234", "5,678", ""},
		{"3 March 2021", "Sep 5, 2020", "x"}, {"45380", "31118", ""}, {"2026-03-29T01:30:00+01:00", "3/29/2026 1:30 PM", ""}, {"9:05 am", "13:30", ""},
	} {
		for typ := range uint8(13) {
			f.Add(c[0], c[1], c[2], typ)
		}
	}
	if hasCorpora() {
		cells := corpusCells(f, "test_date_format.csv")
		f.Add(cells[1], cells[len(cells)-1], "", uint8(intake.TypeDate))
		cells = corpusCells(f, "test_locale.csv")
		f.Add(cells[3], cells[4], cells[5], uint8(intake.TypeDecimal))
	}
	f.Fuzz(func(t *testing.T, a, b, c string, typ uint8) {
		ft := intake.FieldType(typ % 13)
		d, err := DetectFormat([]string{a, b, c}, ft)
		if d.Ambiguous != errors.Is(err, ErrAmbiguousFormat) {
			t.Fatalf("Ambiguous %v but error %v", d.Ambiguous, err)
		}
		if d.Matched > d.Values || d.Values > 3 {
			t.Fatalf("bad counts %+v", d)
		}
		if err != nil || ft == intake.TypeInvalid {
			return
		}
		switch ft {
		case intake.TypeDate, intake.TypeTime, intake.TypeTimestamp, intake.TypeDecimal:
		default:
			return
		}
		if 2*d.Matched <= d.Values {
			t.Fatalf("chose a format that reads %d of %d", d.Matched, d.Values)
		}
		cv, cerr := newConverter(intake.Field{Name: "x", Type: ft}, &Column{Format: d.Format, Decimal: d.Decimal}, "", false)
		if cerr != nil {
			t.Fatalf("detected %+v does not compile: %v", d, cerr)
		}
		n := 0
		for _, v := range []string{a, b, c} {
			if v = trimCell(v); v != "" {
				if _, ok := cv.parse(v); ok {
					n++
				}
			}
		}
		if n != d.Matched {
			t.Fatalf("detected %+v reads %d values", d, n)
		}
	})
}

func FuzzTransform(f *testing.F) {
	for _, c := range []struct {
		name, key, val string
		num            float64
		cell           string
	}{
		{"split", "sep", " ", 0, "Anna Lena Schmidt"}, {"split", "sep", ",", -1, "a,b"}, {"regex_extract", "pattern", `(\d+)`, 1, "ID-42"},
		{"regex_replace", "pattern", `\s+`, 0, "a  b"}, {"title", "", "", 0, "o'neil-smith"}, {"collapse_spaces", "", "", 0, " a \t b "},
		{"replace", "old", "at", 0, "a at b"}, {"regex_extract", "pattern", `(?P<x>a)`, 0, "\xff"}, {"upper", "", "", 0, "straße"},
	} {
		f.Add(c.name, c.key, c.val, c.num, c.cell)
	}
	reg := DefaultTransforms()
	f.Fuzz(func(t *testing.T, name, key, val string, num float64, cell string) {
		args := map[string]any{}
		if key != "" && key != "name" {
			args[key] = val
		}
		switch name {
		case "split":
			args["index"] = num
		case "regex_extract":
			args["group"] = num
		}
		xf, err := reg.compile([]Transform{{Name: name, Args: args}})
		if err != nil {
			return
		}
		out, err := xf[0](cell)
		if err != nil {
			return
		}
		if utf8.ValidString(cell) && !utf8.ValidString(out) && name != "split" && name != "replace" {
			t.Fatalf("%s(%q) = %q: invalid UTF-8 from valid input", name, cell, out)
		}
		// The rule round-trips through JSON.
		b, err := Transform{Name: name, Args: args}.MarshalJSON()
		if err != nil {
			return
		}
		var back Transform
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s does not read back: %v", b, err)
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2026-03-29T01:30:00+01:00", "2026-03-29T01:30:00Z", "2026-03-29 01:30:00", "2026-03-29T01:30:00.123456789-05:30",
		"2026-03-29T01:30+01", "2026-03-29T01:30:00+0100", "2026-03-29t01:30:00z", "2024-02-30T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseTimestamp(nil, s, nil)
		tm, err := time.Parse(time.RFC3339Nano, s)
		// time.Parse also takes one-digit hours ("T0:00:00"), which RFC
		// 3339 does not: compare on two-digit clocks only.
		// It also takes offset minutes of 60 and more ("+00:60"), which we
		// reject.
		badOffset := len(s) > 6 && s[len(s)-3] == ':' && s[len(s)-2] >= '6'
		if err == nil && tm.Year() > 0 && s[10] == 'T' && len(s) > 19 && s[13] == ':' && s[16] == ':' && !badOffset {
			if !ok {
				t.Fatalf("time.Parse reads %q as %s, we do not", s, tm)
			}
			if want := intake.Timestamp(tm); v != want {
				t.Fatalf("%q: ours %s, time.Parse %s", s, v, want)
			}
		}
		if ok && v.Kind() != intake.KindTimestamp {
			t.Fatalf("%q: kind %s", s, v.Kind())
		}
	})
}

func FuzzExcelSerial(f *testing.F) {
	for _, s := range []string{"1", "59", "60", "61", "45380.5", "2958465", "0", "0.999999999999", "45380.", ".5"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, mac bool) {
		system := 1900
		if mac {
			system = 1904
		}
		y, m, d, ms, ok := excelSerial(s, system)
		if !ok {
			return
		}
		if y < 1900 || y > 9999 || ms < 0 || ms >= 86400000 {
			t.Fatalf("%q/%d: %d-%d-%d %dms", s, system, y, m, d, ms)
		}
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		if day.Year() != y || day.Month() != m || day.Day() != d {
			t.Fatalf("%q: impossible date", s)
		}
		if system == 1900 && y == 1900 && m == 2 && d == 29 {
			t.Fatalf("%q: the phantom 1900-02-29", s)
		}
	})
}
