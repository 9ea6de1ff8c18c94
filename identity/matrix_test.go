package identity_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecideMatrixCells checks every cell of the match/no-match matrix, with
// and without an earlier row of the same key, under every duplicate policy.
func TestDecideMatrixCells(t *testing.T) {
	t.Parallel()
	matched := &identity.Match{Key: "k", IDs: []string{"r1"}, Rule: 0}
	none := &identity.Match{Key: "k", Rule: -1}
	verdictOf := map[identity.OnMatch]identity.Verdict{
		identity.MatchUpdate: identity.VerdictUpdate, identity.MatchOptOut: identity.VerdictOptOut,
		identity.MatchInactivate: identity.VerdictInactivate, identity.MatchDelete: identity.VerdictDelete, identity.MatchAnonymize: identity.VerdictAnonymize,
	}
	oms := []identity.OnMatch{identity.MatchUpdate, identity.MatchSkip, identity.MatchOptOut, identity.MatchInactivate, identity.MatchDelete, identity.MatchAnonymize}
	nms := []identity.OnNoMatch{identity.NoMatchCreate, identity.NoMatchSkip, identity.NoMatchReject}
	for _, om := range oms {
		for _, nm := range nms {
			mx := identity.Matrix{OnMatch: om, OnNoMatch: nm}
			require.NoError(t, mx.Validate())
			// A first row: the matrix alone decides.
			d := identity.DecideMatrix(mx, identity.DuplicatesDefault, matched, false, false)
			if om == identity.MatchSkip {
				assert.Equal(t, identity.Decision{Verdict: identity.VerdictSkip, Code: intake.CodeExists}, d, "%s matched", mx)
			} else {
				assert.Equal(t, identity.Decision{Verdict: verdictOf[om]}, d, "%s matched", mx)
			}
			d = identity.DecideMatrix(mx, identity.DuplicatesDefault, none, false, false)
			want := map[identity.OnNoMatch]identity.Decision{
				identity.NoMatchCreate: {Verdict: identity.VerdictCreate},
				identity.NoMatchSkip:   {Verdict: identity.VerdictSkip, Code: intake.CodeNoMatch},
				identity.NoMatchReject: {Verdict: identity.VerdictReject, Code: intake.CodeNoMatch},
			}[nm]
			assert.Equal(t, want, d, "%s no match", mx)

			// A later row whose record an earlier row created.
			for _, dup := range []identity.Duplicates{identity.DuplicatesDefault, identity.DuplicatesFirst, identity.DuplicatesLast, identity.DuplicatesMerge} {
				t.Run(fmt.Sprintf("%s/%s", mx, dup), func(t *testing.T) {
					d := identity.DecideMatrix(mx, dup, none, true, true)
					switch {
					case dup == identity.DuplicatesFirst:
						assert.Equal(t, identity.Decision{Verdict: identity.VerdictSkip, Code: intake.CodeDuplicate}, d)
					case dup != identity.DuplicatesDefault, om == identity.MatchUpdate:
						assert.Equal(t, identity.Decision{Verdict: identity.VerdictUpdate}, d)
					default:
						assert.Equal(t, identity.Decision{Verdict: identity.VerdictReject, Code: intake.CodeDuplicate}, d)
					}
					// A later row of a stored record (matched, nothing created).
					d = identity.DecideMatrix(mx, dup, matched, true, false)
					switch {
					case dup == identity.DuplicatesFirst:
						assert.Equal(t, identity.Decision{Verdict: identity.VerdictSkip, Code: intake.CodeDuplicate}, d)
					case om == identity.MatchSkip && dup == identity.DuplicatesDefault:
						assert.Equal(t, identity.Decision{Verdict: identity.VerdictReject, Code: intake.CodeDuplicate}, d)
					case om == identity.MatchSkip:
						assert.Equal(t, identity.Decision{Verdict: identity.VerdictSkip, Code: intake.CodeExists}, d)
					default:
						assert.Equal(t, identity.Decision{Verdict: verdictOf[om]}, d, "applied in order")
					}
				})
			}
		}
	}
	assert.Error(t, identity.Matrix{OnMatch: "merge", OnNoMatch: identity.NoMatchCreate}.Validate())
	assert.Error(t, identity.Matrix{OnMatch: identity.MatchUpdate, OnNoMatch: "update"}.Validate())
	assert.Error(t, identity.Duplicates("second").Validate())
	conflict := &identity.Match{Key: "k", IDs: []string{"r1"}, Conflict: true, ConflictRule: 1, ConflictIDs: []string{"r2"}}
	assert.Equal(t, identity.Decision{Verdict: identity.VerdictReject, Code: intake.CodeConflict}, identity.DecideMatrix(identity.Preset(intake.ActionAddAndUpdate), "", conflict, false, false))
}

