package connector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/intakehq/intake/connector"
)

// exampleDir makes a directory with two exports, for the examples.
func exampleDir() string {
	dir, err := os.MkdirTemp("", "intake-example-")
	if err != nil {
		panic(err)
	}
	os.Mkdir(filepath.Join(dir, "exports"), 0o755)
	for i, name := range []string{"contacts_2026-03-01.csv", "contacts_2026-03-02.csv"} {
		p := filepath.Join(dir, "exports", name)
		os.WriteFile(p, []byte("email;first_name\nann@example.com;Ann\nbob@example.com;Bob\n"), 0o644)
		mt := time.Date(2026, 3, 1+i, 6, 0, 0, 0, time.UTC)
		os.Chtimes(p, mt, mt)
	}
	return dir
}

func ExampleNewLocal() {
	dir := exampleDir()
	defer os.RemoveAll(dir)
	ctx := context.Background()

	local, err := connector.NewLocal(connector.LocalConfig{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer local.Close()

	// The newest export, then its rows.
	newest, err := connector.Newest(ctx, local, "exports/contacts_*.csv")
	if err != nil {
		panic(err)
	}
	reg := connector.NewRegistry() // reads CSV; formats such as XLSX are registered on it
	src, err := reg.OpenSource(ctx, local, newest.Name, connector.SourceConfig{})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	header, _ := src.Header(ctx)
	fmt.Println(newest.Name, header)
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		fmt.Println(row.Line, row.Cells)
	}

	// Paths cannot leave the directory.
	_, err = local.Open(ctx, "../../etc/passwd")
	fmt.Println(errors.Is(err, connector.ErrPathEscapes))
	// Output:
	// exports/contacts_2026-03-02.csv [email first_name]
	// 2 [ann@example.com Ann]
	// 3 [bob@example.com Bob]
	// true
}

// memConnector is a third-party connector: files held in memory.
type memConnector map[string][]byte

type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f memFile) Close() error { return nil }
func (f memFile) Info() connector.FileInfo {
	return connector.FileInfo{Name: f.name, Size: f.size}
}

func (m memConnector) Open(ctx context.Context, p string) (connector.File, error) {
	b, ok := m[p]
	if !ok {
		return nil, fmt.Errorf("mem: %s: %w", p, os.ErrNotExist)
	}
	return memFile{bytes.NewReader(b), p, int64(len(b))}, nil
}

func ExampleRegistry() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(dir)

	// Our connectors, with file:// URLs confined to dir.
	reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
	// A third-party connector under its own scheme.
	files := memConnector{"inbox/leads.csv": []byte("email\ncid@example.com\n")}
	err := reg.Register("mem", func(ctx context.Context, u *url.URL) (connector.Connector, string, error) {
		return files, strings.TrimPrefix(u.Path, "/"), nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(reg.Schemes())

	for _, raw := range []string{"file:///exports/contacts_2026-03-01.csv", "mem:///inbox/leads.csv"} {
		conn, p, err := reg.Open(ctx, raw)
		if err != nil {
			panic(err)
		}
		src, err := reg.OpenSource(ctx, conn, p, connector.SourceConfig{})
		if err != nil {
			panic(err)
		}
		row, _ := src.Read(ctx)
		fmt.Println(p, row.Cells)
		src.Close()
		if c, ok := conn.(io.Closer); ok {
			c.Close()
		}
	}
	fmt.Println(reg.Register("mem", nil) != nil)
	// Output:
	// [file mem]
	// exports/contacts_2026-03-01.csv [ann@example.com Ann]
	// inbox/leads.csv [cid@example.com]
	// true
}

func ExampleOpenIfChanged() {
	ctx := context.Background()
	dir := exampleDir()
	defer os.RemoveAll(dir)
	local, _ := connector.NewLocal(connector.LocalConfig{Dir: dir})
	defer local.Close()
	const p = "exports/contacts_2026-03-01.csv"

	reg := connector.NewRegistry()

	// First run: read the file; keep its FileInfo with the run.
	src, err := reg.OpenSource(ctx, local, p, connector.SourceConfig{})
	if err != nil {
		panic(err)
	}
	for {
		if _, err := src.Read(ctx); err == io.EOF {
			break
		}
	}
	last := src.Info()
	src.Close()
	fmt.Println(last.Fingerprint()[:7])

	// Next run: skip the file if it did not change.
	_, err = reg.OpenSource(ctx, local, p, connector.SourceConfig{Last: last})
	fmt.Println(errors.Is(err, connector.ErrNotModified))
	// Output:
	// sha256:
	// true
}
