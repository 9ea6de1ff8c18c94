package acoustic

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
)

// HandlerConfig configures [NewHandler].
type HandlerConfig struct {
	// Scheduler queues the runs and Store keeps them; required.
	Scheduler *schedule.Scheduler
	Store     schedule.JobStore
	// UploadDir is the directory MAP_FILE and SOURCE_FILE are read from
	// (the connector's upload directory); required. Names are plain file
	// names inside it: a path is refused.
	UploadDir string
	// Job is the template of the job saved per ImportList request. The
	// handler sets its Name, its Description (the map file and its
	// warnings), its Source and its Spec; its schedule fields are ignored. The Spec is the one the MAP_FILE describes
	// ([Map.JobSpec]: action, key, mapping, delimiter, header,
	// consent, contact lists) with FILE_ENCODING as the source's
	// encoding, over the template's Spec, which gives what a map cannot
	// say (merge policy, in-file duplicates, tags, links, actor,
	// allow_new_records …). The Source reads SOURCE_FILE: the template's
	// Source.Connector and Source.Path, when set, say how the Runner
	// reaches UploadDir (e.g. connector "file" and the directory under
	// the file connector's root), and the file name is joined to that
	// path; without them the Source is connector "file" and the file's
	// path in UploadDir (the standard runner's connector.Registry then
	// needs a LocalRoot of "/"). Source.Options map_file and notify_email
	// name the map file and EMAIL (for schedule.Config.OnFinish).
	Job schedule.Job
	// Actor and Authorize work as in [schedule.HandlerConfig]: both nil deny all.
	Actor     func(r *http.Request) (string, error)
	Authorize schedule.Authorizer
	// StrictTypes rejects the rows whose cells do not parse as their
	// column's TYPE (see [Map].StrictTypes); by default such a cell leaves
	// its field empty and is reported as a warning of the run.
	StrictTypes bool
}

