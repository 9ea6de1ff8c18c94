package connector

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// DefaultMaxConnectorBytes is the default size limit of the files that
// connectors open (the MaxBytes of LocalConfig, [FileConfig] and the
// Config of the HTTP and SFTP connectors).
const DefaultMaxConnectorBytes = int64(10) << 30 // 10 GiB

// ErrPathEscapes reports that a path leaves the connector's root directory (by "..",
// as an absolute path, or through a symbolic link pointing outside). Name
// a file inside the directory with a relative path.
var ErrPathEscapes = errors.New("connector: path leaves the connector's directory")

// LocalConfig configures a [Local] connector.
type LocalConfig struct {
	// Dir is the directory that holds the files; required. Paths given to
	// Open are relative to it and cannot leave it.
	Dir string
	// MaxBytes bounds the bytes read from one file; more is an error
	// wrapping ErrSizeLimit. Default (0): DefaultMaxConnectorBytes (10 GiB);
	// negative: unlimited.
	MaxBytes int64
}

// Local is a [Connector] of the files in a directory. It is rooted with
// [os.Root]: a path with "..", an absolute path, or a symbolic link that
// points outside the directory is refused ([ErrPathEscapes]) — checked by
// the operating system at open time, not by string inspection, so a link
// swapped in between is refused too. Paths are slash-separated.
//
// Local implements [Lister], [Stater] (so [OpenIfChanged] compares size and modification time) and io.Closer;
// its Files implement io.ReaderAt.
type Local struct {
	root *os.Root
	dir  string
	max  int64
}

// NewLocal opens cfg.Dir as the root of a local connector.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if cfg.Dir == "" {
		return nil, errors.New("connector: LocalConfig.Dir is empty; set it to the directory that holds the files to import")
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("connector: open the local connector's directory: %w", err)
	}
	return &Local{root: root, dir: cfg.Dir, max: normLimit(cfg.MaxBytes, DefaultMaxConnectorBytes)}, nil
}

// Dir returns the connector's directory, as given in LocalConfig.Dir.
func (l *Local) Dir() string { return l.dir }

// name cleans a slash-separated path and refuses escapes with a clear error
// (os.Root would refuse them too, with a less helpful message).
func (l *Local) name(p string) (string, error) {
	if p == "" {
		return "", errors.New("connector: empty path; name a file inside the connector's directory")
	}
	if path.IsAbs(p) || strings.HasPrefix(p, `\`) || (len(p) > 1 && p[1] == ':') {
		return "", fmt.Errorf("%s: %w", p, ErrPathEscapes)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%s: %w", p, ErrPathEscapes)
	}
	return c, nil
}

// wrap turns os.Root's escape error into ErrPathEscapes.
func (l *Local) wrap(p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return fmt.Errorf("%s: %w", p, ErrPathEscapes)
	}
	return fmt.Errorf("connector: local connector: %w", err)
}

// Open opens the file at p (relative to the directory). The File reads with
// ctx: once ctx is done, Read returns its error.
func (l *Local) Open(ctx context.Context, p string) (File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name, err := l.name(p)
	if err != nil {
		return nil, err
	}
	f, err := l.root.Open(name)
	if err != nil {
		return nil, l.wrap(p, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("connector: %s is a directory; name a file", p)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if l.max != noLimit && st.Size() > l.max {
		f.Close()
		return nil, fmt.Errorf("%s: %w (LocalConfig.MaxBytes is %d, the file has %d)", p, ErrSizeLimit, l.max, st.Size())
	}
	s := newStream(ctx, f, f.Close, FileInfo{Name: name, Size: st.Size(), ModTime: st.ModTime()}, l.max, "LocalConfig.MaxBytes")
	return seekStream{stream: s, ra: f}, nil
}

// Stat returns the metadata of the file at p.
func (l *Local) Stat(ctx context.Context, p string) (FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return FileInfo{}, err
	}
	name, err := l.name(p)
	if err != nil {
		return FileInfo{}, err
	}
	st, err := l.root.Stat(name)
	if err != nil {
		return FileInfo{}, l.wrap(p, err)
	}
	return FileInfo{Name: name, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// List returns the regular files matching pattern (see [Lister]),
// symbolic links to regular files inside the directory included.
func (l *Local) List(ctx context.Context, pattern string) ([]FileInfo, error) {
	dir, base, err := SplitPattern(pattern)
	if err != nil {
		return nil, err
	}
	if dir != "." {
		if dir, err = l.name(dir); err != nil {
			return nil, err
		}
	}
	d, err := l.root.Open(dir)
	if err != nil {
		return nil, l.wrap(dir, err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("connector: local connector: list %s: %w", dir, err)
	}
	var out []FileInfo
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ok, _ := path.Match(base, e.Name()); !ok || e.IsDir() {
			continue
		}
		st, err := e.Info()
		if err == nil && e.Type()&fs.ModeSymlink != 0 {
			// follow the link, inside the root only: a link out is not listed
			st, err = l.root.Stat(path.Join(dir, e.Name()))
		}
		if err != nil || !st.Mode().IsRegular() {
			continue // removed since ReadDir, a link out of the root, a device
		}
		out = append(out, FileInfo{Name: path.Join(dir, e.Name()), Size: st.Size(), ModTime: st.ModTime()})
	}
	return out, nil
}

// Close closes the directory.
func (l *Local) Close() error { return l.root.Close() }

// SplitPattern splits a [Lister] pattern into its directory (no wildcards)
// and its base pattern ("." and "contacts_*.csv" for "contacts_*.csv"),
// checking the pattern's syntax: a connector's List starts with it.
func SplitPattern(pattern string) (dir, base string, err error) {
	if pattern == "" {
		return "", "", errors.New("connector: empty pattern; give a file name pattern such as contacts_*.csv")
	}
	dir, base = path.Split(pattern)
	dir = path.Clean(strings.TrimSuffix(dir, "/"))
	if dir == "" {
		dir = "."
	}
	if strings.ContainsAny(dir, "*?[\\") {
		return "", "", fmt.Errorf("connector: pattern %q: only the file name may hold wildcards, not the directory", pattern)
	}
	if _, err := path.Match(base, ""); err != nil {
		return "", "", fmt.Errorf("connector: pattern %q: %w", pattern, err)
	}
	return dir, base, nil
}
