package importer

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/sink"
)

// alias is what became of a create the sink held: the id of the record
// another writer created with its key, and whether the run's action
// updates that record (add_and_update) or leaves it alone.
type alias struct {
	id     string
	update bool
}

// heldRow is a row whose create the sink held: its create op (at index op
// of the batch's ops), the ids of the records that hold its key, what the
// action does to them, and its ops in the follow-up batch.
type heldRow struct {
	op          int
	rec         *intake.Record
	ids         []string
	d           identity.Decision
	first, last int
}

// resolveHeld applies the job's record action to the rows of the written
// batch b whose create the sink held (sink.Op.Unique): another writer
// created a record with the row's key after the run looked the key up. The
// row is decided again against that record, as if the lookup had found it:
// add_and_update updates it (with the job's merge rules, consent and the
// values of the file's later rows of the key, which the create had taken
// in), add_only skips the row as "exists", create rejects it as
// "duplicate" (the key is in another import of the same new list), a
// matrix applies its on-match action (a lifecycle action leaves the record
// alone: the row is skipped as exists). The later rows of the batch that
// had updated the held create get the row's decision when it does not
// update. The updates and opt-outs go to the sink in one more write, after
// b's and before the next batch's, which with checkpoints also moves the
// checkpoint past the held rows. The next batch's ops that name a held
// create's id are rewritten to the record's (see run.alias).
//
// The held rows are counted here and taken out of b.withOps; when the
// follow-up write fails they are not counted at all, nor are their
// warnings (the batch's other rows are, by commit) and the run fails.
func (r *run) resolveHeld(ctx context.Context, b *batch) (err error) {
	var held []heldRow
	for _, w := range b.withOps {
		if op := b.ops[w.first]; op.Kind == sink.OpCreate && op.Existing != nil {
			held = append(held, heldRow{op: w.first, rec: op.Record, ids: op.Existing})
		}
	}
	if len(held) == 0 {
		return nil
	}
	defer func() {
		if err != nil { // the held rows are not counted, nor their warnings
			for _, h := range held {
				b.uncounted = append(b.uncounted, h.rec.Line)
			}
		}
	}()
	b.withOps = slices.DeleteFunc(b.withOps, func(w rowOps) bool {
		op := b.ops[w.first]
		return op.Kind == sink.OpCreate && op.Existing != nil
	})
	if r.aliases == nil {
		r.aliases = map[string]alias{}
	}
	for i := range held {
		h := &held[i]
		h.d = r.heldDecision(h)
		r.aliases[h.rec.ID] = alias{id: h.ids[0], update: h.d.Verdict == identity.VerdictUpdate}
		if h.d.Verdict != identity.VerdictUpdate {
			r.forgetCreated(h.rec)
		}
	}
	f := &batch{}
	if err := r.heldView(ctx, held); err != nil {
		return err
	}
	for i := range held {
		h := &held[i]
		h.first = len(f.ops)
		switch h.d.Verdict {
		case identity.VerdictUpdate:
			m := &identity.Match{IDs: r.viewedIDs(h.ids), Rule: 0}
			r.update(f, h.rec.Clone(), m, r.rules.merger)
		case identity.VerdictOptOut:
			r.addOps(f, h.rec.Clone(), sink.OpOptOut, h.ids)
		}
		h.last = len(f.ops)
	}
	if len(f.ops) > 0 || r.checkpointer != nil {
		if err := r.writeHeld(ctx, b, f); err != nil {
			return err
		}
	}
	for _, h := range held {
		b.t.raced++
		r.countHeld(b, &h, f.ops[h.first:h.last])
	}
	return nil
}

// heldDecision is what the job's action does to the records that hold the
// key of row h's create.
func (r *run) heldDecision(h *heldRow) identity.Decision {
	if r.rules.matrix.ExpectNew {
		return identity.Decision{Verdict: identity.VerdictReject, Code: intake.CodeDuplicate}
	}
	m := &identity.Match{IDs: h.ids, Rule: 0}
	d := identity.DecideMatrix(r.rules.matrix, r.rules.dup, m, false, false)
	switch d.Verdict {
	case identity.VerdictUpdate, identity.VerdictOptOut, identity.VerdictSkip, identity.VerdictReject:
		return d
	}
	// A lifecycle action on a match, with creation when nothing matches:
	// the record another import created is left alone.
	return identity.Decision{Verdict: identity.VerdictSkip, Code: intake.CodeExists}
}

// forgetCreated takes the keys of a held create that the run leaves
// alone out of the keys the run created: later rows of the key then meet
// the other writer's record as a stored one, and never update it as the
// run's own.
func (r *run) forgetCreated(rec *intake.Record) {
	if r.createdKeys == nil || r.matcher == nil {
		return
	}
	var m identity.Match
	r.matcher.Key(rec, &m)
	r.eachKey(&m, func(tk intake.Key) bool {
		r.createdKeys.Remove(tk)
		return false
	})
}

