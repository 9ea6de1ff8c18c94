// Package cputime reads the CPU time the process has used, for benchmarks
// that run on a machine shared with other work, where wall time says
// little: they report CPU seconds beside wall seconds.
package cputime

import "time"

// Process returns the CPU time the process has used so far, user and
// system, the garbage collector and the work of every goroutine included;
// 0 on systems without getrusage (those that are not Unix).
func Process() time.Duration { return process() }
