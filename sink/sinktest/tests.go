package sinktest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

func testOutcomes(k *kit) {
	t := k.t
	k.ensure(contact)
	a := person("a", "a@example.com", "Anna", "Alt")
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated}, k.write(create(a)))

	city := contact.Index("city")
	first := contact.Index("first_name")
	tests := []struct {
		name  string
		op    *sink.Op
		want  intake.Outcome
		check func(r *intake.Record)
	}{
		{"same values", update(person("a", "a@example.com", "Anna", "")), intake.OutcomeUnchanged, nil},
		{"nulls keep values", update(person("a", "", "", "")), intake.OutcomeUnchanged, func(r *intake.Record) {
			require.Equal(t, "Alt", r.Get("last_name").Str())
		}},
		{"new value", update(person("a", "", "Anne", "")), intake.OutcomeUpdated, func(r *intake.Record) {
			require.Equal(t, "Anne", r.Get("first_name").Str())
			require.Equal(t, "Alt", r.Get("last_name").Str())
		}},
		{"set a null field", func() *sink.Op {
			r := person("a", "", "", "")
			r.Values[city] = intake.Text("Köln")
			return update(r)
		}(), intake.OutcomeUpdated, func(r *intake.Record) { require.Equal(t, "Köln", r.Get("city").Str()) }},
		{"clear", update(person("a", "", "", ""), city), intake.OutcomeUpdated, func(r *intake.Record) {
			require.True(t, r.Get("city").IsNull())
		}},
		{"clear a null field", update(person("a", "", "", ""), city), intake.OutcomeUnchanged, nil},
		{"clear wins over a value", update(person("a", "", "Zoe", ""), first), intake.OutcomeUpdated, func(r *intake.Record) {
			require.True(t, r.Get("first_name").IsNull())
		}},
		{"opt out", optOut("a"), intake.OutcomeOptedOut, func(r *intake.Record) { require.True(t, r.OptedOut) }},
		{"opt out again", optOut("a"), intake.OutcomeOptedOut, func(r *intake.Record) { require.True(t, r.OptedOut) }},
		{"update keeps opt-out", update(person("a", "", "Anna", "")), intake.OutcomeUpdated, func(r *intake.Record) {
			require.True(t, r.OptedOut, "an update never re-subscribes")
		}},
		{"update with OptedOut false keeps opt-out", func() *sink.Op {
			r := person("a", "", "Anna", "")
			r.OptedOut = false
			return update(r)
		}(), intake.OutcomeUnchanged, func(r *intake.Record) { require.True(t, r.OptedOut) }},
	}
	for _, tc := range tests { // in order: each step builds on the last
		got := k.write(tc.op)
		require.Equal(t, tc.want, got[0], tc.name)
		if !k.readable() {
			continue
		}
		r := k.get("a")
		require.NotNil(t, r, tc.name)
		require.Equal(t, "a", r.ID)
		require.Equal(t, "a@example.com", r.Get("email").Str(), tc.name)
		if tc.check != nil {
			tc.check(r)
		}
	}
	if k.readable() {
		require.Nil(t, k.get("missing"))
	}
	if k.c.count {
		require.EqualValues(t, 1, k.count(intake.ObjectContact))
	}
}

func testCompositeKey(k *kit) {
	k.write(
		create(person("1", "", "Anna", "Meyer")),
		create(person("2", "", "Anna", "Müller")),
		create(person("3", "", "anna ", " MEYER")),
	)
	spec := intake.Keys("first_name", "last_name")
	res := k.lookup(spec, key("anna", "meyer"), key("anna", "müller"), key("anna", "schulz"), key("meyer", "anna"))
	require.Equal(k.t, map[intake.Key][]string{
		key("anna", "meyer"):  {"1", "3"},
		key("anna", "müller"): {"2"},
	}, res)
}

