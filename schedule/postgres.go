package schedule

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NewPostgres uses a *pgxpool.Pool that the host owns (Close leaves it
// open) and creates the tables intake_jobs and intake_runs in its
// search_path. Claims lock due jobs with SELECT … FOR UPDATE SKIP LOCKED
// inside the transaction that records the run, so several schedulers
// sharing the database run each due run exactly once.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, cfg StoreConfig) (JobStore, error) {
	if pool == nil {
		return nil, errors.New("schedule: NewPostgres: nil pool: create one with pgxpool.New(ctx, url)")
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	s := &sqlStore{d: dialect{name: "postgres", skipLocked: " FOR UPDATE SKIP LOCKED", dollar: true,
		lockTarget: `SELECT pg_try_advisory_xact_lock(hashtextextended(current_schema() || '.' || $1::text, 7311450022))`}, db: pgDB{pool}, clock: cfg.Clock, sinkFor: cfg.SinkFor}
	// Concurrent CREATE TABLE IF NOT EXISTS can race on the catalog; an
	// advisory lock held for the transaction serializes it.
	err := s.inTx(ctx, func(tx txI) error {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(7311450021)`); err != nil {
			return err
		}
		s2 := *s
		s2.db = txBackend{tx}
		return s2.init(ctx)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

type txBackend struct{ txI }

func (txBackend) begin(context.Context) (txI, error) { return nil, errors.New("nested transaction") }
func (txBackend) close() error                       { return nil }

type pgDB struct{ pool *pgxpool.Pool }

func (d pgDB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := d.pool.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (d pgDB) query(ctx context.Context, q string, args ...any) (rowsI, error) {
	r, err := d.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (d pgDB) begin(ctx context.Context) (txI, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return pgTx{tx}, nil
}

func (d pgDB) close() error { return nil }

type pgTx struct{ tx pgx.Tx }

func (t pgTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (t pgTx) query(ctx context.Context, q string, args ...any) (rowsI, error) {
	r, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (t pgTx) commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgTx) rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }
