// Package sinktest is a conformance kit for implementations of
// [sink.Sink], in the manner of testing/fstest's TestFS and river's driver
// test suite: a sink author calls [Run] from a test with a function that
// opens a fresh, empty sink, and says with [Features] which optional
// capabilities the sink has. Intake's own memory, SQLite and PostgreSQL
// sinks all pass it.
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) sink.Sink { return mystore.New(t.TempDir()) },
//			sinktest.Features{Lookup: true, Get: true, AllOrNothing: true})
//	}
//
// # What it checks
//
// Write: outcomes per op (created, updated, unchanged, opted out), null
// values keep stored values, Clear sets fields to null, updates never change
// the opted-out flag, several ops of one record in one batch, failures named
// by record (*[sink.RecordError] wrapping [sink.ErrNotFound],
// [sink.ErrDuplicateID] or [sink.ErrInvalidOp]), all-or-nothing batches, a
// canceled context, every value kind round-tripping, several object types
// and schema evolution. Lookup: normalized and composite keys, blank keys
// never match, key changes, a key spec first used after the records exist,
// several matches oldest first, key specs with options (email provider
// rules, MD5) finding records written before their first use. Scan order
// and projection, Count, SchemaReader, concurrent readers during writes,
// checkpoints. Lifecycle ops (inactivate, delete, anonymize: outcomes,
// what each keeps, the audit log, failures), the inactive flag round trip,
// and sequences whose reservations never overlap, even concurrently.
// Identity under several writers, for a sink that implements
// [sink.KeyGuard]: creates with [sink.Op.Unique] held when a stored
// record or an earlier create of the batch holds their key (rules in
// order, blank keys, record-id keys), and four writers over overlapping
// keys, each having looked its keys up before any wrote, that never
// create a key twice and account for every create.
// Batches that mix creates, updates, opt-outs and lifecycle ops of three
// object types, all or nothing. Links: a schema's Ref kept by the store,
// deletes and anonymizations that keep links or remove them (Op.Unlink:
// id and multi-select link fields, links from several object types and
// from the same type, links written by the same batch, the anonymized
// record's own links, the exact audit entries, a failed batch that leaves
// every link in place), and a sink that implements [sink.Unlinker] but
// reports false refusing it. A sink that does not implement
// sink.Unlinker (one written before Op.Unlink existed) is never sent an
// op with Unlink, and the kit sends it none.
//
// Tests that need a capability the sink lacks are skipped with a message.
// Every test opens its own sink and runs in parallel with the others.
package sinktest

