package xlsx

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sstOf returns a shared-string part of n strings of 1 or 2 bytes (base-36
// numbers below 1296), the shape whose offsets weigh most next to their
// text, and the strings' total length.
func sstOf(n int) (string, int) {
	var b strings.Builder
	b.Grow(n * 16)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	b.WriteString(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	text := 0
	for i := range n {
		s := strconv.FormatInt(int64(i%1296), 36)
		text += len(s)
		b.WriteString("<si><t>")
		b.WriteString(s)
		b.WriteString("</t></si>")
	}
	b.WriteString("</sst>")
	return b.String(), text
}

// heapAfterGC returns the live heap.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestXLSXSharedStringsMemory opens a workbook whose shared-string table
// nearly fills MaxSharedStringBytes and measures the live heap while the
// source (and so the table) is open: at most 1.5 times the limit plus
// 1 MiB. A table past the limit, counted as the memory it takes (text and
// offsets), is refused with ErrTooLarge naming the limit. Not parallel:
// other tests' allocations would count.
func TestXLSXSharedStringsMemory(t *testing.T) {
	const limit = 8 << 20
	cfg := Config{MaxSharedStringBytes: limit}
	// About 6 bytes a string (2 of text, 4 of offset): 1.25 M strings take
	// about 0.9 of the limit.
	const n = 1_250_000
	part, text := sstOf(n)
	book := buildXLSX(t, xlsxParts{"xl/sharedStrings.xml": part})
	part = ""
	before := heapAfterGC()
	src, err := openBytes(book, cfg)
	require.NoError(t, err)
	grown := int64(heapAfterGC()) - int64(before)
	runtime.KeepAlive(src)
	got, ok := src.pkg.sharedString(n - 1)
	require.True(t, ok)
	require.Equal(t, strconv.FormatInt((n-1)%1296, 36), got)
	require.NoError(t, src.Close())
	t.Logf("%d shared strings, %d bytes of text: the open source holds %.2f MiB, %.2f× MaxSharedStringBytes (%d MiB)",
		n, text, float64(grown)/(1<<20), float64(grown)/limit, limit>>20)
	require.LessOrEqual(t, grown, int64(limit+limit/2+1<<20), "live heap of the open source")

	// Text well under the limit, but text and offsets over it.
	over, text := sstOf(2_000_000)
	require.Less(t, text, limit)
	_, err = openBytes(buildXLSX(t, xlsxParts{"xl/sharedStrings.xml": over}), cfg)
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorContains(t, err, "MaxSharedStringBytes")
}

// TestSSTTableChunks fills a table of 16-byte chunks with strings of 0 to
// 15 bytes, so that strings end exactly at, just before and just past chunk
// edges, empty ones among them, and reads every string back.
func TestSSTTableChunks(t *testing.T) {
	t.Parallel()
	tab := &sstTable{bits: 4, limit: 1 << 30}
	var want []string
	for i := range 5000 {
		s := strings.Repeat(string(rune('a'+i%26)), (i*7)%16)
		require.NoError(t, tab.add([]byte(s)))
		want = append(want, s)
	}
	require.Error(t, tab.add(make([]byte, 16)), "a string longer than a chunk")
	tab.finish()
	require.Equal(t, len(want), tab.len())
	for i, w := range want {
		got, ok := tab.lookup(i)
		require.True(t, ok)
		require.Equal(t, w, got, "string %d", i)
	}
	for _, i := range []int{-1, len(want)} {
		_, ok := tab.lookup(i)
		require.False(t, ok)
	}
	var empty *sstTable
	_, ok := empty.lookup(0)
	require.False(t, ok)
}

// BenchmarkParseSharedStrings loads a table of a million strings of 20 to
// 22 bytes.
func BenchmarkParseSharedStrings(b *testing.B) {
	part, _ := sstOf(1_000_000)
	part = strings.ReplaceAll(part, "<t>", "<t>shared string text ")
	cfg := Config{}
	if err := cfg.validate(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(part)))
	for b.Loop() {
		if _, err := parseSharedStrings(strings.NewReader(part), "xl/sharedStrings.xml", &cfg); err != nil {
			b.Fatal(err)
		}
	}
}
