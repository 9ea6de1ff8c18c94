package connector_test

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/intakehq/intake/connector"
	"github.com/stretchr/testify/require"
)

// rowsReader yields a header and n rows of four cells of cell bytes each,
// without holding the file.
type rowsReader struct {
	buf  bytes.Buffer
	row  []byte
	left int
}

func newRowsReader(n, cell int) *rowsReader {
	r := &rowsReader{left: n}
	r.buf.WriteString("a,b,c,d\n")
	c := bytes.Repeat([]byte("x"), cell)
	r.row = append(bytes.Join([][]byte{c, c, c, c}, []byte(",")), '\n')
	r.buf.Grow(len(r.row))
	return r
}

func (r *rowsReader) Read(p []byte) (int, error) {
	if r.buf.Len() == 0 {
		if r.left == 0 {
			return 0, io.EOF
		}
		r.left--
		r.buf.Write(r.row)
	}
	return r.buf.Read(p)
}

// TestCSVMemoryBounded checks the package doc's bound: a source holds about
// twice MaxRowBytes plus 160 KiB whatever the input, plus the rows the
// caller keeps (here only the current one). It reads ~100 MB of rows of
// 3.6 MB with MaxRowBytes 4 MiB and measures the live heap (after a GC)
// every few rows. A source that kept the rows the caller dropped (as its
// cell slab once did) fails it. Not parallel: other tests' allocations
// would count.
func TestCSVMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const maxRow, cell, rows = 4 << 20, 900_000, 28
	live := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	in := newRowsReader(rows, cell) // the test's reader holds 7 MB: not the source's
	base := live()
	src, err := connector.NewCSV(in, connector.CSVConfig{MaxRowBytes: maxRow})
	require.NoError(t, err)
	_, err = src.Header(t.Context())
	require.NoError(t, err)
	var peak int64
	for n := 1; ; n++ {
		row, err := src.Read(t.Context())
		if err == io.EOF {
			require.Equal(t, rows+1, n)
			break
		}
		require.NoError(t, err)
		require.Len(t, row.Cells, 4)
		if n%4 == 0 {
			peak = max(peak, live()-base)
			runtime.KeepAlive(row)
		}
	}
	require.NoError(t, src.Close())
	runtime.KeepAlive(in)
	t.Logf("%d MB of CSV read, live heap at most %.1f MiB above the start", rows*4*cell/1_000_000, float64(peak)/(1<<20))
	// The source's bound, the row the caller holds, and 256 KiB of slack.
	require.Less(t, peak, int64(2*maxRow+160<<10+4*cell+256<<10), "the source's memory grew with the input")
}
