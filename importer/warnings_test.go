package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lenientSpec reads Amount and Born with "invalid": "empty".
const lenientSpec = `{"columns": [
	{"source": "email", "field": "email"},
	{"source": "Amount", "field": "lifetime_value", "invalid": "empty"},
	{"source": "Born", "field": "birthday", "format": "dd.MM.yyyy", "invalid": "empty"},
	{"source": "city", "field": "city"}]}`

// lenientFile has four cells the types cannot parse in rows that are
// imported, and two in rows rejected for another reason.
const lenientFile = "email,Amount,Born,city\n" +
	"a@x.io,12.5,01.02.1990,Rome\n" + // 2: clean
	"b@x.io,lots,01.02.1990,Oslo\n" + // 3: Amount left empty
	"c@x.io,3,1990-02-01,Lima\n" + // 4: Born left empty
	"not-an-email,xx,yy,Nowhere\n" + // 5: rejected by mapping (invalid_email): no warning
	",zz,01.01.2000,Paris\n" + // 6: rejected by the decision (missing_key): its warning is dropped
	"b@x.io,huh,31.02.1990,Bergen\n" + // 7: both left empty; updates b@x.io
	"d@x.io,7,,Kyiv\n" // 8: clean

func lenientJob(t *testing.T, dryRun bool) importer.Job {
	t.Helper()
	spec, err := mapping.LoadSpec(strings.NewReader(lenientSpec))
	require.NoError(t, err)
	return importer.Job{Source: csvSource(t, "people.csv", lenientFile), Mapping: spec, DryRun: dryRun}
}

type warning struct {
	line          int
	column, field string
	code          intake.Code
}

func warningsOf(rep *importer.Report) []warning {
	var out []warning
	for _, w := range rep.Warnings {
		out = append(out, warning{w.Line, w.Column, w.Field, w.Code})
	}
	return out
}

var lenientWarnings = []warning{
	{3, "Amount", "lifetime_value", "invalid_decimal"},
	{4, "Born", "birthday", "invalid_date"},
	{7, "Amount", "lifetime_value", "invalid_decimal"},
	{7, "Born", "birthday", "invalid_date"},
}

// TestLenientColumnsImport imports a file whose lenient columns have bad
// cells: the rows are imported with those fields null, and the report
// counts and lists every emptied cell of the rows it did not reject, in
// file order, across batches and workers; a dry run reports the same.
func TestLenientColumnsImport(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name              string
		batch, workers    int
		dryRun            bool
		maxErrors, listed int
	}{
		{"one batch", 0, 0, false, 0, 4},
		{"batches of 2 rows, 2 workers", 2, 2, false, 0, 4},
		{"capped", 3, 1, false, 3, 3},
		{"dry run", 2, 2, true, 0, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := memory.New(memory.Config{})
			rep := runJob(t, importer.Config{Sink: s, BatchSize: c.batch, Workers: c.workers, MaxReportErrors: c.maxErrors}, lenientJob(t, c.dryRun))
			assert.Equal(t, [5]int64{7, 4, 1, 0, 2}, [5]int64{rep.Rows, rep.Created, rep.Updated, rep.Unchanged, rep.Rejected}, "rows, created, updated, unchanged, rejected: %+v", rep.Counts)
			assert.Equal(t, map[intake.Code]int64{"invalid_email": 1, "missing_key": 1}, rep.Reasons)
			assert.EqualValues(t, 4, rep.Warned, "every emptied cell of the imported rows, once")
			assert.Equal(t, lenientWarnings[:c.listed], warningsOf(rep))
			assert.Equal(t, c.listed < 4, rep.WarningsTruncated)
			w := rep.Warnings[0]
			assert.Equal(t, "people.csv", w.File)
			assert.Equal(t, `"lots" is not a number with the decimal separator "."`, w.Message)

			got := all(t, s)
			if c.dryRun {
				assert.Empty(t, got, "a dry run writes nothing")
				return
			}
			require.Len(t, got, 4)
			b := got["b@x.io"]
			assert.True(t, b.Get("lifetime_value").IsNull(), "left empty on both rows")
			assert.Equal(t, "1990-02-01", b.Get("birthday").String(), "the second row's bad date left the first one's")
			assert.Equal(t, "Bergen", b.Get("city").Str())
			assert.True(t, got["c@x.io"].Get("birthday").IsNull())
			assert.Equal(t, "3", got["c@x.io"].Get("lifetime_value").String())
		})
	}
}

