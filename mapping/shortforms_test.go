package mapping

import (
	"fmt"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTimestampShortForms checks the forms of a timestamp pattern that a
// column also reads: without seconds, and the date alone.
func TestTimestampShortForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		want   []string // layouts of the short forms, in the order tried
	}{
		{"MM/dd/yyyy HH:mm:ss", []string{"MM/dd/yyyy HH:mm", "MM/dd/yyyy"}},
		{"M/d/yyyy h:mm:ss a", []string{"M/d/yyyy h:mm a", "M/d/yyyy"}},
		{"M/d/yyyy h:mm a", []string{"M/d/yyyy"}},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", []string{"yyyy-MM-dd'T'HH:mmXXX", "yyyy-MM-dd"}},
		{"yyyy-MM-dd HH:mm XXX", []string{"yyyy-MM-dd"}},
		{"dd.MM.yyyy 'um' HH:mm 'Uhr'", []string{"dd.MM.yyyy"}},
		{"yyyyMMddHHmmss", []string{"yyyyMMddHHmm", "yyyyMMdd"}},
		{"d MMMM yyyy, HH:mm:ss", []string{"d MMMM yyyy, HH:mm", "d MMMM yyyy"}},
		{"HH:mm dd.MM.yyyy", nil}, // the time comes first: no date part
		{"HH:mm:ss dd.MM.yyyy", []string{"HH:mm dd.MM.yyyy"}},
		{"dd.MM.yyyy", nil}, // no time
		{"yyyy-MM-dd'T'HH", []string{"yyyy-MM-dd"}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			p, err := compilePattern(tt.format)
			require.NoError(t, err)
			require.NoError(t, p.checkFor(intake.TypeTimestamp))
			var got []string
			for _, a := range p.shortForms() {
				got = append(got, a.layout)
				// Every form compiles back to itself.
				b, err := compilePattern(a.layout)
				require.NoError(t, err, a.layout)
				assert.Equal(t, b.toks, a.toks, a.layout)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestTimestampFormatShortCells maps cells through a compiled column: the
// full pattern, the pattern without seconds, the date part as midnight in
// the column's zone, and cells that still fail.
func TestTimestampFormatShortCells(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format, zone string
		cells        map[string]string // cell → stored value, "!" for invalid_timestamp
	}{
		{"MM/dd/yyyy HH:mm:ss", "", map[string]string{
			"01/15/2026 10:30:05": "2026-01-15T10:30:05Z",
			"01/15/2026 10:30":    "2026-01-15T10:30:00Z",
			"01/15/2026":          "2026-01-15T00:00:00Z",
			"01/15/2026 10":       "!",
			"01/15/2026 10:30:":   "!",
			"01/15/2026 10:30:5":  "!",
			"01/15/2026 24:00":    "!",
			"02/30/2026":          "!",
			"2026-01-15":          "!",
			"01/15/2026T10:30":    "!",
			"01/15/26":            "!",
		}},
		{"MM/dd/yyyy HH:mm:ss", "Europe/Berlin", map[string]string{
			"01/15/2026":          "2026-01-14T23:00:00Z",
			"07/15/2026 10:30":    "2026-07-15T08:30:00Z",
			"07/15/2026 10:30:05": "2026-07-15T08:30:05Z",
		}},
		{"M/d/yyyy h:mm:ss a", "", map[string]string{
			"1/15/2026 2:30:05 PM": "2026-01-15T14:30:05Z",
			"1/15/2026 2:30 pm":    "2026-01-15T14:30:00Z",
			"1/15/2026 12:00 AM":   "2026-01-15T00:00:00Z",
			"1/15/2026":            "2026-01-15T00:00:00Z",
			"1/15/2026 2:30":       "!", // 12-hour clock without AM/PM
			"1/15/2026 2:30:05":    "!",
			"1/15/2026 PM":         "!",
			"1/15/2026 13:30 PM":   "!",
		}},
		{"M/d/yyyy h:mm a", "-05:00", map[string]string{
			"1/15/2026 9:05 AM": "2026-01-15T14:05:00Z",
			"1/15/2026":         "2026-01-15T05:00:00Z",
			"1/15/2026 9 AM":    "!",
		}},
		{"yyyy-MM-dd HH:mm XXX", "+02:00", map[string]string{
			"2026-01-15 10:30 +01:00": "2026-01-15T09:30:00Z",
			"2026-01-15 10:30 Z":      "2026-01-15T10:30:00Z",
			"2026-01-15":              "2026-01-14T22:00:00Z", // the date part reads in the column's zone
			"2026-01-15 10:30":        "!",                    // no seconds to drop: the offset is due
			"2026-01-15 +01:00":       "!",
		}},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "", map[string]string{
			"2026-01-15T10:30:05.123+01:00": "2026-01-15T09:30:05.123Z",
			"2026-01-15T10:30+01:00":        "2026-01-15T09:30:00Z",
			"2026-01-15":                    "2026-01-15T00:00:00Z",
			"2026-01-15T":                   "!",
			"2026-01-15T10:30:05Z":          "!", // seconds without the fraction the pattern writes
			"2026-01-15T10:30":              "!",
		}},
		{"dd.MM.yyyy 'um' HH:mm 'Uhr'", "", map[string]string{
			"15.01.2026 um 10:30 Uhr": "2026-01-15T10:30:00Z",
			"15.01.2026":              "2026-01-15T00:00:00Z",
			"15.01.2026 um":           "!",
			"15.01.2026 10:30":        "!",
		}},
		{"HH:mm dd.MM.yyyy", "", map[string]string{
			"10:30 15.01.2026": "2026-01-15T10:30:00Z",
			"15.01.2026":       "!", // the time comes first: no date part
		}},
		{"yyyyMMddHHmmss", "", map[string]string{
			"20260115103005": "2026-01-15T10:30:05Z",
			"202601151030":   "2026-01-15T10:30:00Z",
			"20260115":       "2026-01-15T00:00:00Z",
			"2026011510":     "!",
		}},
		{"dd.MM.yyyy", "", map[string]string{
			"15.01.2026":       "2026-01-15T00:00:00Z",
			"15.01.2026 10:30": "!", // a pattern without a time has no short forms
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.zone, func(t *testing.T) {
			t.Parallel()
			spec := fmt.Sprintf(`{"fields": [{"name": "seen_at", "type": "timestamp"}],
				"columns": [{"source": "Seen", "field": "seen_at", "format": %q, "zone": %q}]}`, tt.format, tt.zone)
			p := setup(t, spec, []string{"Seen"}, Options{})
			for cell, want := range tt.cells {
				got, err := mapRow(t, p, cell)
				if want == "!" {
					var re *intake.RowError
					require.ErrorAs(t, err, &re, "%q accepted as %v", cell, got)
					assert.Equal(t, intake.InvalidCode(intake.TypeTimestamp), re.Code, cell)
					continue
				}
				require.NoError(t, err, cell)
				assert.Equal(t, want, got["seen_at"], cell)
			}
		})
	}
}

// TestTimestampShortFormsMessage checks that the message of a bad cell
// names the forms a column reads.
func TestTimestampShortFormsMessage(t *testing.T) {
	t.Parallel()
	p := setup(t, `{"fields": [{"name": "seen_at", "type": "timestamp"}],
		"columns": [{"source": "Seen", "field": "seen_at", "format": "MM/dd/yyyy HH:mm:ss"}]}`, []string{"Seen"}, Options{})
	_, err := mapRow(t, p, "yesterday")
	require.Error(t, err)
	assert.Equal(t, `"yesterday" is not a date and time in the format MM/dd/yyyy HH:mm:ss (or MM/dd/yyyy HH:mm or MM/dd/yyyy)`, err.(*intake.RowError).Message)
	// A date column keeps its one pattern.
	p = setup(t, `{"columns": [{"source": "Born", "field": "birthday", "format": "MM/dd/yyyy"}]}`, []string{"Born"}, Options{})
	_, err = mapRow(t, p, "01/15/2026 10:30")
	require.Error(t, err)
	assert.False(t, strings.Contains(err.Error(), " or "), err.Error())
}