func testBlankKeys(k *kit) {
	k.write(
		create(person("1", "", "Anna", "")),
		create(person("2", "", "", "")),
		create(person("3", "   ", "", "Meyer")),
	)
	require.Empty(k.t, k.lookup(byEmail, "", " "))
	require.Empty(k.t, k.lookup(intake.Keys("first_name", "last_name"), "", key("anna", ""), key("", "meyer"), key("", "")))
	require.Empty(k.t, k.lookup(byEmail))
}

func testKeyChange(k *kit) {
	k.write(create(person("1", "old@example.com", "", "")))
	require.Equal(k.t, []string{"1"}, k.lookup(byEmail, "old@example.com")["old@example.com"])
	k.write(update(person("1", "New@Example.com", "", "")))
	res := k.lookup(byEmail, "old@example.com", "new@example.com")
	require.Equal(k.t, map[intake.Key][]string{"new@example.com": {"1"}}, res)
	k.write(update(person("1", "", "", ""), contact.Index("email")))
	require.Empty(k.t, k.lookup(byEmail, "old@example.com", "new@example.com"))
}

func testBackfill(k *kit) {
	k.write(
		create(person("1", "a@example.com", "Anna", "Meyer")),
		create(person("2", "b@example.com", "Ben", "Meyer")),
	)
	// The first lookup by last name comes after the records.
	require.Equal(k.t, map[intake.Key][]string{"meyer": {"1", "2"}}, k.lookup(intake.Keys("last_name"), "meyer"))
	// And the key is kept current from then on.
	k.write(create(person("3", "", "", "MEYER")), update(person("1", "", "", "Schulz")))
	require.Equal(k.t, map[intake.Key][]string{"meyer": {"2", "3"}, "schulz": {"1"}}, k.lookup(intake.Keys("last_name"), "meyer", "schulz"))
	_, err := k.s.(sink.Lookuper).Lookup(k.ctx(), contact, intake.Keys("no_such_field"), []intake.Key{"x"})
	require.Error(k.t, err, "a spec naming a field the schema lacks is an error")
}

func testMultipleMatches(k *kit) {
	for i := range 5 {
		k.write(create(person(fmt.Sprintf("id-%d", 9-i), "same@example.com", "", "")))
	}
	res := k.lookup(byEmail, "same@example.com", "same@example.com")
	want := []string{"id-9", "id-8", "id-7", "id-6", "id-5"}
	if k.f.IDOrder {
		slices.Sort(want)
	}
	require.Equal(k.t, want, res["same@example.com"])
}

func testBatchWrites(k *kit) {
	t := k.t
	const n = 1200
	var ops []*sink.Op
	for i := range n {
		ops = append(ops, create(person(fmt.Sprintf("b%04d", i), fmt.Sprintf("b%d@example.com", i), fmt.Sprint(i), "")))
	}
	out := k.write(ops...)
	for i, o := range out {
		require.Equal(t, intake.OutcomeCreated, o, "op %d", i)
	}
	// Half change, half stay, a few opt out: outcomes by record.
	ops = ops[:0]
	want := map[string]intake.Outcome{}
	for i := range n {
		id := fmt.Sprintf("b%04d", i)
		switch {
		case i%10 == 3:
			ops = append(ops, optOut(id))
			want[id] = intake.OutcomeOptedOut
		case i%2 == 0:
			ops = append(ops, update(person(id, "", fmt.Sprint(i+1), "")))
			want[id] = intake.OutcomeUpdated
		default:
			ops = append(ops, update(person(id, "", fmt.Sprint(i), "")))
			want[id] = intake.OutcomeUnchanged
		}
	}
	slices.Reverse(ops) // outcomes follow the ops, not the table order
	k.write(ops...)
	for _, op := range ops {
		require.Equal(t, want[op.Record.ID], op.Outcome, op.Record.ID)
	}
	got := k.getIn(contact, ids("b000", 10)...)
	for i := range 10 {
		r := got[fmt.Sprintf("b000%d", i)]
		require.NotNil(t, r)
		wantFirst := fmt.Sprint(i)
		if i%2 == 0 && i%10 != 3 {
			wantFirst = fmt.Sprint(i + 1)
		}
		require.Equal(t, wantFirst, r.Get("first_name").Str(), r.ID)
		require.Equal(t, i%10 == 3, r.OptedOut, r.ID)
	}
	if k.c.lookup {
		res := k.lookup(byEmail, "b0@example.com", "b1199@example.com", "B7@EXAMPLE.COM")
		require.Equal(t, map[intake.Key][]string{"b0@example.com": {"b0000"}, "b1199@example.com": {"b1199"}}, res)
	}
	if k.c.count {
		require.EqualValues(t, n, k.count(intake.ObjectContact))
	}
}

