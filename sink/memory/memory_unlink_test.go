package memory_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryUnlinkConcurrentReaders deletes and anonymizes contacts with
// Unlink while other goroutines Get, Lookup, Scan and read the audit log
// (Memory is safe for concurrent use; run with -race): a reader never
// sees a link to a contact whose delete or anonymization had returned
// before the read began, nor finds that contact by its email.
func TestMemoryUnlinkConcurrentReaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := memory.New(memory.Config{})
	t.Cleanup(func() { m.Close() })
	const n = 60
	id := func(i int) string { return fmt.Sprintf("c%02d", i) }
	email := func(i int) string { return fmt.Sprintf("c%02d@example.com", i) }
	var ops []*sink.Op
	ids := make([]string, n)
	for i := range n {
		ids[i] = id(i)
		// Each contact was referred by the one before it and befriends
		// the two after it.
		by := ""
		if i > 0 {
			by = id(i - 1)
		}
		var friends []string
		for j := i + 1; j < min(i+3, n); j++ {
			friends = append(friends, id(j))
		}
		ops = append(ops, fixture.Create(fixture.Referral(id(i), email(i), by, "acct-1", friends...)))
	}
	fixture.Write(t, m, ops...)

	// done is how many contacts, in order, the writer has deleted (even
	// ones) or anonymized (odd ones).
	var done atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := int(done.Load())
				gone := map[string]bool{}
				for i := range k {
					gone[id(i)] = true
				}
				got, err := m.Get(ctx, fixture.Referring, ids)
				if !assert.NoError(t, err) {
					return
				}
				for rid, r := range got {
					for _, link := range append(r.Get("friends").Items(), r.Get("referred_by").Items()...) {
						assert.False(t, gone[link], "%s links to %s, unlinked before the read (%d done)", rid, link, k)
					}
				}
				for i := range k {
					if i%2 == 0 {
						assert.NotContains(t, got, id(i), "deleted before the read")
					} else if r := got[id(i)]; assert.NotNil(t, r, id(i)) {
						assert.True(t, r.Get("email").IsNull(), "anonymized before the read")
						assert.True(t, r.Get("account_record_id").IsNull(), "an anonymized contact's own links go")
					}
				}
				keys := []intake.Key{intake.Key(email(n - 1))}
				for i := range k {
					keys = append(keys, intake.Key(email(i)))
				}
				found, err := m.Lookup(ctx, fixture.Referring, fixture.ByEmail, keys)
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, map[intake.Key][]string{intake.Key(email(n - 1)): {id(n - 1)}}, found)
				assert.NoError(t, m.Scan(ctx, fixture.Referring, func(r *intake.Record) error {
					assert.False(t, gone[r.Get("referred_by").Str()], "scanned %s refers to an unlinked contact", r.ID)
					return nil
				}))
				log, err := m.AuditLog(ctx, intake.ObjectContact, "")
				if !assert.NoError(t, err) {
					return
				}
				assert.GreaterOrEqual(t, len(log), k)
			}
		})
	}
	for i := range n - 1 {
		kind := sink.OpDelete
		if i%2 == 1 {
			kind = sink.OpAnonymize
		}
		fixture.Write(t, m, fixture.Unlinking(kind, id(i)))
		done.Store(int64(i + 1))
	}
	close(stop)
	wg.Wait()

	got, err := m.Get(ctx, fixture.Referring, []string{id(n - 1)})
	require.NoError(t, err)
	assert.Equal(t, [][]string{nil, nil, {"acct-1"}}, [][]string{got[id(n-1)].Get("referred_by").Items(),
		got[id(n-1)].Get("friends").Items(), got[id(n-1)].Get("account_record_id").Items()})
	log, err := m.AuditLog(ctx, intake.ObjectContact, "")
	require.NoError(t, err)
	unlinked := slices.DeleteFunc(log, func(a sink.AuditEntry) bool { return a.Action != sink.ActionUnlink })
	// Per contact: the link from the next one's referred_by (the two
	// before it, which befriended it, are gone or anonymized already),
	// and an anonymized one's own account link and friends; its own
	// referred_by went with the contact before it.
	want := 0
	for i := range n - 1 {
		want++
		if i%2 == 1 {
			want += 1 + min(2, n-1-i)
		}
	}
	assert.Len(t, unlinked, want)
}
