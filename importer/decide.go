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
	// unlink: deletes and anonymizations remove the links to their
	// records (Job.Unlink remove). A dry run that anonymizes works out,
	// when it sets dryUnlinked, linkProbe: the link fields the store has
	// that the run's schema lacks or holds without a Ref (nil for none);
	// linkField[j] says that field j of the run's schema is a link by its
	// Ref or the store's (nil: by its own), and dryUnlinked holds the
	// records the run anonymized, whose links are gone.
	unlink      bool
	linkProbe   *intake.Schema
	linkField   []bool
	dryUnlinked *identity.Seen
	// byID[i]: rule i matches on the record id; personal[i]: one of its
	// fields is personal (anonymizing a record takes it out of the rule).
	byID, personal []bool
	// anonymized holds the ids of the records the run anonymized (by
	// hash), so that a later row whose lookup predates the anonymization
	// does not find them by a personal key.
	anonymized *identity.Seen
}

// target is what one identity rule of a row points at: stored records, or
// a record an earlier row of the run created that the store does not show
// yet (an op of this batch, or a dry run's record).
type target struct {
	ids  []string
	op   int            // index in b.ops of a create of this batch; -1
	rec  *intake.Record // a dry run's created record
	some bool           // created earlier in a dry run, beyond what it remembers
}

func (t *target) none() bool { return len(t.ids) == 0 && t.op < 0 && t.rec == nil && !t.some }

func (t *target) same(u *target) bool {
	switch {
	case t.op >= 0 || u.op >= 0:
		return t.op == u.op
	case t.rec != nil || u.rec != nil:
		return t.rec == u.rec
	case t.some || u.some:
		return true // cannot tell: not a conflict
	}
	if len(t.ids) != len(u.ids) {
		return false
	}
	for _, x := range t.ids {
		if !slices.Contains(u.ids, x) {
			return false
		}
	}
	return true
}

type member struct {
	field int
	value intake.Value
}

