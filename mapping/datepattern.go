package mapping

import (
	"time"

	"github.com/intakehq/intake"
)

// DatePattern is a compiled LDML date pattern, as a date column's
// [Column.Format] gives one ("dd.MM.yyyy", "MMM d, yyyy"), for a program
// that reads or writes dates in a file's own format outside a mapping (a
// default value, a format another system states).
type DatePattern struct{ p *pattern }

// CompileDatePattern compiles src, written with the letters yyyy yy MMMM
// MMM MM M dd d and literal text (letters in single quotes). A pattern that
// a date field cannot use (no year, month or day; hours) is an error that
// says why.
func CompileDatePattern(src string) (*DatePattern, error) {
	p, err := compilePattern(src)
	if err == nil {
		err = p.checkFor(intake.TypeDate)
	}
	if err != nil {
		return nil, err
	}
	return &DatePattern{p: p}, nil
}

// Parse reads s as a date in the pattern, as a mapping reads a cell: the
// whole of s, an impossible date (February 30) refused. It reports false
// when s is not such a date.
func (d *DatePattern) Parse(s string) (intake.Value, bool) { return parseDate(d.p, s) }

// Format writes the date of t in the pattern (month names in English), so
// that Parse reads it back.
func (d *DatePattern) Format(t time.Time) string { return formatDatePattern(d.p, t) }

// String returns the pattern as compiled.
func (d *DatePattern) String() string { return d.p.src }
