package scheduletest

import (
	"time"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/schedule"
)

// utcRun returns r with its times in UTC, so that two runs at the same
// instants compare equal.
func utcRun(r schedule.Run) schedule.Run {
	r.Due, r.Queued, r.Started, r.Finished, r.LeaseUntil = r.Due.UTC(), r.Queued.UTC(), r.Started.UTC(), r.Finished.UTC(), r.LeaseUntil.UTC()
	return r
}

// fullRun returns a run of the job id with every field set but ID.
func fullRun(jobID string) schedule.Run {
	return schedule.Run{
		JobID: jobID, Trigger: schedule.TriggerAPI, Actor: "ana", Due: Start.Add(-time.Minute),
		Queued: Start.Add(5 * time.Minute), Started: Start.Add(6 * time.Minute), Finished: Start.Add(9 * time.Minute),
		Status: schedule.StatusPartiallySucceeded,
		Rows:   120, Created: 50, Updated: 40, Unchanged: 20, Skipped: 4, OptedOut: 3, Rejected: 3,
		RowsPerSecond: 12.5, BytesRead: 4096, BytesTotal: 4096,
		Error: "3 rows rejected", Fingerprint: "sha256:abc", PreviousFingerprint: "sha256:def",
		SourceRef: "archive/1.csv", RejectsRef: "rejects/1.csv", Input: "uploads/1.csv",
		Attempt: 2, Instance: "kit-1", LeaseUntil: Start.Add(10 * time.Minute),
	}
}

// testCreateRun: CreateRun assigns an ID and, when unset, status queued,
// Queued the clock's time and trigger manual; it keeps what the run sets,
// and every field comes back from GetRun.
func testCreateRun(k *storeKit) {
	t := k.t
	j := k.create(oneOff("j"))
	k.clock.Advance(time.Minute)
	r, err := k.s.CreateRun(k.ctx, schedule.Run{JobID: j.ID})
	require.NoError(t, err)
	require.NotEmpty(t, r.ID, "CreateRun assigns an ID")
	require.Equal(t, schedule.StatusQueued, r.Status, "a run is queued by default")
	require.Equal(t, schedule.TriggerManual, r.Trigger, "a run is manual by default")
	k.requireTime(k.clock.Now(), r.Queued, "Queued of a run recorded at %s", k.clock.Now())
	require.Equal(t, utcRun(r), utcRun(k.getRun(r.ID)), "GetRun returns the run CreateRun returned")

	full := fullRun(j.ID)
	f, err := k.s.CreateRun(k.ctx, full)
	require.NoError(t, err)
	require.NotEqual(t, r.ID, f.ID, "two runs, two IDs")
	full.ID = f.ID
	require.Equal(t, utcRun(full), utcRun(f), "CreateRun keeps the fields the run sets")
	require.Equal(t, utcRun(full), utcRun(k.getRun(f.ID)), "every field comes back from GetRun")
}

// testUpdateRun: UpdateRun stores every field of a run: GetRun returns
// them and ListRuns filters on them.
func testUpdateRun(k *storeKit) {
	t := k.t
	j := k.create(oneOff("j"))
	r := k.queue(j.ID)
	full := fullRun(j.ID)
	full.ID = r.ID
	require.NoError(t, k.s.UpdateRun(k.ctx, full))
	require.Equal(t, utcRun(full), utcRun(k.getRun(r.ID)), "every field comes back from GetRun")
	one, none := []string{r.ID}, []string(nil)
	for _, tc := range []struct {
		f    schedule.RunFilter
		want []string
	}{
		{schedule.RunFilter{Status: []schedule.RunStatus{schedule.StatusPartiallySucceeded}}, one},
		{schedule.RunFilter{Status: []schedule.RunStatus{schedule.StatusQueued}}, none},
		{schedule.RunFilter{Trigger: schedule.TriggerAPI}, one},
		{schedule.RunFilter{Trigger: schedule.TriggerManual}, none},
		{schedule.RunFilter{Since: full.Queued}, one},
		{schedule.RunFilter{Until: full.Queued}, none},
	} {
		got := ids(k.runs(tc.f))
		if len(tc.want) == 0 {
			require.Empty(t, got, "ListRuns(%+v) after the update", tc.f)
			continue
		}
		require.Equal(t, tc.want, got, "ListRuns(%+v) after the update", tc.f)
	}
}

