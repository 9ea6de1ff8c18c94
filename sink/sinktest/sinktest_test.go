package sinktest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/sinktest"
)

// writeOnly hides every capability of the sink it wraps but Write.
type writeOnly struct{ sink.Sink }

// piecewise is a memory sink whose Write applies a batch op by op, so a
// failing op leaves the ops before it applied: not all-or-nothing. With
// hide, it even reports 0 ops written on failure, so only the outcomes and
// the stored records give it away.
type piecewise struct {
	*memory.Store
	hide bool
}

func (p piecewise) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	for i, op := range batch {
		if _, err := p.Store.Write(ctx, []*sink.Op{op}); err != nil {
			if p.hide {
				i = 0
			}
			return i, err
		}
	}
	return len(batch), nil
}

// ignoresUnlink is a memory sink that says it does not apply Op.Unlink
// (sink.Unlinker reporting false) and yet, rather than refuse an op with
// Unlink, applies the delete or anonymization and drops the Unlink.
type ignoresUnlink struct{ *memory.Store }

func (s ignoresUnlink) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	for _, op := range batch {
		op.Unlink = false
	}
	return s.Store.Write(ctx, batch)
}

func (ignoresUnlink) Unlinks() bool { return false }

func newMemory(t *testing.T) *memory.Store {
	m := memory.New(memory.Config{})
	t.Cleanup(func() { m.Close() })
	return m
}

// TestKitCatchesBrokenSinks runs the kit in a child process on a sink whose
// Features claim a capability it lacks, on one that claims AllOrNothing
// but applies batches op by op and on one that ignores Op.Unlink, and
// checks that the kit fails them (and skips, with a message, the tests of
// capabilities a sink does not claim).
func TestKitCatchesBrokenSinks(t *testing.T) {
	switch os.Getenv("SINKTEST_BROKEN") {
	case "features":
		sinktest.Run(t, func(t *testing.T) sink.Sink { return writeOnly{newMemory(t)} }, sinktest.Features{Lookup: true})
		return
	case "allornothing", "allornothing-hidden":
		f := sinktest.All()
		f.Concurrent = false
		hide := os.Getenv("SINKTEST_BROKEN") == "allornothing-hidden"
		sinktest.Run(t, func(t *testing.T) sink.Sink { return piecewise{newMemory(t), hide} }, f)
		return
	case "unlink":
		f := sinktest.All()
		f.Unlink = false
		sinktest.Run(t, func(t *testing.T) sink.Sink { return ignoresUnlink{newMemory(t)} }, f)
		return
	}
	t.Parallel()
	for mode, wants := range map[string][]string{
		"features":            {"Features.Lookup is set but sinktest_test.writeOnly does not implement sink.Lookuper", "--- SKIP: TestKitCatchesBrokenSinks/Count", "sinktest: needs Features.Count"},
		"allornothing":        {"--- FAIL: TestKitCatchesBrokenSinks/AllOrNothing", "an all-or-nothing Write that fails applies nothing"},
		"allornothing-hidden": {"--- FAIL: TestKitCatchesBrokenSinks/AllOrNothing", "a failed batch sets no outcome"},
		"unlink":              {"--- FAIL: TestKitCatchesBrokenSinks/UnlinkRefused", "Write must fail", "--- SKIP: TestKitCatchesBrokenSinks/Unlink ", "sinktest: needs Features.Unlink"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKitCatchesBrokenSinks$", "-test.v")
		cmd.Env = append(os.Environ(), "SINKTEST_BROKEN="+mode)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s: the kit passed a broken sink:\n%s", mode, out)
		}
		for _, want := range wants {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: the kit's output lacks %q:\n%s", mode, want, out)
			}
		}
	}
}

// TestKitPassesMemory: a correct sink passes, the counterpart of
// TestKitCatchesBrokenSinks in the kit's own package.
func TestKitPassesMemory(t *testing.T) {
	t.Parallel()
	sinktest.Run(t, func(t *testing.T) sink.Sink { return newMemory(t) }, sinktest.All())
}

// legacy is a lifecycle sink written before Op.Unlink existed: it does not
// implement sink.Unlinker and, not knowing the field, ignores it. The
// importer never sends it an op with Unlink.
type legacy struct {
	sink.Sink
	sink.Lookuper
	sink.Getter
	sink.Scanner
	sink.Auditor
	sink.SchemaReader
}

func (l legacy) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	for _, op := range batch {
		op.Unlink = false
	}
	return l.Sink.Write(ctx, batch)
}

// TestKitPassesLegacyLifecycleSink: the kit passes a sink with lifecycle
// ops that predates Op.Unlink, and skips the check that Unlink is refused.
func TestKitPassesLegacyLifecycleSink(t *testing.T) {
	t.Parallel()
	_, isUnlinker := any(legacy{}).(sink.Unlinker)
	if isUnlinker {
		t.Fatal("legacy implements sink.Unlinker")
	}
	sinktest.Run(t, func(t *testing.T) sink.Sink {
		m := newMemory(t)
		return legacy{m, m, m, m, m, m}
	}, sinktest.Features{Lookup: true, Get: true, Scan: true, Lifecycle: true, SchemaReader: true, AllOrNothing: true})
}
