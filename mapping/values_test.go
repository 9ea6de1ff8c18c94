package mapping

import (
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type parseCase struct {
	in   string
	want string // canonical Value.String(); "!" = rejected
}

// runParse runs table cases against a parser.
func runParse(t *testing.T, parse func(string) (intake.Value, bool), cases []parseCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			v, ok := parse(tt.in)
			if tt.want == "!" {
				assert.False(t, ok, "accepted as %q", v.String())
				return
			}
			require.True(t, ok, "rejected")
			assert.Equal(t, tt.want, v.String())
		})
	}
}

func TestParseEmail(t *testing.T) {
	t.Parallel()
	runParse(t, ParseEmail, []parseCase{
		{"anna@example.com", "anna@example.com"},
		{"  Anna.Schmidt@Example.COM ", "anna.schmidt@example.com"},
		{"o'brien+tag@sub.example.co.uk", "o'brien+tag@sub.example.co.uk"},
		{"user@xn--bcher-kva.de", "user@xn--bcher-kva.de"},
		{"user@bücher.de", "user@bücher.de"},
		{"Jörg@Bücher.DE", "jörg@bücher.de"},
		{"user@example.xn--p1ai", "user@example.xn--p1ai"},
		{"user@例え.テスト", "user@例え.テスト"},
		{"a@b.cd", "a@b.cd"},
		{"plainaddress", "!"},
		{"@example.com", "!"},
		{"anna@", "!"},
		{"anna@@example.com", "!"},
		{"a@b@example.com", "!"},
		{"anna@example", "!"},
		{"aaa.0@", "!"},
		{"aaaaaa@", "!"},
		{"anna@example.c", "!"},
		{"anna@example.c0m", "!"},
		{"anna@-example.com", "!"},
		{"anna@example-.com", "!"},
		{"anna@exa_mple.com", "!"},
		{"anna@ex☺mple.com", "!"},
		{"anna@ex٣mple.com", "anna@ex٣mple.com"},
		{"anna@example.co٣", "!"},
		{"anna@example..com", "!"},
		{"anna@example.com.", "!"},
		{".anna@example.com", "!"},
		{"anna.@example.com", "!"},
		{"an..na@example.com", "!"},
		{"an na@example.com", "!"},
		{`"an na"@example.com`, "!"},
		{"anna@[192.168.0.1]", "!"},
		{"anna@192.168.0.1", "!"},
		{"a\xffb@example.com", "!"},
		{"anna@example.com\x00", "!"},
		{string(make([]byte, 65)) + "@example.com", "!"},
	})
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	runParse(t, ParseBool, []parseCase{
		{"yes", "true"}, {"Y", "true"}, {"TRUE", "true"}, {"1", "true"}, {"on", "true"}, {"Ja", "true"},
		{"oui", "true"}, {"Sí", "true"}, {"SÍ", "true"}, {"si", "true"},
		{"no", "false"}, {"N", "false"}, {"False", "false"}, {"0", "false"}, {"OFF", "false"}, {"nein", "false"}, {"Non", "false"},
		{"maybe", "!"}, {"2", "!"}, {"yess", "!"}, {"truefalse", "!"}, {"-", "!"},
	})
}

