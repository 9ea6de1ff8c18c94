package importer_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
)

// importCSV runs job on the CSV text data and panics on failure.
func importCSV(im *importer.Importer, name, data string, job importer.Job) *importer.Report {
	src, err := connector.NewCSV(strings.NewReader(data), connector.CSVConfig{Name: name})
	if err != nil {
		panic(err)
	}
	job.Source = src
	rep, err := im.Run(context.Background(), job)
	if err != nil {
		panic(err)
	}
	return rep
}

// A contact's account_id names its account by the account's own key; the
// link stores the account's record id in account_record_id.
func ExampleLink() {
	store := sink.NewMemory(sink.MemoryConfig{})
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	importCSV(im, "accounts.csv", "account_id,name\nA-1,Acme\n", importer.Job{Schema: intake.AccountSchema(), Sync: intake.Keys("account_id")})
	rep := importCSV(im, "contacts.csv", "email,account_id\nkim@acme.example,A-1\nlee@globex.example,A-2\n", importer.Job{
		Links: []importer.Link{{Field: "account_id", Object: intake.ObjectAccount, Missing: importer.MissingCreate}},
	})
	fmt.Printf("%d contacts created; account links: %+v\n", rep.Created, *rep.Links["account_id"])

	accounts := map[string]string{} // record id → account_id
	store.Scan(context.Background(), intake.AccountSchema(), func(r *intake.Record) error {
		accounts[r.ID] = r.Get("account_id").String()
		return nil
	})
	linked, _ := store.Schema(context.Background(), intake.ObjectContact) // the contact schema with the link fields
	store.Scan(context.Background(), linked, func(r *intake.Record) error {
		fmt.Println(r.Get("email"), "→ account", accounts[r.Get("account_record_id").String()])
		return nil
	})
	// Output:
	// 2 contacts created; account links: {Found:2 Created:1 Empty:0 Skipped:0 Rejected:0}
	// kim@acme.example → account A-1
	// lee@globex.example → account A-2
}

// Activities are attached to the profile whose email (or contact_id, or
// phone) they carry; event_id makes a re-import skip what is there, and
// the file's other columns are kept as properties.
func ExampleProfileLink() {
	store := sink.NewMemory(sink.MemoryConfig{})
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	importCSV(im, "contacts.csv", "email\nkim@acme.example\n", importer.Job{})
	const events = "event_id,email,type,Page URL\n" +
		"e1,kim@acme.example,page_view,/pricing\n" +
		"e2,ghost@acme.example,page_view,/\n"
	for range 2 {
		rep := importCSV(im, "events.csv", events, importer.Job{
			Schema:       intake.ActivitySchema(),
			Profile:      &importer.ProfileLink{}, // by email, else contact_id, else phone; unknown profiles rejected
			KeepUnmapped: true,
		})
		fmt.Println(rep.Created, "created,", rep.Skipped, "skipped,", rep.Rejected, "rejected:", rep.Errors[0].Code)
	}
	// Output:
	// 1 created, 0 skipped, 1 rejected: unknown_profile
	// 0 created, 1 skipped, 1 rejected: unknown_profile
}
