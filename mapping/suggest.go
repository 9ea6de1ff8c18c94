package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/intakehq/intake"
)

// synonyms lists header names that mean a field of the default schemas,
// besides the field's own name and label. Matching normalizes both sides
// (see normalizeName), so "E-Mail", "e_mail" and "EMAIL" are one entry.
// Add entries freely: a header matches at most one field, fields are
// matched by their own name first, and a field is suggested once.
var synonyms = map[string][]string{
	"email": {"E-mail", "Email Address", "E-mail address", "Mail", "Mail address", "Email-Adresse", "E-Mail-Adresse",
		"Courriel", "Adresse e-mail", "Adresse mail", "Correo", "Correo electrónico", "Primary email", "Work email", "Contact email",
		"Indirizzo email", "Posta elettronica", "E-mailadres", "Endereço de e-mail", "Endereço de email"},
	"phone": {"Phone", "Mobile", "Mobile phone", "Mobile number", "Cell", "Cell phone", "Cellphone", "Telephone", "Phone number",
		"Tel", "Tel.", "Telefon", "Telefonnummer", "Handy", "Handynummer", "Mobil", "Mobilnummer", "Téléphone", "Portable",
		"Numéro de téléphone", "Teléfono", "Móvil", "Celular", "Telefono", "Cellulare", "Primary phone", "Work phone", "SMS",
		"Número de teléfono", "Teléfono móvil", "Numero di telefono", "Telefoonnummer", "Mobiel", "Mobiele nummer", "Telefone",
		"Telemóvel", "Número de telefone", "Numéro de portable"},
	"first_name": {"First Name", "Firstname", "First", "Given name", "Forename", "Vorname", "Prénom", "Nombre", "Nome", "Voornaam",
		"Primeiro nome", "Nome próprio", "Nombre de pila"},
	"last_name": {"Last Name", "Lastname", "Last", "Surname", "Family name", "Nachname", "Familienname", "Nom", "Nom de famille",
		"Apellido", "Apellidos", "Cognome", "Achternaam", "Sobrenome", "Apelido", "Último nome"},
	"birthday": {"Birthday", "Date of Birth", "DOB", "Birthdate", "Birth date", "Born", "Geburtstag", "Geburtsdatum",
		"Date de naissance", "Fecha de nacimiento", "Data di nascita", "Geboortedatum", "Data de nascimento", "Aniversário", "Cumpleaños",
		"Compleanno", "Verjaardag", "Anniversaire"},
	"country": {"Country", "Country code", "Country/Region", "Country or region", "Nation", "Land", "Pays", "País", "Paese", "Staat"},
	"city": {"City", "Town", "Locality", "Stadt", "Ort", "Wohnort", "Ville", "Ciudad", "Città", "Plaats", "Woonplaats", "Stad",
		"Cidade", "Localidad", "Località"},
	"contact_id": {"Contact ID", "Customer ID", "External ID", "ID", "Customer number", "Customer no", "Client ID", "Record ID",
		"Kundennummer", "Kunden-ID", "Kundennr", "Numéro client", "ID client"},
	"lifetime_value": {"Lifetime value", "LTV", "CLV", "CLTV", "Customer lifetime value", "Revenue", "Total revenue", "Total spent",
		"Total spend", "Umsatz", "Gesamtumsatz", "Chiffre d'affaires", "Ingresos"},
	"account_id":  {"Account ID", "Company ID", "Organization ID", "Organisation ID"},
	"name":        {"Company", "Company name", "Account name", "Organization", "Organisation", "Firma", "Firmenname", "Société", "Empresa"},
	"domain":      {"Website", "Web site", "URL", "Domain name", "Company domain"},
	"occurred_at": {"Timestamp", "Date", "Time", "Event time", "Event date", "Created at", "Occurred"},
	"event_id":    {"Event ID", "Activity ID"},
}

// normalizedSynonyms maps a normalized header name to a field name.
var normalizedSynonyms = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for field, names := range synonyms {
		for _, n := range names {
			m[normalizeName(n)] = field
		}
	}
	return m
})

