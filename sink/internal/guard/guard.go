package guard

import (
	"fmt"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/ops"
)

// Finder finds, inside a sink's write transaction, the stored records of
// object type s.Object() whose key under spec is one of keys (never blank,
// each once), oldest first. For a record-id spec the keys are record ids and
// it returns those stored. It sees what the transaction sees: the records
// other writers committed before the sink took its write lock.
type Finder func(s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error)

// guardGroup is one key spec of one object type: the keys the batch's
// Guarded creates have under it, and the records that hold them.
type guardGroup struct {
	schema *intake.Schema
	spec   intake.KeySpec
	keys   []intake.Key
	found  map[intake.Key][]string
	// first maps a key to the first Guarded create of the batch (its
	// index among them) that has it; late, made only when that create is
	// held, to the id of the first later one that is not.
	first map[intake.Key]int
	late  map[intake.Key]string
	epoch uint64 // the batch (Guard.epoch) that uses the group
}

type guardName struct{ object, spec string }

// Creates applies [sink.Op.Unique] to the creates of batch with a fresh
// [Guard]: see [Guard.Creates].
func Creates(batch []*sink.Op, find Finder) (int, error) {
	var g Guard
	return g.Creates(batch, find)
}

// Guard applies [sink.Op.Unique] to the creates of one batch after
// another, reusing its memory from batch to batch: a sink keeps one and
// calls [Guard.Creates] under its write lock. The zero value is ready to
// use; a Guard is not safe for concurrent use.
type Guard struct {
	gs      guardSet
	creates []*sink.Op      // the Guarded creates, in batch order
	groups  [][]*guardGroup // per Guarded create: the group of each of its specs
	keys    []intake.Key    // per Guarded create, len(Unique) keys
	at      []int           // per op of the batch: its first key in keys, or -1
	gone    batchGone
}

// Creates applies [sink.Op.Unique] to the creates of batch: a create whose
// key a stored record (found with find) or an earlier create of the batch
// holds gets Existing and OutcomeSkipped, and is not to be applied. It
// returns the number of creates it held. Ops must have passed ops.CheckKinds.
// A sink calls it in its write transaction once its write lock is held, and
// skips the ops whose Existing is set.
//
// It runs for every create of the batch, so it does per batch what it can:
// the groups of ops that share a Unique slice and schema (the importer's
// do) are resolved and their key plans compiled once, and the keys live in
// one slice, which [Guard.Keys] reads until the next call.
func (gd *Guard) Creates(batch []*sink.Op, find Finder) (int, error) {
	gs := &gd.gs
	gs.start()
	clear(gd.creates)
	clear(gd.groups)
	clear(gd.keys)
	creates, groups, keys := gd.creates[:0], gd.groups[:0], gd.keys[:0]
	defer func() { gd.creates, gd.groups, gd.keys = creates, groups, keys }()
	gd.at = gd.at[:0]
	for _, op := range batch {
		if !Guarded(op) {
			gd.at = append(gd.at, -1)
			continue
		}
		gd.at = append(gd.at, len(keys))
		op.Existing = nil
		n := len(creates)
		creates = append(creates, op)
		og, plans, err := gs.groups(op)
		if err != nil {
			return 0, ops.RecordError(op, err)
		}
		groups = append(groups, og)
		for j, spec := range op.Unique {
			var k intake.Key
			if spec.RecordID {
				k = intake.Key(op.Record.ID)
			} else {
				k, _ = plans[j].Key(op.Record)
			}
			keys = append(keys, k)
			if k == "" {
				continue
			}
			g := og[j]
			if _, ok := g.first[k]; !ok {
				g.first[k] = n
				g.keys = append(g.keys, k)
			}
		}
	}
	if len(creates) == 0 {
		return 0, nil
	}
	for _, g := range gs.order {
		found, err := find(g.schema, g.spec, g.keys)
		if err != nil {
			return 0, err
		}
		g.found = found
	}
	held := 0
	gone := &gd.gone
	gone.reset()
	at, n := 0, 0 // at: the next key in keys; n: the next Guarded create
	for _, op := range batch {
		if op == nil || op.Record == nil || op.Record.Schema == nil {
			continue
		}
		gone.note(op)
		if n == len(creates) || op != creates[n] {
			continue
		}
		ks := keys[at : at+len(op.Unique)]
		at += len(op.Unique)
		og := groups[n]
		for j, k := range ks {
			if k == "" {
				continue
			}
			g := og[j]
			if ids := gone.filter(g.schema.Object(), g.spec, g.found[k]); len(ids) > 0 {
				op.Existing = ids
				break
			}
			if f := g.first[k]; f != n {
				if creates[f].Existing == nil {
					op.Existing = []string{creates[f].Record.ID}
					break
				}
				if id, ok := g.late[k]; ok {
					op.Existing = []string{id}
					break
				}
			}
		}
		if op.Existing != nil {
			op.Outcome = intake.OutcomeSkipped
			held++
		} else {
			// The first create of a key whose first holder was held.
			for j, k := range ks {
				g := og[j]
				if f, ok := g.first[k]; k != "" && ok && f != n && creates[f].Existing != nil {
					if _, ok := g.late[k]; !ok {
						if g.late == nil {
							g.late = map[intake.Key]string{}
						}
						g.late[k] = op.Record.ID
					}
				}
			}
		}
		n++
	}
	return held, nil
}

