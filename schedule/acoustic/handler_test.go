package acoustic_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/acoustic"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	store, clock := setup(t)
	dir := t.TempDir()
	for f, data := range map[string]string{"map.xml": updateMap, "contacts.csv": "x", "bad.xml": "<LIST_IMPORT><LIST_INFO><ACTION>UPSERT</ACTION></LIST_INFO></LIST_IMPORT>"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var gotJob schedule.Job
	rec := &recorder{reply: func(_ context.Context, job schedule.Job, _ schedule.Run) (*importer.Report, error) {
		gotJob = job
		return &importer.Report{Status: importer.StatusSucceeded, Counts: importer.Counts{Rows: 4, Created: 3, Rejected: 1}}, nil
	}}
	s := newScheduler(t, store, clock, rec)
	h, err := acoustic.NewHandler(acoustic.HandlerConfig{
		Scheduler: s, Store: store, UploadDir: dir,
		Actor: func(r *http.Request) (string, error) { return r.Header.Get("X-Actor"), nil },
		Authorize: func(_ context.Context, actor string, _ schedule.Permission, _ string) error {
			if actor != "api-user" {
				return errors.New("unknown session")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(who, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		req.Header.Set("X-Actor", who)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	importList := `<Envelope><Body><ImportList><MAP_FILE>map.xml</MAP_FILE><SOURCE_FILE>contacts.csv</SOURCE_FILE><EMAIL>ops@example.com</EMAIL><FILE_ENCODING>ISO-8859-1</FILE_ENCODING></ImportList></Body></Envelope>`
	if code, body := post("intruder", importList); code != http.StatusForbidden || !strings.Contains(body, "<SUCCESS>false</SUCCESS>") {
		t.Fatalf("intruder: %d %s", code, body)
	}
	code, body := post("api-user", importList)
	m := regexp.MustCompile(`<SUCCESS>TRUE</SUCCESS><JOB_ID>([^<]+)</JOB_ID>`).FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("ImportList: %d %s", code, body)
	}
	status := `<Envelope><Body><GetJobStatus><JOB_ID>` + m[1] + `</JOB_ID></GetJobStatus></Body></Envelope>`
	if _, body := post("api-user", status); !strings.Contains(body, "<JOB_STATUS>WAITING</JOB_STATUS>") {
		t.Fatalf("status before the run: %s", body)
	}
	tick(t, s)
	_, body = post("api-user", status)
	for _, w := range []string{"<JOB_STATUS>COMPLETE</JOB_STATUS>", "<NAME>SOURCE_FILE</NAME><VALUE>contacts.csv</VALUE>", "<NAME>TOTAL_ROWS</NAME><VALUE>4</VALUE>", "<NAME>REJECTED</NAME><VALUE>1</VALUE>"} {
		if !strings.Contains(body, w) {
			t.Errorf("status lacks %s: %s", w, body)
		}
	}
	if gotJob.Source.Path != filepath.Join(dir, "contacts.csv") || gotJob.Source.Options["map_file"] != filepath.Join(dir, "map.xml") ||
		gotJob.Spec.Source.Encoding != "ISO-8859-1" || gotJob.Source.Options["notify_email"] != "ops@example.com" || gotJob.Enabled ||
		gotJob.Spec.Action != "update_only" || !slices.Equal(gotJob.Spec.Sync, []string{"email"}) || gotJob.Spec.Mapping == nil {
		t.Fatalf("job %+v", gotJob)
	}
	// The map is checked as the job runs, as in Acoustic: a bad map still
	// gets a JOB_ID, whose status is ERROR with every problem; the runner
	// never sees it.
	code, body = post("api-user", strings.Replace(importList, "map.xml", "bad.xml", 1))
	bad := regexp.MustCompile(`<SUCCESS>TRUE</SUCCESS><JOB_ID>([^<]+)</JOB_ID></RESULT>`).FindStringSubmatch(body)
	require.Equal(t, http.StatusOK, code, body)
	require.NotNil(t, bad, body)
	tick(t, s)
	_, body = post("api-user", strings.Replace(status, m[1], bad[1], 1))
	for _, w := range []string{"<JOB_STATUS>ERROR</JOB_STATUS>", "<NAME>TOTAL_ROWS</NAME><VALUE>0</VALUE>",
		`<NAME>ERROR</NAME><VALUE>MAP_FILE bad.xml: line 1: LIST_INFO/ACTION: &#34;UPSERT&#34; is not an action: use CREATE, ADD_ONLY, UPDATE_ONLY, ADD_AND_UPDATE or OPT_OUT&#xA;line 1: LIST_IMPORT/MAPPING: missing`} {
		assert.Contains(t, body, w)
	}
	rec.mu.Lock()
	assert.Len(t, rec.runs, 1, "the runner never runs a job whose map cannot run")
	rec.mu.Unlock()
	// Warnings of the map are WARNING parameters.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "warn.xml"), []byte(strings.Replace(updateMap, "<LIST_ID>7</LIST_ID>", "<LIST_VISIBILITY>1</LIST_VISIBILITY>", 1)), 0o600))
	_, body = post("api-user", strings.Replace(importList, "map.xml", "warn.xml", 1))
	warnID := regexp.MustCompile(`<JOB_ID>([^<]+)</JOB_ID>`).FindStringSubmatch(body)
	require.NotNil(t, warnID, body)
	_, body = post("api-user", strings.Replace(status, m[1], warnID[1], 1))
	assert.Contains(t, body, `<NAME>WARNING</NAME><VALUE>line 1: LIST_INFO/LIST_ID: missing: Intake imports into the store the job runs against`)
	assert.Contains(t, body, `<NAME>WARNING</NAME><VALUE>line 1: LIST_INFO/LIST_VISIBILITY &#34;1&#34;: no effect`)
	assert.NotContains(t, body, "<PARAMETERS></PARAMETERS>")

	for _, bad := range []struct{ body, want string }{
		{strings.Replace(importList, "contacts.csv", "../etc/passwd", 1), "SOURCE_FILE must name a file in the upload directory"},
		{strings.Replace(importList, "map.xml", "missing.xml", 1), "MAP_FILE missing.xml is not in the upload directory"},
		{strings.Replace(importList, "ISO-8859-1", "UTF-16", 1), "FILE_ENCODING must be UTF-8 or ISO-8859-1"},
		{`<Envelope><Body><GetJobStatus><JOB_ID>nope</JOB_ID></GetJobStatus></Body></Envelope>`, "JOB_ID: run nope"},
		{`<Envelope><Body><RemoveRecipient/></Body></Envelope>`, "unsupported operation"},
		{`not xml`, "not an XML Envelope"},
	} {
		if _, body := post("api-user", bad.body); !strings.Contains(body, bad.want) || !strings.Contains(body, "<SUCCESS>false</SUCCESS>") || strings.Contains(body, "<PARAMETERS>") {
			t.Errorf("%s: %s, want %q", bad.body, body, bad.want)
		}
	}
}

// updateMap is an ImportList map: UPDATE_ONLY on EMAIL.
const updateMap = `<LIST_IMPORT><LIST_INFO><ACTION>UPDATE_ONLY</ACTION><LIST_ID>7</LIST_ID></LIST_INFO>
<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>City</NAME></COLUMN></MAPPING></LIST_IMPORT>`

// TestHandlerOptOutWithTheStandardRunner: an OPT_OUT ImportList through
// the facade and the standard runner opts the listed contacts out and
// creates none, not even for the addresses the store does not hold.
func TestHandlerOptOutWithTheStandardRunner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	uploads := filepath.Join(root, "uploads")
	require.NoError(t, os.MkdirAll(uploads, 0o755))
	for f, data := range map[string]string{
		"optout.xml": `<LIST_IMPORT><LIST_INFO><ACTION>OPT_OUT</ACTION><LIST_ID>7</LIST_ID><FILE_TYPE>2</FILE_TYPE></LIST_INFO>
			<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
			<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`,
		"unsubscribes.txt": "EMAIL\nann@x.io\nnobody@x.io\nzed@x.io\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(uploads, f), []byte(data), 0o600))
	}
	contacts := seedStore(t) // ann@x.io and ben@x.io
	reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: root})
	runner, err := schedule.ImportRunner(schedule.ImportConfig{Registry: reg, Sink: contacts})
	require.NoError(t, err)
	store, clock := setup(t)
	s, err := schedule.New(schedule.Config{Store: store, Runner: runner, Clock: clock, Instance: "test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	h, err := acoustic.NewHandler(acoustic.HandlerConfig{
		Scheduler: s, Store: store, UploadDir: uploads,
		Job:       schedule.Job{Source: schedule.SourceSpec{Connector: "file", Path: "uploads"}},
		Actor:     func(*http.Request) (string, error) { return "api-user", nil },
		Authorize: func(context.Context, string, schedule.Permission, string) error { return nil },
	})
	require.NoError(t, err)
	post := func(body string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(body)))
		return rec.Body.String()
	}
	body := post(`<Envelope><Body><ImportList><MAP_FILE>optout.xml</MAP_FILE><SOURCE_FILE>unsubscribes.txt</SOURCE_FILE></ImportList></Body></Envelope>`)
	m := regexp.MustCompile(`<JOB_ID>([^<]+)</JOB_ID>`).FindStringSubmatch(body)
	require.NotNil(t, m, body)
	tick(t, s)
	status := post(`<Envelope><Body><GetJobStatus><JOB_ID>` + m[1] + `</JOB_ID></GetJobStatus></Body></Envelope>`)
	for _, w := range []string{"<JOB_STATUS>COMPLETE</JOB_STATUS>", "<NAME>TOTAL_ROWS</NAME><VALUE>3</VALUE>",
		"<NAME>CREATED</NAME><VALUE>0</VALUE>", "<NAME>OPTED_OUT</NAME><VALUE>1</VALUE>", "<NAME>SKIPPED</NAME><VALUE>2</VALUE>"} {
		assert.Contains(t, status, w)
	}
	n, err := contacts.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "an OPT_OUT request creates no contact")
	recs := contactsByEmail(t, contacts)
	assert.True(t, recs["ann@x.io"].OptedOut, "ann opted out")
	assert.False(t, recs["ben@x.io"].OptedOut, "ben not listed")

	// A cell its column's TYPE cannot read is left empty; the run counts it.
	require.NoError(t, os.WriteFile(filepath.Join(uploads, "spend.xml"), []byte(`<LIST_IMPORT><LIST_INFO><ACTION>ADD_AND_UPDATE</ACTION><LIST_ID>7</LIST_ID></LIST_INFO>
		<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
		<COLUMNS><COLUMN><NAME>EMAIL</NAME><TYPE>9</TYPE></COLUMN><COLUMN><NAME>Spend</NAME><TYPE>2</TYPE></COLUMN></COLUMNS>
		<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN><COLUMN><INDEX>2</INDEX><NAME>Spend</NAME></COLUMN></MAPPING></LIST_IMPORT>`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(uploads, "spend.csv"), []byte("EMAIL,Spend\nben@x.io,lots\ncid@x.io,12.5\n"), 0o600))
	body = post(`<Envelope><Body><ImportList><MAP_FILE>spend.xml</MAP_FILE><SOURCE_FILE>spend.csv</SOURCE_FILE></ImportList></Body></Envelope>`)
	m = regexp.MustCompile(`<JOB_ID>([^<]+)</JOB_ID>`).FindStringSubmatch(body)
	require.NotNil(t, m, body)
	tick(t, s)
	status = post(`<Envelope><Body><GetJobStatus><JOB_ID>` + m[1] + `</JOB_ID></GetJobStatus></Body></Envelope>`)
	for _, w := range []string{"<JOB_STATUS>COMPLETE</JOB_STATUS>", "<NAME>CREATED</NAME><VALUE>1</VALUE>", "<NAME>UNCHANGED</NAME><VALUE>1</VALUE>",
		"<NAME>REJECTED</NAME><VALUE>0</VALUE>", "<NAME>WARNED</NAME><VALUE>1</VALUE>"} {
		assert.Contains(t, status, w)
	}
}
