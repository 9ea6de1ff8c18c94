package intake_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/intakehq/intake"
)

// BenchmarkKey measures KeyPlan.Key on the plain specs whose speed the
// options must not change (one email field, clean and mixed-case, and a
// composite text key) and on the options.
func BenchmarkKey(b *testing.B) {
	s := intake.ContactSchema()
	cases := []struct {
		name string
		spec intake.KeySpec
		vals map[string]string
	}{
		{"email/clean", intake.Keys("email"), map[string]string{"email": "anna.schmidt@example.de"}},
		{"email/upper", intake.Keys("email"), map[string]string{"email": " Anna.Schmidt@Example.de"}},
		{"names", intake.Keys("first_name", "last_name"), map[string]string{"first_name": "anna", "last_name": "schmidt"}},
		{"email/provider/clean", intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider}, map[string]string{"email": "anna.schmidt@example.de"}},
		{"email/provider/gmail", intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider}, map[string]string{"email": "Anna.Schmidt+news@googlemail.com"}},
		{"email/md5", intake.KeySpec{Fields: []string{"email"}, MD5: true}, map[string]string{"email": "anna.schmidt@example.de"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			p, err := s.CompileKey(c.spec)
			if err != nil {
				b.Fatal(err)
			}
			rec := intake.NewRecord(s)
			for f, v := range c.vals {
				rec.Set(f, intake.Text(v))
			}
			b.ReportAllocs()
			for b.Loop() {
				if k, _ := p.Key(rec); k == "" {
					b.Fatal("blank key")
				}
			}
		})
	}
}

func TestNormalizeEmailProvider(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		// Gmail: one domain, dots ignored, +tag dropped.
		{"J.Doe+News@GoogleMail.com", "jdoe@gmail.com"},
		{"  jdoe@gmail.com\t", "jdoe@gmail.com"},
		{"j.d.o.e@gmail.com", "jdoe@gmail.com"},
		{"jdoe@googlemail.com", "jdoe@gmail.com"},
		{"jdoe+a+b@gmail.com", "jdoe@gmail.com"},
		{"j.doe+x.y@gmail.com", "jdoe@gmail.com"},
		{"jdoe+@gmail.com", "jdoe@gmail.com"},
		{"+tag@gmail.com", "+tag@gmail.com"}, // '+' first: not a tag
		{"+t.a.g@gmail.com", "+tag@gmail.com"},
		{"...@gmail.com", "...@gmail.com"}, // nothing left without the dots: kept
		{".+x@googlemail.com", ".@gmail.com"},
		{"jdoe@gmail.com.", "jdoe@gmail.com."}, // not the domain gmail.com
		{"jdoe@mail.gmail.com", "jdoe@mail.gmail.com"},
		// Providers with '+' subaddressing: tag dropped, domain kept.
		{"Anna+Shop@Outlook.com", "anna@outlook.com"},
		{"a.b+c@hotmail.com", "a.b@hotmail.com"}, // dots matter outside Gmail
		{"anna+x@live.com", "anna@live.com"},
		{"anna+x@msn.com", "anna@msn.com"},
		{"anna+x@icloud.com", "anna@icloud.com"},
		{"anna+x@me.com", "anna@me.com"},
		{"anna+x@mac.com", "anna@mac.com"},
		{"anna+x@fastmail.com", "anna@fastmail.com"},
		{"anna+x@fastmail.fm", "anna@fastmail.fm"},
		{"anna+x@protonmail.com", "anna@protonmail.com"},
		{"anna+x@protonmail.ch", "anna@protonmail.ch"},
		{"anna+x@proton.me", "anna@proton.me"},
		{"anna+x@pm.me", "anna@pm.me"},
		{"+x@outlook.com", "+x@outlook.com"},
		// Exact elsewhere.
		{"anna-shop@yahoo.com", "anna-shop@yahoo.com"},
		{"anna+shop@yahoo.com", "anna+shop@yahoo.com"},
		{"a.nna+shop@example.com", "a.nna+shop@example.com"},
		// Not plain addresses: only trimmed and lower-cased.
		{`"J.Doe+x"@gmail.com`, `"j.doe+x"@gmail.com`},
		{`"a@b"@gmail.com`, `"a@b"@gmail.com`},
		{"a@b@gmail.com", "a@b@gmail.com"},
		{"J.Doe+X", "j.doe+x"},
		{"@gmail.com", "@gmail.com"},
		{"j.doe@", "j.doe@"},
		{"", ""},
		{"   ", ""},
		// Unicode: NFKC and case folding first.
		{"Ｊ.Ｄｏｅ＋ｘ＠ｇｍａｉｌ.ｃｏｍ", "jdoe@gmail.com"}, // full-width forms
		{"Jürgen.Groß+x@GMAIL.com", "jürgengross@gmail.com"},
		{"ÉLODIE+x@icloud.com", "élodie@icloud.com"},
		{"j.doe+x@gmäil.com", "j.doe+x@gmäil.com"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got := intake.NormalizeEmailProvider(tt.in)
			if got != tt.want {
				t.Errorf("NormalizeEmailProvider(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := intake.NormalizeEmailProvider(got); again != got {
				t.Errorf("not idempotent: N(%q) = %q", got, again)
			}
		})
	}
}

