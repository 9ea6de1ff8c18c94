package sink

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	"github.com/intakehq/intake"
)

// MemoryConfig configures a [Memory] sink. The zero value works.
type MemoryConfig struct {
	// MaxRecords caps the number of stored records, all object types
	// together; a batch whose creates would go beyond it fails with a
	// *RecordError wrapping [ErrFull] and writes nothing. 0, the default,
	// means no limit; so does a negative value.
	MaxRecords int
}

// Memory is an in-memory sink: the store of tests, dry runs, demos and
// imports whose result the host reads back right away. It implements [Sink],
// [Lookuper], [Getter], [SchemaEnsurer], [Scanner] and [Counter], holds any
// number of object types, and is safe for concurrent use: writes are
// serialized, lookups, gets, scans and counts run in parallel.
//
// Each Write applies its whole batch or nothing. Records are stored
// compactly, as one string of varint-framed values per record (about 15
// bytes more than the text of its id and values), and indexed by 64-bit
// hashes: the id index and a key index per key spec (built on the first
// Lookup with that spec, kept up to date by every write) cost about 30
// bytes per record each. A contact with 135 bytes of text takes about 230
// bytes with its email index. A hash collision costs a little time, never a
// false match: candidates are checked by computing their keys again.
//
// Records returned by Get share immutable memory with the store and are the
// caller's to keep; ids returned by Lookup are copies.
type Memory struct {
	mu      sync.RWMutex
	seed    maphash.Seed
	max     int
	total   int
	objects map[string]*memObject
	collide bool // tests: every key hashes alike
}

// memObject holds the records of one object type.
type memObject struct {
	object string
	cols   []intake.Field // stored fields, in the order they were added
	store  *intake.Schema // schema of cols
	plans  map[*intake.Schema][]int
	recs   []string // encoded records, in creation order
	ids    hashIndex
	keys   map[string]*memKeyIndex // by KeySpec.Name
}

type memKeyIndex struct {
	plan *intake.KeyPlan // compiled against the object's store schema
	hashIndex
}

// NewMemory returns an empty in-memory sink.
func NewMemory(cfg MemoryConfig) *Memory {
	return &Memory{seed: maphash.MakeSeed(), max: max(cfg.MaxRecords, 0), objects: map[string]*memObject{}}
}

func (m *Memory) hash(s string) uint64 {
	if m.collide {
		return 42
	}
	return maphash.String(m.seed, s)
}

// EnsureSchema prepares the store for records of s: it adds the fields the
// store does not have yet. A field that the store holds with values of
// another kind is an error wrapping [ErrSchemaConflict]; a field whose type
// changes to another type of the same kind (text to email) is accepted, and
// the key indexes that use it are rebuilt. Write, Lookup, Get and Scan call
// it implicitly for a schema they have not seen.
func (m *Memory) EnsureSchema(ctx context.Context, s *intake.Schema) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil {
		return fmt.Errorf("sink: EnsureSchema: nil schema")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _, err := m.ensureLocked(s)
	return err
}

// ensureLocked returns the object of s and the plan mapping s's fields to
// its columns, merging s into the stored fields when s is new.
func (m *Memory) ensureLocked(s *intake.Schema) (*memObject, []int, error) {
	o := m.objects[s.Object()]
	if o == nil {
		o = &memObject{object: s.Object(), plans: map[*intake.Schema][]int{}, keys: map[string]*memKeyIndex{}, ids: newHashIndex()}
		m.objects[s.Object()] = o
	}
	if plan, ok := o.plans[s]; ok {
		return o, plan, nil
	}
	cols, changed, retyped, err := mergeFields(o.cols, s)
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
			if specUses(x.plan.Spec(), retyped) {
				delete(o.keys, name)
			}
		}
	}
	plan := make([]int, s.Len())
	for i := range plan {
		plan[i] = o.store.Index(s.Field(i).Name)
	}
	o.plans[s] = plan
	return o, plan, nil
}

// readyRLocked returns the object and plan of s when s was seen before.
func (m *Memory) readyRLocked(s *intake.Schema) (*memObject, []int) {
	if o := m.objects[s.Object()]; o != nil {
		if plan, ok := o.plans[s]; ok {
			return o, plan
		}
	}
	return nil, nil
}

