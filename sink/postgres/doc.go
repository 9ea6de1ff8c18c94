// Package postgres provides a store in a PostgreSQL database reached
// through pgx (github.com/jackc/pgx/v5), for hosts that run several
// processes on one database.
//
// # Store
//
// [New] returns a [Store] over a *pgxpool.Pool the host owns, with a
// layout like the SQLite store's in a schema of the host's choice
// ([Config.Schema]): a table intake_<object> per object type with the
// record id as primary key, a column per field in PostgreSQL types and
// indexed key columns k_<spec> holding the keys' text — two indexes for
// a table looked up by one key spec, and no creation sequence: Scan and
// Lookup order records by id, which is creation order for UUIDv7 ids and
// number order for numeric ids of one width — and the tables intake_schema (each
// object's fields as JSON, their Ref and Meta included),
// intake_checkpoint, intake_audit, intake_sequences, and intake_undo_runs
// and intake_undo, which hold the undo logs of runs. New creates them
// unless [Config.SkipMigrations] is set; [Migrations] and
// [ObjectMigration] return their plain SQL for hosts that run their own
// migrations (again after an upgrade: they are idempotent). A store of an
// earlier layout (with a seq column) migrates in place, in one
// transaction; processes of a version that still orders by seq fail on a
// migrated store, so upgrade every process that shares a schema together.
//
// It implements every capability of [github.com/intakehq/intake/sink],
// [sink.Checkpointer] and [sink.Undoer] included. Each batch is one transaction: creates are
// streamed with COPY, changed rows with COPY into a temporary table applied
// by one UPDATE, outcomes are matched by record id; lookups take one query
// per 1,000 keys, and a table the store fills from empty is analyzed as it
// grows. [Store] documents the tables, the write path and what it does
// about lost connections.
//
// # Host tables
//
// [Config.Tables] maps object types to tables the host already has (its own
// contacts table) with a [sink.TableMapping]: a column per field, a jsonb
// column for custom fields, key columns (generated columns work),
// opted-out, inactive and timestamp columns. Intake never creates, alters
// or drops a host table.
//
// # Contracts
//
//   - Each Write is one transaction: all of the batch or nothing. A
//     checkpoint written with [Store.WriteCheckpoint] commits with its
//     batch.
//   - A Store is safe for concurrent use, and several processes may share
//     one database and schema.
//   - Several writers: the keys of [sink.Op.Unique] are checked under
//     advisory transaction locks taken before any row lock: the table's
//     lock shared plus one lock per key for a batch of at most 64 guarded
//     creates of the table, the table's lock exclusive beyond (each lock
//     takes a slot of the server's shared lock table). Under them the
//     keys are looked up again, unless the log of writes to the table
//     (intake_writes, kept by a trigger) shows that nothing but this
//     store's own writes of other keys wrote it since its Lookup found
//     no record for them.
//   - Lifecycle ops keep their audit log in intake_audit and
//     [Store.Reserve] its sequences in intake_sequences, beside a host's
//     table too; a reservation is committed before Reserve returns.
//   - [sink.Op.Unlink] reaches every object type the store holds.
//   - [Store.WriteUndo] keeps a batch's undo log in the batch's
//     transaction: a row of intake_undo per batch (its entries, encoded,
//     built from the rows the batch reads anyway) and the run's row in
//     intake_undo_runs. [Store.Revert] reverts one batch per transaction,
//     under the lock of the run's row: an undo that dies leaves each batch
//     reverted or as it was, and several processes may undo one run at
//     once, in own and host tables alike.
package postgres
