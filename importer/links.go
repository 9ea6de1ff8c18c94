package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
)

// Missing is what a run does with a row whose reference — an activity's
// profile key ([ProfileLink]) or a foreign key ([Link]) — finds no stored
// record.
type Missing string

// The policies for a reference that finds nothing.
const (
	// MissingReject rejects the row, with code intake.CodeUnknownProfile
	// (a profile) or intake.CodeUnknownLink (a link). The default.
	MissingReject Missing = "reject"
	// MissingSkip skips the row with the same code: it is counted, not
	// written, and not an error.
	MissingSkip Missing = "skip"
	// MissingEmpty imports the row without the link: the field that would
	// hold the target's record id stays empty (on an update, the stored
	// link is left as it is). Links only: an activity always has a profile.
	MissingEmpty Missing = "empty"
	// MissingCreate creates a minimal target record in the same batch,
	// before the row: a profile with the row's profile keys, or a stub
	// with the reference as its key. Later rows with the same key find
	// it, in this batch and after.
	MissingCreate Missing = "create"
)

// Validate reports an unknown policy. The empty policy is MissingReject.
func (m Missing) Validate() error {
	switch m {
	case "", MissingReject, MissingSkip, MissingEmpty, MissingCreate:
		return nil
	}
	return fmt.Errorf("intake: unknown missing-target policy %q (want reject, skip, empty or create)", m)
}

// ProfileLink attaches each row of an import — an activity, an event — to
// the profile it belongs to, found by the profile's own keys (email,
// contact_id, phone). There is no match processing on the event itself:
// the job creates every row (intake.ActionCreate with Job.NoSync, or
// intake.ActionAddOnly with Job.Sync on an event id, which makes a
// re-import skip every event it already holds as exists). A job with a
// ProfileLink defaults to the latter: Action add_only, and Sync event_id
// when the mapping maps a column to event_id, else no sync fields at all
// (every row is a new event).
//
// Each batch looks the profiles up with one sink.Lookuper call per rule,
// on the profile's schema. The profile's record id goes to Field.
type ProfileLink struct {
	// Object is the profile's object type. Default intake.ObjectContact.
	Object string
	// Schema is the profile's schema, on which keys are looked up and
	// minimal profiles created. Default intake.DefaultSchema(Object);
	// required for an object type without a default schema.
	Schema *intake.Schema
	// Rules are the profile's keys, in order: the first rule whose key
	// finds a profile wins (the oldest record when it finds several).
	// Their fields must exist, with the same types, in the row's schema
	// and in the profile's. Default: email, else contact_id, else phone
	// (those of the three that both schemas have).
	Rules []intake.KeySpec
	// Field is the row's field that receives the profile's record id,
	// added to the schema (type id) when missing. Default "profile_id".
	Field string
	// Missing is what to do when no rule finds a profile: reject (the
	// default; code intake.CodeUnknownProfile), skip, or create a minimal
	// profile holding the row's key fields. A row whose profile keys are
	// all empty is rejected (intake.CodeMissingKey) whatever the policy.
	Missing Missing
}

// Link resolves a foreign-key field of each row — a contact's account_id,
// an order's customer — to the record id of the target it names, found by
// the target's own key (Totango's account assignment and foreign keys,
// Odoo's relation by external id or by name). The record id goes to
// IDField; the reference itself stays in Field as the file gave it.
//
// Each batch looks the targets up with one sink.Lookuper call. A row
// whose reference is empty is imported without a link.
type Link struct {
	// Field is the row's field holding the reference ("account_id"),
	// mapped from a column like any field. When the schema lacks it, it is
	// added with the type of the target's key field, so that the
	// reference is read and normalized as the target's key is. Required.
	Field string
	// Object is the target's object type ("account"). Required.
	Object string
	// Schema is the target's schema. Default intake.DefaultSchema(Object);
	// required for an object type without a default schema.
	Schema *intake.Schema
	// Key is the target's key that the reference is compared with: one
	// field of the target — intake.Keys("account_id"),
	// intake.Keys("domain"), intake.Keys("name") — of the same type as
	// Field. Default: the target's field named Field.
	Key intake.KeySpec
	// IDField is the row's field that receives the target's record id,
	// added to the schema (type id) when missing. Default Object +
	// "_record_id" ("account_record_id").
	IDField string
	// Missing is what to do when the reference finds no target: reject
	// (the default; code intake.CodeUnknownLink), skip, empty (import the
	// row without the link) or create a stub target whose key field holds
	// the reference.
	Missing Missing
}

