package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/schedule/acoustic"
	"github.com/intakehq/intake/sink"
)

type importFlags struct {
	store, mapping, acousticMap, action, sync string
	delimiter, encoding, sheet, object        string
	errors, job, saveJob                      string
	noHeader, dryRun, json                    bool

	rules, onMatch, onNoMatch, duplicates string
	merge, mergeBy, reason, actor         string
	lists, tags, consent                  string
	explain                               int
	allowResubscribe, acousticStrict      bool
	links, onUnknown, unlink              string
	noUndo, undoDeletes                   bool
}

// define declares the import flags. Each flag but -store, -job, -save-job,
// -acoustic-map, -dry-run, -errors, -json and -explain sets one key of the
// job spec.
func (f *importFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.store, "store", "sqlite:intake.db", "the store: sqlite:PATH, memory: or postgres://…")
	fs.StringVar(&f.job, "job", "", "a job spec (JSON) whose settings the import uses; flags given on the line override them")
	fs.StringVar(&f.saveJob, "save-job", "", "write the job spec that the flags (and -job) describe to this file, for -job and intake job create")
	fs.StringVar(&f.mapping, "mapping", "", "a mapping spec (JSON); without it columns are matched to fields by header")
	fs.StringVar(&f.acousticMap, "acoustic-map", "", "an Acoustic Campaign LIST_IMPORT XML mapping file")
	fs.BoolVar(&f.acousticStrict, "acoustic-strict", false, "with -acoustic-map: reject rows whose cells do not parse as their column's TYPE\n(default: as Acoustic, the cell is left empty and reported as a warning)")
	fs.StringVar(&f.action, "action", "add_and_update", "create | add_only | update_only | add_and_update | opt_out")
	fs.StringVar(&f.sync, "sync", "email", "comma-separated sync fields; several fields form one composite key")
	fs.StringVar(&f.delimiter, "delimiter", "auto", "auto | comma | semicolon | tab | pipe")
	fs.StringVar(&f.encoding, "encoding", "auto", "auto | utf-8 | utf-16 | iso-8859-1 | windows-1252")
	fs.BoolVar(&f.noHeader, "no-header", false, "the first row is data; the mapping refers to columns by 1-based index")
	fs.StringVar(&f.sheet, "sheet", "", "XLSX sheet (default: the first)")
	fs.StringVar(&f.object, "object", "contact", "contact | account | activity | a custom object type (default: the -mapping spec's object section, else contact);\na custom type's fields come from the spec's \"fields\" and the store, its key from the spec's \"key\" or -sync")
	fs.BoolVar(&f.dryRun, "dry-run", false, "validate, match and count; write nothing")
	fs.StringVar(&f.errors, "errors", "", "write rejected rows (original cells, line, code, message) to this CSV file")
	fs.BoolVar(&f.json, "json", false, "print the run report as JSON on stdout")
	fs.StringVar(&f.rules, "rules", "", "ordered identity rules separated by \";\", e.g. \"contact_id; email; phone\" (replaces -sync); a rule is\nfields joined by \",\" or \"+\", or md5(email), email[provider], id(FIELD)")
	fs.StringVar(&f.onMatch, "on-match", "", "update | skip | reject | opt_out | inactivate | delete | anonymize (overrides -action's)")
	fs.StringVar(&f.onNoMatch, "on-no-match", "", "create | skip | reject (overrides -action's)")
	fs.StringVar(&f.duplicates, "duplicates", "", "first | last | merge: rows whose key appeared earlier in the file (default: the action's rule)")
	fs.StringVar(&f.merge, "merge", "", "non_empty (default) | overwrite | fill_empty | newest | append: how an update merges with stored values")
	fs.StringVar(&f.mergeBy, "merge-by", "", "the timestamp field that -merge newest compares")
	fs.StringVar(&f.reason, "reason", "", "why records are inactivated, deleted or anonymized (required for those; kept in the audit log)")
	fs.StringVar(&f.actor, "actor", "", "who runs the import, for the audit log (default: $USER)")
	fs.StringVar(&f.lists, "lists", "", "comma-separated lists every imported record joins")
	fs.StringVar(&f.tags, "tags", "", "comma-separated tags every imported record gets")
	fs.StringVar(&f.consent, "consent", "", "comma-separated consent channels (email, sms): columns NAME_consent, NAME_consent_date, NAME_consent_source")
	fs.BoolVar(&f.allowResubscribe, "allow-resubscribe", false, "let the file turn opted-out contacts back to opted in (off: never)")
	fs.IntVar(&f.explain, "explain", 0, "explain the decision on each of the first N rows (best with -dry-run)")
	fs.StringVar(&f.links, "link", "", "comma-separated links FIELD[=OBJECT[.KEY]][[OPTIONS]]: resolve the foreign-key column FIELD to the record id\n"+
		"of the OBJECT (default account) whose KEY (default FIELD) it names, stored in OBJECT_record_id; e.g. account_id or\n"+
		"company=account.name. OPTIONS: many (FIELD lists several references, ids in OBJECT_record_ids), ROWFIELD:TARGETFIELD\n"+
		"(the row carries the target's data: one file, two objects), update (carried values update a found target);\n"+
		"e.g. 'lists=list.name[many]' or 'company_domain=account.domain[company_name:name update]' with -on-unknown create")
	fs.StringVar(&f.onUnknown, "on-unknown", "", "reject (default) | skip | empty | create: rows whose -link target or activity profile is unknown\n(empty: import without the link; create: a stub account or a minimal profile); a contact file's account_id\ncolumn links to the store's accounts without -link, and keeps unknown accounts' rows (empty) unless this says otherwise")
	fs.BoolVar(&f.noUndo, "no-undo", false, "keep no undo log: the run cannot be undone (intake undo)")
	fs.BoolVar(&f.undoDeletes, "undo-deletes", false, "with -on-match delete: keep the deleted records, so that intake undo can put them back\n(without it a deleting run cannot be undone)")
	fs.StringVar(&f.unlink, "unlink", "", "keep (default) | remove: with -on-match delete or anonymize, remove the links that point to each\ndeleted or anonymized record in every object type (and an anonymized record's own), audited with -reason")
}

