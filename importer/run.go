package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
)

// maxChunkRows bounds the rows the reader hands to a mapping worker at once.
const maxChunkRows = 256

// chunk is a run of consecutive source rows and what mapping made of them.
// Chunks are recycled once their batch is committed, so that a run allocates
// its record slabs only once.
type chunk struct {
	seq     int
	n       int
	rows    []intake.Row
	srcErrs []error // per row: a *intake.RowError from the source, or nil
	recs    []intake.Record
	vals    []intake.Value
	errs    []*intake.RowError // per row: the row's error, or nil
	// warns are the cells that mapping left empty ("invalid": "empty"),
	// of all the chunk's rows in row order; warn appends to them.
	warns   []*intake.RowError
	warn    func(*intake.RowError)
	matches []identity.Match
	skips   []intake.Code  // per row, once a link skips a row: its code, or ""
	carried []intake.Value // per row, the values links carry for their targets (carryPlan)
}

func newChunk(rows, fields int) *chunk {
	c := &chunk{
		rows:    make([]intake.Row, rows),
		srcErrs: make([]error, rows),
		recs:    make([]intake.Record, rows),
		vals:    make([]intake.Value, rows*fields),
		errs:    make([]*intake.RowError, rows),
		matches: make([]identity.Match, rows),
	}
	for i := range c.recs {
		c.recs[i].Values = c.vals[i*fields : (i+1)*fields : (i+1)*fields]
	}
	c.warn = func(e *intake.RowError) { c.warns = append(c.warns, e) }
	return c
}

// release drops the chunk's references to row memory before it is reused:
// the rows, their errors and keys, and the mapped records' ids and values
// (text values may share memory with the source's buffers).
func (c *chunk) release() {
	clear(c.rows[:c.n])
	clear(c.srcErrs[:c.n])
	clear(c.errs[:c.n])
	clear(c.warns)
	c.warns = c.warns[:0]
	clear(c.matches[:c.n])
	clear(c.skips)
	clear(c.carried)
	for i := range c.recs[:c.n] {
		c.recs[i].ID, c.recs[i].OptedOut = "", false
		clear(c.recs[i].Values)
	}
	c.n = 0
}

// chunkPool hands out chunks: new ones up to a limit, then recycled ones,
// so that the memory of a run is bounded whatever the size of the file.
type chunkPool struct {
	free    chan *chunk
	mu      sync.Mutex
	made    int
	limit   int
	rows    int
	fields  int
	stopped <-chan struct{}
}

func (p *chunkPool) get() *chunk {
	select {
	case c := <-p.free:
		return c
	default:
	}
	p.mu.Lock()
	if p.made < p.limit {
		p.made++
		p.mu.Unlock()
		return newChunk(p.rows, p.fields)
	}
	p.mu.Unlock()
	select {
	case c := <-p.free:
		return c
	case <-p.stopped:
		return nil
	}
}

func (p *chunkPool) put(c *chunk) {
	c.release()
	select {
	case p.free <- c:
	default: // cannot happen: free holds every chunk ever made
	}
}

// rowOps ties a row of a batch to its write operations.
type rowOps struct {
	first, last int // ops[first:last]
}

// batch is the rows of one lookup and one write, and what was decided for them.
type batch struct {
	chunks  []*chunk
	rows    int
	ops     []*sink.Op
	opSlab  []sink.Op
	recSlab []intake.Record
	withOps []rowOps
	t       tally
	// pending maps the keys of this batch's creates to their index in
	// ops: for the later rows of the batch and, when overlapping, for the
	// rows of the next batch, which are decided before this one is
	// written (add_and_update only).
	pending map[intake.Key]int
	// merged lists the rows that updated a record a create of this batch
	// makes (a later row of the same key), for resolveHeld.
	merged []mergedRow
	// uncounted lists the lines of rows that the batch does not count
	// (held creates whose follow-up failed, see resolveHeld): their
	// warnings are not counted either.
	uncounted []int
}

// mergedRow is a row counted as an update of the record that create
// b.ops[op] makes.
type mergedRow struct {
	op, line int
	outcome  intake.Outcome
}

func (b *batch) reset() {
	clear(b.chunks)
	b.chunks = b.chunks[:0]
	b.rows = 0
	clear(b.ops)
	b.ops = b.ops[:0]
	clear(b.opSlab[:cap(b.opSlab)])
	b.opSlab = b.opSlab[:0]
	clear(b.recSlab[:cap(b.recSlab)])
	b.recSlab = b.recSlab[:0]
	b.withOps = b.withOps[:0]
	b.t.reset()
	clear(b.pending)
	b.merged = b.merged[:0]
	b.uncounted = b.uncounted[:0]
}

func (b *batch) firstLine() int { return b.chunks[0].rows[0].Line }

