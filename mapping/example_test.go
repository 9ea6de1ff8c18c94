package mapping_test

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
)

func ExampleCompile() {
	header := []string{"E-Mail", "Telefon", "Vorname", "Geburtstag", "Land", "Umsatz"}
	spec, err := mapping.LoadSpec(strings.NewReader(`{"columns": [
		{"source": "E-Mail", "field": "email"},
		{"source": "Telefon", "field": "phone"},
		{"source": "Vorname", "field": "first_name"},
		{"source": "Geburtstag", "field": "birthday", "format": "dd.MM.yyyy"},
		{"source": "Land", "field": "country"},
		{"source": "Umsatz", "field": "lifetime_value", "decimal": ","}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := mapping.Compile(spec, intake.ContactSchema(), header, mapping.Options{DefaultRegion: "DE", File: "kunden.csv"})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := intake.NewRecord(plan.Schema())
	rows := []intake.Row{
		{Line: 2, Cells: []string{"Jörg.Müller@Example.DE", "030 1234567", "Jörg", "12.03.1985", "Deutschland", "1.234,50"}},
		{Line: 3, Cells: []string{"anna@example", "+49 30 7654321", "Anna", "30.02.1990", "DE", ""}},
	}
	for _, row := range rows {
		if err := plan.Map(row, rec); err != nil {
			var re *intake.RowError
			if errors.As(err, &re) {
				fmt.Println("rejected:", re.Code, re.Column)
			}
			fmt.Println(err)
			continue
		}
		var out []string
		for _, f := range []string{"email", "phone", "first_name", "birthday", "country", "lifetime_value"} {
			out = append(out, f+"="+rec.Get(f).String())
		}
		fmt.Println(strings.Join(out, " "))
	}
	// Output:
	// email=jörg.müller@example.de phone=+49301234567 first_name=Jörg birthday=1985-03-12 country=DE lifetime_value=1234.5
	// rejected: invalid_email E-Mail
	// kunden.csv:3: column "E-Mail" (field email) invalid_email: "anna@example" is not an email address
}

func ExampleSuggest() {
	header := []string{"Customer ID", "Email Address", "Mobile", "Prénom", "Nachname", "DOB", "Country code", "Town", "LTV", "Notes"}
	spec := mapping.Suggest(header, intake.ContactSchema())
	if err := spec.Save(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {
	//   "version": 1,
	//   "columns": [
	//     {
	//       "source": "Customer ID",
	//       "field": "contact_id"
	//     },
	//     {
	//       "source": "Email Address",
	//       "field": "email"
	//     },
	//     {
	//       "source": "Mobile",
	//       "field": "phone"
	//     },
	//     {
	//       "source": "Prénom",
	//       "field": "first_name"
	//     },
	//     {
	//       "source": "Nachname",
	//       "field": "last_name"
	//     },
	//     {
	//       "source": "DOB",
	//       "field": "birthday"
	//     },
	//     {
	//       "source": "Country code",
	//       "field": "country"
	//     },
	//     {
	//       "source": "Town",
	//       "field": "city"
	//     },
	//     {
	//       "source": "LTV",
	//       "field": "lifetime_value"
	//     },
	//     {
	//       "source": "Notes",
	//       "skip": true
	//     }
	//   ]
	// }
}

func ExampleLoadSpec() {
	_, err := mapping.LoadSpec(strings.NewReader(`{"columns": [
		{"source": "E-Mail", "field": "email", "decimal": ";"},
		{"index": 4, "field": "birthday", "format": "dd.MM.yyy"},
		{"source": "Notes"}]}`))
	fmt.Println(err)

	spec, err := mapping.LoadSpec(strings.NewReader(`{
		"fields":  [{"name": "loyalty_tier", "type": "select", "options": ["gold", "silver"]}],
		"columns": [{"source": "Tier", "field": "loyalty_tier"}, {"field": "city", "const": "Berlin"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := mapping.Compile(spec, intake.ContactSchema(), []string{"Tier"}, mapping.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range plan.Columns() {
		fmt.Printf("%d %q -> %s (%s) const=%q\n", c.Index, c.Source, c.Field, c.Type, c.Const)
	}
	// Output:
	// mapping: column 1 ("E-Mail"): decimal separator ";": use ".", "," or "auto"
	// mapping: column 2 (index 4): format "dd.MM.yyy": "yyy" at position 7 is not supported (use yyyy yy MMMM MMM MM M dd d HH H mm m ss s S)
	// mapping: column 3 ("Notes"): no field: set "field" or "skip": true
	// 1 "Tier" -> loyalty_tier (select) const=""
	// 0 "" -> city (text) const="Berlin"
}

func ExampleParseCountry() {
	for _, s := range []string{"de", "DEU", "Deutschland", "United States", "UK", "Côte d'Ivoire", "EU"} {
		v, ok := mapping.ParseCountry(s)
		fmt.Println(s, v, ok)
	}
	// Output:
	// de DE true
	// DEU DE true
	// Deutschland DE true
	// United States US true
	// UK GB true
	// Côte d'Ivoire CI true
	// EU  false
}

func ExampleParsePhone() {
	for _, s := range []string{"+49 30 1234567", "+1 (202) 555-0143", "030 1234567"} {
		v, ok := mapping.ParsePhone(s, mapping.Options{})
		fmt.Println(v, ok)
	}
	v, ok := mapping.ParsePhone("030 1234567", mapping.Options{DefaultRegion: "DE"})
	fmt.Println(v, ok)
	// Output:
	// +49301234567 true
	// +12025550143 true
	//  false
	// +49301234567 true
}

func ExampleParseEmail() {
	for _, s := range []string{" Anna.Schmidt@Example.COM ", "jörg@bücher.de", "anna@example", "a..b@example.com"} {
		v, ok := mapping.ParseEmail(s)
		fmt.Printf("%q %v\n", v.String(), ok)
	}
	// Output:
	// "anna.schmidt@example.com" true
	// "jörg@bücher.de" true
	// "" false
	// "" false
}

func ExampleParseBool() {
	for _, s := range []string{"Yes", "nein", "Oui", "0", "maybe"} {
		v, ok := mapping.ParseBool(s)
		fmt.Println(s, v, ok)
	}
	// Output:
	// Yes true true
	// nein false true
	// Oui true true
	// 0 false true
	// maybe  false
}

func ExampleCountryName() {
	fmt.Println(mapping.CountryName("DE"), mapping.CountryName("CI"))
	// Output: Germany Côte d’Ivoire
}
