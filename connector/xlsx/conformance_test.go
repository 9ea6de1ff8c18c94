package xlsx

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/internal/testcorpora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grid reads a sheet without header: the non-empty rows by sheet row number.
func grid(t *testing.T, ctx context.Context, path string, cfg Config) (map[int][]string, []*intake.RowError) {
	t.Helper()
	cfg.NoHeader = true
	src, err := Open(path, cfg)
	require.NoError(t, err, path)
	defer src.Close()
	res := connectortest.ReadAll(ctx, src)
	require.NoError(t, res.Fatal, path)
	g := map[int][]string{}
	for _, r := range res.Rows {
		g[r.Line] = r.Cells
	}
	return g, res.Errs
}

// cell returns the 1-based row and 0-based column of g.
func cell(g map[int][]string, row, col int) string {
	return intake.Row{Cells: g[row]}.Cell(col)
}

// TestXLSXConformance checks the values written in the corpora's
// EXPECTED.md files (calamine's, excelize's and POI's test suites). Where
// Intake's documented behaviour differs, the case says so and why.
func TestXLSXConformance(t *testing.T) {
	ctx := setupXLSX(t)
	c := testcorpora.Dir(t)
	cal := func(f string) string { return filepath.Join(c, "calamine-xlsx", f) }
	exc := func(f string) string { return filepath.Join(c, "excelize-xlsx", f) }
	poi := func(f string) string { return filepath.Join(c, "apache-poi-xlsx", f) }

	t.Run("calamine dates 1900 and 1904", func(t *testing.T) {
		for _, f := range []string{"date.xlsx", "date_1904.xlsx"} {
			g, _ := grid(t, ctx, cal(f), Config{})
			assert.Equal(t, map[int][]string{
				1: {"2021-01-01", "15"}, 2: {"2021-01-02", "16"},
				3: {"255:10:10", "17"}, // duration format [h]:mm:ss: 255h10m10s
			}, g, f)
		}
	})
	t.Run("calamine ISO and quoted-format dates", func(t *testing.T) {
		g, _ := grid(t, ctx, cal("date_iso.xlsx"), Config{})
		assert.Equal(t, []string{"2021-01-01", "2021-01-01 10:10:10", "10:10:10"}, []string{cell(g, 1, 0), cell(g, 2, 0), cell(g, 3, 0)})
		g, _ = grid(t, ctx, cal("date_quoted_format.xlsx"), Config{})
		for r := 1; r <= 4; r++ {
			assert.Equal(t, "2021-01-01", cell(g, r, 0), "row %d", r)
		}
	})
	t.Run("calamine strings", func(t *testing.T) {
		tests := []struct {
			file string
			want map[int][]string
		}{
			// Row 2 (an empty <si>) has no value and is skipped.
			{"empty_shared_string.xlsx", map[int][]string{1: {"abc"}}},
			{"empty_shared_string_value.xlsx", map[int][]string{1: {"Name", "City", "Status"}, 2: {"Alice", "", "Active"}, 3: {"", "Berlin"}}},
			{"empty_s_attribute.xlsx", map[int][]string{1: {"Name", "Value"}, 2: {"John", "1"}, 3: {"Sophia", "2"}, 4: {"Peter", "3"}, 5: {"Sam", "4"}}},
			{"inlineStr_cdata.xlsx", map[int][]string{1: {"Hello CDATA", "World"}, 2: {"12345", "NormalText"}}},
			{"has_x000D_.xlsx", map[int][]string{1: {"ABC\r\nDEF"}}},
			{"has_x000D_inline.xlsx", map[int][]string{1: {"ABC\r\nDEF"}}},
			// calamine trims A2 (&#xA;) to "": Intake keeps cell text as
			// written, like Excel; the mapping trims where a type wants it.
			{"encoded_entities.xlsx", map[int][]string{1: {"&"}, 2: {"\n"}}},
			{"rph.xlsx", map[int][]string{1: {"課きく\u3000毛こ"}}},
			{"issue9.xlsx", map[int][]string{1: {"test1"}, 2: {"test2 other"}, 3: {"test3 aaa"}, 4: {"test4"}}},
			{"issue_419.xlsx", map[int][]string{1: {"Hello"}}},
			{"nonstandard-xml-ns-prefix.xlsx", map[int][]string{1: {"a", "b"}, 2: {"1", "3"}, 3: {"2", "4"}}},
			{"string-ref.xlsx", map[int][]string{1: {"col1"}, 2: {"-8086931554011838357"}}},
		}
		for _, tt := range tests {
			g, _ := grid(t, ctx, cal(tt.file), Config{})
			assert.Equal(t, tt.want, trimGrid(g), tt.file)
		}
		g, _ := grid(t, ctx, cal("string-ref.xlsx"), Config{Sheet: "Sheet2"})
		assert.Equal(t, "-8086931554011838357", cell(g, 2, 0))
		g, _ = grid(t, ctx, cal("inlineStr_with_value.xlsx"), Config{})
		assert.Equal(t, []string{"ID", "RQ11610", "1."}, []string{cell(g, 1, 4), cell(g, 2, 4), cell(g, 2, 3)})
		g, _ = grid(t, ctx, cal("richtext-namespaced.xlsx"), Config{})
		assert.Equal(t, []string{"inline string\nLine 2\nLine 3", "", "shared string\nLine 2\nLine 3"}, []string{cell(g, 1, 0), cell(g, 1, 1), cell(g, 1, 7)})
		g, _ = grid(t, ctx, cal("richtext-after-plain.xlsx"), Config{})
		assert.Equal(t, "tvalrval1rval2", cell(g, 2, 0))
		// calamine trims <t> text without xml:space="preserve"; Intake keeps
		// it (header cells are trimmed).
		g, _ = grid(t, ctx, cal("whitespace_trim.xlsx"), Config{Sheet: "SharedStrings"})
		assert.Equal(t, "日期 时间", cell(g, 3, 0))
	})
	t.Run("calamine sheets", func(t *testing.T) {
		sheets, err := ListSheets(cal("any_sheets.xlsx"), Config{})
		require.NoError(t, err)
		var got []string
		for _, s := range sheets {
			got = append(got, s.Name+"/"+s.State.String()+map[bool]string{true: "/chart"}[s.Chart])
		}
		assert.Equal(t, []string{"Visible/visible", "Hidden/hidden", "VeryHidden/veryHidden", "Chart/visible/chart"}, got)
		src, err := Open(cal("any_sheets.xlsx"), Config{})
		require.NoError(t, err)
		assert.Equal(t, "Visible", src.Sheet().Name)
		src.Close()
		_, err = Open(cal("any_sheets.xlsx"), Config{Sheet: "Chart"})
		assert.ErrorIs(t, err, ErrSheetNotFound)
		src, err = Open(cal("empty_sheet.xlsx"), Config{})
		require.NoError(t, err)
		_, err = src.Header(ctx)
		assert.ErrorIs(t, err, ErrSheetEmpty)
		src.Close()
	})
	t.Run("calamine header row and tables", func(t *testing.T) {
		src, err := Open(cal("header-row.xlsx"), Config{})
		require.NoError(t, err)
		h, err := src.Header(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"", "", "Note 1"}, h) // first non-empty row: row 3
		src.Close()
		src, err = Open(cal("header-row.xlsx"), Config{HeaderRow: 9})
		require.NoError(t, err)
		res := connectortest.ReadAll(ctx, src)
		require.NoError(t, res.Fatal)
		assert.Equal(t, []string{"Columns", "Column A", "Column B", "Column C"}, res.Header)
		src.Close()
		g, _ := grid(t, ctx, cal("no-header.xlsx"), Config{})
		assert.Equal(t, map[int][]string{3: {"a", "0"}, 4: {"b", "1"}}, g)
		for _, f := range []string{"temperature.xlsx", "temperature-in-middle.xlsx"} {
			src, err := Open(cal(f), Config{})
			require.NoError(t, err)
			res := connectortest.ReadAll(ctx, src)
			require.NoError(t, res.Fatal)
			// Columns start at A: a table that starts in B has an unnamed
			// empty column A.
			assert.Equal(t, []string{"label", "value"}, res.Header[len(res.Header)-2:], f)
			require.Len(t, res.Rows, 2, f)
			assert.Equal(t, "celsius", res.Rows[0].Cell(len(res.Header)-2), f)
			src.Close()
		}
	})
	t.Run("calamine error cells", func(t *testing.T) {
		want := []string{"#DIV/0!", "#NAME?", "#VALUE!", "#NULL!", "#REF!", "#NUM!", "#N/A"}
		g, errs := grid(t, ctx, cal("errors.xlsx"), Config{})
		require.Len(t, errs, len(want))
		for i, w := range want {
			assert.Equal(t, w, cell(g, i+1, 0))
			assert.Equal(t, intake.CodeCellError, errs[i].Code)
			assert.Contains(t, errs[i].Message, w)
		}
		_, errs = grid(t, ctx, cal("errors.xlsx"), Config{KeepErrorCells: true})
		assert.Empty(t, errs)
	})
	t.Run("calamine issues", func(t *testing.T) {
		for sheet, want := range map[string]map[int][]string{
			"issue2": {1: {"1", "a"}, 2: {"2", "b"}, 3: {"3", "c"}},
			"issue5": {1: {"0.5"}},
			"issue6": {1: {"1"}, 2: {"2"}, 3: {"ab"}, 4: {"false"}},
		} {
			g, _ := grid(t, ctx, cal("issues.xlsx"), Config{Sheet: sheet})
			assert.Equal(t, want, g, sheet)
		}
		a, _ := grid(t, ctx, cal("issue_261.xlsx"), Config{})
		b, _ := grid(t, ctx, cal("issue_261_fixed_by_excel.xlsx"), Config{})
		assert.Equal(t, b, a, "rows and cells without r attributes read like Excel's copy")
		assert.Equal(t, "String Value 32", cell(a, 1, 0))
		assert.Equal(t, "939", cell(a, 61, 6))
		assert.Equal(t, "String Value 42", cell(a, 66, 0))
		assert.Equal(t, "String Value 8", cell(a, 66, 3))
		assert.NotContains(t, a, 5, "row 4 (0-based) is empty and skipped")
		g, _ := grid(t, ctx, cal("minimal_package.xlsx"), Config{})
		assert.Equal(t, "BKG_NUM", cell(g, 3, 0))
		for _, f := range []string{"issue_530.xlsx", "strict_iso_paths.xlsx"} {
			g, _ := grid(t, ctx, cal(f), Config{})
			assert.NotEmpty(t, g, f)
		}
		_, err := Open(cal("pass_protected.xlsx"), Config{})
		assert.ErrorIs(t, err, ErrPasswordProtected)
	})
	t.Run("calamine and excelize merged cells", func(t *testing.T) {
		// Documented choice: a merged range's value is in its top-left cell;
		// the other cells are empty, as Excel stores them and as a formula
		// referring to them sees them.
		g, _ := grid(t, ctx, exc("MergeCell.xlsx"), Config{})
		assert.Equal(t, []string{"A1", "", "A2", "", "A4", "", "A7", ""}, []string{cell(g, 1, 0), cell(g, 1, 1), cell(g, 2, 0), cell(g, 3, 0), cell(g, 4, 0), cell(g, 5, 1), cell(g, 7, 0), cell(g, 10, 2)})
		g, _ = grid(t, ctx, cal("merge_cells.xlsx"), Config{})
		assert.Equal(t, "", cell(g, 1, 1))
	})
	t.Run("excelize", func(t *testing.T) {
		g, _ := grid(t, ctx, exc("SharedStrings.xlsx"), Config{})
		assert.Equal(t, "A", cell(g, 1, 0))
		g, _ = grid(t, ctx, exc("SharedStrings.xlsx"), Config{Sheet: "Sheet2"})
		assert.Equal(t, "Test Weight (Kgs)", cell(g, 1, 0))
		g, _ = grid(t, ctx, exc("OverflowNumericCell.xlsx"), Config{})
		assert.Equal(t, "8595602512225", cell(g, 1, 0))
		_, err := Open(exc("BadWorkbook.xlsx"), Config{})
		assert.ErrorIs(t, err, ErrSheetEmpty, "empty <sheets>: no sheets, reported cleanly")
		g, _ = grid(t, ctx, exc("Book1.xlsx"), Config{Sheet: "Sheet2"})
		assert.NotEmpty(t, g)
	})
	t.Run("POI", func(t *testing.T) {
		for _, f := range []string{"SampleSS.xlsx", "SampleSS.strict.xlsx"} {
			g, _ := grid(t, ctx, poi(f), Config{})
			assert.Equal(t, map[int][]string{1: {"Test spreadsheet"}, 2: {"2nd row", "2nd row 2nd column"}, 4: {"This one is red"}}, g, f)
			g, _ = grid(t, ctx, poi(f), Config{Sheet: "Sheet Number 2"})
			assert.Equal(t, []string{"cb=1", "cb=10", "cb=2", "cb=sum"}, g[6], f)
			// SampleSS.txt shows the formula =SUM(A7:C7); a source reads the
			// cached value.
			assert.Equal(t, []string{"1", "10", "2", "13"}, g[7], f)
		}
		g, _ := grid(t, ctx, poi("InlineStrings.xlsx"), Config{})
		var all []string
		for _, r := range g {
			all = append(all, r...)
		}
		for _, w := range []string{"43", "22", "ABCDE", "Long Text"} {
			assert.Contains(t, all, w)
		}
		g, _ = grid(t, ctx, poi("57482-OnlyNumeric.xlsx"), Config{})
		assert.Equal(t, []string{"1", "11", "5"}, []string{cell(g, 1, 0), cell(g, 1, 1), cell(g, 5, 0)})
		// DateFormatTests: column A is the display text of C in format B.
		// Intake does not render display formats: every date-formatted value
		// comes as ISO text; the check is that each is recognised as a date
		// or time and converted (to the second: POI's .009 ms is rounded).
		g, _ = grid(t, ctx, poi("DateFormatTests.xlsx"), Config{Sheet: "Tests"})
		for r := 2; r <= 46; r++ {
			v := cell(g, r, 2)
			assert.Regexp(t, `^\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d)?$`, v, "row %d format %q", r, cell(g, r, 1))
		}
	})
	t.Run("csvkit", func(t *testing.T) {
		csvk := filepath.Join(c, "csvkit-examples")
		want := readCSVFile(t, filepath.Join(csvk, "testxlsx_converted.csv"))
		for _, tt := range []struct {
			file string
			cfg  Config
		}{
			{"test.xlsx", Config{}},
			{"sheets.xlsx", Config{Sheet: "data"}},
			{"test_skip_lines.xlsx", Config{HeaderRow: 4}},
		} {
			src, err := Open(filepath.Join(csvk, tt.file), tt.cfg)
			require.NoError(t, err)
			res := connectortest.ReadAll(ctx, src)
			src.Close()
			require.NoError(t, res.Fatal)
			// csvkit names the extra column "h" (its letter) and keeps
			// "Extra data beyond headers"; Intake reads the header's columns
			// and rejects that row with wrong_field_count.
			assert.Equal(t, want[0][:7], res.Header, tt.file)
			require.Len(t, res.Errs, 1, tt.file)
			assert.Equal(t, intake.CodeFieldCount, res.Errs[0].Code)
			require.Len(t, res.Rows, len(want)-1)
			for i, r := range res.Rows {
				exp := make([]string, 7)
				for j := range exp {
					// csvkit writes booleans True/False and datetimes with a T.
					exp[j] = want[i+1][j]
					switch exp[j] {
					case "True", "False":
						exp[j] = strings.ToLower(exp[j])
					}
					if len(exp[j]) == 19 && exp[j][10] == 'T' {
						exp[j] = exp[j][:10] + " " + exp[j][11:]
					}
				}
				assert.Equal(t, exp, r.Cells, "%s row %d", tt.file, r.Line)
			}
		}
		g, _ := grid(t, ctx, filepath.Join(csvk, "sheets.xlsx"), Config{Sheet: "ʤ"})
		assert.Equal(t, map[int][]string{1: {"a", "b", "c"}, 2: {"1", "2", "3"}}, g)
		g, _ = grid(t, ctx, filepath.Join(csvk, "dummy.xlsx"), Config{})
		assert.Equal(t, map[int][]string{1: {"a", "b", "c"}, 2: {"1", "2", "3"}}, g)
	})
}

// trimGrid drops trailing empty cells of each row.
func trimGrid(g map[int][]string) map[int][]string {
	for k, r := range g {
		for len(r) > 0 && r[len(r)-1] == "" {
			r = r[:len(r)-1]
		}
		g[k] = r
	}
	return g
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	require.NoError(t, err)
	return recs
}
