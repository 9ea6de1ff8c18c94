package sqlsource_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"

	_ "modernc.org/sqlite"

	"github.com/intakehq/intake/connector/sqlsource"
)

func ExampleNew() {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE customers (email TEXT, points INTEGER, balance REAL, since DATE);
		INSERT INTO customers VALUES ('ann@example.com', 120, 0.1, '2020-02-29'), ('bob@example.com', NULL, 12.5, NULL)`); err != nil {
		log.Fatal(err)
	}
	src, err := sqlsource.New(ctx, db, sqlsource.Config{
		Query: "SELECT email, points, balance, since FROM customers WHERE balance > ? ORDER BY email",
		Args:  []any{0},
		Name:  "crm.customers",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	header, _ := src.Header(ctx)
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
	// header: ["email" "points" "balance" "since"]
	// line 2: ["ann@example.com" "120" "0.1" "2020-02-29"]
	// line 3: ["bob@example.com" "" "12.5" ""]
}
