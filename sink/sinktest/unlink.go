package sinktest

import (
	"cmp"
	"slices"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// linkedContacts is the contact schema with links: to an account, to the
// contact who referred them, and to several friends.
var linkedContacts = intake.MustSchema(intake.ObjectContact, append(contact.Fields(),
	intake.Field{Name: "account_record_id", Type: intake.TypeID, Ref: intake.ObjectAccount},
	intake.Field{Name: "referred_by", Type: intake.TypeID, Ref: intake.ObjectContact},
	intake.Field{Name: "friends", Type: intake.TypeMultiSelect, Ref: intake.ObjectContact},
)...)

// linked returns a contact with links ("" and no friends for none).
func linked(id, email, acct, referredBy string, friends ...string) *intake.Record {
	r := intake.NewRecord(linkedContacts)
	r.ID = id
	if email != "" {
		r.Set("email", intake.Text(email))
	}
	if acct != "" {
		r.Set("account_record_id", intake.Text(acct))
	}
	if referredBy != "" {
		r.Set("referred_by", intake.Text(referredBy))
	}
	r.Set("friends", intake.List(friends...))
	return r
}

// unlinkOp returns a lifecycle op of kind on the record id of s that
// removes the links to it.
func unlinkOp(kind sink.OpKind, s *intake.Schema, id string, a *sink.AuditEntry) *sink.Op {
	op := lifecycleOf(kind, s, id, a)
	op.Unlink = true
	return op
}

// wantLink is the audit entry of the link from object/id's field to
// targetObject/targetID that op removed.
func wantLink(op *sink.Op, object, id, field, targetObject, targetID string) sink.AuditEntry {
	a := wantAudit(op)
	a.Object, a.RecordID, a.Action = object, id, sink.ActionUnlink
	a.Field, a.TargetObject, a.TargetID = field, targetObject, targetID
	return a
}

// requireAuditSet compares audit entries: got must be oldest first, and
// the entries of one time may come in any order (a sink removes the links
// of a batch in an order of its own).
func requireAuditSet(k *kit, want, got []sink.AuditEntry, msg string) {
	k.t.Helper()
	for i := 1; i < len(got); i++ {
		require.False(k.t, got[i].Time.Before(got[i-1].Time), "%s: the log is oldest first", msg)
	}
	order := func(a, b sink.AuditEntry) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Action, b.Action), cmp.Compare(a.RecordID, b.RecordID),
			cmp.Compare(a.Field, b.Field), cmp.Compare(a.TargetID, b.TargetID))
	}
	want, got = slices.Clone(want), slices.Clone(got)
	slices.SortStableFunc(want, order)
	slices.SortStableFunc(got, order)
	requireAudit(k, want, got, msg)
}

// links reads the link fields of records of s: by id, the values of the
// fields named, each as its items (nil for null).
func (k *kit) links(s *intake.Schema, fields []string, ids ...string) map[string][][]string {
	k.t.Helper()
	got := k.getIn(s, ids...)
	out := map[string][][]string{}
	for _, id := range ids {
		r := got[id]
		require.NotNil(k.t, r, "record %s of %s", id, s.Object())
		vals := make([][]string, len(fields))
		for i, f := range fields {
			vals[i] = r.Get(f).Items()
		}
		out[id] = vals
	}
	return out
}

func l(items ...string) []string { return items }

// testUnlink deletes and anonymizes records with and without Op.Unlink:
// the links to them from contacts (the same type: an id field and a
// multi-select) and from activities (another type), written before or by
// the same batch, and an anonymized contact's own links. Each phase builds
// on the store the one before left.
func testUnlink(k *kit) {
	u := unlinkRun{k: k}
	u.setup()
	u.keep()
	if k.f.AllOrNothing {
		u.failedBatch()
	}
	u.remove()
	u.anonymize()
	u.ownLinkOnly()
	u.foundAsBefore()
}

// unlinkRun is the state of testUnlink between its phases: the links the
// store holds and the audit entries it has logged.
type unlinkRun struct {
	k                        *kit
	contactLinks, eventLinks map[string][][]string
	wantContacts, wantEvents []sink.AuditEntry
}

// The link fields of linkedContacts and events, and a key on a link field,
// kept current by the unlinks.
var (
	contactFields = []string{"account_record_id", "referred_by", "friends"}
	eventFields   = []string{"profile_id", "watchers"}
	byProfile     = intake.Keys("profile_id")
)

