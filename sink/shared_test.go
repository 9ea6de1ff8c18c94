package sink_test

// The tests in this file run against every sink of the package through
// testSinks. They only use the exported contracts, so that they can move
// into the public conformance kit sink/sinktest.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullSink is what every sink of this package implements.
type fullSink interface {
	sink.Sink
	sink.Lookuper
	sink.Getter
	sink.SchemaEnsurer
	sink.Scanner
	sink.Counter
	sink.SchemaReader
}

// sinkFactory makes a fresh, empty sink for one test.
type sinkFactory struct {
	name string
	open func(t *testing.T) fullSink
}

func testSinks() []sinkFactory {
	return []sinkFactory{
		{"memory", func(t *testing.T) fullSink { return sink.NewMemory(sink.MemoryConfig{}) }},
		{"sqlite", func(t *testing.T) fullSink { return openSQLite(t, t.TempDir()+"/test.db") }},
	}
}

// sharedTests are the behaviours every sink must show.
var sharedTests = []struct {
	name string
	run  func(t *testing.T, s fullSink)
}{
	{"Outcomes", testOutcomes},
	{"CompositeKey", testCompositeKey},
	{"BlankKeysNeverMatch", testBlankKeys},
	{"LookupAfterKeyChange", testKeyChange},
	{"KeySpecAfterRecords", testBackfill},
	{"MultipleMatchesOldestFirst", testMultipleMatches},
	{"AllOrNothing", testAllOrNothing},
	{"DuplicateID", testDuplicateID},
	{"SameIDTwiceInBatch", testSameIDTwice},
	{"ScanOrder", testScanOrder},
	{"EveryKindRoundTrips", testRoundTrip},
	{"SchemaEvolution", testSchemaEvolution},
	{"ObjectTypes", testObjectTypes},
	{"ConcurrentReaders", testConcurrentReaders},
	{"SchemaReader", testSchemaReader},
}

func TestSinks(t *testing.T) {
	t.Parallel()
	for _, f := range testSinks() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range sharedTests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, f.open(t))
				})
			}
		})
	}
}

var contact = intake.ContactSchema()

// person returns a contact record.
func person(id, email, first, last string) *intake.Record {
	r := intake.NewRecord(contact)
	r.ID = id
	if email != "" {
		r.Set("email", intake.Text(email))
	}
	if first != "" {
		r.Set("first_name", intake.Text(first))
	}
	if last != "" {
		r.Set("last_name", intake.Text(last))
	}
	return r
}

func create(r *intake.Record) *sink.Op { return &sink.Op{Kind: sink.OpCreate, Record: r} }
func update(r *intake.Record, clear ...int) *sink.Op {
	return &sink.Op{Kind: sink.OpUpdate, Record: r, Clear: clear}
}
func optOut(id string) *sink.Op {
	return &sink.Op{Kind: sink.OpOptOut, Record: &intake.Record{Schema: contact, ID: id, Values: make([]intake.Value, contact.Len())}}
}

// write writes ops and returns their outcomes.
func write(t *testing.T, s sink.Sink, ops ...*sink.Op) []intake.Outcome {
	t.Helper()
	n, err := s.Write(context.Background(), ops)
	require.NoError(t, err)
	require.Equal(t, len(ops), n)
	out := make([]intake.Outcome, len(ops))
	for i, op := range ops {
		out[i] = op.Outcome
	}
	return out
}

func lookup(t *testing.T, s sink.Lookuper, spec intake.KeySpec, keys ...intake.Key) map[intake.Key][]string {
	t.Helper()
	res, err := s.Lookup(context.Background(), contact, spec, keys)
	require.NoError(t, err)
	return res
}

func get(t *testing.T, s sink.Getter, id string) *intake.Record {
	t.Helper()
	res, err := s.Get(context.Background(), contact, []string{id})
	require.NoError(t, err)
	return res[id]
}

var byEmail = intake.Keys("email")