// Suggest builds a mapping spec from a header: each column goes to the
// schema field whose name or label matches the header cell, or else to the
// field that the header cell is a known synonym of ("E-Mail", "Vorname",
// "DOB", "Umsatz", …), or else to a field with a very similar name;
// matching ignores case, accents, spaces and punctuation. A field is
// suggested at most once (the higher confidence wins, then the first
// column); other columns get "skip": true. Columns are named by Source,
// and also by Index when their header name is blank or not unique. A nil
// header gives a spec without columns.
//
// It is SuggestDetailed(header, nil, schema, SuggestOptions{}).Spec():
// the result is a starting point for a person to review, and what
// [Compile] uses when it is given no spec.
func Suggest(header []string, schema *intake.Schema) *Spec {
	return SuggestDetailed(header, nil, schema, SuggestOptions{}).Spec()
}

// Confidence levels of [SuggestDetailed]'s evidence.
const (
	ConfidenceExact   = 1.0 // the header is the field's name or label
	ConfidenceSynonym = 0.9 // the header is a known synonym of the field
	// A similar name scores its similarity × ConfidenceSimilar, when the
	// similarity reaches SimilarNameThreshold.
	ConfidenceSimilar = 0.8
	// SimilarNameThreshold is the least Jaro-Winkler similarity of
	// normalized names (both at least 4 letters long) that counts as
	// evidence: "Emial" ~ "Email" (0.95), "Telefonnumer" ~ "Telefonnummer"
	// (0.98), but not "Name" ~ "Phone".
	SimilarNameThreshold = 0.85
	// DefaultMinConfidence is the least confidence at which a column is
	// mapped to its best candidate.
	DefaultMinConfidence = 0.5
)

// SuggestOptions configure [SuggestDetailed]. The zero value works.
type SuggestOptions struct {
	// AllowDuplicates lets several columns be mapped to the same field.
	// Default false: a field is suggested once, for its best column.
	AllowDuplicates bool
	// MinConfidence is the least confidence at which a column is mapped;
	// 0 means [DefaultMinConfidence]. Weaker candidates are still listed.
	MinConfidence float64
	// DefaultRegion is used to recognize national phone numbers in the
	// sample (see [Options.DefaultRegion]).
	DefaultRegion string
}

// Candidate is one field a column may map to.
type Candidate struct {
	Field string `json:"field"`
	// Confidence is 0..1.
	Confidence float64 `json:"confidence"`
	// Reason says why: "exact name", "synonym", "similar name (0.91) to
	// \"Telefonnummer\"", "content: 47/50 values look like emails", or
	// several joined with "; ".
	Reason string `json:"reason"`
}

