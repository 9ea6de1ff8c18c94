package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/ops"
)

// The audit log and the sequences of the SQLite sinks ([Store] and
// [Table]): Intake's own tables intake_audit and intake_sequences,
// in the database of the records (beside a host's table), created when a
// sink is opened. The SQL is plain and documented in [Store], so that a
// host can read the log with its own tools.

// sqliteLifecycleDDL creates intake_audit, intake_sequences and the
// tables of the undo logs, intake_undo_runs and intake_undo (see
// sqlite_undo.go).
var sqliteLifecycleDDL = []string{
	`CREATE TABLE IF NOT EXISTS intake_audit (
	seq       INTEGER PRIMARY KEY,
	time      INTEGER NOT NULL,
	object    TEXT NOT NULL,
	record_id TEXT NOT NULL,
	action    TEXT NOT NULL,
	reason    TEXT NOT NULL,
	actor     TEXT NOT NULL DEFAULT '',
	job       TEXT NOT NULL DEFAULT '',
	run_id    TEXT NOT NULL DEFAULT '',
	line      INTEGER NOT NULL DEFAULT 0,
	field         TEXT NOT NULL DEFAULT '',
	target_object TEXT NOT NULL DEFAULT '',
	target_id     TEXT NOT NULL DEFAULT ''
)`,
	`CREATE INDEX IF NOT EXISTS intake_audit_record ON intake_audit (object, record_id)`,
	`CREATE TABLE IF NOT EXISTS intake_sequences (
	name TEXT PRIMARY KEY,
	next INTEGER NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS intake_undo_runs (
	run_id    TEXT PRIMARY KEY,
	sink      TEXT NOT NULL DEFAULT '',
	job       TEXT NOT NULL DEFAULT '',
	state     TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',
	objects   TEXT NOT NULL DEFAULT '',
	started   INTEGER NOT NULL,
	expired   INTEGER,
	undone_by TEXT NOT NULL DEFAULT '',
	last_seq  INTEGER NOT NULL DEFAULT 0
)`,
	`CREATE TABLE IF NOT EXISTS intake_undo (
	run_id TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	time   INTEGER NOT NULL,
	fields TEXT,
	data   BLOB NOT NULL,
	PRIMARY KEY (run_id, seq)
)`,
}

// sqliteAuditAdded are the columns of intake_audit that hold the links of
// "unlink" entries, which createSQLiteLifecycleTables adds to a table that
// lacks them.
var sqliteAuditAdded = []string{"field", "target_object", "target_id"}

// createSQLiteLifecycleTables creates intake_audit, intake_sequences and
// the undo tables if needed, and adds to an intake_audit the columns of
// sqliteAuditAdded it lacks (ALTER TABLE … ADD COLUMN, with an empty
// default, which rewrites nothing).
func createSQLiteLifecycleTables(ctx context.Context, db *sql.DB) error {
	for _, q := range sqliteLifecycleDDL {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite: create Intake's audit, sequence and undo tables: %w", err)
		}
	}
	have := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('intake_audit')`)
	if err != nil {
		return fmt.Errorf("sqlite: inspect intake_audit: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: inspect intake_audit: %w", err)
		}
		have[n] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("sqlite: inspect intake_audit: %w", err)
	}
	for _, c := range sqliteAuditAdded {
		if have[c] {
			continue
		}
		// Another process may add it at the same time: its duplicate is fine.
		if _, err := db.ExecContext(ctx, `ALTER TABLE intake_audit ADD COLUMN `+c+` TEXT NOT NULL DEFAULT ''`); err != nil && !strings.Contains(err.Error(), "duplicate column name") {
			return fmt.Errorf("sqlite: add column %s to intake_audit: %w", c, err)
		}
	}
	return nil
}

// sqlAuditInsert inserts an audit entry; bindAudit binds its sqlAuditArgs
// arguments.
const (
	sqlAuditInsert = `INSERT INTO intake_audit (time, object, record_id, action, reason, actor, job, run_id, line, field, target_object, target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlAuditArgs   = 12
)

// bindAudit sets a (sqlAuditArgs long) to the arguments of sqlAuditInsert.
func bindAudit(a []driver.NamedValue, e sink.AuditEntry) {
	for i, v := range auditArgs(e) {
		a[i].Value = v
	}
}

func auditArgs(e sink.AuditEntry) []any {
	return []any{e.Time.UnixMicro(), e.Object, e.RecordID, e.Action, e.Reason, e.Actor, e.Job, e.RunID, int64(e.Line), e.Field, e.TargetObject, e.TargetID}
}

