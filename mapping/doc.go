// Package mapping turns the raw cells of source rows into typed records: it
// reads mapping specs (JSON), suggests them from a header and a sample of rows, validates and
// previews them, and compiles them into plans that parse every cell with
// its field's type.
//
// The flow is "compile once, run per row", like pgx's PlanScan:
//
//	spec, err := mapping.LoadSpec(f)                  // or nil: suggest from the header
//	plan, err := mapping.Compile(spec, intake.ContactSchema(), header,
//		mapping.Options{File: name, Sample: firstRows})
//	rec := intake.NewRecord(plan.Schema())
//	for each row {
//		if err := plan.Map(row, rec); err != nil { /* *intake.RowError: reject the row */ }
//	}
//
// [Plan.MapWarn] maps a row the same way and also reports the cells that
// columns with "invalid": "empty" left empty (see Types).
//
// # Specs
//
// A [Spec] is a JSON mapping spec: custom "fields" that extend the base
// schema, and "columns" that map a source column — by header name
// ("source") or 1-based position ("index") — to a field. [LoadSpec] reads one strictly, [Spec.Save] writes
// one, [Suggest] and [SuggestDetailed] propose one.
//
// An optional "object" section ([ObjectSpec]) says which object type the
// spec imports — contact, account, activity or a custom type the host
// defines, like a ticket — with its match key ("key", chosen among its
// fields) and its links to other object types ("links", [LinkSpec]: a
// foreign key resolved by the target's key, a many-to-many membership, or
// the columns of a second object carried by the same row):
//
//	{"object": {"name": "ticket", "key": ["ticket_no"],
//	            "links": [{"field": "contact_email", "object": "contact", "key": "email"}]},
//	 "fields": [{"name": "ticket_no", "type": "id"}, {"name": "subject", "type": "text"},
//	            {"name": "contact_email", "type": "email"}],
//	 "columns": [{"source": "Ticket", "field": "ticket_no"}, …]}
//
// For a custom type the schema is built from "fields" alone
// ([Spec.ObjectSchema]), merged with what a store already holds for the
// type ([Spec.MergeSchema]). The spec stays data: the importer's
// importer.Job and importer.Link are built from it by the host (the
// example CLI shows how).
//
// # Plans
//
// [Compile] checks a spec against the schema and the header and reports every
// problem at once. The resulting [Plan] knows, per column, the cell index, the
// field index, the parser and any transforms; [Plan.Map] is a loop over them
// with no map lookups and no allocations for clean, canonical cells. Rules
// without transforms, joins, a per-row phone region or "invalid": "empty"
// take a fast path that costs nothing for the features they do not use. A
// Plan is safe for concurrent use. Files without a header map columns by index only, and
// errors name them "#3".
//
// # Types
//
// Every cell is first trimmed of surrounding ASCII white space; an empty cell
// is null (or the column's default). Otherwise a cell that its field's type
// cannot parse rejects the row with the code "invalid_" + type
// ("invalid_email", "invalid_date", …) — unless its column says
// "invalid": "empty" ([InvalidEmpty]): the field is then left empty for
// that row (null, not the column's default), the row goes on, and the cell
// is a warning, the *[intake.RowError] that the rejection would have been
// (same file, line, column, field, code and message), which
// [Plan.MapWarn] passes to its caller and [Plan.Preview] lists; the
// importer lists and counts them in its report. A failed transform is
// such a cell too. [Plan.Map] leaves such a field empty as well but does
// not return the warning: a caller that must not drop data silently uses
// MapWarn. A required field's bad cell still rejects the row, and so does
// an empty one (missing_required). The option suits a source whose
// declared types were never enforced where it was exported (an Acoustic
// Campaign import map declares types that Acoustic does not check the
// data against):
//
//	{"source": "Last order", "field": "last_order", "format": "MM/dd/yyyy", "invalid": "empty"}
//
// The types:
//
//   - text: any UTF-8 without NUL bytes, trimmed; id: the same without
//     control characters, leading zeros kept (ids, zip codes and other
//     digit strings stay text).
//   - email: a fast syntax check (see [ParseEmail]), stored lower-case;
//     internationalized addresses are accepted.
//   - phone: libphonenumber's possible numbers (valid numbers with
//     [Options.StrictPhone]), stored in E.164; numbers without a country
//     code take their region from the row's country column ("region_from"),
//     else the column's "region", else [Options.DefaultRegion]; without any,
//     they are rejected. See [ParsePhone] for the fast path.
//   - date, time, timestamp: see Formats.
//   - decimal (also number, currency): "." as the decimal separator by
//     default, "," with "decimal": ",", or detected with "decimal": "auto";
//     the other one, spaces and apostrophes separate thousands in groups of
//     three ("1,234.56", "1.234,56", "1 234,56"). A sign, an exponent, a
//     currency before or after the number — an ISO 4217 code, a CLDR symbol
//     from golang.org/x/text/currency or any currency sign: "EUR 1.234,56",
//     "€12", "12.50 USD", "R$ 5" — and accounting negatives "(12.50)" and
//     "12.50-" are accepted. "currency": "EUR" rejects amounts in another
//     currency. Stored in canonical form ("1234.5"); the currency is not
//     stored.
//   - country: ISO 3166-1 alpha-2, alpha-3 or numeric codes and country
//     names in seven languages (see [ParseCountry]), stored as upper-case
//     alpha-2.
//   - bool: yes/no, y/n, true/false, 1/0, on/off, ja/nein, oui/non, si/no
//     and a few more, any case (see [ParseBool]).
//   - select: one of the field's options, any case, stored as declared.
//   - multiselect: items separated by the column's "separator", else by
//     ";" — or by "|" when the cell has no ";", or by "," when it has
//     neither — each one of the options; stored
//     as a list without empty or repeated items.
//
// Values may share memory with the row's cells: sinks that keep records
// beyond the processing of a row copy their strings.
//
// # Formats
//
// A date, time or timestamp column's "format" is an LDML pattern made of
// yyyy yy MMMM MMM MM M dd d HH H hh h a mm m ss s S… X and literal text
// ("dd.MM.yyyy", "yyyyMMdd", "d MMMM yyyy", "M/d/yyyy h:mm a",
// "yyyy-MM-dd'T'HH:mm:ssXXX"; quote literal letters: 'T'). Month names are
// English, any case; yy reads 69–99 as 19xx and 00–68 as 20xx; a is AM/PM;
// X, x and Z read an offset (Z, +01, +0100, +01:00). Impossible dates
// (2023-02-30) are rejected.
//
// A timestamp pattern with a time also reads two shorter forms of a cell,
// tried when the whole pattern does not read it: without the seconds (and
// fractions) when the pattern has seconds — what follows them, AM/PM or
// an offset, stays — and the date part alone, read as midnight in the
// column's zone: the pattern up to its first hour letter, without the
// literal text that ends it (and so without an offset). "MM/dd/yyyy
// HH:mm:ss" reads "01/15/2026 10:30:05", "01/15/2026 10:30" and
// "01/15/2026"; "M/d/yyyy h:mm:ss a" reads "1/15/2026 2:30 PM" (not
// "1/15/2026 2:30") and "1/15/2026"; "yyyy-MM-dd HH:mm XXX" reads
// "2026-01-15" in the column's zone. A pattern that writes the time before
// the date has no date form. The forms are compiled with the column.
//
// Without a format:
//
//   - date: ISO yyyy-MM-dd.
//   - timestamp: ISO 8601 / RFC 3339: yyyy-MM-dd, T or a space, HH:mm,
//     optional seconds and fractions, optional offset
//     ("2026-03-29T01:30:00+01:00", "2026-03-29 01:30:00Z"). A cell without
//     an offset is read in the column's "zone" — an IANA name
//     ("Europe/Berlin"), "UTC" or a fixed offset ("+01:00") — or UTC.
//     Timestamps are stored in UTC.
//   - time: HH:mm:ss or HH:mm, optional fractions and offset; a time with
//     an offset (or a column "zone", which must be a fixed offset) is
//     converted to UTC, one without is kept as written.
//
// "format": "excel1900" or "excel1904" reads Excel serial numbers (ISO
// values are still accepted): in the 1900 system serial 1 is 1900-01-01
// and serial 60 is Excel's phantom 1900-02-29, which is rejected; from 61 on
// serials count from 1899-12-30. In the 1904 system (old Mac workbooks)
// serial 0 is 1904-01-01. A fraction is the time of day (timestamps, in the
// column's zone; rounded to the millisecond).
//
// "format": "auto" (and "decimal": "auto") detect the format at [Compile]
// from [Options.Sample] with [DetectFormat], which chooses among common
// patterns, tells dd/MM from MM/dd by the values (a first part above 12
// decides), and reports an ambiguous sample — every value fits both — as an
// error wrapping [ErrAmbiguousFormat] instead of guessing. The format that
// reads most of the sample wins when it reads a majority of its values:
// the rows it cannot read are rejected (invalid_date, …) and the others are
// imported. Without a majority, Compile refuses the column.
//
// # Rules
//
//   - a column maps to a field by "source" (header name: exact, else
//     normalized) or "index" (1-based);
//   - "skip": true ignores a column (so does leaving it out);
//   - one column to several fields: two rules with the same source;
//   - several columns into one field: "sources": ["Street", "No"] with
//     "join": " " (the default); empty cells are left out;
//   - "const" fills a field on every row; "default" fills an empty cell;
//   - "transforms" rewrite a cell before its type parses it (see
//     Transforms);
//   - "required": true (on the column, or on a custom field) rejects a row
//     whose cell is empty with missing_required;
//   - "if_missing": true on a custom field declares it only where the
//     schema lacks it: a stored or built-in field of that name is used as
//     it is, whatever the declaration says (see [FieldSpec.IfMissing]);
//   - "meta" on a custom field ({"acoustic_required": "true"}) holds
//     attributes of other systems, kept with the field's schema and never
//     acted on (see [intake.Field.Meta]);
//   - "invalid": "empty" leaves the field of a cell its type cannot parse
//     (or its transforms fail on) empty, imports the row and reports the
//     cell as a warning; "reject", the default, rejects the row (see
//     Types);
//   - "note" is free text for people.
//
// # Transforms
//
// A transform rule names a [TransformFunc] of a [Transforms] registry and
// gives it arguments: {"name": "split", "sep": " ", "index": 0}. The rules of
// a column run in order on the trimmed, non-empty cell, before type parsing;
// a result that is empty is an empty cell. [DefaultTransforms] holds trim,
// collapse_spaces, lower, upper, title, regex_extract (pattern, group,
// required), regex_replace (pattern, replacement), split (sep, index,
// required) and replace (old, new). A host adds its own with
// [Transforms.Register] — a [TransformFactory] builds the function from the
// rule's [TransformArgs] once per column at [Compile] — and passes the
// registry in [Options.Transforms]. There is no global registry. A
// transform error rejects the row with [intake.CodeTransformFailed] (a
// warning with "invalid": "empty"); an unknown transform or argument is a
// compile error.
//
// # Suggestions
//
// [SuggestDetailed] ranks, for every header column, the fields it may map
// to, each with a confidence (0..1) and a reason: the exact name or label
// ("exact name"), a synonym in English, German, French, Spanish, Italian,
// Dutch or Portuguese ("synonym"), a similar name by Jaro-Winkler
// similarity of normalized names (at least [SimilarNameThreshold]), and the
// content of a sample of rows ("content: 47/50 values look like emails"),
// which alone can map a column called "Column 3". A field is suggested once
// unless [SuggestOptions.AllowDuplicates]. [Suggestions.Spec] turns the
// result into a spec with detected formats; [Suggest] is the header-only
// shortcut that [Compile] uses when it gets no spec.
//
// # Validation and preview
//
// [Validate] checks a spec against a schema and a header before any row is
// read and returns every problem at once (errors.Join), each saying what to
// fix: an unknown field (and the closest field name), a column missing from
// the file (and the closest header), a field mapped twice, a constant or
// default that the type cannot take, a required field left unmapped, a bad
// format, zone, currency, transform or "invalid" policy. [Plan.Preview]
// shows rows as they would be stored: per cell the raw text, the canonical
// value and the error, every error of each row — not only the first,
// which is what [Plan.Map] returns — and its warnings, the cells that
// "invalid": "empty" leaves empty ([PreviewRow].Warnings).
//
// # Saved specs
//
// Specs carry "version" ([SpecVersion], 1). A spec without it is version 1;
// a newer version is rejected with a message to upgrade; older versions are
// migrated on load by a table of migrations, one per version step (see
// [SpecVersion] for the policy), so a stored job keeps working as the
// library grows. Load, save and load again give an equal spec. [Diff]
// compares a spec with a new header: columns that appeared (to highlight
// for mapping), disappeared, or were renamed (a missing name matched to a
// new one by similarity, at least [RenameThreshold]); [HeaderDiff.Apply]
// updates the spec, and [Plan.Changes] reports the diff of a compiled plan.
//
// # Errors
//
// [Compile], [Validate] and [LoadSpec] return plain errors
// that say what to fix, joined with [errors.Join] when there are several.
// [Plan.Map] returns an *[intake.RowError] for the first bad cell of a row;
// [Plan.MapWarn] passes the cells it leaves empty to its caller as
// *[intake.RowError] values too.
package mapping
