package importer_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storedSchema returns the schema s holds for object.
func storedSchema(t *testing.T, s sink.Sink, object string) *intake.Schema {
	t.Helper()
	sch, err := s.(sink.SchemaReader).Schema(context.Background(), object)
	require.NoError(t, err)
	require.NotNil(t, sch, object)
	return sch
}

// unlinkEntries returns the "unlink" entries of object's audit log as
// "record.field→target" (record and target by the value of a key field
// of theirs, through names) with the reason and line of the op.
func unlinkEntries(t *testing.T, s sink.Sink, object string, names map[string]string) []string {
	t.Helper()
	log, err := s.(sink.Auditor).AuditLog(context.Background(), object, "")
	require.NoError(t, err)
	var out []string
	for _, a := range log {
		if a.Action != sink.ActionUnlink {
			continue
		}
		out = append(out, names[a.RecordID]+"."+a.Field+"→"+a.TargetObject+":"+names[a.TargetID]+
			" ("+a.Reason+", "+a.Actor+", "+a.Job+", "+a.RunID+", line "+string(rune('0'+a.Line))+")")
	}
	return out
}

// TestUnlinkEndToEnd imports accounts, contacts linked to them and
// activities of the contacts, then deletes and anonymizes contacts with
// Job.Unlink remove and keep, on every store.
func TestUnlinkEndToEnd(t *testing.T) {
	t.Parallel()
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			cfg := importer.Config{Sink: s}
			runJob(t, cfg, importer.Job{Source: csvSource(t, "accounts.csv", "account_id,name\nA1,Acme\nA2,Bolt\n"),
				Schema: intake.AccountSchema(), Identity: importer.SyncOn("account_id")})
			rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "contacts.csv", "email,first_name,contact_id,account_id\n"+
				"ann@example.com,Ann,,A1\nben@example.com,Ben,,A1\ncid@example.com,Cid,,A2\ndee@example.com,Dee,,A2\n"+
				"fay@example.com,Fay,,A1\n,,X9,A2\n"),
				Identity: importer.Rules(intake.Keys("email"), intake.Keys("contact_id")),
				Links:    []importer.Link{{Field: "account_id", Object: intake.ObjectAccount}}})
			require.EqualValues(t, 6, rep.Created)
			rep = runJob(t, cfg, importer.Job{Source: csvSource(t, "events.csv", "event_id,email,type\n"+
				"e1,ann@example.com,visit\ne2,ann@example.com,click\ne3,ben@example.com,visit\ne4,cid@example.com,visit\n"+
				"e5,dee@example.com,call\ne6,fay@example.com,mail\n"),
				Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}})
			require.EqualValues(t, 6, rep.Created)

			contacts, accounts, events := storedSchema(t, s, intake.ObjectContact), intake.AccountSchema(), storedSchema(t, s, intake.ObjectActivity)
			require.Equal(t, intake.ObjectAccount, contacts.Field(contacts.Index("account_record_id")).Ref, "the store keeps the link's Ref")
			require.Equal(t, intake.ObjectContact, events.Field(events.Index("profile_id")).Ref)
			// names: record id → email, account_id or event_id.
			names := map[string]string{}
			byKey := map[string]string{} // the other way
			for _, o := range []struct {
				s     *intake.Schema
				field string
			}{{contacts, "email"}, {accounts, "account_id"}, {events, "event_id"}} {
				for key, r := range scanObject(t, s, o.s, o.field) {
					if key == "" {
						key = r.Get("contact_id").String()
					}
					names[r.ID], byKey[key] = key, r.ID
				}
			}
			// links returns each contact's account and each event's
			// profile, by name ("" when empty).
			links := func() map[string]string {
				out := map[string]string{}
				for key, r := range scanObject(t, s, contacts, "email") {
					if key == "" {
						key = r.Get("contact_id").String()
					}
					out[key] = names[r.Get("account_record_id").String()]
				}
				for key, r := range scanObject(t, s, events, "event_id") {
					out[key] = names[r.Get("profile_id").String()]
				}
				return out
			}
			want := map[string]string{
				"ann@example.com": "A1", "ben@example.com": "A1", "cid@example.com": "A2", "dee@example.com": "A2", "fay@example.com": "A1", "X9": "A2",
				"e1": "ann@example.com", "e2": "ann@example.com", "e3": "ben@example.com", "e4": "cid@example.com", "e5": "dee@example.com", "e6": "fay@example.com",
			}
			require.Equal(t, want, links())

			runs := 0 // each run has a RunID of its own (PostgreSQL resumes a run with the same)
			lifecycle := func(om identity.OnMatch, file, data string, unlink importer.Unlink, dry bool, sync ...intake.KeySpec) *importer.Report {
				t.Helper()
				runs++
				mx := identity.Matrix{OnMatch: om, OnNoMatch: identity.NoMatchSkip}
				job := importer.Job{Source: csvSource(t, file, data), Action: mx, Reason: "erasure request", Actor: "dpo@example.com",
					Name: "gdpr", RunID: "run-" + string(rune('a'+runs)), Unlink: unlink, DryRun: dry}
				if len(sync) > 0 {
					job.Identity = importer.Rules(sync[0])
				}
				return runJob(t, cfg, job)
			}

			// get reads the record of key (an email, account_id,
			// event_id or contact_id) through schema.
			get := func(schema *intake.Schema, key string) *intake.Record {
				t.Helper()
				got, err := s.Get(context.Background(), schema, []string{byKey[key]})
				require.NoError(t, err)
				return got[byKey[key]]
			}

			// Keep (the default): a deleted contact's activities keep its
			// id, an anonymized one keeps her account and her activities.
			rep = lifecycle(identity.MatchDelete, "dups.csv", "email\ndee@example.com\n", "", false)
			require.EqualValues(t, 1, rep.Deleted)
			require.Nil(t, get(contacts, "dee@example.com"))
			require.Equal(t, byKey["dee@example.com"], get(events, "e5").Get("profile_id").String(), "keep leaves the link")
			rep = lifecycle(identity.MatchAnonymize, "fay.csv", "email\nfay@example.com\n", importer.UnlinkKeep, false)
			require.EqualValues(t, 1, rep.Anonymized, "%+v", rep)
			fay := get(contacts, "fay@example.com")
			require.True(t, fay.Get("email").IsNull())
			require.Equal(t, byKey["A1"], fay.Get("account_record_id").String(), "keep leaves an anonymized contact's own links")
			require.Equal(t, byKey["fay@example.com"], get(events, "e6").Get("profile_id").String(), "keep leaves the links to an anonymized contact")
			require.Empty(t, unlinkEntries(t, s, intake.ObjectActivity, names))
			require.Empty(t, unlinkEntries(t, s, intake.ObjectContact, names))

			// Remove: a dry run counts as the real run does and changes nothing.
			const gone = "email\nann@example.com\nben@example.com\nzed@example.com\n"
			dry := lifecycle(identity.MatchDelete, "gone.csv", gone, importer.UnlinkRemove, true)
			real := lifecycle(identity.MatchDelete, "gone.csv", gone, importer.UnlinkRemove, false)
			for _, rep := range []*importer.Report{dry, real} {
				assert.EqualValues(t, 2, rep.Deleted)
				assert.EqualValues(t, 1, rep.Skipped)
			}
			for _, e := range []string{"e1", "e2", "e3"} {
				assert.True(t, get(events, e).Get("profile_id").IsNull(), "%s lost its link to the deleted contact", e)
			}
			assert.Equal(t, byKey["cid@example.com"], get(events, "e4").Get("profile_id").String(), "other links stay")
			assert.Equal(t, []string{
				"e1.profile_id→contact:ann@example.com (erasure request, dpo@example.com, gdpr, run-e, line 2)",
				"e2.profile_id→contact:ann@example.com (erasure request, dpo@example.com, gdpr, run-e, line 2)",
				"e3.profile_id→contact:ben@example.com (erasure request, dpo@example.com, gdpr, run-e, line 3)",
			}, sorted(unlinkEntries(t, s, intake.ObjectActivity, names)))

			// Anonymize with remove: cid's own account link goes (the job's
			// schema does not even have the field), and e4's link to her.
			const anon = "email\ncid@example.com\n"
			for _, dry := range []bool{true, false} {
				rep := lifecycle(identity.MatchAnonymize, "anon.csv", anon, importer.UnlinkRemove, dry)
				assert.EqualValues(t, 1, rep.Anonymized, "dry run %v", dry)
			}
			cid := get(contacts, "cid@example.com")
			assert.True(t, cid.Get("account_record_id").IsNull(), "cid's own account link is cleared")
			assert.True(t, cid.Get("email").IsNull())
			assert.Equal(t, "A2", cid.Get("account_id").String(), "the reference as the file gave it is not a link: it stays")
			assert.True(t, get(events, "e4").Get("profile_id").IsNull())
			assert.Equal(t, []string{"cid@example.com.account_record_id→account:A2 (erasure request, dpo@example.com, gdpr, run-g, line 2)"},
				unlinkEntries(t, s, intake.ObjectContact, names))

			// A contact with nothing personal whose one change is its own
			// link: anonymized once, by a dry run as by the real one.
			for i, want := range []intake.Outcome{intake.OutcomeAnonymized, intake.OutcomeAnonymized, intake.OutcomeUnchanged, intake.OutcomeUnchanged} {
				rep := lifecycle(identity.MatchAnonymize, "x9.csv", "contact_id\nX9\n", importer.UnlinkRemove, i%2 == 0, intake.Keys("contact_id"))
				assert.EqualValues(t, 1, rep.Count(want), "run %d (dry run %v): %+v", i, i%2 == 0, rep)
			}
			assert.True(t, get(contacts, "X9").Get("account_record_id").IsNull())
			assert.Equal(t, "Acme", get(accounts, "A1").Get("name").String(), "accounts hold no links to contacts: untouched")
			assert.Equal(t, byKey["A1"], get(contacts, "fay@example.com").Get("account_record_id").String())
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// auditOnly is an audited sink written before Op.Unlink: it does not
// implement sink.Unlinker.
type auditOnly struct{ m *memory.Store }

