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
	"unsafe"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
)

// Allocator hands out ids for new records. NewID is called from one goroutine
// at a time and must never return the same id twice.
type Allocator interface {
	NewID() (string, error)
}

// BlockAllocator is an optional capability of an [Allocator]: AppendIDs
// appends n new ids to dst at once, as n calls of NewID would return them,
// for a caller that creates many records in a row. The importer draws the
// ids of a batch's creates in blocks from an allocator that has it, and
// drops those a batch leaves unused. [UUIDv7] has it: the ids of a block
// carry the time of the call.
type BlockAllocator interface {
	Allocator
	AppendIDs(dst []string, n int) ([]string, error)
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

var _ BlockAllocator = (*uuidV7)(nil)

type uuidV7 struct {
	mu     sync.Mutex
	now    func() time.Time
	lastMS int64
	seq    uint16
	rnd    [1024]byte
	off    int
	// text is where the ids' text is written, idLen bytes each, every
	// byte once: an id is a view of its part (one allocation for
	// idsPerSlab ids), which nothing writes again.
	text []byte
}

// idLen is the length of a UUID's text; idsPerSlab the ids whose text
// shares one allocation.
const (
	idLen      = 36
	idsPerSlab = 64
)

const hexDigits = "0123456789abcdef"

func (g *uuidV7) NewID() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.next(g.now().UnixMilli())
}

// AppendIDs appends n ids to dst, reading the clock once.
func (g *uuidV7) AppendIDs(dst []string, n int) ([]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := g.now().UnixMilli()
	for range n {
		id, err := g.next(ms)
		if err != nil {
			return dst, err
		}
		dst = append(dst, id)
	}
	return dst, nil
}

// next returns the next id at time ms; the caller holds mu.
func (g *uuidV7) next(ms int64) (string, error) {
	if g.off == 0 || g.off+8 > len(g.rnd) {
		if _, err := rand.Read(g.rnd[:]); err != nil {
			return "", fmt.Errorf("identity: new UUIDv7: %w", err)
		}
		g.off = 0
	}
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
	if len(g.text) < idLen {
		g.text = make([]byte, idLen*idsPerSlab)
	}
	b := g.text[:idLen:idLen]
	g.text = g.text[idLen:]
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return unsafe.String(&b[0], idLen), nil
}

// Match is what a [Matcher] found for one record.
type Match struct {
	// Key is the record's normalized key by the first rule that gives it
	// one; "" when blank.
	Key intake.Key
	// Keys holds the key of every rule, Keys[i] for rule i, when the
	// matcher has more than one rule; nil with one rule (Key is its key).
	Keys []intake.Key
	// NoKey is true when every sync field of every rule is empty.
	NoKey bool
	// IDs are the stored records found by the first rule that found any,
	// oldest first.
	IDs []string
	// Rule is the index of the rule that found IDs; -1 when none did.
	Rule int
	// Conflict is true when a later rule found other records than Rule
	// did: ConflictRule is that rule and ConflictIDs what it found. The
	// row is rejected ([intake.CodeConflict]) instead of merging records.
	Conflict     bool
	ConflictRule int
	ConflictIDs  []string
	// Hits holds what every rule found, Hits[i] for rule i, when the
	// matcher has more than one rule; nil with one rule (IDs is its hit).
	Hits [][]string
}

// RuleHits returns the stored records rule i found.
func (m *Match) RuleHits(i int) []string {
	if m.Hits == nil {
		if i == 0 {
			return m.IDs
		}
		return nil
	}
	return m.Hits[i]
}

// RuleKey returns the key of rule i.
func (m *Match) RuleKey(i int) intake.Key {
	if m.Keys == nil {
		if i == 0 {
			return m.Key
		}
		return ""
	}
	return m.Keys[i]
}

// Matcher resolves records to stored records by identity rules: ordered
// key specs ("contact_id, else email, else phone"), each a composite key
// whose fields must all match. The first rule whose key finds stored
// records wins; when a later rule finds different records, the match is a
// conflict. A rule with [intake.KeySpec].RecordID matches on the store's
// record id (Acoustic's USE_RECIPIENT_ID).
type Matcher struct {
	schema *intake.Schema
	rules  []*intake.KeyPlan
	lookup sink.Lookuper
	getter sink.Getter

	keys []intake.Key
	ids  []string
	hits []map[intake.Key][]string
}

// ErrNoSyncFields is returned by [NewMatcher] for an empty key spec. Name
// the field or fields that identify a record (e.g. email).
var ErrNoSyncFields = errors.New("identity: no sync fields")

// NewMatcher returns a matcher for records of s keyed by spec. A nil lookup
// matches nothing (every key is new): use it for an empty store or a dry run
// without a store.
func NewMatcher(s *intake.Schema, spec intake.KeySpec, lookup sink.Lookuper) (*Matcher, error) {
	return NewRuleMatcher(s, []intake.KeySpec{spec}, lookup)
}

