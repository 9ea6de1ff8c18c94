package connector

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/intakehq/intake"
)

// FuzzPaste checks pasted text: no panic, the row limit holds, lines go up,
// and without quotes the cells are the text split on tabs and line breaks.
func FuzzPaste(f *testing.F) {
	for _, s := range []string{"a\tb\r\nc\td\r\n", "\"x\ny\"\t\"q\"\"\"\n1\t2", "5'11\"\tBob\n\n\nz", "", "\t\t\n\t\t", "\"open\tcell\nmore"} {
		f.Add(s, uint8(3), false)
	}
	f.Fuzz(func(t *testing.T, text string, maxRows uint8, header bool) {
		cfg := PasteConfig{MaxRows: int(maxRows%50) + 1, HasHeader: header, MaxCellBytes: 256}
		src, err := NewPaste(strings.NewReader(text), cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var rows []intake.Row
		last := 0
		if _, err := src.Header(ctx); err != nil {
			return
		}
		for {
			row, err := src.Read(ctx)
			if err == io.EOF {
				break
			}
			var re *intake.RowError
			if err != nil && !errors.As(err, &re) {
				break
			}
			if row.Line <= last {
				t.Fatalf("line %d after %d", row.Line, last)
			}
			last = row.Line
			rows = append(rows, row)
		}
		if len(rows) > cfg.MaxRows {
			t.Fatalf("%d rows, limit %d", len(rows), cfg.MaxRows)
		}
		if header || strings.ContainsAny(text, "\"\r\x00") || len(rows) == cfg.MaxRows || strings.TrimSpace(text) == "" {
			return
		}
		var want [][]string
		for _, line := range strings.Split(text, "\n") {
			if line == "" || len(line) > 256 {
				return
			}
			want = append(want, strings.Split(line, "\t"))
		}
		if len(want) != len(rows) {
			t.Fatalf("got %d rows, want %d", len(rows), len(want))
		}
		for i := range want {
			if !slices.Equal(want[i], rows[i].Cells) {
				t.Fatalf("row %d: got %q, want %q", i, rows[i].Cells, want[i])
			}
		}
	})
}
