// Package memory provides a store held in the process: the sink of tests,
// dry runs, previews and small imports whose result the host reads back at
// once.
//
// [New] returns an empty [Store]. It implements every capability of
// [github.com/intakehq/intake/sink] but [sink.Checkpointer]: it finds
// records by key and by id, scans, counts and tells its schemas, applies
// lifecycle ops and keeps their audit log, removes links ([sink.Op.Unlink])
// in every object type it holds, reserves sequence numbers, and guards
// keys ([sink.KeyGuard]). [Config.MaxRecords] caps its size: a create
// beyond it fails with [sink.ErrFull].
//
// # Contracts
//
//   - Each Write applies its whole batch or nothing.
//   - A Store is safe for concurrent use: writes are serialized under one
//     lock, and lookups, gets, scans and counts run in parallel beside
//     them, seeing the store before or after a Write, never half of it.
//   - Several writers: the key guard of [sink.Op.Unique] runs under the
//     write lock, so no other write comes between the check of a create's
//     keys and its insert.
//   - The audit log and the sequences live, like the records, as long as
//     the Store; nothing survives the process.
//   - Records returned by Get and passed to Scan's function, and ids
//     returned by Lookup, are copies: they never share memory with the
//     store.
//
// # Memory
//
// The records live outside the Go heap, in memory mapped from the
// operating system, about 240 bytes for a typical contact with its email
// index; [Store.Stats] tells how much the store holds and [Store.Close]
// gives it back at once. A deleted or updated record's old bytes stay in
// that memory until Close.
package memory