// LinkCounts counts how the references of a run's rows resolved, per link
// (Report.Links). They are not outcomes: a row counted here has its own
// outcome too.
type LinkCounts struct {
	// Found counts rows whose reference found a stored target (or one
	// this run created).
	Found int64 `json:"found"`
	// Created counts the targets the run created (minimal profiles,
	// stubs): one per distinct unknown key.
	Created int64 `json:"created,omitempty"`
	// Empty counts rows imported without the link (MissingEmpty).
	Empty int64 `json:"empty,omitempty"`
	// Skipped and Rejected count the rows the policy skipped or rejected.
	Skipped  int64 `json:"skipped,omitempty"`
	Rejected int64 `json:"rejected,omitempty"`
}

// ErrAppendOnly is returned by Run for a job with a Profile whose action
// would update, opt out or delete events.
var ErrAppendOnly = errors.New("intake: activities are append-only: with Job.Profile use intake.ActionCreate (with Job.NoSync) or intake.ActionAddOnly (with Job.Sync on an event id)")

// mapsField reports whether the plan maps a column (or a constant) to the
// named field.
func mapsField(plan *mapping.Plan, field string) bool {
	for _, c := range plan.Columns() {
		if c.Field == field {
			return true
		}
	}
	return false
}

// linkRule is one key of a linker: computed on the row's schema, looked up
// on the target's.
type linkRule struct {
	plan *intake.KeyPlan
	spec intake.KeySpec
}

// linker resolves one reference of each row of a batch ([ProfileLink] or
// [Link]) to a target record id.
type linker struct {
	name    string // the key of Report.Links
	profile bool
	target  *intake.Schema
	rules   []linkRule
	idField int
	missing Missing
	code    string
	// from[j] → to[j]: the row's fields copied to a created target.
	from, to []int

	// keys[row*len(rules)+rule] of the batch being resolved.
	keys []intake.Key
	hits []map[intake.Key][]string
	// created maps the keys of the targets this batch created to their
	// ids, prev those of the batch before, which may still be being
	// written. A dry run remembers them for the whole run in created.
	created, prev map[intake.Key]string
}

// linkFields adds to the job's schema the fields its profile link and
// links need.
func linkFields(job *Job) error {
	if job.Profile != nil {
		p := *job.Profile // the caller's stays as it is
		job.Profile = &p
	}
	job.Links = slices.Clone(job.Links)
	var add []intake.Field
	has := func(name string) bool {
		return job.Schema.Index(name) >= 0 || slices.ContainsFunc(add, func(f intake.Field) bool { return f.Name == name })
	}
	if p := job.Profile; p != nil {
		if p.Field == "" {
			p.Field = "profile_id"
		}
		if !has(p.Field) {
			ref := p.Object
			if ref == "" {
				ref = intake.ObjectContact
			}
			add = append(add, intake.Field{Name: p.Field, Type: intake.TypeID, Label: "Profile", Ref: ref})
		}
	}
	for i := range job.Links {
		l := &job.Links[i]
		if l.Field == "" || l.Object == "" {
			return fmt.Errorf("intake: Job.Links[%d]: set Field (the row's reference) and Object (the target's object type)", i)
		}
		target, err := targetSchema(l.Object, l.Schema)
		if err != nil {
			return fmt.Errorf("intake: link %s: %w", l.Field, err)
		}
		l.Schema = target
		if len(l.Key.Fields) == 0 {
			l.Key = intake.Keys(l.Field)
		}
		if len(l.Key.Fields) != 1 {
			return fmt.Errorf("intake: link %s: key %s has %d fields: a link compares its one reference with one field of the target", l.Field, l.Key.Name(), len(l.Key.Fields))
		}
		kf := target.Index(l.Key.Fields[0])
		if kf < 0 {
			return fmt.Errorf("intake: link %s: %q is not a field of %q (fields: %s)", l.Field, l.Key.Fields[0], l.Object, strings.Join(target.Names(), ", "))
		}
		if l.IDField == "" {
			l.IDField = l.Object + "_record_id"
		}
		if !has(l.Field) {
			f := target.Field(kf)
			add = append(add, intake.Field{Name: l.Field, Type: f.Type, Options: f.Options, Label: f.Label})
		}
		if !has(l.IDField) {
			add = append(add, intake.Field{Name: l.IDField, Type: intake.TypeID, Label: l.Object + " record", Ref: l.Object})
		}
	}
	if len(add) == 0 {
		return nil
	}
	s, err := intake.NewSchema(job.Schema.Object(), append(job.Schema.Fields(), add...)...)
	if err != nil {
		return fmt.Errorf("intake: link fields: %w", err)
	}
	job.Schema = s
	return nil
}