// NewRuleMatcher returns a matcher for records of s with ordered identity
// rules. A rule with RecordID needs lookup to implement [sink.Getter] too. A
// nil lookup matches nothing.
func NewRuleMatcher(s *intake.Schema, rules []intake.KeySpec, lookup sink.Lookuper) (*Matcher, error) {
	if len(rules) == 0 {
		return nil, ErrNoSyncFields
	}
	m := &Matcher{schema: s, lookup: lookup, hits: make([]map[intake.Key][]string, len(rules))}
	if g, ok := lookup.(sink.Getter); ok {
		m.getter = g
	}
	for i, spec := range rules {
		if len(spec.Fields) == 0 {
			if len(rules) == 1 {
				return nil, ErrNoSyncFields
			}
			return nil, fmt.Errorf("identity: identity rule %d has no fields: %w", i+1, ErrNoSyncFields)
		}
		for _, prev := range rules[:i] {
			if prev.Equal(spec) {
				return nil, fmt.Errorf("identity: identity rule %s is named twice", spec.Name())
			}
		}
		p, err := s.CompileKey(spec)
		if err != nil {
			return nil, err
		}
		if spec.RecordID && lookup != nil && m.getter == nil {
			return nil, fmt.Errorf("identity: identity rule %s matches by record id, which needs a sink that reads records by id (sink.Getter)", spec.Name())
		}
		m.rules = append(m.rules, p)
	}
	return m, nil
}

// Plan returns the compiled key of the first rule.
func (m *Matcher) Plan() *intake.KeyPlan { return m.rules[0] }

// Rules returns the rules' key specs, in order.
func (m *Matcher) Rules() []intake.KeySpec {
	out := make([]intake.KeySpec, len(m.rules))
	for i, p := range m.rules {
		out[i] = p.Spec()
	}
	return out
}

// Key computes the keys of rec into out (Key, Keys and NoKey; IDs and the
// rest cleared). It is safe for concurrent use, so callers can compute keys
// while mapping.
func (m *Matcher) Key(rec *intake.Record, out *Match) {
	keys := out.Keys[:0]
	*out = Match{Rule: -1}
	if len(m.rules) == 1 {
		out.Key, out.NoKey = m.rules[0].Key(rec)
		return
	}
	out.NoKey = true
	for _, p := range m.rules {
		k, empty := p.Key(rec)
		keys = append(keys, k)
		if out.Key == "" {
			out.Key = k
		}
		out.NoKey = out.NoKey && empty
	}
	out.Keys = keys
}

// Resolve fills the IDs of each match whose keys are set, with one lookup
// per rule for the batch. Matches must already hold their keys (see
// [Matcher.Key]).
func (m *Matcher) Resolve(ctx context.Context, matches []*Match) error {
	for _, mt := range matches {
		mt.IDs, mt.Rule, mt.Conflict, mt.ConflictRule, mt.ConflictIDs = nil, -1, false, 0, nil
		if len(m.rules) > 1 {
			mt.Hits = make([][]string, len(m.rules))
		}
	}
	if m.lookup == nil {
		return nil
	}
	for r, p := range m.rules {
		m.keys = m.keys[:0]
		for _, mt := range matches {
			if k := mt.RuleKey(r); k != "" {
				m.keys = append(m.keys, k)
			}
		}
		m.hits[r] = nil
		if len(m.keys) == 0 {
			continue
		}
		spec := p.Spec()
		if spec.RecordID {
			m.ids = m.ids[:0]
			for _, k := range m.keys {
				m.ids = append(m.ids, string(k))
			}
			recs, err := m.getter.Get(ctx, m.schema, m.ids)
			if err != nil {
				return fmt.Errorf("identity: read records by id (%s): %w", spec.Name(), err)
			}
			found := make(map[intake.Key][]string, len(recs))
			for id := range recs {
				found[intake.Key(id)] = []string{id}
			}
			m.hits[r] = found
			continue
		}
		found, err := m.lookup.Lookup(ctx, m.schema, spec, m.keys)
		if err != nil {
			return fmt.Errorf("identity: lookup by %s: %w", spec.Name(), err)
		}
		m.hits[r] = found
	}
	for _, mt := range matches {
		for r := range m.rules {
			k := mt.RuleKey(r)
			if k == "" {
				continue
			}
			ids := m.hits[r][k]
			if len(ids) == 0 {
				continue
			}
			if mt.Hits != nil {
				mt.Hits[r] = ids
			}
			if mt.Conflict {
				continue
			}
			if mt.Rule < 0 {
				mt.IDs, mt.Rule = ids, r
				continue
			}
			if !sameIDs(mt.IDs, ids) {
				mt.Conflict, mt.ConflictRule, mt.ConflictIDs = true, r, ids
			}
		}
	}
	return nil
}

// sameIDs reports whether a and b hold the same ids, in any order.
func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
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

// Remove takes k out of the set. The set keeps hashes: a key whose 64-bit
// hash equals k's goes too, which two distinct keys practically never do.
func (s *Seen) Remove(k intake.Key) {
	if k != "" {
		delete(s.m, maphash.String(s.seed, string(k)))
	}
}

// Len returns the number of distinct keys added.
func (s *Seen) Len() int { return len(s.m) }
