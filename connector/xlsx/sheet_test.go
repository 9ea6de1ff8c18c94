package xlsx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/connector/connectortest"
)

// refNumber is appendNumber written the plain way: every non-integer
// parsed, rounded to 15 digits and formatted.
func refNumber(v string) string {
	if isIntLiteral([]byte(v)) {
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

// refSerial is appendSerial written with time.Time and fmt.
func refSerial(f float64, kind uint8, date1904 bool) (string, bool) {
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
	e1900 := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	var d time.Time
	switch {
	case date1904:
		d = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(days))
	case days == 60:
		if kind == fmtDateTime {
			return "1900-02-29 " + clock, true
		}
		return "1900-02-29", true
	case days < 60:
		d = e1900.AddDate(0, 0, int(days)+1)
	default:
		d = e1900.AddDate(0, 0, int(days))
	}
	if kind == fmtDate {
		return d.Format("2006-01-02"), true
	}
	return d.Format("2006-01-02") + " " + clock, true
}

// TestAppendNumber compares appendNumber with refNumber on edge cases and
// random decimals of every length up to 25 bytes (the short path's bound)
// and beyond.
func TestAppendNumber(t *testing.T) {
	t.Parallel()
	cases := []string{"0", "-0", "+0", "00123", "-007", "+5", "0.30000000000000004", "1E-3", "1.5E+20", "41800000.009999998",
		"4999.11", "4999.10", "-0.0", "+.5", ".5", "5.", ".", "-.", "+", "-", "", "1.2.3", "0x1p3", "Inf", "NaN", "1_0.5",
		"123456789012345.6", "12345678901234.56", "0.000000000000000000001", "0.0000000000000000000001234",
		"999999999999999.9", "100000000000000000000.5", "0.1000000000000000", "-123.4500", "1e400", "-1e400",
		"0." + strings.Repeat("0", 320) + "1", "0." + strings.Repeat("0", 319) + "123456789012345", "1" + strings.Repeat("0", 310) + "."}
	rng := rand.New(rand.NewPCG(3, 4))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
			if rng.IntN(4) == 0 {
				b[i] = '0'
			}
		}
		return string(b)
	}
	for range 200_000 {
		s := digits(rng.IntN(18)) + "." + digits(rng.IntN(18))
		switch rng.IntN(4) {
		case 0:
			s = "-" + s
		case 1:
			s = "+" + s
		}
		cases = append(cases, s)
	}
	for _, v := range cases {
		got := string(appendNumber([]byte("x"), []byte(v)))
		if want := "x" + refNumber(v); got != want {
			t.Fatalf("appendNumber(%q) = %q, want %q", v, got, want)
		}
	}
}

// TestAppendSerial compares appendSerial with refSerial on edge serials
// and random ones over Excel's whole range, in both date systems.
func TestAppendSerial(t *testing.T) {
	t.Parallel()
	serials := []float64{-1, 0, 0.5, 0.99999, 0.999999999, 1, 59, 59.99999999, 60, 60.5, 61, 44197, 44197.5, 10.6320601851852,
		2958465, 2958465.99999, 2958465.999999999, 2958466, math.NaN(), math.Inf(1), 1e-9}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100_000 {
		serials = append(serials, rng.Float64()*(maxSerial+2), float64(rng.IntN(maxSerial+2))+float64(rng.IntN(86400))/86400)
	}
	for _, f := range serials {
		for _, k := range []uint8{fmtDate, fmtDateTime, fmtTime, fmtElapsed} {
			for _, d1904 := range []bool{false, true} {
				want, wok := refSerial(f, k, d1904)
				got, ok := appendSerial([]byte("x"), f, k, d1904)
				if ok != wok || (ok && string(got) != "x"+want) {
					t.Fatalf("appendSerial(%v, %d, %v) = %q %v, want %q %v", f, k, d1904, got, ok, want, wok)
				}
			}
		}
	}
}

// readBoth reads the sheet of data with the cell shortcut and token by
// token, and fails when they differ in rows, row errors or fatal error.
func readBoth(t *testing.T, data []byte, cfg Config) {
	t.Helper()
	var res [2]string
	for i := range res {
		src, err := openBytes(data, cfg)
		if err != nil {
			return
		}
		src.pkg.tokenByToken = i == 1
		r := connectortest.ReadAll(t.Context(), src)
		src.Close()
		var b strings.Builder
		fmt.Fprintf(&b, "header %q fatal %v\n", r.Header, r.Fatal)
		for _, row := range r.Rows {
			fmt.Fprintf(&b, "%d %q\n", row.Line, row.Cells)
		}
		for _, e := range r.Errs {
			fmt.Fprintf(&b, "%v\n", e)
		}
		res[i] = b.String()
	}
	if res[0] != res[1] {
		t.Fatalf("cells read at once:\n%s\ntoken by token:\n%s", res[0], res[1])
	}
}

var leafSeeds = []string{
	`<row r="1"><c r="A1" t="inlineStr"><is><t>Zürich</t></is></c><c r="B1" t="inlineStr"><is><t>São Paulo</t></is></c><c r="C1"><v>é</v></c></row>`,
	`<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" s="1"><v>32602</v></c><c r="C2" s="2"><v>21657.0231056211</v></c></row>`,
	`<row r="3"><c r="A3" t="inlineStr"><is><t>a&amp;b</t></is></c><c r="B3" t="b"><v>1</v></c><c r="C3" t="inlineStr"><is><t></t></is></c></row>`,
	`<row><c><v></v></c><c t="e"><v>#N/A</v></c><x:c xmlns:x="m"><v>1</v></x:c><c><v>1</v></c ><c><v> 2 </v></c><c><v>a]b</v></c><c><v>` + "\xff" + `</v></c></row>`,
	`<row><c t="inlineStr"><is><t xml:space="preserve"> x </t></is></c><c t="inlineStr"><is><t>x</t><rPh><t>y</t></rPh></is></c><c t="str"><f>1</f><v>2</v></c></row>`,
}

// TestCellShortcut: reading the usual cells at once gives what reading
// them token by token gives.
func TestCellShortcut(t *testing.T) {
	t.Parallel()
	for _, rows := range leafSeeds {
		for _, cfg := range []Config{{}, {NoHeader: true}, {NoHeader: true, MaxCellBytes: 3}} {
			readBoth(t, buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(rows)}), cfg)
		}
	}
}

// FuzzCellShortcut is TestCellShortcut on mutated sheets.
func FuzzCellShortcut(f *testing.F) {
	for _, rows := range leafSeeds {
		f.Add(rows)
	}
	f.Fuzz(func(t *testing.T, rows string) {
		if len(rows) > 1<<16 {
			return
		}
		readBoth(t, buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(rows)}), Config{NoHeader: true, MaxCellBytes: 8})
	})
}