func testOutcomes(t *testing.T, s fullSink) {
	require.NoError(t, s.EnsureSchema(context.Background(), contact))
	a := person("a", "a@example.com", "Anna", "Alt")
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated}, write(t, s, create(a)))

	city := contact.Index("city")
	first := contact.Index("first_name")
	tests := []struct {
		name    string
		op      *sink.Op
		want    intake.Outcome
		check   func(r *intake.Record)
		optedIn bool
	}{
		{"same values", update(person("a", "a@example.com", "Anna", "")), intake.OutcomeUnchanged, nil, false},
		{"nulls keep values", update(person("a", "", "", "")), intake.OutcomeUnchanged, func(r *intake.Record) {
			require.Equal(t, "Alt", r.Get("last_name").Str())
		}, false},
		{"new value", update(person("a", "", "Anne", "")), intake.OutcomeUpdated, func(r *intake.Record) {
			require.Equal(t, "Anne", r.Get("first_name").Str())
			require.Equal(t, "Alt", r.Get("last_name").Str())
		}, false},
		{"set a null field", func() *sink.Op {
			r := person("a", "", "", "")
			r.Values[city] = intake.Text("Köln")
			return update(r)
		}(), intake.OutcomeUpdated, func(r *intake.Record) { require.Equal(t, "Köln", r.Get("city").Str()) }, false},
		{"clear", update(person("a", "", "", ""), city), intake.OutcomeUpdated, func(r *intake.Record) {
			require.True(t, r.Get("city").IsNull())
		}, false},
		{"clear a null field", update(person("a", "", "", ""), city), intake.OutcomeUnchanged, nil, false},
		{"clear wins over a value", update(person("a", "", "Zoe", ""), first), intake.OutcomeUpdated, func(r *intake.Record) {
			require.True(t, r.Get("first_name").IsNull())
		}, false},
		{"opt out", optOut("a"), intake.OutcomeOptedOut, func(r *intake.Record) { require.True(t, r.OptedOut) }, true},
		{"opt out again", optOut("a"), intake.OutcomeOptedOut, func(r *intake.Record) { require.True(t, r.OptedOut) }, true},
		{"update keeps opt-out", update(person("a", "", "Anna", "")), intake.OutcomeUpdated, func(r *intake.Record) {
			require.True(t, r.OptedOut)
		}, true},
	}
	for _, tc := range tests { // in order: each step builds on the last
		got := write(t, s, tc.op)
		require.Equal(t, tc.want, got[0], tc.name)
		r := get(t, s, "a")
		require.NotNil(t, r, tc.name)
		require.Equal(t, "a", r.ID)
		require.Equal(t, "a@example.com", r.Get("email").Str(), tc.name)
		if tc.check != nil {
			tc.check(r)
		}
	}
	require.Nil(t, get(t, s, "missing"))
	n, err := s.Count(context.Background(), intake.ObjectContact)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func testCompositeKey(t *testing.T, s fullSink) {
	write(t, s,
		create(person("1", "", "Anna", "Meyer")),
		create(person("2", "", "Anna", "Müller")),
		create(person("3", "", "anna ", " MEYER")),
	)
	spec := intake.Keys("first_name", "last_name")
	res := lookup(t, s, spec,
		intake.Key("anna"+intake.KeySep+"meyer"),
		intake.Key("anna"+intake.KeySep+"müller"),
		intake.Key("anna"+intake.KeySep+"schulz"),
		intake.Key("meyer"+intake.KeySep+"anna"))
	require.Equal(t, map[intake.Key][]string{
		intake.Key("anna" + intake.KeySep + "meyer"):  {"1", "3"},
		intake.Key("anna" + intake.KeySep + "müller"): {"2"},
	}, res)
}

func testBlankKeys(t *testing.T, s fullSink) {
	write(t, s,
		create(person("1", "", "Anna", "")),
		create(person("2", "", "", "")),
		create(person("3", "   ", "", "Meyer")),
	)
	require.Empty(t, lookup(t, s, byEmail, "", " "))
	require.Empty(t, lookup(t, s, intake.Keys("first_name", "last_name"), "", intake.Key("anna"+intake.KeySep), intake.Key(intake.KeySep+"meyer"), intake.Key(intake.KeySep)))
	require.Empty(t, lookup(t, s, byEmail))
}

