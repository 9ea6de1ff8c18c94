package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
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
	// link is left as it is); a [Link.Many] link drops the unknown item
	// and keeps the others. Links only: an activity always has a profile.
	MissingEmpty Missing = "empty"
	// MissingCreate creates the target in the same batch, just before the
	// row: a minimal profile with the row's profile keys, or a target
	// whose key field holds the reference and whose other fields hold the
	// values that [Link.Fields] carries (a bare stub without Fields). Later
	// rows with the same key find it, in this batch and after: each target
	// is created once. Only a row whose own record the run creates or
	// updates creates a target (see [Link]): a row rejected or skipped for
	// another reason leaves none, and a later row of the same reference
	// creates it with its own values. A reference that cannot make a
	// target rejects the row: a value that is none of the options of the
	// target's select key (invalid_select, or invalid_multiselect for a
	// [Link.Many] item), a Many item whose key is empty once normalized
	// (unknown_link).
	MissingCreate Missing = "create"
)

// Validate reports an unknown policy. The empty policy is MissingReject.
func (m Missing) Validate() error {
	switch m {
	case "", MissingReject, MissingSkip, MissingEmpty, MissingCreate:
		return nil
	}
	return fmt.Errorf("importer: unknown missing-target policy %q (want reject, skip, empty or create)", m)
}

// ProfileLink attaches each row of an import — an activity, an event — to
// the profile it belongs to, found by the profile's own keys (email,
// contact_id, phone). There is no match processing on the event itself:
// the job creates every row (identity.Create with [NoSync], or
// identity.AddOnly synced on an event id, which makes a re-import skip
// every event it already holds as exists). A job with a ProfileLink
// defaults to the latter: Action add_only, and Identity
// SyncIfMapped("event_id"): event_id when the mapping maps a column to it,
// else no matching at all (every row is a new event).
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
	// Its intake.Field.Ref names the profile's object type, which is how
	// stores know it for a link (Job.Unlink): a field of the job's schema
	// of type id without a Ref is given it, and one with another Ref or of
	// another type is refused.
	Field string
	// Missing is what to do when no rule finds a profile: reject (the
	// default; code intake.CodeUnknownProfile), skip, or create a minimal
	// profile holding the row's key fields. A row whose profile keys are
	// all empty is rejected (intake.CodeMissingKey) whatever the policy.
	Missing Missing
}

// Link resolves a foreign-key field of each row — a contact's account_id,
// an order's customer — to the record id of the target it names, found by
// the target's own key (an external id, a domain, a name). The record id
// goes to IDField; the reference itself stays in Field as the file gave it,
// and is written to the row's record like any of its fields.
//
// Each batch looks the targets up with one sink.Lookuper call. A row
// whose reference is empty is imported without a link. When a key finds
// several targets, the oldest one is the link's.
//
// # Which rows change targets
//
// The Missing policy applies to every row the mapping accepts: a row it
// rejects or skips is rejected or skipped whatever the job's action. A
// link creates or updates its target only for a row whose own record the
// run creates or updates (in a dry run: would), just before that row's
// own write, in file order. A row that is rejected for any other reason
// (an invalid cell, an empty or duplicate sync key, another link of the
// job), skipped by its action (update_only without a match, add_only or
// create finding its record), opted out, inactivated, deleted or
// anonymized leaves no new target and changes none, and its references
// are counted neither in Report.Links (but for the link that rejects or
// skips it) nor in Report.Objects. When a rejected row names a new target
// that a later row names too, the later row creates it, with its own
// values. A target created or updated by a row is found by later rows
// through the keys of every link of the job to its object type (a
// company created by its domain is found by its name too).
//
// # One file, several objects
//
// A row may carry its target's data as well as its own (a contact and its
// company on one line). Fields names the row's fields that hold the
// target's values; with Missing create, a reference that finds no target
// creates it with its key and those values, and with Update, a reference
// that finds one updates it. The target is looked up with the batch, before
// the rows are matched, and created or updated in the same batch, before
// the row that names it is written:
//
//	importer.Link{
//		Field:   "company_domain",                     // the reference
//		Object:  intake.ObjectAccount,
//		Key:     intake.Keys("domain"),                // the account's key
//		Fields:  map[string]string{"company_name": "name", "company_type": "type"},
//		Missing: importer.MissingCreate,               // unknown domain: create the account
//		Update:  true,                                 // known domain: update its name and type
//	}
//
// The row's own record does not get the carried fields that the importer
// added to the job's schema for the link (company_name and company_type
// above are the account's data, not the contact's); a carried field that
// the job's schema declares itself is the row's field too, and is written
// to both. The reference field is always the row's (company_domain stays
// on the contact, next to account_record_id). Report.Objects counts what
// the run did to the targets, per object type.
//
// # Many-to-many memberships
//
// With Many, Field holds several references — the lists, tags, criteria
// or segments a contact belongs to — and IDField receives the record ids
// of all their targets: see [Link.Many].
type Link struct {
	// Field is the row's field holding the reference ("account_id"),
	// mapped from a column like any field. When the schema lacks it, it is
	// added with the type of the target's key field, so that the
	// reference is read and normalized as the target's key is (with Many,
	// as a multi-select field). Required.
	Field string
	// Object is the target's object type ("account"). Required.
	Object string
	// Schema is the target's schema. Default intake.DefaultSchema(Object);
	// required for an object type without a default schema. Links of one
	// job to the same object type share its schema.
	Schema *intake.Schema
	// Key is the target's key that the reference is compared with: one
	// field of the target — intake.Keys("account_id"),
	// intake.Keys("domain"), intake.Keys("name") — of the same type as
	// Field. Default: the target's field named Field.
	Key intake.KeySpec
	// IDField is the row's field that receives the target's record id,
	// added to the schema when missing: type id, or with Many
	// multi-select; either way with intake.Field.Ref set to Object, which
	// is how stores know it for a link (Job.Unlink). A field of that type
	// that the job's schema declares without a Ref is given it; one with
	// another Ref (another link's field), or of another type, is refused.
	// Default Object + "_record_id" ("account_record_id"), with Many
	// Object + "_record_ids". In a dry run, which creates nothing, a row
	// whose target would be created holds a placeholder id there
	// ("dry-run:account:1"), so that explanations and counts show the new
	// link.
	IDField string
	// Missing is what to do when the reference finds no target: reject
	// (the default; code intake.CodeUnknownLink), skip, empty (import the
	// row without the link) or create the target: its key field holds the
	// reference, its other fields the values Fields carries.
	Missing Missing
	// Fields maps the row's fields that hold the target's data (keys) to
	// the target's fields they fill (values):
	// {"company_name": "name", "company_type": "type"}. A row field that
	// the job's schema lacks is added with the type (and options) of its
	// target field, so that a cell its type cannot parse rejects the row
	// (invalid_<type>, naming the column) like any other cell; such an
	// added field is the target's only and is not written to the row's
	// record. The target's key field is set by the reference, never by
	// Fields. Fields are read by a link that creates its targets (Missing
	// create: they fill a new target) or updates them (Update); a link
	// that does neither has none. Not with Many.
	Fields map[string]string
	// Update makes a reference that finds its target (a stored one, or one
	// an earlier row of the run created) update it with the row's carried
	// values: every non-empty carried value that differs from the
	// target's is written to it, and an empty cell never blanks a stored
	// value. When several rows of a file name one target, their values
	// are applied in file order: the last non-empty value of each field
	// wins. A row whose carried values the target already has leaves it
	// unchanged. Without Update, carried values are only used to create a
	// target, with the values of the first row that names it. Update needs
	// Fields and a sink that reads records by id (sink.Getter): each batch
	// reads the targets its rows find with one call. A dry run remembers
	// the targets it would create or update, up to Config.DryRunRecords of
	// them, to count as a real run would; beyond that, a later row's
	// values are compared with the stored target (and a target the dry run
	// would create counts as unchanged).
	Update bool
	// Many makes Field a list of references: a multi-select field whose
	// cell holds several of the target's keys ("gold; vip"), split by the
	// column's separator in the mapping spec (mapping.Column.Separator)
	// or, without one, by ";" — or "|" when the cell has no ";", or ","
	// when it has neither (see package mapping). Each item is normalized
	// as the target's key field normalizes its values (the key's field
	// must be text, id, email or select), looked up by the target's key,
	// and IDField, a multi-select field, receives the record ids of the
	// targets in the order of the references, each once (two items that
	// name the same target give one id).
	//
	// Missing applies per item: reject rejects the row, naming the items
	// no target matches; skip skips the row; empty drops the unknown items
	// and keeps the others (each counted in LinkCounts.Empty); create
	// creates a target per unknown item, once per distinct key, whose key
	// field holds the item as the file spelt it — an email normalized, a
	// select key's option as the target's field spells it ("GOLD" creates
	// "gold"). An item whose key is empty once normalized (a no-break
	// space, which the key drops) names no target: it is an unknown item,
	// dropped by empty, and with create it rejects the row (unknown_link),
	// as an item that is none of a select key's options does
	// (invalid_multiselect).
	//
	// When a row updates its record, a non-empty list of ids replaces the
	// stored one, as any non-empty value does, and an empty cell leaves the
	// stored list as it is. To add the row's targets to the stored ones
	// instead, give IDField (and Field, to keep the references alongside)
	// the merge rule append in Job.Merge:
	//
	//	Merge: identity.MergePolicy{Fields: []identity.FieldMerge{
	//		{Field: "list_record_ids", Rule: identity.MergeAppend},
	//		{Field: "lists", Rule: identity.MergeAppend},
	//	}}
	Many bool

	// dropped are the row fields that linkFields added for this link's
	// target only (carried by Fields): they are not the row's.
	dropped []string
}

