package scheduletest

import (
	"errors"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/schedule"
)

// requireLeaseLost requires an error wrapping schedule.ErrLeaseLost.
func (k *storeKit) requireLeaseLost(err error, call string) {
	k.t.Helper()
	if !errors.Is(err, schedule.ErrLeaseLost) {
		k.t.Fatalf("%s: %v, want an error wrapping schedule.ErrLeaseLost", call, err)
	}
}

// started queues a run of a new one-off job and claims it for kit-1.
func (k *storeKit) started(name string, edit func(j *schedule.Job)) (schedule.Job, schedule.Run) {
	k.t.Helper()
	in := oneOff(name)
	if edit != nil {
		edit(&in)
	}
	j := k.create(in)
	r := k.queue(j.ID)
	cs := k.claim("kit-1", 1)
	require.Equal(k.t, []string{r.ID}, claimedIDs(cs))
	return j, cs[0].Run
}

// testHeartbeat: Heartbeat renews the lease of a running run and stores
// its live counts; it fails with ErrLeaseLost, storing nothing, for a run
// not leased to the instance, a queued run and a finished one.
func testHeartbeat(k *storeKit) {
	t := k.t
	j, run := k.started("j", nil)
	k.clock.Advance(30 * time.Second)
	run.Rows, run.Created, run.RowsPerSecond, run.BytesRead, run.BytesTotal = 10, 4, 2.5, 100, 1000
	until := k.clock.Now().Add(lease)
	require.NoError(t, k.s.Heartbeat(k.ctx, run, until))
	got := k.getRun(run.ID)
	k.requireTime(until, got.LeaseUntil, "LeaseUntil after Heartbeat")
	require.Equal(t, schedule.StatusRunning, got.Status)
	require.Equal(t, []int64{10, 4, 100, 1000}, []int64{got.Rows, got.Created, got.BytesRead, got.BytesTotal}, "GetRun shows the live counts")
	require.InDelta(t, 2.5, got.RowsPerSecond, 1e-9)

	other := run
	other.Instance, other.Rows = "kit-2", 99
	k.requireLeaseLost(k.s.Heartbeat(k.ctx, other, until.Add(time.Hour)), "Heartbeat by another instance")
	require.Equal(t, utcRun(got), utcRun(k.getRun(run.ID)), "a lost heartbeat stores nothing")

	queued := k.queue(j.ID)
	queued.Instance = "kit-1"
	k.requireLeaseLost(k.s.Heartbeat(k.ctx, queued, until), "Heartbeat of a queued run")
	require.Equal(t, schedule.StatusQueued, k.getRun(queued.ID).Status)

	k.finish(run, schedule.StatusSucceeded, "")
	k.requireLeaseLost(k.s.Heartbeat(k.ctx, run, until.Add(time.Hour)), "Heartbeat of a finished run")
	require.Equal(t, schedule.StatusSucceeded, k.getRun(run.ID).Status)
}

// testFinish: Finish stores the run's final state and frees its job for
// the next run; it fails with ErrLeaseLost, storing nothing, for a run not
// leased to the instance or already finished.
func testFinish(k *storeKit) {
	t := k.t
	j, run := k.started("j", nil)
	next := k.queue(j.ID)
	k.clock.Advance(time.Minute)
	final := run
	final.Status, final.Finished, final.Rows, final.Created, final.Rejected = schedule.StatusPartiallySucceeded, k.clock.Now(), 7, 5, 2
	final.Error, final.Fingerprint, final.RejectsRef = "2 rows rejected", "fp", "rejects/1.csv"

	other := final
	other.Instance = "kit-2"
	k.requireLeaseLost(k.s.Finish(k.ctx, other), "Finish by another instance")
	require.Equal(t, utcRun(run), utcRun(k.getRun(run.ID)), "a lost Finish stores nothing")
	require.Empty(t, k.claim("kit-1", 5), "the job's run still runs")

	require.NoError(t, k.s.Finish(k.ctx, final))
	require.Equal(t, utcRun(final), utcRun(k.getRun(run.ID)), "GetRun returns the final state")
	require.Equal(t, []string{next.ID}, claimedIDs(k.claim("kit-1", 5)), "Finish frees the job for its next run")

	again := final
	again.Status = schedule.StatusFailed
	k.requireLeaseLost(k.s.Finish(k.ctx, again), "a second Finish")
	require.Equal(t, schedule.StatusPartiallySucceeded, k.getRun(run.ID).Status)
}

