package sinktest

import (
	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// The schemas of the tests that write several object types.
var (
	accounts = intake.MustSchema(intake.ObjectAccount,
		intake.Field{Name: "account_id", Type: intake.TypeID},
		intake.Field{Name: "name", Type: intake.TypeText})
	events = intake.MustSchema(intake.ObjectActivity,
		intake.Field{Name: "event_id", Type: intake.TypeID},
		intake.Field{Name: "type", Type: intake.TypeText},
		intake.Field{Name: "profile_id", Type: intake.TypeID, Ref: intake.ObjectContact},
		intake.Field{Name: "watchers", Type: intake.TypeMultiSelect, Ref: intake.ObjectContact})
)

// account returns an account record.
func account(id, key, name string) *intake.Record {
	r := intake.NewRecord(accounts)
	r.ID = id
	if key != "" {
		r.Set("account_id", intake.Text(key))
	}
	if name != "" {
		r.Set("name", intake.Text(name))
	}
	return r
}

// event returns an activity of the contact profile ("" for none), seen by
// the watchers (contact ids).
func event(id, key, typ, profile string, watchers ...string) *intake.Record {
	r := intake.NewRecord(events)
	r.ID = id
	if key != "" {
		r.Set("event_id", intake.Text(key))
	}
	if typ != "" {
		r.Set("type", intake.Text(typ))
	}
	if profile != "" {
		r.Set("profile_id", intake.Text(profile))
	}
	r.Set("watchers", intake.List(watchers...))
	return r
}

// lifecycleOf returns a lifecycle op of kind on the record id of s.
func lifecycleOf(kind sink.OpKind, s *intake.Schema, id string, a *sink.AuditEntry) *sink.Op {
	op := lifecycle(kind, id, a)
	op.Record.Schema, op.Record.Values = s, make([]intake.Value, s.Len())
	return op
}

// ids returns the sorted ids of Scan's records of s.
func (k *kit) scanIDs(s *intake.Schema) []string {
	k.t.Helper()
	var out []string
	require.NoError(k.t, k.s.(sink.Scanner).Scan(k.ctx(), s, func(r *intake.Record) error {
		require.Same(k.t, s, r.Schema)
		out = append(out, r.ID)
		return nil
	}))
	return out
}

// testMixedBatches writes batches whose ops of accounts, contacts and
// activities are interleaved, as a run whose links create stubs writes
// them: outcomes, what each object type holds afterwards, ids shared by
// two object types, a failing batch that applies none of its types, and
// lifecycle ops among the others. Each phase builds on the store the one
// before left.
func testMixedBatches(k *kit) {
	for _, s := range []*intake.Schema{accounts, contact, events} {
		k.ensure(s)
	}
	mixedWrites(k)
	mixedSharedID(k)
	if k.f.AllOrNothing {
		mixedFailedBatch(k)
	}
	if k.c.lifecycle {
		mixedLifecycle(k)
	}
}

// counts requires, when the sink counts, the stored records of each object
// type of want.
func (k *kit) counts(want map[string]int64) {
	k.t.Helper()
	if k.c.count {
		for obj, n := range want {
			require.Equal(k.t, n, k.count(obj), obj)
		}
	}
}

// mixedWrites: creates, updates and opt-outs of three object types,
// interleaved, and what each type holds afterwards.
func mixedWrites(k *kit) {
	t := k.t
	out := k.write(
		create(account("a1", "A1", "Acme")),
		create(person("c1", "c1@example.com", "Cleo", "")),
		create(event("e1", "E1", "visit", "c1")),
		create(account("a2", "A2", "Bolt")),
		create(person("c2", "c2@example.com", "Cem", "")),
		create(event("e2", "E2", "click", "c2", "c1")),
	)
	for i, o := range out {
		require.Equal(t, intake.OutcomeCreated, o, "op %d", i)
	}
	out = k.write(
		update(account("a1", "", "Acme Inc")),
		optOut("c1"),
		create(event("e3", "E3", "mail", "c1")),
		update(event("e1", "", "visit", "")),
		update(person("c2", "", "Cemal", "")),
		create(account("a3", "A3", "Corp")),
		update(account("a3", "", "Corp Ltd")),
		update(account("a2", "", "Bolt")),
		create(person("c3", "c3@example.com", "", "")),
	)
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated, intake.OutcomeOptedOut, intake.OutcomeCreated, intake.OutcomeUnchanged,
		intake.OutcomeUpdated, intake.OutcomeCreated, intake.OutcomeUpdated, intake.OutcomeUnchanged, intake.OutcomeCreated}, out)

	accts := k.getIn(accounts, "a1", "a2", "a3", "c1", "e1")
	require.Len(t, accts, 3, "Get of accounts finds accounts only")
	require.Equal(t, "Acme Inc", accts["a1"].Get("name").Str())
	require.Equal(t, "Corp Ltd", accts["a3"].Get("name").Str())
	require.False(t, accts["a1"].OptedOut)
	people := k.getIn(contact, "c1", "c2", "c3", "a1", "e1")
	require.Len(t, people, 3, "Get of contacts finds contacts only")
	require.True(t, people["c1"].OptedOut)
	require.Equal(t, "Cemal", people["c2"].Get("first_name").Str())
	evs := k.getIn(events, "e1", "e2", "e3", "c1")
	require.Len(t, evs, 3)
	require.Equal(t, "c1", evs["e1"].Get("profile_id").Str())
	require.Equal(t, []string{"c1"}, evs["e2"].Get("watchers").Items())
	require.Equal(t, "mail", evs["e3"].Get("type").Str())
	if k.c.lookup {
		require.Equal(t, map[intake.Key][]string{"A1": {"a1"}, "A3": {"a3"}}, k.lookupIn(accounts, intake.Keys("account_id"), "A1", "A3", "E1"))
		require.Equal(t, map[intake.Key][]string{"E3": {"e3"}}, k.lookupIn(events, intake.Keys("event_id"), "E3", "A1"))
		require.Equal(t, map[intake.Key][]string{"c2@example.com": {"c2"}}, k.lookup(byEmail, "c2@example.com"))
	}
	if k.c.scan {
		require.Equal(t, []string{"a1", "a2", "a3"}, k.scanIDs(accounts))
		require.Equal(t, []string{"c1", "c2", "c3"}, k.scanIDs(contact))
		require.Equal(t, []string{"e1", "e2", "e3"}, k.scanIDs(events))
	}
	k.counts(map[string]int64{intake.ObjectAccount: 3, intake.ObjectContact: 3, intake.ObjectActivity: 3})
}

