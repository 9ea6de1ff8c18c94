package acoustic

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
)

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add(string(b))
		}
	}
	f.Add(`<LIST_IMPORT><LIST_INFO><ACTION>ADD_ONLY</ACTION><LIST_ID>1</LIST_ID><ENCODED_AS_MD5/></LIST_INFO><MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`)
	f.Add(`<?xml version="1.0"?><!DOCTYPE LIST_IMPORT [<!ENTITY a "b">]><LIST_IMPORT>&a;</LIST_IMPORT>`)
	f.Fuzz(func(t *testing.T, in string) {
		a, err := Load(strings.NewReader(in))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				for _, line := range strings.Split(err.Error(), "\n") {
					if !strings.HasPrefix(line, "acoustic: ") {
						t.Fatalf("error line without prefix: %q", line)
					}
				}
			}
			return
		}
		if a.Action == "" || !a.Action.Valid() {
			t.Fatalf("loaded without a valid action: %q", a.Action)
		}
		switch a.DelimiterName() {
		case "comma", "tab", "pipe":
		default:
			t.Fatalf("delimiter %q", a.DelimiterName())
		}
		for _, r := range a.Rules() {
			for _, k := range r.Fields {
				if !intake.ValidName(k) {
					t.Fatalf("key field %q", k)
				}
			}
		}
		spec, err := a.MappingSpec(intake.ContactSchema())
		if err != nil {
			return
		}
		for _, fs := range spec.Fields {
			if !intake.ValidName(fs.Name) {
				t.Fatalf("field name %q", fs.Name)
			}
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("the spec of a loaded file is invalid: %v", err)
		}
		_, _ = mapping.Compile(spec, intake.ContactSchema(), nil, mapping.Options{})
	})
}
