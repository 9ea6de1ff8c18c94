package sqlite_test

import (
	"context"
	"database/sql"
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

// ExampleNewTable writes contacts into a table the host already has: a
// column per field it maps, custom fields in a JSON column, and a key
// column the host generates itself.
func ExampleNewTable() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "intake-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", filepath.Join(dir, "crm.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE people (
	id        TEXT PRIMARY KEY,
	mail      TEXT,
	mail_key  TEXT GENERATED ALWAYS AS (lower(trim(mail))) VIRTUAL,
	extra     TEXT NOT NULL DEFAULT '{}'
)`)
	if err != nil {
		fmt.Println(err)
		return
	}

	people, err := sqlite.NewTable(ctx, db, intake.ObjectContact, sink.TableMapping{
		Table:       "people",
		Columns:     map[string]string{"email": "mail"},
		JSONBColumn: "extra",
		KeyColumns:  map[string]string{"email": "mail_key"},
		OrderColumn: "rowid",
	}, sqlite.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := people.Write(ctx, contacts()); err != nil {
		fmt.Println(err)
		return
	}
	ids, err := people.Lookup(ctx, intake.ContactSchema(), intake.Keys("email"), []intake.Key{"grace@example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("grace:", ids["grace@example.com"])

	// The host reads its own table.
	rows, err := db.Query(`SELECT id, mail, extra FROM people ORDER BY rowid`)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, mail, extra string
		if err := rows.Scan(&id, &mail, &extra); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(id, mail, extra)
	}
	// Output:
	// grace: [c-2]
	// c-1 ada@example.com {"country":"GB"}
	// c-2 grace@example.com {"country":"GB"}
}
