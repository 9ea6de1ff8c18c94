package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
)

// DocStore stands for the host's own store: a small document database that
// keeps each object type in a collection of documents with JSON-like fields
// (strings, bools, string lists), as a CRM backend might keep them in a
// document database or a key-value store. It knows nothing about Intake.
type DocStore struct {
	mu          sync.RWMutex
	collections map[string]*collection
}

// Doc is one stored document.
type Doc struct {
	ID           string
	Unsubscribed bool
	Fields       map[string]any // string, bool or []string
	Created      time.Time
}

type collection struct {
	docs  map[string]*Doc
	order []string // ids in creation order
}

// NewDocStore returns an empty store.
func NewDocStore() *DocStore { return &DocStore{collections: map[string]*collection{}} }

// Sink adapts a DocStore to Intake's sink contracts: Write (all or
// nothing), Lookup, Get, Scan and Count, safe for concurrent use.
type Sink struct {
	store *DocStore
}

// NewSink returns a sink writing into store.
func NewSink(store *DocStore) *Sink { return &Sink{store: store} }

// Concurrent reports true: the store's lock lets reads run beside a write.
func (s *Sink) Concurrent() bool { return true }

// toDoc returns the document form of v.
func toDoc(v intake.Value) any {
	switch v.Kind() {
	case intake.KindBool:
		return v.BoolValue()
	case intake.KindList:
		return v.Items()
	}
	return v.String() // text, canonical decimal, date, time, timestamp
}

// fromDoc converts a document field back to a value of kind k.
func fromDoc(k intake.Kind, x any) (intake.Value, error) {
	if x == nil {
		return intake.Null, nil
	}
	bad := fmt.Errorf("document field %v is not a %s value", x, k)
	switch k {
	case intake.KindBool:
		b, ok := x.(bool)
		if !ok {
			return intake.Null, bad
		}
		return intake.Bool(b), nil
	case intake.KindList:
		items, ok := x.([]string)
		if !ok {
			return intake.Null, bad
		}
		return intake.List(items...), nil
	}
	str, ok := x.(string)
	if !ok {
		return intake.Null, bad
	}
	switch k {
	case intake.KindText:
		return intake.Text(str), nil
	case intake.KindDecimal:
		if v, ok := intake.DecimalString(str); ok {
			return v, nil
		}
	case intake.KindDate:
		if t, err := time.Parse(time.DateOnly, str); err == nil {
			return intake.DateOf(t), nil
		}
	case intake.KindTime:
		if t, err := time.Parse("15:04:05.999999", str); err == nil {
			v, _ := intake.TimeOfDay(t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000)
			return v, nil
		}
	case intake.KindTimestamp:
		if t, err := time.Parse(time.RFC3339Nano, str); err == nil {
			return intake.Timestamp(t), nil
		}
	}
	return intake.Null, bad
}

// record converts d into a record of schema sch.
func record(sch *intake.Schema, d *Doc) (*intake.Record, error) {
	r := intake.NewRecord(sch)
	r.ID, r.OptedOut = d.ID, d.Unsubscribed
	for i := range sch.Len() {
		f := sch.Field(i)
		v, err := fromDoc(f.Type.Kind(), d.Fields[f.Name])
		if err != nil {
			return nil, fmt.Errorf("%s %s field %s: %w", sch.Object(), d.ID, f.Name, err)
		}
		r.Values[i] = v
	}
	return r, nil
}