// testListRuns: ListRuns returns the runs that match every field of the
// filter, newest first; Since ≤ Queued < Until.
func testListRuns(k *storeKit) {
	t := k.t
	a, b := k.create(oneOff("a")), k.create(oneOff("b"))
	record := func(jobID string, tr schedule.Trigger) schedule.Run {
		t.Helper()
		k.clock.Advance(time.Minute)
		r, err := k.s.CreateRun(k.ctx, schedule.Run{JobID: jobID, Trigger: tr})
		require.NoError(t, err)
		return r
	}
	r1 := record(a.ID, schedule.TriggerManual) // 06:01
	r2 := record(a.ID, schedule.TriggerAPI)    // 06:02
	r3 := record(b.ID, schedule.TriggerManual) // 06:03
	r4 := record(a.ID, schedule.TriggerUpload) // 06:04
	r1.Status, r2.Status = schedule.StatusSucceeded, schedule.StatusFailed
	require.NoError(t, k.s.UpdateRun(k.ctx, r1))
	require.NoError(t, k.s.UpdateRun(k.ctx, r2))
	at := func(m int) time.Time { return Start.Add(time.Duration(m) * time.Minute) }
	for _, tc := range []struct {
		f    schedule.RunFilter
		want []schedule.Run
	}{
		{schedule.RunFilter{}, []schedule.Run{r4, r3, r2, r1}},
		{schedule.RunFilter{JobID: a.ID}, []schedule.Run{r4, r2, r1}},
		{schedule.RunFilter{Status: []schedule.RunStatus{schedule.StatusQueued}}, []schedule.Run{r4, r3}},
		{schedule.RunFilter{Status: []schedule.RunStatus{schedule.StatusSucceeded, schedule.StatusFailed}}, []schedule.Run{r2, r1}},
		{schedule.RunFilter{Trigger: schedule.TriggerManual}, []schedule.Run{r3, r1}},
		{schedule.RunFilter{Since: at(2)}, []schedule.Run{r4, r3, r2}},
		{schedule.RunFilter{Until: at(3)}, []schedule.Run{r2, r1}},
		{schedule.RunFilter{Since: at(2), Until: at(4)}, []schedule.Run{r3, r2}},
		{schedule.RunFilter{Limit: 2}, []schedule.Run{r4, r3}},
		{schedule.RunFilter{JobID: a.ID, Trigger: schedule.TriggerManual, Status: []schedule.RunStatus{schedule.StatusSucceeded}}, []schedule.Run{r1}},
		{schedule.RunFilter{JobID: b.ID, Trigger: schedule.TriggerAPI}, nil},
	} {
		got := k.runs(tc.f)
		require.Equal(t, ids(tc.want), ids(got), "ListRuns(%+v)", tc.f)
	}
}

// testListRunsLimit: ListRuns returns at most 100 runs, the newest, when
// the filter's Limit is 0, and up to Limit otherwise.
func testListRunsLimit(k *storeKit) {
	t := k.t
	j := k.create(oneOff("busy"))
	var all []string
	for range 102 {
		k.clock.Advance(time.Second)
		all = append(all, k.queue(j.ID).ID)
	}
	got := ids(k.runs(schedule.RunFilter{}))
	require.Len(t, got, 100, "ListRuns with Limit 0 returns 100 runs")
	require.Equal(t, all[101], got[0], "the newest first")
	require.Equal(t, all[2], got[99], "the 100 newest")
	require.Len(t, k.runs(schedule.RunFilter{Limit: 101}), 101)
	require.Len(t, k.runs(schedule.RunFilter{Limit: 500}), 102)
}