func TestNormalizeEmailProviderAllocs(t *testing.T) {
	for _, s := range []string{"jdoe@gmail.com", "anna@outlook.com", "a.nna+shop@example.com", "+x@outlook.com"} {
		if n := testing.AllocsPerRun(100, func() { intake.NormalizeEmailProvider(s) }); n != 0 {
			t.Errorf("NormalizeEmailProvider(%q): %v allocations, want 0 when nothing changes", s, n)
		}
	}
}

func FuzzNormalizeEmailProvider(f *testing.F) {
	for _, s := range []string{"J.Doe+News@GoogleMail.com", `"a+b"@gmail.com`, "+@gmail.com", ".+.@googlemail.com", "a+b@outlook.com", "Ｊ＠ｇｍａｉｌ.ｃｏｍ", "ß@x", "\u00a0a@b\u0085", "x@y@z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := intake.NormalizeEmailProvider(s)
		if again := intake.NormalizeEmailProvider(n); again != n {
			t.Errorf("not idempotent: N(%q) = %q, N(N) = %q", s, n, again)
		}
	})
}

// keySchema is a contact schema with a column of hashed emails.
var keySchema = intake.MustSchema("contact",
	intake.Field{Name: "contact_id", Type: intake.TypeID},
	intake.Field{Name: "email", Type: intake.TypeEmail},
	intake.Field{Name: "email_md5", Type: intake.TypeText},
	intake.Field{Name: "first_name", Type: intake.TypeText},
	intake.Field{Name: "last_name", Type: intake.TypeText},
	intake.Field{Name: "number", Type: intake.TypeDecimal},
)

func rec(vals map[string]string) *intake.Record {
	r := intake.NewRecord(keySchema)
	for f, v := range vals {
		if f == "number" {
			d, ok := intake.DecimalString(v)
			if !ok {
				panic(v)
			}
			r.Set(f, d)
			continue
		}
		r.Set(f, intake.Text(v))
	}
	return r
}

