package memory

// The only unsafe code of the memory sink: views of off-heap byte blocks as
// other types, without copying.

import "unsafe"

// heapAlloc returns size bytes (a multiple of 8) on the Go heap, 8-byte
// aligned because they are allocated as []uint64, so that uint64s can view
// them. The returned slice keeps the allocation alive.
func heapAlloc(size int) []byte {
	w := make([]uint64, (size+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), size)
}

// uint64s views b, which must be 8-byte aligned (mmap'd memory is page
// aligned; heapAlloc's is 8-byte aligned), as len(b)/8 uint64s.
func uint64s(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

// view returns b as a string without copying. b is arena memory, which may be
// unmapped by Close and whose flags byte an opt-out changes: a view is only
// for the caller's own use while it holds the sink's lock (decoding a record
// to compare ids or compute keys). Nothing that leaves the sink may hold a
// view or a string sliced from one: returned values are copied first.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// unsafeBlock rebuilds the slice of a mapped block from its base address,
// which offHeap keeps, and size.
func unsafeBlock(p *byte, size int) []byte { return unsafe.Slice(p, size) }
