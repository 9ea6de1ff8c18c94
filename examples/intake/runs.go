package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
)

// jobRun runs "intake job run [-file FILE] [-wait] [-json] ID". Without
// -wait it queues the run and prints its id: a scheduler sharing the store
// runs it. With -wait the CLI runs it itself and prints its report.
func jobRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newJobCmd("job run", "intake job run [-store URL] [-file FILE] [-wait] [-json] ID", stderr, true)
	file := c.fs.String("file", "", "import FILE instead of the job's source (an upload run)")
	wait := c.fs.Bool("wait", false, "run the job here and wait for the run's end, then print its report\n"+
		"(runs queued before it run first; meanwhile this command is one of the store's schedulers)")
	runs := c.fs.String("runs", "", "the directory where runs keep their files (default: PATH-runs beside a sqlite:PATH store)")
	pos, err := c.parse(args, 1, 1, "one ID")
	if err != nil {
		return err
	}
	run := schedule.Run{Trigger: schedule.TriggerManual, Actor: os.Getenv("USER")}
	if *file != "" {
		abs, err := localFile(*file)
		if err != nil {
			return err
		}
		run.Input = "file://" + abs // a URL: the job's connector may be another
		run.Trigger = schedule.TriggerUpload
	}
	dir, err := runFilesDir(*runs, c.storeURL)
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
	if job.Source.Path == "" && job.Source.Query == "" && run.Input == "" {
		return usagef("job %s has no source: give -file FILE (or set one: intake job update -source URL %s)", job.ID, job.ID)
	}
	run.JobID = job.ID
	if !*wait {
		queued, err := c.jobs.CreateRun(ctx, run)
		if err != nil {
			return err
		}
		if c.asJSON {
			return c.printJSON(stdout, queued)
		}
		_, err = fmt.Fprintln(stdout, queued.ID)
		return err
	}
	final, rep, err := runHere(ctx, c.st, c.jobs, run, dir)
	if err != nil {
		return err
	}
	return printRun(stdout, job, final, rep, c.asJSON)
}

// printRun prints the outcome of a run: its report when it ran here (as
// importer.Report's JSON with -json), else its record. A run that failed returns its error,
// which is printed once (on stderr).
func printRun(w io.Writer, job schedule.Job, r schedule.Run, rep *importer.Report, asJSON bool) error {
	var err error
	switch {
	case asJSON && rep != nil:
		err = printRunReport(w, r.ID, rep)
	case asJSON:
		err = printJSON(w, r)
	case rep != nil:
		fmt.Fprintf(w, "job %q, run %s\n", job.Name, r.ID)
		err = printReport(w, rep, false)
	default:
		err = writeRun(w, job, r, false)
	}
	if err != nil {
		return err
	}
	switch r.Status {
	case schedule.StatusFailed, schedule.StatusCanceled:
		return fmt.Errorf("run %s %s: %s", r.ID, r.Status, orDefault(r.Error, "no reason recorded"))
	case schedule.StatusQueued, schedule.StatusRunning:
		return fmt.Errorf("run %s is still %s: intake run show %s tells how it ends", r.ID, r.Status, r.ID)
	}
	return nil
}

