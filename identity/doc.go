// Package identity decides which existing record, if any, an incoming record
// is, and what the import's record action does with it.
//
// # Sections
//
// Matching: a [Matcher] resolves a batch of records to the ids of stored
// records with the same normalized key ([intake.KeyPlan]) through the sink's
// lookup capability, in one call per batch. Blank keys never match.
//
// In-file duplicates: a [Seen] set remembers the keys met earlier in the run
// as 64-bit hashes, not strings — about 10–20 bytes per distinct key — so
// that a file with millions of rows is deduplicated in bounded memory. Two
// different keys share a hash with probability about n²/2⁶⁵ (3·10⁻⁸ for a
// million keys).
//
// Decisions: [Decide] applies a record action ([intake.Action]) to a matched
// record, exactly as the action table of [intake.Action] says.
//
// New ids: an [Allocator] gives created records their ids; [UUIDv7] is the
// default.
package identity
