package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type undoReport struct {
	RunID     string `json:"run_id"`
	Undoes    string `json:"undoes"`
	Status    string `json:"status"`
	Rows      int64  `json:"rows"`
	Reverted  int64  `json:"reverted"`
	Restored  int64  `json:"restored"`
	Conflicts int64  `json:"conflicts"`
	DryRun    bool   `json:"dry_run"`
	State     string `json:"state"`
	Records   []struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
		Fields []struct {
			Field, Before, RunWrote, Now string
		} `json:"fields"`
	} `json:"conflict_records"`
}

// TestUndoCommand: intake undo reverts an import by the run_id of its
// report (dry run first), the export is then as before the import; an undo
// cannot be undone, nor a run twice; -force reverts a conflict.
func TestUndoCommand(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	first, update := filepath.Join(dir, "contacts.csv"), filepath.Join(dir, "contacts-update.csv")
	code, _, stderr := cli(t, "import", "-store", store, first)
	require.Equal(t, 0, code, stderr)
	before := exported(t, store)

	code, out, stderr := cli(t, "import", "-store", store, "-json", update)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "cannot be undone")
	var rep struct {
		RunID    string `json:"run_id"`
		Undoable bool   `json:"undoable"`
		Created  int64  `json:"created"`
		Updated  int64  `json:"updated"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.True(t, rep.Undoable)
	require.NotEqual(t, before, exported(t, store))

	code, out, stderr = cli(t, "undo", "-store", store, "-dry-run", "-json", rep.RunID)
	require.Equal(t, 0, code, stderr)
	var dry undoReport
	require.NoError(t, json.Unmarshal([]byte(out), &dry))
	assert.True(t, dry.DryRun)
	assert.Equal(t, rep.Created, dry.Reverted)
	assert.Equal(t, rep.Updated, dry.Restored)

	code, out, stderr = cli(t, "undo", "-store", store, rep.RunID)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `status\s+succeeded`, out)
	assert.Regexp(t, `reverted\s+2 created records removed`, out)
	assert.Regexp(t, `state\s+undone`, out)
	assert.Equal(t, before, exported(t, store), "the store is as before the import")

	code, _, stderr = cli(t, "undo", "-store", store, rep.RunID)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "cannot be undone: it was undone by")
	code, _, stderr = cli(t, "undo", "-store", store, "no-such-run")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no undo log")
	code, _, stderr = cli(t, "undo", "-store", store)
	assert.Equal(t, 2, code, stderr)

	// A conflict: the record changed after the run keeps its value until
	// -force.
	code, out, stderr = cli(t, "import", "-store", store, "-json", update)
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	late := filepath.Join(dir, "late.csv")
	require.NoError(t, os.WriteFile(late, []byte("E-Mail,City\nanna.schmidt@example.de,Lateville\n"), 0o600))
	code, _, stderr = cli(t, "import", "-store", store, late)
	require.Equal(t, 0, code, stderr)
	code, out, stderr = cli(t, "undo", "-store", store, "-json", rep.RunID)
	require.Equal(t, 0, code, stderr)
	var u undoReport
	require.NoError(t, json.Unmarshal([]byte(out), &u))
	assert.EqualValues(t, 1, u.Conflicts)
	assert.Equal(t, "undoing", u.State)
	require.Len(t, u.Records, 1)
	assert.Equal(t, "changed after the run", u.Records[0].Reason)
	code, out, stderr = cli(t, "undo", "-store", store, "-force", rep.RunID)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `forced\s+1`, out)
	assert.Equal(t, before, exported(t, store))

	// -no-undo keeps no log: the import says so, and its undo is refused.
	code, out, stderr = cli(t, "import", "-store", store, "-no-undo", "-json", late)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "this run cannot be undone: the job keeps no undo log (undo off)")
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.False(t, rep.Undoable)
	code, _, stderr = cli(t, "undo", "-store", store, rep.RunID)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "cannot be undone: the job keeps no undo log (undo off)")

	// A deleting import without -undo-deletes says so before it runs.
	code, _, stderr = cli(t, "import", "-store", store, "-on-match", "delete", "-on-no-match", "skip", "-reason", "duplicate", late)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "this run cannot be undone: the job deletes without keeping the deleted records")
}

// exported returns the export of every contact of the store, with ids.
func exported(t *testing.T, store string) string {
	t.Helper()
	code, out, stderr := cli(t, "export", "-store", store, "-format", "jsonl", "-id", "-")
	require.Equal(t, 0, code, stderr)
	return out
}
