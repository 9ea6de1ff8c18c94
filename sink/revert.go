package sink

import (
	"encoding/json"
	"math/bits"
	"slices"
	"strings"

	"github.com/intakehq/intake"
)

// Digest is a digest of a record's values and flags, which an
// [UndoCreate] entry keeps so that an undo can tell whether the record
// changed after the run created it. It does not depend on the order in
// which fields are added, and null fields add nothing, so a field the store
// added to the schema later does not change it. Build it with Add and
// Flags, or with [RecordDigest].
type Digest uint64

// Add adds the field name holding v; a null v adds nothing.
func (d *Digest) Add(name string, v intake.Value) {
	if v.IsNull() {
		return
	}
	s, i := v.Raw()
	h := hashString(0x9e3779b97f4a7c15, name)
	h = mixWord(h, uint64(v.Kind())<<56|uint64(len(name))<<24|uint64(len(s)&0xffffff))
	h = hashString(h, s)
	h = mixWord(h, uint64(i))
	*d += Digest(mix(h))
}

// Flags adds the record's flags.
func (d *Digest) Flags(optedOut, inactive bool) {
	if optedOut {
		*d += Digest(mix(0x6f70746564))
	}
	if inactive {
		*d += Digest(mix(0x696e616374))
	}
}

// RecordDigest returns the Digest of r: every non-null field by its name,
// and its flags.
func RecordDigest(r *intake.Record) uint64 {
	var d Digest
	for i, v := range r.Values {
		if i < r.Schema.Len() {
			d.Add(r.Schema.Name(i), v)
		}
	}
	d.Flags(r.OptedOut, r.Inactive)
	return uint64(d)
}

// hashString hashes s into h eight bytes at a time. The digest is kept in
// stores, so it must not change between processes (hash/maphash's seeds
// do), and it is computed for every record an import creates, so it reads
// words rather than bytes.
func hashString(h uint64, s string) uint64 {
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = mixWord(h, w)
		s = s[8:]
	}
	var w uint64
	for k := 0; k < len(s); k++ {
		w |= uint64(s[k]) << (8 * k)
	}
	return mixWord(h, w^uint64(len(s))<<59)
}

// mixWord folds the word w into h (a multiply-rotate round, as in
// xxHash's).
func mixWord(h, w uint64) uint64 {
	h ^= w * 0x9fb21c651e98df25
	h = bits.RotateLeft64(h, 31)
	return h * 0xc2b2ae3d27d4eb4f
}

// mix is SplitMix64's finalizer: the sum of mixed field hashes does not let
// two fields' changes cancel out the way a sum of weakly mixed hashes
// could.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// RecordRef names a stored record: its object type and id.
type RecordRef struct {
	Object string
	ID     string
}

// RevertKind is what [PlanRevert] decided to write for a record.
type RevertKind uint8

// The kinds of revert write.
const (
	// RevertNone writes nothing: the record is as the undo leaves it
	// already, or it is in conflict.
	RevertNone RevertKind = iota
	// RevertRemove removes the record (the run created it).
	RevertRemove
	// RevertRestore sets the fields of Set (a null value clears the field)
	// and the flags of OptedOut and Inactive whose Set is true.
	RevertRestore
	// RevertInsert puts back a record the run deleted: a new record with
	// the id, the fields of Set and the flags OptedOut.Value and
	// Inactive.Value.
	RevertInsert
)

// FieldValue is a field and its value.
type FieldValue struct {
	Name  string
	Value intake.Value
}

// SetFlag sets a flag to Value when Set.
type SetFlag struct {
	Set   bool
	Value bool
}

// RevertAction is the write that reverts a record: what [PlanRevert]
// decided and a store applies in its transaction.
type RevertAction struct {
	RecordRef
	Kind     RevertKind
	Set      []FieldValue
	OptedOut SetFlag
	Inactive SetFlag
}

// ConflictField is a field of a record in conflict: the value before the
// run, the value the run wrote (null for a record it created or deleted)
// and the value the store holds now.
type ConflictField struct {
	Name     string
	Before   intake.Value
	RunWrote intake.Value
	Now      intake.Value
}

