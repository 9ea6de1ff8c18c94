// Package sinktest is a conformance kit for implementations of
// [sink.Sink], in the manner of testing/fstest's TestFS and river's driver
// test suite: a sink author calls [Run] from a test with a function that
// opens a fresh, empty sink. The kit finds the sink's optional
// capabilities by type assertion, as the importer does, and tests every
// one the sink implements; [Features] holds only what no method tells (a
// batch applied in one transaction, say). Intake's own memory, SQLite and
// PostgreSQL sinks all pass it.
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) sink.Sink { return mystore.New(t.TempDir()) },
//			sinktest.Features{AllOrNothing: true})
//	}
//
// # What it checks
//
// Write: outcomes per op (created, updated, unchanged, opted out), null
// values keep stored values, Clear sets fields to null, updates never change
// the opted-out flag, several ops of one record in one batch, failures named
// by record (a *[sink.RecordError] naming its object type, id and line,
// wrapping [sink.ErrNotFound],
// [sink.ErrDuplicateID] or [sink.ErrInvalidOp]), all-or-nothing batches, a
// canceled context, every value kind round-tripping, several object types
// and schema evolution. Lookup: normalized and composite keys, blank keys
// never match, key changes, a key spec first used after the records exist,
// several matches oldest first (or in id order: Features.IDOrder), key specs with options (email provider
// rules, MD5) finding records written before their first use. Scan order
// (creation or id order) and projection, Count, SchemaReader, concurrent readers during writes,
// checkpoints, and a batch of the size a [sink.BatchSizer] asks for.
// Lifecycle ops (inactivate, delete, anonymize: outcomes,
// what each keeps, the audit log, failures), the inactive flag round trip,
// and sequences whose reservations never overlap, even concurrently.
// Undo, for a sink that implements [sink.Undoer]: the log a run keeps
// (an entry per record created or changed, only the changed fields, none
// for an unchanged update or a failed batch), a revert that restores every
// record exactly (across batches, a record touched twice, flags, kept
// deletes, inactivations), conflicts field by field that keep the newer
// value until a forced undo, refused and expired runs, the retention, and
// the undo's audit entry.
// Identity under several writers, for a sink that implements
// [sink.KeyGuard]: creates with [sink.Op.Unique] held when a stored
// record or an earlier create of the batch holds their key (rules in
// order, blank keys, record-id keys), and four writers over overlapping
// keys, each having looked its keys up before any wrote, that never
// create a key twice and account for every create.
// Batches that mix creates, updates, opt-outs and lifecycle ops of three
// object types, all or nothing. A field's Meta kept by the store: taken
// from a run's schema, left as it is by a schema without it, given back
// by Schema and, with [Features.Reopen], by another handle on the store.
// Links: a schema's Ref kept by the store,
// deletes and anonymizations that keep links or remove them (Op.Unlink:
// id and multi-select link fields, links from several object types and
// from the same type, links written by the same batch, the anonymized
// record's own links, the exact audit entries, a failed batch that leaves
// every link in place), and a sink that implements [sink.Unlinker] but
// reports false refusing it. A sink that does not implement
// sink.Unlinker is never sent an op with Unlink, and the kit sends it
// none.
//
// # Capabilities
//
// Each test runs on the sink open returns, with the capabilities its type
// has: [sink.Lookuper], [sink.Getter], [sink.Scanner], [sink.Counter],
// [sink.SchemaReader], [sink.Checkpointer], [sink.Auditor] (lifecycle
// ops), [sink.Sequencer] and [sink.BatchSizer] when it implements them;
// [sink.Concurrent], [sink.Unlinker], [sink.KeyGuard], [sink.Resubscriber]
// and [sink.Undoer] when it implements them and reports true. A sink that wraps another should
// implement only the capabilities it passes on. A test that needs a
// capability the sink lacks, or a [Features] field left unset, is skipped
// with a message that names it. Every test opens its own sink and runs
// in parallel with the others.
package sinktest

