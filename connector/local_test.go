package connector_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/connector/internal/kit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setupLocal makes a directory with exports/contacts.csv (the kit's CSV),
// exports/contacts.xlsx (the kit's workbook), a secret file outside it and
// two symbolic links that point outside; it returns the directory and a
// connector rooted there.
func setupLocal(t *testing.T) (string, *connector.Local) {
	t.Helper()
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "root")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "exports"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(base, "secret.csv"), []byte("password\nhunter2\n"), 0o644))
	csv, _ := kit.CSV()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exports", "contacts.csv"), csv, 0o644))
	book, _ := kit.XLSX(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exports", "contacts.xlsx"), book, 0o644))
	require.NoError(t, os.Symlink(filepath.Join(base, "secret.csv"), filepath.Join(dir, "evil.csv")))
	require.NoError(t, os.Symlink(base, filepath.Join(dir, "up")))
	require.NoError(t, os.Symlink("exports/contacts.csv", filepath.Join(dir, "inside.csv")))
	l, err := connector.NewLocal(connector.LocalConfig{Dir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return dir, l
}

func TestLocalConformance(t *testing.T) {
	_, l := setupLocal(t)
	csv, want := kit.CSV()
	connectortest.TestConnector(t, l, "exports/contacts.csv", csv)
	connectortest.TestConnector(t, l, "inside.csv", csv) // a link inside the root is fine
	connectortest.TestSource(t, func(ctx context.Context) (connector.Source, error) {
		return connector.NewRegistry().OpenSource(ctx, l, "exports/contacts.csv", connector.SourceConfig{})
	}, want)
	_, wantX := kit.XLSX(t)
	connectortest.TestSource(t, func(ctx context.Context) (connector.Source, error) {
		return withXLSX(t).OpenSource(ctx, l, "exports/contacts.xlsx", connector.SourceConfig{})
	}, wantX)
}

func TestLocalRefusesEscapes(t *testing.T) {
	_, l := setupLocal(t)
	ctx := context.Background()
	for _, p := range []string{
		"../secret.csv",
		"exports/../../secret.csv",
		"/etc/passwd",
		"evil.csv",           // a link to a file outside
		"up/secret.csv",      // through a link to a directory outside
		"up/root/inside.csv", // out and back in
	} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			f, err := l.Open(ctx, p)
			if err == nil {
				f.Close()
				t.Fatalf("Open(%q) succeeded", p)
			}
			assert.ErrorIs(t, err, connector.ErrPathEscapes)
			assert.Contains(t, err.Error(), "leaves the connector's directory")
			_, err = l.Stat(ctx, p)
			assert.ErrorIs(t, err, connector.ErrPathEscapes)
		})
	}
	_, err := l.List(ctx, "../*.csv")
	assert.ErrorIs(t, err, connector.ErrPathEscapes)
}

func TestLocalConfig(t *testing.T) {
	t.Parallel()
	_, err := connector.NewLocal(connector.LocalConfig{})
	assert.ErrorContains(t, err, "LocalConfig.Dir is empty")
	_, err = connector.NewLocal(connector.LocalConfig{Dir: filepath.Join(t.TempDir(), "nope")})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestLocalSizeLimit(t *testing.T) {
	dir, _ := setupLocal(t)
	l, err := connector.NewLocal(connector.LocalConfig{Dir: dir, MaxBytes: 100})
	require.NoError(t, err)
	defer l.Close()
	_, err = l.Open(context.Background(), "exports/contacts.csv")
	assert.ErrorIs(t, err, connector.ErrSizeLimit)
	assert.ErrorContains(t, err, "LocalConfig.MaxBytes")
}

func TestNewestLocal(t *testing.T) {
	dir, l := setupLocal(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, name := range []string{"contacts_2026-03-01.csv", "contacts_2026-03-03.csv", "contacts_2026-03-02.csv", "accounts_2026-03-09.csv", "contacts_x.txt"} {
		p := filepath.Join(dir, "exports", name)
		require.NoError(t, os.WriteFile(p, []byte("email\n"), 0o644))
		mt := t0.Add(time.Duration(i) * time.Hour)
		if name == "contacts_2026-03-02.csv" {
			mt = t0.Add(time.Hour) // same time as 03-03: the greater name wins
		}
		require.NoError(t, os.Chtimes(p, mt, mt))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "exports", "contacts_dir.csv"), 0o755))
	tests := []struct {
		pattern, want string
		err           error
	}{
		{"exports/contacts_*.csv", "exports/contacts_2026-03-03.csv", nil},
		{"exports/accounts_*.csv", "exports/accounts_2026-03-09.csv", nil},
		{"exports/leads_*.csv", "", connector.ErrNoMatch},
		{"*.csv", "inside.csv", nil}, // a link inside the root is listed, evil.csv (a link out) is not
	}
	for _, tc := range tests {
		got, err := connector.Newest(ctx, l, tc.pattern)
		if tc.err != nil {
			assert.ErrorIs(t, err, tc.err, tc.pattern)
			continue
		}
		require.NoError(t, err, tc.pattern)
		assert.Equal(t, tc.want, got.Name, tc.pattern)
	}
	_, err := l.List(ctx, "exp*/contacts.csv")
	assert.ErrorContains(t, err, "only the file name may hold wildcards")
	_, err = l.List(ctx, "exports/[")
	assert.Error(t, err)
}

