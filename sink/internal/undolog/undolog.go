package undolog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
)

const version = 1

// Writer builds the encoded log of one batch. The zero Writer is ready.
type Writer struct {
	buf  []byte
	n    int
	last string // the object of the last entry
}

// Reset empties w, keeping its buffer.
func (w *Writer) Reset() { w.buf, w.n, w.last = w.buf[:0], 0, "" }

// Grow makes room for n more bytes of entries: a store that knows the
// size of its batch spares the buffer its growth.
func (w *Writer) Grow(n int) { w.buf = slices.Grow(w.buf, n) }

// Len returns the number of entries added since the last Reset.
func (w *Writer) Len() int { return w.n }

// Bytes returns the encoded log. It is valid until the next Add or Reset.
func (w *Writer) Bytes() []byte {
	if len(w.buf) == 0 {
		w.buf = append(w.buf, version)
	}
	return w.buf
}

// Add appends e.
func (w *Writer) Add(e *sink.UndoEntry) {
	w.begin(e.Kind, e.Object, e.ID, e.Line, e.Digest)
	w.flags(e.OptedOut, e.Inactive)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(e.Fields)))
	for _, f := range e.Fields {
		w.Field(f.Name, f.Before, f.After)
	}
}

// Create appends an UndoCreate entry without building it.
func (w *Writer) Create(object, id string, line int, digest uint64) {
	w.begin(sink.UndoCreate, object, id, line, digest)
	w.buf = append(w.buf, 0, 0)
}

// CreateLater appends an UndoCreate entry whose digest is not known yet,
// and returns where the digest goes, for SetDigest: a store may compute
// the digests of a batch's creates while the batch's rows are written.
func (w *Writer) CreateLater(object, id string, line int) (at int) {
	w.begin(sink.UndoCreate, object, id, line, 0)
	at = len(w.buf) - 8
	w.buf = append(w.buf, 0, 0)
	return at
}

// SetDigest sets the digest of the entry that CreateLater appended at at.
// It touches only those 8 bytes: calls for distinct entries may run
// concurrently, as long as nothing else uses w meanwhile.
func (w *Writer) SetDigest(at int, digest uint64) {
	binary.LittleEndian.PutUint64(w.buf[at:at+8], digest)
}

// Begin appends the head of an entry of kind k (UndoUpdate or UndoDelete)
// with the flags of opted and inactive, to be followed by exactly nfields
// calls of Field.
func (w *Writer) Begin(k sink.UndoKind, object, id string, line int, opted, inactive sink.FlagChange, nfields int) {
	w.begin(k, object, id, line, 0)
	w.flags(opted, inactive)
	w.buf = binary.AppendUvarint(w.buf, uint64(nfields))
}

func (w *Writer) flags(opted, inactive sink.FlagChange) {
	var fl byte
	if opted.Changed {
		fl |= 1
		if opted.Before {
			fl |= 2
		}
	}
	if inactive.Changed {
		fl |= 4
		if inactive.Before {
			fl |= 8
		}
	}
	w.buf = append(w.buf, fl)
}

// Field appends a field of the entry Begin began.
func (w *Writer) Field(name string, before, after intake.Value) {
	w.str(name)
	w.value(before)
	w.value(after)
}

func (w *Writer) begin(k sink.UndoKind, object, id string, line int, digest uint64) {
	if len(w.buf) == 0 {
		w.buf = append(w.buf, version)
	}
	w.n++
	w.buf = append(w.buf, byte(k))
	if object == w.last && w.n > 1 {
		w.buf = append(w.buf, 0)
	} else {
		w.str(object)
		w.last = object
	}
	w.id(id)
	w.buf = binary.AppendUvarint(w.buf, uint64(max(line, 0)))
	if k == sink.UndoCreate {
		w.buf = binary.LittleEndian.AppendUint64(w.buf, digest)
	}
}

// id appends a record id: a canonical UUID (36 characters, lower-case hex)
// as 0 and its 16 bytes, any other id as its length plus one and its bytes.
func (w *Writer) id(id string) {
	if u, ok := parseUUID(id); ok {
		w.buf = append(w.buf, 0)
		w.buf = append(w.buf, u[:]...)
		return
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(len(id))+1)
	w.buf = append(w.buf, id...)
}

