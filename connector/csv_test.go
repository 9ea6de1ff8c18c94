package connector_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
)

// setup marks the test parallel and returns a context that ends with it.
func setup(t *testing.T) context.Context {
	t.Helper()
	t.Parallel()
	return t.Context()
}

// got is one row as a test sees it: line, cells and, for a rejected row,
// the error's code and column.
type got struct {
	Line   int
	Cells  []string
	Code   intake.Code
	Column string
}

// result is everything a source produced.
type result struct {
	Header []string
	Rows   []got
	Fatal  error // nil when the source ended with io.EOF
	Errs   []*intake.RowError
}

// maxTestRows bounds readAll so that a looping source fails instead of hanging.
const maxTestRows = 1_000_000

// readAll reads src to the end, checking the Source contract on the way:
// a RowError always comes with its row, lines are ≥ 1 and non-decreasing,
// and a fatal error is returned again by the next Read.
func readAll(t testing.TB, ctx context.Context, src connector.Source) result {
	t.Helper()
	var res result
	h, err := src.Header(ctx)
	if err != nil {
		res.Fatal = err
		_, err2 := src.Read(ctx)
		require.Error(t, err2, "Read after a fatal Header error must fail")
		return res
	}
	res.Header = h
	last := 0
	for range maxTestRows {
		row, err := src.Read(ctx)
		if err == io.EOF {
			require.Zero(t, row.Line, "io.EOF comes with an empty row")
			return res
		}
		var re *intake.RowError
		if err != nil && !errors.As(err, &re) {
			res.Fatal = err
			_, again := src.Read(ctx)
			require.Equal(t, err, again, "a fatal error is sticky")
			return res
		}
		require.GreaterOrEqual(t, row.Line, 1, "row lines are 1-based")
		require.GreaterOrEqual(t, row.Line, last, "row lines never decrease")
		last = row.Line
		g := got{Line: row.Line, Cells: row.Cells}
		if re != nil {
			require.Equal(t, row.Line, re.Line, "the RowError names the row's line")
			g.Code, g.Column = re.Code, re.Column
			res.Errs = append(res.Errs, re)
		}
		res.Rows = append(res.Rows, g)
	}
	t.Fatalf("more than %d rows: the source does not end", maxTestRows)
	return res
}

// readString reads input with cfg.
func readString(t testing.TB, ctx context.Context, input string, cfg connector.CSVConfig) (result, *connector.CSV) {
	t.Helper()
	src, err := connector.NewCSV(strings.NewReader(input), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, src.Close()) })
	return readAll(t, ctx, src), src
}

func row(line int, cells ...string) got { return got{Line: line, Cells: cells} }

func bad(line int, code intake.Code, column string, cells ...string) got {
	return got{Line: line, Cells: cells, Code: code, Column: column}
}

// utf16Bytes encodes s as UTF-16 with a BOM, as Excel's "Unicode text" does.
func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var b bytes.Buffer
	u := utf16.Encode([]rune(s))
	if bom {
		u = append([]uint16{0xFEFF}, u...)
	}
	for _, c := range u {
		if bigEndian {
			b.WriteByte(byte(c >> 8))
			b.WriteByte(byte(c))
		} else {
			b.WriteByte(byte(c))
			b.WriteByte(byte(c >> 8))
		}
	}
	return b.Bytes()
}

