package sink

import (
	"context"
	"errors"
	"time"

	"github.com/intakehq/intake"
)

// UndoRun names the run whose changes a write keeps for undo
// ([Undoer.WriteUndo]).
type UndoRun struct {
	// RunID identifies the run; required. Undo takes it back by this id.
	RunID string
	// Job names the job the run belongs to; informative.
	Job string
	// Deletes keeps the whole record of each [OpDelete] of the run, so that
	// an undo can put it back. Without it a run that deletes keeps no
	// before-image of the records it deletes, and its log is refused (see
	// Refused): undo would bring back only part of what the run did.
	Deletes bool
	// Refused, when not empty, says why the run cannot be undone (it
	// anonymizes, it erases, or it deletes without Deletes). The sink
	// keeps no before-image and records the run with this reason, which
	// [Undoer.UndoStatus] reports.
	Refused string
}

// UndoKind is what an [UndoEntry] records of a change.
type UndoKind uint8

// The kinds of undo entry.
const (
	// UndoCreate: the run created the record. Digest is the
	// [RecordDigest] of the record as it was created.
	UndoCreate UndoKind = iota + 1
	// UndoUpdate: the run changed fields or flags of the record (an
	// update, an opt-out, an inactivation, a re-subscription). Fields holds
	// each changed field with its value before and after; OptedOut and
	// Inactive the flags it changed.
	UndoUpdate
	// UndoDelete: the run deleted the record, and kept it
	// ([UndoRun.Deletes]). Fields holds every non-null field of the record
	// as it was (Before; After is null), OptedOut and Inactive its flags
	// (Before).
	UndoDelete
)

var undoKindNames = [...]string{"invalid", "create", "update", "delete"}

// String returns "create", "update" or "delete".
func (k UndoKind) String() string {
	if int(k) < len(undoKindNames) {
		return undoKindNames[k]
	}
	return "invalid"
}

// FieldChange is a field the run changed: its value before and after.
type FieldChange struct {
	Name   string
	Before intake.Value
	After  intake.Value
}

// FlagChange is a record flag (opted out, inactive) that the run changed:
// Changed is set, Before is the flag's value before the run (after it, the
// opposite). In an [UndoDelete] entry, Changed is set and Before holds the
// deleted record's flag.
type FlagChange struct {
	Changed bool
	Before  bool
}

// UndoEntry is what a run changed of one record, in one op: the
// before-image that an undo restores.
type UndoEntry struct {
	Kind   UndoKind
	Object string
	ID     string
	// Line is the source line of the op's row (0 when unknown).
	Line     int
	Digest   uint64
	Fields   []FieldChange
	OptedOut FlagChange
	Inactive FlagChange
}

// UndoBatch is the log of one batch a run wrote: its entries, in the order
// the ops were applied.
type UndoBatch struct {
	RunID string
	// Seq numbers the run's batches from 1, in the order they committed.
	Seq     int64
	Time    time.Time
	Entries []UndoEntry
}

// UndoState is where a run stands for undo.
type UndoState string

// The undo states of a run.
const (
	// UndoKept: the run's changes are kept and can be undone.
	UndoKept UndoState = "kept"
	// UndoRefused: the run kept no before-image (UndoStatus.Reason says
	// why); it cannot be undone.
	UndoRefused UndoState = "refused"
	// UndoExpired: the retention dropped the run's log
	// (UndoStatus.Expired says when); it cannot be undone.
	UndoExpired UndoState = "expired"
	// UndoUndoing: an undo of the run began and has not finished (it
	// failed, its process died, or it left records in conflict, which
	// UndoStatus.Batches counts the batches of); running it again
	// finishes it.
	UndoUndoing UndoState = "undoing"
	// UndoUndone: the run was undone (UndoStatus.UndoneBy names the
	// undo); it cannot be undone again.
	UndoUndone UndoState = "undone"
)

// UndoStatus is what a store knows of a run's undo log.
type UndoStatus struct {
	RunID string
	Job   string
	State UndoState
	// Reason says why a refused run cannot be undone.
	Reason string
	// Started is when the run's first batch committed; Batches how many
	// of its batches the log holds (those an undo has not reverted yet).
	Started time.Time
	Batches int64
	// Expired is when the retention dropped the log (UndoExpired).
	Expired time.Time
	// UndoneBy is the run id of the undo that reverted the run (UndoUndoing,
	// UndoUndone).
	UndoneBy string
}

// Undoable reports whether an undo of the run can run: its log is kept, or
// an earlier undo of it did not finish.
func (s UndoStatus) Undoable() bool { return s.State == UndoKept || s.State == UndoUndoing }

// Retention is how long a store keeps undo logs: a run's log is dropped once
// it is older than MaxAge or once MaxRuns newer runs keep theirs. Zero fields
// take the defaults, [DefaultUndoMaxAge] and [DefaultUndoMaxRuns]; a negative
// field has no limit.
type Retention struct {
	MaxAge  time.Duration
	MaxRuns int
}

// The default undo retention: 30 days, and the 100 newest runs.
const (
	DefaultUndoMaxAge  = 30 * 24 * time.Hour
	DefaultUndoMaxRuns = 100
)

