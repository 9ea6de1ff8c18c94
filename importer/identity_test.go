package importer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seed imports data (every row a new record) into s.
func seed(t *testing.T, s store, schema *intake.Schema, data string) {
	t.Helper()
	runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "seed.csv", data), Schema: schema, Action: identity.Create, Identity: importer.NoSync()})
}

// byEmail returns the stored records of schema by email, deleted ones absent.
func byEmail(t *testing.T, s store, schema *intake.Schema) map[string]*intake.Record {
	t.Helper()
	out := map[string]*intake.Record{}
	require.NoError(t, s.Scan(context.Background(), schema, func(r *intake.Record) error {
		k := r.Get("email").String()
		if k == "" {
			k = "city:" + r.Get("city").String()
		}
		out[k] = r.Clone()
		return nil
	}))
	return out
}

// TestMatrixCells runs every cell of the match/no-match matrix on the
// memory and SQLite sinks: a row that matches a stored record and one that
// does not, and checks the counts and what the store holds after.
func TestMatrixCells(t *testing.T) {
	t.Parallel()
	const stored = "email,first_name,city\nknown@example.com,Kim,Paris\n"
	const file = "email,first_name,city\nknown@example.com,Kim,Rome\nnew@example.com,Nia,Oslo\n"
	onMatch := map[identity.OnMatch]intake.Outcome{
		identity.MatchUpdate: intake.OutcomeUpdated, identity.MatchSkip: intake.OutcomeSkipped, identity.MatchOptOut: intake.OutcomeOptedOut,
		identity.MatchInactivate: intake.OutcomeInactivated, identity.MatchDelete: intake.OutcomeDeleted, identity.MatchAnonymize: intake.OutcomeAnonymized,
	}
	onNoMatch := map[identity.OnNoMatch]intake.Outcome{
		identity.NoMatchCreate: intake.OutcomeCreated, identity.NoMatchSkip: intake.OutcomeSkipped, identity.NoMatchReject: intake.OutcomeRejected,
	}
	for om, omOut := range onMatch {
		for nm, nmOut := range onNoMatch {
			for name, s := range stores(t) {
				t.Run(fmt.Sprintf("%s/%s/%s", om, nm, name), func(t *testing.T) {
					t.Parallel()
					schema := intake.ContactSchema()
					seed(t, s, schema, stored)
					mx := identity.Matrix{OnMatch: om, OnNoMatch: nm}
					rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", file), Action: mx, Reason: "customer asked", Actor: "ops@example.com", Name: "matrix"})
					want := map[intake.Outcome]int64{}
					want[omOut]++
					want[nmOut]++
					for o := intake.OutcomeCreated; o < intake.NumOutcomes; o++ {
						assert.Equal(t, want[o], rep.Count(o), "%s", o)
					}
					got := byEmail(t, s, schema)
					known, ok := got["known@example.com"]
					switch om {
					case identity.MatchDelete:
						assert.False(t, ok, "deleted")
					case identity.MatchAnonymize:
						assert.False(t, ok, "the email is personal: erased")
						anon := got["city:Paris"]
						require.NotNil(t, anon, "the record stays, its city (not personal) kept")
						assert.True(t, anon.Get("first_name").IsNull())
					default:
						require.True(t, ok)
						city := map[identity.OnMatch]string{identity.MatchUpdate: "Rome"}[om]
						if city == "" {
							city = "Paris"
						}
						assert.Equal(t, city, known.Get("city").Str())
						assert.Equal(t, om == identity.MatchOptOut, known.OptedOut)
						assert.Equal(t, om == identity.MatchInactivate, known.Inactive)
					}
					_, created := got["new@example.com"]
					assert.Equal(t, nm == identity.NoMatchCreate, created)
					if nm == identity.NoMatchReject {
						require.Len(t, rep.Errors, 1)
						assert.Equal(t, intake.CodeNoMatch, rep.Errors[0].Code)
						assert.Equal(t, 3, rep.Errors[0].Line)
					}
					if mx.Lifecycle() {
						log, err := s.(sink.Auditor).AuditLog(context.Background(), "contact", "")
						require.NoError(t, err)
						require.Len(t, log, 1)
						e := log[0]
						assert.Equal(t, string(om), e.Action)
						assert.Equal(t, "customer asked", e.Reason)
						assert.Equal(t, "ops@example.com", e.Actor)
						assert.Equal(t, "matrix", e.Job)
						assert.Equal(t, 2, e.Line)
						assert.WithinDuration(t, time.Now(), e.Time, time.Minute)
					}
				})
			}
		}
	}
}

func TestLifecycleNeedsAReasonAndAnAuditLog(t *testing.T) {
	t.Parallel()
	mx := identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}
	im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
	require.NoError(t, err)
	_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", "email\na@x.io\n"), Action: mx})
	assert.ErrorContains(t, err, "delete needs a reason")

	im, err = importer.New(importer.Config{Sink: &failingSink{}})
	require.NoError(t, err)
	_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", "email\na@x.io\n"), Action: mx, Reason: "gdpr"})
	assert.ErrorContains(t, err, "audit log")

	_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", "email\na@x.io\n"), Action: identity.Matrix{OnMatch: "merge", OnNoMatch: "create"}})
	assert.ErrorContains(t, err, `unknown on-match choice "merge"`)
}

