// Command minimal is the smallest host of the library: it imports a CSV
// file into the in-memory store and prints the run report. It links only
// what such a host needs (connector, importer and sink/memory: no
// database driver, workbook reader, SSH or HTTP client), which the README's
// Performance section measures.
//
//	go run ./examples/minimal
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
)

const contacts = "email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n"

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "minimal:", err)
		os.Exit(1)
	}
}

// run imports the contacts and writes the run report to w.
func run(ctx context.Context, w io.Writer) error {
	im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
	if err != nil {
		return err
	}
	src, err := connector.NewCSV(strings.NewReader(contacts), connector.CSVConfig{Name: "contacts.csv"})
	if err != nil {
		return err
	}
	rep, err := im.Run(ctx, importer.Job{Source: src, Action: identity.AddAndUpdate, Identity: importer.SyncOn("email")})
	if werr := rep.WriteText(w); werr != nil {
		return werr
	}
	return err
}
