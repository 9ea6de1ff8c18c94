package sink

import (
	"context"
	"strings"
	"time"

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
	// OpInactivate marks the stored record Op.Record.ID inactive
	// (intake.Record.Inactive), keeping its values. Outcome:
	// OutcomeInactivated, or OutcomeUnchanged when it already was.
	// Lifecycle ops (OpInactivate, OpDelete, OpAnonymize) carry an
	// Op.Audit entry, which the sink stores in the same transaction; only
	// sinks that implement [Auditor] accept them.
	OpInactivate
	// OpDelete removes the stored record Op.Record.ID: it is no longer
	// found by Lookup, Get, Scan or Count. Its audit entry stays.
	// Outcome: OutcomeDeleted.
	OpDelete
	// OpAnonymize sets every personal field (intake.Field.Personal) of the
	// stored record Op.Record.ID to null, keeping its id, its other
	// fields and its flags; its keys are recomputed, so a personal sync
	// field no longer finds it. Outcome: OutcomeAnonymized, or
	// OutcomeUnchanged when no personal field held a value (nor, with
	// Op.Unlink, a link field).
	OpAnonymize
)

// ActionUnlink is the AuditEntry.Action of a link that an op with
// Op.Unlink removed.
const ActionUnlink = "unlink"

var opKindNames = [...]string{"invalid", "create", "update", "opt_out", "inactivate", "delete", "anonymize"}

// String returns "create", "update", "opt_out", "inactivate", "delete" or
// "anonymize".
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
	// Audit is the audit entry of a lifecycle op (OpInactivate, OpDelete,
	// OpAnonymize), required for them and nil for the others. The sink
	// stores it, with RecordID and Object filled in from Record, in the
	// transaction that applies the op.
	Audit *AuditEntry
	// Unlink, on an OpDelete or an OpAnonymize, removes the links that
	// point to the record. A link is a field of type id or multi-select
	// whose [intake.Field.Ref] names the record's object type (a
	// contact's account_record_id, an activity's profile_id): in the
	// stored records that the sink reaches, each such field that holds
	// the record's id loses it — a field of type id becomes null, a
	// multi-select field drops the id (and becomes null when no id is
	// left). An anonymize with Unlink also clears the record's own link
	// fields (every id or multi-select field with a Ref); a deleted
	// record's own links go with it.
	//
	// Which records a sink reaches is its own (a sink documents it on
	// its Unlinks method): the memory, SQLite and PostgreSQL stores those
	// of every object type they hold, their link fields being those of
	// the schemas they store (with the Ref each field was last given); a
	// SQLite host table only its own table, its link fields those of the
	// batch's schemas. A field stored without a Ref (an activity's
	// profile_id stored without one) is no link: it keeps its ids until
	// the store learns its Ref, which a run of the import that fills it
	// (importer.ProfileLink, importer.Link) teaches it, as does
	// [SchemaEnsurer.EnsureSchema] with a schema whose field sets the Ref.
	//
	// The links are removed in the batch's transaction, after its ops: the
	// links that ops of the same batch wrote go too. Each removed link adds
	// an audit entry with Action [ActionUnlink] that names the record that
	// held the link (Object, RecordID), the field and what it pointed to
	// (Field, TargetObject, TargetID), with the Time, Reason, Actor, Job,
	// RunID and Line of the op (of the batch's first op with Unlink on
	// that target). Without Unlink (the default) other records keep the
	// ids they hold.
	//
	// Only a sink that implements [Unlinker] and reports true applies
	// it, and the importer sends it to no other sink. A sink that
	// implements Unlinker and reports false must fail such an op (the
	// conformance kit checks that it does); one that does not implement
	// Unlinker may not know the field at all. Unlink on an op of another
	// kind is an [ErrInvalidOp].
	Unlink bool
	// OptIn, on an OpUpdate, also clears the record's opted-out flag
	// (intake.Record.OptedOut): a consent channel that may re-subscribe
	// (identity.Channel.AllowResubscribe) turned the email consent of a
	// contact opted out as a whole back to opted in. The outcome is
	// OutcomeUpdated when the flag was set. Only a sink that implements
	// [Resubscriber] and reports true applies it, and the importer sends
	// it to no other sink; OptIn on an op of another kind is an
	// [ErrInvalidOp].
	OptIn bool
	// Unique, on an OpCreate, lists the key specs under which the record
	// must be the only one of its object type: the importer sets the job's
	// sync key, or its identity rules in order. A sink that implements
	// [KeyGuard] checks, in the transaction that would insert the record
	// and atomically with the insert (no other writer can create the key in
	// between), whether a stored record or an earlier create of the batch
	// already holds the record's key under one of the specs, in order. When
	// one does — typically a record that another process committed after
	// the importer looked the key up — the sink creates nothing, sets
	// Outcome to [intake.OutcomeSkipped] and Existing to the ids that the
	// first spec with a match finds (oldest first), and applies the rest of
	// the batch. Keys are compared whole, never by a hash alone: two keys
	// that share a hash are two keys. A blank key is not checked; a
	// [intake.KeySpec.RecordID] spec checks the record's id. A sink without
	// KeyGuard ignores Unique. Unique on an op of another kind is an
	// [ErrInvalidOp].
	Unique []intake.KeySpec
	// Existing is set by a [KeyGuard] sink on an OpCreate that Unique kept
	// from being applied: the ids of the stored records (or of the earlier
	// create of the batch) that hold its key. nil otherwise.
	Existing []string
	// Outcome is set by the sink when the op is applied: OutcomeCreated for a
	// create, OutcomeUpdated or OutcomeUnchanged for an update (unchanged when
	// no stored value differs), OutcomeOptedOut for an opt-out, and for the
	// lifecycle ops OutcomeInactivated, OutcomeDeleted or OutcomeAnonymized
	// (or OutcomeUnchanged, as each kind says).
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
// schema's object type, the ids of those records in a stable order: oldest
// first, or, in a store whose documentation says so (the PostgreSQL store),
// the order of the ids, which is oldest first for the UUIDv7 ids Intake
// allocates by default. Blank keys ("") never match. A sink computes the keys of its
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
// Scan calls fn once per stored record, in a stable order — creation order,
// oldest first, or, in a store whose documentation says so (the
// PostgreSQL store), the order of the ids, which is creation order for the
// UUIDv7 ids Intake allocates by default — with the record's values
// projected onto s (fields s has and the store does not are null). The record passed to fn, and its Values,
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
// added, with their Ref and Meta (see the package doc). A CLI or UI uses
// it to export or map against what the store holds. Schema returns nil
// and no error for an object type the store never saw.
type SchemaReader interface {
	Schema(ctx context.Context, object string) (*intake.Schema, error)
}