// TestDuplicatePolicies checks each in-file duplicate policy with each
// action, in one batch and across batches.
func TestDuplicatePolicies(t *testing.T) {
	t.Parallel()
	// a@ is stored (city Paris); b@ is new. Each appears twice; the second
	// row of b@ has an empty city.
	const stored = "email,city,first_name\na@x.io,Paris,Ann\n"
	const file = "email,city,first_name\na@x.io,Rome,\nb@x.io,Oslo,Bo\na@x.io,Lima,\nb@x.io,,Bea\n"
	type want struct {
		created, updated, unchanged, skipped, optedOut, rejected int64
		aCity, bCity                                             string // "" when absent
		bFirst                                                   string
	}
	tests := []struct {
		action intake.Action
		dup    identity.Duplicates
		want   want
	}{
		{intake.ActionAddAndUpdate, identity.DuplicatesDefault, want{1, 3, 0, 0, 0, 0, "Lima", "Oslo", "Bea"}},
		{intake.ActionAddAndUpdate, identity.DuplicatesFirst, want{1, 1, 0, 2, 0, 0, "Rome", "Oslo", "Bo"}},
		{intake.ActionAddAndUpdate, identity.DuplicatesLast, want{1, 3, 0, 0, 0, 0, "Lima", "", "Bea"}},
		{intake.ActionAddAndUpdate, identity.DuplicatesMerge, want{1, 3, 0, 0, 0, 0, "Lima", "Oslo", "Bea"}},
		{intake.ActionAddOnly, identity.DuplicatesDefault, want{1, 0, 0, 1, 0, 2, "Paris", "Oslo", "Bo"}},
		{intake.ActionAddOnly, identity.DuplicatesFirst, want{1, 0, 0, 3, 0, 0, "Paris", "Oslo", "Bo"}},
		{intake.ActionAddOnly, identity.DuplicatesMerge, want{1, 1, 0, 2, 0, 0, "Paris", "Oslo", "Bea"}},
		{intake.ActionAddOnly, identity.DuplicatesLast, want{1, 1, 0, 2, 0, 0, "Paris", "", "Bea"}},
		{intake.ActionUpdateOnly, identity.DuplicatesDefault, want{0, 2, 0, 2, 0, 0, "Lima", "", ""}},
		{intake.ActionUpdateOnly, identity.DuplicatesFirst, want{0, 1, 0, 3, 0, 0, "Rome", "", ""}},
		{intake.ActionOptOut, identity.DuplicatesDefault, want{0, 0, 0, 2, 2, 0, "Paris", "", ""}},
		{intake.ActionOptOut, identity.DuplicatesFirst, want{0, 0, 0, 3, 1, 0, "Paris", "", ""}},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 1000} {
			for name, s := range stores(t) {
				t.Run(fmt.Sprintf("%s/%s/%s/batch%d", tt.action, tt.dup, name, batch), func(t *testing.T) {
					t.Parallel()
					seed(t, s, intake.ContactSchema(), stored)
					rep := runJob(t, importer.Config{Sink: s, BatchSize: batch}, importer.Job{Source: csvSource(t, "f.csv", file), Action: identity.Preset(tt.action), Duplicates: tt.dup})
					got := want{rep.Created, rep.Updated, rep.Unchanged, rep.Skipped, rep.OptedOut, rep.Rejected, "", "", ""}
					recs := byEmail(t, s, intake.ContactSchema())
					if a := recs["a@x.io"]; a != nil {
						got.aCity = a.Get("city").Str()
					}
					if b := recs["b@x.io"]; b != nil {
						got.bCity, got.bFirst = b.Get("city").Str(), b.Get("first_name").Str()
					}
					assert.Equal(t, tt.want, got)
				})
			}
		}
	}
}

// mergeSchema is a contact schema with a timestamp and a tag list.
var mergeSchema = intake.MustSchema("contact",
	intake.Field{Name: "email", Type: intake.TypeEmail, Personal: true},
	intake.Field{Name: "first_name", Type: intake.TypeText, Personal: true},
	intake.Field{Name: "last_name", Type: intake.TypeText, Personal: true},
	intake.Field{Name: "city", Type: intake.TypeText},
	intake.Field{Name: "seen_at", Type: intake.TypeTimestamp},
	intake.Field{Name: "tags", Type: intake.TypeMultiSelect},
)

