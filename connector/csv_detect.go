package connector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// readSample reads up to n bytes from r; io.EOF before n bytes is not an error.
func readSample(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	got, empties := 0, 0
	for got < n {
		m, err := r.Read(buf[got:])
		if m < 0 || m > n-got {
			return nil, errors.New("connector: the reader returned an invalid byte count")
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

// encodingChoice is the encoding of the input, the length of its byte
// order mark, and why it was chosen (see [Dialect.EncodingReason]).
type encodingChoice struct {
	enc    Encoding
	bom    int
	reason string
}

// detectEncoding chooses the encoding of the input from sample, its start.
// complete says that sample is the whole input.
//
// Without a byte order mark or the NUL bytes of UTF-16, it weighs the
// sample's UTF-8 evidence: a sample without bytes that are not UTF-8 is
// UTF-8; so is one whose valid multi-byte UTF-8 characters are at least as
// many as its invalid bytes (a UTF-8 file with a few damaged bytes: the
// rows holding them are rejected, the others read intact). A sample whose
// invalid bytes outnumber its multi-byte characters is Windows-1252 text
// (legacy exports; its printable characters are a superset of
// ISO-8859-1's): in such text the high bytes stand alone, and a pair that
// happens to form a UTF-8 character is rare.
func detectEncoding(sample []byte, want Encoding, complete bool) encodingChoice {
	if want != EncodingAuto {
		return explicitEncoding(sample, want)
	}
	switch {
	case bytes.HasPrefix(sample, []byte(utf8BOM)):
		return encodingChoice{enc: EncodingUTF8, bom: len(utf8BOM)}
	case bytes.HasPrefix(sample, []byte(utf16LEBOM)):
		return encodingChoice{EncodingUTF16LE, 2, "a UTF-16 little-endian byte order mark"}
	case bytes.HasPrefix(sample, []byte(utf16BEBOM)):
		return encodingChoice{EncodingUTF16BE, 2, "a UTF-16 big-endian byte order mark"}
	}
	where := sampleWhere(complete)
	if e, ok := sniffUTF16(sample); ok {
		return encodingChoice{enc: e, reason: "NUL bytes in every other position in " + where + ": UTF-16 without a byte order mark"}
	}
	multi, invalid := utf8Evidence(trimPartialRune(sample, complete))
	switch {
	case invalid == 0:
		return encodingChoice{enc: EncodingUTF8}
	case multi >= invalid:
		return encodingChoice{enc: EncodingUTF8, reason: fmt.Sprintf(
			"%s and %s in %s: read as UTF-8; rows holding such bytes are rejected (invalid_encoding)",
			counted(multi, "UTF-8 character", "UTF-8 characters"), counted(invalid, "byte that is not UTF-8", "bytes that are not UTF-8"), where)}
	case multi == 0:
		return encodingChoice{enc: EncodingWindows1252, reason: fmt.Sprintf(
			"%s in %s and no UTF-8 character: read as Windows-1252",
			counted(invalid, "byte that is not UTF-8", "bytes that are not UTF-8"), where)}
	}
	return encodingChoice{enc: EncodingWindows1252, reason: fmt.Sprintf(
		"%s in %s, more than the %s there: read as Windows-1252, those characters too (set the encoding to utf-8 if the file is UTF-8)",
		counted(invalid, "byte that is not UTF-8", "bytes that are not UTF-8"), where, counted(multi, "UTF-8 character", "UTF-8 characters"))}
}

// explicitEncoding is the choice of an encoding set in the configuration:
// a byte order mark is skipped, and sets the byte order of UTF-16.
func explicitEncoding(sample []byte, want Encoding) encodingChoice {
	const set = "set explicitly"
	switch want {
	case EncodingUTF8:
		if bytes.HasPrefix(sample, []byte(utf8BOM)) {
			return encodingChoice{want, len(utf8BOM), set}
		}
	case EncodingUTF16LE, EncodingUTF16BE:
		switch {
		case bytes.HasPrefix(sample, []byte(utf16LEBOM)):
			return encodingChoice{EncodingUTF16LE, 2, bomOrder(want, EncodingUTF16LE)}
		case bytes.HasPrefix(sample, []byte(utf16BEBOM)):
			return encodingChoice{EncodingUTF16BE, 2, bomOrder(want, EncodingUTF16BE)}
		}
	}
	return encodingChoice{enc: want, reason: set}
}

// bomOrder is the reason of an explicit UTF-16 whose byte order mark says
// got.
func bomOrder(want, got Encoding) string {
	if want == got {
		return "set explicitly"
	}
	return "set explicitly as " + want.String() + "; the byte order mark says " + got.String()
}

// sampleWhere names the sniffed part of the input in reasons.
func sampleWhere(complete bool) string {
	if complete {
		return "the file"
	}
	return "the first " + strconv.Itoa(sampleSize>>10) + " KiB"
}

// trimPartialRune drops an incomplete multi-byte character at the end of
// an incomplete sample: the rest of it is beyond the sample.
func trimPartialRune(s []byte, complete bool) []byte {
	if complete {
		return s
	}
	for i := 1; i <= utf8.UTFMax && i <= len(s); i++ {
		if utf8.RuneStart(s[len(s)-i]) {
			if !utf8.FullRune(s[len(s)-i:]) {
				return s[:len(s)-i]
			}
			break
		}
	}
	return s
}

// utf8Evidence counts the valid multi-byte UTF-8 characters of s and its
// bytes that are not UTF-8.
func utf8Evidence(s []byte) (multi, invalid int) {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			invalid++
		} else {
			multi++
		}
		i += n
	}
	return multi, invalid
}

// counted writes n and the noun's singular or plural form.
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
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
// qualifying candidate (a single column) it is comma. The reason (see
// [Dialect.DelimiterReason]) is empty for a comma found in the first record.
func detectDelimiter(text []byte, complete bool) (Delimiter, string) {
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
		return DelimiterComma, ""
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
	switch {
	case bestCount == 0:
		return best, "no comma, semicolon, tab or pipe in the first row: one column"
	case best == DelimiterComma:
		return best, ""
	}
	if len(recs) == 1 {
		return best, fmt.Sprintf("%d in the first row, the only row read", bestCount)
	}
	return best, fmt.Sprintf("%d in the first row, and as many in %d of the %d rows read", bestCount, bestMatch, len(recs))
}