// Write applies the batch in order, all of it or nothing: the ops are
// applied to copies of the documents they touch, which replace the stored
// ones only when every op succeeded.
func (s *Sink) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	type key struct{ object, id string }
	staged := map[key]*Doc{}
	var created []key
	out := make([]intake.Outcome, len(batch))
	fail := func(op *sink.Op, err error) (int, error) {
		e := &sink.RecordError{Err: err}
		if op != nil && op.Record != nil {
			e.ID, e.Line = op.Record.ID, op.Record.Line
			if op.Record.Schema != nil {
				e.Object = op.Record.Schema.Object()
			}
		}
		return 0, e
	}
	for i, op := range batch {
		if op == nil || op.Record == nil || op.Record.Schema == nil || op.Record.ID == "" {
			return fail(op, fmt.Errorf("%w: op without a record, schema or id", sink.ErrInvalidOp))
		}
		rec := op.Record
		sch := rec.Schema
		for j, v := range rec.Values {
			if j >= sch.Len() || (!v.IsNull() && v.Kind() != sch.Field(j).Type.Kind()) {
				return fail(op, fmt.Errorf("%w: value %d does not fit the schema", sink.ErrInvalidOp, j))
			}
		}
		k := key{sch.Object(), rec.ID}
		doc, ok := staged[k]
		if !ok {
			if c := s.store.collections[k.object]; c != nil && c.docs[k.id] != nil {
				cp := *c.docs[k.id]
				cp.Fields = maps(cp.Fields)
				doc = &cp
			}
		}
		switch op.Kind {
		case sink.OpCreate:
			if doc != nil {
				return fail(op, sink.ErrDuplicateID)
			}
			doc = &Doc{ID: rec.ID, Unsubscribed: rec.OptedOut, Fields: map[string]any{}, Created: time.Now()}
			for j, v := range rec.Values {
				if !v.IsNull() {
					doc.Fields[sch.Field(j).Name] = toDoc(v)
				}
			}
			created = append(created, k)
			out[i] = intake.OutcomeCreated
		case sink.OpUpdate:
			if doc == nil {
				return fail(op, sink.ErrNotFound)
			}
			for _, c := range op.Clear {
				if c < 0 || c >= sch.Len() {
					return fail(op, fmt.Errorf("%w: Clear index %d", sink.ErrInvalidOp, c))
				}
			}
			changed := false
			set := func(name string, x any) {
				old, had := doc.Fields[name]
				if x == nil {
					if had {
						delete(doc.Fields, name)
						changed = true
					}
					return
				}
				if !had || !equal(old, x) {
					doc.Fields[name] = x
					changed = true
				}
			}
			for j, v := range rec.Values {
				if !v.IsNull() {
					set(sch.Field(j).Name, toDoc(v))
				}
			}
			for _, c := range op.Clear {
				set(sch.Field(c).Name, nil)
			}
			out[i] = intake.OutcomeUnchanged
			if changed {
				out[i] = intake.OutcomeUpdated
			}
		case sink.OpOptOut:
			if doc == nil {
				return fail(op, sink.ErrNotFound)
			}
			doc.Unsubscribed = true
			out[i] = intake.OutcomeOptedOut
		default:
			return fail(op, fmt.Errorf("%w: op kind %d", sink.ErrInvalidOp, op.Kind))
		}
		staged[k] = doc
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Commit: nothing below can fail.
	for k, doc := range staged {
		c := s.store.collections[k.object]
		if c == nil {
			c = &collection{docs: map[string]*Doc{}}
			s.store.collections[k.object] = c
		}
		c.docs[k.id] = doc
	}
	for _, k := range created {
		c := s.store.collections[k.object]
		c.order = append(c.order, k.id)
	}
	for i, op := range batch {
		op.Outcome = out[i]
	}
	return len(batch), nil
}

// equal compares two document fields.
func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs)
	}
	return a == b
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Lookup finds records by key. The store has no index, so it computes the
// key of every document of the collection with intake.KeyPlan, as the
// contract asks (a store with indexes would keep a normalized key column
// instead, as Intake's SQL sinks do).
func (s *Sink) Lookup(ctx context.Context, sch *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	plan, err := sch.CompileKey(spec)
	if err != nil {
		return nil, err
	}
	want := map[intake.Key]bool{}
	for _, k := range keys {
		if k != "" {
			want[k] = true
		}
	}
	res := map[intake.Key][]string{}
	err = s.each(ctx, sch, func(r *intake.Record) error {
		if k, _ := plan.Key(r); k != "" && want[k] {
			res[k] = append(res[k], r.ID)
		}
		return nil
	})
	return res, err
}

// Get returns the records with the given ids.
func (s *Sink) Get(ctx context.Context, sch *intake.Schema, ids []string) (map[string]*intake.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	res := map[string]*intake.Record{}
	c := s.store.collections[sch.Object()]
	if c == nil {
		return res, nil
	}
	for _, id := range ids {
		if d := c.docs[id]; d != nil {
			r, err := record(sch, d)
			if err != nil {
				return nil, err
			}
			res[id] = r
		}
	}
	return res, nil
}

// Scan calls fn for every record of sch's object type in creation order.
func (s *Sink) Scan(ctx context.Context, sch *intake.Schema, fn func(*intake.Record) error) error {
	return s.each(ctx, sch, fn)
}

func (s *Sink) each(ctx context.Context, sch *intake.Schema, fn func(*intake.Record) error) error {
	s.store.mu.RLock()
	c := s.store.collections[sch.Object()]
	var docs []*Doc
	if c != nil {
		for _, id := range c.order {
			docs = append(docs, c.docs[id])
		}
	}
	s.store.mu.RUnlock() // fn runs without the lock: documents are replaced, never changed
	for _, d := range docs {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := record(sch, d)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Count returns the number of documents of the object type.
func (s *Sink) Count(ctx context.Context, object string) (int64, error) {
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	if c := s.store.collections[object]; c != nil {
		return int64(len(c.docs)), ctx.Err()
	}
	return 0, ctx.Err()
}

// Interface checks.
var (
	_ sink.Sink       = (*Sink)(nil)
	_ sink.Lookuper   = (*Sink)(nil)
	_ sink.Getter     = (*Sink)(nil)
	_ sink.Scanner    = (*Sink)(nil)
	_ sink.Counter    = (*Sink)(nil)
	_ sink.Concurrent = (*Sink)(nil)
)