// TestMergePolicies checks every survivorship rule, as the job default and
// as a per-field override.
func TestMergePolicies(t *testing.T) {
	t.Parallel()
	const stored = "email,first_name,last_name,city,seen_at,tags\na@x.io,Ann,,Paris,2026-05-01T10:00:00Z,vip\n"
	// The row: first_name empty, last_name new, city changed, newer seen_at, a new tag.
	const newer = "email,first_name,last_name,city,seen_at,tags\na@x.io,,Lee,Rome,2026-06-01T10:00:00Z,news\n"
	const older = "email,first_name,last_name,city,seen_at,tags\na@x.io,,Lee,Rome,2026-04-01T10:00:00Z,news\n"
	type fields struct{ first, last, city, seen, tags string }
	tests := []struct {
		name   string
		policy identity.MergePolicy
		file   string
		want   fields
	}{
		{"non_empty", identity.MergePolicy{}, newer, fields{"Ann", "Lee", "Rome", "2026-06-01T10:00:00Z", "news"}},
		{"overwrite", identity.MergePolicy{Default: identity.MergeOverwrite}, newer, fields{"", "Lee", "Rome", "2026-06-01T10:00:00Z", "news"}},
		{"fill_empty", identity.MergePolicy{Default: identity.MergeFillEmpty}, newer, fields{"Ann", "Lee", "Paris", "2026-05-01T10:00:00Z", "vip"}},
		{"newest/newer", identity.MergePolicy{Default: identity.MergeNewest, By: "seen_at"}, newer, fields{"Ann", "Lee", "Rome", "2026-06-01T10:00:00Z", "news"}},
		{"newest/older", identity.MergePolicy{Default: identity.MergeNewest, By: "seen_at"}, older, fields{"Ann", "", "Paris", "2026-05-01T10:00:00Z", "vip"}},
		{"append", identity.MergePolicy{Default: identity.MergeAppend}, newer, fields{"Ann", "Lee", "Rome", "2026-06-01T10:00:00Z", "vip|news"}},
		{"per-field", identity.MergePolicy{Fields: []identity.FieldMerge{
			{Field: "first_name", Rule: identity.MergeOverwrite},
			{Field: "city", Rule: identity.MergeFillEmpty},
			{Field: "tags", Rule: identity.MergeAppend},
			{Field: "last_name", Rule: identity.MergeNewest, By: "seen_at"},
		}}, older, fields{"", "", "Paris", "2026-04-01T10:00:00Z", "vip|news"}},
	}
	for _, tt := range tests {
		for _, dry := range []bool{false, true} {
			for name, s := range stores(t) {
				t.Run(fmt.Sprintf("%s/%s/dry=%v", tt.name, name, dry), func(t *testing.T) {
					t.Parallel()
					seed(t, s, mergeSchema, stored)
					rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", tt.file), Schema: mergeSchema, Merge: tt.policy, DryRun: dry, Explain: 1})
					require.Len(t, rep.Explain, 1)
					if dry {
						// The explanation says what a real run does.
						var changed []string
						for _, c := range rep.Explain[0].Changes {
							changed = append(changed, c.Field+"="+c.New)
						}
						want := []string{}
						for _, f := range []struct{ name, old, new string }{
							{"first_name", "Ann", tt.want.first}, {"last_name", "", tt.want.last}, {"city", "Paris", tt.want.city},
							{"seen_at", "2026-05-01T10:00:00Z", tt.want.seen}, {"tags", "vip", tt.want.tags},
						} {
							if f.old != f.new {
								want = append(want, f.name+"="+f.new)
							}
						}
						assert.ElementsMatch(t, want, changed)
						return
					}
					a := byEmail(t, s, mergeSchema)["a@x.io"]
					require.NotNil(t, a)
					got := fields{a.Get("first_name").Str(), a.Get("last_name").Str(), a.Get("city").Str(), a.Get("seen_at").String(), strings.Join(a.Get("tags").Items(), "|")}
					assert.Equal(t, tt.want, got)
					if got == (fields{"Ann", "", "Paris", "2026-05-01T10:00:00Z", "vip"}) {
						assert.EqualValues(t, 1, rep.Unchanged)
					} else {
						assert.EqualValues(t, 1, rep.Updated)
					}
				})
			}
		}
	}
}

func TestMergePolicyErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		policy identity.MergePolicy
		msg    string
	}{
		{identity.MergePolicy{Default: identity.MergeNewest}, "needs a timestamp field"},
		{identity.MergePolicy{Default: identity.MergeNewest, By: "city"}, "not a timestamp"},
		{identity.MergePolicy{Default: "keep"}, `unknown merge rule "keep"`},
		{identity.MergePolicy{Fields: []identity.FieldMerge{{Field: "shoe", Rule: identity.MergeOverwrite}}}, `"shoe": not a field`},
	} {
		im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
		require.NoError(t, err)
		_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "f.csv", "email\na@x.io\n"), Merge: tt.policy})
		assert.ErrorContains(t, err, tt.msg)
	}
}

