package connector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/internal/kit"
)

func TestRegistryRegister(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	f := func(context.Context, *url.URL) (connector.Connector, string, error) { return nil, "", nil }
	require.NoError(t, r.Register("restapi", f))
	tests := []struct {
		scheme   string
		f        connector.Factory
		contains string
	}{
		{"RESTAPI://", f, "already registered"},
		{"", f, "not a URL scheme"},
		{"1http", f, "not a URL scheme"},
		{"re st", f, "not a URL scheme"},
		{"other", nil, "non-nil Factory"},
	}
	for _, tc := range tests {
		assert.ErrorContains(t, r.Register(tc.scheme, tc.f), tc.contains, tc.scheme)
	}
	assert.Equal(t, []string{"restapi"}, r.Schemes())
	_, _, err := r.Open(context.Background(), "ftp://host/file.csv")
	assert.ErrorIs(t, err, connector.ErrUnknownScheme)
	assert.ErrorContains(t, err, "registered: restapi")
	_, _, err = r.Open(context.Background(), "contacts.csv")
	assert.ErrorContains(t, err, "has no scheme")
}

func TestDefaultRegistry(t *testing.T) {
	dir, _ := setupLocal(t)
	ctx := context.Background()
	r := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
	assert.Equal(t, []string{"file"}, r.Schemes())
	csv, _ := kit.CSV()

	tests := []struct {
		url, path, contains string
	}{
		{"file:///exports/contacts.csv", "exports/contacts.csv", ""},
		{"file:exports/contacts.csv", "exports/contacts.csv", ""},
		{"file://localhost/exports/contacts.csv", "exports/contacts.csv", ""},
		{"file:///../secret.csv", "", "leaves the connector's directory"},
		{"file://otherhost/x.csv", "", "use sftp://"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			conn, p, err := r.Open(ctx, tc.url)
			if tc.contains != "" {
				if err == nil { // the escape is refused on Open, by the connector
					_, err = conn.Open(ctx, p)
					conn.(io.Closer).Close()
				}
				assert.ErrorContains(t, err, tc.contains)
				return
			}
			require.NoError(t, err)
			if c, ok := conn.(io.Closer); ok {
				defer c.Close()
			}
			assert.Equal(t, tc.path, p)
			src, err := r.OpenSource(ctx, conn, p, connector.SourceConfig{})
			require.NoError(t, err)
			defer src.Close()
			h, err := src.Header(ctx)
			require.NoError(t, err)
			assert.Equal(t, "email,first_name,city", strings.Join(h, ","))
			assert.NotEmpty(t, csv)
		})
	}

	none := connector.DefaultRegistry(connector.RegistryConfig{})
	_, _, err := none.Open(ctx, "file:///etc/passwd")
	assert.ErrorContains(t, err, "set RegistryConfig.LocalRoot")
	_, _, err = none.Open(ctx, "sftp://u:p@example.com/x.csv")
	assert.ErrorIs(t, err, connector.ErrUnknownScheme)
	_, _, err = none.Open(ctx, "https://example.com/x.csv")
	assert.ErrorIs(t, err, connector.ErrUnknownScheme)
	assert.ErrorContains(t, err, "connector/httpconn")
}

// TestRegistryConcurrent: the doc says a Registry is safe for concurrent
// use; Register, Open and Schemes run at once (the runtime's map checks, and
// go test -race, catch a registry without its lock).
func TestRegistryConcurrent(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	f := func(_ context.Context, u *url.URL) (connector.Connector, string, error) { return nil, u.Path, nil }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := fmt.Sprintf("s%d-%d", g, i)
				assert.NoError(t, r.Register(s, f))
				_, p, err := r.Open(context.Background(), s+"://h/x.csv")
				assert.NoError(t, err)
				assert.Equal(t, "/x.csv", p)
				_ = r.Schemes()
			}
		})
	}
	wg.Wait()
	assert.Len(t, r.Schemes(), 8*200)
}

// refusingConnector fails the test when a file is opened.
type refusingConnector struct{ t *testing.T }

func (c refusingConnector) Open(context.Context, string) (connector.File, error) {
	c.t.Error("the connector was asked for a file")
	return nil, errors.New("refused")
}

