package xlsx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets of this file feed arbitrary bytes straight to the parser
// of each workbook part, without a zip around them (whose checksums would
// reject most mutations before any XML is read).

// partSeeds are the parts of the test workbook and malformed variants.
var partSeeds = []string{
	partContentTypes, partRootRels, strings.Replace(partWorkbook, "%s", ` date1904="1"`, 1), partWorkbookRels, partStyles, partSST, partSheet2,
	"", "<", "<a>", "</a>", "<a></b>", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>`,
	strings.Repeat("<a>", maxXMLDepth+1), "<sst><si><t>a</t></si><si><t>\xff</t></si></sst>",
	`<Relationships><Relationship Id="r" Type="x/officeDocument" Target="/../../etc/passwd"/><Relationship Target="..\..\x"/></Relationships>`,
	`<workbook><sheets><sheet name="A" state="veryHidden" r:id="rId1" xmlns:r="r"/><sheet/><sheet name="B" state="hidden"/></sheets></workbook>`,
	`<styleSheet><numFmts><numFmt numFmtId="-1" formatCode="yyyy"/><numFmt numFmtId="999999999999999999999" formatCode="[h]"/></numFmts><cellXfs><xf numFmtId="14"/><xf numFmtId="x"/><xf/></cellXfs></styleSheet>`,
	`<sst><si><r><t>a</t></r><rPh><t>b</t><rPh><t>c</t></rPh></rPh><t>_x000D__x005F_x</t></si><si/><t>outside</t></sst>`,
}

func addPartSeeds(f *testing.F) {
	for _, s := range partSeeds {
		f.Add([]byte(s))
	}
}

// FuzzXLSXRels checks the relationships parser: no panic, nothing returned
// with an error, and every target resolves to a part name inside the
// package (no leading slash, no "..").
func FuzzXLSXRels(f *testing.F) {
	addPartSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rels, err := parseRels(bytes.NewReader(data), "xl/_rels/workbook.xml.rels")
		if err != nil {
			if rels != nil {
				t.Fatalf("relationships %v returned with error %v", rels, err)
			}
			return
		}
		if len(rels) > maxZipEntries {
			t.Fatalf("%d relationships, more than %d", len(rels), maxZipEntries)
		}
		for _, r := range rels {
			for _, src := range []string{"/", "xl/workbook.xml"} {
				p := resolve(src, r.target)
				if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") {
					t.Fatalf("target %q from %s resolves to %q, outside the package", r.target, src, p)
				}
			}
		}
	})
}

// FuzzXLSXWorkbook checks the workbook parser: no panic, nothing returned
// with an error, sheets numbered in order with a known state.
func FuzzXLSXWorkbook(f *testing.F) {
	addPartSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, date1904, err := parseWorkbook(bytes.NewReader(data), "xl/workbook.xml")
		if err != nil {
			if entries != nil || date1904 {
				t.Fatalf("sheets %v (date1904 %v) returned with error %v", entries, date1904, err)
			}
			return
		}
		for i, e := range entries {
			if e.Index != i || e.State > SheetVeryHidden || e.Chart {
				t.Fatalf("sheet %d: %+v", i, e.SheetInfo)
			}
		}
	})
}

// FuzzXLSXStyles checks the styles parser: no panic, and on success one
// known number-format kind per cell style, at most maxStyles.
func FuzzXLSXStyles(f *testing.F) {
	addPartSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		kinds, err := parseStyles(bytes.NewReader(data), "xl/styles.xml")
		if err != nil {
			if kinds != nil {
				t.Fatalf("kinds returned with error %v", err)
			}
			return
		}
		if len(kinds) > maxStyles {
			t.Fatalf("%d styles", len(kinds))
		}
		for i, k := range kinds {
			if k > fmtElapsed {
				t.Fatalf("style %d has kind %d", i, k)
			}
		}
	})
}

// FuzzXLSXNumberFormat checks the classification of custom number formats:
// no panic, a known kind, and the same kind for a code and its upper case
// (format codes are case-insensitive).
func FuzzXLSXNumberFormat(f *testing.F) {
	for _, s := range []string{"dd.mm.yyyy", "[h]:mm:ss", "0.00E+00", `"date"0`, `yyyy;@`, `[$-409]mmm d`, "h:mm AM/PM", "a/p", "\\y0", "General", "m", "[", `"`, "_", "e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		k := formatKind(code)
		if k > fmtElapsed {
			t.Fatalf("formatKind(%q) = %d", code, k)
		}
		if !utf8.ValidString(code) {
			return
		}
		if u := formatKind(strings.ToUpper(code)); u != k && strings.ToLower(strings.ToUpper(code)) == strings.ToLower(code) {
			t.Fatalf("formatKind(%q) = %d, of its upper case %d", code, k, u)
		}
	})
}

// FuzzXLSXSharedStrings checks the shared-string parser on arbitrary bytes:
// no panic, no table with an error, and a table within every limit. Then it
// splits the input at NUL bytes into strings, writes them as a part, and
// checks that the parser reads back exactly those strings, in order.
func FuzzXLSXSharedStrings(f *testing.F) {
	addPartSeeds(f)
	f.Add([]byte("a\x00\x00b c\x00  spaced  \x00<&>\"'\x00€\x00"))
	cfg := fuzzConfig
	if err := cfg.validate(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := parseSharedStrings(bytes.NewReader(data), "xl/sharedStrings.xml", &cfg)
		switch {
		case err != nil && tab != nil:
			t.Fatalf("table returned with error %v", err)
		case err == nil:
			checkTable(t, tab, &cfg)
		}
		roundTripSST(t, data, &cfg)
	})
}

// checkTable checks that a parsed table stays within cfg's limits.
func checkTable(t *testing.T, tab *sstTable, cfg *Config) {
	t.Helper()
	if tab.len() > cfg.MaxSharedStrings || tab.cost() > cfg.MaxSharedStringBytes {
		t.Fatalf("%d strings, %d bytes: over the limits", tab.len(), tab.cost())
	}
	for i := range tab.len() {
		s, ok := tab.lookup(i)
		if !ok || len(s) > cfg.MaxCellBytes {
			t.Fatalf("string %d: %d bytes, ok %v", i, len(s), ok)
		}
	}
}

// roundTripSST writes the NUL-separated strings of data as a shared-string
// part and checks that they are read back unchanged. Strings XML cannot
// hold as they are (control characters, CR, invalid UTF-8, _xHHHH_
// escapes) are skipped.
func roundTripSST(t *testing.T, data []byte, cfg *Config) {
	t.Helper()
	want := strings.Split(string(data), "\x00")
	var b strings.Builder
	b.WriteString("<sst>")
	for _, s := range want {
		if !utf8.ValidString(s) || strings.Contains(s, "_x") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' || r == 0xFFFE || r == 0xFFFF }) {
			return
		}
		b.WriteString(`<si><t xml:space="preserve">`)
		if err := xml.EscapeText(&b, []byte(s)); err != nil {
			t.Fatal(err)
		}
		b.WriteString("</t></si>")
	}
	b.WriteString("</sst>")
	tab, err := parseSharedStrings(strings.NewReader(b.String()), "xl/sharedStrings.xml", cfg)
	if errors.Is(err, ErrTooLarge) {
		return
	}
	if err != nil {
		t.Fatalf("%q: %v", b.String(), err)
	}
	if tab.len() != len(want) {
		t.Fatalf("%d strings read back, %d written", tab.len(), len(want))
	}
	for i, w := range want {
		if got, _ := tab.lookup(i); got != w {
			t.Fatalf("string %d: read %q, wrote %q", i, got, w)
		}
	}
}
