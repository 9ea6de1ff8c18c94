package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/sink"
)

const jobUsage = `Usage:
  intake job create [flags] JOBFILE   save a job running the job spec JOBFILE; prints its id
  intake job list [-json]             the saved jobs
  intake job show [-json] ID          one job, with its spec
  intake job runs [-json] ID          its run history, newest first
  intake job run [-file FILE] [-wait] [-json] ID
                                      run it now (-file: import FILE instead of the job's source);
                                      -wait runs it here and prints the run's report
  intake job update [flags] ID [JOBFILE]
  intake job enable|disable|delete ID
  intake job duplicate [-name NAME] ID
Every job command takes -store URL (default sqlite:intake.db): jobs live in the records' database.
`

// cliTarget is the Target of the jobs the CLI saves: they all write into
// the store they are kept in, so their runs run one after another.
const cliTarget = "store"

// jobCmd is one job or run command: its flags and, once open, the store
// and the job store in its database.
type jobCmd struct {
	fs       *flag.FlagSet
	storeURL string
	asJSON   bool
	st       *store
	jobs     schedule.JobStore
}

func newJobCmd(name, synopsis string, stderr io.Writer, withJSON bool) *jobCmd {
	c := &jobCmd{fs: newFlagSet(name, synopsis, stderr)}
	c.fs.StringVar(&c.storeURL, "store", "sqlite:intake.db", "the store whose database keeps the jobs: sqlite:PATH or postgres://…")
	if withJSON {
		c.fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	}
	return c
}

// parse parses the command's flags and checks that it got between min and
// max positional arguments.
func (c *jobCmd) parse(args []string, min, max int, what string) ([]string, error) {
	pos, err := parse(c.fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) < min || len(pos) > max {
		c.fs.Usage()
		return nil, usagef("%s needs %s, got %d arguments", c.fs.Name(), what, len(pos))
	}
	return pos, nil
}

// set returns the names of the flags given on the line.
func (c *jobCmd) set() map[string]bool {
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

func (c *jobCmd) open(ctx context.Context) error {
	st, err := openStore(ctx, c.storeURL)
	if err != nil {
		return err
	}
	jobs, err := st.jobs(ctx)
	if err != nil {
		st.close()
		return err
	}
	c.st, c.jobs = st, jobs
	return nil
}

func (c *jobCmd) close() {
	if c.jobs != nil {
		c.jobs.Close()
	}
	if c.st != nil {
		c.st.close()
	}
}

// job returns the saved job id.
func (c *jobCmd) job(ctx context.Context, id string) (schedule.Job, error) {
	job, err := c.jobs.Get(ctx, id)
	if errors.Is(err, schedule.ErrNotFound) {
		return job, fmt.Errorf("no job %s in %s: intake job list shows the saved jobs", id, redact(c.storeURL))
	}
	return job, err
}

func (c *jobCmd) printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cmdJob runs "intake job SUBCOMMAND …".
func cmdJob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, jobUsage)
		return usagef("job needs a subcommand")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return jobCreate(ctx, rest, stdout, stderr)
	case "update":
		return jobUpdate(ctx, rest, stderr)
	case "list":
		return jobList(ctx, rest, stdout, stderr)
	case "show":
		return jobShow(ctx, rest, stdout, stderr)
	case "runs":
		return jobRuns(ctx, rest, stdout, stderr)
	case "run":
		return jobRun(ctx, rest, stdout, stderr)
	case "enable", "disable", "delete", "duplicate":
		return jobChange(ctx, sub, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, jobUsage)
		return errHelp
	}
	fmt.Fprint(stderr, jobUsage)
	return usagef("unknown job command %q", sub)
}

// jobOptions are the settings of a saved job beside its spec.
type jobOptions struct {
	name, source, cadence, tz string
	disabled, run, skip       bool
}

func (o *jobOptions) define(fs *flag.FlagSet, create bool) {
	fs.StringVar(&o.name, "name", "", "the job's name (default: the spec's \"name\", else JOBFILE's base name)")
	fs.StringVar(&o.source, "source", "", "the file the job imports: a path, or a file://, http(s):// or sftp:// URL\n(without it, a run needs -file)")
	fs.StringVar(&o.cadence, "cadence", "", `when the job runs, e.g. "daily at 09:00", "every 15m", "cron 0 9 * * 1-5" (default: only when run);`+
		"\na scheduler sharing the store runs it (a host's schedule.Scheduler)")
	fs.StringVar(&o.tz, "tz", "", "the IANA time zone of the cadence (default UTC)")
	fs.BoolVar(&o.skip, "skip-unchanged", false, "record a run as skipped_unchanged, importing nothing, when its file did not change")
	if create {
		fs.BoolVar(&o.disabled, "disabled", false, "save the job disabled: its cadence does not run it until intake job enable")
		fs.BoolVar(&o.run, "run", false, "queue a run of the job as it is saved")
	}
}

