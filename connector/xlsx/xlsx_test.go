package xlsx

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// xlsxParts are the parts of a minimal workbook; tests override some.
type xlsxParts map[string]string

const (
	partContentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`
	partRootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`
	partWorkbook = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr%s/><sheets><sheet name="Hidden" sheetId="2" state="hidden" r:id="rId3"/><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`
	partWorkbookRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`
	// Styles: 0 general, 1 date (14), 2 date-time (22), 3 custom dd.mm.yyyy,
	// 4 time (21), 5 elapsed [h]:mm:ss, 6 text (49), 7 custom 0.00E+00.
	partStyles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="3"><numFmt numFmtId="164" formatCode="dd\.mm\.yyyy"/><numFmt numFmtId="165" formatCode="[h]:mm:ss"/><numFmt numFmtId="166" formatCode="0.00E+00"/></numFmts><cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="8"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="22"/><xf numFmtId="164"/><xf numFmtId="21"/><xf numFmtId="165"/><xf numFmtId="49"/><xf numFmtId="166"/></cellXfs></styleSheet>`
	partSST = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="6" uniqueCount="6"><si><t>email</t></si><si><t>name</t></si><si><t>phone</t></si><si><r><t>Ann </t></r><r><rPr><b/></rPr><t>Lee</t></r><rPh><t>ignored</t></rPh></si><si><t>a_x000D__x000A_b</t></si><si><t xml:space="preserve"> spaced </t></si></sst>`
	partSheet2 = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>secret</t></is></c></row></sheetData></worksheet>`
)

// sheetXML wraps rows in a worksheet.
func sheetXML(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:C3"/><sheetData>` + rows + `</sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells></worksheet>`
}

