package identity

import (
	"fmt"

	"github.com/intakehq/intake"
)

// Verdict is what a record action does with one row.
type Verdict uint8

// The verdicts.
const (
	VerdictCreate     Verdict = iota + 1 // create a new record
	VerdictUpdate                        // update every matched record (or the record created earlier in this run)
	VerdictOptOut                        // opt every matched record out
	VerdictSkip                          // leave the store alone; Decision.Code says why
	VerdictReject                        // the row is refused; Decision.Code says why
	VerdictInactivate                    // make every matched record inactive, keeping its data
	VerdictDelete                        // delete every matched record
	VerdictAnonymize                     // erase the personal fields of every matched record
)

var verdictNames = [...]string{"invalid", "create", "update", "opt_out", "skip", "reject", "inactivate", "delete", "anonymize"}

// String returns "create", "update", "opt_out", "skip", "reject",
// "inactivate", "delete" or "anonymize".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "invalid"
}

// Decision is the verdict on one row and, for skips and rejections, the
// stable reason code ([intake.CodeExists], [intake.CodeNoMatch],
// [intake.CodeDuplicate], [intake.CodeMissingKey], [intake.CodeConflict]).
type Decision struct {
	Verdict Verdict
	Code    intake.Code
}

// OnMatch is what a [Matrix] does with a row whose key matches stored
// records.
type OnMatch string

// What to do on a match.
const (
	MatchUpdate     OnMatch = "update"     // update every matched record
	MatchSkip       OnMatch = "skip"       // leave them alone (skipped, exists)
	MatchReject     OnMatch = "reject"     // leave them alone and reject the row (exists): the row was expected to be new
	MatchOptOut     OnMatch = "opt_out"    // opt them out
	MatchInactivate OnMatch = "inactivate" // make them inactive (needs a reason)
	MatchDelete     OnMatch = "delete"     // delete them (needs a reason)
	MatchAnonymize  OnMatch = "anonymize"  // erase their personal fields (needs a reason)
)

// OnNoMatch is what a [Matrix] does with a row whose key matches nothing.
type OnNoMatch string

// What to do without a match.
const (
	NoMatchCreate OnNoMatch = "create" // create a record
	NoMatchSkip   OnNoMatch = "skip"   // skipped (no_match)
	NoMatchReject OnNoMatch = "reject" // rejected (no_match): the row was expected to match
)

// Matrix is a record action as the CDP import screens state it: one choice
// for rows that match a stored record and one for rows that do not. The
// five actions of [intake.Action] are presets of it ([Create], [AddOnly],
// [UpdateOnly], [AddAndUpdate], [OptOut]; [Preset] by name); a Matrix
// with OnNoMatch other than create is an import that may not create
// records.
// The zero Matrix chooses nothing: an importer.Job reads it as the job's
// default action.
//
// In-file duplicates (a key met on an earlier row of the same run) follow
// the action table of [intake.Action] unless a [Duplicates] policy says
// otherwise: with OnMatch skip or reject, later rows are rejected (duplicate); with
// OnMatch update and OnNoMatch create, a later row updates the record an
// earlier row created; otherwise rows apply in order, and a row whose key
// an earlier row created is rejected as a duplicate when OnMatch is not
// update (a record is not created and then opted out or deleted by the
// same file).
type Matrix struct {
	OnMatch   OnMatch   `json:"on_match"`
	OnNoMatch OnNoMatch `json:"on_no_match"`
	// ExpectNew tells the create action from add_only, which share
	// {skip, create}: the job fills a new list, so a record that another
	// import creates with a row's key between this run's lookup of the key
	// and its insert (the sink holds the create, sink.KeyGuard) makes the
	// row a duplicate (rejected, duplicate) rather than a record that
	// exists (skipped, exists). A key that the store held when the run
	// looked it up is skipped as exists either way, so that a re-run never
	// duplicates records. Only with OnMatch skip and OnNoMatch create.
	ExpectNew bool `json:"expect_new,omitempty"`
}