// requireLinks requires the links of the contacts and activities named.
func (u *unlinkRun) requireLinks(contactIDs, eventIDs []string, msg string) {
	u.k.t.Helper()
	require.Equal(u.k.t, u.contactLinks, u.k.links(linkedContacts, contactFields, contactIDs...), msg)
	require.Equal(u.k.t, u.eventLinks, u.k.links(events, eventFields, eventIDs...), msg)
}

// setup writes accounts, contacts and activities that link to each other.
func (u *unlinkRun) setup() {
	k := u.k
	for _, s := range []*intake.Schema{accounts, linkedContacts, events} {
		k.ensure(s)
	}
	k.write(
		create(account("a1", "A1", "Acme")),
		create(account("a2", "A2", "Bolt")),
		create(linked("c1", "c1@example.com", "a1", "")),
		create(linked("c2", "c2@example.com", "a1", "c1", "c1", "c3")),
		create(linked("c3", "c3@example.com", "a2", "c1", "c1")),
		create(linked("c4", "c4@example.com", "a2", "")),
		create(linked("c6", "", "a1", "")), // nothing personal
		create(event("e1", "E1", "visit", "c1")),
		create(event("e2", "E2", "click", "c1", "c2", "c1")),
		create(event("e3", "E3", "mail", "c2", "c1")),
		create(event("e4", "E4", "call", "c4")),
	)
	u.contactLinks = map[string][][]string{
		"c1": {l("a1"), nil, nil},
		"c2": {l("a1"), l("c1"), l("c1", "c3")},
		"c3": {l("a2"), l("c1"), l("c1")},
		"c6": {l("a1"), nil, nil},
	}
	u.eventLinks = map[string][][]string{
		"e1": {l("c1"), nil},
		"e2": {l("c1"), l("c2", "c1")},
		"e3": {l("c2"), l("c1")},
		"e4": {l("c4"), nil},
	}
	u.requireLinks(l("c1", "c2", "c3", "c6"), l("e1", "e2", "e3", "e4"), "as written")
	if k.c.lookup {
		require.Equal(k.t, map[intake.Key][]string{"c1": {"e1", "e2"}, "c2": {"e3"}}, k.lookupIn(events, byProfile, "c1", "c2"))
	}
}

// keep: a delete without Unlink leaves the other records the id they hold.
func (u *unlinkRun) keep() {
	k := u.k
	keep := lifecycleOf(sink.OpDelete, linkedContacts, "c4", auditAt(0, "duplicate"))
	require.Equal(k.t, []intake.Outcome{intake.OutcomeDeleted}, k.write(keep))
	require.Equal(k.t, u.eventLinks, k.links(events, eventFields, "e1", "e2", "e3", "e4"), "a delete without Unlink keeps the links to the record")
	require.Empty(k.t, k.auditLog(intake.ObjectActivity, ""))
	u.wantContacts = []sink.AuditEntry{wantAudit(keep)}
}

// failedBatch: a batch that fails removes no link.
func (u *unlinkRun) failedBatch() {
	k := u.k
	_, err := k.failWrite(unlinkOp(sink.OpDelete, linkedContacts, "c1", auditAt(1, "erasure request")), update(linked("ghost", "", "", "")))
	require.ErrorIs(k.t, err, sink.ErrNotFound)
	u.requireLinks(l("c1", "c2", "c3", "c6"), l("e1", "e2", "e3", "e4"), "a failed batch leaves the links")
	require.Empty(k.t, k.auditLog(intake.ObjectActivity, ""), "a failed batch writes no unlink entry")
	requireAuditSet(k, u.wantContacts, k.auditLog(intake.ObjectContact, ""), "contacts' log after a failed batch")
}

