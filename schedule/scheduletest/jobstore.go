package scheduletest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/schedule"
)

// Start is the time of the fake clock that [TestJobStore] gives each
// store it opens: a Monday, 06:00 UTC (07:00 in Berlin).
var Start = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

// TestJobStore checks the stores that open returns against the
// [schedule.JobStore] contract, each method as its documentation states
// it. Each check is a parallel subtest of t with a fresh, empty store that
// open makes for it; clock is a fake [Clock] set to [Start], which the
// store must use for the times it sets (schedule.StoreConfig.Clock) and
// which the kit moves on. open should register the store's cleanup (Close,
// dropping its tables) with t.Cleanup.
//
// What it checks:
//
//   - jobs: Create assigns the ID, Created, Updated and NextRun (from the
//     job's schedule at the clock's time; none for a disabled job) and
//     queues a run when RunOnSave is set; every field round-trips through
//     Get; List filters and sorts by name; Update keeps Created and
//     recomputes NextRun at once; Delete takes the job's runs along;
//     Duplicate makes a disabled copy; SetEnabled; an invalid job is
//     refused by Create and Update with an *[schedule.InvalidJobError]
//     naming every problem's JSON path; an unknown id is
//     [schedule.ErrNotFound];
//   - runs: CreateRun's defaults, every field round-tripping through
//     GetRun and UpdateRun, ListRuns newest first with each filter, its
//     default limit of 100;
//   - claims: due jobs become runs with their Due time and move NextRun
//     on, disabled and future ones do not; runs start leased to the
//     instance until Now+Lease, at most Limit of them, oldest first, one
//     at a time per job and per Target; the overlap and missed-run
//     policies; Scan; the last successful run's fingerprint; several
//     goroutines claiming at once start each run once;
//   - leases: Heartbeat renews a lease and stores the live counts, Finish
//     stores the final state and frees the job, both fail with
//     [schedule.ErrLeaseLost] for a run no longer leased to the instance;
//     Reap fails expired runs and queues the retries RetryAbandoned
//     allows;
//   - FieldUsers: the recurring jobs that name a field in their mapping,
//     sync fields or identity rules.
//
// Close is not checked: what a store opened itself is its own to release.
func TestJobStore(t *testing.T, open func(t *testing.T, clock schedule.Clock) schedule.JobStore) {
	t.Helper()
	for _, tc := range storeTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(Start)
			s := open(t, clock)
			require.NotNil(t, s, "open returned a nil store")
			tc.run(&storeKit{t: t, ctx: t.Context(), s: s, clock: clock})
		})
	}
}

var storeTests = []struct {
	name string
	run  func(k *storeKit)
}{
	{"Create", testCreate},
	{"CreateRunOnSave", testCreateRunOnSave},
	{"NextRun", testNextRun},
	{"InvalidJob", testInvalidJob},
	{"GetRoundTrip", testGetRoundTrip},
	{"List", testList},
	{"Update", testUpdate},
	{"Delete", testDelete},
	{"Duplicate", testDuplicate},
	{"SetEnabled", testSetEnabled},
	{"NotFound", testNotFound},
	{"CreateRun", testCreateRun},
	{"UpdateRun", testUpdateRun},
	{"ListRuns", testListRuns},
	{"ListRunsLimit", testListRunsLimit},
	{"ClaimDue", testClaimDue},
	{"ClaimLimit", testClaimLimit},
	{"ClaimOneRunPerJob", testClaimOneRunPerJob},
	{"ClaimTarget", testClaimTarget},
	{"ClaimPastBusyTarget", testClaimPastBusyTarget},
	{"Overlap", testOverlap},
	{"Missed", testMissed},
	{"ClaimScan", testClaimScan},
	{"PreviousFingerprint", testPreviousFingerprint},
	{"ConcurrentClaims", testConcurrentClaims},
	{"Heartbeat", testHeartbeat},
	{"Finish", testFinish},
	{"Reap", testReap},
	{"ReapRetries", testReapRetries},
	{"FieldUsers", testFieldUsers},
}

// storeKit is the state of one check: its store and fake clock.
type storeKit struct {
	t     *testing.T
	ctx   context.Context
	s     schedule.JobStore
	clock *Clock
}

// lease is the lease of the kit's claims.
const lease = time.Minute

// job returns a valid job named name that runs every 15 minutes.
func job(name string) schedule.Job {
	return schedule.Job{
		Name:    name,
		Source:  schedule.SourceSpec{Connector: "file", Path: "in/" + name + ".csv", Format: "csv"},
		Spec:    importer.JobSpec{Action: "add_and_update", Sync: []string{"email"}},
		Cadence: "every 15m",
		Enabled: true,
	}
}

