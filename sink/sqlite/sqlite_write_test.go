package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

// A ctx cancelled while a batch runs rolls the batch back, and the
// connection it ran on is usable for the next batch.
func TestSQLiteWriteCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelNow bool
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), sqlite.Config{Now: func() time.Time {
		if cancelNow {
			cancel() // Write reads the clock after BEGIN, before the first row
		}
		return time.Now()
	}})
	require.NoError(t, err)
	defer s.Close()
	fixture.Write(t, s, fixture.Create(fixture.Person("1", "a@example.com", "", "")))

	cancelNow = true
	batch := []*sink.Op{fixture.Create(fixture.Person("2", "b@example.com", "", "")), fixture.Update(fixture.Person("1", "", "Anna", ""))}
	n, err := s.Write(ctx, batch)
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, context.Canceled)
	for _, op := range batch {
		require.Equal(t, intake.OutcomeNone, op.Outcome)
	}
	cancelNow = false
	require.Nil(t, fixture.Get(t, s, "2"))
	require.True(t, fixture.Get(t, s, "1").Get("first_name").IsNull())

	fixture.Write(t, s, batch...)
	require.Equal(t, "Anna", fixture.Get(t, s, "1").Get("first_name").Str())
	require.NotNil(t, fixture.Get(t, s, "2"))
}

// A row that breaks a constraint the host added is reported as the
// record's error, and the batch is rolled back.
func TestSQLiteWriteHostConstraint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "u.db"))
	require.NoError(t, s.EnsureSchema(ctx, fixture.Contact))
	_, err := s.DB().ExecContext(ctx, `CREATE UNIQUE INDEX host_email ON intake_contact (email)`)
	require.NoError(t, err)
	fixture.Write(t, s, fixture.Create(fixture.Person("1", "a@example.com", "", "")))

	dup := fixture.Person("3", "a@example.com", "", "")
	dup.Line = 7
	batch := []*sink.Op{fixture.Create(fixture.Person("2", "b@example.com", "", "")), fixture.Create(dup)}
	n, err := s.Write(ctx, batch)
	require.Equal(t, 0, n)
	var re *sink.RecordError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "3", re.ID)
	require.Equal(t, 7, re.Line)
	require.NotErrorIs(t, err, sink.ErrDuplicateID)
	require.Nil(t, fixture.Get(t, s, "2"))

	// A taken id is ErrDuplicateID, on the record that repeats it.
	n, err = s.Write(ctx, []*sink.Op{fixture.Create(fixture.Person("4", "d@example.com", "", "")), fixture.Create(fixture.Person("1", "e@example.com", "", ""))})
	require.Equal(t, 0, n)
	require.ErrorAs(t, err, &re)
	require.Equal(t, "1", re.ID)
	require.ErrorIs(t, err, sink.ErrDuplicateID)
	require.Nil(t, fixture.Get(t, s, "4"))
}

// A host pool of a single connection works: Write holds the connection
// only while a batch runs.
func TestSQLiteWriteOneConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "one.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	s, err := sqlite.New(db, sqlite.Config{})
	require.NoError(t, err)
	defer s.Close()
	for i := range 3 {
		require.Empty(t, fixture.Lookup(t, s, fixture.ByEmail, "x@example.com"))
		fixture.Write(t, s, fixture.Create(fixture.Person(string(rune('a'+i)), "", "", "")))
	}
	fixture.Write(t, s, fixture.Update(fixture.Person("a", "", "Anna", "")), fixture.OptOut("b"))
	n, err := s.Write(ctx, []*sink.Op{fixture.Create(fixture.Person("a", "", "", ""))})
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, sink.ErrDuplicateID)
	require.Equal(t, "Anna", fixture.Get(t, s, "a").Get("first_name").Str())
	require.True(t, fixture.Get(t, s, "b").OptedOut)
	c, err := s.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	require.EqualValues(t, 3, c)
}
