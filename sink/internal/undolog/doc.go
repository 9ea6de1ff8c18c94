// Package undolog encodes the undo log of a batch ([sink.UndoEntry]) as the
// stores keep it: one binary value per batch, written in the batch's
// transaction, so that keeping the log costs a store one row per batch.
//
// A create, the entry an import writes most, takes at most 32 bytes with a
// UUID id (30 to 32 by the size of its line number).
//
// The encoding is a version byte (1) followed by the entries, each: its
// kind (one byte), its object (uvarint length and bytes; length 0: the
// object of the entry before), its id (0 and 16 bytes for a UUID in its
// canonical lower-case form, Intake's ids; else uvarint length plus one and
// the bytes), line (uvarint),
// the digest of a create (8 bytes, little endian), a flag byte (bit 0: the
// opted-out flag changed, bit 1: its value before; bits 2 and 3 the same
// for inactive), the number of fields (uvarint) and each field: its name,
// then its value before and after (kind byte, string, varint integer, as
// [intake.Value.Raw] gives them).
package undolog