// sqliteAuditLog reads the audit log of object (of recordID when it is not
// empty) from intake_audit, oldest first.
func sqliteAuditLog(ctx context.Context, db *sql.DB, object, recordID string) ([]sink.AuditEntry, error) {
	q := `SELECT time, object, record_id, action, reason, actor, job, run_id, line, field, target_object, target_id FROM intake_audit WHERE object = ?`
	args := []any{object}
	if recordID != "" {
		q += ` AND record_id = ?`
		args = append(args, recordID)
	}
	rows, err := db.QueryContext(ctx, q+` ORDER BY time, seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read the audit log: %w", err)
	}
	defer rows.Close()
	var out []sink.AuditEntry
	for rows.Next() {
		var e sink.AuditEntry
		var us, line int64
		if err := rows.Scan(&us, &e.Object, &e.RecordID, &e.Action, &e.Reason, &e.Actor, &e.Job, &e.RunID, &line, &e.Field, &e.TargetObject, &e.TargetID); err != nil {
			return nil, fmt.Errorf("sqlite: read the audit log: %w", err)
		}
		e.Time, e.Line = time.UnixMicro(us).UTC(), int(line)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read the audit log: %w", err)
	}
	return out, nil
}

// sqliteReserve reserves n numbers of the sequence name in intake_sequences
// with one statement, which SQLite runs as a write transaction from its
// start (so that concurrent reservations, in this process or another, wait
// for each other), on a connection set to synchronous=FULL for the
// statement: the reservation is on disk when Reserve returns, even under
// the synchronous=NORMAL of [Open], which could lose the last commits
// to a power loss. mu serializes the calls of one sink, so that they wait
// for each other and for its writes in Go rather than on the busy timeout.
func sqliteReserve(ctx context.Context, db *sql.DB, mu *sync.Mutex, name string, n int64) (first int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := ops.CheckReserve(name, n); err != nil {
		return 0, err
	}
	mu.Lock()
	defer mu.Unlock()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlite: Reserve: %w", err)
	}
	defer conn.Close()
	var level int64
	if err := conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&level); err != nil {
		return 0, fmt.Errorf("sqlite: Reserve: %w", err)
	}
	const full = 2 // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
	if level < full {
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=FULL"); err != nil {
			return 0, fmt.Errorf("sqlite: Reserve: %w", err)
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.Background(), "PRAGMA synchronous="+strconv.FormatInt(level, 10)); rerr != nil {
				// A connection left at FULL is slower, not wrong; take it out of the pool.
				conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // the connection is dropped either way
			}
		}()
	}
	var next int64
	err = conn.QueryRowContext(ctx, `INSERT INTO intake_sequences (name, next) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET next = next + excluded.next WHERE next <= ?
RETURNING next`, name, n, math.MaxInt64-n).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		var at int64
		if qerr := conn.QueryRowContext(ctx, `SELECT next FROM intake_sequences WHERE name = ?`, name).Scan(&at); qerr != nil {
			return 0, fmt.Errorf("sqlite: Reserve: %w", qerr)
		}
		return 0, ops.ErrSequenceFull(name, at, n)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: Reserve of %d numbers of sequence %q: %w", n, name, err)
	}
	return next - n, nil
}

// AuditLog returns the audit entries of the object type's lifecycle ops
// from intake_audit, oldest first (by AuditEntry.Time, then in the order
// they were written), only recordID's when it is not empty. It implements
// [sink.Auditor].
func (s *Store) AuditLog(ctx context.Context, object, recordID string) ([]sink.AuditEntry, error) {
	return sqliteAuditLog(ctx, s.db, object, recordID)
}

// Unlinks reports true: SQLite applies [sink.Op.Unlink]. It implements
// [sink.Unlinker]. The link fields are those of the schemas in intake_schema,
// whose Ref they keep: a batch with Unlink reads intake_schema again in
// its transaction, so that the tables and fields another sink or process
// on the same database added since this sink read them count too. Once a
// batch's ops are applied, one query per link field
// to a target's type finds the rows that hold a target: an id field's by
// IN over the targets' ids, which is a scan of the table unless the host
// indexes the column (CREATE INDEX … ON intake_activity (profile_id);
// Intake adds no index on link fields, which would slow every import of
// the table), and a multi-select field's by reading every non-null value
// of the column. A row that loses links is then updated once, with its
// key columns, and each removed link is an INSERT into intake_audit.
func (s *Store) Unlinks() bool { return true }

// Reserve reserves n consecutive numbers of the named sequence in the
// table intake_sequences and returns the first (see [sink.Sequencer]): 0 on the
// first call for a name. Reservations of several sinks or processes
// sharing the database never overlap, and each is on disk (synchronous=FULL
// for its commit) when Reserve returns. n must be at least 1.
func (s *Store) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	return sqliteReserve(ctx, s.db, &s.wmu, name, n)
}
