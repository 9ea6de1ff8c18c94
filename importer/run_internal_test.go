package importer

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake"
)

// TestChunkReleaseDropsRowMemory: a recycled chunk keeps no reference to the
// rows of its last batch, the mapped values included (text values may share
// memory with the source's buffers).
func TestChunkReleaseDropsRowMemory(t *testing.T) {
	t.Parallel()
	c := newChunk(4, 3)
	line := "anna@example.com,Anna,Berlin"
	for i := range 2 {
		c.rows[i] = intake.Row{Line: i + 2, Cells: []string{line[:16], line[17:21], line[22:]}}
		c.recs[i].ID = "id"
		c.recs[i].Values[0] = intake.Text(line[:16])
		c.recs[i].Values[2] = intake.Text(line[22:])
		c.matches[i].Key = intake.Key(line[:16])
		c.n++
	}
	c.release()
	assert.Zero(t, c.n)
	for i := range c.recs {
		assert.Empty(t, c.rows[i].Cells)
		assert.Empty(t, c.recs[i].ID)
		assert.Len(t, c.recs[i].Values, 3, "the record keeps its slab")
		for _, v := range c.recs[i].Values {
			assert.True(t, v.IsNull())
		}
		assert.Empty(t, c.matches[i].Key)
	}
}
