package mapping

import (
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"

	"github.com/intakehq/intake"
	"github.com/nyaruka/phonenumbers"
)

// ParsePhone reads a phone number and returns it in E.164 form ("+4930123456")
// as a text value. It accepts what libphonenumber (github.com/nyaruka/phonenumbers)
// parses and deems a possible number — or a valid number when
// opt.StrictPhone is set. Numbers without a country code ("030 123456")
// need opt.DefaultRegion; with an empty DefaultRegion only numbers that
// start with + are accepted ("0049 30 123456" also needs DefaultRegion, which
// tells which international call prefix 00 is).
// Extensions ("… ext. 12") are accepted and dropped: E.164 has none.
//
// Numbers written as "+", a country code and digits, with single spaces,
// hyphens or dots between digits ("+49 30 1234567", "+1-202-555-0143",
// "+442071234567") take a fast path that reads libphonenumber's metadata
// (calling codes, possible lengths, national prefixes) directly instead of
// running its parser; it gives the same result (a fuzz test checks it) at
// a fraction of the cost, and does not allocate when the input is already
// in E.164 form. Everything else goes through libphonenumber's parser.
func ParsePhone(s string, opt Options) (intake.Value, bool) {
	p := phoneParser{region: strings.ToUpper(opt.DefaultRegion), strict: opt.StrictPhone}
	return p.parse(trimCell(s))
}

type phoneParser struct {
	region string
	strict bool
}

func (p phoneParser) parse(s string) (intake.Value, bool) {
	if e, st := phoneFast(s, p.strict); st != fastUnknown {
		return intake.Text(e), st == fastAccept
	}
	e, ok := phoneFull(s, p.region, p.strict)
	if !ok {
		return intake.Null, false
	}
	return intake.Text(e), true
}

// phoneFull is the reference: libphonenumber's parser, possibility (or
// validity) check and E.164 formatting.
func phoneFull(s, region string, strict bool) (string, bool) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", false
	}
	if strict {
		if !phonenumbers.IsValidNumber(num) {
			return "", false
		}
	} else if !phonenumbers.IsPossibleNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

type fastState uint8

const (
	fastUnknown fastState = iota // not a fast-path shape: use the full parser
	fastAccept
	fastReject
)

// callingCode is what the fast path needs to know about one country calling
// code, taken from libphonenumber's metadata of the code's main region.
type callingCode struct {
	cc        int32
	anyLength bool           // no metadata: every NSN of 2–17 digits is possible
	possible  []int32        // possible NSN lengths (general description)
	local     []int32        // local-only lengths, also "possible"
	prefixes  []string       // national prefix for parsing, when plain digit strings ("0", "0|180020")
	prefixRE  *regexp.Regexp // national prefix for parsing, when a pattern
	// prefixAt[d]: a match of prefixRE may start with digit d (see
	// firstDigits), so that most numbers skip the pattern.
	prefixAt [10]bool
}

func (c *callingCode) possibleLength(n int) bool {
	if c.anyLength {
		return n >= phonenumbers.MIN_LENGTH_FOR_NSN && n <= phonenumbers.MAX_LENGTH_FOR_NSN
	}
	for _, l := range c.local {
		if int(l) == n {
			return true
		}
	}
	for _, l := range c.possible {
		if int(l) == n {
			return true
		}
	}
	return false
}

var (
	callingCodesOnce sync.Once
	callingCodes     *[1000]*callingCode
)

