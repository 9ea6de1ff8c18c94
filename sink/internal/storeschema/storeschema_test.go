package storeschema

import (
	"errors"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMerge(t *testing.T) {
	t.Parallel()
	acoustic := map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}
	other := map[string]string{"crm.source": "sf"}
	stored := []intake.Field{
		{Name: "email", Type: intake.TypeEmail},
		{Name: "code", Type: intake.TypeText, Meta: acoustic},
		{Name: "link", Type: intake.TypeID, Ref: "account"},
	}
	for _, tc := range []struct {
		name    string
		fields  []intake.Field // the run's schema
		changed bool
		retyped []string
		want    []intake.Field // the stored fields after the merge
	}{
		{"the same", stored, false, nil, stored},
		{"meta left out keeps the stored one",
			[]intake.Field{{Name: "code", Type: intake.TypeText}, {Name: "link", Type: intake.TypeID}}, false, nil, stored},
		{"equal meta is no change",
			[]intake.Field{{Name: "code", Type: intake.TypeText, Meta: map[string]string{"acoustic_default": "01/01/2001", "acoustic_required": "true"}}}, false, nil, stored},
		{"other meta replaces the whole map",
			[]intake.Field{{Name: "code", Type: intake.TypeText, Meta: other}}, true, nil,
			[]intake.Field{stored[0], {Name: "code", Type: intake.TypeText, Meta: other}, stored[2]}},
		{"meta on a field that had none",
			[]intake.Field{{Name: "email", Type: intake.TypeEmail, Meta: other}}, true, nil,
			[]intake.Field{{Name: "email", Type: intake.TypeEmail, Meta: other}, stored[1], stored[2]}},
		{"a new field keeps its meta",
			[]intake.Field{{Name: "tier", Type: intake.TypeText, Meta: other}}, true, nil,
			append(stored[:3:3], intake.Field{Name: "tier", Type: intake.TypeText, Meta: other})},
		{"a ref and meta together",
			[]intake.Field{{Name: "link", Type: intake.TypeID, Ref: "org", Meta: other}}, true, nil,
			[]intake.Field{stored[0], stored[1], {Name: "link", Type: intake.TypeID, Ref: "org", Meta: other}}},
		{"retyped without meta keeps the stored one",
			[]intake.Field{{Name: "code", Type: intake.TypeID}}, true, []string{"code"},
			[]intake.Field{stored[0], {Name: "code", Type: intake.TypeID, Meta: acoustic}, stored[2]}},
		{"retyped with meta takes it",
			[]intake.Field{{Name: "code", Type: intake.TypeID, Meta: other}}, true, []string{"code"},
			[]intake.Field{stored[0], {Name: "code", Type: intake.TypeID, Meta: other}, stored[2]}},
	} {
		before := append([]intake.Field(nil), stored...)
		out, changed, retyped, err := Merge(stored, intake.MustSchema("contact", tc.fields...))
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.changed, changed, tc.name)
		assert.Equal(t, tc.retyped, retyped, tc.name)
		assert.Equal(t, tc.want, out, tc.name)
		assert.Equal(t, before, stored, "%s: the stored fields are left as they were", tc.name)
		assert.Equal(t, map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}, acoustic, "%s: the stored map is left as it was", tc.name)
	}
	_, _, _, err := Merge(stored, intake.MustSchema("contact", intake.Field{Name: "code", Type: intake.TypeDate, Meta: other}))
	assert.True(t, errors.Is(err, sink.ErrSchemaConflict), "another value kind: %v", err)
}

func TestFieldChanges(t *testing.T) {
	t.Parallel()
	m := map[string]string{"a": "1"}
	for _, tc := range []struct {
		name       string
		c, f       intake.Field
		ref, metaC bool
	}{
		{"nothing given", intake.Field{Ref: "x", Meta: m}, intake.Field{}, false, false},
		{"the same", intake.Field{Ref: "x", Meta: m}, intake.Field{Ref: "x", Meta: map[string]string{"a": "1"}}, false, false},
		{"new", intake.Field{}, intake.Field{Ref: "x", Meta: m}, true, true},
		{"other", intake.Field{Ref: "x", Meta: m}, intake.Field{Ref: "y", Meta: map[string]string{"a": "2"}}, true, true},
		{"a subset", intake.Field{Meta: map[string]string{"a": "1", "b": "2"}}, intake.Field{Meta: m}, false, true},
	} {
		assert.Equal(t, tc.ref, RefChanged(tc.c, tc.f), tc.name)
		assert.Equal(t, tc.metaC, MetaChanged(tc.c, tc.f), tc.name)
	}
}
