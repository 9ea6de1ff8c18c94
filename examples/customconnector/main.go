// Command customconnector shows a complete third-party connector: it reads
// contacts from a REST API page by page (restapi.go), is registered in a
// connector.Registry under the scheme restapi://, and feeds an import into
// the memory store. The API is a small server started in the program, on
// the loopback interface, serving three pages of contacts.
//
//	go run ./examples/customconnector
//
// Its conformance test (main_test.go) runs connector/connectortest against
// the source, as every connector author should.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customconnector:", err)
		os.Exit(1)
	}
}

// contacts are what the demo API serves.
var contacts = []map[string]any{
	{"email": "ann@example.com", "first_name": "Ann", "city": "Köln", "lifetime_value": 120.5},
	{"email": "bob@example.com", "first_name": "Bob", "city": "Accra", "lifetime_value": 80},
	{"email": "not-an-email", "first_name": "Cid", "city": "Lyon", "lifetime_value": nil},
	{"email": "dee@example.com", "first_name": "Dee", "city": "Porto", "lifetime_value": 15},
	{"email": "ANN@example.com", "first_name": "Anna", "city": "Köln", "lifetime_value": 130},
	{"email": "eve@example.com", "first_name": "Eve", "city": "Oslo", "lifetime_value": 0},
	{"email": "fay@example.com", "first_name": "Fay", "city": "Riga", "lifetime_value": 42},
}

// newAPI serves items as /v1/contacts?limit=N&cursor=OFFSET pages, keys in
// the order email, first_name, city, lifetime_value.
func newAPI(items []map[string]any) http.Handler {
	keys := []string{"email", "first_name", "city", "lifetime_value"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/contacts", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		if limit <= 0 || from < 0 || from > len(items) {
			http.Error(w, "bad limit or cursor", http.StatusBadRequest)
			return
		}
		to := min(from+limit, len(items))
		var page []json.RawMessage
		for _, it := range items[from:to] {
			b := []byte{'{'}
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				kb, _ := json.Marshal(k)
				vb, _ := json.Marshal(it[k])
				b = append(append(append(b, kb...), ':'), vb...)
			}
			page = append(page, append(b, '}'))
		}
		resp := map[string]any{"items": page}
		if to < len(items) {
			resp["next"] = strconv.Itoa(to)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
	return mux
}

func run(ctx context.Context, w io.Writer) error {
	api := httptest.NewServer(newAPI(contacts))
	defer api.Close()

	// The host program's registry: Intake's connectors plus ours.
	reg := connector.DefaultRegistry(connector.RegistryConfig{})
	factory, err := Factory(RESTConfig{Client: api.Client(), Scheme: "http", PageSize: 3})
	if err != nil {
		return err
	}
	if err := reg.Register("restapi", factory); err != nil {
		return err
	}

	// A job names a URL; the registry finds the connector.
	conn, path, err := reg.Open(ctx, "restapi://"+api.Listener.Addr().String()+"/v1/contacts")
	if err != nil {
		return err
	}
	src, err := reg.OpenSource(ctx, conn, path, connector.SourceConfig{})
	if err != nil {
		return err
	}

	store := memory.New(memory.Config{})
	defer store.Close()
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		return err
	}
	rep, err := im.Run(ctx, importer.Job{Name: "restapi-contacts", Source: src})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "source: restapi://API%s, header %v\n", path, rep.Source.Header)
	fmt.Fprintf(w, "%s: %d rows, %d created, %d updated, %d unchanged, %d rejected\n",
		rep.Status, rep.Rows, rep.Created, rep.Updated, rep.Unchanged, rep.Rejected)
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "  line %d: %s: %s\n", e.Line, e.Code, e.Message)
	}
	return nil
}
