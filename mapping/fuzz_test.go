package mapping

import (
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"github.com/shopspring/decimal"
	"golang.org/x/text/language"
)

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"anna@example.com", " Anna.Schmidt@Example.COM ", "o'brien+tag@sub.example.co.uk", "user@bücher.de",
		"user@xn--bcher-kva.de", "a@b.cd", "a..b@example.com", "a@-b.com", "\"a b\"@example.com", "a@b@c.de", "user@例え.テスト"} {
		f.Add(s)
	}
	seedCorpus(f, "blanks.csv")
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseEmail(s)
		if !ok {
			return
		}
		got := v.Str()
		if got != strings.ToLower(trimCell(s)) {
			t.Fatalf("ParseEmail(%q) = %q, want the trimmed lower-case input", s, got)
		}
		if again, ok := ParseEmail(got); !ok || again.Str() != got {
			t.Fatalf("ParseEmail not idempotent on %q", got)
		}
		if strings.Count(got, "@") != 1 || len(got) > 254 || !utf8.ValidString(got) {
			t.Fatalf("ParseEmail accepted %q", got)
		}
		ascii := true
		for i := 0; i < len(got); i++ {
			if got[i] >= utf8.RuneSelf {
				ascii = false
			}
		}
		if ascii {
			a, err := mail.ParseAddress(got)
			if err != nil || a.Address != got {
				t.Fatalf("ParseEmail accepts %q, net/mail does not: %v", got, err)
			}
		}
	})
}

// formatDate writes v with p, for round trips.
func formatDate(p *pattern, v dt) string {
	var b strings.Builder
	pad := func(n, w int) {
		s := strings.Repeat("0", 10) + itoa(n)
		b.WriteString(s[len(s)-w:])
	}
	for _, tk := range p.toks {
		switch tk.kind {
		case tokLit:
			b.WriteString(tk.lit)
		case tokYear4:
			pad(v.year, 4)
		case tokYear2:
			pad(v.year%100, 2)
		case tokMonthName:
			b.WriteString(monthNames[v.month-1])
		case tokMonth2:
			pad(v.month, 2)
		case tokMonth1:
			b.WriteString(itoa(v.month))
		case tokDay2:
			pad(v.day, 2)
		case tokDay1:
			b.WriteString(itoa(v.day))
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func FuzzDateFormat(f *testing.F) {
	for _, c := range [][2]string{
		{"", "2023-02-28"}, {"", "2023-02-29"}, {"", "2024-02-29"}, {"dd.MM.yyyy", "31.12.2012"}, {"dd/MM/yyyy", "02/01/2014"},
		{"yyyyMMdd", "20140102"}, {"d.M.yy", "1.2.14"}, {"d MMMM yyyy", "3 March 2021"}, {"MMM d, yyyy", "Sep 5, 2020"},
		{"'Day' d", "Day 5"}, {"yyyy-MM-dd", "0000-01-01"},
	} {
		f.Add(c[0], c[1])
	}
	if hasCorpora() {
		for _, c := range corpusCells(f, "test_date_format.csv") {
			f.Add("dd/MM/yyyy", c)
		}
		for _, c := range corpusCells(f, "test_numeric_date_format.csv") {
			f.Add("yyyyMMdd", c)
		}
		for _, c := range corpusCells(f, "date_like_number.csv") {
			f.Add("yyyyMMdd", c)
		}
	}
	f.Fuzz(func(t *testing.T, format, s string) {
		if format == "" {
			v, ok := parseDate(nil, s)
			tm, err := time.Parse(time.DateOnly, s)
			if ok != (err == nil && tm.Year() > 0) {
				t.Fatalf("ISO date %q: ours %v (%v), time.Parse %v", s, ok, v, err)
			}
			if ok && v.String() != s {
				t.Fatalf("ISO date %q read as %s", s, v)
			}
			return
		}
		p, err := compilePattern(format)
		if err != nil || p.checkFor(intake.TypeDate) != nil {
			return
		}
		v, ok := parseDate(p, s)
		if !ok {
			return
		}
		d, _ := p.match(s)
		if d.month < 1 || d.month > 12 || d.day < 1 || d.day > daysIn(d.year, d.month) || d.year < 1 {
			t.Fatalf("%q with %q: impossible date %+v accepted", s, format, d)
		}
		if got := v.Time(); got.Year() != d.year || int(got.Month()) != d.month || got.Day() != d.day {
			t.Fatalf("%q with %q: value %s, fields %+v", s, format, v, d)
		}
		out := formatDate(p, d)
		v2, ok := parseDate(p, out)
		if !ok || v2 != v {
			t.Fatalf("%q with %q: %s formats as %q, which reads back as %s, %v", s, format, v, out, v2, ok)
		}
	})
}

var plainNumber = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0.00", "1234.50", "0042", ".5", "5.", "1,234.56", "1.234,56", "1 234,5", "$1,234.56", "12 €",
		"1.5E3", "-2.50e+1", "1e1000", "1,5", "0,123", "--1", "NaN", "١٢٣", "(12.50)", "12.50-", "EUR 1.234,56", "12 USD", "US$ 3",
		"(€ 12)", "-EUR 5", "R$ 1.234,56"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	if hasCorpora() {
		for _, name := range []string{"test_locale.csv", "test_no_leading_zeroes.csv", "date_like_number.csv", "blanks.csv"} {
			for _, c := range corpusCells(f, name) {
				f.Add(c, false)
				f.Add(c, true)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string, comma bool) {
		sep := byte('.')
		if comma {
			sep = ','
		}
		v, ok := parseDecimal(s, sep)
		if sep == '.' && plainNumber.MatchString(s) {
			in := s
			if strings.HasSuffix(in, ".") {
				in += "0"
			}
			d, err := decimal.NewFromString(in)
			if !ok || err != nil {
				t.Fatalf("plain %q: ours %v, shopspring %v", s, ok, err)
			}
			if v.String() != d.String() {
				t.Fatalf("plain %q: ours %s, shopspring %s", s, v, d)
			}
		}
		if !ok {
			return
		}
		if _, canon := intake.DecimalString(v.String()); !canon || v.Kind() != intake.KindDecimal {
			t.Fatalf("%q: %q is not canonical", s, v.String())
		}
		if again, ok := parseDecimal(v.String(), '.'); !ok || again != v {
			t.Fatalf("%q: canonical %q does not read back", s, v.String())
		}
		// Removing separators and symbols must give shopspring's number
		// (for cells without currency letters or accounting negatives).
		if strings.ContainsAny(s, "()") || trailingMinus(s) || strings.IndexFunc(s, func(r rune) bool {
			return r != 'e' && r != 'E' && unicode.IsLetter(r)
		}) >= 0 {
			return
		}
		var b strings.Builder
		for _, r := range s {
			switch {
			case r >= '0' && r <= '9', r == '-', r == '+', r == 'e', r == 'E':
				b.WriteRune(r)
			case r == rune(sep):
				b.WriteByte('.')
			}
		}
		in := b.String()
		if strings.HasPrefix(in, ".") || strings.HasPrefix(in, "-.") || strings.HasPrefix(in, "+.") {
			in = strings.Replace(in, ".", "0.", 1)
		}
		in = strings.Replace(in, ".e", ".0e", 1)
		in = strings.Replace(in, ".E", ".0E", 1)
		if strings.HasSuffix(in, ".") {
			in += "0"
		}
		d, err := decimal.NewFromString(in)
		if err != nil {
			t.Fatalf("%q accepted as %s, but %q is not a number: %v", s, v, in, err)
		}
		if d.String() != v.String() {
			t.Fatalf("%q: ours %s, shopspring(%q) %s", s, v, in, d)
		}
	})
}

func FuzzParseCountry(f *testing.F) {
	for _, s := range []string{"DE", "de", "UK", "DEU", "276", "Germany", "Deutschland", "Côte d’Ivoire", "The Netherlands", "EU", "419", "ZZ", "U.S.A."} {
		f.Add(s)
	}
	seedCorpus(f, "blanks.csv", "test_utf8.csv")
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseCountry(s)
		if !ok {
			return
		}
		code := v.Str()
		if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
			t.Fatalf("ParseCountry(%q) = %q", s, code)
		}
		r, err := language.ParseRegion(code)
		if err != nil || !r.IsCountry() {
			t.Fatalf("ParseCountry(%q) = %q, not a country: %v", s, code, err)
		}
		if again, ok := ParseCountry(code); !ok || again.Str() != code {
			t.Fatalf("ParseCountry not idempotent on %q", code)
		}
		if CountryName(code) == "" {
			t.Fatalf("no name for %q", code)
		}
	})
}

