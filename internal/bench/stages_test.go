package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
)

// stageRows is the number of generated rows the stage benchmarks cycle
// through.
const stageRows = 20_000

// stageBatch is the rows of one lookup and one write, as the importer's
// default batch for the memory sink.
const stageBatch = 1000

// stageData is what the stage benchmarks share: the generated file, its
// rows, its mapped records and their keys, built once.
type stageData struct {
	file    []byte
	rowSize int64 // average bytes per row
	header  []string
	plan    *mapping.Plan
	schema  *intake.Schema
	rows    []intake.Row
	recs    []intake.Record
	matches []identity.Match
	err     error
}

var (
	stageOnce sync.Once
	stage     stageData
)

// stages generates stageRows contact rows (as the bench command does),
// maps them with the mapping the importer suggests for the file, and
// computes their email keys.
func stages(b *testing.B) *stageData {
	b.Helper()
	stageOnce.Do(func() { stage.err = stage.build() })
	if stage.err != nil {
		b.Fatal(stage.err)
	}
	return &stage
}

func (d *stageData) build() error {
	dir, err := os.MkdirTemp("", "intake-stages-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "contacts.csv")
	st, err := generate(path, stageRows, 1)
	if err != nil {
		return err
	}
	if d.file, err = os.ReadFile(path); err != nil {
		return err
	}
	d.rowSize = st.Bytes / int64(st.Rows)
	ctx := context.Background()
	src, err := connector.NewCSV(bytes.NewReader(d.file), connector.CSVConfig{})
	if err != nil {
		return err
	}
	if d.header, err = src.Header(ctx); err != nil {
		return err
	}
	for {
		row, err := src.Read(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		d.rows = append(d.rows, row)
	}
	var sample [][]string
	for _, r := range d.rows[:mapping.SampleRows] {
		sample = append(sample, r.Cells)
	}
	schema := intake.ContactSchema()
	spec := mapping.SuggestDetailed(d.header, sample, schema, mapping.SuggestOptions{}).Spec()
	if d.plan, err = mapping.Compile(spec, schema, d.header, mapping.Options{Sample: sample}); err != nil {
		return err
	}
	d.schema = d.plan.Schema()
	m, err := identity.NewMatcher(d.schema, intake.Keys("email"), nil)
	if err != nil {
		return err
	}
	d.recs = make([]intake.Record, len(d.rows))
	d.matches = make([]identity.Match, len(d.rows))
	for i, row := range d.rows {
		if err := d.plan.Map(row, &d.recs[i]); err != nil {
			return err
		}
		m.Key(&d.recs[i], &d.matches[i])
	}
	return nil
}

// BenchmarkStages measures the cost per row of each stage of an import
// into the memory sink (add_and_update, synced on email), on the rows the
// bench command generates; every op is one row:
//
//	parse  the CSV source reading a row (connector.CSV.Read)
//	map    mapping a row to a contact (mapping.Plan.MapWarn)
//	key    normalising its sync key (identity.Matcher.Key)
//	match  looking the keys of a batch of 1000 rows up in a memory store
//	       that holds every other row (identity.Matcher.Resolve: half hits)
//	write  writing a batch of 1000 creates, each guarded on its email key
//	       (sink.Op.Unique) as the importer sends them, into a memory store
//	       of up to 20,000 records (memory.Store.Write)
//
// Compare two versions with benchstat:
//
//	go test -run '^$' -bench Stages -count 10 ./internal/bench/ > old.txt
//	go test -run '^$' -bench Stages -count 10 ./internal/bench/ > new.txt
//	benchstat old.txt new.txt
func BenchmarkStages(b *testing.B) {
	ctx := context.Background()
	b.Run("parse", func(b *testing.B) {
		d := stages(b)
		b.SetBytes(d.rowSize)
		b.ReportAllocs()
		var src *connector.CSV
		for b.Loop() {
			if src == nil {
				var err error
				if src, err = connector.NewCSV(bytes.NewReader(d.file), connector.CSVConfig{}); err != nil {
					b.Fatal(err)
				}
				if _, err := src.Header(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := src.Read(ctx); err == io.EOF {
				src.Close()
				src = nil
			} else if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		d := stages(b)
		b.SetBytes(d.rowSize)
		b.ReportAllocs()
		var rec intake.Record
		i := 0
		for b.Loop() {
			if err := d.plan.MapWarn(d.rows[i], &rec, nil); err != nil {
				b.Fatal(err)
			}
			i = (i + 1) % len(d.rows)
		}
	})
	b.Run("key", func(b *testing.B) {
		d := stages(b)
		m, err := identity.NewMatcher(d.schema, intake.Keys("email"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		var match identity.Match
		i := 0
		for b.Loop() {
			m.Key(&d.recs[i], &match)
			i = (i + 1) % len(d.recs)
		}
	})
	b.Run("match", func(b *testing.B) {
		d := stages(b)
		store := memory.New(memory.Config{})
		defer store.Close()
		m, err := identity.NewMatcher(d.schema, intake.Keys("email"), store)
		if err != nil {
			b.Fatal(err)
		}
		// A first lookup builds the key index, which the writes keep.
		if err := m.Resolve(ctx, []*identity.Match{&d.matches[0]}); err != nil {
			b.Fatal(err)
		}
		var half []intake.Record
		for i := 0; i < len(d.recs); i += 2 {
			half = append(half, d.recs[i])
		}
		writeCreates(b, store, half, nil)
		matches := make([]identity.Match, len(d.matches))
		copy(matches, d.matches)
		ptrs := make([]*identity.Match, 0, stageBatch)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			ptrs = append(ptrs, &matches[i])
			i = (i + 1) % len(matches)
			if len(ptrs) == stageBatch {
				if err := m.Resolve(ctx, ptrs); err != nil {
					b.Fatal(err)
				}
				ptrs = ptrs[:0]
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		d := stages(b)
		recs := make([]intake.Record, len(d.recs))
		ids := identity.UUIDv7()
		for i := range recs {
			recs[i] = *d.recs[i].Clone()
			id, err := ids.NewID()
			if err != nil {
				b.Fatal(err)
			}
			recs[i].ID = id
		}
		unique := []intake.KeySpec{intake.Keys("email")}
		ops := make([]sink.Op, stageBatch)
		batch := make([]*sink.Op, 0, stageBatch)
		var store *memory.Store
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if store == nil {
				b.StopTimer()
				store = memory.New(memory.Config{})
				b.StartTimer()
			}
			op := &ops[len(batch)]
			*op = sink.Op{Kind: sink.OpCreate, Record: &recs[i], Unique: unique}
			batch = append(batch, op)
			i++
			if len(batch) == stageBatch || i == len(recs) {
				if _, err := store.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
			if i == len(recs) {
				b.StopTimer()
				store.Close()
				store, i = nil, 0
				b.StartTimer()
			}
		}
		if len(batch) > 0 {
			if _, err := store.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		if store != nil {
			store.Close()
		}
	})
}

// writeCreates writes recs to store as guarded creates, in batches.
func writeCreates(b *testing.B, store *memory.Store, recs []intake.Record, unique []intake.KeySpec) {
	b.Helper()
	ids := identity.UUIDv7()
	var batch []*sink.Op
	for i := range recs {
		rec := recs[i].Clone()
		id, err := ids.NewID()
		if err != nil {
			b.Fatal(err)
		}
		rec.ID = id
		batch = append(batch, &sink.Op{Kind: sink.OpCreate, Record: rec, Unique: unique})
		if len(batch) == stageBatch || i == len(recs)-1 {
			if _, err := store.Write(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}