func TestCSVDelimiterDetection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  connector.Delimiter
		row   []string
	}{
		{"comma", "a,b,c\n1,2,3\n", connector.DelimiterComma, []string{"1", "2", "3"}},
		{"semicolon", "a;b;c\n1;2;3\n", connector.DelimiterSemicolon, []string{"1", "2", "3"}},
		{"tab", "a\tb\tc\n1\t2\t3\n", connector.DelimiterTab, []string{"1", "2", "3"}},
		{"pipe", "a|b|c\n1|2|3\n", connector.DelimiterPipe, []string{"1", "2", "3"}},
		{"semicolon with decimal commas", "Name;Umsatz;Rabatt\nA;1,5;2,5\nB;3,25;1\n", connector.DelimiterSemicolon, []string{"A", "1,5", "2,5"}},
		{"delimiters inside quotes do not count", "\"a;x\",\"b;y\"\n\"1;2\",\"3;4\"\n", connector.DelimiterComma, []string{"1;2", "3;4"}},
		{"pipe beats commas inside cells", "one|two,two|three\nfour|five,five|six\n", connector.DelimiterPipe, []string{"four", "five,five", "six"}},
		{"ragged rows still detect", "a;b;c\n1;2;3\n1;2\n4;5;6\n", connector.DelimiterSemicolon, []string{"1", "2", "3"}},
		{"tie broken comma first", "a,b;c\n1,2;3\n", connector.DelimiterComma, []string{"1", "2;3"}},
		{"tie broken semicolon before tab", "a;b\tc\n1;2\t3\n", connector.DelimiterSemicolon, []string{"1", "2\t3"}},
		{"single column defaults to comma", "email\na@example.com\n", connector.DelimiterComma, []string{"a@example.com"}},
		{"multi-line quoted cell", "a;b\n\"x,\ny,z\";2\n", connector.DelimiterSemicolon, []string{"x,\ny,z", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := setup(t)
			res, src := readString(t, ctx, tt.input, connector.CSVConfig{})
			require.NoError(t, res.Fatal)
			assert.Equal(t, tt.want, src.Delimiter())
			require.NotEmpty(t, res.Rows)
			assert.Equal(t, tt.row, res.Rows[0].Cells)
		})
	}
}

func TestCSVDelimiterExplicit(t *testing.T) {
	ctx := setup(t)
	res, src := readString(t, ctx, "a,b;c\n1,2;3\n", connector.CSVConfig{Delimiter: connector.DelimiterSemicolon})
	require.NoError(t, res.Fatal)
	assert.Equal(t, connector.DelimiterSemicolon, src.Delimiter())
	assert.Equal(t, []string{"a,b", "c"}, res.Header)
	assert.Equal(t, []got{row(2, "1,2", "3")}, res.Rows)
}

func TestCSVEncodingDetection(t *testing.T) {
	t.Parallel()
	const text = "name\tcity\nJosé\tZürich €’\n"
	tests := []struct {
		name  string
		input []byte
		cfg   connector.CSVConfig
		want  connector.Encoding
		cells []string
	}{
		{"utf-8", []byte("name,city\nJosé,Zürich\n"), connector.CSVConfig{}, connector.EncodingUTF8, []string{"José", "Zürich"}},
		{"utf-8 BOM stripped", []byte("\xef\xbb\xbfname,city\nJosé,Zürich\n"), connector.CSVConfig{}, connector.EncodingUTF8, []string{"José", "Zürich"}},
		{"utf-8 BOM stripped, explicit", []byte("\xef\xbb\xbfname,city\nJosé,Zürich\n"), connector.CSVConfig{Encoding: connector.EncodingUTF8}, connector.EncodingUTF8, []string{"José", "Zürich"}},
		{"utf-16le BOM, Excel unicode text", utf16Bytes(text, false, true), connector.CSVConfig{}, connector.EncodingUTF16LE, []string{"José", "Zürich €’"}},
		{"utf-16be BOM", utf16Bytes(text, true, true), connector.CSVConfig{}, connector.EncodingUTF16BE, []string{"José", "Zürich €’"}},
		{"utf-16le without BOM", utf16Bytes(text, false, false), connector.CSVConfig{}, connector.EncodingUTF16LE, []string{"José", "Zürich €’"}},
		{"utf-16be without BOM", utf16Bytes(text, true, false), connector.CSVConfig{}, connector.EncodingUTF16BE, []string{"José", "Zürich €’"}},
		{"utf-16 explicit LE, BOM says BE", utf16Bytes(text, true, true), connector.CSVConfig{Encoding: connector.EncodingUTF16LE}, connector.EncodingUTF16BE, []string{"José", "Zürich €’"}},
		{"windows-1252 only bytes € and ’", []byte("name;note\nJos\xe9;\x80 5 \x92s\n"), connector.CSVConfig{}, connector.EncodingWindows1252, []string{"José", "€ 5 ’s"}},
		{"latin-1 detected as windows-1252", []byte("a,b\nZ\xfcrich,\xa9\n"), connector.CSVConfig{}, connector.EncodingWindows1252, []string{"Zürich", "©"}},
		{"iso-8859-1 explicit keeps C1 controls", []byte("a,b\nx,\x80\n"), connector.CSVConfig{Encoding: connector.EncodingISO88591}, connector.EncodingISO88591, []string{"x", "\u0080"}},
		{"windows-1252 explicit on UTF-8 bytes", []byte("a,b\nx,\xc3\xa9\n"), connector.CSVConfig{Encoding: connector.EncodingWindows1252}, connector.EncodingWindows1252, []string{"x", "Ã©"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := setup(t)
			res, src := readString(t, ctx, string(tt.input), tt.cfg)
			require.NoError(t, res.Fatal)
			assert.Equal(t, tt.want, src.Encoding())
			require.Len(t, res.Rows, 1)
			assert.Equal(t, tt.cells, res.Rows[0].Cells)
			assert.Empty(t, res.Rows[0].Code)
			assert.NotContains(t, res.Header[0], "\ufeff", "BOM stripped")
		})
	}
}

