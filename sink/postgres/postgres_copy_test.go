package postgres

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// field returns the bytes of the one column value at the start of b,
// checking its length prefix.
func field(t *testing.T, b []byte) []byte {
	t.Helper()
	require.GreaterOrEqual(t, len(b), 4)
	n := int(int32(binary.BigEndian.Uint32(b)))
	require.Equal(t, len(b)-4, n, "length prefix")
	return b[4:]
}

// TestPGNumericEncoding checks the binary numerics of the COPY encoder
// against pgx's decoder, and their display scale, for edge cases and
// random canonical decimals.
func TestPGNumericEncoding(t *testing.T) {
	m := pgtype.NewMap()
	cases := []string{"0", "1", "-1", "0.5", "-0.5", "0.00001", "10000", "9999", "99999999.9999", "1234.005", "-1234.005",
		"123456789012345678901234567890.5", "0.0001", "0.001", "100000000", "1.0001", "-0.00000000000000000001", "12345678.12345678"}
	r := rand.New(rand.NewPCG(7, 7))
	for range 5000 {
		var b strings.Builder
		if r.IntN(3) == 0 {
			b.WriteByte('-')
		}
		ip := strconv.FormatUint(r.Uint64()>>r.IntN(64), 10)
		b.WriteString(ip)
		if r.IntN(2) == 0 {
			fp := strings.TrimRight(strconv.FormatUint(r.Uint64()>>r.IntN(64), 10), "0")
			fp = strings.Repeat("0", r.IntN(9)) + fp
			if strings.Trim(fp, "0") != "" {
				b.WriteString("." + fp)
			}
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		v, ok := intake.DecimalString(s)
		if !ok {
			continue // "-0" and the like: not canonical, never stored
		}
		enc := field(t, pgNumeric(nil, s))
		var n pgtype.Numeric
		require.NoError(t, m.Scan(pgtype.NumericOID, pgtype.BinaryFormatCode, enc, &n), s)
		require.True(t, n.Valid)
		got := decimal.NewFromBigInt(n.Int, n.Exp)
		require.True(t, got.Equal(v.DecimalValue()), "%s decoded as %s", s, got)
		_, frac, _ := strings.Cut(s, ".")
		require.Equal(t, len(frac), int(binary.BigEndian.Uint16(enc[6:])), "display scale of %s", s)
		ndigits := int(binary.BigEndian.Uint16(enc))
		if ndigits > 0 {
			first, last := binary.BigEndian.Uint16(enc[8:]), binary.BigEndian.Uint16(enc[8+2*(ndigits-1):])
			require.True(t, first != 0 && last != 0, "%s: zero digit groups are stripped", s)
		}
	}
}

// TestPGCopyValueEncoding checks the COPY encoding of every other kind
// against pgx's decoders.
func TestPGCopyValueEncoding(t *testing.T) {
	m := pgtype.NewMap()
	opens, _ := intake.TimeOfDay(23, 59, 58, 999999)
	for _, d := range []intake.Value{intake.Date(1899, 12, 31), intake.Date(2000, 1, 1), intake.Date(1970, 1, 1), intake.Date(9999, 12, 31), pgMinDate, pgMaxDate} {
		var got pgtype.Date
		require.NoError(t, m.Scan(pgtype.DateOID, pgtype.BinaryFormatCode, field(t, pgValueBytes(nil, d)), &got))
		require.Equal(t, d, intake.DateOf(got.Time), d.String())
	}
	for _, ts := range []time.Time{time.Date(2026, 3, 29, 1, 30, 0, 123456000, time.UTC), time.UnixMicro(-1), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC)} {
		var got pgtype.Timestamptz
		require.NoError(t, m.Scan(pgtype.TimestamptzOID, pgtype.BinaryFormatCode, field(t, pgValueBytes(nil, intake.Timestamp(ts))), &got))
		require.True(t, ts.Equal(got.Time), "%v decoded as %v", ts, got.Time)
	}
	var tm pgtype.Time
	require.NoError(t, m.Scan(pgtype.TimeOID, pgtype.BinaryFormatCode, field(t, pgValueBytes(nil, opens)), &tm))
	_, us := opens.Raw()
	require.Equal(t, us, tm.Microseconds)
	for _, items := range [][]string{{"a", "b c", "", "d,e", `"q"`}, {"only"}, {}} {
		var got []string
		require.NoError(t, m.Scan(pgtype.TextArrayOID, pgtype.BinaryFormatCode, field(t, pgTextArray(nil, items)), &got))
		require.Equal(t, len(items), len(got))
		for i := range items {
			require.Equal(t, items[i], got[i])
		}
	}
	list := intake.List("x", "", "y")
	var got []string
	require.NoError(t, m.Scan(pgtype.TextArrayOID, pgtype.BinaryFormatCode, field(t, pgValueBytes(nil, list)), &got))
	require.Equal(t, list.Items(), got)
	for _, b := range []bool{true, false} {
		var g bool
		require.NoError(t, m.Scan(pgtype.BoolOID, pgtype.BinaryFormatCode, field(t, pgValueBytes(nil, intake.Bool(b))), &g))
		require.Equal(t, b, g)
	}
	var s string
	require.NoError(t, m.Scan(pgtype.TextOID, pgtype.BinaryFormatCode, field(t, pgValueBytes(nil, intake.Text("Zählwerk ✓"))), &s))
	require.Equal(t, "Zählwerk ✓", s)
	require.Equal(t, []byte{0xff, 0xff, 0xff, 0xff}, pgValueBytes(nil, intake.Null))
}
