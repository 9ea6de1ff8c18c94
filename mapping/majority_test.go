package mapping

import (
	"errors"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A format that reads most of the sample is chosen even when a few values
// are bad; without a majority, none is.
func TestDetectFormatMajority(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		typ     intake.FieldType
		values  []string
		format  string // or the decimal separator
		matched int
		misfit  string
		err     error
	}{
		{"one bad date in four", intake.TypeDate, []string{"14.03.1985", "02.11.1990", "31/31/2000", "25.12.1970"}, "dd.MM.yyyy", 3, "31/31/2000", nil},
		{"iso with a bad value", intake.TypeDate, []string{"2024-01-02", "oops", "1985-12-31", "2000-06-30"}, "", 3, "oops", nil},
		{"two of three", intake.TypeDate, []string{"n/a", "01.02.2024", "31.12.1985"}, "dd.MM.yyyy", 2, "n/a", nil},
		{"timestamps", intake.TypeTimestamp, []string{"29.03.2026 13:30", "soon", "01.12.2025 09:05"}, "dd.MM.yyyy HH:mm", 2, "soon", nil},
		{"times", intake.TypeTime, []string{"9:05 am", "1:30 PM", "noon"}, "h:mm a", 2, "noon", nil},
		{"decimal comma", intake.TypeDecimal, []string{"1.234,56", "12,5", "about ten"}, ",", 2, "about ten", nil},
		{"half is no majority", intake.TypeDate, []string{"01.02.2024", "02.02.2024", "x", "y"}, "", 2, "", ErrNoFormat},
		{"ambiguous majority", intake.TypeDate, []string{"01/02/2024", "03/04/1990", "x"}, "dd/MM/yyyy", 2, "x", ErrAmbiguousFormat},
		{"every value", intake.TypeDate, []string{"01.02.2024", "31.12.1985"}, "dd.MM.yyyy", 2, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := DetectFormat(tt.values, tt.typ)
			if tt.err != nil {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tt.err), err.Error())
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, len(tt.values), d.Values)
			assert.Equal(t, tt.matched, d.Matched)
			if errors.Is(tt.err, ErrNoFormat) {
				assert.Contains(t, err.Error(), "not a majority")
				return
			}
			got := d.Format
			if tt.typ == intake.TypeDecimal {
				got = d.Decimal
			}
			assert.Equal(t, tt.format, got)
			assert.Equal(t, tt.misfit, d.Misfit)
		})
	}
}

// A suggested mapping takes the format that most sample values show, says
// so in the column's note, and rejects only the rows it cannot read.
func TestSuggestAndCompileMajorityFormat(t *testing.T) {
	t.Parallel()
	header := []string{"email", "birthday"}
	sample := [][]string{
		{"a@example.com", "14.03.1985"},
		{"b@example.com", "02.11.1990"},
		{"c@example.com", "31/31/2000"},
		{"d@example.com", "25.12.1970"},
	}
	ss := SuggestDetailed(header, sample, intake.ContactSchema(), SuggestOptions{})
	spec := ss.Spec()
	require.Len(t, spec.Columns, 2)
	col := spec.Columns[1]
	assert.Equal(t, "birthday", col.Field)
	assert.Equal(t, "dd.MM.yyyy", col.Format)
	assert.Contains(t, col.Note, "3 of 4 sample values")
	assert.Contains(t, col.Note, `"31/31/2000"`)
	assert.Contains(t, col.Note, "invalid_date")

	auto := &Spec{Columns: []Column{{Source: "email", Field: "email"}, {Source: "birthday", Field: "birthday", Format: FormatAuto}}}
	for name, sp := range map[string]*Spec{"suggested": spec, "auto": auto} {
		p, err := Compile(sp, intake.ContactSchema(), header, Options{Sample: sample})
		require.NoError(t, err, name)
		var bad []int
		for i, cells := range sample {
			rec := intake.NewRecord(p.Schema())
			if err := p.Map(intake.Row{Line: i + 2, Cells: cells}, rec); err != nil {
				var re *intake.RowError
				require.ErrorAs(t, err, &re, name)
				assert.Equal(t, intake.CodeInvalidDate, re.Code, name)
				assert.Contains(t, re.Message, "dd.MM.yyyy", name)
				bad = append(bad, re.Line)
				continue
			}
			assert.False(t, rec.Get("birthday").IsNull(), name)
		}
		assert.Equal(t, []int{4}, bad, name)
	}
}