func TestParseCountry(t *testing.T) {
	t.Parallel()
	runParse(t, ParseCountry, []parseCase{
		{"DE", "DE"}, {"de", "DE"}, {" fr ", "FR"}, {"UK", "GB"}, {"GB", "GB"}, {"XK", "XK"},
		{"DEU", "DE"}, {"usa", "US"}, {"276", "DE"}, {"840", "US"},
		{"Germany", "DE"}, {"GERMANY", "DE"}, {"Deutschland", "DE"}, {"Allemagne", "DE"}, {"Alemania", "DE"},
		{"United States", "US"}, {"United States of America", "US"}, {"U.S.A.", "US"}, {"U.S.", "US"},
		{"United Kingdom", "GB"}, {"Great Britain", "GB"}, {"England", "GB"},
		{"The Netherlands", "NL"}, {"Netherlands", "NL"}, {"Holland", "NL"},
		{"Côte d’Ivoire", "CI"}, {"Cote d'Ivoire", "CI"}, {"Ivory Coast", "CI"},
		{"Österreich", "AT"}, {"Osterreich", "AT"}, {"Schweiz", "CH"},
		{"Saint Kitts and Nevis", "KN"}, {"St. Kitts & Nevis", "KN"}, {"Bosnia and Herzegovina", "BA"},
		{"Hong Kong", "HK"}, {"Myanmar", "MM"}, {"Burma", "MM"}, {"Czech Republic", "CZ"}, {"Czechia", "CZ"},
		{"Türkiye", "TR"}, {"Turkey", "TR"}, {"South Korea", "KR"}, {"Russia", "RU"},
		{"EU", "!"}, {"419", "!"}, {"150", "!"}, {"Europe", "!"}, {"ZZ", "!"}, {"QO", "!"}, {"AC", "!"}, {"IC", "!"},
		{"Atlantis", "!"}, {"D", "!"}, {"DDR", "!"}, {"12", "!"},
	})
}

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	dot := func(s string) (intake.Value, bool) { return parseDecimal(s, '.') }
	comma := func(s string) (intake.Value, bool) { return parseDecimal(s, ',') }
	t.Run("dot", func(t *testing.T) {
		t.Parallel()
		runParse(t, dot, []parseCase{
			{"0", "0"}, {"-0", "0"}, {"-0.00", "0"}, {"000", "0"}, {"1234.50", "1234.5"}, {"-7", "-7"}, {"+7", "7"},
			{"0042", "42"}, {"-0042.10", "-42.1"}, {".5", "0.5"}, {"-.5", "-0.5"}, {"5.", "5"}, {"0.1", "0.1"}, {"00.11", "0.11"},
			{"1,234.56", "1234.56"}, {"1,234,567", "1234567"}, {"1 234.5", "1234.5"}, {"1'234.5", "1234.5"}, {"1\u00a0234", "1234"},
			{"$1,234.56", "1234.56"}, {"12 €", "12"}, {"€ -3.5", "-3.5"}, {"-$3", "-3"}, {"1.5E3", "1500"}, {".5E3", "500"}, {"1e-2", "0.01"}, {"-2.50e+1", "-25"},
			{"1,5", "!"}, {"1,23", "!"}, {"1,2345", "!"}, {"0,123", "!"}, {"1,234,56", "!"}, {"1.2.3", "!"}, {"", "!"}, {"-", "!"}, {".", "!"},
			{"1e", "!"}, {"1e1000", "!"}, {"abc", "!"}, {"1 234,5", "!"}, {"1,234 567", "!"}, {"--1", "!"}, {"1-", "-1"}, {"1--", "!"}, {"-1-", "!"}, {"NaN", "!"},
			{"(12.50)", "-12.5"}, {"($1,234.50)", "-1234.5"}, {"(12.50) €", "-12.5"}, {"-(12)", "!"}, {"((12))", "!"}, {"12.50-", "-12.5"},
			{"EUR 12.50", "12.5"}, {"12.50 USD", "12.5"}, {"USD12", "12"}, {"US$ 12", "12"}, {"R$ 12", "12"}, {"12 zł", "12"}, {"€12", "12"},
			{"-EUR 12", "-12"}, {"EUR -12", "-12"}, {"ABC 12", "!"}, {"eur 12", "!"}, {"EUR 12 USD", "!"}, {"EUR", "!"}, {"12 E", "!"},
			{"Infinity", "!"}, {"0x10", "!"}, {"1_000", "!"}, {" 1", "!"},
		})
	})
	t.Run("comma", func(t *testing.T) {
		t.Parallel()
		runParse(t, comma, []parseCase{
			{"1,7", "1.7"}, {"200.000.000", "200000000"}, {"1.234,56", "1234.56"}, {"1 234,56", "1234.56"}, {"-0,50", "-0.5"},
			{"12,00 €", "12"}, {"1234", "1234"}, {"EUR 1.234,56", "1234.56"}, {"1 234,56 €", "1234.56"}, {"(1.234,56)", "-1234.56"},
			{"1.5", "!"}, {"1,2,3", "!"}, {"1.234.56", "!"},
		})
	})
}

