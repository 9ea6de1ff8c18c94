package sinktest

import (
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// auditAt returns an audit entry decided at t0 plus sec seconds, with a
// time that has nanoseconds below the microsecond, which sinks drop.
func auditAt(sec int, reason string) *sink.AuditEntry {
	t0 := time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.FixedZone("CEST", 2*3600))
	return &sink.AuditEntry{Time: t0.Add(time.Duration(sec) * time.Second), Reason: reason,
		Actor: "dpo@example.com", Job: "cleanup", RunID: "run-7", Line: 10 + sec}
}

// auditLog reads the audit log and checks its times: to the microsecond,
// which it then sets to the location of want's times for comparison.
func (k *kit) auditLog(object, id string) []sink.AuditEntry {
	k.t.Helper()
	log, err := k.s.(sink.Auditor).AuditLog(k.ctx(), object, id)
	require.NoError(k.t, err)
	for i := range log {
		require.Zero(k.t, log[i].Time.Nanosecond()%1000, "audit times are stored to the microsecond")
	}
	return log
}

// wantAudit is the entry a sink stores for op: its Audit with the record's
// object and id, the op's action and the time cut to the microsecond.
func wantAudit(op *sink.Op) sink.AuditEntry {
	a := *op.Audit
	a.Object, a.RecordID, a.Action = op.Record.Schema.Object(), op.Record.ID, op.Kind.String()
	a.Time = a.Time.Truncate(time.Microsecond)
	return a
}

// requireAudit compares audit entries, times by instant.
func requireAudit(k *kit, want, got []sink.AuditEntry, msg string) {
	k.t.Helper()
	require.Len(k.t, got, len(want), msg)
	for i := range want {
		require.True(k.t, want[i].Time.Equal(got[i].Time), "%s: entry %d: time %v, want %v", msg, i, got[i].Time, want[i].Time)
		g := got[i]
		g.Time = want[i].Time
		require.Equal(k.t, want[i], g, "%s: entry %d", msg, i)
	}
}

