package schedule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
)

// ImportConfig configures [ImportRunner], the standard [Runner] that turns
// a saved [Job] into an import.
type ImportConfig struct {
	// Registry opens file sources: a job's Source.Connector is a scheme
	// of it ("file", "http", "https", "sftp", or one the host registered)
	// and Source.Path the rest of the URL. Required for file jobs.
	Registry *connector.Registry
	// DB runs the queries of SQL jobs (Source.Connector "sql"). Required for
	// SQL jobs.
	DB connector.Queryer
	// Sink receives the writes; required unless SinkFor is set.
	Sink sink.Sink
	// SinkFor, when set, picks the sink by the job (its Target, say).
	SinkFor func(Job) (sink.Sink, error)
	// Schema returns the base schema of an object type. Default: the
	// contact schema for "" and "contact", an error otherwise.
	Schema func(object string) (*intake.Schema, error)
	// Archive keeps each run's fetched file (Run.SourceRef names it), so
	// that its history can show it; it is also how an unchanged file is
	// recognized before anything is imported (its content hash). Default:
	// nil; a job with SkipUnchanged then hashes into a temporary archive
	// removed after the run.
	Archive connector.Archive
	// RejectsDir, when set, receives each run's rejected rows as
	// RUNID-rejects.csv (Run.RejectsRef names the file). Default: none.
	RejectsDir string
	// Importer is the base configuration of each run's importer; its Sink
	// is set by the runner, and its Events hook, when set, is called after
	// the runner's own, which records the run's live progress.
	Importer importer.Config
	// Mapping are the base mapping options (default phone region, …).
	Mapping mapping.Options
}

// ImportRunner returns the standard [Runner]: it opens the job's source,
// maps it with the job's mapping spec (or a suggested one), and imports it
// with the job's action and sync fields into the sink, reporting live
// counts, the source's fingerprint and where the source and the rejected
// rows were kept through the run's [RunHandle].
//
// A job whose AllowNewRecords is false never creates records: its
// add_and_update runs as update_only (and create, add_only are refused).
// A job with SkipUnchanged whose file has the same content hash as the last
// successful run's is not imported: the run is recorded as
// skipped_unchanged. Source.Options understood for files: delimiter,
// encoding, no_header ("true"), sheet.
func ImportRunner(cfg ImportConfig) (Runner, error) {
	if cfg.Sink == nil && cfg.SinkFor == nil {
		return nil, errors.New("schedule: ImportRunner needs ImportConfig.Sink (or SinkFor)")
	}
	if cfg.Schema == nil {
		cfg.Schema = func(object string) (*intake.Schema, error) {
			if object == "" || object == intake.ObjectContact {
				return intake.ContactSchema(), nil
			}
			return nil, fmt.Errorf("schedule: no schema for object type %q: set ImportConfig.Schema", object)
		}
	}
	return func(ctx context.Context, job Job, run Run) (*importer.Report, error) {
		return runImport(ctx, &cfg, job, run)
	}, nil
}

func runImport(ctx context.Context, cfg *ImportConfig, job Job, run Run) (*importer.Report, error) {
	h := Handle(ctx)
	action, err := jobAction(job)
	if err != nil {
		return nil, err
	}
	schema, err := cfg.Schema(job.Object)
	if err != nil {
		return nil, err
	}
	var spec *mapping.Spec
	if len(job.Mapping) > 0 && string(job.Mapping) != "null" {
		if spec, err = mapping.LoadSpec(bytes.NewReader(job.Mapping)); err != nil {
			return nil, fmt.Errorf("schedule: job %q: its mapping: %w", job.Name, err)
		}
	}
	snk := cfg.Sink
	if cfg.SinkFor != nil {
		if snk, err = cfg.SinkFor(job); err != nil {
			return nil, err
		}
	}

	src, cleanup, err := openJobSource(ctx, cfg, job, run)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if fs, ok := src.(*connector.FileSource); ok {
		fp := fs.Fingerprint()
		h.SetFingerprint(fp)
		if cfg.Archive != nil {
			h.SetRefs(fs.ArchiveRef(), "")
		}
		if job.SkipUnchanged && fp != "" && fp == run.PreviousFingerprint {
			src.Close()
			return nil, nil // recorded as skipped_unchanged
		}
	}

	ijob := importer.Job{
		Name:           job.Name,
		Source:         src,
		Schema:         schema,
		Mapping:        spec,
		MappingOptions: cfg.Mapping,
		Action:         action,
		Sync:           intake.Keys(job.Sync...),
	}
	var rejects *os.File
	if cfg.RejectsDir != "" {
		name := filepath.Join(cfg.RejectsDir, run.ID+"-rejects.csv")
		if rejects, err = os.Create(name); err != nil {
			src.Close()
			return nil, fmt.Errorf("schedule: rejects file: %w", err)
		}
		defer rejects.Close()
		ijob.Rejects = rejects
		ref := ""
		if fs, ok := src.(*connector.FileSource); ok && cfg.Archive != nil {
			ref = fs.ArchiveRef()
		}
		h.SetRefs(ref, name)
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
	if rejects != nil {
		if cerr := rejects.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return rep, err
}

// jobAction applies AllowNewRecords to the job's action.
func jobAction(job Job) (intake.Action, error) {
	a := job.Action
	if a == "" {
		a = intake.ActionAddAndUpdate
	}
	if !a.Valid() {
		return "", fmt.Errorf("schedule: job %q: unknown action %q", job.Name, a)
	}
	if job.AllowNewRecords {
		return a, nil
	}
	switch a {
	case intake.ActionAddAndUpdate:
		return intake.ActionUpdateOnly, nil
	case intake.ActionCreate, intake.ActionAddOnly:
		return "", fmt.Errorf("schedule: job %q: action %s creates records, and the job does not allow new records (set AllowNewRecords)", job.Name, a)
	}
	return a, nil
}

// openJobSource opens the job's source; cleanup releases what it opened
// besides the source (which the importer closes).
func openJobSource(ctx context.Context, cfg *ImportConfig, job Job, run Run) (connector.Source, func(), error) {
	noop := func() {}
	spec := job.Source
	if strings.EqualFold(spec.Connector, "sql") {
		if cfg.DB == nil {
			return nil, noop, fmt.Errorf("schedule: job %q reads a SQL query: set ImportConfig.DB", job.Name)
		}
		src, err := connector.NewSQL(ctx, cfg.DB, connector.SQLConfig{Query: spec.Query, Name: job.Name})
		return src, noop, err
	}
	if cfg.Registry == nil {
		return nil, noop, fmt.Errorf("schedule: job %q reads a file: set ImportConfig.Registry (connector.DefaultRegistry)", job.Name)
	}
	raw := spec.Path
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
	o := spec.Options
	if scfg.CSV.Delimiter, err = connector.ParseDelimiter(o["delimiter"]); err != nil {
		closeConn()
		return nil, noop, err
	}
	if scfg.CSV.Encoding, err = connector.ParseEncoding(o["encoding"]); err != nil {
		closeConn()
		return nil, noop, err
	}
	scfg.CSV.NoHeader = o["no_header"] == "true"
	scfg.XLSX.NoHeader = scfg.CSV.NoHeader
	scfg.XLSX.Sheet = o["sheet"]
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
	src, err := connector.OpenSource(ctx, conn, p, scfg)
	if err != nil {
		cleanup()
		return nil, noop, err
	}
	return src, cleanup, nil
}
