// Command bench measures how fast Intake imports a large contact file and
// how much memory it takes, next to two references: a bare encoding/csv read
// of the same file (the floor: reading and splitting CSV costs at least that
// much) and the sqlite3 shell's .import (what a database's own bulk loader
// does with the file).
//
// Run it from the module root:
//
//	go run ./internal/bench                  # 1,000,000 rows (~130 MB), every mode
//	go run ./internal/bench -rows 100000     # quicker
//	go run ./internal/bench -only csv,memory -cpuprofile /tmp/prof
//	go run ./internal/bench -json            # the figures as JSON
//	go run ./internal/bench -rows 200000 -undo -repeat 3   # and the undo log's cost
//
// The cost per row of each stage of the memory pipeline (parse, map, key,
// match, write) is a go test benchmark, BenchmarkStages, for comparing two
// versions with benchstat:
//
//	go test -run '^$' -bench Stages -count 10 ./internal/bench/ > old.txt
//	go test -run '^$' -bench Stages -count 10 ./internal/bench/ > new.txt
//	benchstat old.txt new.txt
//
// # What it does
//
// It writes DIR/contacts.csv: N deterministic (-seed), realistic contact
// rows with the header
//
//	Customer ID,E-Mail,First Name,Last Name,Mobile,Date of Birth,Country,City,Lifetime Value
//
// which mapping.Suggest maps to the default contact schema. About 5% of the
// rows repeat the email of an earlier row in another case or with spaces
// around it (so they update the record the first one created); names include
// non-ASCII ones (José, Zoë, Łukasz, Søren, 山田) and quoted ones with commas
// ("Smith, Jr."), as do cities ("Washington, D.C."); phones are possible
// numbers in international format for eleven countries.
//
// Then it runs each mode in its own child process, so that the peak
// resident set size (the child's rusage Maxrss) belongs to that mode alone:
//
//	csv      encoding/csv with ReuseRecord, counting rows: the floor
//	memory   importer.Run (add_and_update, sync on email) into memory.New
//	sqlite   the same into a fresh sqlite.Open file, DIR/bench.db
//	sqlite3  the sqlite3 shell: .import of the file into a table with a
//	         unique index on email (skipped when sqlite3 is not on PATH)
//
// and, with the memory mode, a keyset child that measures identity.Seen,
// the in-file key set of the matcher. Go children also report Go heap
// figures: the peak of HeapInuse (sampled every 2ms through runtime/metrics)
// and HeapAlloc after a GC before and after the run; in the memory mode the
// difference, with the sink still alive, plus what the sink keeps off the Go
// heap (memory.Store.Stats: its mmap'd arena and index tables), divided by
// the stored records is the memory sink's cost per contact, key index
// included, and the undo log too when the sink keeps it (memory-noundo
// keeps none).
//
// A keyindex child imports with create and no sync fields (so the memory
// sink builds no key index), then measures the Go heap and the sink's
// off-heap index bytes around the first Lookup by email, which builds the
// index over every record.
//
// The memory and SQLite imports keep an undo log when the store implements
// sink.Undoer (importer.UndoOptions): the modes above keep it, and -undo
// adds the modes that measure what it costs, each next to the mode it is
// compared with:
//
//	memory-noundo           memory with Job.Undo.Off
//	sqlite-noundo           sqlite with Job.Undo.Off
//	sqlite-reimport         imports contacts.csv into a fresh bench.db
//	                        (untimed, undo off), then times the import of
//	                        DIR/contacts-changed.csv over it, with the log
//	sqlite-reimport-noundo  the same, the timed import with Job.Undo.Off
//
// contacts-changed.csv holds the rows of contacts.csv, each with the same
// email written the same way, another city of its country and another
// lifetime value: every row updates its record, and those whose email no
// other row has change just those two fields (a record the file has several
// rows for changes as the rows differ). The CPU seconds of a re-import mode
// leave out the import of the base file; its peak RSS and heap do not.
//
// Every pipeline mode's counts are checked against the file: a create
// import creates a record per distinct email and updates it (or leaves it
// unchanged) with every row that repeats its email; a re-import updates a
// record with every row and creates none. A child also checks that its run
// kept an undo log exactly when the store implements sink.Undoer and the
// mode does not turn it off. When the store keeps none, a mode and its
// noundo mode run the same import, and their difference is noise.
//
// The undo modes are not run by default because they make the default run
// about four times as long (two more imports, and two re-imports that each
// import the file twice).
//
// It prints a table (rows, seconds, rows/s, the child's CPU seconds, peak
// RSS, peak Go heap, the ratio to the mode's reference) and PASS/FAIL lines
// for the targets: the memory pipeline at least 25% of the encoding/csv
// rate; SQLite at least 0.8× the sqlite3 shell; memory-mode peak RSS minus
// the bytes of the stored records (off-heap and heap) under 64 MiB; at most 400 bytes
// per stored contact; at most 64 bytes per distinct key in the memory
// sink's key index and in identity.Seen. Seconds are measured inside a Go
// child around the work (open the source and the sink, run, close), and
// around the whole process for sqlite3. Other work on the machine skews
// wall times: the CPU seconds (rusage) and the load averages printed with
// the table help to tell. The exit status is 1 when a mode failed or a
// pipeline miscounted (not when a target is missed).
//
// With the undo modes it prints the undo log's cost per pipeline, the extra
// CPU and wall seconds of the import that keeps it over the same import
// without it (and the memory store's extra bytes per contact), and checks
// two budgets in CPU seconds, the steadier figure: a re-import that changes
// two fields of every row at most 15% slower, a create import (memory and
// SQLite) at most 3%. The issue asks that the log cost nothing measurable on
// a create; 3% is the noise threshold chosen for it, a little above the 1%
// within which the steadiest pairs of runs of the same import came. They were
// measured before the SQLite store kept an undo log, when sqlite and
// sqlite-noundo ran the same import: on a shared 2-core machine at load
// averages of 2 to 3, three of nine such pairs (200,000 or 1,000,000 rows,
// -repeat 3 or 5) came within 1%, the other six differed by 3.5% to 12%
// either way. So on a busy machine a FAIL of the create check means little
// until it repeats (more rows, more -repeat, a quieter moment: the load
// averages are printed); the re-import's 15% stands above the noise its
// pairs showed, at most 9%.
//
// -repeat N runs every mode N times, in rounds of every mode so that the
// modes compared share the machine's ups and downs, and keeps its fastest
// run; the undo costs compare the least CPU seconds of each mode's runs
// (other work only adds to them), and -json lists every run's seconds.
//
// -cpuprofile PREFIX and -memprofile PREFIX write PREFIX.MODE.pprof from
// each Go child (the memory profile is the allocs profile: use
// -sample_index=alloc_space or inuse_space), for go tool pprof.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// childEnv marks a child process; the test binary's TestMain looks for it.
const childEnv = "INTAKE_BENCH_CHILD"

