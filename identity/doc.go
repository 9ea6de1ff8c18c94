// Package identity decides which existing record, if any, an incoming record
// is, and what the import's record action does with it.
//
// # Sections
//
// Matching: a [Matcher] resolves a batch of records to the ids of stored
// records with the same normalized key ([intake.KeyPlan]) through the sink's
// lookup capability ([sink.Lookuper]), in one call per rule per batch. Blank keys never
// match. Several ordered identity rules ([NewRuleMatcher]: "contact_id,
// else email, else phone") are tried in order: the first rule whose key
// finds records wins, and a row whose rules find different records is a
// conflict ([intake.CodeConflict]), rejected rather than merged. A rule with
// [intake.KeySpec].RecordID matches on the store's record id (Acoustic's
// USE_RECIPIENT_ID); other key options normalize emails by their
// provider's rules or compare MD5 digests (Acoustic's ENCODED_AS_MD5).
//
// In-file duplicates: a [Seen] set remembers the keys met earlier in the run
// as 64-bit hashes, not strings — at most 64 bytes of heap per distinct
// key, whatever the key's length — so that a file with millions of rows is
// deduplicated in bounded memory. Two different keys share a hash with
// probability about n²/2⁶⁵ (3·10⁻⁸ for a million keys). A [Duplicates]
// policy chooses what later rows of a key do: the action's own rule, first
// wins, last wins, or merge.
//
// Decisions: a [Matrix] says what to do on a match (update, skip, reject, opt out,
// inactivate, delete, anonymize) and on no match (create, skip, reject);
// the five record actions of [intake.Action] are its presets ([Preset]),
// and [Decide] applies them exactly as the action table says.
// [DecideMatrix] applies any matrix with a duplicate policy. Inactivate,
// delete and anonymize need a reason, which the sink keeps in its audit log.
//
// Survivorship: a [MergePolicy] says, per job and per field, which value
// an update keeps: the row's non-empty values (the default: an empty cell
// never blanks a stored value), the row's values even when empty
// (overwrite), only what the store lacks (fill_empty), the most recent by a
// timestamp field (newest), or the union of multi-value fields (append).
//
// Consent: a [Channel] per channel (email, sms, …) keeps a status, date and
// source in three fields ([ConsentFields]); [Consent] applies a row's
// columns and the job's defaults and never turns an opted-out contact back
// to opted in unless the channel allows it.
//
// New ids: an [Allocator] gives created records their ids; [UUIDv7] is the
// default.
//
// Numeric ids from a reserved range: when the host system numbers its
// records and sets a range of numbers aside for imported ones, [NewNumeric] hands
// out the numbers of that range, NumericConfig.First to Last. It reserves
// them Block at a time (default 100) from a [sink.Sequencer], a capability the
// memory, SQLite and PostgreSQL sinks implement, which keeps the
// sequence's position in the store: allocators of any number of processes
// on one store never hand out the same number, and a number is never
// reused, even after a restart, because each block is reserved durably
// before its first number is used. The price is that the numbers of a
// block left unused when a process ends are skipped for good (a run that
// creates 3 records loses 97 numbers with the default block), and that
// numbers from several processes interleave by blocks. The sequence counts
// from First: allocators on one store and sequence name must share First;
// Last can be raised later. When the range is used up, NewID returns
// [ErrRangeExhausted]. NewID reserves with context.Background(); the
// allocator's NewIDContext ([ContextAllocator]) bounds a reservation by a
// context.
package identity
