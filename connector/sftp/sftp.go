package sftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/intakehq/intake/connector"
)

// DefaultConnectTimeout is the default of Config.ConnectTimeout.
const DefaultConnectTimeout = 15 * time.Second

var (
	// ErrNoHostKeyCheck: an SFTP connection was asked for without a way to
	// check the server's host key. Set Config.KnownHostsFile (e.g.
	// ~/.ssh/known_hosts; add the server with ssh-keyscan HOST >> FILE
	// after checking its fingerprint) or Config.HostKeyCallback (e.g.
	// ssh.FixedHostKey).
	ErrNoHostKeyCheck = errors.New("sftp: no host key check")
	// ErrNoAuth: no password and no key were given. Set Config.Password,
	// Config.PrivateKey or Config.Signers.
	ErrNoAuth = errors.New("sftp: no credentials")
)

// Config configures an [Connector] connector.
type Config struct {
	// Addr is the server's host:port; the port defaults to 22. Required.
	Addr string
	// User is the SSH user name. Required.
	User string
	// Password authenticates with a password (also offered as
	// keyboard-interactive). Default: "", no password authentication.
	Password string
	// PrivateKey is a PEM-encoded private key (OpenSSH, PKCS#1, PKCS#8),
	// decrypted with Passphrase if it is encrypted. Default: none.
	PrivateKey []byte
	// Passphrase decrypts PrivateKey.
	Passphrase string
	// Signers authenticate with public keys (an ssh-agent's, say), tried
	// after PrivateKey. Default: none.
	Signers []ssh.Signer
	// HostKeyCallback checks the server's host key (ssh.FixedHostKey,
	// knownhosts.New, ...). Either it or KnownHostsFile is required:
	// without one, Dial returns ErrNoHostKeyCheck.
	HostKeyCallback ssh.HostKeyCallback
	// KnownHostsFile is an OpenSSH known_hosts file checked when
	// HostKeyCallback is nil.
	KnownHostsFile string
	// Dir is the directory that relative paths are resolved in. Default:
	// "", the server's start directory (usually the user's home).
	Dir string
	// ConnectTimeout bounds connecting and the SSH handshake. Default:
	// DefaultConnectTimeout (15s).
	ConnectTimeout time.Duration
	// MaxBytes bounds the bytes read from one file; more is an error
	// wrapping connector.ErrSizeLimit. Default (0): connector.DefaultMaxConnectorBytes (10 GiB);
	// negative: unlimited.
	MaxBytes int64
	// Logger receives a record when the connection is made. Default: nil.
	Logger *slog.Logger
}

// Connector is a [connector.Connector] of the files of an SFTP server,
// over one SSH connection that it keeps until Close. Files are streamed
// (the transfer uses a bounded window of concurrent requests; memory stays
// flat) and hashed as they are read; they implement io.ReaderAt, so a
// workbook is read without a temporary copy. Connector implements
// [connector.Lister], [connector.Stater] (so [connector.OpenIfChanged]
// compares size and modification time) and io.Closer. Paths are
// slash-separated, relative to Config.Dir or absolute.
type Connector struct {
	cfg    Config
	conn   *ssh.Client
	client *pkgsftp.Client
	max    int64
}

