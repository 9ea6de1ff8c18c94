package httpconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/connector"
)

// Defaults of [Config].
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultHeaderTimeout  = 30 * time.Second
	DefaultTimeout        = time.Hour
	DefaultRetries        = 3
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultMaxRetryTime   = 2 * time.Minute
	DefaultMaxRedirects   = 10
)

// Errors of the [Connector] connector; the wrapping error names the URL.
var (
	// ErrStatus: the server answered with an error status; the
	// wrapping error names it. Check the URL and the credentials
	// (Config.Header).
	ErrStatus = errors.New("httpconn: HTTP error status")
	// ErrHostNotAllowed: the URL, or a redirect, names a host outside
	// Config.AllowedHosts. Nothing is sent to that host.
	ErrHostNotAllowed = errors.New("httpconn: host not in httpconn.Config.AllowedHosts")
	// ErrRedirect: a redirect was not followed: one more than
	// Config.MaxRedirects (a redirect loop), or to a URL that is not
	// http or https.
	ErrRedirect = errors.New("httpconn: redirect not followed")
)

// Config configures an [Connector] connector. The zero value downloads
// absolute http and https URLs with the defaults below.
type Config struct {
	// BaseURL, when set, is the URL that relative paths given to Open are
	// resolved against (RFC 3986). Default: "", Open takes absolute URLs.
	BaseURL string
	// Header is sent with every request to the origin (scheme, host and
	// port) of the URL given to Open: Authorization, API keys. A redirect
	// to another origin gets none of it, nor does any later hop of that
	// redirect chain, even one back to the first origin. The one exception
	// is an upgrade: a redirect from http on the default port 80 to https
	// on the default port 443 of the same host name keeps the header (it
	// went over plain HTTP already; the upgrade only protects it). The
	// Referer header is never sent (it would carry the query of the last
	// URL, which may hold a key).
	Header http.Header
	// AllowedHosts, when not empty, lists the hosts that the connector
	// may reach: the URL given to Open and every redirect target must
	// match an entry, or the download fails with an error wrapping
	// ErrHostNotAllowed before anything is sent to that host. An entry
	// is a host name or IP address ("files.example.com", "10.0.0.5",
	// "::1") that matches exactly, case-insensitively, on any port; or
	// host:port ("files.example.com:8443", "[::1]:8080") that matches that
	// port only (a URL without a port has its scheme's default); or a
	// domain with a leading dot (".example.com") that matches every host
	// under it (a.example.com, b.a.example.com) but not example.com
	// itself: list both to allow both. Default: nil, any host.
	AllowedHosts []string
	// MaxRedirects is how many redirects one request follows, so that a
	// download costs at most MaxRedirects+1 requests per attempt; one more
	// redirect (a loop) fails with ErrRedirect, and is not retried.
	// Default (0): DefaultMaxRedirects (10); negative: none, a
	// redirect fails at once.
	MaxRedirects int
	// ConnectTimeout bounds connecting (TCP and TLS handshake). Default:
	// DefaultConnectTimeout (10s).
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait for the response's header once the
	// request is sent. Default: DefaultHeaderTimeout (30s).
	HeaderTimeout time.Duration
	// Timeout bounds a whole download, body included, from Open to the end
	// of the body. Default: DefaultTimeout (1h); negative: none.
	Timeout time.Duration
	// MaxBytes bounds the body; a longer one (by Content-Length or as it
	// streams) is an error wrapping connector.ErrSizeLimit. Default (0):
	// connector.DefaultMaxConnectorBytes (10 GiB); negative: unlimited.
	MaxBytes int64
	// Retries is how many times a request is retried after a failure that
	// may pass: a 408, a 429 or a 5xx status other than 501 and 505; a
	// timeout (connecting, TLS handshake, waiting for the header); a
	// connection reset, refused or closed (EOF) before the response's
	// header arrived; a temporary DNS failure. Nothing else is retried: not
	// another 4xx, not a certificate or other TLS error, not a refused
	// redirect (ErrRedirect) or host (ErrHostNotAllowed), not an
	// unknown error. A body cut halfway is not retried either: the source
	// has read part of it. Default (0): DefaultRetries (3); negative:
	// none.
	Retries int
	// MinBackoff and MaxBackoff bound the wait before a retry: exponential
	// from MinBackoff, doubled each time up to MaxBackoff, with full jitter
	// (a random wait between half and all of it); a Retry-After header (in
	// seconds or an HTTP date) is honoured up to MaxBackoff. Defaults:
	// DefaultMinBackoff (500ms), DefaultMaxBackoff (30s).
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryTime bounds the time spent on one Open, retries included: no
	// retry starts after it. Default: DefaultMaxRetryTime (2m).
	MaxRetryTime time.Duration
	// Transport sends the requests. Default: a clone of
	// http.DefaultTransport with ConnectTimeout and HeaderTimeout. When set,
	// ConnectTimeout and HeaderTimeout are the transport's business.
	Transport http.RoundTripper
	// Logger receives a record per retry. Default: nil, quiet.
	Logger *slog.Logger
}

