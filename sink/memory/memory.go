package memory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/guard"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/storeschema"
	"github.com/intakehq/intake/sink/internal/undolog"
)

// Config configures a [Store] sink. The zero value works.
type Config struct {
	// MaxRecords caps the number of stored records, all object types
	// together; a batch whose creates would go beyond it fails with a
	// *RecordError wrapping [sink.ErrFull] and writes nothing. 0, the default,
	// means no limit; so does a negative value.
	MaxRecords int
}

// Store is an in-memory sink: the store of tests, dry runs, demos and
// imports whose result the host reads back right away. It implements [sink.Sink],
// [sink.Lookuper], [sink.Getter], [sink.SchemaEnsurer], [sink.Scanner], [sink.Counter],
// [sink.SchemaReader], [sink.Concurrent], [sink.Auditor], [sink.Unlinker] and [sink.Sequencer] (not
// [sink.Checkpointer]), holds any number of object types, and is safe for
// concurrent use: writes are serialized, lookups, gets, scans and counts run
// in parallel.
//
// Each Write applies its whole batch or nothing. The audit log and the
// sequences live, like the records, as long as the Store.
//
// # Memory
//
// The stored data lives outside the Go heap, in memory mapped from the
// operating system (anonymous mmap; on systems without mmap, the Go heap):
// the garbage collector neither scans it nor lets the heap grow by its
// size, so a store of a million contacts costs its own size and no GC
// headroom. Records are kept in an append-only arena as one varint-framed
// encoding each (about 17 bytes more than the text of the id and values),
// reached through an 8-byte reference per record, and indexed by
// open-addressing hash tables of 8-byte slots, at most 3/4 full: the id
// index and a key index per key spec (built on the first Lookup with that
// spec, kept up to date by every write) cost 11 to 22 bytes per record
// each; the arena's chunks add their unused room. A hash collision costs a
// little time, never a false match: candidates are checked against the
// stored record. An update that changes a record appends its new version
// and leaves the old one as garbage until Close ([Stats.GarbageBytes]).
// [Store.Stats] tells how much memory the store holds.
//
// Call [Store.Close] when done with a Store to give its memory back at
// once; a Store that becomes unreachable without Close gives it back when
// the garbage collector finds it unreachable, which may be late (the
// collector does not see the size of the mapped memory) or, if the process
// ends first, never before exit.
//
// Records returned by Get and passed to Scan's function are copies: they
// never share memory with the store. Ids returned by Lookup are copies too.
type Store struct {
	mu      sync.RWMutex
	seed    maphash.Seed
	max     int
	total   int
	objects map[string]*memObject
	heap    *offHeap
	arena   arena
	cleanup runtime.Cleanup
	closed  bool
	collide bool // tests: every key hashes alike

	seqs map[string]int64 // Reserve's sequences: the next number of each

	// Write scratch, reused from batch to batch (guarded by mu).
	ops     []opState
	touched []*memObject
	buf     []byte
	vals    []intake.Value
	old     []intake.Value
	// ensureLocked's last answer.
	lastS    *intake.Schema
	lastO    *memObject
	lastPlan []int
	// guard applies Op.Unique; reuse tells, for the creates of the batch
	// being applied, which key indexes take the keys it computed.
	guard guard.Guard
	reuse keyReuse
	// tags holds the tag of each op's id in the batch being checked.
	tags []uint32
	// touchSum keeps the loads of the touch passes (see touch).
	touchSum uint64

	// undo is the log of the batch WriteUndo is applying; runs the undo
	// logs of the runs (see memory_undo.go).
	undo *undoing
	runs map[string]*memRun
	ulog undolog.Writer
}

// keyReuse tells, for the ops of a batch that share a schema and a Unique
// slice, which of the object's key indexes compute the keys the guard
// computed for Unique: idx[i] is the spec of Unique that key index
// o.keyl[i] shares, or -1. A key is the guard's when the index's spec
// equals a spec of Unique (not an MD5 one) and its fields have the same
// types in the op's schema and in the store's: the record stores the op's
// values, so its key under the index is the guard's.
type keyReuse struct {
	o      *memObject
	schema *intake.Schema
	unique *intake.KeySpec
	n      int
	idx    []int
}

// indexes returns the spec of op.Unique that each key index of o shares,
// or -1 (see keyReuse). The answer is kept for the batch's next ops.
func (r *keyReuse) indexes(o *memObject, op *sink.Op) []int {
	if len(op.Unique) == 0 {
		return nil
	}
	if r.o == o && r.schema == op.Record.Schema && r.unique == &op.Unique[0] && r.n == len(op.Unique) {
		return r.idx
	}
	r.o, r.schema, r.unique, r.n = o, op.Record.Schema, &op.Unique[0], len(op.Unique)
	r.idx = r.idx[:0]
	for _, x := range o.keyl {
		j := slices.IndexFunc(op.Unique, func(u intake.KeySpec) bool {
			return !u.RecordID && !u.MD5 && u.Equal(x.spec) && sameTypes(op.Record.Schema, o.store, u.Fields)
		})
		r.idx = append(r.idx, j)
	}
	return r.idx
}

