package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/intakehq/intake"
)

// Errors of [DetectFormat], for errors.Is.
var (
	// ErrAmbiguousFormat: several formats read every value of the sample,
	// with different results ("01/02/2020": 1 February or 2 January).
	ErrAmbiguousFormat = errors.New("mapping: ambiguous format")
	// ErrNoFormat: no known format reads a majority of the values.
	ErrNoFormat = errors.New("mapping: no known format fits")
)

// DetectMinShare is the share of a column's sample values that must parse
// as a field's type for [SuggestDetailed] to take the content as evidence
// for that field. [DetectFormat] chooses a format on a majority of the
// values (more than half), a lower bar: the column is known to be of the
// type, and the question is only how its values are written.
const DetectMinShare = 0.8

// Detection is what [DetectFormat] found in a sample of a column's values.
type Detection struct {
	// Type is the field type the values were read as.
	Type intake.FieldType `json:"type"`
	// Format is the chosen date/time format of a date, time or timestamp
	// column, as a [Column] "format": "" for ISO 8601, an LDML pattern,
	// or "excel1900".
	Format string `json:"format,omitempty"`
	// Decimal is the chosen decimal separator of a decimal column, "."
	// or ",".
	Decimal string `json:"decimal,omitempty"`
	// Values is the number of non-empty values in the sample; Matched how
	// many of them the chosen format reads (for types without formats: how
	// many the type reads).
	Values  int `json:"values"`
	Matched int `json:"matched"`
	// Misfit is a sample value that the chosen format does not read,
	// when Matched < Values: rows with such values are rejected
	// (invalid_<type>), while the rows the format reads are imported.
	Misfit string `json:"misfit,omitempty"`
	// Ambiguous is set when other formats read as many values with
	// different results; Candidates then lists them all (the chosen one
	// first) and Example is a value they read differently.
	Ambiguous  bool     `json:"ambiguous,omitempty"`
	Candidates []string `json:"candidates,omitempty"`
	Example    string   `json:"example,omitempty"`
}

// Share returns Matched / Values (0 without values).
func (d Detection) Share() float64 {
	if d.Values == 0 {
		return 0
	}
	return float64(d.Matched) / float64(d.Values)
}

// dateFormats are the date formats DetectFormat tries, in order of
// preference among formats that read the sample alike.
var dateFormats = []string{
	"", "yyyy/MM/dd", "yyyy.MM.dd", "yyyyMMdd",
	"dd.MM.yyyy", "d.M.yyyy", "dd.MM.yy", "d.M.yy",
	"dd/MM/yyyy", "MM/dd/yyyy", "d/M/yyyy", "M/d/yyyy", "dd/MM/yy", "MM/dd/yy", "d/M/yy", "M/d/yy",
	"dd-MM-yyyy", "MM-dd-yyyy", "d-M-yyyy", "M-d-yyyy",
	"d MMM yyyy", "d. MMM yyyy", "dd-MMM-yyyy", "d-MMM-yyyy", "dd-MMM-yy", "d-MMM-yy", "MMM d, yyyy", "MMM d yyyy",
	FormatExcel1900,
}

var timestampFormats = []string{
	"", "yyyy/MM/dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.SSS",
	"dd.MM.yyyy HH:mm", "dd.MM.yyyy HH:mm:ss", "d.M.yyyy H:mm", "d.M.yyyy H:mm:ss",
	"dd/MM/yyyy HH:mm", "MM/dd/yyyy HH:mm", "dd/MM/yyyy HH:mm:ss", "MM/dd/yyyy HH:mm:ss",
	"d/M/yyyy H:mm", "M/d/yyyy H:mm", "d/M/yyyy H:mm:ss", "M/d/yyyy H:mm:ss",
	"M/d/yyyy h:mm a", "M/d/yyyy h:mm:ss a", "d/M/yyyy h:mm a", "d/M/yyyy h:mm:ss a",
	"d MMM yyyy HH:mm", "d MMM yyyy HH:mm:ss", "MMM d, yyyy h:mm a",
	FormatExcel1900,
}

var timeFormats = []string{"", "H:mm", "H:mm:ss", "h:mm a", "h:mm:ss a", "HH.mm", "HHmm"}

// compiledFormats caches the converters of the candidate formats.
var compiledFormats = sync.OnceValue(func() map[intake.FieldType][]converter {
	m := map[intake.FieldType][]converter{}
	for t, list := range map[intake.FieldType][]string{intake.TypeDate: dateFormats, intake.TypeTimestamp: timestampFormats, intake.TypeTime: timeFormats} {
		for _, f := range list {
			cv, err := newConverter(intake.Field{Name: "x", Type: t}, &Column{Format: f}, "", false)
			if err != nil {
				panic("mapping: bad built-in format " + strconv.Quote(f) + ": " + err.Error())
			}
			m[t] = append(m[t], cv)
		}
	}
	return m
})

