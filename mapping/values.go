package mapping

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/intakehq/intake"
)

// trimCell removes surrounding ASCII white space (space, tab, CR, LF, VT,
// FF). It never allocates.
func trimCell(s string) string {
	i, j := 0, len(s)
	for i < j && isASCIISpace(s[i]) {
		i++
	}
	for j > i && isASCIISpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// parseText accepts any valid UTF-8 without NUL bytes, as is.
func parseText(s string) (intake.Value, bool) {
	if !utf8.ValidString(s) {
		return intake.Null, false
	}
	return parseValidText(s)
}

// parseValidText is parseText for valid UTF-8.
func parseValidText(s string) (intake.Value, bool) {
	if strings.IndexByte(s, 0) >= 0 {
		return intake.Null, false
	}
	return intake.Text(s), true
}

// parseID accepts valid UTF-8 without control characters, as is (leading
// zeros kept).
func parseID(s string) (intake.Value, bool) {
	if !utf8.ValidString(s) {
		return intake.Null, false
	}
	return parseValidID(s)
}

// parseValidID is parseID for valid UTF-8.
func parseValidID(s string) (intake.Value, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return intake.Null, false
		}
	}
	return intake.Text(s), true
}

// ParseEmail checks an email address and returns it trimmed and lower-cased
// as a text value. It is a fast, hand-written syntax check, not an RFC 5322
// parser:
//
//   - exactly one @, at most 254 bytes in all;
//   - a local part of 1–64 bytes: letters, digits and !#$%&'*+-/=?^_`{|}~,
//     dots between them (not first, last or doubled); quoted local parts
//     ("john doe"@example.com) are not accepted;
//   - a domain of at most 253 bytes with at least two labels separated by
//     dots; each label 1–63 bytes of letters, digits and hyphens, not
//     starting or ending with a hyphen; the last label (top-level domain)
//     is at least two letters, or punycode (xn--…); IP literals are not
//     accepted.
//
// Internationalized addresses are accepted: "letters" and "digits" include
// non-ASCII letters, digits and combining marks, both in the local part and
// in the domain (IDN in Unicode or punycode form). The result shares memory
// with s when s is already trimmed and lower-case.
func ParseEmail(s string) (intake.Value, bool) {
	s = trimCell(s)
	if len(s) < 6 || len(s) > 254 { // a@b.cd
		return intake.Null, false
	}
	at := strings.IndexByte(s, '@')
	if at < 1 || at > 64 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return intake.Null, false
	}
	upper, ascii := false, true
	// The local part: letters, digits and specials, dots between them.
	local := s[:at]
	if local[0] == '.' || local[len(local)-1] == '.' {
		return intake.Null, false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case isLowerASCII(c), isDigit(c):
		case isUpperASCII(c):
			upper = true
		case c == '.':
			if local[i+1] == '.' {
				return intake.Null, false
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(local[i:])
			if !isIntlWordRune(r) {
				return intake.Null, false
			}
			ascii = false
			i += size - 1
		default:
			if strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) < 0 {
				return intake.Null, false
			}
		}
	}
	// The domain: labels of letters, digits and inner hyphens, the last
	// one a top-level domain. It is at most 252 bytes, since the address
	// is at most 254.
	domain := s[at+1:]
	labels := 0
	for len(domain) > 0 {
		label := domain
		if dot := strings.IndexByte(domain, '.'); dot >= 0 {
			label, domain = domain[:dot], domain[dot+1:]
			if domain == "" {
				return intake.Null, false // trailing dot
			}
		} else {
			domain = ""
		}
		labels++
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return intake.Null, false
		}
		letters := true
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case isLowerASCII(c):
			case isUpperASCII(c):
				upper = true
			case isDigit(c), c == '-':
				letters = false
			case c >= utf8.RuneSelf:
				r, size := utf8.DecodeRuneInString(label[i:])
				if !isIntlWordRune(r) {
					return intake.Null, false
				}
				if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) {
					letters = false
				}
				ascii = false
				i += size - 1
			default:
				return intake.Null, false
			}
		}
		if domain == "" { // the top-level domain: two letters or more, or punycode (xn--…)
			if labels < 2 || !(letters && utf8.RuneCountInString(label) >= 2 || len(label) > 4 && strings.EqualFold(label[:4], "xn--")) {
				return intake.Null, false
			}
		}
	}
	switch {
	case labels < 2:
		return intake.Null, false // "anna@" or "anna@localhost"
	case !ascii:
		return intake.Text(strings.ToLower(s)), true // returns s itself when nothing changes
	case upper:
		return intake.Text(lowerASCII(s)), true
	}
	return intake.Text(s), true
}