// mixedSharedID: one id, two object types, in one batch: each op finds its
// own record.
func mixedSharedID(k *kit) {
	t := k.t
	k.write(create(account("x", "AX", "X Corp")), create(person("x", "x@example.com", "Xe", "")))
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated, intake.OutcomeOptedOut, intake.OutcomeUnchanged},
		k.write(update(account("x", "", "X Ltd")), optOut("x"), update(person("x", "", "Xe", ""))))
	require.Equal(t, "X Ltd", k.getIn(accounts, "x")["x"].Get("name").Str())
	require.False(t, k.getIn(accounts, "x")["x"].OptedOut, "the contact's opt-out leaves the account alone")
	require.Equal(t, "Xe", k.get("x").Get("first_name").Str())
	require.True(t, k.get("x").OptedOut)
	k.counts(map[string]int64{intake.ObjectAccount: 4, intake.ObjectContact: 4, intake.ObjectActivity: 3})
}

// mixedFailedBatch: a batch of three object types whose one op fails
// applies none of its ops, of any type.
func mixedFailedBatch(k *kit) {
	t := k.t
	ghost := event("ghost", "", "x", "")
	ghost.Line = 77
	batch := []*sink.Op{
		create(account("a4", "A4", "Dyn")),
		update(person("c2", "", "Changed", "")),
		create(event("e4", "E4", "visit", "c2")),
		update(account("a1", "", "Changed")),
		update(ghost),
		create(person("c4", "", "", "")),
	}
	_, err := k.failWrite(batch...)
	var re *sink.RecordError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "ghost", re.ID)
	require.Equal(t, intake.ObjectActivity, re.Object, "the record error names the failing op's object type")
	require.Equal(t, 77, re.Line)
	require.ErrorIs(t, err, sink.ErrNotFound)
	for _, op := range batch {
		require.Equal(t, intake.OutcomeNone, op.Outcome, "a failed batch sets no outcome")
	}
	require.Empty(t, k.getIn(accounts, "a4"), "a failed batch creates no account")
	require.Empty(t, k.getIn(events, "e4"), "a failed batch creates no activity")
	require.Nil(t, k.get("c4"), "a failed batch creates no contact")
	require.Equal(t, "Cemal", k.get("c2").Get("first_name").Str())
	require.Equal(t, "Acme Inc", k.getIn(accounts, "a1")["a1"].Get("name").Str())
	k.counts(map[string]int64{intake.ObjectAccount: 4, intake.ObjectContact: 4, intake.ObjectActivity: 3})
}

