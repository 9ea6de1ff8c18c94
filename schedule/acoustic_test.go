package schedule_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
)

func TestAcousticFacade(t *testing.T) {
	t.Parallel()
	store, clock := setup(t, sqliteBackend())
	dir := t.TempDir()
	for _, f := range []string{"map.xml", "contacts.csv"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var gotJob schedule.Job
	rec := &recorder{reply: func(_ context.Context, job schedule.Job, _ schedule.Run) (*importer.Report, error) {
		gotJob = job
		return &importer.Report{Status: importer.StatusSucceeded, Rows: 4, Created: 3, Rejected: 1}, nil
	}}
	s := newScheduler(t, store, clock, rec, nil)
	h, err := schedule.NewAcousticHandler(schedule.AcousticConfig{
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
		gotJob.Spec.Source.Encoding != "ISO-8859-1" || gotJob.Source.Options["notify_email"] != "ops@example.com" || gotJob.Enabled {
		t.Fatalf("job %+v", gotJob)
	}
	for _, bad := range []struct{ body, want string }{
		{strings.Replace(importList, "contacts.csv", "../etc/passwd", 1), "SOURCE_FILE must name a file in the upload directory"},
		{strings.Replace(importList, "map.xml", "missing.xml", 1), "MAP_FILE missing.xml is not in the upload directory"},
		{strings.Replace(importList, "ISO-8859-1", "UTF-16", 1), "FILE_ENCODING must be UTF-8 or ISO-8859-1"},
		{`<Envelope><Body><GetJobStatus><JOB_ID>nope</JOB_ID></GetJobStatus></Body></Envelope>`, "JOB_ID: run nope"},
		{`<Envelope><Body><RemoveRecipient/></Body></Envelope>`, "unsupported operation"},
		{`not xml`, "not an XML Envelope"},
	} {
		if _, body := post("api-user", bad.body); !strings.Contains(body, bad.want) || !strings.Contains(body, "<SUCCESS>false</SUCCESS>") {
			t.Errorf("%s: %s, want %q", bad.body, body, bad.want)
		}
	}
}
