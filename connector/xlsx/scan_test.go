package xlsx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// scanTokens returns the tokens of the scanner as text, up to its first
// error. With bufSize > 0 the scanner starts with a buffer that small and
// reads one byte at a time, so that tokens straddle refills.
func scanTokens(data []byte, bufSize int) ([]string, error) {
	var r io.Reader = bytes.NewReader(data)
	if bufSize > 0 {
		r = iotest.OneByteReader(r)
	}
	s := newXMLScanner(r, "p", 1<<30)
	if bufSize > 0 {
		s.buf = make([]byte, bufSize)
	}
	var out []string
	for {
		k, err := s.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch k {
		case tokStart:
			var b strings.Builder
			fmt.Fprintf(&b, "<%s", s.local())
			for i := range s.attrs {
				fmt.Fprintf(&b, " %s=%q", s.attrLocal(i), s.attrValue(i))
			}
			out = append(out, b.String()+">")
		case tokEnd:
			out = append(out, fmt.Sprintf("</%s>", s.local()))
		case tokText:
			out = append(out, fmt.Sprintf("%q", s.text()))
		}
	}
}

// refTokens returns the tokens encoding/xml's strict RawToken and
// xmlStream's checks give, in the same form, comments and processing
// instructions left out.
func refTokens(data []byte) ([]string, error) {
	xs := newXMLStream(bytes.NewReader(data), "p")
	var out []string
	for {
		t, err := xs.token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch e := t.(type) {
		case xml.StartElement:
			var b strings.Builder
			fmt.Fprintf(&b, "<%s", e.Name.Local)
			for _, a := range e.Attr {
				fmt.Fprintf(&b, " %s=%q", a.Name.Local, a.Value)
			}
			out = append(out, b.String()+">")
		case xml.EndElement:
			out = append(out, fmt.Sprintf("</%s>", e.Name.Local))
		case xml.CharData:
			out = append(out, fmt.Sprintf("%q", []byte(e)))
		}
	}
}

// checkScanner compares the scanner with encoding/xml on data: the same
// tokens, and an error where encoding/xml has one. The scanner may refuse
// more: an end tag whose prefix differs from its start tag's, and a
// directive before its end.
func checkScanner(t *testing.T, data []byte) {
	t.Helper()
	want, werr := refTokens(data)
	for _, bufSize := range []int{0, 1, 7} {
		got, gerr := scanTokens(data, bufSize)
		n := min(len(got), len(want))
		for i := range n {
			if got[i] != want[i] {
				t.Fatalf("%q: token %d is %s, encoding/xml reads %s", data, i, got[i], want[i])
			}
		}
		switch {
		case werr == nil && gerr == nil:
			if len(got) != len(want) {
				t.Fatalf("%q: %d tokens, encoding/xml reads %d", data, len(got), len(want))
			}
		case werr != nil && gerr != nil:
			if len(got) > len(want) {
				t.Fatalf("%q: %d tokens before the error %v, encoding/xml %d before %v", data, len(got), gerr, len(want), werr)
			}
			if !errors.Is(gerr, ErrFormat) && !errors.Is(gerr, ErrBomb) {
				t.Fatalf("%q: error %v is neither ErrFormat nor ErrBomb", data, gerr)
			}
		case gerr != nil:
			if strings.Contains(gerr.Error(), "unexpected </") || strings.Contains(gerr.Error(), "directive") {
				continue
			}
			t.Fatalf("%q: error %v after %d tokens; encoding/xml reads it", data, gerr, len(got))
		default:
			t.Fatalf("%q: no error; encoding/xml: %v", data, werr)
		}
	}
}

var scanSeeds = []string{
	`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" + `<worksheet xmlns="m" xmlns:r="r"><sheetData><row r="1" spans="1:3"><c r="A1" t="s"><v>0</v></c><c r="B1" s="2"/></row></sheetData></worksheet>`,
	`<x:a xmlns:x="u" x:b='1' c = "2"><x:b>t</x:b></x:a>`,
	"<a>\r\n x\r y\n</a>", `<a b="x&#13;y&amp;&lt;&gt;&apos;&quot;&#x263A;"/>`, `<a>&#0;</a>`, `<a>&#xD800;</a>`, `<a>&#x110000;</a>`,
	`<a>&bogus;</a>`, `<a>& b</a>`, `<a>&amp</a>`, `<a>&#;</a>`, `<a>&#x;</a>`, `<a>&#X41;</a>`, `<a>&#65</a>`,
	`<a>]]></a>`, `<a b="]]>"/>`, `<a><![CDATA[<&>]]]]></a>`, `<a><![CDATA[x`, `<a><![CDAT[x]]></a>`,
	`<a><!-- c - d --></a>`, `<a><!-- c -- d --></a>`, `<a><!---></a>`, `<a><!----></a>`, `<a><!- x --></a>`,
	`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, `<a><!ELEMENT a ANY></a>`, `<a><!doctype x></a>`,
	`<?xml version="1.1"?><a/>`, `<?xml encoding="latin1"?><a/>`, `<?xml encoding="utf-8"?><a/>`, `<?pi?><a/>`, `<? pi?><a/>`, `<?p:i:x ?><a/>`,
	`<a b=c/>`, `<a b/>`, `<a b="<"/>`, `<a b="x" / >`, `<a b="1"c="2"/>`, `<a></b>`, `</a>`, `<a>`, `<a><b></a></b>`, `<x:a></y:a>`,
	`<1a/>`, `<-a/>`, `<a:b:c/>`, `<:a/>`, `<a:/>`, `<é/>`, `<a é="1"/>`, "<a\xff/>", "<a>\xff</a>", "<a>\x01</a>", "<a>\uFFFE</a>", "<a>\t\n</a>",
	`<a  >x</a  >`, `<a>x</a x>`, `<a/ >`, `<a b="1" b="2"/>`, "text", "", "<", "<a", "<a b", "<a b=", `<a b="`, `<a b="1"`,
	strings.Repeat("<a>", maxXMLDepth) + strings.Repeat("</a>", maxXMLDepth),
	strings.Repeat("<a>", maxXMLDepth+1),
}

func TestXMLScannerMatchesEncodingXML(t *testing.T) {
	t.Parallel()
	for _, s := range append(scanSeeds, partSeeds...) {
		checkScanner(t, []byte(s))
	}
}

// FuzzXMLScanner checks the scanner against encoding/xml on arbitrary
// bytes (see checkScanner).
func FuzzXMLScanner(f *testing.F) {
	for _, s := range append(scanSeeds, partSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScanner(t, data)
	})
}

// TestXMLScannerLimit: a token longer than the limit is ErrTooLarge, not
// buffered whole.
func TestXMLScannerLimit(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		"<a>" + strings.Repeat("x", 300<<10) + "</a>",
		"<a b=\"" + strings.Repeat("x", 300<<10) + "\"/>",
		"<a><!--" + strings.Repeat("x", 300<<10) + "--></a>",
	} {
		s := newXMLScanner(strings.NewReader(doc), "p", 128<<10)
		var err error
		for err == nil {
			_, err = s.next()
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%.20s...: %v, want ErrTooLarge", doc, err)
		}
		if len(s.buf) > 128<<10 {
			t.Errorf("%.20s...: buffer grew to %d bytes", doc, len(s.buf))
		}
	}
	// Within the limit, a long text is read whole.
	long := strings.Repeat("y", 100<<10)
	got, err := scanTokens([]byte("<a>"+long+"</a>"), 64)
	if err != nil || len(got) != 3 || got[1] != fmt.Sprintf("%q", long) {
		t.Errorf("long text: %d tokens, %v", len(got), err)
	}
}
