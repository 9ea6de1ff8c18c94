package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/intakehq/intake/sink/internal/undolog"
)

// memRun is the undo log of a run: its state and its batches, each encoded
// by undolog, in the order they committed.
type memRun struct {
	status  sink.UndoStatus
	lastSeq int64
	batches []memUndoBatch
	objects []string // the object types of its entries, for the undo's audit entries
}

type memUndoBatch struct {
	seq   int64
	time  time.Time
	data  []byte // the encoded log, in block (off the Go heap, see offHeap)
	block []byte
}

// keepLog copies an encoded log into a block off the Go heap: the logs of
// a run are as long-lived as the records, and the collector need neither
// scan nor count them.
func (m *Store) keepLog(b memUndoBatch, data []byte) memUndoBatch {
	b.block = m.heap.alloc(len(data))
	b.data = b.block[:copy(b.block, data)]
	return b
}

// dropLog frees the block of a batch's log.
func (m *Store) dropLog(b *memUndoBatch) {
	m.heap.free(b.block)
	b.block, b.data = nil, nil
}

// undoing is the log of the batch being written by WriteUndo (nil during
// Write): the store's write paths add the entries of what they change.
type undoing struct {
	run  sink.UndoRun
	w    *undolog.Writer // the Store's, reset for each batch
	line int             // the source line of the op being applied (0 for unlinks)
	objs []string
}

// Undoes reports true: the store keeps undo logs in memory, with the
// records. It implements [sink.Undoer].
func (m *Store) Undoes() bool { return true }

// WriteUndo is [Store.Write] that also keeps the batch's undo log under
// run (see [sink.Undoer]): the log goes into the store with the batch, or
// not at all when the batch fails. cp, when not nil, is ignored: the
// memory store keeps no checkpoints.
func (m *Store) WriteUndo(ctx context.Context, batch []*sink.Op, run sink.UndoRun, cp *sink.Checkpoint) (int, error) {
	if run.RunID == "" {
		return 0, fmt.Errorf("memory: WriteUndo: %w: empty run id", sink.ErrInvalidOp)
	}
	if run.Refused == "" {
		for _, op := range batch {
			if op != nil && (op.Kind == sink.OpAnonymize || op.Kind == sink.OpDelete && !run.Deletes) {
				return 0, ops.RecordError(op, fmt.Errorf("%w: a %s keeps no before-image: the run must be marked Refused", sink.ErrInvalidOp, op.Kind))
			}
		}
	}
	u := &undoing{run: run}
	return m.write(ctx, batch, u)
}

// beginUndoLocked prepares the log of the batch WriteUndo applies, under
// the write lock: a run that an undo began is refused, an expired one keeps
// no more log.
func (m *Store) beginUndoLocked(u *undoing) error {
	var state sink.UndoState
	if r := m.runs[u.run.RunID]; r != nil {
		state = r.status.State
	}
	if state == sink.UndoUndoing || state == sink.UndoUndone {
		return fmt.Errorf("memory: run %q is %s: %w", u.run.RunID, state, sink.ErrNotUndoable)
	}
	if state == sink.UndoExpired {
		u.run.Refused = "expired"
	}
	m.ulog.Reset()
	u.w = &m.ulog
	return nil
}

// logOn reports whether the batch being applied keeps an undo log.
func (m *Store) logOn() bool { return m.undo != nil && m.undo.run.Refused == "" }

// logCreate adds the entry of a create of id, stored at ref with flags.
// Its digest is the version's stamp (see createStamp): the arena keeps the
// version as created until Close, so the digest of the record as created
// is computed from it when an undo needs it (resolveCreates), and an
// import pays nothing for it.
func (m *Store) logCreate(o *memObject, id string, ref uint64, flags byte) {
	m.undo.w.Create(o.object, id, m.undo.line, createStamp(ref, flags))
	m.undo.object(o.object)
}

// createStamp is the digest field of a create in the memory store's log:
// the ref of the version created and its flags (which setFlag changes in
// place, so the version's own flags byte may not be the created ones).
func createStamp(ref uint64, flags byte) uint64 {
	return ref<<8 | uint64(flags&(flagOptedOut|flagInactive))
}

