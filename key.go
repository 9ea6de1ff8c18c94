package intake

import (
	"crypto/md5"
	"encoding/hex"
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
	// plain: one field, no option that changes it: the fast path.
	plain bool
	// provider[j]: field j is an email field under EmailProvider rules.
	provider []bool
	// md5At is the index of the F_md5 field of an MD5 key, or -1.
	md5At int
}

// CompileKey compiles spec against s. Every field of spec must exist in s and
// appear once. The options are checked too: a [KeySpec.MD5] or
// [KeySpec.RecordID] key has exactly one field, a record-id key takes no
// other option, and [EmailProvider] needs at least one email field.
func (s *Schema) CompileKey(spec KeySpec) (*KeyPlan, error) {
	if len(spec.Fields) == 0 {
		return nil, fmt.Errorf("intake: key of %q has no fields: name at least one sync field", s.object)
	}
	p := &KeyPlan{spec: spec, md5At: -1}
	p.spec.Fields = append([]string(nil), spec.Fields...)
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
	switch spec.EmailRules {
	case EmailExact:
	case EmailProvider:
		p.provider = make([]bool, len(p.types))
		hasEmail := false
		for j, t := range p.types {
			p.provider[j] = t == TypeEmail
			hasEmail = hasEmail || t == TypeEmail
		}
		if !hasEmail {
			return nil, fmt.Errorf("intake: key %s of %q: email rules %q apply to email fields and the key has none: drop EmailRules or add an email field", spec.Name(), s.object, spec.EmailRules)
		}
	default:
		return nil, fmt.Errorf("intake: key %s of %q: unknown email rules %q: use %q (exact, the default) or %q", spec.Name(), s.object, spec.EmailRules, EmailExact, EmailProvider)
	}
	if spec.RecordID {
		if len(spec.Fields) != 1 {
			return nil, fmt.Errorf("intake: key %s of %q has %d fields: a record-id key names exactly one field, the one holding the store's record id", spec.Name(), s.object, len(spec.Fields))
		}
		if spec.MD5 || spec.EmailRules != EmailExact {
			return nil, fmt.Errorf("intake: key %s of %q: a record-id key is compared as is: drop MD5 and EmailRules", spec.Name(), s.object)
		}
	}
	if spec.MD5 {
		if len(spec.Fields) != 1 {
			return nil, fmt.Errorf("intake: key %s of %q has %d fields: an MD5 key hashes exactly one field: name one field (e.g. email) or drop MD5", spec.Name(), s.object, len(spec.Fields))
		}
		p.md5At = s.Index(spec.Fields[0] + "_md5")
	}
	p.plain = len(p.idx) == 1 && !spec.MD5 && !spec.RecordID && p.provider == nil
	return p, nil
}

// Spec returns the compiled spec.
func (p *KeyPlan) Spec() KeySpec { return p.spec }

