package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/intakehq/intake/sink/sinktest"
	"github.com/stretchr/testify/require"
)

// hostContacts is a host's own contacts table: its own column names and
// types, an identity column, a generated email key, custom fields in a
// jsonb column, a nullable column for the inactive flag.
const hostContacts = `CREATE TABLE %s.contacts (
	pk          bigint GENERATED ALWAYS AS IDENTITY,
	id          %s PRIMARY KEY,
	email       varchar(320),
	email_key   text GENERATED ALWAYS AS (lower(btrim(email))) STORED,
	given_name  text,
	family_name text,
	mobile      text,
	born        date,
	country     char(2),
	ltv         numeric(14, 2),
	unsubscribed boolean NOT NULL DEFAULT false,
	archived    boolean,
	attrs       jsonb NOT NULL DEFAULT '{}',
	inserted_at timestamptz NOT NULL DEFAULT now(),
	modified_at timestamptz,
	name_key    text,
	last_key    text,
	cid_key     text,
	prov_key    text,
	md5_key     text,
	city_key    text
)`

// openHost returns a sink writing contacts into a host table of a fresh
// schema, whose id column has type idType.
func openHost(t *testing.T, idType string) (*postgres.Store, string) {
	pool := testPool(t)
	schema := pgtest.Schema(t)
	_, err := pool.Exec(context.Background(), sprintf(hostContacts, schema, idType))
	require.NoError(t, err)
	return openPostgres(t, postgres.Config{Schema: schema, Tables: map[string]sink.TableMapping{"contact": fixture.HostMapping()}}), schema
}

func TestPostgresHostTableConformance(t *testing.T) {
	t.Parallel()
	pgtest.URL(t)
	f := sinktest.Features{AllOrNothing: true, Schemas: true, Reopen: reopenPostgres}
	sinktest.Run(t, func(t *testing.T) sink.Sink { s, _ := openHost(t, "text"); return s }, f)
}

func TestPostgresHostTableImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pg, schema := openHost(t, "uuid")
	pool := pg.Pool()
	// Rows the host wrote itself, before Intake.
	_, err := pool.Exec(ctx, `INSERT INTO `+schema+`.contacts (id, email, given_name, attrs) VALUES
		('0190a2b4-0000-7000-8000-000000000001', 'User1@Example.com', 'Old', '{"app_flag": true}'),
		('0190a2b4-0000-7000-8000-000000000002', 'someone@else.org', 'Keep', '{}')`)
	require.NoError(t, err)

	file := []byte("email,first_name,last_name,birthday,lifetime_value,loyalty_tier\n" +
		"user1@example.com,Anna,Alt,1980-05-06,12.5,gold\n" +
		"user2@example.com,Ben,,,,\n")
	im := func() *bytes.Reader { return bytes.NewReader(file) }
	ext := intake.MustSchema("contact", append(fixture.Contact.Fields(), intake.Field{Name: "loyalty_tier", Type: intake.TypeText})...)
	for run, want := range []struct{ created, updated, unchanged int64 }{{1, 1, 0}, {0, 0, 2}} {
		rep, err := fixture.ImportCSV(ctx, t, pg, im(), ext)
		require.NoError(t, err)
		require.Equal(t, want.created, rep.Created, "run %d", run)
		require.Equal(t, want.updated, rep.Updated, "run %d", run)
		require.Equal(t, want.unchanged, rep.Unchanged, "run %d", run)
	}
	var given, family, tier string
	var ltv string
	var flag bool
	var modified bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT given_name, family_name, ltv::text, attrs->>'loyalty_tier', (attrs->>'app_flag')::bool, modified_at IS NOT NULL
		FROM `+schema+`.contacts WHERE id = '0190a2b4-0000-7000-8000-000000000001'`).Scan(&given, &family, &ltv, &tier, &flag, &modified))
	require.Equal(t, []any{"Anna", "Alt", "12.50", "gold", true, true}, []any{given, family, ltv, tier, flag, modified})
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.contacts`).Scan(&n))
	require.Equal(t, 3, n)
	// Intake created the other row with a UUID id and its timestamps.
	var created bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT inserted_at IS NOT NULL AND modified_at IS NOT NULL FROM `+schema+`.contacts WHERE email = 'user2@example.com'`).Scan(&created))
	require.True(t, created)
	got, err := pg.Get(ctx, ext, []string{"0190a2b4-0000-7000-8000-000000000002", "not-a-uuid"})
	require.NoError(t, err)
	require.Equal(t, "Keep", got["0190a2b4-0000-7000-8000-000000000002"].Get("first_name").Str())
	require.Len(t, got, 1)

	// A mapping that leaves a field without a place is refused.
	bad := fixture.HostMapping()
	bad.JSONBColumn = ""
	pg2, err := postgres.New(ctx, pool, postgres.Config{Schema: schema + "_x", Tables: map[string]sink.TableMapping{"contact": func() sink.TableMapping {
		bad.Table = schema + ".contacts"
		return bad
	}()}})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Exec(context.Background(), "DROP SCHEMA "+schema+"_x CASCADE") })
	require.ErrorIs(t, pg2.EnsureSchema(ctx, ext), sink.ErrSchemaConflict)
}

// TestPostgresHostTableDefaults maps a table with the defaults: an "id"
// column, ordered by it.
func TestPostgresHostTableDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	_, err := pool.Exec(ctx, `CREATE TABLE `+schema+`.people (id text PRIMARY KEY, mail text, mail_key text)`)
	require.NoError(t, err)
	tables := map[string]sink.TableMapping{"contact": {Table: "people", Columns: map[string]string{"email": "mail"}, KeyColumns: map[string]string{"email": "mail_key"}}}
	pg := openPostgres(t, postgres.Config{Schema: schema, Tables: tables})
	require.Empty(t, tables["contact"].IDColumn, "the caller's map is left alone")
	small := intake.MustSchema("contact", intake.Field{Name: "email", Type: intake.TypeEmail})
	r1, r2 := intake.NewRecord(small), intake.NewRecord(small)
	r1.ID, r1.Values[0] = "b", intake.Text("x@example.com")
	r2.ID, r2.Values[0] = "a", intake.Text("X@example.com")
	n, err := pg.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: r1}, {Kind: sink.OpCreate, Record: r2}})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	res, err := pg.Lookup(ctx, small, intake.Keys("email"), []intake.Key{"x@example.com"})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, res["x@example.com"], "ordered by id")
	_, err = pg.Write(ctx, []*sink.Op{{Kind: sink.OpOptOut, Record: r1}})
	require.ErrorIs(t, err, sink.ErrInvalidOp, "no opted-out column")
	_, err = pg.Lookup(ctx, small, intake.Keys("email", "email"), []intake.Key{"x"})
	require.Error(t, err)
}
