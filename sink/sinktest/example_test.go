package sinktest_test

import (
	"testing"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sinktest"
)

// testMemorySink is what a sink author writes in a _test.go file, as
// func TestMySink(t *testing.T): open returns a fresh, empty sink for each
// test of the kit, and the features say what the sink implements.
func testMemorySink(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Sink {
		m := memory.New(memory.Config{})
		t.Cleanup(func() { m.Close() })
		return m
	}, sinktest.All())
}

// A sink with only Write and Lookup runs the tests those allow; the others
// are skipped with the feature they need.
func testMinimalSink(t *testing.T, open func(t *testing.T) sink.Sink) {
	sinktest.Run(t, open, sinktest.Features{Lookup: true, AllOrNothing: true})
}

func Example() {
	_ = testMemorySink
	_ = testMinimalSink
}
