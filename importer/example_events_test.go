package importer_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
)

// A hook that follows a run: a progress display, a live run record or a
// log reads the same events.
func ExampleEvent() {
	hook := func(e importer.Event) {
		switch e.Kind {
		case importer.RunStarted:
			fmt.Printf("%s: started, %d bytes to read\n", e.Job, e.BytesTotal)
		case importer.BatchCommitted:
			fmt.Printf("%s: lines %d-%d committed, %d rows so far (%d created, %d rejected)\n",
				e.Job, e.FirstLine, e.LastLine, e.Counts.Rows, e.Counts.Created, e.Counts.Rejected)
		case importer.RunFinished:
			frac, _ := e.Fraction()
			fmt.Printf("%s: %s, %d rows, %.0f%% of the file read, error: %v\n", e.Job, e.Report.Status, e.Counts.Rows, 100*frac, e.Err)
		}
	}
	im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{}), BatchSize: 2, Events: hook})
	if err != nil {
		panic(err)
	}
	file := "email,city\nanna@example.com,Berlin\nben@example.com,Oslo\nnot-an-email,Rome\ncleo@example.com,Lyon\ndan@example.com,Porto\n"
	src, err := connector.NewCSV(strings.NewReader(file), connector.CSVConfig{Name: "contacts.csv", Size: int64(len(file))})
	if err != nil {
		panic(err)
	}
	if _, err := im.Run(context.Background(), importer.Job{Name: "contacts", Source: src}); err != nil {
		panic(err)
	}
	// Output:
	// contacts: started, 118 bytes to read
	// contacts: lines 2-3 committed, 2 rows so far (2 created, 0 rejected)
	// contacts: lines 4-5 committed, 4 rows so far (3 created, 1 rejected)
	// contacts: lines 6-6 committed, 5 rows so far (4 created, 1 rejected)
	// contacts: succeeded, 5 rows, 100% of the file read, error: <nil>
}