func targetSchema(object string, s *intake.Schema) (*intake.Schema, error) {
	if s == nil {
		s = intake.DefaultSchema(object)
		if s == nil {
			return nil, fmt.Errorf("object type %q has no default schema: set its Schema", object)
		}
	}
	if s.Object() != object {
		return nil, fmt.Errorf("the schema is of object type %q, not %q", s.Object(), object)
	}
	return s, nil
}

// compileLinks compiles the job's profile link and links against the run's
// schema.
func (r *run) compileLinks(ctx context.Context) error {
	job, schema := &r.job, r.schema
	lk, _ := r.im.cfg.Sink.(sink.Lookuper)
	if (job.Profile != nil || len(job.Links) > 0) && lk == nil {
		return fmt.Errorf("intake: the job's profile link or links look targets up by key, which needs a sink that implements sink.Lookuper; %T does not", r.im.cfg.Sink)
	}
	if p := job.Profile; p != nil {
		if err := p.Missing.Validate(); err != nil {
			return err
		}
		if p.Missing == MissingEmpty {
			return errors.New("intake: ProfileLink.Missing: an activity always has a profile: use reject, skip or create")
		}
		if p.Object == "" {
			p.Object = intake.ObjectContact
		}
		target, err := targetSchema(p.Object, p.Schema)
		if err != nil {
			return fmt.Errorf("intake: profile link: %w", err)
		}
		rules := p.Rules
		if len(rules) == 0 {
			for _, f := range []string{"email", "contact_id", "phone"} {
				if schema.Index(f) >= 0 && target.Index(f) >= 0 {
					rules = append(rules, intake.Keys(f))
				}
			}
			if len(rules) == 0 {
				return fmt.Errorf("intake: profile link: %q and %q share none of email, contact_id and phone: set ProfileLink.Rules", schema.Object(), p.Object)
			}
		}
		l := &linker{name: "profile", profile: true, target: target, idField: schema.Index(p.Field), missing: p.Missing, code: intake.CodeUnknownProfile}
		for _, spec := range rules {
			if spec.RecordID {
				return fmt.Errorf("intake: profile rule %s: a profile is found by its keys, not by record id", spec.Name())
			}
			if err := l.addRule(schema, spec, spec.Fields); err != nil {
				return fmt.Errorf("intake: profile rule %s: %w", spec.Name(), err)
			}
		}
		r.links = append(r.links, l)
	}
	for i := range job.Links {
		ln := &job.Links[i]
		if err := ln.Missing.Validate(); err != nil {
			return fmt.Errorf("intake: link %s: %w", ln.Field, err)
		}
		if ln.Key.RecordID {
			return fmt.Errorf("intake: link %s: a link resolves a reference by the target's key, not by record id", ln.Field)
		}
		l := &linker{name: ln.Field, target: ln.Schema, idField: schema.Index(ln.IDField), missing: ln.Missing, code: intake.CodeUnknownLink}
		// The reference is the row's Field, keyed with the options of
		// the target's key.
		rowSpec := ln.Key
		rowSpec.Fields = []string{ln.Field}
		if err := l.addRule(schema, rowSpec, ln.Key.Fields); err != nil {
			return fmt.Errorf("intake: link %s: %w", ln.Field, err)
		}
		r.links = append(r.links, l)
	}
	// Links that create stubs run last, so that a row another link rejects
	// or skips leaves no stub behind.
	slices.SortStableFunc(r.links, func(a, b *linker) int {
		ac, bc := a.missing == MissingCreate, b.missing == MissingCreate
		switch {
		case ac == bc:
			return 0
		case ac:
			return 1
		}
		return -1
	})
	for _, l := range r.links {
		if l.idField < 0 { // cannot happen: linkFields added it
			return fmt.Errorf("intake: link %s: no field for the record id", l.name)
		}
		if l.missing == "" {
			l.missing = MissingReject
		}
		if l.missing == MissingCreate && l.target.Object() == schema.Object() {
			// The stub would be a record of the rows' own type, which the
			// rows' matcher does not know about: a later row of the same
			// key would create it a second time.
			return fmt.Errorf("intake: link %s: its target is a %s, the type this job imports: a stub cannot be created (use reject, skip or empty, or import the targets first)", l.name, schema.Object())
		}
		if l.missing == MissingCreate && !job.DryRun {
			if e, ok := r.im.cfg.Sink.(sink.SchemaEnsurer); ok {
				if err := e.EnsureSchema(ctx, l.target); err != nil {
					return fmt.Errorf("intake: prepare the store for %q: %w", l.target.Object(), err)
				}
			}
		}
	}
	return nil
}

