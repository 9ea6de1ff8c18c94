package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// store is a sink under test with the capabilities the importer uses.
type store interface {
	sink.Sink
	sink.Lookuper
	sink.Scanner
}

// stores returns a fresh memory store and a fresh SQLite store.
func stores(t *testing.T) map[string]store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "intake.db"), sqlite.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return map[string]store{"memory": memory.New(memory.Config{}), "sqlite": db}
}

func csvSource(t *testing.T, name, data string) connector.Source {
	t.Helper()
	src, err := connector.NewCSV(strings.NewReader(data), connector.CSVConfig{Name: name})
	require.NoError(t, err)
	return src
}

func runJob(t *testing.T, cfg importer.Config, job importer.Job) *importer.Report {
	t.Helper()
	im, err := importer.New(cfg)
	require.NoError(t, err)
	rep, err := im.Run(context.Background(), job)
	require.NoError(t, err)
	checkInvariant(t, rep)
	return rep
}

func checkInvariant(t *testing.T, rep *importer.Report) {
	t.Helper()
	assert.Equal(t, rep.Rows, rep.Total(), "rows = created + updated + unchanged + skipped + opted_out + rejected: %+v", rep)
	var reasons int64
	for _, n := range rep.Reasons {
		reasons += n
	}
	assert.Equal(t, rep.Skipped+rep.Rejected, reasons, "every skipped and rejected row has a reason")
}

// all returns the stored contacts by email.
func all(t *testing.T, s store) map[string]*intake.Record {
	t.Helper()
	out := map[string]*intake.Record{}
	err := s.Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
		out[r.Get("email").Str()] = r.Clone()
		return nil
	})
	require.NoError(t, err)
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestQuickstartFiles imports the quickstart's two files and checks every
// outcome, on both stores.
func TestQuickstartFiles(t *testing.T) {
	t.Parallel()
	first := readFile(t, "../examples/quickstart/contacts.csv")
	second := readFile(t, "../examples/quickstart/contacts-update.csv")
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := runJob(t, importer.Config{Sink: s, BatchSize: 5}, importer.Job{Source: csvSource(t, "contacts.csv", first)})
			assert.Equal(t, importer.StatusSucceeded, rep.Status)
			assert.EqualValues(t, 12, rep.Rows)
			assert.EqualValues(t, 8, rep.Created)
			assert.EqualValues(t, 1, rep.Updated, "ANNA.SCHMIDT@EXAMPLE.DE updates the record its first row created")
			assert.EqualValues(t, 3, rep.Rejected)
			assert.Equal(t, map[intake.Code]int64{"invalid_email": 1, "invalid_date": 1, "missing_key": 1}, rep.Reasons)
			require.Len(t, rep.Errors, 3)
			assert.Equal(t, 7, rep.Errors[0].Line)
			assert.Equal(t, "E-Mail", rep.Errors[0].Column)
			assert.Equal(t, "email", rep.Errors[0].Field)
			assert.Equal(t, "contacts.csv", rep.Errors[0].File)
			assert.Equal(t, 10, rep.Errors[1].Line)
			assert.Equal(t, intake.CodeInvalidDate, rep.Errors[1].Code)
			assert.Equal(t, 12, rep.Errors[2].Line)

			got := all(t, s)
			require.Len(t, got, 8)
			anna := got["anna.schmidt@example.de"]
			require.NotNil(t, anna)
			assert.Equal(t, "Schmidt-Berg", anna.Get("last_name").Str())
			assert.Equal(t, "1300", anna.Get("lifetime_value").String())
			assert.Equal(t, "+49301234567", anna.Get("phone").Str())
			assert.Equal(t, "1985-03-14", anna.Get("birthday").String())

			rep = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "contacts-update.csv", second)})
			assert.EqualValues(t, 5, rep.Rows)
			assert.EqualValues(t, 2, rep.Created)
			assert.EqualValues(t, 2, rep.Updated)
			assert.EqualValues(t, 1, rep.Unchanged)
			got = all(t, s)
			require.Len(t, got, 10)
			assert.Equal(t, "Hamburg", got["anna.schmidt@example.de"].Get("city").Str())
			emma := got["emma.jones@example.co.uk"]
			assert.Equal(t, "Jones-Taylor", emma.Get("last_name").Str())
			assert.Equal(t, "London", emma.Get("city").Str(), "an empty cell never blanks a stored value")
			assert.Equal(t, "2210", emma.Get("lifetime_value").String())
		})
	}
}

