package intake_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
)

func TestValueStringAndRoundTrip(t *testing.T) {
	t.Parallel()
	tod, ok := intake.TimeOfDay(9, 5, 7, 250000)
	require.True(t, ok)
	dec, ok := intake.DecimalString("-1234.5")
	require.True(t, ok)
	tests := []struct {
		name string
		v    intake.Value
		kind intake.Kind
		want string
	}{
		{"null", intake.Null, intake.KindNull, ""},
		{"text", intake.Text("Zoë"), intake.KindText, "Zoë"},
		{"empty text", intake.Text(""), intake.KindText, ""},
		{"true", intake.Bool(true), intake.KindBool, "true"},
		{"false", intake.Bool(false), intake.KindBool, "false"},
		{"decimal", intake.Decimal(decimal.RequireFromString("001250.500")), intake.KindDecimal, "1250.5"},
		{"decimal string", dec, intake.KindDecimal, "-1234.5"},
		{"date", intake.Date(1985, time.March, 14), intake.KindDate, "1985-03-14"},
		{"leap date", intake.Date(2024, time.February, 29), intake.KindDate, "2024-02-29"},
		{"old date", intake.Date(1601, time.January, 1), intake.KindDate, "1601-01-01"},
		{"time", tod, intake.KindTime, "09:05:07.25"},
		{"timestamp", intake.Timestamp(time.Date(2026, 3, 29, 1, 30, 0, 0, time.FixedZone("CET", 3600))), intake.KindTimestamp, "2026-03-29T00:30:00Z"},
		{"list", intake.List("gold", "vip"), intake.KindList, "gold|vip"},
		{"empty list", intake.List(), intake.KindNull, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.kind, tt.v.Kind())
			assert.Equal(t, tt.want, tt.v.String())
			assert.Equal(t, tt.want, string(tt.v.AppendString(nil)))
			s, i := tt.v.Raw()
			back, ok := intake.FromRaw(tt.v.Kind(), s, i)
			require.True(t, ok, "FromRaw must accept what Raw returned")
			assert.Equal(t, tt.v, back)
		})
	}
}

func TestDateMatchesTimePackage(t *testing.T) {
	t.Parallel()
	// Every day from 1600 to 2400 must round-trip through the civil-day
	// arithmetic exactly as the time package counts days.
	start := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := start; d.Year() < 2400; d = d.AddDate(0, 0, 1) {
		v := intake.DateOf(d)
		if !v.Time().Equal(d) {
			t.Fatalf("DateOf(%s).Time() = %s", d.Format(time.DateOnly), v.Time())
		}
	}
}

// TestDateNormalizesAsTimeDate: Date takes every year, month and day as
// time.Date does, out-of-range months and days (February 29 of a common
// year, day 0, month 13) and century years included.
func TestDateNormalizesAsTimeDate(t *testing.T) {
	t.Parallel()
	for _, y := range []int{-401, -1, 0, 1, 1600, 1700, 1900, 1999, 2000, 2023, 2024, 2100, 10000} {
		for m := time.Month(-1); m <= 14; m++ {
			for d := -1; d <= 32; d++ {
				want := intake.DateOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
				if got := intake.Date(y, m, d); got != want {
					t.Fatalf("Date(%d, %d, %d) = %s, want %s", y, m, d, got, want)
				}
			}
		}
	}
}

func TestDecimalStringIsStrict(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "-", "01", "1.", "1.50", ".5", "1e3", "-0", "1,5", " 1", "+1"} {
		_, ok := intake.DecimalString(s)
		assert.False(t, ok, "%q is not canonical", s)
	}
	for _, s := range []string{"0", "-1", "1.5", "123456789012345678901234567890.000001"} {
		v, ok := intake.DecimalString(s)
		require.True(t, ok, "%q is canonical", s)
		assert.Equal(t, s, v.DecimalValue().String())
	}
}

