package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// A writer plan: writers files of contacts over keys distinct emails,
// file w holding keys [w·keys/writers, w·keys/writers + 2·keys/writers)
// (mod keys): every key is in two files.
type writersPlan struct {
	writers, keys, batch int
}

func (p writersPlan) file(w int) []byte {
	var b bytes.Buffer
	b.WriteString("email,first_name,city\n")
	step := p.keys / p.writers
	for i := w * step; i < w*step+2*step; i++ {
		fmt.Fprintf(&b, "c%05d@example.com,W%d,City %d\n", i%p.keys, w, i)
	}
	return b.Bytes()
}

// writerJob is what one writer runs: the child process of
// TestConcurrentImportsProcesses reads it from INTAKE_TEST_WRITER.
type writerJob struct {
	Store  string `json:"store"` // sqlite:PATH or postgres:SCHEMA
	File   string `json:"file"`
	Action string `json:"action"`
	Merge  string `json:"merge,omitempty"`
	Batch  int    `json:"batch"`
}

// openWriterStore opens the store a writer job names, closed at ctx's end
// of use by the returned func. A PostgreSQL store reads the database's URL
// from pgtest.Env itself: a writer runs in a goroutine or a child process,
// neither of which can skip the test.
func openWriterStore(ctx context.Context, store string) (sink.Sink, func(), error) {
	kind, arg, _ := strings.Cut(store, ":")
	switch kind {
	case "sqlite-host":
		s, err := sqlite.Open(ctx, arg, sqlite.Config{BusyTimeout: 2 * time.Minute})
		if err != nil {
			return nil, nil, err
		}
		m := sink.TableMapping{Table: "contacts", Columns: map[string]string{"email": "email", "first_name": "first_name"},
			JSONBColumn: "attrs", KeyColumns: map[string]string{"email": "email_key"}, OrderColumn: "rowid"}
		ht, err := sqlite.NewTable(ctx, s.DB(), intake.ObjectContact, m, sqlite.Config{})
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		return ht, func() { s.Close() }, nil
	case "postgres-host":
		pool, err := pgxpool.New(ctx, os.Getenv(pgtest.Env))
		if err != nil {
			return nil, nil, err
		}
		m := sink.TableMapping{Table: "contacts", Columns: map[string]string{"email": "email", "first_name": "first_name"},
			JSONBColumn: "attrs", KeyColumns: map[string]string{"email": "email_key"}, OrderColumn: "pk"}
		pg, err := postgres.New(ctx, pool, postgres.Config{Schema: arg, Tables: map[string]sink.TableMapping{intake.ObjectContact: m}})
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return pg, func() { pg.Close(); pool.Close() }, nil
	case "sqlite":
		// Four writers, under the race detector on a loaded machine, may
		// wait longer than the default 5 s for the write lock.
		s, err := sqlite.Open(ctx, arg, sqlite.Config{BusyTimeout: 2 * time.Minute})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case "postgres":
		pool, err := pgxpool.New(ctx, os.Getenv(pgtest.Env))
		if err != nil {
			return nil, nil, err
		}
		pg, err := postgres.New(ctx, pool, postgres.Config{Schema: arg})
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return pg, func() { pg.Close(); pool.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q", store)
}

// runWriter runs job, as a writer process or goroutine does.
func runWriter(ctx context.Context, s sink.Sink, job writerJob) (*importer.Report, error) {
	f, err := os.Open(job.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := connector.NewCSV(f, connector.CSVConfig{})
	if err != nil {
		return nil, err
	}
	im, err := importer.New(importer.Config{Sink: s, BatchSize: job.Batch})
	if err != nil {
		return nil, err
	}
	action, err := intake.ParseAction(job.Action)
	if err != nil {
		return nil, err
	}
	return im.Run(ctx, importer.Job{Source: src, Action: identity.Preset(action), Identity: importer.SyncOn("email"), Merge: identity.MergePolicy{Default: identity.Merge(job.Merge)}})
}

// TestWriterProcess is the child process of TestConcurrentImportsProcesses:
// it runs the writer job of INTAKE_TEST_WRITER and prints its report.
func TestWriterProcess(t *testing.T) {
	spec := os.Getenv("INTAKE_TEST_WRITER")
	if spec == "" {
		t.Skip("runs only as a writer process of TestConcurrentImportsProcesses")
	}
	var job writerJob
	require.NoError(t, json.Unmarshal([]byte(spec), &job))
	s, done, err := openWriterStore(context.Background(), job.Store)
	require.NoError(t, err)
	defer done()
	rep, err := runWriter(context.Background(), s, job)
	require.NoError(t, err)
	js, err := json.Marshal(rep)
	require.NoError(t, err)
	fmt.Printf("\nREPORT %s\n", js)
}

// TestConcurrentImportsProcesses runs four processes that import
// overlapping files into one store at the same time, five times: no key is
// ever stored twice, the created counts of the runs add up to the distinct
// keys, and every report accounts for its rows.
func TestConcurrentImportsProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts 40 processes")
	}
	plan := writersPlan{writers: 4, keys: 2000, batch: 200}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			for round := range 5 {
				dir := t.TempDir()
				store := "sqlite:" + filepath.Join(dir, "crm.db")
				if kind == "postgres" {
					store = "postgres:" + pgtest.Schema(t)
				}
				// The store exists before the writers start, as a host's does.
				s, done, err := openWriterStore(context.Background(), store)
				require.NoError(t, err)
				reps := make([]*importer.Report, plan.writers)
				var wg sync.WaitGroup
				errs := make([]error, plan.writers)
				for w := range plan.writers {
					file := filepath.Join(dir, fmt.Sprintf("w%d.csv", w))
					require.NoError(t, os.WriteFile(file, plan.file(w), 0o600))
					js, err := json.Marshal(writerJob{Store: store, File: file, Action: "add_and_update", Batch: plan.batch})
					require.NoError(t, err)
					cmd := exec.Command(os.Args[0], "-test.run=^TestWriterProcess$", "-test.count=1")
					cmd.Env = append(os.Environ(), "INTAKE_TEST_WRITER="+string(js))
					wg.Add(1)
					go func() {
						defer wg.Done()
						out, err := cmd.CombinedOutput()
						if err != nil {
							errs[w] = fmt.Errorf("writer %d: %v\n%s", w, err, out)
							return
						}
						_, js, ok := strings.Cut(string(out), "\nREPORT ")
						if !ok {
							errs[w] = fmt.Errorf("writer %d printed no report:\n%s", w, out)
							return
						}
						js, _, _ = strings.Cut(js, "\n")
						reps[w] = &importer.Report{}
						errs[w] = json.Unmarshal([]byte(js), reps[w])
					}()
				}
				wg.Wait()
				for _, err := range errs {
					require.NoError(t, err)
				}
				checkWriters(t, s, plan, reps, fmt.Sprintf("%s round %d", kind, round+1))
				done()
			}
		})
	}
}

