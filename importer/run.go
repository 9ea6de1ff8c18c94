package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
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
	matches []identity.Match
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
	return c
}

// release drops the chunk's references to row memory before it is reused.
func (c *chunk) release() {
	clear(c.rows[:c.n])
	clear(c.srcErrs[:c.n])
	clear(c.errs[:c.n])
	clear(c.matches[:c.n])
	c.n = 0
}

// rowOps ties a row of the batch to its write operations.
type rowOps struct {
	c           *chunk
	i           int
	first, last int // ops[first:last]
	optOut      bool
}

// run is the state of one Run.
type run struct {
	im       *Importer
	job      Job
	rep      *Report
	plan     *mapping.Plan
	schema   *intake.Schema
	header   []string
	matcher  *identity.Matcher
	getter   sink.Getter
	seen     *identity.Seen
	rejects  *RejectWriter
	progress connector.Progresser

	chunkRows int
	batch     []*chunk
	batchRows int
	pending   map[intake.Key]int // key → index in ops of a create in this batch
	ops       []*sink.Op
	opSlab    []sink.Op
	recSlab   []intake.Record
	withOps   []rowOps
	matchPtrs []*identity.Match
	ids       []string
	t         tally
	lastProg  time.Time
}

func (r *run) run(ctx context.Context) error {
	cfg := &r.im.cfg
	k := (cfg.BatchSize + maxChunkRows - 1) / maxChunkRows
	r.chunkRows = cfg.BatchSize / k
	fields := r.schema.Len()
	workers := cfg.Workers

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	free := make(chan *chunk, 2*workers+k+2)
	work := make(chan *chunk, workers)
	done := make(chan *chunk, workers)
	var readErr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(work)
		readErr = r.read(ctx, free, work, fields)
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

	err := r.consume(ctx, done, free)
	if err != nil {
		cancel()
	}
	for range done { // let the workers finish
	}
	<-readerDone
	if err == nil {
		err = readErr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil && len(r.batch) > 0 {
		err = r.flush(ctx, free)
	}
	if err == nil && r.rejects != nil {
		err = r.rejects.Flush()
	}
	r.report(true)
	if err != nil && r.rep.Rows > 0 && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (%d rows were committed before the failure; running the same import again is safe)", err, r.rep.Rows)
	}
	return err
}

// read is the reader goroutine: it cuts the source into chunks.
func (r *run) read(ctx context.Context, free chan *chunk, work chan<- *chunk, fields int) error {
	src := r.job.Source
	for seq := 0; ; seq++ {
		var c *chunk
		select {
		case c = <-free:
		default:
			c = newChunk(r.chunkRows, fields)
		}
		c.seq = seq
		for c.n < r.chunkRows {
			row, err := src.Read(ctx)
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
func (r *run) mapChunk(c *chunk) {
	for i := 0; i < c.n; i++ {
		if e := c.srcErrs[i]; e != nil {
			c.errs[i] = e.(*intake.RowError)
			continue
		}
		rec := &c.recs[i]
		if err := r.plan.Map(c.rows[i], rec); err != nil {
			var re *intake.RowError
			if !errors.As(err, &re) {
				re = &intake.RowError{File: r.job.MappingOptions.File, Line: c.rows[i].Line, Code: "invalid_row", Message: err.Error(), Err: err}
			}
			c.errs[i] = re
			continue
		}
		if r.matcher != nil {
			r.matcher.Key(rec, &c.matches[i])
		}
	}
}

// consume puts the mapped chunks back in order and flushes full batches.
func (r *run) consume(ctx context.Context, done <-chan *chunk, free chan *chunk) error {
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
			if r.batchRows > 0 && r.batchRows+r.chunkRows > r.im.cfg.BatchSize {
				if err := r.flush(ctx, free); err != nil {
					return err
				}
			}
			r.batch = append(r.batch, c)
			r.batchRows += c.n
		}
	}
	return nil
}

// flush decides, writes and commits the outcomes of the rows of the batch.
func (r *run) flush(ctx context.Context, free chan *chunk) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.matcher != nil {
		r.matchPtrs = r.matchPtrs[:0]
		for _, c := range r.batch {
			for i := 0; i < c.n; i++ {
				if c.errs[i] == nil {
					r.matchPtrs = append(r.matchPtrs, &c.matches[i])
				}
			}
		}
		if err := r.matcher.Resolve(ctx, r.matchPtrs); err != nil {
			return err
		}
	}
	r.t.reset()
	r.ops = r.ops[:0]
	r.opSlab = r.opSlab[:0]
	r.recSlab = r.recSlab[:0]
	r.withOps = r.withOps[:0]
	clear(r.pending)
	for _, c := range r.batch {
		for i := 0; i < c.n; i++ {
			if err := r.decide(c, i); err != nil {
				return err
			}
		}
	}
	if err := r.apply(ctx); err != nil {
		return err
	}
	for _, w := range r.withOps {
		r.t.counts[rowOutcome(r.ops[w.first:w.last])]++
		if r.ops[w.first].Kind != sink.OpCreate {
			r.t.records += int64(w.last - w.first)
		}
	}
	if r.rejects != nil {
		for j, e := range r.t.errs {
			if err := r.rejects.Write(r.t.rows[j], e); err != nil {
				return err
			}
		}
	}
	r.rep.add(&r.t, r.im.cfg.MaxReportErrors)
	for _, c := range r.batch {
		c.release()
		select {
		case free <- c:
		default:
		}
	}
	clear(r.batch)
	r.batch = r.batch[:0]
	r.batchRows = 0
	r.report(false)
	return nil
}