// NewHandler returns an http.Handler answering Acoustic Campaign's
// XML API for ImportList and GetJobStatus, so that systems written against
// that API can point at a host running Intake. POST an Envelope:
//
//	<Envelope><Body><ImportList><MAP_FILE>map.xml</MAP_FILE><SOURCE_FILE>contacts.csv</SOURCE_FILE>
//	  <EMAIL>ops@example.com</EMAIL><FILE_ENCODING>UTF-8</FILE_ENCODING></ImportList></Body></Envelope>
//	→ <Envelope><Body><RESULT><SUCCESS>TRUE</SUCCESS><JOB_ID>…</JOB_ID></RESULT></Body></Envelope>
//
//	<Envelope><Body><GetJobStatus><JOB_ID>…</JOB_ID></GetJobStatus></Body></Envelope>
//	→ JOB_STATUS WAITING | RUNNING | COMPLETE | ERROR | CANCELED, JOB_DESCRIPTION and PARAMETERS
//	  (SOURCE_FILE, TOTAL_ROWS, CREATED, UPDATED, UNCHANGED, SKIPPED, OPTED_OUT, REJECTED, WARNED — cells left
//	  empty because their column's TYPE could not read them —, ERROR, and a WARNING for each of the map's warnings).
//
// JOB_ID is the run's id (a UUID, not a number as in Acoustic). Each
// ImportList request saves a disabled job (no schedule) whose spec is the
// MAP_FILE's (see HandlerConfig.Job) and queues a run of it (trigger api):
// with [schedule.ImportRunner], an OPT_OUT map opts the listed contacts out
// and creates none. As in Acoustic, the map is checked as the job runs: a
// map that does not load, or makes an invalid job, still answers SUCCESS
// and a JOB_ID, and that run is recorded as failed — GetJobStatus answers
// ERROR with a PARAMETER ERROR naming every problem. The map's warnings
// ([Map].Warnings) are the saved job's Description, and GetJobStatus lists
// each as a PARAMETER WARNING. A request that cannot name a job — not an
// Envelope, a file outside the upload directory, an unknown FILE_ENCODING,
// a denied actor — answers SUCCESS false with a Fault.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.Scheduler == nil || cfg.Store == nil || cfg.UploadDir == "" {
		return nil, errors.New("acoustic: NewHandler: HandlerConfig.Scheduler, Store and UploadDir are required")
	}
	g := schedule.Guard(cfg.Store, cfg.Authorize)
	actor := cfg.Actor
	if actor == nil {
		actor = func(*http.Request) (string, error) {
			return "", errors.New("acoustic: no HandlerConfig.Actor: every request is refused")
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			acousticFault(w, http.StatusMethodNotAllowed, "POST an XML Envelope")
			return
		}
		who, err := actor(r)
		if err != nil {
			acousticFault(w, http.StatusUnauthorized, err.Error())
			return
		}
		var env struct {
			Body struct {
				ImportList *struct {
					MapFile      string `xml:"MAP_FILE"`
					SourceFile   string `xml:"SOURCE_FILE"`
					Email        string `xml:"EMAIL"`
					FileEncoding string `xml:"FILE_ENCODING"`
				} `xml:"ImportList"`
				GetJobStatus *struct {
					JobID string `xml:"JOB_ID"`
				} `xml:"GetJobStatus"`
			} `xml:"Body"`
		}
		if err := xml.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&env); err != nil {
			acousticFault(w, http.StatusBadRequest, "the request is not an XML Envelope: "+err.Error())
			return
		}
		ctx := r.Context()
		switch {
		case env.Body.ImportList != nil:
			il := env.Body.ImportList
			var paths [2]string
			for i, name := range []string{il.MapFile, il.SourceFile} {
				field := [2]string{"MAP_FILE", "SOURCE_FILE"}[i]
				name = strings.TrimSpace(name)
				if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
					acousticFault(w, http.StatusBadRequest, field+" must name a file in the upload directory")
					return
				}
				p := path.Join(cfg.UploadDir, name)
				if _, err := os.Stat(p); err != nil {
					acousticFault(w, http.StatusBadRequest, fmt.Sprintf("%s %s is not in the upload directory", field, name))
					return
				}
				paths[i] = p
			}
			enc := strings.ToUpper(strings.TrimSpace(il.FileEncoding))
			switch enc {
			case "", "UTF-8", "ISO-8859-1":
			default:
				acousticFault(w, http.StatusBadRequest, "FILE_ENCODING must be UTF-8 or ISO-8859-1")
				return
			}
			spec, warnings, mapErr := acousticMap(paths[0], cfg.StrictTypes)
			job := acousticJob(cfg.Job, spec, paths, il.SourceFile, enc, il.Email)
			job.Description = describe(il.MapFile, warnings, mapErr)
			saved, err := g.Create(ctx, who, job)
			if err != nil {
				acousticFault(w, httpStatus(err), schedule.PublicMessage(err))
				return
			}
			run := schedule.Run{JobID: saved.ID, Trigger: schedule.TriggerAPI, Input: job.Source.Path}
			if mapErr != nil {
				run.Status, run.Error = schedule.StatusFailed, "MAP_FILE "+il.MapFile+": "+mapErr.Error()
				run, err = g.RecordRun(ctx, who, run)
			} else {
				run, err = g.Enqueue(ctx, cfg.Scheduler, who, run)
			}
			if err != nil {
				acousticFault(w, httpStatus(err), schedule.PublicMessage(err))
				return
			}
			writeAcoustic(w, http.StatusOK, acousticResult{Success: "TRUE", JobID: run.ID})
		case env.Body.GetJobStatus != nil:
			run, err := g.GetRun(ctx, who, strings.TrimSpace(env.Body.GetJobStatus.JobID))
			if errors.Is(err, schedule.ErrNotFound) {
				acousticFault(w, httpStatus(err), "JOB_ID: "+err.Error())
				return
			}
			if err != nil {
				acousticFault(w, httpStatus(err), schedule.PublicMessage(err))
				return
			}
			res := statusResult(run)
			if job, err := g.Store.Get(ctx, run.JobID); err == nil {
				for _, w := range warningLines(job.Description) {
					res.Parameters.Parameter = append(res.Parameters.Parameter, acousticParam{"WARNING", w})
				}
			}
			writeAcoustic(w, http.StatusOK, res)
		default:
			acousticFault(w, http.StatusBadRequest, "unsupported operation: this facade answers ImportList and GetJobStatus")
		}
	}), nil
}

// acousticMap reads an ImportList map file into a job spec, with the
// map's warnings; err names every problem of a map that cannot run.
func acousticMap(name string, strict bool) (spec *importer.JobSpec, warnings []Warning, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	a, err := Load(f)
	if err != nil {
		return nil, nil, errors.New(strings.ReplaceAll(err.Error(), "acoustic: ", ""))
	}
	a.StrictTypes = strict
	spec, err = a.JobSpec()
	if err != nil {
		return nil, a.Warnings, errors.New(strings.TrimPrefix(err.Error(), "acoustic: "))
	}
	return spec, a.Warnings, nil
}

// warningsHeader starts the warnings in a job's Description.
const warningsHeader = "Warnings of the map:"

// describe is the Description of an ImportList job: the map file, and its
// warnings one a line (warningLines reads them back).
func describe(mapFile string, warnings []Warning, mapErr error) string {
	var b strings.Builder
	b.WriteString("ImportList with MAP_FILE " + mapFile)
	if mapErr != nil {
		b.WriteString(", which cannot run (see the run's error)")
	}
	if len(warnings) > 0 {
		b.WriteString("\n" + warningsHeader)
		for _, w := range warnings {
			b.WriteString("\n- " + w.String())
		}
	}
	return b.String()
}

// warningLines returns the map warnings of a job's Description.
func warningLines(desc string) []string {
	_, rest, ok := strings.Cut(desc, warningsHeader+"\n")
	if !ok {
		return nil
	}
	var out []string
	for _, line := range strings.Split(rest, "\n") {
		if w, ok := strings.CutPrefix(line, "- "); ok {
			out = append(out, w)
		}
	}
	return out
}

