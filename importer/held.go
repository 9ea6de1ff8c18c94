package importer

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/sink"
)

// resolveHeld applies the job's record action to the rows of the written
// batch b whose create the sink held (sink.Op.Unique): another writer
// created a record with the row's key after the run looked the key up. The
// row is decided again against that record, as if the lookup had found it:
// add_and_update updates it (with the job's merge rules, consent and the
// values of the file's later rows with the same key, which the create had
// taken in), add_only skips the row as "exists", create rejects it as
// "duplicate" (the key is in another import of the same new list), a
// matrix applies its on-match action. The updates and other ops go to the
// sink in one more write, after b's and before the next batch's; that
// batch's ops that name a held create's id are rewritten to the record's
// (see alias). Rows counted by b's commit get the outcome of what was done.
func (r *run) resolveHeld(ctx context.Context, b *batch) error {
	var held []int // indexes in b.withOps
	for j, w := range b.withOps {
		if op := b.ops[w.first]; op.Kind == sink.OpCreate && op.Existing != nil {
			held = append(held, j)
		}
	}
	if len(held) == 0 {
		return nil
	}
	f := &batch{}
	var rows []heldRow
	for _, j := range held {
		w := b.withOps[j]
		op := b.ops[w.first]
		if r.aliases == nil {
			r.aliases = map[string]string{}
		}
		r.aliases[op.Record.ID] = op.Existing[0]
		b.t.raced++
		h := heldRow{rec: op.Record, ids: op.Existing, first: len(f.ops)}
		if err := r.decideHeld(ctx, b, f, &h); err != nil {
			return err
		}
		h.last = len(f.ops)
		rows = append(rows, h)
	}
	if len(f.ops) > 0 {
		n, err := r.im.cfg.Sink.Write(ctx, f.ops)
		if err == nil && n != len(f.ops) {
			err = fmt.Errorf("sink reported %d of %d operations written and no error", n, len(f.ops))
		}
		if err != nil {
			return fmt.Errorf("intake: applying the action of %d rows of lines %d-%d to the records another import created meanwhile failed (the rest of the batch is committed): %w",
				len(rows), b.firstLine(), b.lastLine(), err)
		}
	}
	for _, h := range rows {
		if h.counted {
			continue
		}
		if h.first == h.last {
			// An update found none of the records: another writer deleted
			// them since.
			b.t.counts[intake.OutcomeSkipped]++
			b.t.reason(intake.CodeNoMatch)
			continue
		}
		ops := f.ops[h.first:h.last]
		b.t.counts[rowOutcome(ops)]++
		b.t.records += int64(len(ops))
	}
	// The held rows are counted: commit counts the others from their ops.
	kept := b.withOps[:0]
	for j, w := range b.withOps {
		if len(held) > 0 && held[0] == j {
			held = held[1:]
			continue
		}
		kept = append(kept, w)
	}
	b.withOps = kept
	return nil
}

// heldRow is a row whose create the sink held: its record, the ids of the
// records that hold its key, and its ops in the follow-up batch.
type heldRow struct {
	rec         *intake.Record
	ids         []string
	first, last int
	counted     bool // skipped or rejected: counted in b already
}

// decideHeld decides row h of b again, against the records that hold its
// key: a skip or a rejection is counted in b (h.counted), ops go to f.
func (r *run) decideHeld(ctx context.Context, b, f *batch, h *heldRow) error {
	row := b.row(h.rec.Line)
	h.counted = true
	if r.rules.matrix.ExpectNew {
		r.reject(b, row, &intake.RowError{Line: h.rec.Line, Field: r.keyName(), Code: intake.CodeDuplicate,
			Message: "another import created record " + strings.Join(h.ids, ", ") + " with the same key after this run looked it up"}, nil)
		return nil
	}
	m := &identity.Match{IDs: h.ids, Rule: 0}
	d := identity.DecideMatrix(r.rules.matrix, r.rules.dup, m, false, false)
	switch d.Verdict {
	case identity.VerdictSkip:
		b.t.counts[intake.OutcomeSkipped]++
		b.t.reason(d.Code)
	case identity.VerdictReject:
		r.reject(b, row, &intake.RowError{Line: h.rec.Line, Code: d.Code, Message: "the record another import created meanwhile has the row's key"}, nil)
	case identity.VerdictUpdate:
		if r.rules.useView {
			stored, err := r.getter.Get(ctx, r.schema, h.ids)
			if err != nil {
				return fmt.Errorf("intake: read the records another import created meanwhile: %w", err)
			}
			saved := r.batchView
			r.batchView = stored
			defer func() { r.batchView = saved }()
			ids := h.ids[:0:0]
			for _, id := range h.ids {
				if stored[id] != nil {
					ids = append(ids, id)
				}
			}
			m.IDs = ids
		}
		h.counted = false
		r.update(f, h.rec.Clone(), m, r.rules.merger)
	case identity.VerdictOptOut:
		h.counted = false
		r.addOps(f, h.rec.Clone(), sink.OpOptOut, h.ids)
	default:
		// A lifecycle action on a match, with creation when nothing
		// matches: the record another import created is left alone.
		b.t.counts[intake.OutcomeSkipped]++
		b.t.reason(intake.CodeExists)
	}
	return nil
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

// alias rewrites the ops of b that name the id of a create the sink held
// to the id of the record that holds its key: rows of b decided while the
// held create was being written took it for the record their key names.
func (r *run) alias(b *batch) {
	if len(r.aliases) == 0 {
		return
	}
	for _, op := range b.ops {
		if op.Kind != sink.OpCreate {
			if id, ok := r.aliases[op.Record.ID]; ok {
				op.Record.ID = id
			}
		}
	}
	clear(r.aliases)
}