func TestRegisterFormat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var r connector.Registry // the zero Registry reads CSV
	assert.Equal(t, []connector.Format{connector.FormatCSV}, r.Formats())
	_, err := r.OpenSource(ctx, refusingConnector{t}, "in/book.xlsx", connector.SourceConfig{})
	assert.ErrorIs(t, err, connector.ErrFormatNotRegistered)
	assert.ErrorContains(t, err, "in/book.xlsx: xlsx:")
	_, err = r.OpenSource(ctx, refusingConnector{t}, "in/data.csv", connector.SourceConfig{Format: connector.FormatXLSX})
	assert.ErrorIs(t, err, connector.ErrFormatNotRegistered, "the format given wins over the name")

	var got struct {
		name string
		cfg  connector.SourceConfig
	}
	open := func(_ context.Context, f connector.File, name string, cfg connector.SourceConfig) (connector.Source, error) {
		got.name, got.cfg = name, cfg
		return connector.NewPaste(f, connector.PasteConfig{HasHeader: true})
	}
	for _, tc := range []struct {
		f        connector.Format
		open     connector.FormatOpener
		contains string
	}{
		{connector.FormatAuto, open, "concrete format"},
		{connector.Format(9), open, "concrete format"},
		{connector.FormatCSV, open, "built in"},
		{connector.FormatXLSX, nil, "non-nil FormatOpener"},
	} {
		assert.ErrorContains(t, r.RegisterFormat(tc.f, tc.open), tc.contains, tc.f)
	}
	require.NoError(t, r.RegisterFormat(connector.FormatXLSX, open))
	assert.ErrorContains(t, r.RegisterFormat(connector.FormatXLSX, open), "already registered")
	assert.Equal(t, []connector.Format{connector.FormatCSV, connector.FormatXLSX}, r.Formats())

	files := memConnector{"in/book.xlsx": []byte("email\tcity\nann@example.com\tRome\n")}
	wb := connector.WorkbookOptions{Sheet: "Contacts", HeaderRow: 2}
	src, err := r.OpenSource(ctx, files, "in/book.xlsx", connector.SourceConfig{Workbook: wb})
	require.NoError(t, err)
	defer src.Close()
	h, err := src.Header(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"email", "city"}, h)
	assert.Equal(t, "in/book.xlsx", got.name)
	assert.Equal(t, wb, got.cfg.Workbook)
	assert.Equal(t, "paste", src.Describe().Format, "the FileSource describes the opener's source")
}

// streamFile is a File that cannot be read at random.
type streamFile struct {
	io.Reader
	size int64
}

func (f streamFile) Close() error             { return nil }
func (f streamFile) Info() connector.FileInfo { return connector.FileInfo{Name: "x", Size: f.size} }

func TestRandomAccess(t *testing.T) {
	t.Parallel()
	data := []byte("0123456789")
	tests := []struct {
		name   string
		file   connector.File
		max    int64
		copied bool
		is     error
	}{
		{"reader at with a size", memFile{bytes.NewReader(data), "x", 10}, 0, false, nil},
		{"reader at without a size", memFile{bytes.NewReader(data), "x", -1}, 0, true, nil},
		{"stream", streamFile{bytes.NewReader(data), -1}, 0, true, nil},
		{"stream at the limit", streamFile{bytes.NewReader(data), -1}, 10, true, nil},
		{"stream past the limit", streamFile{bytes.NewReader(data), -1}, 9, true, connector.ErrSizeLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			ra, size, release, err := connector.RandomAccess(tc.file, connector.SourceConfig{MaxSpoolBytes: tc.max, TempDir: tmp})
			left, _ := os.ReadDir(tmp)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
				assert.Empty(t, left, "nothing is left behind on error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.copied, len(left) == 1, "copied")
			assert.EqualValues(t, 10, size)
			b := make([]byte, 3)
			_, err = ra.ReadAt(b, 7)
			require.NoError(t, err)
			assert.Equal(t, "789", string(b))
			require.NoError(t, release())
			left, _ = os.ReadDir(tmp)
			assert.Empty(t, left, "release removes the copy")
		})
	}
}
