package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// writeBenchCSV writes n contacts to path; with changed, every second row
// has another city and lifetime value than without.
func writeBenchCSV(tb testing.TB, path string, n int, changed bool) {
	f, err := os.Create(path)
	require.NoError(tb, err)
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("contact_id,email,phone,first_name,last_name,birthday,country,city,lifetime_value\n")
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		fn, ln := fixture.GenFirst[r.IntN(len(fixture.GenFirst))], fixture.GenLast[r.IntN(len(fixture.GenLast))]
		city := fixture.GenCities[r.IntN(len(fixture.GenCities))]
		ltv := fmt.Sprintf("%d.%d", r.IntN(10000), 1+r.IntN(9))
		if changed && i%2 == 0 {
			city, ltv = city+" Mitte", "1"+ltv
		}
		fmt.Fprintf(w, "CRM-%08d,%s.%s.%d@%s,+4915%09d,%s,%s,%d-%02d-%02d,DE,%s,%s\n", i, fn, ln, i, fixture.GenDomain[r.IntN(len(fixture.GenDomain))],
			r.IntN(1e9), fn, ln, 1950+r.IntN(55), 1+r.IntN(12), 1+r.IntN(28), city, ltv)
	}
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
}

// BenchmarkPostgresMillion measures, in one run on the same generated file
// of INTAKE_BENCH_ROWS rows (default 1,000,000):
//
//   - copy_s:         COPY of the raw CSV file into an empty table with a
//     primary key on email (the floor an import cannot beat);
//   - import_s:       Intake's import of the file into an empty store;
//   - upsert_s:       COPY of the changed file (50% of the rows differ) into
//     a temporary table and INSERT … ON CONFLICT DO UPDATE into a table
//     with a primary key on email already holding half of the first file's
//     rows: the floor of a re-import (half the rows update, half
//     insert);
//   - reimport_s:     Intake's re-import of the changed file;
//   - import_noundo_s and reimport_noundo_s: the same import and re-import
//     into a store of their own with the job's undo log off
//     (importer.UndoOptions.Off), and undo_import_% and undo_reimport_%
//     what keeping the log costs;
//   - shaped_copy_s and shaped_update_s: the same two floors in the shape
//     of Intake's own table with the two indexes the contract needs (see
//     shapedFloors).
//
// It prints the two targets with PASS or FAIL: import_s at most 1.2×
// shaped_copy_s, reimport_s at most 1.0× upsert_s.
//
// Run it with -bench PostgresMillion -benchtime 1x -run '^$';
// INTAKE_BENCH_ASYNC=1 sets Config.AsyncCommit and
// INTAKE_BENCH_BATCH the importer's batch size.
func BenchmarkPostgresMillion(b *testing.B) {
	url := pgtest.URL(b)
	_ = url
	n := 1_000_000
	if s := os.Getenv("INTAKE_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	dir := b.TempDir()
	first, second := filepath.Join(dir, "contacts.csv"), filepath.Join(dir, "contacts-changed.csv")
	writeBenchCSV(b, first, n, false)
	writeBenchCSV(b, second, n, true)
	pool := testPool(b)
	for b.Loop() {
		schema := pgtest.Schema(b)
		conn, err := pool.Acquire(ctx)
		require.NoError(b, err)
		cols := "contact_id text, email text PRIMARY KEY, phone text, first_name text, last_name text, birthday date, country text, city text, lifetime_value numeric"
		_, err = conn.Exec(ctx, "CREATE TABLE "+schema+".raw ("+cols+")")
		require.NoError(b, err)
		copyFile := func(path, table string) time.Duration {
			f, err := os.Open(path)
			require.NoError(b, err)
			defer f.Close()
			start := time.Now()
			_, err = conn.Conn().PgConn().CopyFrom(ctx, f, "COPY "+table+" FROM STDIN (FORMAT csv, HEADER true)")
			require.NoError(b, err)
			return time.Since(start)
		}
		tCopy := copyFile(first, schema+".raw")

		pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema, AsyncCommit: os.Getenv("INTAKE_BENCH_ASYNC") != ""})
		require.NoError(b, err)
		impInto := func(pg *postgres.Store, path string, undoOff bool) (*importer.Report, time.Duration) {
			batch, _ := strconv.Atoi(os.Getenv("INTAKE_BENCH_BATCH"))
			im, err := importer.New(importer.Config{Sink: pg, BatchSize: batch})
			require.NoError(b, err)
			src, err := connector.OpenCSVFile(path, connector.CSVConfig{})
			require.NoError(b, err)
			start := time.Now()
			rep, err := im.Run(ctx, importer.Job{Source: src, Action: identity.AddAndUpdate, Identity: importer.SyncOn("email"),
				Undo: importer.UndoOptions{Off: undoOff}})
			require.NoError(b, err)
			require.Equal(b, !undoOff, rep.Undoable, rep.UndoReason)
			return rep, time.Since(start)
		}
		imp := func(path string) (*importer.Report, time.Duration) { return impInto(pg, path, false) }
		// The import without the undo log goes first, the re-import without
		// it last: a bias for the first or the second of two imports (a
		// checkpoint, the server's caches) shows with opposite signs.
		pgOff, err := postgres.New(ctx, pool, postgres.Config{Schema: pgtest.Schema(b), AsyncCommit: os.Getenv("INTAKE_BENCH_ASYNC") != ""})
		require.NoError(b, err)
		_, tImportOff := impInto(pgOff, first, true)
		rep, tImport := imp(first)
		require.EqualValues(b, n, rep.Created)

		_, err = conn.Exec(ctx, "CREATE TABLE "+schema+".half ("+cols+")")
		require.NoError(b, err)
		_, err = conn.Exec(ctx, "INSERT INTO "+schema+".half SELECT * FROM "+schema+".raw ORDER BY contact_id LIMIT "+strconv.Itoa(n/2))
		require.NoError(b, err)
		_, err = conn.Exec(ctx, "ANALYZE "+schema+".half")
		require.NoError(b, err)

		start := time.Now()
		_, err = conn.Exec(ctx, "BEGIN")
		require.NoError(b, err)
		_, err = conn.Exec(ctx, "CREATE TEMP TABLE raw_in ("+cols+") ON COMMIT DROP")
		require.NoError(b, err)
		copyFile(second, "raw_in")
		_, err = conn.Exec(ctx, "INSERT INTO "+schema+".half SELECT * FROM raw_in ON CONFLICT (email) DO UPDATE SET "+
			"contact_id = EXCLUDED.contact_id, phone = EXCLUDED.phone, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, "+
			"birthday = EXCLUDED.birthday, country = EXCLUDED.country, city = EXCLUDED.city, lifetime_value = EXCLUDED.lifetime_value")
		require.NoError(b, err)
		_, err = conn.Exec(ctx, "COMMIT")
		require.NoError(b, err)
		tUpsert := time.Since(start)
		conn.Release()

		rep, tReimport := imp(second)
		require.EqualValues(b, n-n/2, rep.Updated) // rows 0, 2, 4, … differ
		require.EqualValues(b, n/2, rep.Unchanged)

		// The re-import without the undo log, into the store of the import
		// without it: what keeping the log costs.
		_, tReimportOff := impInto(pgOff, second, true)

		// Last, so that they leave the timings above alone.
		conn, err = pool.Acquire(ctx)
		require.NoError(b, err)
		tShapedCopy, tShapedUpdate := shapedFloors(b, conn, schema, dir, first, cols, n)
		conn.Release()

		b.ReportMetric(tCopy.Seconds(), "copy_s")
		b.ReportMetric(tImport.Seconds(), "import_s")
		b.ReportMetric(tUpsert.Seconds(), "upsert_s")
		b.ReportMetric(tReimport.Seconds(), "reimport_s")
		b.ReportMetric(tImport.Seconds()/tCopy.Seconds(), "import/copy")
		b.ReportMetric(tReimport.Seconds()/tUpsert.Seconds(), "reimport/upsert")
		b.ReportMetric(tImportOff.Seconds(), "import_noundo_s")
		b.ReportMetric(tReimportOff.Seconds(), "reimport_noundo_s")
		b.ReportMetric(100*(tImport.Seconds()/tImportOff.Seconds()-1), "undo_import_%")
		b.ReportMetric(100*(tReimport.Seconds()/tReimportOff.Seconds()-1), "undo_reimport_%")
		b.ReportMetric(tShapedCopy.Seconds(), "shaped_copy_s")
		b.ReportMetric(tShapedUpdate.Seconds(), "shaped_update_s")
		b.ReportMetric(tImport.Seconds()/tShapedCopy.Seconds(), "import/shaped_copy")
		b.ReportMetric(tReimport.Seconds()/tShapedUpdate.Seconds(), "reimport/shaped_update")
		verdict := func(name string, got, target float64) {
			v := "PASS"
			if got > target {
				v = "FAIL"
			}
			fmt.Printf("%s %s: %.2f× (target ≤ %.1f×)\n", v, name, got, target)
		}
		fmt.Printf("copy %.2fs, two-index copy %.2fs, import %.2fs; upsert %.2fs, re-import %.2fs\n",
			tCopy.Seconds(), tShapedCopy.Seconds(), tImport.Seconds(), tUpsert.Seconds(), tReimport.Seconds())
		verdict("import / two-index COPY", tImport.Seconds()/tShapedCopy.Seconds(), 1.2)
		verdict("re-import / upsert", tReimport.Seconds()/tUpsert.Seconds(), 1.0)
		fmt.Printf("undo log: import %.2fs vs %.2fs without it (%+.1f%%); re-import %.2fs vs %.2fs (%+.1f%%, budget ≤ +15%%)\n",
			tImport.Seconds(), tImportOff.Seconds(), 100*(tImport.Seconds()/tImportOff.Seconds()-1),
			tReimport.Seconds(), tReimportOff.Seconds(), 100*(tReimport.Seconds()/tReimportOff.Seconds()-1))
	}
}

