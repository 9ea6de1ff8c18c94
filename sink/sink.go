package sink

import (
	"context"

	"github.com/intakehq/intake"
)

// OpKind is the kind of a write operation.
type OpKind uint8

// The kinds of write operation.
const (
	// OpCreate inserts Op.Record, whose ID the importer has already set.
	OpCreate OpKind = iota + 1
	// OpUpdate applies Op.Record's non-null values to the stored record
	// Op.Record.ID; null values leave stored values as they are, and the
	// fields named in Op.Clear are set to null.
	OpUpdate
	// OpOptOut marks the stored record Op.Record.ID as opted out.
	OpOptOut
)

var opKindNames = [...]string{"invalid", "create", "update", "opt_out"}

// String returns "create", "update" or "opt_out".
func (k OpKind) String() string {
	if int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return "invalid"
}

// Op is one write operation of a batch. The sink sets Outcome.
type Op struct {
	Kind   OpKind
	Record *intake.Record
	// Clear lists fields (schema indexes) that an OpUpdate sets to null.
	Clear []int
	// Outcome is set by the sink when the op is applied: OutcomeCreated for a
	// create, OutcomeUpdated or OutcomeUnchanged for an update (unchanged when
	// no stored value differs), OutcomeOptedOut for an opt-out.
	Outcome intake.Outcome
}

// Sink writes batches of operations to a store.
//
// Write applies the ops in order and returns how many were applied. A sink
// that writes a batch in one transaction (the memory and SQLite sinks do)
// applies all or none: n is len(batch) or 0. n < len(batch) must come with an
// error; when one record is the cause, the error is a *[RecordError] naming it
// (by record, never by batch index). A Sink is used by one goroutine at a time
// unless its documentation says otherwise.
type Sink interface {
	Write(ctx context.Context, batch []*Op) (n int, err error)
}

// Lookuper is the capability of a [Sink] to find stored records by key. The
// matcher needs it: without it every row is treated as new.
//
// Lookup returns, for each key of keys that matches stored records of the
// schema's object type, the ids of those records in a stable order (oldest
// first). Blank keys ("") never match. A sink computes the keys of its
// stored records with [intake.KeyPlan.Key], so a key spec never used before
// still finds records written earlier.
type Lookuper interface {
	Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error)
}

// Getter is the capability of a [Sink] to read stored records by id. A dry
// run uses it to tell updated from unchanged rows without writing; without
// it a dry run counts every matched row as updated. Records not found are
// absent from the result.
type Getter interface {
	Get(ctx context.Context, s *intake.Schema, ids []string) (map[string]*intake.Record, error)
}

// SchemaEnsurer is the capability of a [Sink] to prepare its storage for a
// schema (create tables and columns). The importer calls it once per run
// before any write. A sink without it must accept any schema.
type SchemaEnsurer interface {
	EnsureSchema(ctx context.Context, s *intake.Schema) error
}

// Scanner is the capability of a [Sink] to stream every stored record of a
// schema's object type, which exports need; without it a store cannot be
// exported.
//
// Scan calls fn once per stored record, in a stable order (creation order,
// oldest first), with the record's values projected onto s (fields s has
// and the store does not are null). The record passed to fn, and its Values,
// are only valid during the call: a sink may reuse them for the next record,
// so fn must [intake.Record.Clone] a record it keeps. Scan stops at the
// first error fn returns and returns it. Writes that run while a Scan is
// under way may or may not be seen by it.
type Scanner interface {
	Scan(ctx context.Context, s *intake.Schema, fn func(*intake.Record) error) error
}

// Counter is the capability of a [Sink] to count the stored records of an
// object type, for progress bars and reports; without it a caller counts
// with [Scanner] or goes without. An object type the store never saw has
// zero records.
type Counter interface {
	Count(ctx context.Context, object string) (int64, error)
}

// SchemaReader is the capability of a [Sink] to tell the schema it stores
// for an object type: every field it has seen, in the order the fields were
// added. A CLI or UI uses it to export or map against what the store holds.
// Schema returns nil and no error for an object type the store never saw.
type SchemaReader interface {
	Schema(ctx context.Context, object string) (*intake.Schema, error)
}