// decide applies the record action to row i of chunk c.
func (r *run) decide(c *chunk, i int) error {
	if e := c.errs[i]; e != nil {
		r.reject(c.rows[i], e)
		return nil
	}
	rec := &c.recs[i]
	if r.matcher == nil { // no sync fields: every row is new
		return r.create(c, i, rec, "")
	}
	m := &c.matches[i]
	earlier := false
	switch r.job.Action {
	case intake.ActionCreate, intake.ActionAddOnly:
		earlier = !m.NoKey && r.seen.Add(m.Key)
	case intake.ActionAddAndUpdate:
		if m.Key != "" && len(m.IDs) == 0 {
			_, earlier = r.pending[m.Key]
			if !earlier && r.job.DryRun {
				earlier = r.seen.Has(m.Key)
			}
		}
	}
	d := identity.Decide(r.job.Action, m, earlier)
	switch d.Verdict {
	case identity.VerdictReject:
		r.reject(c.rows[i], r.keyError(c.rows[i], d.Code))
	case identity.VerdictSkip:
		r.t.counts[intake.OutcomeSkipped]++
		r.t.reason(d.Code)
	case identity.VerdictCreate:
		return r.create(c, i, rec, m.Key)
	case identity.VerdictUpdate:
		if len(m.IDs) == 0 { // a record created earlier in this run
			r.t.records++
			if j, ok := r.pending[m.Key]; ok {
				r.t.counts[mergeInto(r.ops[j].Record, rec)]++
			} else { // dry run: created by an earlier batch, not stored
				r.t.counts[intake.OutcomeUpdated]++
			}
			return nil
		}
		r.addOps(c, i, rec, sink.OpUpdate, m.IDs)
	case identity.VerdictOptOut:
		r.addOps(c, i, rec, sink.OpOptOut, m.IDs)
	}
	return nil
}

func (r *run) create(c *chunk, i int, rec *intake.Record, key intake.Key) error {
	if !r.job.DryRun {
		id, err := r.im.cfg.IDs.NewID()
		if err != nil {
			return fmt.Errorf("intake: allocate a record id: %w", err)
		}
		rec.ID = id
	}
	if key != "" {
		if r.job.Action == intake.ActionAddAndUpdate {
			r.pending[key] = len(r.ops)
		}
		if r.job.DryRun && r.seen != nil {
			r.seen.Add(key)
		}
	}
	r.addOps(c, i, rec, sink.OpCreate, nil)
	return nil
}

// addOps adds one op for a create, or one per matched id.
func (r *run) addOps(c *chunk, i int, rec *intake.Record, kind sink.OpKind, ids []string) {
	first := len(r.ops)
	if kind == sink.OpCreate {
		r.ops = append(r.ops, r.newOp(kind, rec))
	} else {
		for j, id := range ids {
			target := rec
			if j > 0 {
				r.recSlab = append(r.recSlab, *rec)
				target = &r.recSlab[len(r.recSlab)-1]
			}
			target.ID = id
			r.ops = append(r.ops, r.newOp(kind, target))
		}
	}
	r.withOps = append(r.withOps, rowOps{c: c, i: i, first: first, last: len(r.ops)})
}

