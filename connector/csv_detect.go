package connector

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// readSample reads up to n bytes from r; io.EOF before n bytes is not an error.
func readSample(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	got, empties := 0, 0
	for got < n {
		m, err := r.Read(buf[got:])
		if m < 0 || m > n-got {
			return nil, errors.New("intake: the reader returned an invalid byte count")
		}
		got += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			if empties++; empties > maxEmptyReads {
				return nil, io.ErrNoProgress
			}
		} else {
			empties = 0
		}
	}
	return buf[:got], nil
}

// detectEncoding returns the encoding of sample and the length of the byte
// order mark to skip. complete says that sample is the whole input.
func detectEncoding(sample []byte, want Encoding, complete bool) (Encoding, int) {
	switch want {
	case EncodingUTF8:
		if bytes.HasPrefix(sample, []byte(utf8BOM)) {
			return want, len(utf8BOM)
		}
		return want, 0
	case EncodingUTF16LE, EncodingUTF16BE:
		switch {
		case bytes.HasPrefix(sample, []byte(utf16LEBOM)):
			return EncodingUTF16LE, 2
		case bytes.HasPrefix(sample, []byte(utf16BEBOM)):
			return EncodingUTF16BE, 2
		}
		return want, 0
	case EncodingISO88591, EncodingWindows1252:
		return want, 0
	}
	switch {
	case bytes.HasPrefix(sample, []byte(utf8BOM)):
		return EncodingUTF8, len(utf8BOM)
	case bytes.HasPrefix(sample, []byte(utf16LEBOM)):
		return EncodingUTF16LE, 2
	case bytes.HasPrefix(sample, []byte(utf16BEBOM)):
		return EncodingUTF16BE, 2
	}
	if e, ok := sniffUTF16(sample); ok {
		return e, 0
	}
	s := sample
	if !complete {
		// The sample may end inside a multi-byte sequence: ignore an
		// incomplete last rune.
		for i := 1; i <= utf8.UTFMax && i <= len(s); i++ {
			if utf8.RuneStart(s[len(s)-i]) {
				if !utf8.FullRune(s[len(s)-i:]) {
					s = s[:len(s)-i]
				}
				break
			}
		}
	}
	if utf8.Valid(s) {
		return EncodingUTF8, 0
	}
	return EncodingWindows1252, 0
}

// sniffUTF16 recognizes UTF-16 text without a byte order mark: mostly ASCII
// text has a NUL in every other byte.
func sniffUTF16(s []byte) (Encoding, bool) {
	if len(s) < 4 {
		return 0, false
	}
	n := len(s) &^ 1
	var even, odd int
	for i := 0; i < n; i += 2 {
		if s[i] == 0 {
			even++
		}
		if s[i+1] == 0 {
			odd++
		}
	}
	half := n / 2
	switch {
	case odd*10 >= half*7 && even*20 <= half:
		return EncodingUTF16LE, true
	case even*10 >= half*7 && odd*20 <= half:
		return EncodingUTF16BE, true
	}
	return 0, false
}

// textEncoding returns the x/text encoding that decodes enc to UTF-8, or nil
// for UTF-8 itself. Byte order marks are skipped before decoding.
func textEncoding(enc Encoding) encoding.Encoding {
	switch enc {
	case EncodingUTF16LE:
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case EncodingUTF16BE:
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	case EncodingISO88591:
		return charmap.ISO8859_1
	case EncodingWindows1252:
		return charmap.Windows1252
	}
	return nil
}

// decoder wraps r with the decoder of enc.
func decoder(r io.Reader, enc Encoding) io.Reader {
	if e := textEncoding(enc); e != nil {
		return transform.NewReader(r, e.NewDecoder())
	}
	return r
}

// decodeSample decodes the sample for detection; a truncated last character
// does not matter.
func decodeSample(s []byte, enc Encoding) []byte {
	e := textEncoding(enc)
	if e == nil {
		return s
	}
	out, _, err := transform.Bytes(e.NewDecoder(), s)
	if err != nil && len(out) == 0 {
		return s
	}
	return out
}

// looksBinary reports whether text holds a NUL byte or more than one control
// character (other than TAB, LF, VT, FF, CR) in binaryControlRatio bytes.
func looksBinary(text []byte) bool {
	if bytes.IndexByte(text, 0) >= 0 {
		return true
	}
	ctrl := 0
	for _, b := range text {
		if (b < 0x20 && (b < '\t' || b > '\r')) || b == 0x7f {
			ctrl++
		}
	}
	return ctrl >= binaryControlMin && ctrl*binaryControlRatio > len(text)
}

// candidates lists the detectable delimiters in tie-break order.
var candidates = [...]Delimiter{DelimiterComma, DelimiterSemicolon, DelimiterTab, DelimiterPipe}

// detectDelimiter picks the delimiter of text, the decoded start of the
// input. It counts each candidate outside quotes in every non-blank record
// of the sample (a quoted cell may span lines; an incomplete last line is
// ignored unless the sample is the whole input). A candidate qualifies when
// it occurs in the first record; the winner is the one whose count in the
// first record is repeated by the most records, then the one with the
// higher count, then the first of comma, semicolon, tab, pipe. Without a
// qualifying candidate (a single column) it is comma.
func detectDelimiter(text []byte, complete bool) Delimiter {
	const maxRecords = 1000
	var recs [][len(candidates)]int
	var cur [len(candidates)]int
	inQuote, nonEmpty := false, false
	for _, b := range text {
		if b == quoteChar {
			inQuote = !inQuote
			nonEmpty = true
			continue
		}
		if inQuote {
			continue
		}
		switch b {
		case '\n', '\r':
			if nonEmpty {
				recs = append(recs, cur)
				if len(recs) == maxRecords {
					complete = false
					nonEmpty = false
					goto done
				}
			}
			cur, nonEmpty = [len(candidates)]int{}, false
			continue
		case ',':
			cur[0]++
		case ';':
			cur[1]++
		case '\t':
			cur[2]++
		case '|':
			cur[3]++
		}
		nonEmpty = true
	}
done:
	if nonEmpty && (complete || len(recs) == 0) {
		recs = append(recs, cur)
	}
	if len(recs) == 0 {
		return DelimiterComma
	}
	best, bestMatch, bestCount := DelimiterComma, 0, 0
	for k, d := range candidates {
		h := recs[0][k]
		if h == 0 {
			continue
		}
		match := 0
		for _, r := range recs {
			if r[k] == h {
				match++
			}
		}
		if match > bestMatch || (match == bestMatch && h > bestCount) {
			best, bestMatch, bestCount = d, match, h
		}
	}
	return best
}