func TestParseDecimalNoAlloc(t *testing.T) {
	for _, s := range []string{"1234.50", "-7", "0042", "0", "-0.5", "12.25"} {
		allocs := testing.AllocsPerRun(100, func() { parseDecimal(s, '.') })
		assert.Zero(t, allocs, s)
	}
}

func TestParseNoAlloc(t *testing.T) {
	for name, f := range map[string]func(){
		"email":        func() { ParseEmail("anna.schmidt@example.com") },
		"country code": func() { ParseCountry("de") },
		"country name": func() { ParseCountry("United States") },
		"country a3":   func() { ParseCountry("deu") },
		"bool":         func() { ParseBool("Yes") },
		"phone e164":   func() { phoneFast("+442071234567", false) },
		"date":         func() { parseDate(nil, "1985-03-12") },
		"text":         func() { parseText("Jürgen") },
	} {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
}

func TestDatePatterns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		cases  []parseCase
	}{
		{"", []parseCase{{"2023-02-28", "2023-02-28"}, {"2024-02-29", "2024-02-29"}, {"2023-02-29", "!"}, {"2023-02-30", "!"},
			{"2023-13-01", "!"}, {"2023-00-10", "!"}, {"0000-01-01", "!"}, {"2023-1-01", "!"}, {"2023-01-01T00:00:00", "!"}, {"20230101", "!"}}},
		{"dd.MM.yyyy", []parseCase{{"31.12.2012", "2012-12-31"}, {"01.02.2014", "2014-02-01"}, {"1.2.2014", "!"}, {"31.04.2020", "!"}}},
		{"dd/MM/yyyy", []parseCase{{"02/01/2014", "2014-01-02"}, {"31/12/2012", "2012-12-31"}, {"12/31/2012", "!"}}},
		{"d.M.yy", []parseCase{{"1.2.14", "2014-02-01"}, {"31.12.69", "1969-12-31"}, {"31.12.68", "2068-12-31"}, {"01.02.14", "2014-02-01"}}},
		{"yyyyMMdd", []parseCase{{"20140102", "2014-01-02"}, {"20121231", "2012-12-31"}, {"2014012", "!"}, {"4.5", "!"}}},
		{"d MMMM yyyy", []parseCase{{"3 March 2021", "2021-03-03"}, {"3 MARCH 2021", "2021-03-03"}, {"3 Mar 2021", "2021-03-03"}, {"3 Marc 2021", "!"}}},
		{"MMM d, yyyy", []parseCase{{"Sep 5, 2020", "2020-09-05"}, {"sep 5, 2020", "2020-09-05"}}},
		{"'Day' d 'of' MMMM yyyy", []parseCase{{"Day 5 of May 2020", "2020-05-05"}}},
		{"dd''MM''yyyy", []parseCase{{"01'02'2020", "2020-02-01"}, {"01022020", "!"}}},
	}
	for _, tt := range tests {
		var p *pattern
		if tt.format != "" {
			var err error
			p, err = compilePattern(tt.format)
			require.NoError(t, err, tt.format)
			require.NoError(t, p.checkFor(intake.TypeDate), tt.format)
		}
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			runParse(t, func(s string) (intake.Value, bool) { return parseDate(p, s) }, tt.cases)
		})
	}
}

