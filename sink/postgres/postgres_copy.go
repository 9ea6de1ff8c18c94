package postgres

import (
	"context"
	"encoding/binary"
	"io"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink/internal/sqltable"
	"github.com/jackc/pgx/v5"
)

// The epochs of PostgreSQL's binary date and timestamp formats: days and
// microseconds since 2000-01-01.
const (
	pgEpochDays = 10957           // 2000-01-01 in days since 1970-01-01
	pgEpochUS   = 946684800000000 // 2000-01-01 in Unix µs
)

// copyRows streams src into the columns cols of table with COPY in
// PostgreSQL's binary format, encoding each row straight from the batch's
// values: pgx's CopyFrom takes a []any per row and finds the encoder of
// each value by its Go type, which costs more CPU than the database's own
// work on the row. The columns' types are those Intake creates (see
// pgType and tempSQL), which the encoding must match.
func copyRows(ctx context.Context, tx pgx.Tx, table string, cols []string, src *pgRowSource) error {
	var b strings.Builder
	b.WriteString("COPY " + table + " (")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqltable.QuoteIdent(c))
	}
	b.WriteString(") FROM STDIN (FORMAT binary)")
	r := &pgCopyReader{src: src, buf: make([]byte, 0, 64<<10)}
	r.buf = append(r.buf, "PGCOPY\n\xff\r\n\x00"...)
	r.buf = binary.BigEndian.AppendUint32(r.buf, 0) // flags
	r.buf = binary.BigEndian.AppendUint32(r.buf, 0) // header extension
	_, err := tx.Conn().PgConn().CopyFrom(ctx, r, b.String())
	return err
}

// pgCopyReader is the io.Reader of a binary COPY: it encodes the rows of
// its source as the connection reads them.
type pgCopyReader struct {
	src  *pgRowSource
	buf  []byte // encoded, not yet read
	off  int
	done bool
}

func (r *pgCopyReader) Read(p []byte) (int, error) {
	for len(r.buf)-r.off < len(p) && !r.done {
		if r.off > 0 { // keep what is unread, reuse the rest
			r.buf = r.buf[:copy(r.buf, r.buf[r.off:])]
			r.off = 0
		}
		if !r.src.Next() {
			r.buf = binary.BigEndian.AppendUint16(r.buf, 0xffff) // trailer
			r.done = true
			break
		}
		r.buf = r.src.encode(r.buf)
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	if n == 0 && r.done {
		return 0, io.EOF
	}
	return n, nil
}

// encode appends the current row in COPY's binary format: the number of
// columns, then each column's length (-1 for null) and bytes. The
// columns are those of copyCols (direct) or tempCols.
func (s *pgRowSource) encode(b []byte) []byte {
	t := s.bt.t
	st := s.rows[s.i-1]
	id := st.id
	at := len(b)
	b = append(b, 0, 0) // column count, set below
	n := 0
	if !s.direct {
		b = pgInt4(b, int32(s.i))
		b = pgBool(b, st.create == nil)
		n += 2
	}
	us := s.now.UnixMicro()
	b = pgText(b, id)
	b = pgBool(b, st.opted)
	b = pgTimestamp(b, us)
	b = pgTimestamp(b, us)
	n += 4
	if !s.direct || t.inactiveCol != "" {
		b = pgBool(b, st.inactive)
		n++
	}
	for j, x := range st.vals {
		if !t.inJSON[j] {
			b = pgValueBytes(b, x)
			n++
		}
	}
	if t.jsonCol != "" {
		obj, nulls := t.jsonOf(st.vals)
		b = binary.BigEndian.AppendUint32(b, uint32(len(obj)+1))
		b = append(b, 1) // jsonb's binary format: a version, then the text
		b = append(b, obj...)
		b = pgTextArray(b, nulls)
		n += 2
	}
	if len(t.keys) > 0 {
		s.rec = intake.Record{Schema: t.store, Values: st.vals}
		if s.bt.written == nil && !t.host {
			s.bt.written = make([][]string, len(t.keys))
		}
		for j, k := range t.keys {
			key, _ := k.plan.Key(&s.rec)
			if key == "" {
				b = pgNull(b)
			} else {
				b = pgText(b, string(key))
				if !t.host {
					s.bt.written[j] = append(s.bt.written[j], string(key))
				}
			}
			n++
		}
	}
	binary.BigEndian.PutUint16(b[at:], uint16(n))
	return b
}

func pgNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, 0xffffffff) }

func pgInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

func pgBool(b []byte, v bool) []byte {
	b = binary.BigEndian.AppendUint32(b, 1)
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func pgText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func pgTimestamp(b []byte, unixMicro int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(unixMicro-pgEpochUS))
}

// pgTextArray appends a one-dimensional text[] without nulls.
func pgTextArray(b []byte, items []string) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0) // length, set below
	if len(items) == 0 {
		b = binary.BigEndian.AppendUint32(b, 0)  // no dimensions
		b = binary.BigEndian.AppendUint32(b, 0)  // no nulls
		b = binary.BigEndian.AppendUint32(b, 25) // text
	} else {
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, 25)
		b = binary.BigEndian.AppendUint32(b, uint32(len(items)))
		b = binary.BigEndian.AppendUint32(b, 1) // lower bound
		for _, it := range items {
			b = pgText(b, it)
		}
	}
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// pgValueBytes appends v in the binary format of the column type pgType
// gives its kind.
func pgValueBytes(b []byte, v intake.Value) []byte {
	s, i := v.Raw()
	switch v.Kind() {
	case intake.KindText:
		return pgText(b, s)
	case intake.KindBool:
		return pgBool(b, i != 0)
	case intake.KindDecimal:
		return pgNumeric(b, s)
	case intake.KindDate:
		b = binary.BigEndian.AppendUint32(b, 4)
		return binary.BigEndian.AppendUint32(b, uint32(int32(i-pgEpochDays)))
	case intake.KindTime:
		b = binary.BigEndian.AppendUint32(b, 8)
		return binary.BigEndian.AppendUint64(b, uint64(i))
	case intake.KindTimestamp:
		return pgTimestamp(b, i)
	case intake.KindList:
		return pgTextArray(b, v.Items())
	}
	return pgNull(b)
}

// pgNumeric appends the canonical decimal s (see [intake.DecimalString]:
// an optional minus, digits, at most one point) as a binary numeric:
// the number of base-10000 digits, the weight of the first, the sign,
// the display scale, then the digits.
func pgNumeric(b []byte, s string) []byte {
	neg := false
	if s != "" && s[0] == '-' {
		neg, s = true, s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	ip = strings.TrimLeft(ip, "0")
	// Group the digits by four around the point: pad the integer part on
	// the left and the fraction on the right to multiples of four.
	lead := (4 - len(ip)%4) % 4
	trail := (4 - len(fp)%4) % 4
	total := lead + len(ip) + len(fp) + trail
	var digits [64]int16
	groups := digits[:0]
	if total/4 > len(digits) {
		groups = make([]int16, 0, total/4)
	}
	d := 0
	for k := 0; k < total; k++ {
		var c byte = '0'
		switch {
		case k < lead:
		case k < lead+len(ip):
			c = ip[k-lead]
		case k < lead+len(ip)+len(fp):
			c = fp[k-lead-len(ip)]
		}
		d = d*10 + int(c-'0')
		if k%4 == 3 {
			groups = append(groups, int16(d))
			d = 0
		}
	}
	weight := (lead+len(ip))/4 - 1
	// Strip leading and trailing zero groups.
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 {
		groups = groups[:len(groups)-1]
	}
	sign := uint16(0)
	if neg && len(groups) > 0 {
		sign = 0x4000
	}
	if len(groups) == 0 {
		weight = 0
	}
	b = binary.BigEndian.AppendUint32(b, uint32(8+2*len(groups)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(groups)))
	b = binary.BigEndian.AppendUint16(b, uint16(int16(weight)))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, uint16(len(fp)))
	for _, g := range groups {
		b = binary.BigEndian.AppendUint16(b, uint16(g))
	}
	return b
}
