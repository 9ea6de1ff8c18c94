package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

// The run of TestSQLiteUndoKilled: killedBatches batches of killedOps ops
// over killedSeed stored contacts.
const (
	killedEnv     = "INTAKE_TEST_UNDO_CHILD" // "write:PATH" or "revert:PATH"
	killedRunID   = "run-killed"
	killedUndoID  = "undo-killed"
	killedSeed    = 2000
	killedBatches = 50
	killedOps     = 200
)

// killedSeedRecords returns the contacts stored before the run: some
// opted out, some inactive.
func killedSeedRecords() []*sink.Op {
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]*sink.Op, killedSeed)
	for i := range out {
		rec := &intake.Record{}
		fixture.GenContact(rec, i, r)
		rec.ID = fmt.Sprintf("seed-%04d", i)
		rec.OptedOut, rec.Inactive = i%7 == 0, i%11 == 0
		out[i] = fixture.Create(rec)
	}
	return out
}

// killedBatch returns the k-th batch of the run: creates, updates of two
// fields (some clearing the phone too) of stored contacts and of those the
// previous batch created, opt-outs and inactivations. A contact may be
// changed by several batches, and twice in one.
func killedBatch(k int) []*sink.Op {
	r := rand.New(rand.NewPCG(uint64(k), 11))
	seed := func() string { return fmt.Sprintf("seed-%04d", r.IntN(killedSeed)) }
	const creates = 60
	var out []*sink.Op
	for i := range creates {
		rec := &intake.Record{}
		fixture.GenContact(rec, killedSeed+k*creates+i, r)
		rec.ID = fmt.Sprintf("new-%02d-%03d", k, i)
		out = append(out, fixture.Create(rec))
	}
	for i := range 100 {
		id := seed()
		if k > 0 && i%5 == 0 {
			id = fmt.Sprintf("new-%02d-%03d", k-1, r.IntN(creates))
		}
		rec := intake.NewRecord(fixture.Contact)
		rec.ID = id
		rec.Set("first_name", intake.Text(fmt.Sprintf("F%d-%d", k, i)))
		rec.Set("city", intake.Text(fmt.Sprintf("C%d", r.IntN(50))))
		var clear []int
		if i%10 == 0 {
			clear = []int{fixture.Contact.Index("phone")}
		}
		out = append(out, fixture.Update(rec, clear...))
	}
	for range 20 {
		out = append(out, fixture.OptOut(seed()))
	}
	for range 20 {
		out = append(out, &sink.Op{Kind: sink.OpInactivate, Record: &intake.Record{Schema: fixture.Contact, ID: seed()},
			Audit: &sink.AuditEntry{Time: time.Now(), Reason: "left"}})
	}
	return out
}

// TestSQLiteUndoKilledChild is the child process of TestSQLiteUndoKilled:
// it writes the run ("write:PATH"), or reverts it batch by batch
// ("revert:PATH"), printing a line per batch.
func TestSQLiteUndoKilledChild(t *testing.T) {
	spec := os.Getenv(killedEnv)
	if spec == "" {
		t.Skip("runs only as a child process of TestSQLiteUndoKilled")
	}
	what, path, _ := strings.Cut(spec, ":")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Config{})
	require.NoError(t, err)
	defer s.Close()
	switch what {
	case "write":
		for k := range killedBatches {
			batch := killedBatch(k)
			n, err := s.WriteUndo(ctx, batch, sink.UndoRun{RunID: killedRunID, Job: "killed"}, nil)
			require.NoError(t, err)
			require.Equal(t, len(batch), n)
			fmt.Printf("WROTE %d\n", k+1)
		}
	case "revert":
		before := int64(0)
		for {
			res, more, err := s.Revert(ctx, killedRunID, before, sink.RevertOptions{UndoID: killedUndoID}, sink.AuditEntry{Time: time.Now(), Reason: "killed"})
			require.NoError(t, err)
			if !more {
				break
			}
			before = res.Seq
			fmt.Printf("REVERTED %d\n", res.Seq)
		}
		fmt.Println("DONE")
	default:
		t.Fatalf("%s=%q: want write:PATH or revert:PATH", killedEnv, spec)
	}
}