const actionStore = `email,first_name
known@example.com,Known
twin@example.com,Twin A
`

const actionFile = `email,first_name
new@example.com,New
known@example.com,Known Again
NEW@example.com,New Again
,Nobody
twin@example.com,Twin B
new2@example.com,New Two
known@example.com,Known
`

// TestActions checks the record-action table on intake.Action end to end
// on both stores. The store holds known@ and twin@ — twin@ twice, as two records
// (a store may hold duplicates: every match is updated or opted out).
func TestActions(t *testing.T) {
	t.Parallel()
	type counts struct{ rows, created, updated, unchanged, skipped, optedOut, rejected, records int64 }
	tests := []struct {
		action  intake.Action
		want    counts
		reasons map[intake.Code]int64
		stored  int // records after the run
	}{
		{intake.ActionCreate, counts{7, 2, 0, 0, 2, 0, 3, 0}, map[intake.Code]int64{"exists": 2, "duplicate": 2, "missing_key": 1}, 5},
		{intake.ActionAddOnly, counts{7, 2, 0, 0, 2, 0, 3, 0}, map[intake.Code]int64{"exists": 2, "duplicate": 2, "missing_key": 1}, 5},
		{intake.ActionUpdateOnly, counts{7, 0, 3, 0, 3, 0, 1, 4}, map[intake.Code]int64{"no_match": 3, "missing_key": 1}, 3},
		{intake.ActionAddAndUpdate, counts{7, 2, 4, 0, 0, 0, 1, 5}, map[intake.Code]int64{"missing_key": 1}, 5},
		{intake.ActionOptOut, counts{7, 0, 0, 0, 3, 3, 1, 4}, map[intake.Code]int64{"no_match": 3, "missing_key": 1}, 3},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 3, 1000} {
			for name, s := range stores(t) {
				t.Run(fmt.Sprintf("%s/%s/batch%d", tt.action, name, batch), func(t *testing.T) {
					t.Parallel()
					// Seed: known@ once, twin@ twice (NoSync creates every row).
					runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "seed.csv", actionStore), Action: identity.Create, Identity: importer.NoSync()})
					runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "seed.csv", "email\ntwin@example.com\n"), Action: identity.AddOnly, Identity: importer.NoSync()})

					rep := runJob(t, importer.Config{Sink: s, BatchSize: batch}, importer.Job{Source: csvSource(t, "file.csv", actionFile), Action: identity.Preset(tt.action)})
					got := counts{rep.Rows, rep.Created, rep.Updated, rep.Unchanged, rep.Skipped, rep.OptedOut, rep.Rejected, rep.Records}
					assert.Equal(t, tt.want, got)
					assert.Equal(t, tt.reasons, rep.Reasons)
					n := 0
					require.NoError(t, s.Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
						n++
						if tt.action == intake.ActionOptOut {
							email := r.Get("email").Str()
							assert.Equal(t, email == "known@example.com" || email == "twin@example.com", r.OptedOut, email)
						}
						return nil
					}))
					assert.Equal(t, tt.stored, n)
				})
			}
		}
	}
}

