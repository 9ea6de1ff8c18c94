package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"
	"time"
)

// Connector fetches files: bytes and their metadata, from a directory, a web
// server, an SFTP server or anything else. It does not read rows: a [Source]
// does that, and [Registry.OpenSource] puts the two together.
//
// Open opens the file at path, whose syntax is the connector's (a slash-
// separated path relative to the connector's root for [Local] and SFTP, a
// URL or a path relative to the base URL for HTTP). A file that does
// not exist is an error wrapping [io/fs.ErrNotExist]. The returned File stays
// bound to ctx: once ctx is done, its Read returns ctx's error.
//
// Optional capabilities, found by type assertion: [Lister] (listing with a
// glob; without it, [Newest] cannot be used), [Stater] (metadata without
// reading; without it, [OpenIfChanged] opens the file to compare), and
// [ConditionalOpener] (skip an unchanged file; without it, OpenIfChanged
// falls back to Stater, then to Open). A connector holding a connection
// implements [io.Closer]; close it when done.
//
// A Connector is safe for concurrent use by several goroutines, each with
// its own File.
type Connector interface {
	Open(ctx context.Context, path string) (File, error)
}

// File is an open file of a [Connector]: its bytes through Read, ending with
// io.EOF, and its metadata through Info. Close is safe to call twice.
//
// Optional capability: a File that implements [io.ReaderAt] (with
// Info().Size set) can be read at random, which a workbook needs;
// [RandomAccess] copies other files to a temporary file first.
type File interface {
	io.ReadCloser
	// Info returns the file's metadata. ContentHash is filled in once Read
	// has returned io.EOF (for the files of this package's connectors).
	Info() FileInfo
}

// FileInfo describes a file of a [Connector].
type FileInfo struct {
	// Name is the file's path as the connector names it (what Open takes).
	Name string
	// Size is the size in bytes, or -1 when unknown (an HTTP response
	// without Content-Length).
	Size int64
	// ModTime is the modification time; zero when unknown.
	ModTime time.Time
	// ETag is the HTTP entity tag (with its quotes), when the server sent one.
	ETag string
	// ContentHash is "sha256:" and the hex SHA-256 of the content, known
	// once the whole file has been read through Read; empty before.
	ContentHash string
}

