// Package connectortest checks that a [connector.Connector] or a
// [connector.Source] keeps the contracts the importer relies on, the way
// testing/fstest.TestFS checks an fs.FS. Authors of third-party connectors
// and sources call [TestConnector] or [TestSource] from their tests; every
// connector and source of Intake passes them.
//
// Both functions report each broken rule as a test failure in a named
// subtest and go on with the other checks. They do not check goroutine
// leaks: run go.uber.org/goleak in the calling test when the implementation
// starts goroutines.
package connectortest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
)

// Prompt bounds how long an operation may take once its context is
// canceled before the kit reports it as not prompt.
const Prompt = 5 * time.Second

// TestConnector checks conn against the [connector.Connector] contract with
// the file at path, whose content is want (at least a few bytes; a few KiB
// or more exercises buffering better):
//
//   - Open returns a File whose bytes, read with small buffers, are want;
//     Read returns io.EOF at the end and again after; Info names the file
//     and gives its size (or -1) and, after the end, a non-empty
//     Fingerprint that is the same on a second open; Close is nil twice,
//     and Read after Close is an error;
//   - a canceled context: Open refuses it, and a File whose context is
//     canceled returns the context's error from Read promptly;
//   - a missing file (path + ".missing") is an error wrapping
//     fs.ErrNotExist;
//   - optional capabilities when present: io.ReaderAt on the File,
//     [connector.Stater], [connector.Lister] (with path as the pattern,
//     when it has no wildcard), and skip-unchanged through
//     [connector.OpenIfChanged] for a [connector.ConditionalOpener] or a
//     [connector.Stater] (the first read's FileInfo, when it has an ETag
//     or a modification time, gives [connector.ErrNotModified]; another
//     file's FileInfo opens).
func TestConnector(t *testing.T, conn connector.Connector, path string, want []byte) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("connectortest: TestConnector needs a file with content (want is empty)")
	}
	c := connCheck{ctx: context.Background(), conn: conn, path: path, want: want}
	t.Run("Read", func(t *testing.T) { c.first = c.read(t) })
	t.Run("Fingerprint", c.fingerprint)
	t.Run("Cancel", c.cancel)
	t.Run("NotExist", c.notExist)
	t.Run("ReaderAt", c.readerAt)
	t.Run("Stater", c.stater)
	t.Run("Lister", c.lister)
	t.Run("OpenIfChanged", c.openIfChanged)
}

// connCheck holds what the subtests of TestConnector share: the connector,
// the file and its content, and the FileInfo of the first complete read.
type connCheck struct {
	ctx   context.Context
	conn  connector.Connector
	path  string
	want  []byte
	first connector.FileInfo
}

