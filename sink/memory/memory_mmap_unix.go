//go:build unix

package memory

import "syscall"

// sysAlloc returns size bytes of zeroed memory outside the Go heap: an
// anonymous private mapping, which the kernel backs with pages only as they
// are first written. mapped is false when the mapping failed and the bytes
// come from the Go heap instead.
func sysAlloc(size int) (b []byte, mapped bool) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return heapAlloc(size), false
	}
	return b, true
}

// sysFree returns a mapping of sysAlloc to the system.
func sysFree(b []byte) { _ = syscall.Munmap(b) }