// acousticJob returns the job of an ImportList request: the template with
// the map's spec over the template's (the template's alone when the map
// cannot run: m is nil), the source file and the request's encoding and
// e-mail. paths are the map's and the source file's paths in the upload
// directory.
func acousticJob(tmpl schedule.Job, m *importer.JobSpec, paths [2]string, sourceFile, encoding, email string) schedule.Job {
	job := tmpl
	job.ID, job.Cadence, job.Enabled, job.RunOnSave = "", "", false, false
	job.RunOnceAt = time.Time{}
	job.Name = "ImportList " + sourceFile
	if tmpl.Source.Connector != "" && tmpl.Source.Path != "" {
		job.Source.Path = path.Join(tmpl.Source.Path, path.Base(paths[1]))
	} else {
		job.Source.Connector, job.Source.Path = "file", paths[1]
	}
	job.Source.Options = maps.Clone(tmpl.Source.Options)
	if job.Source.Options == nil {
		job.Source.Options = map[string]string{}
	}
	job.Source.Options["map_file"], job.Source.Options["notify_email"] = paths[0], email
	if m == nil {
		if job.Spec.Version == 0 {
			job.Spec.Version = importer.JobSpecVersion
		}
		return job
	}
	if m.Name != "" {
		job.Name += " into " + strings.TrimPrefix(m.Name, "Acoustic ")
	}
	s := tmpl.Spec
	s.Version = m.Version
	s.Name = job.Name
	s.Object, s.Source, s.Mapping = m.Object, m.Source, m.Mapping
	s.Action, s.OnMatch, s.OnNoMatch = m.Action, m.OnMatch, m.OnNoMatch
	s.Sync, s.Rules = m.Sync, m.Rules
	s.Consent, s.Lists = m.Consent, m.Lists
	s.Source.Encoding = encoding
	job.Spec = s
	return job
}

// statusResult is GetJobStatus's answer for a run: its status, and its
// source file, counts and error as PARAMETERS.
func statusResult(run schedule.Run) acousticResult {
	params := []acousticParam{{"SOURCE_FILE", path.Base(run.Input)}}
	for _, p := range []struct {
		n string
		v int64
	}{{"TOTAL_ROWS", run.Rows}, {"CREATED", run.Created}, {"UPDATED", run.Updated}, {"UNCHANGED", run.Unchanged},
		{"SKIPPED", run.Skipped}, {"OPTED_OUT", run.OptedOut}, {"REJECTED", run.Rejected}, {"WARNED", run.Warned}} {
		params = append(params, acousticParam{p.n, strconv.FormatInt(p.v, 10)})
	}
	if run.Error != "" {
		params = append(params, acousticParam{"ERROR", run.Error})
	}
	return acousticResult{Success: "TRUE", JobID: run.ID, Status: acousticStatus(run.Status),
		Description: "Importing " + path.Base(run.Input), Parameters: &acousticParams{Parameter: params}}
}

func httpStatus(err error) int { return schedule.HTTPStatus(err) }

func acousticStatus(s schedule.RunStatus) string {
	switch s {
	case schedule.StatusQueued:
		return "WAITING"
	case schedule.StatusRunning:
		return "RUNNING"
	case schedule.StatusFailed:
		return "ERROR"
	case schedule.StatusCanceled:
		return "CANCELED"
	}
	return "COMPLETE"
}

// acousticParams is the PARAMETERS element, left out when nil.
type acousticParams struct {
	Parameter []acousticParam `xml:"PARAMETER"`
}

type acousticParam struct {
	Name  string `xml:"NAME"`
	Value string `xml:"VALUE"`
}

type acousticResult struct {
	Success     string          `xml:"SUCCESS"`
	JobID       string          `xml:"JOB_ID,omitempty"`
	Status      string          `xml:"JOB_STATUS,omitempty"`
	Description string          `xml:"JOB_DESCRIPTION,omitempty"`
	Parameters  *acousticParams `xml:"PARAMETERS,omitempty"`
}

type acousticEnvelope struct {
	XMLName xml.Name `xml:"Envelope"`
	Body    struct {
		Result acousticResult `xml:"RESULT"`
		Fault  *struct {
			FaultString string `xml:"FaultString"`
		} `xml:"Fault,omitempty"`
	} `xml:"Body"`
}

func writeAcoustic(w http.ResponseWriter, code int, res acousticResult) {
	var env acousticEnvelope
	env.Body.Result = res
	writeEnvelope(w, code, &env)
}

func acousticFault(w http.ResponseWriter, code int, msg string) {
	var env acousticEnvelope
	env.Body.Result.Success = "false"
	env.Body.Fault = &struct {
		FaultString string `xml:"FaultString"`
	}{msg}
	writeEnvelope(w, code, &env)
}

func writeEnvelope(w http.ResponseWriter, code int, env *acousticEnvelope) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(code)
	_ = xml.NewEncoder(w).Encode(env)
}
