package main

import (
	"context"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/sqlite"
)

// openSQLite opens a SQLite sink at path with the default configuration.
func openSQLite(ctx context.Context, path string) (sink.Sink, func() error, error) {
	db, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		return nil, nil, err
	}
	return db, db.Close, nil
}
