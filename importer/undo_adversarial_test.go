package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// undoStore is a store under test that keeps undo logs.
type undoStore interface {
	objectStore
	sink.Undoer
	sink.SchemaReader
}

// undoCounts are an undo report's counts, to compare a dry run with the undo.
func undoCounts(r *importer.UndoReport) [6]int64 {
	return [6]int64{r.Rows, r.Reverted, r.Restored, r.Unchanged, r.Conflicted, r.Forced}
}

// undoAndCompare dry-runs the undo of run, undoes it, and requires the
// counts of both to be equal and the store to be as text0/recs0 after.
func undoAndCompare(t *testing.T, im *importer.Importer, s objectStore, run string, force bool, text0 string, recs0 map[string]*intake.Record, msg string) *importer.UndoReport {
	t.Helper()
	ctx := context.Background()
	textB, recsB := exportAll(t, s)
	dry, err := im.Undo(ctx, importer.UndoJob{RunID: run, DryRun: true, Force: force})
	require.NoError(t, err, msg)
	text, recs := exportAll(t, s)
	requireSameStore(t, textB, recsB, text, recs, msg+": after the dry run")
	undo, err := im.Undo(ctx, importer.UndoJob{RunID: run, Force: force})
	require.NoError(t, err, msg)
	require.Equal(t, undoCounts(dry), undoCounts(undo), "%s: dry run %+v, undo %+v", msg, dry, undo)
	require.Equal(t, undo.Rows, undo.Reverted+undo.Restored+undo.Unchanged+undo.Conflicted, "%s: %+v", msg, undo)
	text, recs = exportAll(t, s)
	if text0 == "" { // records only: their order may differ
		text0 = text
	}
	requireSameStore(t, text0, recs0, text, recs, msg+": after the undo")
	return undo
}

// TestAdversarialUndoDuplicatesAcrossBatches: a file that names the same
// keys several times, with batches of two rows, so that a record is created
// in one batch and changed in the next ones, under last-wins and merge.
func TestAdversarialUndoDuplicatesAcrossBatches(t *testing.T) {
	t.Parallel()
	seed := "email,first_name,last_name,city\nann@x.io,Ann,Alt,Köln\nben@x.io,Ben,Bauer,Bonn\n"
	file := "email,first_name,last_name,city\n" +
		"dan@x.io,Dan,,Dresden\n" + // created
		"ann@x.io,A1,,\n" +
		"dan@x.io,D2,Dorn,\n" + // batch 2: the created record changes
		"ann@x.io,A2,Alt2,\n" +
		"ben@x.io,Ben,Bauer,Bonn\n" + // unchanged
		"dan@x.io,D3,,Dessau\n" +
		"ann@x.io,Ann,Alt,Köln\n" + // back to the seed: the run's net change of ann is nothing
		"eve@x.io,Eve,,\n" +
		"eve@x.io,,Ende,\n" +
		"dan@x.io,Dan,,Dresden\n" // dan as first created
	for _, name := range storeNames(t) {
		for _, dup := range []identity.Duplicates{identity.DuplicatesLast, identity.DuplicatesMerge, identity.DuplicatesDefault} {
			t.Run(name+"/"+string(dup), func(t *testing.T) {
				t.Parallel()
				s := newObjectStore(t, name)
				im, err := importer.New(importer.Config{Sink: s, BatchSize: 2})
				require.NoError(t, err)
				ctx := context.Background()
				_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", seed)})
				require.NoError(t, err)
				text0, recs0 := exportAll(t, s)
				rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "dup.csv", file), Duplicates: dup})
				require.NoError(t, err)
				checkInvariant(t, rep)
				require.True(t, rep.Undoable, rep.UndoReason)
				undoAndCompare(t, im, s, rep.RunID, false, text0, recs0, "duplicates "+string(dup))
			})
		}
	}
}