// printRunReport prints a run's report as JSON (importer.Report's form),
// with first the id the run history knows the run by ("run_id").
func printRunReport(w io.Writer, runID string, rep *importer.Report) error {
	data, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	id, _ := json.Marshal(runID)
	if rest, ok := bytes.CutPrefix(data, []byte("{")); ok && !bytes.Contains(data, []byte(`"run_id":`)) {
		sep := []byte(",")
		if bytes.HasPrefix(rest, []byte("}")) {
			sep = nil
		}
		data = slices.Concat([]byte(`{"run_id":`), id, sep, rest)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

func printJSON(w io.Writer, v any) error { return (&jobCmd{}).printJSON(w, v) }

// runFilesDir returns the directory of the runs' files: -runs, else the
// store's default (runsDir), absolute.
func runFilesDir(flagDir, storeURL string) (string, error) {
	dir := flagDir
	if dir == "" {
		var err error
		if dir, err = runsDir(storeURL); err != nil {
			return "", err
		}
	}
	return filepath.Abs(dir)
}

// runHere queues run and executes it in this process: the CLI is a
// scheduler of the store (schedule.Scheduler with the standard
// ImportRunner) until its run has started, and waits for the runs it
// started. The imported file and the rejected rows are kept in dir. It
// returns the run's final record and, when the run imported
// here, its report.
func runHere(ctx context.Context, st *store, jobs schedule.JobStore, run schedule.Run, dir string) (schedule.Run, *importer.Report, error) {
	runner, closeFiles, err := cliRunner(st, dir)
	if err != nil {
		return run, nil, err
	}
	defer closeFiles()
	reports := &runReports{byRun: map[string]*importer.Report{}}
	claims := &claimUntil{JobStore: jobs}
	finished := make(chan schedule.Run, 1)
	s, err := schedule.New(schedule.Config{
		// One run a claim, so that the claim that takes the awaited run
		// takes no later one.
		Store: claims, Runner: reports.keep(runner), PollInterval: 100 * time.Millisecond, MaxConcurrent: 1,
		OnFinish: func(_ context.Context, _ schedule.Job, r schedule.Run) {
			if r.ID == claims.runID() {
				finished <- r
			}
		},
	})
	if err != nil {
		return run, nil, err
	}
	queued, err := s.Enqueue(ctx, run)
	if err != nil {
		return run, nil, err
	}
	claims.wait(queued.ID)
	if err := s.Start(ctx); err != nil {
		return queued, nil, err
	}
	final := awaitRun(ctx, jobs, queued, finished)
	_ = s.Stop(ctx) // with ctx done (interrupted), the runs in flight are canceled first
	if ctx.Err() != nil {
		if r, err := jobs.GetRun(context.WithoutCancel(ctx), queued.ID); err == nil {
			final = r
		}
	}
	return final, reports.get(queued.ID), nil
}

// awaitRun waits until the run is final: its end here, or its record's
// (another scheduler may run it), or ctx's end.
func awaitRun(ctx context.Context, jobs schedule.JobStore, run schedule.Run, finished <-chan schedule.Run) schedule.Run {
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	for {
		select {
		case r := <-finished:
			return r
		case <-poll.C:
			if r, err := jobs.GetRun(ctx, run.ID); err == nil && r.Status.Final() {
				return r
			}
		case <-ctx.Done():
			return run
		}
	}
}

// cliRunner returns the standard runner over the CLI's store and
// connectors, keeping each run's file and rejected rows in the archive dir.
func cliRunner(st *store, dir string) (schedule.Runner, func(), error) {
	reg, err := registry()
	if err != nil {
		return nil, nil, err
	}
	archive, err := connector.NewDirArchive(dir)
	if err != nil {
		return nil, nil, err
	}
	runner, err := schedule.ImportRunner(schedule.ImportConfig{Registry: reg, Sink: st.sink, Archive: archive})
	if err != nil {
		archive.Close()
		return nil, nil, err
	}
	return runner, func() { archive.Close() }, nil
}

// runReports keeps the reports of the runs this process executed, which
// the run history holds the counts of only.
type runReports struct {
	mu    sync.Mutex
	byRun map[string]*importer.Report
}

func (k *runReports) keep(r schedule.Runner) schedule.Runner {
	return func(ctx context.Context, job schedule.Job, run schedule.Run) (*importer.Report, error) {
		rep, err := r(ctx, job, run)
		k.mu.Lock()
		k.byRun[run.ID] = rep
		k.mu.Unlock()
		return rep, err
	}
}

func (k *runReports) get(id string) *importer.Report {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.byRun[id]
}

// claimUntil is a job store whose Claim starts runs until the run the CLI
// waits for has started, and none after: the CLI runs what is ahead of its
// run, and leaves later runs to the store's other schedulers.
type claimUntil struct {
	schedule.JobStore
	mu      sync.Mutex
	id      string
	claimed bool
}

func (c *claimUntil) wait(id string) {
	c.mu.Lock()
	c.id = id
	c.mu.Unlock()
}

func (c *claimUntil) runID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Claim claims as the store does until the awaited run is among the claimed.
func (c *claimUntil) Claim(ctx context.Context, req schedule.ClaimRequest) ([]schedule.Claimed, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.claimed {
		return nil, nil
	}
	out, err := c.JobStore.Claim(ctx, req)
	for _, cl := range out {
		if cl.Run.ID == c.id {
			c.claimed = true
		}
	}
	return out, err
}

// cmdRun runs "intake run show RUN_ID" and "intake run download RUN_ID
// source|rejects OUT".
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "intake run show [-store URL] [-json] RUN_ID | intake run download [-store URL] [-runs DIR] RUN_ID source|rejects OUT"
	if len(args) == 0 {
		return usagef("run needs a subcommand: %s", usage)
	}
	switch args[0] {
	case "show":
		return runShow(ctx, args[1:], stdout, stderr)
	case "download":
		return runDownload(ctx, args[1:], stdout, stderr)
	}
	return usagef("unknown run command %q: %s", args[0], usage)
}

// runShow runs "intake run show [-json] RUN_ID".
func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newJobCmd("run show", "intake run show [-store URL] [-json] RUN_ID", stderr, true)
	pos, err := c.parse(args, 1, 1, "one RUN_ID")
	if err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	r, err := c.run(ctx, pos[0])
	if err != nil {
		return err
	}
	if c.asJSON {
		return c.printJSON(stdout, r)
	}
	job, err := c.jobs.Get(ctx, r.JobID)
	if err != nil && !errors.Is(err, schedule.ErrNotFound) {
		return err
	}
	return writeRun(stdout, job, r, true)
}

