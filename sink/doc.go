// Package sink defines where imported records go, and provides three
// stores: an in-memory one, an embedded SQLite database and PostgreSQL.
//
// # Sinks
//
// A [Sink] takes batches of write operations ([Op]: create, update, opt
// out) from the importer and reports, per op, what happened
// ([intake.Outcome]). Failures are identified by record (*[RecordError]
// with the record's id and source line), never by batch index. A sink
// that writes a batch in one transaction applies all of it or nothing; the
// sinks of this package do.
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
//
// A host that keeps customer data in its own database writes a small type
// with Write (and ideally Lookup) over its tables.
//
// # Memory
//
// [NewMemory] returns a store held in the process: for tests, dry runs,
// previews and small imports whose result the host reads back at once. It
// implements every capability but [Checkpointer], is safe for concurrent
// use and keeps a record in about 240 bytes for a typical contact, its
// email index included, outside the Go heap; [Memory.Close] gives that
// memory back.
//
// # SQLite
//
// [OpenSQLite] opens the embedded default store, a SQLite file reached
// through the pure-Go driver modernc.org/sqlite (no cgo), with a table per
// object type, a column per field, and an indexed key column per key spec
// the matcher uses; [NewSQLite] uses a *sql.DB the host opened. It
// remembers its schemas, so a reopened store finds everything it held. See
// [SQLite] for the table layout and [OpenSQLite] for the pragmas.
//
// # PostgreSQL
//
// [NewPostgres] returns a sink over a *pgxpool.Pool the host owns
// (github.com/jackc/pgx/v5), with the same layout as SQLite in a schema of
// the host's choice: a table intake_<object> per object type with a column
// per field in PostgreSQL types, indexed key columns k_<spec>, and the
// tables intake_schema and intake_checkpoint, whose plain SQL
// [PostgresMigrations] returns for hosts that run their own migrations.
// Each batch is one transaction: creates are streamed with COPY, changed
// rows with COPY into a temporary table applied by one UPDATE, outcomes
// are matched by record id; lookups take one query per batch. It
// implements every capability above, [Checkpointer] included, and several
// processes can share one database.
//
// A [TableMapping] makes it write an object type into a table the host
// already has (its own contacts table): a column per field, a jsonb column
// for custom fields, key columns (generated columns work), opted-out and
// timestamp columns. [NewSQLiteTable] does the same for a table in a
// SQLite database.
//
// # Writing a sink
//
// A host that keeps customer data in a store of its own implements [Sink]
// (and ideally [Lookuper] and [Getter]) over it, and checks it with the
// conformance kit github.com/intakehq/intake/sink/sinktest, which every sink
// of this package passes; examples/customsink shows one over a document
// store.
package sink
