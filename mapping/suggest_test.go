package mapping

import (
	"testing"

	"github.com/intakehq/intake"
	"github.com/stretchr/testify/assert"
)

func TestSuggest(t *testing.T) {
	t.Parallel()
	contact := intake.ContactSchema()
	tests := []struct {
		name   string
		header []string
		want   []string // field per column, "-" = skip
	}{
		{"english", []string{"Customer ID", "E-mail", "Mobile phone", "First Name", "Last Name", "Date of Birth", "Country code", "Town", "LTV"},
			[]string{"contact_id", "email", "phone", "first_name", "last_name", "birthday", "country", "city", "lifetime_value"}},
		{"german", []string{"Kundennummer", "E-Mail-Adresse", "Telefon", "Vorname", "Nachname", "Geburtstag", "Land", "Stadt", "Umsatz"},
			[]string{"contact_id", "email", "phone", "first_name", "last_name", "birthday", "country", "city", "lifetime_value"}},
		{"french", []string{"Prénom", "Nom", "Courriel", "Téléphone", "Pays", "Ville"},
			[]string{"first_name", "last_name", "email", "phone", "country", "city"}},
		{"field names", []string{"email", "first_name", "LIFETIME_VALUE", "contact id"},
			[]string{"email", "first_name", "lifetime_value", "contact_id"}},
		{"own name beats synonym", []string{"Mail", "Email"}, []string{"-", "email"}},
		{"each field once", []string{"Email", "E-Mail", "Mobile", "Telephone"}, []string{"email", "-", "phone", "-"}},
		{"unknown", []string{"Notes", "", "Zip"}, []string{"-", "-", "-"}},
		{"labels", []string{"Lifetime value", "Birthday"}, []string{"lifetime_value", "birthday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Suggest(tt.header, contact)
			var got []string
			for i, c := range s.Columns {
				f := c.Field
				if c.Skip {
					f = "-"
				}
				got = append(got, f)
				assert.Equal(t, c.Skip, c.Field == "", "column %d", i)
			}
			assert.Equal(t, tt.want, got)
			_, err := Compile(s, contact, tt.header, Options{})
			assert.NoError(t, err, "a suggestion compiles")
		})
	}
}

func TestSuggestDuplicateHeader(t *testing.T) {
	t.Parallel()
	s := Suggest([]string{"Email", "Notes", "Notes", ""}, intake.ContactSchema())
	assert.Equal(t, []Column{
		{Source: "Email", Field: "email"},
		{Source: "Notes", Index: 2, Skip: true},
		{Source: "Notes", Index: 3, Skip: true},
		{Index: 4, Skip: true},
	}, s.Columns)
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"E-Mail Address": "emailaddress", "first_name": "firstname", "Prénom": "prenom", "Straße": "strasse",
		"Côte d’Ivoire": "cotedivoire", "  Téléphone ": "telephone", "LTV": "ltv", "#": "",
	} {
		assert.Equal(t, want, normalizeName(in), in)
	}
}

// TestSuggestExactNameOutranksContent: a column whose header is a field's
// exact name keeps that field when its values look like another type (a
// year looks like a timestamp): content alone does not take it away.
func TestSuggestExactNameOutranksContent(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"2024", "0001"} {
		ss := SuggestDetailed([]string{"email", "Notes"}, [][]string{{v, "x"}}, intake.ActivitySchema(), SuggestOptions{})
		assert.Equal(t, "email", ss[0].Field, "value %q: %+v", v, ss[0])
		assert.Less(t, ss[0].Confidence, 1.0, "the content still lowers the confidence")
		assert.Equal(t, "occurred_at", ss[0].Candidates[1].Field, "content's candidate stays listed, below: %+v", ss[0].Candidates)
	}
}