func callingCodeTable() *[1000]*callingCode {
	callingCodesOnce.Do(func() {
		t := new([1000]*callingCode)
		coll, err := phonenumbers.MetadataCollection()
		if err != nil { // cannot happen: phonenumbers loads it in init
			callingCodes = t
			return
		}
		byRegion := map[string]*phonenumbers.PhoneMetadata{}
		nonGeo := map[int32]*phonenumbers.PhoneMetadata{}
		for _, md := range coll.GetMetadata() {
			if md.GetId() == "001" {
				nonGeo[md.GetCountryCode()] = md
			} else {
				byRegion[md.GetId()] = md
			}
		}
		for cc := 1; cc < 1000; cc++ {
			region := phonenumbers.GetRegionCodeForCountryCode(cc)
			if region == phonenumbers.UNKNOWN_REGION {
				continue
			}
			md := byRegion[region]
			if region == "001" {
				md = nonGeo[int32(cc)]
			}
			if md == nil {
				continue // no metadata: leave the code to the full parser
			}
			c := &callingCode{cc: int32(cc)}
			gd := md.GetGeneralDesc()
			switch {
			case gd.GetNationalNumberPattern() == "":
				c.anyLength = true
			case len(gd.PossibleLength) == 0:
				continue // unexpected metadata: leave it to the full parser
			case gd.PossibleLength[0] != -1:
				c.possible = gd.PossibleLength
				c.local = gd.PossibleLengthLocalOnly
			}
			if np := md.GetNationalPrefixForParsing(); np != "" {
				if alts := strings.Split(np, "|"); md.GetNationalPrefixTransformRule() == "" && all(alts, isDigits) {
					c.prefixes = alts
				} else if re, err := regexp.Compile("^(?:" + np + ")"); err == nil {
					c.prefixRE, c.prefixAt = re, firstDigits(np)
				} else {
					continue
				}
			}
			t[cc] = c
		}
		callingCodes = t
	})
	return callingCodes
}

func all(list []string, f func(string) bool) bool {
	for _, s := range list {
		if !f(s) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// phoneFast handles "+" followed by digits with single separators (space,
// hyphen, dot) between digits. It answers fastUnknown for anything else,
// and for numbers where libphonenumber would strip a national prefix
// ("+49 030 …"): the full parser decides those.
//
// It reads the digits, splits off the calling code, and checks the
// national number against the calling code's metadata, in one function:
// it runs per cell, where calls between the phases would add measurably
// to its cost.
func phoneFast(s string, strict bool) (string, fastState) {
	if len(s) < 4 || len(s) > 40 || s[0] != '+' {
		return "", fastUnknown
	}
	// The digits.
	var d [21]byte
	n := 0
	paren := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			if n == len(d) {
				return "", fastUnknown
			}
			d[n] = c
			n++
		case phoneSeparatorAt(s, i):
		case c == '(' && !paren && areaCodeOpensAt(s, i):
			paren = true
		case c == ')' && paren && areaCodeClosesAt(s, i):
			paren = false
		default:
			return "", fastUnknown
		}
	}
	if paren || n <= phonenumbers.MIN_LENGTH_FOR_NSN || d[0] == '0' {
		return "", fastUnknown
	}
	// The calling code: the first one to three digits that the metadata
	// knows.
	t := callingCodeTable()
	var info *callingCode
	ccLen := 0
	cc := 0
	for l := 1; l <= 3 && l < n; l++ {
		cc = cc*10 + int(d[l-1]-'0')
		if t[cc] != nil {
			info, ccLen = t[cc], l
			break
		}
	}
	if info == nil {
		return "", fastUnknown
	}
	// The national number: a usual length, no national prefix (the full
	// parser strips it), and a possible (strict: valid) number.
	nsn := d[ccLen:n]
	if len(nsn) < phonenumbers.MIN_LENGTH_FOR_NSN || len(nsn) > phonenumbers.MAX_LENGTH_FOR_NSN {
		return "", fastUnknown
	}
	for _, p := range info.prefixes {
		if strings.HasPrefix(string(nsn), p) { // no allocation: the conversion does not escape
			return "", fastUnknown
		}
	}
	if info.prefixRE != nil && info.prefixAt[nsn[0]-'0'] && info.prefixRE.Match(append([]byte(nil), nsn...)) { // a copy, so that d stays on the stack
		return "", fastUnknown
	}
	if strict && !validNumber(info.cc, nsn) || !strict && !info.possibleLength(len(nsn)) {
		return "", fastReject
	}
	if n == len(s)-1 {
		return s, fastAccept // already E.164
	}
	var b strings.Builder
	b.Grow(n + 1)
	b.WriteByte('+')
	b.Write(d[:n])
	return b.String(), fastAccept
}