// rlock read-locks m with s ensured, and, when spec is not nil, the key
// index of *spec built. The caller must RUnlock.
func (m *Memory) rlock(s *intake.Schema, spec *intake.KeySpec) (*memObject, []int, *memKeyIndex, error) {
	if s == nil {
		return nil, nil, nil, fmt.Errorf("sink: nil schema")
	}
	for {
		m.mu.RLock()
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

// buildIndexLocked builds the key index of spec over o's stored records.
func (m *Memory) buildIndexLocked(o *memObject, spec intake.KeySpec) error {
	plan, err := o.store.CompileKey(spec)
	if err != nil {
		return err
	}
	x := &memKeyIndex{plan: plan, hashIndex: newHashIndex()}
	vals := make([]intake.Value, len(o.cols))
	rec := intake.Record{Schema: o.store, Values: vals}
	for p, enc := range o.recs {
		decodeRecord(enc, vals)
		if k, _ := plan.Key(&rec); k != "" {
			x.add(m.hash(string(k)), uint32(p))
		}
	}
	o.keys[spec.Name()] = x
	return nil
}

// find returns the position of the record with the id, or -1.
func (m *Memory) find(o *memObject, id string) int {
	for p := o.ids.head(m.hash(id)); p != noPos; p = o.ids.next[p] {
		if rid, _ := recordHeader(o.recs[p]); rid == id {
			return int(p)
		}
	}
	return -1
}

type pendingID struct {
	o  *memObject
	id string
}

// Write applies the batch in order, all or nothing: every op is checked
// first (an update or opt-out of an id the store does not hold fails with
// [ErrNotFound], a create of a taken id with [ErrDuplicateID], both wrapped
// in a *[RecordError]), then all are applied. It returns len(batch), or 0
// and the error. Values are copied: the records may be reused afterwards.
//
// An update changes the stored values its record holds (nulls keep the
// stored value; the fields of Op.Clear become null, after the values are
// applied) and reports [intake.OutcomeUnchanged] when no stored value
// changed. An update never changes the opted-out flag; an opt-out sets it
// and reports [intake.OutcomeOptedOut] even when it was set already.
func (m *Memory) Write(ctx context.Context, batch []*Op) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(batch) == 0 {
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var pending map[pendingID]bool
	creates := 0
	for _, op := range batch {
		if err := checkOp(op); err != nil {
			return 0, recordError(op, err)
		}
		o, _, err := m.ensureLocked(op.Record.Schema)
		if err != nil {
			return 0, recordError(op, err)
		}
		id := op.Record.ID
		exists := pending[pendingID{o, id}] || m.find(o, id) >= 0
		switch op.Kind {
		case OpCreate:
			if exists {
				return 0, recordError(op, ErrDuplicateID)
			}
			if pending == nil {
				pending = map[pendingID]bool{}
			}
			pending[pendingID{o, id}] = true
			creates++
			if m.max > 0 && m.total+creates > m.max {
				return 0, recordError(op, fmt.Errorf("%w (MaxRecords %d)", ErrFull, m.max))
			}
		default:
			if !exists {
				return 0, recordError(op, ErrNotFound)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var w memWriter
	for _, op := range batch {
		o, plan, _ := m.ensureLocked(op.Record.Schema)
		switch op.Kind {
		case OpCreate:
			m.create(&w, o, plan, op.Record)
			op.Outcome = intake.OutcomeCreated
		case OpUpdate:
			op.Outcome = m.update(&w, o, plan, op)
		case OpOptOut:
			m.optOut(o, op.Record.ID)
			op.Outcome = intake.OutcomeOptedOut
		}
	}
	m.total += creates
	return len(batch), nil
}

// memWriter holds scratch space for one Write.
type memWriter struct {
	buf        []byte
	old, fresh []intake.Value
}

func (w *memWriter) scratch(n int) (old, fresh []intake.Value) {
	if cap(w.old) < n {
		w.old, w.fresh = make([]intake.Value, n), make([]intake.Value, n)
	}
	return w.old[:n], w.fresh[:n]
}

func (m *Memory) create(w *memWriter, o *memObject, plan []int, rec *intake.Record) {
	_, vals := w.scratch(len(o.cols))
	clear(vals)
	for i, j := range plan {
		vals[j] = value(rec, i)
	}
	w.buf = appendRecord(w.buf[:0], rec.ID, rec.OptedOut, vals)
	pos := uint32(len(o.recs))
	o.recs = append(o.recs, string(w.buf))
	o.ids.add(m.hash(rec.ID), pos)
	r := intake.Record{Schema: o.store, Values: vals}
	for _, x := range o.keys {
		if k, _ := x.plan.Key(&r); k != "" {
			x.add(m.hash(string(k)), pos)
		}
	}
}

func (m *Memory) update(w *memWriter, o *memObject, plan []int, op *Op) intake.Outcome {
	pos := m.find(o, op.Record.ID)
	enc := o.recs[pos]
	old, fresh := w.scratch(len(o.cols))
	id, opted := decodeRecord(enc, old)
	copy(fresh, old)
	for i, j := range plan {
		if v := value(op.Record, i); !v.IsNull() {
			fresh[j] = v
		}
	}
	for _, c := range op.Clear {
		fresh[plan[c]] = intake.Null
	}
	w.buf = appendRecord(w.buf[:0], id, opted, fresh)
	if string(w.buf) == enc {
		return intake.OutcomeUnchanged
	}
	o.recs[pos] = string(w.buf)
	ro := intake.Record{Schema: o.store, Values: old}
	rn := intake.Record{Schema: o.store, Values: fresh}
	for _, x := range o.keys {
		ko, _ := x.plan.Key(&ro)
		kn, _ := x.plan.Key(&rn)
		if ko == kn {
			continue
		}
		if ko != "" {
			x.remove(m.hash(string(ko)), uint32(pos))
		}
		if kn != "" {
			x.add(m.hash(string(kn)), uint32(pos))
		}
	}
	return intake.OutcomeUpdated
}

func (m *Memory) optOut(o *memObject, id string) {
	pos := m.find(o, id)
	enc := o.recs[pos]
	_, at := recordHeader(enc)
	if enc[at]&flagOptedOut != 0 {
		return
	}
	b := []byte(enc)
	b[at] |= flagOptedOut
	o.recs[pos] = string(b)
}

// Lookup returns the ids of the stored records of s's object type whose key
// under spec is one of keys, oldest first. The first Lookup with a spec
// builds its index over the stored records; writes keep it up to date
// (an update that changes a record's key moves it).
func (m *Memory) Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o, _, x, err := m.rlock(s, &spec)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	res := make(map[intake.Key][]string)
	vals := make([]intake.Value, len(o.cols))
	rec := intake.Record{Schema: o.store, Values: vals}
	var poss []uint32
	for _, k := range keys {
		if k == "" {
			continue
		}
		if _, done := res[k]; done {
			continue
		}
		poss = poss[:0]
		for p := x.head(m.hash(string(k))); p != noPos; p = x.next[p] {
			decodeRecord(o.recs[p], vals)
			if kk, _ := x.plan.Key(&rec); kk == k {
				poss = append(poss, p)
			}
		}
		if len(poss) == 0 {
			continue
		}
		slices.Sort(poss)
		ids := make([]string, len(poss))
		for i, p := range poss {
			id, _ := recordHeader(o.recs[p])
			ids[i] = strings.Clone(id)
		}
		res[k] = ids
	}
	return res, nil
}

// Get returns the stored records of s's object type with the given ids,
// projected onto s. The records are the caller's; ids not found are absent.
func (m *Memory) Get(ctx context.Context, s *intake.Schema, ids []string) (map[string]*intake.Record, error) {
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
		p := m.find(o, id)
		if p < 0 {
			continue
		}
		rec := &intake.Record{Schema: s, Values: make([]intake.Value, s.Len())}
		rid, opted := decodeRecord(o.recs[p], vals)
		rec.ID, rec.OptedOut = rid, opted
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
// order (see [Scanner]). It reuses one record for all calls. It holds the
// read lock only while it copies the next few hundred records, so fn may
// call the sink, and writes that run meanwhile may or may not be seen.
func (m *Memory) Scan(ctx context.Context, s *intake.Schema, fn func(*intake.Record) error) error {
	chunk := make([]string, scanChunk)
	rec := &intake.Record{Schema: s, Values: make([]intake.Value, s.Len())}
	var vals []intake.Value
	for start := 0; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		o, plan, _, err := m.rlock(s, nil)
		if err != nil {
			return err
		}
		n := 0
		if start < len(o.recs) {
			n = copy(chunk, o.recs[start:])
		}
		if len(vals) < len(o.cols) {
			vals = make([]intake.Value, len(o.cols))
		}
		m.mu.RUnlock()
		for _, enc := range chunk[:n] {
			id, opted := decodeRecord(enc, vals)
			rec.ID, rec.Line, rec.OptedOut = id, 0, opted
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
		start += n
		clear(chunk)
	}
}

// Count returns the number of stored records of the object type.
func (m *Memory) Count(ctx context.Context, object string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if o := m.objects[object]; o != nil {
		return int64(len(o.recs)), nil
	}
	return 0, nil
}

// noPos ends a hash chain.
const noPos = ^uint32(0)

// hashIndex maps 64-bit hashes to record positions. heads holds the newest
// position per hash; next[p] links position p to the next one with the same
// hash (a collision or a record sharing the key), or noPos.
type hashIndex struct {
	heads map[uint64]uint32
	next  []uint32
}

func newHashIndex() hashIndex { return hashIndex{heads: map[uint64]uint32{}} }

func (x *hashIndex) head(h uint64) uint32 {
	if p, ok := x.heads[h]; ok {
		return p
	}
	return noPos
}

func (x *hashIndex) add(h uint64, pos uint32) {
	for uint32(len(x.next)) <= pos {
		x.next = append(x.next, noPos)
	}
	x.next[pos] = x.head(h)
	x.heads[h] = pos
}

func (x *hashIndex) remove(h uint64, pos uint32) {
	p, ok := x.heads[h]
	if !ok {
		return
	}
	if p == pos {
		if x.next[pos] == noPos {
			delete(x.heads, h)
		} else {
			x.heads[h] = x.next[pos]
		}
		x.next[pos] = noPos
		return
	}
	for ; x.next[p] != noPos; p = x.next[p] {
		if x.next[p] == pos {
			x.next[p] = x.next[pos]
			x.next[pos] = noPos
			return
		}
	}
}

// Schema returns the schema the sink stores for object, or nil when it never
// saw that object type. It implements [SchemaReader].
func (m *Memory) Schema(ctx context.Context, object string) (*intake.Schema, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if o, ok := m.objects[object]; ok {
		return o.store, nil
	}
	return nil, nil
}