// LinkCounts counts how the references of a run's rows resolved, per link
// (Report.Links). They are not outcomes: a row counted here has its own
// outcome too. Found, Created, Updated and Empty count the references of
// the rows whose records the run creates or updates — one per row for a
// link, one per distinct target of the row for a [Link.Many] link —;
// Skipped and Rejected count the rows that the link's Missing policy
// skipped or rejected. A row rejected or skipped otherwise (by another
// link of the job, for its sync key, by its action) or opted out,
// deleted or anonymized is not counted (see [Link]).
type LinkCounts struct {
	// Found counts references that found a stored target or one this run
	// created (Created included): Created plus the references that
	// updated a target or left it unchanged (Report.Objects).
	Found int64 `json:"found"`
	// Created counts the targets the run created (minimal profiles,
	// targets of unknown references): one per distinct unknown key.
	Created int64 `json:"created,omitempty"`
	// Updated counts references whose carried values changed a target
	// they found ([Link.Update]).
	Updated int64 `json:"updated,omitempty"`
	// Empty counts references left without the link (MissingEmpty): an
	// unknown reference, or a [Link.Many] item whose key is empty once
	// normalized.
	Empty int64 `json:"empty,omitempty"`
	// Skipped and Rejected count the rows the policy skipped or rejected.
	Skipped  int64 `json:"skipped,omitempty"`
	Rejected int64 `json:"rejected,omitempty"`
}

// ErrAppendOnly is returned by Run for a job with a Profile whose action
// would update, opt out or delete events. With Job.Profile, use the action
// identity.Create with Identity NoSync(), or identity.AddOnly synced on an
// event id.
var ErrAppendOnly = errors.New("importer: activities are append-only")

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

// columnOf names the column the plan maps to field, as errors name
// columns: its header, else "#N"; "" when no column maps it.
func columnOf(plan *mapping.Plan, field string) string {
	for _, c := range plan.Columns() {
		if c.Field != field || c.Index == 0 {
			continue
		}
		if c.Source != "" {
			return c.Source
		}
		return "#" + strconv.Itoa(c.Index)
	}
	return ""
}

// linking is the state of a run's links: the linkers, the targets they
// share per object type, and the fields the links carry for their
// targets.
type linking struct {
	links   []*linker
	targets []*targets
	carry   *carryPlan
	get     sink.Getter // the targets of links that update them are read with it
	// chunk is the chunk of the row being decided, base its first row's
	// index in the batch (rowOf).
	chunk *chunk
	base  int
}

// carryPlan takes the fields that links carry for their targets out of
// each mapped record: the mapping fills records of the plan's schema
// (full), and the run works on records of the row's own schema, which
// lacks them.
type carryPlan struct {
	own   *intake.Schema
	keep  []int // keep[k]: the full-schema index of own field k (ascending)
	slots []int // slots[s]: the full-schema index of carried field s
	names []string
}

// newCarryPlan returns the plan that turns records of full into records
// of own, a subsequence of its fields, or nil when they are the same.
func newCarryPlan(full, own *intake.Schema) *carryPlan {
	if full == own || full.Len() == own.Len() {
		return nil
	}
	p := &carryPlan{own: own}
	for i := range full.Len() {
		if name := full.Field(i).Name; own.Index(name) >= 0 {
			p.keep = append(p.keep, i)
		} else {
			p.slots = append(p.slots, i)
			p.names = append(p.names, name)
		}
	}
	return p
}

// slot returns the slot of the named carried field, or -1.
func (p *carryPlan) slot(name string) int {
	if p == nil {
		return -1
	}
	return slices.Index(p.names, name)
}

// split moves the carried values of row i of chunk c, just mapped, into
// c.carried and makes the record one of the row's own schema. It runs in
// the mapping workers; a nil plan does nothing.
func (p *carryPlan) split(c *chunk, i int) {
	if p == nil {
		return
	}
	n := len(p.slots)
	if c.carried == nil {
		c.carried = make([]intake.Value, len(c.rows)*n)
	}
	rec := &c.recs[i]
	dst := c.carried[i*n : (i+1)*n]
	for s, fi := range p.slots {
		dst[s] = rec.Values[fi]
	}
	for k, fi := range p.keep { // fi >= k: in place, front to back
		rec.Values[k] = rec.Values[fi]
	}
	clear(rec.Values[len(p.keep):])
	rec.Values = rec.Values[:len(p.keep)]
	rec.Schema = p.own
}

// rowSchema returns full without the fields that the links carry for
// their targets only (Link.Fields the job's schema did not declare): the
// schema of the records the run matches and writes.
func rowSchema(full *intake.Schema, links []Link) *intake.Schema {
	var drop []string
	for _, l := range links {
		drop = append(drop, l.dropped...)
	}
	if len(drop) == 0 {
		return full
	}
	fields := slices.DeleteFunc(full.Fields(), func(f intake.Field) bool { return slices.Contains(drop, f.Name) })
	s, err := intake.NewSchema(full.Object(), fields...)
	if err != nil { // cannot happen: a subset of a valid schema
		return full
	}
	return s
}

