package importer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/intakehq/intake"
)

// ParseLinks reads links written as the CLI's -link flag takes them:
// comma-separated items
//
//	FIELD[=OBJECT[.KEY]][[OPTIONS]]
//
// FIELD is the row's field holding the reference, OBJECT the target's
// object type (default account) and KEY the target's field the reference
// names (default: the target's field named FIELD). OPTIONS, in one pair of
// square brackets and separated by blanks or commas, are "many" ([Link.Many]),
// "update" ([Link.Update]) and ROWFIELD:TARGETFIELD (an entry of
// [Link.Fields]). For example:
//
//	account_id
//	company=account.name, lists=list.name[many]
//	company_domain=account.domain[company_name:name update]
//
// Names follow [intake.ValidName]. Beyond the syntax it refuses what needs
// no schema to refuse: a field linked twice, an option given twice, many
// with carried fields or update, update without carried fields, and a
// carried field that is the reference itself; the importer checks the rest
// against the schemas. Missing, Schema and IDField are left for the caller.
// Blank input gives no links. Errors are *[intake.SyntaxError]s.
func ParseLinks(s string) ([]Link, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := linkParser{in: s}
	var out []Link
	for lo := 0; ; {
		hi := p.itemEnd(lo)
		l, at, err := p.item(lo, hi)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o.Field == l.Field {
				return nil, p.errAt(at, at+len(l.Field), "the field is linked twice: give each link once")
			}
		}
		out = append(out, l)
		if hi == len(s) {
			return out, nil
		}
		lo = hi + 1
	}
}

// String writes the link in the syntax [ParseLinks] reads: FIELD=OBJECT,
// then .KEY when Key is set, then the options. A key of several fields or
// with options, which that syntax cannot hold, is written as its
// [intake.KeySpec.Name] and does not read back.
func (l Link) String() string {
	var b strings.Builder
	b.WriteString(l.Field)
	b.WriteByte('=')
	b.WriteString(l.Object)
	if len(l.Key.Fields) > 0 {
		b.WriteByte('.')
		b.WriteString(l.Key.Name())
	}
	var opts []string
	if l.Many {
		opts = append(opts, "many")
	}
	if l.Update {
		opts = append(opts, "update")
	}
	for _, from := range slices.Sorted(maps.Keys(l.Fields)) {
		opts = append(opts, from+":"+l.Fields[from])
	}
	if len(opts) > 0 {
		b.WriteString("[" + strings.Join(opts, " ") + "]")
	}
	return b.String()
}

// linkParser reads links from in; positions count from its start.
type linkParser struct{ in string }

func (p *linkParser) errAt(lo, hi int, msg string) error {
	if lo == hi && lo < len(p.in) {
		hi = lo + 1
	}
	return &intake.SyntaxError{What: "link", Input: p.in, Pos: lo + 1, Text: p.in[lo:hi], Msg: msg}
}

