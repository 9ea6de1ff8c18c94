package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/internal/cputime"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
)

// Figures is what a child process prints on stdout, as JSON.
type Figures struct {
	Mode    string  `json:"mode"`
	Rows    int64   `json:"rows"`
	Seconds float64 `json:"seconds"`

	// Pipeline modes: the run report's counts.
	Created   int64                 `json:"created,omitempty"`
	Updated   int64                 `json:"updated,omitempty"`
	Unchanged int64                 `json:"unchanged,omitempty"`
	Skipped   int64                 `json:"skipped,omitempty"`
	Rejected  int64                 `json:"rejected,omitempty"`
	Reasons   map[intake.Code]int64 `json:"reasons,omitempty"`
	Errors    []string              `json:"errors,omitempty"` // the first row errors, for a generator or mapping fix
	Stored    int64                 `json:"stored,omitempty"` // records in the sink after the run
	// UndoLog says whether the run kept an undo log (the report's
	// Undoable); UndoReason says why not.
	UndoLog    bool   `json:"undo_log"`
	UndoReason string `json:"undo_reason,omitempty"`
	// Re-import modes: the wall and CPU seconds of the untimed import of
	// the base file before the timed one. The parent takes the CPU seconds
	// off the child's, so that its CPU seconds are those of the timed
	// import, as in the other modes.
	SetupSeconds    float64 `json:"setup_seconds,omitempty"`
	SetupCPUSeconds float64 `json:"setup_cpu_seconds,omitempty"`

	// Go heap figures (bytes).
	PeakHeapInuse int64 `json:"peak_heap_inuse"` // sampled every 2ms during the run
	HeapBefore    int64 `json:"heap_before"`     // HeapAlloc after a GC, before the run
	HeapAfter     int64 `json:"heap_after"`      // HeapAlloc after a GC, after the run, sink still alive
	GCCycles      int64 `json:"gc_cycles"`       // GC cycles during the run

	// Memory modes: retained heap per stored contact, (HeapAfter-HeapBefore)/Stored.
	BytesPerContact float64 `json:"bytes_per_contact,omitempty"`
	// Keyset mode: heap per distinct key of identity.Seen. Keyindex mode:
	// heap of the memory sink's key index per distinct key, and the heap
	// around the Lookup that builds it.
	BytesPerKey float64 `json:"bytes_per_key,omitempty"`
	Keys        int64   `json:"keys,omitempty"`
	IndexBefore int64   `json:"index_heap_before,omitempty"`
	IndexAfter  int64   `json:"index_heap_after,omitempty"`

	// Memory modes and the keyindex mode: what the memory sink keeps off the Go heap
	// (mmap'd arena and index tables, memory.Store.Stats), after the run; and
	// its index bytes around the Lookup that builds the key index.
	OffHeap         int64 `json:"off_heap_bytes,omitempty"`
	OffHeapIdxStart int64 `json:"off_heap_index_before,omitempty"`
	OffHeapIdxEnd   int64 `json:"off_heap_index_after,omitempty"`
}

// childOptions are the flags a child gets from the parent.
type childOptions struct {
	mode, file, dir        string
	base                   string // re-import modes: the file imported first, untimed
	rows, distinct         int64
	batch, workers         int
	cpuprofile, memprofile string
}

// runChild runs one mode and writes its result as JSON to stdout.
func runChild(o childOptions) (*Figures, error) {
	res := &Figures{Mode: o.mode}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	res.HeapBefore = heapAfterGC()
	gc0 := gcCycles()
	stop := samplePeakHeap(&res.PeakHeapInuse)
	var err error
	var keep any // what must stay alive until HeapAfter is measured
	switch _, isPipeline := pipelines[o.mode]; {
	case isPipeline:
		keep, err = childPipeline(o, res)
	case o.mode == "csv":
		err = childCSV(o, res)
	case o.mode == "keyset":
		keep, err = childKeyset(o, res)
	case o.mode == "keyindex":
		keep, err = childKeyIndex(o, res)
	default:
		err = fmt.Errorf("unknown mode %q", o.mode)
	}
	stop()
	res.GCCycles = gcCycles() - gc0
	if err != nil {
		return res, err
	}
	if o.memprofile != "" {
		runtime.GC()
		f, err := os.Create(o.memprofile)
		if err != nil {
			return res, err
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return res, err
		}
		f.Close()
	}
	res.HeapAfter = heapAfterGC()
	if m, ok := keep.(*memory.Store); ok {
		res.OffHeap = m.Stats().OffHeapBytes
	}
	runtime.KeepAlive(keep)
	switch {
	case pipelines[o.mode].store == "memory" && res.Stored > 0:
		res.BytesPerContact = float64(res.HeapAfter-res.HeapBefore+res.OffHeap) / float64(res.Stored)
	case o.mode == "keyindex" && res.Keys > 0:
		res.BytesPerKey = float64(res.IndexAfter-res.IndexBefore+res.OffHeapIdxEnd-res.OffHeapIdxStart) / float64(res.Keys)
	case o.mode == "keyset" && res.Keys > 0:
		res.BytesPerKey = float64(res.HeapAfter-res.HeapBefore) / float64(res.Keys)
	}
	return res, nil
}

