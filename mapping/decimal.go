package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"github.com/shopspring/decimal"
	"golang.org/x/text/currency"
)

// maxExponent bounds the exponent of numbers written like 1.5E+3, so that a
// cell cannot blow up into a huge canonical string.
const maxExponent = 100

// parseDecimal reads a number with the decimal separator '.' or ','. The
// other of the two, an apostrophe and spaces (ASCII, no-break, thin) are
// accepted as thousands separators between groups of three digits: with '.'
// "1,234.56" and "1 234.56", with ',' "1.234,56" and "1 234,56". A leading
// + or -, a currency before or after the number — an ISO 4217 code, a CLDR
// symbol or any currency sign: "$12", "12 €", "EUR 1.234,56", "12.50
// USD", "R$ 12" —, accounting parentheses and a trailing minus for
// negatives ("(12.50)", "12.50-"), a missing integer or fraction part
// (".5", "5.") and an exponent ("1.5E3", |exponent| ≤ 100) are accepted. The value is canonical: no leading zeros,
// no trailing fractional zeros, no "-0".
//
// When the canonical form is a substring of s (plain numbers such as
// "1234.50", "-7", "0042") it is returned without allocating.
func parseDecimal(s string, sep byte) (intake.Value, bool) {
	return parseAmount(s, sep, nil)
}

