// Package sink defines where imported records go, and provides three
// stores: an in-memory one, an embedded SQLite database and PostgreSQL.
//
// # Sinks
//
// A [Sink] takes batches of write operations ([Op]: create, update, opt
// out, and the lifecycle ops inactivate, delete and anonymize) from the
// importer and reports, per op, what happened ([intake.Outcome]). Failures are identified by record (*[RecordError]
// with the record's id and source line), never by batch index. A sink
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
//   - [Scanner]: stream every record in creation order, for exports.
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
// importer then applies the job's action to that record. How each store
// makes the check atomic: the memory store under its write lock; SQLite in
// the batch's BEGIN IMMEDIATE transaction (the database's one writer); a
// SQLite host table after a no-op UPDATE that takes the write lock;
// PostgreSQL under advisory transaction locks taken before any row lock:
// the table's lock shared plus one lock per key for a batch of at most 64
// guarded creates of the table, the table's lock exclusive beyond (each
// lock takes a slot of the server's shared lock table). Keys are compared
// whole: a SQLite key column of hashes is checked against each row's
// fields, so two keys that share a hash are never taken for one.
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
// type or a record, oldest first; those of deleted records stay. The
// stores under this package keep the log in memory (the memory store) or in the table
// intake_audit (SQLite, PostgreSQL, beside a host's table too), with times
// to the microsecond.
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
// without ON DELETE would. Finding links costs one query (or, in Memory,
// one pass over the records) per link field and batch, a scan of the
// table unless the host indexes the link column: each sink's Unlinks
// method says what it does.
//
// # Sequences
//
// A [Sequencer] reserves ranges of numbers by name: Reserve(ctx,
// "contact_number", 1000) returns the first of 1000 numbers that no other
// call, process or restart gets again. Memory keeps its sequences as long
// as it lives; the SQL stores keep them in the table intake_sequences and
// have each reservation committed to disk before Reserve returns.
//
// # Memory
//
// [github.com/intakehq/intake/sink/memory.New] returns a store held in the process: for tests, dry runs,
// previews and small imports whose result the host reads back at once. It
// implements every capability but [Checkpointer], is safe for concurrent
// use and keeps a record in about 240 bytes for a typical contact, its
// email index included, outside the Go heap; [github.com/intakehq/intake/sink/memory.Store.Close] gives that
// memory back. A deleted record's bytes stay in that memory until Close.
//
// # SQLite
//
// [github.com/intakehq/intake/sink/sqlite.Open] opens the embedded default store, a SQLite file reached
// through the pure-Go driver modernc.org/sqlite (no cgo), with a table per
// object type, a column per field, and an indexed key column per key spec
// the matcher uses (options included: k_email__provider, k_email__md5);
// [github.com/intakehq/intake/sink/sqlite.New] uses a *sql.DB the host opened. It remembers its schemas, so
// a reopened store finds everything it held, and keeps the audit log and
// the sequences in the tables intake_audit and intake_sequences. It
// implements every capability but [Checkpointer]. See [github.com/intakehq/intake/sink/sqlite.Store] for the
// table layout and its SQL, and [github.com/intakehq/intake/sink/sqlite.Open] for the pragmas.
//
// # PostgreSQL
//
// [github.com/intakehq/intake/sink/postgres.New] returns a sink over a *pgxpool.Pool the host owns
// (github.com/jackc/pgx/v5), with a layout like SQLite's in a schema of the
// host's choice: a table intake_<object> per object type with a column per
// field in PostgreSQL types, indexed key columns k_<spec> (holding the
// keys' text, where SQLite's hold 64-bit hashes of them), and the
// tables intake_schema, intake_checkpoint, intake_audit and
// intake_sequences, whose plain SQL [github.com/intakehq/intake/sink/postgres.Migrations] returns for hosts
// that run their own migrations (again after an upgrade: they are
// idempotent).
// Each batch is one transaction: creates are streamed with COPY, changed
// rows with COPY into a temporary table applied by one UPDATE, outcomes
// are matched by record id; lookups take one query per 1,000 keys, and a
// table the sink fills from empty is analyzed as it grows. It
// implements every capability above, [Checkpointer] included, and several
// processes can share one database.
//
// A [TableMapping] makes it write an object type into a table the host
// already has (its own contacts table): a column per field, a jsonb column
// for custom fields, key columns (generated columns work), opted-out,
// inactive and timestamp columns. [github.com/intakehq/intake/sink/sqlite.NewTable] does the same for a
// table in a SQLite database, with its audit log and sequences in
// Intake's own tables beside it.
//
// # Writing a sink
//
// A host that keeps customer data in a store of its own implements [Sink]
// (and ideally [Lookuper] and [Getter]) over it, and checks it with the
// conformance kit github.com/intakehq/intake/sink/sinktest, which every sink
// under this package passes; examples/customsink shows one over a document
// store.
package sink
