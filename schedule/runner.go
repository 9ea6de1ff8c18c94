package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/sqlsource"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
)

// ImportConfig configures [ImportRunner], the standard [Runner] that turns
// a saved [Job] into an import.
type ImportConfig struct {
	// Registry opens file sources: a job's Source.Connector is a scheme
	// of it ("file" from connector.DefaultRegistry, or one the host
	// registered: "http" and "https" with package connector/httpconn,
	// "sftp" with package connector/sftp) and Source.Path the rest of the
	// URL; it reads the file in the job's format, so a host whose jobs read
	// workbooks registers XLSX on it (package connector/xlsx). Saved jobs
	// of a scheme the registry lacks fail to run with an error wrapping
	// connector.ErrUnknownScheme that names the package to register.
	// Required for file jobs.
	Registry *connector.Registry
	// DB runs the queries of SQL jobs (Source.Connector "sql"). Required for
	// SQL jobs.
	DB sqlsource.Queryer
	// Sink receives the writes; required unless SinkFor is set.
	Sink sink.Sink
	// SinkFor, when set, picks the sink by the job (its Target, say).
	SinkFor func(Job) (sink.Sink, error)
	// Archive keeps each run's fetched file (Run.SourceRef names it) and
	// its rejected rows (Run.RejectsRef), so that its history can offer
	// them; it is also how an unchanged file is recognized before anything
	// is imported (its content hash). Default: nil; a job with
	// SkipUnchanged then hashes into a temporary archive removed after the
	// run.
	Archive connector.Archive
	// RejectsDir, when set, receives each run's rejected rows as
	// RUNID-rejects.csv (Run.RejectsRef names the file when no Archive
	// keeps them). Default: none.
	RejectsDir string
	// Importer is the base configuration of each run's importer; its Sink
	// is set by the runner, and its Events hook, when set, is called after
	// the runner's own, which records the run's live progress.
	Importer importer.Config
	// Mapping are the base mapping options (default phone region, …).
	Mapping mapping.Options
}

// ImportRunner returns the standard [Runner]: it opens the job's source,
// builds the import its Spec describes (importer.JobSpec.Job, against the
// schemas the sink holds) and runs it into the sink, reporting live
// counts, the source's fingerprint and where the source and the rejected
// rows were kept through the run's [RunHandle]. All of the spec applies:
// mapping, record action or matrix, sync or rules, in-file duplicates,
// merge policy, consent, lists, tags, links, lifecycle reason and unlink;
// its source section says how a file is read (delimiter, encoding, header,
// sheet). A spec that does not fit the sink's schemas fails the run before
// the file is opened. The import's RunID is the run's ID: its report's
// run_id, its audit entries and the store's checkpoints name the run as
// the history does.
//
// A run with an Input (an uploaded file) imports that file instead of the
// job's Source.Path: Input is opened like the path, through the job's
// connector and format (a path under the file connector's root, or a
// URL), and is always imported. A run of the job's own source whose job
// has SkipUnchanged and whose file has the same content hash as the last
// successful run's is not imported: the run is recorded as
// skipped_unchanged.
//
// With an Archive, the run's source file and its rejected rows (a CSV
// file, kept when rows were rejected) are kept in it under the run's ID,
// and Run.SourceRef and Run.RejectsRef are their references;
// [ImportConfig.OpenSource] and [ImportConfig.OpenRejects] open them.
func ImportRunner(cfg ImportConfig) (Runner, error) {
	if cfg.Sink == nil && cfg.SinkFor == nil {
		return nil, errors.New("schedule: ImportRunner needs ImportConfig.Sink (or SinkFor)")
	}
	return func(ctx context.Context, job Job, run Run) (*importer.Report, error) {
		return runImport(ctx, &cfg, job, run)
	}, nil
}

