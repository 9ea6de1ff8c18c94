package xlsx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

const (
	maxZipEntries    = 10_000   // entries in a workbook's zip
	ratioCheckMin    = 16 << 20 // parts smaller than this are not ratio-checked
	maxMetaPartBytes = 64 << 20 // workbook.xml, rels, styles.xml
	maxStyles        = 1 << 20  // cellXfs entries (Excel allows 64,000)
)

// xlsxPackage is the opened zip of a workbook and what was read from its
// parts: the sheets, the date system, the styles' number formats and the
// shared strings.
type xlsxPackage struct {
	cfg    *Config
	files  map[string]*zip.File // by lower-cased, slash-separated name
	budget atomic.Int64         // uncompressed bytes still allowed (MaxUnzipBytes)

	workbook   string // part name of the workbook
	sheets     []SheetInfo
	sheetParts []string // part name by sheet index ("" for a chart sheet)
	date1904   bool
	stylesPart string
	sstPart    string

	fmtKinds []uint8   // number-format kind by cellXfs index
	sst      *sstTable // the shared strings; nil without a shared-string part

	tokenByToken bool // read every cell token by token (tests compare with the shortcut)
}

// openXLSXPackage opens the zip (decrypting it first if need be), checks
// its declared sizes, and reads the workbook's sheet list.
func openXLSXPackage(r io.ReaderAt, size int64, cfg *Config) (*xlsxPackage, error) {
	if size < 0 {
		return nil, errors.New("xlsx: xlsx.New needs a non-negative size")
	}
	if cfg.MaxFileBytes != noLimit && size > cfg.MaxFileBytes {
		return nil, fmt.Errorf("%w: the file has %d bytes, more than xlsx.Config.MaxFileBytes (%d)", ErrTooLarge, size, cfg.MaxFileBytes)
	}
	head := make([]byte, 8)
	n, err := r.ReadAt(head, 0)
	if n < len(head) {
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("%w: the file is empty or too short to be a workbook", ErrFormat)
		}
		return nil, fmt.Errorf("xlsx: read XLSX: %w", err)
	}
	if isOLE(head) {
		plain, err := decryptXLSX(r, size, cfg)
		if err != nil {
			return nil, err
		}
		r, size = bytes.NewReader(plain), int64(len(plain))
	}
	zr, err := zip.NewReader(taggedReaderAt{r}, size)
	if err != nil {
		var rerr readAtError
		if errors.As(err, &rerr) {
			return nil, fmt.Errorf("xlsx: read XLSX: %w", rerr.err)
		}
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	p := &xlsxPackage{cfg: cfg, files: make(map[string]*zip.File, len(zr.File))}
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("%w: the zip has %d entries; a workbook has a few dozen", ErrBomb, len(zr.File))
	}
	p.budget.Store(cfg.MaxUnzipBytes)
	for _, f := range zr.File {
		p.files[normPart(f.Name)] = f
	}
	if err := p.readWorkbook(); err != nil {
		return nil, err
	}
	return p, nil
}

// readAtError marks an error of the caller's io.ReaderAt.
type readAtError struct{ err error }

func (e readAtError) Error() string { return e.err.Error() }
func (e readAtError) Unwrap() error { return e.err }

// taggedReaderAt marks the errors of the caller's reader, so that they are
// not mistaken for a damaged zip.
type taggedReaderAt struct{ r io.ReaderAt }

func (t taggedReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := t.r.ReadAt(b, off)
	if err != nil && err != io.EOF {
		err = readAtError{err}
	}
	return n, err
}

// decryptXLSX decrypts an encrypted workbook (an OLE2 container holding
// EncryptionInfo and EncryptedPackage) with excelize; a legacy .xls is
// refused.
func decryptXLSX(r io.ReaderAt, size int64, cfg *Config) ([]byte, error) {
	raw := make([]byte, size)
	if _, err := r.ReadAt(raw, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("xlsx: read XLSX: %w", err)
	}
	if !bytes.Contains(raw, utf16le("EncryptionInfo")) {
		return nil, fmt.Errorf("%w: it is a legacy Excel 97-2003 (.xls) file or another OLE document", ErrFormat)
	}
	if cfg.Password == "" {
		return nil, fmt.Errorf("%w: set xlsx.Config.Password", ErrPasswordProtected)
	}
	plain, err := excelize.Decrypt(raw, &excelize.Options{Password: cfg.Password})
	if err != nil || len(plain) < 4 || string(plain[:2]) != "PK" {
		return nil, fmt.Errorf("%w (xlsx.Config.Password did not open it)", ErrPasswordProtected)
	}
	if cfg.MaxFileBytes != noLimit && int64(len(plain))+size > cfg.MaxFileBytes {
		return nil, fmt.Errorf("%w: the decrypted workbook (%d bytes) and the file take more than xlsx.Config.MaxFileBytes (%d)", ErrTooLarge, len(plain), cfg.MaxFileBytes)
	}
	return plain, nil
}

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

