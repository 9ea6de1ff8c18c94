package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/intakehq/intake"
)

// Format is the format of a file's rows.
type Format uint8

// Formats of [OpenSource]. The zero value, FormatAuto, goes by the file name.
const (
	FormatAuto Format = iota // .xlsx and .xlsm are XLSX, anything else CSV
	FormatCSV                // delimiter-separated text (see CSV)
	FormatXLSX               // an Excel workbook (see XLSX)
)

// String returns "auto", "csv" or "xlsx".
func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatCSV:
		return "csv"
	case FormatXLSX:
		return "xlsx"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// ParseFormat parses "auto" (or ""), "csv" (also "tsv", "txt") or "xlsx",
// case-insensitive.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "csv", "tsv", "txt", "text":
		return FormatCSV, nil
	case "xlsx", "xlsm", "excel":
		return FormatXLSX, nil
	}
	return FormatAuto, fmt.Errorf("intake: unknown format %q; use auto, csv or xlsx", s)
}

// FormatOf returns the format of a file by its name's extension: XLSX for
// .xlsx and .xlsm, CSV otherwise.
func FormatOf(name string) Format {
	switch strings.ToLower(path.Ext(name)) {
	case ".xlsx", ".xlsm":
		return FormatXLSX
	}
	return FormatCSV
}

// DefaultMaxSpoolBytes is the default of SourceConfig.MaxSpoolBytes.
const DefaultMaxSpoolBytes = DefaultXLSXMaxFileBytes

// SourceConfig configures [OpenSource].
type SourceConfig struct {
	// Format of the rows. Default: FormatAuto, by the file name.
	Format Format
	// CSV configures a CSV source. Name defaults to the path (an http(s)
	// URL without its query and password) and Size to the file's size.
	CSV CSVConfig
	// XLSX configures an XLSX source. Name defaults to the path.
	XLSX XLSXConfig
	// MaxSpoolBytes bounds the temporary copy of a workbook whose File
	// cannot be read at random (an HTTP body); more is an error wrapping
	// ErrSizeLimit. Default (0): DefaultMaxSpoolBytes (256 MiB); negative:
	// unlimited.
	MaxSpoolBytes int64
	// TempDir holds that temporary copy, removed on Close. Default: "",
	// os.TempDir().
	TempDir string
	// Last is the FileInfo of the previous successful read of the file, for
	// a scheduled job: when the connector tells that the file is unchanged,
	// OpenSource returns an error wrapping [ErrNotModified] (see
	// [OpenIfChanged]). Default: zero, always open.
	Last FileInfo
	// Archive, when set, receives a copy of the file before it is read
	// (under RunID; the reference is FileSource.ArchiveRef), and the rows
	// are read from that copy, so the run's history keeps exactly the bytes
	// that were imported. Default: nil, nothing kept.
	Archive Archive
	// RunID names the run in the archive. Required with Archive.
	RunID string
}

// FileSource is the [Source] that [OpenSource] returns: a CSV or XLSX
// source over a connector's [File]. It implements [Namer], [Progresser],
// [Describer] and Fingerprint, and closes the file (and removes any temporary copy) on
// Close.
type FileSource struct {
	Source
	file    File
	cleanup func() error
	ref     string
	direct  string // the path of a SourceOpener's source; file is nil
	closed  bool
}

// SourceOpener is an optional capability of a [Connector] that reads rows
// itself rather than bytes — a REST API, a database, a CRM: [OpenSource]
// hands it the path and cfg and wraps the Source it returns (Format,
// Archive and Last are then the connector's business; Info reports the
// source's FileInfo when it has an Info method, else only the path). Its
// Open method may return an error saying that it has no files.
type SourceOpener interface {
	OpenSource(ctx context.Context, path string, cfg SourceConfig) (Source, error)
}

// OpenSource opens path through conn and returns a source of its rows in
// cfg.Format: a job names a connector, a path and a format. A connector
// that reads rows itself ([SourceOpener]) returns its own source instead. A workbook
// needs random access: a File that does not implement io.ReaderAt is first
// spooled to a temporary file (at most MaxSpoolBytes). Errors of the
// connector (not found, not modified, size limit) and of the source's start
// (an encrypted workbook, bad limits) come from here.
func OpenSource(ctx context.Context, conn Connector, p string, cfg SourceConfig) (*FileSource, error) {
	if conn == nil {
		return nil, errors.New("intake: OpenSource needs a Connector (NewLocal, NewHTTP, one from a Registry, or your own)")
	}
	if cfg.Format > FormatXLSX {
		return nil, fmt.Errorf("intake: SourceConfig.Format %d is not a known Format; use FormatAuto, FormatCSV or FormatXLSX", cfg.Format)
	}
	if cfg.Archive != nil && cfg.RunID == "" {
		return nil, errors.New("intake: SourceConfig.RunID is empty; name the run whose file the archive keeps")
	}
	if so, ok := conn.(SourceOpener); ok {
		src, err := so.OpenSource(ctx, p, cfg)
		if err != nil {
			return nil, err
		}
		return &FileSource{Source: src, direct: p}, nil
	}
	f, err := OpenIfChanged(ctx, conn, p, cfg.Last)
	if err != nil {
		return nil, err
	}
	fs := &FileSource{file: f}
	if cfg.Archive != nil {
		ref, err := cfg.Archive.Put(ctx, cfg.RunID, path.Base(p), f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("intake: archive %s: %w", p, err)
		}
		fs.ref = ref
		rc, err := cfg.Archive.Open(ctx, ref)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("intake: open archived %s: %w", ref, err)
		}
		fs.file = &archivedFile{ReadCloser: rc, orig: f}
	}
	format := cfg.Format
	if format == FormatAuto {
		format = FormatOf(p)
	}
	if err := fs.start(p, format, cfg); err != nil {
		fs.file.Close()
		if fs.cleanup != nil {
			fs.cleanup()
		}
		return nil, err
	}
	return fs, nil
}