func runImport(ctx context.Context, cfg *ImportConfig, job Job, run Run) (*importer.Report, error) {
	h := Handle(ctx)
	snk := cfg.Sink
	if cfg.SinkFor != nil {
		var err error
		if snk, err = cfg.SinkFor(job); err != nil {
			return nil, err
		}
	}
	ijob, err := job.Spec.Job(ctx, snk, nil)
	if err != nil {
		return nil, specError(job, err)
	}
	ijob.MappingOptions = cfg.Mapping
	// The report, the audit entries and the store's checkpoints name the
	// run by its id in the history (a retry is a run of its own).
	ijob.RunID = run.ID

	src, cleanup, err := openJobSource(ctx, cfg, job, run)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	ijob.Source = src
	var sourceRef string
	if fs, ok := src.(*connector.FileSource); ok {
		fp := fs.Fingerprint()
		h.SetFingerprint(fp)
		if cfg.Archive != nil {
			sourceRef = fs.ArchiveRef()
			h.SetRefs(sourceRef, "")
		}
		if run.Input == "" && job.SkipUnchanged && fp != "" && fp == run.PreviousFingerprint {
			src.Close()
			return nil, nil // recorded as skipped_unchanged
		}
	}

	rj, err := openRejects(cfg, run)
	if err != nil {
		src.Close()
		return nil, err
	}
	defer rj.discard()
	if rj != nil {
		ijob.Rejects = rj.f
	}
	icfg := cfg.Importer
	icfg.Sink = snk
	icfg.Events = h.Event
	if host := cfg.Importer.Events; host != nil {
		icfg.Events = func(e importer.Event) { h.Event(e); host(e) }
	}
	im, err := importer.New(icfg)
	if err != nil {
		src.Close()
		return nil, err
	}
	rep, err := im.Run(ctx, ijob)
	rejectsRef, kerr := rj.keep(context.WithoutCancel(ctx), cfg.Archive, run.ID, rep)
	if kerr != nil && err == nil {
		err = kerr
	}
	h.SetRefs(sourceRef, rejectsRef)
	return rep, err
}

// runRejects is the file a run's rejected rows are written to: in
// RejectsDir, or a temporary file when only the Archive keeps them.
type runRejects struct {
	f    *os.File
	temp bool
}

// openRejects creates the run's rejects file, or returns nil when neither
// RejectsDir nor Archive keeps rejected rows.
func openRejects(cfg *ImportConfig, run Run) (*runRejects, error) {
	var f *os.File
	var err error
	switch {
	case cfg.RejectsDir != "":
		f, err = os.Create(filepath.Join(cfg.RejectsDir, run.ID+"-rejects.csv"))
	case cfg.Archive != nil:
		f, err = os.CreateTemp("", "intake-rejects-*.csv")
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("schedule: rejects file: %w", err)
	}
	return &runRejects{f: f, temp: cfg.RejectsDir == ""}, nil
}

// keep closes the rejects file and returns its reference: its archive
// reference when an archive keeps it and rows were rejected, else its path
// in RejectsDir ("" for a temporary file).
func (r *runRejects) keep(ctx context.Context, archive connector.Archive, runID string, rep *importer.Report) (string, error) {
	if r == nil {
		return "", nil
	}
	if err := r.f.Close(); err != nil {
		return "", fmt.Errorf("schedule: rejects file: %w", err)
	}
	ref := ""
	if !r.temp {
		ref = r.f.Name()
	}
	if archive == nil || rep == nil || rep.Rejected == 0 {
		return ref, nil
	}
	f, err := os.Open(r.f.Name())
	if err != nil {
		return ref, fmt.Errorf("schedule: rejects file: %w", err)
	}
	defer f.Close()
	if ref, err = archive.Put(ctx, runID, runID+"-rejects.csv", f); err != nil {
		return "", fmt.Errorf("schedule: archive the rejected rows: %w", err)
	}
	return ref, nil
}

// discard closes the file and removes it when it is temporary.
func (r *runRejects) discard() {
	if r == nil {
		return
	}
	r.f.Close()
	if r.temp {
		os.Remove(r.f.Name())
	}
}

// OpenSource opens the source file a run imported, as the Archive kept it
// (Run.SourceRef). It fails, wrapping ErrNotFound, for a run that kept
// none: no Archive was set, the run read a SQL query, or it failed before
// the file was fetched.
func (cfg *ImportConfig) OpenSource(ctx context.Context, run Run) (io.ReadCloser, error) {
	if run.SourceRef == "" {
		return nil, fmt.Errorf("run %s kept no source file (set ImportConfig.Archive to keep them): %w", run.ID, ErrNotFound)
	}
	if cfg.Archive == nil {
		return nil, fmt.Errorf("schedule: run %s: its source is %s in an archive: set ImportConfig.Archive", run.ID, run.SourceRef)
	}
	return cfg.Archive.Open(ctx, run.SourceRef)
}