// targets is what the links of a run to one object type share: the
// target-side key plans of those links, the targets the run created (by
// key) and, when a link updates them, the targets the run touched (by
// id), as the run leaves them.
type targets struct {
	object string
	schema *intake.Schema
	// update: a link updates these targets, so touched ones are kept.
	update bool
	// plans are the keys on which the links to this type find their
	// targets, each once (by name); keyed[i]: field i is in one of them.
	plans []targetPlan
	keyed []bool
	// created maps the keys (by key spec name) of the targets this batch
	// created to their ids, prev those of the batch before, which may
	// still be being written. A dry run keeps them for the whole run in
	// created, up to limit keys, and the keys of the targets it would
	// create beyond that by hash only, in hashed (with the number of
	// their made-up id).
	created, prev map[intake.Key]string
	hashed        map[uint64]int
	seed          maphash.Seed
	// recs holds the targets this batch created or updated, prevRecs
	// those of the batch before (read only: the sink may be writing
	// them). A dry run keeps up to limit of them for the whole run in
	// recs.
	recs, prevRecs map[string]*touched
	// fetched are the stored targets this batch's rows found, read once.
	fetched map[string]*intake.Record
	dryN    int
	dry     bool
	limit   int // Config.DryRunRecords
}

// targetPlan is one key of a target type, compiled on its schema.
type targetPlan struct {
	name string
	plan *intake.KeyPlan
}

// addPlan adds the key plan named name, unless the type has it already.
func (ts *targets) addPlan(name string, plan *intake.KeyPlan) {
	if slices.ContainsFunc(ts.plans, func(p targetPlan) bool { return p.name == name }) {
		return
	}
	ts.plans = append(ts.plans, targetPlan{name: name, plan: plan})
	if ts.keyed == nil {
		ts.keyed = make([]bool, ts.schema.Len())
	}
	for _, f := range plan.Spec().Fields {
		ts.keyed[ts.schema.Index(f)] = true
	}
}

// touched is a target as the run leaves it, and the op of the current
// batch that writes it (its create, or an update), if any.
type touched struct {
	rec *intake.Record
	op  *sink.Op
}

// rotate starts a batch.
func (ts *targets) rotate() {
	clear(ts.fetched)
	if ts.dry {
		return
	}
	ts.prev, ts.created = ts.created, ts.prev
	clear(ts.created)
	ts.prevRecs, ts.recs = ts.recs, ts.prevRecs
	clear(ts.recs)
}

// createdKey is the key under which a target created with key k by the
// key spec named spec is remembered.
func createdKey(spec string, k intake.Key) intake.Key {
	return intake.Key(spec + "\x00" + string(k))
}

// find returns the id of the target the run created with key k, if any.
func (ts *targets) find(spec string, k intake.Key) (string, bool) {
	if len(ts.created) == 0 && len(ts.prev) == 0 && len(ts.hashed) == 0 {
		return "", false
	}
	ck := createdKey(spec, k)
	if id, ok := ts.created[ck]; ok {
		return id, true
	}
	if id, ok := ts.prev[ck]; ok {
		return id, true
	}
	if len(ts.hashed) > 0 {
		if n, ok := ts.hashed[maphash.String(ts.seed, string(ck))]; ok {
			return ts.dryID(n), true
		}
	}
	return "", false
}

// remember remembers that key k by the key spec named spec finds target
// id. Beyond its limit, a dry run remembers the targets it made up by
// hash, and forgets the new keys an update gives a stored target (a later
// row of the same new key then counts as the store leaves it).
func (ts *targets) remember(spec string, k intake.Key, id string) {
	ck := createdKey(spec, k)
	if ts.dry && len(ts.created) >= ts.limit {
		if _, ok := ts.created[ck]; !ok {
			if n := ts.dryNumber(id); n > 0 {
				if ts.hashed == nil {
					ts.hashed, ts.seed = make(map[uint64]int), maphash.MakeSeed()
				}
				ts.hashed[maphash.String(ts.seed, string(ck))] = n
			}
			return
		}
	}
	if ts.created == nil {
		ts.created = make(map[intake.Key]string)
	}
	ts.created[ck] = id
}

// register remembers target rec, of id, under its key by every key plan
// of its type.
func (ts *targets) register(rec *intake.Record, id string) {
	for _, p := range ts.plans {
		if k, _ := p.plan.Key(rec); k != "" {
			ts.remember(p.name, k, id)
		}
	}
}

// dryID is the made-up id of the n-th target a dry run would create.
func (ts *targets) dryID(n int) string {
	return "dry-run:" + ts.object + ":" + strconv.Itoa(n)
}

// dryNumber returns n when id is dryID(n), else 0.
func (ts *targets) dryNumber(id string) int {
	rest, ok := strings.CutPrefix(id, "dry-run:"+ts.object+":")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return 0
	}
	return n
}

// touched returns the target id as the run leaves it, or nil when it is
// not known (yet).
func (ts *targets) touched(id string) *touched {
	if t := ts.recs[id]; t != nil {
		return t
	}
	if t := ts.prevRecs[id]; t != nil {
		return &touched{rec: ownRecord(t.rec)}
	}
	if rec := ts.fetched[id]; rec != nil {
		return &touched{rec: ownRecord(rec)}
	}
	return nil
}

// keep keeps t as the state of target id, within limit targets in a dry
// run.
func (ts *targets) keep(id string, t *touched) {
	if ts.dry && len(ts.recs) >= ts.limit {
		return
	}
	if ts.recs == nil {
		ts.recs = make(map[string]*touched)
	}
	ts.recs[id] = t
}

// linkRule is one key of a linker: computed on the row's schema (plan;
// nil for a Many link, whose items are keyed by itemPlan), looked up on
// the target's (spec).
type linkRule struct {
	plan *intake.KeyPlan
	spec intake.KeySpec
	name string
}

// carried is one value a link carries to its target: from the row's own
// field own, or else from slot of the chunk's carried values, to the
// target's field to.
type carried struct {
	own, slot, to int
}

// linker resolves one reference of each row of a batch ([ProfileLink] or
// [Link]) to target record ids.
type linker struct {
	name    string // the key of Report.Links
	profile bool
	many    bool
	update  bool
	ts      *targets
	rules   []linkRule
	idField int
	column  string // the column mapped to the reference, for errors
	missing Missing
	code    intake.Code
	// from[j] → to[j]: the row's key fields copied to a created target.
	from, to []int
	carry    []carried
	nslots   int // values per row in chunk.carried
	// Many: the reference field, the target's key plan and key field,
	// and a record of the target on which items are keyed.
	ref       int
	itemPlan  *intake.KeyPlan
	itemField int
	scratch   *intake.Record

	// keys of the batch being resolved: keys[row*len(rules)+rule], or
	// for Many keys[start[row]:start[row+1]], parallel to items.
	keys  []intake.Key
	items []string
	start []int
	hits  []map[intake.Key][]string
	// The resolution of the row being linked.
	found   bool     // single: a target was found
	id      string   // single: its id
	unknown bool     // a reference finds no target
	noKey   bool     // profile: the row names no profile
	names   []string // Many: the items no target matches
	ids     []string // Many: the ids of the row's targets
}

