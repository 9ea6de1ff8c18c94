package identity_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/internal/pgtest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// store is a sink under test as a sequencer. open returns another handle on
// the same store, as a second process (or the same one after a restart)
// would open it; it is nil for the memory sink, which lives in one process.
type store struct {
	name string
	seq  sink.Sequencer
	open func(t *testing.T) sink.Sequencer
}

// setup returns the stores the numeric allocator is tested on: the memory
// sink, a SQLite file in t.TempDir(), and PostgreSQL in a schema of its own
// when INTAKE_TEST_POSTGRES is set.
func setup(t *testing.T) []store {
	t.Helper()
	ctx := context.Background()
	mem := memory.New(memory.Config{})
	t.Cleanup(func() { mem.Close() })
	stores := []store{{name: "memory", seq: mem}}

	path := filepath.Join(t.TempDir(), "seq.db")
	openSQLite := func(t *testing.T) sink.Sequencer {
		s, err := sqlite.Open(ctx, path, sqlite.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return sequencer(t, s)
	}
	stores = append(stores, store{name: "sqlite", seq: openSQLite(t), open: openSQLite})

	if pgtest.Enabled(t) {
		pool, schema := pgtest.Pool(t)
		openPostgres := func(t *testing.T) sink.Sequencer {
			pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema})
			require.NoError(t, err)
			return sequencer(t, pg)
		}
		stores = append(stores, store{name: "postgres", seq: openPostgres(t), open: openPostgres})
	}
	return stores
}

// sequencer returns s as a Sequencer, failing the test when the sink does
// not implement it.
func sequencer(t *testing.T, s any) sink.Sequencer {
	t.Helper()
	seq, ok := s.(sink.Sequencer)
	require.Truef(t, ok, "%T does not implement Reserve", s)
	return seq
}

func newNumeric(t *testing.T, cfg identity.NumericConfig) identity.Allocator {
	t.Helper()
	a, err := identity.NewNumeric(cfg)
	require.NoError(t, err)
	return a
}

func number(t *testing.T, a identity.Allocator) int64 {
	t.Helper()
	id, err := a.NewID()
	require.NoError(t, err)
	n, err := strconv.ParseInt(id, 10, 64)
	require.NoError(t, err, "id %q", id)
	return n
}

func TestNumericInRangeAndIncreasing(t *testing.T) {
	t.Parallel()
	for _, st := range setup(t) {
		t.Run(st.name, func(t *testing.T) {
			a := newNumeric(t, identity.NumericConfig{Sequencer: st.seq, First: 7_000_000, Last: 7_000_999, Block: 7})
			prev := int64(0)
			for range 250 {
				n := number(t, a)
				require.GreaterOrEqual(t, n, int64(7_000_000))
				require.LessOrEqual(t, n, int64(7_000_999))
				require.Greater(t, n, prev, "numbers of one allocator strictly increase")
				prev = n
			}
			// One allocator alone on its sequence uses the numbers in order.
			assert.Equal(t, int64(7_000_249), prev)
		})
	}
}

// TestNumericAllocatorsNeverOverlap runs four allocators on one store at
// once, each from four goroutines: no number is handed out twice. On SQLite
// and PostgreSQL each allocator has its own handle on the store, as four
// processes would.
func TestNumericAllocatorsNeverOverlap(t *testing.T) {
	t.Parallel()
	const allocators, goroutines, each = 4, 4, 150
	for _, st := range setup(t) {
		t.Run(st.name, func(t *testing.T) {
			var as []identity.Allocator
			for i := range allocators {
				seq := st.seq
				if st.open != nil && i > 0 {
					seq = st.open(t)
				}
				as = append(as, newNumeric(t, identity.NumericConfig{Sequencer: seq, First: 1_000, Last: 1_000_000, Block: 10}))
			}
			got := make([][]int64, allocators*goroutines)
			var wg sync.WaitGroup
			for g := range got {
				a := as[g%allocators]
				wg.Go(func() {
					prev := int64(0)
					for range each {
						id, err := a.NewID()
						if err != nil {
							t.Error(err)
							return
						}
						n, _ := strconv.ParseInt(id, 10, 64)
						if n <= prev {
							t.Errorf("goroutine %d: %d after %d", g, n, prev)
						}
						prev = n
						got[g] = append(got[g], n)
					}
				})
			}
			wg.Wait()
			seen := map[int64]int{}
			for g, ns := range got {
				for _, n := range ns {
					if other, dup := seen[n]; dup {
						t.Fatalf("number %d handed out twice (goroutines %d and %d)", n, other, g)
					}
					seen[n] = g
					require.True(t, n >= 1_000 && n <= 1_000_000, "%d out of range", n)
				}
			}
			require.Len(t, seen, allocators*goroutines*each)
		})
	}
}

// TestNumericRestart: a process uses 3 numbers of its block of 100 and
// ends; the next one, with a store opened again, starts after the whole
// block and never repeats a number.
func TestNumericRestart(t *testing.T) {
	t.Parallel()
	for _, st := range setup(t) {
		if st.open == nil {
			continue // the memory sink does not outlive its process
		}
		t.Run(st.name, func(t *testing.T) {
			cfg := identity.NumericConfig{Sequencer: st.seq, Name: "contact_number", First: 500, Last: 100_000}
			first := newNumeric(t, cfg)
			used := map[int64]bool{}
			last := int64(0)
			for range 3 {
				last = number(t, first)
				used[last] = true
			}
			assert.Equal(t, int64(502), last)

			cfg.Sequencer = st.open(t) // "restart": a new handle on the same store, a new allocator
			second := newNumeric(t, cfg)
			n := number(t, second)
			assert.Equal(t, int64(600), n, "the rest of the first block (503–599) is skipped")
			for range 250 {
				require.False(t, used[n], "%d reused", n)
				used[n] = true
				n = number(t, second)
			}
			// The first allocator goes on with its own block, still unique.
			assert.Equal(t, int64(503), number(t, first))
		})
	}
}

