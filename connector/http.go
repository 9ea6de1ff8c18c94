package connector

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
)

// Defaults of [HTTPConfig].
const (
	DefaultHTTPConnectTimeout = 10 * time.Second
	DefaultHTTPHeaderTimeout  = 30 * time.Second
	DefaultHTTPTimeout        = time.Hour
	DefaultHTTPRetries        = 3
	DefaultHTTPMinBackoff     = 500 * time.Millisecond
	DefaultHTTPMaxBackoff     = 30 * time.Second
	DefaultHTTPMaxRetryTime   = 2 * time.Minute
)

// ErrHTTPStatus: the server answered with an error status; the wrapping
// error names it.
var ErrHTTPStatus = errors.New("intake: the web server refused the download; check the URL and the credentials (HTTPConfig.Header)")

// HTTPConfig configures an [HTTP] connector. The zero value downloads
// absolute http and https URLs with the defaults below.
type HTTPConfig struct {
	// BaseURL, when set, is the URL that relative paths given to Open are
	// resolved against (RFC 3986). Default: "", Open takes absolute URLs.
	BaseURL string
	// Header is sent with every request (Authorization, API keys).
	Header http.Header
	// ConnectTimeout bounds connecting (TCP and TLS handshake). Default:
	// DefaultHTTPConnectTimeout (10s).
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait for the response's header once the
	// request is sent. Default: DefaultHTTPHeaderTimeout (30s).
	HeaderTimeout time.Duration
	// Timeout bounds a whole download, body included, from Open to the end
	// of the body. Default: DefaultHTTPTimeout (1h); negative: none.
	Timeout time.Duration
	// MaxBytes bounds the body; a longer one (by Content-Length or as it
	// streams) is an error wrapping ErrSizeLimit. Default (0):
	// DefaultMaxConnectorBytes (10 GiB); negative: unlimited.
	MaxBytes int64
	// Retries is how many times a request is retried after a 5xx status, a
	// 429, a timeout or a connection error before the response's header
	// arrived (a body cut halfway is not retried: the source has read part
	// of it). Default (0): DefaultHTTPRetries (3); negative: none.
	Retries int
	// MinBackoff and MaxBackoff bound the wait before a retry: exponential
	// from MinBackoff, doubled each time up to MaxBackoff, with full jitter
	// (a random wait between half and all of it); a Retry-After header is
	// honoured up to MaxBackoff. Defaults: DefaultHTTPMinBackoff (500ms),
	// DefaultHTTPMaxBackoff (30s).
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryTime bounds the time spent on one Open, retries included: no
	// retry starts after it. Default: DefaultHTTPMaxRetryTime (2m).
	MaxRetryTime time.Duration
	// Transport sends the requests. Default: a clone of
	// http.DefaultTransport with ConnectTimeout and HeaderTimeout. When set,
	// ConnectTimeout and HeaderTimeout are the transport's business.
	Transport http.RoundTripper
	// Logger receives a record per retry. Default: nil, quiet.
	Logger *slog.Logger
}

func (cfg *HTTPConfig) validate() error {
	var errs []error
	if cfg.ConnectTimeout < 0 || cfg.HeaderTimeout < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxRetryTime < 0 {
		errs = append(errs, errors.New("intake: HTTPConfig.ConnectTimeout, HeaderTimeout, MinBackoff, MaxBackoff and MaxRetryTime must not be negative; use 0 for the default"))
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			errs = append(errs, fmt.Errorf("intake: HTTPConfig.BaseURL %q is not an http or https URL", cfg.BaseURL))
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.ConnectTimeout, DefaultHTTPConnectTimeout)
	def(&cfg.HeaderTimeout, DefaultHTTPHeaderTimeout)
	def(&cfg.Timeout, DefaultHTTPTimeout)
	def(&cfg.MinBackoff, DefaultHTTPMinBackoff)
	def(&cfg.MaxBackoff, DefaultHTTPMaxBackoff)
	def(&cfg.MaxRetryTime, DefaultHTTPMaxRetryTime)
	if cfg.MinBackoff > cfg.MaxBackoff {
		errs = append(errs, fmt.Errorf("intake: HTTPConfig.MinBackoff (%v) is longer than MaxBackoff (%v)", cfg.MinBackoff, cfg.MaxBackoff))
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultHTTPRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	cfg.MaxBytes = normLimit(cfg.MaxBytes, DefaultMaxConnectorBytes)
	return errors.Join(errs...)
}

// HTTP is a [Connector] of files served over HTTP(S) with GET. The body is
// streamed (memory stays flat whatever the file's size) and hashed as it
// is read. It implements [ConditionalOpener]: If-None-Match with the last
// ETag, If-Modified-Since with the last modification time, and a 304 is
// [ErrNotModified]. A 404 or 410 wraps [io/fs.ErrNotExist]; other error
// statuses wrap [ErrHTTPStatus]. Files of HTTP do not implement
// io.ReaderAt: [OpenSource] spools workbooks.
type HTTP struct {
	cfg    HTTPConfig
	base   *url.URL
	client *http.Client
	tr     *http.Transport // ours, to close idle connections; nil when given
}

// NewHTTP returns an HTTP connector after checking cfg.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &HTTP{cfg: cfg}
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
	h.client = &http.Client{Transport: rt}
	return h, nil
}

