package intake_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// heavy are the module paths of the drivers, formats and transports that
// only a host links, by importing the package that wraps them.
var heavy = []string{
	"github.com/jackc/pgx",
	"modernc.org/sqlite",
	"github.com/xuri/excelize",
	"github.com/pkg/sftp",
	"golang.org/x/crypto/ssh",
}

// TestDependencies checks the package boundaries the README's package map
// states: the packages of the import flow link no database driver, no
// workbook reader and no SSH, and the scheduler links no workbook reader
// and no SSH (its job stores are SQLite and PostgreSQL).
func TestDependencies(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not in PATH: the dependency check needs go list")
	}
	cases := []struct {
		pkg     string
		allowed []string // heavy paths the package may link
	}{
		{".", nil},
		{"./connector", nil},
		{"./mapping", nil},
		{"./identity", nil},
		{"./sink", nil},
		{"./importer", nil},
		{"./schedule", []string{"github.com/jackc/pgx", "modernc.org/sqlite"}},
		{"./schedule/acoustic", []string{"github.com/jackc/pgx", "modernc.org/sqlite"}},
		{"./sink/memory", nil},
		{"./sink/sqlite", []string{"modernc.org/sqlite"}},
		{"./sink/postgres", []string{"github.com/jackc/pgx"}},
		{"./connector/xlsx", []string{"github.com/xuri/excelize"}},
		{"./connector/sftp", []string{"github.com/pkg/sftp", "golang.org/x/crypto/ssh"}},
		{"./connector/sqlsource", nil},
	}
	for _, tc := range cases {
		t.Run(tc.pkg, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", tc.pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", tc.pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, h := range heavy {
					if strings.HasPrefix(dep, h) && !slices.Contains(tc.allowed, h) {
						t.Errorf("%s links %s", tc.pkg, dep)
						break
					}
				}
			}
		})
	}
}