// TestAdversarialUndoOlderThenNewer: run A and a newer run B change the
// same records; undoing A first leaves conflicts, undoing B then reverts
// it whole, and a forced undo of A brings back the state before both.
func TestAdversarialUndoOlderThenNewer(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, name string, s objectStore) {
		ctx := context.Background()
		im, err := importer.New(importer.Config{Sink: s, BatchSize: 2})
		require.NoError(t, err)
		_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name,last_name,city\nann@x.io,Ann,Alt,Köln\nben@x.io,Ben,Bauer,Bonn\ncid@x.io,Cid,Can,\n")})
		require.NoError(t, err)
		text0, recs0 := exportAll(t, s)
		a, err := im.Run(ctx, importer.Job{Source: csvSource(t, "a.csv", "email,first_name,last_name,city\nann@x.io,A-ann,,\nben@x.io,A-ben,,Berlin\ndan@x.io,A-dan,,\ncid@x.io,,,Celle\n")})
		require.NoError(t, err)
		_, recsA := exportAll(t, s)
		b, err := im.Run(ctx, importer.Job{Source: csvSource(t, "b.csv", "email,first_name,last_name,city\nann@x.io,B-ann,,\ndan@x.io,,B-dan,\ncid@x.io,,Cole,\n")})
		require.NoError(t, err)

		undoA, err := im.Undo(ctx, importer.UndoJob{RunID: a.RunID})
		require.NoError(t, err)
		require.EqualValues(t, 2, undoA.Conflicted, "ann and dan changed after A (cid in another field than A's): %+v", undoA)
		require.Equal(t, sink.UndoUndoing, undoA.State)
		_, recs := exportAll(t, s)
		require.Equal(t, "Ben", recs[idOf(t, recs, "ben@x.io")].Get("first_name").String(), "ben, not in conflict, is reverted")
		cid := recs[idOf(t, recs, "cid@x.io")]
		require.True(t, cid.Get("city").IsNull(), "cid's city, which only A wrote, is reverted")
		require.Equal(t, "Cole", cid.Get("last_name").String(), "cid's last name, B's, stays")

		// B's undo sees records as B left them (A's undo touched only ben).
		undoB, err := im.Undo(ctx, importer.UndoJob{RunID: b.RunID})
		require.NoError(t, err)
		require.Zero(t, undoB.Conflicted, "%+v", undoB)
		require.Equal(t, sink.UndoUndone, undoB.State)
		// The state is A's, ben aside.
		_, recs = exportAll(t, s)
		for _, e := range []string{"ann@x.io", "dan@x.io"} {
			id := idOf(t, recsA, e)
			for _, f := range []string{"first_name", "last_name", "city"} {
				require.Equal(t, recsA[id].Get(f), recs[id].Get(f), "%s.%s", e, f)
			}
		}

		undo := undoAndCompare(t, im, s, a.RunID, true, text0, recs0, "forced undo of A")
		require.Equal(t, sink.UndoUndone, undo.State)
	})
}

// TestAdversarialUndoConsent: a run that re-subscribes an opted-out
// contact (lifting its opt-out) and opts another out on a channel is
// undone, then the opt-out run before it.
func TestAdversarialUndoConsent(t *testing.T) {
	t.Parallel()
	chans := []identity.Channel{{Name: "email", AllowResubscribe: true}, {Name: "sms"}}
	onEachStore(t, func(t *testing.T, name string, s objectStore) {
		ctx := context.Background()
		im, err := importer.New(importer.Config{Sink: s, BatchSize: 2})
		require.NoError(t, err)
		_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,email consent,sms consent\nann@x.io,opted_in,opted_in\nben@x.io,opted_out,\ncid@x.io,opted_in,opted_out\n"), Consent: chans})
		require.NoError(t, err)
		text0, recs0 := exportAll(t, s)
		out, err := im.Run(ctx, importer.Job{Source: csvSource(t, "optout.csv", "email\nann@x.io\ncid@x.io\n"), Action: identity.OptOut})
		require.NoError(t, err)
		require.EqualValues(t, 2, out.OptedOut)
		text1, recs1 := exportAll(t, s)

		rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "resub.csv",
			"email,email consent,sms consent\nann@x.io,opted_in,opted_out\nben@x.io,opted_in,opted_in\ncid@x.io,opted_in,opted_in\ndan@x.io,opted_out,opted_in\nann@x.io,opted_out,\n"),
			Consent: chans, Duplicates: identity.DuplicatesMerge})
		require.NoError(t, err)
		checkInvariant(t, rep)
		_, recs := exportAll(t, s)
		require.False(t, recs[idOf(t, recs, "cid@x.io")].OptedOut, "cid re-subscribed: its opt-out is lifted")
		undoAndCompare(t, im, s, rep.RunID, false, text1, recs1, "undo of the re-subscription")
		undoAndCompare(t, im, s, out.RunID, false, text0, recs0, "undo of the opt-out")
	})
}

