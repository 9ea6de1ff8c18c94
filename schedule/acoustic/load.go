package acoustic

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/mapping"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// MaxMapBytes is the largest mapping file [Load] reads.
const MaxMapBytes = 1 << 20

// Map is an Acoustic Campaign ImportList mapping file (root element
// LIST_IMPORT), as read by [Load]. [Map.JobSpec] turns it into a whole
// job spec; its other methods give the parts: [Map.MappingSpec] (the
// mapping), [Map.Key] (sync fields), [Map.DelimiterName] (file type),
// with Action and HasHeaders.
type Map struct {
	// Action is LIST_INFO/ACTION as an intake action (CREATE → create, …).
	Action intake.Action
	// ListType is LIST_TYPE (0 database, 6 seed list, 13 suppression
	// list; CREATE only), ListName LIST_NAME (CREATE), ListID LIST_ID
	// (the other actions), ListVisibility LIST_VISIBILITY (0 private, 1
	// shared), ParentFolderPath PARENT_FOLDER_PATH.
	ListType         int
	ListName         string
	ListID           string
	ListVisibility   int
	ParentFolderPath string
	// FileType is FILE_TYPE: 0 comma-separated (the default), 1 tab, 2
	// pipe. See [Map.DelimiterName].
	FileType int
	// HasHeaders is HASHEADERS; true when the element is absent.
	HasHeaders bool
	// DateFormat is LIST_DATE_FORMAT as written ("" when absent: Acoustic's
	// default mm/dd/yyyy). See [Map.DatePattern].
	DateFormat string
	// DoubleOptIn, EncodedAsMD5 and UseRecipientID are DOUBLE_OPT_IN,
	// ENCODED_AS_MD5 (the EMAIL column holds MD5 hashes) and
	// USE_RECIPIENT_ID (match on the unique recipient id).
	DoubleOptIn    bool
	EncodedAsMD5   bool
	UseRecipientID bool
	// Consent is the CONSENT element, nil when absent.
	Consent *Consent
	// SyncFields are the SYNC_FIELDS/SYNC_FIELD/NAME values (Acoustic
	// column names).
	SyncFields []string
	// Columns are COLUMNS/COLUMN: the database columns to create.
	Columns []Column
	// Mapping is MAPPING/COLUMN: which file column goes to which database
	// column, in file order.
	Mapping []MappedColumn
	// ContactLists are the CONTACT_LISTS/CONTACT_LIST_ID values.
	ContactLists []string

	// Warnings name, once each, what the file says that Intake reads and
	// does not act on (LIST_VISIBILITY, DOUBLE_OPT_IN, …), what it lacks
	// that Acoustic needs and Intake does not (LIST_ID: the host chooses
	// the store), and what Intake chose where the file is silent (the key
	// of an update without SYNC_FIELDS). Load sets them; they never stop a
	// job. See the package documentation's table.
	Warnings []Warning

	// StrictTypes is not an element of the file: set it before
	// [Map.JobSpec] or [Map.MappingSpec] to reject the rows whose cells do
	// not parse as their column's TYPE (invalid_decimal, invalid_select,
	// …). Acoustic does not validate data against column types; by
	// default neither does a map's job: such a cell leaves its field empty
	// and is reported as a warning of the run (mapping.Column.Invalid
	// "empty"). EMAIL, RECIPIENT_ID and the consent columns are always
	// checked.
	StrictTypes bool
}

// Warning is one thing of a mapping file that Intake reads and does not
// act on as Acoustic would, with where it is.
type Warning struct {
	Line    int    `json:"line"`            // the element's line
	Element string `json:"element"`         // its path, e.g. "LIST_INFO/LIST_VISIBILITY"
	Value   string `json:"value,omitempty"` // its value, when it has one
	Message string `json:"message"`         // what Intake does instead
}

// String returns `line N: ELEMENT "VALUE": MESSAGE`.
func (w Warning) String() string {
	v := ""
	if w.Value != "" {
		v = fmt.Sprintf(" %q", w.Value)
	}
	return fmt.Sprintf("line %d: %s%s: %s", w.Line, w.Element, v, w.Message)
}

// Consent is the CONSENT element of a flexible database's import.
type Consent struct {
	Channel             string // CHANNEL ("SMS")
	TextToJoinProgramID string // TEXT_TO_JOIN_PROGRAM_ID
	// HonorOptOutStatus: true (or blank) leaves an opted-out contact
	// opted out; false (or absent) takes the file's status, also turning
	// an opted-out contact back to opted in (identity.Channel's
	// AllowResubscribe).
	HonorOptOutStatus bool
	// OverrideOnNoChange: true replaces consent date and source even when
	// the status is unchanged; blank or absent is false.
	OverrideOnNoChange bool
}

// Column is one COLUMNS/COLUMN element.
type Column struct {
	Name string // NAME, case-sensitive
	// Type is the TYPE code and FieldType the intake type it stands for:
	// 0 text, 1 bool, 2 decimal, 3 date, 4 time, 5 country, 6 select,
	// 8 select (segmenting), 9 email (system), 15 and 16 phone,
	// 17 timestamp, 20 multiselect.
	Type      int
	FieldType intake.FieldType
	Required  bool     // IS_REQUIRED: a web-form setting, kept as field metadata
	Key       bool     // KEY_COLUMN
	Default   string   // DEFAULT_VALUE (dates in mm/dd/yyyy): kept as field metadata
	Options   []string // SELECTION_VALUES/VALUE
	Line      int      // where the element starts, for messages
}

// MappedColumn is one MAPPING/COLUMN element.
type MappedColumn struct {
	Index     int    // INDEX: the 1-based column of the source file
	Name      string // NAME: a COLUMNS name or a system name (EMAIL, OPTED_OUT, …)
	Include   bool   // INCLUDE; true when absent
	IsConsent bool   // IS_CONSENT
	Line      int
}

// acousticTypes maps Acoustic's column TYPE codes to field types.
var acousticTypes = map[int]intake.FieldType{
	0: intake.TypeText, 1: intake.TypeBool, 2: intake.TypeDecimal, 3: intake.TypeDate, 4: intake.TypeTime,
	5: intake.TypeCountry, 6: intake.TypeSelect, 8: intake.TypeSelect, 9: intake.TypeEmail, 15: intake.TypePhone,
	16: intake.TypePhone, 17: intake.TypeTimestamp, 20: intake.TypeMultiSelect,
}

