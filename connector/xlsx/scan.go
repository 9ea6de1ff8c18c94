package xlsx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kinds of token of an xmlScanner.
const (
	tokStart uint8 = iota + 1 // a start tag; an empty element (<a/>) is a start and an end
	tokEnd                    // an end tag
	tokText                   // character data: text or a CDATA section
)

// Byte classes of the scanner.
const (
	clPlain   = 0 // a byte that stands for itself in text
	clSpecial = 1 // '&', '\r', ']', a control character or a byte of a multi-byte rune
	clLT      = 2 // '<'
)

var textClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == '<':
			t[c] = clLT
		case c == '&', c == '\r', c == ']', c >= utf8.RuneSelf, c < 0x20 && c != '\t' && c != '\n':
			t[c] = clSpecial
		}
	}
	return t
}()

// nameByte holds the single-byte characters allowed in an XML name (as
// encoding/xml reads one); bytes of multi-byte runes are checked apart.
var nameByte = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-'
	}
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = true
	}
	return t
}()

// errNeedMore says that a token does not end within the bytes buffered.
var errNeedMore = errors.New("xlsx: need more input")

// xmlScanner tokenizes one part for the parsers of the big parts (the
// sheet and the shared strings) without allocating per token: names,
// attribute values and text are slices of its buffer (or of a scratch
// buffer when they hold references or CRs), valid until the next token. It
// checks what encoding/xml's strict RawToken checks (names, quoting,
// entity and character references, UTF-8 and the XML character range, CR
// normalization, comments, CDATA) and what xmlStream adds: end tags that
// match their start tags, nothing left open at the end, a bounded depth,
// and no document type declaration or other directive. A token longer than
// its limit is ErrTooLarge. Syntax errors are ErrFormat and name the part
// and the byte offset.
type xmlScanner struct {
	r     io.Reader
	part  string
	buf   []byte
	pos   int   // next byte to tokenize
	end   int   // end of the bytes read
	base  int64 // offset in the part of buf[0]
	eof   bool  // r is at its end
	rerr  error // r's error other than io.EOF, returned once the buffer is used up
	limit int   // the longest token
	err   error // sticky

	names     []byte  // the qualified names of the open elements, one after the other
	nameEnds  []int   // the end of each in names
	nameLocal []int32 // where the local part of each starts, from its start
	closeNext bool    // the last start tag was empty: its end tag comes next

	// The current token, located by offsets (no pointers: storing them
	// costs no write barrier) from tok, its start in buf.
	kind    uint8
	tok     int
	l0, l1  int        // local name of a start or end tag
	t0, t1  int        // character data in buf, unless decoded into tbuf
	decoded bool       // the character data is tbuf
	attrs   []attrSpan // attributes of a start tag
	vals    []byte     // decoded attribute values
	tbuf    []byte     // decoded character data
}

// attrSpan locates an attribute of a start tag from the tag's start: its
// local name, and its value there or, decoded, in vals.
type attrSpan struct {
	l0, l1, v0, v1 int32
	decoded        bool
}

// local returns the local name of the current start or end tag.
func (s *xmlScanner) local() []byte { return s.buf[s.tok+s.l0 : s.tok+s.l1] }

// text returns the current character data.
func (s *xmlScanner) text() []byte {
	if s.decoded {
		return s.tbuf
	}
	return s.buf[s.tok+s.t0 : s.tok+s.t1]
}

// attrLocal returns the local name of attribute i of the current start tag.
func (s *xmlScanner) attrLocal(i int) []byte {
	a := &s.attrs[i]
	return s.buf[s.tok+int(a.l0) : s.tok+int(a.l1)]
}

// attrValue returns the decoded value of attribute i.
func (s *xmlScanner) attrValue(i int) []byte {
	a := &s.attrs[i]
	if a.decoded {
		return s.vals[a.v0:a.v1]
	}
	return s.buf[s.tok+int(a.v0) : s.tok+int(a.v1)]
}

const scanBufSize = 64 << 10

func newXMLScanner(r io.Reader, part string, limit int) *xmlScanner {
	return &xmlScanner{r: r, part: part, buf: make([]byte, scanBufSize), limit: max(limit, scanBufSize)}
}