// cmdImport runs "intake import [flags] FILE": the flags (over a -job
// spec) make a job spec, which is checked against the store and run on FILE.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f importFlags
	fs := newFlagSet("import", "intake import [-job JOBFILE] [-save-job JOBFILE] [flags] FILE", stderr)
	f.define(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("import needs exactly one FILE, got %d", len(pos))
	}
	file := pos[0]
	settings := specSettings{set: map[string]bool{}, job: f.job, acoustic: f.acousticMap}
	fs.Visit(func(fl *flag.Flag) { settings.set[fl.Name] = true })
	if err := f.checkCombinations(settings.set); err != nil {
		return err
	}
	spec, err := importSpec(&f, settings.set)
	if err != nil {
		return err
	}
	if f.acousticMap != "" {
		if err := applyAcoustic(spec, f.acousticMap, &f, settings.set, stderr); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, f.store)
	if err != nil {
		return err
	}
	defer st.close()
	job, err := buildJob(ctx, st.sink, spec, settings)
	if err != nil {
		return err
	}
	if f.saveJob != "" {
		if err := saveJobSpec(spec, f.saveJob); err != nil {
			return err
		}
	}
	return f.run(ctx, st, spec, job, file, stdout, stderr)
}

// checkCombinations refuses flags that contradict each other.
func (f *importFlags) checkCombinations(set map[string]bool) error {
	if f.explain < 0 {
		return usagef("-explain %d: give 0 (explain nothing) or more", f.explain)
	}
	if f.acousticMap == "" {
		if set["acoustic-strict"] {
			return usagef("-acoustic-strict applies to -acoustic-map: give the map, or leave -acoustic-strict out")
		}
		return nil
	}
	if f.mapping != "" {
		return usagef("-mapping and -acoustic-map both set the mapping: give one of them")
	}
	// The Acoustic mapping file sets the action, the sync fields, the file
	// type and the header flag; flags that would contradict it are refused
	// rather than silently overridden.
	for _, name := range []string{"action", "sync", "rules", "on-match", "on-no-match", "delimiter", "no-header"} {
		if set[name] {
			return usagef("-%s conflicts with -acoustic-map, which sets it: leave -%s out", name, name)
		}
	}
	if set["object"] && f.object != intake.ObjectContact {
		return usagef("-acoustic-map imports contacts: leave -object %s out", f.object)
	}
	return nil
}