// acousticSystem are the system column names a MAPPING may use without a
// COLUMNS entry, with their field types.
var acousticSystem = map[string]intake.FieldType{
	"EMAIL": intake.TypeEmail, "EMAIL_TYPE": intake.TypeText, "CREATED_FROM": intake.TypeText, "OPTED_IN": intake.TypeText,
	"OPT_IN_DETAILS": intake.TypeText, "OPTED_OUT": intake.TypeText, "CONSENT_DATE": intake.TypeTimestamp,
	"CONSENT_SOURCE": intake.TypeText, "CONSENT_STATUS_CODE": intake.TypeSelect, "RECIPIENT_ID": intake.TypeID,
}

// systemFields are the field names of the system columns whose name alone
// would clash with what Intake keeps of every record (an export's
// "opted_out") or say less than the column holds.
var systemFields = map[string]string{"OPTED_IN": "opted_in_date", "OPTED_OUT": "opted_out_date"}

// consentColumns are the system columns that exist only with CONSENT.
var consentColumns = []string{"CONSENT_STATUS_CODE", "CONSENT_DATE", "CONSENT_SOURCE"}

// defaultDate is the pattern of DEFAULT_VALUE dates: Acoustic's mm/dd/yyyy.
var defaultDate = mustDatePattern("MM/dd/yyyy")

func mustDatePattern(src string) *mapping.DatePattern {
	p, err := mapping.CompileDatePattern(src)
	if err != nil {
		panic(err)
	}
	return p
}

// xnode is an element of the parsed file.
type xnode struct {
	name string
	line int
	text strings.Builder
	kids []*xnode
}

func (n *xnode) value() string { return strings.TrimSpace(n.text.String()) }

// Load reads an Acoustic Campaign ImportList mapping file (XML,
// root LIST_IMPORT; see the element reference in the package
// documentation) and checks it. The XML is read strictly with
// encoding/xml: no DTD entities are expanded, UTF-8, ISO-8859-1 and
// windows-1252 are accepted, and files larger than [MaxMapBytes] are
// rejected. Element names and column names are case-sensitive, as in
// Acoustic.
//
// A map that Intake cannot run as its author meant is rejected with every
// problem at once ([errors.Join]), each naming the element, its line and
// its value; what Intake reads and does not act on is returned in
// [Map].Warnings. The package documentation lists which element is which.
//
// Booleans are true/false, yes/no or 1/0 in any case; an empty flag
// element (<HASHEADERS/>) is true, except OVERRIDE_ON_NO_CHANGE (false),
// as Acoustic documents.
func Load(r io.Reader) (*Map, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxMapBytes+1))
	if err != nil {
		return nil, fmt.Errorf("acoustic: reading the mapping file: %w", err)
	}
	if len(data) > MaxMapBytes {
		return nil, fmt.Errorf("acoustic: the mapping file is larger than %d bytes", MaxMapBytes)
	}
	root, err := parseXMLTree(data)
	if err != nil {
		return nil, err
	}
	l := &loader{a: &Map{HasHeaders: true}}
	l.load(root)
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return l.a, nil
}

func parseXMLTree(data []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "iso-8859-1", "iso8859-1", "latin1", "latin-1":
			return charmap.ISO8859_1.NewDecoder().Reader(in), nil
		case "windows-1252", "cp1252":
			return charmap.Windows1252.NewDecoder().Reader(in), nil
		}
		return nil, fmt.Errorf("encoding %q is not supported: use UTF-8 or ISO-8859-1", label)
	}
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("acoustic: line %d: XML syntax error: %s", se.Line, se.Msg)
			}
			line, _ := d.InputPos()
			return nil, fmt.Errorf("acoustic: line %d: %v", line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := d.InputPos()
			if len(stack) >= 8 {
				return nil, fmt.Errorf("acoustic: line %d: <%s> is nested too deeply", line, t.Name.Local)
			}
			n := &xnode{name: t.Name.Local, line: line}
			if t.Name.Space != "" {
				n.name = t.Name.Space + ":" + t.Name.Local
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("acoustic: line %d: a second root element <%s>", line, n.name)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("acoustic: line %d: text outside the root element", line)
			}
		}
	}
	if root == nil {
		return nil, errors.New("acoustic: the mapping file is empty: want a <LIST_IMPORT> document")
	}
	if root.name != "LIST_IMPORT" {
		return nil, fmt.Errorf("acoustic: line %d: the root element is <%s>, want <LIST_IMPORT>", root.line, root.name)
	}
	return root, nil
}

// loader reads a mapping file's tree into a Map, collecting every problem.
// Its phases (see load) share the root, its children and what an earlier
// phase learnt: the declared columns and the mapped names.
type loader struct {
	a    *Map
	errs []error

	root       *xnode
	top        map[string][]*xnode // LIST_IMPORT's children
	hasColumns bool                // the file declares COLUMNS
	colByName  map[string]*Column  // the declared columns, by NAME
	mapped     map[string]bool     // the names MAPPING includes
}

func (l *loader) fail(n *xnode, path, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("acoustic: line %d: %s: %s", n.line, path, fmt.Sprintf(format, args...)))
}

// warn records a warning on element path of node n, once per element.
func (l *loader) warn(n *xnode, path, value, msg string) {
	for _, w := range l.a.Warnings {
		if w.Element == path && w.Line == n.line {
			return
		}
	}
	l.a.Warnings = append(l.a.Warnings, Warning{Line: n.line, Element: path, Value: value, Message: msg})
}

// children indexes n's child elements, reporting unknown ones and ones
// repeated that may appear once. many names the repeatable ones.
func (l *loader) children(n *xnode, path string, once []string, many ...string) map[string][]*xnode {
	m := map[string][]*xnode{}
	for _, k := range n.kids {
		switch {
		case slices.Contains(once, k.name):
			if len(m[k.name]) == 1 {
				l.fail(k, path+"/"+k.name, "repeated (first on line %d): give it once", m[k.name][0].line)
				continue
			}
		case slices.Contains(many, k.name):
		default:
			all := append(append([]string(nil), once...), many...)
			hint := ""
			if c := mapping.Closest(k.name, all, 0.8); c != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", c)
			}
			l.fail(k, path+"/"+k.name, "unknown element%s; %s takes %s", hint, path, strings.Join(all, ", "))
			continue
		}
		m[k.name] = append(m[k.name], k)
	}
	return m
}

func (l *loader) text(m map[string][]*xnode, name string) (string, *xnode) {
	if ns := m[name]; len(ns) > 0 {
		return ns[0].value(), ns[0]
	}
	return "", nil
}

