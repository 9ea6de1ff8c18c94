package intake

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Kind is the representation of a [Value].
type Kind uint8

// The kinds of value. The zero Value is [KindNull].
const (
	KindNull      Kind = iota // no value: an empty cell or an unmapped field
	KindText                  // a string (also email, phone, country, select, id)
	KindBool                  // true or false
	KindDecimal               // an exact decimal number
	KindDate                  // a calendar date without time or zone
	KindTime                  // a time of day without date or zone
	KindTimestamp             // an instant, kept in UTC with microsecond precision
	KindList                  // a list of strings (multi-select, tags)
)

var kindNames = [...]string{"null", "text", "bool", "decimal", "date", "time", "timestamp", "list"}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// listSep separates the items of a list value inside its string. It is the
// ASCII unit separator, which never appears in an item (see [List]).
const listSep = "\x1f"

// Value is a small immutable typed value: 32 bytes, no pointers besides its
// string, comparable with ==. Build one with [Text], [Bool], [Decimal],
// [DecimalString], [Date], [TimeOfDay], [Timestamp] or [List]; the zero Value
// is null.
type Value struct {
	s string // text, canonical decimal, list items joined by listSep
	i int64  // bool (0/1), date (days since 1970-01-01), time (µs since midnight), timestamp (Unix µs), list length
	k Kind
}

// Null is the null value (the zero Value).
var Null Value

// Text returns a text value. An empty string is a text value, not null; use
// [Null] for a missing value.
func Text(s string) Value { return Value{k: KindText, s: s} }

// Bool returns a bool value.
func Bool(b bool) Value {
	if b {
		return Value{k: KindBool, i: 1}
	}
	return Value{k: KindBool}
}

// Decimal returns a decimal value holding d in its canonical plain form
// (no exponent, no trailing fractional zeros: "1234.5", "-0.25").
func Decimal(d decimal.Decimal) Value { return Value{k: KindDecimal, s: d.String()} }

// DecimalString returns a decimal value from its canonical string, as
// produced by [decimal.Decimal.String]. It returns false when s is not a
// canonical decimal (a sign, digits, at most one point followed by digits
// not ending in 0, no leading zeros).
func DecimalString(s string) (Value, bool) {
	if !isCanonicalDecimal(s) {
		return Null, false
	}
	return Value{k: KindDecimal, s: s}, true
}

func isCanonicalDecimal(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "0" {
			return false
		}
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return false
	}
	for i := 0; i < len(intPart); i++ {
		if intPart[i] < '0' || intPart[i] > '9' {
			return false
		}
	}
	if hasPoint {
		if frac == "" || frac[len(frac)-1] == '0' {
			return false
		}
		for i := 0; i < len(frac); i++ {
			if frac[i] < '0' || frac[i] > '9' {
				return false
			}
		}
	}
	return true
}

var unixEpochDays = daysFromCivil(1970, 1, 1)

// Date returns a date value. Out-of-range months and days normalize as in
// [time.Date].
func Date(year int, month time.Month, day int) Value {
	if month < time.January || month > time.December || day < 1 || day > daysInMonth(year, month) {
		t := time.Date(year, month, day, 0, 0, 0, 0, time.UTC) // normalized
		year, month, day = t.Date()
	}
	return Value{k: KindDate, i: daysFromCivil(year, int(month), day) - unixEpochDays}
}

// daysInMonth returns the number of days of month m (1–12) of year y.
func daysInMonth(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Value {
	y, m, d := t.Date()
	return Value{k: KindDate, i: daysFromCivil(y, int(m), d) - unixEpochDays}
}

// TimeOfDay returns a time-of-day value; the arguments must be in range
// (hour 0–23, min 0–59, sec 0–59, µs 0–999999) or TimeOfDay returns false.
func TimeOfDay(hour, min, sec, micro int) (Value, bool) {
	if hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59 || micro < 0 || micro > 999999 {
		return Null, false
	}
	return Value{k: KindTime, i: ((int64(hour)*60+int64(min))*60+int64(sec))*1e6 + int64(micro)}, true
}

// Timestamp returns a timestamp value: the instant t, in UTC, truncated to
// the microsecond.
func Timestamp(t time.Time) Value { return Value{k: KindTimestamp, i: t.UnixMicro()} }

// List returns a list value. Items that contain the ASCII unit separator
// (0x1F) have it replaced by a space, since it is the list's internal
// separator. An empty list is null.
func List(items ...string) Value {
	if len(items) == 0 {
		return Null
	}
	clean := items
	for i, it := range items {
		if strings.Contains(it, listSep) {
			if &clean[0] == &items[0] {
				clean = append([]string(nil), items...)
			}
			clean[i] = strings.ReplaceAll(it, listSep, " ")
		}
	}
	return Value{k: KindList, s: strings.Join(clean, listSep), i: int64(len(clean))}
}

// Clone returns v with its own copy of its string, so that it outlives the
// buffer the string was read from (a mapped row's text shares memory with
// the source's buffers).
func (v Value) Clone() Value {
	if v.s == "" {
		return v
	}
	v.s = strings.Clone(v.s)
	return v
}

// Union returns the list of v's items followed by those of o that v lacks,
// each once: how a multi-value field gains items (lists, tags). A null v
// gives o; when o adds nothing, v itself is returned. Both should be lists.
func (v Value) Union(o Value) Value {
	if v.k == KindNull {
		return o
	}
	items := v.Items()
	n := len(items)
	for _, it := range o.Items() {
		if !slices.Contains(items, it) {
			items = append(items, it)
		}
	}
	if len(items) == n {
		return v
	}
	return List(items...)
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.k }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.k == KindNull }

