package sink

import (
	"fmt"

	"github.com/intakehq/intake"
)

// keyFinder finds, inside a sink's write transaction, the stored records of
// object type s.Object() whose key under spec is one of keys (never blank,
// each once), oldest first. For a record-id spec the keys are record ids and
// it returns those stored. It sees what the transaction sees: the records
// other writers committed before the sink took its write lock.
type keyFinder func(s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error)

// guardGroup is one key spec of one object type: the keys the batch's
// guarded creates have under it, and the records that hold them.
type guardGroup struct {
	schema *intake.Schema
	spec   intake.KeySpec
	keys   []intake.Key
	want   map[intake.Key]bool
	found  map[intake.Key][]string
	batch  map[intake.Key]string // key → id of the batch's first create that holds it
}

type guardName struct{ object, spec string }

// guardCreates applies [Op.Unique] to the creates of batch: a create whose
// key a stored record (found with find) or an earlier create of the batch
// holds gets Existing and OutcomeSkipped, and is not to be applied. It
// returns the number of creates it held. Ops must have passed checkOpKinds.
// A sink calls it in its write transaction once its write lock is held, and
// skips the ops whose Existing is set.
func guardCreates(batch []*Op, find keyFinder) (int, error) {
	var groups map[guardName]*guardGroup
	var order []*guardGroup
	plans := map[guardPlanKey]*intake.KeyPlan{}
	var keys [][]intake.Key // per guarded create, in batch order: its key under each spec
	for _, op := range batch {
		if !guarded(op) {
			continue
		}
		op.Existing = nil
		ks := make([]intake.Key, len(op.Unique))
		for j, spec := range op.Unique {
			k, err := guardKey(plans, op.Record, spec)
			if err != nil {
				return 0, recordError(op, err)
			}
			ks[j] = k
			if k == "" {
				continue
			}
			name := guardName{op.Record.Schema.Object(), spec.Name()}
			g := groups[name]
			if g == nil {
				if groups == nil {
					groups = map[guardName]*guardGroup{}
				}
				g = &guardGroup{schema: op.Record.Schema, spec: spec, want: map[intake.Key]bool{}, batch: map[intake.Key]string{}}
				groups[name] = g
				order = append(order, g)
			}
			if !g.want[k] {
				g.want[k] = true
				g.keys = append(g.keys, k)
			}
		}
		keys = append(keys, ks)
	}
	if len(order) == 0 {
		return 0, nil
	}
	for _, g := range order {
		found, err := find(g.schema, g.spec, g.keys)
		if err != nil {
			return 0, err
		}
		g.found = found
	}
	held, n := 0, 0
	var gone batchGone
	for _, op := range batch {
		if op == nil || op.Record == nil || op.Record.Schema == nil {
			continue
		}
		gone.note(op)
		if !guarded(op) {
			continue
		}
		ks := keys[n]
		n++
		object := op.Record.Schema.Object()
		for j, spec := range op.Unique {
			if ks[j] == "" {
				continue
			}
			g := groups[guardName{object, spec.Name()}]
			if ids := gone.filter(object, spec, g.found[ks[j]]); len(ids) > 0 {
				op.Existing = ids
				break
			}
			if id, ok := g.batch[ks[j]]; ok {
				op.Existing = []string{id}
				break
			}
		}
		if op.Existing != nil {
			op.Outcome = intake.OutcomeSkipped
			held++
			continue
		}
		for j, spec := range op.Unique {
			if ks[j] != "" {
				g := groups[guardName{object, spec.Name()}]
				if _, ok := g.batch[ks[j]]; !ok {
					g.batch[ks[j]] = op.Record.ID
				}
			}
		}
	}
	return held, nil
}

// batchGone tracks, while guardCreates walks a batch, the stored records
// that the batch's earlier ops deleted or anonymized: a deleted record
// holds no key any more, an anonymized one no key with a field the
// anonymize erased.
type batchGone struct {
	deleted    map[stateKey]bool
	anonymized map[stateKey]*intake.Schema // the schema of the anonymize
}

func (g *batchGone) note(op *Op) {
	k := stateKey{op.Record.Schema.Object(), op.Record.ID}
	switch op.Kind {
	case OpDelete:
		if g.deleted == nil {
			g.deleted = map[stateKey]bool{}
		}
		g.deleted[k] = true
	case OpAnonymize:
		if g.anonymized == nil {
			g.anonymized = map[stateKey]*intake.Schema{}
		}
		g.anonymized[k] = op.Record.Schema
	}
}

// filter returns the ids of found that still hold their key under spec.
func (g *batchGone) filter(object string, spec intake.KeySpec, found []string) []string {
	if len(found) == 0 || (g.deleted == nil && g.anonymized == nil) {
		return found
	}
	var kept []string
	for _, id := range found {
		k := stateKey{object, id}
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
		if i := s.Index(f); i >= 0 && AnonymizeErases(s, i) {
			return true
		}
		if i := s.Index(f + "_md5"); spec.MD5 && i >= 0 && AnonymizeErases(s, i) {
			return true
		}
	}
	return false
}

// guarded reports whether op is a create with Unique keys (and a record
// to compute them from: a malformed op is left to the sink's checks).
func guarded(op *Op) bool {
	return op != nil && op.Kind == OpCreate && len(op.Unique) > 0 && op.Record != nil && op.Record.Schema != nil && op.Record.ID != ""
}

type guardPlanKey struct {
	schema *intake.Schema
	spec   string
}

// guardKey returns rec's key under spec: for a record-id spec, its id.
func guardKey(plans map[guardPlanKey]*intake.KeyPlan, rec *intake.Record, spec intake.KeySpec) (intake.Key, error) {
	if spec.RecordID {
		return intake.Key(rec.ID), nil
	}
	pk := guardPlanKey{rec.Schema, spec.Name()}
	p := plans[pk]
	if p == nil {
		var err error
		if p, err = rec.Schema.CompileKey(spec); err != nil {
			return "", fmt.Errorf("%w: Unique: %v", ErrInvalidOp, err)
		}
		plans[pk] = p
	}
	k, _ := p.Key(rec)
	return k, nil
}

// guardedSpecs returns the distinct key specs (not record-id ones) of the
// guarded creates of batch, with the schema of the first op that names
// each: the key columns or indexes a sink must have before its guard
// looks keys up.
func guardedSpecs(batch []*Op) (schemas []*intake.Schema, specs []intake.KeySpec) {
	seen := map[guardName]bool{}
	for _, op := range batch {
		if !guarded(op) {
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

// clearGuard undoes what guardCreates set on the ops of a batch that failed.
func clearGuard(batch []*Op) {
	for _, op := range batch {
		if op != nil && op.Existing != nil {
			op.Existing, op.Outcome = nil, intake.OutcomeNone
		}
	}
}