// TestConsentGuard: an import never turns an opted-out contact back to
// opted in unless the channel allows it.
func TestConsentGuard(t *testing.T) {
	t.Parallel()
	chans := func(allow, override bool) []identity.Channel {
		return []identity.Channel{{Name: "email", AllowResubscribe: allow, OverrideOnNoChange: override, Source: "fair"}, {Name: "sms"}}
	}
	const first = "email,email consent,sms consent,email consent date\na@x.io,OPTED-OUT,yes,2026-01-02T03:04:05Z\nb@x.io,opted_in,,\n"
	const second = "email,email consent,sms consent\na@x.io,OPTED-IN,no\nb@x.io,opted_in,\n"
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			schema, err := identity.ConsentFields(intake.ContactSchema(), chans(false, false)...)
			require.NoError(t, err)
			rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "a.csv", first), Consent: chans(false, false)})
			require.EqualValues(t, 2, rep.Created)
			got := byEmail(t, s, schema)
			assert.Equal(t, "opted_out", got["a@x.io"].Get("email_consent").String())
			assert.Equal(t, "2026-01-02T03:04:05Z", got["a@x.io"].Get("email_consent_date").String())
			assert.Equal(t, "fair", got["a@x.io"].Get("email_consent_source").String())
			assert.Equal(t, "opted_in", got["a@x.io"].Get("sms_consent").String())
			assert.Equal(t, "import", got["a@x.io"].Get("sms_consent_source").String())
			assert.Equal(t, "opted_in", got["b@x.io"].Get("email_consent").String())
			bDate := got["b@x.io"].Get("email_consent_date").String()
			assert.NotEmpty(t, bDate, "the run's time when the file has no date")

			// The guard: a@ stays opted out on email; sms may opt out.
			rep = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "b.csv", second), Consent: chans(false, false)})
			assert.EqualValues(t, 1, rep.ConsentKept)
			assert.EqualValues(t, 1, rep.Updated, "a@'s sms consent changes")
			assert.EqualValues(t, 1, rep.Unchanged, "b@ was opted in already and the date is kept")
			got = byEmail(t, s, schema)
			assert.Equal(t, "opted_out", got["a@x.io"].Get("email_consent").String())
			assert.Equal(t, "2026-01-02T03:04:05Z", got["a@x.io"].Get("email_consent_date").String())
			assert.Equal(t, "opted_out", got["a@x.io"].Get("sms_consent").String())
			assert.Equal(t, bDate, got["b@x.io"].Get("email_consent_date").String())

			// Override on no change: b@'s date and source are replaced.
			rep = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "b.csv", second), Consent: chans(false, true)})
			assert.EqualValues(t, 1, rep.ConsentKept)
			got = byEmail(t, s, schema)
			assert.Equal(t, "fair", got["b@x.io"].Get("email_consent_source").String())

			// A contact opted out as a whole counts as opted out on email.
			runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "c.csv", "email\nb@x.io\n"), Action: identity.OptOut})
			rep = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "b.csv", "email,email consent\nb@x.io,opted_in\n"), Consent: chans(false, false)})
			assert.EqualValues(t, 1, rep.ConsentKept)

			// Only when the job says so explicitly.
			rep = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "b.csv", second), Consent: chans(true, false)})
			assert.EqualValues(t, 0, rep.ConsentKept)
			got = byEmail(t, s, schema)
			assert.Equal(t, "opted_in", got["a@x.io"].Get("email_consent").String())

			// A value that is no consent status rejects the row.
			rep = runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "d.csv", "email,email consent\nb@x.io,maybe\n"), Consent: chans(false, false)})
			assert.Equal(t, map[intake.Code]int64{intake.CodeInvalidConsent: 1}, rep.Reasons)
		})
	}
}

// TestConsentDefaults: the job's default status, date and source apply to
// rows without them.
func TestConsentDefaults(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ch := []identity.Channel{{Name: "email", Default: identity.ConsentOptedIn, Date: when, Source: "List Import"}}
	s := memory.New(memory.Config{})
	runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "a.csv", "email\na@x.io\n"), Consent: ch})
	schema, err := identity.ConsentFields(intake.ContactSchema(), ch...)
	require.NoError(t, err)
	a := byEmail(t, s, schema)["a@x.io"]
	assert.Equal(t, "opted_in", a.Get("email_consent").String())
	assert.Equal(t, "2026-03-01T09:00:00Z", a.Get("email_consent_date").String())
	assert.Equal(t, "List Import", a.Get("email_consent_source").String())
}

// TestIdentityRules: the first rule with a hit wins; rules that point at
// different records are a conflict; a rule can match on the record id.
func TestIdentityRules(t *testing.T) {
	t.Parallel()
	const stored = "contact_id,email,phone,city\nc1,a@x.io,+4915112345678,Bonn\nc2,b@x.io,,Köln\n"
	const file = "contact_id,email,phone,city\n" +
		"c1,a@x.io,,Rome\n" + // both rules find A
		"c2,a@x.io,,Oslo\n" + // contact_id finds B, email finds A: conflict
		",b@x.io,,Lima\n" + // only email: B
		",,+49 151 12345678,Pisa\n" + // only phone: A
		"c9,new@x.io,,Nice\n" + // nothing: created
		",,,Void\n" // no key at all
	rules := []intake.KeySpec{intake.Keys("contact_id"), intake.Keys("email"), intake.Keys("phone")}
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seed(t, s, intake.ContactSchema(), stored)
			rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", file), Identity: importer.Rules(rules...), MappingOptions: mappingDE(), Explain: 10})
			assert.EqualValues(t, 3, rep.Updated)
			assert.EqualValues(t, 1, rep.Created)
			assert.EqualValues(t, 2, rep.Rejected)
			assert.Equal(t, map[intake.Code]int64{intake.CodeConflict: 1, intake.CodeMissingKey: 1}, rep.Reasons)
			var conflict *intake.RowError
			for _, e := range rep.Errors {
				if e.Code == intake.CodeConflict {
					conflict = e
				}
			}
			require.NotNil(t, conflict)
			assert.Equal(t, 3, conflict.Line)
			assert.Contains(t, conflict.Message, "identity rule contact_id finds record")
			assert.Contains(t, conflict.Message, "rule email finds")
			got := byEmail(t, s, intake.ContactSchema())
			assert.Equal(t, "Pisa", got["a@x.io"].Get("city").Str())
			assert.Equal(t, "Lima", got["b@x.io"].Get("city").Str())
			assert.Len(t, got, 3)
			require.Len(t, rep.Explain, 6)
			assert.Equal(t, "contact_id", rep.Explain[0].Rule)
			assert.Equal(t, "reject", rep.Explain[1].Decision)
			assert.Equal(t, "email", rep.Explain[2].Rule)
			assert.Equal(t, "b@x.io", rep.Explain[2].Key)
			assert.Equal(t, "phone", rep.Explain[3].Rule)

			// Match on the record id (Acoustic's USE_RECIPIENT_ID).
			id := got["b@x.io"].ID
			schema := intake.MustSchema("contact", append(intake.ContactSchema().Fields(), intake.Field{Name: "recipient_id", Type: intake.TypeID})...)
			rep = runJob(t, importer.Config{Sink: s}, importer.Job{
				Source: csvSource(t, "g.csv", "recipient_id,city\n"+id+",Genoa\nno-such-id,Turin\n"), Schema: schema,
				Identity: importer.Rules(intake.KeySpec{Fields: []string{"recipient_id"}, RecordID: true}), Action: identity.UpdateOnly,
			})
			assert.EqualValues(t, 1, rep.Updated)
			assert.EqualValues(t, 1, rep.Skipped)
			assert.Equal(t, "Genoa", byEmail(t, s, intake.ContactSchema())["b@x.io"].Get("city").Str())
		})
	}
}

