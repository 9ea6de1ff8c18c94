package importer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/sink"
)

// rules is the compiled record action of a run: the matrix, the duplicate
// policy, the merge policy, consent and memberships.
type rules struct {
	matrix identity.Matrix
	dup    identity.Duplicates
	merger *identity.Merger
	last   *identity.Merger // DuplicatesLast: every mapped field of a later row wins
	// consent, when channels are configured; consentSkip marks its fields.
	consent     *identity.Consent
	consentSkip []bool
	// mapped[i]: the mapping (or a membership) sets field i.
	mapped []bool
	// members are the job's memberships: field index and list value.
	members []member
	// needSeen: remember every key of the run (identity.Seen); trackCreated:
	// remember the keys of the records the run creates, until the store
	// shows them.
	needSeen, trackCreated bool
	// useView: read the matched records before deciding each batch, for
	// merge rules that need stored values, consent and explanations.
	useView bool
	// audit is the template of lifecycle ops' audit entries.
	audit sink.AuditEntry
}

type member struct {
	field int
	value intake.Value
}

// tkey is the tracking key of rule i's key k: k itself with one rule, else
// prefixed by the rule's index.
func (r *run) tkey(i int, k intake.Key) intake.Key {
	if len(r.job.Rules) <= 1 {
		return k
	}
	return intake.Key(string(rune('0'+i))) + k
}

// eachKey calls fn with the tracking key of every rule that gives m a key.
func (r *run) eachKey(m *identity.Match, fn func(tk intake.Key) bool) {
	n := 1
	if m.Keys != nil {
		n = len(m.Keys)
	}
	for i := 0; i < n; i++ {
		if k := m.RuleKey(i); k != "" {
			if fn(r.tkey(i, k)) {
				return
			}
		}
	}
}

// loadView reads the records that the batch's rows matched, for the rules
// that compare with stored values. In a dry run the records read are kept
// (up to Config.DryRunRecords) with the run's earlier rows applied.
func (r *run) loadView(ctx context.Context, b *batch) error {
	clear(r.batchView)
	r.ids = r.ids[:0]
	for _, c := range b.chunks {
		for i := 0; i < c.n; i++ {
			if c.errs[i] != nil {
				continue
			}
			for _, id := range c.matches[i].IDs {
				if _, ok := r.dryStored[id]; !ok {
					r.ids = append(r.ids, id)
				}
			}
		}
	}
	if len(r.ids) == 0 || r.getter == nil {
		return nil
	}
	slices.Sort(r.ids)
	r.ids = slices.Compact(r.ids)
	stored, err := r.getter.Get(ctx, r.schema, r.ids)
	if err != nil {
		return fmt.Errorf("intake: read the matched records of lines %d-%d: %w", b.firstLine(), b.lastLine(), err)
	}
	for id, rec := range stored {
		if r.job.DryRun && len(r.dryStored) < r.im.cfg.DryRunRecords {
			if r.dryStored == nil {
				r.dryStored = make(map[string]*intake.Record)
			}
			r.dryStored[id] = ownRecord(rec)
			continue
		}
		if r.batchView == nil {
			r.batchView = make(map[string]*intake.Record, len(stored))
		}
		r.batchView[id] = rec
	}
	return nil
}

// viewed returns the stored record id as the run's earlier rows left it, or nil.
func (r *run) viewed(id string) *intake.Record {
	if rec, ok := r.dryStored[id]; ok {
		return rec
	}
	return r.batchView[id]
}