func testKeyChange(t *testing.T, s fullSink) {
	write(t, s, create(person("1", "old@example.com", "", "")))
	require.Equal(t, []string{"1"}, lookup(t, s, byEmail, "old@example.com")["old@example.com"])
	write(t, s, update(person("1", "New@Example.com", "", "")))
	res := lookup(t, s, byEmail, "old@example.com", "new@example.com")
	require.Equal(t, map[intake.Key][]string{"new@example.com": {"1"}}, res)
	write(t, s, update(person("1", "", "", ""), contact.Index("email")))
	require.Empty(t, lookup(t, s, byEmail, "old@example.com", "new@example.com"))
}

func testBackfill(t *testing.T, s fullSink) {
	write(t, s,
		create(person("1", "a@example.com", "Anna", "Meyer")),
		create(person("2", "b@example.com", "Ben", "Meyer")),
	)
	// The first lookup by last name comes after the records.
	require.Equal(t, map[intake.Key][]string{"meyer": {"1", "2"}}, lookup(t, s, intake.Keys("last_name"), "meyer"))
	// And the index is kept from then on.
	write(t, s, create(person("3", "", "", "MEYER")), update(person("1", "", "", "Schulz")))
	require.Equal(t, map[intake.Key][]string{"meyer": {"2", "3"}, "schulz": {"1"}}, lookup(t, s, intake.Keys("last_name"), "meyer", "schulz"))
	_, err := s.Lookup(context.Background(), contact, intake.Keys("no_such_field"), []intake.Key{"x"})
	require.Error(t, err)
}

func testMultipleMatches(t *testing.T, s fullSink) {
	for i := range 5 {
		write(t, s, create(person(fmt.Sprintf("id-%d", 9-i), "same@example.com", "", "")))
	}
	res := lookup(t, s, byEmail, "same@example.com", "same@example.com")
	require.Equal(t, []string{"id-9", "id-8", "id-7", "id-6", "id-5"}, res["same@example.com"])
}

func testAllOrNothing(t *testing.T, s fullSink) {
	ctx := context.Background()
	write(t, s, create(person("keep", "keep@example.com", "Keep", "")))
	batch := []*sink.Op{
		create(person("n1", "n1@example.com", "", "")),
		update(person("keep", "", "Changed", "")),
		update(func() *intake.Record { r := person("ghost", "", "X", ""); r.Line = 42; return r }()),
		create(person("n2", "n2@example.com", "", "")),
	}
	n, err := s.Write(ctx, batch)
	require.Equal(t, 0, n)
	var re *sink.RecordError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "ghost", re.ID)
	require.Equal(t, 42, re.Line)
	require.ErrorIs(t, err, sink.ErrNotFound)
	for _, op := range batch {
		require.Equal(t, intake.OutcomeNone, op.Outcome)
	}
	require.Empty(t, lookup(t, s, byEmail, "n1@example.com", "n2@example.com"))
	require.Equal(t, "Keep", get(t, s, "keep").Get("first_name").Str())
	c, err := s.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	require.EqualValues(t, 1, c)

	// An opt-out of an unknown id fails the same way; invalid ops too.
	for _, op := range []*sink.Op{
		optOut("ghost"),
		{Kind: sink.OpCreate, Record: person("", "x@example.com", "", "")},
		{Kind: sink.OpKind(9), Record: person("x", "", "", "")},
		update(person("keep", "", "", ""), 99),
		create(func() *intake.Record {
			r := person("bad", "", "", "")
			r.Values[contact.Index("birthday")] = intake.Text("x")
			return r
		}()),
	} {
		n, err := s.Write(ctx, []*sink.Op{create(person("n3", "", "", "")), op})
		require.Equal(t, 0, n)
		require.ErrorAs(t, err, &re)
		require.Nil(t, get(t, s, "n3"))
	}
	// A canceled context writes nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	n, err = s.Write(cctx, []*sink.Op{create(person("n4", "", "", ""))})
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, context.Canceled)
}

