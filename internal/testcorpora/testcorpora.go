// Package testcorpora finds the public test corpora that Intake's tests read
// in place: ../shared/corpora next to the module root (the directory that
// holds go.mod). The files are never copied into the repository; tests that
// need them skip with a message when the folder is absent (a clone without
// ../shared beside it).
package testcorpora

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Find returns the corpora directory, found by walking up from the working
// directory (a test's package directory) to the module root, or an error
// saying why it is not there.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpora")
	if fi, err := os.Stat(c); err != nil {
		return "", fmt.Errorf("shared corpora not found at %s (they live next to the repository, in ../shared/corpora): %w", c, err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", c)
	}
	return c, nil
}

// Dir returns the corpora directory, or skips the test with the reason.
func Dir(tb testing.TB) string {
	tb.Helper()
	c, err := Find()
	if err != nil {
		tb.Skip(err.Error())
	}
	return c
}

// Path returns the path of a file of the corpora (elements joined below the
// corpora directory), or skips the test.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{Dir(tb)}, elem...)...)
}