// MarshalJSON writes the field as {"field", "before", "run_wrote", "now"},
// each value as its canonical text (intake.Value.String), null when null.
func (f ConflictField) MarshalJSON() ([]byte, error) {
	text := func(v intake.Value) *string {
		if v.IsNull() {
			return nil
		}
		s := v.String()
		return &s
	}
	return json.Marshal(struct {
		Field    string  `json:"field"`
		Before   *string `json:"before"`
		RunWrote *string `json:"run_wrote"`
		Now      *string `json:"now"`
	}{f.Name, text(f.Before), text(f.RunWrote), text(f.Now)})
}

// Conflict is a record that changed after the run: the undo left it as it
// is (or, Forced, reverted it anyway).
type Conflict struct {
	Object string `json:"object"`
	ID     string `json:"id"`
	// Line is the source line of the run's row (of its first entry for
	// the record).
	Line int `json:"line,omitempty"`
	// Reason says what changed: "changed after the run" (Fields names the
	// fields), "changed after the run created it", "deleted after the
	// run", "a record with this id exists".
	Reason string          `json:"reason"`
	Fields []ConflictField `json:"fields,omitempty"`
	// Forced is set when RevertOptions.Force reverted the record anyway.
	Forced bool `json:"forced,omitempty"`
}

// RevertResult is what the revert of one batch of a run's log did (or, in a
// dry run, would do). Every entry is counted once: Entries = Reverted +
// Restored + Unchanged + Conflicted.
type RevertResult struct {
	// Seq is the batch's number in the run's log.
	Seq int64
	// Entries is the number of entries of the batch.
	Entries int
	// Reverted counts the entries of records the run created that the
	// revert removed.
	Reverted int
	// Restored counts the entries whose fields and flags the revert set
	// back, and the deleted records it put back.
	Restored int
	// Unchanged counts the entries with nothing to revert: the record is
	// as the undo leaves it (an earlier undo that did not finish reverted
	// it, or a later change set it back).
	Unchanged int
	// Conflicted counts the entries of records in conflict that the revert
	// left as they are.
	Conflicted int
	// Forced counts the entries of records in conflict that Force
	// reverted (they are counted in Reverted or Restored too).
	Forced int
	// Conflicts lists the records in conflict, forced or not.
	Conflicts []Conflict
}

// Add adds the counts and conflicts of o to r.
func (r *RevertResult) Add(o RevertResult) {
	r.Entries += o.Entries
	r.Reverted += o.Reverted
	r.Restored += o.Restored
	r.Unchanged += o.Unchanged
	r.Conflicted += o.Conflicted
	r.Forced += o.Forced
	r.Conflicts = append(r.Conflicts, o.Conflicts...)
}

// revState is a record as the revert goes back through a batch's entries.
type revState struct {
	exists   bool
	vals     map[string]intake.Value
	opted    bool
	inactive bool
}

func stateOf(r *intake.Record) *revState {
	st := &revState{}
	if r == nil {
		return st
	}
	st.exists, st.opted, st.inactive = true, r.OptedOut, r.Inactive
	st.vals = make(map[string]intake.Value, len(r.Values))
	for i, v := range r.Values {
		if i < r.Schema.Len() && !v.IsNull() {
			st.vals[r.Schema.Name(i)] = v
		}
	}
	return st
}

func (st *revState) clone() *revState {
	c := *st
	c.vals = make(map[string]intake.Value, len(st.vals))
	for k, v := range st.vals {
		c.vals[k] = v
	}
	return &c
}

func (st *revState) digest() uint64 {
	var d Digest
	for k, v := range st.vals {
		d.Add(k, v)
	}
	d.Flags(st.opted, st.inactive)
	return uint64(d)
}

// entryOutcome is what reverting one entry did to the state.
type entryOutcome uint8

const (
	outReverted entryOutcome = iota + 1
	outRestored
	outUnchanged
	outConflict
)

