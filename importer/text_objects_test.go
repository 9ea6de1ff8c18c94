package importer

import (
	"strings"
	"testing"
)

// TestWriteTextObjects checks that the text report shows the counts per
// target object type, labelled "OBJECT (linked)" (updated and unchanged
// count references, not records), and a link's updates.
func TestWriteTextObjects(t *testing.T) {
	r := &Report{
		Status:  StatusSucceeded,
		Counts:  Counts{Rows: 3, Created: 3},
		Links:   map[string]*LinkCounts{"company_domain": {Found: 3, Created: 2, Updated: 1}},
		Objects: map[string]*ObjectCounts{"account": {Created: 2, Updated: 1}, "list": {Unchanged: 4}},
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"link company_domain  found 3, created 2, updated 1",
		"account (linked)     created 2, updated 1, unchanged 0",
		"list (linked)        created 0, updated 0, unchanged 4",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "records") {
		t.Errorf("the counts of linked objects are not all records:\n%s", out)
	}
	if strings.Index(out, "account (linked)") > strings.Index(out, "list (linked)") {
		t.Errorf("object types are not sorted:\n%s", out)
	}
}
