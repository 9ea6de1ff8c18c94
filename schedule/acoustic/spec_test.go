package acoustic_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule/acoustic"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadAcoustic(t *testing.T, xml string) *acoustic.Map {
	t.Helper()
	a, err := acoustic.Load(strings.NewReader(xml))
	require.NoError(t, err)
	return a
}

// TestJobSpecOptOut: an OPT_OUT map becomes the opt_out action on its
// sync field; run, it opts the listed contacts out and creates none.
func TestJobSpecOptOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec, err := loadAcoustic(t, `<LIST_IMPORT><LIST_INFO><ACTION>OPT_OUT</ACTION><LIST_ID>7</LIST_ID><FILE_TYPE>1</FILE_TYPE></LIST_INFO>
		<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
		<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`).JobSpec()
	require.NoError(t, err)
	assert.Equal(t, intake.ActionOptOut, spec.Action)
	assert.Equal(t, []string{"email"}, spec.Sync)
	assert.Equal(t, "tab", spec.Source.Delimiter)
	out, err := spec.MarshalIndent()
	require.NoError(t, err)
	back, err := importer.ParseJobSpec(out)
	require.NoError(t, err, "the spec saves and reads back: %s", out)
	assert.Equal(t, spec, back)

	mem := memory.New(memory.Config{})
	t.Cleanup(func() { mem.Close() })
	seed(t, mem, intake.ContactSchema(), "email,first_name\nann@x.io,Ann\nbob@x.io,Bob\n")
	job, err := spec.Job(ctx, mem, csvSource(t, "out.tsv", "EMAIL\nann@x.io\nnobody@x.io\n"))
	require.NoError(t, err)
	rep := runJob(t, importer.Config{Sink: mem}, job)
	assert.Equal(t, []int64{0, 1, 1}, []int64{rep.Created, rep.OptedOut, rep.Skipped}, "%+v", rep)
	n, err := mem.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "nothing created")
}

// TestJobSpecKeysConsentAndLists: a key on MD5 digests or the record
// id is a rule; CONSENT is a channel whose columns the mapping fills;
// CONTACT_LISTS are lists.
func TestJobSpecKeysConsentAndLists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec, err := loadAcoustic(t, `<LIST_IMPORT><LIST_INFO><ACTION>ADD_AND_UPDATE</ACTION><LIST_ID>7</LIST_ID><ENCODED_AS_MD5>true</ENCODED_AS_MD5></LIST_INFO>
		<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
		<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`).JobSpec()
	require.NoError(t, err)
	assert.Equal(t, []string{"md5(email)"}, spec.Rules)
	assert.Empty(t, spec.Sync)

	spec, err = loadAcoustic(t, `<LIST_IMPORT><LIST_INFO><ACTION>ADD_AND_UPDATE</ACTION><LIST_ID>7</LIST_ID></LIST_INFO>
		<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
		<CONSENT><CHANNEL>SMS</CHANNEL></CONSENT>
		<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>CONSENT_STATUS_CODE</NAME></COLUMN></MAPPING>
		<CONTACT_LISTS><CONTACT_LIST_ID>289032</CONTACT_LIST_ID></CONTACT_LISTS></LIST_IMPORT>`).JobSpec()
	require.NoError(t, err)
	require.Len(t, spec.Consent, 1)
	assert.Equal(t, "sms", spec.Consent[0].Name)
	assert.Equal(t, []string{"289032"}, spec.Lists)
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { mem.Close() })
	job, err := spec.Job(ctx, mem, csvSource(t, "in.csv", "EMAIL,STATUS\nann@x.io,OPTED-IN\n"))
	require.NoError(t, err)
	rep := runJob(t, importer.Config{Sink: mem}, job)
	assert.Equal(t, int64(1), rep.Created, "%+v", rep)
	recs := contactsByEmail(t, mem)
	require.Contains(t, recs, "ann@x.io")
	assert.Equal(t, "opted_in", recs["ann@x.io"].Get("sms_consent").String(), "the consent column fills the channel")
	assert.Equal(t, "289032", recs["ann@x.io"].Get("lists").String())

	spec, err = loadAcoustic(t, `<LIST_IMPORT><LIST_INFO><ACTION>CREATE</ACTION><LIST_NAME>x</LIST_NAME></LIST_INFO>
		<COLUMNS><COLUMN><NAME>Tier</NAME><TYPE>0</TYPE></COLUMN></COLUMNS>
		<MAPPING><COLUMN><INDEX>1</INDEX><NAME>Tier</NAME></COLUMN></MAPPING></LIST_IMPORT>`).JobSpec()
	require.NoError(t, err)
	assert.NotNil(t, spec.Sync, "CREATE without a key: every row is a new contact")
	assert.Empty(t, spec.Sync)
}