// flag reads a boolean element; def is its value when absent, empty its
// value when empty.
func (l *loader) flag(m map[string][]*xnode, path, name string, def, empty bool) bool {
	v, n := l.text(m, name)
	if n == nil {
		return def
	}
	switch strings.ToLower(v) {
	case "":
		return empty
	case "true", "yes", "1", "y":
		return true
	case "false", "no", "0", "n":
		return false
	}
	l.fail(n, path+"/"+name, "%q is not a boolean: use true or false", v)
	return def
}

// number reads an integer element among allowed values (nil: any >= min).
func (l *loader) number(m map[string][]*xnode, path, name string, def int, allowed []int, min int) int {
	v, n := l.text(m, name)
	if n == nil || v == "" {
		return def
	}
	i, err := strconv.Atoi(v)
	switch {
	case err != nil:
		l.fail(n, path+"/"+name, "%q is not a whole number", v)
	case allowed != nil && !slices.Contains(allowed, i):
		l.fail(n, path+"/"+name, "%q is not one of %s", v, joinInts(allowed))
	case allowed == nil && i < min:
		l.fail(n, path+"/"+name, "%q must be at least %d", v, min)
	default:
		return i
	}
	return def
}

func joinInts(list []int) string {
	s := make([]string, len(list))
	for i, n := range list {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// load reads the document under root into l.a, phase by phase in the
// order the checks need: LIST_INFO and the action, CONSENT, COLUMNS (the
// database columns that MAPPING and SYNC_FIELDS name), MAPPING,
// SYNC_FIELDS (which must be mapped), the key the action needs,
// CONTACT_LISTS. Every phase reports its problems through fail (and what
// Intake does not act on through warn) and goes on.
func (l *loader) load(root *xnode) {
	l.root = root
	l.top = l.children(root, "LIST_IMPORT", []string{"LIST_INFO", "CONSENT", "SYNC_FIELDS", "COLUMNS", "MAPPING", "CONTACT_LISTS"})
	l.listInfo()
	l.consent()
	l.columns()
	l.mapping()
	l.fieldNames()
	l.syncFields()
	l.keys()
	l.contactLists()
}

// listInfo reads LIST_INFO: the action, the list, the file's format, and
// what the action requires of them.
func (l *loader) listInfo() {
	a := l.a
	infoNode := l.root
	var info map[string][]*xnode
	if ns := l.top["LIST_INFO"]; len(ns) > 0 {
		infoNode = ns[0]
		info = l.children(infoNode, "LIST_INFO", []string{"ACTION", "LIST_TYPE", "LIST_NAME", "LIST_ID", "LIST_VISIBILITY",
			"PARENT_FOLDER_PATH", "FILE_TYPE", "HASHEADERS", "LIST_DATE_FORMAT", "DOUBLE_OPT_IN", "ENCODED_AS_MD5", "USE_RECIPIENT_ID"})
	} else {
		l.fail(l.root, "LIST_IMPORT/LIST_INFO", "missing: the file needs a <LIST_INFO> with at least an <ACTION>")
		info = map[string][]*xnode{}
	}
	const ip = "LIST_INFO"
	l.action(info, infoNode)
	a.ListType = l.number(info, ip, "LIST_TYPE", 0, []int{0, 6, 13}, 0)
	a.ListName, _ = l.text(info, "LIST_NAME")
	a.ListID, _ = l.text(info, "LIST_ID")
	a.ListVisibility = l.number(info, ip, "LIST_VISIBILITY", 0, []int{0, 1}, 0)
	a.ParentFolderPath, _ = l.text(info, "PARENT_FOLDER_PATH")
	a.FileType = l.number(info, ip, "FILE_TYPE", 0, []int{0, 1, 2}, 0)
	a.HasHeaders = l.flag(info, ip, "HASHEADERS", true, true)
	a.DoubleOptIn = l.flag(info, ip, "DOUBLE_OPT_IN", false, true)
	a.EncodedAsMD5 = l.flag(info, ip, "ENCODED_AS_MD5", false, true)
	a.UseRecipientID = l.flag(info, ip, "USE_RECIPIENT_ID", false, true)
	var dfNode *xnode
	a.DateFormat, dfNode = l.text(info, "LIST_DATE_FORMAT")
	if dfNode != nil {
		if _, err := acousticDatePattern(a.DateFormat); err != nil {
			l.fail(dfNode, ip+"/LIST_DATE_FORMAT", "%q: %v", a.DateFormat, err)
		}
	}
	l.listWarnings(info, infoNode)
}

// listWarnings names the LIST_INFO elements that have no effect in
// Intake, and the list elements an action lacks that Intake does not need.
func (l *loader) listWarnings(info map[string][]*xnode, infoNode *xnode) {
	a := l.a
	const ip = "LIST_INFO"
	if v, n := l.text(info, "LIST_TYPE"); n != nil {
		l.warn(n, ip+"/LIST_TYPE", v, "no effect: Intake imports into the store the job runs against; it has no seed or suppression lists")
	}
	if v, n := l.text(info, "LIST_VISIBILITY"); n != nil {
		l.warn(n, ip+"/LIST_VISIBILITY", v, "no effect: who sees the imported records is the host's to decide")
	}
	if v, n := l.text(info, "PARENT_FOLDER_PATH"); n != nil {
		l.warn(n, ip+"/PARENT_FOLDER_PATH", v, "no effect: Intake's stores have no folders")
	}
	if v, n := l.text(info, "DOUBLE_OPT_IN"); n != nil && a.DoubleOptIn {
		l.warn(n, ip+"/DOUBLE_OPT_IN", v, "no effect: Intake sends no confirmation e-mail; the contacts are imported with the consent the file gives")
	}
	switch a.Action {
	case intake.ActionCreate:
		if a.ListName == "" {
			l.warn(infoNode, ip+"/LIST_NAME", "", "missing: Acoustic names the new database with it; Intake names the job after the source file")
		}
		if v, n := l.text(info, "LIST_ID"); n != nil {
			l.warn(n, ip+"/LIST_ID", v, "no effect on CREATE: the records go to the store the job runs against")
		}
		if len(l.top["COLUMNS"]) == 0 {
			l.warn(l.root, "LIST_IMPORT/COLUMNS", "", "missing: Acoustic needs the new database's COLUMNS; Intake imports every mapped column as text")
		}
	case "":
	default:
		if a.ListID == "" {
			l.warn(infoNode, ip+"/LIST_ID", "", "missing: Intake imports into the store the job runs against (the host chooses it), so no list id is needed")
		}
	}
}

// action reads LIST_INFO/ACTION, which Acoustic writes in upper case.
func (l *loader) action(info map[string][]*xnode, infoNode *xnode) {
	const path = "LIST_INFO/ACTION"
	name, n := l.text(info, "ACTION")
	switch {
	case n == nil || name == "":
		if len(l.top["LIST_INFO"]) > 0 {
			l.fail(infoNode, path, "missing: set CREATE, ADD_ONLY, UPDATE_ONLY, ADD_AND_UPDATE or OPT_OUT")
		}
	case strings.ToUpper(name) != name:
		l.fail(n, path, "%q: write the action in upper case (%s)", name, strings.ToUpper(name))
	default:
		act, err := intake.ParseAction(name)
		if err != nil {
			l.fail(n, path, "%q is not an action: use CREATE, ADD_ONLY, UPDATE_ONLY, ADD_AND_UPDATE or OPT_OUT", name)
		} else {
			l.a.Action = act
		}
	}
}

// consent reads CONSENT.
func (l *loader) consent() {
	ns := l.top["CONSENT"]
	if len(ns) == 0 {
		return
	}
	c := l.children(ns[0], "CONSENT", []string{"CHANNEL", "TEXT_TO_JOIN_PROGRAM_ID", "HONOR_OPT_OUT_STATUS", "OVERRIDE_ON_NO_CHANGE"})
	a := l.a
	a.Consent = &Consent{}
	a.Consent.Channel, _ = l.text(c, "CHANNEL")
	a.Consent.TextToJoinProgramID, _ = l.text(c, "TEXT_TO_JOIN_PROGRAM_ID")
	a.Consent.HonorOptOutStatus = l.flag(c, "CONSENT", "HONOR_OPT_OUT_STATUS", false, true)
	a.Consent.OverrideOnNoChange = l.flag(c, "CONSENT", "OVERRIDE_ON_NO_CHANGE", false, false)
	if v, n := l.text(c, "TEXT_TO_JOIN_PROGRAM_ID"); n != nil {
		l.warn(n, "CONSENT/TEXT_TO_JOIN_PROGRAM_ID", v, "no effect: Intake runs no text-to-join programs; the consent columns are imported as the file gives them")
	}
	if _, n := l.text(c, "HONOR_OPT_OUT_STATUS"); n == nil {
		l.warn(ns[0], "CONSENT/HONOR_OPT_OUT_STATUS", "", "missing: read as false, as Acoustic documents: the file's consent status replaces an opted-out contact's")
	}
}

// columns reads COLUMNS, each name declared once, and indexes them by name
// for the phases that refer to them.
func (l *loader) columns() {
	l.colByName = map[string]*Column{}
	l.hasColumns = len(l.top["COLUMNS"]) > 0
	if l.hasColumns {
		for _, cn := range l.children(l.top["COLUMNS"][0], "COLUMNS", nil, "COLUMN")["COLUMN"] {
			col, where := l.column(cn)
			if col.Name != "" {
				if prev, dup := l.colByName[col.Name]; dup {
					l.fail(cn, where, "declared twice (first on line %d)", prev.Line)
					continue
				}
			}
			l.a.Columns = append(l.a.Columns, col)
			if col.Name != "" {
				l.colByName[col.Name] = &l.a.Columns[len(l.a.Columns)-1]
			}
		}
	}
	// Re-point colByName at the final slice (appends may have moved it).
	for i := range l.a.Columns {
		l.colByName[l.a.Columns[i].Name] = &l.a.Columns[i]
	}
}

// column reads one COLUMNS/COLUMN; where names it in messages.
func (l *loader) column(cn *xnode) (col Column, where string) {
	const cp = "COLUMNS/COLUMN"
	m := l.children(cn, cp, []string{"NAME", "TYPE", "IS_REQUIRED", "KEY_COLUMN", "DEFAULT_VALUE", "SELECTION_VALUES"})
	col = Column{Line: cn.line}
	col.Name, _ = l.text(m, "NAME")
	where = cp
	if col.Name == "" {
		l.fail(cn, cp+"/NAME", "missing: every column needs a NAME")
	} else {
		where = fmt.Sprintf("%s %q", cp, col.Name)
	}
	l.columnType(m, cn, &col, where)
	col.Required = l.flag(m, where, "IS_REQUIRED", false, true)
	col.Key = l.flag(m, where, "KEY_COLUMN", false, true)
	col.Default, _ = l.text(m, "DEFAULT_VALUE")
	if sv := m["SELECTION_VALUES"]; len(sv) > 0 {
		for _, vn := range l.children(sv[0], where+"/SELECTION_VALUES", nil, "VALUE")["VALUE"] {
			col.Options = append(col.Options, vn.value())
		}
		if col.FieldType != intake.TypeSelect && col.FieldType != intake.TypeMultiSelect && col.FieldType != intake.TypeInvalid {
			l.warn(sv[0], where+"/SELECTION_VALUES", "", fmt.Sprintf("ignored: they apply to TYPE 6, 8 and 20 (select), and the column is TYPE %d", col.Type))
			col.Options = nil
		}
	}
	if col.Default != "" && col.FieldType == intake.TypeDate {
		if _, ok := defaultDate.Parse(col.Default); !ok {
			l.warn(cn, where+"/DEFAULT_VALUE", col.Default, "not a date in Acoustic's mm/dd/yyyy: kept as written in the field's metadata")
		}
	}
	return col, where
}

// columnType reads a column's TYPE. TYPE 9 ("system") is EMAIL's and
// RECIPIENT_ID's: an email address and a record id.
func (l *loader) columnType(m map[string][]*xnode, cn *xnode, col *Column, where string) {
	tv, tn := l.text(m, "TYPE")
	if tn == nil || tv == "" {
		l.fail(cn, where+"/TYPE", "missing: set the column's type code (0 text, 1 yes/no, 2 numeric, 3 date, …)")
		return
	}
	code, err := strconv.Atoi(tv)
	ft, ok := acousticTypes[code]
	if err != nil || !ok {
		l.fail(tn, where+"/TYPE", "%q is not a known type code (use 0, 1, 2, 3, 4, 5, 6, 8, 9, 15, 16, 17 or 20)", tv)
		return
	}
	if code == 9 {
		switch col.Name {
		case "EMAIL":
		case "RECIPIENT_ID":
			ft = intake.TypeID
		default:
			ft = intake.TypeText
			l.warn(tn, where+"/TYPE", tv, "TYPE 9 (system) is EMAIL's and RECIPIENT_ID's: this column is read as text")
		}
	}
	col.Type, col.FieldType = code, ft
}

// known reports whether a MAPPING or SYNC_FIELDS name is a declared column
// or a system name. Only CREATE declares every column of its database:
// the COLUMNS of another action add columns to a database whose others
// the map does not list, so any name is known there.
func (l *loader) known(name string) bool {
	switch {
	case !l.hasColumns, l.colByName[name] != nil, acousticSystem[name] != 0:
		return true
	case l.a.Action != intake.ActionCreate:
		return !l.caseVariant(name)
	}
	return false
}

// caseVariant reports whether name differs from a declared column or a
// system name in case only: a mistake, since names are case-sensitive.
func (l *loader) caseVariant(name string) bool {
	for n := range l.colByName {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	for n := range acousticSystem {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// hint suggests the column an unknown name may mean: one that differs in
// case only, a system name, or one that is close.
func (l *loader) hint(name string) string {
	names := slices.Sorted(maps.Keys(l.colByName))
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return fmt.Sprintf(" (names are case-sensitive: the column is %q)", n)
		}
	}
	for n := range acousticSystem {
		if strings.EqualFold(n, name) {
			return fmt.Sprintf(" (system names are upper case: %s)", n)
		}
	}
	if c := mapping.Closest(name, names, 0.8); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// mapping reads MAPPING: each file column (INDEX) and each database column
// mapped once. It records which names are mapped, for syncFields.
func (l *loader) mapping() {
	if ns := l.top["MAPPING"]; len(ns) > 0 {
		byIndex := map[int]*MappedColumn{}
		byName := map[string]*MappedColumn{}
		for _, mn := range l.children(ns[0], "MAPPING", nil, "COLUMN")["COLUMN"] {
			mc, where := l.mappedColumn(mn)
			if mc.Index > 0 {
				if prev, dup := byIndex[mc.Index]; dup {
					l.fail(mn, where+"/INDEX", "column %d is mapped twice (also to %q on line %d)", mc.Index, prev.Name, prev.Line)
				} else {
					byIndex[mc.Index] = &mc
				}
			}
			if mc.Name != "" && mc.Include {
				if prev, dup := byName[mc.Name]; dup {
					l.fail(mn, where, "%q is mapped twice (also from column %d on line %d)", mc.Name, prev.Index, prev.Line)
				} else {
					byName[mc.Name] = &mc
				}
			}
			l.a.Mapping = append(l.a.Mapping, mc)
		}
	} else {
		l.fail(l.root, "LIST_IMPORT/MAPPING", "missing: map at least one file column to a database column")
	}
	l.mapped = map[string]bool{}
	for _, m := range l.a.Mapping {
		if m.Include {
			l.mapped[m.Name] = true
		}
	}
}

// mappedColumn reads one MAPPING/COLUMN; where names it in messages.
func (l *loader) mappedColumn(mn *xnode) (mc MappedColumn, where string) {
	const mp = "MAPPING/COLUMN"
	m := l.children(mn, mp, []string{"INDEX", "NAME", "INCLUDE", "IS_CONSENT"})
	mc = MappedColumn{Line: mn.line}
	mc.Name, _ = l.text(m, "NAME")
	where = mp
	if mc.Name != "" {
		where = fmt.Sprintf("%s %q", mp, mc.Name)
	}
	iv, in := l.text(m, "INDEX")
	if in == nil || iv == "" {
		l.fail(mn, where+"/INDEX", "missing: give the 1-based position of the column in the source file")
	} else if i, err := strconv.Atoi(iv); err != nil || i < 1 {
		l.fail(in, where+"/INDEX", "%q is not a 1-based column position", iv)
	} else {
		mc.Index = i
	}
	mc.Include = l.flag(m, where, "INCLUDE", true, true)
	mc.IsConsent = l.flag(m, where, "IS_CONSENT", false, true)
	switch {
	case mc.Name == "":
		l.fail(mn, mp+"/NAME", "missing: name the database column this file column goes to")
	case !mc.Include:
	case !l.known(mc.Name):
		l.fail(mn, where+"/NAME", "%q matches no COLUMNS/COLUMN NAME and no system name%s", mc.Name, l.hint(mc.Name))
	case slices.Contains(consentColumns, mc.Name) && l.a.Consent == nil && l.colByName[mc.Name] == nil:
		l.fail(mn, where+"/NAME", "%s is a consent column: add a <CONSENT> element naming its channel (CHANNEL SMS, or blank for e-mail)", mc.Name)
	case systemFields[mc.Name] != "" && l.colByName[mc.Name] == nil:
		l.warn(mn, where+"/NAME", mc.Name, fmt.Sprintf("kept as field %s; it does not change the contact's opt-in or opt-out status (ACTION OPT_OUT and the CONSENT columns do)", systemFields[mc.Name]))
	}
	if mc.IsConsent && l.a.Consent == nil {
		l.warn(mn, where+"/IS_CONSENT", "true", "no effect without a <CONSENT> element")
	}
	return mc, where
}

// fieldNames checks that no two columns become one field (Acoustic's
// names are case-sensitive, field names are not: "City" and "CITY"), and
// names the column settings that a field of the contact schema does not
// take.
func (l *loader) fieldNames() {
	a := l.a
	type use struct {
		name string
		line int
	}
	byField := map[string]use{}
	check := func(name string, line int, path string) {
		f := a.FieldName(name)
		if prev, ok := byField[f]; ok && prev.name != name {
			l.fail(at(line), path, "%q and %q (line %d) both become field %q: rename one", name, prev.name, prev.line, f)
			return
		}
		if _, ok := byField[f]; !ok {
			byField[f] = use{name, line}
		}
	}
	for _, c := range a.Columns {
		if c.Name != "" && c.Name != "RECIPIENT_ID" {
			check(c.Name, c.Line, fmt.Sprintf("COLUMNS/COLUMN %q", c.Name))
		}
	}
	for _, m := range a.Mapping {
		if m.Include && m.Name != "" && l.known(m.Name) {
			check(m.Name, m.Line, fmt.Sprintf("MAPPING/COLUMN %q", m.Name))
		}
	}
	contact := intake.ContactSchema()
	for _, c := range a.Columns {
		if contact.Index(a.FieldName(c.Name)) < 0 {
			continue
		}
		where := fmt.Sprintf("COLUMNS/COLUMN %q", c.Name)
		msg := fmt.Sprintf("kept in the map only: %s is the contact schema's own field %s, which a map does not redefine", c.Name, a.FieldName(c.Name))
		if c.Required {
			l.warn(at(c.Line), where+"/IS_REQUIRED", "true", msg)
		}
		if c.Default != "" {
			l.warn(at(c.Line), where+"/DEFAULT_VALUE", c.Default, msg)
		}
	}
}

// syncFields reads SYNC_FIELDS, each a mapped column named once.
func (l *loader) syncFields() {
	a := l.a
	ns := l.top["SYNC_FIELDS"]
	if len(ns) == 0 {
		return
	}
	const sp = "SYNC_FIELDS/SYNC_FIELD/NAME"
	for _, sn := range l.children(ns[0], "SYNC_FIELDS", nil, "SYNC_FIELD")["SYNC_FIELD"] {
		m := l.children(sn, "SYNC_FIELDS/SYNC_FIELD", []string{"NAME"})
		name, _ := l.text(m, "NAME")
		switch {
		case name == "":
			l.fail(sn, sp, "missing: name a mapped column")
		case slices.Contains(a.SyncFields, name):
			l.fail(sn, sp, "%q is named twice", name)
		case !l.known(name):
			l.fail(sn, sp, "%q matches no COLUMNS/COLUMN NAME and no system name%s", name, l.hint(name))
		case len(a.Mapping) > 0 && !l.mapped[name]:
			l.fail(sn, sp, "%q is not mapped: add a MAPPING/COLUMN for it", name)
			a.SyncFields = append(a.SyncFields, name)
		default:
			a.SyncFields = append(a.SyncFields, name)
		}
	}
	if len(a.SyncFields) == 0 && len(l.errs) == 0 {
		l.fail(ns[0], "SYNC_FIELDS", "empty: name the columns that identify a contact, or leave SYNC_FIELDS out")
	}
}

// keys checks that the file gives its action a key Intake can match on,
// and names the key Intake chose where the file gives none (see
// [Map.Rules]).
func (l *loader) keys() {
	a := l.a
	if a.UseRecipientID && len(a.Mapping) > 0 && !l.mapped["RECIPIENT_ID"] {
		l.fail(l.infoNode(), "LIST_INFO/USE_RECIPIENT_ID", "true, and no MAPPING/COLUMN is RECIPIENT_ID: map the column that holds the recipient ids to RECIPIENT_ID")
	}
	for _, c := range a.Columns {
		switch {
		case !c.Key:
		case len(a.SyncFields) > 0:
			l.warn(at(c.Line), fmt.Sprintf("COLUMNS/COLUMN %q/KEY_COLUMN", c.Name), "true", "no effect: the SYNC_FIELDS identify a contact, and Intake keeps one key per import")
		case c.Name != "RECIPIENT_ID" && len(a.Mapping) > 0 && !l.mapped[c.Name]:
			l.warn(at(c.Line), fmt.Sprintf("COLUMNS/COLUMN %q/KEY_COLUMN", c.Name), "true", "the column is not mapped, so it is not part of the key Intake matches on")
		}
	}
	if a.EncodedAsMD5 {
		if len(a.Mapping) > 0 && !l.mapped["EMAIL"] {
			l.warn(l.infoNode(), "LIST_INFO/ENCODED_AS_MD5", "true", "no effect: no MAPPING/COLUMN is EMAIL")
		}
		if f := a.keyFields(); len(f) > 1 && slices.Contains(f, "EMAIL") {
			l.fail(l.infoNode(), "LIST_INFO/ENCODED_AS_MD5", "true: an MD5 digest matches on EMAIL alone, and the key is %s: make EMAIL the only sync field", strings.Join(f, " + "))
		}
	}
	switch a.Action {
	case intake.ActionUpdateOnly, intake.ActionAddAndUpdate, intake.ActionOptOut:
	default:
		return
	}
	if len(a.keyFields()) > 0 || a.UseRecipientID {
		return
	}
	if l.mapped["EMAIL"] {
		l.warn(l.root, "LIST_IMPORT/SYNC_FIELDS", "", fmt.Sprintf("missing: %s matches contacts on EMAIL, the key of a database that is not flexible", strings.ToUpper(string(a.Action))))
		return
	}
	l.fail(l.root, "LIST_IMPORT/SYNC_FIELDS", "missing: %s finds contacts by SYNC_FIELDS, a KEY_COLUMN, USE_RECIPIENT_ID or a mapped EMAIL column, and the file has none", strings.ToUpper(string(a.Action)))
}

// infoNode returns LIST_INFO, or the root without one, for messages.
func (l *loader) infoNode() *xnode {
	if ns := l.top["LIST_INFO"]; len(ns) > 0 {
		return ns[0]
	}
	return l.root
}

// at returns a node on line, for the messages of a phase that works on
// what an earlier phase read (a Column, a MappedColumn) rather than on
// the document's nodes.
func at(line int) *xnode { return &xnode{line: line} }

// contactLists reads CONTACT_LISTS, which OPT_OUT cannot have.
func (l *loader) contactLists() {
	ns := l.top["CONTACT_LISTS"]
	if len(ns) == 0 {
		return
	}
	for _, cn := range l.children(ns[0], "CONTACT_LISTS", nil, "CONTACT_LIST_ID")["CONTACT_LIST_ID"] {
		if v := cn.value(); v != "" {
			l.a.ContactLists = append(l.a.ContactLists, v)
		} else {
			l.fail(cn, "CONTACT_LISTS/CONTACT_LIST_ID", "empty: give the contact list's id")
		}
	}
	if l.a.Action == intake.ActionOptOut {
		l.fail(ns[0], "LIST_IMPORT/CONTACT_LISTS", "OPT_OUT does not add contacts to contact lists: drop CONTACT_LISTS")
	}
}

// DelimiterName returns the connector's name of the file's delimiter:
// "comma" (FILE_TYPE 0), "tab" (1) or "pipe" (2).
func (a *Map) DelimiterName() string {
	switch a.FileType {
	case 1:
		return "tab"
	case 2:
		return "pipe"
	}
	return "comma"
}

// DatePattern returns LIST_DATE_FORMAT as an LDML pattern for a [mapping.Column]
// format: Acoustic's month letters (M or m: MM, M, MMM, MMMM), day (d or
// D: dd, d) and year (y or Y: yyyy, yy), with its separators. The default,
// when the element is absent, is Acoustic's mm/dd/yyyy: "MM/dd/yyyy"
// (lower-case mm is the month: Acoustic's dates have no minutes).
func (a *Map) DatePattern() string {
	p, err := acousticDatePattern(a.DateFormat)
	if err != nil {
		return "MM/dd/yyyy"
	}
	return p
}

// acousticDatePattern converts a LIST_DATE_FORMAT into an LDML date
// pattern and checks it.
func acousticDatePattern(f string) (string, error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return "MM/dd/yyyy", nil
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		switch c := f[i]; c {
		case 'm', 'M':
			b.WriteByte('M')
		case 'd', 'D':
			b.WriteByte('d')
		case 'y', 'Y':
			b.WriteByte('y')
		case '.', ',', '?', ' ', '/', '-':
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("%q is not allowed: use month (MM, M, MMM, MMMM), day (dd, d), year (yyyy, yy) and the separators . , ? / - and space", string(c))
		}
	}
	p := b.String()
	if strings.Contains(p, "?") {
		p = strings.ReplaceAll(p, "?", "'?'")
	}
	if _, err := mapping.CompileDatePattern(p); err != nil {
		return "", err
	}
	return p, nil
}

// FieldName returns the intake field name for an Acoustic column name:
// lower case, accents removed, every run of other characters replaced by
// "_" ("First Name" → "first_name", "EMAIL" → "email", "Zip/Postal" →
// "zip_postal"), prefixed with "f_" when it would not start with a letter,
// at most 63 bytes. With ENCODED_AS_MD5 the EMAIL column becomes
// "email_md5", an id field, since it holds hashes, not addresses. The
// system columns OPTED_IN and OPTED_OUT become "opted_in_date" and
// "opted_out_date", and other columns that would become "opted_out" or
// "inactive" take the prefix "f_" (an export writes the record's status
// under those names); with CONSENT the consent columns become the
// channel's fields.
func (a *Map) FieldName(name string) string {
	if a.EncodedAsMD5 && name == "EMAIL" {
		return "email_md5"
	}
	if f := systemFields[name]; f != "" {
		return f
	}
	if f := acousticFieldName(name); f == "opted_out" || f == "inactive" {
		return "f_" + f // an export writes the record's status under these names
	}
	if ch := a.Channel(); ch != nil {
		switch name {
		case "CONSENT_STATUS_CODE":
			return ch.Name + "_consent"
		case "CONSENT_DATE":
			return ch.Name + "_consent_date"
		case "CONSENT_SOURCE":
			return ch.Name + "_consent_source"
		}
	}
	return acousticFieldName(name)
}

// Channel returns the consent channel of the CONSENT element, nil without
// one: CHANNEL lower-cased ("sms"; "email" when blank), OVERRIDE_ON_NO_CHANGE,
// and CONSENT_SOURCE's default "List Import". The columns
// CONSENT_STATUS_CODE, CONSENT_DATE and CONSENT_SOURCE map to its fields
// (NAME_consent, NAME_consent_date, NAME_consent_source; see
// identity.Channel). HONOR_OPT_OUT_STATUS true or blank leaves an
// opted-out contact opted out; false or missing takes the file's status,
// as Acoustic documents: AllowResubscribe.
func (a *Map) Channel() *identity.Channel {
	if a.Consent == nil {
		return nil
	}
	name := strings.ToLower(strings.TrimSpace(a.Consent.Channel))
	if name == "" {
		name = "email"
	}
	return &identity.Channel{Name: acousticFieldName(name), Source: "List Import",
		OverrideOnNoChange: a.Consent.OverrideOnNoChange, AllowResubscribe: !a.Consent.HonorOptOutStatus}
}

func acousticFieldName(name string) string {
	s := norm.NFKD.String(strings.ToLower(name))
	var b strings.Builder
	sep := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
		case r == 'ß':
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteString("ss")
		case unicode.Is(unicode.Mn, r):
		default:
			sep = true
		}
	}
	out := b.String()
	if out == "" || out[0] < 'a' || out[0] > 'z' {
		out = "f_" + out
	}
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "_")
	}
	return out
}

