// Command scheduled runs a SQLite-backed scheduler with one job that imports
// a CSV file every minute into a SQLite contact store, prints each run's
// report as it ends, and shows the job's history.
//
//	go run ./examples/scheduled            real time: 3 runs, one a minute (about 3 minutes)
//	go run ./examples/scheduled -fast      a fake clock moved a minute per step: done in a second
//
// Between runs the program appends a contact to the file on some minutes,
// so that unchanged files are recorded as skipped_unchanged.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/intakehq/intake/sink/sqlite"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scheduled:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("scheduled", flag.ContinueOnError)
	fast := fs.Bool("fast", false, "use a fake clock moved one minute per step instead of waiting")
	runs := fs.Int("runs", 4, "how many scheduled runs to wait for")
	dir := fs.String("dir", "", "working directory for the file and the databases (default: a temporary one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "intake-scheduled")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	inbox, file, err := writeInbox(*dir)
	if err != nil {
		return err
	}

	var clock schedule.Clock // nil: the system clock
	var fake *scheduletest.Clock
	if *fast {
		fake = scheduletest.NewClock(time.Date(2026, 3, 2, 8, 59, 0, 0, time.UTC))
		clock = fake
	}
	jobs, err := schedule.OpenSQLite(ctx, filepath.Join(*dir, "jobs.db"), schedule.StoreConfig{Clock: clock})
	if err != nil {
		return err
	}
	defer jobs.Close()
	contacts, err := sqlite.Open(ctx, filepath.Join(*dir, "contacts.db"), sqlite.Config{})
	if err != nil {
		return err
	}
	defer contacts.Close()
	// File jobs name a path under the inbox: file:///contacts.csv.
	reg := connector.DefaultRegistry(connector.RegistryConfig{LocalRoot: inbox})

	job, err := jobs.Create(ctx, schedule.Job{
		Name:    "contacts from the inbox",
		Source:  schedule.SourceSpec{Connector: "file", Path: "contacts.csv", Format: "csv"},
		Spec:    importer.JobSpec{Action: intake.ActionAddAndUpdate, Sync: []string{"email"}},
		Cadence: "every 1m", TimeZone: "UTC", Enabled: true, SkipUnchanged: true,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "job %q: %s, first run %s\n", job.Name, job.Cadence, job.NextRun.Format(time.TimeOnly))

	// The standard runner: opens the job's file through the registry,
	// skips it when its content is unchanged, imports it into contacts.
	runner, err := schedule.ImportRunner(schedule.ImportConfig{Registry: reg, Sink: contacts})
	if err != nil {
		return err
	}
	done := make(chan schedule.Run, *runs+4)
	s, err := schedule.New(schedule.Config{
		Store: jobs, Runner: runner, Clock: clock, PollInterval: time.Second,
		OnFinish: func(_ context.Context, _ schedule.Job, r schedule.Run) {
			fmt.Fprintf(out, "run at %s: %s, rows=%d created=%d updated=%d unchanged=%d rejected=%d %s\n",
				r.Started.Format(time.TimeOnly), r.Status, r.Rows, r.Created, r.Updated, r.Unchanged, r.Rejected, r.Error)
			done <- r
		},
	})
	if err != nil {
		return err
	}
	if err := waitForRuns(ctx, s, fake, done, *runs, file); err != nil {
		return err
	}
	stop, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Stop(stop); err != nil {
		return err
	}
	return printHistory(ctx, jobs, job.ID, out)
}

// writeInbox creates the inbox under dir, the local root of the file
// connector, and in it the file the job imports: two contacts.
func writeInbox(dir string) (inbox, file string, err error) {
	inbox = filepath.Join(dir, "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		return "", "", err
	}
	file = filepath.Join(inbox, "contacts.csv")
	if err := os.WriteFile(file, []byte("email,first_name\nanna@example.com,Anna\nbob@example.com,Bob\n"), 0o644); err != nil {
		return "", "", err
	}
	return inbox, file, nil
}

// waitForRuns waits for runs scheduled runs, changing the file after each
// (addContact). With the fake clock it moves the clock a minute and has
// the scheduler run what is due; else the scheduler runs in the
// background on the system clock.
func waitForRuns(ctx context.Context, s *schedule.Scheduler, fake *scheduletest.Clock, done <-chan schedule.Run, runs int, file string) error {
	if fake == nil {
		if err := s.Start(ctx); err != nil {
			return err
		}
	}
	for i := 1; i <= runs; i++ {
		if fake != nil {
			fake.Advance(time.Minute)
			if _, err := s.Tick(ctx); err != nil {
				return err
			}
			if err := s.Idle(ctx); err != nil {
				return err
			}
		}
		<-done
		if err := addContact(file, i+1); err != nil {
			return err
		}
	}
	return nil
}

// addContact appends a contact to the file before run i when i is even:
// runs 2 and 4 bring a new contact, run 3 finds the file unchanged.
func addContact(file string, i int) error {
	if i%2 == 1 {
		return nil
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "new%d@example.com,New %d\n", i, i)
	return errors.Join(err, f.Close())
}

// printHistory prints the runs of job id, oldest first.
func printHistory(ctx context.Context, jobs schedule.JobStore, id string, out io.Writer) error {
	history, err := jobs.ListRuns(ctx, schedule.RunFilter{JobID: id})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "history:")
	for i := len(history) - 1; i >= 0; i-- {
		r := history[i]
		fmt.Fprintf(out, "  %s  %-8s  %-17s  rows=%d created=%d\n", r.Started.Format(time.TimeOnly), r.Trigger, r.Status, r.Rows, r.Created)
	}
	return nil
}
