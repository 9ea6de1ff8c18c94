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

// noHTTP forbids the HTTP client and server, which bring crypto/tls.
var noHTTP = []string{"net/http"}

// TestDependencies checks the package boundaries the README's package map
// states: the packages of the import flow link no database driver, no
// workbook reader, no SSH and no net/http (a host that reads local files
// compiles no HTTP client or TLS), and the scheduler links no workbook
// reader and no SSH (its job stores are SQLite and PostgreSQL).
func TestDependencies(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not in PATH: the dependency check needs go list")
	}
	cases := []struct {
		pkg       string
		allowed   []string // heavy paths the package may link
		forbidden []string // standard-library packages it must not link
	}{
		{".", nil, noHTTP},
		{"./connector", nil, noHTTP},
		{"./mapping", nil, noHTTP},
		{"./identity", nil, noHTTP},
		{"./sink", nil, noHTTP},
		{"./importer", nil, noHTTP},
		{"./schedule", []string{"github.com/jackc/pgx", "modernc.org/sqlite"}, nil},
		{"./schedule/acoustic", []string{"github.com/jackc/pgx", "modernc.org/sqlite"}, nil},
		{"./sink/memory", nil, noHTTP},
		{"./examples/minimal", nil, noHTTP},
		{"./sink/sqlite", []string{"modernc.org/sqlite"}, nil},
		{"./sink/postgres", []string{"github.com/jackc/pgx"}, nil},
		{"./connector/xlsx", []string{"github.com/xuri/excelize"}, nil},
		{"./connector/sftp", []string{"github.com/pkg/sftp", "golang.org/x/crypto/ssh"}, nil},
		{"./connector/httpconn", nil, nil},
		{"./connector/sqlsource", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.pkg, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", tc.pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", tc.pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if slices.Contains(tc.forbidden, dep) {
					t.Errorf("%s links %s", tc.pkg, dep)
				}
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
