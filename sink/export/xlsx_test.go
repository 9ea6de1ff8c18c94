package export_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/export"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// xlsxSetup returns the store of setup with a 13-digit contact_id on the
// first contact.
func xlsxSetup(t testing.TB) *memory.Store {
	s := setup(t)
	schema := intake.ContactSchema()
	got, err := s.Get(context.Background(), schema, []string{"1"})
	require.NoError(t, err)
	rec := got["1"]
	require.NotNil(t, rec)
	rec.Set("contact_id", intake.Text("4006381333931"))
	_, err = s.Write(context.Background(), []*sink.Op{{Kind: sink.OpUpdate, Record: rec}})
	require.NoError(t, err)
	return s
}

// readXLSX opens an exported workbook and returns its only sheet's name and
// the workbook.
func readXLSX(t testing.TB, b []byte) (*excelize.File, string) {
	f, err := excelize.OpenReader(bytes.NewReader(b))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	sheets := f.GetSheetList()
	require.Len(t, sheets, 1)
	return f, sheets[0]
}

// cellsByHeader returns the cells of row r (1-based, after the header) keyed
// by header name, read with opt.
func cellsByHeader(t testing.TB, f *excelize.File, sheet string, opt ...excelize.Options) []map[string]string {
	rows, err := f.GetRows(sheet, opt...)
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			if i < len(row) {
				m[h] = row[i]
			} else {
				m[h] = ""
			}
		}
		out = append(out, m)
	}
	return out
}

func cellRef(t testing.TB, col, row int) string {
	ref, err := excelize.CoordinatesToCellName(col, row)
	require.NoError(t, err)
	return ref
}

func TestXLSXTypedCellsRoundTrip(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	n, err := export.Export(context.Background(), &out, export.FormatXLSX, intake.ContactSchema(), xlsxSetup(t), export.Options{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)

	f, sheet := readXLSX(t, out.Bytes())
	assert.Equal(t, "contact", sheet, "the sheet is named after the object type")
	rows, err := f.GetRows(sheet)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	header := append(intake.ContactSchema().Names(), "opted_out")
	assert.Equal(t, header, rows[0])
	col := map[string]int{}
	for i, h := range header {
		col[h] = i + 1
	}
	style, err := f.GetCellStyle(sheet, "A1")
	require.NoError(t, err)
	st, err := f.GetStyle(style)
	require.NoError(t, err)
	require.NotNil(t, st.Font)
	assert.True(t, st.Font.Bold, "the header is bold")

	shown := cellsByHeader(t, f, sheet)
	raw := cellsByHeader(t, f, sheet, excelize.Options{RawCellValue: true})
	typ := func(name string, row int) excelize.CellType {
		ct, err := f.GetCellType(sheet, cellRef(t, col[name], row))
		require.NoError(t, err)
		return ct
	}

	// A 13-digit id stays the exact string, as text.
	assert.Equal(t, "4006381333931", raw[0]["contact_id"])
	assert.Equal(t, excelize.CellTypeInlineString, typ("contact_id", 2))
	// Emails and E.164 phones are text, and a phone's "+" is not escaped.
	assert.Equal(t, excelize.CellTypeInlineString, typ("email", 2))
	assert.Equal(t, excelize.CellTypeInlineString, typ("phone", 2))
	assert.Equal(t, "+49301234567", raw[0]["phone"])
	// A decimal is a number (no t attribute), not a string.
	assert.Equal(t, "-12.5", raw[0]["lifetime_value"])
	assert.Equal(t, excelize.CellTypeUnset, typ("lifetime_value", 2), "a number cell")
	// A date is an Excel date serial shown yyyy-mm-dd.
	assert.Equal(t, "31120", raw[0]["birthday"], "serial of 1985-03-14")
	assert.Equal(t, excelize.CellTypeUnset, typ("birthday", 2))
	assert.Equal(t, "1985-03-14", shown[0]["birthday"])
	// A formula in a text field is neutralized.
	assert.Equal(t, `'=HYPERLINK("http://x")`, raw[0]["first_name"])
	// opted_out is a boolean, last.
	assert.Equal(t, excelize.CellTypeBool, typ("opted_out", 2))
	assert.Equal(t, "FALSE", shown[0]["opted_out"])
	assert.Equal(t, "TRUE", shown[1]["opted_out"])
	// Nulls are empty cells.
	assert.Equal(t, "", raw[1]["birthday"])
	assert.Equal(t, "Washington, D.C.", raw[1]["city"])

	out.Reset()
	_, err = export.Export(context.Background(), &out, export.FormatXLSX, intake.ContactSchema(), xlsxSetup(t), export.Options{Raw: true})
	require.NoError(t, err)
	f, sheet = readXLSX(t, out.Bytes())
	raw = cellsByHeader(t, f, sheet, excelize.Options{RawCellValue: true})
	assert.Equal(t, `=HYPERLINK("http://x")`, raw[0]["first_name"], "Raw leaves cells alone")
	formula, err := f.GetCellFormula(sheet, cellRef(t, col["first_name"], 2))
	require.NoError(t, err)
	assert.Empty(t, formula, "a string is never written as a formula")
}

func TestXLSXFieldsAndFilter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	opt := export.Options{
		Fields: []string{"email", "city", "birthday"},
		Filter: func(r *intake.Record) bool { return r.OptedOut },
	}
	n, err := export.Export(context.Background(), &out, export.FormatXLSX, intake.ContactSchema(), xlsxSetup(t), opt)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	f, sheet := readXLSX(t, out.Bytes())
	rows, err := f.GetRows(sheet)
	require.NoError(t, err)
	assert.Equal(t, [][]string{
		{"email", "city", "birthday", "opted_out"},
		{"bob@example.com", "Washington, D.C.", "", "TRUE"},
	}, rows)

	// No records: the header alone.
	out.Reset()
	opt.Filter = func(*intake.Record) bool { return false }
	n, err = export.Export(context.Background(), &out, export.FormatXLSX, intake.ContactSchema(), xlsxSetup(t), opt)
	require.NoError(t, err)
	assert.Zero(t, n)
	f, sheet = readXLSX(t, out.Bytes())
	rows, err = f.GetRows(sheet)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"email", "city", "birthday", "opted_out"}}, rows)

	_, err = export.NewWriter(&out, export.FormatXLSX, intake.ContactSchema(), export.Options{Fields: []string{"shoe_size"}})
	assert.ErrorContains(t, err, "unknown field(s) shoe_size")
	for _, name := range []string{"xlsx", ".XLSX"} {
		ft, err := export.ParseFormat(name)
		require.NoError(t, err)
		assert.Equal(t, export.FormatXLSX, ft)
	}
}