// Close closes the idle connections of the connector's own transport.
func (h *HTTP) Close() error {
	if h.tr != nil {
		h.tr.CloseIdleConnections()
	}
	return nil
}

// Open downloads p: an absolute http(s) URL, or a reference resolved
// against HTTPConfig.BaseURL.
func (h *HTTP) Open(ctx context.Context, p string) (File, error) {
	return h.OpenIfChanged(ctx, p, FileInfo{})
}

// OpenIfChanged downloads p unless the server answers 304 Not Modified to
// the conditions built from last (ETag, ModTime); that is an error
// wrapping [ErrNotModified].
func (h *HTTP) OpenIfChanged(ctx context.Context, p string, last FileInfo) (File, error) {
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
	info := FileInfo{Name: p, Size: resp.ContentLength, ETag: resp.Header.Get("ETag")}
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
		return nil, fmt.Errorf("%s: %w (HTTPConfig.MaxBytes is %d, Content-Length %d)", p, ErrSizeLimit, h.cfg.MaxBytes, info.Size)
	}
	body := resp.Body
	s := newStream(rctx, body, func() error { err := body.Close(); cancel(); return err }, info, h.cfg.MaxBytes, "HTTPConfig.MaxBytes")
	return s, nil
}

func (h *HTTP) resolve(p string) (*url.URL, error) {
	u, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("intake: %q is not a URL: %w", p, err)
	}
	if h.base != nil {
		u = h.base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("intake: %q is not an http or https URL; give an absolute URL or set HTTPConfig.BaseURL", p)
	}
	return u, nil
}

// do sends the GET, with retries, and returns a 200 response.
func (h *HTTP) do(ctx context.Context, u *url.URL, last FileInfo) (*http.Response, error) {
	start := time.Now()
	backoff := h.cfg.MinBackoff
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("intake: %w", err)
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
		var retryAfter time.Duration
		if err == nil {
			switch {
			case resp.StatusCode == http.StatusOK:
				return resp, nil
			case resp.StatusCode == http.StatusNotModified:
				resp.Body.Close()
				return nil, fmt.Errorf("%s: %w", redact(u), ErrNotModified)
			case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
				resp.Body.Close()
				return nil, fmt.Errorf("%s: intake: %s: %w", redact(u), resp.Status, fs.ErrNotExist)
			}
			err = fmt.Errorf("%s: %w (%s)", redact(u), ErrHTTPStatus, resp.Status)
			retryable := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
			if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs >= 0 {
				retryAfter = time.Duration(secs) * time.Second
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
			resp.Body.Close()
			if !retryable {
				return nil, err
			}
		} else {
			if cerr := ctx.Err(); cerr != nil {
				return nil, fmt.Errorf("%s: %w", redact(u), cerr)
			}
			err = fmt.Errorf("intake: download %s: %w", redact(u), stripURL(err))
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
			return nil, fmt.Errorf("%w (gave up: HTTPConfig.MaxRetryTime %v reached after %d attempts)", err, h.cfg.MaxRetryTime, attempt+1)
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

// isHTTPURL reports whether s starts with http:// or https://.
func isHTTPURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}
