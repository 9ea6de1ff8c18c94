package identity_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
)

// TestDecideTable checks every cell of the record-action table on
// intake.Action: each action against a match, several matches, no match, no
// key, a blank key and a key met earlier in the file.
func TestDecideTable(t *testing.T) {
	t.Parallel()
	matched := &identity.Match{Key: "k", IDs: []string{"r1"}}
	twice := &identity.Match{Key: "k", IDs: []string{"r1", "r2"}}
	none := &identity.Match{Key: "k"}
	noKey := &identity.Match{NoKey: true}
	blank := &identity.Match{} // a composite key with an empty part

	type want struct {
		v    identity.Verdict
		code intake.Code
	}
	tests := []struct {
		action  intake.Action
		m       *identity.Match
		earlier bool
		want    want
	}{
		{intake.ActionCreate, none, false, want{identity.VerdictCreate, ""}},
		{intake.ActionCreate, matched, false, want{identity.VerdictSkip, intake.CodeExists}},
		{intake.ActionCreate, none, true, want{identity.VerdictReject, intake.CodeDuplicate}},
		{intake.ActionCreate, blank, false, want{identity.VerdictCreate, ""}},
		{intake.ActionAddOnly, none, false, want{identity.VerdictCreate, ""}},
		{intake.ActionAddOnly, matched, false, want{identity.VerdictSkip, intake.CodeExists}},
		{intake.ActionAddOnly, matched, true, want{identity.VerdictReject, intake.CodeDuplicate}},
		{intake.ActionAddOnly, none, true, want{identity.VerdictReject, intake.CodeDuplicate}},
		{intake.ActionUpdateOnly, matched, false, want{identity.VerdictUpdate, ""}},
		{intake.ActionUpdateOnly, twice, false, want{identity.VerdictUpdate, ""}},
		{intake.ActionUpdateOnly, none, false, want{identity.VerdictSkip, intake.CodeNoMatch}},
		{intake.ActionUpdateOnly, matched, true, want{identity.VerdictUpdate, ""}},
		{intake.ActionAddAndUpdate, matched, false, want{identity.VerdictUpdate, ""}},
		{intake.ActionAddAndUpdate, none, false, want{identity.VerdictCreate, ""}},
		{intake.ActionAddAndUpdate, none, true, want{identity.VerdictUpdate, ""}},
		{intake.ActionOptOut, matched, false, want{identity.VerdictOptOut, ""}},
		{intake.ActionOptOut, twice, false, want{identity.VerdictOptOut, ""}},
		{intake.ActionOptOut, none, false, want{identity.VerdictSkip, intake.CodeNoMatch}},
		{intake.ActionOptOut, blank, false, want{identity.VerdictSkip, intake.CodeNoMatch}},
	}
	for _, a := range intake.Actions {
		tests = append(tests, struct {
			action  intake.Action
			m       *identity.Match
			earlier bool
			want    want
		}{a, noKey, false, want{identity.VerdictReject, intake.CodeMissingKey}})
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/ids=%d/nokey=%v/earlier=%v", tt.action, len(tt.m.IDs), tt.m.NoKey, tt.earlier)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := identity.Decide(tt.action, tt.m, tt.earlier)
			assert.Equal(t, tt.want.v, d.Verdict, "verdict")
			assert.Equal(t, tt.want.code, d.Code, "code")
		})
	}
}

func TestSeen(t *testing.T) {
	t.Parallel()
	s := identity.NewSeen()
	assert.False(t, s.Add("a@b.co"))
	assert.True(t, s.Add("a@b.co"))
	assert.True(t, s.Has("a@b.co"))
	assert.False(t, s.Has("c@d.co"))
	assert.False(t, s.Add(""), "blank keys are never duplicates")
	assert.False(t, s.Add(""))
	assert.False(t, s.Has(""))
	assert.Equal(t, 1, s.Len())
}

// lookup is a tiny store keyed by normalized key, to test the matcher's
// batching against a real implementation of the contract.
type lookup struct {
	byKey map[intake.Key][]string
	calls int
}

func (l *lookup) Lookup(_ context.Context, _ *intake.Schema, spec intake.KeySpec, keys []intake.Key) (map[intake.Key][]string, error) {
	l.calls++
	out := map[intake.Key][]string{}
	for _, k := range keys {
		if ids, ok := l.byKey[k]; ok {
			out[k] = ids
		}
	}
	return out, nil
}

