package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// header is the generated file's header row. mapping.Suggest maps every one
// of its columns to the default contact schema (the test checks it).
var header = []string{"Customer ID", "E-Mail", "First Name", "Last Name", "Mobile", "Date of Birth", "Country", "City", "Lifetime Value"}

// dupPercent is the share of rows that repeat the email of an earlier row,
// with another case or surrounding spaces.
const dupPercent = 5

// name is a name as written in the file and its ASCII form for emails.
type name struct{ text, ascii string }

var firstNames = []name{
	{"José", "jose"}, {"Zoë", "zoe"}, {"Łukasz", "lukasz"}, {"Søren", "soren"}, {"太郎", "taro"},
	{"François", "francois"}, {"Björn", "bjorn"}, {"Ángel", "angel"}, {"Chloé", "chloe"}, {"Jürgen", "jurgen"},
	{"Noémie", "noemie"}, {"João", "joao"}, {"Siobhán", "siobhan"}, {"花子", "hanako"}, {"Renée", "renee"},
	{"Anna", "anna"}, {"John", "john"}, {"Mary", "mary"}, {"Michael", "michael"}, {"Sarah", "sarah"},
	{"David", "david"}, {"Emma", "emma"}, {"Lucas", "lucas"}, {"Olivia", "olivia"}, {"Liam", "liam"},
	{"Sofia", "sofia"}, {"Mateo", "mateo"}, {"Giulia", "giulia"}, {"Marco", "marco"}, {"Ana", "ana"},
	{"Mary Ann", "maryann"}, {"Dmitri", "dmitri"}, {"Katarzyna", "katarzyna"}, {"Ingrid", "ingrid"},
	{"Elizabeth", "elizabeth"}, {"Christopher", "christopher"}, {"Jean-Baptiste", "jeanbaptiste"},
	{"Alexandra", "alexandra"}, {"Maximilian", "maximilian"}, {"Anna-Lena", "annalena"}, {"Konstantinos", "konstantinos"},
	{"Bartholomew", "bartholomew"}, {"Małgorzata", "malgorzata"}, {"Anne-Sophie", "annesophie"}, {"Guðmundur", "gudmundur"},
	{"Alessandro", "alessandro"}, {"Margarethe", "margarethe"}, {"Sebastian", "sebastian"}, {"Francesca", "francesca"},
}

var lastNames = []name{
	{"Smith", "smith"}, {"Smith, Jr.", "smith"}, {"García", "garcia"}, {"Müller", "muller"}, {"Nowak", "nowak"},
	{"Kowalski", "kowalski"}, {"山田", "yamada"}, {"佐藤", "sato"}, {"Ødegaard", "odegaard"}, {"Dubois", "dubois"},
	{"Rossi", "rossi"}, {"Silva", "silva"}, {"O'Brien", "obrien"}, {"Johnson, III", "johnson"}, {"King, Sr.", "king"},
	{"Schmidt", "schmidt"}, {"Lefèvre", "lefevre"}, {"Jensen", "jensen"}, {"Andersson", "andersson"},
	{"Fernández", "fernandez"}, {"van der Berg", "vanderberg"}, {"Nguyễn", "nguyen"}, {"Wiśniewska", "wisniewska"},
	{"Brown", "brown"}, {"Williams", "williams"}, {"Martin", "martin"}, {"Bernard", "bernard"},
	{"Ferrari", "ferrari"}, {"Santos", "santos"}, {"Papadopoulos", "papadopoulos"}, {"Østergård", "ostergard"},
	{"Hernández-López", "hernandezlopez"}, {"MacDonald", "macdonald"}, {"Yılmaz", "yilmaz"},
	{"Wojciechowski", "wojciechowski"}, {"Vásquez Rodríguez", "vasquezrodriguez"}, {"Schwarzenegger", "schwarzenegger"},
	{"Montgomery, Jr.", "montgomery"}, {"Christodoulou", "christodoulou"}, {"Van den Bossche", "vandenbossche"},
	{"Abernathy-Smythe", "abernathysmythe"}, {"Karlsson", "karlsson"}, {"Fitzgerald", "fitzgerald"},
	{"Brzęczyszczykiewicz", "brzeczyszczykiewicz"}, {"Kristiansen", "kristiansen"}, {"de la Fuente", "delafuente"},
}

var domains = []string{
	"example.com", "gmail.com", "yahoo.co.uk", "web.de", "outlook.fr", "hotmail.com", "icloud.com",
	"gmx.net", "libero.it", "wp.pl", "proton.me", "mail.example.org", "northwind-traders.com",
	"contoso-pharma.co.uk", "acme-logistics.de", "globex-corporation.com", "initech-solutions.fr",
	"umbrella-holdings.it", "wayne-enterprises.example", "stark-industries.example",
}

