package sink

import "syscall"

// madvHugepage is MADV_HUGEPAGE, the same on every Linux architecture.
const madvHugepage = 14

// adviseHuge asks Linux to back a block of 2 MiB or more (arena chunks of 4
// MiB, large index tables) with transparent huge pages where it is set to do
// so on request ("madvise" mode, a common default): far fewer page faults
// while a chunk fills and far fewer TLB misses in the random probes of large
// index tables. An error is harmless.
func adviseHuge(b []byte) {
	if len(b) >= 2<<20 {
		_ = syscall.Madvise(b, madvHugepage)
	}
}