// TestAdversarialUndoPartlyRejected: a run whose rows are partly rejected,
// in batches of two, is undone whole.
func TestAdversarialUndoPartlyRejected(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, name string, s objectStore) {
		ctx := context.Background()
		im, err := importer.New(importer.Config{Sink: s, BatchSize: 2})
		require.NoError(t, err)
		_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name\nann@x.io,Ann\n")})
		require.NoError(t, err)
		text0, recs0 := exportAll(t, s)
		rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "mixed.csv",
			"email,first_name,birthday\nbad,X,\nann@x.io,Anna,\nnot-an-email,Y,\nben@x.io,Ben,not-a-date\ncid@x.io,Cid,\n@,Z,\nann@x.io,Annie,\n")})
		require.NoError(t, err)
		checkInvariant(t, rep)
		require.NotZero(t, rep.Rejected)
		undoAndCompare(t, im, s, rep.RunID, false, text0, recs0, "partly rejected")
	})
}

// failingUndoer fails the failAt-th WriteUndo of the store it wraps, as a
// full disk would.
type failingUndoer struct {
	undoStore
	failAt int32
	n      atomic.Int32
}

var errUndoDisk = errors.New("disk full (test)")

func (f *failingUndoer) WriteUndo(ctx context.Context, batch []*sink.Op, run sink.UndoRun, cp *sink.Checkpoint) (int, error) {
	if f.n.Add(1) == f.failAt {
		return 0, errUndoDisk
	}
	return f.undoStore.WriteUndo(ctx, batch, run, cp)
}

// TestAdversarialUndoResumedRun: a run fails at its third batch and runs
// again with the same RunID (SQLite and memory keep no checkpoint: the
// second attempt starts over); undoing that RunID reverts both attempts.
func TestAdversarialUndoResumedRun(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("email,first_name\nann@x.io,Ann-new\n")
	for i := range 9 {
		fmt.Fprintf(&b, "u%d@x.io,U%d\n", i, i)
	}
	file := b.String()
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name).(undoStore)
			ctx := context.Background()
			im, err := importer.New(importer.Config{Sink: s, BatchSize: 2})
			require.NoError(t, err)
			_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name\nann@x.io,Ann\nu3@x.io,Old3\n")})
			require.NoError(t, err)
			text0, recs0 := exportAll(t, s)
			fail := &failingUndoer{undoStore: s, failAt: 3}
			imF, err := importer.New(importer.Config{Sink: fail, BatchSize: 2})
			require.NoError(t, err)
			first, err := imF.Run(ctx, importer.Job{Source: csvSource(t, "big.csv", file), RunID: "resumed-1"})
			require.ErrorIs(t, err, errUndoDisk)
			require.Equal(t, "resumed-1", first.RunID)
			second, err := im.Run(ctx, importer.Job{Source: csvSource(t, "big.csv", file), RunID: "resumed-1"})
			require.NoError(t, err)
			require.Equal(t, "resumed-1", second.RunID)
			st, err := s.UndoStatus(ctx, "resumed-1")
			require.NoError(t, err)
			require.Equal(t, sink.UndoKept, st.State)
			undoAndCompare(t, im, s, "resumed-1", false, text0, recs0, "resumed run")
		})
	}
}

