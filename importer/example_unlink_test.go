package importer_test

import (
	"context"
	"fmt"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink/memory"
)

// A delete job with Unlink remove: the deleted contacts' activities lose
// their link to them (profile_id becomes empty), in the write's
// transaction, and each removed link is in the audit log with the job's
// reason. With the default, UnlinkKeep, they would keep the deleted id.
func ExampleJob_unlink() {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	defer store.Close()
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		panic(err)
	}
	importCSV(im, "contacts.csv", "email\nkim@example.com\nlee@example.com\n", importer.Job{})
	importCSV(im, "events.csv", "event_id,email,type\ne1,kim@example.com,visit\ne2,lee@example.com,visit\n",
		importer.Job{Schema: intake.ActivitySchema(), Profile: &importer.ProfileLink{}})

	del := identity.Matrix{OnMatch: identity.MatchDelete, OnNoMatch: identity.NoMatchSkip}
	rep := importCSV(im, "erase.csv", "email\nkim@example.com\n", importer.Job{
		Action: del, Reason: "erasure request", Actor: "dpo@example.com", Unlink: importer.UnlinkRemove,
	})
	fmt.Println(rep.Deleted, "deleted")

	events, _ := store.Schema(ctx, intake.ObjectActivity) // with the profile_id link
	store.Scan(ctx, events, func(r *intake.Record) error {
		fmt.Printf("%s: profile linked %v\n", r.Get("event_id"), !r.Get("profile_id").IsNull())
		return nil
	})
	log, _ := store.AuditLog(ctx, intake.ObjectActivity, "")
	for _, e := range log {
		fmt.Printf("%s %s of the activity (line %d of the job): %s\n", e.Action, e.Field, e.Line, e.Reason)
	}
	// Output:
	// 1 deleted
	// e1: profile linked false
	// e2: profile linked true
	// unlink profile_id of the activity (line 2 of the job): erasure request
}