// Rules returns the identity rules Intake matches rows on, in order:
//
//   - with USE_RECIPIENT_ID, first the RECIPIENT_ID column matched on the
//     store's record id (intake.KeySpec.RecordID, rule "id(recipient_id)");
//   - then SYNC_FIELDS, the columns that together identify a contact;
//   - without them, the mapped KEY_COLUMN columns (RECIPIENT_ID among them
//     is the record id);
//   - without any, for UPDATE_ONLY, ADD_AND_UPDATE and OPT_OUT, the EMAIL
//     column (a database that is not flexible is keyed on it; Load warns).
//
// With ENCODED_AS_MD5 a key of EMAIL matches the MD5 digest of the stored
// emails (rule "md5(email)"). CREATE and ADD_ONLY without SYNC_FIELDS and
// KEY_COLUMNs return nil: every row is a new contact, as in Acoustic.
func (a *Map) Rules() []intake.KeySpec {
	var rules []intake.KeySpec
	if a.UseRecipientID {
		rules = append(rules, intake.KeySpec{Fields: []string{a.FieldName("RECIPIENT_ID")}, RecordID: true})
	}
	fields := a.keyFields()
	if len(fields) == 0 && len(rules) == 0 {
		switch a.Action {
		case intake.ActionUpdateOnly, intake.ActionAddAndUpdate, intake.ActionOptOut:
			if a.mapped("EMAIL") {
				fields = []string{"EMAIL"}
			}
		}
	}
	switch {
	case len(fields) == 0:
	case len(fields) == 1 && fields[0] == "RECIPIENT_ID":
		if !a.UseRecipientID {
			rules = append(rules, intake.KeySpec{Fields: []string{a.FieldName("RECIPIENT_ID")}, RecordID: true})
		}
	case a.EncodedAsMD5 && len(fields) == 1 && fields[0] == "EMAIL":
		rules = append(rules, intake.KeySpec{Fields: []string{"email"}, MD5: true})
	default:
		k := intake.KeySpec{}
		for _, n := range fields {
			k.Fields = append(k.Fields, a.FieldName(n))
		}
		rules = append(rules, k)
	}
	return rules
}

