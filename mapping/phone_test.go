package mapping

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var phoneSeeds = []string{
	"+1234567890123456789012", "+1 (617) 555-0143", "+1 (617)555-0143", "+44 (20) 7123 4567", "+49 (30) 1234567", "+49 (030) 1234567",
	"+39 (06) 6982 1234", "+1 (617 555-0143", "+1 617) 555-0143", "+1 ((617)) 555", "+7 (495) 123-45-67",
	"+49 30 1234567", "+49 030 1234567", "+1-202-555-0143", "+442071234567", "+44 20 7123 4567",
	"+44 (0)20 7123 4567", "+39 06 6982 1234", "+39 333 123 4567", "+33 1 23 45 67 89", "+33.1.23.45.67.89",
	"+7 495 123-45-67", "+81 3-1234-5678", "+86 10 1234 5678", "+61 2 1234 5678", "+800 1234 5678",
	"+882 34 1234 5678", "+1 (202) 555-0143", "+12025550143", "+1 800 FLOWERS", "+49 1512 3456789",
	"+49-1512-3456789", "+4915123456789", "+54 9 11 1234 5678", "+52 1 55 1234 5678", "+225 07 12 34 56 78",
	"+353 1 234 5678", "+31 20 123 4567", "+0 123", "+999 123456", "+1", "+12", "+123", "+49 30", "+49 3",
	"+49 30 12345678901234567", "+", "0049 30 1234567", "030 1234567", "+49  30 1234567", "+49 30-1234567 ext. 12",
	"+39 0000", "+39 00", "+262 262 12 34 56", "+290 8 1234", "+247 1234", "+979 1 2345 6789",
}

func TestPhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, region string
		strict     bool
		want       string // "" = rejected
	}{
		{in: "+49 30 1234567", want: "+49301234567"},
		{in: "+1-202-555-0143", want: "+12025550143"},
		{in: "+442071234567", want: "+442071234567"},
		{in: "+44 (0)20 7123 4567", want: "+442071234567"},
		{in: "+39 06 6982 1234", want: "+390669821234"},
		{in: "+49 030 1234567", want: "+49301234567"},
		{in: "  +33 1 23 45 67 89 ", want: "+33123456789"},
		{in: "030 1234567", want: ""},
		{in: "030 1234567", region: "DE", want: "+49301234567"},
		{in: "0049 30 1234567", region: "DE", want: "+49301234567"},
		{in: "(202) 555-0143", region: "US", want: "+12025550143"},
		{in: "+49 30 1234567 ext. 12", want: "+49301234567"},
		{in: "+999 123456", want: ""},
		{in: "+49 3", want: ""},
		{in: "not a phone", want: ""},
		{in: "+1 202 555 0143", strict: true, want: "+12025550143"},
		{in: "+1 202 155 0143", strict: true, want: ""},
		{in: "+1 202 155 0143", want: "+12021550143"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			v, ok := ParsePhone(tt.in, Options{DefaultRegion: tt.region, StrictPhone: tt.strict})
			if tt.want == "" {
				assert.False(t, ok, "got %q", v.Str())
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, v.Str())
		})
	}
}

func TestPhoneFastPathSeeds(t *testing.T) {
	t.Parallel()
	fast := 0
	for _, s := range phoneSeeds {
		for _, strict := range []bool{false, true} {
			if checkPhoneFast(t, s, strict) {
				fast++
			}
		}
	}
	assert.Greater(t, fast, len(phoneSeeds)/2, "the fast path should take most seeds")
}

// checkPhoneFast compares the fast path with the full parser on s and
// reports whether the fast path decided.
func checkPhoneFast(t *testing.T, s string, strict bool, regions ...string) bool {
	t.Helper()
	if regions == nil {
		regions = []string{"", "DE", "US", "IT"}
	}
	s = trimCell(s)
	e, st := phoneFast(s, strict)
	if st == fastUnknown {
		return false
	}
	for _, region := range regions {
		fe, fok := phoneFull(s, region, strict)
		if st == fastAccept {
			if !fok || fe != e {
				t.Errorf("phone %q (strict %v, region %q): fast path accepts %q, full parse gives %q, %v", s, strict, region, e, fe, fok)
			}
		} else if fok {
			t.Errorf("phone %q (strict %v, region %q): fast path rejects, full parse accepts %q", s, strict, region, fe)
		}
	}
	return true
}