// TestEveryMatchIsUpdated: a key that matches several records updates all
// of them, and the report says how many records a row touched.
func TestEveryMatchIsUpdated(t *testing.T) {
	t.Parallel()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seed(t, s, intake.ContactSchema(), "email,city\ntwin@x.io,A\ntwin@x.io,B\nsolo@x.io,C\n")
			rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", "email,city\ntwin@x.io,Z\nsolo@x.io,C\n"), Action: identity.UpdateOnly, Explain: 2})
			assert.EqualValues(t, 1, rep.Updated)
			assert.EqualValues(t, 1, rep.Unchanged)
			assert.EqualValues(t, 3, rep.Records)
			assert.Len(t, rep.Explain[0].Records, 2)
			assert.Equal(t, "unchanged", rep.Explain[1].Decision)
			n := 0
			require.NoError(t, s.Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
				if r.Get("email").Str() == "twin@x.io" {
					n++
					assert.Equal(t, "Z", r.Get("city").Str())
				}
				return nil
			}))
			assert.Equal(t, 2, n)
		})
	}
}

// TestMemberships: every imported record joins the job's lists, and a
// column adds its own items; later imports add to what is stored.
func TestMemberships(t *testing.T) {
	t.Parallel()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			job := func(data string, lists ...string) importer.Job {
				return importer.Job{Source: csvSource(t, "f.csv", data), Memberships: []importer.Membership{{Field: "lists", Values: lists}, {Field: "tags"}}}
			}
			mapping := "email,tags\na@x.io,vip;fair\nb@x.io,\n"
			spec := job(mapping, "newsletter")
			rep := runJob(t, importer.Config{Sink: s}, spec)
			assert.EqualValues(t, 2, rep.Created)
			schema := intake.MustSchema("contact", append(intake.ContactSchema().Fields(),
				intake.Field{Name: "lists", Type: intake.TypeMultiSelect}, intake.Field{Name: "tags", Type: intake.TypeMultiSelect})...)
			got := byEmail(t, s, schema)
			assert.Equal(t, []string{"newsletter"}, got["a@x.io"].Get("lists").Items())
			assert.Equal(t, []string{"vip", "fair"}, got["a@x.io"].Get("tags").Items())

			rep = runJob(t, importer.Config{Sink: s}, job("email,tags\na@x.io,fair;new\nb@x.io,\n", "spring-sale", "newsletter"))
			assert.EqualValues(t, 2, rep.Updated)
			got = byEmail(t, s, schema)
			assert.Equal(t, []string{"newsletter", "spring-sale"}, got["a@x.io"].Get("lists").Items())
			assert.Equal(t, []string{"vip", "fair", "new"}, got["a@x.io"].Get("tags").Items())
			assert.Equal(t, []string{"newsletter", "spring-sale"}, got["b@x.io"].Get("lists").Items())

			rep = runJob(t, importer.Config{Sink: s}, job("email\na@x.io\n", "newsletter"))
			assert.EqualValues(t, 1, rep.Unchanged, "already a member")
		})
	}
}

// TestExplainDryRun: a dry run explains its first rows: the decision, the
// rule and key, and the fields that change, old → new.
func TestExplainDryRun(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Config{})
	seed(t, s, intake.ContactSchema(), "email,city\na@x.io,Paris\n")
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{
		Source: csvSource(t, "f.csv", "email,city\na@x.io,Rome\nnew@x.io,Oslo\n,Nowhere\na@x.io,Rome\nz@x.io,Zug\n"),
		DryRun: true, Explain: 4,
	})
	require.Len(t, rep.Explain, 4)
	x := rep.Explain[0]
	assert.Equal(t, "update", x.Decision)
	assert.Equal(t, "email", x.Rule)
	assert.Equal(t, "a@x.io", x.Key)
	require.Len(t, x.Changes, 1)
	assert.Equal(t, importer.Change{Record: x.Records[0], Field: "city", Old: "Paris", New: "Rome"}, x.Changes[0])
	assert.Equal(t, "create", rep.Explain[1].Decision)
	assert.Contains(t, rep.Explain[1].Changes, importer.Change{Field: "city", Old: "", New: "Oslo"})
	assert.Equal(t, "reject", rep.Explain[2].Decision)
	assert.Equal(t, intake.CodeMissingKey, rep.Explain[2].Code)
	assert.Equal(t, "unchanged", rep.Explain[3].Decision, "the earlier row already set Rome")
	assert.EqualValues(t, 1, rep.Updated)
	assert.EqualValues(t, 1, rep.Unchanged)
	assert.EqualValues(t, 2, rep.Created)
}

