package importer

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/intakehq/intake"
)

// RejectColumns are the columns a [RejectWriter] writes before the row's
// original cells.
var RejectColumns = []string{"error_line", "error_code", "error_column", "error_field", "error_message"}

// RejectWriter writes rejected rows as CSV: one header line, then per
// rejected row its line, code, column, field and message followed by the
// row's original cells, untouched (a ragged row keeps all of its cells). A user
// can fix the cells in a spreadsheet and import the file again: the error
// columns are not mapped by default.
type RejectWriter struct {
	w      *csv.Writer
	header []string
	wrote  bool
	rec    []string
}

// NewRejectWriter returns a writer of rejected rows to w for a source with the
// given header (nil for a source without one: the columns are then named
// column_1, column_2, … from the first rejected row).
func NewRejectWriter(w io.Writer, header []string) *RejectWriter {
	return &RejectWriter{w: csv.NewWriter(w), header: header}
}

// Write writes one rejected row.
func (rw *RejectWriter) Write(row intake.Row, e *intake.RowError) error {
	if !rw.wrote {
		h := append([]string(nil), RejectColumns...)
		if rw.header != nil {
			h = append(h, rw.header...)
		} else {
			for i := range row.Cells {
				h = append(h, "column_"+strconv.Itoa(i+1))
			}
		}
		if err := rw.w.Write(h); err != nil {
			return fmt.Errorf("importer: write rejects header: %w", err)
		}
		rw.wrote = true
	}
	rw.rec = append(rw.rec[:0], strconv.Itoa(e.Line), string(e.Code), e.Column, e.Field, e.Message)
	rw.rec = append(rw.rec, row.Cells...)
	if err := rw.w.Write(rw.rec); err != nil {
		return fmt.Errorf("importer: write rejected line %d: %w", e.Line, err)
	}
	return nil
}

// Flush writes buffered data to the underlying writer and returns any write
// error.
func (rw *RejectWriter) Flush() error {
	rw.w.Flush()
	return rw.w.Error()
}
