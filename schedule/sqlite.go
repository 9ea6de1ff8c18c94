package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// OpenSQLite opens (creating if needed) a SQLite job store at path, with
// WAL journaling, a busy timeout and immediate transactions; Close closes it.
// SQLite suits one instance of a host; use [NewPostgres] for several.
func OpenSQLite(ctx context.Context, path string, cfg StoreConfig) (JobStore, error) {
	if path == "" {
		return nil, errors.New("schedule: OpenSQLite: empty path: give a file path such as jobs.db")
	}
	dsn := "file:" + url.PathEscape(path) + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("schedule: open %s: %w", path, err)
	}
	s, err := newSQLite(ctx, db, cfg, true)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// NewSQLite uses a *sql.DB opened with the "sqlite" driver
// (modernc.org/sqlite) that the host owns; Close leaves it open. Open it
// with _txlock=immediate and a busy_timeout when several goroutines write.
func NewSQLite(ctx context.Context, db *sql.DB, cfg StoreConfig) (JobStore, error) {
	if db == nil {
		return nil, errors.New("schedule: NewSQLite: nil *sql.DB: open one with sql.Open(\"sqlite\", path) or use OpenSQLite")
	}
	return newSQLite(ctx, db, cfg, false)
}

func newSQLite(ctx context.Context, db *sql.DB, cfg StoreConfig, own bool) (*sqlStore, error) {
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	s := &sqlStore{d: dialect{name: "sqlite"}, db: &sqlDB{db: db, own: own}, clock: cfg.Clock, sinkFor: cfg.SinkFor}
	if err := s.init(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

type sqlDB struct {
	db  *sql.DB
	own bool
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func execSQL(ctx context.Context, e interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, q string, args ...any) (int64, error) {
	res, err := e.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (d *sqlDB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return execSQL(ctx, d.db, q, args...)
}

func (d *sqlDB) query(ctx context.Context, q string, args ...any) (rowsI, error) {
	r, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (d *sqlDB) begin(ctx context.Context) (txI, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqlTx{tx}, nil
}

func (d *sqlDB) close() error {
	if d.own {
		return d.db.Close()
	}
	return nil
}

type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return execSQL(ctx, t.tx, q, args...)
}

func (t sqlTx) query(ctx context.Context, q string, args ...any) (rowsI, error) {
	r, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (t sqlTx) commit(context.Context) error   { return t.tx.Commit() }
func (t sqlTx) rollback(context.Context) error { return t.tx.Rollback() }