// checkWriters checks the store and the reports of writers that imported
// plan's files with add_and_update.
func checkWriters(t *testing.T, s sink.Sink, plan writersPlan, reps []*importer.Report, what string) {
	t.Helper()
	byEmail := map[string]int{}
	require.NoError(t, s.(sink.Scanner).Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
		byEmail[r.Get("email").String()]++
		return nil
	}))
	dups := 0
	for _, n := range byEmail {
		if n > 1 {
			dups++
		}
	}
	require.Zero(t, dups, "%s: keys stored more than once", what)
	var created, raced int64
	require.Len(t, byEmail, plan.keys, "%s: every key is stored", what)
	for w, rep := range reps {
		require.Equal(t, importer.StatusSucceeded, rep.Status, "%s: writer %d", what, w)
		require.Equal(t, int64(2*plan.keys/plan.writers), rep.Rows, "%s: writer %d", what, w)
		require.Equal(t, rep.Rows, rep.Created+rep.Updated+rep.Unchanged+rep.Skipped+rep.OptedOut+rep.Rejected, "%s: writer %d's report adds up", what, w)
		created += rep.Created
		raced += rep.Concurrent
	}
	require.Equal(t, int64(plan.keys), created, "%s: the created counts add up to the distinct keys", what)
	t.Logf("%s: %d records for %d keys, 0 duplicates; created %d, concurrent creates settled %d", what, len(byEmail), plan.keys, created, raced)
}

