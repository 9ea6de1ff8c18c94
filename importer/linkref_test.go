package importer_test

import (
	"context"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeclaredLinkFieldsGetRef: an id field that the job's schema
// declares itself, without a Ref, is a link all the same: the job gives it
// the Ref of its link (or profile link), so the store knows it as one, and
// deleting a target with Job.Unlink remove clears it.
func TestDeclaredLinkFieldsGetRef(t *testing.T) {
	t.Parallel()
	contacts := intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(),
		intake.Field{Name: "account_id", Type: intake.TypeID},
		intake.Field{Name: "account_record_id", Type: intake.TypeID},
		intake.Field{Name: "lists", Type: intake.TypeMultiSelect},
		intake.Field{Name: "list_record_ids", Type: intake.TypeMultiSelect})...)
	events := intake.MustSchema(intake.ObjectActivity, append(intake.ActivitySchema().Fields(),
		intake.Field{Name: "profile_id", Type: intake.TypeID})...)
	for _, name := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newObjectStore(t, name)
			cfg := importer.Config{Sink: s}
			seed(t, s, intake.AccountSchema(), "account_id,name\nA1,Acme\nA2,Bolt\n")
			seed(t, s, listSchema, "name\ngold\nvip\n")
			runJob(t, cfg, importer.Job{Source: csvSource(t, "c.csv", "email,account_id,lists\nann@x.example,A1,gold;vip\nben@x.example,A2,vip\n"),
				Schema: contacts, Links: []importer.Link{
					{Field: "account_id", Object: intake.ObjectAccount},
					{Field: "lists", Object: "list", Schema: listSchema, Key: intake.Keys("name"), Many: true},
				}})
			runJob(t, cfg, importer.Job{Source: csvSource(t, "e.csv", "event_id,email,type\ne1,ann@x.example,visit\n"),
				Schema: events, Profile: &importer.ProfileLink{}})
			stored := storedSchema(t, s, intake.ObjectContact)
			assert.Equal(t, intake.ObjectAccount, stored.Field(stored.Index("account_record_id")).Ref)
			assert.Equal(t, "list", stored.Field(stored.Index("list_record_ids")).Ref)
			storedEvents := storedSchema(t, s, intake.ObjectActivity)
			assert.Equal(t, intake.ObjectContact, storedEvents.Field(storedEvents.Index("profile_id")).Ref)

			del := identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}
			for _, d := range []struct {
				schema *intake.Schema
				key    string
				data   string
			}{
				{intake.AccountSchema(), "account_id", "account_id\nA1\n"},
				{listSchema, "name", "name\nvip\n"},
				{intake.ContactSchema(), "email", "email\nann@x.example\n"},
			} {
				rep := runJob(t, cfg, importer.Job{Source: csvSource(t, "d.csv", d.data), Schema: d.schema, Identity: importer.SyncOn(d.key),
					Action: del, Reason: "cleanup", Unlink: importer.UnlinkRemove})
				require.EqualValues(t, 1, rep.Deleted, d.data)
			}
			people := scanObject(t, s, stored, "email")
			assert.NotContains(t, people, "ann@x.example")
			ben := people["ben@x.example"]
			require.NotNil(t, ben)
			assert.False(t, ben.Get("account_record_id").IsNull(), "ben's account A2 stays")
			assert.True(t, ben.Get("list_record_ids").IsNull(), "the deleted list vip was ben's only one")
			evs := scanObject(t, s, storedEvents, "event_id")
			require.Contains(t, evs, "e1")
			assert.True(t, evs["e1"].Get("profile_id").IsNull(), "the deleted contact's event lost its link")
		})
	}
}

// TestDeclaredLinkFieldsRefused: an id field the job declares with
// another Ref, or of a type that cannot hold a link, is refused before
// any row is read.
func TestDeclaredLinkFieldsRefused(t *testing.T) {
	t.Parallel()
	with := func(fields ...intake.Field) *intake.Schema {
		return intake.MustSchema(intake.ObjectContact, append(intake.ContactSchema().Fields(), fields...)...)
	}
	link := []importer.Link{{Field: "account_id", Object: intake.ObjectAccount}}
	for _, tc := range []struct {
		name    string
		schema  *intake.Schema
		links   []importer.Link
		profile *importer.ProfileLink
		want    string
	}{
		{"another ref", with(intake.Field{Name: "account_record_id", Type: intake.TypeID, Ref: "organization"}), link, nil,
			`link account_id: its id field account_record_id holds links to "organization"`},
		{"text", with(intake.Field{Name: "account_record_id", Type: intake.TypeText}), link, nil,
			"link account_id: its id field account_record_id is of type text"},
		{"many into an id", with(intake.Field{Name: "list_record_ids", Type: intake.TypeID}),
			[]importer.Link{{Field: "lists", Object: "list", Schema: listSchema, Key: intake.Keys("name"), Many: true}}, nil,
			"list_record_ids is of type id, and the record ids of its targets go to a field of type multiselect"},
		{"two links, one field", with(), []importer.Link{link[0], {Field: "lists", Object: "list", Schema: listSchema, Key: intake.Keys("name"), IDField: "account_record_id"}}, nil,
			`link lists: its id field account_record_id holds links to "account"`},
		{"profile", intake.MustSchema(intake.ObjectActivity, append(intake.ActivitySchema().Fields(), intake.Field{Name: "profile_id", Type: intake.TypeID, Ref: intake.ObjectAccount})...),
			nil, &importer.ProfileLink{}, `profile link: its id field profile_id holds links to "account"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			im, err := importer.New(importer.Config{Sink: memory.New(memory.Config{})})
			require.NoError(t, err)
			_, err = im.Run(context.Background(), importer.Job{Source: csvSource(t, "c.csv", "email,account_id,lists\na@x.example,A1,gold\n"),
				Schema: tc.schema, Links: tc.links, Profile: tc.profile})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