import (
	"context"
	"fmt"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// Features says what a sink does that [Run] cannot tell from its type:
// each field is a promise about the sink's store or its configuration,
// which no method of the sink states. The kit finds the optional
// capabilities themselves by type assertion (see the package doc). The
// zero value promises nothing: the tests that need a promise are skipped.
type Features struct {
	// AllOrNothing: Write applies a batch in one transaction, all of its ops
	// or none (n is 0 on any error, no outcome is set). A declaration: a
	// sink that applies part of a failed batch keeps the [sink.Sink]
	// contract too (n < len(batch) with an error), so only its author can
	// say which it is.
	AllOrNothing bool
	// TextNUL: text values may hold NUL bytes. A declaration: a store that
	// cannot hold them (PostgreSQL) fails such a write, which Intake's
	// mapper never asks for.
	TextNUL bool
	// Contacts: the sink stores contacts only (a host's contacts table, say):
	// the tests of other object types and of schema evolution are
	// skipped, and the round trip of every value kind writes contacts
	// with a custom field of every type (x_name, x_active, …), which the
	// sink must store (in a JSON column, say). A declaration: which object
	// types a sink stores is its configuration, and a write of another
	// type fails in the same way as a broken write would.
	Contacts bool
	// Schemas: schema evolution is tested (a field added, a field's type
	// changed to another of the same kind, a conflicting kind refused with
	// [sink.ErrSchemaConflict]). A declaration: a sink with a fixed schema
	// (a host's table) refuses new fields, as it should. It needs a
	// [sink.Lookuper] and a [sink.Getter], and Contacts unset.
	Schemas bool
	// IDOrder: Scan returns records, and Lookup the ids of several
	// matches, in the order of their ids (bytewise) rather than in
	// creation order, as [sink.Scanner] allows a store that says so (the
	// PostgreSQL store: creation order for UUIDv7 ids). A declaration: the
	// order is the store's layout. The tests of order then write ids that
	// sort against creation order and expect them sorted.
	IDOrder bool
	// Reopen, when set, opens another handle on the store that s (a sink
	// open returned) writes to — another connection pool, another sink
	// value — as a second process would. The test of several writers
	// gives each its own handle; without Reopen they share s, which then
	// needs [sink.Concurrent]. Only the sink's author knows how to reach
	// its store a second time.
	Reopen func(t *testing.T, s sink.Sink) sink.Sink
}

// caps are the optional capabilities of a sink, found by type assertion.
type caps struct {
	lookup, get, scan, count, schemaReader, checkpoint, lifecycle, sequencer, batchSizer bool
	// concurrent, unlink, keyGuard and resubscribe: implemented and
	// reporting true.
	concurrent, unlink, keyGuard, resubscribe, undo bool
	// unlinkRefused: a sink.Unlinker that reports false.
	unlinkRefused bool
}

// capsOf returns the capabilities of s.
func capsOf(s sink.Sink) caps {
	var c caps
	_, c.lookup = s.(sink.Lookuper)
	_, c.get = s.(sink.Getter)
	_, c.scan = s.(sink.Scanner)
	_, c.count = s.(sink.Counter)
	_, c.schemaReader = s.(sink.SchemaReader)
	_, c.checkpoint = s.(sink.Checkpointer)
	_, c.lifecycle = s.(sink.Auditor)
	_, c.sequencer = s.(sink.Sequencer)
	_, c.batchSizer = s.(sink.BatchSizer)
	if x, ok := s.(sink.Concurrent); ok {
		c.concurrent = x.Concurrent()
	}
	if x, ok := s.(sink.Unlinker); ok {
		c.unlink, c.unlinkRefused = x.Unlinks(), !x.Unlinks()
	}
	if x, ok := s.(sink.KeyGuard); ok {
		c.keyGuard = x.GuardsKeys()
	}
	if x, ok := s.(sink.Resubscriber); ok {
		c.resubscribe = x.Resubscribes()
	}
	if x, ok := s.(sink.Undoer); ok {
		c.undo = x.Undoes()
	}
	return c
}

// kit is the state of one test: its sink, the sink's capabilities and
// the features its author declared.
type kit struct {
	t *testing.T
	s sink.Sink
	c caps
	f Features
}

// A requirement is what a test needs of a sink: a capability or a
// feature.
type requirement int

const (
	reqLookup requirement = iota
	reqGet
	reqScan
	reqRead // Getter or Scanner
	reqCount
	reqSchemaReader
	reqCheckpoint
	reqLifecycle
	reqSequencer
	reqBatchSizer
	reqConcurrent
	reqUnlink
	reqUnlinkRefused
	reqKeyGuard
	reqResubscribe
	reqUndo
	reqAllOrNothing
	reqSchemas
	reqObjects // Features.Contacts unset
)

// missing returns why the sink of k lacks r, or "" when it has it.
func (k *kit) missing(r requirement) string {
	c, f := k.c, k.f
	lacks := func(has bool, why string) string {
		if has {
			return ""
		}
		return fmt.Sprintf("%T %s", k.s, why)
	}
	unset := func(set bool, field string) string {
		if set {
			return ""
		}
		return "needs Features." + field
	}
	switch r {
	case reqLookup:
		return lacks(c.lookup, "does not implement sink.Lookuper")
	case reqGet:
		return lacks(c.get, "does not implement sink.Getter")
	case reqScan:
		return lacks(c.scan, "does not implement sink.Scanner")
	case reqRead:
		return lacks(c.get || c.scan, "implements neither sink.Getter nor sink.Scanner: the test reads records back")
	case reqCount:
		return lacks(c.count, "does not implement sink.Counter")
	case reqSchemaReader:
		return lacks(c.schemaReader, "does not implement sink.SchemaReader")
	case reqCheckpoint:
		return lacks(c.checkpoint, "does not implement sink.Checkpointer")
	case reqLifecycle:
		return lacks(c.lifecycle, "does not implement sink.Auditor (lifecycle ops)")
	case reqSequencer:
		return lacks(c.sequencer, "does not implement sink.Sequencer")
	case reqBatchSizer:
		return lacks(c.batchSizer, "does not implement sink.BatchSizer")
	case reqConcurrent:
		return lacks(c.concurrent, "does not implement sink.Concurrent or reports false")
	case reqUnlink:
		return lacks(c.unlink, "does not implement sink.Unlinker or reports false")
	case reqUnlinkRefused:
		return lacks(c.unlinkRefused, "is no sink.Unlinker that reports false: the test checks that such a sink refuses Op.Unlink "+
			"(one that does not implement sink.Unlinker is never sent it)")
	case reqKeyGuard:
		return lacks(c.keyGuard, "does not implement sink.KeyGuard or reports false")
	case reqResubscribe:
		return lacks(c.resubscribe, "does not implement sink.Resubscriber or reports false")
	case reqUndo:
		return lacks(c.undo, "does not implement sink.Undoer or reports false")
	case reqAllOrNothing:
		return unset(f.AllOrNothing, "AllOrNothing")
	case reqSchemas:
		return unset(f.Schemas, "Schemas")
	case reqObjects:
		if f.Contacts {
			return "writes object types other than contacts (Features.Contacts is set)"
		}
	}
	return ""
}

type kitTest struct {
	name  string
	needs []requirement
	run   func(k *kit)
}

func needs(rs ...requirement) []requirement { return rs }

var tests = []kitTest{
	{"Outcomes", needs(), testOutcomes},
	{"CompositeKey", needs(reqLookup), testCompositeKey},
	{"BlankKeysNeverMatch", needs(reqLookup), testBlankKeys},
	{"LookupAfterKeyChange", needs(reqLookup), testKeyChange},
	{"KeySpecAfterRecords", needs(reqLookup), testBackfill},
	{"MultipleMatchesOldestFirst", needs(reqLookup), testMultipleMatches},
	{"BatchWrites", needs(reqRead), testBatchWrites},
	{"AllOrNothing", needs(reqAllOrNothing), testAllOrNothing},
	{"FailuresByRecord", needs(), testFailuresByRecord},
	{"DuplicateID", needs(), testDuplicateID},
	{"SameIDTwiceInBatch", needs(reqRead), testSameIDTwice},
	{"ScanOrder", needs(reqScan), testScanOrder},
	{"EveryKindRoundTrips", needs(reqRead), testRoundTrip},
	{"SchemaEvolution", needs(reqSchemas, reqObjects, reqLookup, reqGet), testSchemaEvolution},
	{"ObjectTypes", needs(reqRead, reqObjects), testObjectTypes},
	{"Count", needs(reqCount), testCount},
	{"ConcurrentReaders", needs(reqConcurrent, reqLookup, reqGet), testConcurrentReaders},
	{"SchemaReader", needs(reqSchemaReader), testSchemaReader},
	{"Checkpoints", needs(reqCheckpoint), testCheckpoints},
	{"BatchSize", needs(reqBatchSizer), testBatchSize},
	{"KeySpecOptions", needs(reqLookup), testKeyOptions},
	{"Lifecycle", needs(reqLifecycle, reqRead), testLifecycle},
	{"LifecycleFailures", needs(reqLifecycle, reqRead), testLifecycleFailures},
	{"InactiveRoundTrips", needs(reqLifecycle, reqRead), testInactive},
	{"Sequencer", needs(reqSequencer), testSequencer},
	{"MixedObjectBatches", needs(reqRead, reqObjects), testMixedBatches},
	{"SchemaKeepsRef", needs(reqSchemaReader), testSchemaRef},
	{"SchemaKeepsMeta", needs(reqSchemaReader), testSchemaMeta},
	{"Unlink", needs(reqUnlink, reqRead, reqObjects), testUnlink},
	{"UnlinkContacts", needs(reqUnlink, reqRead), testUnlinkContacts},
	{"Unique", needs(reqKeyGuard, reqLookup), testUnique},
	{"Writers", needs(reqKeyGuard, reqLookup), testWriters},
	{"UnlinkRefused", needs(reqUnlinkRefused, reqRead), testUnlinkRefused},
	{"OptIn", needs(reqResubscribe, reqLifecycle, reqRead), testOptIn},
	{"Undo", needs(reqUndo, reqRead), testUndo},
	{"UndoConflicts", needs(reqUndo, reqRead), testUndoConflicts},
	{"UndoLifecycle", needs(reqUndo, reqLifecycle, reqRead), testUndoLifecycle},
	{"UndoRetention", needs(reqUndo), testUndoRetention},
	{"UndoWhileUndone", needs(reqUndo, reqRead), testUndoWhileUndone},
}

// Run runs the conformance tests against sinks made by open, each as a
// parallel subtest of t with a fresh sink. open must return an empty sink
// and should register its cleanup with t.Cleanup. f declares what the
// sink's type cannot tell; the capabilities are found on the sink.
func Run(t *testing.T, open func(t *testing.T) sink.Sink, f Features) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			require.NotNil(t, s, "open returned a nil sink")
			k := &kit{t: t, s: s, c: capsOf(s), f: f}
			for _, r := range tc.needs {
				if why := k.missing(r); why != "" {
					t.Skip("sinktest: " + why)
				}
			}
			tc.run(k)
		})
	}
}