// A file whose first 64 KiB are valid UTF-8 is read as UTF-8; a later
// invalid byte rejects its row instead of being mangled.
func TestCSVInvalidUTF8AfterSample(t *testing.T) {
	ctx := setup(t)
	var b strings.Builder
	b.WriteString("id,name\n")
	n := 0
	for b.Len() < 70<<10 {
		n++
		b.WriteString("1,Zoë\n")
	}
	b.WriteString("2,Z\xf6e\n3,ok\n")
	res, src := readString(t, ctx, b.String(), connector.CSVConfig{Name: "late.csv"})
	require.NoError(t, res.Fatal)
	assert.Equal(t, connector.EncodingUTF8, src.Encoding())
	require.Len(t, res.Rows, n+2)
	assert.Equal(t, bad(n+2, intake.CodeInvalidEncoding, "name", "2", "Z\xf6e"), res.Rows[n])
	assert.Equal(t, "late.csv", res.Errs[0].File)
	assert.Equal(t, row(n+3, "3", "ok"), res.Rows[n+1])
}

func TestCSVRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		input  string
		cfg    connector.CSVConfig
		header []string
		rows   []got
	}{
		{
			name:   "quoted delimiters, quotes and newlines",
			input:  "a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\n4,5,6\n",
			header: []string{"a", "b", "c"},
			rows:   []got{row(2, "x,y", "say \"hi\"", "two\nlines"), row(4, "4", "5", "6")},
		},
		{
			name:   "line numbers after multi-line cells and blank lines",
			input:  "a,b\n\"1\n2\n3\",x\n\n\ny,\"z\r\n\"\r\nlast,row",
			header: []string{"a", "b"},
			rows:   []got{row(2, "1\n2\n3", "x"), row(7, "y", "z\r\n"), row(9, "last", "row")},
		},
		{
			name:   "CR-only line endings (old Mac)",
			input:  "a,b,c\r1,2,3\r\"Once upon\ra time\",5,6\r",
			header: []string{"a", "b", "c"},
			rows:   []got{row(2, "1", "2", "3"), row(3, "Once upon\ra time", "5", "6")},
		},
		{
			name:   "header trimmed, cells not",
			input:  "  Email ,\tName\t\n a@b.c , Ann \n",
			header: []string{"Email", "Name"},
			rows:   []got{row(2, " a@b.c ", " Ann ")},
		},
		{
			name:   "blanks after the closing quote are ignored",
			input:  "a,b\n\"x\"  ,\"y\" \n",
			header: []string{"a", "b"},
			rows:   []got{row(2, "x", "y")},
		},
		{
			name:   "empty cells and trailing delimiter",
			input:  "a,b,c\n,,\n\"\",\"\",\n1,2,",
			header: []string{"a", "b", "c"},
			rows:   []got{row(2, "", "", ""), row(3, "", "", ""), row(4, "1", "2", "")},
		},
		{
			name:   "ragged rows",
			input:  "a,b,c\n1,2,3,4\n1,2\n5,6,7\n",
			cfg:    connector.CSVConfig{Name: "r.csv"},
			header: []string{"a", "b", "c"},
			rows: []got{
				bad(2, intake.CodeFieldCount, "", "1", "2", "3", "4"),
				bad(3, intake.CodeFieldCount, "", "1", "2"),
				row(4, "5", "6", "7"),
			},
		},
		{
			name:  "no header: first row sets the width, columns are #N",
			input: "1,2,3\n4,5\n6,x\"y,8\n7,8,9\n",
			cfg:   connector.CSVConfig{NoHeader: true},
			rows: []got{
				row(1, "1", "2", "3"),
				bad(2, intake.CodeFieldCount, "", "4", "5"),
				bad(3, intake.CodeBadQuote, "#2", "6"),
				row(4, "7", "8", "9"),
			},
		},
		{
			name:   "bare quote in an unquoted cell: rest of the line skipped",
			input:  "a,b,c\n1,5'11\",3\n4,5,6\n",
			header: []string{"a", "b", "c"},
			rows:   []got{bad(2, intake.CodeBadQuote, "b", "1"), row(3, "4", "5", "6")},
		},
		{
			name:   "lazy quotes keep bare quotes",
			input:  "a,b,c\n1,5'11\",3\n\"x\"y\",5,6\n",
			cfg:    connector.CSVConfig{LazyQuotes: true},
			header: []string{"a", "b", "c"},
			rows:   []got{row(2, "1", "5'11\"", "3"), row(3, "x\"y", "5", "6")},
		},
		{
			name:   "text after closing quote: resync at the next line",
			input:  "a,b\n\"x\"y,2\n3,4\n",
			header: []string{"a", "b"},
			rows:   []got{bad(2, intake.CodeBadQuote, "a"), row(3, "3", "4")},
		},
		{
			name:   "stray opening quote: swallowed lines read again",
			input:  "a,b,c\n1,\"2,3\n4,5,6\n\"7\",8,9\n10,11,12\n",
			header: []string{"a", "b", "c"},
			rows: []got{
				bad(2, intake.CodeBadQuote, "b", "1"),
				row(3, "4", "5", "6"),
				row(4, "7", "8", "9"),
				row(5, "10", "11", "12"),
			},
		},
		{
			name:   "unterminated quote at the end: resync after its line",
			input:  "a,b\n1,2\n3,\"open\n5,6\n7,8",
			header: []string{"a", "b"},
			rows: []got{
				row(2, "1", "2"),
				bad(3, intake.CodeBadQuote, "b", "3"),
				row(4, "5", "6"),
				row(5, "7", "8"),
			},
		},
		{
			name:   "unterminated quote bounded by MaxCellBytes",
			input:  "a,b\n1,\"" + strings.Repeat("x,y\n", 20) + "end\n",
			cfg:    connector.CSVConfig{MaxCellBytes: 30},
			header: []string{"a", "b"},
			rows: append([]got{bad(2, intake.CodeCellTooLong, "b", "1")},
				append(repeatRows(3, 19, "x", "y"), bad(22, intake.CodeFieldCount, "", "end"))...),
		},
		{
			name:   "unquoted cell longer than MaxCellBytes",
			input:  "a,b\n1,0123456789\n2,3\n",
			cfg:    connector.CSVConfig{MaxCellBytes: 5},
			header: []string{"a", "b"},
			rows:   []got{bad(2, intake.CodeCellTooLong, "b", "1"), row(3, "2", "3")},
		},
		{
			name:   "malformed quote in a row that started lines earlier",
			input:  "a,b,c\n\"multi\nline\",\"ok\"x,3\n4,5,6\n",
			header: []string{"a", "b", "c"},
			rows:   []got{bad(2, intake.CodeBadQuote, "b", "multi\nline"), row(4, "4", "5", "6")},
		},
		{
			name:   "header-only file",
			input:  "a,b,c\n",
			header: []string{"a", "b", "c"},
		},
		{
			name:   "empty header names are not duplicates",
			input:  "a,,\n1,2,3\n",
			header: []string{"a", "", ""},
			rows:   []got{row(2, "1", "2", "3")},
		},
		{
			name:   "NUL after the sniffed start is data",
			input:  "a,b\n" + strings.Repeat("1,2\n", 20000) + "x\x00y,z\n",
			header: []string{"a", "b"},
			rows:   append(repeatRows(2, 20000, "1", "2"), row(20002, "x\x00y", "z")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := setup(t)
			res, _ := readString(t, ctx, tt.input, tt.cfg)
			require.NoError(t, res.Fatal)
			assert.Equal(t, tt.header, res.Header)
			assert.Equal(t, tt.rows, res.Rows)
			for _, e := range res.Errs {
				assert.Equal(t, tt.cfg.Name, e.File)
				assert.NotEmpty(t, e.Message)
			}
		})
	}
}

