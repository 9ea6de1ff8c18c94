package sink_test

// The behaviours every sink must show are tested by the public conformance
// kit sink/sinktest, which memory_kit_test.go, sqlite_kit_test.go,
// sqlite_table_test.go and the PostgreSQL tests run. This file keeps the
// small helpers the sink-specific tests share.

import (
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

var contact = intake.ContactSchema()

// person returns a contact record.
func person(id, email, first, last string) *intake.Record {
	r := intake.NewRecord(contact)
	r.ID = id
	if email != "" {
		r.Set("email", intake.Text(email))
	}
	if first != "" {
		r.Set("first_name", intake.Text(first))
	}
	if last != "" {
		r.Set("last_name", intake.Text(last))
	}
	return r
}

func create(r *intake.Record) *sink.Op { return &sink.Op{Kind: sink.OpCreate, Record: r} }
func update(r *intake.Record, clear ...int) *sink.Op {
	return &sink.Op{Kind: sink.OpUpdate, Record: r, Clear: clear}
}
func optOut(id string) *sink.Op {
	return &sink.Op{Kind: sink.OpOptOut, Record: &intake.Record{Schema: contact, ID: id, Values: make([]intake.Value, contact.Len())}}
}

// write writes ops and returns their outcomes.
func write(t *testing.T, s sink.Sink, ops ...*sink.Op) []intake.Outcome {
	t.Helper()
	n, err := s.Write(context.Background(), ops)
	require.NoError(t, err)
	require.Equal(t, len(ops), n)
	out := make([]intake.Outcome, len(ops))
	for i, op := range ops {
		out[i] = op.Outcome
	}
	return out
}

func lookup(t *testing.T, s sink.Lookuper, spec intake.KeySpec, keys ...intake.Key) map[intake.Key][]string {
	t.Helper()
	res, err := s.Lookup(context.Background(), contact, spec, keys)
	require.NoError(t, err)
	return res
}

func get(t *testing.T, s sink.Getter, id string) *intake.Record {
	t.Helper()
	res, err := s.Get(context.Background(), contact, []string{id})
	require.NoError(t, err)
	return res[id]
}

var byEmail = intake.Keys("email")
