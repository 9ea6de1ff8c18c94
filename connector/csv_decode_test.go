package connector_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
)

// mostlyUTF8 is a UTF-8 file with one invalid byte: the defect of a whole
// file decoded as Windows-1252 ("JÃ¶rg") because of it.
const mostlyUTF8 = "email,first_name,city\na@x.com,J\xc3\xb6rg,K\xc3\xb6ln\nb@x.com,Ann,Bad\xffByte\n"

// TestCSVMostlyUTF8StaysUTF8: one invalid byte does not turn a UTF-8 file
// into Windows-1252; its row alone is rejected, naming line and column.
func TestCSVMostlyUTF8StaysUTF8(t *testing.T) {
	ctx := setup(t)
	res, src := readString(t, ctx, mostlyUTF8, connector.CSVConfig{Name: "f.csv"})
	require.NoError(t, res.Fatal)
	assert.Equal(t, connector.EncodingUTF8, src.Encoding())
	assert.Equal(t, []got{
		row(2, "a@x.com", "Jörg", "Köln"),
		bad(3, intake.CodeInvalidEncoding, "city", "b@x.com", "Ann", "Bad\xffByte"),
	}, res.Rows)
	require.Len(t, res.Errs, 1)
	assert.Equal(t, "f.csv", res.Errs[0].File)
	assert.Contains(t, res.Errs[0].Message, "0xFF")
}

// windows1252Text is a legacy export: German names in Windows-1252, every
// high byte alone, and extra appended as is.
func windows1252Text(rows int, extra string) string {
	var b strings.Builder
	b.WriteString("email;name;city;note\n")
	for i := range rows {
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("@example.de;J\xfcrgen M\xfcller;K\xf6ln;\x93gut\x94 \x80 5\n")
	}
	b.WriteString(extra)
	return b.String()
}

// TestCSVLegacyFileDetected: a file mostly in Windows-1252 is still read as
// such, and the reason says so, also when a pair of its bytes happens to
// form a UTF-8 character.
func TestCSVLegacyFileDetected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, reason, last string
	}{
		{"no UTF-8 character", windows1252Text(40, ""),
			"240 bytes that are not UTF-8 in the file and no UTF-8 character: read as Windows-1252", ""},
		// ß and a closing quote, DF 94, happen to be the UTF-8 of U+07D4.
		{"one pair valid by chance", windows1252Text(40, "z@example.de;gro\xdf\x94;x;y\n"),
			"240 bytes that are not UTF-8 in the file, more than the 1 UTF-8 character there: read as Windows-1252, those characters too (set the encoding to utf-8 if the file is UTF-8)", "groß”"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := setup(t)
			res, src := readString(t, ctx, tt.input, connector.CSVConfig{})
			require.NoError(t, res.Fatal)
			assert.Equal(t, connector.EncodingWindows1252, src.Encoding())
			assert.Empty(t, res.Errs)
			assert.Equal(t, row(2, "p@example.de", "Jürgen Müller", "Köln", "“gut” € 5"), res.Rows[0])
			if tt.last != "" {
				assert.Equal(t, tt.last, res.Rows[len(res.Rows)-1].Cells[1])
			}
			d := src.Describe()
			assert.Equal(t, "windows-1252", d.Encoding)
			assert.Equal(t, tt.reason, d.EncodingReason)
			assert.Equal(t, "semicolon", d.Delimiter)
		})
	}
}

// TestCSVInvalidBytesBeyondSniffWindow: in a UTF-8 file, an invalid byte in
// the sniffed prefix and another far beyond it each reject their row; no
// cell gets a U+FFFD in place of a byte.
func TestCSVInvalidBytesBeyondSniffWindow(t *testing.T) {
	ctx := setup(t)
	var b strings.Builder
	b.WriteString("id,name,city\n1,Zoë,K\xf6ln\n")
	n := 1
	for b.Len() < 200<<10 {
		n++
		b.WriteString("2,Zoë,Köln\n")
	}
	b.WriteString("3,Ren\xe9e,Paris\n4,Ann,Zürich\n")
	res, src := readString(t, ctx, b.String(), connector.CSVConfig{})
	require.NoError(t, res.Fatal)
	assert.Equal(t, connector.EncodingUTF8, src.Encoding())
	require.Len(t, res.Rows, n+2)
	assert.Equal(t, bad(2, intake.CodeInvalidEncoding, "city", "1", "Zoë", "K\xf6ln"), res.Rows[0])
	assert.Equal(t, bad(n+2, intake.CodeInvalidEncoding, "name", "3", "Ren\xe9e", "Paris"), res.Rows[n])
	assert.Equal(t, row(n+3, "4", "Ann", "Zürich"), res.Rows[n+1])
	assert.Len(t, res.Errs, 2)
	for _, r := range res.Rows {
		for _, c := range r.Cells {
			require.NotContains(t, c, "\ufffd")
		}
	}
	assert.Contains(t, src.Describe().EncodingReason, "1 byte that is not UTF-8 in the first 64 KiB")
}

