package httpconn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/httpconn"
)

// A host that imports files from web servers registers the http and https
// schemes; a job then names the file's URL.
func ExampleRegister() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/contacts.csv" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "email,first_name\nann@example.com,Ann\n")
	}))
	defer srv.Close()

	reg := connector.DefaultRegistry(connector.RegistryConfig{})
	if err := httpconn.Register(reg, httpconn.Config{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(reg.Schemes())

	ctx := context.Background()
	conn, path, err := reg.Open(ctx, srv.URL+"/contacts.csv")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.(io.Closer).Close()
	src, err := reg.OpenSource(ctx, conn, path, connector.SourceConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	header, _ := src.Header(ctx)
	row, _ := src.Read(ctx)
	fmt.Println(header, row.Cells, row.Line)
	// Output:
	// [file http https]
	// [email first_name] [ann@example.com Ann] 2
}

// New checks the Config; a download names the URL without its query, and
// an error status wraps ErrStatus.
func ExampleNew() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no key", http.StatusForbidden)
	}))
	defer srv.Close()

	_, err := httpconn.New(httpconn.Config{MinBackoff: 2, MaxBackoff: 1})
	fmt.Println(err)

	h, err := httpconn.New(httpconn.Config{AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	_, err = h.Open(context.Background(), srv.URL+"/contacts.csv?api_key=SECRET")
	fmt.Println(errors.Is(err, httpconn.ErrStatus))
	_, err = h.Open(context.Background(), "https://files.example.com/contacts.csv")
	fmt.Println(errors.Is(err, httpconn.ErrHostNotAllowed))
	// Output:
	// httpconn: httpconn.Config.MinBackoff (2ns) is longer than MaxBackoff (1ns)
	// true
	// true
}