// TestLenientReportOutput checks the JSON keys and the text report.
func TestLenientReportOutput(t *testing.T) {
	t.Parallel()
	rep := runJob(t, importer.Config{Sink: memory.New(memory.Config{}), MaxReportErrors: 3}, lenientJob(t, false))

	var obj map[string]json.RawMessage
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &obj))
	assert.JSONEq(t, "4", string(obj["warned"]))
	assert.JSONEq(t, "true", string(obj["warnings_truncated"]))
	var ws []map[string]any
	require.NoError(t, json.Unmarshal(obj["warnings"], &ws))
	require.Len(t, ws, 3)
	assert.Equal(t, map[string]any{"file": ws[0]["file"], "line": 3.0, "column": "Amount", "field": "lifetime_value", "code": "invalid_decimal",
		"message": `"lots" is not a number with the decimal separator "."`}, ws[0])

	var text bytes.Buffer
	require.NoError(t, rep.WriteText(&text))
	out := text.String()
	assert.Regexp(t, `\n  warned\s+4 cells left empty \("invalid": "empty"\)\n`, out)
	assert.Contains(t, out, "  cells left empty (3 of 4):\n")
	assert.Regexp(t, `line 3\s+"Amount"\s+invalid_decimal\s+"lots" is not a number`, out)
	assert.Regexp(t, `line 7\s+"Amount"\s+invalid_decimal`, out)
	assert.NotRegexp(t, `line 7\s+"Born"`, out, "capped at 3")
	assert.Less(t, strings.Index(out, "rejected rows"), strings.Index(out, "cells left empty (3"), "errors first")

	// Without lenient cells the report has none of the keys, nor lines.
	plain := runJob(t, importer.Config{Sink: memory.New(memory.Config{})}, importer.Job{Source: csvSource(t, "f.csv", "email\na@x.io\n")})
	b, err = json.Marshal(plain)
	require.NoError(t, err)
	for _, k := range []string{`"warned"`, `"warnings"`, `"warnings_truncated"`} {
		assert.NotContains(t, string(b), k)
	}
	text.Reset()
	require.NoError(t, plain.WriteText(&text))
	assert.NotContains(t, text.String(), "warned")
	assert.NotContains(t, text.String(), "left empty")
}

// TestLenientHeldRows: the row whose create the sink held (another writer
// created its key) keeps its warnings when the action updates that
// record, and loses them when the action rejects the row; when the
// follow-up write fails, the held row is not counted, nor its warnings.
func TestLenientHeldRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec, err := mapping.LoadSpec(strings.NewReader(`{"columns": [
		{"source": "email", "field": "email"}, {"source": "Amount", "field": "lifetime_value", "invalid": "empty"}]}`))
	require.NoError(t, err)
	file := "email,Amount\nbob@example.com,x1\nann@example.com,x2\ncid@example.com,x3\n"
	for _, c := range []struct {
		name     string
		action   intake.Action
		failFrom int
		rows     int64
		lines    []int
	}{
		{"updated", intake.ActionAddAndUpdate, 0, 3, []int{2, 3, 4}},
		{"rejected as duplicate", intake.ActionCreate, 0, 3, []int{2, 4}},
		{"follow-up write fails", intake.ActionAddAndUpdate, 2, 2, []int{2, 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l, _ := newLatecomer(t)
			l.failFrom = c.failFrom
			im, err := importer.New(importer.Config{Sink: l})
			require.NoError(t, err)
			rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "late.csv", file), Mapping: spec, Action: identity.Preset(c.action), Identity: importer.SyncOn("email")})
			if c.failFrom > 0 {
				require.ErrorContains(t, err, "the store went away")
			} else {
				require.NoError(t, err)
				assert.EqualValues(t, 1, rep.Concurrent)
			}
			assert.Equal(t, c.rows, rep.Rows)
			checkInvariant(t, rep)
			var lines []int
			for _, w := range rep.Warnings {
				lines = append(lines, w.Line)
			}
			assert.Equal(t, c.lines, lines)
			assert.EqualValues(t, len(c.lines), rep.Warned)
		})
	}
}

// TestLenientResume: a checkpointed run that dies after the batch whose
// create the sink held reads the held row again when it resumes: the two
// reports together count each row's warning once (PostgreSQL).
func TestLenientResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newWriterStore(t, "postgres", t.TempDir())
	s, done, err := openWriterStore(ctx, store)
	require.NoError(t, err)
	t.Cleanup(done)
	pg := s.(*postgres.Store)
	other := intake.NewRecord(intake.ContactSchema())
	other.ID = "01960000-0000-7000-8000-000000000002"
	other.Set("email", intake.Text("ann@example.com"))
	_, err = pg.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: other}})
	require.NoError(t, err)
	spec, err := mapping.LoadSpec(strings.NewReader(`{"columns": [
		{"source": "email", "field": "email"}, {"source": "Amount", "field": "lifetime_value", "invalid": "empty"}]}`))
	require.NoError(t, err)
	file := "email,Amount\nbob@example.com,x1\nann@example.com,x2\ncid@example.com,x3\n"
	run := func(l *lateCheckpointer) (*importer.Report, error) {
		im, err := importer.New(importer.Config{Sink: l})
		require.NoError(t, err)
		return im.Run(ctx, importer.Job{Source: csvSource(t, "late.csv", file), Mapping: spec, Identity: importer.SyncOn("email"), RunID: "lenient-run"})
	}
	lines := func(rep *importer.Report) []int {
		var out []int
		for _, w := range rep.Warnings {
			out = append(out, w.Line)
		}
		return out
	}
	first, err := run(&lateCheckpointer{Store: pg, hidden: map[intake.Key]bool{"ann@example.com": true}, failFrom: 2})
	require.ErrorContains(t, err, "the process died")
	assert.EqualValues(t, 2, first.Rows)
	assert.Equal(t, []int{2, 4}, lines(first), "the held row is not counted yet")
	assert.EqualValues(t, 2, first.Warned)

	second, err := run(&lateCheckpointer{Store: pg})
	require.NoError(t, err)
	require.Equal(t, 4, second.ResumedAfterLine)
	assert.EqualValues(t, 1, second.Rows)
	assert.Equal(t, []int{3}, lines(second), "only the held row is read again")
	assert.EqualValues(t, 1, second.Warned)
}
