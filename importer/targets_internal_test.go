package importer

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
)

// TestDryRunTargetsBounded: a dry run remembers the keys of the targets
// it would create up to Config.DryRunRecords of them, and beyond that by
// hash only, still finding each under its made-up id.
func TestDryRunTargetsBounded(t *testing.T) {
	t.Parallel()
	s := intake.AccountSchema()
	ts := &targets{object: s.Object(), schema: s, dry: true, limit: 3}
	plan, err := s.CompileKey(intake.Keys("domain"))
	require.NoError(t, err)
	ts.addPlan("domain", plan)
	for n := 1; n <= 50; n++ {
		rec := intake.NewRecord(s)
		rec.Set("domain", intake.Text(fmt.Sprintf("d%d.example", n)))
		ts.dryN++
		ts.register(rec, ts.dryID(ts.dryN))
		ts.rotate() // a new batch: a dry run keeps what it made up
	}
	assert.Len(t, ts.created, 3, "keys by value up to the limit")
	assert.Len(t, ts.hashed, 47, "the others by hash")
	for n := 1; n <= 50; n++ {
		id, ok := ts.find("domain", intake.Key(fmt.Sprintf("d%d.example", n)))
		require.True(t, ok, n)
		assert.Equal(t, fmt.Sprintf("dry-run:account:%d", n), id)
	}
	_, ok := ts.find("domain", "d51.example")
	assert.False(t, ok)
	// A stored target renamed beyond the limit is forgotten (the
	// documented approximation), a made-up one is not.
	ts.remember("domain", "renamed.example", "stored-1")
	_, ok = ts.find("domain", "renamed.example")
	assert.False(t, ok)
}
