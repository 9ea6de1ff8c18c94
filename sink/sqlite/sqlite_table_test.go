package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"maps"
	"path/filepath"
	"sync"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/sinktest"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

// sqliteHostContacts is a host's own contacts table in SQLite.
const sqliteHostContacts = `CREATE TABLE contacts (
	id           TEXT PRIMARY KEY,
	email        TEXT,
	email_key    TEXT GENERATED ALWAYS AS (lower(trim(email))) VIRTUAL,
	given_name   TEXT,
	family_name  TEXT,
	mobile       TEXT,
	born         DATE,
	country      TEXT,
	ltv          NUMERIC,
	unsubscribed INTEGER NOT NULL DEFAULT 0,
	archived     INTEGER,
	attrs        TEXT NOT NULL DEFAULT '{}',
	inserted_at  TEXT,
	modified_at  TEXT,
	name_key     TEXT,
	last_key     TEXT,
	cid_key      TEXT,
	prov_key     TEXT,
	md5_key      TEXT,
	city_key     TEXT
);
CREATE INDEX contacts_email_key ON contacts (email_key);
CREATE INDEX contacts_name_key ON contacts (name_key)`

func sqliteHostMapping() sink.TableMapping {
	m := fixture.HostMapping()
	m.OrderColumn = "rowid"
	m.InactiveColumn = "archived"
	m.KeyColumns = maps.Clone(m.KeyColumns)
	m.KeyColumns["email[provider]"] = "prov_key"
	m.KeyColumns["md5(email)"] = "md5_key"
	m.KeyColumns["city"] = "city_key"
	return m
}

// openSQLiteHost returns the database and a sink of contacts in its host
// table.
func openSQLiteHost(t *testing.T) (*sql.DB, *sqlite.Table) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "crm.db"))
	db := s.DB()
	_, err := db.Exec(sqliteHostContacts)
	require.NoError(t, err)
	ht, err := sqlite.NewTable(context.Background(), db, intake.ObjectContact, sqliteHostMapping(), sqlite.Config{})
	require.NoError(t, err)
	sqliteHostsMu.Lock()
	sqliteHosts[ht] = db
	sqliteHostsMu.Unlock()
	return db, ht
}

// sqliteHosts maps the host-table sinks of openSQLiteHost to their
// databases, for the kit's Reopen.
var (
	sqliteHostsMu sync.Mutex
	sqliteHosts   = map[*sqlite.Table]*sql.DB{}
)

func TestSQLiteTableConformance(t *testing.T) {
	t.Parallel()
	sinktest.Run(t, func(t *testing.T) sink.Sink { _, s := openSQLiteHost(t); return s }, sinktest.Features{
		AllOrNothing: true, TextNUL: true, Contacts: true,
		Reopen: func(t *testing.T, s sink.Sink) sink.Sink {
			var path string
			sqliteHostsMu.Lock()
			db := sqliteHosts[s.(*sqlite.Table)]
			sqliteHostsMu.Unlock()
			require.NoError(t, db.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path))
			ht, err := sqlite.NewTable(context.Background(), openSQLite(t, path).DB(), intake.ObjectContact, sqliteHostMapping(), sqlite.Config{})
			require.NoError(t, err)
			return ht
		},
	})
}

func TestSQLiteTableImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ht := openSQLiteHost(t)
	_, err := db.Exec(`INSERT INTO contacts (id, email, given_name, ltv, born, attrs) VALUES
		('h1', 'User1@Example.com', 'Old', 12, '1980-05-06', '{"app_flag": true}'),
		('h2', 'someone@else.org', 'Keep', NULL, NULL, '{}')`)
	require.NoError(t, err)
	file := "email,first_name,last_name,birthday,lifetime_value,loyalty_tier\n" +
		"user1@example.com,Anna,Alt,1980-05-06,12.5,gold\n" +
		"user2@example.com,Ben,,,,\n"
	ext := intake.MustSchema("contact", append(fixture.Contact.Fields(), intake.Field{Name: "loyalty_tier", Type: intake.TypeText})...)
	for run, want := range []struct{ created, updated, unchanged int64 }{{1, 1, 0}, {0, 0, 2}} {
		rep, err := fixture.ImportCSV(ctx, t, ht, bytes.NewReader([]byte(file)), ext)
		require.NoError(t, err)
		require.Equal(t, want.created, rep.Created, "run %d", run)
		require.Equal(t, want.updated, rep.Updated, "run %d", run)
		require.Equal(t, want.unchanged, rep.Unchanged, "run %d", run)
	}
	var given, family, born, attrs string
	var ltv float64
	var modified sql.NullString
	require.NoError(t, db.QueryRow(`SELECT given_name, family_name, ltv, CAST(born AS TEXT), attrs, modified_at FROM contacts WHERE id = 'h1'`).
		Scan(&given, &family, &ltv, &born, &attrs, &modified))
	require.Equal(t, []any{"Anna", "Alt", 12.5, "1980-05-06", `{"app_flag":true,"loyalty_tier":"gold"}`, true},
		[]any{given, family, ltv, born, attrs, modified.Valid})
	n, err := ht.Count(ctx, "contact")
	require.NoError(t, err)
	require.EqualValues(t, 3, n)

	// Another object type is not this sink's.
	acct := intake.MustSchema("account", intake.Field{Name: "name", Type: intake.TypeText})
	r := intake.NewRecord(acct)
	r.ID = "a1"
	_, err = ht.Write(ctx, []*sink.Op{{Kind: sink.OpCreate, Record: r}})
	require.ErrorIs(t, err, sink.ErrInvalidOp)
	// A mapping naming a column the table lacks is refused.
	bad := sqliteHostMapping()
	bad.Columns = map[string]string{"email": "e_mail"}
	_, err = sqlite.NewTable(ctx, db, "contact", bad, sqlite.Config{})
	require.ErrorContains(t, err, "e_mail")
}

func TestSQLiteTableConcurrentFirstLookups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, ht := openSQLiteHost(t)
	fixture.Write(t, ht, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "Alt")))
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := ht.Lookup(ctx, fixture.Contact, intake.Keys("first_name", "last_name"), []intake.Key{"anna\x1falt"})
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	// One key column, set once per write.
	fixture.Write(t, ht, fixture.Create(fixture.Person("2", "b@example.com", "Anna", "Alt")))
	require.Equal(t, []string{"1", "2"}, fixture.Lookup(t, ht, intake.Keys("first_name", "last_name"), "anna\x1falt")["anna\x1falt"])
}
