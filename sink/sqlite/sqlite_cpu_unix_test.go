//go:build unix

package sqlite_test

import (
	"syscall"
	"time"
)

// sqliteCPU returns the CPU time the process has used (user and system,
// the garbage collector and SQLite's writes included), for benchmarks on a
// machine shared with other work, where wall time says little.
func sqliteCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
