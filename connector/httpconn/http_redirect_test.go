package httpconn_test

import (
	"context"
	"crypto/tls"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/connector/httpconn"
)

// hopServer is a loopback web server for the redirect and retry tests;
// two of them are two hosts (their ports differ). Paths:
//
//	/file        a small CSV; records the request's X-Api-Key, Authorization and Referer
//	/to?u=URL    302 to URL
//	/loop        302 to itself
//	/to-ftp      302 to an ftp:// URL
//	/once?s=N&after=A  status N (with Retry-After: A) the first time, then the CSV
//	/missing     404
//	/reset       closes the first connection without an answer, then the CSV
//
// Every path counts its requests.
type hopServer struct {
	srv  *httptest.Server
	hits sync.Map // path → *atomic.Int32
	mu   sync.Mutex
	seen []http.Header // the headers /file saw
}

func (s *hopServer) count(p string) int32 {
	v, _ := s.hits.LoadOrStore(p, new(atomic.Int32))
	return v.(*atomic.Int32).Load()
}

func (s *hopServer) hit(p string) int32 {
	v, _ := s.hits.LoadOrStore(p, new(atomic.Int32))
	return v.(*atomic.Int32).Add(1)
}

func (s *hopServer) headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.seen...)
}

func newHopServer(t *testing.T) *hopServer {
	t.Helper()
	s := &hopServer{}
	csv := "email\na@example.com\n"
	mux := http.NewServeMux()
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		s.hit(r.URL.Path)
		s.mu.Lock()
		s.seen = append(s.seen, r.Header.Clone())
		s.mu.Unlock()
		io.WriteString(w, csv)
	})
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) {
		s.hit(r.URL.Path)
		http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		s.hit(r.URL.Path)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
		s.hit(r.URL.Path)
		http.Redirect(w, r, "ftp://example.invalid/contacts.csv", http.StatusFound)
	})
	mux.HandleFunc("/once", func(w http.ResponseWriter, r *http.Request) {
		if s.hit(r.URL.Path) == 1 {
			code, _ := strconv.Atoi(r.URL.Query().Get("s"))
			if ra := r.URL.Query().Get("after"); ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			http.Error(w, "later", code)
			return
		}
		io.WriteString(w, csv)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		s.hit(r.URL.Path)
		http.NotFound(w, r)
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		if s.hit(r.URL.Path) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
				conn.Close()
			}
			return
		}
		io.WriteString(w, csv)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// fastHTTP is a config whose retries wait a millisecond.
