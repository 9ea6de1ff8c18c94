package connectortest_test

import (
	"context"
	"testing"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
)

// A connector author calls the kit from a test, with a file the connector
// serves and its content, and a source with its expected rows.
func Example() {
	// In a _test.go file of the connector's package:
	_ = func(t *testing.T) {
		conn := memConnector{files: map[string][]byte{"contacts.csv": data}}
		connectortest.TestConnector(t, conn, "contacts.csv", data)
		connectortest.TestSource(t, func(ctx context.Context) (connector.Source, error) {
			return connector.NewRegistry().OpenSource(ctx, conn, "contacts.csv", connector.SourceConfig{})
		}, connectortest.Want{
			Header: []string{"email"},
			Rows:   [][]string{{"ann@example.com"}, {"bob@example.com"}},
			Lines:  []int{2, 3},
			OpenLimited: func(ctx context.Context, max int) (connector.Source, error) {
				return connector.NewRegistry().OpenSource(ctx, conn, "contacts.csv",
					connector.SourceConfig{CSV: connector.CSVConfig{MaxRows: int64(max)}})
			},
		})
	}
}

func TestExampleUsage(t *testing.T) {
	t.Parallel()
	conn := memConnector{files: map[string][]byte{"contacts.csv": data}}
	connectortest.TestSource(t, func(ctx context.Context) (connector.Source, error) {
		return connector.NewRegistry().OpenSource(ctx, conn, "contacts.csv", connector.SourceConfig{})
	}, connectortest.Want{
		Header: []string{"email"},
		Rows:   [][]string{{"ann@example.com"}, {"bob@example.com"}},
		Lines:  []int{2, 3},
		OpenLimited: func(ctx context.Context, max int) (connector.Source, error) {
			return connector.NewRegistry().OpenSource(ctx, conn, "contacts.csv",
				connector.SourceConfig{CSV: connector.CSVConfig{MaxRows: int64(max)}})
		},
	})
}