// testReap: Reap marks the runs whose lease expired before now as failed,
// returns them and frees their jobs; a run whose lease holds is left
// alone, and a job without RetryAbandoned gets no retry.
func testReap(k *storeKit) {
	t := k.t
	j, run := k.started("j", nil) // leased until Start+lease
	_, holds := k.started("other", nil)
	k.clock.Advance(lease / 2)
	require.NoError(t, k.s.Heartbeat(k.ctx, holds, k.clock.Now().Add(2*lease)))
	reaped, err := k.s.Reap(k.ctx, k.clock.Now())
	require.NoError(t, err)
	require.Empty(t, reaped, "no lease expired yet")

	k.clock.Advance(lease)
	reaped, err = k.s.Reap(k.ctx, k.clock.Now())
	require.NoError(t, err)
	require.Equal(t, []string{run.ID}, ids(reaped), "Reap returns the run whose lease expired, not the renewed one")
	got := k.getRun(run.ID)
	require.Equal(t, utcRun(reaped[0]), utcRun(got), "the reaped run as stored")
	require.Equal(t, schedule.StatusFailed, got.Status)
	k.requireTime(k.clock.Now(), got.Finished, "Finished of a reaped run")
	require.NotEmpty(t, got.Error, "a reaped run says why it failed")
	require.Equal(t, schedule.StatusRunning, k.getRun(holds.ID).Status)
	require.Empty(t, k.runs(schedule.RunFilter{JobID: j.ID, Status: []schedule.RunStatus{schedule.StatusQueued}}), "RetryAbandoned 0: no retry")

	k.requireLeaseLost(k.s.Heartbeat(k.ctx, run, k.clock.Now().Add(lease)), "Heartbeat of a reaped run")
	k.requireLeaseLost(k.s.Finish(k.ctx, run), "Finish of a reaped run")
	next := k.queue(j.ID)
	require.Equal(t, []string{next.ID}, claimedIDs(k.claim("kit-1", 5)), "Reap frees the job")
	reaped, err = k.s.Reap(k.ctx, k.clock.Now())
	require.NoError(t, err)
	require.Empty(t, reaped, "a run is reaped once")
}

// testReapRetries: Reap queues a retry of an abandoned run while its
// attempt is within the job's RetryAbandoned: the same trigger, actor and
// input, the next attempt.
func testReapRetries(k *storeKit) {
	t := k.t
	j := oneOff("j")
	j.RetryAbandoned = 1
	job := k.create(j)
	r, err := k.s.CreateRun(k.ctx, schedule.Run{JobID: job.ID, Trigger: schedule.TriggerUpload, Actor: "ana", Input: "uploads/1.csv"})
	require.NoError(t, err)
	cs := k.claim("kit-1", 1)
	require.Equal(t, []string{r.ID}, claimedIDs(cs))
	k.clock.Advance(2 * lease)
	_, err = k.s.Reap(k.ctx, k.clock.Now())
	require.NoError(t, err)
	retries := k.runs(schedule.RunFilter{JobID: job.ID, Status: []schedule.RunStatus{schedule.StatusQueued}})
	require.Len(t, retries, 1, "RetryAbandoned 1: one retry")
	retry := retries[0]
	require.NotEqual(t, r.ID, retry.ID)
	require.Equal(t, 2, retry.Attempt, "the retry is attempt 2")
	require.Equal(t, []string{"upload", "ana", "uploads/1.csv"}, []string{string(retry.Trigger), retry.Actor, retry.Input}, "the retry's trigger, actor and input")

	require.Equal(t, []string{retry.ID}, claimedIDs(k.claim("kit-1", 1)))
	k.clock.Advance(2 * lease)
	reaped, err := k.s.Reap(k.ctx, k.clock.Now())
	require.NoError(t, err)
	require.Equal(t, []string{retry.ID}, ids(reaped))
	require.Empty(t, k.runs(schedule.RunFilter{JobID: job.ID, Status: []schedule.RunStatus{schedule.StatusQueued}}), "no retry beyond RetryAbandoned")
}