// TestAdversarialUndoConcurrentRuns: two runs into one store at once, on
// disjoint records; undoing one leaves the other's records as they were.
func TestAdversarialUndoConcurrentRuns(t *testing.T) {
	t.Parallel()
	file := func(prefix string, n int) string {
		var b strings.Builder
		b.WriteString("email,first_name,city\n")
		for i := range n {
			fmt.Fprintf(&b, "%s%d@x.io,%s-%d,C%d\n", prefix, i, prefix, i, i%7)
		}
		b.WriteString("shared-" + prefix + "@x.io,S,\n")
		return b.String()
	}
	onEachStore(t, func(t *testing.T, name string, s objectStore) {
		ctx := context.Background()
		_, err := func() (*importer.Report, error) {
			im, err := importer.New(importer.Config{Sink: s})
			require.NoError(t, err)
			return im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name\nshared-a@x.io,SA\nshared-b@x.io,SB\na3@x.io,Old\n")})
		}()
		require.NoError(t, err)
		text0, recs0 := exportAll(t, s)
		reps := make([]*importer.Report, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, prefix := range []string{"a", "b"} {
			wg.Go(func() {
				im, err := importer.New(importer.Config{Sink: s, BatchSize: 3})
				if err != nil {
					errs[i] = err
					return
				}
				reps[i], errs[i] = im.Run(ctx, importer.Job{Source: csvSource(t, prefix+".csv", file(prefix, 60))})
			})
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		_, recsAB := exportAll(t, s)

		im, err := importer.New(importer.Config{Sink: s})
		require.NoError(t, err)
		undo, err := im.Undo(ctx, importer.UndoJob{RunID: reps[0].RunID})
		require.NoError(t, err)
		require.Zero(t, undo.Conflicted, "%+v", undo)
		require.EqualValues(t, reps[0].Created+reps[0].Updated, undo.Rows, "%+v", undo)
		_, recs := exportAll(t, s)
		for id, r := range recsAB {
			e := r.Get("email").String()
			if strings.HasPrefix(e, "b") || e == "shared-b@x.io" {
				require.NotNil(t, recs[id], "%s: B's record stays", e)
				requireSameStore(t, "", map[string]*intake.Record{id: r}, "", map[string]*intake.Record{id: recs[id]}, "B's "+e)
			}
		}
		undoAndCompare(t, im, s, reps[1].RunID, false, text0, recs0, "undo of B after A")
	})
}

// cancelingUndoer cancels the undo's context once its store has reverted
// after batches.
type cancelingUndoer struct {
	undoStore
	after  int32
	n      atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelingUndoer) Revert(ctx context.Context, runID string, before int64, opts sink.RevertOptions, audit sink.AuditEntry) (sink.RevertResult, bool, error) {
	res, more, err := c.undoStore.Revert(ctx, runID, before, opts, audit)
	if c.n.Add(1) == c.after {
		c.cancel()
	}
	return res, more, err
}

// TestAdversarialUndoCanceled: an undo canceled after its first batch (and,
// on a second store, by deadlines at any point) is run again to finish it:
// the store is as before the run, and a dry run of the rest counts what the
// finishing undo does.
func TestAdversarialUndoCanceled(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("email,first_name,city\n")
	for i := range 40 {
		fmt.Fprintf(&b, "u%d@x.io,N%d,C%d\n", i%15, i, i%4)
	}
	file := b.String()
	for _, name := range storeNames(t) {
		t.Run(name+"/after-first-batch", func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name).(undoStore)
			ctx := context.Background()
			im, err := importer.New(importer.Config{Sink: s, BatchSize: 4})
			require.NoError(t, err)
			_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name\nu1@x.io,One\nu2@x.io,Two\n")})
			require.NoError(t, err)
			text0, recs0 := exportAll(t, s)
			rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "f.csv", file), Duplicates: identity.DuplicatesMerge})
			require.NoError(t, err)
			full, err := im.Undo(ctx, importer.UndoJob{RunID: rep.RunID, DryRun: true})
			require.NoError(t, err)

			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			imC, err := importer.New(importer.Config{Sink: &cancelingUndoer{undoStore: s, after: 1, cancel: cancel}})
			require.NoError(t, err)
			part, err := imC.Undo(cctx, importer.UndoJob{RunID: rep.RunID})
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, importer.StatusCanceled, part.Status)
			st, err := s.UndoStatus(ctx, rep.RunID)
			require.NoError(t, err)
			require.Equal(t, sink.UndoUndoing, st.State)

			rest := undoAndCompare(t, im, s, rep.RunID, false, text0, recs0, "finishing undo")
			require.Equal(t, sink.UndoUndone, rest.State)
			require.Equal(t, full.Rows, part.Rows+rest.Rows, "the two undos together go through the whole log: full %+v, part %+v, rest %+v", full, part, rest)
			require.Equal(t, full.Batches, part.Batches+rest.Batches)
		})
		t.Run(name+"/deadlines", func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name).(undoStore)
			ctx := context.Background()
			im, err := importer.New(importer.Config{Sink: s, BatchSize: 2})
			require.NoError(t, err)
			_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name\nu1@x.io,One\nu2@x.io,Two\n")})
			require.NoError(t, err)
			text0, recs0 := exportAll(t, s)
			rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "f.csv", file), Duplicates: identity.DuplicatesLast})
			require.NoError(t, err)
			var canceled int
			for d := 20 * time.Microsecond; ; d *= 2 {
				dctx, cancel := context.WithTimeout(ctx, d)
				undo, err := im.Undo(dctx, importer.UndoJob{RunID: rep.RunID})
				cancel()
				if err == nil {
					require.Equal(t, sink.UndoUndone, undo.State)
					break
				}
				require.ErrorIs(t, err, context.DeadlineExceeded)
				canceled++
			}
			t.Logf("%s: %d undos canceled by their deadline before one finished", name, canceled)
			text, recs := exportAll(t, s)
			requireSameStore(t, text0, recs0, text, recs, "after the undos canceled and the one that finished")
		})
	}
}