// resolveCreates replaces the stamps of b's creates by the digests of the
// records as they were created, decoded from the arena: what PlanRevert
// compares with the records as they are.
//
// It only reads the store: ReadUndo calls it under the read lock.
func (m *Store) resolveCreates(b *sink.UndoBatch) {
	var vals []intake.Value
	for i := range b.Entries {
		e := &b.Entries[i]
		o := m.objects[e.Object]
		if e.Kind != sink.UndoCreate || o == nil {
			continue
		}
		ref, flags := e.Digest>>8, byte(e.Digest)
		if len(vals) < len(o.cols) {
			vals = make([]intake.Value, len(o.cols))
		}
		vals = vals[:len(o.cols)]
		decodeRecord(view(m.arena.get(ref)), vals)
		var d sink.Digest
		for j, v := range vals {
			d.Add(o.cols[j].Name, v)
		}
		d.Flags(flags&flagOptedOut != 0, flags&flagInactive != 0)
		e.Digest = uint64(d)
		clear(vals)
	}
}

// logChange adds the entry of a change of the record id from old to fresh.
func (m *Store) logChange(o *memObject, id string, old, fresh []intake.Value) {
	n := 0
	for j := range fresh {
		if old[j] != fresh[j] {
			n++
		}
	}
	if n == 0 {
		return
	}
	m.undo.w.Begin(sink.UndoUpdate, o.object, id, m.undo.line, sink.FlagChange{}, sink.FlagChange{}, n)
	for j := range fresh {
		if old[j] != fresh[j] {
			m.undo.w.Field(o.cols[j].Name, old[j], fresh[j])
		}
	}
	m.undo.object(o.object)
}

// logFlag adds the entry of a flag of the record at pos that changed from
// before.
func (m *Store) logFlag(o *memObject, pos uint32, flag byte, before bool) {
	id, _ := recordHeader(m.record(o, pos))
	var opted, inactive sink.FlagChange
	if flag == flagOptedOut {
		opted = sink.FlagChange{Changed: true, Before: before}
	} else {
		inactive = sink.FlagChange{Changed: true, Before: before}
	}
	m.undo.w.Begin(sink.UndoUpdate, o.object, id, m.undo.line, opted, inactive, 0)
	m.undo.object(o.object)
}

// logDelete adds the entry of the delete of the record at pos, with every
// non-null value and its flags.
func (m *Store) logDelete(o *memObject, pos uint32) {
	vals, _ := m.scratch(len(o.cols))
	id, flags := decodeRecord(m.record(o, pos), vals)
	n := 0
	for _, v := range vals {
		if !v.IsNull() {
			n++
		}
	}
	m.undo.w.Begin(sink.UndoDelete, o.object, id, m.undo.line,
		sink.FlagChange{Changed: true, Before: flags&flagOptedOut != 0}, sink.FlagChange{Changed: true, Before: flags&flagInactive != 0}, n)
	for j, v := range vals {
		if !v.IsNull() {
			m.undo.w.Field(o.cols[j].Name, v, intake.Null)
		}
	}
	clear(vals)
	m.undo.object(o.object)
}

func (u *undoing) object(name string) {
	if !slices.Contains(u.objs, name) {
		u.objs = append(u.objs, name)
	}
}

// commitUndo stores the log of the batch just applied.
func (m *Store) commitUndo(now time.Time) {
	u := m.undo
	if m.runs == nil {
		m.runs = map[string]*memRun{}
	}
	r := m.runs[u.run.RunID]
	if r == nil {
		r = &memRun{status: sink.UndoStatus{RunID: u.run.RunID, Job: u.run.Job, State: sink.UndoKept, Started: now}}
		m.runs[u.run.RunID] = r
	}
	if r.status.State == sink.UndoExpired {
		return
	}
	if u.run.Refused != "" {
		r.status.State, r.status.Reason = sink.UndoRefused, u.run.Refused
		return
	}
	if u.w.Len() == 0 {
		return
	}
	r.lastSeq++
	r.batches = append(r.batches, m.keepLog(memUndoBatch{seq: r.lastSeq, time: now}, u.w.Bytes()))
	for _, o := range u.objs {
		if !slices.Contains(r.objects, o) {
			r.objects = append(r.objects, o)
		}
	}
}

