package mapping_test

import (
	"fmt"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
)

// A spec that defines a custom object type, tickets, keyed by ticket_no and
// linked to the contact whose email a ticket names. ObjectSchema builds the
// type's schema from "fields"; Against gives the spec to compile against
// it; the object section's key and links configure the import.
func ExampleSpec_ObjectSchema() {
	spec, err := mapping.LoadSpec(strings.NewReader(`{
		"object":  {"name": "ticket", "key": ["ticket_no"],
		            "links": [{"field": "contact_email", "object": "contact", "key": "email", "missing": "reject"}]},
		"fields":  [{"name": "ticket_no", "type": "id"},
		            {"name": "status", "type": "select", "options": ["open", "closed"]},
		            {"name": "contact_email", "type": "email"}],
		"columns": [{"source": "Ticket", "field": "ticket_no"},
		            {"source": "Status", "field": "status"},
		            {"source": "Customer", "field": "contact_email"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	schema, err := spec.ObjectSchema()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(schema.Object(), schema.Names(), "key", spec.Object.KeySpec().Name())
	for _, l := range spec.Object.Links {
		fmt.Printf("link %s -> %s.%s (missing: %s)\n", l.Field, l.Object, l.Key, l.Missing)
	}

	bound, err := spec.Against(schema)
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := mapping.Compile(bound, schema, []string{"Ticket", "Status", "Customer"}, mapping.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := intake.NewRecord(plan.Schema())
	if err := plan.Map(intake.Row{Line: 2, Cells: []string{"T-1", "Open", "Kim@Example.com"}}, rec); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Get("ticket_no"), rec.Get("status"), rec.Get("contact_email"))

	// A key that the type does not have is an error naming its JSON path.
	_, err = mapping.LoadSpec(strings.NewReader(`{"object": {"name": "ticket", "key": ["ticket_nr"]},
		"fields": [{"name": "ticket_no", "type": "id"}], "columns": []}`))
	fmt.Println(err)
	// Output:
	// ticket [ticket_no status contact_email] key ticket_no
	// link contact_email -> contact.email (missing: reject)
	// T-1 open kim@example.com
	// mapping: object.key[0]: "ticket_nr" is not a field of ticket (did you mean "ticket_no"?) (fields: ticket_no): name one of them, or declare it in "fields"
}