// OpenRejects opens the rejected rows of a run as CSV (importer.RejectColumns
// and the rows' cells): from the Archive, or the file in RejectsDir when
// no Archive kept them. It fails, wrapping ErrNotFound, for a run that
// kept none (no row was rejected, or neither Archive nor RejectsDir is
// set).
func (cfg *ImportConfig) OpenRejects(ctx context.Context, run Run) (io.ReadCloser, error) {
	ref := run.RejectsRef
	if ref == "" {
		return nil, fmt.Errorf("run %s kept no rejected rows (%d rejected): %w", run.ID, run.Rejected, ErrNotFound)
	}
	if cfg.RejectsDir != "" && filepath.Dir(ref) == filepath.Clean(cfg.RejectsDir) {
		root, err := os.OpenRoot(cfg.RejectsDir)
		if err != nil {
			return nil, fmt.Errorf("schedule: rejects directory: %w", err)
		}
		defer root.Close()
		return root.Open(filepath.Base(ref))
	}
	if cfg.Archive == nil {
		return nil, fmt.Errorf("schedule: run %s: its rejected rows are %s in an archive: set ImportConfig.Archive", run.ID, ref)
	}
	return cfg.Archive.Open(ctx, ref)
}

// specError returns the error of a spec that does not build against the
// sink: an *InvalidJobError with the problems' paths in the job.
func specError(job Job, err error) error {
	var es importer.SpecErrors
	if errors.As(err, &es) {
		return &InvalidJobError{Name: job.Name, Problems: specProblems(es)}
	}
	return fmt.Errorf("schedule: job %q: %w", job.Name, err)
}

// openJobSource opens the run's Input, or else the job's source; cleanup
// releases what it opened besides the source (which the importer closes).
func openJobSource(ctx context.Context, cfg *ImportConfig, job Job, run Run) (connector.Source, func(), error) {
	noop := func() {}
	spec := job.Source
	if strings.EqualFold(spec.Connector, "sql") {
		if run.Input != "" {
			return nil, noop, fmt.Errorf("schedule: job %q reads a SQL query: it cannot import the uploaded file %s", job.Name, run.Input)
		}
		if cfg.DB == nil {
			return nil, noop, fmt.Errorf("schedule: job %q reads a SQL query: set ImportConfig.DB", job.Name)
		}
		src, err := sqlsource.New(ctx, cfg.DB, sqlsource.Config{Query: spec.Query, Name: job.Name})
		return src, noop, err
	}
	if cfg.Registry == nil {
		return nil, noop, fmt.Errorf("schedule: job %q reads a file: set ImportConfig.Registry (connector.DefaultRegistry)", job.Name)
	}
	raw := spec.Path
	if run.Input != "" {
		raw = run.Input
	}
	switch {
	case strings.Contains(raw, "://"):
	case strings.EqualFold(spec.Connector, "file"): // a path under the registry's local root
		raw = "file:///" + strings.TrimPrefix(raw, "/")
	default: // sftp: user@host/path, http(s): host/path
		raw = spec.Connector + "://" + raw
	}
	conn, p, err := cfg.Registry.Open(ctx, raw)
	if err != nil {
		return nil, noop, err
	}
	closeConn := func() {
		if c, ok := conn.(io.Closer); ok {
			c.Close()
		}
	}
	var scfg connector.SourceConfig
	if scfg.Format, err = connector.ParseFormat(spec.Format); err != nil {
		closeConn()
		return nil, noop, err
	}
	if scfg.CSV, err = job.Spec.CSVConfig(); err != nil {
		closeConn()
		return nil, noop, err
	}
	scfg.Workbook.NoHeader = scfg.CSV.NoHeader
	scfg.Workbook.Sheet = job.Spec.Source.Sheet
	cleanup := closeConn
	scfg.Archive, scfg.RunID = cfg.Archive, run.ID
	if scfg.Archive == nil && job.SkipUnchanged {
		dir, err := os.MkdirTemp("", "intake-run-")
		if err != nil {
			closeConn()
			return nil, noop, err
		}
		if scfg.Archive, err = connector.NewDirArchive(dir); err != nil {
			closeConn()
			os.RemoveAll(dir)
			return nil, noop, err
		}
		cleanup = func() { closeConn(); os.RemoveAll(dir) }
	}
	src, err := cfg.Registry.OpenSource(ctx, conn, p, scfg)
	if err != nil {
		cleanup()
		return nil, noop, err
	}
	return src, cleanup, nil
}
