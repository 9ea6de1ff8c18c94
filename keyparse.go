package intake

import (
	"fmt"
	"strings"
)

// SyntaxError is an error in the text of one of Intake's small notations: a
// key spec ([ParseKeySpec]), a list of identity rules ([ParseRules]), a
// list of links (importer.ParseLinks). It names the position and the text
// at fault.
type SyntaxError struct {
	What  string // what was being read: "key spec", "rules", "link"
	Input string // the whole text
	Pos   int    // 1-based byte offset in Input of the text at fault; len(Input)+1 for its end
	Text  string // the text at fault, Input[Pos-1:Pos-1+len(Text)]; empty at the end of Input
	Msg   string // what is wrong and how to fix it
}

// Error returns "intake: WHAT "INPUT": at POS, "TEXT": MSG" (", at the end"
// when the text at fault is the end of the input).
func (e *SyntaxError) Error() string {
	where := fmt.Sprintf("at %d, %q", e.Pos, e.Text)
	if e.Text == "" {
		where = "at the end"
	}
	return fmt.Sprintf("intake: %s %q: %s: %s", e.What, e.Input, where, e.Msg)
}

// ValidName reports whether n is a valid object type or field name:
// lower-case ASCII letters, digits and underscores, starting with a letter,
// at most 63 bytes.
func ValidName(n string) bool { return validName(n) }

// ParseKeySpec reads a key spec as [KeySpec.Name] writes it, so that
// ParseKeySpec(k.Name()) equals k:
//
//	email                   one field
//	first_name+last_name    a composite key; "," joins fields too
//	email[provider]         with EmailProvider rules
//	md5(email)              an MD5 key; md5(email[provider]) and md5(email)[provider] both add the rules
//	id(recipient_id)        the field holds the store's record id
//
// Blanks around names and punctuation are ignored. Field names follow
// [ValidName]. Beyond the syntax it checks what needs no schema: a field
// named once, an MD5 or record-id key of one field, a record-id key without
// other options; [Schema.CompileKey] checks the rest. Errors are
// *[SyntaxError]s.
func ParseKeySpec(s string) (KeySpec, error) {
	p := keyParser{in: s, what: "key spec"}
	return p.keySpec(0, len(s))
}

// ParseRules reads ordered identity rules: key specs ([ParseKeySpec])
// separated by ";", e.g. "contact_id; email; md5(email)". At least one rule
// is needed; an empty rule and a rule given twice are errors. Errors are
// *[SyntaxError]s whose position counts from the start of s.
func ParseRules(s string) ([]KeySpec, error) {
	p := keyParser{in: s, what: "rules"}
	var out []KeySpec
	for lo := 0; lo <= len(s); {
		hi := strings.IndexByte(s[lo:], ';')
		if hi < 0 {
			hi = len(s)
		} else {
			hi += lo
		}
		spec, err := p.keySpec(lo, hi)
		if err != nil {
			return nil, err
		}
		for _, prev := range out {
			if prev.Equal(spec) {
				a, b := p.trim(lo, hi)
				return nil, p.errAt(a, b, "the rule "+spec.Name()+" is given twice: drop one")
			}
		}
		out = append(out, spec)
		lo = hi + 1
	}
	return out, nil
}

// keyParser reads key specs from parts of in; positions count from the
// start of in.
type keyParser struct {
	in   string
	what string
}

// keyTok is a token of a key spec: a name or one punctuation byte.
type keyTok struct {
	text   string
	lo, hi int
}

const keyPunct = "()[],+;"

// tokens splits in[lo:hi] into names and punctuation, skipping blanks.
func (p *keyParser) tokens(lo, hi int) []keyTok {
	var toks []keyTok
	for i := lo; i < hi; {
		c := p.in[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte(keyPunct, c) >= 0:
			toks = append(toks, keyTok{p.in[i : i+1], i, i + 1})
			i++
		default:
			j := i
			for j < hi && p.in[j] != ' ' && p.in[j] != '\t' && strings.IndexByte(keyPunct, p.in[j]) < 0 {
				j++
			}
			toks = append(toks, keyTok{p.in[i:j], i, j})
			i = j
		}
	}
	return toks
}

func (p *keyParser) trim(lo, hi int) (int, int) {
	for lo < hi && (p.in[lo] == ' ' || p.in[lo] == '\t') {
		lo++
	}
	for hi > lo && (p.in[hi-1] == ' ' || p.in[hi-1] == '\t') {
		hi--
	}
	return lo, hi
}

// errAt returns the error of the text in[lo:hi]; an empty span names the
// byte at lo, or the end of in.
func (p *keyParser) errAt(lo, hi int, msg string) error {
	if lo == hi && lo < len(p.in) {
		hi = lo + 1
	}
	return &SyntaxError{What: p.what, Input: p.in, Pos: lo + 1, Text: p.in[lo:hi], Msg: msg}
}

// keySpec reads in[lo:hi] as one key spec.
func (p *keyParser) keySpec(lo, hi int) (KeySpec, error) {
	toks := p.tokens(lo, hi)
	if len(toks) == 0 {
		at, _ := p.trim(lo, hi)
		msg := "no field: name one or more fields, e.g. email or first_name+last_name"
		if p.what == "rules" {
			msg = "an empty rule: give a key spec between the semicolons, e.g. contact_id; email"
		}
		return KeySpec{}, p.errAt(at, at, msg)
	}
	ks := keySpecState{p: p, toks: toks, end: hi}
	spec, err := ks.spec(0)
	if err != nil {
		return KeySpec{}, err
	}
	return spec, nil
}

