// Package sink defines where imported records go: the [Sink] interface,
// the write operations it takes ([Op]), the optional capabilities a store
// implements beside it, and the errors every store reports. It holds no
// store and no database driver, so a host that writes into a store of its
// own compiles none.
//
// The stores are packages of their own, each documenting how it keeps the
// contracts below:
//
//   - [github.com/intakehq/intake/sink/memory]: a store held in the
//     process, for tests, dry runs, previews and small imports.
//   - [github.com/intakehq/intake/sink/sqlite]: the embedded default
//     store, a SQLite file through a pure-Go driver, and a sink into a
//     table the host owns in a SQLite database.
//   - [github.com/intakehq/intake/sink/postgres]: PostgreSQL through pgx,
//     in Intake's own tables or the host's, for several processes.
//
// # Sinks
//
// A [Sink] takes batches of write operations ([Op]: create, update, opt
// out, and the lifecycle ops inactivate, delete and anonymize) from the
// importer and reports, per op, what happened ([intake.Outcome]). Failures are identified by record (*[RecordError]
// with the record's object type, id and source line), never by batch index. A sink
// that writes a batch in one transaction applies all of it or nothing; the
// sinks under this package do.
//
// # Capabilities
//
// Everything beyond Write is optional and found by type assertion, like
// io/fs's ReadFileFS. Each capability documents what callers do without it:
//
//   - [Lookuper]: find records by normalized key; the matcher needs it
//     (without it every row is new).
//   - [Getter]: read records by id; a dry run uses it to tell updated from
//     unchanged rows.
//   - [SchemaEnsurer]: prepare storage for a schema before the first write.
//   - [Scanner]: stream every record in a stable order (creation or id
//     order), for exports.
//   - [Counter]: count the records of an object type.
//   - [SchemaReader]: tell the schema stored for an object type.
//   - [Concurrent]: Lookup and Get may run beside a Write.
//   - [Checkpointer]: commit a run's checkpoint in the batch's transaction,
//     so that a run that died resumes after its last committed batch.
//   - [Auditor]: apply lifecycle ops and keep their audit log; the
//     importer refuses a job with a lifecycle action without it.
//   - [Unlinker]: remove, with a delete or an anonymization, the links
//     that point to the record ([Op.Unlink]); the importer refuses a job
//     that removes links without it.
//   - [Sequencer]: hand out numbers never handed out twice, for contact
//     numbers (identity.NewNumeric).
//   - [KeyGuard]: check a create's keys ([Op.Unique]) again in the
//     transaction that inserts it, so that several writers never create
//     the same key twice; without it identity holds for one writer at a
//     time.
//   - [Undoer]: keep, in each batch's transaction, what a run changed, and
//     revert it; without it a run cannot be undone.
//
// # Several writers
//
// The importer decides that a row creates a record when a Lookup finds
// none of its keys; another writer may create that key before the row's
// batch is written. Each create therefore carries the keys under which its
// record must be the only one (Op.Unique), and a [KeyGuard] sink looks them
// up again inside its write transaction, atomically with the insert, and
// holds the creates whose key a stored record (or an earlier create of the
// batch) holds: Outcome [intake.OutcomeSkipped] and [Op.Existing] set. The
// importer then applies the job's action to that record. A store makes
// the check atomic its own way — one writer at a time, locks on the keys,
// or a unique index — and compares keys whole: a store that indexes keys
// by a hash checks each candidate's fields, so two keys that share a hash
// are never taken for one. Each store says how on its GuardsKeys method.
//
// A host that keeps customer data in its own database writes a small type
// with Write (and ideally Lookup) over its tables.
//
// # Lifecycle ops and the audit log
//
// Three ops change a record's life rather than its values, each with an
// [AuditEntry] (Op.Audit: when, why, who, which import) that the sink
// stores in the transaction that applies the op:
//
//   - [OpInactivate] sets [intake.Record.Inactive] and keeps the values;
//     the record is still found by its keys.
//   - [OpDelete] removes the record: Lookup, Get, Scan and Count no longer
//     see it, and later ops of the batch on its id fail with [ErrNotFound].
//   - [OpAnonymize] nulls the fields that are personal in the op's schema
//     ([intake.Field.Personal]) and keeps the id, the other fields and the
//     flags; its keys are computed again, so a personal sync field no
//     longer finds it.
//
// Only an [Auditor] accepts them. A lifecycle op without an Audit entry, or
// whose entry has no Reason, fails with a *[RecordError] wrapping
// [ErrInvalidOp]; one on an id the store does not hold, with [ErrNotFound],
// as an update would. [Auditor.AuditLog] reads the entries of an object
// type or a record, oldest first; those of deleted records stay. Entry
// times are kept to the microsecond.
//
// # Undo
//
// An [Undoer] keeps a log of each run it writes with WriteUndo, one
// [UndoBatch] per batch, in the batch's transaction: the ids of the
// records it created (with a [Digest] of each as created), the fields and
// flags it changed with their values before and after, and, when the run
// asks, the records it deleted. Revert goes through the log from the newest
// batch to the oldest, one transaction per batch: it reads the records as
// they are, decides with [PlanRevert] — a record the run created is removed,
// a changed field gets its value before, a deleted record is put back — and
// leaves a record that changed after the run as it is, reported as a
// [Conflict] field by field, unless forced. Conflicts stay in the log, so
// that an undo with force, or once they are settled, reverts them later. A
// [Retention] bounds the logs by age and by count of runs. An undo keeps no
// log of its own: it cannot be undone. Anonymizations keep no before-image
// (forgetting is their point): such a run is recorded as refused.
//
// # Links
//
// A field whose [intake.Field.Ref] names an object type is a link: it holds
// the record ids of records of that type (a contact's account_record_id
// refers to an account, an activity's profile_id to a contact; a
// multi-select field holds several). The stores keep Ref with the schema:
// EnsureSchema gives a stored field the Ref of a schema that names one,
// and a schema without it leaves it as it is. A delete or an anonymize
// with [Op.Unlink] removes the links to its record from the records of
// every object type the store holds — an id field becomes null, a
// multi-select drops the id — and an anonymize with it clears the
// record's own link fields too; each removed link is an audit entry
// (Action [ActionUnlink], with the field and the target it pointed to).
// Without Unlink, other records keep the ids they hold, as a foreign key
// without ON DELETE would. Finding links costs a store a query (or a pass
// over its records) per link field and batch: each sink's Unlinks method
// says what it reaches and what it costs.
//
// # Field attributes
//
// A stored schema keeps each field's [intake.Field.Meta], the attributes
// that the host and other systems attach to it ("acoustic_required"),
// as it keeps Ref: a schema whose field has Meta gives the stored field
// that map (the whole of it, replacing the stored one), a schema whose
// field has none leaves the stored one, and a [SchemaReader] gives it
// back. No sink acts on Meta: it changes no value that is written or
// read. A host table of sqlite.NewTable keeps no schema, hence no Meta.
//
// # Sequences
//
// A [Sequencer] reserves ranges of numbers by name: Reserve(ctx,
// "contact_number", 1000) returns the first of 1000 numbers that no other
// call, process or restart gets again: a reservation is durable once
// Reserve returns (for a store held in the process, as long as it lives).
//
// # Writing a sink
//
// A host that keeps customer data in a store of its own implements [Sink]
// (and ideally [Lookuper] and [Getter]) over it, and checks it with the
// conformance kit [github.com/intakehq/intake/sink/sinktest], which every
// store under this package passes; examples/customsink shows one over a
// document store.
package sink