func testDuplicateID(t *testing.T, s fullSink) {
	ctx := context.Background()
	write(t, s, create(person("1", "a@example.com", "", "")))
	for _, batch := range [][]*sink.Op{
		{create(person("2", "", "", "")), create(person("1", "b@example.com", "", ""))},
		{create(person("3", "", "", "")), create(person("4", "", "", "")), create(person("3", "", "", ""))},
	} {
		n, err := s.Write(ctx, batch)
		require.Equal(t, 0, n)
		require.ErrorIs(t, err, sink.ErrDuplicateID)
		var re *sink.RecordError
		require.ErrorAs(t, err, &re)
		require.Equal(t, batch[len(batch)-1].Record.ID, re.ID)
	}
	c, err := s.Count(ctx, intake.ObjectContact)
	require.NoError(t, err)
	require.EqualValues(t, 1, c)
}

func testSameIDTwice(t *testing.T, s fullSink) {
	out := write(t, s,
		create(person("1", "a@example.com", "Anna", "")),
		update(person("1", "", "Anne", "")),
		update(person("1", "", "Anne", "")),
		update(person("1", "", "", "Alt")),
		optOut("1"),
		update(person("1", "", "Ann", "")),
	)
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated, intake.OutcomeUpdated, intake.OutcomeUnchanged, intake.OutcomeUpdated, intake.OutcomeOptedOut, intake.OutcomeUpdated}, out)
	r := get(t, s, "1")
	require.Equal(t, "Ann", r.Get("first_name").Str())
	require.Equal(t, "Alt", r.Get("last_name").Str())
	require.True(t, r.OptedOut)
	// Updates of an existing record, twice in one batch.
	out = write(t, s, update(person("1", "", "Bo", "")), update(person("1", "", "Bo", "")), update(person("1", "", "Cy", "")))
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated, intake.OutcomeUnchanged, intake.OutcomeUpdated}, out)
	require.Equal(t, "Cy", get(t, s, "1").Get("first_name").Str())
}

func testScanOrder(t *testing.T, s fullSink) {
	ctx := context.Background()
	var want []string
	const n = 2500 // more than one page of both sinks
	for b := 0; b < n; b += 500 {
		var ops []*sink.Op
		for i := b; i < b+500; i++ {
			id := fmt.Sprintf("z%05d", n-i) // ids sort against creation order
			want = append(want, id)
			ops = append(ops, create(person(id, fmt.Sprintf("%d@example.com", i), "", "")))
		}
		write(t, s, ops...)
	}
	write(t, s, update(person(want[0], "changed@example.com", "", "")))
	var got []string
	require.NoError(t, s.Scan(ctx, contact, func(r *intake.Record) error {
		got = append(got, r.ID)
		return nil
	}))
	require.Equal(t, want, got)
	stop := errors.New("stop")
	calls := 0
	require.ErrorIs(t, s.Scan(ctx, contact, func(*intake.Record) error { calls++; return stop }), stop)
	require.Equal(t, 1, calls)
	// A schema with fewer fields sees a projection.
	small := intake.MustSchema(intake.ObjectContact, intake.Field{Name: "email", Type: intake.TypeEmail})
	first := ""
	require.NoError(t, s.Scan(ctx, small, func(r *intake.Record) error {
		if first == "" {
			first = r.Values[0].Str()
		}
		require.Len(t, r.Values, 1)
		return nil
	}))
	require.Equal(t, "changed@example.com", first)
}

