package sqlite_test

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

func sqliteLifecycleOp(kind sink.OpKind, id, reason string) *sink.Op {
	return &sink.Op{Kind: kind, Record: &intake.Record{Schema: fixture.Contact, ID: id, Values: make([]intake.Value, fixture.Contact.Len())},
		Audit: &sink.AuditEntry{Time: time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC), Reason: reason}}
}

// oldStore writes the tables of a store made before the inactive flag and
// key options existed: its contact table has a field named inactive, in
// the column inactive, and a key column k_email.
func oldStore(t *testing.T, path string) {
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE intake_schema (object TEXT PRIMARY KEY, schema TEXT NOT NULL)`,
		`INSERT INTO intake_schema VALUES ('contact', '{"object":"contact","fields":[{"name":"email","type":"email","column":"email"},{"name":"inactive","type":"bool","column":"inactive"}],"keys":[{"fields":["email"],"column":"k_email"}]}')`,
		`INSERT INTO intake_schema VALUES ('lead', '{"object":"lead","fields":[{"name":"email","type":"email","column":"email"}]}')`,
		`CREATE TABLE intake_contact (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, opted_out INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, email TEXT, inactive INTEGER, k_email TEXT)`,
		`CREATE INDEX intake_contact_k_email ON intake_contact (k_email)`,
		`INSERT INTO intake_contact (id, opted_out, created_at, updated_at, email, inactive, k_email) VALUES ('1', 1, 0, 0, 'a@example.com', 1, 'a@example.com')`,
		`CREATE TABLE intake_lead (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, opted_out INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, email TEXT)`,
		`INSERT INTO intake_lead (id, created_at, updated_at, email) VALUES ('L1', 0, 0, 'l@example.com')`,
	} {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}

// TestSQLiteOldStore opens a store written before the inactive flag: each
// table gets the flag's column on first use, beside a field of that name
// when there is one, and a reopened store remembers it.
func TestSQLiteOldStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	oldStore(t, path)
	s := openSQLite(t, path)
	old := intake.MustSchema("contact", intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "inactive", Type: intake.TypeBool})
	lead := intake.MustSchema("lead", intake.Field{Name: "email", Type: intake.TypeEmail})

	got, err := s.Get(ctx, old, []string{"1"})
	require.NoError(t, err)
	require.Equal(t, []intake.Value{intake.Text("a@example.com"), intake.Bool(true)}, got["1"].Values, "the field inactive keeps its column")
	require.False(t, got["1"].Inactive, "the flag starts unset")
	require.True(t, got["1"].OptedOut)
	res, err := s.Lookup(ctx, old, fixture.ByEmail, []intake.Key{"a@example.com"})
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, res["a@example.com"], "the old key column is used as is")

	r := intake.NewRecord(old)
	r.ID, r.Values[0], r.Inactive = "2", intake.Text("b@example.com"), true
	in := &sink.Op{Kind: sink.OpInactivate, Record: &intake.Record{Schema: old, ID: "1", Values: make([]intake.Value, 2)}, Audit: &sink.AuditEntry{Reason: "gone"}}
	fixture.Write(t, s, &sink.Op{Kind: sink.OpCreate, Record: r}, in)
	require.Equal(t, intake.OutcomeInactivated, in.Outcome)
	leads, err := s.Get(ctx, lead, []string{"L1"})
	require.NoError(t, err)
	require.False(t, leads["L1"].Inactive)
	require.Equal(t, "l@example.com", leads["L1"].Values[0].Str())

	var flag, field int64
	require.NoError(t, s.DB().QueryRow(`SELECT inactive_flag, inactive FROM intake_contact WHERE id = '1'`).Scan(&flag, &field))
	require.Equal(t, []int64{1, 1}, []int64{flag, field})
	require.NoError(t, s.DB().QueryRow(`SELECT inactive FROM intake_lead WHERE id = 'L1'`).Scan(&flag))
	require.EqualValues(t, 0, flag)
	var js string
	require.NoError(t, s.DB().QueryRow(`SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&js))
	require.Contains(t, js, `"inactive":"inactive_flag"`)
	require.Contains(t, js, `{"fields":["email"],"column":"k_email"}`, "a key without options is stored as before")

	// A field added later that is named like the flag's column gets f_.
	v2 := intake.MustSchema("contact", append(old.Fields(), intake.Field{Name: "inactive_flag", Type: intake.TypeText})...)
	r3 := intake.NewRecord(v2)
	r3.ID, r3.Values[2] = "3", intake.Text("x")
	fixture.Write(t, s, &sink.Op{Kind: sink.OpCreate, Record: r3})
	require.NoError(t, s.DB().QueryRow(`SELECT f_inactive_flag FROM intake_contact WHERE id = '3'`).Scan(&js))
	require.Equal(t, "x", js)
	require.NoError(t, s.Close())

	s = openSQLite(t, path)
	got, err = s.Get(ctx, v2, []string{"1", "2", "3"})
	require.NoError(t, err)
	require.True(t, got["1"].Inactive)
	require.True(t, got["2"].Inactive)
	require.False(t, got["3"].Inactive)
	require.Equal(t, "x", got["3"].Values[2].Str())
	require.Equal(t, intake.Bool(true), got["1"].Values[1])
}