// TestPresetsAreTheActions: Decide and DecideMatrix with an action's preset
// agree on every input.
func TestPresetsAreTheActions(t *testing.T) {
	t.Parallel()
	for _, a := range intake.Actions {
		for _, m := range []*identity.Match{{Key: "k", IDs: []string{"r"}}, {Key: "k", Rule: -1}, {NoKey: true}} {
			for _, earlier := range []bool{false, true} {
				want := identity.Decide(a, m, earlier)
				got := identity.DecideMatrix(identity.Preset(a), identity.DuplicatesDefault, m, earlier, earlier && a == intake.ActionAddAndUpdate)
				assert.Equal(t, want, got, "%s %+v %v", a, m, earlier)
			}
		}
	}
}

// TestPresetNames: each action's preset is its named matrix and names it
// back; create and add_only differ by ExpectNew only, which any other
// matrix refuses.
func TestPresetNames(t *testing.T) {
	t.Parallel()
	named := map[intake.Action]identity.Matrix{
		intake.ActionCreate: identity.Create, intake.ActionAddOnly: identity.AddOnly, intake.ActionUpdateOnly: identity.UpdateOnly,
		intake.ActionAddAndUpdate: identity.AddAndUpdate, intake.ActionOptOut: identity.OptOut,
	}
	for _, a := range intake.Actions {
		mx := identity.Preset(a)
		assert.Equal(t, named[a], mx, a)
		assert.Equal(t, a, mx.Action())
		assert.Equal(t, string(a), mx.String())
		assert.NoError(t, mx.Validate(), a)
	}
	assert.Equal(t, identity.AddAndUpdate, identity.Preset(""), "the empty action")
	assert.NotEqual(t, identity.Create, identity.AddOnly)
	assert.Equal(t, identity.AddOnly, identity.Matrix{OnMatch: identity.MatchSkip, OnNoMatch: identity.NoMatchCreate})

	inactivate := identity.Matrix{OnMatch: identity.MatchInactivate, OnNoMatch: identity.NoMatchSkip}
	assert.Equal(t, intake.Action(""), inactivate.Action())
	assert.Equal(t, "on match: inactivate, on no match: skip", inactivate.String())
	assert.Error(t, identity.Matrix{}.Validate(), "the zero matrix chooses nothing")
	err := identity.Matrix{OnMatch: identity.MatchUpdate, OnNoMatch: identity.NoMatchCreate, ExpectNew: true}.Validate()
	assert.ErrorContains(t, err, "ExpectNew marks the create action")
}

