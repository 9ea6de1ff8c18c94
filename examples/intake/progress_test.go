package main

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/importer"
)

// TestProgressBar: the bar draws the committed batches' rows, rate, share
// of the file and ETA, at most every barEvery of the run, and erases its
// line at the end.
func TestProgressBar(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	b := &progressBar{w: &out}
	batch := func(rows int64, read int64, elapsed time.Duration) importer.Event {
		return importer.Event{Kind: importer.BatchCommitted, Counts: importer.Counts{Rows: rows}, RowsPerSecond: float64(rows) / elapsed.Seconds(),
			BytesRead: read, BytesTotal: 4000, Elapsed: elapsed}
	}
	b.event(importer.Event{Kind: importer.RunStarted, BytesTotal: 4000})
	assert.Empty(t, out.String(), "nothing before the first batch")

	b.event(batch(1000, 1000, 500*time.Millisecond))
	assert.Equal(t, fmt.Sprintf("\r%-70s", " 25%  1,000 rows  2,000 rows/s  ETA 2s"), out.String())
	out.Reset()
	b.event(batch(2000, 2000, 600*time.Millisecond))
	assert.Empty(t, out.String(), "within barEvery of the last drawing")
	b.event(batch(3000, 3000, 750*time.Millisecond))
	assert.Equal(t, fmt.Sprintf("\r%-70s", " 75%  3,000 rows  4,000 rows/s  ETA 0s"), out.String())
	out.Reset()

	unknown := batch(4000, 4000, 2*time.Second)
	unknown.BytesTotal = -1
	b.event(unknown)
	assert.Equal(t, fmt.Sprintf("\r%-70s", "4,000 rows  2,000 rows/s"), out.String(), "no share nor ETA of a source of unknown size")
	out.Reset()
	b.event(importer.Event{Kind: importer.RunFinished, Counts: importer.Counts{Rows: 4000}, Elapsed: 3 * time.Second})
	assert.Empty(t, out.String())
	b.clear()
	assert.Equal(t, fmt.Sprintf("\r%-70s\r", ""), out.String())

	var quiet *progressBar // no terminal: no bar
	quiet.clear()
}