// Keys returns the keys that the last [Guard.Creates] computed for
// batch[i], one per spec of its Unique, or nil when batch[i] is no
// Guarded create. The slice is the Guard's: valid until its next Creates.
func (gd *Guard) Keys(batch []*sink.Op, i int) []intake.Key {
	if i >= len(gd.at) || gd.at[i] < 0 {
		return nil
	}
	return gd.keys[gd.at[i] : gd.at[i]+len(batch[i].Unique)]
}

// Done drops the references that the Guard holds to the last batch's
// records and keys (its keys and the groups' maps), keeping its room for
// the next batch. A sink calls it once it has applied the batch.
func (gd *Guard) Done() {
	clear(gd.creates)
	clear(gd.groups)
	clear(gd.keys)
	gd.creates, gd.groups, gd.keys, gd.at = gd.creates[:0], gd.groups[:0], gd.keys[:0], gd.at[:0]
	for _, g := range gd.gs.order {
		clear(g.keys)
		g.keys, g.found = g.keys[:0], nil
		clear(g.first)
		clear(g.late)
	}
	gd.gone.reset()
}

// guardSet holds the groups of a batch's guard and the key plans, and
// remembers the last op's Unique slice and schema, so that consecutive
// ops that share them resolve their groups and key plans once. Groups and
// plans outlive a batch (up to maxKept of each), so that the groups' maps
// keep their room: epoch tells the batch that uses each group.
type guardSet struct {
	byName map[guardName]*guardGroup
	order  []*guardGroup // the groups the batch uses, in the order it names them
	kp     map[PlanKey]*intake.KeyPlan
	epoch  uint64
	last   struct {
		schema *intake.Schema
		unique *intake.KeySpec
		n      int
		groups []*guardGroup
		plans  []*intake.KeyPlan // nil for record-id specs
		epoch  uint64
	}
}

// maxKept bounds the groups and key plans that a guardSet keeps from one
// batch to the next.
const maxKept = 64

// start prepares gs for a batch. The Unique slices and schemas of the last
// batch's ops are not trusted to be unchanged: the first op of each batch
// resolves its groups and plans again.
func (gs *guardSet) start() {
	gs.epoch++
	gs.order = gs.order[:0]
	gs.last.schema, gs.last.unique = nil, nil
	if len(gs.byName) > maxKept {
		gs.byName = nil
	}
	if len(gs.kp) > maxKept {
		gs.kp = nil
	}
}

func (gs *guardSet) plans() map[PlanKey]*intake.KeyPlan {
	if gs.kp == nil {
		gs.kp = map[PlanKey]*intake.KeyPlan{}
	}
	return gs.kp
}

// groups returns the group and the key plan of each spec of op.Unique.
func (gs *guardSet) groups(op *sink.Op) ([]*guardGroup, []*intake.KeyPlan, error) {
	l := &gs.last
	if l.schema != op.Record.Schema || l.unique != &op.Unique[0] || l.n != len(op.Unique) {
		out := make([]*guardGroup, len(op.Unique))
		plans := make([]*intake.KeyPlan, len(op.Unique))
		object := op.Record.Schema.Object()
		for j, spec := range op.Unique {
			if !spec.RecordID {
				p, err := plan(gs.plans(), op.Record.Schema, spec)
				if err != nil {
					l.schema = nil
					return nil, nil, err
				}
				plans[j] = p
			}
			name := guardName{object, spec.Name()}
			g := gs.byName[name]
			if g == nil {
				if gs.byName == nil {
					gs.byName = map[guardName]*guardGroup{}
				}
				g = &guardGroup{first: map[intake.Key]int{}}
				gs.byName[name] = g
			}
			out[j] = g
		}
		l.schema, l.unique, l.n, l.groups, l.plans, l.epoch = op.Record.Schema, &op.Unique[0], len(op.Unique), out, plans, 0
	}
	if l.epoch != gs.epoch {
		l.epoch = gs.epoch
		for j, g := range l.groups {
			if g.epoch != gs.epoch {
				g.epoch, g.schema, g.spec, g.found = gs.epoch, op.Record.Schema, op.Unique[j], nil
				clear(g.keys)
				g.keys = g.keys[:0]
				clear(g.first)
				clear(g.late)
				gs.order = append(gs.order, g)
			}
		}
	}
	return l.groups, l.plans, nil
}

