package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

// The DSN's own _pragma parameters win over Open's defaults, whichever
// way the driver orders them.
func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pragma := func(s *sqlite.Store, name string) string {
		var v string
		require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA "+name).Scan(&v))
		return v
	}
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "d.db"), sqlite.Config{})
	require.NoError(t, err)
	require.Equal(t, "wal", pragma(s, "journal_mode"))
	require.Equal(t, "10000", pragma(s, "wal_autocheckpoint"))
	require.Equal(t, "-65536", pragma(s, "cache_size"))
	require.NoError(t, s.Close())

	s, err = sqlite.Open(ctx, filepath.Join(dir, "o.db")+"?_pragma=cache_size(-262144)&_pragma=wal_autocheckpoint%281000%29&_pragma=main.temp_store%20%3D%20FILE", sqlite.Config{})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, "-262144", pragma(s, "cache_size"))
	require.Equal(t, "1000", pragma(s, "wal_autocheckpoint"))
	require.Equal(t, "1", pragma(s, "temp_store"))
	require.Equal(t, "wal", pragma(s, "journal_mode"))
}