// buildJob builds the importer's job from the spec against the store; the
// spec's problems are a usage error naming the flags (or the -job file)
// they come from.
func buildJob(ctx context.Context, s sink.Sink, spec *importer.JobSpec, settings specSettings) (importer.Job, error) {
	job, err := spec.Job(ctx, s, nil)
	var es importer.SpecErrors
	if errors.As(err, &es) {
		return job, settings.problems(es)
	}
	return job, err
}

// run opens FILE, runs the job on it and prints the report. The import's
// error is printed once: on stderr, not in the text report as well.
func (f *importFlags) run(ctx context.Context, st *store, spec *importer.JobSpec, job importer.Job, file string, stdout, stderr io.Writer) error {
	csvCfg, err := spec.CSVConfig()
	if err != nil {
		return usagef("%s", plainError(err))
	}
	src, err := openSource(ctx, file, csvCfg, spec.Source.Sheet)
	if err != nil {
		return err
	}
	job.Source, job.DryRun, job.Explain = src, f.dryRun, f.explain
	if job.Name == "" {
		job.Name = file
	}
	if job.Actor == "" {
		job.Actor = os.Getenv("USER")
	}
	var rejects *os.File
	if f.errors != "" {
		if rejects, err = os.Create(f.errors); err != nil {
			src.Close()
			return fmt.Errorf("-errors: %w", err)
		}
		defer rejects.Close()
		job.Rejects = rejects
	}
	cfg := importer.Config{Sink: st.sink}
	var bar *progressBar
	if !f.json && isTerminal(stderr) {
		bar = &progressBar{w: stderr}
		cfg.Events = bar.event
	}
	im, err := importer.New(cfg)
	if err != nil {
		src.Close()
		return err
	}
	if ok, why := im.Undoable(job); !ok && !job.DryRun {
		fmt.Fprintf(stderr, "intake: note: this run cannot be undone: %s\n", why)
	}
	rep, runErr := im.Run(ctx, job)
	bar.clear()
	if rejects != nil {
		if err := rejects.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("-errors: %w", err)
		}
	}
	if !f.json {
		fmt.Fprintf(stdout, "%s → %s (%s)\n", file, redact(f.store), describeJob(job))
	}
	if err := printReport(stdout, rep, f.json); err != nil {
		return err
	}
	return cliError(runErr)
}

// printReport prints a run's report: as JSON (importer.Report's form, which
// other programs read), or as text without its error, which the caller
// prints on stderr.
func printReport(w io.Writer, rep *importer.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	text := *rep
	text.Error = ""
	return text.WriteText(w)
}

// describeJob says what a job does to each row: "add_and_update, sync on
// email", "account: update_only, sync on account_id".
func describeJob(job importer.Job) string {
	job = job.WithDefaults()
	what := job.Action.String()
	if object := job.Schema.Object(); object != intake.ObjectContact {
		what = object + ": " + what
	}
	return what + ", sync on " + job.Identity.String()
}

func loadSpec(path string) (*mapping.Spec, error) {
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("-mapping %s: no such file", path)
		}
		return nil, fmt.Errorf("-mapping: %w", err)
	}
	defer fh.Close()
	spec, err := mapping.LoadSpec(fh)
	if err != nil {
		return nil, usagef("-mapping %s: %s", path, plainError(err))
	}
	return spec, nil
}

func loadAcoustic(path string) (*acoustic.Map, error) {
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("-acoustic-map %s: no such file", path)
		}
		return nil, fmt.Errorf("-acoustic-map: %w", err)
	}
	defer fh.Close()
	a, err := acoustic.Load(fh)
	if err != nil {
		return nil, usagef("-acoustic-map %s: %s", path, plainError(err))
	}
	return a, nil
}