const hexDigits = "0123456789abcdef"

// parseUUID returns the 16 bytes of a UUID in its canonical lower-case
// form, and false for any other string (which then keeps its form).
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, lo := unhex(s[i]), unhex(s[i+1])
		if hi < 0 || lo < 0 {
			return u, false
		}
		u[j] = byte(hi<<4 | lo)
		j++
	}
	return u, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

func formatUUID(u []byte) string {
	var b [36]byte
	j := 0
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[x>>4], hexDigits[x&15]
		j += 2
	}
	return string(b[:])
}

func (w *Writer) str(s string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *Writer) value(v intake.Value) {
	s, i := v.Raw()
	w.buf = append(w.buf, byte(v.Kind()))
	w.str(s)
	w.buf = binary.AppendVarint(w.buf, i)
}

// ErrCorrupt is the cause of a Decode error: the bytes are no log this
// package wrote.
var ErrCorrupt = errors.New("undolog: corrupt undo log")

// Decode decodes a log that a Writer encoded.
func Decode(b []byte) ([]sink.UndoEntry, error) {
	if len(b) == 0 || b[0] != version {
		return nil, fmt.Errorf("%w: unknown version", ErrCorrupt)
	}
	r := reader{b: b[1:]}
	var out []sink.UndoEntry
	last := ""
	for len(r.b) > 0 && r.err == nil {
		var e sink.UndoEntry
		e.Kind = sink.UndoKind(r.byte())
		if e.Kind < sink.UndoCreate || e.Kind > sink.UndoDelete {
			return nil, fmt.Errorf("%w: entry kind %d", ErrCorrupt, e.Kind)
		}
		e.Object = r.str()
		if e.Object == "" {
			if last == "" {
				return nil, fmt.Errorf("%w: no object", ErrCorrupt)
			}
			e.Object = last
		}
		last = e.Object
		e.ID = r.id()
		line := r.uvarint()
		if line > 1<<31 {
			return nil, fmt.Errorf("%w: line %d", ErrCorrupt, line)
		}
		e.Line = int(line)
		if e.Kind == sink.UndoCreate {
			e.Digest = r.uint64()
		}
		fl := r.byte()
		if fl > 15 || fl&3 == 2 || fl&12 == 8 {
			return nil, fmt.Errorf("%w: flags %#x", ErrCorrupt, fl)
		}
		e.OptedOut = sink.FlagChange{Changed: fl&1 != 0, Before: fl&2 != 0}
		e.Inactive = sink.FlagChange{Changed: fl&4 != 0, Before: fl&8 != 0}
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			return nil, fmt.Errorf("%w: %d fields", ErrCorrupt, n)
		}
		if n > 0 {
			e.Fields = make([]sink.FieldChange, n)
		}
		for i := range e.Fields {
			e.Fields[i] = sink.FieldChange{Name: r.str(), Before: r.value(), After: r.value()}
		}
		out = append(out, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated %s", ErrCorrupt, what)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail("byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uint64() uint64 {
	if len(r.b) < 8 {
		r.fail("digest")
		return 0
	}
	x := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return x
}

func (r *reader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("number")
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("number")
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) id() string {
	n := r.uvarint()
	if n == 0 {
		if len(r.b) < 16 {
			r.fail("id")
			return ""
		}
		s := formatUUID(r.b[:16])
		r.b = r.b[16:]
		return s
	}
	if n-1 > uint64(len(r.b)) {
		r.fail("id")
		return ""
	}
	s := string(r.b[:n-1])
	r.b = r.b[n-1:]
	return s
}

func (r *reader) value() intake.Value {
	k := intake.Kind(r.byte())
	s := r.str()
	i := r.varint()
	if r.err != nil {
		return intake.Null
	}
	v, ok := intake.FromRaw(k, s, i)
	if !ok {
		r.err = fmt.Errorf("%w: value of kind %d", ErrCorrupt, k)
	}
	return v
}
