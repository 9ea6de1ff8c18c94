package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/sink"
)

// parse parses flags that may come before or after the positional arguments
// ("intake import -json file.csv" and "intake import file.csv -json").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usagef("%s", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// store is an open store of the CLI.
type store struct {
	sink  sink.Sink
	close func() error
}

// openStore opens a store URL: sqlite:PATH or memory:.
func openStore(ctx context.Context, url string) (*store, error) {
	switch {
	case url == "memory:" || url == "memory":
		m := sink.NewMemory(sink.MemoryConfig{})
		return &store{sink: m, close: m.Close}, nil
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return nil, usagef("-store %q names no file: use sqlite:PATH, e.g. sqlite:intake.db", url)
		}
		db, err := sink.OpenSQLite(ctx, path, sink.SQLiteConfig{})
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", url, err)
		}
		return &store{sink: db, close: db.Close}, nil
	case strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://"):
		return nil, notYet("a PostgreSQL store")
	}
	return nil, usagef("unknown store %q: use sqlite:PATH (e.g. sqlite:intake.db) or memory:", url)
}

// schemaFor returns the schema of an object type: the store's own when it
// remembers one, else the default.
func schemaFor(ctx context.Context, s sink.Sink, object string) (*intake.Schema, error) {
	if object == "" {
		object = intake.ObjectContact
	}
	if sr, ok := s.(sink.SchemaReader); ok {
		sc, err := sr.Schema(ctx, object)
		if err != nil {
			return nil, err
		}
		if sc != nil {
			return sc, nil
		}
	}
	switch object {
	case intake.ObjectContact:
		return intake.ContactSchema(), nil
	case intake.ObjectAccount, intake.ObjectActivity:
		return nil, notYet("the " + object + " object type")
	}
	return nil, usagef("the store holds no object type %q", object)
}

// openSource opens FILE as a row source, or explains why it cannot: an
// .xlsx workbook (the sheet named by sheet, or the first visible one) or a
// delimited text file.
func openSource(path string, cfg connector.CSVConfig, sheet string) (connector.Source, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case strings.Contains(path, "://"):
		return nil, notYet("reading from a URL (" + path + ")")
	case ext == ".xls":
		return nil, usagef("%s is a legacy .xls workbook: save it as .xlsx or CSV", path)
	case sheet != "" && ext != ".xlsx":
		return nil, usagef("-sheet applies to .xlsx workbooks, and %s is not one", path)
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", path)
		}
		return nil, err
	}
	if ext == ".xlsx" {
		return connector.OpenXLSX(path, connector.XLSXConfig{Sheet: sheet, NoHeader: cfg.NoHeader})
	}
	return connector.OpenCSVFile(path, cfg)
}