func (b *batch) lastLine() int {
	c := b.chunks[len(b.chunks)-1]
	return c.rows[c.n-1].Line
}

// run is the state of one Run.
type run struct {
	im      *Importer
	job     Job
	rep     *Report
	plan    *mapping.Plan
	schema  *intake.Schema
	header  []string
	matcher *identity.Matcher
	keys    []intake.KeySpec // the identity rules the matcher applies; nil without matching
	getter  sink.Getter
	seen    *identity.Seen
	rejects *RejectWriter
	events  *events
	overlap bool // the sink may be looked up while it writes

	// checkpointer commits a checkpoint with each batch (Job.RunID set and
	// the sink a sink.Checkpointer); resumeAfter is the line up to which an
	// earlier attempt of the run committed every row but those of
	// resumePending (rows whose create the sink held, not finished).
	checkpointer sink.Checkpointer
	// undoer keeps the run's undo log with each batch (see prepareUndo).
	undoer        sink.Undoer
	undoRun       sink.UndoRun
	resumeAfter   int
	resumePending map[int]bool

	chunkRows int
	pool      *chunkPool
	cur       *batch // the batch being filled and decided
	spare     *batch
	inflight  *batch // the batch being written, when overlapping
	// ready is a decided batch whose write waits for the next batch's
	// lookups, when overlapping: the store serves them before the write
	// takes it, and the next batch is then decided while this one is
	// written.
	ready   *batch
	written chan error
	// A dry run's picture of the records it would have written, so that it
	// tells updated from unchanged rows as a real run would: the records it
	// would create (add_and_update, where later rows update them) by key,
	// and the stored records it would update (with a sink.Getter) by id,
	// each with every earlier row of the run applied. Values are copied,
	// never shared with row memory.
	// Both hold at most Config.DryRunRecords records; keys created beyond
	// that are remembered by hash only, in drySeen.
	dryCreated map[intake.Key]*intake.Record
	dryStored  map[string]*intake.Record
	drySeen    *identity.Seen
	matchPtrs  []*identity.Match
	// rules is the compiled record action; batchView holds the stored
	// records of the batch being decided (Job.Merge rules that read them,
	// consent, explanations).
	rules     rules
	batchView map[string]*intake.Record
	// deleted holds the ids of the records the run deleted (by hash), so
	// that a later row whose lookup predates the delete does not touch
	// them again.
	deleted *identity.Seen
	// links look the rows' profile and foreign keys up (Job.Profile,
	// Job.Links) before the rows are matched, and apply them — the row's
	// policy for a missing target, the targets it creates or updates — as
	// each row is decided.
	links linking
	// createdKeys holds the keys of the records the run created (by hash),
	// when in-file duplicates need to know (rules.trackCreated).
	createdKeys *identity.Seen
	ids         []string
	// newIDs holds the block of ids that the batch being decided drew,
	// of which it used those before nextID (see newID).
	newIDs []string
	nextID int
	// unique is the Op.Unique of the run's creates: its identity rules,
	// when the sink guards keys (sink.KeyGuard). aliases maps the id of a
	// create that the sink held, because another writer had created its
	// key, to the id of that record, for the ops of the next batch that
	// were decided against the held create (see resolveHeld).
	unique  []intake.KeySpec
	aliases map[string]alias
}

func (r *run) run(ctx context.Context) error {
	cfg := &r.im.cfg
	k := (cfg.BatchSize + maxChunkRows - 1) / maxChunkRows
	r.chunkRows = cfg.BatchSize / k
	workers := cfg.Workers

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// In flight at most: the reader's chunk, the work and done queues, one
	// chunk per worker, the reorder buffer (bounded by the same), and two
	// batches (the one being filled and the one being written).
	limit := 1 + 4*workers + 2*k + 2
	r.pool = &chunkPool{free: make(chan *chunk, limit), limit: limit, rows: r.chunkRows, fields: r.plan.Schema().Len(), stopped: ctx.Done()}
	r.cur, r.spare = &batch{}, &batch{}
	r.written = make(chan error, 1)

	work := make(chan *chunk, workers)
	done := make(chan *chunk, workers)
	var readErr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(work)
		readErr = r.read(ctx, work)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				r.mapChunk(c)
				select {
				case done <- c:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	// stop stops the reader and the workers and waits for the batch being
	// written. It runs on every way out of run, a panic of the Events
	// hook or of the sink included, so that nothing reads the source
	// (which Run closes) or writes to the sink once Run has returned.
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if r.inflight != nil { // only after a panic: wait has not run
			r.inflight = nil
			<-r.written
		}
		for range done { // let the workers finish
		}
		<-readerDone
	}
	defer stop()

	err := r.consume(ctx, done)
	if err == nil {
		// done is closed: every worker has stopped, so the reader has too
		// (it closed work, or the context is canceled).
		<-readerDone
		err = readErr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil && r.cur.rows > 0 {
		err = r.flush(ctx)
	}
	// The last decided batch, or the one decided before a failure, as
	// the batches before it.
	r.launch(ctx)
	if werr := r.wait(ctx); err == nil {
		err = werr
	}
	stop()
	if r.rejects != nil {
		// Also after a failure: the rejects of the committed batches are
		// in the writer's buffer.
		if ferr := r.rejects.Flush(); err == nil {
			err = ferr
		}
	}
	if err != nil && r.rep.Rows > 0 && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (%d rows were committed before the failure; running the same import again is safe)", err, r.rep.Rows)
	}
	return err
}