// Targets.
const (
	targetMemoryVsCSV    = 0.25
	targetSQLiteVsShell  = 0.8
	targetOverheadMiB    = 64
	targetBytesPerRecord = 400
	targetBytesPerKey    = 64
	targetUndoCreate     = 0.03 // the noise threshold: see the package doc
	targetUndoReimport   = 0.15
)

// allModes are the modes run by default.
var allModes = []string{"csv", "memory", "sqlite", "sqlite3"}

// undoModes measure the cost of the undo log: -undo adds them.
var undoModes = []string{"memory-noundo", "sqlite-noundo", "sqlite-reimport", "sqlite-reimport-noundo"}

// undoAfter is the mode -undo puts each undo mode after, when it runs, so
// that the modes compared run one after the other.
var undoAfter = map[string]string{
	"memory-noundo":          "memory",
	"sqlite-noundo":          "sqlite",
	"sqlite-reimport":        "sqlite-noundo",
	"sqlite-reimport-noundo": "sqlite-reimport",
}

// undoCosts are the comparisons of a mode that keeps an undo log with the
// same import without one, and the most it may cost, in CPU seconds.
var undoCosts = []struct {
	what, on, off string
	limit         float64
}{
	{"create import", "memory", "memory-noundo", targetUndoCreate},
	{"create import", "sqlite", "sqlite-noundo", targetUndoCreate},
	{"re-import changing 2 fields of every row", "sqlite-reimport", "sqlite-reimport-noundo", targetUndoReimport},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	rows        int
	dir         string
	keep        bool
	only        string
	undo        bool
	seed        uint64
	batch       int
	workers     int
	json        bool
	cpuprofile  string
	memprofile  string
	sqlite3Path string
	child       string
	file        string
	base        string
	distinct    int
	repeat      int
}