// parseAmount is parseDecimal with an optional currency restriction: when
// cur is set, a currency named in the cell must be one of its tokens.
// Cells that do not start and end like a plain number go through
// prepAmount first: currency codes and symbols, accounting parentheses
// "(12.50)" and a trailing minus "12.50-" (both negative).
//
// It reads the number's parts — sign, integer part with thousands
// separators, fraction, exponent — and writes them in canonical form.
// The parts are read in one function, since it runs per cell, where calls
// between the phases would add measurably to its cost; the rarer shapes
// (amounts, exponents, grouped thousands) have functions of their own.
func parseAmount(s string, sep byte, cur *currencyTokens) (intake.Value, bool) {
	if s == "" {
		return intake.Null, false
	}
	if !plainShape(s) {
		var ok bool
		if s, ok = unwrapAmount(s, cur); !ok {
			return intake.Null, false
		}
	}
	neg, start := sign(s)
	grp := byte(',')
	if sep == ',' {
		grp = '.'
	}
	// The integer part, its thousands in groups of three after a first
	// group of one to three digits, all separated by the same separator.
	var (
		i         = start
		intStart  = start
		fracStart = -1
		fracEnd   = -1
		groupSep  rune // the one thousands separator in use, 0 if none
		groupLen  = 0  // digits in the current group
		groups    = 0  // separators seen
		nDigits   = 0
	)
	for i < len(s) {
		c := s[i]
		if isDigit(c) {
			groupLen++
			nDigits++
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if !isThousandsSep(c, r, grp) {
			break
		}
		if groupSep != 0 && groupSep != r || !groupEnds(groupLen, groups) {
			return intake.Null, false
		}
		groupSep = r
		groups++
		groupLen = 0
		i += size
	}
	if groups > 0 && (groupLen != 3 || s[intStart] == '0') {
		return intake.Null, false // "1,23" or "0,123": not grouped thousands
	}
	intEnd := i
	// The fraction and the exponent.
	if i < len(s) && s[i] == sep {
		i++
		fracStart = i
		i = skipDigits(s, i)
		fracEnd = i
	}
	if nDigits == 0 && fracEnd-fracStart <= 0 {
		return intake.Null, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		var ok bool
		if exp, ok = parseExponent(s[i+1:]); !ok {
			return intake.Null, false
		}
		i = len(s)
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
		intPart = stripGroups(intPart)
	}
	if exp != 0 {
		return scaledDecimal(neg, intPart, frac, exp)
	}
	// The canonical form: no leading zeros, no trailing fractional zeros.
	lead := leadingZeros(intPart)
	intPart = intPart[lead:]
	frac = strings.TrimRight(frac, "0")
	if intPart == "" {
		intPart = "0"
		lead = -1 // "0" is not in s
	}
	if intPart == "0" && frac == "" {
		return zeroDecimal, true
	}
	// Without grouping and with '.', the canonical form may be a
	// substring: the digits after the leading zeros, and the sign when it
	// directly precedes them.
	if a := intStart + lead; groups == 0 && sep == '.' && lead >= 0 && (!neg || lead == 0 && s[a-1] == '-') {
		if neg {
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
	return joinDecimal(neg, intPart, frac)
}

// plainShape reports whether s starts and ends like a plain number: with
// a digit or a point, after a sign at the start.
func plainShape(s string) bool {
	last := s[len(s)-1]
	return plainStart(s) && (isDigit(last) || last == '.' || last == ',')
}

// sign reports whether s starts with a minus, and where its digits start:
// after a sign, if any.
func sign(s string) (neg bool, start int) {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		return s[0] == '-', 1
	}
	return false, 0
}

// skipDigits returns the position of the first non-digit in s from i on.
func skipDigits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// leadingZeros counts the zeros that start the digits s, keeping the last
// digit.
func leadingZeros(s string) int {
	n := 0
	for n < len(s)-1 && s[n] == '0' {
		n++
	}
	return n
}

// joinDecimal writes a canonical number from its parts.
func joinDecimal(neg bool, intPart, frac string) (intake.Value, bool) {
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

// isThousandsSep reports whether the byte c, which starts the rune r, is a
// thousands separator: grp (the other of '.' and ','), an apostrophe or a
// space (ASCII, no-break, narrow no-break, thin).
func isThousandsSep(c byte, r rune, grp byte) bool {
	return c == grp || r == ' ' || r == '\'' || r == '\u00a0' || r == '\u202f' || r == '\u2009' || r == '’'
}

// groupEnds reports whether a group of n digits may end at a thousands
// separator, after groups separators: the first group has one to three
// digits, the others three.
func groupEnds(n, groups int) bool {
	return n > 0 && n <= 3 && (groups == 0 || n == 3)
}

// unwrapAmount returns the number inside an amount (see prepAmount), with
// a leading minus when the amount is written as a negative.
func unwrapAmount(s string, cur *currencyTokens) (string, bool) {
	core, neg, ok := prepAmount(s, cur)
	if !ok {
		return "", false
	}
	if neg {
		if core != "" && (core[0] == '-' || core[0] == '+') {
			return "", false
		}
		core = "-" + core
	}
	return core, true
}

// parseExponent reads the exponent after the "e" of a number: not 0, and
// at most maxExponent either way.
func parseExponent(s string) (int, bool) {
	e, err := strconv.Atoi(s)
	if err != nil || e < -maxExponent || e > maxExponent || e == 0 {
		return 0, false
	}
	return e, true
}

// stripGroups returns the digits of an integer part without its thousands
// separators.
func stripGroups(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// scaledDecimal returns the number intPart.frac × 10^exp.
func scaledDecimal(neg bool, intPart, frac string, exp int) (intake.Value, bool) {
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

var zeroDecimal, _ = intake.DecimalString("0")

// plainStart reports whether s starts like a plain number: a digit or a
// point, possibly after a sign.
func plainStart(s string) bool {
	c := s[0]
	if (c == '-' || c == '+') && len(s) > 1 {
		c = s[1]
	}
	return c >= '0' && c <= '9' || c == '.' || c == ','
}

// plainEdge reports whether c may start or end a plain number.
func plainEdge(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == ',' || c == '-' || c == '+'
}

// prepAmount strips what surrounds the number of an amount: a currency
// code or symbol before or after it ("EUR 12", "12 €", "US$12", "12zł"),
// accounting parentheses ("(12.50)", "($12.50)") and a trailing minus
// ("12.50-"). neg reports a negative written that way; a leading sign is
// left in core. Each of the three may appear once.
func prepAmount(s string, cur *currencyTokens) (core string, neg, ok bool) {
	var sawCur, sawParen, sawMinus bool
	takeCur := func(tok string) bool {
		if sawCur || !isCurrencyToken(tok) {
			return false
		}
		if cur != nil && !cur.has(tok) {
			return false
		}
		sawCur = true
		return true
	}
	for range 6 {
		if s == "" {
			return "", false, false
		}
		changed := false
		// Parentheses around the whole amount.
		if !sawParen && len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' {
			s, sawParen, neg, changed = trimSpaceUnicode(s[1:len(s)-1]), true, true, true
			continue
		}
		// A trailing minus.
		if !sawMinus && !sawParen && len(s) >= 2 && s[len(s)-1] == '-' {
			s, sawMinus, neg, changed = trimRightSpace(s[:len(s)-1]), true, true, true
			continue
		}
		// A currency before the number, possibly after a sign.
		body, sign := s, ""
		if body[0] == '-' || body[0] == '+' {
			body, sign = trimLeftSpace(body[1:]), body[:1]
		}
		if n := currencyPrefix(body); n > 0 && takeCur(body[:n]) {
			rest := trimLeftSpace(body[n:])
			if sign != "" {
				if rest == "" || rest[0] == '-' || rest[0] == '+' {
					return "", false, false
				}
				if sign == "-" {
					if neg {
						return "", false, false
					}
					neg = true
				}
			}
			s, changed = rest, true
			continue
		}
		// A currency after the number.
		if n := currencySuffix(s); n > 0 && takeCur(s[len(s)-n:]) {
			s, changed = trimRightSpace(s[:len(s)-n]), true
			continue
		}
		if !changed {
			break
		}
	}
	if s == "" || !plainEdge(s[0]) && s[0] != '(' || !plainEdge(s[len(s)-1]) {
		return "", false, false
	}
	return s, neg, true
}

// currencyPrefix returns the length of the run of letters and symbols at
// the start of s (up to 8 bytes), which may name a currency.
func currencyPrefix(s string) int {
	n := 0
	for n < len(s) && n <= 8 {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !currencyRune(r) {
			break
		}
		n += size
	}
	if n > 8 {
		return 0
	}
	return n
}

// currencySuffix is currencyPrefix for the end of s.
func currencySuffix(s string) int {
	n := 0
	for n < len(s) && n <= 8 {
		r, size := utf8.DecodeLastRuneInString(s[:len(s)-n])
		if !currencyRune(r) {
			break
		}
		n += size
	}
	if n > 8 {
		return 0
	}
	return n
}

func currencyRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.Is(unicode.Sc, r))
}

// isCurrencyToken reports whether tok is an ISO 4217 code (upper case), a
// CLDR currency symbol ("€", "US$", "kr", "zł") or any single currency
// sign (Unicode category Sc).
func isCurrencyToken(tok string) bool {
	if r, size := utf8.DecodeRuneInString(tok); size == len(tok) && unicode.Is(unicode.Sc, r) {
		return true
	}
	_, ok := currencyTable()[tok]
	return ok
}

// currencyTable maps ISO 4217 codes and CLDR symbols (standard and narrow)
// of the currencies in use to their codes; built once, on first use.
var currencyTable = sync.OnceValue(func() map[string][]string {
	m := map[string][]string{}
	add := func(tok, code string) {
		if tok == "" || slices.Contains(m[tok], code) {
			return
		}
		m[tok] = append(m[tok], code)
	}
	it := currency.Query()
	for it.Next() {
		u := it.Unit()
		code := u.String()
		add(code, code)
		add(fmt.Sprint(currency.Symbol(u)), code)
		add(fmt.Sprint(currency.NarrowSymbol(u)), code)
	}
	return m
})

// currencyTokens are the tokens that name one currency: its code, its
// symbols, and the currency signs that stand for it.
type currencyTokens struct {
	code string
	toks map[string]bool
}

func newCurrencyTokens(code string) (*currencyTokens, error) {
	u, err := currency.ParseISO(code)
	if err != nil || len(code) != 3 {
		return nil, fmt.Errorf("currency %q is not an ISO 4217 code: use one like EUR, USD or GBP", code)
	}
	c := &currencyTokens{code: u.String(), toks: map[string]bool{}}
	for tok, codes := range currencyTable() {
		if slices.Contains(codes, c.code) {
			c.toks[tok] = true
		}
	}
	c.toks[c.code] = true
	return c, nil
}

func (c *currencyTokens) has(tok string) bool { return c.toks[tok] }

func trimLeftSpace(s string) string {
	return strings.TrimLeftFunc(s, func(r rune) bool { return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009' })
}

func trimRightSpace(s string) string {
	return strings.TrimRightFunc(s, func(r rune) bool { return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009' })
}

func trimSpaceUnicode(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009' })
}