func TestTimestampAndTime(t *testing.T) {
	t.Parallel()
	t.Run("timestamp default", func(t *testing.T) {
		t.Parallel()
		runParse(t, func(s string) (intake.Value, bool) { return parseTimestamp(nil, s, nil) }, []parseCase{
			{"2024-03-01 12:30:05", "2024-03-01T12:30:05Z"}, {"2024-03-01T12:30:05", "2024-03-01T12:30:05Z"},
			{"2024-03-01T12:30:05+02:00", "2024-03-01T10:30:05Z"}, {"2024-03-01T12:30:05.25Z", "2024-03-01T12:30:05.25Z"},
			{"2024-03-01 25:30:05", "!"}, {"2024-02-30 12:00:00", "!"}, {"2024-03-01", "!"}, {"yesterday", "!"},
		})
	})
	t.Run("timestamp format", func(t *testing.T) {
		t.Parallel()
		p, err := compilePattern("dd.MM.yyyy HH:mm")
		require.NoError(t, err)
		require.NoError(t, p.checkFor(intake.TypeTimestamp))
		runParse(t, func(s string) (intake.Value, bool) { return parseTimestamp(p, s, nil) }, []parseCase{
			{"01.03.2024 08:15", "2024-03-01T08:15:00Z"}, {"01.03.2024 24:15", "!"},
		})
	})
	t.Run("time", func(t *testing.T) {
		t.Parallel()
		runParse(t, func(s string) (intake.Value, bool) { return parseTime(nil, s, nil) }, []parseCase{
			{"08:15", "08:15:00"}, {"23:59:59", "23:59:59"}, {"24:00", "!"}, {"8:15", "!"},
		})
	})
}

func TestPatternErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		format string
		typ    intake.FieldType
		bad    string
	}{
		{"dd.MM.yyyy", intake.TypeDate, ""},
		{"yyyy-MM-dd'T'HH:mm:ss.SSS", intake.TypeTimestamp, ""},
		{"HH:mm", intake.TypeTime, ""},
		{"dd.MM.yyy", intake.TypeDate, "not supported"},
		{"dd.MM.yyyy EEE", intake.TypeDate, "not supported"},
		{"dd.MM.yyyy 'T", intake.TypeDate, "unterminated"},
		{"dd.dd.yyyy", intake.TypeDate, "repeats"},
		{"MM.yyyy", intake.TypeDate, "needs"},
		{"dd.MM.yyyy HH:mm", intake.TypeDate, "cannot have hours"},
		{"HH:mm", intake.TypeDate, "needs"},
		{"dd.MM.yyyy", intake.TypeDecimal, "date, time and timestamp"},
		{"yyyyMd", intake.TypeDate, "ambiguous"},
		{"d.Myyyy", intake.TypeDate, "ambiguous"},
		{"dMMMM yyyy", intake.TypeDate, ""},
		{"yyyy-MM-dd ss", intake.TypeTimestamp, "seconds need minutes"},
		{"", intake.TypeDate, "empty pattern"},
		{"dd''MM''yyyy", intake.TypeDate, ""},
		{"dd.MMMMM.yyyy", intake.TypeDate, `"MMMMM" at position 4 is not supported`},
		{"ddd.MM.yyyy", intake.TypeDate, `"ddd" at position 1 is not supported`},
		{"aa", intake.TypeTime, `"aa" at position 1 is not supported`},
		{"yyyy-MM-dd HH:mX", intake.TypeTimestamp, `"X" at position 16 follows a one-or-two-digit field directly`},
	} {
		p, err := compilePattern(tt.format)
		if err == nil {
			err = p.checkFor(tt.typ)
		}
		if tt.bad == "" {
			assert.NoError(t, err, tt.format)
		} else if assert.Error(t, err, tt.format) {
			assert.Contains(t, err.Error(), tt.bad, tt.format)
		}
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	o := newOptions([]string{"Gold", "silver", "Food, Drinks"})
	runParse(t, func(s string) (intake.Value, bool) { return parseSelect(o, s) }, []parseCase{
		{"Gold", "Gold"}, {"gold", "Gold"}, {"SILVER", "silver"}, {"bronze", "!"},
	})
	runParse(t, func(s string) (intake.Value, bool) { return parseMultiSelect(o, s) }, []parseCase{
		{"gold;silver", "Gold|silver"}, {"gold | silver | GOLD", "Gold|silver"}, {"gold,silver", "Gold|silver"},
		{"food, drinks", "Food, Drinks"}, {"food, drinks; gold", "Food, Drinks|Gold"}, {"gold;bronze", "!"}, {";;", ""},
	})
	runParse(t, func(s string) (intake.Value, bool) { return parseMultiSelect(nil, s) }, []parseCase{
		{"a; b ;c", "a|b|c"}, {"x", "x"},
	})
}