// TestAddAndUpdateInFileDuplicates: later rows update the record the first
// created, whether they fall in the same batch or a later one, and the store
// ends with one record per key.
func TestAddAndUpdateInFileDuplicates(t *testing.T) {
	t.Parallel()
	data := "email,city\na@x.io,One\nb@x.io,Two\nA@X.IO,Three\na@x.io,Three\n"
	for _, batch := range []int{1, 2, 1000} {
		for name, s := range stores(t) {
			t.Run(fmt.Sprintf("%s/batch%d", name, batch), func(t *testing.T) {
				t.Parallel()
				rep := runJob(t, importer.Config{Sink: s, BatchSize: batch}, importer.Job{Source: csvSource(t, "f.csv", data)})
				assert.EqualValues(t, 2, rep.Created)
				assert.EqualValues(t, 1, rep.Updated)
				assert.EqualValues(t, 1, rep.Unchanged)
				got := all(t, s)
				require.Len(t, got, 2)
				assert.Equal(t, "Three", got["a@x.io"].Get("city").Str())
			})
		}
	}
}

func TestOptedOutContactIsNotResubscribed(t *testing.T) {
	t.Parallel()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "a.csv", "email,city\na@x.io,Rome\n")})
			rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "b.csv", "email\na@x.io\n"), Action: identity.OptOut})
			assert.EqualValues(t, 1, rep.OptedOut)
			rep = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "c.csv", "email,city\na@x.io,Milan\n")})
			assert.EqualValues(t, 1, rep.Updated)
			got := all(t, s)["a@x.io"]
			assert.Equal(t, "Milan", got.Get("city").Str())
			assert.True(t, got.OptedOut, "an import never re-subscribes an opted-out contact")
		})
	}
}

func TestCompositeSyncFields(t *testing.T) {
	t.Parallel()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := "First Name,Last Name,City\nAnna,Schmidt,Berlin\nanna,SCHMIDT,Hamburg\nAnna,Weber,Köln\n,Schmidt,Bonn\n,,Nowhere\n"
			rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", data), Identity: importer.SyncOn("first_name", "last_name")})
			assert.EqualValues(t, 3, rep.Created, "Schmidt/Weber, and the row with an empty first name (a blank key matches nothing)")
			assert.EqualValues(t, 1, rep.Updated)
			assert.EqualValues(t, 1, rep.Rejected)
			assert.Equal(t, map[intake.Code]int64{"missing_key": 1}, rep.Reasons)
		})
	}
}

func TestDryRunWritesNothingAndCountsTheSame(t *testing.T) {
	t.Parallel()
	first := readFile(t, "../examples/quickstart/contacts.csv")
	second := readFile(t, "../examples/quickstart/contacts-update.csv")
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dry := runJob(t, importer.Config{Sink: s, BatchSize: 4}, importer.Job{Source: csvSource(t, "contacts.csv", first), DryRun: true})
			assert.True(t, dry.DryRun)
			assert.Empty(t, all(t, s), "a dry run writes nothing")
			real := runJob(t, importer.Config{Sink: s, BatchSize: 4}, importer.Job{Source: csvSource(t, "contacts.csv", first)})
			assert.Equal(t, []int64{real.Rows, real.Created, real.Updated, real.Rejected}, []int64{dry.Rows, dry.Created, dry.Updated, dry.Rejected})

			dry = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "u.csv", second), DryRun: true})
			before := all(t, s)
			real = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "u.csv", second)})
			assert.Equal(t, []int64{real.Created, real.Updated, real.Unchanged}, []int64{dry.Created, dry.Updated, dry.Unchanged},
				"with a Getter, a dry run tells updated from unchanged")
			assert.Len(t, before, 8)
		})
	}
}

func TestRejectsFile(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	data := "E-Mail,First Name\nok@x.io,Ok\nbroken,Bad\n\"a@b.co\",\"x\",extra\nok@x.io,Dup\n"
	rep := runJob(t, importer.Config{Sink: memory.New(memory.Config{})},
		importer.Job{Source: csvSource(t, "f.csv", data), Rejects: &out, Action: identity.AddOnly})
	assert.EqualValues(t, 3, rep.Rejected)
	recs := readRagged(t, out.String())
	require.Len(t, recs, 4)
	assert.Equal(t, []string{"error_line", "error_code", "error_column", "error_field", "error_message", "E-Mail", "First Name"}, recs[0])
	assert.Equal(t, []string{"3", "invalid_email"}, recs[1][:2])
	assert.Equal(t, []string{"broken", "Bad"}, recs[1][5:])
	assert.Equal(t, []string{"4", string(intake.CodeFieldCount)}, recs[2][:2])
	assert.Equal(t, []string{"a@b.co", "x", "extra"}, recs[2][5:], "a ragged row keeps all of its cells")
	assert.Equal(t, []string{"5", "duplicate"}, recs[3][:2])
}

