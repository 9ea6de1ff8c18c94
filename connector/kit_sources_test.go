package connector_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/connector/internal/kit"
)

func TestKitCSV(t *testing.T) {
	t.Parallel()
	input, want := kit.CSV()
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

func TestKitXLSX(t *testing.T) {
	t.Parallel()
	book, want := kit.XLSX(t)
	want.OpenLimited = func(_ context.Context, max int) (connector.Source, error) {
		return connector.NewXLSX(bytes.NewReader(book), int64(len(book)), connector.XLSXConfig{MaxRows: int64(max)})
	}
	connectortest.TestSource(t, func(context.Context) (connector.Source, error) {
		return connector.NewXLSX(bytes.NewReader(book), int64(len(book)), connector.XLSXConfig{Name: "kit.xlsx"})
	}, want)
}