// The five record actions of [intake.Action] as matrices, as [Preset]
// returns them. Matrices are values: a job holds a copy.
var (
	// Create is {skip, create} for a new list: see Matrix.ExpectNew.
	Create = Preset(intake.ActionCreate)
	// AddOnly is {skip, create}: new keys create records, known ones are
	// left alone.
	AddOnly = Preset(intake.ActionAddOnly)
	// UpdateOnly is {update, skip}: known keys update their records, new
	// ones are skipped (no_match).
	UpdateOnly = Preset(intake.ActionUpdateOnly)
	// AddAndUpdate is {update, create}, the default action.
	AddAndUpdate = Preset(intake.ActionAddAndUpdate)
	// OptOut is {opt_out, skip}: known keys are opted out.
	OptOut = Preset(intake.ActionOptOut)
)

// Preset returns the matrix of a record action: create is [Create],
// add_only [AddOnly], update_only [UpdateOnly], add_and_update
// [AddAndUpdate], opt_out [OptOut]. The empty action, and any name that is
// not an action (check [intake.Action.Valid] first), is add_and_update.
func Preset(a intake.Action) Matrix {
	switch a {
	case intake.ActionCreate:
		return Matrix{MatchSkip, NoMatchCreate, true}
	case intake.ActionAddOnly:
		return Matrix{MatchSkip, NoMatchCreate, false}
	case intake.ActionUpdateOnly:
		return Matrix{MatchUpdate, NoMatchSkip, false}
	case intake.ActionOptOut:
		return Matrix{MatchOptOut, NoMatchSkip, false}
	}
	return Matrix{MatchUpdate, NoMatchCreate, false}
}

// Action returns the record action whose preset m is, or "" when m is no
// preset (a lifecycle action, rejection without a match, …).
func (m Matrix) Action() intake.Action {
	for _, a := range intake.Actions {
		if Preset(a) == m {
			return a
		}
	}
	return ""
}

// Validate reports an unknown choice, and ExpectNew with other choices
// than {skip, create}.
func (m Matrix) Validate() error {
	switch m.OnMatch {
	case MatchUpdate, MatchSkip, MatchReject, MatchOptOut, MatchInactivate, MatchDelete, MatchAnonymize:
	default:
		return fmt.Errorf("identity: unknown on-match choice %q (want update, skip, reject, opt_out, inactivate, delete or anonymize)", m.OnMatch)
	}
	switch m.OnNoMatch {
	case NoMatchCreate, NoMatchSkip, NoMatchReject:
	default:
		return fmt.Errorf("identity: unknown on-no-match choice %q (want create, skip or reject)", m.OnNoMatch)
	}
	if m.ExpectNew && (m.OnMatch != MatchSkip || m.OnNoMatch != NoMatchCreate) {
		return fmt.Errorf("identity: ExpectNew marks the create action, {on match: skip, on no match: create}, and the matrix is {on match: %s, on no match: %s}: leave ExpectNew unset", m.OnMatch, m.OnNoMatch)
	}
	return nil
}

// Lifecycle reports whether the matrix inactivates, deletes or anonymizes
// records, which needs a reason and a sink that keeps an audit log.
func (m Matrix) Lifecycle() bool {
	return m.OnMatch == MatchInactivate || m.OnMatch == MatchDelete || m.OnMatch == MatchAnonymize
}

// String returns the name of the action whose preset m is ("add_only"),
// else the two choices: "on match: inactivate, on no match: skip".
func (m Matrix) String() string {
	if a := m.Action(); a != "" {
		return string(a)
	}
	return "on match: " + string(m.OnMatch) + ", on no match: " + string(m.OnNoMatch)
}

// Duplicates is the policy for rows whose key appeared on an earlier row of
// the same run.
type Duplicates string