var contact = intake.ContactSchema()

var byEmail = intake.Keys("email")

// person returns a contact record.
func person(id, email, first, last string) *intake.Record {
	r := intake.NewRecord(contact)
	r.ID = id
	if email != "" {
		r.Set("email", intake.Text(email))
	}
	if first != "" {
		r.Set("first_name", intake.Text(first))
	}
	if last != "" {
		r.Set("last_name", intake.Text(last))
	}
	return r
}

func create(r *intake.Record) *sink.Op { return &sink.Op{Kind: sink.OpCreate, Record: r} }

func update(r *intake.Record, clear ...int) *sink.Op {
	return &sink.Op{Kind: sink.OpUpdate, Record: r, Clear: clear}
}

func optOut(id string) *sink.Op {
	return &sink.Op{Kind: sink.OpOptOut, Record: &intake.Record{Schema: contact, ID: id, Values: make([]intake.Value, contact.Len())}}
}

// lifecycle returns a lifecycle op of kind on the contact id, with the
// audit entry a (nil for none).
func lifecycle(kind sink.OpKind, id string, a *sink.AuditEntry) *sink.Op {
	r := &intake.Record{Schema: contact, ID: id, Values: make([]intake.Value, contact.Len())}
	if a != nil {
		r.Line = a.Line
	}
	return &sink.Op{Kind: kind, Record: r, Audit: a}
}