func repeatRows(from, n int, cells ...string) []got {
	out := make([]got, n)
	for i := range out {
		out[i] = row(from+i, cells...)
	}
	return out
}

// The messages of quote errors name the line where the quote opened.
func TestCSVQuoteErrorNamesOpeningLine(t *testing.T) {
	ctx := setup(t)
	res, _ := readString(t, ctx, "a,b\n1,\"never\nclosed\n", connector.CSVConfig{Name: "q.csv"})
	require.NoError(t, res.Fatal)
	require.NotEmpty(t, res.Errs)
	assert.Contains(t, res.Errs[0].Message, "line 2")
	assert.Equal(t, `q.csv:2: column "b" bad_quote: `+res.Errs[0].Message, res.Errs[0].Error())
}

func TestCSVFatal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		cfg     connector.CSVConfig
		want    error
		msg     []string // substrings of the message
		rowsOK  int      // rows read before the fatal error
		header0 bool     // the error comes from Header
	}{
		{name: "zero bytes", input: "", want: connector.ErrEmptyFile, header0: true},
		{name: "only a BOM", input: "\xef\xbb\xbf", want: connector.ErrEmptyFile, header0: true},
		{name: "only white space", input: " \r\n\t\n", want: connector.ErrEmptyFile, header0: true},
		{name: "UTF-16 BOM only", input: "\xff\xfe", want: connector.ErrEmptyFile, header0: true},
		{name: "first line empty", input: "\na,b\n1,2\n", want: connector.ErrMissingHeader, msg: []string{"NoHeader"}, header0: true},
		{name: "header of empty cells", input: " , \n1,2\n", want: connector.ErrMissingHeader, header0: true},
		{
			name: "duplicate header names", input: "Email,Name, email ,NAME,x\n",
			want: connector.ErrDuplicateHeader, header0: true,
			msg: []string{`columns 1 ("Email") and 3 ("email")`, `columns 2 ("Name") and 4 ("NAME")`, "rename"},
		},
		{name: "malformed header", input: "a,\"b\"x\n1,2\n", want: connector.ErrBadHeader, header0: true, msg: []string{"bad_quote"}},
		{name: "NUL byte", input: "a,b\n\x00,2\n", want: connector.ErrBinaryFile, header0: true, msg: []string{"binary file, not CSV"}},
		{name: "PNG header", input: "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", want: connector.ErrBinaryFile, header0: true},
		{name: "control characters", input: "\x01\x02\x03\x04\x05\x06abc\x07\x08\x0e\n", want: connector.ErrBinaryFile, header0: true},
		{name: "too many columns", input: "a,b,c,d\n", cfg: connector.CSVConfig{MaxColumns: 3}, want: connector.ErrTooManyColumns, header0: true, msg: []string{"MaxColumns", "limit 3"}},
		{name: "too many columns in a row", input: "a,b\n1,2,3,4\n", cfg: connector.CSVConfig{MaxColumns: 3}, want: connector.ErrTooManyColumns, msg: []string{"x.csv:2:"}},
		{name: "too many rows", input: "a\n1\n2\n3\n", cfg: connector.CSVConfig{MaxRows: 2}, want: connector.ErrTooManyRows, rowsOK: 2, msg: []string{"MaxRows", "x.csv:4:"}},
		{name: "file too large", input: "a,b\n" + strings.Repeat("1,2\n", 100), cfg: connector.CSVConfig{MaxFileBytes: 50}, want: connector.ErrFileTooLarge, msg: []string{"MaxFileBytes"}, header0: true},
		{name: "file too large after the sample", input: "a,b\n" + strings.Repeat("1,2\n", 50000), cfg: connector.CSVConfig{MaxFileBytes: 100 << 10}, want: connector.ErrFileTooLarge, rowsOK: -1},
		{name: "row too long", input: "a\n" + strings.Repeat(strings.Repeat("x", 99)+",", 3000) + "\n", cfg: connector.CSVConfig{MaxCellBytes: 1000, MaxRowBytes: 100 << 10}, want: connector.ErrRowTooLong, msg: []string{"MaxRowBytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := setup(t)
			if tt.cfg.Name == "" {
				tt.cfg.Name = "x.csv"
			}
			res, _ := readString(t, ctx, tt.input, tt.cfg)
			require.ErrorIs(t, res.Fatal, tt.want)
			var re *intake.RowError
			assert.False(t, errors.As(res.Fatal, &re), "a fatal error must not pass for a row error: %v", res.Fatal)
			assert.True(t, strings.HasPrefix(res.Fatal.Error(), "x.csv"), "fatal errors name the file: %v", res.Fatal)
			for _, m := range tt.msg {
				assert.Contains(t, res.Fatal.Error(), m)
			}
			if tt.header0 {
				assert.Nil(t, res.Header)
			}
			if tt.rowsOK >= 0 {
				assert.Len(t, res.Rows, tt.rowsOK)
			}
		})
	}
}