// heapAfterGC returns HeapAlloc after a full collection.
func heapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func gcCycles() int64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// samplePeakHeap samples HeapInuse (heap objects plus unused space in
// in-use spans) every 2ms, without stopping the world, and stores the peak
// in *peak when the returned stop function is called.
func samplePeakHeap(peak *int64) (stop func()) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var max int64
	read := func() {
		metrics.Read(samples)
		if v := int64(samples[0].Value.Uint64() + samples[1].Value.Uint64()); v > max {
			max = v
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		*peak = max
	}
}

// childCSV is the floor: encoding/csv with ReuseRecord, counting rows.
func childCSV(o childOptions, res *Figures) error {
	start := time.Now()
	f, err := os.Open(o.file)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	if _, err := r.Read(); err != nil { // header
		return err
	}
	var n int64
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	res.Seconds = time.Since(start).Seconds()
	res.Rows = n
	return nil
}

// pipeline is what the name of a pipeline mode says: the store it imports
// into, whether it times a re-import, and whether the import keeps no undo
// log.
type pipeline struct {
	store    string // "memory" or "sqlite"
	reimport bool
	noUndo   bool
}

// pipelines are the pipeline modes.
var pipelines = map[string]pipeline{
	"memory":                 {store: "memory"},
	"memory-noundo":          {store: "memory", noUndo: true},
	"sqlite":                 {store: "sqlite"},
	"sqlite-noundo":          {store: "sqlite", noUndo: true},
	"sqlite-reimport":        {store: "sqlite", reimport: true},
	"sqlite-reimport-noundo": {store: "sqlite", reimport: true, noUndo: true},
}

