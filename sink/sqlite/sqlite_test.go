package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/internal/cputime"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

// openSQLite opens a SQLite sink at path and closes it when the test ends.
func openSQLite(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Config{})
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	s := openSQLite(t, path)
	fixture.Write(t, s, fixture.Create(fixture.Person("1", "a@example.com", "Anna", "Meyer")), fixture.Create(fixture.Person("2", "b@example.com", "Ben", "Meyer")))
	fixture.Lookup(t, s, fixture.ByEmail, "a@example.com")
	fixture.Write(t, s, fixture.OptOut("2"))
	require.NoError(t, s.Close())

	s = openSQLite(t, path)
	// The stored schema and key column are remembered: the record's values
	// come back for a schema pointer the store has not seen, and a create
	// keeps the email key current without a new backfill.
	fixture.Write(t, s, fixture.Create(fixture.Person("3", "c@example.com", "", "")))
	require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}, "c@example.com": {"3"}}, fixture.Lookup(t, s, fixture.ByEmail, "a@example.com", "c@example.com"))
	r := fixture.Get(t, s, "2")
	require.True(t, r.OptedOut)
	require.Equal(t, "Ben", r.Get("first_name").Str())
	n, err := s.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)

	var schema string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&schema))
	require.Contains(t, schema, `"column":"k_email"`)
}

func TestSQLiteConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		dsn  string
		cfg  sqlite.Config
	}{
		{"negative cache", "x.db", sqlite.Config{CacheSizeKiB: -1}},
		{"negative timeout", "x.db", sqlite.Config{BusyTimeout: -time.Second}},
		{"empty path", "", sqlite.Config{}},
		{"empty path with prefix", "sqlite:", sqlite.Config{}},
		{"missing directory", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), sqlite.Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sqlite.Open(ctx, tc.dsn, tc.cfg)
			require.Error(t, err)
		})
	}
	_, err := sqlite.New(nil, sqlite.Config{})
	require.Error(t, err)
}

// BenchmarkSQLiteWrite imports generated contacts the way the importer
// does: per batch of 1000, one Lookup by email, then one Write of creates.
// It reports rows/s and the process's CPU time per row (cpu-us/row), which
// says more than wall time on a busy machine. b.N batches: -benchtime
// 1000x imports a million contacts.
func BenchmarkSQLiteWrite(b *testing.B) {
	benchSQLiteWrite(b, 1000)
}

// BenchmarkSQLiteWriteBatch is BenchmarkSQLiteWrite with more rows per
// Write (one transaction each): b.N batches of the size in the name.
func BenchmarkSQLiteWriteBatch(b *testing.B) {
	for _, n := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchSQLiteWrite(b, n) })
	}
}

func benchSQLiteWrite(b *testing.B, batch int) {
	ctx := context.Background()
	s := openSQLite(b, filepath.Join(b.TempDir(), "bench.db"))
	recs := make([]intake.Record, batch)
	ops := make([]*sink.Op, batch)
	keys := make([]intake.Key, batch)
	r := rand.New(rand.NewPCG(1, 2))
	done := 0
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for j := range recs {
			fixture.GenContact(&recs[j], done+j, r)
			keys[j] = intake.Key(recs[j].Values[1].Str())
			ops[j] = &sink.Op{Kind: sink.OpCreate, Record: &recs[j]}
		}
		c0 := cputime.Process()
		b.StartTimer()
		if _, err := s.Lookup(ctx, intake.ContactSchema(), fixture.ByEmail, keys); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Write(ctx, ops); err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Process() - c0
		done += batch
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(done), "cpu-us/row")
	b.ReportMetric(0, "ns/op")
}

// Key columns of specs whose joined names collide stay apart.
func TestSQLiteKeyColumnNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "k.db"))
	sch := intake.MustSchema("thing",
		intake.Field{Name: "a__b", Type: intake.TypeID},
		intake.Field{Name: "a", Type: intake.TypeID},
		intake.Field{Name: "b", Type: intake.TypeID})
	r := intake.NewRecord(sch)
	r.ID = "1"
	r.Values[0], r.Values[1], r.Values[2] = intake.Text("x"), intake.Text("y"), intake.Text("z")
	fixture.Write(t, s, fixture.Create(r))
	for _, tc := range []struct {
		spec intake.KeySpec
		key  intake.Key
	}{
		{intake.Keys("a__b"), "x"},
		{intake.Keys("a", "b"), intake.Key("y" + intake.KeySep + "z")},
		{intake.Keys("a__b"), "x"},
	} {
		res, err := s.Lookup(ctx, sch, tc.spec, []intake.Key{tc.key, "y", "x" + intake.KeySep + "z"})
		require.NoError(t, err)
		require.Equal(t, map[intake.Key][]string{tc.key: {"1"}}, res, tc.spec.Name())
	}
}
