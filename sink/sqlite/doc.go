// Package sqlite provides the embedded default store, a SQLite database
// reached through the pure-Go driver modernc.org/sqlite (no cgo), and a
// sink into a table the host owns in a SQLite database.
//
// # Store
//
// [Open] opens (or creates) a database file with the pragmas an import
// needs (WAL, IMMEDIATE write transactions, a busy timeout); [New] uses a
// *sql.DB the host opened. The [Store] keeps a table intake_<object> per
// object type, a column per field, and an indexed key column per key spec
// the matcher uses (options included: k_email__provider, k_email__md5),
// holding the keys' 64-bit hashes. It remembers its schemas in
// intake_schema (each field as JSON, its Ref and Meta included), so a
// reopened store finds everything it held. [Store]
// documents the table layout and its SQL, [Open] the pragmas.
//
// It implements every capability of [github.com/intakehq/intake/sink] but
// [sink.Checkpointer], and asks for batches of 20,000 ops
// ([sink.BatchSizer]): each commit writes the pages it dirtied once.
//
// # Host tables
//
// [NewTable] returns a [Table]: a sink that writes one object type into a
// table the host already has, laid out by a [sink.TableMapping] (a column
// per field, a JSON column for custom fields, key columns, opted-out,
// inactive and timestamp columns). Intake never creates, alters or drops
// that table.
//
// # Contracts
//
//   - Each Write is one transaction: all of the batch or nothing.
//   - Writes are serialized and reads run beside them, each on its own
//     connection of the pool ([sink.Concurrent]). Several stores may share
//     one database, in one process or in several: each reads the other's
//     schema changes before it writes.
//   - Several writers: a Store checks the keys of [sink.Op.Unique] in the
//     batch's BEGIN IMMEDIATE transaction, which holds the database's one
//     write lock; a Table takes that lock with a no-op UPDATE before it
//     checks. A key column of hashes is checked against each candidate
//     row's fields, so two keys that share a hash are never taken for one.
//   - Lifecycle ops keep their audit log in the table intake_audit, and
//     [Store.Reserve] its sequences in intake_sequences, beside a host's
//     table too; each reservation is committed to disk before Reserve
//     returns.
//   - [sink.Op.Unlink] reaches every object type a Store holds, and only
//     its own table for a Table.
//   - Undo ([sink.Undoer]): WriteUndo keeps a batch's undo log as one row
//     of intake_undo in the batch's transaction, and each run's state in
//     intake_undo_runs, beside a host's table too ([Store] documents the
//     layout); each sink sees only the runs it wrote. Revert reverts one
//     batch per IMMEDIATE transaction, so an undo that dies leaves every
//     batch reverted or as it was. Plain Write keeps no log.
package sqlite