// addRule adds the key spec (on the row's fields) whose fields are
// targetFields on the target.
func (l *linker) addRule(schema *intake.Schema, spec intake.KeySpec, targetFields []string) error {
	plan, err := schema.CompileKey(spec)
	if err != nil {
		return err
	}
	for j, f := range spec.Fields {
		ri, ti := schema.Index(f), l.target.Index(targetFields[j])
		if ti < 0 {
			return fmt.Errorf("%q is not a field of %q", targetFields[j], l.target.Object())
		}
		if rt, tt := schema.Field(ri).Type, l.target.Field(ti).Type; rt != tt {
			return fmt.Errorf("field %s is a %s in %q and %s is a %s in %q: keys compare equal only between fields of one type", f, rt, schema.Object(), targetFields[j], tt, l.target.Object())
		}
		if !slices.Contains(l.to, ti) {
			l.from, l.to = append(l.from, ri), append(l.to, ti)
		}
	}
	if _, err := l.target.CompileKey(intake.KeySpec{Fields: targetFields, EmailRules: spec.EmailRules, MD5: spec.MD5}); err != nil {
		return err
	}
	l.rules = append(l.rules, linkRule{plan: plan, spec: intake.KeySpec{Fields: targetFields, EmailRules: spec.EmailRules, MD5: spec.MD5}})
	return nil
}

