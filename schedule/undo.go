package schedule

import (
	"context"
	"errors"
	"fmt"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
)

// sinkOf returns the sink of job's runs.
func (cfg *ImportConfig) sinkOf(job Job) (sink.Sink, error) {
	if cfg.SinkFor != nil {
		return cfg.SinkFor(job)
	}
	if cfg.Sink == nil {
		return nil, errors.New("schedule: ImportConfig has no Sink (or SinkFor)")
	}
	return cfg.Sink, nil
}

// Undo undoes a run of the history (importer.Importer.Undo), in the sink
// of its job, and records the undo in the history as a run of the same job
// with Trigger [TriggerUndo]: Undoes names the run reverted, Rows, Reverted,
// Restored, Unchanged and Conflicts are the undo's counts, the status is
// succeeded, partially_succeeded when records in conflict were left as
// they are, or failed. The undo's run id is its history id (u.UndoID is
// ignored). Once the log holds nothing more, the run undone gets UndoneBy
// and is no longer Undoable. A dry run records nothing. The report is
// returned with the recorded run, also when the undo failed (the error is
// then the undo's).
func (cfg *ImportConfig) Undo(ctx context.Context, store JobStore, actor string, u importer.UndoJob) (Run, *importer.UndoReport, error) {
	orig, err := store.GetRun(ctx, u.RunID)
	if err != nil {
		return Run{}, nil, fmt.Errorf("schedule: undo run %s: %w", u.RunID, err)
	}
	job, err := store.Get(ctx, orig.JobID)
	if err != nil {
		return Run{}, nil, fmt.Errorf("schedule: undo run %s: %w", u.RunID, err)
	}
	snk, err := cfg.sinkOf(job)
	if err != nil {
		return Run{}, nil, err
	}
	icfg := cfg.Importer
	icfg.Sink = snk
	im, err := importer.New(icfg)
	if err != nil {
		return Run{}, nil, err
	}
	if u.Actor == "" {
		u.Actor = actor
	}
	u.UndoID = newID()
	rep, uerr := im.Undo(ctx, u)
	if u.DryRun {
		return Run{}, rep, uerr
	}
	r := Run{
		ID: rep.RunID, JobID: job.ID, Trigger: TriggerUndo, Actor: actor, Undoes: u.RunID,
		Queued: rep.Started.UTC(), Started: rep.Started.UTC(), Finished: rep.Finished.UTC(),
		Rows: rep.Rows, Reverted: rep.Reverted, Restored: rep.Restored, Unchanged: rep.Unchanged, Conflicts: rep.Conflicted,
		Error: rep.Error,
	}
	switch {
	case rep.Status == importer.StatusCanceled:
		r.Status = StatusCanceled
	case uerr != nil:
		r.Status = StatusFailed
	case rep.Conflicted > 0:
		r.Status = StatusPartiallySucceeded
	default:
		r.Status = StatusSucceeded
	}
	rec, err := store.CreateRun(context.WithoutCancel(ctx), r)
	if err != nil {
		return r, rep, errors.Join(uerr, err)
	}
	if rep.State == sink.UndoUndone {
		orig.UndoneBy, orig.Undoable, orig.UndoReason = rec.ID, false, "undone by "+rec.ID
		if err := store.UpdateRun(context.WithoutCancel(ctx), orig); err != nil {
			return rec, rep, errors.Join(uerr, err)
		}
	}
	return rec, rep, uerr
}

// UndoStatus tells where a run of the history stands for undo, from the
// sink of its job (sink.Undoer.UndoStatus): whether its log is kept, was
// refused, dropped by the retention or undone. A run whose store keeps no
// log of it (a store without undo, a run that wrote nothing, an undo run)
// is an error wrapping importer.ErrNoUndoLog.
func (cfg *ImportConfig) UndoStatus(ctx context.Context, job Job, run Run) (sink.UndoStatus, error) {
	snk, err := cfg.sinkOf(job)
	if err != nil {
		return sink.UndoStatus{}, err
	}
	u, ok := snk.(sink.Undoer)
	if !ok || !u.Undoes() {
		return sink.UndoStatus{}, fmt.Errorf("schedule: run %s: the store keeps no undo log (%T): %w", run.ID, snk, importer.ErrNoUndoLog)
	}
	st, err := u.UndoStatus(ctx, run.ID)
	if errors.Is(err, sink.ErrNoUndo) {
		return st, fmt.Errorf("schedule: run %s: %w", run.ID, importer.ErrNoUndoLog)
	}
	return st, err
}
