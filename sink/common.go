package sink

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intakehq/intake"
)

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
	if len(op.Unique) > 0 && op.Kind != OpCreate {
		return fmt.Errorf("%w: %s op with Unique: only a create is checked against the keys it must not share", ErrInvalidOp, op.Kind)
	}
	if op.Unlink && op.Kind != OpDelete && op.Kind != OpAnonymize {
		return fmt.Errorf("%w: %s op with Unlink: only a delete or an anonymize removes the links to its record", ErrInvalidOp, op.Kind)
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
// with another value kind is an ErrSchemaConflict. A stored field takes the
// Ref of s's field when that names an object type, and keeps its own when
// s's field has none (a schema that does not know a field is a link does
// not unmake it).
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
			if refChanged(c, f) {
				if !changed {
					out = append([]intake.Field(nil), cols...)
					changed = true
				}
				out[j].Ref = f.Ref
			}
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
		if f.Ref == "" && (f.Type == intake.TypeID || f.Type == intake.TypeMultiSelect) {
			f.Ref = c.Ref // a field retyped to text stops being a link
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
// filled in from the op, the fields of unlink entries empty, and Time cut
// to the microsecond, in UTC.
func auditOf(op *Op) AuditEntry {
	a := *op.Audit
	a.Object, a.RecordID, a.Action = op.Record.Schema.Object(), op.Record.ID, op.Kind.String()
	a.Field, a.TargetObject, a.TargetID = "", "", ""
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

// AnonymizeErases reports whether [OpAnonymize] erases field i of s: a
// personal field ([intake.Field.Personal]), or the digest field F_md5 of a
// personal field F (an MD5 key falls back on it, so it would still find
// the record). A sink that implements OpAnonymize erases exactly these
// fields; the importer's dry run counts with the same rule.
func AnonymizeErases(s *intake.Schema, i int) bool {
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

// refChanged reports whether the stored field c would take the Ref of f
// (see mergeFields).
func refChanged(c, f intake.Field) bool { return f.Ref != "" && f.Ref != c.Ref }

// unlinks holds the targets of a batch's ops with Unlink: by object type,
// the ids whose links the batch removes, each with the first op of the
// batch that asked (whose audit entry the unlink entries copy).
type unlinks map[string]map[string]*Op

// add records op's record as a target when op asks to unlink it.
func (u *unlinks) add(op *Op) {
	if !op.Unlink {
		return
	}
	if *u == nil {
		*u = unlinks{}
	}
	object := op.Record.Schema.Object()
	ids := (*u)[object]
	if ids == nil {
		ids = map[string]*Op{}
		(*u)[object] = ids
	}
	if _, ok := ids[op.Record.ID]; !ok {
		ids[op.Record.ID] = op
	}
}

// fields returns the indexes of the fields of s that link to a target
// type of u.
func (u unlinks) fields(s *intake.Schema) []int {
	var out []int
	for i := range s.Len() {
		if f := s.Field(i); u[f.Ref] != nil {
			out = append(out, i)
		}
	}
	return out
}

// targetIDs returns the target ids of the object type ref, sorted.
func (u unlinks) targetIDs(ref string) []string {
	ids := make([]string, 0, len(u[ref]))
	for id := range u[ref] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// holds reports whether v, the value of a link field to ref, holds a
// target id of u.
func (u unlinks) holds(v intake.Value, ref string) bool {
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

// strip returns v, the value of the link field f (to f.Ref) of the record
// object/id, without the target ids of u, and appends to audits an
// "unlink" entry per id it removed; changed reports whether it removed any.
func (u unlinks) strip(v intake.Value, f intake.Field, object, id string, audits []AuditEntry) (out intake.Value, _ []AuditEntry, changed bool) {
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

// clearLink returns null for v, the value of the record's own link field f
// that an anonymize with Unlink clears, and appends to audits an "unlink"
// entry per id v held (named by op, the anonymize).
func clearLink(op *Op, v intake.Value, f intake.Field, audits []AuditEntry) (intake.Value, []AuditEntry) {
	if v.IsNull() {
		return v, audits
	}
	for _, it := range v.Items() {
		audits = append(audits, unlinkAudit(op, op.Record.Schema.Object(), op.Record.ID, f.Name, f.Ref, it))
	}
	return intake.Null, audits
}

// isLink reports whether f is a link field that an anonymize with Unlink
// clears (intake.NewSchema allows a Ref on id and multi-select fields only).
func isLink(f intake.Field) bool { return f.Ref != "" }

// unlinkAudit returns the audit entry of a link that op removed: the field
// of the record object/id that pointed to targetObject/targetID.
func unlinkAudit(op *Op, object, id, field, targetObject, targetID string) AuditEntry {
	a := auditOf(op)
	// Copies: a store may hand in strings that share its own memory.
	a.Object, a.RecordID, a.Action = object, strings.Clone(id), ActionUnlink
	a.Field, a.TargetObject, a.TargetID = field, targetObject, strings.Clone(targetID)
	return a
}