// decide applies the record action to row i of chunk c.
func (r *run) decide(b *batch, c *chunk, i int) error {
	if e := c.errs[i]; e != nil {
		r.reject(b, c.rows[i], e, nil)
		return nil
	}
	rec := &c.recs[i]
	if r.rules.consent != nil {
		if e := r.rules.consent.Check(rec); e != nil {
			e.File, e.Line = r.job.MappingOptions.File, c.rows[i].Line
			r.reject(b, c.rows[i], e, nil)
			return nil
		}
	}
	if r.matcher == nil { // no sync fields: every row is new
		return r.create(b, rec, nil)
	}
	m := &c.matches[i]
	rl := &r.rules
	if r.deleted != nil && len(m.IDs) > 0 {
		// A lookup made before an earlier row's delete was written still
		// finds the record: it is gone.
		kept := m.IDs[:0:0]
		for _, id := range m.IDs {
			if !r.deleted.Has(intake.Key(id)) {
				kept = append(kept, id)
			}
		}
		m.IDs = kept
		if len(kept) == 0 {
			m.Rule = -1
		}
	}
	earlier, created := false, false
	createdOp := -1
	var createdRec *intake.Record
	if rl.needSeen && !m.NoKey {
		r.eachKey(m, func(tk intake.Key) bool {
			if r.seen.Add(tk) {
				earlier = true
			}
			return false
		})
	}
	if rl.trackCreated && !m.Conflict {
		// Did an earlier row of the run create this key's record? And
		// where is it, when the store does not show it yet?
		r.eachKey(m, func(tk intake.Key) bool {
			switch {
			case r.job.DryRun:
				if rec, ok := r.dryCreated[tk]; ok {
					created, createdRec = true, rec
				} else {
					created = r.drySeen != nil && r.drySeen.Has(tk)
				}
			default:
				// createdKeys covers the whole run (only when a created
				// record must not be matched like a stored one); pending
				// and the batch being written cover what the store does
				// not show yet.
				created = r.createdKeys != nil && r.createdKeys.Has(tk)
				if len(m.IDs) > 0 {
					break // committed: the lookup found it
				}
				if r.inflight != nil { // created by the batch being written?
					if id, ok := r.inflight.created[tk]; ok {
						m.IDs = append(m.IDs[:0:0], id)
						return true
					}
				}
				if j, ok := r.pending[tk]; ok {
					created, createdOp = true, j
				}
			}
			return created
		})
	}
	d := identity.DecideMatrix(rl.matrix, rl.dup, m, earlier || created, created)
	merger := rl.merger
	if earlier && rl.dup == identity.DuplicatesLast {
		merger = rl.last
	}
	switch d.Verdict {
	case identity.VerdictReject:
		e := r.keyError(c.rows[i], d.Code, m)
		r.reject(b, c.rows[i], e, m)
	case identity.VerdictSkip:
		b.t.counts[intake.OutcomeSkipped]++
		b.t.reason(d.Code)
		r.explain(func() *Explanation {
			return &Explanation{Line: rec.Line, Decision: "skip", Code: d.Code, Rule: r.ruleName(m), Key: displayKey(m), Records: m.IDs}
		})
	case identity.VerdictCreate:
		return r.create(b, rec, m)
	case identity.VerdictUpdate:
		if len(m.IDs) == 0 { // a record created earlier in this batch (or run, in a dry run)
			b.t.records++
			var target *intake.Record
			switch {
			case createdOp >= 0:
				target = b.ops[createdOp].Record
			case createdRec != nil:
				target = createdRec
			}
			o := intake.OutcomeUpdated // beyond Config.DryRunRecords: counted as a change
			var before *intake.Record
			if target != nil {
				if r.explaining() {
					before = target.Clone()
				}
				changed := merger.Apply(target, rec, rl.mapped, rl.consentSkip, r.job.DryRun)
				if rl.consent != nil {
					cc, kept := rl.consent.Apply(target, rec, true)
					changed = changed || cc
					b.t.consentKept += int64(kept)
				}
				o = intake.OutcomeUnchanged
				if changed {
					o = intake.OutcomeUpdated
				}
			}
			b.t.counts[o]++
			r.explain(func() *Explanation {
				x := &Explanation{Line: rec.Line, Decision: decisionName(o), Rule: r.ruleName(m), Key: displayKey(m), Note: "the record an earlier row of this file creates"}
				if before != nil {
					x.Changes = changes(r.schema, "", before, target)
				}
				return x
			})
			return nil
		}
		r.update(b, rec, m, merger)
	case identity.VerdictOptOut:
		r.addOps(b, rec, sink.OpOptOut, m.IDs)
		r.explainOps(b, rec, m, "opt_out")
	case identity.VerdictInactivate, identity.VerdictDelete, identity.VerdictAnonymize:
		kind := map[identity.Verdict]sink.OpKind{identity.VerdictInactivate: sink.OpInactivate, identity.VerdictDelete: sink.OpDelete, identity.VerdictAnonymize: sink.OpAnonymize}[d.Verdict]
		first := len(b.ops)
		r.addOps(b, rec, kind, m.IDs)
		for _, op := range b.ops[first:] {
			if kind == sink.OpDelete {
				if r.deleted == nil {
					r.deleted = identity.NewSeen()
				}
				r.deleted.Add(intake.Key(op.Record.ID))
			}
			a := rl.audit
			a.Time, a.Action, a.Line, a.Object, a.RecordID = time.Now(), kind.String(), rec.Line, r.schema.Object(), op.Record.ID
			op.Audit = &a
		}
		r.explainOps(b, rec, m, kind.String())
	}
	return nil
}