func testAllOrNothing(k *kit) {
	t := k.t
	k.write(create(person("keep", "keep@example.com", "Keep", "")))
	batch := []*sink.Op{
		create(person("n1", "n1@example.com", "", "")),
		update(person("keep", "", "Changed", "")),
		update(func() *intake.Record { r := person("ghost", "", "X", ""); r.Line = 42; return r }()),
		create(person("n2", "n2@example.com", "", "")),
	}
	_, err := k.failWrite(batch...)
	var re *sink.RecordError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "ghost", re.ID)
	require.Equal(t, intake.ObjectContact, re.Object)
	require.Equal(t, 42, re.Line)
	require.ErrorIs(t, err, sink.ErrNotFound)
	for _, op := range batch {
		require.Equal(t, intake.OutcomeNone, op.Outcome, "a failed batch sets no outcome")
	}
	if k.c.lookup {
		require.Empty(t, k.lookup(byEmail, "n1@example.com", "n2@example.com"))
	}
	if k.readable() {
		require.Equal(t, "Keep", k.get("keep").Get("first_name").Str())
		require.Nil(t, k.get("n1"))
	}
	if k.c.count {
		require.EqualValues(t, 1, k.count(intake.ObjectContact))
	}
	// A canceled context writes nothing.
	cctx, cancel := context.WithCancel(k.ctx())
	cancel()
	n, err := k.s.Write(cctx, []*sink.Op{create(person("n4", "", "", ""))})
	require.Equal(t, 0, n)
	require.ErrorIs(t, err, context.Canceled)
	if k.readable() {
		require.Nil(t, k.get("n4"))
	}
}

func testFailuresByRecord(k *kit) {
	t := k.t
	k.write(create(person("keep", "keep@example.com", "Keep", "")))
	bad := func(id string, line int, r *intake.Record) *intake.Record { r.ID, r.Line = id, line; return r }
	for _, tc := range []struct {
		name  string
		op    *sink.Op
		id    string
		cause error
	}{
		{"opt-out of an unknown id", optOut("ghost"), "ghost", sink.ErrNotFound},
		{"update of an unknown id", update(bad("ghost", 7, person("", "", "X", ""))), "ghost", sink.ErrNotFound},
		{"create without id", &sink.Op{Kind: sink.OpCreate, Record: person("", "x@example.com", "", "")}, "", sink.ErrInvalidOp},
		{"unknown op kind", &sink.Op{Kind: sink.OpKind(9), Record: person("x", "", "", "")}, "x", sink.ErrInvalidOp},
		{"nil record", &sink.Op{Kind: sink.OpCreate}, "", sink.ErrInvalidOp},
		{"clear outside the schema", update(person("keep", "", "", ""), 99), "keep", sink.ErrInvalidOp},
		{"value of the wrong kind", create(func() *intake.Record {
			r := bad("bad", 9, person("", "", "", ""))
			r.Values[contact.Index("birthday")] = intake.Text("x")
			return r
		}()), "bad", sink.ErrInvalidOp},
	} {
		ops := []*sink.Op{create(person("n3", "", "", "")), tc.op}
		_, err := k.failWrite(ops...)
		var re *sink.RecordError
		require.ErrorAs(t, err, &re, tc.name)
		require.Equal(t, tc.id, re.ID, tc.name)
		if tc.op.Record != nil {
			require.Equal(t, tc.op.Record.Line, re.Line, tc.name)
			require.Equal(t, tc.op.Record.Schema.Object(), re.Object, "%s: the record error names the object type", tc.name)
		}
		require.ErrorIs(t, err, tc.cause, tc.name)
		if k.f.AllOrNothing && k.readable() {
			require.Nil(t, k.get("n3"), tc.name)
		}
		if !k.f.AllOrNothing && k.readable() && k.get("n3") != nil {
			// A sink without transactions may keep what it applied; start over.
			k.s.Write(k.ctx(), []*sink.Op{optOut("n3")}) //nolint:errcheck // best effort
			return
		}
	}
}