func (cfg *Config) validate() error {
	var errs []error
	if cfg.ConnectTimeout < 0 || cfg.HeaderTimeout < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxRetryTime < 0 {
		errs = append(errs, errors.New("httpconn: httpconn.Config.ConnectTimeout, HeaderTimeout, MinBackoff, MaxBackoff and MaxRetryTime must not be negative; use 0 for the default"))
	}
	rules, err := parseHostRules(cfg.AllowedHosts)
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
			errs = append(errs, fmt.Errorf("httpconn: httpconn.Config.BaseURL %q is not an http or https URL", cfg.BaseURL))
		case !hostAllowed(rules, u):
			errs = append(errs, fmt.Errorf("httpconn: httpconn.Config.BaseURL %q: %w", redact(u), ErrHostNotAllowed))
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.ConnectTimeout, DefaultConnectTimeout)
	def(&cfg.HeaderTimeout, DefaultHeaderTimeout)
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.MinBackoff, DefaultMinBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	def(&cfg.MaxRetryTime, DefaultMaxRetryTime)
	if cfg.MinBackoff > cfg.MaxBackoff {
		errs = append(errs, fmt.Errorf("httpconn: httpconn.Config.MinBackoff (%v) is longer than MaxBackoff (%v)", cfg.MinBackoff, cfg.MaxBackoff))
	}
	cfg.Retries = normCount(cfg.Retries, DefaultRetries)
	cfg.MaxRedirects = normCount(cfg.MaxRedirects, DefaultMaxRedirects)
	cfg.MaxBytes = normLimit(cfg.MaxBytes, connector.DefaultMaxConnectorBytes)
	return errors.Join(errs...)
}

// noLimit is the normalized "no limit" of a size limit.
const noLimit = -1

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

// normCount returns def for 0, 0 for a negative n, and n otherwise.
func normCount(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// hostRule is an entry of Config.AllowedHosts.
type hostRule struct {
	host   string // lower case, no trailing dot; with the leading dot of a domain rule
	port   string // "" for any
	domain bool   // host is ".example.com": hosts under it match
}

// parseHostRules checks and parses Config.AllowedHosts.
func parseHostRules(entries []string) ([]hostRule, error) {
	var rules []hostRule
	var errs []error
	for _, e := range entries {
		host, port := e, ""
		switch {
		case strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]"):
			host = e[1 : len(e)-1]
		case strings.Count(e, ":") == 1 || strings.HasPrefix(e, "["):
			var err error
			if host, port, err = net.SplitHostPort(e); err != nil {
				host = "" // reported below
			}
		}
		n, perr := strconv.Atoi(port)
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if host == "" || host == "." || strings.ContainsAny(host, "/?#@* ") || (port != "" && (perr != nil || n < 1 || n > 65535)) {
			errs = append(errs, fmt.Errorf("httpconn: httpconn.Config.AllowedHosts entry %q: give a host name or IP address, optionally with :port, or a domain with a leading dot (.example.com)", e))
			continue
		}
		rules = append(rules, hostRule{host: host, port: port, domain: strings.HasPrefix(host, ".")})
	}
	return rules, errors.Join(errs...)
}

