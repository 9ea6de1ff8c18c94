//go:build !unix

package sqlite_test

import "time"

// sqliteCPU returns 0 where getrusage is not available.
func sqliteCPU() time.Duration { return 0 }