// newWriterStore creates the store of a kind of TestConcurrentImportsActions
// (a host's contacts table, for the host kinds) and returns its writerJob
// name.
func newWriterStore(t *testing.T, kind, dir string) string {
	t.Helper()
	ctx := context.Background()
	switch kind {
	case "sqlite", "sqlite-host":
		path := filepath.Join(dir, "crm.db")
		if kind == "sqlite-host" {
			s, err := sqlite.Open(ctx, path, sqlite.Config{})
			require.NoError(t, err)
			_, err = s.DB().Exec(`CREATE TABLE contacts (id TEXT PRIMARY KEY, email TEXT,
				email_key TEXT GENERATED ALWAYS AS (lower(trim(email))) VIRTUAL, first_name TEXT, attrs TEXT NOT NULL DEFAULT '{}')`)
			require.NoError(t, err)
			_, err = s.DB().Exec(`CREATE INDEX contacts_email_key ON contacts (email_key)`)
			require.NoError(t, err)
			require.NoError(t, s.Close())
		}
		return kind + ":" + path
	}
	schema := pgtest.Schema(t)
	if kind == "postgres-host" {
		_, err := pgtest.NewPool(t, "").Exec(ctx, `CREATE TABLE `+schema+`.contacts (pk bigint GENERATED ALWAYS AS IDENTITY, id text PRIMARY KEY, email text,
			email_key text GENERATED ALWAYS AS (lower(btrim(email))) STORED, first_name text, attrs jsonb NOT NULL DEFAULT '{}')`)
		require.NoError(t, err)
	}
	return kind + ":" + schema
}

