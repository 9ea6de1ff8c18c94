package sinktest

import (
	"maps"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// testSchemaMeta checks that the sink keeps each field's
// [intake.Field.Meta] with the schema it stores and gives it back from
// Schema: a schema's Meta is taken (the whole map, replacing the stored
// one), a schema without Meta leaves the stored one, Meta on a field of
// the default schema is kept too, a map Schema returned cannot change
// the store, and a record is written and read back as it is (the
// attributes change nothing). With Features.Reopen, another handle on
// the store gives the same Meta back.
func testSchemaMeta(k *kit) {
	t := k.t
	sr := k.s.(sink.SchemaReader)
	acoustic := map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}
	later := map[string]string{"acoustic_default": "12/31/1999", "note": `Zürich "HQ" ✓`}
	work := map[string]string{"crm.label": "E-Mail (work)"}
	// contactWith returns the contact schema and member_since (a date),
	// with meta by field name.
	contactWith := func(meta map[string]map[string]string) *intake.Schema {
		fields := append(contact.Fields(), intake.Field{Name: "member_since", Type: intake.TypeDate})
		for i := range fields {
			fields[i].Meta = meta[fields[i].Name]
		}
		return intake.MustSchema(intake.ObjectContact, fields...)
	}
	// metaOf returns the Meta of every field of sr's contact schema that
	// has some.
	metaOf := func(sr sink.SchemaReader) map[string]map[string]string {
		t.Helper()
		s, err := sr.Schema(k.ctx(), intake.ObjectContact)
		require.NoError(t, err)
		require.NotNil(t, s, "Schema of an object type written to")
		out := map[string]map[string]string{}
		for _, f := range s.Fields() {
			if len(f.Meta) > 0 {
				out[f.Name] = f.Meta
			}
		}
		return out
	}
	var want map[string]map[string]string
	for i, step := range []struct {
		name string
		meta map[string]map[string]string // of the run's schema
		want map[string]map[string]string // stored
	}{
		{"a new field with meta", map[string]map[string]string{"member_since": acoustic},
			map[string]map[string]string{"member_since": acoustic}},
		{"a schema without meta keeps the stored one", nil,
			map[string]map[string]string{"member_since": acoustic}},
		{"other meta replaces the whole map", map[string]map[string]string{"member_since": later},
			map[string]map[string]string{"member_since": later}},
		{"meta on a field of the default schema", map[string]map[string]string{"email": work},
			map[string]map[string]string{"member_since": later, "email": work}},
	} {
		s := contactWith(step.meta)
		k.ensure(s)
		r := intake.NewRecord(s)
		r.ID = "meta" + string(rune('0'+i))
		r.Set("email", intake.Text(r.ID+"@example.com"))
		k.write(create(r))
		require.Equal(t, step.want, metaOf(sr), "step %d: %s", i, step.name)
		if k.readable() {
			got := k.getIn(s, r.ID)[r.ID]
			require.NotNil(t, got, "step %d: record %s", i, r.ID)
			require.True(t, got.Get("member_since").IsNull(), "step %d: Meta is never written into records (member_since is %v)", i, got.Get("member_since"))
			require.Equal(t, r.ID+"@example.com", got.Get("email").Str(), "step %d", i)
		}
		want = step.want
	}

	// A map that Schema returned is the caller's.
	s, err := sr.Schema(k.ctx(), intake.ObjectContact)
	require.NoError(t, err)
	f := s.Field(s.Index("member_since"))
	f.Meta["acoustic_default"] = "changed"
	maps.DeleteFunc(f.Meta, func(string, string) bool { return true })
	require.Equal(t, want, metaOf(sr), "changing a map Schema returned changes the stored schema")

	if k.f.Reopen == nil {
		return
	}
	h := k.f.Reopen(t, k.s)
	require.NotNil(t, h, "Features.Reopen returned a nil sink")
	hr, ok := h.(sink.SchemaReader)
	require.True(t, ok, "Features.Reopen returned a %T, which is no sink.SchemaReader", h)
	require.Equal(t, want, metaOf(hr), "another handle on the store")
}