func (fs *FileSource) start(p string, format Format, cfg SourceConfig) error {
	info := fs.file.Info()
	switch format {
	case FormatXLSX:
		xc := cfg.XLSX
		if xc.Name == "" {
			xc.Name = displayName(p)
		}
		ra, ok := fs.file.(io.ReaderAt)
		size := info.Size
		if !ok || size < 0 {
			var err error
			if ra, size, err = fs.spool(cfg); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		x, err := NewXLSX(ra, size, xc)
		if err != nil {
			return err
		}
		fs.Source = x
	default:
		cc := cfg.CSV
		if cc.Name == "" {
			cc.Name = displayName(p)
		}
		if cc.Size == 0 && info.Size > 0 {
			cc.Size = info.Size
		}
		c, err := NewCSV(fs.file, cc)
		if err != nil {
			return err
		}
		fs.Source = c
	}
	return nil
}

// displayName is the path as errors name it: an http(s) URL without its
// query and password (which may hold credentials).
func displayName(p string) string {
	if isHTTPURL(p) {
		if u, err := url.Parse(p); err == nil {
			return redact(u)
		}
	}
	return p
}

// spool copies the file to a temporary file for random access.
func (fs *FileSource) spool(cfg SourceConfig) (io.ReaderAt, int64, error) {
	limit := normLimit(cfg.MaxSpoolBytes, DefaultMaxSpoolBytes)
	tmp, err := os.CreateTemp(cfg.TempDir, "intake-spool-*")
	if err != nil {
		return nil, 0, fmt.Errorf("intake: spool the workbook to a temporary file (set SourceConfig.TempDir): %w", err)
	}
	fs.cleanup = func() error {
		err := tmp.Close()
		if rerr := os.Remove(tmp.Name()); err == nil {
			err = rerr
		}
		return err
	}
	var r io.Reader = fs.file
	if limit != noLimit {
		r = io.LimitReader(fs.file, limit+1)
	}
	n, err := io.Copy(tmp, r)
	if err != nil {
		return nil, 0, fmt.Errorf("intake: spool the workbook: %w", err)
	}
	if limit != noLimit && n > limit {
		return nil, 0, fmt.Errorf("%w (SourceConfig.MaxSpoolBytes is %d)", ErrSizeLimit, limit)
	}
	return tmp, n, nil
}

// Info returns the connector's metadata of the file; ContentHash is set
// once the whole file has been read (always, for a spooled workbook).
func (fs *FileSource) Info() FileInfo {
	if fs.file == nil {
		if i, ok := fs.Source.(interface{ Info() FileInfo }); ok {
			return i.Info()
		}
		return FileInfo{Name: fs.direct, Size: -1}
	}
	return fs.file.Info()
}

// Fingerprint returns Info().Fingerprint(): record it after a successful
// run, and pass the FileInfo as SourceConfig.Last next time.
func (fs *FileSource) Fingerprint() string { return fs.Info().Fingerprint() }

// ArchiveRef returns the archive reference of the file's copy, or "" when
// SourceConfig.Archive was not set.
func (fs *FileSource) ArchiveRef() string { return fs.ref }

// Name returns the source's name (the path, unless the source's Config
// names it otherwise). It implements [Namer].
func (fs *FileSource) Name() string {
	if n, ok := fs.Source.(Namer); ok {
		return n.Name()
	}
	return ""
}

// Describe returns the Dialect of the CSV or XLSX source, or of a
// [SourceOpener]'s source when it implements [Describer] (else the zero
// Dialect). It implements [Describer].
func (fs *FileSource) Describe() Dialect {
	if d, ok := fs.Source.(Describer); ok {
		return d.Describe()
	}
	return Dialect{}
}

// Progress implements [Progresser].
func (fs *FileSource) Progress() (read, total int64) {
	if p, ok := fs.Source.(Progresser); ok {
		return p.Progress()
	}
	return 0, -1
}

// Close closes the source, the file and any temporary copy. It is safe to
// call twice.
func (fs *FileSource) Close() error {
	if fs.closed {
		return nil
	}
	fs.closed = true
	err := fs.Source.Close()
	if fs.file != nil {
		err = errors.Join(err, fs.file.Close())
	}
	if fs.cleanup != nil {
		err = errors.Join(err, fs.cleanup())
	}
	return err
}

// Read returns the next row (see [Source]).
func (fs *FileSource) Read(ctx context.Context) (intake.Row, error) { return fs.Source.Read(ctx) }

// archivedFile reads the archive's copy and reports the original's
// metadata, completed with the copy's hash.
type archivedFile struct {
	io.ReadCloser
	orig File
}

func (a *archivedFile) Info() FileInfo { return a.orig.Info() }

func (a *archivedFile) Close() error {
	return errors.Join(a.ReadCloser.Close(), a.orig.Close())
}
