package sqlsource

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
)

// Queryer runs a query: *sql.DB, *sql.Conn and *sql.Tx all are one.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Config configures a [Source] source.
type Config struct {
	// Query is the SELECT (or any statement returning rows) to read.
	// Required.
	Query string
	// Args are the query's arguments, in the driver's placeholder syntax
	// ($1 for PostgreSQL, ? for SQLite and MySQL).
	Args []any
	// Name names the source in errors ([intake.RowError.File]) and
	// [Source.Name]. Default: "sql".
	Name string
	// MaxRows bounds the rows read; more is a fatal [connector.ErrTooManyRows].
	// Default: 0, unlimited.
	MaxRows int64
}

// Source is a [connector.Source] of the rows of a database query, through any
// database/sql driver. The header is the result's column names; cells are
// the values converted to text as the mapping expects them:
//
//   - NULL is the empty cell;
//   - text, and bytes that are valid UTF-8, as they are; other bytes (a
//     BLOB, a bytea) are encoded in standard base64;
//   - integers in decimal; floats in the shortest form that reads back the
//     same value, without exponent (0.1 stays 0.1, 1e21 is
//     1000000000000000000000); NaN and infinities as NaN, +Inf, -Inf;
//   - booleans as true or false, also 0 and 1 in a column whose database
//     type is BOOLEAN (SQLite stores booleans as integers);
//   - a time as RFC 3339 with its offset and fractional seconds if any
//     (2026-03-01T09:30:00Z), or yyyy-MM-dd when the column's database type
//     is DATE, or HH:mm:ss when it is TIME;
//   - anything else (a decimal the driver returns as text, a UUID, JSON) as
//     the driver's text, or fmt's %v of the value.
//
// Row.Line is the row's 1-based position plus one, as if the header were
// line 1, so that errors read like those of a file. Source implements [connector.Namer]
// and [connector.Describer].
type Source struct {
	cfg    Config
	rows   *sql.Rows
	header []string
	kinds  []sqlKind
	vals   []any
	ptrs   []any
	n      int64
	err    error
	closed bool
}

type sqlKind uint8

const (
	sqlAny sqlKind = iota
	sqlDate
	sqlTime
	sqlBool
)

// New runs cfg.Query on db with ctx and returns a source of its rows.
// The query's errors (syntax, permissions, connection) come from here.
// ctx bounds the whole read: canceling it stops the query, and Read returns
// its error. Close releases the rows (and the connection they hold).
func New(ctx context.Context, db Queryer, cfg Config) (*Source, error) {
	if db == nil {
		return nil, errors.New("sqlsource: sqlsource.New needs a database (a *sql.DB, *sql.Conn or *sql.Tx)")
	}
	if strings.TrimSpace(cfg.Query) == "" {
		return nil, errors.New("sqlsource: sqlsource.Config.Query is empty; set it to the SELECT that returns the rows to import")
	}
	if cfg.MaxRows < 0 {
		return nil, errors.New("sqlsource: sqlsource.Config.MaxRows must not be negative; use 0 for no limit")
	}
	if cfg.Name == "" {
		cfg.Name = "sql"
	}
	rows, err := db.QueryContext(ctx, cfg.Query, cfg.Args...)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: %s: run query: %w", cfg.Name, err)
	}
	s := &Source{cfg: cfg, rows: rows}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, fmt.Errorf("sqlsource: %s: read the query's columns: %w", cfg.Name, err)
	}
	if err := connector.CheckHeader(cols); err != nil {
		rows.Close()
		return nil, fmt.Errorf("%s: %w (give the columns distinct names with AS)", cfg.Name, err)
	}
	s.header = cols
	s.kinds = make([]sqlKind, len(cols))
	if types, err := rows.ColumnTypes(); err == nil {
		for i, t := range types {
			switch strings.ToUpper(t.DatabaseTypeName()) {
			case "DATE":
				s.kinds[i] = sqlDate
			case "TIME", "TIME WITHOUT TIME ZONE":
				s.kinds[i] = sqlTime
			case "BOOL", "BOOLEAN":
				s.kinds[i] = sqlBool
			}
		}
	}
	s.vals = make([]any, len(cols))
	s.ptrs = make([]any, len(cols))
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	return s, nil
}

// Name returns Config.Name ("sql" by default). It implements [connector.Namer].
func (s *Source) Name() string { return s.cfg.Name }

// Describe returns the format "sql". It implements [connector.Describer].
func (s *Source) Describe() connector.Dialect { return connector.Dialect{Format: "sql"} }

// Header returns the query's column names. The caller must not modify the
// slice.
func (s *Source) Header(ctx context.Context) ([]string, error) {
	if s.closed {
		return nil, connector.ErrClosed
	}
	return s.header, nil
}

// Read returns the next row, or io.EOF after the last one. Errors of the
// driver (a lost connection, a canceled ctx) are fatal and returned again by
// later calls.
func (s *Source) Read(ctx context.Context) (intake.Row, error) {
	if s.err != nil {
		return intake.Row{}, s.err
	}
	if err := ctx.Err(); err != nil {
		return intake.Row{}, err
	}
	if !s.rows.Next() {
		if err := s.rows.Err(); err != nil {
			s.err = fmt.Errorf("sqlsource: %s: row %d: read query: %w", s.cfg.Name, s.n+2, err)
		} else {
			s.err = io.EOF
		}
		return intake.Row{}, s.err
	}
	if err := s.rows.Scan(s.ptrs...); err != nil {
		s.err = fmt.Errorf("sqlsource: %s: row %d: read query: %w", s.cfg.Name, s.n+2, err)
		return intake.Row{}, s.err
	}
	s.n++
	if s.cfg.MaxRows > 0 && s.n > s.cfg.MaxRows {
		s.err = fmt.Errorf("%s: %w (sqlsource.Config.MaxRows is %d)", s.cfg.Name, connector.ErrTooManyRows, s.cfg.MaxRows)
		return intake.Row{}, s.err
	}
	cells := make([]string, len(s.vals))
	for i, v := range s.vals {
		cells[i] = sqlText(v, s.kinds[i])
		s.vals[i] = nil
	}
	return intake.Row{Line: int(s.n) + 1, Cells: cells}, nil
}

// Close releases the query's rows. Later calls to Header or Read return
// [connector.ErrClosed]. Close is safe to call twice.
func (s *Source) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.err = connector.ErrClosed
	return s.rows.Close()
}

// sqlText converts a scanned driver value to a cell.
func sqlText(v any, k sqlKind) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		if utf8.Valid(v) {
			return string(v)
		}
		return base64.StdEncoding.EncodeToString(v)
	case int64:
		if k == sqlBool && (v == 0 || v == 1) {
			return strconv.FormatBool(v == 1)
		}
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case int:
		return strconv.Itoa(v)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return formatFloat(v, 64)
	case float32:
		return formatFloat(float64(v), 32)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		switch k {
		case sqlDate:
			return v.Format("2006-01-02")
		case sqlTime:
			return v.Format("15:04:05.999999999")
		}
		return v.Format(time.RFC3339Nano)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}
