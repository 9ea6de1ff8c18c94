package identity

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/intakehq/intake"
)

// ConsentStatus is a contact's consent on one channel.
type ConsentStatus string

// The consent statuses.
const (
	ConsentOptedIn  ConsentStatus = "opted_in"
	ConsentOptedOut ConsentStatus = "opted_out"
	ConsentUnknown  ConsentStatus = "unknown"
)

// ParseConsent reads a consent status as files write it: opted_in,
// "OPTED-IN" (Acoustic's CONSENT_STATUS_CODE), in, yes, true, 1, y;
// opted_out, "OPTED-OUT", out, no, false, 0, n, unsubscribed; unknown.
// Case, white space (a no-break space included) and the separators "-" and
// "_" do not matter. A value of nothing else (the empty string, " - ") is
// "" and ok.
func ParseConsent(s string) (ConsentStatus, bool) {
	n := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, strings.ToLower(s))
	switch n {
	case "":
		return "", true
	case "optedin", "optin", "in", "yes", "y", "true", "1", "subscribed", "granted":
		return ConsentOptedIn, true
	case "optedout", "optout", "out", "no", "n", "false", "0", "unsubscribed", "denied", "withdrawn":
		return ConsentOptedOut, true
	case "unknown", "none":
		return ConsentUnknown, true
	}
	return "", false
}

// Channel is the consent configuration of one channel (email, sms, …). The
// channel's consent lives in three fields of the record: NAME_consent (the
// status, text), NAME_consent_date (timestamp) and NAME_consent_source
// (text); [ConsentFields] adds them to a schema, and a mapping maps columns
// to them.
type Channel struct {
	// Name is the channel, a field-name prefix: "email", "sms".
	Name string `json:"name"`
	// Default is the status of rows without one (Acoustic's job-level
	// consent); "" leaves such rows' consent alone.
	Default ConsentStatus `json:"default,omitempty"`
	// Date is the consent date of rows without one; zero: the run's start.
	Date time.Time `json:"date,omitzero"`
	// Source is the consent source of rows without one; default "import"
	// (Acoustic's CONSENT_SOURCE default is "List Import").
	Source string `json:"source,omitempty"`
	// AllowResubscribe lets a row turn an opted-out contact back to
	// opted in. Off by default: an import never re-subscribes anyone
	// unless the job says so here (the opposite of Acoustic's
	// HONOR_OPT_OUT_STATUS). A record opted out as a whole
	// (intake.Record.OptedOut) counts as opted out on the email channel;
	// re-subscribing it there lifts the whole opt-out when the Consent
	// may (Consent.LiftOptOut), and is kept otherwise.
	AllowResubscribe bool `json:"allow_resubscribe,omitempty"`
	// OverrideOnNoChange replaces the consent date and source even when
	// the status does not change (Acoustic's OVERRIDE_ON_NO_CHANGE).
	OverrideOnNoChange bool `json:"override_on_no_change,omitempty"`
}

// ConsentFields returns s with the consent fields of each channel added
// where s lacks them: NAME_consent (text), NAME_consent_date (timestamp),
// NAME_consent_source (text).
func ConsentFields(s *intake.Schema, channels ...Channel) (*intake.Schema, error) {
	fields := s.Fields()
	for _, c := range channels {
		for _, f := range []intake.Field{
			{Name: c.Name + "_consent", Type: intake.TypeText, Label: c.Name + " consent"},
			{Name: c.Name + "_consent_date", Type: intake.TypeTimestamp, Label: c.Name + " consent date"},
			{Name: c.Name + "_consent_source", Type: intake.TypeText, Label: c.Name + " consent source"},
		} {
			if s.Index(f.Name) < 0 {
				fields = append(fields, f)
			}
		}
	}
	if len(fields) == s.Len() {
		return s, nil
	}
	return intake.NewSchema(s.Object(), fields...)
}

// Consent applies consent rules to records. Build it with [NewConsent].
type Consent struct {
	// LiftOptOut lets an email channel that may re-subscribe
	// (Channel.AllowResubscribe) clear the opted-out flag of a record
	// opted out as a whole when its row says opted in; set it when the
	// store can clear that flag (sink.Resubscriber). Without it such a
	// row keeps the record opted out and counts as kept.
	LiftOptOut bool

	chans []chanPlan
	now   time.Time
}

type chanPlan struct {
	Channel
	status, date, source int
	email                bool
}