func testDuplicateID(k *kit) {
	t := k.t
	k.write(create(person("1", "a@example.com", "", "")))
	for _, batch := range [][]*sink.Op{
		{create(person("2", "", "", "")), create(person("1", "b@example.com", "", ""))},
		{create(person("3", "", "", "")), create(person("4", "", "", "")), create(person("3", "", "", ""))},
	} {
		_, err := k.failWrite(batch...)
		require.ErrorIs(t, err, sink.ErrDuplicateID)
		var re *sink.RecordError
		require.ErrorAs(t, err, &re)
		require.Equal(t, batch[len(batch)-1].Record.ID, re.ID)
		require.Equal(t, intake.ObjectContact, re.Object)
		if !k.f.AllOrNothing {
			return
		}
	}
	if k.c.count {
		require.EqualValues(t, 1, k.count(intake.ObjectContact))
	}
	if k.c.lookup {
		require.Equal(t, map[intake.Key][]string{"a@example.com": {"1"}}, k.lookup(byEmail, "a@example.com", "b@example.com"))
	}
}

func testSameIDTwice(k *kit) {
	t := k.t
	out := k.write(
		create(person("1", "a@example.com", "Anna", "")),
		update(person("1", "", "Anne", "")),
		update(person("1", "", "Anne", "")),
		update(person("1", "", "", "Alt")),
		optOut("1"),
		update(person("1", "", "Ann", "")),
	)
	require.Equal(t, []intake.Outcome{intake.OutcomeCreated, intake.OutcomeUpdated, intake.OutcomeUnchanged, intake.OutcomeUpdated, intake.OutcomeOptedOut, intake.OutcomeUpdated}, out)
	r := k.get("1")
	require.Equal(t, "Ann", r.Get("first_name").Str())
	require.Equal(t, "Alt", r.Get("last_name").Str())
	require.True(t, r.OptedOut)
	// Updates of an existing record, twice in one batch.
	out = k.write(update(person("1", "", "Bo", "")), update(person("1", "", "Bo", "")), update(person("1", "", "Cy", "")))
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated, intake.OutcomeUnchanged, intake.OutcomeUpdated}, out)
	require.Equal(t, "Cy", k.get("1").Get("first_name").Str())
	if k.c.lookup {
		require.Equal(t, []string{"1"}, k.lookup(byEmail, "a@example.com")["a@example.com"])
	}
}

func testScanOrder(k *kit) {
	t := k.t
	sc := k.s.(sink.Scanner)
	var want []string
	const n = 2500 // more than one page of the sinks that page
	for b := 0; b < n; b += 500 {
		var ops []*sink.Op
		for i := b; i < b+500; i++ {
			id := fmt.Sprintf("z%05d", n-i) // ids sort against creation order
			want = append(want, id)
			ops = append(ops, create(person(id, fmt.Sprintf("%d@example.com", i), "", "")))
		}
		k.write(ops...)
	}
	changed := want[0]
	k.write(update(person(changed, "changed@example.com", "", "")))
	msg := "Scan returns records in creation order"
	if k.f.IDOrder {
		slices.Sort(want)
		msg = "Scan returns records in id order"
	}
	var got []string
	require.NoError(t, sc.Scan(k.ctx(), contact, func(r *intake.Record) error {
		got = append(got, r.ID)
		return nil
	}))
	require.Equal(t, want, got, msg)
	stop := errors.New("stop")
	calls := 0
	require.ErrorIs(t, sc.Scan(k.ctx(), contact, func(*intake.Record) error { calls++; return stop }), stop)
	require.Equal(t, 1, calls)
	// A schema with fewer fields sees a projection.
	small := intake.MustSchema(intake.ObjectContact, intake.Field{Name: "email", Type: intake.TypeEmail})
	email := ""
	require.NoError(t, sc.Scan(k.ctx(), small, func(r *intake.Record) error {
		if r.ID == changed {
			email = r.Values[0].Str()
		}
		require.Len(t, r.Values, 1)
		return nil
	}))
	require.Equal(t, "changed@example.com", email)
	// A canceled context stops the scan.
	cctx, cancel := context.WithCancel(k.ctx())
	cancel()
	require.ErrorIs(t, sc.Scan(cctx, contact, func(*intake.Record) error { return nil }), context.Canceled)
}

