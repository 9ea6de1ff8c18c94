package xlsx

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/intakehq/intake"
)

// fuzzConfig keeps a fuzz iteration small in memory and time.
var fuzzConfig = Config{
	MaxUnzipBytes:        8 << 20,
	MaxRows:              20_000,
	MaxColumns:           1024,
	MaxCellBytes:         4096,
	MaxTotalCellBytes:    1 << 20,
	MaxSharedStrings:     10_000,
	MaxSharedStringBytes: 1 << 20,
}

// checkXLSX reads a workbook and checks the source's invariants.
func checkXLSX(t *testing.T, data []byte, cfg Config) {
	src, err := openBytes(data, cfg)
	if err != nil {
		return
	}
	defer src.Close()
	ctx := context.Background()
	header, err := src.Header(ctx)
	if err != nil {
		return
	}
	for n := 0; ; n++ {
		row, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		var re *intake.RowError
		if err != nil && !errors.As(err, &re) {
			if _, err2 := src.Read(ctx); err2 != err && err2.Error() != err.Error() {
				t.Fatalf("fatal error not sticky: %v then %v", err, err2)
			}
			break
		}
		if row.Line < 1 || row.Line > excelMaxRows {
			t.Fatalf("row line %d out of range", row.Line)
		}
		if header != nil && len(row.Cells) != len(header) {
			t.Fatalf("row %d has %d cells, header %d", row.Line, len(row.Cells), len(header))
		}
		if len(row.Cells) > cfg.MaxColumns {
			t.Fatalf("row %d has %d cells, more than MaxColumns", row.Line, len(row.Cells))
		}
		for _, c := range row.Cells {
			if len(c) > cfg.MaxCellBytes {
				t.Fatalf("cell of %d bytes over MaxCellBytes", len(c))
			}
		}
		if int64(n) > cfg.MaxRows {
			t.Fatalf("more than MaxRows rows")
		}
	}
}

// FuzzXLSX mutates the bytes of a small valid workbook (the zip itself) and
// the XML of its sheet and shared strings.
func FuzzXLSX(f *testing.F) {
	valid := buildXLSX(f, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" s="1"><v>44197</v></c><c r="B2" t="inlineStr"><is><r><t>x</t></r></is></c><c r="C2" t="e"><v>#N/A</v></c></row><row r="4"><c r="A4" t="b"><v>1</v></c><c r="B4"><v>1E-3</v></c></row>`)})
	f.Add(valid, []byte(nil), []byte(nil))
	f.Add([]byte(nil), []byte(sheetXML(`<row r="1"><c r="A1" t="s"><v>3</v></c><c r="C1" s="5"><v>1.5</v></c></row><row><c t="str"><f>1</f><v>a_x000D_b</v></c></row>`)), []byte(partSST))
	f.Add([]byte(nil), []byte(sheetXML(`<row r="1"><c r="XFD1"><v>1</v></c></row>`)), []byte(`<sst><si><t>a</t></si><si><r><t>b</t></r><rPh><t>c</t></rPh></si></sst>`))
	f.Add([]byte(nil), []byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet><sheetData><row><c t="inlineStr"><is><t>&a;</t></is></c></row></sheetData></worksheet>`), []byte(nil))
	f.Fuzz(func(t *testing.T, data, sheet, sst []byte) {
		if len(data)+len(sheet)+len(sst) > 1<<20 {
			return
		}
		if len(sheet) > 0 || len(sst) > 0 {
			over := xlsxParts{}
			if len(sheet) > 0 {
				over["xl/worksheets/sheet1.xml"] = string(sheet)
			}
			if len(sst) > 0 {
				over["xl/sharedStrings.xml"] = string(sst)
			}
			data = buildXLSX(t, over)
		}
		checkXLSX(t, data, fuzzConfig)
		cfg := fuzzConfig
		cfg.NoHeader = true
		checkXLSX(t, data, cfg)
	})
}