func (k *kit) ctx() context.Context { return k.t.Context() }

// ensure prepares the sink for s when it is a SchemaEnsurer.
func (k *kit) ensure(s *intake.Schema) {
	k.t.Helper()
	if e, ok := k.s.(sink.SchemaEnsurer); ok {
		require.NoError(k.t, e.EnsureSchema(k.ctx(), s))
	}
}

// write writes ops, requires success, and returns their outcomes.
func (k *kit) write(ops ...*sink.Op) []intake.Outcome {
	k.t.Helper()
	n, err := k.s.Write(k.ctx(), ops)
	require.NoError(k.t, err)
	require.Equal(k.t, len(ops), n)
	out := make([]intake.Outcome, len(ops))
	for i, op := range ops {
		out[i] = op.Outcome
	}
	return out
}

// failWrite writes ops, requires a failure, and returns it.
func (k *kit) failWrite(ops ...*sink.Op) (int, error) {
	k.t.Helper()
	n, err := k.s.Write(k.ctx(), ops)
	require.Error(k.t, err, "Write must fail")
	require.Less(k.t, n, len(ops), "a failed Write must report fewer ops than the batch")
	if k.f.AllOrNothing {
		require.Equal(k.t, 0, n, "an all-or-nothing Write that fails applies nothing")
	}
	return n, err
}