// TestRuleMatcher: the first rule with a hit wins; a later rule that finds
// other records makes a conflict; a record-id rule reads records by id.
func TestRuleMatcher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := intake.ContactSchema()
	store := memory.New(memory.Config{})
	require.NoError(t, store.EnsureSchema(ctx, s))
	ids := map[string]string{}
	var ops []*sink.Op
	for i, row := range [][3]string{{"c1", "a@x.io", "+4915112345678"}, {"c2", "b@x.io", ""}} {
		rec := intake.NewRecord(s)
		rec.ID = fmt.Sprintf("r%d", i+1)
		rec.Set("contact_id", intake.Text(row[0]))
		rec.Set("email", intake.Text(row[1]))
		if row[2] != "" {
			rec.Set("phone", intake.Text(row[2]))
		}
		ids[row[0]] = rec.ID
		ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: rec})
	}
	_, err := store.Write(ctx, ops)
	require.NoError(t, err)

	m, err := identity.NewRuleMatcher(s, []intake.KeySpec{intake.Keys("contact_id"), intake.Keys("email"), intake.Keys("phone")}, store)
	require.NoError(t, err)
	rows := [][3]string{{"c1", "a@x.io", ""}, {"c2", "a@x.io", ""}, {"", "b@x.io", ""}, {"", "", "+4915112345678"}, {"c9", "", ""}, {"", "", ""}}
	matches := make([]*identity.Match, len(rows))
	for i, row := range rows {
		rec := intake.NewRecord(s)
		for j, f := range []string{"contact_id", "email", "phone"} {
			if row[j] != "" {
				rec.Set(f, intake.Text(row[j]))
			}
		}
		matches[i] = &identity.Match{}
		m.Key(rec, matches[i])
	}
	require.NoError(t, m.Resolve(ctx, matches))
	assert.Equal(t, []string{"r1"}, matches[0].IDs)
	assert.Equal(t, 0, matches[0].Rule)
	assert.False(t, matches[0].Conflict)
	assert.True(t, matches[1].Conflict)
	assert.Equal(t, []string{"r2"}, matches[1].IDs)
	assert.Equal(t, 1, matches[1].ConflictRule)
	assert.Equal(t, []string{"r1"}, matches[1].ConflictIDs)
	assert.Equal(t, 1, matches[2].Rule)
	assert.Equal(t, 2, matches[3].Rule)
	assert.Equal(t, []string{"r1"}, matches[3].IDs)
	assert.Equal(t, -1, matches[4].Rule)
	assert.Empty(t, matches[4].IDs)
	assert.True(t, matches[5].NoKey)

	byID, err := identity.NewRuleMatcher(s, []intake.KeySpec{{Fields: []string{"contact_id"}, RecordID: true}}, store)
	require.NoError(t, err)
	for _, id := range []string{"r2", "nope"} {
		rec := intake.NewRecord(s)
		rec.Set("contact_id", intake.Text(id))
		mt := &identity.Match{}
		byID.Key(rec, mt)
		require.NoError(t, byID.Resolve(ctx, []*identity.Match{mt}))
		if id == "r2" {
			assert.Equal(t, []string{"r2"}, mt.IDs)
		} else {
			assert.Empty(t, mt.IDs)
		}
	}
	_, err = identity.NewRuleMatcher(s, []intake.KeySpec{intake.Keys("email"), intake.Keys("email")}, store)
	assert.ErrorContains(t, err, "named twice")
	_, err = identity.NewRuleMatcher(s, []intake.KeySpec{intake.Keys("email"), {}}, store)
	assert.ErrorIs(t, err, identity.ErrNoSyncFields)
}

// mergeSchema: two text fields, a timestamp and a list.
var mergeSchema = intake.MustSchema("contact",
	intake.Field{Name: "name", Type: intake.TypeText},
	intake.Field{Name: "city", Type: intake.TypeText},
	intake.Field{Name: "seen_at", Type: intake.TypeTimestamp},
	intake.Field{Name: "tags", Type: intake.TypeMultiSelect},
)

func mergeRec(name, city string, seen time.Time, tags ...string) *intake.Record {
	r := intake.NewRecord(mergeSchema)
	if name != "" {
		r.Set("name", intake.Text(name))
	}
	if city != "" {
		r.Set("city", intake.Text(city))
	}
	if !seen.IsZero() {
		r.Set("seen_at", intake.Timestamp(seen))
	}
	if len(tags) > 0 {
		r.Set("tags", intake.List(tags...))
	}
	return r
}