// modeResult is one mode's figures, as printed with -json.
type modeResult struct {
	*Figures
	SkipReason  string  `json:"skipped_reason,omitempty"`
	Failed      string  `json:"error,omitempty"`
	WallSeconds float64 `json:"wall_seconds"`
	RowsPerSec  float64 `json:"rows_per_sec"`
	PeakRSS     int64   `json:"peak_rss_bytes"`
	// CPUSeconds is the child's user+system CPU time (rusage): less skewed
	// than wall time by other work on the machine.
	// In the re-import modes it leaves out the untimed import of the base
	// file (SetupCPUSeconds); their peak RSS and heap include it.
	CPUSeconds float64 `json:"cpu_seconds"`
	// Runs are the seconds and CPU seconds of every run, with -repeat.
	Runs []runFigures `json:"runs,omitempty"`
	// Ratio is rows/s over the reference's rows/s (memory: csv; sqlite:
	// sqlite3); 0 when there is no reference.
	Ratio float64 `json:"ratio,omitempty"`
	// sqlite3 mode: rows the table holds at the end, and lines the shell
	// wrote on stderr (one per rejected duplicate).
	TableRows   int64  `json:"table_rows,omitempty"`
	StderrLines int64  `json:"stderr_lines,omitempty"`
	StderrHead  string `json:"stderr_head,omitempty"`
}

