package identity

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/intakehq/intake/sink"
)

// ContextAllocator is an [Allocator] whose ids may take I/O to allocate
// and that can therefore be bounded by a context. The allocator of
// [NewNumeric] implements it; callers find it by type assertion and fall
// back to NewID.
type ContextAllocator interface {
	Allocator
	NewIDContext(ctx context.Context) (string, error)
}

// ErrRangeExhausted is returned by the allocator of [NewNumeric] when every
// number of its range has been reserved. Reserve a further range and raise
// NumericConfig.Last, or give the new range its own NumericConfig.Name.
var ErrRangeExhausted = errors.New("identity: range of record numbers used up")

// NumericConfig configures [NewNumeric].
type NumericConfig struct {
	// Sequencer reserves the numbers; required. Pass the sink
	// (memory.Store, sqlite.Store, postgres.Store implement it): the numbers
	// are then unique among every process that uses the same store.
	Sequencer sink.Sequencer
	// Name is the sequence's name in the store. Default "record_id".
	Name string
	// First and Last are the reserved range, inclusive; required, with
	// 1 <= First <= Last. The n-th number the sequence hands out (from 0)
	// is First+n: every allocator that uses the same store and Name must
	// therefore have the same First. Raising Last later extends the range;
	// a new range elsewhere takes a new Name (and then First again).
	First, Last int64
	// Block is how many numbers an allocator reserves at once, in one
	// call to Reserve. Default 100. The numbers of a block are handed out
	// by that allocator only, so that two allocators interleave by
	// blocks, not by numbers; those still unused when the process ends
	// are skipped, never reused: a run that creates 3 records uses 3
	// numbers and loses the other 97 of its block. A larger block costs
	// fewer round trips to the store and loses more numbers per process.
	Block int64
	// Format turns a number into the record id. Default decimal
	// (strconv.FormatInt(n, 10)). It must give different ids for
	// different numbers.
	Format func(int64) string
}

// NewNumeric returns an allocator of numeric record ids from a reserved
// range (a host system that numbers its contacts sets such a range aside
// for imported ones). The ids are First, First+1, … in the order the store's
// sequence hands them out, reserved Block at a time: within one allocator
// they strictly increase; allocators of several processes on one store
// never hand out the same number, and no number is reused after a restart,
// since each block is durably reserved before its first number is used.
// When the range is used up NewID returns [ErrRangeExhausted], and keeps
// returning it without reserving again.
//
// The allocator is safe for concurrent use. NewID reserves with
// context.Background(); the allocator also implements [ContextAllocator],
// whose NewIDContext bounds the reservation, when one is needed, by ctx.
// When a reservation fails, NewID returns its error, wrapped, and the next
// call tries again.
//
// NewNumeric checks cfg and reports every problem at once.
func NewNumeric(cfg NumericConfig) (Allocator, error) {
	var errs []error
	if cfg.Sequencer == nil {
		errs = append(errs, errors.New("identity: NumericConfig.Sequencer is nil: pass the sink, which reserves the numbers (memory.Store, sqlite.Store and postgres.Store implement Reserve)"))
	}
	if cfg.Name == "" {
		cfg.Name = "record_id"
	}
	switch {
	case cfg.First < 1 || cfg.Last < 1:
		errs = append(errs, fmt.Errorf("identity: NumericConfig range [%d, %d]: set First and Last, the first and last number of the reserved range, both at least 1", cfg.First, cfg.Last))
	case cfg.First > cfg.Last:
		errs = append(errs, fmt.Errorf("identity: NumericConfig range [%d, %d]: First is after Last: the range is inclusive, First <= Last", cfg.First, cfg.Last))
	}
	if cfg.Block < 0 {
		errs = append(errs, fmt.Errorf("identity: NumericConfig.Block is %d: use 0 for the default (100) or a positive size", cfg.Block))
	}
	if cfg.Block == 0 {
		cfg.Block = 100
	}
	if cfg.Format == nil {
		cfg.Format = formatDecimal
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &numeric{cfg: cfg}, nil
}

func formatDecimal(n int64) string { return strconv.FormatInt(n, 10) }

type numeric struct {
	cfg NumericConfig

	mu        sync.Mutex
	next      int64 // the next number of the current block
	left      int64 // how many numbers of the block are left, from next on
	exhausted bool
}

func (a *numeric) NewID() (string, error) { return a.NewIDContext(context.Background()) }

// NewIDContext returns the next id, reserving a block first when the
// current one is used up; ctx bounds that reservation.
func (a *numeric) NewIDContext(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.left == 0 {
		if err := a.reserve(ctx); err != nil {
			return "", err
		}
	}
	n := a.next
	if a.left--; a.left > 0 { // not past the last number: Last may be the largest int64
		a.next++
	}
	return a.cfg.Format(n), nil
}

// exhaustedError is ErrRangeExhausted with the range and the way out.
func (a *numeric) exhaustedError() error {
	return fmt.Errorf("%w (sequence %q, %d-%d): reserve a further range and raise NumericConfig.Last, or give the new range its own NumericConfig.Name",
		ErrRangeExhausted, a.cfg.Name, a.cfg.First, a.cfg.Last)
}

// reserve reserves the next block. Sequence position p is number First+p;
// a block that starts beyond Last means the range is used up, and one that
// straddles Last is cut there.
func (a *numeric) reserve(ctx context.Context) error {
	if a.exhausted {
		return a.exhaustedError()
	}
	size := a.cfg.Last - a.cfg.First // numbers in the range, minus one
	p, err := a.cfg.Sequencer.Reserve(ctx, a.cfg.Name, a.cfg.Block)
	if err != nil {
		return fmt.Errorf("identity: reserve %d numbers of sequence %q: %w", a.cfg.Block, a.cfg.Name, err)
	}
	if p < 0 || p > size {
		a.exhausted = true
		return a.exhaustedError()
	}
	a.next = a.cfg.First + p
	a.left = min(a.cfg.Block, size-p+1) // size-p+1 ≤ Last-First+1: fits, First ≥ 1
	return nil
}