func TestListReplacesSeparator(t *testing.T) {
	t.Parallel()
	in := []string{"a\x1fb", "c"}
	v := intake.List(in...)
	assert.Equal(t, []string{"a b", "c"}, v.Items())
	assert.Equal(t, "a\x1fb", in[0], "List must not modify its argument")
}

func TestFromRawRejectsBadParts(t *testing.T) {
	t.Parallel()
	bad := []struct {
		k intake.Kind
		s string
		i int64
	}{
		{intake.KindBool, "", 2},
		{intake.KindDecimal, "1.50", 0},
		{intake.KindTime, "", 86400 * 1e6},
		{intake.KindList, "a\x1fb", 3},
		{intake.Kind(99), "", 0},
	}
	for _, b := range bad {
		_, ok := intake.FromRaw(b.k, b.s, b.i)
		assert.False(t, ok, "%v %q %d", b.k, b.s, b.i)
	}
}

func TestNormalizeKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  intake.FieldType
		in   intake.Value
		want string
	}{
		{intake.TypeEmail, intake.Text("  Anna.Schmidt@Example.DE "), "anna.schmidt@example.de"},
		{intake.TypeEmail, intake.Text("anna@example.de"), "anna@example.de"},
		{intake.TypeEmail, intake.Text("ÄNNE@Example.de"), "änne@example.de"},
		{intake.TypeText, intake.Text("  José   GARCÍA "), "josé garcía"},
		{intake.TypeText, intake.Text("Straße"), "strasse"},
		{intake.TypeText, intake.Text("ＡＢＣ"), "abc"}, // NFKC folds full-width letters
		{intake.TypeText, intake.Text("plain"), "plain"},
		{intake.TypeText, intake.Text("a\u00a0b"), "a b"},
		{intake.TypeID, intake.Text(" 00042 "), "00042"},
		{intake.TypeID, intake.Text("AbC"), "AbC"},
		{intake.TypePhone, intake.Text("+4930123456"), "+4930123456"},
		{intake.TypeDate, intake.Date(2000, 1, 2), "2000-01-02"},
		{intake.TypeText, intake.Null, ""},
		{intake.TypeText, intake.Text("   "), ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, intake.NormalizeKey(tt.typ, tt.in), "%v %q", tt.typ, tt.in.String())
	}
}

func TestKeyPlan(t *testing.T) {
	t.Parallel()
	s := intake.ContactSchema()
	single, err := s.CompileKey(intake.Keys("email"))
	require.NoError(t, err)
	composite, err := s.CompileKey(intake.Keys("first_name", "last_name"))
	require.NoError(t, err)

	rec := intake.NewRecord(s)
	k, none := single.Key(rec)
	assert.Equal(t, intake.Key(""), k)
	assert.True(t, none, "no sync field set: no key at all")

	rec.Set("email", intake.Text("A@B.CO"))
	k, none = single.Key(rec)
	assert.Equal(t, intake.Key("a@b.co"), k)
	assert.False(t, none)

	rec.Set("first_name", intake.Text("Anna"))
	k, none = composite.Key(rec)
	assert.Equal(t, intake.Key(""), k, "a composite key with an empty part is blank")
	assert.False(t, none, "but the row has a key, so it is not missing_key")
	rec.Set("last_name", intake.Text("Schmidt"))
	k, _ = composite.Key(rec)
	assert.Equal(t, intake.Key("anna"+intake.KeySep+"schmidt"), k)

	_, err = s.CompileKey(intake.Keys("nope"))
	assert.ErrorContains(t, err, `sync field "nope" is not a field of "contact"`)
	_, err = s.CompileKey(intake.Keys("email", "email"))
	assert.ErrorContains(t, err, "named twice")
	_, err = s.CompileKey(intake.KeySpec{})
	assert.ErrorContains(t, err, "no fields")
}

func TestNewSchemaReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := intake.NewSchema("Bad Name",
		intake.Field{Name: "ok", Type: intake.TypeText},
		intake.Field{Name: "ok", Type: intake.TypeText},
		intake.Field{Name: "9lives", Type: intake.TypeText},
		intake.Field{Name: "untyped"},
	)
	require.Error(t, err)
	for _, want := range []string{`object type "Bad Name"`, `"ok" is declared twice`, `field name "9lives"`, `"untyped" has no valid type`} {
		assert.ErrorContains(t, err, want)
	}
}

func TestParseFieldType(t *testing.T) {
	t.Parallel()
	for i := intake.TypeText; i <= intake.TypeID; i++ {
		got, err := intake.ParseFieldType(strings.ToUpper(i.String()))
		require.NoError(t, err)
		assert.Equal(t, i, got)
		b, err := i.MarshalText()
		require.NoError(t, err)
		var back intake.FieldType
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, i, back)
	}
	got, err := intake.ParseFieldType("currency")
	require.NoError(t, err)
	assert.Equal(t, intake.TypeDecimal, got)
	_, err = intake.ParseFieldType("colour")
	assert.ErrorContains(t, err, `unknown field type "colour"`)
}

func TestRowError(t *testing.T) {
	t.Parallel()
	cause := io.ErrUnexpectedEOF
	e := &intake.RowError{File: "contacts.csv", Line: 12, Column: "E-Mail", Field: "email", Code: intake.CodeInvalidEmail, Message: `"x@" has no domain`, Err: cause}
	assert.Equal(t, `contacts.csv:12: column "E-Mail" (field email) invalid_email: "x@" has no domain`, e.Error())
	assert.True(t, errors.Is(e, cause))
	var re *intake.RowError
	assert.True(t, errors.As(fmt.Errorf("wrapped: %w", e), &re))
	assert.Equal(t, "line 3: missing_key", (&intake.RowError{Line: 3, Code: intake.CodeMissingKey}).Error())
}

func TestParseAction(t *testing.T) {
	t.Parallel()
	a, err := intake.ParseAction("ADD_ONLY")
	require.NoError(t, err)
	assert.Equal(t, intake.ActionAddOnly, a)
	a, err = intake.ParseAction("")
	require.NoError(t, err)
	assert.Equal(t, intake.ActionAddAndUpdate, a)
	_, err = intake.ParseAction("upsert")
	assert.ErrorContains(t, err, "unknown action")
	assert.False(t, intake.Action("upsert").Valid())
}

func TestRecordSetGetReset(t *testing.T) {
	t.Parallel()
	s := intake.ContactSchema()
	r := intake.NewRecord(s)
	assert.True(t, r.Set("city", intake.Text("Berlin")))
	assert.False(t, r.Set("nope", intake.Text("x")))
	assert.Equal(t, "Berlin", r.Get("city").Str())
	assert.True(t, r.Get("nope").IsNull())
	c := r.Clone()
	r.Reset(s)
	assert.True(t, r.Get("city").IsNull())
	assert.Equal(t, "Berlin", c.Get("city").Str(), "a clone shares nothing with the original")
}

func ExampleKeyPlan_Key() {
	s := intake.ContactSchema()
	plan, err := s.CompileKey(intake.Keys("email"))
	if err != nil {
		panic(err)
	}
	rec := intake.NewRecord(s)
	rec.Set("email", intake.Text("  Anna.Schmidt@Example.DE"))
	key, missing := plan.Key(rec)
	fmt.Printf("%q %v\n", key, missing)
	// Output: "anna.schmidt@example.de" false
}

func ExampleValue_String() {
	fmt.Println(intake.Date(1985, time.March, 14))
	fmt.Println(intake.Decimal(decimal.RequireFromString("1250.50")))
	fmt.Println(intake.List("gold", "vip"))
	// Output:
	// 1985-03-14
	// 1250.5
	// gold|vip
}