// linkFields adds to the job's schema the fields its profile link and
// links need: each link's id field and reference field, and the fields it
// carries to its target that the schema lacks. An id field the schema
// declares without a Ref gets the link's target as its Ref.
func linkFields(job *Job) error {
	job.Links = slices.Clone(job.Links)
	ls := linkSchema{schema: job.Schema, keepers: map[string]bool{}, refs: map[string]string{}}
	if p := job.Profile; p != nil {
		if err := ls.profile(p); err != nil {
			return err
		}
	}
	for i := range job.Links {
		if err := ls.link(&job.Links[i]); err != nil {
			return err
		}
	}
	// A field that one link carries and another one references is the
	// row's.
	for i := range job.Links {
		job.Links[i].dropped = slices.DeleteFunc(job.Links[i].dropped, func(n string) bool { return ls.keepers[n] })
	}
	if len(ls.add) == 0 && len(ls.refs) == 0 {
		return nil
	}
	s, err := ls.build()
	if err != nil {
		return fmt.Errorf("importer: link fields: %w", err)
	}
	job.Schema = s
	return nil
}

// linkSchema is the job's schema as linkFields extends it.
type linkSchema struct {
	schema *intake.Schema
	add    []intake.Field // the fields the schema lacks, in the order added
	// keepers are the reference and id fields: always the row's.
	keepers map[string]bool
	// refs are the id fields the job's schema declares without a Ref: the
	// link gives them one (the sinks find links by it, Job.Unlink).
	refs map[string]string
}

// has reports whether the schema has field name or it is added.
func (ls *linkSchema) has(name string) bool {
	return ls.schema.Index(name) >= 0 || slices.ContainsFunc(ls.add, func(f intake.Field) bool { return f.Name == name })
}

// field returns field name, of the schema or added (has).
func (ls *linkSchema) field(name string) intake.Field {
	if i := ls.schema.Index(name); i >= 0 {
		return ls.schema.Field(i)
	}
	return ls.add[slices.IndexFunc(ls.add, func(f intake.Field) bool { return f.Name == name })]
}

// profile adds the profile link's id field, or checks the one declared.
func (ls *linkSchema) profile(p *ProfileLink) error {
	ls.keepers[p.Field] = true
	if !ls.has(p.Field) {
		ls.add = append(ls.add, intake.Field{Name: p.Field, Type: intake.TypeID, Label: "Profile", Ref: p.Object})
		return nil
	}
	return ls.idField("profile link", p.Field, p.Object, false)
}

// link checks link l against its target and adds the fields it needs: its
// reference field, its id field and the fields it carries. It sets the
// link's defaults (Schema, Key, IDField) and the carried fields it adds
// (dropped).
func (ls *linkSchema) link(l *Link) error {
	l.dropped = nil
	target, err := targetSchema(l.Object, l.Schema)
	if err != nil {
		return fmt.Errorf("importer: link %s: %w", l.Field, err)
	}
	l.Schema = target
	if len(l.Key.Fields) == 0 {
		l.Key = intake.Keys(l.Field)
	}
	if len(l.Key.Fields) != 1 {
		return fmt.Errorf("importer: link %s: key %s has %d fields: a link compares its one reference with one field of the target", l.Field, l.Key.Name(), len(l.Key.Fields))
	}
	kf := target.Index(l.Key.Fields[0])
	if kf < 0 {
		return fmt.Errorf("importer: link %s: %q is not a field of %q (fields: %s)", l.Field, l.Key.Fields[0], l.Object, strings.Join(target.Names(), ", "))
	}
	if l.IDField == "" {
		l.IDField = l.Object + "_record_id"
		if l.Many {
			l.IDField += "s"
		}
	}
	ls.keepers[l.Field], ls.keepers[l.IDField] = true, true
	if !ls.has(l.Field) {
		// The reference field is of the type of the target's key.
		key := target.Field(kf)
		f := intake.Field{Name: l.Field, Type: key.Type, Options: key.Options, Label: key.Label}
		if l.Many {
			f.Type = intake.TypeMultiSelect
		}
		ls.add = append(ls.add, f)
	}
	if err := ls.idField("link "+l.Field, l.IDField, l.Object, l.Many); err != nil {
		return err
	}
	if err := checkCarried(l, target, kf); err != nil {
		return err
	}
	return ls.carried(l, target)
}

// idField adds the id field name of a link (what) to targets of type
// object, or checks the one declared: its type, and its Ref, which names
// the object type of the records it links to (refs holds the Ref it gets).
func (ls *linkSchema) idField(what, name, object string, many bool) error {
	if !ls.has(name) {
		f := intake.Field{Name: name, Type: intake.TypeID, Label: object + " record", Ref: object}
		if many {
			f.Type, f.Label = intake.TypeMultiSelect, object+" records"
		}
		ls.add = append(ls.add, f)
		return nil
	}
	f := ls.field(name)
	want := intake.TypeID
	if many {
		want = intake.TypeMultiSelect
	}
	ref := f.Ref
	if ref == "" {
		ref = ls.refs[name]
	}
	switch {
	case f.Type != want:
		return fmt.Errorf("importer: %s: its id field %s is of type %s, and the record ids of its targets go to a field of type %s, whose Ref names their type: declare %s so, or leave it out of the schema and the link adds it", what, name, f.Type, want, name)
	case ref != "" && ref != object:
		return fmt.Errorf("importer: %s: its id field %s holds links to %q (intake.Field.Ref), and its targets are %q: give it an id field of its own", what, name, ref, object)
	case f.Ref == "":
		ls.refs[name] = object
	}
	return nil
}

// carried adds the fields that link l carries to its target and the
// schema lacks, of their target field's type, and checks the type of those
// it has (a carried value is read with its target field's type).
func (ls *linkSchema) carried(l *Link, target *intake.Schema) error {
	names := make([]string, 0, len(l.Fields))
	for name := range l.Fields {
		names = append(names, name)
	}
	slices.Sort(names) // the schema's order does not depend on the map's
	for _, name := range names {
		tf := target.Field(target.Index(l.Fields[name]))
		if ls.has(name) {
			if f := ls.field(name); f.Type != tf.Type {
				return fmt.Errorf("importer: link %s: field %s is a %s and carries the %s's %s, a %s: a carried value is read with its target field's type", l.Field, name, f.Type, l.Object, tf.Name, tf.Type)
			}
			continue
		}
		label := tf.Label
		if label == "" {
			label = tf.Name
		}
		ls.add = append(ls.add, intake.Field{Name: name, Type: tf.Type, Options: tf.Options, Label: l.Object + " " + label})
		l.dropped = append(l.dropped, name)
	}
	return nil
}

// build returns the job's schema with the Refs of refs and the fields
// added.
func (ls *linkSchema) build() (*intake.Schema, error) {
	fields := ls.schema.Fields()
	for i := range fields {
		if ref, ok := ls.refs[fields[i].Name]; ok {
			fields[i].Ref = ref
		}
	}
	return intake.NewSchema(ls.schema.Object(), append(fields, ls.add...)...)
}

