package intake_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/intakehq/intake"
)

func TestCheckMeta(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		meta map[string]string
		want []string // substrings of the error, in order; none means valid
	}{
		{"nil", nil, nil},
		{"acoustic", map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}, nil},
		{"dots and dashes", map[string]string{"crm.source": "x", "ui-hint": "", "a9": "Zürich \"quoted\""}, nil},
		{"longest key and value", map[string]string{"k" + strings.Repeat("x", intake.MaxMetaKeyBytes-1): strings.Repeat("v", intake.MaxMetaValueBytes)}, nil},
		{"empty key", map[string]string{"": "x"}, []string{`meta key ""`}},
		{"upper case", map[string]string{"Acoustic": "x"}, []string{`meta key "Acoustic"`}},
		{"starts with a digit", map[string]string{"1st": "x"}, []string{`meta key "1st"`}},
		{"space", map[string]string{"a b": "x"}, []string{`meta key "a b"`}},
		{"key too long", map[string]string{"k" + strings.Repeat("x", intake.MaxMetaKeyBytes): "x"}, []string{"meta key"}},
		{"value too long", map[string]string{"a": strings.Repeat("v", intake.MaxMetaValueBytes+1)}, []string{`meta "a": the value is 1025 bytes`}},
		{"NUL", map[string]string{"a": "x\x00y"}, []string{`meta "a"`, "NUL"}},
		{"invalid UTF-8", map[string]string{"a": "\xff"}, []string{`meta "a"`, "UTF-8"}},
		{"every problem in key order", map[string]string{"B": "x", "a": "\xff"}, []string{`meta key "B"`, `meta "a"`}},
	} {
		err := intake.CheckMeta(tc.meta)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "intake: ") {
			t.Errorf("%s: %q lacks the package prefix", tc.name, msg)
		}
		at := 0
		for _, w := range tc.want {
			i := strings.Index(msg[at:], w)
			if i < 0 {
				t.Errorf("%s: %q lacks %q after byte %d", tc.name, msg, w, at)
				break
			}
			at += i + len(w)
		}
	}
}

func TestSchemaMeta(t *testing.T) {
	t.Parallel()
	meta := map[string]string{"acoustic_required": "true", "acoustic_default": "01/01/2001"}
	s, err := intake.NewSchema("contact",
		intake.Field{Name: "email", Type: intake.TypeEmail},
		intake.Field{Name: "since", Type: intake.TypeDate, Meta: meta},
		intake.Field{Name: "plain", Type: intake.TypeText, Meta: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := maps.Clone(meta)
	// NewSchema keeps its own copy.
	meta["acoustic_required"] = "false"
	if got := s.Field(1).Meta; !maps.Equal(got, want) {
		t.Fatalf("Meta %v, want %v", got, want)
	}
	// Neither Field nor Fields hands out the schema's map.
	s.Field(1).Meta["acoustic_default"] = "changed"
	fs := s.Fields()
	fs[1].Meta["acoustic_default"] = "changed"
	delete(fs[1].Meta, "acoustic_required")
	if got := s.Field(1).Meta; !maps.Equal(got, want) {
		t.Fatalf("the schema changed through a returned map: Meta %v, want %v", got, want)
	}
	if s.Field(0).Meta != nil || s.Field(2).Meta != nil {
		t.Errorf("fields without attributes hold %v and %v, want nil", s.Field(0).Meta, s.Field(2).Meta)
	}
	// JSON: "meta", left out when empty.
	b, err := json.Marshal(s.Fields())
	if err != nil {
		t.Fatal(err)
	}
	const js = `[{"name":"email","type":"email"},{"name":"since","type":"date","meta":{"acoustic_default":"01/01/2001","acoustic_required":"true"}},{"name":"plain","type":"text"}]`
	if string(b) != js {
		t.Errorf("JSON\n %s, want\n %s", b, js)
	}
	var back []intake.Field
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(back[1].Meta, want) {
		t.Errorf("JSON round trip: Meta %v, want %v", back[1].Meta, want)
	}
}

func TestNewSchemaChecksMeta(t *testing.T) {
	t.Parallel()
	_, err := intake.NewSchema("contact",
		intake.Field{Name: "a", Type: intake.TypeText, Meta: map[string]string{"Bad Key": "x"}},
		intake.Field{Name: "b", Type: intake.TypeText, Meta: map[string]string{"ok": strings.Repeat("v", intake.MaxMetaValueBytes+1)}},
		intake.Field{Name: "c", Type: intake.TypeText, Meta: map[string]string{"ok": "fine"}})
	if err == nil {
		t.Fatal("NewSchema accepted bad meta")
	}
	for _, want := range []string{`intake: schema "contact": field "a": meta key "Bad Key"`, `intake: schema "contact": field "b": meta "ok": the value is 1025 bytes`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), `field "c"`) {
		t.Errorf("%q blames a good field", err)
	}
}

// TestSchemaNameTypeDoNotCopy: the per-record accessors Name and Type
// agree with Field and copy nothing, whatever Meta the fields hold.
// Not parallel: AllocsPerRun counts the whole process's allocations.
func TestSchemaNameTypeDoNotCopy(t *testing.T) {
	meta := map[string]string{"acoustic_required": "true"}
	s := intake.MustSchema("contact",
		intake.Field{Name: "email", Type: intake.TypeEmail, Meta: meta},
		intake.Field{Name: "since", Type: intake.TypeDate, Meta: meta})
	for i := range s.Len() {
		if s.Name(i) != s.Field(i).Name || s.Type(i) != s.Field(i).Type {
			t.Errorf("field %d: Name %q, Type %s; Field says %q, %s", i, s.Name(i), s.Type(i), s.Field(i).Name, s.Field(i).Type)
		}
	}
	var kinds int
	if n := testing.AllocsPerRun(100, func() {
		for i := range s.Len() {
			kinds += int(s.Type(i).Kind()) + len(s.Name(i))
		}
	}); n != 0 {
		t.Errorf("Name and Type allocate %v times per run", n)
	}
}
