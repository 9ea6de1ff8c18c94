package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
)

// readJobSpec reads a job spec file the way import -job does.
func readJobSpec(t *testing.T, path string) *importer.JobSpec {
	t.Helper()
	spec, err := importer.ParseJobSpec([]byte(readFile(t, path)))
	require.NoError(t, err, readFile(t, path))
	return spec
}

// TestImportSaveJobThenJob: -save-job writes the spec the flags describe;
// -job replays it with the same outcome, and saving it again gives the
// same file.
func TestImportSaveJobThenJob(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	file := filepath.Join(dir, "contacts.csv")
	saved := filepath.Join(dir, "job.json")
	code, out, stderr := cli(t, "import", "-store", store, "-rules", "contact_id; email", "-merge", "fill_empty",
		"-tags", "fair-2026", "-lists", "newsletter, vip", "-delimiter", "comma", "-save-job", saved, "-json", file)
	require.Equal(t, 0, code, stderr)
	first := decodeReport(t, out)

	spec := readJobSpec(t, saved)
	assert.Equal(t, []string{"contact_id", "email"}, spec.Rules)
	assert.Nil(t, spec.Sync, "-sync was not given: its default stays out of the spec")
	assert.Equal(t, identity.MergeFillEmpty, spec.Merge.Default)
	assert.Equal(t, []string{"fair-2026"}, spec.Tags)
	assert.Equal(t, []string{"newsletter", "vip"}, spec.Lists)
	assert.Equal(t, "comma", spec.Source.Delimiter)
	assert.Empty(t, spec.Actor, "the default actor ($USER) is the run's, not the spec's")

	_, other := setup(t)
	again := filepath.Join(dir, "again.json")
	code, out, stderr = cli(t, "import", "-store", other, "-job", saved, "-save-job", again, "-json", file)
	require.Equal(t, 0, code, stderr)
	second := decodeReport(t, out)
	assert.Equal(t, first, second)
	assert.Equal(t, readFile(t, saved), readFile(t, again))

	// Without -json, the text report says what the spec does.
	_, third := setup(t)
	code, out, stderr = cli(t, "import", "-store", third, "-job", saved, file)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "(add_and_update, sync on contact_id, else email)")
}

// TestImportFlagsOverrideJob: a flag given on the line replaces its key of
// the -job spec; the others keep the spec's values.
func TestImportFlagsOverrideJob(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	file := filepath.Join(dir, "contacts.csv")
	job := filepath.Join(dir, "job.json")
	require.NoError(t, os.WriteFile(job, []byte(`{"version": 1, "action": "add_only", "rules": ["contact_id", "email"], "tags": ["a"], "lists": ["news"]}`), 0o600))

	saved := filepath.Join(dir, "saved.json")
	code, out, stderr := cli(t, "import", "-store", store, "-job", job, "-action", "update_only", "-sync", "email", "-tags", "b",
		"-save-job", saved, "-json", file)
	require.Equal(t, 0, code, stderr)
	r := decodeReport(t, out)
	assert.EqualValues(t, 0, r.Created, "-action update_only replaced the spec's add_only")
	assert.EqualValues(t, 9, r.Skipped)
	spec := readJobSpec(t, saved)
	assert.Equal(t, "update_only", string(spec.Action))
	assert.Equal(t, []string{"email"}, spec.Sync)
	assert.Nil(t, spec.Rules, "-sync replaced the spec's rules")
	assert.Equal(t, []string{"b"}, spec.Tags)
	assert.Equal(t, []string{"news"}, spec.Lists, "the spec's lists stay")

	// -on-match over a spec's action: the spec holds the matrix alone.
	code, _, stderr = cli(t, "import", "-store", store, "-job", job, "-on-match", "update", "-save-job", saved, "-dry-run", file)
	require.Equal(t, 0, code, stderr)
	spec = readJobSpec(t, saved)
	assert.Empty(t, spec.Action)
	assert.Equal(t, identity.MatchUpdate, spec.OnMatch)
	assert.Equal(t, identity.NoMatchCreate, spec.OnNoMatch, "add_only creates on no match")

	// A problem of the spec names the -job file and the JSON path; one of
	// a flag names the flag.
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"version": 1, "sync": ["emial"], "merge": {"fields": {"town": "overwrite"}}}`), 0o600))
	code, _, stderr = cli(t, "import", "-store", store, "-job", bad, "-merge-by", "when", file)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-job "+bad+`: $.sync[0]: "emial" is not a field of contact`)
	assert.Contains(t, stderr, "-job "+bad+`: $.merge.fields.town: "town" is not a field of contact`)
	assert.Contains(t, stderr, `-merge-by: "when" is not a field of contact`)
	code, _, stderr = cli(t, "import", "-store", store, "-job", filepath.Join(dir, "nope.json"), file)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "nope.json: no such file")
}

// TestImportErrorsPrintedOnce: an import's error is printed once, on
// stderr, whether it is a usage error, a spec problem or a failed run.
func TestImportErrorsPrintedOnce(t *testing.T) {
	t.Parallel()
	dir, store := setup(t)
	empty := filepath.Join(dir, "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	file := filepath.Join(dir, "contacts.csv")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{empty}, 1, ": file is empty"},
		{[]string{"-sync", "shoe_size", file}, 2, `"shoe_size" is not a field of contact`},
		{[]string{"-on-match", "delete", file}, 2, "needs -reason"},
		{[]string{"-object", "activity", "-action", "update_only", file}, 2, "activities are append-only"},
		{[]string{"-no-header", file}, 2, "needs -mapping"},
	} {
		code, out, stderr := cli(t, append([]string{"import", "-store", store}, tc.args...)...)
		assert.Equal(t, tc.code, code, stderr)
		assert.Equal(t, 1, strings.Count(out+stderr, tc.want), "printed once: stdout %q, stderr %q", out, stderr)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line on stderr: %q", stderr)
		assert.NotContains(t, out+stderr, "Job.", "errors name flags, not Go fields")
	}
}

// TestCLIErrorNamesFlags: an importer error that names a field of the Go
// job is said with the flag instead.
func TestCLIErrorNamesFlags(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"intake: delete needs a reason, kept in the audit log: set Job.Reason":                       "intake: delete needs a reason, kept in the audit log: give -reason",
		"intake: a file without a header row needs a mapping: set Job.Mapping with columns by index": "intake: a file without a header row needs a mapping: give -mapping with columns by index",
		"intake: Job.Explain -1 is negative":                                                         "intake: -explain -1 is negative",
		"intake: Job.Frobs is unknown":                                                               "intake: Job.Frobs is unknown",
	} {
		assert.Equal(t, want, cliError(errors.New(in)).Error())
	}
	assert.NoError(t, cliError(nil))
}

// TestFlagErrorsPrintedOnce: a flag the command does not know, or one
// without its value, is said once (after the usage).
func TestFlagErrorsPrintedOnce(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"import", "-colour", "red", "x.csv"},
		{"job", "list", "-store"},
		{"run", "show", "-frob", "x"},
	} {
		code, _, stderr := cli(t, args...)
		assert.Equal(t, 2, code, stderr)
		for _, msg := range []string{"flag provided but not defined", "flag needs an argument"} {
			assert.Contains(t, []int{0, 1}, strings.Count(stderr, msg), "%v: %s", args, stderr)
		}
		assert.Regexp(t, `(?s)^Usage: .*\nintake: flag .*\n$`, stderr, args)
	}
}