func TestKeyOptions(t *testing.T) {
	t.Parallel()
	const annaMD5 = "49e9f05d3f87311e1cdfe842cff7ee93" // md5("anna@example.de")
	const jdoeMD5 = "b2b146dba9e0023cb56637f0df4aa005" // md5("jdoe@gmail.com")
	provider := intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider}
	md5Spec := intake.KeySpec{Fields: []string{"email"}, MD5: true}
	md5Provider := intake.KeySpec{Fields: []string{"email"}, MD5: true, EmailRules: intake.EmailProvider}
	id := intake.KeySpec{Fields: []string{"contact_id"}, RecordID: true}
	idText := intake.KeySpec{Fields: []string{"first_name"}, RecordID: true}
	idNumber := intake.KeySpec{Fields: []string{"number"}, RecordID: true}
	composite := intake.KeySpec{Fields: []string{"email", "last_name"}, EmailRules: intake.EmailProvider}
	tests := []struct {
		name     string
		spec     intake.KeySpec
		vals     map[string]string
		want     intake.Key
		allEmpty bool
	}{
		{"exact keeps dots and tags", intake.Keys("email"), map[string]string{"email": "J.Doe+x@GoogleMail.com"}, "j.doe+x@googlemail.com", false},
		{"provider", provider, map[string]string{"email": " J.Doe+x@GoogleMail.com"}, "jdoe@gmail.com", false},
		{"provider empty", provider, nil, "", true},
		{"provider composite", composite, map[string]string{"email": "a.nna+x@gmail.com", "last_name": "Schmidt"}, "anna@gmail.com\x1fschmidt", false},
		{"provider composite part empty", composite, map[string]string{"email": "a.nna+x@gmail.com"}, "", false},
		{"md5 of normalized email", md5Spec, map[string]string{"email": " Anna@Example.DE "}, annaMD5, false},
		{"md5 after provider rules", md5Provider, map[string]string{"email": "J.Doe+x@googlemail.com"}, jdoeMD5, false},
		{"md5 from email_md5", md5Spec, map[string]string{"email_md5": annaMD5}, annaMD5, false},
		{"md5 from email_md5 upper and spaces", md5Spec, map[string]string{"email_md5": " 49E9F05D3F87311E1CDFE842CFF7EE93\t"}, annaMD5, false},
		{"md5 from email_md5 under provider rules", md5Provider, map[string]string{"email_md5": jdoeMD5}, jdoeMD5, false},
		{"md5 email wins over email_md5", md5Spec, map[string]string{"email": "anna@example.de", "email_md5": jdoeMD5}, annaMD5, false},
		{"md5 blank email uses email_md5", md5Spec, map[string]string{"email": "  ", "email_md5": annaMD5}, annaMD5, false},
		{"md5 invalid digest is blank", md5Spec, map[string]string{"email_md5": "not-a-digest"}, "", false},
		{"md5 short digest is blank", md5Spec, map[string]string{"email_md5": annaMD5[:31]}, "", false},
		{"md5 blank digest is no key", md5Spec, map[string]string{"email_md5": "  "}, "", true},
		{"md5 nothing", md5Spec, nil, "", true},
		{"record id trimmed", id, map[string]string{"contact_id": "  007 "}, "007", false},
		{"record id not folded", idText, map[string]string{"first_name": " AB-Cd "}, "AB-Cd", false},
		{"record id decimal", idNumber, map[string]string{"number": "1042"}, "1042", false},
		{"record id empty", id, nil, "", true},
		{"record id blank", id, map[string]string{"contact_id": " "}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := keySchema.CompileKey(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Spec().Equal(tt.spec) {
				t.Errorf("Spec() = %+v, want %+v", p.Spec(), tt.spec)
			}
			k, allEmpty := p.Key(rec(tt.vals))
			if k != tt.want || allEmpty != tt.allEmpty {
				t.Errorf("Key = %q, %v; want %q, %v", k, allEmpty, tt.want, tt.allEmpty)
			}
		})
	}
}

// TestKeyMD5OnlyDigest shows the point of email_md5: a file that carries
// only hashed addresses finds the records that carry the addresses.
func TestKeyMD5OnlyDigest(t *testing.T) {
	t.Parallel()
	p, err := keySchema.CompileKey(intake.KeySpec{Fields: []string{"email"}, MD5: true})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := p.Key(rec(map[string]string{"email": "Anna@Example.de"}))
	sum := md5.Sum([]byte("anna@example.de"))
	incoming, _ := p.Key(rec(map[string]string{"email_md5": strings.ToUpper(hex.EncodeToString(sum[:]))}))
	if stored == "" || stored != incoming {
		t.Errorf("stored key %q, key from email_md5 %q: want equal", stored, incoming)
	}
	// Without an email_md5 field, an empty email is no key at all.
	p, err = intake.ContactSchema().CompileKey(intake.KeySpec{Fields: []string{"email"}, MD5: true})
	if err != nil {
		t.Fatal(err)
	}
	if k, allEmpty := p.Key(intake.NewRecord(intake.ContactSchema())); k != "" || !allEmpty {
		t.Errorf("Key = %q, %v; want blank, all empty", k, allEmpty)
	}
}

func TestCompileKeyOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec intake.KeySpec
		want string
	}{
		{intake.KeySpec{Fields: []string{"email", "last_name"}, MD5: true}, "an MD5 key hashes exactly one field"},
		{intake.KeySpec{Fields: []string{"first_name", "last_name"}, RecordID: true}, "a record-id key names exactly one field"},
		{intake.KeySpec{Fields: []string{"contact_id"}, RecordID: true, MD5: true}, "drop MD5 and EmailRules"},
		{intake.KeySpec{Fields: []string{"email"}, RecordID: true, EmailRules: intake.EmailProvider}, "drop MD5 and EmailRules"},
		{intake.KeySpec{Fields: []string{"last_name"}, EmailRules: intake.EmailProvider}, "drop EmailRules or add an email field"},
		{intake.KeySpec{Fields: []string{"email"}, EmailRules: "gmail"}, `unknown email rules "gmail"`},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Name(), func(t *testing.T) {
			t.Parallel()
			_, err := keySchema.CompileKey(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CompileKey(%+v) = %v, want an error containing %q", tt.spec, err, tt.want)
			}
		})
	}
}

func TestKeySpecNameAndEqual(t *testing.T) {
	t.Parallel()
	specs := map[string]intake.KeySpec{
		"email":                     intake.Keys("email"),
		"email[provider]":           {Fields: []string{"email"}, EmailRules: intake.EmailProvider},
		"md5(email)":                {Fields: []string{"email"}, MD5: true},
		"md5(email[provider])":      {Fields: []string{"email"}, MD5: true, EmailRules: intake.EmailProvider},
		"id(contact_id)":            {Fields: []string{"contact_id"}, RecordID: true},
		"first_name+last_name":      intake.Keys("first_name", "last_name"),
		"last_name+first_name":      intake.Keys("last_name", "first_name"),
		"email+last_name[provider]": {Fields: []string{"email", "last_name"}, EmailRules: intake.EmailProvider},
	}
	for name, a := range specs {
		if a.Name() != name {
			t.Errorf("Name() = %q, want %q", a.Name(), name)
		}
		for other, b := range specs {
			if a.Equal(b) != (name == other) {
				t.Errorf("%s.Equal(%s) = %v", name, other, a.Equal(b))
			}
		}
	}
}

func TestKeyOptionsAllocs(t *testing.T) {
	p, err := keySchema.CompileKey(intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider})
	if err != nil {
		t.Fatal(err)
	}
	r := rec(map[string]string{"email": "anna@gmail.com"})
	if n := testing.AllocsPerRun(100, func() { p.Key(r) }); n != 0 {
		t.Errorf("provider key of a clean address: %v allocations, want 0", n)
	}
	p, err = keySchema.CompileKey(intake.KeySpec{Fields: []string{"email"}, MD5: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { p.Key(r) }); n > 1 {
		t.Errorf("md5 key: %v allocations, want at most 1 (the key)", n)
	}
}

func ExampleNormalizeEmailProvider() {
	for _, e := range []string{
		"J.Doe+News@GoogleMail.com",
		"anna+shop@outlook.com",
		"anna+shop@icloud.com",
		"anna-shop@yahoo.com",
		"a.nna+shop@example.com",
	} {
		fmt.Println(intake.NormalizeEmailProvider(e))
	}
	// Output:
	// jdoe@gmail.com
	// anna@outlook.com
	// anna@icloud.com
	// anna-shop@yahoo.com
	// a.nna+shop@example.com
}
