package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/httpconn"
	"github.com/intakehq/intake/connector/sftp"
	"github.com/intakehq/intake/connector/xlsx"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/intakehq/intake/sink/sqlite"
	"github.com/jackc/pgx/v5/pgxpool"
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

// newFlagSet returns a flag set that prints its usage on stderr. A parse
// error is not printed by the flag package: parse returns it, and run
// prints it once.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// store is an open store of the CLI: the records, and in the same
// database the saved jobs and their runs.
type store struct {
	url   string
	sink  sink.Sink
	close func() error
	// pool is the PostgreSQL store's connection pool (nil otherwise).
	pool *pgxpool.Pool
}

// jobs opens the job store in the store's database: SQLite and PostgreSQL
// stores keep jobs and runs beside the records (tables intake_jobs and
// intake_runs); Create and Update check a job's spec against the records'
// schemas. Close it before the store.
func (st *store) jobs(ctx context.Context) (schedule.JobStore, error) {
	cfg := schedule.StoreConfig{SinkFor: func(schedule.Job) (sink.Sink, error) { return st.sink, nil }}
	switch s := st.sink.(type) {
	case *sqlite.Store:
		return schedule.NewSQLite(ctx, s.DB(), cfg)
	case *postgres.Store:
		return schedule.NewPostgres(ctx, st.pool, cfg)
	}
	return nil, usagef("-store %s keeps nothing between commands, so it cannot keep jobs: use sqlite:PATH or postgres://…", st.url)
}

// runsDir returns the directory where the runs of the store's jobs keep
// their files (the imported file, the rejected rows): PATH-runs beside a
// SQLite database; for PostgreSQL, a directory in the user's cache named
// after the server, database and schema.
func runsDir(storeURL string) (string, error) {
	if strings.HasPrefix(storeURL, "sqlite:") {
		path := strings.TrimPrefix(strings.TrimPrefix(storeURL, "sqlite:"), "//")
		path, _, _ = strings.Cut(path, "?")
		return path + "-runs", nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no directory for the runs' files: %w (give -runs DIR)", err)
	}
	name := "store"
	if u, err := neturl.Parse(storeURL); err == nil {
		name = u.Host + u.Path + "-" + u.Query().Get("schema")
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, name)
	return filepath.Join(cache, "intake", "runs", name), nil
}

// openStore opens a store URL: sqlite:PATH or memory:.
func openStore(ctx context.Context, url string) (*store, error) {
	switch {
	case url == "memory:" || url == "memory":
		m := memory.New(memory.Config{})
		return &store{url: url, sink: m, close: m.Close}, nil
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return nil, usagef("-store %q names no file: use sqlite:PATH, e.g. sqlite:intake.db", url)
		}
		db, err := sqlite.Open(ctx, path, sqlite.Config{})
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", url, err)
		}
		return &store{url: url, sink: db, close: db.Close}, nil
	case strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	}
	return nil, usagef("unknown store %q: use sqlite:PATH (e.g. sqlite:intake.db), memory: or postgres://…", url)
}

// openPostgres opens a postgres:// store. A "schema" query parameter names
// the schema of Intake's tables (default public); the rest of the URL is
// pgx's connection string.
func openPostgres(ctx context.Context, raw string) (*store, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return nil, usagef("-store: %s is not a valid URL: %v", redact(raw), err)
	}
	q := u.Query()
	schema := q.Get("schema")
	q.Del("schema")
	u.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, usagef("-store %s: %v", redact(raw), err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "intake"
	if schema != "" {
		// The job store's tables go beside the records' (schedule.NewPostgres
		// creates them in the search path).
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(raw), err)
	}
	pg, err := postgres.New(ctx, pool, postgres.Config{Schema: schema})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store %s: %w", redact(raw), err)
	}
	return &store{url: redact(raw), sink: pg, pool: pool, close: func() error { pool.Close(); return nil }}, nil
}

// redact hides a password in a store URL.
func redact(raw string) string {
	if u, err := neturl.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "the store URL"
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
	if sc := intake.DefaultSchema(object); sc != nil {
		return sc, nil
	}
	return nil, usagef("-object %s: the store holds no %s records and no schema for them: import them first (intake import -object %s -mapping SPEC FILE, with the type's fields in the spec)", object, object, object)
}