// A file that exceeds MaxRowBytes with a quoted cell below MaxCellBytes
// never holds more than about MaxRowBytes in memory; quoted cells that stay
// open past MaxCellBytes are row errors, not fatal.
func TestCSVLimitsAreRowErrorsWhereTheyCanBe(t *testing.T) {
	ctx := setup(t)
	input := "a\n\"" + strings.Repeat("y", 2<<20) + "\n1\n"
	res, _ := readString(t, ctx, input, connector.CSVConfig{})
	require.NoError(t, res.Fatal)
	require.Len(t, res.Rows, 2)
	assert.Equal(t, intake.CodeCellTooLong, res.Rows[0].Code)
	assert.Equal(t, row(3, "1"), res.Rows[1])
}

func TestCSVConfigValidation(t *testing.T) {
	ctx := setup(t)
	for _, cfg := range []connector.CSVConfig{
		{Delimiter: 9},
		{Encoding: 42},
		{MaxCellBytes: -1},
		{MaxColumns: -3},
		{MaxCellBytes: 10 << 20, MaxRowBytes: 1 << 20},
	} {
		_, err := connector.NewCSV(strings.NewReader("a\n"), cfg)
		assert.Error(t, err, "%+v", cfg)
		assert.Contains(t, err.Error(), "CSVConfig.")
	}
	_, err := connector.NewCSV(nil, connector.CSVConfig{})
	assert.Error(t, err)
	// Negative MaxRows / MaxFileBytes mean unlimited.
	res, _ := readString(t, ctx, "a\n1\n2\n", connector.CSVConfig{MaxRows: -1, MaxFileBytes: -1})
	require.NoError(t, res.Fatal)
	assert.Len(t, res.Rows, 2)
}

