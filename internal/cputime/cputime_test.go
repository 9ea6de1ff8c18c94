package cputime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/intakehq/intake/internal/cputime"
)

// TestProcessCounts: busy work adds CPU time (on systems that tell).
func TestProcessCounts(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("cputime: this system does not report the process's CPU time")
	}
	before := cputime.Process()
	x := 0
	for deadline := time.Now().Add(30 * time.Millisecond); time.Now().Before(deadline); {
		x++
	}
	if after := cputime.Process(); after <= before {
		t.Fatalf("CPU time %v → %v after %d rounds of busy work", before, after, x)
	}
}