// TestConcurrentImportsActions runs four writers at once in one process,
// each with its own handle on the store (Intake's tables, or a host's
// contacts table through TableMapping), under each action that creates:
// add_and_update updates what another writer created (with a merge rule
// that reads the stored record too), add_only skips it as exists, create
// rejects it as a duplicate; no key is stored twice.
func TestConcurrentImportsActions(t *testing.T) {
	t.Parallel()
	plan := writersPlan{writers: 4, keys: 1200, batch: 100}
	cases := []struct{ action, merge string }{{"add_and_update", ""}, {"add_and_update", "fill_empty"}, {"add_only", ""}, {"create", ""}}
	for _, kind := range []string{"memory", "sqlite", "postgres", "sqlite-host", "postgres-host"} {
		for _, c := range cases {
			t.Run(kind+"/"+c.action+"/"+c.merge, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				dir := t.TempDir()
				handles := make([]sink.Sink, plan.writers)
				switch kind {
				case "memory":
					mem := memory.New(memory.Config{})
					t.Cleanup(func() { mem.Close() })
					for w := range handles {
						handles[w] = mem
					}
				default:
					store := newWriterStore(t, kind, dir)
					for w := range handles {
						s, done, err := openWriterStore(ctx, store)
						require.NoError(t, err)
						t.Cleanup(done)
						handles[w] = s
					}
				}
				reps := make([]*importer.Report, plan.writers)
				errs := make([]error, plan.writers)
				var wg sync.WaitGroup
				for w := range plan.writers {
					file := filepath.Join(dir, fmt.Sprintf("w%d.csv", w))
					require.NoError(t, os.WriteFile(file, plan.file(w), 0o600))
					wg.Add(1)
					go func() {
						defer wg.Done()
						reps[w], errs[w] = runWriter(ctx, handles[w], writerJob{File: file, Action: c.action, Merge: c.merge, Batch: plan.batch})
					}()
				}
				wg.Wait()
				for _, err := range errs {
					require.NoError(t, err)
				}
				if c.action == "add_and_update" {
					checkWriters(t, handles[0], plan, reps, kind)
					return
				}
				// Every row of a key is created once; the other rows of the
				// key are skipped (add_only) or rejected (create), whichever
				// writer came second, whether its lookup saw the record or
				// the sink held its create.
				var created, other, raced int64
				for w, rep := range reps {
					require.Equal(t, rep.Rows, rep.Created+rep.Skipped+rep.Rejected, "writer %d", w)
					created += rep.Created
					other += rep.Skipped + rep.Rejected
					raced += rep.Concurrent
					if c.action == "add_only" {
						require.Zero(t, rep.Rejected, "writer %d", w)
						require.Equal(t, rep.Skipped, rep.Reasons[intake.CodeExists], "writer %d", w)
					} else {
						// A key stored before the run looked it up: exists; one
						// another run created while this one ran: duplicate.
						require.Equal(t, rep.Skipped, rep.Reasons[intake.CodeExists], "writer %d", w)
						require.Equal(t, rep.Rejected, rep.Reasons[intake.CodeDuplicate], "writer %d", w)
						require.Equal(t, rep.Rejected, rep.Concurrent, "writer %d", w)
					}
				}
				require.Equal(t, int64(plan.keys), created)
				require.Equal(t, int64(plan.keys), other)
				t.Logf("%s %s: created %d, skipped or rejected %d, concurrent creates settled %d", kind, c.action, created, other, raced)
			})
		}
	}
}

// latecomer is a memory store whose Lookup does not see the records of
// hidden keys, as if another writer committed them after the run looked
// its keys up; its Write waits a little, so that the run decides its next
// batch meanwhile.
type latecomer struct {
	*memory.Store
	hidden   map[intake.Key]bool
	writes   *int
	failFrom int // the Write calls from this one on fail (0: none)
}

func (l latecomer) Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	res, err := l.Store.Lookup(ctx, s, spec, keys)
	for k := range res {
		if l.hidden[k] {
			delete(res, k)
		}
	}
	return res, err
}

// Undoes reports false: the embedded store's WriteUndo would bypass this
// type's Write.
func (l latecomer) Undoes() bool { return false }

func (l latecomer) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	time.Sleep(20 * time.Millisecond)
	if l.writes != nil {
		*l.writes++
		if l.failFrom > 0 && *l.writes >= l.failFrom {
			return 0, fmt.Errorf("the store went away")
		}
	}
	return l.Store.Write(ctx, batch)
}

// newLatecomer returns a memory store that holds ann@example.com (first
// name Ann, city Köln), created by another writer, whose Lookup misses it.
func newLatecomer(t *testing.T) (latecomer, *intake.Record) {
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { mem.Close() })
	stored := intake.NewRecord(intake.ContactSchema())
	stored.ID = "other-writer"
	stored.Set("email", intake.Text("ann@example.com"))
	stored.Set("first_name", intake.Text("Ann"))
	stored.Set("city", intake.Text("Köln"))
	_, err := mem.Write(context.Background(), []*sink.Op{{Kind: sink.OpCreate, Record: stored}})
	require.NoError(t, err)
	return latecomer{Store: mem, hidden: map[intake.Key]bool{"ann@example.com": true}, writes: new(int)}, stored
}