// firstDigits tells which digits a match of the pattern can start with:
// every digit when it cannot tell, or when the pattern matches the empty
// string.
func firstDigits(pattern string) [10]bool {
	all := [10]bool{true, true, true, true, true, true, true, true, true, true}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return all
	}
	set, nullable := startDigits(re.Simplify())
	if nullable {
		return all
	}
	return set
}

// startDigits returns the digits a match of re can start with and whether
// re matches the empty string, erring on the side of more digits.
func startDigits(re *syntax.Regexp) (set [10]bool, nullable bool) {
	all := [10]bool{true, true, true, true, true, true, true, true, true, true}
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return set, true
		}
		if r := re.Rune[0]; r >= '0' && r <= '9' {
			set[r-'0'] = true
		}
		return set, false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for d := max(re.Rune[i], '0'); d <= min(re.Rune[i+1], '9'); d++ {
				set[d-'0'] = true
			}
		}
		return set, false
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return all, false
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpBeginText, syntax.OpEndLine, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return set, true
	case syntax.OpCapture:
		return startDigits(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		set, _ = startDigits(re.Sub[0])
		return set, true
	case syntax.OpPlus:
		return startDigits(re.Sub[0])
	case syntax.OpRepeat:
		set, nullable = startDigits(re.Sub[0])
		return set, nullable || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			s, n := startDigits(sub)
			for d := range set {
				set[d] = set[d] || s[d]
			}
			if !n {
				return set, false
			}
		}
		return set, true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			s, n := startDigits(sub)
			for d := range set {
				set[d] = set[d] || s[d]
			}
			nullable = nullable || n
		}
		return set, nullable
	}
	return all, true
}

// phoneSeparatorAt reports whether s[i] is a single space, hyphen or dot
// between digits (or an area code's parentheses), after the first digit.
func phoneSeparatorAt(s string, i int) bool {
	c := s[i]
	return (c == ' ' || c == '-' || c == '.') && i > 1 && digitOrClose(s[i-1]) && i+1 < len(s) && digitOrOpen(s[i+1])
}

// areaCodeOpensAt reports whether the "(" at s[i] opens an area code:
// after a space, before a digit other than 0 ("+1 (617) 555-0143"). "(0)",
// a trunk prefix, is left to the full parse.
func areaCodeOpensAt(s string, i int) bool {
	return s[i-1] == ' ' && i+1 < len(s) && s[i+1] >= '1' && s[i+1] <= '9'
}

// areaCodeClosesAt reports whether the ")" at s[i] closes an area code:
// after a digit, before a space, a hyphen or a digit.
func areaCodeClosesAt(s string, i int) bool {
	return isDigit(s[i-1]) && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '-' || isDigit(s[i+1]))
}

func digitOrClose(c byte) bool { return isDigit(c) || c == ')' }
func digitOrOpen(c byte) bool  { return isDigit(c) || c == '(' }

// validNumber runs libphonenumber's validity check on a number that the
// fast path has taken apart, as parsing would have built it.
func validNumber(cc int32, nsn []byte) bool {
	nn, err := strconv.ParseUint(string(nsn), 10, 64)
	if err != nil {
		return false
	}
	num := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
	if len(nsn) >= 2 && nsn[0] == '0' {
		t := true
		num.ItalianLeadingZero = &t
		zeros := int32(1)
		for int(zeros) < len(nsn)-1 && nsn[zeros] == '0' {
			zeros++
		}
		if zeros != 1 {
			num.NumberOfLeadingZeros = &zeros
		}
	}
	return phonenumbers.IsValidNumber(num)
}