// buildXLSX writes a workbook from the default parts and the overrides
// (an empty override removes the part).
func buildXLSX(t testing.TB, over xlsxParts) []byte {
	t.Helper()
	parts := xlsxParts{
		"[Content_Types].xml":        partContentTypes,
		"_rels/.rels":                partRootRels,
		"xl/workbook.xml":            strings.Replace(partWorkbook, "%s", "", 1),
		"xl/_rels/workbook.xml.rels": partWorkbookRels,
		"xl/styles.xml":              partStyles,
		"xl/sharedStrings.xml":       partSST,
		"xl/worksheets/sheet1.xml":   sheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>`),
		"xl/worksheets/sheet2.xml":   partSheet2,
	}
	for k, v := range over {
		parts[k] = v
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} {
		if parts[name] == "" {
			continue
		}
		// Stored, not deflated: fast enough for fuzzing; the reader does
		// not care.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		require.NoError(t, err)
		_, err = io.WriteString(w, parts[name])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// setupXLSX returns a context for a test.
func setupXLSX(t *testing.T) context.Context {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func openBytes(data []byte, cfg Config) (*Source, error) {
	return New(bytes.NewReader(data), int64(len(data)), cfg)
}

func TestXLSXCells(t *testing.T) {
	ctx := setupXLSX(t)
	header := `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>`
	tests := []struct {
		name      string
		rows      string
		date1904  bool
		want      [][]string
		wantLines []int
		wantCodes []intake.Code
	}{
		{name: "shared, rich and inline strings", rows: `<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="inlineStr"><is><r><t>in</t></r><r><t>line</t></r></is></c><c r="C2" t="s"><v>4</v></c></row><row r="3"><c r="A3" t="s"><v>5</v></c></row>`,
			want: [][]string{{"Ann Lee", "inline", "a\r\nb"}, {" spaced ", "", ""}}, wantLines: []int{2, 3}},
		{name: "numbers stay exact", rows: `<row r="2"><c r="A2"><v>8595602512225</v></c><c r="B2"><v>0.30000000000000004</v></c><c r="C2"><v>1E-3</v></c></row><row r="3"><c r="A3"><v>41800000.009999998</v></c><c r="B3" s="6"><v>00123</v></c><c r="C3" s="7"><v>1.5E+20</v></c></row>`,
			want: [][]string{{"8595602512225", "0.3", "0.001"}, {"41800000.01", "00123", "150000000000000000000"}}},
		{name: "dates 1900", rows: `<row r="2"><c r="A2" s="1"><v>44197</v></c><c r="B2" s="2"><v>44197.5</v></c><c r="C2" s="3"><v>44198</v></c></row><row r="3"><c r="A3" s="4"><v>0.75</v></c><c r="B3" s="5"><v>10.6320601851852</v></c><c r="C3" s="1"><v>60</v></c></row><row r="4"><c r="A4" s="1"><v>59</v></c><c r="B4" s="1"><v>61</v></c><c r="C4" s="1"><v>1</v></c></row>`,
			want: [][]string{{"2021-01-01", "2021-01-01 12:00:00", "2021-01-02"}, {"18:00:00", "255:10:10", "1900-02-29"}, {"1900-02-28", "1900-03-01", "1900-01-01"}}},
		{name: "dates 1904", date1904: true, rows: `<row r="2"><c r="A2" s="1"><v>42735</v></c><c r="B2" s="2"><v>0</v></c></row>`,
			want: [][]string{{"2021-01-01", "1904-01-01 00:00:00", ""}}},
		{name: "ISO date cells", rows: `<row r="2"><c r="A2" t="d"><v>2021-01-01T00:00:00</v></c><c r="B2" t="d"><v>2021-01-01T10:10:10</v></c><c r="C2" t="d"><v>10:10:10</v></c></row>`,
			want: [][]string{{"2021-01-01", "2021-01-01 10:10:10", "10:10:10"}}},
		{name: "booleans and formulas", rows: `<row r="2"><c r="A2" t="b"><v>1</v></c><c r="B2" t="b"><v>0</v></c><c r="C2" t="str"><f>A1&amp;"x"</f><v>emailx</v></c></row><row r="3"><c r="A3"><f>1+1</f><v>2</v></c><c r="B3"><f>1+1</f></c></row>`,
			want: [][]string{{"true", "false", "emailx"}, {"2", "", ""}}},
		{name: "empty rows skipped, lines kept", rows: `<row r="2"/><row r="3"><c r="A3" s="1"/></row><row r="7"><c r="B7" t="inlineStr"><is><t>x</t></is></c></row><row><c t="inlineStr"><is><t>no refs</t></is></c><c><v>5</v></c></row>`,
			want: [][]string{{"", "x", ""}, {"no refs", "5", ""}}, wantLines: []int{7, 8}},
		{name: "error cell", rows: `<row r="2"><c r="A2" t="e"><v>#DIV/0!</v></c><c r="B2"><v>1</v></c></row>`,
			want: [][]string{{"#DIV/0!", "1", ""}}, wantCodes: []intake.Code{intake.CodeCellError}},
		{name: "cell right of the header", rows: `<row r="2"><c r="A2"><v>1</v></c><c r="E2"><v>2</v></c></row><row r="3"><c r="A3"><v>3</v></c><c r="F3" s="1"/></row>`,
			want: [][]string{{"1", "", ""}, {"3", "", ""}}, wantCodes: []intake.Code{intake.CodeFieldCount, ""}},
		{name: "merged cells: top-left only", rows: `<row r="2"><c r="A2" t="inlineStr"><is><t>merged</t></is></c><c r="B2" s="1"/><c r="C2"><v>1</v></c></row>`,
			want: [][]string{{"merged", "", "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wb := strings.Replace(partWorkbook, "%s", "", 1)
			if tt.date1904 {
				wb = strings.Replace(partWorkbook, "%s", ` date1904="1"`, 1)
			}
			data := buildXLSX(t, xlsxParts{"xl/workbook.xml": wb, "xl/worksheets/sheet1.xml": sheetXML(header + tt.rows)})
			src, err := openBytes(data, Config{Name: "t.xlsx"})
			require.NoError(t, err)
			defer src.Close()
			res := connectortest.ReadAll(ctx, src)
			require.NoError(t, res.Fatal)
			assert.Equal(t, []string{"email", "name", "phone"}, res.Header)
			var got [][]string
			for _, r := range res.Rows {
				got = append(got, r.Cells)
			}
			assert.Equal(t, tt.want, got)
			if tt.wantLines != nil {
				var lines []int
				for _, r := range res.Rows {
					lines = append(lines, r.Line)
				}
				assert.Equal(t, tt.wantLines, lines)
			}
			var codes []intake.Code
			for _, e := range res.Errs {
				codes = append(codes, e.Code)
				assert.Equal(t, "t.xlsx", e.File)
			}
			var want []intake.Code
			for _, c := range tt.wantCodes {
				if c != "" {
					want = append(want, c)
				}
			}
			assert.Equal(t, want, codes)
		})
	}
}

