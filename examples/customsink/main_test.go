package main

import (
	"context"
	"testing"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/sinktest"
)

// TestConformance runs Intake's sink conformance kit against the DocStore
// sink: the kit tests the capabilities the sink implements (Lookup, Get,
// Scan, Count, Concurrent) and skips the rest; the features declare what
// its type cannot tell.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Sink { return NewSink(NewDocStore()) }, sinktest.Features{
		AllOrNothing: true,
		TextNUL:      true,
	})
}

func TestRun(t *testing.T) {
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func Example() {
	_ = run(context.Background())
	// Output:
	// succeeded: 3 rows, 2 created, 1 updated
	// anna@example.com Anna Bonn
	// ben@example.com Ben
}
