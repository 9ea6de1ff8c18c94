package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/sink"
)

// UndoOptions says what a run keeps so that [Importer.Undo] can revert it.
// By default a run into a sink that implements [sink.Undoer] keeps its undo
// log: the ids of the records it creates, and the previous values of the
// fields and flags it changes, in the transaction of each batch.
type UndoOptions struct {
	// Off keeps no undo log: the run cannot be undone. It saves the log's
	// writes (one row per batch) and its space until the retention drops it.
	Off bool `json:"off,omitempty"`
	// Deletes keeps the whole of each record a delete action removes, so
	// that an undo puts it back. Without it a job whose action deletes
	// cannot be undone (it says so before it runs: Importer.Undoable).
	Deletes bool `json:"deletes,omitempty"`
}

// Undoable reports whether a run of job into the importer's sink can be
// undone, and when it cannot, why: the sink keeps no undo log, the job
// turns it off, the job anonymizes (an anonymization keeps no before-image:
// forgetting is its point), or it deletes without [UndoOptions.Deletes]. A
// dry run writes nothing and has nothing to undo. A host asks before it
// runs a job, to tell its user.
func (im *Importer) Undoable(job Job) (ok bool, reason string) {
	if job.DryRun {
		return false, "a dry run writes nothing"
	}
	switch u, ok := im.cfg.Sink.(sink.Undoer); {
	case !ok:
		return false, fmt.Sprintf("the store keeps no undo log (%T does not implement sink.Undoer)", im.cfg.Sink)
	case !u.Undoes():
		return false, fmt.Sprintf("the store keeps no undo log (%T reports Undoes false)", im.cfg.Sink)
	}
	return job.undoRefusal()
}

// undoRefusal returns whether the job's runs keep an undo log in a store
// that can, and why not.
func (j *Job) undoRefusal() (bool, string) {
	switch {
	case j.Undo.Off:
		return false, "the job keeps no undo log (undo off)"
	case j.Action.OnMatch == identity.MatchAnonymize:
		return false, "the job anonymizes: an anonymization keeps no before-image, forgetting is its point"
	case j.Action.OnMatch == identity.MatchDelete && !j.Undo.Deletes:
		return false, "the job deletes without keeping the deleted records (undo deletes off)"
	}
	return true, ""
}

// prepareUndo sets the run's undo log up: on a sink that keeps one, every
// batch is written with WriteUndo, under a refusal when the job's runs
// cannot be undone, so that the store can say why.
func (r *run) prepareUndo() {
	u, ok := r.im.cfg.Sink.(sink.Undoer)
	if !ok || !u.Undoes() || r.job.DryRun {
		r.rep.Undoable, r.rep.UndoReason = r.im.Undoable(r.job)
		return
	}
	keep, why := r.job.undoRefusal()
	r.rep.Undoable, r.rep.UndoReason = keep, why
	r.undoer = u
	r.undoRun = sink.UndoRun{RunID: r.rep.RunID, Job: r.job.Name, Deletes: r.job.Undo.Deletes, Refused: why}
}

// writeOps writes ops, with the run's undo log and checkpoint (up to line)
// when it keeps them.
func (r *run) writeOps(ctx context.Context, ops []*sink.Op, line int) (int, error) {
	var cp *sink.Checkpoint
	if r.checkpointer != nil {
		cp = &sink.Checkpoint{RunID: r.job.RunID, Source: r.rep.Source.Name, Line: line}
	}
	switch {
	case r.undoer != nil:
		return r.undoer.WriteUndo(ctx, ops, r.undoRun, cp)
	case cp != nil:
		return r.checkpointer.WriteCheckpoint(ctx, ops, *cp)
	}
	return r.im.cfg.Sink.Write(ctx, ops)
}

// pruneUndo applies the undo retention after a run that kept a log. A
// failure does not fail the run, whose batches are committed: the logs
// stay until the next run prunes them.
func (r *run) pruneUndo(ctx context.Context) {
	if r.undoer == nil {
		return
	}
	if _, err := r.undoer.PruneUndo(ctx, r.im.cfg.UndoRetention, time.Now()); err != nil && r.im.log != nil {
		r.im.log.WarnContext(ctx, "importer: prune undo logs", "run_id", r.rep.RunID, "error", err)
	}
}

