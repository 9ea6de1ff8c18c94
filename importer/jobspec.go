package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
)

// JobSpecVersion is the version of the job spec format that this package
// writes and reads. A spec without "version" is read as version 1.
const JobSpecVersion = 1

// JobSpec is the serializable definition of an import: everything a [Job]
// can do but its Source and Go callbacks, as JSON. The same definition is
// run from Go ([JobSpec.Job]), by the CLI (intake import -job FILE), as a
// saved or scheduled job and by the Acoustic facade. Keys follow the CLI's
// flags; an omitted key takes the CLI's default:
//
//	{"version": 1, "name": "weekly CRM sync", "object": "contact",
//	 "source":  {"delimiter": "auto", "encoding": "auto", "header": true, "sheet": ""},
//	 "mapping": { …a mapping spec (mapping.Spec), with its optional object section… },
//	 "action":  "add_and_update",
//	 "sync":    ["email"],
//	 "rules":   ["contact_id", "email", "md5(email)"],
//	 "duplicates": "first|last|merge",
//	 "merge":   {"default": "non_empty", "fields": {"city": "overwrite"}, "by": "updated_at"},
//	 "consent": [{"name": "email", "allow_resubscribe": false}],
//	 "lists": ["newsletter"], "tags": ["fair-2026"],
//	 "links": ["account_id", "company=account.name"], "on_unknown": "reject",
//	 "keep_unmapped": false, "allow_new_records": true,
//	 "reason": "", "actor": "", "unlink": "keep|remove",
//	 "undo": {"off": false, "deletes": false}}
//
// "action" and "on_match"/"on_no_match" say one thing two ways — a preset
// or the match/no-match matrix (identity.Matrix) — and a spec gives one or
// the other; likewise "sync" (the fields of one key, several fields form a
// composite key) and "rules" (ordered identity rules in the -rules
// notation, intake.ParseRules). Without either, contacts sync on email,
// accounts on account_id, activities on event_id when the file has it, and
// a custom object type on the key of the mapping's object section. An
// empty "sync" ("sync": [], in Go a non-nil empty slice) turns matching
// off ([NoSync]): every valid row creates a record, which only an action
// that creates and skips (create, add_only) can do.
// "links" are in the -link notation ([ParseLinks]). "allow_new_records":
// false turns the action's creations off (add_and_update becomes
// update_only, add_only and create create nothing).
//
// [ParseJobSpec] reads a spec strictly: an unknown key is an error, and
// every problem is reported at once with its JSON path ([SpecErrors]).
type JobSpec struct {
	Version int    `json:"version"`
	Name    string `json:"name,omitempty"`
	// Object is the object type imported: contact (default), account,
	// activity or a custom type that the mapping's object section or the
	// store defines. A mapping with an object section sets it.
	Object          string              `json:"object,omitempty"`
	Source          SourceSpec          `json:"source,omitzero"`
	Mapping         *mapping.Spec       `json:"mapping,omitempty"`
	Action          intake.Action       `json:"action,omitempty"`
	OnMatch         identity.OnMatch    `json:"on_match,omitempty"`
	OnNoMatch       identity.OnNoMatch  `json:"on_no_match,omitempty"`
	Sync            []string            `json:"sync,omitzero"`
	Rules           []string            `json:"rules,omitempty"`
	Duplicates      identity.Duplicates `json:"duplicates,omitempty"`
	Merge           *MergeSpec          `json:"merge,omitempty"`
	Consent         []identity.Channel  `json:"consent,omitempty"`
	Lists           []string            `json:"lists,omitempty"`
	Tags            []string            `json:"tags,omitempty"`
	Links           []string            `json:"links,omitempty"`
	OnUnknown       Missing             `json:"on_unknown,omitempty"`
	KeepUnmapped    bool                `json:"keep_unmapped,omitempty"`
	AllowNewRecords *bool               `json:"allow_new_records,omitempty"`
	Reason          string              `json:"reason,omitempty"`
	Actor           string              `json:"actor,omitempty"`
	Unlink          Unlink              `json:"unlink,omitempty"`
	// Undo is Job.Undo: "off" keeps no undo log, "deletes" keeps the
	// records a delete action removes so that an undo puts them back.
	Undo *UndoOptions `json:"undo,omitempty"`
}