func TestXLSXValueTypes(t *testing.T) {
	t.Parallel()
	schema := intake.MustSchema("lead",
		intake.Field{Name: "amount", Type: intake.TypeDecimal},
		intake.Field{Name: "when", Type: intake.TypeDate},
		intake.Field{Name: "at", Type: intake.TypeTimestamp},
		intake.Field{Name: "vip", Type: intake.TypeBool},
		intake.Field{Name: "tags", Type: intake.TypeMultiSelect},
		intake.Field{Name: "code", Type: intake.TypeID},
		intake.Field{Name: "note", Type: intake.TypeText},
	)
	dec := func(s string) intake.Value {
		v, ok := intake.DecimalString(s)
		require.True(t, ok, s)
		return v
	}
	type want struct{ raw, shown string }
	cases := []struct {
		name string
		vals []intake.Value
		want []want // amount, when, at, vip, tags, code, note
	}{
		{"numbers and a date", []intake.Value{dec("1234567.89"), intake.Date(2024, time.February, 29),
			intake.Timestamp(time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)), intake.Bool(true),
			intake.List("a", "=b"), intake.Text("007"), intake.Text("@SUM(A1)")},
			[]want{{"1234567.89", "1234567.89"}, {"45351", "2024-02-29"}, {"2024-05-06T07:08:09.123456Z", ""},
				{"1", "TRUE"}, {"a|=b", ""}, {"007", ""}, {"'@SUM(A1)", ""}}},
		{"too many digits for a float, an early date", []intake.Value{dec("12345678901234567.5"), intake.Date(1899, time.December, 31),
			intake.Null, intake.Bool(false), intake.List("=x", "y"), intake.Text("-1"), intake.Text("plain")},
			[]want{{"12345678901234567.5", ""}, {"1899-12-31", ""}, {"", ""}, {"0", "FALSE"}, {"'=x|y", ""}, {"'-1", ""}, {"plain", ""}}},
		{"15 digits and large round numbers", []intake.Value{dec("-0.00000000012345"), intake.Date(9999, time.December, 31),
			intake.Null, intake.Null, intake.Null, intake.Text("4006381333931"), intake.Null},
			[]want{{"-0.00000000012345", ""}, {"2958465", "9999-12-31"}, {"", ""}, {"", ""}, {"", ""}, {"4006381333931", ""}, {"", ""}}},
	}
	var out bytes.Buffer
	w, err := export.NewWriter(&out, export.FormatXLSX, schema, export.Options{})
	require.NoError(t, err)
	for _, c := range cases {
		rec := intake.NewRecord(schema)
		copy(rec.Values, c.vals)
		require.NoError(t, w.Write(rec), c.name)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, w.Flush(), "a second Flush is harmless")
	assert.Error(t, w.Write(intake.NewRecord(schema)), "write after Flush")

	f, sheet := readXLSX(t, out.Bytes())
	assert.Equal(t, "lead", sheet)
	raw := cellsByHeader(t, f, sheet, excelize.Options{RawCellValue: true})
	shown := cellsByHeader(t, f, sheet)
	names := schema.Names()
	for r, c := range cases {
		for i, wv := range c.want {
			assert.Equal(t, wv.raw, raw[r][names[i]], "%s: raw %s", c.name, names[i])
			if wv.shown != "" {
				assert.Equal(t, wv.shown, shown[r][names[i]], "%s: shown %s", c.name, names[i])
			}
		}
	}
	// Numbers versus text, by cell type.
	for _, tc := range []struct {
		ref  string
		want excelize.CellType
	}{
		{"A2", excelize.CellTypeUnset}, {"A3", excelize.CellTypeInlineString}, {"A4", excelize.CellTypeUnset},
		{"B2", excelize.CellTypeUnset}, {"B3", excelize.CellTypeInlineString},
		{"C2", excelize.CellTypeInlineString}, {"D2", excelize.CellTypeBool}, {"F4", excelize.CellTypeInlineString},
	} {
		ct, err := f.GetCellType(sheet, tc.ref)
		require.NoError(t, err)
		assert.Equal(t, tc.want, ct, tc.ref)
	}
}

