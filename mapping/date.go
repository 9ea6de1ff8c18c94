package mapping

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/intakehq/intake"
)

// A pattern is an LDML date/time pattern compiled into a list of tokens,
// matched against a cell left to right without backtracking.
type pattern struct {
	src    string
	toks   []token
	has    uint16 // bit set of the tokKinds present
	layout string // the pattern, for messages
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
)

type token struct {
	kind tokKind
	n    int    // digits of tokFrac
	lit  string // tokLit
}

const (
	hasYear  = 1<<tokYear4 | 1<<tokYear2
	hasMonth = 1<<tokMonthName | 1<<tokMonth2 | 1<<tokMonth1
	hasDay   = 1<<tokDay2 | 1<<tokDay1
	hasHour  = 1<<tokHour2 | 1<<tokHour1
	hasMin   = 1<<tokMin2 | 1<<tokMin1
	hasSec   = 1<<tokSec2 | 1<<tokSec1
	hasFrac  = 1 << tokFrac
)

// compilePattern compiles an LDML pattern made of the letters
// yyyy yy MMMM MMM MM M dd d HH H mm m ss s S… and literal text. ASCII letters
// are reserved for fields; put literal letters in single quotes ('T'), and
// write a quote as ”.
func compilePattern(src string) (*pattern, error) {
	p := &pattern{src: src, layout: src}
	if src == "" {
		return nil, errors.New("empty pattern")
	}
	addLit := func(s string) {
		if n := len(p.toks); n > 0 && p.toks[n-1].kind == tokLit {
			p.toks[n-1].lit += s
			return
		}
		p.toks = append(p.toks, token{kind: tokLit, lit: s})
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\'':
			if i+1 < len(src) && src[i+1] == '\'' {
				addLit("'")
				i += 2
				continue
			}
			end := strings.IndexByte(src[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote at position %d", i+1)
			}
			addLit(src[i+1 : i+1+end])
			i += end + 2
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(src) && src[j] == c {
				j++
			}
			n := j - i
			var k tokKind
			ok := true
			switch c {
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
			case 'd', 'H', 'm', 's':
				if n > 2 {
					ok = false
					break
				}
				k = map[byte][2]tokKind{'d': {tokDay1, tokDay2}, 'H': {tokHour1, tokHour2}, 'm': {tokMin1, tokMin2}, 's': {tokSec1, tokSec2}}[c][n-1]
			case 'S':
				if n > 9 {
					ok = false
				}
				k = tokFrac
			default:
				return nil, fmt.Errorf("letter %q at position %d is not supported (use yyyy yy MMMM MMM MM M dd d HH H mm m ss s S, and quote literal letters: 'T')", c, i+1)
			}
			if !ok {
				return nil, fmt.Errorf("%q at position %d is not supported (use yyyy yy MMMM MMM MM M dd d HH H mm m ss s S)", src[i:j], i+1)
			}
			if p.has&(1<<k) != 0 || (k != tokFrac && p.has&groupOf(k) != 0) {
				return nil, fmt.Errorf("%q at position %d repeats a field", src[i:j], i+1)
			}
			if last := len(p.toks) - 1; last >= 0 && variableWidth(p.toks[last].kind) && k != tokMonthName {
				return nil, fmt.Errorf("%q at position %d follows a one-or-two-digit field directly, which is ambiguous: use two letters (MM, dd, HH, mm, ss) or put a separator between", src[i:j], i+1)
			}
			p.has |= 1 << k
			p.toks = append(p.toks, token{kind: k, n: n})
			i = j
		default:
			j := i
			for j < len(src) && src[j] != '\'' && !(src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z') {
				j++
			}
			addLit(src[i:j])
			i = j
		}
	}
	return p, nil
}

// variableWidth reports whether a token reads one or two digits.
func variableWidth(k tokKind) bool {
	return k == tokMonth1 || k == tokDay1 || k == tokHour1 || k == tokMin1 || k == tokSec1
}

func groupOf(k tokKind) uint16 {
	for _, g := range [...]uint16{hasYear, hasMonth, hasDay, hasHour, hasMin, hasSec} {
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
	return nil
}

// dt is a broken-down date and time read by a pattern.
type dt struct {
	year, month, day, hour, min, sec, nsec int
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
	if v.year < 1 || v.month < 1 || v.month > 12 || v.day < 1 || v.day > daysIn(v.year, v.month) ||
		v.hour > 23 || v.min > 59 || v.sec > 59 {
		return v, false
	}
	return v, true
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
	isoDate      = mustPattern("yyyy-MM-dd")
	isoDateTime  = mustPattern("yyyy-MM-dd HH:mm:ss")
	isoDateTimeT = mustPattern("yyyy-MM-dd'T'HH:mm:ss")
	isoTime      = mustPattern("HH:mm:ss")
	isoTimeShort = mustPattern("HH:mm")
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

// parseTimestamp reads a timestamp with p (UTC). Without p it accepts RFC
// 3339 (with any offset or Z, fractions allowed) and "yyyy-MM-dd HH:mm:ss"
// or "yyyy-MM-ddTHH:mm:ss" without an offset, taken as UTC.
func parseTimestamp(p *pattern, s string) (intake.Value, bool) {
	if p != nil {
		v, ok := p.match(s)
		if !ok {
			return intake.Null, false
		}
		return intake.Timestamp(time.Date(v.year, time.Month(v.month), v.day, v.hour, v.min, v.sec, v.nsec, time.UTC)), true
	}
	if len(s) == len("2006-01-02 15:04:05") {
		pp := isoDateTime
		if s[10] == 'T' || s[10] == 't' {
			pp = isoDateTimeT
			if s[10] == 't' {
				return intake.Null, false
			}
		}
		if v, ok := pp.match(s); ok {
			return intake.Timestamp(time.Date(v.year, time.Month(v.month), v.day, v.hour, v.min, v.sec, 0, time.UTC)), true
		}
		return intake.Null, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return intake.Null, false
	}
	return intake.Timestamp(t), true
}

// parseTime reads a time of day with p; without p it accepts HH:mm:ss and
// HH:mm.
func parseTime(p *pattern, s string) (intake.Value, bool) {
	var v dt
	var ok bool
	switch {
	case p != nil:
		v, ok = p.match(s)
	case len(s) == 5:
		v, ok = isoTimeShort.match(s)
	default:
		v, ok = isoTime.match(s)
	}
	if !ok {
		return intake.Null, false
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
