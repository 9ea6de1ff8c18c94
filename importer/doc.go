// Package importer drives an import from end to end: it reads rows from a
// connector.Source, maps them with a compiled mapping.Plan, matches them to
// stored records by their sync fields, applies the record action and writes
// the result to a sink.Sink in batches. [Importer.Run] returns a [Report] that
// accounts for every input row.
//
// # Sections
//
// Running: build an [Importer] once with [New] and a [Config] (the sink, the
// batch size, the number of mapping goroutines, a hook for the run's
// events, a logger), then call [Importer.Run] with a [Job] per file (the
// source, the schema, the mapping spec, the action, the sync fields, dry
// run, a rejects writer).
//
// Run events: Config.Events is one hook that follows every run: an [Event]
// when the run starts, one after each committed batch (the counts so far,
// rows per second, the source bytes read of its size) and one when it
// finishes (the report and the error), sent synchronously on the goroutine
// that called Run, never two at once for one run. A progress bar, a live
// run record (package schedule stores one) and the log lines of
// Config.Logger all read these events; a consumer that draws or stores
// throttles itself, since the run waits for the hook.
// The zero value of each option of a Job is its default
// ([Job.WithDefaults]); Run checks the whole job before it reads the
// source and reports every problem at once.
//
// Several writers: each create carries the job's identity rules as
// sink.Op.Unique. A sink that implements sink.KeyGuard checks them again in
// the transaction that inserts the record and holds a create whose key
// another writer (another run, another process) committed after this run
// looked the key up. The run then applies its action to that record, in
// one more write before the next batch's: add_and_update updates it (merge
// rules and consent included, with the values of the file's later rows of
// the key that the create had taken in), add_only skips the row as exists,
// create (a matrix with ExpectNew) rejects it as duplicate, a matrix applies its on-match action
// (a lifecycle action on a match leaves the record alone: the row is
// skipped as exists). Report.Concurrent counts such rows. So concurrent
// imports into one store never create a key twice; the targets that links
// create (Missing create) are not guarded.
//
// Record actions: Job.Action is an identity.Matrix (on a match update,
// skip, opt out, inactivate, delete or anonymize; on no match create, skip
// or reject), whose presets are the five actions of intake.Action
// (identity.AddAndUpdate, the default, identity.AddOnly, …). Job.Identity says how rows find their records: one sync key
// ([SyncOn]), ordered identity rules ([Rules]; a row whose rules find
// different records is rejected as a conflict) or none ([NoSync]). The
// mapping must fill the sync fields (of at least one rule, and of each
// rule all or none): a job whose key no column fills fails before its
// first row with [ErrKeyNotMapped] instead of rejecting every row.
// Job.Duplicates chooses what later rows of a key do (first
// wins, last wins, merge), Job.Merge how an update merges with stored
// values, Job.Consent how consent columns and defaults apply (an opted-out
// contact stays opted out unless the channel allows otherwise), and
// Job.Memberships which lists or tags every record joins. Lifecycle actions
// need Job.Reason and a sink.Auditor, which stores an audit entry (who,
// when, why, job and run) with each op. Job.Explain explains the decisions
// on the first rows in Report.Explain: the rule and key that matched and,
// for updates, each field that changes, old → new. Merge rules that read
// stored values, consent and explanations make a run read the matched
// records of each batch (one sink.Getter call) and write its batches one
// after the other.
//
// Objects and links: Job.Schema says which object type a job imports —
// intake.ContactSchema (the default), intake.AccountSchema,
// intake.ActivitySchema or a host-defined schema — and the sinks keep each
// type apart. Job.Links resolve foreign-key fields (a contact's account_id,
// by the account's account_id, domain or name) to the record id of the
// target, stored in a field the job adds to the schema (account_record_id,
// whose intake.Field.Ref names the target's type). A contact job that maps
// account_id links it to the store's accounts by itself, keeping the rows
// of accounts it does not find (Job.AccountLink); Job.Profile attaches
// activities, which are append-only, to the profile whose email,
// contact_id or phone they carry (profile_id), and makes the job add_only
// on event_id when the file has it, so that a re-import skips the events
// it holds. Each batch looks its targets up with one call per key, before
// its rows are matched. A target that is not found follows [Missing]: the
// row is rejected (unknown_link, unknown_profile), skipped, imported
// without the link, or the target (a minimal profile) is created in the
// same batch, before the row, and found by later rows. Links create and
// update targets only for the rows whose own records the run creates or
// updates: a row rejected for any reason (its sync key empty or a
// duplicate, another link), skipped by its action (update_only without a
// match, add_only finding its record), opted out or deleted leaves no
// target and changes none (see [Link]). Report.Links counts how the
// references resolved. Job.KeepUnmapped keeps the columns the
// mapping does not mention as text properties.
//
// One file, several objects: a row may carry its target's data too — a
// contact and its company on one line. Link.Fields names the row's fields
// that hold the target's values (company_name → name); they are the
// target's, not written to the row's record. With Missing create, an
// unknown reference creates the target with those values (once, however
// many rows name it); with Link.Update, a known one is updated with the
// row's non-empty values, in file order, so that the last non-empty value
// of each field wins. A target that a row creates or updates is found by
// later rows through the keys of every link to its object type.
// Report.Objects counts, per object type, the targets created and the
// references that updated them or left them unchanged; the rows' own
// records keep the top-level counts.
//
// Many-to-many memberships: with Link.Many, a multi-select column holds
// several references ("gold; vip": lists, tags, criteria, segments), each
// resolved by the target's key, and the link field (list_record_ids)
// receives the targets' record ids in the order of the references, each
// once. Missing applies per item (empty drops an unknown item, create
// creates it once). A non-empty list replaces the stored one on an update
// unless Job.Merge gives the field the append rule.
//
// [ParseLinks] reads links written as text, the CLI's -link notation
// ("account_id, lists=list.name[many]"), and [Link.String] writes one.
//
// Streaming: Run reads the source in one goroutine, maps chunks of rows on
// Config.Workers goroutines, and puts them back in file order in the calling
// goroutine, which looks up a whole batch in one call to the sink, decides
// each row and writes the batch in one call; when the sink implements
// sink.Concurrent, the batch is written in the background once the next
// one is looked up, while that one is decided. Rows reach the sink in file
// order. Memory stays
// bounded by a few batches, whatever the size of the file (a dry run also
// keeps the records it would write; see Job.DryRun).
//
// Report: Report.Rows = Created + Updated + Unchanged + Skipped + OptedOut +
// Rejected + Inactivated + Deleted + Anonymized. Skipped and rejected rows are counted by reason code in
// Report.Reasons; the first rejected rows are listed in Report.Errors with
// file, line, column, field, code and message, and every one can be written
// to a CSV file by a [RejectWriter] (Job.Rejects). Report.Source lists the
// columns that no field takes (SourceInfo.Ignored; those the mapping spec
// skips on purpose in SourceInfo.Skipped): no column is left out unsaid.
// Nor is a cell: a column with "invalid": "empty" (mapping.InvalidEmpty)
// leaves a cell its type cannot parse empty and imports the row, and the
// run maps rows with mapping.Plan.MapWarn, so that Report.Warned counts
// every such cell exactly and Report.Warnings lists the first ones
// (capped like Errors, Report.WarningsTruncated), in file order, each
// with the file, line, column, field, code and message its rejection
// would have had. The warnings of a row the run rejects for another
// reason are not counted (the row is not imported); a warned row counts
// by its outcome, so the invariant holds as it is. The text report prints
// both ("warned", "cells left empty").
//
// Failures: a row that cannot be imported is rejected and the run goes on.
// A sink or source failure stops the run: the batches written before stay
// written and are counted in the report (and their rejected rows are in
// Job.Rejects), the batch being written is not counted (the memory and SQLite
// sinks roll it back; a sink that writes op by op may have applied part of
// it, which the error says), and the error says how many rows were committed.
// Running the same job again is safe: rows committed before match their
// records and come out unchanged. Canceling the context stops the run the
// same way, with [StatusCanceled].
//
// Dry run: Job.DryRun reads, maps, matches and decides every row, writes
// nothing, and reports what a real run would do. When the sink can read
// records back (sink.Getter), updated and unchanged rows are told apart, as
// a real run would tell them; without it every matched row counts as updated.
//
// Undo: into a sink that implements sink.Undoer, every run keeps an undo
// log in the transaction of each batch — the ids of the records it
// creates, the values before of the fields and flags it changes —, and
// [Importer.Undo] reverts a committed run by its Report.RunID, one batch per
// transaction, newest first: created records are removed, changed fields,
// opt-outs and inactivations are set back. A record that changed after the
// run is not overwritten: it is a conflict, reported field by field, which
// UndoJob.Force reverts anyway. An undo that dies is finished by running it
// again; UndoJob.DryRun says what it would do. A run that anonymizes, or
// deletes without Job.Undo.Deletes, cannot be undone, and
// [Importer.Undoable] (and Report.UndoReason) says so before it runs;
// Config.UndoRetention (default 30 days, the 100 newest runs) bounds the
// logs, and a run older than that cannot be undone either.
package importer