func readRagged(t *testing.T, s string) [][]string {
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	require.NoError(t, err)
	return recs
}

func TestReportErrorsAreCappedButCounted(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("email\n")
	for i := range 250 {
		fmt.Fprintf(&b, "bad%d\n", i)
	}
	rep := runJob(t, importer.Config{Sink: memory.New(memory.Config{}), MaxReportErrors: 10},
		importer.Job{Source: csvSource(t, "f.csv", b.String())})
	assert.EqualValues(t, 250, rep.Rejected)
	assert.Len(t, rep.Errors, 10)
	assert.True(t, rep.ErrorsTruncated)

	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	for _, k := range []string{"status", "rows", "created", "updated", "unchanged", "skipped", "opted_out", "rejected", "errors"} {
		assert.Contains(t, m, k, "the run report has %q", k)
	}
	first := m["errors"].([]any)[0].(map[string]any)
	for _, k := range []string{"line", "column", "field", "code", "message"} {
		assert.Contains(t, first, k)
	}
}

// failingSink wraps a real sink and fails its n-th Write: the fault
// injection a sink failure mid-run needs.
type failingSink struct {
	store
	failAt int32
	writes atomic.Int32
}

var errDiskFull = errors.New("disk full")

func (f *failingSink) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	if f.writes.Add(1) == f.failAt {
		return 0, &sink.RecordError{ID: batch[0].Record.ID, Line: batch[0].Record.Line, Err: errDiskFull}
	}
	return f.store.Write(ctx, batch)
}

func generated(n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("email,first_name,city\n")
	for i := range n {
		fmt.Fprintf(&b, "person%d@example.com,Name%d,City%d\n", rng.IntN(n), i, rng.IntN(50))
	}
	return b.String()
}

// TestSinkFailureMidRunThenRerun: the third batch fails; the run fails with
// a clear error naming what was committed; running again completes and the
// store holds each key exactly once.
func TestSinkFailureMidRunThenRerun(t *testing.T) {
	t.Parallel()
	data := generated(500, 7)
	distinct := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(data), "\n")[1:] {
		distinct[strings.Split(l, ",")[0]] = true
	}
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fs := &failingSink{store: s, failAt: 3}
			im, err := importer.New(importer.Config{Sink: fs, BatchSize: 100})
			require.NoError(t, err)
			rep, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "big.csv", data)})
			require.Error(t, err)
			assert.ErrorIs(t, err, errDiskFull)
			assert.Contains(t, err.Error(), "200 rows were committed before the failure")
			assert.Equal(t, importer.StatusFailed, rep.Status)
			assert.EqualValues(t, 200, rep.Rows)
			checkInvariant(t, rep)
			assert.Len(t, all(t, s), int(rep.Created), "the failed batch left nothing behind")

			rep = runJob(t, importer.Config{Sink: s, BatchSize: 100}, importer.Job{Source: csvSource(t, "big.csv", data)})
			assert.EqualValues(t, 500, rep.Rows)
			assert.Len(t, all(t, s), len(distinct), "every key exactly once after the re-run")
		})
	}
}

// cancelingSource cancels the run's context after n rows.
type cancelingSource struct {
	connector.Source
	n      int
	cancel context.CancelFunc
}

func (c *cancelingSource) Read(ctx context.Context) (intake.Row, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.Source.Read(ctx)
}

func TestCancelKeepsCommittedBatchesConsistent(t *testing.T) {
	t.Parallel()
	data := generated(3000, 3)
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			im, err := importer.New(importer.Config{Sink: s, BatchSize: 100})
			require.NoError(t, err)
			src := &cancelingSource{Source: csvSource(t, "big.csv", data), n: 1500, cancel: cancel}
			rep, err := im.Run(ctx, importer.Job{Source: src})
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, importer.StatusCanceled, rep.Status)
			checkInvariant(t, rep)
			assert.Less(t, rep.Rows, int64(3000))
			assert.Zero(t, rep.Rows%100, "only whole batches are committed")
			assert.Len(t, all(t, s), int(rep.Created))
		})
	}
}