// sameTypes reports whether the fields have the same types in a and b.
func sameTypes(a, b *intake.Schema, fields []string) bool {
	for _, f := range fields {
		i, j := a.Index(f), b.Index(f)
		if i < 0 || j < 0 || a.Field(i).Type != b.Field(j).Type {
			return false
		}
	}
	return true
}

// opState is what the check pass of Write found out about one op.
type opState struct {
	o    *memObject
	plan []int
	pos  uint32 // the record's position: found, or given to a create
}

// memObject holds the records of one object type.
type memObject struct {
	object string
	cols   []intake.Field // stored fields, in the order they were added
	store  *intake.Schema // schema of cols
	plans  map[*intake.Schema][]int
	n      uint32    // records ever stored; positions 0…n-1
	dead   uint32    // positions of deleted records (flagDeleted)
	refs   refTable  // position → arena ref
	ids    slotTable // id index
	keys   map[string]*memKeyIndex
	keyl   []*memKeyIndex // the values of keys
	// pending holds the ids of the creates of the batch being checked,
	// which have positions n, n+1, … in ids.
	pending []string
	audit   []sink.AuditEntry // in the order the ops were applied
}

type memKeyIndex struct {
	spec intake.KeySpec
	plan *intake.KeyPlan // compiled against the object's store schema
	need int             // columns to decode to compute a key
	slotTable
}

// compile compiles x's spec against store, the object's store schema,
// which may have gained fields since x was built: a record stored before a
// field existed holds null there, so its key is the same under the new plan.
func (x *memKeyIndex) compile(store *intake.Schema) error {
	plan, err := store.CompileKey(x.spec)
	if err != nil {
		return err
	}
	need := 0
	for _, f := range x.spec.Fields {
		need = max(need, store.Index(f)+1)
	}
	if x.spec.MD5 && len(x.spec.Fields) == 1 {
		// An MD5 key falls back on the field F_md5 (see intake.KeySpec).
		need = max(need, store.Index(x.spec.Fields[0]+"_md5")+1)
	}
	x.plan, x.need = plan, need
	return nil
}

// maxPositions bounds the records of one object type (positions are 32-bit,
// and position+1 must not be 0).
const maxPositions = 1<<32 - 2

var errMemoryClosed = errors.New("memory: store is closed")

// New returns an empty in-memory sink. Call Close to give its memory
// back when done (see [Store]).
func New(cfg Config) *Store {
	h := newOffHeap()
	m := &Store{seed: maphash.MakeSeed(), max: max(cfg.MaxRecords, 0), objects: map[string]*memObject{}, heap: h, arena: newArena(h)}
	m.cleanup = runtime.AddCleanup(m, (*offHeap).freeAll, h)
	return m
}

// Close frees the memory of the store. After Close the sink must not be
// used: its methods return an error. Close is idempotent.
func (m *Store) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.cleanup.Stop()
	m.heap.freeAll()
	m.objects, m.arena = nil, arena{}
	m.lastS, m.lastO, m.lastPlan = nil, nil, nil
	m.ops, m.touched = nil, nil
	return nil
}

// Stats describes the memory a [Store] holds; see [Store.Stats].
type Stats struct {
	// Records is the number of stored records, all object types together.
	Records int64
	// ArenaBytes is the size of the current versions of the stored records
	// in the arena, framing included.
	ArenaBytes int64
	// GarbageBytes is the size of the versions that updates replaced: they
	// stay in the arena until Close.
	GarbageBytes int64
	// IndexBytes is the size of the id and key index tables and of the
	// tables of record references.
	IndexBytes int64
	// OffHeapBytes is all the memory the store holds outside the Go heap:
	// the arena's chunks (ArenaBytes, GarbageBytes, the unused tail of the
	// chunk being filled and, in a large store, the next chunk, mapped in
	// advance) and IndexBytes. On systems without mmap these
	// blocks are on the Go heap and OffHeapBytes is 0.
	OffHeapBytes int64
}

// Stats returns how much memory the store holds. A measurement of the
// store's cost adds OffHeapBytes to the growth of the Go heap, which holds
// only small bookkeeping (schemas, plans, the list of blocks).
func (m *Store) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var st Stats
	if m.closed {
		return st
	}
	st.Records = int64(m.total)
	st.ArenaBytes, st.GarbageBytes = m.arena.live, m.arena.garbage
	for _, o := range m.objects {
		st.IndexBytes += o.refs.bytes() + o.ids.bytes()
		for _, x := range o.keyl {
			st.IndexBytes += x.bytes()
		}
	}
	st.OffHeapBytes = m.heap.mapped
	return st
}

// hash returns the 32-bit tag of s for the slot tables.
func (m *Store) hash(s string) uint32 {
	if m.collide {
		return 42
	}
	return uint32(maphash.String(m.seed, s) >> 32)
}

// EnsureSchema prepares the store for records of s: it adds the fields the
// store does not have yet. A field that the store holds with values of
// another kind is an error wrapping [sink.ErrSchemaConflict]; a field whose type
// changes to another type of the same kind (text to email) is accepted, and
// the key indexes that use it are rebuilt. Write, Lookup, Get and Scan call
// it implicitly for a schema they have not seen.
func (m *Store) EnsureSchema(ctx context.Context, s *intake.Schema) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil {
		return fmt.Errorf("memory: EnsureSchema: nil schema")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errMemoryClosed
	}
	_, _, err := m.ensureLocked(s)
	return err
}

