package importer_test

import (
	"context"
	"fmt"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
)

// An import whose first and last names were swapped is taken back by its
// run id: the contact it created is removed, the one it changed gets its
// names back.
func ExampleImporter_Undo() {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	defer store.Close()
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	importCSV(im, "contacts.csv", "email,first_name,last_name\nkim@example.com,Kim,Lee\n", importer.Job{})
	wrong := importCSV(im, "swapped.csv", "email,first_name,last_name\nkim@example.com,Lee,Kim\nsam@example.com,Ray,Sam\n", importer.Job{})
	fmt.Printf("run: %d created, %d updated, undoable %v\n", wrong.Created, wrong.Updated, wrong.Undoable)

	undo, err := im.Undo(ctx, importer.UndoJob{RunID: wrong.RunID, Reason: "first and last names swapped"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("undo: %d reverted, %d restored, %d conflicts, %s\n", undo.Reverted, undo.Restored, undo.Conflicted, undo.State)
	store.Scan(ctx, intake.ContactSchema(), func(r *intake.Record) error {
		fmt.Println(r.Get("email"), r.Get("first_name"), r.Get("last_name"))
		return nil
	})
	// Output:
	// run: 1 created, 1 updated, undoable true
	// undo: 1 reverted, 1 restored, 0 conflicts, undone
	// kim@example.com Kim Lee
}
