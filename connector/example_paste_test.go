package connector_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/intakehq/intake/connector"
)

// Rows pasted from a spreadsheet: tab-separated, no header, a cell with a
// line break quoted as Excel quotes it.
func ExampleNewPaste() {
	const clipboard = "ann@example.com\tAnn\t\"12 Main St\nApt 3\"\r\n" +
		"bob@example.com\tBob\t\r\n"
	src, err := connector.NewPaste(strings.NewReader(clipboard), connector.PasteConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	header, _ := src.Header(ctx)
	fmt.Println("header:", header)
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
	// header: []
	// line 1: ["ann@example.com" "Ann" "12 Main St\nApt 3"]
	// line 3: ["bob@example.com" "Bob" ""]
}