// TestHeldCreatesLeaveTheOtherRecord: when the action does not update
// (add_only), neither the held row nor the later rows of its key — in its
// batch, merged into the held create, or in the next one, decided while it
// was written — change the other writer's record, whatever the duplicates
// policy.
func TestHeldCreatesLeaveTheOtherRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, stored := newLatecomer(t)
	file := "email,first_name\nann@example.com,Anna\nann@example.com,Anne\nx@example.com,X\nann@example.com,Annie\n"
	im, err := importer.New(importer.Config{Sink: l, BatchSize: 3, Workers: 1})
	require.NoError(t, err)
	rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "f.csv", file), Action: identity.AddOnly, Identity: importer.SyncOn("email"), Duplicates: identity.DuplicatesLast})
	require.NoError(t, err)
	require.Equal(t, [4]int64{4, 1, 0, 3}, [4]int64{rep.Rows, rep.Created, rep.Updated, rep.Skipped}, "%+v", rep)
	require.Equal(t, int64(3), rep.Reasons[intake.CodeExists])
	got, err := l.Get(ctx, intake.ContactSchema(), []string{stored.ID})
	require.NoError(t, err)
	require.Equal(t, "Ann", got[stored.ID].Get("first_name").String())
}

// TestHeldCreatesFollowUpFails: when the write that settles the held rows
// fails, the batch it follows is still counted (and its rejected rows
// written); the held rows are not, and the run fails.
func TestHeldCreatesFollowUpFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newLatecomer(t)
	l.failFrom = 2
	file := "email,first_name\nbob@example.com,Bob\nann@example.com,Anna\nnot-an-email,Bad\n"
	var rejects bytes.Buffer
	im, err := importer.New(importer.Config{Sink: l})
	require.NoError(t, err)
	rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "f.csv", file), Identity: importer.SyncOn("email"), Rejects: &rejects})
	require.ErrorContains(t, err, "the store went away")
	require.Equal(t, [3]int64{2, 1, 1}, [3]int64{rep.Rows, rep.Created, rep.Rejected}, "%+v", rep)
	require.Contains(t, rejects.String(), "not-an-email")
}

// TestHeldCreates checks, row by row, what a run does with the creates the
// sink held because another writer had created their key: the action is
// applied to that record, later rows of the file with the key too (in the
// same batch, merged into the create; in the next batch, decided while the
// create was being written), and the report counts each row once.
func TestHeldCreates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := "email,first_name,city\n" +
		"ann@example.com,Anna,\n" + // stored by the other writer: city kept
		"new@example.com,New,Nowhere\n" +
		"ann@example.com,,Bonn\n" + // the same batch: merged into the held create
		"x1@example.com,X,\n" +
		"ann@example.com,Anne,\n" // the next batch: decided against the held create's id
	for _, c := range []struct {
		action                                          intake.Action
		created, updated, skipped, rejected, concurrent int64
		first, city                                     string
	}{
		{intake.ActionAddAndUpdate, 2, 3, 0, 0, 1, "Anne", "Bonn"},
		{intake.ActionAddOnly, 2, 0, 1, 2, 1, "Ann", "Köln"},
		{intake.ActionCreate, 2, 0, 0, 3, 1, "Ann", "Köln"},
	} {
		t.Run(string(c.action), func(t *testing.T) {
			t.Parallel()
			l, _ := newLatecomer(t)
			mem, s := l.Store, intake.ContactSchema()
			im, err := importer.New(importer.Config{Sink: l, BatchSize: 3, Workers: 1})
			require.NoError(t, err)
			rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "late.csv", file), Action: identity.Preset(c.action), Identity: importer.SyncOn("email")})
			require.NoError(t, err)
			require.Equal(t, int64(5), rep.Rows)
			require.Equal(t, []int64{c.created, c.updated, c.skipped, c.rejected, c.concurrent},
				[]int64{rep.Created, rep.Updated, rep.Skipped, rep.Rejected, rep.Concurrent}, "created, updated, skipped, rejected, concurrent")
			require.Equal(t, rep.Rows, rep.Created+rep.Updated+rep.Unchanged+rep.Skipped+rep.Rejected)
			got, err := mem.Lookup(ctx, s, intake.Keys("email"), []intake.Key{"ann@example.com"})
			require.NoError(t, err)
			require.Equal(t, []string{"other-writer"}, got["ann@example.com"], "one record holds the key")
			recs, err := mem.Get(ctx, s, []string{"other-writer"})
			require.NoError(t, err)
			require.Equal(t, c.first, recs["other-writer"].Get("first_name").String())
			require.Equal(t, c.city, recs["other-writer"].Get("city").String())
			n, err := mem.Count(ctx, intake.ObjectContact)
			require.NoError(t, err)
			require.Equal(t, int64(3), n)
		})
	}
}

