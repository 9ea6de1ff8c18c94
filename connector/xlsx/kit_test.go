package xlsx_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/connector/internal/kit"
	"github.com/intakehq/intake/connector/xlsx"
)

func TestKitXLSX(t *testing.T) {
	t.Parallel()
	book, want := kit.XLSX(t)
	want.OpenLimited = func(_ context.Context, max int) (connector.Source, error) {
		return xlsx.New(bytes.NewReader(book), int64(len(book)), xlsx.Config{MaxRows: int64(max)})
	}
	connectortest.TestSource(t, func(context.Context) (connector.Source, error) {
		return xlsx.New(bytes.NewReader(book), int64(len(book)), xlsx.Config{Name: "kit.xlsx"})
	}, want)
}