func (r *run) newOp(kind sink.OpKind, rec *intake.Record) *sink.Op {
	if len(r.opSlab) == cap(r.opSlab) {
		// A new slab: earlier ops keep pointing into the old one.
		r.opSlab = make([]sink.Op, 0, max(64, 2*cap(r.opSlab)))
	}
	r.opSlab = append(r.opSlab, sink.Op{Kind: kind, Record: rec})
	return &r.opSlab[len(r.opSlab)-1]
}

// apply writes the ops, or in a dry run works out what they would do.
func (r *run) apply(ctx context.Context) error {
	if len(r.ops) == 0 {
		return nil
	}
	if !r.job.DryRun {
		n, err := r.im.cfg.Sink.Write(ctx, r.ops)
		if err == nil && n != len(r.ops) {
			err = fmt.Errorf("sink wrote %d of %d operations without an error", n, len(r.ops))
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("intake: writing the batch of lines %d-%d failed, nothing of it was written: %w",
				r.batch[0].rows[0].Line, r.lastLine(), err)
		}
		for _, op := range r.ops {
			if op.Outcome == intake.OutcomeNone {
				return fmt.Errorf("intake: sink did not report the outcome of %s of record %s", op.Kind, op.Record.ID)
			}
		}
		return nil
	}
	var stored map[string]*intake.Record
	if r.getter != nil {
		r.ids = r.ids[:0]
		for _, op := range r.ops {
			if op.Kind == sink.OpUpdate {
				r.ids = append(r.ids, op.Record.ID)
			}
		}
		if len(r.ids) > 0 {
			var err error
			if stored, err = r.getter.Get(ctx, r.schema, r.ids); err != nil {
				return fmt.Errorf("intake: dry run: read matched records: %w", err)
			}
		}
	}
	for _, op := range r.ops {
		switch op.Kind {
		case sink.OpCreate:
			op.Outcome = intake.OutcomeCreated
		case sink.OpOptOut:
			op.Outcome = intake.OutcomeOptedOut
		case sink.OpUpdate:
			op.Outcome = intake.OutcomeUpdated
			if s, ok := stored[op.Record.ID]; ok {
				op.Outcome = mergeInto(s.Clone(), op.Record)
			}
		}
	}
	return nil
}

func (r *run) lastLine() int {
	c := r.batch[len(r.batch)-1]
	return c.rows[c.n-1].Line
}

// rowOutcome is the outcome of a row from its ops: updated when any matched
// record changed, unchanged when none did.
func rowOutcome(ops []*sink.Op) intake.Outcome {
	o := ops[0].Outcome
	for _, op := range ops[1:] {
		if op.Outcome == intake.OutcomeUpdated {
			o = intake.OutcomeUpdated
		}
	}
	return o
}

// mergeInto applies the non-null values of src to dst and reports whether
// that changed dst.
func mergeInto(dst, src *intake.Record) intake.Outcome {
	changed := false
	for j, v := range src.Values {
		if !v.IsNull() && dst.Values[j] != v {
			dst.Values[j] = v
			changed = true
		}
	}
	if changed {
		return intake.OutcomeUpdated
	}
	return intake.OutcomeUnchanged
}

func (r *run) reject(row intake.Row, e *intake.RowError) {
	if e.File == "" {
		e.File = r.job.MappingOptions.File
	}
	r.t.counts[intake.OutcomeRejected]++
	r.t.reason(e.Code)
	r.t.errs = append(r.t.errs, e)
	r.t.rows = append(r.t.rows, row)
}

func (r *run) keyError(row intake.Row, code string) *intake.RowError {
	fields := strings.Join(r.job.Sync.Fields, ", ")
	msg := "the sync fields (" + fields + ") are all empty: the row cannot be matched to a record"
	if code == intake.CodeDuplicate {
		msg = "the same " + fields + " appeared on an earlier line of this file"
	}
	return &intake.RowError{File: r.job.MappingOptions.File, Line: row.Line, Field: r.job.Sync.Name(), Code: code, Message: msg}
}

// report calls the progress callback when it is due (or at the end).
func (r *run) report(last bool) {
	fn := r.im.cfg.Progress
	if fn == nil {
		return
	}
	now := time.Now()
	if !last && now.Sub(r.lastProg) < r.im.cfg.ProgressEvery {
		return
	}
	r.lastProg = now
	p := Progress{Rows: r.rep.Rows, BytesTotal: -1, Elapsed: now.Sub(r.rep.Started), Done: last}
	if r.progress != nil {
		p.BytesRead, p.BytesTotal = r.progress.Progress()
	}
	fn(p)
}