// TestInvariantOnRandomInput is a property test: for random files, actions
// and batch sizes, every input row is accounted for exactly once.
func TestInvariantOnRandomInput(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(42, 42))
	cells := []string{"a@x.io", "A@X.IO ", "b@x.io", "not-an-email", "", "c@x.io", "d@x.io", "\"quoted, comma\"@x.io"}
	for iter := range 60 {
		var b strings.Builder
		b.WriteString("email,city,lifetime_value\n")
		n := rng.IntN(40)
		for range n {
			fmt.Fprintf(&b, "%s,%s,%s\n", cells[rng.IntN(len(cells))], []string{"Rome", "", "Oslo"}[rng.IntN(3)], []string{"1", "x", "", "2.50"}[rng.IntN(4)])
		}
		action := intake.Actions[rng.IntN(len(intake.Actions))]
		s := memory.New(memory.Config{})
		runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "seed.csv", "email\nb@x.io\nc@x.io\n")})
		rep := runJob(t, importer.Config{Sink: s, BatchSize: 1 + rng.IntN(8), Workers: 1 + rng.IntN(3)},
			importer.Job{Source: csvSource(t, "f.csv", b.String()), Action: identity.Preset(action), DryRun: rng.IntN(4) == 0})
		require.EqualValues(t, n, rep.Rows, "iteration %d: every data row is counted (%s)", iter, action)
	}
}

func TestConfigAndJobErrors(t *testing.T) {
	t.Parallel()
	_, err := importer.New(importer.Config{BatchSize: -1})
	assert.ErrorIs(t, err, importer.ErrNoSink)
	assert.ErrorContains(t, err, "BatchSize -1 is negative")

	im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
	require.NoError(t, err)
	rep, err := im.Run(context.Background(), importer.Job{})
	assert.ErrorIs(t, err, importer.ErrNoSource)
	assert.Equal(t, importer.StatusFailed, rep.Status)

	_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", "email\na@b.co\n"), Identity: importer.SyncOn("shoe_size")})
	assert.ErrorContains(t, err, `"shoe_size" is not a field`)
	_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", "email\na@b.co\n"), Action: identity.UpdateOnly, Identity: importer.NoSync()})
	assert.ErrorContains(t, err, "needs sync fields")
	_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", ""), Action: identity.Matrix{OnMatch: "upsert", OnNoMatch: identity.NoMatchCreate}})
	assert.ErrorContains(t, err, `unknown on-match choice "upsert"`)
}

func TestFatalSourceErrorFailsTheRun(t *testing.T) {
	t.Parallel()
	im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
	require.NoError(t, err)
	rep, err := im.Run(context.Background(), importer.Job{Source: csvSource(t, "empty.csv", "")})
	require.Error(t, err)
	assert.Equal(t, importer.StatusFailed, rep.Status)

	r := io.MultiReader(strings.NewReader(generated(300, 9)), iotestErr{})
	src, err := connector.NewCSV(r, connector.CSVConfig{Name: "broken.csv"})
	require.NoError(t, err)
	rep, err = im.Run(context.Background(), importer.Job{Source: src})
	require.ErrorIs(t, err, errBrokenPipe)
	assert.Equal(t, importer.StatusFailed, rep.Status)
	checkInvariant(t, rep)
}

var errBrokenPipe = errors.New("connection reset")

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errBrokenPipe }