func isLowerASCII(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpperASCII(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func isIntlWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r))
}

func lowerASCII(s string) string {
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b)
}

// ParseBool reads a yes/no cell, in any case: yes/no, y/n, true/false, t/f,
// 1/0, on/off, ja/nein, j, wahr/falsch, oui/non, vrai/faux, si/sí/no.
func ParseBool(s string) (intake.Value, bool) {
	s = trimCell(s)
	var buf [8]byte
	if len(s) > len(buf) || s == "" {
		return intake.Null, false
	}
	n := copy(buf[:], s)
	for i := 0; i < n; i++ {
		if c := buf[i]; c >= 'A' && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		} else if c == 0xC3 && i+1 < n && buf[i+1] == 0x8D { // Í → í
			buf[i+1] = 0xAD
		}
	}
	switch string(buf[:n]) {
	case "yes", "y", "true", "t", "1", "on", "ja", "j", "wahr", "oui", "vrai", "si", "sí":
		return intake.Bool(true), true
	case "no", "n", "false", "f", "0", "off", "nein", "falsch", "non", "faux":
		return intake.Bool(false), true
	}
	return intake.Null, false
}

// options matches cells against a select field's declared options: exactly
// first, then ignoring case. It returns the declared spelling.
type options struct {
	list  []string
	exact map[string]string
}

func newOptions(list []string) *options {
	o := &options{list: list, exact: make(map[string]string, len(list))}
	for _, opt := range list {
		o.exact[opt] = opt
	}
	return o
}

func (o *options) match(s string) (string, bool) {
	if v, ok := o.exact[s]; ok {
		return v, true
	}
	for _, opt := range o.list {
		if strings.EqualFold(opt, s) {
			return opt, true
		}
	}
	return "", false
}

// parseSelect reads one option (any text when the field declares none).
func parseSelect(o *options, s string) (intake.Value, bool) {
	if o == nil {
		return parseText(s)
	}
	if v, ok := o.match(s); ok {
		return intake.Text(v), true
	}
	return intake.Null, false
}

// multiSep returns the separator of a multiselect cell: ";" if the cell has
// one, else "|" if it has one, else ",".
func multiSep(s string) string {
	switch {
	case strings.IndexByte(s, ';') >= 0:
		return ";"
	case strings.IndexByte(s, '|') >= 0:
		return "|"
	}
	return ","
}

// parseMultiSelect splits a cell into items (see multiSep), trims them,
// drops empty and repeated items, and matches each against the options.
func parseMultiSelect(o *options, s string) (intake.Value, bool) {
	return parseMultiSelectSep(o, s, "")
}

// parseMultiSelectSep is parseMultiSelect with a fixed separator (none:
// see multiSep).
func parseMultiSelectSep(o *options, s, fixed string) (intake.Value, bool) {
	if o != nil {
		if v, ok := o.match(s); ok { // one option that contains a separator
			return intake.List(v), true
		}
	}
	sep := fixed
	if sep == "" {
		sep = multiSep(s)
	}
	items := make([]string, 0, strings.Count(s, sep)+1)
	for part := range strings.SplitSeq(s, sep) {
		part = trimCell(part)
		if part == "" {
			continue
		}
		if o != nil {
			v, ok := o.match(part)
			if !ok {
				return intake.Null, false
			}
			part = v
		} else if _, ok := parseText(part); !ok {
			return intake.Null, false
		}
		dup := false
		for _, it := range items {
			if it == part {
				dup = true
				break
			}
		}
		if !dup {
			items = append(items, part)
		}
	}
	if len(items) == 0 {
		return intake.Null, true
	}
	return intake.List(items...), true
}
