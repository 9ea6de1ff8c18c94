package connector_test

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/internal/kit"
)

func TestRegistryRegister(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	f := func(context.Context, *url.URL) (connector.Connector, string, error) { return nil, "", nil }
	require.NoError(t, r.Register("restapi", f))
	tests := []struct {
		scheme   string
		f        connector.Factory
		contains string
	}{
		{"RESTAPI://", f, "already registered"},
		{"", f, "not a URL scheme"},
		{"1http", f, "not a URL scheme"},
		{"re st", f, "not a URL scheme"},
		{"other", nil, "non-nil Factory"},
	}
	for _, tc := range tests {
		assert.ErrorContains(t, r.Register(tc.scheme, tc.f), tc.contains, tc.scheme)
	}
	assert.Equal(t, []string{"restapi"}, r.Schemes())
	_, _, err := r.Open(context.Background(), "ftp://host/file.csv")
	assert.ErrorIs(t, err, connector.ErrUnknownScheme)
	assert.ErrorContains(t, err, "registered: restapi")
	_, _, err = r.Open(context.Background(), "contacts.csv")
	assert.ErrorContains(t, err, "has no scheme")
}

func TestDefaultRegistry(t *testing.T) {
	dir, _ := setupLocal(t)
	hx := setupHTTP(t)
	ctx := context.Background()
	r, err := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: dir})
	require.NoError(t, err)
	assert.Equal(t, []string{"file", "http", "https"}, r.Schemes())
	csv, _ := kit.CSV()

	tests := []struct {
		url, path, contains string
	}{
		{"file:///exports/contacts.csv", "exports/contacts.csv", ""},
		{"file:exports/contacts.csv", "exports/contacts.csv", ""},
		{"file://localhost/exports/contacts.csv", "exports/contacts.csv", ""},
		{hx.srv.URL + "/contacts.csv", hx.srv.URL + "/contacts.csv", ""},
		{"file:///../secret.csv", "", "leaves the connector's directory"},
		{"file://otherhost/x.csv", "", "use sftp://"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			conn, p, err := r.Open(ctx, tc.url)
			if tc.contains != "" {
				if err == nil { // the escape is refused on Open, by the connector
					_, err = conn.Open(ctx, p)
					conn.(io.Closer).Close()
				}
				assert.ErrorContains(t, err, tc.contains)
				return
			}
			require.NoError(t, err)
			if c, ok := conn.(io.Closer); ok {
				defer c.Close()
			}
			assert.Equal(t, tc.path, p)
			src, err := connector.OpenSource(ctx, conn, p, connector.SourceConfig{})
			require.NoError(t, err)
			defer src.Close()
			h, err := src.Header(ctx)
			require.NoError(t, err)
			assert.Equal(t, "email,first_name,city", strings.Join(h, ","))
			assert.NotEmpty(t, csv)
		})
	}

	none, err := connector.DefaultRegistry(connector.RegistryConfig{})
	require.NoError(t, err)
	_, _, err = none.Open(ctx, "file:///etc/passwd")
	assert.ErrorContains(t, err, "set RegistryConfig.LocalRoot")
	_, _, err = none.Open(ctx, "sftp://u:p@example.com/x.csv")
	assert.ErrorIs(t, err, connector.ErrUnknownScheme)
	_, err = connector.DefaultRegistry(connector.RegistryConfig{HTTP: connector.HTTPConfig{Retries: 1, MinBackoff: 2, MaxBackoff: 1}})
	assert.ErrorContains(t, err, "MinBackoff")
}

// TestRegistryConcurrent: the doc says a Registry is safe for concurrent
// use; Register, Open and Schemes run at once (the runtime's map checks, and
// go test -race, catch a registry without its lock).
func TestRegistryConcurrent(t *testing.T) {
	t.Parallel()
	r := connector.NewRegistry()
	f := func(_ context.Context, u *url.URL) (connector.Connector, string, error) { return nil, u.Path, nil }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := fmt.Sprintf("s%d-%d", g, i)
				assert.NoError(t, r.Register(s, f))
				_, p, err := r.Open(context.Background(), s+"://h/x.csv")
				assert.NoError(t, err)
				assert.Equal(t, "/x.csv", p)
				_ = r.Schemes()
			}
		})
	}
	wg.Wait()
	assert.Len(t, r.Schemes(), 8*200)
}
