package connectortest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
)

// memConnector is a minimal correct connector of in-memory files.
type memConnector struct {
	files  map[string][]byte
	broken bool // break the contract: ignore ctx, fail a second Close, unwrapped not-found
}

type memFile struct {
	ctx    context.Context
	r      *bytes.Reader
	name   string
	size   int64
	closed bool
	broken bool
}

func (f *memFile) Read(p []byte) (int, error) {
	if f.closed {
		return 0, errors.New("mem: closed")
	}
	if err := f.ctx.Err(); err != nil && !f.broken {
		return 0, err
	}
	return f.r.Read(p)
}

func (f *memFile) Close() error {
	if f.closed && f.broken {
		return errors.New("mem: already closed")
	}
	f.closed = true
	return nil
}

func (f *memFile) Info() connector.FileInfo {
	return connector.FileInfo{Name: f.name, Size: f.size, ContentHash: fmt.Sprintf("len:%d", f.size)}
}

func (m memConnector) Open(ctx context.Context, p string) (connector.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, ok := m.files[p]
	if !ok {
		if m.broken {
			return nil, errors.New("mem: no such file")
		}
		return nil, fmt.Errorf("mem: %s: %w", p, os.ErrNotExist)
	}
	return &memFile{ctx: ctx, r: bytes.NewReader(b), name: p, size: int64(len(b)), broken: m.broken}, nil
}

// sliceSource is a minimal source of fixed rows.
type sliceSource struct {
	rows   [][]string
	i      int
	closed bool
	broken bool // break the contract: line 0, no io.EOF again
}

func (s *sliceSource) Header(ctx context.Context) ([]string, error) { return []string{"email"}, nil }
func (s *sliceSource) Read(ctx context.Context) (intake.Row, error) {
	if s.closed {
		return intake.Row{}, connector.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return intake.Row{}, err
	}
	if s.i >= len(s.rows) {
		if s.broken && s.i > len(s.rows) {
			return intake.Row{Line: 0, Cells: []string{"ghost"}}, nil
		}
		s.i++
		return intake.Row{}, io.EOF
	}
	s.i++
	line := s.i + 1
	if s.broken {
		line = 0
	}
	return intake.Row{Line: line, Cells: s.rows[s.i-1]}, nil
}
func (s *sliceSource) Close() error { s.closed = true; return nil }

var data = []byte("email\nann@example.com\nbob@example.com\n")

func TestKitPassesCorrectImplementations(t *testing.T) {
	t.Parallel()
	connectortest.TestConnector(t, memConnector{files: map[string][]byte{"a.csv": data}}, "a.csv", data)
	rows := [][]string{{"ann@example.com"}, {"bob@example.com"}}
	connectortest.TestSource(t, func(context.Context) (connector.Source, error) {
		return &sliceSource{rows: rows}, nil
	}, connectortest.Want{Header: []string{"email"}, Rows: rows, Lines: []int{2, 3}})
}

// TestKitCatchesBrokenImplementations runs the kit on broken
// implementations in a child process and checks that it fails with the
// expected complaints.
func TestKitCatchesBrokenImplementations(t *testing.T) {
	if os.Getenv("CONNECTORTEST_BROKEN") == "1" {
		connectortest.TestConnector(t, memConnector{files: map[string][]byte{"a.csv": data}, broken: true}, "a.csv", data)
		rows := [][]string{{"ann@example.com"}, {"bob@example.com"}}
		connectortest.TestSource(t, func(context.Context) (connector.Source, error) {
			return &sliceSource{rows: rows, broken: true}, nil
		}, connectortest.Want{Header: []string{"email"}, Rows: rows})
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKitCatchesBrokenImplementations$", "-test.v")
	cmd.Env = append(os.Environ(), "CONNECTORTEST_BROKEN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the kit passed broken implementations:\n%s", out)
	}
	for _, want := range []string{
		"second Close",
		"want an error wrapping context.Canceled",
		"want an error wrapping fs.ErrNotExist",
		"Line 0, want at least 2",
		"want io.EOF again",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the kit's output lacks %q:\n%s", want, out)
		}
	}
}

// TestReadAll: ReadAll keeps going after a row error, keeps that row, and
// reports no fatal error at the end of the source.
func TestReadAll(t *testing.T) {
	t.Parallel()
	src, err := connector.NewCSV(strings.NewReader("email,name\na@x.io,Ann\n\"b@x.io,Bob\n"), connector.CSVConfig{Name: "r.csv"})
	if err != nil {
		t.Fatal(err)
	}
	res := connectortest.ReadAll(context.Background(), src)
	if res.Fatal != nil || len(res.Header) != 2 || len(res.Rows) != 2 || len(res.Errs) != 1 || res.Errs[0].Line != 3 {
		t.Fatalf("ReadAll = %+v (errors %v)", res, res.Errs)
	}
}