// openSource opens FILE as a row source, or explains why it cannot: an
// .xlsx workbook (the sheet named by sheet, or the first visible one) or a
// delimited text file, from a local path or a file://, http(s):// or
// sftp:// URL.
func openSource(ctx context.Context, path string, cfg connector.CSVConfig, sheet string) (connector.Source, error) {
	ext := strings.ToLower(filepath.Ext(urlPath(path)))
	switch {
	case ext == ".xls":
		return nil, usagef("%s is a legacy .xls workbook: save it as .xlsx or CSV", path)
	case sheet != "" && ext != ".xlsx":
		return nil, usagef("-sheet applies to .xlsx workbooks, and %s is not one", path)
	}
	wb := connector.WorkbookOptions{Sheet: sheet, NoHeader: cfg.NoHeader}
	if strings.Contains(path, "://") {
		return openURL(ctx, path, cfg, wb)
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", path)
		}
		return nil, err
	}
	if ext == ".xlsx" {
		return xlsx.Open(path, xlsx.Config{Sheet: wb.Sheet, NoHeader: wb.NoHeader})
	}
	return connector.OpenCSVFile(path, cfg)
}

// urlPath returns the path part of a URL, or s itself.
func urlPath(s string) string {
	if u, err := neturl.Parse(s); err == nil && u.Scheme != "" {
		return u.Path
	}
	return s
}

// openURL opens a file:// (any local file), http(s):// or sftp:// URL.
func openURL(ctx context.Context, raw string, cfg connector.CSVConfig, wb connector.WorkbookOptions) (connector.Source, error) {
	if strings.HasPrefix(raw, "file://") {
		if p, err := filepath.EvalSymlinks(strings.TrimPrefix(raw, "file://")); err == nil {
			raw = "file://" + p // the registry's root refuses links with an absolute target
		}
	}
	reg, err := registry()
	if err != nil {
		return nil, err
	}
	conn, p, err := reg.Open(ctx, raw)
	if err != nil {
		if errors.Is(err, connector.ErrUnknownScheme) {
			return nil, usagef("%s: %s", raw, plainError(err))
		}
		return nil, err
	}
	src, err := reg.OpenSource(ctx, conn, p, connector.SourceConfig{CSV: cfg, Workbook: wb})
	if err != nil {
		closeConn(conn)
		return nil, err
	}
	return &urlSource{FileSource: src, conn: conn}, nil
}

// registry returns the connectors and formats of the CLI: local files (the
// whole file system), http(s):// and sftp://; CSV and XLSX. SFTP checks the host key against
// ~/.ssh/known_hosts (or INTAKE_SFTP_KNOWN_HOSTS), and authenticates with
// INTAKE_SFTP_PASSWORD, the URL's password, or the private key file
// INTAKE_SFTP_KEY (default ~/.ssh/id_ed25519 or ~/.ssh/id_rsa when present).
func registry() (*connector.Registry, error) {
	home, _ := os.UserHomeDir()
	sftpCfg := sftp.Config{
		KnownHostsFile: envOr("INTAKE_SFTP_KNOWN_HOSTS", filepath.Join(home, ".ssh", "known_hosts")),
		Password:       os.Getenv("INTAKE_SFTP_PASSWORD"),
	}
	keyFile := os.Getenv("INTAKE_SFTP_KEY")
	for _, k := range []string{"id_ed25519", "id_rsa"} {
		if keyFile == "" {
			if p := filepath.Join(home, ".ssh", k); fileExists(p) {
				keyFile = p
			}
		}
	}
	if keyFile != "" {
		pem, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("read the SFTP key: %w", err)
		}
		sftpCfg.PrivateKey = pem
	}
	reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: "/"})
	if err := httpconn.Register(reg, httpconn.Config{}); err != nil {
		return nil, err
	}
	if err := sftp.Register(reg, sftpCfg); err != nil {
		return nil, err
	}
	if err := xlsx.Register(reg, xlsx.Config{}); err != nil {
		return nil, err
	}
	return reg, nil
}

// urlSource closes the connector (an SFTP connection) with the source.
type urlSource struct {
	*connector.FileSource
	conn connector.Connector
}

func (s *urlSource) Close() error {
	err := s.FileSource.Close()
	closeConn(s.conn)
	return err
}

func closeConn(c connector.Connector) {
	if cl, ok := c.(io.Closer); ok {
		cl.Close()
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