// keySpecState is a key spec being read from its tokens.
type keySpecState struct {
	p     *keyParser
	toks  []keyTok
	i     int
	end   int // position after the last token's text: where "the end" is
	md5At *keyTok
	idAt  *keyTok
	rules *keyTok
	names []keyTok
}

func (s *keySpecState) peek() (keyTok, bool) {
	if s.i < len(s.toks) {
		return s.toks[s.i], true
	}
	return keyTok{lo: s.end, hi: s.end}, false
}

func (s *keySpecState) errTok(t keyTok, msg string) error { return s.p.errAt(t.lo, t.hi, msg) }

// spec reads: FUNC "(" spec ")" [rules] | names [rules], then expects the
// end (depth 0) or a ")" (depth > 0, left for the caller).
func (s *keySpecState) spec(depth int) (KeySpec, error) {
	t, ok := s.peek()
	if !ok {
		return KeySpec{}, s.errTok(t, "no field: name one or more fields, e.g. email or first_name+last_name")
	}
	if s.i+1 < len(s.toks) && s.toks[s.i+1].text == "(" {
		if err := s.function(t, depth); err != nil {
			return KeySpec{}, err
		}
	} else if err := s.fieldList(); err != nil {
		return KeySpec{}, err
	}
	for t, ok := s.peek(); ok && t.text == "["; t, ok = s.peek() {
		if err := s.emailRules(); err != nil {
			return KeySpec{}, err
		}
	}
	if t, ok := s.peek(); ok && !(depth > 0 && t.text == ")") {
		return KeySpec{}, s.errTok(t, "unexpected text after the key spec: join fields with + or \",\", options go in [ ], rules are separated by \";\"")
	}
	if depth > 0 {
		return KeySpec{}, nil
	}
	return s.build()
}

// function reads md5( … ) or id( … ).
func (s *keySpecState) function(name keyTok, depth int) error {
	var at **keyTok
	switch name.text {
	case "md5":
		at = &s.md5At
	case "id":
		at = &s.idAt
	default:
		return s.errTok(name, "unknown function: use md5(FIELD) or id(FIELD)")
	}
	if *at != nil {
		return s.errTok(name, name.text+"( ) is given twice")
	}
	*at = &name
	s.i += 2 // the name and "("
	if _, err := s.spec(depth + 1); err != nil {
		return err
	}
	t, ok := s.peek()
	if !ok || t.text != ")" {
		return s.errTok(t, "missing \")\" to close "+name.text+"(")
	}
	s.i++
	return nil
}

// fieldList reads names joined by "+" or ",".
func (s *keySpecState) fieldList() error {
	for {
		t, ok := s.peek()
		if !ok || len(t.text) == 1 && strings.IndexByte(keyPunct, t.text[0]) >= 0 {
			return s.errTok(t, "a field name is missing here")
		}
		if !ValidName(t.text) {
			return s.errTok(t, "not a field name: use lower-case letters, digits and underscores, starting with a letter")
		}
		for _, n := range s.names {
			if n.text == t.text {
				return s.errTok(t, "the field is named twice in the key")
			}
		}
		s.names = append(s.names, t)
		s.i++
		if t, ok := s.peek(); !ok || (t.text != "+" && t.text != ",") {
			return nil
		}
		s.i++
	}
}

// emailRules reads "[" RULES "]".
func (s *keySpecState) emailRules() error {
	open := s.toks[s.i]
	if s.rules != nil {
		return s.errTok(open, "the email rules are given twice")
	}
	s.i++
	t, ok := s.peek()
	if !ok || t.text == "]" {
		return s.errTok(t, "empty email rules: write [provider]")
	}
	if t.text != string(EmailProvider) {
		return s.errTok(t, "unknown email rules (want [provider])")
	}
	s.rules = &t
	s.i++
	if c, ok := s.peek(); !ok || c.text != "]" {
		return s.errTok(c, "missing \"]\" to close the email rules")
	}
	s.i++
	return nil
}

// build checks the options against the fields and returns the spec.
func (s *keySpecState) build() (KeySpec, error) {
	var k KeySpec
	for _, n := range s.names {
		k.Fields = append(k.Fields, n.text)
	}
	if s.rules != nil {
		k.EmailRules = EmailProvider
	}
	k.MD5, k.RecordID = s.md5At != nil, s.idAt != nil
	switch {
	case k.MD5 && len(k.Fields) != 1:
		return KeySpec{}, s.errTok(*s.md5At, "md5( ) hashes exactly one field: name one field, e.g. md5(email)")
	case k.RecordID && len(k.Fields) != 1:
		return KeySpec{}, s.errTok(*s.idAt, "id( ) names exactly one field, the one holding the store's record id")
	case k.RecordID && (k.MD5 || s.rules != nil):
		return KeySpec{}, s.errTok(*s.idAt, "a record id is compared as is: drop md5( ) and [provider]")
	}
	return k, nil
}