func testLifecycle(k *kit) {
	t := k.t
	k.ensure(contact)
	city, ltv := contact.Index("city"), contact.Index("lifetime_value")
	a := person("a", "a@example.com", "Anna", "Alt")
	a.Values[city] = intake.Text("Köln")
	b := person("b", "b@example.com", "Ben", "Bauer")
	b.Values[city] = intake.Text("Bonn")
	b.Values[ltv], _ = intake.DecimalString("12.5")
	b.Values[contact.Index("phone")] = intake.Text("+4930123456")
	b.Values[contact.Index("birthday")] = intake.Date(1980, 5, 6)
	c := person("c", "c@example.com", "Cem", "Can")
	k.write(create(a), create(b), create(c), optOut("b"))
	if k.c.lookup { // the email index exists before the ops
		require.Len(t, k.lookup(byEmail, "a@example.com", "b@example.com", "c@example.com"), 3)
	}

	ops := []*sink.Op{
		lifecycle(sink.OpInactivate, "a", auditAt(0, "left the club")),
		lifecycle(sink.OpAnonymize, "b", auditAt(1, "erasure request")),
		lifecycle(sink.OpDelete, "c", auditAt(2, "duplicate")),
	}
	require.Equal(t, []intake.Outcome{intake.OutcomeInactivated, intake.OutcomeAnonymized, intake.OutcomeDeleted}, k.write(ops...))
	var want []sink.AuditEntry
	for _, op := range ops {
		want = append(want, wantAudit(op))
	}

	got := k.getIn(contact, "a", "b", "c")
	require.Nil(t, got["c"], "a deleted record is not found")
	ra := got["a"]
	require.NotNil(t, ra)
	require.True(t, ra.Inactive, "inactivate sets Inactive")
	require.False(t, ra.OptedOut)
	require.Equal(t, a.Values, ra.Values, "inactivate keeps the values")
	rb := got["b"]
	require.NotNil(t, rb)
	for i := range contact.Len() {
		f := contact.Field(i)
		if f.Personal {
			require.True(t, rb.Values[i].IsNull(), "anonymize nulls personal field %s", f.Name)
		} else {
			require.Equal(t, b.Values[i], rb.Values[i], "anonymize keeps field %s", f.Name)
		}
	}
	require.True(t, rb.OptedOut, "anonymize keeps the flags")
	require.False(t, rb.Inactive)
	if k.c.scan {
		var ids []string
		require.NoError(t, k.s.(sink.Scanner).Scan(k.ctx(), contact, func(r *intake.Record) error {
			ids = append(ids, r.ID)
			if r.ID == "a" {
				require.True(t, r.Inactive, "Scan returns Inactive")
			}
			return nil
		}))
		require.Equal(t, []string{"a", "b"}, ids, "Scan leaves deleted records out")
	}
	if k.c.count {
		require.EqualValues(t, 2, k.count(intake.ObjectContact))
	}
	if k.c.lookup {
		require.Equal(t, map[intake.Key][]string{"a@example.com": {"a"}}, k.lookup(byEmail, "a@example.com", "b@example.com", "c@example.com"),
			"an inactive record is still found; anonymized and deleted ones are not")
		// A spec first used now: its keys come from what is left.
		require.Equal(t, map[intake.Key][]string{key("anna", "alt"): {"a"}},
			k.lookup(intake.Keys("first_name", "last_name"), key("anna", "alt"), key("ben", "bauer"), key("cem", "can")))
		require.Equal(t, map[intake.Key][]string{"bonn": {"b"}, "köln": {"a"}}, k.lookup(intake.Keys("city"), "bonn", "köln"),
			"non-personal keys still find an anonymized record")
	}

	// Again: nothing left to do, but the ops are applied and audited.
	again := []*sink.Op{
		lifecycle(sink.OpInactivate, "a", auditAt(3, "left the club")),
		lifecycle(sink.OpAnonymize, "b", auditAt(4, "erasure request, again")),
	}
	require.Equal(t, []intake.Outcome{intake.OutcomeUnchanged, intake.OutcomeUnchanged}, k.write(again...))
	for _, op := range again {
		want = append(want, wantAudit(op))
	}
	// An update keeps the inactive flag; it can give b new values.
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated, intake.OutcomeUpdated},
		k.write(update(person("a", "", "Anne", "")), update(person("b", "new-b@example.com", "", ""))))
	got = k.getIn(contact, "a", "b")
	require.True(t, got["a"].Inactive, "an update never reactivates")
	require.Equal(t, "Anne", got["a"].Get("first_name").Str())
	require.Equal(t, "new-b@example.com", got["b"].Get("email").Str())

	requireAudit(k, want, k.auditLog(intake.ObjectContact, ""), "whole log")
	requireAudit(k, []sink.AuditEntry{want[0], want[3]}, k.auditLog(intake.ObjectContact, "a"), "log of a")
	requireAudit(k, want[2:3], k.auditLog(intake.ObjectContact, "c"), "the entry of a deleted record stays")
	require.Empty(t, k.auditLog(intake.ObjectContact, "nobody"))
	require.Empty(t, k.auditLog("never_seen", ""))
}

