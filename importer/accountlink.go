package importer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
)

// The fields of a contact's link to its account (Job.AccountLink).
const (
	accountRef     = "account_id"
	accountIDField = "account_record_id"
)

// accountLink appends the link of a contact job's account_id to the
// accounts to job.Links when the job makes it (see Job.AccountLink).
func (im *Importer) accountLink(ctx context.Context, job *Job, header []string) error {
	if job.NoAccountLink || job.Profile != nil || job.Schema.Object() != intake.ObjectContact {
		return nil
	}
	var target *intake.Schema // the schema other links to accounts give them
	for _, l := range job.Links {
		id := l.IDField
		if id == "" {
			id = l.Object + "_record_id"
			if l.Many {
				id += "s"
			}
		}
		if l.Field == accountRef || id == accountIDField {
			return nil
		}
		if l.Object == intake.ObjectAccount && l.Schema != nil {
			target = l.Schema
		}
	}
	_, lookups := im.cfg.Sink.(sink.Lookuper)
	sr, schemas := im.cfg.Sink.(sink.SchemaReader)
	if !lookups || !schemas || !mapsAccount(job.Mapping, header) {
		return nil
	}
	if target == nil {
		stored, err := sr.Schema(ctx, intake.ObjectAccount)
		if err != nil {
			return fmt.Errorf("importer: read the store's account schema for the link of account_id: %w", err)
		}
		target = stored
		if target == nil {
			target = intake.AccountSchema()
		}
	}
	if !accountFieldsFit(job, target) {
		return nil
	}
	job.Links = append(slices.Clone(job.Links), Link{Field: accountRef, Object: intake.ObjectAccount, Schema: target, Missing: job.AccountLink})
	return nil
}

// mapsAccount reports whether the job maps account_id: spec maps a column
// or a constant to it, or, without a spec, the header has a column named
// account_id, compared as the suggestion compares names.
func mapsAccount(spec *mapping.Spec, header []string) bool {
	if spec != nil {
		return slices.ContainsFunc(spec.Columns, func(c mapping.Column) bool { return !c.Skip && c.Field == accountRef })
	}
	want := looseName(accountRef)
	return slices.ContainsFunc(header, func(h string) bool { return looseName(h) == want })
}

// looseName is a header name with case, spaces and punctuation aside:
// "Account ID", "account_id" and "ACCOUNT-ID" are all "accountid".
func looseName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// accountFieldsFit reports whether the job's schema and its mapping spec's
// fields leave room for the link's fields: account_id of the type of the
// accounts' key, account_record_id an id field that refers to accounts.
func accountFieldsFit(job *Job, target *intake.Schema) bool {
	ki := target.Index(accountRef)
	if ki < 0 {
		return false
	}
	key := target.Field(ki).Type
	if i := job.Schema.Index(accountRef); i >= 0 && job.Schema.Field(i).Type != key {
		return false
	}
	if i := job.Schema.Index(accountIDField); i >= 0 {
		if f := job.Schema.Field(i); f.Type != intake.TypeID || f.Ref != "" && f.Ref != intake.ObjectAccount {
			return false
		}
	}
	if job.Mapping != nil {
		for _, f := range job.Mapping.Fields {
			if f.Name == accountRef && f.Type != key || f.Name == accountIDField && f.Type != intake.TypeID {
				return false
			}
		}
	}
	return true
}