// ensureLocked returns the object of s and the plan mapping s's fields to
// its columns, merging s into the stored fields when s is new.
func (m *Store) ensureLocked(s *intake.Schema) (*memObject, []int, error) {
	if s == m.lastS {
		return m.lastO, m.lastPlan, nil
	}
	o := m.objects[s.Object()]
	if o == nil {
		o = &memObject{object: s.Object(), plans: map[*intake.Schema][]int{}, keys: map[string]*memKeyIndex{},
			refs: refTable{heap: m.heap}, ids: newSlotTable(m.heap, 0)}
		m.objects[s.Object()] = o
	}
	if plan, ok := o.plans[s]; ok {
		m.lastS, m.lastO, m.lastPlan = s, o, plan
		return o, plan, nil
	}
	cols, changed, retyped, err := storeschema.Merge(o.cols, s)
	if err != nil {
		return nil, nil, err
	}
	if changed {
		store, err := intake.NewSchema(o.object, cols...)
		if err != nil {
			return nil, nil, err
		}
		o.cols, o.store = cols, store
		for name, x := range o.keys {
			if storeschema.SpecUses(x.spec, retyped) || x.compile(store) != nil {
				delete(o.keys, name)
				o.keyl = slices.DeleteFunc(o.keyl, func(y *memKeyIndex) bool { return y == x })
				x.free()
			}
		}
	}
	plan := make([]int, s.Len())
	for i := range plan {
		plan[i] = o.store.Index(s.Field(i).Name)
	}
	o.plans[s] = plan
	m.lastS, m.lastO, m.lastPlan = s, o, plan
	return o, plan, nil
}

// readyRLocked returns the object and plan of s when s was seen before.
func (m *Store) readyRLocked(s *intake.Schema) (*memObject, []int) {
	if o := m.objects[s.Object()]; o != nil {
		if plan, ok := o.plans[s]; ok {
			return o, plan
		}
	}
	return nil, nil
}

// rlock read-locks m with s ensured, and, when spec is not nil, the key
// index of *spec built. The caller must RUnlock.
func (m *Store) rlock(s *intake.Schema, spec *intake.KeySpec) (*memObject, []int, *memKeyIndex, error) {
	if s == nil {
		return nil, nil, nil, fmt.Errorf("memory: nil schema")
	}
	for {
		m.mu.RLock()
		if m.closed {
			m.mu.RUnlock()
			return nil, nil, nil, errMemoryClosed
		}
		o, plan := m.readyRLocked(s)
		var x *memKeyIndex
		if o != nil && spec != nil {
			x = o.keys[spec.Name()]
		}
		if o != nil && (spec == nil || x != nil) {
			return o, plan, x, nil
		}
		m.mu.RUnlock()
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, nil, nil, errMemoryClosed
		}
		o, _, err := m.ensureLocked(s)
		if err == nil && spec != nil && o.keys[spec.Name()] == nil {
			err = m.buildIndexLocked(o, *spec)
		}
		m.mu.Unlock()
		if err != nil {
			return nil, nil, nil, err
		}
	}
}

// record returns the encoding of the record at pos: a view of arena memory,
// see [view].
func (m *Store) record(o *memObject, pos uint32) string {
	return view(m.arena.get(o.refs.get(pos)))
}

// keyOf decodes the record at pos into vals and returns its key under x.
func (m *Store) keyOf(o *memObject, x *memKeyIndex, pos uint32, vals []intake.Value) intake.Key {
	vals = vals[:x.need]
	decodeRecord(m.record(o, pos), vals)
	k, _ := x.plan.Key(&intake.Record{Schema: o.store, Values: vals})
	return k
}

// buildIndexLocked builds the key index of spec over o's stored records.
func (m *Store) buildIndexLocked(o *memObject, spec intake.KeySpec) error {
	x := &memKeyIndex{spec: spec}
	if err := x.compile(o.store); err != nil {
		return err
	}
	x.spec.Fields = slices.Clone(spec.Fields)
	x.slotTable = newSlotTable(m.heap, int(o.n-o.dead))
	vals := make([]intake.Value, x.need)
	for p := range o.n {
		if o.dead > 0 && recordFlagsOf(m.record(o, p))&flagDeleted != 0 {
			continue
		}
		if k := m.keyOf(o, x, p, vals); k != "" {
			x.add(m.hash(string(k)), p)
		}
	}
	o.keys[spec.Name()] = x
	o.keyl = append(o.keyl, x)
	return nil
}

// find returns the position of the record with the id, counting the
// pending creates of the batch being checked.
func (m *Store) find(o *memObject, tag uint32, id string) (uint32, bool) {
	t := &o.ids
	for i := tag & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if slotTag(s) == tag {
			if p := slotPos(s); m.idAt(o, p) == id {
				return p, true
			}
		}
	}
}

