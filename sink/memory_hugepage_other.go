//go:build unix && !linux

package sink

// adviseHuge does nothing: huge pages are a Linux hint.
func adviseHuge(b []byte) {}
