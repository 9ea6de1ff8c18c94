package mapping_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
)

func ExampleSuggestDetailed() {
	header := []string{"Column 1", "Vorname", "Teléfono", "Geburtstag", "Emial"}
	sample := [][]string{
		{"anna@example.com", "Anna", "+49 30 1234567", "12.03.1985", "x"},
		{"bob@example.org", "Bob", "+1 202 555 0143", "25.12.1990", "y"},
	}
	suggestions := mapping.SuggestDetailed(header, sample, intake.ContactSchema(), mapping.SuggestOptions{})
	for _, s := range suggestions {
		if s.Field == "" {
			fmt.Printf("%-10s -> skip\n", s.Header)
			continue
		}
		fmt.Printf("%-10s -> %-10s %.2f %s\n", s.Header, s.Field, s.Confidence, s.Reason)
	}
	fmt.Println(suggestions[4].Candidates[0].Reason)
	spec := suggestions.Spec()
	fmt.Println(spec.Columns[3].Format)
	// Output:
	// Column 1   -> email      0.85 content: 2/2 values look like emails
	// Vorname    -> first_name 0.90 synonym
	// Teléfono   -> phone      1.00 synonym; content: 2/2 values look like phone numbers
	// Geburtstag -> birthday   1.00 synonym; content: 2/2 values look like dates
	// Emial      -> skip
	// similar name (0.95) to "email"; but content: 0/2 values look like emails
	// dd.MM.yyyy
}

func ExampleDetectFormat() {
	d, err := mapping.DetectFormat([]string{"01/02/2024", "25/12/1990"}, intake.TypeDate)
	fmt.Println(d.Format, err)

	d, err = mapping.DetectFormat([]string{"01/02/2024", "03/04/1990"}, intake.TypeDate)
	fmt.Println(d.Candidates, errors.Is(err, mapping.ErrAmbiguousFormat))
	fmt.Println(err)

	d, err = mapping.DetectFormat([]string{"1.234,56", "EUR 12,50", "(3,00)"}, intake.TypeDecimal)
	fmt.Println(d.Decimal, d.Matched, err)

	// Most values show the format; the row of the bad one is rejected.
	d, err = mapping.DetectFormat([]string{"14.03.1985", "02.11.1990", "31/31/2000", "25.12.1970"}, intake.TypeDate)
	fmt.Println(d.Format, d.Matched, d.Values, d.Misfit, err)
	// Output:
	// dd/MM/yyyy <nil>
	// [dd/MM/yyyy MM/dd/yyyy] true
	// mapping: ambiguous format: the values fit the formats "dd/MM/yyyy" and "MM/dd/yyyy" equally well, and they read "01/02/2024" differently
	// , 3 <nil>
	// dd.MM.yyyy 3 4 31/31/2000 <nil>
}

func ExampleValidate() {
	header := []string{"E-Mail", "Telefon", "Stadt"}
	spec := &mapping.Spec{Columns: []mapping.Column{
		{Source: "E-Mail", Field: "emial"},
		{Source: "Telefn", Field: "phone"},
		{Source: "Stadt", Field: "city"},
		{Source: "Stadt", Field: "city"},
		{Field: "birthday", Const: "someday"},
		{Source: "Stadt", Field: "last_name", Transforms: []mapping.Transform{{Name: "uper"}}},
	}}
	err := mapping.Validate(spec, intake.ContactSchema(), header)
	fmt.Println(strings.ReplaceAll(err.Error(), " (fields: contact_id, email, phone, first_name, last_name, birthday, country, city, lifetime_value)", ""))
	// Output:
	// mapping: column 1 ("E-Mail"): "emial" is not a field of contact (did you mean "email"?): fix the name or declare it in "fields"
	// mapping: column 2 ("Telefn"): no header column is named "Telefn" (closest: "Telefon") (header: "E-Mail", "Telefon", "Stadt"): fix "source", or map the column by "index"
	// mapping: column 4 ("Stadt"): field "city" is already mapped by column 3 ("Stadt"): map each field once (skip one of the columns)
	// mapping: column 5 (field birthday): const "someday" is not a date in the format yyyy-MM-dd
	// mapping: column 6 ("Stadt"): transform 1: "uper" is not a known transform (did you mean "upper"?): use one of collapse_spaces, lower, regex_extract, regex_replace, replace, split, title, trim, upper, or register it in Options.Transforms
}

