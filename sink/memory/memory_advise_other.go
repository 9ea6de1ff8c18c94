//go:build unix && !linux

package memory

// adviseHuge does nothing: huge pages are a Linux hint.
func adviseHuge(b []byte) {}

// prefault does nothing: pages fault in as they are written.
func prefault(b []byte) {}