// Str returns the string of a text value, the canonical form of a decimal
// value, and "" for other kinds.
func (v Value) Str() string {
	if v.k == KindText || v.k == KindDecimal {
		return v.s
	}
	return ""
}

// BoolValue returns the value of a bool value and false for other kinds.
func (v Value) BoolValue() bool { return v.k == KindBool && v.i != 0 }

// DecimalValue returns the number of a decimal value and zero for other kinds.
func (v Value) DecimalValue() decimal.Decimal {
	if v.k != KindDecimal {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(v.s)
	if err != nil { // cannot happen: constructors only store canonical forms
		return decimal.Zero
	}
	return d
}

// Time returns the date of a date value (midnight UTC), the instant of a
// timestamp value (in UTC), the time of a time-of-day value on 1970-01-01 UTC,
// and the zero time for other kinds.
func (v Value) Time() time.Time {
	switch v.k {
	case KindDate:
		y, m, d := civilFromDays(v.i + unixEpochDays)
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	case KindTimestamp:
		return time.UnixMicro(v.i).UTC()
	case KindTime:
		return time.UnixMicro(v.i).UTC()
	}
	return time.Time{}
}

// Items returns the items of a list value, a one-item slice for a non-null
// value of another kind (its [Value.String]) and nil for null.
func (v Value) Items() []string {
	switch v.k {
	case KindNull:
		return nil
	case KindList:
		return strings.Split(v.s, listSep)
	}
	return []string{v.String()}
}

// Raw returns the value's internal representation: the string part and the
// integer part. Together with [Value.Kind] they identify the value exactly;
// sinks use them to store values compactly and [FromRaw] to restore them.
func (v Value) Raw() (s string, i int64) { return v.s, v.i }

// FromRaw rebuilds a value from [Value.Kind] and [Value.Raw]. It returns false
// when the parts do not form a valid value of that kind.
func FromRaw(k Kind, s string, i int64) (Value, bool) {
	switch k {
	case KindNull:
		return Null, s == "" && i == 0
	case KindText:
		return Value{k: k, s: s}, i == 0
	case KindBool:
		return Value{k: k, i: i}, s == "" && (i == 0 || i == 1)
	case KindDecimal:
		if i != 0 {
			return Null, false
		}
		return DecimalString(s)
	case KindDate, KindTimestamp:
		return Value{k: k, i: i}, s == ""
	case KindTime:
		return Value{k: k, i: i}, s == "" && i >= 0 && i < 86400*1e6
	case KindList:
		if s == "" || i != int64(strings.Count(s, listSep)+1) {
			return Null, false
		}
		return Value{k: k, s: s, i: i}, true
	}
	return Null, false
}

// String returns the value's canonical text: text as is, bool "true"/"false",
// decimal as a plain number ("1234.5"), date "YYYY-MM-DD", time "HH:MM:SS"
// (with ".ffffff" when it has fractions), timestamp RFC 3339 in UTC, list
// items joined by "|", and "" for null. It is the form exports write.
func (v Value) String() string {
	switch v.k {
	case KindText, KindDecimal:
		return v.s
	case KindBool:
		if v.i != 0 {
			return "true"
		}
		return "false"
	case KindDate:
		return v.Time().Format(time.DateOnly)
	case KindTime:
		if v.i%1e6 != 0 {
			return v.Time().Format("15:04:05.999999")
		}
		return v.Time().Format(time.TimeOnly)
	case KindTimestamp:
		return v.Time().Format(time.RFC3339Nano)
	case KindList:
		return strings.ReplaceAll(v.s, listSep, "|")
	}
	return ""
}

// AppendString appends [Value.String] to b without allocating for text,
// decimal and bool values.
func (v Value) AppendString(b []byte) []byte {
	switch v.k {
	case KindText, KindDecimal:
		return append(b, v.s...)
	case KindBool:
		return strconv.AppendBool(b, v.i != 0)
	case KindNull:
		return b
	}
	return append(b, v.String()...)
}

// daysFromCivil returns the number of days since 0000-03-01 style epoch for
// the proleptic Gregorian date y-m-d (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe)
}

func civilFromDays(z int64) (y, m, d int) {
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := int(z - era*146097)
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + int(era)*400
	if m <= 2 {
		y++
	}
	return y, m, d
}