// kinds is a schema with a field of every type.
var kinds = intake.MustSchema("gadget",
	intake.Field{Name: "name", Type: intake.TypeText},
	intake.Field{Name: "active", Type: intake.TypeBool},
	intake.Field{Name: "price", Type: intake.TypeDecimal},
	intake.Field{Name: "launch", Type: intake.TypeDate},
	intake.Field{Name: "opens", Type: intake.TypeTime},
	intake.Field{Name: "seen", Type: intake.TypeTimestamp},
	intake.Field{Name: "owner", Type: intake.TypeEmail},
	intake.Field{Name: "hotline", Type: intake.TypePhone},
	intake.Field{Name: "country", Type: intake.TypeCountry},
	intake.Field{Name: "tier", Type: intake.TypeSelect},
	intake.Field{Name: "tags", Type: intake.TypeMultiSelect},
	intake.Field{Name: "id", Type: intake.TypeID}, // collides with the id column
	intake.Field{Name: "k_x", Type: intake.TypeText},
)

func testRoundTrip(t *testing.T, s fullSink) {
	ctx := context.Background()
	price, _ := intake.DecimalString("-1234.005")
	big, _ := intake.DecimalString("123456789012345678901234567890.5")
	opens, _ := intake.TimeOfDay(23, 59, 58, 999999)
	mk := func(id string, v ...intake.Value) *intake.Record {
		r := intake.NewRecord(kinds)
		r.ID = id
		copy(r.Values, v)
		return r
	}
	recs := []*intake.Record{
		mk("all",
			intake.Text("Zählwerk \"x\" 'y' \x00 ✓"), intake.Bool(true), price, intake.Date(1899, 12, 31), opens,
			intake.Timestamp(time.Date(2026, 3, 29, 1, 30, 0, 123456000, time.UTC)), intake.Text("a@example.com"),
			intake.Text("+4930123456"), intake.Text("DE"), intake.Text("gold"), intake.List("a", "b c", ""),
			intake.Text("00042"), intake.Text("k")),
		mk("zeros", intake.Text(""), intake.Bool(false), intake.Decimal(big.DecimalValue().Sub(big.DecimalValue())), intake.Date(1970, 1, 1), intake.Null,
			intake.Timestamp(time.UnixMicro(-1)), intake.Null, intake.Null, intake.Null, intake.Null, intake.List("only")),
		mk("big", intake.Null, intake.Null, big, intake.Date(9999, 12, 31), intake.Null, intake.Timestamp(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))),
		mk("nulls"),
	}
	var ops []*sink.Op
	for _, r := range recs {
		ops = append(ops, create(r.Clone()))
	}
	write(t, s, ops...)
	got, err := s.Get(ctx, kinds, []string{"all", "zeros", "big", "nulls", "missing", "all"})
	require.NoError(t, err)
	require.Len(t, got, len(recs))
	for _, r := range recs {
		require.Equal(t, r.Values, got[r.ID].Values, r.ID)
		require.Same(t, kinds, got[r.ID].Schema)
	}
	i := 0
	require.NoError(t, s.Scan(ctx, kinds, func(r *intake.Record) error {
		require.Equal(t, recs[i].ID, r.ID)
		require.Equal(t, recs[i].Values, r.Values)
		i++
		return nil
	}))
	require.Equal(t, len(recs), i)
	res, err := s.Lookup(ctx, kinds, intake.Keys("tags"), []intake.Key{"a|b c|", "only"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"a|b c|": {"all"}, "only": {"zeros"}}, res)
}

func testSchemaEvolution(t *testing.T, s fullSink) {
	ctx := context.Background()
	v1 := intake.MustSchema("lead", intake.Field{Name: "email", Type: intake.TypeText})
	v2 := intake.MustSchema("lead", intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "score", Type: intake.TypeDecimal})
	bad := intake.MustSchema("lead", intake.Field{Name: "score", Type: intake.TypeDate})
	r := intake.NewRecord(v1)
	r.ID, r.Values[0] = "1", intake.Text("A  B@Example.com")
	write(t, s, create(r))
	res, err := s.Lookup(ctx, v1, intake.Keys("email"), []intake.Key{"a b@example.com"})
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, res["a b@example.com"])

	require.NoError(t, s.EnsureSchema(ctx, v2))
	// email is now an email field: its keys are normalized as emails.
	res, err = s.Lookup(ctx, v2, intake.Keys("email"), []intake.Key{"a  b@example.com", "a b@example.com"})
	require.NoError(t, err)
	require.Equal(t, map[intake.Key][]string{"a  b@example.com": {"1"}}, res)
	got, err := s.Get(ctx, v2, []string{"1"})
	require.NoError(t, err)
	require.True(t, got["1"].Values[1].IsNull())

	err = s.EnsureSchema(ctx, bad)
	require.ErrorIs(t, err, sink.ErrSchemaConflict)
	r2 := intake.NewRecord(bad)
	r2.ID = "2"
	_, err = s.Write(ctx, []*sink.Op{create(r2)})
	require.ErrorIs(t, err, sink.ErrSchemaConflict)
}