func (a auditOnly) Write(ctx context.Context, batch []*sink.Op) (int, error) {
	return a.m.Write(ctx, batch)
}

func (a auditOnly) Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	return a.m.Lookup(ctx, s, spec, keys)
}

func (a auditOnly) AuditLog(ctx context.Context, object, id string) ([]sink.AuditEntry, error) {
	return a.m.AuditLog(ctx, object, id)
}

func TestUnlinkJobChecks(t *testing.T) {
	t.Parallel()
	m := memory.New(memory.Config{})
	t.Cleanup(func() { m.Close() })
	del := identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}
	inactivate := identity.Matrix{OnMatch: identity.MatchInactivate, OnNoMatch: identity.NoMatchSkip}
	for _, tc := range []struct {
		name string
		s    sink.Sink
		job  importer.Job
		want string
	}{
		{"unknown value", m, importer.Job{Action: del, Reason: "r", Unlink: "cascade"}, `unknown Job.Unlink "cascade" (want keep or remove)`},
		{"not a delete", m, importer.Job{Action: inactivate, Reason: "r", Unlink: importer.UnlinkRemove}, "does neither"},
		{"an update", m, importer.Job{Unlink: importer.UnlinkRemove}, "does neither"},
		{"a sink that does not unlink", auditOnly{m}, importer.Job{Action: del, Reason: "r", Unlink: importer.UnlinkRemove}, "sink.Unlinker"},
	} {
		im, err := importer.New(importer.Config{Sink: tc.s})
		require.NoError(t, err)
		tc.job.Source = csvSource(t, "f.csv", "email\na@example.com\n")
		_, err = im.Run(context.Background(), tc.job)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	// Keep works on any audited sink.
	im, err := importer.New(importer.Config{Sink: auditOnly{m}})
	require.NoError(t, err)
	_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", "email\na@example.com\n"), Action: del, Reason: "r", Unlink: importer.UnlinkKeep})
	require.NoError(t, err)
}