// PlanRevert decides how to revert a batch of a run's log: for each record
// of its entries, the write that reverts it, given the record as the store
// holds it now (current; a record absent from current is not stored). A
// store calls it with the records it read in its revert transaction; a dry
// run with the records it reads, as a revert of the run's newer batches
// left them.
//
// The entries of a record are reverted from the last to the first, each
// against the record as the later ones left it:
//
//   - [UndoCreate]: the record is removed when its [RecordDigest] is the
//     entry's (it is as the run created it); otherwise it is in conflict:
//     "changed after the run created it", or "deleted after the run
//     created it" when it is gone (an undo of that delete would bring it
//     back: the entry stays in the log; with force it is dropped and
//     counted unchanged).
//   - [UndoUpdate]: each field (and flag) that holds the value the run
//     wrote gets its value before back; one that holds the value before
//     already is unchanged; one that holds a third value is in conflict
//     ("changed after the run", with the field). A record no longer stored
//     is in conflict ("deleted after the run"), even with force.
//   - [UndoDelete]: the record is put back with its fields and flags; a
//     record stored under the id with the same values is unchanged; any
//     other is in conflict ("a record with this id exists").
//
// A record with a conflict is left whole as it is — none of its entries is
// reverted — unless force, which reverts it anyway (a created record is
// removed, fields get their values before; Forced). Every entry is counted
// in the result once.
func PlanRevert(b UndoBatch, current map[RecordRef]*intake.Record, force bool) ([]RevertAction, RevertResult) {
	res := RevertResult{Seq: b.Seq, Entries: len(b.Entries)}
	// The entries of each record, in batch order, and the records in the
	// order of their first entry.
	byRec := map[RecordRef][]int{}
	var order []RecordRef
	for i := range b.Entries {
		ref := RecordRef{b.Entries[i].Object, b.Entries[i].ID}
		if _, ok := byRec[ref]; !ok {
			order = append(order, ref)
		}
		byRec[ref] = append(byRec[ref], i)
	}
	var acts []RevertAction
	for _, ref := range order {
		idx := byRec[ref]
		cur := stateOf(current[ref])
		st := cur.clone()
		var conflict *Conflict
		outs := make([]entryOutcome, len(idx))
		for k := len(idx) - 1; k >= 0; k-- {
			e := &b.Entries[idx[k]]
			var c *Conflict
			outs[k], c = revertEntry(st, e, force)
			if c != nil {
				if conflict == nil {
					conflict = c
				} else {
					conflict.Fields = append(conflict.Fields, c.Fields...)
				}
			}
		}
		if conflict != nil {
			conflict.Line = b.Entries[idx[0]].Line
			conflict.Forced = force && st.forceable(conflict)
			res.Conflicts = append(res.Conflicts, *conflict)
			if !conflict.Forced {
				res.Conflicted += len(idx)
				continue
			}
			res.Forced += len(idx)
		}
		for k, o := range outs {
			if o == outConflict { // forced: what the entry would have done
				o = forcedOutcome(b.Entries[idx[k]].Kind)
			}
			switch o {
			case outReverted:
				res.Reverted++
			case outRestored:
				res.Restored++
			default:
				res.Unchanged++
			}
		}
		if a, ok := diffStates(ref, cur, st); ok {
			acts = append(acts, a)
		}
	}
	return acts, res
}

// forceable reports whether force can revert the record of conflict c: not
// one deleted after the run.
func (st *revState) forceable(c *Conflict) bool { return c.Reason != reasonDeleted }

func forcedOutcome(k UndoKind) entryOutcome {
	if k == UndoCreate {
		return outReverted
	}
	return outRestored
}

const (
	reasonChanged = "changed after the run"
	reasonCreated = "changed after the run created it"
	reasonDeleted = "deleted after the run"
	// reasonCreatedDeleted is a record the run created that something
	// deleted after it; force drops its entry, there being nothing to
	// remove.
	reasonCreatedDeleted = "deleted after the run created it"
	reasonExists         = "a record with this id exists"
)

// revertEntry reverts e on st. With force, st is reverted in spite of a
// conflict (the conflict is still returned).
func revertEntry(st *revState, e *UndoEntry, force bool) (entryOutcome, *Conflict) {
	switch e.Kind {
	case UndoCreate:
		if !st.exists {
			// Deleted after the run: an undo of that delete would bring it
			// back, so the entry stays in the log; force drops it.
			c := &Conflict{Object: e.Object, ID: e.ID, Reason: reasonCreatedDeleted}
			if force {
				return outUnchanged, c
			}
			return outConflict, c
		}
		var c *Conflict
		if st.digest() != e.Digest {
			c = &Conflict{Object: e.Object, ID: e.ID, Reason: reasonCreated}
			if !force {
				return outConflict, c
			}
		}
		*st = revState{}
		if c != nil {
			return outConflict, c
		}
		return outReverted, nil
	case UndoUpdate:
		return revertUpdate(st, e, force)
	case UndoDelete:
		return revertDelete(st, e, force)
	}
	return outUnchanged, nil
}

