package intake

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// KeySpec names the sync fields that together identify a record: a composite
// key, all of whose fields must match (Acoustic's SYNC_FIELDS), and how their
// values are normalized before they are compared.
//
// The zero options compare values as [NormalizeKey] does. The options change
// the key of every record, stored or incoming, so that a sink computes the
// keys of its stored records with the same [KeyPlan] and finds them.
type KeySpec struct {
	Fields []string `json:"fields"`
	// EmailRules, when [EmailProvider], also applies the addressing rules
	// of the large mail providers to the key's email fields, so that
	// "J.Doe+news@gmail.com" and "jdoe@googlemail.com" are one key: see
	// [NormalizeEmailProvider]. Default [EmailExact]: trimmed and
	// lower-cased only.
	EmailRules EmailRules `json:"email_rules,omitempty"`
	// MD5 makes the key the lower-case hexadecimal MD5 digest of the
	// normalized key, for files that carry hashed email addresses
	// (Acoustic's ENCODED_AS_MD5). A record whose key field F is empty but
	// whose schema has a field F_md5 ("email_md5") holding a digest takes
	// that digest as its key: a file's hashed column maps to email_md5 and
	// finds the stored records whose email hashes to it. MD5 keys need
	// exactly one field.
	MD5 bool `json:"md5,omitempty"`
	// RecordID says that the key's one field holds the store's own record
	// id (Acoustic's USE_RECIPIENT_ID): the matcher finds records by id
	// (sink.Getter), and sinks are never asked to look such a key up.
	RecordID bool `json:"record_id,omitempty"`
}

// EmailRules selects how email fields of a key are normalized.
type EmailRules string

// The email rules.
const (
	EmailExact    EmailRules = ""         // trimmed and lower-cased
	EmailProvider EmailRules = "provider" // also the provider's rules: see NormalizeEmailProvider
)

// Keys returns a KeySpec of the given fields.
func Keys(fields ...string) KeySpec { return KeySpec{Fields: fields} }

// Name returns the spec's fields joined by "+" ("email",
// "first_name+last_name"), with its options: "email[provider]",
// "md5(email)", "id(recipient_id)". Two specs with the same name compute
// the same keys.
func (k KeySpec) Name() string {
	n := strings.Join(k.Fields, "+")
	if k.EmailRules != EmailExact {
		n += "[" + string(k.EmailRules) + "]"
	}
	if k.MD5 {
		n = "md5(" + n + ")"
	}
	if k.RecordID {
		n = "id(" + n + ")"
	}
	return n
}

// Equal reports whether k and o compute the same keys: the same fields in
// the same order and the same options.
func (k KeySpec) Equal(o KeySpec) bool {
	return k.EmailRules == o.EmailRules && k.MD5 == o.MD5 && k.RecordID == o.RecordID && slices.Equal(k.Fields, o.Fields)
}

// Key is a normalized key: the normalized values of a [KeySpec]'s fields joined
// by the ASCII unit separator (0x1F). The empty Key is blank and never matches
// anything, not even another blank key.
type Key string

// KeySep separates the parts of a composite [Key].
const KeySep = "\x1f"

// KeyPlan is a [KeySpec] compiled against a schema: it computes keys of that
// schema's records without looking names up. It is safe for concurrent use.
type KeyPlan struct {
	spec  KeySpec
	idx   []int
	types []FieldType
}

// CompileKey compiles spec against s. Every field of spec must exist in s and
// appear once.
func (s *Schema) CompileKey(spec KeySpec) (*KeyPlan, error) {
	if len(spec.Fields) == 0 {
		return nil, fmt.Errorf("intake: key of %q has no fields: name at least one sync field", s.object)
	}
	p := &KeyPlan{spec: KeySpec{Fields: append([]string(nil), spec.Fields...)}}
	seen := map[string]bool{}
	for _, f := range spec.Fields {
		i := s.Index(f)
		if i < 0 {
			return nil, fmt.Errorf("intake: sync field %q is not a field of %q (fields: %s)", f, s.object, strings.Join(s.Names(), ", "))
		}
		if seen[f] {
			return nil, fmt.Errorf("intake: sync field %q is named twice", f)
		}
		seen[f] = true
		p.idx = append(p.idx, i)
		p.types = append(p.types, s.fields[i].Type)
	}
	return p, nil
}

// Spec returns the compiled spec.
func (p *KeyPlan) Spec() KeySpec { return p.spec }

// Key returns the normalized key of rec and whether all of its fields are
// empty (the row has no key at all: rejected with [CodeMissingKey]). When
// only some fields are empty the key is blank ("") and matches nothing.
func (p *KeyPlan) Key(rec *Record) (k Key, allEmpty bool) {
	if len(p.idx) == 1 {
		n := NormalizeKey(p.types[0], rec.Values[p.idx[0]])
		return Key(n), n == ""
	}
	var b strings.Builder
	empty := 0
	for j, i := range p.idx {
		n := NormalizeKey(p.types[j], rec.Values[i])
		if n == "" {
			empty++
		}
		if j > 0 {
			b.WriteString(KeySep)
		}
		b.WriteString(n)
	}
	if empty > 0 {
		return "", empty == len(p.idx)
	}
	return Key(b.String()), false
}

var folder = cases.Fold()

// NormalizeKey returns the normalized key form of v for a field of type t, or
// "" when v is null or blank:
//   - email: trimmed and lower-cased;
//   - phone, country, decimal, date, time, timestamp, bool, id: the canonical
//     [Value.String] (ids are kept exactly apart from surrounding spaces);
//   - text, select and lists: Unicode NFKC, case-folded, runs of white space
//     collapsed to one space, trimmed.
//
// ASCII input takes a fast path that allocates only when it changes the text.
func NormalizeKey(t FieldType, v Value) string {
	if v.k == KindNull {
		return ""
	}
	switch t {
	case TypeEmail:
		return lowerASCIIOrFold(strings.TrimSpace(v.s))
	case TypeText, TypeSelect, TypeMultiSelect:
		return foldText(v.String())
	case TypeID:
		return strings.TrimSpace(v.String())
	}
	return v.String()
}

func lowerASCIIOrFold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return folder.String(norm.NFKC.String(s))
		}
		if c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= utf8.RuneSelf {
					return folder.String(norm.NFKC.String(s))
				}
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// foldText normalizes text for keys: NFKC, case folding, collapsed white space.
func foldText(s string) string {
	ascii, clean := true, true
	prevSpace := true // treats leading space as a change
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		sp := c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
		if (c >= 'A' && c <= 'Z') || (sp && (prevSpace || c != ' ')) {
			clean = false
		}
		prevSpace = sp
	}
	if ascii && clean && !prevSpace {
		return s
	}
	if !ascii {
		s = folder.String(norm.NFKC.String(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 || r == 0xA0 || r == 0x3000 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