// keyFields returns the Acoustic names of the key's columns: SYNC_FIELDS,
// else the mapped KEY_COLUMN columns.
func (a *Map) keyFields() []string {
	if len(a.SyncFields) > 0 {
		return slices.Clone(a.SyncFields)
	}
	var fields []string
	for _, c := range a.Columns {
		if c.Key && (len(a.Mapping) == 0 || a.mapped(c.Name)) {
			fields = append(fields, c.Name)
		}
	}
	return fields
}

// mapped reports whether a MAPPING column includes the Acoustic column name.
func (a *Map) mapped(name string) bool {
	return slices.ContainsFunc(a.Mapping, func(m MappedColumn) bool { return m.Include && m.Name == name })
}

// MappingSpec returns the mapping spec of the file for a base schema: one column
// per MAPPING/COLUMN, by INDEX (so it works with or without a header),
// in file order; INCLUDE false becomes "skip". An Acoustic column whose
// field name (see [Map.FieldName]) is a field of base maps to it; any
// other becomes a custom field with the column's type (and the options of
// a select), labelled with the Acoustic name. COLUMNS that are not mapped
// are declared too, as Acoustic creates them; RECIPIENT_ID is the record's
// own id and becomes a field only when a MAPPING column fills it.
//
// IS_REQUIRED and DEFAULT_VALUE are a web form's and the send process's
// settings: they are kept as the field's metadata ("acoustic_required":
// "true", "acoustic_default": the value as written; "acoustic_type": the
// TYPE code), never enforced on rows nor written into records. Date
// columns read [Map.DatePattern]; timestamp columns (TYPE 17 and
// CONSENT_DATE) read it followed by "HH:mm:ss", or cut after the minutes
// or the date. Unless StrictTypes is set, a cell that its column's type
// cannot parse leaves the field empty and is reported as a warning
// (mapping.Column.Invalid "empty"), except in the EMAIL, RECIPIENT_ID and
// CONSENT_STATUS_CODE columns, which are always checked.
func (a *Map) MappingSpec(base *intake.Schema) (*mapping.Spec, error) {
	if base == nil {
		return nil, errors.New("acoustic: no base schema: pass intake.ContactSchema() or your own")
	}
	b := specBuilder{a: a, base: base, spec: &mapping.Spec{Version: mapping.SpecVersion},
		cols: map[string]*Column{}, declared: map[string]string{}}
	for i := range a.Columns {
		b.cols[a.Columns[i].Name] = &a.Columns[i]
	}
	mappings := slices.Clone(a.Mapping)
	slices.SortStableFunc(mappings, func(x, y MappedColumn) int { return x.Index - y.Index })
	for _, m := range mappings {
		b.column(m)
	}
	for _, c := range a.Columns {
		if _, ok := b.declared[a.FieldName(c.Name)]; !ok && c.Name != "RECIPIENT_ID" {
			b.declare(c.Name)
		}
	}
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	return b.spec, nil
}

