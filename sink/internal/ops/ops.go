package ops

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
)

// Check checks op for a sink that implements [sink.Auditor] ([CheckKinds]
// up to OpAnonymize): a lifecycle op needs an Audit entry with a Reason
// and, when the entry names its Action, the op's.
func Check(op *sink.Op) error {
	if err := CheckKinds(op, sink.OpAnonymize); err != nil {
		return err
	}
	if !IsLifecycle(op.Kind) {
		return nil
	}
	a := op.Audit
	switch {
	case a == nil:
		return fmt.Errorf("%w: %s op without an Audit entry: lifecycle ops carry a sink.AuditEntry with a Reason", sink.ErrInvalidOp, op.Kind)
	case strings.TrimSpace(a.Reason) == "":
		return fmt.Errorf("%w: %s op whose Audit entry has no Reason: say why the record is changed", sink.ErrInvalidOp, op.Kind)
	case a.Action != "" && a.Action != op.Kind.String():
		return fmt.Errorf("%w: %s op whose Audit entry names the action %q: leave Action empty or set it to %q", sink.ErrInvalidOp, op.Kind, a.Action, op.Kind.String())
	}
	return nil
}

// IsLifecycle reports whether k is OpInactivate, OpDelete or OpAnonymize.
func IsLifecycle(k sink.OpKind) bool { return k >= sink.OpInactivate && k <= sink.OpAnonymize }

// CheckKinds checks op for a sink that applies the op kinds up to last:
// the kind, Unique and Unlink against the kind, the record, its schema and
// id, and the kinds of its values.
func CheckKinds(op *sink.Op, last sink.OpKind) error {
	if op == nil {
		return fmt.Errorf("%w: nil op", sink.ErrInvalidOp)
	}
	if IsLifecycle(op.Kind) && op.Kind > last {
		return fmt.Errorf("%w: %s op: this sink does not apply lifecycle ops (it is not a sink.Auditor)", sink.ErrInvalidOp, op.Kind)
	}
	if op.Kind < sink.OpCreate || op.Kind > last {
		return fmt.Errorf("%w: unknown op kind %d", sink.ErrInvalidOp, op.Kind)
	}
	if len(op.Unique) > 0 && op.Kind != sink.OpCreate {
		return fmt.Errorf("%w: %s op with Unique: only a create is checked against the keys it must not share", sink.ErrInvalidOp, op.Kind)
	}
	if op.Unlink && op.Kind != sink.OpDelete && op.Kind != sink.OpAnonymize {
		return fmt.Errorf("%w: %s op with Unlink: only a delete or an anonymize removes the links to its record", sink.ErrInvalidOp, op.Kind)
	}
	rec := op.Record
	if rec == nil {
		return fmt.Errorf("%w: %s op without a record", sink.ErrInvalidOp, op.Kind)
	}
	if rec.Schema == nil {
		return fmt.Errorf("%w: record without a schema", sink.ErrInvalidOp)
	}
	if rec.ID == "" {
		return fmt.Errorf("%w: record without an id", sink.ErrInvalidOp)
	}
	s := rec.Schema
	if len(rec.Values) > s.Len() {
		return fmt.Errorf("%w: record has %d values, schema %q has %d fields", sink.ErrInvalidOp, len(rec.Values), s.Object(), s.Len())
	}
	if op.Kind == sink.OpCreate || op.Kind == sink.OpUpdate {
		for i, v := range rec.Values {
			if k := s.Type(i).Kind(); !v.IsNull() && v.Kind() != k {
				return fmt.Errorf("%w: field %q holds a %s value, want %s", sink.ErrInvalidOp, s.Name(i), v.Kind(), k)
			}
		}
	}
	if op.OptIn && op.Kind != sink.OpUpdate {
		return fmt.Errorf("%w: OptIn applies to an update, not to a %s op", sink.ErrInvalidOp, op.Kind)
	}
	if op.Kind == sink.OpUpdate {
		for _, c := range op.Clear {
			if c < 0 || c >= s.Len() {
				return fmt.Errorf("%w: Clear index %d outside schema %q (0-%d)", sink.ErrInvalidOp, c, s.Object(), s.Len()-1)
			}
		}
	}
	return nil
}

// RecordError wraps err as the *sink.RecordError of op's record.
func RecordError(op *sink.Op, err error) *sink.RecordError {
	e := &sink.RecordError{Err: err}
	if op != nil && op.Record != nil {
		e.ID, e.Line = op.Record.ID, op.Record.Line
		if op.Record.Schema != nil {
			e.Object = op.Record.Schema.Object()
		}
	}
	return e
}

// Value returns rec's i-th value, null when rec has fewer values.
func Value(rec *intake.Record, i int) intake.Value {
	if i < len(rec.Values) {
		return rec.Values[i]
	}
	return intake.Null
}

// Audit returns the audit entry a sink stores for the lifecycle op op
// (checked by Check): op.Audit with Object, RecordID and Action
// filled in from the op, the fields of unlink entries empty, and Time cut
// to the microsecond, in UTC.
func Audit(op *sink.Op) sink.AuditEntry {
	a := *op.Audit
	a.Object, a.RecordID, a.Action = op.Record.Schema.Object(), op.Record.ID, op.Kind.String()
	a.Field, a.TargetObject, a.TargetID = "", "", ""
	a.Time = a.Time.Truncate(time.Microsecond).UTC()
	return a
}

