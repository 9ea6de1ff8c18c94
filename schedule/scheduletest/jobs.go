package scheduletest

import (
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/schedule"
)

// utcJob returns j with its times in UTC, so that two jobs at the same
// instants compare equal.
func utcJob(j schedule.Job) schedule.Job {
	j.RunOnceAt, j.NextRun, j.Created, j.Updated = j.RunOnceAt.UTC(), j.NextRun.UTC(), j.Created.UTC(), j.Updated.UTC()
	return j
}

// names returns the names of jobs, in their order.
func names(jobs []schedule.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Name
	}
	return out
}

// testCreate: Create assigns a new UUIDv7 ID, Created, Updated and
// NextRun, replacing what the job held, saves a Spec without Version as
// importer.JobSpecVersion, and queues no run without RunOnSave.
func testCreate(k *storeKit) {
	t := k.t
	in := job("nightly")
	in.ID, in.NextRun, in.Created, in.Updated = "chosen-by-the-caller", Start.Add(time.Hour), Start.Add(-time.Hour), Start.Add(-time.Hour)
	j := k.create(in)
	id, err := uuid.Parse(j.ID)
	require.NoError(t, err, "Job.ID is a UUIDv7")
	require.Equal(t, uuid.Version(7), id.Version(), "Job.ID is a UUIDv7")
	k.requireTime(Start, j.Created, "Created")
	k.requireTime(Start, j.Updated, "Updated")
	k.requireTime(Start.Add(15*time.Minute), j.NextRun, "NextRun of a job every 15m created at %s", Start)
	require.Equal(t, importer.JobSpecVersion, j.Spec.Version, "a Spec without Version is saved as importer.JobSpecVersion")
	require.Equal(t, utcJob(j), utcJob(k.get(j.ID)), "Get returns the job Create returned")
	other := k.create(job("hourly"))
	require.NotEqual(t, j.ID, other.ID, "two jobs, two IDs")
	require.Empty(t, k.runs(schedule.RunFilter{JobID: j.ID}), "Create queues no run without RunOnSave")
}

// testCreateRunOnSave: Create queues a run of a job with RunOnSave.
func testCreateRunOnSave(k *storeKit) {
	t := k.t
	in := oneOff("upload now")
	in.RunOnSave = true
	j := k.create(in)
	runs := k.runs(schedule.RunFilter{JobID: j.ID})
	require.Len(t, runs, 1, "Create queues one run of a job with RunOnSave")
	require.Equal(t, schedule.StatusQueued, runs[0].Status)
	require.Equal(t, schedule.TriggerSave, runs[0].Trigger)
	require.Equal(t, j.ID, runs[0].JobID)
	k.requireTime(Start, runs[0].Queued, "Queued of the run RunOnSave queued")
}

// testNextRun: Create sets NextRun from the job's schedule (its cadence in
// its zone, its RunOnceAt, whichever comes first) at the clock's time;
// a disabled job, or one without a schedule, has none.
func testNextRun(k *storeKit) {
	tests := []struct {
		name string
		edit func(j *schedule.Job)
		want time.Time
	}{
		{"every 15m", func(j *schedule.Job) {}, Start.Add(15 * time.Minute)},
		{"daily at 09:00 in Berlin", func(j *schedule.Job) { j.Cadence, j.TimeZone = "daily at 09:00", "Europe/Berlin" }, Start.Add(2 * time.Hour)},
		{"disabled", func(j *schedule.Job) { j.Enabled = false }, time.Time{}},
		{"no schedule", func(j *schedule.Job) { j.Cadence = "" }, time.Time{}},
		{"run once later", func(j *schedule.Job) { j.Cadence, j.RunOnceAt = "", Start.Add(2*time.Hour) }, Start.Add(2 * time.Hour)},
		{"run once in the past", func(j *schedule.Job) { j.Cadence, j.RunOnceAt = "", Start.Add(-time.Hour) }, time.Time{}},
		{"run once before the cadence", func(j *schedule.Job) { j.RunOnceAt = Start.Add(5 * time.Minute) }, Start.Add(5 * time.Minute)},
	}
	for _, tc := range tests {
		in := job(tc.name)
		tc.edit(&in)
		j := k.create(in)
		k.requireTime(tc.want, j.NextRun, "%s: NextRun", tc.name)
		k.requireTime(tc.want, k.get(j.ID).NextRun, "%s: NextRun read back", tc.name)
	}
}