import (
	"context"
	"fmt"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// Features says which optional capabilities of a sink [Run] tests. A
// feature that is set but not implemented by the sink fails the test; a
// capability the sink implements but the features leave out is not tested.
type Features struct {
	// Lookup: the sink implements [sink.Lookuper].
	Lookup bool
	// Get: the sink implements [sink.Getter].
	Get bool
	// Scan: the sink implements [sink.Scanner].
	Scan bool
	// Count: the sink implements [sink.Counter].
	Count bool
	// SchemaReader: the sink implements [sink.SchemaReader].
	SchemaReader bool
	// Concurrent: the sink implements [sink.Concurrent] and reports true;
	// Lookup, Get and Scan run beside Write.
	Concurrent bool
	// AllOrNothing: Write applies a batch in one transaction, all of its ops
	// or none (n is 0 on any error, no outcome is set).
	AllOrNothing bool
	// Checkpoint: the sink implements [sink.Checkpointer].
	Checkpoint bool
	// TextNUL: text values may hold NUL bytes. PostgreSQL cannot store
	// them; Intake's mapper never produces them.
	TextNUL bool
	// Contacts: the sink stores contacts only (a host's contacts table, say):
	// the tests of other object types and of schema evolution are
	// skipped, and the round trip of every value kind writes contacts
	// with a custom field of every type (x_name, x_active, …), which the
	// sink must store (in a JSON column, say). All leaves it false.
	Contacts bool
	// Schemas: schema evolution is tested (a field added, a field's type
	// changed to another of the same kind, a conflicting kind refused with
	// [sink.ErrSchemaConflict]). Sinks with a fixed schema leave it false.
	Schemas bool
	// Lifecycle: the sink implements [sink.Auditor], applies lifecycle ops
	// ([sink.OpInactivate], [sink.OpDelete], [sink.OpAnonymize]) and
	// stores [intake.Record.Inactive]. Its tests read records back, so
	// they also need Get or Scan.
	Lifecycle bool
	// Sequencer: the sink implements [sink.Sequencer].
	Sequencer bool
	// Unlink: the sink implements [sink.Unlinker], reports true, and
	// applies [sink.Op.Unlink] on deletes and anonymizations. Its tests
	// need Lifecycle and Get or Scan. Without it, a sink with Lifecycle
	// that implements sink.Unlinker and reports false must refuse an op
	// with Unlink, which the kit checks; one that does not implement
	// sink.Unlinker is never sent such an op (the importer refuses a job
	// that removes links first), and the kit skips that check.
	Unlink bool
	// Reopen, when set, opens another handle on the store that s (a sink
	// open returned) writes to — another connection pool, another sink
	// value — as a second process would. The test of several writers
	// gives each its own handle; without Reopen they share s, which then
	// needs Concurrent. The tests of [sink.KeyGuard] run on every sink
	// that implements it and reports true.
	Reopen func(t *testing.T, s sink.Sink) sink.Sink
}

// All returns the features of a sink that implements every capability
// (the memory and SQLite sinks): every field true but Checkpoint and
// Contacts.
func All() Features {
	return Features{Lookup: true, Get: true, Scan: true, Count: true, SchemaReader: true,
		Concurrent: true, AllOrNothing: true, TextNUL: true, Schemas: true, Lifecycle: true, Sequencer: true, Unlink: true}
}

// kit is the state of one test: its sink and features.
type kit struct {
	t *testing.T
	s sink.Sink
	f Features
}

type kitTest struct {
	name string
	need func(Features) string // "" when the test can run, else why not
	run  func(k *kit)
}

func needs(names ...string) func(Features) string {
	return func(f Features) string {
		have := map[string]bool{"Lookup": f.Lookup, "Get": f.Get, "Scan": f.Scan, "Count": f.Count,
			"SchemaReader": f.SchemaReader, "Concurrent": f.Concurrent, "AllOrNothing": f.AllOrNothing,
			"Checkpoint": f.Checkpoint, "Schemas": f.Schemas && !f.Contacts, "Read": f.Get || f.Scan,
			"Objects": !f.Contacts, "Lifecycle": f.Lifecycle, "Sequencer": f.Sequencer, "Unlink": f.Unlink && f.Lifecycle}
		for _, n := range names {
			if !have[n] {
				switch n {
				case "Read":
					return "needs Features.Get or Features.Scan to read records back"
				case "Objects":
					return "writes object types other than contacts (Features.Contacts is set)"
				case "Schemas":
					if f.Contacts {
						return "needs Features.Schemas, and writes object types other than contacts"
					}
				case "Unlink":
					if f.Unlink {
						return "needs Features.Lifecycle for Features.Unlink"
					}
				}
				return "needs Features." + n
			}
		}
		return ""
	}
}

var tests = []kitTest{
	{"Outcomes", needs(), testOutcomes},
	{"CompositeKey", needs("Lookup"), testCompositeKey},
	{"BlankKeysNeverMatch", needs("Lookup"), testBlankKeys},
	{"LookupAfterKeyChange", needs("Lookup"), testKeyChange},
	{"KeySpecAfterRecords", needs("Lookup"), testBackfill},
	{"MultipleMatchesOldestFirst", needs("Lookup"), testMultipleMatches},
	{"BatchWrites", needs("Read"), testBatchWrites},
	{"AllOrNothing", needs("AllOrNothing"), testAllOrNothing},
	{"FailuresByRecord", needs(), testFailuresByRecord},
	{"DuplicateID", needs(), testDuplicateID},
	{"SameIDTwiceInBatch", needs("Read"), testSameIDTwice},
	{"ScanOrder", needs("Scan"), testScanOrder},
	{"EveryKindRoundTrips", needs("Read"), testRoundTrip},
	{"SchemaEvolution", needs("Schemas", "Lookup", "Get"), testSchemaEvolution},
	{"ObjectTypes", needs("Read", "Objects"), testObjectTypes},
	{"Count", needs("Count"), testCount},
	{"ConcurrentReaders", needs("Concurrent", "Lookup", "Get"), testConcurrentReaders},
	{"SchemaReader", needs("SchemaReader"), testSchemaReader},
	{"Checkpoints", needs("Checkpoint"), testCheckpoints},
	{"KeySpecOptions", needs("Lookup"), testKeyOptions},
	{"Lifecycle", needs("Lifecycle", "Read"), testLifecycle},
	{"LifecycleFailures", needs("Lifecycle", "Read"), testLifecycleFailures},
	{"InactiveRoundTrips", needs("Lifecycle", "Read"), testInactive},
	{"Sequencer", needs("Sequencer"), testSequencer},
	{"MixedObjectBatches", needs("Read", "Objects"), testMixedBatches},
	{"SchemaKeepsRef", needs("SchemaReader"), testSchemaRef},
	{"Unlink", needs("Unlink", "Read", "Objects"), testUnlink},
	{"UnlinkContacts", needs("Unlink", "Read"), testUnlinkContacts},
	{"Unique", needs(), testUnique},
	{"Writers", needs(), testWriters},
	{"UnlinkRefused", func(f Features) string {
		if !f.Lifecycle || f.Unlink {
			return "checks that a sink with Features.Lifecycle, without Features.Unlink, that implements sink.Unlinker and reports false refuses Op.Unlink"
		}
		return ""
	}, testUnlinkRefused},
}

// Run runs the conformance tests against sinks made by open, each as a
// parallel subtest of t with a fresh sink. open must return an empty sink
// and should register its cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) sink.Sink, f Features) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if why := tc.need(f); why != "" {
				t.Skip("sinktest: " + why)
			}
			s := open(t)
			require.NotNil(t, s, "open returned a nil sink")
			checkFeatures(t, s, f)
			tc.run(&kit{t: t, s: s, f: f})
		})
	}
}

