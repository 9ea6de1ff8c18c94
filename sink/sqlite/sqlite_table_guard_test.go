package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLiteTableGuardTakesWriteLock checks what the host-table sink's
// guard relies on: in a deferred transaction, an UPDATE that matches no
// row takes the database's write lock, so that no other connection can
// commit between the guard's key check and the inserts.
func TestSQLiteTableGuardTakesWriteLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lock.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(0)")
		require.NoError(t, err)
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	_, err := a.Exec(sqliteHostContacts)
	require.NoError(t, err)

	tx, err := a.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck
	_, err = b.Exec(`INSERT INTO contacts (id, email) VALUES ('before', 'x@example.com')`)
	require.NoError(t, err, "a deferred transaction that has not written holds no lock")
	_, err = tx.Exec(`UPDATE contacts SET id = id WHERE 0`)
	require.NoError(t, err)
	_, err = b.Exec(`INSERT INTO contacts (id, email) VALUES ('during', 'y@example.com')`)
	require.Error(t, err, "another connection writes while the transaction holds the write lock")
	require.Contains(t, err.Error(), "locked")
	var n int
	require.NoError(t, tx.QueryRow(`SELECT count(*) FROM contacts`).Scan(&n))
	require.Equal(t, 1, n, "the transaction sees what was committed before it took the lock")
	require.NoError(t, tx.Commit())
	_, err = b.Exec(`INSERT INTO contacts (id, email) VALUES ('after', 'z@example.com')`)
	require.NoError(t, err)
}