func revertUpdate(st *revState, e *UndoEntry, force bool) (entryOutcome, *Conflict) {
	if !st.exists {
		return outConflict, &Conflict{Object: e.Object, ID: e.ID, Reason: reasonDeleted}
	}
	var bad []ConflictField
	changed := false
	for _, f := range e.Fields {
		now := st.vals[f.Name]
		switch now {
		case f.Before:
		case f.After:
			changed = true
		default:
			bad = append(bad, ConflictField{Name: f.Name, Before: f.Before, RunWrote: f.After, Now: now})
		}
	}
	// A flag holds its value before or the run's: it cannot conflict.
	if e.OptedOut.Changed && st.opted != e.OptedOut.Before {
		changed = true
	}
	if e.Inactive.Changed && st.inactive != e.Inactive.Before {
		changed = true
	}
	var c *Conflict
	if bad != nil {
		c = &Conflict{Object: e.Object, ID: e.ID, Reason: reasonChanged, Fields: bad}
		if !force {
			return outConflict, c
		}
	}
	if !changed && c == nil {
		return outUnchanged, nil
	}
	for _, f := range e.Fields {
		st.set(f.Name, f.Before)
	}
	if e.OptedOut.Changed {
		st.opted = e.OptedOut.Before
	}
	if e.Inactive.Changed {
		st.inactive = e.Inactive.Before
	}
	if c != nil {
		return outConflict, c
	}
	return outRestored, nil
}

func revertDelete(st *revState, e *UndoEntry, force bool) (entryOutcome, *Conflict) {
	kept := &revState{exists: true, vals: make(map[string]intake.Value, len(e.Fields)), opted: e.OptedOut.Before, inactive: e.Inactive.Before}
	for _, f := range e.Fields {
		kept.set(f.Name, f.Before)
	}
	if st.exists {
		if st.digest() == kept.digest() {
			return outUnchanged, nil
		}
		c := &Conflict{Object: e.Object, ID: e.ID, Reason: reasonExists}
		for _, f := range e.Fields {
			if now := st.vals[f.Name]; now != f.Before {
				c.Fields = append(c.Fields, ConflictField{Name: f.Name, Before: f.Before, Now: now})
			}
		}
		if !force {
			return outConflict, c
		}
		*st = *kept
		return outConflict, c
	}
	*st = *kept
	return outRestored, nil
}

func (st *revState) set(name string, v intake.Value) {
	if v.IsNull() {
		delete(st.vals, name)
		return
	}
	st.vals[name] = v
}

// diffStates returns the write that takes the record from cur to next, and
// false when there is nothing to write.
func diffStates(ref RecordRef, cur, next *revState) (RevertAction, bool) {
	a := RevertAction{RecordRef: ref}
	switch {
	case !cur.exists && !next.exists:
		return a, false
	case cur.exists && !next.exists:
		a.Kind = RevertRemove
		return a, true
	case !cur.exists:
		a.Kind = RevertInsert
		for k, v := range next.vals {
			a.Set = append(a.Set, FieldValue{k, v})
		}
		sortFields(a.Set)
		a.OptedOut = SetFlag{true, next.opted}
		a.Inactive = SetFlag{true, next.inactive}
		return a, true
	}
	a.Kind = RevertRestore
	for k, v := range next.vals {
		if cur.vals[k] != v {
			a.Set = append(a.Set, FieldValue{k, v})
		}
	}
	for k := range cur.vals {
		if _, ok := next.vals[k]; !ok {
			a.Set = append(a.Set, FieldValue{k, intake.Null})
		}
	}
	sortFields(a.Set)
	if cur.opted != next.opted {
		a.OptedOut = SetFlag{true, next.opted}
	}
	if cur.inactive != next.inactive {
		a.Inactive = SetFlag{true, next.inactive}
	}
	if len(a.Set) == 0 && !a.OptedOut.Set && !a.Inactive.Set {
		return a, false
	}
	return a, true
}

func sortFields(fs []FieldValue) {
	slices.SortFunc(fs, func(a, b FieldValue) int { return strings.Compare(a.Name, b.Name) })
}
