package memory_test

import (
	"testing"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sinktest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	sinktest.Run(t, func(t *testing.T) sink.Sink {
		m := memory.New(memory.Config{})
		t.Cleanup(func() { m.Close() })
		return m
	}, sinktest.Features{AllOrNothing: true, TextNUL: true, Schemas: true})
}
