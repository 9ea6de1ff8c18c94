package sqlite_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/stretchr/testify/require"
)

// TestUndoImportHostTable: an import into the host's own table, then an
// update run, then the undo of the update run: the host table holds
// exactly what it held before the update run, field by field.
func TestUndoImportHostTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, tbl := openSQLiteHost(t)
	sch := intake.ContactSchema()
	snapshot := func() map[string]*intake.Record {
		out := map[string]*intake.Record{}
		require.NoError(t, tbl.Scan(ctx, sch, func(r *intake.Record) error {
			out[r.ID] = r.Clone()
			return nil
		}))
		return out
	}
	_, err := fixture.ImportCSV(ctx, t, tbl, bytes.NewReader([]byte("email,first_name,last_name,phone\nann@x.io,Ann,Alt,+4930123456\nben@x.io,Ben,Bauer,\n")), sch)
	require.NoError(t, err)
	before := snapshot()
	rep, err := fixture.ImportCSV(ctx, t, tbl, bytes.NewReader([]byte("email,first_name,last_name\nann@x.io,Alt,Ann\ncid@x.io,Cid,Can\n")), sch)
	require.NoError(t, err)
	require.Equal(t, [2]int64{1, 1}, [2]int64{rep.Created, rep.Updated})
	require.True(t, rep.Undoable, rep.UndoReason)

	im, err := importer.New(importer.Config{Sink: tbl})
	require.NoError(t, err)
	undo, err := im.Undo(ctx, importer.UndoJob{RunID: rep.RunID})
	require.NoError(t, err)
	require.Equal(t, [3]int64{1, 1, 0}, [3]int64{undo.Reverted, undo.Restored, undo.Conflicted})
	after := snapshot()
	require.Len(t, after, len(before))
	for id, w := range before {
		g := after[id]
		require.NotNil(t, g, id)
		for i := range sch.Len() {
			require.Equal(t, w.Values[i], g.Values[i], "%s.%s", id, sch.Name(i))
		}
		require.Equal(t, [2]bool{w.OptedOut, w.Inactive}, [2]bool{g.OptedOut, g.Inactive})
	}
}
