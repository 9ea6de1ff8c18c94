package intake_test

import (
	"fmt"
	"testing"

	"github.com/intakehq/intake"
)

func TestDefaultSchemas(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		object string
		schema *intake.Schema
		fields []string
	}{
		{intake.ObjectContact, intake.ContactSchema(), []string{"contact_id", "email", "phone", "first_name", "last_name", "birthday", "country", "city", "lifetime_value"}},
		{intake.ObjectAccount, intake.AccountSchema(), []string{"account_id", "name", "domain", "type"}},
		{intake.ObjectActivity, intake.ActivitySchema(), []string{"email", "contact_id", "phone", "type", "occurred_at", "event_id"}},
	} {
		if got := intake.DefaultSchema(tc.object); got != tc.schema {
			t.Errorf("DefaultSchema(%q) is not the object's schema", tc.object)
		}
		if tc.schema.Object() != tc.object {
			t.Errorf("schema object %q, want %q", tc.schema.Object(), tc.object)
		}
		if fmt.Sprint(tc.schema.Names()) != fmt.Sprint(tc.fields) {
			t.Errorf("%s fields %v, want %v", tc.object, tc.schema.Names(), tc.fields)
		}
	}
	if intake.DefaultSchema("ticket") != nil {
		t.Error("DefaultSchema of a custom object type is not nil")
	}
	// The activity's profile keys have the contact's types, so that a key
	// computed on an activity finds the contact.
	c, a := intake.ContactSchema(), intake.ActivitySchema()
	for _, f := range []string{"email", "contact_id", "phone"} {
		if c.Field(c.Index(f)).Type != a.Field(a.Index(f)).Type {
			t.Errorf("field %s: contact and activity types differ", f)
		}
	}
}

func ExampleAccountSchema() {
	s := intake.AccountSchema()
	for _, f := range s.Fields() {
		fmt.Println(f.Name, f.Type)
	}
	// Output:
	// account_id id
	// name text
	// domain text
	// type text
}

func ExampleActivitySchema() {
	s := intake.ActivitySchema()
	for _, f := range s.Fields() {
		fmt.Println(f.Name, f.Type)
	}
	// Output:
	// email email
	// contact_id id
	// phone phone
	// type text
	// occurred_at timestamp
	// event_id id
}

func ExampleDefaultSchema() {
	for _, object := range []string{"contact", "account", "activity", "ticket"} {
		s := intake.DefaultSchema(object)
		if s == nil {
			fmt.Println(object, "has no default schema")
			continue
		}
		fmt.Println(object, s.Len(), "fields")
	}
	// Output:
	// contact 9 fields
	// account 4 fields
	// activity 6 fields
	// ticket has no default schema
}
