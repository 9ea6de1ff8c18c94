package mapping

import (
	"bytes"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// metaSpec declares custom fields with and without meta, as an Acoustic
// import map's IS_REQUIRED and DEFAULT_VALUE would be kept.
const metaSpec = `{"fields": [
	{"name": "since", "type": "date", "meta": {"acoustic_required": "true", "acoustic_default": "01/01/2001"}},
	{"name": "tier", "type": "text", "meta": {}},
	{"name": "plain", "type": "text"}],
 "columns": [{"source": "E-Mail", "field": "email"},
             {"source": "Since", "field": "since", "format": "MM/dd/yyyy"},
             {"source": "Tier", "field": "tier"},
             {"source": "Plain", "field": "plain"}]}`

func TestSpecMetaLoadsAndSaves(t *testing.T) {
	t.Parallel()
	s, err := LoadSpec(strings.NewReader(metaSpec))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}, s.Fields[0].Meta)
	assert.Nil(t, s.Fields[1].Meta, "an empty meta loads as nil")
	assert.Nil(t, s.Fields[2].Meta)

	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	assert.Contains(t, buf.String(), `"meta": {`)
	assert.Equal(t, 1, strings.Count(buf.String(), `"meta"`), "empty meta is left out")
	again, err := LoadSpec(&buf)
	require.NoError(t, err)
	assert.Equal(t, s, again, "load, save and load give an equal spec")

	// A plan's copy of the spec is a deep one.
	plan, err := Compile(s, intake.ContactSchema(), []string{"E-Mail", "Since", "Tier", "Plain"}, Options{})
	require.NoError(t, err)
	plan.Spec().Fields[0].Meta["acoustic_required"] = "changed"
	assert.Equal(t, "true", plan.Spec().Fields[0].Meta["acoustic_required"], "Plan.Spec copies meta")
	// Compile gives a new custom field the spec's meta.
	since := plan.Schema().Field(plan.Schema().Index("since"))
	assert.Equal(t, map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}, since.Meta)
}

func TestSpecMetaIsNotActedOn(t *testing.T) {
	t.Parallel()
	s, err := LoadSpec(strings.NewReader(metaSpec))
	require.NoError(t, err)
	schema, err := s.ObjectSchema()
	require.NoError(t, err)
	since := schema.Field(schema.Index("since"))
	assert.Equal(t, map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}, since.Meta)
	assert.False(t, since.Required, "acoustic_required is kept, not enforced")
	plan, err := Compile(s, schema, []string{"E-Mail", "Since", "Tier", "Plain"}, Options{})
	require.NoError(t, err)
	// An empty cell stays empty: neither required nor defaulted.
	rec := intake.NewRecord(plan.Schema())
	require.NoError(t, plan.Map(intake.Row{Line: 2, Cells: []string{"a@example.com", "", "", ""}}, rec))
	assert.True(t, rec.Get("since").IsNull(), "acoustic_default is never written")
}

func TestSpecMetaValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, meta, want string }{
		{"bad key", `{"Acoustic Required": "true"}`, `mapping: custom field "x": meta key "Acoustic Required": use 1 to 64 lower-case letters`},
		{"long value", `{"note": "` + strings.Repeat("v", intake.MaxMetaValueBytes+1) + `"}`, `mapping: custom field "x": meta "note": the value is 1025 bytes, more than 1024`},
		{"NUL", `{"a": "x\u0000"}`, `mapping: custom field "x": meta "a": the value must be UTF-8 text without NUL bytes`},
		{"not a string", `{"a": true}`, `want a string`},
	} {
		_, err := LoadSpec(strings.NewReader(`{"fields": [{"name": "x", "type": "text", "meta": ` + tc.meta + `}], "columns": [{"source": "X", "field": "x"}]}`))
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
	// Validate checks a spec built in Go the same way.
	s := &Spec{Fields: []FieldSpec{{Name: "x", Type: intake.TypeText, Meta: map[string]string{"": "v", "ok": "v"}}}, Columns: []Column{{Source: "X", Field: "x"}}}
	err := s.Validate()
	require.Error(t, err)
	assert.Equal(t, `mapping: custom field "x": meta key "": use 1 to 64 lower-case letters, digits, '_', '-' and '.', starting with a letter`, err.Error())
}

