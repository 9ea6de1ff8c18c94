package acoustic

import (
	"fmt"
	"slices"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
)

// JobSpec returns the job spec that the mapping file describes, so that
// the map runs as any other job spec: from Go, as a saved job, in the CLI's
// -acoustic-map and through the facade ([NewHandler]). The spec imports
// contacts:
//
//   - ACTION is the record action, as Acoustic defines it: CREATE create
//     (later rows of a key are rejected as duplicate), ADD_ONLY add_only
//     (with a key, a row whose key the store holds is rejected, code
//     exists: on_match reject), UPDATE_ONLY update_only and ADD_AND_UPDATE
//     add_and_update (every record a key matches is updated), OPT_OUT
//     opt_out (every match is opted out; none is created).
//   - The key ([Map.Rules]) is "sync", or "rules" when it matches on the
//     record id or on MD5 digests. CREATE and ADD_ONLY without SYNC_FIELDS
//     and KEY_COLUMNs have none ("sync": []): every row is a new contact.
//   - MAPPING, COLUMNS and LIST_DATE_FORMAT are the mapping
//     ([Map.MappingSpec] against the contact schema and the consent
//     channel's fields).
//   - FILE_TYPE and HASHEADERS are the source's delimiter and header.
//   - CONSENT is the consent channel ("consent", [Map.Channel]).
//   - CONTACT_LISTS are the lists the imported contacts join ("lists").
//   - LIST_NAME (CREATE) or LIST_ID names the job.
func (a *Map) JobSpec() (*importer.JobSpec, error) {
	if a == nil {
		return nil, fmt.Errorf("acoustic: no mapping file: read one with acoustic.Load")
	}
	header := a.HasHeaders
	spec := &importer.JobSpec{
		Version: importer.JobSpecVersion,
		Name:    a.jobName(),
		Object:  intake.ObjectContact,
		Source:  importer.SourceSpec{Delimiter: a.DelimiterName(), Header: &header},
		Action:  a.Action,
	}
	rules := a.Rules()
	switch {
	case len(rules) == 0:
		spec.Sync = []string{} // every row is a new contact
	case len(rules) > 1 || rules[0].MD5 || rules[0].RecordID || rules[0].EmailRules != "":
		for _, k := range rules {
			spec.Rules = append(spec.Rules, k.Name())
		}
	default:
		spec.Sync = slices.Clone(rules[0].Fields)
	}
	if a.Action == intake.ActionAddOnly && len(rules) > 0 {
		spec.Action, spec.OnMatch, spec.OnNoMatch = "", identity.MatchReject, identity.NoMatchCreate
	}
	base := intake.ContactSchema()
	if ch := a.Channel(); ch != nil {
		spec.Consent = []identity.Channel{*ch}
		var err error
		if base, err = identity.ConsentFields(base, *ch); err != nil {
			return nil, fmt.Errorf("acoustic: CONSENT: %s", strings.TrimPrefix(err.Error(), "identity: "))
		}
	}
	m, err := a.MappingSpec(base)
	if err != nil {
		return nil, err
	}
	spec.Mapping = m
	if len(a.ContactLists) > 0 && a.Action != intake.ActionOptOut {
		spec.Lists = slices.Clone(a.ContactLists)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("acoustic: the mapping file makes an invalid job spec: %s", strings.TrimPrefix(err.Error(), "importer: "))
	}
	return spec, nil
}

// jobName names a map's job after its list: LIST_NAME, else LIST_ID.
func (a *Map) jobName() string {
	switch {
	case a.ListName != "":
		return "Acoustic list " + a.ListName
	case a.ListID != "":
		return "Acoustic list " + a.ListID
	}
	return ""
}