// normPart normalizes a part name for lookup: slashes (some writers use
// backslashes), no leading slash, lower case (part names are
// case-insensitive).
func normPart(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	return strings.ToLower(strings.TrimPrefix(path.Clean("/"+name), "/"))
}

// relsPart returns the relationships part of part: dir/_rels/base.rels.
func relsPart(part string) string {
	dir, base := path.Split(part)
	return dir + "_rels/" + base + ".rels"
}

// resolve returns the part a relationship target of source points to.
func resolve(source, target string) string {
	target = strings.ReplaceAll(target, `\`, "/")
	if strings.HasPrefix(target, "/") {
		return normPart(target)
	}
	return normPart(path.Join(path.Dir(source), target))
}

type rel struct{ id, typ, target string }

// open opens a part for streaming: its declared size is checked against the
// budget and the compression ratio, and the reader counts what actually
// comes out, guards against over-long text runs and may report progress.
func (p *xlsxPackage) open(part string, progress *atomic.Int64) (*partReader, error) {
	f := p.files[normPart(part)]
	if f == nil {
		return nil, nil
	}
	if err := p.checkDeclared(f); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: part %s: %v", ErrFormat, f.Name, err)
	}
	return &partReader{rc: rc, name: f.Name, p: p, progress: progress, runLimit: p.runLimit()}, nil
}

func (p *xlsxPackage) checkDeclared(f *zip.File) error {
	u, c := f.UncompressedSize64, f.CompressedSize64
	if p.cfg.MaxUnzipBytes != noLimit && u > uint64(p.budget.Load()) {
		return fmt.Errorf("%w: part %s declares %d bytes uncompressed, more than is left of xlsx.Config.MaxUnzipBytes (%d)", ErrTooLarge, f.Name, u, p.cfg.MaxUnzipBytes)
	}
	if p.cfg.MaxCompressionRatio != noLimit && u > ratioCheckMin && u/max(c, 1) > uint64(p.cfg.MaxCompressionRatio) {
		return fmt.Errorf("%w: part %s inflates %d times (%d to %d bytes), more than xlsx.Config.MaxCompressionRatio (%d)", ErrBomb, f.Name, u/max(c, 1), c, u, p.cfg.MaxCompressionRatio)
	}
	return nil
}

// runLimit bounds the bytes between two '<' in a part: a cell's text can be
// MaxCellBytes long once decoded and up to 6 times longer with character
// references; longer is refused before a tokenizer (encoding/xml's or the
// package's xmlScanner) buffers it.
func (p *xlsxPackage) runLimit() int { return runLimit(p.cfg) }

// runLimit is xlsxPackage.runLimit for cfg.
func runLimit(cfg *Config) int { return max(6*cfg.MaxCellBytes, 1<<20) + 4096 }

// partReader streams one part: it enforces MaxUnzipBytes on what actually
// inflates (a zip may lie about sizes) and bounds text runs.
type partReader struct {
	rc       io.ReadCloser
	name     string
	p        *xlsxPackage
	progress *atomic.Int64
	run      int
	runLimit int
	err      error
}

func (pr *partReader) Read(b []byte) (int, error) {
	if pr.err != nil {
		return 0, pr.err
	}
	n, err := pr.rc.Read(b)
	if n > 0 {
		if pr.p.cfg.MaxUnzipBytes != noLimit && pr.p.budget.Add(-int64(n)) < 0 {
			pr.err = fmt.Errorf("%w: part %s inflates to more than xlsx.Config.MaxUnzipBytes (%d)", ErrTooLarge, pr.name, pr.p.cfg.MaxUnzipBytes)
			return 0, pr.err
		}
		if i := bytes.LastIndexByte(b[:n], '<'); i >= 0 {
			pr.run = n - i - 1
		} else {
			pr.run += n
		}
		if pr.run > pr.runLimit {
			pr.err = fmt.Errorf("%w: part %s has a text of more than %d bytes; a cell holds at most xlsx.Config.MaxCellBytes (%d)", ErrTooLarge, pr.name, pr.runLimit, pr.p.cfg.MaxCellBytes)
			return 0, pr.err
		}
		if pr.progress != nil {
			pr.progress.Add(int64(n))
		}
	}
	if err != nil && err != io.EOF {
		var rerr readAtError
		switch {
		case errors.As(err, &rerr):
			err = fmt.Errorf("xlsx: read XLSX part %s: %w", pr.name, rerr.err)
		case errors.Is(err, zip.ErrFormat):
			err = fmt.Errorf("%w: part %s inflates to more bytes than the zip declares", ErrBomb, pr.name)
		default:
			err = fmt.Errorf("%w: part %s is damaged: %v", ErrFormat, pr.name, err)
		}
		pr.err = err
	}
	return n, err
}

func (pr *partReader) Close() error { return pr.rc.Close() }

// xmlStream reads the raw tokens of a part with encoding/xml's RawToken
// (fast: no namespace translation) and checks what RawToken does not: that
// end tags match start tags, and that nothing is left open at the end. A DTD
// is refused as an entity-expansion bomb; syntax errors name the part.
type xmlStream struct {
	d     *xml.Decoder
	part  string
	stack []string
}

func newXMLStream(r io.Reader, part string) *xmlStream {
	d := xml.NewDecoder(r)
	d.Strict = true
	return &xmlStream{d: d, part: part}
}

func (s *xmlStream) token() (xml.Token, error) {
	t, err := s.d.RawToken()
	if err != nil {
		if err == io.EOF {
			if len(s.stack) > 0 {
				return nil, fmt.Errorf("%w: part %s ends inside <%s>", ErrFormat, s.part, s.stack[len(s.stack)-1])
			}
			return nil, err
		}
		var serr *xml.SyntaxError
		if errors.As(err, &serr) {
			return nil, fmt.Errorf("%w: part %s: %v", ErrFormat, s.part, err)
		}
		return nil, err
	}
	switch e := t.(type) {
	case xml.StartElement:
		if len(s.stack) >= maxXMLDepth {
			return nil, fmt.Errorf("%w: part %s nests elements more than %d deep", ErrBomb, s.part, maxXMLDepth)
		}
		s.stack = append(s.stack, e.Name.Local)
	case xml.EndElement:
		if len(s.stack) == 0 || s.stack[len(s.stack)-1] != e.Name.Local {
			return nil, fmt.Errorf("%w: part %s: unexpected </%s>", ErrFormat, s.part, e.Name.Local)
		}
		s.stack = s.stack[:len(s.stack)-1]
	case xml.Directive:
		if len(e) >= 7 && strings.EqualFold(string(e[:7]), "DOCTYPE") {
			return nil, fmt.Errorf("%w: part %s declares a document type (<!DOCTYPE ...>), which Excel never writes: entity expansion is refused", ErrBomb, s.part)
		}
		return nil, fmt.Errorf("%w: part %s holds an XML directive (<!%.20s...>), which Excel never writes", ErrBomb, s.part, e)
	}
	return t, nil
}

const maxXMLDepth = 256

// readRels reads the relationships of part.
func (p *xlsxPackage) readRels(part string) ([]rel, error) {
	rp := relsPart(part)
	pr, err := p.openMeta(rp)
	if pr == nil || err != nil {
		return nil, err
	}
	defer pr.Close()
	return parseRels(pr, rp)
}

// parseRels reads a relationships part (_rels/*.rels): the Id, Type and
// Target of each <Relationship>.
func parseRels(r io.Reader, part string) ([]rel, error) {
	xs := newXMLStream(r, part)
	var out []rel
	for {
		t, err := xs.token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if se, ok := t.(xml.StartElement); ok && se.Name.Local == "Relationship" {
			var r rel
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "Id":
					r.id = a.Value
				case "Type":
					r.typ = a.Value
				case "Target":
					r.target = a.Value
				}
			}
			if len(out) >= maxZipEntries {
				return nil, fmt.Errorf("%w: part %s has too many relationships", ErrBomb, part)
			}
			out = append(out, r)
		}
	}
}

// openMeta opens a small structural part with a tighter size cap.
func (p *xlsxPackage) openMeta(part string) (*partReader, error) {
	f := p.files[normPart(part)]
	if f != nil && f.UncompressedSize64 > maxMetaPartBytes {
		return nil, fmt.Errorf("%w: part %s declares %d bytes; structural parts are far smaller", ErrBomb, f.Name, f.UncompressedSize64)
	}
	return p.open(part, nil)
}

func relType(typ, kind string) bool { return strings.HasSuffix(typ, "/"+kind) }

// readWorkbook finds the workbook part and reads its sheets, date system and
// the parts it relates to.
func (p *xlsxPackage) readWorkbook() error {
	rels, err := p.readRels("")
	if err != nil {
		return err
	}
	for _, r := range rels {
		if relType(r.typ, "officeDocument") {
			p.workbook = resolve("/", r.target)
			break
		}
	}
	if p.workbook == "" || p.files[p.workbook] == nil {
		p.workbook = "xl/workbook.xml"
	}
	pr, err := p.openMeta(p.workbook)
	if err != nil {
		return err
	}
	if pr == nil {
		return fmt.Errorf("%w: the zip has no workbook part", ErrFormat)
	}
	defer pr.Close()
	entries, date1904, err := parseWorkbook(pr, p.workbook)
	if err != nil {
		return err
	}
	p.date1904 = date1904
	return p.readWorkbookRels(entries)
}

// sheetEntry is a <sheet> of the workbook part: its SheetInfo and the id
// of the relationship to its part.
type sheetEntry struct {
	SheetInfo
	rid string
}

// parseWorkbook reads the workbook part: its sheets in order, and whether
// it uses the 1904 date system.
func parseWorkbook(r io.Reader, part string) (entries []sheetEntry, date1904 bool, err error) {
	xs := newXMLStream(r, part)
	for {
		t, err := xs.token()
		if err == io.EOF {
			return entries, date1904, nil
		}
		if err != nil {
			return nil, false, err
		}
		se, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "workbookPr":
			for _, a := range se.Attr {
				if a.Name.Local == "date1904" {
					date1904 = a.Value == "1" || strings.EqualFold(a.Value, "true")
				}
			}
		case "sheet":
			e := sheetEntry{SheetInfo: SheetInfo{Index: len(entries)}}
			for _, a := range se.Attr {
				switch {
				case a.Name.Local == "name" && a.Name.Space == "":
					e.Name = a.Value
				case a.Name.Local == "state":
					switch a.Value {
					case "hidden":
						e.State = SheetHidden
					case "veryHidden":
						e.State = SheetVeryHidden
					}
				case a.Name.Local == "id" && a.Name.Space != "":
					e.rid = a.Value
				}
			}
			if len(entries) >= maxZipEntries {
				return nil, false, fmt.Errorf("%w: the workbook lists too many sheets", ErrBomb)
			}
			entries = append(entries, e)
		}
	}
}

// readWorkbookRels reads the workbook's relationships: the parts of the
// shared strings, the styles and each sheet of entries.
func (p *xlsxPackage) readWorkbookRels(entries []sheetEntry) error {
	wrels, err := p.readRels(p.workbook)
	if err != nil {
		return err
	}
	byID := make(map[string]rel, len(wrels))
	for _, r := range wrels {
		byID[r.id] = r
		switch {
		case relType(r.typ, "sharedStrings") && p.sstPart == "":
			p.sstPart = resolve(p.workbook, r.target)
		case relType(r.typ, "styles") && p.stylesPart == "":
			p.stylesPart = resolve(p.workbook, r.target)
		}
	}
	if p.sstPart == "" && p.files["xl/sharedstrings.xml"] != nil {
		p.sstPart = "xl/sharedstrings.xml"
	}
	if p.stylesPart == "" && p.files["xl/styles.xml"] != nil {
		p.stylesPart = "xl/styles.xml"
	}
	p.sheets = make([]SheetInfo, len(entries))
	p.sheetParts = make([]string, len(entries))
	for i, e := range entries {
		p.sheets[i] = e.SheetInfo
		r, ok := byID[e.rid]
		if ok && relType(r.typ, "chartsheet") {
			p.sheets[i].Chart = true
			continue
		}
		if ok {
			p.sheetParts[i] = resolve(p.workbook, r.target)
		}
		if p.files[p.sheetParts[i]] == nil {
			// No usable relationship: fall back to the conventional name.
			p.sheetParts[i] = "xl/worksheets/sheet" + strconv.Itoa(i+1) + ".xml"
		}
	}
	return nil
}

// choose picks the sheet that cfg asks for.
func (p *xlsxPackage) choose(cfg *Config) (SheetInfo, error) {
	names := func() string {
		var b strings.Builder
		for i, s := range p.sheets {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(s.Name))
			if s.State != SheetVisible {
				b.WriteString(" (" + s.State.String() + ")")
			}
		}
		return b.String()
	}
	var sh SheetInfo
	switch {
	case cfg.Sheet != "":
		found := false
		for _, s := range p.sheets {
			if strings.EqualFold(s.Name, cfg.Sheet) {
				sh, found = s, true
				break
			}
		}
		if !found {
			return sh, fmt.Errorf("%w: xlsx.Config.Sheet is %q; the workbook has %s", ErrSheetNotFound, cfg.Sheet, names())
		}
	case cfg.SheetNumber > 0:
		if cfg.SheetNumber > len(p.sheets) {
			return sh, fmt.Errorf("%w: xlsx.Config.SheetNumber is %d; the workbook has %d sheets: %s", ErrSheetNotFound, cfg.SheetNumber, len(p.sheets), names())
		}
		sh = p.sheets[cfg.SheetNumber-1]
	default:
		found := false
		for _, s := range p.sheets {
			if s.State == SheetVisible && !s.Chart && p.files[p.sheetParts[s.Index]] != nil {
				sh, found = s, true
				break
			}
		}
		if !found {
			if len(p.sheets) == 0 {
				return sh, fmt.Errorf("%w: the workbook lists no sheets", ErrSheetEmpty)
			}
			return sh, fmt.Errorf("%w: the workbook has no visible worksheet (sheets: %s); set xlsx.Config.Sheet", ErrSheetEmpty, names())
		}
		return sh, nil
	}
	if sh.Chart {
		return sh, fmt.Errorf("%w: %q is a chart sheet, which has no cells; the workbook has %s", ErrSheetNotFound, sh.Name, names())
	}
	if p.files[p.sheetParts[sh.Index]] == nil {
		return sh, fmt.Errorf("%w: the worksheet part of sheet %q is missing", ErrFormat, sh.Name)
	}
	return sh, nil
}

// sheetSize returns the declared uncompressed size of sheet i.
func (p *xlsxPackage) sheetSize(i int) int64 {
	if p == nil || i < 0 || i >= len(p.sheetParts) {
		return -1
	}
	if f := p.files[p.sheetParts[i]]; f != nil {
		return int64(f.UncompressedSize64)
	}
	return -1
}

// dimension reads the <dimension ref> of sheet i from the start of its part.
func (p *xlsxPackage) dimension(i int) string {
	part := p.sheetParts[i]
	pr, err := p.open(part, nil)
	if pr == nil || err != nil {
		return ""
	}
	defer pr.Close()
	xs := newXMLStream(io.LimitReader(pr, 64<<10), part)
	for {
		t, err := xs.token()
		if err != nil {
			return ""
		}
		if se, ok := t.(xml.StartElement); ok {
			switch se.Name.Local {
			case "dimension":
				for _, a := range se.Attr {
					if a.Name.Local == "ref" {
						return a.Value
					}
				}
				return ""
			case "sheetData":
				return ""
			}
		}
	}
}

// Number-format kinds.
const (
	fmtNumber   uint8 = iota
	fmtDate           // a date only
	fmtDateTime       // a date and a time of day
	fmtTime           // a time of day only
	fmtElapsed        // a duration: [h]:mm:ss
)

// loadStyles reads the number format of each cell style (cellXfs).
func (p *xlsxPackage) loadStyles() error {
	if p.stylesPart == "" {
		return nil
	}
	pr, err := p.openMeta(p.stylesPart)
	if pr == nil || err != nil {
		return err
	}
	defer pr.Close()
	p.fmtKinds, err = parseStyles(pr, p.stylesPart)
	return err
}

// parseStyles reads a styles part: the number-format kind of each cell
// style (cellXfs), from its built-in or custom (numFmt) format.
func parseStyles(r io.Reader, part string) ([]uint8, error) {
	xs := newXMLStream(r, part)
	custom := map[int]string{}
	var xfs []int
	inXfs := false
	for {
		t, err := xs.token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch e := t.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "numFmt":
				id, code := -1, ""
				for _, a := range e.Attr {
					switch a.Name.Local {
					case "numFmtId":
						id, _ = strconv.Atoi(a.Value)
					case "formatCode":
						code = a.Value
					}
				}
				if id >= 0 && len(custom) < maxStyles {
					custom[id] = code
				}
			case "cellXfs":
				inXfs = true
			case "xf":
				if inXfs {
					if len(xfs) >= maxStyles {
						return nil, fmt.Errorf("%w: part %s has more than %d cell styles", ErrBomb, part, maxStyles)
					}
					id := 0
					for _, a := range e.Attr {
						if a.Name.Local == "numFmtId" {
							id, _ = strconv.Atoi(a.Value)
						}
					}
					xfs = append(xfs, id)
				}
			}
		case xml.EndElement:
			if e.Name.Local == "cellXfs" {
				inXfs = false
			}
		}
	}
	kinds := make([]uint8, len(xfs))
	for i, id := range xfs {
		if code, ok := custom[id]; ok {
			kinds[i] = formatKind(code)
		} else {
			kinds[i] = builtinFormatKind(id)
		}
	}
	return kinds, nil
}

// builtinFormatKind classifies Excel's built-in number formats (ECMA-376
// 18.8.30, with the East Asian ones).
func builtinFormatKind(id int) uint8 {
	switch {
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id == 36, id >= 50 && id <= 58:
		return fmtDate
	case id >= 18 && id <= 21, id == 45, id == 47, id >= 32 && id <= 35:
		return fmtTime
	case id == 22:
		return fmtDateTime
	case id == 46:
		return fmtElapsed
	}
	return fmtNumber
}

// formatKind classifies a custom number format code by the date and time
// letters of its first section, outside quoted literals, escapes and
// [bracketed] modifiers (except the elapsed-time ones, [h], [m], [s]).
func formatKind(code string) uint8 {
	var date, tm, month, elapsed bool
	lower := strings.ToLower(code)
	if strings.Contains(lower, "general") {
		lower = strings.ReplaceAll(lower, "general", "")
	}
	for i := 0; i < len(lower); i++ {
		c := lower[i]
		switch c {
		case ';':
			i = len(lower)
		case '"':
			j := strings.IndexByte(lower[i+1:], '"')
			if j < 0 {
				i = len(lower)
			} else {
				i += j + 1
			}
		case '\\', '_', '*':
			i++
		case '[':
			j := strings.IndexByte(lower[i+1:], ']')
			if j < 0 {
				i = len(lower)
				break
			}
			inner := lower[i+1 : i+1+j]
			if inner != "" && strings.Trim(inner, "hms") == "" {
				elapsed, tm = true, true
			}
			i += j + 1
		case 'e':
			if i+1 < len(lower) && (lower[i+1] == '+' || lower[i+1] == '-') {
				i++ // scientific notation
			} else {
				date = true // era year
			}
		case 'y', 'd', 'g', 'b':
			date = true
		case 'h', 's':
			tm = true
		case 'm':
			month = true
		case 'a':
			if strings.HasPrefix(lower[i:], "am/pm") {
				tm = true
				i += 4
			} else if strings.HasPrefix(lower[i:], "a/p") {
				tm = true
				i += 2
			}
		}
	}
	if month && !tm {
		date = true
	}
	switch {
	case elapsed:
		return fmtElapsed
	case date && tm:
		return fmtDateTime
	case date:
		return fmtDate
	case tm:
		return fmtTime
	}
	return fmtNumber
}

// loadSharedStrings reads the shared-string part, if any, into the table.
func (p *xlsxPackage) loadSharedStrings() error {
	if p.sstPart == "" {
		return nil
	}
	pr, err := p.open(p.sstPart, nil)
	if pr == nil || err != nil {
		return err
	}
	defer pr.Close()
	p.sst, err = parseSharedStrings(pr, p.sstPart, p.cfg)
	return err
}

// sharedString returns shared string i.
func (p *xlsxPackage) sharedString(i int) (string, bool) { return p.sst.lookup(i) }

func (p *xlsxPackage) release() {
	p.sst, p.fmtKinds = nil, nil
}

// unescapeOOXML decodes the _xHHHH_ escapes OOXML uses for characters XML
// cannot hold (_x000D_ is a CR; _x005F_ escapes an underscore). It returns b
// itself when there is none.
func unescapeOOXML(b []byte) []byte {
	i := bytes.Index(b, []byte("_x"))
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i >= 0 {
		out = append(out, b[:i]...)
		b = b[i:]
		if len(b) >= 7 && b[6] == '_' && isHex4(b[2:6]) {
			v, _ := strconv.ParseUint(string(b[2:6]), 16, 16)
			out = appendRune(out, rune(v))
			b = b[7:]
		} else {
			out = append(out, b[:2]...)
			b = b[2:]
		}
		i = bytes.Index(b, []byte("_x"))
	}
	return append(out, b...)
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func appendRune(b []byte, r rune) []byte {
	if r >= 0xD800 && r <= 0xDFFF {
		r = 0xFFFD
	}
	return utf8.AppendRune(b, r)
}
