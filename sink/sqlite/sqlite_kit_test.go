package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/sinktest"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/require"
)

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	sinktest.Run(t, func(t *testing.T) sink.Sink {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kit.db"), sqlite.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}, sqliteKitFeatures())
}

// sqliteKitFeatures are the kit's features of the SQLite sink, whose
// Reopen opens the database file again, as another process would.
func sqliteKitFeatures() sinktest.Features {
	f := sinktest.Features{AllOrNothing: true, TextNUL: true, Schemas: true}
	f.Reopen = func(t *testing.T, s sink.Sink) sink.Sink {
		var path string
		require.NoError(t, s.(*sqlite.Store).DB().QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path))
		return openSQLite(t, path)
	}
	return f
}