// childPipeline runs the full import (add_and_update, sync on email) into
// the memory sink or a fresh SQLite file, with an undo log unless the mode
// turns it off. A re-import mode first imports the base file into the
// fresh SQLite file (untimed, no undo log) and closes it, then times the
// import of the file, its changed variant. It returns the sink, which the
// caller keeps alive while it measures the heap.
func childPipeline(o childOptions, res *Figures) (any, error) {
	ctx := context.Background()
	p := pipelines[o.mode]
	path := filepath.Join(o.dir, "bench.db")
	if p.store == "sqlite" {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(path + suffix)
		}
	}
	if p.reimport {
		t0, c0 := time.Now(), cputime.Process()
		if err := importBase(ctx, o, path); err != nil {
			return nil, fmt.Errorf("import the base file %s: %w", o.base, err)
		}
		res.SetupSeconds, res.SetupCPUSeconds = time.Since(t0).Seconds(), (cputime.Process() - c0).Seconds()
	}
	start := time.Now()
	var snk sink.Sink
	var closeSink func() error
	switch p.store {
	case "memory":
		snk = memory.New(memory.Config{})
	case "sqlite":
		var err error
		if snk, closeSink, err = openSQLite(ctx, path); err != nil {
			return nil, err
		}
	}
	rep, runErr := importFile(ctx, o, snk, o.file, p.noUndo)
	var stored int64 = -1
	var err error
	if c, ok := snk.(sink.Counter); ok && runErr == nil {
		if stored, err = c.Count(ctx, intake.ObjectContact); err != nil {
			return nil, fmt.Errorf("count stored records: %w", err)
		}
	}
	if closeSink != nil {
		if err := closeSink(); err != nil && runErr == nil {
			runErr = fmt.Errorf("close the SQLite sink: %w", err)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.Rows = rep.Rows
	res.Created, res.Updated, res.Unchanged = rep.Created, rep.Updated, rep.Unchanged
	res.Skipped, res.Rejected = rep.Skipped+rep.OptedOut, rep.Rejected
	res.Reasons = rep.Reasons
	res.UndoLog, res.UndoReason = rep.Undoable, rep.UndoReason
	for k, e := range rep.Errors {
		if k == 5 {
			break
		}
		res.Errors = append(res.Errors, e.Error())
	}
	if stored < 0 {
		stored = rep.Created
	}
	res.Stored = stored
	if runErr != nil {
		return snk, fmt.Errorf("import failed: %w", runErr)
	}
	problems := reportProblems(o, rep)
	u, isUndoer := snk.(sink.Undoer)
	if want := isUndoer && u.Undoes() && !p.noUndo; rep.Undoable != want {
		problems = append(problems, fmt.Errorf("the run kept an undo log: %v, want %v (%s)", rep.Undoable, want, rep.UndoReason))
	}
	return snk, errors.Join(problems...)
}

// importBase imports the base file of a re-import mode into a SQLite file
// at path, with no undo log, and closes it.
func importBase(ctx context.Context, o childOptions, path string) error {
	snk, closeSink, err := openSQLite(ctx, path)
	if err != nil {
		return err
	}
	rep, err := importFile(ctx, o, snk, o.base, true)
	if cerr := closeSink(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return errors.Join(reportProblems(o, rep)...)
}

// importFile imports file into snk: add_and_update, sync on email, with an
// undo log unless noUndo.
func importFile(ctx context.Context, o childOptions, snk sink.Sink, file string, noUndo bool) (*importer.Report, error) {
	src, err := connector.OpenCSVFile(file, connector.CSVConfig{})
	if err != nil {
		return &importer.Report{}, err
	}
	im, err := importer.New(importer.Config{Sink: snk, BatchSize: o.batch, Workers: o.workers})
	if err != nil {
		return &importer.Report{}, err
	}
	return im.Run(ctx, importer.Job{
		Name:     "bench",
		Source:   src,
		Action:   identity.AddAndUpdate,
		Identity: importer.SyncOn("email"),
		Undo:     importer.UndoOptions{Off: noUndo},
	})
}

// reportProblems checks what a pipeline's report must say whatever the
// file: the run succeeded, read every row, gave each an outcome, and the
// suggested mapping maps every column.
func reportProblems(o childOptions, rep *importer.Report) []error {
	var problems []error
	if rep.Status != importer.StatusSucceeded {
		problems = append(problems, fmt.Errorf("status %s, want succeeded", rep.Status))
	}
	if rep.Rows != o.rows {
		problems = append(problems, fmt.Errorf("report counts %d rows, the file has %d", rep.Rows, o.rows))
	}
	if rep.Total() != rep.Rows {
		problems = append(problems, fmt.Errorf("outcomes add up to %d, not rows = %d", rep.Total(), rep.Rows))
	}
	if len(rep.Source.Mapping) != len(header) {
		problems = append(problems, fmt.Errorf("the suggested mapping maps %d of %d columns: %v", len(rep.Source.Mapping), len(header), rep.Source.Mapping))
	}
	return problems
}

// childKeyIndex measures the memory sink's key index: it imports every row
// with create and no sync fields, so that no key index is built, then makes
// the first Lookup by email, which builds the index over every stored
// record, and measures the heap (after a GC) before and after it. Keys is
// the number of distinct emails, which the caller passes in (-distinct).
func childKeyIndex(o childOptions, res *Figures) (any, error) {
	ctx := context.Background()
	start := time.Now()
	mem := memory.New(memory.Config{})
	src, err := connector.OpenCSVFile(o.file, connector.CSVConfig{})
	if err != nil {
		return nil, err
	}
	im, err := importer.New(importer.Config{Sink: mem, BatchSize: o.batch, Workers: o.workers})
	if err != nil {
		return nil, err
	}
	rep, err := im.Run(ctx, importer.Job{Name: "bench-keyindex", Source: src, Action: identity.Create, Identity: importer.NoSync()})
	if err != nil {
		return nil, err
	}
	res.Rows, res.Created, res.Rejected, res.Stored = rep.Rows, rep.Created, rep.Rejected, rep.Created
	res.IndexBefore = heapAfterGC()
	res.OffHeapIdxStart = mem.Stats().IndexBytes
	found, err := mem.Lookup(ctx, intake.ContactSchema(), intake.Keys("email"), []intake.Key{"nobody@example.invalid"})
	if err != nil {
		return nil, err
	}
	res.IndexAfter = heapAfterGC()
	res.OffHeapIdxEnd = mem.Stats().IndexBytes
	res.Seconds = time.Since(start).Seconds()
	if len(found) != 0 {
		return nil, fmt.Errorf("lookup of an unknown email found %v", found)
	}
	res.Keys = o.distinct
	return mem, nil
}

// childKeyset measures identity.Seen, the matcher's in-file key set: it maps
// every row, computes its email key, adds it to a Seen, and keeps the Seen
// alive while the heap is measured.
func childKeyset(o childOptions, res *Figures) (any, error) {
	ctx := context.Background()
	start := time.Now()
	src, err := connector.OpenCSVFile(o.file, connector.CSVConfig{})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	hdr, err := src.Header(ctx)
	if err != nil {
		return nil, err
	}
	schema := intake.ContactSchema()
	plan, err := mapping.Compile(mapping.Suggest(hdr, schema), schema, hdr, mapping.Options{})
	if err != nil {
		return nil, err
	}
	m, err := identity.NewMatcher(plan.Schema(), intake.Keys("email"), nil)
	if err != nil {
		return nil, err
	}
	seen := identity.NewSeen()
	rec := intake.Record{Values: make([]intake.Value, plan.Schema().Len())}
	var match identity.Match
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		res.Rows++
		if plan.Map(row, &rec) != nil {
			continue
		}
		m.Key(&rec, &match)
		seen.Add(match.Key)
	}
	res.Seconds = time.Since(start).Seconds()
	res.Keys = int64(seen.Len())
	return seen, nil
}

// topReasons formats the most frequent reasons, most frequent first.
func topReasons(m map[intake.Code]int64, n int) string {
	type kv struct {
		k intake.Code
		v int64
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	s := ""
	for i, e := range all {
		if i == n {
			break
		}
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", e.k, e.v)
	}
	return s
}
