package sink

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/intakehq/intake"
)

// checkOp reports why op cannot be applied by any store, or nil. The error
// wraps ErrInvalidOp; callers wrap it in a RecordError. It refuses
// lifecycle ops (OpInactivate, OpDelete, OpAnonymize): a sink that applies
// them checks its ops with checkAuditedOp.
func checkOp(op *Op) error { return checkOpKinds(op, OpOptOut) }

// checkAuditedOp is checkOp for a sink that implements [Auditor]: it also
// accepts lifecycle ops, which need an Audit entry with a Reason and,
// when the entry names its Action, the op's.
func checkAuditedOp(op *Op) error {
	if err := checkOpKinds(op, OpAnonymize); err != nil {
		return err
	}
	if !lifecycleOp(op.Kind) {
		return nil
	}
	a := op.Audit
	switch {
	case a == nil:
		return fmt.Errorf("%w: %s op without an Audit entry: lifecycle ops carry a sink.AuditEntry with a Reason", ErrInvalidOp, op.Kind)
	case strings.TrimSpace(a.Reason) == "":
		return fmt.Errorf("%w: %s op whose Audit entry has no Reason: say why the record is changed", ErrInvalidOp, op.Kind)
	case a.Action != "" && a.Action != op.Kind.String():
		return fmt.Errorf("%w: %s op whose Audit entry names the action %q: leave Action empty or set it to %q", ErrInvalidOp, op.Kind, a.Action, op.Kind.String())
	}
	return nil
}

// lifecycleOp reports whether k is OpInactivate, OpDelete or OpAnonymize.
func lifecycleOp(k OpKind) bool { return k >= OpInactivate && k <= OpAnonymize }

func checkOpKinds(op *Op, last OpKind) error {
	if op == nil {
		return fmt.Errorf("%w: nil op", ErrInvalidOp)
	}
	if lifecycleOp(op.Kind) && op.Kind > last {
		return fmt.Errorf("%w: %s op: this sink does not apply lifecycle ops (it is not a sink.Auditor)", ErrInvalidOp, op.Kind)
	}
	if op.Kind < OpCreate || op.Kind > last {
		return fmt.Errorf("%w: unknown op kind %d", ErrInvalidOp, op.Kind)
	}
	rec := op.Record
	if rec == nil {
		return fmt.Errorf("%w: %s op without a record", ErrInvalidOp, op.Kind)
	}
	if rec.Schema == nil {
		return fmt.Errorf("%w: record without a schema", ErrInvalidOp)
	}
	if rec.ID == "" {
		return fmt.Errorf("%w: record without an id", ErrInvalidOp)
	}
	s := rec.Schema
	if len(rec.Values) > s.Len() {
		return fmt.Errorf("%w: record has %d values, schema %q has %d fields", ErrInvalidOp, len(rec.Values), s.Object(), s.Len())
	}
	if op.Kind == OpCreate || op.Kind == OpUpdate {
		for i, v := range rec.Values {
			if k := s.Field(i).Type.Kind(); !v.IsNull() && v.Kind() != k {
				return fmt.Errorf("%w: field %q holds a %s value, want %s", ErrInvalidOp, s.Field(i).Name, v.Kind(), k)
			}
		}
	}
	if op.Kind == OpUpdate {
		for _, c := range op.Clear {
			if c < 0 || c >= s.Len() {
				return fmt.Errorf("%w: Clear index %d outside schema %q (0-%d)", ErrInvalidOp, c, s.Object(), s.Len()-1)
			}
		}
	}
	return nil
}

// recordError wraps err as the RecordError of op's record.
func recordError(op *Op, err error) *RecordError {
	e := &RecordError{Err: err}
	if op != nil && op.Record != nil {
		e.ID, e.Line = op.Record.ID, op.Record.Line
	}
	return e
}

// value returns rec's i-th value, null when rec has fewer values.
func value(rec *intake.Record, i int) intake.Value {
	if i < len(rec.Values) {
		return rec.Values[i]
	}
	return intake.Null
}

// mergeFields merges the fields of s into the stored fields cols (a store's
// fields in the order they were added) and returns the new list, whether it
// changed, and the names of stored fields whose type changed to another type
// of the same value kind (their keys must be computed again). A field stored
// with another value kind is an ErrSchemaConflict.
func mergeFields(cols []intake.Field, s *intake.Schema) (out []intake.Field, changed bool, retyped []string, err error) {
	out = cols
	pos := make(map[string]int, len(cols))
	for i, c := range cols {
		pos[c.Name] = i
	}
	for i := 0; i < s.Len(); i++ {
		f := s.Field(i)
		j, ok := pos[f.Name]
		if !ok {
			if !changed {
				out = append([]intake.Field(nil), cols...)
				changed = true
			}
			pos[f.Name] = len(out)
			out = append(out, f)
			continue
		}
		c := out[j]
		if c.Type == f.Type {
			continue
		}
		if c.Type.Kind() != f.Type.Kind() {
			return cols, false, nil, fmt.Errorf("%w: field %q of %q is stored as %s (%s values) and cannot become %s (%s values): rename the field or migrate the data",
				ErrSchemaConflict, f.Name, s.Object(), c.Type, c.Type.Kind(), f.Type, f.Type.Kind())
		}
		if !changed {
			out = append([]intake.Field(nil), cols...)
			changed = true
		}
		out[j] = f
		retyped = append(retyped, f.Name)
	}
	return out, changed, retyped, nil
}

// specUses reports whether spec names one of the fields.
func specUses(spec intake.KeySpec, fields []string) bool {
	for _, f := range spec.Fields {
		for _, g := range fields {
			if f == g {
				return true
			}
		}
	}
	return false
}

// auditOf returns the audit entry a sink stores for the lifecycle op op
// (checked by checkAuditedOp): op.Audit with Object, RecordID and Action
// filled in from the op, and Time cut to the microsecond, in UTC.
func auditOf(op *Op) AuditEntry {
	a := *op.Audit
	a.Object, a.RecordID, a.Action = op.Record.Schema.Object(), op.Record.ID, op.Kind.String()
	a.Time = a.Time.Truncate(time.Microsecond).UTC()
	return a
}

// checkLookupSpec refuses a key spec that no sink looks up.
func checkLookupSpec(spec intake.KeySpec) error {
	if spec.RecordID {
		return fmt.Errorf("sink: Lookup by %s: a record-id key is never looked up: find the records by id with Get", spec.Name())
	}
	return nil
}

// checkReserve checks the arguments of a Sequencer's Reserve.
func checkReserve(name string, n int64) error {
	switch {
	case name == "":
		return errors.New("sink: Reserve: empty sequence name: name the sequence (\"contact_number\")")
	case n < 1:
		return fmt.Errorf("sink: Reserve of %d numbers of sequence %q: reserve at least one", n, name)
	}
	return nil
}

// errSequenceFull is the error of a reservation that would go beyond the
// largest int64.
func errSequenceFull(name string, next, n int64) error {
	return fmt.Errorf("sink: Reserve of %d numbers of sequence %q: the sequence is at %d and would overflow int64", n, name, next)
}

// erased reports whether OpAnonymize erases field i of s: a personal field,
// or the digest field F_md5 of a personal field F (an MD5 key falls back on
// it, so it would still find the record).
func erased(s *intake.Schema, i int) bool {
	f := s.Field(i)
	if f.Personal {
		return true
	}
	base, ok := strings.CutSuffix(f.Name, "_md5")
	if !ok {
		return false
	}
	j := s.Index(base)
	return j >= 0 && s.Field(j).Personal
}
