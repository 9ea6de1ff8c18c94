package testcorpora_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake/internal/testcorpora"
)

func TestFind(t *testing.T) {
	c, err := testcorpora.Find()
	if err != nil {
		t.Skipf("corpora absent here (%v): nothing to check", err)
	}
	if _, err := os.Stat(filepath.Join(c, "INDEX.md")); err != nil {
		t.Fatalf("Find returned %s, which has no INDEX.md: %v", c, err)
	}
}

func TestFindFailsOutsideTheModule(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if c, err := testcorpora.Find(); err == nil {
		t.Fatalf("Find in %s (no go.mod above) returned %s and no error", dir, c)
	}
}
