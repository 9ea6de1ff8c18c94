package postgres_test

import (
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

func TestPostgresHostUnlinkColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	_, err := pool.Exec(ctx, sprintf(hostContacts, schema, "uuid"))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ALTER TABLE `+schema+`.contacts ADD COLUMN referrer uuid, ADD COLUMN pals text[]`)
	require.NoError(t, err)
	m := fixture.HostMapping()
	m.Columns["referred_by"], m.Columns["friends"] = "referrer", "pals"
	pg := openPostgres(t, postgres.Config{Schema: schema, Tables: map[string]sink.TableMapping{"contact": m}})
	require.NoError(t, pg.EnsureSchema(ctx, fixture.Referring))
	fixture.CheckHostUnlink(t, pg)
}

// TestPostgresUnlinkOldAuditTable: an intake_audit without the link
// columns makes an unlink fail with a pointer to Migrations when
// the host runs the migrations, and gets them from New otherwise.
func TestPostgresUnlinkOldAuditTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testPool(t)
	schema := pgtest.Schema(t)
	openPostgres(t, postgres.Config{Schema: schema})
	_, err := pool.Exec(ctx, `ALTER TABLE `+schema+`.intake_audit DROP COLUMN field, DROP COLUMN target_object, DROP COLUMN target_id`)
	require.NoError(t, err)
	pg := openPostgres(t, postgres.Config{Schema: schema, SkipMigrations: true})
	fixture.Write(t, pg, fixture.Create(fixture.Referral("1", "a@example.com", "", "")), fixture.Create(fixture.Referral("2", "b@example.com", "1", "")))
	_, err = pg.Write(ctx, []*sink.Op{fixture.Unlinking(sink.OpDelete, "1")})
	require.ErrorContains(t, err, "postgres.Migrations")
	_, err = pg.AuditLog(ctx, intake.ObjectContact, "")
	require.ErrorContains(t, err, "postgres.Migrations")
	require.Equal(t, [][]string{{"1"}, nil, nil}, fixture.LinksOf(t, pg, "2"), "the failed batch removed no link")

	pg = openPostgres(t, postgres.Config{Schema: schema})
	fixture.Write(t, pg, fixture.Unlinking(sink.OpDelete, "1"))
	require.Equal(t, [][]string{nil, nil, nil}, fixture.LinksOf(t, pg, "2"))
	log, err := pg.AuditLog(ctx, intake.ObjectContact, "2")
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, []string{"unlink", "referred_by", "1"}, []string{log[0].Action, log[0].Field, log[0].TargetID})
}

// TestPostgresUnlinkOtherProcessTable: a sink removes the links held by a
// table that another process created after it started.
func TestPostgresUnlinkOtherProcessTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgtest.Schema(t)
	a := openPostgres(t, postgres.Config{Schema: schema})
	fixture.Write(t, a, fixture.Create(fixture.Referral("1", "a@example.com", "", "")))
	b := openPostgres(t, postgres.Config{Schema: schema})
	tickets := intake.MustSchema("ticket", intake.Field{Name: "subject", Type: intake.TypeText},
		intake.Field{Name: "requester", Type: intake.TypeID, Ref: intake.ObjectContact})
	tk := intake.NewRecord(tickets)
	tk.ID, tk.Values[0], tk.Values[1] = "t1", intake.Text("help"), intake.Text("1")
	fixture.Write(t, b, fixture.Create(tk))

	fixture.Write(t, a, fixture.Unlinking(sink.OpDelete, "1"))
	got, err := b.Get(ctx, tickets, []string{"t1"})
	require.NoError(t, err)
	require.True(t, got["t1"].Get("requester").IsNull(), "the ticket lost its link to the deleted contact")
	require.Equal(t, "help", got["t1"].Get("subject").Str())
}

// TestPostgresTempTablesOfOneConnection updates, on a pool of one
// connection, rows of two tables whose batches' temporary tables have the
// same column names and other types: pgx's cache of the columns' types
// (by the text of CopyFrom's query) must not mix them up.
func TestPostgresTempTablesOfOneConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	schema := pgtest.Schema(t)
	pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema})
	require.NoError(t, err)
	for _, s := range []*intake.Schema{
		intake.MustSchema("a", intake.Field{Name: "x", Type: intake.TypeText}),
		intake.MustSchema("b", intake.Field{Name: "x", Type: intake.TypeMultiSelect}),
		intake.MustSchema("c", intake.Field{Name: "x", Type: intake.TypeDate}),
	} {
		r := intake.NewRecord(s)
		r.ID = "1"
		fixture.Write(t, pg, fixture.Create(r))
		u := intake.NewRecord(s)
		u.ID = "1"
		switch s.Field(0).Type {
		case intake.TypeText:
			u.Values[0] = intake.Text("v")
		case intake.TypeMultiSelect:
			u.Values[0] = intake.List("v", "w")
		default:
			u.Values[0] = intake.Date(2026, 1, 2)
		}
		require.Equal(t, []intake.Outcome{intake.OutcomeUpdated}, fixture.Write(t, pg, fixture.Update(u)), s.Object())
		got, err := pg.Get(ctx, s, []string{"1"})
		require.NoError(t, err)
		require.Equal(t, u.Values, got["1"].Values, s.Object())
	}
}

// TestPostgresUnlinkOtherProcessField: a sink removes the links held by a
// link field that another process added to a table this sink knows
// without links.
func TestPostgresUnlinkOtherProcessField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgtest.Schema(t)
	a := openPostgres(t, postgres.Config{Schema: schema})
	plain := intake.MustSchema("ticket", intake.Field{Name: "subject", Type: intake.TypeText})
	t0 := intake.NewRecord(plain)
	t0.ID, t0.Values[0] = "t0", intake.Text("hello")
	fixture.Write(t, a, fixture.Create(fixture.Referral("1", "a@example.com", "", "")), fixture.Create(t0))
	b := openPostgres(t, postgres.Config{Schema: schema})
	tickets := intake.MustSchema("ticket", intake.Field{Name: "subject", Type: intake.TypeText},
		intake.Field{Name: "requester", Type: intake.TypeID, Ref: intake.ObjectContact})
	tk := intake.NewRecord(tickets)
	tk.ID, tk.Values[0], tk.Values[1] = "t1", intake.Text("help"), intake.Text("1")
	fixture.Write(t, b, fixture.Create(tk))

	fixture.Write(t, a, fixture.Unlinking(sink.OpDelete, "1"))
	got, err := b.Get(ctx, tickets, []string{"t0", "t1"})
	require.NoError(t, err)
	require.True(t, got["t1"].Get("requester").IsNull(), "the ticket lost its link to the deleted contact")
	require.Equal(t, "help", got["t1"].Get("subject").Str())
	require.Equal(t, "hello", got["t0"].Get("subject").Str())
	log, err := a.AuditLog(ctx, "ticket", "t1")
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, []string{"unlink", "requester", "contact", "1"}, []string{log[0].Action, log[0].Field, log[0].TargetObject, log[0].TargetID})
}