// originOf returns u's scheme, host (lower case, no trailing dot) and
// port (the scheme's default when u names none).
func originOf(u *url.URL) (scheme, host, port string) {
	scheme = strings.ToLower(u.Scheme)
	host = strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port = u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme, host, port
}

// hostAllowed reports whether u's host matches one of rules (true when
// there are none).
func hostAllowed(rules []hostRule, u *url.URL) bool {
	if len(rules) == 0 {
		return true
	}
	_, host, port := originOf(u)
	for _, r := range rules {
		if r.port != "" && r.port != port {
			continue
		}
		if r.domain && len(host) > len(r.host) && strings.HasSuffix(host, r.host) || !r.domain && host == r.host {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a redirect from "from" to "to" keeps the
// caller's headers: the same scheme, host and port, or an upgrade from
// http on port 80 to https on port 443 of the same host name.
func sameOrigin(from, to *url.URL) bool {
	fs, fh, fp := originOf(from)
	ts, th, tp := originOf(to)
	if fh != th {
		return false
	}
	if fs == ts {
		return fp == tp
	}
	return fs == "http" && fp == "80" && ts == "https" && tp == "443"
}

// Connector is a [connector.Connector] of files served over HTTP(S) with GET. The body is
// streamed (memory stays flat whatever the file's size) and hashed as it
// is read. It implements [connector.ConditionalOpener]: If-None-Match with the last
// ETag, If-Modified-Since with the last modification time, and a 304 is
// [connector.ErrNotModified]. A 404 or 410 wraps [io/fs.ErrNotExist]; other error
// statuses wrap [ErrStatus]. It follows at most
// Config.MaxRedirects redirects, to http and https URLs on
// Config.AllowedHosts, and sends Config.Header only to the
// origin of the URL given to Open; it retries only the failures that may
// pass (see Config.Retries). Its files do not implement
// io.ReaderAt: [connector.RandomAccess] copies a workbook to a temporary file.
type Connector struct {
	cfg    Config
	hosts  []hostRule // AllowedHosts
	base   *url.URL
	client *http.Client
	tr     *http.Transport // ours, to close idle connections; nil when given
}

// New returns a Connector after checking cfg.
func New(cfg Config) (*Connector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &Connector{cfg: cfg}
	h.hosts, _ = parseHostRules(cfg.AllowedHosts)
	if cfg.BaseURL != "" {
		h.base, _ = url.Parse(cfg.BaseURL)
	}
	rt := cfg.Transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = cfg.ConnectTimeout
		tr.ResponseHeaderTimeout = cfg.HeaderTimeout
		h.tr, rt = tr, tr
	}
	h.client = &http.Client{Transport: rt, CheckRedirect: h.checkRedirect}
	return h, nil
}

// Close closes the idle connections of the connector's own transport.
func (h *Connector) Close() error {
	if h.tr != nil {
		h.tr.CloseIdleConnections()
	}
	return nil
}

// Open downloads p: an absolute http(s) URL, or a reference resolved
// against Config.BaseURL.
func (h *Connector) Open(ctx context.Context, p string) (connector.File, error) {
	return h.OpenIfChanged(ctx, p, connector.FileInfo{})
}

// OpenIfChanged downloads p unless the server answers 304 Not Modified to
// the conditions built from last (ETag, ModTime); that is an error
// wrapping [connector.ErrNotModified].
func (h *Connector) OpenIfChanged(ctx context.Context, p string, last connector.FileInfo) (connector.File, error) {
	u, err := h.resolve(p)
	if err != nil {
		return nil, err
	}
	var cancel context.CancelFunc = func() {}
	rctx := ctx
	if h.cfg.Timeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, h.cfg.Timeout)
	}
	resp, err := h.do(rctx, u, last)
	if err != nil {
		cancel()
		return nil, err
	}
	info := connector.FileInfo{Name: p, Size: resp.ContentLength, ETag: resp.Header.Get("ETag")}
	if info.Size < 0 {
		info.Size = -1
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.ModTime = t
	}
	if resp.Header.Get("Content-Encoding") != "" || resp.Uncompressed {
		info.Size = -1 // the length is the compressed one
	}
	if h.cfg.MaxBytes != noLimit && info.Size > h.cfg.MaxBytes {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%s: %w (httpconn.Config.MaxBytes is %d, Content-Length %d)", redact(u), connector.ErrSizeLimit, h.cfg.MaxBytes, info.Size)
	}
	body := resp.Body
	return connector.NewFile(rctx, body, func() error { err := body.Close(); cancel(); return err }, connector.FileConfig{
		Info: info, MaxBytes: h.cfg.MaxBytes, LimitName: "httpconn.Config.MaxBytes",
	}), nil
}