// mixedLifecycle: lifecycle ops of three object types among creates and
// updates, each type's audit log, and the keys of deleted and anonymized
// records.
func mixedLifecycle(k *kit) {
	t := k.t
	ops := []*sink.Op{
		create(account("a5", "A5", "Echo")),
		lifecycle(sink.OpInactivate, "c2", auditAt(0, "left")),
		lifecycleOf(sink.OpDelete, accounts, "a3", auditAt(1, "closed")),
		create(event("e5", "E5", "call", "c2")),
		lifecycle(sink.OpAnonymize, "c1", auditAt(2, "erasure request")),
		update(event("e3", "", "letter", "")),
		lifecycleOf(sink.OpDelete, events, "e2", auditAt(3, "spam")),
	}
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated, intake.OutcomeInactivated, intake.OutcomeDeleted, intake.OutcomeCreated,
		intake.OutcomeAnonymized, intake.OutcomeUpdated, intake.OutcomeDeleted}, k.write(ops...))
	require.Len(t, k.getIn(accounts, "a3", "a5"), 1)
	require.NotNil(t, k.getIn(accounts, "a5")["a5"])
	require.True(t, k.get("c2").Inactive)
	require.True(t, k.get("c1").Get("email").IsNull())
	evs := k.getIn(events, "e2", "e3", "e5")
	require.Len(t, evs, 2)
	require.Equal(t, "letter", evs["e3"].Get("type").Str())
	require.Equal(t, "c2", evs["e5"].Get("profile_id").Str())
	requireAudit(k, []sink.AuditEntry{wantAudit(ops[2])}, k.auditLog(intake.ObjectAccount, ""), "accounts' log")
	requireAudit(k, []sink.AuditEntry{wantAudit(ops[1]), wantAudit(ops[4])}, k.auditLog(intake.ObjectContact, ""), "contacts' log")
	requireAudit(k, []sink.AuditEntry{wantAudit(ops[6])}, k.auditLog(intake.ObjectActivity, ""), "activities' log")
	k.counts(map[string]int64{intake.ObjectAccount: 4, intake.ObjectContact: 4, intake.ObjectActivity: 3})
	if k.c.lookup {
		require.Empty(t, k.lookupIn(accounts, intake.Keys("account_id"), "A3"))
		require.Equal(t, map[intake.Key][]string{"A5": {"a5"}}, k.lookupIn(accounts, intake.Keys("account_id"), "A5"))
		require.Empty(t, k.lookup(byEmail, "c1@example.com"))
	}
}
