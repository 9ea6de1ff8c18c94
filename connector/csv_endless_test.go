package connector_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/httpconn"
)

// endlessReader yields one byte forever (a line that never ends) and
// counts the bytes it gave. Past stop bytes it fails, so that a source
// that reads on does not hang the test.
type endlessReader struct {
	b    byte
	n    atomic.Int64
	stop int64
}

var errReadTooFar = errors.New("endlessReader: read past the bound")

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.n.Load() >= r.stop {
		return 0, errReadTooFar
	}
	for i := range p {
		p[i] = r.b
	}
	r.n.Add(int64(len(p)))
	return len(p), nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestCSVEndlessLineStopsAtTheLimit feeds lines that never end: a fatal
// header error, and a data row longer than MaxRowBytes, must stop reading
// at once, having read at most about the limit plus a read buffer, instead
// of reading the line to its end.
func TestCSVEndlessLineStopsAtTheLimit(t *testing.T) {
	const cell, row = 256 << 10, 1 << 20
	cases := []struct {
		name   string
		prefix string // before the endless bytes
		b      byte
		noHdr  bool
		want   error
	}{
		{"header cell too long", "", 'a', false, connector.ErrBadHeader},
		{"header with a stray quote", "a\"", 'a', false, connector.ErrBadHeader},
		{"header quoted cell never closed", `"`, 'a', false, connector.ErrBadHeader},
		{"header of empty cells", "", ',', false, connector.ErrTooManyColumns},
		{"data row cell too long", "", 'a', true, connector.ErrRowTooLong},
		{"data row quoted cell never closed", `"`, 'a', true, connector.ErrRowTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := setup(t)
			endless := &endlessReader{b: tc.b, stop: 64 * row}
			in := io.MultiReader(bytes.NewReader([]byte(tc.prefix)), endless)
			src, err := connector.NewCSV(in, connector.CSVConfig{MaxCellBytes: cell, MaxRowBytes: row, NoHeader: tc.noHdr})
			require.NoError(t, err)
			defer src.Close()
			if tc.noHdr {
				err = nil
				for i := 0; i < 10 && (err == nil || isRowError(err)); i++ {
					_, err = src.Read(ctx)
				}
				require.ErrorIs(t, err, tc.want)
			} else {
				_, err = src.Header(ctx)
				require.ErrorIs(t, err, tc.want)
			}
			require.NotErrorIs(t, err, errReadTooFar)
			// The limit that stops the line (the cell's in a header, the
			// row's in data), plus one read buffer, which grows up to
			// about that limit, plus the 64 KiB sample.
			limit := int64(cell)
			if tc.noHdr {
				limit = row
			}
			require.LessOrEqual(t, endless.n.Load(), 2*limit+64<<10, "bytes read before the error")
		})
	}
}

// TestCSVGzipBombHeader serves a gzip bomb (64 MiB of one endless header
// line, 64 KiB compressed) over HTTP with Content-Encoding: gzip, which the
// HTTP connector inflates: the header error comes after inflating about
// MaxRowBytes, not the whole body.
func TestCSVGzipBombHeader(t *testing.T) {
	ctx := setup(t)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	line := bytes.Repeat([]byte("a"), 1<<20)
	for range 64 {
		_, _ = zw.Write(line)
	}
	require.NoError(t, zw.Close())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/csv")
		_, _ = w.Write(gz.Bytes())
	}))
	defer srv.Close()
	h, err := httpconn.New(httpconn.Config{})
	require.NoError(t, err)
	defer h.Close()
	f, err := h.Open(ctx, srv.URL+"/bomb.csv")
	require.NoError(t, err)
	defer f.Close()
	cr := &countReader{r: f}
	src, err := connector.NewCSV(cr, connector.CSVConfig{MaxRowBytes: 1 << 20})
	require.NoError(t, err)
	defer src.Close()
	_, err = src.Header(ctx)
	require.ErrorIs(t, err, connector.ErrBadHeader)
	require.LessOrEqual(t, cr.n, int64(2<<20), "inflated bytes read before the error")
	t.Logf("inflated %d of %d bytes (%d compressed)", cr.n, 64<<20, gz.Len())
}

func isRowError(err error) bool {
	var re *intake.RowError
	return errors.As(err, &re)
}