func (h *Connector) resolve(p string) (*url.URL, error) {
	u, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("httpconn: %q is not a URL: %w", p, err)
	}
	if h.base != nil {
		u = h.base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("httpconn: %q is not an http or https URL; give an absolute URL or set httpconn.Config.BaseURL", p)
	}
	if !hostAllowed(h.hosts, u) {
		return nil, fmt.Errorf("%s: %w (%s)", redact(u), ErrHostNotAllowed, strings.Join(h.cfg.AllowedHosts, ", "))
	}
	return u, nil
}

// checkRedirect is the client's redirect policy: at most MaxRedirects, to
// http and https URLs on allowed hosts; the caller's headers only while
// the chain stays on the first request's origin (see sameOrigin); never
// a Referer. The client has copied the first request's headers into req.
func (h *Connector) checkRedirect(req *http.Request, via []*http.Request) error {
	first, prev := redact(via[0].URL), redact(via[len(via)-1].URL)
	switch {
	case len(via) > h.cfg.MaxRedirects:
		return fmt.Errorf("%w: %s redirected %d times, more than httpconn.Config.MaxRedirects (%d); the server may be redirecting in a loop", ErrRedirect, first, len(via), h.cfg.MaxRedirects)
	case req.URL.Scheme != "http" && req.URL.Scheme != "https":
		return fmt.Errorf("%w: %s redirects to %s, which is not an http or https URL", ErrRedirect, prev, redact(req.URL))
	case !hostAllowed(h.hosts, req.URL):
		return fmt.Errorf("%s redirects to %s: %w (%s)", prev, redact(req.URL), ErrHostNotAllowed, strings.Join(h.cfg.AllowedHosts, ", "))
	}
	req.Header.Del("Referer")
	chain := append(via[:len(via):len(via)], req)
	keep := true
	for i := 1; i < len(chain) && keep; i++ {
		keep = sameOrigin(chain[i-1].URL, chain[i].URL)
	}
	if !keep {
		for k := range h.cfg.Header {
			delete(req.Header, k)
			req.Header.Del(k)
		}
	}
	return nil
}

// do sends the GET, with retries, and returns a 200 response.
func (h *Connector) do(ctx context.Context, u *url.URL, last connector.FileInfo) (*http.Response, error) {
	start := time.Now()
	backoff := h.cfg.MinBackoff
	for attempt := 0; ; attempt++ {
		resp, retryAfter, retry, err := h.try(ctx, u, last)
		if err == nil {
			return resp, nil
		}
		if !retry {
			return nil, err
		}
		if attempt >= h.cfg.Retries {
			if attempt > 0 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return nil, err
		}
		wait := backoff/2 + rand.N(backoff/2+1) // jitter in [backoff/2, backoff]
		if retryAfter > wait {
			wait = min(retryAfter, h.cfg.MaxBackoff)
		}
		if time.Since(start)+wait > h.cfg.MaxRetryTime {
			return nil, fmt.Errorf("%w (gave up: httpconn.Config.MaxRetryTime %v reached after %d attempts)", err, h.cfg.MaxRetryTime, attempt+1)
		}
		if h.cfg.Logger != nil {
			h.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "intake: retrying download", slog.String("url", redact(u)),
				slog.Int("attempt", attempt+1), slog.Duration("wait", wait), slog.String("error", err.Error()))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%s: %w", redact(u), ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, h.cfg.MaxBackoff)
	}
}

