package importer_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
)

func ExampleImporter_Run() {
	ctx := context.Background()
	store := memory.New(memory.Config{}) // or sqlite.Open(ctx, "intake.db", sqlite.Config{})
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
	rep, err := im.Run(ctx, importer.Job{Source: src, Action: identity.AddAndUpdate, Identity: importer.SyncOn("email")})
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

// A dry run that explains its decisions: identity rules (contact_id, else
// email), a survivorship rule that only fills empty fields, consent with the
// opt-out guard, and a list every record joins.
func ExampleJob_explain() {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	run := func(file string, job importer.Job) *importer.Report {
		src, err := connector.NewCSV(strings.NewReader(file), connector.CSVConfig{Name: "contacts.csv"})
		if err != nil {
			panic(err)
		}
		job.Source = src
		job.Identity = importer.Rules(intake.Keys("contact_id"), intake.Keys("email"))
		job.Consent = []identity.Channel{{Name: "email"}}
		rep, err := im.Run(ctx, job)
		if err != nil {
			panic(err)
		}
		return rep
	}
	run("contact_id,email,city,email consent\nC-1,anna@example.de,,opted_out\n", importer.Job{})

	rep := run("contact_id,email,city,email consent\n,ANNA@example.de,Berlin,opted_in\nC-2,ben@example.de,Köln,\n", importer.Job{
		DryRun:      true,
		Explain:     10,
		Merge:       identity.MergePolicy{Default: identity.MergeFillEmpty},
		Memberships: []importer.Membership{{Field: "lists", Values: []string{"newsletter"}}},
	})
	for _, x := range rep.Explain {
		fmt.Printf("line %d: %s by %s %q\n", x.Line, x.Decision, x.Rule, x.Key)
		for _, c := range x.Changes {
			fmt.Printf("  %s: %q → %q\n", c.Field, c.Old, c.New)
		}
	}
	fmt.Println("opt-outs kept:", rep.ConsentKept)
	// Output:
	// line 2: update by email "anna@example.de"
	//   city: "" → "Berlin"
	//   lists: "" → "newsletter"
	// line 3: create by contact_id "C-2"
	//   contact_id: "" → "C-2"
	//   email: "" → "ben@example.de"
	//   city: "" → "Köln"
	//   lists: "" → "newsletter"
	// opt-outs kept: 1
}