func (s *xmlScanner) syntax(off int, msg string) error {
	return fmt.Errorf("%w: part %s: XML syntax error at byte %d: %s", ErrFormat, s.part, s.base+int64(s.pos+off), msg)
}

// next reads the next token; io.EOF at the end of a well-formed part.
func (s *xmlScanner) next() (uint8, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closeNext {
		s.closeNext = false
		s.pop()
		s.kind = tokEnd
		return tokEnd, nil
	}
	for {
		if s.pos < s.end {
			s.tok = s.pos
			n, err := s.token(s.buf[s.pos:s.end])
			if err == nil {
				if n > 0 {
					s.pos += n
					return s.kind, nil
				}
				s.pos -= n // a skipped comment or processing instruction
				continue
			}
			if err != errNeedMore {
				s.err = err
				return 0, err
			}
			if s.eof {
				s.err = s.syntax(s.end-s.pos, "unexpected EOF")
				return 0, s.err
			}
		} else if s.eof {
			if k := len(s.nameEnds); k > 0 {
				s.err = fmt.Errorf("%w: part %s ends inside <%s>", ErrFormat, s.part, s.names[s.nameStart(k-1):])
				return 0, s.err
			}
			s.err = io.EOF
			return 0, io.EOF
		}
		if err := s.fill(); err != nil {
			s.err = err
			return 0, err
		}
	}
}

// leaf reads, right after a start tag, the common shape of a cell's
// content and end: open, a text that needs no decoding (no reference, CR,
// ']' or control character; multi-byte characters valid and in the XML
// range), close, and the end tag of the
// element just started, with no prefix (as in "<v>42</v></c>", open "<v>",
// close "</v></c>"). It reports false, reading nothing, unless all of it is
// in the buffer and in that shape; the caller then reads on token by token,
// which checks everything. On success the started element is closed and
// the text is valid until the next call.
func (s *xmlScanner) leaf(open, close string) ([]byte, bool) {
	if s.kind != tokStart || s.closeNext || len(s.nameEnds) >= maxXMLDepth {
		return nil, false
	}
	w := s.buf[s.pos:s.end]
	if len(w) < len(open) || string(w[:len(open)]) != open {
		return nil, false
	}
	i := len(open)
	for i < len(w) {
		if c := w[i]; textClass[c] == clPlain {
			i++
			continue
		} else if c < utf8.RuneSelf {
			break
		}
		r, n := utf8.DecodeRune(w[i:])
		if r == utf8.RuneError && n == 1 || !inCharRange(r) {
			return nil, false
		}
		i += n
	}
	if len(w)-i < len(close) || string(w[i:i+len(close)]) != close {
		return nil, false
	}
	// The end tag closes the element just started: its name is the top of
	// the stack, without prefix.
	k := len(s.nameEnds)
	top := s.names[s.nameStart(k-1):]
	if string(top) != close[strings.LastIndexByte(close, '/')+1:len(close)-1] {
		return nil, false
	}
	s.pop()
	s.pos += i + len(close)
	s.kind = tokEnd
	return w[len(open):i], true
}