// killedChild returns the command of a child process of
// TestSQLiteUndoKilled that does what to the database path.
func killedChild(what, path string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteUndoKilledChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killedEnv+"="+what+":"+path)
	return cmd
}

// scanContacts returns every contact of s, cloned.
func scanContacts(t *testing.T, s *sqlite.Store) map[string]*intake.Record {
	t.Helper()
	out := map[string]*intake.Record{}
	require.NoError(t, s.Scan(context.Background(), fixture.Contact, func(r *intake.Record) error {
		out[r.ID] = r.Clone()
		return nil
	}))
	return out
}

// TestSQLiteUndoKilled: a process writes a run of 50 batches with
// WriteUndo; another reverts it batch by batch and is killed (SIGKILL)
// after a few batches, mid-way through the next. Every batch is then
// reverted or as it was: this process reverts the rest, and every contact
// is exactly as before the run, values and flags, and the run undone.
func TestSQLiteUndoKilled(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts two processes")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "killed.db")
	s, err := sqlite.Open(ctx, path, sqlite.Config{})
	require.NoError(t, err)
	n, err := s.Write(ctx, killedSeedRecords())
	require.NoError(t, err)
	require.Equal(t, killedSeed, n)
	before := scanContacts(t, s)
	require.NoError(t, s.Close())

	out, err := killedChild("write", path).CombinedOutput()
	require.NoError(t, err, "the writer:\n%s", out)
	require.Contains(t, string(out), fmt.Sprintf("WROTE %d\n", killedBatches))

	s, err = sqlite.Open(ctx, path, sqlite.Config{})
	require.NoError(t, err)
	defer s.Close()
	st, err := s.UndoStatus(ctx, killedRunID)
	require.NoError(t, err)
	require.Equal(t, sink.UndoKept, st.State)
	require.EqualValues(t, killedBatches, st.Batches)
	require.NotEqual(t, len(before), len(scanContacts(t, s)), "the run created contacts")

	// The reverter, killed after it reported a few batches.
	const reported = 5
	cmd := killedChild("revert", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	seen := 0
	for seen < reported && lines.Scan() {
		if strings.HasPrefix(lines.Text(), "REVERTED ") {
			seen++
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	printed := seen
	for lines.Scan() { // what it printed before it died
		require.NotEqual(t, "DONE", lines.Text(), "the reverter finished before it was killed")
		if strings.HasPrefix(lines.Text(), "REVERTED ") {
			printed++
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the reverter: %v\n%s", err, stderr.String())
	ws, _ := exit.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the reverter was killed: %v\n%s", err, stderr.String())

	st, err = s.UndoStatus(ctx, killedRunID)
	require.NoError(t, err)
	require.Equal(t, sink.UndoUndoing, st.State)
	require.Equal(t, killedUndoID, st.UndoneBy)
	left := int(st.Batches)
	require.True(t, left == killedBatches-printed || left == killedBatches-printed-1,
		"the killed reverter reported %d batches reverted: each is, and the one it was reverting is whole or untouched: %d left", printed, left)
	t.Logf("the reverter was killed after %d batches, %d left", printed, left)

	res := revertAll(t, s, killedRunID, killedUndoID)
	require.Zero(t, res.Conflicted, "%v", res.Conflicts)
	requireRecords(t, before, scanContacts(t, s), "after the undo")
	st, err = s.UndoStatus(ctx, killedRunID)
	require.NoError(t, err)
	require.Equal(t, sink.UndoUndone, st.State)
	require.Zero(t, st.Batches)
	var check string
	require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check))
	require.Equal(t, "ok", check)
}
