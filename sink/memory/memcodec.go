package memory

import (
	"encoding/binary"

	"github.com/intakehq/intake"
)

// The memory sink stores each record in its arena (see memory_store.go) as
// one byte string:
//
//	uvarint(len(id)) id  flags  value*
//
// flags is one byte (bit 0: opted out, bit 1: inactive, bit 2: deleted). Each value, in the store's column
// order, is a kind byte followed by, for text, decimal and list values,
// uvarint(len) and the bytes of [intake.Value.Raw]'s string part, and for
// bool, date, time and timestamp values the varint of its integer part; a
// null value is the kind byte alone. Trailing null values are left out, so a
// record written before a column was added reads that column as null.
// Decoding never copies: decoded values share the string they are decoded
// from, so the sink decodes either a copy that it hands out (Get, Scan) or,
// for its own use under its lock, a view of the arena (see view).

// The bits of a record's flags byte. A deleted record stays in the arena,
// as garbage, with flagDeleted set, so that Scan skips its position.
const (
	flagOptedOut = 1 << iota
	flagInactive
	flagDeleted
)

// recordFlags returns the flags byte of a record's own flags.
func recordFlags(rec *intake.Record) byte {
	var f byte
	if rec.OptedOut {
		f |= flagOptedOut
	}
	if rec.Inactive {
		f |= flagInactive
	}
	return f
}

// listSep separates the items inside the Raw string of a list value (the
// ASCII unit separator, see intake.List); FromRaw wants the item count.
const listSep = 0x1f

// appendRecord appends the encoding of a record to dst.
func appendRecord(dst []byte, id string, flags byte, vals []intake.Value) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(id)))
	dst = append(dst, id...)
	dst = append(dst, flags)
	n := len(vals)
	for n > 0 && vals[n-1].IsNull() {
		n--
	}
	for _, v := range vals[:n] {
		k := v.Kind()
		dst = append(dst, byte(k))
		s, i := v.Raw()
		switch k {
		case intake.KindNull:
		case intake.KindText, intake.KindDecimal, intake.KindList:
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		default:
			dst = binary.AppendVarint(dst, i)
		}
	}
	return dst
}

// recordHeader returns the id of an encoded record and the offset of its
// flags byte.
func recordHeader(enc string) (id string, flagsAt int) {
	n, w := uvarintString(enc)
	return enc[w : w+int(n)], w + int(n)
}

// decodeRecord decodes an encoded record into vals (one per column; columns
// the record does not hold are set to null) and returns its id and flags.
func decodeRecord(enc string, vals []intake.Value) (id string, flags byte) {
	id, at := recordHeader(enc)
	flags = enc[at]
	p := at + 1
	j := 0
	for ; p < len(enc) && j < len(vals); j++ {
		k := intake.Kind(enc[p])
		p++
		var v intake.Value
		switch k {
		case intake.KindNull:
		case intake.KindText, intake.KindDecimal, intake.KindList:
			n, w := uvarintString(enc[p:])
			p += w
			s := enc[p : p+int(n)]
			p += int(n)
			var cnt int64
			if k == intake.KindList {
				cnt = 1
				for i := 0; i < len(s); i++ {
					if s[i] == listSep {
						cnt++
					}
				}
			}
			v, _ = intake.FromRaw(k, s, cnt)
		default:
			i, w := varintString(enc[p:])
			p += w
			v, _ = intake.FromRaw(k, "", i)
		}
		vals[j] = v
	}
	clear(vals[j:])
	return id, flags
}

// recordFlagsOf returns the flags byte of an encoded record.
func recordFlagsOf(enc string) byte {
	_, at := recordHeader(enc)
	return enc[at]
}

func uvarintString(s string) (uint64, int) {
	var x uint64
	var sh uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<sh, i + 1
		}
		x |= uint64(b&0x7f) << sh
		sh += 7
	}
	return 0, len(s) // corrupt: cannot happen with our own encoding
}

func varintString(s string) (int64, int) {
	ux, n := uvarintString(s)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, n
}
