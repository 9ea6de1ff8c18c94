package acoustic_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/acoustic"
)

func ExampleLoad() {
	const xmlMap = `<LIST_IMPORT>
  <LIST_INFO>
    <ACTION>ADD_AND_UPDATE</ACTION>
    <LIST_ID>85628</LIST_ID>
    <FILE_TYPE>1</FILE_TYPE>
    <HASHEADERS>true</HASHEADERS>
    <LIST_DATE_FORMAT>dd.mm.yyyy</LIST_DATE_FORMAT>
  </LIST_INFO>
  <SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
  <COLUMNS>
    <COLUMN><NAME>Birthday</NAME><TYPE>3</TYPE></COLUMN>
    <COLUMN><NAME>Loyalty Tier</NAME><TYPE>6</TYPE>
      <SELECTION_VALUES><VALUE>Gold</VALUE><VALUE>Silver</VALUE></SELECTION_VALUES></COLUMN>
  </COLUMNS>
  <MAPPING>
    <COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN>
    <COLUMN><INDEX>2</INDEX><NAME>Birthday</NAME></COLUMN>
    <COLUMN><INDEX>3</INDEX><NAME>Loyalty Tier</NAME></COLUMN>
    <COLUMN><INDEX>4</INDEX><NAME>Notes</NAME><INCLUDE>false</INCLUDE></COLUMN>
  </MAPPING>
</LIST_IMPORT>`
	job, err := acoustic.Load(strings.NewReader(xmlMap))
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := job.MappingSpec(intake.ContactSchema())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(job.Action, job.Rules()[0].Name(), job.DelimiterName(), job.HasHeaders)
	for _, w := range job.Warnings {
		fmt.Println("warning:", w)
	}
	for _, c := range spec.Columns {
		fmt.Printf("#%d field=%s format=%s skip=%v invalid=%s\n", c.Index, c.Field, c.Format, c.Skip, c.Invalid)
	}
	for _, f := range spec.Fields {
		fmt.Println(f.Name, f.Type, f.Options, f.Label)
	}

	_, err = acoustic.Load(strings.NewReader(strings.Replace(xmlMap, "<NAME>Birthday</NAME></COLUMN>\n    <COLUMN><INDEX>3", "<NAME>birthday</NAME></COLUMN>\n    <COLUMN><INDEX>2", 1)))
	fmt.Println(err)
	// Output:
	// add_and_update email tab true
	// #1 field=email format= skip=false invalid=
	// #2 field=birthday format=dd.MM.yyyy skip=false invalid=empty
	// #3 field=loyalty_tier format= skip=false invalid=empty
	// #4 field= format= skip=true invalid=
	// loyalty_tier select [Gold Silver] Loyalty Tier
	// acoustic: line 17: MAPPING/COLUMN "birthday"/NAME: "birthday" matches no COLUMNS/COLUMN NAME and no system name (names are case-sensitive: the column is "Birthday")
	// acoustic: line 18: MAPPING/COLUMN "Loyalty Tier"/INDEX: column 2 is mapped twice (also to "birthday" on line 17)
}

// JobSpec makes a map a job spec, which runs like any other.
func ExampleMap_JobSpec() {
	m, err := acoustic.Load(strings.NewReader(`<LIST_IMPORT>
  <LIST_INFO><ACTION>OPT_OUT</ACTION><LIST_ID>7</LIST_ID><FILE_TYPE>2</FILE_TYPE></LIST_INFO>
  <SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
  <MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING>
</LIST_IMPORT>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := m.JobSpec()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Object, spec.Action, spec.Sync, spec.Source.Delimiter)
	// Output:
	// contact opt_out [email] pipe
}

// NewHandler answers Acoustic's XML API: an ImportList request saves a job
// of the map and queues a run of it, whose id GetJobStatus takes.
func ExampleNewHandler() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "intake-acoustic")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	uploads := filepath.Join(dir, "uploads")
	if err := os.Mkdir(uploads, 0o755); err != nil {
		log.Fatal(err)
	}
	for name, data := range map[string]string{
		"map.xml": `<LIST_IMPORT><LIST_INFO><ACTION>ADD_AND_UPDATE</ACTION><LIST_ID>7</LIST_ID></LIST_INFO>
			<SYNC_FIELDS><SYNC_FIELD><NAME>EMAIL</NAME></SYNC_FIELD></SYNC_FIELDS>
			<MAPPING><COLUMN><INDEX>1</INDEX><NAME>EMAIL</NAME></COLUMN></MAPPING></LIST_IMPORT>`,
		"contacts.csv": "EMAIL\nann@example.com\n",
	} {
		if err := os.WriteFile(filepath.Join(uploads, name), []byte(data), 0o600); err != nil {
			log.Fatal(err)
		}
	}
	jobs, err := schedule.OpenSQLite(ctx, filepath.Join(dir, "jobs.db"), schedule.StoreConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer jobs.Close()
	s, err := schedule.New(schedule.Config{Store: jobs, Runner: func(context.Context, schedule.Job, schedule.Run) (*importer.Report, error) {
		return &importer.Report{Status: importer.StatusSucceeded}, nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Stop(ctx)

	h, err := acoustic.NewHandler(acoustic.HandlerConfig{
		Scheduler: s, Store: jobs, UploadDir: uploads,
		Actor:     func(*http.Request) (string, error) { return "crm-api", nil },
		Authorize: func(context.Context, string, schedule.Permission, string) error { return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	post := func(body string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(body)))
		return rec.Body.String()
	}
	answer := post(`<Envelope><Body><ImportList><MAP_FILE>map.xml</MAP_FILE><SOURCE_FILE>contacts.csv</SOURCE_FILE></ImportList></Body></Envelope>`)
	id := regexp.MustCompile(`<JOB_ID>([^<]+)</JOB_ID>`).FindStringSubmatch(answer)[1]
	status := post(`<Envelope><Body><GetJobStatus><JOB_ID>` + id + `</JOB_ID></GetJobStatus></Body></Envelope>`)
	fmt.Println(regexp.MustCompile(`<JOB_STATUS>[A-Z]+</JOB_STATUS>`).FindString(status))
	fault := post(`<Envelope><Body><ImportList><MAP_FILE>../map.xml</MAP_FILE><SOURCE_FILE>contacts.csv</SOURCE_FILE></ImportList></Body></Envelope>`)
	fmt.Println(regexp.MustCompile(`<SUCCESS>.*</SUCCESS>|<FaultString>.*</FaultString>`).FindAllString(fault, -1))
	// Output:
	// <JOB_STATUS>WAITING</JOB_STATUS>
	// [<SUCCESS>false</SUCCESS> <FaultString>MAP_FILE must name a file in the upload directory</FaultString>]
}
