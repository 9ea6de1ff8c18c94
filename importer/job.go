package importer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/sink"
)

// WithDefaults returns a copy of j with the defaults of its unset options
// filled in, as Run fills them before it checks the job:
//   - Schema: intake.ContactSchema();
//   - Action: identity.AddAndUpdate, or identity.AddOnly with a Profile
//     (activities are append-only);
//   - Identity: with a Profile, SyncIfMapped("event_id"); for accounts
//     (Schema's object type account), SyncOn("account_id"); else
//     SyncOn("email");
//   - Profile: a copy of the caller's, with Object contact and Field
//     profile_id when unset;
//   - AccountLink: MissingEmpty; Unlink: UnlinkKeep.
//
// It checks nothing: Run reports every problem of the job at once, before
// it reads the source.
func (j Job) WithDefaults() Job {
	if j.Schema == nil {
		j.Schema = intake.ContactSchema()
	}
	if j.Action == (identity.Matrix{}) {
		j.Action = identity.AddAndUpdate
		if j.Profile != nil {
			j.Action = identity.AddOnly
		}
	}
	if j.Identity.IsZero() {
		switch {
		case j.Profile != nil:
			j.Identity = SyncIfMapped("event_id")
		case j.Schema.Object() == intake.ObjectAccount:
			j.Identity = SyncOn("account_id")
		default:
			j.Identity = SyncOn("email")
		}
	}
	if j.Profile != nil {
		p := *j.Profile // the caller's stays as it is
		if p.Object == "" {
			p.Object = intake.ObjectContact
		}
		if p.Field == "" {
			p.Field = "profile_id"
		}
		j.Profile = &p
	}
	if j.AccountLink == "" {
		j.AccountLink = MissingEmpty
	}
	if j.Unlink == "" {
		j.Unlink = UnlinkKeep
	}
	return j
}

// validate checks a job that WithDefaults filled in, for a run into s,
// before anything is read or built: every problem at once (errors.Join),
// each naming the option to change.
func (j *Job) validate(s sink.Sink) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if j.Source == nil {
		add(fmt.Errorf("%w: set Job.Source (connector.OpenCSVFile or your own connector.Source)", ErrNoSource))
	}
	add(j.Action.Validate())
	add(j.Duplicates.Validate())
	add(j.checkIdentity())
	add(j.checkLifecycle(s))
	if j.Explain < 0 {
		add(fmt.Errorf("importer: Job.Explain %d is negative: use 0 to explain nothing", j.Explain))
	}
	if _, err := j.schemaWithFields(); err != nil {
		add(err)
	}
	add(j.checkLinks(s))
	if err := j.AccountLink.Validate(); err != nil {
		add(fmt.Errorf("importer: Job.AccountLink: %w", err))
	}
	return errors.Join(errs...)
}

// createsOnly reports whether mx creates on no match and leaves a match
// alone (skips or rejects the row): the actions that may run without
// matching (NoSync, SyncIfMapped) and that append activities.
func createsOnly(mx identity.Matrix) bool {
	return (mx.OnMatch == identity.MatchSkip || mx.OnMatch == identity.MatchReject) && mx.OnNoMatch == identity.NoMatchCreate
}

// checkIdentity checks that an action that changes stored records has keys
// to find them. A Profile's own check (ErrAppendOnly) covers its default.
func (j *Job) checkIdentity() error {
	switch {
	case createsOnly(j.Action):
	case j.Identity.None():
		return fmt.Errorf("importer: %s needs sync fields to find the records to change: give Job.Identity keys (SyncOn, Rules) instead of NoSync", j.Action)
	case j.Identity.IfMapped() && j.Profile == nil:
		return fmt.Errorf("importer: %s needs sync fields to find the records to change, and SyncIfMapped turns matching off when the mapping does not fill its key: use SyncOn", j.Action)
	}
	return nil
}