// Limits returns r with its zero fields set to the defaults.
func (r Retention) Limits() Retention {
	if r.MaxAge == 0 {
		r.MaxAge = DefaultUndoMaxAge
	}
	if r.MaxRuns == 0 {
		r.MaxRuns = DefaultUndoMaxRuns
	}
	return r
}

// RevertOptions tells [Undoer.Revert] how to revert a batch.
type RevertOptions struct {
	// UndoID is the run id of the undo; required. The store records it as
	// the run's UndoneBy.
	UndoID string
	// Force reverts records that changed after the run too, overwriting
	// the newer values. A record deleted after the run stays deleted.
	Force bool
}

// ErrNoUndo is the cause of an [Undoer] error for a run the store holds no
// undo log of: an unknown run id, a run that wrote nothing, a run written
// without undo, or an undo (an undo keeps no log: it cannot be undone).
var ErrNoUndo = errors.New("sink: no undo log for this run")

// ErrNotUndoable is the cause of an [Undoer.Revert] error for a run whose
// log is refused, expired or already undone (UndoStatus says which).
var ErrNotUndoable = errors.New("sink: run cannot be undone")

// Undoer is the capability of a [Sink] to keep, in the transaction of each
// batch, what a run changed, and to revert it: undo of a committed import.
// Undoes reports whether the sink does. Without it a run cannot be undone.
//
// WriteUndo is Write that also keeps, atomically with the batch, an
// [UndoBatch] under run.RunID: an [UndoCreate] entry for each record the
// batch created, an [UndoUpdate] for each record whose values or flags it
// changed (only the fields that changed; an op whose outcome is unchanged
// keeps nothing), and with run.Deletes an [UndoDelete] for each record it
// deleted. An op the store did not apply (a create that [Op.Unique] held)
// keeps nothing. With cp not nil it also stores the checkpoint, as
// [Checkpointer.WriteCheckpoint] does. The links that ops with [Op.Unlink]
// remove from other records are changes of those records: each keeps an
// UndoUpdate entry with the link field's value before. With run.Refused it
// keeps no entry and records the run as refused. An [OpAnonymize], and an
// OpDelete without run.Deletes, would leave a log that cannot bring back
// what the run did: without run.Refused, such an op fails with a
// *[RecordError] wrapping [ErrInvalidOp] (the importer refuses such a run
// before it begins, or marks it Refused). WriteUndo of a run that an undo
// began ([UndoUndoing], [UndoUndone]) fails with an error wrapping
// [ErrNotUndoable], writing nothing: the undo would not see the batch. A
// run whose log the retention dropped ([UndoExpired]) is written, and
// keeps no more log.
//
// UndoStatus tells a run's state; a run the store holds no log of is an
// error wrapping [ErrNoUndo]. ReadUndo returns the newest batch of the
// run's log whose Seq is below before (every batch when before is 0), and
// false when there is none: an undo goes through the log from the newest
// batch to the oldest.
//
// Revert reverts the newest batch of the run's log whose Seq is below before
// (0: the newest) in one transaction: it reads the current records of the
// batch's entries in that transaction, decides with [PlanRevert], writes
// the result, and marks the run [UndoUndoing] with opts.UndoID. A batch
// without conflicts left is dropped from the log; one with records in
// conflict (not forced) keeps their entries only, so that an undo run later,
// with Force or once the conflict is settled, can revert them. It is all or
// nothing: an undo that dies leaves every batch either reverted or as it
// was, and running it again finishes it. It returns the batch's result
// (res.Seq is the batch reverted) and true; or, when no batch is below
// before, an empty result and false, in which case it ends the undo in one
// transaction: it stores audit (Action [ActionUndo]; RecordID empty,
// TargetObject "run", TargetID the run undone) and, when the log holds no
// batch any more, marks the run [UndoUndone]. Reverting a run that is
// not [UndoStatus.Undoable] is an error wrapping [ErrNotUndoable], one
// without a log wraps [ErrNoUndo]. Several processes may revert the same
// run at once: each batch is reverted by one of them at a time, and a call
// with before > 0 (an undo that reverted batches already) that finds the
// run undone by another of them ends the undo: an empty result and false,
// no error.
//
// PruneUndo drops the logs that r no longer keeps (see [Retention]),
// marking their runs [UndoExpired] at now, and returns how many runs it
// dropped. A run being undone is not dropped.
//
// A sink that wraps another and changes what its Write does must not pass
// Undoer on (report false from Undoes), or must wrap WriteUndo alike:
// WriteUndo of the wrapped sink would bypass its Write.
type Undoer interface {
	Undoes() bool
	WriteUndo(ctx context.Context, batch []*Op, run UndoRun, cp *Checkpoint) (n int, err error)
	UndoStatus(ctx context.Context, runID string) (UndoStatus, error)
	ReadUndo(ctx context.Context, runID string, before int64) (b UndoBatch, ok bool, err error)
	Revert(ctx context.Context, runID string, before int64, opts RevertOptions, audit AuditEntry) (res RevertResult, more bool, err error)
	PruneUndo(ctx context.Context, r Retention, now time.Time) (dropped int, err error)
}

// ActionUndo is the AuditEntry.Action of an undo (see [Undoer.Revert]).
const ActionUndo = "undo"