// specBuilder builds [Map.MappingSpec]'s spec: the fields it declares and
// the columns that fill them.
type specBuilder struct {
	a        *Map
	base     *intake.Schema
	spec     *mapping.Spec
	cols     map[string]*Column // COLUMNS by NAME
	declared map[string]string  // field → Acoustic name
	errs     []error
}

// checked are the columns whose cells are always checked against their
// type: they identify a contact or carry its consent.
var checked = []string{"EMAIL", "RECIPIENT_ID", "CONSENT_STATUS_CODE"}

// column adds the spec column of one MAPPING/COLUMN.
func (b *specBuilder) column(m MappedColumn) {
	note := fmt.Sprintf("Acoustic column %q", m.Name)
	if m.IsConsent {
		note += " (consent)"
	}
	if !m.Include {
		b.spec.Columns = append(b.spec.Columns, mapping.Column{Index: m.Index, Skip: true, Note: note})
		return
	}
	t := b.declare(m.Name)
	c := mapping.Column{Index: m.Index, Field: b.a.FieldName(m.Name), Note: note}
	switch t {
	case intake.TypeDate:
		c.Format = b.a.DatePattern()
	case intake.TypeTimestamp:
		c.Format = b.a.DatePattern() + " HH:mm:ss"
	}
	if !b.a.StrictTypes && !slices.Contains(checked, m.Name) {
		c.Invalid = "empty"
	}
	b.spec.Columns = append(b.spec.Columns, c)
}