func testLifecycleFailures(k *kit) {
	t := k.t
	k.ensure(contact)
	k.write(create(person("keep", "keep@example.com", "Keep", "")))
	for _, tc := range []struct {
		name  string
		op    *sink.Op
		id    string
		cause error
	}{
		{"inactivate without audit", lifecycle(sink.OpInactivate, "keep", nil), "keep", sink.ErrInvalidOp},
		{"delete without reason", lifecycle(sink.OpDelete, "keep", &sink.AuditEntry{Time: time.Now(), Actor: "x"}), "keep", sink.ErrInvalidOp},
		{"anonymize of another action", lifecycle(sink.OpAnonymize, "keep", &sink.AuditEntry{Time: time.Now(), Reason: "r", Action: "delete"}), "keep", sink.ErrInvalidOp},
		{"inactivate of an unknown id", lifecycle(sink.OpInactivate, "ghost", auditAt(1, "r")), "ghost", sink.ErrNotFound},
		{"delete of an unknown id", lifecycle(sink.OpDelete, "ghost", auditAt(2, "r")), "ghost", sink.ErrNotFound},
		{"anonymize of an unknown id", lifecycle(sink.OpAnonymize, "ghost", auditAt(3, "r")), "ghost", sink.ErrNotFound},
	} {
		ops := []*sink.Op{create(person("n1", "", "", "")), lifecycle(sink.OpDelete, "keep", auditAt(0, "before the failure")), tc.op}
		_, err := k.failWrite(ops...)
		var re *sink.RecordError
		require.ErrorAs(t, err, &re, tc.name)
		require.Equal(t, tc.id, re.ID, tc.name)
		require.Equal(t, tc.op.Record.Line, re.Line, tc.name)
		require.Equal(t, tc.op.Record.Schema.Object(), re.Object, tc.name)
		require.ErrorIs(t, err, tc.cause, tc.name)
		if !k.f.AllOrNothing {
			return // what a sink without transactions kept is its own affair
		}
		require.NotNil(t, k.get("keep"), "%s: a failed batch deletes nothing", tc.name)
		require.Nil(t, k.get("n1"), tc.name)
		require.Empty(t, k.auditLog(intake.ObjectContact, ""), "%s: a failed batch writes no audit entry", tc.name)
	}

	// Ops of one record in one batch: a deleted record is gone for the
	// ops after the delete.
	out := k.write(create(person("x", "x@example.com", "Xe", "")),
		lifecycle(sink.OpInactivate, "x", auditAt(4, "r")),
		lifecycle(sink.OpAnonymize, "x", auditAt(5, "r")),
		update(person("x", "", "", "Young")))
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated, intake.OutcomeInactivated, intake.OutcomeAnonymized, intake.OutcomeUpdated}, out)
	r := k.get("x")
	require.True(t, r.Inactive)
	require.True(t, r.Get("first_name").IsNull())
	require.Equal(t, "Young", r.Get("last_name").Str())
	if k.c.lookup {
		require.Empty(t, k.lookup(byEmail, "x@example.com"))
	}
	_, err := k.failWrite(lifecycle(sink.OpDelete, "x", auditAt(6, "r")), update(person("x", "", "Zed", "")))
	require.ErrorIs(t, err, sink.ErrNotFound, "an update after a delete in one batch finds no record")
	require.Len(t, k.auditLog(intake.ObjectContact, "x"), 2)
	require.Equal(t, []intake.Outcome{intake.OutcomeDeleted}, k.write(lifecycle(sink.OpDelete, "x", auditAt(7, "r"))))
	require.Nil(t, k.get("x"))
	_, err = k.failWrite(lifecycle(sink.OpDelete, "x", auditAt(8, "r")))
	require.ErrorIs(t, err, sink.ErrNotFound, "a deleted record cannot be deleted again")
	log := k.auditLog(intake.ObjectContact, "x")
	require.Len(t, log, 3)
	require.Equal(t, []string{"inactivate", "anonymize", "delete"}, []string{log[0].Action, log[1].Action, log[2].Action})
}

func testInactive(k *kit) {
	t := k.t
	k.ensure(contact)
	on := person("on", "on@example.com", "On", "")
	on.Inactive = true
	both := person("both", "", "Both", "")
	both.Inactive, both.OptedOut = true, true
	k.write(create(on), create(both), create(person("off", "off@example.com", "Off", "")))
	got := k.getIn(contact, "on", "both", "off")
	require.True(t, got["on"].Inactive)
	require.False(t, got["on"].OptedOut)
	require.True(t, got["both"].Inactive)
	require.True(t, got["both"].OptedOut)
	require.False(t, got["off"].Inactive)
	// Updates and opt-outs keep the flag either way.
	up := person("off", "", "Offer", "")
	up.Inactive = true
	k.write(update(up), update(person("on", "", "Only", "")), optOut("on"))
	got = k.getIn(contact, "on", "off")
	require.True(t, got["on"].Inactive)
	require.True(t, got["on"].OptedOut)
	require.False(t, got["off"].Inactive, "an update never changes the inactive flag")
	require.Equal(t, "Offer", got["off"].Get("first_name").Str())
	if k.c.scan {
		flags := map[string]bool{}
		require.NoError(t, k.s.(sink.Scanner).Scan(k.ctx(), contact, func(r *intake.Record) error {
			flags[r.ID] = r.Inactive
			return nil
		}))
		require.Equal(t, map[string]bool{"on": true, "both": true, "off": false}, flags)
	}
}