// testInvalidJob: Create and Update refuse an invalid job with an
// *InvalidJobError that names every problem's JSON path, and save nothing.
func testInvalidJob(k *storeKit) {
	t := k.t
	bad := job("")
	bad.TimeZone, bad.Cadence, bad.Overlap, bad.Missed, bad.RetryAbandoned = "Mars/Olympus", "every 7m", "wait", "sometimes", -1
	bad.Spec.Action = "upsert"
	want := []string{"$.name", "$.time_zone", "$.cadence", "$.overlap", "$.missed", "$.retry_abandoned", "$.spec.action"}
	requireInvalid := func(call string, err error) {
		t.Helper()
		var ie *schedule.InvalidJobError
		require.True(t, errors.As(err, &ie), "%s of an invalid job: %v, want a *schedule.InvalidJobError", call, err)
		var paths []string
		for _, p := range ie.Problems {
			paths = append(paths, p.Path)
		}
		for _, w := range want {
			require.Contains(t, paths, w, "%s: the problems name every path", call)
		}
	}
	_, err := k.s.Create(k.ctx, bad)
	requireInvalid("Create", err)
	all, err := k.s.List(k.ctx, schedule.JobFilter{})
	require.NoError(t, err)
	require.Empty(t, all, "an invalid job is not saved")

	j := k.create(job("valid"))
	bad.ID = j.ID
	_, err = k.s.Update(k.ctx, bad)
	requireInvalid("Update", err)
	require.Equal(t, utcJob(j), utcJob(k.get(j.ID)), "an invalid update changes nothing")
}

// testGetRoundTrip: every field of a job comes back from Get as Create
// saved it.
func testGetRoundTrip(k *storeKit) {
	t := k.t
	in := fullJob("full")
	j := k.create(in)
	want := in
	want.ID, want.Created, want.Updated, want.NextRun = j.ID, Start, Start, Start.Add(2*time.Hour) // 09:00 in Berlin
	require.Equal(t, utcJob(want), utcJob(j), "Create's result")
	require.Equal(t, utcJob(want), utcJob(k.get(j.ID)), "Get's result")
}

// testList: List filters on Enabled, Recurring and Object, applies Limit
// after the filters, and sorts by name.
func testList(k *storeKit) {
	t := k.t
	off := job("c-disabled")
	off.Enabled = false
	acct := job("d-account")
	acct.Spec.Object = "account"
	for _, j := range []schedule.Job{job("b-recurring"), acct, off, oneOff("a-one-off")} {
		k.create(j)
	}
	yes, no := true, false
	tests := []struct {
		f    schedule.JobFilter
		want []string
	}{
		{schedule.JobFilter{}, []string{"a-one-off", "b-recurring", "c-disabled", "d-account"}},
		{schedule.JobFilter{Enabled: &yes}, []string{"a-one-off", "b-recurring", "d-account"}},
		{schedule.JobFilter{Enabled: &no}, []string{"c-disabled"}},
		{schedule.JobFilter{Recurring: &yes}, []string{"b-recurring", "c-disabled", "d-account"}},
		{schedule.JobFilter{Recurring: &no}, []string{"a-one-off"}},
		{schedule.JobFilter{Object: "account"}, []string{"d-account"}},
		{schedule.JobFilter{Object: "contact"}, []string{"a-one-off", "b-recurring", "c-disabled"}},
		{schedule.JobFilter{Limit: 2}, []string{"a-one-off", "b-recurring"}},
		{schedule.JobFilter{Recurring: &yes, Limit: 2}, []string{"b-recurring", "c-disabled"}},
		{schedule.JobFilter{Enabled: &yes, Recurring: &yes, Object: "contact"}, []string{"b-recurring"}},
	}
	for _, tc := range tests {
		got, err := k.s.List(k.ctx, tc.f)
		require.NoError(t, err)
		require.Equal(t, tc.want, names(got), "List(%+v)", tc.f)
	}
}

