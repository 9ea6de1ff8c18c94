package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
)

// TestRun checks that the smallest host imports both contacts of its file.
func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`status\s+succeeded`, `rows\s+2\n`, `created\s+2\n`, `rejected\s+0\n`} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