// update adds the ops of a row that updates the records of m.
func (r *run) update(b *batch, rec *intake.Record, m *identity.Match, merger *identity.Merger) {
	rl := &r.rules
	if !rl.useView {
		first := len(b.ops)
		r.addOps(b, rec, sink.OpUpdate, m.IDs)
		if cl := merger.Clears(nil, rec, rl.mapped); len(cl) > 0 {
			for _, op := range b.ops[first:] {
				op.Clear = cl
			}
		}
		return
	}
	// Merge each stored record with the row; the op carries what changed.
	first := len(b.ops)
	var x *Explanation
	if r.explaining() {
		x = &Explanation{Line: rec.Line, Rule: r.ruleName(m), Key: displayKey(m), Records: m.IDs}
	}
	anyChange := false
	for _, id := range m.IDs {
		cur := r.viewed(id)
		if cur == nil { // gone since the lookup (or no sink.Getter): the sink decides
			op := newOp(b, sink.OpUpdate, rec)
			if len(m.IDs) > 1 {
				cp := *rec
				op.Record = &cp
			}
			op.Record.ID = id
			op.Clear = merger.Clears(nil, rec, rl.mapped)
			b.ops = append(b.ops, op)
			anyChange = true
			continue
		}
		next := cur.Clone()
		changed := merger.Apply(next, rec, rl.mapped, rl.consentSkip, r.job.DryRun)
		if rl.consent != nil {
			cc, kept := rl.consent.Apply(next, rec, true)
			changed = changed || cc
			b.t.consentKept += int64(kept)
		}
		opRec := &intake.Record{Schema: r.schema, ID: id, Line: rec.Line, Values: make([]intake.Value, len(next.Values))}
		op := newOp(b, sink.OpUpdate, opRec)
		for j, v := range next.Values {
			if v == cur.Values[j] {
				continue
			}
			if v.IsNull() {
				op.Clear = append(op.Clear, j)
			} else {
				opRec.Values[j] = v
			}
		}
		if x != nil {
			x.Changes = append(x.Changes, changes(r.schema, id, cur, next)...)
		}
		if changed {
			anyChange = true
			copy(cur.Values, next.Values)
		} else if r.job.DryRun {
			op.Outcome = intake.OutcomeUnchanged
		}
		if r.job.DryRun && changed {
			op.Outcome = intake.OutcomeUpdated
		}
		b.ops = append(b.ops, op)
	}
	b.withOps = append(b.withOps, rowOps{first: first, last: len(b.ops)})
	if x != nil {
		x.Decision = "unchanged"
		if anyChange {
			x.Decision = "update"
		}
		r.rep.Explain = append(r.rep.Explain, x)
	}
}

func (r *run) create(b *batch, rec *intake.Record, m *identity.Match) error {
	if !r.job.DryRun {
		id, err := r.im.cfg.IDs.NewID()
		if err != nil {
			return fmt.Errorf("intake: allocate a record id: %w", err)
		}
		rec.ID = id
	}
	if r.rules.consent != nil {
		_, kept := r.rules.consent.Apply(rec, rec, false)
		b.t.consentKept += int64(kept)
	}
	if m != nil && r.rules.trackCreated {
		r.eachKey(m, func(tk intake.Key) bool {
			switch {
			case r.job.DryRun:
				if len(r.dryCreated) < r.im.cfg.DryRunRecords {
					if r.dryCreated == nil {
						r.dryCreated = make(map[intake.Key]*intake.Record)
					}
					r.dryCreated[tk] = ownRecord(rec)
				} else {
					if r.drySeen == nil {
						r.drySeen = identity.NewSeen()
					}
					r.drySeen.Add(tk)
				}
			default:
				if r.pending == nil {
					r.pending = make(map[intake.Key]int)
				}
				r.pending[tk] = len(b.ops)
				if r.createdKeys != nil {
					r.createdKeys.Add(tk)
				}
				if r.overlap {
					if b.created == nil {
						b.created = make(map[intake.Key]string)
					}
					b.created[tk] = rec.ID
				}
			}
			return false
		})
	}
	r.explain(func() *Explanation {
		x := &Explanation{Line: rec.Line, Decision: "create", Record: rec.ID}
		if m != nil {
			x.Rule, x.Key = r.ruleName(m), displayKey(m)
		}
		x.Changes = changes(r.schema, rec.ID, intake.NewRecord(r.schema), rec)
		return x
	})
	r.addOps(b, rec, sink.OpCreate, nil)
	return nil
}

