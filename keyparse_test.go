package intake_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/intakehq/intake"
)

func ExampleParseKeySpec() {
	for _, s := range []string{"email", "first_name, last_name", "md5(email)[provider]", "id(recipient_id)", "email[gmail]"} {
		k, err := intake.ParseKeySpec(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-22s fields %v, name %s\n", s, k.Fields, k.Name())
	}
	// Output:
	// email                  fields [email], name email
	// first_name, last_name  fields [first_name last_name], name first_name+last_name
	// md5(email)[provider]   fields [email], name md5(email[provider])
	// id(recipient_id)       fields [recipient_id], name id(recipient_id)
	// intake: key spec "email[gmail]": at 7, "gmail": unknown email rules (want [provider])
}

func ExampleParseRules() {
	rules, err := intake.ParseRules("contact_id; email[provider]; first_name+last_name")
	fmt.Println(len(rules), rules[1].Name(), rules[2].Fields, err)
	_, err = intake.ParseRules("contact_id; email; contact_id")
	fmt.Println(err)
	// Output:
	// 3 email[provider] [first_name last_name] <nil>
	// intake: rules "contact_id; email; contact_id": at 20, "contact_id": the rule contact_id is given twice: drop one
}

func TestParseKeySpec(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in   string
		want intake.KeySpec
	}{
		{"email", intake.Keys("email")},
		{"  first_name +last_name ", intake.Keys("first_name", "last_name")},
		{"a,b+c", intake.Keys("a", "b", "c")},
		{"email[provider]", intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider}},
		{"md5(email)", intake.KeySpec{Fields: []string{"email"}, MD5: true}},
		{"md5( email [ provider ] )", intake.KeySpec{Fields: []string{"email"}, MD5: true, EmailRules: intake.EmailProvider}},
		{"md5(email)[provider]", intake.KeySpec{Fields: []string{"email"}, MD5: true, EmailRules: intake.EmailProvider}},
		{"id(recipient_id)", intake.KeySpec{Fields: []string{"recipient_id"}, RecordID: true}},
	}
	for _, tc := range ok {
		got, err := intake.ParseKeySpec(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseKeySpec(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, text, msg string }{
		{"", "", "no field"},
		{"   ", "", "no field"},
		{"email[provider", "", `missing "]"`},
		{"md5(email", "", `missing ")"`},
		{"md5(email))", ")", "unexpected text"},
		{"E-Mail", "E-Mail", "not a field name"},
		{"email,,phone", ",", "a field name is missing"},
		{"email+", "", "a field name is missing"},
		{"email+email", "email", "named twice"},
		{"sha1(email)", "sha1", "unknown function"},
		{"md5(md5(email))", "md5", "given twice"},
		{"md5(a+b)", "md5", "exactly one field"},
		{"id(a,b)", "id", "exactly one field"},
		{"id(md5(a))", "id", "compared as is"},
		{"email[provider][provider]", "[", "given twice"},
		{"email[]", "]", "empty email rules"},
		{"email;phone", ";", "unexpected text"},
		{"email phone", "phone", "unexpected text"},
	}
	for _, tc := range bad {
		_, err := intake.ParseKeySpec(tc.in)
		var se *intake.SyntaxError
		if !errors.As(err, &se) || se.Text != tc.text || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("ParseKeySpec(%q) = %v; want a SyntaxError at %q saying %q", tc.in, err, tc.text, tc.msg)
			continue
		}
		if se.Input[se.Pos-1:se.Pos-1+len(se.Text)] != se.Text {
			t.Errorf("ParseKeySpec(%q): position %d does not hold %q", tc.in, se.Pos, se.Text)
		}
	}
}

func TestParseRules(t *testing.T) {
	t.Parallel()
	rules, err := intake.ParseRules(" contact_id ;md5(email); phone")
	if err != nil || len(rules) != 3 || rules[0].Name() != "contact_id" || rules[1].Name() != "md5(email)" || rules[2].Name() != "phone" {
		t.Fatalf("ParseRules = %v, %v", rules, err)
	}
	for _, tc := range []struct {
		in  string
		pos int
		msg string
	}{
		{"", 1, "empty rule"},
		{"email;", 7, "empty rule"},
		{"email; ;phone", 8, "empty rule"},
		{"email; phone+", 14, "a field name is missing"},
		{"email; E", 8, "not a field name"},
		{"email;email", 7, "given twice"},
	} {
		_, err := intake.ParseRules(tc.in)
		var se *intake.SyntaxError
		if !errors.As(err, &se) || se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("ParseRules(%q) = %v; want an error at %d saying %q", tc.in, err, tc.pos, tc.msg)
		}
	}
}

// FuzzParseKeySpec checks that an accepted key spec is usable and
// round-trips through its Name, and that an error is a SyntaxError whose
// position holds the text it names.
func FuzzParseKeySpec(f *testing.F) {
	for _, s := range []string{"email", "first_name,last_name", "a+b+c", "email[provider]", "md5(email)", "md5(email)[provider]",
		"id(recipient_id)", "md5(id(x))", "((", "email[", "]", "a;b", " ", "é", "md5()", "email[provider]]", "a,b;c+d;md5(e)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := intake.ParseKeySpec(s)
		checkSyntaxError(t, s, err)
		if err == nil {
			checkKeySpec(t, s, k)
		}
		rules, err := intake.ParseRules(s)
		checkSyntaxError(t, s, err)
		if err == nil {
			if len(rules) == 0 {
				t.Fatalf("ParseRules(%q): no rule and no error", s)
			}
			for _, r := range rules {
				checkKeySpec(t, s, r)
			}
		}
	})
}

func checkSyntaxError(t *testing.T, s string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se *intake.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("%q: %T %v, not a SyntaxError", s, err, err)
	}
	if se.Input != s || se.Pos < 1 || se.Pos > len(s)+1 || se.Pos-1+len(se.Text) > len(s) || s[se.Pos-1:se.Pos-1+len(se.Text)] != se.Text || se.Msg == "" {
		t.Fatalf("%q: error %+v does not point into the input", s, se)
	}
	if se.Text == "" && se.Pos != len(s)+1 {
		t.Fatalf("%q: error %+v names no text before the end", s, se)
	}
}

func checkKeySpec(t *testing.T, s string, k intake.KeySpec) {
	t.Helper()
	if len(k.Fields) == 0 || (k.MD5 || k.RecordID) && len(k.Fields) != 1 || k.RecordID && (k.MD5 || k.EmailRules != "") {
		t.Fatalf("%q: unusable spec %+v accepted", s, k)
	}
	for _, f := range k.Fields {
		if !intake.ValidName(f) {
			t.Fatalf("%q: field %q accepted", s, f)
		}
	}
	back, err := intake.ParseKeySpec(k.Name())
	if err != nil || !back.Equal(k) {
		t.Fatalf("%q: %+v, written %q, reads back as %+v, %v", s, k, k.Name(), back, err)
	}
}