// checkCarried checks a link's Fields, Update and Many against the target
// whose key field is kf.
func checkCarried(l *Link, target *intake.Schema, kf int) error {
	if l.Many {
		switch t := target.Field(kf).Type; t {
		case intake.TypeText, intake.TypeID, intake.TypeEmail, intake.TypeSelect:
		default:
			return fmt.Errorf("importer: link %s: a Many link reads its items as text, and the %s's key %s is a %s: use a text, id, email or select key", l.Field, l.Object, target.Field(kf).Name, t)
		}
		if len(l.Fields) > 0 || l.Update {
			return fmt.Errorf("importer: link %s: Fields and Update carry one target's data, and a Many link has several targets per row: drop them", l.Field)
		}
		return nil
	}
	for name, to := range l.Fields {
		ti := target.Index(to)
		switch {
		case ti < 0:
			return fmt.Errorf("importer: link %s: Fields maps %s to %q, which is not a field of %q (fields: %s)", l.Field, name, to, l.Object, strings.Join(target.Names(), ", "))
		case ti == kf:
			return fmt.Errorf("importer: link %s: Fields maps %s to %s, the %s's key: the reference (%s) sets the key; drop %s from Fields", l.Field, name, to, l.Object, l.Field, name)
		case name == l.Field:
			return fmt.Errorf("importer: link %s: Fields names the reference field itself, which sets the %s's key: drop it from Fields", l.Field, l.Object)
		}
	}
	switch {
	case l.Update && len(l.Fields) == 0:
		return fmt.Errorf("importer: link %s: Update writes the values that Fields carries, and Fields is empty: map the row's fields to the %s's", l.Field, l.Object)
	case len(l.Fields) > 0 && !l.Update && l.Missing != MissingCreate:
		return fmt.Errorf("importer: link %s: Fields carries values to the %s, which the link neither creates (Missing create) nor updates (Update): set one, or drop Fields", l.Field, l.Object)
	}
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

// targetsOf returns the shared targets of an object type, checking that
// every link to it uses the same schema.
func (r *run) targetsOf(s *intake.Schema) (*targets, error) {
	for _, ts := range r.links.targets {
		if ts.object != s.Object() {
			continue
		}
		if ts.schema != s && !sameFields(ts.schema, s) {
			return nil, fmt.Errorf("two links to %q give it different schemas (%s and %s): give them the same Schema", s.Object(), strings.Join(ts.schema.Names(), ", "), strings.Join(s.Names(), ", "))
		}
		return ts, nil
	}
	ts := &targets{object: s.Object(), schema: s, dry: r.job.DryRun, limit: r.im.cfg.DryRunRecords}
	r.links.targets = append(r.links.targets, ts)
	return ts, nil
}

func sameFields(a, b *intake.Schema) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i := range a.Len() {
		if a.Field(i).Name != b.Field(i).Name || a.Field(i).Type != b.Field(i).Type {
			return false
		}
	}
	return true
}

// compileLinks compiles the job's profile link and links against the run's
// schema, then checks what they write to their targets and prepares the
// store for it.
func (r *run) compileLinks(ctx context.Context) error {
	job := &r.job
	r.links = linking{carry: newCarryPlan(r.plan.Schema(), r.schema)}
	if job.Profile == nil && len(job.Links) == 0 {
		return nil
	}
	if p := job.Profile; p != nil {
		l, err := r.compileProfile(p)
		if err != nil {
			return err
		}
		r.links.links = append(r.links.links, l)
	}
	for i := range job.Links {
		l, err := r.compileLink(&job.Links[i])
		if err != nil {
			return err
		}
		r.links.links = append(r.links.links, l)
	}
	return r.prepareTargets(ctx)
}

// compileProfile compiles the profile link: its rules, by default the
// email, contact_id and phone that the rows and the profiles share.
func (r *run) compileProfile(p *ProfileLink) (*linker, error) {
	schema := r.schema
	target, err := targetSchema(p.Object, p.Schema)
	if err != nil {
		return nil, fmt.Errorf("importer: profile link: %w", err)
	}
	rules := p.Rules
	if len(rules) == 0 {
		for _, f := range []string{"email", "contact_id", "phone"} {
			if schema.Index(f) >= 0 && target.Index(f) >= 0 {
				rules = append(rules, intake.Keys(f))
			}
		}
		if len(rules) == 0 {
			return nil, fmt.Errorf("importer: profile link: %q and %q share none of email, contact_id and phone: set ProfileLink.Rules", schema.Object(), p.Object)
		}
	}
	ts, err := r.targetsOf(target)
	if err != nil {
		return nil, fmt.Errorf("importer: profile link: %w", err)
	}
	l := &linker{name: "profile", profile: true, ts: ts, idField: schema.Index(p.Field), missing: p.Missing, code: intake.CodeUnknownProfile}
	for _, spec := range rules {
		if err := l.addRule(schema, spec, spec.Fields); err != nil {
			return nil, fmt.Errorf("importer: profile rule %s: %w", spec.Name(), err)
		}
	}
	return l, nil
}

// compileLink compiles link ln: its key (on its reference, or on each item
// of a Many link's), the values it carries, and its id field, which an
// update merges as it merges the reference field.
func (r *run) compileLink(ln *Link) (*linker, error) {
	schema := r.schema
	ts, err := r.targetsOf(ln.Schema)
	if err != nil {
		return nil, fmt.Errorf("importer: link %s: %w", ln.Field, err)
	}
	l := &linker{name: ln.Field, many: ln.Many, update: ln.Update, ts: ts, idField: schema.Index(ln.IDField), ref: schema.Index(ln.Field),
		column: columnOf(r.plan, ln.Field), missing: ln.Missing, code: intake.CodeUnknownLink}
	if l.idField < 0 || l.ref < 0 { // cannot happen: linkFields added them
		return nil, fmt.Errorf("importer: link %s: the schema lacks its fields", ln.Field)
	}
	if ln.Many {
		err = l.keyItems(schema, ln)
	} else {
		err = l.keyReference(schema, ln)
	}
	if err != nil {
		return nil, err
	}
	if err := r.compileCarried(l, ln); err != nil {
		return nil, err
	}
	if ln.Update {
		ts.update = true
	}
	// The link moves with its reference: an update merges the id field
	// as it merges the reference field.
	if mapsField(r.plan, ln.Field) {
		r.rules.mapped[l.idField] = true
	}
	return l, nil
}

// keyItems keys the items of Many link ln: its reference and id fields
// are multiselect fields, and each item is keyed on the target's key field
// (itemPlan).
func (l *linker) keyItems(schema *intake.Schema, ln *Link) error {
	if t := schema.Field(l.ref).Type; t != intake.TypeMultiSelect {
		return fmt.Errorf("importer: link %s: a Many link reads several references from a multiselect field, and %s is a %s", ln.Field, ln.Field, t)
	}
	if idType := schema.Field(l.idField).Type; idType != intake.TypeMultiSelect {
		return fmt.Errorf("importer: link %s: the ids of a Many link's targets go to a multiselect field, and %s is a %s", ln.Field, ln.IDField, idType)
	}
	ts := l.ts
	spec := intake.KeySpec{Fields: ln.Key.Fields, EmailRules: ln.Key.EmailRules, MD5: ln.Key.MD5}
	plan, err := ts.schema.CompileKey(spec)
	if err != nil {
		return fmt.Errorf("importer: link %s: %w", ln.Field, err)
	}
	l.itemPlan, l.itemField, l.scratch = plan, ts.schema.Index(spec.Fields[0]), intake.NewRecord(ts.schema)
	ts.addPlan(spec.Name(), plan)
	l.rules = []linkRule{{spec: spec, name: spec.Name()}}
	return nil
}