// remove: a contact and an account deleted with Unlink, and an activity
// that the same batch writes with links to the contact.
func (u *unlinkRun) remove() {
	k, t := u.k, u.k.t
	delC1 := unlinkOp(sink.OpDelete, linkedContacts, "c1", auditAt(2, "erasure request"))
	delA2 := unlinkOp(sink.OpDelete, accounts, "a2", auditAt(3, "account closed"))
	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted, intake.OutcomeDeleted, intake.OutcomeCreated},
		k.write(delC1, delA2, create(event("e5", "E5", "visit", "c1", "c1", "c2"))))
	u.contactLinks = map[string][][]string{
		"c2": {l("a1"), nil, l("c3")},
		"c3": {nil, nil, nil},
		"c6": {l("a1"), nil, nil},
	}
	u.eventLinks = map[string][][]string{
		"e1": {nil, nil},
		"e2": {nil, l("c2")},
		"e3": {l("c2"), nil},
		"e4": {l("c4"), nil},
		"e5": {nil, l("c2")},
	}
	u.requireLinks(l("c2", "c3", "c6"), l("e1", "e2", "e3", "e4", "e5"), "after the deletes with Unlink")
	if k.c.lookup {
		require.Equal(t, map[intake.Key][]string{"c2": {"e3"}}, k.lookupIn(events, byProfile, "c1", "c2"))
	}
	require.Equal(t, "Acme", k.getIn(accounts, "a1")["a1"].Get("name").Str(), "accounts hold no link to contacts")
	u.wantContacts = append(u.wantContacts, wantAudit(delC1),
		wantLink(delC1, intake.ObjectContact, "c2", "referred_by", intake.ObjectContact, "c1"),
		wantLink(delC1, intake.ObjectContact, "c2", "friends", intake.ObjectContact, "c1"),
		wantLink(delC1, intake.ObjectContact, "c3", "referred_by", intake.ObjectContact, "c1"),
		wantLink(delC1, intake.ObjectContact, "c3", "friends", intake.ObjectContact, "c1"),
		wantLink(delA2, intake.ObjectContact, "c3", "account_record_id", intake.ObjectAccount, "a2"))
	u.wantEvents = []sink.AuditEntry{
		wantLink(delC1, intake.ObjectActivity, "e1", "profile_id", intake.ObjectContact, "c1"),
		wantLink(delC1, intake.ObjectActivity, "e2", "profile_id", intake.ObjectContact, "c1"),
		wantLink(delC1, intake.ObjectActivity, "e2", "watchers", intake.ObjectContact, "c1"),
		wantLink(delC1, intake.ObjectActivity, "e3", "watchers", intake.ObjectContact, "c1"),
		wantLink(delC1, intake.ObjectActivity, "e5", "profile_id", intake.ObjectContact, "c1"),
		wantLink(delC1, intake.ObjectActivity, "e5", "watchers", intake.ObjectContact, "c1"),
	}
	requireAuditSet(k, u.wantContacts, k.auditLog(intake.ObjectContact, ""), "contacts' log")
	requireAuditSet(k, u.wantEvents, k.auditLog(intake.ObjectActivity, ""), "activities' log")
	requireAuditSet(k, []sink.AuditEntry{wantAudit(delA2)}, k.auditLog(intake.ObjectAccount, ""), "accounts' log")
	requireAuditSet(k, u.wantEvents[1:3], k.auditLog(intake.ObjectActivity, "e2"), "log of e2")
}

// anonymize with Unlink: the links to c2 go, and so do c2's own.
func (u *unlinkRun) anonymize() {
	k, t := u.k, u.k.t
	anon := unlinkOp(sink.OpAnonymize, linkedContacts, "c2", auditAt(4, "erasure request"))
	require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized}, k.write(anon))
	c2 := k.getIn(linkedContacts, "c2")["c2"]
	require.True(t, c2.Get("email").IsNull())
	u.contactLinks = map[string][][]string{"c2": {nil, nil, nil}, "c3": {nil, nil, nil}, "c6": {l("a1"), nil, nil}}
	u.eventLinks["e2"], u.eventLinks["e3"], u.eventLinks["e5"] = [][]string{nil, nil}, [][]string{nil, nil}, [][]string{nil, nil}
	u.requireLinks(l("c2", "c3", "c6"), l("e1", "e2", "e3", "e4", "e5"), "after the anonymization with Unlink")
	u.wantContacts = append(u.wantContacts, wantAudit(anon),
		wantLink(anon, intake.ObjectContact, "c2", "account_record_id", intake.ObjectAccount, "a1"),
		wantLink(anon, intake.ObjectContact, "c2", "friends", intake.ObjectContact, "c3"))
	u.wantEvents = append(u.wantEvents,
		wantLink(anon, intake.ObjectActivity, "e2", "watchers", intake.ObjectContact, "c2"),
		wantLink(anon, intake.ObjectActivity, "e3", "profile_id", intake.ObjectContact, "c2"),
		wantLink(anon, intake.ObjectActivity, "e5", "watchers", intake.ObjectContact, "c2"))
}