func testObjectTypes(t *testing.T, s fullSink) {
	ctx := context.Background()
	acct := intake.MustSchema(intake.ObjectAccount, intake.Field{Name: "account_id", Type: intake.TypeID}, intake.Field{Name: "name", Type: intake.TypeText})
	a := intake.NewRecord(acct)
	a.ID, a.Values[0], a.Values[1] = "same-id", intake.Text("A1"), intake.Text("Acme")
	write(t, s, create(person("same-id", "a@example.com", "", "")), create(a))
	res, err := s.Lookup(ctx, acct, intake.Keys("account_id"), []intake.Key{"A1"})
	require.NoError(t, err)
	require.Equal(t, []string{"same-id"}, res["A1"])
	require.Empty(t, lookup(t, s, intake.Keys("contact_id"), "A1"))
	for obj, want := range map[string]int64{intake.ObjectAccount: 1, intake.ObjectContact: 1, "nothing": 0} {
		n, err := s.Count(ctx, obj)
		require.NoError(t, err)
		require.Equal(t, want, n, obj)
	}
	got, err := s.Get(ctx, acct, []string{"same-id"})
	require.NoError(t, err)
	require.Equal(t, "Acme", got["same-id"].Values[1].Str())
}

func testConcurrentReaders(t *testing.T, s fullSink) {
	ctx := context.Background()
	write(t, s, create(person("0", "0@example.com", "", "")))
	lookup(t, s, byEmail, "0@example.com")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Go(func() {
			for i := range 30 {
				k := intake.Key(fmt.Sprintf("%d@example.com", i))
				res, err := s.Lookup(ctx, contact, byEmail, []intake.Key{k, "0@example.com"})
				if err == nil && len(res["0@example.com"]) != 1 {
					err = fmt.Errorf("reader %d: lost record 0: %v", g, res)
				}
				if err == nil {
					_, err = s.Get(ctx, contact, []string{"0", "1"})
				}
				if err == nil && i%10 == 0 {
					err = s.Scan(ctx, contact, func(*intake.Record) error { return nil })
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := 1; i < 30; i++ {
		write(t, s, create(person(fmt.Sprint(i), fmt.Sprintf("%d@example.com", i), "", "")), update(person("0", "", fmt.Sprint(i), "")))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res := lookup(t, s, byEmail, "29@example.com")
	require.Equal(t, []string{"29"}, res["29@example.com"])
	var ids []string
	require.NoError(t, s.Scan(ctx, contact, func(r *intake.Record) error { ids = append(ids, r.ID); return nil }))
	require.Len(t, ids, 30)
	require.True(t, slices.Contains(ids, "29"))
}

func testSchemaReader(t *testing.T, s fullSink) {
	ctx := context.Background()
	got, err := s.Schema(ctx, "contact")
	require.NoError(t, err)
	assert.Nil(t, got, "an object type never seen has no schema")
	custom := intake.MustSchema("contact", append(contact.Fields(), intake.Field{Name: "loyalty_tier", Type: intake.TypeSelect, Options: []string{"gold"}})...)
	require.NoError(t, s.EnsureSchema(ctx, custom))
	got, err = s.Schema(ctx, "contact")
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, custom.Names(), got.Names())
	assert.Equal(t, intake.TypeSelect, got.Field(got.Index("loyalty_tier")).Type)
}
