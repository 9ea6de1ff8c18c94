// Package kit holds the fixtures that the tests of connector and of the
// packages under it share: the inputs of their conformance runs (a CSV file
// and a workbook with the rows each must yield) and a heap sampler for the
// tests that check that a transfer streams. Only tests import it.
package kit

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector/connectortest"
)

// CSV is the CSV input of the conformance runs: a header, 300 rows (more
// than a source's context-check interval) and a short row at index 5.
func CSV() ([]byte, connectortest.Want) {
	var b bytes.Buffer
	w := connectortest.Want{Header: []string{"email", "first_name", "city"}, Errors: map[int]intake.Code{5: intake.CodeFieldCount}}
	b.WriteString("email,first_name,city\n")
	for i := range 300 {
		if i == 5 {
			b.WriteString("short@example.com,Short\n")
			w.Rows = append(w.Rows, []string{"short@example.com", "Short"})
			continue
		}
		row := []string{fmt.Sprintf("c%03d@example.com", i), fmt.Sprintf("Name %d", i), "Köln"}
		b.WriteString(strings.Join(row, ",") + "\n")
		w.Rows = append(w.Rows, row)
	}
	for i := range w.Rows {
		w.Lines = append(w.Lines, i+2)
	}
	return b.Bytes(), w
}

// XLSX returns a workbook generated with excelize (a header and 300 rows of
// text, 13-digit numbers and booleans) and the rows it must yield. It fails
// tb when excelize fails.
func XLSX(tb testing.TB) ([]byte, connectortest.Want) {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	want := connectortest.Want{Header: []string{"email", "phone", "vip"}}
	if err := f.SetSheetRow("Sheet1", "A1", &[]any{"email", "phone", "vip"}); err != nil {
		tb.Fatal(err)
	}
	for i := range 300 {
		cell := fmt.Sprintf("A%d", i+2)
		if err := f.SetSheetRow("Sheet1", cell, &[]any{fmt.Sprintf("c%03d@example.com", i), 4930123456000 + i, i%2 == 0}); err != nil {
			tb.Fatal(err)
		}
		want.Rows = append(want.Rows, []string{fmt.Sprintf("c%03d@example.com", i), fmt.Sprint(4930123456000 + i), fmt.Sprint(i%2 == 0)})
		want.Lines = append(want.Lines, i+2)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes(), want
}

// HeapPeak runs fn while sampling the heap every 2 ms, and returns the peak
// of HeapAlloc above what it was before fn. Tests that call it do not run
// in parallel: other tests' allocations would count.
func HeapPeak(tb testing.TB, fn func()) uint64 {
	tb.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}
