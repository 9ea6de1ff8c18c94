// Command quickstart is Intake's main job in a few lines: it imports a small
// contacts CSV into an SQLite store (intake.db in the current directory),
// then imports a second file that updates some of those contacts and adds
// others, and prints both run reports.
//
//	go run ./examples/quickstart
//
// It starts from an empty store on every run (it replaces the intake.db it
// made before), so its output is always the same. Then look at the store
// with the example CLI:
//
//	go run ./examples/intake export -store sqlite:intake.db contacts.jsonl
package main

import (
	"bytes"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/sqlite"
)

//go:embed contacts.csv
var contactsCSV []byte

//go:embed contacts-update.csv
var updateCSV []byte

func main() {
	db := flag.String("db", "intake.db", "the SQLite file to import into (replaced on every run)")
	flag.Parse()
	if err := run(context.Background(), *db); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	store, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		return err
	}
	defer store.Close()

	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"contacts.csv", contactsCSV},
		{"contacts-update.csv", updateCSV},
	}
	for i, f := range files {
		src, err := connector.NewCSV(bytes.NewReader(f.data), connector.CSVConfig{Name: f.name})
		if err != nil {
			return err
		}
		rep, err := im.Run(ctx, importer.Job{
			Name:     f.name,
			Source:   src,
			Action:   identity.AddAndUpdate,    // create new contacts, update known ones
			Identity: importer.SyncOn("email"), // a contact is known by its email
		})
		fmt.Printf("%d. %s → %s\n", i+1, f.name, path)
		if werr := rep.WriteText(os.Stdout); werr != nil {
			return werr
		}
		fmt.Println()
		if err != nil {
			return err
		}
	}
	fmt.Printf("Look at the contacts: go run ./examples/intake export -store sqlite:%s contacts.jsonl\n", path)
	return nil
}