// TestMergeRules checks each survivorship rule on every combination of a
// stored and an incoming value being empty or not.
func TestMergeRules(t *testing.T) {
	t.Parallel()
	t1, t2 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	all := []bool{true, true, true, true}
	tests := []struct {
		rule        identity.Merge
		stored, in  *intake.Record
		want        *intake.Record
		changed     bool
		needsStored bool
	}{
		{identity.MergeNonEmpty, mergeRec("Ann", "Paris", t1, "a"), mergeRec("", "Rome", time.Time{}, "b"), mergeRec("Ann", "Rome", t1, "b"), true, false},
		{identity.MergeOverwrite, mergeRec("Ann", "Paris", t1, "a"), mergeRec("", "Rome", time.Time{}, "b"), mergeRec("", "Rome", time.Time{}, "b"), true, false},
		{identity.MergeFillEmpty, mergeRec("Ann", "", t1), mergeRec("Bo", "Rome", t2, "b"), mergeRec("Ann", "Rome", t1, "b"), true, true},
		{identity.MergeFillEmpty, mergeRec("Ann", "Paris", t1, "a"), mergeRec("Bo", "Rome", t2, "b"), mergeRec("Ann", "Paris", t1, "a"), false, true},
		{identity.MergeNewest, mergeRec("Ann", "Paris", t1), mergeRec("", "Rome", t2), mergeRec("Ann", "Rome", t2), true, true},
		{identity.MergeNewest, mergeRec("Ann", "Paris", t2), mergeRec("Bo", "Rome", t1), mergeRec("Ann", "Paris", t2), false, true},
		{identity.MergeNewest, mergeRec("Ann", "Paris", time.Time{}), mergeRec("Bo", "", t1), mergeRec("Bo", "Paris", t1), true, true},
		{identity.MergeNewest, mergeRec("Ann", "Paris", t1), mergeRec("Bo", "", time.Time{}), mergeRec("Ann", "Paris", t1), false, true},
		{identity.MergeAppend, mergeRec("Ann", "", t1, "a", "b"), mergeRec("", "Rome", time.Time{}, "b", "c"), mergeRec("Ann", "Rome", t1, "a", "b", "c"), true, true},
		{identity.MergeAppend, mergeRec("Ann", "", t1, "a", "b"), mergeRec("", "", time.Time{}, "b"), mergeRec("Ann", "", t1, "a", "b"), false, true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d/%s", i, tt.rule), func(t *testing.T) {
			m, err := identity.MergePolicy{Default: tt.rule, By: "seen_at"}.Compile(mergeSchema)
			require.NoError(t, err)
			assert.Equal(t, tt.needsStored, m.NeedsStored())
			dst := tt.stored.Clone()
			assert.Equal(t, tt.changed, m.Apply(dst, tt.in, all, nil, true))
			assert.Equal(t, tt.want.Values, dst.Values)
		})
	}
	// Unmapped fields are never touched, even by overwrite.
	m, err := identity.MergePolicy{Default: identity.MergeOverwrite}.Compile(mergeSchema)
	require.NoError(t, err)
	dst := mergeRec("Ann", "Paris", t1)
	m.Apply(dst, mergeRec("", "", time.Time{}), []bool{false, true, false, false}, nil, false)
	assert.Equal(t, mergeRec("Ann", "", t1).Values, dst.Values)
	assert.Equal(t, []int{1}, m.Clears(nil, mergeRec("", "", time.Time{}), []bool{false, true, false, false}))
}

// TestMergeNewestAllocatesNothing: Apply compares By fields without
// allocating (not parallel: AllocsPerRun).
func TestMergeNewestAllocatesNothing(t *testing.T) {
	t1, t2 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	newest, err := identity.MergePolicy{Default: identity.MergeNewest, By: "seen_at"}.Compile(mergeSchema)
	require.NoError(t, err)
	stored, row := mergeRec("Ann", "Paris", t1), mergeRec("Bo", "Rome", t2)
	all := []bool{true, true, true, true}
	assert.Zero(t, testing.AllocsPerRun(100, func() { newest.Apply(stored, row, all, nil, false) }))
	assert.Equal(t, "Rome", stored.Get("city").Str())
}