// TestExplainUpdateOfCreated: a row that updates the record an earlier
// row of the file creates (not stored yet in a real run's batch, kept by a
// dry run) is explained with the fields it changes.
func TestExplainUpdateOfCreated(t *testing.T) {
	t.Parallel()
	for _, dry := range []bool{false, true} {
		for name, s := range stores(t) {
			t.Run(fmt.Sprintf("%s/dry=%v", name, dry), func(t *testing.T) {
				rep := runJob(t, importer.Config{Sink: s}, importer.Job{
					Source: csvSource(t, "f.csv", "email,city\nz@x.io,Zug\nz@x.io,Bern\n"), DryRun: dry, Explain: 2,
				})
				require.Len(t, rep.Explain, 2)
				x := rep.Explain[1]
				assert.Equal(t, "update", x.Decision)
				assert.Equal(t, "the record an earlier row of this file creates", x.Note)
				assert.Equal(t, []importer.Change{{Field: "city", Old: "Zug", New: "Bern"}}, x.Changes)
				assert.EqualValues(t, 1, rep.Created)
				assert.EqualValues(t, 1, rep.Updated)
			})
		}
	}
}

// vanishing is a store whose Get leaves out the records of gone, as if
// another writer deleted them between a run's lookup and its read.
type vanishing struct {
	objectStore
	gone map[string]bool
}

func (v vanishing) Get(ctx context.Context, s *intake.Schema, ids []string) (map[string]*intake.Record, error) {
	got, err := v.objectStore.Get(ctx, s, ids)
	for id := range v.gone {
		delete(got, id)
	}
	return got, err
}

// TestVanishedMatchIsNoMatch: a matched record that the run's read of the
// matched records no longer finds is no match: the row updates the
// matched records still there, or else is a row without a match.
func TestVanishedMatchIsNoMatch(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"memory", "sqlite"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			seed(t, s, intake.ContactSchema(), "email,city\ntwin@x.io,A\ntwin@x.io,B\nsolo@x.io,C\n")
			gone, twinGone := map[string]bool{}, false
			for id, email := range byID(t, s) {
				switch {
				case email == "solo@x.io":
					gone[id] = true
				case email == "twin@x.io" && !twinGone:
					gone[id], twinGone = true, true
				}
			}
			rep := runJob(t, importer.Config{Sink: vanishing{s, gone}}, importer.Job{
				Source: csvSource(t, "f.csv", "email,city\ntwin@x.io,Z\nsolo@x.io,Y\n"), Explain: 2,
			})
			require.Len(t, rep.Explain, 2)
			require.Len(t, rep.Explain[0].Records, 1, "one twin is gone")
			assert.False(t, gone[rep.Explain[0].Records[0]])
			assert.Equal(t, "update", rep.Explain[0].Decision)
			assert.Equal(t, "create", rep.Explain[1].Decision, "solo is gone: no match")
			assert.Equal(t, "email", rep.Explain[1].Rule)
			assert.EqualValues(t, 1, rep.Updated)
			assert.EqualValues(t, 1, rep.Created)
		})
	}
}

// byID returns the emails of the stored contacts by record id.
func byID(t *testing.T, s store) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, s.Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
		out[r.ID] = r.Get("email").Str()
		return nil
	}))
	return out
}

// TestRandomMatricesKeepTheInvariant runs random files through random
// matrices and duplicate policies, and checks that every row is accounted
// for and that no key is stored twice when rows create records.
func TestRandomMatricesKeepTheInvariant(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	oms := []identity.OnMatch{identity.MatchUpdate, identity.MatchSkip, identity.MatchOptOut, identity.MatchInactivate, identity.MatchDelete, identity.MatchAnonymize}
	nms := []identity.OnNoMatch{identity.NoMatchCreate, identity.NoMatchSkip, identity.NoMatchReject}
	dups := []identity.Duplicates{identity.DuplicatesDefault, identity.DuplicatesFirst, identity.DuplicatesLast, identity.DuplicatesMerge}
	for i := range 24 {
		mx := identity.Matrix{OnMatch: oms[rng.IntN(len(oms))], OnNoMatch: nms[rng.IntN(len(nms))]}
		dup := dups[rng.IntN(len(dups))]
		batch := 1 + rng.IntN(7)
		var b strings.Builder
		b.WriteString("email,city\n")
		n := 20 + rng.IntN(40)
		for range n {
			if rng.IntN(10) == 0 {
				b.WriteString(",x\n")
				continue
			}
			fmt.Fprintf(&b, "p%d@x.io,c%d\n", rng.IntN(15), rng.IntN(3))
		}
		for name, s := range stores(t) {
			t.Run(fmt.Sprintf("%d/%s/%s/%s", i, mx, dup, name), func(t *testing.T) {
				t.Parallel()
				seed(t, s, intake.ContactSchema(), "email,city\np1@x.io,c0\np2@x.io,c1\np3@x.io,c2\n")
				rep := runJob(t, importer.Config{Sink: s, BatchSize: batch}, importer.Job{Source: csvSource(t, "f.csv", b.String()), Action: mx, Duplicates: dup, Reason: "test"})
				assert.EqualValues(t, n, rep.Rows)
				count := map[string]int{}
				require.NoError(t, s.Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
					count[r.Get("email").Str()]++
					return nil
				}))
				for email, c := range count {
					if email != "" {
						assert.Equal(t, 1, c, "%s stored %d times", email, c)
					}
				}
			})
		}
	}
}

func mappingDE() mapping.Options { return mapping.Options{DefaultRegion: "DE"} }

