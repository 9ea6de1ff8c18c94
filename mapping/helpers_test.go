package mapping

import (
	"encoding/csv"
	"github.com/intakehq/intake/internal/testcorpora"
	"os"
	"path/filepath"
	"testing"
)

// corpusCells returns every cell (header included) of a CSV file of the
// csvkit examples, or skips the test when the corpora are absent.
func corpusCells(tb testing.TB, name string) []string {
	tb.Helper()
	dir := testcorpora.Dir(tb)
	f, err := os.Open(filepath.Join(dir, "csvkit-examples", name))
	if err != nil {
		tb.Skipf("corpus file %s: %v", name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		tb.Fatalf("reading corpus %s: %v", name, err)
	}
	var cells []string
	for _, rec := range recs {
		cells = append(cells, rec...)
	}
	return cells
}

// seedCorpus adds the cells of the named csvkit examples to a fuzz corpus
// when the corpora are present.
func seedCorpus(f *testing.F, names ...string) {
	f.Helper()
	if !hasCorpora() {
		return
	}
	for _, n := range names {
		for _, c := range corpusCells(f, n) {
			f.Add(c)
		}
	}
}

// hasCorpora reports whether the shared corpora are next to the module, for
// fuzz targets that seed from them when they can.
func hasCorpora() bool {
	_, err := testcorpora.Find()
	return err == nil
}
