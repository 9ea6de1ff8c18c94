//go:build !unix

package sink_test

import "time"

// sqliteCPU returns 0 where getrusage is not available.
func sqliteCPU() time.Duration { return 0 }