// ownLinkOnly: a record whose only change is its own link is anonymized,
// once.
func (u *unlinkRun) ownLinkOnly() {
	k, t := u.k, u.k.t
	anon6 := unlinkOp(sink.OpAnonymize, linkedContacts, "c6", auditAt(5, "erasure request"))
	require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized}, k.write(anon6))
	again := unlinkOp(sink.OpAnonymize, linkedContacts, "c6", auditAt(6, "erasure request"))
	require.Equal(t, []intake.Outcome{intake.OutcomeUnchanged}, k.write(again))
	require.Equal(t, map[string][][]string{"c6": {nil, nil, nil}}, k.links(linkedContacts, contactFields, "c6"))
	u.wantContacts = append(u.wantContacts, wantAudit(anon6),
		wantLink(anon6, intake.ObjectContact, "c6", "account_record_id", intake.ObjectAccount, "a1"), wantAudit(again))
	requireAuditSet(k, u.wantContacts, k.auditLog(intake.ObjectContact, ""), "contacts' log")
	requireAuditSet(k, u.wantEvents, k.auditLog(intake.ObjectActivity, ""), "activities' log")
}

// foundAsBefore: the records are found by key and counted as before.
func (u *unlinkRun) foundAsBefore() {
	k, t := u.k, u.k.t
	if k.c.lookup {
		require.Equal(t, map[intake.Key][]string{"c4": {"e4"}}, k.lookupIn(events, byProfile, "c1", "c2", "c4"))
		require.Equal(t, map[intake.Key][]string{"c3@example.com": {"c3"}}, k.lookupIn(linkedContacts, byEmail, "c1@example.com", "c3@example.com"))
		require.Equal(t, map[intake.Key][]string{"E2": {"e2"}, "E5": {"e5"}}, k.lookupIn(events, intake.Keys("event_id"), "E2", "E5"))
	}
	if k.c.count {
		require.EqualValues(t, 3, k.count(intake.ObjectContact))
		require.EqualValues(t, 5, k.count(intake.ObjectActivity))
		require.EqualValues(t, 1, k.count(intake.ObjectAccount))
	}
}

// testUnlinkContacts is testUnlink within contacts, for sinks of contacts
// only: links from contacts to contacts (an id field and a multi-select)
// and a contact's own link to an account the sink does not hold.
func testUnlinkContacts(k *kit) {
	t := k.t
	k.ensure(linkedContacts)
	k.write(
		create(linked("c1", "c1@example.com", "acct-1", "")),
		create(linked("c2", "c2@example.com", "acct-1", "c1", "c1", "c3")),
		create(linked("c3", "c3@example.com", "", "c1", "c1")),
		create(linked("c5", "c5@example.com", "", "")),
		create(linked("c7", "c7@example.com", "", "c5", "c5")),
	)
	cf := []string{"account_record_id", "referred_by", "friends"}
	before := map[string][][]string{
		"c2": {l("acct-1"), l("c1"), l("c1", "c3")},
		"c3": {nil, l("c1"), l("c1")},
		"c7": {nil, l("c5"), l("c5")},
	}
	require.Equal(t, before, k.links(linkedContacts, cf, "c2", "c3", "c7"))

	keep := lifecycleOf(sink.OpDelete, linkedContacts, "c5", auditAt(0, "duplicate"))
	k.write(keep)
	require.Equal(t, before, k.links(linkedContacts, cf, "c2", "c3", "c7"), "a delete without Unlink keeps the links to the record")
	want := []sink.AuditEntry{wantAudit(keep)}

	if k.f.AllOrNothing {
		_, err := k.failWrite(unlinkOp(sink.OpDelete, linkedContacts, "c1", auditAt(1, "erasure request")), update(linked("ghost", "", "", "")))
		require.ErrorIs(t, err, sink.ErrNotFound)
		require.Equal(t, before, k.links(linkedContacts, cf, "c2", "c3", "c7"), "a failed batch leaves the links")
		requireAuditSet(k, want, k.auditLog(intake.ObjectContact, ""), "log after a failed batch")
	}

	del := unlinkOp(sink.OpDelete, linkedContacts, "c1", auditAt(2, "erasure request"))
	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted, intake.OutcomeCreated},
		k.write(del, create(linked("c8", "c8@example.com", "", "c1", "c1", "c2"))))
	require.Equal(t, map[string][][]string{
		"c2": {l("acct-1"), nil, l("c3")},
		"c3": {nil, nil, nil},
		"c7": {nil, l("c5"), l("c5")},
		"c8": {nil, nil, l("c2")},
	}, k.links(linkedContacts, cf, "c2", "c3", "c7", "c8"))
	want = append(want, wantAudit(del),
		wantLink(del, intake.ObjectContact, "c2", "referred_by", intake.ObjectContact, "c1"),
		wantLink(del, intake.ObjectContact, "c2", "friends", intake.ObjectContact, "c1"),
		wantLink(del, intake.ObjectContact, "c3", "referred_by", intake.ObjectContact, "c1"),
		wantLink(del, intake.ObjectContact, "c3", "friends", intake.ObjectContact, "c1"),
		wantLink(del, intake.ObjectContact, "c8", "referred_by", intake.ObjectContact, "c1"),
		wantLink(del, intake.ObjectContact, "c8", "friends", intake.ObjectContact, "c1"))

	anon := unlinkOp(sink.OpAnonymize, linkedContacts, "c2", auditAt(3, "erasure request"))
	require.Equal(t, []intake.Outcome{intake.OutcomeAnonymized}, k.write(anon))
	require.Equal(t, map[string][][]string{
		"c2": {nil, nil, nil},
		"c8": {nil, nil, nil},
	}, k.links(linkedContacts, cf, "c2", "c8"))
	require.True(t, k.getIn(linkedContacts, "c2")["c2"].Get("email").IsNull())
	want = append(want, wantAudit(anon),
		wantLink(anon, intake.ObjectContact, "c2", "account_record_id", intake.ObjectAccount, "acct-1"),
		wantLink(anon, intake.ObjectContact, "c2", "friends", intake.ObjectContact, "c3"),
		wantLink(anon, intake.ObjectContact, "c8", "friends", intake.ObjectContact, "c2"))
	requireAuditSet(k, want, k.auditLog(intake.ObjectContact, ""), "log")
	requireAuditSet(k, slices.DeleteFunc(slices.Clone(want), func(a sink.AuditEntry) bool { return a.RecordID != "c2" }),
		k.auditLog(intake.ObjectContact, "c2"), "log of c2")
}

