package connector_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
)

// kitCSV is the CSV input of the conformance runs: a header, 300 rows (more
// than a source's context-check interval) and a short row at index 5.
func kitCSV() ([]byte, connectortest.Want) {
	var b bytes.Buffer
	w := connectortest.Want{Header: []string{"email", "first_name", "city"}, Errors: map[int]string{5: intake.CodeFieldCount}}
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

func TestKitCSV(t *testing.T) {
	t.Parallel()
	input, want := kitCSV()
	want.FromReader = func(r io.Reader) (connector.Source, error) {
		return connector.NewCSV(r, connector.CSVConfig{Name: "kit.csv"})
	}
	want.Input = input
	want.OpenLimited = func(_ context.Context, max int) (connector.Source, error) {
		return connector.NewCSV(bytes.NewReader(input), connector.CSVConfig{MaxRows: int64(max)})
	}
	connectortest.TestSource(t, func(context.Context) (connector.Source, error) {
		return connector.NewCSV(bytes.NewReader(input), connector.CSVConfig{Name: "kit.csv"})
	}, want)
}

func TestKitPaste(t *testing.T) {
	t.Parallel()
	input := []byte("ann@example.com\tAnn\r\nbob@example.com\tBob\r\ncid@example.com\r\n")
	want := connectortest.Want{
		Rows:   [][]string{{"ann@example.com", "Ann"}, {"bob@example.com", "Bob"}, {"cid@example.com"}},
		Errors: map[int]string{2: intake.CodeFieldCount},
		Lines:  []int{1, 2, 3},
		Input:  input,
		FromReader: func(r io.Reader) (connector.Source, error) {
			return connector.NewPaste(r, connector.PasteConfig{})
		},
		OpenLimited: func(_ context.Context, max int) (connector.Source, error) {
			return connector.NewPaste(bytes.NewReader(input), connector.PasteConfig{MaxRows: max})
		},
	}
	connectortest.TestSource(t, func(context.Context) (connector.Source, error) {
		return connector.NewPaste(bytes.NewReader(input), connector.PasteConfig{})
	}, want)
}

// kitXLSX returns a generated workbook and its expected rows.
func kitXLSX(t *testing.T) ([]byte, connectortest.Want) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	want := connectortest.Want{Header: []string{"email", "phone", "vip"}}
	require.NoError(t, f.SetSheetRow("Sheet1", "A1", &[]any{"email", "phone", "vip"}))
	for i := range 300 {
		cell := fmt.Sprintf("A%d", i+2)
		require.NoError(t, f.SetSheetRow("Sheet1", cell, &[]any{fmt.Sprintf("c%03d@example.com", i), 4930123456000 + i, i%2 == 0}))
		want.Rows = append(want.Rows, []string{fmt.Sprintf("c%03d@example.com", i), fmt.Sprint(4930123456000 + i), fmt.Sprint(i%2 == 0)})
		want.Lines = append(want.Lines, i+2)
	}
	var b bytes.Buffer
	require.NoError(t, f.Write(&b))
	return b.Bytes(), want
}

func TestKitXLSX(t *testing.T) {
	t.Parallel()
	book, want := kitXLSX(t)
	want.OpenLimited = func(_ context.Context, max int) (connector.Source, error) {
		return connector.NewXLSX(bytes.NewReader(book), int64(len(book)), connector.XLSXConfig{MaxRows: int64(max)})
	}
	connectortest.TestSource(t, func(context.Context) (connector.Source, error) {
		return connector.NewXLSX(bytes.NewReader(book), int64(len(book)), connector.XLSXConfig{Name: "kit.xlsx"})
	}, want)
}
