package main

import (
	"context"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportKeepsFieldMeta imports contacts with a spec whose custom field
// carries the settings of an Acoustic import map as meta: the store keeps
// them with its schema, a later spec without meta leaves them, and the
// import acts on neither (an empty cell is imported empty).
func TestImportKeepsFieldMeta(t *testing.T) {
	t.Parallel()
	store, write := setupObjects(t)
	file := write("members.csv", "email,since\nkim@x.example,\nnew@x.example,03/04/2020\n")
	withMeta := write("with.json", `{"fields": [{"name": "member_since", "type": "date",
		"meta": {"acoustic_required": "true", "acoustic_default": "01/01/2001"}}],
		"columns": [{"source": "email", "field": "email"}, {"source": "since", "field": "member_since", "format": "MM/dd/yyyy"}]}`)
	without := write("without.json", `{"fields": [{"name": "member_since", "type": "date", "label": "Member since"}],
		"columns": [{"source": "email", "field": "email"}, {"source": "since", "field": "member_since", "format": "MM/dd/yyyy"}]}`)
	want := map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}
	storedMeta := func() map[string]string {
		t.Helper()
		s, err := sqlite.Open(context.Background(), strings.TrimPrefix(store, "sqlite:"), sqlite.Config{})
		require.NoError(t, err)
		defer s.Close()
		sch, err := s.Schema(context.Background(), intake.ObjectContact)
		require.NoError(t, err)
		require.NotNil(t, sch)
		i := sch.Index("member_since")
		require.GreaterOrEqual(t, i, 0)
		return sch.Field(i).Meta
	}

	code, out, stderr := cli(t, "import", "-store", store, "-mapping", withMeta, file)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `created\s+1`, out)
	assert.Regexp(t, `rejected\s+0`, out, "an empty cell of a field that Acoustic requires is imported")
	assert.Equal(t, want, storedMeta())
	rows := exportCSV(t, store)
	col := -1
	for i, h := range rows[0] {
		if h == "member_since" {
			col = i
		}
	}
	require.GreaterOrEqual(t, col, 0, "header %v", rows[0])
	for _, r := range rows[1:] {
		switch r[1] {
		case "kim@x.example":
			assert.Empty(t, r[col], "acoustic_default is never written")
		case "new@x.example":
			assert.Equal(t, "2020-03-04", r[col])
		}
	}

	code, _, stderr = cli(t, "import", "-store", store, "-mapping", without, file)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, want, storedMeta(), "a spec without meta leaves the stored one")
}
