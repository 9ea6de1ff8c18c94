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
//   - ACTION is the record action: CREATE create, ADD_ONLY add_only,
//     UPDATE_ONLY update_only, ADD_AND_UPDATE add_and_update, OPT_OUT
//     opt_out (the listed contacts are opted out; none is created).
//   - The key ([Map.Key]: SYNC_FIELDS, USE_RECIPIENT_ID,
//     KEY_COLUMN or the EMAIL column) is "sync", or one identity rule in
//     "rules" when it matches on the record id or on MD5 digests.
//   - MAPPING, COLUMNS and LIST_DATE_FORMAT are the mapping
//     ([Map.MappingSpec] against the contact schema and the consent
//     channel's fields).
//   - FILE_TYPE and HASHEADERS are the source's delimiter and header.
//   - CONSENT is the consent channel ("consent"; never re-subscribing).
//   - CONTACT_LISTS are the lists the imported contacts join ("lists").
//
// A map without a key is refused: Intake matches rows on one.
func (a *Map) JobSpec() (*importer.JobSpec, error) {
	if a == nil {
		return nil, fmt.Errorf("acoustic: no mapping file: read one with acoustic.Load")
	}
	key := a.Key()
	if len(key.Fields) == 0 {
		return nil, fmt.Errorf("acoustic: the mapping file has no SYNC_FIELDS, KEY_COLUMN, mapped EMAIL column or USE_RECIPIENT_ID: Intake needs a key to match rows")
	}
	header := a.HasHeaders
	spec := &importer.JobSpec{
		Version: importer.JobSpecVersion,
		Object:  intake.ObjectContact,
		Source:  importer.SourceSpec{Delimiter: a.DelimiterName(), Header: &header},
		Action:  a.Action,
	}
	if key.MD5 || key.RecordID || key.EmailRules != "" {
		spec.Rules = []string{key.Name()}
	} else {
		spec.Sync = slices.Clone(key.Fields)
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
