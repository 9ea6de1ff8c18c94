package scheduletest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/schedule"
)

// requireStarted requires that c is run started by Claim at the clock's
// time for instance: running, leased until Now+lease.
func (k *storeKit) requireStarted(c schedule.Claimed, instance string) {
	k.t.Helper()
	r := c.Run
	require.Equal(k.t, schedule.StatusRunning, r.Status, "a claimed run is running")
	require.Equal(k.t, instance, r.Instance, "a claimed run is leased to the instance that claimed it")
	k.requireTime(k.clock.Now(), r.Started, "Started of a claimed run")
	k.requireTime(k.clock.Now().Add(lease), r.LeaseUntil, "LeaseUntil of a claimed run")
	require.Equal(k.t, r.JobID, c.Job.ID, "Claimed.Job is the run's job")
	require.Equal(k.t, utcRun(r), utcRun(k.getRun(r.ID)), "the claimed run as stored")
}

// statuses returns the statuses of the runs of the job id, oldest first.
func (k *storeKit) statuses(jobID string) []schedule.RunStatus {
	k.t.Helper()
	runs := k.runs(schedule.RunFilter{JobID: jobID})
	out := make([]schedule.RunStatus, len(runs))
	for i, r := range runs {
		out[len(runs)-1-i] = r.Status
	}
	return out
}

// testClaimDue: a due job becomes a run of trigger schedule with its Due
// time, started at once, and its NextRun moves on; jobs not yet due,
// disabled or without a schedule get no run; a second claim at the same
// time claims nothing.
func testClaimDue(k *storeKit) {
	t := k.t
	due := k.create(job("due"))
	later := job("later")
	later.Cadence = "hourly at :45"
	l := k.create(later)
	off := job("off")
	off.Enabled = false
	o := k.create(off)
	once := k.create(oneOff("once"))
	k.clock.Set(Start.Add(20 * time.Minute))
	cs := k.claim("kit-1", 10)
	require.Len(t, cs, 1, "only the due job is claimed")
	c := cs[0]
	require.Equal(t, due.ID, c.Job.ID)
	require.Equal(t, "due", c.Job.Name)
	require.Equal(t, schedule.TriggerSchedule, c.Run.Trigger)
	k.requireTime(Start.Add(15*time.Minute), c.Run.Due, "Due is the job's NextRun")
	k.requireTime(k.clock.Now(), c.Run.Queued, "Queued of a due run")
	k.requireStarted(c, "kit-1")
	k.requireTime(Start.Add(30*time.Minute), k.get(due.ID).NextRun, "NextRun moves on after the claim")
	k.requireTime(Start.Add(45*time.Minute), k.get(l.ID).NextRun, "NextRun of a job not yet due")
	for _, id := range []string{l.ID, o.ID, once.ID} {
		require.Empty(t, k.runs(schedule.RunFilter{JobID: id}), "a job not due gets no run")
	}
	require.Empty(t, k.claim("kit-1", 10), "a second claim at the same time claims nothing")
	require.Len(t, k.runs(schedule.RunFilter{}), 1)
}

// testClaimLimit: Limit 0 turns due jobs into queued runs and starts none;
// a claim starts at most Limit runs.
func testClaimLimit(k *storeKit) {
	t := k.t
	due := k.create(job("due"))
	var queued []string
	for i := range 3 {
		k.clock.Advance(time.Second)
		queued = append(queued, k.queue(k.create(oneOff(fmt.Sprint("once ", i))).ID).ID)
	}
	k.clock.Set(Start.Add(15 * time.Minute))
	require.Empty(t, k.claim("kit-1", 0), "Limit 0 starts no run")
	require.Equal(t, []schedule.RunStatus{schedule.StatusQueued}, k.statuses(due.ID), "Limit 0 still queues the due job's run")
	for _, id := range queued {
		require.Equal(t, schedule.StatusQueued, k.getRun(id).Status)
	}
	first := k.claim("kit-1", 2)
	require.Len(t, first, 2, "a claim starts Limit runs")
	for _, c := range first {
		k.requireStarted(c, "kit-1")
	}
	second := k.claim("kit-2", 5)
	require.Len(t, second, 2, "the next claim starts the other two")
	for _, c := range second {
		k.requireStarted(c, "kit-2")
	}
	started := append(claimedIDs(first), claimedIDs(second)...)
	slices.Sort(started)
	require.Len(t, slices.Compact(started), 4, "each run starts once")
}