func TestOpenIfChangedLocal(t *testing.T) {
	dir, l := setupLocal(t)
	ctx := context.Background()
	f, err := l.Open(ctx, "exports/contacts.csv")
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, f)
	require.NoError(t, err)
	last := f.Info()
	require.NoError(t, f.Close())
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, last.Fingerprint())

	_, err = connector.OpenIfChanged(ctx, l, "exports/contacts.csv", last)
	assert.ErrorIs(t, err, connector.ErrNotModified)
	_, err = connector.NewRegistry().OpenSource(ctx, l, "exports/contacts.csv", connector.SourceConfig{Last: last})
	assert.ErrorIs(t, err, connector.ErrNotModified)

	later := time.Now().Add(time.Minute)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "exports", "contacts.csv"), later, later))
	f, err = connector.OpenIfChanged(ctx, l, "exports/contacts.csv", last)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, f)
	require.NoError(t, err)
	assert.Equal(t, last.ContentHash, f.Info().ContentHash, "same bytes, same hash")
	require.NoError(t, f.Close())
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	mt := time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		fi   connector.FileInfo
		want string
	}{
		{connector.FileInfo{ContentHash: "sha256:ab", ETag: `"x"`, Size: 3, ModTime: mt}, "sha256:ab"},
		{connector.FileInfo{ETag: `"x"`, Size: 3, ModTime: mt}, `etag:"x":3`},
		{connector.FileInfo{Size: 3, ModTime: mt}, "stat:3:2026-03-01T08:00:00Z"},
		{connector.FileInfo{Size: -1, ModTime: mt}, ""},
		{connector.FileInfo{Size: 3}, ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.fi.Fingerprint())
	}
}

func TestDirArchive(t *testing.T) {
	_, l := setupLocal(t)
	ctx := context.Background()
	a, err := connector.NewDirArchive(filepath.Join(t.TempDir(), "archive"))
	require.NoError(t, err)
	defer a.Close()
	src, err := connector.NewRegistry().OpenSource(ctx, l, "exports/contacts.csv", connector.SourceConfig{Archive: a, RunID: "run-1"})
	require.NoError(t, err)
	_, err = src.Header(ctx)
	require.NoError(t, err)
	assert.Equal(t, "run-1/contacts.csv", src.ArchiveRef())
	assert.NotEmpty(t, src.Info().ContentHash, "the archive read the whole file")
	require.NoError(t, src.Close())

	rc, err := a.Open(ctx, "run-1/contacts.csv")
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	csv, _ := kit.CSV()
	assert.True(t, bytes.Equal(csv, got))

	for _, ref := range []string{"../x", "run-1/../../x", "run-1", "/etc/passwd"} {
		_, err := a.Open(ctx, ref)
		assert.Error(t, err, ref)
	}
	for _, run := range []string{"", "..", "a/b"} {
		_, err := a.Put(ctx, run, "x.csv", bytes.NewReader(nil))
		assert.Error(t, err, run)
	}
	_, err = connector.NewRegistry().OpenSource(ctx, l, "exports/contacts.csv", connector.SourceConfig{Archive: a})
	assert.ErrorContains(t, err, "RunID is empty")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = a.Put(cctx, "run-2", "x.csv", bytes.NewReader([]byte("a")))
	assert.True(t, errors.Is(err, context.Canceled))
	_, err = a.Open(ctx, "run-2/x.csv")
	assert.Error(t, err, "no partial copy is left under the reference")
}

func TestOpenSourceFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want connector.Format
		err  bool
	}{
		{"", connector.FormatAuto, false}, {"CSV", connector.FormatCSV, false}, {"tsv", connector.FormatCSV, false},
		{"xlsx", connector.FormatXLSX, false}, {"xls", 0, true},
	}
	for _, tc := range tests {
		got, err := connector.ParseFormat(tc.in)
		assert.Equal(t, tc.err, err != nil, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	assert.Equal(t, connector.FormatXLSX, connector.FormatOf("a/B.XLSX"))
	assert.Equal(t, connector.FormatCSV, connector.FormatOf("b.txt"))
	assert.Equal(t, "xlsx", connector.FormatXLSX.String())
}
