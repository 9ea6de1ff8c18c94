package memory

import (
	"encoding/binary"
	"os"
)

// Storage of the memory sink, kept off the Go heap (see [Store]): an
// append-only arena of encoded records, per object type a table of record
// references in creation order, and open-addressing hash tables for the id
// index and the key indexes. All of it lives in blocks from sysAlloc
// (anonymous mmap on unix), so the garbage collector neither scans it nor
// counts it towards its next goal, and the process's memory is the stored
// data plus the pipeline's working set instead of twice the stored data.

// pageSize rounds the sizes of mapped blocks.
var pageSize = os.Getpagesize()

// offHeap hands out and frees the blocks of one Store and keeps the list of
// the live ones, so that Close (or the cleanup of a Store that was never
// closed) can free them all.
type offHeap struct {
	live   map[*byte]int // mapped blocks by base address → size
	mapped int64         // bytes of the live mapped blocks
	heap   int64         // bytes of blocks that fell back to the Go heap
}

func newOffHeap() *offHeap { return &offHeap{live: map[*byte]int{}} }

// alloc returns a zeroed block of at least size bytes, rounded up to a
// whole number of pages.
func (h *offHeap) alloc(size int) []byte {
	size = (size + pageSize - 1) / pageSize * pageSize
	b, mapped := sysAlloc(size)
	if !mapped {
		h.heap += int64(size)
		return b
	}
	h.live[&b[0]] = size
	h.mapped += int64(size)
	return b
}

// free gives back a block of alloc. The block must not be used afterwards.
func (h *offHeap) free(b []byte) {
	if len(b) == 0 {
		return
	}
	size, ok := h.live[&b[0]]
	if !ok { // a Go heap block: the garbage collector frees it
		h.heap -= int64(cap(b))
		return
	}
	delete(h.live, &b[0])
	h.mapped -= int64(size)
	sysFree(b[:size:size])
}

// freeAll frees every live block. It runs from Close, or as the cleanup of
// a Store that became unreachable without Close.
func (h *offHeap) freeAll() {
	for p, size := range h.live {
		sysFree(unsafeBlock(p, size))
	}
	clear(h.live)
	h.mapped, h.heap = 0, 0
}

// Arena chunks grow from arenaMinChunk to arenaMaxChunk bytes; a record
// larger than arenaMaxChunk gets a chunk of its own.
const (
	arenaMinChunk = 64 << 10
	arenaMaxChunk = 4 << 20
)

// arena stores encoded records, each as uvarint(len) and the bytes, in
// chunks. A record is addressed by a ref: chunk index << 32 | offset.
// Records are never moved or freed before Close: an update appends a new
// version and the old one becomes garbage (counted in garbage). Compacting
// (copying the live versions into fresh chunks and repointing the refs) is
// possible but not done: a store that is mostly updated in place grows by
// the size of each changed record.
type arena struct {
	heap    *offHeap
	chunks  [][]byte
	cur     int    // chunk being filled, -1 for none
	off     int    // fill offset in chunks[cur]
	next    int    // size of the next chunk
	spare   []byte // the next chunk, once chunks reach arenaMaxChunk
	live    int64
	garbage int64
}

func newArena(h *offHeap) arena { return arena{heap: h, cur: -1, next: arenaMinChunk} }

// put stores rec and returns its ref.
func (a *arena) put(rec []byte) uint64 {
	need := uvarintLen(uint64(len(rec))) + len(rec)
	a.live += int64(need)
	if need > arenaMaxChunk {
		b := a.heap.alloc(need)
		writeFramed(b, rec)
		a.chunks = append(a.chunks, b)
		return uint64(len(a.chunks)-1) << 32
	}
	if a.cur < 0 || a.off+need > len(a.chunks[a.cur]) {
		a.newChunk()
	}
	ref := uint64(a.cur)<<32 | uint64(a.off)
	a.off += writeFramed(a.chunks[a.cur][a.off:], rec)
	return ref
}

// newChunk starts a new chunk. Chunks double in size up to arenaMaxChunk;
// from then on the arena keeps the next chunk mapped in advance, its pages
// faulted in by another goroutine (see prefault) while the current one
// fills.
func (a *arena) newChunk() {
	c := a.spare
	if c == nil {
		c = a.heap.alloc(a.next)
	}
	a.spare = nil
	a.next = min(2*a.next, arenaMaxChunk)
	a.chunks = append(a.chunks, c)
	a.cur, a.off = len(a.chunks)-1, 0
	if len(c) >= arenaMaxChunk {
		a.spare = a.heap.alloc(arenaMaxChunk)
		prefault(a.spare)
	}
}