// SourceSpec is how a job's file is read.
type SourceSpec struct {
	// Delimiter: auto (default), comma, semicolon, tab or pipe.
	Delimiter string `json:"delimiter,omitempty"`
	// Encoding: auto (default), utf-8, utf-16, iso-8859-1 or windows-1252.
	Encoding string `json:"encoding,omitempty"`
	// Header: the first row names the columns (default true); false makes
	// the mapping refer to columns by 1-based index.
	Header *bool `json:"header,omitempty"`
	// Sheet is the XLSX sheet to read (default: the first).
	Sheet string `json:"sheet,omitempty"`
}

// MergeSpec is a job's survivorship policy (identity.MergePolicy) as JSON:
// the default rule, per-field rules, and the timestamp field the newest
// rule compares.
type MergeSpec struct {
	Default identity.Merge            `json:"default,omitempty"`
	Fields  map[string]identity.Merge `json:"fields,omitempty"`
	By      string                    `json:"by,omitempty"`
}

// SpecError is one problem of a job spec: where it is (a JSON path such as
// "$.rules[1]" or "$.merge.fields.city") and what is wrong.
type SpecError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error returns "PATH: MESSAGE".
func (e *SpecError) Error() string { return e.Path + ": " + e.Message }

// SpecErrors are every problem of a job spec, in the order of its keys.
type SpecErrors []*SpecError

// Error lists the problems, one a line.
func (es SpecErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return "importer: invalid job spec:\n  " + strings.Join(lines, "\n  ")
}