func testSequencer(k *kit) {
	t := k.t
	ctx := k.ctx()
	seq := k.s.(sink.Sequencer)
	reserve := func(name string, n int64) int64 {
		t.Helper()
		first, err := seq.Reserve(ctx, name, n)
		require.NoError(t, err)
		return first
	}
	require.EqualValues(t, 0, reserve("contact_number", 10), "a sequence starts at 0")
	require.EqualValues(t, 10, reserve("contact_number", 5))
	require.EqualValues(t, 0, reserve("other", 1), "sequences are apart")
	require.EqualValues(t, 15, reserve("contact_number", 1))
	for _, n := range []int64{0, -1} {
		_, err := seq.Reserve(ctx, "contact_number", n)
		require.Error(t, err, "Reserve of %d numbers", n)
	}
	_, err := seq.Reserve(ctx, "", 1)
	require.Error(t, err, "a sequence needs a name")

	// Concurrent reservations never overlap and leave no gap.
	type span struct{ first, n int64 }
	var (
		mu    sync.Mutex
		spans []span
		wg    sync.WaitGroup
	)
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 12 {
				n := int64(1 + (g+i)%7)
				first, err := seq.Reserve(ctx, "contact_number", n)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				spans = append(spans, span{first, n})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.SortFunc(spans, func(a, b span) int { return int(a.first - b.first) })
	next := int64(16)
	for _, s := range spans {
		require.Equal(t, next, s.first, "reservations overlap or leave a gap: %v", spans)
		next += s.n
	}
	require.Equal(t, next, reserve("contact_number", 1))
}

func testKeyOptions(k *kit) {
	t := k.t
	// Contacts with a field for hashed emails (a custom field for sinks
	// of contacts only).
	hashed := intake.MustSchema(intake.ObjectContact, append(contact.Fields(), intake.Field{Name: "email_md5", Type: intake.TypeText})...)
	md5hex := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	mk := func(id, email, digest string) *intake.Record {
		r := intake.NewRecord(hashed)
		r.ID = id
		if email != "" {
			r.Set("email", intake.Text(email))
		}
		if digest != "" {
			r.Set("email_md5", intake.Text(digest))
		}
		return r
	}
	k.ensure(hashed)
	k.write(
		create(mk("1", "J.Doe+news@gmail.com", "")),
		create(mk("2", "jdoe@googlemail.com", "")),
		create(mk("3", "Other@Example.com", "")),
		create(mk("4", "", strings.ToUpper(md5hex("hashed@example.com")))),
	)
	keyOf := func(spec intake.KeySpec, r *intake.Record) intake.Key {
		plan, err := hashed.CompileKey(spec)
		require.NoError(t, err)
		key, _ := plan.Key(r)
		return key
	}
	provider := intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider}
	hash := intake.KeySpec{Fields: []string{"email"}, MD5: true}

	// The exact spec first: its keys are not those of the other specs.
	require.Empty(t, k.lookupIn(hashed, byEmail, "jdoe@gmail.com"))
	pk := keyOf(provider, mk("", "JDoe@GMail.com", ""))
	require.Equal(t, map[intake.Key][]string{pk: {"1", "2"}}, k.lookupIn(hashed, provider, pk, keyOf(provider, mk("", "other@example.com", ""))+"x"),
		"a spec with email provider rules finds the records written before its first use")
	require.Equal(t, map[intake.Key][]string{"j.doe+news@gmail.com": {"1"}}, k.lookupIn(hashed, byEmail, "j.doe+news@gmail.com", "jdoe@gmail.com"),
		"the exact spec is another spec")

	other := keyOf(hash, mk("", "", md5hex("other@example.com")))
	require.Equal(t, intake.Key(md5hex("other@example.com")), other)
	digest := keyOf(hash, mk("", " Hashed@Example.com", ""))
	require.Equal(t, map[intake.Key][]string{other: {"3"}, digest: {"4"}}, k.lookupIn(hashed, hash, other, digest),
		"an MD5 spec finds records by the digest of their email, or by their email_md5")

	// Both are kept current from then on.
	k.write(create(mk("5", "jdoe+other@gmail.com", "")), update(mk("3", "third@example.com", "")))
	require.Equal(t, map[intake.Key][]string{pk: {"1", "2", "5"}}, k.lookupIn(hashed, provider, pk))
	third := intake.Key(md5hex("third@example.com"))
	require.Equal(t, map[intake.Key][]string{third: {"3"}}, k.lookupIn(hashed, hash, other, third))
	require.Equal(t, []string{"5"}, k.lookupIn(hashed, byEmail, "jdoe+other@gmail.com")["jdoe+other@gmail.com"])

	if k.c.lifecycle {
		// Anonymizing erases the digest of a personal field too: an MD5
		// key no longer finds the record by its email_md5.
		anon := &sink.Op{Kind: sink.OpAnonymize, Record: mk("4", "", ""), Audit: auditAt(9, "erasure request")}
		k.write(anon)
		require.Empty(t, k.lookupIn(hashed, hash, digest), "an anonymized record is not found by the digest of its email")
	}
}