// lateCheckpointer is a PostgreSQL store whose Lookup misses the hidden
// keys (another writer's records) and whose WriteCheckpoint fails from call
// failFrom on, as a process that dies would.
type lateCheckpointer struct {
	*postgres.Store
	hidden   map[intake.Key]bool
	calls    int
	failFrom int
}

func (l *lateCheckpointer) Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	res, err := l.Store.Lookup(ctx, s, spec, keys)
	for k := range res {
		if l.hidden[k] {
			delete(res, k)
		}
	}
	return res, err
}

// Undoes reports false: the embedded store's WriteUndo would bypass this
// type's WriteCheckpoint.
func (l *lateCheckpointer) Undoes() bool { return false }

func (l *lateCheckpointer) WriteCheckpoint(ctx context.Context, batch []*sink.Op, cp sink.Checkpoint) (int, error) {
	l.calls++
	if l.failFrom > 0 && l.calls >= l.failFrom {
		return 0, fmt.Errorf("the process died")
	}
	return l.Store.WriteCheckpoint(ctx, batch, cp)
}

// TestHeldCreatesCheckpoint: a checkpointed run that dies after a batch
// whose create the sink held, before it applied the action to the other
// writer's record, reads that row again when it resumes, and no other row
// of the batch.
func TestHeldCreatesCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newWriterStore(t, "postgres", t.TempDir())
	s, done, err := openWriterStore(ctx, store)
	require.NoError(t, err)
	t.Cleanup(done)
	pg := s.(*postgres.Store)
	schema := intake.ContactSchema()
	other := intake.NewRecord(schema)
	other.ID = "01960000-0000-7000-8000-000000000001"
	other.Set("email", intake.Text("ann@example.com"))
	other.Set("city", intake.Text("Köln"))
	_, err = pg.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: other}})
	require.NoError(t, err)
	file := "email,city\nbob@example.com,Rome\nann@example.com,Bonn\ncid@example.com,Oslo\n"
	run := func(l *lateCheckpointer) (*importer.Report, error) {
		im, err := importer.New(importer.Config{Sink: l})
		require.NoError(t, err)
		return im.Run(ctx, importer.Job{Source: csvSource(t, "late.csv", file), Identity: importer.SyncOn("email"), RunID: "late-run"})
	}
	_, err = run(&lateCheckpointer{Store: pg, hidden: map[intake.Key]bool{"ann@example.com": true}, failFrom: 2})
	require.ErrorContains(t, err, "the process died")
	cp, ok, err := pg.LastCheckpoint(ctx, "late-run")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 4, cp.Line)
	require.Equal(t, []int{3}, cp.Pending, "the held create's line is not finished")

	rep, err := run(&lateCheckpointer{Store: pg})
	require.NoError(t, err)
	require.Equal(t, 4, rep.ResumedAfterLine)
	require.Equal(t, [2]int64{1, 1}, [2]int64{rep.Rows, rep.Updated}, "only the held row is read again: %+v", rep)
	got, err := pg.Get(ctx, schema, []string{other.ID})
	require.NoError(t, err)
	require.Equal(t, "Bonn", got[other.ID].Get("city").String())
	n, err := pg.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
}