// Dial connects to the server of cfg, checks its host key,
// authenticates and starts the SFTP subsystem. ctx bounds the dial (with
// ConnectTimeout); the connection lasts until Close.
func Dial(ctx context.Context, cfg Config) (*Connector, error) {
	var errs []error
	if cfg.Addr == "" {
		errs = append(errs, errors.New("sftp: sftp.Config.Addr is empty; set it to the server's host or host:port"))
	}
	if cfg.User == "" {
		errs = append(errs, errors.New("sftp: sftp.Config.User is empty; set the SSH user name"))
	}
	if cfg.ConnectTimeout < 0 {
		errs = append(errs, errors.New("sftp: sftp.Config.ConnectTimeout must not be negative; use 0 for the default"))
	}
	hostKey := cfg.HostKeyCallback
	if hostKey == nil && cfg.KnownHostsFile != "" {
		cb, err := knownhosts.New(cfg.KnownHostsFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("sftp: read sftp.Config.KnownHostsFile: %w", err))
		}
		hostKey = cb
	}
	if hostKey == nil && cfg.KnownHostsFile == "" {
		errs = append(errs, fmt.Errorf("%w: set sftp.Config.KnownHostsFile or sftp.Config.HostKeyCallback", ErrNoHostKeyCheck))
	}
	var auth []ssh.AuthMethod
	if cfg.Password != "" {
		pw := cfg.Password
		auth = append(auth, ssh.Password(pw), ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			ans := make([]string, len(qs))
			for i := range ans {
				ans[i] = pw
			}
			return ans, nil
		}))
	}
	signers := cfg.Signers
	if len(cfg.PrivateKey) > 0 {
		var s ssh.Signer
		var err error
		if cfg.Passphrase != "" {
			s, err = ssh.ParsePrivateKeyWithPassphrase(cfg.PrivateKey, []byte(cfg.Passphrase))
		} else {
			s, err = ssh.ParsePrivateKey(cfg.PrivateKey)
		}
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				err = errors.New("the key is encrypted; set sftp.Config.Passphrase")
			}
			errs = append(errs, fmt.Errorf("sftp: sftp.Config.PrivateKey: %w", err))
		} else {
			signers = append([]ssh.Signer{s}, signers...)
		}
	}
	if len(signers) > 0 {
		auth = append(auth, ssh.PublicKeys(signers...))
	}
	if len(auth) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%w: set sftp.Config.Password, sftp.Config.PrivateKey or sftp.Config.Signers", ErrNoAuth))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	addr := cfg.Addr
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "22")
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sftp: connect to SFTP server %s: %w", addr, err)
	}
	// The handshake does not take a context: a deadline bounds it, and
	// canceling ctx closes the connection.
	deadline, _ := dctx.Deadline()
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(dctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{User: cfg.User, Auth: auth, HostKeyCallback: hostKey})
	stop()
	if err != nil {
		nc.Close()
		if dctx.Err() != nil || !time.Now().Before(deadline) {
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded // ConnectTimeout, or ctx's deadline whose timer has not fired yet
			}
			return nil, fmt.Errorf("sftp: SSH handshake with %s did not finish in time (sftp.Config.ConnectTimeout is %v): %w", addr, cfg.ConnectTimeout, cause)
		}
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) > 0 {
				return nil, fmt.Errorf("sftp: the host key of SFTP server %s does not match the known_hosts entry (a changed server, or someone in between); check with the server's administrator: %w", addr, err)
			}
			return nil, fmt.Errorf("sftp: SFTP server %s is not in sftp.Config.KnownHostsFile; add it after checking its fingerprint: %w", addr, err)
		}
		return nil, fmt.Errorf("sftp: SSH handshake with %s (host key or credentials refused?): %w", addr, err)
	}
	_ = nc.SetDeadline(time.Time{})
	conn := ssh.NewClient(sc, chans, reqs)
	client, err := pkgsftp.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sftp: start SFTP on %s (is the sftp subsystem enabled?): %w", addr, err)
	}
	if cfg.Logger != nil {
		cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "intake: SFTP connected", slog.String("addr", addr), slog.String("user", cfg.User))
	}
	return &Connector{cfg: cfg, conn: conn, client: client, max: maxBytes(cfg.MaxBytes)}, nil
}

func (s *Connector) abs(p string) (string, error) {
	if p == "" {
		return "", errors.New("sftp: empty path; name a file on the SFTP server")
	}
	if path.IsAbs(p) || s.cfg.Dir == "" {
		return path.Clean(p), nil
	}
	return path.Join(s.cfg.Dir, p), nil
}

func (s *Connector) wrap(op, p string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sftp: %s %s: %w", op, p, fs.ErrNotExist)
	}
	return fmt.Errorf("sftp: %s %s: %w", op, p, err)
}

