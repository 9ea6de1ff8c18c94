package sinktest_test

import (
	"testing"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sinktest"
)

// testMemorySink is what a sink author writes in a _test.go file, as
// func TestMySink(t *testing.T): open returns a fresh, empty sink for each
// test of the kit, which tests every capability the sink implements; the
// features declare what its type cannot tell: the memory sink writes a
// batch all or nothing, stores NUL bytes in text and evolves its schemas.
func testMemorySink(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Sink {
		m := memory.New(memory.Config{})
		t.Cleanup(func() { m.Close() })
		return m
	}, sinktest.Features{AllOrNothing: true, TextNUL: true, Schemas: true})
}

// A sink with only Write and Lookup runs the tests those allow; the others
// are skipped with the capability or the feature they need.
func testMinimalSink(t *testing.T, open func(t *testing.T) sink.Sink) {
	sinktest.Run(t, open, sinktest.Features{AllOrNothing: true})
}

func Example() {
	_ = testMemorySink
	_ = testMinimalSink
}