// Fingerprint identifies the file's content for skipping an unchanged file:
// the content hash when known (exact), else the ETag and size (the server's
// identity of the content), else the size and modification time, else ""
// (nothing to compare: treat the file as changed). Two fingerprints are
// comparable when they have the same prefix ("sha256:", "etag:", "stat:");
// compare the fingerprints of two runs that read the file the same way.
func (fi FileInfo) Fingerprint() string {
	switch {
	case fi.ContentHash != "":
		return fi.ContentHash
	case fi.ETag != "":
		return "etag:" + fi.ETag + ":" + strconv.FormatInt(fi.Size, 10)
	case !fi.ModTime.IsZero() && fi.Size >= 0:
		return "stat:" + strconv.FormatInt(fi.Size, 10) + ":" + fi.ModTime.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// Lister is an optional capability of a [Connector]: the files whose path
// matches pattern, with [path.Match] semantics (* does not cross a slash),
// in no particular order. Only the last element of pattern may hold
// wildcards ("exports/contacts_*.csv"); directories are not listed.
type Lister interface {
	List(ctx context.Context, pattern string) ([]FileInfo, error)
}

// Stater is an optional capability of a [Connector]: a file's metadata
// without reading it (ContentHash stays empty).
type Stater interface {
	Stat(ctx context.Context, path string) (FileInfo, error)
}

// ConditionalOpener is an optional capability of a [Connector]: open path
// unless it is unchanged since last (the FileInfo of a previous read), in
// which case it returns [ErrNotModified] without transferring the content.
// HTTP sends If-None-Match and If-Modified-Since; [Local] and SFTP
// compare size and modification time.
type ConditionalOpener interface {
	OpenIfChanged(ctx context.Context, path string, last FileInfo) (File, error)
}

var (
	// ErrNotModified: the file is unchanged since the last read, so there
	// is nothing to import; a scheduled job can skip this run. Open the
	// file without OpenIfChanged to import it anyway.
	ErrNotModified = errors.New("connector: file not modified")
	// ErrSizeLimit: a file is larger than a connector's limit; the wrapping
	// error names the limit. Split the file or raise that limit.
	ErrSizeLimit = errors.New("connector: file over the size limit")
	// ErrNoMatch: no file matches the pattern given to Newest. Check the
	// directory and the pattern (path.Match syntax: * ? [a-z]).
	ErrNoMatch = errors.New("connector: no file matches the pattern")
)

// OpenIfChanged opens path through conn unless it is unchanged since last,
// in which case it returns [ErrNotModified]. It uses the connector's
// [ConditionalOpener] when it has one; else its [Stater] (equal size and
// modification time, or equal ETag, mean unchanged); else it opens the file
// (a caller can still compare content hashes after reading). A zero last
// always opens.
func OpenIfChanged(ctx context.Context, conn Connector, path string, last FileInfo) (File, error) {
	if last == (FileInfo{}) {
		return conn.Open(ctx, path)
	}
	if co, ok := conn.(ConditionalOpener); ok {
		return co.OpenIfChanged(ctx, path, last)
	}
	if st, ok := conn.(Stater); ok {
		fi, err := st.Stat(ctx, path)
		if err != nil {
			return nil, err
		}
		if unchanged(fi, last) {
			return nil, fmt.Errorf("%s: %w", path, ErrNotModified)
		}
	}
	return conn.Open(ctx, path)
}

// unchanged reports whether cur (from a stat) shows the same content as last.
func unchanged(cur, last FileInfo) bool {
	if cur.ETag != "" && last.ETag != "" {
		return cur.ETag == last.ETag
	}
	return !cur.ModTime.IsZero() && cur.Size >= 0 && cur.Size == last.Size && cur.ModTime.Equal(last.ModTime)
}

// stream is the File of this package's connectors: it checks ctx on every
// Read, enforces a size limit, hashes the content while it is read (a tee
// into SHA-256) and makes Close idempotent.
type stream struct {
	ctx     context.Context
	r       io.Reader
	closeFn func() error
	stop    func() bool // unregisters the context.AfterFunc, if any
	limit   int64       // bytes allowed; noLimit for none
	limitBy string      // the Config field to raise

	mu     sync.Mutex
	info   FileInfo
	h      hash.Hash
	n      int64
	hashOK bool // no ReadAt interleaved: the hash covers the content in order
	err    error
	closed bool
}

func newStream(ctx context.Context, r io.Reader, closeFn func() error, info FileInfo, limit int64, limitBy string) *stream {
	return &stream{ctx: ctx, r: r, closeFn: closeFn, info: info, h: sha256.New(), hashOK: true, limit: limit, limitBy: limitBy}
}

// closeOnCancel closes the underlying file when ctx is done, so that a Read
// blocked on the network returns.
func (s *stream) closeOnCancel() {
	s.stop = context.AfterFunc(s.ctx, func() { _ = s.closeFn() })
}

func (s *stream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, ErrClosed
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	if s.limit != noLimit && int64(len(p)) > s.limit-s.n+1 {
		p = p[:s.limit-s.n+1] // read one byte past the limit to detect it
	}
	n, err := s.r.Read(p)
	if n > 0 {
		s.n += int64(n)
		if s.limit != noLimit && s.n > s.limit {
			s.err = fmt.Errorf("%s: %w (%s is %d bytes)", s.info.Name, ErrSizeLimit, s.limitBy, s.limit)
			return 0, s.err
		}
		s.h.Write(p[:n])
	}
	if err != nil {
		if cerr := s.ctx.Err(); cerr != nil {
			err = cerr // a read interrupted by closeOnCancel
		}
		if err == io.EOF {
			s.mu.Lock()
			if s.hashOK && (s.info.Size < 0 || s.info.Size == s.n) {
				s.info.ContentHash = "sha256:" + hex.EncodeToString(s.h.Sum(nil))
			}
			if s.info.Size < 0 {
				s.info.Size = s.n
			}
			s.mu.Unlock()
		}
		s.err = err
	}
	return n, err
}

func (s *stream) Info() FileInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stop != nil && !s.stop() {
		return nil // already closed by the context's AfterFunc
	}
	return s.closeFn()
}

// seekStream is a stream whose underlying file can also be read at random
// (a local or SFTP file); it implements io.ReaderAt.
type seekStream struct {
	*stream
	ra io.ReaderAt
}

func (s seekStream) ReadAt(p []byte, off int64) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.hashOK = false
	s.mu.Unlock()
	return s.ra.ReadAt(p, off)
}

// FileConfig configures [NewFile].
type FileConfig struct {
	// Info is the file's metadata as the connector knows it before reading:
	// Name (what Open took), Size (-1 when unknown), ModTime, ETag.
	// ContentHash is computed by the File.
	Info FileInfo
	// MaxBytes bounds the bytes read; more is an error wrapping
	// [ErrSizeLimit] that names LimitName. Default (0):
	// DefaultMaxConnectorBytes (10 GiB); negative: unlimited.
	MaxBytes int64
	// LimitName is the configuration field that sets MaxBytes, for the
	// error message ("sftp.Config.MaxBytes"). Default: "the size limit".
	LimitName string
	// CloseOnCancel closes the underlying file (calls close) as soon as ctx
	// is done, so that a Read blocked on the network returns ctx's error.
	// Default: false, ctx is checked before each Read.
	CloseOnCancel bool
}

// NewFile returns the [File] of a connector that reads r, as this
// package's connectors return theirs: Read checks ctx, enforces
// cfg.MaxBytes and hashes the content while it is read (Info's ContentHash
// is set once Read has returned io.EOF after the whole file, in order);
// Close calls close once, however often it is called. When r implements
// io.ReaderAt, so does the File (reading at random leaves ContentHash
// empty), and [RandomAccess] makes no temporary copy of it.
func NewFile(ctx context.Context, r io.Reader, close func() error, cfg FileConfig) File {
	by := cfg.LimitName
	if by == "" {
		by = "the size limit"
	}
	s := newStream(ctx, r, close, cfg.Info, normLimit(cfg.MaxBytes, DefaultMaxConnectorBytes), by)
	if cfg.CloseOnCancel {
		s.closeOnCancel()
	}
	if ra, ok := r.(io.ReaderAt); ok {
		return seekStream{stream: s, ra: ra}
	}
	return s
}

// normLimit turns a Config size limit into a limit: 0 is def, negative none.
func normLimit(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return noLimit
	}
	return v
}
