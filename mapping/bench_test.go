package mapping

import (
	"testing"

	"github.com/intakehq/intake"
)

// benchRows are realistic clean contact rows: an id, a mixed-case email, an
// international phone with spaces, names with non-ASCII letters, an ISO
// birthday, a country name or code, a city and an amount.
var benchRows = [][]string{
	{"100234", "Anna.Schmidt@Example.com", "+49 30 1234567", "Anna", "Schmidt", "1985-03-12", "Germany", "Berlin", "1234.50"},
	{"100235", "jorg.muller@example.de", "+49 151 23456789", "Jörg", "Müller", "1979-11-02", "DE", "München", "89.9"},
	{"100236", "Zoe.Dupont@Example.FR", "+33 1 23 45 67 89", "Zoë", "Dupont-Lefèvre", "1992-07-30", "France", "Paris", "0"},
	{"100237", "s.ozturk@example.com", "+49 40 98765432", "Şebnem", "Öztürk", "2001-01-15", "de", "Hamburg", "15000"},
}

func BenchmarkPlanMap(b *testing.B) {
	header := []string{"Customer ID", "Email", "Phone", "First Name", "Last Name", "Birthday", "Country", "City", "Lifetime value"}
	p, err := Compile(nil, intake.ContactSchema(), header, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]intake.Row, len(benchRows))
	for i, r := range benchRows {
		rows[i] = intake.Row{Line: i + 2, Cells: r}
		if err := p.Map(rows[i], intake.NewRecord(p.Schema())); err != nil {
			b.Fatal(err)
		}
	}
	rec := intake.NewRecord(p.Schema())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := p.Map(rows[i%len(rows)], rec); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
}

func BenchmarkPlanMapParallel(b *testing.B) {
	header := []string{"Customer ID", "Email", "Phone", "First Name", "Last Name", "Birthday", "Country", "City", "Lifetime value"}
	p, err := Compile(nil, intake.ContactSchema(), header, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rec := intake.NewRecord(p.Schema())
		i := 0
		for pb.Next() {
			if err := p.Map(intake.Row{Line: 2, Cells: benchRows[i%len(benchRows)]}, rec); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkParsers(b *testing.B) {
	dmy, err := compilePattern("dd.MM.yyyy")
	if err != nil {
		b.Fatal(err)
	}
	stamp, err := compilePattern("d MMM yyyy h:mm:ss a XXX")
	if err != nil {
		b.Fatal(err)
	}
	eur, err := newCurrencyTokens("EUR")
	if err != nil {
		b.Fatal(err)
	}
	phone := phoneParser{}
	cases := []struct {
		name string
		f    func()
	}{
		{"email/lower", func() { ParseEmail("anna.schmidt@example.com") }},
		{"email/mixed", func() { ParseEmail("Anna.Schmidt@Example.com") }},
		{"email/intl", func() { ParseEmail("jörg.müller@bücher.de") }},
		{"phone/e164", func() { phone.parse("+49301234567") }},
		{"phone/spaced", func() { phone.parse("+49 30 1234567") }},
		{"phone/paren", func() { phone.parse("+1 (617) 555-0143") }},
		{"country/code", func() { ParseCountry("de") }},
		{"country/name", func() { ParseCountry("United States") }},
		{"date/iso", func() { parseDate(nil, "1985-03-12") }},
		{"date/pattern", func() { parseDate(dmy, "12.03.1985") }},
		{"timestamp/pattern", func() { stamp.match("2 Mar 1985 4:05:06 PM +01:00") }},
		{"decimal/plain", func() { parseDecimal("1234.50", '.') }},
		{"decimal/grouped", func() { parseDecimal("1.234,50", ',') }},
		{"decimal/exponent", func() { parseDecimal("1.5E3", '.') }},
		{"decimal/currency", func() { parseAmount("EUR 1.234,50", ',', eur) }},
		{"decimal/accounting", func() { parseAmount("(12.50)", '.', nil) }},
		{"bool", func() { ParseBool("Yes") }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.f()
			}
		})
	}
}