// insertID adds the id of a new record at pos to o's id index, unless the
// index holds the id already: one probe run for both.
func (m *Store) insertID(o *memObject, tag uint32, id string, pos uint32) bool {
	t := &o.ids
	t.reserve()
	i := tag & t.mask
	for ; t.slots[i] != 0; i = (i + 1) & t.mask {
		if s := t.slots[i]; slotTag(s) == tag && m.idAt(o, slotPos(s)) == id {
			return false
		}
	}
	t.slots[i] = slotOf(tag, pos)
	t.n++
	return true
}

// idAt returns the id of the record at pos, stored or pending.
func (m *Store) idAt(o *memObject, pos uint32) string {
	if pos >= o.n {
		return o.pending[pos-o.n]
	}
	id, _ := recordHeader(m.record(o, pos))
	return id
}

// Write applies the batch in order, all or nothing: every op is checked
// first (an update, opt-out or lifecycle op of an id the store does not
// hold fails with [sink.ErrNotFound], a create of a taken id with
// [sink.ErrDuplicateID], a lifecycle op without an Audit entry with a Reason
// with [sink.ErrInvalidOp], all wrapped in a *[sink.RecordError]), then all are
// applied. It returns len(batch), or 0 and the error. Values are copied:
// the records may be reused afterwards.
//
// A create stores the record's OptedOut and Inactive flags. An update
// changes the stored values its record holds (nulls keep the stored value;
// the fields of Op.Clear become null, after the values are applied) and
// reports [intake.OutcomeUnchanged] when no stored value changed. An update
// changes no flag but the opted-out one with [sink.Op.OptIn], which clears
// it (updated when it was set); an opt-out sets the opted-out flag and
// reports [intake.OutcomeOptedOut] even when it was set already.
//
// Lifecycle ops follow [sink.OpInactivate], [sink.OpDelete] and [sink.OpAnonymize], and
// each adds its audit entry to the log ([Store.AuditLog]). An anonymize
// nulls the fields that are personal in the op's schema. A delete frees
// the record's id at once: a later create in the batch may take it, a later
// op of another kind fails with [sink.ErrNotFound]. The deleted record's bytes
// stay in the arena as garbage until Close. An op with [sink.Op.Unlink] removes
// the links to its record once the batch's ops are applied (see
// [Store.Unlinks] for the cost), their audit entries going to the log of
// the records that held them.
func (m *Store) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	return m.write(ctx, batch, nil)
}

// write is Write, keeping the batch's undo log in u when u is not nil.
func (m *Store) write(ctx context.Context, batch []*sink.Op, u *undoing) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(batch) == 0 && u == nil {
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errMemoryClosed
	}
	if u != nil {
		if err := m.beginUndoLocked(u); err != nil {
			return 0, err
		}
	}
	m.undo = u
	defer func() { m.undo = nil }()
	m.reuse = keyReuse{idx: m.reuse.idx[:0]}
	defer m.guard.Done()
	if _, err := m.guard.Creates(batch, m.findLocked); err != nil {
		guard.Clear(batch)
		return 0, err
	}
	st, err := m.check(batch)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		m.rollback(batch[:len(st)], st)
		guard.Clear(batch)
		return 0, err
	}
	m.touchKeys(batch, st)
	var unl ops.Unlinks
	for i, op := range batch {
		s := &st[i]
		var links []sink.AuditEntry // an anonymize's own links, with Unlink
		logged := m.logOn()
		if logged {
			m.undo.line = op.Record.Line
		}
		switch op.Kind {
		case sink.OpCreate:
			if op.Existing != nil {
				continue // held by Unique: its outcome is set
			}
			var keys []intake.Key // the guard's, by key index
			var idx []int
			if len(s.o.keyl) > 0 {
				keys, idx = m.guard.Keys(batch, i), m.reuse.indexes(s.o, op)
			}
			m.create(s.o, s.plan, op.Record, keys, idx)
			op.Outcome = intake.OutcomeCreated
		case sink.OpUpdate:
			op.Outcome = m.update(s.o, s.plan, s.pos, op)
			if op.OptIn && m.clearFlag(s.o, s.pos, flagOptedOut) {
				op.Outcome = intake.OutcomeUpdated
				if logged {
					m.logFlag(s.o, s.pos, flagOptedOut, true)
				}
			}
		case sink.OpOptOut:
			if m.setFlag(s.o, s.pos, flagOptedOut) && logged {
				m.logFlag(s.o, s.pos, flagOptedOut, false)
			}
			op.Outcome = intake.OutcomeOptedOut
		case sink.OpInactivate:
			op.Outcome = intake.OutcomeUnchanged
			if m.setFlag(s.o, s.pos, flagInactive) {
				op.Outcome = intake.OutcomeInactivated
				if logged {
					m.logFlag(s.o, s.pos, flagInactive, false)
				}
			}
		case sink.OpDelete:
			if logged {
				m.logDelete(s.o, s.pos)
			}
			m.remove(s.o, s.pos)
			op.Outcome = intake.OutcomeDeleted
		case sink.OpAnonymize:
			op.Outcome, links = m.anonymize(s.o, s.plan, s.pos, op)
		}
		if ops.IsLifecycle(op.Kind) {
			s.o.audit = append(s.o.audit, ops.Audit(op))
			s.o.audit = append(s.o.audit, links...)
		}
		unl.Add(op)
	}
	if unl != nil {
		if m.logOn() {
			m.undo.line = 0
		}
		m.unlinkLocked(unl)
	}
	if u != nil {
		m.commitUndo(time.Now())
	}
	m.endBatch()
	clear(st)
	clear(m.vals) // drop the caller's strings
	return len(batch), nil
}