func ExamplePlan_Preview() {
	spec, err := mapping.LoadSpec(strings.NewReader(`{"columns": [
		{"source": "Name", "field": "first_name", "transforms": [{"name": "split", "sep": " ", "index": 0}, {"name": "title"}]},
		{"source": "Name", "field": "last_name", "transforms": [{"name": "split", "sep": " ", "index": -1}, {"name": "title"}]},
		{"source": "Mail", "field": "email", "required": true},
		{"source": "Born", "field": "birthday", "format": "dd.MM.yyyy"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := mapping.Compile(spec, intake.ContactSchema(), []string{"Name", "Mail", "Born"}, mapping.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rows := plan.Preview([]intake.Row{
		{Line: 2, Cells: []string{"anna schmidt", "Anna@Example.com", "12.03.1985"}},
		{Line: 3, Cells: []string{"bob", "", "31.02.1990"}},
	})
	for _, r := range rows {
		for _, c := range r.Cells {
			fmt.Printf("%d %s %q -> %q%s\n", r.Line, c.Field, c.Raw, c.Value, strings.TrimRight(" "+string(c.Code), " "))
		}
		for _, e := range r.Errors {
			fmt.Println(e)
		}
	}
	// Output:
	// 2 first_name "anna schmidt" -> "Anna"
	// 2 last_name "anna schmidt" -> "Schmidt"
	// 2 email "Anna@Example.com" -> "anna@example.com"
	// 2 birthday "12.03.1985" -> "1985-03-12"
	// 3 first_name "bob" -> "Bob"
	// 3 last_name "bob" -> "Bob"
	// 3 email "" -> ""
	// 3 birthday "31.02.1990" -> "" invalid_date
	// line 3: column "Born" (field birthday) invalid_date: "31.02.1990" is not a date in the format dd.MM.yyyy
	// line 3: column "Mail" (field email) missing_required: the field is required, but the cell is empty
}

func ExampleTransforms_Register() {
	transforms := mapping.DefaultTransforms()
	// "strip_prefix" removes a literal prefix given as the rule's "prefix";
	// a cell without it rejects the row with transform_failed.
	err := transforms.Register("strip_prefix", func(args mapping.TransformArgs) (mapping.TransformFunc, error) {
		prefix, err := args.Required("prefix")
		if err != nil {
			return nil, err
		}
		return func(s string) (string, error) {
			rest, ok := strings.CutPrefix(s, prefix)
			if !ok {
				return "", fmt.Errorf("%q does not start with %q", s, prefix)
			}
			return rest, nil
		}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := mapping.LoadSpec(strings.NewReader(`{"columns": [
		{"source": "Ref", "field": "contact_id", "transforms": [{"name": "strip_prefix", "prefix": "CRM-"}]}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := mapping.Compile(spec, intake.ContactSchema(), []string{"Ref"}, mapping.Options{Transforms: transforms})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := intake.NewRecord(plan.Schema())
	for _, cell := range []string{"CRM-00042", "X-1"} {
		if err := plan.Map(intake.Row{Line: 2, Cells: []string{cell}}, rec); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(rec.Get("contact_id"))
	}
	// Output:
	// 00042
	// line 2: column "Ref" (field contact_id) transform_failed: "X-1" does not start with "CRM-"
}

func ExampleDiff() {
	spec := mapping.Suggest([]string{"E-Mail", "Telefon", "Notes"}, intake.ContactSchema())
	d := mapping.Diff(spec, []string{"E-Mail", "Telefonnummer", "Land"})
	fmt.Printf("added %q removed %q renamed %+v\n", d.Added, d.Removed, d.Renamed)
	// Output: added ["Land"] removed ["Notes"] renamed [{From:Telefon To:Telefonnummer Similarity:0.91}]
}