func TestParseDelimiterAndEncoding(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]connector.Delimiter{
		"": connector.DelimiterAuto, "auto": connector.DelimiterAuto, "comma": connector.DelimiterComma, ",": connector.DelimiterComma,
		"Semicolon": connector.DelimiterSemicolon, ";": connector.DelimiterSemicolon, "tab": connector.DelimiterTab, "\t": connector.DelimiterTab,
		`\t`: connector.DelimiterTab, "pipe": connector.DelimiterPipe, "|": connector.DelimiterPipe,
	} {
		d, err := connector.ParseDelimiter(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, d, in)
		if in == want.String() {
			assert.Equal(t, in, d.String())
		}
	}
	_, err := connector.ParseDelimiter(":")
	assert.ErrorContains(t, err, "comma, semicolon, tab or pipe")
	for in, want := range map[string]connector.Encoding{
		"": connector.EncodingAuto, "auto": connector.EncodingAuto, "utf-8": connector.EncodingUTF8, "UTF8": connector.EncodingUTF8,
		"utf-16": connector.EncodingUTF16LE, "utf-16le": connector.EncodingUTF16LE, "UTF-16BE": connector.EncodingUTF16BE,
		"iso-8859-1": connector.EncodingISO88591, "latin1": connector.EncodingISO88591, "windows-1252": connector.EncodingWindows1252, "cp1252": connector.EncodingWindows1252,
	} {
		e, err := connector.ParseEncoding(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, e, in)
	}
	_, err = connector.ParseEncoding("ebcdic")
	assert.Error(t, err)
	assert.Equal(t, "windows-1252", connector.EncodingWindows1252.String())
	assert.Equal(t, "pipe", connector.DelimiterPipe.String())
	assert.Equal(t, byte('\t'), connector.DelimiterTab.Byte())
	assert.Equal(t, "Delimiter(9)", connector.Delimiter(9).String())
}