// testClaimOneRunPerJob: queued runs of a job start one after another, in
// the order they were queued.
func testClaimOneRunPerJob(k *storeKit) {
	t := k.t
	j := k.create(oneOff("uploads"))
	r1 := k.queue(j.ID)
	k.clock.Advance(time.Second)
	r2 := k.queue(j.ID)
	k.clock.Advance(time.Second)
	r3 := k.queue(j.ID)
	cs := k.claim("kit-1", 5)
	require.Equal(t, []string{r1.ID}, claimedIDs(cs), "one run of a job at a time, the first queued first")
	require.Empty(t, k.claim("kit-1", 5), "no second run while the job's run runs")
	k.finish(cs[0].Run, schedule.StatusSucceeded, "")
	require.Equal(t, []string{r2.ID}, claimedIDs(k.claim("kit-1", 5)), "the next queued run starts once the first finished")
	require.Equal(t, schedule.StatusQueued, k.getRun(r3.ID).Status)
}

// testClaimTarget: runs of jobs with one Target start one after another,
// in the order they were queued, beside runs of other targets and of jobs
// without one.
func testClaimTarget(k *storeKit) {
	t := k.t
	with := func(name, target string) schedule.Job {
		j := oneOff(name)
		j.Target = target
		return k.create(j)
	}
	a, b, c, d := with("a", "crm"), with("b", "crm"), with("c", ""), with("d", "erp")
	var runs []schedule.Run
	for _, j := range []schedule.Job{b, a, c, d} {
		k.clock.Advance(time.Second)
		runs = append(runs, k.queue(j.ID))
	}
	cs := k.claim("kit-1", 10)
	got := claimedIDs(cs)
	slices.Sort(got)
	want := []string{runs[0].ID, runs[2].ID, runs[3].ID}
	slices.Sort(want)
	require.Equal(t, want, got, "b's run (queued first of target crm), c's and d's start; a's waits for b's")
	require.Equal(t, schedule.StatusQueued, k.getRun(runs[1].ID).Status)
	require.Empty(t, k.claim("kit-1", 10), "a's run waits while b's runs")
	for _, c := range cs {
		if c.Run.ID == runs[0].ID {
			k.finish(c.Run, schedule.StatusSucceeded, "")
		}
	}
	require.Equal(t, []string{runs[1].ID}, claimedIDs(k.claim("kit-1", 10)), "a's run starts once b's finished")
}

// testClaimPastBusyTarget: a run that may start starts, however many runs
// queued before it wait for their Target.
func testClaimPastBusyTarget(k *storeKit) {
	t := k.t
	busy := oneOff("busy")
	busy.Target = "crm"
	b := k.create(busy)
	k.queue(b.ID)
	require.Len(t, k.claim("kit-1", 1), 1)
	for i := range 40 {
		j := oneOff(fmt.Sprintf("upload %02d", i))
		j.Target = "crm"
		k.clock.Advance(time.Second)
		k.queue(k.create(j).ID)
	}
	k.clock.Advance(time.Second)
	free := k.queue(k.create(oneOff("free")).ID)
	require.Equal(t, []string{free.ID}, claimedIDs(k.claim("kit-1", 1)),
		"the free job's run starts though 40 runs of the busy target were queued before it")
}