// get returns the bytes of the record at ref: arena memory, see [view].
func (a *arena) get(ref uint64) []byte {
	b := a.chunks[ref>>32][uint32(ref):]
	n, w := binary.Uvarint(b)
	return b[w : w+int(n)]
}

// drop counts the record at ref as garbage.
func (a *arena) drop(ref uint64) {
	n := len(a.get(ref))
	need := int64(uvarintLen(uint64(n)) + n)
	a.live -= need
	a.garbage += need
}

func writeFramed(dst, rec []byte) int {
	w := binary.PutUvarint(dst, uint64(len(rec)))
	return w + copy(dst[w:], rec)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// refPageBits sets the size of a page of a refTable: 8192 refs, 64 KiB.
const (
	refPageBits = 13
	refPageLen  = 1 << refPageBits
)

// refTable maps record positions (0, 1, … in creation order) to arena refs.
// It grows by whole pages, so it never copies.
type refTable struct {
	heap   *offHeap
	blocks [][]byte
	pages  [][]uint64
}

func (t *refTable) get(pos uint32) uint64 { return t.pages[pos>>refPageBits][pos&(refPageLen-1)] }

func (t *refTable) set(pos uint32, ref uint64) {
	for int(pos>>refPageBits) >= len(t.pages) {
		b := t.heap.alloc(refPageLen * 8)
		t.blocks = append(t.blocks, b)
		t.pages = append(t.pages, uint64s(b)[:refPageLen])
	}
	t.pages[pos>>refPageBits][pos&(refPageLen-1)] = ref
}

func (t *refTable) bytes() int64 { return int64(len(t.pages)) * refPageLen * 8 }

// slotTable is an open-addressing hash table with linear probing from
// record positions to themselves, found by hash. Each slot is a uint64:
// the high 32 bits of the 64-bit hash (the tag) << 32 | position+1; 0 is an
// empty slot. A tag's home slot is tag & mask, so a slot's home is known
// from the slot alone, which lets a table grow without reading records and
// delete by backward shifting (no tombstones). Several slots may hold the
// same tag: records sharing a key, or hash collisions, which the caller
// tells apart by reading the records. The table grows by doubling when it
// would be more than 3/4 full.
type slotTable struct {
	heap  *offHeap
	block []byte
	slots []uint64
	mask  uint32
	n     int // used slots
}

// minSlots is the size of a new table: 4 KiB, one page.
const minSlots = 512

func newSlotTable(h *offHeap, items int) slotTable {
	t := slotTable{heap: h}
	size := minSlots
	for size*3/4 < items {
		size *= 2
	}
	t.alloc(size)
	return t
}

func (t *slotTable) alloc(size int) {
	t.block = t.heap.alloc(size * 8)
	adviseHuge(t.block)
	t.slots = uint64s(t.block)[:size]
	t.mask = uint32(size - 1)
}

func slotOf(tag, pos uint32) uint64 { return uint64(tag)<<32 | uint64(pos+1) }
func slotTag(s uint64) uint32       { return uint32(s >> 32) }
func slotPos(s uint64) uint32       { return uint32(s) - 1 }

// reserve makes room for one more slot.
func (t *slotTable) reserve() {
	if (t.n+1)*4 <= len(t.slots)*3 {
		return
	}
	old, oldBlock := t.slots, t.block
	t.alloc(2 * len(old))
	for _, s := range old {
		if s != 0 {
			i := slotTag(s) & t.mask
			for t.slots[i] != 0 {
				i = (i + 1) & t.mask
			}
			t.slots[i] = s
		}
	}
	t.heap.free(oldBlock)
}

// add inserts a slot for pos under tag, at the end of tag's probe run.
func (t *slotTable) add(tag, pos uint32) {
	t.reserve()
	i := tag & t.mask
	for t.slots[i] != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = slotOf(tag, pos)
	t.n++
}

// remove deletes the slot of pos under tag, if there is one, and moves the
// slots after it back so that every probe run stays unbroken.
func (t *slotTable) remove(tag, pos uint32) {
	want := slotOf(tag, pos)
	i := tag & t.mask
	for t.slots[i] != want {
		if t.slots[i] == 0 {
			return
		}
		i = (i + 1) & t.mask
	}
	for j := i; ; {
		j = (j + 1) & t.mask
		s := t.slots[j]
		if s == 0 {
			break
		}
		// s stays when its home is cyclically in (i, j].
		if k := slotTag(s) & t.mask; (i < j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue
		}
		t.slots[i] = s
		i = j
	}
	t.slots[i] = 0
	t.n--
}

func (t *slotTable) bytes() int64 { return int64(len(t.block)) }

func (t *slotTable) free() {
	t.heap.free(t.block)
	*t = slotTable{}
}
