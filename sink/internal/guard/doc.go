// Package guard applies [sink.Op.Unique] for the stores under sink: in a
// store's write transaction, once its write lock is held, [Creates] looks
// the keys of a batch's guarded creates up again (through the store's
// [Finder]) and holds each create whose key a stored record or an earlier
// create of the batch holds. Keys are compared whole; records that earlier
// ops of the batch deleted or anonymized hold no key any more.
package guard