// checkLifecycle checks what inactivating, deleting, anonymizing and
// removing links need: a reason, and a sink that keeps an audit log (and
// removes links).
func (j *Job) checkLifecycle(s sink.Sink) error {
	var errs []error
	if mx := j.Action; mx.Lifecycle() {
		if strings.TrimSpace(j.Reason) == "" {
			errs = append(errs, fmt.Errorf("importer: %s needs a reason, kept in the audit log: set Job.Reason", mx.OnMatch))
		}
		if _, ok := s.(sink.Auditor); !ok {
			errs = append(errs, fmt.Errorf("importer: %s needs a sink that keeps an audit log (sink.Auditor); %T does not", mx.OnMatch, s))
		}
	}
	switch {
	case !j.Unlink.Valid():
		errs = append(errs, fmt.Errorf("importer: unknown Job.Unlink %q (want keep or remove)", j.Unlink))
	case j.Unlink != UnlinkRemove:
	case j.Action.OnMatch != identity.MatchDelete && j.Action.OnMatch != identity.MatchAnonymize:
		errs = append(errs, fmt.Errorf("importer: Job.Unlink %q removes the links to records that the job deletes or anonymizes, and %s does neither: use the action delete or anonymize, or leave Unlink unset", j.Unlink, j.Action))
	default:
		if u, ok := s.(sink.Unlinker); !ok || !u.Unlinks() {
			errs = append(errs, fmt.Errorf("importer: Job.Unlink %q needs a sink that removes links (sink.Unlinker); %T does not", j.Unlink, s))
		}
	}
	return errors.Join(errs...)
}

// checkLinks checks the profile link and the links as the job states them:
// activities are append-only and always have a profile, each link names
// its field and target, targets are found by key, and the sink must look
// them up. The checks against the schema come when they are compiled.
func (j *Job) checkLinks(s sink.Sink) error {
	var errs []error
	if p := j.Profile; p != nil {
		if !createsOnly(j.Action) {
			errs = append(errs, fmt.Errorf("%w: with Job.Profile use the action identity.Create with Identity NoSync(), or identity.AddOnly synced on an event id", ErrAppendOnly))
		}
		if err := p.Missing.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("importer: ProfileLink.Missing: %s", unprefixed(err)))
		} else if p.Missing == MissingEmpty {
			errs = append(errs, errors.New("importer: ProfileLink.Missing: an activity always has a profile: use reject, skip or create"))
		}
		for _, spec := range p.Rules {
			if spec.RecordID {
				errs = append(errs, fmt.Errorf("importer: profile rule %s: a profile is found by its keys, not by record id", spec.Name()))
			}
		}
	}
	for i, l := range j.Links {
		if l.Field == "" || l.Object == "" {
			errs = append(errs, fmt.Errorf("importer: Job.Links[%d]: set Field (the row's reference) and Object (the target's object type)", i))
			continue
		}
		if err := l.Missing.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("importer: link %s: %s", l.Field, unprefixed(err)))
		}
		if l.Key.RecordID {
			errs = append(errs, fmt.Errorf("importer: link %s: a link resolves a reference by the target's key, not by record id", l.Field))
		}
	}
	if _, ok := s.(sink.Lookuper); !ok && (j.Profile != nil || len(j.Links) > 0) {
		errs = append(errs, fmt.Errorf("importer: the job's profile link or links look targets up by key, which needs a sink that implements sink.Lookuper; %T does not", s))
	}
	return errors.Join(errs...)
}

// schemaWithFields returns the job's schema with the fields its consent
// channels and memberships add: NAME_consent, NAME_consent_date and
// NAME_consent_source per channel, and each membership's multi-value field
// where the schema lacks it.
func (j *Job) schemaWithFields() (*intake.Schema, error) {
	schema := j.Schema
	if len(j.Consent) > 0 {
		s, err := identity.ConsentFields(schema, j.Consent...)
		if err != nil {
			return nil, err
		}
		schema = s
	}
	if len(j.Memberships) == 0 {
		return schema, nil
	}
	fields := schema.Fields()
	for _, ms := range j.Memberships {
		if i := schema.Index(ms.Field); i >= 0 {
			if schema.Field(i).Type.Kind() != intake.KindList {
				return nil, fmt.Errorf("importer: membership field %q is a %s, not a multi-value field", ms.Field, schema.Field(i).Type)
			}
			continue
		}
		if !slices.ContainsFunc(fields, func(f intake.Field) bool { return f.Name == ms.Field }) {
			fields = append(fields, intake.Field{Name: ms.Field, Type: intake.TypeMultiSelect, Label: ms.Field})
		}
	}
	if len(fields) == schema.Len() {
		return schema, nil
	}
	s, err := intake.NewSchema(schema.Object(), fields...)
	if err != nil {
		return nil, fmt.Errorf("importer: membership fields: %w", err)
	}
	return s, nil
}