func TestXLSXLimits(t *testing.T) {
	t.Parallel()
	schema := intake.MustSchema("note", intake.Field{Name: "body", Type: intake.TypeText})
	rec := intake.NewRecord(schema)
	rec.ID = "n1"
	rec.Values[0] = intake.Text(strings.Repeat("é", excelize.TotalCellChars+1))
	var out bytes.Buffer
	w, err := export.NewWriter(&out, export.FormatXLSX, schema, export.Options{})
	require.NoError(t, err)
	err = w.Write(rec)
	assert.ErrorContains(t, err, "field body of record n1 is longer than the 32767 characters")
	assert.Equal(t, err, w.Flush())
	assert.Zero(t, out.Len(), "no half workbook")

	// "history" is a name Excel reserves.
	out.Reset()
	w, err = export.NewWriter(&out, export.FormatXLSX, intake.MustSchema("history", intake.Field{Name: "x", Type: intake.TypeText}), export.Options{})
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	_, sheet := readXLSX(t, out.Bytes())
	assert.Equal(t, "Records", sheet)
}

// genScanner generates n contacts on the fly, without holding them.
type genScanner struct {
	n      int
	sample func()
}

func (g genScanner) Scan(ctx context.Context, s *intake.Schema, fn func(*intake.Record) error) error {
	rec := intake.NewRecord(s)
	for i := range g.n {
		clear(rec.Values)
		rec.ID = strconv.Itoa(i)
		rec.OptedOut = i%7 == 0
		rec.Set("contact_id", intake.Text(strconv.Itoa(4006381000000+i)))
		rec.Set("email", intake.Text("user"+strconv.Itoa(i)+"@example.com"))
		rec.Set("phone", intake.Text("+4930"+strconv.Itoa(1000000+i)))
		rec.Set("first_name", intake.Text("First"+strconv.Itoa(i%1000)))
		rec.Set("last_name", intake.Text("Last"+strconv.Itoa(i%977)))
		rec.Set("birthday", intake.Date(1950+i%50, time.Month(1+i%12), 1+i%28))
		rec.Set("country", intake.Text("DE"))
		rec.Set("city", intake.Text("Berlin"))
		v, _ := intake.DecimalString(strconv.Itoa(i%10000) + ".25")
		rec.Set("lifetime_value", v)
		if err := fn(rec); err != nil {
			return err
		}
		if i%1000 == 0 {
			g.sample()
		}
	}
	return nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// memTestRecords is the record count of TestXLSXMemoryFlat (lower under the
// race detector, see race_test.go).
var memTestRecords = 200_000

// TestXLSXMemoryFlat exports 200k records to a writer that keeps nothing and
// samples the heap while it runs: rows go to excelize's temp file and the
// zip straight to the writer, so the heap stays far below the output size.
//
// The live heap is what the export holds; it is bounded by excelize's
// in-memory chunk of the sheet (16 MiB before it spills to the temp file, in
// a bytes.Buffer that grows to 32 MiB, 48 MiB live for a moment while it
// grows): about 31 MiB, and 32 MiB for 1M records. The heap including
// garbage not yet collected runs up to twice the live heap with GOGC=100 (about
// 62 MiB, at most 95 MiB seen) and is checked with that headroom.
func TestXLSXMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 200k records")
	}
	records := memTestRecords
	if s := os.Getenv("XLSX_N"); s != "" { // e.g. XLSX_N=1000000
		records, _ = strconv.Atoi(s)
	}
	const liveLimit, heapLimit = 64 << 20, 128 << 20
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	var mu sync.Mutex
	var peakLive, peakHeap uint64
	read := func() {
		mu.Lock()
		defer mu.Unlock()
		metrics.Read(sample)
		peakLive = max(peakLive, sample[0].Value.Uint64())
		peakHeap = max(peakHeap, sample[1].Value.Uint64())
	}
	runtime.GC()
	read()
	base := peakHeap
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // also samples during Flush, which zips the sheet
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				read()
			}
		}
	}()
	var out countingWriter
	start := time.Now()
	n, err := export.Export(context.Background(), &out, export.FormatXLSX, intake.ContactSchema(),
		genScanner{n: records, sample: read}, export.Options{})
	close(stop)
	<-done
	runtime.GC() // the live heap at the end of Flush
	read()
	require.NoError(t, err)
	assert.EqualValues(t, records, n)
	const mib = 1 << 20
	t.Logf("%d records, %.1f MiB xlsx in %v; heap %.1f MiB before; peak live heap %.1f MiB, peak heap with garbage %.1f MiB",
		n, float64(out.n)/mib, time.Since(start).Round(time.Millisecond), float64(base)/mib, float64(peakLive)/mib, float64(peakHeap)/mib)
	assert.Less(t, peakLive, uint64(liveLimit), "peak live heap")
	assert.Less(t, peakHeap, uint64(heapLimit), "peak heap with garbage")
	assert.Greater(t, out.n, int64(records*20), "the workbook was written")
}

