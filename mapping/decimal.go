package mapping

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"github.com/shopspring/decimal"
)

// maxExponent bounds the exponent of numbers written like 1.5E+3, so that a
// cell cannot blow up into a huge canonical string.
const maxExponent = 100

// parseDecimal reads a number with the decimal separator '.' or ','. The
// other of the two, an apostrophe and spaces (ASCII, no-break, thin) are
// accepted as thousands separators between groups of three digits: with '.'
// "1,234.56" and "1 234.56", with ',' "1.234,56" and "1 234,56". A leading
// + or -, a currency symbol before or after the number ("$12", "12 €"), a
// missing integer or fraction part (".5", "5.") and an exponent ("1.5E3",
// |exponent| ≤ 100) are accepted. The value is canonical: no leading zeros,
// no trailing fractional zeros, no "-0".
//
// When the canonical form is a substring of s (plain numbers such as
// "1234.50", "-7", "0042") it is returned without allocating.
func parseDecimal(s string, sep byte) (intake.Value, bool) {
	s = stripCurrency(s)
	neg := false
	start := 0
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		start = 1
		if rest := stripCurrency(s[1:]); len(rest) != len(s)-1 {
			s = s[:1] + rest // "-$12": rare, allocation acceptable
		}
	}
	grp := byte(',')
	if sep == ',' {
		grp = '.'
	}
	var (
		i         = start
		intStart  = start
		intEnd    int
		fracStart = -1
		fracEnd   = -1
		groupSep  rune // the one thousands separator in use, 0 if none
		groupLen  = 0  // digits in the current group
		groups    = 0  // separators seen
		nDigits   = 0
	)
	for i < len(s) {
		c := s[i]
		if c >= '0' && c <= '9' {
			groupLen++
			nDigits++
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if c == grp || r == ' ' || r == '\'' || r == '\u00a0' || r == '\u202f' || r == '\u2009' || r == '’' {
			if groupSep != 0 && groupSep != r {
				return intake.Null, false
			}
			if groupLen == 0 || groupLen > 3 || groups > 0 && groupLen != 3 {
				return intake.Null, false
			}
			groupSep = r
			groups++
			groupLen = 0
			i += size
			continue
		}
		break
	}
	if groups > 0 && (groupLen != 3 || s[intStart] == '0') {
		return intake.Null, false // "1,23" or "0,123": not grouped thousands
	}
	intEnd = i
	intDigits := nDigits
	if i < len(s) && s[i] == sep {
		i++
		fracStart = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		fracEnd = i
	}
	if intDigits == 0 && fracEnd-fracStart <= 0 {
		return intake.Null, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e < -maxExponent || e > maxExponent {
			return intake.Null, false
		}
		exp = e
		i = len(s)
		if exp == 0 {
			return intake.Null, false
		}
	}
	if i != len(s) {
		return intake.Null, false
	}
	intPart := s[intStart:intEnd]
	frac := ""
	if fracStart >= 0 {
		frac = s[fracStart:fracEnd]
	}
	if groups > 0 {
		intPart = strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, intPart)
	}
	if exp != 0 {
		b := make([]byte, 0, len(intPart)+len(frac)+8)
		if neg {
			b = append(b, '-')
		}
		b = append(b, intPart...)
		if intPart == "" {
			b = append(b, '0')
		}
		if frac != "" {
			b = append(b, '.')
			b = append(b, frac...)
		}
		b = append(b, 'e')
		b = strconv.AppendInt(b, int64(exp), 10)
		d, err := decimal.NewFromString(string(b))
		if err != nil {
			return intake.Null, false
		}
		return intake.Decimal(d), true
	}
	// Canonicalize: trim leading zeros and trailing fractional zeros.
	lead := 0
	for lead < len(intPart)-1 && intPart[lead] == '0' {
		lead++
	}
	intPart = intPart[lead:]
	frac = strings.TrimRight(frac, "0")
	if intPart == "" {
		intPart = "0"
		lead = -1 // "0" is not in s
	}
	if intPart == "0" && frac == "" {
		return zeroDecimal, true
	}
	// Without grouping and with '.', the canonical form may be a substring.
	if groups == 0 && sep == '.' && lead >= 0 {
		a := intStart + lead
		if neg {
			if lead > 0 || s[a-1] != '-' {
				goto build
			}
			a--
		}
		b := intEnd
		if frac != "" {
			b = fracStart + len(frac)
		}
		if v, ok := intake.DecimalString(s[a:b]); ok {
			return v, true
		}
	}
build:
	var b strings.Builder
	b.Grow(len(intPart) + len(frac) + 2)
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(intPart)
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return intake.DecimalString(b.String())
}

var zeroDecimal, _ = intake.DecimalString("0")

// stripCurrency removes one currency symbol (Unicode category Sc, such as
// $ € £ ¥) and the spaces next to it from either end of s.
func stripCurrency(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c == '$' || c >= utf8.RuneSelf {
		r, size := utf8.DecodeRuneInString(s)
		if unicode.Is(unicode.Sc, r) {
			return trimSpaceUnicode(s[size:])
		}
	}
	if c := s[len(s)-1]; c == '$' || c >= utf8.RuneSelf {
		r, size := utf8.DecodeLastRuneInString(s)
		if unicode.Is(unicode.Sc, r) {
			return trimSpaceUnicode(s[:len(s)-size])
		}
	}
	return s
}

func trimSpaceUnicode(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009' })
}
