package connector

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Factory makes the connector for a URL of its scheme and returns the path
// to open with it. It is called by [Registry.Open] for every URL; a
// connector that holds resources (a connection, a directory) implements
// io.Closer, and the caller closes it.
type Factory func(ctx context.Context, u *url.URL) (conn Connector, path string, err error)

// Registry maps URL schemes to connector factories, and file formats to
// the readers that [Registry.OpenSource] uses. It is a value that the host
// program builds and passes around — there is no global registry and no
// registration in init. [DefaultRegistry] builds one with this package's
// connector; other connectors are added with Register (package
// connector/httpconn: httpconn.Register, package connector/sftp:
// sftp.Register), formats other than CSV with
// RegisterFormat (package connector/xlsx: xlsx.Register). A Registry is
// safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	m       map[string]Factory
	formats map[Format]FormatOpener
}

// NewRegistry returns a registry without schemes, that reads CSV. The zero
// Registry is the same.
func NewRegistry() *Registry { return &Registry{} }

// ErrUnknownScheme reports that a URL's scheme has no factory in the registry; the
// wrapping error lists the registered schemes. Use one of them, or
// register a connector for the scheme.
var ErrUnknownScheme = errors.New("connector: unknown URL scheme")

// Register adds f for scheme (case-insensitive, without "://"). A scheme
// registered twice, an invalid scheme or a nil factory is an error.
func (r *Registry) Register(scheme string, f Factory) error {
	s := strings.ToLower(strings.TrimSuffix(scheme, "://"))
	if !validScheme(s) {
		return fmt.Errorf("connector: %q is not a URL scheme (a letter, then letters, digits, +, - or .)", scheme)
	}
	if f == nil {
		return fmt.Errorf("connector: Register(%q) needs a non-nil Factory", s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]Factory)
	}
	if _, dup := r.m[s]; dup {
		return fmt.Errorf("connector: scheme %q is already registered; register each scheme once (use a new Registry to replace one)", s)
	}
	r.m[s] = f
	return nil
}

// Schemes returns the registered schemes, sorted.
func (r *Registry) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for s := range r.m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Open parses rawURL, finds its scheme's factory and returns the connector
// and the path to give to its Open (or to [Registry.OpenSource]). Close the
// connector when it implements io.Closer.
func (r *Registry) Open(ctx context.Context, rawURL string) (Connector, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("connector: %w", err)
	}
	if u.Scheme == "" {
		return nil, "", fmt.Errorf("connector: %q has no scheme; write it as a URL (%s)", rawURL, strings.Join(r.Schemes(), "://, ")+"://")
	}
	r.mu.RLock()
	f := r.m[strings.ToLower(u.Scheme)]
	r.mu.RUnlock()
	if f == nil {
		return nil, "", fmt.Errorf("%s://: %w (registered: %s)%s", u.Scheme, ErrUnknownScheme, strings.Join(r.Schemes(), ", "), registerHint(u.Scheme))
	}
	return f(ctx, u)
}

// registerHint names the package that registers scheme, for the schemes
// of the packages under connector.
func registerHint(scheme string) string {
	switch strings.ToLower(scheme) {
	case "http", "https":
		return "; register it with package connector/httpconn (httpconn.Register)"
	case "sftp":
		return "; register it with package connector/sftp (sftp.Register)"
	}
	return ""
}

func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// RegistryConfig configures the connectors of [DefaultRegistry].
type RegistryConfig struct {
	// LocalRoot is the directory that file:// URLs are confined to: the
	// URL's path is taken relative to it (file:///exports/a.csv is
	// LOCALROOT/exports/a.csv; file:a.csv is LOCALROOT/a.csv). A
	// command-line tool sets "/" so that file URLs name any file; a server
	// sets the directory its users may import from. Default: "", file://
	// is registered but refuses every URL, with a message saying so.
	// Symbolic links are followed only when they stay inside the root, and
	// os.Root refuses links with an absolute target even under "/": a
	// command-line tool resolves the path (filepath.EvalSymlinks) before
	// making it a URL.
	LocalRoot string
	// Local configures the file:// connectors (Dir is LocalRoot).
	Local LocalConfig
}

// DefaultRegistry returns a new registry with this package's connector:
// file:// ([Local]). Register more schemes on it as on any registry
// (package connector/httpconn registers http:// and https://, package
// connector/sftp registers sftp://). The file:// connector checks cfg
// when it opens a URL, so a misconfigured root fails there, naming the
// field to set.
func DefaultRegistry(cfg RegistryConfig) *Registry {
	r := NewRegistry()
	local := cfg.Local
	local.Dir = cfg.LocalRoot
	_ = r.Register("file", func(ctx context.Context, u *url.URL) (Connector, string, error) {
		if local.Dir == "" {
			return nil, "", errors.New("connector: file:// URLs are disabled: set RegistryConfig.LocalRoot to the directory they may read (\"/\" for any file)")
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, "", fmt.Errorf("connector: file://%s/...: a file URL names a local file (file:///path); use sftp:// for another host", u.Host)
		}
		p := u.Path
		if u.Opaque != "" {
			p = u.Opaque
		}
		p = strings.TrimLeft(p, "/")
		if p == "" {
			return nil, "", errors.New("connector: the file URL names no file")
		}
		l, err := NewLocal(local)
		if err != nil {
			return nil, "", err
		}
		return l, p, nil
	})
	return r
}