// An XLSX export read back with excelize.
func ExampleExport_xlsx() {
	store := memory.New(memory.Config{})
	schema := intake.ContactSchema()
	var ops []*sink.Op
	for i, c := range []struct{ id, email, name, birthday, value string }{
		{"4006381333931", "anna@example.de", "=HYPERLINK(\"http://x\")", "1985-03-14", "-12.5"},
		{"0042", "bob@example.com", "Bob", "", "1000000"},
	} {
		rec := intake.NewRecord(schema)
		rec.ID = fmt.Sprint("c", i+1)
		rec.Set("contact_id", intake.Text(c.id))
		rec.Set("email", intake.Text(c.email))
		rec.Set("first_name", intake.Text(c.name))
		if d, err := time.Parse(time.DateOnly, c.birthday); err == nil {
			rec.Set("birthday", intake.DateOf(d))
		}
		v, _ := intake.DecimalString(c.value)
		rec.Set("lifetime_value", v)
		ops = append(ops, &sink.Op{Kind: sink.OpCreate, Record: rec})
	}
	if _, err := store.Write(context.Background(), ops); err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	n, err := export.Export(context.Background(), &buf, export.FormatXLSX, schema, store,
		export.Options{Fields: []string{"contact_id", "email", "first_name", "birthday", "lifetime_value"}})
	fmt.Println(n, err)

	f, err := excelize.OpenReader(&buf)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, _ := f.GetRows(sheet)
	fmt.Println("sheet:", sheet)
	for _, row := range rows {
		fmt.Println(strings.Join(row, " | "))
	}
	t, _ := f.GetCellType(sheet, "E2")
	raw, _ := f.GetCellValue(sheet, "D2", excelize.Options{RawCellValue: true})
	fmt.Println("E2 is a number:", t == excelize.CellTypeUnset, "- D2 holds the date serial", raw)
	// Output:
	// 2 <nil>
	// sheet: contact
	// contact_id | email | first_name | birthday | lifetime_value | opted_out
	// 4006381333931 | anna@example.de | '=HYPERLINK("http://x") | 1985-03-14 | -12.5 | FALSE
	// 0042 | bob@example.com | Bob |  | 1000000 | FALSE
	// E2 is a number: true - D2 holds the date serial 31120
}

var _ io.Writer = (*countingWriter)(nil)