// kinds is a schema with a field of every type, and names that collide
// with the columns a SQL sink may keep.
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
	intake.Field{Name: "id", Type: intake.TypeID},
	intake.Field{Name: "k_x", Type: intake.TypeText},
	intake.Field{Name: "created_at", Type: intake.TypeText},
	intake.Field{Name: "select", Type: intake.TypeText}, // an SQL keyword
)

// contactKinds is the contact schema with a custom field of every type.
var contactKinds = func() *intake.Schema {
	fields := contact.Fields()
	for _, f := range kinds.Fields() {
		f.Name = "x_" + f.Name
		fields = append(fields, f)
	}
	return intake.MustSchema(intake.ObjectContact, fields...)
}()

func testRoundTrip(k *kit) {
	t := k.t
	kinds := kinds
	if k.f.Contacts {
		kinds = contactKinds
	}
	price, _ := intake.DecimalString("-1234.005")
	big, _ := intake.DecimalString("123456789012345678901234567890.5")
	opens, _ := intake.TimeOfDay(23, 59, 58, 999999)
	text := "Zählwerk \"x\" 'y' \\ \t\n\r, ✓ 😀"
	if k.f.TextNUL {
		text += " \x00"
	}
	off := 0 // the contact fields before the custom ones
	if k.f.Contacts {
		off = contact.Len()
	}
	mk := func(id string, v ...intake.Value) *intake.Record {
		r := intake.NewRecord(kinds)
		r.ID = id
		copy(r.Values[off:], v)
		return r
	}
	recs := []*intake.Record{
		mk("all",
			intake.Text(text), intake.Bool(true), price, intake.Date(1899, 12, 31), opens,
			intake.Timestamp(time.Date(2026, 3, 29, 1, 30, 0, 123456000, time.UTC)), intake.Text("a@example.com"),
			intake.Text("+4930123456"), intake.Text("DE"), intake.Text("gold"), intake.List("a", "b c", "", "d,e", `"q"`),
			intake.Text("00042"), intake.Text("k"), intake.Text("yesterday"), intake.Text("*")),
		mk("zeros", intake.Text(""), intake.Bool(false), intake.Decimal(big.DecimalValue().Sub(big.DecimalValue())), intake.Date(1970, 1, 1), intake.Null,
			intake.Timestamp(time.UnixMicro(-1)), intake.Null, intake.Null, intake.Null, intake.Null, intake.List("only")),
		mk("big", intake.Text("NULL"), intake.Null, big, intake.Date(9999, 12, 31), intake.Null, intake.Timestamp(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))),
		mk("nulls"),
	}
	// Created in the order of their ids: Scan returns them in that order
	// whether it follows creation or ids (Features.IDOrder).
	slices.SortFunc(recs, func(a, b *intake.Record) int { return strings.Compare(a.ID, b.ID) })
	var ops []*sink.Op
	for _, r := range recs {
		ops = append(ops, create(r.Clone()))
	}
	k.write(ops...)
	got := k.getIn(kinds, "all", "zeros", "big", "nulls", "missing", "all")
	require.Len(t, got, len(recs))
	for _, r := range recs {
		require.Equal(t, r.Values, got[r.ID].Values, r.ID)
	}
	if k.c.scan {
		i := 0
		require.NoError(t, k.s.(sink.Scanner).Scan(k.ctx(), kinds, func(r *intake.Record) error {
			require.Equal(t, recs[i].ID, r.ID)
			require.Equal(t, recs[i].Values, r.Values)
			i++
			return nil
		}))
		require.Equal(t, len(recs), i)
	}
	if k.c.lookup && !k.f.Contacts {
		// Keys as the matcher computes them.
		for _, spec := range []intake.KeySpec{intake.Keys("tags"), intake.Keys("launch", "price"), intake.Keys("seen"), intake.Keys("name", "active")} {
			plan, err := kinds.CompileKey(spec)
			require.NoError(t, err)
			want := map[intake.Key][]string{}
			var keys []intake.Key
			for _, r := range recs {
				if key, _ := plan.Key(r); key != "" {
					want[key] = append(want[key], r.ID)
					keys = append(keys, key)
				}
			}
			require.NotEmpty(t, keys)
			require.Equal(t, want, k.lookupIn(kinds, spec, keys...), spec.Name())
		}
	}
	// Updates of every kind, and clears.
	upd := mk("nulls", intake.Text("n"), intake.Bool(false), price, intake.Date(2000, 2, 29), opens,
		intake.Timestamp(time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC)), intake.Null, intake.Null, intake.Text("FR"), intake.Null, intake.List("x"))
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated}, k.write(update(upd.Clone())))
	require.Equal(t, []intake.Outcome{intake.OutcomeUnchanged}, k.write(update(upd.Clone())))
	require.Equal(t, upd.Values, k.getIn(kinds, "nulls")["nulls"].Values)
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated}, k.write(update(mk("nulls"), off+0, off+1, off+2, off+3, off+4, off+5, off+8, off+10)))
	require.Equal(t, make([]intake.Value, kinds.Len()), k.getIn(kinds, "nulls")["nulls"].Values)
}