// read: the file's bytes, read with small buffers, are want; io.EOF at the
// end and again; Info before and after; Close twice; Read after Close. It
// returns the FileInfo after the end.
func (c *connCheck) read(t *testing.T) connector.FileInfo {
	want := c.want
	f, err := c.conn.Open(c.ctx, c.path)
	if err != nil {
		t.Fatalf("Open(%q): %v", c.path, err)
	}
	info := f.Info()
	if info.Name == "" {
		t.Errorf("Info().Name is empty before reading")
	}
	if info.Size != -1 && info.Size != int64(len(want)) {
		t.Errorf("Info().Size = %d before reading, want %d or -1", info.Size, len(want))
	}
	got, err := readSmall(f)
	if err != nil {
		t.Fatalf("reading with small buffers: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("content: got %d bytes %q..., want %d bytes %q...", len(got), head(got), len(want), head(want))
	}
	for i := range 2 {
		if n, err := f.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Errorf("Read after the end (%d): (%d, %v), want (0, io.EOF)", i+1, n, err)
		}
	}
	first := f.Info()
	if first.Size != -1 && first.Size != int64(len(want)) {
		t.Errorf("Info().Size = %d after reading, want %d or -1", first.Size, len(want))
	}
	if first.Fingerprint() == "" {
		t.Errorf("Info().Fingerprint() is empty after reading the whole file: give a content hash, an ETag or a size and modification time")
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if n, err := f.Read(make([]byte, 8)); err == nil || n != 0 {
		t.Errorf("Read after Close: (%d, %v), want an error", n, err)
	}
	return first
}

// fingerprint: a second open of the unchanged file gives the first read's
// Fingerprint.
func (c *connCheck) fingerprint(t *testing.T) {
	f, err := c.conn.Open(c.ctx, c.path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	if _, err := io.Copy(io.Discard, f); err != nil {
		t.Fatalf("read: %v", err)
	}
	if a, b := c.first.Fingerprint(), f.Info().Fingerprint(); a != b {
		t.Errorf("Fingerprint differs between two opens of an unchanged file: %q, then %q", a, b)
	}
}

// cancel: Open refuses a canceled context, and a File whose context is
// canceled returns the context's error from Read within Prompt.
func (c *connCheck) cancel(t *testing.T) {
	cctx, cancel := context.WithCancel(c.ctx)
	cancel()
	if f, err := c.conn.Open(cctx, c.path); err == nil {
		f.Close()
		t.Errorf("Open with a canceled context succeeded, want the context's error")
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context: %v, want an error wrapping context.Canceled", err)
	}
	cctx, cancel = context.WithCancel(c.ctx)
	defer cancel()
	f, err := c.conn.Open(cctx, c.path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	cancel()
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, f); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read after the context was canceled: %v, want an error wrapping context.Canceled", err)
		}
	case <-time.After(Prompt):
		t.Errorf("Read did not return within %v of the context's cancellation", Prompt)
		f.Close()
		<-done
	}
}

// notExist: opening a missing file is an error wrapping fs.ErrNotExist.
func (c *connCheck) notExist(t *testing.T) {
	missing := c.path + ".missing"
	f, err := c.conn.Open(c.ctx, missing)
	if err == nil {
		f.Close()
		t.Fatalf("Open(%q) of a missing file succeeded", missing)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: %v, want an error wrapping fs.ErrNotExist", err)
	}
}

// readerAt: a File that implements io.ReaderAt reads the file's bytes at
// an offset, and io.EOF at the end.
func (c *connCheck) readerAt(t *testing.T) {
	want := c.want
	f, err := c.conn.Open(c.ctx, c.path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		t.Skip("the File does not implement io.ReaderAt")
	}
	off := len(want) / 3
	buf := make([]byte, len(want)-off)
	n, err := ra.ReadAt(buf, int64(off))
	if err != nil && !(err == io.EOF && n == len(buf)) {
		t.Fatalf("ReadAt(%d bytes at %d): %d, %v", len(buf), off, n, err)
	}
	if !bytes.Equal(buf[:n], want[off:]) {
		t.Errorf("ReadAt at %d returned other bytes than the file's", off)
	}
	if _, err := ra.ReadAt(make([]byte, 1), int64(len(want))); err != io.EOF {
		t.Errorf("ReadAt at the end: %v, want io.EOF", err)
	}
}

// stater: a connector.Stater gives the file's size and no content hash,
// and fs.ErrNotExist for a missing file.
func (c *connCheck) stater(t *testing.T) {
	st, ok := c.conn.(connector.Stater)
	if !ok {
		t.Skip("the connector does not implement Stater")
	}
	fi, err := st.Stat(c.ctx, c.path)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if fi.Size != int64(len(c.want)) && fi.Size != -1 {
		t.Errorf("Stat: Size %d, want %d", fi.Size, len(c.want))
	}
	if fi.ContentHash != "" {
		t.Errorf("Stat: ContentHash %q, want it empty (nothing was read)", fi.ContentHash)
	}
	if _, err := st.Stat(c.ctx, c.path+".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a missing file: %v, want an error wrapping fs.ErrNotExist", err)
	}
}