func FuzzPhoneFastPath(f *testing.F) {
	for _, s := range phoneSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	if hasCorpora() {
		for _, c := range corpusCells(f, "test_no_leading_zeroes.csv") {
			f.Add("+"+c, false)
		}
	}
	f.Fuzz(func(t *testing.T, s string, strict bool) {
		checkPhoneFast(t, s, strict)
		v, ok := ParsePhone(s, Options{StrictPhone: strict})
		if ok {
			e, fok := phoneFull(trimCell(s), "", strict)
			if !fok || e != v.Str() {
				t.Errorf("ParsePhone(%q) = %q, full parse %q, %v", s, v.Str(), e, fok)
			}
		}
	})
}

func BenchmarkPhone(b *testing.B) {
	for _, in := range []string{"+49 30 1234567", "+1-202-555-0143", "+442071234567"} {
		b.Run("fast/"+in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, st := phoneFast(in, false); st != fastAccept {
					b.Fatal("not fast")
				}
			}
		})
		b.Run("full/"+in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := phoneFull(in, "", false); !ok {
					b.Fatal("rejected")
				}
			}
		})
	}
}

// TestPhoneFastPathAllCallingCodes compares the fast path with the full
// parser for every calling code, every NSN length and a spread of leading
// digits, in two spellings (strict mode on one).
func TestPhoneFastPathAllCallingCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs libphonenumber's parser ~100k times")
	}
	t.Parallel()
	table := callingCodeTable()
	decided := 0
	for cc, info := range table {
		if info == nil {
			continue
		}
		for n := 1; n <= 18; n++ {
			for _, lead := range []int{0, 1, 2, 5, 7, 9} {
				nsn := make([]byte, n)
				for i := range nsn {
					nsn[i] = byte('0' + (lead+i*7+cc)%10)
				}
				nsn[0] = byte('0' + lead)
				plain := "+" + itoa(cc) + string(nsn)
				spaced := "+" + itoa(cc) + " " + string(nsn)
				if n > 3 {
					spaced = "+" + itoa(cc) + " " + string(nsn[:2]) + "-" + string(nsn[2:])
				}
				for _, c := range []struct {
					s      string
					strict bool
				}{{plain, false}, {spaced, false}, {plain, true}} {
					if checkPhoneFast(t, c.s, c.strict, "") {
						decided++
					}
				}
			}
		}
	}
	t.Logf("fast path decided %d cases", decided)
}

// TestPrefixFirstDigits: the digits that a calling code's national-prefix
// pattern can start a match with hold every digit that starts a match, for
// random digit strings, and spare the fast path the pattern for the others
// (Japan's and Brazil's prefixes start with 0 or 9).
func TestPrefixFirstDigits(t *testing.T) {
	t.Parallel()
	tb := callingCodeTable()
	r := rand.New(rand.NewPCG(1, 19))
	patterns := 0
	for cc, c := range tb {
		if c == nil || c.prefixRE == nil {
			continue
		}
		patterns++
		for range 20000 {
			b := make([]byte, 1+r.IntN(14))
			for i := range b {
				b[i] = byte('0' + r.IntN(10))
			}
			if c.prefixRE.Match(b) && !c.prefixAt[b[0]-'0'] {
				t.Fatalf("calling code %d: %s matches %q, which starts with a digit it says no match starts with", cc, c.prefixRE, b)
			}
		}
	}
	require.NotZero(t, patterns)
	assert.Equal(t, [10]bool{0: true}, tb[81].prefixAt, "Japan")
	assert.Equal(t, [10]bool{0: true, 9: true}, tb[55].prefixAt, "Brazil")
	for _, tc := range []struct {
		pattern string
		want    [10]bool
	}{
		{"0", [10]bool{0: true}},
		{"(?:0|90)(1\\d)?", [10]bool{0: true, 9: true}},
		{"[2-4]|7?8", [10]bool{2: true, 3: true, 4: true, 7: true, 8: true}},
		{"0?", [10]bool{true, true, true, true, true, true, true, true, true, true}}, // matches the empty string
		{"\\d{2}", [10]bool{true, true, true, true, true, true, true, true, true, true}},
	} {
		assert.Equal(t, tc.want, firstDigits(tc.pattern), tc.pattern)
	}
}
