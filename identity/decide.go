package identity

import "github.com/intakehq/intake"

// Verdict is what a record action does with one row.
type Verdict uint8

// The verdicts.
const (
	VerdictCreate Verdict = iota + 1 // create a new record
	VerdictUpdate                    // update every matched record (or the record created earlier in this run)
	VerdictOptOut                    // opt every matched record out
	VerdictSkip                      // leave the store alone; Decision.Code says why
	VerdictReject                    // the row is refused; Decision.Code says why
)

var verdictNames = [...]string{"invalid", "create", "update", "opt_out", "skip", "reject"}

// String returns "create", "update", "opt_out", "skip" or "reject".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "invalid"
}

// Decision is the verdict on one row and, for skips and rejections, the
// stable reason code ([intake.CodeExists], [intake.CodeNoMatch],
// [intake.CodeDuplicate], [intake.CodeMissingKey]).
type Decision struct {
	Verdict Verdict
	Code    string
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
	if m.NoKey {
		return Decision{Verdict: VerdictReject, Code: intake.CodeMissingKey}
	}
	matched := len(m.IDs) > 0
	switch a {
	case intake.ActionCreate, intake.ActionAddOnly:
		switch {
		case earlier:
			return Decision{Verdict: VerdictReject, Code: intake.CodeDuplicate}
		case matched:
			return Decision{Verdict: VerdictSkip, Code: intake.CodeExists}
		}
		return Decision{Verdict: VerdictCreate}
	case intake.ActionUpdateOnly:
		if matched {
			return Decision{Verdict: VerdictUpdate}
		}
		return Decision{Verdict: VerdictSkip, Code: intake.CodeNoMatch}
	case intake.ActionOptOut:
		if matched {
			return Decision{Verdict: VerdictOptOut}
		}
		return Decision{Verdict: VerdictSkip, Code: intake.CodeNoMatch}
	default: // add_and_update
		if matched || earlier {
			return Decision{Verdict: VerdictUpdate}
		}
		return Decision{Verdict: VerdictCreate}
	}
}