// le16 writes UTF-16 code units little-endian.
func le16(units ...uint16) []byte {
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

// TestCSVUndecodableBytesRejected: what an encoding cannot decode rejects
// its row (invalid_encoding, with its column) instead of becoming U+FFFD;
// ISO-8859-1, where every byte is a character, rejects nothing.
func TestCSVUndecodableBytesRejected(t *testing.T) {
	t.Parallel()
	utf16Row := func(units ...uint16) string {
		head := le16(0xfeff, 'a', ',', 'b', '\n', 'x', ',')
		return string(append(head, le16(units...)...))
	}
	tests := []struct {
		name    string
		input   string
		cfg     connector.CSVConfig
		want    got
		message string
	}{
		{"explicit utf-8", "a,b\nx,Z\xfcrich\n", connector.CSVConfig{Encoding: connector.EncodingUTF8},
			bad(2, intake.CodeInvalidEncoding, "b", "x", "Z\xfcrich"), "0xFC"},
		{"explicit utf-8, a character split across quoted cells", "a,b\n\"x\xc3\",\"\xb6y\"\n", connector.CSVConfig{Encoding: connector.EncodingUTF8},
			bad(2, intake.CodeInvalidEncoding, "a", "x\xc3", "\xb6y"), "0xC3"},
		{"windows-1252 undefined 0x81", "a,b\nx,y\x81z\n", connector.CSVConfig{Encoding: connector.EncodingWindows1252},
			bad(2, intake.CodeInvalidEncoding, "b", "x", "y\x81z"), "0x81"},
		{"detected windows-1252, undefined 0x9D", "a,b\nJos\xe9,M\xfcller\xe9\x9d\n", connector.CSVConfig{},
			bad(2, intake.CodeInvalidEncoding, "b", "José", "Mülleré\x9d"), "0x9D"},
		{"utf-16 lone high surrogate", utf16Row(0xd800, 'y', '\n'), connector.CSVConfig{},
			bad(2, intake.CodeInvalidEncoding, "b", "x", "\xffy"), "surrogate"},
		{"utf-16 lone low surrogate", utf16Row('y', 0xdc00, '\n'), connector.CSVConfig{},
			bad(2, intake.CodeInvalidEncoding, "b", "x", "y\xff"), "surrogate"},
		{"utf-16 high surrogate at the end", utf16Row('y', 0xd83d), connector.CSVConfig{},
			bad(2, intake.CodeInvalidEncoding, "b", "x", "y\xff"), "surrogate"},
		{"utf-16 odd last byte", utf16Row('y') + "z", connector.CSVConfig{},
			bad(2, intake.CodeInvalidEncoding, "b", "x", "y\xff"), "odd last byte"},
		{"utf-16 surrogate pair", utf16Row(0xd83d, 0xde00, '\n'), connector.CSVConfig{},
			row(2, "x", "😀"), ""},
		{"iso-8859-1 accepts every byte", "a,b\nx,y\x81\x9d\xff\n", connector.CSVConfig{Encoding: connector.EncodingISO88591},
			row(2, "x", "y\u0081\u009dÿ"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := setup(t)
			res, _ := readString(t, ctx, tt.input, tt.cfg)
			require.NoError(t, res.Fatal)
			require.Equal(t, []got{tt.want}, res.Rows)
			if tt.message != "" {
				require.Len(t, res.Errs, 1)
				assert.Contains(t, res.Errs[0].Message, tt.message)
			}
		})
	}
}

// TestCSVDescribe: the source says which format, encoding and delimiter it
// reads, with a reason for every choice that is not the plain default.
func TestCSVDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input []byte
		cfg   connector.CSVConfig
		want  connector.Dialect
	}{
		{"plain utf-8 and comma", []byte("a,b\nJosé,1\n"), connector.CSVConfig{},
			connector.Dialect{Format: "csv", Encoding: "utf-8", Delimiter: "comma"}},
		{"utf-8 BOM", []byte("\xef\xbb\xbfa,b\n1,2\n"), connector.CSVConfig{},
			connector.Dialect{Format: "csv", Encoding: "utf-8", Delimiter: "comma"}},
		{"mostly utf-8", []byte(mostlyUTF8), connector.CSVConfig{},
			connector.Dialect{Format: "csv", Encoding: "utf-8", Delimiter: "comma",
				EncodingReason: "2 UTF-8 characters and 1 byte that is not UTF-8 in the file: read as UTF-8; rows holding such bytes are rejected (invalid_encoding)"}},
		{"semicolon", []byte("a;b;c\n1;2;3\n4;5;6\n7;8\n"), connector.CSVConfig{},
			connector.Dialect{Format: "csv", Encoding: "utf-8", Delimiter: "semicolon",
				DelimiterReason: "2 in the first row, and as many in 3 of the 4 rows read"}},
		{"tab, one row", []byte("a\tb"), connector.CSVConfig{},
			connector.Dialect{Format: "csv", Encoding: "utf-8", Delimiter: "tab", DelimiterReason: "1 in the first row, the only row read"}},
		{"one column", []byte("email\na@x.com\n"), connector.CSVConfig{},
			connector.Dialect{Format: "csv", Encoding: "utf-8", Delimiter: "comma",
				DelimiterReason: "no comma, semicolon, tab or pipe in the first row: one column"}},
		{"utf-16le BOM", utf16Bytes("a\tb\n1\t2\n", false, true), connector.CSVConfig{},
			connector.Dialect{Format: "csv", Encoding: "utf-16le", EncodingReason: "a UTF-16 little-endian byte order mark",
				Delimiter: "tab", DelimiterReason: "1 in the first row, and as many in 2 of the 2 rows read"}},
		{"utf-16be without BOM", utf16Bytes("a,b\n1,2\n", true, false), connector.CSVConfig{},
			connector.Dialect{Format: "csv", Encoding: "utf-16be", EncodingReason: "NUL bytes in every other position in the file: UTF-16 without a byte order mark",
				Delimiter: "comma"}},
		{"explicit", []byte("a|b\n1|2\n"), connector.CSVConfig{Encoding: connector.EncodingISO88591, Delimiter: connector.DelimiterPipe},
			connector.Dialect{Format: "csv", Encoding: "iso-8859-1", EncodingReason: "set explicitly", Delimiter: "pipe", DelimiterReason: "set explicitly"}},
		{"explicit utf-16le, BOM says big-endian", utf16Bytes("a,b\n1,2\n", true, true), connector.CSVConfig{Encoding: connector.EncodingUTF16LE},
			connector.Dialect{Format: "csv", Encoding: "utf-16be", EncodingReason: "set explicitly as utf-16le; the byte order mark says utf-16be", Delimiter: "comma"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := setup(t)
			src, err := connector.NewCSV(bytes.NewReader(tt.input), tt.cfg)
			require.NoError(t, err)
			defer src.Close()
			_, err = src.Header(ctx)
			require.NoError(t, err)
			assert.Equal(t, tt.want, src.Describe())
		})
	}
	t.Run("before the start, only the configuration", func(t *testing.T) {
		src, err := connector.NewCSV(strings.NewReader("a;b\n"), connector.CSVConfig{Delimiter: connector.DelimiterSemicolon})
		require.NoError(t, err)
		assert.Equal(t, connector.Dialect{Format: "csv", Delimiter: "semicolon"}, src.Describe())
	})
}