func FuzzParseBool(f *testing.F) {
	for _, s := range []string{"yes", "No", "TRUE", "0", "Sí", "SÍ", "oui", "maybe", "", "  y  "} {
		f.Add(s)
	}
	seedCorpus(f, "blanks.csv")
	words := map[string]bool{"yes": true, "y": true, "true": true, "t": true, "1": true, "on": true, "ja": true, "j": true, "wahr": true,
		"oui": true, "vrai": true, "si": true, "sí": true, "no": false, "n": false, "false": false, "f": false, "0": false, "off": false,
		"nein": false, "falsch": false, "non": false, "faux": false}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseBool(s)
		want, known := words[strings.ToLower(trimCell(s))]
		if ok != known || ok && v.BoolValue() != want {
			t.Fatalf("ParseBool(%q) = %v, %v; want %v, %v", s, v, ok, want, known)
		}
	})
}

func FuzzPlanMap(f *testing.F) {
	for _, r := range benchRows {
		f.Add(r[0], r[1], r[2], r[5], r[6], r[8])
	}
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, id, email, phone, birthday, country, ltv string) {
		p, err := Compile(nil, intake.ContactSchema(), []string{"Customer ID", "Email", "Phone", "Birthday", "Country", "LTV"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec := intake.NewRecord(p.Schema())
		err = p.Map(intake.Row{Line: 2, Cells: []string{id, email, phone, birthday, country, ltv}}, rec)
		if err != nil {
			re, ok := err.(*intake.RowError)
			if !ok || re.Line != 2 || re.Field == "" || !strings.HasPrefix(string(re.Code), "invalid_") || re.Column == "" {
				t.Fatalf("bad error %#v", err)
			}
		}
	})
}

// trailingMinus reports whether s has a minus after a digit that is not
// an exponent's sign ("12-", "0-$"): an accounting negative.
func trailingMinus(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c == '-' && digit && s[i-1] != 'e' && s[i-1] != 'E':
			return true
		}
	}
	return false
}