func (k *kit) lookupIn(s *intake.Schema, spec intake.KeySpec, keys ...intake.Key) map[intake.Key][]string {
	k.t.Helper()
	res, err := k.s.(sink.Lookuper).Lookup(k.ctx(), s, spec, keys)
	require.NoError(k.t, err)
	for key, ids := range res {
		require.NotEmpty(k.t, ids, "Lookup returned key %q without ids", key)
	}
	return res
}

func (k *kit) lookup(spec intake.KeySpec, keys ...intake.Key) map[intake.Key][]string {
	k.t.Helper()
	return k.lookupIn(contact, spec, keys...)
}

// readable reports whether the sink can read records back.
func (k *kit) readable() bool { return k.c.get || k.c.scan }

// getIn reads records by id, through Get or, without it, Scan.
func (k *kit) getIn(s *intake.Schema, ids ...string) map[string]*intake.Record {
	k.t.Helper()
	if k.c.get {
		res, err := k.s.(sink.Getter).Get(k.ctx(), s, ids)
		require.NoError(k.t, err)
		for id, r := range res {
			require.Equal(k.t, id, r.ID)
			require.Same(k.t, s, r.Schema, "Get returns records of the schema asked for")
			require.Len(k.t, r.Values, s.Len())
		}
		return res
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	res := map[string]*intake.Record{}
	require.NoError(k.t, k.s.(sink.Scanner).Scan(k.ctx(), s, func(r *intake.Record) error {
		if want[r.ID] {
			res[r.ID] = r.Clone()
		}
		return nil
	}))
	return res
}

func (k *kit) get(id string) *intake.Record {
	k.t.Helper()
	return k.getIn(contact, id)[id]
}

func (k *kit) count(object string) int64 {
	k.t.Helper()
	n, err := k.s.(sink.Counter).Count(k.ctx(), object)
	require.NoError(k.t, err)
	return n
}

func key(parts ...string) intake.Key {
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += intake.KeySep
		}
		s += p
	}
	return intake.Key(s)
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}