func cmdMapSuggest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var csvCfg connector.CSVConfig
	var delim, enc, object, sheet, storeURL, specPath string
	fs := newFlagSet("map suggest", "intake map suggest [flags] FILE", stderr)
	fs.StringVar(&delim, "delimiter", "auto", "auto | comma | semicolon | tab | pipe")
	fs.StringVar(&enc, "encoding", "auto", "auto | utf-8 | utf-16 | iso-8859-1 | windows-1252")
	fs.StringVar(&object, "object", "contact", "the object type whose fields the columns are matched to: contact, account, activity,\nor a custom type that -store holds or -mapping defines")
	fs.StringVar(&sheet, "sheet", "", "XLSX sheet (default: the first visible)")
	fs.StringVar(&storeURL, "store", "", "a store whose fields of the object type the columns may map to as well (default: none)")
	fs.StringVar(&specPath, "mapping", "", "a mapping spec whose object section and fields the suggestion keeps (its columns are suggested again)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("map suggest needs exactly one FILE, got %d", len(pos))
	}
	if csvCfg.Delimiter, err = connector.ParseDelimiter(delim); err != nil {
		return usagef("-delimiter: %s", plainError(err))
	}
	if csvCfg.Encoding, err = connector.ParseEncoding(enc); err != nil {
		return usagef("-encoding: %s", plainError(err))
	}
	var given *mapping.Spec
	if specPath != "" {
		if given, err = loadSpec(specPath); err != nil {
			return err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	object, given, err = specObject(given, specPath, object, set["object"])
	if err != nil {
		return err
	}
	var schema *intake.Schema
	switch {
	case storeURL != "":
		st, err := openStore(ctx, storeURL)
		if err != nil {
			return err
		}
		defer st.close()
		if schema, _, err = objectSchema(ctx, st.sink, object, given, specPath); err != nil {
			return err
		}
	case given != nil:
		if schema, err = given.ObjectSchema(); err != nil {
			return usagef("-mapping %s: %s", specPath, plainError(err))
		}
	default:
		if schema = intake.DefaultSchema(object); schema == nil {
			return usagef("-object %s is a custom object type: give -store with a store that holds %s records, or -mapping with a spec whose \"fields\" define it", object, object)
		}
	}
	if object == intake.ObjectContact && schema.Index("account_id") < 0 {
		// An import links a contact's account_id to its account
		// (importer.Job.AccountLink): the suggestion maps the column too.
		if s, err := intake.NewSchema(object, append(schema.Fields(), intake.Field{Name: "account_id", Type: intake.TypeID, Label: "Account ID"})...); err == nil {
			schema = s
		}
	}
	src, err := openSource(ctx, pos[0], csvCfg, sheet)
	if err != nil {
		return err
	}
	defer src.Close()
	header, err := src.Header(ctx)
	if err != nil {
		return err
	}
	if header == nil {
		return usagef("%s has no header row to suggest a mapping from", pos[0])
	}
	// The first rows let the suggestion use the cells' content too.
	var sample [][]string
	for len(sample) < mapping.SampleRows {
		row, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		var re *intake.RowError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			return err
		}
		sample = append(sample, row.Cells)
	}
	out := mapping.SuggestDetailed(header, sample, schema, mapping.SuggestOptions{}).Spec()
	// The suggestion keeps the given spec's object section and fields, and
	// names the object type when it is not contact, so that -mapping
	// imports it as such.
	switch {
	case given != nil:
		out.Object, out.Fields = given.Object, given.Fields
	case object != intake.ObjectContact:
		out.Object = &mapping.ObjectSpec{Name: object}
	}
	if object == intake.ObjectActivity {
		// An activity import keeps the columns the spec does not mention
		// as properties, as it does without a spec: the suggestion leaves
		// them out rather than skip them.
		out.Columns = slices.DeleteFunc(out.Columns, func(c mapping.Column) bool { return c.Skip })
	}
	return out.Save(stdout)
}

// progressBar draws "percent, rows, rate, ETA" on one terminal line from
// the run's events (importer.Config.Events), redrawn after a committed batch
// at most every barEvery of the run.
type progressBar struct {
	w     io.Writer
	drawn bool
	at    time.Duration // the run's Elapsed at the last drawing
}

// barEvery bounds the redraws: the run waits for the hook, and a terminal
// needs no more.
const barEvery = 250 * time.Millisecond

func (b *progressBar) event(e importer.Event) {
	if e.Kind != importer.BatchCommitted || b.drawn && e.Elapsed-b.at < barEvery {
		return
	}
	line := fmt.Sprintf("%s rows  %s rows/s", grouped(e.Counts.Rows), grouped(int64(e.RowsPerSecond)))
	if frac, ok := e.Fraction(); ok && frac > 0 {
		eta := time.Duration(float64(e.Elapsed) / frac * (1 - frac))
		line = fmt.Sprintf("%3.0f%%  %s  ETA %s", 100*frac, line, eta.Round(time.Second))
	}
	fmt.Fprintf(b.w, "\r%-70s", line)
	b.drawn, b.at = true, e.Elapsed
}

func (b *progressBar) clear() {
	if b != nil && b.drawn {
		fmt.Fprintf(b.w, "\r%-70s\r", "")
	}
}

func grouped(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