// check checks every op of the batch and gives each create its position,
// entering its id in the id index (so that a second create of the id in
// the batch fails and an update of it finds it). It returns the state of
// the ops it checked; on error the caller rolls back.
func (m *Store) check(batch []*sink.Op) ([]opState, error) {
	st := slices.Grow(m.ops[:0], len(batch))[:0]
	defer func() { m.ops = st[:0] }()
	m.touchIDs(batch)
	creates, deletes := 0, 0
	for i, op := range batch {
		if err := ops.Check(op); err != nil {
			return st, ops.RecordError(op, err)
		}
		o, plan, err := m.ensureLocked(op.Record.Schema)
		if err != nil {
			return st, ops.RecordError(op, err)
		}
		id := op.Record.ID
		tag := m.tags[i]
		if op.Kind == sink.OpCreate && op.Existing != nil {
			st = append(st, opState{o: o, plan: plan}) // held by Unique: nothing to enter
			continue
		}
		if op.Kind == sink.OpCreate {
			pos := o.n + uint32(len(o.pending))
			if uint64(o.n)+uint64(len(o.pending)) >= maxPositions || (m.max > 0 && m.total-deletes+creates >= m.max) {
				return st, ops.RecordError(op, fmt.Errorf("%w (MaxRecords %d)", sink.ErrFull, m.max))
			}
			if !m.insertID(o, tag, id, pos) {
				return st, ops.RecordError(op, sink.ErrDuplicateID)
			}
			if len(o.pending) == 0 {
				m.touched = append(m.touched, o)
			}
			o.pending = append(o.pending, id)
			creates++
			st = append(st, opState{o: o, plan: plan, pos: pos})
			continue
		}
		pos, ok := m.find(o, tag, id)
		if !ok {
			return st, ops.RecordError(op, sink.ErrNotFound)
		}
		if op.Kind == sink.OpDelete {
			// The id is free from here on; rollback puts it back.
			o.ids.remove(tag, pos)
			deletes++
		}
		st = append(st, opState{o: o, plan: plan, pos: pos})
	}
	return st, nil
}

// The touch passes load the home slots of a batch's keys in a hash table
// before the batch's ops probe them one by one: in a large store each
// probe misses the processor's caches, and these loads, independent of
// each other, are waited for together instead of one after another, so
// that the probes find their slots cached. Their sum goes to touchSum,
// lest the compiler drop them.

// touched keeps the loads of the touch passes of lookups, which run
// under the read lock, several at once.
var touched atomic.Uint64

// touchIDs computes the tag of each op's id into m.tags and touches its
// home slot in the id index, for check.
func (m *Store) touchIDs(batch []*sink.Op) {
	m.tags = slices.Grow(m.tags[:0], len(batch))[:len(batch)]
	var sum uint64
	o := m.lastO
	for i, op := range batch {
		var tag uint32
		if op != nil && op.Record != nil {
			tag = m.hash(op.Record.ID)
			if o != nil && op.Record.Schema == m.lastS {
				sum += o.ids.slots[tag&o.ids.mask]
			}
		}
		m.tags[i] = tag
	}
	m.touchSum += sum
}

// touchKeys touches the home slots of the keys that the batch's creates
// enter in their object's key indexes: the guard's keys, where the
// indexes take them (see keyReuse).
func (m *Store) touchKeys(batch []*sink.Op, st []opState) {
	var sum uint64
	for i, op := range batch {
		if op.Kind != sink.OpCreate || op.Existing != nil || len(st[i].o.keyl) == 0 {
			continue
		}
		keys, idx := m.guard.Keys(batch, i), m.reuse.indexes(st[i].o, op)
		for xi, x := range st[i].o.keyl {
			if keys != nil && xi < len(idx) && idx[xi] >= 0 && keys[idx[xi]] != "" {
				sum += x.slots[m.hash(string(keys[idx[xi]]))&x.mask]
			}
		}
	}
	m.touchSum += sum
}

// findLocked is the keyFinder of the memory sink's guard: it looks keys up
// in the committed records (the caller holds mu for writing), building the
// spec's key index when no Lookup built it yet.
func (m *Store) findLocked(s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	o, _, err := m.ensureLocked(s)
	if err != nil {
		return nil, err
	}
	if spec.RecordID {
		res := map[intake.Key][]string{}
		for _, k := range keys {
			if _, ok := m.find(o, m.hash(string(k)), string(k)); ok {
				res[k] = []string{string(k)}
			}
		}
		return res, nil
	}
	if err := ops.CheckLookupSpec(spec); err != nil {
		return nil, err
	}
	x := o.keys[spec.Name()]
	if x == nil {
		if err := m.buildIndexLocked(o, spec); err != nil {
			return nil, err
		}
		x = o.keys[spec.Name()]
	}
	return m.lookupLocked(o, x, keys), nil
}