func TestXLSXSheetChoiceAndHeader(t *testing.T) {
	ctx := setupXLSX(t)
	rows := `<row r="1"><c r="A1" t="inlineStr"><is><t>Title</t></is></c></row><row r="3"><c r="A3" t="inlineStr"><is><t> id </t></is></c><c r="B3" t="inlineStr"><is><t>Name</t></is></c></row><row r="4"><c r="A4"><v>1</v></c><c r="B4" t="inlineStr"><is><t>x</t></is></c></row>`
	data := buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(rows)})
	tests := []struct {
		name       string
		cfg        Config
		wantHeader []string
		wantRows   [][]string
		wantErr    error
	}{
		{name: "default: first visible, first non-empty row", wantHeader: []string{"Title"}, wantRows: [][]string{{" id "}, {"1"}}}, // both with wrong_field_count
		{name: "header row", cfg: Config{HeaderRow: 3}, wantHeader: []string{"id", "Name"}, wantRows: [][]string{{"1", "x"}}},
		{name: "no header", cfg: Config{NoHeader: true}, wantRows: [][]string{{"Title"}, {" id ", "Name"}, {"1", "x"}}},
		{name: "no header from row 4", cfg: Config{NoHeader: true, HeaderRow: 4}, wantRows: [][]string{{"1", "x"}}},
		{name: "hidden by name", cfg: Config{Sheet: "hidden"}, wantHeader: []string{"secret"}},
		{name: "by number", cfg: Config{SheetNumber: 1}, wantHeader: []string{"secret"}},
		{name: "missing sheet", cfg: Config{Sheet: "Nope"}, wantErr: ErrSheetNotFound},
		{name: "number out of range", cfg: Config{SheetNumber: 3}, wantErr: ErrSheetNotFound},
		{name: "empty header row", cfg: Config{HeaderRow: 2}, wantErr: connector.ErrMissingHeader},
		{name: "header row past the end", cfg: Config{HeaderRow: 9}, wantErr: connector.ErrMissingHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := openBytes(data, tt.cfg)
			if err == nil {
				defer src.Close()
				res := connectortest.ReadAll(ctx, src)
				err = res.Fatal
				if tt.wantErr == nil {
					require.NoError(t, err)
					assert.Equal(t, tt.wantHeader, res.Header)
					var got [][]string
					for _, r := range res.Rows {
						got = append(got, r.Cells)
					}
					assert.Equal(t, tt.wantRows, got)
				}
			}
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestXLSXFatal(t *testing.T) {
	ctx := setupXLSX(t)
	head := `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>0</v></c></row>`
	tests := []struct {
		name string
		data []byte
		cfg  Config
		want error
	}{
		{name: "not a zip", data: []byte("email,name\nann@example.com,Ann\n"), want: ErrFormat},
		{name: "empty", data: nil, want: ErrFormat},
		{name: "no workbook", data: buildXLSX(t, xlsxParts{"xl/workbook.xml": "", "_rels/.rels": ""}), want: ErrFormat},
		{name: "duplicate header", data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(head)}), want: connector.ErrDuplicateHeader},
		{name: "empty sheet", data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML("")}), want: ErrSheetEmpty},
		{name: "bad XML", data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1"><c r="A1"><v>1</v></row>`)}), want: ErrFormat},
		{name: "truncated sheet", data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1"><c r="A1"><v>1</v></c></row>`)[:200]}), want: ErrFormat},
		{name: "bad shared string index", data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1"><c r="A1" t="s"><v>99</v></c></row>`)}), want: ErrFormat},
		{name: "row beyond Excel", data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1048577"><c><v>1</v></c></row>`)}), want: ErrFormat},
		{name: "max rows", cfg: Config{MaxRows: 1}, data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1"><c><v>1</v></c></row><row r="2"><c><v>1</v></c></row><row r="3"><c><v>1</v></c></row>`)}), want: ErrTooLarge},
		{name: "max columns", cfg: Config{MaxColumns: 3}, data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1"><c r="D1"><v>1</v></c></row>`)}), want: ErrTooLarge},
		{name: "max total cell bytes", cfg: Config{MaxTotalCellBytes: 10}, data: buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1"><c t="s"><v>0</v></c></row><row r="2"><c t="s"><v>3</v></c></row>`)}), want: ErrTooLarge},
		{name: "max shared strings", cfg: Config{MaxSharedStrings: 2}, data: buildXLSX(t, nil), want: ErrTooLarge},
		{name: "max shared string bytes", cfg: Config{MaxSharedStringBytes: 8}, data: buildXLSX(t, nil), want: ErrTooLarge},
		{name: "long shared string", cfg: Config{MaxCellBytes: 4}, data: buildXLSX(t, nil), want: ErrTooLarge},
		{name: "max file bytes", cfg: Config{MaxFileBytes: 100}, data: buildXLSX(t, nil), want: ErrTooLarge},
		{name: "max unzip bytes", cfg: Config{MaxUnzipBytes: 1000}, data: buildXLSX(t, nil), want: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := openBytes(tt.data, tt.cfg)
			if err == nil {
				defer src.Close()
				err = connectortest.ReadAll(ctx, src).Fatal
				// Sticky.
				_, err2 := src.Read(ctx)
				assert.Equal(t, err, err2)
			}
			assert.ErrorIs(t, err, tt.want)
			t.Log(err)
		})
	}
}

func TestXLSXLongCellIsRowError(t *testing.T) {
	ctx := setupXLSX(t)
	long := strings.Repeat("x", 100)
	data := buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(`<row r="1"><c t="inlineStr"><is><t>h</t></is></c></row><row r="2"><c t="inlineStr"><is><t>` + long + `</t></is></c></row><row r="3"><c><v>1</v></c></row>`)})
	src, err := openBytes(data, Config{MaxCellBytes: 50, MaxSharedStrings: 10})
	require.NoError(t, err)
	defer src.Close()
	res := connectortest.ReadAll(ctx, src)
	require.NoError(t, res.Fatal)
	require.Len(t, res.Errs, 1)
	assert.Equal(t, intake.CodeCellTooLong, res.Errs[0].Code)
	assert.Equal(t, 2, res.Errs[0].Line)
	assert.Len(t, res.Rows, 2)
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	data := buildXLSX(t, nil)
	for _, cfg := range []Config{{SheetNumber: -1}, {HeaderRow: -1}, {MaxColumns: -1}, {MaxCellBytes: -2}, {HeaderRow: 2_000_000}} {
		_, err := openBytes(data, cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	_, err := New(nil, 0, Config{})
	assert.Error(t, err)
}

// failingReaderAt fails every read that reaches past off.
type failingReaderAt struct {
	r   io.ReaderAt
	off int64
}

var errDisk = errors.New("disk on fire")

func (f failingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	if off+int64(len(b)) > f.off {
		return 0, errDisk
	}
	return f.r.ReadAt(b, off)
}

func TestXLSXReaderErrors(t *testing.T) {
	ctx := setupXLSX(t)
	var rows strings.Builder
	rows.WriteString(`<row r="1"><c t="inlineStr"><is><t>n</t></is></c></row>`)
	for i := 2; i < 3000; i++ {
		rows.WriteString(`<row><c><v>` + strings.Repeat("7", i%13+1) + `</v></c></row>`)
	}
	data := buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": sheetXML(rows.String())})
	// The zip's directory is at the end: failing anywhere fails the open
	// or a read, with the reader's error, never a panic or a silent EOF.
	for _, off := range []int64{0, 10, 100, int64(len(data) / 3), int64(len(data) / 2), int64(len(data)) - 30} {
		src, err := New(failingReaderAt{bytes.NewReader(data), off}, int64(len(data)), Config{})
		if err == nil {
			err = connectortest.ReadAll(ctx, src).Fatal
			src.Close()
		}
		require.Error(t, err, "offset %d", off)
		assert.True(t, errors.Is(err, errDisk) || errors.Is(err, ErrFormat), "offset %d: %v", off, err)
	}
	// One byte at a time through iotest.OneByteReader, read into memory.
	b, err := io.ReadAll(iotest.OneByteReader(bytes.NewReader(data)))
	require.NoError(t, err)
	src, err := openBytes(b, Config{})
	require.NoError(t, err)
	res := connectortest.ReadAll(ctx, src)
	require.NoError(t, res.Fatal)
	assert.Len(t, res.Rows, 2998)
	read, total := src.Progress()
	assert.Equal(t, total, read)
	assert.Positive(t, total)
	require.NoError(t, src.Close())
	require.NoError(t, src.Close())
	_, err = src.Read(ctx)
	assert.ErrorIs(t, err, connector.ErrClosed)
}

func TestXLSXContext(t *testing.T) {
	setupXLSX(t)
	data := buildXLSX(t, nil)
	src, err := openBytes(data, Config{})
	require.NoError(t, err)
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = src.Header(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestXLSXGeneratedByExcelize(t *testing.T) {
	ctx := setupXLSX(t)
	f := excelize.NewFile()
	defer f.Close()
	require.NoError(t, f.SetSheetRow("Sheet1", "A1", &[]any{"email", "phone", "birthday", "vip", "ltv"}))
	day := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	require.NoError(t, f.SetSheetRow("Sheet1", "A2", &[]any{"ann@example.com", 4930123456789, day, true, 0.1 + 0.2}))
	style, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	require.NoError(t, err)
	require.NoError(t, f.SetCellStyle("Sheet1", "C2", "C2", style))
	path := filepath.Join(t.TempDir(), "gen.xlsx")
	require.NoError(t, f.SaveAs(path))
	src, err := Open(path, Config{})
	require.NoError(t, err)
	defer src.Close()
	assert.Equal(t, path, src.Name())
	res := connectortest.ReadAll(ctx, src)
	require.NoError(t, res.Fatal)
	require.Len(t, res.Rows, 1)
	assert.Equal(t, []string{"ann@example.com", "4930123456789", "1990-05-17", "true", "0.3"}, res.Rows[0].Cells)
	sheets, err := ListSheets(path, Config{})
	require.NoError(t, err)
	require.Len(t, sheets, 1)
	assert.Equal(t, "Sheet1", sheets[0].Name)
	assert.Equal(t, SheetVisible, sheets[0].State)
	_, err = Open(filepath.Join(t.TempDir(), "missing.xlsx"), Config{})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestListSheetsReader(t *testing.T) {
	setupXLSX(t)
	data := buildXLSX(t, nil)
	sheets, err := ListSheetsReader(bytes.NewReader(data), int64(len(data)), Config{})
	require.NoError(t, err)
	assert.Equal(t, []SheetInfo{
		{Name: "Hidden", Index: 0, State: SheetHidden, Dimension: ""},
		{Name: "Data", Index: 1, State: SheetVisible, Dimension: "A1:C3"},
	}, sheets)
	src, err := openBytes(data, Config{})
	require.NoError(t, err)
	defer src.Close()
	assert.Equal(t, "Data", src.Sheet().Name)
	assert.Len(t, src.Sheets(), 2)
}

func TestFormatKind(t *testing.T) {
	t.Parallel()
	tests := map[string]uint8{
		"General": fmtNumber, "0.00": fmtNumber, "0.00E+00": fmtNumber, "#,##0": fmtNumber, `"Tel: "0`: fmtNumber, "@": fmtNumber,
		"[Red][<=100]0;0": fmtNumber, "yyyy-mm-dd": fmtDate, `dd\.mm\.yyyy`: fmtDate, `mmmm" "yyyy`: fmtDate, "[$-409]d-mmm-yy;@": fmtDate,
		"h:mm AM/PM": fmtTime, "mm:ss": fmtTime, "[h]:mm:ss": fmtElapsed, "yyyy-mm-dd hh:mm": fmtDateTime, "m/d/yy h:mm": fmtDateTime,
		`[$-ja-JP-x-gannen]ggge"年"m"月"d"日"`: fmtDate,
	}
	for code, want := range tests {
		assert.Equal(t, want, formatKind(code), code)
	}
}

// peakHeap runs fn while sampling the heap in use and returns the peak.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return max(peak, ms.HeapInuse)
}