// shapedFloors measures, once the re-import is done, the two floors in the
// shape of Intake's own table — its columns (types and collations) with
// two indexes, the primary key on the id and one on each key column,
// which Get and Lookup need — rather than the one-index tables of copy_s
// and upsert_s:
//
//   - shaped_copy_s: a binary COPY of the rows Intake stores (read back
//     beforehand in id order, untimed) into an empty such table;
//   - shaped_update_s: COPY of the original file, whose every second row
//     differs from what the re-import stored, into a temporary table, and
//     one UPDATE … FROM it that finds each row by its key column and writes
//     the rows whose city or lifetime value differ, with updated_at, in one
//     transaction, on the shaped table once vacuumed (hint bits set, free
//     space known).
//
// Neither does what Intake must do besides (lookups by key, per-record
// outcomes, in-file duplicates, batches of bounded size); one UPDATE of
// half a million rows is not always faster than batches of them.
func shapedFloors(b *testing.B, conn *pgxpool.Conn, schema, dir, original, rawCols string, n int) (copyT, updateT time.Duration) {
	ctx := context.Background()
	tab := schema + ".intake_contact"
	shaped := schema + ".shaped"
	rows, err := conn.Query(ctx, `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'intake_contact' AND column_name <> 'seq' ORDER BY ordinal_position`, schema)
	require.NoError(b, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(b, err)
	var keyCols []string
	for i, name := range names {
		names[i] = pgx.Identifier{name}.Sanitize()
		if strings.HasPrefix(name, "k_") {
			keyCols = append(keyCols, names[i])
		}
	}
	list := strings.Join(names, ", ")
	dump := filepath.Join(dir, "shaped.bin")
	defer os.Remove(dump)
	f, err := os.Create(dump)
	require.NoError(b, err)
	defer f.Close()
	_, err = conn.Conn().PgConn().CopyTo(ctx, f, "COPY (SELECT "+list+" FROM "+tab+" ORDER BY id) TO STDOUT (FORMAT binary)")
	require.NoError(b, err)
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(b, err)
	// The columns with their types and collations, and the two indexes.
	_, err = conn.Exec(ctx, "CREATE TABLE "+shaped+" AS SELECT "+list+" FROM "+tab+" WITH NO DATA")
	require.NoError(b, err)
	ddl := []string{"ALTER TABLE " + shaped + " ADD PRIMARY KEY (id)"}
	for _, name := range keyCols {
		ddl = append(ddl, "CREATE INDEX ON "+shaped+" ("+name+")")
	}
	for _, q := range ddl {
		_, err = conn.Exec(ctx, q)
		require.NoError(b, err)
	}
	defer conn.Exec(ctx, "DROP TABLE IF EXISTS "+shaped) //nolint:errcheck // the schema is dropped after the benchmark anyway
	start := time.Now()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, f, "COPY "+shaped+" ("+list+") FROM STDIN (FORMAT binary)")
	copyT = time.Since(start)
	require.NoError(b, err)
	require.EqualValues(b, n, tag.RowsAffected())
	_, err = conn.Exec(ctx, "VACUUM ANALYZE "+shaped)
	require.NoError(b, err)

	in, err := os.Open(original)
	require.NoError(b, err)
	defer in.Close()
	start = time.Now()
	_, err = conn.Exec(ctx, "BEGIN")
	require.NoError(b, err)
	_, err = conn.Exec(ctx, "CREATE TEMP TABLE shaped_in ("+rawCols+") ON COMMIT DROP")
	require.NoError(b, err)
	_, err = conn.Conn().PgConn().CopyFrom(ctx, in, "COPY shaped_in FROM STDIN (FORMAT csv, HEADER true)")
	require.NoError(b, err)
	// lower(email) is the email key of these rows (lowercase ASCII and
	// "ü", nothing to trim); it is not Intake's normalization in general,
	// and the count below would catch a row it missed.
	tag, err = conn.Exec(ctx, "UPDATE "+shaped+" s SET city = r.city, lifetime_value = r.lifetime_value, updated_at = now() FROM shaped_in r "+
		"WHERE s.k_email = lower(r.email) AND (s.city IS DISTINCT FROM r.city OR s.lifetime_value IS DISTINCT FROM r.lifetime_value)")
	require.NoError(b, err)
	_, err = conn.Exec(ctx, "COMMIT")
	require.NoError(b, err)
	updateT = time.Since(start)
	require.EqualValues(b, n-n/2, tag.RowsAffected())
	return copyT, updateT
}
