package sink_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/sinktest"
	"github.com/stretchr/testify/require"
)

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	sinktest.Run(t, func(t *testing.T) sink.Sink {
		s, err := sink.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "kit.db"), sink.SQLiteConfig{})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}, sinktest.All())
}