// resolveLinks resolves the references of the batch's valid rows, before
// they are matched and decided: it sets the record-id fields, rejects or
// skips rows whose target is unknown, and adds the creates of missing
// targets at the head of the batch's ops.
func (r *run) resolveLinks(ctx context.Context, b *batch) error {
	if len(r.links) == 0 {
		return nil
	}
	lk := r.im.cfg.Sink.(sink.Lookuper)
	for _, l := range r.links {
		if !r.job.DryRun {
			l.prev, l.created = l.created, l.prev
			clear(l.created)
		}
		nr := len(l.rules)
		l.keys = l.keys[:0]
		for _, c := range b.chunks {
			for i := 0; i < c.n; i++ {
				for _, rule := range l.rules {
					var k intake.Key
					if c.errs[i] == nil && c.skip(i) == "" {
						k, _ = rule.plan.Key(&c.recs[i])
					}
					l.keys = append(l.keys, k)
				}
			}
		}
		if cap(l.hits) < nr {
			l.hits = make([]map[intake.Key][]string, nr)
		}
		l.hits = l.hits[:nr]
		var ask []intake.Key
		for ri, rule := range l.rules {
			ask = ask[:0]
			for j := ri; j < len(l.keys); j += nr {
				if l.keys[j] != "" {
					ask = append(ask, l.keys[j])
				}
			}
			l.hits[ri] = nil
			if len(ask) == 0 {
				continue
			}
			found, err := lk.Lookup(ctx, l.target, rule.spec, ask)
			if err != nil {
				return fmt.Errorf("intake: look up %q by %s for lines %d-%d: %w", l.target.Object(), rule.spec.Name(), b.firstLine(), b.lastLine(), err)
			}
			l.hits[ri] = found
		}
		row := 0
		for _, c := range b.chunks {
			for i := 0; i < c.n; i, row = i+1, row+1 {
				if c.errs[i] != nil || c.skip(i) != "" {
					continue
				}
				if err := r.resolveRow(b, c, i, l, l.keys[row*nr:(row+1)*nr]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// resolveRow resolves the reference of row i of chunk c, whose keys (one
// per rule) are keys.
func (r *run) resolveRow(b *batch, c *chunk, i int, l *linker, keys []intake.Key) error {
	rec := &c.recs[i]
	counts := b.t.link(l.name)
	anyKey := false
	for ri, k := range keys {
		if k == "" {
			continue
		}
		anyKey = true
		if ids := l.hits[ri][k]; len(ids) > 0 {
			rec.Values[l.idField] = intake.Text(ids[0])
			counts.Found++
			return nil
		}
		tk := intake.Key(string(rune('0'+ri))) + k
		id, ok := l.created[tk]
		if !ok {
			id, ok = l.prev[tk]
		}
		if ok {
			if id != "" {
				rec.Values[l.idField] = intake.Text(id)
			}
			counts.Found++
			return nil
		}
	}
	if !anyKey {
		if l.profile {
			counts.Rejected++
			c.errs[i] = &intake.RowError{File: r.job.MappingOptions.File, Line: rec.Line, Field: r.schema.Field(l.idField).Name, Code: intake.CodeMissingKey,
				Message: "the row names no profile: its profile keys (" + l.ruleNames() + ") are all empty"}
		}
		return nil
	}
	what := "no " + l.target.Object() + " matches the row's " + l.ruleNames()
	switch l.missing {
	case MissingSkip:
		counts.Skipped++
		c.setSkip(i, l.code)
	case MissingEmpty:
		counts.Empty++
	case MissingCreate:
		stub := intake.NewRecord(l.target)
		stub.Line = rec.Line
		for j, f := range l.from {
			stub.Values[l.to[j]] = rec.Values[f]
		}
		if !r.job.DryRun {
			id, err := r.im.cfg.IDs.NewID()
			if err != nil {
				return fmt.Errorf("intake: allocate a record id: %w", err)
			}
			stub.ID = id
			rec.Values[l.idField] = intake.Text(id)
		}
		if l.created == nil {
			l.created = make(map[intake.Key]string)
		}
		for ri, k := range keys {
			if k != "" {
				l.created[intake.Key(string(rune('0'+ri)))+intake.Key(strings.Clone(string(k)))] = stub.ID
			}
		}
		counts.Created++
		counts.Found++
		b.ops = append(b.ops, newOp(b, sink.OpCreate, stub))
	default:
		counts.Rejected++
		field := r.schema.Field(l.idField).Name
		if !l.profile {
			field = l.name
		}
		c.errs[i] = &intake.RowError{File: r.job.MappingOptions.File, Line: rec.Line, Field: field, Code: l.code,
			Message: what + " (" + displayKeys(keys) + ")"}
	}
	return nil
}

func (l *linker) ruleNames() string {
	names := make([]string, len(l.rules))
	for i, rule := range l.rules {
		names[i] = rule.plan.Spec().Name()
	}
	return strings.Join(names, ", ")
}

func displayKeys(keys []intake.Key) string {
	var parts []string
	for _, k := range keys {
		if k != "" {
			parts = append(parts, strings.ReplaceAll(string(k), intake.KeySep, "+"))
		}
	}
	return strings.Join(parts, ", ")
}

// skip returns the code of row i when linking skipped it, or "".
func (c *chunk) skip(i int) string {
	if c.skips == nil {
		return ""
	}
	return c.skips[i]
}

func (c *chunk) setSkip(i int, code string) {
	if c.skips == nil {
		c.skips = make([]string, len(c.rows))
	}
	c.skips[i] = code
}

// skipRow counts row i of chunk c, which linking skipped.
func (r *run) skipRow(b *batch, c *chunk, i int) {
	b.t.counts[intake.OutcomeSkipped]++
	b.t.reason(c.skips[i])
	r.explain(func() *Explanation {
		return &Explanation{Line: c.rows[i].Line, Decision: "skip", Code: c.skips[i], Note: "its " + c.skips[i] + " target is unknown and the job skips such rows"}
	})
}
