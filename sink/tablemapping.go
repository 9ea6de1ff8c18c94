package sink

// TableMapping maps an object type to a table the host owns (an existing
// contacts table, say), which the PostgreSQL store
// ([github.com/intakehq/intake/sink/postgres.Store]) then writes into
// instead of its own intake_<object> table. Intake never creates, alters or drops a
// host table: the columns named here must exist. Intake still records the
// object's fields and key specs in its intake_schema table, and the audit
// log of lifecycle ops in its intake_audit table.
//
// Field values are stored in the column Columns names for the field, cast
// to the column's type (a text field into varchar or citext, a decimal
// into numeric or integer, an id into uuid, …); fields without a column go
// into JSONBColumn as members named as the field (text, dates, times and
// timestamps as their canonical strings, decimals as JSON numbers, bools as
// JSON booleans, multi-selects as arrays of strings). Members of that
// column that Intake does not know are kept.
type TableMapping struct {
	// Table is the table, optionally schema-qualified ("crm.contacts");
	// required. Unqualified, it is in postgres.Config.Schema.
	Table string
	// IDColumn holds the record id: text, varchar or uuid, unique (a
	// primary key or a unique index; ON CONFLICT needs it). Intake
	// allocates the ids of the records it creates (UUIDv7 strings by
	// default). Default "id".
	IDColumn string
	// Columns maps field names to the table's columns.
	Columns map[string]string
	// JSONBColumn is a jsonb column for the fields Columns leaves out
	// (custom fields). Default none: every field needs a column.
	JSONBColumn string
	// KeyColumns maps key specs, by [intake.KeySpec.Name] ("email",
	// "first_name+last_name"), to text columns holding the normalized
	// key, which Lookup compares; the host should index them. Intake sets
	// them on every write and fills them for existing rows on a spec's
	// first Lookup, unless the column is generated (GENERATED ALWAYS AS
	// (lower(btrim(email))) STORED), which keeps rows the host writes
	// itself current too. A Lookup with a spec without a key column fails.
	KeyColumns map[string]string
	// OptedOut is a boolean column for the opted-out flag. Default none:
	// records read as opted in and an opt-out fails with [ErrInvalidOp].
	OptedOut string
	// InactiveColumn is a boolean column for the inactive flag
	// ([intake.Record.Inactive], set by [OpInactivate]). Default none:
	// records read as active and an inactivate fails with [ErrInvalidOp].
	InactiveColumn string
	// CreatedAt and UpdatedAt are timestamptz columns Intake sets when it
	// creates a record and when it changes one. Default none.
	CreatedAt, UpdatedAt string
	// OrderColumn orders records by creation for Scan and Lookup (oldest
	// first), with the id as tie-breaker: an identity or bigserial column
	// is ideal. Default IDColumn (UUIDv7 ids sort by creation time too).
	OrderColumn string
}
