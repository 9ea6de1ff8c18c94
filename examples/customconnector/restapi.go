package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
)

// This file is what a third party writes: a connector for a REST API that
// lists contacts page by page,
//
//	GET /v1/contacts?limit=N[&cursor=C]
//	{"items": [{"email": "...", "first_name": "...", ...}, ...], "next": "C2"}
//
// The last page has no "next". The connector is a connector.Source (the rows
// are the items, the header their JSON keys), opened through a
// connector.Registry under the scheme restapi://.

// Limits and defaults of RESTConfig.
const (
	DefaultPageSize     = 100
	DefaultMaxRows      = 1_000_000
	DefaultMaxPageBytes = 8 << 20
	DefaultTimeout      = 30 * time.Second
)

var (
	// ErrTooManyRows: the API returned more items than RESTConfig.MaxRows.
	// Raise the limit or filter the query.
	ErrTooManyRows = errors.New("restapi: too many contacts")
	// ErrBadPage: a page is not the JSON the API documents
	// ({"items": [...], "next": ...}); the wrapping error says why. Check
	// the URL.
	ErrBadPage = errors.New("restapi: bad page")
)

// CodeUnexpectedField is the row error code of an item with a key that the
// header (the first item's keys) does not have: a code this connector
// defines beside the module's own ([intake.Code]).
const CodeUnexpectedField = intake.Code("unexpected_field")

// RESTConfig configures the REST API connector. The zero value works
// against an https API with the defaults below.
type RESTConfig struct {
	// Client sends the requests. Default: a client with DefaultTimeout per page.
	Client *http.Client
	// Scheme is the scheme of the API's URLs. Default: "https".
	Scheme string
	// Token, when set, is sent as "Authorization: Bearer TOKEN".
	Token string
	// PageSize is the limit asked for per page. Default: DefaultPageSize.
	PageSize int
	// MaxRows bounds the items read; more is a fatal ErrTooManyRows.
	// Default: DefaultMaxRows.
	MaxRows int64
	// MaxPageBytes bounds one page's body. Default: DefaultMaxPageBytes.
	MaxPageBytes int64
}

func (c *RESTConfig) validate() error {
	if c.PageSize < 0 || c.MaxRows < 0 || c.MaxPageBytes < 0 {
		return errors.New("restapi: RESTConfig.PageSize, MaxRows and MaxPageBytes must not be negative; use 0 for the default")
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if c.Scheme == "" {
		c.Scheme = "https"
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.MaxRows == 0 {
		c.MaxRows = DefaultMaxRows
	}
	if c.MaxPageBytes == 0 {
		c.MaxPageBytes = DefaultMaxPageBytes
	}
	return nil
}

// Connector is the REST API as a connector.Connector. It has no files:
// it implements connector.SourceOpener, which Registry.OpenSource uses.
type Connector struct {
	cfg  RESTConfig
	host string
}

// Open says that the API has rows, not files.
func (c *Connector) Open(ctx context.Context, path string) (connector.File, error) {
	return nil, errors.New("restapi: the API has no files; use Registry.OpenSource, which reads its rows")
}

// OpenSource opens the contact list at path (say /v1/contacts).
func (c *Connector) OpenSource(ctx context.Context, path string, _ connector.SourceConfig) (connector.Source, error) {
	return OpenREST(ctx, c.cfg, c.cfg.Scheme+"://"+c.host+path)
}

// Factory returns the connector.Factory of restapi://HOST/PATH URLs.
func Factory(cfg RESTConfig) (connector.Factory, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, u *url.URL) (connector.Connector, string, error) {
		if u.Host == "" || u.Path == "" {
			return nil, "", fmt.Errorf("restapi: %q: write restapi://HOST/PATH", u.Redacted())
		}
		return &Connector{cfg: cfg, host: u.Host}, u.Path, nil
	}, nil
}

// Source reads the items of a paged contact list as rows. It implements
// connector.Source and connector.Namer.
type Source struct {
	cfg    RESTConfig
	base   *url.URL
	header []string
	cols   map[string]int
	page   [][]field // items of the current page not read yet
	next   string    // cursor of the next page; "" after the last
	more   bool      // a next page exists
	n      int64     // items returned
	err    error     // sticky fatal error, or io.EOF
	closed bool
}

type field struct{ key, val string }

// OpenREST fetches the first page of the list at rawURL, so that errors of
// the URL, the credentials and the format come from here and the header is
// known.
func OpenREST(ctx context.Context, cfg RESTConfig, rawURL string) (*Source, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("restapi: %w", err)
	}
	s := &Source{cfg: cfg, base: u, more: true}
	if err := s.fetch(ctx); err != nil {
		return nil, err
	}
	if len(s.page) > 0 {
		s.cols = make(map[string]int)
		for i, f := range s.page[0] {
			s.header = append(s.header, f.key)
			s.cols[f.key] = i
		}
	}
	return s, nil
}

