package connector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
)

func ExampleNewCSV() {
	const data = "email;first_name;city\n" +
		"ann@example.com;Ann;\"Paris; France\"\n" +
		"bob@example.com;Bob;Berlin\n"
	src, err := connector.NewCSV(strings.NewReader(data), connector.CSVConfig{Name: "contacts.csv"})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	header, err := src.Header(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("delimiter:", src.Delimiter(), "encoding:", src.Encoding())
	fmt.Printf("header: %q\n", header)
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("line %d: %q\n", row.Line, row.Cells)
	}
	// Output:
	// delimiter: semicolon encoding: utf-8
	// header: ["email" "first_name" "city"]
	// line 2: ["ann@example.com" "Ann" "Paris; France"]
	// line 3: ["bob@example.com" "Bob" "Berlin"]
}

// A malformed row comes with an *intake.RowError: reject it and read on.
// Any other error is fatal.
func ExampleCSV_Read_rowError() {
	const data = "email,name\n" +
		"ann@example.com,Ann\n" +
		"bob@example.com,Bob,extra\n" +
		"eve@example.com,\"Eve\" Smith\n" +
		"joe@example.com,Joe\n"
	src, err := connector.NewCSV(strings.NewReader(data), connector.CSVConfig{Name: "contacts.csv"})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		var rowErr *intake.RowError
		if errors.As(err, &rowErr) {
			fmt.Printf("skipped line %d: %s (column %q)\n", rowErr.Line, rowErr.Code, rowErr.Column)
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("line %d: %s\n", row.Line, row.Cell(1))
	}
	// Output:
	// line 2: Ann
	// skipped line 3: wrong_field_count (column "")
	// skipped line 4: bad_quote (column "name")
	// line 5: Joe
}

func ExampleOpenCSVFile() {
	dir, err := os.MkdirTemp("", "intake-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "export.txt")
	// Excel's "Unicode text": UTF-16LE with a BOM, tab-separated.
	if err := os.WriteFile(path, []byte("\xff\xfee\x00m\x00a\x00i\x00l\x00\t\x00n\x00\n\x00a\x00@\x00b\x00\t\x00A\x00\n\x00"), 0o600); err != nil {
		log.Fatal(err)
	}
	src, err := connector.OpenCSVFile(path, connector.CSVConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	header, err := src.Header(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, %s: %q\n", src.Encoding(), src.Delimiter(), header)
	for {
		row, err := src.Read(ctx)
		if err != nil {
			break // io.EOF; a real caller handles errors as in the Read example
		}
		read, total := src.Progress()
		fmt.Printf("line %d: %q (%d of %d bytes)\n", row.Line, row.Cells, read, total)
	}
	// Output:
	// utf-16le, tab: ["email" "n"]
	// line 2: ["a@b" "A"] (30 of 30 bytes)
}
