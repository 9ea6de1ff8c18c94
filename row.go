package intake

// Row is one row read by a source: its raw cells and the 1-based line of the
// source on which it starts (the header, when there is one, is line 1; a quoted
// cell that spans lines makes the next row start further down).
//
// Cells may share memory with the source's buffers for the lifetime of the
// row; a consumer that keeps a cell beyond the processing of the row must
// clone it (strings.Clone), or it pins the whole line in memory.
type Row struct {
	// Line is the 1-based source line on which the row starts.
	Line int
	// Cells are the row's raw cells, in source column order.
	Cells []string
}

// Cell returns the cell at the 0-based index i, or "" when the row is shorter.
func (r Row) Cell(i int) string {
	if i < 0 || i >= len(r.Cells) {
		return ""
	}
	return r.Cells[i]
}