// runBoth runs a job on a fresh store seeded with stored, at batch sizes 1
// and 1000 and as a dry run at 1000, and returns the reports and the stores'
// contacts (as "contact_id/email/city" strings, sorted).
func runSizes(t *testing.T, stored string, job func() importer.Job) (reps []*importer.Report, snaps [][]string) {
	t.Helper()
	for _, batch := range []int{1, 1000} {
		s := memory.New(memory.Config{})
		if stored != "" {
			seed(t, s, intake.ContactSchema(), stored)
		}
		j := job()
		reps = append(reps, runJob(t, importer.Config{Sink: s, BatchSize: batch}, j))
		var snap []string
		require.NoError(t, s.Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
			snap = append(snap, r.Get("contact_id").String()+"/"+r.Get("email").String()+"/"+r.Get("city").String())
			return nil
		}))
		slices.Sort(snap)
		snaps = append(snaps, snap)
	}
	return reps, snaps
}

func outcomes(rep *importer.Report) [9]int64 {
	return [9]int64{rep.Created, rep.Updated, rep.Unchanged, rep.Skipped, rep.OptedOut, rep.Rejected, rep.Inactivated, rep.Deleted, rep.Anonymized}
}

// TestRulesAgainstRecordsCreatedInTheRun: conflicts and key changes are
// found whether the record was created in the same batch or an earlier one.
func TestRulesAgainstRecordsCreatedInTheRun(t *testing.T) {
	t.Parallel()
	rules := []intake.KeySpec{intake.Keys("contact_id"), intake.Keys("email")}
	reps, snaps := runSizes(t, "", func() importer.Job {
		return importer.Job{Source: csvSource(t, "f.csv", "contact_id,email\n1,a@x.io\n2,b@x.io\n1,b@x.io\n"), Identity: importer.Rules(rules...)}
	})
	for i, rep := range reps {
		assert.Equal(t, map[intake.Code]int64{intake.CodeConflict: 1}, rep.Reasons, "batch %d", i)
		assert.Equal(t, []string{"1/a@x.io/", "2/b@x.io/"}, snaps[i])
	}
	// A later row changes a key of a record created earlier in the batch.
	reps, snaps = runSizes(t, "", func() importer.Job {
		return importer.Job{Source: csvSource(t, "f.csv", "contact_id,email\n1,a@x.io\n1,b@x.io\n4,b@x.io\n"), Identity: importer.Rules(rules...)}
	})
	assert.Equal(t, outcomes(reps[0]), outcomes(reps[1]))
	assert.Equal(t, snaps[0], snaps[1])
	assert.Len(t, snaps[1], 1)
	// A record-id rule: a created record takes the row's id, and later
	// rows find it by it.
	reps, snaps = runSizes(t, "", func() importer.Job {
		return importer.Job{Source: csvSource(t, "f.csv", "contact_id,city\nzzz,A\nyyy,B\nzzz,C\n"),
			Identity: importer.Rules(intake.KeySpec{Fields: []string{"contact_id"}, RecordID: true}), Action: identity.AddOnly, Duplicates: identity.DuplicatesMerge}
	})
	for i := range reps {
		assert.Equal(t, [9]int64{2, 1}, outcomes(reps[i]), "batch %d", i)
		assert.Equal(t, []string{"yyy//B", "zzz//C"}, snaps[i])
	}
}

// TestLifecycleAcrossBatches: a delete or anonymize followed by rows of the
// same key behaves the same in one batch or several, and the dry run
// counts as the real run.
func TestLifecycleAcrossBatches(t *testing.T) {
	t.Parallel()
	rules := []intake.KeySpec{intake.Keys("contact_id"), intake.Keys("email")}
	reps, snaps := runSizes(t, "contact_id,email\n1,a@x.io\n2,b@x.io\n", func() importer.Job {
		return importer.Job{Source: csvSource(t, "f.csv", "contact_id,email\n1,a@x.io\n1,b@x.io\n"), Identity: importer.Rules(rules...),
			Action: identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}, Reason: "erasure"}
	})
	for i := range reps {
		assert.EqualValues(t, 2, reps[i].Deleted, "batch %d", i)
		assert.Empty(t, snaps[i])
	}
	for _, om := range []identity.OnMatch{identity.MatchAnonymize, identity.MatchInactivate} {
		mx := identity.Matrix{OnMatch: om, OnNoMatch: identity.NoMatchCreate}
		file := "email,city\na@x.io,Rome\na@x.io,Oslo\n"
		reps, snaps := runSizes(t, "email,city\na@x.io,Bonn\n", func() importer.Job {
			return importer.Job{Source: csvSource(t, "f.csv", file), Action: mx, Reason: "request", Duplicates: identity.DuplicatesMerge}
		})
		assert.Equal(t, outcomes(reps[0]), outcomes(reps[1]), "%s", om)
		assert.Equal(t, snaps[0], snaps[1], "%s", om)
		s := memory.New(memory.Config{})
		seed(t, s, intake.ContactSchema(), "email,city\na@x.io,Bonn\n")
		dry := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "f.csv", file), Action: mx, Reason: "request", Duplicates: identity.DuplicatesMerge, DryRun: true})
		assert.Equal(t, outcomes(reps[1]), outcomes(dry), "%s: the dry run counts as the real run", om)
	}
}

