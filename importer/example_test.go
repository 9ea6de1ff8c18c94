package importer_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
)

func ExampleImporter_Run() {
	ctx := context.Background()
	store := sink.NewMemory(sink.MemoryConfig{}) // or sink.OpenSQLite(ctx, "intake.db", sink.SQLiteConfig{})
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	file := `E-Mail;First Name;Date of Birth
anna@example.de;Anna;1985-03-14
ANNA@example.de;Anna-Lena;
bad-address;Bob;1990-01-01
`
	src, err := connector.NewCSV(strings.NewReader(file), connector.CSVConfig{Name: "contacts.csv"})
	if err != nil {
		panic(err)
	}
	rep, err := im.Run(ctx, importer.Job{Source: src, Action: intake.ActionAddAndUpdate, Sync: intake.Keys("email")})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Status, rep.Rows, "rows:", rep.Created, "created,", rep.Updated, "updated,", rep.Rejected, "rejected")
	for _, e := range rep.Errors {
		fmt.Println(e)
	}
	// Output:
	// succeeded 3 rows: 1 created, 1 updated, 1 rejected
	// contacts.csv:4: column "E-Mail" (field email) invalid_email: "bad-address" is not an email address
}

func ExampleRejectWriter() {
	w := importer.NewRejectWriter(os.Stdout, []string{"E-Mail", "City"})
	_ = w.Write(intake.Row{Line: 7, Cells: []string{"not-an-email", "Accra"}},
		&intake.RowError{Line: 7, Column: "E-Mail", Field: "email", Code: intake.CodeInvalidEmail, Message: "not an email address"})
	_ = w.Flush()
	// Output:
	// error_line,error_code,error_column,error_field,error_message,E-Mail,City
	// 7,invalid_email,E-Mail,email,not an email address,not-an-email,Accra
}
