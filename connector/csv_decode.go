package connector

import (
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// The decoders of this file turn the input into UTF-8 without ever writing
// U+FFFD for what they cannot decode: they write a byte that is never valid
// UTF-8 instead, so that the row holding it fails the source's UTF-8 check
// and is rejected with code invalid_encoding. A U+FFFD would pass for text
// and be stored in place of the customer's data.

// invalidMark is written for an undecodable UTF-16 code unit or byte; 0xFF
// never occurs in UTF-8.
const invalidMark = 0xff

// newDecoder returns the transformer that decodes enc to UTF-8, or nil for
// UTF-8 itself (read as is, checked row by row). Byte order marks are
// skipped before decoding.
func newDecoder(enc Encoding) transform.Transformer {
	switch enc {
	case EncodingUTF16LE:
		return utf16Decoder{}
	case EncodingUTF16BE:
		return utf16Decoder{bigEndian: true}
	case EncodingISO88591:
		return singleByteDecoder{table: &iso88591Table}
	case EncodingWindows1252:
		return singleByteDecoder{table: &windows1252Table}
	}
	return nil
}

// decoder wraps r with the decoder of enc.
func decoder(r io.Reader, enc Encoding) io.Reader {
	if t := newDecoder(enc); t != nil {
		return transform.NewReader(r, t)
	}
	return r
}

// decodeSample decodes the sample for detection; a truncated last character
// does not matter.
func decodeSample(s []byte, enc Encoding) []byte {
	t := newDecoder(enc)
	if t == nil {
		return s
	}
	out, _, err := transform.Bytes(t, s)
	if err != nil && len(out) == 0 {
		return s
	}
	return out
}

// singleByteTable holds the UTF-8 of each byte of a one-byte encoding.
type singleByteTable [256]string

// iso88591Table maps each byte to the code point of the same value: every
// byte is a character in ISO-8859-1 (0x80-0x9F are the C1 controls).
var iso88591Table = func() (t singleByteTable) {
	for b := range t {
		t[b] = string(rune(b))
	}
	return t
}()

// windows1252Table is Windows-1252; the five bytes that it leaves undefined
// (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to themselves: a lone UTF-8
// continuation byte, never valid, so that their row is rejected.
var windows1252Table = func() (t singleByteTable) {
	for b := range t {
		r := charmap.Windows1252.DecodeByte(byte(b))
		if r == utf8.RuneError {
			t[b] = string([]byte{byte(b)})
			continue
		}
		t[b] = string(r)
	}
	return t
}()

// singleByteDecoder decodes a one-byte encoding through its table.
type singleByteDecoder struct {
	transform.NopResetter
	table *singleByteTable
}

// Transform implements transform.Transformer.
func (d singleByteDecoder) Transform(dst, src []byte, _ bool) (nDst, nSrc int, err error) {
	for ; nSrc < len(src); nSrc++ {
		b := src[nSrc]
		if b < utf8.RuneSelf {
			if nDst == len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			dst[nDst] = b
			nDst++
			continue
		}
		s := d.table[b]
		if len(dst)-nDst < len(s) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += copy(dst[nDst:], s)
	}
	return nDst, nSrc, nil
}

// utf16Decoder decodes UTF-16 to UTF-8. An unpaired surrogate, and an odd
// last byte, become invalidMark; a byte order mark inside the text is kept
// as U+FEFF.
type utf16Decoder struct {
	transform.NopResetter
	bigEndian bool
}

func (d utf16Decoder) unit(b []byte) rune {
	if d.bigEndian {
		return rune(b[0])<<8 | rune(b[1])
	}
	return rune(b[1])<<8 | rune(b[0])
}

// Transform implements transform.Transformer.
func (d utf16Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for len(src)-nSrc >= 2 {
		r, size := d.unit(src[nSrc:]), 2
		if utf16.IsSurrogate(r) {
			r, size, err = d.pair(src[nSrc:], r, atEOF)
			if err != nil {
				return nDst, nSrc, err
			}
		}
		n := 1
		if r >= 0 {
			n = utf8.RuneLen(r)
		}
		if len(dst)-nDst < n {
			return nDst, nSrc, transform.ErrShortDst
		}
		if r >= 0 {
			utf8.EncodeRune(dst[nDst:], r)
		} else {
			dst[nDst] = invalidMark
		}
		nDst += n
		nSrc += size
	}
	if nSrc < len(src) { // one byte left
		if !atEOF {
			return nDst, nSrc, transform.ErrShortSrc
		}
		if nDst == len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		dst[nDst] = invalidMark
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
}

// pair decodes the surrogate r at the start of src with the unit after it.
// It returns -1 and 2 for an unpaired surrogate, and ErrShortSrc when the
// next unit is not in src yet.
func (d utf16Decoder) pair(src []byte, r rune, atEOF bool) (rune, int, error) {
	if r >= 0xdc00 { // a low surrogate first
		return -1, 2, nil
	}
	if len(src) < 4 {
		if !atEOF {
			return 0, 0, transform.ErrShortSrc
		}
		return -1, 2, nil
	}
	if p := utf16.DecodeRune(r, d.unit(src[2:])); p != utf8.RuneError {
		return p, 4, nil
	}
	return -1, 2, nil
}
