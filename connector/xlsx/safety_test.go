package xlsx

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/internal/testcorpora"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const maxPeakHeap = 200 << 20

// readWorkbook opens and reads a whole workbook, returning the fatal error.
func readWorkbook(t *testing.T, data []byte, cfg Config) error {
	src, err := openBytes(data, cfg)
	if err != nil {
		return err
	}
	defer src.Close()
	return connectortest.ReadAll(t.Context(), src).Fatal
}

// TestXLSXMaliciousCorpus: Apache POI's XML bombs and shared-string
// amplification file are refused fast, in bounded memory.
func TestXLSXMaliciousCorpus(t *testing.T) {
	dir := filepath.Join(testcorpora.Dir(t), "malicious", "xlsx-apache-poi")
	tests := []struct {
		file string
		want error
	}{
		{"poc-shared-strings.xlsx", ErrTooLarge},
		{"poc-xmlbomb.xlsx", ErrBomb},
		{"poc-xmlbomb-empty.xlsx", ErrBomb},
		{"54764.xlsx", ErrBomb},
		{"54764-2.xlsx", ErrBomb},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			require.NoError(t, err)
			var ferr error
			start := time.Now()
			peak := peakHeap(func() { ferr = readWorkbook(t, data, Config{Name: tt.file}) })
			assert.ErrorIs(t, ferr, tt.want)
			assert.Less(t, peak, uint64(maxPeakHeap))
			assert.Less(t, time.Since(start), 5*time.Second)
			t.Logf("%s: %v in %v, peak heap %.1f MiB", tt.file, ferr, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20))
		})
	}
}

// TestXLSXDefusedXML wraps defusedxml's bombs and XXE files as the shared
// strings or the sheet of a generated workbook.
func TestXLSXDefusedXML(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testcorpora.Dir(t), "malicious", "xml-defusedxml")
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		payload, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, part := range []string{"xl/sharedStrings.xml", "xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml"} {
			t.Run(filepath.Base(f)+" as "+part, func(t *testing.T) {
				t.Parallel()
				data := buildXLSX(t, xlsxParts{part: string(payload)})
				var ferr error
				peak := peakHeap(func() { ferr = readWorkbook(t, data, Config{}) })
				assert.ErrorIs(t, ferr, ErrBomb)
				assert.Less(t, peak, uint64(maxPeakHeap))
			})
		}
	}
}

// rawEntry writes a zip entry whose header declares usize bytes
// uncompressed, with the given deflated body.
func rawEntry(t testing.TB, zw *zip.Writer, name string, body []byte, usize uint64, crc uint32) {
	t.Helper()
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CompressedSize64: uint64(len(body)), UncompressedSize64: usize, CRC32: crc})
	require.NoError(t, err)
	_, err = w.Write(body)
	require.NoError(t, err)
}

// bombXLSX returns a workbook whose sheet is n bytes of blanks inside
// <sheetData>, deflated; declared is the uncompressed size its header
// claims (0: the truth).
func bombXLSX(t testing.TB, n int, declared uint64) []byte {
	t.Helper()
	head := `<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
	var body bytes.Buffer
	fw, err := flate.NewWriter(&body, flate.BestSpeed)
	require.NoError(t, err)
	crc := crc32.NewIEEE()
	w := io.MultiWriter(fw, crc)
	_, _ = io.WriteString(w, head)
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for left := n; left > 0; left -= len(chunk) {
		_, _ = w.Write(chunk[:min(left, len(chunk))])
	}
	_, _ = io.WriteString(w, `</sheetData></worksheet>`)
	require.NoError(t, fw.Close())
	size := uint64(len(head) + n + len(`</sheetData></worksheet>`))
	if declared == 0 {
		declared = size
	}
	plain := buildXLSX(t, xlsxParts{"xl/worksheets/sheet1.xml": ""})
	zr, err := zip.NewReader(bytes.NewReader(plain), int64(len(plain)))
	require.NoError(t, err)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		require.NoError(t, zw.Copy(f))
	}
	rawEntry(t, zw, "xl/worksheets/sheet1.xml", body.Bytes(), declared, crc.Sum32())
	require.NoError(t, zw.Close())
	return out.Bytes()
}

// TestXLSXZipBombs: a sheet that declares a gigabyte, one that inflates
// 1000 times, and one that lies about its size are refused before they
// inflate, in bounded memory.
func TestXLSXZipBombs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data func(t testing.TB) []byte
		cfg  Config
		want error
	}{
		{"1 MB declaring 1 GiB", func(t testing.TB) []byte {
			b := buildXLSX(t, nil)
			var out bytes.Buffer
			zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			zw := zip.NewWriter(&out)
			for _, f := range zr.File {
				if f.Name != "xl/worksheets/sheet1.xml" {
					require.NoError(t, zw.Copy(f))
				}
			}
			rawEntry(t, zw, "xl/worksheets/sheet1.xml", bytes.Repeat([]byte{0}, 1<<20), 1<<30+1, 0)
			require.NoError(t, zw.Close())
			return out.Bytes()
		}, Config{}, ErrTooLarge},
		{"inflates 1000 times", func(t testing.TB) []byte { return bombXLSX(t, 64<<20, 0) }, Config{}, ErrBomb},
		{"inflates 1000 times, ratio check off, budget 32 MiB", func(t testing.TB) []byte { return bombXLSX(t, 64<<20, 0) }, Config{MaxCompressionRatio: -1, MaxUnzipBytes: 32 << 20}, ErrTooLarge},
		{"lies about its size", func(t testing.TB) []byte { return bombXLSX(t, 64<<20, 4096) }, Config{}, ErrBomb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := tt.data(t)
			var ferr error
			start := time.Now()
			peak := peakHeap(func() { ferr = readWorkbook(t, data, tt.cfg) })
			assert.ErrorIs(t, ferr, tt.want)
			assert.Less(t, peak, uint64(maxPeakHeap))
			t.Logf("%d-byte file: %v in %v, peak heap %.1f MiB", len(data), ferr, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20))
		})
	}
}

// TestXLSXEncrypted: encrypted workbooks need Config.Password.
func TestXLSXEncrypted(t *testing.T) {
	ctx := setupXLSX(t)
	c := testcorpora.Dir(t)
	aes := filepath.Join(c, "excelize-xlsx", "encryptAES.xlsx")
	for _, tt := range []struct {
		path, password string
		want           error
	}{
		{aes, "", ErrPasswordProtected},
		{aes, "wrong", ErrPasswordProtected},
		{filepath.Join(c, "calamine-xlsx", "pass_protected.xlsx"), "", ErrPasswordProtected},
	} {
		_, err := Open(tt.path, Config{Password: tt.password})
		assert.ErrorIs(t, err, tt.want, tt.path)
		assert.Contains(t, err.Error(), "xlsx.Config.Password")
	}
	src, err := Open(aes, Config{Password: "password", NoHeader: true})
	require.NoError(t, err)
	defer src.Close()
	res := connectortest.ReadAll(ctx, src)
	require.NoError(t, res.Fatal)
	require.NotEmpty(t, res.Rows)
	assert.Equal(t, "SECRET", res.Rows[0].Cell(0))
	// A legacy .xls-like OLE file without EncryptionInfo is not "encrypted".
	ole := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, strings.Repeat("\x00", 600)...)
	_, err = openBytes(ole, Config{})
	assert.ErrorIs(t, err, ErrFormat)
}