// NewConsent compiles channels against s, which must have their fields
// (see [ConsentFields]): NAME_consent (text or select) at least; a channel
// without NAME_consent_date (timestamp) or NAME_consent_source (text)
// keeps only the status. now is the default consent date.
func NewConsent(s *intake.Schema, now time.Time, channels ...Channel) (*Consent, error) {
	c := &Consent{now: now}
	seen := map[string]bool{}
	for _, ch := range channels {
		if ch.Name == "" {
			return nil, fmt.Errorf("identity: a consent channel has no name (email, sms, …)")
		}
		if seen[ch.Name] {
			return nil, fmt.Errorf("identity: consent channel %q is given twice", ch.Name)
		}
		seen[ch.Name] = true
		if ch.Default != "" {
			if st, ok := ParseConsent(string(ch.Default)); !ok || st == "" {
				return nil, fmt.Errorf("identity: consent channel %q: default %q is not opted_in, opted_out or unknown", ch.Name, ch.Default)
			} else {
				ch.Default = st
			}
		}
		if ch.Source == "" {
			ch.Source = "import"
		}
		p := chanPlan{Channel: ch, status: s.Index(ch.Name + "_consent"), date: s.Index(ch.Name + "_consent_date"), source: s.Index(ch.Name + "_consent_source"), email: ch.Name == "email"}
		if p.status < 0 {
			return nil, fmt.Errorf("identity: consent channel %q needs the field %s_consent (identity.ConsentFields adds it, with %s_consent_date and %s_consent_source)", ch.Name, ch.Name, ch.Name, ch.Name)
		}
		for _, f := range []struct {
			i    int
			kind intake.Kind
			want string
		}{{p.status, intake.KindText, "text"}, {p.date, intake.KindTimestamp, "a timestamp"}, {p.source, intake.KindText, "text"}} {
			if f.i >= 0 && s.Field(f.i).Type.Kind() != f.kind {
				return nil, fmt.Errorf("identity: consent channel %q: field %s is a %s, want %s", ch.Name, s.Field(f.i).Name, s.Field(f.i).Type, f.want)
			}
		}
		c.chans = append(c.chans, p)
	}
	return c, nil
}

// Fields marks in skip the consent fields, which [Consent.Apply] handles
// and a merge policy must leave alone.
func (c *Consent) Fields(skip []bool) {
	for _, p := range c.chans {
		for _, i := range []int{p.status, p.date, p.source} {
			if i >= 0 {
				skip[i] = true
			}
		}
	}
}

// Check returns the error of a row whose status column does not hold a
// consent status, or nil.
func (c *Consent) Check(in *intake.Record) *intake.RowError {
	for _, p := range c.chans {
		v := in.Values[p.status]
		if v.IsNull() {
			continue
		}
		if _, ok := ParseConsent(v.String()); !ok {
			return &intake.RowError{Line: in.Line, Field: p.Name + "_consent", Code: intake.CodeInvalidConsent,
				Message: fmt.Sprintf("%q is not a consent status (opted_in, opted_out or unknown)", v.String())}
		}
	}
	return nil
}

// Apply sets the consent fields of dst (the stored record, or a new one
// for a create: then stored is false) from the row in, and reports whether
// dst changed and how many channels kept an opt-out that the row would
// have turned to opted in (the guard: see [Channel].AllowResubscribe). An
// email channel that re-subscribes a record opted out as a whole clears
// dst.OptedOut, with LiftOptOut.
func (c *Consent) Apply(dst, in *intake.Record, stored bool) (changed bool, kept int) {
	for _, p := range c.chans {
		st, _ := ParseConsent(in.Values[p.status].String())
		if st == "" {
			st = p.Default
		}
		if st == "" { // no status: the row's date and source, if mapped, follow the merge of a create only
			continue
		}
		cur, _ := ParseConsent(dst.Values[p.status].String())
		if !stored {
			cur = ""
		}
		lift := p.email && dst.OptedOut && st == ConsentOptedIn
		if p.email && dst.OptedOut {
			cur = ConsentOptedOut
		}
		if cur == ConsentOptedOut && st == ConsentOptedIn && (!p.AllowResubscribe || lift && !c.LiftOptOut) {
			kept++
			continue
		}
		if lift {
			dst.OptedOut, changed = false, true
		}
		if stored && cur == st && !p.OverrideOnNoChange {
			continue
		}
		var date, source intake.Value
		if p.date >= 0 {
			date = in.Values[p.date]
		}
		if date.IsNull() {
			d := p.Date
			if d.IsZero() {
				d = c.now
			}
			date = intake.Timestamp(d)
		}
		if p.source >= 0 {
			source = in.Values[p.source]
		}
		if source.IsNull() {
			source = intake.Text(p.Source)
		}
		for _, f := range [...]struct {
			i int
			v intake.Value
		}{{p.status, intake.Text(string(st))}, {p.date, date}, {p.source, source}} {
			if f.i >= 0 && dst.Values[f.i] != f.v {
				dst.Values[f.i] = f.v.Clone()
				changed = true
			}
		}
	}
	return changed, kept
}