// TestSQLiteReserve: reservations of two sinks on one file never overlap,
// survive a reopen, and stop before int64 overflows.
func TestSQLiteReserve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seq.db")
	a, b := openSQLite(t, path), openSQLite(t, path)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := range 6 {
		s := a
		if g%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for range 10 {
				first, err := s.Reserve(ctx, "n", 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for i := first; i < first+3; i++ {
					if seen[i] {
						t.Errorf("number %d handed out twice", i)
					}
					seen[i] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, 180)
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())

	s := openSQLite(t, path)
	first, err := s.Reserve(ctx, "n", 1)
	require.NoError(t, err)
	require.EqualValues(t, 180, first)
	_, err = s.DB().Exec(`UPDATE intake_sequences SET next = ? WHERE name = 'n'`, int64(math.MaxInt64-5))
	require.NoError(t, err)
	_, err = s.Reserve(ctx, "n", 6)
	require.ErrorContains(t, err, "overflow")
	first, err = s.Reserve(ctx, "n", 5)
	require.NoError(t, err)
	require.EqualValues(t, math.MaxInt64-5, first)

	// The connection Reserve used is back at synchronous=NORMAL.
	s.DB().SetMaxOpenConns(1)
	_, err = s.Reserve(ctx, "m", 1)
	require.NoError(t, err)
	var level int
	require.NoError(t, s.DB().QueryRow("PRAGMA synchronous").Scan(&level))
	require.Equal(t, 1, level)
}

// TestSQLiteTableLifecycle: an inactivate needs the mapping's
// InactiveColumn; deletes and anonymizations work without it, and their
// audit log is Intake's table beside the host's.
func TestSQLiteTableLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openSQLiteHost(t)
	m := sqliteHostMapping()
	m.InactiveColumn = ""
	ht, err := sqlite.NewTable(ctx, db, intake.ObjectContact, m, sqlite.Config{})
	require.NoError(t, err)
	fixture.Write(t, ht, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "Alt")), fixture.Create(fixture.Person("2", "b@example.com", "Ben", "")))

	_, err = ht.Write(ctx, []*sink.Op{sqliteLifecycleOp(sink.OpInactivate, "1", "left")})
	require.ErrorIs(t, err, sink.ErrInvalidOp)
	require.ErrorContains(t, err, "TableMapping.InactiveColumn")
	var re *sink.RecordError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "1", re.ID)

	out := fixture.Write(t, ht, sqliteLifecycleOp(sink.OpAnonymize, "1", "erasure"), sqliteLifecycleOp(sink.OpDelete, "2", "duplicate"))
	require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized, intake.OutcomeDeleted}, out)
	var email, given sql.NullString
	require.NoError(t, db.QueryRow(`SELECT email, given_name FROM contacts WHERE id = '1'`).Scan(&email, &given))
	require.False(t, email.Valid || given.Valid)
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM contacts WHERE id = '2'`).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM intake_audit WHERE object = 'contact'`).Scan(&n))
	require.Equal(t, 2, n)
	log, err := ht.AuditLog(ctx, intake.ObjectContact, "2")
	require.NoError(t, err)
	require.Len(t, log, 1)
	require.Equal(t, sink.AuditEntry{Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Object: "contact", RecordID: "2", Action: "delete", Reason: "duplicate"}, log[0])

	// A create of a stored id followed by its delete in one batch fails
	// the create, and audits nothing.
	_, err = ht.Write(ctx, []*sink.Op{fixture.Create(fixture.Person("1", "x@example.com", "X", "")), sqliteLifecycleOp(sink.OpDelete, "1", "oops")})
	require.ErrorIs(t, err, sink.ErrDuplicateID)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM intake_audit WHERE object = 'contact'`).Scan(&n))
	require.Equal(t, 2, n)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM contacts WHERE id = '1'`).Scan(&n))
	require.Equal(t, 1, n)

	// A mapping naming an InactiveColumn the table lacks is refused.
	m.InactiveColumn = "no_such_column"
	_, err = sqlite.NewTable(ctx, db, intake.ObjectContact, m, sqlite.Config{})
	require.ErrorContains(t, err, "no_such_column")
}
