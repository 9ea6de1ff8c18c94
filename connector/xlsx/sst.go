package xlsx

import (
	"fmt"
	"io"
)

// Layout of the shared-string table.
const (
	sstChunkMinBits = 20 // chunks of text hold at least 1 MiB
	sstBlockBits    = 14 // ends are kept in blocks of 16,384 (64 KiB)
	sstBlock        = 1 << sstBlockBits
	sstFirstChunk   = 4 << 10 // the first chunk starts this small and doubles
	stringHeader    = 16      // bytes of a string header
	sliceHeader     = 24      // bytes of a slice header
)

// sstTable is the shared-string table, held while a sheet is read. Its
// text lives in chunks (a string never spans two), and each string's end is
// a virtual offset, chunk<<bits | offset in the chunk: a lookup is two
// loads, and loading never copies the ends already read nor the chunks
// already sealed; only the chunk being filled is copied, once, when it is
// sealed (to its exact size) or grows, so that at most one chunk exists
// twice for a moment. The ends are kept in blocks of sstBlock so that they
// are never copied either.
//
// cost is the memory the table takes, headers and spare capacity included;
// it is what Config.MaxSharedStringBytes bounds.
type sstTable struct {
	bits   uint       // log2 of a chunk's virtual size; a chunk holds less
	chunks []string   // the sealed chunks
	cur    []byte     // the chunk being filled (nil once the table is done)
	ends   [][]uint32 // the end of string i: ends[i>>sstBlockBits][i&(sstBlock-1)]
	n      int        // strings
	sealed int64      // bytes of the sealed chunks
	limit  int64      // the cost a growing chunk may reach (MaxSharedStringBytes)
}

// newSSTTable returns an empty table of at most limit bytes whose chunks
// hold a string of maxCell bytes with room to spare, so that an end offset
// never reaches the next chunk.
func newSSTTable(maxCell int, limit int64) *sstTable {
	bits := uint(sstChunkMinBits)
	for bits < 31 && 1<<bits <= maxCell {
		bits++
	}
	return &sstTable{bits: bits, limit: limit}
}

// len returns the number of strings.
func (t *sstTable) len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// cost returns the bytes the table takes: its chunks, the chunk being
// filled at its capacity, the blocks of ends at theirs, and the headers.
func (t *sstTable) cost() int64 {
	c := t.sealed + int64(cap(t.cur)) + int64(cap(t.chunks))*stringHeader + int64(cap(t.ends))*sliceHeader
	if k := len(t.ends); k > 0 {
		c += int64(k-1)*sstBlock*4 + int64(cap(t.ends[k-1]))*4
	}
	return c
}

// add appends string s. It refuses a string that no chunk can hold and a
// table whose virtual offsets would pass 4 GiB; the caller checks the cost.
func (t *sstTable) add(s []byte) error {
	size := 1 << t.bits
	if len(s) >= size {
		return fmt.Errorf("%w: shared string %d has %d bytes, more than xlsx.Config.MaxCellBytes", ErrTooLarge, t.n, len(s))
	}
	if len(t.cur)+len(s) >= size {
		t.seal()
	}
	if len(t.chunks) >= 1<<(32-t.bits) {
		return fmt.Errorf("%w: the shared strings hold more than 4 GiB", ErrTooLarge)
	}
	if need := len(t.cur) + len(s); need > cap(t.cur) {
		// Double, within the chunk and, when possible, within the limit.
		n := min(max(2*cap(t.cur), need, sstFirstChunk), size)
		if room := t.limit - (t.cost() - int64(cap(t.cur))); int64(n) > room {
			n = max(need, int(max(room, 0)))
		}
		nb := make([]byte, len(t.cur), n)
		copy(nb, t.cur)
		t.cur = nb
	}
	t.cur = append(t.cur, s...)
	t.addEnd(uint32(len(t.chunks))<<t.bits | uint32(len(t.cur)))
	return nil
}

// addEnd appends an end offset: the first block grows by doubling, the
// next ones are allocated whole.
func (t *sstTable) addEnd(e uint32) {
	k := len(t.ends)
	if k == 0 || len(t.ends[k-1]) == cap(t.ends[k-1]) {
		switch {
		case k == 0:
			t.ends = append(t.ends, make([]uint32, 0, 64))
			k = 1
		case cap(t.ends[k-1]) < sstBlock:
			nb := make([]uint32, len(t.ends[k-1]), min(2*cap(t.ends[k-1]), sstBlock))
			copy(nb, t.ends[k-1])
			t.ends[k-1] = nb
		default:
			t.ends = append(t.ends, make([]uint32, 0, sstBlock))
			k++
		}
	}
	t.ends[k-1] = append(t.ends[k-1], e)
	t.n++
}