// Suggestion is the suggested mapping of one header column.
type Suggestion struct {
	// Index is the column's 1-based position; Header its header cell.
	Index  int    `json:"index"`
	Header string `json:"header"`
	// Field is the suggested field, "" when the column is best skipped;
	// Confidence and Reason are the chosen candidate's.
	Field      string  `json:"field,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	// Candidates lists every field with some evidence, best first (the
	// chosen one included), at most five.
	Candidates []Candidate `json:"candidates,omitempty"`
	// Detection is the format found in the sample for the chosen field,
	// when its type has formats (date, time, timestamp, decimal).
	Detection *Detection `json:"detection,omitempty"`
	// Note explains what a person should check ("ambiguous date
	// format …"); it is copied into the spec's column.
	Note string `json:"note,omitempty"`
}

// Suggestions are the per-column results of [SuggestDetailed].
type Suggestions []Suggestion

// Spec returns the suggested mapping spec: one column per suggestion, by
// Source (and Index when the header name is blank or not unique), with the
// detected format or decimal separator and the note; unmapped columns get
// "skip": true.
func (ss Suggestions) Spec() *Spec {
	spec := &Spec{Version: SpecVersion, Columns: make([]Column, len(ss))}
	count := map[string]int{}
	for _, s := range ss {
		count[strings.TrimSpace(s.Header)]++
	}
	for i, s := range ss {
		c := Column{Source: strings.TrimSpace(s.Header), Note: s.Note}
		if c.Source == "" || count[c.Source] > 1 {
			c.Index = s.Index
		}
		if s.Field == "" {
			c.Skip = true
		} else {
			c.Field = s.Field
			if d := s.Detection; d != nil && !d.Ambiguous {
				c.Format = d.Format
				if d.Decimal == "," {
					c.Decimal = d.Decimal
				}
			}
		}
		spec.Columns[i] = c
	}
	return spec
}

// contentEvidence says how telling a type's values are: the confidence
// that a column whose sample values all parse as the type maps to the
// schema's one field of that type (shared among several such fields).
var contentEvidence = map[intake.FieldType]struct {
	weight float64
	noun   string
}{
	intake.TypeEmail:     {0.85, "emails"},
	intake.TypePhone:     {0.75, "phone numbers"},
	intake.TypeDate:      {0.7, "dates"},
	intake.TypeTimestamp: {0.7, "dates and times"},
	intake.TypeCountry:   {0.65, "countries"},
	intake.TypeBool:      {0.35, "yes/no values"},
	intake.TypeDecimal:   {0.3, "numbers"},
}

// ev is a piece of evidence that column col maps to field.
type ev struct {
	col, field int
	conf       float64
	reason     string
}

// columnEvidence weighs, for column col with header h and sample values
// vals, each field of schema by its name and by the column's content. A
// field the header names exactly outranks the fields that content alone
// suggests, even when the content contradicts the name: the header says
// what the column is meant to hold.
func columnEvidence(col int, h string, vals []string, schema *intake.Schema, typeCount map[intake.FieldType]int, region string) []ev {
	shares := map[intake.FieldType][2]int{} // matched, values
	share := func(t intake.FieldType) (int, int) {
		if r, ok := shares[t]; ok {
			return r[0], r[1]
		}
		m, n := contentShare(vals, t, region)
		shares[t] = [2]int{m, n}
		return m, n
	}
	out := make([]ev, 0, schema.Len())
	exact, contentOnly := -1.0, make([]bool, 0, schema.Len())
	for f := 0; f < schema.Len(); f++ {
		fd := schema.Field(f)
		named, reason := nameEvidence(h, fd)
		conf := named
		if ce, ok := contentEvidence[fd.Type]; ok && len(vals) > 0 {
			if m, n := share(fd.Type); n > 0 {
				sh := float64(m) / float64(n)
				what := fmt.Sprintf("content: %d/%d values look like %s", m, n, ce.noun)
				switch {
				case sh >= DetectMinShare && conf > 0:
					conf = min(1, conf+0.1)
					reason += "; " + what
				case sh >= DetectMinShare:
					conf = ce.weight * sh / float64(typeCount[fd.Type])
					reason = what
				case conf > 0 && sh < 0.5:
					conf *= 0.6
					reason += "; but " + what
				}
			}
		}
		if named == ConfidenceExact {
			exact = max(exact, round2(conf))
		}
		if conf > 0 {
			out = append(out, ev{col, f, round2(conf), reason})
			contentOnly = append(contentOnly, named == 0)
		}
	}
	for i := range out {
		if exact > 0 && contentOnly[i] && out[i].conf >= exact {
			out[i].conf = exact - 0.01
		}
	}
	return out
}

// SuggestDetailed suggests, for each header column, a ranked list of
// schema fields with a confidence (0..1) and a reason, from:
//
//   - the header's name: the field's own name or label ([ConfidenceExact]),
//     a multilingual synonym — English, German, French, Spanish,
//     Italian, Dutch, Portuguese: "E-Mail", "Vorname", "Nachname",
//     "Prénom", "Nom de famille", "Teléfono", "Móvil", "Geburtstag",
//     "Fecha de nacimiento", "Cognome", "Achternaam", "Telefone", …
//     ([ConfidenceSynonym]) — or a similar name ([SimilarNameThreshold]);
//   - the content of sample (rows of cells, without the header; may be
//     nil): the share of values that parse as emails, phone numbers,
//     dates, timestamps, countries, yes/no values or numbers. Content
//     alone can map a column with a meaningless header ("Column 3" full of
//     emails); content that contradicts a name lowers its confidence, but a
//     header that is a field's exact name still outranks what content alone
//     suggests.
//
// Columns are then assigned greedily, best confidence first (ties: the
// earlier column), each field at most once unless
// [SuggestOptions.AllowDuplicates], and only at [SuggestOptions.MinConfidence]
// or above. For the chosen field of a date, time, timestamp or decimal
// type the sample's format is detected with [DetectFormat]; an ambiguous
// one is left unset and explained in Note rather than guessed, and a format
// that reads most but not all of the sample says in Note which rows it
// rejects.
func SuggestDetailed(header []string, sample [][]string, schema *intake.Schema, opt SuggestOptions) Suggestions {
	out := make(Suggestions, len(header))
	minConf := opt.MinConfidence
	if minConf <= 0 {
		minConf = DefaultMinConfidence
	}
	var evidence []ev
	var nFields int
	if schema != nil {
		nFields = schema.Len()
	}
	typeCount := map[intake.FieldType]int{}
	for f := 0; f < nFields; f++ {
		typeCount[schema.Field(f).Type]++
	}
	for i, h := range header {
		out[i] = Suggestion{Index: i + 1, Header: h}
		if schema == nil {
			continue
		}
		evidence = append(evidence, columnEvidence(i, h, columnValues(sample, i), schema, typeCount, opt.DefaultRegion)...)
	}
	slices.SortStableFunc(evidence, func(a, b ev) int {
		switch {
		case a.conf > b.conf:
			return -1
		case a.conf < b.conf:
			return 1
		case a.col != b.col:
			return a.col - b.col
		}
		return a.field - b.field
	})
	usedField := map[int]bool{}
	for _, e := range evidence {
		s := &out[e.col]
		if len(s.Candidates) < 5 {
			s.Candidates = append(s.Candidates, Candidate{Field: schema.Field(e.field).Name, Confidence: e.conf, Reason: e.reason})
		}
		if s.Field != "" || e.conf < minConf || usedField[e.field] && !opt.AllowDuplicates {
			continue
		}
		usedField[e.field] = true
		s.Field, s.Confidence, s.Reason = schema.Field(e.field).Name, e.conf, e.reason
	}
	if len(sample) > 0 {
		for i := range out {
			s := &out[i]
			if s.Field == "" {
				continue
			}
			t := schema.Field(schema.Index(s.Field)).Type
			switch t {
			case intake.TypeDate, intake.TypeTime, intake.TypeTimestamp, intake.TypeDecimal:
			default:
				continue
			}
			d, err := DetectFormat(columnValues(sample, i), t)
			if d.Values == 0 {
				continue
			}
			s.Detection = &d
			switch {
			case errors.Is(err, ErrAmbiguousFormat):
				s.Note = strings.TrimPrefix(err.Error(), "mapping: ") + ": check the file and set the format"
			case err != nil:
				s.Note = strings.TrimPrefix(err.Error(), "mapping: ")
			case d.Misfit != "":
				s.Note = misfitNote(d)
			}
		}
	}
	return out
}

// misfitNote says that the detected format reads most of the sample, and
// which rows it rejects.
func misfitNote(d Detection) string {
	what := "format " + strconv.Quote(formatLabel(d.Format))
	if d.Type == intake.TypeDecimal {
		what = "decimal separator " + strconv.Quote(d.Decimal)
	}
	return fmt.Sprintf("the %s reads %d of %d sample values: rows with values like %s are rejected (invalid_%s)", what, d.Matched, d.Values, quoteCell(d.Misfit), d.Type)
}

// nameEvidence scores a header against a field by name.
func nameEvidence(header string, f intake.Field) (float64, string) {
	k := normalizeName(header)
	if k == "" {
		return 0, ""
	}
	if k == normalizeName(f.Name) || k == normalizeName(f.Label) {
		return ConfidenceExact, "exact name"
	}
	if normalizedSynonyms()[k] == f.Name {
		return ConfidenceSynonym, "synonym"
	}
	if len([]rune(k)) < 4 {
		return 0, ""
	}
	best, bestName := 0.0, ""
	try := func(name string) {
		n := normalizeName(name)
		if len([]rune(n)) < 4 {
			return
		}
		if s := jaroWinkler([]rune(k), []rune(n)); s > best {
			best, bestName = s, name
		}
	}
	try(f.Name)
	try(f.Label)
	for _, syn := range synonyms[f.Name] {
		try(syn)
	}
	if best < SimilarNameThreshold {
		return 0, ""
	}
	return best * ConfidenceSimilar, fmt.Sprintf("similar name (%.2f) to %q", best, bestName)
}

// columnValues returns the non-empty cells of column i of sample.
func columnValues(sample [][]string, i int) []string {
	var vals []string
	for _, row := range sample {
		if i < len(row) {
			if v := trimCell(row[i]); v != "" {
				vals = append(vals, v)
			}
		}
	}
	return vals
}

// contentShare counts the values that parse as type t.
func contentShare(vals []string, t intake.FieldType, region string) (matched, n int) {
	switch t {
	case intake.TypeDate, intake.TypeTimestamp, intake.TypeDecimal:
		d, _ := DetectFormat(vals, t)
		return d.Matched, d.Values
	case intake.TypePhone:
		p := phoneParser{region: strings.ToUpper(region)}
		for _, v := range vals {
			if _, ok := p.parse(v); ok {
				matched++
			}
		}
		return matched, len(vals)
	}
	d, _ := DetectFormat(vals, t)
	return d.Matched, d.Values
}
