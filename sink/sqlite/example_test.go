package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/sqlite"
)

// contacts returns create ops for two contacts.
func contacts() []*sink.Op {
	s := intake.ContactSchema()
	var ops []*sink.Op
	for i, email := range []string{"ada@example.com", "grace@example.com"} {
		r := intake.NewRecord(s)
		r.ID = fmt.Sprintf("c-%d", i+1)
		r.Set("email", intake.Text(email))
		r.Set("country", intake.Text("GB"))
		ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: r})
	}
	return ops
}

func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "intake-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	db, err := sqlite.Open(ctx, filepath.Join(dir, "intake.db"), sqlite.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if _, err := db.Write(ctx, contacts()); err != nil {
		fmt.Println(err)
		return
	}
	ids, err := db.Lookup(ctx, intake.ContactSchema(), intake.Keys("email"), []intake.Key{"ada@example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ada:", ids["ada@example.com"])

	// Every record, oldest first.
	err = db.Scan(ctx, intake.ContactSchema(), func(r *intake.Record) error {
		fmt.Println(r.ID, r.Get("email"), r.Get("country"), r.OptedOut)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// ada: [c-1]
	// c-1 ada@example.com GB false
	// c-2 grace@example.com GB false
}
