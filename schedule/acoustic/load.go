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
}

// Consent is the CONSENT element of a flexible database's import.
type Consent struct {
	Channel             string // CHANNEL ("SMS")
	TextToJoinProgramID string // TEXT_TO_JOIN_PROGRAM_ID
	// HonorOptOutStatus: true (or blank) leaves an opted-out contact
	// opted out; false (or absent) takes the file's status.
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
	Required  bool     // IS_REQUIRED
	Key       bool     // KEY_COLUMN
	Default   string   // DEFAULT_VALUE (dates in mm/dd/yyyy)
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
	"OPT_IN_DETAILS": intake.TypeText, "OPTED_OUT": intake.TypeText, "CONSENT_DATE": intake.TypeText,
	"CONSENT_SOURCE": intake.TypeText, "CONSENT_STATUS_CODE": intake.TypeSelect, "RECIPIENT_ID": intake.TypeID,
}

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
// An inconsistent file is rejected with every problem at once
// ([errors.Join]), each naming the element, its line and its value: XML
// syntax errors, unknown or repeated elements, a missing ACTION (LIST_NAME
// for CREATE, LIST_ID for the other actions, SYNC_FIELDS for UPDATE_ONLY,
// ADD_AND_UPDATE and OPT_OUT without USE_RECIPIENT_ID, COLUMNS for
// CREATE), unknown TYPE codes and actions, bad numbers and booleans, a
// MAPPING NAME that matches no COLUMNS NAME or system name, a file column
// (INDEX) or a database column mapped twice, a sync field that is not
// mapped, CONTACT_LISTS with OPT_OUT, and a bad LIST_DATE_FORMAT.
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
// SYNC_FIELDS (which must be mapped), CONTACT_LISTS. Every phase reports
// its problems through fail and goes on.
func (l *loader) load(root *xnode) {
	l.root = root
	l.top = l.children(root, "LIST_IMPORT", []string{"LIST_INFO", "CONSENT", "SYNC_FIELDS", "COLUMNS", "MAPPING", "CONTACT_LISTS"})
	l.listInfo()
	l.consent()
	l.columns()
	l.mapping()
	l.syncFields()
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
	switch a.Action {
	case intake.ActionCreate:
		if a.ListName == "" {
			l.fail(infoNode, ip+"/LIST_NAME", "missing: CREATE needs the name of the new list")
		}
		if len(l.top["COLUMNS"]) == 0 {
			l.fail(l.root, "LIST_IMPORT/COLUMNS", "missing: CREATE needs the COLUMNS of the new database")
		}
	case "":
	default:
		if a.ListID == "" {
			l.fail(infoNode, ip+"/LIST_ID", "missing: %s needs the id of the list to import into", strings.ToUpper(string(a.Action)))
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
	tv, tn := l.text(m, "TYPE")
	switch {
	case tn == nil || tv == "":
		l.fail(cn, where+"/TYPE", "missing: set the column's type code (0 text, 1 yes/no, 2 numeric, 3 date, …)")
	default:
		code, err := strconv.Atoi(tv)
		ft, ok := acousticTypes[code]
		if err != nil || !ok {
			l.fail(tn, where+"/TYPE", "%q is not a known type code (use 0, 1, 2, 3, 4, 5, 6, 8, 9, 15, 16, 17 or 20)", tv)
		} else {
			col.Type, col.FieldType = code, ft
		}
	}
	col.Required = l.flag(m, where, "IS_REQUIRED", false, true)
	col.Key = l.flag(m, where, "KEY_COLUMN", false, true)
	col.Default, _ = l.text(m, "DEFAULT_VALUE")
	if sv := m["SELECTION_VALUES"]; len(sv) > 0 {
		for _, vn := range l.children(sv[0], where+"/SELECTION_VALUES", nil, "VALUE")["VALUE"] {
			col.Options = append(col.Options, vn.value())
		}
		if col.FieldType != intake.TypeSelect && col.FieldType != intake.TypeMultiSelect && col.FieldType != intake.TypeInvalid {
			l.fail(sv[0], where+"/SELECTION_VALUES", "apply to TYPE 6, 8 and 20 (select), not to TYPE %d", col.Type)
		}
	}
	if col.Default != "" && col.FieldType == intake.TypeDate {
		if _, ok := defaultDate.Parse(col.Default); !ok {
			l.fail(cn, where+"/DEFAULT_VALUE", "%q is not a date in Acoustic's mm/dd/yyyy", col.Default)
		}
	}
	return col, where
}

// known reports whether a MAPPING or SYNC_FIELDS name is a declared column
// or a system name; without COLUMNS (a list that exists) any name is.
func (l *loader) known(name string) bool {
	return !l.hasColumns || l.colByName[name] != nil || acousticSystem[name] != 0
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
	if mc.Name == "" {
		l.fail(mn, mp+"/NAME", "missing: name the database column this file column goes to")
	} else if mc.Include && !l.known(mc.Name) {
		l.fail(mn, where+"/NAME", "%q matches no COLUMNS/COLUMN NAME and no system name%s", mc.Name, l.hint(mc.Name))
	}
	return mc, where
}

// syncFields reads SYNC_FIELDS, each a mapped column named once, and
// checks that an action that matches contacts has them.
func (l *loader) syncFields() {
	a := l.a
	if ns := l.top["SYNC_FIELDS"]; len(ns) > 0 {
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
	}
	switch a.Action {
	case intake.ActionUpdateOnly, intake.ActionAddAndUpdate, intake.ActionOptOut:
		if len(a.SyncFields) == 0 && len(l.top["SYNC_FIELDS"]) == 0 && !a.UseRecipientID {
			l.fail(l.root, "LIST_IMPORT/SYNC_FIELDS", "missing: %s needs the SYNC_FIELDS that identify a contact (or USE_RECIPIENT_ID)", strings.ToUpper(string(a.Action)))
		}
	}
}

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
// "email_md5", an id field, since it holds hashes, not addresses.
func (a *Map) FieldName(name string) string {
	if a.EncodedAsMD5 && name == "EMAIL" {
		return "email_md5"
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
// identity.Channel). HONOR_OPT_OUT_STATUS is not carried over: Intake never
// turns an opted-out contact back to opted in unless the host sets
// AllowResubscribe itself.
func (a *Map) Channel() *identity.Channel {
	if a.Consent == nil {
		return nil
	}
	name := strings.ToLower(strings.TrimSpace(a.Consent.Channel))
	if name == "" {
		name = "email"
	}
	return &identity.Channel{Name: acousticFieldName(name), Source: "List Import", OverrideOnNoChange: a.Consent.OverrideOnNoChange}
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

// Key returns the sync key: the fields of SYNC_FIELDS; else, with
// USE_RECIPIENT_ID, recipient_id matched on the store's record id
// (KeySpec.RecordID); else the KEY_COLUMN columns; else email when the
// EMAIL column is mapped; else an empty KeySpec (Acoustic then adds every
// row as a new contact; the host chooses). With ENCODED_AS_MD5 the EMAIL
// column maps to email_md5, and a key on it becomes md5(email): it finds
// the stored records whose email hashes to the file's digest.
func (a *Map) Key() intake.KeySpec {
	k := a.key()
	switch {
	case a.UseRecipientID && len(a.SyncFields) == 0:
		k.RecordID = true
	case a.EncodedAsMD5 && len(k.Fields) == 1 && k.Fields[0] == "email_md5":
		k = intake.KeySpec{Fields: []string{"email"}, MD5: true}
	}
	return k
}

func (a *Map) key() intake.KeySpec {
	var fields []string
	switch {
	case len(a.SyncFields) > 0:
		for _, n := range a.SyncFields {
			fields = append(fields, a.FieldName(n))
		}
	case a.UseRecipientID:
		fields = []string{"recipient_id"}
	default:
		for _, c := range a.Columns {
			if c.Key {
				fields = append(fields, a.FieldName(c.Name))
			}
		}
		if len(fields) == 0 {
			for _, m := range a.Mapping {
				if m.Name == "EMAIL" && m.Include {
					fields = []string{a.FieldName("EMAIL")}
				}
			}
		}
	}
	return intake.KeySpec{Fields: fields}
}

// MappingSpec returns the mapping spec of the file for a base schema: one column
// per MAPPING/COLUMN, by INDEX (so it works with or without a header),
// in file order; INCLUDE false becomes "skip". An Acoustic column whose
// field name (see [Map.FieldName]) is a field of base maps to
// it; any other becomes a custom field with the column's type, options
// and IS_REQUIRED, labelled with the Acoustic name. Date columns read
// [Map.DatePattern]; DEFAULT_VALUE becomes the column's
// default (dates converted from mm/dd/yyyy); IS_REQUIRED of a base field
// makes the column required. COLUMNS that are not mapped are still
// declared as custom fields, as Acoustic creates them.
func (a *Map) MappingSpec(base *intake.Schema) (*mapping.Spec, error) {
	if base == nil {
		return nil, errors.New("acoustic: no base schema: pass intake.ContactSchema() or your own")
	}
	spec := &mapping.Spec{Version: mapping.SpecVersion}
	cols := map[string]*Column{}
	for i := range a.Columns {
		cols[a.Columns[i].Name] = &a.Columns[i]
	}
	datePattern := a.DatePattern()
	declared := map[string]string{} // field → Acoustic name
	var errs []error
	declare := func(name string) (intake.FieldType, bool) {
		field := a.FieldName(name)
		if prev, ok := declared[field]; ok {
			if prev != name {
				errs = append(errs, fmt.Errorf("acoustic: columns %q and %q both become field %q: rename one", prev, name, field))
			}
			if i := base.Index(field); i >= 0 {
				return base.Field(i).Type, true
			}
			for _, f := range spec.Fields {
				if f.Name == field {
					return f.Type, true
				}
			}
			return intake.TypeText, true
		}
		declared[field] = name
		if i := base.Index(field); i >= 0 {
			return base.Field(i).Type, true
		}
		fs := mapping.FieldSpec{Name: field, Type: intake.TypeText, Label: name}
		if c := cols[name]; c != nil {
			fs.Type, fs.Options, fs.Required = c.FieldType, slices.Clone(c.Options), c.Required
			if c.Type == 8 && len(c.Options) == 0 {
				fs.Type = intake.TypeText
			}
		} else if t, ok := acousticSystem[name]; ok {
			fs.Type = t
			if name == "CONSENT_STATUS_CODE" {
				fs.Options = []string{"OPTED-IN", "OPTED-OUT"}
			}
			if name == "EMAIL" && a.EncodedAsMD5 {
				fs.Type, fs.Label = intake.TypeID, "EMAIL (MD5)"
			}
		}
		if fs.Type == intake.TypeInvalid {
			fs.Type = intake.TypeText
		}
		spec.Fields = append(spec.Fields, fs)
		return fs.Type, false
	}
	mappings := slices.Clone(a.Mapping)
	slices.SortStableFunc(mappings, func(x, y MappedColumn) int { return x.Index - y.Index })
	for _, m := range mappings {
		note := fmt.Sprintf("Acoustic column %q", m.Name)
		if m.IsConsent {
			note += " (consent)"
		}
		if !m.Include {
			spec.Columns = append(spec.Columns, mapping.Column{Index: m.Index, Skip: true, Note: note})
			continue
		}
		t, inBase := declare(m.Name)
		c := mapping.Column{Index: m.Index, Field: a.FieldName(m.Name), Note: note}
		if t == intake.TypeDate {
			c.Format = datePattern
		}
		if ac := cols[m.Name]; ac != nil {
			if inBase && ac.Required {
				c.Required = true
			}
			if ac.Default != "" {
				c.Default = ac.Default
				if t == intake.TypeDate {
					if v, ok := defaultDate.Parse(ac.Default); ok {
						if dp, err := mapping.CompileDatePattern(datePattern); err == nil {
							c.Default = dp.Format(v.Time())
						}
					}
				}
			}
		}
		spec.Columns = append(spec.Columns, c)
	}
	for _, c := range a.Columns {
		if _, ok := declared[a.FieldName(c.Name)]; !ok {
			declare(c.Name)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return spec, nil
}
