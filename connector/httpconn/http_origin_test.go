package httpconn

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHTTPSameOrigin covers the redirects a loopback server cannot make:
// default ports, and the http → https upgrade.
func TestHTTPSameOrigin(t *testing.T) {
	tests := []struct {
		from, to string
		same     bool
	}{
		{"https://files.example.com/a", "https://files.example.com:443/b", true},
		{"https://files.example.com/a", "https://FILES.example.com./b", true},
		{"http://files.example.com/a", "https://files.example.com/b", true}, // the upgrade
		{"http://files.example.com:80/a", "https://files.example.com:443/b", true},
		{"https://files.example.com/a", "http://files.example.com/b", false}, // a downgrade
		{"http://files.example.com:8080/a", "https://files.example.com/b", false},
		{"http://files.example.com/a", "https://files.example.com:8443/b", false},
		{"https://files.example.com/a", "https://files.example.com:8443/b", false},
		{"https://files.example.com/a", "https://cdn.example.com/b", false},
		{"https://example.com/a", "https://files.example.com/b", false}, // a subdomain is another host
	}
	for _, tc := range tests {
		from, _ := url.Parse(tc.from)
		to, _ := url.Parse(tc.to)
		assert.Equal(t, tc.same, sameOrigin(from, to), "%s → %s", tc.from, tc.to)
	}
}

func TestHTTPHostRules(t *testing.T) {
	rules, err := parseHostRules([]string{"files.example.com", "10.0.0.5:8443", ".cdn.example.org", "[::1]:8080", "::2", "[::3]"})
	require.NoError(t, err)
	tests := []struct {
		u  string
		ok bool
	}{
		{"https://files.example.com/x", true},
		{"http://Files.Example.com:8080/x", true}, // any port
		{"https://example.com/x", false},
		{"https://a.files.example.com/x", false}, // exact, not a suffix
		{"https://10.0.0.5:8443/x", true},
		{"https://10.0.0.5/x", false}, // port 443
		{"https://a.cdn.example.org/x", true},
		{"https://b.a.cdn.example.org/x", true},
		{"https://cdn.example.org/x", false}, // a leading dot: subdomains only
		{"https://xcdn.example.org/x", false},
		{"http://[::1]:8080/x", true},
		{"http://[::1]/x", false},
		{"http://[::2]:9/x", true},
		{"http://[::3]/x", true},
	}
	for _, tc := range tests {
		u, _ := url.Parse(tc.u)
		assert.Equal(t, tc.ok, hostAllowed(rules, u), tc.u)
	}
	assert.True(t, hostAllowed(nil, &url.URL{Host: "anything"}))
}

func TestHTTPRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	assert.Equal(t, 90*time.Second, parseRetryAfter(now.Add(90*time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Hour).Format("Mon, 02 Jan 2006 15:04:05 GMT"), now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Zero(t, parseRetryAfter("-3", now))
	assert.Positive(t, parseRetryAfter("99999999999999", now)) // no overflow
}