// testOverlap: a job due while its run still runs records a
// skipped_overlap run under OverlapSkip; under OverlapQueue one run waits,
// and starts when the running one finished.
func testOverlap(k *storeKit) {
	t := k.t
	skip := k.create(job("skip"))
	q := job("queue")
	q.Overlap = schedule.OverlapQueue
	queue := k.create(q)
	k.clock.Set(Start.Add(15 * time.Minute))
	cs := k.claim("kit-1", 10)
	require.Len(t, cs, 2)
	running := map[string]schedule.Run{}
	for _, c := range cs {
		running[c.Job.ID] = c.Run
	}
	k.clock.Set(Start.Add(30 * time.Minute))
	require.Empty(t, k.claim("kit-1", 10), "no run starts while the jobs' runs run")
	skipped := k.runs(schedule.RunFilter{JobID: skip.ID, Status: []schedule.RunStatus{schedule.StatusSkippedOverlap}})
	require.Len(t, skipped, 1, "OverlapSkip records the due run as skipped_overlap")
	require.Equal(t, schedule.TriggerSchedule, skipped[0].Trigger)
	k.requireTime(Start.Add(30*time.Minute), skipped[0].Due, "Due of the skipped run")
	waiting := k.runs(schedule.RunFilter{JobID: queue.ID, Status: []schedule.RunStatus{schedule.StatusQueued}})
	require.Len(t, waiting, 1, "OverlapQueue queues the due run")
	k.requireTime(Start.Add(30*time.Minute), waiting[0].Due, "Due of the waiting run")
	k.requireTime(Start.Add(45*time.Minute), k.get(queue.ID).NextRun, "NextRun moves on")
	k.requireTime(Start.Add(45*time.Minute), k.get(skip.ID).NextRun, "NextRun moves on")

	k.clock.Set(Start.Add(45 * time.Minute))
	require.Empty(t, k.claim("kit-1", 10))
	require.Len(t, k.runs(schedule.RunFilter{JobID: skip.ID, Status: []schedule.RunStatus{schedule.StatusSkippedOverlap}}), 2)
	require.Len(t, k.runs(schedule.RunFilter{JobID: queue.ID, Status: []schedule.RunStatus{schedule.StatusQueued}}), 1,
		"at most one run waits under OverlapQueue")
	k.finish(running[queue.ID], schedule.StatusSucceeded, "")
	cs = k.claim("kit-1", 10)
	require.Equal(t, []string{waiting[0].ID}, claimedIDs(cs), "the waiting run starts when the running one finished")
}

// testMissed: a job whose due time lies further back than MissedAfter
// gets one run however many times it fell due (MissedRunOnce), or a
// skipped_missed record and no run (MissedSkip); both wait for their next
// time.
func testMissed(k *storeKit) {
	t := k.t
	once := k.create(job("run once"))
	s := job("skip")
	s.Missed = schedule.MissedSkip
	skip := k.create(s)
	k.clock.Set(Start.Add(2 * time.Hour)) // 8 runs of each fell due
	claim := func() {
		t.Helper()
		_, err := k.s.Claim(k.ctx, schedule.ClaimRequest{Now: k.clock.Now(), Instance: "kit-1", Lease: lease, MissedAfter: 5 * time.Minute})
		require.NoError(t, err)
	}
	claim()
	runs := k.runs(schedule.RunFilter{JobID: once.ID})
	require.Len(t, runs, 1, "MissedRunOnce: one run however many fell due")
	require.Equal(t, schedule.StatusQueued, runs[0].Status)
	k.requireTime(Start.Add(15*time.Minute), runs[0].Due, "Due of the missed run")
	runs = k.runs(schedule.RunFilter{JobID: skip.ID})
	require.NotEmpty(t, runs, "MissedSkip records the missed runs")
	for _, r := range runs {
		require.Equal(t, schedule.StatusSkippedMissed, r.Status, "MissedSkip: no run, a skipped_missed record")
	}
	for _, j := range []schedule.Job{once, skip} {
		k.requireTime(Start.Add(2*time.Hour+15*time.Minute), k.get(j.ID).NextRun, "%s: NextRun after the missed runs", j.Name)
	}
	n := len(k.runs(schedule.RunFilter{}))
	claim()
	require.Len(t, k.runs(schedule.RunFilter{}), n, "a second claim at the same time records nothing")
}

