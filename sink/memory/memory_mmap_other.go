//go:build !unix

package memory

// sysAlloc returns size bytes of zeroed memory. Without mmap they come from
// the Go heap (mapped is false), where the garbage collector frees them.
func sysAlloc(size int) (b []byte, mapped bool) { return heapAlloc(size), false }

// sysFree does nothing: sysAlloc never maps memory here.
func sysFree(b []byte) {}

// prefault does nothing: the Go heap is the runtime's business.
func prefault(b []byte) {}

// adviseHuge does nothing: huge pages are a Linux hint.
func adviseHuge(b []byte) {}