// TestLastWinsKeepsMemberships: under "last wins", memberships still append.
func TestLastWinsKeepsMemberships(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Config{})
	job := func(data, list string) importer.Job {
		return importer.Job{Source: csvSource(t, "f.csv", data), Memberships: []importer.Membership{{Field: "lists", Values: []string{list}}}, Duplicates: identity.DuplicatesLast}
	}
	runJob(t, importer.Config{Sink: s}, job("email\na@x.io\n", "vip"))
	runJob(t, importer.Config{Sink: s, BatchSize: 1}, job("email,city\na@x.io,Rome\na@x.io,\n", "news"))
	schema := intake.MustSchema("contact", append(intake.ContactSchema().Fields(), intake.Field{Name: "lists", Type: intake.TypeMultiSelect})...)
	a := byEmail(t, s, schema)["a@x.io"]
	assert.Equal(t, []string{"vip", "news"}, a.Get("lists").Items())
	assert.True(t, a.Get("city").IsNull(), "the last row's empty city wins")
}

// TestMappedConsentFieldIsGuarded: a mapped NAME_consent field is guarded
// even when the job configures no consent channel.
func TestMappedConsentFieldIsGuarded(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Config{})
	schema := intake.MustSchema("contact", append(intake.ContactSchema().Fields(), intake.Field{Name: "email_consent", Type: intake.TypeText})...)
	runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "a.csv", "email,email_consent\na@x.io,opted_out\n"), Schema: schema})
	rep := runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "b.csv", "email,email_consent\na@x.io,opted_in\n"), Schema: schema})
	assert.EqualValues(t, 1, rep.ConsentKept)
	assert.Equal(t, "opted_out", byEmail(t, s, schema)["a@x.io"].Get("email_consent").String())

	bad := intake.MustSchema("contact", append(intake.ContactSchema().Fields(), intake.Field{Name: "email_consent_date", Type: intake.TypeText})...)
	im, err := importer.New(importer.Config{Sink: s})
	require.NoError(t, err)
	_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "c.csv", "email\na@x.io\n"), Schema: bad, Consent: []identity.Channel{{Name: "email"}}})
	assert.ErrorContains(t, err, "want a timestamp")
}

// TestIdentityValue: the constructors of Job.Identity, what they say and
// that they copy what they are given.
func TestIdentityValue(t *testing.T) {
	t.Parallel()
	keys := []intake.KeySpec{intake.Keys("contact_id"), {Fields: []string{"email"}, MD5: true}}
	rules := importer.Rules(keys...)
	keys[0].Fields[0] = "phone" // the caller's slice is not the Identity's
	for _, tc := range []struct {
		id         importer.Identity
		str        string
		zero, none bool
		ifMapped   bool
		keys       int
	}{
		{importer.Identity{}, "default", true, false, false, 0},
		{importer.SyncOn(), "default", true, false, false, 0},
		{importer.Rules(), "default", true, false, false, 0},
		{importer.SyncIfMapped(), "default", true, false, false, 0},
		{importer.SyncOn("email"), "email", false, false, false, 1},
		{importer.SyncOn("first_name", "last_name"), "first_name+last_name", false, false, false, 1},
		{rules, "contact_id, else md5(email)", false, false, false, 2},
		{importer.SyncIfMapped("event_id"), "event_id (when mapped)", false, false, true, 1},
		{importer.NoSync(), "none", false, true, false, 0},
	} {
		assert.Equal(t, tc.str, tc.id.String())
		assert.Equal(t, tc.zero, tc.id.IsZero(), tc.str)
		assert.Equal(t, tc.none, tc.id.None(), tc.str)
		assert.Equal(t, tc.ifMapped, tc.id.IfMapped(), tc.str)
		assert.Len(t, tc.id.Keys(), tc.keys, tc.str)
	}
	got := rules.Keys()
	got[1].Fields[0] = "phone" // nor is the slice Keys returns
	assert.Equal(t, []intake.KeySpec{intake.Keys("contact_id"), {Fields: []string{"email"}, MD5: true}}, rules.Keys())
}

// TestSyncIfMapped: a contact job synced on contact_id when the file has
// it appends every row of a file without it, skips the rows it holds on a
// re-import of a file with it, and needs an action that never changes
// stored records.
func TestSyncIfMapped(t *testing.T) {
	t.Parallel()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := importer.Config{Sink: s}
			job := func(file, data string) importer.Job {
				return importer.Job{Source: csvSource(t, file, data), Action: identity.AddOnly, Identity: importer.SyncIfMapped("contact_id")}
			}
			const without = "email\na@example.com\nb@example.com\n"
			for range 2 {
				rep := runJob(t, cfg, job("without.csv", without))
				assert.Equal(t, int64(2), rep.Created, "no contact_id: every row is new")
			}
			const with = "contact_id,email\nC-1,c@example.com\nC-2,d@example.com\n"
			assert.Equal(t, int64(2), runJob(t, cfg, job("with.csv", with)).Created)
			rep := runJob(t, cfg, job("with.csv", with))
			assert.Equal(t, int64(0), rep.Created)
			assert.Equal(t, int64(2), rep.Skipped)
			assert.Equal(t, int64(2), rep.Reasons[intake.CodeExists])
			n := 0
			require.NoError(t, s.Scan(context.Background(), intake.ContactSchema(), func(*intake.Record) error { n++; return nil }))
			assert.Equal(t, 6, n, "a and b twice, c and d once")

			im, err := importer.New(cfg)
			require.NoError(t, err)
			j := job("without.csv", without)
			j.Action = identity.AddAndUpdate
			_, err = im.Run(context.Background(), j)
			require.ErrorContains(t, err, "SyncIfMapped turns matching off")
		})
	}
}
