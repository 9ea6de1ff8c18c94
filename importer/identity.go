package importer

import (
	"slices"
	"strings"

	"github.com/intakehq/intake"
)

// Identity is how a job finds the stored record that a row is: by one key
// (the sync fields, [SyncOn]), by ordered identity rules ([Rules]), or not
// at all ([NoSync]). The zero value is the job's default, which
// [Job.WithDefaults] fills in: event_id when the file has it for a job
// with a Profile (activities; [SyncIfMapped]), account_id for accounts,
// email for contacts and other object types.
//
// Identity is a value: its constructors copy what they are given.
type Identity struct {
	keys     []intake.KeySpec
	none     bool
	ifMapped bool
}

// SyncOn identifies records by one key made of fields: several fields form
// one composite key (all must match). SyncOn() without fields is the zero
// Identity, the object type's default.
func SyncOn(fields ...string) Identity {
	if len(fields) == 0 {
		return Identity{}
	}
	return Rules(intake.Keys(fields...))
}

// Rules identifies records by ordered identity rules ("contact_id, else
// email, else phone"): the first rule whose key finds stored records wins,
// and a row whose rules find different records is rejected as a conflict
// (intake.CodeConflict). One rule is a sync key; a rule's
// [intake.KeySpec] options compare emails by their provider's rules or MD5
// digests, or match on the store's record id (RecordID). Rules() without
// keys is the zero Identity, the object type's default.
//
// The mapping must fill the fields of the rules, or Run returns an error
// wrapping [ErrKeyNotMapped] before it reads the first row, rather than
// reject every row as missing_key. With one rule, every field of it; with
// several, at least one rule must have all its fields mapped, and no rule
// may have some fields mapped and others not (first_name+last_name without
// last_name). A rule none of whose fields the mapping fills never matches,
// so that one set of rules serves files with different columns (a file
// without phones under "contact_id; email; phone"). An MD5 rule's field
// counts as mapped when the field or its FIELD_md5 twin is.
func Rules(keys ...intake.KeySpec) Identity {
	if len(keys) == 0 {
		return Identity{}
	}
	return Identity{keys: cloneKeys(keys)}
}

// SyncIfMapped identifies records by one key made of fields when the
// mapping fills them all, and turns matching off when it fills none of
// them: every valid row then creates a record. It is the default of a job
// with a Profile, on event_id, so that re-importing a file of events skips
// those it holds and a file without event ids appends every row. Like
// [NoSync], it needs an action that creates on no match and skips on a
// match (identity.Create, identity.AddOnly).
func SyncIfMapped(fields ...string) Identity {
	id := SyncOn(fields...)
	id.ifMapped = len(fields) > 0
	return id
}

// NoSync turns matching off: every valid row creates a record. It needs an
// action that creates on no match and skips on a match (identity.Create,
// identity.AddOnly): an action that changes stored records must find them.
func NoSync() Identity { return Identity{none: true} }

// IsZero reports whether id is the zero Identity: the object type's default.
func (id Identity) IsZero() bool { return len(id.keys) == 0 && !id.none }

// Keys returns the identity rules in order (one for a sync key), or nil
// for [NoSync] and the zero Identity.
func (id Identity) Keys() []intake.KeySpec { return cloneKeys(id.keys) }

// None reports whether id is [NoSync]: no matching at all.
func (id Identity) None() bool { return id.none }

// IfMapped reports whether id is [SyncIfMapped]: its key applies only when
// the mapping fills it.
func (id Identity) IfMapped() bool { return id.ifMapped }

// String returns the rules for people: each key as intake.KeySpec.Name
// writes it, joined by ", else " ("contact_id, else email"; the -rules
// notation joins them with ";"), followed by " (when mapped)" for
// [SyncIfMapped]; "none" for [NoSync], "default" for the zero Identity.
func (id Identity) String() string {
	switch {
	case id.none:
		return "none"
	case len(id.keys) == 0:
		return "default"
	}
	names := make([]string, len(id.keys))
	for i, k := range id.keys {
		names[i] = k.Name()
	}
	s := strings.Join(names, ", else ")
	if id.ifMapped {
		s += " (when mapped)"
	}
	return s
}

// cloneKeys copies keys and their field lists.
func cloneKeys(keys []intake.KeySpec) []intake.KeySpec {
	if keys == nil {
		return nil
	}
	out := make([]intake.KeySpec, len(keys))
	for i, k := range keys {
		out[i] = k
		out[i].Fields = slices.Clone(k.Fields)
	}
	return out
}
