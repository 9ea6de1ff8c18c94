package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
)

// flatJob holds the keys of a job saved without "spec", whose import
// settings are at the top level of the job.
type flatJob struct {
	Object          string          `json:"object"`
	Mapping         json.RawMessage `json:"mapping"`
	Action          intake.Action   `json:"action"`
	Sync            []string        `json:"sync"`
	AllowNewRecords bool            `json:"allow_new_records"`
}

// UnmarshalJSON reads a job. A job saved without "spec" (its object,
// mapping, action, sync and allow_new_records at the top level) is read
// into its Spec: they become the Spec's, an absent allow_new_records (which
// in that shape means false) becomes the Spec's allow_new_records false,
// and the Source.Options delimiter, encoding, no_header and sheet become
// the Spec's source.
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
		var flat flatJob
		if err := json.Unmarshal(data, &flat); err != nil {
			return fmt.Errorf("schedule: job %q of the shape without spec: %w", p.Name, err)
		}
		spec, err := flat.spec()
		if err != nil {
			return fmt.Errorf("schedule: job %q of the shape without spec: %w", p.Name, err)
		}
		p.Spec = spec
		p.Source.Options = migrateSourceOptions(&p.Spec, p.Source.Options)
	}
	*j = Job(p)
	return nil
}

// spec returns the JobSpec that the top-level fields of a job without
// "spec" say. A mapping that does not load strictly (mapping.LoadSpec) is
// kept as decoded, so that the job can be read, and is reported when the
// job is validated or run.
func (f *flatJob) spec() (importer.JobSpec, error) {
	spec := importer.JobSpec{Version: importer.JobSpecVersion, Object: f.Object, Action: f.Action, Sync: f.Sync}
	if !f.AllowNewRecords {
		no := false
		spec.AllowNewRecords = &no
	}
	if len(f.Mapping) > 0 && string(f.Mapping) != "null" {
		m, err := mapping.LoadSpec(bytes.NewReader(f.Mapping))
		if err != nil {
			m = &mapping.Spec{}
			if jerr := json.Unmarshal(f.Mapping, m); jerr != nil {
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