func (es *SpecErrors) add(path, format string, args ...any) {
	*es = append(*es, &SpecError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns es as an error, or nil without problems.
func (es SpecErrors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// MaxJobSpecBytes bounds the size of a job spec that ParseJobSpec reads.
const MaxJobSpecBytes = mapping.MaxSpecBytes + 64<<10

// jobSpecKeys are the keys of a job spec object, and of its nested objects.
var jobSpecKeys = map[string][]string{
	"$":         {"version", "name", "object", "source", "mapping", "action", "on_match", "on_no_match", "sync", "rules", "duplicates", "merge", "consent", "lists", "tags", "links", "on_unknown", "keep_unmapped", "allow_new_records", "reason", "actor", "unlink", "undo"},
	"undo":      {"off", "deletes"},
	"source":    {"delimiter", "encoding", "header", "sheet"},
	"merge":     {"default", "fields", "by"},
	"consent[]": {"name", "default", "date", "source", "allow_resubscribe", "override_on_no_change"},
}

// ParseJobSpec reads a job spec from JSON and validates it ([JobSpec.Validate]).
// Every problem is reported at once as [SpecErrors]: unknown keys, values
// of the wrong JSON type, and what Validate finds. A spec of a newer
// version than [JobSpecVersion] is refused. When the JSON decodes and only
// Validate finds problems, the spec is returned with them, so that a
// caller can add what [JobSpec.ValidateFor] finds against a store.
func ParseJobSpec(data []byte) (*JobSpec, error) {
	if len(data) > MaxJobSpecBytes {
		return nil, SpecErrors{{Path: "$", Message: fmt.Sprintf("the spec is larger than %d bytes", MaxJobSpecBytes)}}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		msg := "not a JSON object"
		if err != nil {
			msg = "not a JSON object: " + err.Error()
		}
		return nil, SpecErrors{{Path: "$", Message: msg}}
	}
	var es SpecErrors
	spec := &JobSpec{}
	for _, k := range sortedKeys(top) {
		if !slices.Contains(jobSpecKeys["$"], k) {
			es.add("$."+k, "unknown key (known: %s)", strings.Join(jobSpecKeys["$"], ", "))
		}
	}
	for _, k := range jobSpecKeys["$"] {
		raw, ok := top[k]
		if !ok {
			continue
		}
		path := "$." + k
		switch k {
		case "mapping":
			if string(raw) == "null" {
				continue
			}
			m, err := mapping.LoadSpec(bytes.NewReader(raw))
			if err != nil {
				es.add(path, "%s", strings.TrimPrefix(err.Error(), "mapping: "))
				continue
			}
			spec.Mapping = m
			continue
		case "source", "merge":
			checkKeys(&es, path, raw, jobSpecKeys[k])
		case "consent":
			var items []json.RawMessage
			if json.Unmarshal(raw, &items) == nil {
				for i, it := range items {
					checkKeys(&es, fmt.Sprintf("%s[%d]", path, i), it, jobSpecKeys["consent[]"])
				}
			}
		}
		if p, err := decodeField(spec, k, raw); err != nil {
			es.add(p, "%s", err)
		}
	}
	if _, ok := top["version"]; !ok {
		spec.Version = 1
	}
	if len(es) > 0 {
		// Values that did not decode would only be reported again.
		return nil, es
	}
	if err := spec.Validate(); err != nil {
		return spec, err
	}
	return spec, nil
}

// decodeField decodes raw into the field of spec whose JSON key is key. On
// a value of the wrong JSON type it returns the value's path.
func decodeField(spec *JobSpec, key string, raw json.RawMessage) (string, error) {
	path := "$." + key
	one, err := json.Marshal(map[string]json.RawMessage{key: raw})
	if err != nil {
		return path, err
	}
	err = json.Unmarshal(one, spec)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			path = "$." + te.Field
		}
		return path, fmt.Errorf("a JSON %s, want %s", te.Value, jsonKind(te.Type.String()))
	}
	if err != nil {
		return path, fmt.Errorf("%s: %s", shortJSON(raw), strings.TrimPrefix(err.Error(), "json: "))
	}
	return path, nil
}

// checkKeys reports the keys of the JSON object raw that are not known.
func checkKeys(es *SpecErrors, path string, raw json.RawMessage, known []string) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return // decodeField reports the type
	}
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(known, k) {
			es.add(path+"."+k, "unknown key (known: %s)", strings.Join(known, ", "))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func shortJSON(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// jsonKind names a Go type by the JSON a spec should hold for it.
func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map[") || strings.Contains(goType, "Spec") || strings.Contains(goType, "Channel"):
		return "an object"
	case goType == "bool" || goType == "*bool":
		return "true or false"
	case goType == "int":
		return "a whole number"
	}
	return "a string"
}

// Validate checks what a spec says without a store: the version, every
// name against its list of choices, the notations of "rules" and "links",
// that "action" and the matrix (and "sync" and "rules") are not both
// given, that lifecycle actions have a reason, and the mapping. It returns
// every problem as [SpecErrors], or nil.
func (s *JobSpec) Validate() error {
	var es SpecErrors
	switch {
	case s.Version == 0:
		es.add("$.version", "missing: set it to %d", JobSpecVersion)
	case s.Version < 0 || s.Version > JobSpecVersion:
		es.add("$.version", "%d is not a version this library reads (1 to %d): upgrade github.com/intakehq/intake, or write the spec for version %d", s.Version, JobSpecVersion, JobSpecVersion)
	}
	if s.Object != "" && !intake.ValidName(s.Object) {
		es.add("$.object", "%q is not an object type name: lower-case letters, digits and _, starting with a letter", s.Object)
	}
	if s.Mapping != nil && s.Mapping.Object != nil && s.Object != "" && s.Object != s.Mapping.Object.Name {
		es.add("$.object", "%q contradicts the mapping's object section, which imports %s records: leave object out", s.Object, s.Mapping.Object.Name)
	}
	if _, err := connector.ParseDelimiter(orDefault(s.Source.Delimiter, "auto")); err != nil {
		es.add("$.source.delimiter", "%s", unprefixed(err))
	}
	if _, err := connector.ParseEncoding(orDefault(s.Source.Encoding, "auto")); err != nil {
		es.add("$.source.encoding", "%s", unprefixed(err))
	}
	s.validateAction(&es)
	s.validateIdentity(&es)
	if err := s.Duplicates.Validate(); err != nil {
		es.add("$.duplicates", "%s", unprefixed(err))
	}
	if s.Merge != nil {
		s.Merge.validate(&es)
	}
	for i, c := range s.Consent {
		if !intake.ValidName(c.Name) {
			es.add(fmt.Sprintf("$.consent[%d].name", i), "%q is not a channel name (email, sms, …)", c.Name)
		}
	}
	for _, l := range []struct {
		key  string
		vals []string
	}{{"lists", s.Lists}, {"tags", s.Tags}} {
		for i, v := range l.vals {
			if strings.TrimSpace(v) == "" {
				es.add(fmt.Sprintf("$.%s[%d]", l.key, i), "empty")
			}
		}
	}
	if _, err := ParseLinks(strings.Join(s.Links, ", ")); err != nil {
		each := false
		for i, l := range s.Links {
			if _, err := ParseLinks(l); err != nil {
				es.add(fmt.Sprintf("$.links[%d]", i), "%s", unprefixed(err))
				each = true
			}
		}
		if !each { // the links are fine one by one, not together
			es.add("$.links", "%s", unprefixed(err))
		}
	}
	if err := s.OnUnknown.Validate(); err != nil {
		es.add("$.on_unknown", "%s", unprefixed(err))
	} else if s.OnUnknown == MissingEmpty && s.object() == intake.ObjectActivity {
		es.add("$.on_unknown", "empty: an activity always has a profile: use reject, skip or create")
	}
	if s.Source.Header != nil && !*s.Source.Header && (s.Mapping == nil || len(s.Mapping.Columns) == 0) {
		es.add("$.source.header", "a file without a header row needs a mapping whose columns name 1-based indexes")
	}
	if !s.Unlink.Valid() {
		es.add("$.unlink", "%q: use keep or remove", s.Unlink)
	}
	if s.Mapping != nil {
		if err := s.Mapping.Validate(); err != nil {
			es.add("$.mapping", "%s", strings.TrimPrefix(err.Error(), "mapping: "))
		}
	}
	return es.err()
}

// object returns the object type the spec imports: the mapping's object
// section's, else "object", else contact.
func (s *JobSpec) object() string {
	if s.Mapping != nil && s.Mapping.Object != nil {
		return s.Mapping.Object.Name
	}
	return orDefault(s.Object, intake.ObjectContact)
}

// validateAction checks the action, the matrix, and what lifecycle actions need.
func (s *JobSpec) validateAction(es *SpecErrors) {
	if s.Action != "" && (s.OnMatch != "" || s.OnNoMatch != "") {
		es.add("$.action", "give either action or on_match/on_no_match: they say the same thing two ways (action %q is the matrix %s)", s.Action, describeMatrix(identity.Preset(s.Action)))
	}
	if s.Action != "" && !s.Action.Valid() {
		es.add("$.action", "unknown action %q (want create, add_only, update_only, add_and_update or opt_out)", s.Action)
	}
	mx := s.matrix()
	// Each cell on its own, so that two wrong cells are two problems.
	if s.OnMatch != "" {
		if err := (identity.Matrix{OnMatch: s.OnMatch, OnNoMatch: identity.NoMatchSkip}).Validate(); err != nil {
			es.add("$.on_match", "%s", unprefixed(err))
		}
	}
	if s.OnNoMatch != "" {
		if err := (identity.Matrix{OnMatch: identity.MatchSkip, OnNoMatch: s.OnNoMatch}).Validate(); err != nil {
			es.add("$.on_no_match", "%s", unprefixed(err))
		}
	}
	if s.object() == intake.ObjectActivity && (s.Action == "" || s.Action.Valid()) {
		s.validateAppendOnly(es)
	}
	lifecycle := mx.OnMatch == identity.MatchInactivate || mx.OnMatch == identity.MatchDelete || mx.OnMatch == identity.MatchAnonymize
	if lifecycle && strings.TrimSpace(s.Reason) == "" {
		es.add("$.reason", "on_match %s needs a reason: why the records are %s (kept in the audit log)", mx.OnMatch, lifecycleDone(mx.OnMatch))
	}
	if s.Unlink == UnlinkRemove && mx.OnMatch != identity.MatchDelete && mx.OnMatch != identity.MatchAnonymize {
		es.add("$.unlink", "remove takes away the links to the records an import deletes or anonymizes: set on_match to delete or anonymize")
	}
}

// validateAppendOnly checks that an activity import only adds events: its
// action (add_only when the spec gives none) is add_only or create.
func (s *JobSpec) validateAppendOnly(es *SpecErrors) {
	c := *s
	if c.Action == "" && c.OnMatch == "" && c.OnNoMatch == "" {
		c.Action = intake.ActionAddOnly
	}
	mx := c.matrix()
	if createsOnly(mx) {
		return // add_only, create, or {reject, create}
	}
	path := "$.action"
	switch {
	case s.OnMatch != "" || s.OnNoMatch != "":
		path = "$.on_match"
	case c.Action == intake.ActionAddOnly || c.Action == intake.ActionCreate:
		path = "$.allow_new_records"
	}
	es.add(path, "activities are append-only: %s would not only add events; use add_only (events sync on event_id when the file has it) or create", describeMatrix(mx))
}

func lifecycleDone(m identity.OnMatch) string {
	switch m {
	case identity.MatchInactivate:
		return "inactivated"
	case identity.MatchDelete:
		return "deleted"
	}
	return "anonymized"
}

// validateIdentity checks "sync" and "rules".
func (s *JobSpec) validateIdentity(es *SpecErrors) {
	if s.Sync != nil && len(s.Rules) > 0 {
		es.add("$.rules", "give either sync (the fields of one key) or rules (ordered keys): rules replace sync")
	}
	if s.Sync != nil && len(s.Sync) == 0 && len(s.Rules) == 0 {
		c := *s
		if c.object() == intake.ObjectActivity && c.Action == "" && c.OnMatch == "" && c.OnNoMatch == "" {
			c.Action = intake.ActionAddOnly // an activity import's default
		}
		if mx := c.matrix(); !createsOnly(mx) {
			es.add("$.sync", "empty: an empty sync turns matching off, and %s changes stored records it must find: give the sync fields, or use create or add_only", describeMatrix(mx))
		}
	}
	for i, f := range s.Sync {
		if !intake.ValidName(strings.TrimSpace(f)) {
			es.add(fmt.Sprintf("$.sync[%d]", i), "%q is not a field name", f)
		}
	}
	for i, r := range s.Rules {
		if _, err := intake.ParseKeySpec(r); err != nil {
			es.add(fmt.Sprintf("$.rules[%d]", i), "%s", unprefixed(err))
		}
	}
}

// matrix returns the spec's record action as a matrix: the action's
// preset, with on_match and on_no_match applied, and allow_new_records.
// The empty action is add_and_update.
func (s *JobSpec) matrix() identity.Matrix {
	mx := identity.Preset(s.Action)
	if s.OnMatch != "" {
		mx.OnMatch = s.OnMatch
	}
	if s.OnNoMatch != "" {
		mx.OnNoMatch = s.OnNoMatch
	}
	if s.AllowNewRecords != nil && !*s.AllowNewRecords && mx.OnNoMatch == identity.NoMatchCreate {
		mx.OnNoMatch = identity.NoMatchSkip
	}
	// create's new list only means something while it creates and skips.
	mx.ExpectNew = mx.ExpectNew && mx.OnMatch == identity.MatchSkip && mx.OnNoMatch == identity.NoMatchCreate
	return mx
}

func describeMatrix(mx identity.Matrix) string {
	return fmt.Sprintf("{on_match: %s, on_no_match: %s}", mx.OnMatch, mx.OnNoMatch)
}

// mergeRules are the merge rules' names.
var mergeRules = []identity.Merge{identity.MergeNonEmpty, identity.MergeOverwrite, identity.MergeFillEmpty, identity.MergeNewest, identity.MergeAppend}

func (m *MergeSpec) validate(es *SpecErrors) {
	check := func(path string, r identity.Merge) {
		if r != "" && !slices.Contains(mergeRules, r) {
			es.add(path, "unknown merge rule %q (want non_empty, overwrite, fill_empty, newest or append)", r)
		}
	}
	check("$.merge.default", m.Default)
	for _, f := range sortedKeys(m.Fields) {
		check("$.merge.fields."+f, m.Fields[f])
	}
}

func (m *MergeSpec) policy() identity.MergePolicy {
	p := identity.MergePolicy{Default: m.Default, By: m.By}
	for _, f := range sortedKeys(m.Fields) {
		p.Fields = append(p.Fields, identity.FieldMerge{Field: f, Rule: m.Fields[f]})
	}
	return p
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// unprefixed is err's message without the package prefix it starts with
// ("identity: unknown merge rule …"): a SpecError's path says where the
// problem is.
func unprefixed(err error) string {
	msg := err.Error()
	for _, p := range [...]string{"importer: ", "identity: ", "connector: ", "mapping: ", "importer: "} {
		if s, ok := strings.CutPrefix(msg, p); ok {
			return s
		}
	}
	return msg
}

// CSVConfig returns how the spec's source reads a CSV file (the caller
// sets the file's name and limits).
func (s *JobSpec) CSVConfig() (connector.CSVConfig, error) {
	var cfg connector.CSVConfig
	var err error
	if cfg.Delimiter, err = connector.ParseDelimiter(orDefault(s.Source.Delimiter, "auto")); err != nil {
		return cfg, err
	}
	if cfg.Encoding, err = connector.ParseEncoding(orDefault(s.Source.Encoding, "auto")); err != nil {
		return cfg, err
	}
	cfg.NoHeader = s.Source.Header != nil && !*s.Source.Header
	return cfg, nil
}

// Job builds the [Job] the spec describes, reading rows from src, for a run
// into the store sk: the object type's schema (the mapping's, merged with
// what the store holds; a custom type's from the mapping's object section
// or the store), the identity rules, the links with their targets' schemas,
// consent, lists and tags. It checks the spec against that schema (fields
// named by sync, rules, merge and links must exist) and returns every
// problem as [SpecErrors]. src may be nil to check the spec against the
// store without a file (see [JobSpec.ValidateFor]); the Job then has no
// Source. What [JobSpec.Validate] finds is reported with the rest.
func (s *JobSpec) Job(ctx context.Context, sk sink.Sink, src connector.Source) (Job, error) {
	var invalid SpecErrors
	if err := s.Validate(); err != nil && !errors.As(err, &invalid) {
		return Job{}, err
	}
	if invalid.cover("$.version") || invalid.cover("$.object") || invalid.cover("$.mapping") {
		return Job{}, invalid // no schema to check the rest against
	}
	job, es := s.build(ctx, sk, src)
	var more SpecErrors
	if errors.As(es, &more) {
		// A value Validate refused is not reported again by the checks
		// against the store's schema.
		for _, e := range more {
			if !invalid.cover(e.Path) {
				invalid = append(invalid, e)
			}
		}
	} else if es != nil {
		return Job{}, es
	}
	if len(invalid) > 0 {
		return Job{}, invalid
	}
	return job, nil
}

// cover reports whether es has a problem at path, inside it or around it.
func (es SpecErrors) cover(path string) bool {
	within := func(inner, outer string) bool {
		return strings.HasPrefix(inner, outer) && (len(inner) == len(outer) || inner[len(outer)] == '.' || inner[len(outer)] == '[')
	}
	for _, e := range es {
		if within(e.Path, path) || within(path, e.Path) {
			return true
		}
	}
	return false
}

// build builds the job against the store's schemas and checks the fields
// the spec names; the spec's values may be invalid (Job reports those).
func (s *JobSpec) build(ctx context.Context, sk sink.Sink, src connector.Source) (Job, error) {
	var es SpecErrors
	object := orDefault(s.Object, intake.ObjectContact)
	spec := s.Mapping
	if spec != nil && spec.Object != nil {
		object = spec.Object.Name
	} else if spec != nil && object != intake.ObjectContact {
		c := *spec
		c.Object = &mapping.ObjectSpec{Name: object}
		spec = &c
	}
	stored, err := objectStoreSchema(ctx, sk, object)
	if err != nil {
		return Job{}, err
	}
	schema := stored
	switch {
	case spec != nil:
		merged, err := spec.MergeSchema(stored)
		if err != nil {
			es.add("$.mapping", "%s", strings.TrimPrefix(err.Error(), "mapping: "))
			return Job{}, es
		}
		bound, err := spec.Against(merged)
		if err != nil {
			es.add("$.mapping", "%s", strings.TrimPrefix(err.Error(), "mapping: "))
			return Job{}, es
		}
		schema, spec = merged, bound
	case schema == nil:
		schema = intake.DefaultSchema(object)
	}
	if schema == nil {
		es.add("$.object", "the store holds no %s records and no schema for them: give a mapping whose object section names %q and whose fields define its fields", object, object)
		return Job{}, es
	}
	mx := s.matrix()
	job := Job{
		Name: s.Name, Source: src, Schema: schema, Mapping: spec,
		Duplicates: s.Duplicates, KeepUnmapped: s.KeepUnmapped,
		Reason: s.Reason, Actor: s.Actor, Unlink: s.Unlink, AccountLink: s.OnUnknown,
	}
	if s.Action != "" || s.OnMatch != "" || s.OnNoMatch != "" || s.AllowNewRecords != nil {
		job.Action = mx // else the job's default, add_only for activities
	}
	if s.Merge != nil {
		job.Merge = s.Merge.policy()
	}
	if s.Undo != nil {
		job.Undo = *s.Undo
	}
	s.identityOf(&job, object, spec, &es)
	s.linksOf(ctx, sk, &job, object, spec, &es)
	if len(s.Consent) > 0 {
		job.Consent = slices.Clone(s.Consent)
		if job.Schema, err = identity.ConsentFields(job.Schema, job.Consent...); err != nil {
			es.add("$.consent", "%s", unprefixed(err))
		}
	}
	for _, m := range []struct {
		field string
		vals  []string
	}{{"lists", s.Lists}, {"tags", s.Tags}} {
		if len(m.vals) > 0 {
			job.Memberships = append(job.Memberships, Membership{Field: m.field, Values: slices.Clone(m.vals)})
		}
	}
	if object == intake.ObjectActivity {
		// Append-only events attached to their profile: add_only on
		// event_id when the file has it, other columns kept as properties.
		job.Profile = &ProfileLink{Missing: s.OnUnknown}
		job.KeepUnmapped = true
	}
	s.checkFields(job.Schema, &es)
	return job, es.err()
}

// ValidateFor checks the spec against the store sk, as [JobSpec.Job] does,
// without a file: the object type must be known and the fields the spec
// names must exist.
func (s *JobSpec) ValidateFor(ctx context.Context, sk sink.Sink) error {
	_, err := s.Job(ctx, sk, nil)
	return err
}

// identityOf sets the job's identity rules: rules, else sync (none for an
// empty sync), else the mapping's object key, else the object type's own.
func (s *JobSpec) identityOf(job *Job, object string, spec *mapping.Spec, es *SpecErrors) {
	switch {
	case len(s.Rules) > 0:
		keys := make([]intake.KeySpec, len(s.Rules))
		for i, r := range s.Rules {
			keys[i], _ = intake.ParseKeySpec(r) // Validate checked them
		}
		job.Identity = Rules(keys...)
	case s.Sync != nil && len(s.Sync) == 0:
		job.Identity = NoSync()
	case len(s.Sync) > 0:
		fields := make([]string, len(s.Sync))
		for i, f := range s.Sync {
			fields[i] = strings.TrimSpace(f)
		}
		job.Identity = SyncOn(fields...)
	case spec != nil && spec.Object != nil && len(spec.Object.KeySpec().Fields) > 0:
		job.Identity = Rules(spec.Object.KeySpec())
	case object == intake.ObjectContact, object == intake.ObjectAccount, object == intake.ObjectActivity:
		// The job's default (Job.WithDefaults): email, account_id, or
		// event_id when the file has it.
	default:
		es.add("$.sync", "a %s record is identified by fields the spec must name: give sync (or rules) with the fields that identify one (%s), or a mapping whose object section names its key", object, strings.Join(job.Schema.Names(), ", "))
	}
}

// linksOf sets the job's links: the mapping's object section's, then the
// spec's, each with its target's schema (the store's, else the type's
// default; a custom target the store does not hold is an error).
func (s *JobSpec) linksOf(ctx context.Context, sk sink.Sink, job *Job, object string, spec *mapping.Spec, es *SpecErrors) {
	var links []Link
	if spec != nil && spec.Object != nil {
		for _, l := range spec.Object.Links {
			il := Link{Field: l.Field, Object: l.Object, IDField: l.IDField, Missing: Missing(l.Missing),
				Fields: l.Fields, Update: l.Update, Many: l.Many}
			if l.Key != "" {
				il.Key = intake.Keys(l.Key)
			}
			links = append(links, il)
		}
	}
	own, _ := ParseLinks(strings.Join(s.Links, ", ")) // Validate checked them
	for _, l := range own {
		if slices.ContainsFunc(links, func(o Link) bool { return o.Field == l.Field }) {
			es.add("$.links", "%s is linked by the mapping's object section already: give it once", l.Field)
			continue
		}
		links = append(links, l)
	}
	for i := range links {
		l := &links[i]
		if l.Missing == "" {
			l.Missing = s.OnUnknown
		}
		if l.Object == "" {
			l.Object = intake.ObjectAccount
		}
		if l.Object == object {
			l.Schema = job.Schema
			continue
		}
		stored, err := objectStoreSchema(ctx, sk, l.Object)
		switch {
		case err != nil:
			es.add("$.links", "%s", err)
		case stored != nil:
			l.Schema = stored
		case intake.DefaultSchema(l.Object) == nil:
			es.add("$.links", "link %s: the store holds no %s records, so it cannot find them: import them first", l.Field, l.Object)
		}
	}
	job.Links = links
}

// checkFields reports the fields that sync, rules and merge name and the
// schema lacks.
func (s *JobSpec) checkFields(schema *intake.Schema, es *SpecErrors) {
	has := func(f string) bool { return schema.Index(f) >= 0 }
	for i, f := range s.Sync {
		if f = strings.TrimSpace(f); f != "" && !has(f) {
			es.add(fmt.Sprintf("$.sync[%d]", i), "%q is not a field of %s (fields: %s)", f, schema.Object(), strings.Join(schema.Names(), ", "))
		}
	}
	for i, r := range s.Rules {
		k, err := intake.ParseKeySpec(r)
		if err != nil {
			continue
		}
		if _, err := schema.CompileKey(k); err != nil {
			es.add(fmt.Sprintf("$.rules[%d]", i), "%s", unprefixed(err))
		}
	}
	if s.Merge != nil {
		for _, f := range sortedKeys(s.Merge.Fields) {
			if !has(f) {
				es.add("$.merge.fields."+f, "%q is not a field of %s", f, schema.Object())
			}
		}
		if s.Merge.By != "" && !has(s.Merge.By) {
			es.add("$.merge.by", "%q is not a field of %s", s.Merge.By, schema.Object())
		}
		if _, err := s.Merge.policy().Compile(schema); err != nil && len(*es) == 0 {
			es.add("$.merge", "%s", unprefixed(err))
		}
	}
}

// objectStoreSchema returns the schema the store holds for an object type, or
// nil when it never saw the type or cannot tell (no sink.SchemaReader).
func objectStoreSchema(ctx context.Context, s sink.Sink, object string) (*intake.Schema, error) {
	sr, ok := s.(sink.SchemaReader)
	if !ok {
		return nil, nil
	}
	sc, err := sr.Schema(ctx, object)
	if err != nil {
		return nil, fmt.Errorf("importer: read the store's schema of %s: %w", object, err)
	}
	return sc, nil
}

// MarshalIndent returns the spec as indented JSON, as ParseJobSpec reads it.
func (s *JobSpec) MarshalIndent() ([]byte, error) {
	c := *s
	if c.Version == 0 {
		c.Version = JobSpecVersion
	}
	return json.MarshalIndent(&c, "", "  ")
}