// Open opens the file at p. The connector.File reads with ctx: once ctx is done, Read
// returns its error (a Read waiting for the server is interrupted).
func (s *Connector) Open(ctx context.Context, p string) (connector.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name, err := s.abs(p)
	if err != nil {
		return nil, err
	}
	f, err := s.client.Open(name)
	if err != nil {
		return nil, s.wrap("open", p, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("sftp: %s is a directory; name a file", p)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if s.max != noLimit && st.Size() > s.max {
		f.Close()
		return nil, fmt.Errorf("%s: %w (sftp.Config.MaxBytes is %d, the file has %d)", p, connector.ErrSizeLimit, s.max, st.Size())
	}
	return connector.NewFile(ctx, f, f.Close, connector.FileConfig{
		Info:          connector.FileInfo{Name: p, Size: st.Size(), ModTime: st.ModTime()},
		MaxBytes:      s.cfg.MaxBytes,
		LimitName:     "sftp.Config.MaxBytes",
		CloseOnCancel: true,
	}), nil
}

// Stat returns the metadata of the file at p.
func (s *Connector) Stat(ctx context.Context, p string) (connector.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return connector.FileInfo{}, err
	}
	name, err := s.abs(p)
	if err != nil {
		return connector.FileInfo{}, err
	}
	st, err := s.client.Stat(name)
	if err != nil {
		return connector.FileInfo{}, s.wrap("stat", p, err)
	}
	return connector.FileInfo{Name: p, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// List returns the regular files matching pattern (see [connector.Lister]). The
// names are as Open takes them: joined to the pattern's directory.
func (s *Connector) List(ctx context.Context, pattern string) ([]connector.FileInfo, error) {
	dir, base, err := connector.SplitPattern(pattern)
	if err != nil {
		return nil, err
	}
	adir := dir
	if dir == "." {
		adir = s.cfg.Dir
		if adir == "" {
			adir = "."
		}
	} else if adir, err = s.abs(dir); err != nil {
		return nil, err
	}
	entries, err := s.client.ReadDirContext(ctx, adir)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, s.wrap("list", dir, err)
	}
	var out []connector.FileInfo
	for _, e := range entries {
		if ok, _ := path.Match(base, e.Name()); !ok || !e.Mode().IsRegular() {
			continue
		}
		name := e.Name()
		if dir != "." {
			name = path.Join(dir, name)
		}
		out = append(out, connector.FileInfo{Name: name, Size: e.Size(), ModTime: e.ModTime()})
	}
	return out, nil
}

// Close ends the SFTP session and the SSH connection.
func (s *Connector) Close() error {
	err := s.client.Close()
	if cerr := s.conn.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

// noLimit is the normalized "no limit" of a size limit.
const noLimit = -1

// maxBytes turns Config.MaxBytes into a limit: 0 is the default,
// negative none.
func maxBytes(v int64) int64 {
	switch {
	case v == 0:
		return connector.DefaultMaxConnectorBytes
	case v < 0:
		return noLimit
	}
	return v
}

// Register adds the scheme sftp to reg: an sftp://user[:password]@host[:port]/path
// URL gives Addr, User and (if present) Password, cfg gives the rest (host
// key checking is required: HostKeyCallback or KnownHostsFile). The path is
// absolute; /~/ starts it in the user's home directory. The URL is checked
// and the server dialed by [connector.Registry.Open], whose caller closes
// the connector. Register fails when reg already has the scheme.
func Register(reg *connector.Registry, cfg Config) error {
	return reg.Register("sftp", func(ctx context.Context, u *url.URL) (connector.Connector, string, error) {
		sc := cfg
		sc.Addr = u.Host
		if u.User != nil {
			sc.User = u.User.Username()
			if pw, ok := u.User.Password(); ok {
				sc.Password = pw
			}
		}
		p := u.Path
		if strings.HasPrefix(p, "/~/") {
			p = strings.TrimPrefix(p, "/~/")
		}
		if p == "" || strings.HasSuffix(p, "/") {
			return nil, "", fmt.Errorf("sftp: the sftp URL names no file (sftp://user@host/path/file.csv)")
		}
		s, err := Dial(ctx, sc)
		if err != nil {
			return nil, "", err
		}
		return s, path.Clean(p), nil
	})
}
