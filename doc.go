// Package intake is the shared vocabulary of Intake, an embeddable library that
// brings customer data — contacts, accounts, activities and custom objects —
// into a CRM or CDP backend from files and other systems.
//
// A host application composes Intake's pieces into its own import flow:
//
//	connector (bytes) → Source (rows) → Mapper (typed records) → Matcher (existing records)
//	  → record action (create / update / skip / opt out) → Sink (batched writes)
//
// The packages that implement those steps — [github.com/intakehq/intake/connector],
// [github.com/intakehq/intake/mapping], [github.com/intakehq/intake/identity] and
// [github.com/intakehq/intake/sink] — import this package and never each other's
// internals; [github.com/intakehq/intake/importer] drives them as one streaming run
// and returns a report.
//
// # Rows and records
//
// A [Row] is what a source read: raw cells and the 1-based source line they
// started on (the header is line 1). A [Record] is what a mapper made of it: one
// typed [Value] per field of a [Schema], in schema order.
//
// # Values and field types
//
// A [Value] is a small immutable tagged value: null, text, bool, decimal, date,
// time of day, timestamp or a list of strings (multi-value). Each [Field] of a
// schema has a [FieldType] (email, phone, country, select, …) that says how
// cells are parsed and how keys are normalized; several field types share one
// value kind (an email is text, a phone is text in E.164 form).
//
// # Keys
//
// A [KeySpec] names the sync fields that together identify a record (a
// composite key). [KeyPlan.Key] turns a record into its normalized [Key]:
// emails trimmed and lower-cased, text in Unicode NFKC with case folding and
// collapsed spaces, other types in their canonical form. Blank keys never match.
// [ParseKeySpec] reads a key spec as [KeySpec.Name] writes it
// ("first_name+last_name", "md5(email)", "email[provider]"), and
// [ParseRules] reads ordered identity rules ("contact_id; email"); their
// errors are [SyntaxError]s naming the position and the text at fault.
//
// # Errors and outcomes
//
// A row that cannot be imported is reported with a [RowError] naming the file,
// line, column, field, a stable machine [Code] ([CodeInvalidEmail], …) and a
// message. Every input row ends in exactly one [Outcome]; the importer's report
// counts them so that rows = created + updated + unchanged + skipped + opted out
// + rejected.
//
// # Record actions
//
// An [Action] says what an import does with a row whose key does or does not
// match an existing record: [ActionCreate], [ActionAddOnly],
// [ActionUpdateOnly], [ActionAddAndUpdate] and [ActionOptOut], after Acoustic
// Campaign's ImportList.
package intake
