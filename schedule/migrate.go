package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
)

// legacyJob holds the keys of a job saved in the shape without "spec",
// whose import settings sat at the top level.
type legacyJob struct {
	Object          string          `json:"object"`
	Mapping         json.RawMessage `json:"mapping"`
	Action          intake.Action   `json:"action"`
	Sync            []string        `json:"sync"`
	AllowNewRecords bool            `json:"allow_new_records"`
}

// UnmarshalJSON reads a job. A job saved without "spec" (its object,
// mapping, action, sync and allow_new_records at the top level) is
// migrated: they become its Spec, with allow_new_records false (the old
// default) kept as the spec's allow_new_records false, and the
// Source.Options delimiter, encoding, no_header and sheet become the
// spec's source.
func (j *Job) UnmarshalJSON(data []byte) error {
	type plain Job // without the method, to decode the fields
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return err
	}
	if _, ok := keys["spec"]; !ok {
		var old legacyJob
		if err := json.Unmarshal(data, &old); err != nil {
			return fmt.Errorf("schedule: job %q of the shape without spec: %w", p.Name, err)
		}
		spec, err := old.spec()
		if err != nil {
			return fmt.Errorf("schedule: job %q of the shape without spec: %w", p.Name, err)
		}
		p.Spec = spec
		p.Source.Options = migrateSourceOptions(&p.Spec, p.Source.Options)
	}
	*j = Job(p)
	return nil
}

// spec returns the JobSpec the old job's fields say. A mapping that does
// not load strictly (mapping.LoadSpec) is kept as decoded, so that the job
// can be read, and is reported when the job is validated or run.
func (old *legacyJob) spec() (importer.JobSpec, error) {
	spec := importer.JobSpec{Version: importer.JobSpecVersion, Object: old.Object, Action: old.Action, Sync: old.Sync}
	if !old.AllowNewRecords {
		no := false
		spec.AllowNewRecords = &no
	}
	if len(old.Mapping) > 0 && string(old.Mapping) != "null" {
		m, err := mapping.LoadSpec(bytes.NewReader(old.Mapping))
		if err != nil {
			m = &mapping.Spec{}
			if jerr := json.Unmarshal(old.Mapping, m); jerr != nil {
				return spec, fmt.Errorf("its mapping: %w", err)
			}
			if m.Version == 0 {
				m.Version = mapping.SpecVersion
			}
		}
		spec.Mapping = m
	}
	return spec, nil
}

// migrateSourceOptions moves the options that say how a file is read into
// the spec's source and returns the others.
func migrateSourceOptions(spec *importer.JobSpec, opts map[string]string) map[string]string {
	var rest map[string]string
	for k, v := range opts {
		switch k {
		case "delimiter":
			spec.Source.Delimiter = v
		case "encoding":
			spec.Source.Encoding = v
		case "sheet":
			spec.Source.Sheet = v
		case "no_header":
			header := v != "true"
			spec.Source.Header = &header
		default:
			if rest == nil {
				rest = map[string]string{}
			}
			rest[k] = v
		}
	}
	return rest
}