// declare makes the field of an Acoustic column known: a field of the
// base schema, or a custom field it declares in the spec. It returns the
// field's type.
func (b *specBuilder) declare(name string) intake.FieldType {
	a := b.a
	field := a.FieldName(name)
	if prev, ok := b.declared[field]; ok {
		if prev != name {
			b.errs = append(b.errs, fmt.Errorf("acoustic: columns %q and %q both become field %q: rename one", prev, name, field))
		}
		return b.typeOf(field)
	}
	b.declared[field] = name
	if i := b.base.Index(field); i >= 0 {
		return b.base.Field(i).Type
	}
	// Only CREATE defines its database: the other actions import into
	// one whose columns exist, and a column they declare is added where
	// the store lacks it, never redefined.
	fs := mapping.FieldSpec{Name: field, Type: intake.TypeText, Label: name, IfMissing: a.Action != intake.ActionCreate}
	if c := b.cols[name]; c != nil {
		fs.Type, fs.Options, fs.Meta = c.FieldType, slices.Clone(c.Options), columnMeta(c)
		if c.Type == 8 && len(c.Options) == 0 {
			fs.Type = intake.TypeText
		}
	} else if t, ok := acousticSystem[name]; ok {
		fs.Type = t
		if name == "CONSENT_STATUS_CODE" {
			fs.Options = []string{"OPTED-IN", "OPTED-OUT"}
		}
	}
	if name == "EMAIL" && a.EncodedAsMD5 {
		fs.Type, fs.Label = intake.TypeID, "EMAIL (MD5)"
	}
	if fs.Type == intake.TypeInvalid {
		fs.Type = intake.TypeText
	}
	b.spec.Fields = append(b.spec.Fields, fs)
	return fs.Type
}

// typeOf returns the type of a field declared already.
func (b *specBuilder) typeOf(field string) intake.FieldType {
	if i := b.base.Index(field); i >= 0 {
		return b.base.Field(i).Type
	}
	for _, f := range b.spec.Fields {
		if f.Name == field {
			return f.Type
		}
	}
	return intake.TypeText
}

// columnMeta returns the metadata a COLUMNS/COLUMN leaves on its field.
func columnMeta(c *Column) map[string]string {
	m := map[string]string{"acoustic_type": strconv.Itoa(c.Type)}
	if c.Required {
		m["acoustic_required"] = "true"
	}
	if c.Default != "" {
		m["acoustic_default"] = c.Default
	}
	return m
}