// UndoJob is an undo of a committed run: see [Importer.Undo].
type UndoJob struct {
	// RunID is the run to undo (its Report.RunID); required.
	RunID string
	// UndoID identifies the undo itself, in the audit log and the store's
	// record of the undone run. Default: a new UUIDv7.
	UndoID string
	// DryRun says what the undo would do and writes nothing.
	DryRun bool
	// Force reverts the records that changed after the run too,
	// overwriting their newer values (they are still listed as conflicts,
	// Forced). A record deleted after the run stays deleted.
	Force bool
	// Reason and Actor go to the undo's audit entry. Default reason:
	// "undo".
	Reason string
	Actor  string
	// MaxConflicts caps UndoReport.Conflicts (the count is not capped).
	// Default 100; negative lists none.
	MaxConflicts int
}

// UndoReport is what an undo did (or, in a dry run, would do). Rows =
// Reverted + Restored + Unchanged + Conflicted: every change the run made
// is accounted for.
type UndoReport struct {
	// RunID is the undo's own id; Undoes the run it reverts.
	RunID  string `json:"run_id"`
	Undoes string `json:"undoes"`
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
	Force  bool   `json:"force,omitempty"`

	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`

	// Rows counts the changes of records the run made (an entry of its log
	// each: a record created, a record's fields or flags changed, a record
	// deleted and kept).
	Rows int64 `json:"rows"`
	// Reverted counts the records the run created that the undo removed.
	Reverted int64 `json:"reverted"`
	// Restored counts the changes set back: fields and flags restored,
	// deleted records put back.
	Restored int64 `json:"restored"`
	// Unchanged counts the changes with nothing to revert (reverted by an
	// earlier undo that did not finish, or set back by a later change).
	Unchanged int64 `json:"unchanged"`
	// Conflicted counts the changes of records that changed after the run,
	// left as they are (see Conflicts); Forced those that Force reverted
	// anyway (also counted as Reverted or Restored).
	Conflicted int64 `json:"conflicts"`
	Forced     int64 `json:"forced,omitempty"`
	// Batches is the number of batches of the run's log the undo went
	// through.
	Batches int64 `json:"batches"`
	// Conflicts lists the records in conflict, with the fields that
	// changed, up to UndoJob.MaxConflicts; ConflictsTruncated is set when
	// there were more.
	Conflicts          []sink.Conflict `json:"conflict_records,omitempty"`
	ConflictsTruncated bool            `json:"conflicts_truncated,omitempty"`
	// State is the run's undo state after the undo: undone, or undoing
	// when conflicts are left (an undo with Force, or once the conflicts
	// are settled, finishes it). A dry run leaves it as it was.
	State sink.UndoState `json:"state"`
}

// The errors of an undo that cannot run, which [Importer.Undo] wraps with
// the run's id and what the store knows of it.
var (
	// ErrNoUndoLog: the store holds no undo log of the run: an unknown
	// run id, a run that changed nothing, a run into a store or with a job
	// that keeps none, or an undo (an undo cannot be undone: import again).
	ErrNoUndoLog = errors.New("no undo log")
	// ErrNotUndoable: the run cannot be undone: it was refused (it
	// anonymized, it deleted without keeping the records, undo was off),
	// the retention dropped its log, or it was undone already.
	ErrNotUndoable = errors.New("cannot be undone")
)

// Undo reverts a committed run, from its newest batch to its oldest, one
// batch per transaction of the sink (which must implement [sink.Undoer]):
// the records it created are removed, the fields and flags it changed get
// their previous values back, opt-outs and inactivations are lifted, the
// records it deleted (kept with UndoOptions.Deletes) are put back, and
// the links its deletes removed are restored. A record that changed after
// the run — another run or the host wrote to it — is not overwritten: it
// is reported as a conflict, field by field (UndoReport.Conflicts), and
// stays in the run's log, so that an undo with Force, or once the conflict
// is settled, reverts it later.
//
// An undo that fails or whose process dies leaves every batch reverted or
// as it was; running it again finishes it. An undo keeps no log of its own:
// it cannot be undone (import the file again). A run that cannot be undone
// fails at once with an error wrapping [ErrNoUndoLog] or [ErrNotUndoable]
// that says why: a refused run, one whose log the retention dropped
// (Config.UndoRetention, default 30 days and the 100 newest runs), one
// undone already.
//
// A dry run reads the log and the records and says what the undo would
// do: it keeps the records the log names in memory as the undo would leave
// them, to count a record that the run changed in several batches as the
// undo would.
func (im *Importer) Undo(ctx context.Context, job UndoJob) (*UndoReport, error) {
	rep := &UndoReport{RunID: job.UndoID, Undoes: job.RunID, DryRun: job.DryRun, Force: job.Force, Started: time.Now()}
	if rep.RunID == "" {
		rep.RunID = newRunID()
	}
	err := im.undo(ctx, job, rep)
	rep.Finished = time.Now()
	rep.Status, rep.Error = statusOf(err)
	return rep, err
}

func (im *Importer) undo(ctx context.Context, job UndoJob, rep *UndoReport) error {
	u, ok := im.cfg.Sink.(sink.Undoer)
	if !ok || !u.Undoes() {
		return fmt.Errorf("importer: undo run %s: the store keeps no undo log (%T): %w", job.RunID, im.cfg.Sink, ErrNoUndoLog)
	}
	if job.RunID == "" {
		return errors.New("importer: undo: no run id")
	}
	st, err := u.UndoStatus(ctx, job.RunID)
	if errors.Is(err, sink.ErrNoUndo) {
		return fmt.Errorf("importer: undo run %s: %w: the store holds none (an unknown run id, a run that changed nothing, "+
			"a run written without undo, or an undo, which cannot be undone)", job.RunID, ErrNoUndoLog)
	}
	if err != nil {
		return fmt.Errorf("importer: undo run %s: %w", job.RunID, err)
	}
	rep.State = st.State
	if !st.Undoable() {
		return fmt.Errorf("importer: run %s %w: %s", job.RunID, ErrNotUndoable, notUndoable(st, im.cfg.UndoRetention))
	}
	maxc := job.MaxConflicts
	if maxc == 0 {
		maxc = 100
	}
	add := func(res sink.RevertResult) {
		rep.Batches++
		rep.Rows += int64(res.Entries)
		rep.Reverted += int64(res.Reverted)
		rep.Restored += int64(res.Restored)
		rep.Unchanged += int64(res.Unchanged)
		rep.Conflicted += int64(res.Conflicted)
		rep.Forced += int64(res.Forced)
		for _, c := range res.Conflicts {
			if len(rep.Conflicts) >= maxc {
				rep.ConflictsTruncated = true
				break
			}
			rep.Conflicts = append(rep.Conflicts, c)
		}
	}
	if job.DryRun {
		return im.dryUndo(ctx, u, job, add)
	}
	reason := job.Reason
	if reason == "" {
		reason = "undo"
	}
	opts := sink.RevertOptions{UndoID: rep.RunID, Force: job.Force}
	var before int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		audit := sink.AuditEntry{Time: time.Now(), Reason: reason, Actor: job.Actor, RunID: rep.RunID}
		res, more, err := u.Revert(ctx, job.RunID, before, opts, audit)
		if err != nil {
			if errors.Is(err, sink.ErrNotUndoable) {
				err = fmt.Errorf("%w (%w)", ErrNotUndoable, err)
			}
			return fmt.Errorf("importer: undo run %s: %w", job.RunID, err)
		}
		if !more {
			break
		}
		add(res)
		before = res.Seq
	}
	if st, err := u.UndoStatus(ctx, job.RunID); err == nil {
		rep.State = st.State
	}
	return nil
}

// notUndoable says why the run of st cannot be undone.
func notUndoable(st sink.UndoStatus, r sink.Retention) string {
	switch st.State {
	case sink.UndoRefused:
		return st.Reason
	case sink.UndoExpired:
		r = r.Limits()
		return fmt.Sprintf("its undo log was dropped on %s by the retention (%s, %d runs)",
			st.Expired.UTC().Format(time.RFC3339), describeAge(r.MaxAge), r.MaxRuns)
	case sink.UndoUndone:
		return "it was undone by " + st.UndoneBy
	}
	return string(st.State)
}

func describeAge(d time.Duration) string {
	switch {
	case d < 0:
		return "no age limit"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// dryUndo goes through the run's log as Undo would, without writing: the
// records come from the sink (sink.Getter, with the schemas of
// sink.SchemaReader), as the revert of the newer batches would leave them.
func (im *Importer) dryUndo(ctx context.Context, u sink.Undoer, job UndoJob, add func(sink.RevertResult)) error {
	g, okG := im.cfg.Sink.(sink.Getter)
	sr, okS := im.cfg.Sink.(sink.SchemaReader)
	if !okG || !okS {
		return fmt.Errorf("importer: a dry run of an undo reads records, which needs a sink.Getter and a sink.SchemaReader; %T is not both", im.cfg.Sink)
	}
	overlay := map[sink.RecordRef]*intake.Record{} // as the revert of newer batches left them; nil: removed
	schemas := map[string]*intake.Schema{}
	var before int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, ok, err := u.ReadUndo(ctx, job.RunID, before)
		if err != nil {
			return fmt.Errorf("importer: undo run %s: %w", job.RunID, err)
		}
		if !ok {
			return nil
		}
		cur, err := dryCurrent(ctx, g, sr, b, overlay, schemas)
		if err != nil {
			return fmt.Errorf("importer: undo run %s: %w", job.RunID, err)
		}
		acts, res := sink.PlanRevert(b, cur, job.Force)
		for _, a := range acts {
			overlay[a.RecordRef] = applyAction(cur[a.RecordRef], a, schemas[a.Object])
		}
		add(res)
		before = b.Seq
	}
}

// dryCurrent returns the records of b's entries: from the overlay when an
// earlier batch's revert changed them, else from the sink.
func dryCurrent(ctx context.Context, g sink.Getter, sr sink.SchemaReader, b sink.UndoBatch, overlay map[sink.RecordRef]*intake.Record, schemas map[string]*intake.Schema) (map[sink.RecordRef]*intake.Record, error) {
	cur := map[sink.RecordRef]*intake.Record{}
	want := map[string][]string{}
	for _, e := range b.Entries {
		ref := sink.RecordRef{Object: e.Object, ID: e.ID}
		if r, ok := overlay[ref]; ok {
			cur[ref] = r
			continue
		}
		if _, ok := cur[ref]; !ok {
			cur[ref] = nil
			want[e.Object] = append(want[e.Object], e.ID)
		}
	}
	for object, ids := range want {
		s := schemas[object]
		if s == nil {
			var err error
			if s, err = sr.Schema(ctx, object); err != nil {
				return nil, err
			}
			if s == nil {
				continue
			}
			schemas[object] = s
		}
		got, err := g.Get(ctx, s, ids)
		if err != nil {
			return nil, err
		}
		for id, r := range got {
			cur[sink.RecordRef{Object: object, ID: id}] = r
		}
	}
	return cur, nil
}

// applyAction returns the record cur as the write a would leave it (nil:
// removed).
func applyAction(cur *intake.Record, a sink.RevertAction, s *intake.Schema) *intake.Record {
	switch a.Kind {
	case sink.RevertRemove:
		return nil
	case sink.RevertInsert:
		if s == nil {
			return nil
		}
		cur = intake.NewRecord(s)
		cur.ID = a.ID
	case sink.RevertNone:
		return cur
	}
	if cur == nil {
		return nil
	}
	r := cur.Clone()
	for _, f := range a.Set {
		r.Set(f.Name, f.Value)
	}
	if a.OptedOut.Set {
		r.OptedOut = a.OptedOut.Value
	}
	if a.Inactive.Set {
		r.Inactive = a.Inactive.Value
	}
	return r
}