// itemEnd returns the end of the item starting at lo: the next comma
// outside square brackets, or the end of the input.
func (p *linkParser) itemEnd(lo int) int {
	depth := 0
	for i := lo; i < len(p.in); i++ {
		switch p.in[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return len(p.in)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// name reads a name at i (after blanks) up to a blank or one of stop; it
// returns the name, its start and the position after it.
func (p *linkParser) name(i, hi int, stop string) (string, int, int) {
	for i < hi && isBlank(p.in[i]) {
		i++
	}
	j := i
	for j < hi && !isBlank(p.in[j]) && strings.IndexByte(stop, p.in[j]) < 0 {
		j++
	}
	return p.in[i:j], i, j
}

// want reads a name with name and checks it.
func (p *linkParser) want(i, hi int, stop, what string) (string, int, int, error) {
	n, at, j := p.name(i, hi, stop)
	switch {
	case n == "":
		return "", at, j, p.errAt(at, at, what+" is missing here")
	case !intake.ValidName(n):
		return "", at, j, p.errAt(at, j, "not a valid "+what+": use lower-case letters, digits and underscores, starting with a letter")
	}
	return n, at, j, nil
}

func (p *linkParser) skipBlanks(i, hi int) int {
	for i < hi && isBlank(p.in[i]) {
		i++
	}
	return i
}

// item reads in[lo:hi] as one link; at is where its field name starts.
func (p *linkParser) item(lo, hi int) (l Link, at int, err error) {
	l.Object = intake.ObjectAccount
	field, at, i, err := p.want(lo, hi, "=.[],:", "field name")
	l.Field = field
	if err != nil {
		if strings.TrimSpace(p.in[lo:hi]) == "" {
			err = p.errAt(at, at, "an empty link: give FIELD[=OBJECT[.KEY]] between the commas")
		}
		return l, at, err
	}
	if i = p.skipBlanks(i, hi); i < hi && p.in[i] == '=' {
		if l.Object, _, i, err = p.want(i+1, hi, "=.[],:", "object type"); err != nil {
			return l, at, err
		}
		if i = p.skipBlanks(i, hi); i < hi && p.in[i] == '.' {
			var key string
			if key, _, i, err = p.want(i+1, hi, "=.[],:", "key field"); err != nil {
				return l, at, err
			}
			l.Key = intake.Keys(key)
		}
	}
	if i = p.skipBlanks(i, hi); i < hi && p.in[i] == '[' {
		if i, err = p.options(&l, i, hi); err != nil {
			return l, at, err
		}
	}
	if i = p.skipBlanks(i, hi); i < hi {
		return l, at, p.errAt(i, i, "unexpected text: write FIELD[=OBJECT[.KEY]][OPTIONS], e.g. account_id or company=account.name[many]")
	}
	return l, at, nil
}

// options reads "[" OPTIONS "]" at open and returns the position after it.
func (p *linkParser) options(l *Link, open, hi int) (int, error) {
	end := strings.IndexByte(p.in[open+1:hi], ']')
	if end < 0 {
		return 0, p.errAt(open, open, "the \"[\" is never closed: close the options in one pair of brackets, e.g. lists=list.name[many]")
	}
	end += open + 1
	if k := strings.IndexByte(p.in[open+1:end], '['); k >= 0 {
		return 0, p.errAt(open+1+k, open+1+k, "close the options in one pair of brackets, e.g. [company_name:name update]")
	}
	var manyAt, updateAt int = -1, -1
	i := open + 1
	for {
		for i < end && (isBlank(p.in[i]) || p.in[i] == ',') {
			i++
		}
		if i == end {
			break
		}
		o, at, j := p.name(i, end, ",")
		if err := p.option(l, o, at, j, &manyAt, &updateAt); err != nil {
			return 0, err
		}
		i = j
	}
	switch {
	case l.Many && (len(l.Fields) > 0 || l.Update):
		return 0, p.errAt(manyAt, manyAt+4, "a many link has several targets per row and carries no target's data: drop update and ROWFIELD:TARGETFIELD")
	case l.Update && len(l.Fields) == 0:
		return 0, p.errAt(updateAt, updateAt+6, "update writes the values the row carries for the target: add ROWFIELD:TARGETFIELD options")
	}
	return end + 1, nil
}

// option reads one option, in[at:j].
func (p *linkParser) option(l *Link, o string, at, j int, manyAt, updateAt *int) error {
	switch o {
	case "many", "update":
		flag, pos := &l.Many, manyAt
		if o == "update" {
			flag, pos = &l.Update, updateAt
		}
		if *flag {
			return p.errAt(at, j, "the option is given twice")
		}
		*flag, *pos = true, at
		return nil
	}
	from, to, ok := strings.Cut(o, ":")
	if !ok {
		return p.errAt(at, j, fmt.Sprintf("unknown option %q: use many, update or ROWFIELD:TARGETFIELD (a value the row carries for the target)", o))
	}
	switch {
	case !intake.ValidName(from):
		return p.errAt(at, at+len(from), "not a valid row field in ROWFIELD:TARGETFIELD")
	case !intake.ValidName(to):
		return p.errAt(at+len(from)+1, j, "not a valid target field in ROWFIELD:TARGETFIELD")
	case from == l.Field:
		return p.errAt(at, at+len(from), "the reference field sets the target's key: it cannot carry a value too")
	case l.Fields[from] != "":
		return p.errAt(at, at+len(from), "the row field is carried twice")
	}
	if l.Fields == nil {
		l.Fields = map[string]string{}
	}
	l.Fields[from] = to
	return nil
}
