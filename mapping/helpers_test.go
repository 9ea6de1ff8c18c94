package mapping

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
)

// corpusDir returns the shared test corpora directory
// (../shared/corpora next to the module root), or "" when it is absent.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpora")
	if fi, err := os.Stat(c); err != nil || !fi.IsDir() {
		return ""
	}
	return c
}

// corpusCells returns every cell (header included) of a CSV file of the
// csvkit examples, or skips the test when the corpora are absent.
func corpusCells(tb testing.TB, name string) []string {
	tb.Helper()
	dir := corpusDir(tb)
	if dir == "" {
		tb.Skipf("test corpora not found (../shared/corpora next to the module root); skipping %s", name)
	}
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
	if corpusDir(f) == "" {
		return
	}
	for _, n := range names {
		for _, c := range corpusCells(f, n) {
			f.Add(c)
		}
	}
}