// TestNumericExhausted: two allocators share a 15-number range in blocks of
// 4; together they hand out every number once, then both fail with
// ErrRangeExhausted, and keep failing.
func TestNumericExhausted(t *testing.T) {
	t.Parallel()
	for _, st := range setup(t) {
		t.Run(st.name, func(t *testing.T) {
			cfg := identity.NumericConfig{Sequencer: st.seq, Name: "small", First: 10, Last: 24, Block: 4}
			a, b := newNumeric(t, cfg), newNumeric(t, cfg)
			got := map[int64]bool{}
			live := []identity.Allocator{a, b}
			for len(live) > 0 {
				var next []identity.Allocator
				for _, al := range live {
					id, err := al.NewID()
					if err != nil {
						require.ErrorIs(t, err, identity.ErrRangeExhausted)
						continue
					}
					n, _ := strconv.ParseInt(id, 10, 64)
					require.False(t, got[n], "%d twice", n)
					got[n] = true
					next = append(next, al)
				}
				live = next
			}
			for n := int64(10); n <= 24; n++ {
				assert.True(t, got[n], "%d never handed out", n)
			}
			assert.Len(t, got, 15)
			_, err := a.NewID()
			assert.ErrorIs(t, err, identity.ErrRangeExhausted)
			assert.ErrorContains(t, err, "raise NumericConfig.Last")
		})
	}
}

func TestNumericFormatAndContext(t *testing.T) {
	t.Parallel()
	mem := memory.New(memory.Config{})
	defer mem.Close()
	a := newNumeric(t, identity.NumericConfig{
		Sequencer: mem, First: 42, Last: 1000, Block: 2,
		Format: func(n int64) string { return fmt.Sprintf("C%08d", n) },
	})
	ca, ok := a.(identity.ContextAllocator)
	require.True(t, ok, "NewNumeric's allocator implements ContextAllocator")
	id, err := ca.NewIDContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "C00000042", id)
	id, err = a.NewID()
	require.NoError(t, err)
	assert.Equal(t, "C00000043", id)

	// The block is used up: the next id needs a reservation, which a
	// cancelled context stops; the next call retries.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ca.NewIDContext(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, identity.ErrRangeExhausted))
	id, err = ca.NewIDContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "C00000044", id)
}

func TestNewNumericConfigErrors(t *testing.T) {
	t.Parallel()
	mem := memory.New(memory.Config{})
	defer mem.Close()
	tests := []struct {
		name string
		cfg  identity.NumericConfig
		want []string
	}{
		{"zero", identity.NumericConfig{}, []string{"Sequencer is nil", "set First and Last"}},
		{"no last", identity.NumericConfig{Sequencer: mem, First: 5}, []string{"set First and Last"}},
		{"negative first", identity.NumericConfig{Sequencer: mem, First: -5, Last: 10}, []string{"both at least 1"}},
		{"reversed", identity.NumericConfig{Sequencer: mem, First: 10, Last: 5}, []string{"First is after Last"}},
		{"negative block", identity.NumericConfig{Sequencer: mem, First: 1, Last: 5, Block: -1}, []string{"Block is -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := identity.NewNumeric(tt.cfg)
			assert.Nil(t, a)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
	// One number is a valid range.
	a := newNumeric(t, identity.NumericConfig{Sequencer: mem, Name: "one", First: 9, Last: 9})
	assert.Equal(t, int64(9), number(t, a))
	_, err := a.NewID()
	assert.ErrorIs(t, err, identity.ErrRangeExhausted)
}

// TestNumericNearMaxInt64: a range that ends at the largest int64 is used
// to its last number without overflow.
func TestNumericNearMaxInt64(t *testing.T) {
	t.Parallel()
	mem := memory.New(memory.Config{})
	defer mem.Close()
	const last = 1<<63 - 1
	a := newNumeric(t, identity.NumericConfig{Sequencer: mem, First: last - 4, Last: last, Block: 3})
	for i := int64(4); i >= 0; i-- {
		assert.Equal(t, int64(last-i), number(t, a))
	}
	_, err := a.NewID()
	assert.ErrorIs(t, err, identity.ErrRangeExhausted)
}

// ExampleNewNumeric hands out contact numbers from the range 4,200,000–
// 4,299,999 that the host system reserved for imported contacts. The
// numbers come from the sink's sequence, so that other processes on the
// same store, and later runs, never hand out the same ones.
func ExampleNewNumeric() {
	store := memory.New(memory.Config{})
	defer store.Close()
	ids, err := identity.NewNumeric(identity.NumericConfig{
		Sequencer: store,
		Name:      "contact_number",
		First:     4_200_000,
		Last:      4_299_999,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		id, err := ids.NewID()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(id)
	}
	// A second allocator (another process) gets the next block of 100.
	other, _ := identity.NewNumeric(identity.NumericConfig{Sequencer: store, Name: "contact_number", First: 4_200_000, Last: 4_299_999})
	id, _ := other.NewID()
	fmt.Println(id)
	// Output:
	// 4200000
	// 4200001
	// 4200002
	// 4200100
}