func testSchemaEvolution(k *kit) {
	t := k.t
	ctx := k.ctx()
	v1 := intake.MustSchema("lead", intake.Field{Name: "email", Type: intake.TypeText})
	v2 := intake.MustSchema("lead", intake.Field{Name: "email", Type: intake.TypeEmail}, intake.Field{Name: "score", Type: intake.TypeDecimal})
	bad := intake.MustSchema("lead", intake.Field{Name: "score", Type: intake.TypeDate})
	r := intake.NewRecord(v1)
	r.ID, r.Values[0] = "1", intake.Text("A  B@Example.com")
	k.write(create(r))
	require.Equal(t, []string{"1"}, k.lookupIn(v1, intake.Keys("email"), "a b@example.com")["a b@example.com"])

	if e, ok := k.s.(sink.SchemaEnsurer); ok {
		require.NoError(t, e.EnsureSchema(ctx, v2))
	}
	// email is now an email field: its keys are normalized as emails.
	res := k.lookupIn(v2, intake.Keys("email"), "a  b@example.com", "a b@example.com")
	require.Equal(t, map[intake.Key][]string{"a  b@example.com": {"1"}}, res)
	got := k.getIn(v2, "1")
	require.True(t, got["1"].Values[1].IsNull(), "a new field is null in stored records")
	r2 := intake.NewRecord(v2)
	r2.ID, r2.Values[0] = "2", intake.Text("c@example.com")
	r2.Values[1], _ = intake.DecimalString("2.5")
	k.write(create(r2))
	require.Equal(t, "2.5", k.getIn(v2, "2")["2"].Values[1].String())

	if e, ok := k.s.(sink.SchemaEnsurer); ok {
		require.ErrorIs(t, e.EnsureSchema(ctx, bad), sink.ErrSchemaConflict)
	}
	r3 := intake.NewRecord(bad)
	r3.ID = "3"
	_, err := k.s.Write(ctx, []*sink.Op{create(r3)})
	require.ErrorIs(t, err, sink.ErrSchemaConflict)
}

