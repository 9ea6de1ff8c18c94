package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// contactsCSV returns a CSV file of n contacts; with changed, every second
// row has another first name than the one written without.
func contactsCSV(n int, changed bool) []byte {
	var b bytes.Buffer
	b.WriteString("email,first_name,last_name,birthday,lifetime_value\n")
	for i := range n {
		first := fmt.Sprintf("First%d", i)
		if changed && i%2 == 0 {
			first += "x"
		}
		fmt.Fprintf(&b, "user%d@example.com,%s,Last%d,19%02d-%02d-%02d,%d.%d\n", i, first, i%97, i%100, i%12+1, i%28+1, i, i%10)
	}
	return b.Bytes()
}

func runImport(ctx context.Context, t *testing.T, s sink.Sink, file []byte, batch int) (*importer.Report, error) {
	t.Helper()
	im, err := importer.New(importer.Config{Sink: s, BatchSize: batch})
	require.NoError(t, err)
	src, err := connector.NewCSV(bytes.NewReader(file), connector.CSVConfig{Name: "contacts.csv"})
	require.NoError(t, err)
	return im.Run(ctx, importer.Job{Source: src, Action: identity.AddAndUpdate, Identity: importer.SyncOn("email")})
}

func TestPostgresImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgtest.Schema(t)
	pg := openPostgres(t, postgres.Config{Schema: schema})
	const n = 3000
	rep, err := runImport(ctx, t, pg, contactsCSV(n, false), 500)
	require.NoError(t, err)
	require.EqualValues(t, n, rep.Created)
	require.EqualValues(t, n, rep.Rows)

	rep, err = runImport(ctx, t, pg, contactsCSV(n, true), 500)
	require.NoError(t, err)
	require.EqualValues(t, n/2, rep.Updated)
	require.EqualValues(t, n/2, rep.Unchanged)
	require.EqualValues(t, 0, rep.Created)

	c, err := pg.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	require.EqualValues(t, n, c)
	res, err := pg.Lookup(ctx, intake.ContactSchema(), intake.Keys("email"), []intake.Key{"user0@example.com", "user1@example.com"})
	require.NoError(t, err)
	got, err := pg.Get(ctx, intake.ContactSchema(), []string{res["user0@example.com"][0], res["user1@example.com"][0]})
	require.NoError(t, err)
	r0, r1 := got[res["user0@example.com"][0]], got[res["user1@example.com"][0]]
	require.Equal(t, "First0x", r0.Get("first_name").Str())
	require.Equal(t, "First1", r1.Get("first_name").Str())
	require.Equal(t, "1900-01-01", r0.Get("birthday").String())
	require.Equal(t, "1.1", r1.Get("lifetime_value").String())

	// The table is plain SQL: the host can read it.
	var first string
	require.NoError(t, pg.Pool().QueryRow(ctx, `SELECT first_name FROM `+schema+`.intake_contact WHERE k_email = 'user2@example.com'`).Scan(&first))
	require.Equal(t, "First2x", first)
}

// TestPostgresKilledConnection kills the sink's connections in the middle
// of an import, runs the import again, and checks that the table holds
// every row exactly once. Each kill waits until the backend has exited,
// so that none dies after the first run, under the second.
func TestPostgresKilledConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := testPool(t)
	schema := pgtest.Schema(t)
	b := make([]byte, 4)
	rand.Read(b)
	app := "intake-fault-" + hex.EncodeToString(b)
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema})
	require.NoError(t, err)

	const n = 40000
	file := contactsCSV(n, false)
	// Once some batches are committed, kill the sink's busy connections
	// (writing a batch, or looking up the next) until the run ends.
	done := make(chan struct{})
	killed := make(chan int, 1)
	go func() {
		kills := 0
		defer func() { killed <- kills }()
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var rows int64
			if admin.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.intake_contact`).Scan(&rows) != nil || rows < 5000 {
				continue
			}
			var k int
			if admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
WHERE application_name = $1 AND state <> 'idle'`, app).Scan(&k) == nil {
				kills += k
			}
		}
	}()
	rep, err := runImport(ctx, t, pg, file, 1000)
	close(done)
	kills := <-killed
	t.Logf("%d connections killed; first run: %v, %d rows committed", kills, err, rep.Rows)
	require.Positive(t, kills, "no connection was killed while the import ran")
	if err == nil { // every kill hit a read or a BEGIN, which the sink tried again
		require.EqualValues(t, n, rep.Created)
	} else {
		require.Less(t, rep.Created, int64(n))
	}

	// Run again: committed rows match and come out unchanged, the others
	// are created. The connections killed at the first run's end, idle in
	// the pool now, are replaced.
	rep2, err := runImport(ctx, t, pg, file, 1000)
	require.NoError(t, err)
	require.EqualValues(t, n, rep2.Created+rep2.Unchanged)
	require.Equal(t, rep.Created, rep2.Unchanged)

	var total, emails int64
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(*), count(DISTINCT k_email) FROM `+schema+`.intake_contact`).Scan(&total, &emails))
	require.EqualValues(t, n, total, "every row exactly once")
	require.EqualValues(t, n, emails)
	var missing int64
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(*) FROM generate_series(0, $1 - 1) i
WHERE NOT EXISTS (SELECT 1 FROM `+schema+`.intake_contact c WHERE c.k_email = 'user' || i || '@example.com')`, n).Scan(&missing))
	require.Zero(t, missing)
	require.False(t, strings.Contains(schema, `"`))
}

var sprintf = fmt.Sprintf
