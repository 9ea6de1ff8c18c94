package intake

import (
	"fmt"
	"strconv"
	"strings"
)

// Outcome is what happened to one input row. Every row ends in exactly one.
type Outcome uint8

// The outcomes. Their names (see [Outcome.String]) are the count names of the
// run report.
const (
	OutcomeNone        Outcome = iota // not decided yet
	OutcomeCreated                    // a new record was created
	OutcomeUpdated                    // an existing record was changed
	OutcomeUnchanged                  // an existing record matched and nothing changed
	OutcomeSkipped                    // the action does not apply to the row (reason in the report)
	OutcomeOptedOut                   // the matching record was opted out
	OutcomeRejected                   // the row is invalid (a RowError in the report)
	OutcomeInactivated                // the matching record was made inactive (its data kept)
	OutcomeDeleted                    // the matching record was deleted
	OutcomeAnonymized                 // the matching record's personal fields were erased

	// NumOutcomes is one more than the largest outcome: arrays indexed
	// by outcome have this length.
	NumOutcomes = OutcomeAnonymized + 1
)

var outcomeNames = [...]string{"none", "created", "updated", "unchanged", "skipped", "opted_out", "rejected", "inactivated", "deleted", "anonymized"}

// String returns the outcome's name: "created", "updated", "unchanged",
// "skipped", "opted_out", "rejected", "inactivated", "deleted" or
// "anonymized".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Action is the record action of an import: what to do with a row whose key
// matches an existing record, and with one that matches none.
//
//	action          key matches a record          no match   same key again in the file
//	create          skipped (exists)              created    later rows rejected (duplicate)
//	add_only        skipped (exists)              created    later rows rejected (duplicate)
//	update_only     updated (every match) or unchanged   skipped (no_match)  applied in order
//	add_and_update  updated or unchanged          created    later rows update the record the first created
//	opt_out         opted out (every match)       skipped (no_match)  applied in order
//
// create is meant for a new, empty store (Acoustic creates a new list); on a
// store that already holds a row's key it behaves like add_only, so that a
// re-run never duplicates records. A row whose sync fields are all empty is
// rejected (missing_key).
type Action string

// The record actions.
const (
	ActionCreate       Action = "create"
	ActionAddOnly      Action = "add_only"
	ActionUpdateOnly   Action = "update_only"
	ActionAddAndUpdate Action = "add_and_update"
	ActionOptOut       Action = "opt_out"
)

// Actions lists the record actions in documentation order.
var Actions = []Action{ActionCreate, ActionAddOnly, ActionUpdateOnly, ActionAddAndUpdate, ActionOptOut}

// ParseAction returns the action with the given name; it accepts Acoustic's
// upper-case spelling ("ADD_AND_UPDATE") too. The empty name is
// [ActionAddAndUpdate], the default.
func ParseAction(name string) (Action, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return ActionAddAndUpdate, nil
	}
	for _, a := range Actions {
		if string(a) == n {
			return a, nil
		}
	}
	return "", fmt.Errorf("intake: unknown action %q (want create, add_only, update_only, add_and_update or opt_out)", name)
}

// Valid reports whether a is one of the record actions.
func (a Action) Valid() bool {
	for _, b := range Actions {
		if a == b {
			return true
		}
	}
	return false
}