// CheckLookupSpec refuses a key spec that no sink looks up.
func CheckLookupSpec(spec intake.KeySpec) error {
	if spec.RecordID {
		return fmt.Errorf("sink: Lookup by %s: a record-id key is never looked up: find the records by id with Get", spec.Name())
	}
	return nil
}

// CheckReserve checks the arguments of a Sequencer's Reserve.
func CheckReserve(name string, n int64) error {
	switch {
	case name == "":
		return errors.New("sink: Reserve: empty sequence name: name the sequence (\"contact_number\")")
	case n < 1:
		return fmt.Errorf("sink: Reserve of %d numbers of sequence %q: reserve at least one", n, name)
	}
	return nil
}

// ErrSequenceFull is the error of a reservation that would go beyond the
// largest int64.
func ErrSequenceFull(name string, next, n int64) error {
	return fmt.Errorf("sink: Reserve of %d numbers of sequence %q: the sequence is at %d and would overflow int64", n, name, next)
}

// Unlinks holds the targets of a batch's ops with Unlink: by object type,
// the ids whose links the batch removes, each with the first op of the
// batch that asked (whose audit entry the unlink entries copy).
type Unlinks map[string]map[string]*sink.Op

// Add records op's record as a target when op asks to unlink it.
func (u *Unlinks) Add(op *sink.Op) {
	if !op.Unlink {
		return
	}
	if *u == nil {
		*u = Unlinks{}
	}
	object := op.Record.Schema.Object()
	ids := (*u)[object]
	if ids == nil {
		ids = map[string]*sink.Op{}
		(*u)[object] = ids
	}
	if _, ok := ids[op.Record.ID]; !ok {
		ids[op.Record.ID] = op
	}
}

// Fields returns the indexes of the fields of s that link to a target
// type of u.
func (u Unlinks) Fields(s *intake.Schema) []int {
	var out []int
	for i := range s.Len() {
		if f := s.Field(i); u[f.Ref] != nil {
			out = append(out, i)
		}
	}
	return out
}

// TargetIDs returns the target ids of the object type ref, sorted.
func (u Unlinks) TargetIDs(ref string) []string {
	ids := make([]string, 0, len(u[ref]))
	for id := range u[ref] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Holds reports whether v, the value of a link field to ref, holds a
// target id of u.
func (u Unlinks) Holds(v intake.Value, ref string) bool {
	targets := u[ref]
	if v.IsNull() || len(targets) == 0 {
		return false
	}
	if v.Kind() != intake.KindList {
		_, ok := targets[v.Str()]
		return ok
	}
	raw, _ := v.Raw()
	for it := range strings.SplitSeq(raw, "\x1f") {
		if _, ok := targets[it]; ok {
			return true
		}
	}
	return false
}

// Strip returns v, the value of the link field f (to f.Ref) of the record
// object/id, without the target ids of u, and appends to audits an
// "unlink" entry per id it removed; changed reports whether it removed any.
func (u Unlinks) Strip(v intake.Value, f intake.Field, object, id string, audits []sink.AuditEntry) (out intake.Value, _ []sink.AuditEntry, changed bool) {
	targets := u[f.Ref]
	if v.IsNull() || len(targets) == 0 {
		return v, audits, false
	}
	if v.Kind() != intake.KindList {
		op, ok := targets[v.Str()]
		if !ok {
			return v, audits, false
		}
		return intake.Null, append(audits, unlinkAudit(op, object, id, f.Name, f.Ref, v.Str())), true
	}
	items := v.Items()
	kept := items[:0:0]
	for _, it := range items {
		if op, ok := targets[it]; ok {
			audits = append(audits, unlinkAudit(op, object, id, f.Name, f.Ref, it))
			changed = true
			continue
		}
		kept = append(kept, it)
	}
	if !changed {
		return v, audits, false
	}
	return intake.List(kept...), audits, true
}

// ClearLink returns null for v, the value of the record's own link field f
// that an anonymize with Unlink clears, and appends to audits an "unlink"
// entry per id v held (named by op, the anonymize).
func ClearLink(op *sink.Op, v intake.Value, f intake.Field, audits []sink.AuditEntry) (intake.Value, []sink.AuditEntry) {
	if v.IsNull() {
		return v, audits
	}
	for _, it := range v.Items() {
		audits = append(audits, unlinkAudit(op, op.Record.Schema.Object(), op.Record.ID, f.Name, f.Ref, it))
	}
	return intake.Null, audits
}

// IsLink reports whether f is a link field that an anonymize with Unlink
// clears (intake.NewSchema allows a Ref on id and multi-select fields only).
func IsLink(f intake.Field) bool { return f.Ref != "" }

// unlinkAudit returns the audit entry of a link that op removed: the field
// of the record object/id that pointed to targetObject/targetID.
func unlinkAudit(op *sink.Op, object, id, field, targetObject, targetID string) sink.AuditEntry {
	a := Audit(op)
	// Copies: a store may hand in strings that share its own memory.
	a.Object, a.RecordID, a.Action = object, strings.Clone(id), sink.ActionUnlink
	a.Field, a.TargetObject, a.TargetID = field, targetObject, strings.Clone(targetID)
	return a
}