// tkey is the tracking key of rule i's key k: k itself with one rule, else
// prefixed by the rule's index.
func (r *run) tkey(i int, k intake.Key) intake.Key {
	if len(r.keys) <= 1 {
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
			m := &c.matches[i]
			n := 1
			if m.Hits != nil {
				n = len(m.Hits)
			}
			for k := 0; k < n; k++ {
				for _, id := range m.RuleHits(k) {
					if _, ok := r.dryStored[id]; !ok {
						r.ids = append(r.ids, id)
					}
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
		return fmt.Errorf("importer: read the matched records of lines %d-%d: %w", b.firstLine(), b.lastLine(), err)
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

// decide applies the record action to row i of chunk c, in three phases:
// admit rejects or skips the row before any match (its mapping error, a
// link's Missing policy, consent), match works out what its keys point at
// and what the action does with it, and the verdict writes the row's ops.
// The row's links create or update their targets only once the action
// creates or updates the row's record (useLinks, which does nothing
// without links).
func (r *run) decide(b *batch, c *chunk, i int) error {
	row, ok := r.admit(b, c, i)
	if !ok {
		return nil
	}
	rec := &c.recs[i]
	if r.unmatched(c, i) {
		if err := r.useLinks(b, c, i, row); err != nil {
			return err
		}
		return r.create(b, rec, nil)
	}
	m := &c.matches[i]
	v := r.match(m)
	switch v.Verdict {
	case identity.VerdictReject:
		r.reject(b, c.rows[i], r.keyError(c.rows[i], v.Code, m), m)
	case identity.VerdictSkip:
		b.t.counts[intake.OutcomeSkipped]++
		b.t.reason(v.Code)
		r.explain(func() *Explanation {
			return &Explanation{Line: rec.Line, Decision: "skip", Code: v.Code, Rule: r.ruleName(m), Key: displayKey(m), Records: m.IDs}
		})
	case identity.VerdictCreate:
		if err := r.useLinks(b, c, i, row); err != nil {
			return err
		}
		return r.create(b, rec, m)
	case identity.VerdictUpdate:
		if err := r.useLinks(b, c, i, row); err != nil {
			return err
		}
		if len(m.IDs) == 0 {
			r.updateCreated(b, rec, m, &v)
			return nil
		}
		r.update(b, rec, m, v.merger)
	case identity.VerdictOptOut:
		r.addOps(b, rec, sink.OpOptOut, m.IDs)
		r.explainOps(b, rec, m, "opt_out")
	case identity.VerdictInactivate, identity.VerdictDelete, identity.VerdictAnonymize:
		r.retire(b, rec, m, v.Verdict)
	}
	return nil
}

// admit checks row i of chunk c before it is matched: its mapping error,
// or a link's Missing policy, or the consent rules reject it, or the
// policy skips it. It returns the row's index in the batch for its links
// (-1 without links) and whether the row goes on to be matched.
func (r *run) admit(b *batch, c *chunk, i int) (row int, ok bool) {
	if e := c.errs[i]; e != nil {
		r.reject(b, c.rows[i], e, nil)
		return -1, false
	}
	row = -1
	if len(r.links.links) > 0 {
		var done bool
		if row, done = r.checkLinks(b, c, i); done {
			return row, false
		}
	}
	if r.rules.consent != nil {
		if e := r.rules.consent.Check(&c.recs[i]); e != nil {
			e.File, e.Line = r.job.MappingOptions.File, c.rows[i].Line
			r.reject(b, c.rows[i], e, nil)
			return row, false
		}
	}
	return row, true
}

// unmatched reports whether row i of chunk c is new without a match: the
// job has no sync fields, or the row is an event without its optional
// event id, which only makes re-imports of the events that have one
// idempotent.
func (r *run) unmatched(c *chunk, i int) bool {
	if r.matcher == nil {
		return true
	}
	return c.matches[i].NoKey && r.job.Profile != nil && r.rules.matrix.OnNoMatch == identity.NoMatchCreate
}

// verdict is what the record action does with a matched row: the matrix's
// decision, the merge rules of an update and, when an earlier row of the
// run created the record and the store does not show it yet, where that
// record is (resolve).
type verdict struct {
	identity.Decision
	merger *identity.Merger
	op     int            // index in b.ops of a create of this batch; -1
	rec    *intake.Record // a dry run's created record
}

// match decides what the record action does with the row whose match is
// m: whether an earlier row of the run had one of its keys, what its keys
// point at (resolve, less the records the view lacks), and the matrix's
// verdict with the merge rules of an update (DuplicatesLast: every mapped
// field of a later row wins).
func (r *run) match(m *identity.Match) verdict {
	rl := &r.rules
	earlier := false
	if rl.needSeen && !m.NoKey {
		earlier = r.seenBefore(m)
	}
	created, op, rec := r.resolve(m)
	if rl.useView && len(m.IDs) > 0 && !m.Conflict {
		r.dropVanished(m)
	}
	v := verdict{Decision: identity.DecideMatrix(rl.matrix, rl.dup, m, earlier || created, created), merger: rl.merger, op: op, rec: rec}
	if earlier && rl.dup == identity.DuplicatesLast {
		v.merger = rl.last
	}
	return v
}

// seenBefore adds every key of m to the run's keys and reports whether an
// earlier row of the run had one of them.
func (r *run) seenBefore(m *identity.Match) bool {
	earlier := false
	r.eachKey(m, func(tk intake.Key) bool {
		if r.seen.Add(tk) {
			earlier = true
		}
		return false
	})
	return earlier
}

// dropVanished drops from m.IDs the records that the view lacks: deleted
// since the lookup, they are no match (writing to one would fail, or
// bypass the merge rules).
func (r *run) dropVanished(m *identity.Match) {
	kept := m.IDs[:0:0]
	for _, id := range m.IDs {
		if r.viewed(id) != nil {
			kept = append(kept, id)
		}
	}
	if len(kept) < len(m.IDs) {
		m.IDs = kept
		if len(kept) == 0 {
			m.Rule = -1
		}
	}
}

// updateCreated updates the record that an earlier row of this batch (or
// run, in a dry run) created, which the store does not show yet: v.op's
// record, or v.rec. A dry run's record beyond Config.DryRunRecords is not
// kept, and its update counts as a change.
func (r *run) updateCreated(b *batch, rec *intake.Record, m *identity.Match, v *verdict) {
	rl := &r.rules
	b.t.records++
	var target *intake.Record
	switch {
	case v.op >= 0:
		target = b.ops[v.op].Record
	case v.rec != nil:
		target = v.rec
	}
	o := intake.OutcomeUpdated
	var before *intake.Record
	if target != nil {
		if r.explaining() {
			before = target.Clone()
		}
		var keys identity.Match
		r.matcher.Key(target, &keys)
		changed := v.merger.Apply(target, rec, rl.mapped, rl.consentSkip, r.job.DryRun)
		if changed {
			r.rekey(b, &keys, target, v.op)
		}
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
	if v.op >= 0 {
		b.merged = append(b.merged, mergedRow{op: v.op, line: rec.Line, outcome: o})
	}
	r.explain(func() *Explanation {
		x := &Explanation{Line: rec.Line, Decision: decisionName(o), Rule: r.ruleName(m), Key: displayKey(m), Note: "the record an earlier row of this file creates"}
		if before != nil {
			x.Changes = changes(r.schema, "", before, target)
		}
		return x
	})
}

// retire adds the ops of a row that inactivates, deletes or anonymizes
// the records of m, each with its audit entry. It remembers the records
// deleted and anonymized, which the run's later lookups, made before
// those ops, may still find (alive).
func (r *run) retire(b *batch, rec *intake.Record, m *identity.Match, v identity.Verdict) {
	rl := &r.rules
	kind := sink.OpInactivate
	switch v {
	case identity.VerdictDelete:
		kind = sink.OpDelete
	case identity.VerdictAnonymize:
		kind = sink.OpAnonymize
	}
	first := len(b.ops)
	r.addOps(b, rec, kind, m.IDs)
	for _, op := range b.ops[first:] {
		switch kind {
		case sink.OpDelete:
			if r.deleted == nil {
				r.deleted = identity.NewSeen()
			}
			r.deleted.Add(intake.Key(op.Record.ID))
		case sink.OpAnonymize:
			if rl.anonymized == nil {
				rl.anonymized = identity.NewSeen()
			}
			rl.anonymized.Add(intake.Key(op.Record.ID))
		}
		a := rl.audit
		a.Time, a.Action, a.Line, a.Object, a.RecordID = time.Now(), kind.String(), rec.Line, r.schema.Object(), op.Record.ID
		op.Audit = &a
		op.Unlink = rl.unlink && kind != sink.OpInactivate
	}
	r.explainOps(b, rec, m, kind.String())
}

// ruleInfo fills rules.byID and rules.personal.
func (r *run) ruleInfo() {
	rl := &r.rules
	if rl.byID != nil {
		return
	}
	specs := r.matcher.Rules()
	rl.byID, rl.personal = make([]bool, len(specs)), make([]bool, len(specs))
	for i, spec := range specs {
		rl.byID[i] = spec.RecordID
		for _, f := range spec.Fields {
			if j := r.schema.Index(f); j >= 0 && r.schema.Field(j).Personal {
				rl.personal[i] = true
			}
		}
	}
}

// alive drops from ids, found by rule i, the records that this run deleted,
// or anonymized when rule i has a personal field: the lookup predates
// those ops, and the store no longer finds them by that key.
func (r *run) alive(ids []string, i int) []string {
	if len(ids) == 0 || (r.deleted == nil && r.rules.anonymized == nil) {
		return ids
	}
	var kept []string
	for j, id := range ids {
		gone := r.deleted != nil && r.deleted.Has(intake.Key(id)) ||
			r.rules.anonymized != nil && r.rules.personal[i] && r.rules.anonymized.Has(intake.Key(id))
		if gone && kept == nil {
			kept = append(make([]string, 0, len(ids)), ids[:j]...)
		} else if !gone && kept != nil {
			kept = append(kept, id)
		}
	}
	if kept == nil {
		return ids
	}
	return kept
}

// resolve decides, rule by rule in order, what the row's keys point at:
// the stored records each rule found (less those the run deleted or
// anonymized), or a record an earlier row of the run created. The first
// rule that points somewhere wins; a later rule that points elsewhere
// makes the row a conflict. It sets m.IDs, m.Rule and the conflict fields,
// and returns whether an earlier row of the run created the record and,
// when the store does not show it yet, where it is.
func (r *run) resolve(m *identity.Match) (created bool, createdOp int, createdRec *intake.Record) {
	rl := &r.rules
	r.ruleInfo()
	createdOp = -1
	win := target{op: -1}
	winRule := -1
	m.Conflict, m.ConflictRule, m.ConflictIDs = false, 0, nil
	for i := range rl.byID {
		k := m.RuleKey(i)
		if k == "" {
			continue
		}
		t := target{ids: r.alive(m.RuleHits(i), i), op: -1}
		isCreated := false
		if rl.trackCreated {
			tk := r.tkey(i, k)
			switch {
			case r.job.DryRun:
				if rec, ok := r.dryCreated[tk]; ok {
					isCreated = true
					if len(t.ids) == 0 {
						t.rec = rec
					}
				} else if r.drySeen != nil && r.drySeen.Has(tk) {
					isCreated, t.some = true, len(t.ids) == 0
				}
			default:
				// createdKeys covers the whole run (kept only when a
				// created record must not be matched like a stored one);
				// the creates of the batch being written and of this one
				// (their batches' pending) cover what the store
				// does not show yet.
				isCreated = r.createdKeys != nil && r.createdKeys.Has(tk)
				if len(t.ids) == 0 && r.inflight != nil {
					if j, ok := r.inflight.pending[tk]; ok {
						t.ids = []string{r.inflight.ops[j].Record.ID}
					}
				}
				if len(t.ids) == 0 {
					if j, ok := r.cur.pending[tk]; ok {
						t.op, isCreated = j, true
					}
				}
			}
		}
		if t.none() {
			continue
		}
		if winRule < 0 {
			win, winRule, created = t, i, isCreated
			continue
		}
		if !t.same(&win) {
			m.Conflict, m.ConflictRule, m.ConflictIDs = true, i, t.ids
			break
		}
	}
	m.Rule, m.IDs = winRule, win.ids
	if m.Conflict {
		return false, -1, nil
	}
	return created, win.op, win.rec
}

// rekey re-registers a record created earlier in the run under its new
// keys after a later row changed one of its sync fields (before holds its
// keys from before the change).
func (r *run) rekey(b *batch, before *identity.Match, rec *intake.Record, op int) {
	var after identity.Match
	r.matcher.Key(rec, &after)
	for i := range r.rules.byID {
		ok, nk := before.RuleKey(i), after.RuleKey(i)
		if ok == nk {
			continue
		}
		otk, ntk := r.tkey(i, ok), r.tkey(i, nk)
		switch {
		case r.job.DryRun:
			if ok != "" && r.dryCreated[otk] == rec {
				delete(r.dryCreated, otk)
			}
			if nk != "" {
				if r.dryCreated == nil {
					r.dryCreated = make(map[intake.Key]*intake.Record)
				}
				r.dryCreated[ntk] = rec
			}
		default:
			if j, found := b.pending[otk]; ok != "" && found && j == op {
				delete(b.pending, otk)
			}
			if nk != "" {
				if b.pending == nil {
					b.pending = make(map[intake.Key]int)
				}
				b.pending[ntk] = op
				if r.createdKeys != nil {
					r.createdKeys.Add(ntk)
				}
			}
		}
	}
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
		if cur == nil {
			// Unreachable: decide dropped the ids the view lacks. Writing the
			// row's raw values would bypass the merge and consent rules.
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
		op.OptIn = cur.OptedOut && !next.OptedOut // consent lifted the opt-out
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
		o := intake.OutcomeUnchanged
		if changed {
			anyChange, o = true, intake.OutcomeUpdated
			copy(cur.Values, next.Values)
			cur.OptedOut = next.OptedOut
		}
		if r.job.DryRun { // a real run's sink sets it
			op.Outcome = o
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
		// A row that names its record id (a record-id rule) creates the
		// record with that id, so that later rows and runs find it by it.
		for i, byID := range r.rules.byID {
			if m == nil {
				break
			}
			if k := m.RuleKey(i); byID && k != "" {
				rec.ID = string(k)
				break
			}
		}
		if rec.ID == "" {
			id, err := r.newID()
			if err != nil {
				return fmt.Errorf("importer: allocate a record id: %w", err)
			}
			rec.ID = id
		}
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
				if b.pending == nil {
					b.pending = make(map[intake.Key]int)
				}
				b.pending[tk] = len(b.ops)
				if r.createdKeys != nil {
					r.createdKeys.Add(tk)
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
	if m != nil {
		// The sink keeps another writer from creating the key meanwhile.
		b.ops[len(b.ops)-1].Unique = r.unique
	}
	return nil
}

// idBlock is how many ids a run draws at once from an
// identity.BlockAllocator.
const idBlock = 64

// newID allocates the id of a record the run creates: the next of the
// block drawn from an identity.BlockAllocator (a batch drops what its
// creates leave, so that no id is older than the batch that uses it),
// else one from Config.IDs.
func (r *run) newID() (string, error) {
	ba, ok := r.im.cfg.IDs.(identity.BlockAllocator)
	if !ok {
		return r.im.cfg.IDs.NewID()
	}
	if r.nextID == len(r.newIDs) {
		var err error
		r.nextID = 0
		if r.newIDs, err = ba.AppendIDs(r.newIDs[:0], idBlock); err != nil {
			return "", err
		}
	}
	r.nextID++
	return r.newIDs[r.nextID-1], nil
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
	linked, err := r.storedLinks(ctx, b)
	if err != nil {
		return err
	}
	if r.getter != nil && !r.rules.useView {
		r.ids = r.ids[:0]
		for _, op := range b.ops {
			reads := op.Kind == sink.OpUpdate || op.Kind == sink.OpInactivate || op.Kind == sink.OpAnonymize
			if _, ok := r.dryStored[op.Record.ID]; reads && !ok {
				r.ids = append(r.ids, op.Record.ID)
			}
		}
		slices.Sort(r.ids)
		r.ids = slices.Compact(r.ids)
		if len(r.ids) > 0 {
			stored, err := r.getter.Get(ctx, r.schema, r.ids)
			if err != nil {
				return fmt.Errorf("importer: dry run: read matched records: %w", err)
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
			// As the sink would: unchanged when already inactive.
			op.Outcome = intake.OutcomeInactivated
			s := r.viewed(op.Record.ID)
			if s == nil {
				s = fresh[op.Record.ID]
			}
			if s != nil {
				if s.Inactive {
					op.Outcome = intake.OutcomeUnchanged
				}
				s.Inactive = true
			}
		case sink.OpDelete:
			op.Outcome = intake.OutcomeDeleted
			delete(r.dryStored, op.Record.ID)
		case sink.OpAnonymize:
			// Unchanged when no personal field (nor, removing links, a
			// link field) holds a value.
			op.Outcome = intake.OutcomeAnonymized
			s := r.viewed(op.Record.ID)
			if s == nil {
				s = fresh[op.Record.ID]
			}
			if s != nil {
				op.Outcome = intake.OutcomeUnchanged
				for j, v := range s.Values {
					if !v.IsNull() && j < r.schema.Len() && (sink.AnonymizeErases(r.schema, j) || op.Unlink && r.unlinks(j)) {
						s.Values[j] = intake.Null
						op.Outcome = intake.OutcomeAnonymized
					}
				}
				if op.Unlink && linked[op.Record.ID] {
					op.Outcome = intake.OutcomeAnonymized
				}
			}
			if op.Unlink { // its links are gone for the ops after this one
				delete(linked, op.Record.ID)
				if r.rules.dryUnlinked != nil {
					r.rules.dryUnlinked.Add(intake.Key(op.Record.ID))
				}
			}
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

// storedLinks tells, for a dry run that anonymizes and removes links,
// which records of the batch's anonymizations hold links in fields that
// the store has with a Ref and the run's schema lacks, or holds without
// one (a sink clears every field with a Ref in the schema it stores,
// which makes an anonymization without personal values count as
// anonymized): one Get per batch of those fields, through the schema the
// store reports (sink.SchemaReader). A record anonymized earlier in the
// run holds none. It also marks the run's fields that the store holds as
// links (rules.linkField), which simulate clears.
func (r *run) storedLinks(ctx context.Context, b *batch) (map[string]bool, error) {
	rl := &r.rules
	if !rl.unlink || r.getter == nil || rl.matrix.OnMatch != identity.MatchAnonymize {
		return nil, nil
	}
	if rl.dryUnlinked == nil {
		rl.dryUnlinked = identity.NewSeen()
		sr, ok := r.im.cfg.Sink.(sink.SchemaReader)
		if !ok {
			return nil, nil
		}
		stored, err := sr.Schema(ctx, r.schema.Object())
		if err != nil {
			return nil, fmt.Errorf("importer: dry run: read the stored schema: %w", err)
		}
		var links []intake.Field
		for i := 0; stored != nil && i < stored.Len(); i++ {
			f := stored.Field(i)
			if f.Ref == "" {
				continue
			}
			j := r.schema.Index(f.Name)
			if j >= 0 && r.schema.Field(j).Ref != "" {
				continue
			}
			links = append(links, f)
			if j >= 0 {
				if rl.linkField == nil {
					rl.linkField = make([]bool, r.schema.Len())
					for k := range rl.linkField {
						rl.linkField[k] = r.schema.Field(k).Ref != ""
					}
				}
				rl.linkField[j] = true
			}
		}
		if len(links) > 0 {
			if rl.linkProbe, err = intake.NewSchema(r.schema.Object(), links...); err != nil {
				return nil, err
			}
		}
	}
	if rl.linkProbe == nil {
		return nil, nil
	}
	var ids []string
	for _, op := range b.ops {
		if op.Kind == sink.OpAnonymize && op.Unlink && !rl.dryUnlinked.Has(intake.Key(op.Record.ID)) {
			ids = append(ids, op.Record.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	got, err := r.getter.Get(ctx, rl.linkProbe, ids)
	if err != nil {
		return nil, fmt.Errorf("importer: dry run: read the links of matched records: %w", err)
	}
	linked := map[string]bool{}
	for id, rec := range got {
		linked[id] = slices.ContainsFunc(rec.Values, func(v intake.Value) bool { return !v.IsNull() })
	}
	return linked, nil
}

// unlinks reports whether an anonymization that removes links clears
// field j of the run's schema: a link by its own Ref or, in a dry run, by
// the store's.
func (r *run) unlinks(j int) bool {
	if r.rules.linkField != nil {
		return r.rules.linkField[j]
	}
	return r.schema.Field(j).Ref != ""
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

func (r *run) keyError(row intake.Row, code intake.Code, m *identity.Match) *intake.RowError {
	specs := r.keys
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name()
	}
	fields := strings.Join(names, ", else ")
	var msg string
	switch code {
	case intake.CodeDuplicate:
		msg = "the same " + fields + " appeared on an earlier line of this file"
	case intake.CodeConflict:
		first, second := "an earlier rule", "a later rule"
		if m.Rule >= 0 && m.Rule < len(specs) {
			first = "identity rule " + specs[m.Rule].Name()
		}
		if m.ConflictRule >= 0 && m.ConflictRule < len(specs) {
			second = "rule " + specs[m.ConflictRule].Name()
		}
		what := func(ids []string) string {
			if len(ids) == 0 {
				return "the record an earlier row of this file creates"
			}
			return "record " + strings.Join(ids, ", ")
		}
		msg = fmt.Sprintf("%s finds %s but %s finds %s: the row is not applied to either (fix the row or merge the records)",
			first, what(m.IDs), second, what(m.ConflictIDs))
	case intake.CodeNoMatch:
		msg = "no stored record matches the row's " + fields + ", and the job rejects rows without a match"
	default:
		msg = "the sync fields (" + fields + ") are all empty: the row cannot be matched to a record"
	}
	return &intake.RowError{File: r.job.MappingOptions.File, Line: row.Line, Field: r.keyName(), Code: code, Message: msg}
}

// keyName names the run's first identity rule, the field of a row error
// about its key.
func (r *run) keyName() string {
	if len(r.keys) == 0 {
		return ""
	}
	return r.keys[0].Name()
}

// ruleName names the rule that matched m (or that gave it its key).
func (r *run) ruleName(m *identity.Match) string {
	specs := r.keys
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