// try sends the GET once. It returns a 200 response, or an error, whether
// a retry may succeed, and the wait the server asked for (Retry-After).
func (h *Connector) try(ctx context.Context, u *url.URL, last connector.FileInfo) (_ *http.Response, retryAfter time.Duration, retry bool, _ error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, false, fmt.Errorf("httpconn: %w", err)
	}
	for k, v := range h.cfg.Header {
		req.Header[k] = v
	}
	if last.ETag != "" {
		req.Header.Set("If-None-Match", last.ETag)
	}
	if !last.ModTime.IsZero() {
		req.Header.Set("If-Modified-Since", last.ModTime.UTC().Format(http.TimeFormat))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, 0, false, fmt.Errorf("%s: %w", redact(u), cerr)
		}
		return nil, 0, retryableError(err), fmt.Errorf("httpconn: download %s: %w", redact(u), stripURL(err))
	}
	switch s := resp.StatusCode; {
	case s == http.StatusOK:
		return resp, 0, false, nil
	case s == http.StatusNotModified:
		resp.Body.Close()
		return nil, 0, false, fmt.Errorf("%s: %w", redact(u), connector.ErrNotModified)
	case s == http.StatusNotFound || s == http.StatusGone:
		resp.Body.Close()
		return nil, 0, false, fmt.Errorf("httpconn: %s: %s: %w", redact(u), resp.Status, fs.ErrNotExist)
	}
	err = fmt.Errorf("%s: %w (%s)", redact(u), ErrStatus, resp.Status)
	if resp.Request != nil && resp.Request.URL.String() != u.String() {
		err = fmt.Errorf("%s, redirected to %s: %w (%s)", redact(u), redact(resp.Request.URL), ErrStatus, resp.Status)
	}
	retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
	resp.Body.Close()
	return nil, retryAfter, retryableStatus(resp.StatusCode), err
}

// retryableStatus reports whether a retry may succeed after status: 408
// Request Timeout, 429 Too Many Requests, a 5xx other than 501 Not
// Implemented and 505 HTTP Version Not Supported.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500 && status < 600
}

// retryableError reports whether a retry may succeed after the client's
// error err: a timeout, a connection reset, refused, aborted or
// unreachable, a connection closed before the response (EOF), a
// temporary DNS failure.
// Anything else (a certificate or TLS error, a refused redirect, an
// unknown error) fails the same way again.
func retryableError(err error) bool {
	if errors.Is(err, ErrRedirect) || errors.Is(err, ErrHostNotAllowed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.IsTemporary || de.IsTimeout
	}
	// A socket's dial, read or write failing (reset, refused, aborted,
	// unreachable), not a TLS alert ("remote error") or a bad address.
	var oe *net.OpError
	var ae *net.AddrError
	if errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "read" || oe.Op == "write") && !errors.As(err, &ae) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// parseRetryAfter returns the wait a Retry-After header v asks for, in
// seconds or as an HTTP date (relative to now); 0 when there is none.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(min(max(secs, 0), 1e9)) * time.Second // 1e9 s: no overflow
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redact returns u without its password and query (which may hold keys).
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

// stripURL drops the *url.Error layer (which repeats the URL, query
// included) from a transport error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Register adds the http and https schemes to reg, both served by one
// connector made from cfg, which it checks now. A URL's path is the whole
// URL (the connector takes absolute URLs).
func Register(reg *connector.Registry, cfg Config) error {
	h, err := New(cfg)
	if err != nil {
		return err
	}
	f := func(_ context.Context, u *url.URL) (connector.Connector, string, error) { return h, u.String(), nil }
	if err := reg.Register("http", f); err != nil {
		return err
	}
	return reg.Register("https", f)
}