// TestDryRunMemoryIsBounded: beyond Config.DryRunRecords a dry run stops
// remembering records, and a repeated row of a forgotten record counts as
// updated instead of unchanged; the counts still add up.
func TestDryRunMemoryIsBounded(t *testing.T) {
	t.Parallel()
	data := "email,city\na@x.io,Rome\nb@x.io,Oslo\nc@x.io,Lima\na@x.io,Rome\nb@x.io,Oslo\nc@x.io,Lima\n"
	exact := runJob(t, importer.Config{Sink: memory.New(memory.Config{})}, importer.Job{Source: csvSource(t, "f.csv", data), DryRun: true})
	assert.Equal(t, []int64{3, 0, 3}, []int64{exact.Created, exact.Updated, exact.Unchanged})
	capped := runJob(t, importer.Config{Sink: memory.New(memory.Config{}), DryRunRecords: 2}, importer.Job{Source: csvSource(t, "f.csv", data), DryRun: true})
	assert.Equal(t, []int64{3, 1, 2}, []int64{capped.Created, capped.Updated, capped.Unchanged}, "c@x.io is beyond the limit")
}

// TestSampleDrivesAutoFormatsAndSuggestions: the first rows reach the
// mapping: an "auto" date column is read as dd.MM.yyyy because one value
// has a day above 12; a column named "Column 2" full of emails is mapped by
// its content; an ambiguous sample is refused before anything is written.
func TestSampleDrivesAutoFormatsAndSuggestions(t *testing.T) {
	t.Parallel()
	spec := &mapping.Spec{Columns: []mapping.Column{
		{Source: "Mail", Field: "email"},
		{Source: "Geburtstag", Field: "birthday", Format: "auto"},
	}}
	s := memory.New(memory.Config{})
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{
		Source:  csvSource(t, "f.csv", "Mail;Geburtstag\na@x.io;03.04.1985\nb@x.io;24.12.1990\n"),
		Mapping: spec,
	})
	assert.EqualValues(t, 2, rep.Created)
	assert.Equal(t, "1985-04-03", all(t, s)["a@x.io"].Get("birthday").String(), "dd.MM.yyyy, decided by 24.12")

	rep = runJob(t, importer.Config{Sink: s}, importer.Job{
		Source: csvSource(t, "g.csv", "Column 1,Column 2\nZoë,zoe@example.com\nAl,al@example.com\nBo,bo@example.com\n"),
	})
	assert.EqualValues(t, 3, rep.Created, "the emails were found by their content")
	assert.Contains(t, rep.Source.Mapping, "Column 2 → email")

	im, err := importer.New(importer.Config{Sink: s})
	require.NoError(t, err)
	_, err = im.Run(context.Background(), importer.Job{
		Source:  csvSource(t, "h.csv", "Mail;Geburtstag\nc@x.io;03/04/1985\n"),
		Mapping: spec,
	})
	assert.ErrorIs(t, err, mapping.ErrAmbiguousFormat, "03/04/1985 fits dd/MM and MM/dd: refused, not guessed")

	src, err := connector.NewCSV(strings.NewReader("a@x.io,Rome\n"), connector.CSVConfig{NoHeader: true})
	require.NoError(t, err)
	_, err = im.Run(context.Background(), importer.Job{Source: src})
	assert.ErrorContains(t, err, "without a header row needs a mapping")
}

// sizedSink asks for batches of 3 and counts the batches it gets.
type sizedSink struct {
	store
	writes, largest int
}

func (s *sizedSink) BatchSize() int { return 3 }

func (s *sizedSink) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	s.writes++
	s.largest = max(s.largest, len(batch))
	return s.store.Write(ctx, batch)
}

func TestSinkChoosesTheBatchSize(t *testing.T) {
	t.Parallel()
	s := &sizedSink{store: memory.New(memory.Config{})}
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", generated(10, 5))})
	assert.EqualValues(t, 10, rep.Rows)
	assert.Equal(t, 3, s.largest, "the sink's BatchSize is the default")
	assert.GreaterOrEqual(t, s.writes, 4)

	s = &sizedSink{store: memory.New(memory.Config{})}
	runJob(t, importer.Config{Sink: s, BatchSize: 1000}, importer.Job{Source: csvSource(t, "f.csv", generated(10, 5))})
	assert.Equal(t, 1, s.writes, "Config.BatchSize wins over the sink's")
}
