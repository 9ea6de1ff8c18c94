package mapping

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// countries is the lookup table of [ParseCountry], built once.
type countryTable struct {
	alpha2 [26 * 26]string   // "DE" at index ('D'-'A')*26+('E'-'A'); "" when not a country
	alpha3 map[string]string // "DEU" → "DE"
	m49    map[string]string // "276" → "DE"
	names  map[string]string // normalized name ("germany", "deutschland") → "DE"
	nameOf map[string]string // "DE" → "Germany"
}

var (
	countriesOnce sync.Once
	countries     *countryTable
)

// countryAliases are names that CLDR's display names miss: short forms,
// former and colloquial names. Keys are normalized like header names.
var countryAliases = map[string]string{
	"uk": "GB", "greatbritain": "GB", "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
	"northernireland": "GB", "unitedkingdomofgreatbritainandnorthernireland": "GB",
	"us": "US", "usa": "US", "unitedstatesofamerica": "US", "america": "US",
	"hongkong": "HK", "macau": "MO", "macao": "MO", "burma": "MM", "myanmar": "MM",
	"drc": "CD", "drcongo": "CD", "democraticrepublicofthecongo": "CD", "democraticrepublicofcongo": "CD", "zaire": "CD",
	"republicofthecongo": "CG", "republicofcongo": "CG", "congo": "CG",
	"palestine": "PS", "stateofpalestine": "PS", "turkiye": "TR", "czechrepublic": "CZ", "ivorycoast": "CI",
	"korea": "KR", "republicofkorea": "KR", "southkorea": "KR", "northkorea": "KP",
	"russianfederation": "RU", "vaticancity": "VA", "vatican": "VA", "holysee": "VA",
	"holland": "NL", "eswatini": "SZ", "caboverde": "CV", "easttimor": "TL", "northmacedonia": "MK",
	"uae": "AE", "emirates": "AE", "persia": "IR", "syrianarabrepublic": "SY", "laopdr": "LA",
	"bosniaherzegovina": "BA", "trinidadtobago": "TT", "saintkittsandnevis": "KN", "saintlucia": "LC",
	"saintvincentandthegrenadines": "VC", "saotomeandprincipe": "ST", "micronesiafederatedstatesof": "FM",
	"deutschland": "DE", "osterreich": "AT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "espana": "ES",
	"italia": "IT", "nederland": "NL", "belgique": "BE", "belgie": "BE", "polska": "PL", "sverige": "SE",
	"norge": "NO", "danmark": "DK", "suomi": "FI", "eire": "IE", "hellas": "GR", "magyarorszag": "HU",
	"cesko": "CZ", "brasil": "BR", "mexique": "MX", "nippon": "JP", "zhongguo": "CN",
}

// countryNameLanguages are the languages whose country names are accepted,
// besides English (which wins any conflict).
var countryNameLanguages = []*display.Dictionary{display.German, display.French, display.Spanish, display.Italian, display.Dutch, display.Portuguese}

func countryLookup() *countryTable {
	countriesOnce.Do(func() {
		t := &countryTable{
			alpha3: map[string]string{},
			m49:    map[string]string{},
			names:  map[string]string{},
			nameOf: map[string]string{},
		}
		english := display.English.Regions()
		var codes []language.Region
		for a := byte('A'); a <= 'Z'; a++ {
			for b := byte('A'); b <= 'Z'; b++ {
				code := string([]byte{a, b})
				r, err := language.ParseRegion(code)
				if err != nil || r.String() != code || r.Canonicalize() != r || !r.IsCountry() || r.M49() == 0 {
					continue
				}
				name := english.Name(r)
				if name == "" {
					continue // withdrawn codes (AN, CS, SU, YU, …)
				}
				t.alpha2[int(a-'A')*26+int(b-'A')] = code
				t.alpha3[r.ISO3()] = code
				t.m49[threeDigits(r.M49())] = code
				t.nameOf[code] = name
				codes = append(codes, r)
			}
		}
		t.alpha2[('U'-'A')*26+('K'-'A')] = "GB" // common, though not ISO 3166-1
		addName := func(name, code string, override bool) {
			for _, v := range nameVariants(name) {
				k := normalizeName(v)
				if k == "" {
					continue
				}
				if old, ok := t.names[k]; ok && !override && old != code {
					continue
				}
				t.names[k] = code
			}
		}
		for _, d := range countryNameLanguages {
			n := d.Regions()
			for _, r := range codes {
				addName(n.Name(r), r.String(), false)
			}
		}
		for k, code := range countryAliases {
			t.names[k] = code
		}
		for _, r := range codes {
			addName(english.Name(r), r.String(), true)
		}
		countries = t
	})
	return countries
}