func testObjectTypes(k *kit) {
	t := k.t
	acct := intake.MustSchema(intake.ObjectAccount, intake.Field{Name: "account_id", Type: intake.TypeID}, intake.Field{Name: "name", Type: intake.TypeText})
	a := intake.NewRecord(acct)
	a.ID, a.Values[0], a.Values[1] = "same-id", intake.Text("A1"), intake.Text("Acme")
	k.ensure(acct)
	k.ensure(contact)
	k.write(create(person("same-id", "a@example.com", "", "")), create(a))
	if k.c.lookup {
		require.Equal(t, []string{"same-id"}, k.lookupIn(acct, intake.Keys("account_id"), "A1")["A1"])
		require.Empty(t, k.lookup(intake.Keys("contact_id"), "A1"))
	}
	if k.c.count {
		for obj, want := range map[string]int64{intake.ObjectAccount: 1, intake.ObjectContact: 1, "nothing": 0} {
			require.Equal(t, want, k.count(obj), obj)
		}
	}
	require.Equal(t, "Acme", k.getIn(acct, "same-id")["same-id"].Values[1].Str())
	require.Equal(t, "a@example.com", k.get("same-id").Get("email").Str())
	// An opt-out of a contact leaves the account with the same id alone.
	k.write(optOut("same-id"))
	require.False(t, k.getIn(acct, "same-id")["same-id"].OptedOut)
}

func testCount(k *kit) {
	t := k.t
	require.EqualValues(t, 0, k.count(intake.ObjectContact))
	k.write(create(person("1", "", "", "")), create(person("2", "", "", "")))
	k.write(optOut("1"), update(person("2", "x@example.com", "", "")))
	require.EqualValues(t, 2, k.count(intake.ObjectContact))
	require.EqualValues(t, 0, k.count("never_seen"))
}