// TestPasteDescribe: pasted text is UTF-8 and tab-separated by default;
// another delimiter comes with the reason that it was set.
func TestPasteDescribe(t *testing.T) {
	ctx := setup(t)
	p, err := connector.NewPasteText("a\tb\n", connector.PasteConfig{})
	require.NoError(t, err)
	_, err = p.Header(ctx)
	require.NoError(t, err)
	assert.Equal(t, connector.Dialect{Format: "paste", Encoding: "utf-8", Delimiter: "tab"}, p.Describe())
	p, err = connector.NewPasteText("a;b\n", connector.PasteConfig{Delimiter: connector.DelimiterSemicolon})
	require.NoError(t, err)
	assert.Equal(t, connector.Dialect{Format: "paste", Encoding: "utf-8", Delimiter: "semicolon", DelimiterReason: "set explicitly"}, p.Describe())
}

// noSilentReplacement fails when an accepted row or the header holds a
// U+FFFD that the input did not: the UTF-8 of U+FFFD (EF BF BD), or in
// UTF-16 the byte 0xFD of its code unit. Decoding writes no U+FFFD of its
// own; what it cannot decode rejects its row.
func noSilentReplacement(t *testing.T, data []byte, res result) {
	t.Helper()
	if bytes.Contains(data, []byte("\xef\xbf\xbd")) || bytes.IndexByte(data, 0xfd) >= 0 {
		return
	}
	for _, h := range res.Header {
		if strings.ContainsRune(h, utf8.RuneError) {
			t.Fatalf("header cell %q holds a U+FFFD that the input does not", h)
		}
	}
	for _, r := range res.Rows {
		if r.Code != "" {
			continue
		}
		for _, c := range r.Cells {
			if strings.ContainsRune(c, utf8.RuneError) {
				t.Fatalf("line %d: cell %q holds a U+FFFD that the input does not", r.Line, c)
			}
			if !utf8.ValidString(c) {
				t.Fatalf("line %d: accepted cell %q is not valid UTF-8", r.Line, c)
			}
		}
	}
}