func threeDigits(n int) string {
	return string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}

// nameVariants returns a CLDR country name and its common rewrites:
// "St. Kitts & Nevis" → "Saint Kitts and Nevis"; "Myanmar (Burma)" →
// "Myanmar"; "Hong Kong SAR China" → "Hong Kong"; "Congo - Kinshasa".
func nameVariants(name string) []string {
	v := []string{name}
	alt := strings.ReplaceAll(name, "&", "and")
	alt = strings.ReplaceAll(alt, "St. ", "Saint ")
	v = append(v, alt)
	if i := strings.Index(name, " ("); i > 0 {
		v = append(v, name[:i])
	}
	if i := strings.Index(name, " SAR"); i > 0 {
		v = append(v, name[:i])
	}
	return v
}

var folder = cases.Fold()

// normalizeName folds s for loose matching of header and country names:
// case-folded ("ß" → "ss"), accents removed, and everything but letters and
// digits dropped: "E-Mail Address" → "emailaddress", "Côte d’Ivoire" →
// "cotedivoire".
func normalizeName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFKD.String(folder.String(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r < utf8.RuneSelf || unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// ParseCountry reads a country and returns its ISO 3166-1 alpha-2 code,
// upper-case, as a text value. It accepts, in any case: alpha-2 codes
// ("de", "UK" for GB), alpha-3 codes ("DEU"), UN M.49 numeric codes
// ("276"), and country names in English, German, French, Spanish, Italian,
// Dutch and Portuguese as CLDR spells them, accents, spaces and punctuation
// ignored ("Germany", "Deutschland", "Cote d'Ivoire", "Saint Kitts and
// Nevis", "The Netherlands"), plus common short, former and native forms
// ("USA", "Great Britain", "Czech Republic", "Burma", "Holland"). Regions
// that are not countries ("EU", "419", "Europe") are rejected. Codes come
// from golang.org/x/text/language; the table is built on first use.
//
// Known codes and ASCII names are looked up without allocating.
func ParseCountry(s string) (intake.Value, bool) {
	s = trimCell(s)
	t := countryLookup()
	switch len(s) {
	case 2:
		a, b := upperLetter(s[0]), upperLetter(s[1])
		if a < 26 && b < 26 {
			if c := t.alpha2[a*26+b]; c != "" {
				return intake.Text(c), true
			}
			return intake.Null, false
		}
	case 3:
		a, b, c := upperLetter(s[0]), upperLetter(s[1]), upperLetter(s[2])
		if a < 26 && b < 26 && c < 26 {
			buf := [3]byte{byte('A' + a), byte('A' + b), byte('A' + c)}
			if code, ok := t.alpha3[string(buf[:])]; ok {
				return intake.Text(code), true
			}
		} else if code, ok := t.m49[s]; ok {
			return intake.Text(code), true
		}
	}
	// A name: normalize ASCII on the stack, anything else through normalizeName.
	var buf [64]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= utf8.RuneSelf:
			return lookupName(t, normalizeName(s))
		default:
			continue
		}
		if n == len(buf) {
			return lookupName(t, normalizeName(s))
		}
		buf[n] = c
		n++
	}
	if code, ok := t.names[string(buf[:n])]; ok {
		return intake.Text(code), true
	}
	return lookupName(t, string(buf[:n]))
}

func lookupName(t *countryTable, k string) (intake.Value, bool) {
	if code, ok := t.names[k]; ok {
		return intake.Text(code), true
	}
	if rest, ok := strings.CutPrefix(k, "the"); ok {
		if code, ok := t.names[rest]; ok {
			return intake.Text(code), true
		}
	}
	return intake.Null, false
}

// upperLetter returns 0–25 for an ASCII letter and 26 for anything else.
func upperLetter(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	}
	return 26
}

// CountryName returns the English name of an ISO 3166-1 alpha-2 code
// ("DE" → "Germany"), or "" when code is not a country.
func CountryName(code string) string {
	return countryLookup().nameOf[code]
}