// testUpdate: Update replaces the job's settings, keeps its ID and
// Created, sets Updated, and a schedule change takes effect at once.
func testUpdate(k *storeKit) {
	t := k.t
	j := k.create(fullJob("full"))
	k.clock.Advance(time.Hour) // 07:00 UTC
	in := job("renamed")
	in.ID, in.Created = j.ID, Start.Add(-24*time.Hour)
	in.Cadence = "every 30m"
	got, err := k.s.Update(k.ctx, in)
	require.NoError(t, err)
	want := in
	want.Spec.Version = importer.JobSpecVersion
	want.Created, want.Updated, want.NextRun = Start, Start.Add(time.Hour), Start.Add(90*time.Minute)
	require.Equal(t, utcJob(want), utcJob(got), "Update's result: the settings replaced, Created kept, NextRun from the new cadence")
	require.Equal(t, utcJob(want), utcJob(k.get(j.ID)), "the job read back")
	all, err := k.s.List(k.ctx, schedule.JobFilter{})
	require.NoError(t, err)
	require.Equal(t, []string{"renamed"}, names(all), "Update changes the job, it adds none")
}

// testDelete: Delete removes the job and its runs, and no other's.
func testDelete(k *storeKit) {
	t := k.t
	a, b := k.create(job("a")), k.create(job("b"))
	ra1, ra2, rb := k.queue(a.ID), k.queue(a.ID), k.queue(b.ID)
	require.NoError(t, k.s.Delete(k.ctx, a.ID))
	_, err := k.s.Get(k.ctx, a.ID)
	k.requireNotFound(err, "Get of a deleted job")
	for _, r := range []schedule.Run{ra1, ra2} {
		_, err := k.s.GetRun(k.ctx, r.ID)
		k.requireNotFound(err, "GetRun of a deleted job's run")
	}
	require.Empty(t, k.runs(schedule.RunFilter{JobID: a.ID}), "a deleted job's runs")
	require.Equal(t, []string{rb.ID}, ids(k.runs(schedule.RunFilter{})), "the other job's run stays")
	require.Equal(t, b.Name, k.get(b.ID).Name, "the other job stays")
	k.requireNotFound(k.s.Delete(k.ctx, a.ID), "Delete of a deleted job")
}

// testDuplicate: Duplicate creates a disabled copy under the new name, or
// the job's name with " (copy)", with the job's settings, and queues no
// run; the job is unchanged.
func testDuplicate(k *storeKit) {
	t := k.t
	in := fullJob("orig")
	in.RunOnSave = true
	o := k.create(in)
	k.clock.Advance(time.Hour)
	d, err := k.s.Duplicate(k.ctx, o.ID, "copy of orig")
	require.NoError(t, err)
	require.NotEqual(t, o.ID, d.ID, "the copy is a new job")
	want := o
	want.ID, want.Name, want.Enabled, want.RunOnSave, want.NextRun = d.ID, "copy of orig", false, false, time.Time{}
	want.Created, want.Updated = Start.Add(time.Hour), Start.Add(time.Hour)
	require.Equal(t, utcJob(want), utcJob(d), "the copy: the job's settings, disabled, created now")
	require.Equal(t, utcJob(want), utcJob(k.get(d.ID)), "the copy read back")
	require.Empty(t, k.runs(schedule.RunFilter{JobID: d.ID}), "Duplicate queues no run")
	require.Equal(t, utcJob(o), utcJob(k.get(o.ID)), "the job itself is unchanged")

	d2, err := k.s.Duplicate(k.ctx, o.ID, "")
	require.NoError(t, err)
	require.Equal(t, "orig (copy)", d2.Name, "an empty name gives the job's name with \" (copy)\"")
}

