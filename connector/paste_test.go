package connector

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func setupPaste(t *testing.T) context.Context {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestPaste(t *testing.T) {
	ctx := setupPaste(t)
	tests := []struct {
		name       string
		text       string
		cfg        PasteConfig
		wantHeader []string
		want       [][]string
		wantLines  []int
		wantCodes  []intake.Code
		wantErr    error
	}{
		{name: "Excel clipboard, CRLF, trailing line break", text: "ann@example.com\tAnn\t+49 30 1234\r\nbob@example.com\tBob\t\r\n",
			want: [][]string{{"ann@example.com", "Ann", "+49 30 1234"}, {"bob@example.com", "Bob", ""}}, wantLines: []int{1, 2}},
		{name: "LF, no trailing line break", text: "a\tb\nc\td", want: [][]string{{"a", "b"}, {"c", "d"}}},
		{name: "quoted cells with tabs, line breaks and quotes", text: "\"line 1\nline 2\"\t\"tab\there\"\t\"say \"\"hi\"\"\"\nx\ty\tz\n",
			want: [][]string{{"line 1\nline 2", "tab\there", `say "hi"`}, {"x", "y", "z"}}, wantLines: []int{1, 3}},
		{name: "bare quotes are data", text: "5'11\"\tBob \"the\" builder\n", want: [][]string{{`5'11"`, `Bob "the" builder`}}},
		{name: "blank lines skipped", text: "a\tb\n\n\nc\td\n\n", want: [][]string{{"a", "b"}, {"c", "d"}}, wantLines: []int{1, 4}},
		{name: "header", text: "E-Mail\tName\nann@example.com\tAnn\n", cfg: PasteConfig{HasHeader: true}, wantHeader: []string{"E-Mail", "Name"}, want: [][]string{{"ann@example.com", "Ann"}}, wantLines: []int{2}},
		{name: "ragged row", text: "a\tb\nc\n", want: [][]string{{"a", "b"}, {"c"}}, wantCodes: []intake.Code{intake.CodeFieldCount}},
		{name: "comma delimiter", text: "a,b\n", cfg: PasteConfig{Delimiter: DelimiterComma}, want: [][]string{{"a", "b"}}},
		{name: "empty", text: "", wantErr: ErrEmptyPaste},
		{name: "only blank lines", text: "\r\n\n  \n", wantErr: ErrEmptyPaste},
		{name: "too many rows", text: "1\n2\n3\n", cfg: PasteConfig{MaxRows: 2}, want: [][]string{{"1"}, {"2"}}, wantErr: ErrTooManyPastedRows},
		{name: "unlimited", text: strings.Repeat("x\n", 1500), cfg: PasteConfig{MaxRows: -1}},
		{name: "default limit 1000", text: strings.Repeat("x\n", 1001), wantErr: ErrTooManyPastedRows},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
				iotest.HalfReader,
				iotest.DataErrReader,
			} {
				src, err := NewPaste(wrap(strings.NewReader(tt.text)), tt.cfg)
				require.NoError(t, err)
				res := readAll(ctx, src)
				if tt.wantErr != nil {
					assert.ErrorIs(t, res.fatal, tt.wantErr)
				} else {
					require.NoError(t, res.fatal)
				}
				assert.Equal(t, tt.wantHeader, res.header)
				if tt.want != nil {
					var got [][]string
					for _, r := range res.rows {
						got = append(got, r.Cells)
					}
					assert.Equal(t, tt.want, got)
				}
				if tt.wantLines != nil {
					var lines []int
					for _, r := range res.rows {
						lines = append(lines, r.Line)
					}
					assert.Equal(t, tt.wantLines, lines)
				}
				var codes []intake.Code
				for _, e := range res.errs {
					codes = append(codes, e.Code)
				}
				assert.Equal(t, tt.wantCodes, codes)
				require.NoError(t, src.Close())
			}
		})
	}
}

func TestPasteReaderErrorAndConfig(t *testing.T) {
	ctx := setupPaste(t)
	boom := errors.New("clipboard gone")
	src, err := NewPaste(iotest.ErrReader(boom), PasteConfig{Name: "clipboard"})
	require.NoError(t, err)
	assert.Equal(t, "clipboard", src.Name())
	_, err = src.Read(ctx)
	assert.ErrorIs(t, err, boom)
	src, err = NewPaste(io.MultiReader(strings.NewReader("a\tb\n"), iotest.TimeoutReader(strings.NewReader("c\td\n"))), PasteConfig{})
	require.NoError(t, err)
	res := readAll(ctx, src)
	assert.Error(t, res.fatal)
	for _, cfg := range []PasteConfig{{MaxCellBytes: -1}, {MaxColumns: -1}, {Delimiter: 99}} {
		_, err := NewPaste(strings.NewReader("x"), cfg)
		assert.Error(t, err)
	}
	_, err = NewPaste(nil, PasteConfig{})
	assert.Error(t, err)
	p, err := NewPasteText("a\tb\n", PasteConfig{})
	require.NoError(t, err)
	res = readAll(ctx, p)
	require.NoError(t, res.fatal)
	assert.Len(t, res.rows, 1)
	read, total := p.Progress()
	assert.Equal(t, int64(4), read)
	assert.Equal(t, int64(-1), total)
}

type readResult struct {
	header []string
	rows   []intake.Row
	errs   []*intake.RowError
	fatal  error
}

// readAll reads a whole source, collecting row errors and the fatal error.
func readAll(ctx context.Context, src Source) readResult {
	var res readResult
	h, err := src.Header(ctx)
	if err != nil {
		res.fatal = err
		return res
	}
	res.header = h
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			return res
		}
		var re *intake.RowError
		if errors.As(err, &re) {
			res.errs = append(res.errs, re)
		} else if err != nil {
			res.fatal = err
			return res
		}
		res.rows = append(res.rows, row)
	}
}