// testClaimScan: Scan caps the due jobs that one claim turns into runs;
// the next claim takes the others.
func testClaimScan(k *storeKit) {
	t := k.t
	k.create(job("a"))
	k.create(job("b"))
	k.clock.Set(Start.Add(15 * time.Minute))
	claim := func() {
		t.Helper()
		_, err := k.s.Claim(k.ctx, schedule.ClaimRequest{Now: k.clock.Now(), Instance: "kit-1", Lease: lease, Scan: 1})
		require.NoError(t, err)
	}
	claim()
	require.Len(t, k.runs(schedule.RunFilter{}), 1, "a claim with Scan 1 handles one due job")
	claim()
	require.Len(t, k.runs(schedule.RunFilter{}), 2, "the next claim handles the other")
	claim()
	require.Len(t, k.runs(schedule.RunFilter{}), 2, "nothing is due any more")
}

// testPreviousFingerprint: a claimed run carries the Fingerprint of the
// job's last successful run (succeeded or partially succeeded) of its own
// source; failed runs and upload runs (Input) do not count.
func testPreviousFingerprint(k *storeKit) {
	t := k.t
	j := k.create(oneOff("j"))
	step := func(run schedule.Run, wantPrev string, status schedule.RunStatus, fp string) {
		t.Helper()
		k.clock.Advance(time.Minute)
		cs := k.claim("kit-1", 1)
		require.Equal(t, []string{run.ID}, claimedIDs(cs))
		require.Equal(t, wantPrev, cs[0].Run.PreviousFingerprint)
		k.finish(cs[0].Run, status, fp)
	}
	step(k.queue(j.ID), "", schedule.StatusSucceeded, "fp1")
	step(k.queue(j.ID), "fp1", schedule.StatusFailed, "fp2")
	step(k.queue(j.ID), "fp1", schedule.StatusPartiallySucceeded, "fp3")
	upload, err := k.s.CreateRun(k.ctx, schedule.Run{JobID: j.ID, Trigger: schedule.TriggerUpload, Input: "uploads/1.csv"})
	require.NoError(t, err)
	step(upload, "fp3", schedule.StatusSucceeded, "fp-upload")
	step(k.queue(j.ID), "fp3", schedule.StatusSucceeded, "")
}

// testConcurrentClaims: goroutines that claim at once, each for an
// instance of its own, turn each due job into one run and start each run
// once.
func testConcurrentClaims(k *storeKit) {
	t := k.t
	var jobs []string
	for i := range 8 {
		jobs = append(jobs, k.create(job(fmt.Sprint("due ", i))).ID)
		j := k.create(oneOff(fmt.Sprint("queued ", i)))
		k.queue(j.ID)
		jobs = append(jobs, j.ID)
	}
	k.clock.Set(Start.Add(15 * time.Minute))
	const claimers = 4
	claimed := make([][]schedule.Claimed, claimers+1)
	errs := make([]error, claimers)
	var wg sync.WaitGroup
	for i := range claimers {
		wg.Go(func() {
			claimed[i], errs[i] = k.s.Claim(k.ctx, schedule.ClaimRequest{Now: k.clock.Now(), Instance: fmt.Sprint("kit-", i), Lease: lease, Limit: 16})
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "Claim of kit-%d", i)
	}
	claimed[claimers] = k.claim(fmt.Sprint("kit-", claimers), 16) // what the concurrent claims left
	byRun := map[string]string{}
	for i, cs := range claimed {
		for _, c := range cs {
			require.NotContains(t, byRun, c.Run.ID, "run %s started twice", c.Run.ID)
			byRun[c.Run.ID] = fmt.Sprint("kit-", i)
		}
	}
	require.Len(t, byRun, len(jobs), "every run started")
	for _, id := range jobs {
		runs := k.runs(schedule.RunFilter{JobID: id})
		require.Len(t, runs, 1, "job %s: one run", id)
		require.Equal(t, schedule.StatusRunning, runs[0].Status)
		require.Equal(t, byRun[runs[0].ID], runs[0].Instance, "the run is leased to the instance whose claim returned it")
	}
}