// testSetEnabled: disabling a job clears its NextRun and keeps it from
// being claimed; enabling it recomputes NextRun at the clock's time.
func testSetEnabled(k *storeKit) {
	t := k.t
	j := k.create(job("toggled"))
	k.clock.Advance(time.Hour) // the job is due
	require.NoError(t, k.s.SetEnabled(k.ctx, j.ID, false))
	got := k.get(j.ID)
	require.False(t, got.Enabled)
	require.True(t, got.NextRun.IsZero(), "a disabled job has no NextRun: %s", got.NextRun)
	require.Empty(t, k.claim("kit-1", 5), "a disabled job is not claimed")
	require.Empty(t, k.runs(schedule.RunFilter{JobID: j.ID}), "a disabled job gets no run")
	k.clock.Advance(10 * time.Minute) // 07:10
	require.NoError(t, k.s.SetEnabled(k.ctx, j.ID, true))
	got = k.get(j.ID)
	require.True(t, got.Enabled)
	k.requireTime(Start.Add(75*time.Minute), got.NextRun, "NextRun after enabling at %s", k.clock.Now())
}

// testNotFound: every method that takes the id of a job or a run returns
// an error wrapping ErrNotFound for one that does not exist.
func testNotFound(k *storeKit) {
	gone := k.create(job("deleted"))
	require.NoError(k.t, k.s.Delete(k.ctx, gone.ID))
	live := k.create(job("live"))
	for _, id := range []string{gone.ID, "0190c0de-0000-7000-8000-000000000000"} {
		_, err := k.s.Get(k.ctx, id)
		k.requireNotFound(err, "Get")
		upd := job("ghost")
		upd.ID = id
		_, err = k.s.Update(k.ctx, upd)
		k.requireNotFound(err, "Update")
		k.requireNotFound(k.s.Delete(k.ctx, id), "Delete")
		_, err = k.s.Duplicate(k.ctx, id, "copy")
		k.requireNotFound(err, "Duplicate")
		k.requireNotFound(k.s.SetEnabled(k.ctx, id, true), "SetEnabled(true)")
		k.requireNotFound(k.s.SetEnabled(k.ctx, id, false), "SetEnabled(false)")
		_, err = k.s.CreateRun(k.ctx, schedule.Run{JobID: id})
		k.requireNotFound(err, "CreateRun of an unknown job")
		_, err = k.s.GetRun(k.ctx, id)
		k.requireNotFound(err, "GetRun")
		k.requireNotFound(k.s.UpdateRun(k.ctx, schedule.Run{ID: id, JobID: live.ID, Status: schedule.StatusFailed}), "UpdateRun")
	}
	all, err := k.s.List(k.ctx, schedule.JobFilter{})
	require.NoError(k.t, err)
	require.Equal(k.t, []string{"live"}, names(all), "the calls with unknown ids created nothing")
	require.Empty(k.t, k.runs(schedule.RunFilter{}), "the calls with unknown ids recorded no run")
}

// testFieldUsers: FieldUsers returns the recurring jobs of the object type
// that name the field in their mapping (a column not skipped), their sync
// fields or their identity rules.
func testFieldUsers(k *storeKit) {
	t := k.t
	mapped := k.create(fullJob("mapped")) // maps loyalty_tier, skips notes, syncs on email
	ruled := job("ruled")
	ruled.Spec.Sync, ruled.Spec.Rules = nil, []string{"first_name+last_name", "email"}
	r := k.create(ruled)
	once := fullJob("once")
	once.Cadence, once.RunOnceAt = "", time.Time{}
	k.create(once)
	acct := job("accounts")
	acct.Spec.Object = "account"
	a := k.create(acct)
	users := func(object, field string) []string {
		t.Helper()
		js, err := k.s.FieldUsers(k.ctx, object, field)
		require.NoError(t, err)
		out := make([]string, len(js))
		for i, j := range js {
			out[i] = j.ID
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	require.Equal(t, []string{mapped.ID}, users("contact", "loyalty_tier"), "a mapped field of a recurring job (the one-off job does not count)")
	require.Empty(t, users("contact", "notes"), "a skipped column uses no field")
	require.Equal(t, []string{r.ID}, users("contact", "last_name"), "a field of an identity rule")
	require.Equal(t, sorted(mapped.ID, r.ID), users("contact", "email"), "a sync field and a rule's field")
	require.Equal(t, []string{a.ID}, users("account", "email"), "the jobs of the object type only")
	require.Empty(t, users("contact", "city"), "a field no job names")
}
