package connector

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDisplayName: a URL of any scheme is named without its query and
// password, which may hold credentials; a path is named as it is.
func TestDisplayName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://files.example.com/a.csv?api_key=SECRET", "https://files.example.com/a.csv"},
		{"http://u:SECRET@files.example.com/a.csv", "http://u@files.example.com/a.csv"},
		{"sftp://exports:SECRET@sftp.example.com/out/a.csv", "sftp://exports@sftp.example.com/out/a.csv"},
		{"restapi://api.example.com/v1/contacts?token=SECRET", "restapi://api.example.com/v1/contacts"},
		{"file:///exports/a.csv", "file:///exports/a.csv"},
		{"exports/a b?.csv", "exports/a b?.csv"},
		{"contacts.csv", "contacts.csv"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, displayName(tc.in), tc.in)
	}
}