// read is the reader goroutine: it cuts the source into chunks.
func (r *run) read(ctx context.Context, work chan<- *chunk) error {
	src := r.job.Source
	for seq := 0; ; seq++ {
		c := r.pool.get()
		if c == nil {
			return nil // canceled
		}
		c.seq = seq
		for c.n < r.chunkRows {
			row, err := src.Read(ctx)
			if row.Line > 0 && row.Line <= r.resumeAfter && !r.resumePending[row.Line] && (err == nil || errors.As(err, new(*intake.RowError))) {
				continue // committed by an earlier attempt of this run
			}
			if err != nil {
				var re *intake.RowError
				if errors.As(err, &re) {
					c.rows[c.n], c.srcErrs[c.n] = row, re
					c.n++
					continue
				}
				if err == io.EOF {
					if c.n > 0 {
						select {
						case work <- c:
						case <-ctx.Done():
						}
					}
					return nil
				}
				return err
			}
			c.rows[c.n] = row
			c.n++
		}
		select {
		case work <- c:
		case <-ctx.Done():
			return nil
		}
	}
}

// mapChunk runs in the mapping workers: map each row and compute its key.
// The cells that mapping leaves empty ("invalid": "empty") of the rows it
// maps go to c.warns, in row order; commit counts those of the rows the
// batch does not reject.
func (r *run) mapChunk(c *chunk) {
	for i := 0; i < c.n; i++ {
		if e := c.srcErrs[i]; e != nil {
			c.errs[i] = e.(*intake.RowError)
			continue
		}
		rec := &c.recs[i]
		if err := r.plan.MapWarn(c.rows[i], rec, c.warn); err != nil {
			var re *intake.RowError
			if !errors.As(err, &re) {
				re = &intake.RowError{File: r.job.MappingOptions.File, Line: c.rows[i].Line, Code: intake.CodeInvalidRow, Message: err.Error(), Err: err}
			}
			c.errs[i] = re
			continue
		}
		r.links.carry.split(c, i) // the record is now of r.schema
		for _, ms := range r.rules.members {
			rec.Values[ms.field] = rec.Values[ms.field].Union(ms.value)
		}
		if r.matcher != nil {
			r.matcher.Key(rec, &c.matches[i])
		}
	}
}

// consume puts the mapped chunks back in order and flushes full batches.
func (r *run) consume(ctx context.Context, done <-chan *chunk) error {
	waiting := map[int]*chunk{}
	next := 0
	for c := range done {
		waiting[c.seq] = c
		for {
			c, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			if r.cur.rows > 0 && r.cur.rows+r.chunkRows > r.im.cfg.BatchSize {
				if err := r.flush(ctx); err != nil {
					return err
				}
			}
			r.cur.chunks = append(r.cur.chunks, c)
			r.cur.rows += c.n
		}
	}
	return nil
}

// flush looks up and decides the current batch, then writes it: when the
// sink allows it, in the background once the next batch is looked up (see
// run.ready), so that the next batch is decided meanwhile.
func (r *run) flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := r.cur
	if err := r.lookup(ctx, b); err != nil {
		return err
	}
	r.launch(ctx)
	r.newIDs, r.nextID = r.newIDs[:0], 0
	for _, c := range b.chunks {
		for i := 0; i < c.n; i++ {
			if c.skip(i) != "" {
				r.skipRow(b, c, i)
				continue
			}
			if err := r.decide(b, c, i); err != nil {
				return err
			}
		}
	}
	// The previous batch must be committed before this one is written.
	if err := r.wait(ctx); err != nil {
		return err
	}
	r.alias(b)
	if r.job.DryRun || (len(b.ops) == 0 && r.checkpointer == nil) {
		if err := r.simulate(ctx, b); err != nil {
			return err
		}
		return r.commit(b)
	}
	r.cur, r.spare = r.spare, nil
	if r.cur == nil {
		r.cur = &batch{}
	}
	if !r.overlap {
		err := r.write(ctx, b)
		r.inflight = b
		r.written <- err
		return r.wait(ctx)
	}
	r.ready = b
	return nil
}