// heldView reads, in one Get, the records that the held rows update, for
// merge rules and consent that compare with stored values.
func (r *run) heldView(ctx context.Context, held []heldRow) error {
	if !r.rules.useView {
		return nil
	}
	var ids []string
	for _, h := range held {
		if h.d.Verdict == identity.VerdictUpdate {
			ids = append(ids, h.ids...)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	stored, err := r.getter.Get(ctx, r.schema, ids)
	if err != nil {
		return fmt.Errorf("importer: read the records another import created meanwhile: %w", err)
	}
	r.batchView = stored
	return nil
}

// viewedIDs returns the ids of ids that the view holds (all of them
// without a view): an update finds no record another writer deleted since.
func (r *run) viewedIDs(ids []string) []string {
	if !r.rules.useView {
		return ids
	}
	kept := ids[:0:0]
	for _, id := range ids {
		if r.viewed(id) != nil {
			kept = append(kept, id)
		}
	}
	return kept
}

// writeHeld writes the follow-up batch f of b; with checkpoints it stores
// the checkpoint past b, without b's held lines.
func (r *run) writeHeld(ctx context.Context, b, f *batch) error {
	var n int
	var err error
	n, err = r.writeOps(ctx, f.ops, b.lastLine())
	if err == nil && n != len(f.ops) {
		err = fmt.Errorf("sink reported %d of %d operations written and no error", n, len(f.ops))
	}
	if err != nil {
		return fmt.Errorf("importer: applying the action of rows of lines %d-%d to the records another import created meanwhile failed (the rest of the batch is committed; those rows are not counted): %w",
			b.firstLine(), b.lastLine(), err)
	}
	return nil
}

// countHeld counts row h of b, and moves the batch's later rows that had
// updated its create to h's decision when it does not update.
func (r *run) countHeld(b *batch, h *heldRow, ops []*sink.Op) {
	switch h.d.Verdict {
	case identity.VerdictUpdate, identity.VerdictOptOut:
		if len(ops) == 0 {
			// An update found none of the records: another writer deleted
			// them since.
			b.t.counts[intake.OutcomeSkipped]++
			b.t.reason(intake.CodeNoMatch)
			return
		}
		b.t.counts[rowOutcome(ops)]++
		b.t.records += int64(len(ops))
		return
	}
	r.countNot(b, h.rec.Line, h.d, h.ids)
	for _, mr := range b.merged {
		if mr.op == h.op {
			b.t.counts[mr.outcome]--
			b.t.records--
			r.countNot(b, mr.line, h.d, h.ids)
		}
	}
}

// countNot counts the row at line as skipped or rejected by d.
func (r *run) countNot(b *batch, line int, d identity.Decision, ids []string) {
	if d.Verdict == identity.VerdictSkip {
		b.t.counts[intake.OutcomeSkipped]++
		b.t.reason(d.Code)
		return
	}
	msg := "another import created record " + strings.Join(ids, ", ") + " with the same key after this run looked it up"
	r.reject(b, b.row(line), &intake.RowError{Line: line, Field: r.keyName(), Code: d.Code, Message: msg}, nil)
}

// row returns the source row of b at line (for the rejects file and
// explanations): chunks hold their rows in line order.
func (b *batch) row(line int) intake.Row {
	for _, c := range b.chunks {
		rows := c.rows[:c.n]
		if len(rows) == 0 || rows[len(rows)-1].Line < line {
			continue
		}
		if i := sort.Search(len(rows), func(i int) bool { return rows[i].Line >= line }); i < len(rows) && rows[i].Line == line {
			return rows[i]
		}
		break
	}
	return intake.Row{Line: line}
}

// alias rewrites the ops of b that name the id of a create the sink held:
// rows of b decided while the held create was being written took it for
// the record their key names. When the action updates the other writer's
// record, the ops name that record; when it leaves it alone, the row is
// skipped as exists and its ops are dropped.
func (r *run) alias(b *batch) {
	if len(r.aliases) == 0 {
		return
	}
	defer clear(r.aliases)
	var leave []bool // per row of b.withOps, when some row is dropped
	for j, w := range b.withOps {
		for _, op := range b.ops[w.first:w.last] {
			a, ok := r.aliases[op.Record.ID]
			if !ok || op.Kind == sink.OpCreate {
				continue
			}
			op.Record.ID = a.id
			if !a.update {
				if leave == nil {
					leave = make([]bool, len(b.withOps))
				}
				leave[j] = true
			}
		}
	}
	if leave == nil {
		return
	}
	moved := make(map[int]int, len(b.ops)) // old index in b.ops → new
	ops, withOps := b.ops[:0:0], b.withOps[:0]
	for j, w := range b.withOps {
		if leave[j] {
			b.t.counts[intake.OutcomeSkipped]++
			b.t.reason(intake.CodeExists)
			continue
		}
		first := len(ops)
		for i := w.first; i < w.last; i++ {
			moved[i] = len(ops)
			ops = append(ops, b.ops[i])
		}
		withOps = append(withOps, rowOps{first: first, last: len(ops)})
	}
	for i := range b.merged {
		b.merged[i].op = moved[b.merged[i].op]
	}
	b.ops, b.withOps = ops, withOps
}