// oneOff returns a valid job named name without a schedule.
func oneOff(name string) schedule.Job {
	j := job(name)
	j.Cadence = ""
	return j
}

// fullJob returns a job with every field set.
func fullJob(name string) schedule.Job {
	return schedule.Job{
		Name:        name,
		Description: "the nightly contacts of the shop",
		Source: schedule.SourceSpec{Connector: "sftp", Path: "/out/contacts.csv", Format: "csv",
			Options: map[string]string{"host": "sftp.example.com"}},
		Target: "crm",
		Spec: importer.JobSpec{
			Version: importer.JobSpecVersion,
			Mapping: &mapping.Spec{Columns: []mapping.Column{
				{Source: "E-Mail", Field: "email"}, {Source: "Tier", Field: "loyalty_tier"}, {Source: "Notes", Field: "notes", Skip: true}}},
			Action: "add_and_update",
			Sync:   []string{"email"},
			Lists:  []string{"newsletter"},
			Tags:   []string{"shop"},
		},
		Cadence:        "daily at 09:00",
		TimeZone:       "Europe/Berlin",
		RunOnceAt:      Start.Add(48 * time.Hour),
		Enabled:        true,
		SkipUnchanged:  true,
		Overlap:        schedule.OverlapQueue,
		Missed:         schedule.MissedSkip,
		RetryAbandoned: 2,
		Options:        map[string]string{"owner": "ops"},
	}
}

// create creates j and requires success.
func (k *storeKit) create(j schedule.Job) schedule.Job {
	k.t.Helper()
	got, err := k.s.Create(k.ctx, j)
	require.NoError(k.t, err, "Create(%q)", j.Name)
	return got
}

// get reads the job id and requires success.
func (k *storeKit) get(id string) schedule.Job {
	k.t.Helper()
	j, err := k.s.Get(k.ctx, id)
	require.NoError(k.t, err, "Get(%s)", id)
	return j
}

// getRun reads the run id and requires success.
func (k *storeKit) getRun(id string) schedule.Run {
	k.t.Helper()
	r, err := k.s.GetRun(k.ctx, id)
	require.NoError(k.t, err, "GetRun(%s)", id)
	return r
}

// runs lists the runs that f selects and requires success.
func (k *storeKit) runs(f schedule.RunFilter) []schedule.Run {
	k.t.Helper()
	rs, err := k.s.ListRuns(k.ctx, f)
	require.NoError(k.t, err, "ListRuns(%+v)", f)
	return rs
}

// queue records a queued manual run of the job id at the clock's time.
func (k *storeKit) queue(jobID string) schedule.Run {
	k.t.Helper()
	r, err := k.s.CreateRun(k.ctx, schedule.Run{JobID: jobID, Trigger: schedule.TriggerManual, Queued: k.clock.Now()})
	require.NoError(k.t, err, "CreateRun(job %s)", jobID)
	return r
}

// claim claims at the clock's time for instance, starting up to limit
// runs, and requires success.
func (k *storeKit) claim(instance string, limit int) []schedule.Claimed {
	k.t.Helper()
	cs, err := k.s.Claim(k.ctx, schedule.ClaimRequest{Now: k.clock.Now(), Instance: instance, Lease: lease, Limit: limit})
	require.NoError(k.t, err, "Claim")
	return cs
}

// finish finishes run with status at the clock's time and requires
// success.
func (k *storeKit) finish(run schedule.Run, status schedule.RunStatus, fingerprint string) schedule.Run {
	k.t.Helper()
	run.Status, run.Finished, run.Fingerprint = status, k.clock.Now(), fingerprint
	require.NoError(k.t, k.s.Finish(k.ctx, run), "Finish(%s)", run.ID)
	return run
}

// requireTime requires that got is the instant want.
func (k *storeKit) requireTime(want, got time.Time, format string, args ...any) {
	k.t.Helper()
	if !want.Equal(got) {
		k.t.Fatalf("%s: %s, want %s", fmt.Sprintf(format, args...), got, want)
	}
}

// requireNotFound requires an error wrapping schedule.ErrNotFound.
func (k *storeKit) requireNotFound(err error, call string) {
	k.t.Helper()
	if !errors.Is(err, schedule.ErrNotFound) {
		k.t.Fatalf("%s: %v, want an error wrapping schedule.ErrNotFound", call, err)
	}
}

// ids returns the ids of runs.
func ids(runs []schedule.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

// claimedIDs returns the ids of the claimed runs.
func claimedIDs(cs []schedule.Claimed) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Run.ID
	}
	return out
}