// lookup looks up what the rows of batch b refer to: their links' targets
// and their own records (and reads these when the rules compare with
// stored values).
func (r *run) lookup(ctx context.Context, b *batch) error {
	if err := r.resolveLinks(ctx, b); err != nil {
		return err
	}
	if r.matcher == nil {
		return nil
	}
	r.matchPtrs = r.matchPtrs[:0]
	for _, c := range b.chunks {
		for i := 0; i < c.n; i++ {
			if c.errs[i] == nil && c.skip(i) == "" {
				r.matchPtrs = append(r.matchPtrs, &c.matches[i])
			}
		}
	}
	if err := r.matcher.Resolve(ctx, r.matchPtrs); err != nil {
		return err
	}
	if r.rules.useView {
		return r.loadView(ctx, b)
	}
	return nil
}

// launch starts writing the ready batch, if any, in the background.
func (r *run) launch(ctx context.Context) {
	b := r.ready
	if b == nil {
		return
	}
	r.ready = nil
	r.inflight = b
	go func() { r.written <- r.write(ctx, b) }()
}

// write writes the ops of a batch; it may run in its own goroutine.
func (r *run) write(ctx context.Context, b *batch) error {
	var n int
	var err error
	n, err = r.writeOps(ctx, b.ops, b.lastLine())
	if err == nil && n != len(b.ops) {
		err = fmt.Errorf("sink reported %d of %d operations written and no error", n, len(b.ops))
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		what := "nothing of it was written"
		if n > 0 {
			what = fmt.Sprintf("the sink applied %d of its %d operations, which the report does not count", n, len(b.ops))
		}
		return fmt.Errorf("importer: writing the batch of lines %d-%d failed, %s: %w", b.firstLine(), b.lastLine(), what, err)
	}
	for _, op := range b.ops {
		if op.Outcome == intake.OutcomeNone {
			return fmt.Errorf("importer: the sink wrote the batch of lines %d-%d but did not report the outcome of %s of record %s (line %d); the report does not count the batch",
				b.firstLine(), b.lastLine(), op.Kind, op.Record.ID, op.Record.Line)
		}
	}
	return nil
}

// wait waits for the batch being written, if any, settles the creates
// the sink held (resolveHeld) and commits it.
func (r *run) wait(ctx context.Context) error {
	b := r.inflight
	if b == nil {
		return nil
	}
	r.inflight = nil
	err := <-r.written
	if err == nil {
		// The batch is in the store: it is counted even when settling its
		// held creates fails (those rows are then not counted).
		herr := r.resolveHeld(ctx, b)
		err = r.commit(b)
		if herr != nil {
			err = herr
		}
	}
	b.reset()
	r.spare = b
	return err
}

// commit counts the outcomes of a written (or simulated) batch and its
// warnings, writes its rejected rows, sends BatchCommitted and recycles
// its chunks. The batch is counted first: it is in the store even when
// its rejected rows cannot be written.
func (r *run) commit(b *batch) error {
	for _, w := range b.withOps {
		ops := b.ops[w.first:w.last]
		b.t.counts[rowOutcome(ops)]++
		if ops[0].Kind != sink.OpCreate {
			b.t.records += int64(len(ops))
		}
	}
	r.warnings(b)
	r.rep.add(&b.t, r.im.cfg.MaxReportErrors)
	if r.rejects != nil {
		for j, e := range b.t.errs {
			if err := r.rejects.Write(b.t.rows[j], e); err != nil {
				return err
			}
		}
	}
	r.events.send(BatchCommitted, b, nil)
	for _, c := range b.chunks {
		r.pool.put(c)
	}
	if b == r.cur { // dry run or nothing to write: the batch is reused at once
		b.reset()
	}
	return nil
}

// warnings puts the warnings of b's rows into its tally, in row order:
// those of the rows the batch counts and does not reject. A rejected
// row is not imported, so its emptied cells are not (its error is in
// Report.Errors); the held rows that b does not count (b.uncounted) are
// left out like their outcomes. Lines tell the rows apart: a row's
// warnings and its rejection carry its line.
func (r *run) warnings(b *batch) {
	n := 0
	for _, c := range b.chunks {
		n += len(c.warns)
	}
	if n == 0 {
		return
	}
	drop := make(map[int]bool, len(b.t.rows)+len(b.uncounted))
	for _, row := range b.t.rows {
		drop[row.Line] = true
	}
	for _, line := range b.uncounted {
		drop[line] = true
	}
	for _, c := range b.chunks {
		for _, w := range c.warns {
			if drop[w.Line] {
				continue
			}
			if w.File == "" {
				w.File = r.job.MappingOptions.File
			}
			b.t.warns = append(b.t.warns, w)
		}
	}
}