// addOps adds one op for a create, or one per matched id.
func (r *run) addOps(b *batch, rec *intake.Record, kind sink.OpKind, ids []string) {
	first := len(b.ops)
	if kind == sink.OpCreate {
		b.ops = append(b.ops, newOp(b, kind, rec))
	} else {
		for j, id := range ids {
			target := rec
			if j > 0 {
				b.recSlab = append(b.recSlab, *rec)
				target = &b.recSlab[len(b.recSlab)-1]
			}
			target.ID = id
			b.ops = append(b.ops, newOp(b, kind, target))
		}
	}
	b.withOps = append(b.withOps, rowOps{first: first, last: len(b.ops)})
}

func newOp(b *batch, kind sink.OpKind, rec *intake.Record) *sink.Op {
	if len(b.opSlab) == cap(b.opSlab) {
		// A new slab: earlier ops keep pointing into the old one.
		b.opSlab = make([]sink.Op, 0, max(64, 2*cap(b.opSlab)))
	}
	b.opSlab = append(b.opSlab, sink.Op{Kind: kind, Record: rec})
	return &b.opSlab[len(b.opSlab)-1]
}

// simulate works out what the ops of a dry run would do. Ops decided
// against stored records (Job.Merge rules that read them, consent,
// explanations) already carry their outcome. Otherwise, the stored records
// that updates match are read once, on their first update, and kept with
// the updates applied, so that a later update of the same record (in this
// batch or a later one) is told updated or unchanged as a real run would.
func (r *run) simulate(ctx context.Context, b *batch) error {
	var fresh map[string]*intake.Record
	if r.getter != nil && !r.rules.useView {
		r.ids = r.ids[:0]
		for _, op := range b.ops {
			if _, ok := r.dryStored[op.Record.ID]; op.Kind == sink.OpUpdate && !ok {
				r.ids = append(r.ids, op.Record.ID)
			}
		}
		slices.Sort(r.ids)
		r.ids = slices.Compact(r.ids)
		if len(r.ids) > 0 {
			stored, err := r.getter.Get(ctx, r.schema, r.ids)
			if err != nil {
				return fmt.Errorf("intake: dry run: read matched records: %w", err)
			}
			for id, rec := range stored {
				if len(r.dryStored) >= r.im.cfg.DryRunRecords {
					if fresh == nil {
						fresh = make(map[string]*intake.Record)
					}
					fresh[id] = rec // beyond the limit: compared as stored, without earlier rows applied
					continue
				}
				if r.dryStored == nil {
					r.dryStored = make(map[string]*intake.Record, len(stored))
				}
				r.dryStored[id] = ownRecord(rec)
			}
		}
	}
	for _, op := range b.ops {
		if op.Outcome != intake.OutcomeNone {
			continue
		}
		switch op.Kind {
		case sink.OpCreate:
			op.Outcome = intake.OutcomeCreated
		case sink.OpOptOut:
			op.Outcome = intake.OutcomeOptedOut
		case sink.OpInactivate:
			op.Outcome = intake.OutcomeInactivated
			if s := r.viewed(op.Record.ID); s != nil && s.Inactive {
				op.Outcome = intake.OutcomeUnchanged
			}
		case sink.OpDelete:
			op.Outcome = intake.OutcomeDeleted
		case sink.OpAnonymize:
			op.Outcome = intake.OutcomeAnonymized
		case sink.OpUpdate:
			op.Outcome = intake.OutcomeUpdated
			if s, ok := r.dryStored[op.Record.ID]; ok {
				op.Outcome = applyOp(s, op, true)
			} else if s, ok := fresh[op.Record.ID]; ok {
				op.Outcome = applyOp(s.Clone(), op, false)
			}
		}
	}
	return nil
}

// rowOutcome is the outcome of a row from its ops: that of its first op,
// unless it is unchanged and another op's is not (updated when any matched
// record changed).
func rowOutcome(ops []*sink.Op) intake.Outcome {
	o := ops[0].Outcome
	for _, op := range ops[1:] {
		if o == intake.OutcomeUnchanged && op.Outcome != intake.OutcomeUnchanged {
			o = op.Outcome
		}
	}
	return o
}