// Cells stay valid after later reads: rows are handed to other goroutines.
func TestCSVCellsNotReused(t *testing.T) {
	ctx := setup(t)
	var b strings.Builder
	b.WriteString("n,s\n")
	for i := range 5000 {
		b.WriteString(strings.Repeat("x", i%7) + ",\"q\"\"" + strings.Repeat("y", i%5) + "\"\n")
	}
	src, err := connector.NewCSV(strings.NewReader(b.String()), connector.CSVConfig{})
	require.NoError(t, err)
	var rows []intake.Row
	for {
		r, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		rows = append(rows, r)
	}
	require.Len(t, rows, 5000)
	for i, r := range rows {
		assert.Equal(t, []string{strings.Repeat("x", i%7), "q\"" + strings.Repeat("y", i%5)}, r.Cells, "row %d", i)
	}
}

func TestCSVIOTestReaders(t *testing.T) {
	t.Parallel()
	input := "\xef\xbb\xbfid;name\n1;\"Ann\nMarie\"\n2;Bob\n3;\"Zoë \"\"Z\"\"\"\n"
	want := []got{row(2, "1", "Ann\nMarie"), row(4, "2", "Bob"), row(5, "3", "Zoë \"Z\"")}
	wrap := map[string]func(io.Reader) io.Reader{
		"OneByteReader": iotest.OneByteReader,
		"HalfReader":    iotest.HalfReader,
		"DataErrReader": iotest.DataErrReader,
	}
	for name, w := range wrap {
		t.Run(name, func(t *testing.T) {
			ctx := setup(t)
			src, err := connector.NewCSV(w(strings.NewReader(input)), connector.CSVConfig{})
			require.NoError(t, err)
			res := readAll(t, ctx, src)
			require.NoError(t, res.Fatal)
			assert.Equal(t, []string{"id", "name"}, res.Header)
			assert.Equal(t, want, res.Rows)
		})
	}
	t.Run("UTF-16 OneByteReader", func(t *testing.T) {
		ctx := setup(t)
		src, err := connector.NewCSV(iotest.OneByteReader(bytes.NewReader(utf16Bytes(input[3:], false, true))), connector.CSVConfig{})
		require.NoError(t, err)
		res := readAll(t, ctx, src)
		require.NoError(t, res.Fatal)
		assert.Equal(t, want, res.Rows)
	})
	errBoom := errors.New("boom")
	big := "a,b\n" + strings.Repeat("1,2\n", 40000)
	for name, r := range map[string]io.Reader{
		"TimeoutReader":          iotest.TimeoutReader(strings.NewReader(big)),
		"ErrReader mid-stream":   io.MultiReader(strings.NewReader(big), iotest.ErrReader(errBoom)),
		"ErrReader at start":     iotest.ErrReader(errBoom),
		"ErrReader mid-sample":   io.MultiReader(strings.NewReader("a,b\n1,2\n"), iotest.ErrReader(errBoom)),
		"ErrReader in a quote":   io.MultiReader(strings.NewReader(big+"\"open"), iotest.ErrReader(errBoom)),
		"TimeoutReader tiny":     iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(big))),
		"no progress (0, nil)":   zeroReader{},
		"no progress after data": io.MultiReader(strings.NewReader(big), zeroReader{}),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := setup(t)
			src, err := connector.NewCSV(r, connector.CSVConfig{Name: "s.csv"})
			require.NoError(t, err)
			done := make(chan result, 1)
			go func() { done <- readAll(t, ctx, src) }()
			select {
			case res := <-done:
				require.Error(t, res.Fatal)
				assert.Contains(t, res.Fatal.Error(), "s.csv")
				var re *intake.RowError
				assert.False(t, errors.As(res.Fatal, &re), "a read error is fatal, not a row error")
				if strings.HasPrefix(name, "ErrReader") {
					assert.ErrorIs(t, res.Fatal, errBoom)
				}
				if strings.HasPrefix(name, "Timeout") {
					assert.ErrorIs(t, res.Fatal, iotest.ErrTimeout)
				}
				if strings.HasPrefix(name, "no progress") {
					assert.ErrorIs(t, res.Fatal, io.ErrNoProgress)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the source hangs on a failing reader")
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestCSVContext(t *testing.T) {
	t.Parallel()
	t.Run("canceled before the first read", func(t *testing.T) {
		setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		src, err := connector.NewCSV(strings.NewReader("a\n1\n"), connector.CSVConfig{})
		require.NoError(t, err)
		_, err = src.Header(ctx)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = src.Read(ctx)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("canceled mid-file", func(t *testing.T) {
		setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		src, err := connector.NewCSV(strings.NewReader("a\n"+strings.Repeat("1\n", 2000)), connector.CSVConfig{})
		require.NoError(t, err)
		_, err = src.Read(ctx)
		require.NoError(t, err)
		cancel()
		n := 0
		for ; n < 1000; n++ {
			if _, err = src.Read(ctx); err != nil {
				break
			}
		}
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, n, 300, "ctx is checked at least every 256 rows")
	})
}

func TestOpenCSVFile(t *testing.T) {
	ctx := setup(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "contacts.csv")
	data := "email,name\na@example.com,Ann\nb@example.com,\"Bob\"x\n"
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))

	src, err := connector.OpenCSVFile(path, connector.CSVConfig{})
	require.NoError(t, err)
	var _ connector.Source = src
	var _ connector.Progresser = src
	var _ connector.Namer = src
	assert.Equal(t, path, src.Name())
	read, total := src.Progress()
	assert.Equal(t, int64(0), read)
	assert.Equal(t, int64(len(data)), total)

	res := readAll(t, ctx, src)
	require.NoError(t, res.Fatal)
	require.Len(t, res.Errs, 1)
	assert.Equal(t, path, res.Errs[0].File)
	read, total = src.Progress()
	assert.Equal(t, total, read, "the whole file was consumed")
	require.NoError(t, src.Close())
	require.NoError(t, src.Close(), "Close is safe twice")
	_, err = src.Read(ctx)
	assert.ErrorIs(t, err, connector.ErrClosed)

	_, err = connector.OpenCSVFile(filepath.Join(dir, "missing.csv"), connector.CSVConfig{})
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = connector.OpenCSVFile(dir, connector.CSVConfig{})
	assert.ErrorContains(t, err, "directory")
	_, err = connector.OpenCSVFile(path, connector.CSVConfig{MaxFileBytes: 10})
	assert.ErrorIs(t, err, connector.ErrFileTooLarge)
	assert.ErrorContains(t, err, path)

	src, err = connector.NewCSV(strings.NewReader(data), connector.CSVConfig{})
	require.NoError(t, err)
	_, total = src.Progress()
	assert.Equal(t, int64(-1), total, "unknown size")
}

// Progress may be called from another goroutine while Read runs (go test -race).
func TestCSVProgressConcurrent(t *testing.T) {
	ctx := setup(t)
	data := "a,b\n" + strings.Repeat("1,2\n", 100000)
	src, err := connector.NewCSV(strings.NewReader(data), connector.CSVConfig{Size: int64(len(data))})
	require.NoError(t, err)
	stop := make(chan struct{})
	done := make(chan int64)
	go func() {
		var last int64
		for {
			select {
			case <-stop:
				done <- last
				return
			default:
			}
			r, total := src.Progress()
			if r < last || r > total {
				done <- -1
				return
			}
			last = r
		}
	}()
	res := readAll(t, ctx, src)
	close(stop)
	require.NoError(t, res.Fatal)
	assert.GreaterOrEqual(t, <-done, int64(0), "progress is monotonic and within the total")
	r, total := src.Progress()
	assert.Equal(t, total, r)
}