func TestMatcherResolvesABatchInOneLookup(t *testing.T) {
	t.Parallel()
	s := intake.ContactSchema()
	l := &lookup{byKey: map[intake.Key][]string{"a@example.com": {"r1"}, "b@example.com": {"r2", "r3"}}}
	m, err := identity.NewMatcher(s, intake.Keys("email"), l)
	require.NoError(t, err)

	emails := []string{"A@Example.com", "b@example.com ", "", "new@example.com"}
	matches := make([]*identity.Match, len(emails))
	for i, e := range emails {
		rec := intake.NewRecord(s)
		if e != "" {
			rec.Set("email", intake.Text(e))
		}
		matches[i] = &identity.Match{IDs: []string{"stale"}}
		m.Key(rec, matches[i])
	}
	require.NoError(t, m.Resolve(context.Background(), matches))
	assert.Equal(t, 1, l.calls)
	assert.Equal(t, []string{"r1"}, matches[0].IDs)
	assert.Equal(t, []string{"r2", "r3"}, matches[1].IDs)
	assert.True(t, matches[2].NoKey)
	assert.Nil(t, matches[2].IDs)
	assert.Nil(t, matches[3].IDs)
}

func TestNewMatcherErrors(t *testing.T) {
	t.Parallel()
	_, err := identity.NewMatcher(intake.ContactSchema(), intake.KeySpec{}, nil)
	assert.ErrorIs(t, err, identity.ErrNoSyncFields)
	_, err = identity.NewMatcher(intake.ContactSchema(), intake.Keys("shoe_size"), nil)
	assert.ErrorContains(t, err, `"shoe_size" is not a field`)
}

// TestUUIDv7IsUniqueAndOrdered draws ids one by one and, through
// identity.BlockAllocator, in blocks (more than 4096 in one millisecond
// included), in turn: every id is a new UUIDv7, greater than the last.
func TestUUIDv7IsUniqueAndOrdered(t *testing.T) {
	t.Parallel()
	a := identity.UUIDv7()
	ba, ok := a.(identity.BlockAllocator)
	require.True(t, ok, "UUIDv7 draws ids in blocks")
	var ids []string
	for i := range 40 {
		if i%2 == 0 {
			id, err := a.NewID()
			require.NoError(t, err)
			ids = append(ids, id)
			continue
		}
		var err error
		ids, err = ba.AppendIDs(ids, 1+i*150)
		require.NoError(t, err)
	}
	require.Greater(t, len(ids), 4096*2)
	prev := ""
	seen := map[string]bool{}
	for _, id := range ids {
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
		require.Len(t, id, 36)
		require.Equal(t, byte('7'), id[14], "version nibble")
		require.Greater(t, id, prev, "UUIDv7 ids sort by creation")
		u, err := uuid.Parse(id)
		require.NoError(t, err)
		require.Equal(t, uuid.Version(7), u.Version())
		require.Equal(t, uuid.RFC4122, u.Variant())
		prev = id
	}
}

func BenchmarkUUIDv7(b *testing.B) {
	a := identity.UUIDv7()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.NewID(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSeenMemoryPerKey checks the budget of the in-file duplicate index: at
// most 64 bytes of heap per distinct key, whatever the keys' length.
func TestSeenMemoryPerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million keys")
	}
	const n = 1_000_000
	keys := make([]intake.Key, n)
	for i := range keys {
		keys[i] = intake.Key("a.rather.long.address.of.person" + strconv.Itoa(i) + "@subdomain.example.com")
	}
	before := heapInUse()
	s := identity.NewSeen()
	for _, k := range keys {
		s.Add(k)
	}
	after := heapInUse()
	perKey := float64(after-before) / n
	t.Logf("Seen: %.1f bytes per distinct key (%d keys)", perKey, s.Len())
	assert.LessOrEqual(t, perKey, 64.0)
	runtime.KeepAlive(s)
	runtime.KeepAlive(keys)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkSeen measures the in-file duplicate index: time per key and
// bytes of heap per distinct key.
func BenchmarkSeen(b *testing.B) {
	keys := make([]intake.Key, 1<<20)
	for i := range keys {
		keys[i] = intake.Key("person" + strconv.Itoa(i) + "@example.com")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := identity.NewSeen()
		for _, k := range keys {
			s.Add(k)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
}

func ExampleDecide() {
	existing := &identity.Match{Key: "anna@example.de", IDs: []string{"0190a5d0-0000-7000-8000-000000000001"}}
	for _, a := range intake.Actions {
		d := identity.Decide(a, existing, false)
		if d.Code != "" {
			fmt.Printf("%s: %s (%s)\n", a, d.Verdict, d.Code)
		} else {
			fmt.Printf("%s: %s\n", a, d.Verdict)
		}
	}
	// Output:
	// create: skip (exists)
	// add_only: skip (exists)
	// update_only: update
	// add_and_update: update
	// opt_out: opt_out
}