// TestUnlinkDryRunStoredRefs: a dry run of an anonymization that removes
// links counts a field as a link when the store holds it with a Ref, even
// though the job's schema declares it without one, as the sinks clear it:
// a record whose only change is that link is anonymized in both runs,
// then unchanged in both.
func TestUnlinkDryRunStoredRefs(t *testing.T) {
	t.Parallel()
	// The job's schema has the link field, without its Ref.
	plain := intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(),
		intake.Field{Name: "account_record_id", Type: intake.TypeID})...)
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			cfg := importer.Config{Sink: s}
			seed(t, s, intake.AccountSchema(), "account_id,name\nA1,Acme\n")
			runJob(t, cfg, importer.Job{Source: csvSource(t, "c.csv", "contact_id,account_id\nX9,A1\n"), Identity: importer.SyncOn("contact_id"),
				Links: []importer.Link{{Field: "account_id", Object: intake.ObjectAccount}}})
			stored := storedSchema(t, s, intake.ObjectContact)
			require.Equal(t, intake.ObjectAccount, stored.Field(stored.Index("account_record_id")).Ref)

			anon := identity.Matrix{OnMatch: identity.MatchAnonymize, OnNoMatch: identity.NoMatchSkip}
			for i, want := range []intake.Outcome{intake.OutcomeAnonymized, intake.OutcomeAnonymized, intake.OutcomeUnchanged, intake.OutcomeUnchanged} {
				dry := i%2 == 0
				rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "x9.csv", "contact_id\nX9\n"), Schema: plain, Identity: importer.SyncOn("contact_id"),
					Action: anon, Reason: "erasure", Unlink: importer.UnlinkRemove, DryRun: dry, RunID: fmt.Sprintf("run-%d", i)})
				assert.EqualValues(t, 1, rep.Count(want), "run %d (dry run %v): %+v", i, dry, rep)
			}
			x9 := scanObject(t, s, stored, "contact_id")["X9"]
			require.NotNil(t, x9)
			assert.True(t, x9.Get("account_record_id").IsNull())
		})
	}
}
