package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Archive keeps the files that runs imported, so that a run's history can
// offer "download the file of this run". Put stores the content read from r
// under the run and returns a reference; Open returns the content of a
// reference. Implementations may store in a directory ([DirArchive]), an
// object store or a database. An Archive is safe for concurrent use.
type Archive interface {
	Put(ctx context.Context, runID, name string, r io.Reader) (ref string, err error)
	Open(ctx context.Context, ref string) (io.ReadCloser, error)
}

// DirArchive is an [Archive] in a local directory: the file name of run R is
// kept as DIR/R/NAME, and its reference is "R/NAME". It is rooted like
// [Local]: references cannot leave the directory.
type DirArchive struct {
	root *os.Root
}

// NewDirArchive opens (creating it if needed) dir as an archive.
func NewDirArchive(dir string) (*DirArchive, error) {
	if dir == "" {
		return nil, errors.New("connector: NewDirArchive needs a directory; name where fetched files are kept")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("connector: create the archive directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("connector: open the archive directory: %w", err)
	}
	return &DirArchive{root: root}, nil
}

// safeElem checks one path element of a reference.
func safeElem(what, s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\`+"\x00") {
		return fmt.Errorf("connector: archive %s %q must be a plain file name (no slashes, not . or ..)", what, s)
	}
	return nil
}

// Put copies r to DIR/runID/name (name reduced to its base name) through a
// temporary file renamed into place once complete, so a reference never
// names a partial copy. It returns "runID/name".
func (a *DirArchive) Put(ctx context.Context, runID, name string, r io.Reader) (string, error) {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if err := errors.Join(safeElem("run ID", runID), safeElem("file name", name)); err != nil {
		return "", err
	}
	if err := a.root.Mkdir(runID, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("connector: archive: %w", err)
	}
	ref := runID + "/" + name
	tmp := ref + ".part"
	f, err := a.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return "", fmt.Errorf("connector: archive: %w", err)
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = a.root.Rename(tmp, ref)
	}
	if err != nil {
		_ = a.root.Remove(tmp)
		return "", fmt.Errorf("connector: archive %s: %w", ref, err)
	}
	return ref, nil
}

// Open opens the archived file of ref.
func (a *DirArchive) Open(ctx context.Context, ref string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	run, name, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, fmt.Errorf("connector: archive reference %q is not RUN/NAME", ref)
	}
	if err := errors.Join(safeElem("run ID", run), safeElem("file name", name)); err != nil {
		return nil, err
	}
	f, err := a.root.Open(ref)
	if err != nil {
		return nil, fmt.Errorf("connector: archive: %w", err)
	}
	return f, nil
}

// Close closes the archive's directory.
func (a *DirArchive) Close() error { return a.root.Close() }

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
