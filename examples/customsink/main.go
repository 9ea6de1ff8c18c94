// Command customsink shows a host implementing an Intake sink over a store
// of its own — DocStore, a small document database — and importing a CSV
// file into it. main_test.go runs Intake's conformance kit, sink/sinktest,
// against the sink: every sink a host writes should pass it.
//
//	go run ./examples/customsink
//	go test ./examples/customsink
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
)

const file = `email,first_name,last_name,city
anna@example.com,Anna,Alt,Köln
ben@example.com,Ben,Bauer,
ANNA@example.com,,,Bonn
`

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "customsink:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	store := NewDocStore()
	im, err := importer.New(importer.Config{Sink: NewSink(store)})
	if err != nil {
		return err
	}
	src, err := connector.NewCSV(strings.NewReader(file), connector.CSVConfig{Name: "contacts.csv"})
	if err != nil {
		return err
	}
	rep, err := im.Run(ctx, importer.Job{Source: src, Action: identity.AddAndUpdate, Identity: importer.SyncOn("email")})
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d rows, %d created, %d updated\n", rep.Status, rep.Rows, rep.Created, rep.Updated)
	return NewSink(store).Scan(ctx, intake.ContactSchema(), func(r *intake.Record) error {
		fmt.Printf("%s %s %s\n", r.Get("email"), r.Get("first_name"), r.Get("city"))
		return nil
	})
}
