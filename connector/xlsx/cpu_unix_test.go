//go:build unix

package xlsx_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used (user and system,
// the garbage collector included), for benchmarks on a busy machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
