package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup starts the demo API and returns a registry with the connector
// registered and the URL of the contact list.
func setup(t *testing.T, h http.Handler, cfg RESTConfig) (*connector.Registry, string) {
	t.Helper()
	t.Parallel()
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)
	cfg.Client, cfg.Scheme = api.Client(), "http"
	f, err := Factory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry()
	if err := reg.Register("restapi", f); err != nil {
		t.Fatal(err)
	}
	return reg, "restapi://" + api.Listener.Addr().String() + "/v1/contacts"
}

func open(reg *connector.Registry, u string) func(ctx context.Context) (connector.Source, error) {
	return func(ctx context.Context) (connector.Source, error) {
		conn, p, err := reg.Open(ctx, u)
		if err != nil {
			return nil, err
		}
		return reg.OpenSource(ctx, conn, p, connector.SourceConfig{})
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `source: restapi://API/v1/contacts, header [email first_name city lifetime_value]
succeeded: 7 rows, 5 created, 1 updated, 0 unchanged, 1 rejected
  line 4: invalid_email: "not-an-email" is not an email address
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestConformance runs Intake's conformance kit against the connector, with
// pages of 2 items so that the reads cross pages.
func TestConformance(t *testing.T) {
	reg, u := setup(t, newAPI(contacts), RESTConfig{PageSize: 2})
	want := connectortest.Want{Header: []string{"email", "first_name", "city", "lifetime_value"}}
	for i, c := range contacts {
		v := ""
		if c["lifetime_value"] != nil {
			v = fmt.Sprint(c["lifetime_value"])
		}
		want.Rows = append(want.Rows, []string{c["email"].(string), c["first_name"].(string), c["city"].(string), v})
		want.Lines = append(want.Lines, i+2)
	}
	want.OpenLimited = func(ctx context.Context, max int) (connector.Source, error) {
		return OpenREST(ctx, RESTConfig{Client: http.DefaultClient, PageSize: 2, MaxRows: int64(max)}, "http"+strings.TrimPrefix(u, "restapi"))
	}
	want.CancelWithin = 2 // a page already fetched may be returned
	connectortest.TestSource(t, open(reg, u), want)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		is      error
		code    intake.Code // expected row error of the second row
		msg     string
	}{
		{"status", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) }, nil, "", "403"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }, ErrBadPage, "", ""},
		{"item not an object", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"items":[1]}`) }, ErrBadPage, "", ""},
		{"cursor loops", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"items":[{"email":"a@b.c"}],"next":"x"}`)
		}, ErrBadPage, "", "repeats"},
		{"unexpected field", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"items":[{"email":"a@b.c"},{"email":"d@e.f","phone":"+49"}]}`)
		}, nil, CodeUnexpectedField, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg, u := setup(t, tc.handler, RESTConfig{})
			ctx := context.Background()
			src, err := open(reg, u)(ctx)
			if err == nil {
				defer src.Close()
				for {
					_, err = src.Read(ctx)
					if err != nil {
						break
					}
				}
			}
			var re *intake.RowError
			switch {
			case tc.code != "":
				if !errors.As(err, &re) || re.Code != tc.code || re.Line != 3 {
					t.Errorf("got %v, want a row error %s on line 3", err, tc.code)
				}
			case err == nil || err == io.EOF:
				t.Errorf("no error, want one")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("got %v, want %v", err, tc.is)
			case !strings.Contains(err.Error(), tc.msg):
				t.Errorf("got %v, want it to say %q", err, tc.msg)
			}
		})
	}
}
