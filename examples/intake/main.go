// Command intake imports customer data files into a store and exports them
// again. It is the example command-line front end of the Intake library, and
// a contract other programs rely on:
//
//	intake import [-job JOBFILE] [-save-job JOBFILE] [flags] FILE
//	intake export [flags] OUT
//	intake map suggest FILE
//	intake schedule next [flags] CADENCE
//	intake job create|list|show|runs|run|update|enable|disable|duplicate|delete …
//	intake run show|download …
//	intake undo [-dry-run] [-force] [-json] RUN_ID
//
// The import flags map one to one to the keys of a job spec
// (importer.JobSpec): -save-job writes the spec they describe, -job runs a
// spec with the flags given on the line over it, and "intake job create"
// saves it as a job in the store's database, with its run history.
//
// Run "intake help", "intake job help" or "intake import -h" for the flags. Exit status: 0 when
// the command completed (an import with rejected rows included), 1 when it
// failed, 2 on a usage error. Errors go to stderr in plain words.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError is an error in how the command was called (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

const usage = `intake imports customer data files into a store and exports them.

Usage:
  intake import [flags] FILE        import a CSV/TSV/pipe file (see intake import -h)
  intake import -job JOBFILE [flags] FILE
                                    run a job spec on FILE; flags given on the line override it
  intake import … -save-job JOBFILE FILE
                                    also write the job spec that the flags describe
  intake export [flags] OUT         export stored records to CSV, JSONL or XLSX (see intake export -h)
  intake map suggest [flags] FILE   print the suggested mapping of FILE as a JSON spec
  intake schedule next [flags] CADENCE
                                    print the next run times of a cadence
  intake job create [-source URL] [-cadence C] [-tz ZONE] [-disabled] [-run] JOBFILE
                                    save a job (every problem of JOBFILE listed) and print its id
  intake job list|show ID|runs ID [-json]
                                    saved jobs; one job; its run history (newest first)
  intake job run [-file FILE] [-wait] [-json] ID
                                    run a job now (-file: that file instead of its source);
                                    -wait runs it here and prints the run's report
  intake job update ID [JOBFILE] | enable ID | disable ID | duplicate ID | delete ID
  intake run show RUN_ID [-json] | intake run download RUN_ID source|rejects OUT
                                    one run; the file it imported, or its rejected rows
  intake undo [-dry-run] [-force] [-json] RUN_ID
                                    revert a committed run (its run_id): created records removed, changed
                                    fields and flags restored; records changed since are conflicts (-force)

Objects: -object contact (default) | account | activity | a custom type, on import, export and map suggest.
  A custom type is defined by a mapping spec's object section and fields:
    {"object": {"name": "ticket", "key": ["ticket_no"],
                "links": [{"field": "contact_email", "object": "contact", "key": "email"}]},
     "fields": [{"name": "ticket_no", "type": "id"}, {"name": "contact_email", "type": "email"}],
     "columns": [...]}
  and then read from the store: intake import -object ticket -sync ticket_no FILE.
  A contact file's account_id column links to the store's accounts by itself (no -link needed).

Stores: sqlite:PATH (default sqlite:intake.db), memory:, postgres://…; jobs and runs live in the same
  database as the records (not in memory:); runs keep their files in PATH-runs beside a SQLite store.
Exit status: 0 done (rejected rows included), 1 failed, 2 usage error.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command with args and returns the exit status. Nothing it
// calls may panic through to the user: a panic is reported as a failure.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "intake: internal error: %v\nPlease report this with the command you ran.\n", p)
			code = exitFailed
		}
	}()
	err := dispatch(ctx, args, stdin, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "intake: %s\n", ue.msg)
		return exitUsage
	case errors.Is(err, errReported):
		return exitFailed
	default:
		fmt.Fprintf(stderr, "intake: %s\n", plainError(err))
		return exitFailed
	}
}

// plainError is an error's message without the package prefixes that the
// library's errors start with ("FILE: connector: the file is empty" reads
// "FILE: the file is empty"): the command prints its own "intake: ".
func plainError(err error) string { return trimPrefixes(err.Error()) }

// packagePrefixes are the prefixes of the library's error messages, one
// per package.
var packagePrefixes = []string{"intake", "connector", "xlsx", "sftp", "sqlsource", "mapping", "identity",
	"importer", "schedule", "acoustic", "sink", "memory", "sqlite", "postgres", "export"}

// trimPrefixes removes the package prefixes from msg: at its start and
// after each ": ".
func trimPrefixes(msg string) string {
	for _, p := range packagePrefixes {
		msg = strings.TrimPrefix(msg, p+": ")
		msg = strings.ReplaceAll(msg, ": "+p+": ", ": ")
	}
	return msg
}

// errHelp ends a command that printed its help on request.
var errHelp = errors.New("help")

// errReported ends a command that already told the user why it failed.
var errReported = errors.New("reported")

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	switch args[0] {
	case "import":
		return cmdImport(ctx, args[1:], stdout, stderr)
	case "export":
		return cmdExport(ctx, args[1:], stdout, stderr)
	case "map":
		if len(args) < 2 || args[1] != "suggest" {
			return usagef(`unknown map command; use "intake map suggest FILE"`)
		}
		return cmdMapSuggest(ctx, args[2:], stdout, stderr)
	case "schedule":
		return cmdSchedule(ctx, args[1:], stdout, stderr)
	case "job":
		return cmdJob(ctx, args[1:], stdout, stderr)
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "undo":
		return cmdUndo(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return errHelp
	}
	fmt.Fprint(stderr, usage)
	return usagef("unknown command %q", args[0])
}
