package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/ops"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// queueAudit queues the INSERT of a batch's audit entries into
// intake_audit, in the order of the ops: one statement for the batch.
func (p *Store) queueAudit(b *pgx.Batch, audits []sink.AuditEntry) {
	n := len(audits)
	times := make([]time.Time, n)
	objects, ids, actions, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	actors, jobs, runs := make([]string, n), make([]string, n), make([]string, n)
	lines := make([]int64, n)
	fields, tobjects, tids := make([]string, n), make([]string, n), make([]string, n)
	for i, a := range audits {
		times[i], objects[i], ids[i], actions[i], reasons[i] = a.Time, a.Object, a.RecordID, a.Action, a.Reason
		actors[i], jobs[i], runs[i], lines[i] = a.Actor, a.Job, a.RunID, int64(a.Line)
		fields[i], tobjects[i], tids[i] = a.Field, a.TargetObject, a.TargetID
	}
	b.Queue(`INSERT INTO `+p.auditTable+` (time, object, record_id, action, reason, actor, job, run_id, line, field, target_object, target_id)
SELECT time, object, record_id, action, reason, actor, job, run_id, line, field, target_object, target_id
FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[])
	WITH ORDINALITY AS a (time, object, record_id, action, reason, actor, job, run_id, line, field, target_object, target_id, ord)
ORDER BY ord`, times, objects, ids, actions, reasons, actors, jobs, runs, lines, fields, tobjects, tids)
}

// pgAuditAdded are the columns of intake_audit that hold the links of
// "unlink" entries, which Migrations adds to a table that lacks them.
var pgAuditAdded = []string{"field", "target_object", "target_id"}

// missingTable returns err, or, when err says that table (intake_audit,
// intake_sequences) or one of its columns does not exist, an error saying
// how to create it.
func (p *Store) missingTable(err error, table string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" && strings.Contains(pe.Message, table) {
		return fmt.Errorf("postgres: table %s.%s does not exist: run the statements of postgres.Migrations(%q) (postgres.Config.SkipMigrations is set, or they ran before this version): %w",
			p.cfg.Schema, table, p.cfg.Schema, err)
	}
	if errors.As(err, &pe) && pe.Code == "42703" && (strings.Contains(pe.Message, table) ||
		table == "intake_audit" && slices.ContainsFunc(pgAuditAdded, func(c string) bool { return strings.Contains(pe.Message, `"`+c+`"`) })) {
		return fmt.Errorf("postgres: table %s.%s lacks a column of this version: run the statements of postgres.Migrations(%q) again (postgres.Config.SkipMigrations is set): %w",
			p.cfg.Schema, table, p.cfg.Schema, err)
	}
	return err
}

// AuditLog returns the audit entries of the object type, oldest first
// (by AuditEntry.Time, then in the order they were written), from
// intake_audit; with a
// non-empty recordID only that record's (an indexed query). Entries of
// deleted records stay. Times are in UTC, to the microsecond. It
// implements [sink.Auditor].
func (p *Store) AuditLog(ctx context.Context, object, recordID string) ([]sink.AuditEntry, error) {
	q := `SELECT time, object, record_id, action, reason, actor, job, run_id, line, field, target_object, target_id FROM ` + p.auditTable + ` WHERE object = $1`
	args := []any{object}
	if recordID != "" {
		q += ` AND record_id = $2`
		args = append(args, recordID)
	}
	var out []sink.AuditEntry
	err := p.read(ctx, func() error {
		out = out[:0]
		rows, err := p.pool.Query(ctx, q+` ORDER BY time, seq`, args...)
		if err != nil {
			return fmt.Errorf("postgres: audit log: %w", p.missingTable(err, "intake_audit"))
		}
		defer rows.Close()
		for rows.Next() {
			var a sink.AuditEntry
			var line int64
			if err := rows.Scan(&a.Time, &a.Object, &a.RecordID, &a.Action, &a.Reason, &a.Actor, &a.Job, &a.RunID, &line, &a.Field, &a.TargetObject, &a.TargetID); err != nil {
				return fmt.Errorf("postgres: audit log: %w", err)
			}
			a.Time, a.Line = a.Time.UTC(), int(line)
			out = append(out, a)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: audit log: %w", p.missingTable(err, "intake_audit"))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unlinks reports true: Postgres applies [sink.Op.Unlink], in its own tables
// and in the host's ([sink.TableMapping]) alike, the link fields being those of
// the schemas in intake_schema, whose Ref they keep. It implements
// [sink.Unlinker]. A batch with Unlink reads every object type's schema
// version (FOR SHARE): when another process has created a table or
// changed a schema (added a link field, say) since this sink read it, the
// sink reads those schemas again and starts the batch over. Then one
// SELECT … FOR UPDATE per link field to a target's type finds the rows
// that hold a target: by = ANY on an id column (a scan of the table
// unless the host indexes the column: CREATE INDEX … ON intake_activity
// (profile_id); Intake adds no index on link fields, which would slow
// every import of the table), by && on a multi-select column (a scan
// unless a GIN index serves it), and by ->> or ?| on a host's JSONB
// member. The rows found are written with the batch's other changed rows,
// by its one UPDATE per table, and the audit entries by its one INSERT.
func (p *Store) Unlinks() bool { return true }

// Reserve reserves n consecutive numbers of the named sequence and returns
// the first (see [sink.Sequencer]): 0 on the first call for a name, then where
// the previous reservation ended.
//
// The sequences are rows of intake_sequences (name, next), and a
// reservation is one statement, INSERT … ON CONFLICT (name) DO UPDATE SET
// next = next + n RETURNING next - n: the row lock serializes concurrent
// reservations, across processes too, and each gets its own range. It
// commits with synchronous_commit on whatever the server's or
// Config.AsyncCommit's setting, so the range is durable once
// Reserve returns. A table row rather than a native sequence per name:
// nextval hands out one number at a time (a range would need setval
// under a lock), native sequences cache and may skip numbers after a
// crash, and their names would have to be identifiers; a row takes any
// name and exactly n numbers.
func (p *Store) Reserve(ctx context.Context, name string, n int64) (int64, error) {
	if err := ops.CheckReserve(name, n); err != nil {
		return 0, err
	}
	tx, err := p.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: Reserve: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit a no-op
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL synchronous_commit = on`)
	b.Queue(`INSERT INTO `+p.seqTable+` AS s (name, next) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET next = s.next + EXCLUDED.next RETURNING next - $2, next`, name, n)
	br := tx.SendBatch(ctx, b)
	var first, next int64
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&first, &next)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "22003" { // numeric_value_out_of_range
			var at int64
			if p.pool.QueryRow(ctx, `SELECT next FROM `+p.seqTable+` WHERE name = $1`, name).Scan(&at) == nil {
				return 0, ops.ErrSequenceFull(name, at, n)
			}
		}
		return 0, fmt.Errorf("postgres: Reserve: %w", p.missingTable(err, "intake_sequences"))
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: Reserve: %w", err)
	}
	return first, nil
}