func fastHTTP() httpconn.Config {
	return httpconn.Config{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func download(t *testing.T, h *httpconn.Connector, u string) error {
	t.Helper()
	f, err := h.Open(context.Background(), u)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

func TestHTTPHeaderStaysOnItsHost(t *testing.T) {
	t.Parallel()
	a, b := newHopServer(t), newHopServer(t) // 127.0.0.1 on two ports: two hosts
	cfg := fastHTTP()
	cfg.Header = http.Header{"X-Api-Key": {"SECRET-KEY"}, "Authorization": {"Bearer SECRET-TOKEN"}}
	h := newHTTP(t, cfg)

	// The same host: the key goes with the redirect.
	require.NoError(t, download(t, h, a.srv.URL+"/to?u=/file"))
	require.Len(t, a.headers(), 1)
	assert.Equal(t, "SECRET-KEY", a.headers()[0].Get("X-Api-Key"))

	// Another host, directly and after a hop back through the first:
	// nothing the caller set, and no Referer (the URL's query holds a key).
	onB := b.srv.URL + "/file"
	back := a.srv.URL + "/to?u=" + url.QueryEscape(a.srv.URL+"/file")
	viaB := b.srv.URL + "/to?u=" + url.QueryEscape(back)
	require.NoError(t, download(t, h, a.srv.URL+"/to?api_key=SECRET-QUERY&u="+url.QueryEscape(onB)))
	require.NoError(t, download(t, h, a.srv.URL+"/to?u="+url.QueryEscape(viaB)))
	got := append(b.headers(), a.headers()[1:]...)
	require.Len(t, got, 2)
	for _, hd := range got {
		for k, v := range hd {
			assert.NotContains(t, strings.Join(v, " "), "SECRET", "header %s", k)
		}
		assert.Empty(t, hd.Get("Referer"))
	}
}

func TestHTTPAllowedHosts(t *testing.T) {
	t.Parallel()
	a, b := newHopServer(t), newHopServer(t)
	ua, _ := url.Parse(a.srv.URL)
	_, portB, _ := net.SplitHostPort(strings.TrimPrefix(b.srv.URL, "http://"))
	ctx := context.Background()

	t.Run("host name", func(t *testing.T) {
		cfg := fastHTTP()
		cfg.AllowedHosts = []string{"127.0.0.1"}
		h := newHTTP(t, cfg)
		require.NoError(t, download(t, h, a.srv.URL+"/file"))
		_, err := h.Open(ctx, "http://localhost:"+portB+"/file")
		require.ErrorIs(t, err, httpconn.ErrHostNotAllowed)
		assert.ErrorContains(t, err, "localhost:"+portB)
		assert.Zero(t, b.count("/file"), "nothing is sent to a host outside the list")
	})
	t.Run("host and port", func(t *testing.T) {
		cfg := fastHTTP()
		cfg.AllowedHosts = []string{ua.Host} // 127.0.0.1:port of a
		h := newHTTP(t, cfg)
		_, err := h.Open(ctx, a.srv.URL+"/to?u="+url.QueryEscape(b.srv.URL+"/file"))
		require.ErrorIs(t, err, httpconn.ErrHostNotAllowed)
		assert.ErrorContains(t, err, "redirects to "+b.srv.URL+"/file")
		assert.EqualValues(t, 1, a.count("/to"), "a refused redirect is not retried")
		assert.Zero(t, b.count("/file"))
	})
	t.Run("domain", func(t *testing.T) {
		cfg := fastHTTP()
		cfg.AllowedHosts = []string{".example.com"}
		h := newHTTP(t, cfg)
		for _, u := range []string{a.srv.URL + "/file", "https://example.com/x", "https://badexample.com/x"} {
			_, err := h.Open(ctx, u)
			assert.ErrorIs(t, err, httpconn.ErrHostNotAllowed, u)
		}
	})
	t.Run("bad entries", func(t *testing.T) {
		_, err := httpconn.New(httpconn.Config{AllowedHosts: []string{"https://example.com/", "example.com:0", ""}})
		require.Error(t, err)
		assert.Equal(t, 3, strings.Count(err.Error(), "httpconn.Config.AllowedHosts entry"))
		_, err = httpconn.New(httpconn.Config{AllowedHosts: []string{"example.com", "[::1]:8080", "::1", ".example.org"}})
		require.NoError(t, err)
		_, err = httpconn.New(httpconn.Config{AllowedHosts: []string{"example.com"}, BaseURL: "https://example.org/"})
		require.ErrorIs(t, err, httpconn.ErrHostNotAllowed)
	})
}

func TestHTTPRedirectLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("loop, default limit", func(t *testing.T) {
		s := newHopServer(t)
		_, err := newHTTP(t, fastHTTP()).Open(ctx, s.srv.URL+"/loop")
		require.ErrorIs(t, err, httpconn.ErrRedirect)
		assert.ErrorContains(t, err, "httpconn.Config.MaxRedirects (10)")
		assert.EqualValues(t, httpconn.DefaultMaxRedirects+1, s.count("/loop"), "one attempt of at most MaxRedirects+1 requests")
	})
	t.Run("loop, MaxRedirects 3", func(t *testing.T) {
		s := newHopServer(t)
		cfg := fastHTTP()
		cfg.MaxRedirects = 3
		_, err := newHTTP(t, cfg).Open(ctx, s.srv.URL+"/loop")
		require.ErrorIs(t, err, httpconn.ErrRedirect)
		assert.EqualValues(t, 4, s.count("/loop"))
	})
	t.Run("no redirects", func(t *testing.T) {
		s := newHopServer(t)
		cfg := fastHTTP()
		cfg.MaxRedirects = -1
		_, err := newHTTP(t, cfg).Open(ctx, s.srv.URL+"/to?u=/file")
		require.ErrorIs(t, err, httpconn.ErrRedirect)
		assert.Zero(t, s.count("/file"))
	})
	t.Run("unsupported scheme, tried once", func(t *testing.T) {
		s := newHopServer(t)
		_, err := newHTTP(t, fastHTTP()).Open(ctx, s.srv.URL+"/to-ftp")
		require.ErrorIs(t, err, httpconn.ErrRedirect)
		assert.ErrorContains(t, err, "not an http or https URL")
		assert.EqualValues(t, 1, s.count("/to-ftp"))
	})
}

func TestHTTPRetryClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		requests int32
		is       error // nil: the download succeeds
	}{
		{"503 then 200", "/once?s=503&after=0", 2, nil},
		{"408 then 200", "/once?s=408", 2, nil},
		{"connection reset then 200", "/reset", 2, nil},
		{"404 not retried", "/missing", 1, fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newHopServer(t)
			err := download(t, newHTTP(t, fastHTTP()), s.srv.URL+tc.path)
			if tc.is == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.is)
			}
			p, _, _ := strings.Cut(tc.path, "?")
			assert.Equal(t, tc.requests, s.count(p))
		})
	}
}

// TestHTTPCertificateErrorNotRetried downloads from a TLS server whose
// certificate the client does not trust: one connection, no retry.
func TestHTTPCertificateErrorNotRetried(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, err := newHTTP(t, fastHTTP()).Open(context.Background(), srv.URL+"/file")
	require.Error(t, err)
	assert.ErrorContains(t, err, "certificate")
	assert.NotContains(t, err.Error(), "attempts")
	assert.EqualValues(t, 1, conns.Load())

	// Trusted, the same server serves.
	cfg := fastHTTP()
	cfg.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}
	require.NoError(t, download(t, newHTTP(t, cfg), srv.URL+"/file"))
}

// TestHTTPRetryAfterCapped: a 429's Retry-After is waited for, up to
// MaxBackoff.
func TestHTTPRetryAfterCapped(t *testing.T) {
	t.Parallel()
	s := newHopServer(t)
	cfg := httpconn.Config{MinBackoff: time.Millisecond, MaxBackoff: 300 * time.Millisecond}
	start := time.Now()
	require.NoError(t, download(t, newHTTP(t, cfg), s.srv.URL+"/once?s=429&after=3"))
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 300*time.Millisecond, "Retry-After is honoured")
	assert.Less(t, took, 3*time.Second, "up to MaxBackoff")
	assert.EqualValues(t, 2, s.count("/once"))
}
