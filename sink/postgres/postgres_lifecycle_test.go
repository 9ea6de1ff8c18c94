package postgres_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/stretchr/testify/require"
)

// The lifecycle ops, the audit log, the inactive flag and Reserve are
// tested on both layouts by the conformance kit (postgres_test.go,
// postgres_table_test.go); these tests cover what is PostgreSQL's own:
// tables without the inactive column, stored key options, batches that
// delete and create one id, missing migrations, and reservations of two
// processes.

// lifecycleOp returns a lifecycle op of kind on the contact id.
func lifecycleOp(kind sink.OpKind, id, reason string) *sink.Op {
	return &sink.Op{Kind: kind, Record: &intake.Record{Schema: fixture.Contact, ID: id, Values: make([]intake.Value, fixture.Contact.Len())},
		Audit: &sink.AuditEntry{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Reason: reason, Actor: "test"}}
}

// storedJSON returns the intake_schema entry of object.
func storedJSON(t *testing.T, pg *postgres.Store, schema, object string) map[string]any {
	t.Helper()
	var js []byte
	require.NoError(t, pg.Pool().QueryRow(context.Background(), `SELECT schema FROM `+schema+`.intake_schema WHERE object = $1`, object).Scan(&js))
	var m map[string]any
	require.NoError(t, json.Unmarshal(js, &m))
	return m
}

