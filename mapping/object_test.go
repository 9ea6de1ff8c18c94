package mapping

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
)

const ticketSpec = `{"object": {"name": "ticket", "key": ["ticket_no"],
            "links": [{"field": "contact_email", "object": "contact", "key": "email", "missing": "reject"}]},
 "fields":  [{"name": "ticket_no", "type": "id"},
             {"name": "subject", "type": "text"},
             {"name": "status", "type": "select", "options": ["open", "closed"]},
             {"name": "contact_email", "type": "email"}],
 "columns": [{"source": "Ticket", "field": "ticket_no"},
             {"source": "Subject", "field": "subject"},
             {"source": "Status", "field": "status"},
             {"source": "Customer", "field": "contact_email"}]}`

// setupObject loads ticketSpec.
func setupObject(t *testing.T) *Spec {
	t.Helper()
	s, err := LoadSpec(strings.NewReader(ticketSpec))
	require.NoError(t, err)
	return s
}

func TestObjectSectionLoadsAndSaves(t *testing.T) {
	t.Parallel()
	s := setupObject(t)
	require.NotNil(t, s.Object)
	assert.Equal(t, "ticket", s.ObjectType())
	assert.Equal(t, intake.Keys("ticket_no"), s.Object.KeySpec())
	assert.Equal(t, []LinkSpec{{Field: "contact_email", Object: "contact", Key: "email", Missing: "reject"}}, s.Object.Links)

	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	again, err := LoadSpec(&buf)
	require.NoError(t, err)
	assert.Equal(t, s, again, "load, save and load give an equal spec")

	// A multi-object link and a many-to-many one round-trip too.
	multi, err := LoadSpec(strings.NewReader(`{"object": {"name": "contact", "key": ["email"], "links": [
		{"field": "company_domain", "object": "account", "key": "domain", "missing": "create", "update": true,
		 "fields": {"company_name": "name", "company_type": "type"}},
		{"field": "lists", "object": "list", "key": "name", "many": true, "missing": "empty", "fields": {}}]},
		"columns": [{"source": "E-Mail", "field": "email"}]}`))
	require.NoError(t, err)
	require.Len(t, multi.Object.Links, 2)
	assert.Equal(t, LinkSpec{Field: "company_domain", Object: "account", Key: "domain", Missing: "create", Update: true,
		Fields: map[string]string{"company_name": "name", "company_type": "type"}}, multi.Object.Links[0])
	assert.Equal(t, LinkSpec{Field: "lists", Object: "list", Key: "name", Many: true, Missing: "empty"}, multi.Object.Links[1], "an empty map loads as nil")
	buf.Reset()
	require.NoError(t, multi.Save(&buf))
	again, err = LoadSpec(&buf)
	require.NoError(t, err)
	assert.Equal(t, multi, again)

	// A spec without the section saves without it and imports contacts.
	plain, err := LoadSpec(strings.NewReader(`{"columns": [{"source": "E-Mail", "field": "email"}]}`))
	require.NoError(t, err)
	assert.Nil(t, plain.Object)
	assert.Equal(t, intake.ObjectContact, plain.ObjectType())
	assert.Equal(t, intake.KeySpec{}, plain.Object.KeySpec(), "a nil section has no key")
	buf.Reset()
	require.NoError(t, plain.Save(&buf))
	assert.NotContains(t, buf.String(), "object")

	// A spec of version 1 with the section loads, and its empty lists load
	// as nil.
	v1, err := LoadSpec(strings.NewReader(`{"version": 1, "object": {"name": "account", "key": [], "links": []}, "columns": []}`))
	require.NoError(t, err)
	assert.Equal(t, &ObjectSpec{Name: "account"}, v1.Object)
}

func TestObjectSectionErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, spec string
		want       []string
	}{
		{"no name", `{"object": {"key": ["x"]}, "columns": []}`, []string{`object.name is empty`}},
		{"bad name", `{"object": {"name": "Ticket"}, "fields": [{"name": "x", "type": "text"}], "columns": []}`, []string{`object.name "Ticket": an object type is lower-case`}},
		{"key not a field", `{"object": {"name": "ticket", "key": ["ticket_nr"]}, "fields": [{"name": "ticket_no", "type": "id"}], "columns": []}`,
			[]string{`object.key[0]: "ticket_nr" is not a field of ticket (did you mean "ticket_no"?) (fields: ticket_no)`}},
		{"key of a default type", `{"object": {"name": "account", "key": ["account_id", "vat_no"]}, "columns": []}`,
			[]string{`object.key[1]: "vat_no" is not a field of account`}},
		{"empty key", `{"object": {"name": "account", "key": [" "]}, "columns": []}`, []string{`object.key[0] is empty: name a field of account`}},
		{"key twice", `{"object": {"name": "account", "key": ["name", "name"]}, "columns": []}`, []string{`object.key[1]: "name" is named twice`}},
		{"md5 of two fields", `{"object": {"name": "contact", "key": ["email", "phone"], "md5": true}, "columns": []}`, []string{`object.md5: an MD5 key hashes exactly one field`}},
		{"bad email rules", `{"object": {"name": "contact", "key": ["email"], "email_rules": "gmail"}, "columns": []}`, []string{`object.email_rules "gmail": use "provider"`}},
		{"email rules without email", `{"object": {"name": "account", "key": ["name"], "email_rules": "provider"}, "columns": []}`, []string{`object.email_rules "provider" applies to email fields`}},
		{"link without field and object", `{"object": {"name": "contact", "links": [{}]}, "columns": []}`,
			[]string{`object.links[0].field is empty`, `object.links[0].object is empty`}},
		{"bad policy", `{"object": {"name": "contact", "links": [{"field": "account_id", "object": "account", "missing": "ignore"}]}, "columns": []}`,
			[]string{`object.links[0].missing "ignore": use reject, skip, empty or create`}},
		{"link twice", `{"object": {"name": "contact", "links": [{"field": "account_id", "object": "account"}, {"field": "account_id", "object": "account", "key": "name"}]}, "columns": []}`,
			[]string{`object.links[1].field "account_id" is linked by object.links[0] already`}},
		{"bad names in a link", `{"object": {"name": "contact", "links": [{"field": "Account", "object": "Firm", "key": "Name", "id_field": "firm id"}]}, "columns": []}`,
			[]string{`object.links[0].field "Account"`, `object.links[0].object "Firm"`, `object.links[0].key "Name"`, `object.links[0].id_field "firm id"`}},
		{"id field is the reference", `{"object": {"name": "contact", "links": [{"field": "account_id", "object": "account", "id_field": "account_id"}]}, "columns": []}`,
			[]string{`object.links[0].id_field "account_id" is the reference field itself`}},
		{"stub of its own type", `{"object": {"name": "account", "links": [{"field": "parent_id", "object": "account", "key": "account_id", "missing": "create"}]}, "columns": []}`,
			[]string{`object.links[0].missing "create": the target is of type account, which this spec imports`}},
		{"bad carried fields", `{"object": {"name": "contact", "links": [{"field": "company_domain", "object": "account", "key": "domain",
			"fields": {"Company": "name", "company_domain": "name", "company_size": "Size", "company_site": "domain"}}]}, "columns": []}`,
			[]string{`object.links[0].fields: "Company": a field name`, `object.links[0].fields.company_domain: the reference field carries the target's key`,
				`object.links[0].fields.company_size: "Size": name a field of account`, `object.links[0].fields.company_site: "domain" is the key of account, which the reference sets`}},
		{"many with fields", `{"object": {"name": "contact", "links": [{"field": "lists", "object": "list", "key": "name", "many": true, "fields": {"list_owner": "owner"}}]}, "columns": []}`,
			[]string{`object.links[0]: a "many" link holds several references and carries no target data`}},
		{"update without fields", `{"object": {"name": "contact", "links": [{"field": "account_id", "object": "account", "update": true}]}, "columns": []}`,
			[]string{`object.links[0].update: updates a found target with the row's carried values: name them in "fields"`}},
		{"unknown key", `{"object": {"name": "ticket", "match": ["x"]}, "columns": []}`, []string{`unknown field "match"`}},
		{"wrong type", `{"object": {"name": "ticket", "key": "ticket_no"}, "columns": []}`, []string{`object.key: want a []string`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadSpec(strings.NewReader(tc.spec))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestObjectSchema(t *testing.T) {
	t.Parallel()
	s := setupObject(t)
	schema, err := s.ObjectSchema()
	require.NoError(t, err)
	assert.Equal(t, "ticket", schema.Object())
	assert.Equal(t, []string{"ticket_no", "subject", "status", "contact_email"}, schema.Names(), "a custom type's fields are the spec's, in order")
	assert.Equal(t, []string{"open", "closed"}, schema.Field(2).Options)

	// A default type: its schema extended by the spec's fields.
	acc, err := LoadSpec(strings.NewReader(`{"object": {"name": "account", "key": ["domain"]}, "fields": [{"name": "vat_no", "type": "id"}], "columns": []}`))
	require.NoError(t, err)
	schema, err = acc.ObjectSchema()
	require.NoError(t, err)
	assert.Equal(t, append(intake.AccountSchema().Names(), "vat_no"), schema.Names())

	// No section: contacts.
	plain := &Spec{Fields: []FieldSpec{{Name: "tier", Type: intake.TypeText}}}
	schema, err = plain.ObjectSchema()
	require.NoError(t, err)
	assert.Equal(t, append(intake.ContactSchema().Names(), "tier"), schema.Names())

	// Problems that need the fields' types: a key option, a built-in field
	// declared again, a field declared twice.
	for _, tc := range []struct {
		spec *Spec
		want string
	}{
		{&Spec{Object: &ObjectSpec{Name: "ticket", Key: []string{"ticket_no"}, MD5: true}, Fields: []FieldSpec{{Name: "ticket_no", Type: intake.TypeID}}}, ""},
		{&Spec{Object: &ObjectSpec{Name: "ticket", Key: []string{"no", "no2"}, MD5: true}, Fields: []FieldSpec{{Name: "no", Type: intake.TypeID}, {Name: "no2", Type: intake.TypeID}}}, "object.key: key md5(no+no2)"},
		{&Spec{Object: &ObjectSpec{Name: "account"}, Fields: []FieldSpec{{Name: "domain", Type: intake.TypeText}}}, `custom field "domain" is already a field of account`},
		{&Spec{Object: &ObjectSpec{Name: "ticket"}, Fields: []FieldSpec{{Name: "a", Type: intake.TypeText}, {Name: "a", Type: intake.TypeID}}}, `custom field "a" is declared twice`},
		{&Spec{Object: &ObjectSpec{Name: "ticket"}, Fields: []FieldSpec{{Name: "A b", Type: intake.TypeText}}}, `field name "A b"`},
		{&Spec{Object: &ObjectSpec{Name: "ticket"}}, `ticket is a custom object type: declare its fields`},
	} {
		_, err := tc.spec.ObjectSchema()
		if tc.want == "" {
			assert.NoError(t, err)
			continue
		}
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestMergeSchemaAndAgainst(t *testing.T) {
	t.Parallel()
	s := setupObject(t)
	// What a store holds after an earlier import: the spec's fields, a
	// link's record-id field, and a field that the spec does not declare.
	stored := intake.MustSchema("ticket",
		intake.Field{Name: "ticket_no", Type: intake.TypeID},
		intake.Field{Name: "legacy_ref", Type: intake.TypeText},
		intake.Field{Name: "status", Type: intake.TypeSelect, Options: []string{"open"}, Label: "Old"},
		intake.Field{Name: "contact_record_id", Type: intake.TypeID, Ref: intake.ObjectContact},
	)
	merged, err := s.MergeSchema(stored)
	require.NoError(t, err)
	assert.Equal(t, []string{"ticket_no", "legacy_ref", "status", "contact_record_id", "subject", "contact_email"}, merged.Names(),
		"stored fields in order, then the spec's new ones")
	status := merged.Field(merged.Index("status"))
	assert.Equal(t, []string{"open", "closed"}, status.Options, "the spec's options win")
	assert.Equal(t, "Old", status.Label, "a label the spec leaves out is kept")
	assert.Equal(t, intake.ObjectContact, merged.Field(merged.Index("contact_record_id")).Ref, "what only the store knows is kept")

	// The spec to compile against it declares no field twice, and
	// compiles.
	bound, err := s.Against(merged)
	require.NoError(t, err)
	assert.Nil(t, bound.Fields)
	assert.Equal(t, s.Object, bound.Object)
	assert.NotSame(t, s.Object, bound.Object, "a copy")
	s.Object.Links[0].Fields = map[string]string{"contact_name": "first_name"}
	bound, err = s.Against(merged)
	require.NoError(t, err)
	bound.Object.Links[0].Fields["contact_name"] = "last_name"
	assert.Equal(t, "first_name", s.Object.Links[0].Fields["contact_name"], "a deep copy")
	assert.Len(t, s.Fields, 4, "the spec itself is unchanged")
	plan, err := Compile(bound, merged, []string{"Ticket", "Subject", "Status", "Customer"}, Options{})
	require.NoError(t, err)
	assert.Equal(t, merged.Names(), plan.Schema().Names())
	// Compile also takes the spec itself: the fields merged already has,
	// with the same types, are used as they are.
	plan, err = Compile(s, merged, []string{"Ticket", "Subject", "Status", "Customer"}, Options{})
	require.NoError(t, err)
	assert.Equal(t, merged.Names(), plan.Schema().Names())

	// Against keeps the fields the schema lacks.
	partial, err := s.Against(intake.MustSchema("ticket", intake.Field{Name: "ticket_no", Type: intake.TypeID}))
	require.NoError(t, err)
	require.Len(t, partial.Fields, 3)
	assert.Equal(t, "subject", partial.Fields[0].Name)

	// A field stored with another type, a stored schema of another type.
	clash := intake.MustSchema("ticket", intake.Field{Name: "ticket_no", Type: intake.TypeDecimal})
	_, err = s.MergeSchema(clash)
	assert.ErrorContains(t, err, `custom field "ticket_no" is declared as id, and the store holds it as decimal`)
	_, err = s.Against(clash)
	assert.ErrorContains(t, err, `custom field "ticket_no" is declared as id, and the ticket schema has it as decimal`)
	_, err = s.MergeSchema(intake.AccountSchema())
	assert.ErrorContains(t, err, "the spec imports ticket records, and the stored schema is of account")

	// A custom spec without fields takes them from the store, which
	// checks its key then.
	bare, err := LoadSpec(strings.NewReader(`{"object": {"name": "ticket", "key": ["ticket_no"]}, "columns": [{"source": "Ticket", "field": "ticket_no"}]}`))
	require.NoError(t, err)
	_, err = bare.ObjectSchema()
	assert.ErrorContains(t, err, `ticket is a custom object type: declare its fields in "fields"`)
	merged, err = bare.MergeSchema(stored)
	require.NoError(t, err)
	assert.Equal(t, stored.Names(), merged.Names())
	bare.Object.Key = []string{"ticket_nr"}
	_, err = bare.MergeSchema(stored)
	assert.ErrorContains(t, err, `object.key: sync field "ticket_nr" is not a field of "ticket"`)

	// A stored default type that lacks a default field gets it back.
	old := intake.MustSchema("account", intake.Field{Name: "account_id", Type: intake.TypeID}, intake.Field{Name: "erp_no", Type: intake.TypeID})
	acc := &Spec{Object: &ObjectSpec{Name: "account", Key: []string{"erp_no"}}}
	merged, err = acc.MergeSchema(old)
	require.NoError(t, err)
	assert.Equal(t, []string{"account_id", "erp_no", "name", "domain", "type"}, merged.Names())
	_, err = acc.ObjectSchema()
	assert.ErrorContains(t, err, `object.key: sync field "erp_no" is not a field of "account"`, "without the store, erp_no is unknown")
}

// TestObjectSectionSurvivesCopies checks that the copies a Plan and a
// HeaderDiff make of a spec keep its object section, deeply.
func TestObjectSectionSurvivesCopies(t *testing.T) {
	spec := &Spec{
		Object: &ObjectSpec{Name: "ticket", Key: []string{"ticket_no"},
			Links: []LinkSpec{{Field: "contact_email", Object: "contact", Key: "email"}}},
		Fields:  []FieldSpec{{Name: "ticket_no", Type: intake.TypeID}, {Name: "contact_email", Type: intake.TypeEmail}},
		Columns: []Column{{Source: "No", Field: "ticket_no"}, {Source: "Mail", Field: "contact_email"}},
	}
	schema, err := spec.ObjectSchema()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Compile(spec, schema, []string{"No", "Mail"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	applied := Diff(spec, []string{"Number", "Mail"}).Apply(spec)
	for name, got := range map[string]*Spec{"Plan.Spec": plan.Spec(), "HeaderDiff.Apply": applied} {
		if got.Object == nil || got.Object.Name != "ticket" || len(got.Object.Links) != 1 || got.Object.Key[0] != "ticket_no" {
			t.Fatalf("%s lost the object section: %+v", name, got.Object)
		}
		got.Object.Key[0] = "changed"
		got.Object.Links[0].Field = "changed"
		if spec.Object.Key[0] != "ticket_no" || spec.Object.Links[0].Field != "contact_email" {
			t.Fatalf("%s shares the object section with the original", name)
		}
	}
}
