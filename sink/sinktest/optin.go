package sinktest

import (
	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/stretchr/testify/require"
)

// testOptIn checks [sink.Op.OptIn]: an update with OptIn clears the
// opted-out flag of a record opted out (updated, also when no value
// changes) and applies its values; on a record that is not opted out it
// changes nothing more than the update does; OptIn on another op kind is
// refused with [sink.ErrInvalidOp].
func testOptIn(k *kit) {
	t := k.t
	k.write(create(person("p1", "ann@x.io", "Ann", "")), create(person("p2", "ben@x.io", "Ben", "")))
	k.write(optOut("p1"))
	require.True(t, k.get("p1").OptedOut)

	same := &sink.Op{Kind: sink.OpUpdate, Record: person("p1", "", "", ""), OptIn: true}
	other := &sink.Op{Kind: sink.OpUpdate, Record: person("p2", "", "", ""), OptIn: true}
	out := k.write(same, other)
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated, intake.OutcomeUnchanged}, out,
		"OptIn on an opted-out record updates it; on another record it changes nothing")
	p1 := k.get("p1")
	require.False(t, p1.OptedOut, "the opt-out is lifted")
	require.Equal(t, "Ann", p1.Get("first_name").String())
	require.False(t, k.get("p2").OptedOut)

	k.write(optOut("p1"))
	out = k.write(&sink.Op{Kind: sink.OpUpdate, Record: person("p1", "", "Anna", ""), OptIn: true})
	require.Equal(t, []intake.Outcome{intake.OutcomeUpdated}, out)
	p1 = k.get("p1")
	require.False(t, p1.OptedOut)
	require.Equal(t, "Anna", p1.Get("first_name").String(), "the update's values apply too")

	bad := create(person("p3", "cid@x.io", "", ""))
	bad.OptIn = true
	_, err := k.failWrite(bad)
	require.ErrorIs(t, err, sink.ErrInvalidOp)
}