// AuditEntry is one entry of a store's audit log: who did what to which
// record, when, why, and in which import.
type AuditEntry struct {
	// Time is when the op was decided. Sinks store it to the microsecond.
	Time time.Time `json:"time"`
	// Object and RecordID name the record.
	Object   string `json:"object"`
	RecordID string `json:"record_id"`
	// Action is the op: "inactivate", "delete" or "anonymize", or
	// [ActionUnlink] for a link that an op with Op.Unlink removed.
	Action string `json:"action"`
	// Reason says why; lifecycle actions require one.
	Reason string `json:"reason"`
	// Actor is who asked for it (a user or a system), as the host names it.
	Actor string `json:"actor,omitempty"`
	// Job and RunID name the import that did it; Line is the source line
	// of the row.
	Job   string `json:"job,omitempty"`
	RunID string `json:"run_id,omitempty"`
	Line  int    `json:"line,omitempty"`
	// Field, TargetObject and TargetID describe the link an "unlink"
	// entry removed: the link field of the record Object/RecordID, and the
	// object type and id of the record it pointed to. Empty in other
	// entries.
	Field        string `json:"field,omitempty"`
	TargetObject string `json:"target_object,omitempty"`
	TargetID     string `json:"target_id,omitempty"`
}

// Auditor is the capability of a [Sink] to apply lifecycle ops
// (OpInactivate, OpDelete, OpAnonymize) and keep their audit log. The
// importer refuses a job with a lifecycle action on a sink without it.
//
// AuditLog returns the entries of an object type, oldest first; with a
// non-empty recordID, only that record's. The entries of deleted records
// stay.
type Auditor interface {
	AuditLog(ctx context.Context, object, recordID string) ([]AuditEntry, error)
}

// Unlinker is the capability of an [Auditor] to apply [Op.Unlink]:
// removing, with a delete or an anonymize, the links that point to the
// record. Unlinks reports whether the sink does. The importer refuses a
// job that removes links (importer.UnlinkRemove) on a sink without it: a
// sink that does not know Op.Unlink would neither apply nor refuse it.
type Unlinker interface {
	Auditor
	Unlinks() bool
}

// Resubscriber is the capability of a [Sink] to clear a record's
// opted-out flag with an update ([Op.OptIn]). Resubscribes reports whether
// the sink does. Without it an import never lifts a whole-record opt-out:
// a row that would re-subscribe such a contact keeps it opted out and is
// counted as consent kept (importer.Report.ConsentKept).
type Resubscriber interface {
	Resubscribes() bool
}

// KeyGuard is the capability of a [Sink] to keep identity under several
// writers: it applies [Op.Unique], so that two imports that both decided to
// create a record for the same key — each looked the key up before the
// other wrote it — never both create it. GuardsKeys reports whether the sink
// does. The importer then applies its record action to the record the
// other writer created (an update, a skip as "exists", or a rejection as
// "duplicate"). Without it, identity holds only for one writer at a time.
//
// A sink makes the check and the insert atomic its own way: one writer at a
// time (the memory store's lock, SQLite's write transaction), locks on the
// keys (PostgreSQL's advisory locks), or a unique index.
type KeyGuard interface {
	GuardsKeys() bool
}

// Sequencer is the capability of a [Sink] to hand out numbers that are
// never handed out twice, even across processes and restarts, for
// [github.com/intakehq/intake/identity.NewNumeric] (contact numbers from a
// reserved range).
//
// Reserve reserves n consecutive numbers of the named sequence and returns
// the first: 0 on the first call for a name, then where the previous
// reservation ended. The reservation is durable once Reserve returns,
// whether or not the numbers are used.
type Sequencer interface {
	Reserve(ctx context.Context, name string, n int64) (first int64, err error)
}

// AnonymizeErases reports whether [OpAnonymize] erases field i of s: a
// personal field ([intake.Field.Personal]), or the digest field F_md5 of a
// personal field F (an MD5 key falls back on it, so it would still find
// the record). A sink that implements OpAnonymize erases exactly these
// fields; the importer's dry run counts with the same rule.
func AnonymizeErases(s *intake.Schema, i int) bool {
	f := s.Field(i)
	if f.Personal {
		return true
	}
	base, ok := strings.CutSuffix(f.Name, "_md5")
	if !ok {
		return false
	}
	j := s.Index(base)
	return j >= 0 && s.Field(j).Personal
}
