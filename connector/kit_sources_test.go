package connector_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/connector/internal/kit"
	"github.com/intakehq/intake/connector/xlsx"
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
		Errors: map[int]intake.Code{2: intake.CodeFieldCount},
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

// withXLSX returns a registry that reads CSV and XLSX, for the tests that
// open a workbook through a connector.
func withXLSX(t *testing.T) *connector.Registry {
	t.Helper()
	reg := connector.NewRegistry()
	require.NoError(t, xlsx.Register(reg, xlsx.Config{}))
	return reg
}