// country is an ISO 3166-1 alpha-2 code, its cities, and phone formats:
// each '#' of a format is replaced with a random digit. Every format gives
// numbers that libphonenumber deems possible (the test checks a sample).
type country struct {
	code   string
	cities []string
	phones []string
}

var countries = []country{
	{"US", []string{"Washington, D.C.", "New York", "Chicago", "San Francisco", "Boston", "Portland, Oregon", "Austin", "Los Angeles, California", "Salt Lake City"},
		[]string{"+1 202-555-0###", "+1 212-###-####", "+1 415-###-####", "+1 312-###-####", "+1 (617) ###-####"}},
	{"DE", []string{"Berlin", "München", "Köln", "Hamburg", "Frankfurt, am Main", "Düsseldorf", "Garmisch-Partenkirchen", "Freiburg im Breisgau"},
		[]string{"+49 30 #######", "+49 151 ########", "+49 89 ########", "+49 221 #######"}},
	{"GB", []string{"London", "Manchester", "London, Westminster", "Edinburgh", "Bristol", "Newcastle upon Tyne", "Stratford-upon-Avon"},
		[]string{"+44 20 7946 0###", "+44 7700 900###", "+44 161 ### ####"}},
	{"FR", []string{"Paris", "Lyon", "Marseille", "Paris, 8e", "Toulouse", "Nice", "Saint-Rémy-de-Provence", "Boulogne-Billancourt"},
		[]string{"+33 1 42 ## ## ##", "+33 6 ## ## ## ##", "+33 4 ## ## ## ##"}},
	{"ES", []string{"Madrid", "Barcelona", "Sevilla", "Madrid, Centro", "Málaga", "Santiago de Compostela", "Palma de Mallorca"},
		[]string{"+34 91 ### ## ##", "+34 612 ### ###", "+34 93 ### ## ##"}},
	{"IT", []string{"Roma", "Milano", "Torino", "Napoli", "Firenze", "Reggio nell'Emilia", "San Giovanni in Persiceto"},
		[]string{"+39 06 #### ####", "+39 02 #### ####", "+39 347 ### ####"}},
	{"PL", []string{"Warszawa", "Kraków", "Łódź", "Wrocław", "Gdańsk", "Bielsko-Biała", "Gorzów Wielkopolski"},
		[]string{"+48 22 ### ## ##", "+48 601 ### ###", "+48 12 ### ## ##"}},
	{"DK", []string{"København", "Aarhus", "Odense", "København, Nørrebro", "Frederiksberg"},
		[]string{"+45 32 ## ## ##", "+45 20 ## ## ##"}},
	{"JP", []string{"東京", "大阪", "Tokyo, Shibuya", "京都", "Sapporo", "Yokohama, Kanagawa"},
		[]string{"+81 3-####-####", "+81 90-####-####", "+81 6-####-####"}},
	{"BR", []string{"São Paulo", "Rio de Janeiro, RJ", "Brasília", "Belo Horizonte", "Florianópolis, SC"},
		[]string{"+55 11 9####-####", "+55 21 9####-####"}},
	{"NL", []string{"Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "'s-Hertogenbosch"},
		[]string{"+31 20 ### ####", "+31 6 ########"}},
}

// genStats describes a generated file.
type genStats struct {
	Rows       int   `json:"rows"`
	Bytes      int64 `json:"bytes"`
	Duplicates int   `json:"duplicate_rows"` // rows repeating an earlier email
	Distinct   int   `json:"distinct_emails"`
}

// generator produces the rows of a contact file. Row i is a pure function of
// (seed, i), so that a duplicate row can recompute the email of the row it
// repeats without keeping every email in memory.
type generator struct {
	seed uint64
}

// rowRand returns the random source of row i.
func (g generator) rowRand(i int) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed, uint64(i)*0x9e3779b97f4a7c15+1))
}

// dupOf returns the earlier row that row i repeats the email of, or -1.
// It draws from r first, so callers must pass row i's fresh source.
func dupOf(r *rand.Rand, i int) int {
	if i == 0 || r.IntN(100) >= dupPercent {
		return -1
	}
	return r.IntN(i)
}

// baseEmail is the email of a row that repeats no other row.
func (g generator) baseEmail(i int, first, last name, r *rand.Rand) string {
	return first.ascii + "." + last.ascii + "." + strconv.Itoa(i+1) + "@" + domains[r.IntN(len(domains))]
}

// canonical returns the email of row i in its canonical (generated) form,
// and the row that first used it.
func (g generator) canonical(i int) (string, int) {
	for {
		r := g.rowRand(i)
		if j := dupOf(r, i); j >= 0 {
			i = j
			continue
		}
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		return g.baseEmail(i, first, last, r), i
	}
}

