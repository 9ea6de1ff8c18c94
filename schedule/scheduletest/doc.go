// Package scheduletest holds the test tools of package schedule: a fake
// [Clock] that moves only when told, and [TestJobStore], a conformance kit
// for implementations of schedule.JobStore in the manner of
// testing/fstest's TestFS and sinktest.Run. A host that keeps its jobs in
// a store of its own calls TestJobStore from a test with a function that
// opens a fresh, empty store on the clock it is given; the SQLite and
// PostgreSQL job stores of package schedule pass it.
//
//	func TestJobStore(t *testing.T) {
//		scheduletest.TestJobStore(t, func(t *testing.T, clock schedule.Clock) schedule.JobStore {
//			s := mystore.New(t.TempDir(), clock)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The kit reports each broken rule as the failure of a named subtest, and
// runs its subtests in parallel, each on its own store.
package scheduletest
