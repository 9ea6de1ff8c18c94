package importer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
)

// TestUnlinkFieldsWithoutRef: a link field that the store holds without a
// Ref (an activity's profile_id) is no link to the stores, so Job.Unlink
// remove leaves it, as its doc says; a run of the import with its profile
// link gives the stored field its Ref, and from then on Unlink removes the
// links it holds, those of the records stored before included.
func TestUnlinkFieldsWithoutRef(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := intake.MustSchema(intake.ObjectActivity, append(intake.ActivitySchema().Fields(),
		intake.Field{Name: "profile_id", Type: intake.TypeID})...)
	for name, s := range objectStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := importer.Config{Sink: s}
			seed(t, s, intake.ContactSchema(), "email\nann@x.example\nben@x.example\n")
			people := scanObject(t, s, intake.ContactSchema(), "email")
			ann, ben := people["ann@x.example"].ID, people["ben@x.example"].ID
			// Activities stored with a profile_id that has no Ref.
			require.NoError(t, s.(sink.SchemaEnsurer).EnsureSchema(ctx, old))
			var ops []*sink.Op
			for i, p := range []string{ann, ben} {
				r := intake.NewRecord(old)
				r.ID = []string{"0190a2b4-0000-7000-8000-0000000000a1", "0190a2b4-0000-7000-8000-0000000000a2"}[i]
				r.Set("event_id", intake.Text([]string{"old-1", "old-2"}[i]))
				r.Set("occurred_at", intake.Timestamp(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
				r.Set("profile_id", intake.Text(p))
				ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: r})
			}
			n, err := s.Write(ctx, ops)
			require.NoError(t, err)
			require.Equal(t, 2, n)

			del := identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}
			remove := func(email string) {
				t.Helper()
				rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "d.csv", "email\n"+email+"\n"),
					Action: del, Reason: "erasure", Unlink: importer.UnlinkRemove})
				require.EqualValues(t, 1, rep.Deleted, email)
			}
			remove("ann@x.example")
			evs := scanObject(t, s, old, "event_id")
			assert.Equal(t, ann, evs["old-1"].Get("profile_id").Str(), "a field without a Ref is no link")

			// The import with the profile link, re-run with no rows.
			rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "e.csv", "event_id,email,type\n"),
				Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}})
			require.Zero(t, rep.Rows)
			stored := storedSchema(t, s, intake.ObjectActivity)
			require.Equal(t, intake.ObjectContact, stored.Field(stored.Index("profile_id")).Ref, "the link import marks the stored field")
			// And with one, a new event of ben's.
			runJob(t, cfg, importer.Job{Source: csvSource(t, "e.csv", "event_id,email,type\nnew-1,ben@x.example,visit\n"),
				Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}})
			evs = scanObject(t, s, stored, "event_id")
			require.Equal(t, ben, evs["new-1"].Get("profile_id").Str())

			remove("ben@x.example")
			evs = scanObject(t, s, stored, "event_id")
			assert.True(t, evs["old-2"].Get("profile_id").IsNull(), "the old event lost its link")
			assert.True(t, evs["new-1"].Get("profile_id").IsNull(), "the new event lost its link")
		})
	}
}