// fill reads more: it moves the unread bytes to the front, grows the buffer
// if they fill it, and reads until it is full or r ends.
func (s *xmlScanner) fill() error {
	if s.rerr != nil {
		return s.rerr
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= s.limit {
			return fmt.Errorf("%w: part %s has a text or tag of more than %d bytes; a cell holds at most xlsx.Config.MaxCellBytes", ErrTooLarge, s.part, s.limit)
		}
		nb := make([]byte, min(2*len(s.buf), s.limit))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; s.end < len(s.buf); {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
			return nil
		}
		if err != nil {
			if n > 0 {
				s.rerr = err
				return nil
			}
			return err
		}
		if n == 0 {
			if tries++; tries == 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

func (s *xmlScanner) nameStart(i int) int {
	if i == 0 {
		return 0
	}
	return s.nameEnds[i-1]
}

func (s *xmlScanner) pop() {
	k := len(s.nameEnds) - 1
	s.names = s.names[:s.nameStart(k)]
	s.nameEnds = s.nameEnds[:k]
	s.nameLocal = s.nameLocal[:k]
}

// token reads the token at the start of w. It returns the bytes it takes,
// negated for a token that is skipped (comment, processing instruction), or
// errNeedMore.
func (s *xmlScanner) token(w []byte) (int, error) {
	if w[0] != '<' {
		return s.charData(w)
	}
	if len(w) < 2 {
		return 0, errNeedMore
	}
	switch w[1] {
	case '/':
		return s.endTag(w)
	case '?':
		return s.procInst(w)
	case '!':
		return s.bang(w)
	}
	return s.startTag(w)
}

// charData reads text up to the next '<' (or the end of the part).
func (s *xmlScanner) charData(w []byte) (int, error) {
	i := 0
	for i < len(w) && textClass[w[i]] == clPlain {
		i++
	}
	if i < len(w) && w[i] == '<' {
		s.kind, s.t0, s.t1, s.decoded = tokText, 0, i, false
		return i, nil
	}
	j := bytes.IndexByte(w[i:], '<')
	if j < 0 {
		if !s.eof {
			return 0, errNeedMore
		}
		j = len(w) - i
	}
	t, err := s.decode(s.tbuf[:0], w[:i+j], 0, inText)
	if err != nil {
		return 0, err
	}
	s.tbuf = t
	s.kind, s.decoded = tokText, true
	return i + j, nil
}

// What decode reads.
const (
	inText  = iota // character data: references, no "]]>"
	inAttr         // an attribute value: references
	inCDATA        // a CDATA section: no references
)

// decode appends text to dst as encoding/xml reads it: references
// replaced (except in a CDATA section), CR and CRLF as LF, and every
// character checked. off is the offset of text in the buffer's window, for
// errors.
func (s *xmlScanner) decode(dst, text []byte, off int, mode int) ([]byte, error) {
	cdata := mode == inCDATA
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '&' && !cdata:
			r, n, msg := reference(text[i:])
			if msg != "" {
				return nil, s.syntax(off+i, msg)
			}
			if !inCharRange(r) {
				return nil, s.syntax(off+i, fmt.Sprintf("illegal character code %U", r))
			}
			dst = utf8.AppendRune(dst, r)
			i += n
			continue
		case c == '\r':
			dst = append(dst, '\n')
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
		case c == ']' && mode == inText:
			if i+2 < len(text) && text[i+1] == ']' && text[i+2] == '>' {
				return nil, s.syntax(off+i, "unescaped ]]> not in CDATA section")
			}
			dst = append(dst, c)
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(text[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, s.syntax(off+i, "invalid UTF-8")
			}
			if !inCharRange(r) {
				return nil, s.syntax(off+i, fmt.Sprintf("illegal character code %U", r))
			}
			dst = append(dst, text[i:i+n]...)
			i += n
			continue
		case c < 0x20 && c != '\t' && c != '\n':
			return nil, s.syntax(off+i, fmt.Sprintf("illegal character code %U", rune(c)))
		default:
			dst = append(dst, c)
		}
		i++
	}
	return dst, nil
}

// reference reads the entity or character reference at the start of b
// ("&amp;", "&#38;", "&#x26;"): the character, the bytes it takes, or a
// message saying why it is not one encoding/xml accepts.
func reference(b []byte) (rune, int, string) {
	semi := bytes.IndexByte(b, ';')
	if semi < 0 {
		return 0, 0, "invalid character entity " + string(b[:min(len(b), 16)]) + " (no semicolon)"
	}
	ref := b[1:semi]
	if len(ref) > 1 && ref[0] == '#' {
		base, digits := 10, ref[1:]
		if digits[0] == 'x' {
			base, digits = 16, digits[1:]
		}
		if n, err := strconv.ParseUint(string(digits), base, 64); err == nil && n <= utf8.MaxRune && len(digits) > 0 && digits[0] != '+' {
			r := rune(n)
			if !utf8.ValidRune(r) {
				r = utf8.RuneError // as string(rune(n)) makes a surrogate
			}
			return r, semi + 1, ""
		}
		return 0, 0, "invalid character entity " + string(b[:semi+1])
	}
	switch string(ref) {
	case "lt":
		return '<', semi + 1, ""
	case "gt":
		return '>', semi + 1, ""
	case "amp":
		return '&', semi + 1, ""
	case "apos":
		return '\'', semi + 1, ""
	case "quot":
		return '"', semi + 1, ""
	}
	return 0, 0, "invalid character entity " + string(b[:semi+1])
}

// inCharRange reports whether r is in the XML Char production.
func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// name reads the XML name at w[i:]: its end and the start of its local
// part, or errNeedMore when it may go on past the buffer. A name that is
// not valid, or (with ns) holds more than one colon, is an error naming
// what was expected (what).
func (s *xmlScanner) name(w []byte, i int, what string, ns bool) (end, local int, err error) {
	j := i
	ascii := true
	colons, colon := 0, -1
	for j < len(w) && nameByte[w[j]] {
		switch c := w[j]; {
		case c == ':':
			if colons++; colons == 1 {
				colon = j
			}
		case c >= utf8.RuneSelf:
			ascii = false
		}
		j++
	}
	if j == len(w) {
		return 0, 0, errNeedMore
	}
	if j == i {
		return 0, 0, s.syntax(i, what)
	}
	n := w[i:j]
	if ascii {
		if c := n[0]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':') {
			return 0, 0, s.syntax(i, "invalid XML name: "+string(n))
		}
	} else if !validName(n) {
		return 0, 0, s.syntax(i, "invalid XML name: "+string(n))
	}
	if ns && colons > 1 {
		return 0, 0, s.syntax(i, what)
	}
	// As encoding/xml splits a name: a prefix and a local part, both
	// non-empty, or the whole name.
	local = i
	if colons == 1 && colon > i && colon < j-1 {
		local = colon + 1
	}
	return j, local, nil
}

// validName checks a name with multi-byte characters as encoding/xml does.
func validName(n []byte) bool {
	if !utf8.Valid(n) {
		return false
	}
	_, err := xml.NewDecoder(strings.NewReader("<" + string(n) + "/>")).RawToken()
	return err == nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' || c == '\t' }

func skipSpace(w []byte, i int) int {
	for i < len(w) && isSpace(w[i]) {
		i++
	}
	return i
}

func (s *xmlScanner) startTag(w []byte) (int, error) {
	i, local, err := s.name(w, 1, "expected element name after <", true)
	if err != nil {
		return 0, err
	}
	qname := w[1:i]
	s.l0, s.l1 = local, i
	s.attrs, s.vals = s.attrs[:0], s.vals[:0]
	empty := false
	for {
		i = skipSpace(w, i)
		if i >= len(w) {
			return 0, errNeedMore
		}
		if w[i] == '>' {
			i++
			break
		}
		if w[i] == '/' {
			if i+1 >= len(w) {
				return 0, errNeedMore
			}
			if w[i+1] != '>' {
				return 0, s.syntax(i, "expected /> in element")
			}
			empty = true
			i += 2
			break
		}
		var l0 int
		i, l0, err = s.name(w, i, "expected attribute name in element", true)
		if err != nil {
			return 0, err
		}
		a := attrSpan{l0: int32(l0), l1: int32(i)}
		i = skipSpace(w, i)
		if i >= len(w) {
			return 0, errNeedMore
		}
		if w[i] != '=' {
			return 0, s.syntax(i, "attribute name without = in element")
		}
		i = skipSpace(w, i+1)
		if i >= len(w) {
			return 0, errNeedMore
		}
		q := w[i]
		if q != '"' && q != '\'' {
			return 0, s.syntax(i, "unquoted or missing attribute value in element")
		}
		i++
		v0 := i
		special := false
		for i < len(w) && w[i] != q {
			switch textClass[w[i]] {
			case clLT:
				return 0, s.syntax(i, "unescaped < inside quoted string")
			case clSpecial:
				special = true
			}
			i++
		}
		if i == len(w) {
			return 0, errNeedMore
		}
		a.v0, a.v1 = int32(v0), int32(i)
		if special {
			start := len(s.vals)
			s.vals, err = s.decode(s.vals, w[v0:i], v0, inAttr)
			if err != nil {
				return 0, err
			}
			a.v0, a.v1, a.decoded = int32(start), int32(len(s.vals)), true
		}
		s.attrs = append(s.attrs, a)
		i++
	}
	if len(s.nameEnds) >= maxXMLDepth {
		return 0, fmt.Errorf("%w: part %s nests elements more than %d deep", ErrBomb, s.part, maxXMLDepth)
	}
	s.names = append(s.names, qname...)
	s.nameEnds = append(s.nameEnds, len(s.names))
	s.nameLocal = append(s.nameLocal, int32(local-1))
	s.kind = tokStart
	s.closeNext = empty
	return i, nil
}

func (s *xmlScanner) endTag(w []byte) (int, error) {
	// The usual case: the open element's name (checked at its start tag)
	// and '>'.
	if k := len(s.nameEnds); k > 0 {
		open := s.names[s.nameStart(k-1):]
		if n := 2 + len(open); n < len(w) && w[n] == '>' && string(w[2:n]) == string(open) {
			s.l0, s.l1 = 2+int(s.nameLocal[k-1]), n
			s.pop()
			s.kind = tokEnd
			return n + 1, nil
		}
	}
	i, local, err := s.name(w, 2, "expected element name after </", true)
	if err != nil {
		return 0, err
	}
	qname := w[2:i]
	s.l0, s.l1 = local, i
	i = skipSpace(w, i)
	if i >= len(w) {
		return 0, errNeedMore
	}
	if w[i] != '>' {
		return 0, s.syntax(i, "invalid characters between </"+string(w[local:s.l1])+" and >")
	}
	k := len(s.nameEnds)
	if k == 0 || !bytes.Equal(s.names[s.nameStart(k-1):], qname) {
		return 0, fmt.Errorf("%w: part %s: unexpected </%s> at byte %d", ErrFormat, s.part, qname, s.base+int64(s.pos))
	}
	s.pop()
	s.kind = tokEnd
	return i + 1, nil
}

// procInst skips a processing instruction, checking the XML declaration's
// version and encoding as encoding/xml does.
func (s *xmlScanner) procInst(w []byte) (int, error) {
	i, _, err := s.name(w, 2, "expected target name after <?", false)
	if err != nil {
		return 0, err
	}
	target := w[2:i]
	i = skipSpace(w, i)
	j := bytes.Index(w[i:], []byte("?>"))
	if j < 0 {
		return 0, errNeedMore
	}
	if string(target) == "xml" {
		content := string(w[i : i+j])
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			return 0, fmt.Errorf("%w: part %s: unsupported XML version %q; only version 1.0 is supported", ErrFormat, s.part, ver)
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			return 0, fmt.Errorf("%w: part %s declares the encoding %q; a workbook's parts are UTF-8", ErrFormat, s.part, enc)
		}
	}
	return -(i + j + 2), nil
}

// procInstParam returns the value of param in the content of a processing
// instruction, as encoding/xml's procInst reads it.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what starts with "<!": a comment (skipped), a CDATA section
// (text) or a directive (refused).
func (s *xmlScanner) bang(w []byte) (int, error) {
	if len(w) < 3 {
		return 0, errNeedMore
	}
	switch w[2] {
	case '-':
		if len(w) < 4 {
			return 0, errNeedMore
		}
		if w[3] != '-' {
			return 0, s.syntax(2, "invalid sequence <!- not part of <!--")
		}
		j := bytes.Index(w[4:], []byte("--"))
		if j < 0 || 4+j+2 >= len(w) {
			return 0, errNeedMore
		}
		if w[4+j+2] != '>' {
			return 0, s.syntax(4+j, `invalid sequence "--" not allowed in comments`)
		}
		return -(4 + j + 3), nil
	case '[':
		const open = "<![CDATA["
		n := min(len(w), len(open))
		if string(w[:n]) != open[:n] {
			return 0, s.syntax(2, "invalid <![ sequence")
		}
		if n < len(open) {
			return 0, errNeedMore
		}
		j := bytes.Index(w[len(open):], []byte("]]>"))
		if j < 0 {
			return 0, errNeedMore
		}
		t, err := s.decode(s.tbuf[:0], w[len(open):len(open)+j], len(open), inCDATA)
		if err != nil {
			return 0, err
		}
		s.tbuf = t
		s.kind, s.decoded = tokText, true
		return len(open) + j + 3, nil
	}
	d := w[2:]
	if len(d) < 20 && !s.eof {
		return 0, errNeedMore
	}
	if len(d) >= 7 && strings.EqualFold(string(d[:7]), "DOCTYPE") {
		return 0, fmt.Errorf("%w: part %s declares a document type (<!DOCTYPE ...>), which Excel never writes: entity expansion is refused", ErrBomb, s.part)
	}
	return 0, fmt.Errorf("%w: part %s holds an XML directive (<!%.20s...>), which Excel never writes", ErrBomb, s.part, d)
}
