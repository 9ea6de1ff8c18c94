// Package ops holds what every store under sink does alike with the ops of
// a batch: the checks that refuse an op no store can apply
// ([sink.ErrInvalidOp]), the [sink.RecordError] that names an op's record,
// the audit entry a lifecycle op leaves, the links a batch's ops with
// [sink.Op.Unlink] remove ([Unlinks]), and the checks of the arguments of
// Lookup and Reserve.
package ops
