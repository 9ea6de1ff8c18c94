package sink

import (
	"context"
	"time"
)

// Checkpoint is how far a run has got: the source line of the last row of
// its last committed batch.
type Checkpoint struct {
	// RunID identifies the run (or the job, for a run that is re-run after
	// a failure under the same id); required.
	RunID string
	// Source names the input (a file name, a URL); informative.
	Source string
	// Line is the source line of the last row of the batch; every row up to
	// it is committed, but those of Pending.
	Line int
	// Pending lists the lines up to Line whose rows are not finished: those
	// the caller passes, and those of the creates that [Op.Unique] held in
	// the batch (the caller has still to apply its action to the record
	// another writer created). A run that resumes reads them again.
	// WriteCheckpoint stores the list anew with each batch.
	Pending []int
	// Batches is how many batches the run committed with a checkpoint. The
	// sink counts it; the value passed in is ignored.
	Batches int64
	// UpdatedAt is when the checkpoint was committed. The sink sets it.
	UpdatedAt time.Time
}

// Checkpointer is the capability of a [Sink] to commit a checkpoint in the
// same transaction as a batch, so that a run that died resumes after the
// last committed batch: rows up to LastCheckpoint's Line are in the store,
// rows after it are not (of that run). Without it a run that failed is run
// again from the start, which is safe (committed rows match their records
// and come out unchanged) but slower.
//
// WriteCheckpoint is [Sink.Write] that also stores cp, atomically with the
// batch: when the batch fails, the checkpoint stays where it was. An empty
// batch stores only the checkpoint (a batch whose rows were all rejected or
// skipped). LastCheckpoint returns the last committed checkpoint of the run,
// and false when there is none.
//
// A create that [Op.Unique] held (see [KeyGuard]) is not done yet: the
// caller still applies its action to the record another writer created.
// The checkpoint stored with such a batch lists its line in Pending, and
// the caller's write that settles the held creates (an empty batch will
// do) stores the checkpoint again without them, so that a run that dies
// in between reads those rows again when it resumes, and no other row.
type Checkpointer interface {
	WriteCheckpoint(ctx context.Context, batch []*Op, cp Checkpoint) (n int, err error)
	LastCheckpoint(ctx context.Context, runID string) (cp Checkpoint, ok bool, err error)
}
