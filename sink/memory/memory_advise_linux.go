package memory

import "syscall"

// Linux madvise advice values, the same on every architecture.
const (
	madvHugepage      = 14 // MADV_HUGEPAGE
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE, Linux 5.14 and later
)

// adviseHuge asks Linux to back a block of 2 MiB or more (a large index
// table) with transparent huge pages where it is set to do so on request
// ("madvise" mode, a common default): far fewer TLB misses in the random
// probes of the table. Arena chunks go without: they are filled in order
// and faulted in ahead (prefault), and the kernel may compact memory to
// find huge pages, which costs more than the faults it saves. An error is
// harmless.
func adviseHuge(b []byte) {
	if len(b) >= 2<<20 {
		_ = syscall.Madvise(b, madvHugepage)
	}
}

// prefault faults the pages of a fresh block in, on another goroutine, so
// that the writer does not take a page fault (and the kernel's zeroing of
// the page) every few records when it starts filling the block. It touches
// no Go-visible memory: the kernel populates the pages, leaving their
// contents alone, and the writer may use the block meanwhile. Should the
// block be unmapped first (Close), madvise fails harmlessly. Older kernels
// refuse the advice: the pages then fault in as they are written.
func prefault(b []byte) {
	go func() { _ = syscall.Madvise(b, madvPopulateWrite) }()
}