// lister: a connector.Lister lists the file alone for its path as the
// pattern, under a name that opens.
func (c *connCheck) lister(t *testing.T) {
	l, ok := c.conn.(connector.Lister)
	if !ok {
		t.Skip("the connector does not implement Lister")
	}
	if strings.ContainsAny(c.path, `*?[\`) {
		t.Skip("the path holds wildcard characters")
	}
	files, err := l.List(c.ctx, c.path)
	if err != nil {
		t.Fatalf("List(%q): %v", c.path, err)
	}
	if len(files) != 1 || files[0].Size != int64(len(c.want)) {
		t.Fatalf("List(%q) = %+v, want the file alone, with size %d", c.path, files, len(c.want))
	}
	f, err := c.conn.Open(c.ctx, files[0].Name)
	if err != nil {
		t.Fatalf("Open of the listed name %q: %v", files[0].Name, err)
	}
	f.Close()
}

// openIfChanged: the first read's FileInfo gives connector.ErrNotModified,
// another file's opens.
func (c *connCheck) openIfChanged(t *testing.T) {
	_, co := c.conn.(connector.ConditionalOpener)
	_, st := c.conn.(connector.Stater)
	if !co && !st {
		t.Skip("the connector implements neither ConditionalOpener nor Stater: it cannot tell an unchanged file")
	}
	first := c.first
	if first.ETag == "" && first.ModTime.IsZero() {
		t.Skip("the file has neither an ETag nor a modification time to compare")
	}
	if f, err := connector.OpenIfChanged(c.ctx, c.conn, c.path, first); err == nil {
		f.Close()
		t.Errorf("OpenIfChanged with the FileInfo of the last read opened the unchanged file, want ErrNotModified")
	} else if !errors.Is(err, connector.ErrNotModified) {
		t.Errorf("OpenIfChanged of an unchanged file: %v, want an error wrapping ErrNotModified", err)
	}
	older := connector.FileInfo{Name: first.Name, Size: first.Size + 1, ModTime: time.Unix(1, 0), ETag: `"connectortest-other"`}
	f, err := connector.OpenIfChanged(c.ctx, c.conn, c.path, older)
	if err != nil {
		t.Fatalf("OpenIfChanged with another file's FileInfo: %v, want the file opened", err)
	}
	f.Close()
}

// readSmall reads r to its end with buffers of 1 to 4096 bytes, varying,
// as a parser reading ahead would.
func readSmall(r io.Reader) ([]byte, error) {
	var out []byte
	sizes := []int{1, 7, 512, 4096, 3}
	buf := make([]byte, 4096)
	for i := 0; ; i++ {
		n, err := r.Read(buf[:sizes[i%len(sizes)]])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if i > 1<<26 {
			return out, errors.New("too many reads")
		}
	}
}

func head(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// Want is what [TestSource] expects of a source, and the hooks for its
// optional checks.
type Want struct {
	// Header is the expected header; nil for a source without one.
	Header []string
	// Rows are the cells of every data row, in order, rows with a row
	// error included.
	Rows [][]string
	// Errors gives the expected row error code of rows by their 0-based
	// index in Rows; a row not listed must come without error.
	Errors map[int]intake.Code
	// Lines, when set, are the expected Row.Line of each row. Without it,
	// lines are only checked to be at least 1 (2 with a header) and
	// non-decreasing.
	Lines []int

	// OpenLimited, when set, opens the same input with the source's row
	// limit set to max (CSVConfig.MaxRows, say). With at least 2 rows, the
	// kit opens it with max 1 and expects a fatal error (not a row error,
	// not io.EOF) at the latest on the second Read, returned again by the
	// next Read.
	OpenLimited func(ctx context.Context, max int) (connector.Source, error)

	// FromReader and Input, when set, build the source on an io.Reader
	// holding Input; the kit then reads it through testing/iotest readers:
	// one byte at a time, half reads and data with io.EOF must give the
	// same rows; a timeout or an error mid-stream must give a fatal error
	// that wraps it (or, for a timeout, the same rows after a retry).
	FromReader func(r io.Reader) (connector.Source, error)
	Input      []byte

	// CancelWithin is how many rows the source may still return after its
	// context is canceled before Read must return the context's error
	// (sources check the context every so many rows). Default: 256.
	CancelWithin int
}

// Fingerprinter is the optional capability of a source that identifies
// its input's content (see connector.FileInfo.Fingerprint; "" when
// unknown); TestSource checks that it is stable across two opens.
type Fingerprinter interface {
	Fingerprint() string
}

// TestSource checks the source made by open against the [connector.Source]
// contract and want:
//
//   - Header returns want.Header, the same on a second call;
//   - Read returns want.Rows in order, each with its expected row error
//     (an *intake.RowError whose Line is the row's) or none; lines are at
//     least 1 (2 with a header) and non-decreasing; then io.EOF, and
//     io.EOF again;
//   - Close is nil twice; Read after Close is an error, never a row;
//   - a canceled context: Read returns the context's error within
//     want.CancelWithin rows and Prompt;
//   - [connector.Progresser], when implemented: read never decreases and
//     stays within total when total is known;
//   - Fingerprinter, when implemented: the same for two opens once read
//     ("" means unknown, and must then stay "");
//   - the row limit (want.OpenLimited) and the iotest readers
//     (want.FromReader) when given.
//
// open is called several times and must return a fresh source over the
// same input each time; its ctx is the one the source may keep (an SQL
// query's).
func TestSource(t *testing.T, open func(ctx context.Context) (connector.Source, error), want Want) {
	t.Helper()
	c := sourceCheck{ctx: context.Background(), open: open, want: want}
	t.Run("Read", func(t *testing.T) { c.fp = c.read(t) })
	t.Run("Fingerprint", c.fingerprint)
	t.Run("Cancel", c.cancel)
	t.Run("Limit", c.limit)
	t.Run("IOTest", c.iotest)
}

// sourceCheck holds what the subtests of TestSource share: how to open the
// source, what it must return, and the Fingerprint of the first complete
// read ("" when unknown or not implemented).
type sourceCheck struct {
	ctx  context.Context
	open func(ctx context.Context) (connector.Source, error)
	want Want
	fp   string
}

// read: the rows are want's, then Close twice and Read after Close. It
// returns the source's Fingerprint once read.
func (c *sourceCheck) read(t *testing.T) string {
	src, err := c.open(c.ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	checkRows(t, c.ctx, src, c.want)
	var fp string
	if f, ok := src.(Fingerprinter); ok {
		fp = f.Fingerprint() // "" means unknown: allowed, but it must stay ""
	}
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if row, err := src.Read(c.ctx); err == nil || err == io.EOF {
		t.Errorf("Read after Close: (%v, %v), want an error other than io.EOF", row, err)
	}
	return fp
}

// fingerprint: a second open, once read, gives the first one's
// Fingerprint.
func (c *sourceCheck) fingerprint(t *testing.T) {
	src, err := c.open(c.ctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer src.Close()
	f, ok := src.(Fingerprinter)
	if !ok {
		t.Skip("the source does not implement Fingerprint")
	}
	for {
		if _, err := src.Read(c.ctx); err != nil && !isRowError(err) {
			break
		}
	}
	if got := f.Fingerprint(); got != c.fp {
		t.Errorf("Fingerprint differs between two opens: %q, then %q", c.fp, got)
	}
}

// cancel: a source whose context is canceled before the first row, or
// after it, returns the context's error within want.CancelWithin rows and
// Prompt.
func (c *sourceCheck) cancel(t *testing.T) {
	within := c.want.CancelWithin
	if within <= 0 {
		within = 256
	}
	for _, after := range []int{0, 1} {
		if after <= len(c.want.Rows) {
			c.cancelAfter(t, after, within)
		}
	}
}

// cancelAfter reads after rows, cancels the source's context and reads on
// until the source stops.
func (c *sourceCheck) cancelAfter(t *testing.T, after, within int) {
	cctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	src, err := c.open(cctx)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer src.Close()
	for range after {
		if _, err := src.Read(cctx); err != nil && !isRowError(err) {
			t.Fatalf("Read before canceling: %v", err)
		}
	}
	cancel()
	start := time.Now()
	n := 0
	for {
		_, err := src.Read(cctx)
		if err == nil || isRowError(err) {
			if n++; n > within {
				t.Errorf("canceled after %d rows: Read still returned rows %d rows later, want the context's error within %d rows", after, n, within)
				break
			}
			continue
		}
		if err == io.EOF && after+n >= len(c.want.Rows) {
			break // the input ended first
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("canceled after %d rows: Read returned %v, want an error wrapping context.Canceled", after, err)
		}
		break
	}
	if d := time.Since(start); d > Prompt {
		t.Errorf("canceled after %d rows: Read took %v to stop", after, d)
	}
}

// limit: a source limited to 1 row (want.OpenLimited) fails with a fatal
// error by its second row, and returns it again.
func (c *sourceCheck) limit(t *testing.T) {
	if c.want.OpenLimited == nil {
		t.Skip("Want.OpenLimited is not set")
	}
	if len(c.want.Rows) < 2 {
		t.Skip("the input has fewer than 2 rows")
	}
	src, err := c.want.OpenLimited(c.ctx, 1)
	if err != nil {
		t.Fatalf("OpenLimited(1): %v", err)
	}
	defer src.Close()
	var fatal error
	for i := 0; i < 2; i++ {
		if _, err := src.Read(c.ctx); err != nil && !isRowError(err) {
			fatal = err
			break
		}
	}
	if fatal == nil || fatal == io.EOF {
		t.Fatalf("a source limited to 1 row read 2 rows (or ended with %v), want a fatal error naming the limit", fatal)
	}
	if _, err := src.Read(c.ctx); err == nil || isRowError(err) {
		t.Errorf("Read after the limit's fatal error: %v, want the error again", err)
	}
}

// iotest reads want.Input through testing/iotest readers (want.FromReader):
// the same rows one byte at a time, by halves and with io.EOF on the data;
// the reader's error when it fails mid-stream or times out.
func (c *sourceCheck) iotest(t *testing.T) {
	want := c.want
	if want.FromReader == nil || want.Input == nil {
		t.Skip("Want.FromReader or Want.Input is not set")
	}
	same := []struct {
		name string
		r    func() io.Reader
	}{
		{"OneByteReader", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(want.Input)) }},
		{"HalfReader", func() io.Reader { return iotest.HalfReader(bytes.NewReader(want.Input)) }},
		{"DataErrReader", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(want.Input)) }},
	}
	for _, tc := range same {
		t.Run(tc.name, func(t *testing.T) {
			src, err := want.FromReader(tc.r())
			if err != nil {
				t.Fatalf("FromReader: %v", err)
			}
			defer src.Close()
			checkRows(t, c.ctx, src, want)
		})
	}
	t.Run("ErrMidStream", c.errMidStream)
	t.Run("TimeoutReader", c.timeoutReader)
}

// errMidStream: a reader that fails halfway gives a fatal error wrapping
// the reader's.
func (c *sourceCheck) errMidStream(t *testing.T) {
	boom := errors.New("connectortest: connection reset")
	half := c.want.Input[:len(c.want.Input)/2]
	src, err := c.want.FromReader(io.MultiReader(bytes.NewReader(half), iotest.ErrReader(boom)))
	if err != nil {
		if !errors.Is(err, boom) {
			t.Errorf("FromReader with a failing reader: %v, want an error wrapping the reader's", err)
		}
		return
	}
	defer src.Close()
	if err := drain(c.ctx, src); !errors.Is(err, boom) {
		t.Errorf("reading a reader that fails mid-stream ended with %v, want an error wrapping the reader's error", err)
	}
}

// timeoutReader: a reader that times out once gives a fatal error wrapping
// iotest.ErrTimeout, or every row after a retry.
func (c *sourceCheck) timeoutReader(t *testing.T) {
	src, err := c.want.FromReader(iotest.TimeoutReader(bytes.NewReader(c.want.Input)))
	if err != nil {
		if !errors.Is(err, iotest.ErrTimeout) {
			t.Errorf("FromReader with a TimeoutReader: %v, want an error wrapping iotest.ErrTimeout", err)
		}
		return
	}
	defer src.Close()
	err = drain(c.ctx, src)
	if err != nil && !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("reading a TimeoutReader ended with %v, want an error wrapping iotest.ErrTimeout (or all rows)", err)
	}
}

// drain reads src to its end; it returns nil at io.EOF, else the fatal
// error.
func drain(ctx context.Context, src connector.Source) error {
	if _, err := src.Header(ctx); err != nil {
		return err
	}
	for {
		_, err := src.Read(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil && !isRowError(err) {
			return err
		}
	}
}

func isRowError(err error) bool {
	var re *intake.RowError
	return errors.As(err, &re)
}

// checkRows reads src to its end and compares with want.
func checkRows(t *testing.T, ctx context.Context, src connector.Source, want Want) {
	t.Helper()
	h, err := src.Header(ctx)
	if err != nil {
		t.Fatalf("Header: %v", err)
	}
	if !equal(h, want.Header) || (h == nil) != (want.Header == nil) {
		t.Errorf("Header = %q, want %q", h, want.Header)
	}
	if h2, err := src.Header(ctx); err != nil || !equal(h2, h) {
		t.Errorf("second Header = %q, %v; want the same as the first", h2, err)
	}
	minLine := 1
	if want.Header != nil {
		minLine = 2
	}
	prevRead := int64(0)
	p, hasProgress := src.(connector.Progresser)
	for i := 0; ; i++ {
		row, err := src.Read(ctx)
		if err == io.EOF {
			if i != len(want.Rows) {
				t.Errorf("io.EOF after %d rows, want %d rows", i, len(want.Rows))
			}
			break
		}
		var re *intake.RowError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("Read (row %d): fatal error %v", i+1, err)
		}
		if i >= len(want.Rows) {
			t.Fatalf("Read returned row %d %q, want io.EOF after %d rows", i+1, row.Cells, len(want.Rows))
		}
		if !equal(row.Cells, want.Rows[i]) {
			t.Errorf("row %d (line %d) = %q, want %q", i+1, row.Line, row.Cells, want.Rows[i])
		}
		if row.Line < minLine {
			t.Errorf("row %d: Line %d, want at least %d", i+1, row.Line, minLine)
		}
		if want.Lines != nil && i < len(want.Lines) && row.Line != want.Lines[i] {
			t.Errorf("row %d: Line %d, want %d", i+1, row.Line, want.Lines[i])
		}
		minLine = row.Line
		code, wantErr := want.Errors[i]
		switch {
		case re == nil && wantErr:
			t.Errorf("row %d (line %d): no error, want row error %s", i+1, row.Line, code)
		case re != nil && !wantErr:
			t.Errorf("row %d (line %d): unexpected row error %v", i+1, row.Line, re)
		case re != nil && re.Code != code:
			t.Errorf("row %d (line %d): row error code %q, want %q", i+1, row.Line, re.Code, code)
		}
		if re != nil && re.Line != row.Line {
			t.Errorf("row %d: RowError.Line %d differs from Row.Line %d", i+1, re.Line, row.Line)
		}
		if hasProgress {
			read, total := p.Progress()
			if read < prevRead {
				t.Errorf("Progress went back from %d to %d", prevRead, read)
			}
			if total >= 0 && read > total {
				t.Errorf("Progress: read %d beyond total %d", read, total)
			}
			prevRead = read
		}
	}
	if row, err := src.Read(ctx); err != io.EOF {
		t.Errorf("Read after io.EOF = (%v, %v), want io.EOF again", row, err)
	}
}

func equal(a, b []string) bool {
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

// Result is what [ReadAll] read from a source.
type Result struct {
	// Header is what Header returned.
	Header []string
	// Rows are the rows Read returned, in order, those that came with a
	// *intake.RowError included (with what the source read of them).
	Rows []intake.Row
	// Errs are the row errors Read returned, in order.
	Errs []*intake.RowError
	// Fatal is the error that ended the read (of Header or of Read), nil
	// when it ended at io.EOF.
	Fatal error
}

// ReadAll reads src to its end, as the importer does: the header, then
// rows until io.EOF, going on after a *intake.RowError and stopping at any
// other error. Tests of a source compare its Result with what they expect.
func ReadAll(ctx context.Context, src connector.Source) Result {
	var res Result
	if res.Header, res.Fatal = src.Header(ctx); res.Fatal != nil {
		return res
	}
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			return res
		}
		var re *intake.RowError
		if errors.As(err, &re) {
			res.Errs = append(res.Errs, re)
		} else if err != nil {
			res.Fatal = err
			return res
		}
		res.Rows = append(res.Rows, row)
	}
}