// The in-file duplicate policies.
const (
	// DuplicatesDefault follows the action table of [intake.Action] (and
	// [Matrix] for other matrices).
	DuplicatesDefault Duplicates = ""
	// DuplicatesFirst keeps the first row of a key: later rows are skipped
	// (duplicate), whatever the action.
	DuplicatesFirst Duplicates = "first"
	// DuplicatesLast lets the last row of a key win: a later row replaces
	// what earlier rows of the run wrote to the record, every mapped field
	// included (an empty cell empties it).
	DuplicatesLast Duplicates = "last"
	// DuplicatesMerge merges the rows of a key in file order: a later row
	// updates the record an earlier row created or updated, following the
	// job's merge policy (by default, non-empty values win).
	DuplicatesMerge Duplicates = "merge"
)

// Validate reports an unknown policy.
func (d Duplicates) Validate() error {
	switch d {
	case DuplicatesDefault, DuplicatesFirst, DuplicatesLast, DuplicatesMerge:
		return nil
	}
	return fmt.Errorf("identity: unknown duplicates policy %q (want first, last or merge, or empty for the action's default)", d)
}

// Decide applies action a to a row with match m.
//
// earlier reports whether the row's key appeared on an earlier row of the
// same run: for create and add_only that makes the row a duplicate; for
// add_and_update it means the earlier row created a record that the store
// does not show yet (same batch, or a dry run), which this row then updates.
// update_only and opt_out apply every row in order and ignore earlier.
//
// The decisions are exactly those of the table on [intake.Action].
func Decide(a intake.Action, m *Match, earlier bool) Decision {
	return DecideMatrix(Preset(a), DuplicatesDefault, m, earlier, earlier && a == intake.ActionAddAndUpdate)
}

// DecideMatrix applies matrix mx and duplicate policy dup to a row with
// match m. earlier reports whether the row's key appeared on an earlier row
// of the run; created whether an earlier row of the run created a record
// with that key that m does not show (same batch, or a dry run). A row
// whose rules conflict is rejected ([intake.CodeConflict]); one without any key
// is rejected ([intake.CodeMissingKey]).
func DecideMatrix(mx Matrix, dup Duplicates, m *Match, earlier, created bool) Decision {
	if m.NoKey {
		return Decision{Verdict: VerdictReject, Code: intake.CodeMissingKey}
	}
	if m.Conflict {
		return Decision{Verdict: VerdictReject, Code: intake.CodeConflict}
	}
	matched := len(m.IDs) > 0
	if earlier {
		switch dup {
		case DuplicatesFirst:
			return Decision{Verdict: VerdictSkip, Code: intake.CodeDuplicate}
		case DuplicatesLast, DuplicatesMerge:
			if created {
				return Decision{Verdict: VerdictUpdate}
			}
		default:
			if mx.OnMatch == MatchSkip || mx.OnMatch == MatchReject || (created && mx.OnMatch != MatchUpdate) {
				return Decision{Verdict: VerdictReject, Code: intake.CodeDuplicate}
			}
			if created {
				return Decision{Verdict: VerdictUpdate}
			}
		}
	}
	if !matched {
		switch mx.OnNoMatch {
		case NoMatchCreate:
			return Decision{Verdict: VerdictCreate}
		case NoMatchReject:
			return Decision{Verdict: VerdictReject, Code: intake.CodeNoMatch}
		}
		return Decision{Verdict: VerdictSkip, Code: intake.CodeNoMatch}
	}
	switch mx.OnMatch {
	case MatchSkip:
		return Decision{Verdict: VerdictSkip, Code: intake.CodeExists}
	case MatchReject:
		return Decision{Verdict: VerdictReject, Code: intake.CodeExists}
	case MatchOptOut:
		return Decision{Verdict: VerdictOptOut}
	case MatchInactivate:
		return Decision{Verdict: VerdictInactivate}
	case MatchDelete:
		return Decision{Verdict: VerdictDelete}
	case MatchAnonymize:
		return Decision{Verdict: VerdictAnonymize}
	}
	return Decision{Verdict: VerdictUpdate}
}
