package mapping

import (
	"github.com/intakehq/intake"
)

// Validate checks spec against a schema and a header before a run and
// reports every problem at once, joined with [errors.Join], each naming
// what to fix: an unknown field (with the closest field name), a column
// missing from the file (with the closest header name), a field mapped
// twice, a constant or default that the field's type cannot take, a
// required field left unmapped, a bad format, decimal separator, zone,
// currency, region or transform. It is [Compile] without building a plan;
// "auto" formats are accepted without a sample. A nil header means a file
// without a header row. The first opt, if given, supplies the transform
// registry and the default phone region to check against.
func Validate(spec *Spec, schema *intake.Schema, header []string, opt ...Options) error {
	var o Options
	if len(opt) > 0 {
		o = opt[0]
	}
	_, err := compile(spec, schema, header, o, true)
	return err
}

// PreviewRow is one row as a plan would store it (see [Plan.Preview]).
type PreviewRow struct {
	// Line is the row's source line.
	Line int `json:"line"`
	// Cells has one entry per rule of the plan that reads the file, in
	// spec order, then one per constant.
	Cells []PreviewCell `json:"cells"`
	// Errors are every problem of the row: each bad cell's, then each
	// empty required field's. Empty when the row would be imported.
	Errors []*intake.RowError `json:"errors,omitempty"`
	// Warnings are the cells that columns with "invalid": "empty" leave
	// empty, in column order: the errors that [Plan.MapWarn] reports as
	// warnings. The row is imported with them (when Errors is empty).
	Warnings []*intake.RowError `json:"warnings,omitempty"`
}

// PreviewCell is one field of a [PreviewRow].
type PreviewCell struct {
	// Column names the source column ("E-Mail", "#3", "Street+No" for a
	// join); empty for a constant.
	Column string `json:"column,omitempty"`
	// Field is the target field.
	Field string `json:"field"`
	// Raw is the cell as read (trimmed; joined for several sources).
	Raw string `json:"raw"`
	// Value is the typed value's canonical string ([intake.Value.String]),
	// as it would be stored; "" when empty or invalid.
	Value string `json:"value"`
	// Code and Message describe the cell's problem; empty when it is fine.
	Code    intake.Code `json:"code,omitempty"`
	Message string      `json:"message,omitempty"`
	// Warning is set when the problem leaves the field empty instead of
	// rejecting the row ("invalid": "empty"; see [PreviewRow].Warnings).
	Warning bool `json:"warning,omitempty"`
}

// Preview maps rows without stopping at the first problem: for each row
// it shows every mapped cell's raw text, its typed value as it would be
// stored and its error, every error of the row (bad cells and empty
// required fields) and every warning (bad cells that "invalid": "empty"
// leaves empty, also on a row with errors). Use it to show the first rows
// of a file before a run.
func (p *Plan) Preview(rows []intake.Row) []PreviewRow {
	out := make([]PreviewRow, 0, len(rows))
	for _, row := range rows {
		pr := PreviewRow{Line: row.Line}
		values := make([]intake.Value, p.schema.Len())
		if p.template != nil {
			copy(values, p.template)
		}
		for i := range p.cols {
			c := &p.cols[i]
			raw, v, err := p.eval(c, row)
			cell := PreviewCell{Column: c.column, Field: c.fname, Raw: raw, Value: v.String()}
			switch {
			case err != nil && c.lenient && !c.required:
				cell.Code, cell.Message, cell.Warning = err.Code, err.Message, true
				pr.Warnings = append(pr.Warnings, err)
			case err != nil:
				cell.Code, cell.Message = err.Code, err.Message
				pr.Errors = append(pr.Errors, err)
			default:
				values[c.field] = v
			}
			pr.Cells = append(pr.Cells, cell)
		}
		for i, v := range p.template {
			if !v.IsNull() {
				pr.Cells = append(pr.Cells, PreviewCell{Field: p.schema.Field(i).Name, Value: v.String()})
			}
		}
		for _, r := range p.required {
			if values[r.field].IsNull() && !hasFieldError(pr.Errors, r.name) {
				pr.Errors = append(pr.Errors, p.requiredError(r, row.Line))
			}
		}
		out = append(out, pr)
	}
	return out
}

func hasFieldError(errs []*intake.RowError, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}
