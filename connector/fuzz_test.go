package connector_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/internal/testcorpora"
)

// fuzzSeeds are inline seeds: quoting corner cases, encodings, limits.
var fuzzSeeds = []string{
	"a,b,c\n1,2,3\n",
	"a;b\n\"x;\ny\";2\n",
	"a\tb\n1\t2\r\n",
	"a|b\n1|\"2\"\"3\"\n",
	"a,b\n1,\"open\n2,3\n",
	"a,b\n\"x\"y,2\n3,4\n",
	"a,b\n1,x\"y\n",
	"\xef\xbb\xbfa,b\n1,2",
	"\xff\xfea\x00,\x00b\x00\n\x001\x00,\x002\x00",
	"\xfe\xff\x00a\x00,\x00b",
	"a,b\nJos\xe9,\x80\x92\n",
	"a,b,c\r1,2,3\r\"x\ry\",5,6\r",
	"\"a\r\na\",b\nc,d",
	"a,b\n\"x\"  ,\"y\" \n",
	"",
	"\n\n",
	"\"",
	"\"\"\"",
	"a\n\"\"\"\"x\n",
	",,,\n,,\n",
	"email,first_name,city\na@x.com,J\xc3\xb6rg,K\xc3\xb6ln\nb@x.com,Ann,Bad\xffByte\n",
	"a,b\nJos\xe9,\x81\x9d\n",
	"\xff\xfea\x00,\x00b\x00\n\x00\x00\xd8,\x00\x00\xdc\n\x00x",
}

// FuzzCSV checks that the CSV source never panics or hangs, that rows have
// strictly increasing 1-based lines, that output stays within the limits,
// that decoding never writes a U+FFFD in place of what it cannot decode
// (such rows are rejected), and that on plain RFC 4180 input it agrees with
// encoding/csv.
func FuzzCSV(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
	}
	if dir, err := testcorpora.Find(); err == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "*", "*.csv"))
		more, _ := filepath.Glob(filepath.Join(dir, "csv-spectrum", "csvs", "*.csv"))
		for _, p := range append(files, more...) {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 64<<10 {
				f.Add(b, uint8(0))
				f.Add(b, uint8(0b1101))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) {
		// opts bits: 0 NoHeader, 1 LazyQuotes, 2 small limits,
		// 3-5 delimiter (0 = auto), 6-7 encoding (0 = auto).
		cfg := connector.CSVConfig{
			NoHeader:   opts&1 != 0,
			LazyQuotes: opts&2 != 0,
			Delimiter:  connector.Delimiter(opts >> 3 & 7 % 5),
			Encoding:   connector.Encoding(opts >> 6),
		}
		if opts&4 != 0 {
			cfg.MaxCellBytes, cfg.MaxRowBytes, cfg.MaxColumns, cfg.MaxRows = 16, 64, 8, 50
		}
		res := fuzzRead(t, data, cfg)
		maxCell, maxCols := connector.DefaultMaxCellBytes, connector.DefaultMaxColumns
		if opts&4 != 0 {
			maxCell, maxCols = cfg.MaxCellBytes, cfg.MaxColumns
		}
		last := 0
		for _, r := range res.Rows {
			if r.Line <= last {
				t.Fatalf("row line %d after %d", r.Line, last)
			}
			last = r.Line
			if len(r.Cells) > maxCols {
				t.Fatalf("%d cells > MaxColumns", len(r.Cells))
			}
			for _, c := range r.Cells {
				if len(c) > maxCell {
					t.Fatalf("cell of %d bytes > MaxCellBytes", len(c))
				}
			}
		}
		// Every row starts on its own line: no more rows than lines.
		if len(res.Rows) > bytes.Count(data, []byte{'\n'})+bytes.Count(data, []byte{'\r'})+1 {
			t.Fatalf("%d rows from %d bytes", len(res.Rows), len(data))
		}
		noSilentReplacement(t, data, res)
		if opts == 0b1001 {
			compareWithEncodingCSV(t, data, res)
		}
	})
}

// fuzzRead reads data to the end with a generous bound on Read calls.
func fuzzRead(t *testing.T, data []byte, cfg connector.CSVConfig) result {
	ctx := context.Background()
	src, err := connector.NewCSV(bytes.NewReader(data), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var res result
	if res.Header, err = src.Header(ctx); err != nil {
		res.Fatal = err
		return res
	}
	for range len(data) + 2 {
		r, err := src.Read(ctx)
		if err == io.EOF {
			return res
		}
		var re *intake.RowError
		if err != nil && !errors.As(err, &re) {
			res.Fatal = err
			return res
		}
		if r.Line < 1 {
			t.Fatalf("row line %d", r.Line)
		}
		g := got{Line: r.Line, Cells: r.Cells}
		if re != nil {
			g.Code, g.Column = re.Code, re.Column
		}
		res.Rows = append(res.Rows, g)
	}
	t.Fatalf("more rows than bytes: the source does not end")
	return res
}

// compareWithEncodingCSV checks our no-header rows against encoding/csv on
// input where both dialects agree: UTF-8 without BOM, CR, NUL or other
// control characters, comma-separated. Where encoding/csv fails, we may
// differ (we tolerate blanks after a closing quote and resync).
func compareWithEncodingCSV(t *testing.T, data []byte, ours result) {
	if !utf8.Valid(data) || bytes.ContainsAny(data, "\r\x00\ufeff") || ours.Fatal != nil {
		return
	}
	for _, b := range data {
		if b < 0x20 && b != '\n' && b != '\t' {
			return
		}
	}
	r := csv.NewReader(bytes.NewReader(data))
	var want []got
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var code intake.Code
		if errors.Is(err, csv.ErrFieldCount) {
			code, err = intake.CodeFieldCount, nil
		}
		if err != nil {
			return // encoding/csv rejects the input: no oracle
		}
		line, _ := r.FieldPos(0)
		want = append(want, got{Line: line, Cells: rec, Code: code})
	}
	if len(want) != len(ours.Rows) {
		t.Fatalf("encoding/csv read %d rows, we read %d:\n%q\n%q", len(want), len(ours.Rows), want, ours.Rows)
	}
	for i := range want {
		o := ours.Rows[i]
		o.Column = ""
		if o.Line != want[i].Line || o.Code != want[i].Code || !equalCells(o.Cells, want[i].Cells) {
			t.Fatalf("row %d: encoding/csv %q, we %q", i, want[i], o)
		}
	}
}

func equalCells(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