// DetectFormat chooses the format of a column from a sample of its values
// (empty values are ignored):
//
//   - date, timestamp, time: the first of a list of common formats
//     (ISO 8601, yyyy/MM/dd, yyyyMMdd, dd.MM.yyyy, d.M.yy, dd/MM/yyyy,
//     MM/dd/yyyy, d MMM yyyy, MMM d, yyyy, M/d/yyyy h:mm a, Excel 1900
//     serial numbers of at least 4 digits — whole numbers for dates —, …)
//     that reads the most values;
//   - decimal: the decimal separator, "." or ",", that reads the most
//     values ("1.234,56" and "1,5" decide for ","; "1,234.56" for ".").
//
// The chosen format must read a majority of the non-empty values (more
// than half): a few bad values do not hide the format that the others
// show. Matched counts the values it reads and Misfit names one it does
// not; a mapping with that format rejects the rows of such values
// (invalid_date, invalid_decimal, …) and imports the others. When no format
// reads a majority (half of the values or fewer), DetectFormat returns an
// error wrapping [ErrNoFormat]: [Compile] refuses the "auto" column, and
// [SuggestDetailed] leaves the field's default format (ISO 8601, ".") with
// a note. Ties are settled by the list's order when the formats read the
// tied values alike (ISO 8601 first), and are ambiguous otherwise (below).
//
// dd/MM and MM/dd are told apart by the values: one with a first part
// above 12 decides. When the best formats read the sample with different
// results — every value fits both dd/MM/yyyy and MM/dd/yyyy, or "1,234"
// could be 1234 or 1.234 — DetectFormat does not guess: it returns the
// Detection with Ambiguous set and an error wrapping [ErrAmbiguousFormat]
// that names the candidates and a value they read differently. Formats
// that read every value alike (a column of "05/05/2020") are not
// ambiguous. The Excel 1904 system cannot be told from 1900 by values and
// is never detected.
//
// For other types DetectFormat only counts the values the type reads (with
// no default phone region), which [SuggestDetailed] uses as evidence. An
// error wrapping [ErrNoFormat] means no format reads enough values.
func DetectFormat(values []string, t intake.FieldType) (Detection, error) {
	d := Detection{Type: t}
	var vals []string
	for _, v := range values {
		if v = trimCell(v); v != "" {
			vals = append(vals, v)
		}
	}
	d.Values = len(vals)
	if len(vals) == 0 {
		return d, fmt.Errorf("%w: the sample has no values", ErrNoFormat)
	}
	var names []string
	var convs []converter
	switch t {
	case intake.TypeDate:
		names, convs = dateFormats, compiledFormats()[t]
	case intake.TypeTimestamp:
		names, convs = timestampFormats, compiledFormats()[t]
	case intake.TypeTime:
		names, convs = timeFormats, compiledFormats()[t]
	case intake.TypeDecimal:
		names = []string{".", ","}
		for _, sep := range names {
			cv, _ := newConverter(intake.Field{Name: "x", Type: t}, &Column{Decimal: sep}, "", false)
			convs = append(convs, cv)
		}
	case intake.TypeInvalid:
		return d, fmt.Errorf("mapping: cannot detect values of an invalid type")
	default:
		cv, err := newConverter(intake.Field{Name: "x", Type: t}, &Column{}, "", false)
		if err != nil {
			return d, err
		}
		for _, v := range vals {
			if _, ok := cv.parse(v); ok {
				d.Matched++
			}
		}
		return d, nil
	}
	results := make([][]intake.Value, len(convs))
	counts := make([]int, len(convs))
	best := 0
	for i := range convs {
		results[i] = make([]intake.Value, len(vals))
		for j, v := range vals {
			if names[i] == FormatExcel1900 && !plausibleSerial(v, t) {
				continue
			}
			if r, ok := convs[i].parse(v); ok {
				results[i][j] = r
				counts[i]++
			}
		}
		if counts[i] > counts[best] {
			best = i
		}
	}
	d.Matched = counts[best]
	set := func(i int) {
		if t == intake.TypeDecimal {
			d.Decimal = names[i]
		} else {
			d.Format = names[i]
		}
	}
	misfit := ""
	for j, v := range vals {
		if results[best][j].IsNull() {
			misfit = v
			break
		}
	}
	if 2*counts[best] <= len(vals) {
		return d, fmt.Errorf("%w: the best format reads %d of %d values, not a majority (e.g. not %s)", ErrNoFormat, counts[best], len(vals), quoteCell(misfit))
	}
	set(best)
	d.Misfit = misfit
	// Other formats that read as many values, with different results.
	d.Candidates = []string{names[best]}
	for i := range convs {
		if i == best || counts[i] != counts[best] || sameResults(results[i], results[best]) {
			continue
		}
		dupe := false
		for _, c := range d.Candidates[1:] {
			if k := indexOf(names, c); sameResults(results[i], results[k]) {
				dupe = true
				break
			}
		}
		if dupe {
			continue
		}
		d.Candidates = append(d.Candidates, names[i])
		if d.Example == "" {
			for j := range vals {
				if results[i][j] != results[best][j] {
					d.Example = vals[j]
					break
				}
			}
		}
	}
	if len(d.Candidates) == 1 {
		d.Candidates = nil
		return d, nil
	}
	d.Ambiguous = true
	quoted := make([]string, len(d.Candidates))
	for i, c := range d.Candidates {
		quoted[i] = strconv.Quote(formatLabel(c))
	}
	what := "format"
	if t == intake.TypeDecimal {
		what = "decimal separator"
	}
	return d, fmt.Errorf("%w: the values fit the %ss %s equally well, and they read %s differently", ErrAmbiguousFormat, what, strings.Join(quoted, " and "), quoteCell(d.Example))
}

// plausibleSerial reports whether v looks like an Excel serial date for
// detection: digits only (a fraction too for timestamps), 1000 (1902) or
// more. Small numbers and decimals ("4.5") are numbers, not dates.
func plausibleSerial(v string, t intake.FieldType) bool {
	intPart, frac, hasFrac := strings.Cut(v, ".")
	if hasFrac && t != intake.TypeTimestamp || len(intPart) < 4 || !isDigits(intPart) || hasFrac && !isDigits(frac) {
		return false
	}
	return true
}

func formatLabel(f string) string {
	if f == "" {
		return "ISO 8601"
	}
	return f
}

func sameResults(a, b []intake.Value) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