// keyReference keys the reference of single link ln: the row's Field,
// keyed with the options of the target's key, whose record id goes to a
// text or id field.
func (l *linker) keyReference(schema *intake.Schema, ln *Link) error {
	if idType := schema.Field(l.idField).Type; idType.Kind() != intake.KindText {
		return fmt.Errorf("importer: link %s: the target's record id goes to a text or id field, and %s is a %s", ln.Field, ln.IDField, idType)
	}
	rowSpec := ln.Key
	rowSpec.Fields = []string{ln.Field}
	if err := l.addRule(schema, rowSpec, ln.Key.Fields); err != nil {
		return fmt.Errorf("importer: link %s: %w", ln.Field, err)
	}
	return nil
}

// compileCarried compiles the values link ln carries to its target, each
// from the row's own field or else from the chunk's carried values.
func (r *run) compileCarried(l *linker, ln *Link) error {
	names := make([]string, 0, len(ln.Fields))
	for name := range ln.Fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := carried{own: r.schema.Index(name), slot: r.links.carry.slot(name), to: l.ts.schema.Index(ln.Fields[name])}
		if c.own < 0 && c.slot < 0 { // cannot happen: linkFields added it
			return fmt.Errorf("importer: link %s: no field %s", ln.Field, name)
		}
		l.carry = append(l.carry, c)
	}
	if r.links.carry != nil {
		l.nslots = len(r.links.carry.slots)
	}
	return nil
}

// prepareTargets checks what each link writes to its targets (Missing
// reject by default) and prepares for it: a link that creates or updates
// its targets cannot target the type the job imports, an update needs a
// sink.Getter, and a real run ensures the store's schema of each object
// type it writes (sink.SchemaEnsurer).
func (r *run) prepareTargets(ctx context.Context) error {
	schema := r.schema
	ensured := map[*targets]bool{}
	for _, l := range r.links.links {
		if l.idField < 0 { // cannot happen: linkFields added it
			return fmt.Errorf("importer: link %s: no field for the record id", l.name)
		}
		if l.missing == "" {
			l.missing = MissingReject
		}
		writes := l.missing == MissingCreate || l.update
		if writes && l.ts.object == schema.Object() {
			// The target would be a record of the rows' own type, which the
			// rows' matcher does not know about: a later row of the same
			// key would create it a second time, or overwrite the update.
			return fmt.Errorf("importer: link %s: its target is a %s, the type this job imports: it cannot be created or updated by the link (use reject, skip or empty without Update, or import the targets first)", l.name, schema.Object())
		}
		if l.update && r.links.get == nil {
			g, ok := r.im.cfg.Sink.(sink.Getter)
			if !ok {
				return fmt.Errorf("importer: link %s: Update compares the carried values with the stored %s, which needs a sink that reads records by id (sink.Getter); %T does not", l.name, l.ts.object, r.im.cfg.Sink)
			}
			r.links.get = g
		}
		if writes && !r.job.DryRun && !ensured[l.ts] {
			ensured[l.ts] = true
			if e, ok := r.im.cfg.Sink.(sink.SchemaEnsurer); ok {
				if err := e.EnsureSchema(ctx, l.ts.schema); err != nil {
					return fmt.Errorf("importer: prepare the store for %q: %w", l.ts.object, err)
				}
			}
		}
	}
	return nil
}

// addRule adds the key spec (on the row's fields) whose fields are
// targetFields on the target.
func (l *linker) addRule(schema *intake.Schema, spec intake.KeySpec, targetFields []string) error {
	target := l.ts.schema
	plan, err := schema.CompileKey(spec)
	if err != nil {
		return err
	}
	for j, f := range spec.Fields {
		ri, ti := schema.Index(f), target.Index(targetFields[j])
		if ti < 0 {
			return fmt.Errorf("%q is not a field of %q", targetFields[j], target.Object())
		}
		if rt, tt := schema.Field(ri).Type, target.Field(ti).Type; rt != tt {
			return fmt.Errorf("field %s is a %s in %q and %s is a %s in %q: keys compare equal only between fields of one type", f, rt, schema.Object(), targetFields[j], tt, target.Object())
		}
		if !slices.Contains(l.to, ti) {
			l.from, l.to = append(l.from, ri), append(l.to, ti)
		}
	}
	tspec := intake.KeySpec{Fields: targetFields, EmailRules: spec.EmailRules, MD5: spec.MD5}
	tplan, err := target.CompileKey(tspec)
	if err != nil {
		return err
	}
	l.ts.addPlan(tspec.Name(), tplan)
	l.rules = append(l.rules, linkRule{plan: plan, spec: tspec, name: tspec.Name()})
	return nil
}

// resolveLinks looks up the targets that the references of the batch's
// valid rows name, before the rows are matched: one sink.Lookuper call per
// link and key, and one sink.Getter call per object type whose targets a
// link updates. What each row's links do is worked out as the row is
// decided, in file order: checkLinks applies the Missing policies before
// the row's action, and useLinks creates and updates targets and sets the
// record-id fields once the action creates or updates the row's record.
func (r *run) resolveLinks(ctx context.Context, b *batch) error {
	if len(r.links.links) == 0 {
		return nil
	}
	r.links.chunk = nil
	for _, ts := range r.links.targets {
		ts.rotate()
	}
	lk := r.im.cfg.Sink.(sink.Lookuper)
	var ask []intake.Key
	for _, l := range r.links.links {
		l.keyBatch(b)
		nr := len(l.rules)
		if cap(l.hits) < nr {
			l.hits = make([]map[intake.Key][]string, nr)
		}
		l.hits = l.hits[:nr]
		for ri, rule := range l.rules {
			ask = ask[:0]
			for j := ri; j < len(l.keys); j += nr {
				if l.keys[j] != "" {
					ask = append(ask, l.keys[j])
				}
			}
			slices.Sort(ask)
			ask = slices.Compact(ask)
			l.hits[ri] = nil
			if len(ask) == 0 {
				continue
			}
			found, err := lk.Lookup(ctx, l.ts.schema, rule.spec, ask)
			if err != nil {
				return fmt.Errorf("importer: look up %q by %s for lines %d-%d: %w", l.ts.object, rule.name, b.firstLine(), b.lastLine(), err)
			}
			l.hits[ri] = found
		}
	}
	return r.fetchTargets(ctx, b)
}

// rowOf returns the index in batch b of row i of chunk c (the rows of a
// batch are decided in order: the chunk's offset is worked out once).
func (lk *linking) rowOf(b *batch, c *chunk, i int) int {
	if lk.chunk != c {
		lk.chunk, lk.base = c, 0
		for _, x := range b.chunks {
			if x == c {
				break
			}
			lk.base += x.n
		}
	}
	return lk.base + i
}

// keyBatch computes the keys of the references of every row of the batch.
func (l *linker) keyBatch(b *batch) {
	l.keys, l.items, l.start = l.keys[:0], l.items[:0], l.start[:0]
	for _, c := range b.chunks {
		for i := 0; i < c.n; i++ {
			valid := c.errs[i] == nil && c.skip(i) == ""
			if l.many {
				l.start = append(l.start, len(l.keys))
				if !valid {
					continue
				}
				for _, item := range c.recs[i].Values[l.ref].Items() {
					l.scratch.Values[l.itemField] = intake.Text(item)
					k, _ := l.itemPlan.Key(l.scratch)
					l.keys, l.items = append(l.keys, k), append(l.items, item)
				}
				continue
			}
			for _, rule := range l.rules {
				var k intake.Key
				if valid {
					k, _ = rule.plan.Key(&c.recs[i])
				}
				l.keys = append(l.keys, k)
			}
		}
	}
	if l.many {
		l.start = append(l.start, len(l.keys))
		l.scratch.Values[l.itemField] = intake.Null
	}
}

