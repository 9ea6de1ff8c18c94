package sink

// Concurrent is the capability of a [Sink] to be called from several
// goroutines at once: Lookup and Get while a Write is under way. When a sink
// implements it and Concurrent returns true, the importer looks up and
// decides the next batch while the previous one is being written, which
// roughly halves the time spent waiting on the sink. A Lookup that runs
// during a Write may see the store before or after that Write, never half of
// it. Without it the importer calls the sink from one goroutine at a time.
type Concurrent interface {
	Concurrent() bool
}

// BatchSizer is the capability of a [Sink] to say how many operations it
// writes best in one call: the importer uses it as its batch size when
// Config.BatchSize is not set. A store that pays for each transaction
// (SQLite's commit and WAL checkpoint) asks for larger batches; memory use
// grows with the batch (two batches are in flight at once).
type BatchSizer interface {
	BatchSize() int
}