// TestAdversarialUndoCreatedThenSchemaAndFlags: a record created by run A
// then sees the schema grow (run B keeps an unmapped column on another
// record), an opt-out (run C) and C's undo; undoing A removes it without a
// conflict: it is as A created it.
func TestAdversarialUndoCreatedThenSchemaAndFlags(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, name string, s objectStore) {
		ctx := context.Background()
		im, err := importer.New(importer.Config{Sink: s, BatchSize: 2})
		require.NoError(t, err)
		_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name\nann@x.io,Ann\n")})
		require.NoError(t, err)
		_, recs0 := exportAll(t, s)
		a, err := im.Run(ctx, importer.Job{Source: csvSource(t, "a.csv", "email,first_name,city\ndan@x.io,Dan,Dresden\neve@x.io,Eve,\n")})
		require.NoError(t, err)
		_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "b.csv", "email,Page URL\nann@x.io,https://x.io/\n"), KeepUnmapped: true})
		require.NoError(t, err)
		c, err := im.Run(ctx, importer.Job{Source: csvSource(t, "c.csv", "email\ndan@x.io\n"), Action: identity.OptOut})
		require.NoError(t, err)
		require.EqualValues(t, 1, c.OptedOut)
		_, err = im.Undo(ctx, importer.UndoJob{RunID: c.RunID})
		require.NoError(t, err)
		undo, err := im.Undo(ctx, importer.UndoJob{RunID: a.RunID})
		require.NoError(t, err)
		require.Zero(t, undo.Conflicted, "%+v", undo)
		require.EqualValues(t, 2, undo.Reverted, "%+v", undo)
		_, recs := exportAll(t, s)
		require.Len(t, recs, len(recs0))
	})
}

// TestAdversarialUndoTwiceAtOnce: two undos of the same run at once, as
// from two processes: each batch is reverted once, both end without error,
// and the store is as before the run.
func TestAdversarialUndoTwiceAtOnce(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("email,first_name,city\n")
	for i := range 60 {
		fmt.Fprintf(&b, "u%d@x.io,N%d,C%d\n", i%25, i, i%4)
	}
	file := b.String()
	onEachStore(t, func(t *testing.T, name string, s objectStore) {
		ctx := context.Background()
		im, err := importer.New(importer.Config{Sink: s, BatchSize: 3})
		require.NoError(t, err)
		_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name\nu1@x.io,One\nu2@x.io,Two\n")})
		require.NoError(t, err)
		text0, recs0 := exportAll(t, s)
		rep, err := im.Run(ctx, importer.Job{Source: csvSource(t, "f.csv", file), Duplicates: identity.DuplicatesMerge})
		require.NoError(t, err)
		full, err := im.Undo(ctx, importer.UndoJob{RunID: rep.RunID, DryRun: true})
		require.NoError(t, err)
		var undos [2]*importer.UndoReport
		var errs [2]error
		var wg sync.WaitGroup
		for i := range undos {
			wg.Go(func() { undos[i], errs[i] = im.Undo(ctx, importer.UndoJob{RunID: rep.RunID}) })
		}
		wg.Wait()
		for i := range undos {
			if errs[i] != nil {
				// The other one may have finished before this one began.
				require.ErrorIs(t, errs[i], importer.ErrNotUndoable, "undo %d", i)
				require.Zero(t, undos[i].Batches)
			}
		}
		require.False(t, errs[0] != nil && errs[1] != nil, "one of them undoes the run: %v, %v", errs[0], errs[1])
		require.Equal(t, full.Rows, undos[0].Rows+undos[1].Rows, "each change is reverted once: %+v %+v", undos[0], undos[1])
		require.Zero(t, undos[0].Conflicted+undos[1].Conflicted)
		text, recs := exportAll(t, s)
		requireSameStore(t, text0, recs0, text, recs, "after two undos at once")
	})
}