// UndoStatus returns the undo state of the run (see [sink.Undoer]).
func (m *Store) UndoStatus(ctx context.Context, runID string) (sink.UndoStatus, error) {
	if err := ctx.Err(); err != nil {
		return sink.UndoStatus{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return sink.UndoStatus{}, errMemoryClosed
	}
	r := m.runs[runID]
	if r == nil {
		return sink.UndoStatus{}, fmt.Errorf("memory: run %q: %w", runID, sink.ErrNoUndo)
	}
	st := r.status
	st.Batches = int64(len(r.batches))
	return st, nil
}

// ReadUndo returns the newest batch of the run's log below before (see
// [sink.Undoer]).
func (m *Store) ReadUndo(ctx context.Context, runID string, before int64) (sink.UndoBatch, bool, error) {
	if err := ctx.Err(); err != nil {
		return sink.UndoBatch{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return sink.UndoBatch{}, false, errMemoryClosed
	}
	r := m.runs[runID]
	if r == nil {
		return sink.UndoBatch{}, false, nil
	}
	i := r.newest(before)
	if i < 0 {
		return sink.UndoBatch{}, false, nil
	}
	b, err := r.batches[i].decode(runID)
	if err != nil {
		return b, false, err
	}
	m.resolveCreates(&b)
	return b, true, nil
}

// newest returns the index of the newest batch with a seq below before (0:
// the newest), or -1.
func (r *memRun) newest(before int64) int {
	for i := len(r.batches) - 1; i >= 0; i-- {
		if before <= 0 || r.batches[i].seq < before {
			return i
		}
	}
	return -1
}

func (b memUndoBatch) decode(runID string) (sink.UndoBatch, error) {
	entries, err := undolog.Decode(b.data)
	if err != nil {
		return sink.UndoBatch{}, fmt.Errorf("memory: run %q batch %d: %w", runID, b.seq, err)
	}
	return sink.UndoBatch{RunID: runID, Seq: b.seq, Time: b.time, Entries: entries}, nil
}

// Revert reverts the newest batch of the run's log below before, under the
// store's write lock (see [sink.Undoer]). The undo's audit entry goes to
// the log of each object type the run changed.
func (m *Store) Revert(ctx context.Context, runID string, before int64, opts sink.RevertOptions, audit sink.AuditEntry) (sink.RevertResult, bool, error) {
	if err := ctx.Err(); err != nil {
		return sink.RevertResult{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return sink.RevertResult{}, false, errMemoryClosed
	}
	r := m.runs[runID]
	if r == nil {
		return sink.RevertResult{}, false, fmt.Errorf("memory: run %q: %w", runID, sink.ErrNoUndo)
	}
	if st := r.status; st.State == sink.UndoUndone && before > 0 {
		return sink.RevertResult{}, false, nil // another undo finished it
	} else if !st.Undoable() {
		return sink.RevertResult{}, false, fmt.Errorf("memory: run %q is %s: %w", runID, st.State, sink.ErrNotUndoable)
	}
	r.status.State, r.status.UndoneBy = sink.UndoUndoing, opts.UndoID
	i := r.newest(before)
	if i < 0 {
		for _, o := range r.objects {
			a := audit
			a.Object, a.RecordID, a.Action, a.TargetObject, a.TargetID = o, "", sink.ActionUndo, "run", runID
			a.Time = a.Time.Truncate(time.Microsecond)
			if obj := m.objects[o]; obj != nil {
				obj.audit = append(obj.audit, a)
			}
		}
		if len(r.batches) == 0 {
			r.status.State = sink.UndoUndone
		}
		return sink.RevertResult{}, false, nil
	}
	b, err := r.batches[i].decode(runID)
	if err != nil {
		return sink.RevertResult{}, false, err
	}
	stamps := b.Entries
	b.Entries = slices.Clone(b.Entries)
	m.resolveCreates(&b)
	cur := m.currentLocked(b)
	acts, res := sink.PlanRevert(b, cur, opts.Force)
	for _, a := range acts {
		m.applyRevert(a)
	}
	if kept := keptEntries(sink.UndoBatch{Entries: stamps}, res); len(kept) > 0 {
		var w undolog.Writer
		for k := range kept {
			w.Add(&kept[k])
		}
		old := r.batches[i]
		r.batches[i] = m.keepLog(old, w.Bytes())
		m.dropLog(&old)
	} else {
		m.dropLog(&r.batches[i])
		r.batches = slices.Delete(r.batches, i, i+1)
	}
	return res, true, nil
}

// keptEntries returns the entries of b whose records are in a conflict
// that was not forced: what the log keeps of a reverted batch.
func keptEntries(b sink.UndoBatch, res sink.RevertResult) []sink.UndoEntry {
	var out []sink.UndoEntry
	for _, e := range b.Entries {
		if slices.ContainsFunc(res.Conflicts, func(c sink.Conflict) bool { return !c.Forced && c.Object == e.Object && c.ID == e.ID }) {
			out = append(out, e)
		}
	}
	return out
}

// currentLocked returns the stored records of b's entries, by object and
// id, each of its object's stored schema.
func (m *Store) currentLocked(b sink.UndoBatch) map[sink.RecordRef]*intake.Record {
	cur := map[sink.RecordRef]*intake.Record{}
	for _, e := range b.Entries {
		ref := sink.RecordRef{Object: e.Object, ID: e.ID}
		if _, done := cur[ref]; done {
			continue
		}
		cur[ref] = nil
		o := m.objects[e.Object]
		if o == nil || o.store == nil {
			continue
		}
		p, ok := m.find(o, m.hash(e.ID), e.ID)
		if !ok {
			continue
		}
		rec := &intake.Record{Schema: o.store, Values: make([]intake.Value, len(o.cols))}
		var flags byte
		rec.ID, flags = decodeRecord(string(m.record(o, p)), rec.Values)
		rec.OptedOut, rec.Inactive = flags&flagOptedOut != 0, flags&flagInactive != 0
		cur[ref] = rec
	}
	return cur
}

// applyRevert applies one write that PlanRevert decided. Fields the store
// does not know are ignored (a store never drops a field).
func (m *Store) applyRevert(a sink.RevertAction) {
	o := m.objects[a.Object]
	if o == nil || o.store == nil {
		return
	}
	tag := m.hash(a.ID)
	switch a.Kind {
	case sink.RevertRemove:
		if p, ok := m.find(o, tag, a.ID); ok {
			o.ids.remove(tag, p)
			m.remove(o, p)
		}
	case sink.RevertRestore:
		p, ok := m.find(o, tag, a.ID)
		if !ok {
			return
		}
		ref := o.refs.get(p)
		enc := view(m.arena.get(ref))
		fresh, old := m.scratch(len(o.cols))
		id, flags := decodeRecord(enc, old)
		copy(fresh, old)
		for _, f := range a.Set {
			if j := o.store.Index(f.Name); j >= 0 {
				fresh[j] = f.Value
			}
		}
		flags = setFlag(flags, flagOptedOut, a.OptedOut)
		flags = setFlag(flags, flagInactive, a.Inactive)
		m.replace(o, p, ref, enc, id, flags, old, fresh)
	case sink.RevertInsert:
		rec := &intake.Record{Schema: o.store, ID: a.ID, Values: make([]intake.Value, len(o.cols)),
			OptedOut: a.OptedOut.Value, Inactive: a.Inactive.Value}
		for _, f := range a.Set {
			if j := o.store.Index(f.Name); j >= 0 {
				rec.Values[j] = f.Value
			}
		}
		if !m.insertID(o, tag, a.ID, o.n) {
			return
		}
		plan := make([]int, len(o.cols))
		for j := range plan {
			plan[j] = j
		}
		m.create(o, plan, rec, nil, nil)
	}
}

func setFlag(flags, flag byte, s sink.SetFlag) byte {
	if !s.Set {
		return flags
	}
	if s.Value {
		return flags | flag
	}
	return flags &^ flag
}

// PruneUndo drops the undo logs that r no longer keeps (see [sink.Undoer]).
func (m *Store) PruneUndo(ctx context.Context, r sink.Retention, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r = r.Limits()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errMemoryClosed
	}
	var kept []*memRun
	for _, run := range m.runs {
		if run.status.State == sink.UndoKept {
			kept = append(kept, run)
		}
	}
	slices.SortFunc(kept, func(a, b *memRun) int { return b.status.Started.Compare(a.status.Started) })
	n := 0
	for i, run := range kept {
		if (r.MaxRuns >= 0 && i >= r.MaxRuns) || (r.MaxAge >= 0 && run.status.Started.Before(now.Add(-r.MaxAge))) {
			for k := range run.batches {
				m.dropLog(&run.batches[k])
			}
			run.status.State, run.status.Expired, run.batches = sink.UndoExpired, now, nil
			n++
		}
	}
	return n, nil
}