// fetchTargets reads the stored targets that the batch's rows found
// through links that update them, unless the run knows them already.
func (r *run) fetchTargets(ctx context.Context, b *batch) error {
	for _, ts := range r.links.targets {
		if !ts.update {
			continue
		}
		var ids []string
		for _, l := range r.links.links {
			if l.ts != ts || !l.update {
				continue
			}
			for _, hits := range l.hits {
				for _, found := range hits {
					if len(found) > 0 && ts.recs[found[0]] == nil && ts.prevRecs[found[0]] == nil {
						ids = append(ids, found[0])
					}
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		got, err := r.links.get.Get(ctx, ts.schema, ids)
		if err != nil {
			return fmt.Errorf("importer: read the %s records that lines %d-%d name: %w", ts.object, b.firstLine(), b.lastLine(), err)
		}
		ts.fetched = got
	}
	return nil
}

// checkLinks resolves every link of row i of chunk c, which is being
// decided, and applies their Missing policies: when a link rejects or
// skips the row, checkLinks counts it so and reports true. It returns the
// row's index in the batch, for useLinks.
func (r *run) checkLinks(b *batch, c *chunk, i int) (row int, done bool) {
	row = r.links.rowOf(b, c, i)
	rec := &c.recs[i]
	for _, l := range r.links.links {
		l.resolve(row)
	}
	for _, l := range r.links.links {
		var e *intake.RowError
		switch {
		case l.noKey:
			e = &intake.RowError{File: r.job.MappingOptions.File, Line: rec.Line, Field: r.schema.Field(l.idField).Name, Code: intake.CodeMissingKey,
				Message: "the row names no profile: its profile keys (" + l.ruleNames() + ") are all empty"}
		case !l.unknown:
		case l.missing == MissingSkip:
			b.t.link(l.name).Skipped++
			c.setSkip(i, l.code)
			r.skipRow(b, c, i)
			return row, true
		case l.missing == MissingReject:
			e = l.unknownError(r, rec, row)
		case l.missing == MissingCreate:
			e = l.createError(r, c, i, row)
		}
		if e != nil {
			b.t.link(l.name).Rejected++
			r.reject(b, c.rows[i], e, nil)
			return row, true
		}
	}
	return row, false
}

// useLinks does what the links of row i of chunk c (the batch's row-th)
// do, now that the row's action creates or updates its record: it creates
// or updates their targets, before the row's own ops, and sets the
// record-id fields. A row that is rejected, skipped, opted out, deleted
// (or anything but created or updated) never gets here: its references
// change no target.
func (r *run) useLinks(b *batch, c *chunk, i, row int) error {
	for _, l := range r.links.links {
		if err := r.applyLink(b, c, i, row, l); err != nil {
			return err
		}
	}
	return nil
}

// resolve works out what the references of the batch's row-th row find,
// without changing anything.
func (l *linker) resolve(row int) {
	l.found, l.id, l.unknown, l.noKey, l.names = false, "", false, false, l.names[:0]
	if l.many {
		for j := l.start[row]; j < l.start[row+1]; j++ {
			if k := l.keys[j]; k != "" {
				if _, ok := l.find(0, k); ok {
					continue
				}
			}
			// An item whose key is empty (white space that the key's
			// normalization drops) names no target either.
			l.unknown = true
			if !slices.Contains(l.names, l.items[j]) {
				l.names = append(l.names, l.items[j])
			}
		}
		return
	}
	nr := len(l.rules)
	anyKey := false
	for ri, k := range l.keys[row*nr : (row+1)*nr] {
		if k == "" {
			continue
		}
		anyKey = true
		if id, ok := l.find(ri, k); ok {
			l.found, l.id = true, id
			return
		}
	}
	l.unknown = anyKey
	l.noKey = !anyKey && l.profile
}

// find returns the id of the target that key k of rule ri names: a stored
// one (the oldest), or one the run created.
func (l *linker) find(ri int, k intake.Key) (string, bool) {
	if ids := l.hits[ri][k]; len(ids) > 0 {
		return ids[0], true
	}
	return l.ts.find(l.rules[ri].name, k)
}

// unknownError is the rejection of a row whose references find nothing.
func (l *linker) unknownError(r *run, rec *intake.Record, row int) *intake.RowError {
	e := &intake.RowError{File: r.job.MappingOptions.File, Line: rec.Line, Field: l.name, Column: l.column, Code: l.code}
	switch {
	case l.profile:
		e.Field, e.Column = r.schema.Field(l.idField).Name, ""
		e.Message = "no " + l.ts.object + " matches the row's " + l.ruleNames() + " (" + displayKeys(l.keys[row*len(l.rules):(row+1)*len(l.rules)]) + ")"
	case l.many:
		quoted := make([]string, len(l.names))
		for j, n := range l.names {
			quoted[j] = strconv.Quote(n)
		}
		what := "item"
		if len(l.names) > 1 {
			what = "items"
		}
		e.Message = "no " + l.ts.object + " matches the " + what + " " + strings.Join(quoted, ", ") + " of " + l.name + " by " + l.ruleNames()
	default:
		e.Message = "no " + l.ts.object + " matches the row's " + l.ruleNames() + " (" + displayKeys(l.keys[row*len(l.rules):(row+1)*len(l.rules)]) + ")"
	}
	return e
}

// createError is the rejection of a row whose unknown references a link
// that creates its targets cannot create a target with — a Many item
// whose key is empty, a value that is none of the options of the
// target's select key field —, or nil when it can create them all.
func (l *linker) createError(r *run, c *chunk, i, row int) *intake.RowError {
	rec := &c.recs[i]
	e := &intake.RowError{File: r.job.MappingOptions.File, Line: rec.Line, Field: l.name, Column: l.column}
	if !l.many {
		for j, f := range l.from {
			tf := l.ts.schema.Field(l.to[j])
			if _, ok := optionOf(tf, rec.Values[f]); !ok {
				e.Code = intake.CodeInvalidSelect
				e.Message = fmt.Sprintf("no %s matches %q, and it is not one of the options of the %s's %s (%s): the link cannot create the %s", l.ts.object, rec.Values[f].String(), l.ts.object, tf.Name, strings.Join(tf.Options, ", "), l.ts.object)
				if l.profile {
					e.Field, e.Column = r.schema.Field(l.idField).Name, ""
				}
				return e
			}
		}
		return nil
	}
	tf := l.ts.schema.Field(l.itemField)
	for j := l.start[row]; j < l.start[row+1]; j++ {
		k, item := l.keys[j], l.items[j]
		if k == "" {
			e.Code = intake.CodeUnknownLink
			e.Message = fmt.Sprintf("the item %q of %s has no %s once normalized: it names no %s, and the link cannot create one without a key", item, l.name, l.ruleNames(), l.ts.object)
			return e
		}
		if _, ok := l.find(0, k); ok {
			continue
		}
		if _, ok := optionOf(tf, intake.Text(item)); !ok {
			e.Code = intake.CodeInvalidMultiSelect
			e.Message = fmt.Sprintf("no %s matches the item %q of %s, and it is not one of the options of the %s's %s (%s): the link cannot create the %s", l.ts.object, item, l.name, l.ts.object, tf.Name, strings.Join(tf.Options, ", "), l.ts.object)
			return e
		}
	}
	return nil
}

// optionOf returns v as a value of the target's field f: for a select
// field with options, the option that v names (compared as keys compare
// them: "GOLD" names "gold"), and false when it names none; otherwise v.
func optionOf(f intake.Field, v intake.Value) (intake.Value, bool) {
	if f.Type != intake.TypeSelect || len(f.Options) == 0 || v.IsNull() {
		return v, true
	}
	k := intake.NormalizeKey(intake.TypeSelect, v)
	for _, o := range f.Options {
		if intake.NormalizeKey(intake.TypeSelect, intake.Text(o)) == k {
			return intake.Text(o), true
		}
	}
	return v, false
}

// applyLink does what link l does for row i of chunk c, which no link
// rejects or skips and whose record the run creates or updates.
func (r *run) applyLink(b *batch, c *chunk, i, row int, l *linker) error {
	rec := &c.recs[i]
	counts := b.t.link(l.name)
	if !l.many {
		if l.unknown {
			l.resolve(row) // an earlier link of the row may have created the target
		}
		id := l.id
		switch {
		case l.found:
			r.touchTarget(b, l, counts, c, i, id)
		case !l.unknown:
			return nil // no reference
		case l.missing == MissingEmpty:
			counts.Empty++
			return nil
		default: // MissingCreate
			nr := len(l.rules)
			var err error
			if id, err = r.createTarget(b, l, counts, c, i, l.keys[row*nr:(row+1)*nr], ""); err != nil {
				return err
			}
		}
		rec.Values[l.idField] = intake.Text(id)
		return nil
	}
	l.ids = l.ids[:0]
	for j := l.start[row]; j < l.start[row+1]; j++ {
		k := l.keys[j]
		if slices.Contains(l.keys[l.start[row]:j], k) {
			continue // the key of an earlier item of the row
		}
		if k == "" { // names no target (MissingEmpty: the others reject the row)
			counts.Empty++
			continue
		}
		id, ok := l.find(0, k)
		switch {
		case ok:
			if slices.Contains(l.ids, id) {
				continue // another item named it
			}
			r.touchTarget(b, l, counts, c, i, id)
		case l.missing == MissingEmpty:
			counts.Empty++
			continue
		default: // MissingCreate
			var err error
			if id, err = r.createTarget(b, l, counts, c, i, l.keys[j:j+1], l.items[j]); err != nil {
				return err
			}
		}
		l.ids = append(l.ids, id)
	}
	if len(l.ids) > 0 {
		rec.Values[l.idField] = intake.List(l.ids...)
	}
	return nil
}

// value returns the carried value f of row i of chunk c.
func (l *linker) value(c *chunk, i int, f carried) intake.Value {
	if f.own >= 0 {
		return c.recs[i].Values[f.own]
	}
	return c.carried[i*l.nslots+f.slot]
}

// touchTarget counts a reference that found target id and, with Update,
// applies the row's carried values to it.
func (r *run) touchTarget(b *batch, l *linker, counts *LinkCounts, c *chunk, i int, id string) {
	counts.Found++
	oc := b.t.object(l.ts.object)
	if !l.update {
		oc.Unchanged++
		return
	}
	ts := l.ts
	t := ts.touched(id)
	if t == nil { // deleted since the lookup: nothing to update
		oc.Unchanged++
		return
	}
	changed, rekey := false, false
	for _, f := range l.carry {
		v := l.value(c, i, f)
		if v.IsNull() || t.rec.Values[f.to] == v {
			continue
		}
		v = v.Clone()
		t.rec.Values[f.to] = v
		changed = true
		rekey = rekey || ts.keyed[f.to]
		if r.job.DryRun {
			continue
		}
		if t.op == nil {
			t.op = newOp(b, sink.OpUpdate, &intake.Record{Schema: ts.schema, ID: id, Line: c.recs[i].Line, Values: make([]intake.Value, ts.schema.Len())})
			b.ops = append(b.ops, t.op)
		}
		if t.op.Kind == sink.OpUpdate { // a create's record is t.rec itself
			t.op.Record.Values[f.to] = v
		}
	}
	if ts.recs[id] != t {
		ts.keep(id, t)
	}
	if rekey {
		// The update gives the target a new key of another link to its
		// type: later rows find it by it.
		ts.register(t.rec, id)
	}
	if changed {
		counts.Updated++
		oc.Updated++
	} else {
		oc.Unchanged++
	}
}

// createTarget creates the target of an unknown reference of row i of
// chunk c — keys by the link's rules, or for a Many link the item and its
// key — and returns its id (made up in a dry run, which creates nothing).
func (r *run) createTarget(b *batch, l *linker, counts *LinkCounts, c *chunk, i int, keys []intake.Key, item string) (string, error) {
	ts, rec := l.ts, &c.recs[i]
	tr := intake.NewRecord(ts.schema)
	tr.Line = rec.Line
	if l.many {
		v := intake.Text(strings.Clone(item))
		if ts.schema.Field(l.itemField).Type == intake.TypeEmail {
			v = intake.Text(intake.NormalizeKey(intake.TypeEmail, v))
		}
		tr.Values[l.itemField], _ = optionOf(ts.schema.Field(l.itemField), v)
	} else {
		for j, f := range l.from {
			v, _ := optionOf(ts.schema.Field(l.to[j]), rec.Values[f])
			tr.Values[l.to[j]] = v.Clone()
		}
	}
	for _, f := range l.carry {
		if v := l.value(c, i, f); !v.IsNull() {
			tr.Values[f.to] = v.Clone()
		}
	}
	if r.job.DryRun {
		ts.dryN++
		tr.ID = ts.dryID(ts.dryN)
	} else {
		id, err := r.newID()
		if err != nil {
			return "", fmt.Errorf("importer: allocate a record id: %w", err)
		}
		tr.ID = id
	}
	// Later rows find the target by the keys that found nothing, and by
	// the keys of every other link to its type.
	for ri, k := range keys {
		if k != "" {
			ts.remember(l.rules[ri].name, intake.Key(strings.Clone(string(k))), tr.ID)
		}
	}
	ts.register(tr, tr.ID)
	counts.Created++
	counts.Found++
	b.t.object(ts.object).Created++
	t := &touched{rec: tr}
	if !r.job.DryRun {
		t.op = newOp(b, sink.OpCreate, tr)
		b.ops = append(b.ops, t.op)
	}
	if ts.update {
		ts.keep(tr.ID, t)
	}
	return tr.ID, nil
}

func (l *linker) ruleNames() string {
	names := make([]string, len(l.rules))
	for i, rule := range l.rules {
		names[i] = rule.name
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
func (c *chunk) skip(i int) intake.Code {
	if c.skips == nil {
		return ""
	}
	return c.skips[i]
}

func (c *chunk) setSkip(i int, code intake.Code) {
	if c.skips == nil {
		c.skips = make([]intake.Code, len(c.rows))
	}
	c.skips[i] = code
}

// skipRow counts row i of chunk c, which linking skipped.
func (r *run) skipRow(b *batch, c *chunk, i int) {
	b.t.counts[intake.OutcomeSkipped]++
	b.t.reason(c.skips[i])
	r.explain(func() *Explanation {
		return &Explanation{Line: c.rows[i].Line, Decision: "skip", Code: c.skips[i], Note: "its " + string(c.skips[i]) + " target is unknown and the job skips such rows"}
	})
}
