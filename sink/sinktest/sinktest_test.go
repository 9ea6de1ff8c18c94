package sinktest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/intakehq/intake"
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

// Undoes reports false: the embedded store's WriteUndo would bypass this
// type's Write.
func (p piecewise) Undoes() bool { return false }

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

// Concurrent reports false: a reader may see half of a batch that
// piecewise writes.
func (piecewise) Concurrent() bool { return false }

// miscount is a memory sink whose Count is one too many: a capability it
// implements, which no Features field declares.
type miscount struct{ *memory.Store }

func (m miscount) Count(ctx context.Context, object string) (int64, error) {
	n, err := m.Store.Count(ctx, object)
	return n + 1, err
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

// dropsMeta is a memory sink whose Schema loses every field's Meta, as a
// store that keeps only names and types would.
type dropsMeta struct{ *memory.Store }

func (d dropsMeta) Schema(ctx context.Context, object string) (*intake.Schema, error) {
	s, err := d.Store.Schema(ctx, object)
	if s == nil || err != nil {
		return s, err
	}
	fields := s.Fields()
	for i := range fields {
		fields[i].Meta = nil
	}
	return intake.NewSchema(object, fields...)
}

func newMemory(t *testing.T) *memory.Store {
	m := memory.New(memory.Config{})
	t.Cleanup(func() { m.Close() })
	return m
}

// memoryFeatures are the declarations of the memory sink.
var memoryFeatures = sinktest.Features{AllOrNothing: true, TextNUL: true, Schemas: true}

// kitModes are the sinks that the kit runs on in a child process of
// TestKitCatchesBrokenSinks and TestKitSkipsWhatASinkLacks.
var kitModes = map[string]func(t *testing.T){
	"writeonly": func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Sink { return writeOnly{newMemory(t)} }, sinktest.Features{AllOrNothing: true})
	},
	"miscount": func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Sink { return miscount{newMemory(t)} }, sinktest.Features{})
	},
	"allornothing": func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Sink { return piecewise{newMemory(t), false} }, memoryFeatures)
	},
	"allornothing-hidden": func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Sink { return piecewise{newMemory(t), true} }, memoryFeatures)
	},
	"unlink": func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Sink { return ignoresUnlink{newMemory(t)} }, memoryFeatures)
	},
	"dropsmeta": func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sink.Sink { return dropsMeta{newMemory(t)} }, memoryFeatures)
	},
}

// runKit runs the test named test in a child process with the kit on the
// sink of mode, verbose, and returns its output and whether it passed.
func runKit(t *testing.T, test, mode string) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), "SINKTEST_MODE="+mode)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// TestKitCatchesBrokenSinks runs the kit in a child process on a sink
// that miscounts without declaring anything (the kit finds its Count by
// type assertion), on one that is declared AllOrNothing but applies
// batches op by op, on one that ignores Op.Unlink and on one whose
// Schema loses the fields' Meta, and checks that the kit fails them.
func TestKitCatchesBrokenSinks(t *testing.T) {
	if run := kitModes[os.Getenv("SINKTEST_MODE")]; run != nil {
		run(t)
		return
	}
	t.Parallel()
	for mode, wants := range map[string][]string{
		"miscount":            {"--- FAIL: TestKitCatchesBrokenSinks/Count", "--- SKIP: TestKitCatchesBrokenSinks/AllOrNothing", "sinktest: needs Features.AllOrNothing"},
		"allornothing":        {"--- FAIL: TestKitCatchesBrokenSinks/AllOrNothing", "an all-or-nothing Write that fails applies nothing"},
		"allornothing-hidden": {"--- FAIL: TestKitCatchesBrokenSinks/AllOrNothing", "a failed batch sets no outcome"},
		"unlink": {"--- FAIL: TestKitCatchesBrokenSinks/UnlinkRefused", "Write must fail", "--- SKIP: TestKitCatchesBrokenSinks/Unlink ",
			"sinktest: sinktest_test.ignoresUnlink does not implement sink.Unlinker or reports false"},
		"dropsmeta": {"--- FAIL: TestKitCatchesBrokenSinks/SchemaKeepsMeta", "step 0: a new field with meta", "--- PASS: TestKitCatchesBrokenSinks/SchemaKeepsRef"},
	} {
		out, passed := runKit(t, "TestKitCatchesBrokenSinks", mode)
		if passed {
			t.Errorf("%s: the kit passed a broken sink:\n%s", mode, out)
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the kit's output lacks %q:\n%s", mode, want, out)
			}
		}
	}
}

// TestKitSkipsWhatASinkLacks runs the kit in a child process on a sink
// with Write alone: it passes, and the tests of the capabilities it lacks
// are skipped with a message that names them.
func TestKitSkipsWhatASinkLacks(t *testing.T) {
	if run := kitModes[os.Getenv("SINKTEST_MODE")]; run != nil {
		run(t)
		return
	}
	t.Parallel()
	out, passed := runKit(t, "TestKitSkipsWhatASinkLacks", "writeonly")
	if !passed {
		t.Errorf("the kit failed a correct write-only sink:\n%s", out)
	}
	for _, want := range []string{
		"--- PASS: TestKitSkipsWhatASinkLacks/Outcomes",
		"--- SKIP: TestKitSkipsWhatASinkLacks/Count", "sinktest: sinktest_test.writeOnly does not implement sink.Counter",
		"--- SKIP: TestKitSkipsWhatASinkLacks/CompositeKey", "sinktest: sinktest_test.writeOnly does not implement sink.Lookuper",
		"--- SKIP: TestKitSkipsWhatASinkLacks/Unique", "sinktest: sinktest_test.writeOnly does not implement sink.KeyGuard or reports false",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the kit's output lacks %q:\n%s", want, out)
		}
	}
}

// TestKitPassesMemory: a correct sink passes, the counterpart of
// TestKitCatchesBrokenSinks in the kit's own package.
func TestKitPassesMemory(t *testing.T) {
	t.Parallel()
	sinktest.Run(t, func(t *testing.T) sink.Sink { return newMemory(t) }, memoryFeatures)
}

// noUnlinker is a lifecycle sink that does not implement sink.Unlinker
// and, not knowing Op.Unlink, ignores it. The importer never sends it an
// op with Unlink.
type noUnlinker struct {
	sink.Sink
	sink.Lookuper
	sink.Getter
	sink.Scanner
	sink.Auditor
	sink.SchemaReader
}

func (l noUnlinker) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	for _, op := range batch {
		op.Unlink = false
	}
	return l.Sink.Write(ctx, batch)
}

// TestKitPassesLifecycleSinkWithoutUnlinker: the kit passes a sink with
// lifecycle ops that does not implement sink.Unlinker, and skips the check
// that Unlink is refused.
func TestKitPassesLifecycleSinkWithoutUnlinker(t *testing.T) {
	t.Parallel()
	_, isUnlinker := any(noUnlinker{}).(sink.Unlinker)
	if isUnlinker {
		t.Fatal("noUnlinker implements sink.Unlinker")
	}
	sinktest.Run(t, func(t *testing.T) sink.Sink {
		m := newMemory(t)
		return noUnlinker{m, m, m, m, m, m}
	}, sinktest.Features{AllOrNothing: true})
}
