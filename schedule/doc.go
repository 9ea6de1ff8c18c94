// Package schedule runs saved import jobs over time: cadences, a job store
// with run history, and a scheduler that runs each due job exactly once even
// when several instances of the host share one PostgreSQL database.
//
// # Cadences
//
// [ParseCadence] turns a cadence into a [Schedule], a one-method interface
// (Next) any cron library can implement:
//
//	every 15m · every 2h · hourly at :05 · daily at 09:00 · workdays at 09:00 ·
//	weekly on mon at 09:00 · monthly on 31 at 08:00 · cron 0 9 * * 1-5 · once at 2026-12-01T09:00
//
// A cadence is evaluated in the job's IANA time zone and names wall times,
// whatever its kind (every Nm and hourly included): wall times a
// spring-forward jump skips run at the first instant after the jump (once,
// however many of them were skipped); wall times a fall-back repeats run
// once, at the first occurrence. So across a transition the interval
// between runs of "every 15m" is not always 15 minutes.
//
// # Jobs and runs
//
// A [Job] is a saved import: where it reads from, the import it runs (its
// Spec, an importer.JobSpec: the same definition a Go call, the CLI and
// the Acoustic facade of package schedule/acoustic run), its schedule and
// policies. [JobStore.Create]
// and [JobStore.Update] refuse an invalid job with every problem and its
// JSON path ([InvalidJobError]); jobs saved with their import settings at
// the top level (object, mapping, action, sync, allow_new_records) are
// read with them in their Spec. Every execution is a [Run] record with its trigger, status,
// report counts, error summary, source fingerprint and the places where the
// archived source and the rejected rows are kept. A [JobStore] keeps both;
// [OpenSQLite] is the default, [NewPostgres] the one for several replicas.
//
// A run records whether it can be undone (Run.Undoable, Run.UndoReason);
// [ImportConfig.UndoStatus] asks the job's store where it stands now (the
// retention may have dropped its log), and [ImportConfig.Undo] reverts it
// (importer.Importer.Undo) and records the undo as a run of the same job
// (Trigger undo, Run.Undoes, its counts); the run undone then names it in
// Run.UndoneBy.
//
// # Scheduler
//
// A [Scheduler] claims due jobs from the store, runs them through the host's
// [Runner] with a bounded concurrency, records each run, and keeps a lease
// on it while it runs. See [Config] for the policies. [ImportRunner] is the
// standard Runner: it opens the job's file through a connector.Registry,
// with the schemes and formats the host registered on it (http and https
// with package connector/httpconn, sftp with connector/sftp, XLSX with
// connector/xlsx), or runs its SQL query (package connector/sqlsource),
// runs all of its Spec, skips a file whose content is
// unchanged when the job says so, keeps the fetched file in a
// connector.Archive and the rejected rows in a file.
//
// While a run goes on, its record in the store shows its progress: the
// counts so far, rows per second and the source bytes read of its size,
// which ImportRunner takes from the importer's events (importer.Config.Events,
// through [RunHandle.Event]) and the scheduler stores at most every
// Config.ProgressEvery (default 1s) and with each renewal of the run's
// lease, so that another process polling the store sees it.
//
// # Queues and triggers
//
// [Scheduler.RunNow] and [Scheduler.Enqueue] queue runs (manual, API,
// uploaded files) in the store: queued runs of a job run one after
// another, in order, and survive a restart. The schedule is not moved.
//
// # Permissions, trigger API and notifications
//
// [Guard] puts job operations behind an [Authorizer] the host supplies
// (create_job, run_job, delete_records, …); a nil Authorizer denies all.
// [NewHandler] is an http.Handler to trigger runs and poll their status,
// deny-by-default. Config.OnFinish is the completion hook; [Webhook]
// delivers HMAC-SHA256-signed notices with bounded retries.
//
// # Several replicas
//
// With the PostgreSQL store, claiming a due job is one transaction that
// selects it with FOR UPDATE SKIP LOCKED, records the run and moves the job's
// next run time on: the database guarantees that each due run is claimed by
// exactly one instance. A running run renews its lease; a run whose lease
// expired (its instance died) is marked failed by whichever instance sees it.
package schedule