// checkFeatures fails t when f claims a capability s does not implement.
func checkFeatures(t *testing.T, s sink.Sink, f Features) {
	t.Helper()
	check := func(on bool, ok bool, field, iface string) {
		if on && !ok {
			t.Fatalf("sinktest: Features.%s is set but %T does not implement sink.%s", field, s, iface)
		}
	}
	_, ok := s.(sink.Lookuper)
	check(f.Lookup, ok, "Lookup", "Lookuper")
	_, ok = s.(sink.Getter)
	check(f.Get, ok, "Get", "Getter")
	_, ok = s.(sink.Scanner)
	check(f.Scan, ok, "Scan", "Scanner")
	_, ok = s.(sink.Counter)
	check(f.Count, ok, "Count", "Counter")
	_, ok = s.(sink.SchemaReader)
	check(f.SchemaReader, ok, "SchemaReader", "SchemaReader")
	_, ok = s.(sink.Checkpointer)
	check(f.Checkpoint, ok, "Checkpoint", "Checkpointer")
	_, ok = s.(sink.Auditor)
	check(f.Lifecycle, ok, "Lifecycle", "Auditor")
	_, ok = s.(sink.Sequencer)
	check(f.Sequencer, ok, "Sequencer", "Sequencer")
	if f.Unlink {
		u, ok := s.(sink.Unlinker)
		if !ok || !u.Unlinks() {
			t.Fatalf("sinktest: Features.Unlink is set but %T does not implement sink.Unlinker or reports false", s)
		}
	}
	if f.Concurrent {
		c, ok := s.(sink.Concurrent)
		if !ok || !c.Concurrent() {
			t.Fatalf("sinktest: Features.Concurrent is set but %T does not implement sink.Concurrent or reports false", s)
		}
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
func (k *kit) readable() bool { return k.f.Get || k.f.Scan }

// getIn reads records by id, through Get or, without it, Scan.
func (k *kit) getIn(s *intake.Schema, ids ...string) map[string]*intake.Record {
	k.t.Helper()
	if k.f.Get {
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
