package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestObjectsAndLinks imports accounts, contacts linked to them and their
// activities through the CLI, then exports each object type.
func TestObjectsAndLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "intake.db")
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		return p
	}
	accounts := write("accounts.csv", "account_id,name,domain,type\nA-1,Acme,acme.example,customer\nA-2,Globex,globex.example,partner\n")
	contacts := write("contacts.csv", "email,first_name,account_id\nkim@acme.example,Kim,A-1\nlee@globex.example,Lee,A-2\nnia@x.example,Nia,A-9\n")
	events := write("events.csv", "event_id,email,type,occurred_at,Page URL\ne1,kim@acme.example,page_view,2026-03-01T10:00:00Z,/pricing\ne2,lee@globex.example,login,2026-03-01T11:00:00Z,/\ne3,ghost@x.example,login,2026-03-01T12:00:00Z,/\n")

	code, out, stderr := cli(t, "import", "-store", store, "-object", "account", "-json", accounts)
	require.Equal(t, 0, code, stderr)
	assert.EqualValues(t, 2, decodeReport(t, out).Created)

	code, out, stderr = cli(t, "import", "-store", store, "-link", "account_id", "-json", contacts)
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.EqualValues(t, 2, r.Created)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "unknown_link", r.Errors[0].Code)
	assert.Contains(t, out, `"links"`)

	for run, want := range []int64{2, 0} {
		code, out, stderr = cli(t, "import", "-store", store, "-object", "activity", "-json", events)
		require.Equal(t, 0, code, stderr)
		r = decodeReport(t, out)
		assert.Equal(t, want, r.Created, "run %d", run+1)
		assert.Equal(t, 2-want, r.Skipped, "run %d: a re-import skips the events it holds", run+1)
		require.Len(t, r.Errors, 1)
		assert.Equal(t, "unknown_profile", r.Errors[0].Code)
	}
	code, out, stderr = cli(t, "import", "-store", store, "-object", "activity", events)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "link profile")

	// Export per object type; the links are there.
	export := func(object string) [][]string {
		code, out, stderr := cli(t, "export", "-store", store, "-object", object, "-format", "csv", "-")
		require.Equal(t, 0, code, stderr)
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		require.NoError(t, err)
		return rows
	}
	acc := export("account")
	require.Len(t, acc, 3)
	con := export("contact")
	require.Len(t, con, 3)
	assert.Contains(t, con[0], "account_record_id")
	ev := export("activity")
	require.Len(t, ev, 3)
	assert.Contains(t, ev[0], "profile_id")
	assert.Contains(t, ev[0], "page_url")

	// Flag errors are usage errors.
	code, _, stderr = cli(t, "import", "-store", store, "-object", "activity", "-on-unknown", "empty", events)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "always has a profile")
	code, _, stderr = cli(t, "import", "-store", store, "-on-unknown", "maybe", contacts)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-on-unknown")
}