// applyOp applies an update op to dst as a sink would (non-null values,
// then the fields of Clear set to null) and reports whether that changed
// dst. With own, dst gets copies of the op's strings.
func applyOp(dst *intake.Record, op *sink.Op, own bool) intake.Outcome {
	changed := false
	for j, v := range op.Record.Values {
		if !v.IsNull() && dst.Values[j] != v {
			if own {
				v = v.Clone()
			}
			dst.Values[j] = v
			changed = true
		}
	}
	for _, j := range op.Clear {
		if !dst.Values[j].IsNull() {
			dst.Values[j] = intake.Null
			changed = true
		}
	}
	if changed {
		return intake.OutcomeUpdated
	}
	return intake.OutcomeUnchanged
}

// ownRecord returns a copy of rec that shares no memory with it, its
// strings included.
func ownRecord(rec *intake.Record) *intake.Record {
	c := rec.Clone()
	c.ID = strings.Clone(c.ID)
	for j, v := range c.Values {
		c.Values[j] = v.Clone()
	}
	return c
}

func (r *run) reject(b *batch, row intake.Row, e *intake.RowError, m *identity.Match) {
	if e.File == "" {
		e.File = r.job.MappingOptions.File
	}
	b.t.counts[intake.OutcomeRejected]++
	b.t.reason(e.Code)
	b.t.errs = append(b.t.errs, e)
	b.t.rows = append(b.t.rows, row)
	r.explain(func() *Explanation {
		x := &Explanation{Line: row.Line, Decision: "reject", Code: e.Code, Message: e.Message}
		if m != nil {
			x.Rule, x.Key, x.Records = r.ruleName(m), displayKey(m), m.IDs
		}
		return x
	})
}

func (r *run) keyError(row intake.Row, code string, m *identity.Match) *intake.RowError {
	specs := r.job.rulesSpecs()
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name()
	}
	fields := strings.Join(names, ", else ")
	var msg string
	switch code {
	case intake.CodeDuplicate:
		msg = "the same " + fields + " appeared on an earlier line of this file"
	case identity.CodeConflict:
		msg = fmt.Sprintf("identity rule %s finds record %s but rule %s finds %s: the row is not applied to either (fix the row or merge the records)",
			specs[m.Rule].Name(), strings.Join(m.IDs, ", "), specs[m.ConflictRule].Name(), strings.Join(m.ConflictIDs, ", "))
	case intake.CodeNoMatch:
		msg = "no stored record matches the row's " + fields + ", and the job rejects rows without a match"
	default:
		msg = "the sync fields (" + fields + ") are all empty: the row cannot be matched to a record"
	}
	return &intake.RowError{File: r.job.MappingOptions.File, Line: row.Line, Field: specs[0].Name(), Code: code, Message: msg}
}

// ruleName names the rule that matched m (or that gave it its key).
func (r *run) ruleName(m *identity.Match) string {
	specs := r.job.rulesSpecs()
	if m.Rule >= 0 && m.Rule < len(specs) {
		return specs[m.Rule].Name()
	}
	for i, s := range specs {
		if m.RuleKey(i) != "" {
			return s.Name()
		}
	}
	return ""
}

// displayKey returns m's key with the parts of a composite key joined by "+".
func displayKey(m *identity.Match) string {
	k := m.Key
	if m.Rule >= 0 {
		k = m.RuleKey(m.Rule)
	}
	return strings.ReplaceAll(string(k), intake.KeySep, "+")
}

// explaining reports whether the next decided row is explained.
func (r *run) explaining() bool { return len(r.rep.Explain) < r.job.Explain }

// explain adds the explanation fn builds, when the row is among the first
// Job.Explain rows.
func (r *run) explain(fn func() *Explanation) {
	if r.explaining() {
		r.rep.Explain = append(r.rep.Explain, fn())
	}
}

// explainOps explains an opt-out or lifecycle row.
func (r *run) explainOps(b *batch, rec *intake.Record, m *identity.Match, decision string) {
	r.explain(func() *Explanation {
		return &Explanation{Line: rec.Line, Decision: decision, Rule: r.ruleName(m), Key: displayKey(m), Records: m.IDs}
	})
}

// changes lists the fields whose values differ between before and after.
func changes(s *intake.Schema, id string, before, after *intake.Record) []Change {
	var out []Change
	for j, v := range after.Values {
		if v != before.Values[j] {
			out = append(out, Change{Record: id, Field: s.Field(j).Name, Old: before.Values[j].String(), New: v.String()})
		}
	}
	return out
}

func decisionName(o intake.Outcome) string {
	if o == intake.OutcomeUnchanged {
		return "unchanged"
	}
	return "update"
}