// seal turns the chunk being filled into a string of its exact size; the
// buffer is reused for the next chunk.
func (t *sstTable) seal() {
	t.chunks = append(t.chunks, string(t.cur))
	t.sealed += int64(len(t.cur))
	t.cur = t.cur[:0]
}

// finish seals the last chunk and drops the buffer.
func (t *sstTable) finish() {
	if len(t.cur) > 0 || len(t.chunks) == 0 {
		t.seal()
	}
	t.cur = nil
}

// end returns the end offset of string i.
func (t *sstTable) end(i int) uint32 { return t.ends[i>>sstBlockBits][i&(sstBlock-1)] }

// lookup returns string i, or false when there is none.
func (t *sstTable) lookup(i int) (string, bool) {
	if t == nil || i < 0 || i >= t.n {
		return "", false
	}
	return t.get(i), true
}

// get returns string i, which must exist. Its start is the previous
// string's end when both are in the same chunk, else the start of its
// chunk.
func (t *sstTable) get(i int) string {
	e := t.end(i)
	c := e >> t.bits
	s := c << t.bits
	if i > 0 {
		if p := t.end(i - 1); p>>t.bits == c {
			s = p
		}
	}
	mask := uint32(1)<<t.bits - 1
	return t.chunks[c][s&mask : e&mask]
}

// parseSharedStrings reads a shared-string part (sst): the text of each
// <si>, its runs joined and its phonetic runs (<rPh>) left out, _xHHHH_
// escapes decoded. It refuses an entry longer than cfg.MaxCellBytes, more
// than cfg.MaxSharedStrings entries, and a table that takes more than
// cfg.MaxSharedStringBytes of memory (text, offsets and headers: see
// [sstTable.cost]).
func parseSharedStrings(r io.Reader, part string, cfg *Config) (*sstTable, error) {
	t := newSSTTable(cfg.MaxCellBytes, cfg.MaxSharedStringBytes)
	sc := newXMLScanner(r, part, runLimit(cfg)+4096)
	var (
		inSI, inT bool
		skip      int // depth inside <rPh>
		scratch   []byte
	)
	for {
		k, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch k {
		case tokStart:
			switch name := sc.local(); {
			case skip > 0:
				skip++
			case string(name) == "si":
				inSI = true
				scratch = scratch[:0]
			case string(name) == "rPh":
				skip = 1
			case string(name) == "t" && inSI:
				inT = true
			}
		case tokEnd:
			switch name := sc.local(); {
			case skip > 0:
				skip--
			case string(name) == "t":
				inT = false
			case string(name) == "si" && inSI:
				inSI = false
				if err := addSharedString(t, unescapeOOXML(scratch), cfg); err != nil {
					return nil, err
				}
			}
		case tokText:
			if inT && skip == 0 {
				text := sc.text()
				if len(scratch)+len(text) > 2*cfg.MaxCellBytes+64 {
					return nil, fmt.Errorf("%w: shared string %d is longer than xlsx.Config.MaxCellBytes (%d): it could be copied into every cell", ErrTooLarge, t.n, cfg.MaxCellBytes)
				}
				scratch = append(scratch, text...)
			}
		}
	}
	t.finish()
	return t, nil
}

// addSharedString checks s and the table's limits and adds s.
func addSharedString(t *sstTable, s []byte, cfg *Config) error {
	if len(s) > cfg.MaxCellBytes {
		return fmt.Errorf("%w: shared string %d has %d bytes, more than xlsx.Config.MaxCellBytes (%d): it could be copied into every cell", ErrTooLarge, t.n, len(s), cfg.MaxCellBytes)
	}
	if t.n >= cfg.MaxSharedStrings {
		return fmt.Errorf("%w: more than xlsx.Config.MaxSharedStrings (%d) shared strings", ErrTooLarge, cfg.MaxSharedStrings)
	}
	if err := t.add(s); err != nil {
		return err
	}
	if c := t.cost(); c > cfg.MaxSharedStringBytes {
		return fmt.Errorf("%w: the shared strings take more than xlsx.Config.MaxSharedStringBytes (%d) bytes of memory at string %d (%d bytes: their text, 4 bytes of offset each and the buffers)", ErrTooLarge, cfg.MaxSharedStringBytes, t.n, c)
	}
	return nil
}
