package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
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
	store := memory.New(memory.Config{})
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	importCSV(im, "accounts.csv", "account_id,name\nA-1,Acme\n", importer.Job{Schema: intake.AccountSchema(), Identity: importer.SyncOn("account_id")})
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
	// 2 contacts created; account links: {Found:2 Created:1 Updated:0 Empty:0 Skipped:0 Rejected:0}
	// kim@acme.example → account A-1
	// lee@globex.example → account A-2
}

// Activities are attached to the profile whose email (or contact_id, or
// phone) they carry; event_id makes a re-import skip what is there, and
// the file's other columns are kept as properties.
func ExampleProfileLink() {
	store := memory.New(memory.Config{})
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

// One file carries each contact and its company (HubSpot's multi-object
// import): the account of each domain is created once, with the values of
// the first row that names it, and the contacts link to it; a later file
// updates it. The company's columns are the account's data: the contacts
// do not get them.
func ExampleLink_multiObject() {
	store := memory.New(memory.Config{})
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	job := importer.Job{Links: []importer.Link{{
		Field:   "company_domain", // the reference, kept on the contact
		Object:  intake.ObjectAccount,
		Key:     intake.Keys("domain"),
		Fields:  map[string]string{"company_name": "name", "company_type": "type"},
		Missing: importer.MissingCreate, // an unknown domain creates its account
		Update:  true,                   // a known one is updated (an empty cell changes nothing)
	}}}
	rep := importCSV(im, "contacts.csv", "email,company_domain,company_name,company_type\n"+
		"kim@acme.example,acme.example,Acme,customer\n"+
		"lee@acme.example,acme.example,,\n"+
		"max@globex.example,globex.example,Globex,partner\n", job)
	fmt.Printf("contacts %d created; accounts %+v\n", rep.Created, *rep.Objects[intake.ObjectAccount])
	rep = importCSV(im, "changes.csv", "email,company_domain,company_name,company_type\n"+
		"kim@acme.example,acme.example,,partner\n", job)
	fmt.Printf("contacts %d unchanged; accounts %+v\n", rep.Unchanged, *rep.Objects[intake.ObjectAccount])

	store.Scan(context.Background(), intake.AccountSchema(), func(r *intake.Record) error {
		fmt.Println("account", r.Get("domain"), r.Get("name"), r.Get("type"))
		return nil
	})
	contacts, _ := store.Schema(context.Background(), intake.ObjectContact)
	fmt.Println("contact fields:", strings.Join(contacts.Names()[len(intake.ContactSchema().Names()):], ", "))
	// Output:
	// contacts 3 created; accounts {Created:2 Updated:0 Unchanged:1}
	// contacts 1 unchanged; accounts {Created:0 Updated:1 Unchanged:0}
	// account acme.example Acme partner
	// account globex.example Globex partner
	// contact fields: company_domain, account_record_id
}

// A column of list names makes each contact a member of those lists:
// the lists' record ids go to list_record_ids, in the order of the names,
// and an unknown list is created once.
func ExampleLink_many() {
	store := memory.New(memory.Config{})
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	lists := intake.MustSchema("list", intake.Field{Name: "name", Type: intake.TypeText})
	importCSV(im, "lists.csv", "name\ngold\nvip\n", importer.Job{Schema: lists, Identity: importer.SyncOn("name")})
	rep := importCSV(im, "contacts.csv", "email,lists\n"+
		"kim@acme.example,VIP; gold\n"+ // split on ";" (else "|", else ",")
		"lee@acme.example,gold;platinum;Platinum\n", importer.Job{
		Links: []importer.Link{{Field: "lists", Object: "list", Schema: lists, Key: intake.Keys("name"), Many: true, Missing: importer.MissingCreate}},
	})
	fmt.Printf("lists: %+v\n", *rep.Objects["list"])

	names := map[string]string{} // record id → name
	store.Scan(context.Background(), lists, func(r *intake.Record) error {
		names[r.ID] = r.Get("name").String()
		return nil
	})
	contacts, _ := store.Schema(context.Background(), intake.ObjectContact)
	store.Scan(context.Background(), contacts, func(r *intake.Record) error {
		var member []string
		for _, id := range r.Get("list_record_ids").Items() {
			member = append(member, names[id])
		}
		fmt.Println(r.Get("email"), "→", strings.Join(member, ", "))
		return nil
	})
	// Output:
	// lists: {Created:1 Updated:0 Unchanged:3}
	// kim@acme.example → vip, gold
	// lee@acme.example → gold, platinum
}

// A contact file's account_id links to the store's accounts without a
// Link (Job.AccountLink): a contact of an unknown account keeps its
// reference, with an empty link. The report names the columns no field
// takes, and a job whose sync fields no column fills fails before its
// first row.
func ExampleJob_accountLink() {
	store := memory.New(memory.Config{})
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	importCSV(im, "accounts.csv", "account_id,name\nA-1,Acme\n", importer.Job{Schema: intake.AccountSchema(), Identity: importer.SyncOn("account_id")})
	const contacts = "email,account_id,Notes\nkim@acme.example,A-1,vip\nlee@globex.example,A-2,\n"
	rep := importCSV(im, "contacts.csv", contacts, importer.Job{})
	fmt.Printf("%d contacts created; account links: %+v; ignored columns: %v\n", rep.Created, *rep.Links["account_id"], rep.Source.Ignored)

	linked, _ := store.Schema(context.Background(), intake.ObjectContact)
	store.Scan(context.Background(), linked, func(r *intake.Record) error {
		fmt.Printf("%s: account_id %s, linked %t\n", r.Get("email"), r.Get("account_id"), !r.Get("account_record_id").IsNull())
		return nil
	})

	src, _ := connector.NewCSV(strings.NewReader(contacts), connector.CSVConfig{Name: "contacts.csv"})
	_, err = im.Run(context.Background(), importer.Job{Source: src, Identity: importer.SyncOn("phone")})
	fmt.Println(errors.Is(err, importer.ErrKeyNotMapped))
	// Output:
	// 2 contacts created; account links: {Found:1 Created:0 Updated:0 Empty:1 Skipped:0 Rejected:0}; ignored columns: [Notes]
	// kim@acme.example: account_id A-1, linked true
	// lee@globex.example: account_id A-2, linked false
	// true
}
