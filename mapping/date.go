package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake"
)

// A pattern is an LDML date/time pattern compiled into a list of tokens,
// matched against a cell left to right without backtracking.
type pattern struct {
	src    string
	toks   []token
	has    uint32 // bit set of the tokKinds present
	layout string // the pattern, for messages
	// alts are the shorter patterns that a timestamp pattern also reads
	// when it does not read a cell itself (see shortForms); nil for the
	// other types.
	alts []*pattern
}

type tokKind uint8

const (
	tokLit       tokKind = iota
	tokYear4             // yyyy: exactly 4 digits
	tokYear2             // yy: 2 digits, 69–99 → 19xx, 00–68 → 20xx
	tokMonthName         // MMMM, MMM: English month name or abbreviation, any case
	tokMonth2            // MM: 2 digits
	tokMonth1            // M: 1 or 2 digits
	tokDay2              // dd
	tokDay1              // d
	tokHour2             // HH
	tokHour1             // H
	tokMin2              // mm
	tokMin1              // m
	tokSec2              // ss
	tokSec1              // s
	tokFrac              // S…: exactly n fraction digits
	tokHour12_2          // hh: 01–12
	tokHour12_1          // h: 1–12
	tokAmPm              // a: AM or PM (also am, pm, a.m., p.m.)
	tokZone              // X… x… Z…: Z, ±hh, ±hhmm or ±hh:mm
)

type token struct {
	kind tokKind
	n    int    // digits of tokFrac
	lit  string // tokLit
	src  string // the token as the pattern writes it ("yyyy", "'T'", ":")
}

const (
	hasYear  = 1<<tokYear4 | 1<<tokYear2
	hasMonth = 1<<tokMonthName | 1<<tokMonth2 | 1<<tokMonth1
	hasDay   = 1<<tokDay2 | 1<<tokDay1
	hasHour  = 1<<tokHour2 | 1<<tokHour1 | 1<<tokHour12_2 | 1<<tokHour12_1
	hasH12   = 1<<tokHour12_2 | 1<<tokHour12_1
	hasAmPm  = 1 << tokAmPm
	hasZone  = 1 << tokZone
	hasMin   = 1<<tokMin2 | 1<<tokMin1
	hasSec   = 1<<tokSec2 | 1<<tokSec1
	hasFrac  = 1 << tokFrac
)