// run returns the run id.
func (c *jobCmd) run(ctx context.Context, id string) (schedule.Run, error) {
	r, err := c.jobs.GetRun(ctx, id)
	if errors.Is(err, schedule.ErrNotFound) {
		return r, fmt.Errorf("no run %s in %s: intake job runs JOB_ID lists a job's runs", id, redact(c.storeURL))
	}
	return r, err
}

// writeRun writes a run's record for people; withError includes its error.
func writeRun(w io.Writer, job schedule.Job, r schedule.Run, withError bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"run", r.ID}, {"job", r.JobID + " " + job.Name}, {"trigger", string(r.Trigger)}, {"actor", r.Actor},
		{"file", r.Input}, {"status", string(r.Status)},
		{"queued", timeText(r.Queued)}, {"started", timeText(r.Started)}, {"finished", timeText(r.Finished)},
	}
	for _, c := range []struct {
		name string
		n    int64
	}{{"rows", r.Rows}, {"created", r.Created}, {"updated", r.Updated}, {"unchanged", r.Unchanged},
		{"skipped", r.Skipped}, {"opted out", r.OptedOut}, {"rejected", r.Rejected}} {
		rows = append(rows, [2]string{c.name, fmt.Sprint(c.n)})
	}
	if r.Warned > 0 {
		rows = append(rows, [2]string{"warned", fmt.Sprintf("%d cells left empty", r.Warned)})
	}
	if r.Trigger == schedule.TriggerUndo {
		rows = append(rows, [2]string{"undoes", r.Undoes}, [2]string{"reverted", fmt.Sprint(r.Reverted)},
			[2]string{"restored", fmt.Sprint(r.Restored)}, [2]string{"conflicts", fmt.Sprint(r.Conflicts)})
	}
	switch {
	case r.UndoneBy != "":
		rows = append(rows, [2]string{"undo", "undone by " + r.UndoneBy})
	case r.Undoable:
		rows = append(rows, [2]string{"undo", "intake undo " + r.ID})
	case r.UndoReason != "":
		rows = append(rows, [2]string{"undo", "cannot be undone: " + r.UndoReason})
	}
	rows = append(rows, [2]string{"source file", r.SourceRef}, [2]string{"rejected rows", r.RejectsRef})
	if withError {
		rows = append(rows, [2]string{"error", r.Error})
	}
	for _, kv := range rows {
		if kv[1] != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", kv[0], kv[1])
		}
	}
	return tw.Flush()
}

// runDownload runs "intake run download RUN_ID source|rejects OUT": the
// file a run imported, or its rejected rows (CSV), to OUT ("-": stdout).
func runDownload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newJobCmd("run download", "intake run download [-store URL] [-runs DIR] RUN_ID source|rejects OUT", stderr, false)
	runs := c.fs.String("runs", "", "the directory where runs keep their files (default: PATH-runs beside a sqlite:PATH store)")
	pos, err := c.parse(args, 3, 3, "RUN_ID, source or rejects, and OUT")
	if err != nil {
		return err
	}
	if pos[1] != "source" && pos[1] != "rejects" {
		return usagef("run download %s %s: download source (the file the run imported) or rejects (its rejected rows)", pos[0], pos[1])
	}
	dir, err := runFilesDir(*runs, c.storeURL)
	if err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	r, err := c.run(ctx, pos[0])
	if err != nil {
		return err
	}
	in, err := openRunFile(ctx, r, pos[1], dir)
	if err != nil {
		return err
	}
	defer in.Close()
	return copyOut(in, pos[2], stdout)
}

// openRunFile opens a run's kept source file or rejected rows.
func openRunFile(ctx context.Context, r schedule.Run, which, dir string) (io.ReadCloser, error) {
	archive, err := connector.NewDirArchive(dir)
	if err != nil {
		return nil, err
	}
	cfg := schedule.ImportConfig{Archive: archive}
	var f io.ReadCloser
	if which == "rejects" {
		f, err = cfg.OpenRejects(ctx, r)
	} else {
		f, err = cfg.OpenSource(ctx, r)
	}
	switch {
	case errors.Is(err, schedule.ErrNotFound) && which == "rejects":
		err = fmt.Errorf("run %s kept no rejected rows (%s, %d rejected)", r.ID, r.Status, r.Rejected)
	case errors.Is(err, schedule.ErrNotFound):
		err = fmt.Errorf("run %s kept no copy of its file (%s): it read no file", r.ID, r.Status)
	case errors.Is(err, os.ErrNotExist):
		err = fmt.Errorf("run %s: its %s file is not in %s (runs keep their files on the machine that ran them; -runs names another directory)", r.ID, which, dir)
	}
	if err != nil {
		archive.Close()
		return nil, err
	}
	return &closeBoth{ReadCloser: f, also: archive.Close}, nil
}

type closeBoth struct {
	io.ReadCloser
	also func() error
}

func (c *closeBoth) Close() error { return errors.Join(c.ReadCloser.Close(), c.also()) }

// copyOut copies in to the file out, or to stdout for "-".
func copyOut(in io.Reader, out string, stdout io.Writer) error {
	if out == "-" {
		_, err := io.Copy(stdout, in)
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
