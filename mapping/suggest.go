package mapping

import (
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
		"Courriel", "Adresse e-mail", "Adresse mail", "Correo", "Correo electrónico", "Primary email", "Work email", "Contact email"},
	"phone": {"Phone", "Mobile", "Mobile phone", "Mobile number", "Cell", "Cell phone", "Cellphone", "Telephone", "Phone number",
		"Tel", "Tel.", "Telefon", "Telefonnummer", "Handy", "Handynummer", "Mobil", "Mobilnummer", "Téléphone", "Portable",
		"Numéro de téléphone", "Teléfono", "Móvil", "Celular", "Telefono", "Cellulare", "Primary phone", "Work phone", "SMS"},
	"first_name": {"First Name", "Firstname", "First", "Given name", "Forename", "Vorname", "Prénom", "Nombre", "Nome", "Voornaam"},
	"last_name": {"Last Name", "Lastname", "Last", "Surname", "Family name", "Nachname", "Familienname", "Nom", "Nom de famille",
		"Apellido", "Apellidos", "Cognome", "Achternaam"},
	"birthday": {"Birthday", "Date of Birth", "DOB", "Birthdate", "Birth date", "Born", "Geburtstag", "Geburtsdatum",
		"Date de naissance", "Fecha de nacimiento", "Data di nascita"},
	"country": {"Country", "Country code", "Country/Region", "Country or region", "Nation", "Land", "Pays", "País", "Paese", "Staat"},
	"city":    {"City", "Town", "Locality", "Stadt", "Ort", "Wohnort", "Ville", "Ciudad", "Città", "Plaats"},
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
// "DOB", "Umsatz", …); matching ignores case, accents, spaces and
// punctuation. A field is suggested at most once (the first column wins,
// own names before synonyms); other columns get "skip": true. Columns are
// named by Source, and also by Index when their header name is blank or
// not unique. A nil header gives a spec without columns.
//
// The result is a starting point for a person to review, and what
// [Compile] uses when it is given no spec.
func Suggest(header []string, schema *intake.Schema) *Spec {
	spec := &Spec{Columns: make([]Column, len(header))}
	norm := make([]string, len(header))
	count := map[string]int{}
	for i, h := range header {
		norm[i] = normalizeName(h)
		count[strings.TrimSpace(h)]++
	}
	assigned := make([]string, len(header))
	used := map[string]bool{}
	// Pass 1: field names and labels.
	own := map[string]string{}
	if schema != nil {
		for i := 0; i < schema.Len(); i++ {
			f := schema.Field(i)
			if l := normalizeName(f.Label); l != "" {
				if _, ok := own[l]; !ok {
					own[l] = f.Name
				}
			}
		}
		for i := 0; i < schema.Len(); i++ {
			f := schema.Field(i)
			own[normalizeName(f.Name)] = f.Name
		}
	}
	for i, k := range norm {
		if f, ok := own[k]; ok && k != "" && !used[f] {
			assigned[i], used[f] = f, true
		}
	}
	// Pass 2: synonyms.
	if schema != nil {
		for i, k := range norm {
			if assigned[i] != "" || k == "" {
				continue
			}
			if f, ok := normalizedSynonyms()[k]; ok && !used[f] && schema.Index(f) >= 0 {
				assigned[i], used[f] = f, true
			}
		}
	}
	for i, h := range header {
		c := Column{Source: strings.TrimSpace(h)}
		if c.Source == "" || count[c.Source] > 1 {
			c.Index = i + 1
		}
		if assigned[i] == "" {
			c.Skip = true
		} else {
			c.Field = assigned[i]
		}
		spec.Columns[i] = c
	}
	return spec
}
