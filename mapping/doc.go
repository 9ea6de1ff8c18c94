// Package mapping turns the raw cells of source rows into typed records: it
// reads mapping specs, suggests them from a header, and compiles them into
// plans that parse every cell with its field's type.
//
// The flow is "compile once, run per row", like pgx's PlanScan:
//
//	spec, err := mapping.LoadSpec(f)                  // or nil: suggest from the header
//	plan, err := mapping.Compile(spec, intake.ContactSchema(), header, mapping.Options{File: name})
//	rec := intake.NewRecord(plan.Schema())
//	for each row {
//		if err := plan.Map(row, rec); err != nil { /* *intake.RowError: reject the row */ }
//	}
//
// # Specs
//
// A [Spec] is the JSON mapping spec of DESIGN.md 3.3: custom "fields" that
// extend the base schema, and "columns" that map a source column — by header
// name ("source") or 1-based position ("index") — to a field, with an
// optional date "format", "decimal" separator or "default", or fill a field
// with a "const"; "skip" ignores a column. [LoadSpec] reads one strictly,
// [Spec.Save] writes one, [Suggest] proposes one from a header by field
// names, labels and a table of synonyms ("E-Mail", "Vorname", "DOB",
// "Umsatz", …).
//
// # Plans
//
// [Compile] checks a spec against the schema and the header and reports every
// problem at once. The resulting [Plan] knows, per column, the cell index, the
// field index and the parser; [Plan.Map] is a loop over them with no map
// lookups and no allocations for clean, canonical cells. A Plan is safe for
// concurrent use. Files without a header map columns by index only, and
// errors name them "#3".
//
// # Cells and values
//
// Every cell is first trimmed of surrounding ASCII white space; an empty cell
// is null (or the column's default). Otherwise a cell that its field's type
// cannot parse rejects the row with the code "invalid_" + type
// ("invalid_email", "invalid_date", …):
//
//   - text: any UTF-8 without NUL bytes, trimmed; id: the same without
//     control characters, leading zeros kept.
//   - email: a fast syntax check (see [ParseEmail]), stored lower-case;
//     internationalized addresses are accepted.
//   - phone: libphonenumber's possible numbers (valid numbers with
//     [Options.StrictPhone]), stored in E.164; numbers without a country
//     code need [Options.DefaultRegion]. See [ParsePhone] for the fast path.
//   - date: ISO yyyy-MM-dd, or the column's LDML format made of
//     yyyy yy MMMM MMM MM M dd d and literal text ("dd.MM.yyyy",
//     "yyyyMMdd", "d MMMM yyyy"; quote literal letters: 'T'). Month names are
//     English, any case. yy reads 69–99 as 19xx and 00–68 as 20xx. Impossible
//     dates (2023-02-30) are rejected.
//   - timestamp: RFC 3339, or yyyy-MM-dd HH:mm:ss (also with a T) in UTC; a
//     format adds HH H mm m ss s and S… (fractions) and is read as UTC.
//   - time: HH:mm:ss or HH:mm, or a format of those letters.
//   - decimal: "." as the decimal separator by default, "," with
//     "decimal": ","; the other one, spaces and apostrophes separate
//     thousands in groups of three ("1,234.56", "1.234,56", "1 234,56").
//     A sign, a currency symbol and an exponent are accepted. Stored in
//     canonical form ("1234.5").
//   - country: ISO 3166-1 alpha-2, alpha-3 or numeric codes and country
//     names (see [ParseCountry]), stored as upper-case alpha-2.
//   - bool: yes/no, y/n, true/false, 1/0, on/off, ja/nein, oui/non, si/no
//     and a few more, any case (see [ParseBool]).
//   - select: one of the field's options, any case, stored as declared.
//   - multiselect: items separated by ";" — or by "|" when the cell has no
//     ";", or by "," when it has neither — each one of the options; stored
//     as a list without empty or repeated items.
//
// Values may share memory with the row's cells: sinks that keep records
// beyond the processing of a row copy their strings.
//
// # Errors
//
// [Compile] and [LoadSpec] return plain errors that say what to fix, joined
// with [errors.Join] when there are several. [Plan.Map] returns an
// *[intake.RowError] for the first bad cell of a row.
package mapping
