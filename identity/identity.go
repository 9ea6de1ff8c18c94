package identity

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/intakehq/intake"
)

// Allocator hands out ids for new records. NewID is called from one goroutine
// at a time and must never return the same id twice.
type Allocator interface {
	NewID() (string, error)
}

// AllocatorFunc adapts a function to [Allocator].
type AllocatorFunc func() (string, error)

// NewID calls f.
func (f AllocatorFunc) NewID() (string, error) { return f() }

// UUIDv7 returns the default allocator: time-ordered UUIDv7 strings
// (RFC 9562, "01890a5d-ac96-774b-bcce-b302099a8057"), so records sort by
// creation. Within one allocator the ids are strictly increasing: the 12
// bits after the millisecond timestamp count ids within a millisecond
// (RFC 9562 §6.2, method 1), and the last 62 bits are random, drawn from
// crypto/rand in blocks. The allocator is safe for concurrent use.
func UUIDv7() Allocator { return &uuidV7{now: time.Now} }

type uuidV7 struct {
	mu     sync.Mutex
	now    func() time.Time
	lastMS int64
	seq    uint16
	rnd    [1024]byte
	off    int
}

const hexDigits = "0123456789abcdef"

func (g *uuidV7) NewID() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.off == 0 || g.off+8 > len(g.rnd) {
		if _, err := rand.Read(g.rnd[:]); err != nil {
			return "", fmt.Errorf("identity: new UUIDv7: %w", err)
		}
		g.off = 0
	}
	ms := g.now().UnixMilli()
	if ms > g.lastMS {
		g.lastMS, g.seq = ms, 0
	} else if g.seq++; g.seq > 0xfff { // 4096 ids in one millisecond: borrow the next one
		g.lastMS++
		g.seq = 0
	}
	var u [16]byte
	binary.BigEndian.PutUint64(u[0:8], uint64(g.lastMS)<<16|0x7000|uint64(g.seq))
	copy(u[8:], g.rnd[g.off:g.off+8])
	g.off += 8
	u[8] = u[8]&0x3f | 0x80 // variant 10
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(b[:]), nil
}

// Lookuper finds stored records by key. [github.com/intakehq/intake/sink]'s
// sinks implement it; see sink.Lookuper for the contract.
type Lookuper interface {
	Lookup(ctx context.Context, s *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error)
}

// Match is what a [Matcher] found for one record.
type Match struct {
	// Key is the record's normalized key; "" when blank.
	Key intake.Key
	// NoKey is true when every sync field of the record is empty.
	NoKey bool
	// IDs are the stored records with the same key, oldest first.
	IDs []string
}

// Matcher resolves records to stored records by their sync fields.
type Matcher struct {
	schema *intake.Schema
	plan   *intake.KeyPlan
	lookup Lookuper

	keys []intake.Key
}

// ErrNoSyncFields is returned by [NewMatcher] for an empty key spec.
var ErrNoSyncFields = errors.New("intake: no sync fields: name the field or fields that identify a record (e.g. email)")

// NewMatcher returns a matcher for records of s keyed by spec. A nil lookup
// matches nothing (every key is new): use it for an empty store or a dry run
// without a store.
func NewMatcher(s *intake.Schema, spec intake.KeySpec, lookup Lookuper) (*Matcher, error) {
	if len(spec.Fields) == 0 {
		return nil, ErrNoSyncFields
	}
	p, err := s.CompileKey(spec)
	if err != nil {
		return nil, err
	}
	return &Matcher{schema: s, plan: p, lookup: lookup}, nil
}

// Plan returns the compiled key of the matcher.
func (m *Matcher) Plan() *intake.KeyPlan { return m.plan }

// Key computes the key of rec into out (Key and NoKey; IDs cleared). It is
// safe for concurrent use, so callers can compute keys while mapping.
func (m *Matcher) Key(rec *intake.Record, out *Match) {
	out.Key, out.NoKey = m.plan.Key(rec)
	out.IDs = nil
}

// Resolve fills the IDs of each match whose Key is set, with one lookup for
// the batch. Matches must already hold their keys (see [Matcher.Key]).
func (m *Matcher) Resolve(ctx context.Context, matches []*Match) error {
	if m.lookup == nil {
		return nil
	}
	m.keys = m.keys[:0]
	for _, mt := range matches {
		mt.IDs = nil
		if mt.Key != "" {
			m.keys = append(m.keys, mt.Key)
		}
	}
	if len(m.keys) == 0 {
		return nil
	}
	found, err := m.lookup.Lookup(ctx, m.schema, m.plan.Spec(), m.keys)
	if err != nil {
		return fmt.Errorf("identity: lookup by %s: %w", m.plan.Spec().Name(), err)
	}
	for _, mt := range matches {
		if mt.Key != "" {
			mt.IDs = found[mt.Key]
		}
	}
	return nil
}

// Seen is the set of keys met so far in a run, kept as 64-bit hashes. The
// zero value is not usable; call [NewSeen]. It is not safe for concurrent use.
type Seen struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

// NewSeen returns an empty set.
func NewSeen() *Seen { return &Seen{seed: maphash.MakeSeed(), m: make(map[uint64]struct{})} }

// Add adds k and reports whether it was already present. Blank keys are
// never added and never reported present.
func (s *Seen) Add(k intake.Key) (dup bool) {
	if k == "" {
		return false
	}
	h := maphash.String(s.seed, string(k))
	if _, ok := s.m[h]; ok {
		return true
	}
	s.m[h] = struct{}{}
	return false
}

// Has reports whether k was added.
func (s *Seen) Has(k intake.Key) bool {
	if k == "" {
		return false
	}
	_, ok := s.m[maphash.String(s.seed, string(k))]
	return ok
}

// Len returns the number of distinct keys added.
func (s *Seen) Len() int { return len(s.m) }