// rollback takes the ids of the checked creates out of the id index and
// puts those of the checked deletes back, last op first.
func (m *Store) rollback(checked []*sink.Op, st []opState) {
	for i := len(st) - 1; i >= 0; i-- {
		switch checked[i].Kind {
		case sink.OpCreate:
			if checked[i].Existing != nil {
				continue
			}
			st[i].o.ids.remove(m.hash(checked[i].Record.ID), st[i].pos)
		case sink.OpDelete:
			st[i].o.ids.add(m.hash(checked[i].Record.ID), st[i].pos)
		}
	}
	clear(st)
	m.endBatch()
}

// endBatch forgets the pending ids of the batch.
func (m *Store) endBatch() {
	for _, o := range m.touched {
		clear(o.pending)
		o.pending = o.pending[:0]
	}
	clear(m.touched)
	m.touched = m.touched[:0]
}

func (m *Store) scratch(n int) (vals, old []intake.Value) {
	if cap(m.vals) < n {
		m.vals, m.old = make([]intake.Value, n), make([]intake.Value, n)
	}
	return m.vals[:n], m.old[:n]
}

// create stores rec as a new record and enters it in o's key indexes. keys
// and idx are the keys the guard computed for the create and which key
// index takes which (see keyReuse); nil when there are none.
func (m *Store) create(o *memObject, plan []int, rec *intake.Record, keys []intake.Key, idx []int) {
	vals, _ := m.scratch(len(o.cols))
	if len(plan) < len(vals) { // else plan sets every column
		clear(vals)
	}
	for i, j := range plan {
		vals[j] = ops.Value(rec, i)
	}
	m.buf = appendRecord(m.buf[:0], rec.ID, recordFlags(rec), vals)
	pos := o.n
	ref := m.arena.put(m.buf)
	o.refs.set(pos, ref)
	if m.logOn() {
		m.logCreate(o, rec.ID, ref, recordFlags(rec))
	}
	o.n++
	m.total++
	if len(o.keyl) > 0 {
		r := intake.Record{Schema: o.store, Values: vals}
		for xi, x := range o.keyl {
			var k intake.Key
			if xi < len(idx) && idx[xi] >= 0 && keys != nil {
				k = keys[idx[xi]]
			} else {
				k, _ = x.plan.Key(&r)
			}
			if k != "" {
				x.add(m.hash(string(k)), pos)
			}
		}
	}
}

func (m *Store) update(o *memObject, plan []int, pos uint32, op *sink.Op) intake.Outcome {
	ref := o.refs.get(pos)
	enc := view(m.arena.get(ref))
	fresh, old := m.scratch(len(o.cols))
	id, flags := decodeRecord(enc, old)
	copy(fresh, old)
	for i, j := range plan {
		if v := ops.Value(op.Record, i); !v.IsNull() {
			fresh[j] = v
		}
	}
	for _, c := range op.Clear {
		fresh[plan[c]] = intake.Null
	}
	if m.replace(o, pos, ref, enc, id, flags, old, fresh) {
		return intake.OutcomeUpdated
	}
	return intake.OutcomeUnchanged
}

// anonymize nulls the fields of the record at pos that are personal in
// op's schema (of which plan maps the fields to o's columns) and, with
// op.Unlink, its link fields, whose "unlink" audit entries it returns.
func (m *Store) anonymize(o *memObject, plan []int, pos uint32, op *sink.Op) (intake.Outcome, []sink.AuditEntry) {
	s := op.Record.Schema
	ref := o.refs.get(pos)
	enc := view(m.arena.get(ref))
	fresh, old := m.scratch(len(o.cols))
	id, flags := decodeRecord(enc, old)
	copy(fresh, old)
	for i, j := range plan {
		if sink.AnonymizeErases(s, i) {
			fresh[j] = intake.Null
		}
	}
	var links []sink.AuditEntry
	if op.Unlink {
		for j, c := range o.cols {
			if ops.IsLink(c) {
				fresh[j], links = ops.ClearLink(op, old[j], c, links)
			}
		}
	}
	if m.replace(o, pos, ref, enc, id, flags, old, fresh) {
		return intake.OutcomeAnonymized, links
	}
	return intake.OutcomeUnchanged, links
}

// unlinkLocked removes the links to the targets of u from the stored
// records (see [sink.Op.Unlink]): one pass over the records of each object type
// that has a link field to a target's type, decoding each record up to its
// last link field, and a new version of each record that loses a link.
// The audit entries go to the log of the record that held the link.
func (m *Store) unlinkLocked(u ops.Unlinks) {
	names := make([]string, 0, len(m.objects))
	for name := range m.objects {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		o := m.objects[name]
		if o.store == nil {
			continue
		}
		links := u.Fields(o.store)
		if len(links) == 0 {
			continue
		}
		need := links[len(links)-1] + 1
		for p := range o.n {
			ref := o.refs.get(p)
			enc := view(m.arena.get(ref))
			if recordFlagsOf(enc)&flagDeleted != 0 {
				continue
			}
			fresh, old := m.scratch(len(o.cols))
			decodeRecord(enc, old[:need])
			hit := false
			for _, j := range links {
				hit = hit || u.Holds(old[j], o.cols[j].Ref)
			}
			if !hit {
				continue
			}
			id, flags := decodeRecord(enc, old)
			copy(fresh, old)
			for _, j := range links {
				fresh[j], o.audit, _ = u.Strip(old[j], o.cols[j], o.object, id, o.audit)
			}
			m.replace(o, p, ref, enc, id, flags, old, fresh)
		}
		clear(m.vals)
		clear(m.old)
	}
}

