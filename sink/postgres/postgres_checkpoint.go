package postgres

import (
	"github.com/intakehq/intake/sink"
)

// heldLines returns pending with the lines of the batch's creates that
// Op.Unique held.
func heldLines(batch []*sink.Op, pending []int) []int64 {
	var out []int64
	for _, l := range pending {
		out = append(out, int64(l))
	}
	for _, op := range batch {
		if op.Kind == sink.OpCreate && op.Existing != nil && op.Record.Line > 0 {
			out = append(out, int64(op.Record.Line))
		}
	}
	return out
}
