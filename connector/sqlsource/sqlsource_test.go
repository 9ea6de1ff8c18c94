package sqlsource

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/internal/pgtest"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// setupSQLite returns an in-memory SQLite database with a contacts table.
func setupSQLite(t *testing.T) (context.Context, *sql.DB) {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	db, err := sql.Open("sqlite", "file::memory:")
	require.NoError(t, err)
	db.SetMaxOpenConns(1) // one in-memory database
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(ctx, `CREATE TABLE contacts (id INTEGER, email TEXT, phone INTEGER, ltv REAL, vip BOOLEAN, birthday DATE, seen DATETIME, photo BLOB, note TEXT)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO contacts VALUES
		(1, 'ann@example.com', 4930123456789, 0.1, 1, '1990-05-17', '2026-03-01 09:30:00', x'89504e47', 'ß'),
		(2, NULL, NULL, 1e21, 0, NULL, NULL, 'text', NULL)`)
	require.NoError(t, err)
	return ctx, db
}

func TestSQLSQLite(t *testing.T) {
	ctx, db := setupSQLite(t)
	src, err := New(ctx, db, Config{Query: `SELECT id, email, phone, ltv, vip, birthday, seen, photo, note FROM contacts WHERE id >= ? ORDER BY id`, Args: []any{1}, Name: "crm"})
	require.NoError(t, err)
	defer src.Close()
	res := connectortest.ReadAll(ctx, src)
	require.NoError(t, res.Fatal)
	assert.Equal(t, []string{"id", "email", "phone", "ltv", "vip", "birthday", "seen", "photo", "note"}, res.Header)
	require.Len(t, res.Rows, 2)
	assert.Equal(t, 2, res.Rows[0].Line)
	assert.Equal(t, 3, res.Rows[1].Line)
	assert.Equal(t, []string{"1", "ann@example.com", "4930123456789", "0.1", "true", "1990-05-17", "2026-03-01T09:30:00Z", "iVBORw==", "ß"}, res.Rows[0].Cells)
	assert.Equal(t, []string{"2", "", "", "1000000000000000000000", "false", "", "", "text", ""}, res.Rows[1].Cells)
	assert.Equal(t, "crm", src.Name())
	require.NoError(t, src.Close())
	require.NoError(t, src.Close())
	_, err = src.Read(ctx)
	assert.ErrorIs(t, err, connector.ErrClosed)
}

func TestSQLErrors(t *testing.T) {
	ctx, db := setupSQLite(t)
	_, err := New(ctx, db, Config{Query: "SELECT nope FROM"})
	assert.Error(t, err)
	_, err = New(ctx, db, Config{})
	assert.Error(t, err)
	_, err = New(ctx, nil, Config{Query: "SELECT 1"})
	assert.Error(t, err)
	_, err = New(ctx, db, Config{Query: "SELECT 1", MaxRows: -1})
	assert.Error(t, err)
	_, err = New(ctx, db, Config{Query: "SELECT email, email AS Email FROM contacts"})
	assert.ErrorIs(t, err, connector.ErrDuplicateHeader)

	src, err := New(ctx, db, Config{Query: "SELECT id FROM contacts", MaxRows: 1})
	require.NoError(t, err)
	_, err = src.Read(ctx)
	require.NoError(t, err)
	_, err = src.Read(ctx)
	assert.ErrorIs(t, err, connector.ErrTooManyRows)
	src.Close()

	cctx, cancel := context.WithCancel(ctx)
	src, err = New(cctx, db, Config{Query: "SELECT id FROM contacts"})
	require.NoError(t, err)
	cancel()
	_, err = src.Read(cctx)
	assert.ErrorIs(t, err, context.Canceled)
	src.Close()
}

func TestSQLText(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 3, 1, 9, 30, 0, 500, time.FixedZone("", 3600))
	tests := []struct {
		v    any
		k    sqlKind
		want string
	}{
		{nil, sqlAny, ""}, {"x", sqlAny, "x"}, {[]byte("ok"), sqlAny, "ok"}, {[]byte{0xff, 0}, sqlAny, "/wA="},
		{int64(-5), sqlAny, "-5"}, {int32(7), sqlAny, "7"}, {uint64(math.MaxUint64), sqlAny, "18446744073709551615"},
		{0.30000000000000004, sqlAny, "0.30000000000000004"}, {float32(0.1), sqlAny, "0.1"}, {math.Inf(-1), sqlAny, "-Inf"}, {math.NaN(), sqlAny, "NaN"},
		{true, sqlAny, "true"}, {when, sqlAny, "2026-03-01T09:30:00.0000005+01:00"}, {when, sqlDate, "2026-03-01"}, {when, sqlTime, "09:30:00.0000005"},
		{struct{ A int }{1}, sqlAny, "{1}"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sqlText(tt.v, tt.k), "%#v", tt.v)
	}
}

// TestSQLPostgres runs against the PostgreSQL at INTAKE_TEST_POSTGRES, in a
// schema of its own that it drops.
func TestSQLPostgres(t *testing.T) {
	url := pgtest.URL(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	schema := fmt.Sprintf("intake_sqlsource_%d", time.Now().UnixNano())
	_, err = conn.ExecContext(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	defer conn.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	_, err = conn.ExecContext(ctx, "SET search_path TO "+schema)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, `CREATE TABLE contacts (id bigint, email text, ltv numeric(12,2), vip boolean, birthday date, seen timestamptz, at time, photo bytea, ext uuid, props jsonb)`)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, `INSERT INTO contacts VALUES (4930123456789, 'ann@example.com', 1234.50, true, '1990-05-17', '2026-03-01 09:30:00+00', '09:30:00', '\x89504e47', '8f2d5ac0-9a4e-4bb2-a5c6-1d2f3e4a5b6c', '{"a": 1}'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	require.NoError(t, err)
	src, err := New(ctx, conn, Config{Query: `SELECT * FROM contacts WHERE id > $1 ORDER BY id DESC`, Args: []any{0}})
	require.NoError(t, err)
	defer src.Close()
	res := connectortest.ReadAll(ctx, src)
	require.NoError(t, res.Fatal)
	require.Len(t, res.Rows, 2)
	assert.Equal(t, []string{"4930123456789", "ann@example.com", "1234.50", "true", "1990-05-17", "2026-03-01T09:30:00Z", "09:30:00", "iVBORw==", "8f2d5ac0-9a4e-4bb2-a5c6-1d2f3e4a5b6c", `{"a": 1}`}, res.Rows[0].Cells)
	assert.Equal(t, []string{"2", "", "", "", "", "", "", "", "", ""}, res.Rows[1].Cells)
	_, err = src.Read(ctx)
	assert.Equal(t, io.EOF, err)
}