// compilePattern compiles an LDML pattern made of the letters
// yyyy yy MMMM MMM MM M dd d HH H hh h a mm m ss s S… X x Z and literal
// text. ASCII letters are reserved for fields; put literal letters in
// single quotes ('T'), and write a quote itself as two single quotes.
func compilePattern(src string) (*pattern, error) {
	if src == "" {
		return nil, errors.New("empty pattern")
	}
	p := &pattern{src: src, layout: src}
	for i := 0; i < len(src); {
		var err error
		switch c := src[i]; {
		case c == '\'':
			i, err = p.addQuoted(src, i)
		case isASCIILetter(c):
			i, err = p.addField(src, i)
		default:
			j := i
			for j < len(src) && src[j] != '\'' && !isASCIILetter(src[j]) {
				j++
			}
			p.addLit(src[i:j], src[i:j])
			i = j
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// shortForms returns the shorter forms of a timestamp pattern with a
// time, which a column also reads: the pattern without its seconds and
// fractions ("MM/dd/yyyy HH:mm:ss" → "MM/dd/yyyy HH:mm", "M/d/yyyy
// h:mm:ss a" → "M/d/yyyy h:mm a"; what follows them, AM/PM or a zone,
// stays), and its date part, the pattern up to its first hour letter
// without the literal text that ends it ("MM/dd/yyyy", read as midnight).
// A form is left out when the pattern does not have it: no seconds, no
// hours, a date part that is not a whole date (a time before the date),
// or seconds written before the minutes.
func (p *pattern) shortForms() []*pattern {
	var alts []*pattern
	if p.has&hasSec != 0 {
		mi, end := -1, -1
		for i, t := range p.toks {
			switch g := groupOf(t.kind); {
			case g == hasMin:
				mi = i
			case g == hasSec || t.kind == tokFrac:
				end = i
			}
		}
		if mi >= 0 && mi < end {
			toks := append(slices.Clone(p.toks[:mi+1]), p.toks[end+1:]...)
			alts = appendForm(alts, toks, intake.TypeTimestamp)
		}
	}
	if p.has&hasHour != 0 {
		hi := slices.IndexFunc(p.toks, func(t token) bool { return groupOf(t.kind) == hasHour })
		toks := p.toks[:hi]
		if n := len(toks); n > 0 && toks[n-1].kind == tokLit {
			toks = toks[:n-1]
		}
		alts = appendForm(alts, slices.Clone(toks), intake.TypeDate)
	}
	return alts
}

// appendForm appends the pattern of toks to alts when it suits type t.
func appendForm(alts []*pattern, toks []token, t intake.FieldType) []*pattern {
	f := &pattern{toks: toks}
	var b strings.Builder
	for _, tk := range toks {
		f.has |= 1 << tk.kind
		b.WriteString(tk.src)
	}
	f.src, f.layout = b.String(), b.String()
	if len(toks) == 0 || f.checkFor(t) != nil {
		return alts
	}
	return append(alts, f)
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// addLit appends literal text s, written src in the pattern, merged with
// a literal before it.
func (p *pattern) addLit(s, src string) {
	if n := len(p.toks); n > 0 && p.toks[n-1].kind == tokLit {
		p.toks[n-1].lit += s
		p.toks[n-1].src += src
		return
	}
	p.toks = append(p.toks, token{kind: tokLit, lit: s, src: src})
}

// addQuoted appends the quoted literal at src[i] ('T', or ” for a quote)
// and returns the position after it.
func (p *pattern) addQuoted(src string, i int) (int, error) {
	if i+1 < len(src) && src[i+1] == '\'' {
		p.addLit("'", "''")
		return i + 2, nil
	}
	end := strings.IndexByte(src[i+1:], '\'')
	if end < 0 {
		return 0, fmt.Errorf("unterminated quote at position %d", i+1)
	}
	p.addLit(src[i+1:i+1+end], src[i:i+end+2])
	return i + end + 2, nil
}

// addField appends the field that the run of one letter at src[i] writes
// ("yyyy", "MM", "a") and returns the position after the run. A field may
// appear once, and one read with one or two digits (M, d, H, h, m, s) must
// not be followed by another number: the match reads digits greedily and
// does not backtrack.
func (p *pattern) addField(src string, i int) (int, error) {
	j := i
	for j < len(src) && src[j] == src[i] {
		j++
	}
	run := src[i:j]
	k, err := fieldKind(run, i+1)
	if err != nil {
		return 0, err
	}
	if last := len(p.toks) - 1; last >= 0 && k == tokZone && p.toks[last].kind != tokLit && variableWidth(p.toks[last].kind) {
		return 0, fmt.Errorf("%q at position %d follows a one-or-two-digit field directly, which is ambiguous: put a separator between", run, i+1)
	}
	if p.has&(1<<k) != 0 || (k != tokFrac && p.has&groupOf(k) != 0) {
		return 0, fmt.Errorf("%q at position %d repeats a field", run, i+1)
	}
	if last := len(p.toks) - 1; last >= 0 && variableWidth(p.toks[last].kind) && k != tokMonthName && k != tokAmPm && k != tokZone {
		return 0, fmt.Errorf("%q at position %d follows a one-or-two-digit field directly, which is ambiguous: use two letters (MM, dd, HH, mm, ss) or put a separator between", run, i+1)
	}
	p.has |= 1 << k
	p.toks = append(p.toks, token{kind: k, n: len(run), src: run})
	return j, nil
}

// shortFields are the tokens of the letters written once or twice: one
// letter reads one or two digits, two letters exactly two.
var shortFields = map[byte][2]tokKind{'d': {tokDay1, tokDay2}, 'H': {tokHour1, tokHour2}, 'h': {tokHour12_1, tokHour12_2}, 'm': {tokMin1, tokMin2}, 's': {tokSec1, tokSec2}}

// fieldKind returns the token of a run of one letter ("yyyy", "MM") at
// 1-based position pos, or why the pattern cannot have it.
func fieldKind(run string, pos int) (tokKind, error) {
	n := len(run)
	k, ok := tokLit, true
	switch c := run[0]; c {
	case 'y':
		switch n {
		case 4:
			k = tokYear4
		case 2:
			k = tokYear2
		default:
			ok = false
		}
	case 'M':
		switch n {
		case 1:
			k = tokMonth1
		case 2:
			k = tokMonth2
		case 3, 4:
			k = tokMonthName
		default:
			ok = false
		}
	case 'd', 'H', 'h', 'm', 's':
		if n > 2 {
			ok = false
			break
		}
		k = shortFields[c][n-1]
	case 'a':
		k, ok = tokAmPm, n == 1
	case 'X', 'x', 'Z':
		k, ok = tokZone, n <= 5
	case 'S':
		k, ok = tokFrac, n <= 9
	default:
		return k, fmt.Errorf("letter %q at position %d is not supported (use yyyy yy MMMM MMM MM M dd d HH H mm m ss s S, and quote literal letters: 'T')", c, pos)
	}
	if !ok {
		return k, fmt.Errorf("%q at position %d is not supported (use yyyy yy MMMM MMM MM M dd d HH H mm m ss s S)", run, pos)
	}
	return k, nil
}

// variableWidth reports whether a token reads one or two digits.
func variableWidth(k tokKind) bool {
	return k == tokMonth1 || k == tokDay1 || k == tokHour1 || k == tokHour12_1 || k == tokMin1 || k == tokSec1
}

func groupOf(k tokKind) uint32 {
	for _, g := range [...]uint32{hasYear, hasMonth, hasDay, hasHour, hasMin, hasSec, hasAmPm, hasZone} {
		if g&(1<<k) != 0 {
			return g
		}
	}
	return 0
}

// checkFor reports whether the pattern suits a field of type t.
func (p *pattern) checkFor(t intake.FieldType) error {
	date := p.has&hasYear != 0 && p.has&hasMonth != 0 && p.has&hasDay != 0
	anyDate := p.has&(hasYear|hasMonth|hasDay) != 0
	switch t {
	case intake.TypeDate:
		if !date {
			return errors.New("a date pattern needs a year (yyyy or yy), a month (M, MM, MMM or MMMM) and a day (d or dd)")
		}
		if p.has&(hasHour|hasMin|hasSec|hasFrac) != 0 {
			return errors.New("a date pattern cannot have hours, minutes or seconds: the field's type is date, use timestamp for date and time")
		}
	case intake.TypeTimestamp:
		if !date {
			return errors.New("a timestamp pattern needs a year (yyyy or yy), a month (M, MM, MMM or MMMM) and a day (d or dd)")
		}
	case intake.TypeTime:
		if anyDate || p.has&hasHour == 0 || p.has&hasMin == 0 {
			return errors.New("a time pattern needs hours (HH or H) and minutes (mm), and no date letters")
		}
	default:
		return fmt.Errorf("a format applies to date, time and timestamp fields, not to %s", t)
	}
	if p.has&hasMin != 0 && p.has&hasHour == 0 || p.has&hasSec != 0 && p.has&hasMin == 0 || p.has&hasFrac != 0 && p.has&hasSec == 0 {
		return errors.New("minutes need hours, seconds need minutes, and fractions need seconds")
	}
	if (p.has&hasH12 != 0) != (p.has&hasAmPm != 0) {
		return errors.New("a 12-hour clock (h or hh) needs AM/PM (a), and a needs h or hh: use HH for a 24-hour clock")
	}
	if p.has&hasZone != 0 && p.has&hasHour == 0 {
		return errors.New("a zone offset (X, x or Z) needs a time (hours and minutes)")
	}
	return nil
}

// dt is a broken-down date and time read by a pattern.
type dt struct {
	year, month, day, hour, min, sec, nsec int
	ampm                                   int // 0 none, 1 AM, 2 PM
	off                                    int // zone offset in seconds, when hasOff
	hasOff                                 bool
}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

// match reads s with the pattern. It reports false on any mismatch,
// including trailing text and impossible dates (2023-02-30).
func (p *pattern) match(s string) (dt, bool) {
	v := dt{year: 2000, month: 1, day: 1} // defaults for patterns without a date
	i := 0
	for _, t := range p.toks {
		var n int
		var ok bool
		switch t.kind {
		case tokLit:
			if !strings.HasPrefix(s[i:], t.lit) {
				return v, false
			}
			i += len(t.lit)
			continue
		case tokYear4:
			n, i, ok = digits(s, i, 4, 4)
			v.year = n
		case tokYear2:
			n, i, ok = digits(s, i, 2, 2)
			if n < 69 {
				n += 2000
			} else {
				n += 1900
			}
			v.year = n
		case tokMonthName:
			v.month, i, ok = monthName(s, i)
		case tokMonth2:
			v.month, i, ok = digits(s, i, 2, 2)
		case tokMonth1:
			v.month, i, ok = digits(s, i, 1, 2)
		case tokDay2:
			v.day, i, ok = digits(s, i, 2, 2)
		case tokDay1:
			v.day, i, ok = digits(s, i, 1, 2)
		case tokHour2:
			v.hour, i, ok = digits(s, i, 2, 2)
		case tokHour1:
			v.hour, i, ok = digits(s, i, 1, 2)
		case tokHour12_2:
			v.hour, i, ok = digits(s, i, 2, 2)
			ok = ok && v.hour >= 1 && v.hour <= 12
		case tokHour12_1:
			v.hour, i, ok = digits(s, i, 1, 2)
			ok = ok && v.hour >= 1 && v.hour <= 12
		case tokAmPm:
			v.ampm, i, ok = ampm(s, i)
		case tokZone:
			v.off, i, ok = zoneOffset(s, i)
			v.hasOff = ok
		case tokMin2:
			v.min, i, ok = digits(s, i, 2, 2)
		case tokMin1:
			v.min, i, ok = digits(s, i, 1, 2)
		case tokSec2:
			v.sec, i, ok = digits(s, i, 2, 2)
		case tokSec1:
			v.sec, i, ok = digits(s, i, 1, 2)
		case tokFrac:
			n, i, ok = digits(s, i, t.n, t.n)
			for k := t.n; k < 9; k++ {
				n *= 10
			}
			v.nsec = n
		}
		if !ok {
			return v, false
		}
	}
	if i != len(s) {
		return v, false
	}
	ok := v.settle()
	return v, ok
}

// settle turns a 12-hour clock's hour into the 24-hour one and reports
// whether the date and time exist.
func (v *dt) settle() bool {
	switch v.ampm {
	case 1:
		if v.hour == 12 {
			v.hour = 0
		}
	case 2:
		if v.hour != 12 {
			v.hour += 12
		}
	}
	return v.year >= 1 && v.month >= 1 && v.month <= 12 && v.day >= 1 && v.day <= daysIn(v.year, v.month) &&
		v.hour <= 23 && v.min <= 59 && v.sec <= 59
}

// digits reads between min and max ASCII digits at s[i:].
func digits(s string, i, min, max int) (n, j int, ok bool) {
	j = i
	for j < len(s) && j-i < max && s[j] >= '0' && s[j] <= '9' {
		n = n*10 + int(s[j]-'0')
		j++
	}
	return n, j, j-i >= min
}

// monthName reads an English month name or its three-letter abbreviation,
// in any case, at s[i:].
func monthName(s string, i int) (m, j int, ok bool) {
	rest := s[i:]
	for k, name := range monthNames {
		if len(rest) >= len(name) && strings.EqualFold(rest[:len(name)], name) {
			return k + 1, i + len(name), true
		}
	}
	for k, name := range monthNames {
		if len(rest) >= 3 && strings.EqualFold(rest[:3], name[:3]) {
			return k + 1, i + 3, true
		}
	}
	return 0, i, false
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

var (
	isoDate = mustPattern("yyyy-MM-dd")
)

func mustPattern(s string) *pattern {
	p, err := compilePattern(s)
	if err != nil {
		panic(err)
	}
	return p
}

// parseDate reads a date with p, ISO yyyy-MM-dd when p is nil.
func parseDate(p *pattern, s string) (intake.Value, bool) {
	if p == nil || p == isoDate {
		return parseISODate(s)
	}
	v, ok := p.match(s)
	if !ok {
		return intake.Null, false
	}
	return intake.Date(v.year, time.Month(v.month), v.day), true
}

// parseTimestamp reads a timestamp with p, else with its shorter forms
// (p.alts: a date alone is midnight). A cell that carries a zone
// offset (X/x/Z in p, or "Z"/"+01:00" in ISO form) is read in that offset;
// one without is read in loc (UTC when nil). Without p it accepts ISO 8601
// / RFC 3339: yyyy-MM-dd, then T or a space, HH:mm, optional :ss and
// fractions, and an optional offset: Z, ±hh, ±hhmm or
// ±hh:mm ("2026-03-29T01:30:00+01:00", "2026-03-29 01:30:00Z").
func parseTimestamp(p *pattern, s string, loc *time.Location) (intake.Value, bool) {
	if loc == nil {
		loc = time.UTC
	}
	if p == nil {
		return parseISOTimestamp(s, loc)
	}
	v, ok := p.match(s)
	for i := 0; !ok && i < len(p.alts); i++ {
		v, ok = p.alts[i].match(s)
	}
	if !ok {
		return intake.Null, false
	}
	if v.hasOff {
		loc = fixedZone(v.off)
	}
	return intake.Timestamp(time.Date(v.year, time.Month(v.month), v.day, v.hour, v.min, v.sec, v.nsec, loc)), true
}

// fixedZone returns UTC for offset 0 and a fixed zone otherwise.
func fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone("", off)
}

// parseISOTimestamp is the default timestamp reader (see parseTimestamp).
func parseISOTimestamp(s string, loc *time.Location) (intake.Value, bool) {
	if len(s) < 16 || s[10] != 'T' && s[10] != ' ' {
		return intake.Null, false
	}
	d, ok := parseISODate(s[:10])
	if !ok {
		return intake.Null, false
	}
	v, i, ok := clock(s, 11)
	if !ok {
		return intake.Null, false
	}
	if i < len(s) {
		off, j, ok := zoneOffset(s, i)
		if !ok || j != len(s) {
			return intake.Null, false
		}
		loc = fixedZone(off)
	}
	y, m, dd := d.Time().Date()
	return intake.Timestamp(time.Date(y, m, dd, v.hour, v.min, v.sec, v.nsec, loc)), true
}

// clock reads HH:mm, optionally followed by :ss and a fraction (after "."
// or ","; digits beyond nanoseconds are dropped), at s[i:].
func clock(s string, i int) (v dt, j int, ok bool) {
	if v.hour, i, ok = digits(s, i, 2, 2); !ok || v.hour > 23 || i >= len(s) || s[i] != ':' {
		return v, i, false
	}
	if v.min, i, ok = digits(s, i+1, 2, 2); !ok || v.min > 59 {
		return v, i, false
	}
	if i < len(s) && s[i] == ':' {
		if v.sec, i, ok = digits(s, i+1, 2, 2); !ok || v.sec > 59 {
			return v, i, false
		}
		if i < len(s) && (s[i] == '.' || s[i] == ',') {
			start := i + 1
			n, k, ok := digits(s, start, 1, 9)
			if !ok {
				return v, k, false
			}
			for w := k - start; w < 9; w++ {
				n *= 10
			}
			for k < len(s) && s[k] >= '0' && s[k] <= '9' { // beyond nanoseconds: dropped
				k++
			}
			v.nsec, i = n, k
		}
	}
	return v, i, true
}

// zoneOffset reads Z (or z), ±hh, ±hhmm or ±hh:mm at s[i:] and returns the
// offset in seconds east of UTC.
func zoneOffset(s string, i int) (off, j int, ok bool) {
	if i >= len(s) {
		return 0, i, false
	}
	switch s[i] {
	case 'Z', 'z':
		return 0, i + 1, true
	case '+', '-':
	default:
		return 0, i, false
	}
	sign := 1
	if s[i] == '-' {
		sign = -1
	}
	h, k, ok := digits(s, i+1, 2, 2)
	if !ok || h > 23 {
		return 0, k, false
	}
	m := 0
	switch {
	case k < len(s) && s[k] == ':':
		if m, k, ok = digits(s, k+1, 2, 2); !ok {
			return 0, k, false
		}
	case k+1 < len(s) && s[k] >= '0' && s[k] <= '9':
		if m, k, ok = digits(s, k, 2, 2); !ok {
			return 0, k, false
		}
	}
	if m > 59 {
		return 0, k, false
	}
	return sign * (h*3600 + m*60), k, true
}

// ampm reads AM or PM (any case, also a.m. and p.m.) at s[i:]: 1 for AM,
// 2 for PM.
func ampm(s string, i int) (v, j int, ok bool) {
	rest := s[i:]
	for _, w := range [...]struct {
		s string
		v int
	}{{"a.m.", 1}, {"p.m.", 2}, {"am", 1}, {"pm", 2}} {
		if len(rest) >= len(w.s) && strings.EqualFold(rest[:len(w.s)], w.s) {
			return w.v, i + len(w.s), true
		}
	}
	return 0, i, false
}

// parseTime reads a time of day with p; without p it accepts HH:mm:ss and
// HH:mm, optionally with fractions and a zone offset. A time with an
// offset (in the cell or, when loc is a fixed zone, the column's) is
// converted to UTC; one without is kept as written.
func parseTime(p *pattern, s string, loc *time.Location) (intake.Value, bool) {
	var v dt
	var ok bool
	switch {
	case p != nil:
		v, ok = p.match(s)
	default:
		var i int
		v, i, ok = clock(s, 0)
		if ok && i < len(s) {
			v.off, i, ok = zoneOffset(s, i)
			v.hasOff = true
		}
		ok = ok && i == len(s)
	}
	if !ok {
		return intake.Null, false
	}
	if !v.hasOff && loc != nil {
		_, v.off = time.Date(2000, 1, 1, 0, 0, 0, 0, loc).Zone()
		v.hasOff = true
	}
	if v.hasOff && v.off != 0 {
		sec := ((v.hour*60+v.min)*60 + v.sec - v.off) % 86400
		if sec < 0 {
			sec += 86400
		}
		v.hour, v.min, v.sec = sec/3600, sec/60%60, sec%60
	}
	return intake.TimeOfDay(v.hour, v.min, v.sec, v.nsec/1000)
}

// parseISODate reads yyyy-MM-dd without the pattern interpreter.
func parseISODate(s string) (intake.Value, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return intake.Null, false
	}
	var n [8]int
	for i, j := range [8]int{0, 1, 2, 3, 5, 6, 8, 9} {
		c := s[j]
		if c < '0' || c > '9' {
			return intake.Null, false
		}
		n[i] = int(c - '0')
	}
	y := n[0]*1000 + n[1]*100 + n[2]*10 + n[3]
	m := n[4]*10 + n[5]
	d := n[6]*10 + n[7]
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return intake.Null, false
	}
	return intake.Date(y, time.Month(m), d), true
}

// Excel date systems: the value of a column's "format" that reads Excel
// serial numbers.
const (
	FormatExcel1900 = "excel1900" // serial 1 is 1900-01-01; 60 is Excel's phantom 1900-02-29
	FormatExcel1904 = "excel1904" // serial 0 is 1904-01-01 (old Mac workbooks)
	FormatAuto      = "auto"      // detected at Compile from Options.Sample
)

// maxExcelSerial is 9999-12-31 in the 1900 system.
const maxExcelSerial = 2958465

// excelSerial reads an Excel serial number in the 1900 or 1904 system: a
// day number, optionally with a fraction of a day ("45382.5" is noon). It
// returns the date and the milliseconds into the day (rounded). In the
// 1900 system serials 1–59 are 1900-01-01 to 1900-02-28 and serial 60 —
// 1900-02-29, a day that did not exist but that Excel kept from Lotus 1-2-3
// — is rejected; from 61 on the serial counts from 1899-12-30.
func excelSerial(s string, system int) (y int, m time.Month, d int, ms int64, ok bool) {
	n, i, ok := digits(s, 0, 1, 7)
	if !ok {
		return
	}
	if i < len(s) {
		if s[i] != '.' || i+1 == len(s) {
			return 0, 0, 0, 0, false
		}
		frac := s[i+1:]
		for j := 0; j < len(frac); j++ {
			if frac[j] < '0' || frac[j] > '9' {
				return 0, 0, 0, 0, false
			}
		}
		if len(frac) > 10 {
			frac = frac[:10]
		}
		f, scale := int64(0), int64(1)
		for j := 0; j < len(frac); j++ {
			f = f*10 + int64(frac[j]-'0')
			scale *= 10
		}
		ms = (f*86400000 + scale/2) / scale
	}
	var base time.Time
	switch system {
	case 1900:
		switch {
		case n < 1 || n == 60 || n > maxExcelSerial:
			return 0, 0, 0, 0, false
		case n < 60:
			base = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)
		default:
			base = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
		}
	case 1904:
		if n > maxExcelSerial-1462 {
			return 0, 0, 0, 0, false
		}
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		return 0, 0, 0, 0, false
	}
	t := base.AddDate(0, 0, n)
	if ms >= 86400000 {
		t, ms = t.AddDate(0, 0, 1), ms-86400000
	}
	y, m, d = t.Date()
	return y, m, d, ms, true
}

// formatDatePattern writes the date of t with the date letters of p
// (month names in English); time letters are written as zeros.
func formatDatePattern(p *pattern, t time.Time) string {
	var b []byte
	pad := func(n, w int) {
		s := strconv.Itoa(n)
		for i := len(s); i < w; i++ {
			b = append(b, '0')
		}
		b = append(b, s...)
	}
	for _, tk := range p.toks {
		switch tk.kind {
		case tokLit:
			b = append(b, tk.lit...)
		case tokYear4:
			pad(t.Year(), 4)
		case tokYear2:
			pad(t.Year()%100, 2)
		case tokMonthName:
			name := t.Month().String()
			if tk.n == 3 {
				name = name[:3]
			}
			b = append(b, name...)
		case tokMonth2:
			pad(int(t.Month()), 2)
		case tokMonth1:
			pad(int(t.Month()), 1)
		case tokDay2:
			pad(t.Day(), 2)
		case tokDay1:
			pad(t.Day(), 1)
		default:
			pad(0, 2)
		}
	}
	return string(b)
}