// runFigures are the times of one run of a mode.
type runFigures struct {
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// check is one target check.
type check struct {
	Name   string    `json:"name"`
	Pass   bool      `json:"pass"`
	Detail string    `json:"detail"`
	Undo   *undoCost `json:"undo_cost,omitempty"`
}

// undoCost is what keeping the undo log costs an import: the figures of the
// mode that keeps it (On) over those of the same import without it (Off).
type undoCost struct {
	What string `json:"what"`
	On   string `json:"on"`
	Off  string `json:"off"`
	// CPUPercent and WallPercent are the extra CPU seconds and wall seconds
	// of On, in percent of Off's: with -repeat, the least CPU seconds of
	// each mode's runs and the seconds of its fastest run.
	CPUPercent  float64 `json:"cpu_percent"`
	WallPercent float64 `json:"wall_percent"`
	// Logged says whether On kept an undo log: false when the store keeps
	// none, and then On and Off run the same import.
	Logged bool `json:"logged"`
	// BytesPerContactOn and BytesPerContactOff are the memory store's
	// bytes per stored contact with and without the log (memory modes).
	BytesPerContactOn  float64 `json:"bytes_per_contact_on,omitempty"`
	BytesPerContactOff float64 `json:"bytes_per_contact_off,omitempty"`
}

// output is everything the command reports (the -json form).
type output struct {
	Rows int    `json:"rows"`
	File string `json:"file"`
	// ChangedFile is the file the re-import modes time, over the records
	// File left.
	ChangedFile string   `json:"changed_file,omitempty"`
	Gen         genStats `json:"generated"`
	GenSeconds  float64  `json:"generate_seconds"`
	CPUs        int      `json:"cpus"`
	// Load is /proc/loadavg before and after the runs: other work on the
	// machine skews the figures.
	LoadBefore string                 `json:"load_before,omitempty"`
	LoadAfter  string                 `json:"load_after,omitempty"`
	Go         string                 `json:"go"`
	Modes      []*modeResult          `json:"modes"`
	Keyset     *modeResult            `json:"keyset,omitempty"`
	KeyIndex   *modeResult            `json:"keyindex,omitempty"`
	Checks     []check                `json:"checks"`
	byMode     map[string]*modeResult `json:"-"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.rows, "rows", 1_000_000, "number of contact rows to generate")
	fs.StringVar(&o.dir, "dir", "", "directory for contacts.csv and bench.db (default: a temporary directory, removed at the end unless -keep)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	fs.StringVar(&o.only, "only", strings.Join(allModes, ","), "comma-separated modes to run: "+strings.Join(append(allModes[:len(allModes):len(allModes)], undoModes...), ", "))
	fs.BoolVar(&o.undo, "undo", false, "also run the undo modes ("+strings.Join(undoModes, ", ")+") and print the undo log's cost")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generator")
	fs.IntVar(&o.batch, "batch", 0, "importer batch size (0: the importer's default)")
	fs.IntVar(&o.workers, "workers", 0, "importer mapping workers (0: the importer's default, GOMAXPROCS)")
	fs.BoolVar(&o.json, "json", false, "print the figures as JSON")
	fs.IntVar(&o.repeat, "repeat", 1, "run each mode `N` times and keep its fastest run (steadier figures on a busy machine)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of each Go child to `PREFIX`.MODE.pprof")
	fs.StringVar(&o.memprofile, "memprofile", "", "write an allocs profile of each Go child to `PREFIX`.MODE.pprof")
	fs.StringVar(&o.sqlite3Path, "sqlite3", "sqlite3", "the sqlite3 shell to compare with")
	// Hidden: the parent starts children with these.
	fs.StringVar(&o.child, "child", "", "(internal) run one mode and print its figures as JSON")
	fs.StringVar(&o.file, "file", "", "(internal) the CSV file of a child")
	fs.StringVar(&o.base, "base", "", "(internal) the CSV file a re-import child imports first")
	fs.IntVar(&o.distinct, "distinct", 0, "(internal) the distinct emails of the file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.child != "" {
		res, err := runChild(childOptions{mode: o.child, file: o.file, base: o.base, dir: o.dir, rows: int64(o.rows),
			distinct: int64(o.distinct), batch: o.batch, workers: o.workers, cpuprofile: o.cpuprofile, memprofile: o.memprofile})
		if res != nil {
			json.NewEncoder(stdout).Encode(res)
		}
		if err != nil {
			fmt.Fprintf(stderr, "bench %s: %v\n", o.child, err)
			return 1
		}
		return 0
	}
	if o.rows <= 0 {
		fmt.Fprintln(stderr, "bench: -rows must be positive")
		return 2
	}
	modes, err := parseModes(o.only, o.undo)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "intake-bench-")
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		o.dir = d
		if o.keep {
			fmt.Fprintf(stderr, "bench: keeping %s\n", d)
		} else {
			defer os.RemoveAll(d)
		}
	} else if err := os.MkdirAll(o.dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	out, failed := parent(o, modes, stderr)
	if out == nil {
		return 1
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		printTable(stdout, out)
	}
	if failed {
		return 1
	}
	return 0
}

// parseModes returns the modes of -only, and with undo the undo modes it
// does not list: each after the mode it is compared with, or at the end.
func parseModes(s string, undo bool) ([]string, error) {
	known := append(allModes[:len(allModes):len(allModes)], undoModes...)
	var modes []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if !slices.Contains(known, m) {
			return nil, fmt.Errorf("unknown mode %q in -only (modes: %s)", m, strings.Join(known, ", "))
		}
		if !slices.Contains(modes, m) {
			modes = append(modes, m)
		}
	}
	if undo {
		for _, m := range undoModes {
			switch k := slices.Index(modes, undoAfter[m]); {
			case slices.Contains(modes, m):
			case k >= 0:
				modes = slices.Insert(modes, k+1, m)
			default:
				modes = append(modes, m)
			}
		}
	}
	if len(modes) == 0 {
		return nil, errors.New("-only names no mode")
	}
	return modes, nil
}

// parent generates the file, runs the children and computes the checks.
func parent(o options, modes []string, stderr io.Writer) (*output, bool) {
	out := &output{Rows: o.rows, File: filepath.Join(o.dir, "contacts.csv"), CPUs: runtime.NumCPU(),
		Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, byMode: map[string]*modeResult{}}
	t0 := time.Now()
	gen, err := generate(out.File, o.rows, o.seed)
	if err != nil {
		fmt.Fprintf(stderr, "bench: generate: %v\n", err)
		return nil, true
	}
	out.Gen, out.GenSeconds = gen, time.Since(t0).Seconds()
	fmt.Fprintf(stderr, "bench: generated %s: %d rows, %.1f MB, %d duplicate emails, in %.1fs\n",
		out.File, gen.Rows, float64(gen.Bytes)/1e6, gen.Duplicates, out.GenSeconds)
	o.distinct = gen.Distinct
	if slices.ContainsFunc(modes, func(m string) bool { return pipelines[m].reimport }) {
		out.ChangedFile = filepath.Join(o.dir, "contacts-changed.csv")
		t0 := time.Now()
		if _, err := generateChanged(out.ChangedFile, o.rows, o.seed); err != nil {
			fmt.Fprintf(stderr, "bench: generate the changed file: %v\n", err)
			return nil, true
		}
		fmt.Fprintf(stderr, "bench: generated %s in %.1fs\n", out.ChangedFile, time.Since(t0).Seconds())
	}
	out.LoadBefore = loadavg()
	defer func() { out.LoadAfter = loadavg() }()
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	// With -repeat, the runs go in rounds of every mode, so that the modes
	// compared with each other share the machine's ups and downs.
	failed := false
	best := map[string]*modeResult{}
	rounds := max(o.repeat, 1)
	for round := range rounds {
		for _, mode := range modes {
			if m := best[mode]; m != nil && !ok(m) {
				continue // failed or skipped: not again
			}
			if rounds > 1 {
				fmt.Fprintf(stderr, "bench: running %s (%d/%d)…\n", mode, round+1, rounds)
			} else {
				fmt.Fprintf(stderr, "bench: running %s…\n", mode)
			}
			var r *modeResult
			switch {
			case mode == "sqlite3":
				r = runShell(o, out.File)
			case pipelines[mode].reimport:
				r = runGoChild(exe, o, mode, out.ChangedFile, out.File)
			default:
				r = runGoChild(exe, o, mode, out.File, "")
			}
			// A failure is kept (and stops the mode's runs), else the
			// fastest run.
			var runs []runFigures
			if m := best[mode]; m != nil {
				runs = m.Runs
			}
			if rounds > 1 && ok(r) {
				runs = append(runs, runFigures{Seconds: r.Seconds, CPUSeconds: r.CPUSeconds})
			}
			if m := best[mode]; m == nil || !ok(r) || r.Seconds < m.Seconds {
				best[mode] = r
			}
			best[mode].Runs = runs
			if mode == "memory" && round == 0 {
				for _, aux := range []struct {
					mode string
					res  **modeResult
				}{{"keyindex", &out.KeyIndex}, {"keyset", &out.Keyset}} {
					fmt.Fprintf(stderr, "bench: running %s…\n", aux.mode)
					*aux.res = runGoChild(exe, o, aux.mode, out.File, "")
					if (*aux.res).Failed != "" {
						failed = true
						fmt.Fprintf(stderr, "bench: %s failed: %s\n", aux.mode, (*aux.res).Failed)
					}
				}
			}
		}
	}
	for _, mode := range modes {
		m := best[mode]
		if m.Failed != "" {
			failed = true
			fmt.Fprintf(stderr, "bench: %s failed: %s\n", mode, m.Failed)
		}
		out.Modes = append(out.Modes, m)
		out.byMode[mode] = m
	}
	ratio := func(a, b string) {
		ma, mb := out.byMode[a], out.byMode[b]
		if ok(ma) && ok(mb) && mb.RowsPerSec > 0 {
			ma.Ratio = ma.RowsPerSec / mb.RowsPerSec
		}
	}
	ratio("memory", "csv")
	ratio("sqlite", "sqlite3")
	out.Checks = checks(out)
	// A pipeline that miscounted is a failure, not a missed target.
	for _, m := range out.Modes {
		if p := countProblem(m, gen); p != "" {
			failed = true
			fmt.Fprintf(stderr, "bench: %s: %s\n", m.Mode, p)
		}
	}
	return out, failed
}

func ok(m *modeResult) bool {
	return m != nil && m.Failed == "" && m.SkipReason == "" && m.Figures != nil
}

// countProblem says how the counts of a pipeline mode differ from those the
// generated file gives, or returns "". A create import creates a record per
// distinct email and updates it (or leaves it unchanged) with every row that
// repeats the email; a re-import of the changed file updates a record with
// every row.
func countProblem(m *modeResult, gen genStats) string {
	p, isPipeline := pipelines[m.Mode]
	if !isPipeline || !ok(m) {
		return ""
	}
	var want string
	if p.reimport {
		want = fmt.Sprintf("created 0, updated %d, unchanged 0, rejected 0; stored %d", gen.Rows, gen.Distinct)
	} else {
		want = fmt.Sprintf("created %d, updated + unchanged %d, rejected 0; stored %d", gen.Distinct, gen.Duplicates, gen.Distinct)
	}
	got := fmt.Sprintf("created %d, updated %d, unchanged %d, rejected %d; stored %d", m.Created, m.Updated, m.Unchanged, m.Rejected, m.Stored)
	switch {
	case m.Rejected != 0, m.Stored != int64(gen.Distinct),
		p.reimport && (m.Created != 0 || m.Updated != int64(gen.Rows) || m.Unchanged != 0),
		!p.reimport && (m.Created != int64(gen.Distinct) || m.Updated+m.Unchanged != int64(gen.Duplicates)):
		return fmt.Sprintf("miscounted: %s; the file (%d rows, %d distinct emails) gives %s", got, gen.Rows, gen.Distinct, want)
	}
	return ""
}

// runGoChild runs one mode in a child process: this executable again.
// A re-import mode imports base first, then file.
func runGoChild(exe string, o options, mode, file, base string) *modeResult {
	args := []string{"-child", mode, "-file", file, "-dir", o.dir, "-rows", strconv.Itoa(o.rows), "-distinct", strconv.Itoa(o.distinct),
		"-batch", strconv.Itoa(o.batch), "-workers", strconv.Itoa(o.workers)}
	if base != "" {
		args = append(args, "-base", base)
	}
	if o.cpuprofile != "" {
		args = append(args, "-cpuprofile", o.cpuprofile+"."+mode+".pprof")
	}
	if o.memprofile != "" {
		args = append(args, "-memprofile", o.memprofile+"."+mode+".pprof")
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err := cmd.Run()
	m := &modeResult{WallSeconds: time.Since(start).Seconds()}
	m.PeakRSS, m.CPUSeconds = maxRSS(cmd), cpuSeconds(cmd)
	var res Figures
	if jerr := json.Unmarshal(so.Bytes(), &res); jerr == nil {
		m.Figures = &res
		m.CPUSeconds = max(m.CPUSeconds-res.SetupCPUSeconds, 0)
	} else {
		m.Figures = &Figures{Mode: mode}
		if err == nil {
			err = fmt.Errorf("child printed no figures: %v (stdout %q)", jerr, truncate(so.String(), 200))
		}
	}
	if err != nil {
		m.Failed = strings.TrimSpace(err.Error() + ": " + truncate(se.String(), 2000))
		return m
	}
	if m.Seconds > 0 {
		m.RowsPerSec = float64(m.Rows) / m.Seconds
	}
	return m
}

// cpuSeconds returns the user+system CPU time of a finished child.
func cpuSeconds(cmd *exec.Cmd) float64 {
	if cmd.ProcessState == nil {
		return 0
	}
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}

// maxRSS returns the peak resident set size of a finished child, in bytes.
func maxRSS(cmd *exec.Cmd) int64 {
	if cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) * 1024 // KiB on Linux
	}
	return 0
}

// lineCounter counts the lines written to it and keeps the first bytes.
type lineCounter struct {
	lines int64
	head  []byte
}

func (w *lineCounter) Write(p []byte) (int, error) {
	w.lines += int64(bytes.Count(p, []byte{'\n'}))
	if n := 1000 - len(w.head); n > 0 {
		w.head = append(w.head, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// runShell runs the sqlite3 shell's .import of the file into a table with a
// unique index on email, timed with a wall clock around the process.
func runShell(o options, file string) *modeResult {
	m := &modeResult{Figures: &Figures{Mode: "sqlite3"}}
	exe, err := exec.LookPath(o.sqlite3Path)
	if err != nil {
		m.SkipReason = "the sqlite3 shell is not installed (not on PATH)"
		return m
	}
	db := filepath.Join(o.dir, "sqlite3.db")
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(db + suffix)
	}
	script := `CREATE TABLE contacts(contact_id TEXT, email TEXT, first_name TEXT, last_name TEXT, phone TEXT, birthday TEXT, country TEXT, city TEXT, lifetime_value TEXT);
CREATE UNIQUE INDEX contacts_email ON contacts(email);
.mode csv
.import --skip 1 '` + strings.ReplaceAll(file, "'", "''") + `' contacts
.mode list
SELECT count(*) FROM contacts;
`
	cmd := exec.Command(exe, db)
	cmd.Stdin = strings.NewReader(script)
	var so bytes.Buffer
	var se lineCounter
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err = cmd.Run()
	m.Seconds = time.Since(start).Seconds()
	m.WallSeconds = m.Seconds
	m.PeakRSS, m.CPUSeconds = maxRSS(cmd), cpuSeconds(cmd)
	m.StderrLines, m.StderrHead = se.lines, truncate(string(se.head), 300)
	fields := strings.Fields(so.String())
	if len(fields) > 0 {
		m.TableRows, _ = strconv.ParseInt(fields[len(fields)-1], 10, 64)
	}
	// .import reports each row the unique index refuses on stderr and goes
	// on; the shell then exits with status 1. It read every row: the ones
	// stored and the ones refused.
	if m.TableRows == 0 {
		if err == nil {
			err = errors.New("the table is empty")
		}
		m.Failed = fmt.Sprintf("%v: %s", err, m.StderrHead)
		return m
	}
	m.Rows = int64(o.rows)
	if m.Seconds > 0 {
		m.RowsPerSec = float64(m.Rows) / m.Seconds
	}
	os.Remove(db)
	return m
}

// loadavg returns the 1, 5 and 15 minute load averages, or "" off Linux.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

const mib = 1 << 20

// leastCPU returns the least CPU seconds of the mode's runs: other work on
// the machine only adds to them, so the least is the steadiest figure.
// The runs of the fastest wall time and of the least CPU time are not
// always the same one.
func leastCPU(m *modeResult) float64 {
	least := m.CPUSeconds
	for _, r := range m.Runs {
		least = min(least, r.CPUSeconds)
	}
	return least
}

// checks evaluates the targets with the figures there are.
func checks(out *output) []check {
	var cs []check
	csv, mem, sq, shell := out.byMode["csv"], out.byMode["memory"], out.byMode["sqlite"], out.byMode["sqlite3"]
	if ok(mem) && ok(csv) {
		cs = append(cs, check{Name: fmt.Sprintf("memory pipeline ≥ %.0f%% of encoding/csv rows/s", 100*targetMemoryVsCSV), Pass: mem.Ratio >= targetMemoryVsCSV,
			Detail: fmt.Sprintf("%.0f vs %.0f rows/s = %.1f%%", mem.RowsPerSec, csv.RowsPerSec, 100*mem.Ratio)})
	}
	if ok(sq) && ok(shell) {
		cs = append(cs, check{Name: fmt.Sprintf("sqlite pipeline ≥ %.1f× sqlite3 .import rows/s", targetSQLiteVsShell), Pass: sq.Ratio >= targetSQLiteVsShell,
			Detail: fmt.Sprintf("%.0f vs %.0f rows/s = %.2f×", sq.RowsPerSec, shell.RowsPerSec, sq.Ratio)})
	}
	if ok(mem) {
		stored := mem.HeapAfter - mem.HeapBefore + mem.OffHeap
		over := mem.PeakRSS - stored
		cs = append(cs, check{Name: "memory-mode peak RSS − stored-record bytes < 64 MiB", Pass: over < targetOverheadMiB*mib,
			Detail: fmt.Sprintf("peak RSS %.1f MiB − stored records %.1f MiB (the sink's off-heap arena and indexes %.1f MiB + its retained Go heap %.1f MiB) = %.1f MiB; peak HeapInuse %.1f MiB",
				float64(mem.PeakRSS)/mib, float64(stored)/mib, float64(mem.OffHeap)/mib, float64(mem.HeapAfter-mem.HeapBefore)/mib, float64(over)/mib, float64(mem.PeakHeapInuse)/mib)})
		cs = append(cs, check{Name: "memory sink ≤ 400 bytes per stored contact", Pass: mem.BytesPerContact > 0 && mem.BytesPerContact <= targetBytesPerRecord,
			Detail: fmt.Sprintf("%.0f bytes/contact (%d contacts, key index included)", mem.BytesPerContact, mem.Stored)})
	}
	if k := out.KeyIndex; ok(k) {
		cs = append(cs, check{Name: "memory sink key index ≤ 64 bytes per distinct key", Pass: k.BytesPerKey > 0 && k.BytesPerKey <= targetBytesPerKey,
			Detail: fmt.Sprintf("%.1f bytes/key: the sink's index tables grew %.1f MiB (off the Go heap) and the Go heap %.1f MiB when the first Lookup by email indexed %d records (%d distinct emails)",
				k.BytesPerKey, float64(k.OffHeapIdxEnd-k.OffHeapIdxStart)/mib, float64(k.IndexAfter-k.IndexBefore)/mib, k.Stored, k.Keys)})
	}
	if k := out.Keyset; ok(k) {
		cs = append(cs, check{Name: "in-file key set (identity.Seen) ≤ 64 bytes per distinct key", Pass: k.BytesPerKey > 0 && k.BytesPerKey <= targetBytesPerKey,
			Detail: fmt.Sprintf("%.1f bytes/key (%d keys)", k.BytesPerKey, k.Keys)})
	}
	for _, u := range undoCosts {
		on, off := out.byMode[u.on], out.byMode[u.off]
		if !ok(on) || !ok(off) || leastCPU(off) <= 0 || off.Seconds <= 0 {
			continue
		}
		onCPU, offCPU := leastCPU(on), leastCPU(off)
		c := &undoCost{What: u.what, On: u.on, Off: u.off, Logged: on.UndoLog,
			CPUPercent: 100 * (onCPU/offCPU - 1), WallPercent: 100 * (on.Seconds/off.Seconds - 1),
			BytesPerContactOn: on.BytesPerContact, BytesPerContactOff: off.BytesPerContact}
		detail := fmt.Sprintf("%+.1f%% CPU s (%.2f vs %.2f), %+.1f%% wall (%.2f vs %.2f s)", c.CPUPercent, onCPU, offCPU, c.WallPercent, on.Seconds, off.Seconds)
		if len(on.Runs) > 1 {
			detail += fmt.Sprintf("; the least CPU and wall seconds of %d runs each", len(on.Runs))
		}
		if !c.Logged {
			detail += fmt.Sprintf("; %s kept no undo log, the two run the same import: %s", u.on, on.UndoReason)
		}
		cs = append(cs, check{Name: fmt.Sprintf("undo log cost, %s (%s vs %s) ≤ %.0f%% CPU s", u.what, u.on, u.off, 100*u.limit),
			Pass: c.CPUPercent <= 100*u.limit, Detail: detail, Undo: c})
	}
	return cs
}

func printTable(w io.Writer, out *output) {
	g := out.Gen
	fmt.Fprintf(w, "Intake bench: %d rows, %.1f MB (%.0f B/row), %d duplicate emails (%d distinct); %d CPUs, %s\n",
		g.Rows, float64(g.Bytes)/1e6, float64(g.Bytes)/float64(max(g.Rows, 1)), g.Duplicates, g.Distinct, out.CPUs, out.Go)
	fmt.Fprintf(w, "file %s, generated in %.1fs\n", out.File, out.GenSeconds)
	if out.LoadBefore != "" {
		fmt.Fprintf(w, "load average before %s, after %s (other work on the machine skews the figures)\n", out.LoadBefore, out.LoadAfter)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\trows\tseconds\trows/s\tCPU s\tpeak RSS MiB\tpeak heap MiB\tvs reference\t")
	for _, m := range out.Modes {
		switch {
		case m.SkipReason != "":
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\tskipped: %s\t\n", m.Mode, m.SkipReason)
			continue
		case m.Failed != "":
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%.1f\t-\tFAILED (see below)\t\n", m.Mode, float64(m.PeakRSS)/mib)
			continue
		}
		ref := "-"
		switch m.Mode {
		case "memory":
			if m.Ratio > 0 {
				ref = fmt.Sprintf("%.1f%% of csv", 100*m.Ratio)
			}
		case "sqlite":
			if m.Ratio > 0 {
				ref = fmt.Sprintf("%.2f× sqlite3", m.Ratio)
			}
		}
		heap := "-"
		if m.Mode != "sqlite3" {
			heap = fmt.Sprintf("%.1f", float64(m.PeakHeapInuse)/mib)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%s\t%.2f\t%.1f\t%s\t%s\t\n", m.Mode, m.Rows, m.Seconds, thousands(m.RowsPerSec), m.CPUSeconds, float64(m.PeakRSS)/mib, heap, ref)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, m := range out.Modes {
		switch {
		case m.Failed != "":
			fmt.Fprintf(w, "%s: FAILED: %s\n", m.Mode, m.Failed)
		case !ok(m):
		case pipelines[m.Mode].store != "":
			fmt.Fprintf(w, "%s: created %d, updated %d, unchanged %d, skipped %d, rejected %d; stored %d; %d GC cycles",
				m.Mode, m.Created, m.Updated, m.Unchanged, m.Skipped, m.Rejected, m.Stored, m.GCCycles)
			if pipelines[m.Mode].store == "memory" {
				fmt.Fprintf(w, "; %.0f bytes/contact", m.BytesPerContact)
			}
			if m.UndoLog {
				fmt.Fprint(w, "; undo log kept")
			} else {
				fmt.Fprintf(w, "; no undo log: %s", m.UndoReason)
			}
			if pipelines[m.Mode].reimport {
				fmt.Fprintf(w, "; after an untimed import of the base file (%.2f s, %.2f CPU s)", m.SetupSeconds, m.SetupCPUSeconds)
			}
			fmt.Fprintln(w)
			if m.Rejected > 0 {
				fmt.Fprintf(w, "  rejected by reason: %s\n", topReasons(m.Reasons, 5))
				for _, e := range m.Errors {
					fmt.Fprintf(w, "  e.g. %s\n", e)
				}
			}
			if p := countProblem(m, g); p != "" {
				fmt.Fprintf(w, "  WARNING: %s\n", p)
			}
		case m.Mode == "sqlite3":
			fmt.Fprintf(w, "sqlite3: %d rows stored, %d lines on stderr (rows refused by the unique index; its email index is case- and space-sensitive, so most duplicates are stored)\n",
				m.TableRows, m.StderrLines)
		}
	}
	if k := out.Keyset; k != nil {
		if ok(k) {
			fmt.Fprintf(w, "keyset: %d distinct keys in identity.Seen, %.1f bytes/key (mapped and keyed %d rows in %.2fs, peak RSS %.1f MiB)\n",
				k.Keys, k.BytesPerKey, k.Rows, k.Seconds, float64(k.PeakRSS)/mib)
		} else if k.Failed != "" {
			fmt.Fprintf(w, "keyset: FAILED: %s\n", k.Failed)
		}
	}
	for _, c := range out.Checks {
		if u := c.Undo; u != nil {
			fmt.Fprintf(w, "undo log cost, %s (%s vs %s): %+.1f%% CPU s, %+.1f%% wall", u.What, u.On, u.Off, u.CPUPercent, u.WallPercent)
			if u.BytesPerContactOn > 0 && u.BytesPerContactOff > 0 {
				fmt.Fprintf(w, ", %+.0f bytes/contact (%.0f vs %.0f)", u.BytesPerContactOn-u.BytesPerContactOff, u.BytesPerContactOn, u.BytesPerContactOff)
			}
			if !u.Logged {
				fmt.Fprint(w, " (no undo log kept: noise)")
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
	for _, c := range out.Checks {
		verdict := "FAIL"
		if c.Pass {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "%s  %s: %s\n", verdict, c.Name, c.Detail)
	}
}

// thousands formats n with thousands separators.
func thousands(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var b []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}