// TestAdversarialUndoAfterDelete: run A updates and creates records that a
// newer run deletes (kept for undo); A's undo leaves them in conflict;
// once the delete is undone (putting them back), A's undo finishes and the
// store holds the records it held before A: a created record deleted after
// the run stays in A's log ("deleted after the run created it"), so that
// A's undo removes it once the delete's undo puts it back. The export is
// compared record by record: a record put back takes a new place in the
// order of creation.
func TestAdversarialUndoAfterDelete(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, name string, s objectStore) {
		ctx := context.Background()
		im, err := importer.New(importer.Config{Sink: s, BatchSize: 2})
		require.NoError(t, err)
		_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "seed.csv", "email,first_name\nann@x.io,Ann\nben@x.io,Ben\n")})
		require.NoError(t, err)
		text0, recs0 := exportAll(t, s)
		a, err := im.Run(ctx, importer.Job{Source: csvSource(t, "a.csv", "email,first_name\nann@x.io,Anna\ndan@x.io,Dan\nben@x.io,Benno\n")})
		require.NoError(t, err)
		del, err := im.Run(ctx, importer.Job{Source: csvSource(t, "d.csv", "email\nann@x.io\ndan@x.io\n"), Reason: "test",
			Action: identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}, Undo: importer.UndoOptions{Deletes: true}})
		require.NoError(t, err)
		require.EqualValues(t, 2, del.Deleted)
		undo, err := im.Undo(ctx, importer.UndoJob{RunID: a.RunID})
		require.NoError(t, err)
		require.Equal(t, sink.UndoUndoing, undo.State, "%+v", undo)
		require.EqualValues(t, 1, undo.Restored, "ben: %+v", undo)
		require.EqualValues(t, 2, undo.Conflicted, "ann and dan, deleted after the run: %+v", undo)
		_, err = im.Undo(ctx, importer.UndoJob{RunID: del.RunID})
		require.NoError(t, err)
		undo = undoAndCompare(t, im, s, a.RunID, false, "", recs0, "A after the delete's undo")
		require.Equal(t, sink.UndoUndone, undo.State)
		_ = text0

		// A created record deleted for good: force drops its entry.
		b, err := im.Run(ctx, importer.Job{Source: csvSource(t, "b.csv", "email\neve@x.io\n")})
		require.NoError(t, err)
		_, err = im.Run(ctx, importer.Job{Source: csvSource(t, "d2.csv", "email\neve@x.io\n"), Reason: "test",
			Action: identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}, Undo: importer.UndoOptions{Deletes: true}})
		require.NoError(t, err)
		undo, err = im.Undo(ctx, importer.UndoJob{RunID: b.RunID})
		require.NoError(t, err)
		require.Equal(t, sink.UndoUndoing, undo.State)
		require.Equal(t, "deleted after the run created it", undo.Conflicts[0].Reason)
		undo, err = im.Undo(ctx, importer.UndoJob{RunID: b.RunID, Force: true})
		require.NoError(t, err)
		require.Equal(t, [2]int64{1, 1}, [2]int64{undo.Unchanged, undo.Forced})
		require.Equal(t, sink.UndoUndone, undo.State)
	})
}