// apply sets the options given on the line (set) on job.
func (o *jobOptions) apply(job *schedule.Job, set map[string]bool) error {
	if set["name"] {
		job.Name = o.name
	}
	if set["source"] {
		src, err := sourceSpec(o.source)
		if err != nil {
			return err
		}
		job.Source = src
	}
	if set["cadence"] {
		job.Cadence = o.cadence
	}
	if set["tz"] {
		job.TimeZone = o.tz
	}
	if set["skip-unchanged"] {
		job.SkipUnchanged = o.skip
	}
	return nil
}

// sourceSpec turns -source into a job's source: a local path (made
// absolute), or a URL whose scheme is the connector.
func sourceSpec(s string) (schedule.SourceSpec, error) {
	if scheme, _, ok := strings.Cut(s, "://"); ok && scheme != "file" {
		return schedule.SourceSpec{Connector: scheme, Path: s}, nil
	}
	p, err := localFile(strings.TrimPrefix(s, "file://"))
	if err != nil {
		return schedule.SourceSpec{}, err
	}
	return schedule.SourceSpec{Connector: "file", Path: p}, nil
}

// localFile returns the absolute path of an existing local file, links
// resolved (the connectors' root refuses links with an absolute target).
func localFile(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", usagef("%s: no such file", p)
		}
		return "", err
	}
	return abs, nil
}

