package importer

import (
	"context"
	"errors"
	"io"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
)

// peekSource reads the first rows of a source ahead, so that the mapping
// can be suggested and its "auto" formats detected from them, and then
// hands the same rows to the run before it goes on reading the source.
type peekSource struct {
	connector.Source
	rows []intake.Row
	errs []error // per row: a *intake.RowError or nil
	end  error   // io.EOF or a fatal error met while peeking
	i    int
}

// peek reads up to n rows of src. The sample holds the cells of the rows
// that read cleanly.
func peek(ctx context.Context, src connector.Source, n int) (*peekSource, [][]string) {
	p := &peekSource{Source: src}
	var sample [][]string
	for len(p.rows) < n {
		row, err := src.Read(ctx)
		if err != nil {
			var re *intake.RowError
			if !errors.As(err, &re) {
				p.end = err
				break
			}
		} else {
			sample = append(sample, row.Cells)
		}
		p.rows = append(p.rows, row)
		p.errs = append(p.errs, err)
	}
	return p, sample
}

// Read returns the peeked rows, then the source's.
func (p *peekSource) Read(ctx context.Context) (intake.Row, error) {
	if p.i < len(p.rows) {
		row, err := p.rows[p.i], p.errs[p.i]
		p.rows[p.i], p.errs[p.i] = intake.Row{}, nil
		p.i++
		return row, err
	}
	if p.end != nil {
		if err := ctx.Err(); err != nil && p.end == io.EOF {
			return intake.Row{}, err
		}
		return intake.Row{}, p.end
	}
	return p.Source.Read(ctx)
}