func TestMergeSchemaMeta(t *testing.T) {
	t.Parallel()
	stored := intake.MustSchema("ticket",
		intake.Field{Name: "ticket_no", Type: intake.TypeID},
		intake.Field{Name: "kept", Type: intake.TypeText, Meta: map[string]string{"acoustic_required": "true", "crm.source": "sf"}},
		intake.Field{Name: "replaced", Type: intake.TypeText, Meta: map[string]string{"acoustic_required": "true", "crm.source": "sf"}},
		intake.Field{Name: "undeclared", Type: intake.TypeText, Meta: map[string]string{"crm.source": "sf"}},
	)
	s, err := LoadSpec(strings.NewReader(`{"object": {"name": "ticket", "key": ["ticket_no"]},
		"fields": [{"name": "ticket_no", "type": "id"},
		           {"name": "kept", "type": "text", "label": "Kept"},
		           {"name": "replaced", "type": "text", "meta": {"acoustic_default": "n/a"}},
		           {"name": "added", "type": "text", "meta": {"acoustic_required": "false"}}],
		"columns": [{"source": "No", "field": "ticket_no"}]}`))
	require.NoError(t, err)
	merged, err := s.MergeSchema(stored)
	require.NoError(t, err)
	for _, tc := range []struct {
		field string
		want  map[string]string
	}{
		{"ticket_no", nil},
		{"kept", map[string]string{"acoustic_required": "true", "crm.source": "sf"}}, // the spec gives none: the stored one stays
		{"replaced", map[string]string{"acoustic_default": "n/a"}},                   // the spec's whole map replaces the stored one
		{"undeclared", map[string]string{"crm.source": "sf"}},                        // what only the store knows is kept
		{"added", map[string]string{"acoustic_required": "false"}},                   // a new field takes the spec's
	} {
		assert.Equal(t, tc.want, merged.Field(merged.Index(tc.field)).Meta, tc.field)
	}
	assert.Equal(t, "Kept", merged.Field(merged.Index("kept")).Label)
	// The merged schema holds its own maps.
	s.Fields[2].Meta["acoustic_default"] = "changed"
	assert.Equal(t, "n/a", merged.Field(merged.Index("replaced")).Meta["acoustic_default"])
	// Without a stored schema, the spec's meta is the field's.
	own, err := s.ObjectSchema()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"acoustic_required": "false"}, own.Field(own.Index("added")).Meta)
	assert.Nil(t, own.Field(own.Index("kept")).Meta)
}

// TestIfMissing: a field declared if_missing is added where the schema
// lacks it, and leaves a stored or built-in field of that name as it is,
// whatever type the declaration gives; it survives a save and load.
func TestIfMissing(t *testing.T) {
	t.Parallel()
	spec := &Spec{Fields: []FieldSpec{
		{Name: "spend", Type: intake.TypeText, IfMissing: true},
		{Name: "email", Type: intake.TypeText, IfMissing: true, Meta: map[string]string{"acoustic_required": "true"}},
		{Name: "tier", Type: intake.TypeSelect, Options: []string{"Gold"}, IfMissing: true},
	}, Columns: []Column{{Source: "E", Field: "email"}, {Source: "S", Field: "spend"}, {Source: "T", Field: "tier"}}}
	stored := intake.MustSchema("contact", intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "spend", Type: intake.TypeDecimal, Meta: map[string]string{"a": "1"}})
	merged, err := spec.MergeSchema(stored)
	require.NoError(t, err)
	assert.Equal(t, intake.TypeDecimal, merged.Field(merged.Index("spend")).Type, "the stored type is kept")
	assert.Equal(t, map[string]string{"a": "1"}, merged.Field(merged.Index("spend")).Meta, "and its meta")
	assert.Equal(t, intake.TypeEmail, merged.Field(merged.Index("email")).Type)
	assert.Nil(t, merged.Field(merged.Index("email")).Meta, "a built-in field is not changed")
	assert.Equal(t, intake.TypeSelect, merged.Field(merged.Index("tier")).Type, "a missing field is added")
	bound, err := spec.Against(merged)
	require.NoError(t, err)
	p, err := Compile(bound, merged, []string{"E", "S", "T"}, Options{})
	require.NoError(t, err)
	rec := intake.NewRecord(p.Schema())
	require.NoError(t, p.Map(intake.Row{Line: 2, Cells: []string{"a@x.io", "12.50", "gold"}}, rec))
	assert.Equal(t, "12.5", rec.Get("spend").String(), "the stored decimal type parses the cell")
	_, err = Compile(spec, merged, []string{"E", "S", "T"}, Options{})
	require.NoError(t, err, "Compile takes the spec itself too")

	var buf bytes.Buffer
	require.NoError(t, spec.Save(&buf))
	back, err := LoadSpec(&buf)
	require.NoError(t, err)
	assert.True(t, back.Fields[0].IfMissing)

	strict := &Spec{Fields: []FieldSpec{{Name: "spend", Type: intake.TypeText}}}
	_, err = strict.MergeSchema(stored)
	assert.ErrorContains(t, err, `custom field "spend" is declared as text, and the store holds it as decimal`, "without if_missing a clash is an error")
}