// Name returns the list's URL without its query. It implements connector.Namer.
func (s *Source) Name() string {
	u := *s.base
	u.RawQuery = ""
	return u.String()
}

// Header returns the first item's keys, in the API's order.
func (s *Source) Header(ctx context.Context) ([]string, error) { return s.header, nil }

// Read returns the next item as a row; Line is its position plus one (the
// header being line 1). Fetching the next page honours ctx.
func (s *Source) Read(ctx context.Context) (intake.Row, error) {
	if s.closed {
		return intake.Row{}, connector.ErrClosed
	}
	if s.err != nil {
		return intake.Row{}, s.err
	}
	if err := ctx.Err(); err != nil {
		return intake.Row{}, err
	}
	for len(s.page) == 0 {
		if !s.more {
			s.err = io.EOF
			return intake.Row{}, io.EOF
		}
		if err := s.fetch(ctx); err != nil {
			s.err = err
			return intake.Row{}, err
		}
	}
	item := s.page[0]
	s.page = s.page[1:]
	s.n++
	if s.n > s.cfg.MaxRows {
		s.err = fmt.Errorf("%s: %w (RESTConfig.MaxRows is %d)", s.Name(), ErrTooManyRows, s.cfg.MaxRows)
		return intake.Row{}, s.err
	}
	row := intake.Row{Line: int(s.n) + 1, Cells: make([]string, len(s.header))}
	for _, f := range item {
		i, ok := s.cols[f.key]
		if !ok {
			return row, &intake.RowError{File: s.Name(), Line: row.Line, Column: f.key, Code: CodeUnexpectedField,
				Message: fmt.Sprintf("the item has a field %q that the first item has not", f.key)}
		}
		row.Cells[i] = f.val
	}
	return row, nil
}

// Close ends reading; it is safe to call twice.
func (s *Source) Close() error {
	s.closed = true
	s.page = nil
	return nil
}

// fetch reads the next page into s.page.
func (s *Source) fetch(ctx context.Context) error {
	u := *s.base
	q := u.Query()
	q.Set("limit", strconv.Itoa(s.cfg.PageSize))
	if s.next != "" {
		q.Set("cursor", s.next)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("restapi: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("restapi: %s: %w", s.Name(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("restapi: %s: the API answered %s; check the URL and RESTConfig.Token", s.Name(), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxPageBytes+1))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("restapi: %s: %w", s.Name(), err)
	}
	if int64(len(body)) > s.cfg.MaxPageBytes {
		return fmt.Errorf("restapi: %s: a page is larger than RESTConfig.MaxPageBytes (%d); lower RESTConfig.PageSize", s.Name(), s.cfg.MaxPageBytes)
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
		Next  string            `json:"next"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return fmt.Errorf("%s: %w: %v", s.Name(), ErrBadPage, err)
	}
	s.page = s.page[:0]
	for _, raw := range page.Items {
		item, err := fields(raw)
		if err != nil {
			return fmt.Errorf("%s: %w: %v", s.Name(), ErrBadPage, err)
		}
		s.page = append(s.page, item)
	}
	if page.Next != "" && page.Next == s.next {
		return fmt.Errorf("%s: %w: the next-page cursor repeats (%q)", s.Name(), ErrBadPage, page.Next)
	}
	s.next, s.more = page.Next, page.Next != ""
	return nil
}

// fields returns an item's keys and values in document order: strings as
// they are, numbers as written, booleans as true/false, null as "", objects
// and arrays as compact JSON.
func fields(raw json.RawMessage) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("an item is not a JSON object")
	}
	var out []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{key, cell(v)})
	}
	return out, nil
}

func cell(v json.RawMessage) string {
	switch {
	case string(v) == "null":
		return ""
	case len(v) > 0 && v[0] == '"':
		var s string
		_ = json.Unmarshal(v, &s)
		return s
	case len(v) > 0 && (v[0] == '{' || v[0] == '['):
		var b bytes.Buffer
		_ = json.Compact(&b, v)
		return b.String()
	}
	return string(v) // number, true, false
}
