// Package undolog encodes the undo log of a batch ([sink.UndoEntry]) as the
// stores keep it: one binary value per batch, written in the batch's
// transaction, so that keeping the log costs a store one row per batch.
//
// The encoding is a version byte (1) followed by the entries, each: its
// kind (one byte), object, id (uvarint length and bytes), line (uvarint),
// the digest of a create (8 bytes, little endian), a flag byte (bit 0: the
// opted-out flag changed, bit 1: its value before; bits 2 and 3 the same
// for inactive), the number of fields (uvarint) and each field: its name,
// then its value before and after (kind byte, string, varint integer, as
// [intake.Value.Raw] gives them).
package undolog