// testUnlinkRefused checks that a sink that applies lifecycle ops and
// implements sink.Unlinker but reports false refuses an op with Unlink
// rather than ignore it. A sink that does not implement sink.Unlinker is
// skipped: the importer never sends it one (a sink written before
// Op.Unlink existed ignores the field).
func testUnlinkRefused(k *kit) {
	t := k.t
	k.ensure(linkedContacts)
	k.write(create(linked("c1", "c1@example.com", "", "")), create(linked("c2", "c2@example.com", "", "c1")))
	for _, kind := range []sink.OpKind{sink.OpDelete, sink.OpAnonymize} {
		_, err := k.failWrite(unlinkOp(kind, linkedContacts, "c1", auditAt(1, "erasure request")))
		var re *sink.RecordError
		require.ErrorAs(t, err, &re, "%s with Unlink", kind)
		require.Equal(t, "c1", re.ID)
	}
	require.Equal(t, "c1", k.getIn(linkedContacts, "c2")["c2"].Get("referred_by").Str())
}

// testSchemaRef checks that the store keeps the Ref of a link field: a
// schema that adds it to a stored field updates it, one without it keeps
// it.
func testSchemaRef(k *kit) {
	t := k.t
	sr := k.s.(sink.SchemaReader)
	plain := intake.MustSchema(intake.ObjectContact, append(contact.Fields(), intake.Field{Name: "account_record_id", Type: intake.TypeID})...)
	ref := intake.MustSchema(intake.ObjectContact, append(contact.Fields(), intake.Field{Name: "account_record_id", Type: intake.TypeID, Ref: intake.ObjectAccount})...)
	other := intake.MustSchema(intake.ObjectContact, append(contact.Fields(), intake.Field{Name: "account_record_id", Type: intake.TypeID, Ref: "organization"})...)
	// Retyped to text, the field is no longer a link: it keeps no Ref.
	text := intake.MustSchema(intake.ObjectContact, append(contact.Fields(), intake.Field{Name: "account_record_id", Type: intake.TypeText})...)
	refOf := func() string {
		t.Helper()
		s, err := sr.Schema(k.ctx(), intake.ObjectContact)
		require.NoError(t, err)
		require.NotNil(t, s)
		i := s.Index("account_record_id")
		require.GreaterOrEqual(t, i, 0)
		return s.Field(i).Ref
	}
	for i, step := range []struct {
		s    *intake.Schema
		want string
	}{{plain, ""}, {ref, intake.ObjectAccount}, {plain, intake.ObjectAccount}, {other, "organization"}, {text, ""}} {
		if e, ok := k.s.(sink.SchemaEnsurer); ok {
			require.NoError(t, e.EnsureSchema(k.ctx(), step.s))
		}
		r := intake.NewRecord(step.s)
		r.ID = "r" + string(rune('0'+i))
		k.write(create(r))
		require.Equal(t, step.want, refOf(), "step %d", i)
	}
}