// variant writes email another way: upper case, capitalized, or with
// spaces around it.
func variant(email string, r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return strings.ToUpper(email)
	case 1: // Jose.Garcia.12@Example.com
		b := []byte(email)
		up := true
		for k, c := range b {
			if up && c >= 'a' && c <= 'z' {
				b[k] = c - 'a' + 'A'
			}
			up = c == '.' || c == '@'
		}
		return string(b)
	case 2:
		return " " + email
	case 3:
		return email + "  "
	default:
		return "  " + strings.ToUpper(email[:1]) + email[1:] + " "
	}
}

// changeRand returns the source of row i's changes in the changed file: a
// stream of its own, so that the row's other values stay those of the base
// file.
func (g generator) changeRand(i int) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed^0x6368616e676564, uint64(i)*0x9e3779b97f4a7c15+2))
}

// appendRow appends row i (without the line end) to dst and reports
// whether it repeats an earlier row's email. With changed, it is row i of
// the changed file: the same row with another city of its country and
// another lifetime value.
func (g generator) appendRow(dst []byte, i int, changed bool) ([]byte, bool) {
	r := g.rowRand(i)
	j := dupOf(r, i)
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	var email string
	id := i
	if j >= 0 {
		// The same customer again (same id), written differently, with
		// other details: an update.
		email, id = g.canonical(j)
		email = variant(email, r)
	} else {
		email = g.baseEmail(i, first, last, r)
	}
	c := &countries[r.IntN(len(countries))]
	dst = append(dst, "0035g0000"...) // an 18-character, CRM-style id
	dst = appendPadded(dst, id+1, 9)
	dst = append(dst, ',')
	dst = appendCell(dst, email)
	dst = append(dst, ',')
	dst = appendCell(dst, first.text)
	dst = append(dst, ',')
	dst = appendCell(dst, last.text)
	dst = append(dst, ',')
	for _, ch := range []byte(c.phones[r.IntN(len(c.phones))]) {
		if ch == '#' {
			ch = byte('0' + r.IntN(10))
		}
		dst = append(dst, ch)
	}
	dst = append(dst, ',')
	dst = appendPadded(dst, 1940+r.IntN(67), 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, 1+r.IntN(12), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, 1+r.IntN(28), 2)
	dst = append(dst, ',')
	dst = append(dst, c.code...)
	dst = append(dst, ',')
	city, cents := r.IntN(len(c.cities)), r.IntN(10_000_000)
	if changed {
		rc := g.changeRand(i)
		city = (city + 1 + rc.IntN(len(c.cities)-1)) % len(c.cities)
		cents = (cents + 1 + rc.IntN(10_000_000-1)) % 10_000_000
	}
	dst = appendCell(dst, c.cities[city])
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(cents/100), 10)
	dst = append(dst, '.')
	dst = appendPadded(dst, cents%100, 2)
	return dst, j >= 0
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(dst []byte, n, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(n), 10)
	for k := len(s); k < width; k++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// appendCell appends s as a CSV cell, quoted when it holds a comma, a quote
// or a line break.
func appendCell(dst []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for k := 0; k < len(s); k++ {
		if s[k] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[k])
	}
	return append(dst, '"')
}

// generate writes rows contact rows (plus the header) to path.
func generate(path string, rows int, seed uint64) (genStats, error) {
	return writeFile(path, rows, seed, false)
}

// generateChanged writes the changed file of the file generate writes with
// the same rows and seed: every row the same, with its email written the
// same way, but for two fields, City (another city of the row's country) and
// Lifetime Value (another amount). Imported over the records the first file
// left, every row updates its record: a row whose email no other row has
// finds its record two fields away; of the rows that share an email, the
// first finds the record as the last of them left it in the first file and
// each other one as the row before it left it, which differ in more fields
// (names, phone, birthday, country), as they do in the first file.
func generateChanged(path string, rows int, seed uint64) (genStats, error) {
	return writeFile(path, rows, seed, true)
}

// writeFile writes the rows of the file or of its changed variant.
func writeFile(path string, rows int, seed uint64, changed bool) (genStats, error) {
	st := genStats{Rows: rows}
	f, err := os.Create(path)
	if err != nil {
		return st, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := []byte(strings.Join(header, ",") + "\n")
	w.Write(line)
	st.Bytes += int64(len(line))
	for i := range rows {
		var dup bool
		line, dup = generator{seed}.appendRow(line[:0], i, changed)
		line = append(line, '\n')
		if dup {
			st.Duplicates++
		}
		if _, err := w.Write(line); err != nil {
			f.Close()
			return st, err
		}
		st.Bytes += int64(len(line))
	}
	st.Distinct = rows - st.Duplicates
	if err := w.Flush(); err != nil {
		f.Close()
		return st, err
	}
	if err := f.Close(); err != nil {
		return st, fmt.Errorf("write %s: %w", path, err)
	}
	return st, nil
}
