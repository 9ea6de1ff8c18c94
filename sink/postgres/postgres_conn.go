package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A pooled connection can die while it sits idle in the pool: an
// administrator's pg_terminate_backend, a fast shutdown of a standby,
// idle_session_timeout, a proxy or firewall dropping it. pgxpool pings a
// connection before handing it out only when it has been idle for more
// than a second (the host's pool may say otherwise: pgxpool.Config's
// ShouldPing), so a connection killed a moment ago fails the first
// statement sent on it. The sink begins its transactions with begin and
// runs its reads with read, which try once more after such a failure,
// when that is safe: a read has no effect, and a transaction whose BEGIN
// failed has sent nothing. A failure later in a transaction is not
// retried here: once a batch's statements are sent, a lost connection may
// have committed it or not.

// pgPingTimeout bounds the ping of an idle connection by dropDeadIdle.
const pgPingTimeout = 5 * time.Second

// pgConnLost reports whether err says that the connection is gone: the
// server terminated it (SQLSTATE 57P01 admin_shutdown, 57P05
// idle_session_timeout), or reading or writing it failed (EOF, a reset,
// a closed connection).
func pgConnLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "57P01" || pe.Code == "57P05"
	}
	var oe *net.OpError
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &oe)
}

// retryLost reports whether an operation that failed with err, having
// sent nothing that changes the database, is worth one more try: its
// connection was lost (pgConnLost) and ctx is live. It then logs the loss
// and drops the pool's dead idle connections, so that the next try gets
// a live connection or a new one.
func (p *Store) retryLost(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || !pgConnLost(err) {
		return false
	}
	p.cfg.Logger.Warn("intake: PostgreSQL connection lost; trying again on another", "error", err)
	p.dropDeadIdle(ctx)
	return true
}

// dropDeadIdle pings each idle connection of the pool and closes those
// that do not answer, which the pool then discards. A server that
// terminates one of the sink's connections usually terminates them all.
func (p *Store) dropDeadIdle(ctx context.Context) {
	for _, c := range p.pool.AcquireAllIdle(ctx) {
		pctx, cancel := context.WithTimeout(ctx, pgPingTimeout)
		if err := c.Ping(pctx); err != nil {
			c.Conn().Close(pctx) //nolint:errcheck // dead already: Close only frees it
		}
		cancel()
		c.Release()
	}
}

// begin starts a transaction on a pooled connection, and once more after
// the pool's dead connections are dropped when the BEGIN found its
// connection lost (nothing was sent but the BEGIN).
func (p *Store) begin(ctx context.Context) (pgx.Tx, error) {
	// Read committed whatever the pool's default: the key guard reads,
	// after waiting for a key's lock, what the writer it waited for
	// committed, which a REPEATABLE READ snapshot taken before the wait
	// would not show.
	opts := pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
	tx, err := p.pool.BeginTx(ctx, opts)
	if p.retryLost(ctx, err) {
		tx, err = p.pool.BeginTx(ctx, opts)
	}
	return tx, err
}

// read runs fn, which only reads (each call starts from scratch), and once
// more when it failed because its connection was lost or a statement pgx
// prepared on it no longer fits its table (pgPlanStale).
func (p *Store) read(ctx context.Context, fn func() error) error {
	err := fn()
	if p.retryLost(ctx, err) || (pgPlanStale(err) && ctx.Err() == nil) {
		err = fn()
	}
	return err
}

// pgPlanStale reports whether err is PostgreSQL's refusal to run a
// statement prepared before its table changed the type of a column it
// returns (SQLSTATE 0A000, "cached plan must not change result type"):
// another process migrated the table ([Migrations]) since this
// connection prepared it. pgx drops the statement from its cache on that
// error, so that the next try prepares it again.
func pgPlanStale(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "0A000" && strings.Contains(pe.Message, "cached plan")
}