func testConcurrentReaders(k *kit) {
	t := k.t
	ctx := k.ctx()
	s := k.s
	k.write(create(person("0", "0@example.com", "", "")))
	k.lookup(byEmail, "0@example.com")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Go(func() {
			for i := range 30 {
				key := intake.Key(fmt.Sprintf("%d@example.com", i))
				res, err := s.(sink.Lookuper).Lookup(ctx, contact, byEmail, []intake.Key{key, "0@example.com"})
				if err == nil && len(res["0@example.com"]) != 1 {
					err = fmt.Errorf("reader %d: lost record 0: %v", g, res)
				}
				if err == nil {
					var got map[string]*intake.Record
					got, err = s.(sink.Getter).Get(ctx, contact, []string{"0", "1"})
					if err == nil && got["0"] == nil {
						err = fmt.Errorf("reader %d: Get lost record 0", g)
					}
				}
				if sc, ok := s.(sink.Scanner); ok && err == nil && k.c.scan && i%10 == 0 {
					err = sc.Scan(ctx, contact, func(*intake.Record) error { return nil })
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := 1; i < 30; i++ {
		k.write(create(person(fmt.Sprint(i), fmt.Sprintf("%d@example.com", i), "", "")), update(person("0", "", fmt.Sprint(i), "")))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res := k.lookup(byEmail, "29@example.com")
	require.Equal(t, []string{"29"}, res["29@example.com"])
	if k.c.count {
		require.EqualValues(t, 30, k.count(intake.ObjectContact))
	}
}

func testSchemaReader(k *kit) {
	t := k.t
	sr := k.s.(sink.SchemaReader)
	got, err := sr.Schema(k.ctx(), "contact")
	require.NoError(t, err)
	require.Nil(t, got, "an object type never seen has no schema")
	custom := intake.MustSchema("contact", append(contact.Fields(), intake.Field{Name: "loyalty_tier", Type: intake.TypeSelect, Options: []string{"gold"}})...)
	if e, ok := k.s.(sink.SchemaEnsurer); ok {
		require.NoError(t, e.EnsureSchema(k.ctx(), custom))
	} else {
		r := intake.NewRecord(custom)
		r.ID = "1"
		k.write(create(r))
	}
	got, err = sr.Schema(k.ctx(), "contact")
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Equal(t, custom.Names(), got.Names())
	require.Equal(t, intake.TypeSelect, got.Field(got.Index("loyalty_tier")).Type)
}

func testCheckpoints(k *kit) {
	t := k.t
	ctx := k.ctx()
	cp := k.s.(sink.Checkpointer)
	_, ok, err := cp.LastCheckpoint(ctx, "run-1")
	require.NoError(t, err)
	require.False(t, ok, "a run never seen has no checkpoint")

	n, err := cp.WriteCheckpoint(ctx, []*sink.Op{create(person("1", "a@example.com", "", ""))}, sink.Checkpoint{RunID: "run-1", Source: "a.csv", Line: 2})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	last, ok, err := cp.LastCheckpoint(ctx, "run-1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "run-1", last.RunID)
	require.Equal(t, "a.csv", last.Source)
	require.Equal(t, 2, last.Line)
	require.EqualValues(t, 1, last.Batches)
	require.False(t, last.UpdatedAt.IsZero())

	// A failed batch leaves the checkpoint and the store as they were.
	n, err = cp.WriteCheckpoint(ctx, []*sink.Op{create(person("2", "", "", "")), update(person("ghost", "", "", ""))}, sink.Checkpoint{RunID: "run-1", Source: "a.csv", Line: 4})
	require.Error(t, err)
	require.Equal(t, 0, n)
	last, _, err = cp.LastCheckpoint(ctx, "run-1")
	require.NoError(t, err)
	require.Equal(t, 2, last.Line)
	if k.readable() {
		require.Nil(t, k.get("2"))
	}

	// An empty batch moves only the checkpoint; other runs are apart.
	n, err = cp.WriteCheckpoint(ctx, nil, sink.Checkpoint{RunID: "run-1", Source: "a.csv", Line: 9})
	require.NoError(t, err)
	require.Equal(t, 0, n)
	_, err = cp.WriteCheckpoint(ctx, []*sink.Op{update(person("1", "", "Anna", ""))}, sink.Checkpoint{RunID: "run-2", Line: 100})
	require.NoError(t, err)
	last, _, err = cp.LastCheckpoint(ctx, "run-1")
	require.NoError(t, err)
	require.Equal(t, 9, last.Line)
	require.EqualValues(t, 2, last.Batches)
	last, _, err = cp.LastCheckpoint(ctx, "run-2")
	require.NoError(t, err)
	require.Equal(t, 100, last.Line)

	_, err = cp.WriteCheckpoint(ctx, nil, sink.Checkpoint{})
	require.Error(t, err, "a checkpoint without RunID is refused")
}

// testBatchSize: BatchSize is positive, and a batch of that many creates
// (the batch the importer sends) is written whole: every op created, and
// every record found by its key and counted.
func testBatchSize(k *kit) {
	t := k.t
	size := k.s.(sink.BatchSizer).BatchSize()
	require.Positive(t, size, "BatchSize must be positive: the importer uses it as its batch size")
	k.ensure(contact)
	ops := make([]*sink.Op, size)
	for i := range ops {
		ops[i] = create(person(fmt.Sprintf("b%d", i), fmt.Sprintf("b%d@example.com", i), "", ""))
	}
	for i, out := range k.write(ops...) {
		require.Equal(t, intake.OutcomeCreated, out, "op %d of a batch of BatchSize ops", i)
	}
	if k.c.lookup {
		last := intake.Key(fmt.Sprintf("b%d@example.com", size-1))
		require.Equal(t, map[intake.Key][]string{"b0@example.com": {"b0"}, last: {fmt.Sprintf("b%d", size-1)}},
			k.lookup(byEmail, "b0@example.com", last))
	}
	if k.c.count {
		require.EqualValues(t, size, k.count(intake.ObjectContact))
	}
}