// Key returns the normalized key of rec and whether all of its fields are
// empty (the row has no key at all: rejected with [CodeMissingKey]). When
// only some fields are empty the key is blank ("") and matches nothing.
//
// With the spec's options:
//   - [EmailProvider]: email fields are normalized by
//     [NormalizeEmailProvider];
//   - [KeySpec.MD5]: the key is the 32 lower-case hexadecimal digits of the
//     MD5 digest of the normalized field. When the field is empty and the
//     schema has a field named after it plus "_md5" ("email_md5"), that
//     field's value, trimmed and lower-cased, is the key; a value that is not
//     32 hexadecimal digits gives a blank key (it matches nothing, and the
//     row is not missing its key). A record with both uses the field;
//   - [KeySpec.RecordID]: the key is the field's [Value.String] with
//     surrounding white space trimmed, nothing else.
func (p *KeyPlan) Key(rec *Record) (k Key, allEmpty bool) {
	if p.plain {
		n := NormalizeKey(p.types[0], rec.Values[p.idx[0]])
		return Key(n), n == ""
	}
	if len(p.idx) == 1 {
		return p.keyOne(rec)
	}
	var b strings.Builder
	empty := 0
	for j, i := range p.idx {
		var n string
		if p.provider != nil && p.provider[j] {
			n = p.norm(j, rec)
		} else {
			n = NormalizeKey(p.types[j], rec.Values[i])
		}
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

// norm returns the normalized value of the plan's j-th field in rec.
func (p *KeyPlan) norm(j int, rec *Record) string {
	v := rec.Values[p.idx[j]]
	if p.spec.RecordID {
		if v.k == KindNull {
			return ""
		}
		return strings.TrimSpace(v.String())
	}
	if p.provider != nil && p.provider[j] {
		if v.k == KindNull {
			return ""
		}
		return NormalizeEmailProvider(v.s)
	}
	return NormalizeKey(p.types[j], v)
}

// keyOne is Key for one field with options.
func (p *KeyPlan) keyOne(rec *Record) (Key, bool) {
	n := p.norm(0, rec)
	if !p.spec.MD5 {
		return Key(n), n == ""
	}
	if n != "" {
		return md5Key(n), false
	}
	if p.md5At < 0 {
		return "", true
	}
	v := rec.Values[p.md5At]
	if v.k == KindNull {
		return "", true
	}
	d := strings.TrimSpace(v.String())
	if d == "" {
		return "", true
	}
	if !isHexDigest(d) {
		return "", false
	}
	return Key(lowerASCIIOrFold(d)), false
}

// md5Key returns the lower-case hexadecimal MD5 digest of s.
func md5Key(s string) Key {
	sum := md5.Sum([]byte(s))
	var h [2 * md5.Size]byte
	hex.Encode(h[:], sum[:])
	return Key(h[:])
}

// isHexDigest reports whether s is 32 hexadecimal digits, of either case.
func isHexDigest(s string) bool {
	if len(s) != 2*md5.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
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

// NormalizeEmailProvider returns email trimmed and lower-cased (Unicode
// NFKC and case folding when it is not ASCII, as [NormalizeKey] does), with
// the addressing rules of the large mail providers applied, so that the
// addresses that reach one mailbox are one key:
//
//	domain                                    local part                  domain kept
//	gmail.com, googlemail.com                 dots ignored, +tag dropped  gmail.com
//	outlook.com, hotmail.com, live.com,       +tag dropped                as is
//	msn.com
//	icloud.com, me.com, mac.com               +tag dropped                as is
//	fastmail.com, fastmail.fm                 +tag dropped                as is
//	protonmail.com, protonmail.ch, proton.me, +tag dropped                as is
//	pm.me
//	any other domain (yahoo.com included)     as is                       as is
//
// "J.Doe+News@GoogleMail.com" becomes "jdoe@gmail.com". A +tag is a '+'
// and what follows it in the local part; every provider in the table
// documents such subaddresses and none lets a mailbox name contain '+'.
// Domains are never merged except googlemail.com into gmail.com, which
// Google treats as one domain: an iCloud account need not own the me.com
// address of the same name, nor a Proton account its pm.me address.
//
// Yahoo is left exact on purpose: its disposable addresses are
// "base-keyword", but the base name is chosen apart from the account's
// own name, so dropping "-keyword" would name another mailbox, perhaps
// someone else's. Other domains are left exact too, because what '+' means
// is up to each domain's owner.
//
// The rules only apply to a plain address: one '@' with a non-empty local
// part and domain, and a local part that is not quoted: "a+b"@gmail.com,
// quotes included, is left as is. A '+' that starts the local part is not a tag, and a Gmail local part
// that would be left empty keeps its dots. NormalizeEmailProvider never
// fails: what is not such an address is only trimmed and lower-cased. It is
// idempotent, and allocates only when it changes the text.
func NormalizeEmailProvider(email string) string {
	s := providerRules(lowerASCIIOrFold(strings.TrimSpace(email)))
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			// NFKC and folding can make text that they change again
			// ("˝" becomes " ̋", whose space is then trimmed): repeat
			// until nothing changes. Two rounds are the most the fuzz
			// test has needed; four bound a pathological input.
			for range 4 {
				t := providerRules(lowerASCIIOrFold(strings.TrimSpace(s)))
				if t == s {
					break
				}
				s = t
			}
			break
		}
	}
	return s
}

// providerRules applies NormalizeEmailProvider's table to an address
// already trimmed and lower-cased.
func providerRules(s string) string {
	s = foldCherokee(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return s
	}
	local, domain := s[:at], s[at+1:]
	if strings.IndexByte(local, '@') >= 0 || strings.IndexByte(local, '"') >= 0 {
		return s
	}
	switch domain {
	case "gmail.com", "googlemail.com":
		l := local
		if i := strings.IndexByte(l, '+'); i > 0 {
			l = l[:i]
		}
		dots := strings.Count(l, ".")
		if dots == len(l) { // nothing left without the dots: keep them
			dots = 0
		}
		if len(l) == len(local) && dots == 0 && domain == "gmail.com" {
			return s
		}
		var b strings.Builder
		b.Grow(len(l) - dots + len("@gmail.com"))
		for i := 0; i < len(l); i++ {
			if l[i] != '.' || dots == 0 {
				b.WriteByte(l[i])
			}
		}
		b.WriteString("@gmail.com")
		return b.String()
	case "outlook.com", "hotmail.com", "live.com", "msn.com",
		"icloud.com", "me.com", "mac.com",
		"fastmail.com", "fastmail.fm",
		"protonmail.com", "protonmail.ch", "proton.me", "pm.me":
		if i := strings.IndexByte(local, '+'); i > 0 {
			return local[:i] + s[at:]
		}
	}
	return s
}

// foldCherokee maps Cherokee small letters to their capitals, as Unicode
// case folding does (CaseFolding.txt folds Cherokee to upper case, for
// stability). golang.org/x/text/cases.Fold swaps the two cases instead, so
// that folding twice gives back the first form; NormalizeEmailProvider
// corrects it to stay idempotent. ASCII text is returned as is.
func foldCherokee(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) || !strings.ContainsFunc(s[i:], isCherokeeSmall) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xAB70 && r <= 0xABBF:
			return r - 0xAB70 + 0x13A0
		case r >= 0x13F8 && r <= 0x13FD:
			return r - 0x13F8 + 0x13F0
		}
		return r
	}, s)
}

func isCherokeeSmall(r rune) bool {
	return r >= 0xAB70 && r <= 0xABBF || r >= 0x13F8 && r <= 0x13FD
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
