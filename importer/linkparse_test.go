package importer_test

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
)

func ExampleParseLinks() {
	links, err := importer.ParseLinks("account_id, company_domain=account.domain[company_name:name update], lists=list.name[many]")
	if err != nil {
		panic(err)
	}
	for _, l := range links {
		fmt.Printf("%-16s → %s (key %q, many %v, update %v, fields %v)\n", l.Field, l.Object, l.Key.Name(), l.Many, l.Update, l.Fields)
	}
	_, err = importer.ParseLinks("lists=list.name[often]")
	fmt.Println(err)
	// Output:
	// account_id       → account (key "", many false, update false, fields map[])
	// company_domain   → account (key "domain", many false, update true, fields map[company_name:name])
	// lists            → list (key "name", many true, update false, fields map[])
	// intake: link "lists=list.name[often]": at 17, "often": unknown option "often": use many, update or ROWFIELD:TARGETFIELD (a value the row carries for the target)
}

func ExampleLink_String() {
	l := importer.Link{Field: "company", Object: "account", Key: intake.Keys("name"), Update: true, Fields: map[string]string{"company_type": "type"}}
	fmt.Println(l)
	// Output: company=account.name[update company_type:type]
}

func TestParseLinks(t *testing.T) {
	t.Parallel()
	links, err := importer.ParseLinks(" a_id ,b = list . name [ many ],c=account[x:y,update]")
	if err != nil || len(links) != 3 {
		t.Fatalf("ParseLinks = %v, %v", links, err)
	}
	if l := links[0]; l.Field != "a_id" || l.Object != intake.ObjectAccount || len(l.Key.Fields) != 0 {
		t.Errorf("link 0: %+v", l)
	}
	if l := links[1]; l.Field != "b" || l.Object != "list" || l.Key.Name() != "name" || !l.Many {
		t.Errorf("link 1: %+v", l)
	}
	if l := links[2]; !l.Update || !maps.Equal(l.Fields, map[string]string{"x": "y"}) {
		t.Errorf("link 2: %+v", l)
	}
	if links, err := importer.ParseLinks("  "); links != nil || err != nil {
		t.Errorf("blank: %v, %v", links, err)
	}
	for _, tc := range []struct{ in, text, msg string }{
		{"a,,b", ",", "an empty link"},
		{"a,", "", "an empty link"},
		{"A", "A", "not a valid field name"},
		{"a=", "", "object type is missing"},
		{"a=list.", "", "key field is missing"},
		{"a=list.b+c", "b+c", "not a valid key field"},
		{"a[many", "[", "close the options in one pair of brackets"},
		{"a[many]]", "]", "unexpected text"},
		{"a[[many]]", "[", "close the options in one pair of brackets"},
		{"a[often]", "often", `unknown option "often"`},
		{"a[many many]", "many", "given twice"},
		{"a[many x:y]", "many", "carries no target's data"},
		{"a[update]", "update", "add ROWFIELD:TARGETFIELD"},
		{"a[a:name]", "a", "sets the target's key"},
		{"a[x:y x:z update]", "x", "carried twice"},
		{"a[x:Y update]", "Y", "not a valid target field"},
		{"a[:y update]", ":", "not a valid row field"},
		{"a=list b", "b", "unexpected text"},
		{"a,b=list,a=account", "a", "linked twice"},
	} {
		_, err := importer.ParseLinks(tc.in)
		var se *intake.SyntaxError
		if !errors.As(err, &se) || se.Text != tc.text || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("ParseLinks(%q) = %v; want a SyntaxError at %q saying %q", tc.in, err, tc.text, tc.msg)
		}
	}
}

// FuzzParseLinks checks that accepted links are usable as far as the syntax
// can tell and read back from their String, and that an error is a
// SyntaxError whose position holds the text it names.
func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{"account_id", "company=account.name", "lists=list.name[many]", "d=account.domain[n:name update]",
		"a,b", "a[", "a]", "a[x:y,update],b", "[", ",", "=.", "a=b.c.d", "a[many]]", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		links, err := importer.ParseLinks(s)
		if err != nil {
			var se *intake.SyntaxError
			if !errors.As(err, &se) || links != nil {
				t.Fatalf("%q: %v (links %v)", s, err, links)
			}
			if se.Input != s || se.Pos < 1 || se.Pos-1+len(se.Text) > len(s) || s[se.Pos-1:se.Pos-1+len(se.Text)] != se.Text || se.Text == "" && se.Pos != len(s)+1 {
				t.Fatalf("%q: error %+v does not point into the input", s, se)
			}
			return
		}
		seen := map[string]bool{}
		var written []string
		for _, l := range links {
			if !intake.ValidName(l.Field) || !intake.ValidName(l.Object) || seen[l.Field] || l.Many && (l.Update || len(l.Fields) > 0) || l.Update && len(l.Fields) == 0 {
				t.Fatalf("%q: unusable link %+v accepted", s, l)
			}
			seen[l.Field] = true
			written = append(written, l.String())
		}
		back, err := importer.ParseLinks(strings.Join(written, ","))
		if err != nil || len(back) != len(links) {
			t.Fatalf("%q: written %q, reads back as %v, %v", s, written, back, err)
		}
		for i, l := range links {
			b := back[i]
			if b.Field != l.Field || b.Object != l.Object || !b.Key.Equal(l.Key) || b.Many != l.Many || b.Update != l.Update || !maps.Equal(b.Fields, l.Fields) {
				t.Fatalf("%q: link %+v reads back as %+v", s, l, b)
			}
		}
	})
}
