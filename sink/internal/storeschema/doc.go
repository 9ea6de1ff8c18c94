// Package storeschema merges a run's schema into the fields a store keeps
// for an object type ([Merge]): new fields are added, a field may change
// to a type of the same value kind, and a field stored with another value
// kind is a [sink.ErrSchemaConflict]. A field's Ref and Meta follow the
// run's schema when it gives them and stay as stored when it does not.
package storeschema