// replace stores fresh as the new version of the record at pos, whose
// current version enc (at ref) decodes to old, unless nothing changed, and
// moves its keys; it reports whether anything changed. It clears old and
// fresh.
func (m *Store) replace(o *memObject, pos uint32, ref uint64, enc, id string, flags byte, old, fresh []intake.Value) bool {
	m.buf = appendRecord(m.buf[:0], id, flags, fresh)
	defer clear(old)
	defer clear(fresh)
	if string(m.buf) == enc {
		return false
	}
	if m.logOn() {
		m.logChange(o, id, old, fresh)
	}
	ro := intake.Record{Schema: o.store, Values: old}
	rn := intake.Record{Schema: o.store, Values: fresh}
	for _, x := range o.keyl {
		ko, _ := x.plan.Key(&ro)
		kn, _ := x.plan.Key(&rn)
		if ko == kn {
			continue
		}
		if ko != "" {
			x.remove(m.hash(string(ko)), pos)
		}
		if kn != "" {
			x.add(m.hash(string(kn)), pos)
		}
	}
	// The old version stays in the arena (old's values point into it until
	// here); the ref moves to the new one.
	m.arena.drop(ref)
	o.refs.set(pos, m.arena.put(m.buf))
	return true
}

// setFlag sets a flag of the record at pos in place and reports whether
// it was unset.
func (m *Store) setFlag(o *memObject, pos uint32, flag byte) bool {
	b := m.arena.get(o.refs.get(pos))
	_, at := recordHeader(view(b))
	was := b[at]&flag != 0
	b[at] |= flag
	return !was
}

// clearFlag clears flag on the record at pos and reports whether it was set.
func (m *Store) clearFlag(o *memObject, pos uint32, flag byte) bool {
	b := m.arena.get(o.refs.get(pos))
	_, at := recordHeader(view(b))
	was := b[at]&flag != 0
	b[at] &^= flag
	return was
}

// remove deletes the record at pos, whose id check took out of the id
// index already: it leaves the key indexes, and its version in the arena
// becomes garbage marked deleted, which Scan and index builds skip.
func (m *Store) remove(o *memObject, pos uint32) {
	ref := o.refs.get(pos)
	b := m.arena.get(ref)
	enc := view(b)
	if len(o.keyl) > 0 {
		vals, _ := m.scratch(len(o.cols))
		decodeRecord(enc, vals)
		r := intake.Record{Schema: o.store, Values: vals}
		for _, x := range o.keyl {
			if k, _ := x.plan.Key(&r); k != "" {
				x.remove(m.hash(string(k)), pos)
			}
		}
		clear(vals)
	}
	_, at := recordHeader(enc)
	b[at] |= flagDeleted
	m.arena.drop(ref)
	o.dead++
	m.total--
}

// Lookup returns the ids of the stored records of s's object type whose key
// under spec is one of keys, oldest first. The first Lookup with a spec
// builds its index over the stored records; writes keep it up to date
// (an update that changes a record's key moves it).
func (m *Store) Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ops.CheckLookupSpec(spec); err != nil {
		return nil, err
	}
	o, _, x, err := m.rlock(s, &spec)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	return m.lookupLocked(o, x, keys), nil
}

// lookupLocked is Lookup in the key index x of o; the caller holds mu. It
// takes the keys in blocks: first the tags of a block's keys, touching
// their home slots (see touchIDs), then the probes.
func (m *Store) lookupLocked(o *memObject, x *memKeyIndex, keys []intake.Key) map[intake.Key][]string {
	res := make(map[intake.Key][]string)
	var vals []intake.Value
	var poss []uint32
	var tags [64]uint32
	t := &x.slotTable
	for len(keys) > 0 {
		block := keys[:min(len(keys), len(tags))]
		keys = keys[len(block):]
		var sum uint64
		for i, k := range block {
			tags[i] = m.hash(string(k))
			sum += t.slots[tags[i]&t.mask]
		}
		touched.Add(sum)
		for bi, k := range block {
			if k == "" {
				continue
			}
			poss = poss[:0]
			tag := tags[bi]
			for i := tag & t.mask; t.slots[i] != 0; i = (i + 1) & t.mask {
				if sl := t.slots[i]; slotTag(sl) == tag {
					if vals == nil {
						vals = make([]intake.Value, x.need)
					}
					if m.keyOf(o, x, slotPos(sl), vals) == k {
						poss = append(poss, slotPos(sl))
					}
				}
			}
			if len(poss) == 0 {
				continue
			}
			if _, done := res[k]; done { // a key asked twice
				continue
			}
			slices.Sort(poss)
			ids := make([]string, len(poss))
			for i, p := range poss {
				ids[i] = strings.Clone(m.idAt(o, p))
			}
			res[k] = ids
		}
	}
	return res
}