func TestTextAndID(t *testing.T) {
	t.Parallel()
	runParse(t, parseText, []parseCase{{"Jürgen", "Jürgen"}, {"line\nbreak", "line\nbreak"}, {"a\x00b", "!"}, {"\xff", "!"}})
	runParse(t, parseID, []parseCase{{"007", "007"}, {"A-12/3", "A-12/3"}, {"a\tb", "!"}, {"\xff", "!"}})
	// For cells known to be valid UTF-8: the same, without that check.
	runParse(t, parseValidText, []parseCase{{"Jürgen", "Jürgen"}, {"line\nbreak", "line\nbreak"}, {"a\x00b", "!"}})
	runParse(t, parseValidID, []parseCase{{"007", "007"}, {"A-12/3", "A-12/3"}, {"a\tb", "!"}, {"a\x7fb", "!"}})
}

func TestCurrencyRestriction(t *testing.T) {
	t.Parallel()
	eur, err := newCurrencyTokens("EUR")
	require.NoError(t, err)
	runParse(t, func(s string) (intake.Value, bool) { return parseAmount(s, ',', eur) }, []parseCase{
		{"EUR 1.234,56", "1234.56"}, {"12 €", "12"}, {"12", "12"}, {"12 USD", "!"}, {"$12", "!"}, {"£12", "!"},
	})
	usd, err := newCurrencyTokens("USD")
	require.NoError(t, err)
	runParse(t, func(s string) (intake.Value, bool) { return parseAmount(s, '.', usd) }, []parseCase{
		{"$12", "12"}, {"US$12", "12"}, {"12.50 USD", "12.5"}, {"(12.50)", "-12.5"}, {"12 EUR", "!"},
	})
	_, err = newCurrencyTokens("EURO")
	assert.ErrorContains(t, err, "ISO 4217")
	_, err = newCurrencyTokens("ABC")
	assert.ErrorContains(t, err, "ISO 4217")
}

func TestCorpusLeadingZeroes(t *testing.T) {
	t.Parallel()
	cells := corpusCells(t, "test_no_leading_zeroes.csv")
	want := map[string]string{"01": "01", "00.11": "00.11", "0.1": "0.1"}
	for _, c := range cells[3:] {
		v, ok := parseID(c)
		require.True(t, ok)
		assert.Equal(t, want[c], v.Str(), "ids keep leading zeros")
	}
	d, ok := parseDecimal("00.11", '.')
	require.True(t, ok)
	assert.Equal(t, "0.11", d.String())
}

func TestCorpusLocale(t *testing.T) {
	t.Parallel()
	cells := corpusCells(t, "test_locale.csv") // a,b,c / "1,7","200.000.000",""
	v, ok := parseDecimal(cells[3], ',')
	require.True(t, ok)
	assert.Equal(t, "1.7", v.String())
	v, ok = parseDecimal(cells[4], ',')
	require.True(t, ok)
	assert.Equal(t, "200000000", v.String())
}

func TestCorpusDates(t *testing.T) {
	t.Parallel()
	cells := corpusCells(t, "test_date_format.csv")
	p, err := compilePattern("dd/MM/yyyy")
	require.NoError(t, err)
	var got []string
	for _, c := range cells[1:] {
		v, ok := parseDate(p, c)
		require.True(t, ok, c)
		got = append(got, v.String())
	}
	assert.Equal(t, []string{"2014-01-02", "2012-12-31"}, got)

	cells = corpusCells(t, "test_numeric_date_format.csv")
	p, err = compilePattern("yyyyMMdd")
	require.NoError(t, err)
	got = got[:0]
	for _, c := range cells[1:] {
		v, ok := parseDate(p, c)
		require.True(t, ok, c)
		got = append(got, v.String())
	}
	assert.Equal(t, []string{"2014-01-02", "2012-12-31"}, got)
}
