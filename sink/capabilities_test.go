package sink_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/intakehq/intake/sink/sqlite"
)

// capabilities returns the optional capabilities v implements, by type
// assertion as callers find them.
func capabilities(v any) string {
	var got []string
	add := func(ok bool, name string) {
		if ok {
			got = append(got, name)
		}
	}
	_, ok := v.(sink.Sink)
	add(ok, "Sink")
	_, ok = v.(sink.Lookuper)
	add(ok, "Lookuper")
	_, ok = v.(sink.Getter)
	add(ok, "Getter")
	_, ok = v.(sink.SchemaEnsurer)
	add(ok, "SchemaEnsurer")
	_, ok = v.(sink.Scanner)
	add(ok, "Scanner")
	_, ok = v.(sink.Counter)
	add(ok, "Counter")
	_, ok = v.(sink.SchemaReader)
	add(ok, "SchemaReader")
	_, ok = v.(sink.Concurrent)
	add(ok, "Concurrent")
	_, ok = v.(sink.Checkpointer)
	add(ok, "Checkpointer")
	_, ok = v.(sink.Auditor)
	add(ok, "Auditor")
	_, ok = v.(sink.Sequencer)
	add(ok, "Sequencer")
	sort.Strings(got)
	return strings.Join(got, " ")
}

// TestCapabilities checks the capability lists of the package doc and of
// each sink type's doc comment against the methods the types have.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		// memory/doc.go: the store implements every capability but Checkpointer.
		{"Memory", (*memory.Store)(nil), "Auditor Concurrent Counter Getter Lookuper Scanner SchemaEnsurer SchemaReader Sequencer Sink"},
		// postgres/doc.go: the store implements every capability, Checkpointer included.
		{"Postgres", (*postgres.Store)(nil), "Auditor Checkpointer Concurrent Counter Getter Lookuper Scanner SchemaEnsurer SchemaReader Sequencer Sink"},
		{"SQLite", (*sqlite.Store)(nil), "Auditor Concurrent Counter Getter Lookuper Scanner SchemaEnsurer SchemaReader Sequencer Sink"},
		{"sqlite.Table", (*sqlite.Table)(nil), "Auditor Concurrent Counter Getter Lookuper Scanner SchemaEnsurer Sequencer Sink"},
	} {
		if got := capabilities(tt.v); got != tt.want {
			t.Errorf("%s implements %s, want %s", tt.name, got, tt.want)
		}
	}
}