// columns returns the columns of a table.
func columns(t *testing.T, pg *postgres.Store, schema, table string) []string {
	t.Helper()
	rows, err := pg.Pool().Query(context.Background(), `SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
	require.NoError(t, err)
	var cols []string
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		cols = append(cols, c)
	}
	require.NoError(t, rows.Err())
	return cols
}

// TestPostgresTablesWithoutFlag opens a schema whose tables lack the
// inactive column and whose key specs are stored without options: the sink
// adds the column on first use (inactive_flag where a field has the column
// inactive) and keeps finding the records.
func TestPostgresTablesWithoutFlag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	for _, q := range append(postgres.Migrations(schema),
		`CREATE TABLE `+schema+`.intake_contact (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text NOT NULL UNIQUE,
			opted_out boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
			email text, inactive text, k_email text)`,
		`CREATE INDEX ON `+schema+`.intake_contact (k_email)`,
		`INSERT INTO `+schema+`.intake_contact (id, email, inactive, k_email, created_at, updated_at) VALUES ('1', 'A@example.com', 'since 2019', 'a@example.com', now(), now())`,
		`CREATE TABLE `+schema+`.intake_account (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text NOT NULL UNIQUE,
			opted_out boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, name text)`,
		`INSERT INTO `+schema+`.intake_account (id, name, created_at, updated_at) VALUES ('acc', 'Acme', now(), now())`,
		`INSERT INTO `+schema+`.intake_schema (object, version, schema) VALUES
			('contact', 4, '{"object":"contact","fields":[{"name":"email","type":"email","column":"email"},{"name":"inactive","type":"text","column":"inactive"}],"keys":[{"fields":["email"],"column":"k_email"}]}'),
			('account', 2, '{"object":"account","fields":[{"name":"name","type":"text","column":"name"}]}')`,
	) {
		_, err := pool.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	pg := openPostgres(t, postgres.Config{Schema: schema})
	old := intake.MustSchema("contact", intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "inactive", Type: intake.TypeText})
	account := intake.MustSchema("account", intake.Field{Name: "name", Type: intake.TypeText})

	res, err := pg.Lookup(ctx, old, fixture.ByEmail, []intake.Key{"a@example.com"})
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, res["a@example.com"], "a key spec stored without options is the spec without options")
	require.Equal(t, "inactive_flag", storedJSON(t, pg, schema, "contact")["inactive"])
	require.Contains(t, columns(t, pg, schema, "intake_contact"), "inactive_flag")

	inact := lifecycleOp(sink.OpInactivate, "1", "moved away")
	inact.Record.Schema, inact.Record.Values = old, make([]intake.Value, old.Len())
	fixture.Write(t, pg, inact)
	got, err := pg.Get(ctx, old, []string{"1"})
	require.NoError(t, err)
	require.True(t, got["1"].Inactive)
	require.Equal(t, "since 2019", got["1"].Get("inactive").Str(), "the field keeps its column")

	// A field added later that is named like the flag's column gets f_.
	v2 := intake.MustSchema("contact", append(old.Fields(), intake.Field{Name: "inactive_flag", Type: intake.TypeText})...)
	r3 := intake.NewRecord(v2)
	r3.ID, r3.Values[2] = "3", intake.Text("x")
	fixture.Write(t, pg, &sink.Op{Kind: sink.OpCreate, Record: r3})
	require.Contains(t, columns(t, pg, schema, "intake_contact"), "f_inactive_flag")
	got, err = pg.Get(ctx, v2, []string{"1", "3"})
	require.NoError(t, err)
	require.Equal(t, "x", got["3"].Get("inactive_flag").Str())
	require.False(t, got["3"].Inactive)
	require.True(t, got["1"].Inactive)

	// The other table gets the column under its own name.
	gotAcc, err := pg.Get(ctx, account, []string{"acc"})
	require.NoError(t, err)
	require.Equal(t, "Acme", gotAcc["acc"].Get("name").Str())
	require.False(t, gotAcc["acc"].Inactive)
	require.Equal(t, "inactive", storedJSON(t, pg, schema, "account")["inactive"])
	require.Contains(t, columns(t, pg, schema, "intake_account"), "inactive")

	// A field named inactive added now gets f_inactive, as other reserved
	// names do.
	ext := intake.MustSchema("account", intake.Field{Name: "name", Type: intake.TypeText}, intake.Field{Name: "inactive", Type: intake.TypeBool})
	require.NoError(t, pg.EnsureSchema(ctx, ext))
	require.Contains(t, columns(t, pg, schema, "intake_account"), "f_inactive")

	// Another process that opens the schema now alters nothing.
	before := columns(t, pg, schema, "intake_contact")
	pg2 := openPostgres(t, postgres.Config{Schema: schema})
	got, err = pg2.Get(ctx, old, []string{"1"})
	require.NoError(t, err)
	require.True(t, got["1"].Inactive)
	require.Equal(t, before, columns(t, pg, schema, "intake_contact"))
}

// TestPostgresKeyOptions checks that specs differing only in options get
// key columns of their own, stored with their options, which a reopened
// sink finds; record-id specs are never looked up.
func TestPostgresKeyOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgtest.Schema(t)
	pg := openPostgres(t, postgres.Config{Schema: schema})
	fixture.Write(t, pg, fixture.Create(fixture.Person("1", "J.Doe+news@gmail.com", "", "")))
	provider := intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider}
	hashed := intake.KeySpec{Fields: []string{"email"}, MD5: true}
	for _, spec := range []intake.KeySpec{fixture.ByEmail, provider, hashed} {
		fixture.Lookup(t, pg, spec, "x")
	}
	keys := storedJSON(t, pg, schema, "contact")["keys"].([]any)
	require.Len(t, keys, 3)
	cols := map[string]bool{}
	for _, k := range keys {
		cols[k.(map[string]any)["column"].(string)] = true
	}
	require.Len(t, cols, 3, "one key column per spec: %v", keys)
	require.Equal(t, map[string]any{"fields": []any{"email"}, "column": "k_email"}, keys[0], "a spec without options is stored as before")
	require.Equal(t, "provider", keys[1].(map[string]any)["email_rules"])
	require.Equal(t, true, keys[2].(map[string]any)["md5"])

	// A sink opened later finds the columns by the whole spec.
	before := columns(t, pg, schema, "intake_contact")
	pg2 := openPostgres(t, postgres.Config{Schema: schema})
	for _, spec := range []intake.KeySpec{hashed, provider, fixture.ByEmail} {
		fixture.Lookup(t, pg2, spec, "x")
	}
	require.Equal(t, before, columns(t, pg, schema, "intake_contact"))

	_, err := pg.Lookup(ctx, fixture.Contact, intake.KeySpec{Fields: []string{"contact_id"}, RecordID: true}, []intake.Key{"1"})
	require.ErrorContains(t, err, "record-id")
	_, err = postgres.ObjectMigration(schema, fixture.Contact, intake.KeySpec{Fields: []string{"contact_id"}, RecordID: true})
	require.Error(t, err)
	stmts, err := postgres.ObjectMigration(schema, fixture.Contact, fixture.ByEmail, provider)
	require.NoError(t, err)
	require.Len(t, stmts, 6, "table, two indexes, the inactive column, the write log's trigger, intake_schema: %q", stmts)
	require.NotEqual(t, stmts[1], stmts[2])
}

// TestPostgresDeleteAndCreate checks batches that delete and create one id.
func TestPostgresDeleteAndCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg := openPostgres(t, postgres.Config{})
	fixture.Write(t, pg, fixture.Create(fixture.Person("1", "old@example.com", "Old", "")), fixture.Create(fixture.Person("2", "two@example.com", "", "")))

	// A stored id deleted, then created again: the new record takes it.
	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted, intake.OutcomeCreated, intake.OutcomeUpdated},
		fixture.Write(t, pg, lifecycleOp(sink.OpDelete, "1", "replaced"), fixture.Create(fixture.Person("1", "new@example.com", "", "")), fixture.Update(fixture.Person("1", "", "New", ""))))
	r := fixture.Get(t, pg, "1")
	require.Equal(t, "new@example.com", r.Get("email").Str())
	require.Equal(t, "New", r.Get("first_name").Str())
	require.Equal(t, map[intake.Key][]string{"new@example.com": {"1"}}, fixture.Lookup(t, pg, fixture.ByEmail, "old@example.com", "new@example.com"))

	// A new id created and deleted in one batch is never stored; its audit
	// entry is.
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated, intake.OutcomeDeleted},
		fixture.Write(t, pg, fixture.Create(fixture.Person("3", "three@example.com", "", "")), lifecycleOp(sink.OpDelete, "3", "mistake")))
	require.Nil(t, fixture.Get(t, pg, "3"))
	log, err := pg.AuditLog(ctx, intake.ObjectContact, "3")
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, sink.AuditEntry{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Object: "contact", RecordID: "3", Action: "delete", Reason: "mistake", Actor: "test"}, log[0])

	// A create of a stored id fails even when the batch deletes it after.
	n, err := pg.Write(ctx, []*sink.Op{fixture.Create(fixture.Person("2", "", "", "")), lifecycleOp(sink.OpDelete, "2", "r")})
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, sink.ErrDuplicateID)
	// And one that a later create of the batch collides with is reported
	// as that create, not as the id the batch deleted and took again.
	fixture.Write(t, pg, fixture.Create(fixture.Person("4", "", "", "")))
	_, err = pg.Write(ctx, []*sink.Op{lifecycleOp(sink.OpDelete, "2", "r"), fixture.Create(fixture.Person("2", "", "", "")), fixture.Create(fixture.Person("4", "", "", ""))})
	var re *sink.RecordError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "4", re.ID)
	require.ErrorIs(t, err, sink.ErrDuplicateID)
	require.NotNil(t, fixture.Get(t, pg, "2"))

	// Audit text PostgreSQL cannot store fails the op, by record.
	bad := lifecycleOp(sink.OpInactivate, "2", "a\x00b")
	_, err = pg.Write(ctx, []*sink.Op{bad})
	require.ErrorIs(t, err, sink.ErrInvalidOp)
	require.ErrorAs(t, err, &re)
	require.Equal(t, "2", re.ID)
}

// TestPostgresHostLifecycle applies lifecycle ops to a host table with
// uuid ids, and to one without an inactive column.
func TestPostgresHostLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg, schema := openHost(t, "uuid")
	ext := intake.MustSchema("contact", append(fixture.Contact.Fields(),
		intake.Field{Name: "nickname", Type: intake.TypeText, Personal: true},
		intake.Field{Name: "tier", Type: intake.TypeText})...)
	const id1, id2 = "0190a2b4-0000-7000-8000-000000000001", "0190a2b4-0000-7000-8000-000000000002"
	r := intake.NewRecord(ext)
	r.ID = id1
	r.Set("email", intake.Text("Anna@example.com"))
	r.Set("nickname", intake.Text("Annie"))
	r.Set("tier", intake.Text("gold"))
	r2 := r.Clone()
	r2.ID = id2
	fixture.Write(t, pg, fixture.Create(r), fixture.Create(r2))
	anon := lifecycleOp(sink.OpAnonymize, id1, "erasure request")
	anon.Record.Schema, anon.Record.Values = ext, make([]intake.Value, ext.Len())
	require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized, intake.OutcomeDeleted, intake.OutcomeInactivated},
		fixture.Write(t, pg, anon, lifecycleOp(sink.OpDelete, id2, "duplicate"), lifecycleOp(sink.OpInactivate, id1, "erased")))
	var attrs []byte
	var email, emailKey *string
	var archived bool
	require.NoError(t, pg.Pool().QueryRow(ctx, `SELECT attrs, email, email_key, archived FROM `+schema+`.contacts WHERE id = $1`, id1).Scan(&attrs, &email, &emailKey, &archived))
	require.JSONEq(t, `{"tier": "gold"}`, string(attrs), "the personal custom field is gone, the other kept")
	require.Nil(t, email)
	require.Nil(t, emailKey, "the host's generated key follows")
	require.True(t, archived)
	var n int
	require.NoError(t, pg.Pool().QueryRow(ctx, `SELECT count(*) FROM `+schema+`.contacts`).Scan(&n))
	require.Equal(t, 1, n)
	log, err := pg.AuditLog(ctx, intake.ObjectContact, "")
	require.NoError(t, err)
	require.Equal(t, []string{id1, id2, id1}, []string{log[0].RecordID, log[1].RecordID, log[2].RecordID})
	var inIntake int
	require.NoError(t, pg.Pool().QueryRow(ctx, `SELECT count(*) FROM `+schema+`.intake_audit`).Scan(&inIntake))
	require.Equal(t, 3, inIntake, "the audit log is Intake's table beside the host's")

	// A host table without an inactive column refuses an inactivate,
	// saying what to add.
	_, err = pg.Pool().Exec(ctx, `CREATE TABLE `+schema+`.people (id text PRIMARY KEY, mail text, mail_key text)`)
	require.NoError(t, err)
	small := intake.MustSchema("person", intake.Field{Name: "email", Type: intake.TypeEmail, Personal: true})
	pg2 := openPostgres(t, postgres.Config{Schema: schema, Tables: map[string]sink.TableMapping{"person": {Table: "people", Columns: map[string]string{"email": "mail"}}}})
	p := intake.NewRecord(small)
	p.ID = "p"
	fixture.Write(t, pg2, &sink.Op{Kind: sink.OpCreate, Record: p})
	_, err = pg2.Write(ctx, []*sink.Op{{Kind: sink.OpInactivate, Record: p, Audit: &sink.AuditEntry{Reason: "r"}}})
	require.ErrorIs(t, err, sink.ErrInvalidOp)
	require.ErrorContains(t, err, "InactiveColumn")
	got, err := pg2.Get(ctx, small, []string{"p"})
	require.NoError(t, err)
	require.False(t, got["p"].Inactive)
	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted}, fixture.Write(t, pg2, &sink.Op{Kind: sink.OpDelete, Record: p, Audit: &sink.AuditEntry{Reason: "r"}}))

	// A mapping naming a column the table lacks, or not a boolean one, is
	// refused.
	for _, col := range []string{"nope", "email"} {
		bad := fixture.HostMapping()
		bad.InactiveColumn = col
		_, err := postgres.New(ctx, pg.Pool(), postgres.Config{Schema: schema, Tables: map[string]sink.TableMapping{"contact": bad}})
		require.ErrorContains(t, err, `InactiveColumn "`+col+`" is not a boolean column`)
	}
}

// TestPostgresMissingMigrations runs a store whose host ran the migrations
// without intake_audit and intake_sequences: lifecycle ops, AuditLog and
// Reserve say what to run; the rest works.
func TestPostgresMissingMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	for _, q := range postgres.Migrations(schema) {
		_, err := pool.Exec(ctx, q)
		require.NoError(t, err)
	}
	for _, q := range []string{`DROP TABLE ` + schema + `.intake_audit`, `DROP TABLE ` + schema + `.intake_sequences`} {
		_, err := pool.Exec(ctx, q)
		require.NoError(t, err)
	}
	pg := openPostgres(t, postgres.Config{Schema: schema, SkipMigrations: true})
	fixture.Write(t, pg, fixture.Create(fixture.Person("1", "a@example.com", "", "")))
	_, err := pg.Write(ctx, []*sink.Op{lifecycleOp(sink.OpInactivate, "1", "r")})
	require.ErrorContains(t, err, "postgres.Migrations")
	require.False(t, fixture.Get(t, pg, "1").Inactive, "the batch was rolled back")
	_, err = pg.AuditLog(ctx, "contact", "")
	require.ErrorContains(t, err, "postgres.Migrations")
	_, err = pg.Reserve(ctx, "n", 1)
	require.ErrorContains(t, err, "postgres.Migrations")
}

// TestPostgresReserveProcesses reserves from two sinks on one schema at
// once, as two processes would: the ranges never overlap, a sink opened
// later continues after them, and a sequence that would pass the largest
// int64 says so.
func TestPostgresReserveProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	a := openPostgres(t, postgres.Config{Schema: schema})
	b := openPostgres(t, postgres.Config{Schema: schema, AsyncCommit: true})
	type span struct{ first, n int64 }
	var mu sync.Mutex
	var spans []span
	var wg sync.WaitGroup
	for g := range 6 {
		s := a
		if g%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range 20 {
				n := int64(1 + (g*i)%9)
				first, err := s.Reserve(ctx, "contact_number", n)
				if !(assertNoError(t, err)) {
					return
				}
				mu.Lock()
				spans = append(spans, span{first, n})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(spans, func(x, y span) int { return int(x.first - y.first) })
	next := int64(0)
	for _, s := range spans {
		require.Equal(t, next, s.first, "ranges overlap or leave a gap")
		next += s.n
	}
	c := openPostgres(t, postgres.Config{Schema: schema})
	first, err := c.Reserve(ctx, "contact_number", 1)
	require.NoError(t, err)
	require.Equal(t, next, first)

	_, err = pool.Exec(ctx, `UPDATE `+schema+`.intake_sequences SET next = $1 WHERE name = 'contact_number'`, int64(math.MaxInt64-5))
	require.NoError(t, err)
	_, err = c.Reserve(ctx, "contact_number", 6)
	require.ErrorContains(t, err, "overflow")
	first, err = c.Reserve(ctx, "contact_number", 5)
	require.NoError(t, err, "up to the largest int64")
	require.Equal(t, int64(math.MaxInt64-5), first)
}

// assertNoError reports err as a test failure from any goroutine.
func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}
