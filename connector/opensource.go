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

// Formats of [Registry.OpenSource]. The zero value, FormatAuto, goes by the
// file name. CSV is read by this package; another format is read by the
// [FormatOpener] registered for it ([Registry.RegisterFormat]).
const (
	FormatAuto Format = iota // .xlsx and .xlsm are XLSX, anything else CSV
	FormatCSV                // delimiter-separated text (see CSV)
	FormatXLSX               // an Excel workbook (package connector/xlsx reads it)
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
	return FormatAuto, fmt.Errorf("connector: unknown format %q; use auto, csv or xlsx", s)
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
const DefaultMaxSpoolBytes = int64(256) << 20 // 256 MiB

// WorkbookOptions say which part of a workbook a source reads: what a job
// spec says about a workbook, as plain data, so that a program that passes
// it on (a scheduler) needs no workbook reader of its own. The
// [FormatOpener] of FormatXLSX reads them.
type WorkbookOptions struct {
	// Sheet is the name of the worksheet to read (compared ignoring case).
	// Default: "" (see SheetNumber).
	Sheet string
	// SheetNumber is the 1-based position of the worksheet to read among
	// all sheets of the workbook, hidden ones included, used when Sheet is
	// empty. Default: 0, the first visible worksheet.
	SheetNumber int
	// HeaderRow is the 1-based sheet row number of the header row; rows
	// above it (titles, notes) are skipped. Default: 0, the first row with
	// a non-empty cell.
	HeaderRow int
	// NoHeader says that there is no header row: every non-empty row from
	// HeaderRow on is data. Default: false.
	NoHeader bool
	// Password opens an encrypted workbook. Default: "".
	Password string
}

// SourceConfig configures [Registry.OpenSource].
type SourceConfig struct {
	// Format of the rows. Default: FormatAuto, by the file name.
	Format Format
	// CSV configures a CSV source. Name defaults to the path (an http(s)
	// URL without its query and password) and Size to the file's size.
	CSV CSVConfig
	// Workbook says which sheet of a workbook to read, and how.
	Workbook WorkbookOptions
	// MaxSpoolBytes bounds the temporary copy that [RandomAccess] makes of
	// a File that cannot be read at random (an HTTP body), for a format
	// that needs random access (XLSX); more is an error wrapping
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

// FileSource is the [Source] that [Registry.OpenSource] returns: a CSV
// source, or the source of a registered format, over a connector's [File].
// It implements [Namer], [Progresser], [Describer] and Fingerprint, and
// closes the file on Close (and the format's source, which releases what it
// holds, such as a temporary copy).
type FileSource struct {
	Source
	file   File
	ref    string
	direct string // the path of a SourceOpener's source; file is nil
	closed bool
}

// SourceOpener is an optional capability of a [Connector] that reads rows
// itself rather than bytes — a REST API, a database, a CRM: [Registry.OpenSource]
// hands it the path and cfg and wraps the Source it returns (Format,
// Archive and Last are then the connector's business; Info reports the
// source's FileInfo when it has an Info method, else only the path). Its
// Open method may return an error saying that it has no files.
type SourceOpener interface {
	OpenSource(ctx context.Context, path string, cfg SourceConfig) (Source, error)
}

// FormatOpener reads the rows of a file in one format, for
// [Registry.OpenSource]: f is the file (OpenSource closes it, after the
// returned Source), name names it in errors (the path, an http(s) URL
// without its query and password), cfg is the caller's SourceConfig (the
// opener of FormatXLSX reads cfg.Workbook, and calls [RandomAccess] with
// cfg). The returned Source releases on Close whatever the opener made (a
// temporary copy); on error, the opener releases it itself. Errors of the
// source's start (an encrypted workbook, bad limits) come from here.
type FormatOpener func(ctx context.Context, f File, name string, cfg SourceConfig) (Source, error)

// ErrFormatNotRegistered reports that a file's format has no [FormatOpener] in the
// registry. The error names the format; its reader is a package of its own
// that the host registers (XLSX: xlsx.Register of package
// github.com/intakehq/intake/connector/xlsx).
var ErrFormatNotRegistered = errors.New("connector: format not registered")

// RegisterFormat makes open read the files of format f in
// [Registry.OpenSource]. CSV is built in and cannot be registered;
// FormatAuto, a value that is not a Format, a format registered twice or
// a nil opener is an error.
func (r *Registry) RegisterFormat(f Format, open FormatOpener) error {
	switch {
	case f == FormatAuto || f > FormatXLSX:
		return fmt.Errorf("connector: RegisterFormat(%v): register a concrete format such as FormatXLSX", f)
	case f == FormatCSV:
		return errors.New("connector: RegisterFormat(csv): CSV is built in")
	case open == nil:
		return fmt.Errorf("connector: RegisterFormat(%v) needs a non-nil FormatOpener", f)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.formats == nil {
		r.formats = make(map[Format]FormatOpener)
	}
	if _, dup := r.formats[f]; dup {
		return fmt.Errorf("connector: format %v is already registered; register each format once (use a new Registry to replace one)", f)
	}
	r.formats[f] = open
	return nil
}

// Formats returns the formats that r reads: csv, then the registered ones.
func (r *Registry) Formats() []Format {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []Format{FormatCSV}
	for f := FormatCSV + 1; f <= FormatXLSX; f++ {
		if r.formats[f] != nil {
			out = append(out, f)
		}
	}
	return out
}

// OpenSource opens path through conn and returns a source of its rows in
// cfg.Format: a job names a connector, a path and a format. CSV is read by
// this package, other formats by the [FormatOpener] registered for them;
// an unregistered one is an error wrapping [ErrFormatNotRegistered],
// returned before anything is opened. A connector that reads rows itself
// ([SourceOpener]) returns its own source instead. Errors of the connector
// (not found, not modified, size limit) and of the source's start come
// from here.
func (r *Registry) OpenSource(ctx context.Context, conn Connector, p string, cfg SourceConfig) (*FileSource, error) {
	if conn == nil {
		return nil, errors.New("connector: OpenSource needs a Connector (NewLocal, httpconn.New, one from a Registry, or your own)")
	}
	if cfg.Format > FormatXLSX {
		return nil, fmt.Errorf("connector: SourceConfig.Format %d is not a known Format; use FormatAuto, FormatCSV or FormatXLSX", cfg.Format)
	}
	format := cfg.Format
	if format == FormatAuto {
		format = FormatOf(p)
	}
	var open FormatOpener
	if format != FormatCSV {
		r.mu.RLock()
		open = r.formats[format]
		r.mu.RUnlock()
	}
	if cfg.Archive != nil && cfg.RunID == "" {
		return nil, errors.New("connector: SourceConfig.RunID is empty; name the run whose file the archive keeps")
	}
	if so, ok := conn.(SourceOpener); ok {
		src, err := so.OpenSource(ctx, p, cfg)
		if err != nil {
			return nil, err
		}
		return &FileSource{Source: src, direct: p}, nil
	}
	if format != FormatCSV && open == nil {
		return nil, fmt.Errorf("%s: %v: %w: register its reader on the Registry (XLSX: xlsx.Register)", displayName(p), format, ErrFormatNotRegistered)
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
			return nil, fmt.Errorf("connector: archive %s: %w", p, err)
		}
		fs.ref = ref
		rc, err := cfg.Archive.Open(ctx, ref)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("connector: open archived %s: %w", ref, err)
		}
		fs.file = &archivedFile{ReadCloser: rc, orig: f}
	}
	if err := fs.start(ctx, p, open, cfg); err != nil {
		fs.file.Close()
		return nil, err
	}
	return fs, nil
}

func (fs *FileSource) start(ctx context.Context, p string, open FormatOpener, cfg SourceConfig) error {
	if open != nil {
		src, err := open(ctx, fs.file, displayName(p), cfg)
		if err != nil {
			return err
		}
		fs.Source = src
		return nil
	}
	cc := cfg.CSV
	if cc.Name == "" {
		cc.Name = displayName(p)
	}
	if info := fs.file.Info(); cc.Size == 0 && info.Size > 0 {
		cc.Size = info.Size
	}
	c, err := NewCSV(fs.file, cc)
	if err != nil {
		return err
	}
	fs.Source = c
	return nil
}

// displayName is the path as errors name it: a URL (a path with a
// scheme) without its query and password, which may hold credentials;
// any other path as it is.
func displayName(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme == "" || (u.RawQuery == "" && u.User == nil) {
		return p
	}
	c := *u
	c.RawQuery = ""
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

// RandomAccess returns the bytes of f for reading at random, as a
// workbook needs them: f itself when it implements io.ReaderAt and its
// Info tells its size, else a copy of it in a temporary file in
// cfg.TempDir, of at most cfg.MaxSpoolBytes (more is an error wrapping
// [ErrSizeLimit]). The copy reads f to its end, so that f's Info then has
// its ContentHash. release removes the copy (and does nothing for f
// itself): call it once when r is no longer read, from the Close of the
// source that reads it. On error, nothing is left to release.
func RandomAccess(f File, cfg SourceConfig) (r io.ReaderAt, size int64, release func() error, err error) {
	if ra, ok := f.(io.ReaderAt); ok {
		if size := f.Info().Size; size >= 0 {
			return ra, size, func() error { return nil }, nil
		}
	}
	limit := normLimit(cfg.MaxSpoolBytes, DefaultMaxSpoolBytes)
	tmp, err := os.CreateTemp(cfg.TempDir, "intake-spool-*")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("connector: spool the file to a temporary file (set SourceConfig.TempDir): %w", err)
	}
	release = func() error {
		err := tmp.Close()
		if rerr := os.Remove(tmp.Name()); err == nil {
			err = rerr
		}
		return err
	}
	var src io.Reader = f
	if limit != noLimit {
		src = io.LimitReader(f, limit+1)
	}
	n, err := io.Copy(tmp, src)
	if err == nil && limit != noLimit && n > limit {
		err = fmt.Errorf("%w (SourceConfig.MaxSpoolBytes is %d)", ErrSizeLimit, limit)
	} else if err != nil {
		err = fmt.Errorf("connector: spool the file: %w", err)
	}
	if err != nil {
		release()
		return nil, 0, nil, err
	}
	return tmp, n, release, nil
}

// Info returns the connector's metadata of the file; ContentHash is set
// once the whole file has been read (always, for a file [RandomAccess]
// copied).
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

// Describe returns the Dialect of the source (CSV, a registered format's
// or a [SourceOpener]'s) when it implements [Describer], else the zero
// Dialect. It implements [Describer].
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

// Close closes the source (which releases what its format opener made)
// and the file. It is safe to call twice.
func (fs *FileSource) Close() error {
	if fs.closed {
		return nil
	}
	fs.closed = true
	err := fs.Source.Close()
	if fs.file != nil {
		err = errors.Join(err, fs.file.Close())
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