// batchGone tracks, while Creates walks a batch, the stored records
// that the batch's earlier ops deleted or anonymized: a deleted record
// holds no key any more, an anonymized one no key with a field the
// anonymize erased.
type batchGone struct {
	deleted    map[recordKey]bool
	anonymized map[recordKey]*intake.Schema // the schema of the anonymize
}

// reset empties g for the next batch, keeping its maps' room.
func (g *batchGone) reset() {
	clear(g.deleted)
	clear(g.anonymized)
}

func (g *batchGone) note(op *sink.Op) {
	k := recordKey{op.Record.Schema.Object(), op.Record.ID}
	switch op.Kind {
	case sink.OpDelete:
		if g.deleted == nil {
			g.deleted = map[recordKey]bool{}
		}
		g.deleted[k] = true
	case sink.OpAnonymize:
		if g.anonymized == nil {
			g.anonymized = map[recordKey]*intake.Schema{}
		}
		g.anonymized[k] = op.Record.Schema
	}
}

// filter returns the ids of found that still hold their key under spec.
func (g *batchGone) filter(object string, spec intake.KeySpec, found []string) []string {
	if len(found) == 0 || (len(g.deleted) == 0 && len(g.anonymized) == 0) {
		return found
	}
	var kept []string
	for _, id := range found {
		k := recordKey{object, id}
		if g.deleted[k] {
			continue
		}
		if s := g.anonymized[k]; s != nil && !spec.RecordID && erasesKey(s, spec) {
			continue
		}
		kept = append(kept, id)
	}
	return kept
}

// erasesKey reports whether an anonymize with schema s erases a field of
// spec's key.
func erasesKey(s *intake.Schema, spec intake.KeySpec) bool {
	for _, f := range spec.Fields {
		if i := s.Index(f); i >= 0 && sink.AnonymizeErases(s, i) {
			return true
		}
		if i := s.Index(f + "_md5"); spec.MD5 && i >= 0 && sink.AnonymizeErases(s, i) {
			return true
		}
	}
	return false
}

// Guarded reports whether op is a create with Unique keys (and a record
// to compute them from: a malformed op is left to the sink's checks).
func Guarded(op *sink.Op) bool {
	return op != nil && op.Kind == sink.OpCreate && len(op.Unique) > 0 && op.Record != nil && op.Record.Schema != nil && op.Record.ID != ""
}

// PlanKey names the compiled key plan of a spec for a schema.
type PlanKey struct {
	schema *intake.Schema
	spec   string
}

// Key returns rec's key under spec: for a record-id spec, its id.
func Key(plans map[PlanKey]*intake.KeyPlan, rec *intake.Record, spec intake.KeySpec) (intake.Key, error) {
	if spec.RecordID {
		return intake.Key(rec.ID), nil
	}
	p, err := plan(plans, rec.Schema, spec)
	if err != nil {
		return "", err
	}
	k, _ := p.Key(rec)
	return k, nil
}

// plan returns the key plan of spec for s, compiled once into plans.
func plan(plans map[PlanKey]*intake.KeyPlan, s *intake.Schema, spec intake.KeySpec) (*intake.KeyPlan, error) {
	pk := PlanKey{s, spec.Name()}
	p := plans[pk]
	if p == nil {
		var err error
		if p, err = s.CompileKey(spec); err != nil {
			return nil, fmt.Errorf("%w: Unique: %v", sink.ErrInvalidOp, err)
		}
		plans[pk] = p
	}
	return p, nil
}

// Specs returns the distinct key specs (not record-id ones) of the
// Guarded creates of batch, with the schema of the first op that names
// each: the key columns or indexes a sink must have before its guard
// looks keys up.
func Specs(batch []*sink.Op) (schemas []*intake.Schema, specs []intake.KeySpec) {
	seen := map[guardName]bool{}
	for _, op := range batch {
		if !Guarded(op) {
			continue
		}
		for _, spec := range op.Unique {
			n := guardName{op.Record.Schema.Object(), spec.Name()}
			if spec.RecordID || seen[n] {
				continue
			}
			seen[n] = true
			schemas, specs = append(schemas, op.Record.Schema), append(specs, spec)
		}
	}
	return schemas, specs
}

// Clear undoes what Creates set on the ops of a batch that failed.
func Clear(batch []*sink.Op) {
	for _, op := range batch {
		if op != nil && op.Existing != nil {
			op.Existing, op.Outcome = nil, intake.OutcomeNone
		}
	}
}

// recordKey names a stored record: its object type and id.
type recordKey struct {
	object, id string
}