// Get returns the stored records of s's object type with the given ids,
// projected onto s. The records are the caller's; ids not found are absent.
func (m *Store) Get(ctx context.Context, s *intake.Schema, ids []string) (map[string]*intake.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o, plan, _, err := m.rlock(s, nil)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	res := make(map[string]*intake.Record, len(ids))
	vals := make([]intake.Value, len(o.cols))
	for _, id := range ids {
		if _, done := res[id]; done {
			continue
		}
		p, ok := m.find(o, m.hash(id), id)
		if !ok {
			continue
		}
		enc := string(m.arena.get(o.refs.get(p))) // a copy: values share it
		rec := &intake.Record{Schema: s, Values: make([]intake.Value, s.Len())}
		var flags byte
		rec.ID, flags = decodeRecord(enc, vals)
		rec.OptedOut, rec.Inactive = flags&flagOptedOut != 0, flags&flagInactive != 0
		for i, j := range plan {
			rec.Values[i] = vals[j]
		}
		res[id] = rec
	}
	return res, nil
}

// scanChunk is how many records Scan copies per read lock.
const scanChunk = 512

// Scan calls fn for every stored record of s's object type in creation
// order (see [sink.Scanner]), deleted records left out. It reuses one record for all calls; its values are
// copies that fn may keep. It holds the read lock only while it copies the
// next few hundred records, so fn may call the sink, and writes that run
// meanwhile may or may not be seen.
func (m *Store) Scan(ctx context.Context, s *intake.Schema, fn func(*intake.Record) error) error {
	chunk := make([]string, scanChunk)
	rec := &intake.Record{Schema: s, Values: make([]intake.Value, s.Len())}
	var vals []intake.Value
	for start := uint32(0); ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		o, plan, _, err := m.rlock(s, nil)
		if err != nil {
			return err
		}
		n := 0
		for ; n < len(chunk) && start+uint32(n) < o.n; n++ {
			chunk[n] = string(m.arena.get(o.refs.get(start + uint32(n)))) // a copy
		}
		if len(vals) < len(o.cols) {
			vals = make([]intake.Value, len(o.cols))
		}
		m.mu.RUnlock()
		for _, enc := range chunk[:n] {
			id, flags := decodeRecord(enc, vals)
			if flags&flagDeleted != 0 {
				continue
			}
			rec.ID, rec.Line = id, 0
			rec.OptedOut, rec.Inactive = flags&flagOptedOut != 0, flags&flagInactive != 0
			rec.Values = rec.Values[:s.Len()]
			for i, j := range plan {
				rec.Values[i] = vals[j]
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if n < len(chunk) {
			return nil
		}
		start += uint32(n)
		clear(chunk)
	}
}

// Count returns the number of stored records of the object type.
func (m *Store) Count(ctx context.Context, object string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, errMemoryClosed
	}
	if o := m.objects[object]; o != nil {
		return int64(o.n - o.dead), nil
	}
	return 0, nil
}

// Schema returns the schema the sink stores for object, or nil when it never
// saw that object type. It implements [sink.SchemaReader].
func (m *Store) Schema(ctx context.Context, object string) (*intake.Schema, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errMemoryClosed
	}
	if o, ok := m.objects[object]; ok {
		return o.store, nil
	}
	return nil, nil
}

// AuditLog returns the audit entries of the object type's lifecycle ops,
// oldest first (by AuditEntry.Time, then in the order they were applied),
// only recordID's when it is not empty. It implements [sink.Auditor]. The
// entries are the caller's.
func (m *Store) AuditLog(ctx context.Context, object, recordID string) ([]sink.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errMemoryClosed
	}
	o := m.objects[object]
	if o == nil {
		return nil, nil
	}
	var out []sink.AuditEntry
	for _, a := range o.audit {
		if recordID == "" || a.RecordID == recordID {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b sink.AuditEntry) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// Unlinks reports true: the store applies [sink.Op.Unlink]. It implements
// [sink.Unlinker]. Finding the links to a batch's targets is one pass over the
// records of each object type that has a link field to a target's type
// (the store keeps no index of link fields), decoding each record up to that
// field: about as long as a Scan of those records, once per batch.
func (m *Store) Unlinks() bool { return true }

// Reserve reserves n consecutive numbers of the named sequence and returns
// the first (see [sink.Sequencer]): 0 on the first call for a name. The
// sequences live as long as the Store; concurrent calls never overlap. n
// must be at least 1.
func (m *Store) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := ops.CheckReserve(name, n); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errMemoryClosed
	}
	first := m.seqs[name]
	if first > math.MaxInt64-n {
		return 0, ops.ErrSequenceFull(name, first, n)
	}
	if m.seqs == nil {
		m.seqs = map[string]int64{}
	}
	m.seqs[name] = first + n
	return first, nil
}

// Concurrent reports true: the memory sink is safe for concurrent use.
func (m *Store) Concurrent() bool { return true }

// GuardsKeys reports true: the memory sink applies [sink.Op.Unique] under its
// write lock.
func (m *Store) GuardsKeys() bool { return true }

// Resubscribes reports true: an update with [sink.Op.OptIn] clears the
// record's opted-out flag.
func (m *Store) Resubscribes() bool { return true }