func TestParseConsent(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]identity.ConsentStatus{
		"OPTED-IN": identity.ConsentOptedIn, "opted_in": identity.ConsentOptedIn, "Yes": identity.ConsentOptedIn, "1": identity.ConsentOptedIn,
		"OPTED-OUT": identity.ConsentOptedOut, "unsubscribed": identity.ConsentOptedOut, "no": identity.ConsentOptedOut,
		"Unknown": identity.ConsentUnknown, " ": "",
		// White space inside counts as a separator: a no-break space (as
		// spreadsheets write), a tab, a space left after a dash.
		"Opted\u00a0In": identity.ConsentOptedIn, "opted\tout": identity.ConsentOptedOut, "- in": identity.ConsentOptedIn,
	} {
		got, ok := identity.ParseConsent(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	_, ok := identity.ParseConsent("maybe")
	assert.False(t, ok)
}

func ExampleDecideMatrix() {
	// An import that may not create records, and one that makes matched
	// records inactive and rejects rows that match nothing.
	m := &identity.Match{Key: "anna@example.de", IDs: []string{"r1"}, Rule: 0}
	none := &identity.Match{Key: "ben@example.de", Rule: -1}
	for _, mx := range []identity.Matrix{
		{OnMatch: identity.MatchUpdate, OnNoMatch: identity.NoMatchSkip},
		{OnMatch: identity.MatchInactivate, OnNoMatch: identity.NoMatchReject},
	} {
		fmt.Printf("%s: %s / %+v\n", mx, identity.DecideMatrix(mx, identity.DuplicatesDefault, m, false, false).Verdict,
			identity.DecideMatrix(mx, identity.DuplicatesDefault, none, false, false))
	}
	// Output:
	// update_only: update / {Verdict:skip Code:no_match}
	// on match: inactivate, on no match: reject: inactivate / {Verdict:reject Code:no_match}
}

func ExampleMergePolicy() {
	s := intake.MustSchema("contact",
		intake.Field{Name: "name", Type: intake.TypeText},
		intake.Field{Name: "city", Type: intake.TypeText},
		intake.Field{Name: "tags", Type: intake.TypeMultiSelect})
	policy := identity.MergePolicy{Fields: []identity.FieldMerge{
		{Field: "city", Rule: identity.MergeFillEmpty},
		{Field: "tags", Rule: identity.MergeAppend},
	}}
	m, err := policy.Compile(s)
	if err != nil {
		panic(err)
	}
	stored := intake.NewRecord(s)
	stored.Set("name", intake.Text("Anna"))
	stored.Set("city", intake.Text("Bonn"))
	stored.Set("tags", intake.List("vip"))
	row := intake.NewRecord(s)
	row.Set("city", intake.Text("Berlin"))
	row.Set("tags", intake.List("fair-2026"))
	changed := m.Apply(stored, row, []bool{true, true, true}, nil, false)
	fmt.Println(changed, stored.Get("name"), stored.Get("city"), stored.Get("tags").Items())
	// Output:
	// true Anna Bonn [vip fair-2026]
}

func TestMatchReject(t *testing.T) {
	t.Parallel()
	mx := identity.Matrix{OnMatch: identity.MatchReject, OnNoMatch: identity.NoMatchCreate}
	require.NoError(t, mx.Validate())
	matched := &identity.Match{IDs: []string{"r1"}}
	none := &identity.Match{}
	require.Equal(t, identity.Decision{Verdict: identity.VerdictReject, Code: intake.CodeExists}, identity.DecideMatrix(mx, identity.DuplicatesDefault, matched, false, false))
	require.Equal(t, identity.Decision{Verdict: identity.VerdictCreate}, identity.DecideMatrix(mx, identity.DuplicatesDefault, none, false, false))
	require.Equal(t, identity.Decision{Verdict: identity.VerdictReject, Code: intake.CodeDuplicate}, identity.DecideMatrix(mx, identity.DuplicatesDefault, none, true, true),
		"a later row of a key the run created is a duplicate")
}

// TestConsentLiftOptOut: an email channel that may re-subscribe turns a
// record opted out as a whole back to opted in only when the Consent may
// lift that opt-out; otherwise the row keeps it and counts as kept.
func TestConsentLiftOptOut(t *testing.T) {
	t.Parallel()
	s, err := identity.ConsentFields(intake.ContactSchema(), identity.Channel{Name: "email"})
	require.NoError(t, err)
	for _, tc := range []struct {
		allow, lift bool
		optedOut    bool
		kept        int
	}{
		{allow: false, lift: true, optedOut: true, kept: 1},
		{allow: true, lift: false, optedOut: true, kept: 1},
		{allow: true, lift: true, optedOut: false, kept: 0},
	} {
		c, err := identity.NewConsent(s, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), identity.Channel{Name: "email", AllowResubscribe: tc.allow})
		require.NoError(t, err)
		c.LiftOptOut = tc.lift
		stored := intake.NewRecord(s)
		stored.OptedOut = true
		row := intake.NewRecord(s)
		row.Set("email_consent", intake.Text("OPTED-IN"))
		changed, kept := c.Apply(stored, row, true)
		assert.Equal(t, tc.optedOut, stored.OptedOut, "%+v", tc)
		assert.Equal(t, tc.kept, kept, "%+v", tc)
		assert.Equal(t, !tc.optedOut, changed, "%+v", tc)
		if !tc.optedOut {
			assert.Equal(t, "opted_in", stored.Get("email_consent").String())
		}
	}
}