// jobProblems reports a job the store refused: each problem with where
// it is, the job file and its JSON path for the spec's, the flag for the
// job's own settings.
func jobProblems(file string, err error) error {
	var ije *schedule.InvalidJobError
	if !errors.As(err, &ije) {
		return err
	}
	flags := map[string]string{"$.name": "-name", "$.cadence": "-cadence", "$.time_zone": "-tz", "$.source": "-source"}
	lines := make([]string, len(ije.Problems))
	for i, p := range ije.Problems {
		switch rest, ok := strings.CutPrefix(p.Path, "$.spec"); {
		case ok && file != "":
			lines[i] = fmt.Sprintf("%s: $%s: %s", file, rest, p.Message)
		case flags[p.Path] != "":
			lines[i] = flags[p.Path] + ": " + p.Message
		default:
			lines[i] = p.Error()
		}
	}
	if len(lines) == 1 {
		return usagef("invalid job: %s", lines[0])
	}
	return usagef("invalid job, %d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// jobCreate runs "intake job create [flags] JOBFILE".
func jobCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newJobCmd("job create", "intake job create [-store URL] [-source URL] [-cadence C] [-tz ZONE] [-disabled] [-run] JOBFILE", stderr, false)
	var o jobOptions
	o.define(c.fs, true)
	pos, err := c.parse(args, 1, 1, "one JOBFILE")
	if err != nil {
		return err
	}
	spec, err := loadJobSpec("", pos[0])
	if err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	if err := checkJobSpec(ctx, c.st.sink, pos[0], spec); err != nil {
		return err
	}
	job := schedule.Job{Name: spec.Name, Spec: *spec, Target: cliTarget, Enabled: !o.disabled, RunOnSave: o.run}
	if job.Name == "" {
		job.Name = strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	}
	if err := o.apply(&job, c.set()); err != nil {
		return err
	}
	saved, err := c.jobs.Create(ctx, job)
	if err != nil {
		return jobProblems(pos[0], err)
	}
	fmt.Fprintln(stdout, saved.ID)
	return nil
}

// jobUpdate runs "intake job update [flags] ID [JOBFILE]": a new spec, new
// settings, or both.
func jobUpdate(ctx context.Context, args []string, stderr io.Writer) error {
	c := newJobCmd("job update", "intake job update [-store URL] [-name NAME] [-source URL] [-cadence C] [-tz ZONE] ID [JOBFILE]", stderr, false)
	var o jobOptions
	o.define(c.fs, false)
	pos, err := c.parse(args, 1, 2, "ID and an optional JOBFILE")
	if err != nil {
		return err
	}
	set := c.set()
	if len(pos) == 1 && len(set) == 0 || len(pos) == 1 && len(set) == 1 && set["store"] {
		return usagef("job update %s changes nothing: give a JOBFILE or -name, -source, -cadence, -tz, -skip-unchanged", pos[0])
	}
	var spec *importer.JobSpec
	if len(pos) == 2 {
		if spec, err = loadJobSpec("", pos[1]); err != nil {
			return err
		}
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	job, err := c.job(ctx, pos[0])
	if err != nil {
		return err
	}
	file := ""
	if spec != nil {
		if err := checkJobSpec(ctx, c.st.sink, pos[1], spec); err != nil {
			return err
		}
		job.Spec, file = *spec, pos[1]
	}
	if err := o.apply(&job, set); err != nil {
		return err
	}
	_, err = c.jobs.Update(ctx, job)
	return jobProblems(file, err)
}

// jobChange runs "intake job enable|disable|delete ID" and "intake job
// duplicate [-name NAME] ID", which prints the copy's id.
func jobChange(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newJobCmd("job "+sub, "intake job "+sub+" [-store URL] ID", stderr, false)
	var name string
	if sub == "duplicate" {
		c.fs.StringVar(&name, "name", "", `the copy's name (default: "NAME (copy)"); the copy is disabled`)
	}
	pos, err := c.parse(args, 1, 1, "one ID")
	if err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	job, err := c.job(ctx, pos[0])
	if err != nil {
		return err
	}
	switch sub {
	case "enable", "disable":
		return c.jobs.SetEnabled(ctx, job.ID, sub == "enable")
	case "delete":
		return c.jobs.Delete(ctx, job.ID)
	}
	if name == "" {
		name = job.Name + " (copy)"
	}
	cp, err := c.jobs.Duplicate(ctx, job.ID, name)
	if err != nil {
		return jobProblems("", err)
	}
	fmt.Fprintln(stdout, cp.ID)
	return nil
}

// jobList runs "intake job list [-json]".
func jobList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newJobCmd("job list", "intake job list [-store URL] [-json]", stderr, true)
	if _, err := c.parse(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	jobs, err := c.jobs.List(ctx, schedule.JobFilter{})
	if err != nil {
		return err
	}
	if c.asJSON {
		if jobs == nil {
			jobs = []schedule.Job{}
		}
		return c.printJSON(stdout, jobs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tOBJECT\tSCHEDULE\tNEXT RUN\tSTATE")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Name, j.Object(), orDash(cadenceText(j)), timeText(j.NextRun), enabledText(j.Enabled))
	}
	return tw.Flush()
}

// jobShow runs "intake job show [-json] ID".
func jobShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newJobCmd("job show", "intake job show [-store URL] [-json] ID", stderr, true)
	pos, err := c.parse(args, 1, 1, "one ID")
	if err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	j, err := c.job(ctx, pos[0])
	if err != nil {
		return err
	}
	if c.asJSON {
		return c.printJSON(stdout, j)
	}
	spec, err := j.Spec.MarshalIndent()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"id", j.ID}, {"name", j.Name}, {"object", j.Object()}, {"source", orDash(sourceText(j.Source))},
		{"schedule", orDash(cadenceText(j))}, {"next run", timeText(j.NextRun)}, {"state", enabledText(j.Enabled)},
		{"skip unchanged", fmt.Sprint(j.SkipUnchanged)}, {"created", timeText(j.Created)}, {"updated", timeText(j.Updated)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "spec\n%s\n", spec)
	return err
}

// jobRuns runs "intake job runs [-json] [-limit N] ID": the job's runs,
// newest first.
func jobRuns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newJobCmd("job runs", "intake job runs [-store URL] [-json] [-limit N] ID", stderr, true)
	limit := c.fs.Int("limit", 20, "how many runs to list, newest first")
	pos, err := c.parse(args, 1, 1, "one ID")
	if err != nil {
		return err
	}
	if *limit < 1 {
		return usagef("-limit %d: give 1 or more", *limit)
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	j, err := c.job(ctx, pos[0])
	if err != nil {
		return err
	}
	runs, err := c.jobs.ListRuns(ctx, schedule.RunFilter{JobID: j.ID, Limit: *limit})
	if err != nil {
		return err
	}
	if c.asJSON {
		if runs == nil {
			runs = []schedule.Run{}
		}
		return c.printJSON(stdout, runs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN ID\tTRIGGER\tSTATUS\tSTARTED\tROWS\tCREATED\tUPDATED\tUNCHANGED\tSKIPPED\tOPTED OUT\tREJECTED\tUNDO")
	cfg := schedule.ImportConfig{Sink: c.st.sink}
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.Trigger, r.Status, timeText(r.Started),
			r.Rows, r.Created, r.Updated, r.Unchanged, r.Skipped, r.OptedOut, r.Rejected, undoText(ctx, &cfg, j, r))
	}
	return tw.Flush()
}

func cadenceText(j schedule.Job) string {
	if j.Cadence == "" {
		return ""
	}
	return j.Cadence + " (" + orDefault(j.TimeZone, "UTC") + ")"
}

func sourceText(s schedule.SourceSpec) string {
	if s.Query != "" {
		return "sql: " + s.Query
	}
	if s.Connector == "file" {
		return s.Path
	}
	return redact(s.Path)
}

func enabledText(on bool) string {
	if on {
		return "enabled"
	}
	return "disabled"
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format(time.RFC3339)
}

func orDash(s string) string { return orDefault(s, "—") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// undoText says whether a run of the history can be undone: "yes",
// "conflicts left" (an undo left records in conflict), "undone", "expired"
// (the retention dropped its log), "no", or for an undo run the run it
// reverts.
func undoText(ctx context.Context, cfg *schedule.ImportConfig, j schedule.Job, r schedule.Run) string {
	switch {
	case r.Trigger == schedule.TriggerUndo:
		return "reverts " + r.Undoes
	case r.UndoneBy != "":
		return "undone"
	case !r.Undoable:
		return "no"
	}
	st, err := cfg.UndoStatus(ctx, j, r)
	switch {
	case err != nil:
		return "no"
	case st.State == sink.UndoUndoing:
		return "conflicts left"
	case st.Undoable():
		return "yes"
	}
	return string(st.State)
}
